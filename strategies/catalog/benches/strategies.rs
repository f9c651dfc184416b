//! Per-strategy numbers: `.wasm` size, fuel per event (min / median / max) and per-event
//! latency natively and as Wasm (p50, p99.9), over the catalog test feed (a synthetic market
//! with order feedback). Prints a table; asserts nothing about time.
//!
//! Run: `cargo bench -p lockstep-strategies --bench strategies [-- EVENTS]`
#![allow(clippy::disallowed_methods)] // Instant::now: this program measures time by design.

#[path = "../tests/integration/feed.rs"]
#[allow(dead_code)]
mod feed;

use hdrhistogram::Histogram;
use lockstep_engine::{Config, Engine, Error, Fuel, StrategyModule, StrategyRunner};
use lockstep_sdk::{ActionRecord, BookRecord, EventRecord};
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
    ) -> Result<&[ActionRecord], Error> {
        let t0 = Instant::now();
        let ok = self.inner.on_event(ev, book).map(|a| a.len());
        let dt = t0.elapsed().as_nanos() as u64;
        self.latency.record(dt.max(1)).expect("in range");
        if let Some(f) = self.inner.last_fuel() {
            self.fuel.push(f.0);
        }
        ok.map(|n| &self.inner.actions()[..n])
    }
    fn actions(&self) -> &[ActionRecord] {
        self.inner.actions()
    }
    fn last_fuel(&self) -> Option<Fuel> {
        self.inner.last_fuel()
    }
}

fn timed<R>(inner: R) -> Timed<R> {
    Timed {
        inner,
        latency: Histogram::new_with_bounds(1, 10_000_000_000, 3).expect("bounds"),
        fuel: Vec::new(),
    }
}

fn main() {
    let events: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let mut config = Config::new();
    config.fuel_per_event(Fuel(50_000_000));
    let engine = Engine::new(&config);
    println!(
        "{events} market events per strategy (plus venue feedback); latency per on_event call"
    );
    println!(
        "{:<19} {:>8} {:>26} {:>19} {:>19} {:>7}",
        "strategy",
        "wasm KB",
        "fuel/event min/med/max",
        "native p50/p99.9",
        "wasm p50/p99.9",
        "x p50"
    );
    for info in lockstep_strategies::all() {
        let module = StrategyModule::new(&engine, info.wasm).expect("loads");
        // Warm up both builds on a short run, then measure a fresh instance of each.
        let _ = feed::run(&mut module.instantiate(info.default_params).expect("init"), 500);
        let mut wasm = timed(module.instantiate(info.default_params).expect("init"));
        feed::run(&mut wasm, events).expect("wasm run");
        let mut native = timed(info.native(info.default_params).expect("init"));
        feed::run(&mut native, events).expect("native run");
        let mut fuel = wasm.fuel.clone();
        fuel.sort_unstable();
        let (w, n) = (&wasm.latency, &native.latency);
        println!(
            "{:<19} {:>8.1} {:>26} {:>19} {:>19} {:>7.2}",
            info.name,
            info.wasm.len() as f64 / 1024.0,
            format!("{}/{}/{}", fuel[0], fuel[fuel.len() / 2], fuel[fuel.len() - 1]),
            format!("{}/{} ns", n.value_at_quantile(0.5), n.value_at_quantile(0.999)),
            format!("{}/{} ns", w.value_at_quantile(0.5), w.value_at_quantile(0.999)),
            w.value_at_quantile(0.5) as f64 / n.value_at_quantile(0.5) as f64
        );
    }
}
