//! Binance raw WebSocket captures in the hftbacktest `collector` format: one message per line,
//! `<local receive time> <raw JSON of the combined stream>`, usually gzipped; spot, USD-M and
//! COIN-M futures.
//!
//! **Local time unit.** Collectors write the receive time in nanoseconds, microseconds or
//! milliseconds since the epoch, and nothing in the line says which. Each file's unit is
//! detected from the data: the unit under which the median of (local − exchange time `E`/`T`)
//! is smallest wins; a file without exchange times is judged by magnitude (the unit that puts
//! its first time between 2000 and 2100). `--local-ts-unit` overrides the detection. Either
//! way a unit under which that median is more than [`MAX_CLOCK_OFFSET_NS`] either way is
//! refused: feed latency plus clock skew is milliseconds to seconds (the shared USD-M capture
//! runs 1.27 s *behind* the exchange), never hours.
//!
//! **Continuity.** Spot diffs chain by `U == previous u + 1`; futures diffs (they carry `pu`)
//! by `pu == previous u`. After a snapshot the first applied diff must straddle it (spot:
//! `U <= lastUpdateId + 1`; futures: `U <= lastUpdateId` or `pu == lastUpdateId`). Breaks are
//! counted as sequence gaps.
//!
//! **Streams.** Streams the tape does not use (`markPrice`, `forceOrder`, klines, partial book
//! depth `depth5/10/20`, tickers, …) and non-stream messages (subscription answers) are
//! skipped and counted by name in the import report. Several files are merged by local time,
//! the file given first going first on equal times.
//!
//! Streams: `<sym>@depth[@100ms]` diffs (absolute level sizes, 0 deletes), `<sym>@bookTicker`
//! quotes, `<sym>@trade` and `<sym>@aggTrade` prints, and REST depth snapshots
//! (`{"lastUpdateId":…,"bids":…,"asks":…}`) the collector interleaves. A snapshot clears the
//! book and sets every level; diffs it already covers (`u` ≤ `lastUpdateId`) are skipped, and
//! diffs newer than it that arrived before it are applied again after it, as Binance documents
//! for rebuilding a local book. Diffs before the first snapshot are applied to a partial book.

use super::room_for_instrument;
use super::{
    ImportError, ImportOptions, ImportSummary, Lines, Sink, TsUnitChoice, decimals, quoted,
    tick_for,
};
use crate::tape::{InstrumentInfo, MarketEvent, TapeEvent, TapeHeader};
use lockstep_sdk::{Nanos, Price, Qty, Side};
use serde_json::Value;
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// Depth diffs kept per instrument to re-apply after a snapshot.
const RECENT_DIFFS: usize = 64;

fn split(line: &str) -> Option<(&str, &str)> {
    let (ts, json) = line.split_once(' ')?;
    Some((ts, json.trim()))
}

fn stream_symbol(stream: &str) -> Option<(&str, &str)> {
    stream.split_once('@')
}

/// What the tape makes of a stream kind (the part of the stream name after the symbol).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamKind {
    /// `depth`, `depth@100ms`, `depth@0ms`, ...: diff depth.
    Diff,
    /// `bookTicker`.
    Ticker,
    /// `trade`, `aggTrade`.
    Trade,
    /// Anything else: skipped and counted.
    Other,
}

fn stream_kind(kind: &str) -> StreamKind {
    if kind == "depth" || kind.starts_with("depth@") {
        StreamKind::Diff
    } else if kind == "bookTicker" {
        StreamKind::Ticker
    } else if kind == "trade" || kind == "aggTrade" {
        StreamKind::Trade
    } else {
        StreamKind::Other
    }
}

/// The unit of a capture's local timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LocalTsUnit {
    /// Nanoseconds since the epoch (19 digits today).
    Nanos,
    /// Microseconds (16 digits).
    Micros,
    /// Milliseconds (13 digits).
    Millis,
}

