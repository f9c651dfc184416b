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
//!
//! Two other CSV shapes are recognised by their header, with their time unit fixed by the
//! format (the unit given on the command line applies to the generic format only):
//!
//! - **Binance depth CSV** (as NautilusTrader's test data writes Binance USD-M depth):
//!   `symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu`; time in
//!   milliseconds (exchange and local time alike: the file has one), `side` `b`/`a`, `qty` the
//!   absolute level size (0 removes). Rows of one update (same time, `update_type` and ids)
//!   are one batch; a `snap` batch clears the book first. Continuity follows Binance futures
//!   (`pu` is the previous update's `last_update_id`; the first update after a snapshot must
//!   straddle it); breaks are counted as sequence gaps, and updates a snapshot already covers
//!   are skipped and counted.
//! - **TrueFX ticks** as NautilusTrader saves them: `timestamp,bid,ask`, the time ISO 8601
//!   (`2013-01-01 22:00:00.295000+00:00`; `Z`, an offset or none for UTC). Each row is a quote
//!   without sizes (quantities 0; TrueFX publishes none); the symbol is the file name's prefix
//!   (`usdjpy-ticks.csv` → `USDJPY`).

use super::binance::{Chain, continues};
use super::room_for_instrument;
use super::{
    ImportError, ImportOptions, ImportSummary, Lines, Sink, decimals, parse_scaled, quoted,
    tick_for,
};
use crate::tape::{InstrumentInfo, MarketEvent, TapeEvent, TapeHeader};
use lockstep_sdk::{Nanos, Price, Qty, Side};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// Columns of a Binance depth CSV.
struct DepthCols {
    symbol: usize,
    timestamp: usize,
    first_update_id: usize,
    last_update_id: usize,
    side: usize,
    update_type: usize,
    price: usize,
    qty: usize,
    pu: usize,
}

/// Columns of a TrueFX tick file, and the symbol its name gives.
struct FxCols {
    symbol: String,
    timestamp: usize,
    bid: usize,
    ask: usize,
}

/// What a file's header says it holds.
enum Dialect {
    Generic(Cols),
    BinanceDepth(DepthCols),
    TrueFx(FxCols),
}

impl Dialect {
    /// The venue of its instruments.
    fn venue(&self) -> &'static str {
        match self {
            Dialect::Generic(_) => "csv",
            Dialect::BinanceDepth(_) => "binance",
            Dialect::TrueFx(_) => "TrueFX",
        }
    }

    /// A data row's symbol and the texts of its prices.
    fn symbol_and_prices<'t>(
        &'t self,
        lines: &Lines,
        f: &[&'t str],
    ) -> Result<(&'t str, Vec<&'t str>), ImportError> {
        let at = |i: usize| f.get(i).copied();
        let pick = |cols: &[Option<usize>]| cols.iter().flatten().filter_map(|&i| at(i)).collect();
        Ok(match self {
            Dialect::Generic(c) => (
                at(c.symbol).ok_or_else(|| lines.err("row lacks the symbol field"))?,
                pick(&[c.price, c.ask_price]),
            ),
            Dialect::BinanceDepth(c) => (
                at(c.symbol).ok_or_else(|| lines.err("row lacks the symbol field"))?,
                pick(&[Some(c.price)]),
            ),
            Dialect::TrueFx(c) => (c.symbol.as_str(), pick(&[Some(c.bid), Some(c.ask)])),
        })
    }
}

/// The symbol a TrueFX file name starts with, upper case (`usdjpy-ticks.csv` → `USDJPY`).
fn fx_symbol(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split(['-', '_', '.']).next())
        .filter(|s| !s.is_empty())
        .map_or_else(|| "FX".to_owned(), str::to_ascii_uppercase)
}

