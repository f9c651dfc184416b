//! The platform jitter meter, in the manner of sysjitter and jHiccup: one thread per core, pinned,
//! spins on a cheap clock and records every gap between two consecutive reads longer than a
//! threshold. Such a gap is time the core was taken away from us (an interrupt, a tick, another
//! task, the hypervisor) or stalled (SMI, frequency change): an interruption.

use crate::clock::{Clock, ClockCost, ClockKind, Stopwatch, TickFn, Ticks, measure_cost};
use crate::error::Error;
use crate::histo::{
    Summary, new_histogram, percentile_cells, percentile_heads, round3, write_hgrm_file,
};
use crate::sys;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriter, IntervalLogWriterBuilder, Tag};
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::time::Duration;

/// Interval histograms kept in flight per core (one being recorded, the rest queued or free).
const SPARE_INTERVALS: usize = 4;
/// How often a spinning thread looks at the stop flag and the interval deadline.
const CHECK_EVERY_NS: u64 = 1_000_000;

/// What to measure.
#[derive(Clone, Debug)]
pub struct HiccupConfig {
    /// Cores to measure, one spinning thread each.
    pub cores: Vec<usize>,
    /// How long to spin; `None` = until [`HiccupRun::stop`] is called.
    pub duration: Option<Duration>,
    /// Gaps longer than this are interruptions.
    pub threshold_ns: u64,
    /// Length of each interval in the `.hlog`.
    pub interval: Duration,
    /// Lock the process's memory (`mlockall(MCL_CURRENT)`) after preallocating.
    pub mlock: bool,
    /// Print a progress line on stderr every second.
    pub progress: bool,
    /// Where to write `hiccup.hlog` and `hiccup-core<N>.hgrm`; nothing is written when `None`.
    pub out_dir: Option<PathBuf>,
    /// Lines written as comments at the head of the `.hlog` (run parameters, isolation state).
    pub comments: Vec<String>,
}

/// Measured interruptions of one core.
#[derive(Clone, Debug)]
pub struct CoreResult {
    /// The core.
    pub core: usize,
    /// Whether the thread was found on its core at every check (`false`: pinning failed).
    pub stayed_on_core: bool,
    /// Every interruption (gap above the threshold), in ns.
    pub hist: Histogram<u64>,
    /// Number of interruptions.
    pub interruptions: u64,
    /// Sum of all interruptions, in ns.
    pub lost_ns: u64,
    /// Loop iterations (clock reads).
    pub iterations: u64,
    /// How long the thread spun, in ns.
    pub run_ns: u64,
    /// Intervals that had to be merged into the next one because the writer lagged.
    pub merged_intervals: u64,
}

impl CoreResult {
    /// Interruptions per second.
    pub fn per_second(&self) -> f64 {
        self.interruptions as f64 / (self.run_ns.max(1) as f64 / 1e9)
    }
    /// Fraction of the run lost to interruptions (0..=1).
    pub fn lost_fraction(&self) -> f64 {
        self.lost_ns as f64 / self.run_ns.max(1) as f64
    }
    /// Mean time of one loop iteration: the clock read plus the loop's own work.
    pub fn ns_per_iteration(&self) -> f64 {
        (self.run_ns.saturating_sub(self.lost_ns)) as f64 / self.iterations.max(1) as f64
    }
    /// This core's result as JSON.
    pub fn to_json(&self) -> CoreJson {
        CoreJson {
            summary: Summary::of(&self.hist),
            core: self.core,
            stayed_on_core: self.stayed_on_core,
            interruptions: self.interruptions,
            interruptions_per_s: round3(self.per_second()),
            lost_ns: self.lost_ns,
            lost_fraction: self.lost_fraction(),
            iterations: self.iterations,
            ns_per_iteration: round3(self.ns_per_iteration()),
            run_ns: self.run_ns,
            merged_intervals: self.merged_intervals,
        }
    }
}

/// One core's hiccup result: its percentiles and what the loop saw.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CoreJson {
    #[serde(flatten)]
    summary: Summary,
    core: usize,
    stayed_on_core: bool,
    interruptions: u64,
    interruptions_per_s: f64,
    lost_ns: u64,
    lost_fraction: f64,
    iterations: u64,
    ns_per_iteration: f64,
    run_ns: u64,
    merged_intervals: u64,
}

