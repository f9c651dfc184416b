//! `replay`: import market data, replay it through strategies, prove the runs bit-identical
//! and report the worst-case jitter. See `replay --help`.

#![forbid(unsafe_code)]

mod cli;

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let json = args.json;
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            let msg = format!("{e:#}");
            if json {
                let v = serde_json::json!({ "error": msg });
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{v}");
            }
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
