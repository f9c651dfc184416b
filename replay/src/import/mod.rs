//! Importers: real market data files to tapes.
//!
//! Every importer streams its input row by row into a [`TapeWriter`], parses timestamps and
//! prices from text to integers without going through `f64`, keeps file order for equal
//! timestamps, and stops at the first malformed or unknown row with an error naming the file
//! and the line.

pub(crate) mod binance;
pub(crate) mod csv;
pub(crate) mod databento;
pub(crate) mod lobster;
pub(crate) mod tardis;

use crate::atomic::AtomicFile;
use crate::book::Book;
use crate::tape::{
    Compression, EventCheck, FLAG_MORE, MAX_INSTRUMENTS, TapeError, TapeEvent, TapeHeader,
    TapeWriter, check_instruments,
};
use flate2::read::MultiGzDecoder;
use lockstep_sdk::{Price, untrusted};
use std::collections::BTreeMap;
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
    /// Input rows or records read and not turned into events, by reason (e.g. `stream
    /// markPrice@1s`), in name order.
    pub skipped: BTreeMap<String, u64>,
    /// Breaks in the source's own sequence numbers, where the format has them (`None`: the
    /// format has none).
    pub sequence_gaps: Option<u64>,
    /// The unit of the input's local timestamps and how it was chosen, where the format does
    /// not fix it (e.g. `ns` detected from the exchange times).
    pub local_ts_unit: Option<TsUnitChoice>,
    /// Median of local minus exchange time over the messages carrying both (feed latency plus
    /// clock skew; negative when the receiver's clock runs behind the exchange's).
    pub clock_offset_ns: Option<i64>,
    /// Local time of the first and of the last event written (`None` for an empty tape).
    pub start_ns: Option<i64>,
    /// See `start_ns`.
    pub end_ns: Option<i64>,
    /// Each instrument's tick size and how it was chosen, by instrument id (empty where the
    /// importer does not say).
    pub ticks: Vec<TickChoice>,
}

/// How an instrument's tick size was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TickSource {
    /// Given by the user (`--tick`).
    Given,
    /// Inferred as the greatest common divisor of the instrument's prices (see
    /// [`TickChoice::prices`]).
    Inferred,
    /// From an instrument definition record of the input.
    Definition,
    /// Ten to the minus the most decimal places among the instrument's prices.
    Decimals,
}

impl TickSource {
    /// `given`, `inferred`, `definition` or `decimals`.
    pub fn name(self) -> &'static str {
        match self {
            TickSource::Given => "given",
            TickSource::Inferred => "inferred",
            TickSource::Definition => "definition",
            TickSource::Decimals => "decimals",
        }
    }
}

impl fmt::Display for TickSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An instrument's tick size as written to the tape header, and how it was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TickChoice {
    /// The instrument's id on the tape.
    pub instrument: u16,
    /// The tick size.
    pub tick: Price,
    /// How it was chosen.
    pub source: TickSource,
    /// How many prices the choice looked at (0 for a given tick or a definition's).
    pub prices: u64,
}

/// Infers a tick size from prices: the greatest common divisor of every price observed, counted
/// in the source's price unit (e.g. LOBSTER's $0.0001). The tick is therefore never finer than
/// that unit and every observed price is a whole number of ticks. From a handful of prices it
/// can come out coarser than the real tick (prices $0.50 apart give $0.50); over a session of
/// data it is the tick the prices actually use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TickGcd {
    gcd: u64,
    prices: u64,
}

impl TickGcd {
    /// Takes one price in the source's unit; prices of zero or below (placeholders, status
    /// codes, absent sides) are not prices and are ignored.
    pub(crate) fn observe(&mut self, raw: i64) {
        if raw > 0 {
            self.gcd = gcd(self.gcd, raw.unsigned_abs());
            self.prices += 1;
        }
    }

    /// How many prices were observed.
    pub(crate) fn prices(&self) -> u64 {
        self.prices
    }

    /// The tick in tape units: the divisor times `unit` (the tape value of one source unit);
    /// `None` when no price was observed (or, impossibly for prices that fit the tape, when it
    /// overflows).
    pub(crate) fn tick(&self, unit: i64) -> Option<Price> {
        if self.gcd == 0 {
            return None;
        }
        i64::try_from(self.gcd).ok()?.checked_mul(unit).map(Price)
    }
}

