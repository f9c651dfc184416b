//! Tardis.dev normalized CSV: `trades`, `quote`, `incremental_book_L2` and
//! `book_snapshot_N` files, recognised by their header row. Timestamps are microseconds since
//! the Unix epoch (`timestamp`: exchange, `local_timestamp`: receive). Several files are
//! merged by local time; for equal times the file given first goes first, and within a file
//! file order is kept.
//!
//! The files: [`record`] reads headers and rows, [`load`] is the first pass (instruments,
//! decimals) and [`stream`] the second.

mod load;
mod record;
mod stream;

use crate::error::ImportError;
use crate::importer::{Importer, Streamed, run};
use crate::instruments::Listing;
use crate::options::ImportOptions;
use crate::sink::Sink;
use crate::summary::ImportSummary;
use lockstep_sim::InstrumentInfo;
use std::path::{Path, PathBuf};

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
    run(&mut Tardis { files }, out, opts)
}

/// Tardis.dev normalized CSV files.
struct Tardis<'a> {
    files: &'a [PathBuf],
}

impl Importer for Tardis<'_> {
    type Scan = Listing;

    fn files(&self) -> &[PathBuf] {
        self.files
    }

    fn scan(&mut self) -> Result<Listing, ImportError> {
        load::scan(self.files)
    }

    fn nothing_found(&self, scan: &Listing) -> Option<&'static str> {
        scan.is_empty().then_some("no data rows")
    }

    fn describe(&self, _: &Listing) -> &'static str {
        "Tardis"
    }

    fn instruments(&self, scan: &Listing) -> Vec<InstrumentInfo> {
        scan.infos()
    }

    fn stream(&mut self, scan: Listing, sink: &mut Sink) -> Result<Streamed, ImportError> {
        stream::stream(&scan, self.files, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{scratch_dir, tape_events};
    use lockstep_sdk::{Price, Qty};
    use lockstep_sim::MarketEvent;

    const TRADES: &str = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";
    const QUOTES: &str =
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n";
    const L2: &str = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n";
    const SNAP: &str = "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,asks[1].price,asks[1].amount,bids[1].price,bids[1].amount\n";

    /// Imports `text` (a header and rows); a refused import leaves no tape.
    fn import(text: &str) -> Result<Vec<MarketEvent>, ImportError> {
        let d = scratch_dir("tardis", "rows");
        let (f, out) = (d.join("t.csv"), d.join("t.tape"));
        std::fs::write(&f, text).unwrap();
        let r = import_tardis(std::slice::from_ref(&f), &out, &ImportOptions::default());
        assert_eq!(out.exists(), r.is_ok());
        let r = r.map(|_| tape_events(&out).iter().map(|e| e.msg).collect());
        std::fs::remove_dir_all(&d).unwrap();
        r
    }

    /// An empty price was a trade at 0; prices and amounts that cannot be are refused at their
    /// line and column. Empty quote sides and snapshot levels (no bid, fewer levels) stay.
    #[test]
    fn impossible_prices_and_amounts_are_refused_at_their_line_and_column() {
        for (text, want) in [
            (
                format!("{TRADES}x,A,1,2,3,buy,1.5,2\nx,A,1,2,4,buy,,2\n"),
                "column 7 (price) is empty; a trade needs it",
            ),
            (
                format!("{TRADES}x,A,1,2,3,buy,1.5,2\nx,A,1,2,4,buy,0,2\n"),
                "column 7 (price): \"0\" is not a decimal above 0 with at most 8 places",
            ),
            (
                format!("{TRADES}x,A,1,2,3,buy,1.5,2\nx,A,1,2,4,buy,-1.5,2\n"),
                "column 7 (price): \"-1.5\" is not a decimal above 0",
            ),
            (
                format!("{TRADES}x,A,1,2,3,buy,1.5,2\nx,A,1,2,4,buy,1.5,\n"),
                "column 8 (amount) is empty; a trade needs it",
            ),
            (
                format!("{TRADES}x,A,1,2,3,buy,1.5,2\nx,A,1,2,4,buy,1.5,0\n"),
                "column 8 (amount): \"0\" is not a decimal above 0",
            ),
            (
                format!("{QUOTES}x,A,1,2,1,10,9,1\nx,A,1,2,1,,9,1\n"),
                "column 6 (ask_price) is empty but column 5 (ask_amount) is not; give both or neither",
            ),
            (
                format!("{QUOTES}x,A,1,2,1,10,9,1\nx,A,1,2,1,10,0,1\n"),
                "column 7 (bid_price): \"0\" is not a decimal above 0",
            ),
            (
                format!("{QUOTES}x,A,1,2,1,10,9,1\nx,A,1,2,1,10,9,-1\n"),
                "column 8 (bid_amount): \"-1\" is not a decimal of 0 or more",
            ),
            (
                format!("{L2}x,A,1,2,false,bid,1.5,2\nx,A,1,2,false,bid,,2\n"),
                "column 7 (price) is empty; a book update needs it",
            ),
            (
                format!("{L2}x,A,1,2,false,bid,1.5,2\nx,A,1,2,false,bid,1.5,-2\n"),
                "column 8 (amount): \"-2\" is not a decimal of 0 or more",
            ),
            (
                format!("{SNAP}x,A,1,2,10,1,9,1,11,1,8,1\nx,A,1,2,10,1,9,1,11,0,8,1\n"),
                "column 10 (asks[1].amount): \"0\" is not a decimal above 0",
            ),
            (
                format!("{SNAP}x,A,1,2,10,1,9,1,11,1,8,1\nx,A,1,2,10,1,9,1,11,1,,1\n"),
                "column 11 (bids[1].price) is empty but column 12 (bids[1].amount) is not",
            ),
        ] {
            let e = import(&text).unwrap_err();
            assert!(matches!(e, ImportError::Row { line: 3, .. }), "{e}");
            assert!(e.to_string().contains(&format!("t.csv:3: {want}")), "{text}: {e}");
        }
        let px = |p: &str| Price::parse(p).unwrap();
        let q = |p: &str| Qty::parse(p).unwrap();
        let quotes = import(&format!("{QUOTES}x,A,1,2,,,9,1\nx,A,1,2,1,10,9,0\n")).unwrap();
        assert_eq!(
            quotes,
            [
                MarketEvent::Quote {
                    bid_px: px("9"),
                    bid_qty: q("1"),
                    ask_px: Price::ZERO,
                    ask_qty: Qty::ZERO
                },
                MarketEvent::Quote {
                    bid_px: px("9"),
                    bid_qty: q("0"),
                    ask_px: px("10"),
                    ask_qty: q("1")
                },
            ]
        );
        let l2 = import(&format!("{L2}x,A,1,2,false,bid,1.5,0\n")).unwrap();
        assert_eq!(
            l2,
            [MarketEvent::Level { side: lockstep_sdk::Side::Buy, px: px("1.5"), qty: Qty::ZERO }]
        );
        let snap = import(&format!("{SNAP}x,A,1,2,10,1,9,1,,,,\n")).unwrap();
        assert_eq!(snap.len(), 3, "{snap:?}");
    }
}
