//! Golden digests: the synthetic market and the shared real data replayed on both tiers (and
//! natively), against the digests in `golden`.

use crate::common::{
    BTC_CAPTURE, COINM_CAPTURE, GOOG_MSG, GOOG_OB, USDM_CAPTURE, assert_goldens, bin, data, fails,
    import_files, import_goog, inspect, json, run_goldens, tape_goldens, tmp,
};
use crate::golden;
use serde_json::Value;
use std::path::Path;

#[test]
fn golden_digests_of_the_synthetic_market() {
    let out = tmp("golden-synth");
    let run = || {
        let mut c = bin();
        c.args(["run", "--events", "20000", "--strategy", "noop", "--strategy"])
            .args(["avellaneda-stoikov", "--strategy", "microprice", "--out"])
            .arg(&out);
        c
    };
    assert_goldens(run, &golden::SYNTH_20K);
    // The native builds do the same: `digest` does not depend on how the strategy runs.
    let native = json(run().arg("--native"));
    for (s, g) in native["strategies"].as_array().unwrap().iter().zip(&golden::SYNTH_20K) {
        assert_eq!((s["name"].as_str(), s["digest"].as_str()), (Some(g.0), Some(g.1)));
        assert!(s["tier"].is_null());
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// Every built-in strategy over `tape`: the same digest on both tiers.
fn every_builtin_agrees_across_tiers(tape: &Path, out: &Path) {
    let names = json(bin().arg("strategies"));
    let names: Vec<&str> =
        names["strategies"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let run = |tier: &str| {
        let mut c = bin();
        c.args(["run", "--no-latency", "--tier", tier, "--tape"]).arg(tape).arg("--out").arg(out);
        for n in &names {
            c.args(["--strategy", n]);
        }
        json(&mut c)
    };
    let (interpreted, compiled) = (run("interpreter"), run("compiled"));
    let pick = |v: &Value| {
        v["strategies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let fuel = s["fuel_digest"].clone();
                (s["name"].clone(), s["digest"].clone(), s["actions"].clone(), fuel)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(pick(&interpreted).len(), names.len());
    assert_eq!(pick(&interpreted), pick(&compiled), "{}", tape.display());
    assert_eq!(interpreted["fuel_digest"], compiled["fuel_digest"]);
}

#[test]
fn golden_digests_of_the_lobster_goog_sample() {
    let Some(d) = data() else { return };
    let out = tmp("goog");
    let tape = out.join("goog5.tape");
    let v = import_goog(&d, &tape);
    assert_eq!(v["events"], golden::GOOG_EVENTS);
    assert_eq!(v["rows"], golden::GOOG_ROWS);
    assert_eq!(v["header"]["instruments"][0]["symbol"], "GOOG");
    // GOOG quotes in cents: the greatest common divisor of its limit prices (messages of types
    // 1-4 and every orderbook level) is $0.01; its 50 hidden midpoint fills at half a cent are
    // counted, not taken as the tick.
    let t = &v["ticks"][0];
    assert_eq!(
        (t["tick_size"].as_str(), t["tick_source"].as_str()),
        (Some("0.01"), Some("inferred"))
    );
    assert_eq!(t["prices"], golden::GOOG_LIMIT_PRICES);
    let off = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["note"].as_str().unwrap().starts_with("message prices off the tick"))
        .map(|n| n["count"].as_u64().unwrap());
    assert_eq!(off, Some(50));
    let r = tape_goldens(&tape, &out, &["noop", "microprice"], &golden::GOOG);
    assert_eq!(r["events"], golden::GOOG_EVENTS);
    let b = json(bin().args(["run", "--book-only", "--tape"]).arg(&tape).arg("--out").arg(&out));
    assert_eq!(b["digest"], golden::GOOG_BOOK);
    every_builtin_agrees_across_tiers(&tape, &out);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_goog_day_split_in_two_files_replays_as_the_whole_day() {
    let Some(d) = data() else { return };
    let out = tmp("goog-split");
    // The same file names in two folders: LOBSTER's own pairing of message and orderbook.
    let cut = 56_000;
    let mut args: Vec<std::ffi::OsString> = vec!["import".into(), "lobster".into()];
    let mut obs = Vec::new();
    for (part, range) in [("a", 0..cut), ("b", cut..usize::MAX)] {
        std::fs::create_dir_all(out.join(part)).unwrap();
        for (file, flag) in [(GOOG_MSG, "--message"), (GOOG_OB, "--orderbook")] {
            let text = std::fs::read_to_string(d.join(file)).unwrap();
            let rows: Vec<&str> = text.lines().collect();
            let end = range.end.min(rows.len());
            let p = out.join(part).join(Path::new(file).file_name().unwrap());
            std::fs::write(&p, rows[range.start..end].join("\n") + "\n").unwrap();
            if flag == "--message" {
                args.extend([flag.into(), p.into_os_string()]);
            } else {
                obs.extend([flag.into(), p.into_os_string()]);
            }
        }
    }
    args.extend(obs);
    let tape = out.join("split.tape");
    let v = json(bin().args(&args).arg("--out").arg(&tape));
    assert_eq!(v["events"], golden::GOOG_EVENTS);
    assert_eq!(v["rows"], golden::GOOG_ROWS);
    assert_eq!(v["header"]["instruments"].as_array().unwrap().len(), 1);
    assert_eq!(v["ticks"][0]["tick_size"], "0.01");
    // The replay of the two files is the replay of the whole day: the GOOG goldens.
    tape_goldens(&tape, &out, &["noop", "microprice"], &golden::GOOG);
    let b = json(bin().args(["run", "--book-only", "--tape"]).arg(&tape).arg("--out").arg(&out));
    assert_eq!(b["digest"], golden::GOOG_BOOK);
    // Two message files and one orderbook file: refused, saying how to pair them.
    let err = fails(bin().args(&args[..args.len() - 2]).arg("--out").arg(&tape));
    assert!(err.contains("1 --orderbook for 2 --message"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn golden_digests_of_the_binance_capture() {
    let Some(d) = data() else { return };
    let out = tmp("btc");
    let tape = out.join("btc.tape");
    let v = import_files("binance", &[d.join(BTC_CAPTURE)], &tape);
    assert_eq!(v["events"], golden::BTC_EVENTS);
    run_goldens(&tape, &out, &golden::BTC);
    every_builtin_agrees_across_tiers(&tape, &out);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn binance_futures_captures_chain_by_pu_skip_nothing_and_report_the_clock_skew() {
    let Some(d) = data() else { return };
    let out = tmp("futures");
    for (file, rows, events, gaps, golden) in [
        (USDM_CAPTURE, 93_954u64, golden::USDM_EVENTS, golden::USDM_GAPS, &golden::USDM),
        (COINM_CAPTURE, 48_270, golden::COINM_EVENTS, golden::COINM_GAPS, &golden::COINM),
    ] {
        let tape = out.join("f.tape");
        let v = import_files("binance", &[d.join(file)], &tape);
        assert_eq!(v["rows"], rows, "{file}");
        assert_eq!(v["events"], events, "{file}");
        assert_eq!(v["sequence_gaps"], gaps, "{file}");
        assert_eq!(v["skipped"], serde_json::json!({}), "{file}");
        assert_eq!(v["local_ts_unit"], "ns", "{file}");
        assert_eq!(v["local_ts_unit_chosen_by"], "exchange times", "{file}");
        // The collector runs about 1.27 s behind the exchange.
        let off = v["clock_offset_ns"].as_i64().unwrap();
        assert!((-1_300_000_000..-1_240_000_000).contains(&off), "{file}: {off}");
        let i = inspect(&tape);
        assert_eq!(i["events"], events);
        assert_eq!(
            (i["start_ns"].clone(), i["end_ns"].clone()),
            (v["start_ns"].clone(), v["end_ns"].clone())
        );
        run_goldens(&tape, &out, golden);
    }
    let _ = std::fs::remove_dir_all(&out);
}