fn detect(path: &Path, header: &str) -> Result<Dialect, ImportError> {
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let col = |n: &str| names.iter().position(|c| *c == n);
    let need = |n: &str, what: &str, required: &str| {
        col(n).ok_or_else(|| ImportError::Format {
            file: path.to_path_buf(),
            reason: format!(
                "{what} header lacks column `{n}` (required: {required}); found: {header}"
            ),
        })
    };
    if col("update_type").is_some() && col("exchange_ts").is_none() {
        const REQUIRED: &str =
            "symbol, timestamp, first_update_id, last_update_id, side, update_type, price, qty, pu";
        let n = |c: &str| need(c, "Binance depth CSV", REQUIRED);
        return Ok(Dialect::BinanceDepth(DepthCols {
            symbol: n("symbol")?,
            timestamp: n("timestamp")?,
            first_update_id: n("first_update_id")?,
            last_update_id: n("last_update_id")?,
            side: n("side")?,
            update_type: n("update_type")?,
            price: n("price")?,
            qty: n("qty")?,
            pu: n("pu")?,
        }));
    }
    if names.len() == 3 && col("exchange_ts").is_none() && col("bid").is_some() {
        let n = |c: &str| need(c, "TrueFX", "timestamp, bid, ask");
        return Ok(Dialect::TrueFx(FxCols {
            symbol: fx_symbol(path),
            timestamp: n("timestamp")?,
            bid: n("bid")?,
            ask: n("ask")?,
        }));
    }
    columns(path, header).map(Dialect::Generic)
}

fn open(path: &Path) -> Result<(Lines, Dialect), ImportError> {
    let mut lines = Lines::open(path)?;
    if !lines.next_line()? {
        return Err(ImportError::Format {
            file: path.to_path_buf(),
            reason: "file is empty".into(),
        });
    }
    let dialect = detect(path, lines.text())?;
    Ok((lines, dialect))
}

/// The update a batch of a Binance depth CSV holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DepthUpdate {
    snapshot: bool,
    first: u64,
    last: u64,
    pu: i64,
}

/// A parsed row of a Binance depth CSV, kept when it starts the next batch.
#[derive(Clone, Copy, Debug)]
struct DepthRow {
    update: DepthUpdate,
    event: TapeEvent,
}

/// Parses a Binance depth CSV row.
fn depth_row(
    l: &Lines,
    text: &str,
    c: &DepthCols,
    instrument: &dyn Fn(&str) -> u16,
) -> Result<DepthRow, ImportError> {
    let f: Vec<&str> = text.split(',').map(str::trim).collect();
    let get = |i: usize, name: &str| {
        f.get(i).copied().ok_or_else(|| l.err(format!("row lacks the `{name}` field")))
    };
    let int = |i: usize, name: &str| -> Result<i64, ImportError> {
        let t = get(i, name)?;
        t.parse().map_err(|_| l.err(format!("{name} {} is not an integer", quoted(t))))
    };
    let id = |i: usize, name: &str| -> Result<u64, ImportError> {
        let t = get(i, name)?;
        t.parse().map_err(|_| l.err(format!("{name} {} is not an unsigned integer", quoted(t))))
    };
    let ms = int(c.timestamp, "timestamp")?;
    let ts = ms.checked_mul(1_000_000).filter(|t| *t >= 0).ok_or_else(|| {
        l.err(format!("timestamp {ms} is not milliseconds between 1970 and 2262"))
    })?;
    let snapshot = match get(c.update_type, "update_type")? {
        "snap" => true,
        "set" => false,
        other => {
            return Err(l.err(format!("update_type {} is neither snap nor set", quoted(other))));
        }
    };
    let side = match get(c.side, "side")? {
        "b" => Side::Buy,
        "a" => Side::Sell,
        other => return Err(l.err(format!("side {} is neither b nor a", quoted(other)))),
    };
    let p = get(c.price, "price")?;
    let px = Price::parse(p).filter(|p| p.0 > 0).ok_or_else(|| {
        l.err(format!("price {} is not a positive decimal with at most 8 places", quoted(p)))
    })?;
    let q = get(c.qty, "qty")?;
    let qty = Qty::parse(q).filter(|q| q.0 >= 0).ok_or_else(|| {
        l.err(format!("qty {} is not a decimal of 0 or more with at most 8 places", quoted(q)))
    })?;
    let update = DepthUpdate {
        snapshot,
        first: id(c.first_update_id, "first_update_id")?,
        last: id(c.last_update_id, "last_update_id")?,
        pu: int(c.pu, "pu")?,
    };
    let ins = instrument(get(c.symbol, "symbol")?);
    let event = TapeEvent::new(Nanos(ts), Nanos(ts), ins, MarketEvent::Level { side, px, qty });
    Ok(DepthRow { update, event })
}

