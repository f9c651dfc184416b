//! Tardis.dev normalized CSV: `trades`, `quote`, `incremental_book_L2` and
//! `book_snapshot_N` files, recognised by their header row. Timestamps are microseconds since
//! the Unix epoch (`timestamp`: exchange, `local_timestamp`: receive). Several files are
//! merged by local time; for equal times the file given first goes first, and within a file
//! file order is kept.

use super::room_for_instrument;
use super::{
    ImportError, ImportOptions, ImportSummary, Lines, Sink, decimals, parse_int_ns, quoted,
    tick_for,
};
use crate::tape::{InstrumentInfo, MarketEvent, TapeEvent, TapeHeader};
use lockstep_sdk::{Nanos, Price, Qty, Side};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Trades,
    Quotes,
    IncrementalL2,
    Snapshot,
}

#[derive(Clone, Debug, Default)]
struct Cols {
    exchange: usize,
    symbol: usize,
    ts: usize,
    local_ts: usize,
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
}

fn detect(path: &Path, header: &str) -> Result<(Kind, Cols), ImportError> {
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let col = |n: &str| names.iter().position(|c| *c == n);
    let need = |n: &str| {
        col(n).ok_or_else(|| ImportError::Format {
            file: path.to_path_buf(),
            reason: format!("not a Tardis CSV file: the header lacks column `{n}`: {header}"),
        })
    };
    let mut c = Cols {
        exchange: need("exchange")?,
        symbol: need("symbol")?,
        ts: need("timestamp")?,
        local_ts: need("local_timestamp")?,
        ..Cols::default()
    };
    let kind = if col("is_snapshot").is_some() {
        c.is_snapshot = need("is_snapshot")?;
        c.side = need("side")?;
        c.price = need("price")?;
        c.amount = need("amount")?;
        Kind::IncrementalL2
    } else if col("asks[0].price").is_some() {
        let mut i = 0;
        while let Some(ap) = col(&format!("asks[{i}].price")) {
            c.levels.push([
                ap,
                need(&format!("asks[{i}].amount"))?,
                need(&format!("bids[{i}].price"))?,
                need(&format!("bids[{i}].amount"))?,
            ]);
            i += 1;
        }
        Kind::Snapshot
    } else if col("ask_price").is_some() {
        c.ask_amount = need("ask_amount")?;
        c.ask_price = need("ask_price")?;
        c.bid_price = need("bid_price")?;
        c.bid_amount = need("bid_amount")?;
        Kind::Quotes
    } else if col("id").is_some() {
        c.side = need("side")?;
        c.price = need("price")?;
        c.amount = need("amount")?;
        Kind::Trades
    } else {
        return Err(ImportError::Format {
            file: path.to_path_buf(),
            reason: format!(
                "not a Tardis trades, quote, incremental_book_L2 or book_snapshot file: header is {header}"
            ),
        });
    };
    Ok((kind, c))
}

fn price_cols(kind: Kind, c: &Cols) -> Vec<usize> {
    match kind {
        Kind::Trades | Kind::IncrementalL2 => vec![c.price],
        Kind::Quotes => vec![c.ask_price, c.bid_price],
        Kind::Snapshot => c.levels.iter().flat_map(|l| [l[0], l[2]]).collect(),
    }
}

struct FileSource {
    lines: Lines,
    kind: Kind,
    cols: Cols,
    fields: Vec<(usize, usize)>,
    /// Row already read that starts the next batch.
    peeked: Option<Row>,
    prev_snapshot_key: Option<(i64, i64)>,
    rows: u64,
}

#[derive(Clone, Copy, Debug)]
struct Row {
    key: (i64, i64),
    instrument: u16,
    snapshot: bool,
    msg: MarketEvent,
}

fn px(lines: &Lines, t: &str) -> Result<Price, ImportError> {
    if t.is_empty() {
        return Ok(Price::ZERO);
    }
    Price::parse(t).ok_or_else(|| {
        lines.err(format!("price {} is not a decimal with at most 8 places", quoted(t)))
    })
}

fn qty(lines: &Lines, t: &str) -> Result<Qty, ImportError> {
    if t.is_empty() {
        return Ok(Qty::ZERO);
    }
    Qty::parse(t).ok_or_else(|| {
        lines.err(format!("amount {} is not a decimal with at most 8 places", quoted(t)))
    })
}

