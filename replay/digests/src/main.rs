//! `digests`: the smallest program that runs a replay. Every built-in strategy over the
//! synthetic market (or a tape), on both engine tiers, through the engine and the simulation
//! core alone (no host crate, no report, no importers). It prints `name digest fuel_digest` per
//! strategy, the format of `replay/host/tests/golden/digests.txt`, after requiring both tiers to
//! agree on both digests; `--expect FILE` then requires FILE's digests. CI cross-builds it for
//! aarch64 and runs it under `qemu-aarch64` against the same run's digests on x86_64.
//!
//! ```sh
//! cargo run --release -p lockstep-digests -- --expect replay/host/tests/golden/digests.txt
//! cargo run --release -p lockstep-digests -- --tape goog.tape
//! ```
#![forbid(unsafe_code)]

use lockstep_engine::{Config, Engine, Fuel, StrategyModule, Tier};
use lockstep_sim::{
    EventSource, RunnerSpec, Session, SessionConfig, Synth, SynthConfig, TapeReader, hex,
};
use std::collections::BTreeMap;
use std::error::Error;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

/// What to replay and what to require.
#[derive(Debug, Default)]
struct Options {
    /// Synthetic market events (default 20,000, the goldens' market).
    events: Option<u64>,
    /// A tape instead of the synthetic market.
    tape: Option<PathBuf>,
    /// A `name digest fuel_digest` file every strategy must match.
    expect: Option<PathBuf>,
}

const USAGE: &str = "usage: digests [--events N | --tape FILE] [--expect DIGESTS_FILE]";

fn options() -> Result<Options, String> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value; {USAGE}"));
        match flag.as_str() {
            "--events" => {
                let v = value()?;
                o.events = Some(v.parse().map_err(|_| format!("--events {v}: not a count"))?);
            }
            "--tape" => o.tape = Some(PathBuf::from(value()?)),
            "--expect" => o.expect = Some(PathBuf::from(value()?)),
            _ => return Err(format!("unknown argument `{flag}`; {USAGE}")),
        }
    }
    if o.events.is_some() && o.tape.is_some() {
        return Err(format!("--events and --tape exclude each other; {USAGE}"));
    }
    Ok(o)
}

/// The market to replay: a fresh source each call.
fn market(o: &Options) -> Result<Box<dyn EventSource>, Box<dyn Error>> {
    Ok(match &o.tape {
        Some(path) => {
            let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Box::new(TapeReader::new(BufReader::new(file))?)
        }
        None => Box::new(Synth::new(SynthConfig {
            events: o.events.unwrap_or(20_000),
            ..SynthConfig::default()
        })),
    })
}

/// One strategy on one tier with its default parameters: (digest, fuel digest) in hex.
fn run(
    name: &str,
    wasm: &[u8],
    params: &str,
    tier: Tier,
    o: &Options,
) -> Result<[String; 2], Box<dyn Error>> {
    let cfg = SessionConfig { tier, measure_latency: false, ..SessionConfig::default() };
    let engine =
        Engine::try_new(Config::new().tier(tier).fuel_per_event(Fuel(cfg.fuel_per_event)))?;
    let inst = StrategyModule::new(&engine, wasm)?.instantiate(params)?;
    let spec = RunnerSpec {
        name: name.to_owned(),
        params: params.to_owned(),
        init_actions: inst.actions().to_vec(),
        init_fuel: Some(inst.last_fuel().0),
        runner: Box::new(inst),
    };
    let mut src = market(o)?;
    let mut session = Session::from_runners(src.header(), vec![spec], cfg);
    session.feed(src.as_mut(), &mut |_| {}, &mut lockstep_sim::NoMeter)?;
    let report = session.finish().report.strategies.into_iter().next().ok_or("no report")?;
    if let Some((at, why)) = report.halted {
        return Err(format!("{name} ({tier:?}) halted at event {at}: {why}").into());
    }
    Ok([hex(&report.digest), hex(&report.fuel_digest)])
}

fn main() -> ExitCode {
    match digests() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("digests: {e}");
            ExitCode::from(2)
        }
    }
}

/// Prints every built-in's digests; false when a tier or the expected file disagrees.
fn digests() -> Result<bool, Box<dyn Error>> {
    let o = options()?;
    let expected: BTreeMap<String, String> = match &o.expect {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .lines()
            .filter_map(|l| {
                l.split_once(' ').map(|(n, d)| (n.trim().to_owned(), d.trim().to_owned()))
            })
            .collect(),
        None => BTreeMap::new(),
    };
    let mut ok = true;
    for info in lockstep_strategies::all() {
        let [interp, compiled] = [Tier::Interpreter, Tier::Compiled]
            .map(|t| run(info.name, info.wasm, info.default_params, t, &o));
        let (interp, compiled) = (interp?, compiled?);
        let line = format!("{} {}", interp[0], interp[1]);
        println!("{} {line}", info.name);
        if interp != compiled {
            eprintln!(
                "{}: the tiers differ: interpreter {line}, compiled {}",
                info.name,
                compiled.join(" ")
            );
            ok = false;
        }
        match (&o.expect, expected.get(info.name)) {
            (None, _) => {}
            (Some(_), Some(e)) if *e == line => {}
            (Some(_), Some(e)) => {
                eprintln!("{}: expected {e}, got {line}", info.name);
                ok = false;
            }
            (Some(file), None) => {
                eprintln!("{}: not in {} (got {line})", info.name, file.display());
                ok = false;
            }
        }
    }
    Ok(ok)
}