/// Parses a TrueFX row: a quote without sizes.
fn fx_row(l: &Lines, text: &str, c: &FxCols, instrument: u16) -> Result<TapeEvent, ImportError> {
    let f: Vec<&str> = text.split(',').map(str::trim).collect();
    let get = |i: usize, name: &str| {
        f.get(i).copied().ok_or_else(|| l.err(format!("row lacks the `{name}` field")))
    };
    let t = get(c.timestamp, "timestamp")?;
    let ts = super::parse_utc_ns(t).ok_or_else(|| {
        l.err(format!(
            "timestamp {} is not an ISO 8601 UTC time (YYYY-MM-DD HH:MM:SS[.fraction][Z|+HH:MM])",
            quoted(t)
        ))
    })?;
    let px = |name: &str, i: usize| -> Result<Price, ImportError> {
        let t = get(i, name)?;
        Price::parse(t).filter(|p| p.0 > 0).ok_or_else(|| {
            l.err(format!("{name} {} is not a positive decimal with at most 8 places", quoted(t)))
        })
    };
    let msg = MarketEvent::Quote {
        bid_px: px("bid", c.bid)?,
        bid_qty: Qty::ZERO,
        ask_px: px("ask", c.ask)?,
        ask_qty: Qty::ZERO,
    };
    Ok(TapeEvent::new(Nanos(ts), Nanos(ts), instrument, msg))
}

/// One input file in the merge: its reader and columns, and the batch it has read ahead.
struct Source {
    lines: Lines,
    dialect: Dialect,
    rows: u64,
    /// The next batch (generic: rows up to one with `more` unset; Binance depth: the rows of
    /// one update), ready to write; empty at the end.
    batch: Vec<TapeEvent>,
    /// The Binance depth update `batch` holds.
    update: Option<DepthUpdate>,
    /// A Binance depth row already read that starts the batch after `batch`.
    peeked: Option<DepthRow>,
}

impl Source {
    /// Reads the next batch into `batch` (empty at the end of the file).
    fn advance(
        &mut self,
        syms: &[(String, String, u32)],
        unit: TimeUnit,
    ) -> Result<(), ImportError> {
        self.batch.clear();
        self.update = None;
        let venue = self.dialect.venue();
        let instrument = |sym: &str| {
            syms.iter().position(|(v, s, _)| v == venue && s == sym).unwrap_or(0) as u16
        };
        if let Some(first) = self.peeked.take() {
            start_update(&mut self.batch, &mut self.update, first);
        }
        while self.lines.next_line()? {
            let text = self.lines.text();
            if text.trim().is_empty() {
                continue;
            }
            self.rows += 1;
            match &self.dialect {
                Dialect::Generic(cols) => {
                    let (event, more) = parse_row(&self.lines, text, cols, &instrument, unit)?;
                    self.batch.push(event);
                    if !more {
                        break;
                    }
                }
                Dialect::TrueFx(cols) => {
                    let ins = instrument(&cols.symbol);
                    self.batch.push(fx_row(&self.lines, text, cols, ins)?);
                    break;
                }
                Dialect::BinanceDepth(cols) => {
                    let row = depth_row(&self.lines, text, cols, &instrument)?;
                    match self.update {
                        Some(u)
                            if u == row.update
                                && self.batch[0].instrument == row.event.instrument
                                && self.batch[0].local_ts == row.event.local_ts =>
                        {
                            self.batch.push(row.event);
                        }
                        Some(_) => {
                            self.peeked = Some(row);
                            break;
                        }
                        None => start_update(&mut self.batch, &mut self.update, row),
                    }
                }
            }
        }
        Ok(())
    }

    /// Local time of the next batch (`None` at the end).
    fn at(&self) -> Option<i64> {
        self.batch.first().map(|e| e.local_ts.0)
    }
}

/// Starts a Binance depth batch with `row` (a snapshot clears the book first).
fn start_update(batch: &mut Vec<TapeEvent>, update: &mut Option<DepthUpdate>, row: DepthRow) {
    if row.update.snapshot {
        let e = row.event;
        batch.push(TapeEvent::new(e.exchange_ts, e.local_ts, e.instrument, MarketEvent::Clear));
    }
    batch.push(row.event);
    *update = Some(row.update);
}

/// Parses a data row: its event, and whether it joins the next row's batch (`more`).
fn parse_row(
    l: &Lines,
    text: &str,
    cols: &Cols,
    instrument: &dyn Fn(&str) -> u16,
    unit: TimeUnit,
) -> Result<(TapeEvent, bool), ImportError> {
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
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
    let instrument = instrument(get(cols.symbol, "symbol")?);
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
        t.parse().map_err(|_| l.err(format!("order_id {} is not an unsigned integer", quoted(t))))
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
            return Err(l.err(format!(
                "unknown event {} (expected add, cancel, delete, execute, hidden, level, clear, quote or trade)",
                quoted(other)
            )));
        }
    };
    let more = match cols.more.map(|i| get(i, "more")).transpose()? {
        None | Some("" | "0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => return Err(l.err(format!("more {} is not 0/1", quoted(other)))),
    };
    Ok((TapeEvent::new(Nanos(ex), Nanos(lo), instrument, msg), more))
}

