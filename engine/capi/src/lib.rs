//! # liblockstep: the C API of the Lockstep engine
//!
//! Builds `liblockstep.a` and `liblockstep.so` (`cargo build -p lockstep-capi --release`)
//! with the header `engine/capi/include/lockstep.h`, generated from this crate by cbindgen. A C
//! or C++ gateway loads a strategy's `.wasm`, instantiates it, feeds it 64-byte event records
//! and reads back 64-byte action records, with the same determinism and fuel metering as the
//! Rust API ([`lockstep_engine`]).
//!
//! ## Conventions
//! - Every fallible function returns an `int32_t` status: `LS_OK` (0); a positive value is the
//!   engine's stable `Error::code()` (high byte: the family, `LS_CODE_*`); a negative value is
//!   an API error (`LS_ERR_NULL`, `LS_ERR_BUFFER_TOO_SMALL`, `LS_ERR_INVALID_ARGUMENT`,
//!   `LS_ERR_PANIC`). `ls_status_name` describes any status.
//! - Functions taking `char *err, size_t err_cap` write the message there, NUL-terminated and
//!   truncated to fit, when `err` is not null and `err_cap > 0` (an empty string on success).
//! - Outputs of unknown size use the two-call pattern: `*written` receives the size needed;
//!   a short buffer gives `LS_ERR_BUFFER_TOO_SMALL`.
//! - No panic crosses the boundary: each function runs inside `catch_unwind`, and a caught
//!   panic is `LS_ERR_PANIC` (the panic hook still prints to stderr).
//! - Handles are freed with their `_free` function, which accepts null.
//!
//! | handle | made by | freed by | threads |
//! |---|---|---|---|
//! | `ls_engine` | `ls_engine_new` | `ls_engine_free` | shared freely (`Send + Sync`) |
//! | `ls_module` | `ls_module_load`, `ls_module_load_precompiled` | `ls_module_free` | shared freely (`Send + Sync`) |
//! | `ls_instance` | `ls_instance_new`, `ls_instance_restore` | `ls_instance_free` | one thread at a time; movable (`Send`) |
//!
//! Instances do not borrow their module or engine: those may be freed first. Action records
//! returned by `ls_instance_on_event` belong to the instance and are valid until its next call.
//!
//! ## Layout
//! `types` holds the C-visible types and constants, `status` the status codes and the panic
//! guard, `api` the logic in safe Rust, and `ffi` (the only module allowed `unsafe`) the
//! exported functions, which convert pointers and call `api`.

#![deny(unsafe_code)] // only `ffi` may use unsafe, and it says so

mod api;
mod ffi;
mod status;
mod types;

pub use ffi::*;
pub use types::*;