impl LocalTsUnit {
    const ALL: [LocalTsUnit; 3] = [LocalTsUnit::Nanos, LocalTsUnit::Micros, LocalTsUnit::Millis];

    /// Nanoseconds per unit.
    pub fn ns(self) -> i64 {
        match self {
            LocalTsUnit::Nanos => 1,
            LocalTsUnit::Micros => 1_000,
            LocalTsUnit::Millis => 1_000_000,
        }
    }

    /// `ns`, `us` or `ms`.
    pub fn name(self) -> &'static str {
        match self {
            LocalTsUnit::Nanos => "ns",
            LocalTsUnit::Micros => "us",
            LocalTsUnit::Millis => "ms",
        }
    }
}

/// The most the median of (local − exchange time) may be, either way, under the unit chosen
/// for a capture's local timestamps: 10 minutes. Feed latency plus clock skew is seconds; a
/// wrong unit is off by years.
pub const MAX_CLOCK_OFFSET_NS: i64 = 600_000_000_000;

/// 2000-01-01 and 2100-01-01 in ns since the epoch: the range a local time must fall in when
/// its unit is judged by magnitude.
const PLAUSIBLE_EPOCH_NS: (i128, i128) = (946_684_800_000_000_000, 4_102_444_800_000_000_000);

/// Exchange-time samples kept per file for unit detection (the first ones).
const MAX_SAMPLES: usize = 1 << 20;

/// `|ns|` for people: `1.27 s`, `3.2 h`, `19864.0 days`.
fn span(ns: i128) -> String {
    let a = ns.unsigned_abs();
    if a >= 86_400_000_000_000 {
        format!("{:.1} days", a as f64 / 86_400e9)
    } else if a >= 3_600_000_000_000 {
        format!("{:.1} h", a as f64 / 3_600e9)
    } else if a >= 1_000_000_000 {
        format!("{:.2} s", a as f64 / 1e9)
    } else {
        format!("{:.3} ms", a as f64 / 1e6)
    }
}

/// The median of `v` (the lower middle for an even count); `None` when empty.
fn median(v: &mut [i128]) -> Option<i128> {
    if v.is_empty() {
        return None;
    }
    let mid = (v.len() - 1) / 2;
    Some(*v.select_nth_unstable(mid).1)
}

/// One file's local-timestamp unit, how it was chosen, and the median local − exchange time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UnitChoice {
    pub(crate) unit: LocalTsUnit,
    pub(crate) how: &'static str,
    pub(crate) offset_ns: Option<i64>,
}

