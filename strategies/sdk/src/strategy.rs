//! The strategy trait, the action sink, and the dispatcher shared by native and Wasm builds.
//!
//! Hot path: the host writes an [`EventRecord`]; [`dispatch`] decodes it on the stack, calls one
//! trait method, and the strategy pushes actions into a fixed-capacity [`Actions`] sink. Nothing
//! allocates. The native runner ([`NativeInstance`]) and the Wasm export glue call the very same
//! `dispatch`, so the two builds differ only in the compiler target.

use crate::abi::{
    AbiError, Action, ActionRecord, BookRecord, BookView, Canceled, EventBody, EventHeader,
    EventRecord, Fill, OrderAck, Quote, Reject, Trade,
};
use crate::params::{ParamError, Params};
use crate::units::{InstrumentId, Nanos, OrderId, Price, Qty, Side};
use core::fmt;

/// Default capacity of the action region, in records.
pub const DEFAULT_ACTION_CAP: usize = 64;

/// Capacity of a guest's parameter region in bytes (also where an init refusal's message goes).
pub const PARAMS_CAP: usize = 4096;

/// Status codes a guest returns from `lockstep_on_event` when it cannot complete the event.
pub mod status {
    /// More actions were pushed than the action region holds.
    pub const ACTION_OVERFLOW: i32 = -1;
    /// The event record did not decode.
    pub const BAD_EVENT: i32 = -2;
    /// `lockstep_on_event` was called before a successful `lockstep_init`.
    pub const NOT_INITIALIZED: i32 = -3;
}

/// Why a strategy refused to start.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitError {
    /// A parameter was missing, malformed or out of range.
    Param(ParamError),
    /// Any other reason, in the strategy's words.
    Other(String),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Param(e) => e.fmt(f),
            InitError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for InitError {}

impl From<ParamError> for InitError {
    fn from(e: ParamError) -> Self {
        InitError::Param(e)
    }
}

/// Why one event could not be handled (a strategy bug or a host bug, never market data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DispatchError {
    /// The strategy pushed more than `cap` actions for one event.
    ActionOverflow {
        /// The action region's capacity.
        cap: usize,
    },
    /// The event record was invalid.
    BadEvent(AbiError),
    /// Called before init succeeded.
    NotInitialized,
}

impl DispatchError {
    /// The guest status code for this error.
    pub fn code(&self) -> i32 {
        match self {
            DispatchError::ActionOverflow { .. } => status::ACTION_OVERFLOW,
            DispatchError::BadEvent(_) => status::BAD_EVENT,
            DispatchError::NotInitialized => status::NOT_INITIALIZED,
        }
    }
}

impl fmt::Display for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DispatchError::ActionOverflow { cap } => write!(
                f,
                "strategy emitted more than {cap} actions for one event; emit fewer or raise the action capacity"
            ),
            DispatchError::BadEvent(e) => write!(f, "event record rejected by the guest: {e}"),
            DispatchError::NotInitialized => {
                f.write_str("strategy received an event before init succeeded")
            }
        }
    }
}

impl std::error::Error for DispatchError {}

/// Fixed-capacity sink for the actions of one event. Pushing never allocates.
pub struct Actions<'a> {
    buf: &'a mut [ActionRecord],
    len: usize,
    overflow: bool,
}

