//! `replay profile`: where a strategy's fuel goes, by call stack, exactly.

use super::ProfileArgs;
use super::output::{Text, open_source, print_json, say, source_name};
use anyhow::{Context, Result, bail};
use lockstep_host::{StrategySource, profile};
use lockstep_io::{refuse_overwriting_inputs, write_files};
use lockstep_sim::{Pacing, SessionConfig};
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) fn profile_cmd(a: &ProfileArgs, json: bool) -> Result<ExitCode> {
    let r = &a.replay;
    if r.strategies.len() != 1 {
        bail!("--strategy: give exactly one strategy to profile ({} given)", r.strategies.len());
    }
    if r.native {
        bail!("--native: a native build uses no fuel; profile the WebAssembly build");
    }
    let spec = r.specs(&[])?.remove(0);
    let mut inputs: Vec<PathBuf> = r.tape.iter().cloned().collect();
    if let StrategySource::WasmFile { path, .. } = &spec.source {
        inputs.push(path.clone());
    }
    let inputs: Vec<&std::path::Path> = inputs.iter().map(PathBuf::as_path).collect();
    for name in FILES {
        refuse_overwriting_inputs(&a.out.join(name), &inputs)?;
    }
    let cfg = SessionConfig {
        tier: r.tier,
        fuel_per_event: r.options().fuel()?,
        exchange: r.exchange()?,
        models: None,
        pacing: Pacing::AsFastAsPossible,
        interval_ns: 1_000_000_000,
        book_digest: false,
        measure_latency: false,
        blotter: None,
    };
    let mut src = open_source(r)?;
    let header = src.header().clone();
    let out = profile(&header, &spec, &cfg, &mut *src)
        .with_context(|| format!("profiling {} over {}", spec.name, source_name(r)))?;
    let files = out.files().context("encoding profile.json")?;
    let written = write_files(&a.out, files.iter().map(|(n, b)| (*n, b.as_slice())))?;
    if json {
        print_json(&serde_json::json!({ "profile": out.summary, "files": written }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = &out.summary;
    let mut o = Text::default();
    say!(o, "strategy  {} ({}), module sha256 {}", s.strategy, r.tier, &s.module_sha256[..16]);
    say!(o, "source    {}", source_name(r));
    say!(
        o,
        "events    {}, fuel {} (digest {}, the same as the module's)",
        s.events,
        s.total_fuel,
        &s.digest[..16]
    );
    say!(o, "functions by own fuel:");
    for f in s.functions.iter().take(10) {
        say!(o, "  {:>14} self {:>14} total  {}", f.self_fuel, f.total_fuel, f.name);
    }
    say!(o, "costliest events:");
    for e in &s.costliest {
        let at = match (e.tape_event, e.after_tape_event) {
            (Some(t), _) => format!("tape event {t}"),
            (None, Some(t)) => format!("venue answer after tape event {t}"),
            (None, None) => "venue answer before the first tape event".to_owned(),
        };
        say!(o, "  {:>14} fuel  {:<7} seq {:<10} {at}", e.fuel, e.kind, e.seq);
    }
    if s.truncated {
        say!(
            o,
            "note: stacks were cut at the engine's node limit; deeper fuel is charged to the deepest node kept"
        );
    }
    for p in &written {
        say!(o, "wrote {}", p.display());
    }
    o.emit()?;
    Ok(ExitCode::SUCCESS)
}

/// The files `replay profile` writes into `--out`.
const FILES: [&str; 4] = ["profile.json", "profile.folded", "flamegraph.svg", "speedscope.json"];
