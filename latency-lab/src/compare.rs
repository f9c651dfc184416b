//! `compare`: one strategy over one tape, as native Rust, as Wasm in the engine, and as the
//! equivalent JVM program, each pinned to the same core while a hiccup thread on another core
//! records the platform's own stalls. Outputs are checked byte for byte against a reference run.

use crate::clock::{Clock, ClockCost, TickFn, Ticks, measure_cost};
use crate::error::Error;
use crate::hiccup::{HiccupConfig, HiccupRun, JITTER_DEFINITION, check_cores};
use crate::histo::{
    Summary, new_histogram, percentile_cells, percentile_heads, round3, write_hgrm_file,
};
use crate::jvm::{self, JvmSetup};
use crate::tape::{Mismatch, Outputs, Tape, compare_outputs, record};
use hdrhistogram::Histogram;
use lockstep_engine::{Config, Engine, StrategyModule, StrategyRunner, Tier};
use lockstep_sim::format_ns;
use lockstep_strategies::StrategyInfo;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// What to compare.
#[derive(Clone, Debug)]
pub struct CompareConfig {
    /// Catalog name of the strategy.
    pub strategy: String,
    /// Parameters; the catalog's defaults when `None`.
    pub params: Option<String>,
    /// Measured events.
    pub events: usize,
    /// Unmeasured warm-up events run first (same tape, all implementations).
    pub warmup: usize,
    /// Seed of the tape generator.
    pub seed: u64,
    /// Core the strategy runs on.
    pub core: usize,
    /// Core of the concurrent hiccup thread; `None` for no platform measurement.
    pub hiccup_core: Option<usize>,
    /// Threshold of the hiccup thread, ns.
    pub threshold_ns: u64,
    /// Run the JVM column (when a JDK is found).
    pub jvm: bool,
    /// JVM options (heap, GC...).
    pub java_opts: Vec<String>,
    /// CPUs the JVM may use (`taskset -c` list); the strategy core when `None`.
    pub jvm_cpus: Option<String>,
    /// Where to write histograms, charts and the JVM build; a temporary directory if `None`.
    pub out_dir: Option<PathBuf>,
    /// Show progress on stderr.
    pub progress: bool,
    /// Engine tiers to measure: the interpreter is the `wasm` column, Cranelift the
    /// `compiled` column.
    pub tiers: Vec<Tier>,
}

/// How one implementation's run went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Ran and was measured.
    Measured,
    /// Could not run here (e.g. no JDK); the reason.
    Unavailable(String),
    /// Started but failed; the error.
    Failed(String),
}

/// Platform stalls seen by the hiccup thread during one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlatformStalls {
    /// The hiccup thread's core.
    pub core: usize,
    /// Stalls above the threshold.
    pub count: u64,
    /// Largest stall, ns.
    pub max_ns: u64,
    /// 99th percentile stall, ns.
    pub p99_ns: u64,
    /// Fraction of the run the hiccup core lost.
    pub lost_fraction: f64,
}

/// One implementation's result.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// `native`, `wasm` or `jvm`.
    pub name: &'static str,
    /// Outcome.
    pub status: RunStatus,
    /// Measured latency per event, ns.
    pub hist: Histogram<u64>,
    /// Latency during the warm-up events, ns.
    pub warmup: Histogram<u64>,
    /// Wall time of the whole run (warm-up included), ns.
    pub run_ns: u64,
    /// Differences from the reference outputs (`None` when not run).
    pub mismatch: Option<Mismatch>,
    /// The platform during the run.
    pub platform: Option<PlatformStalls>,
    /// Clock used to time events.
    pub clock: String,
    /// Cost of one read of that clock, ns.
    pub clock_ns_per_read: f64,
    /// Extra facts (JVM version, GC and JIT activity...).
    pub notes: Vec<String>,
    /// The same facts as JSON.
    pub extra: Value,
}

