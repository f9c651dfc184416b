//! `replay run`, `replay backtest`, `replay book-check`, `replay strategies`.

use super::json::{BookCheckJson, ReportJson, RunJson, StrategiesJson, TapeJson};
use super::output::{
    NAME_CHARS, SOURCE_CHARS, Text, ns, open_source, pin, print_json, progress, rate, say,
    source_name,
};
use super::resume;
use super::{BookCheckArgs, RunArgs};
use anyhow::{Context, Result, bail};
use lockstep_host::HostSession;
use lockstep_host::{FuelInputs, StrategySource, StrategySpec, fuel_section, trace_path};
use lockstep_import::book_check as check;
use lockstep_io::{AtomicFile, refuse_overwriting_inputs};
use lockstep_report::{
    FuelSection, RejectSummary, Report, ReportConfig, ReportFile, StrategySummary, build_report,
};
use lockstep_sdk::{InstrumentId, untrusted};
use lockstep_sim::{
    ExchangeSummary, LatencyChoice, Pacing, RunOutput, Session, SessionCheckpoint, SessionConfig,
    TapeHeader, WorstEvent, hex,
};
use serde::Serialize;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Run,
    Backtest,
}

fn write_files(out: &RunOutput, dir: &Path, mode: &str) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {}: cannot create directory", dir.display()))?;
    let hlog = dir.join("latency.hlog");
    let hgrm = dir.join("latency.hgrm");
    let mut f = BufWriter::new(
        AtomicFile::create(&hlog).with_context(|| format!("creating {}", hlog.display()))?,
    );
    out.jitter
        .write_hlog(&mut f, &format!("lockstep replay, per-event latency, mode {mode}"), mode)
        .with_context(|| format!("writing {}", hlog.display()))?;
    let mut g = BufWriter::new(
        AtomicFile::create(&hgrm).with_context(|| format!("creating {}", hgrm.display()))?,
    );
    out.jitter.write_hgrm(&mut g).with_context(|| format!("writing {}", hgrm.display()))?;
    // Both complete: now move them into place.
    for (w, p) in [(f, &hlog), (g, &hgrm)] {
        w.into_inner()
            .map_err(std::io::IntoInnerError::into_error)
            .and_then(AtomicFile::commit)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok((hlog, hgrm))
}

/// The run's input files (the tape, `.wasm` modules, a recorded latency file).
pub(crate) fn report_inputs(a: &RunArgs, specs: &[StrategySpec]) -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = a.replay.tape.iter().chain(&a.resume).cloned().collect();
    if let Ok(LatencyChoice::File(path)) = LatencyChoice::parse(&a.replay.latency_model) {
        inputs.push(PathBuf::from(path));
    }
    for s in specs {
        if let StrategySource::WasmFile { path, .. } = &s.source {
            inputs.push(path.clone());
        }
    }
    inputs
}

/// Refuses a run whose output files (latency files, traces) would overwrite its inputs (the
/// tape, `.wasm` modules, a recorded latency file), before anything is written.
fn refuse_outputs_over_inputs(a: &RunArgs, specs: &[StrategySpec]) -> Result<()> {
    let inputs = report_inputs(a, specs);
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let mut outputs = Vec::new();
    if !a.no_latency {
        outputs.extend([a.out.join("latency.hlog"), a.out.join("latency.hgrm")]);
    }
    if let Some(dir) = &a.trace {
        outputs.extend(specs.iter().enumerate().map(|(i, s)| trace_path(dir, i, &s.name)));
    }
    for o in &outputs {
        refuse_overwriting_inputs(o, &inputs)?;
    }
    Ok(())
}

