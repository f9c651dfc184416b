//! Determinism: `verify` across processes, threads and tiers, and traces that locate the first
//! diverging event.

use crate::common::{bin, json, run_ok, tmp};

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
fn verify_across_tiers_shows_one_digest_and_one_fuel_digest() {
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
    assert_eq!(fi[0], fc[0], "the module meters its own fuel: the same on both tiers");
    let per_tier = v["fuel_digests"].as_array().unwrap();
    assert!(per_tier.iter().all(|t| t["fuel_digest"] == fi[0]), "{v:#}");
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
        lockstep_host::trace_path(&d, 0, "microprice")
    };
    let base = "instrument=0;levels=3;tick=0.01;half_spread_ticks=1;order_qty=1;max_inventory=10";
    let (a, b) = (trace("a", base), trace("b", base));
    assert_eq!(lockstep_host::first_divergence(&a, &b, true).unwrap(), None);
    let c = trace("c", &base.replace("half_spread_ticks=1", "half_spread_ticks=2"));
    let d = lockstep_host::first_divergence(&a, &c, true).unwrap().expect("the runs differ");
    let (x, y) = (d.a.unwrap(), d.b.unwrap());
    assert_eq!(x.seq, y.seq);
    assert_eq!(x.event, y.event, "same event, different actions");
    assert_ne!(x.actions, y.actions);
    let _ = std::fs::remove_dir_all(&out);
}
