//! The everyday commands: `strategies`, `run` on the synthetic market, `backtest`, a `.wasm` file,
//! a halted strategy, pacing and pinning, and flags that make no sense.

use crate::common::{bin, digests, fails, json, run_ok, tmp};
use crate::golden;
use std::path::{Path, PathBuf};

#[test]
fn strategies_lists_the_builtins() {
    let v = json(bin().arg("strategies"));
    let names: Vec<&str> =
        v["strategies"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    for n in [
        "noop",
        "black-scholes",
        "crr-binomial",
        "avellaneda-stoikov",
        "microprice",
        "vwap-twap",
        "pairs",
        "bond",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
}

#[test]
fn run_on_the_synthetic_default_reports_everything() {
    let out = tmp("run-default");
    let v = json(bin().args(["run", "--events", "5000", "--out"]).arg(&out));
    assert_eq!(v["events"], 5000);
    let digest = v["digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    assert!(v["events_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["fuel"]["total"].as_u64().unwrap() > 0);
    assert!(v["fuel"]["max_per_event"].as_u64().unwrap() > 0);
    let l = &v["latency_ns"];
    let p = |k: &str| l[k].as_u64().unwrap_or_else(|| panic!("latency_ns.{k} missing: {l}"));
    assert!(p("p50") <= p("p99") && p("p99") <= p("p999") && p("p999") <= p("p9999"));
    assert!(p("p9999") <= p("max") && p("max") > 0);
    assert_eq!(l["max_minus_p50"].as_u64().unwrap(), p("max") - p("p50"));
    assert_eq!(v["worst"].as_array().unwrap().len(), 10);
    assert_eq!(v["strategies"][0]["name"], "noop");
    // The latency files are HdrHistogram's formats: the interval log parses with its reader.
    let hlog = std::fs::read(out.join("latency.hlog")).unwrap();
    let intervals = hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&hlog)
        .filter(|e| {
            matches!(e, Ok(hdrhistogram::serialization::interval_log::LogEntry::Interval(_)))
        })
        .count();
    assert!(intervals >= 1);
    let hgrm = std::fs::read_to_string(out.join("latency.hgrm")).unwrap();
    assert!(hgrm.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
    assert!(hgrm.contains("#[Max     ="));
    // Same configuration, same digest, whether latency is measured or not.
    let again = json(bin().args(["run", "--events", "5000", "--out"]).arg(&out));
    assert_eq!(again["digest"].as_str().unwrap(), digest);
    let quiet = json(bin().args(["run", "--events", "5000", "--no-latency", "--out"]).arg(&out));
    assert_eq!(quiet["digest"].as_str().unwrap(), digest);
    assert!(quiet["latency_ns"].is_null());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_wasm_file_runs_like_the_builtin() {
    let wasm = Path::new(lockstep_strategies::wasm_dir()).join("noop.wasm");
    assert!(wasm.is_file(), "{} missing", wasm.display());
    let out = tmp("wasm-file");
    let v = json(
        bin().args(["run", "--events", "20000", "--strategy"]).arg(&wasm).arg("--out").arg(&out),
    );
    assert_eq!(v["strategies"][0]["digest"].as_str().unwrap(), golden::SYNTH_20K[0].1);
    let native = json(bin().args(["run", "--events", "3000", "--native", "--out"]).arg(&out));
    assert_eq!(native["strategies"][0]["wasm"], false);
    assert_eq!(native["fuel"]["total"], 0);
    let _ = std::fs::remove_dir_all(&out);
}

/// The compiled tier's artefact cache: the first run stores native code, the second loads it,
/// and both report the same digests as a run without the cache; a damaged entry only warns.
#[test]
fn compiled_runs_from_the_artefact_cache_are_the_same_runs() {
    let out = tmp("artefact-cache");
    let cache = out.join("cache");
    // `run --tier compiled` of `strategies` on 5,000 synthetic events, with the cache at `dir`.
    let compiled_run = |dir: &std::ffi::OsStr, strategies: &[&str]| {
        let mut cmd = bin();
        cmd.env("LOCKSTEP_CACHE_DIR", dir).args(["run", "--events", "5000", "--tier", "compiled"]);
        for s in strategies {
            cmd.args(["--strategy", s]);
        }
        cmd.arg("--out").arg(&out);
        cmd
    };
    let run = |dir: &str| {
        digests(&json(&mut compiled_run(dir.as_ref(), &["microprice", "avellaneda-stoikov"])))
    };
    let reference = run("off");
    assert!(!cache.exists());
    let cache_str = cache.to_str().unwrap();
    assert_eq!(run(cache_str), reference);
    let entries = || std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    let stored: Vec<PathBuf> = entries();
    assert_eq!(stored.len(), 2, "one entry per module: {stored:?}");
    assert_eq!(run(cache_str), reference);
    for path in &stored {
        std::fs::write(path, b"not an artefact").unwrap();
    }
    let o = run_ok(compiled_run(cache.as_os_str(), &["microprice"]).arg("--json"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the cached artefact was refused"), "{err}");
    assert_eq!(entries(), stored);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn backtest_defaults_to_the_market_maker_and_reports_pnl() {
    let out = tmp("backtest");
    let v = json(
        bin().args(["backtest", "--events", "20000", "--maker-fee-bps", "-0.5", "--out"]).arg(&out),
    );
    let s = &v["strategies"][0];
    assert_eq!(s["name"], "avellaneda-stoikov");
    assert!(s["exchange"]["orders"].as_u64().unwrap() > 0);
    assert!(s["exchange"]["pnl"].as_str().is_some());
    assert!(s["halted"].is_null());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_strategy_out_of_fuel_is_halted_and_the_others_go_on() {
    let out = tmp("halt");
    let v = json(
        bin()
            .args(["run", "--events", "3000", "--fuel-per-event", "200"])
            .args(["--strategy", "noop", "--strategy", "microprice", "--out"])
            .arg(&out),
    );
    let s = v["strategies"].as_array().unwrap();
    assert!(s[0]["halted"].is_null());
    assert!(s[0]["events"].as_u64().unwrap() >= 3000);
    let h = &s[1]["halted"];
    assert_eq!(h["seq"], 0);
    assert!(h["error"].as_str().unwrap().contains("out of fuel"), "{h}");
    assert_eq!(s[1]["events"], 1);
    // Human output says so too, and a closed pipe is not an error.
    let o = run_ok(
        bin()
            .args(["run", "--events", "3000", "--fuel-per-event", "200"])
            .args(["--strategy", "noop", "--strategy", "microprice", "--out"])
            .arg(&out),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("HALTED at event seq 0"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn paced_replay_and_pinning() {
    let out = tmp("paced");
    // 2,000 synthetic events span about a second of tape time: at 1000x about a millisecond.
    let v = json(
        bin()
            .args(["run", "--events", "2000", "--speed", "1000", "--core", "0", "--out"])
            .arg(&out),
    );
    assert_eq!(v["mode"], "paced-x1000");
    assert_eq!(v["events"], 2000);
    let err = fails(bin().args(["run", "--events", "100", "--core", "100000", "--out"]).arg(&out));
    assert!(err.contains("--core 100000"), "{err}");
    let err =
        fails(bin().args(["run", "--events", "100", "--strategy", "no-such", "--out"]).arg(&out));
    assert!(err.contains("no-such") && err.contains("avellaneda-stoikov"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn nonsense_flags_are_refused_with_what_to_do() {
    let err = fails(bin().args(["verify", "--runs", "0", "--events", "100"]));
    assert!(err.contains("--runs") && err.contains("0"), "{err}");
    let err = fails(bin().args([
        "run",
        "--events",
        "100",
        "--strategy",
        "avellaneda-stoikov",
        "--params",
        "gamma=0.1;gamma=0.2",
    ]));
    assert!(err.contains("`gamma` is given twice"), "{err}");
    let dir = tmp("flags");
    let err = fails(
        bin()
            .args(["import", "synth", "--events", "10", "--chunk-events", "0", "--out"])
            .arg(dir.join("t.tape")),
    );
    assert!(err.contains("--chunk-events"), "{err}");
    assert!(!dir.join("t.tape").exists());
    for tick in ["0", "-0.01", "0.000000001", "1e-2"] {
        let err = fails(
            bin()
                .args([
                    "import",
                    "lobster",
                    "--message",
                    "m.csv",
                    &format!("--tick={tick}"),
                    "--out",
                ])
                .arg(dir.join("t.tape")),
        );
        assert!(err.contains("--tick") && err.contains("positive decimal price"), "{err}");
    }
    let err = fails(bin().args(["run", "--events", "100", "--speed", "1e-300"]));
    assert!(err.contains("--speed 0.000") || err.contains("too slow"), "{err}");
    // A strategy module that never ends is refused after 4 MiB, not read into memory.
    let err = fails(bin().args(["run", "--events", "10", "--strategy", "/dev/zero"]));
    assert!(err.contains("larger than 4194304 bytes"), "{err}");
    // Ordinary user errors print no backtrace, even when asked for one.
    let o = bin()
        .env("RUST_BACKTRACE", "1")
        .args(["run", "--tape", "/nonexistent/x.tape"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.starts_with("error: --tape /nonexistent/x.tape"), "{err}");
    assert!(!err.contains("backtrace") && err.lines().count() == 1, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--stop-after` and `--until` cut a tape between batches: the cut run equals the run of a
/// tape holding only what it kept.
#[test]
fn a_tape_run_stops_after_n_events_or_at_a_time() {
    let dir = tmp("stop-after");
    let (full, short) = (dir.join("full.tape"), dir.join("short.tape"));
    run_ok(bin().args(["import", "synth", "--events", "6000", "--out"]).arg(&full));
    let run = |extra: &[&str]| {
        json(bin().args(["run", "--strategy", "microprice", "--tape"]).arg(&full).args(extra))
    };
    let cut = run(&["--stop-after", "2500"]);
    let n = cut["events"].as_u64().unwrap();
    assert!((2500..2600).contains(&n), "{cut}");
    // The same events as a tape of their own give the same digest.
    run_ok(bin().args(["import", "synth", "--events", &n.to_string(), "--out"]).arg(&short));
    let alone = json(bin().args(["run", "--strategy", "microprice", "--tape"]).arg(&short));
    assert_eq!(cut["strategies"][0]["digest"], alone["strategies"][0]["digest"]);
    // A time cut: before the batch of the event after the count cut, the same run.
    let i =
        json(bin().args(["inspect", "--events", &format!("{n}..{}", n + 1), "--tape"]).arg(&full));
    let t = i["selected"][0]["exchange_ns"].as_i64().unwrap();
    let by_time = run(&["--until", &t.to_string()]);
    assert_eq!(by_time["events"].as_u64(), Some(n), "{by_time}");
    assert_eq!(by_time["strategies"][0]["digest"], cut["strategies"][0]["digest"]);
    let _ = std::fs::remove_dir_all(&dir);
}