/// The result of a hiccup run.
#[derive(Clone, Debug)]
pub struct HiccupReport {
    /// The clock used.
    pub clock: Clock,
    /// Its measured cost per read.
    pub clock_cost: ClockCost,
    /// The cost of the other clock (TSC or monotonic), for comparison, when measured.
    pub other_clock_cost: Option<ClockCost>,
    /// Threshold used, ns.
    pub threshold_ns: u64,
    /// Per core, in the order asked for.
    pub cores: Vec<CoreResult>,
    /// Outcome of `mlockall`, when asked for.
    pub mlock: Option<Result<(), String>>,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// The machine's isolation summary.
    pub isolation: String,
}

/// One finished interval on its way to the log writer.
struct IntervalMsg {
    core_idx: usize,
    start_ns: u64,
    end_ns: u64,
    hist: Histogram<u64>,
}

struct SpinArgs {
    core: usize,
    core_idx: usize,
    threshold_ns: u64,
    interval_ns: u64,
    deadline_ns: Option<u64>,
    origin: u64,
    stop: Arc<AtomicBool>,
    /// Set once every thread is started: all cores begin together.
    go: Arc<AtomicBool>,
    full: SyncSender<IntervalMsg>,
    free: Receiver<Histogram<u64>>,
    current: Histogram<u64>,
    total: Histogram<u64>,
}

impl TickFn<CoreResult> for SpinArgs {
    fn call<C: Ticks>(self, c: C) -> CoreResult {
        spin(c, self)
    }
}

/// The measuring loop. Nothing in it allocates: histograms are preallocated and handed back
/// and forth over bounded channels.
fn spin<C: Ticks>(c: C, mut a: SpinArgs) -> CoreResult {
    let threshold = c.ticks_from_ns(a.threshold_ns);
    let check = c.ticks_from_ns(CHECK_EVERY_NS);
    let interval = c.ticks_from_ns(a.interval_ns);
    let mut stayed = sys::current_cpu() == Some(a.core);
    // Warm the loop and the clock before the common start.
    for _ in 0..10_000 {
        std::hint::black_box(c.now());
    }
    while !a.go.load(Ordering::Acquire) {
        std::hint::spin_loop();
    }
    let start = c.now();
    let deadline = a.deadline_ns.map_or(u64::MAX, |d| start.saturating_add(c.ticks_from_ns(d)));
    let (mut interruptions, mut lost, mut iterations, mut merged) = (0u64, 0u64, 0u64, 0u64);
    let mut prev = start;
    let mut next_check = start + check;
    let mut next_interval = start + interval;
    let mut interval_start = start;
    loop {
        let now = c.now();
        let gap = now.wrapping_sub(prev);
        prev = now;
        iterations += 1;
        if gap > threshold {
            let ns = c.to_ns(gap);
            a.current.saturating_record(ns);
            a.total.saturating_record(ns);
            interruptions += 1;
            lost += ns;
        }
        if now >= next_check {
            next_check = now + check;
            if now >= deadline || a.stop.load(Ordering::Relaxed) {
                break;
            }
            if now >= next_interval {
                next_interval = now + interval;
                stayed &= sys::current_cpu() == Some(a.core);
                match a.free.try_recv() {
                    Ok(mut fresh) => {
                        std::mem::swap(&mut fresh, &mut a.current);
                        let msg = IntervalMsg {
                            core_idx: a.core_idx,
                            start_ns: c.to_ns(interval_start.wrapping_sub(a.origin)),
                            end_ns: c.to_ns(now.wrapping_sub(a.origin)),
                            hist: fresh,
                        };
                        interval_start = now;
                        // A full queue means the writer is gone; the totals still count.
                        let _ = a.full.try_send(msg);
                    }
                    // Writer lagging: keep recording; this interval merges into the next.
                    Err(TryRecvError::Empty) => merged += 1,
                    Err(TryRecvError::Disconnected) => {}
                }
                // Our own bookkeeping is not a platform interruption.
                prev = c.now();
            }
        }
    }
    stayed &= sys::current_cpu() == Some(a.core);
    // The last (partial) interval goes out as it is: the thread is done with it.
    let _ = a.full.try_send(IntervalMsg {
        core_idx: a.core_idx,
        start_ns: c.to_ns(interval_start.wrapping_sub(a.origin)),
        end_ns: c.to_ns(prev.wrapping_sub(a.origin)),
        hist: a.current,
    });
    CoreResult {
        core: a.core,
        stayed_on_core: stayed,
        hist: a.total,
        interruptions,
        lost_ns: lost,
        iterations,
        run_ns: c.to_ns(prev.wrapping_sub(start)),
        merged_intervals: merged,
    }
}

