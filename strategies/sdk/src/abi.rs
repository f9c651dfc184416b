//! The Lockstep guest ABI, version [`ABI_VERSION`]: fixed-layout little-endian records.
//!
//! The host writes one [`EventRecord`] (and, for book events, one [`BookRecord`]) into regions
//! of the guest's linear memory that the guest declared once at instantiation; the guest writes
//! up to `action_cap` [`ActionRecord`]s into its action region and returns their count. Nothing
//! is serialised and nothing is allocated per event. `engine/ABI.md` is the normative text; the
//! offsets here are the single source both host and guest use.

use crate::units::{InstrumentId, Nanos, OrderId, Price, Qty, Side};
use core::fmt;

/// The ABI version this SDK speaks. Version 2 added order types ([`TimeInForce`]: byte 5 of a
/// `PLACE_LIMIT` record) and their reject reasons; a version-1 guest keeps loading, and its
/// records mean exactly what they meant (byte 5 ignored). Any other version is refused.
pub const ABI_VERSION: u32 = 2;
/// The oldest ABI version the host still runs.
pub const MIN_ABI_VERSION: u32 = 1;

/// How long a limit order may live, and whether it may take liquidity (ABI v2, byte 5 of a
/// `PLACE_LIMIT` record; 0 is a plain limit order, good till cancelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimeInForce {
    /// Immediate or cancel: takes what it can at its price or better, the rest is cancelled.
    Ioc,
    /// Fill or kill: all of it at its price or better at once, or nothing (cancelled).
    Fok,
    /// Post only: rests without taking liquidity; one that would cross is rejected
    /// ([`reject_reason::WOULD_CROSS`]).
    PostOnly,
    /// Good till crossing (Binance's GTX): rests without taking liquidity; one that would cross
    /// is accepted and at once cancelled (expired), as Binance does, rather than rejected.
    Gtx,
}

impl TimeInForce {
    /// The byte in the record.
    pub const fn code(self) -> u8 {
        match self {
            TimeInForce::Ioc => 1,
            TimeInForce::Fok => 2,
            TimeInForce::PostOnly => 3,
            TimeInForce::Gtx => 4,
        }
    }
    /// From the record's byte (`None` for 0, a plain limit order, and unknown codes).
    pub const fn from_code(b: u8) -> Option<Self> {
        match b {
            1 => Some(TimeInForce::Ioc),
            2 => Some(TimeInForce::Fok),
            3 => Some(TimeInForce::PostOnly),
            4 => Some(TimeInForce::Gtx),
            _ => None,
        }
    }
    /// `ioc`, `fok`, `post_only` or `gtx`.
    pub const fn name(self) -> &'static str {
        match self {
            TimeInForce::Ioc => "ioc",
            TimeInForce::Fok => "fok",
            TimeInForce::PostOnly => "post_only",
            TimeInForce::Gtx => "gtx",
        }
    }
}
/// Size in bytes of one event record.
pub const EVENT_SIZE: usize = 64;
/// Size in bytes of one action record.
pub const ACTION_SIZE: usize = 64;
/// Levels per side in the L2 book view.
pub const BOOK_LEVELS: usize = 10;
/// Size in bytes of the book record: an 8-byte header, then bids, then asks (16 bytes a level).
pub const BOOK_SIZE: usize = 8 + 2 * BOOK_LEVELS * 16;
/// Size in bytes of the region descriptor returned by `lockstep_regions`.
pub const REGIONS_SIZE: usize = 32;

/// Names of the exports and imports that make up the ABI.
pub mod names {
    /// Import module of every host-provided item.
    pub const HOST_MODULE: &str = "lockstep";
    /// The imported linear memory (`(import "lockstep" "memory" (memory N))`).
    pub const MEMORY: &str = "memory";
    /// Host function `fail(ptr: i32, len: i32)`: the guest reports a fatal message and traps.
    pub const FAIL: &str = "fail";
    /// Export `lockstep_abi_version() -> i32`.
    pub const ABI_VERSION: &str = "lockstep_abi_version";
    /// Export `lockstep_regions() -> i32`: address of the region descriptor.
    pub const REGIONS: &str = "lockstep_regions";
    /// Export `lockstep_init(params_len: i32) -> i32`.
    pub const INIT: &str = "lockstep_init";
    /// Export `lockstep_on_event() -> i32`.
    pub const ON_EVENT: &str = "lockstep_on_event";
    /// Optional export `lockstep_migrate(from_state_version: i32) -> i32`: this version takes
    /// over a running older version's memory and globals at a hot swap (see `engine/ABI.md`).
    pub const MIGRATE: &str = "lockstep_migrate";
    /// Optional export `lockstep_state_version() -> i32`: the layout version of the state this
    /// version keeps, handed to its successor's `lockstep_migrate` (0 when not exported).
    pub const STATE_VERSION: &str = "lockstep_state_version";
}

