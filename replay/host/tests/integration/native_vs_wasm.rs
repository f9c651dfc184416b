//! Native and Wasm builds of every strategy, on both engine tiers, do the same over the same
//! market: replay's digest (every action, every exchange event, every halt) is identical. A
//! WebAssembly-only strategy (AssemblyScript) has its tiers compared with each other instead.

use crate::market::{How, divergence, run};
use lockstep_engine::Tier;
use lockstep_sim::hex;

#[test]
fn every_strategy_is_bit_identical_native_and_on_both_tiers() {
    for info in lockstep_strategies::all() {
        let base = if info.has_native() { How::Native } else { How::Wasm(Tier::Interpreter) };
        let first = run(info.name, base, None);
        for tier in Tier::ALL {
            let wasm = run(info.name, How::Wasm(tier), None);
            assert!(
                wasm.digest == first.digest,
                "{}: {base:?} and Wasm ({tier:?}) differ; first divergence:\n{}",
                info.name,
                divergence(info.name, base, How::Wasm(tier))
            );
            assert_eq!((wasm.events, wasm.actions), (first.events, first.actions));
        }
        if info.name != "noop" {
            assert!(first.actions > 0, "{} did nothing on the market", info.name);
        }
        eprintln!(
            "{}: {} events, {} actions, {} fills, identical ({})",
            info.name,
            first.events,
            first.actions,
            first.exchange.fills,
            hex(&first.digest)
        );
    }
}
