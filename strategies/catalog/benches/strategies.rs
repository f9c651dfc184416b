//! Per-strategy numbers: `.wasm` size, interpreter fuel per event (min / median / max) and
//! per-event latency (mean / p50 / p99.9) natively, on the interpreter and on the compiled
//! tier, over the catalog test feed (a synthetic market with order feedback). Prints a table;
//! asserts nothing about time.
//!
//! Run: `cargo bench -p lockstep-strategies --bench strategies [-- EVENTS]`
#![allow(clippy::disallowed_methods)] // Instant::now: this program measures time by design.

#[path = "../tests/integration/feed.rs"]
#[allow(dead_code)]
mod feed;

use hdrhistogram::Histogram;
use lockstep_engine::{Config, Engine, Fuel, StrategyModule, Tier};
use lockstep_sdk::{ActionRecord, BookRecord, EventRecord, RunError, Step, StrategyRunner};
use std::time::Instant;

/// Wraps a runner and records how long each `on_event` takes, and the fuel it used.
struct Timed<R> {
    inner: R,
    latency: Histogram<u64>,
    fuel: Vec<u64>,
}

impl<R: StrategyRunner> StrategyRunner for Timed<R> {
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<Step<'_>, RunError> {
        let t0 = Instant::now();
        let step = self.inner.on_event(ev, book);
        let dt = t0.elapsed().as_nanos() as u64;
        self.latency.record(dt.max(1)).expect("in range");
        if let Ok(Step { fuel: Some(f), .. }) = step {
            self.fuel.push(f);
        }
        step
    }

    fn actions(&self) -> &[ActionRecord] {
        self.inner.actions()
    }
}

fn timed<R>(inner: R) -> Timed<R> {
    Timed {
        inner,
        latency: Histogram::new_with_bounds(1, 10_000_000_000, 3).expect("bounds"),
        fuel: Vec::new(),
    }
}

fn cell(h: &Histogram<u64>) -> String {
    format!("{:.0}/{}/{}", h.mean(), h.value_at_quantile(0.5), h.value_at_quantile(0.999))
}

fn main() {
    let events: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let engines = Tier::ALL.map(|tier| {
        let mut config = Config::new();
        config.tier(tier).fuel_per_event(Fuel(50_000_000));
        Engine::new(&config)
    });
    println!(
        "{events} market events per strategy (plus venue feedback); ns per on_event call, mean/p50/p99.9"
    );
    println!(
        "{:<19} {:>7} {:>22} {:>18} {:>20} {:>18} {:>8} {:>8}",
        "strategy",
        "wasm KB",
        "interp fuel min/med/max",
        "native",
        "interpreter",
        "compiled",
        "int/nat",
        "cmp/nat"
    );
    for info in lockstep_strategies::all() {
        let mut native = timed(info.native(info.default_params).expect("init"));
        feed::run(&mut native, 500).expect("native warm-up");
        let mut native = timed(info.native(info.default_params).expect("init"));
        feed::run(&mut native, events).expect("native run");
        let mut tiers = Vec::new();
        for engine in &engines {
            let module = StrategyModule::new(engine, info.wasm).expect("loads");
            // Warm up on a short run, then measure a fresh instance.
            let _ = feed::run(&mut module.instantiate(info.default_params).expect("init"), 500);
            let mut wasm = timed(module.instantiate(info.default_params).expect("init"));
            feed::run(&mut wasm, events).expect("wasm run");
            tiers.push(wasm);
        }
        let mut fuel = tiers[0].fuel.clone();
        fuel.sort_unstable();
        let n = &native.latency;
        let ratio = |t: &Timed<_>| {
            t.latency.value_at_quantile(0.5) as f64 / n.value_at_quantile(0.5) as f64
        };
        println!(
            "{:<19} {:>7.1} {:>22} {:>18} {:>20} {:>18} {:>7.2}x {:>7.2}x",
            info.name,
            info.wasm.len() as f64 / 1024.0,
            format!("{}/{}/{}", fuel[0], fuel[fuel.len() / 2], fuel[fuel.len() - 1]),
            cell(n),
            cell(&tiers[0].latency),
            cell(&tiers[1].latency),
            ratio(&tiers[0]),
            ratio(&tiers[1]),
        );
    }
}
