//! The second pass over captures: each message into tape events, the files merged by local
//! time, depth diffs chained and snapshots applied as Binance documents for a local book.

use super::load::{Scan, VENUE};
use super::record::{
    Fields, StreamKind, raw_local, split, stream_kind, stream_symbol, untrusted_name,
};
use super::unit::reported;
use crate::chain::Chains;
use crate::error::{ImportError, quoted};
use crate::importer::Streamed;
use crate::instruments::Listing;
use crate::lines::Lines;
use crate::merge::{Cursor, merge, start};
use crate::options::LocalTsUnit;
use crate::sink::Sink;
use lockstep_sdk::{Nanos, Side};
use lockstep_sim::{MarketEvent, TapeEvent};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

/// Depth diffs kept per instrument to re-apply after a snapshot.
const RECENT_DIFFS: usize = 64;

/// A depth diff kept to re-apply after a snapshot: final id and its level events.
type Recent = VecDeque<(u64, Vec<MarketEvent>)>;

/// One input file in the merge: its reader, unit, and the local time of its current line.
struct Input {
    lines: Lines,
    unit: LocalTsUnit,
    /// Local time (ns) of the current line; `None` at the end.
    at: Option<i64>,
}

impl Cursor for Input {
    type Context = ();

    fn at(&self) -> Option<i64> {
        self.at
    }

    /// Moves to the next non-empty line and reads its local time.
    fn advance(&mut self, _: &()) -> Result<(), ImportError> {
        if !self.lines.next_row()? {
            self.at = None;
            return Ok(());
        }
        let Some((ts, _)) = split(self.lines.text()) else {
            return Err(self.lines.err("expected `<local timestamp> <json>`"));
        };
        let raw = raw_local(&self.lines, ts)?;
        let ns = raw.checked_mul(self.unit.ns()).ok_or_else(|| {
            self.lines
                .err(format!("local timestamp {raw} {} overflows nanoseconds", self.unit.name()))
        })?;
        self.at = Some(ns);
        Ok(())
    }
}

/// The second pass: every message of `files` into `sink`.
pub(crate) fn stream(
    scan: Scan,
    files: &[PathBuf],
    sink: &mut Sink,
) -> Result<Streamed, ImportError> {
    let mut inputs = start(files.iter().zip(&scan.units), &(), |(p, u)| {
        Ok(Input { lines: Lines::open(p)?, unit: u.unit, at: None })
    })?;
    let n = scan.listing.len();
    let mut w = Writer {
        listing: &scan.listing,
        sink,
        chains: Chains::new(n),
        recent: vec![VecDeque::new(); n],
        msgs: Vec::new(),
        batch: Vec::new(),
        skipped: BTreeMap::new(),
        last_instrument: None,
        snapshots: 0,
        reapplied: 0,
        rows: 0,
    };
    merge(&mut inputs, &(), |_, input| w.line(input))?;
    let (unit, offset) = reported(&scan.units);
    Ok(Streamed {
        rows: w.rows,
        notes: w.notes(),
        sequence_gaps: Some(w.chains.gaps),
        skipped: w.skipped,
        local_ts_unit: Some(unit),
        clock_offset_ns: offset,
    })
}

/// Writes the messages of every file to the tape.
struct Writer<'a> {
    listing: &'a Listing,
    sink: &'a mut Sink,
    chains: Chains,
    /// Per instrument: the latest depth diffs. A snapshot reflects the book at its
    /// `lastUpdateId`, but the collector may have received diffs beyond that id before the
    /// snapshot arrived: those are applied again after it.
    recent: Vec<Recent>,
    /// The events of the current message.
    msgs: Vec<MarketEvent>,
    batch: Vec<TapeEvent>,
    skipped: BTreeMap<String, u64>,
    /// The instrument of the latest stream message written (a snapshot is its).
    last_instrument: Option<u16>,
    snapshots: u64,
    reapplied: u64,
    rows: u64,
}

