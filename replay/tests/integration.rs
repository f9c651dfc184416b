//! End-to-end tests of the `replay` binary: imports, runs, goldens, verification, errors.
//!
//! Tests that need the shared real data (`../shared/data` beside the repository) print a
//! notice and pass when it is absent, unless `LOCKSTEP_REQUIRE_DATA=1`, which makes them fail.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "integration/models.rs"]
mod models;
#[path = "integration/web.rs"]
mod web;

/// Golden digests: for each strategy its `digest` (what it did: the same on every tier and for
/// its native build), then its `fuel_digest` on the interpreter and on the compiled tier. They
/// change only when replay, exchange, feeder, digest, synthetic market or a strategy's
/// behaviour (or, for the fuel digests, its fuel) changes; update them deliberately, with the
/// reason. Re-blessed once when fuel moved out of `digest` into `fuel_digest`.
mod golden {
    /// (strategy, digest, interpreter fuel digest, compiled fuel digest)
    pub(super) type Golden = (&'static str, &'static str, &'static str, &'static str);
    /// `run --events 20000 --strategy noop --strategy avellaneda-stoikov --strategy microprice`.
    pub(super) const SYNTH_20K: [Golden; 3] = [
        (
            "noop",
            "39a4d86e4145035b275c9b204351c819b7a9465978002b3564e0e1cf38d8c037",
            "5e435be7e45d924062f190bd18bc4a3cb4510e5c0e435f7e33737f9e9ca39513",
            "691cab10d7da107013763149e8be9793d7d8b344c2f80bd2ac0d3c8d34bc2788",
        ),
        (
            "avellaneda-stoikov",
            "50b517e8fbb8faf36c8e9b4f82d01863b1f7ce8485e7cd4e507f77219845dffe",
            "6793f9dcd8ac73a57e125c003422baea8e6b99b3944bda1db2b1fd81237e5fbb",
            "4d8e01505f64814e3df8e713be9c5b850dcbbaf154598edede3ee96282a23bb2",
        ),
        (
            "microprice",
            "2705319a5f2bab5e599eeab6bab1989247367349cf84a24595571e4130e4837c",
            "ecc41949fd6cc3bb8f17ba00cedb05e9851d1d5149f7fd190755ab71e876d34b",
            "770c6e4ebf828d60eb64baa511151bf3de6b238f27a483a21fa3314b72e5cb2c",
        ),
    ];
    /// LOBSTER GOOG 2012-06-21 level 5, imported with its orderbook file.
    pub(super) const GOOG_EVENTS: u64 = 134_983;
    pub(super) const GOOG: [Golden; 2] = [
        (
            "noop",
            "7cd342ac99b8f98c510f8934f6e2fb22ac26968211f402b5730e845986c4e0c0",
            "7223e35e60d1391705d35a36c4c3153e686fc94b44c11b8bd2576935f95e8edb",
            "de7e2605fe46f5f2b3d64fe35340caed37d47266f00ffb436e178f751ee260cd",
        ),
        (
            "microprice",
            "6cc993e3816ed64689ea0703e95468171ff584332daf66b3eb78527450743ae9",
            "5800196cf14ba43eea235569ca0c16435a3817462150477bbbeaff77462e47f6",
            "4ccf2897b7de4ee89c62b3c0061d71378636c677a9a8eb75d329dc2140fe1554",
        ),
    ];
    /// Limit prices the GOOG tick is inferred from: messages of types 1-4, and ten per orderbook
    /// row (five levels a side).
    pub(super) const GOOG_LIMIT_PRICES: u64 = 54_907 + 16 + 46_072 + 7_765 + 112_673 * 10;
    /// `run --book-only` on the GOOG tape: a digest of every L2 view.
    pub(super) const GOOG_BOOK: &str =
        "32614d9b70ef413d644b5689ef185388452dd28a21840c376851fe31d3c64f36";
    /// Binance BTCUSDT spot capture 2024-08-08 (hftbacktest collector).
    pub(super) const BTC_EVENTS: u64 = 163_904;
    pub(super) const BTC: [Golden; 2] = [
        (
            "noop",
            "e5d9a110b1b04585e6af8982d76ff9f8d7fe2badb7d53bd7398ec18a56b8920b",
            "4a26c4449cf27d4a2f52f1b8553e4b9a1e6938ba356d6945c29e34a3f584d60b",
            "2ec49b64daf6a247c588a190b8f6d61f9657ee161414a90db8959f72001f07b1",
        ),
        (
            "avellaneda-stoikov",
            "ed7c9ea3a613f3dd9976bf0aad9d05c49cf0da463d374914f19b8154e4cf166f",
            "0c5a6aba7b7d5a71632607a02f77c324b01e11fcced27d5774adf7e2cfea3c65",
            "a8b5161c7a5c99f1c0212124c59da99bd71320ed8290d568fa5937164b6f7aaf",
        ),
    ];
    /// `book-check` on GOOG level 5, top 1..5 levels.
    pub(super) const GOOG_ROWS: u64 = 112_673;
    pub(super) const GOOG_MATCHED: [u64; 5] = [112_673, 112_673, 112_673, 112_673, 103_954];
    pub(super) const GOOG_REVEALED: u64 = 8_719;
    /// `inspect` of the GOOG tape: events by kind, and the top of book at 10:00.
    pub(super) const GOOG_KINDS: [(&str, u64); 7] = [
        ("add", 54_907),
        ("cancel", 16),
        ("delete", 46_072),
        ("execute", 7_765),
        ("forget", 9_198),
        ("hidden_execute", 3_913),
        ("level", 13_112),
    ];
    pub(super) const GOOG_TOP_10H: (Option<&str>, Option<&str>) = (Some("575.63"), Some("575.91"));
    /// Binance USD-M futures BTCUSDT capture 2024-08-08 (hftbacktest collector): every diff
    /// chains by `pu`, so no gaps.
    pub(super) const USDM_EVENTS: u64 = 532_993;
    pub(super) const USDM_GAPS: u64 = 0;
    pub(super) const USDM: [Golden; 2] = [
        (
            "noop",
            "2ee3d7dfc06da0741f49b125fcec1f8032cb824d6f508326f7a6927bdd33fba4",
            "c9b7f15ac847544f1172e48898b1cd303edc1e714e21097efe3751ece5ce14cf",
            "34e27d62ea4c522abed495e198dede4aa3913890429e6aaf7a7055b9fc6d2962",
        ),
        (
            "avellaneda-stoikov",
            "a8e1c1a087dbe6fc00a3f71c7b5475b27bdd65e999d61cc4fbae37e1c2c8f807",
            "ed266cc3c96adce936bd6782e3df7b25dbbb4caaa3f2020c9da9448b79e41c07",
            "2071ad204a129800dc175ab8ae46def5ebb1182b1d71cbf6038105770a3cbb15",
        ),
    ];
    /// Binance COIN-M futures BTCUSD_PERP capture 2024-08-08.
    pub(super) const COINM_EVENTS: u64 = 319_444;
    pub(super) const COINM_GAPS: u64 = 0;
    pub(super) const COINM: [Golden; 2] = [
        (
            "noop",
            "87fea8a63d309cab5bc9b365566b2969c1d39f2602bf610c3b8976608bfa9bba",
            "154328d33e58479b67cbf222a2fe688166bd7b8fba8ed9663292bdaeb1bf48b2",
            "9744d9714097da6015b2936119037466702c23d504f8e03beda67ad1ffd4f935",
        ),
        (
            "avellaneda-stoikov",
            "1ec3435e44f6651cc0a64a30c25ca2f29353ca5850bceda8885a97920af46159",
            "1ee5cd012e4a745cdc6355054cb4679786ecc334943b95ba74f89733ea8bf470",
            "0765009eb825b65c0acf5cacd406e0069e448714377c5e9a58fbf5b0c6f684a4",
        ),
    ];
    /// Databento ESH4 MBO snapshot (8,725 adds) with the ES definition file.
    pub(super) const DBN_MBO_EVENTS: u64 = 8_725;
    pub(super) const DBN_MBO: [Golden; 2] = [
        (
            "noop",
            "2ba107c0959da1db5a074a6048eab039c39630ff3d7880d8dfb8d4ee9396ff93",
            "9bf0d26c186cbfc3d95c335b9ef0d65273680c28623e370689067d45083c7fe8",
            "85ca0ee336fa0c3eb0a0adbea4f0d996f336c9c6ab82d658119098d02245f690",
        ),
        (
            "avellaneda-stoikov",
            "54f5c67312278062e82a274e06a285c86fb3f9494766e24c9c00cc137c31c5ac",
            "47ad441b757772feb891505bb6c2c500e9b601748d449aada501552e777c6a02",
            "cb7a03b5df7d13170d3b7c96f0bf19bef660a20fdf4a28e4c0bdcc6469bfea4e",
        ),
    ];
    /// Databento MBP-1 + trades + definition of one CME future (ESU4).
    pub(super) const DBN_MBP1_EVENTS: u64 = 2_528;
    pub(super) const DBN_MBP1_KINDS: [(&str, u64); 2] = [("quote", 2_288), ("trade", 240)];
    pub(super) const DBN_MBP1_SYMBOL: &str = "ESU4";
    /// MBP-1 records come only from messages that change the top of the book, and CME numbers
    /// messages per channel: the sequence jumps (an upper bound on loss, none here).
    pub(super) const DBN_MBP1_SEQUENCE_GAPS: u64 = 537;
    pub(super) const DBN_MBP1: [Golden; 2] = [
        (
            "noop",
            "fe31b04717e189fe5eaadcdae99fef82a461b8016651c93e1399ea4b4ed8ac7f",
            "9fd19becaa7ca55687fd414cd99996ef2131284dde49c0c9fa903ccf0af1b81c",
            "1019c580d2eef4b36764937f942de57b90c4c4ea8a0384fa79e7adec71dde288",
        ),
        (
            "avellaneda-stoikov",
            "e46eb9318da3b25e5dd40114a11bce1c479f9086cda0fc1dfe6c94761381bcb1",
            "67f78ef52044473bc3360436ae8d0fdcf9af545ac2735334b4b22ed0d52c6967",
            "20f14f5f811eb98d754b05d3ef44d8e3d68455e6bf268d598be1cdd3bec10a37",
        ),
    ];
    /// NautilusTrader's Binance USD-M depth CSV: a 100-level snapshot and one update.
    pub(super) const NT_DEPTH_EVENTS: u64 = 201;
    pub(super) const NT_DEPTH: [Golden; 2] = [
        (
            "noop",
            "9cec91bd29abe53c6af958166bce27282523331fc317e9099ea7095dd04551ad",
            "d1bd8395c816264cca082c1367f9b0a3cf645e9a47d7875e922ecd878f0ad76f",
            "61c27278e6654bd63c1f0f0cea020e3b4566f80807c10ae3d8111ba90f2da3f3",
        ),
        (
            "avellaneda-stoikov",
            "a5eb39ff53998746dd8c3a31fcf5abba88cf565bc347af71f38aa93f7bdcfe69",
            "adda0793dcf625ccef74bc505436c49dbaf9b9a2700bf5f1a9b594ddc04280bd",
            "581e08bee0186a3d8f8e5296be2f1f088b1f7f910b91db4c88813221fd930063",
        ),
    ];
    /// NautilusTrader's TrueFX USD/JPY ticks: 1,000 quotes without sizes.
    pub(super) const NT_TRUEFX: [Golden; 2] = [
        (
            "noop",
            "c7ebb52906aeafe8b9f77e87ec2d958d9198634de3298da6b8961e1829ed6bc3",
            "086ca38887286c6b395b75a87fc7ea54e767c4754b95a99f47e348f8ec78d744",
            "e5494ab57cb00a880d472fe4e2ea5f17e63317ca52d886836bb080faa7bc9abf",
        ),
        (
            "avellaneda-stoikov",
            "e2903a40db877db2f00a5deabec0ccf10a4f6126d399464994f778deed2defba",
            "f5b37699687f1856fbbc63e430ac3a245c7c7020166f960c2ab8473e4928f042",
            "5c1e5f62ed1cc31d108c1af2a5f22f6eb5c1fe0ee5a65ecbb5cd1644253ee38b",
        ),
    ];
    /// Databento one-minute BBO of two futures and two options, with the options' definitions.
    pub(super) const DBN_BBO_EVENTS: u64 = 40;
    pub(super) const DBN_BBO_SYMBOLS: [&str; 4] = ["NQM4", "ESM4", "ESM4 P5230", "ESM4 P5250"];
}

