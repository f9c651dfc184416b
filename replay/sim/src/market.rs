//! Market types shared by the tape, the book and the venue: instruments, market messages
//! and tape events.

use crate::units_serde;
use lockstep_sdk::{InstrumentId, Nanos, Price, Qty, Side};
use serde::{Deserialize, Serialize};

/// Flag bit of [`TapeEvent::flags`]: more events of the same source message follow (a depth
/// diff with several levels, a snapshot, a sweep). Strategies see the book once the batch ends.
pub const FLAG_MORE: u8 = 1;

/// One instrument of a tape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentInfo {
    /// Its id on the tape and in strategy events (its index in [`TapeHeader::instruments`]).
    pub id: InstrumentId,
    /// Symbol as the source names it, e.g. `GOOG` or `BTCUSDT`.
    pub symbol: String,
    /// Venue or source, e.g. `NASDAQ` or `binance`.
    pub venue: String,
    /// Minimum price increment.
    #[serde(with = "units_serde::price")]
    pub tick_size: Price,
    /// Decimal places of prices in the source (LOBSTER: 4, i.e. dollars × 10000).
    pub price_scale: u32,
}

/// What happened in the market: L3 order messages (with order ids) and L2, quote and trade
/// messages (crypto feeds) in one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarketEvent {
    /// A new visible limit order rests on the book.
    Add {
        /// Exchange order id.
        order_id: u64,
        /// Resting side.
        #[serde(with = "units_serde::side")]
        side: Side,
        /// Limit price.
        #[serde(with = "units_serde::price")]
        px: Price,
        /// Visible quantity.
        #[serde(with = "units_serde::qty")]
        qty: Qty,
    },
    /// Part of an order was cancelled (`qty` is the cancelled amount).
    Cancel {
        /// Exchange order id.
        order_id: u64,
        /// Resting side.
        #[serde(with = "units_serde::side")]
        side: Side,
        /// The order's price.
        #[serde(with = "units_serde::price")]
        px: Price,
        /// Quantity removed.
        #[serde(with = "units_serde::qty")]
        qty: Qty,
    },
    /// An order was deleted (`qty` is its size as the source reports it).
    Delete {
        /// Exchange order id.
        order_id: u64,
        /// Resting side.
        #[serde(with = "units_serde::side")]
        side: Side,
        /// The order's price.
        #[serde(with = "units_serde::price")]
        px: Price,
        /// Quantity removed.
        #[serde(with = "units_serde::qty")]
        qty: Qty,
    },
    /// A visible resting order traded (`qty` executed at the order's price).
    Execute {
        /// Exchange order id.
        order_id: u64,
        /// Resting side (the aggressor is the other side).
        #[serde(with = "units_serde::side")]
        side: Side,
        /// Execution price.
        #[serde(with = "units_serde::price")]
        px: Price,
        /// Executed quantity.
        #[serde(with = "units_serde::qty")]
        qty: Qty,
    },
    /// A hidden order traded; the visible book does not change.
    HiddenExecute {
        /// Side of the hidden resting order.
        #[serde(with = "units_serde::side")]
        side: Side,
        /// Execution price.
        #[serde(with = "units_serde::price")]
        px: Price,
        /// Executed quantity.
        #[serde(with = "units_serde::qty")]
        qty: Qty,
    },
    /// L2: the total quantity at a price level is now `qty` (0 removes the level).
    Level {
        /// Side of the level.
        #[serde(with = "units_serde::side")]
        side: Side,
        /// Price of the level.
        #[serde(with = "units_serde::price")]
        px: Price,
        /// New absolute quantity.
        #[serde(with = "units_serde::qty")]
        qty: Qty,
    },
    /// The book is cleared (a snapshot follows).
    Clear,
    /// The orders at a level can no longer be told apart (events about them may have been
    /// missed while the level lay beyond the data's depth): the level keeps its size, all of it
    /// unattributed.
    Forget {
        /// Side of the level.
        #[serde(with = "units_serde::side")]
        side: Side,
        /// Price of the level.
        #[serde(with = "units_serde::price")]
        px: Price,
    },
    /// Top-of-book quote from a quote-only stream.
    Quote {
        /// Best bid price (0 when absent).
        #[serde(with = "units_serde::price")]
        bid_px: Price,
        /// Best bid quantity.
        #[serde(with = "units_serde::qty")]
        bid_qty: Qty,
        /// Best ask price (0 when absent).
        #[serde(with = "units_serde::price")]
        ask_px: Price,
        /// Best ask quantity.
        #[serde(with = "units_serde::qty")]
        ask_qty: Qty,
    },
    /// A trade print from a trade stream.
    Trade {
        /// Price.
        #[serde(with = "units_serde::price")]
        px: Price,
        /// Quantity.
        #[serde(with = "units_serde::qty")]
        qty: Qty,
        /// Aggressor side when the source says.
        #[serde(with = "units_serde::opt_side")]
        aggressor: Option<Side>,
    },
    /// A trading-status message (LOBSTER type 7: -1 halt, 0 quote resume, 1 trade resume).
    Status {
        /// The source's status code.
        code: i8,
    },
}

/// One event of a tape: timestamps, instrument, batch flag and the market message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TapeEvent {
    /// Exchange (origin) time in integer nanoseconds.
    pub exchange_ts: Nanos,
    /// Local receive time in integer nanoseconds: the replay's clock.
    pub local_ts: Nanos,
    /// Instrument id (index into the header's instruments).
    pub instrument: InstrumentId,
    /// [`FLAG_MORE`] when more events of the same source message follow.
    pub flags: u8,
    /// The message.
    pub msg: MarketEvent,
}

impl TapeEvent {
    /// An event with both timestamps and no flags.
    pub fn new(
        exchange_ts: Nanos,
        local_ts: Nanos,
        instrument: InstrumentId,
        msg: MarketEvent,
    ) -> Self {
        Self { exchange_ts, local_ts, instrument, flags: 0, msg }
    }
    /// Whether more events of the same source message follow.
    #[inline]
    pub fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }
}
