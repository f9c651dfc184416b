//! # latency-lab
//!
//! Jitter profiling for Lockstep. What the platform costs at the tail (`hiccup`), how the
//! machine is set up for isolation (`sysinfo`), what each strategy costs natively, as Wasm in
//! the engine and as the equivalent JVM program (`compare`), and charts of it all (`plot`).
//!
//! ## Method
//! Warm up, pre-touch memory, pin, record into preallocated HdrHistograms (nothing allocates
//! while recording), time with a clock whose cost is measured and reported, and publish every
//! figure with its run length and the machine's isolation state.
//!
//! ## Definitions
//! **Jitter** is `max − p50` of a latency distribution; the **tail ratio** is `p99.99 / p50`.
//! In `hiccup` the samples are interruptions: gaps longer than a threshold between consecutive
//! clock reads of a pinned busy loop.

#![deny(unsafe_code)] // only `sys` may use unsafe, and it says so

mod clock;
mod compare;
mod error;
mod hiccup;
mod histo;
mod jvm;
mod plot;
mod sys;
mod sysinfo;
mod tape;

pub use clock::{Clock, ClockCost, ClockKind, Stopwatch, measure_cost, tsc_is_invariant};
pub use compare::{
    CompareConfig, CompareReport, PlatformStalls, RunResult, RunStatus, run as run_compare,
};
pub use error::Error;
pub use hiccup::{
    CoreJson, CoreResult, HiccupConfig, HiccupReport, HiccupRun, JITTER_DEFINITION, check_cores,
    run as run_hiccup,
};
pub use histo::{
    HIGHEST_NS, HgrmPoint, Interval, Summary, new_histogram, parse_hgrm, read_hlog, write_hgrm,
};
pub use jvm::{DEFAULT_JAVA_OPTS, JAVA_PORTS, JvmSetup};
/// Nanoseconds for people (the CLI's formatter, shared).
pub use lockstep_sim::format_ns;
pub use plot::{PlotConfig, PlotReport, Series, Unit, plot};
pub use sysinfo::{
    Cmdline, Finding, MAX_CPUS, Status, SysInfo, UNKNOWN, Verdict, collect as collect_sysinfo,
    format_cpu_list, parse_cmdline, parse_cpu_list,
};
pub use tape::{
    FormatError, Mismatch, Outputs, RecordError, Tape, TapeEvent, compare_outputs,
    record as record_tape,
};
