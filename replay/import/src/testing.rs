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