impl RunResult {
    fn empty(name: &'static str, status: RunStatus) -> Self {
        Self {
            name,
            status,
            hist: new_histogram(),
            warmup: new_histogram(),
            run_ns: 0,
            mismatch: None,
            platform: None,
            clock: String::new(),
            clock_ns_per_read: 0.0,
            notes: Vec::new(),
            extra: Value::Null,
        }
    }
    /// Whether the run was measured.
    pub fn measured(&self) -> bool {
        self.status == RunStatus::Measured
    }
    /// Summary of the measured events.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.hist)
    }
    /// Plain-language attribution of this run's worst event.
    pub fn attribution(&self) -> Option<String> {
        let p = self.platform?;
        let s = self.summary();
        if !self.measured() || s.count == 0 {
            return None;
        }
        Some(if p.max_ns >= s.max / 2 && p.max_ns > 0 {
            format!(
                "{}: max {} is within reach of the platform's own largest stall ({} on core {}): \
                 likely the platform, not the code",
                self.name,
                format_ns(s.max),
                format_ns(p.max_ns),
                p.core
            )
        } else {
            format!(
                "{}: max {} exceeds twice the platform's largest stall ({} on core {}): the code \
                 (or an interrupt local to the strategy core)",
                self.name,
                format_ns(s.max),
                format_ns(p.max_ns),
                p.core
            )
        })
    }

    fn to_json(&self) -> ColumnJson<'_> {
        let (status, reason) = match &self.status {
            RunStatus::Measured => ("measured", None),
            RunStatus::Unavailable(r) => ("unavailable", Some(r.as_str())),
            RunStatus::Failed(r) => ("failed", Some(r.as_str())),
        };
        let measured = self.measured().then(|| MeasuredJson {
            warmup: Summary::of(&self.warmup),
            run_ns: self.run_ns,
            clock: &self.clock,
            clock_ns_per_read: round3(self.clock_ns_per_read),
            outputs_match: self.mismatch.as_ref().is_some_and(|m| m.events == 0),
            first_mismatch: self.mismatch.as_ref().and_then(|m| {
                let (at, expected, got) = m.first.as_ref()?;
                Some(MismatchJson { at, events: m.events, expected, got })
            }),
            platform: self.platform.map(|p| PlatformJson {
                core: p.core,
                stalls: p.count,
                max_ns: p.max_ns,
                p99_ns: p.p99_ns,
                lost_fraction: p.lost_fraction,
            }),
            attribution: self.attribution(),
            details: (!self.extra.is_null()).then_some(&self.extra),
        });
        ColumnJson {
            percentiles: if self.measured() {
                PercentilesJson::Measured(self.summary())
            } else {
                PercentilesJson::Missing(NoPercentiles::default())
            },
            status,
            reason,
            measured,
        }
    }
}

/// One column of `compare --json` (`native`, `wasm`, `compiled`, `jvm`).
#[derive(Serialize)]
struct ColumnJson<'a> {
    #[serde(flatten)]
    percentiles: PercentilesJson,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(flatten)]
    measured: Option<MeasuredJson<'a>>,
}

/// A measured column's percentiles, or `null` ones for a column that did not run.
#[derive(Serialize)]
#[serde(untagged)]
enum PercentilesJson {
    Measured(Summary),
    Missing(NoPercentiles),
}

#[derive(Default, Serialize)]
struct NoPercentiles {
    p50: Option<u64>,
    p99: Option<u64>,
    p999: Option<u64>,
    p9999: Option<u64>,
    max: Option<u64>,
}

/// What only a measured column has.
#[derive(Serialize)]
struct MeasuredJson<'a> {
    warmup: Summary,
    run_ns: u64,
    clock: &'a str,
    clock_ns_per_read: f64,
    outputs_match: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_mismatch: Option<MismatchJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<PlatformJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
}

/// The first event whose actions differ from the reference.
#[derive(Serialize)]
struct MismatchJson<'a> {
    at: &'a str,
    events: usize,
    expected: &'a [String],
    got: &'a [String],
}

/// The platform's stalls during the run.
#[derive(Serialize)]
struct PlatformJson {
    core: usize,
    stalls: u64,
    max_ns: u64,
    p99_ns: u64,
    lost_fraction: f64,
}

