//! The module's boundary with JavaScript (wasm32 only): `ls_*` exports drive one [`WebRun`],
//! and the `host` imports reach the strategy modules the page runs.
//!
//! Data moves through two buffers the module owns: the *inbox* (`ls_inbox(len)` sizes it and
//! returns its address; the page writes a tape or the settings there) and the *outbox* (JSON
//! results and error messages, at `ls_outbox()`). Exports return a length or count `≥ 0`, or
//! `-1` with the error message in the outbox. Nothing here trusts a pointer from JavaScript.
//!
//! Imports, module `host`:
//! - `init_actions(slot, out, cap) -> n`: copy strategy `slot`'s `init` actions (64-byte
//!   records, at most `cap`) to `out`; the page ran `lockstep_init` before `ls_open`.
//! - `on_event(slot, ev, book, out, cap) -> n`: hand the 64-byte event at `ev` (and, when
//!   `book` is not 0, the 328-byte book record there) to strategy `slot`, copy the `n` action
//!   records it returned to `out` (at most `cap`); or return `-code` with the engine's stable
//!   error code (`lockstep_engine::Error::code`) when it failed.
//!
//! The strategies' host math (`lockstep.math.*`, [`lockstep_sdk::math`]) comes from here, so
//! the page computes it with the same `libm` code as the engine: `ls_math_names()` puts the
//! names (one per line) in the outbox, and `ls_math(i, x, y)` computes function `i` of that list
//! (`y` ignored by one-argument functions).
#![allow(unsafe_code, reason = "calling the host's imports; each call says why it is sound")]
#![allow(unreachable_pub, reason = "the `ls_*` functions are exported by symbol, not by path")]

use crate::run::{WebRun, browser_error};
use lockstep_sdk::{
    ACTION_SIZE, ActionRecord, BookRecord, EventRecord, RunError, Step, StrategyRunner,
};
use std::cell::RefCell;

/// Most actions one call may return: the ABI's largest action region.
const ACTION_CAP: usize = 1024;

#[link(wasm_import_module = "host")]
unsafe extern "C" {
    fn init_actions(slot: u32, out: *mut u8, cap: u32) -> i32;
    fn abi_version(slot: u32) -> u32;
    fn on_event(slot: u32, ev: *const u8, book: *const u8, out: *mut u8, cap: u32) -> i32;
}

#[derive(Default)]
struct State {
    inbox: Vec<u8>,
    tape: Option<Vec<u8>>,
    outbox: Vec<u8>,
    run: Option<WebRun>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// A strategy slot reached through the `host.on_event` import.
struct HostGuest {
    slot: u32,
    buf: Vec<ActionRecord>,
    len: usize,
}

impl HostGuest {
    fn new(slot: u32) -> Self {
        Self { slot, buf: vec![ActionRecord([0; ACTION_SIZE]); ACTION_CAP], len: 0 }
    }

    /// Turns the host's return value into a count of records in `buf`.
    fn count(r: i32) -> Result<usize, RunError> {
        if r < 0 {
            let code = u16::try_from(r.unsigned_abs()).unwrap_or(u16::MAX);
            return Err(browser_error(code));
        }
        let n = r as usize;
        if n > ACTION_CAP {
            return Err(browser_error(17 << 8 | 6));
        }
        Ok(n)
    }
}

impl StrategyRunner for HostGuest {
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<Step<'_>, RunError> {
        self.len = 0;
        let book = book.map_or(std::ptr::null(), |b| b.0.as_ptr());
        // SAFETY: `ev` and `book` point at live records of their ABI sizes that the host only
        // reads; `buf` holds ACTION_CAP records, the host writes at most `cap` of them, and
        // nothing else touches `buf` during the call.
        let r = unsafe {
            on_event(
                self.slot,
                ev.0.as_ptr(),
                book,
                self.buf.as_mut_ptr().cast(),
                ACTION_CAP as u32,
            )
        };
        self.len = Self::count(r)?;
        // The browser's engine meters nothing.
        Ok(Step { actions: &self.buf[..self.len], fuel: None })
    }

    fn actions(&self) -> &[ActionRecord] {
        &self.buf[..self.len]
    }

    fn abi_version(&self) -> u32 {
        // SAFETY: a plain call into the host with a number; it reads nothing of ours.
        unsafe { abi_version(self.slot) }
    }
}

fn fail(state: &mut State, message: String) -> i32 {
    state.outbox = message.into_bytes();
    -1
}

fn out_len(state: &State) -> i32 {
    i32::try_from(state.outbox.len()).unwrap_or(i32::MAX)
}

/// Sizes the inbox to `len` bytes (zeroed) and returns its address for the page to write.
#[unsafe(no_mangle)]
pub extern "C" fn ls_inbox(len: u32) -> *mut u8 {
    STATE.with_borrow_mut(|s| {
        s.inbox.clear();
        s.inbox.resize(len as usize, 0);
        s.inbox.as_mut_ptr()
    })
}

