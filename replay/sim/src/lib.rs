//! # lockstep-sim
//!
//! The simulation core of Lockstep's replay: everything that decides what a backtest does, and
//! nothing that needs an operating system. It has no cargo features and builds for
//! `wasm32-unknown-unknown`, where the browser runs this very code.
//!
//! - **Market types** ([`MarketEvent`], [`TapeEvent`], [`InstrumentInfo`]).
//! - **Tapes** ([`TapeWriter`], [`TapeReader`]) over any `Write`/`Read`: a versioned binary
//!   format, events in checksummed chunks, read chunk by chunk in bounded memory. [`Synth`]
//!   generates the embedded default market.
//! - **Order book** ([`Book`]): order by order with FIFO queues, L2 updates as unattributed
//!   level quantity, preallocated.
//! - **The venue** ([`ExchangeConfig`], [`Models`], [`Blotter`]): strategy orders matched against
//!   the replayed book with latency, queue position, fees and budgets. Each strategy's venue
//!   owns its queue and its clock.
//! - **Sessions** ([`Session`]): strategies are SDK `StrategyRunner`s; the session feeds them the
//!   tape and their venue's answers, whichever is due first. Measurement ([`Meter`]) and
//!   recording ([`Observer`]) are the host's.
//! - **Determinism**: every run yields a [`Digest`] over every action, fill and unit of fuel.
//! - **Jitter** ([`JitterRecorder`]): per-event latency in HdrHistogram, fed by a host's meter.
//!
//! ```
//! use lockstep_sim::{EventSource, Session, SessionConfig, Synth, SynthConfig};
//! let mut market = Synth::new(SynthConfig { events: 1_000, ..SynthConfig::default() });
//! let mut session = Session::from_runners(market.header(), Vec::new(), SessionConfig::default());
//! let mut buf = Vec::new();
//! while market.next_chunk(&mut buf).unwrap() {
//!     for ev in &buf {
//!         session.step(ev).unwrap();
//!     }
//! }
//! assert_eq!(session.finish().report.events, 1_000);
//! ```
#![forbid(unsafe_code)]

mod book;
mod digest;
mod exchange;
mod fuzz;
mod jitter;
mod market;
mod resume;
mod session;
mod snap;
mod synth;
mod tape;
mod units_serde;
mod view;

pub use book::{Applied, Book, BookStats, LevelOverflow, OrderView};
pub use digest::{Digest, combine, hex};
pub use exchange::{
    Blotter, BlotterConfig, BudgetExceeded, Distribution, Due, EquityRow, ExchangeConfig,
    ExchangeStats, ExchangeSummary, FeeModel, Fees, FifoQueue, FillRow, InstrumentSummary, Latency,
    LatencyChoice, LatencyContext, LatencyModel, MAX_LATENCY_ROWS, MAX_ROWS, MINUTE_NS, Marked,
    Models, Money, OrderKind, OrderRow, OrderStatus, PriceSample, ProbQueue, QueueFamily,
    QueueModel, QueuePosition, RandomLatency, RecordedLatency, RequestKind, RestingOrder,
    SimExchange, TapeFeedLatency, VenueBudget, VenueBudgets, reject_reason_hint,
    reject_reason_name,
};
pub use fuzz::{FuzzRng, fuzz_cases};
pub use jitter::{
    JitterRecorder, LatencyReport, MAX_TRACKABLE_NS, Percentiles, SIGNIFICANT_DIGITS, WORST_KEPT,
    WorstEvent, format_ns, percentile_distribution,
};
pub use market::{Contract, FLAG_MORE, InstrumentInfo, MarketEvent, TapeEvent};
pub use resume::{ResumeError, SESSION_CHECKPOINT_VERSION, SessionCheckpoint, StrategyState};
pub use session::{
    CLOSING_WINDOW_NS, Meter, NoMeter, Observer, Pacing, ReplayError, RunOutput, RunReport,
    RunnerSpec, Session, SessionConfig, StrategyReport, Work,
};
pub use synth::{DEFAULT_SYNTH_EVENTS, DEFAULT_SYNTH_SEED, Synth, SynthConfig};
pub use tape::{
    Compression, DEFAULT_CHUNK_EVENTS, EventCheck, EventSource, FORMAT_VERSION, Limited,
    MAX_FEED_SKEW_NS, MAX_INSTRUMENTS, MAX_PRICE, MAX_QTY, MemorySource, TapeError, TapeHeader,
    TapeReader, TapeWriter, check_instruments, check_local_midnight, read_full,
};
pub use view::{Emit, MarketView};
