//! Zero heap allocations per event in steady state, counted by a global allocator over
//! 100,000 events, for the SDK-free WAT strategy and every catalog strategy.

use crate::alloc_counter::count_allocs;
use crate::common::{MID_WAT, events, wasm};
use lockstep_engine::{Config, Engine, StrategyModule, Tier};

const EVENTS: usize = 100_000;

#[test]
fn no_allocation_per_event_over_100k_events() {
    for tier in Tier::ALL {
        no_allocation_on(tier);
    }
}

fn no_allocation_on(tier: Tier) {
    let evs = events(EVENTS);
    let engine = Engine::new(Config::new().tier(tier));
    let mut subjects = vec![("mid-wat", wasm(MID_WAT), "")];
    for s in lockstep_strategies::all() {
        subjects.push((s.name, s.wasm.to_vec(), s.default_params));
    }
    for (name, bytes, params) in subjects {
        let mut inst = StrategyModule::new(&engine, &bytes).unwrap().instantiate(params).unwrap();
        // Warm-up: the first call takes a value stack from the engine's cache.
        for (ev, book) in &evs[..100] {
            inst.on_event(ev, book.as_ref()).unwrap();
        }
        let mut actions = 0usize;
        let allocs = count_allocs(|| {
            for (ev, book) in &evs {
                actions += inst.on_event(ev, book.as_ref()).unwrap().len();
            }
        });
        assert_eq!(allocs, 0, "{name} ({tier}): {allocs} allocations over {EVENTS} events");
        eprintln!("{name} ({tier}): 0 allocations over {EVENTS} events ({actions} actions)");
    }
}