const GOOG_MSG: &str = "lobster/GOOG_2012-06-21_34200000_57600000_message_5.csv";
const GOOG_OB: &str = "lobster/GOOG_2012-06-21_34200000_57600000_orderbook_5.csv";
const BTC_CAPTURE: &str = "hftbacktest/spot/btcusdt_20240808.gz";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_replay"))
}

/// The shared data folder, or `None` (with a notice) when absent and not required.
fn data() -> Option<PathBuf> {
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
fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lockstep-replay-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Imports the shared LOBSTER GOOG level-5 sample (with its orderbook) into `tape`; returns
/// the import's JSON.
fn import_goog(data: &Path, tape: &Path) -> Value {
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

fn run_ok(cmd: &mut Command) -> Output {
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
fn json(cmd: &mut Command) -> Value {
    let o = run_ok(cmd.arg("--json"));
    let text = String::from_utf8(o.stdout).expect("utf-8");
    assert_eq!(text.trim().lines().count(), 1, "--json must print exactly one line: {text}");
    serde_json::from_str(&text).expect("valid JSON")
}

fn fails(cmd: &mut Command) -> String {
    let o = cmd.output().expect("start replay");
    assert!(!o.status.success(), "{cmd:?} should have failed");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Each strategy's (name, digest, fuel digest) in a run's JSON.
fn digests(v: &Value) -> Vec<(String, String, String)> {
    let field = |s: &Value, k: &str| s[k].as_str().unwrap().to_owned();
    v["strategies"]
        .as_array()
        .expect("strategies")
        .iter()
        .map(|s| (field(s, "name"), field(s, "digest"), field(s, "fuel_digest")))
        .collect()
}

/// Runs `command` on both tiers and checks every strategy's digest (the same on both) and its
/// fuel digest (per tier) against `golden`. Returns the interpreter run's JSON.
fn assert_goldens(command: impl Fn() -> Command, golden: &[golden::Golden]) -> Value {
    let mut reference = Value::Null;
    for (i, tier) in ["interpreter", "compiled"].into_iter().enumerate() {
        let v = json(command().args(["--tier", tier]));
        assert_eq!(v["tier"], tier);
        let want: Vec<(String, String, String)> = golden
            .iter()
            .map(|g| (g.0.to_owned(), g.1.to_owned(), (if i == 0 { g.2 } else { g.3 }).to_owned()))
            .collect();
        assert_eq!(digests(&v), want, "{tier} tier");
        if i == 0 {
            reference = v;
        }
    }
    reference
}

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
fn golden_digests_of_the_synthetic_market() {
    let out = tmp("golden-synth");
    let run = || {
        let mut c = bin();
        c.args(["run", "--events", "20000", "--strategy", "noop", "--strategy"])
            .args(["avellaneda-stoikov", "--strategy", "microprice", "--out"])
            .arg(&out);
        c
    };
    assert_goldens(run, &golden::SYNTH_20K);
    // The native builds do the same: `digest` does not depend on how the strategy runs.
    let native = json(run().arg("--native"));
    for (s, g) in native["strategies"].as_array().unwrap().iter().zip(&golden::SYNTH_20K) {
        assert_eq!((s["name"].as_str(), s["digest"].as_str()), (Some(g.0), Some(g.1)));
        assert!(s["tier"].is_null());
    }
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
            .args(["run", "--events", "3000", "--fuel-per-event", "1000"])
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
            .args(["run", "--events", "3000", "--fuel-per-event", "1000"])
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
fn verify_shows_identical_digests() {
    let out = tmp("verify");
    let v = json(
        bin()
            .args(["verify", "--events", "4000", "--strategy", "noop", "--strategy", "microprice"])
            .args(["--runs", "2", "--out"])
            .arg(&out),
    );
    assert_eq!(v["identical"], true);
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[2]["kind"], "threads");
    let first = &runs[0]["strategies"];
    for r in runs {
        assert_eq!(&r["strategies"], first);
        assert_eq!(r["digest"], v["digest"]);
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn verify_across_tiers_shows_one_digest_and_a_fuel_digest_per_tier() {
    let out = tmp("verify-tiers");
    let v = json(
        bin()
            .args(["verify", "--tiers", "--events", "3000", "--strategy", "microprice"])
            .args(["--runs", "1", "--out"])
            .arg(&out),
    );
    assert_eq!(v["identical"], true, "{v:#}");
    assert_eq!(v["tiers"], serde_json::json!(["interpreter", "compiled"]));
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4, "a process run and a thread run per tier");
    let fuel = |tier: &str| {
        runs.iter()
            .filter(|r| r["tier"] == tier)
            .map(|r| r["fuel_digest"].clone())
            .collect::<Vec<_>>()
    };
    for r in runs {
        assert_eq!(r["digest"], v["digest"]);
    }
    let (fi, fc) = (fuel("interpreter"), fuel("compiled"));
    assert_eq!(fi.len(), 2);
    assert_eq!(fi[0], fi[1], "fuel agrees within the interpreter tier");
    assert_eq!(fc[0], fc[1], "fuel agrees within the compiled tier");
    assert_ne!(fi[0], fc[0], "each tier meters its own fuel");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn traces_locate_the_first_diverging_event() {
    let out = tmp("trace");
    let trace = |dir: &str, params: &str| {
        let d = out.join(dir);
        run_ok(
            bin()
                .args(["run", "--events", "3000", "--strategy", "microprice", "--params", params])
                .arg("--trace")
                .arg(&d)
                .arg("--out")
                .arg(&out),
        );
        lockstep_replay::trace_path(&d, 0, "microprice")
    };
    let base = "instrument=0;levels=3;tick=0.01;half_spread_ticks=1;order_qty=1;max_inventory=10";
    let (a, b) = (trace("a", base), trace("b", base));
    assert_eq!(lockstep_replay::first_divergence(&a, &b, true).unwrap(), None);
    let c = trace("c", &base.replace("half_spread_ticks=1", "half_spread_ticks=2"));
    let d = lockstep_replay::first_divergence(&a, &c, true).unwrap().expect("the runs differ");
    let (x, y) = (d.a.unwrap(), d.b.unwrap());
    assert_eq!(x.seq, y.seq);
    assert_eq!(x.event, y.event, "same event, different actions");
    assert_ne!(x.actions, y.actions);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn corrupt_and_truncated_tapes_are_refused_with_chunk_and_offset() {
    let out = tmp("corrupt");
    let tape = out.join("synth.tape");
    json(
        bin()
            .args(["import", "synth", "--events", "30000", "--chunk-events", "2000", "--out"])
            .arg(&tape),
    );
    let good = std::fs::read(&tape).unwrap();
    let ok = json(bin().args(["run", "--book-only", "--tape"]).arg(&tape).arg("--out").arg(&out));
    assert_eq!(ok["events"], 30000);

    let mut bad = good.clone();
    let at = bad.len() * 2 / 5;
    bad[at] ^= 0x10;
    let flipped = out.join("flipped.tape");
    std::fs::write(&flipped, &bad).unwrap();
    let err = fails(bin().args(["run", "--tape"]).arg(&flipped).arg("--out").arg(&out));
    assert!(
        err.contains("chunk") && err.contains("byte offset") && err.contains("corrupt"),
        "{err}"
    );
    // With --json the error is the one JSON object.
    let o = bin()
        .args(["run", "--json", "--tape"])
        .arg(&flipped)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("chunk"));

    let cut = out.join("cut.tape");
    std::fs::write(&cut, &good[..good.len() * 3 / 4]).unwrap();
    let err = fails(bin().args(["run", "--tape"]).arg(&cut).arg("--out").arg(&out));
    assert!(
        err.contains("truncated") && err.contains("chunk") && err.contains("byte offset"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn import_errors_name_the_file_and_line() {
    let out = tmp("import-errors");
    let tape = out.join("t.tape");
    let write = |name: &str, text: &str| {
        let p = out.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let m = write(
        "X_message_1.csv",
        "34200.1,1,1,100,5794000,1\n34200.2,1,2,100,5795000,-1\n34200.3,9,3,100,5795000,-1\n",
    );
    let err = fails(bin().args(["import", "lobster", "--message"]).arg(&m).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:3:", m.display())) && err.contains("event type 9"), "{err}");
    let m = write("Y_message_1.csv", "34200.1,1,1,100,5794000,1\n34200.x,3,1,100,5794000,1\n");
    let err = fails(bin().args(["import", "lobster", "--message"]).arg(&m).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:2:", m.display())), "{err}");

    let t = write(
        "t.csv",
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nb,X,1,2,3,buy,1.5,2\nb,X,1,2,3,buy,1.5e3,2\n",
    );
    let err = fails(bin().arg("import").arg("tardis").arg(&t).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:3:", t.display())) && err.contains("price"), "{err}");
    let t = write("u.csv", "a,b,c\n1,2,3\n");
    let err = fails(bin().arg("import").arg("tardis").arg(&t).arg("--out").arg(&tape));
    assert!(err.contains("not a Tardis"), "{err}");

    let b = write(
        "cap.txt",
        "1 {\"stream\":\"x@trade\",\"data\":{\"e\":\"trade\",\"p\":\"1.0\",\"q\":\"1.0\",\"T\":1,\"m\":true}}\n2 {not json\n",
    );
    let err = fails(bin().arg("import").arg("binance").arg(&b).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:2:", b.display())) && err.contains("JSON"), "{err}");

    let c = write(
        "g.csv",
        "exchange_ts,local_ts,symbol,event,side,price,qty,order_id\n1,2,A,add,buy,10.5,3,1\n3,4,A,launch,buy,10.5,3,1\n",
    );
    let err = fails(bin().arg("import").arg("csv").arg(&c).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:3:", c.display())) && err.contains("launch"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn generic_csv_imports_and_replays() {
    let out = tmp("csv");
    let c = out.join("g.csv");
    std::fs::write(
        &c,
        "exchange_ts,local_ts,symbol,event,side,price,qty,order_id,more\n\
         0.5,0.500001,A,add,buy,10.25,3,1,0\n\
         0.6,0.600001,A,add,sell,10.27,2,2,0\n\
         0.7,0.700001,B,level,buy,99.5,1.5,,1\n\
         0.7,0.700001,B,level,sell,99.75,1.5,,0\n\
         0.8,0.800001,A,execute,sell,10.27,1,2,0\n\
         0.9,0.900001,A,trade,,10.26,1,,0\n",
    )
    .unwrap();
    let tape = out.join("g.tape");
    let v = json(bin().args(["import", "csv", "--ts-unit", "s"]).arg(&c).arg("--out").arg(&tape));
    assert_eq!(v["events"], 6);
    let ins = v["header"]["instruments"].as_array().unwrap();
    assert_eq!(ins.len(), 2);
    assert_eq!(ins[0]["symbol"], "A");
    assert_eq!(ins[0]["tick_size"], "0.01");
    assert_eq!(ins[1]["tick_size"], "0.01");
    let r = json(bin().args(["run", "--tape"]).arg(&tape).arg("--out").arg(&out));
    // Book A twice, book B once (one batch), a trade and a book for the execution, a trade.
    assert_eq!(r["strategy_events"], 6);
    let _ = std::fs::remove_dir_all(&out);
}

/// Every built-in strategy over `tape`: the same digest on both tiers.
fn every_builtin_agrees_across_tiers(tape: &Path, out: &Path) {
    let names = json(bin().arg("strategies"));
    let names: Vec<&str> =
        names["strategies"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let run = |tier: &str| {
        let mut c = bin();
        c.args(["run", "--no-latency", "--tier", tier, "--tape"]).arg(tape).arg("--out").arg(out);
        for n in &names {
            c.args(["--strategy", n]);
        }
        json(&mut c)
    };
    let (interpreted, compiled) = (run("interpreter"), run("compiled"));
    let pick = |v: &Value| {
        v["strategies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].clone(), s["digest"].clone(), s["actions"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(pick(&interpreted).len(), names.len());
    assert_eq!(pick(&interpreted), pick(&compiled), "{}", tape.display());
    assert_ne!(interpreted["fuel_digest"], compiled["fuel_digest"]);
}

#[test]
fn golden_digests_of_the_lobster_goog_sample() {
    let Some(d) = data() else { return };
    let out = tmp("goog");
    let tape = out.join("goog5.tape");
    let v = import_goog(&d, &tape);
    assert_eq!(v["events"], golden::GOOG_EVENTS);
    assert_eq!(v["rows"], golden::GOOG_ROWS);
    assert_eq!(v["header"]["instruments"][0]["symbol"], "GOOG");
    // GOOG quotes in cents: the greatest common divisor of its limit prices (messages of types
    // 1-4 and every orderbook level) is $0.01; its 50 hidden midpoint fills at half a cent are
    // counted, not taken as the tick.
    let t = &v["ticks"][0];
    assert_eq!(
        (t["tick_size"].as_str(), t["tick_source"].as_str()),
        (Some("0.01"), Some("inferred"))
    );
    assert_eq!(t["prices"], golden::GOOG_LIMIT_PRICES);
    let off = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["note"].as_str().unwrap().starts_with("message prices off the tick"))
        .map(|n| n["count"].as_u64().unwrap());
    assert_eq!(off, Some(50));
    let r = assert_goldens(
        || {
            let mut c = bin();
            c.args(["run", "--strategy", "noop", "--strategy", "microprice", "--tape"])
                .arg(&tape)
                .arg("--out")
                .arg(&out);
            c
        },
        &golden::GOOG,
    );
    assert_eq!(r["events"], golden::GOOG_EVENTS);
    let b = json(bin().args(["run", "--book-only", "--tape"]).arg(&tape).arg("--out").arg(&out));
    assert_eq!(b["digest"], golden::GOOG_BOOK);
    every_builtin_agrees_across_tiers(&tape, &out);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_goog_day_split_in_two_files_replays_as_the_whole_day() {
    let Some(d) = data() else { return };
    let out = tmp("goog-split");
    // The same file names in two folders: LOBSTER's own pairing of message and orderbook.
    let cut = 56_000;
    let mut args: Vec<std::ffi::OsString> = vec!["import".into(), "lobster".into()];
    let mut obs = Vec::new();
    for (part, range) in [("a", 0..cut), ("b", cut..usize::MAX)] {
        std::fs::create_dir_all(out.join(part)).unwrap();
        for (file, flag) in [(GOOG_MSG, "--message"), (GOOG_OB, "--orderbook")] {
            let text = std::fs::read_to_string(d.join(file)).unwrap();
            let rows: Vec<&str> = text.lines().collect();
            let end = range.end.min(rows.len());
            let p = out.join(part).join(Path::new(file).file_name().unwrap());
            std::fs::write(&p, rows[range.start..end].join("\n") + "\n").unwrap();
            if flag == "--message" {
                args.extend([flag.into(), p.into_os_string()]);
            } else {
                obs.extend([flag.into(), p.into_os_string()]);
            }
        }
    }
    args.extend(obs);
    let tape = out.join("split.tape");
    let v = json(bin().args(&args).arg("--out").arg(&tape));
    assert_eq!(v["events"], golden::GOOG_EVENTS);
    assert_eq!(v["rows"], golden::GOOG_ROWS);
    assert_eq!(v["header"]["instruments"].as_array().unwrap().len(), 1);
    assert_eq!(v["ticks"][0]["tick_size"], "0.01");
    // The replay of the two files is the replay of the whole day: the GOOG goldens.
    assert_goldens(
        || {
            let mut c = bin();
            c.args(["run", "--strategy", "noop", "--strategy", "microprice", "--tape"])
                .arg(&tape)
                .arg("--out")
                .arg(&out);
            c
        },
        &golden::GOOG,
    );
    let b = json(bin().args(["run", "--book-only", "--tape"]).arg(&tape).arg("--out").arg(&out));
    assert_eq!(b["digest"], golden::GOOG_BOOK);
    // Two message files and one orderbook file: refused, saying how to pair them.
    let err = fails(bin().args(&args[..args.len() - 2]).arg("--out").arg(&tape));
    assert!(err.contains("1 --orderbook for 2 --message"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn golden_digests_of_the_binance_capture() {
    let Some(d) = data() else { return };
    let out = tmp("btc");
    let tape = out.join("btc.tape");
    let v =
        json(bin().args(["import", "binance"]).arg(d.join(BTC_CAPTURE)).arg("--out").arg(&tape));
    assert_eq!(v["events"], golden::BTC_EVENTS);
    assert_goldens(
        || {
            let mut c = bin();
            c.args(["run", "--strategy", "noop", "--strategy", "avellaneda-stoikov", "--tape"])
                .arg(&tape)
                .arg("--out")
                .arg(&out);
            c
        },
        &golden::BTC,
    );
    every_builtin_agrees_across_tiers(&tape, &out);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn book_check_matches_lobsters_orderbook() {
    let Some(d) = data() else { return };
    let v = json(
        bin()
            .args(["book-check", "--levels", "5", "--message"])
            .arg(d.join(GOOG_MSG))
            .arg("--orderbook")
            .arg(d.join(GOOG_OB)),
    );
    assert_eq!(v["rows"], golden::GOOG_ROWS);
    let matched: Vec<u64> =
        v["matched"].as_array().unwrap().iter().map(|m| m.as_u64().unwrap()).collect();
    assert_eq!(matched, golden::GOOG_MATCHED);
    // Every difference is explained: all of them are levels revealed from beyond the depth.
    let classes = v["classes"].as_array().unwrap();
    let total: u64 = classes.iter().map(|c| c["rows"].as_u64().unwrap()).sum();
    assert_eq!(total, golden::GOOG_ROWS - golden::GOOG_MATCHED[4]);
    assert_eq!(classes[0]["class"], "level-revealed-from-beyond-depth");
    assert_eq!(classes[0]["rows"], golden::GOOG_REVEALED);
    let err = fails(
        bin()
            .args(["book-check", "--levels", "7", "--message"])
            .arg(d.join(GOOG_MSG))
            .arg("--orderbook")
            .arg(d.join(GOOG_OB)),
    );
    assert!(err.contains("5 levels"), "{err}");
}

#[test]
fn tardis_files_merge_by_local_time() {
    let Some(d) = data() else { return };
    let out = tmp("tardis");
    let tape = out.join("t.tape");
    let v = json(
        bin()
            .args(["import", "tardis"])
            .arg(d.join("nautilus_trader/tardis/trades.csv"))
            .arg(d.join("nautilus_trader/tardis/quotes.csv"))
            .arg("--out")
            .arg(&tape),
    );
    assert_eq!(v["rows"], 19_998);
    assert_eq!(v["events"], 19_998);
    let r = json(bin().args(["run", "--tape"]).arg(&tape).arg("--out").arg(&out));
    assert_eq!(r["strategy_events"], 19_998);
    let v = json(
        bin()
            .args(["import", "tardis"])
            .arg(d.join("nautilus_trader/tardis/deribit_incremental_book_L2_BTC-PERPETUAL.csv"))
            .arg("--out")
            .arg(&tape),
    );
    // One snapshot of 15 levels: a clear, then the levels.
    assert_eq!(v["events"], 16);
    let _ = std::fs::remove_dir_all(&out);
}

/// A hostile strategy module in WebAssembly text, written by the test into `dir`: ABI v1
/// without the SDK, 1,024 action slots at 0x10000. `$limit` writes a buy limit order for one
/// unit at 1.00 (far below the synthetic market, so it rests) with the given id into an action
/// slot; `$timer` a timer at the given time; `body` is `lockstep_on_event`'s body.
fn hostile_module(dir: &Path, name: &str, body: &str) -> PathBuf {
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

/// Every file in `dir` with its bytes, sorted by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
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

#[test]
fn failed_commands_leave_existing_files_byte_identical() {
    let dir = tmp("atomic");
    let tape = dir.join("t.tape");
    json(bin().args(["import", "synth", "--events", "3000", "--out"]).arg(&tape));
    // A csv whose last row is malformed, imported over the existing tape: refused at that
    // line, and the tape is untouched (no header-only tape, no temporary file left behind).
    let rows: String = (0..5000).map(|i| format!("{i},{i},A,add,buy,10.5,3,{}\n", i + 1)).collect();
    let csv = dir.join("g.csv");
    std::fs::write(
        &csv,
        format!("exchange_ts,local_ts,symbol,event,side,price,qty,order_id\n{rows}9,9,A,launch,buy,1,1,1\n"),
    )
    .unwrap();
    let before = snapshot(&dir);
    let err = fails(bin().arg("import").arg("csv").arg(&csv).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:5002:", csv.display())), "{err}");
    assert_eq!(snapshot(&dir), before);
    // --out naming the input (through another spelling) is refused before anything is opened
    // for writing.
    let same = dir.join(".").join("g.csv");
    let err = fails(bin().arg("import").arg("csv").arg(&csv).arg("--out").arg(&same));
    assert!(err.contains("would destroy the input"), "{err}");
    assert_eq!(snapshot(&dir), before);
    // A run that fails half-way through a corrupt tape leaves no trace that looks complete and
    // no latency files.
    let mut bytes = std::fs::read(&tape).unwrap();
    let n = bytes.len();
    bytes[n * 3 / 4] ^= 0x40;
    let bad = dir.join("bad.tape");
    std::fs::write(&bad, &bytes).unwrap();
    let traces = dir.join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let out = dir.join("out");
    let err = fails(
        bin()
            .args(["run", "--strategy", "noop", "--tape"])
            .arg(&bad)
            .arg("--trace")
            .arg(&traces)
            .arg("--out")
            .arg(&out),
    );
    assert!(err.contains("corrupt"), "{err}");
    assert_eq!(snapshot(&traces), vec![]);
    assert!(!out.exists() || snapshot(&out).is_empty());
    // The good tape then writes a complete trace.
    run_ok(
        bin()
            .args(["run", "--strategy", "noop", "--tape"])
            .arg(&tape)
            .arg("--trace")
            .arg(&traces)
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(
        snapshot(&traces).iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["0-noop.trace"]
    );
    let _ = std::fs::remove_dir_all(&dir);
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

#[test]
fn importers_apply_the_tape_rules_at_the_offending_line() {
    let dir = tmp("import-rules");
    let tape = dir.join("t.tape");
    let head = "exchange_ts,local_ts,symbol,event,side,price,qty,order_id\n";
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // A UTF-8 BOM (as spreadsheets write) is accepted.
    let c = write("bom.csv", &format!("\u{feff}{head}1,2,A,add,buy,10.5,3,1\n"));
    assert_eq!(json(bin().arg("import").arg("csv").arg(&c).arg("--out").arg(&tape))["events"], 1);
    let refused = |name: &str, rows: &str| {
        let c = write(name, &format!("{head}{rows}"));
        let err = fails(bin().arg("import").arg("csv").arg(&c).arg("--out").arg(&tape));
        (c, err)
    };
    let (c, err) = refused("neg.csv", "1,2,A,add,buy,10.5,3,1\n3,4,A,add,buy,10.5,-3,2\n");
    assert!(
        err.contains(&format!("{}:3: the event has a negative price or size", c.display())),
        "{err}"
    );
    // An empty trade price is not a price of 0.
    let (c, err) = refused("nopx.csv", "1,2,A,trade,buy,,3,\n");
    assert!(err.contains(&format!("{}:2: price \"\" is not a decimal", c.display())), "{err}");
    let (c, err) = refused("back.csv", "5,9,A,add,buy,10.5,3,1\n3,4,A,add,buy,10.5,3,2\n");
    assert!(
        err.contains(&format!(
            "{}:3: the event local time goes backwards on instrument 0 (4 ns after 9 ns)",
            c.display()
        )),
        "{err}"
    );
    // A 4 MB field is quoted in 64 characters.
    let (_, err) = refused("big.csv", &format!("1,2,A,add,buy,{},3,1\n", "9".repeat(4 << 20)));
    assert!(
        err.len() < 600 && err.contains("… ("),
        "{} bytes: {}",
        err.len(),
        &err[..err.len().min(300)]
    );
    // More instruments than a tape can hold: refused at the row that names one too many.
    let rows: String = (0..65_537).map(|i| format!("1,2,S{i},add,buy,1,1,{}\n", i + 1)).collect();
    let (c, err) = refused("many.csv", &rows);
    assert!(err.contains(&format!("{}:65538: more than 65536 instruments", c.display())), "{err}");
    // Two orders at one level whose total overflows: refused at the second one's line, and
    // the tape of the first import is byte-identical.
    let before = std::fs::read(&tape).unwrap();
    let big = "90000000000";
    let (c, err) = refused(
        "ovf.csv",
        &format!("1,2,A,add,buy,1,{big},1\n3,4,A,add,buy,1,{big},2\n5,6,A,delete,buy,1,{big},1\n"),
    );
    let overflow = format!(
        "adding {big} to the Buy level at 1, which holds {big}, overflows the level's total quantity (at most 92233720368.54775807)"
    );
    assert!(
        err.contains(&format!(
            "{}:3: instrument 0: {overflow}; the tape could not be replayed",
            c.display()
        )),
        "{err}"
    );
    assert_eq!(std::fs::read(&tape).unwrap(), before);
    // The same events on a tape written without an importer: the replay stops at the event
    // with an error naming its chunk and index, no panic, no wrapped total.
    let raw = dir.join("raw.tape");
    let ins = lockstep_replay::InstrumentInfo {
        id: 0,
        symbol: "A".into(),
        venue: "test".into(),
        tick_size: lockstep_sdk::Price(lockstep_sdk::ONE / 100),
        price_scale: 2,
    };
    let mut header = lockstep_replay::TapeHeader::new("test", vec![ins]);
    header.chunk_events = 2;
    let mut w =
        lockstep_replay::TapeWriter::create(&raw, header, lockstep_replay::Compression::None)
            .unwrap();
    let big_qty = lockstep_sdk::Qty(90_000_000_000 * lockstep_sdk::ONE);
    let px = |p: i64| lockstep_sdk::Price(p * lockstep_sdk::ONE);
    // Order 1 and order 3 rest at one level; their total overflows. Two events a chunk: the
    // third event is chunk 1's first.
    let adds = [(1, px(1), big_qty), (2, px(2), lockstep_sdk::Qty(lockstep_sdk::ONE))];
    let adds = adds.into_iter().chain([(3, px(1), big_qty), (4, px(2), big_qty)]);
    for (i, (order_id, px, qty)) in adds.enumerate() {
        let side = lockstep_sdk::Side::Buy;
        let msg = lockstep_replay::MarketEvent::Add { order_id, side, px, qty };
        let t = lockstep_sdk::Nanos(i as i64);
        w.push(&lockstep_replay::TapeEvent::new(t, t, 0, msg)).unwrap();
    }
    w.finish().unwrap();
    let err = fails(bin().args(["run", "--no-latency", "--tape"]).arg(&raw));
    assert!(
        err.contains(&format!(
            "tape chunk 1, event 0 of the chunk (tape event 2, instrument 0) cannot be replayed: {overflow}; the tape is invalid, re-import the data"
        )),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // A LOBSTER orderbook level whose size overflows is refused at its line.
    let m = write("X_message_1.csv", "34200.1,1,1,100,5794000,1\n");
    let ob = write("X_orderbook_1.csv", "5795000,100,5794000,99999999999999\n");
    let err = fails(
        bin()
            .args(["import", "lobster", "--message"])
            .arg(&m)
            .arg("--orderbook")
            .arg(&ob)
            .arg("--out")
            .arg(&tape),
    );
    assert!(
        err.contains(&format!(
            "{}:1: orderbook level 1 bid: price 5794000 or size 99999999999999 is out of range",
            ob.display()
        )),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const USDM_CAPTURE: &str = "hftbacktest/usdm/btcusdt_20240808.gz";
const COINM_CAPTURE: &str = "hftbacktest/cm/btcusd_perp_20240808.gz";

/// `replay inspect --tape T --json`.
fn inspect(tape: &Path) -> Value {
    json(bin().args(["inspect", "--tape"]).arg(tape))
}

/// `kinds` of an inspect report as (kind, count) pairs.
fn kinds(v: &Value) -> Vec<(String, u64)> {
    v["kinds"].as_object().unwrap().iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap())).collect()
}

/// Runs `noop` and `avellaneda-stoikov` over `tape` on both tiers against `golden`.
fn run_goldens(tape: &Path, out: &Path, golden: &[golden::Golden]) {
    assert_goldens(
        || {
            let mut c = bin();
            c.args(["run", "--strategy", "noop", "--strategy", "avellaneda-stoikov", "--tape"])
                .arg(tape)
                .arg("--out")
                .arg(out);
            c
        },
        golden,
    );
}

#[test]
fn binance_futures_captures_chain_by_pu_skip_nothing_and_report_the_clock_skew() {
    let Some(d) = data() else { return };
    let out = tmp("futures");
    for (file, rows, events, gaps, golden) in [
        (USDM_CAPTURE, 93_954u64, golden::USDM_EVENTS, golden::USDM_GAPS, &golden::USDM),
        (COINM_CAPTURE, 48_270, golden::COINM_EVENTS, golden::COINM_GAPS, &golden::COINM),
    ] {
        let tape = out.join("f.tape");
        let v = json(bin().args(["import", "binance"]).arg(d.join(file)).arg("--out").arg(&tape));
        assert_eq!(v["rows"], rows, "{file}");
        assert_eq!(v["events"], events, "{file}");
        assert_eq!(v["sequence_gaps"], gaps, "{file}");
        assert_eq!(v["skipped"], serde_json::json!({}), "{file}");
        assert_eq!(v["local_ts_unit"], "ns", "{file}");
        assert_eq!(v["local_ts_unit_chosen_by"], "exchange times", "{file}");
        // The collector runs about 1.27 s behind the exchange.
        let off = v["clock_offset_ns"].as_i64().unwrap();
        assert!((-1_300_000_000..-1_240_000_000).contains(&off), "{file}: {off}");
        let i = inspect(&tape);
        assert_eq!(i["events"], events);
        assert_eq!(
            (i["start_ns"].clone(), i["end_ns"].clone()),
            (v["start_ns"].clone(), v["end_ns"].clone())
        );
        run_goldens(&tape, &out, golden);
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// A small capture of three streams the tape does not use, a subscription answer, and futures
/// depth diffs chained by `pu` with one break; the local time in `unit_ns` nanoseconds.
fn capture(unit_ns: i64) -> String {
    let mut s = String::new();
    let t0 = 1_723_161_255_000i64; // ms
    let mut line = |i: i64, json: String| {
        let local_ns = (t0 + i) * 1_000_000 + 35_000_000 + i * 1_000;
        s.push_str(&format!("{} {json}\n", local_ns / unit_ns));
    };
    line(0, r#"{"result":null,"id":1}"#.to_owned());
    for (i, (big_u, u, pu)) in [(10, 12, 9), (13, 15, 12), (16, 20, 15), (25, 30, 21), (31, 33, 30)]
        .into_iter()
        .enumerate()
    {
        let i = i as i64 * 10 + 1;
        line(
            i,
            format!(
                r#"{{"stream":"btcusdt@depth@0ms","data":{{"e":"depthUpdate","E":{},"T":{},"s":"BTCUSDT","U":{big_u},"u":{u},"pu":{pu},"b":[["61000.10","{}.5"]],"a":[["61000.20","2"]]}}}}"#,
                t0 + i,
                t0 + i,
                i
            ),
        );
        line(
            i + 1,
            format!(
                r#"{{"stream":"btcusdt@markPrice@1s","data":{{"e":"markPriceUpdate","E":{},"s":"BTCUSDT","p":"61000.15"}}}}"#,
                t0 + i + 1
            ),
        );
        line(
            i + 2,
            format!(
                r#"{{"stream":"btcusdt@trade","data":{{"e":"trade","E":{},"T":{},"s":"BTCUSDT","t":{i},"p":"61000.20","q":"0.010","X":"MARKET","m":false}}}}"#,
                t0 + i + 2,
                t0 + i + 2
            ),
        );
    }
    line(
        60,
        format!(r#"{{"stream":"btcusdt@forceOrder","data":{{"e":"forceOrder","E":{}}}}}"#, t0 + 60),
    );
    line(61, format!(r#"{{"stream":"btcusdt@kline_1m","data":{{"e":"kline","E":{}}}}}"#, t0 + 61));
    s
}

#[test]
fn collector_units_are_detected_and_a_microsecond_capture_equals_its_nanosecond_rewrite() {
    let out = tmp("units");
    let mut tapes = Vec::new();
    for (unit, ns) in [("us", 1_000), ("ns", 1), ("ms", 1_000_000)] {
        let dir = out.join(unit);
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("capture.txt");
        std::fs::write(&input, capture(ns)).unwrap();
        let tape = dir.join("c.tape");
        let v = json(bin().args(["import", "binance"]).arg(&input).arg("--out").arg(&tape));
        assert_eq!(v["local_ts_unit"], unit);
        assert_eq!(v["local_ts_unit_chosen_by"], "exchange times");
        assert_eq!(v["rows"], 18);
        assert_eq!(v["sequence_gaps"], 1, "pu 21 after u 20");
        assert_eq!(
            v["skipped"],
            serde_json::json!({
                "message that is neither a stream message nor a depth snapshot": 1,
                "stream forceOrder": 1,
                "stream kline_1m": 1,
                "stream markPrice@1s": 5,
            })
        );
        assert_eq!(v["events"], 15);
        if unit != "ms" {
            tapes.push(std::fs::read(&tape).unwrap());
        }
        // The wrong unit, given, is refused with the unit and why.
        let wrong = if unit == "ns" { "us" } else { "ns" };
        let err = fails(
            bin()
                .args(["import", "binance", "--local-ts-unit", wrong])
                .arg(&input)
                .arg("--out")
                .arg(dir.join("wrong.tape")),
        );
        assert!(
            err.contains(&format!(
                "local timestamps read as {wrong} (as given by --local-ts-unit)"
            )),
            "{err}"
        );
        assert!(err.contains("days"), "{err}");
        assert!(!dir.join("wrong.tape").exists());
    }
    // Microseconds and the same capture rewritten in nanoseconds: byte-identical tapes.
    assert_eq!(tapes[0], tapes[1]);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn lobster_rows_with_long_time_fractions_and_every_event_type_import() {
    let out = tmp("lobster-types");
    let msg = out.join("XYZ_2024-01-02_34200000_57600000_message_3.csv");
    std::fs::write(
        &msg,
        "34200.0000000010000000001,1,11,100,1000000,1\n\
         34200.1000000009999999,1,12,50,1000100,-1\n\
         34200.2,2,11,10,1000000,1\n\
         34200.3,4,12,20,1000100,-1\n\
         34200.4,5,0,7,1000050,1\n\
         34200.5,6,-1,300,1000050,1\n\
         34200.6,7,0,0,-1,-1\n\
         34200.7,7,0,0,0,-1\n\
         34200.8,7,0,0,1,-1\n\
         34200.9,3,11,90,1000000,1\n",
    )
    .unwrap();
    let tape = out.join("x.tape");
    let v = json(bin().args(["import", "lobster", "--message"]).arg(&msg).arg("--out").arg(&tape));
    assert_eq!((v["rows"].as_u64(), v["events"].as_u64()), (Some(10), Some(10)));
    assert_eq!(v["start_ns"], 34_200_000_000_001i64);
    assert_eq!(v["end_ns"], 34_200_900_000_000i64);
    let i = json(bin().args(["inspect", "--events", "0..2", "--tape"]).arg(&tape));
    assert_eq!(i["instruments"][0]["symbol"], "XYZ");
    assert_eq!(i["selected"][1]["local_ns"], 34_200_100_000_001i64);
    assert_eq!(
        kinds(&i),
        [
            ("add", 2),
            ("cancel", 1),
            ("delete", 1),
            ("execute", 1),
            ("hidden_execute", 1),
            ("status", 3),
            ("trade", 1)
        ]
        .map(|(k, n)| (k.to_owned(), n))
        .to_vec()
    );
    let r = json(
        bin().args(["run", "--strategy", "microprice", "--tape"]).arg(&tape).arg("--out").arg(&out),
    );
    assert_eq!(r["events"], 10);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn inspect_reports_the_goog_tape() {
    let Some(d) = data() else { return };
    let out = tmp("inspect");
    let tape = out.join("goog.tape");
    let imp = json(
        bin()
            .args(["import", "lobster", "--compress", "--message"])
            .arg(d.join(GOOG_MSG))
            .arg("--orderbook")
            .arg(d.join(GOOG_OB))
            .arg("--out")
            .arg(&tape),
    );
    let v = inspect(&tape);
    assert_eq!(v["events"], golden::GOOG_EVENTS);
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["compression"], "deflate");
    assert_eq!(v["chunks"], golden::GOOG_EVENTS.div_ceil(4096));
    assert_eq!(v["instruments"][0]["symbol"], "GOOG");
    assert_eq!(v["instruments"][0]["tick_size"], "0.01");
    assert_eq!(v["instruments"][0]["price_scale"], 4);
    assert_eq!(kinds(&v), golden::GOOG_KINDS.map(|(k, n)| (k.to_owned(), n)).to_vec());
    assert_eq!(
        v["kinds"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum::<u64>(),
        golden::GOOG_EVENTS
    );
    assert_eq!(v["start_ns"], 34_200_015_105_074i64);
    assert_eq!(v["first_local"]["utc"], "1970-01-01T09:30:00.015105074Z");
    assert_eq!(
        (v["start_ns"].clone(), v["end_ns"].clone()),
        (imp["start_ns"].clone(), imp["end_ns"].clone())
    );
    let at = json(bin().args(["inspect", "--at", "36000000000000", "--tape"]).arg(&tape));
    let (t, tops) = (&at["at"][0], &at["at"][1]);
    assert_eq!(t["utc"], "1970-01-01T10:00:00.000000000Z");
    assert_eq!((tops[0]["bid_px"].as_str(), tops[0]["ask_px"].as_str()), golden::GOOG_TOP_10H);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn nautilus_binance_depth_and_truefx_csv_import_and_replay() {
    let Some(d) = data() else { return };
    let out = tmp("nautilus-csv");
    // Binance USD-M depth as NautilusTrader saves it: a 100-level bid snapshot and one update
    // ten minutes later, which does not chain onto it (a sequence gap).
    let tape = out.join("depth.tape");
    let v = json(
        bin()
            .args(["import", "csv"])
            .arg(d.join("nautilus_trader/binance/btcusdt-depth-snap.csv"))
            .arg(d.join("nautilus_trader/binance/btcusdt-depth-update.csv"))
            .arg("--out")
            .arg(&tape),
    );
    assert_eq!(v["rows"], 200);
    // A clear and 100 levels; then the update's 100 levels.
    assert_eq!(v["events"], golden::NT_DEPTH_EVENTS);
    assert_eq!(v["sequence_gaps"], 1);
    let ins = &v["header"]["instruments"][0];
    assert_eq!((ins["symbol"].as_str(), ins["venue"].as_str()), (Some("BTCUSDT"), Some("binance")));
    assert_eq!(ins["tick_size"], "0.1");
    let i = inspect(&tape);
    assert_eq!(kinds(&i), vec![("clear".to_owned(), 1), ("level".to_owned(), 200)]);
    assert_eq!(i["first_local"]["utc"], "2022-11-01T23:49:39.146000000Z");
    run_goldens(&tape, &out, &golden::NT_DEPTH);
    // TrueFX USD/JPY ticks: quotes without sizes.
    let tape = out.join("fx.tape");
    let v = json(
        bin()
            .args(["import", "csv"])
            .arg(d.join("nautilus_trader/truefx/usdjpy-ticks.csv"))
            .arg("--out")
            .arg(&tape),
    );
    assert_eq!((v["rows"].as_u64(), v["events"].as_u64()), (Some(1_000), Some(1_000)));
    let ins = &v["header"]["instruments"][0];
    assert_eq!(
        (ins["symbol"].as_str(), ins["tick_size"].as_str()),
        (Some("USDJPY"), Some("0.001"))
    );
    let i = inspect(&tape);
    assert_eq!(kinds(&i), vec![("quote".to_owned(), 1_000)]);
    assert_eq!(i["first_local"]["utc"], "2013-01-01T22:00:00.295000000Z");
    run_goldens(&tape, &out, &golden::NT_TRUEFX);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn databento_samples_import_inspect_and_replay() {
    let Some(d) = data() else { return };
    let db = d.join("databento");
    let out = tmp("databento");
    // MBO (a complete snapshot of ESH4) with its definition: the L3 book.
    let tape = out.join("mbo.tape");
    let v = json(
        bin()
            .args(["import", "databento"])
            .arg(db.join("esh4-glbx-mdp3-20231224.mbo.dbn.zst"))
            .arg(db.join("definition-glbx-es-fut.dbn.zst"))
            .arg("--out")
            .arg(&tape),
    );
    assert_eq!(v["events"], golden::DBN_MBO_EVENTS);
    let note = |v: &Value, k: &str| {
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["note"].as_str().unwrap().starts_with(k))
            .map(|n| n["count"].as_u64().unwrap())
    };
    assert_eq!(note(&v, "MBO snapshot records"), Some(8_725));
    assert_eq!(note(&v, "MBO snapshots closed"), Some(1));
    assert_eq!(note(&v, "MBO events after which the rebuilt book is crossed"), Some(0));
    let i = inspect(&tape);
    assert_eq!(i["instruments"][0]["symbol"], "ESH4");
    // The definition file given describes ESM3, not ESH4: the tick is inferred as the greatest
    // common divisor of ESH4's prices, the quarter point ES trades in (the finest decimals
    // would say 0.01).
    assert_eq!(i["instruments"][0]["tick_size"], "0.25");
    let t = &v["ticks"][0];
    assert_eq!((t["tick_source"].as_str(), t["prices"].as_u64()), (Some("inferred"), Some(8_725)));
    // Snapshot records carry the sequence numbers of the messages that placed their orders:
    // not checked, no gap.
    assert_eq!(v["sequence_gaps"], 0);
    assert_eq!(kinds(&i), vec![("add".to_owned(), 8_725)]);
    run_goldens(&tape, &out, &golden::DBN_MBO);
    // MBP-1 and trades of the same future, with its definition: one tape.
    let tape = out.join("mbp1.tape");
    let v = json(
        bin()
            .args(["import", "databento"])
            .arg(db.join("bars_futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst"))
            .arg(db.join("bars_futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst"))
            .arg(db.join("bars_futures_definition.dbn.zst"))
            .arg("--out")
            .arg(&tape),
    );
    assert_eq!(v["events"], golden::DBN_MBP1_EVENTS);
    assert_eq!(v["sequence_gaps"], golden::DBN_MBP1_SEQUENCE_GAPS);
    assert_eq!(v["ticks"][0]["tick_source"], "definition");
    let i = inspect(&tape);
    assert_eq!(kinds(&i), golden::DBN_MBP1_KINDS.map(|(k, n)| (k.to_owned(), n)).to_vec());
    assert_eq!(i["instruments"][0]["symbol"], golden::DBN_MBP1_SYMBOL);
    assert_eq!(i["instruments"][0]["tick_size"], "0.25");
    run_goldens(&tape, &out, &golden::DBN_MBP1);
    // One-minute BBO of a future and its options, with the options' definitions: several
    // instruments in one tape.
    let tape = out.join("bbo.tape");
    let v = json(
        bin()
            .args(["import", "databento"])
            .arg(db.join("opt-cat_futures_bbo-1m_2024-05-09T09-55_2024-05-09T10-05.dbn.zst"))
            .arg(db.join("opt-cat_options_bbo-1m_2024-05-09T09-55_2024-05-09T10-05.dbn.zst"))
            .arg(db.join("opt-cat_options_definition.dbn.zst"))
            .arg("--out")
            .arg(&tape),
    );
    assert_eq!(v["events"], golden::DBN_BBO_EVENTS);
    // BBO records are sampled: their sequence numbers are not checked.
    assert_eq!(v["sequence_gaps"], Value::Null);
    let i = inspect(&tape);
    let symbols: Vec<&str> = i["instruments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, golden::DBN_BBO_SYMBOLS);
    let r =
        json(bin().args(["run", "--strategy", "noop", "--tape"]).arg(&tape).arg("--out").arg(&out));
    assert_eq!(r["events"], golden::DBN_BBO_EVENTS);
    let _ = std::fs::remove_dir_all(&out);
}

/// The files of a report directory except the wall-clock `run.json`, by name.
fn report_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    snapshot(dir).into_iter().filter(|(n, _)| n != "run.json").collect()
}

#[test]
fn backtest_reports_are_byte_identical_across_processes_and_parquet_matches_csv() {
    let out = tmp("report-identical");
    let run = |d: &str| {
        json(
            bin()
                .args(["backtest", "--events", "30000", "--bar", "1s", "--report"])
                .arg(out.join(d))
                .arg("--out")
                .arg(&out),
        )
    };
    let (a, b) = (run("a"), run("b"));
    assert_eq!(a["digest"], b["digest"]);
    let (fa, fb) = (report_files(&out.join("a")), report_files(&out.join("b")));
    let names: Vec<&str> = fa.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "summary.json",
        "orders.csv",
        "orders.parquet",
        "fills.csv",
        "fills.parquet",
        "equity.csv",
        "equity.parquet",
        "equity.svg",
        "equity.png",
        "inventory.svg",
        "inventory.png",
        "prices.svg",
        "prices.png",
        "latency.svg",
        "latency.png",
        "report.html",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for ((na, ba), (nb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ba == bb, "{na} differs between two processes");
    }
    // The wall-clock facts are in run.json, beside them.
    let run_json: Value =
        serde_json::from_slice(&std::fs::read(out.join("a/run.json")).unwrap()).unwrap();
    assert!(run_json["elapsed_ns"].as_u64().unwrap() > 0);
    // Parquet holds exactly the CSV's rows.
    for t in ["orders", "fills", "equity"] {
        let csv = std::fs::read(out.join(format!("a/{t}.csv"))).unwrap();
        let pq = std::fs::read(out.join(format!("a/{t}.parquet"))).unwrap();
        assert_eq!(lockstep_replay::parquet_to_csv(&pq).unwrap(), csv, "{t}");
        assert!(csv.iter().filter(|&&c| c == b'\n').count() > 1, "{t} has rows");
    }
    // The summary agrees with the run, and rejects are explained by reason.
    let s: Value =
        serde_json::from_slice(&std::fs::read(out.join("a/summary.json")).unwrap()).unwrap();
    let st = &s["strategies"][0];
    assert_eq!(st["digest"], a["digest"]);
    assert_eq!(st["total"]["fills"], a["strategies"][0]["exchange"]["fills"]);
    let rejected: u64 =
        st["rejects"].as_array().unwrap().iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(rejected, st["total"]["rejects"].as_u64().unwrap());
    assert_eq!(a["report"]["dir"], out.join("a").display().to_string());
    let _ = std::fs::remove_dir_all(&out);
}

/// A tape whose mid moves 100 → 102 → 98 → 105 at one-minute steps, and a strategy that buys
/// one unit at the first event (taking the ask at 101): equity per bar -1, 1, -3, 4.
#[test]
fn report_statistics_match_a_hand_computed_equity_series() {
    let out = tmp("report-by-hand");
    let c = out.join("steps.csv");
    std::fs::write(
        &c,
        "exchange_ts,local_ts,symbol,event,side,price,qty,order_id,more\n\
         1,1,A,level,buy,99,5,,1\n\
         1,1,A,level,sell,101,5,,0\n\
         61,61,A,level,sell,103,5,,1\n\
         61,61,A,level,sell,101,0,,1\n\
         61,61,A,level,buy,101,5,,1\n\
         61,61,A,level,buy,99,0,,0\n\
         121,121,A,level,buy,97,5,,1\n\
         121,121,A,level,buy,101,0,,1\n\
         121,121,A,level,sell,99,5,,1\n\
         121,121,A,level,sell,103,0,,0\n\
         181,181,A,level,sell,106,5,,1\n\
         181,181,A,level,sell,99,0,,1\n\
         181,181,A,level,buy,104,5,,1\n\
         181,181,A,level,buy,97,0,,0\n",
    )
    .unwrap();
    let tape = out.join("steps.tape");
    run_ok(bin().args(["import", "csv", "--ts-unit", "s"]).arg(&c).arg("--out").arg(&tape));
    let buyer = hostile_module(
        &out,
        "buyer",
        "(if (result i32) (i64.eq (global.get $next) (i64.const 1))
           (then
             (call $limit (i32.const 0) (i64.const 1))
             (i64.store offset=16 (i32.const 0x10000) (i64.const 20000000000))
             (global.set $next (i64.const 2))
             (i32.const 1))
           (else (i32.const 0)))",
    );
    let dir = out.join("report");
    let v = json(
        bin()
            .args(["backtest", "--tape"])
            .arg(&tape)
            .arg("--strategy")
            .arg(&buyer)
            .arg("--report")
            .arg(&dir)
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(v["strategies"][0]["exchange"]["fills"], 1);
    let equity = std::fs::read_to_string(dir.join("equity.csv")).unwrap();
    let rows: Vec<(&str, &str)> = equity
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1], f[8])
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("60000000000", "-1"),
            ("120000000000", "1"),
            ("180000000000", "-3"),
            ("182000000000", "4")
        ]
    );
    let s: Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let t = &s["strategies"][0]["total"];
    // Changes -1, 2, -4, 7: mean 1, sample variance 66/3 = 22, downside (1 + 16)/4.
    let close = |v: &Value, want: f64| (v.as_f64().unwrap() - want).abs() < 1e-12;
    assert!(close(&t["sharpe"], 1.0 / 22f64.sqrt()), "{}", t["sharpe"]);
    assert!(close(&t["sortino"], 1.0 / 4.25f64.sqrt()), "{}", t["sortino"]);
    let per_year = s["bars_per_year"].as_f64().unwrap();
    assert_eq!(per_year, 98_280.0);
    assert!(close(&t["sharpe_annualised"], per_year.sqrt() / 22f64.sqrt()));
    // Peak 1 at 120 s, trough -3 at 180 s.
    assert_eq!(t["max_drawdown"], "4");
    assert_eq!(t["max_drawdown_peak_ns"], 120_000_000_000i64);
    assert_eq!(t["max_drawdown_ns"], 180_000_000_000i64);
    assert_eq!(t["net_pnl"], "4");
    assert_eq!(t["equity_end"], "4");
    assert_eq!(t["turnover"], "101");
    assert_eq!((t["fills"].as_u64(), t["taker_fills"].as_u64()), (Some(1), Some(1)));
    assert_eq!(t["maker_share"], 0.0);
    assert_eq!(t["fill_ratio"], 1.0);
    assert_eq!((t["inventory_min"].as_str(), t["inventory_max"].as_str()), (Some("0"), Some("1")));
    // Flat for the 20 us of order entry, then long one unit until the last event at 181 s.
    let twa = t["inventory_mean"].as_f64().unwrap();
    assert!((twa - (180e9 - 20_000.0) / 180e9).abs() < 1e-12, "{twa}");
    let fills = std::fs::read_to_string(dir.join("fills.csv")).unwrap();
    assert!(fills.lines().nth(1).unwrap().contains(",buy,101,1,0,taker,0,,1"), "{fills}");
    let _ = std::fs::remove_dir_all(&out);
}

/// The page rendered by a real headless browser: a screenshot that is not blank, and the
/// summary's values in the DOM. Chromium comes from the system packages (`.ci/run` installs
/// it); without one the test says so and passes, unless LOCKSTEP_REQUIRE_BROWSER=1.
#[test]
fn report_html_renders_in_headless_chromium() {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
    else {
        assert!(
            std::env::var("LOCKSTEP_REQUIRE_BROWSER").is_err(),
            "LOCKSTEP_REQUIRE_BROWSER is set but no chromium is installed (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium on PATH (install it with apt-get install chromium)");
        return;
    };
    let out = tmp("report-browser");
    let dir = out.join("r");
    run_ok(
        bin()
            .args(["backtest", "--events", "30000", "--bar", "1s", "--report"])
            .arg(&dir)
            .arg("--out")
            .arg(&out),
    );
    let page = format!("file://{}", dir.join("report.html").canonicalize().unwrap().display());
    let headless = |extra: &[&str]| {
        let mut c = Command::new(browser);
        c.args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            .arg(format!("--user-data-dir={}", out.join("profile").display()))
            .args(extra)
            .arg(&page);
        run_ok(&mut c)
    };
    let dom = String::from_utf8(headless(&["--dump-dom"]).stdout).unwrap();
    let s: Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let st = &s["strategies"][0]["total"];
    for (id, value) in [
        ("s0-net_pnl", st["net_pnl"].as_str().unwrap().to_owned()),
        ("s0-fills", st["fills"].to_string()),
        ("digest", s["digest"].as_str().unwrap().to_owned()),
    ] {
        let want = format!("id=\"{id}\">{value}<");
        assert!(dom.contains(&want), "the rendered DOM lacks {want}");
    }
    assert!(dom.matches("<svg").count() >= 4, "the four charts are in the page");
    let shot = out.join("shot.png");
    headless(&["--window-size=1100,1600", &format!("--screenshot={}", shot.display())]);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let step = info.color_type.samples();
    let first = &px[..step];
    let differing = px.chunks(step).filter(|p| p != &first).count();
    assert!(
        differing * 20 > px.len() / step,
        "the screenshot is (nearly) blank: {differing} pixels differ"
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// The shipped Slurm job script and Kubernetes Indexed Job, run the way each scheduler runs
/// them (its index variable per shard), merge into the unsharded sweep; each point's digest
/// equals `replay backtest` with its parameters.
#[test]
fn sweeps_shard_like_slurm_and_kubernetes_and_merge_into_the_whole() {
    let out = tmp("sweep");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sweep");
    let grid = "gamma=0.05,0.1;k=50,100";
    let whole = json(bin().args([
        "sweep",
        "--strategy",
        "avellaneda-stoikov",
        "--grid",
        grid,
        "--events",
        "20000",
        "--bar",
        "1s",
    ]));
    assert_eq!(whole["total"], 4);
    let shard_env = |c: &mut Command, dir: &str| {
        c.env("REPLAY", env!("CARGO_BIN_EXE_replay"))
            .env("GRID", grid)
            .env("EVENTS", "20000")
            .env("BAR", "1s")
            .env("OUT_DIR", out.join(dir))
            .env_remove("TAPE");
    };
    // Slurm: three array tasks.
    for i in 0..3 {
        let mut c = Command::new("sh");
        c.arg(examples.join("slurm.sbatch"))
            .env("SWEEP_DIR", &examples)
            .env("SLURM_ARRAY_TASK_ID", i.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3");
        shard_env(&mut c, "slurm");
        run_ok(&mut c);
    }
    // Kubernetes: as many pods as the manifest's completions, with its SHARD_COUNT.
    let manifest = std::fs::read_to_string(examples.join("k8s-indexed-job.yaml")).unwrap();
    let field = |key: &str| {
        let line = manifest.lines().find(|l| l.trim_start().starts_with(key)).unwrap();
        line.split(':').nth(1).unwrap().trim().trim_matches('"').to_owned()
    };
    let completions: u64 = field("completions:").parse().unwrap();
    assert!(manifest.contains(&format!("value: \"{completions}\"")), "SHARD_COUNT = completions");
    for i in 0..completions {
        let mut c = Command::new("sh");
        c.arg(examples.join("shard.sh"))
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .env("SHARD_COUNT", completions.to_string());
        shard_env(&mut c, "k8s");
        run_ok(&mut c);
    }
    let points = |v: &Value| v["points"].clone();
    for dir in ["slurm", "k8s"] {
        let mut shards: Vec<PathBuf> =
            std::fs::read_dir(out.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        shards.sort();
        let merged = json(bin().arg("sweep-merge").args(&shards));
        assert_eq!(points(&merged), points(&whole), "{dir} shards merge into the whole sweep");
        // Leaving a shard out is a gap; giving one twice a duplicate.
        let err = fails(bin().arg("sweep-merge").args(&shards[1..]));
        assert!(err.contains("missing"), "{err}");
        let err = fails(bin().arg("sweep-merge").args(&shards).arg(&shards[0]));
        assert!(err.contains("more than one shard"), "{err}");
    }
    let p = &whole["points"][3];
    let b = json(bin().args([
        "backtest",
        "--events",
        "20000",
        "--no-report",
        "--no-latency",
        "--params",
        p["params"].as_str().unwrap(),
    ]));
    assert_eq!(b["digest"], p["digest"]);
    let err = fails(bin().args([
        "sweep",
        "--strategy",
        "avellaneda-stoikov",
        "--grid",
        "gamma=",
        "--events",
        "100",
    ]));
    assert!(err.contains("malformed value"), "{err}");
    let err = fails(bin().args([
        "sweep",
        "--strategy",
        "avellaneda-stoikov",
        "--grid",
        "gamma=1",
        "--shard",
        "2/2",
    ]));
    assert!(err.contains("0 <= I < N"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}