#[inline]
fn rd_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
#[inline]
fn rd_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
#[inline]
fn rd_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
#[inline]
fn rd_i64(b: &[u8], at: usize) -> i64 {
    rd_u64(b, at) as i64
}
#[inline]
fn wr_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
#[inline]
fn wr_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
#[inline]
fn wr_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
#[inline]
fn wr_i64(b: &mut [u8], at: usize, v: i64) {
    wr_u64(b, at, v as u64);
}

/// Why a record could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbiError {
    /// The kind field holds a value this ABI version does not define.
    UnknownKind(u16),
    /// The side byte is neither 1 (buy) nor 2 (sell).
    BadSide(u8),
    /// The descriptor's version field differs from [`ABI_VERSION`].
    Version(u32),
    /// A `PLACE_LIMIT` record's order-type byte is not a [`TimeInForce`] code (ABI v2).
    BadOrderType(u8),
}

impl fmt::Display for AbiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbiError::UnknownKind(k) => write!(
                f,
                "record kind {k} is not defined by Lockstep ABI v{ABI_VERSION}; check engine/ABI.md"
            ),
            AbiError::BadSide(s) => write!(f, "side byte {s} is invalid: use 1 (buy) or 2 (sell)"),
            AbiError::Version(v) => {
                write!(f, "ABI version {v} is not supported: rebuild against ABI v{ABI_VERSION}")
            }
            AbiError::BadOrderType(t) => write!(
                f,
                "order type byte {t} is not defined: use 0 (limit), 1 (IOC), 2 (FOK), 3 (post only) or 4 (GTX)"
            ),
        }
    }
}

impl std::error::Error for AbiError {}

/// Event kinds (`u16` at offset 0 of an event record).
pub mod event_kind {
    /// Top-of-book quote.
    pub const QUOTE: u16 = 1;
    /// Public trade print.
    pub const TRADE: u16 = 2;
    /// Order book changed; the book region holds the new L2 view.
    pub const BOOK: u16 = 3;
    /// One of our orders was accepted (or replaced) by the venue.
    pub const ORDER_ACK: u16 = 4;
    /// One of our orders was (partially) filled.
    pub const FILL: u16 = 5;
    /// One of our requests was rejected.
    pub const REJECT: u16 = 6;
    /// One of our orders was cancelled.
    pub const CANCELED: u16 = 7;
    /// A timer the strategy set has fired.
    pub const TIMER: u16 = 8;

    /// A short name for a kind, for reports (`"?"` for undefined kinds).
    pub const fn name(kind: u16) -> &'static str {
        match kind {
            QUOTE => "quote",
            TRADE => "trade",
            BOOK => "book",
            ORDER_ACK => "ack",
            FILL => "fill",
            REJECT => "reject",
            CANCELED => "canceled",
            TIMER => "timer",
            _ => "?",
        }
    }
}

/// Action kinds (`u16` at offset 0 of an action record).
pub mod action_kind {
    /// Place a limit order.
    pub const PLACE_LIMIT: u16 = 1;
    /// Place a market order.
    pub const PLACE_MARKET: u16 = 2;
    /// Cancel an order.
    pub const CANCEL: u16 = 3;
    /// Replace an order's price and quantity.
    pub const REPLACE: u16 = 4;
    /// Ask for a timer event at a given time.
    pub const SET_TIMER: u16 = 5;
    /// Publish a computed value (a fair price, a greek, a z-score).
    pub const SIGNAL: u16 = 6;
}

