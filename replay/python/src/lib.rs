//! `lockstep._lockstep`: the Python package's native core, thin calls into the replay
//! crates (`lockstep-host` and the crates below it), with the CLI's run options ([`RunOptions`]).
//! Requests and results cross as JSON text, tables as Parquet bytes; the pure-Python layer
//! (`python/lockstep/__init__.py`) turns them into dicts and DataFrames. Every call releases
//! the GIL while Rust runs, and every failure is raised as `lockstep.LockstepError` carrying
//! the same message the CLI prints. (This crate has no `unsafe` of its own; PyO3's macros
//! generate the interpreter glue.)

use lockstep_engine::Tier;
use lockstep_host::HostSession;
use lockstep_host::{Grid, RunOptions, Shard, StrategySpec, SweepPlan, TapeRef, inspect_tape};
use lockstep_import::{
    ImportOptions, ImportSummary, LobsterInput, LocalTsUnit, TimeUnit, import_binance, import_csv,
    import_databento, import_lobster, import_tardis,
};
use lockstep_report::ReportFile;
use lockstep_report::{ReportConfig, build_report};
use lockstep_sdk::Price;
use lockstep_sim::EventSource;
use lockstep_sim::{
    BlotterConfig, Compression, ExchangeConfig, Session, SessionConfig, Synth, SynthConfig,
};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;

create_exception!(
    _lockstep,
    LockstepError,
    PyException,
    "An error from Lockstep; the message says what went wrong, where, and what to do."
);

/// An error and its causes as one message.
fn message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut m = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !m.contains(&s) {
            m.push_str(": ");
            m.push_str(&s);
        }
        cause = c.source();
    }
    m
}

fn fail(e: impl std::error::Error + 'static) -> PyErr {
    LockstepError::new_err(message(&e))
}

fn fail_text(m: impl Into<String>) -> PyErr {
    LockstepError::new_err(m.into())
}

fn to_json(v: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(v).map_err(fail)
}

/// The built-in strategies, as a JSON list of objects.
#[pyfunction]
fn strategies() -> PyResult<String> {
    to_json(&lockstep_host::strategy_listing())
}

/// Options of `import_tape` (unknown keys are refused).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ImportRequest {
    #[serde(default)]
    compress: bool,
    #[serde(default)]
    chunk_events: u32,
    /// Collector captures: `ns`, `us` or `ms` (default: detected).
    local_ts_unit: Option<String>,
    /// LOBSTER: the orderbook files (none, or one per message file in the same order), the
    /// symbol and the tick (decimal text; default: inferred from the prices).
    #[serde(default)]
    orderbook: Vec<PathBuf>,
    symbol: Option<String>,
    tick: Option<String>,
    /// Generic CSV: the unit of its times (`s`, `ms`, `us`, `ns`).
    ts_unit: Option<String>,
}