pub(crate) fn run(a: &RunArgs, json: bool, mode: Mode) -> Result<ExitCode> {
    if let Some(c) = a.core {
        pin(c)?;
    }
    let (resumed, checkpoint) = resume::prepare(a, mode)?;
    let a = &resumed;
    let specs = run_specs(a, mode)?;
    if let (Some(at), Some(path)) = (a.checkpoint_at, &a.checkpoint) {
        let (cfg, _) = run_config(a, mode, &specs)?;
        return resume::checkpoint_run(a, mode, &specs, cfg, (at, path), json);
    }
    let (cfg, report_cfg) = run_config(a, mode, &specs)?;
    let latencies = (cfg.exchange.latency.entry.0, cfg.exchange.latency.feed.0);
    refuse_outputs_over_inputs(a, &specs)?;
    let pacing = cfg.pacing;
    if a.reporting.fuel_report && checkpoint.is_some() {
        bail!("--fuel-report profiles the whole source from its start; run it without --resume");
    }
    let (header, out) = replay(a, &specs, cfg.clone(), checkpoint)?;
    let report = match &report_cfg {
        Some(rc) => {
            let fuel = fuel_sections(a, &specs, &cfg, &header, &out)?;
            Some(
                build_report(&out, &header, rc, latencies, true, &fuel)
                    .context("building the backtest report (the replay itself finished)")?,
            )
        }
        None => None,
    };
    let report_dir = report_dir(a, &specs, &out, report.as_ref())?;
    let mode_name = mode_name(a, pacing);
    let files = if a.no_latency { None } else { Some(write_files(&out, &a.out, &mode_name)?) };
    let done = Finished { a, mode, header, out, report, report_dir, mode_name, files };
    let (written, rejects) = done.write_report()?;
    if json {
        done.print_json(written, rejects)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut o = Text::default();
    done.say_tape(&mut o);
    for k in 0..done.out.report.strategies.len() {
        done.say_strategy(&mut o, k);
    }
    done.say_latency(&mut o);
    o.emit()?;
    Ok(ExitCode::SUCCESS)
}

/// The report's fuel sections (`--fuel-report`): each WebAssembly strategy's certificate and
/// profile, the source replayed once more for each; none without the flag.
fn fuel_sections(
    a: &RunArgs,
    specs: &[StrategySpec],
    cfg: &SessionConfig,
    header: &TapeHeader,
    out: &RunOutput,
) -> Result<Vec<FuelSection>> {
    if !a.reporting.fuel_report {
        return Ok(Vec::new());
    }
    let machine = latency_lab::collect_sysinfo().to_json();
    let profile_cfg = SessionConfig {
        pacing: Pacing::AsFastAsPossible,
        measure_latency: false,
        blotter: None,
        ..cfg.clone()
    };
    let mut sections = Vec::new();
    for (k, spec) in specs.iter().enumerate() {
        if matches!(spec.source, StrategySource::Native(_)) {
            continue;
        }
        let mut src = open_source(&a.replay)?;
        let x = FuelInputs {
            index: k,
            several: specs.len() > 1,
            spec,
            cfg: &profile_cfg,
            report: &out.report.strategies[k],
            source: source_name(&a.replay),
            machine: machine.clone(),
        };
        let section = fuel_section(x, header, &mut *src)
            .with_context(|| format!("--fuel-report for {}", spec.name))?;
        sections.push(section);
    }
    Ok(sections)
}

/// The strategies of a run: none for `--book-only`, else those given or the command's
/// default (`noop` for `run`, the market maker for `backtest`).
pub(crate) fn run_specs(a: &RunArgs, mode: Mode) -> Result<Vec<StrategySpec>> {
    if a.book_only {
        return Ok(Vec::new());
    }
    a.replay.specs(match mode {
        Mode::Run => &["noop"],
        Mode::Backtest => &["avellaneda-stoikov"],
    })
}

/// The session settings and the report settings (`None`: no report); a report needs the
/// session to keep blotters, so the two are decided together.
pub(crate) fn run_config(
    a: &RunArgs,
    mode: Mode,
    specs: &[StrategySpec],
) -> Result<(SessionConfig, Option<ReportConfig>)> {
    let mut cfg = a.session_config()?;
    let report_cfg = if specs.is_empty() {
        None
    } else {
        a.reporting.report_config(mode == Mode::Backtest, a.replay.tape.is_none())?
    };
    cfg.blotter = report_cfg.map(|r| r.blotter);
    Ok((cfg, report_cfg))
}

/// Loads the strategies and replays the source through them (creating the trace folder
/// first), with a progress bar; returns the tape's header and the run's output.
fn replay(
    a: &RunArgs,
    specs: &[StrategySpec],
    cfg: SessionConfig,
    checkpoint: Option<SessionCheckpoint>,
) -> Result<(TapeHeader, RunOutput)> {
    if let Some(dir) = &a.trace {
        std::fs::create_dir_all(dir).with_context(|| format!("--trace {}", dir.display()))?;
    }
    let mut src = open_source(&a.replay)?;
    let header = src.header().clone();
    let session = match checkpoint {
        Some(ck) => Session::resume(&header, specs, cfg, ck)
            .with_context(|| format!("--resume {}", resume::path(a)))?,
        None => Session::load_traced(&header, specs, cfg, a.trace.as_deref())?,
    };
    let pb = progress(header.event_count, "replaying");
    let out = session
        .run(&mut *src, &mut |n| pb.set_position(n))
        .with_context(|| format!("replaying {}", source_name(&a.replay)))?;
    pb.finish_and_clear();
    Ok((header, out))
}

/// The folder a built report goes to (`--report`, else `report-<digest>` under `--out`),
/// after refusing one whose files would overwrite the run's inputs.
fn report_dir(
    a: &RunArgs,
    specs: &[StrategySpec],
    out: &RunOutput,
    report: Option<&Report>,
) -> Result<Option<PathBuf>> {
    let Some(r) = report else { return Ok(None) };
    let dir = a
        .reporting
        .report
        .clone()
        .unwrap_or_else(|| a.out.join(format!("report-{}", &hex(&out.report.digest)[..12])));
    let inputs = report_inputs(a, specs);
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    for name in r.names().chain(["run.json"]) {
        refuse_overwriting_inputs(&dir.join(name), &inputs)?;
    }
    Ok(Some(dir))
}

/// The mode named in the latency files and the output: `afap`, `paced-x<speed>` or
/// `afap-no-latency`.
fn mode_name(a: &RunArgs, pacing: Pacing) -> String {
    if a.no_latency {
        return "afap-no-latency".to_owned();
    }
    match pacing {
        Pacing::AsFastAsPossible => "afap".to_owned(),
        Pacing::Paced { speed } => format!("paced-x{speed}"),
    }
}

/// A finished run and what it wrote: everything its JSON and text outputs are made from.
struct Finished<'a> {
    a: &'a RunArgs,
    mode: Mode,
    header: TapeHeader,
    out: RunOutput,
    report: Option<Report>,
    report_dir: Option<PathBuf>,
    mode_name: String,
    /// The `.hlog` and `.hgrm` files (`None`: no latency measured).
    files: Option<(PathBuf, PathBuf)>,
}

