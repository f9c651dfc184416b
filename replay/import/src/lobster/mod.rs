//! LOBSTER message and orderbook files (NASDAQ TotalView-ITCH rebuilt by LOBSTER).
//!
//! Message rows are `time,type,order_id,size,price,direction`: time in decimal seconds after
//! midnight, price in dollars × 10000, direction 1 (buy order) or -1 (sell order). Orderbook
//! rows hold `ask_px,ask_size,bid_px,bid_size` for each level, after the message of the same
//! row.
//!
//! A level-`k` message file only lists events that touched the top `k` levels, so a book built
//! from messages alone drifts: an order cancelled while it sat deeper is never removed, and a
//! level that moves up from beyond the depth is unknown. With the orderbook file the importer
//! therefore *reconciles*: it seeds the opening book from the first row (orders placed before
//! 09:30 are unknown by id, so their quantity becomes unattributed level quantity), and after
//! every message whose result differs from the file it appends absolute level updates that
//! make the book equal LOBSTER's (in the same batch, so strategies see LOBSTER's book).
//! `replay book-check` reports how often that is needed and why.
//!
//! The files: [`record`] parses the rows, [`load`] is the first pass (which inputs are one
//! instrument, their ticks), [`reconcile`] keeps the book equal to the orderbook file,
//! [`stream`] is the second pass, and [`check`] compares a book with the orderbook file.

mod check;
mod load;
mod reconcile;
mod record;
mod stream;

pub use check::{BookCheckReport, MismatchClass, book_check};
pub use load::LobsterInput;

use crate::error::ImportError;
use crate::importer::{Importer, Streamed, run, source_name};
use crate::options::ImportOptions;
use crate::sink::Sink;
use crate::summary::ImportSummary;
use crate::tick::TickChoice;
use lockstep_sim::InstrumentInfo;
use std::path::{Path, PathBuf};

/// Imports LOBSTER message files (each with its orderbook file, if given, to seed the opening
/// book and keep the book equal to LOBSTER's) into one tape.
///
/// Timestamps are nanoseconds after midnight of the files' trading day; exchange and local
/// time are the same (LOBSTER records one time). Prices keep their exact value (× 10^4 on the
/// file, × 10^8 on the tape); sizes are shares. Several inputs are merged by time, the input
/// given first going first on equal times; each distinct symbol is one instrument, in order of
/// first appearance. Files whose names give different trading days are refused (their times
/// would interleave), as is an orderbook file whose LOBSTER name is not its message file's.
///
/// **Tick size.** The input's tick when given, else the greatest common divisor of the
/// instrument's limit prices: those of the orders the book holds, i.e. submissions,
/// cancellations, deletions and visible executions (types 1-4) and the orderbook files'
/// levels. Hidden executions (type 5) and cross trades (type 6) are left out: NASDAQ fills
/// hidden midpoint orders at half a cent (GOOG 2012-06-21 has 50 such fills), which is no price
/// an order can rest at. Message prices off the tick are counted in a note. An inferred tick is
/// never finer than LOBSTER's price unit ($0.0001), and every limit price is a whole number of
/// ticks. The summary's `ticks` says how each was chosen.
///
/// # Errors
/// [`ImportError`] naming the file and line of the first malformed row, or an I/O error.
pub fn import_lobster(
    inputs: &[LobsterInput],
    out: &Path,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let messages = inputs.iter().map(|i| i.message.clone()).collect();
    run(&mut Lobster { inputs, messages }, out, opts)
}

/// The LOBSTER format: its files are the inputs' message files.
struct Lobster<'a> {
    inputs: &'a [LobsterInput],
    messages: Vec<PathBuf>,
}

