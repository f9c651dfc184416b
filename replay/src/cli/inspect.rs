//! `replay inspect --tape T [--events A..B | --at TIME]`: what a tape holds.

use super::output::{Text, print_json, say};
use anyhow::{Context, Result, bail};
use lockstep_replay::{
    Book, Compression, EventSource, FORMAT_VERSION, MarketEvent, TapeEvent, TapeReader,
};
use lockstep_sdk::Side;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

/// One instrument of the report.
#[derive(Serialize)]
struct Instrument {
    id: u16,
    symbol: String,
    venue: String,
    tick_size: String,
    price_scale: u32,
    events: u64,
}

/// A time as nanoseconds and UTC ISO-8601.
#[derive(Serialize, Clone, PartialEq, Eq, Debug)]
struct Time {
    ns: i64,
    utc: String,
}

impl Time {
    fn new(ns: i64) -> Self {
        Self { ns, utc: iso8601(ns) }
    }
}

/// One event of `--events`.
#[derive(Serialize)]
struct Shown {
    index: u64,
    instrument: u16,
    local_ns: i64,
    exchange_ns: i64,
    more: bool,
    event: MarketEvent,
}

/// Top of book of one instrument for `--at`.
#[derive(Serialize)]
struct Top {
    instrument: u16,
    symbol: String,
    bid_px: Option<String>,
    bid_qty: Option<String>,
    ask_px: Option<String>,
    ask_qty: Option<String>,
    bid_levels: usize,
    ask_levels: usize,
}

/// `inspect --json`.
#[derive(Serialize)]
struct Report {
    command: &'static str,
    tape: String,
    format_version: u16,
    source: String,
    compression: &'static str,
    chunk_events: u32,
    chunks: u64,
    events: u64,
    kinds: BTreeMap<&'static str, u64>,
    instruments: Vec<Instrument>,
    start_ns: Option<i64>,
    end_ns: Option<i64>,
    first_local: Option<Time>,
    last_local: Option<Time>,
    first_exchange: Option<Time>,
    last_exchange: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selected: Option<Vec<Shown>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<(Time, Vec<Top>)>,
}

/// The kind name of an event.
pub(crate) fn kind(m: &MarketEvent) -> &'static str {
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

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`), in integers.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `ns` since the epoch as UTC ISO-8601 with nanoseconds, by integer arithmetic.
pub(crate) fn iso8601(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Parses `A..B` (event indices, B exclusive).
fn range(text: &str) -> Result<(u64, u64)> {
    let Some((a, b)) = text.split_once("..") else {
        bail!("--events {text:?}: expected A..B (event indices, B exclusive), e.g. 0..20");
    };
    let a: u64 = a.trim().parse().with_context(|| format!("--events {text:?}: start"))?;
    let b: u64 = b.trim().parse().with_context(|| format!("--events {text:?}: end"))?;
    if b < a {
        bail!("--events {text:?}: the end is before the start");
    }
    Ok((a, b))
}

pub(crate) fn inspect(
    tape: &Path,
    events: Option<&str>,
    at: Option<i64>,
    json: bool,
) -> Result<ExitCode> {
    let sel = events.map(range).transpose()?;
    let mut r = TapeReader::open(tape).with_context(|| format!("--tape {}", tape.display()))?;
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
    while r.next_chunk(&mut buf).with_context(|| format!("reading {}", tape.display()))? {
        chunks += 1;
        for e in &buf {
            if let (Some((a, b)), Some(v)) = (sel, selected.as_mut())
                && (a..b).contains(&count)
            {
                v.push(Shown {
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
            *kinds.entry(kind(&e.msg)).or_insert(0) += 1;
            if let Some(c) = per.get_mut(usize::from(e.instrument)) {
                *c += 1;
            }
            first.get_or_insert(*e);
            last = Some(*e);
        }
    }
    let instruments: Vec<Instrument> = header
        .instruments
        .iter()
        .map(|i| Instrument {
            id: i.id,
            symbol: i.symbol.clone(),
            venue: i.venue.clone(),
            tick_size: i.tick_size.to_string(),
            price_scale: i.price_scale,
            events: per.get(usize::from(i.id)).copied().unwrap_or(0),
        })
        .collect();
    let tops = at.map(|t| {
        let v = header
            .instruments
            .iter()
            .zip(&books)
            .map(|(i, b)| {
                let (bid, ask) = (b.best(Side::Buy), b.best(Side::Sell));
                Top {
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
            .collect::<Vec<_>>();
        (Time::new(t), v)
    });
    let report = Report {
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
        first_local: first.map(|e| Time::new(e.local_ts.0)),
        last_local: last.map(|e| Time::new(e.local_ts.0)),
        first_exchange: first.map(|e| Time::new(e.exchange_ts.0)),
        last_exchange: last.map(|e| Time::new(e.exchange_ts.0)),
        selected,
        at: tops,
    };
    if json {
        print_json(&serde_json::to_value(&report)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut o = Text::default();
    say!(o, "tape {} (format version {})", report.tape, report.format_version);
    say!(o, "source: {}", report.source);
    say!(
        o,
        "{} events in {} chunks of up to {} ({} compression)",
        report.events,
        report.chunks,
        report.chunk_events,
        report.compression
    );
    for i in &report.instruments {
        say!(
            o,
            "instrument {}: {} on {}, tick {}, price scale {}, {} events",
            i.id,
            i.symbol,
            i.venue,
            i.tick_size,
            i.price_scale,
            i.events
        );
    }
    for (k, v) in &report.kinds {
        say!(o, "  {k}: {v}");
    }
    for (what, t) in [
        ("first local", &report.first_local),
        ("last local", &report.last_local),
        ("first exchange", &report.first_exchange),
        ("last exchange", &report.last_exchange),
    ] {
        if let Some(t) = t {
            say!(o, "{what}: {} ns ({})", t.ns, t.utc);
        }
    }
    if let Some(v) = &report.selected {
        for s in v {
            say!(
                o,
                "#{} ins {} local {} exch {}{}: {:?}",
                s.index,
                s.instrument,
                s.local_ns,
                s.exchange_ns,
                if s.more { " +" } else { "" },
                s.event
            );
        }
    }
    if let Some((t, tops)) = &report.at {
        say!(o, "book at {} ns ({}):", t.ns, t.utc);
        for b in tops {
            say!(
                o,
                "  {} {}: bid {} x {} / ask {} x {} ({} bid, {} ask levels)",
                b.instrument,
                b.symbol,
                b.bid_qty.as_deref().unwrap_or("-"),
                b.bid_px.as_deref().unwrap_or("-"),
                b.ask_px.as_deref().unwrap_or("-"),
                b.ask_qty.as_deref().unwrap_or("-"),
                b.bid_levels,
                b.ask_levels
            );
        }
    }
    o.emit()?;
    Ok(ExitCode::SUCCESS)
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

    #[test]
    fn ranges() {
        assert_eq!(range("3..7").unwrap(), (3, 7));
        assert!(range("7..3").is_err());
        assert!(range("7").is_err());
    }
}