impl Writer<'_> {
    /// Writes the message of the current line of `input`.
    fn line(&mut self, input: &mut Input) -> Result<(), ImportError> {
        let lines = &input.lines;
        let local = input.at.unwrap_or(0);
        self.rows += 1;
        let json = split(lines.text()).map_or("", |(_, j)| j);
        let v: Value =
            serde_json::from_str(json).map_err(|e| lines.err(format!("invalid JSON: {e}")))?;
        self.msgs.clear();
        let target = if let Some(stream) = v.get("stream").and_then(Value::as_str) {
            self.stream_message(lines, stream, &v, local)?
        } else if v.get("lastUpdateId").is_some() {
            Some(self.snapshot(lines, &v, local)?)
        } else {
            self.skip("message that is neither a stream message nor a depth snapshot".to_owned());
            None
        };
        if let Some((instrument, exch)) = target {
            self.batch.clear();
            self.batch.extend(
                self.msgs.iter().map(|m| TapeEvent::new(Nanos(exch), Nanos(local), instrument, *m)),
            );
            if !self.batch.is_empty() {
                self.sink.batch(&mut self.batch, lines)?;
            }
        }
        Ok(())
    }

    fn skip(&mut self, reason: String) {
        *self.skipped.entry(reason).or_insert(0) += 1;
    }

    /// The events of a message of `stream`, into `msgs`; its instrument and exchange time, or
    /// `None` where it makes none.
    fn stream_message(
        &mut self,
        lines: &Lines,
        stream: &str,
        v: &Value,
        local: i64,
    ) -> Result<Option<(u16, i64)>, ImportError> {
        let (sym, kind) = stream_symbol(stream)
            .ok_or_else(|| lines.err(format!("stream name {} has no `@`", quoted(stream))))?;
        let sk = stream_kind(kind);
        if sk == StreamKind::Other {
            self.skip(format!("stream {}", untrusted_name(kind)));
            return Ok(None);
        }
        let sym = sym.to_ascii_uppercase();
        let ins = self
            .listing
            .id(VENUE, &sym)
            .ok_or_else(|| lines.err(format!("symbol {sym} missing from the first pass")))?;
        let d = v.get("data").ok_or_else(|| lines.err("message has no `data`"))?;
        let f = Fields { lines };
        let exch = match sk {
            StreamKind::Diff => self.diff(&f, d, usize::from(ins))?,
            StreamKind::Ticker => Some(self.ticker(&f, d, local)?),
            _ => self.trade(&f, d)?,
        };
        Ok(exch.map(|exch| {
            self.last_instrument = Some(ins);
            (ins, exch)
        }))
    }

    /// A depth diff of instrument `ins`: its levels, unless a snapshot covers it.
    fn diff(&mut self, f: &Fields<'_>, d: &Value, ins: usize) -> Result<Option<i64>, ImportError> {
        let (big_u, u) = (f.u64_field(d, "U")?, f.u64_field(d, "u")?);
        let pu = match d.get("pu") {
            None => None,
            Some(x) => Some(x.as_i64().ok_or_else(|| f.lines.err("field `pu` is not an integer"))?),
        };
        if !self.chains.diff(ins, big_u, u, pu) {
            return Ok(None);
        }
        f.levels(d, "b", Side::Buy, &mut self.msgs)?;
        f.levels(d, "a", Side::Sell, &mut self.msgs)?;
        let recent = &mut self.recent[ins];
        if recent.len() == RECENT_DIFFS {
            recent.pop_front();
        }
        recent.push_back((u, self.msgs.clone()));
        f.ms_field(d, "E").map(Some)
    }

    /// A `bookTicker` quote.
    fn ticker(&mut self, f: &Fields<'_>, d: &Value, local: i64) -> Result<i64, ImportError> {
        self.msgs.push(MarketEvent::Quote {
            bid_px: f.px(f.str_field(d, "b")?)?,
            bid_qty: f.qty(f.str_field(d, "B")?)?,
            ask_px: f.px(f.str_field(d, "a")?)?,
            ask_qty: f.qty(f.str_field(d, "A")?)?,
        });
        f.event_time_or(d, local)
    }

    /// A `trade` or `aggTrade` print (skipped when of zero quantity).
    fn trade(&mut self, f: &Fields<'_>, d: &Value) -> Result<Option<i64>, ImportError> {
        let maker_is_buyer = d
            .get("m")
            .and_then(Value::as_bool)
            .ok_or_else(|| f.lines.err("trade lacks the boolean `m`"))?;
        let q = f.qty(f.str_field(d, "q")?)?;
        if q.0 < 0 {
            return Err(f.lines.err("trade quantity is negative"));
        }
        if q.0 == 0 {
            self.skip("trade with zero quantity".to_owned());
            return Ok(None);
        }
        self.msgs.push(MarketEvent::Trade {
            px: f.px(f.str_field(d, "p")?)?,
            qty: q,
            aggressor: Some(if maker_is_buyer { Side::Sell } else { Side::Buy }),
        });
        f.ms_field(d, "T").map(Some)
    }

    /// A REST depth snapshot: the book cleared and set, then the diffs newer than it applied
    /// again. Snapshots carry no symbol: they belong to the capture's symbol.
    fn snapshot(
        &mut self,
        lines: &Lines,
        v: &Value,
        local: i64,
    ) -> Result<(u16, i64), ImportError> {
        let ins = match (self.listing.len(), self.last_instrument) {
            (1, _) => 0,
            (_, Some(i)) => i,
            _ => {
                return Err(
                    lines.err("depth snapshot before any stream message; cannot tell its symbol")
                );
            }
        };
        let f = Fields { lines };
        let id = f.u64_field(v, "lastUpdateId")?;
        let i = usize::from(ins);
        self.chains.snapshot(i, id);
        self.snapshots += 1;
        self.msgs.push(MarketEvent::Clear);
        f.levels(v, "bids", Side::Buy, &mut self.msgs)?;
        f.levels(v, "asks", Side::Sell, &mut self.msgs)?;
        for (u, levels) in self.recent[i].iter().filter(|(u, _)| *u > id) {
            self.msgs.extend_from_slice(levels);
            self.chains.reapplied(i, *u);
            self.reapplied += 1;
        }
        self.recent[i].clear();
        Ok((ins, f.event_time_or(v, local)?))
    }

    fn notes(&self) -> Vec<(String, u64)> {
        vec![
            ("depth snapshots (book cleared and reset)".to_owned(), self.snapshots),
            (
                "depth diffs skipped as already covered by a snapshot".to_owned(),
                self.chains.covered,
            ),
            (
                "depth diffs received before a snapshot but newer than it, applied again after it"
                    .to_owned(),
                self.reapplied,
            ),
            (
                "depth diff sequence gaps (spot: U != previous u + 1; futures: pu != previous u)"
                    .to_owned(),
                self.chains.gaps,
            ),
        ]
    }
}
