//! `fuzz`: structured fuzzing of every parser (see the crate documentation).
//!
//! ```text
//! cargo run --release -p lockstep-fuzz -- --target tape --seconds 60
//! cargo run --release -p lockstep-fuzz -- --all --seconds 240
//! cargo run --release -p lockstep-fuzz -- --list
//! ```
#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use clap::Parser;
use lockstep_fuzz::{
    Budget, Report, RunConfig, TARGETS, Target, check_file, read_input, run_target, seed_corpus,
    target,
};
use std::path::PathBuf;
use std::process::ExitCode;

/// Fuzzes Lockstep's parsers with generated valid inputs, their mutants and the corpus.
#[derive(Parser, Debug)]
#[command(name = "fuzz")]
struct Args {
    /// The target to fuzz (repeat for several; see --list).
    #[arg(long = "target")]
    targets: Vec<String>,
    /// Fuzz every target, the time split evenly between them.
    #[arg(long, conflicts_with = "targets")]
    all: bool,
    /// List the targets and exit.
    #[arg(long)]
    list: bool,
    /// Wall-clock seconds in all (default 60 per target given, 240 for --all).
    #[arg(long, conflicts_with = "cases")]
    seconds: Option<f64>,
    /// Cases per target instead of a time box (reproducible for a seed).
    #[arg(long)]
    cases: Option<u64>,
    /// Seed of the generators and the mutator.
    #[arg(long, default_value_t = 0x10c4_57e9)]
    seed: u64,
    /// The corpus folder (a sub-folder per target).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Where crash reproducers go (a sub-folder per target).
    #[arg(long)]
    crashes: Option<PathBuf>,
    /// Replay these files through the (one) target given and exit: each file's verdict.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    replay: Vec<PathBuf>,
    /// Write this many generated inputs per target into the corpus folder and exit.
    #[arg(long, value_name = "N")]
    write_corpus: Option<usize>,
    /// Largest file --write-corpus writes.
    #[arg(long, default_value_t = 8 << 10)]
    max_bytes: usize,
}

fn print(r: &Report) {
    let rate = r.cases as f64 / r.seconds.max(1e-9);
    println!(
        "{:<19} {:>9} cases {:>7.1} s {:>9.0}/s  accepted {:>7}  refused {:>8}  peak/case {:>5} MiB  crashes {}",
        r.target,
        r.cases,
        r.seconds,
        rate,
        r.accepted,
        r.refused,
        r.max_case_memory >> 20,
        r.crashes.len()
    );
    for c in &r.crashes {
        let at = c.path.as_ref().map_or_else(|| "(not saved)".into(), |p| p.display().to_string());
        println!(
            "  {:?} in case {}: {at}\n    {}",
            c.kind,
            c.case,
            c.message.replace('\n', "\n    ")
        );
    }
}

/// Runs each file through the one target chosen; fails if any crashes.
fn replay(chosen: &[&'static Target], files: &[PathBuf]) -> Result<ExitCode> {
    let [t] = chosen else { bail!("--replay takes exactly one --target") };
    let mut failed = false;
    for f in files {
        let bytes = read_input(f)?;
        match check_file(t, &bytes) {
            Ok(v) => println!("{}: {v:?}", f.display()),
            Err(c) => {
                failed = true;
                println!(
                    "{}: {:?}\n    {}",
                    f.display(),
                    c.kind,
                    c.message.replace('\n', "\n    ")
                );
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    if args.list {
        for t in TARGETS {
            println!("{:<19} {}", t.name, t.about);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let chosen: Vec<&'static Target> = if args.all {
        TARGETS.iter().collect()
    } else if args.targets.is_empty() {
        bail!("name a target with --target (see --list), or pass --all");
    } else {
        args.targets.iter().map(|n| target(n)).collect::<Result<_, _>>()?
    };
    let mut cfg = RunConfig::new(args.seed, Budget::Cases(0));
    if let Some(c) = args.corpus {
        cfg.corpus = c;
    }
    if let Some(c) = args.crashes {
        cfg.crashes = c;
    }
    if !args.replay.is_empty() {
        return replay(&chosen, &args.replay);
    }
    if let Some(n) = args.write_corpus {
        for t in &chosen {
            let written = seed_corpus(t, &cfg.corpus, n, args.max_bytes, args.seed)?;
            println!("{}: {written} files in {}", t.name, cfg.corpus.join(t.name).display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    cfg.budget = match (args.cases, args.seconds) {
        (Some(n), _) => Budget::Cases(n),
        (None, Some(s)) => Budget::Seconds(s / chosen.len() as f64),
        (None, None) if args.all => Budget::Seconds(240.0 / chosen.len() as f64),
        (None, None) => Budget::Seconds(60.0),
    };
    println!("fuzzing {} target(s), seed {:#x}, {:?} each", chosen.len(), args.seed, cfg.budget);
    let mut crashes = 0;
    for t in chosen {
        let r = run_target(t, &cfg).with_context(|| format!("fuzzing {}", t.name))?;
        print(&r);
        crashes += r.crashes.len();
    }
    if crashes > 0 {
        println!("{crashes} crash(es); reproducers under {}", cfg.crashes.display());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
