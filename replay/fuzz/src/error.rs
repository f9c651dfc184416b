//! The library's errors.

use std::fmt;
use std::path::PathBuf;

/// Why a fuzzing run could not be set up or its files written.
#[derive(Debug)]
#[non_exhaustive]
pub enum FuzzError {
    /// No target has this name.
    UnknownTarget {
        /// The name given.
        name: String,
    },
    /// A corpus or crash file could not be read or written.
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl fmt::Display for FuzzError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FuzzError::UnknownTarget { name } => {
                let all: Vec<&str> = crate::TARGETS.iter().map(|t| t.name).collect();
                write!(f, "no fuzz target `{name}`; the targets are {}", all.join(", "))
            }
            FuzzError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for FuzzError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FuzzError::Io { source, .. } => Some(source),
            FuzzError::UnknownTarget { .. } => None,
        }
    }
}