/// Why the venue rejected a request (carried in [`EventBody::Reject`]).
pub mod reject_reason {
    /// The order id is unknown or already closed.
    pub const UNKNOWN_ORDER: u32 = 1;
    /// The order id is already in use.
    pub const DUPLICATE_ID: u32 = 2;
    /// Price or quantity invalid (non-positive, off tick).
    pub const INVALID: u32 = 3;
    /// A risk limit refused it.
    pub const RISK: u32 = 4;
    /// The instrument is unknown.
    pub const UNKNOWN_INSTRUMENT: u32 = 5;
    /// A post-only order would have taken liquidity (ABI v2).
    pub const WOULD_CROSS: u32 = 6;
    /// The venue does not support the order type (ABI v2).
    pub const UNSUPPORTED: u32 = 7;
    /// The gateway's pre-trade risk: the order's quantity is over the limit.
    pub const RISK_MAX_QTY: u32 = 10;
    /// The gateway's pre-trade risk: the order's notional is over the limit.
    pub const RISK_MAX_NOTIONAL: u32 = 11;
    /// The gateway's pre-trade risk: the price is outside the collar around the reference.
    pub const RISK_PRICE_COLLAR: u32 = 12;
    /// The gateway's pre-trade risk: a fill could take the position past the limit.
    pub const RISK_MAX_POSITION: u32 = 13;
    /// The gateway's pre-trade risk: too many orders in the last second.
    pub const RISK_ORDER_RATE: u32 = 14;
    /// The gateway's pre-trade risk: too many open orders.
    pub const RISK_OPEN_ORDERS: u32 = 15;
    /// The gateway's kill switch is on: no new orders.
    pub const RISK_KILL_SWITCH: u32 = 16;
    /// The gateway's pre-trade risk: no reference price yet for the collar.
    pub const RISK_NO_REFERENCE: u32 = 17;
}

/// Common header of every event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventHeader {
    /// Monotonic sequence number assigned by the feeder.
    pub seq: u64,
    /// Instrument the event concerns.
    pub instrument: InstrumentId,
    /// Exchange (origin) timestamp.
    pub exchange_ts: Nanos,
    /// Local receive timestamp: the strategy's notion of "now".
    pub local_ts: Nanos,
}

/// Best bid and offer (also the top of book repeated in a book event).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quote {
    /// Best bid (price 0 and qty 0 when the side is empty).
    pub bid: Level,
    /// Best ask (price 0 and qty 0 when the side is empty).
    pub ask: Level,
}

/// A public trade print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    /// Trade price.
    pub px: Price,
    /// Trade size.
    pub qty: Qty,
    /// Aggressor side, when the feed says.
    pub aggressor: Option<Side>,
}

/// Our order is live (new or replaced) at this price and open quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderAck {
    /// Our order id.
    pub order_id: OrderId,
    /// Side of the order.
    pub side: Side,
    /// Resting price (0 for market orders).
    pub px: Price,
    /// Open quantity.
    pub qty: Qty,
}

/// Our order traded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// Our order id.
    pub order_id: OrderId,
    /// Side of the order.
    pub side: Side,
    /// Fill price.
    pub px: Price,
    /// Filled quantity.
    pub qty: Qty,
    /// Quantity still open after this fill.
    pub leaves: Qty,
}

/// A request of ours was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject {
    /// The order id the request named.
    pub order_id: OrderId,
    /// A [`reject_reason`] code.
    pub reason: u32,
}

/// Our order is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Canceled {
    /// Our order id.
    pub order_id: OrderId,
    /// Quantity that was still open.
    pub qty: Qty,
}

/// What an event says, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventBody {
    /// Top-of-book quote.
    Quote(Quote),
    /// Public trade.
    Trade(Trade),
    /// The book changed: top of book here, the L2 view in the book region ([`BookView`]).
    Book(Quote),
    /// Our order is live.
    OrderAck(OrderAck),
    /// Our order traded.
    Fill(Fill),
    /// A request was rejected.
    Reject(Reject),
    /// Our order is gone.
    Canceled(Canceled),
    /// A timer fired; the id given in [`Action::SetTimer`].
    Timer(u64),
}

/// A decoded event: header plus body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Sequence, instrument and timestamps.
    pub h: EventHeader,
    /// The kind-specific part.
    pub body: EventBody,
}

