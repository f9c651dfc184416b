//! The three CSV shapes, told apart by their header: the generic format, Binance depth CSV and
//! TrueFX ticks; where each keeps its fields.

use crate::error::ImportError;
use crate::header::Header;
use crate::lines::Lines;
use std::path::Path;

/// Columns of a generic CSV file.
pub(crate) struct Cols {
    pub(crate) exchange_ts: usize,
    pub(crate) local_ts: usize,
    pub(crate) symbol: usize,
    pub(crate) event: usize,
    pub(crate) side: Option<usize>,
    pub(crate) price: Option<usize>,
    pub(crate) qty: Option<usize>,
    pub(crate) order_id: Option<usize>,
    pub(crate) ask_price: Option<usize>,
    pub(crate) ask_qty: Option<usize>,
    pub(crate) more: Option<usize>,
}

/// Columns of a Binance depth CSV.
pub(crate) struct DepthCols {
    pub(crate) symbol: usize,
    pub(crate) timestamp: usize,
    pub(crate) first_update_id: usize,
    pub(crate) last_update_id: usize,
    pub(crate) side: usize,
    pub(crate) update_type: usize,
    pub(crate) price: usize,
    pub(crate) qty: usize,
    pub(crate) pu: usize,
}

/// Columns of a TrueFX tick file, and the symbol its name gives.
pub(crate) struct FxCols {
    pub(crate) symbol: String,
    pub(crate) timestamp: usize,
    pub(crate) bid: usize,
    pub(crate) ask: usize,
}

/// What a file's header says it holds.
pub(crate) enum Dialect {
    Generic(Cols),
    BinanceDepth(DepthCols),
    TrueFx(FxCols),
}

impl Dialect {
    /// The venue of its instruments.
    pub(crate) fn venue(&self) -> &'static str {
        match self {
            Dialect::Generic(_) => "csv",
            Dialect::BinanceDepth(_) => "binance",
            Dialect::TrueFx(_) => "TrueFX",
        }
    }

    /// A data row's symbol and the texts of its prices.
    pub(crate) fn symbol_and_prices<'t>(
        &'t self,
        lines: &Lines,
        f: &[&'t str],
    ) -> Result<(&'t str, Vec<&'t str>), ImportError> {
        let at = |i: usize| f.get(i).copied();
        let pick = |cols: &[Option<usize>]| cols.iter().flatten().filter_map(|&i| at(i)).collect();
        let symbol = |i: usize| at(i).ok_or_else(|| lines.err("row lacks the symbol field"));
        Ok(match self {
            Dialect::Generic(c) => (symbol(c.symbol)?, pick(&[c.price, c.ask_price])),
            Dialect::BinanceDepth(c) => (symbol(c.symbol)?, pick(&[Some(c.price)])),
            Dialect::TrueFx(c) => (c.symbol.as_str(), pick(&[Some(c.bid), Some(c.ask)])),
        })
    }
}

/// Opens a CSV file and reads its header: which shape it is.
pub(crate) fn open(path: &Path) -> Result<(Lines, Dialect), ImportError> {
    let lines = Lines::open_with_header(path)?;
    let dialect = detect(path, lines.text())?;
    Ok((lines, dialect))
}

/// The shape a header names.
fn detect(path: &Path, header: &str) -> Result<Dialect, ImportError> {
    let h = Header::new(path, header);
    let need = |n: &str, what: &str, required: &str| {
        let lacks = |n: &str| {
            format!("{what} header lacks column `{n}` (required: {required}); found: {header}")
        };
        h.need(n, &lacks)
    };
    if h.col("update_type").is_some() && h.col("exchange_ts").is_none() {
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
    if h.len() == 3 && h.col("exchange_ts").is_none() && h.col("bid").is_some() {
        let n = |c: &str| need(c, "TrueFX", "timestamp, bid, ask");
        return Ok(Dialect::TrueFx(FxCols {
            symbol: fx_symbol(path),
            timestamp: n("timestamp")?,
            bid: n("bid")?,
            ask: n("ask")?,
        }));
    }
    let n = |c: &str| need(c, "generic CSV", "exchange_ts, local_ts, symbol, event");
    Ok(Dialect::Generic(Cols {
        exchange_ts: n("exchange_ts")?,
        local_ts: n("local_ts")?,
        symbol: n("symbol")?,
        event: n("event")?,
        side: h.col("side"),
        price: h.col("price"),
        qty: h.col("qty"),
        order_id: h.col("order_id"),
        ask_price: h.col("ask_price"),
        ask_qty: h.col("ask_qty"),
        more: h.col("more"),
    }))
}

/// The symbol a TrueFX file name starts with, upper case (`usdjpy-ticks.csv` → `USDJPY`).
fn fx_symbol(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split(['-', '_', '.']).next())
        .filter(|s| !s.is_empty())
        .map_or_else(|| "FX".to_owned(), str::to_ascii_uppercase)
}
