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
    /// Smallest quantity increment: every order's quantity is a whole number of lots.
    #[serde(with = "units_serde::qty")]
    pub lot_size: Qty,
    /// How a price and a quantity become money: multiplier, and linear or inverse.
    pub contract: Contract,
    /// Currency of prices and PnL: `USD`, `USDT`, or the coin of an inverse contract (`BTC`).
    pub currency: String,
    /// The venue's time zone, an IANA name (`America/New_York`, `UTC`).
    pub time_zone: String,
}

impl InstrumentInfo {
    /// A spot instrument (multiplier 1, linear) in `currency` on a venue in `time_zone`.
    pub fn spot(
        id: InstrumentId,
        symbol: impl Into<String>,
        venue: impl Into<String>,
        tick_size: Price,
        lot_size: Qty,
        currency: impl Into<String>,
        time_zone: impl Into<String>,
    ) -> Self {
        let tick_decimals = decimals_of(tick_size.0);
        Self {
            id,
            symbol: symbol.into(),
            venue: venue.into(),
            tick_size,
            price_scale: tick_decimals,
            lot_size,
            contract: Contract::LINEAR,
            currency: currency.into(),
            time_zone: time_zone.into(),
        }
    }
}

/// Decimal places of a positive fixed-point value (8 at most).
fn decimals_of(raw: i64) -> u32 {
    let mut d = lockstep_sdk::SCALE;
    let mut v = raw;
    while d > 0 && v != 0 && v % 10 == 0 {
        v /= 10;
        d -= 1;
    }
    d
}

/// A contract's terms: how a quantity at a price is worth money in the instrument's
/// currency. Linear (spot, USD-M futures, CME futures): `qty × price × multiplier`. Inverse
/// (coin-margined futures): each contract is `multiplier` of the quote currency, so holding
/// `qty` at `price` is worth `qty × multiplier / price` coins, and a long loses coins as the
/// price rises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// Contract multiplier (ES: 50; spot: 1; BTCUSD_PERP: 100 USD a contract).
    #[serde(with = "units_serde::qty")]
    pub multiplier: Qty,
    /// Whether the contract is inverse (priced in quote currency, settled in the coin).
    pub inverse: bool,
}

impl Contract {
    /// Multiplier 1, linear: what a spot instrument is.
    pub const LINEAR: Contract = Contract { multiplier: Qty(lockstep_sdk::ONE), inverse: false };

    /// What holding `qty` (signed: negative is short) at `px` is worth, fixed-point money
    /// with 8 decimals. Buying `q` at `p` costs `value(q, p)`; a position is marked at
    /// `value(position, mark)`. Zero at a price of zero or below (nothing to mark at).
    pub fn value(self, qty: i64, px: i64) -> i128 {
        let one = i128::from(lockstep_sdk::ONE);
        let (q, p, m) = (i128::from(qty), i128::from(px), i128::from(self.multiplier.0));
        if self.inverse {
            if p <= 0 {
                return 0;
            }
            // qty × multiplier / price, in coins: the scales cancel to 8 decimals.
            return -(q.saturating_mul(m) / p);
        }
        let v = q.saturating_mul(p) / one;
        if m == one { v } else { v.saturating_mul(m) / one }
    }
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

/// For people: prices and quantities as decimals, the side in words (`add #12 buy 100 @
/// 579.4`), as `replay inspect --events` prints them.
impl core::fmt::Display for MarketEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let side = |s: &Side| match s {
            Side::Buy => "buy",
            Side::Sell => "sell",
        };
        match self {
            Self::Add { order_id, side: s, px, qty } => {
                write!(f, "add #{order_id} {} {qty} @ {px}", side(s))
            }
            Self::Cancel { order_id, side: s, px, qty } => {
                write!(f, "cancel #{order_id} {} {qty} @ {px}", side(s))
            }
            Self::Delete { order_id, side: s, px, qty } => {
                write!(f, "delete #{order_id} {} {qty} @ {px}", side(s))
            }
            Self::Execute { order_id, side: s, px, qty } => {
                write!(f, "execute #{order_id} {} {qty} @ {px}", side(s))
            }
            Self::HiddenExecute { side: s, px, qty } => {
                write!(f, "hidden execute {} {qty} @ {px}", side(s))
            }
            Self::Level { side: s, px, qty } => write!(f, "level {} {px}: {qty}", side(s)),
            Self::Clear => f.write_str("clear the book"),
            Self::Forget { side: s, px } => write!(f, "forget {} {px}", side(s)),
            Self::Quote { bid_px, bid_qty, ask_px, ask_qty } => {
                write!(f, "quote {bid_qty} @ {bid_px} / {ask_qty} @ {ask_px}")
            }
            Self::Trade { px, qty, aggressor } => match aggressor {
                Some(s) => write!(f, "trade {qty} @ {px} ({} aggressor)", side(s)),
                None => write!(f, "trade {qty} @ {px}"),
            },
            Self::Status { code } => write!(f, "status {code}"),
        }
    }
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

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn events_read_as_decimals_and_words() {
        let px = Price(57_940_000_000);
        let qty = Qty(100 * lockstep_sdk::ONE);
        let add = MarketEvent::Add { order_id: 12, side: Side::Buy, px, qty };
        assert_eq!(add.to_string(), "add #12 buy 100 @ 579.4");
        let t = MarketEvent::Trade { px, qty, aggressor: Some(Side::Sell) };
        assert_eq!(t.to_string(), "trade 100 @ 579.4 (sell aggressor)");
        let q = MarketEvent::Quote {
            bid_px: px,
            bid_qty: qty,
            ask_px: Price(57_950_000_000),
            ask_qty: qty,
        };
        assert_eq!(q.to_string(), "quote 100 @ 579.4 / 100 @ 579.5");
    }
}
