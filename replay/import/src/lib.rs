//! # lockstep-import
//!
//! Importers: real market data files to tapes.
//!
//! Every importer streams its input row by row into a tape writer ([`lockstep_io::TapeFile`]), parses timestamps and
//! prices from text to integers without going through `f64`, keeps file order for equal
//! timestamps, and stops at the first malformed or unknown row with an error naming the file
//! and the line (a binary record: its number and byte offset). A file that ends early (cut
//! inside a record or a compressed frame) is refused as truncated, never imported as a shorter
//! tape.
//!
//! Every format has the same shape (`importer`): a first pass over its files finds the
//! instruments, their ticks and the units of the times; a second streams the events into the
//! tape, the files merged by local time (`merge`). Each format is a folder of its own
//! (`lobster`, `binance`, `tardis`, `csv`, `databento`), split by concern: its rows, its
//! first pass (`load`) and its second (`stream`). What the text formats share is written once:
//! the line reader (`lines`), numbers (`number`, `field`), times (`time`), header columns
//! (`header`), tick inference (`tick`), the instruments of a first pass (`instruments`), Binance
//! depth continuity (`chain`) and the tape writer (`sink`).

#![forbid(unsafe_code)]

mod binance;
mod chain;
mod csv;
mod databento;
mod error;
mod field;
mod header;
mod importer;
mod instruments;
mod lines;
mod lobster;
mod merge;
mod number;
mod options;
mod sink;
mod spec;
mod summary;
mod tardis;
#[cfg(test)]
mod testing;
mod tick;
mod time;