/// The outbox's address.
#[unsafe(no_mangle)]
pub extern "C" fn ls_math_names() -> i32 {
    let names: Vec<&str> = lockstep_sdk::math::HOST_FUNCTIONS.iter().map(|m| m.name).collect();
    STATE.with_borrow_mut(|s| {
        s.outbox = names.join("\n").into_bytes();
        i32::try_from(s.outbox.len()).unwrap_or(i32::MAX)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn ls_math(index: u32, x: f64, y: f64) -> f64 {
    use lockstep_sdk::math::{HOST_FUNCTIONS, MathFn};
    match usize::try_from(index).ok().and_then(|i| HOST_FUNCTIONS.get(i)).map(|m| m.func) {
        Some(MathFn::Unary(f)) => f(x),
        Some(MathFn::Binary(f)) => f(x, y),
        None => f64::NAN,
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn ls_outbox() -> *const u8 {
    STATE.with_borrow(|s| s.outbox.as_ptr())
}

/// The outbox's length: the last result or error message.
#[unsafe(no_mangle)]
pub extern "C" fn ls_outbox_len() -> u32 {
    STATE.with_borrow(|s| u32::try_from(s.outbox.len()).unwrap_or(u32::MAX))
}

/// Keeps the inbox as the tape of the next `ls_open` (without it, the synthetic market).
#[unsafe(no_mangle)]
pub extern "C" fn ls_stage_tape() {
    STATE.with_borrow_mut(|s| s.tape = Some(std::mem::take(&mut s.inbox)));
}

/// Opens a run with the settings (JSON, see `RunConfig`) in the inbox for `strategies`
/// strategies, fetching each one's `init` actions from the host. Returns 0, or -1.
#[unsafe(no_mangle)]
pub extern "C" fn ls_open(strategies: u32) -> i32 {
    STATE.with_borrow_mut(|s| {
        s.run = None;
        let cfg = match String::from_utf8(std::mem::take(&mut s.inbox)) {
            Ok(c) => c,
            Err(_) => return fail(s, "run settings are not UTF-8 text".to_owned()),
        };
        let mut guests: Vec<(Box<dyn StrategyRunner>, Vec<ActionRecord>)> = Vec::new();
        for slot in 0..strategies {
            let mut g = HostGuest::new(slot);
            // SAFETY: `buf` holds ACTION_CAP records; the host writes at most `cap` of them.
            let r = unsafe { init_actions(slot, g.buf.as_mut_ptr().cast(), ACTION_CAP as u32) };
            let init = match HostGuest::count(r) {
                Ok(n) => g.buf[..n].to_vec(),
                Err(e) => return fail(s, format!("strategy {slot}: {e}")),
            };
            guests.push((Box::new(g), init));
        }
        match WebRun::open(&cfg, s.tape.take(), guests) {
            Ok(run) => {
                s.run = Some(run);
                0
            }
            Err(e) => fail(s, e.to_string()),
        }
    })
}

/// Replays up to `max` events; returns how many (0: the tape is done), or -1.
#[unsafe(no_mangle)]
pub extern "C" fn ls_step(max: u32) -> i32 {
    STATE.with_borrow_mut(|s| match s.run.as_mut().map(|r| r.step(u64::from(max))) {
        Some(Ok(n)) => i32::try_from(n).unwrap_or(i32::MAX),
        Some(Err(e)) => fail(s, e.to_string()),
        None => fail(s, "no run is open".to_owned()),
    })
}

/// Replays up to `max` events with local time at most `until` (ns); returns how many, or -1.
#[unsafe(no_mangle)]
pub extern "C" fn ls_step_until(until: i64, max: u32) -> i32 {
    STATE.with_borrow_mut(|s| match s.run.as_mut().map(|r| r.step_until(until, u64::from(max))) {
        Some(Ok(n)) => i32::try_from(n).unwrap_or(i32::MAX),
        Some(Err(e)) => fail(s, e.to_string()),
        None => fail(s, "no run is open".to_owned()),
    })
}

/// Writes the snapshot (JSON) to the outbox; returns its length, or -1.
#[unsafe(no_mangle)]
pub extern "C" fn ls_snapshot() -> i32 {
    STATE.with_borrow_mut(|s| {
        let snap = s.run.as_ref().map(WebRun::snapshot);
        reply(s, snap)
    })
}

/// Finishes the run and writes its result (JSON) to the outbox; returns its length, or -1.
#[unsafe(no_mangle)]
pub extern "C" fn ls_finish() -> i32 {
    STATE.with_borrow_mut(|s| {
        let result = s.run.as_mut().map(WebRun::finish);
        s.run = None;
        reply(s, result)
    })
}

/// Puts `r` (of the open run, `None` without one) in the outbox as JSON, or its error.
fn reply<T: serde::Serialize>(s: &mut State, r: Option<Result<T, crate::WebError>>) -> i32 {
    match r {
        Some(Ok(v)) => match serde_json::to_vec(&v) {
            Ok(v) => {
                s.outbox = v;
                out_len(s)
            }
            Err(e) => fail(s, e.to_string()),
        },
        Some(Err(e)) => fail(s, e.to_string()),
        None => fail(s, "no run is open".to_owned()),
    }
}
