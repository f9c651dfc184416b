//! Events per second of the same replay (a strategy over the synthetic market) natively on
//! each engine tier and the native build, and in the browser's engines: Node's V8 through the
//! JavaScript host, and headless Chromium running the page. Prints numbers; asserts nothing.
//!
//! `cargo bench -p lockstep-replay --bench browser` (`BENCH_STRATEGY`, default microprice;
//! `BENCH_EVENTS`, default 1,000,000; `BENCH_REPS`, default 3, best kept).
//!
//! Headless Chromium runs pages on virtual time, so the page's own clock cannot be trusted;
//! its rate is measured from outside as (events₂ − events₁) / (wall₂ − wall₁) over a short and
//! a long run, which cancels the browser's start-up and page load.

use lockstep_engine::Tier;
use lockstep_host::HostSession;
use lockstep_host::{Stopwatch, StrategySpec};
use lockstep_sim::{Session, SessionConfig, Synth, SynthConfig};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn best(reps: u32, mut f: impl FnMut() -> Option<f64>) -> Option<f64> {
    (0..reps).filter_map(|_| f()).reduce(f64::max)
}

fn native(strategy: &str, events: u64, tier: Tier, native: bool) -> f64 {
    let mut src = Synth::new(SynthConfig { events, ..SynthConfig::default() });
    let spec = StrategySpec::resolve(strategy, None, native).expect("a built-in");
    let cfg = SessionConfig { tier, measure_latency: false, ..SessionConfig::default() };
    let header = lockstep_sim::EventSource::header(&src).clone();
    let r = Session::load(&header, &[spec], cfg).unwrap().run(&mut src, &mut |_| {}).unwrap();
    r.report.events_per_sec
}

fn found(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

fn main() {
    let strategy: String = env_or("BENCH_STRATEGY", "microprice".to_owned());
    let events: u64 = env_or("BENCH_EVENTS", 1_000_000);
    let reps: u32 = env_or("BENCH_REPS", 3);
    let params =
        lockstep_strategies::get(&strategy).map_or("", |i| i.default_params).replace(' ', "%20");
    println!("replay of {strategy} over {events} synthetic events, best of {reps}");
    println!("{:<40} {:>14}", "where", "events/s");
    let row = |what: &str, rate: Option<f64>| match rate {
        Some(r) => println!("{what:<40} {:>14.0}", r),
        None => println!("{what:<40} {:>14}", "skipped"),
    };
    for (what, tier, nat) in [
        ("native build (Rust, host)", Tier::Interpreter, true),
        ("interpreter tier (wasmi)", Tier::Interpreter, false),
        ("compiled tier (wasmtime/Cranelift)", Tier::Compiled, false),
    ] {
        row(what, best(reps, || Some(native(&strategy, events, tier, nat))));
    }

    let mut serve = Command::new(env!("CARGO_BIN_EXE_replay"))
        .args(["serve", "--port", "0", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start replay serve");
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = serde_json::from_str::<Value>(&line).unwrap()["url"].as_str().unwrap().to_owned();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/test/replay.mjs");
    let node = found("node").then(|| {
        best(reps, || {
            let o = Command::new("node")
                .arg(&script)
                .arg(format!("{url}lockstep_web.wasm"))
                .args(["--events", &events.to_string()])
                .arg(format!(
                    "{strategy}={url}strategies/{strategy}.wasm:{}",
                    params.replace("%20", " ")
                ))
                .output()
                .ok()?;
            let v: Value = serde_json::from_slice(&o.stdout).ok()?;
            v["events_per_sec"].as_f64()
        })
    });
    row("Node 20 V8 (JS host + replay core)", node.flatten());

    let chromium = ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|b| found(b));
    let page = |n: u64| -> Option<f64> {
        let dir =
            std::env::temp_dir().join(format!("lockstep-bench-chromium-{}", std::process::id()));
        let started = Stopwatch::start();
        let o = Command::new(chromium?)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            .arg(format!("--user-data-dir={}", dir.display()))
            .args(["--virtual-time-budget=600000", "--dump-dom"])
            .arg(format!(
                "{url}?strategy={strategy}&events={n}&params={params}&autorun=1&compare=0"
            ))
            .output()
            .ok()?;
        let wall = started.elapsed_ns() as f64 / 1e9;
        let _ = std::fs::remove_dir_all(&dir);
        let dom = String::from_utf8_lossy(&o.stdout);
        // `data-seconds` is set only when the run finished without an error.
        (dom.contains("data-done=\"1\"") && dom.contains("data-seconds=")).then_some(wall)
    };
    let short = events / 20;
    let rate = chromium.and_then(|_| {
        best(reps, || {
            let (a, b) = (page(short)?, page(events)?);
            (b > a).then(|| (events - short) as f64 / (b - a))
        })
    });
    row("headless Chromium (the page)", rate);
    let _ = serve.kill();
    let _ = serve.wait();
}
