//! The versioned binary tape format: a header, then events in checksummed chunks.
//!
//! ```text
//! file     := prologue header chunk* end
//! prologue := "LOCKTAPE" | version u16 | compression u8 | 0u8 | header_len u32       (16 bytes)
//! header   := bincode(TapeHeader, fixed-width ints) | crc32(header bytes) u32
//! chunk    := "CHNK" | n_events u32 | raw_len u32 | stored_len u32 | first_event u64
//!             | crc32(the 20 bytes after the magic, then the stored bytes) u32 | stored bytes
//! end      := "TEND" | total_events u64 | chunks u32 | crc32(the 12 bytes before) u32
//! ```
//!
//! Integers are little-endian. A chunk's payload is its events, each a fixed-layout 56-byte
//! record (see `record.rs`: read with plain loads, no per-field deserializer); with deflate
//! compression the payload is deflated. Format 1 stored bincode events with delta timestamps
//! and no instrument specifications; it is refused with how to re-import. Readers hold one chunk at a
//! time, so a tape larger than memory replays in bounded memory. Every structural check
//! failure names the chunk and the byte offset where it was found.
//!
//! Time order: each instrument's events are in the order of at least one of the two clocks,
//! exchange time or local time (a tape need not be in global order: the synthetic market's
//! local times go backwards by a random feed delay, while imported feeds are in local-time
//! order and their exchange times may not be). The reader refuses an instrument whose events
//! are in the order of neither; the importers require local-time order at the offending line.

use crate::market::{FLAG_MORE, InstrumentInfo, MarketEvent, TapeEvent};
use lockstep_sdk::{Nanos, Price, Qty};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;

mod reader;
mod record;
mod writer;

pub use reader::{TapeReader, read_full};
pub use writer::TapeWriter;

/// The tape format version this build reads and writes. Version 2 added each instrument's
/// specification (lot, contract terms, currency, time zone); version 1 tapes are refused with
/// how to re-import them.
pub const FORMAT_VERSION: u16 = 2;
/// Default number of events per chunk.
pub const DEFAULT_CHUNK_EVENTS: u32 = 4096;
/// Largest chunk payload a reader accepts (guards against a corrupt length field).
const MAX_CHUNK_BYTES: u32 = 64 << 20;
const MAX_HEADER_BYTES: u32 = 16 << 20;
const MAX_CHUNK_EVENTS: u32 = 1 << 20;

/// Most instruments a tape may hold: instrument ids are `u16`.
pub const MAX_INSTRUMENTS: usize = 1 << 16;

const MAGIC: &[u8; 8] = b"LOCKTAPE";
const CHUNK_MAGIC: &[u8; 4] = b"CHNK";
const END_MAGIC: &[u8; 4] = b"TEND";
const PROLOGUE_LEN: u64 = 16;
const CHUNK_HEADER_LEN: usize = 28;
const END_LEN: usize = 20;

/// How chunk payloads are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    /// Stored as encoded (fastest to replay).
    #[default]
    None,
    /// Deflated with flate2 (smaller, slower to replay).
    Deflate,
}

impl Compression {
    fn code(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Deflate => 1,
        }
    }
    fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(Compression::None),
            1 => Some(Compression::Deflate),
            _ => None,
        }
    }
}

/// The tape header: what the tape holds and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapeHeader {
    /// Number of events on the tape (written when the tape is finished).
    pub event_count: u64,
    /// Events per chunk the writer used.
    pub chunk_events: u32,
    /// Where the data came from, e.g. the importer and input file names.
    pub source: String,
    /// Instruments, indexed by id.
    pub instruments: Vec<InstrumentInfo>,
    /// `Some("YYYY-MM-DD")`: times count nanoseconds from midnight of that day on the venue's
    /// clock, in the instruments' time zone (LOBSTER's seconds after midnight). `None`:
    /// nanoseconds since the Unix epoch, UTC.
    pub local_midnight: Option<String>,
}

impl TapeHeader {
    /// A header for `instruments` from `source` (the count is filled in by the writer).
    pub fn new(source: impl Into<String>, instruments: Vec<InstrumentInfo>) -> Self {
        Self {
            event_count: 0,
            chunk_events: DEFAULT_CHUNK_EVENTS,
            source: source.into(),
            instruments,
            local_midnight: None,
        }
    }
}

/// Largest price a tape may hold, raw fixed point (10^18 raw, i.e. 10 billion units): far above
/// any real price, and about a ninth of `i64::MAX`, so sums of a few (a bid plus an ask, a price
/// plus some ticks) cannot overflow. Tick sizes share the bound.
pub const MAX_PRICE: i64 = 1_000_000_000_000_000_000;
/// Largest quantity one event may carry, raw fixed point (10^18 raw, i.e. 10 billion units):
/// the same reasoning as [`MAX_PRICE`]; a level's total is bounded separately by the book.
pub const MAX_QTY: i64 = 1_000_000_000_000_000_000;
/// Most nanoseconds an instrument's local time may trail the latest local time of its feed
/// (60 s). A feed in exchange-time order has local times that go backwards by the jitter of its
/// feed delays: the synthetic market draws delays of 20-30 µs, so it trails by under 10 µs; a
/// minute leaves a margin of more than six orders of magnitude for real feeds while refusing
/// clocks that jump backwards by many minutes (a corrupt or forged tape).
pub const MAX_FEED_SKEW_NS: i64 = 60_000_000_000;

/// The rules every event obeys, checked where events enter (the tape reader, the importers).
/// Each refusal is a reason naming what is wrong and the event (`{:?}` of its message):
///
/// - **Instrument and flags**: a known instrument; only defined flag bits ([`FLAG_MORE`]).
/// - **Time**: no negative exchange or local time.
/// - **Bounds**: every price `0..=`[`MAX_PRICE`] and every quantity `0..=`[`MAX_QTY`] (raw).
/// - **Prices above 0**: an `Add`, `Execute`, `HiddenExecute` or `Trade`, and a `Level` that
///   sets a positive quantity; a `Quote` side may have price 0 only when it is empty (quantity
///   0). `Cancel`, `Delete` and `Forget` name an existing order or level, so their price is the
///   source's and only bounded; `Clear` and `Status` carry none.
/// - **Quantities**: an `Add`'s quantity is above 0 (others may be 0: a zero-size print or
///   cancel does nothing). Orders a message names but the book does not hold are the book's to
///   count ([`crate::BookStats::unknown_orders`]), not an error: data may start mid-session.
/// - **Time order**: every instrument's events must be in the order of at least one of the two
///   clocks. A feed recorded where it is received is in local-time order (every importer writes
///   such tapes, and refuses a row whose local time goes backwards: `ordered`); a feed generated
///   at the venue with delays drawn on top is in exchange-time order (the synthetic market: its
///   local times go backwards by the random feed delay, and its golden digests depend on them).
///   The reader accepts either, per instrument, and refuses a feed in the order of neither
///   clock: its exchange time has gone backwards somewhere and its local time somewhere (not
///   necessarily at the same event); the error names the event where the second clock went
///   backwards and where the first did.
/// - **Skew**: an instrument's local time never trails the latest local time of its feed by more
///   than [`MAX_FEED_SKEW_NS`], so a feed in exchange-time order cannot jump back in time.
#[derive(Clone, Debug)]
pub struct EventCheck {
    feeds: Vec<FeedOrder>,
    ordered: bool,
}

