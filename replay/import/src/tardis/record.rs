//! Tardis CSV rows: the kind of file its header says, the columns, and each row's event.

use crate::error::{ImportError, quoted};
use crate::header::Header;
use crate::lines::Lines;
use crate::time::parse_int_ns;
use lockstep_sdk::{Nanos, Price, Qty, Side};
use lockstep_sim::{MarketEvent, TapeEvent};
use std::path::Path;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Trades,
    Quotes,
    IncrementalL2,
    Snapshot,
}

/// Where the fields of a row are.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cols {
    pub(crate) exchange: usize,
    pub(crate) symbol: usize,
    pub(crate) ts: usize,
    pub(crate) local_ts: usize,
    side: usize,
    price: usize,
    amount: usize,
    is_snapshot: usize,
    ask_amount: usize,
    ask_price: usize,
    bid_price: usize,
    bid_amount: usize,
    /// `(ask px, ask amount, bid px, bid amount)` columns per snapshot level.
    levels: Vec<[usize; 4]>,
    /// Every column's name, for errors.
    names: Vec<String>,
}

/// Opens a Tardis file and reads its header: what it holds and where.
pub(crate) fn open(path: &Path) -> Result<(Lines, Kind, Cols), ImportError> {
    let lines = Lines::open_with_header(path)?;
    let (kind, cols) = detect(path, lines.text())?;
    Ok((lines, kind, cols))
}

fn detect(path: &Path, header: &str) -> Result<(Kind, Cols), ImportError> {
    let h = Header::new(path, header);
    let lacks = |n: &str| format!("not a Tardis CSV file: the header lacks column `{n}`: {header}");
    let need = |n: &str| h.need(n, &lacks);
    let mut c = Cols {
        exchange: need("exchange")?,
        symbol: need("symbol")?,
        ts: need("timestamp")?,
        local_ts: need("local_timestamp")?,
        names: header.split(',').map(|n| n.trim().to_owned()).collect(),
        ..Cols::default()
    };
    let kind = if h.col("is_snapshot").is_some() {
        c.is_snapshot = need("is_snapshot")?;
        (c.side, c.price, c.amount) = (need("side")?, need("price")?, need("amount")?);
        Kind::IncrementalL2
    } else if h.col("asks[0].price").is_some() {
        let mut i = 0;
        while let Some(ap) = h.col(&format!("asks[{i}].price")) {
            c.levels.push([
                ap,
                need(&format!("asks[{i}].amount"))?,
                need(&format!("bids[{i}].price"))?,
                need(&format!("bids[{i}].amount"))?,
            ]);
            i += 1;
        }
        Kind::Snapshot
    } else if h.col("ask_price").is_some() {
        c.ask_amount = need("ask_amount")?;
        c.ask_price = need("ask_price")?;
        c.bid_price = need("bid_price")?;
        c.bid_amount = need("bid_amount")?;
        Kind::Quotes
    } else if h.col("id").is_some() {
        (c.side, c.price, c.amount) = (need("side")?, need("price")?, need("amount")?);
        Kind::Trades
    } else {
        return Err(h.refuse(format!(
            "not a Tardis trades, quote, incremental_book_L2 or book_snapshot file: header is {header}"
        )));
    };
    Ok((kind, c))
}

/// The columns of a file's prices.
pub(crate) fn price_cols(kind: Kind, c: &Cols) -> Vec<usize> {
    match kind {
        Kind::Trades | Kind::IncrementalL2 => vec![c.price],
        Kind::Quotes => vec![c.ask_price, c.bid_price],
        Kind::Snapshot => c.levels.iter().flat_map(|l| [l[0], l[2]]).collect(),
    }
}

/// Column `i` of a file with columns `c`, for an error (`column 7 (price)`).
fn column(c: &Cols, i: usize) -> String {
    format!("column {} ({})", i + 1, c.names.get(i).map_or("?", String::as_str))
}