pub use binance::{MAX_CLOCK_OFFSET_NS, import_binance};
pub use csv::{TimeUnit, import_csv};
pub use databento::import_databento;
pub use error::{ImportError, Position};
pub use lobster::{BookCheckReport, LobsterInput, MismatchClass, book_check, import_lobster};
pub use options::{ImportOptions, LocalTsUnit};
pub use spec::{SpecOverrides, UNKNOWN_CURRENCY};
pub use summary::{ImportSummary, TsUnitChoice};
pub use tardis::import_tardis;
pub use tick::{TickChoice, TickSource};
pub use time::parse_seconds_ns;

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A LOBSTER input of symbol `X`.
    fn x_input(message: &Path) -> LobsterInput {
        LobsterInput { symbol: Some("X".into()), ..LobsterInput::new(message) }
    }

    /// Seed inputs of every importer, small and valid.
    fn seeds() -> Vec<(&'static str, Vec<String>)> {
        let lobster_msg: String = (0..40)
            .map(|i| {
                let kind = [1, 1, 3, 4, 2][i % 5];
                format!(
                    "{}.{:09},{kind},{},100,{},{}\n",
                    34200 + i,
                    i,
                    100 + i / 5,
                    5_794_000 + (i as i64 % 3) * 100,
                    if i % 2 == 0 { 1 } else { -1 }
                )
            })
            .collect();
        let tardis: String =
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
                .to_owned()
                + &(0..40)
                    .map(|i| {
                        format!(
                            "binance-futures,BTCUSDT,{},{},0.84,{}.5,9681.92,0.67\n",
                            1_582_329_601_096_000i64 + i * 1000,
                            1_582_329_603_502_092i64 + i * 1000,
                            9682 + i
                        )
                    })
                    .collect::<String>();
        let binance: String = (0..30)
            .map(|i| {
                let t = 1_723_161_253_937_085_768u64 + i * 1_000_000;
                match i % 3 {
                    0 => format!("{t} {{\"stream\":\"btcusdt@trade\",\"data\":{{\"e\":\"trade\",\"E\":1723161255343,\"s\":\"BTCUSDT\",\"t\":{i},\"p\":\"61837.63000000\",\"q\":\"0.02000000\",\"T\":1723161255342,\"m\":true,\"M\":true}}}}\n"),
                    1 => format!("{t} {{\"stream\":\"btcusdt@bookTicker\",\"data\":{{\"u\":{i},\"s\":\"BTCUSDT\",\"b\":\"61837.63000000\",\"B\":\"3.78826000\",\"a\":\"61837.64000000\",\"A\":\"1.54698000\"}}}}\n"),
                    _ => format!("{t} {{\"stream\":\"btcusdt@depth@100ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":1723161255208,\"s\":\"BTCUSDT\",\"U\":{i},\"u\":{i},\"b\":[[\"61737.63000000\",\"1.0\"]],\"a\":[[\"61837.64000000\",\"1.54698000\"]]}}}}\n"),
                }
            })
            .collect();
        let csv: String = "exchange_ts,local_ts,symbol,event,side,price,qty,order_id,more\n"
            .to_owned()
            + &(0..40)
                .map(|i| {
                    let ev = ["add", "add", "execute", "level", "trade"][i % 5];
                    format!(
                        "{i},{},S{},{ev},{},10.{:02},3,{},0\n",
                        i + 1,
                        i % 3,
                        if i % 2 == 0 { "buy" } else { "sell" },
                        i % 7,
                        i / 5 + 1
                    )
                })
                .collect::<String>();
        let depth: String =
            "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu\n"
                .to_owned()
                + &(0..40)
                    .map(|i| {
                        let (kind, id) = if i < 10 { ("snap", 100) } else { ("set", 100 + i / 3) };
                        format!(
                            "BTCUSDT,{},{id},{id},{},{kind},2037{}.{},{}.5,{}\n",
                            1_667_346_579_146i64 + i / 3,
                            if i % 2 == 0 { "b" } else { "a" },
                            i % 10,
                            i % 7,
                            i % 4,
                            if kind == "snap" { -1 } else { id - 1 }
                        )
                    })
                    .collect::<String>();
        let truefx: String = "timestamp,bid,ask\n".to_owned()
            + &(0..40)
                .map(|i| {
                    format!(
                        "2013-01-01 22:{:02}:{:02}.295000+00:00,86.6{i:02},86.72{}\n",
                        i / 7,
                        i % 60,
                        i % 10
                    )
                })
                .collect::<String>();
        vec![
            ("lobster", vec![lobster_msg]),
            ("tardis", vec![tardis]),
            ("binance", vec![binance]),
            ("csv", vec![csv]),
            ("csv-binance-depth", vec![depth]),
            ("csv-truefx", vec![truefx]),
        ]
    }

    /// Mutated inputs of every importer (bit flips, edge bytes, cuts, insertions) are imported
    /// or refused with an error, never a panic or a hang; and whatever imports reads back as a
    /// valid tape. `LOCKSTEP_FUZZ_CASES` raises the count (see `fuzz_mutated_tapes_never_panic`).
    #[test]
    fn fuzz_mutated_importer_inputs_never_panic_and_imports_replay() {
        let dir = std::env::temp_dir().join(format!("lockstep-fuzz-import-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cases = lockstep_sim::fuzz_cases(300);
        let mut rng = lockstep_sim::FuzzRng::new(0xbeef);
        let opts = ImportOptions::default();
        for (kind, files) in seeds() {
            let (mut ok, mut refused) = (0u64, 0u64);
            for case in 0..cases {
                let mut bytes = files[0].clone().into_bytes();
                if case > 0 {
                    rng.mutate(&mut bytes);
                }
                let input = dir.join(format!("{kind}_message_1.csv"));
                std::fs::write(&input, &bytes).unwrap();
                let out = dir.join(format!("{kind}.tape"));
                let r = match kind {
                    "lobster" => import_lobster(&[x_input(&input)], &out, &opts),
                    "tardis" => import_tardis(std::slice::from_ref(&input), &out, &opts),
                    "binance" => import_binance(std::slice::from_ref(&input), &out, &opts),
                    _ => import_csv(std::slice::from_ref(&input), &out, TimeUnit::Nanos, &opts),
                };
                match r {
                    Ok(summary) => {
                        ok += 1;
                        let mut reader = lockstep_io::open_tape(&out).unwrap();
                        let mut buf = Vec::new();
                        let mut n = 0;
                        while lockstep_sim::EventSource::next_chunk(&mut reader, &mut buf)
                            .unwrap_or_else(|e| {
                                panic!("{kind} case {case}: imported tape unreadable: {e}")
                            })
                        {
                            n += buf.len() as u64;
                        }
                        assert_eq!(n, summary.events, "{kind} case {case}");
                    }
                    Err(e) => {
                        assert!(case > 0, "{kind}: the seed imports: {e}");
                        refused += 1;
                        let text = e.to_string();
                        assert!(
                            !text.chars().any(char::is_control),
                            "{kind} case {case}: {text:?}"
                        );
                    }
                }
            }
            assert_eq!(ok + refused, cases);
            assert!(ok > 0 && refused > 0, "{kind}: {ok} imported, {refused} refused");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every importer accepts a UTF-8 byte order mark (as spreadsheet tools write) and imports
    /// exactly what it imports without one, gzip-compressed or not; a BOM anywhere but at the
    /// start of the file is refused at its line.
    #[test]
    fn every_importer_accepts_a_utf8_bom() {
        let dir = std::env::temp_dir().join(format!("lockstep-bom-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let opts = ImportOptions::default();
        let import = |kind: &str, text: &str, gz: bool, name: &str| {
            let input = dir.join(format!("{name}.{kind}{}", if gz { ".gz" } else { "" }));
            let bytes = if gz {
                use std::io::Write;
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(text.as_bytes()).unwrap();
                e.finish().unwrap()
            } else {
                text.as_bytes().to_vec()
            };
            std::fs::write(&input, bytes).unwrap();
            let out = dir.join(format!("{name}-{kind}.tape"));
            match kind {
                "lobster" => import_lobster(&[x_input(&input)], &out, &opts),
                "tardis" => import_tardis(std::slice::from_ref(&input), &out, &opts),
                "binance" => import_binance(std::slice::from_ref(&input), &out, &opts),
                _ => import_csv(std::slice::from_ref(&input), &out, TimeUnit::Nanos, &opts),
            }
            .map(|summary| {
                let mut reader = lockstep_io::open_tape(&out).unwrap();
                let (mut all, mut buf) = (Vec::new(), Vec::new());
                while lockstep_sim::EventSource::next_chunk(&mut reader, &mut buf).unwrap() {
                    all.extend_from_slice(&buf);
                }
                (summary.events, summary.rows, all)
            })
        };
        for (kind, files) in seeds() {
            let plain = import(kind, &files[0], false, "plain").unwrap();
            assert!(plain.0 > 0, "{kind}");
            for gz in [false, true] {
                let bom = import(kind, &format!("\u{feff}{}", files[0]), gz, "bom");
                assert_eq!(bom.unwrap(), plain, "{kind} (gzip: {gz})");
            }
            // A BOM on the second line is not a byte order mark but a bad field (where the
            // first field is read: Tardis files start with the exchange name, Binance depth
            // CSV files with the symbol, which are not).
            if kind == "tardis" || kind == "csv-binance-depth" {
                continue;
            }
            let (first, rest) = files[0].split_once('\n').unwrap();
            let e = import(kind, &format!("{first}\n\u{feff}{rest}"), false, "mid").unwrap_err();
            let line = match &e {
                ImportError::Row { line, .. } => *line,
                other => panic!("{kind}: {other}"),
            };
            assert_eq!(line, 2, "{kind}: {e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
