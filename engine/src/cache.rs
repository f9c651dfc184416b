//! The compiled tier's artefact cache ([`Config::artefact_cache`]): native code kept on disk
//! so a module compiled once loads afterwards without Cranelift.
//!
//! An entry is named by the SHA-256 of the metered module and the engine's fingerprint, so a
//! change to the module, to the metering rewrite (it changes the metered bytes), to wasmtime or
//! to any setting that reaches the code names another entry. Each entry is a
//! [`StrategyModule::precompile`](crate::StrategyModule::precompile) envelope, checked like any
//! artefact before it is mapped. An entry that fails the checks is compiled again and replaced;
//! a cache that cannot be written costs the compile, never the load.

use crate::compiled;
use crate::config::Config;
use crate::error::Error;
use sha2::{Digest as _, Sha256};
use std::io::Write as _;
use std::path::Path;

/// What the artefact cache did for one compiled-tier load.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheUse {
    /// No cache is configured, or the module runs on the interpreter.
    Off,
    /// Native code was loaded from the cache; Cranelift did not run.
    Hit,
    /// The module was compiled and its native code stored.
    Stored,
    /// The entry was unusable (`reason`), so the module was compiled again and the entry replaced.
    Replaced {
        /// Why the old entry was refused.
        reason: String,
    },
    /// The module was compiled but its native code could not be stored (`reason`): the next
    /// load compiles again.
    NotStored {
        /// What failed.
        reason: String,
    },
}

impl std::fmt::Display for CacheUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => f.write_str("no artefact cache"),
            Self::Hit => f.write_str("native code loaded from the artefact cache"),
            Self::Stored => f.write_str("compiled, and stored in the artefact cache"),
            Self::Replaced { reason } => {
                write!(f, "the cached artefact was refused ({reason}); compiled again and replaced")
            }
            Self::NotStored { reason } => write!(
                f,
                "compiled, but the artefact cache could not be written ({reason}); every load \
                 will compile until the directory is writable"
            ),
        }
    }
}

/// Where front ends (the replay CLI, Python, the gateway) keep compiled-tier native code
/// between runs, for [`Config::artefact_cache`]: `$LOCKSTEP_CACHE_DIR` (`off` or empty: no
/// cache), else `$XDG_CACHE_HOME/lockstep/compiled`, else `$HOME/.cache/lockstep/compiled`.
/// The cache holds load time only: a run from it is the same run, byte for byte.
pub fn default_artefact_cache() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    if let Some(dir) = std::env::var_os("LOCKSTEP_CACHE_DIR") {
        return (!dir.is_empty() && dir != "off").then(|| PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("lockstep").join("compiled"))
}

/// Largest cache entry read back: a file past it is not ours and is replaced.
const MAX_ENTRY: u64 = 1 << 30;

/// The compiled module for `metered`, from the cache when it holds a good entry.
pub(crate) fn load_or_compile(
    engine: &wasmtime::Engine,
    config: &Config,
    metered: &[u8],
    source_sha256: &[u8; 32],
) -> Result<(wasmtime::Module, CacheUse), Error> {
    let Some(dir) = &config.artefact_cache else {
        return Ok((compiled::compile(engine, metered)?, CacheUse::Off));
    };
    let mut key = Sha256::new();
    key.update(metered);
    key.update(compiled::fingerprint(engine, config));
    let name: String = key.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("{name}.lsaot"));
    let refused = match read_entry(&path) {
        Ok(None) => None,
        Ok(Some(bytes)) => match compiled::deserialize(engine, config, &bytes) {
            Ok((module, _)) => return Ok((module, CacheUse::Hit)),
            Err(e) => Some(e.to_string()),
        },
        Err(reason) => Some(reason),
    };
    let module = compiled::compile(engine, metered)?;
    let stored = compiled::serialize(engine, config, &module, source_sha256)
        .map_err(|e| e.to_string())
        .and_then(|bytes| write_entry(dir, &path, &bytes));
    let used = match (stored, refused) {
        (Ok(()), None) => CacheUse::Stored,
        (Ok(()), Some(reason)) => CacheUse::Replaced { reason },
        (Err(reason), _) => CacheUse::NotStored { reason },
    };
    Ok((module, used))
}

/// The entry's bytes, `None` when there is none.
fn read_entry(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_ENTRY => return Err(format!("{} bytes is too large", m.len())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    }
    std::fs::read(path).map(Some).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes an entry whole or not at all: a temporary file beside it, renamed over it.
fn write_entry(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}
