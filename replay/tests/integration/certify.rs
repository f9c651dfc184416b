//! `replay certify`: every built-in's certificate holds the most fuel any event used, names
//! why a bound is missing, states its time with the machine, and `--check` refuses a
//! certificate for another module or engine.

use crate::common::{bin, data, fails, hostile_module, import_goog, json, run_ok, tmp};
use serde_json::Value;
use std::path::Path;

fn certify(strategy: &str, out: &Path, extra: &[&str]) -> Value {
    let mut c = bin();
    c.args(["certify", "--strategy", strategy]).arg("--out").arg(out).args(extra);
    json(&mut c)["certificate"].clone()
}

/// The certificate's promises: a bound at or above every observation, a reason when the
/// code gives none, a time, the machine.
fn assert_sound(name: &str, c: &Value) {
    let s = &c["static_bound"];
    let certified = c["certified_fuel"].as_u64().unwrap();
    for o in c["observed"].as_array().unwrap() {
        let seen = o["max_fuel"].as_u64().unwrap();
        assert!(certified >= seen, "{name}: certified {certified} < observed {seen}");
        if let Some(b) = s["bound"].as_u64() {
            assert!(b >= seen, "{name}: static bound {b} < observed {seen} over {}", o["source"]);
        }
    }
    if s["bound"].is_null() {
        let why = s["reason"].as_str().unwrap();
        assert!(why.contains("lockstep_on_event") && why.contains(": "), "{name}: {why}");
    }
    let statuses: Vec<&str> =
        s["functions"].as_array().unwrap().iter().map(|f| f["status"].as_str().unwrap()).collect();
    assert!(statuses.iter().all(|s| ["bounded", "unbounded", "never returns"].contains(s)));
    let a = &c["after_init"];
    for o in c["observed"].as_array().unwrap() {
        let seen = o["max_fuel"].as_u64().unwrap();
        if let Some(b) = a["bound"].as_u64() {
            assert!(
                b >= seen,
                "{name}: bound after init {b} < observed {seen} over {}",
                o["source"]
            );
        }
    }
    if a["bound"].is_null() {
        assert!(a["reason"].as_str().is_some_and(|r| !r.is_empty()), "{name}: {a}");
    }
    assert!(c["certified_ns"].as_u64().unwrap() > 0, "{name}");
    assert!(c["calibration"]["worst_ns_per_fuel"].as_f64().unwrap() > 0.0);
    assert!(c["machine"]["summary"].is_string(), "{name}: {}", c["machine"]);
}

#[test]
fn every_builtin_is_certified_at_or_above_what_it_used() {
    let dir = tmp("certify");
    let names = json(bin().arg("strategies"));
    for name in names["strategies"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()) {
        let out = dir.join(format!("{name}.json"));
        let c = certify(name, &out, &["--events", "3000"]);
        assert_sound(name, &c);
        // The file is the certificate, and it holds for this module on this engine.
        let file: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(file["module_sha256"], c["module_sha256"]);
        run_ok(bin().args(["certify", "--strategy", name, "--check"]).arg(&out));
    }
    // noop's code is straight: bounded, and the bound is near what it used.
    let noop: Value =
        serde_json::from_slice(&std::fs::read(dir.join("noop.json")).unwrap()).unwrap();
    let b = noop["static_bound"]["bound"].as_u64().unwrap();
    assert!(b < 1_000 && noop["certified_fuel"] == b, "{noop}");
    // The CRR tree's loops run over `steps`, fixed at init: bounded from it, and the bound
    // follows the parameter (the tree's work grows as its square).
    let crr = |steps: u32| -> u64 {
        let out = dir.join(format!("crr-{steps}.json"));
        let c = certify(
            "crr-binomial",
            &out,
            &["--events", "3000", "--params", &format!("steps={steps}")],
        );
        assert_sound("crr-binomial", &c);
        assert!(c["static_bound"]["bound"].is_null(), "the code alone does not bound it");
        let b = c["after_init"]["bound"].as_u64().expect("CRR is bounded after init");
        assert_eq!(c["certified_fuel"], b);
        let seen = c["observed"][0]["max_fuel"].as_u64().unwrap();
        assert!(b - seen < b / 100, "{b} is not tight over {seen}");
        b
    };
    let (small, large) = (crr(50), crr(200));
    assert!(large > 12 * small && large < 20 * small, "{small} {large}");
    let e = fails(
        bin()
            .args(["certify", "--strategy", "crr-binomial", "--params", "steps=50", "--check"])
            .arg(dir.join("crr-200.json")),
    );
    assert!(e.contains("parameter string"), "{e}");
    // Over real tapes too.
    if let Some(d) = data() {
        let tape = dir.join("goog.tape");
        import_goog(&d, &tape);
        for name in ["noop", "microprice", "avellaneda-stoikov", "black-scholes"] {
            let c = certify(name, &dir.join("goog.json"), &["--tape", tape.to_str().unwrap()]);
            assert_sound(name, &c);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_refuses_a_certificate_for_another_module_or_engine() {
    let dir = tmp("certify-check");
    let m = hostile_module(&dir, "counted", "(call $flood (i32.const 3))");
    let cert = dir.join("cert.json");
    let c = certify(m.to_str().unwrap(), &cert, &["--events", "2000"]);
    assert_sound("counted", &c);
    run_ok(bin().args(["certify", "--strategy"]).arg(&m).arg("--check").arg(&cert));
    let check = |strategy: &Path, cert: &Path| {
        fails(bin().args(["certify", "--strategy"]).arg(strategy).arg("--check").arg(cert))
    };
    // Another module.
    let other = hostile_module(&dir, "other", "(call $flood (i32.const 4))");
    assert!(check(&other, &cert).contains("module SHA-256"));
    // Another engine (tier or fuel), and a forged static bound.
    let text = std::fs::read_to_string(&cert).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    for (field, value, says) in [
        ("fuel_per_event", Value::from(5_000), "engine fingerprint"),
        ("engine_fingerprint", Value::from("00".repeat(32)), "engine fingerprint"),
        (
            "static_bound",
            serde_json::json!({"bound": 1, "reason": null, "bounded_loops": 0, "functions": []}),
            "static bound",
        ),
        (
            "after_init",
            serde_json::json!({"bound": 1, "reason": null, "rounds": 2, "variable_bytes": 0, "work": 0}),
            "bound after init",
        ),
    ] {
        let original = v[field].clone();
        v[field] = value;
        let forged = dir.join(format!("forged-{field}.json"));
        std::fs::write(&forged, serde_json::to_vec(&v).unwrap()).unwrap();
        let e = check(&m, &forged);
        assert!(e.contains(says) && e.contains("certify this module"), "{field}: {e}");
        v[field] = original;
    }
    let junk = dir.join("junk.json");
    std::fs::write(&junk, b"{\"not\": \"a certificate\"}").unwrap();
    assert!(check(&m, &junk).contains("not a Lockstep fuel certificate"));
    // The certificate is never written over the module it certifies.
    let e = fails(bin().args(["certify", "--strategy"]).arg(&m).arg("--out").arg(&m));
    assert!(e.contains("counted.wasm"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