/// A hiccup measurement in progress (see [`HiccupRun::start`]).
pub struct HiccupRun {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<CoreResult>>,
    full: Receiver<IntervalMsg>,
    free: Vec<SyncSender<Histogram<u64>>>,
    cfg: HiccupConfig,
    clock: Clock,
    clock_cost: ClockCost,
    mlock: Option<Result<(), String>>,
}

/// Checks that every core in `cores` is one this process may run on.
///
/// # Errors
/// [`Error::Argument`] naming the first core that is not available.
pub fn check_cores(cores: &[usize], flag: &'static str) -> Result<(), Error> {
    let avail: Vec<usize> =
        core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect();
    if cores.is_empty() {
        return Err(Error::arg(flag, "no core given"));
    }
    for c in cores {
        if !avail.contains(c) {
            return Err(Error::arg(
                flag,
                format!(
                    "core {c} is not available to this process; available: {}",
                    crate::sysinfo::format_cpu_list(&avail)
                ),
            ));
        }
    }
    Ok(())
}

impl HiccupRun {
    /// Preallocates, pins one spinning thread per core and starts them together.
    ///
    /// # Errors
    /// [`Error::Argument`] for an unknown core or a zero interval, [`Error::Thread`] when a
    /// thread cannot be started.
    pub fn start(cfg: HiccupConfig, clock: Clock) -> Result<Self, Error> {
        check_cores(&cfg.cores, "--cores")?;
        if cfg.interval.is_zero() {
            return Err(Error::arg("--interval-ms", "must be at least 1"));
        }
        let clock_cost = measure_cost(&clock, 1_000_000);
        let n = cfg.cores.len();
        let (full_tx, full_rx) = sync_channel::<IntervalMsg>(n * SPARE_INTERVALS);
        let mut free_txs = Vec::with_capacity(n);
        let mut prepared = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = sync_channel::<Histogram<u64>>(SPARE_INTERVALS);
            for _ in 0..SPARE_INTERVALS - 1 {
                tx.try_send(new_histogram())
                    .map_err(|e| Error::Thread { message: e.to_string() })?;
            }
            free_txs.push(tx);
            prepared.push((rx, new_histogram(), new_histogram()));
        }
        let mlock = cfg.mlock.then(|| sys::lock_all_memory().map_err(|e| e.to_string()));
        let stop = Arc::new(AtomicBool::new(false));
        let go = Arc::new(AtomicBool::new(false));
        let origin_ns = clock.now_ns();
        let mut threads = Vec::with_capacity(n);
        for (idx, (&core, (free_rx, current, total))) in cfg.cores.iter().zip(prepared).enumerate()
        {
            let args = SpinArgs {
                core,
                core_idx: idx,
                threshold_ns: cfg.threshold_ns,
                interval_ns: cfg.interval.as_nanos() as u64,
                deadline_ns: cfg.duration.map(|d| d.as_nanos() as u64),
                origin: 0,
                stop: Arc::clone(&stop),
                go: Arc::clone(&go),
                full: full_tx.clone(),
                free: free_rx,
                current,
                total,
            };
            let clk = clock;
            let spawned =
                std::thread::Builder::new().name(format!("hiccup-{core}")).spawn(move || {
                    // A refusal is reported per core: the spinning loop checks where it runs
                    // and clears `stayed_on_core`.
                    let _ = lockstep_engine::pin_current_thread(core);
                    let origin = clk.with(OriginFn { origin_ns });
                    clk.with(SpinArgs { origin, ..args })
                });
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    // Release the threads already started, then report.
                    stop.store(true, Ordering::Relaxed);
                    go.store(true, Ordering::Release);
                    for t in threads {
                        let _ = t.join();
                    }
                    return Err(Error::Thread {
                        message: format!("cannot start core {core}: {e}"),
                    });
                }
            }
        }
        go.store(true, Ordering::Release);
        Ok(Self { stop, threads, full: full_rx, free: free_txs, cfg, clock, clock_cost, mlock })
    }

    /// Asks the threads to stop (needed when no duration was given).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// A handle that stops the run from another thread.
    pub fn stopper(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Writes intervals as they arrive, shows progress, and returns when every thread is done.
    ///
    /// # Errors
    /// [`Error::Io`] when an output file cannot be written, [`Error::Thread`] when a thread
    /// panicked.
    pub fn finish(self, isolation: &str) -> Result<HiccupReport, Error> {
        let HiccupRun { stop, threads, full, free, cfg, clock, clock_cost, mlock } = self;
        let (mut file, hlog_path) = create_log(&cfg)?;
        let mut sink = std::io::sink();
        let mut out: &mut dyn Write = match file.as_mut() {
            Some(f) => f,
            None => &mut sink,
        };
        let log_path = hlog_path.clone().unwrap_or_else(|| PathBuf::from("-"));
        let mut ser = V2DeflateSerializer::new();
        let mut log = log_header(&cfg, clock)
            .begin_log_with(&mut out, &mut ser)
            .map_err(|e| Error::io("writing the interval log", &log_path, e))?;
        let write_err = drain_intervals(&mut log, &full, &free, &cfg);
        stop.store(true, Ordering::Relaxed);
        let cores = join_spinners(threads)?;
        drop(log);
        out.flush().map_err(|e| Error::io("writing the interval log", &log_path, e))?;
        if let Some(e) = write_err {
            return Err(Error::io("writing the interval log", &log_path, std::io::Error::other(e)));
        }
        if let Some(f) = file {
            f.into_inner()
                .map_err(std::io::IntoInnerError::into_error)
                .and_then(lockstep_io::AtomicFile::commit)
                .map_err(|e| Error::io("writing the interval log", &log_path, e))?;
        }
        let mut files: Vec<PathBuf> = hlog_path.into_iter().collect();
        if let Some(dir) = &cfg.out_dir {
            for c in &cores {
                let p = dir.join(format!("hiccup-core{}.hgrm", c.core));
                write_hgrm_file(&p, &c.hist)?;
                files.push(p);
            }
        }
        Ok(HiccupReport {
            clock,
            clock_cost,
            other_clock_cost: None,
            threshold_ns: cfg.threshold_ns,
            cores,
            mlock,
            files,
            isolation: isolation.to_owned(),
        })
    }
}