/// The whole comparison.
#[derive(Clone, Debug)]
pub struct CompareReport {
    /// Strategy name.
    pub strategy: String,
    /// Parameters used.
    pub params: String,
    /// Measured events.
    pub events: usize,
    /// Warm-up events.
    pub warmup: usize,
    /// Tape seed.
    pub seed: u64,
    /// Strategy core.
    pub core: usize,
    /// Hiccup core.
    pub hiccup_core: Option<usize>,
    /// Event counts by kind.
    pub mix: Vec<(&'static str, u64)>,
    /// Reference output size: action records.
    pub reference_actions: usize,
    /// native, wasm, jvm.
    pub runs: Vec<RunResult>,
    /// The measuring clock and its cost.
    pub clock_cost: ClockCost,
    /// Isolation summary line.
    pub isolation: String,
    /// Files written.
    pub files: Vec<PathBuf>,
}

impl CompareReport {
    /// The run named `name`.
    pub fn run(&self, name: &str) -> Option<&RunResult> {
        self.runs.iter().find(|r| r.name == name)
    }
    /// Whether every implementation that ran produced exactly the reference outputs.
    /// A run that failed counts as a difference; one that could not run here (no JDK) does not.
    pub fn outputs_identical(&self) -> bool {
        let failed = self.runs.iter().any(|r| matches!(r.status, RunStatus::Failed(_)));
        let ran: Vec<&RunResult> = self.runs.iter().filter(|r| r.measured()).collect();
        !failed
            && !ran.is_empty()
            && ran.iter().all(|r| r.mismatch.as_ref().is_some_and(|m| m.events == 0))
    }
    /// `a / b` for one percentile, when both ran.
    pub fn ratio(&self, a: &str, b: &str, pick: fn(&Summary) -> u64) -> Option<f64> {
        let (ra, rb) = (self.run(a)?, self.run(b)?);
        if !(ra.measured() && rb.measured()) {
            return None;
        }
        let (x, y) = (pick(&ra.summary()), pick(&rb.summary()));
        (y > 0).then(|| x as f64 / y as f64)
    }

    fn ratios(&self, a: &str, b: &str) -> RatiosJson {
        let r = |f: fn(&Summary) -> u64| self.ratio(a, b, f).map(round3);
        RatiosJson {
            p50: r(|s| s.p50),
            p99: r(|s| s.p99),
            p999: r(|s| s.p999),
            p9999: r(|s| s.p9999),
            max: r(|s| s.max),
            max_minus_p50: r(|s| s.jitter_ns()),
        }
    }

    /// The report as one JSON object (`native`, `wasm`, `jvm`, `outputs_identical`, ...).
    pub fn to_json(&self) -> Value {
        let report = CompareJson {
            command: "compare",
            strategy: &self.strategy,
            params: &self.params,
            events: self.events,
            warmup: self.warmup,
            seed: self.seed,
            core: self.core,
            hiccup_core: self.hiccup_core,
            tape_mix: self.mix.iter().copied().collect(),
            reference_actions: self.reference_actions,
            clock: self.clock_cost.kind.name(),
            clock_ns_per_read: round3(self.clock_cost.ns_per_read),
            isolation: &self.isolation,
            definition: JITTER_DEFINITION,
            outputs_identical: self.outputs_identical(),
            compared: self.runs.iter().filter(|r| r.measured()).map(|r| r.name).collect(),
            ratios: Ratios {
                jvm_over_wasm: self.ratios("jvm", "wasm"),
                jvm_over_compiled: self.ratios("jvm", "compiled"),
                wasm_over_native: self.ratios("wasm", "native"),
                compiled_over_native: self.ratios("compiled", "native"),
                wasm_over_compiled: self.ratios("wasm", "compiled"),
            },
            files: self.files.iter().map(|p| p.display().to_string()).collect(),
            columns: self.runs.iter().map(|r| (r.name, r.to_json())).collect(),
        };
        serde_json::to_value(report).unwrap_or(Value::Null)
    }
}

/// `compare --json`: the settings, the ratios, and one object per column by name.
#[derive(Serialize)]
struct CompareJson<'a> {
    command: &'static str,
    strategy: &'a str,
    params: &'a str,
    events: usize,
    warmup: usize,
    seed: u64,
    core: usize,
    hiccup_core: Option<usize>,
    tape_mix: BTreeMap<&'static str, u64>,
    reference_actions: usize,
    clock: &'static str,
    clock_ns_per_read: f64,
    isolation: &'a str,
    definition: &'static str,
    outputs_identical: bool,
    compared: Vec<&'static str>,
    ratios: Ratios,
    files: Vec<String>,
    #[serde(flatten)]
    columns: BTreeMap<&'static str, ColumnJson<'a>>,
}

#[derive(Serialize)]
struct Ratios {
    jvm_over_wasm: RatiosJson,
    jvm_over_compiled: RatiosJson,
    wasm_over_native: RatiosJson,
    compiled_over_native: RatiosJson,
    wasm_over_compiled: RatiosJson,
}

/// `a / b` at each percentile (`null` where either did not run).
#[derive(Serialize)]
struct RatiosJson {
    p50: Option<f64>,
    p99: Option<f64>,
    p999: Option<f64>,
    p9999: Option<f64>,
    max: Option<f64>,
    max_minus_p50: Option<f64>,
}

impl fmt::Display for CompareReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_settings(f)?;
        self.fmt_table(f)?;
        self.fmt_ratios(f)?;
        self.fmt_outputs(f)?;
        self.fmt_notes(f)
    }
}

