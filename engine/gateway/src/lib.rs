//! # lockstep-gateway
//!
//! The live gateway's deterministic core. Sockets and clocks stay outside: a feed handler
//! (`lockstep-feed`) turns datagrams into market events, an order session (`lockstep-fix`)
//! carries orders and the venue's answers; this crate decides everything in between.
//!
//! - [`Gateway`]: the market view (the same [`lockstep_sim::MarketView`] the replay session
//!   uses, so a strategy gets the same events from the same market messages live and in a
//!   backtest), the strategies, timers, and [`RiskBook`] pre-trade risk per strategy;
//!   [`Outbound`] orders come out, venue answers go in.
//! - The journal ([`JournalWriter`], [`read_journal`]): every input each strategy was handed
//!   and its answer, in checksummed chunks a crash can only cut at a chunk boundary.
//! - [`verify`]: runs a strategy again over its journal and reaches the live digest, or names
//!   the first input where it parts.
#![forbid(unsafe_code)]

mod core;
mod inputs;
mod journal;
mod latency;
mod live;
mod net;
mod recover;
mod risk;
mod step;
mod venue;
mod verify;
mod wire;

pub use crate::core::{Gateway, Outbound, StrategySpec, StrategySummary};
pub use inputs::{INPUTS_VERSION, Input, InputLog, Inputs, read_inputs};
pub use journal::{
    CHUNK_RECORDS, Entry, JOURNAL_VERSION, Journal, JournalCursor, JournalError, JournalHeader,
    JournalWriter, Origin, Record, read_journal,
};
pub use latency::{STAGES, StageLatency};
pub use live::{
    GatewayError, GatewayOptions, KillSwitch, LiveReport, LiveStrategy, Recovery, run_gateway,
};
pub use net::{NetError, Pace};
pub use recover::{RECOVERY_DIVERGED, RestoreFn};
pub use risk::{OrderRequest, RiskBook, RiskError, RiskFile, RiskLimits};
pub use venue::{Faults, VenueError, VenueOptions, VenueReport, run_venue};
pub use verify::{Difference, VerifyReport, verify};
