//! Importers: real market data files to tapes.
//!
//! Every importer streams its input row by row into a [`TapeWriter`], parses timestamps and
//! prices from text to integers without going through `f64`, keeps file order for equal
//! timestamps, and stops at the first malformed or unknown row with an error naming the file
//! and the line.

pub(crate) mod binance;
pub(crate) mod csv;
pub(crate) mod lobster;
pub(crate) mod tardis;

use crate::atomic::AtomicFile;
use crate::tape::{
    Compression, EventCheck, FLAG_MORE, MAX_INSTRUMENTS, TapeError, TapeEvent, TapeHeader,
    TapeWriter, check_instruments,
};
use flate2::read::MultiGzDecoder;
use lockstep_sdk::untrusted;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};

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

/// What an import produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    /// The tape header as written (with the final event count).
    pub header: TapeHeader,
    /// Input rows read (data rows, not headers).
    pub rows: u64,
    /// Events written.
    pub events: u64,
    /// Size of the tape file in bytes.
    pub tape_bytes: u64,
    /// Things the importer noticed and handled, each with a count (e.g. depth updates already
    /// covered by a snapshot, sequence gaps).
    pub notes: Vec<(String, u64)>,
}

/// Options shared by the importers.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// How to store chunks.
    pub compression: Compression,
    /// Events per chunk (0: the default).
    pub chunk_events: u32,
}

/// Refuses one more instrument when `count` are known already.
pub(crate) fn room_for_instrument(lines: &Lines, count: usize) -> Result<(), ImportError> {
    if count >= MAX_INSTRUMENTS {
        return Err(lines.err(format!(
            "more than {MAX_INSTRUMENTS} instruments, the most a tape can hold; split the input"
        )));
    }
    Ok(())
}

/// Longest line an importer reads (a longer one is refused before it is all in memory).
pub(crate) const MAX_LINE_BYTES: u64 = 8 << 20;

/// Reads text lines from a plain or gzip file (by content), with 1-based line numbers.
pub(crate) struct Lines {
    path: PathBuf,
    inner: Box<dyn BufRead>,
    buf: String,
    line: u64,
}

impl Lines {
    pub(crate) fn open(path: &Path) -> Result<Self, ImportError> {
        let io = |source| ImportError::Io { file: path.to_path_buf(), source };
        let mut f = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
        let gz = f.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn BufRead> = if gz {
            Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(f)))
        } else {
            Box::new(f)
        };
        Ok(Self { path: path.to_path_buf(), inner, buf: String::new(), line: 0 })
    }

    /// Reads the next line; `false` at the end. The line is then [`Lines::text`].
    pub(crate) fn next_line(&mut self) -> Result<bool, ImportError> {
        self.buf.clear();
        let n = io::Read::take(&mut self.inner, MAX_LINE_BYTES + 1)
            .read_line(&mut self.buf)
            .map_err(|e| ImportError::Row {
                file: self.path.clone(),
                line: self.line + 1,
                reason: format!("cannot read line: {e}"),
            })?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if n as u64 > MAX_LINE_BYTES {
            return Err(self.err(format!(
                "line is longer than {MAX_LINE_BYTES} bytes; is this really a market data file?"
            )));
        }
        let keep = self.buf.trim_end_matches(['\n', '\r']).len();
        self.buf.truncate(keep);
        // A UTF-8 byte order mark (as spreadsheet tools write) is not part of the first field.
        if self.line == 1 && self.buf.starts_with('\u{feff}') {
            self.buf.drain(..'\u{feff}'.len_utf8());
        }
        Ok(true)
    }

    /// The current line without its line ending.
    pub(crate) fn text(&self) -> &str {
        &self.buf
    }

    /// An error about the current line.
    pub(crate) fn err(&self, reason: impl Into<String>) -> ImportError {
        ImportError::Row { file: self.path.clone(), line: self.line, reason: reason.into() }
    }
}

/// Writes batches of events to a tape: every event of a batch but the last gets
/// [`FLAG_MORE`], so strategies see the book once per source message.
pub(crate) struct Sink {
    path: PathBuf,
    w: TapeWriter<BufWriter<AtomicFile>>,
    check: EventCheck,
}

