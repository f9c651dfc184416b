//! # lockstep-host
//!
//! The host of Lockstep's replay: what the simulation core (`lockstep-sim`) leaves to the
//! operating system and the engine.
//!
//! - **Loading** ([`StrategySpec`], [`HostSession`]): built-in strategies from the catalog,
//!   their native builds, or `.wasm` files, loaded into an engine of the chosen tier.
//! - **Measuring** ([`HostSession::run`], [`Stopwatch`]): the wall-clock meter around each
//!   event, paced or as fast as possible.
//! - **Recording** ([`TraceWriter`], [`TraceReader`], [`first_divergence`]): the per-event trace,
//!   an observer of the session, and where two traces part.
//! - **Sweeps** ([`SweepPlan`], [`merge`]): parameter grids over tapes, sharded for job arrays.
//! - **Inspection** ([`inspect_tape`]): a tape's instruments, times, events and book.
//! - **Profiling** ([`profile`]): exact fuel profiles by call stack, as folded stacks, a flame
//!   graph and speedscope JSON, the same bytes on every run and tier.
//! - **Certifying** ([`certify`], [`check_certificate`]): a strategy's static fuel bound, the
//!   fuel it used over replays, and the time a unit of fuel costs here; [`fuel_section`] puts
//!   a certificate and a profile into the backtest report.
//! - **Options** ([`RunOptions`]): the run settings, with one set of names and defaults, that
//!   the CLI, Python and the web server share.
//!
//! ```no_run
//! use lockstep_host::{HostSession, StrategySpec};
//! use lockstep_sim::{Session, SessionConfig, Synth, SynthConfig, EventSource};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut market = Synth::new(SynthConfig::default());
//! let mm = StrategySpec::resolve("avellaneda-stoikov", None, false)?;
//! let session = Session::load(market.header(), &[mm], SessionConfig::default())?;
//! let out = session.run(&mut market, &mut |_| {})?;
//! println!("digest {}", lockstep_sim::hex(&out.report.digest));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod certify;
mod fuel_report;
mod inspect;
mod load;
mod options;
mod profile;
mod spec_params;
mod sweep;
mod timing;
mod trace;

pub use certify::{
    AfterInit, CERTIFICATE_VERSION, CERTIFY_SYNTH_EVENTS, Calibration, Certificate, CertifyError,
    FunctionSummary, OBSERVE_TIER, Observed, StaticSummary, after_init, certificate, certify,
    check_certificate, static_summary,
};
pub use fuel_report::{FuelInputs, FuelReportError, fuel_section};
pub use inspect::{
    ShownEvent, TapeInspection, TapeInstrument, TapeTime, TopOfBook, event_kind_name, inspect_tape,
    iso8601,
};
pub use load::{
    HostSession, MAX_MODULE_BYTES, SessionError, Started, StrategyListing, StrategySource,
    StrategySpec, start as start_strategy, strategy_listing, trace_path,
};
pub use options::{
    MAX_BUDGET, MAX_FUEL_PER_EVENT, MAX_LATENCY_FILE_BYTES, MAX_WORK_PER_EVENT, OptionsError,
    RunOptions,
};
pub use profile::{
    COSTLIEST_KEPT, CostlyEvent, FuelBucket, FunctionFuel, ProfileError, ProfileOutput,
    ProfileSummary, profile,
};
pub use spec_params::Contradiction;
pub use sweep::{
    Grid, MAX_POINTS, PointResult, Shard, SweepError, SweepOutput, SweepPlan, TapeRef, merge,
};
pub use timing::Stopwatch;
pub use trace::{Divergence, TraceReader, TraceWriter, TracedEvent, first_divergence};
