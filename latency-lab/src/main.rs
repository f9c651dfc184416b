//! `latency-lab`: jitter profiling for Lockstep. See `latency-lab --help`.

#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use latency_lab::{
    Clock, ClockKind, CompareConfig, DEFAULT_JAVA_OPTS, HiccupConfig, PlotConfig, Unit,
    collect_sysinfo, parse_cpu_list, plot, run_compare, run_hiccup,
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Jitter profiling: platform hiccups, isolation report, strategy latency native vs Wasm vs JVM,
/// and charts. Jitter is defined as max − p50 (and the tail ratio as p99.99/p50) of a latency
/// distribution.
#[derive(Parser, Debug)]
#[command(name = "latency-lab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Busy-loop jitter meter per core: records every gap above a threshold between two clock
    /// reads; writes an HdrHistogram interval log (.hlog) and one .hgrm per core.
    Hiccup(HiccupArgs),
    /// Isolation report: isolated CPUs, nohz_full, rcu_nocbs, SMT, governor, clocksource, THP,
    /// IRQ affinity, mlock and real-time limits, with a verdict and what to change.
    Sysinfo(SysinfoArgs),
    /// The same workload (a strategy over the same events) as native Rust, as Wasm in the
    /// engine and as the equivalent JVM program, pinned, with a concurrent hiccup thread on
    /// another core; checks the outputs are identical and prints the latency side by side.
    Compare(CompareArgs),
    /// Percentile-distribution and latency-over-time charts (SVG and PNG) from .hlog/.hgrm files.
    Plot(PlotArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ClockArg {
    /// The TSC when it is invariant, else the monotonic clock.
    Auto,
    /// rdtsc, calibrated against CLOCK_MONOTONIC.
    Tsc,
    /// CLOCK_MONOTONIC through the vDSO.
    Monotonic,
}

fn make_clock(c: ClockArg) -> Clock {
    match c {
        ClockArg::Auto => Clock::best(),
        ClockArg::Tsc => Clock::new(ClockKind::Tsc),
        ClockArg::Monotonic => Clock::monotonic(),
    }
}

#[derive(Args, Debug)]
#[command(
    mut_arg("out", |a| a.help("Directory for hiccup.hlog and hiccup-core<N>.hgrm")),
    mut_arg("json", |a| a.help("Print one JSON object instead of the table"))
)]
struct HiccupArgs {
    /// Seconds to spin on each core.
    #[arg(long, default_value_t = 10.0)]
    duration_s: f64,
    /// Cores to measure, as a CPU list (`0,1` or `0-3`); default: every core available.
    #[arg(long)]
    cores: Option<String>,
    /// Gaps longer than this (ns) count as interruptions.
    #[arg(long, default_value_t = 1000)]
    threshold_ns: u64,
    /// Length of each interval in the .hlog, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Clock to spin on.
    #[arg(long, value_enum, default_value_t = ClockArg::Auto)]
    clock: ClockArg,
    /// Do not lock memory with mlockall(MCL_CURRENT).
    #[arg(long)]
    no_mlock: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// `--out`, `--json` and `--progress`, shared by `hiccup` and `compare` (each words the first
/// two for what it writes).
#[derive(Args, Debug)]
struct OutputArgs {
    /// Directory for the output files.
    #[arg(long, default_value = "latency-lab-out")]
    out: PathBuf,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
    /// Show progress on stderr even when it is not a terminal.
    #[arg(long)]
    progress: bool,
}

#[derive(Args, Debug)]
#[command(
    mut_arg("out", |a| a.help("Directory for .hgrm files, the percentile chart and the JVM build")),
    mut_arg("json", |a| a.help(r#"Print one JSON object (one strategy) or {"results": [...]} (several)"#))
)]
struct CompareArgs {
    /// Strategies to compare (comma-separated catalog names; Java ports exist for
    /// black-scholes and avellaneda-stoikov).
    #[arg(long, default_value = "avellaneda-stoikov", value_delimiter = ',')]
    strategy: Vec<String>,
    /// Strategy parameters (`key=value;...`); default: the catalog's defaults.
    #[arg(long)]
    params: Option<String>,
    /// Events measured (after the warm-up).
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Events run first and not measured (JIT warm-up for the JVM; caches for all).
    #[arg(long, default_value_t = 50_000)]
    warmup: usize,
    /// Seed of the synthetic market.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Core the strategy runs on (default: the last available core).
    #[arg(long)]
    core: Option<usize>,
    /// Core of the concurrent hiccup thread (default: the first core other than --core).
    #[arg(long)]
    hiccup_core: Option<usize>,
    /// Do not run a concurrent hiccup thread.
    #[arg(long)]
    no_hiccup: bool,
    /// Hiccup threshold in ns.
    #[arg(long, default_value_t = 1000)]
    threshold_ns: u64,
    /// Skip the JVM column.
    #[arg(long)]
    no_jvm: bool,
    /// Measure only this engine tier (`interpreter`: the `wasm` column; `compiled`: the
    /// `compiled` column); default: both.
    #[arg(long)]
    tier: Option<lockstep_engine::Tier>,
    /// JVM options, whitespace-separated (default: a fixed, pre-touched 512 MiB heap).
    #[arg(long)]
    java_opts: Option<String>,
    /// CPUs for the JVM as a `taskset -c` list (default: --core alone, like the Wasm
    /// strategy; JIT and GC threads then share that core).
    #[arg(long)]
    jvm_cpus: Option<String>,
    /// Clock for native and Wasm timing.
    #[arg(long, value_enum, default_value_t = ClockArg::Auto)]
    clock: ClockArg,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args, Debug)]