/// Chooses the unit of `file`'s local times from `samples` (raw local time, exchange time in
/// ns) or, without samples, from `first` (the first raw local time); checks the choice.
pub(crate) fn choose_unit(
    file: &Path,
    samples: &[(i64, i64)],
    first: Option<i64>,
    given: Option<LocalTsUnit>,
) -> Result<UnitChoice, ImportError> {
    let offsets = |u: LocalTsUnit| {
        let mut d: Vec<i128> = samples
            .iter()
            .map(|&(l, e)| i128::from(l) * i128::from(u.ns()) - i128::from(e))
            .collect();
        median(&mut d)
    };
    let format = |reason: String| ImportError::Format { file: file.to_path_buf(), reason };
    if samples.is_empty() {
        let Some(first) = first else {
            return Ok(UnitChoice {
                unit: given.unwrap_or(LocalTsUnit::Nanos),
                how: "given",
                offset_ns: None,
            });
        };
        let fits = |u: LocalTsUnit| {
            let t = i128::from(first) * i128::from(u.ns());
            (PLAUSIBLE_EPOCH_NS.0..PLAUSIBLE_EPOCH_NS.1).contains(&t)
        };
        let (unit, how) = match given {
            Some(u) => (u, "given"),
            None => match LocalTsUnit::ALL.into_iter().find(|&u| fits(u)) {
                Some(u) => (u, "magnitude"),
                None => {
                    return Err(format(format!(
                        "the first local timestamp {first} is no time between 2000 and 2100 in \
                         ns, us or ms, and no message carries an exchange time to compare with; \
                         is this a collector capture?"
                    )));
                }
            },
        };
        if !fits(unit) {
            return Err(format(format!(
                "local timestamps read as {} (given) put the first message at {first} {0}, \
                 outside 2000-2100; give the right --local-ts-unit",
                unit.name()
            )));
        }
        return Ok(UnitChoice { unit, how, offset_ns: None });
    }
    let (unit, how) = match given {
        Some(u) => (u, "given"),
        None => {
            let best = LocalTsUnit::ALL
                .into_iter()
                .filter_map(|u| offsets(u).map(|m| (m.unsigned_abs(), u)))
                .min()
                .map_or(LocalTsUnit::Nanos, |(_, u)| u);
            (best, "exchange times")
        }
    };
    let med = offsets(unit).unwrap_or(0);
    if med.abs() > i128::from(MAX_CLOCK_OFFSET_NS) {
        let why = if how == "given" { "as given by --local-ts-unit" } else { "the closest fit" };
        return Err(format(format!(
            "local timestamps read as {} ({why}) put the collector {} {} the exchange (median of \
             local minus exchange time over {} messages); feed latency plus clock skew is \
             seconds, not hours, so the unit or the collector's clock is wrong; give the right \
             unit with --local-ts-unit ns|us|ms",
            unit.name(),
            span(med),
            if med > 0 { "after" } else { "before" },
            samples.len()
        )));
    }
    Ok(UnitChoice { unit, how, offset_ns: i64::try_from(med).ok() })
}

struct Ctx<'a> {
    lines: &'a Lines,
}

impl Ctx<'_> {
    fn str_field<'v>(&self, v: &'v Value, k: &str) -> Result<&'v str, ImportError> {
        v.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| self.lines.err(format!("field `{k}` is missing or not a string")))
    }
    fn u64_field(&self, v: &Value, k: &str) -> Result<u64, ImportError> {
        v.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| self.lines.err(format!("field `{k}` is missing or not an integer")))
    }
    fn ms_field(&self, v: &Value, k: &str) -> Result<i64, ImportError> {
        let ms = self.u64_field(v, k)?;
        i64::try_from(ms)
            .ok()
            .and_then(|m| m.checked_mul(1_000_000))
            .ok_or_else(|| self.lines.err(format!("`{k}` is out of range")))
    }
    fn px(&self, t: &str) -> Result<Price, ImportError> {
        Price::parse(t).ok_or_else(|| {
            self.lines.err(format!("price {} is not a decimal with at most 8 places", quoted(t)))
        })
    }
    fn qty(&self, t: &str) -> Result<Qty, ImportError> {
        Qty::parse(t).ok_or_else(|| {
            self.lines.err(format!("quantity {} is not a decimal with at most 8 places", quoted(t)))
        })
    }
    /// `[[px, qty], ...]` as level events.
    fn levels(
        &self,
        v: &Value,
        k: &str,
        side: Side,
        out: &mut Vec<MarketEvent>,
    ) -> Result<(), ImportError> {
        let arr = v
            .get(k)
            .and_then(Value::as_array)
            .ok_or_else(|| self.lines.err(format!("field `{k}` is missing or not an array")))?;
        for lv in arr {
            let pair = lv.as_array().filter(|a| a.len() >= 2).ok_or_else(|| {
                self.lines.err(format!("`{k}` holds {lv} instead of [price, quantity]"))
            })?;
            let (Some(p), Some(q)) = (pair[0].as_str(), pair[1].as_str()) else {
                return Err(self.lines.err(format!("`{k}` level {lv} is not a pair of strings")));
            };
            out.push(MarketEvent::Level { side, px: self.px(p)?, qty: self.qty(q)? });
        }
        Ok(())
    }
}