fn split_fields(text: &str, out: &mut Vec<(usize, usize)>) {
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

impl FileSource {
    fn open(path: &Path) -> Result<Self, ImportError> {
        let mut lines = Lines::open(path)?;
        if !lines.next_line()? {
            return Err(ImportError::Format {
                file: path.to_path_buf(),
                reason: "file is empty".into(),
            });
        }
        let header = lines.text().to_owned();
        let (kind, cols) = detect(path, &header)?;
        Ok(Self {
            lines,
            kind,
            cols,
            fields: Vec::new(),
            peeked: None,
            prev_snapshot_key: None,
            rows: 0,
        })
    }

    /// Reads the next data row: `Ok(None)` at the end. Snapshot rows expand to several events.
    fn read_row(
        &mut self,
        instruments: &[(String, String)],
        out: &mut Vec<TapeEvent>,
    ) -> Result<Option<Row>, ImportError> {
        if !self.lines.next_line()? {
            return Ok(None);
        }
        self.rows += 1;
        split_fields(self.lines.text(), &mut self.fields);
        let l = &self.lines;
        let text = l.text();
        let f = |i: usize| -> Result<&str, ImportError> {
            let (a, b) = *self.fields.get(i).ok_or_else(|| {
                l.err(format!("row has {} fields; the header promised more", self.fields.len()))
            })?;
            Ok(text[a..b].trim())
        };
        let c = &self.cols;
        let ts = f(c.ts)?;
        let ts = parse_int_ns(ts, 1000).ok_or_else(|| {
            l.err(format!("timestamp {} is not integer microseconds", quoted(ts)))
        })?;
        let lts = f(c.local_ts)?;
        let lts = parse_int_ns(lts, 1000).ok_or_else(|| {
            l.err(format!("local_timestamp {} is not integer microseconds", quoted(lts)))
        })?;
        let (ex, sym) = (f(c.exchange)?, f(c.symbol)?);
        let instrument = instruments
            .iter()
            .position(|(e, s)| e == ex && s == sym)
            .ok_or_else(|| l.err(format!("symbol {ex}:{sym} was not seen in the first pass")))?
            as u16;
        let side_of = |t: &str| match t {
            "buy" | "bid" => Ok(Some(Side::Buy)),
            "sell" | "ask" => Ok(Some(Side::Sell)),
            "unknown" | "" => Ok(None),
            other => Err(l.err(format!("side {} is not buy/sell/bid/ask/unknown", quoted(other)))),
        };
        let key = (lts, ts);
        let row = |msg, snapshot| Row { key, instrument, snapshot, msg };
        Ok(Some(match self.kind {
            Kind::Trades => {
                let q = qty(l, f(c.amount)?)?;
                if q.0 <= 0 {
                    return Err(l.err("trade amount is not positive"));
                }
                row(
                    MarketEvent::Trade {
                        px: px(l, f(c.price)?)?,
                        qty: q,
                        aggressor: side_of(f(c.side)?)?,
                    },
                    false,
                )
            }
            Kind::Quotes => row(
                MarketEvent::Quote {
                    bid_px: px(l, f(c.bid_price)?)?,
                    bid_qty: qty(l, f(c.bid_amount)?)?,
                    ask_px: px(l, f(c.ask_price)?)?,
                    ask_qty: qty(l, f(c.ask_amount)?)?,
                },
                false,
            ),
            Kind::IncrementalL2 => {
                let snapshot = match f(c.is_snapshot)? {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(
                            l.err(format!("is_snapshot {} is not true/false", quoted(other)))
                        );
                    }
                };
                let side = side_of(f(c.side)?)?.ok_or_else(|| l.err("book row without a side"))?;
                let q = qty(l, f(c.amount)?)?;
                if q.0 < 0 {
                    return Err(l.err("negative amount"));
                }
                row(MarketEvent::Level { side, px: px(l, f(c.price)?)?, qty: q }, snapshot)
            }
            Kind::Snapshot => {
                out.push(TapeEvent::new(Nanos(ts), Nanos(lts), instrument, MarketEvent::Clear));
                let mut last = None;
                for lv in &c.levels {
                    for (pi, qi, side) in [(lv[2], lv[3], Side::Buy), (lv[0], lv[1], Side::Sell)] {
                        let (p, q) = (f(pi)?, f(qi)?);
                        if p.is_empty() || q.is_empty() {
                            continue;
                        }
                        let m = MarketEvent::Level { side, px: px(l, p)?, qty: qty(l, q)? };
                        if let Some(prev) = last.replace(m) {
                            out.push(TapeEvent::new(Nanos(ts), Nanos(lts), instrument, prev));
                        }
                    }
                }
                row(last.unwrap_or(MarketEvent::Clear), false)
            }
        }))
    }

    /// Fills `out` with the next batch: one row, or for incremental L2 the rows of one message
    /// (same timestamps), preceded by a clear when a snapshot starts.
    fn next_batch(
        &mut self,
        instruments: &[(String, String)],
        out: &mut Vec<TapeEvent>,
    ) -> Result<bool, ImportError> {
        out.clear();
        let first = match self.peeked.take() {
            Some(r) => r,
            None => match self.read_row(instruments, out)? {
                Some(r) => r,
                None => return Ok(false),
            },
        };
        let push = |out: &mut Vec<TapeEvent>, r: &Row| {
            out.push(TapeEvent::new(Nanos(r.key.1), Nanos(r.key.0), r.instrument, r.msg));
        };
        if self.kind != Kind::IncrementalL2 {
            push(out, &first);
            return Ok(true);
        }
        if first.snapshot && self.prev_snapshot_key != Some(first.key) {
            out.push(TapeEvent::new(
                Nanos(first.key.1),
                Nanos(first.key.0),
                first.instrument,
                MarketEvent::Clear,
            ));
        }
        self.prev_snapshot_key = first.snapshot.then_some(first.key);
        push(out, &first);
        let mut scratch = Vec::new();
        while let Some(r) = self.read_row(instruments, &mut scratch)? {
            if r.key == first.key
                && r.snapshot == first.snapshot
                && r.instrument == first.instrument
            {
                push(out, &r);
            } else {
                self.peeked = Some(r);
                break;
            }
        }
        Ok(true)
    }
}

