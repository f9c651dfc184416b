//! Why an import failed, and how a field of an input file is quoted in the reason.

use lockstep_sdk::untrusted;
use lockstep_sim::TapeError;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why an import failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ImportError {
    /// A file could not be opened or read.
    Io {
        /// The file.
        file: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A row is malformed or of an unknown kind.
    Row {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A record of a binary file cannot be decoded or put on a tape.
    Record {
        /// The file.
        file: PathBuf,
        /// 1-based record number within the file.
        record: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The file as a whole is not in the expected format (e.g. an unknown header).
    Format {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Writing the tape failed.
    Tape {
        /// The tape being written.
        file: PathBuf,
        /// The tape error.
        source: TapeError,
    },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Io { file, source } => write!(f, "{}: {source}", file.display()),
            // Reasons quote fields of the file: escaped and capped (a 4 MB field stays out).
            ImportError::Row { file, line, reason } => {
                write!(f, "{}:{line}: {}", file.display(), untrusted(reason).max_chars(400))
            }
            ImportError::Record { file, record, reason } => {
                write!(
                    f,
                    "{}: record {record}: {}",
                    file.display(),
                    untrusted(reason).max_chars(400)
                )
            }
            ImportError::Format { file, reason } => {
                write!(f, "{}: {}", file.display(), untrusted(reason).max_chars(400))
            }
            ImportError::Tape { file, source } => {
                write!(f, "writing tape {}: {source}", file.display())
            }
        }
    }
}

// Display already carries the underlying error, so `source` is left empty: reporting the
// chain as well (anyhow's `{:#}`) would print it twice.
impl std::error::Error for ImportError {}

/// A field of an input file quoted for an error message: escaped, at most 64 characters.
pub(crate) fn quoted(field: &str) -> String {
    format!("\"{}\"", untrusted(field).max_chars(64))
}

/// The name of a file for a message (`?` where it has none that is text).
pub(crate) fn file_name(path: &std::path::Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("?")
}