impl Event {
    /// Encodes the event into its fixed 64-byte record.
    pub fn encode(&self) -> EventRecord {
        let mut r = EventRecord::zeroed();
        let b = &mut r.0;
        let h = &self.h;
        wr_u16(b, 2, h.instrument);
        wr_u64(b, 8, h.seq);
        wr_i64(b, 16, h.exchange_ts.0);
        wr_i64(b, 24, h.local_ts.0);
        let (kind, flags, p): (u16, u32, [i64; 4]) = match self.body {
            EventBody::Quote(q) => {
                (event_kind::QUOTE, 0, [q.bid.px.0, q.bid.qty.0, q.ask.px.0, q.ask.qty.0])
            }
            EventBody::Trade(t) => (
                event_kind::TRADE,
                t.aggressor.map_or(0, |s| u32::from(s.to_u8())),
                [t.px.0, t.qty.0, 0, 0],
            ),
            EventBody::Book(q) => {
                (event_kind::BOOK, 0, [q.bid.px.0, q.bid.qty.0, q.ask.px.0, q.ask.qty.0])
            }
            EventBody::OrderAck(a) => (
                event_kind::ORDER_ACK,
                u32::from(a.side.to_u8()),
                [a.order_id as i64, a.px.0, a.qty.0, 0],
            ),
            EventBody::Fill(f) => (
                event_kind::FILL,
                u32::from(f.side.to_u8()),
                [f.order_id as i64, f.px.0, f.qty.0, f.leaves.0],
            ),
            EventBody::Reject(r) => (event_kind::REJECT, r.reason, [r.order_id as i64, 0, 0, 0]),
            EventBody::Canceled(c) => (event_kind::CANCELED, 0, [c.order_id as i64, c.qty.0, 0, 0]),
            EventBody::Timer(id) => (event_kind::TIMER, 0, [id as i64, 0, 0, 0]),
        };
        wr_u16(b, 0, kind);
        wr_u32(b, 4, flags);
        for (i, v) in p.iter().enumerate() {
            wr_i64(b, 32 + 8 * i, *v);
        }
        r
    }
}

/// One event as its 64 raw ABI bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct EventRecord(pub [u8; EVENT_SIZE]);

impl EventRecord {
    /// All zero bytes (an invalid event of kind 0).
    pub const fn zeroed() -> Self {
        Self([0; EVENT_SIZE])
    }
    /// The kind field.
    #[inline]
    pub fn kind(&self) -> u16 {
        rd_u16(&self.0, 0)
    }
    /// The sequence number field.
    #[inline]
    pub fn seq(&self) -> u64 {
        rd_u64(&self.0, 8)
    }
    /// Overwrites the sequence number field.
    #[inline]
    pub fn set_seq(&mut self, seq: u64) {
        wr_u64(&mut self.0, 8, seq);
    }
    /// Decodes the record.
    ///
    /// # Errors
    /// [`AbiError`] if the kind or a side byte is not defined by this ABI version.
    pub fn decode(&self) -> Result<Event, AbiError> {
        let b = &self.0;
        let h = EventHeader {
            instrument: rd_u16(b, 2),
            seq: rd_u64(b, 8),
            exchange_ts: Nanos(rd_i64(b, 16)),
            local_ts: Nanos(rd_i64(b, 24)),
        };
        let flags = rd_u32(b, 4);
        let p = |i: usize| rd_i64(b, 32 + 8 * i);
        let side = || Side::from_u8(flags as u8).ok_or(AbiError::BadSide(flags as u8));
        let quote = || Quote {
            bid: Level { px: Price(p(0)), qty: Qty(p(1)) },
            ask: Level { px: Price(p(2)), qty: Qty(p(3)) },
        };
        let body = match rd_u16(b, 0) {
            event_kind::QUOTE => EventBody::Quote(quote()),
            event_kind::TRADE => EventBody::Trade(Trade {
                px: Price(p(0)),
                qty: Qty(p(1)),
                aggressor: Side::from_u8(flags as u8),
            }),
            event_kind::BOOK => EventBody::Book(quote()),
            event_kind::ORDER_ACK => EventBody::OrderAck(OrderAck {
                order_id: p(0) as u64,
                side: side()?,
                px: Price(p(1)),
                qty: Qty(p(2)),
            }),
            event_kind::FILL => EventBody::Fill(Fill {
                order_id: p(0) as u64,
                side: side()?,
                px: Price(p(1)),
                qty: Qty(p(2)),
                leaves: Qty(p(3)),
            }),
            event_kind::REJECT => {
                EventBody::Reject(Reject { order_id: p(0) as u64, reason: flags })
            }
            event_kind::CANCELED => {
                EventBody::Canceled(Canceled { order_id: p(0) as u64, qty: Qty(p(1)) })
            }
            event_kind::TIMER => EventBody::Timer(p(0) as u64),
            k => return Err(AbiError::UnknownKind(k)),
        };
        Ok(Event { h, body })
    }
}

impl fmt::Debug for EventRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.decode() {
            Ok(e) => write!(f, "EventRecord({e:?})"),
            Err(e) => write!(f, "EventRecord(<{e}> {:02x?})", &self.0[..]),
        }
    }
}