/// The interval log being written: a temporary file beside its path, moved into place when
/// complete, and that path (both `None` without an output directory).
type LogFile = (Option<std::io::BufWriter<lockstep_io::AtomicFile>>, Option<PathBuf>);

/// Creates the output directory and the interval log in it, when `cfg` has one.
fn create_log(cfg: &HiccupConfig) -> Result<LogFile, Error> {
    let Some(dir) = &cfg.out_dir else { return Ok((None, None)) };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating the output directory", dir, e))?;
    let p = dir.join("hiccup.hlog");
    let f = lockstep_io::AtomicFile::create(&p)
        .map_err(|e| Error::io("creating the interval log", &p, e))?;
    Ok((Some(std::io::BufWriter::new(f)), Some(p)))
}

/// The interval log's head: the run's comments, then what the values and tags mean.
fn log_header(cfg: &HiccupConfig, clock: Clock) -> IntervalLogWriterBuilder {
    let mut builder = IntervalLogWriterBuilder::new();
    for c in &cfg.comments {
        builder.add_comment(c);
    }
    builder.add_comment(&format!(
        "Values in nanoseconds: gaps above {} ns between consecutive {} clock reads; \
         tag coreN = CPU N; timestamps in seconds from the start of the run",
        cfg.threshold_ns,
        clock.kind().name()
    ));
    builder
}

