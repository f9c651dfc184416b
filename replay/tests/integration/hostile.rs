//! Hostile strategies are contained: venue budgets halt a flood, a timer chain and an endless
//! reject loop while a neighbour runs on unchanged, and guest text and text from files (tape
//! sources, symbols, venues, sweep shards) are escaped and capped wherever they are printed.

use crate::common::{bin, fails, hostile_module, json, run_ok, tmp};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Runs `hostile` beside avellaneda-stoikov with `extra` flags and checks: the hostile strategy
/// is halted by `budget`, the run finishes, and the neighbour's digest equals its solo run's.
/// Returns the hostile strategy's report.
fn contained(hostile: &Path, extra: &[&str], budget: &str) -> Value {
    let out = tmp(&format!("contained-{}", hostile.file_stem().unwrap().to_string_lossy()));
    let run_on = |tier: &str, strategies: &[&str]| {
        let mut c = bin();
        c.args(["run", "--events", "3000", "--no-latency", "--tier", tier]).args(extra);
        for s in strategies {
            c.args(["--strategy", s]);
        }
        json(&mut c)
    };
    let run = |strategies: &[&str]| run_on("interpreter", strategies);
    let h = hostile.to_str().unwrap();
    let both = run(&[h, "avellaneda-stoikov"]);
    let solo = run(&["avellaneda-stoikov"]);
    // The compiled tier halts the same strategy at the same event for the same budget.
    let compiled = run_on("compiled", &[h, "avellaneda-stoikov"]);
    assert_eq!(compiled["strategies"][1]["digest"], solo["strategies"][0]["digest"]);
    assert_eq!(compiled["strategies"][0]["halted"], both["strategies"][0]["halted"]);
    assert_eq!(compiled["strategies"][0]["digest"], both["strategies"][0]["digest"]);
    assert_eq!(both["events"], 3000, "the run finishes");
    let s = &both["strategies"];
    assert_eq!(s[1]["name"], "avellaneda-stoikov");
    assert!(s[1]["halted"].is_null());
    assert_eq!(s[1]["digest"], solo["strategies"][0]["digest"], "neighbour's digest equals solo");
    let b = &s[0]["budget_exceeded"];
    assert_eq!(b["budget"], budget, "{}", s[0]);
    let err = s[0]["halted"]["error"].as_str().expect("hostile strategy halted");
    assert!(err.contains(&format!("crossed its venue budget of {} {budget}", b["limit"])), "{err}");
    assert!(err.contains(b["flag"].as_str().unwrap()), "{err}");
    let _ = std::fs::remove_dir_all(&out);
    s[0].clone()
}

