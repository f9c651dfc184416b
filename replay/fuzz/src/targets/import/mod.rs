//! The importers: inputs written to a scratch folder, imported into a tape there, and an
//! accepted import's tape read back to the event count its summary gives.

pub(crate) mod dbn;
pub(crate) mod lobster;
pub(crate) mod text;

use super::refused;
use crate::harness::{Checked, Verdict};
use lockstep_import::{ImportError, ImportSummary};
use lockstep_sim::EventSource;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Between the files of one input that holds several (a LOBSTER message and orderbook file).
pub(crate) const FILE_BREAK: &[u8] = b"\n\x00next file\x00\n";

/// The files of an input, split at [`FILE_BREAK`].
pub(crate) fn split_files(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(i) = rest.windows(FILE_BREAK.len()).position(|w| w == FILE_BREAK) {
        out.push(&rest[..i]);
        rest = &rest[i + FILE_BREAK.len()..];
    }
    out.push(rest);
    out
}

/// A scratch folder of its own, removed when dropped (also while a panic unwinds).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("lockstep-fuzz-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("scratch folder: {e}"))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `files` (name, bytes) to a scratch folder and calls `f` with the folder and the
/// files' paths; the folder is removed afterwards.
pub(crate) fn with_files<T>(
    files: &[(&str, &[u8])],
    f: impl FnOnce(&Path, &[PathBuf]) -> T,
) -> Result<T, String> {
    let scratch = Scratch::new()?;
    let mut paths = Vec::new();
    for (name, bytes) in files {
        let p = scratch.0.join(name);
        std::fs::write(&p, bytes).map_err(|e| format!("scratch file: {e}"))?;
        paths.push(p);
    }
    Ok(f(&scratch.0, &paths))
}

/// Writes `files` (name, bytes) to a scratch folder and imports them with `import` into a
/// tape there. A refusal must leave no tape and name no control characters; an accepted
/// import's tape must read back with the summary's event count.
pub(crate) fn import_files(
    files: &[(&str, &[u8])],
    import: impl FnOnce(&[PathBuf], &Path) -> Result<ImportSummary, ImportError>,
) -> Checked {
    with_files(files, |dir, paths| {
        let out = dir.join("out.tape");
        match import(paths, &out) {
            Err(e) => refusal(&out, &e),
            Ok(summary) => read_back(&out, &summary),
        }
    })?
}

/// A refused import: no tape left, no control characters in the error.
fn refusal(out: &Path, e: &ImportError) -> Checked {
    if out.exists() {
        return Err(format!("a refused import left a tape: {e}"));
    }
    let text = e.to_string();
    if text.chars().any(char::is_control) {
        return Err(format!("an import error holds control characters: {text:?}"));
    }
    refused(e)
}

/// An accepted import: its tape reads back with the summary's event count.
fn read_back(out: &Path, summary: &ImportSummary) -> Checked {
    let mut r =
        lockstep_io::open_tape(out).map_err(|e| format!("an imported tape does not open: {e}"))?;
    let (mut n, mut buf) = (0u64, Vec::new());
    while r.next_chunk(&mut buf).map_err(|e| format!("an imported tape is refused: {e}"))? {
        n += buf.len() as u64;
    }
    if n != summary.events {
        return Err(format!("the summary says {} events, the tape holds {n}", summary.events));
    }
    Ok(Verdict::Accepted)
}