/// Per instrument: the last time on each clock and the first step backwards of each
/// (`(time, after)`).
#[derive(Clone, Copy, Debug)]
struct FeedOrder {
    last: [i64; 2],
    back: [Option<(i64, i64)>; 2],
}

const CLOCKS: [&str; 2] = ["exchange", "local"];

impl EventCheck {
    /// Checks for a tape with `instruments` instruments; `ordered`: local time order (the
    /// importers' rule) rather than either clock's order (the reader's).
    pub fn new(instruments: usize, ordered: bool) -> Self {
        let feed = FeedOrder { last: [i64::MIN; 2], back: [None; 2] };
        Self { feeds: vec![feed; instruments], ordered }
    }

    /// Checks `e`, the next event; the reason it is refused.
    pub fn check(&mut self, e: &TapeEvent) -> Result<(), String> {
        let n = self.feeds.len();
        let Some(feed) = self.feeds.get_mut(usize::from(e.instrument)) else {
            return Err(format!("names instrument {} but the tape lists {n}", e.instrument));
        };
        if e.flags & !FLAG_MORE != 0 {
            return Err(format!("has undefined flag bits {:#04x}", e.flags & !FLAG_MORE));
        }
        if e.local_ts.0 < 0 || e.exchange_ts.0 < 0 {
            return Err(format!(
                "has a negative time (exchange {} ns, local {} ns)",
                e.exchange_ts.0, e.local_ts.0
            ));
        }
        feed.advance(e, self.ordered)?;
        check_message(&e.msg)
    }
}

impl FeedOrder {
    /// Checks `e`'s times (not negative) against the feed's order and skew rules and records
    /// them.
    fn advance(&mut self, e: &TapeEvent, ordered: bool) -> Result<(), String> {
        let now = [e.exchange_ts.0, e.local_ts.0];
        if ordered && now[1] < self.last[1] {
            return Err(format!(
                "local time goes backwards on instrument {} ({} ns after {} ns)",
                e.instrument, now[1], self.last[1]
            ));
        }
        // `last` is `i64::MIN` before the first event: saturating, that trails by nothing.
        let trail = self.last[1].saturating_sub(now[1]);
        if trail > MAX_FEED_SKEW_NS {
            return Err(format!(
                "has local time {} ns on instrument {}, {trail} ns behind the feed's latest local time ({} ns); a feed's local time may trail its latest by at most {MAX_FEED_SKEW_NS} ns (MAX_FEED_SKEW_NS): {:?}",
                now[1], e.instrument, self.last[1], e.msg
            ));
        }
        for c in 0..2 {
            if now[c] < self.last[c] && self.back[c].is_none() {
                self.back[c] = Some((now[c], self.last[c]));
                if let Some((t, after)) = self.back[1 - c] {
                    return Err(format!(
                        "puts instrument {}'s feed in the order of neither clock: its {} time goes backwards here ({} ns after {} ns) and its {} time did earlier ({t} ns after {after} ns); one instrument's events must be in exchange-time or in local-time order",
                        e.instrument,
                        CLOCKS[c],
                        now[c],
                        self.last[c],
                        CLOCKS[1 - c]
                    ));
                }
            }
            self.last[c] = self.last[c].max(now[c]);
        }
        Ok(())
    }
}

/// One price and quantity a message carries, with the rule its price obeys beyond the bounds:
/// `Some(why)` when it must be above 0.
#[derive(Clone, Copy)]
struct Amounts {
    px: i64,
    qty: i64,
    px_above_0: Option<&'static str>,
}

/// Why an order, execution or trade at price 0 is refused.
const TRADED_AT_0: &str = "an order, execution or trade must have a price above 0";
/// Why a quote side at price 0 that has a quantity is refused.
const QUOTED_AT_0: &str = "a quote side with a quantity must have a price above 0; an empty side has price 0 and quantity 0";

/// The price and quantity rules of [`EventCheck`] for one message.
fn check_message(msg: &MarketEvent) -> Result<(), String> {
    let plain = |px: Price, qty: Qty| Amounts { px: px.0, qty: qty.0, px_above_0: None };
    let traded = |px: Price, qty: Qty| Amounts { px_above_0: Some(TRADED_AT_0), ..plain(px, qty) };
    let (a, b) = match *msg {
        MarketEvent::Add { px, qty, .. } => {
            if qty.0 == 0 {
                return Err(format!(
                    "adds an order of quantity 0 ({msg:?}); an Add must have a quantity above 0"
                ));
            }
            (traded(px, qty), None)
        }
        MarketEvent::Execute { px, qty, .. }
        | MarketEvent::HiddenExecute { px, qty, .. }
        | MarketEvent::Trade { px, qty, .. } => (traded(px, qty), None),
        MarketEvent::Level { px, qty, .. } => {
            let rule = (qty.0 > 0).then_some("a level with a quantity must have a price above 0");
            (Amounts { px_above_0: rule, ..plain(px, qty) }, None)
        }
        MarketEvent::Cancel { px, qty, .. } | MarketEvent::Delete { px, qty, .. } => {
            (plain(px, qty), None)
        }
        MarketEvent::Forget { px, .. } => (plain(px, Qty::ZERO), None),
        MarketEvent::Quote { bid_px, bid_qty, ask_px, ask_qty } => {
            let side = |px: Price, qty: Qty| Amounts {
                px_above_0: (qty.0 != 0).then_some(QUOTED_AT_0),
                ..plain(px, qty)
            };
            (side(bid_px, bid_qty), Some(side(ask_px, ask_qty)))
        }
        MarketEvent::Clear | MarketEvent::Status { .. } => return Ok(()),
    };
    let all = [Some(a), b];
    let all = all.iter().flatten();
    if all.clone().any(|x| x.px < 0 || x.qty < 0) {
        return Err(format!("has a negative price or size ({msg:?})"));
    }
    for x in all {
        if x.px > MAX_PRICE {
            return Err(format!(
                "has price {} above the largest a tape may hold, {} (MAX_PRICE) ({msg:?}); the source's prices are corrupt or mis-scaled",
                Price(x.px),
                Price(MAX_PRICE)
            ));
        }
        if x.qty > MAX_QTY {
            return Err(format!(
                "has quantity {} above the largest a tape may hold, {} (MAX_QTY) ({msg:?}); the source's quantities are corrupt or mis-scaled",
                Qty(x.qty),
                Qty(MAX_QTY)
            ));
        }
        if let (0, Some(why)) = (x.px, x.px_above_0) {
            return Err(format!("has price 0 ({msg:?}); {why}"));
        }
    }
    Ok(())
}