/// First pass: instruments (in order of first appearance) and the finest price decimals.
fn scan(paths: &[PathBuf]) -> Result<Vec<(String, String, u32)>, ImportError> {
    let mut found: Vec<(String, String, u32)> = Vec::new();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut fields = Vec::new();
    for p in paths {
        let mut lines = Lines::open(p)?;
        if !lines.next_line()? {
            return Err(ImportError::Format { file: p.clone(), reason: "file is empty".into() });
        }
        let header = lines.text().to_owned();
        let (kind, cols) = detect(p, &header)?;
        let pcols = price_cols(kind, &cols);
        while lines.next_line()? {
            let text = lines.text();
            split_fields(text, &mut fields);
            let get = |i: usize| fields.get(i).map(|&(a, b)| text[a..b].trim());
            let (Some(ex), Some(sym)) = (get(cols.exchange), get(cols.symbol)) else {
                return Err(lines.err("row lacks the exchange or symbol field"));
            };
            let d = pcols.iter().filter_map(|&i| get(i)).map(decimals).max().unwrap_or(0);
            match index.get(&(ex.to_owned(), sym.to_owned())) {
                Some(&i) => found[i].2 = found[i].2.max(d),
                None => {
                    room_for_instrument(&lines, found.len())?;
                    index.insert((ex.to_owned(), sym.to_owned()), found.len());
                    found.push((ex.to_owned(), sym.to_owned(), d));
                }
            }
        }
    }
    Ok(found)
}

/// Imports one or more Tardis CSV files (plain or gzip) into one tape, merged by local time.
///
/// Each distinct `exchange:symbol` becomes an instrument, in order of first appearance. The
/// tick size is inferred as the finest price increment present in the data.
///
/// # Errors
/// [`ImportError`] naming the file and line of the first malformed row, or an unknown header.
pub fn import_tardis(
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
        return Err(ImportError::Format { file: first.clone(), reason: "no data rows".into() });
    }
    let instruments: Vec<InstrumentInfo> = found
        .iter()
        .enumerate()
        .map(|(i, (ex, sym, d))| InstrumentInfo {
            id: i as u16,
            symbol: sym.clone(),
            venue: ex.clone(),
            tick_size: tick_for(*d),
            price_scale: *d,
        })
        .collect();
    let names: Vec<(String, String)> = found.into_iter().map(|(e, s, _)| (e, s)).collect();
    let source = super::source_name("Tardis", files);
    let mut sink = Sink::create(out, TapeHeader::new(source, instruments), opts)?;
    let mut srcs = files.iter().map(|p| FileSource::open(p)).collect::<Result<Vec<_>, _>>()?;
    let mut heads: Vec<Vec<TapeEvent>> = vec![Vec::new(); srcs.len()];
    let mut live: Vec<bool> = vec![false; srcs.len()];
    for (i, s) in srcs.iter_mut().enumerate() {
        live[i] = s.next_batch(&names, &mut heads[i])?;
    }
    loop {
        let next =
            super::earliest((0..srcs.len()).map(|i| live[i].then(|| heads[i][0].local_ts.0)));
        let Some(i) = next else { break };
        sink.batch(&mut heads[i], &srcs[i].lines)?;
        live[i] = srcs[i].next_batch(&names, &mut heads[i])?;
    }
    let rows = srcs.iter().map(|s| s.rows).sum();
    let mut summary = sink.finish(rows, Vec::new())?;
    summary.ticks = super::decimal_ticks(&summary.header);
    Ok(summary)
}
