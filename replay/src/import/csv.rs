//! A generic CSV format for data from anywhere else.
//!
//! The first row names the columns (any order). Required: `exchange_ts`, `local_ts`,
//! `symbol`, `event`. Optional: `side`, `price`, `qty`, `order_id`, `ask_price`, `ask_qty`,
//! `more`. Events and the columns they use:
//!
//! | event | meaning | columns |
//! |---|---|---|
//! | `add` / `cancel` / `delete` / `execute` | L3 order messages | side, price, qty, order_id |
//! | `hidden` | hidden order executed | side (of the hidden order), price, qty |
//! | `level` | L2: absolute size at a level (0 removes) | side, price, qty |
//! | `clear` | book cleared (a snapshot follows) | |
//! | `quote` | top of book | price, qty (bid), ask_price, ask_qty |
//! | `trade` | trade print | price, qty, side (aggressor; may be empty) |
//!
//! `side` is `buy`/`sell` (also `b`/`s`, `bid`/`ask`, `1`/`-1`). `more` = `1` joins the row
//! with the next one into one batch (strategies see the book after the batch). Timestamps are
//! decimal numbers in the unit given on the command line (nanoseconds by default), parsed
//! exactly; rows are kept in file order.

use super::room_for_instrument;
use super::{
    ImportError, ImportOptions, ImportSummary, Lines, Sink, decimals, parse_scaled, quoted,
    tick_for,
};
use crate::tape::{InstrumentInfo, MarketEvent, TapeEvent, TapeHeader};
use lockstep_sdk::{Nanos, Price, Qty, Side};
use std::collections::BTreeMap;
use std::path::Path;

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

struct Cols {
    exchange_ts: usize,
    local_ts: usize,
    symbol: usize,
    event: usize,
    side: Option<usize>,
    price: Option<usize>,
    qty: Option<usize>,
    order_id: Option<usize>,
    ask_price: Option<usize>,
    ask_qty: Option<usize>,
    more: Option<usize>,
}

fn columns(path: &Path, header: &str) -> Result<Cols, ImportError> {
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let col = |n: &str| names.iter().position(|c| *c == n);
    let need = |n: &str| {
        col(n).ok_or_else(|| ImportError::Format {
            file: path.to_path_buf(),
            reason: format!(
                "generic CSV header lacks column `{n}` (required: exchange_ts, local_ts, symbol, event); found: {header}"
            ),
        })
    };
    Ok(Cols {
        exchange_ts: need("exchange_ts")?,
        local_ts: need("local_ts")?,
        symbol: need("symbol")?,
        event: need("event")?,
        side: col("side"),
        price: col("price"),
        qty: col("qty"),
        order_id: col("order_id"),
        ask_price: col("ask_price"),
        ask_qty: col("ask_qty"),
        more: col("more"),
    })
}

fn open(path: &Path) -> Result<(Lines, Cols), ImportError> {
    let mut lines = Lines::open(path)?;
    if !lines.next_line()? {
        return Err(ImportError::Format {
            file: path.to_path_buf(),
            reason: "file is empty".into(),
        });
    }
    let cols = columns(path, lines.text())?;
    Ok((lines, cols))
}

