//! The stream every catalog test runs on: replay's synthetic market and simulated exchange, the
//! same ones `replay run` uses, so order-driven strategies see acks, fills, cancels, rejects and
//! timers, and a run's identity is replay's digest.

use lockstep_engine::Tier;
use lockstep_host::HostSession;
use lockstep_host::{StrategySpec, first_divergence, trace_path};
use lockstep_sim::{EventSource, Session, SessionConfig, StrategyReport, Synth, SynthConfig};
use std::path::{Path, PathBuf};

/// Market events per run.
pub(crate) const EVENTS: u64 = 20_000;

/// How a strategy runs: its native build, or its `.wasm` on an engine tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum How {
    Native,
    Wasm(Tier),
}

/// Runs the built-in `name` with its default parameters over [`EVENTS`] market events, traced
/// into `trace_dir` when given.
pub(crate) fn run(name: &str, how: How, trace_dir: Option<&Path>) -> StrategyReport {
    let spec = StrategySpec::resolve(name, None, how == How::Native)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut market = Synth::new(SynthConfig { events: EVENTS, ..SynthConfig::default() });
    let cfg = SessionConfig {
        tier: match how {
            How::Wasm(t) => t,
            How::Native => Tier::Interpreter,
        },
        measure_latency: false,
        ..SessionConfig::default()
    };
    let session = Session::load_traced(market.header(), &[spec], cfg, trace_dir)
        .unwrap_or_else(|e| panic!("{name} ({how:?}): {e}"));
    let out = session.run(&mut market, &mut |_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
    let report = out.report.strategies.into_iter().next().expect("one strategy");
    assert_eq!(report.halted, None, "{name} ({how:?}) halted");
    report
}

/// Reruns `name` both ways with traces and describes the first event where they part.
pub(crate) fn divergence(name: &str, a: How, b: How) -> String {
    let dir = |how: How| -> PathBuf {
        std::env::temp_dir().join(format!("lockstep-catalog-{}-{name}-{how:?}", std::process::id()))
    };
    let (da, db) = (dir(a), dir(b));
    for d in [&da, &db] {
        std::fs::create_dir_all(d).expect("trace directory");
    }
    run(name, a, Some(&da));
    run(name, b, Some(&db));
    let d = first_divergence(&trace_path(&da, 0, name), &trace_path(&db, 0, name), false)
        .expect("traces readable");
    for d in [&da, &db] {
        let _ = std::fs::remove_dir_all(d);
    }
    format!("{d:#?}")
}
