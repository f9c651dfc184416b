//! What a tape holds: format, source, instruments, events by kind, first and last times,
//! chunks; on request some events or the top of book at a time (`replay inspect`).

use lockstep_sdk::Side;
use lockstep_sim::{
    Book, Compression, EventSource, FORMAT_VERSION, MarketEvent, TapeError, TapeEvent, TapeHeader,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One instrument of the report.
#[derive(Clone, Debug, Serialize)]
pub struct TapeInstrument {
    /// Id on the tape.
    pub id: u16,
    /// Symbol.
    pub symbol: String,
    /// Venue.
    pub venue: String,
    /// Tick size, decimal text.
    pub tick_size: String,
    /// Decimal places of its prices in the source.
    pub price_scale: u32,
    /// Events on the tape (for an instrument: its events).
    pub events: u64,
}

/// A time as nanoseconds and UTC ISO-8601.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
pub struct TapeTime {
    /// Nanoseconds since the epoch.
    pub ns: i64,
    /// The same as UTC ISO-8601.
    pub utc: String,
}

impl TapeTime {
    /// The time `ns` since the epoch.
    pub fn new(ns: i64) -> Self {
        Self { ns, utc: iso8601(ns) }
    }
}

/// One event of `--events`.
#[derive(Clone, Debug, Serialize)]
pub struct ShownEvent {
    /// Event index on the tape.
    pub index: u64,
    /// Instrument id.
    pub instrument: u16,
    /// Local (receive) time.
    pub local_ns: i64,
    /// Exchange time.
    pub exchange_ns: i64,
    /// More events of the same batch follow.
    pub more: bool,
    /// The event.
    pub event: MarketEvent,
}

/// Top of book of one instrument for `--at`.
#[derive(Clone, Debug, Serialize)]
pub struct TopOfBook {
    /// Instrument id.
    pub instrument: u16,
    /// Symbol.
    pub symbol: String,
    /// Best bid price.
    pub bid_px: Option<String>,
    /// Quantity at the best bid.
    pub bid_qty: Option<String>,
    /// Best ask price.
    pub ask_px: Option<String>,
    /// Quantity at the best ask.
    pub ask_qty: Option<String>,
    /// Bid levels.
    pub bid_levels: usize,
    /// Ask levels.
    pub ask_levels: usize,
}

/// What a tape holds (`replay inspect --json`).
#[derive(Clone, Debug, Serialize)]
pub struct TapeInspection {
    /// Always `inspect`.
    pub command: &'static str,
    /// The tape path.
    pub tape: String,
    /// Tape format version.
    pub format_version: u16,
    /// Where the tape came from.
    pub source: String,
    /// Chunk compression.
    pub compression: &'static str,
    /// Most events per chunk.
    pub chunk_events: u32,
    /// Chunks.
    pub chunks: u64,
    /// Events on the tape (for an instrument: its events).
    pub events: u64,
    /// Events by kind.
    pub kinds: BTreeMap<&'static str, u64>,
    /// Instruments.
    pub instruments: Vec<TapeInstrument>,
    /// First local time.
    pub start_ns: Option<i64>,
    /// Last local time.
    pub end_ns: Option<i64>,
    /// First local time.
    pub first_local: Option<TapeTime>,
    /// Last local time.
    pub last_local: Option<TapeTime>,
    /// First exchange time.
    pub first_exchange: Option<TapeTime>,
    /// Last exchange time.
    pub last_exchange: Option<TapeTime>,
    /// The events asked for with `events`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected: Option<Vec<ShownEvent>>,
    /// Top of book per instrument at the time asked for with `at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<(TapeTime, Vec<TopOfBook>)>,
}

/// The kind name of an event.
pub fn event_kind_name(m: &MarketEvent) -> &'static str {
    match m {
        MarketEvent::Add { .. } => "add",
        MarketEvent::Cancel { .. } => "cancel",
        MarketEvent::Delete { .. } => "delete",
        MarketEvent::Execute { .. } => "execute",
        MarketEvent::HiddenExecute { .. } => "hidden_execute",
        MarketEvent::Level { .. } => "level",
        MarketEvent::Clear => "clear",
        MarketEvent::Forget { .. } => "forget",
        MarketEvent::Quote { .. } => "quote",
        MarketEvent::Trade { .. } => "trade",
        MarketEvent::Status { .. } => "status",
    }
}

