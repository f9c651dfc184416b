//! # lockstep-sdk
//!
//! Write a strategy once, run it natively or as WebAssembly in the Lockstep engine.
//!
//! ```ignore
//! use lockstep_sdk::{Actions, EventHeader, InitError, Params, Quote, Strategy};
//!
//! struct Echo;
//! impl Strategy for Echo {
//!     fn init(_: &Params<'_>, _: &mut Actions<'_>) -> Result<Self, InitError> { Ok(Echo) }
//!     fn on_quote(&mut self, h: &EventHeader, q: &Quote, out: &mut Actions<'_>) {
//!         out.signal(h.instrument, 1, (q.bid.px.raw() + q.ask.px.raw()) / 2);
//!     }
//! }
//! lockstep_sdk::export_strategy!(Echo);
//! ```
//!
//! ## Determinism contract
//! Guests receive no clock, no randomness and no I/O. Time is the event's `local_ts`. Prices and
//! quantities are fixed-point integers ([`Price`], [`Qty`]) convertible to `rust_decimal`.
//! Floating point, where a model needs it, must go through software `libm` so the same bits come
//! out on every machine ([`math`]: the host's `lockstep.math.*` in a Wasm guest, the same `libm`
//! code natively), and leaves the guest only as fixed-point [`Action::Signal`] values.
//!
//! ## Hot path
//! The host writes a 64-byte [`EventRecord`] into the guest's event region, calls
//! `lockstep_on_event`, and reads back the [`ActionRecord`]s. See `engine/ABI.md`.
#![deny(unsafe_code)]

mod abi;
mod calendar;
pub mod math;
mod option;
mod params;
mod quoter;
mod rng;
mod runner;
mod strategy;
mod text;
mod tier;
mod units;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod guest;

pub use abi::{
    ABI_VERSION, ACTION_SIZE, AbiError, Action, ActionRecord, BOOK_LEVELS, BOOK_SIZE, BookRecord,
    BookView, Canceled, EVENT_SIZE, Event, EventBody, EventHeader, EventRecord, Fill, Level,
    MIN_ABI_VERSION, OrderAck, Quote, REGIONS_SIZE, Regions, Reject, TimeInForce, Trade,
    action_kind, event_kind, names, reject_reason,
};
pub use calendar::{civil_from_days, days_from_civil, days_in_month, is_leap_year, is_valid_date};
pub use option::{DEFAULT_TENOR_NS, DEFAULT_YEAR_NS, Expiry, OptionKind, OptionTerms, mid_f64};
pub use params::{ParamError, Params};
pub use quoter::TwoSidedQuoter;
pub use rng::SplitMix64;
pub use runner::{RunError, Step, StrategyRunner};
pub use strategy::{
    Actions, DEFAULT_ACTION_CAP, DispatchError, InitError, NativeInstance, PARAMS_CAP, Strategy,
    dispatch, f64_to_fixed, status,
};
pub use text::{UNTRUSTED_MAX_CHARS, Untrusted, untrusted};
pub use tier::{Tier, UnknownTier};
pub use units::{InstrumentId, Nanos, ONE, OrderId, Price, Qty, SCALE, Side};

/// Re-export so strategies use the same `rust_decimal` as the SDK.
pub use rust_decimal;

/// Exports a [`Strategy`] type as a Lockstep Wasm guest (ABI v1). On native targets it only
/// names the type `Exported` (the catalog finds every built-in by that name), so the same crate
/// links natively alongside other strategies.
#[macro_export]
macro_rules! export_strategy {
    ($ty:ty) => {
        /// The strategy this crate exports.
        pub type Exported = $ty;

        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code, reason = "the Wasm exports are `#[unsafe(no_mangle)]` by necessity")]
        const _: () = {
            static STATE: $crate::guest::StrategySlot<$ty> = $crate::guest::StrategySlot::new();

            #[unsafe(no_mangle)]
            extern "C" fn lockstep_abi_version() -> i32 {
                $crate::ABI_VERSION as i32
            }
            #[unsafe(no_mangle)]
            extern "C" fn lockstep_regions() -> i32 {
                $crate::guest::regions()
            }
            #[unsafe(no_mangle)]
            extern "C" fn lockstep_init(params_len: i32) -> i32 {
                $crate::guest::init(&STATE, params_len)
            }
            #[unsafe(no_mangle)]
            extern "C" fn lockstep_on_event() -> i32 {
                $crate::guest::on_event(&STATE)
            }
        };
    };
}
