//! `replay profile`: every built-in's fuel profile is the same bytes on both tiers and run
//! after run, holds all the fuel the run spent, and names the functions; hostile modules
//! and bad requests get a profile or a clear refusal, never a wrong one.

use crate::common::{bin, fails, hostile_module, json, snapshot, tmp};
use serde_json::Value;
use std::path::Path;

const EVENTS: &str = "3000";

/// `replay profile` of `strategy` into `out` on `tier`: its JSON.
fn profile(strategy: &str, tier: &str, out: &Path) -> Value {
    json(
        bin()
            .args(["profile", "--strategy", strategy, "--events", EVENTS, "--tier", tier])
            .arg("--out")
            .arg(out),
    )
}

/// The run's fuel for `strategy` over the same events: (total, most in one event, events).
fn run_fuel(strategy: &str) -> (u64, u64, u64) {
    let v = json(bin().args(["run", "--no-latency", "--strategy", strategy, "--events", EVENTS]));
    let s = &v["strategies"][0];
    let n = |x: &Value| x.as_u64().unwrap();
    (n(&s["fuel"]["total"]), n(&s["fuel"]["max_per_event"]), n(&s["events"]))
}

fn builtins() -> Vec<String> {
    let v = json(bin().arg("strategies"));
    v["strategies"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_builtin_profiles_the_same_bytes_on_both_tiers_with_all_its_fuel() {
    let dir = tmp("profile-builtins");
    for name in builtins() {
        let (a, b) = (dir.join(format!("{name}-i")), dir.join(format!("{name}-c")));
        let v = profile(&name, "interpreter", &a);
        profile(&name, "compiled", &b);
        assert_eq!(snapshot(&a), snapshot(&b), "{name}: the tiers' profiles differ");
        let p = &v["profile"];
        let (total, max, events) = run_fuel(&name);
        assert_eq!(p["total_fuel"], total, "{name}: the profile lost fuel");
        assert_eq!(p["events"], events, "{name}");
        let most = p["costliest"][0]["fuel"].as_u64().unwrap_or(0);
        assert_eq!(most, max, "{name}: the costliest event is not the run's most fuel");
        let in_buckets: u64 =
            p["histogram"].as_array().unwrap().iter().map(|b| b["events"].as_u64().unwrap()).sum();
        assert_eq!(in_buckets, events, "{name}");
        // Functions by their own names, the SDK's demangled (C and AssemblyScript keep theirs).
        let folded = std::fs::read_to_string(a.join("profile.folded")).unwrap();
        let roots = folded.lines().map(|l| l.split([';', ' ']).next().unwrap());
        assert!(roots.into_iter().all(|r| r.ends_with("lockstep_on_event")), "{name}: {folded}");
        assert!(!folded.contains("func["), "{name}: a function without a name: {folded}");
        if !name.ends_with("-c") && !name.ends_with("-as") {
            assert!(folded.contains("lockstep_sdk::"), "{name}: {folded}");
        }
        let weights: u64 =
            folded.lines().map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap()).sum();
        assert_eq!(weights, total, "{name}");
        let svg = std::fs::read_to_string(a.join("flamegraph.svg")).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("lockstep_on_event"), "{name}");
        let scope: Value =
            serde_json::from_slice(&std::fs::read(a.join("speedscope.json")).unwrap()).unwrap();
        let w: u64 = scope["profiles"][0]["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .sum();
        assert_eq!(w, total, "{name}: speedscope weights");
    }
    // Run after run: the same bytes.
    let again = dir.join("again");
    profile("avellaneda-stoikov", "interpreter", &again);
    assert_eq!(snapshot(&again), snapshot(&dir.join("avellaneda-stoikov-i")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_module_that_halts_or_has_no_names_is_profiled_and_bad_requests_are_refused() {
    let dir = tmp("profile-hostile");
    // Floods 5 orders per event, then spins out of fuel on the 100th event and is halted.
    let m = hostile_module(
        &dir,
        "halts",
        "(global.set $next (i64.add (global.get $next) (i64.const 0)))
         (if (i64.gt_u (global.get $next) (i64.const 496)) (then (loop $l (br $l))))
         (call $flood (i32.const 5))",
    );
    let out = dir.join("out");
    let v = json(
        bin().args(["profile", "--events", EVENTS, "--strategy"]).arg(&m).arg("--out").arg(&out),
    );
    let folded = std::fs::read_to_string(out.join("profile.folded")).unwrap();
    // `lockstep_on_event` is named by its export (the name section names `$flood` and the
    // others); functions with neither show as func[N].
    assert!(folded.contains("lockstep_on_event;flood;limit;slot "), "{folded}");
    let p = &v["profile"];
    assert_eq!(p["costliest"][0]["fuel"], 10_000_000, "the spin took its whole budget: {p}");
    // Refusals, each saying what to do, with nothing written.
    let refused = dir.join("refused");
    let e = fails(
        bin().args(["profile", "--native", "--strategy", "microprice", "--out"]).arg(&refused),
    );
    assert!(e.contains("native build uses no fuel"), "{e}");
    let e = fails(
        bin()
            .args(["profile", "--strategy", "noop", "--strategy", "microprice", "--out"])
            .arg(&refused),
    );
    assert!(e.contains("exactly one strategy"), "{e}");
    // A module sitting where profile.json would go is an input, never overwritten.
    let trap = dir.join("trap");
    std::fs::create_dir_all(&trap).unwrap();
    std::fs::copy(&m, trap.join("profile.json")).unwrap();
    let e = fails(
        bin()
            .args(["profile", "--strategy"])
            .arg(trap.join("profile.json"))
            .arg("--out")
            .arg(&trap),
    );
    assert!(e.contains("profile.json"), "{e}");
    assert_eq!(std::fs::read(trap.join("profile.json")).unwrap(), std::fs::read(&m).unwrap());
    assert!(!refused.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
