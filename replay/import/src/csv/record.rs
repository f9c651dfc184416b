//! CSV rows: the generic format's events, Binance depth CSV updates and TrueFX quotes.

use super::dialect::{Cols, DepthCols, FxCols};
use crate::error::{ImportError, quoted};
use crate::field;
use crate::lines::Lines;
use crate::number::parse_scaled;
use crate::time::parse_utc_ns;
use lockstep_sdk::{Nanos, Price, Qty, Side};
use lockstep_sim::{MarketEvent, TapeEvent};

/// Unit of the timestamp columns of a generic CSV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimeUnit {
    /// Seconds (decimals allowed, up to 9 places).
    Seconds,
    /// Milliseconds (up to 6 decimal places).
    Millis,
    /// Microseconds (up to 3 decimal places).
    Micros,
    /// Nanoseconds (integers).
    #[default]
    Nanos,
}

impl TimeUnit {
    fn places(self) -> u32 {
        match self {
            TimeUnit::Seconds => 9,
            TimeUnit::Millis => 6,
            TimeUnit::Micros => 3,
            TimeUnit::Nanos => 0,
        }
    }
}

/// The fields of the current line of `l`, trimmed.
struct Fields<'a> {
    l: &'a Lines,
    f: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    fn new(l: &'a Lines, text: &'a str) -> Self {
        Self { l, f: text.split(',').map(str::trim).collect() }
    }

    /// Field `i`, the column `name`.
    fn get(&self, i: usize, name: &str) -> Result<&'a str, ImportError> {
        self.f.get(i).copied().ok_or_else(|| self.l.err(format!("row lacks the `{name}` field")))
    }

    /// An integer of field `i`, the column `name`.
    fn int(&self, i: usize, name: &str) -> Result<i64, ImportError> {
        let t = self.get(i, name)?;
        t.parse().map_err(|_| self.l.err(format!("{name} {} is not an integer", quoted(t))))
    }

    /// The text `t` of the column `name` as an unsigned integer.
    fn unsigned(&self, name: &str, t: &str) -> Result<u64, ImportError> {
        t.parse()
            .map_err(|_| self.l.err(format!("{name} {} is not an unsigned integer", quoted(t))))
    }
}

/// A generic CSV row being read.
struct Generic<'a> {
    f: Fields<'a>,
    cols: &'a Cols,
    unit: TimeUnit,
}

