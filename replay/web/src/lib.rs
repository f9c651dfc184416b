//! # lockstep-web
//!
//! The replay core for the browser. `lockstep-replay` without its `host` feature (tape
//! decoding, the L3 book, the simulated exchange, sessions, the digest) is built for
//! `wasm32-unknown-unknown`, so the page served by `replay serve` runs *the same code* as the
//! server; only the strategy module runs elsewhere, in the browser's own WebAssembly engine,
//! reached through the small JavaScript host in `static/host.js`.
//!
//! [`WebRun`] is the run; on wasm32 the `ffi` module exports it to JavaScript as `ls_*`
//! functions and imports each strategy call from the host (see `static/host.js` for the
//! contract). Without fuel in the browser, `fuel_digest` has no meaning there; the `digest`
//! (actions, exchange events, halts) is the one the page compares with the server's.
#![deny(unsafe_code)] // only `ffi` (wasm32) crosses into JavaScript, and says so

#[cfg(target_arch = "wasm32")]
mod ffi;
mod run;

pub use run::{
    ActionView, CODE_BAD_EVENT, FillView, LevelView, OrderView, RunConfig, RunResult, Snapshot,
    StrategyConfig, StrategyResult, TradeView, WebError, WebRun, browser_error,
};