/// Imports a generic CSV file (plain or gzip); see the module documentation for the columns.
///
/// # Errors
/// [`ImportError`] naming the file and line of the first malformed row or unknown event.
pub fn import_csv(
    file: &Path,
    out: &Path,
    unit: TimeUnit,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    // First pass: symbols in order of appearance and their finest price decimals.
    let (mut lines, cols) = open(file)?;
    let mut syms: Vec<(String, u32)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    while lines.next_line()? {
        let text = lines.text();
        if text.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = text.split(',').map(str::trim).collect();
        let sym = *f.get(cols.symbol).ok_or_else(|| lines.err("row lacks the symbol field"))?;
        let d = [cols.price, cols.ask_price]
            .iter()
            .flatten()
            .filter_map(|&i| f.get(i))
            .map(|t| decimals(t))
            .max()
            .unwrap_or(0);
        match index.get(sym) {
            Some(&i) => syms[i].1 = syms[i].1.max(d),
            None => {
                room_for_instrument(&lines, syms.len())?;
                index.insert(sym.to_owned(), syms.len());
                syms.push((sym.to_owned(), d));
            }
        }
    }
    if syms.is_empty() {
        return Err(ImportError::Format {
            file: file.to_path_buf(),
            reason: "no data rows".into(),
        });
    }
    let instruments = syms
        .iter()
        .enumerate()
        .map(|(i, (s, d))| InstrumentInfo {
            id: i as u16,
            symbol: s.clone(),
            venue: "csv".into(),
            tick_size: tick_for(*d),
            price_scale: *d,
        })
        .collect();
    let source =
        format!("generic CSV {}", file.file_name().and_then(|n| n.to_str()).unwrap_or("?"));
    let mut sink = Sink::create(out, TapeHeader::new(source, instruments), opts)?;

    let (mut lines, cols) = open(file)?;
    let mut rows = 0u64;
    let mut batch: Vec<TapeEvent> = Vec::new();
    while lines.next_line()? {
        let text = lines.text();
        if text.trim().is_empty() {
            continue;
        }
        rows += 1;
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        let l = &lines;
        let get = |i: usize, name: &str| {
            fields.get(i).copied().ok_or_else(|| l.err(format!("row lacks the `{name}` field")))
        };
        let opt = |c: Option<usize>, name: &str| -> Result<&str, ImportError> {
            let i = c.ok_or_else(|| l.err(format!("this event needs a `{name}` column")))?;
            get(i, name)
        };
        let ts = |i: usize, name: &str| -> Result<i64, ImportError> {
            let t = get(i, name)?;
            parse_scaled(t, unit.places()).ok_or_else(|| {
                l.err(format!("{name} {} is not a number in the given time unit", quoted(t)))
            })
        };
        let (ex, lo) = (ts(cols.exchange_ts, "exchange_ts")?, ts(cols.local_ts, "local_ts")?);
        let sym = get(cols.symbol, "symbol")?;
        let instrument = syms.iter().position(|(s, _)| s == sym).unwrap_or(0) as u16;
        let side = |required: bool| -> Result<Option<Side>, ImportError> {
            let t = match cols.side {
                Some(i) => get(i, "side")?,
                None if required => return Err(l.err("this event needs a `side` column")),
                None => "",
            };
            match t.to_ascii_lowercase().as_str() {
                "buy" | "b" | "bid" | "1" => Ok(Some(Side::Buy)),
                "sell" | "s" | "ask" | "-1" => Ok(Some(Side::Sell)),
                "" if !required => Ok(None),
                other => Err(l.err(format!("side {} is not buy or sell", quoted(other)))),
            }
        };
        let need_side = || side(true).map(|s| s.unwrap_or(Side::Buy));
        let px = |c: Option<usize>, name: &str| -> Result<Price, ImportError> {
            let t = opt(c, name)?;
            Price::parse(t).ok_or_else(|| {
                l.err(format!("{name} {} is not a decimal with at most 8 places", quoted(t)))
            })
        };
        let qty = |c: Option<usize>, name: &str| -> Result<Qty, ImportError> {
            let t = opt(c, name)?;
            Qty::parse(t).ok_or_else(|| {
                l.err(format!("{name} {} is not a decimal with at most 8 places", quoted(t)))
            })
        };
        let id = || -> Result<u64, ImportError> {
            let t = opt(cols.order_id, "order_id")?;
            t.parse()
                .map_err(|_| l.err(format!("order_id {} is not an unsigned integer", quoted(t))))
        };
        let event = get(cols.event, "event")?;
        let msg = match event {
            "add" => MarketEvent::Add {
                order_id: id()?,
                side: need_side()?,
                px: px(cols.price, "price")?,
                qty: qty(cols.qty, "qty")?,
            },
            "cancel" => MarketEvent::Cancel {
                order_id: id()?,
                side: need_side()?,
                px: px(cols.price, "price")?,
                qty: qty(cols.qty, "qty")?,
            },
            "delete" => MarketEvent::Delete {
                order_id: id()?,
                side: need_side()?,
                px: px(cols.price, "price")?,
                qty: qty(cols.qty, "qty")?,
            },
            "execute" => MarketEvent::Execute {
                order_id: id()?,
                side: need_side()?,
                px: px(cols.price, "price")?,
                qty: qty(cols.qty, "qty")?,
            },
            "hidden" => MarketEvent::HiddenExecute {
                side: need_side()?,
                px: px(cols.price, "price")?,
                qty: qty(cols.qty, "qty")?,
            },
            "level" => MarketEvent::Level {
                side: need_side()?,
                px: px(cols.price, "price")?,
                qty: qty(cols.qty, "qty")?,
            },
            "clear" => MarketEvent::Clear,
            "quote" => MarketEvent::Quote {
                bid_px: px(cols.price, "price")?,
                bid_qty: qty(cols.qty, "qty")?,
                ask_px: px(cols.ask_price, "ask_price")?,
                ask_qty: qty(cols.ask_qty, "ask_qty")?,
            },
            "trade" => MarketEvent::Trade {
                px: px(cols.price, "price")?,
                qty: qty(cols.qty, "qty")?,
                aggressor: side(false)?,
            },
            other => {
                return Err(l.err(format!("unknown event {} (expected add, cancel, delete, execute, hidden, level, clear, quote or trade)", quoted(other)
                )));
            }
        };
        let more = match cols.more.map(|i| get(i, "more")).transpose()? {
            None | Some("" | "0" | "false") => false,
            Some("1" | "true") => true,
            Some(other) => return Err(l.err(format!("more {} is not 0/1", quoted(other)))),
        };
        batch.push(TapeEvent::new(Nanos(ex), Nanos(lo), instrument, msg));
        if !more {
            sink.batch(&mut batch, &lines)?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        sink.batch(&mut batch, &lines)?;
    }
    let mut summary = sink.finish(rows, Vec::new())?;
    summary.ticks = super::decimal_ticks(&summary.header);
    Ok(summary)
}