impl CompareReport {
    /// The runs that were measured, in column order.
    fn measured_runs(&self) -> impl Iterator<Item = &RunResult> {
        self.runs.iter().filter(|r| r.measured())
    }

    /// The head of the text report: what ran where, the tape, isolation and the clocks.
    fn fmt_settings(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "compare {}: {} events measured after {} warm-up events (seed {}), strategy on \
             core {}{}",
            self.strategy,
            self.events,
            self.warmup,
            self.seed,
            self.core,
            self.hiccup_core.map_or(String::new(), |c| format!(", hiccup thread on core {c}")),
        )?;
        writeln!(f, "params: {}", self.params)?;
        writeln!(
            f,
            "tape: {}",
            self.mix.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
        )?;
        writeln!(f, "isolation: {}", self.isolation)?;
        let clocks: Vec<String> = self
            .measured_runs()
            .map(|r| format!("{} {} ({:.1} ns/read)", r.name, r.clock, r.clock_ns_per_read))
            .collect();
        writeln!(f, "clocks: {}", clocks.join("; "))?;
        writeln!(f, "{JITTER_DEFINITION}")?;
        writeln!(f)
    }

    /// The latency table: one row per column, or why it did not run.
    fn fmt_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<8} {} {:>11} {:>14}",
            "",
            percentile_heads(),
            "p99.99/p50",
            "platform max"
        )?;
        for r in &self.runs {
            if !r.measured() {
                let why = match &r.status {
                    RunStatus::Unavailable(w) | RunStatus::Failed(w) => w.as_str(),
                    RunStatus::Measured => "",
                };
                writeln!(f, "{:<8} {why}", r.name)?;
                continue;
            }
            let s = r.summary();
            writeln!(
                f,
                "{:<8} {} {:>11.1} {:>14}",
                r.name,
                percentile_cells(&s),
                s.tail_ratio(),
                r.platform.map_or("-".to_owned(), |p| format!(
                    "{} ({})",
                    format_ns(p.max_ns),
                    p.count
                )),
            )?;
        }
        writeln!(f)
    }

    /// The ratios between columns that both ran.
    fn fmt_ratios(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (a, b) in [
            ("jvm", "wasm"),
            ("jvm", "compiled"),
            ("wasm", "native"),
            ("compiled", "native"),
            ("wasm", "compiled"),
        ] {
            if self.ratio(a, b, |s| s.p50).is_none() {
                continue;
            }
            let r = |p: fn(&Summary) -> u64| {
                self.ratio(a, b, p).map_or("-".to_owned(), |x| format!("{x:.2}x"))
            };
            writeln!(
                f,
                "{:<12} p50 {}  p99 {}  p99.9 {}  p99.99 {}  max {}  max-p50 {}",
                format!("{a}/{b}"),
                r(|s| s.p50),
                r(|s| s.p99),
                r(|s| s.p999),
                r(|s| s.p9999),
                r(|s| s.max),
                r(|s| s.jitter_ns()),
            )?;
        }
        writeln!(f)
    }

    /// Whether the outputs matched, or where each column first differed.
    fn fmt_outputs(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.outputs_identical() {
            let compared: Vec<&str> = self.measured_runs().map(|r| r.name).collect();
            return writeln!(
                f,
                "outputs: identical across {} (init + {} events, {} actions, byte for byte)",
                compared.join(", "),
                self.events + self.warmup,
                self.reference_actions
            );
        }
        for r in self.measured_runs() {
            if let Some(m) = &r.mismatch
                && let Some((at, want, got)) = &m.first
            {
                writeln!(
                    f,
                    "outputs: {} DIFFERS on {} events; first at {at}: expected {want:?}, \
                     got {got:?}",
                    r.name, m.events
                )?;
            }
        }
        Ok(())
    }

    /// Warm-up figures and notes per column, attributions of the worst events, files written.
    fn fmt_notes(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in self.measured_runs() {
            let w = Summary::of(&r.warmup);
            writeln!(
                f,
                "warm-up {}: p50 {}, max {} over {} events{}",
                r.name,
                format_ns(w.p50),
                format_ns(w.max),
                w.count,
                if r.notes.is_empty() {
                    String::new()
                } else {
                    format!("; {}", r.notes.join("; "))
                }
            )?;
        }
        for r in &self.runs {
            if let Some(a) = r.attribution() {
                writeln!(f, "{a}")?;
            }
        }
        for p in &self.files {
            writeln!(f, "wrote {}", p.display())?;
        }
        Ok(())
    }
}

