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

/// One input file in the merge: its reader and columns, and the batch it has read ahead.
struct Source {
    lines: Lines,
    cols: Cols,
    rows: u64,
    /// The next batch (rows up to one with `more` unset), ready to write; empty at the end.
    batch: Vec<TapeEvent>,
}

impl Source {
    /// Reads the next batch into `batch` (empty at the end of the file).
    fn advance(&mut self, syms: &[(String, u32)], unit: TimeUnit) -> Result<(), ImportError> {
        self.batch.clear();
        while self.lines.next_line()? {
            let text = self.lines.text();
            if text.trim().is_empty() {
                continue;
            }
            self.rows += 1;
            let (event, more) = parse_row(&self.lines, text, &self.cols, syms, unit)?;
            self.batch.push(event);
            if !more {
                break;
            }
        }
        Ok(())
    }

    /// Local time of the next batch (`None` at the end).
    fn at(&self) -> Option<i64> {
        self.batch.first().map(|e| e.local_ts.0)
    }
}

/// Parses a data row: its event, and whether it joins the next row's batch (`more`).
fn parse_row(
    l: &Lines,
    text: &str,
    cols: &Cols,
    syms: &[(String, u32)],
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

/// Imports generic CSV files (plain or gzip) into one tape; see the module documentation for
/// the columns. Several files are merged by local time (of each batch's first row), the file
/// given first going first on equal times; within a file, file order is kept. Each distinct
/// symbol is one instrument, in order of first appearance (the files read in the order given).
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
    // First pass: symbols in order of appearance and their finest price decimals.
    let mut syms: Vec<(String, u32)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for file in files {
        let (mut lines, cols) = open(file)?;
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
    }
    if syms.is_empty() {
        return Err(ImportError::Format { file: first.clone(), reason: "no data rows".into() });
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
    let source = super::source_name("generic CSV", files);
    let mut sink = Sink::create(out, TapeHeader::new(source, instruments), opts)?;
    let mut srcs = Vec::with_capacity(files.len());
    for file in files {
        let (lines, cols) = open(file)?;
        let mut s = Source { lines, cols, rows: 0, batch: Vec::new() };
        s.advance(&syms, unit)?;
        srcs.push(s);
    }
    while let Some(k) = super::earliest(srcs.iter().map(Source::at)) {
        let s = &mut srcs[k];
        sink.batch(&mut s.batch, &s.lines)?;
        s.advance(&syms, unit)?;
    }
    let rows = srcs.iter().map(|s| s.rows).sum();
    let mut summary = sink.finish(rows, Vec::new())?;
    summary.ticks = super::decimal_ticks(&summary.header);
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
