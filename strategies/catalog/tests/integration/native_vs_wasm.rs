//! Native and Wasm builds of every strategy produce bit-identical actions over the same stream.

use crate::feed::{Step, run};
use lockstep_engine::{Config, Engine, StrategyModule};

pub(crate) const EVENTS: usize = 20_000;

pub(crate) fn wasm_run(name: &str, n: usize) -> Vec<Step> {
    let info = lockstep_strategies::get(name).expect("catalog name");
    let engine = Engine::new(&Config::new());
    let module = StrategyModule::new(&engine, info.wasm).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut inst =
        module.instantiate(info.default_params).unwrap_or_else(|e| panic!("{name}: {e}"));
    run(&mut inst, n).unwrap_or_else(|e| panic!("{name} (wasm): {e}"))
}

#[test]
fn every_strategy_is_bit_identical_native_and_wasm() {
    for info in lockstep_strategies::all() {
        let wasm = wasm_run(info.name, EVENTS);
        let mut native =
            info.native(info.default_params).unwrap_or_else(|e| panic!("{}: {e}", info.name));
        let native =
            run(native.as_mut(), EVENTS).unwrap_or_else(|e| panic!("{} (native): {e}", info.name));
        assert_eq!(wasm.len(), native.len(), "{}: different number of events", info.name);
        for ((seq, _, w), (_, _, n)) in wasm.iter().zip(&native) {
            assert!(
                w == n,
                "{}: native and Wasm diverge at event {seq}:\n  wasm:   {w:?}\n  native: {n:?}",
                info.name
            );
        }
        let actions: usize = wasm.iter().map(|s| s.2.len()).sum();
        eprintln!("{}: {} events, {actions} actions, identical", info.name, wasm.len());
    }
}
