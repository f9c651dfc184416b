//! The ABI is language-neutral: a strategy written directly in WebAssembly text, with no SDK,
//! loads, initialises, and produces exactly the records the ABI document describes.

use crate::common::{MID_WAT, engine_with_fuel, events, wasm};
use lockstep_engine::{Fuel, StrategyModule, Tier};
use lockstep_sdk::{Action, EventBody};

#[test]
fn wat_strategy_speaks_the_abi() {
    for tier in Tier::ALL {
        wat_strategy_speaks_the_abi_on(tier);
    }
}

fn wat_strategy_speaks_the_abi_on(tier: Tier) {
    let engine = engine_with_fuel(tier, 1_000_000);
    let module = StrategyModule::new(&engine, &wasm(MID_WAT)).unwrap();
    let mut inst = module.instantiate("threshold=3").unwrap();
    assert!(inst.actions().is_empty());
    let mut trades = 0;
    let mut quotes = 0;
    for (ev, book) in events(2_000) {
        let e = ev.decode().unwrap();
        let acts = inst.on_event(&ev, book.as_ref()).unwrap().to_vec();
        match e.body {
            EventBody::Quote(q) => {
                quotes += 1;
                let mid = (q.bid.px.raw() + q.ask.px.raw()) / 2;
                assert_eq!(
                    acts.iter().map(|a| a.decode().unwrap()).collect::<Vec<_>>(),
                    vec![Action::Signal { instrument: e.h.instrument, id: 1, value: mid }]
                );
            }
            EventBody::Trade(_) => {
                trades += 1;
                assert_eq!(
                    acts[0].decode().unwrap(),
                    Action::Signal { instrument: e.h.instrument, id: 2, value: trades }
                );
            }
            _ => assert!(acts.is_empty()),
        }
        assert!(inst.last_fuel() > Fuel(0));
    }
    assert!(quotes > 500 && trades > 200, "stream covers both kinds: {quotes} {trades}");
}

#[test]
fn memory_is_preallocated_to_the_limit() {
    for tier in Tier::ALL {
        let engine = engine_with_fuel(tier, 1_000_000);
        let module = StrategyModule::new(&engine, &wasm(MID_WAT)).unwrap();
        let inst = module.instantiate("").unwrap();
        assert_eq!(inst.memory_capacity(), 16 * 65_536, "{tier}");
        assert_eq!(inst.memory_size(), 65_536, "{tier}");
    }
}

#[test]
fn sdk_strategies_from_the_catalog_load_and_run() {
    for tier in Tier::ALL {
        catalog_loads_and_runs_on(tier);
    }
}

fn catalog_loads_and_runs_on(tier: Tier) {
    let engine = engine_with_fuel(tier, 50_000_000);
    for info in lockstep_strategies::all() {
        let module = StrategyModule::new(&engine, info.wasm)
            .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        let mut inst = module
            .instantiate(info.default_params)
            .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        for (ev, book) in events(500) {
            inst.on_event(&ev, book.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", info.name));
        }
    }
}