#[test]
fn a_strategy_flooding_orders_is_halted_by_its_actions_budget() {
    let dir = tmp("hostile-flood");
    let m = hostile_module(&dir, "flood", "(call $flood (i32.const 1024))");
    let s = contained(&m, &[], "actions per event");
    assert_eq!(s["halted"]["seq"], 0);
    assert_eq!(s["budget_exceeded"]["seq"], 0);
    assert_eq!(s["budget_exceeded"]["limit"], 256);
    assert_eq!(s["events"], 1);
    // The flag moves the limit: 1,024 orders a call then cross the resting-orders budget.
    let s = contained(&m, &["--max-actions-per-event", "1024"], "resting orders");
    assert_eq!(s["budget_exceeded"]["limit"], 10_000);
    assert_eq!(s["exchange"]["open_orders"], 10_000);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_timer_rearmed_one_nanosecond_ahead_is_halted_by_the_timer_budget() {
    let dir = tmp("hostile-timer");
    // Every event (timers included) arms timer 1 at its own local time + 1 ns.
    let m = hostile_module(
        &dir,
        "chain",
        "(call $timer (i32.const 0) (i64.add (i64.load (i32.const 88)) (i64.const 1))) (i32.const 1)",
    );
    let s = contained(&m, &[], "timers fired per second of tape time");
    assert_eq!(s["budget_exceeded"]["limit"], 100_000);
    // A timer budget of 1 live timer: the second arming crosses it at once.
    let m = hostile_module(
        &dir,
        "two-timers",
        "(call $timer (i32.const 0) (i64.const 0)) (call $timer (i32.const 1) (i64.const 0)) (i32.const 2)",
    );
    let s = contained(&m, &["--max-live-timers", "1"], "live timers");
    assert_eq!(s["halted"]["seq"], 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_strategy_reusing_an_order_id_forever_is_halted_by_its_message_budget() {
    let dir = tmp("hostile-reuse");
    // Every event, rejects included, places order 7 again: with zero latency each reject comes
    // back at the same instant, a loop that never lets the tape move on.
    let m =
        hostile_module(&dir, "reuse", "(call $limit (i32.const 0) (i64.const 7)) (i32.const 1)");
    let zero = ["--entry-latency-ns", "0", "--feed-latency-ns", "0"];
    let s = contained(&m, &zero, "venue messages per market event or second of tape time");
    assert_eq!(s["budget_exceeded"]["limit"], 100_000);
    assert!(s["exchange"]["rejects"].as_u64().unwrap() >= 49_999, "{s}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Asserts `text` holds no control character but newlines ending lines, and no line starting
/// with `forged`.
fn assert_clean(text: &str, forged: &str) {
    for line in text.lines() {
        assert!(!line.chars().any(char::is_control), "control character in {line:?}");
        assert!(!line.trim_start().starts_with(forged), "forged line {line:?} in\n{text}");
    }
}

#[test]
fn guest_text_is_escaped_and_capped_wherever_it_is_printed() {
    let dir = tmp("guest-text");
    // On its first event the guest fails with a message that clears the screen, forges a
    // `digest:` line and drags 5,000 NULs behind it.
    let fail = dir.join("fail.wasm");
    let wat = r#"(module
  (import "lockstep" "memory" (memory 1))
  (import "lockstep" "fail" (func $fail (param i32 i32)))
  (data (i32.const 0)
    "\01\00\00\00" "\40\00\00\00" "\80\00\00\00" "\04\00\00\00"
    "\00\02\00\00" "\00\04\00\00" "\00\01\00\00" "\00\00\00\00")
  (data (i32.const 2048) "\1b[2J\ndigest: 0000\n")
  (func (export "lockstep_abi_version") (result i32) (i32.const 1))
  (func (export "lockstep_regions") (result i32) (i32.const 0))
  (func (export "lockstep_init") (param i32) (result i32) (i32.const 0))
  (func (export "lockstep_on_event") (result i32)
    (call $fail (i32.const 2048) (i32.const 5018)) (i32.const 0)))"#;
    std::fs::write(&fail, wat::parse_str(wat).unwrap()).unwrap();
    let o = run_ok(
        bin()
            .args(["run", "--events", "200", "--no-latency", "--strategy"])
            .arg(&fail)
            .args(["--strategy", "noop"]),
    );
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert_clean(&stdout, "digest: 0000");
    let halted = stdout.lines().find(|l| l.contains("HALTED")).expect("halt reported");
    assert!(
        halted.contains("strategy panicked on event seq 0: \\u{1b}[2J\\ndigest: 0000\\n\\u{0}"),
        "{halted}"
    );
    // The engine reads at most 4 KiB of the message; 200 characters of it are shown.
    assert!(halted.contains("… (3896 more bytes); it is halted"), "{halted}");
    let v = json(
        bin()
            .args(["run", "--events", "200", "--no-latency", "--strategy"])
            .arg(&fail)
            .args(["--strategy", "noop"]),
    );
    let err = v["strategies"][0]["halted"]["error"].as_str().unwrap();
    assert!(err.ends_with("… (3896 more bytes); it is halted"), "{err:?}");
    assert!(!err.chars().any(char::is_control), "{err:?}");
    // An import name and an init refusal are guest text too: the run is refused, cleanly.
    let import = dir.join("import.wasm");
    let wat = r#"(module (import "lockstep" "x\0a\1b[2Jdigest: 0000" (func)))"#;
    std::fs::write(&import, wat::parse_str(wat).unwrap()).unwrap();
    let err = fails(bin().args(["run", "--events", "10", "--strategy"]).arg(&import));
    assert_clean(&err, "digest: 0000");
    assert!(err.contains("imports `lockstep.x\\n\\u{1b}[2Jdigest: 0000`"), "{err}");
    let refuse = dir.join("refuse.wasm");
    let wat = r#"(module
  (import "lockstep" "memory" (memory 1))
  (data (i32.const 0)
    "\01\00\00\00" "\40\00\00\00" "\80\00\00\00" "\04\00\00\00"
    "\00\02\00\00" "\00\04\00\00" "\00\01\00\00" "\00\00\00\00")
  (func (export "lockstep_abi_version") (result i32) (i32.const 1))
  (func (export "lockstep_regions") (result i32) (i32.const 0))
  (data (i32.const 1024) "\1b[2J\ndigest: 0000\n")
  (func (export "lockstep_init") (param i32) (result i32) (i32.const -18))
  (func (export "lockstep_on_event") (result i32) (i32.const 0)))"#;
    std::fs::write(&refuse, wat::parse_str(wat).unwrap()).unwrap();
    let o = bin()
        .args(["run", "--events", "10", "--json", "--strategy"])
        .arg(&refuse)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert_clean(&err, "digest:");
    assert!(err.contains("strategy refused to start: \\u{1b}[2J\\ndigest: 0000\\n"), "{err}");
    let v: Value = serde_json::from_slice(&o.stdout).expect("one JSON error object");
    assert!(!v["error"].as_str().unwrap().chars().any(char::is_control), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_and_sweep_merge_never_write_over_their_inputs_and_bound_what_they_read() {
    let dir = tmp("sweep-over-inputs");
    let shard = dir.join("shard.json");
    json(
        bin()
            .args(["sweep", "--strategy", "microprice", "--point", "order_qty=1", "--events"])
            .arg("2000")
            .arg("--out")
            .arg(&shard),
    );
    let before = std::fs::read(&shard).unwrap();
    // The merged output over one of the shards it merges: refused, the shard untouched.
    let e = fails(bin().arg("sweep-merge").arg(&shard).arg("--out").arg(&shard));
    assert!(e.contains("would destroy the input"), "{e}");
    assert_eq!(std::fs::read(&shard).unwrap(), before);
    // A sweep's output over its own strategy module: refused before any point runs.
    let module = dir.join("m.wasm");
    std::fs::write(&module, b"\0asm-kept").unwrap();
    let e = fails(
        bin()
            .args(["sweep", "--point", "a=1", "--strategy"])
            .arg(&module)
            .arg("--out")
            .arg(&module),
    );
    assert!(e.contains("would destroy the input"), "{e}");
    assert_eq!(std::fs::read(&module).unwrap(), b"\0asm-kept");
    // An endless input is read to a bound, not to the end of memory.
    if Path::new("/dev/zero").exists() {
        let e = fails(bin().args(["sweep-merge", "/dev/zero"]));
        assert!(e.contains("larger than") && e.contains("/dev/zero"), "{e}");
    }
}

#[test]
fn a_flag_cannot_remove_a_bound() {
    let max = u64::MAX.to_string();
    for (flag, value) in [
        ("--fuel-per-event", max.as_str()),
        ("--fuel-per-event", "0"),
        ("--max-messages-per-event", max.as_str()),
        ("--max-actions-per-event", "0"),
        ("--max-resting-orders", max.as_str()),
        ("--max-live-timers", max.as_str()),
        ("--max-timers-per-sec", max.as_str()),
    ] {
        let e = fails(bin().args(["run", "--events", "100", flag, value]));
        assert!(e.contains(&format!("is {value}: give 1 to")), "{flag} {value}: {e}");
        let e = fails(bin().args(["verify", "--runs", "1", "--events", "100", flag, value]));
        assert!(e.contains("give 1 to"), "verify {flag} {value}: {e}");
    }
    let e = fails(bin().args([
        "sweep",
        "--strategy",
        "noop",
        "--point",
        "x=1",
        "--fuel-per-event",
        &max,
    ]));
    assert!(e.contains("give 1 to"), "{e}");
}

/// Text that clears the screen and starts a line of its own, as a file may carry it.
const FORGED: &str = "\x1b[2J\nforged line";

/// Writes (without an importer) a one-instrument tape whose source, symbol and venue carry
/// [`FORGED`]: a minute of asks at 10.00 and bids at 9.99, one a second.
fn forged_tape(path: &Path) {
    use lockstep_sdk::{Nanos, ONE, Price, Qty, Side};
    use lockstep_sim::{InstrumentInfo, MarketEvent, TapeEvent, TapeHeader};
    let ins = InstrumentInfo {
        id: 0,
        symbol: format!("SYM{FORGED}\u{202e}"),
        venue: format!("VENUE{FORGED}"),
        tick_size: Price(ONE / 100),
        price_scale: 2,
        lot_size: lockstep_sdk::Qty(lockstep_sdk::ONE),
        contract: lockstep_sim::Contract::LINEAR,
        currency: "USD".into(),
        time_zone: "UTC".into(),
    };
    let header = TapeHeader::new(format!("source{FORGED}"), vec![ins]);
    let mut w =
        lockstep_io::TapeFile::create(path, header, lockstep_sim::Compression::None).unwrap();
    let qty = Qty(5 * ONE);
    for k in 0..60i64 {
        let (side, px) = if k % 2 == 0 { (Side::Sell, 1000) } else { (Side::Buy, 999) };
        let msg = MarketEvent::Add { order_id: k as u64 + 1, side, px: Price(px * ONE / 100), qty };
        let t = Nanos(1_000_000_000 * (k + 1));
        w.push(&TapeEvent::new(t, t, 0, msg)).unwrap();
    }
    w.finish().unwrap();
}

/// Checks `o`'s stdout and stderr with [`assert_clean`] against the forged line; returns stdout.
fn clean_output(o: &std::process::Output) -> String {
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_clean(&stdout, "forged line");
    assert_clean(&stderr, "forged line");
    stdout.into_owned()
}

/// Every file of `dir` whose name ends in `ext`.
fn files_ending(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    v.sort();
    v
}

#[test]
fn text_from_files_is_escaped_wherever_it_is_printed_or_drawn() {
    let dir = tmp("file-text");
    // An import whose input file's name (the tape's source) and symbol carry escapes.
    let csv = dir.join(format!("in{FORGED}.csv"));
    std::fs::write(
        &csv,
        "exchange_ts,local_ts,symbol,event,side,price,qty,order_id\n\
         1,1,A\x1b[2J\u{202e},add,buy,9.99,5,1\n2,2,A\x1b[2J\u{202e},add,sell,10.00,5,2\n",
    )
    .unwrap();
    let imported = dir.join("imported.tape");
    let o = run_ok(bin().args(["import", "csv"]).arg(&csv).arg("--out").arg(&imported));
    let text = clean_output(&o);
    assert!(text.contains(" in\\u{1b}[2J\\nforged line.csv\n"), "{text}");
    assert!(text.contains("instrument 0: A\\u{1b}[2J\\u{202e} on "), "{text}");
    // JSON carries the text as it is (JSON escapes it).
    let v = json(bin().args(["import", "csv"]).arg(&csv).arg("--out").arg(&imported));
    assert!(v["header"]["source"].as_str().unwrap().ends_with(&format!(" in{FORGED}.csv")));
    assert_eq!(v["header"]["instruments"][0]["symbol"], "A\x1b[2J\u{202e}");

    let tape = dir.join("forged.tape");
    forged_tape(&tape);
    for t in [&imported, &tape] {
        let o = run_ok(bin().args(["inspect", "--at", "5000000000", "--tape"]).arg(t));
        clean_output(&o);
    }
    let o = run_ok(bin().args(["inspect", "--tape"]).arg(&tape));
    let text = clean_output(&o);
    assert!(text.contains("source: source\\u{1b}[2J\\nforged line"), "{text}");
    assert!(
        text.contains("instrument 0: SYM\\u{1b}[2J\\nforged line\\u{202e} on VENUE\\u{1b}[2J\\nforged line, tick"),
        "{text}"
    );
    let v = json(bin().args(["inspect", "--tape"]).arg(&tape));
    assert_eq!(v["instruments"][0]["venue"], format!("VENUE{FORGED}"));

    let run = || {
        let mut c = bin();
        c.args(["run", "--no-latency", "--strategy", "noop", "--out"]).arg(&dir);
        c.arg("--tape").arg(&tape);
        c
    };
    let text = clean_output(&run_ok(&mut run()));
    assert!(text.contains("tape: source\\u{1b}[2J\\nforged line"), "{text}");
    assert!(text.contains("instruments: 0 SYM\\u{1b}[2J\\nforged line\\u{202e}"), "{text}");
    let v = json(&mut run());
    assert_eq!(v["tape"]["source"], format!("source{FORGED}"));

    // A backtest with a report: the text, the page and every chart.
    let buyer = hostile_module(
        &dir,
        "buyer",
        "(if (result i32) (i64.eq (global.get $next) (i64.const 1))
           (then
             (call $limit (i32.const 0) (i64.const 1))
             (i64.store offset=16 (i32.const 0x10000) (i64.const 20000000000))
             (global.set $next (i64.const 2))
             (i32.const 1))
           (else (i32.const 0)))",
    );
    let report = dir.join("report");
    let o = run_ok(
        bin()
            .args(["backtest", "--bar", "1s", "--tape"])
            .arg(&tape)
            .arg("--strategy")
            .arg(&buyer)
            .arg("--report")
            .arg(&report)
            .arg("--out")
            .arg(&dir),
    );
    clean_output(&o);
    let page = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert_clean(&page, "forged line");
    assert!(page.contains("source\\u{1b}[2J\\nforged line"), "the source is shown escaped");
    assert!(page.contains("<th>SYM\\u{1b}[2J\\nforged line\\u{202e}</th>"), "{page}");
    let charts = files_ending(&report, ".svg");
    assert_eq!(charts.len(), 5, "{charts:?}");
    for svg in charts {
        let text = std::fs::read_to_string(&svg).unwrap();
        assert_clean(&text, "forged line");
    }
    let prices = std::fs::read_to_string(report.join("prices.svg")).unwrap();
    assert!(prices.contains("SYM\\u{1b}[2J\\nforged line"), "the symbol is drawn escaped");

    let o = run_ok(
        bin()
            .args(["verify", "--runs", "1", "--strategy", "noop", "--out"])
            .arg(&dir)
            .arg("--tape")
            .arg(&tape),
    );
    clean_output(&o);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_merge_prints_the_text_of_shard_files_escaped() {
    let dir = tmp("sweep-merge-text");
    let shard = dir.join("shard.json");
    json(
        bin()
            .args(["sweep", "--strategy", "microprice", "--point", "order_qty=1", "--events"])
            .arg("2000")
            .arg("--out")
            .arg(&shard),
    );
    let mut v: Value = serde_json::from_slice(&std::fs::read(&shard).unwrap()).unwrap();
    v["strategy"] = format!("microprice{FORGED}").into();
    v["grid"] = format!("order_qty=1{FORGED}").into();
    let p = &mut v["points"][0];
    p["params"] = format!("order_qty=1{FORGED}").into();
    p["pnl"] = format!("0{FORGED}").into();
    p["max_drawdown"] = format!("0{FORGED}").into();
    // Byte 16 falls inside a two-byte character.
    p["digest"] = format!("a{}", "é".repeat(40)).into();
    std::fs::write(&shard, serde_json::to_vec(&v).unwrap()).unwrap();
    let merged = dir.join("merged.json");
    let o = run_ok(bin().arg("sweep-merge").arg(&shard).arg("--out").arg(&merged));
    let text = clean_output(&o);
    assert!(text.contains("order_qty=1\\u{1b}[2J\\nforged line"), "{text}");
    assert!(
        text.contains(&format!("  a{}\n", "é".repeat(15))),
        "the digest's first 16 characters: {text}"
    );
    // The JSON outputs keep the text as it is, and stay JSON.
    let m: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    assert_eq!(m["points"][0]["params"], format!("order_qty=1{FORGED}"));
    let j = json(bin().arg("sweep-merge").arg(&shard));
    assert_eq!(j["points"], v["points"]);
    let _ = std::fs::remove_dir_all(&dir);
}
