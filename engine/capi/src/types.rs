//! The C-visible types and constants: `repr(C)` structs a gateway fills or reads, the opaque
//! handles, record sizes, kind numbers and status codes. No logic lives here.
#![allow(non_camel_case_types, reason = "C names: the header declares them exactly as written")]

use lockstep_engine::sdk::{self, action_kind, event_kind};
use lockstep_engine::{Engine, Instance, StrategyModule};

/// The guest ABI version this library speaks (`engine/ABI.md`); it also runs guests of
/// `LS_ABI_VERSION_MIN` and later.
pub const LS_ABI_VERSION: u32 = 2;
/// The oldest guest ABI version this library runs.
pub const LS_ABI_VERSION_MIN: u32 = 1;
/// Size in bytes of one event record.
pub const LS_EVENT_SIZE: usize = 64;
/// Size in bytes of one action record.
pub const LS_ACTION_SIZE: usize = 64;
/// Levels per side in a book record.
pub const LS_BOOK_LEVELS: usize = 10;
/// Size in bytes of one book record (an 8-byte header, then 10 bid and 10 ask levels).
pub const LS_BOOK_SIZE: usize = 328;
/// Size in bytes of a module's SHA-256.
pub const LS_SHA256_SIZE: usize = 32;
/// Prices, quantities and signal values are `int64_t` fixed point with 8 decimal places:
/// 100.25 is `10025000000`, one unit of quantity is `100000000`.
#[allow(clippy::unnecessary_cast, reason = "cbindgen writes the cast: `(int64_t)100000000` in C")]
pub const LS_FIXED_SCALE: i64 = 100_000_000 as i64;

/// `ls_config.tier`: the wasmi interpreter (the reference tier).
pub const LS_TIER_INTERPRETER: u32 = 0;
/// `ls_config.tier`: Cranelift-compiled code on wasmtime.
pub const LS_TIER_COMPILED: u32 = 1;

/// No side (a trade print without an aggressor).
pub const LS_SIDE_NONE: u8 = 0;
/// Buy.
pub const LS_SIDE_BUY: u8 = 1;
/// Sell.
pub const LS_SIDE_SELL: u8 = 2;

/// Event kind: top-of-book quote.
pub const LS_EVENT_QUOTE: u16 = 1;
/// Event kind: public trade print.
pub const LS_EVENT_TRADE: u16 = 2;
/// Event kind: the book changed; pass the L2 view (`ls_book_write`) with the event.
pub const LS_EVENT_BOOK: u16 = 3;
/// Event kind: one of our orders is live (new or replaced).
pub const LS_EVENT_ORDER_ACK: u16 = 4;
/// Event kind: one of our orders traded.
pub const LS_EVENT_FILL: u16 = 5;
/// Event kind: one of our requests was rejected.
pub const LS_EVENT_REJECT: u16 = 6;
/// Event kind: one of our orders was cancelled.
pub const LS_EVENT_CANCELED: u16 = 7;
/// Event kind: a timer the strategy set has fired.
pub const LS_EVENT_TIMER: u16 = 8;

/// Action kind: place a limit order.
pub const LS_ACTION_PLACE_LIMIT: u16 = 1;
/// Action kind: place a market order.
pub const LS_ACTION_PLACE_MARKET: u16 = 2;
/// Action kind: cancel an order.
pub const LS_ACTION_CANCEL: u16 = 3;
/// Action kind: replace an order's price and quantity.
pub const LS_ACTION_REPLACE: u16 = 4;
/// Action kind: ask for a timer event at a given time.
pub const LS_ACTION_SET_TIMER: u16 = 5;
/// Action kind: publish a computed value.
pub const LS_ACTION_SIGNAL: u16 = 6;

/// Time in force of an `LS_ACTION_PLACE_LIMIT` (ABI v2): good till cancelled.
pub const LS_TIF_GTC: u8 = 0;
/// Time in force: immediate or cancel.
pub const LS_TIF_IOC: u8 = 1;
/// Time in force: fill or kill.
pub const LS_TIF_FOK: u8 = 2;
/// Time in force: post only (rejected if it would cross).
pub const LS_TIF_POST_ONLY: u8 = 3;
/// Time in force: good till crossing (cancelled if it would cross).
pub const LS_TIF_GTX: u8 = 4;