/// Euclid's greatest common divisor (`gcd(0, b) == b`).
fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The input to read next when merging several by local time: the one whose current item is
/// earliest, the first given on equal times; `None` when every input is at its end. `at` holds
/// each input's current local time in file order (`None`: at its end). Every multi-file
/// importer merges through this one rule.
pub(crate) fn earliest(at: impl IntoIterator<Item = Option<i64>>) -> Option<usize> {
    at.into_iter().enumerate().filter_map(|(k, t)| t.map(|t| (t, k))).min().map(|(_, k)| k)
}

/// The unit chosen for an input's local timestamps, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsUnitChoice {
    /// `ns`, `us` or `ms` (several, comma-separated, when files differ).
    pub unit: String,
    /// How it was chosen: `given`, `exchange times` or `magnitude`.
    pub how: String,
}

impl ImportSummary {
    /// A summary with nothing but the counts (for sources other than the importers).
    pub fn plain(header: TapeHeader, rows: u64, events: u64, tape_bytes: u64) -> Self {
        Self {
            header,
            rows,
            events,
            tape_bytes,
            notes: Vec::new(),
            skipped: BTreeMap::new(),
            sequence_gaps: None,
            local_ts_unit: None,
            clock_offset_ns: None,
            start_ns: None,
            end_ns: None,
            ticks: Vec::new(),
        }
    }
}

/// Options shared by the importers.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// How to store chunks.
    pub compression: Compression,
    /// Events per chunk (0: the default).
    pub chunk_events: u32,
    /// Unit of the local timestamps of collector captures (`None`: detected from the data).
    pub local_ts_unit: Option<binance::LocalTsUnit>,
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
    /// The book each instrument's events build, as a replay will build it: an event it cannot
    /// apply (a level's total quantity overflowing) is refused at its line here rather than
    /// stopping every later replay of the tape.
    books: Vec<Option<Book>>,
    first_local: Option<i64>,
    last_local: Option<i64>,
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
        let books = (0..header.instruments.len()).map(|_| None).collect();
        let w = TapeWriter::create(path, header, opts.compression)
            .map_err(|source| ImportError::Tape { file: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), w, check, books, first_local: None, last_local: None })
    }

    /// Writes the events of one source message; `at` is the input being read, whose current
    /// line an event breaking the tape's rules is reported at.
    pub(crate) fn batch(
        &mut self,
        events: &mut [TapeEvent],
        at: &Lines,
    ) -> Result<(), ImportError> {
        self.batch_with(events, &|reason| at.err(reason))
    }

    /// [`Sink::batch`] with errors located by `at`.
    pub(crate) fn batch_with(
        &mut self,
        events: &mut [TapeEvent],
        at: &dyn Fn(String) -> ImportError,
    ) -> Result<(), ImportError> {
        let n = events.len();
        for e in events.iter() {
            self.check.check(e).map_err(|reason| at(format!("the event {reason}")))?;
            // `check` has verified the instrument is on the tape.
            if let Some(slot) = self.books.get_mut(usize::from(e.instrument)) {
                let book = slot.get_or_insert_with(|| Book::with_capacity(1 << 10, 1 << 6));
                book.try_apply(&e.msg).map_err(|o| {
                    at(format!("instrument {}: {o}; the tape could not be replayed", e.instrument))
                })?;
            }
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
            self.first_local.get_or_insert(e.local_ts.0);
            self.last_local = Some(self.last_local.map_or(e.local_ts.0, |l| l.max(e.local_ts.0)));
        }
        Ok(())
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
        let mut s = ImportSummary::plain(header, rows, events, tape_bytes);
        s.notes = notes;
        s.start_ns = self.first_local;
        s.end_ns = self.last_local;
        Ok(s)
    }
}

/// A field of an input file quoted for an error message: escaped, at most 64 characters.
/// A tape's source line: `what` and the input files' names joined by ` + `.
pub(crate) fn source_name(what: &str, files: &[PathBuf]) -> String {
    let names: Vec<&str> =
        files.iter().map(|p| p.file_name().and_then(|n| n.to_str()).unwrap_or("?")).collect();
    format!("{what} {}", names.join(" + "))
}

pub(crate) fn quoted(field: &str) -> String {
    format!("\"{}\"", untrusted(field).max_chars(64))
}