fn summary_json(kind: &str, out: &std::path::Path, s: &ImportSummary) -> serde_json::Value {
    json!({
        "format": kind,
        "tape": out.display().to_string(),
        "rows": s.rows,
        "events": s.events,
        "bytes": s.tape_bytes,
        "skipped": s.skipped,
        "notes": s.notes.iter().map(|(n, c)| json!({"note": n, "count": c})).collect::<Vec<_>>(),
        "sequence_gaps": s.sequence_gaps,
        "local_ts_unit": s.local_ts_unit.as_ref().map(|u| u.unit.clone()),
        "clock_offset_ns": s.clock_offset_ns,
        "start_ns": s.start_ns,
        "end_ns": s.end_ns,
        "ticks": s.ticks.iter().map(|t| json!({
            "instrument": t.instrument,
            "tick": t.tick.to_string(),
            "source": t.source.name(),
            "prices": t.prices,
        })).collect::<Vec<_>>(),
        "instruments": s.header.instruments.iter().map(|i| json!({
            "id": i.id,
            "symbol": i.symbol,
            "tick_size": i.tick_size.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// Imports `files` of `kind` (`lobster`, `tardis`, `binance`, `databento`, `csv`) into the
/// tape `out`; `options` is a JSON object. Returns the import report as JSON.
#[pyfunction]
fn import_tape(
    py: Python<'_>,
    kind: &str,
    files: Vec<PathBuf>,
    out: PathBuf,
    options: &str,
) -> PyResult<String> {
    let req: ImportRequest =
        serde_json::from_str(options).map_err(|e| fail_text(format!("import options: {e}")))?;
    let local_ts_unit = match req.local_ts_unit.as_deref() {
        None => None,
        Some("ns") => Some(LocalTsUnit::Nanos),
        Some("us") => Some(LocalTsUnit::Micros),
        Some("ms") => Some(LocalTsUnit::Millis),
        Some(u) => {
            return Err(fail_text(format!("local_ts_unit {u:?}: give \"ns\", \"us\" or \"ms\"")));
        }
    };
    let opts = ImportOptions {
        compression: if req.compress { Compression::Deflate } else { Compression::None },
        chunk_events: req.chunk_events,
        local_ts_unit,
        // The instruments' specifications are the data's (the CLI's --lot and the like
        // override them there).
        ..ImportOptions::default()
    };
    let ins: Vec<&std::path::Path> =
        files.iter().chain(&req.orderbook).map(PathBuf::as_path).collect();
    lockstep_io::refuse_overwriting_inputs(&out, &ins).map_err(fail)?;
    let summary = py.detach(|| match kind {
        "lobster" => {
            if !req.orderbook.is_empty() && req.orderbook.len() != files.len() {
                return Err(fail_text(format!(
                    "lobster: {} orderbook files for {} message files; give none or one per message file, in the same order",
                    req.orderbook.len(),
                    files.len()
                )));
            }
            let tick = match &req.tick {
                None => None,
                Some(t) => Some(Price::parse(t).ok_or_else(|| {
                    fail_text(format!("tick {t:?} is not a positive decimal price"))
                })?),
            };
            let inputs: Vec<LobsterInput> = files
                .iter()
                .enumerate()
                .map(|(k, m)| LobsterInput {
                    message: m.clone(),
                    orderbook: req.orderbook.get(k).cloned(),
                    symbol: req.symbol.clone(),
                    tick,
                })
                .collect();
            import_lobster(&inputs, &out, &opts).map_err(fail)
        }
        "tardis" => import_tardis(&files, &out, &opts).map_err(fail),
        "binance" => import_binance(&files, &out, &opts).map_err(fail),
        "databento" => import_databento(&files, &out, &opts).map_err(fail),
        "csv" => {
            let unit = match req.ts_unit.as_deref().unwrap_or("ns") {
                "s" => TimeUnit::Seconds,
                "ms" => TimeUnit::Millis,
                "us" => TimeUnit::Micros,
                "ns" => TimeUnit::Nanos,
                u => {
                    return Err(fail_text(format!(
                        "ts_unit {u:?}: give \"s\", \"ms\", \"us\" or \"ns\""
                    )));
                }
            };
            import_csv(&files, &out, unit, &opts).map_err(fail)
        }
        other => Err(fail_text(format!(
            "unknown import kind {other:?}: give lobster, tardis, binance, databento or csv"
        ))),
    })?;
    to_json(&summary_json(kind, &out, &summary))
}

/// What the tape at `tape` holds, as JSON (the same as `replay inspect --json`).
#[pyfunction]
fn inspect(py: Python<'_>, tape: PathBuf) -> PyResult<String> {
    let r = py
        .detach(|| inspect_tape(&tape, None, None))
        .map_err(|e| fail_text(format!("{}: {}", tape.display(), message(&e))))?;
    to_json(&r)
}

/// A backtest request (unknown keys are refused, so a misspelt option is an error).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BacktestRequest {
    tape: Option<PathBuf>,
    #[serde(default = "default_events")]
    events: u64,
    #[serde(default = "default_seed")]
    seed: u64,
    strategy: String,
    params: Option<String>,
    #[serde(default = "default_tier")]
    tier: String,
    #[serde(default = "default_fuel")]
    fuel_per_event: u64,
    #[serde(default = "default_entry_latency")]
    entry_latency_ns: i64,
    #[serde(default = "default_feed_latency")]
    feed_latency_ns: i64,
    #[serde(default)]
    maker_fee_bps: Option<String>,
    #[serde(default)]
    taker_fee_bps: Option<String>,
    #[serde(default = "default_bar")]
    bar_ns: i64,
    window: Option<(i64, i64)>,
    #[serde(default = "default_year")]
    year_ns: i64,
    #[serde(default = "default_queue")]
    queue_model: String,
    #[serde(default = "default_latency_model")]
    latency_model: String,
}

fn default_latency_model() -> String {
    RunOptions::default().latency_model
}

fn default_queue() -> String {
    RunOptions::default().queue_model
}

fn default_events() -> u64 {
    lockstep_sim::DEFAULT_SYNTH_EVENTS
}
fn default_seed() -> u64 {
    lockstep_sim::DEFAULT_SYNTH_SEED
}
fn default_tier() -> String {
    RunOptions::default().tier.name().to_owned()
}
fn default_fuel() -> u64 {
    RunOptions::default().fuel_per_event
}
fn default_entry_latency() -> i64 {
    RunOptions::default().entry_latency_ns
}
fn default_feed_latency() -> i64 {
    RunOptions::default().feed_latency_ns
}
fn default_bar() -> i64 {
    lockstep_sim::MINUTE_NS
}
fn default_year() -> i64 {
    lockstep_report::DEFAULT_YEAR_NS
}

impl BacktestRequest {
    fn tier(&self) -> PyResult<Tier> {
        self.tier.parse::<Tier>().map_err(fail)
    }

    /// The run options this request gives (the CLI's names and defaults).
    fn options(&self) -> PyResult<RunOptions> {
        let defaults = RunOptions::default();
        Ok(RunOptions {
            tier: self.tier()?,
            fuel_per_event: self.fuel_per_event,
            entry_latency_ns: self.entry_latency_ns,
            feed_latency_ns: self.feed_latency_ns,
            maker_fee_bps: self.maker_fee_bps.clone().unwrap_or(defaults.maker_fee_bps.clone()),
            taker_fee_bps: self.taker_fee_bps.clone().unwrap_or(defaults.taker_fee_bps.clone()),
            queue_model: self.queue_model.clone(),
            latency_model: self.latency_model.clone(),
            ..defaults
        })
    }

    fn exchange(&self) -> PyResult<ExchangeConfig> {
        self.options()?.exchange().map_err(fail)
    }

    fn report(&self) -> PyResult<ReportConfig> {
        if self.bar_ns < 1_000_000 {
            return Err(fail_text("bar_ns must be at least 1 ms (1000000)"));
        }
        if self.window.is_some_and(|(a, b)| a >= b) {
            return Err(fail_text("window must be (start_ns, end_ns) with start < end"));
        }
        if self.year_ns <= 0 {
            return Err(fail_text("year_ns must be positive"));
        }
        Ok(ReportConfig {
            blotter: BlotterConfig { bar_ns: self.bar_ns, window: self.window },
            year_ns: self.year_ns,
            ..ReportConfig::default()
        })
    }

    fn source(&self) -> PyResult<Box<dyn EventSource + Send>> {
        Ok(match &self.tape {
            Some(p) => Box::new(
                lockstep_io::open_tape(p)
                    .map_err(|e| fail_text(format!("{}: {}", p.display(), message(&e))))?,
            ),
            None => Box::new(Synth::new(SynthConfig { events: self.events, seed: self.seed })),
        })
    }
}

/// Runs one backtest described by the JSON `request`. Returns the summary (JSON, the report's
/// `summary.json`), the wall-clock run facts (JSON) and the orders, fills and equity tables as
/// Parquet bytes.
#[pyfunction]
#[allow(clippy::type_complexity, reason = "the Python tuple the pure-Python layer unpacks")]
fn backtest(
    py: Python<'_>,
    request: &str,
) -> PyResult<(String, String, Py<PyBytes>, Py<PyBytes>, Py<PyBytes>)> {
    let req: BacktestRequest =
        serde_json::from_str(request).map_err(|e| fail_text(format!("backtest options: {e}")))?;
    let spec = StrategySpec::resolve(&req.strategy, req.params.as_deref(), false).map_err(fail)?;
    let rc = req.report()?;
    let cfg = SessionConfig {
        tier: req.tier()?,
        fuel_per_event: req.options()?.fuel().map_err(fail)?,
        exchange: req.exchange()?,
        models: req.options()?.models().map_err(fail)?,
        measure_latency: false,
        blotter: Some(rc.blotter),
        ..SessionConfig::default()
    };
    let latency = (cfg.exchange.latency.entry.0, cfg.exchange.latency.feed.0);
    let mut src = req.source()?;
    let (report, run) = py.detach(|| -> PyResult<_> {
        let header = src.header().clone();
        let session = Session::load(&header, std::slice::from_ref(&spec), cfg).map_err(fail)?;
        let out = session.run(&mut *src, &mut |_| {}).map_err(fail)?;
        let report = build_report(&out, &header, &rc, latency, false, &[]).map_err(fail)?;
        let r = &out.report;
        let run = json!({
            "elapsed_ns": r.elapsed_ns,
            "events": r.events,
            "events_per_sec": r.events_per_sec,
            "digest": lockstep_sim::hex(&r.digest),
            "fuel_digest": lockstep_sim::hex(&r.fuel_digest),
        });
        Ok((report, run))
    })?;
    let table = |name: &str| -> PyResult<Py<PyBytes>> {
        let f: &ReportFile = report
            .files
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| fail_text(format!("the report lacks {name}")))?;
        Ok(PyBytes::new(py, &f.bytes).unbind())
    };
    Ok((
        to_json(&report.summary)?,
        run.to_string(),
        table("orders.parquet")?,
        table("fills.parquet")?,
        table("equity.parquet")?,
    ))
}

/// A sweep plan (unknown keys are refused).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanRequest {
    strategy: String,
    params: Option<String>,
    grid: Option<String>,
    #[serde(default)]
    points: Vec<String>,
    #[serde(default)]
    tapes: Vec<PathBuf>,
    #[serde(default = "default_events")]
    events: u64,
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default = "default_tier")]
    tier: String,
    #[serde(default = "default_bar")]
    bar_ns: i64,
}

fn plan(text: &str) -> PyResult<SweepPlan> {
    let r: PlanRequest =
        serde_json::from_str(text).map_err(|e| fail_text(format!("sweep options: {e}")))?;
    let grid = match (&r.grid, r.points.is_empty()) {
        (Some(g), true) => Grid::parse(g).map_err(fail)?,
        (None, false) => Grid::from_points(&r.points).map_err(fail)?,
        _ => {
            return Err(fail_text(
                "give either a grid ('key=v1,v2;key=...' or a dict) or a list of points",
            ));
        }
    };
    if r.bar_ns < 1_000_000 {
        return Err(fail_text("bar_ns must be at least 1 ms (1000000)"));
    }
    let tapes = if r.tapes.is_empty() {
        vec![TapeRef::Synthetic(SynthConfig { events: r.events, seed: r.seed })]
    } else {
        r.tapes.into_iter().map(TapeRef::File).collect()
    };
    Ok(SweepPlan {
        strategy: r.strategy,
        base_params: r.params,
        grid,
        tapes,
        session: SessionConfig {
            tier: r.tier.parse::<Tier>().map_err(fail)?,
            ..SessionConfig::default()
        },
        report: ReportConfig {
            blotter: BlotterConfig { bar_ns: r.bar_ns, window: None },
            ..ReportConfig::default()
        },
    })
}

/// Points in the sweep `plan` (JSON).
#[pyfunction]
fn sweep_total(plan_json: &str) -> PyResult<u64> {
    Ok(plan(plan_json)?.total())
}

/// Runs point `index` of the sweep `plan` (JSON); the point's result as JSON. The same for the
/// same plan and index on any machine: a Ray task, a Slurm shard or `replay sweep`.
#[pyfunction]
fn sweep_point(py: Python<'_>, plan_json: &str, index: u64) -> PyResult<String> {
    let p = plan(plan_json)?;
    if index >= p.total() {
        return Err(fail_text(format!("point {index}: the sweep has {} points", p.total())));
    }
    let r = py.detach(|| p.run_point(index)).map_err(fail)?;
    to_json(&r)
}

/// Runs the points of shard `shard`/`count` of the sweep `plan` in order; the `replay sweep`
/// output as JSON.
#[pyfunction]
fn sweep_shard(py: Python<'_>, plan_json: &str, shard: u64, count: u64) -> PyResult<String> {
    let p = plan(plan_json)?;
    let s = Shard::parse(&format!("{shard}/{count}")).map_err(fail)?;
    let out = py.detach(|| p.run(s, &mut |_| {})).map_err(fail)?;
    to_json(&out)
}

/// The module.
#[pymodule]
fn _lockstep(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("LockstepError", m.py().get_type::<LockstepError>())?;
    m.add_function(wrap_pyfunction!(strategies, m)?)?;
    m.add_function(wrap_pyfunction!(import_tape, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(backtest, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_total, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_point, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_shard, m)?)?;
    Ok(())
}