/// What the first pass finds: symbols with their finest price decimals, and each file's unit.
type Scanned = (Vec<(String, u32)>, Vec<UnitChoice>);

/// First pass: symbols in order of first appearance with their finest price decimals, and
/// each file's local-timestamp unit.
fn scan(paths: &[PathBuf], given: Option<LocalTsUnit>) -> Result<Scanned, ImportError> {
    let mut found: Vec<(String, u32)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut units = Vec::with_capacity(paths.len());
    for p in paths {
        let mut lines = Lines::open(p)?;
        let mut samples: Vec<(i64, i64)> = Vec::new();
        let mut first: Option<i64> = None;
        while lines.next_line()? {
            let line = lines.text();
            if line.trim().is_empty() {
                continue;
            }
            let Some((ts, json)) = split(line) else {
                return Err(lines.err("expected `<local timestamp> <json>`"));
            };
            let local = raw_local(&lines, ts)?;
            first.get_or_insert(local);
            let v: Value =
                serde_json::from_str(json).map_err(|e| lines.err(format!("invalid JSON: {e}")))?;
            let data = v.get("data").unwrap_or(&v);
            if samples.len() < MAX_SAMPLES
                && let Some(ms) =
                    ["E", "T"].iter().find_map(|k| data.get(*k)).and_then(Value::as_i64)
                && let Some(ns) = ms.checked_mul(1_000_000)
            {
                samples.push((local, ns));
            }
            let Some(stream) = v.get("stream").and_then(Value::as_str) else { continue };
            let Some((sym, kind)) = stream_symbol(stream) else { continue };
            if stream_kind(kind) == StreamKind::Other {
                continue;
            }
            let d = ["p", "b", "a"]
                .iter()
                .filter_map(|k| data.get(*k))
                .filter_map(|x| x.as_str())
                .map(decimals)
                .max()
                .unwrap_or(0);
            let sym = sym.to_ascii_uppercase();
            match index.get(&sym) {
                Some(&i) => found[i].1 = found[i].1.max(d),
                None => {
                    room_for_instrument(&lines, found.len())?;
                    index.insert(sym.clone(), found.len());
                    found.push((sym, d));
                }
            }
        }
        units.push(choose_unit(p, &samples, first, given)?);
    }
    Ok((found, units))
}

/// A line's raw local timestamp (an integer in the file's unit).
fn raw_local(lines: &Lines, ts: &str) -> Result<i64, ImportError> {
    ts.trim().parse::<i64>().ok().filter(|t| *t >= 0).ok_or_else(|| {
        lines.err(format!("local timestamp {} is not a non-negative integer", quoted(ts)))
    })
}

/// One input file in the merge: its reader, unit, and the local time of its current line.
struct Input {
    lines: Lines,
    unit: LocalTsUnit,
    /// Local time (ns) of the current line; `None` at the end.
    at: Option<i64>,
}

impl Input {
    /// Moves to the next non-empty line and reads its local time.
    fn advance(&mut self) -> Result<(), ImportError> {
        loop {
            if !self.lines.next_line()? {
                self.at = None;
                return Ok(());
            }
            let line = self.lines.text();
            if line.trim().is_empty() {
                continue;
            }
            let Some((ts, _)) = split(line) else {
                return Err(self.lines.err("expected `<local timestamp> <json>`"));
            };
            let raw = raw_local(&self.lines, ts)?;
            let ns = raw.checked_mul(self.unit.ns()).ok_or_else(|| {
                self.lines.err(format!(
                    "local timestamp {raw} {} overflows nanoseconds",
                    self.unit.name()
                ))
            })?;
            self.at = Some(ns);
            return Ok(());
        }
    }
}

/// Where a market's depth-diff chain stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chain {
    /// Nothing yet (the first diff starts the chain).
    Start,
    /// The last applied diff's final update id.
    Diff(u64),
    /// A snapshot at this `lastUpdateId`; the next applied diff must straddle it.
    Snapshot(u64),
}