/// Parses decimal seconds (`"34200.015105074"`) into integer nanoseconds.
///
/// Up to nine decimal places are exact. More places (float artefacts such as
/// `34200.0151050739999999`) are rounded to the nearest nanosecond, a tie (exactly half a
/// nanosecond, `…5` followed only by zeros) away from zero, i.e. to the later time for a
/// positive time. `None` for malformed text or overflow.
pub fn parse_seconds_ns(text: &str) -> Option<i64> {
    let t = text.trim();
    let Some((head, frac)) = t.split_once('.') else { return parse_scaled(t, 9) };
    let frac = frac.trim_end_matches('0');
    if frac.len() <= 9 {
        return parse_scaled(t, 9);
    }
    let (keep, rest) = frac.split_at(9);
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = parse_scaled(&format!("{head}.{keep}"), 9)?;
    // `rest` has no trailing zeros, so it is at least half exactly when its first digit is.
    if rest.as_bytes()[0] >= b'5' {
        if v < 0 || head.starts_with('-') { v.checked_sub(1) } else { v.checked_add(1) }
    } else {
        Some(v)
    }
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

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an ISO 8601 time into integer nanoseconds since the epoch, exactly:
/// `YYYY-MM-DD HH:MM:SS` (or `T` between), up to nine decimal places of seconds, then `Z`, an
/// offset `+HH:MM`/`-HH:MM`, or nothing for UTC. `None` for malformed text, a date that does
/// not exist, or a time outside what nanoseconds in an `i64` hold (1677 to 2262).
pub(crate) fn parse_utc_ns(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let s = t.get(from..from + len)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b' ' | b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, s) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] {
        return None;
    }
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let mut rest = &t[19..];
    let mut frac = 0i64;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        frac = r[..n].parse::<i64>().ok()? * 10i64.pow(9 - n as u32);
        rest = &r[n..];
    }
    let offset = match rest {
        "" | "Z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let z = &rest[1..];
            let (oh, om) = match z.len() {
                5 if z.as_bytes()[2] == b':' => (z.get(..2)?, z.get(3..)?),
                4 => (z.get(..2)?, z.get(2..)?),
                _ => return None,
            };
            let digits = |s: &str| {
                s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse::<i64>().ok()).flatten()
            };
            let (oh, om) = (digits(oh)?, digits(om)?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
    secs.checked_mul(1_000_000_000)?.checked_add(frac)
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
pub(crate) fn tick_for(decimals: u32) -> Price {
    let d = decimals.min(lockstep_sdk::SCALE);
    Price(10i64.pow(lockstep_sdk::SCALE - d))
}

/// Tick choices of the instruments of `header` whose ticks come from [`tick_for`].
pub(crate) fn decimal_ticks(header: &TapeHeader) -> Vec<TickChoice> {
    header
        .instruments
        .iter()
        .map(|i| TickChoice {
            instrument: i.id,
            tick: i.tick_size,
            source: TickSource::Decimals,
            prices: 0,
        })
        .collect()
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
        // More than nine places: rounded to the nearest nanosecond, ties away from zero.
        assert_eq!(parse_seconds_ns("1.0000000001"), Some(1_000_000_000));
        assert_eq!(parse_seconds_ns("34200.0151050739999999"), Some(34_200_015_105_074));
        assert_eq!(parse_seconds_ns("34200.01510507400000012"), Some(34_200_015_105_074));
        assert_eq!(parse_seconds_ns("1.0000000005"), Some(1_000_000_001));
        assert_eq!(parse_seconds_ns("1.00000000049999"), Some(1_000_000_000));
        assert_eq!(parse_seconds_ns("1.000000000500"), Some(1_000_000_001));
        assert_eq!(parse_seconds_ns("-1.0000000005"), Some(-1_000_000_001));
        assert_eq!(parse_seconds_ns("0.9999999999"), Some(1_000_000_000));
        assert_eq!(parse_seconds_ns("1.00000000012x"), None);
        assert_eq!(parse_seconds_ns("9223372036.8547758079"), None);
        assert_eq!(parse_seconds_ns("1.5000000000"), Some(1_500_000_000));
        assert_eq!(parse_seconds_ns("12a.5"), None);
        assert_eq!(parse_seconds_ns(""), None);
        assert_eq!(parse_int_ns("1582329602111000", 1000), Some(1_582_329_602_111_000_000));
        assert_eq!(parse_int_ns("x", 1000), None);
    }

    /// A LOBSTER input of symbol `X`.
    fn x_input(message: &Path) -> lobster::LobsterInput {
        lobster::LobsterInput { symbol: Some("X".into()), ..lobster::LobsterInput::new(message) }
    }

    /// Seed inputs of every importer, small and valid.
    fn seeds() -> Vec<(&'static str, Vec<String>)> {
        let lobster_msg: String = (0..40)
            .map(|i| {
                let kind = [1, 1, 3, 4, 2][i % 5];
                format!(
                    "{}.{:09},{kind},{},100,{},{}\n",
                    34200 + i,
                    i,
                    100 + i / 5,
                    5_794_000 + (i as i64 % 3) * 100,
                    if i % 2 == 0 { 1 } else { -1 }
                )
            })
            .collect();
        let tardis: String =
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
                .to_owned()
                + &(0..40)
                    .map(|i| {
                        format!(
                            "binance-futures,BTCUSDT,{},{},0.84,{}.5,9681.92,0.67\n",
                            1_582_329_601_096_000i64 + i * 1000,
                            1_582_329_603_502_092i64 + i * 1000,
                            9682 + i
                        )
                    })
                    .collect::<String>();
        let binance: String = (0..30)
            .map(|i| {
                let t = 1_723_161_253_937_085_768u64 + i * 1_000_000;
                match i % 3 {
                    0 => format!("{t} {{\"stream\":\"btcusdt@trade\",\"data\":{{\"e\":\"trade\",\"E\":1723161255343,\"s\":\"BTCUSDT\",\"t\":{i},\"p\":\"61837.63000000\",\"q\":\"0.02000000\",\"T\":1723161255342,\"m\":true,\"M\":true}}}}\n"),
                    1 => format!("{t} {{\"stream\":\"btcusdt@bookTicker\",\"data\":{{\"u\":{i},\"s\":\"BTCUSDT\",\"b\":\"61837.63000000\",\"B\":\"3.78826000\",\"a\":\"61837.64000000\",\"A\":\"1.54698000\"}}}}\n"),
                    _ => format!("{t} {{\"stream\":\"btcusdt@depth@100ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":1723161255208,\"s\":\"BTCUSDT\",\"U\":{i},\"u\":{i},\"b\":[[\"61737.63000000\",\"1.0\"]],\"a\":[[\"61837.64000000\",\"1.54698000\"]]}}}}\n"),
                }
            })
            .collect();
        let csv: String = "exchange_ts,local_ts,symbol,event,side,price,qty,order_id,more\n"
            .to_owned()
            + &(0..40)
                .map(|i| {
                    let ev = ["add", "add", "execute", "level", "trade"][i % 5];
                    format!(
                        "{i},{},S{},{ev},{},10.{:02},3,{},0\n",
                        i + 1,
                        i % 3,
                        if i % 2 == 0 { "buy" } else { "sell" },
                        i % 7,
                        i / 5 + 1
                    )
                })
                .collect::<String>();
        let depth: String =
            "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu\n"
                .to_owned()
                + &(0..40)
                    .map(|i| {
                        let (kind, id) = if i < 10 { ("snap", 100) } else { ("set", 100 + i / 3) };
                        format!(
                            "BTCUSDT,{},{id},{id},{},{kind},2037{}.{},{}.5,{}\n",
                            1_667_346_579_146i64 + i / 3,
                            if i % 2 == 0 { "b" } else { "a" },
                            i % 10,
                            i % 7,
                            i % 4,
                            if kind == "snap" { -1 } else { id - 1 }
                        )
                    })
                    .collect::<String>();
        let truefx: String = "timestamp,bid,ask\n".to_owned()
            + &(0..40)
                .map(|i| {
                    format!(
                        "2013-01-01 22:{:02}:{:02}.295000+00:00,86.6{i:02},86.72{}\n",
                        i / 7,
                        i % 60,
                        i % 10
                    )
                })
                .collect::<String>();
        vec![
            ("lobster", vec![lobster_msg]),
            ("tardis", vec![tardis]),
            ("binance", vec![binance]),
            ("csv", vec![csv]),
            ("csv-binance-depth", vec![depth]),
            ("csv-truefx", vec![truefx]),
        ]
    }

    /// Mutated inputs of every importer (bit flips, edge bytes, cuts, insertions) are imported
    /// or refused with an error, never a panic or a hang; and whatever imports reads back as a
    /// valid tape. `LOCKSTEP_FUZZ_CASES` raises the count (see `fuzz_mutated_tapes_never_panic`).
    #[test]
    fn fuzz_mutated_importer_inputs_never_panic_and_imports_replay() {
        let dir = std::env::temp_dir().join(format!("lockstep-fuzz-import-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cases = crate::fuzz_cases(300);
        let mut rng = crate::FuzzRng::new(0xbeef);
        let opts = ImportOptions::default();
        for (kind, files) in seeds() {
            let (mut ok, mut refused) = (0u64, 0u64);
            for case in 0..cases {
                let mut bytes = files[0].clone().into_bytes();
                if case > 0 {
                    rng.mutate(&mut bytes);
                }
                let input = dir.join(format!("{kind}_message_1.csv"));
                std::fs::write(&input, &bytes).unwrap();
                let out = dir.join(format!("{kind}.tape"));
                let r = match kind {
                    "lobster" => lobster::import_lobster(&[x_input(&input)], &out, &opts),
                    "tardis" => tardis::import_tardis(std::slice::from_ref(&input), &out, &opts),
                    "binance" => binance::import_binance(std::slice::from_ref(&input), &out, &opts),
                    _ => csv::import_csv(
                        std::slice::from_ref(&input),
                        &out,
                        csv::TimeUnit::Nanos,
                        &opts,
                    ),
                };
                match r {
                    Ok(summary) => {
                        ok += 1;
                        let mut reader = crate::TapeReader::open(&out).unwrap();
                        let mut buf = Vec::new();
                        let mut n = 0;
                        while crate::EventSource::next_chunk(&mut reader, &mut buf).unwrap_or_else(
                            |e| panic!("{kind} case {case}: imported tape unreadable: {e}"),
                        ) {
                            n += buf.len() as u64;
                        }
                        assert_eq!(n, summary.events, "{kind} case {case}");
                    }
                    Err(e) => {
                        assert!(case > 0, "{kind}: the seed imports: {e}");
                        refused += 1;
                        let text = e.to_string();
                        assert!(
                            !text.chars().any(char::is_control),
                            "{kind} case {case}: {text:?}"
                        );
                    }
                }
            }
            assert_eq!(ok + refused, cases);
            assert!(ok > 0 && refused > 0, "{kind}: {ok} imported, {refused} refused");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every importer accepts a UTF-8 byte order mark (as spreadsheet tools write) and imports
    /// exactly what it imports without one, gzip-compressed or not; a BOM anywhere but at the
    /// start of the file is refused at its line.
    #[test]
    fn every_importer_accepts_a_utf8_bom() {
        let dir = std::env::temp_dir().join(format!("lockstep-bom-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let opts = ImportOptions::default();
        let import = |kind: &str, text: &str, gz: bool, name: &str| {
            let input = dir.join(format!("{name}.{kind}{}", if gz { ".gz" } else { "" }));
            let bytes = if gz {
                use std::io::Write;
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(text.as_bytes()).unwrap();
                e.finish().unwrap()
            } else {
                text.as_bytes().to_vec()
            };
            std::fs::write(&input, bytes).unwrap();
            let out = dir.join(format!("{name}-{kind}.tape"));
            match kind {
                "lobster" => lobster::import_lobster(&[x_input(&input)], &out, &opts),
                "tardis" => tardis::import_tardis(std::slice::from_ref(&input), &out, &opts),
                "binance" => binance::import_binance(std::slice::from_ref(&input), &out, &opts),
                _ => {
                    csv::import_csv(std::slice::from_ref(&input), &out, csv::TimeUnit::Nanos, &opts)
                }
            }
            .map(|summary| {
                let mut reader = crate::TapeReader::open(&out).unwrap();
                let (mut all, mut buf) = (Vec::new(), Vec::new());
                while crate::EventSource::next_chunk(&mut reader, &mut buf).unwrap() {
                    all.extend_from_slice(&buf);
                }
                (summary.events, summary.rows, all)
            })
        };
        for (kind, files) in seeds() {
            let plain = import(kind, &files[0], false, "plain").unwrap();
            assert!(plain.0 > 0, "{kind}");
            for gz in [false, true] {
                let bom = import(kind, &format!("\u{feff}{}", files[0]), gz, "bom");
                assert_eq!(bom.unwrap(), plain, "{kind} (gzip: {gz})");
            }
            // A BOM on the second line is not a byte order mark but a bad field (where the
            // first field is read: Tardis files start with the exchange name, Binance depth
            // CSV files with the symbol, which are not).
            if kind == "tardis" || kind == "csv-binance-depth" {
                continue;
            }
            let (first, rest) = files[0].split_once('\n').unwrap();
            let e = import(kind, &format!("{first}\n\u{feff}{rest}"), false, "mid").unwrap_err();
            let line = match &e {
                ImportError::Row { line, .. } => *line,
                other => panic!("{kind}: {other}"),
            };
            assert_eq!(line, 2, "{kind}: {e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn iso_times_parse_exactly() {
        assert_eq!(
            parse_utc_ns("2013-01-01 22:00:00.295000+00:00"),
            Some(1_357_077_600_295_000_000)
        );
        assert_eq!(parse_utc_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc_ns("1970-01-01 00:00:00.000000001"), Some(1));
        assert_eq!(parse_utc_ns("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_utc_ns("1969-12-31T19:00:00-0500"), Some(0));
        assert_eq!(parse_utc_ns("2024-02-29T12:00:00Z"), Some(1_709_208_000_000_000_000));
        assert_eq!(parse_utc_ns("2000-03-01 00:00:00"), Some(951_868_800_000_000_000));
        assert_eq!(parse_utc_ns("1600-01-01 00:00:00"), None); // before 1677: out of range
        for bad in [
            "2023-02-29 00:00:00",
            "2013-13-01 00:00:00",
            "2013-01-01 24:00:00",
            "2013-01-01 22:00:00.",
            "2013-01-01 22:00:00.1234567890",
            "2013-01-01 22:00:00+0:00",
            "2013-01-01 22:00:00 UTC",
            "2013/01/01 22:00:00",
            "2013-01-01",
            "2013-01-01 22:00:0x",
            "9999-12-31 23:59:59",
        ] {
            assert_eq!(parse_utc_ns(bad), None, "{bad}");
        }
    }

    #[test]
    fn decimals_and_ticks() {
        assert_eq!(decimals("61837.63000000"), 2);
        assert_eq!(decimals("9682"), 0);
        assert_eq!(tick_for(2), lockstep_sdk::Price(1_000_000));
        assert_eq!(tick_for(0), lockstep_sdk::Price(100_000_000));
    }

    /// LOBSTER-style prices (dollars × 10^4; one unit is 10^4 on the tape).
    fn gcd_tick(prices: &[i64]) -> Option<Price> {
        let mut g = TickGcd::default();
        for &p in prices {
            g.observe(p);
        }
        g.tick(10_000)
    }

    #[test]
    fn the_tick_is_the_gcd_of_the_prices_never_below_the_unit() {
        // All multiples of $0.05: 0.05.
        assert_eq!(gcd_tick(&[1_000_500, 1_001_000, 1_002_500, 999_500]), Price::parse("0.05"));
        // One odd price among them: every price must stay a whole number of ticks, so 0.01.
        assert_eq!(
            gcd_tick(&[1_000_500, 1_001_000, 1_002_500, 999_500, 1_000_100]),
            Price::parse("0.01")
        );
        // A sub-penny price: down to the file's unit at most.
        assert_eq!(gcd_tick(&[1_000_000, 1_000_001]), Price::parse("0.0001"));
        // ES futures in Databento's units on the tape (1e-8): 0.25.
        let mut g = TickGcd::default();
        for p in [479_900_000_000i64, 479_925_000_000, 480_050_000_000] {
            g.observe(p);
        }
        assert_eq!((g.tick(1), g.prices()), (Price::parse("0.25"), 3));
        // Placeholders and status codes are not prices; nothing observed, no tick.
        assert_eq!(gcd_tick(&[0, -1, -9_999_999_999]), None);
        assert_eq!(gcd_tick(&[0, 5_794_000, -1]), Price::parse("579.40"));
        // Every price is a multiple of the tick.
        let prices = [5_794_000i64, 5_777_750, 5_802_300, 5_761_150];
        let t = gcd_tick(&prices).unwrap().0;
        assert_eq!(t, 50 * 10_000);
        assert!(prices.iter().all(|p| (p * 10_000) % t == 0));
    }

    #[test]
    fn the_earliest_input_goes_first_and_the_first_given_on_ties() {
        assert_eq!(earliest([Some(5), Some(3), Some(3)]), Some(1));
        assert_eq!(earliest([None, Some(7), Some(2)]), Some(2));
        assert_eq!(earliest([Some(4), None, Some(4)]), Some(0));
        assert_eq!(earliest([None, None]), None);
        assert_eq!(earliest(std::iter::empty()), None);
    }
}