/// Logs each finished interval and hands its histogram back, showing progress, until every
/// spinning thread is done; returns the first write error (later intervals are then dropped).
fn drain_intervals(
    log: &mut IntervalLogWriter<'_, '_, impl Write, V2DeflateSerializer>,
    full: &Receiver<IntervalMsg>,
    free: &[SyncSender<Histogram<u64>>],
    cfg: &HiccupConfig,
) -> Option<String> {
    let tags: Vec<String> = cfg.cores.iter().map(|c| format!("core{c}")).collect();
    let sw = Stopwatch::start();
    let mut last_progress = 0u64;
    let mut write_err = None;
    loop {
        match full.recv_timeout(Duration::from_millis(200)) {
            Ok(mut msg) => {
                if write_err.is_none() {
                    let r = log.write_histogram(
                        &msg.hist,
                        Duration::from_nanos(msg.start_ns),
                        Duration::from_nanos(msg.end_ns.saturating_sub(msg.start_ns)),
                        Tag::new(&tags[msg.core_idx]),
                    );
                    if let Err(e) = r {
                        write_err = Some(e.to_string());
                    }
                }
                msg.hist.reset();
                let _ = free[msg.core_idx].try_send(msg.hist);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            // Every spinning thread has finished and the queue is drained.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let secs = sw.elapsed().as_secs();
        if cfg.progress && secs > last_progress {
            last_progress = secs;
            match cfg.duration {
                Some(d) => eprint!("\rhiccup: {secs}/{} s ", d.as_secs()),
                None => eprint!("\rhiccup: {secs} s "),
            }
        }
    }
    if cfg.progress {
        eprintln!();
    }
    write_err
}

/// Each spinning thread's result, in core order.
fn join_spinners(
    threads: Vec<std::thread::JoinHandle<CoreResult>>,
) -> Result<Vec<CoreResult>, Error> {
    let mut cores = Vec::with_capacity(threads.len());
    for t in threads {
        cores.push(
            t.join().map_err(|_| Error::Thread { message: "a spinning thread panicked".into() })?,
        );
    }
    Ok(cores)
}

/// Converts the shared origin (ns on the clock's scale) into this clock's ticks.
struct OriginFn {
    origin_ns: u64,
}

impl TickFn<u64> for OriginFn {
    fn call<C: Ticks>(self, c: C) -> u64 {
        // now_ns = to_ns(ticks) for both clocks, so the origin in ticks is ticks_from_ns(now_ns).
        c.ticks_from_ns(self.origin_ns)
    }
}

/// Runs a hiccup measurement for `cfg.duration` and returns the report.
///
/// # Errors
/// As [`HiccupRun::start`] and [`HiccupRun::finish`]; also [`Error::Argument`] without a
/// duration.
pub fn run(cfg: HiccupConfig, clock: Clock, isolation: &str) -> Result<HiccupReport, Error> {
    if cfg.duration.is_none_or(|d| d.is_zero()) {
        return Err(Error::arg("--duration-s", "must be more than 0"));
    }
    // Both clocks' costs are published; the other one is measured before the run starts.
    let other = match clock.kind() {
        ClockKind::Tsc => Some(Clock::monotonic()),
        ClockKind::Monotonic => Clock::tsc(Duration::from_millis(20)),
    };
    let other_clock_cost = other.map(|c| measure_cost(&c, 1_000_000));
    let mut report = HiccupRun::start(cfg, clock)?.finish(isolation)?;
    report.other_clock_cost = other_clock_cost;
    Ok(report)
}

impl HiccupReport {
    /// All cores merged.
    pub fn merged(&self) -> Histogram<u64> {
        let mut h = new_histogram();
        for c in &self.cores {
            let _ = h.add(&c.hist);
        }
        h
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> Value {
        let other_clock = self.other_clock_cost.map(|c| OtherClockJson {
            clock: c.kind.name(),
            ns_per_read: round3(c.ns_per_read),
            min_step_ns: round3(c.min_step_ns),
        });
        let report = HiccupJson {
            command: "hiccup",
            definition: JITTER_DEFINITION,
            clock: self.clock.kind().name(),
            clock_ns_per_read: round3(self.clock_cost.ns_per_read),
            clock_min_step_ns: round3(self.clock_cost.min_step_ns),
            other_clock,
            tsc_ghz: self.clock.tsc_ghz().map(round3),
            threshold_ns: self.threshold_ns,
            mlock: self.mlock.as_ref().map(|r| match r {
                Ok(()) => "locked".to_owned(),
                Err(e) => format!("failed: {e}"),
            }),
            isolation: &self.isolation,
            cores: self.cores.iter().map(CoreResult::to_json).collect(),
            files: self.files.iter().map(|p| p.display().to_string()).collect(),
        };
        serde_json::to_value(report).unwrap_or(Value::Null)
    }
}

/// How every report defines jitter, printed with the numbers.
pub const JITTER_DEFINITION: &str = "jitter = max - p50 and tail ratio = p99.99 / p50 of the \
latency distribution; for hiccup, samples are interruptions: gaps longer than the threshold \
between consecutive clock reads of a pinned busy loop";

impl fmt::Display for HiccupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run_s = self.cores.iter().map(|c| c.run_ns).max().unwrap_or(0) as f64 / 1e9;
        writeln!(
            f,
            "hiccup: {run_s:.2} s per core, threshold {} ns, clock {} ({:.1} ns/read{})",
            self.threshold_ns,
            self.clock.kind().name(),
            self.clock_cost.ns_per_read,
            self.clock.tsc_ghz().map_or(String::new(), |g| format!(", {g:.3} GHz")),
        )?;
        if let Some(o) = self.other_clock_cost {
            writeln!(f, "other clock: {} {:.1} ns/read", o.kind.name(), o.ns_per_read)?;
        }
        writeln!(f, "isolation: {}", self.isolation)?;
        if let Some(m) = &self.mlock {
            writeln!(
                f,
                "memory: {}",
                match m {
                    Ok(()) => "locked (mlockall)".to_owned(),
                    Err(e) => format!("not locked: {e}"),
                }
            )?;
        }
        writeln!(f, "{JITTER_DEFINITION}")?;
        writeln!(f)?;
        writeln!(
            f,
            "{:>4} {:>9} {:>9} {:>8} {}",
            "core",
            "interrupt",
            "per s",
            "lost%",
            percentile_heads()
        )?;
        for c in &self.cores {
            let s = Summary::of(&c.hist);
            writeln!(
                f,
                "{:>4} {:>9} {:>9.1} {:>7.4}% {}{}",
                c.core,
                c.interruptions,
                c.per_second(),
                c.lost_fraction() * 100.0,
                percentile_cells(&s),
                if c.stayed_on_core { "" } else { "  (left its core: pinning failed)" },
            )?;
        }
        for c in &self.cores {
            if c.merged_intervals > 0 {
                writeln!(
                    f,
                    "note: core {} merged {} intervals (log writer lagged)",
                    c.core, c.merged_intervals
                )?;
            }
        }
        for p in &self.files {
            writeln!(f, "wrote {}", p.display())?;
        }
        Ok(())
    }
}

/// `hiccup --json`.
#[derive(Serialize)]
struct HiccupJson<'a> {
    command: &'static str,
    definition: &'static str,
    clock: &'static str,
    clock_ns_per_read: f64,
    clock_min_step_ns: f64,
    other_clock: Option<OtherClockJson>,
    tsc_ghz: Option<f64>,
    threshold_ns: u64,
    mlock: Option<String>,
    isolation: &'a str,
    cores: Vec<CoreJson>,
    files: Vec<String>,
}

