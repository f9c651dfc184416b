//! A capture's lines: `<local receive time> <json>`, the stream a message comes from, and its
//! fields read with errors at the line.

use crate::error::{ImportError, quoted};
use crate::field;
use crate::lines::Lines;
use lockstep_sdk::{Price, Qty, Side};
use lockstep_sim::MarketEvent;
use serde_json::Value;

/// A line's local timestamp and JSON text.
pub(crate) fn split(line: &str) -> Option<(&str, &str)> {
    let (ts, json) = line.split_once(' ')?;
    Some((ts, json.trim()))
}

/// A stream name's symbol and kind (`btcusdt@depth@100ms` → `btcusdt`, `depth@100ms`).
pub(crate) fn stream_symbol(stream: &str) -> Option<(&str, &str)> {
    stream.split_once('@')
}

/// What the tape makes of a stream kind (the part of the stream name after the symbol).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamKind {
    /// `depth`, `depth@100ms`, `depth@0ms`, ...: diff depth.
    Diff,
    /// `bookTicker`.
    Ticker,
    /// `trade`, `aggTrade`.
    Trade,
    /// Anything else: skipped and counted.
    Other,
}

pub(crate) fn stream_kind(kind: &str) -> StreamKind {
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

/// A stream kind from the file, safe to use as a report key: at most 64 characters, control
/// characters escaped.
pub(crate) fn untrusted_name(kind: &str) -> String {
    lockstep_sdk::untrusted(kind).max_chars(64).to_string()
}

/// A line's raw local timestamp (an integer in the file's unit).
pub(crate) fn raw_local(lines: &Lines, ts: &str) -> Result<i64, ImportError> {
    ts.trim().parse::<i64>().ok().filter(|t| *t >= 0).ok_or_else(|| {
        lines.err(format!("local timestamp {} is not a non-negative integer", quoted(ts)))
    })
}

/// The fields of the current line's message, refused at the line when missing or malformed.
pub(crate) struct Fields<'a> {
    pub(crate) lines: &'a Lines,
}

impl Fields<'_> {
    pub(crate) fn str_field<'v>(&self, v: &'v Value, k: &str) -> Result<&'v str, ImportError> {
        v.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| self.lines.err(format!("field `{k}` is missing or not a string")))
    }

    pub(crate) fn u64_field(&self, v: &Value, k: &str) -> Result<u64, ImportError> {
        v.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| self.lines.err(format!("field `{k}` is missing or not an integer")))
    }

    /// A time in milliseconds, in nanoseconds.
    pub(crate) fn ms_field(&self, v: &Value, k: &str) -> Result<i64, ImportError> {
        let ms = self.u64_field(v, k)?;
        i64::try_from(ms)
            .ok()
            .and_then(|m| m.checked_mul(1_000_000))
            .ok_or_else(|| self.lines.err(format!("`{k}` is out of range")))
    }

    /// The time `E` where the message has one, else `local`.
    pub(crate) fn event_time_or(&self, v: &Value, local: i64) -> Result<i64, ImportError> {
        if v.get("E").is_some() { self.ms_field(v, "E") } else { Ok(local) }
    }

    pub(crate) fn px(&self, t: &str) -> Result<Price, ImportError> {
        field::price(self.lines, "price", t)
    }

    pub(crate) fn qty(&self, t: &str) -> Result<Qty, ImportError> {
        field::qty(self.lines, "quantity", t)
    }

    /// `[[px, qty], ...]` as level events.
    pub(crate) fn levels(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