/// Checks a tape header's instruments: ids equal to their index, at most
/// [`MAX_INSTRUMENTS`], tick sizes above 0 and at most [`MAX_PRICE`].
pub fn check_instruments(instruments: &[InstrumentInfo]) -> Result<(), String> {
    if instruments.len() > MAX_INSTRUMENTS {
        return Err(format!(
            "{} instruments, more than the {MAX_INSTRUMENTS} a tape can hold",
            instruments.len()
        ));
    }
    for (i, ins) in instruments.iter().enumerate() {
        if usize::from(ins.id) != i {
            return Err(format!("instrument {i} has id {}", ins.id));
        }
        let symbol = lockstep_sdk::untrusted(&ins.symbol).max_chars(64);
        if ins.tick_size.0 <= 0 {
            return Err(format!(
                "instrument {i} ({symbol}) has tick size {}; it must be above 0",
                ins.tick_size
            ));
        }
        if ins.tick_size.0 > MAX_PRICE {
            return Err(format!(
                "instrument {i} ({symbol}) has tick size {}; it must be at most {} (MAX_PRICE)",
                ins.tick_size,
                Price(MAX_PRICE)
            ));
        }
        check_spec(ins).map_err(|e| format!("instrument {i} ({symbol}) {e}"))?;
    }
    Ok(())
}

/// A header's `local_midnight` is a real date, `YYYY-MM-DD`.
pub fn check_local_midnight(day: Option<&str>) -> Result<(), String> {
    let Some(d) = day else { return Ok(()) };
    let parts: Vec<&str> = d.split('-').collect();
    let num = |s: &str, n: usize| {
        (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok())?
    };
    let ok = match parts.as_slice() {
        [y, m, dd] => match (num(y, 4), num(m, 2), num(dd, 2)) {
            (Some(y), Some(m), Some(dd)) => lockstep_sdk::is_valid_date(y as i32, m, dd),
            _ => false,
        },
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        let d = lockstep_sdk::untrusted(d).max_chars(16);
        Err(format!("its day \"{d}\" is not a date YYYY-MM-DD"))
    }
}

/// An instrument's specification is in range: a lot and a multiplier above 0 and at most
/// [`MAX_QTY`], a currency of 1 to 12 letters or digits, a time zone of IANA name characters.
fn check_spec(ins: &InstrumentInfo) -> Result<(), String> {
    if !(1..=MAX_QTY).contains(&ins.lot_size.0) {
        return Err(format!("has lot size {}; it must be above 0 and at most 10^10", ins.lot_size));
    }
    let m = ins.contract.multiplier;
    if !(1..=MAX_QTY).contains(&m.0) {
        return Err(format!("has multiplier {m}; it must be above 0 and at most 10^10"));
    }
    let c = &ins.currency;
    if c.is_empty() || c.len() > 12 || !c.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let c = lockstep_sdk::untrusted(c).max_chars(16);
        return Err(format!("has currency \"{c}\"; it must be 1 to 12 ASCII letters or digits"));
    }
    let z = &ins.time_zone;
    let zone_char = |b: u8| b.is_ascii_alphanumeric() || b"/_+-:".contains(&b);
    if z.is_empty() || z.len() > 64 || !z.bytes().all(zone_char) {
        let z = lockstep_sdk::untrusted(z).max_chars(64);
        return Err(format!(
            "has time zone \"{z}\"; it must be an IANA name such as America/New_York"
        ));
    }
    Ok(())
}

/// Fixed-width integers; decoding is limited to the largest header, so a forged string or
/// list length is refused before anything is allocated for it (found by `lockstep-fuzz`).
type HeaderLimit = bincode::config::Limit<{ MAX_HEADER_BYTES as usize }>;

fn header_config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    HeaderLimit,
> {
    bincode::config::standard().with_fixed_int_encoding().with_limit()
}

/// Anything that went wrong reading or writing a tape.
#[derive(Debug)]
#[non_exhaustive]
pub enum TapeError {
    /// An I/O error at a byte offset.
    Io {
        /// Byte offset in the file.
        offset: u64,
        /// The OS error.
        source: io::Error,
    },
    /// The file does not start with the tape magic.
    NotATape {
        /// The first bytes found.
        found: Vec<u8>,
    },
    /// The tape's format version is not supported by this build.
    Version {
        /// Version found in the file.
        found: u16,
    },
    /// The header failed its checksum or did not decode.
    Header {
        /// Byte offset of the header.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A chunk failed a structural or checksum check.
    Corrupt {
        /// Chunk number (0-based).
        chunk: u64,
        /// Byte offset of the chunk.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The file ends in the middle of a chunk or before the end marker.
    Truncated {
        /// Chunk number (0-based) being read.
        chunk: u64,
        /// Byte offset where more bytes were expected.
        offset: u64,
        /// What was being read.
        reading: &'static str,
    },
    /// An event could not be encoded (writer side).
    Encode {
        /// bincode's explanation.
        reason: String,
    },
}

impl fmt::Display for TapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TapeError::Io { offset, source } => {
                write!(f, "I/O error at byte offset {offset}: {source}")
            }
            TapeError::NotATape { found } => write!(
                f,
                "not a Lockstep tape: the file starts with {found:02x?} instead of \"LOCKTAPE\"; create tapes with `replay import`"
            ),
            TapeError::Version { found: 1 } => write!(
                f,
                "tape format version 1 has no instrument specifications (lot size, contract multiplier, currency, time zone), which this build needs (it reads version {FORMAT_VERSION}); re-import the source data with this build's `replay import` (the importers take them from the data, or from --lot, --multiplier, --currency and --time-zone)"
            ),
            TapeError::Version { found } => write!(
                f,
                "tape format version {found} is not supported (this build reads version {FORMAT_VERSION}); re-import the data"
            ),
            TapeError::Header { offset, reason } => write!(
                f,
                "tape header at byte offset {offset} is corrupt: {reason}; re-import the data"
            ),
            TapeError::Corrupt { chunk, offset, reason } => write!(
                f,
                "tape chunk {chunk} at byte offset {offset} is corrupt: {reason}; the tape cannot be replayed, re-import the data"
            ),
            TapeError::Truncated { chunk, offset, reading } => write!(
                f,
                "tape is truncated: chunk {chunk}, byte offset {offset}: the file ends while reading {reading}; re-import the data"
            ),
            TapeError::Encode { reason } => write!(f, "cannot encode tape event: {reason}"),
        }
    }
}

