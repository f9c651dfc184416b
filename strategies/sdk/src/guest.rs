//! Wasm export glue: the guest's ABI regions and the strategy slot. Compiled for wasm32 only.
//!
//! This is the SDK's one `unsafe` module. A `wasm32-unknown-unknown` guest is single-threaded
//! and the host calls one export at a time, never re-entrantly, so each export takes the only
//! live reference to the buffers and to the strategy for the duration of the call.
#![allow(unsafe_code, reason = "the ABI regions and the strategy slot are shared statics")]

use crate::abi::{
    ABI_VERSION, ActionRecord, BookRecord, EVENT_SIZE, EventRecord, REGIONS_SIZE, Regions,
};
use crate::params::Params;
use crate::strategy::{Actions, DEFAULT_ACTION_CAP, PARAMS_CAP, Strategy, dispatch, status};
use core::cell::UnsafeCell;

#[repr(C, align(8))]
struct Buffers {
    regions: [u8; REGIONS_SIZE],
    event: EventRecord,
    book: BookRecord,
    actions: [ActionRecord; DEFAULT_ACTION_CAP],
    params: [u8; PARAMS_CAP],
}

struct Cell<T>(UnsafeCell<T>);

// SAFETY: wasm32-unknown-unknown has no threads; the host never calls exports concurrently.
unsafe impl<T> Sync for Cell<T> {}

static BUFFERS: Cell<Buffers> = Cell(UnsafeCell::new(Buffers {
    regions: [0; REGIONS_SIZE],
    event: EventRecord([0; EVENT_SIZE]),
    book: BookRecord([0; crate::abi::BOOK_SIZE]),
    actions: [ActionRecord([0; crate::abi::ACTION_SIZE]); DEFAULT_ACTION_CAP],
    params: [0; PARAMS_CAP],
}));

fn buffers() -> &'static mut Buffers {
    // SAFETY: single-threaded guest, no re-entrancy: each export calls this once and drops the
    // reference before returning, so no two live `&mut` to BUFFERS ever exist.
    unsafe { &mut *BUFFERS.0.get() }
}

#[link(wasm_import_module = "lockstep")]
unsafe extern "C" {
    #[link_name = "fail"]
    fn host_fail(ptr: *const u8, len: usize);
}

/// The host's math functions (`lockstep.math.*`, see [`crate::math`]): pure functions of
/// their arguments that touch no memory, so they are safe to call.
pub(crate) mod math {
    #[link(wasm_import_module = "lockstep")]
    unsafe extern "C" {
        #[link_name = "math.exp"]
        pub(crate) safe fn exp(x: f64) -> f64;
        #[link_name = "math.expm1"]
        pub(crate) safe fn expm1(x: f64) -> f64;
        #[link_name = "math.ln"]
        pub(crate) safe fn ln(x: f64) -> f64;
        #[link_name = "math.log1p"]
        pub(crate) safe fn log1p(x: f64) -> f64;
        #[link_name = "math.log2"]
        pub(crate) safe fn log2(x: f64) -> f64;
        #[link_name = "math.log10"]
        pub(crate) safe fn log10(x: f64) -> f64;
        #[link_name = "math.erf"]
        pub(crate) safe fn erf(x: f64) -> f64;
        #[link_name = "math.erfc"]
        pub(crate) safe fn erfc(x: f64) -> f64;
        #[link_name = "math.sin"]
        pub(crate) safe fn sin(x: f64) -> f64;
        #[link_name = "math.cos"]
        pub(crate) safe fn cos(x: f64) -> f64;
        #[link_name = "math.tanh"]
        pub(crate) safe fn tanh(x: f64) -> f64;
        #[link_name = "math.pow"]
        pub(crate) safe fn pow(x: f64, y: f64) -> f64;
    }
}

/// Holds the exported strategy instance; created by [`export_strategy!`](crate::export_strategy).
pub struct StrategySlot<S>(UnsafeCell<Option<S>>);

// SAFETY: as for `Cell`: one thread, one export at a time.
unsafe impl<S> Sync for StrategySlot<S> {}

impl<S> StrategySlot<S> {
    /// An empty slot.
    #[allow(clippy::new_without_default, reason = "const fn for a static; Default is not const")]
    pub const fn new() -> Self {
        Self(UnsafeCell::new(None))
    }
    #[allow(clippy::mut_from_ref, reason = "one thread, one export: the only live reference")]
    fn get(&self) -> &mut Option<S> {
        // SAFETY: single-threaded guest, no re-entrancy (see module docs).
        unsafe { &mut *self.0.get() }
    }
}

/// `lockstep_regions`: fills the descriptor and returns its address.
pub fn regions() -> i32 {
    let b = buffers();
    let r = Regions {
        abi_version: ABI_VERSION,
        event_ptr: core::ptr::addr_of!(b.event) as u32,
        action_ptr: b.actions.as_ptr() as u32,
        action_cap: DEFAULT_ACTION_CAP as u32,
        book_ptr: core::ptr::addr_of!(b.book) as u32,
        params_ptr: b.params.as_ptr() as u32,
        params_cap: PARAMS_CAP as u32,
    };
    b.regions = r.encode();
    b.regions.as_ptr() as i32
}

/// `lockstep_init`: parses the parameters the host wrote and builds the strategy.
///
/// Returns the number of actions emitted, or `-len` where the first `len` bytes of the params
/// region hold a UTF-8 error message.
pub fn init<S: Strategy>(slot: &StrategySlot<S>, params_len: i32) -> i32 {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        // SAFETY: the host reads `len` bytes at `ptr` inside our memory, then traps; the string
        // stays alive for the whole call.
        unsafe { host_fail(msg.as_ptr(), msg.len()) }
    }));
    let b = buffers();
    let len = (params_len.max(0) as usize).min(PARAMS_CAP);
    let text = match core::str::from_utf8(&b.params[..len]) {
        Ok(t) => t,
        Err(_) => return write_error(b, "parameters are not valid UTF-8"),
    };
    let mut out = Actions::new(&mut b.actions);
    match S::init(&Params::new(text), &mut out) {
        Ok(s) if !out.overflowed() => {
            let n = out.len() as i32;
            *slot.get() = Some(s);
            n
        }
        Ok(_) => write_error(b, "init emitted more actions than the action region holds"),
        Err(e) => {
            let msg = e.to_string();
            write_error(b, &msg)
        }
    }
}

fn write_error(b: &mut Buffers, msg: &str) -> i32 {
    let n = msg.len().clamp(1, PARAMS_CAP);
    let bytes = msg.as_bytes();
    b.params[..n.min(bytes.len())].copy_from_slice(&bytes[..n.min(bytes.len())]);
    -(n as i32)
}

/// `lockstep_on_event`: handles the event the host wrote; returns the action count or a
/// negative [`status`] code.
#[inline]
pub fn on_event<S: Strategy>(slot: &StrategySlot<S>) -> i32 {
    let Some(s) = slot.get().as_mut() else {
        return status::NOT_INITIALIZED;
    };
    let b = buffers();
    let mut out = Actions::new(&mut b.actions);
    match dispatch(s, &b.event, &b.book, &mut out) {
        Ok(()) => out.len() as i32,
        Err(e) => e.code(),
    }
}