impl<'a> Actions<'a> {
    /// A sink writing into `buf`.
    pub fn new(buf: &'a mut [ActionRecord]) -> Self {
        Self { buf, len: 0, overflow: false }
    }
    /// Records pushed so far.
    pub fn len(&self) -> usize {
        self.len
    }
    /// No action pushed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The region's capacity.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
    /// Whether a push was dropped for lack of room (the event then fails).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }
    /// The records pushed so far.
    pub fn records(&self) -> &[ActionRecord] {
        &self.buf[..self.len]
    }
    /// Pushes any action.
    #[inline]
    pub fn push(&mut self, a: Action) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = a.encode();
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }
    /// Places a limit order.
    #[inline]
    pub fn place_limit(
        &mut self,
        instrument: InstrumentId,
        order_id: OrderId,
        side: Side,
        px: Price,
        qty: Qty,
    ) {
        self.push(Action::PlaceLimit { instrument, order_id, side, px, qty });
    }
    /// Places a limit order with a time in force: IOC, FOK, post only or GTX (ABI v2).
    #[inline]
    pub fn place_with(
        &mut self,
        instrument: InstrumentId,
        order_id: OrderId,
        side: Side,
        (px, qty): (Price, Qty),
        tif: crate::TimeInForce,
    ) {
        self.push(Action::PlaceOrder { instrument, order_id, side, px, qty, tif });
    }
    /// Places a market order.
    #[inline]
    pub fn place_market(
        &mut self,
        instrument: InstrumentId,
        order_id: OrderId,
        side: Side,
        qty: Qty,
    ) {
        self.push(Action::PlaceMarket { instrument, order_id, side, qty });
    }
    /// Cancels an order.
    #[inline]
    pub fn cancel(&mut self, instrument: InstrumentId, order_id: OrderId) {
        self.push(Action::Cancel { instrument, order_id });
    }
    /// Replaces an order's price and total quantity.
    #[inline]
    pub fn replace(&mut self, instrument: InstrumentId, order_id: OrderId, px: Price, qty: Qty) {
        self.push(Action::Replace { instrument, order_id, px, qty });
    }
    /// Asks for a timer event at `at` (local clock).
    #[inline]
    pub fn set_timer(&mut self, timer_id: u64, at: Nanos) {
        self.push(Action::SetTimer { timer_id, at });
    }
    /// Publishes a fixed-point value (`value` is the number times 1e8).
    #[inline]
    pub fn signal(&mut self, instrument: InstrumentId, id: u32, value: i64) {
        self.push(Action::Signal { instrument, id, value });
    }
    /// Publishes a float as fixed-point, rounded half away from zero to 8 places.
    ///
    /// Non-finite values are published as `i64::MIN` so they are visible, never silently 0.
    #[inline]
    pub fn signal_f64(&mut self, instrument: InstrumentId, id: u32, value: f64) {
        self.signal(instrument, id, f64_to_fixed(value));
    }
}

/// Converts a float to a 1e-8 fixed-point mantissa, rounding half away from zero; `i64::MIN`
/// for NaN, infinities and values out of range. Deterministic on every IEEE-754 machine.
pub fn f64_to_fixed(value: f64) -> i64 {
    let scaled = value * 1e8;
    if !scaled.is_finite() || scaled.abs() >= 9.2e18 {
        return i64::MIN;
    }
    libm_round(scaled) as i64
}

#[inline]
fn libm_round(x: f64) -> f64 {
    // Round half away from zero without relying on platform intrinsics.
    let t = x.trunc();
    if (x - t).abs() >= 0.5 { t + x.signum() } else { t }
}

/// A trading strategy. Implement this once; export it with [`export_strategy!`](crate::export_strategy)
/// for Wasm and run it natively with [`NativeInstance`].
///
/// Every method gets the event header (sequence, instrument, exchange and local time) and the
/// action sink. Guests have no clock, no randomness and no I/O: everything arrives as event data.
/// Keep state in fixed-size structures built in `init`; handlers must not allocate.
pub trait Strategy: Sized {
    /// Builds the strategy from parameters; may emit initial actions (e.g. timers).
    ///
    /// # Errors
    /// An [`InitError`] saying which parameter is wrong and why.
    fn init(params: &Params<'_>, out: &mut Actions<'_>) -> Result<Self, InitError>;