/// Parses a data row: its event, and whether it joins the next row's batch (`more`).
pub(crate) fn parse_row(
    l: &Lines,
    text: &str,
    cols: &Cols,
    instrument: &dyn Fn(&str) -> u16,
    unit: TimeUnit,
) -> Result<(TapeEvent, bool), ImportError> {
    let r = Generic { f: Fields::new(l, text), cols, unit };
    let (ex, lo) = (r.ts(cols.exchange_ts, "exchange_ts")?, r.ts(cols.local_ts, "local_ts")?);
    let instrument = instrument(r.f.get(cols.symbol, "symbol")?);
    let msg = r.event(r.f.get(cols.event, "event")?)?;
    let more = match cols.more.map(|i| r.f.get(i, "more")).transpose()? {
        None | Some("" | "0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => return Err(l.err(format!("more {} is not 0/1", quoted(other)))),
    };
    Ok((TapeEvent::new(Nanos(ex), Nanos(lo), instrument, msg), more))
}

impl Generic<'_> {
    /// The field of the optional column `c`, named `name`: required by the row's event.
    fn opt(&self, c: Option<usize>, name: &str) -> Result<&str, ImportError> {
        let i = c.ok_or_else(|| self.f.l.err(format!("this event needs a `{name}` column")))?;
        self.f.get(i, name)
    }

    /// A time in the given unit, in nanoseconds.
    fn ts(&self, i: usize, name: &str) -> Result<i64, ImportError> {
        let t = self.f.get(i, name)?;
        parse_scaled(t, self.unit.places()).ok_or_else(|| {
            self.f.l.err(format!("{name} {} is not a number in the given time unit", quoted(t)))
        })
    }

    /// The row's side: `required` by its event, or optional (a trade's aggressor).
    fn side(&self, required: bool) -> Result<Option<Side>, ImportError> {
        let t = match self.cols.side {
            Some(i) => self.f.get(i, "side")?,
            None if required => return Err(self.f.l.err("this event needs a `side` column")),
            None => "",
        };
        match t.to_ascii_lowercase().as_str() {
            "buy" | "b" | "bid" | "1" => Ok(Some(Side::Buy)),
            "sell" | "s" | "ask" | "-1" => Ok(Some(Side::Sell)),
            "" if !required => Ok(None),
            other => Err(self.f.l.err(format!("side {} is not buy or sell", quoted(other)))),
        }
    }

    fn need_side(&self) -> Result<Side, ImportError> {
        self.side(true).map(|s| s.unwrap_or(Side::Buy))
    }

    /// The price or quantity field of column `c`, named `name`, read by `parse`: refused where
    /// it is 0 and `zero` does not allow it (`event` names the row's event). One below 0 is
    /// refused by the tape's check.
    fn amount<T: Copy>(
        &self,
        (c, name): (Option<usize>, &str),
        event: &str,
        zero: bool,
        parse: fn(&Lines, &str, &str) -> Result<T, ImportError>,
        raw: fn(T) -> i64,
    ) -> Result<T, ImportError> {
        let v = parse(self.f.l, name, self.opt(c, name)?)?;
        if raw(v) == 0 && !zero {
            return Err(self.f.l.err(format!(
                "{name} 0: {} {event} needs a {name} above 0 (0 is only a level's or a delete's \
                 qty, or a quote's absent side)",
                if event.starts_with(['a', 'e']) { "an" } else { "a" }
            )));
        }
        Ok(v)
    }

    /// A price above 0, of an order, a level or a trade (`event`).
    fn px(&self, c: Option<usize>, name: &str, event: &str) -> Result<Price, ImportError> {
        self.amount((c, name), event, false, field::price, |p| p.0)
    }

    /// A quantity above 0 (or 0 where `zero` allows it) of the event `event`.
    fn qty(&self, c: Option<usize>, event: &str, zero: bool) -> Result<Qty, ImportError> {
        self.amount((c, "qty"), event, zero, field::qty, |q| q.0)
    }

    /// Side, price and quantity of an order or level event: its quantity may be 0 for a level
    /// (removes it) and a delete (the order goes whatever its size).
    fn level(&self, event: &str) -> Result<(Side, Price, Qty), ImportError> {
        let zero = matches!(event, "level" | "delete");
        let c = self.cols;
        Ok((self.need_side()?, self.px(c.price, "price", event)?, self.qty(c.qty, event, zero)?))
    }

    /// One side of a quote, price and quantity: 0 and 0 where the side is absent.
    fn quote_side(
        &self,
        (pc, price): (Option<usize>, &str),
        (qc, qty): (Option<usize>, &str),
    ) -> Result<(Price, Qty), ImportError> {
        let px = self.amount((pc, price), "quote", true, field::price, |p| p.0)?;
        let q = self.amount((qc, qty), "quote", true, field::qty, |q| q.0)?;
        if px.0 == 0 && q.0 > 0 {
            return Err(self.f.l.err(format!(
                "{qty} {q} without a {price} (a quote's absent side has {price} 0 and {qty} 0)"
            )));
        }
        Ok((px, q))
    }

    /// The row's event, of the kind `event` names. Quantities are above 0, but a level's
    /// (0 removes it), a delete's (the order goes whatever its size) and a quote's; prices are
    /// above 0, but a quote's (0: the side is absent).
    fn event(&self, event: &str) -> Result<MarketEvent, ImportError> {
        let c = self.cols;
        Ok(match event {
            "add" | "cancel" | "delete" | "execute" => {
                let order_id = self.f.unsigned("order_id", self.opt(c.order_id, "order_id")?)?;
                let (side, px, qty) = self.level(event)?;
                match event {
                    "add" => MarketEvent::Add { order_id, side, px, qty },
                    "cancel" => MarketEvent::Cancel { order_id, side, px, qty },
                    "delete" => MarketEvent::Delete { order_id, side, px, qty },
                    _ => MarketEvent::Execute { order_id, side, px, qty },
                }
            }
            "hidden" | "level" => {
                let (side, px, qty) = self.level(event)?;
                if event == "hidden" {
                    MarketEvent::HiddenExecute { side, px, qty }
                } else {
                    MarketEvent::Level { side, px, qty }
                }
            }
            "clear" => MarketEvent::Clear,
            "quote" => {
                let (bid_px, bid_qty) = self.quote_side((c.price, "price"), (c.qty, "qty"))?;
                let (ask_px, ask_qty) =
                    self.quote_side((c.ask_price, "ask_price"), (c.ask_qty, "ask_qty"))?;
                MarketEvent::Quote { bid_px, bid_qty, ask_px, ask_qty }
            }
            "trade" => MarketEvent::Trade {
                px: self.px(c.price, "price", event)?,
                qty: self.qty(c.qty, event, false)?,
                aggressor: self.side(false)?,
            },
            other => {
                return Err(self.f.l.err(format!(
                    "unknown event {} (expected add, cancel, delete, execute, hidden, level, clear, quote or trade)",
                    quoted(other)
                )));
            }
        })
    }
}