/// Status: success.
pub const LS_OK: i32 = 0;
/// Status: a required pointer argument was null.
pub const LS_ERR_NULL: i32 = -1;
/// Status: the output buffer is too small; `*written` holds the bytes needed.
pub const LS_ERR_BUFFER_TOO_SMALL: i32 = -2;
/// Status: an argument is out of range (an unknown tier, params not UTF-8, an unknown kind).
pub const LS_ERR_INVALID_ARGUMENT: i32 = -3;
/// Status: a Rust panic was caught at the boundary (a bug in liblockstep: please report it).
pub const LS_ERR_PANIC: i32 = -4;

// Positive statuses are the engine's stable error codes: the high byte (`status >> 8`) names the
// family below, the low byte refines it (the trap kind, the checkpoint refusal).

/// Engine family: the module is larger than the configured limit.
pub const LS_CODE_MODULE_TOO_LARGE: i32 = 0x0100;
/// Engine family: the bytes are not a valid WebAssembly module for this engine.
pub const LS_CODE_MALFORMED: i32 = 0x0200;
/// Engine family: the module imports something other than `lockstep.memory`/`lockstep.fail`.
pub const LS_CODE_FORBIDDEN_IMPORT: i32 = 0x0300;
/// Engine family: the module does not import its memory as `lockstep.memory`.
pub const LS_CODE_MISSING_MEMORY_IMPORT: i32 = 0x0400;
/// Engine family: the module's minimum memory exceeds `max_memory_pages`.
pub const LS_CODE_MEMORY_TOO_LARGE: i32 = 0x0500;
/// Engine family: a required ABI export is absent.
pub const LS_CODE_MISSING_EXPORT: i32 = 0x0600;
/// Engine family: an ABI export or import has the wrong type.
pub const LS_CODE_BAD_SIGNATURE: i32 = 0x0700;
/// Engine family: the module (or checkpoint) speaks another ABI version.
pub const LS_CODE_ABI_VERSION: i32 = 0x0800;
/// Engine family: the module's region descriptor is invalid.
pub const LS_CODE_BAD_REGIONS: i32 = 0x0900;
/// Engine family: the params do not fit the strategy's parameter region.
pub const LS_CODE_PARAMS_TOO_LONG: i32 = 0x0A00;
/// Engine family: the strategy's init refused the params.
pub const LS_CODE_INIT_REJECTED: i32 = 0x0B00;
/// Engine family: the strategy ran out of fuel (it is halted).
pub const LS_CODE_OUT_OF_FUEL: i32 = 0x0C00;
/// Engine family: the strategy tried to grow memory past the limit (it is halted).
pub const LS_CODE_MEMORY_LIMIT: i32 = 0x0D00;
/// Engine family: the strategy trapped (it is halted); the low byte is the trap kind.
pub const LS_CODE_TRAP: i32 = 0x0E00;
/// Engine family: the strategy panicked (it is halted).
pub const LS_CODE_GUEST_PANIC: i32 = 0x0F00;
/// Engine family: the engine stopped the strategy for a host reason (it is halted).
pub const LS_CODE_HOST: i32 = 0x1000;
/// Engine family: the strategy returned a failure status; low byte 3 (a bad event) is the only
/// one that does not halt it.
pub const LS_CODE_GUEST: i32 = 0x1100;
/// Engine family: an earlier error halted the instance; it takes no more events.
pub const LS_CODE_HALTED: i32 = 0x1200;
/// Engine family: the engine cannot be built with this configuration on this host.
pub const LS_CODE_SETUP: i32 = 0x1600;
/// Engine family: a precompiled artefact is not from this build and configuration.
pub const LS_CODE_ARTEFACT: i32 = 0x1700;
/// Engine family: the operation needs an engine of the other tier.
pub const LS_CODE_WRONG_TIER: i32 = 0x1800;
/// Engine family: checkpoint bytes were refused; the low byte says why (1 not a checkpoint,
/// 2 format version, 3 truncated, 4 corrupt, 5 another module, 6 memory too large).
pub const LS_CODE_CHECKPOINT: i32 = 0x1900;
/// Load family: the module uses what the two tiers cannot run alike (growing a table, a
/// function with too many locals).
pub const LS_CODE_UNPORTABLE: i32 = 0x1A00;
/// Engine family: a hot swap's new version did not take over the running version's state.
pub const LS_CODE_MIGRATION_REFUSED: i32 = 0x1B00;

