//! The backtest report: byte-identical across processes, Parquet equal to CSV, statistics checked
//! by hand, and the page rendered by a headless browser.

use crate::common::{bin, hostile_module, json, run_ok, snapshot, tmp};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The files of a report directory except the wall-clock `run.json`, by name.
fn report_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    snapshot(dir).into_iter().filter(|(n, _)| n != "run.json").collect()
}

#[test]
fn backtest_reports_are_byte_identical_across_processes_and_parquet_matches_csv() {
    let out = tmp("report-identical");
    let run = |d: &str| {
        json(
            bin()
                .args(["backtest", "--events", "30000", "--bar", "1s", "--report"])
                .arg(out.join(d))
                .arg("--out")
                .arg(&out),
        )
    };
    let (a, b) = (run("a"), run("b"));
    assert_eq!(a["digest"], b["digest"]);
    let (fa, fb) = (report_files(&out.join("a")), report_files(&out.join("b")));
    let names: Vec<&str> = fa.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "summary.json",
        "orders.csv",
        "orders.parquet",
        "fills.csv",
        "fills.parquet",
        "equity.csv",
        "equity.parquet",
        "equity.svg",
        "equity.png",
        "inventory.svg",
        "inventory.png",
        "prices.svg",
        "prices.png",
        "latency.svg",
        "latency.png",
        "report.html",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for ((na, ba), (nb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ba == bb, "{na} differs between two processes");
    }
    // The wall-clock facts are in run.json, beside them.
    let run_json: Value =
        serde_json::from_slice(&std::fs::read(out.join("a/run.json")).unwrap()).unwrap();
    assert!(run_json["elapsed_ns"].as_u64().unwrap() > 0);
    // Parquet holds exactly the CSV's rows.
    for t in ["orders", "fills", "equity"] {
        let csv = std::fs::read(out.join(format!("a/{t}.csv"))).unwrap();
        let pq = std::fs::read(out.join(format!("a/{t}.parquet"))).unwrap();
        assert_eq!(lockstep_report::parquet_to_csv(&pq).unwrap(), csv, "{t}");
        assert!(csv.iter().filter(|&&c| c == b'\n').count() > 1, "{t} has rows");
    }
    // The summary agrees with the run, and rejects are explained by reason.
    let s: Value =
        serde_json::from_slice(&std::fs::read(out.join("a/summary.json")).unwrap()).unwrap();
    let st = &s["strategies"][0];
    assert_eq!(st["digest"], a["digest"]);
    // One set of counters: the report counts requests as the run's summary does.
    for counter in ["orders", "cancels", "replaces", "rejects", "fills"] {
        assert_eq!(st["total"][counter], a["strategies"][0]["exchange"][counter], "{counter}");
    }
    assert!(st["total"]["replaces"].as_u64().unwrap() > 0);
    // 30,000 events of the synthetic market are under a minute: too few one-second bars for a
    // Sharpe ratio, and the report says so instead of printing one.
    let t = &st["total"];
    assert!(t["bars"].as_u64().unwrap() < 30, "{t}");
    assert!(t["sharpe"].is_null() && t["sortino_annualised"].is_null(), "{t}");
    assert!(t["ratios_note"].as_str().unwrap().contains("at least 30 bars"), "{t}");
    let html = std::fs::read_to_string(out.join("a/report.html")).unwrap();
    assert!(html.contains("too few bars"));
    let rejected: u64 =
        st["rejects"].as_array().unwrap().iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(rejected, st["total"]["rejects"].as_u64().unwrap());
    assert_eq!(a["report"]["dir"], out.join("a").display().to_string());
    let _ = std::fs::remove_dir_all(&out);
}

