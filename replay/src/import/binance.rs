//! Binance raw WebSocket captures in the hftbacktest `collector` format: one message per line,
//! `<local receive time in ns> <raw JSON of the combined stream>`, usually gzipped.
//!
//! Streams: `<sym>@depth[@100ms]` diffs (absolute level sizes, 0 deletes), `<sym>@bookTicker`
//! quotes, `<sym>@trade` and `<sym>@aggTrade` prints, and REST depth snapshots
//! (`{"lastUpdateId":…,"bids":…,"asks":…}`) the collector interleaves. A snapshot clears the
//! book and sets every level; diffs it already covers (`u` ≤ `lastUpdateId`) are skipped, and
//! diffs newer than it that arrived before it are applied again after it, as Binance documents
//! for rebuilding a local book. Diffs before the first snapshot are applied to a partial book.

use super::room_for_instrument;
use super::{
    ImportError, ImportOptions, ImportSummary, Lines, Sink, decimals, parse_int_ns, quoted,
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

/// First pass: symbols in order of first appearance and their finest price decimals.
fn scan(paths: &[PathBuf]) -> Result<Vec<(String, u32)>, ImportError> {
    let mut found: Vec<(String, u32)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for p in paths {
        let mut lines = Lines::open(p)?;
        while lines.next_line()? {
            let line = lines.text();
            if line.trim().is_empty() {
                continue;
            }
            let Some((_, json)) = split(line) else {
                return Err(lines.err("expected `<timestamp> <json>`"));
            };
            let v: Value =
                serde_json::from_str(json).map_err(|e| lines.err(format!("invalid JSON: {e}")))?;
            let Some(stream) = v.get("stream").and_then(Value::as_str) else { continue };
            let Some((sym, _)) = stream_symbol(stream) else { continue };
            let data = v.get("data");
            let d = ["p", "b", "a"]
                .iter()
                .filter_map(|k| data.and_then(|d| d.get(*k)))
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
    }
    Ok(found)
}

/// Imports hftbacktest collector captures of Binance streams (plain or gzip) into one tape.
///
/// Local time is the collector's receive time; exchange time is the message's `E` (event
/// time; `T` for trades) in milliseconds, or the local time where the stream carries none
/// (bookTicker, snapshots). Files are read one after the other in the order given.
///
/// # Errors
/// [`ImportError`] naming the file and line of the first malformed or unknown message.
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
    let found = scan(files)?;
    if found.is_empty() {
        return Err(ImportError::Format {
            file: first.clone(),
            reason: "no stream messages found".into(),
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
    let source = format!(
        "Binance capture (hftbacktest collector) {}",
        files
            .iter()
            .map(|p| p.file_name().and_then(|n| n.to_str()).unwrap_or("?"))
            .collect::<Vec<_>>()
            .join(" + ")
    );
    let mut sink = Sink::create(out, TapeHeader::new(source, instruments), opts)?;
    let mut rows = 0u64;
    let mut msgs: Vec<MarketEvent> = Vec::new();
    let mut batch: Vec<TapeEvent> = Vec::new();
    // Per instrument: last applied diff id, last snapshot id.
    let mut last_u: Vec<Option<u64>> = vec![None; found.len()];
    let mut snap_id: Vec<Option<u64>> = vec![None; found.len()];
    let (mut covered, mut gaps, mut snapshots, mut reapplied) = (0u64, 0u64, 0u64, 0u64);
    let mut last_instrument: Option<u16> = None;
    // Per instrument: the latest depth diffs (`U`, `u`, levels). A snapshot reflects the book
    // at its `lastUpdateId`, but the collector may have received diffs beyond that id before
    // the snapshot arrived: those are applied again after it.
    let mut recent: Vec<VecDeque<(u64, Vec<MarketEvent>)>> = vec![VecDeque::new(); found.len()];
    for p in files {
        let mut lines = Lines::open(p)?;
        while lines.next_line()? {
            let line = lines.text();
            if line.trim().is_empty() {
                continue;
            }
            rows += 1;
            let Some((ts, json)) = split(line) else {
                return Err(lines.err("expected `<timestamp in ns> <json>`"));
            };
            let local = parse_int_ns(ts, 1).ok_or_else(|| {
                lines.err(format!("timestamp {} is not integer nanoseconds", quoted(ts)))
            })?;
            let v: Value =
                serde_json::from_str(json).map_err(|e| lines.err(format!("invalid JSON: {e}")))?;
            let cx = Ctx { lines: &lines };
            msgs.clear();
            let (instrument, exch) = if let Some(stream) = v.get("stream").and_then(Value::as_str) {
                let (sym, kind) = stream_symbol(stream).ok_or_else(|| {
                    lines.err(format!("stream name {} has no `@`", quoted(stream)))
                })?;
                let sym = sym.to_ascii_uppercase();
                let ins = found.iter().position(|(s, _)| *s == sym).ok_or_else(|| {
                    lines.err(format!("symbol {sym} missing from the first pass"))
                })?;
                let d = v.get("data").ok_or_else(|| lines.err("message has no `data`"))?;
                let exch = if kind.starts_with("depth") {
                    let (big_u, u) = (cx.u64_field(d, "U")?, cx.u64_field(d, "u")?);
                    if snap_id[ins].is_some_and(|s| u <= s) {
                        covered += 1;
                        continue;
                    }
                    if let Some(prev) = last_u[ins]
                        && big_u != prev + 1
                    {
                        gaps += 1;
                    }
                    last_u[ins] = Some(u);
                    cx.levels(d, "b", Side::Buy, &mut msgs)?;
                    cx.levels(d, "a", Side::Sell, &mut msgs)?;
                    if recent[ins].len() == RECENT_DIFFS {
                        recent[ins].pop_front();
                    }
                    recent[ins].push_back((u, msgs.clone()));
                    cx.ms_field(d, "E")?
                } else if kind == "bookTicker" {
                    msgs.push(MarketEvent::Quote {
                        bid_px: cx.px(cx.str_field(d, "b")?)?,
                        bid_qty: cx.qty(cx.str_field(d, "B")?)?,
                        ask_px: cx.px(cx.str_field(d, "a")?)?,
                        ask_qty: cx.qty(cx.str_field(d, "A")?)?,
                    });
                    if d.get("E").is_some() { cx.ms_field(d, "E")? } else { local }
                } else if kind == "trade" || kind == "aggTrade" {
                    let maker_is_buyer = d
                        .get("m")
                        .and_then(Value::as_bool)
                        .ok_or_else(|| lines.err("trade lacks the boolean `m`"))?;
                    let q = cx.qty(cx.str_field(d, "q")?)?;
                    if q.0 <= 0 {
                        return Err(lines.err("trade quantity is not positive"));
                    }
                    msgs.push(MarketEvent::Trade {
                        px: cx.px(cx.str_field(d, "p")?)?,
                        qty: q,
                        aggressor: Some(if maker_is_buyer { Side::Sell } else { Side::Buy }),
                    });
                    cx.ms_field(d, "T")?
                } else {
                    return Err(lines.err(format!(
                        "unknown stream kind `{kind}` (expected depth, bookTicker, trade or aggTrade)"
                    )));
                };
                last_instrument = Some(ins as u16);
                (ins as u16, exch)
            } else if v.get("lastUpdateId").is_some() {
                // REST snapshots carry no symbol: they belong to the capture's symbol.
                let ins = match (found.len(), last_instrument) {
                    (1, _) => 0,
                    (_, Some(i)) => i,
                    _ => {
                        return Err(lines.err(
                            "depth snapshot before any stream message; cannot tell its symbol",
                        ));
                    }
                };
                let id = cx.u64_field(&v, "lastUpdateId")?;
                let i = usize::from(ins);
                snap_id[i] = Some(id);
                last_u[i] = None;
                snapshots += 1;
                msgs.push(MarketEvent::Clear);
                cx.levels(&v, "bids", Side::Buy, &mut msgs)?;
                cx.levels(&v, "asks", Side::Sell, &mut msgs)?;
                for (u, levels) in recent[i].iter().filter(|(u, _)| *u > id) {
                    msgs.extend_from_slice(levels);
                    last_u[i] = Some(*u);
                    reapplied += 1;
                }
                recent[i].clear();
                (ins, local)
            } else {
                return Err(lines.err("message is neither a stream message nor a depth snapshot"));
            };
            batch.clear();
            batch.extend(
                msgs.iter().map(|m| TapeEvent::new(Nanos(exch), Nanos(local), instrument, *m)),
            );
            if !batch.is_empty() {
                sink.batch(&mut batch, &lines)?;
            }
        }
    }
    let notes = vec![
        ("depth snapshots (book cleared and reset)".to_owned(), snapshots),
        ("depth diffs skipped as already covered by a snapshot".to_owned(), covered),
        (
            "depth diffs received before a snapshot but newer than it, applied again after it"
                .to_owned(),
            reapplied,
        ),
        ("depth diff sequence gaps (U != previous u + 1)".to_owned(), gaps),
    ];
    sink.finish(rows, notes)
}