/// A decoded action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Place a limit order.
    PlaceLimit {
        /// Instrument.
        instrument: InstrumentId,
        /// Client order id, unique for the life of the strategy.
        order_id: OrderId,
        /// Side.
        side: Side,
        /// Limit price.
        px: Price,
        /// Quantity.
        qty: Qty,
    },
    /// Place a market order.
    PlaceMarket {
        /// Instrument.
        instrument: InstrumentId,
        /// Client order id.
        order_id: OrderId,
        /// Side.
        side: Side,
        /// Quantity.
        qty: Qty,
    },
    /// Cancel a resting order.
    Cancel {
        /// Instrument.
        instrument: InstrumentId,
        /// Order to cancel.
        order_id: OrderId,
    },
    /// Replace a resting order's price and quantity (loses queue priority on a price change).
    Replace {
        /// Instrument.
        instrument: InstrumentId,
        /// Order to replace.
        order_id: OrderId,
        /// New price.
        px: Price,
        /// New total quantity.
        qty: Qty,
    },
    /// Request an [`EventBody::Timer`] at (or after) `at`.
    SetTimer {
        /// Id echoed in the timer event.
        timer_id: u64,
        /// When to fire, on the local clock.
        at: Nanos,
    },
    /// Publish a computed value; fixed-point with 8 decimal places like [`Price`].
    Signal {
        /// Instrument the value concerns.
        instrument: InstrumentId,
        /// Strategy-defined signal id (e.g. 1 = price, 2 = delta).
        id: u32,
        /// The value times 1e8.
        value: i64,
    },
    /// Place a limit order with a time in force other than good till cancelled (ABI v2; last,
    /// so the older variants keep their discriminants and guests their code).
    PlaceOrder {
        /// Instrument.
        instrument: InstrumentId,
        /// Client order id, unique for the life of the strategy.
        order_id: OrderId,
        /// Side.
        side: Side,
        /// Limit price.
        px: Price,
        /// Quantity.
        qty: Qty,
        /// IOC, FOK, post only or GTX.
        tif: TimeInForce,
    },
}

impl Action {
    /// Encodes the action into its fixed 64-byte record.
    pub fn encode(&self) -> ActionRecord {
        let mut r = ActionRecord::zeroed();
        let b = &mut r.0;
        let (kind, instr, side, id, px, qty, a, bb) = match *self {
            Action::PlaceLimit { instrument, order_id, side, px, qty } => {
                (action_kind::PLACE_LIMIT, instrument, side.to_u8(), order_id, px.0, qty.0, 0, 0)
            }
            Action::PlaceMarket { instrument, order_id, side, qty } => {
                (action_kind::PLACE_MARKET, instrument, side.to_u8(), order_id, 0, qty.0, 0, 0)
            }
            Action::Cancel { instrument, order_id } => {
                (action_kind::CANCEL, instrument, 0, order_id, 0, 0, 0, 0)
            }
            Action::Replace { instrument, order_id, px, qty } => {
                (action_kind::REPLACE, instrument, 0, order_id, px.0, qty.0, 0, 0)
            }
            Action::SetTimer { timer_id, at } => {
                (action_kind::SET_TIMER, 0, 0, timer_id, 0, 0, at.0, 0)
            }
            Action::Signal { instrument, id, value } => {
                (action_kind::SIGNAL, instrument, 0, 0, 0, 0, value, u64::from(id))
            }
            Action::PlaceOrder { instrument, order_id, side, px, qty, tif } => {
                b[5] = tif.code();
                (action_kind::PLACE_LIMIT, instrument, side.to_u8(), order_id, px.0, qty.0, 0, 0)
            }
        };
        wr_u16(b, 0, kind);
        wr_u16(b, 2, instr);
        b[4] = side;
        wr_u64(b, 8, id);
        wr_i64(b, 16, px);
        wr_i64(b, 24, qty);
        wr_i64(b, 32, a);
        wr_u64(b, 40, bb);
        r
    }
}

/// One action as its 64 raw ABI bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(C, align(8))]
pub struct ActionRecord(pub [u8; ACTION_SIZE]);

impl ActionRecord {
    /// All zero bytes (an invalid action of kind 0).
    pub const fn zeroed() -> Self {
        Self([0; ACTION_SIZE])
    }
    /// The kind field.
    #[inline]
    pub fn kind(&self) -> u16 {
        rd_u16(&self.0, 0)
    }
    /// Decodes the record.
    ///
    /// # Errors
    /// [`AbiError`] if the kind or side is not defined by this ABI version.
    pub fn decode(&self) -> Result<Action, AbiError> {
        self.decode_for(ABI_VERSION)
    }