struct SysinfoArgs {
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum UnitArg {
    /// Nanoseconds (latency-lab's own files).
    Ns,
    /// Microseconds.
    Us,
    /// Milliseconds (jHiccup's files).
    Ms,
}

#[derive(Args, Debug)]
struct PlotArgs {
    /// .hlog and .hgrm files; each becomes a line (a tagged .hlog one line per tag).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Directory for percentiles.svg/.png and timeline.svg/.png.
    #[arg(long, default_value = "latency-lab-out")]
    out: PathBuf,
    /// Unit of the values stored in the inputs.
    #[arg(long, value_enum, default_value_t = UnitArg::Ns)]
    unit: UnitArg,
    /// Chart title.
    #[arg(long, default_value = "latency-lab")]
    title: String,
    /// Picture width in pixels.
    #[arg(long, default_value_t = 1200)]
    width: u32,
    /// Picture height in pixels.
    #[arg(long, default_value_t = 700)]
    height: u32,
    /// Latency axis on a log scale.
    #[arg(long)]
    log_y: bool,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
}

/// Writes to stdout; a closed pipe (`--json | head`) ends the output quietly.
fn out(text: &str) -> Result<()> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    out(&format!("{}\n", serde_json::to_string_pretty(v)?))?;
    Ok(())
}

/// Prints a command's result: its JSON object with `--json`, else its text report.
fn show(
    as_json: bool,
    json: impl FnOnce() -> serde_json::Value,
    text: &impl std::fmt::Display,
) -> Result<()> {
    if as_json { print_json(&json()) } else { out(&text.to_string()) }
}

fn hiccup(a: HiccupArgs) -> Result<()> {
    if !(a.duration_s > 0.0 && a.duration_s.is_finite()) {
        bail!("--duration-s: must be a positive number of seconds, got {}", a.duration_s);
    }
    let cores = match &a.cores {
        Some(s) => parse_cpu_list(s).with_context(|| {
            format!(
                "--cores: `{s}` is not a CPU list such as `0,1` or `0-3` (CPUs below {})",
                latency_lab::MAX_CPUS
            )
        })?,
        None => core_ids(),
    };
    let info = collect_sysinfo();
    let clock = make_clock(a.clock);
    let cfg = HiccupConfig {
        cores: cores.clone(),
        duration: Some(Duration::from_secs_f64(a.duration_s)),
        threshold_ns: a.threshold_ns,
        interval: Duration::from_millis(a.interval_ms),
        mlock: !a.no_mlock,
        progress: a.output.progress || std::io::stderr().is_terminal(),
        out_dir: Some(a.output.out.clone()),
        comments: vec![
            format!(
                "latency-lab hiccup: cores {}, {} s, threshold {} ns",
                latency_lab::format_cpu_list(&cores),
                a.duration_s,
                a.threshold_ns
            ),
            format!("isolation: {}", info.summary),
        ],
    };
    let report = run_hiccup(cfg, clock, &info.summary)?;
    show(a.output.json, || report.to_json(), &report)
}

