//! Per-strategy numbers: `.wasm` size, interpreter fuel per event (min / median / max) and
//! per-event latency (mean / p50 / p99.9) natively, on the interpreter and on the compiled
//! tier, closed-loop in replay's session over its synthetic market and simulated exchange (the
//! catalog tests' market). Only `on_event` calls are timed. Prints a table; asserts nothing
//! about time.
//!
//! Run: `cargo bench -p lockstep-host --bench strategies [-- EVENTS]`
#![allow(clippy::disallowed_methods, reason = "Instant::now: this program measures time by design")]

use hdrhistogram::Histogram;
use lockstep_engine::{Config, Engine, Fuel, StrategyModule, Tier};
use lockstep_host::HostSession;
use lockstep_sdk::{ActionRecord, BookRecord, EventRecord, RunError, Step, StrategyRunner};
use lockstep_sim::{EventSource, RunnerSpec, Session, SessionConfig, Synth, SynthConfig};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the timed calls of one run measured.
struct Stats {
    latency: Histogram<u64>,
    fuel: Vec<u64>,
}

/// Wraps a runner and records how long each `on_event` takes, and the fuel it used (outside
/// the timed span).
struct Timed<R> {
    inner: R,
    stats: Arc<Mutex<Stats>>,
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
        let mut s = self.stats.lock().expect("not poisoned");
        s.latency.record(dt.max(1)).expect("in range");
        if let Ok(Step { fuel: Some(f), .. }) = step {
            s.fuel.push(f);
        }
        step
    }

    fn actions(&self) -> &[ActionRecord] {
        self.inner.actions()
    }

    fn abi_version(&self) -> u32 {
        self.inner.abi_version()
    }
}

/// Runs `runner` (its `init` done; `metered`: an engine instance) over `events` market events
/// and returns what its calls measured.
fn run(name: &str, runner: impl StrategyRunner + 'static, metered: bool, events: u64) -> Stats {
    let stats = Arc::new(Mutex::new(Stats {
        latency: Histogram::new_with_bounds(1, 10_000_000_000, 3).expect("bounds"),
        fuel: Vec::new(),
    }));
    let spec = RunnerSpec {
        name: name.to_owned(),
        params: String::new(),
        init_actions: runner.actions().to_vec(),
        init_fuel: metered.then_some(0),
        runner: Box::new(Timed { inner: runner, stats: Arc::clone(&stats) }),
    };
    let mut market = Synth::new(SynthConfig { events, ..SynthConfig::default() });
    let cfg = SessionConfig { measure_latency: false, ..SessionConfig::default() };
    let session = Session::from_runners(market.header(), vec![spec], cfg);
    let out = session.run(&mut market, &mut |_| {}).expect("the synthetic market");
    assert_eq!(out.report.strategies[0].halted, None, "{name} halted");
    drop(out);
    Arc::into_inner(stats).expect("the session is gone").into_inner().expect("not poisoned")
}

fn cell(h: &Histogram<u64>) -> String {
    format!("{:.0}/{}/{}", h.mean(), h.value_at_quantile(0.5), h.value_at_quantile(0.999))
}

fn main() {
    let events: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
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
    // WebAssembly-only strategies (AssemblyScript) have no native column to compare against.
    for info in lockstep_strategies::all().iter().filter(|i| i.has_native()) {
        let native = || info.native(info.default_params).expect("init");
        run(info.name, native(), false, 500);
        let native = run(info.name, native(), false, events);
        let mut tiers = Vec::new();
        for engine in &engines {
            let module = StrategyModule::new(engine, info.wasm).expect("loads");
            // Warm up on a short run, then measure a fresh instance.
            let inst = || module.instantiate(info.default_params).expect("init");
            run(info.name, inst(), true, 500);
            tiers.push(run(info.name, inst(), true, events));
        }
        let mut fuel = tiers[0].fuel.clone();
        fuel.sort_unstable();
        let n = &native.latency;
        let ratio =
            |t: &Stats| t.latency.value_at_quantile(0.5) as f64 / n.value_at_quantile(0.5) as f64;
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