// Display already carries the underlying error, so `source` is left empty: reporting the
// chain as well (anyhow's `{:#}`) would print it twice.
impl std::error::Error for TapeError {}

/// Something that yields tape events chunk by chunk: a tape file, the synthetic market, memory.
pub trait EventSource {
    /// The header describing the events.
    fn header(&self) -> &TapeHeader;
    /// Clears `buf` and fills it with the next chunk of events; `Ok(false)` at the end.
    ///
    /// # Errors
    /// [`TapeError`] naming the chunk and byte offset of a corrupt or truncated tape.
    fn next_chunk(&mut self, buf: &mut Vec<TapeEvent>) -> Result<bool, TapeError>;
}

impl<S: EventSource + ?Sized> EventSource for Box<S> {
    fn header(&self) -> &TapeHeader {
        (**self).header()
    }
    fn next_chunk(&mut self, buf: &mut Vec<TapeEvent>) -> Result<bool, TapeError> {
        (**self).next_chunk(buf)
    }
}

/// Events held in memory, served in chunks (benchmarks and tests).
#[derive(Clone, Debug)]
pub struct MemorySource {
    header: TapeHeader,
    events: std::sync::Arc<[TapeEvent]>,
    pos: usize,
    chunk: usize,
}

impl MemorySource {
    /// Serves `events` under `header`, `DEFAULT_CHUNK_EVENTS` at a time.
    pub fn new(mut header: TapeHeader, events: impl Into<std::sync::Arc<[TapeEvent]>>) -> Self {
        let events = events.into();
        header.event_count = events.len() as u64;
        Self { header, events, pos: 0, chunk: DEFAULT_CHUNK_EVENTS as usize }
    }
    /// Reads a whole source into memory.
    ///
    /// # Errors
    /// The source's [`TapeError`].
    pub fn load(src: &mut dyn EventSource) -> Result<Self, TapeError> {
        let mut all = Vec::new();
        let mut buf = Vec::new();
        while src.next_chunk(&mut buf)? {
            all.extend_from_slice(&buf);
        }
        Ok(Self::new(src.header().clone(), all))
    }
    /// All events.
    pub fn events(&self) -> &[TapeEvent] {
        &self.events
    }
    /// A fresh source over the same events, from the start.
    pub fn rewind(&self) -> Self {
        Self { pos: 0, ..self.clone() }
    }
}

impl EventSource for MemorySource {
    fn header(&self) -> &TapeHeader {
        &self.header
    }
    fn next_chunk(&mut self, buf: &mut Vec<TapeEvent>) -> Result<bool, TapeError> {
        buf.clear();
        if self.pos >= self.events.len() {
            return Ok(false);
        }
        let end = (self.pos + self.chunk).min(self.events.len());
        buf.extend_from_slice(&self.events[self.pos..end]);
        self.pos = end;
        Ok(true)
    }
}

/// Another source's events up to a limit, cut only between batches (a batch is never split):
/// after the batch holding the `events`-th event, and before the first batch that starts at
/// or after exchange time `until`. The header stays the tape's.
#[derive(Debug)]
pub struct Limited<S> {
    inner: S,
    left: u64,
    until: Option<Nanos>,
    /// The last event served was flagged `more`: its batch goes on.
    in_batch: bool,
    done: bool,
}

impl<S: EventSource> Limited<S> {
    /// `inner` cut after `events` events (`None`: no count) or at `until` (`None`: no time).
    pub fn new(inner: S, events: Option<u64>, until: Option<Nanos>) -> Self {
        Self { inner, left: events.unwrap_or(u64::MAX), until, in_batch: false, done: false }
    }
}

impl<S: EventSource> EventSource for Limited<S> {
    fn header(&self) -> &TapeHeader {
        self.inner.header()
    }

