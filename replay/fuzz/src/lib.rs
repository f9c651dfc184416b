//! # lockstep-fuzz
//!
//! Structured fuzzing of every parser in the workspace, on stable Rust: the tape reader, each
//! importer, the ABI record decoders, the ITCH/MoldUDP64 and FIX codecs, the gateway journal,
//! and engine and session checkpoints. Each [`Target`] has
//!
//! - a **generator** that builds a structurally valid input from `arbitrary` bytes with the
//!   format's own encoder (a tape written by `TapeWriter`, ITCH messages in a MoldUDP64 packet,
//!   FIX messages with their body length and checksum, CSV rows, a DBN file, …);
//! - a **check** that runs the parser on any bytes and applies the oracles: no panic (every
//!   case runs under `catch_unwind`), refusals are the crate's typed errors, and what is
//!   accepted encodes back to what decodes the same (`decode(encode(x)) == x`);
//! - a **fixup** that repairs the checksums a mutation broke, so mutants get past the CRC and
//!   reach the decoder behind it.
//!
//! [`run_target`] mixes generated inputs and the committed corpus, mutates them with
//! [`lockstep_sim::FuzzRng::mutate`] (the project's one mutator), watches each case's peak
//! memory and time, and writes every failure to `crashes/<target>/<hash>.bin`.
#![forbid(unsafe_code)]

mod draw;
mod error;
mod harness;
mod mem;
mod targets;

pub use error::FuzzError;
pub use harness::{
    Budget, Crash, CrashKind, Report, RunConfig, Verdict, check_file, default_corpus,
    default_crashes, load_dir, read_input, run_target, seed_corpus,
};
pub use targets::{TARGETS, Target, target};
