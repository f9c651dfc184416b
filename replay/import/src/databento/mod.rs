//! Databento DBN files (any DBN version, zstd-compressed or not), decoded by the `dbn` crate.
//!
//! - **MBO** (market by order) goes into the L3 book. Databento's actions map as Databento's
//!   own reference book applies them: `A` add → `Add`; `C` cancel (its size is the amount
//!   removed) → `Cancel`, or `Delete` when nothing is left; `M` modify → a `Cancel` of the
//!   difference when the size shrinks at the same price (the order keeps its place), else
//!   `Delete` + `Add` (it loses its place), an `Add` for an order not seen before; `R` clear →
//!   `Clear`; `T` trade (the aggressor's side) → `Trade`. `F` fill records and `N` records
//!   do not change the book (the quantity leaves with the cancel that follows a fill) and
//!   are skipped and counted. Records up to the one flagged `LAST` form one batch.
//! - **MBP-1, TBBO, BBO (1s/1m), CMBP-1, CBBO** → `Quote` (an absent side has price 0), with a
//!   `Trade` first where the record is a trade (action `T`).
//! - **MBP-10** → `Level` updates that make the book's top ten levels equal the record's.
//! - **Trades** → `Trade`.
//! - **Instrument definitions** (from any input, e.g. a separate definition file) give symbols
//!   and tick sizes (`min_price_increment`); without one, the symbol comes from the file's
//!   symbology mappings (else the instrument id) and the tick is the greatest common divisor
//!   of the instrument's prices (every price, level and trade of its records; ESH4's MBO gives
//!   0.25), never finer than the tape's 1e-8. Other record kinds (OHLCV, status, statistics,
//!   imbalance, …) are skipped and counted.
//!
//! Local time is `ts_recv` (Databento's capture time; `ts_event` where it is undefined),
//! exchange time `ts_event`. Several files are merged by local time, the file given first going
//! first on equal times. Prices (units of 1e-9) must fit the tape's 8 decimals.
//!
//! **Sequence numbers.** MBO, MBP-1/TBBO and MBP-10 records carry the venue's message sequence
//! number; the report's `sequence_gaps` counts jumps forward by more than one in MBO records,
//! per publisher and instrument (absent when there are none), a note counts the jumps in MBP
//! records (expected: they come only from messages that change the levels they show), and
//! another counts steps back (resets, not gaps). Snapshot records are not checked. See
//! `Sequences` for why a gap is an upper bound on loss.
//!
//! **Checks.** Where an instrument has MBO data, every top-of-book or MBP-10 record of the same
//! instrument is compared with the book rebuilt from MBO at that time (top 1..10 levels), and
//! every MBO event ending with the `LAST` flag is checked for a crossed book; the report counts
//! snapshot records and whether each snapshot was closed by a `LAST` record.
//!
//! **Untrusted bytes.** Every record is checked before `dbn` decodes it (see [`frames`]): a
//! length field shorter than its record type, and data that end mid-record or inside a zstd
//! frame (a truncated file), are refused with the record and its byte offset.
//!
//! The files: [`frames`] checks the bytes `dbn` decodes, [`record`] converts decoded records,
//! [`input`] reads a file, [`load`] is the first pass (instruments, ticks), [`stream`] the
//! second, with [`mbo`] mapping MBO actions and [`sequence`] checking sequence numbers.

mod frames;
mod input;
mod load;
mod mbo;
mod record;
mod sequence;
mod stream;

use crate::error::ImportError;
use crate::importer::{Importer, Streamed, run};
use crate::options::ImportOptions;
use crate::sink::Sink;
use crate::summary::ImportSummary;
use crate::tick::TickChoice;
use lockstep_sim::InstrumentInfo;
use std::path::{Path, PathBuf};

/// Imports Databento DBN files (market data and instrument definitions) into one tape.
///
/// # Errors
/// [`ImportError`] naming the file and record number of the first record that cannot be
/// decoded or put on a tape.
pub fn import_databento(
    files: &[PathBuf],
    out: &Path,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    run(&mut Databento { files }, out, opts)
}

/// Databento DBN files.
struct Databento<'a> {
    files: &'a [PathBuf],
}

