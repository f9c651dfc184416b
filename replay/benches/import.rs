//! Import throughput on every kind of shared real data: rows per second and input megabytes
//! per second (of the files as stored: gzip and zstd inputs count compressed) for each
//! importer, release build. Prints numbers; asserts nothing.
//!
//! `cargo bench -p lockstep-replay --bench import` (`BENCH_REPS` sets the repetitions, 5 by
//! default; the median and the best are printed). Inputs under `../shared/data` that are
//! absent are skipped with a note; a generated generic CSV is always measured.

use lockstep_host::Stopwatch;
use lockstep_import::{
    ImportOptions, ImportSummary, LobsterInput, TimeUnit, import_binance, import_csv,
    import_databento, import_lobster, import_tardis,
};
use std::path::{Path, PathBuf};

/// Repetitions per measurement: `BENCH_REPS`, 5 by default.
fn reps() -> usize {
    std::env::var("BENCH_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1)
}

/// Imports `inputs` with `f` several times; prints the median and best rows/s and MB/s.
fn measure(name: &str, inputs: &[PathBuf], mut f: impl FnMut() -> ImportSummary) {
    if let Some(missing) = inputs.iter().find(|p| !p.is_file()) {
        println!("{name:<46} skipped: {} not found", missing.display());
        return;
    }
    let bytes: u64 = inputs.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let mut rows = 0;
    let mut events = 0;
    let mut ns: Vec<u64> = (0..reps())
        .map(|_| {
            let sw = Stopwatch::start();
            let s = f();
            let t = sw.elapsed_ns().max(1);
            (rows, events) = (s.rows, s.events);
            t
        })
        .collect();
    ns.sort_unstable();
    let (median, best) = (ns[ns.len() / 2] as f64, ns[0] as f64);
    println!(
        "{name:<46} {rows:>8} rows {events:>8} events {:>6.2} MB | median {:>6.2} M rows/s {:>7.1} MB/s | best {:>6.2} M rows/s {:>7.1} MB/s",
        bytes as f64 / 1e6,
        rows as f64 * 1e3 / median,
        bytes as f64 * 1e3 / median,
        rows as f64 * 1e3 / best,
        bytes as f64 * 1e3 / best,
    );
}

/// A generic CSV of `n` rows: adds, executions, cancels, level updates and trades of three
/// symbols.
fn generic_csv(path: &Path, n: usize) {
    let mut text = String::from("exchange_ts,local_ts,symbol,event,side,price,qty,order_id,more\n");
    for i in 0..n {
        let ev = ["add", "add", "execute", "level", "trade"][i % 5];
        let side = if i % 2 == 0 { "buy" } else { "sell" };
        text.push_str(&format!(
            "{},{},S{},{ev},{side},{}.{:02},{},{},0\n",
            1_700_000_000_000_000_000u64 + i as u64 * 1000,
            1_700_000_000_000_050_000u64 + i as u64 * 1000,
            i % 3,
            100 + i % 17,
            i % 100,
            1 + i % 9,
            i / 5 + 1
        ));
    }
    std::fs::write(path, text).expect("write generic CSV");
}

/// Named sets of shared data files (paths under the data folder) one importer reads together.
type Sets = [(&'static str, &'static [&'static str])];

/// Binance captures of the hftbacktest collector, one file each.
const BINANCE: &Sets = &[
    ("binance spot BTCUSDT capture (gzip)", &["hftbacktest/spot/btcusdt_20240808.gz"]),
    ("binance USD-M BTCUSDT capture (gzip)", &["hftbacktest/usdm/btcusdt_20240808.gz"]),
    ("binance COIN-M BTCUSD_PERP capture (gzip)", &["hftbacktest/cm/btcusd_perp_20240808.gz"]),
];

/// Tardis CSVs of NautilusTrader's test data.
const TARDIS: &Sets = &[
    (
        "tardis trades + quotes",
        &["nautilus_trader/tardis/trades.csv", "nautilus_trader/tardis/quotes.csv"],
    ),
    (
        "tardis incremental_book_L2 (deribit)",
        &["nautilus_trader/tardis/deribit_incremental_book_L2_BTC-PERPETUAL.csv"],
    ),
    (
        "tardis book_snapshot_25 (binance-futures)",
        &["nautilus_trader/tardis/binance-futures_book_snapshot_25_BTCUSDT.csv"],
    ),
];

/// Databento samples with their definitions.
const DATABENTO: &Sets = &[
    (
        "databento MBO ESH4 + definition (zstd)",
        &[
            "databento/esh4-glbx-mdp3-20231224.mbo.dbn.zst",
            "databento/definition-glbx-es-fut.dbn.zst",
        ],
    ),
    (
        "databento MBP-1 + trades + definition (zstd)",
        &[
            "databento/bars_futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst",
            "databento/bars_futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst",
            "databento/bars_futures_definition.dbn.zst",
        ],
    ),
    (
        "databento BBO-1m futures + options (zstd)",
        &[
            "databento/opt-cat_futures_bbo-1m_2024-05-09T09-55_2024-05-09T10-05.dbn.zst",
            "databento/opt-cat_options_bbo-1m_2024-05-09T09-55_2024-05-09T10-05.dbn.zst",
            "databento/opt-cat_options_definition.dbn.zst",
        ],
    ),
];

/// Generic CSVs of NautilusTrader's test data.
const CSV: &Sets = &[
    (
        "csv: Binance depth snapshot + update",
        &[
            "nautilus_trader/binance/btcusdt-depth-snap.csv",
            "nautilus_trader/binance/btcusdt-depth-update.csv",
        ],
    ),
    ("csv: TrueFX USDJPY ticks", &["nautilus_trader/truefx/usdjpy-ticks.csv"]),
];

/// Measures `import` on each of `sets`, its files under `data`.
fn measure_sets(data: &Path, sets: &Sets, import: impl Fn(&[PathBuf]) -> ImportSummary) {
    for (name, list) in sets {
        let files: Vec<PathBuf> = list.iter().map(|p| data.join(p)).collect();
        measure(name, &files, || import(&files));
    }
}

/// Measures the LOBSTER importer on the GOOG samples of levels 1 and 5, with and without the
/// orderbook file.
fn measure_lobster(data: &Path, tape: &Path, opts: &ImportOptions) {
    for level in [1, 5] {
        let msg =
            data.join(format!("lobster/GOOG_2012-06-21_34200000_57600000_message_{level}.csv"));
        let ob =
            data.join(format!("lobster/GOOG_2012-06-21_34200000_57600000_orderbook_{level}.csv"));
        measure(
            &format!("lobster GOOG level {level}, with orderbook"),
            &[msg.clone(), ob.clone()],
            || {
                import_lobster(&[LobsterInput::new(&msg).with_orderbook(&ob)], tape, opts)
                    .expect("lobster")
            },
        );
        measure(
            &format!("lobster GOOG level {level}, messages only"),
            std::slice::from_ref(&msg),
            || import_lobster(&[LobsterInput::new(&msg)], tape, opts).expect("lobster"),
        );
    }
}

fn main() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let dir = std::env::temp_dir().join(format!("lockstep-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let tape = dir.join("t.tape");
    let opts = ImportOptions::default();
    if !data.is_dir() {
        println!(
            "-- shared data not found at {}: only the generated CSV is measured",
            data.display()
        );
    }
    println!("-- import throughput, {} repetitions (BENCH_REPS)", reps());
    measure_lobster(&data, &tape, &opts);
    measure_sets(&data, BINANCE, |f| import_binance(f, &tape, &opts).expect("binance"));
    measure_sets(&data, TARDIS, |f| import_tardis(f, &tape, &opts).expect("tardis"));
    measure_sets(&data, DATABENTO, |f| import_databento(f, &tape, &opts).expect("databento"));
    measure_sets(&data, CSV, |f| import_csv(f, &tape, TimeUnit::Nanos, &opts).expect("csv"));
    let generated = [dir.join("generic.csv")];
    generic_csv(&generated[0], 200_000);
    measure("csv: generic, generated (200,000 rows)", &generated, || {
        import_csv(&generated, &tape, TimeUnit::Nanos, &opts).expect("csv")
    });
    let _ = std::fs::remove_dir_all(&dir);
}
