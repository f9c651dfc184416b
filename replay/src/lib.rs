//! # lockstep-replay
//!
//! Backtesting by market replay, with proof of determinism and a worst-case latency report.
//!
//! - **Tapes** ([`TapeWriter`], [`TapeReader`]): a versioned binary format, events in
//!   checksummed chunks, read chunk by chunk in bounded memory. Importers turn LOBSTER,
//!   Tardis, Binance (hftbacktest captures), Databento DBN and CSV into tapes, parsing
//!   timestamps and prices from text to integers exactly, several files merged by local
//!   time. [`Synth`] generates the embedded default market.
//! - **Order book** ([`Book`]): order by order with FIFO queues, L2 updates as unattributed
//!   level quantity, preallocated, checked against LOBSTER's own book by [`book_check`].
//! - **Backtests** ([`Session`]): strategies (WebAssembly through `lockstep-engine`, or their
//!   native builds) receive SDK events; their orders go to a simulated exchange with latency,
//!   queue position and fees.
//! - **Determinism**: every run yields a [`Digest`] over every action, fill and unit of fuel;
//!   [`first_divergence`] finds where two traced runs part.
//! - **Jitter** ([`JitterRecorder`]): per-event latency in HdrHistogram, measured from when
//!   each event was due or handed over, with `.hlog` and `.hgrm` output.
//!
//! ```no_run
//! use lockstep_replay::{EventSource, Session, SessionConfig, StrategySpec, Synth, SynthConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut market = Synth::new(SynthConfig::default());
//! let mm = StrategySpec::resolve("avellaneda-stoikov", None, false)?;
//! let session = Session::new(market.header(), &[mm], SessionConfig::default())?;
//! let out = session.run(&mut market, &mut |_| {})?;
//! println!("digest {}", lockstep_replay::hex(&out.report.digest));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

// The deterministic core: builds without `host`, for wasm32-unknown-unknown too.
mod blotter;
mod book;
mod digest;
mod exchange;
mod jitter;
mod session;
mod synth;
mod tape;
mod units_serde;

// Files, clocks, engines and reports: the `host` feature.
#[cfg(feature = "host")]
mod atomic;
#[cfg(feature = "host")]
mod book_check;
#[cfg(feature = "host")]
mod chart;
#[cfg(feature = "host")]
mod import;
#[cfg(feature = "host")]
mod inspect;
#[cfg(feature = "host")]
mod report;
#[cfg(feature = "host")]
mod sweep;
#[cfg(feature = "host")]
mod timing;
#[cfg(feature = "host")]
mod trace;

