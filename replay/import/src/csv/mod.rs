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
//! Prices and quantities are above 0, except a `level`'s qty (0 removes the level), a
//! `delete`'s qty (0: the order goes whatever its size) and a `quote`'s sides (price and qty
//! 0: the side is absent; a price with qty 0: no size known).
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
//!
//! The files: [`dialect`] tells the shapes apart by their header, [`record`] reads their rows,
//! [`load`] is the first pass (instruments, decimals) and [`stream`] the second.

mod dialect;
mod load;
mod record;
mod stream;

pub use record::TimeUnit;

use crate::error::ImportError;
use crate::importer::{Importer, Streamed, run};
use crate::options::ImportOptions;
use crate::sink::Sink;
use crate::summary::ImportSummary;
use lockstep_sim::InstrumentInfo;
use std::path::{Path, PathBuf};

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
    run(&mut Csv { files, unit }, out, opts)
}

/// CSV files of the three shapes.
struct Csv<'a> {
    files: &'a [PathBuf],
    /// The unit of the generic format's times.
    unit: TimeUnit,
}

impl Importer for Csv<'_> {
    type Scan = load::Scan;

    fn files(&self) -> &[PathBuf] {
        self.files
    }

    fn scan(&mut self) -> Result<load::Scan, ImportError> {
        load::scan(self.files)
    }

    fn nothing_found(&self, scan: &load::Scan) -> Option<&'static str> {
        scan.listing.is_empty().then_some("no data rows")
    }

    fn describe(&self, scan: &load::Scan) -> &'static str {
        scan.describe()
    }

    fn instruments(&self, scan: &load::Scan) -> Vec<InstrumentInfo> {
        scan.listing.infos()
    }

    fn stream(&mut self, scan: load::Scan, sink: &mut Sink) -> Result<Streamed, ImportError> {
        let cx = stream::Context { listing: scan.listing, unit: self.unit };
        stream::stream(&cx, self.files, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{scratch_dir, tape_events};
    use lockstep_sdk::{Price, Qty, Side};
    use lockstep_sim::{FLAG_MORE, MarketEvent};

    const HEAD: &str = "exchange_ts,local_ts,symbol,event,side,price,qty,order_id,more\n";

    #[test]
    fn a_file_split_in_two_imports_as_the_whole_file() {
        let d = scratch_dir("csv", "split");
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
        assert_eq!(tape_events(&d.join("one.tape")), tape_events(&d.join("two.tape")));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn binance_depth_csv_updates_are_batches_chained_by_pu() {
        let d = scratch_dir("csv", "depth");
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
        let got: Vec<(i64, MarketEvent, bool)> = tape_events(&out)
            .iter()
            .map(|e| (e.local_ts.0 / 1_000_000, e.msg, e.flags & FLAG_MORE != 0))
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
        let d = scratch_dir("csv", "fx");
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
        let e = tape_events(&out);
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

    /// Rows whose quantity or price cannot be (an add of 0, a trade at price 0, a quote side
    /// with a size but no price) were imported; they are refused at their line and no tape is
    /// left. What the format allows stays allowed.
    #[test]
    fn impossible_quantities_and_prices_are_refused_at_their_line() {
        let d = scratch_dir("csv", "zero");
        let (p, out) = (d.join("rows.csv"), d.join("t.tape"));
        let import = |row: &str| {
            std::fs::write(&p, format!("{HEAD}1,1,S,add,buy,10.5,2,1,0\n{row}\n")).unwrap();
            let r = import_csv(
                std::slice::from_ref(&p),
                &out,
                TimeUnit::Nanos,
                &ImportOptions::default(),
            );
            assert_eq!(out.exists(), r.is_ok());
            r
        };
        for (row, want) in [
            (
                "2,2,S,add,buy,10.5,0,2,0",
                "qty 0: an add needs a qty above 0 (0 is only a level's or a delete's qty, or a quote's absent side)",
            ),
            ("2,2,S,cancel,buy,10.5,0,1,0", "qty 0: a cancel needs a qty above 0"),
            ("2,2,S,execute,buy,10.5,0,1,0", "qty 0: an execute needs a qty above 0"),
            ("2,2,S,hidden,buy,10.5,0,,0", "qty 0: a hidden needs a qty above 0"),
            ("2,2,S,trade,,10.5,0,,0", "qty 0: a trade needs a qty above 0"),
            ("2,2,S,trade,,0,1,,0", "price 0: a trade needs a price above 0"),
            ("2,2,S,level,buy,0,1,,0", "price 0: a level needs a price above 0"),
            ("2,2,S,delete,buy,0.0,1,1,0", "price 0: a delete needs a price above 0"),
            // Below 0 and empty: refused as before.
            ("2,2,S,add,buy,10.5,-3,2,0", "the event has a negative price or size"),
            ("2,2,S,level,buy,10.5,-1,,0", "the event has a negative price or size"),
            ("2,2,S,trade,,,1,,0", "price \"\" is not a decimal"),
        ] {
            let e = import(row).unwrap_err().to_string();
            assert!(e.contains(&format!("rows.csv:3: {want}")), "{row}: {e}");
        }
        let head = "exchange_ts,local_ts,symbol,event,price,qty,ask_price,ask_qty";
        std::fs::write(&p, format!("{head}\n1,1,S,quote,0,5,10.5,1\n")).unwrap();
        let e =
            import_csv(std::slice::from_ref(&p), &out, TimeUnit::Nanos, &ImportOptions::default())
                .unwrap_err()
                .to_string();
        assert!(
            e.contains(
                "rows.csv:2: qty 5 without a price (a quote's absent side has price 0 and qty 0)"
            ),
            "{e}"
        );
        // Allowed: a level of 0 (removes it), a delete of 0, a quote with an absent side.
        for row in ["2,2,S,level,buy,10.5,0,,0", "2,2,S,delete,buy,10.5,0,1,0"] {
            assert!(import(row).is_ok(), "{row}");
        }
        std::fs::write(&p, format!("{head}\n1,1,S,quote,0,0,10.5,1\n2,2,S,quote,10,0,10.5,0\n"))
            .unwrap();
        assert!(import_csv(&[p], &out, TimeUnit::Nanos, &ImportOptions::default()).is_ok());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn files_merge_by_local_time_batches_whole_and_the_first_given_first() {
        let d = scratch_dir("csv", "merge");
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
        let order: Vec<(u16, i64, bool)> = tape_events(&d.join("t.tape"))
            .iter()
            .map(|e| (e.instrument, e.local_ts.0, e.flags & FLAG_MORE != 0))
            .collect();
        assert_eq!(
            order,
            [(0, 1, false), (0, 2, true), (0, 2, false), (1, 2, false), (1, 3, false)]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