/// Imports CSV files (plain or gzip) into one tape: the generic format, Binance depth CSV or
/// TrueFX ticks, told apart by their header (see the module documentation). Several files are
/// merged by local time (of each batch's first row), the file given first going first on equal
/// times; within a file, file order is kept. Each distinct venue and symbol is one instrument,
/// in order of first appearance (the files read in the order given); its tick is ten to the
/// minus the most decimal places among its prices.
///
/// # Errors
/// [`ImportError`] naming the file and line of the first malformed row or unknown event.
pub fn import_csv(
    files: &[PathBuf],
    out: &Path,
    unit: TimeUnit,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let Some(first) = files.first() else {
        return Err(ImportError::Format {
            file: out.to_path_buf(),
            reason: "no input files given".into(),
        });
    };
    // First pass: instruments in order of appearance and their finest price decimals.
    let mut syms: Vec<(String, String, u32)> = Vec::new();
    let mut index: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    let mut kinds: Vec<&'static str> = Vec::new();
    for file in files {
        let (mut lines, dialect) = open(file)?;
        let venue = dialect.venue();
        if !kinds.contains(&venue) {
            kinds.push(venue);
        }
        while lines.next_line()? {
            let text = lines.text();
            if text.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = text.split(',').map(str::trim).collect();
            let (sym, prices) = dialect.symbol_and_prices(&lines, &f)?;
            let d = prices.into_iter().map(decimals).max().unwrap_or(0);
            match index.get(&(venue, sym.to_owned())) {
                Some(&i) => syms[i].2 = syms[i].2.max(d),
                None => {
                    room_for_instrument(&lines, syms.len())?;
                    index.insert((venue, sym.to_owned()), syms.len());
                    syms.push((venue.to_owned(), sym.to_owned(), d));
                }
            }
        }
    }
    if syms.is_empty() {
        return Err(ImportError::Format { file: first.clone(), reason: "no data rows".into() });
    }
    let instruments = syms
        .iter()
        .enumerate()
        .map(|(i, (v, s, d))| InstrumentInfo {
            id: i as u16,
            symbol: s.clone(),
            venue: v.clone(),
            tick_size: tick_for(*d),
            price_scale: *d,
        })
        .collect();
    let what = match kinds.as_slice() {
        ["binance"] => "Binance depth CSV",
        ["TrueFX"] => "TrueFX ticks",
        ["csv"] => "generic CSV",
        _ => "CSV",
    };
    let source = super::source_name(what, files);
    let mut sink = Sink::create(out, TapeHeader::new(source, instruments), opts)?;
    let mut srcs = Vec::with_capacity(files.len());
    for file in files {
        let (lines, dialect) = open(file)?;
        let mut s =
            Source { lines, dialect, rows: 0, batch: Vec::new(), update: None, peeked: None };
        s.advance(&syms, unit)?;
        srcs.push(s);
    }
    // Binance depth continuity per instrument, as the Binance importer defines it for futures.
    let mut chain = vec![Chain::Start; syms.len()];
    let mut snap_id: Vec<Option<u64>> = vec![None; syms.len()];
    let (mut gaps, mut covered, mut depth) = (0u64, 0u64, false);
    while let Some(k) = super::earliest(srcs.iter().map(Source::at)) {
        let s = &mut srcs[k];
        if let Some(u) = s.update {
            depth = true;
            let i = usize::from(s.batch[0].instrument);
            if u.snapshot {
                snap_id[i] = Some(u.last);
                chain[i] = Chain::Snapshot(u.last);
            } else if snap_id[i].is_some_and(|id| u.last <= id) {
                covered += 1;
                s.advance(&syms, unit)?;
                continue;
            } else {
                if !continues(chain[i], u.first, Some(u.pu)) {
                    gaps += 1;
                }
                chain[i] = Chain::Diff(u.last);
            }
        }
        sink.batch(&mut s.batch, &s.lines)?;
        s.advance(&syms, unit)?;
    }
    let rows = srcs.iter().map(|s| s.rows).sum();
    let notes = if depth {
        vec![
            ("Binance depth updates skipped as already covered by a snapshot".to_owned(), covered),
            (
                "Binance depth sequence gaps (pu != previous last_update_id, or an update after a \
                 snapshot that does not straddle it)"
                    .to_owned(),
                gaps,
            ),
        ]
    } else {
        Vec::new()
    };
    let mut summary = sink.finish(rows, notes)?;
    summary.ticks = super::decimal_ticks(&summary.header);
    summary.sequence_gaps = depth.then_some(gaps);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lockstep-csv-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn events(tape: &Path) -> Vec<TapeEvent> {
        let mut r = crate::TapeReader::open(tape).unwrap();
        let (mut all, mut buf) = (Vec::new(), Vec::new());
        while crate::EventSource::next_chunk(&mut r, &mut buf).unwrap() {
            all.extend_from_slice(&buf);
        }
        all
    }

    const HEAD: &str = "exchange_ts,local_ts,symbol,event,side,price,qty,order_id,more\n";

    #[test]
    fn a_file_split_in_two_imports_as_the_whole_file() {
        let d = tmp("split");
        let rows: Vec<String> = (0..60)
            .map(|i| {
                let ev = ["add", "add", "level", "execute", "trade"][i % 5];
                let more = u8::from(ev == "level" && i % 2 == 0);
                format!(
                    "{i},{},S{},{ev},buy,10.{:02},3,{},{more}\n",
                    i / 2 + 1,
                    i % 3,
                    i % 7,
                    i + 1
                )
            })
            .collect();
        let write = |name: &str, rows: &[String]| {
            let p = d.join(name);
            std::fs::write(&p, format!("{HEAD}{}", rows.concat())).unwrap();
            p
        };
        let whole = write("whole.csv", &rows);
        let (a, b) = (write("a.csv", &rows[..31]), write("b.csv", &rows[31..]));
        let opts = ImportOptions::default();
        let one = import_csv(&[whole], &d.join("one.tape"), TimeUnit::Nanos, &opts).unwrap();
        let two = import_csv(&[a, b], &d.join("two.tape"), TimeUnit::Nanos, &opts).unwrap();
        assert_eq!(one.header.instruments, two.header.instruments);
        assert_eq!((one.rows, one.events), (two.rows, two.events));
        assert_eq!(events(&d.join("one.tape")), events(&d.join("two.tape")));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn binance_depth_csv_updates_are_batches_chained_by_pu() {
        let d = tmp("depth");
        let head =
            "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu\n";
        let write = |name: &str, body: &str| {
            let p = d.join(name);
            std::fs::write(&p, format!("{head}{body}")).unwrap();
            p
        };
        let snap = write(
            "snap.csv",
            "BTCUSDT,1000,100,100,b,snap,20000.0,1.5,-1\nBTCUSDT,1000,100,100,a,snap,20000.1,2,-1\n",
        );
        // 95..99: covered by the snapshot; 98..103 straddles it; 104..110 chains (pu 103);
        // 120..125 does not (pu 115): a gap.
        let upd = write(
            "update.csv",
            "BTCUSDT,1001,95,99,b,set,19999.9,1,94\n\
             BTCUSDT,1001,98,103,b,set,20000.0,0,97\n\
             BTCUSDT,1001,98,103,a,set,20000.2,3,97\n\
             BTCUSDT,1002,104,110,a,set,20000.1,0,103\n\
             BTCUSDT,1003,120,125,b,set,19999.8,4.25,115\n",
        );
        let out = d.join("t.tape");
        let s =
            import_csv(&[snap, upd], &out, TimeUnit::Seconds, &ImportOptions::default()).unwrap();
        assert_eq!(s.rows, 7);
        assert_eq!(s.sequence_gaps, Some(1));
        let note = |k: &str| s.notes.iter().find(|n| n.0.starts_with(k)).map(|n| n.1);
        assert_eq!(note("Binance depth updates skipped"), Some(1));
        let ins = &s.header.instruments[0];
        assert_eq!((ins.symbol.as_str(), ins.venue.as_str()), ("BTCUSDT", "binance"));
        assert_eq!(
            (ins.tick_size, s.header.source.as_str()),
            (Price::parse("0.1").unwrap(), "Binance depth CSV snap.csv + update.csv")
        );
        let px = |t: &str| Price::parse(t).unwrap();
        let q = |t: &str| Qty::parse(t).unwrap();
        let got: Vec<(i64, MarketEvent, bool)> = events(&out)
            .iter()
            .map(|e| (e.local_ts.0 / 1_000_000, e.msg, e.flags & crate::FLAG_MORE != 0))
            .collect();
        let level = |side, p: &str, n: &str| MarketEvent::Level { side, px: px(p), qty: q(n) };
        assert_eq!(
            got,
            vec![
                (1000, MarketEvent::Clear, true),
                (1000, level(Side::Buy, "20000.0", "1.5"), true),
                (1000, level(Side::Sell, "20000.1", "2"), false),
                (1001, level(Side::Buy, "20000.0", "0"), true),
                (1001, level(Side::Sell, "20000.2", "3"), false),
                (1002, level(Side::Sell, "20000.1", "0"), false),
                (1003, level(Side::Buy, "19999.8", "4.25"), false),
            ]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn truefx_ticks_are_quotes_without_sizes() {
        let d = tmp("fx");
        let p = d.join("eurusd-ticks.csv");
        std::fs::write(
            &p,
            "timestamp,bid,ask\n2013-01-01 22:00:00.295000+00:00,1.32075,1.3212\n2013-01-01 22:00:01+00:00,1.3208,1.3212\n",
        )
        .unwrap();
        let out = d.join("t.tape");
        let s =
            import_csv(std::slice::from_ref(&p), &out, TimeUnit::Nanos, &ImportOptions::default())
                .unwrap();
        let ins = &s.header.instruments[0];
        assert_eq!(
            (ins.symbol.as_str(), ins.venue.as_str(), ins.tick_size),
            ("EURUSD", "TrueFX", Price::parse("0.00001").unwrap())
        );
        assert_eq!(s.sequence_gaps, None);
        let e = events(&out);
        assert_eq!(e[0].local_ts.0, 1_357_077_600_295_000_000);
        assert_eq!(e[0].exchange_ts, e[0].local_ts);
        assert_eq!(
            e[1].msg,
            MarketEvent::Quote {
                bid_px: Price::parse("1.3208").unwrap(),
                bid_qty: Qty::ZERO,
                ask_px: Price::parse("1.3212").unwrap(),
                ask_qty: Qty::ZERO
            }
        );
        std::fs::write(&p, "timestamp,bid,ask\n2013-01-01T22:00:00,1.3,x\n").unwrap();
        let err =
            import_csv(std::slice::from_ref(&p), &out, TimeUnit::Nanos, &ImportOptions::default())
                .unwrap_err()
                .to_string();
        assert!(err.contains("eurusd-ticks.csv:2: ask \"x\" is not a positive decimal"), "{err}");
        std::fs::write(&p, "timestamp,bid,ask\n01/01/2013 22:00,1.3,1.4\n").unwrap();
        let err = import_csv(&[p], &out, TimeUnit::Nanos, &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not an ISO 8601 UTC time"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn files_merge_by_local_time_batches_whole_and_the_first_given_first() {
        let d = tmp("merge");
        let write = |name: &str, body: &str| {
            let p = d.join(name);
            std::fs::write(&p, format!("{HEAD}{body}")).unwrap();
            p
        };
        // A batch of two rows at local 2 in the first file; the second file's rows at local 2
        // and 3 come after it, whole.
        let a = write(
            "a.csv",
            "1,1,A,trade,,1.5,1,,0\n2,2,A,level,buy,1.25,1,,1\n2,2,A,level,sell,1.75,1,,0\n",
        );
        let b = write("b.csv", "1,2,B,trade,,7,1,,0\n2,3,B,trade,,8,1,,0\n");
        let s = import_csv(&[a, b], &d.join("t.tape"), TimeUnit::Nanos, &ImportOptions::default())
            .unwrap();
        let symbols: Vec<&str> = s.header.instruments.iter().map(|i| i.symbol.as_str()).collect();
        assert_eq!(symbols, ["A", "B"]);
        assert_eq!(s.header.source, "generic CSV a.csv + b.csv");
        let order: Vec<(u16, i64, bool)> = events(&d.join("t.tape"))
            .iter()
            .map(|e| (e.instrument, e.local_ts.0, e.flags & crate::FLAG_MORE != 0))
            .collect();
        assert_eq!(
            order,
            [(0, 1, false), (0, 2, true), (0, 2, false), (1, 2, false), (1, 3, false)]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