#[cfg(feature = "host")]
pub use atomic::{
    AtomicFile, SameFileError, refuse_overwriting_inputs, temp_path, write_atomic, write_via_temp,
};
pub use blotter::{
    Blotter, BlotterConfig, EquityRow, FillRow, MAX_ROWS, MINUTE_NS, OrderKind, OrderRow,
    OrderStatus, PriceSample, RequestKind, reject_reason_hint, reject_reason_name,
};
pub use book::{Applied, Book, BookStats, LevelOverflow, OrderView};
#[cfg(feature = "host")]
pub use book_check::{BookCheckReport, MismatchClass, book_check};
#[cfg(feature = "host")]
pub use chart::{
    ChartError, DrawResult, FONT, Rendered, clock_label, percentile_label, percentile_x,
    register_font, render,
};
pub use digest::{Digest, combine, hex};
pub use exchange::{
    BudgetExceeded, ExchangeConfig, ExchangeStats, ExchangeSummary, FeeModel, Fees, FifoQueue,
    InstrumentSummary, Latency, LatencyModel, Models, Money, QueuePosition, RestingOrder,
    VenueBudget, VenueBudgets,
};
#[cfg(feature = "host")]
pub use import::binance::{LocalTsUnit, MAX_CLOCK_OFFSET_NS, import_binance};
#[cfg(feature = "host")]
pub use import::csv::{TimeUnit, import_csv};
#[cfg(feature = "host")]
pub use import::databento::import_databento;
#[cfg(feature = "host")]
pub use import::lobster::{LobsterInput, import_lobster};
#[cfg(feature = "host")]
pub use import::tardis::import_tardis;
#[cfg(feature = "host")]
pub use import::{
    ImportError, ImportOptions, ImportSummary, TickChoice, TickSource, TsUnitChoice,
    parse_seconds_ns,
};
#[cfg(feature = "host")]
pub use inspect::{
    ShownEvent, TapeInspection, TapeInstrument, TapeTime, TopOfBook, event_kind_name, inspect_tape,
    iso8601,
};
pub use jitter::{
    JitterRecorder, LatencyReport, MAX_TRACKABLE_NS, Percentiles, SIGNIFICANT_DIGITS, WORST_KEPT,
    WorstEvent, format_ns, percentile_distribution,
};
#[cfg(feature = "host")]
pub use report::{
    DEFAULT_YEAR_NS, InstrumentRef, RejectSummary, Report, ReportConfig, ReportError, ReportFile,
    SimLatency, Stats, StrategySummary, Summary, TapeSummary, build_report, parquet_to_csv,
    summarize,
};
pub use session::{
    CLOSING_WINDOW_NS, Pacing, RunOutput, RunReport, RunnerSpec, Session, SessionConfig,
    StrategyReport,
};
#[cfg(feature = "host")]
pub use session::{
    MAX_MODULE_BYTES, SessionError, StrategyListing, StrategySource, StrategySpec,
    strategy_listing, trace_path,
};
#[cfg(feature = "host")]
pub use sweep::{
    Grid, MAX_POINTS, PointResult, Shard, SweepError, SweepOutput, SweepPlan, TapeRef, merge,
};
pub use synth::{DEFAULT_SYNTH_EVENTS, DEFAULT_SYNTH_SEED, Synth, SynthConfig};
pub use tape::{
    Compression, DEFAULT_CHUNK_EVENTS, EventSource, FLAG_MORE, FORMAT_VERSION, InstrumentInfo,
    MAX_INSTRUMENTS, MarketEvent, MemorySource, TapeError, TapeEvent, TapeHeader, TapeReader,
    TapeWriter,
};
#[cfg(feature = "host")]
pub use timing::Stopwatch;
#[cfg(feature = "host")]
pub use trace::{Divergence, TraceReader, TraceWriter, TracedEvent, first_divergence};

/// Seeded mutations for the fuzz-style tests (stable Rust, no fuzzing engine): deterministic
/// per seed, so a failing case is reproduced by its number. CI runs a few thousand cases; a
/// long run of the tape, importer and sanitiser fuzzers:
///
/// ```text
/// LOCKSTEP_FUZZ_CASES=1000000 cargo test --release -p lockstep-replay -p lockstep-sdk fuzz_
/// ```
///
/// Module loading is fuzzed in the engine's integration tests (`LOCKSTEP_FUZZ_CASES` there
/// counts mutants per seed module, each run on both tiers):
///
/// ```text
/// LOCKSTEP_FUZZ_CASES=20000 cargo test --release -p lockstep-engine --test integration fuzz_
/// ```
#[cfg(test)]
pub(crate) struct FuzzRng(lockstep_sdk::SplitMix64);

#[cfg(test)]
impl FuzzRng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(lockstep_sdk::SplitMix64::new(seed))
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0.below(n.max(1) as u64) as usize
    }
    /// One to four random edits: flip a bit, overwrite a byte with an edge value, cut the
    /// end, insert bytes, or duplicate a range.
    pub(crate) fn mutate(&mut self, b: &mut Vec<u8>) {
        for _ in 0..1 + self.below(4) {
            let at = self.below(b.len());
            match self.below(5) {
                0 if !b.is_empty() => b[at] ^= 1 << self.below(8),
                1 if !b.is_empty() => b[at] = [0, 0xff, 0x7f, 0x80, b'\n', b','][self.below(6)],
                2 => b.truncate(at),
                3 => {
                    let v = self.next().to_le_bytes();
                    b.splice(at..at, v[..1 + self.below(8)].iter().copied());
                }
                _ => {
                    let end = (at + self.below(64)).min(b.len());
                    let dup = b[at..end].to_vec();
                    b.splice(at..at, dup);
                }
            }
        }
    }
}

/// Cases per fuzz-style test: `default`, or `LOCKSTEP_FUZZ_CASES` for a long run.
#[cfg(test)]
pub(crate) fn fuzz_cases(default: u64) -> u64 {
    std::env::var("LOCKSTEP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