impl Importer for Databento<'_> {
    type Scan = load::Scan;

    fn files(&self) -> &[PathBuf] {
        self.files
    }

    fn scan(&mut self) -> Result<load::Scan, ImportError> {
        load::scan(self.files)
    }

    fn nothing_found(&self, scan: &load::Scan) -> Option<&'static str> {
        scan.instruments
            .is_empty()
            .then_some("no market data records (MBO, MBP, trades, BBO) in the files given")
    }

    fn describe(&self, _: &load::Scan) -> &'static str {
        "Databento DBN"
    }

    fn instruments(&self, scan: &load::Scan) -> Vec<InstrumentInfo> {
        scan.instruments.clone()
    }

    fn ticks(&self, scan: &load::Scan, _: &[InstrumentInfo]) -> Vec<TickChoice> {
        scan.ticks.clone()
    }

    fn stream(&mut self, scan: load::Scan, sink: &mut Sink) -> Result<Streamed, ImportError> {
        stream::stream(scan, self.files, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::record::UNDEF_PRICE;
    use super::*;
    use crate::testing::{scratch_dir, tape_events};
    use crate::tick::TickSource;
    use dbn::encode::{DbnEncoder, EncodeRecord};
    use dbn::flags;
    use dbn::{FlagSet, Metadata, RecordHeader, SType, Schema, rtype};
    use lockstep_sdk::{ONE, Price, Qty, Side};
    use lockstep_sim::{Book, MarketEvent};
    use std::ffi::c_char;

    const T0: u64 = 1_703_422_805_000_000_000;

    fn hd<R: dbn::HasRType>(rt: u8, id: u32, ts: u64) -> RecordHeader {
        RecordHeader::new::<R>(rt, 1, id, ts)
    }

    #[allow(clippy::too_many_arguments, reason = "one argument per record field, in its order")]
    fn mbo(
        id: u32,
        i: u64,
        action: u8,
        side: u8,
        oid: u64,
        px: i64,
        sz: u32,
        fl: u8,
    ) -> dbn::MboMsg {
        dbn::MboMsg {
            hd: hd::<dbn::MboMsg>(rtype::MBO, id, T0 + i),
            order_id: oid,
            price: px,
            size: sz,
            flags: FlagSet::new(fl),
            channel_id: 0,
            action: action as c_char,
            side: side as c_char,
            ts_recv: T0 + i + 1_000,
            ts_in_delta: 0,
            sequence: i as u32,
        }
    }

    fn write<R: dbn::encode::DbnEncodable>(path: &Path, schema: Schema, recs: &[R]) {
        let meta = Metadata::builder()
            .dataset("GLBX.MDP3")
            .schema(Some(schema))
            .start(T0)
            .stype_in(None)
            .stype_out(SType::InstrumentId)
            .build();
        let f = std::fs::File::create(path).unwrap();
        let mut enc = DbnEncoder::new(f, &meta).unwrap();
        for r in recs {
            enc.encode_record(r).unwrap();
        }
    }

    const P: i64 = 4_799_000_000_000; // 4799.00 in 1e-9
    const TICK: i64 = 250_000_000;

    #[test]
    fn mbo_actions_become_l3_events_and_the_book_is_checked_against_mbp1() {
        let d = scratch_dir("dbn", "mbo");
        let l = flags::LAST;
        let recs = vec![
            mbo(7, 0, b'R', b'N', 0, UNDEF_PRICE, 0, flags::SNAPSHOT),
            mbo(7, 1, b'A', b'B', 1, P, 10, flags::SNAPSHOT),
            mbo(7, 2, b'A', b'A', 2, P + TICK, 5, flags::SNAPSHOT | l),
            mbo(7, 3, b'C', b'B', 1, P, 4, l), // partial cancel
            mbo(7, 4, b'M', b'B', 1, P, 3, l), // shrink in place
            mbo(7, 5, b'M', b'A', 2, P + 2 * TICK, 5, l), // move: loses its place
            mbo(7, 6, b'T', b'B', 0, P + 2 * TICK, 2, 0),
            mbo(7, 7, b'F', b'A', 2, P + 2 * TICK, 2, 0),
            mbo(7, 8, b'C', b'A', 2, P + 2 * TICK, 2, l), // the fill's quantity leaves
            mbo(7, 9, b'C', b'B', 99, P, 1, l),           // unknown order
            mbo(7, 10, b'N', b'N', 0, UNDEF_PRICE, 0, l),
        ];
        let f = d.join("x.mbo.dbn");
        write(&f, Schema::Mbo, &recs);
        // The MBP-1 of the same instrument after record 8: bid 4799 x 3, ask 4799.5 x 3.
        let top = dbn::Mbp1Msg {
            hd: hd::<dbn::Mbp1Msg>(rtype::MBP_1, 7, T0 + 8),
            price: P,
            size: 0,
            action: b'C' as c_char,
            side: b'B' as c_char,
            flags: FlagSet::new(l),
            depth: 0,
            ts_recv: T0 + 8 + 1_000,
            ts_in_delta: 0,
            sequence: 0,
            levels: [dbn::BidAskPair {
                bid_px: P,
                ask_px: P + 2 * TICK,
                bid_sz: 3,
                ask_sz: 3,
                bid_ct: 1,
                ask_ct: 1,
            }],
        };
        let g = d.join("x.mbp-1.dbn");
        write(&g, Schema::Mbp1, &[top]);
        let out = d.join("t.tape");
        let s = import_databento(&[f.clone(), g], &out, &ImportOptions::default()).unwrap();
        let px = |p: i64| Price(p / 10);
        let q = |n: i64| Qty(n * ONE);
        let msgs: Vec<MarketEvent> = tape_events(&out).iter().map(|e| e.msg).collect();
        assert_eq!(
            msgs,
            vec![
                MarketEvent::Clear,
                MarketEvent::Add { order_id: 1, side: Side::Buy, px: px(P), qty: q(10) },
                MarketEvent::Add { order_id: 2, side: Side::Sell, px: px(P + TICK), qty: q(5) },
                MarketEvent::Cancel { order_id: 1, side: Side::Buy, px: px(P), qty: q(4) },
                MarketEvent::Cancel { order_id: 1, side: Side::Buy, px: px(P), qty: q(3) },
                MarketEvent::Delete { order_id: 2, side: Side::Sell, px: px(P + TICK), qty: q(5) },
                MarketEvent::Add { order_id: 2, side: Side::Sell, px: px(P + 2 * TICK), qty: q(5) },
                MarketEvent::Trade { px: px(P + 2 * TICK), qty: q(2), aggressor: Some(Side::Buy) },
                MarketEvent::Cancel {
                    order_id: 2,
                    side: Side::Sell,
                    px: px(P + 2 * TICK),
                    qty: q(2)
                },
                MarketEvent::Quote {
                    bid_px: px(P),
                    bid_qty: q(3),
                    ask_px: px(P + 2 * TICK),
                    ask_qty: q(3)
                },
            ]
        );
        assert_eq!(s.rows, 12);
        assert_eq!(s.events, 10);
        assert_eq!(
            s.skipped.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>(),
            vec![("MBO cancel of an order not on the book", 1), ("MBO record without action", 1)]
        );
        let note = |k: &str| s.notes.iter().find(|n| n.0.starts_with(k)).map(|n| n.1);
        assert_eq!(note("MBO snapshot records"), Some(3));
        assert_eq!(note("MBO snapshots closed"), Some(1));
        assert_eq!(note("MBO events after which the rebuilt book is crossed"), Some(0));
        assert_eq!(note("MBO fills"), Some(1));
        assert_eq!(note("MBP records whose top 1 level(s) match the MBO book (of 1)"), Some(1));
        assert_eq!(s.header.instruments[0].symbol, "7");
        assert_eq!(s.start_ns, Some((T0 + 1_000) as i64));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn definitions_give_symbols_and_ticks_and_instruments_merge_by_receive_time() {
        let d = scratch_dir("dbn", "defs");
        let mut def = dbn::InstrumentDefMsg {
            hd: hd::<dbn::InstrumentDefMsg>(rtype::INSTRUMENT_DEF, 9, T0),
            min_price_increment: TICK,
            ..Default::default()
        };
        for (dst, b) in def.raw_symbol.iter_mut().zip(b"ESH4") {
            *dst = *b as c_char;
        }
        let defs = d.join("def.dbn");
        write(&defs, Schema::Definition, &[def]);
        let trade = |id: u32, i: u64, px: i64| dbn::TradeMsg {
            hd: hd::<dbn::TradeMsg>(rtype::MBP_0, id, T0 + i),
            price: px,
            size: 1,
            action: b'T' as c_char,
            side: b'A' as c_char,
            flags: FlagSet::new(flags::LAST),
            depth: 0,
            ts_recv: T0 + 10 * i,
            ts_in_delta: 0,
            sequence: 0,
        };
        let a = d.join("a.dbn");
        let b = d.join("b.dbn");
        write(&a, Schema::Trades, &[trade(9, 1, P), trade(9, 3, P + TICK)]);
        write(&b, Schema::Trades, &[trade(5, 1, 1_234_500_000), trade(5, 2, 1_234_600_000)]);
        let out = d.join("t.tape");
        let s = import_databento(&[a, b, defs], &out, &ImportOptions::default()).unwrap();
        let ins: Vec<(&str, Price, u32)> = s
            .header
            .instruments
            .iter()
            .map(|i| (i.symbol.as_str(), i.tick_size, i.price_scale))
            .collect();
        assert_eq!(ins, vec![("ESH4", Price(25_000_000), 2), ("5", Price(10_000), 4)]);
        let order: Vec<(u16, i64)> =
            tape_events(&out).iter().map(|e| (e.instrument, e.local_ts.0)).collect();
        let t = |i: u64| (T0 + 10 * i) as i64;
        // Equal receive times: the file given first goes first.
        assert_eq!(order, vec![(0, t(1)), (1, t(1)), (1, t(2)), (0, t(3))]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// An MBP-10 record of instrument 3 at `i` with `sequence`, the given levels (bid px, bid
    /// size, ask px, ask size; the rest empty), and a trade when `trade` is set.
    fn mbp10(
        i: u64,
        sequence: u32,
        levels: &[(i64, u32, i64, u32)],
        trade: Option<(i64, u32)>,
    ) -> dbn::Mbp10Msg {
        let mut m = dbn::Mbp10Msg {
            hd: hd::<dbn::Mbp10Msg>(rtype::MBP_10, 3, T0 + i),
            price: trade.map_or(UNDEF_PRICE, |t| t.0),
            size: trade.map_or(0, |t| t.1),
            action: (if trade.is_some() { b'T' } else { b'A' }) as c_char,
            side: b'B' as c_char,
            flags: FlagSet::new(flags::LAST),
            depth: 0,
            ts_recv: T0 + i + 1_000,
            ts_in_delta: 0,
            sequence,
            levels: std::array::from_fn(|_| dbn::BidAskPair {
                bid_px: UNDEF_PRICE,
                ask_px: UNDEF_PRICE,
                ..Default::default()
            }),
        };
        for (d, &(bp, bs, ap, as_)) in m.levels.iter_mut().zip(levels) {
            *d = dbn::BidAskPair {
                bid_px: bp,
                ask_px: ap,
                bid_sz: bs,
                ask_sz: as_,
                bid_ct: 1,
                ask_ct: 1,
            };
        }
        m
    }

    #[test]
    fn mbp10_records_rebuild_the_top_ten_levels_and_sequence_jumps_are_counted_apart() {
        let d = scratch_dir("dbn", "mbp10");
        let lv = |k: i64, bs: u32, as_: u32| (P - k * TICK, bs, P + (k + 1) * TICK, as_);
        // Ten levels a side; then level 3 of the bid changes size, the best ask leaves (the
        // others move up and an eleventh comes into view), and a trade prints; then the book
        // thins to two levels a side.
        let full: Vec<_> = (0..10).map(|k| lv(k, 10 + k as u32, 20 + k as u32)).collect();
        let mut moved = full.clone();
        moved[3].1 = 99;
        for (k, l) in moved.iter_mut().enumerate() {
            l.2 = P + (k as i64 + 2) * TICK;
            l.3 = 20 + k as u32 + 1;
        }
        let thin: Vec<_> = full[..2].to_vec();
        // Sequences: 100, 101 (continuous), 105 (a gap), 105 (same message), 90 (a reset).
        let recs = vec![
            mbp10(0, 100, &full, None),
            mbp10(1, 101, &moved, Some((P + TICK, 5))),
            mbp10(2, 105, &thin, None),
            mbp10(3, 105, &thin, None),
            mbp10(4, 90, &full, None),
        ];
        let f = d.join("x.mbp-10.dbn");
        write(&f, Schema::Mbp10, &recs);
        let out = d.join("t.tape");
        let s =
            import_databento(std::slice::from_ref(&f), &out, &ImportOptions::default()).unwrap();
        // MBP records alone: their jumps are not gaps, and there is no gap count.
        assert_eq!(s.sequence_gaps, None);
        let note = |k: &str| s.notes.iter().find(|n| n.0.starts_with(k)).map(|n| n.1);
        assert_eq!(note("sequence jumps in MBP records"), Some(1));
        assert_eq!(note("sequence numbers going backwards"), Some(1));
        // No definition: the tick is the GCD of every level's and the trade's price.
        assert_eq!(s.ticks[0].source, TickSource::Inferred);
        assert_eq!(s.header.instruments[0].tick_size, Price(TICK / 10));
        // Replay the tape's events record by record; after each, the book's levels are the
        // record's.
        let tape = tape_events(&out);
        let mut book = Book::new();
        let mut at = 0;
        let q = |n: u32| Qty(i64::from(n) * ONE);
        for (r, rec) in recs.iter().enumerate() {
            let mut trades = Vec::new();
            // The fourth record repeats the third: it changes nothing and writes no event.
            let mut more = r != 3;
            while more {
                let e = tape[at];
                at += 1;
                if let MarketEvent::Trade { px, qty, .. } = e.msg {
                    trades.push((px, qty));
                }
                book.apply(&e.msg);
                more = e.flags & lockstep_sim::FLAG_MORE != 0;
            }
            let want = |bid: bool| -> Vec<(Price, Qty)> {
                rec.levels
                    .iter()
                    .filter(|l| if bid { l.bid_px != UNDEF_PRICE } else { l.ask_px != UNDEF_PRICE })
                    .map(|l| {
                        if bid {
                            (Price(l.bid_px / 10), q(l.bid_sz))
                        } else {
                            (Price(l.ask_px / 10), q(l.ask_sz))
                        }
                    })
                    .collect()
            };
            let got = |side| book.levels(side).map(|l| (l.px, l.qty)).collect::<Vec<_>>();
            assert_eq!(got(Side::Buy), want(true), "record {r}");
            assert_eq!(got(Side::Sell), want(false), "record {r}");
            let want_trades: Vec<(Price, Qty)> =
                if r == 1 { vec![(Price((P + TICK) / 10), q(5))] } else { Vec::new() };
            assert_eq!(trades, want_trades, "record {r}");
        }
        assert_eq!(at, tape.len());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn without_a_definition_the_tick_is_the_gcd_of_the_prices() {
        let d = scratch_dir("dbn", "gcd");
        let l = flags::LAST;
        // ES-like prices a quarter apart; the finest decimals (2) would say 0.01.
        let recs = vec![
            mbo(4, 0, b'A', b'B', 1, P, 1, l),
            mbo(4, 1, b'A', b'A', 2, P + 3 * TICK, 1, l),
            mbo(4, 2, b'A', b'B', 3, P - 5 * TICK, 1, l),
        ];
        let f = d.join("m.dbn");
        write(&f, Schema::Mbo, &recs);
        let s = import_databento(&[f], &d.join("t.tape"), &ImportOptions::default()).unwrap();
        assert_eq!(s.header.instruments[0].tick_size, Price::parse("0.25").unwrap());
        assert_eq!(s.header.instruments[0].price_scale, 2);
        assert_eq!(
            s.ticks,
            vec![TickChoice {
                instrument: 0,
                tick: Price::parse("0.25").unwrap(),
                source: TickSource::Inferred,
                prices: 3
            }]
        );
        assert_eq!(s.sequence_gaps, Some(0));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn prices_beyond_the_tapes_precision_are_refused_with_the_record() {
        let d = scratch_dir("dbn", "px");
        let f = d.join("m.dbn");
        write(&f, Schema::Mbo, &[mbo(1, 0, b'A', b'B', 1, P + 3, 1, flags::LAST)]);
        let e = import_databento(&[f], &d.join("t.tape"), &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("m.dbn: record 1: price 4799000000003 (units of 1e-9) has more than the tape's 8 decimal places"), "{e}");
        let g = d.join("not.dbn");
        std::fs::write(&g, b"hello").unwrap();
        let e = import_databento(&[g], &d.join("t.tape"), &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a readable DBN file"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
