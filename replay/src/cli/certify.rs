//! `replay certify`: a strategy's worst case per event, in fuel and in time here.

use super::CertifyArgs;
use super::output::{Text, print_json, say};
use anyhow::{Context, Result, bail};
use lockstep_host::{Certificate, StrategySource, StrategySpec, certify, check_certificate};
use lockstep_io::{read_bounded, refuse_overwriting_inputs, write_atomic};
use lockstep_sim::{EventSource, SessionConfig, Synth, SynthConfig};
use std::path::PathBuf;
use std::process::ExitCode;

/// Largest certificate `--check` reads.
const MAX_CERTIFICATE_BYTES: u64 = 16 << 20;

pub(crate) fn certify_cmd(a: &CertifyArgs, json: bool) -> Result<ExitCode> {
    let spec = StrategySpec::resolve(&a.strategy, a.params.as_deref(), false)
        .with_context(|| format!("--strategy {}", a.strategy))?;
    if let Some(path) = &a.check {
        return check(&spec, path, json);
    }
    let mut inputs: Vec<PathBuf> = a.tapes.clone();
    if let StrategySource::WasmFile { path, .. } = &spec.source {
        inputs.push(path.clone());
    }
    let inputs: Vec<&std::path::Path> = inputs.iter().map(PathBuf::as_path).collect();
    refuse_overwriting_inputs(&a.out, &inputs)?;
    let cfg = SessionConfig {
        tier: a.tier,
        fuel_per_event: lockstep_host::RunOptions {
            fuel_per_event: a.fuel_per_event,
            ..Default::default()
        }
        .fuel()?,
        measure_latency: false,
        ..SessionConfig::default()
    };
    let mut sources: Vec<(String, Box<dyn EventSource + Send>)> = Vec::new();
    for t in &a.tapes {
        let src = lockstep_io::open_tape(t).with_context(|| format!("--tape {}", t.display()))?;
        sources.push((t.display().to_string(), Box::new(src)));
    }
    if sources.is_empty() {
        let synth = Synth::new(SynthConfig { events: a.events, ..SynthConfig::default() });
        sources.push((format!("synthetic market, {} events", a.events), Box::new(synth)));
    }
    let machine = latency_lab::collect_sysinfo().to_json();
    let cert = certify(&spec, &cfg, &mut sources, machine)
        .with_context(|| format!("certifying {}", spec.name))?;
    let mut bytes = serde_json::to_vec_pretty(&cert).context("encoding the certificate")?;
    bytes.push(b'\n');
    write_atomic(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    if json {
        print_json(&serde_json::json!({ "certificate": cert, "file": a.out }))?;
        return Ok(ExitCode::SUCCESS);
    }
    say_certificate(&cert, &a.out)?;
    Ok(ExitCode::SUCCESS)
}

fn say_certificate(c: &Certificate, path: &std::path::Path) -> Result<()> {
    let mut o = Text::default();
    let s = &c.static_bound;
    say!(o, "strategy   {} ({}), module sha256 {}", c.strategy, c.tier, &c.module_sha256[..16]);
    match (s.bound, &s.reason) {
        (Some(b), _) => say!(
            o,
            "static     at most {b} fuel per completing event ({} loops bounded)",
            s.bounded_loops
        ),
        (None, Some(why)) => say!(o, "static     unbounded: {why}"),
        (None, None) => say!(o, "static     unbounded"),
    }
    let unbounded = s.functions.iter().filter(|f| f.status == "unbounded").count();
    say!(
        o,
        "           {} functions reachable, {} bounded, {unbounded} unbounded",
        s.functions.len(),
        s.functions.iter().filter(|f| f.status == "bounded").count()
    );
    let a = &c.after_init;
    match (a.bound, &a.reason) {
        (Some(b), _) => say!(
            o,
            "after init at most {b} fuel per completing event, from the state init leaves with \
             these parameters ({} bytes vary between events)",
            a.variable_bytes
        ),
        (None, Some(why)) => say!(o, "after init unbounded: {why}"),
        (None, None) => say!(o, "after init unbounded"),
    }
    for ob in &c.observed {
        say!(
            o,
            "observed   at most {} fuel over {} events of {} (on the {} tier)",
            ob.max_fuel,
            ob.events,
            ob.source,
            ob.tier
        );
    }
    say!(
        o,
        "certified  {} fuel per event (fuel per event {}), {:.3} ns per fuel at worst here",
        c.certified_fuel,
        c.fuel_per_event,
        c.calibration.worst_ns_per_fuel
    );
    say!(
        o,
        "           worst case {} ns on this machine ({})",
        c.certified_ns,
        c.machine["summary"].as_str().unwrap_or("?")
    );
    say!(o, "wrote {}", path.display());
    o.emit()
}

fn check(spec: &StrategySpec, path: &std::path::Path, json: bool) -> Result<ExitCode> {
    let bytes = read_bounded(path, MAX_CERTIFICATE_BYTES)
        .with_context(|| format!("--check {}", path.display()))?;
    let cert: Certificate = serde_json::from_slice(&bytes)
        .with_context(|| format!("--check {}: not a Lockstep fuel certificate", path.display()))?;
    if cert.strategy != spec.name && !matches!(spec.source, StrategySource::WasmFile { .. }) {
        bail!("--check {}: it certifies {}, not {}", path.display(), cert.strategy, spec.name);
    }
    check_certificate(&cert, spec).with_context(|| format!("--check {}", path.display()))?;
    if json {
        print_json(&serde_json::json!({ "check": "holds", "certificate": path }))?;
    } else {
        let mut o = Text::default();
        say!(
            o,
            "{} holds: module {}, engine {}, static bound unchanged",
            path.display(),
            &cert.module_sha256[..16],
            &cert.engine_fingerprint[..16]
        );
        o.emit()?;
    }
    Ok(ExitCode::SUCCESS)
}