fn compare(a: CompareArgs) -> Result<()> {
    let cores = core_ids();
    let core = a.core.or_else(|| cores.last().copied()).context("no CPU is available")?;
    let hiccup_core = if a.no_hiccup {
        None
    } else {
        match a.hiccup_core {
            Some(c) => Some(c),
            None => {
                let other = cores.iter().copied().find(|&c| c != core);
                if other.is_none() {
                    eprintln!("note: only one core available: no concurrent hiccup thread");
                }
                other
            }
        }
    };
    let info = collect_sysinfo();
    let clock = make_clock(a.clock);
    let java_opts: Vec<String> = match &a.java_opts {
        Some(s) => s.split_whitespace().map(str::to_owned).collect(),
        None => DEFAULT_JAVA_OPTS.iter().map(|s| (*s).to_owned()).collect(),
    };
    let progress = a.output.progress || std::io::stderr().is_terminal();
    let mut reports = Vec::new();
    for strategy in &a.strategy {
        let cfg = CompareConfig {
            strategy: strategy.clone(),
            params: a.params.clone(),
            events: a.events,
            warmup: a.warmup,
            seed: a.seed,
            core,
            hiccup_core,
            threshold_ns: a.threshold_ns,
            jvm: !a.no_jvm,
            java_opts: java_opts.clone(),
            jvm_cpus: a.jvm_cpus.clone(),
            out_dir: Some(a.output.out.clone()),
            progress,
            tiers: a.tier.map_or(lockstep_engine::Tier::ALL.to_vec(), |t| vec![t]),
        };
        let r = run_compare(&cfg, clock, &info.summary)?;
        if !a.output.json {
            out(&format!("{r}\n"))?;
        }
        reports.push(r);
    }
    if a.output.json {
        if let [one] = reports.as_slice() {
            print_json(&one.to_json())?;
        } else {
            /// `compare --json` over several strategies.
            #[derive(serde::Serialize)]
            struct Results {
                command: &'static str,
                results: Vec<serde_json::Value>,
            }
            let results = reports.iter().map(|r| r.to_json()).collect();
            print_json(&Results { command: "compare", results })?;
        }
    }
    if let Some(bad) = reports.iter().find(|r| !r.outputs_identical()) {
        // A run that failed (a JVM that did not start, a crashed thread) is not a difference
        // in outputs: say which.
        if let Some((name, why)) = bad.runs.iter().find_map(|r| match &r.status {
            latency_lab::RunStatus::Failed(why) => Some((r.name, why)),
            _ => None,
        }) {
            bail!(
                "the {name} run of `{}` failed, so its outputs could not be compared: {}",
                bad.strategy,
                lockstep_sdk::untrusted(why).max_chars(2000)
            );
        }
        bail!("outputs of `{}` differ between implementations (see above)", bad.strategy);
    }
    Ok(())
}

fn core_ids() -> Vec<usize> {
    core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect()
}

fn sysinfo(a: SysinfoArgs) -> Result<()> {
    let info = collect_sysinfo();
    let json = || {
        let mut v = info.to_json();
        v["command"] = "sysinfo".into();
        v
    };
    show(a.json, json, &info)
}

fn plot_cmd(a: PlotArgs) -> Result<()> {
    if a.width > MAX_CANVAS || a.height > MAX_CANVAS {
        bail!(
            "--width and --height must be at most {MAX_CANVAS} pixels (got {}×{})",
            a.width,
            a.height
        );
    }
    let cfg = PlotConfig {
        inputs: a.inputs,
        out_dir: a.out,
        unit: match a.unit {
            UnitArg::Ns => Unit::Ns,
            UnitArg::Us => Unit::Us,
            UnitArg::Ms => Unit::Ms,
        },
        title: a.title,
        size: (a.width.max(200), a.height.max(150)),
        log_y: a.log_y,
    };
    let report = plot(&cfg)?;
    show(a.json, || report.to_json(), &report)
}

/// Largest chart side in pixels (a bitmap is width × height × 3 bytes).
const MAX_CANVAS: u32 = 8192;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Hiccup(a) => hiccup(a),
        Cmd::Sysinfo(a) => sysinfo(a),
        Cmd::Compare(a) => compare(a),
        Cmd::Plot(a) => plot_cmd(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        // The message and its causes, never a backtrace (even with RUST_BACKTRACE set): these
        // are user errors, not bugs.
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
