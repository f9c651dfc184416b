//! The shared real data samples: LOBSTER's own orderbook check, Tardis, NautilusTrader's CSVs and
//! Databento imported, inspected and replayed.

use crate::common::{
    GOOG_MSG, GOOG_OB, bin, data, fails, import_files, inspect, json, kinds, run_goldens, tmp,
};
use crate::golden;
use serde_json::Value;

#[test]
fn book_check_matches_lobsters_orderbook() {
    let Some(d) = data() else { return };
    let v = json(
        bin()
            .args(["book-check", "--levels", "5", "--message"])
            .arg(d.join(GOOG_MSG))
            .arg("--orderbook")
            .arg(d.join(GOOG_OB)),
    );
    assert_eq!(v["rows"], golden::GOOG_ROWS);
    let matched: Vec<u64> =
        v["matched"].as_array().unwrap().iter().map(|m| m.as_u64().unwrap()).collect();
    assert_eq!(matched, golden::GOOG_MATCHED);
    // Every difference is explained: all of them are levels revealed from beyond the depth.
    let classes = v["classes"].as_array().unwrap();
    let total: u64 = classes.iter().map(|c| c["rows"].as_u64().unwrap()).sum();
    assert_eq!(total, golden::GOOG_ROWS - golden::GOOG_MATCHED[4]);
    assert_eq!(classes[0]["class"], "level-revealed-from-beyond-depth");
    assert_eq!(classes[0]["rows"], golden::GOOG_REVEALED);
    let err = fails(
        bin()
            .args(["book-check", "--levels", "7", "--message"])
            .arg(d.join(GOOG_MSG))
            .arg("--orderbook")
            .arg(d.join(GOOG_OB)),
    );
    assert!(err.contains("5 levels"), "{err}");
}