const _: () = {
    assert!(LS_ABI_VERSION == sdk::ABI_VERSION && LS_ABI_VERSION_MIN == sdk::MIN_ABI_VERSION);
    assert!(
        LS_TIF_IOC == sdk::TimeInForce::Ioc.code() && LS_TIF_FOK == sdk::TimeInForce::Fok.code()
    );
    assert!(LS_TIF_POST_ONLY == sdk::TimeInForce::PostOnly.code());
    assert!(LS_TIF_GTX == sdk::TimeInForce::Gtx.code());
    assert!(LS_EVENT_SIZE == sdk::EVENT_SIZE);
    assert!(LS_ACTION_SIZE == sdk::ACTION_SIZE);
    assert!(LS_BOOK_LEVELS == sdk::BOOK_LEVELS);
    assert!(LS_BOOK_SIZE == sdk::BOOK_SIZE);
    assert!(LS_EVENT_QUOTE == event_kind::QUOTE && LS_EVENT_TRADE == event_kind::TRADE);
    assert!(LS_EVENT_BOOK == event_kind::BOOK && LS_EVENT_ORDER_ACK == event_kind::ORDER_ACK);
    assert!(LS_EVENT_FILL == event_kind::FILL && LS_EVENT_REJECT == event_kind::REJECT);
    assert!(LS_EVENT_CANCELED == event_kind::CANCELED && LS_EVENT_TIMER == event_kind::TIMER);
    assert!(LS_ACTION_PLACE_LIMIT == action_kind::PLACE_LIMIT);
    assert!(LS_ACTION_PLACE_MARKET == action_kind::PLACE_MARKET);
    assert!(LS_ACTION_CANCEL == action_kind::CANCEL && LS_ACTION_REPLACE == action_kind::REPLACE);
    assert!(LS_ACTION_SET_TIMER == action_kind::SET_TIMER);
    assert!(LS_ACTION_SIGNAL == action_kind::SIGNAL);
    assert!(LS_FIXED_SCALE == sdk::ONE);
};

/// Engine settings. Fill with `ls_config_default`, then change fields.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ls_config {
    /// `LS_TIER_INTERPRETER` (default) or `LS_TIER_COMPILED`.
    pub tier: u32,
    /// Most linear memory a strategy may have, in 64 KiB pages, preallocated per instance.
    /// Default 16 (1 MiB).
    pub max_memory_pages: u32,
    /// Fuel each event may use before the strategy is halted. Default 10,000,000.
    pub fuel_per_event: u64,
    /// Fuel for instantiation (start function plus init). Default 100,000,000.
    pub init_fuel: u64,
}