/// The update a batch of a Binance depth CSV holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DepthUpdate {
    pub(crate) snapshot: bool,
    pub(crate) first: u64,
    pub(crate) last: u64,
    pub(crate) pu: i64,
}

/// A parsed row of a Binance depth CSV, kept when it starts the next batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DepthRow {
    pub(crate) update: DepthUpdate,
    pub(crate) event: TapeEvent,
}

/// Parses a Binance depth CSV row.
pub(crate) fn depth_row(
    l: &Lines,
    text: &str,
    c: &DepthCols,
    instrument: &dyn Fn(&str) -> u16,
) -> Result<DepthRow, ImportError> {
    let f = Fields::new(l, text);
    let ms = f.int(c.timestamp, "timestamp")?;
    let ts = ms.checked_mul(1_000_000).filter(|t| *t >= 0).ok_or_else(|| {
        l.err(format!("timestamp {ms} is not milliseconds between 1970 and 2262"))
    })?;
    let snapshot = match f.get(c.update_type, "update_type")? {
        "snap" => true,
        "set" => false,
        other => {
            return Err(l.err(format!("update_type {} is neither snap nor set", quoted(other))));
        }
    };
    let side = match f.get(c.side, "side")? {
        "b" => Side::Buy,
        "a" => Side::Sell,
        other => return Err(l.err(format!("side {} is neither b nor a", quoted(other)))),
    };
    let px = field::positive_price(l, "price", f.get(c.price, "price")?)?;
    let qty = field::unsigned_qty(l, "qty", f.get(c.qty, "qty")?)?;
    let id = |i: usize, name: &str| f.unsigned(name, f.get(i, name)?);
    let update = DepthUpdate {
        snapshot,
        first: id(c.first_update_id, "first_update_id")?,
        last: id(c.last_update_id, "last_update_id")?,
        pu: f.int(c.pu, "pu")?,
    };
    let ins = instrument(f.get(c.symbol, "symbol")?);
    let event = TapeEvent::new(Nanos(ts), Nanos(ts), ins, MarketEvent::Level { side, px, qty });
    Ok(DepthRow { update, event })
}

/// Parses a TrueFX row: a quote without sizes.
pub(crate) fn fx_row(
    l: &Lines,
    text: &str,
    c: &FxCols,
    instrument: u16,
) -> Result<TapeEvent, ImportError> {
    let f = Fields::new(l, text);
    let t = f.get(c.timestamp, "timestamp")?;
    let ts = parse_utc_ns(t).ok_or_else(|| {
        l.err(format!(
            "timestamp {} is not an ISO 8601 UTC time (YYYY-MM-DD HH:MM:SS[.fraction][Z|+HH:MM])",
            quoted(t)
        ))
    })?;
    let px = |name: &str, i: usize| field::positive_price(l, name, f.get(i, name)?);
    let msg = MarketEvent::Quote {
        bid_px: px("bid", c.bid)?,
        bid_qty: Qty::ZERO,
        ask_px: px("ask", c.ask)?,
        ask_qty: Qty::ZERO,
    };
    Ok(TapeEvent::new(Nanos(ts), Nanos(ts), instrument, msg))
}