#[test]
fn tardis_files_merge_by_local_time() {
    let Some(d) = data() else { return };
    let out = tmp("tardis");
    let tape = out.join("t.tape");
    let v = import_files(
        "tardis",
        &[d.join("nautilus_trader/tardis/trades.csv"), d.join("nautilus_trader/tardis/quotes.csv")],
        &tape,
    );
    assert_eq!(v["rows"], 19_998);
    assert_eq!(v["events"], 19_998);
    let r = json(bin().args(["run", "--tape"]).arg(&tape).arg("--out").arg(&out));
    assert_eq!(r["strategy_events"], 19_998);
    let v = import_files(
        "tardis",
        &[d.join("nautilus_trader/tardis/deribit_incremental_book_L2_BTC-PERPETUAL.csv")],
        &tape,
    );
    // One snapshot of 15 levels: a clear, then the levels.
    assert_eq!(v["events"], 16);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn inspect_reports_the_goog_tape() {
    let Some(d) = data() else { return };
    let out = tmp("inspect");
    let tape = out.join("goog.tape");
    let imp = json(
        bin()
            .args(["import", "lobster", "--compress", "--message"])
            .arg(d.join(GOOG_MSG))
            .arg("--orderbook")
            .arg(d.join(GOOG_OB))
            .arg("--out")
            .arg(&tape),
    );
    let v = inspect(&tape);
    assert_eq!(v["events"], golden::GOOG_EVENTS);
    assert_eq!(v["format_version"], lockstep_sim::FORMAT_VERSION);
    assert_eq!(v["compression"], "deflate");
    assert_eq!(v["chunks"], golden::GOOG_EVENTS.div_ceil(4096));
    assert_eq!(v["instruments"][0]["symbol"], "GOOG");
    assert_eq!(v["instruments"][0]["tick_size"], "0.01");
    assert_eq!(v["instruments"][0]["price_scale"], 4);
    assert_eq!(kinds(&v), golden::GOOG_KINDS.map(|(k, n)| (k.to_owned(), n)).to_vec());
    assert_eq!(
        v["kinds"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum::<u64>(),
        golden::GOOG_EVENTS
    );
    assert_eq!(v["start_ns"], 34_200_015_105_074i64);
    assert_eq!(v["first_local"]["utc"], "1970-01-01T09:30:00.015105074Z");
    assert_eq!(
        (v["start_ns"].clone(), v["end_ns"].clone()),
        (imp["start_ns"].clone(), imp["end_ns"].clone())
    );
    let at = json(bin().args(["inspect", "--at", "36000000000000", "--tape"]).arg(&tape));
    let (t, tops) = (&at["at"][0], &at["at"][1]);
    assert_eq!(t["utc"], "1970-01-01T10:00:00.000000000Z");
    assert_eq!((tops[0]["bid_px"].as_str(), tops[0]["ask_px"].as_str()), golden::GOOG_TOP_10H);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn nautilus_binance_depth_and_truefx_csv_import_and_replay() {
    let Some(d) = data() else { return };
    let out = tmp("nautilus-csv");
    // Binance USD-M depth as NautilusTrader saves it: a 100-level bid snapshot and one update
    // ten minutes later, which does not chain onto it (a sequence gap).
    let tape = out.join("depth.tape");
    let v = import_files(
        "csv",
        &[
            d.join("nautilus_trader/binance/btcusdt-depth-snap.csv"),
            d.join("nautilus_trader/binance/btcusdt-depth-update.csv"),
        ],
        &tape,
    );
    assert_eq!(v["rows"], 200);
    // A clear and 100 levels; then the update's 100 levels.
    assert_eq!(v["events"], golden::NT_DEPTH_EVENTS);
    assert_eq!(v["sequence_gaps"], 1);
    let ins = &v["header"]["instruments"][0];
    assert_eq!((ins["symbol"].as_str(), ins["venue"].as_str()), (Some("BTCUSDT"), Some("binance")));
    assert_eq!(ins["tick_size"], "0.1");
    let i = inspect(&tape);
    assert_eq!(kinds(&i), vec![("clear".to_owned(), 1), ("level".to_owned(), 200)]);
    assert_eq!(i["first_local"]["utc"], "2022-11-01T23:49:39.146000000Z");
    run_goldens(&tape, &out, &golden::NT_DEPTH);
    // TrueFX USD/JPY ticks: quotes without sizes.
    let tape = out.join("fx.tape");
    let v = import_files("csv", &[d.join("nautilus_trader/truefx/usdjpy-ticks.csv")], &tape);
    assert_eq!((v["rows"].as_u64(), v["events"].as_u64()), (Some(1_000), Some(1_000)));
    let ins = &v["header"]["instruments"][0];
    assert_eq!(
        (ins["symbol"].as_str(), ins["tick_size"].as_str()),
        (Some("USDJPY"), Some("0.001"))
    );
    let i = inspect(&tape);
    assert_eq!(kinds(&i), vec![("quote".to_owned(), 1_000)]);
    assert_eq!(i["first_local"]["utc"], "2013-01-01T22:00:00.295000000Z");
    run_goldens(&tape, &out, &golden::NT_TRUEFX);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn databento_samples_import_inspect_and_replay() {
    let Some(d) = data() else { return };
    let db = d.join("databento");
    let out = tmp("databento");
    // MBO (a complete snapshot of ESH4) with its definition: the L3 book.
    let tape = out.join("mbo.tape");
    let v = import_files(
        "databento",
        &[
            db.join("esh4-glbx-mdp3-20231224.mbo.dbn.zst"),
            db.join("definition-glbx-es-fut.dbn.zst"),
        ],
        &tape,
    );
    assert_eq!(v["events"], golden::DBN_MBO_EVENTS);
    let note = |v: &Value, k: &str| {
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["note"].as_str().unwrap().starts_with(k))
            .map(|n| n["count"].as_u64().unwrap())
    };
    assert_eq!(note(&v, "MBO snapshot records"), Some(8_725));
    assert_eq!(note(&v, "MBO snapshots closed"), Some(1));
    assert_eq!(note(&v, "MBO events after which the rebuilt book is crossed"), Some(0));
    let i = inspect(&tape);
    assert_eq!(i["instruments"][0]["symbol"], "ESH4");
    // The definition file given describes ESM3, not ESH4: the tick is inferred as the greatest
    // common divisor of ESH4's prices, the quarter point ES trades in (the finest decimals
    // would say 0.01).
    assert_eq!(i["instruments"][0]["tick_size"], "0.25");
    let t = &v["ticks"][0];
    assert_eq!((t["tick_source"].as_str(), t["prices"].as_u64()), (Some("inferred"), Some(8_725)));
    // Snapshot records carry the sequence numbers of the messages that placed their orders:
    // not checked, no gap.
    assert_eq!(v["sequence_gaps"], 0);
    assert_eq!(kinds(&i), vec![("add".to_owned(), 8_725)]);
    run_goldens(&tape, &out, &golden::DBN_MBO);
    // MBP-1 and trades of the same future, with its definition: one tape.
    let tape = out.join("mbp1.tape");
    let v = import_files(
        "databento",
        &[
            db.join("bars_futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst"),
            db.join("bars_futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst"),
            db.join("bars_futures_definition.dbn.zst"),
        ],
        &tape,
    );
    assert_eq!(v["events"], golden::DBN_MBP1_EVENTS);
    // Top-of-book records come only from messages that change it: their sequence jumps are
    // counted apart, not as gaps.
    assert_eq!(v["sequence_gaps"], Value::Null);
    assert_eq!(note(&v, "sequence jumps in MBP records"), Some(golden::DBN_MBP1_SEQUENCE_JUMPS));
    assert_eq!(v["ticks"][0]["tick_source"], "definition");
    let i = inspect(&tape);
    assert_eq!(kinds(&i), golden::DBN_MBP1_KINDS.map(|(k, n)| (k.to_owned(), n)).to_vec());
    assert_eq!(i["instruments"][0]["symbol"], golden::DBN_MBP1_SYMBOL);
    assert_eq!(i["instruments"][0]["tick_size"], "0.25");
    run_goldens(&tape, &out, &golden::DBN_MBP1);
    // One-minute BBO of a future and its options, with the options' definitions: several
    // instruments in one tape.
    let tape = out.join("bbo.tape");
    let v = import_files(
        "databento",
        &[
            db.join("opt-cat_futures_bbo-1m_2024-05-09T09-55_2024-05-09T10-05.dbn.zst"),
            db.join("opt-cat_options_bbo-1m_2024-05-09T09-55_2024-05-09T10-05.dbn.zst"),
            db.join("opt-cat_options_definition.dbn.zst"),
        ],
        &tape,
    );
    assert_eq!(v["events"], golden::DBN_BBO_EVENTS);
    // BBO records are sampled: their sequence numbers are not checked.
    assert_eq!(v["sequence_gaps"], Value::Null);
    let i = inspect(&tape);
    let symbols: Vec<&str> = i["instruments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, golden::DBN_BBO_SYMBOLS);
    let r =
        json(bin().args(["run", "--strategy", "noop", "--tape"]).arg(&tape).arg("--out").arg(&out));
    assert_eq!(r["events"], golden::DBN_BBO_EVENTS);
    let _ = std::fs::remove_dir_all(&out);
}
