//! Strategies written in other languages against the same ABI: the C port of microprice
//! (`microprice-c`, `strategies/c/microprice.c`) and the AssemblyScript one (`microprice-as`,
//! `strategies/assemblyscript/microprice.ts`) do what the Rust build does, action for action,
//! on the synthetic market and on real tapes, on both tiers (and the C one natively). Their
//! fuel is their own.
//!
//! The C strategies are in the catalog when the build found clang (16 or later, with wasm-ld and
//! compiler-rt's wasm32 builtins), the AssemblyScript ones when `npm ci` installed their
//! compiler; without them these tests print a notice and pass, unless `LOCKSTEP_REQUIRE_CLANG=1`
//! or `LOCKSTEP_REQUIRE_ASC=1`, which make them fail.

use crate::common::{BTC_CAPTURE, bin, data, import_files, import_goog, json, tmp};
use crate::golden;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Whether the catalog holds `name` (a C or AssemblyScript strategy), or `false` with a notice.
fn built(name: &str) -> bool {
    let v = json(bin().arg("strategies"));
    if v["strategies"].as_array().unwrap().iter().any(|n| n == name) {
        return true;
    }
    let (require, tool) = if name.ends_with("-as") {
        (
            "LOCKSTEP_REQUIRE_ASC",
            "the AssemblyScript compiler (npm ci --prefix strategies/assemblyscript)",
        )
    } else {
        ("LOCKSTEP_REQUIRE_CLANG", "clang 16+ for wasm32")
    };
    assert!(
        std::env::var(require).as_deref() != Ok("1"),
        "{require}=1 but the catalog has no `{name}`: the build found no {tool}"
    );
    eprintln!("notice: `{name}` not built (no {tool}); skipping");
    false
}

/// Runs the Rust microprice and its port `port` side by side with `source` args, on each of
/// `hows` (`--tier T` or `--native`): their digests and action counts are equal, and the digest
/// is `want` when given. Returns the digest.
fn twins(port: &str, source: &[&str], out: &Path, hows: &[&[&str]], want: Option<&str>) -> String {
    let mut seen = Vec::new();
    for how in hows {
        let mut c: Command = bin();
        c.args(["run", "--no-latency", "--strategy", "microprice", "--strategy", port])
            .args(source)
            .args(*how)
            .arg("--out")
            .arg(out);
        let v: Value = json(&mut c);
        let s = v["strategies"].as_array().unwrap();
        let field = |i: usize, k: &str| s[i][k].to_string();
        assert_eq!(s[1]["name"], port);
        assert_eq!(field(1, "digest"), field(0, "digest"), "{source:?} {how:?}: digests differ");
        assert_eq!(field(1, "actions"), field(0, "actions"), "{source:?} {how:?}");
        assert_ne!(s[0]["actions"], 0, "{source:?}: microprice did nothing");
        if let Some(w) = want {
            assert_eq!(s[1]["digest"], w, "{source:?} {how:?}: not the golden digest");
        }
        eprintln!(
            "{port} {source:?} {how:?}: digest {} ({} actions), fuel {port} {} / Rust {}",
            field(1, "digest"),
            field(1, "actions"),
            field(1, "fuel_digest"),
            field(0, "fuel_digest")
        );
        seen.push(field(1, "digest"));
    }
    seen.dedup();
    assert_eq!(seen.len(), 1, "{source:?}: the runs differ: {seen:?}");
    seen.remove(0)
}

const TIERS: [&[&str]; 2] = [&["--tier", "interpreter"], &["--tier", "compiled"]];

