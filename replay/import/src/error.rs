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
    /// The file ends before its data does: cut inside a record or a compressed frame. What was
    /// read is not imported (the tape would silently be shorter).
    Truncated {
        /// The file.
        file: PathBuf,
        /// Where the data stops.
        at: Position,
        /// What was cut short.
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
            ImportError::Truncated { file, at, reason } => write!(
                f,
                "{}: {at}: {}: the file is truncated; copy or download it again",
                file.display(),
                untrusted(reason).max_chars(400)
            ),
            ImportError::Tape { file, source } => {
                write!(f, "writing tape {}: {source}", file.display())
            }
        }
    }
}

/// Where in a file its data stops ([`ImportError::Truncated`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Position {
    /// In the file's header (a DBN file's metadata).
    Header,
    /// In a record of a binary file.
    Record {
        /// 1-based record number within the file.
        record: u64,
        /// Where the record starts: bytes of (decompressed) data before it.
        offset: u64,
    },
    /// In a line of a text file.
    Line {
        /// 1-based line number.
        line: u64,
    },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Header => write!(f, "header (metadata)"),
            Position::Record { record, offset } => {
                write!(f, "record {record} (at byte {offset} of the uncompressed data)")
            }
            Position::Line { line } => write!(f, "line {line}"),
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
