//! The live side of the CLI: `replay venue` (a tape as an ITCH feed and a FIX venue for a
//! gateway), `replay verify --journal DIR` (a gateway's decisions proven by replay) and
//! `replay inspect --journal FILE`.

use super::output::print_json;
use super::{InspectArgs, VenueArgs};
use anyhow::{Context, Result, bail};
use lockstep_engine::{Config, Engine, Fuel, Tier};
use lockstep_gateway::{
    Faults, Journal, Origin, VenueOptions, VerifyReport, read_journal, run_venue, verify,
};
use lockstep_host::{StrategySpec, start_strategy};
use lockstep_sdk::untrusted;
use lockstep_sim::{EventSource, Synth, SynthConfig};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// `replay venue`.
pub(crate) fn venue(a: &VenueArgs, json: bool) -> Result<ExitCode> {
    let mut src: Box<dyn EventSource> = match &a.tape {
        Some(p) => {
            Box::new(lockstep_io::open_tape(p).with_context(|| format!("--tape {}", p.display()))?)
        }
        None => Box::new(Synth::new(SynthConfig { events: a.events, seed: a.seed })),
    };
    let header = src.header().clone();
    let opts = VenueOptions {
        feed: a.feed_udp,
        fix: a.fix,
        pace: a.pace,
        wait: Duration::from_secs(a.wait),
        session: a.session.clone(),
        faults: Faults {
            drop_every: a.drop_every,
            no_retransmit: a.no_retransmit,
            disconnect_after: a.disconnect_after,
        },
    };
    if !json {
        eprintln!(
            "venue: FIX on {}, feed to {}; waiting up to {} s for the gateway",
            a.fix, a.feed_udp, a.wait
        );
    }
    let report = run_venue(&header, src.as_mut(), &opts)?;
    if json {
        print_json(&report)?;
    } else {
        println!(
            "venue: {} events as {} ITCH messages in {} datagrams; {} retransmission requests ({} messages); {} FIX requests, {} reports",
            report.events,
            report.messages,
            report.datagrams,
            report.requests,
            report.retransmitted,
            report.requests_fix,
            report.reports
        );
        if let Some(why) = &report.first_unpublishable {
            println!(
                "venue: {} tape events changed the book but ITCH cannot carry them (first: {why})",
                report.unpublishable
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The journals of a gateway's directory (or one journal file), in name order.
fn journal_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("--journal {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "journal"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "--journal {}: no *.journal files there (the gateway writes them into its --journal directory)",
            path.display()
        );
    }
    Ok(files)
}

fn read(path: &Path) -> Result<Journal> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    read_journal(std::io::BufReader::new(f)).with_context(|| format!("{}", path.display()))
}

/// `replay verify --journal DIR`: each strategy re-run over its journal on both tiers.
pub(crate) fn verify_journals(dir: &Path, json: bool) -> Result<ExitCode> {
    let mut reports: Vec<VerifyReport> = Vec::new();
    for path in journal_files(dir)? {
        let journal = read(&path)?;
        let live_tier: Tier = journal.header.tier.parse().unwrap_or(Tier::Interpreter);
        for tier in [Tier::Interpreter, Tier::Compiled] {
            reports.push(verify_one(&path, &journal, tier, live_tier, json)?);
        }
    }
    if json {
        print_json(&reports)?;
    }
    Ok(if reports.iter().all(VerifyReport::identical) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn verify_one(
    path: &Path,
    journal: &Journal,
    tier: Tier,
    live_tier: Tier,
    json: bool,
) -> Result<VerifyReport> {
    {
        let spec =
            StrategySpec::resolve(&journal.header.strategy, Some(&journal.header.params), false)
                .with_context(|| format!("{}: the journal's strategy", path.display()))?;
        let mut config = Config::new();
        config
            .tier(tier)
            .fuel_per_event(Fuel(50_000_000))
            .artefact_cache(lockstep_engine::default_artefact_cache());
        let engine = Engine::try_new(&config)?;
        let (mut runner, init, fuel) = start_strategy(&engine, &spec)?;
        let r = verify(journal, runner.as_mut(), &init, fuel.unwrap_or(0), tier == live_tier);
        if !json {
            let verdict = if r.identical() { "IDENTICAL" } else { "DIFFERENT" };
            println!(
                "{}: {} entries on {tier} (live: {live_tier}): {verdict}",
                path.display(),
                r.entries
            );
            println!("  live digest   {}\n  replay digest {}", r.live_digest, r.replay_digest);
            if let Some(d) = &r.first_difference {
                println!(
                    "  first difference at entry {} (input seq {}): {}",
                    d.entry, d.seq, d.what
                );
            }
            if r.torn_tail > 0 {
                println!(
                    "  {} bytes after the last complete chunk were dropped (the gateway stopped mid-write)",
                    r.torn_tail
                );
            }
        }
        Ok(r)
    }
}

#[derive(Serialize)]
struct JournalInspection {
    file: PathBuf,
    strategy: String,
    params: String,
    tier: String,
    module_sha256: String,
    entries: u64,
    by_origin: std::collections::BTreeMap<String, u64>,
    actions: u64,
    errors: u64,
    first_recv_ns: Option<i64>,
    last_recv_ns: Option<i64>,
    torn_tail: u64,
}

/// `replay inspect --journal FILE|DIR`.
pub(crate) fn inspect_journal(a: &InspectArgs, json: bool) -> Result<ExitCode> {
    let Some(path) = &a.journal else { bail!("give --tape or --journal") };
    let mut out = Vec::new();
    for file in journal_files(path)? {
        let j = read(&file)?;
        let mut by_origin = std::collections::BTreeMap::new();
        for e in &j.entries {
            let name = match e.origin {
                Origin::Market => "market",
                Origin::Venue => "venue",
                Origin::Risk => "risk",
                Origin::Timer => "timer",
                Origin::Init => "init",
            };
            *by_origin.entry(name.to_owned()).or_insert(0u64) += 1;
        }
        out.push(JournalInspection {
            file,
            strategy: j.header.strategy.clone(),
            params: j.header.params.clone(),
            tier: j.header.tier.clone(),
            module_sha256: j.header.module_sha256.clone(),
            entries: j.entries.len() as u64,
            by_origin,
            actions: j.entries.iter().map(|e| e.actions.len() as u64).sum(),
            errors: j.entries.iter().filter(|e| e.error != 0).count() as u64,
            first_recv_ns: j.entries.first().map(|e| e.recv_ns),
            last_recv_ns: j.entries.last().map(|e| e.recv_ns),
            torn_tail: j.torn_tail,
        });
    }
    if json {
        print_json(&out)?;
    } else {
        for i in &out {
            println!(
                "{}: {} ({}) on {}, module sha256 {}",
                i.file.display(),
                untrusted(&i.strategy),
                untrusted(&i.params).max_chars(1000),
                untrusted(&i.tier).max_chars(64),
                untrusted(&i.module_sha256).max_chars(64)
            );
            println!(
                "  {} entries {:?}, {} actions, {} errors, torn tail {} bytes",
                i.entries, i.by_origin, i.actions, i.errors, i.torn_tail
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
