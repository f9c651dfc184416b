//! Zero heap allocations per event in steady state, counted by a global allocator over
//! 100,000 events, for the SDK-free WAT strategy and every catalog strategy.

use crate::common::{MID_WAT, events, wasm};
use lockstep_engine::{Config, CountingAlloc, Engine, StrategyModule, Tier};

/// Counts per thread, so the tests running beside this one do not disturb its count.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

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
        let allocs = ALLOC.count_during(|| {
            for (ev, book) in &evs {
                actions += inst.on_event(ev, book.as_ref()).unwrap().len();
            }
        });
        assert_eq!(allocs, 0, "{name} ({tier}): {allocs} allocations over {EVENTS} events");
        eprintln!("{name} ({tier}): 0 allocations over {EVENTS} events ({actions} actions)");
    }
}

#[test]
fn the_counter_counts_this_thread_only() {
    let mut kept = Vec::new();
    let n = ALLOC.count_during(|| {
        kept.push(std::hint::black_box(vec![1u8; 16]));
        let other = std::thread::spawn(|| {
            for i in 0..10_000_u32 {
                drop(std::hint::black_box(Box::new(i)));
            }
        });
        other.join().unwrap();
    });
    // The vector, and what spawning costs this side; not the other thread's 10,000 boxes.
    assert!((1..100).contains(&n), "{n}");
    let before = ALLOC.allocations();
    drop(std::hint::black_box(vec![3u8; 16]));
    assert!(ALLOC.allocations() > before, "the process-wide count moves too");
}