/// The byte ranges of the comma-separated fields of `text`, into `out`.
pub(crate) fn split_fields(text: &str, out: &mut Vec<(usize, usize)>) {
    out.clear();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b',' {
            out.push((start, i));
            start = i + 1;
        }
    }
    out.push((start, text.len()));
}

/// A data row: its times `(local, exchange)`, instrument, whether it belongs to a snapshot, and
/// its (last) event.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    pub(crate) key: (i64, i64),
    pub(crate) instrument: u16,
    pub(crate) snapshot: bool,
    pub(crate) msg: MarketEvent,
}

/// The fields of the current line of `lines`, split at `fields`.
pub(crate) struct Fields<'a> {
    pub(crate) lines: &'a Lines,
    pub(crate) fields: &'a [(usize, usize)],
}

impl<'a> Fields<'a> {
    /// Field `i`, trimmed.
    pub(crate) fn get(&self, i: usize) -> Result<&'a str, ImportError> {
        let (a, b) = *self.fields.get(i).ok_or_else(|| {
            self.lines
                .err(format!("row has {} fields; the header promised more", self.fields.len()))
        })?;
        Ok(self.lines.text()[a..b].trim())
    }

    /// Integer microseconds in field `i` (named `name` in errors), in nanoseconds.
    pub(crate) fn micros(&self, i: usize, name: &str) -> Result<i64, ImportError> {
        let t = self.get(i)?;
        parse_int_ns(t, 1000).ok_or_else(|| {
            self.lines.err(format!("{name} {} is not integer microseconds", quoted(t)))
        })
    }

    /// A side in field `i` (`None`: unknown or empty).
    fn side(&self, i: usize) -> Result<Option<Side>, ImportError> {
        match self.get(i)? {
            "buy" | "bid" => Ok(Some(Side::Buy)),
            "sell" | "ask" => Ok(Some(Side::Sell)),
            "unknown" | "" => Ok(None),
            other => Err(self
                .lines
                .err(format!("side {} is not buy/sell/bid/ask/unknown", quoted(other)))),
        }
    }

    /// Field `i` of a price or amount column (`c` names it), read by `parse`: `None` where it
    /// is empty, an error where it is not a decimal above 0 (or, with `zero`, of 0 or more).
    fn decimal<T: Copy>(
        &self,
        (c, i): (&Cols, usize),
        zero: bool,
        parse: fn(&str) -> Option<T>,
        raw: fn(T) -> i64,
    ) -> Result<Option<T>, ImportError> {
        let t = self.get(i)?;
        if t.is_empty() {
            return Ok(None);
        }
        match parse(t) {
            Some(v) if raw(v) > 0 || (zero && raw(v) == 0) => Ok(Some(v)),
            _ => Err(self.lines.err(format!(
                "{}: {} is not a decimal {} with at most 8 places",
                column(c, i),
                quoted(t),
                if zero { "of 0 or more" } else { "above 0" }
            ))),
        }
    }

    /// A price (above 0) in field `i`; `None` where it is empty.
    fn price(&self, c: &Cols, i: usize) -> Result<Option<Price>, ImportError> {
        self.decimal((c, i), false, Price::parse, |p| p.0)
    }

    /// An amount (above 0, or with `zero` 0 or more) in field `i`; `None` where it is empty.
    fn amount(&self, c: &Cols, i: usize, zero: bool) -> Result<Option<Qty>, ImportError> {
        self.decimal((c, i), zero, Qty::parse, |q| q.0)
    }

    /// The value `v` of field `i`, which `what` (a row) needs.
    fn needed<T>(&self, v: Option<T>, c: &Cols, i: usize, what: &str) -> Result<T, ImportError> {
        v.ok_or_else(|| self.lines.err(format!("{} is empty; {what} needs it", column(c, i))))
    }

    /// A price and an amount (above 0, or with `zero` 0 or more) in fields `pi` and `qi`, that
    /// are either both given or both empty (`None`: an absent quote side or snapshot level).
    fn pair(
        &self,
        c: &Cols,
        (pi, qi): (usize, usize),
        zero: bool,
    ) -> Result<Option<(Price, Qty)>, ImportError> {
        match (self.price(c, pi)?, self.amount(c, qi, zero)?) {
            (Some(p), Some(q)) => Ok(Some((p, q))),
            (None, None) => Ok(None),
            (p, _) => {
                let (empty, given) = if p.is_none() { (pi, qi) } else { (qi, pi) };
                Err(self.lines.err(format!(
                    "{} is empty but {} is not; give both or neither",
                    column(c, empty),
                    column(c, given)
                )))
            }
        }
    }

    /// A trades row's print: a price and an amount above 0.
    pub(crate) fn trade(&self, c: &Cols) -> Result<MarketEvent, ImportError> {
        let px = self.needed(self.price(c, c.price)?, c, c.price, "a trade")?;
        let qty = self.needed(self.amount(c, c.amount, false)?, c, c.amount, "a trade")?;
        Ok(MarketEvent::Trade { px, qty, aggressor: self.side(c.side)? })
    }

    /// A quote row's quote: each side a price above 0 and an amount of 0 or more, or both
    /// empty (no bid or no ask: price and quantity 0 on the tape).
    pub(crate) fn quote(&self, c: &Cols) -> Result<MarketEvent, ImportError> {
        let none = (Price::ZERO, Qty::ZERO);
        let (bid_px, bid_qty) = self.pair(c, (c.bid_price, c.bid_amount), true)?.unwrap_or(none);
        let (ask_px, ask_qty) = self.pair(c, (c.ask_price, c.ask_amount), true)?.unwrap_or(none);
        Ok(MarketEvent::Quote { bid_px, bid_qty, ask_px, ask_qty })
    }

    /// An incremental_book_L2 row's level (a price above 0, an amount of 0 or more: 0 removes
    /// the level), and whether it belongs to a snapshot.
    pub(crate) fn level(&self, c: &Cols) -> Result<(MarketEvent, bool), ImportError> {
        let l = self.lines;
        let snapshot = match self.get(c.is_snapshot)? {
            "true" => true,
            "false" => false,
            other => {
                return Err(l.err(format!("is_snapshot {} is not true/false", quoted(other))));
            }
        };
        let side = self.side(c.side)?.ok_or_else(|| l.err("book row without a side"))?;
        let px = self.needed(self.price(c, c.price)?, c, c.price, "a book update")?;
        let qty = self.needed(self.amount(c, c.amount, true)?, c, c.amount, "a book update")?;
        Ok((MarketEvent::Level { side, px, qty }, snapshot))
    }

    /// A book_snapshot row: a clear and every level but the last into `out` (as events of
    /// `instrument` at `ts`, `lts`); the last level (a clear for an empty book) is returned.
    pub(crate) fn snapshot(
        &self,
        c: &Cols,
        (ts, lts, instrument): (i64, i64, u16),
        out: &mut Vec<TapeEvent>,
    ) -> Result<MarketEvent, ImportError> {
        let event = |m| TapeEvent::new(Nanos(ts), Nanos(lts), instrument, m);
        out.push(event(MarketEvent::Clear));
        let mut last = None;
        for lv in &c.levels {
            for (pi, qi, side) in [(lv[2], lv[3], Side::Buy), (lv[0], lv[1], Side::Sell)] {
                // An empty level (both fields empty) is no level: the book has fewer.
                let Some((px, qty)) = self.pair(c, (pi, qi), false)? else { continue };
                if let Some(prev) = last.replace(MarketEvent::Level { side, px, qty }) {
                    out.push(event(prev));
                }
            }
        }
        Ok(last.unwrap_or(MarketEvent::Clear))
    }
}
