//! Straight = resumed through the CLI: `--checkpoint-at N --checkpoint FILE`, then `--resume
//! FILE` on either tier, reaches the straight run's digests (and report) on the synthetic
//! market and on LOBSTER's GOOG sample; `verify --resume-at` checks it for every built-in;
//! bad checkpoints and misuse are refused with a message that says what to do.

use crate::common::{bin, data, fails, import_goog, json, tmp};
use serde_json::Value;
use std::path::Path;

fn digests(v: &Value) -> Vec<(String, String)> {
    v["strategies"]
        .as_array()
        .expect("strategies")
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["digest"].as_str().unwrap().to_owned()))
        .collect()
}

/// A straight backtest on `tier`, and the same stopped at `at` on `first` and resumed on
/// `tier`; returns both outputs.
fn straight_and_resumed(
    dir: &Path,
    source: &[&str],
    at: u64,
    first: &str,
    tier: &str,
) -> [Value; 2] {
    let ck = dir.join(format!("at-{at}-{first}.ckpt"));
    let straight = json(
        bin()
            .current_dir(dir)
            .args(["backtest", "--no-latency", "--tier", tier])
            .args(source)
            .args(["--report", "straight"]),
    );
    let written = json(
        bin()
            .current_dir(dir)
            .args(["backtest", "--tier", first, "--checkpoint-at", &at.to_string()])
            .args(source)
            .arg("--checkpoint")
            .arg(&ck),
    );
    assert_eq!(written["events"], at);
    let resumed = json(
        bin()
            .current_dir(dir)
            .args(["backtest", "--no-latency", "--tier", tier, "--resume"])
            .arg(&ck)
            .args(["--report", "resumed"]),
    );
    [straight, resumed]
}

#[test]
fn a_backtest_resumed_across_tiers_reaches_the_straight_digest_and_report() {
    let dir = tmp("resume-synth");
    let source =
        ["--strategy", "avellaneda-stoikov", "--strategy", "microprice", "--events", "60000"];
    for (first, tier) in [("interpreter", "compiled"), ("compiled", "interpreter")] {
        let [s, r] = straight_and_resumed(&dir, &source, 31_337, first, tier);
        assert_eq!(digests(&s), digests(&r), "{first} -> {tier}");
        assert_eq!(s["digest"], r["digest"]);
        assert_eq!(s["events"], r["events"]);
    }
    // The report is built from blotters that crossed the checkpoint: the same orders and fills.
    for f in ["orders.csv", "fills.csv", "equity.csv"] {
        let a = std::fs::read(dir.join("straight").join(f)).expect(f);
        let b = std::fs::read(dir.join("resumed").join(f)).expect(f);
        assert!(a == b, "{f} differs between the straight and the resumed run");
    }
}

#[test]
fn the_goog_sample_resumes_to_the_straight_digest() {
    let Some(d) = data() else { return };
    let dir = tmp("resume-goog");
    let tape = dir.join("goog.tape");
    import_goog(&d, &tape);
    let tape = tape.to_str().unwrap().to_owned();
    let source = ["--tape", &tape, "--strategy", "avellaneda-stoikov", "--strategy", "microprice"];
    let [s, r] = straight_and_resumed(&dir, &source, 67_891, "interpreter", "compiled");
    assert_eq!(digests(&s), digests(&r));
}

#[test]
fn verify_checks_straight_equals_resumed_for_every_builtin() {
    let dir = tmp("resume-verify");
    let v = json(bin().current_dir(&dir).args([
        "verify",
        "--tiers",
        "--runs",
        "1",
        "--events",
        "20000",
        "--resume-at",
        "9001",
    ]));
    assert_eq!(v["identical"], true, "{v}");
    let labels: Vec<&str> =
        v["runs"].as_array().unwrap().iter().filter_map(|r| r["label"].as_str()).collect();
    assert!(labels.iter().any(|l| l.contains("on interpreter, resumed on compiled")), "{labels:?}");
}

#[test]
fn bad_checkpoints_and_misuse_are_refused() {
    let dir = tmp("resume-bad");
    let ck = dir.join("s.ckpt");
    json(
        bin()
            .current_dir(&dir)
            .args(["run", "--events", "5000", "--strategy", "microprice"])
            .args(["--checkpoint-at", "1000", "--checkpoint", "s.ckpt"]),
    );
    let bytes = std::fs::read(&ck).unwrap();
    // Finished by the other command.
    let e = fails(bin().current_dir(&dir).args(["backtest", "--resume", "s.ckpt"]));
    assert!(e.contains("taken by `replay run`; finish it with `replay run --resume"), "{e}");
    // Cut short, and changed.
    std::fs::write(dir.join("cut.ckpt"), &bytes[..bytes.len() / 2]).unwrap();
    let e = fails(bin().current_dir(&dir).args(["run", "--resume", "cut.ckpt"]));
    assert!(e.contains("--resume cut.ckpt") && e.contains("corrupt"), "{e}");
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    std::fs::write(dir.join("flip.ckpt"), &flipped).unwrap();
    let e = fails(bin().current_dir(&dir).args(["run", "--resume", "flip.ckpt"]));
    assert!(e.contains("CRC mismatch"), "{e}");
    let e = fails(bin().current_dir(&dir).args(["run", "--resume", "missing.ckpt"]));
    assert!(e.contains("--resume missing.ckpt"), "{e}");
    // Past the end of the source: nothing written.
    let e = fails(bin().current_dir(&dir).args(["run", "--events", "100"]).args([
        "--checkpoint-at",
        "500",
        "--checkpoint",
        "late.ckpt",
    ]));
    assert!(e.contains("has only 100 events; no checkpoint was written"), "{e}");
    assert!(!dir.join("late.ckpt").exists());
    // A native build has no sandbox to save.
    let e = fails(bin().current_dir(&dir).args(["run", "--events", "100", "--native"]).args([
        "--checkpoint-at",
        "50",
        "--checkpoint",
        "native.ckpt",
    ]));
    assert!(e.contains("native build"), "{e}");
    // A checkpoint over the run's own input (here its strategy module) is refused before
    // anything runs, and the input is untouched.
    std::fs::write(dir.join("m.wasm"), b"\0asm-not-really").unwrap();
    let e =
        fails(
            bin()
                .current_dir(&dir)
                .args(["run", "--events", "100", "--strategy", "m.wasm"])
                .args(["--checkpoint-at", "50", "--checkpoint", "m.wasm"]),
        );
    assert!(e.contains("m.wasm"), "{e}");
    assert_eq!(std::fs::read(dir.join("m.wasm")).unwrap(), b"\0asm-not-really");
    assert_eq!(std::fs::read(&ck).unwrap(), bytes, "the checkpoint was not touched");
    // A resumed run whose latency files would land on its own checkpoint: refused, untouched.
    std::fs::create_dir_all(dir.join("o")).unwrap();
    std::fs::write(dir.join("o/latency.hlog"), &bytes).unwrap();
    let e =
        fails(bin().current_dir(&dir).args(["run", "--resume", "o/latency.hlog", "--out", "o"]));
    assert!(e.contains("would destroy the input"), "{e}");
    assert_eq!(std::fs::read(dir.join("o/latency.hlog")).unwrap(), bytes);
}
