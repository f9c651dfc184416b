//! Shared helpers: the `replay` binary, the shared data, temporary folders, running a command and
//! reading its JSON, the golden checks, and a hostile strategy module written in WebAssembly text.

use crate::golden;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Shared data files, under [`data`].
pub(crate) const GOOG_MSG: &str = "lobster/GOOG_2012-06-21_34200000_57600000_message_5.csv";
pub(crate) const GOOG_OB: &str = "lobster/GOOG_2012-06-21_34200000_57600000_orderbook_5.csv";
pub(crate) const BTC_CAPTURE: &str = "hftbacktest/spot/btcusdt_20240808.gz";
pub(crate) const USDM_CAPTURE: &str = "hftbacktest/usdm/btcusdt_20240808.gz";
pub(crate) const COINM_CAPTURE: &str = "hftbacktest/cm/btcusd_perp_20240808.gz";

/// The `replay` binary under test.
pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_replay"))
}

/// The shared data folder, or `None` (with a notice) when absent and not required.
pub(crate) fn data() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if d.join(GOOG_MSG).is_file() {
        return Some(d);
    }
    assert!(
        std::env::var("LOCKSTEP_REQUIRE_DATA").as_deref() != Ok("1"),
        "LOCKSTEP_REQUIRE_DATA=1 but the shared data is missing at {}",
        d.display()
    );
    eprintln!(
        "notice: shared data not found at {}; skipping (set LOCKSTEP_REQUIRE_DATA=1 to fail instead)",
        d.display()
    );
    None
}

/// A fresh temporary directory for one test.
pub(crate) fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lockstep-replay-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Imports the shared LOBSTER GOOG level-5 sample (with its orderbook) into `tape`; returns
/// the import's JSON.
pub(crate) fn import_goog(data: &Path, tape: &Path) -> Value {
    json(
        bin()
            .args(["import", "lobster", "--message"])
            .arg(data.join(GOOG_MSG))
            .arg("--orderbook")
            .arg(data.join(GOOG_OB))
            .arg("--out")
            .arg(tape),
    )
}

/// Runs `cmd` and asserts it succeeded; returns its output.
pub(crate) fn run_ok(cmd: &mut Command) -> Output {
    let o = cmd.output().expect("start replay");
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    o
}

/// Runs with `--json` and parses the single JSON object printed on stdout.
pub(crate) fn json(cmd: &mut Command) -> Value {
    let o = run_ok(cmd.arg("--json"));
    let text = String::from_utf8(o.stdout).expect("utf-8");
    assert_eq!(text.trim().lines().count(), 1, "--json must print exactly one line: {text}");
    serde_json::from_str(&text).expect("valid JSON")
}