/// The timed loop over the tape. Histograms and the output buffer are preallocated; the only
/// work between the two clock reads is the strategy call (event and book copied in, actions
/// copied out).
struct Measure<'a> {
    /// Strategy and column, for errors.
    strategy: &'a str,
    column: &'static str,
    runner: &'a mut dyn StrategyRunner,
    tape: &'a Tape,
    warmup: usize,
    outputs: &'a mut Outputs,
    warm: &'a mut Histogram<u64>,
    hist: &'a mut Histogram<u64>,
    progress: &'a AtomicUsize,
}

impl TickFn<Result<u64, Error>> for Measure<'_> {
    fn call<C: Ticks>(self, c: C) -> Result<u64, Error> {
        let start = c.now_ordered();
        for i in 0..self.tape.len() {
            let (ev, book) = self.tape.get(i);
            let t0 = c.now_ordered();
            let r = self.runner.on_event(ev, book);
            let t1 = c.now_ordered();
            let step = r.map_err(|e| Error::Strategy {
                name: self.strategy.to_owned(),
                runner: self.column,
                message: format!("event {i}: {e}"),
            })?;
            let ns = c.to_ns(t1.wrapping_sub(t0));
            if i < self.warmup {
                self.warm.saturating_record(ns);
            } else {
                self.hist.saturating_record(ns);
            }
            self.outputs.push(step.actions);
            if i & 4095 == 0 {
                self.progress.store(i, Ordering::Relaxed);
            }
        }
        Ok(c.to_ns(c.now_ordered().wrapping_sub(start)))
    }
}

/// Builds a runner on the calling (pinned) thread, so its memory is first touched there.
type MakeRunner<'a> = &'a (dyn Fn() -> Result<Box<dyn StrategyRunner>, Error> + Sync);

/// Runs one in-process implementation pinned to `core`.
fn run_in_process(
    name: &'static str,
    make: MakeRunner<'_>,
    tape: &Tape,
    cfg: &CompareConfig,
    clock: Clock,
    reference: &Outputs,
) -> RunResult {
    let progress = AtomicUsize::new(0);
    let result = std::thread::scope(|s| {
        let h = std::thread::Builder::new().name(format!("compare-{name}")).spawn_scoped(s, || {
            lockstep_engine::pin_current_thread(cfg.core)
                .map_err(|e| Error::Thread { message: e.to_string() })?;
            let cost = measure_cost(&clock, 200_000);
            let mut runner = make()?;
            let mut outputs = Outputs::pretouched(reference.counts.len(), reference.records.len());
            outputs.push(runner.actions());
            let mut warm = new_histogram();
            let mut hist = new_histogram();
            let run_ns = clock.with(Measure {
                strategy: &cfg.strategy,
                column: name,
                runner: runner.as_mut(),
                tape,
                warmup: cfg.warmup,
                outputs: &mut outputs,
                warm: &mut warm,
                hist: &mut hist,
                progress: &progress,
            })?;
            Ok((cost, outputs, warm, hist, run_ns))
        });
        let h = match h {
            Ok(h) => h,
            Err(e) => {
                return Err(Error::Thread {
                    message: format!("cannot start the {name} thread: {e}"),
                });
            }
        };
        show_progress(cfg.progress, name, tape.len(), &progress, || h.is_finished());
        h.join().unwrap_or_else(|_| {
            Err(Error::Thread { message: format!("the {name} thread panicked") })
        })
    });
    match result {
        Ok((cost, outputs, warm, hist, run_ns)) => RunResult {
            name,
            status: RunStatus::Measured,
            hist,
            warmup: warm,
            run_ns,
            mismatch: Some(compare_outputs(tape, reference, &outputs)),
            platform: None,
            clock: clock.kind().name().to_owned(),
            clock_ns_per_read: cost.ns_per_read,
            notes: Vec::new(),
            extra: Value::Null,
        },
        Err(e) => RunResult::empty(name, RunStatus::Failed(e.to_string())),
    }
}

/// Prints `name: i/n events` on stderr while `done()` is false.
fn show_progress(on: bool, name: &str, n: usize, at: &AtomicUsize, done: impl Fn() -> bool) {
    let sw = crate::clock::Stopwatch::start();
    let mut last = 0u64;
    while !done() {
        // Parking briefly keeps this thread off the measured cores most of the time.
        std::thread::park_timeout(Duration::from_millis(100));
        let t = sw.elapsed().as_secs();
        if on && t > last {
            last = t;
            eprint!("\r{name}: {}/{n} events ", at.load(Ordering::Relaxed));
        }
    }
    if on && last > 0 {
        eprintln!("\r{name}: {n}/{n} events ");
    }
}