/// Whether a diff (`U`, `pu` on futures, `u`) continues `chain` the way its market defines
/// continuity.
pub(crate) fn continues(chain: Chain, big_u: u64, pu: Option<i64>) -> bool {
    match (chain, pu) {
        (Chain::Start, _) => true,
        // Futures: `pu` is the previous diff's `u`.
        (Chain::Diff(prev), Some(pu)) => i128::from(pu) == i128::from(prev),
        // Spot: ids are consecutive.
        (Chain::Diff(prev), None) => prev.checked_add(1) == Some(big_u),
        (Chain::Snapshot(id), Some(pu)) => big_u <= id || i128::from(pu) == i128::from(id),
        (Chain::Snapshot(id), None) => id.checked_add(1).is_some_and(|n| big_u <= n),
    }
}

/// A depth diff kept to re-apply after a snapshot: final id and its level events.
type Recent = VecDeque<(u64, Vec<MarketEvent>)>;

/// Imports hftbacktest collector captures of Binance streams (spot, USD-M and COIN-M futures;
/// plain or gzip) into one tape.
///
/// Local time is the collector's receive time, in the unit detected per file (see the module
/// documentation) or given in `opts.local_ts_unit`; exchange time is the message's `E` (event
/// time; `T` for trades) in milliseconds, or the local time where the message carries none.
/// Several files are merged by local time, the file given first going first on equal times.
///
/// # Errors
/// [`ImportError`] naming the file and line of the first malformed message, or the file whose
/// local timestamps fit no plausible unit.
pub fn import_binance(
    files: &[PathBuf],
    out: &Path,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let Some(first) = files.first() else {
        return Err(ImportError::Format {
            file: out.to_path_buf(),
            reason: "no input files given".into(),
        });
    };
    let (found, units) = scan(files, opts.local_ts_unit)?;
    if found.is_empty() {
        return Err(ImportError::Format {
            file: first.clone(),
            reason: "no depth, bookTicker or trade stream messages found".into(),
        });
    }
    let instruments = found
        .iter()
        .enumerate()
        .map(|(i, (s, d))| InstrumentInfo {
            id: i as u16,
            symbol: s.clone(),
            venue: "binance".into(),
            tick_size: tick_for(*d),
            price_scale: *d,
        })
        .collect();
    let source = super::source_name("Binance capture (hftbacktest collector)", files);
    let mut sink = Sink::create(out, TapeHeader::new(source, instruments), opts)?;
    let mut inputs = Vec::with_capacity(files.len());
    for (p, u) in files.iter().zip(&units) {
        let mut i = Input { lines: Lines::open(p)?, unit: u.unit, at: None };
        i.advance()?;
        inputs.push(i);
    }
    let mut rows = 0u64;
    let mut msgs: Vec<MarketEvent> = Vec::new();
    let mut batch: Vec<TapeEvent> = Vec::new();
    let mut chain: Vec<Chain> = vec![Chain::Start; found.len()];
    let mut snap_id: Vec<Option<u64>> = vec![None; found.len()];
    let (mut covered, mut gaps, mut snapshots, mut reapplied) = (0u64, 0u64, 0u64, 0u64);
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    let mut last_instrument: Option<u16> = None;
    // Per instrument: the latest depth diffs. A snapshot reflects the book at its
    // `lastUpdateId`, but the collector may have received diffs beyond that id before the
    // snapshot arrived: those are applied again after it.
    let mut recent: Vec<Recent> = vec![VecDeque::new(); found.len()];
    while let Some(k) = super::earliest(inputs.iter().map(|i| i.at)) {
        let input = &inputs[k];
        let lines = &input.lines;
        let local = input.at.unwrap_or(0);
        rows += 1;
        let json = split(lines.text()).map_or("", |(_, j)| j);
        let v: Value =
            serde_json::from_str(json).map_err(|e| lines.err(format!("invalid JSON: {e}")))?;
        let cx = Ctx { lines };
        msgs.clear();
        let mut skip = |reason: String| *skipped.entry(reason).or_insert(0) += 1;
        let target = if let Some(stream) = v.get("stream").and_then(Value::as_str) {
            let (sym, kind) = stream_symbol(stream)
                .ok_or_else(|| lines.err(format!("stream name {} has no `@`", quoted(stream))))?;
            let sk = stream_kind(kind);
            if sk == StreamKind::Other {
                skip(format!("stream {}", untrusted_name(kind)));
                None
            } else {
                let sym = sym.to_ascii_uppercase();
                let ins = found.iter().position(|(s, _)| *s == sym).ok_or_else(|| {
                    lines.err(format!("symbol {sym} missing from the first pass"))
                })?;
                let d = v.get("data").ok_or_else(|| lines.err("message has no `data`"))?;
                let made = match sk {
                    StreamKind::Diff => {
                        let (big_u, u) = (cx.u64_field(d, "U")?, cx.u64_field(d, "u")?);
                        let pu = match d.get("pu") {
                            None => None,
                            Some(x) => Some(
                                x.as_i64()
                                    .ok_or_else(|| lines.err("field `pu` is not an integer"))?,
                            ),
                        };
                        if snap_id[ins].is_some_and(|s| u <= s) {
                            covered += 1;
                            None
                        } else {
                            if !continues(chain[ins], big_u, pu) {
                                gaps += 1;
                            }
                            chain[ins] = Chain::Diff(u);
                            cx.levels(d, "b", Side::Buy, &mut msgs)?;
                            cx.levels(d, "a", Side::Sell, &mut msgs)?;
                            if recent[ins].len() == RECENT_DIFFS {
                                recent[ins].pop_front();
                            }
                            recent[ins].push_back((u, msgs.clone()));
                            Some((ins, cx.ms_field(d, "E")?))
                        }
                    }
                    StreamKind::Ticker => {
                        msgs.push(MarketEvent::Quote {
                            bid_px: cx.px(cx.str_field(d, "b")?)?,
                            bid_qty: cx.qty(cx.str_field(d, "B")?)?,
                            ask_px: cx.px(cx.str_field(d, "a")?)?,
                            ask_qty: cx.qty(cx.str_field(d, "A")?)?,
                        });
                        Some((ins, if d.get("E").is_some() { cx.ms_field(d, "E")? } else { local }))
                    }
                    _ => {
                        let maker_is_buyer = d
                            .get("m")
                            .and_then(Value::as_bool)
                            .ok_or_else(|| lines.err("trade lacks the boolean `m`"))?;
                        let q = cx.qty(cx.str_field(d, "q")?)?;
                        if q.0 < 0 {
                            return Err(lines.err("trade quantity is negative"));
                        }
                        if q.0 == 0 {
                            skip("trade with zero quantity".to_owned());
                            None
                        } else {
                            msgs.push(MarketEvent::Trade {
                                px: cx.px(cx.str_field(d, "p")?)?,
                                qty: q,
                                aggressor: Some(if maker_is_buyer {
                                    Side::Sell
                                } else {
                                    Side::Buy
                                }),
                            });
                            Some((ins, cx.ms_field(d, "T")?))
                        }
                    }
                };
                made.map(|(ins, exch)| {
                    last_instrument = Some(ins as u16);
                    (ins as u16, exch)
                })
            }
        } else if v.get("lastUpdateId").is_some() {
            // REST snapshots carry no symbol: they belong to the capture's symbol.
            let ins = match (found.len(), last_instrument) {
                (1, _) => 0,
                (_, Some(i)) => i,
                _ => {
                    return Err(lines
                        .err("depth snapshot before any stream message; cannot tell its symbol"));
                }
            };
            let id = cx.u64_field(&v, "lastUpdateId")?;
            let i = usize::from(ins);
            snap_id[i] = Some(id);
            chain[i] = Chain::Snapshot(id);
            snapshots += 1;
            msgs.push(MarketEvent::Clear);
            cx.levels(&v, "bids", Side::Buy, &mut msgs)?;
            cx.levels(&v, "asks", Side::Sell, &mut msgs)?;
            for (u, levels) in recent[i].iter().filter(|(u, _)| *u > id) {
                msgs.extend_from_slice(levels);
                chain[i] = Chain::Diff(*u);
                reapplied += 1;
            }
            recent[i].clear();
            let exch = if v.get("E").is_some() { cx.ms_field(&v, "E")? } else { local };
            Some((ins, exch))
        } else {
            skip("message that is neither a stream message nor a depth snapshot".to_owned());
            None
        };
        if let Some((instrument, exch)) = target {
            batch.clear();
            batch.extend(
                msgs.iter().map(|m| TapeEvent::new(Nanos(exch), Nanos(local), instrument, *m)),
            );
            if !batch.is_empty() {
                sink.batch(&mut batch, lines)?;
            }
        }
        inputs[k].advance()?;
    }
    let notes = vec![
        ("depth snapshots (book cleared and reset)".to_owned(), snapshots),
        ("depth diffs skipped as already covered by a snapshot".to_owned(), covered),
        (
            "depth diffs received before a snapshot but newer than it, applied again after it"
                .to_owned(),
            reapplied,
        ),
        (
            "depth diff sequence gaps (spot: U != previous u + 1; futures: pu != previous u)"
                .to_owned(),
            gaps,
        ),
    ];
    let mut summary = sink.finish(rows, notes)?;
    summary.ticks = super::decimal_ticks(&summary.header);
    summary.skipped = skipped;
    summary.sequence_gaps = Some(gaps);
    let mut names: Vec<&str> = units.iter().map(|u| u.unit.name()).collect();
    names.dedup();
    let mut hows: Vec<&str> = units.iter().map(|u| u.how).collect();
    hows.dedup();
    summary.local_ts_unit = Some(TsUnitChoice { unit: names.join(","), how: hows.join(",") });
    let mut offsets: Vec<i128> = units.iter().filter_map(|u| u.offset_ns).map(i128::from).collect();
    summary.clock_offset_ns = median(&mut offsets).and_then(|m| i64::try_from(m).ok());
    Ok(summary)
}

