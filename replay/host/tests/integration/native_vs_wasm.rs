//! Native and Wasm builds of every strategy, on both engine tiers, do the same over the same
//! market: replay's digest (every action, every exchange event, every halt) is identical.

use crate::market::{How, divergence, run};
use lockstep_engine::Tier;
use lockstep_sim::hex;

#[test]
fn every_strategy_is_bit_identical_native_and_on_both_tiers() {
    for info in lockstep_strategies::all() {
        let native = run(info.name, How::Native, None);
        for tier in Tier::ALL {
            let wasm = run(info.name, How::Wasm(tier), None);
            assert!(
                wasm.digest == native.digest,
                "{}: native and Wasm ({tier:?}) differ; first divergence:\n{}",
                info.name,
                divergence(info.name, How::Native, How::Wasm(tier))
            );
            assert_eq!((wasm.events, wasm.actions), (native.events, native.actions));
        }
        if info.name != "noop" {
            assert!(native.actions > 0, "{} did nothing on the market", info.name);
        }
        eprintln!(
            "{}: {} events, {} actions, {} fills, identical ({})",
            info.name,
            native.events,
            native.actions,
            native.exchange.fills,
            hex(&native.digest)
        );
    }
}