/// `ns` since the epoch as UTC ISO-8601 with nanoseconds, by integer arithmetic.
pub fn iso8601(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Nanoseconds in an i64 lie within the years 1677..=2262.
    let (y, m, d) = lockstep_sdk::civil_from_days(days).unwrap_or((0, 1, 1));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Reads the whole tape at `tape` and says what it holds; with `events` (`(A, B)`, B
/// exclusive) the events with those indices, with `at` each instrument's top of book after
/// every event with local time up to `at`.
///
/// # Errors
/// The [`TapeError`] of a missing, corrupt or truncated tape.
pub fn inspect_tape(
    tape: &Path,
    events: Option<(u64, u64)>,
    at: Option<i64>,
) -> Result<TapeInspection, TapeError> {
    let sel = events;
    let mut r = lockstep_io::open_tape(tape)?;
    let header = r.header().clone();
    let compression = match r.compression() {
        Compression::None => "none",
        Compression::Deflate => "deflate",
    };
    let n = header.instruments.len();
    let mut per: Vec<u64> = vec![0; n];
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut chunks, mut count) = (0u64, 0u64);
    let (mut first, mut last): (Option<TapeEvent>, Option<TapeEvent>) = (None, None);
    let mut selected = sel.map(|_| Vec::new());
    let mut books: Vec<Book> =
        if at.is_some() { (0..n).map(|_| Book::new()).collect() } else { Vec::new() };
    let mut buf = Vec::new();
    while r.next_chunk(&mut buf)? {
        chunks += 1;
        for e in &buf {
            if let (Some((a, b)), Some(v)) = (sel, selected.as_mut())
                && (a..b).contains(&count)
            {
                v.push(ShownEvent {
                    index: count,
                    instrument: e.instrument,
                    local_ns: e.local_ts.0,
                    exchange_ns: e.exchange_ts.0,
                    more: e.more(),
                    event: e.msg,
                });
            }
            if let Some(t) = at
                && e.local_ts.0 <= t
                && let Some(b) = books.get_mut(usize::from(e.instrument))
            {
                b.apply(&e.msg);
            }
            count += 1;
            *kinds.entry(event_kind_name(&e.msg)).or_insert(0) += 1;
            if let Some(c) = per.get_mut(usize::from(e.instrument)) {
                *c += 1;
            }
            first.get_or_insert(*e);
            last = Some(*e);
        }
    }
    let instruments: Vec<TapeInstrument> = header
        .instruments
        .iter()
        .map(|i| TapeInstrument {
            id: i.id,
            symbol: i.symbol.clone(),
            venue: i.venue.clone(),
            tick_size: i.tick_size.to_string(),
            price_scale: i.price_scale,
            events: per.get(usize::from(i.id)).copied().unwrap_or(0),
        })
        .collect();
    let tops = at.map(|t| (TapeTime::new(t), tops(&header, &books)));
    Ok(TapeInspection {
        command: "inspect",
        tape: tape.display().to_string(),
        format_version: FORMAT_VERSION,
        source: header.source.clone(),
        compression,
        chunk_events: header.chunk_events,
        chunks,
        events: count,
        kinds,
        instruments,
        start_ns: first.map(|e| e.local_ts.0),
        end_ns: last.map(|e| e.local_ts.0),
        first_local: first.map(|e| TapeTime::new(e.local_ts.0)),
        last_local: last.map(|e| TapeTime::new(e.local_ts.0)),
        first_exchange: first.map(|e| TapeTime::new(e.exchange_ts.0)),
        last_exchange: last.map(|e| TapeTime::new(e.exchange_ts.0)),
        selected,
        at: tops,
    })
}

/// Each instrument's top of book and depth as `books` stand.
fn tops(header: &TapeHeader, books: &[Book]) -> Vec<TopOfBook> {
    header
        .instruments
        .iter()
        .zip(books)
        .map(|(i, b)| {
            let (bid, ask) = (b.best(Side::Buy), b.best(Side::Sell));
            TopOfBook {
                instrument: i.id,
                symbol: i.symbol.clone(),
                bid_px: bid.map(|l| l.px.to_string()),
                bid_qty: bid.map(|l| l.qty.to_string()),
                ask_px: ask.map(|l| l.px.to_string()),
                ask_qty: ask.map(|l| l.qty.to_string()),
                bid_levels: b.levels(Side::Buy).count(),
                ask_levels: b.levels(Side::Sell).count(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_by_integers() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(iso8601(1_723_161_253_937_085_768), "2024-08-08T23:54:13.937085768Z");
        assert_eq!(iso8601(34_200_015_105_074), "1970-01-01T09:30:00.015105074Z");
        assert_eq!(iso8601(951_782_400_000_000_000), "2000-02-29T00:00:00.000000000Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(iso8601(i64::MAX), "2262-04-11T23:47:16.854775807Z");
    }
}
