//! `replay sweep` and `replay sweep-merge`: parameter sweeps, sharded for job arrays.

use super::output::{Text, print_json, progress, say};
use super::{SweepArgs, SweepMergeArgs};
use anyhow::{Context, Result, anyhow, bail};
use lockstep_host::{Grid, RunOptions, Shard, SweepOutput, SweepPlan, TapeRef, merge};
use lockstep_io::{read_bounded, refuse_overwriting_inputs, write_atomic};
use lockstep_report::ReportConfig;
use lockstep_sdk::untrusted;
use lockstep_sim::{ExchangeConfig, Pacing, SessionConfig, SynthConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The most bytes `sweep-merge` reads from one shard's JSON (a full grid of
/// `lockstep_host::MAX_POINTS` points is far less).
const MAX_SHARD_BYTES: u64 = 256 << 20;

/// Refuses an `--out` that is one of the command's inputs, before any work is done.
fn refuse_out_over_inputs(out: Option<&Path>, inputs: &[&Path]) -> Result<()> {
    if let Some(o) = out {
        refuse_overwriting_inputs(o, inputs)?;
    }
    Ok(())
}

fn emit(out: &SweepOutput, to: Option<&std::path::Path>, json: bool) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(out).context("encoding the sweep")?;
    text.push(b'\n');
    if let Some(path) = to {
        write_atomic(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        print_json(out)?;
        return Ok(());
    }
    let mut o = Text::default();
    say!(
        o,
        "{} on {} tape(s), grid \"{}\": {} of {} points (shard {}/{})",
        untrusted(&out.strategy),
        out.tapes.len(),
        untrusted(&out.grid).max_chars(1000),
        out.points.len(),
        out.total,
        out.shard.index,
        out.shard.count
    );
    say!(
        o,
        "{:>6}  {:<40}  {:>12}  {:>9}  {:>10}  {:>6}  digest",
        "point",
        "params",
        "pnl",
        "sharpe",
        "max dd",
        "fills"
    );
    for p in &out.points {
        // A merged sweep's points come from shard files: every text is shown escaped, and
        // the digest is cut by characters (a byte slice of forged text could split one).
        let digest: String = p.digest.chars().take(16).collect();
        say!(
            o,
            "{:>6}  {:<40}  {:>12}  {:>9}  {:>10}  {:>6}  {}",
            p.index,
            untrusted(&p.params).max_chars(1000).to_string(),
            untrusted(&p.pnl).max_chars(40).to_string(),
            p.sharpe.map_or_else(|| "-".to_owned(), |s| format!("{s:.4}")),
            untrusted(&p.max_drawdown).max_chars(40).to_string(),
            p.fills,
            untrusted(&digest)
        );
    }
    if let Some(path) = to {
        say!(o, "written: {}", path.display());
    }
    o.emit()
}

pub(crate) fn sweep(a: &SweepArgs, json: bool) -> Result<ExitCode> {
    let grid = match (&a.grid, a.points.is_empty()) {
        (Some(g), true) => Grid::parse(g)?,
        (None, false) => Grid::from_points(&a.points)?,
        _ => bail!("give either --grid 'key=v1,v2;key=...' or one --point 'key=v;...' per point"),
    };
    let shard = match &a.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::ALL,
    };
    let tapes = if a.tapes.is_empty() {
        vec![TapeRef::Synthetic(SynthConfig { events: a.events, seed: a.seed })]
    } else {
        a.tapes.iter().cloned().map(TapeRef::File).collect()
    };
    if a.run.report.is_some() {
        bail!("--report is for backtest and run; a sweep prints (or --out writes) one JSON object");
    }
    let mut inputs: Vec<&Path> = a.tapes.iter().map(PathBuf::as_path).collect();
    inputs.push(Path::new(&a.strategy));
    refuse_out_over_inputs(a.out.as_deref(), &inputs)?;
    let report: ReportConfig = a.run.report_config(true, false)?.unwrap_or_default();
    let plan = SweepPlan {
        strategy: a.strategy.clone(),
        base_params: a.params.clone(),
        grid,
        tapes,
        session: SessionConfig {
            tier: a.tier,
            fuel_per_event: RunOptions {
                fuel_per_event: a.fuel_per_event,
                ..RunOptions::default()
            }
            .fuel()?,
            exchange: ExchangeConfig::default(),
            pacing: Pacing::AsFastAsPossible,
            ..SessionConfig::default()
        },
        report,
    };
    let mine = (0..plan.total()).filter(|&k| shard.holds(k)).count() as u64;
    let pb = progress(mine, "sweeping");
    let out = plan.run(shard, &mut |n| pb.set_position(n))?;
    pb.finish_and_clear();
    emit(&out, a.out.as_deref(), json)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn sweep_merge(a: &SweepMergeArgs, json: bool) -> Result<ExitCode> {
    let inputs: Vec<&Path> = a.files.iter().map(PathBuf::as_path).collect();
    refuse_out_over_inputs(a.out.as_deref(), &inputs)?;
    let mut shards = Vec::with_capacity(a.files.len());
    for f in &a.files {
        let bytes =
            read_bounded(f, MAX_SHARD_BYTES).with_context(|| format!("reading {}", f.display()))?;
        // serde's messages quote some of the input (an unknown variant) as it is.
        let s: SweepOutput = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow!(
                "{}: not the JSON output of `replay sweep`: {}",
                f.display(),
                untrusted(&e.to_string()).max_chars(400)
            )
        })?;
        shards.push(s);
    }
    let merged = merge(shards)?;
    emit(&merged, a.out.as_deref(), json)?;
    Ok(ExitCode::SUCCESS)
}