/// Runs `f` while a hiccup thread spins on `core` and returns its stalls.
fn with_platform<T>(
    cfg: &CompareConfig,
    clock: Clock,
    f: impl FnOnce() -> T,
) -> Result<(T, Option<PlatformStalls>), Error> {
    let Some(core) = cfg.hiccup_core else { return Ok((f(), None)) };
    let run = HiccupRun::start(
        HiccupConfig {
            cores: vec![core],
            duration: None,
            threshold_ns: cfg.threshold_ns,
            interval: Duration::from_secs(1),
            mlock: false,
            progress: false,
            out_dir: None,
            comments: Vec::new(),
        },
        clock,
    )?;
    let stop = run.stopper();
    let value = f();
    stop.store(true, Ordering::Relaxed);
    let rep = run.finish("")?;
    let stalls = rep.cores.first().map(|c| {
        let s = Summary::of(&c.hist);
        PlatformStalls {
            core,
            count: c.interruptions,
            max_ns: s.max,
            p99_ns: s.p99,
            lost_fraction: c.lost_fraction(),
        }
    });
    Ok((value, stalls))
}

/// Runs the comparison for one strategy.
///
/// # Errors
/// [`Error::Argument`] for an unknown strategy, bad parameters or cores; [`Error::Strategy`]
/// when the reference run fails; [`Error::Io`] when outputs cannot be written. A failing
/// implementation is reported in its column, not as an error.
pub fn run(cfg: &CompareConfig, clock: Clock, isolation: &str) -> Result<CompareReport, Error> {
    let info = check_config(cfg)?;
    let params = cfg.params.clone().unwrap_or_else(|| info.default_params.to_owned());
    // Parameters are checked here, so that a bad one is named as the flag it came from.
    lockstep_strategies::native(&cfg.strategy, &params)
        .map_err(|e| Error::arg("--params", e.to_string()))?;
    let (tape, reference) = record_reference(cfg, &params)?;
    let mut runs = run_in_process_columns(cfg, clock, info.wasm, &params, &tape, &reference)?;
    runs.push(run_jvm_column(cfg, clock, &params, &tape, &reference)?);
    let mut files = Vec::new();
    if let Some(dir) = &cfg.out_dir {
        files = write_outputs(dir, &cfg.strategy, &runs)?;
    }
    Ok(CompareReport {
        strategy: cfg.strategy.clone(),
        params,
        events: cfg.events,
        warmup: cfg.warmup,
        seed: cfg.seed,
        core: cfg.core,
        hiccup_core: cfg.hiccup_core,
        mix: tape.mix().into_iter().collect(),
        reference_actions: reference.records.len(),
        runs,
        clock_cost: measure_cost(&clock, 200_000),
        isolation: isolation.to_owned(),
        files,
    })
}

