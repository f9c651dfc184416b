//! Importers on small hand-written inputs: errors name the file and line, the tape rules apply at
//! the offending line, the generic CSV, collector time units and every LOBSTER event type.

use crate::common::{bin, fails, json, kinds, run_ok, tmp};

#[test]
fn import_errors_name_the_file_and_line() {
    let out = tmp("import-errors");
    let tape = out.join("t.tape");
    let write = |name: &str, text: &str| {
        let p = out.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let m = write(
        "X_message_1.csv",
        "34200.1,1,1,100,5794000,1\n34200.2,1,2,100,5795000,-1\n34200.3,9,3,100,5795000,-1\n",
    );
    let err = fails(bin().args(["import", "lobster", "--message"]).arg(&m).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:3:", m.display())) && err.contains("event type 9"), "{err}");
    let m = write("Y_message_1.csv", "34200.1,1,1,100,5794000,1\n34200.x,3,1,100,5794000,1\n");
    let err = fails(bin().args(["import", "lobster", "--message"]).arg(&m).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:2:", m.display())), "{err}");

    let t = write(
        "t.csv",
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nb,X,1,2,3,buy,1.5,2\nb,X,1,2,3,buy,1.5e3,2\n",
    );
    let err = fails(bin().arg("import").arg("tardis").arg(&t).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:3:", t.display())) && err.contains("price"), "{err}");
    let t = write("u.csv", "a,b,c\n1,2,3\n");
    let err = fails(bin().arg("import").arg("tardis").arg(&t).arg("--out").arg(&tape));
    assert!(err.contains("not a Tardis"), "{err}");

    let b = write(
        "cap.txt",
        "1 {\"stream\":\"x@trade\",\"data\":{\"e\":\"trade\",\"p\":\"1.0\",\"q\":\"1.0\",\"T\":1,\"m\":true}}\n2 {not json\n",
    );
    let err = fails(bin().arg("import").arg("binance").arg(&b).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:2:", b.display())) && err.contains("JSON"), "{err}");

    let c = write(
        "g.csv",
        "exchange_ts,local_ts,symbol,event,side,price,qty,order_id\n1,2,A,add,buy,10.5,3,1\n3,4,A,launch,buy,10.5,3,1\n",
    );
    let err = fails(bin().arg("import").arg("csv").arg(&c).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:3:", c.display())) && err.contains("launch"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn generic_csv_imports_and_replays() {
    let out = tmp("csv");
    let c = out.join("g.csv");
    std::fs::write(
        &c,
        "exchange_ts,local_ts,symbol,event,side,price,qty,order_id,more\n\
         0.5,0.500001,A,add,buy,10.25,3,1,0\n\
         0.6,0.600001,A,add,sell,10.27,2,2,0\n\
         0.7,0.700001,B,level,buy,99.5,1.5,,1\n\
         0.7,0.700001,B,level,sell,99.75,1.5,,0\n\
         0.8,0.800001,A,execute,sell,10.27,1,2,0\n\
         0.9,0.900001,A,trade,,10.26,1,,0\n",
    )
    .unwrap();
    let tape = out.join("g.tape");
    let v = json(bin().args(["import", "csv", "--ts-unit", "s"]).arg(&c).arg("--out").arg(&tape));
    assert_eq!(v["events"], 6);
    let ins = v["header"]["instruments"].as_array().unwrap();
    assert_eq!(ins.len(), 2);
    assert_eq!(ins[0]["symbol"], "A");
    assert_eq!(ins[0]["tick_size"], "0.01");
    assert_eq!(ins[1]["tick_size"], "0.01");
    let r = json(bin().args(["run", "--tape"]).arg(&tape).arg("--out").arg(&out));
    // Book A twice, book B once (one batch), a trade and a book for the execution, a trade.
    assert_eq!(r["strategy_events"], 6);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn importers_apply_the_tape_rules_at_the_offending_line() {
    let dir = tmp("import-rules");
    let tape = dir.join("t.tape");
    let head = "exchange_ts,local_ts,symbol,event,side,price,qty,order_id\n";
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // A UTF-8 BOM (as spreadsheets write) is accepted.
    let c = write("bom.csv", &format!("\u{feff}{head}1,2,A,add,buy,10.5,3,1\n"));
    assert_eq!(json(bin().arg("import").arg("csv").arg(&c).arg("--out").arg(&tape))["events"], 1);
    let refused = |name: &str, rows: &str| {
        let c = write(name, &format!("{head}{rows}"));
        let err = fails(bin().arg("import").arg("csv").arg(&c).arg("--out").arg(&tape));
        (c, err)
    };
    let (c, err) = refused("neg.csv", "1,2,A,add,buy,10.5,3,1\n3,4,A,add,buy,10.5,-3,2\n");
    assert!(
        err.contains(&format!("{}:3: the event has a negative price or size", c.display())),
        "{err}"
    );
    // An empty trade price is not a price of 0.
    let (c, err) = refused("nopx.csv", "1,2,A,trade,buy,,3,\n");
    assert!(err.contains(&format!("{}:2: price \"\" is not a decimal", c.display())), "{err}");
    let (c, err) = refused("back.csv", "5,9,A,add,buy,10.5,3,1\n3,4,A,add,buy,10.5,3,2\n");
    assert!(
        err.contains(&format!(
            "{}:3: the event local time goes backwards on instrument 0 (4 ns after 9 ns)",
            c.display()
        )),
        "{err}"
    );
    // A 4 MB field is quoted in 64 characters.
    let (_, err) = refused("big.csv", &format!("1,2,A,add,buy,{},3,1\n", "9".repeat(4 << 20)));
    assert!(
        err.len() < 600 && err.contains("… ("),
        "{} bytes: {}",
        err.len(),
        &err[..err.len().min(300)]
    );
    // More instruments than a tape can hold: refused at the row that names one too many.
    let rows: String = (0..65_537).map(|i| format!("1,2,S{i},add,buy,1,1,{}\n", i + 1)).collect();
    let (c, err) = refused("many.csv", &rows);
    assert!(err.contains(&format!("{}:65538: more than 65536 instruments", c.display())), "{err}");
    // One order above the largest quantity a tape holds is refused at its line.
    let before = std::fs::read(&tape).unwrap();
    let (c, err) = refused("huge.csv", "1,2,A,add,buy,1,90000000000,1\n");
    assert!(
        err.contains(&format!(
            "{}:2: the event has quantity 90000000000 above the largest",
            c.display()
        )),
        "{err}"
    );
    // Ten orders of the largest quantity at one level: their total overflows, refused at the
    // tenth one's line, and the tape of the first import is byte-identical.
    let max = "10000000000";
    let rows: String = (1..=10).map(|i| format!("{i},{i},A,add,buy,1,{max},{i}\n")).collect();
    let (c, err) = refused("ovf.csv", &rows);
    let overflow = format!(
        "adding {max} to the Buy level at 1, which holds 90000000000, overflows the level's total quantity (at most 92233720368.54775807)"
    );
    assert!(
        err.contains(&format!(
            "{}:11: instrument 0: {overflow}; the tape could not be replayed",
            c.display()
        )),
        "{err}"
    );
    assert_eq!(std::fs::read(&tape).unwrap(), before);
    // The same events on a tape written without an importer: the replay stops at the event
    // with an error naming its chunk and index, no panic, no wrapped total.
    let raw = dir.join("raw.tape");
    let ins = lockstep_sim::InstrumentInfo {
        id: 0,
        symbol: "A".into(),
        venue: "test".into(),
        tick_size: lockstep_sdk::Price(lockstep_sdk::ONE / 100),
        price_scale: 2,
        lot_size: lockstep_sdk::Qty(lockstep_sdk::ONE),
        contract: lockstep_sim::Contract::LINEAR,
        currency: "USD".into(),
        time_zone: "UTC".into(),
    };
    let mut header = lockstep_sim::TapeHeader::new("test", vec![ins]);
    header.chunk_events = 2;
    let mut w =
        lockstep_io::TapeFile::create(&raw, header, lockstep_sim::Compression::None).unwrap();
    let max_qty = lockstep_sdk::Qty(lockstep_sim::MAX_QTY);
    let px = |p: i64| lockstep_sdk::Price(p * lockstep_sdk::ONE);
    // Ten orders of the largest quantity rest at one level; the tenth overflows their total.
    // Two events a chunk: the tenth event is chunk 4's second.
    let adds = (1..=10).map(|order_id| (order_id, px(1), max_qty));
    for (i, (order_id, px, qty)) in adds.enumerate() {
        let side = lockstep_sdk::Side::Buy;
        let msg = lockstep_sim::MarketEvent::Add { order_id, side, px, qty };
        let t = lockstep_sdk::Nanos(i as i64);
        w.push(&lockstep_sim::TapeEvent::new(t, t, 0, msg)).unwrap();
    }
    w.finish().unwrap();
    let err = fails(bin().args(["run", "--no-latency", "--tape"]).arg(&raw));
    assert!(
        err.contains(&format!(
            "tape chunk 4, event 1 of the chunk (tape event 9, instrument 0) cannot be replayed: {overflow}; the tape is invalid, re-import the data"
        )),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // A LOBSTER orderbook level whose size overflows is refused at its line.
    let m = write("X_message_1.csv", "34200.1,1,1,100,5794000,1\n");
    let ob = write("X_orderbook_1.csv", "5795000,100,5794000,99999999999999\n");
    let err = fails(
        bin()
            .args(["import", "lobster", "--message"])
            .arg(&m)
            .arg("--orderbook")
            .arg(&ob)
            .arg("--out")
            .arg(&tape),
    );
    assert!(
        err.contains(&format!(
            "{}:1: orderbook level 1 bid: price 5794000 or size 99999999999999 is out of range",
            ob.display()
        )),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small capture of three streams the tape does not use, a subscription answer, and futures
/// depth diffs chained by `pu` with one break; the local time in `unit_ns` nanoseconds.
fn capture(unit_ns: i64) -> String {
    let mut s = String::new();
    let t0 = 1_723_161_255_000i64; // ms
    let mut line = |i: i64, json: String| {
        let local_ns = (t0 + i) * 1_000_000 + 35_000_000 + i * 1_000;
        s.push_str(&format!("{} {json}\n", local_ns / unit_ns));
    };
    line(0, r#"{"result":null,"id":1}"#.to_owned());
    for (i, (big_u, u, pu)) in [(10, 12, 9), (13, 15, 12), (16, 20, 15), (25, 30, 21), (31, 33, 30)]
        .into_iter()
        .enumerate()
    {
        let i = i as i64 * 10 + 1;
        line(
            i,
            format!(
                r#"{{"stream":"btcusdt@depth@0ms","data":{{"e":"depthUpdate","E":{},"T":{},"s":"BTCUSDT","U":{big_u},"u":{u},"pu":{pu},"b":[["61000.10","{}.5"]],"a":[["61000.20","2"]]}}}}"#,
                t0 + i,
                t0 + i,
                i
            ),
        );
        line(
            i + 1,
            format!(
                r#"{{"stream":"btcusdt@markPrice@1s","data":{{"e":"markPriceUpdate","E":{},"s":"BTCUSDT","p":"61000.15"}}}}"#,
                t0 + i + 1
            ),
        );
        line(
            i + 2,
            format!(
                r#"{{"stream":"btcusdt@trade","data":{{"e":"trade","E":{},"T":{},"s":"BTCUSDT","t":{i},"p":"61000.20","q":"0.010","X":"MARKET","m":false}}}}"#,
                t0 + i + 2,
                t0 + i + 2
            ),
        );
    }
    line(
        60,
        format!(r#"{{"stream":"btcusdt@forceOrder","data":{{"e":"forceOrder","E":{}}}}}"#, t0 + 60),
    );
    line(61, format!(r#"{{"stream":"btcusdt@kline_1m","data":{{"e":"kline","E":{}}}}}"#, t0 + 61));
    s
}

#[test]
fn collector_units_are_detected_and_a_microsecond_capture_equals_its_nanosecond_rewrite() {
    let out = tmp("units");
    let mut tapes = Vec::new();
    for (unit, ns) in [("us", 1_000), ("ns", 1), ("ms", 1_000_000)] {
        let dir = out.join(unit);
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("capture.txt");
        std::fs::write(&input, capture(ns)).unwrap();
        let tape = dir.join("c.tape");
        let v = json(bin().args(["import", "binance"]).arg(&input).arg("--out").arg(&tape));
        assert_eq!(v["local_ts_unit"], unit);
        assert_eq!(v["local_ts_unit_chosen_by"], "exchange times");
        assert_eq!(v["rows"], 18);
        assert_eq!(v["sequence_gaps"], 1, "pu 21 after u 20");
        assert_eq!(
            v["skipped"],
            serde_json::json!({
                "message that is neither a stream message nor a depth snapshot": 1,
                "stream forceOrder": 1,
                "stream kline_1m": 1,
                "stream markPrice@1s": 5,
            })
        );
        assert_eq!(v["events"], 15);
        if unit != "ms" {
            tapes.push(std::fs::read(&tape).unwrap());
        }
        // The wrong unit, given, is refused with the unit and why.
        let wrong = if unit == "ns" { "us" } else { "ns" };
        let err = fails(
            bin()
                .args(["import", "binance", "--local-ts-unit", wrong])
                .arg(&input)
                .arg("--out")
                .arg(dir.join("wrong.tape")),
        );
        assert!(
            err.contains(&format!(
                "local timestamps read as {wrong} (as given by --local-ts-unit)"
            )),
            "{err}"
        );
        assert!(err.contains("days"), "{err}");
        assert!(!dir.join("wrong.tape").exists());
    }
    // Microseconds and the same capture rewritten in nanoseconds: byte-identical tapes.
    assert_eq!(tapes[0], tapes[1]);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn lobster_rows_with_long_time_fractions_and_every_event_type_import() {
    let out = tmp("lobster-types");
    let msg = out.join("XYZ_2024-01-02_34200000_57600000_message_3.csv");
    std::fs::write(
        &msg,
        "34200.0000000010000000001,1,11,100,1000000,1\n\
         34200.1000000009999999,1,12,50,1000100,-1\n\
         34200.2,2,11,10,1000000,1\n\
         34200.3,4,12,20,1000100,-1\n\
         34200.4,5,0,7,1000050,1\n\
         34200.5,6,-1,300,1000050,1\n\
         34200.6,7,0,0,-1,-1\n\
         34200.7,7,0,0,0,-1\n\
         34200.8,7,0,0,1,-1\n\
         34200.9,3,11,90,1000000,1\n",
    )
    .unwrap();
    let tape = out.join("x.tape");
    let v = json(bin().args(["import", "lobster", "--message"]).arg(&msg).arg("--out").arg(&tape));
    assert_eq!((v["rows"].as_u64(), v["events"].as_u64()), (Some(10), Some(10)));
    assert_eq!(v["start_ns"], 34_200_000_000_001i64);
    assert_eq!(v["end_ns"], 34_200_900_000_000i64);
    let i = json(bin().args(["inspect", "--events", "0..2", "--tape"]).arg(&tape));
    assert_eq!(i["instruments"][0]["symbol"], "XYZ");
    // In text, prices and quantities read as decimals, sides as words.
    let text = run_ok(bin().args(["inspect", "--events", "0..2", "--tape"]).arg(&tape));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(": add #11 buy 100 @ 100\n"), "{text}");
    assert!(text.contains(": add #12 sell 50 @ 100.01\n") && !text.contains("Price("), "{text}");
    assert_eq!(i["selected"][1]["local_ns"], 34_200_100_000_001i64);
    assert_eq!(
        kinds(&i),
        [
            ("add", 2),
            ("cancel", 1),
            ("delete", 1),
            ("execute", 1),
            ("hidden_execute", 1),
            ("status", 3),
            ("trade", 1)
        ]
        .map(|(k, n)| (k.to_owned(), n))
        .to_vec()
    );
    let r = json(
        bin().args(["run", "--strategy", "microprice", "--tape"]).arg(&tape).arg("--out").arg(&out),
    );
    assert_eq!(r["events"], 10);
    let _ = std::fs::remove_dir_all(&out);
}