/// Rejects by reason, per strategy, of a run with a report.
type Rejects<'b> = Option<Vec<&'b [RejectSummary]>>;

impl Finished<'_> {
    /// The run's JSON document with `report` and what the command adds.
    fn document<'b, X: Serialize>(&'b self, report: ReportJson<'b>, extra: X) -> RunJson<'b, X> {
        let tape_path = self.a.replay.tape.as_ref().map(|p| p.display().to_string());
        RunJson {
            command: if self.mode == Mode::Run { "run" } else { "backtest" },
            mode: Some(&self.mode_name),
            tape: TapeJson::new(&self.header).at(tape_path),
            report,
            extra,
        }
    }

    /// Writes the report folder (with `run.json`, the one file holding wall-clock facts) and
    /// returns what the JSON output says of it.
    fn write_report(&self) -> Result<(Option<ReportDirJson>, Rejects<'_>)> {
        let (Some(rep), Some(dir)) = (&self.report, &self.report_dir) else {
            return Ok((None, None));
        };
        // The wall-clock facts of the run (throughput, latency) go in run.json, the one report
        // file that differs from run to run.
        let mut run_json = serde_json::to_vec_pretty(
            &self.document(ReportJson::new(&self.out.report), RunExtra::default()),
        )
        .context("encoding run.json")?;
        run_json.push(b'\n');
        let extra = [ReportFile { name: "run.json".into(), bytes: run_json }];
        let files = rep.files.iter().chain(&extra).map(|f| (f.name.as_str(), &f.bytes[..]));
        lockstep_io::write_files(dir, files)?;
        let written = ReportDirJson {
            dir: dir.display().to_string(),
            html: dir.join("report.html").display().to_string(),
            files: rep.names().chain(["run.json"]).map(str::to_owned).collect(),
        };
        let rejects = rep.summary.strategies.iter().map(|s| s.rejects.as_slice()).collect();
        Ok((Some(written), Some(rejects)))
    }

    /// Prints `run --json` / `backtest --json`.
    fn print_json(&self, written: Option<ReportDirJson>, rejects: Rejects<'_>) -> Result<()> {
        let mut report_json = ReportJson::new(&self.out.report);
        if self.files.is_none() {
            (report_json.latency_ns, report_json.worst) = (None, None);
        }
        let files = self.files.as_ref().map(|(hlog, hgrm)| FilesJson {
            hlog: hlog.display().to_string(),
            hgrm: hgrm.display().to_string(),
        });
        let extra = RunExtra { report: written, rejects, files: Some(files) };
        print_json(&self.document(report_json, extra))
    }

    /// The text output's opening: the tape, its instruments, events, throughput, digests.
    fn say_tape(&self, o: &mut Text) {
        let (header, r) = (&self.header, &self.out.report);
        say!(o, "tape: {}", untrusted(&header.source).max_chars(SOURCE_CHARS));
        say!(
            o,
            "instruments: {}",
            header
                .instruments
                .iter()
                .map(|i| format!("{} {}", i.id, untrusted(&i.symbol).max_chars(NAME_CHARS)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if r.strategies.is_empty() {
            say!(o, "strategies: none (book only)");
        }
        say!(
            o,
            "events: {} tape events, {} strategy events in {} ({})",
            r.events,
            r.strategy_events,
            ns(r.elapsed_ns),
            rate(r.events_per_sec)
        );
        say!(o, "digest: {}", hex(&r.digest));
        if !r.strategies.is_empty() {
            say!(o, "fuel digest: {} ({} tier)", hex(&r.fuel_digest), r.tier);
            say!(o, "fuel: total {}, max per event {}", r.fuel_total, r.fuel_max_per_event);
        }
    }

    /// The text output's lines of strategy `k`: digest and counts, a halt, the report's notes
    /// and, in a backtest or once it traded, its venue account.
    fn say_strategy(&self, o: &mut Text, k: usize) {
        let s = &self.out.report.strategies[k];
        say!(
            o,
            "strategy {} ({}): digest {}, {} events, {} actions, fuel max {} (seq {})",
            s.name,
            s.tier.map_or("native", |t| t.name()),
            &hex(&s.digest)[..16],
            s.events,
            s.actions,
            s.fuel_max.0,
            s.fuel_max.1
        );
        if let Some((seq, e)) = &s.halted {
            say!(o, "  HALTED at event seq {seq}: {e}");
        }
        if let Some(sum) = self.report.as_ref().and_then(|rep| rep.summary.strategies.get(k)) {
            say_report_notes(o, sum);
        }
        if self.mode == Mode::Backtest || s.exchange.fills > 0 {
            say_account(o, &s.exchange, &self.header);
        }
    }

    /// The text output's close: the report's page, then the latency percentiles, the ten
    /// worst events and the latency files (or that latency was not measured).
    fn say_latency(&self, o: &mut Text) {
        if let Some(dir) = &self.report_dir {
            say!(o, "report: {}", dir.join("report.html").display());
        }
        let Some((hlog, hgrm)) = &self.files else {
            say!(o, "latency: not measured (--no-latency)");
            return;
        };
        let l = &self.out.report.latency;
        say!(
            o,
            "latency per event ({}): p50 {}  p90 {}  p99 {}  p99.9 {}  p99.99 {}  max {}  max-p50 {}",
            self.mode_name,
            ns(l.summary.p50),
            ns(l.summary.p90),
            ns(l.summary.p99),
            ns(l.summary.p999),
            ns(l.summary.p9999),
            ns(l.summary.max),
            ns(l.summary.jitter_ns())
        );
        say_worst(o, &l.worst);
        say!(o, "files: {} {}", hlog.display(), hgrm.display());
    }
}

/// A strategy's report notes in the text output: rows past the blotter's limit, and its
/// rejected requests by reason.
fn say_report_notes(o: &mut Text, sum: &StrategySummary) {
    if sum.rows_dropped != (0, 0) {
        say!(
            o,
            "  report: {} orders and {} fills past the blotter's limit of {} rows each are counted but not in the tables",
            sum.rows_dropped.0,
            sum.rows_dropped.1,
            lockstep_sim::MAX_ROWS
        );
    }
    for j in &sum.rejects {
        say!(
            o,
            "  rejected: {} {} requests on instrument {}: {} ({})",
            j.count,
            j.request,
            j.instrument,
            j.reason,
            j.hint
        );
    }
}

/// A strategy's venue account in the text output: its counts, PnL and fees, then each
/// instrument's position.
fn say_account(o: &mut Text, x: &ExchangeSummary, header: &TapeHeader) {
    let currency = |i: InstrumentId| {
        header
            .instruments
            .get(usize::from(i))
            .map_or(String::new(), |s| format!(" {}", untrusted(&s.currency).max_chars(NAME_CHARS)))
    };
    let mut currencies: Vec<String> =
        x.instruments.iter().map(|i| currency(i.instrument)).collect();
    currencies.dedup();
    let total = match currencies.as_slice() {
        [one] => one.clone(),
        [] => String::new(),
        _ => " (in mixed currencies: see each instrument)".to_owned(),
    };
    say!(
        o,
        "  orders {}, cancels {}, replaces {}, rejects {} ({} too late; reject rate {:.2} %, too late {:.2} %), fills {}, open {}, PnL {}{total}, fees {}",
        x.stats.orders,
        x.stats.cancels,
        x.stats.replaces,
        x.stats.rejects,
        x.stats.too_late,
        x.stats.reject_rate() * 100.0,
        x.stats.too_late_rate() * 100.0,
        x.fills,
        x.open_orders,
        x.pnl,
        x.fees
    );
    for i in &x.instruments {
        say!(
            o,
            "    instrument {}: position {}, bought {}, sold {}, maker fills {}, taker fills {}, mark {}, PnL {}{}",
            i.instrument,
            i.position,
            i.bought,
            i.sold,
            i.maker_fills,
            i.taker_fills,
            i.mark,
            i.pnl,
            currency(i.instrument)
        );
    }
}

/// The ten worst events as a table in the text output (`-`: not an event of the tape or of
/// one strategy).
fn say_worst(o: &mut Text, worst: &[WorstEvent]) {
    say!(o, "ten worst events:");
    say!(
        o,
        "  {:>12}  {:>10}  {:>10}  {:>8}  {:>8}  {:>10}",
        "latency",
        "tape event",
        "seq",
        "strategy",
        "kind",
        "fuel"
    );
    for w in worst {
        let opt = |v: u64| if v == u64::MAX { "-".to_owned() } else { v.to_string() };
        let st = if w.strategy == u32::MAX { "-".to_owned() } else { w.strategy.to_string() };
        say!(
            o,
            "  {:>12}  {:>10}  {:>10}  {:>8}  {:>8}  {:>10}",
            ns(w.latency_ns),
            opt(w.tape_event),
            opt(w.seq),
            st,
            lockstep_sdk::event_kind::name(w.kind),
            w.fuel
        );
    }
}

pub(crate) fn book_check(a: &BookCheckArgs, json: bool) -> Result<ExitCode> {
    let mut o = Text::default();
    let r = check(&a.message, &a.orderbook, a.levels)?;
    let pct = |m: u64| (m as f64 * 1e6 / r.rows as f64).round() / 1e4;
    if json {
        print_json(&BookCheckJson::new(&r, pct))?;
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        o,
        "{} rows, comparing the top {} of {} levels after every message",
        r.rows,
        r.levels,
        r.file_levels
    );
    say!(o, "{:>6}  {:>22}  {:>22}", "depth", "matched (reconciled)", "messages only");
    for k in 0..r.levels {
        say!(
            o,
            "{:>6}  {:>10} {:>10.4}%  {:>10} {:>10.4}%",
            k + 1,
            r.matched[k],
            pct(r.matched[k]),
            r.matched_messages_only[k],
            pct(r.matched_messages_only[k])
        );
    }
    say!(o, "differences of the reconciled book (the tape's book), by cause:");
    for c in &r.classes {
        say!(o, "  {:<36} {:>8} rows  e.g. rows {:?}", c.name, c.rows, c.examples);
        say!(o, "      {}", c.explanation);
    }
    say!(
        o,
        "reconciled: after each message the book is brought back to the file where it differs, and order ids are forgotten at levels coming back into view ({} rows needed either), as `import lobster --orderbook` does on the tape;",
        r.rows_corrected
    );
    say!(
        o,
        "messages only: never corrected after the opening row; a level-{} message file omits every event beyond its depth, so that book drifts ({} messages named unknown orders).",
        r.file_levels,
        r.book_stats.unknown_orders
    );
    o.emit()?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn strategies(json: bool) -> Result<ExitCode> {
    let mut o = Text::default();
    let all = lockstep_strategies::all();
    if json {
        print_json(&StrategiesJson::new())?;
    } else {
        for s in all {
            say!(o, "{:<20} {}", s.name, s.summary);
            say!(o, "{:<20} defaults: {}", "", s.default_params);
        }
    }
    o.emit()?;
    Ok(ExitCode::SUCCESS)
}

/// The report folder a run wrote.
#[derive(Serialize)]
struct ReportDirJson {
    dir: String,
    html: String,
    files: Vec<String>,
}

/// The latency files a run wrote.
#[derive(Serialize)]
struct FilesJson {
    hlog: String,
    hgrm: String,
}

/// What `run --json` and `backtest --json` add to the run's report (`run.json` has none).
#[derive(Default, Serialize)]
struct RunExtra<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<ReportDirJson>,
    /// Rejects by reason, per strategy (with a report).
    #[serde(skip_serializing_if = "Option::is_none")]
    rejects: Option<Vec<&'a [RejectSummary]>>,
    /// `null` when no latency was measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<Option<FilesJson>>,
}