impl Sink {
    pub(crate) fn create(
        path: &Path,
        mut header: TapeHeader,
        opts: &ImportOptions,
    ) -> Result<Self, ImportError> {
        if opts.chunk_events > 0 {
            header.chunk_events = opts.chunk_events;
        }
        check_instruments(&header.instruments).map_err(|reason| ImportError::Format {
            file: path.to_path_buf(),
            reason: format!("the tape would be invalid: {reason}"),
        })?;
        let check = EventCheck::new(header.instruments.len(), true);
        let w = TapeWriter::create(path, header, opts.compression)
            .map_err(|source| ImportError::Tape { file: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), w, check })
    }

    /// Writes the events of one source message; `at` is the input being read, whose current
    /// line an event breaking the tape's rules is reported at.
    pub(crate) fn batch(
        &mut self,
        events: &mut [TapeEvent],
        at: &Lines,
    ) -> Result<(), ImportError> {
        let n = events.len();
        for e in events.iter() {
            self.check.check(e).map_err(|reason| at.err(format!("the event {reason}")))?;
        }
        for (i, e) in events.iter_mut().enumerate() {
            if i + 1 < n {
                e.flags |= FLAG_MORE;
            } else {
                e.flags &= !FLAG_MORE;
            }
            self.w
                .push(e)
                .map_err(|source| ImportError::Tape { file: self.path.clone(), source })?;
        }
        Ok(())
    }

    pub(crate) fn one(&mut self, mut e: TapeEvent, at: &Lines) -> Result<(), ImportError> {
        self.batch(std::slice::from_mut(&mut e), at)
    }

    pub(crate) fn finish(
        self,
        rows: u64,
        notes: Vec<(String, u64)>,
    ) -> Result<ImportSummary, ImportError> {
        let events = self.w.events();
        let (header, tape_bytes) = self
            .w
            .finish()
            .map_err(|source| ImportError::Tape { file: self.path.clone(), source })?;
        Ok(ImportSummary { header, rows, events, tape_bytes, notes })
    }
}

/// A field of an input file quoted for an error message: escaped, at most 64 characters.
pub(crate) fn quoted(field: &str) -> String {
    format!("\"{}\"", untrusted(field).max_chars(64))
}

/// Parses decimal seconds (`"34200.015105074"`, up to 9 places) into integer nanoseconds.
pub fn parse_seconds_ns(text: &str) -> Option<i64> {
    parse_scaled(text, 9)
}

/// Parses a decimal number into an integer scaled by `10^places` exactly; `None` for malformed
/// text, more than `places` significant decimals, or overflow.
pub(crate) fn parse_scaled(text: &str, places: u32) -> Option<i64> {
    let t = text.trim();
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int_part, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac.is_empty() {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > places as usize {
        return None;
    }
    let mut v: i64 = 0;
    for b in int_part.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    for b in frac.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    v = v.checked_mul(10i64.checked_pow(places - frac.len() as u32)?)?;
    Some(if neg { -v } else { v })
}

/// Parses an integer count of `unit_ns`-nanosecond units (e.g. microseconds: 1000).
pub(crate) fn parse_int_ns(text: &str, unit_ns: i64) -> Option<i64> {
    text.trim().parse::<i64>().ok()?.checked_mul(unit_ns)
}

/// Number of significant decimal places in a decimal string (`"61837.63000000"` → 2).
pub(crate) fn decimals(text: &str) -> u32 {
    match text.trim().split_once('.') {
        Some((_, f)) => f.trim_end_matches('0').len() as u32,
        None => 0,
    }
}

/// `10^-decimals` as a price (the tick size inferred from the finest price seen).
pub(crate) fn tick_for(decimals: u32) -> lockstep_sdk::Price {
    let d = decimals.min(lockstep_sdk::SCALE);
    lockstep_sdk::Price(10i64.pow(lockstep_sdk::SCALE - d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_exactly() {
        assert_eq!(parse_seconds_ns("34200.015105074"), Some(34_200_015_105_074));
        assert_eq!(parse_seconds_ns("34200.18960767"), Some(34_200_189_607_670));
        assert_eq!(parse_seconds_ns("34200"), Some(34_200_000_000_000));
        assert_eq!(parse_seconds_ns("0.1"), Some(100_000_000));
        assert_eq!(parse_seconds_ns("1.0000000001"), None);
        assert_eq!(parse_seconds_ns("1.5000000000"), Some(1_500_000_000));
        assert_eq!(parse_seconds_ns("12a.5"), None);
        assert_eq!(parse_seconds_ns(""), None);
        assert_eq!(parse_int_ns("1582329602111000", 1000), Some(1_582_329_602_111_000_000));
        assert_eq!(parse_int_ns("x", 1000), None);
    }

    #[test]
    fn decimals_and_ticks() {
        assert_eq!(decimals("61837.63000000"), 2);
        assert_eq!(decimals("9682"), 0);
        assert_eq!(tick_for(2), lockstep_sdk::Price(1_000_000));
        assert_eq!(tick_for(0), lockstep_sdk::Price(100_000_000));
    }
}