/// A tape whose mid moves 100 → 102 → 98 → 105 at one-minute steps, and a strategy that buys
/// one unit at the first event (taking the ask at 101): equity per bar -1, 1, -3, 4.
#[test]
fn report_statistics_match_a_hand_computed_equity_series() {
    let out = tmp("report-by-hand");
    let c = out.join("steps.csv");
    std::fs::write(
        &c,
        "exchange_ts,local_ts,symbol,event,side,price,qty,order_id,more\n\
         1,1,A,level,buy,99,5,,1\n\
         1,1,A,level,sell,101,5,,0\n\
         61,61,A,level,sell,103,5,,1\n\
         61,61,A,level,sell,101,0,,1\n\
         61,61,A,level,buy,101,5,,1\n\
         61,61,A,level,buy,99,0,,0\n\
         121,121,A,level,buy,97,5,,1\n\
         121,121,A,level,buy,101,0,,1\n\
         121,121,A,level,sell,99,5,,1\n\
         121,121,A,level,sell,103,0,,0\n\
         181,181,A,level,sell,106,5,,1\n\
         181,181,A,level,sell,99,0,,1\n\
         181,181,A,level,buy,104,5,,1\n\
         181,181,A,level,buy,97,0,,0\n",
    )
    .unwrap();
    let tape = out.join("steps.tape");
    run_ok(bin().args(["import", "csv", "--ts-unit", "s"]).arg(&c).arg("--out").arg(&tape));
    let buyer = hostile_module(
        &out,
        "buyer",
        "(if (result i32) (i64.eq (global.get $next) (i64.const 1))
           (then
             (call $limit (i32.const 0) (i64.const 1))
             (i64.store offset=16 (i32.const 0x10000) (i64.const 20000000000))
             (global.set $next (i64.const 2))
             (i32.const 1))
           (else (i32.const 0)))",
    );
    let dir = out.join("report");
    let v = json(
        bin()
            .args(["backtest", "--tape"])
            .arg(&tape)
            .arg("--strategy")
            .arg(&buyer)
            .arg("--report")
            .arg(&dir)
            // Four bars: below the default least for a ratio, allowed here to check the sums.
            .args(["--min-bars", "2"])
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(v["strategies"][0]["exchange"]["fills"], 1);
    let equity = std::fs::read_to_string(dir.join("equity.csv")).unwrap();
    let rows: Vec<(&str, &str)> = equity
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1], f[8])
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("60000000000", "-1"),
            ("120000000000", "1"),
            ("180000000000", "-3"),
            ("182000000000", "4")
        ]
    );
    let s: Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let t = &s["strategies"][0]["total"];
    // Changes -1, 2, -4, 7: mean 1, sample variance 66/3 = 22, downside (1 + 16)/4.
    let close = |v: &Value, want: f64| (v.as_f64().unwrap() - want).abs() < 1e-12;
    assert!(close(&t["sharpe"], 1.0 / 22f64.sqrt()), "{}", t["sharpe"]);
    assert!(close(&t["sortino"], 1.0 / 4.25f64.sqrt()), "{}", t["sortino"]);
    let per_year = s["bars_per_year"].as_f64().unwrap();
    assert_eq!(per_year, 98_280.0);
    assert!(close(&t["sharpe_annualised"], per_year.sqrt() / 22f64.sqrt()));
    // Peak 1 at 120 s, trough -3 at 180 s.
    assert_eq!(t["max_drawdown"], "4");
    assert_eq!(t["max_drawdown_peak_ns"], 120_000_000_000i64);
    assert_eq!(t["max_drawdown_ns"], 180_000_000_000i64);
    assert_eq!(t["net_pnl"], "4");
    assert_eq!(t["equity_end"], "4");
    assert_eq!(t["turnover"], "101");
    assert_eq!((t["fills"].as_u64(), t["taker_fills"].as_u64()), (Some(1), Some(1)));
    assert_eq!(t["maker_share"], 0.0);
    assert_eq!(t["fill_ratio"], 1.0);
    assert_eq!((t["inventory_min"].as_str(), t["inventory_max"].as_str()), (Some("0"), Some("1")));
    // Flat for the 20 us of order entry, then long one unit until the last event at 181 s.
    let twa = t["inventory_mean"].as_f64().unwrap();
    assert!((twa - (180e9 - 20_000.0) / 180e9).abs() < 1e-12, "{twa}");
    let fills = std::fs::read_to_string(dir.join("fills.csv")).unwrap();
    assert!(fills.lines().nth(1).unwrap().contains(",buy,101,1,0,taker,0,,1"), "{fills}");
    let _ = std::fs::remove_dir_all(&out);
}

