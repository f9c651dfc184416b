//! `replay run`, `replay backtest`, `replay book-check`, `replay strategies`.

use super::json::{BookCheckJson, ReportJson, RunJson, StrategiesJson, TapeJson};
use super::output::{Text, ns, open_source, pin, print_json, progress, rate, say, source_name};
use super::{BookCheckArgs, RunArgs};
use anyhow::{Context, Result};
use lockstep_replay::{
    AtomicFile, Pacing, RejectSummary, ReportFile, RunOutput, Session, StrategySource,
    StrategySpec, book_check as check, build_report, hex, refuse_overwriting_inputs, trace_path,
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

/// The run's input files (the tape, `.wasm` modules).
fn report_inputs(a: &RunArgs, specs: &[StrategySpec]) -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = a.replay.tape.iter().cloned().collect();
    for s in specs {
        if let StrategySource::WasmFile { path, .. } = &s.source {
            inputs.push(path.clone());
        }
    }
    inputs
}

/// Refuses a run whose output files (latency files, traces) would overwrite its inputs (the
/// tape, `.wasm` modules), before anything is written.
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
    let mut o = Text::default();
    if let Some(c) = a.core {
        pin(c)?;
    }
    let specs = if a.book_only {
        Vec::new()
    } else {
        a.replay.specs(match mode {
            Mode::Run => &["noop"],
            Mode::Backtest => &["avellaneda-stoikov"],
        })?
    };
    let mut cfg = a.session_config()?;
    let report_cfg =
        if specs.is_empty() { None } else { a.reporting.report_config(mode == Mode::Backtest)? };
    cfg.blotter = report_cfg.map(|r| r.blotter);
    let latencies = (cfg.exchange.latency.entry.0, cfg.exchange.latency.feed.0);
    refuse_outputs_over_inputs(a, &specs)?;
    let pacing = cfg.pacing;
    if let Some(dir) = &a.trace {
        std::fs::create_dir_all(dir).with_context(|| format!("--trace {}", dir.display()))?;
    }
    let mut src = open_source(&a.replay)?;
    let header = src.header().clone();
    let session = Session::new(&header, &specs, cfg)?;
    let pb = progress(header.event_count, "replaying");
    let out = session
        .run(&mut *src, &mut |n| pb.set_position(n))
        .with_context(|| format!("replaying {}", source_name(&a.replay)))?;
    pb.finish_and_clear();
    let report = match &report_cfg {
        Some(rc) => Some(
            build_report(&out, &header, rc, latencies, true)
                .context("building the backtest report (the replay itself finished)")?,
        ),
        None => None,
    };
    let report_dir = report.as_ref().map(|_| {
        a.reporting
            .report
            .clone()
            .unwrap_or_else(|| a.out.join(format!("report-{}", &hex(&out.report.digest)[..12])))
    });
    if let (Some(r), Some(dir)) = (&report, &report_dir) {
        let inputs = report_inputs(a, &specs);
        let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
        for name in r.names().chain(["run.json"]) {
            refuse_overwriting_inputs(&dir.join(name), &inputs)?;
        }
    }
    let mode_name = match pacing {
        Pacing::AsFastAsPossible => "afap".to_owned(),
        Pacing::Paced { speed } => format!("paced-x{speed}"),
    };
    let mode_name = if a.no_latency { "afap-no-latency".to_owned() } else { mode_name };
    let files = if a.no_latency { None } else { Some(write_files(&out, &a.out, &mode_name)?) };
    let r = &out.report;
    let command = if mode == Mode::Run { "run" } else { "backtest" };
    let tape_path = a.replay.tape.as_ref().map(|p| p.display().to_string());
    let document = |report, extra| RunJson {
        command,
        mode: Some(&mode_name),
        tape: TapeJson::new(&header).at(tape_path.clone()),
        report,
        extra,
    };
    let (mut written, mut rejects) = (None, None);
    if let (Some(rep), Some(dir)) = (&report, &report_dir) {
        // The wall-clock facts of the run (throughput, latency) go in run.json, the one report
        // file that differs from run to run.
        let mut run_json =
            serde_json::to_vec_pretty(&document(ReportJson::new(r), RunExtra::default()))
                .context("encoding run.json")?;
        run_json.push(b'\n');
        let extra = [ReportFile { name: "run.json".into(), bytes: run_json }];
        rep.write(dir, &extra)?;
        written = Some(ReportDirJson {
            dir: dir.display().to_string(),
            html: dir.join("report.html").display().to_string(),
            files: rep.names().chain(["run.json"]).map(str::to_owned).collect(),
        });
        rejects = Some(rep.summary.strategies.iter().map(|s| s.rejects.as_slice()).collect());
    }
    if json {
        let mut report_json = ReportJson::new(r);
        if files.is_none() {
            (report_json.latency_ns, report_json.worst) = (None, None);
        }
        let files = files.as_ref().map(|(hlog, hgrm)| FilesJson {
            hlog: hlog.display().to_string(),
            hgrm: hgrm.display().to_string(),
        });
        let extra = RunExtra { report: written, rejects, files: Some(files) };
        print_json(&document(report_json, extra))?;
        return Ok(ExitCode::SUCCESS);
    }
    say!(o, "tape: {}", header.source);
    say!(
        o,
        "instruments: {}",
        header
            .instruments
            .iter()
            .map(|i| format!("{} {}", i.id, i.symbol))
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
    for (k, s) in r.strategies.iter().enumerate() {
        let x = &s.exchange;
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
        if let Some(sum) = report.as_ref().and_then(|rep| rep.summary.strategies.get(k)) {
            if sum.rows_dropped != (0, 0) {
                say!(
                    o,
                    "  report: {} orders and {} fills past the blotter's limit of {} rows each are counted but not in the tables",
                    sum.rows_dropped.0,
                    sum.rows_dropped.1,
                    lockstep_replay::MAX_ROWS
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
        if mode == Mode::Backtest || x.fills > 0 {
            say!(
                o,
                "  orders {}, cancels {}, replaces {}, rejects {}, fills {}, open {}, PnL {}, fees {}",
                x.stats.orders,
                x.stats.cancels,
                x.stats.replaces,
                x.stats.rejects,
                x.fills,
                x.open_orders,
                x.pnl,
                x.fees
            );
            for i in &x.instruments {
                say!(
                    o,
                    "    instrument {}: position {}, bought {}, sold {}, maker fills {}, taker fills {}, mark {}, PnL {}",
                    i.instrument,
                    i.position,
                    i.bought,
                    i.sold,
                    i.maker_fills,
                    i.taker_fills,
                    i.mark,
                    i.pnl
                );
            }
        }
    }
    if let Some(dir) = &report_dir {
        say!(o, "report: {}", dir.join("report.html").display());
    }
    let Some((hlog, hgrm)) = files else {
        say!(o, "latency: not measured (--no-latency)");
        o.emit()?;
        return Ok(ExitCode::SUCCESS);
    };
    let l = &r.latency;
    say!(
        o,
        "latency per event ({mode_name}): p50 {}  p90 {}  p99 {}  p99.9 {}  p99.99 {}  max {}  max-p50 {}",
        ns(l.summary.p50),
        ns(l.summary.p90),
        ns(l.summary.p99),
        ns(l.summary.p999),
        ns(l.summary.p9999),
        ns(l.summary.max),
        ns(l.summary.jitter_ns())
    );
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
    for w in &l.worst {
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
    say!(o, "files: {} {}", hlog.display(), hgrm.display());
    o.emit()?;
    Ok(ExitCode::SUCCESS)
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