    /// Best bid and offer changed.
    fn on_quote(&mut self, _h: &EventHeader, _q: &Quote, _out: &mut Actions<'_>) {}
    /// A public trade printed.
    fn on_trade(&mut self, _h: &EventHeader, _t: &Trade, _out: &mut Actions<'_>) {}
    /// The book changed; `book` is the L2 view of the top levels.
    fn on_book(&mut self, _h: &EventHeader, _book: &BookView<'_>, _out: &mut Actions<'_>) {}
    /// One of our orders is live (new or replaced).
    fn on_order_ack(&mut self, _h: &EventHeader, _a: &OrderAck, _out: &mut Actions<'_>) {}
    /// One of our orders traded.
    fn on_fill(&mut self, _h: &EventHeader, _f: &Fill, _out: &mut Actions<'_>) {}
    /// A request of ours was rejected.
    fn on_reject(&mut self, _h: &EventHeader, _r: &Reject, _out: &mut Actions<'_>) {}
    /// One of our orders is gone.
    fn on_canceled(&mut self, _h: &EventHeader, _c: &Canceled, _out: &mut Actions<'_>) {}
    /// A timer we set has fired.
    fn on_timer(&mut self, _h: &EventHeader, _timer_id: u64, _out: &mut Actions<'_>) {}
}

/// Decodes one event and calls the matching handler. Shared by native and Wasm builds.
///
/// # Errors
/// [`DispatchError::BadEvent`] for an undecodable record, [`DispatchError::ActionOverflow`] when
/// the strategy pushed more actions than the sink holds.
#[inline]
pub fn dispatch<S: Strategy>(
    s: &mut S,
    ev: &EventRecord,
    book: &BookRecord,
    out: &mut Actions<'_>,
) -> Result<(), DispatchError> {
    let e = ev.decode().map_err(DispatchError::BadEvent)?;
    let h = &e.h;
    match &e.body {
        EventBody::Quote(q) => s.on_quote(h, q, out),
        EventBody::Trade(t) => s.on_trade(h, t, out),
        EventBody::Book(_) => s.on_book(h, &book.view(), out),
        EventBody::OrderAck(a) => s.on_order_ack(h, a, out),
        EventBody::Fill(f) => s.on_fill(h, f, out),
        EventBody::Reject(r) => s.on_reject(h, r, out),
        EventBody::Canceled(c) => s.on_canceled(h, c, out),
        EventBody::Timer(id) => s.on_timer(h, *id, out),
    }
    if out.overflowed() {
        return Err(DispatchError::ActionOverflow { cap: out.capacity() });
    }
    Ok(())
}

/// Runs a strategy natively, through exactly the same decode and dispatch path as the Wasm
/// build, with buffers allocated once at construction.
pub struct NativeInstance<S> {
    strategy: S,
    actions: Box<[ActionRecord]>,
    book: BookRecord,
    len: usize,
}

impl<S: Strategy> NativeInstance<S> {
    /// Initialises the strategy with `params` and an action region of [`DEFAULT_ACTION_CAP`].
    ///
    /// # Errors
    /// The strategy's [`InitError`].
    pub fn new(params: &str) -> Result<Self, InitError> {
        Self::with_capacity(params, DEFAULT_ACTION_CAP)
    }

    /// Like [`NativeInstance::new`] with an explicit action capacity.
    ///
    /// # Errors
    /// The strategy's [`InitError`], or [`InitError::Other`] if init overflowed the sink.
    pub fn with_capacity(params: &str, action_cap: usize) -> Result<Self, InitError> {
        let mut actions = vec![ActionRecord::zeroed(); action_cap].into_boxed_slice();
        let mut out = Actions::new(&mut actions);
        let strategy = S::init(&Params::new(params), &mut out)?;
        if out.overflowed() {
            return Err(InitError::Other(format!("init emitted more than {action_cap} actions")));
        }
        let len = out.len();
        Ok(Self { strategy, actions, book: BookRecord::default(), len })
    }

    /// Actions emitted by the most recent call (init or event).
    pub fn actions(&self) -> &[ActionRecord] {
        &self.actions[..self.len]
    }

    /// Handles one event. When `book` is given it is copied into the book region first, exactly
    /// as the engine does for a Wasm guest.
    ///
    /// # Errors
    /// [`DispatchError`] as from [`dispatch`].
    #[inline]
    pub fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<&[ActionRecord], DispatchError> {
        if let Some(b) = book {
            self.book = *b;
        }
        let mut out = Actions::new(&mut self.actions);
        let r = dispatch(&mut self.strategy, ev, &self.book, &mut out);
        self.len = if r.is_ok() { out.len() } else { 0 };
        r.map(|()| &self.actions[..self.len])
    }

    /// The strategy itself (for inspection in tests).
    pub fn strategy(&self) -> &S {
        &self.strategy
    }
}