    fn next_chunk(&mut self, buf: &mut Vec<TapeEvent>) -> Result<bool, TapeError> {
        buf.clear();
        if self.done || !self.inner.next_chunk(buf)? {
            return Ok(false);
        }
        let mut keep = 0;
        for ev in buf.iter() {
            let starts_batch = !self.in_batch;
            let out = self.left == 0 || self.until.is_some_and(|t| ev.exchange_ts >= t);
            if starts_batch && out {
                self.done = true;
                break;
            }
            self.left = self.left.saturating_sub(1);
            self.in_batch = ev.more();
            keep += 1;
        }
        buf.truncate(keep);
        Ok(!buf.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{ONE, Price, Qty, Side};
    use std::io::Cursor;

    fn sample(n: usize) -> Vec<TapeEvent> {
        (0..n)
            .map(|i| {
                let i64i = i as i64;
                let msg = match i % 5 {
                    0 => MarketEvent::Add {
                        order_id: i as u64,
                        side: Side::Buy,
                        px: Price(10_000_000_000 - i64i),
                        qty: Qty::from_units(3),
                    },
                    1 => MarketEvent::Trade { px: Price(5), qty: Qty(7), aggressor: None },
                    2 => MarketEvent::Level { side: Side::Sell, px: Price(9), qty: Qty(0) },
                    3 => MarketEvent::Quote {
                        bid_px: Price(1),
                        bid_qty: Qty(2),
                        ask_px: Price(3),
                        ask_qty: Qty(4),
                    },
                    _ => MarketEvent::Clear,
                };
                TapeEvent {
                    exchange_ts: Nanos(1_000_000_000_000 + i64i * 1000),
                    local_ts: Nanos(1_000_000_000_500 + i64i * 999),
                    instrument: (i % 2) as u16,
                    flags: (i % 3 == 0) as u8,
                    msg,
                }
            })
            .collect()
    }

    #[test]
    fn instrument_specs_and_the_day_are_checked_with_their_values_named() {
        let mut ins = header().instruments.remove(0);
        assert_eq!(check_instruments(std::slice::from_ref(&ins)), Ok(()));
        ins.time_zone = "+05:30".into();
        assert_eq!(check_instruments(std::slice::from_ref(&ins)), Ok(()));
        ins.currency = "US D".into();
        let e = check_instruments(std::slice::from_ref(&ins)).unwrap_err();
        assert_eq!(
            e,
            "instrument 0 (S0) has currency \"US D\"; it must be 1 to 12 ASCII letters or digits"
        );
        ins.currency = "USD".into();
        ins.lot_size = Qty(0);
        let e = check_instruments(std::slice::from_ref(&ins)).unwrap_err();
        assert!(e.contains("has lot size 0; it must be above 0"), "{e}");
        assert_eq!(check_local_midnight(Some("2012-06-21")), Ok(()));
        for bad in ["2012-02-30", "2012-6-21", "21-06-2012", ""] {
            assert!(check_local_midnight(Some(bad)).is_err(), "{bad}");
        }
    }

    fn header() -> TapeHeader {
        let ins = |id: u16| InstrumentInfo {
            id,
            symbol: format!("S{id}"),
            venue: "test".into(),
            tick_size: Price(1_000_000),
            price_scale: 2,
            lot_size: Qty(ONE),
            contract: crate::Contract::LINEAR,
            currency: "USD".into(),
            time_zone: "UTC".into(),
        };
        let mut h = TapeHeader::new("unit test", vec![ins(0), ins(1)]);
        h.chunk_events = 100;
        h
    }

    fn write(events: &[TapeEvent], c: Compression) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        let mut w = TapeWriter::new(&mut buf, header(), c).unwrap();
        for e in events {
            w.push(e).unwrap();
        }
        let (h, size, _) = w.finish_into().unwrap();
        assert_eq!(h.event_count, events.len() as u64);
        let bytes = buf.into_inner();
        assert_eq!(size, bytes.len() as u64);
        bytes
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<TapeEvent>, TapeError> {
        let mut r = TapeReader::new(bytes)?;
        let mut all = Vec::new();
        let mut buf = Vec::new();
        while r.next_chunk(&mut buf)? {
            all.extend_from_slice(&buf);
        }
        Ok(all)
    }

    /// Offset of the first chunk header of a tape written by `write`.
    fn first_chunk(bytes: &[u8]) -> usize {
        PROLOGUE_LEN as usize + u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize + 4
    }

    /// Recomputes the checksum of the chunk at `at` after its header was edited.
    fn reseal(bytes: &mut [u8], at: usize) {
        let stored = u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap()) as usize;
        let mut h = crc32fast::Hasher::new();
        h.update(&bytes[at + 4..at + 24]);
        h.update(&bytes[at + CHUNK_HEADER_LEN..at + CHUNK_HEADER_LEN + stored]);
        let crc = h.finalize().to_le_bytes();
        bytes[at + 24..at + 28].copy_from_slice(&crc);
    }

    #[test]
    fn data_after_the_end_marker_is_refused() {
        let mut bytes = write(&sample(10), Compression::None);
        let end = bytes.len() as u64;
        bytes.push(0);
        match read_all(&bytes) {
            Err(TapeError::Corrupt { offset, reason, .. }) => {
                assert_eq!(offset, end);
                assert_eq!(reason, "data follows the end marker");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_chunk_inflates_no_further_than_its_declared_size() {
        // 200,000 identical events deflate to a few kB; the chunk then claims 10 bytes.
        let ev = vec![sample(1)[0]; 200_000];
        let mut h = header();
        h.chunk_events = 200_000;
        let mut buf = Cursor::new(Vec::new());
        let mut w = TapeWriter::new(&mut buf, h, Compression::Deflate).unwrap();
        for e in &ev {
            w.push(e).unwrap();
        }
        w.finish_into().unwrap();
        let mut bytes = buf.into_inner();
        let at = first_chunk(&bytes);
        bytes[at + 8..at + 12].copy_from_slice(&10u32.to_le_bytes());
        reseal(&mut bytes, at);
        match read_all(&bytes) {
            Err(TapeError::Corrupt { chunk: 0, reason, .. }) => {
                assert_eq!(reason, "payload is 11 bytes, header says 10");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decoded_events_are_sanity_checked() {
        let bad = |e: TapeEvent| {
            let mut ev = sample(3);
            ev.push(e);
            match read_all(&write(&ev, Compression::None)) {
                Err(TapeError::Corrupt { chunk: 0, reason, .. }) => reason,
                other => panic!("{other:?}"),
            }
        };
        let t = Nanos(2_000_000_000_000);
        let add = |px: i64, qty: i64| MarketEvent::Add {
            order_id: 9,
            side: Side::Sell,
            px: Price(px),
            qty: Qty(qty),
        };
        assert_eq!(
            bad(TapeEvent::new(t, t, 0, add(5, -1))),
            format!("event 3 of the chunk has a negative price or size ({:?})", add(5, -1))
        );
        assert!(bad(TapeEvent::new(t, t, 1, add(-5, 1))).contains("negative price or size"));
        assert_eq!(
            bad(TapeEvent::new(t, Nanos(-1), 0, add(5, 1))),
            "event 3 of the chunk has a negative time (exchange 2000000000000 ns, local -1 ns)"
        );
        assert_eq!(
            bad(TapeEvent { flags: 0x82, ..TapeEvent::new(t, t, 0, add(5, 1)) }),
            "event 3 of the chunk has undefined flag bits 0x82"
        );
        assert_eq!(
            bad(TapeEvent::new(t, t, 2, add(5, 1))),
            "event 3 of the chunk names instrument 2 but the tape lists 2"
        );
    }

    #[test]
    fn each_instruments_feed_must_be_in_the_order_of_one_clock() {
        let ev = |ins: u16, exchange: i64, local: i64| {
            TapeEvent::new(Nanos(exchange), Nanos(local), ins, MarketEvent::Clear)
        };
        // A full first chunk in order on both clocks, then:
        let mut events: Vec<TapeEvent> = (0..100).map(|t| ev(0, t, t)).collect();
        events.extend([
            ev(0, 1_000, 2_000),
            ev(1, 1_000, 2_000),
            // instrument 0's exchange time goes backwards, its local time does not (a feed
            // recorded where it is received, like every import);
            ev(0, 900, 2_100),
            // instrument 1's local time goes backwards, its exchange time does not (a feed
            // with a random delay on top, like the synthetic market);
            ev(1, 1_100, 1_500),
            ev(0, 950, 2_200),
        ]);
        assert_eq!(read_all(&write(&events, Compression::Deflate)).unwrap(), events);
        // ...and now instrument 1's exchange time goes backwards as well.
        events.push(ev(1, 1_050, 1_600));
        let bytes = write(&events, Compression::Deflate);
        let second_chunk = {
            let mut r = TapeReader::new(&bytes[..]).unwrap();
            r.next_chunk(&mut Vec::new()).unwrap();
            r.offset()
        };
        match read_all(&bytes) {
            Err(e @ TapeError::Corrupt { chunk: 1, offset, .. }) => {
                assert_eq!(offset, second_chunk);
                assert_eq!(
                    e.to_string(),
                    format!(
                        "tape chunk 1 at byte offset {second_chunk} is corrupt: event 5 of the chunk puts instrument 1's feed in the order of neither clock: its exchange time goes backwards here (1050 ns after 1100 ns) and its local time did earlier (1500 ns after 2000 ns); one instrument's events must be in exchange-time or in local-time order; the tape cannot be replayed, re-import the data"
                    )
                );
            }
            other => panic!("{other:?}"),
        }
        // A tape of the synthetic market, whose local times go backwards, reads back whole.
        let mut synth = crate::Synth::new(crate::SynthConfig { events: 20_000, seed: 3 });
        let mut all = Vec::new();
        let mut buf = Vec::new();
        while synth.next_chunk(&mut buf).unwrap() {
            all.extend_from_slice(&buf);
        }
        assert!(
            all.windows(2)
                .any(|w| w[1].instrument == w[0].instrument && w[1].local_ts < w[0].local_ts)
        );
        let mut out = Cursor::new(Vec::new());
        let mut w =
            TapeWriter::new(&mut out, synth.header().clone(), Compression::Deflate).unwrap();
        for e in &all {
            w.push(e).unwrap();
        }
        w.finish_into().unwrap();
        assert_eq!(read_all(&out.into_inner()).unwrap(), all);
    }

    #[test]
    fn a_header_with_a_tick_size_of_zero_is_refused() {
        let mut h = header();
        h.instruments[1].tick_size = Price(0);
        let mut buf = Cursor::new(Vec::new());
        TapeWriter::new(&mut buf, h, Compression::None).unwrap().finish_into().unwrap();
        match TapeReader::new(&buf.into_inner()[..]).map(|r| r.header().clone()) {
            Err(TapeError::Header { reason, .. }) => {
                assert_eq!(reason, "instrument 1 (S1) has tick size 0; it must be above 0");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A lone event of instrument 0 at time `t` on both clocks.
    fn at(t: i64, msg: MarketEvent) -> TapeEvent {
        TapeEvent::new(Nanos(t), Nanos(t), 0, msg)
    }

    /// What a fresh check (importer rules) says of `msg` alone.
    fn check_one(msg: MarketEvent) -> Result<(), String> {
        EventCheck::new(1, true).check(&at(1, msg))
    }

    fn exec(px: i64, qty: i64) -> MarketEvent {
        MarketEvent::Execute { order_id: 7, side: Side::Buy, px: Price(px), qty: Qty(qty) }
    }

    #[test]
    fn prices_and_quantities_are_bounded() {
        assert_eq!(check_one(exec(MAX_PRICE, MAX_QTY)), Ok(()));
        assert_eq!(
            check_one(exec(MAX_PRICE + 1, 1)),
            Err(format!(
                "has price 10000000000.00000001 above the largest a tape may hold, 10000000000 (MAX_PRICE) ({:?}); the source's prices are corrupt or mis-scaled",
                exec(MAX_PRICE + 1, 1)
            ))
        );
        // An execution of 2^62 raw (about 4.6e10 units).
        assert_eq!(
            check_one(exec(ONE, 1 << 62)),
            Err(format!(
                "has quantity 46116860184.27387904 above the largest a tape may hold, 10000000000 (MAX_QTY) ({:?}); the source's quantities are corrupt or mis-scaled",
                exec(ONE, 1 << 62)
            ))
        );
        let (side, big) = (Side::Sell, MAX_PRICE + 1);
        let over = [
            MarketEvent::Add { order_id: 1, side, px: Price(i64::MAX), qty: Qty(1) },
            MarketEvent::Add { order_id: 1, side, px: Price(1), qty: Qty(big) },
            MarketEvent::Cancel { order_id: 1, side, px: Price(big), qty: Qty(1) },
            MarketEvent::Delete { order_id: 1, side, px: Price(1), qty: Qty(big) },
            MarketEvent::HiddenExecute { side, px: Price(1), qty: Qty(big) },
            MarketEvent::Level { side, px: Price(big), qty: Qty(0) },
            MarketEvent::Forget { side, px: Price(big) },
            MarketEvent::Quote {
                bid_px: Price(1),
                bid_qty: Qty(1),
                ask_px: Price(big),
                ask_qty: Qty(1),
            },
            MarketEvent::Quote {
                bid_px: Price(1),
                bid_qty: Qty(big),
                ask_px: Price(2),
                ask_qty: Qty(1),
            },
            MarketEvent::Trade { px: Price(1), qty: Qty(big), aggressor: None },
        ];
        for msg in over {
            let e = check_one(msg).unwrap_err();
            assert!(e.contains("above the largest a tape may hold"), "{msg:?}: {e}");
        }
    }

    #[test]
    fn orders_executions_and_trades_need_a_price_above_0() {
        let side = Side::Buy;
        let add = |px: i64, qty: i64| MarketEvent::Add {
            order_id: 1,
            side,
            px: Price(px),
            qty: Qty(qty),
        };
        assert_eq!(
            check_one(add(0, ONE)),
            Err(format!(
                "has price 0 ({:?}); an order, execution or trade must have a price above 0",
                add(0, ONE)
            ))
        );
        assert_eq!(
            check_one(add(ONE, 0)),
            Err(format!(
                "adds an order of quantity 0 ({:?}); an Add must have a quantity above 0",
                add(ONE, 0)
            ))
        );
        let quote = |bid_px: i64, bid_qty: i64, ask_px: i64, ask_qty: i64| MarketEvent::Quote {
            bid_px: Price(bid_px),
            bid_qty: Qty(bid_qty),
            ask_px: Price(ask_px),
            ask_qty: Qty(ask_qty),
        };
        assert_eq!(
            check_one(quote(0, 3, ONE, 1)),
            Err(format!(
                "has price 0 ({:?}); a quote side with a quantity must have a price above 0; an empty side has price 0 and quantity 0",
                quote(0, 3, ONE, 1)
            ))
        );
        let refused = [
            exec(0, ONE),
            MarketEvent::HiddenExecute { side, px: Price(0), qty: Qty(ONE) },
            MarketEvent::Trade { px: Price(0), qty: Qty(ONE), aggressor: Some(side) },
            MarketEvent::Level { side, px: Price(0), qty: Qty(1) },
            quote(ONE, 1, 0, 2),
        ];
        for msg in refused {
            let e = check_one(msg).unwrap_err();
            assert!(e.starts_with("has price 0 ("), "{msg:?}: {e}");
        }
        let accepted = [
            add(1, 1),
            exec(1, 0),
            MarketEvent::Cancel { order_id: 1, side, px: Price(0), qty: Qty(1) },
            MarketEvent::Delete { order_id: 1, side, px: Price(0), qty: Qty(0) },
            MarketEvent::Forget { side, px: Price(0) },
            MarketEvent::Level { side, px: Price(0), qty: Qty(0) },
            quote(0, 0, 0, 0),
            quote(0, 0, ONE, 1),
            quote(ONE, 0, ONE, 0),
            MarketEvent::Clear,
            MarketEvent::Status { code: -1 },
        ];
        for msg in accepted {
            assert_eq!(check_one(msg), Ok(()), "{msg:?}");
        }
    }

    #[test]
    fn local_time_trails_its_feed_by_at_most_the_skew_bound() {
        const S: i64 = 1_000_000_000;
        let ev = |ex: i64, lo: i64| TapeEvent::new(Nanos(ex), Nanos(lo), 1, MarketEvent::Clear);
        let t = 2_000 * S;
        let mut c = EventCheck::new(2, false);
        c.check(&ev(t, t)).unwrap();
        c.check(&ev(t + 1, t - MAX_FEED_SKEW_NS)).unwrap();
        // Instrument 0 is a feed of its own.
        c.check(&TapeEvent::new(Nanos(1), Nanos(1), 0, MarketEvent::Clear)).unwrap();
        assert_eq!(
            c.check(&ev(t + 2, t - MAX_FEED_SKEW_NS - 1)),
            Err("has local time 1939999999999 ns on instrument 1, 60000000001 ns behind the feed's latest local time (2000000000000 ns); a feed's local time may trail its latest by at most 60000000000 ns (MAX_FEED_SKEW_NS): Clear".into())
        );
        let mut c = EventCheck::new(2, false);
        c.check(&ev(t, t)).unwrap();
        let e = c.check(&ev(t + 1, t - 1_000 * S)).unwrap_err();
        assert!(e.contains("1000000000000 ns behind"), "{e}");
        // The synthetic market's local times trail by under 10 µs: the bound leaves a margin
        // of more than six orders of magnitude.
        let mut synth = crate::Synth::new(crate::SynthConfig::default());
        let mut c = EventCheck::new(2, false);
        let (mut latest, mut trail) = ([0i64; 2], 0i64);
        let mut buf = Vec::new();
        while synth.next_chunk(&mut buf).unwrap() {
            for e in &buf {
                c.check(e).unwrap();
                let l = &mut latest[usize::from(e.instrument)];
                trail = trail.max(*l - e.local_ts.0);
                *l = (*l).max(e.local_ts.0);
            }
        }
        assert!(trail > 0 && trail < 10_000, "{trail}");
        assert!(MAX_FEED_SKEW_NS / trail > 1_000_000);
    }

    #[test]
    fn tick_sizes_are_bounded() {
        let mut h = header();
        h.instruments[1].tick_size = Price(MAX_PRICE);
        assert_eq!(check_instruments(&h.instruments), Ok(()));
        h.instruments[1].tick_size = Price(i64::MAX);
        assert_eq!(
            check_instruments(&h.instruments),
            Err("instrument 1 (S1) has tick size 92233720368.54775807; it must be at most 10000000000 (MAX_PRICE)".into())
        );
        h.instruments[1].tick_size = Price(-1);
        assert!(check_instruments(&h.instruments).unwrap_err().ends_with("it must be above 0"));
        // The reader refuses a header holding it, checksum valid.
        h.instruments[1].tick_size = Price(i64::MAX);
        let mut buf = Cursor::new(Vec::new());
        TapeWriter::new(&mut buf, h, Compression::None).unwrap().finish_into().unwrap();
        match TapeReader::new(&buf.into_inner()[..]).map(|r| r.header().clone()) {
            Err(e @ TapeError::Header { .. }) => assert_eq!(
                e.to_string(),
                "tape header at byte offset 16 is corrupt: instrument 1 (S1) has tick size 92233720368.54775807; it must be at most 10000000000 (MAX_PRICE); re-import the data"
            ),
            other => panic!("{other:?}"),
        }
    }

    /// Tapes whose checksums are valid but whose events are nonsense are refused by the reader,
    /// the chunk, offset and event named.
    #[test]
    fn forged_tapes_with_valid_checksums_are_refused() {
        let bad = |e: TapeEvent| {
            let mut ev = sample(3);
            ev.push(e);
            match read_all(&write(&ev, Compression::Deflate)) {
                Err(e @ TapeError::Corrupt { chunk: 0, .. }) => e.to_string(),
                other => panic!("{other:?}"),
            }
        };
        let t = 2_000_000_000_000;
        let side = Side::Sell;
        let add0 = MarketEvent::Add { order_id: 9, side, px: Price(0), qty: Qty(ONE) };
        let chunk_at = first_chunk(&write(&sample(3), Compression::Deflate));
        assert_eq!(
            bad(at(t, add0)),
            format!(
                "tape chunk 0 at byte offset {chunk_at} is corrupt: event 3 of the chunk has price 0 ({add0:?}); an order, execution or trade must have a price above 0; the tape cannot be replayed, re-import the data"
            )
        );
        let cases = [
            // An execute of an unknown order for 2^62.
            (exec(ONE, 1 << 62), "has quantity 46116860184.27387904 above the largest"),
            (
                MarketEvent::Add { order_id: 9, side, px: Price(i64::MAX), qty: Qty(1) },
                "has price 92233720368.54775807 above the largest",
            ),
            (
                MarketEvent::Add { order_id: 9, side, px: Price(ONE), qty: Qty(0) },
                "adds an order of quantity 0",
            ),
            (exec(0, 1), "has price 0"),
            (MarketEvent::HiddenExecute { side, px: Price(0), qty: Qty(1) }, "has price 0"),
            (MarketEvent::Trade { px: Price(0), qty: Qty(1), aggressor: None }, "has price 0"),
            (MarketEvent::Level { side, px: Price(0), qty: Qty(1) }, "has price 0"),
            (
                MarketEvent::Quote {
                    bid_px: Price(0),
                    bid_qty: Qty(1),
                    ask_px: Price(0),
                    ask_qty: Qty(0),
                },
                "has price 0",
            ),
        ];
        for (msg, want) in cases {
            let e = bad(at(t, msg));
            assert!(e.contains(&format!("event 3 of the chunk {want}")), "{msg:?}: {e}");
        }
        // Local time 1,000 s behind instrument 0's latest (1,000,000,002,498 ns) while its
        // exchange time moves on: in exchange-time order, but skewed beyond the bound.
        let back = TapeEvent::new(Nanos(t), Nanos(2_498), 0, MarketEvent::Clear);
        let e = bad(back);
        assert!(
            e.contains("event 3 of the chunk has local time 2498 ns on instrument 0, 1000000000000 ns behind the feed's latest local time (1000000002498 ns)"),
            "{e}"
        );
    }

    /// An execute naming an order the book does not hold is within the rules (data may begin
    /// mid-session): the tape reads, and the run report counts it per instrument.
    #[test]
    fn an_execute_of_an_unknown_order_is_read_and_counted_in_the_run_report() {
        let mut ev = sample(3);
        let unknown = MarketEvent::Execute {
            order_id: 1 << 62,
            side: Side::Sell,
            px: Price(ONE),
            qty: Qty(MAX_QTY),
        };
        ev.push(at(2_000_000_000_000, unknown));
        let read = read_all(&write(&ev, Compression::None)).unwrap();
        assert_eq!(read, ev);
        let cfg = crate::SessionConfig::default();
        let mut s = crate::Session::from_runners(&header(), Vec::new(), cfg);
        for e in &read {
            s.step(e).unwrap();
        }
        let stats = s.finish().report.book_stats;
        assert_eq!(stats[0].unknown_orders, 1);
        assert_eq!(stats[0].unabsorbed_qty, Qty(MAX_QTY));
        assert_eq!(stats[1], crate::BookStats::default());
    }

    /// Mutated tapes (bit flips, overwritten bytes, cuts, insertions) are read to the end or
    /// refused with an error, never a panic or a hang. `LOCKSTEP_FUZZ_CASES` raises the count
    /// for a long run, e.g. `LOCKSTEP_FUZZ_CASES=1000000 cargo test --release -p
    /// lockstep-replay fuzz_`.
    #[test]
    fn fuzz_mutated_tapes_never_panic() {
        let cases = crate::fuzz_cases(3000);
        let good =
            [write(&sample(300), Compression::None), write(&sample(300), Compression::Deflate)];
        let mut rng = crate::FuzzRng::new(0x7a9e);
        let (mut refused, mut read) = (0u64, 0u64);
        for case in 0..cases {
            let mut b = good[(case % 2) as usize].clone();
            rng.mutate(&mut b);
            match read_all(&b) {
                Ok(_) => read += 1,
                Err(_) => refused += 1,
            }
        }
        assert_eq!(read + refused, cases);
        assert!(refused > cases / 2, "most mutations are caught: {refused} of {cases}");
    }

    #[test]
    fn round_trips_with_and_without_compression() {
        let ev = sample(1234);
        for c in [Compression::None, Compression::Deflate] {
            let bytes = write(&ev, c);
            assert_eq!(read_all(&bytes).unwrap(), ev);
            let r = TapeReader::new(&bytes[..]).unwrap();
            assert_eq!(r.header().event_count, 1234);
            assert_eq!(r.header().instruments[1].symbol, "S1");
        }
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let ev = sample(250);
        let bytes = write(&ev, Compression::None);
        // Flip every byte in turn (step keeps the test fast); each must fail or, for the few
        // bytes no check covers, still decode to the same events.
        for i in (0..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            match read_all(&b) {
                Err(_) => {}
                Ok(got) => panic!("flip at byte {i} went unnoticed ({} events)", got.len()),
            }
        }
    }

    #[test]
    fn truncation_names_chunk_and_offset() {
        let ev = sample(250);
        let bytes = write(&ev, Compression::None);
        let cut = bytes.len() - 30;
        match read_all(&bytes[..cut]) {
            Err(TapeError::Truncated { chunk, offset, .. }) => {
                assert_eq!(chunk, 2);
                assert!(offset <= cut as u64, "{offset} > {cut}");
            }
            other => panic!("expected truncation, got {other:?}"),
        }
        // Cut exactly at a chunk boundary: the missing end marker is still noticed.
        let mut r = TapeReader::new(&bytes[..]).unwrap();
        let mut buf = Vec::new();
        r.next_chunk(&mut buf).unwrap();
        let boundary = r.offset() as usize;
        let err = read_all(&bytes[..boundary]).unwrap_err();
        assert!(matches!(err, TapeError::Truncated { chunk: 1, .. }), "{err}");
        assert!(err.to_string().contains("chunk 1"), "{err}");
    }

    #[test]
    fn rejects_non_tapes_and_future_versions() {
        assert!(matches!(read_all(b"hello world, not a tape"), Err(TapeError::NotATape { .. })));
        let mut bytes = write(&sample(3), Compression::None);
        bytes[8] = 9;
        assert!(matches!(read_all(&bytes), Err(TapeError::Version { found: 9 })));
    }

    #[test]
    fn memory_source_serves_in_chunks() {
        let ev = sample(10_000);
        let mut m = MemorySource::new(header(), ev.clone());
        let mut buf = Vec::new();
        let mut n = 0;
        while m.next_chunk(&mut buf).unwrap() {
            assert!(buf.len() <= DEFAULT_CHUNK_EVENTS as usize);
            n += buf.len();
        }
        assert_eq!(n, ev.len());
        assert_eq!(m.header().event_count, 10_000);
    }

    #[test]
    fn limited_cuts_between_batches_by_count_and_time() {
        let header = TapeHeader::new("t", vec![]);
        let ev = |t: i64, more: bool| {
            let msg = MarketEvent::Status { code: 0 };
            let mut e = TapeEvent::new(Nanos(t), Nanos(t), 0, msg);
            e.flags = if more { FLAG_MORE } else { 0 };
            e
        };
        // Batches: [0], [1 2 3], [4], [5].
        let evs =
            vec![ev(0, false), ev(1, true), ev(2, true), ev(3, false), ev(4, false), ev(5, false)];
        let all = |mut s: Limited<MemorySource>| {
            let (mut out, mut buf) = (Vec::new(), Vec::new());
            while s.next_chunk(&mut buf).unwrap() {
                out.extend(buf.iter().map(|e| e.exchange_ts.0));
            }
            out
        };
        let src = || MemorySource::new(header.clone(), evs.clone());
        // Two events asked: the second's batch is finished.
        assert_eq!(all(Limited::new(src(), Some(2), None)), [0, 1, 2, 3]);
        assert_eq!(all(Limited::new(src(), Some(5), None)), [0, 1, 2, 3, 4]);
        assert_eq!(all(Limited::new(src(), None, Some(Nanos(2)))), [0, 1, 2, 3]);
        assert_eq!(all(Limited::new(src(), None, Some(Nanos(5)))), [0, 1, 2, 3, 4]);
        assert_eq!(all(Limited::new(src(), Some(0), None)), Vec::<i64>::new());
        assert_eq!(all(Limited::new(src(), None, None)), [0, 1, 2, 3, 4, 5]);
    }
}
