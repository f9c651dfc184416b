//! Allocations on the gateway core's hot path, counted per thread like the engine's
//! zero-allocation test: after warm-up, a market event that leads to no new order allocates
//! nothing (journal included); an order may allocate a node of risk's open-order map.

use crate::common::{ToyVenue, market, spec};
use lockstep_engine::{CountingAlloc, Tier};
use lockstep_gateway::{Gateway, RiskLimits};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

#[test]
fn market_events_allocate_nothing_after_warm_up() {
    let _one = crate::common::serial();
    for tier in [Tier::Interpreter, Tier::Compiled] {
        let (instruments, evs) = market(30_000);
        let mut specs =
            vec![spec("microprice", tier, None), spec("avellaneda-stoikov", tier, None)];
        for s in &mut specs {
            s.journal = Some(Box::new(std::io::sink()));
        }
        let mut g = Gateway::new(&instruments, specs, RiskLimits::default()).unwrap();
        let mut venue = ToyVenue::default();
        let (mut quiet, mut quiet_allocs, mut busy, mut busy_allocs) = (0u64, 0u64, 0u64, 0u64);
        for (i, ev) in evs.iter().enumerate() {
            let recv = ev.local_ts.0 + 3_000;
            let n = ALLOC.count_during(|| g.on_market(ev, recv).unwrap());
            let orders = g.pending_outbound();
            if i >= 5_000 {
                if orders == 0 {
                    quiet += 1;
                    quiet_allocs += n;
                } else {
                    busy += 1;
                    busy_allocs += n;
                }
            }
            venue.step(&mut g, recv);
        }
        println!(
            "{tier}: {quiet} market events without orders: {quiet_allocs} allocations; {busy} with orders: {busy_allocs} allocations ({:.2} per event)",
            busy_allocs as f64 / busy.max(1) as f64
        );
        assert!(quiet > 10_000 && busy > 100, "{quiet} {busy}");
        assert_eq!(quiet_allocs, 0, "{tier}: allocations on market events without orders");
    }
}