    /// Decodes the record as a guest of ABI version `abi` wrote it: before version 2, byte 5 of
    /// a `PLACE_LIMIT` is padding and ignored, so a version-1 guest's orders are what they were.
    ///
    /// # Errors
    /// As [`ActionRecord::decode`], and [`AbiError::BadOrderType`] for an undefined order type.
    pub fn decode_for(&self, abi: u32) -> Result<Action, AbiError> {
        let b = &self.0;
        let instrument = rd_u16(b, 2);
        let side = || Side::from_u8(b[4]).ok_or(AbiError::BadSide(b[4]));
        let order_id = rd_u64(b, 8);
        let px = Price(rd_i64(b, 16));
        let qty = Qty(rd_i64(b, 24));
        Ok(match rd_u16(b, 0) {
            action_kind::PLACE_LIMIT if abi >= 2 && b[5] != 0 => {
                let tif = TimeInForce::from_code(b[5]).ok_or(AbiError::BadOrderType(b[5]))?;
                Action::PlaceOrder { instrument, order_id, side: side()?, px, qty, tif }
            }
            action_kind::PLACE_LIMIT => {
                Action::PlaceLimit { instrument, order_id, side: side()?, px, qty }
            }
            action_kind::PLACE_MARKET => {
                Action::PlaceMarket { instrument, order_id, side: side()?, qty }
            }
            action_kind::CANCEL => Action::Cancel { instrument, order_id },
            action_kind::REPLACE => Action::Replace { instrument, order_id, px, qty },
            action_kind::SET_TIMER => {
                Action::SetTimer { timer_id: order_id, at: Nanos(rd_i64(b, 32)) }
            }
            action_kind::SIGNAL => {
                Action::Signal { instrument, id: rd_u64(b, 40) as u32, value: rd_i64(b, 32) }
            }
            k => return Err(AbiError::UnknownKind(k)),
        })
    }
}

impl fmt::Debug for ActionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.decode() {
            Ok(a) => write!(f, "ActionRecord({a:?})"),
            Err(e) => write!(f, "ActionRecord(<{e}> {:02x?})", &self.0[..]),
        }
    }
}

/// One price level of the L2 view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Level {
    /// Price of the level.
    pub px: Price,
    /// Total visible quantity at the level.
    pub qty: Qty,
}

/// The L2 view of the top [`BOOK_LEVELS`] levels per side, as raw ABI bytes.
///
/// Layout: `u16 instrument, u16 n_bids, u16 n_asks, u16 0`, then `BOOK_LEVELS` bid levels
/// (best first), then `BOOK_LEVELS` ask levels (best first); each level is `i64 px, i64 qty`.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct BookRecord(pub [u8; BOOK_SIZE]);

impl Default for BookRecord {
    fn default() -> Self {
        Self([0; BOOK_SIZE])
    }
}

impl fmt::Debug for BookRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = BookView::new(&self.0);
        f.debug_struct("BookRecord")
            .field("instrument", &v.instrument())
            .field("bids", &v.bid_count())
            .field("asks", &v.ask_count())
            .finish()
    }
}

impl BookRecord {
    /// Writes the L2 view: at most [`BOOK_LEVELS`] levels per side are kept.
    pub fn write(&mut self, instrument: InstrumentId, bids: &[Level], asks: &[Level]) {
        let b = &mut self.0;
        let nb = bids.len().min(BOOK_LEVELS);
        let na = asks.len().min(BOOK_LEVELS);
        wr_u16(b, 0, instrument);
        wr_u16(b, 2, nb as u16);
        wr_u16(b, 4, na as u16);
        wr_u16(b, 6, 0);
        for (i, l) in bids[..nb].iter().enumerate() {
            wr_i64(b, 8 + 16 * i, l.px.0);
            wr_i64(b, 16 + 16 * i, l.qty.0);
        }
        for (i, l) in asks[..na].iter().enumerate() {
            let at = 8 + 16 * BOOK_LEVELS + 16 * i;
            wr_i64(b, at, l.px.0);
            wr_i64(b, at + 8, l.qty.0);
        }
    }
    /// Writes one level in place (`i < BOOK_LEVELS`) without touching the counts.
    ///
    /// # Panics
    /// Panics if `i >= BOOK_LEVELS`.
    pub fn set_level(&mut self, side: Side, i: usize, level: Level) {
        assert!(i < BOOK_LEVELS, "book level {i} out of range");
        let at = match side {
            Side::Buy => 8 + 16 * i,
            Side::Sell => 8 + 16 * BOOK_LEVELS + 16 * i,
        };
        wr_i64(&mut self.0, at, level.px.0);
        wr_i64(&mut self.0, at + 8, level.qty.0);
    }
    /// Sets the header: instrument and the number of valid levels on each side.
    pub fn set_header(&mut self, instrument: InstrumentId, n_bids: usize, n_asks: usize) {
        wr_u16(&mut self.0, 0, instrument);
        wr_u16(&mut self.0, 2, n_bids.min(BOOK_LEVELS) as u16);
        wr_u16(&mut self.0, 4, n_asks.min(BOOK_LEVELS) as u16);
    }
    /// A read view.
    pub fn view(&self) -> BookView<'_> {
        BookView::new(&self.0)
    }
}