#[test]
fn microprice_in_c_is_microprice_on_the_synthetic_market() {
    if !built("microprice-c") {
        return;
    }
    let out = tmp("c-synth");
    let hows = [TIERS[0], TIERS[1], &["--native"][..]];
    twins("microprice-c", &["--events", "20000"], &out, &hows, Some(golden::SYNTH_20K[2].1));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn microprice_in_assemblyscript_is_microprice_on_the_synthetic_market() {
    if !built("microprice-as") {
        return;
    }
    let out = tmp("as-synth");
    twins("microprice-as", &["--events", "20000"], &out, &TIERS, Some(golden::SYNTH_20K[2].1));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn microprice_ports_are_microprice_on_goog_and_btcusdt() {
    let ports: Vec<&str> =
        ["microprice-c", "microprice-as"].into_iter().filter(|p| built(p)).collect();
    if ports.is_empty() {
        return;
    }
    let Some(d) = data() else { return };
    let out = tmp("ports-tapes");
    let goog = out.join("goog5.tape");
    import_goog(&d, &goog);
    let btc = out.join("btc.tape");
    import_files("binance", &[d.join(BTC_CAPTURE)], &btc);
    for port in ports {
        twins(port, &["--tape", goog.to_str().unwrap()], &out, &TIERS, Some(golden::GOOG[1].1));
        twins(port, &["--tape", btc.to_str().unwrap()], &out, &TIERS, None);
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn ported_strategies_refuse_bad_parameters_with_the_rust_builds_words() {
    let mut runs = vec![("microprice", "--native")];
    if built("microprice-c") {
        runs.extend([("microprice-c", "--native"), ("microprice-c", "")]);
    }
    if built("microprice-as") {
        runs.push(("microprice-as", ""));
    }
    for (params, words) in [
        ("levels=11", "parameter `levels`=11 is out of range: must be within 1..=10"),
        ("tick=0.001000001", "parameter `tick`=\"0.001000001\" is not a price with at most 8"),
        ("size=3", "unknown parameter `size`; this strategy accepts: instrument, levels"),
        ("levels", "parameter segment \"levels\" is not of the form key=value"),
        ("order_qty=-1", "parameter `order_qty`=-1 is out of range: must be > 0"),
    ] {
        for &(strategy, how) in &runs {
            let mut c = bin();
            c.args(["run", "--events", "100", "--strategy", strategy, "--params", params])
                .args((!how.is_empty()).then_some(how));
            let out = c.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{strategy} {how} accepted {params}");
            assert!(err.contains(words), "{strategy} {how} {params}: {err}");
        }
    }
}

/// Each hostile C fixture (`strategies/c/test/hostile/<name>.c`, compiled by the catalog's
/// build script) and words the engine's refusal at load must contain.
const HOSTILE_C: &[(&str, &[&str])] = &[
    ("libc_import", &["env", "printf"]),
    ("wasi_import", &["wasi_snapshot_preview1", "fd_write"]),
    ("threads", &["thread"]),
    ("shared_memory", &["shared"]),
    ("simd", &["SIMD"]),
    ("bad_regions", &["region"]),
    ("overlapping_regions", &["overlap"]),
];

/// The same for the AssemblyScript fixtures (`strategies/assemblyscript/test/hostile/<name>.ts`):
/// the mistakes asc makes by default (its `env.abort` and `env.memory` imports), SIMD, threads,
/// and top-level code that never ends (asc runs it from the start function, which the ABI
/// allows under the init fuel budget: the load ends there).
const HOSTILE_AS: &[(&str, &[&str])] = &[
    ("env_abort", &["env", "abort"]),
    ("env_memory", &["env", "memory"]),
    ("simd", &["SIMD"]),
    ("threads", &["shared"]),
    ("start_loop", &["out of fuel at load"]),
];

/// Loads every fixture in `target/strategies/<folder>` on both tiers: each is refused with its
/// words and the strategy's name, and the folder holds exactly the listed fixtures.
fn refused_at_load(folder: &str, hostile: &[(&str, &[&str])]) {
    let dir = Path::new(lockstep_strategies::wasm_dir()).join(folder);
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut listed: Vec<String> = hostile.iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(found, listed, "{folder}: every fixture has its expected refusal here");
    for (name, words) in hostile {
        let module = dir.join(format!("{name}.wasm"));
        for tier in ["interpreter", "compiled"] {
            let out = bin()
                .args(["run", "--events", "100", "--tier", tier, "--strategy"])
                .arg(&module)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{folder}/{name} ({tier}) was accepted");
            for w in *words {
                assert!(err.contains(w), "{folder}/{name} ({tier}): no `{w}` in: {err}");
            }
            assert!(err.contains(&format!("strategy `{name}`")), "{name}: not named: {err}");
        }
    }
}

#[test]
fn hostile_c_modules_are_refused_at_load_with_what_and_where() {
    if built("microprice-c") {
        refused_at_load("c-hostile", HOSTILE_C);
    }
}

#[test]
fn hostile_assemblyscript_modules_are_refused_at_load_with_what_and_where() {
    if built("microprice-as") {
        refused_at_load("as-hostile", HOSTILE_AS);
    }
}

#[test]
fn assemblyscript_128_bit_arithmetic_agrees_with_bigint() {
    if !built("microprice-as") {
        return;
    }
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../strategies/assemblyscript/test/i128.mjs");
    let out = Command::new("node").arg(&script).output().expect("run node");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("agree with BigInt"), "{text}");
}