/// One event, decoded, for `ls_event_encode`. Set `kind` and the header, then the fields the
/// kind uses (leave the others zero):
///
/// | kind | fields |
/// |---|---|
/// | `LS_EVENT_QUOTE`, `LS_EVENT_BOOK` | `bid_px`, `bid_qty`, `ask_px`, `ask_qty` |
/// | `LS_EVENT_TRADE` | `px`, `qty`, `side` (aggressor, or `LS_SIDE_NONE`) |
/// | `LS_EVENT_ORDER_ACK` | `order_id`, `side`, `px`, `qty` |
/// | `LS_EVENT_FILL` | `order_id`, `side`, `px`, `qty`, `leaves` |
/// | `LS_EVENT_REJECT` | `order_id`, `reason` |
/// | `LS_EVENT_CANCELED` | `order_id`, `qty` |
/// | `LS_EVENT_TIMER` | `timer_id` |
///
/// Prices and quantities: fixed point, 8 decimals (`LS_FIXED_SCALE`). Times: nanoseconds.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ls_event {
    /// An `LS_EVENT_*` kind.
    pub kind: u16,
    /// Instrument the event concerns.
    pub instrument: u16,
    /// `LS_SIDE_BUY`, `LS_SIDE_SELL` (or `LS_SIDE_NONE` for a trade without aggressor).
    pub side: u8,
    /// Reject reason (`LS_EVENT_REJECT`).
    pub reason: u32,
    /// Sequence number, monotonic per feed.
    pub seq: u64,
    /// Exchange timestamp, ns.
    pub exchange_ts: i64,
    /// Local receive timestamp, ns: the strategy's "now".
    pub local_ts: i64,
    /// Best bid price.
    pub bid_px: i64,
    /// Best bid quantity.
    pub bid_qty: i64,
    /// Best ask price.
    pub ask_px: i64,
    /// Best ask quantity.
    pub ask_qty: i64,
    /// Trade, order or fill price.
    pub px: i64,
    /// Trade, order, fill or cancelled quantity.
    pub qty: i64,
    /// Quantity still open after a fill.
    pub leaves: i64,
    /// Our order id.
    pub order_id: u64,
    /// Timer id (`LS_EVENT_TIMER`).
    pub timer_id: u64,
}

/// One price level of a book (`ls_book_write`): fixed point, 8 decimals.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ls_level {
    /// Price.
    pub px: i64,
    /// Total visible quantity.
    pub qty: i64,
}

/// One action, decoded by `ls_action_decode`. Fields the kind does not use are zero:
///
/// | kind | fields |
/// |---|---|
/// | `LS_ACTION_PLACE_LIMIT` | `instrument`, `order_id`, `side`, `tif`, `px`, `qty` |
/// | `LS_ACTION_PLACE_MARKET` | `instrument`, `order_id`, `side`, `qty` |
/// | `LS_ACTION_CANCEL` | `instrument`, `order_id` |
/// | `LS_ACTION_REPLACE` | `instrument`, `order_id`, `px`, `qty` |
/// | `LS_ACTION_SET_TIMER` | `timer_id`, `at` (local clock, ns) |
/// | `LS_ACTION_SIGNAL` | `instrument`, `signal_id`, `value` (fixed point, 8 decimals) |
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ls_action {
    /// An `LS_ACTION_*` kind.
    pub kind: u16,
    /// Instrument.
    pub instrument: u16,
    /// `LS_SIDE_BUY` or `LS_SIDE_SELL` for placements, else `LS_SIDE_NONE`.
    pub side: u8,
    /// An `LS_TIF_*` time in force for `LS_ACTION_PLACE_LIMIT` (ABI v2), else 0.
    pub tif: u8,
    /// Strategy-defined signal id.
    pub signal_id: u32,
    /// Client order id.
    pub order_id: u64,
    /// Limit or new price.
    pub px: i64,
    /// Quantity.
    pub qty: i64,
    /// Timer id echoed in the timer event.
    pub timer_id: u64,
    /// When the timer should fire, ns on the local clock.
    pub at: i64,
    /// Signal value.
    pub value: i64,
}

/// An engine of one tier (opaque). Made by `ls_engine_new`, freed by `ls_engine_free`.
pub struct ls_engine {
    pub(crate) engine: Engine,
}

/// A validated, compiled strategy module (opaque). Made by `ls_module_load` or
/// `ls_module_load_precompiled`, freed by `ls_module_free`.
pub struct ls_module {
    pub(crate) module: StrategyModule,
}

/// A running strategy (opaque). Made by `ls_instance_new` or `ls_instance_restore`, freed by
/// `ls_instance_free`.
pub struct ls_instance {
    pub(crate) instance: Instance,
    /// The last checkpoint taken, reused by the two-call pattern.
    pub(crate) scratch: Vec<u8>,
}
