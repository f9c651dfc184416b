//! `replay run|backtest --checkpoint-at N --checkpoint FILE` (stop mid-tape and save the whole
//! session) and `--resume FILE` (finish it, on either tier, with the straight run's digest).

use super::output::{Text, open_source, print_json, progress, say, source_name};
use super::run::{Mode, report_inputs};
use super::{ReplayArgs, ReportArgs, RunArgs};
use anyhow::{Context, Result, bail};
use lockstep_host::{HostSession, StrategySpec};
use lockstep_io::{refuse_overwriting_inputs, write_atomic};
use lockstep_sim::{NoMeter, Session, SessionCheckpoint, SessionConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What a checkpoint carries besides the session: how to start the same run again.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    /// `run` or `backtest`.
    command: String,
    replay: ReplayArgs,
    book_only: bool,
    reporting: ReportArgs,
    /// Whether the session keeps blotters (a report can be built at the end).
    blotters: bool,
}

fn command(mode: Mode) -> &'static str {
    match mode {
        Mode::Run => "run",
        Mode::Backtest => "backtest",
    }
}

/// The `--resume` file named in messages.
pub(crate) fn path(a: &RunArgs) -> String {
    a.resume.as_deref().map_or_else(String::new, |p| p.display().to_string())
}

/// With `--resume`: the run's arguments as the checkpoint recorded them (the tier as given
/// now) and the decoded checkpoint; without: the arguments as they are.
pub(crate) fn prepare(a: &RunArgs, mode: Mode) -> Result<(RunArgs, Option<SessionCheckpoint>)> {
    let Some(file) = &a.resume else { return Ok((a.clone(), None)) };
    let context = || format!("--resume {}", file.display());
    let bytes = std::fs::read(file).with_context(context)?;
    let ck = SessionCheckpoint::decode(&bytes).with_context(context)?;
    let meta: Meta = serde_json::from_slice(ck.meta()).with_context(|| {
        format!("--resume {}: its run options do not read back", file.display())
    })?;
    if meta.command != command(mode) {
        bail!(
            "--resume {}: the checkpoint was taken by `replay {}`; finish it with `replay {} --resume {}`",
            file.display(),
            meta.command,
            meta.command,
            file.display()
        );
    }
    if !meta.blotters && a.reporting.report.is_some() {
        bail!(
            "--resume {}: the run was checkpointed without a report, so it cannot write one (--report); take the checkpoint with --report",
            file.display()
        );
    }
    let mut r = a.clone();
    r.replay = ReplayArgs { tier: a.replay.tier, ..meta.replay };
    r.book_only = meta.book_only;
    r.reporting = ReportArgs {
        report: a.reporting.report.clone(),
        no_report: a.reporting.no_report || !meta.blotters,
        ..meta.reporting
    };
    Ok((r, Some(ck)))
}

/// `--checkpoint-at N --checkpoint FILE`: replays the first `N` tape events and writes the
/// session's checkpoint (atomically: the file is whole or absent).
pub(crate) fn checkpoint_run(
    a: &RunArgs,
    mode: Mode,
    specs: &[StrategySpec],
    cfg: SessionConfig,
    (at, file): (u64, &PathBuf),
    json: bool,
) -> Result<ExitCode> {
    let inputs = report_inputs(a, specs);
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    refuse_overwriting_inputs(file, &inputs)?;
    let blotters = cfg.blotter.is_some();
    let mut src = open_source(&a.replay)?;
    let header = src.header().clone();
    let mut session = Session::load(&header, specs, cfg)?;
    session.stop_at(at);
    let pb = progress(at.min(header.event_count), "replaying");
    session
        .feed(&mut *src, &mut |n| pb.set_position(n), &mut NoMeter)
        .with_context(|| format!("replaying {}", source_name(&a.replay)))?;
    pb.finish_and_clear();
    if session.events() < at {
        bail!(
            "--checkpoint-at {at}: {} has only {} events; no checkpoint was written",
            source_name(&a.replay),
            session.events()
        );
    }
    let meta = Meta {
        command: command(mode).to_owned(),
        replay: a.replay.clone(),
        book_only: a.book_only,
        reporting: a.reporting.clone(),
        blotters,
    };
    let meta = serde_json::to_vec(&meta).context("encoding the run options")?;
    let bytes = session.checkpoint(&meta).context("--checkpoint-at")?;
    write_atomic(file, &bytes).with_context(|| format!("--checkpoint {}", file.display()))?;
    let done = Written { checkpoint: file, events: at, bytes: bytes.len() as u64 };
    if json {
        print_json(&done)?;
    } else {
        let mut o = Text::default();
        say!(
            o,
            "checkpoint after tape event {at}: {} ({} bytes)\nfinish the run with: replay {} --resume {} [--tier interpreter|compiled]",
            file.display(),
            done.bytes,
            command(mode),
            file.display()
        );
        o.emit()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--checkpoint-at`'s JSON.
#[derive(Serialize)]
struct Written<'a> {
    checkpoint: &'a Path,
    events: u64,
    bytes: u64,
}