/// The cost of the clock not used.
#[derive(Serialize)]
struct OtherClockJson {
    clock: &'static str,
    ns_per_read: f64,
    min_step_ns: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_run_measures_every_core_and_writes_a_log() {
        let dir = std::env::temp_dir().join(format!("lab-hiccup-{}", std::process::id()));
        let cfg = HiccupConfig {
            cores: vec![0],
            duration: Some(Duration::from_millis(300)),
            threshold_ns: 1000,
            interval: Duration::from_millis(100),
            mlock: false,
            progress: false,
            out_dir: Some(dir.clone()),
            comments: vec!["unit test".into()],
        };
        let r = run(cfg, Clock::best(), "test").unwrap();
        assert_eq!(r.cores.len(), 1);
        let c = &r.cores[0];
        assert!(c.iterations > 1000, "{c:?}");
        assert!(c.run_ns >= 299_000_000, "{}", c.run_ns);
        assert_eq!(c.hist.len(), c.interruptions);
        assert!(c.lost_fraction() <= 1.0);
        let ivs = crate::histo::read_hlog(&dir.join("hiccup.hlog")).unwrap();
        assert!(!ivs.is_empty());
        assert!(ivs.iter().all(|i| i.tag.as_deref() == Some("core0")));
        let logged: u64 = ivs.iter().map(|i| i.hist.len()).sum();
        assert_eq!(logged, c.interruptions);
        assert!(r.to_string().contains("max-p50"));
        assert_eq!(r.to_json()["cores"][0]["core"], 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_cores_are_refused() {
        let e = check_cores(&[4096], "--cores").unwrap_err().to_string();
        assert!(e.starts_with("--cores: core 4096 is not available"), "{e}");
    }
}