/// The page rendered by a real headless browser: a screenshot that is not blank, and the
/// summary's values in the DOM. Chromium comes from the system packages (`.ci/run` installs
/// it); without one the test says so and passes, unless LOCKSTEP_REQUIRE_BROWSER=1.
#[test]
fn report_html_renders_in_headless_chromium() {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
    else {
        assert!(
            std::env::var("LOCKSTEP_REQUIRE_BROWSER").is_err(),
            "LOCKSTEP_REQUIRE_BROWSER is set but no chromium is installed (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium on PATH (install it with apt-get install chromium)");
        return;
    };
    let out = tmp("report-browser");
    let dir = out.join("r");
    run_ok(
        bin()
            .args(["backtest", "--events", "30000", "--bar", "1s", "--report"])
            .arg(&dir)
            .arg("--out")
            .arg(&out),
    );
    let page = format!("file://{}", dir.join("report.html").canonicalize().unwrap().display());
    let headless = |extra: &[&str]| {
        let mut c = Command::new(browser);
        c.args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            .arg(format!("--user-data-dir={}", out.join("profile").display()))
            .args(extra)
            .arg(&page);
        run_ok(&mut c)
    };
    let dom = String::from_utf8(headless(&["--dump-dom"]).stdout).unwrap();
    let s: Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let st = &s["strategies"][0]["total"];
    for (id, value) in [
        ("s0-net_pnl", st["net_pnl"].as_str().unwrap().to_owned()),
        ("s0-fills", st["fills"].to_string()),
        ("digest", s["digest"].as_str().unwrap().to_owned()),
    ] {
        let want = format!("id=\"{id}\">{value}<");
        assert!(dom.contains(&want), "the rendered DOM lacks {want}");
    }
    assert!(dom.matches("<svg").count() >= 4, "the four charts are in the page");
    let shot = out.join("shot.png");
    headless(&["--window-size=1100,1600", &format!("--screenshot={}", shot.display())]);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let step = info.color_type.samples();
    let first = &px[..step];
    let differing = px.chunks(step).filter(|p| p != &first).count();
    assert!(
        differing * 20 > px.len() / step,
        "the screenshot is (nearly) blank: {differing} pixels differ"
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// `--fuel-report`: each WebAssembly strategy gets its certificate (whose observed maximum is
/// the run's own) and its profile in the report, byte-identical run to run but for the
/// certificate's measured times; a native run has no fuel and gets no section.
#[test]
fn fuel_report_adds_each_strategys_certificate_and_profile() {
    let out = tmp("report-fuel");
    let run = |d: &str, extra: &[&str]| {
        json(
            bin()
                .args(["backtest", "--events", "20000", "--fuel-report", "--no-latency"])
                .args(["--strategy", "avellaneda-stoikov", "--strategy", "microprice"])
                .args(extra)
                .arg("--report")
                .arg(out.join(d))
                .arg("--out")
                .arg(&out),
        )
    };
    let (a, _) = (run("a", &[]), run("b", &[]));
    let strip = |d: &str| -> Vec<(String, Vec<u8>)> {
        report_files(&out.join(d))
            .into_iter()
            .filter(|(n, _)| !n.starts_with("certificate") && n != "report.html")
            .collect()
    };
    assert_eq!(strip("a"), strip("b"), "the fuel profiles differ between runs");
    let html = std::fs::read_to_string(out.join("a/report.html")).unwrap();
    for k in 0..2 {
        let cert: Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("a/certificate-{k}.json"))).unwrap(),
        )
        .unwrap();
        let s = &a["strategies"][k];
        assert_eq!(cert["strategy"], s["name"]);
        assert_eq!(cert["observed"][0]["max_fuel"], s["fuel"]["max_per_event"], "{k}");
        assert!(cert["certified_fuel"].as_u64() >= s["fuel"]["max_per_event"].as_u64());
        let prof: Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("a/profile-{k}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(prof["total_fuel"], s["fuel"]["total"], "{k}: the profile lost fuel");
        assert!(out.join(format!("a/fuel-flamegraph-{k}.svg")).is_file());
        assert!(html.contains(&format!("id=\"s{k}-certificate\"")), "{k}");
        assert!(html.contains(&format!("src=\"fuel-flamegraph-{k}.svg\"")), "{k}");
        let observed = format!("id=\"s{k}-cert-observed\">{}<", s["fuel"]["max_per_event"]);
        assert!(html.contains(&observed), "{k}: {observed}");
    }
    assert!(html.contains("Reading the flame graph") && html.contains("Reading the certificate"));
    assert!(!html.contains("<script"), "the page must stay script-free");
    run("native", &["--native"]);
    let native = std::fs::read_to_string(out.join("native/report.html")).unwrap();
    assert!(!native.contains("-fuel\"") && !out.join("native/certificate-0.json").exists());
}