impl Importer for Lobster<'_> {
    type Scan = load::Scan;

    const NO_FILES: &'static str = "no message files given";

    fn files(&self) -> &[PathBuf] {
        &self.messages
    }

    fn scan(&mut self) -> Result<load::Scan, ImportError> {
        load::scan(self.inputs)
    }

    fn nothing_found(&self, _: &load::Scan) -> Option<&'static str> {
        // Every message file is an instrument's; an empty one is refused in the second pass.
        None
    }

    fn describe(&self, _: &load::Scan) -> &'static str {
        "LOBSTER"
    }

    fn local_midnight(&self, scan: &load::Scan) -> Option<String> {
        scan.day.clone()
    }

    fn source(&self, scan: &load::Scan) -> String {
        let source = source_name(self.describe(scan), &self.messages);
        let orderbooks: Vec<PathBuf> =
            self.inputs.iter().filter_map(|i| i.orderbook.clone()).collect();
        if orderbooks.is_empty() {
            return source;
        }
        format!("{source} {}", source_name("seeded from", &orderbooks))
    }

    fn instruments(&self, scan: &load::Scan) -> Vec<InstrumentInfo> {
        load::instruments(scan)
    }

    fn ticks(&self, scan: &load::Scan, _: &[InstrumentInfo]) -> Vec<TickChoice> {
        scan.ticks.clone()
    }

    fn stream(&mut self, scan: load::Scan, sink: &mut Sink) -> Result<Streamed, ImportError> {
        stream::stream(self.inputs, scan, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{scratch_dir, tape_events};
    use crate::tick::TickSource;
    use lockstep_sdk::Price;

    /// Imports `rows` (a message file) with `tick` given or not; returns the summary.
    fn import_rows(name: &str, rows: &str, tick: Option<Price>) -> ImportSummary {
        let dir = scratch_dir("lobster", name);
        let msg = dir.join("XYZ_2024-01-02_34200000_57600000_message_1.csv");
        std::fs::write(&msg, rows).unwrap();
        let input = LobsterInput { tick, ..LobsterInput::new(&msg) };
        let s = import_lobster(&[input], &dir.join("t.tape"), &ImportOptions::default()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        s
    }

    #[test]
    fn the_tick_is_inferred_from_the_limit_prices_or_given() {
        let tick = |s: &ImportSummary| (s.header.instruments[0].tick_size, s.ticks[0].source);
        let off = |s: &ImportSummary| {
            s.notes.iter().find(|n| n.0.starts_with("message prices off the tick")).map(|n| n.1)
        };
        // Every limit price a multiple of $0.05 ($10.00, $10.05, $10.25): 0.05.
        let rows = "34200.1,1,1,100,100000,1\n\
                    34200.2,1,2,100,100500,-1\n\
                    34200.3,4,2,50,100500,-1\n\
                    34200.4,1,3,100,102500,-1\n\
                    34200.5,3,1,100,100000,1\n";
        let s = import_rows("005", rows, None);
        assert_eq!(tick(&s), (Price::parse("0.05").unwrap(), TickSource::Inferred));
        assert_eq!(s.ticks[0].prices, 5);
        assert_eq!(off(&s), None);
        // One odd price ($10.01): every price must be a whole number of ticks, so 0.01.
        let odd = format!("{rows}34200.6,1,4,100,100100,1\n");
        let s = import_rows("001", &odd, None);
        assert_eq!(tick(&s), (Price::parse("0.01").unwrap(), TickSource::Inferred));
        // A hidden execution at a half-cent midpoint does not make the tick finer; it is counted
        // as off the tick. Halt rows carry no price.
        let hidden = format!("{rows}34200.6,5,0,100,100025,1\n34200.7,7,0,0,-1,-1\n");
        let s = import_rows("hidden", &hidden, None);
        assert_eq!(tick(&s), (Price::parse("0.05").unwrap(), TickSource::Inferred));
        assert_eq!(off(&s), Some(1));
        // Given: kept as given, and the prices off it counted.
        let s = import_rows("given", rows, Price::parse("0.1"));
        assert_eq!(tick(&s), (Price::parse("0.1").unwrap(), TickSource::Given));
        assert_eq!(off(&s), Some(3));
        // Sub-cent limit prices: down to LOBSTER's unit, never below.
        let s = import_rows("unit", "34200.1,1,1,100,100001,1\n34200.2,1,2,100,100000,1\n", None);
        assert_eq!(tick(&s).0, Price::parse("0.0001").unwrap());
        // Only halts: no price to infer from, LOBSTER's unit.
        let s = import_rows("halt", "34200.1,7,0,0,-1,-1\n", None);
        assert_eq!(tick(&s).0, Price::parse("0.0001").unwrap());
    }

    /// `n` message rows and two-level orderbook rows of a made-up book: adds on both sides,
    /// partial cancels, executions and deletes; several rows share a time.
    fn day(n: usize) -> (Vec<String>, Vec<String>) {
        let (mut msgs, mut book) = (Vec::new(), Vec::new());
        let (mut bid, mut ask) = (
            vec![(1_000_000i64, 300i64), (999_900, 200)],
            vec![(1_000_100i64, 300i64), (1_000_200, 100)],
        );
        for i in 0..n {
            let ts = format!("{}.5", 34_200 + i / 3);
            let (kind, size, dir) =
                [(1, 100, 1), (1, 50, -1), (2, 20, 1), (4, 30, -1), (3, 10, 1)][i % 5];
            let side = if dir > 0 { &mut bid } else { &mut ask };
            let px = side[0].0;
            side[0].1 += if kind == 1 { size } else { -size };
            msgs.push(format!("{ts},{kind},{},{size},{px},{dir}", i + 1));
            book.push(format!(
                "{},{},{},{},{},{},{},{}",
                ask[0].0, ask[0].1, bid[0].0, bid[0].1, ask[1].0, ask[1].1, bid[1].0, bid[1].1
            ));
        }
        (msgs, book)
    }

    fn write(path: &Path, rows: &[String]) -> PathBuf {
        std::fs::write(path, rows.iter().map(|r| format!("{r}\n")).collect::<String>()).unwrap();
        path.to_path_buf()
    }

    #[test]
    fn a_day_split_in_two_files_imports_as_the_whole_day() {
        let d = scratch_dir("lobster", "split");
        let (msgs, book) = day(200);
        let name = |part: &str, what: &str| {
            std::fs::create_dir_all(d.join(part)).unwrap();
            d.join(part).join(format!("ABC_2024-01-02_34200000_57600000_{what}_2.csv"))
        };
        let whole = LobsterInput::new(write(&name("whole", "message"), &msgs))
            .with_orderbook(write(&name("whole", "orderbook"), &book));
        // The cut falls between two rows of the same time.
        let cut = 100;
        assert_eq!(msgs[cut - 1].split(',').next(), msgs[cut].split(',').next());
        let parts = [
            LobsterInput::new(write(&name("a", "message"), &msgs[..cut]))
                .with_orderbook(write(&name("a", "orderbook"), &book[..cut])),
            LobsterInput::new(write(&name("b", "message"), &msgs[cut..]))
                .with_orderbook(write(&name("b", "orderbook"), &book[cut..])),
        ];
        let opts = ImportOptions::default();
        let one =
            import_lobster(std::slice::from_ref(&whole), &d.join("whole.tape"), &opts).unwrap();
        let two = import_lobster(&parts, &d.join("parts.tape"), &opts).unwrap();
        assert_eq!(two.header.instruments, one.header.instruments);
        assert_eq!(
            (two.rows, two.events, &two.notes, &two.ticks),
            (one.rows, one.events, &one.notes, &one.ticks)
        );
        let all = tape_events(&d.join("whole.tape"));
        assert_eq!(all.len() as u64, one.events);
        assert_eq!(tape_events(&d.join("parts.tape")), all);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn files_of_two_symbols_are_two_instruments_merged_by_time() {
        let d = scratch_dir("lobster", "two");
        let a = write(
            &d.join("AAA_2024-01-02_34200000_57600000_message_1.csv"),
            &["34200.1,1,1,100,100000,1".into(), "34200.3,1,2,100,100500,-1".into()],
        );
        let b = write(
            &d.join("BBB_2024-01-02_34200000_57600000_message_1.csv"),
            &["34200.1,1,1,10,2000000,1".into(), "34200.2,1,2,10,2002500,-1".into()],
        );
        let s = import_lobster(
            &[LobsterInput::new(&a), LobsterInput::new(&b)],
            &d.join("t.tape"),
            &ImportOptions::default(),
        )
        .unwrap();
        let ins: Vec<(&str, Price)> =
            s.header.instruments.iter().map(|i| (i.symbol.as_str(), i.tick_size)).collect();
        assert_eq!(
            ins,
            vec![("AAA", Price::parse("0.05").unwrap()), ("BBB", Price::parse("0.25").unwrap())]
        );
        assert_eq!(
            s.header.source,
            format!(
                "LOBSTER {} + {}",
                a.file_name().unwrap().to_str().unwrap(),
                b.file_name().unwrap().to_str().unwrap()
            )
        );
        // Equal times: the file given first goes first.
        let order: Vec<(u16, i64)> =
            tape_events(&d.join("t.tape")).iter().map(|e| (e.instrument, e.local_ts.0)).collect();
        assert_eq!(
            order,
            vec![
                (0, 34_200_100_000_000),
                (1, 34_200_100_000_000),
                (1, 34_200_200_000_000),
                (0, 34_200_300_000_000)
            ]
        );
        // One symbol given for both: one instrument, whose two orders 1 and 2 clash.
        let same = |m: &Path| LobsterInput { symbol: Some("S".into()), ..LobsterInput::new(m) };
        let s = import_lobster(&[same(&a), same(&b)], &d.join("t.tape"), &ImportOptions::default())
            .unwrap();
        assert_eq!(s.header.instruments.len(), 1);
        assert_eq!(s.ticks[0].tick, Price::parse("0.05").unwrap());
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// A negative orderbook size was taken for an empty level and a negative halt size passed:
    /// both are refused at their file and line, and no tape is left.
    #[test]
    fn nonsense_sizes_are_refused_at_their_line() {
        let d = scratch_dir("lobster", "nonsense");
        let msgs = ["34200.1,1,1,100,100000,1".to_owned(), "34200.2,1,2,7,100100,-1".to_owned()];
        let m = write(&d.join("AAA_2024-01-02_34200000_57600000_message_1.csv"), &msgs);
        let book = ["100100,10,100000,100".to_owned(), "100100,-7,100000,100".to_owned()];
        let ob = write(&d.join("AAA_2024-01-02_34200000_57600000_orderbook_1.csv"), &book);
        let out = d.join("t.tape");
        let opts = ImportOptions::default();
        let e =
            import_lobster(&[LobsterInput::new(&m).with_orderbook(&ob)], &out, &opts).unwrap_err();
        assert!(matches!(&e, ImportError::Row { file, line: 2, .. } if *file == ob), "{e}");
        assert!(e.to_string().ends_with("orderbook_1.csv:2: orderbook level 1 ask: size -7 is not positive (an empty level is written as price 9999999999 with size 0)"), "{e}");
        assert!(!out.exists());
        let halt = write(
            &d.join("AAA_2024-01-02_34200000_57600000_message_1.csv"),
            &[msgs[0].clone(), "34200.2,7,0,-7,-1,-1".to_owned()],
        );
        let e = import_lobster(&[LobsterInput::new(&halt)], &out, &opts).unwrap_err();
        assert!(matches!(&e, ImportError::Row { line: 2, .. }), "{e}");
        assert!(!out.exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn mismatched_pairs_days_and_ticks_are_refused() {
        let d = scratch_dir("lobster", "refused");
        let row = ["34200.1,1,1,100,100000,1".to_owned()];
        let ob = ["100100,10,100000,100".to_owned()];
        let m = write(&d.join("AAA_2024-01-02_34200000_57600000_message_1.csv"), &row);
        let other_ob = write(&d.join("BBB_2024-01-02_34200000_57600000_orderbook_1.csv"), &ob);
        let opts = ImportOptions::default();
        let e = import_lobster(
            &[LobsterInput::new(&m).with_orderbook(&other_ob)],
            &d.join("t.tape"),
            &opts,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("BBB_2024-01-02_34200000_57600000_orderbook_1.csv: is not the orderbook file of \"AAA_2024-01-02_34200000_57600000_message_1.csv\""), "{e}");
        assert!(e.contains("AAA_2024-01-02_34200000_57600000_orderbook_1.csv"), "{e}");
        // Names LOBSTER did not give are not judged.
        let plain_ob = write(&d.join("book.csv"), &ob);
        assert!(
            import_lobster(
                &[LobsterInput::new(&m).with_orderbook(&plain_ob)],
                &d.join("t.tape"),
                &opts
            )
            .is_ok()
        );
        let next_day = write(&d.join("AAA_2024-01-03_34200000_57600000_message_1.csv"), &row);
        let e = import_lobster(
            &[LobsterInput::new(&m), LobsterInput::new(&next_day)],
            &d.join("t.tape"),
            &opts,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("is of 2024-01-03") && e.contains("import each day separately"), "{e}");
        let tick = |t: &str| LobsterInput { tick: Price::parse(t), ..LobsterInput::new(&m) };
        let e = import_lobster(&[tick("0.01"), tick("0.05")], &d.join("t.tape"), &opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tick 0.05 for AAA, but input 1 gives it tick 0.01"), "{e}");
        assert!(import_lobster(&[], &d.join("t.tape"), &opts).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