/// Runs `cmd` and asserts it failed; returns its stderr.
pub(crate) fn fails(cmd: &mut Command) -> String {
    let o = cmd.output().expect("start replay");
    assert!(!o.status.success(), "{cmd:?} should have failed");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Each strategy's (name, digest, fuel digest) in a run's JSON.
pub(crate) fn digests(v: &Value) -> Vec<(String, String, String)> {
    let field = |s: &Value, k: &str| s[k].as_str().unwrap().to_owned();
    v["strategies"]
        .as_array()
        .expect("strategies")
        .iter()
        .map(|s| (field(s, "name"), field(s, "digest"), field(s, "fuel_digest")))
        .collect()
}

/// Writes the digests `got` over the `want`ed ones in `golden.rs` (an intended change; review
/// the diff). Run the tests one at a time for it: each rewrites the file.
fn bless(
    want: &[(String, String, String)],
    got: &[(String, String, String)],
) -> Vec<(String, String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/golden.rs");
    let mut text = std::fs::read_to_string(&path).expect("golden.rs");
    for (w, g) in want.iter().zip(got) {
        for (old, new) in [(&w.1, &g.1), (&w.2, &g.2)] {
            if old != new {
                text = text.replacen(old.as_str(), new, 1);
            }
        }
    }
    std::fs::write(&path, text).expect("write golden.rs");
    got.to_vec()
}

/// Runs `command` on both tiers and checks every strategy's digest and fuel digest (both the
/// same on both tiers) against `golden`. Returns the interpreter run's JSON.
pub(crate) fn assert_goldens(command: impl Fn() -> Command, golden: &[golden::Golden]) -> Value {
    let mut reference = Value::Null;
    let mut want: Vec<(String, String, String)> =
        golden.iter().map(|g| (g.0.to_owned(), g.1.to_owned(), g.2.to_owned())).collect();
    for tier in ["interpreter", "compiled"] {
        let v = json(command().args(["--tier", tier]));
        assert_eq!(v["tier"], tier);
        if tier == "interpreter" && std::env::var_os("LOCKSTEP_BLESS").is_some_and(|b| b == "1") {
            // The compiled tier is still checked, against the interpreter's new digests.
            want = bless(&want, &digests(&v));
        }
        assert_eq!(
            digests(&v),
            want,
            "{tier} tier (LOCKSTEP_BLESS=1 with --test-threads=1 accepts an intended change into golden.rs)"
        );
        if tier == "interpreter" {
            reference = v;
        }
    }
    reference
}

/// Runs `strategies` over `tape` on both tiers against `golden` (see [`assert_goldens`]);
/// returns the interpreter run's JSON.
pub(crate) fn tape_goldens(
    tape: &Path,
    out: &Path,
    strategies: &[&str],
    golden: &[golden::Golden],
) -> Value {
    assert_goldens(
        || {
            let mut c = bin();
            c.arg("run");
            for s in strategies {
                c.args(["--strategy", s]);
            }
            c.arg("--tape").arg(tape).arg("--out").arg(out);
            c
        },
        golden,
    )
}

/// Runs `noop` and `avellaneda-stoikov` over `tape` on both tiers against `golden`.
pub(crate) fn run_goldens(tape: &Path, out: &Path, golden: &[golden::Golden]) {
    tape_goldens(tape, out, &["noop", "avellaneda-stoikov"], golden);
}

/// `replay import <format> <files>... --out <tape> --json`: the import's JSON.
pub(crate) fn import_files(format: &str, files: &[PathBuf], tape: &Path) -> Value {
    json(bin().args(["import", format]).args(files).arg("--out").arg(tape))
}

/// `replay inspect --tape T --json`.
pub(crate) fn inspect(tape: &Path) -> Value {
    json(bin().args(["inspect", "--tape"]).arg(tape))
}

/// `kinds` of an inspect report as (kind, count) pairs.
pub(crate) fn kinds(v: &Value) -> Vec<(String, u64)> {
    v["kinds"].as_object().unwrap().iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap())).collect()
}

/// Every file in `dir` with its bytes, sorted by name.
pub(crate) fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// A hostile strategy module in WebAssembly text, written by the test into `dir`: ABI v1
/// without the SDK, 1,024 action slots at 0x10000. `$limit` writes a buy limit order for one
/// unit at 1.00 (far below the synthetic market, so it rests) with the given id into an action
/// slot; `$timer` a timer at the given time; `body` is `lockstep_on_event`'s body.
pub(crate) fn hostile_module(dir: &Path, name: &str, body: &str) -> PathBuf {
    let wat = format!(
        r#"(module
  (import "lockstep" "memory" (memory 2))
  (data (i32.const 0)
    "\01\00\00\00" "\40\00\00\00" "\00\00\01\00" "\00\04\00\00"
    "\00\02\00\00" "\00\04\00\00" "\00\01\00\00" "\00\00\00\00")
  (global $next (mut i64) (i64.const 1))
  (func (export "lockstep_abi_version") (result i32) (i32.const 1))
  (func (export "lockstep_regions") (result i32) (i32.const 0))
  (func (export "lockstep_init") (param i32) (result i32) (i32.const 0))
  (func $slot (param $i i32) (result i32)
    (local $a i32)
    (local.set $a (i32.add (i32.const 0x10000) (i32.mul (local.get $i) (i32.const 64))))
    (memory.fill (local.get $a) (i32.const 0) (i32.const 64))
    (local.get $a))
  (func $limit (param $i i32) (param $id i64)
    (local $a i32)
    (local.set $a (call $slot (local.get $i)))
    (i32.store16 (local.get $a) (i32.const 1))
    (i32.store8 offset=4 (local.get $a) (i32.const 1))
    (i64.store offset=8 (local.get $a) (local.get $id))
    (i64.store offset=16 (local.get $a) (i64.const 100000000))
    (i64.store offset=24 (local.get $a) (i64.const 100000000)))
  (func $timer (param $i i32) (param $at i64)
    (local $a i32)
    (local.set $a (call $slot (local.get $i)))
    (i32.store16 (local.get $a) (i32.const 5))
    (i64.store offset=8 (local.get $a) (i64.const 1))
    (i64.store offset=32 (local.get $a) (local.get $at)))
  ;; Writes `n` limit orders with fresh ids; returns `n`.
  (func $flood (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $limit (local.get $i) (global.get $next))
        (global.set $next (i64.add (global.get $next) (i64.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $n))
  (func (export "lockstep_on_event") (result i32) {body}))"#
    );
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, wat::parse_str(&wat).expect("test WAT parses")).expect("write module");
    path
}
