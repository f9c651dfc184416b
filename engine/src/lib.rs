//! # lockstep-engine
//!
//! Deterministic, fuel-metered execution of WebAssembly trading strategies, on two tiers
//! behind one API: the wasmi interpreter (the reference) and Cranelift-compiled code on
//! wasmtime ([`Tier`]). Both give the same actions and the same fuel for the same events.
//!
//! ```no_run
//! use lockstep_engine::{Config, Engine, Fuel, StrategyModule};
//! # fn main() -> Result<(), lockstep_engine::Error> {
//! # let wasm: &[u8] = &[];
//! let mut config = Config::new();
//! config.fuel_per_event(Fuel(1_000_000));
//! let engine = Engine::new(&config);          // one per pinned worker
//! let module = StrategyModule::new(&engine, wasm)?; // sandbox + ABI checks
//! let mut strategy = module.instantiate("gamma=0.1")?;
//! # let event = lockstep_sdk::EventRecord::zeroed();
//! let actions = strategy.on_event(&event, None)?;   // zero allocations
//! println!("{} actions, {}", actions.len(), strategy.last_fuel());
//! # Ok(()) }
//! ```
//!
//! ## Determinism contract
//! The interpreter runs with wasmi's `deterministic` feature (canonical NaNs) and eager
//! compilation; the compiled tier with Cranelift's NaN canonicalisation, and SIMD, threads and
//! every other nondeterministic proposal off. Fuel and stack are metered by the module itself
//! (the meters are written into it at load), so both tiers count them alike. Guests import nothing but `lockstep.memory` and
//! `lockstep.fail`: no clock, no randomness, no I/O. Given the same module, parameters and
//! event records, an instance produces the same action bytes and the same fuel per event on
//! every machine and tier. Nothing in this crate reads a clock or iterates a hash map.
//!
//! ## Hot path
//! [`Instance::on_event`] copies a 64-byte [`EventRecord`](lockstep_sdk::EventRecord) (and a
//! [`BookRecord`](lockstep_sdk::BookRecord) for book events) into regions of the guest's memory
//! fixed at instantiation, sets the fuel budget, calls the guest, and copies the actions into
//! a buffer allocated at instantiation. Memory is preallocated (and pre-touched) by the host;
//! the value stack is pre-sized; nothing allocates per event. See `engine/ABI.md`.

#![deny(unsafe_code)] // only `sys` may use unsafe, and it says so

mod backend;
mod bound;
mod cache;
mod checkpoint;
mod compiled;
mod config;
mod engine;
mod error;
mod guest;
mod instance;
mod instrument;
mod interp;
mod meter;
mod module;
mod portable;
mod profile;
mod sys;
mod tier;
mod worker;

pub use bound::{
    Cost, FunctionBound, InitBound, InitImage, InitUnbounded, StaticBound, Unbounded,
    bound_after_init, static_bound,
};
pub use cache::{CacheUse, default_artefact_cache};
pub use checkpoint::{CHECKPOINT_VERSION, CheckpointError};
pub use config::{Config, Fuel, Tier, UnknownTier, WASM_PAGE};
pub use engine::Engine;
pub use error::{Error, GuestStatus, Phase, TrapKind};
pub use instance::{Handover, Instance};
pub use lockstep_sdk::{RunError, Step, StrategyRunner};
pub use module::StrategyModule;
pub use profile::{FuelProfile, MAX_PROFILE_NODES, ProfileNode};
pub use sys::CountingAlloc;
pub use worker::{Feed, Output, Worker, WorkerConfig, WorkerInfo, pin_current_thread};

/// The SDK this engine speaks, re-exported so embedders need one dependency.
pub use lockstep_sdk as sdk;