/// Read-only view of a book record in place (no copy).
#[derive(Clone, Copy)]
pub struct BookView<'a>(&'a [u8]);

impl<'a> BookView<'a> {
    /// Wraps `BOOK_SIZE` bytes.
    ///
    /// # Panics
    /// Panics if `bytes` is shorter than [`BOOK_SIZE`].
    pub fn new(bytes: &'a [u8]) -> Self {
        assert!(bytes.len() >= BOOK_SIZE, "book region too small");
        Self(bytes)
    }
    /// Instrument of the view.
    pub fn instrument(&self) -> InstrumentId {
        rd_u16(self.0, 0)
    }
    /// Number of valid bid levels.
    pub fn bid_count(&self) -> usize {
        usize::from(rd_u16(self.0, 2)).min(BOOK_LEVELS)
    }
    /// Number of valid ask levels.
    pub fn ask_count(&self) -> usize {
        usize::from(rd_u16(self.0, 4)).min(BOOK_LEVELS)
    }
    /// Bid level `i` (0 = best), if present.
    pub fn bid(&self, i: usize) -> Option<Level> {
        (i < self.bid_count()).then(|| Level {
            px: Price(rd_i64(self.0, 8 + 16 * i)),
            qty: Qty(rd_i64(self.0, 16 + 16 * i)),
        })
    }
    /// Ask level `i` (0 = best), if present.
    pub fn ask(&self, i: usize) -> Option<Level> {
        let at = 8 + 16 * BOOK_LEVELS + 16 * i;
        (i < self.ask_count())
            .then(|| Level { px: Price(rd_i64(self.0, at)), qty: Qty(rd_i64(self.0, at + 8)) })
    }
}

/// Where the guest's ABI regions are, as declared once by `lockstep_regions`.
///
/// Layout (eight little-endian `u32`): `abi_version, event_ptr, action_ptr, action_cap,
/// book_ptr, params_ptr, params_cap, 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Regions {
    /// Must equal [`ABI_VERSION`].
    pub abi_version: u32,
    /// Address of the event record ([`EVENT_SIZE`] bytes).
    pub event_ptr: u32,
    /// Address of the action array.
    pub action_ptr: u32,
    /// Capacity of the action array, in records.
    pub action_cap: u32,
    /// Address of the book record ([`BOOK_SIZE`] bytes).
    pub book_ptr: u32,
    /// Address of the parameter buffer.
    pub params_ptr: u32,
    /// Capacity of the parameter buffer in bytes.
    pub params_cap: u32,
}

