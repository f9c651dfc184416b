//! Helpers of the unit tests: scratch folders, a tape's events, a line reader to report at.

use crate::lines::Lines;
use lockstep_sim::{EventSource, TapeEvent};
use std::path::{Path, PathBuf};

/// A fresh, empty temporary folder `lockstep-<what>-<pid>-<name>`.
pub(crate) fn scratch_dir(what: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lockstep-{what}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every event of a tape.
pub(crate) fn tape_events(tape: &Path) -> Vec<TapeEvent> {
    let mut r = lockstep_io::open_tape(tape).unwrap();
    let (mut all, mut buf) = (Vec::new(), Vec::new());
    while r.next_chunk(&mut buf).unwrap() {
        all.extend_from_slice(&buf);
    }
    all
}

/// A line reader over a file that exists (before its first line), for building errors.
pub(crate) fn any_lines() -> Lines {
    Lines::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml").as_path()).unwrap()
}

/// The file `name` of the shared real data (`shared/data` beside the repository), or `None`
/// with a notice when it is absent; with `LOCKSTEP_REQUIRE_DATA=1` its absence fails the test.
pub(crate) fn shared_file(name: &str) -> Option<PathBuf> {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(name);
    if f.is_file() {
        return Some(f);
    }
    assert!(
        std::env::var("LOCKSTEP_REQUIRE_DATA").as_deref() != Ok("1"),
        "LOCKSTEP_REQUIRE_DATA=1 but the shared data file {} is missing",
        f.display()
    );
    eprintln!(
        "notice: shared data file {} not found; skipping (set LOCKSTEP_REQUIRE_DATA=1 to fail instead)",
        f.display()
    );
    None
}
