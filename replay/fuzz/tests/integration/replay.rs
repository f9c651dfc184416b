//! Every committed corpus file and crash reproducer replays through its target without a
//! panic, and a short fixed-count run of every target finds nothing.

use lockstep_fuzz::{
    Budget, CrashKind, RunConfig, TARGETS, check_file, default_corpus, default_crashes, load_dir,
    run_target,
};

/// Replays every file of `<root>/<target>/`; the number of files.
fn replay_all(root: &std::path::Path) -> usize {
    let mut n = 0;
    for t in TARGETS {
        for (path, bytes) in load_dir(&root.join(t.name)).unwrap() {
            let outcome = check_file(t, &bytes);
            if let Err(c) = &outcome {
                // Oracle findings are reproducers of reported asymmetries; a panic never is.
                assert_ne!(c.kind, CrashKind::Panic, "{}: {}", path.display(), c.message);
            }
            n += 1;
        }
    }
    n
}

#[test]
fn every_corpus_file_replays_without_a_panic() {
    let n = replay_all(&default_corpus());
    assert!(n >= 3 * TARGETS.len(), "the corpus holds {n} files");
    for t in TARGETS {
        assert!(
            !load_dir(&default_corpus().join(t.name)).unwrap().is_empty(),
            "no corpus for {}",
            t.name
        );
    }
}

#[test]
fn every_crash_reproducer_replays_without_a_panic() {
    replay_all(&default_crashes());
}

#[test]
fn a_short_run_of_every_target_finds_nothing() {
    let crashes = std::env::temp_dir().join(format!("lockstep-fuzz-test-{}", std::process::id()));
    let mut cfg = RunConfig::new(7, Budget::Cases(300));
    cfg.crashes = crashes.clone();
    for t in TARGETS {
        let r = run_target(t, &cfg).unwrap();
        assert_eq!(r.cases, 300, "{}", t.name);
        assert!(r.accepted > 0 && r.refused > 0, "{}: {r:?}", t.name);
        assert!(r.crashes.is_empty(), "{}: {:#?}", t.name, r.crashes);
    }
    let _ = std::fs::remove_dir_all(&crashes);
}