/// An exact decimal of the summary as fixed point with 8 decimals.
fn fixed(v: &Value) -> i128 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a decimal: {v}"));
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<8}");
    let x = int.parse::<i128>().unwrap() * 100_000_000 + frac[..8].parse::<i128>().unwrap();
    if neg { -x } else { x }
}

/// The quant sections: markouts by side, liquidity and horizon, PnL attribution that sums to
/// the gross PnL, round trips and the per-period table, identical across processes; times as
/// dates and clock times on the venue's clock (New York for the GOOG tape, when present).
#[test]
fn report_has_markouts_attribution_round_trips_periods_and_local_times() {
    let out = tmp("report-quant");
    let run = |d: &str| {
        run_ok(bin().args(["backtest", "--report"]).arg(out.join(d)).arg("--out").arg(&out))
    };
    run("a");
    run("b");
    for name in [
        "summary.json",
        "fills.csv",
        "fills.parquet",
        "markouts.svg",
        "markouts.png",
        "report.html",
    ] {
        let (a, b) =
            (std::fs::read(out.join("a").join(name)), std::fs::read(out.join("b").join(name)));
        assert!(a.unwrap() == b.unwrap(), "{name} differs between two processes");
    }
    let s: Value =
        serde_json::from_slice(&std::fs::read(out.join("a/summary.json")).unwrap()).unwrap();
    let st = &s["strategies"][0];
    let m = st["markouts"].as_array().unwrap();
    assert_eq!(m.len(), 16, "buy/sell × maker/taker × 4 horizons");
    assert!(m.iter().any(|r| r["count"].as_u64().unwrap() > 0), "{m:?}");
    // The default demo: bars default to one second on the synthetic market, enough of them
    // for a Sharpe ratio.
    assert!(st["total"]["bars"].as_u64().unwrap() >= 30, "{}", st["total"]);
    let attribution = st["attribution"].as_array().unwrap();
    assert!(!attribution.is_empty());
    for a in attribution {
        assert_eq!(
            fixed(&a["spread_capture"]) + fixed(&a["inventory_pnl"]),
            fixed(&a["gross_pnl"])
        );
        let i = a["instrument"].as_u64().unwrap();
        let stats = st["instruments"].as_array().unwrap().iter().find(|x| x["instrument"] == i);
        assert_eq!(a["gross_pnl"], stats.unwrap()["gross_pnl"]);
    }
    let trips = &st["round_trips"][0];
    assert!(trips["trips"].as_u64().unwrap() > 0, "{trips}");
    assert!(trips["mean_holding"].is_string(), "{trips}");
    assert_eq!(st["periods"]["period"], "bar");
    assert!(!st["periods"]["rows"].as_array().unwrap().is_empty());
    assert_eq!(s["tape"]["time_zone"], "UTC");
    assert!(s["tape"]["start_time"].as_str().unwrap().ends_with(" UTC"), "{}", s["tape"]);
    let csv = std::fs::read_to_string(out.join("a/fills.csv")).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",mid,markout_100ms,markout_1s,markout_10s,markout_60s")
    );
    let html = std::fs::read_to_string(out.join("a/report.html")).unwrap();
    for id in
        ["s0-markouts", "s0-attribution", "s0-round-trips", "s0-periods", "s0-markouts\"><svg"]
    {
        assert!(html.contains(&format!("id=\"{id}")), "{id} missing from the page");
    }
    let Some(d) = crate::common::data() else { return };
    let tape = out.join("goog.tape");
    crate::common::import_goog(&d, &tape);
    run_ok(
        bin()
            .args(["backtest", "--tape"])
            .arg(&tape)
            .arg("--report")
            .arg(out.join("g"))
            .arg("--out")
            .arg(&out),
    );
    let s: Value =
        serde_json::from_slice(&std::fs::read(out.join("g/summary.json")).unwrap()).unwrap();
    assert_eq!(s["tape"]["time_zone"], "America/New_York");
    let start = s["tape"]["start_time"].as_str().unwrap();
    assert!(start.starts_with("2012-06-21 09:") && start.ends_with(" America/New_York"), "{start}");
    let html = std::fs::read_to_string(out.join("g/report.html")).unwrap();
    assert!(
        html.contains("<span id=\"tape-start\">2012-06-21 09:"),
        "no local date-time on the page"
    );
    assert_eq!(s["strategies"][0]["periods"]["period"], "hour", "a 6.5-hour day goes by the hour");
}