impl Regions {
    /// Encodes into the 32-byte descriptor.
    pub fn encode(&self) -> [u8; REGIONS_SIZE] {
        let mut b = [0u8; REGIONS_SIZE];
        for (i, v) in [
            self.abi_version,
            self.event_ptr,
            self.action_ptr,
            self.action_cap,
            self.book_ptr,
            self.params_ptr,
            self.params_cap,
            0,
        ]
        .iter()
        .enumerate()
        {
            wr_u32(&mut b, 4 * i, *v);
        }
        b
    }
    /// Decodes the 32-byte descriptor.
    pub fn decode(b: &[u8; REGIONS_SIZE]) -> Self {
        Self {
            abi_version: rd_u32(b, 0),
            event_ptr: rd_u32(b, 4),
            action_ptr: rd_u32(b, 8),
            action_cap: rd_u32(b, 12),
            book_ptr: rd_u32(b, 16),
            params_ptr: rd_u32(b, 20),
            params_cap: rd_u32(b, 24),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(seq: u64) -> EventHeader {
        EventHeader { seq, instrument: 3, exchange_ts: Nanos(10), local_ts: Nanos(12) }
    }

    #[test]
    fn order_types_round_trip_and_mean_nothing_to_a_v1_reader() {
        let (instrument, order_id, side, px, qty) = (1, 9, Side::Sell, Price(5), Qty(6));
        for tif in [TimeInForce::Ioc, TimeInForce::Fok, TimeInForce::PostOnly, TimeInForce::Gtx] {
            let a = Action::PlaceOrder { instrument, order_id, side, px, qty, tif };
            let r = a.encode();
            assert_eq!((r.kind(), r.0[5]), (action_kind::PLACE_LIMIT, tif.code()));
            assert_eq!(r.decode(), Ok(a));
            assert_eq!(
                r.decode_for(1),
                Ok(Action::PlaceLimit { instrument, order_id, side, px, qty })
            );
            assert_eq!(TimeInForce::from_code(tif.code()), Some(tif));
        }
        let plain = Action::PlaceLimit { instrument, order_id, side, px, qty }.encode();
        assert_eq!(plain.0[5], 0);
        let mut bad = plain;
        bad.0[5] = 5;
        assert_eq!(bad.decode(), Err(AbiError::BadOrderType(5)));
        assert!(bad.decode_for(1).is_ok());
        assert!(AbiError::BadOrderType(5).to_string().contains("4 (GTX)"));
    }

    #[test]
    fn events_round_trip() {
        let q = Quote {
            bid: Level { px: Price(1), qty: Qty(2) },
            ask: Level { px: Price(3), qty: Qty(4) },
        };
        let bodies = [
            EventBody::Quote(q),
            EventBody::Trade(Trade { px: Price(5), qty: Qty(6), aggressor: Some(Side::Sell) }),
            EventBody::Trade(Trade { px: Price(5), qty: Qty(6), aggressor: None }),
            EventBody::Book(q),
            EventBody::OrderAck(OrderAck {
                order_id: 9,
                side: Side::Buy,
                px: Price(7),
                qty: Qty(8),
            }),
            EventBody::Fill(Fill {
                order_id: 9,
                side: Side::Sell,
                px: Price(7),
                qty: Qty(8),
                leaves: Qty(1),
            }),
            EventBody::Reject(Reject { order_id: 9, reason: reject_reason::RISK }),
            EventBody::Canceled(Canceled { order_id: 9, qty: Qty(3) }),
            EventBody::Timer(77),
        ];
        let evs = bodies.iter().enumerate().map(|(i, b)| Event { h: h(i as u64), body: *b });
        for e in evs {
            assert_eq!(e.encode().decode(), Ok(e));
        }
    }

    #[test]
    fn actions_round_trip() {
        let acts = [
            Action::PlaceLimit {
                instrument: 1,
                order_id: 5,
                side: Side::Buy,
                px: Price(10),
                qty: Qty(20),
            },
            Action::PlaceMarket { instrument: 1, order_id: 6, side: Side::Sell, qty: Qty(20) },
            Action::Cancel { instrument: 1, order_id: 5 },
            Action::Replace { instrument: 1, order_id: 5, px: Price(11), qty: Qty(21) },
            Action::SetTimer { timer_id: 3, at: Nanos(1_000) },
            Action::Signal { instrument: 2, id: 7, value: -123 },
        ];
        for a in acts {
            assert_eq!(a.encode().decode(), Ok(a));
        }
    }

    #[test]
    fn kinds_have_report_names() {
        assert_eq!(event_kind::name(event_kind::BOOK), "book");
        assert_eq!(event_kind::name(event_kind::FILL), "fill");
        assert_eq!(event_kind::name(0), "?");
    }

    #[test]
    fn unknown_kinds_are_errors() {
        assert_eq!(EventRecord::zeroed().decode(), Err(AbiError::UnknownKind(0)));
        let mut r = Action::Cancel { instrument: 0, order_id: 1 }.encode();
        r.0[0] = 99;
        assert_eq!(r.decode(), Err(AbiError::UnknownKind(99)));
    }

    #[test]
    fn book_view_reads_what_was_written() {
        let mut b = BookRecord::default();
        let bids = [Level { px: Price(100), qty: Qty(1) }, Level { px: Price(99), qty: Qty(2) }];
        let asks = [Level { px: Price(101), qty: Qty(3) }];
        b.write(4, &bids, &asks);
        let v = b.view();
        assert_eq!(v.instrument(), 4);
        assert_eq!((v.bid_count(), v.ask_count()), (2, 1));
        assert_eq!(v.bid(1), Some(bids[1]));
        assert_eq!(v.ask(0), Some(asks[0]));
        assert_eq!(v.ask(1), None);
    }

    #[test]
    fn regions_round_trip() {
        let r = Regions {
            abi_version: 1,
            event_ptr: 8,
            action_ptr: 72,
            action_cap: 4,
            book_ptr: 400,
            params_ptr: 800,
            params_cap: 64,
        };
        assert_eq!(Regions::decode(&r.encode()), r);
    }
}