/// A stream kind from the file, safe to use as a report key: at most 64 characters, control
/// characters escaped.
fn untrusted_name(kind: &str) -> String {
    lockstep_sdk::untrusted(kind).max_chars(64).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuity_spot_by_consecutive_ids_futures_by_pu() {
        // Spot: U must be the previous u + 1.
        assert!(continues(Chain::Diff(10), 11, None));
        assert!(!continues(Chain::Diff(10), 12, None));
        assert!(!continues(Chain::Diff(10), 10, None));
        // Futures: pu must be the previous u, whatever U is.
        assert!(continues(Chain::Diff(10), 57, Some(10)));
        assert!(!continues(Chain::Diff(10), 11, Some(9)));
        // After a snapshot: the first diff must straddle it.
        assert!(continues(Chain::Snapshot(100), 101, None));
        assert!(continues(Chain::Snapshot(100), 90, None));
        assert!(!continues(Chain::Snapshot(100), 102, None));
        assert!(continues(Chain::Snapshot(100), 95, Some(80)));
        assert!(continues(Chain::Snapshot(100), 130, Some(100)));
        assert!(!continues(Chain::Snapshot(100), 130, Some(120)));
        assert!(continues(Chain::Start, 5, Some(-1)));
        assert!(!continues(Chain::Diff(u64::MAX), 0, None));
    }

    #[test]
    fn stream_kinds() {
        assert_eq!(stream_kind("depth"), StreamKind::Diff);
        assert_eq!(stream_kind("depth@100ms"), StreamKind::Diff);
        assert_eq!(stream_kind("depth@0ms"), StreamKind::Diff);
        assert_eq!(stream_kind("depth20@100ms"), StreamKind::Other);
        assert_eq!(stream_kind("bookTicker"), StreamKind::Ticker);
        assert_eq!(stream_kind("aggTrade"), StreamKind::Trade);
        assert_eq!(stream_kind("markPrice@1s"), StreamKind::Other);
        assert_eq!(stream_kind("kline_1m"), StreamKind::Other);
    }

    const T0_MS: i64 = 1_723_161_255_000;

    /// Samples of local times `ahead_ms` after the exchange's, written in `unit`.
    fn samples(unit: LocalTsUnit, ahead_ms: i64) -> Vec<(i64, i64)> {
        (0..50)
            .map(|i| {
                let exch_ns = (T0_MS + i * 100) * 1_000_000;
                let local_ns = exch_ns + ahead_ms * 1_000_000 + i * 1_000;
                (local_ns / unit.ns(), exch_ns)
            })
            .collect()
    }

    #[test]
    fn the_local_unit_is_detected_from_exchange_times() {
        let f = Path::new("capture.gz");
        for unit in LocalTsUnit::ALL {
            for ahead_ms in [3, -1_270, 2_500] {
                let c = choose_unit(f, &samples(unit, ahead_ms), None, None).unwrap();
                assert_eq!((c.unit, c.how), (unit, "exchange times"), "{unit:?} {ahead_ms}");
                let off = c.offset_ns.unwrap();
                // The median is off by less than the unit's rounding plus the added spread.
                assert!((off - ahead_ms * 1_000_000).abs() < 1_100_000, "{off}");
            }
        }
    }

    #[test]
    fn a_wrong_or_implausible_unit_is_refused_with_the_unit_and_why() {
        let f = Path::new("capture.gz");
        // Microsecond data read as nanoseconds: 54 years behind.
        let e = choose_unit(f, &samples(LocalTsUnit::Micros, 5), None, Some(LocalTsUnit::Nanos))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("capture.gz: local timestamps read as ns (as given by --local-ts-unit)"),
            "{e}"
        );
        assert!(e.contains("days before the exchange"), "{e}");
        assert!(e.contains("--local-ts-unit ns|us|ms"), "{e}");
        // A clock three hours ahead fits no unit.
        let e = choose_unit(f, &samples(LocalTsUnit::Nanos, 3 * 3_600_000), None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("read as ns (the closest fit) put the collector 3.0 h after"), "{e}");
        // Given and right: accepted.
        let c = choose_unit(f, &samples(LocalTsUnit::Millis, 1), None, Some(LocalTsUnit::Millis))
            .unwrap();
        assert_eq!((c.unit, c.how), (LocalTsUnit::Millis, "given"));
    }

    #[test]
    fn without_exchange_times_the_unit_is_judged_by_magnitude() {
        let f = Path::new("c");
        let by = |first| choose_unit(f, &[], Some(first), None);
        assert_eq!(by(1_723_161_253_937_085_768).unwrap().unit, LocalTsUnit::Nanos);
        assert_eq!(by(1_723_161_253_937_085).unwrap().unit, LocalTsUnit::Micros);
        assert_eq!(by(1_723_161_253_937).unwrap().unit, LocalTsUnit::Millis);
        assert_eq!(by(1_723_161_253_937).unwrap().how, "magnitude");
        assert!(by(1_723_161).unwrap_err().to_string().contains("no time between 2000 and 2100"));
        let e = choose_unit(f, &[], Some(1_723_161_253_937), Some(LocalTsUnit::Nanos)).unwrap_err();
        assert!(e.to_string().contains("read as ns (given)"), "{e}");
    }

    #[test]
    fn median_is_the_lower_middle() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
    }
}
