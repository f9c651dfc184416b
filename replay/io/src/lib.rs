//! # lockstep-io
//!
//! The file edge of Lockstep's replay: every file is written whole or not at all
//! ([`AtomicFile`]), no command replaces its own input ([`refuse_overwriting_inputs`]), and
//! tapes are opened and written as files ([`open_tape`], [`TapeFile`]). The simulation core
//! reads and writes tapes over any `Read`/`Write`; this crate is where they meet the disk.
#![forbid(unsafe_code)]

mod atomic;
mod tape_file;

pub use atomic::{
    AtomicFile, SameFileError, WriteError, read_bounded, refuse_overwriting_inputs, temp_path,
    write_atomic, write_files, write_via_temp,
};
pub use tape_file::{TapeFile, TapeFileReader, open_tape};