/// Checks the strategy name, the cores and the event count before anything runs.
fn check_config(cfg: &CompareConfig) -> Result<&'static StrategyInfo, Error> {
    let info = lockstep_strategies::get(&cfg.strategy).ok_or_else(|| {
        Error::arg(
            "--strategy",
            format!(
                "no built-in strategy is called `{}`; choose one of: {}",
                cfg.strategy,
                lockstep_strategies::names().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    check_cores(&[cfg.core], "--core")?;
    if let Some(h) = cfg.hiccup_core {
        check_cores(&[h], "--hiccup-core")?;
        if h == cfg.core {
            return Err(Error::arg("--hiccup-core", "must differ from --core"));
        }
    }
    if cfg.events == 0 {
        return Err(Error::arg("--events", "must be at least 1"));
    }
    Ok(info)
}

/// A failure of the strategy itself in column `runner`.
fn strategy_error(cfg: &CompareConfig, runner: &'static str, message: String) -> Error {
    Error::Strategy { name: cfg.strategy.clone(), runner, message }
}

/// The reference run: records the tape (with the venue's answers) and the expected outputs.
fn record_reference(cfg: &CompareConfig, params: &str) -> Result<(Tape, Outputs), Error> {
    let record_dir =
        std::env::temp_dir().join(format!("latency-lab-record-{}", std::process::id()));
    let total = cfg.warmup + cfg.events;
    let recorded = record(&cfg.strategy, params, total, cfg.seed, &record_dir);
    let _ = std::fs::remove_dir(&record_dir);
    recorded.map_err(|e| strategy_error(cfg, "native", e.to_string()))
}

/// The native column and the engine tiers asked for, each pinned with the platform measured.
fn run_in_process_columns(
    cfg: &CompareConfig,
    clock: Clock,
    wasm: &'static [u8],
    params: &str,
    tape: &Tape,
    reference: &Outputs,
) -> Result<Vec<RunResult>, Error> {
    let make_native = || {
        lockstep_strategies::native(&cfg.strategy, params)
            .map_err(|e| strategy_error(cfg, "native", e.to_string()))
    };
    let make_tier = |tier: Tier, column: &'static str| {
        move || -> Result<Box<dyn StrategyRunner>, Error> {
            let err = |e: lockstep_engine::Error| strategy_error(cfg, column, e.to_string());
            let engine =
                Engine::try_new(Config::new().tier(tier).pretouch_memory(true)).map_err(err)?;
            let module = StrategyModule::new(&engine, wasm).map_err(err)?;
            let inst = module.instantiate(params).map_err(err)?;
            Ok(Box::new(inst) as Box<dyn StrategyRunner>)
        }
    };
    let make_wasm = make_tier(Tier::Interpreter, "wasm");
    let make_compiled = make_tier(Tier::Compiled, "compiled");
    let mut columns = vec![("native", &make_native as MakeRunner<'_>)];
    if cfg.tiers.contains(&Tier::Interpreter) {
        columns.push(("wasm", &make_wasm as MakeRunner<'_>));
    }
    if cfg.tiers.contains(&Tier::Compiled) {
        columns.push(("compiled", &make_compiled as MakeRunner<'_>));
    }
    let mut runs = Vec::new();
    for (name, make) in columns {
        let (mut r, stalls) =
            with_platform(cfg, clock, || run_in_process(name, make, tape, cfg, clock, reference))?;
        r.platform = stalls;
        runs.push(r);
    }
    Ok(runs)
}

/// The JVM column: skipped, unavailable here, or run in `--out`'s `jvm` directory (a temporary
/// one, removed afterwards, without `--out`).
fn run_jvm_column(
    cfg: &CompareConfig,
    clock: Clock,
    params: &str,
    tape: &Tape,
    reference: &Outputs,
) -> Result<RunResult, Error> {
    let tmp;
    let work_dir = match &cfg.out_dir {
        Some(d) => d.join("jvm"),
        None => {
            tmp = std::env::temp_dir().join(format!("latency-lab-{}", std::process::id()));
            tmp.clone()
        }
    };
    let jvm_result = if !cfg.jvm {
        RunResult::empty("jvm", RunStatus::Unavailable("skipped (--no-jvm)".into()))
    } else if !jvm::JAVA_PORTS.contains(&cfg.strategy.as_str()) {
        let why =
            format!("no Java port of `{}` (ported: {})", cfg.strategy, jvm::JAVA_PORTS.join(", "));
        RunResult::empty("jvm", RunStatus::Unavailable(why))
    } else {
        match JvmSetup::find() {
            Err(why) => RunResult::empty("jvm", RunStatus::Unavailable(why.to_string())),
            Ok(setup) => run_jvm(cfg, clock, &setup, &work_dir, params, tape, reference)?,
        }
    };
    if cfg.out_dir.is_none() {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    Ok(jvm_result)
}

/// Compiles and runs the Java port in `work_dir`, pinned, with the platform measured.
fn run_jvm(
    cfg: &CompareConfig,
    clock: Clock,
    setup: &JvmSetup,
    work_dir: &Path,
    params: &str,
    tape: &Tape,
    reference: &Outputs,
) -> Result<RunResult, Error> {
    let jvm_cpus = cfg.jvm_cpus.clone().unwrap_or_else(|| cfg.core.to_string());
    let job = jvm::Job {
        setup,
        dir: work_dir,
        strategy: &cfg.strategy,
        params,
        tape,
        reference,
        warmup: cfg.warmup,
        cpus: &jvm_cpus,
        java_opts: &cfg.java_opts,
        capacity: (reference.counts.len() * 2 + reference.records.len() * 64) * 2,
    };
    if cfg.progress {
        eprintln!("jvm: javac, then java pinned to CPU {jvm_cpus}");
    }
    let (res, stalls) = match jvm::prepare(&job) {
        Ok(prepared) => with_platform(cfg, clock, || jvm::execute(&job, &prepared))?,
        Err(e) => (Err(e), None),
    };
    Ok(match res {
        Ok(out) => jvm_measured(out, stalls, cfg.warmup, tape, reference),
        Err(e) => RunResult::empty("jvm", RunStatus::Failed(e.to_string())),
    })
}

/// The JVM column of a run that finished: its latencies split at `warmup`, its outputs checked.
fn jvm_measured(
    out: jvm::JvmOut,
    stalls: Option<PlatformStalls>,
    warmup: usize,
    tape: &Tape,
    reference: &Outputs,
) -> RunResult {
    let mismatch = compare_outputs(tape, reference, &out.outputs);
    let mut hist = new_histogram();
    let mut warm = new_histogram();
    for (i, &ns) in out.latencies.iter().enumerate() {
        if i < warmup {
            warm.saturating_record(ns);
        } else {
            hist.saturating_record(ns);
        }
    }
    RunResult {
        name: "jvm",
        status: RunStatus::Measured,
        hist,
        warmup: warm,
        run_ns: out.run_ns,
        mismatch: Some(mismatch),
        platform: stalls,
        clock: "System.nanoTime".into(),
        clock_ns_per_read: out.clock_ns_per_read,
        notes: out.notes,
        extra: out.extra,
    }
}

/// Writes one `.hgrm` per measured run and the percentile chart overlaying them, each whole or
/// not at all (through replay's atomic writer, like the charts `plot` draws).
fn write_outputs(
    dir: &std::path::Path,
    strategy: &str,
    runs: &[RunResult],
) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating the output directory", dir, e))?;
    let mut files = Vec::new();
    for r in runs.iter().filter(|r| r.measured()) {
        let p = dir.join(format!("compare-{strategy}-{}.hgrm", r.name));
        write_hgrm_file(&p, &r.hist)?;
        files.push(p);
    }
    if !files.is_empty() {
        let chart = crate::plot::plot(&crate::plot::PlotConfig {
            inputs: files.clone(),
            out_dir: dir.join(format!("compare-{strategy}")),
            unit: crate::plot::Unit::Ns,
            title: format!("{strategy}: native vs Wasm vs JVM"),
            size: (1200, 700),
            log_y: true,
        })?;
        files.extend(chart.files);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(name: &'static str, values: &[u64]) -> RunResult {
        let mut r = RunResult::empty(name, RunStatus::Measured);
        for &v in values {
            r.hist.record(v).unwrap();
        }
        r
    }

    fn listing(d: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn compare_outputs_are_written_whole_or_not_at_all() {
        let d = std::env::temp_dir().join(format!("latency-lab-compare-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let runs = [
            measured("native", &[100, 200, 300]),
            RunResult::empty("jvm", RunStatus::Unavailable("no JDK".into())),
            measured("wasm", &[150, 250]),
        ];
        let files = write_outputs(&d, "x", &runs).unwrap();
        let names: Vec<String> =
            files.iter().map(|p| p.strip_prefix(&d).unwrap().display().to_string()).collect();
        assert_eq!(
            names,
            [
                "compare-x-native.hgrm",
                "compare-x-wasm.hgrm",
                "compare-x/percentiles.svg",
                "compare-x/percentiles.png"
            ]
        );
        assert_eq!(listing(&d), ["compare-x", "compare-x-native.hgrm", "compare-x-wasm.hgrm"]);
        assert_eq!(listing(&d.join("compare-x")), ["percentiles.png", "percentiles.svg"]);
        let text = std::fs::read_to_string(&files[1]).unwrap();
        assert!(crate::histo::parse_hgrm(&text, &files[1]).unwrap().len() > 1);

        // A run whose .hgrm cannot be put in place (a directory holds its name): the command
        // fails naming it, the earlier chart is byte-identical, nothing temporary is left.
        let svg = std::fs::read(d.join("compare-x/percentiles.svg")).unwrap();
        std::fs::create_dir(d.join("compare-y-wasm.hgrm")).unwrap();
        std::fs::write(d.join("compare-y-native.hgrm"), b"old").unwrap();
        let runs = [measured("wasm", &[1]), measured("native", &[2])];
        let e = write_outputs(&d, "y", &runs).unwrap_err().to_string();
        assert!(e.contains("compare-y-wasm.hgrm"), "{e}");
        assert_eq!(std::fs::read(d.join("compare-y-native.hgrm")).unwrap(), b"old");
        assert_eq!(std::fs::read(d.join("compare-x/percentiles.svg")).unwrap(), svg);
        assert_eq!(
            listing(&d),
            [
                "compare-x",
                "compare-x-native.hgrm",
                "compare-x-wasm.hgrm",
                "compare-y-native.hgrm",
                "compare-y-wasm.hgrm"
            ]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
