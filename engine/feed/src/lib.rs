//! # lockstep-feed
//!
//! Market data over the network: NASDAQ TotalView-ITCH 5.0 messages in MoldUDP64 packets, for
//! the live gateway (receiving) and the simulated venue (publishing). Sockets are the caller's:
//! this crate turns datagrams into the simulation core's events and back, and never reads a
//! clock (time enters as [`lockstep_sdk::Nanos`] arguments).
//!
//! - [`ItchMessage`]: the ITCH 5.0 codec, both directions, zero allocation (see the `itch`
//!   module's notes on why it is ours and not the `itchy` crate).
//! - [`Packet`], [`PacketBuilder`], [`Request`]: MoldUDP64 framing.
//! - [`TapeMapper`], [`ItchPublisher`]: ITCH to and from [`lockstep_sim::TapeEvent`].
//! - [`FeedHandler`], implemented by [`MoldItchHandler`]: sequencing, gap recovery by
//!   retransmission request, halts when a gap cannot be recovered, [`Counters`].
//!
//! ```
//! use lockstep_feed::{FeedHandler, HandlerConfig, MoldItchHandler, heartbeat, SessionId};
//! use lockstep_sdk::Nanos;
//! let mut h = MoldItchHandler::new(HandlerConfig { gap_slots: 8, order_capacity: 1024, ..HandlerConfig::default() });
//! let s = SessionId::new("S1").unwrap();
//! // A heartbeat announcing message 5 while 1 is expected: a gap of 4 to re-request.
//! let o = h.on_datagram(&heartbeat(s, 5), Nanos(0), &mut |_| {}).unwrap();
//! assert_eq!(o.request.map(|r| (r.seq, r.count)), Some((1, 4)));
//! ```
#![forbid(unsafe_code)]

mod handler;
mod itch;
mod map;
mod mold;
mod mold_itch;
mod orders;

pub use handler::{
    Counters, DatagramOutcome, FeedError, FeedEvent, FeedHandler, HaltReason, HaltScope,
    PacketStatus,
};
pub use itch::{
    AddOrder, Header, ItchError, ItchMessage, ItchSide, OrderCancel, OrderDelete, OrderExecuted,
    OrderExecutedWithPrice, OrderReplace, Stock, StockDirectory, SystemEvent, TIMESTAMP_LIMIT,
    Trade, TradingAction, check as check_itch, message_len,
};
pub use map::{ItchPublisher, PublishError, TapeMapper, VENUE};
pub use mold::{
    BuildError, DEFAULT_MAX_DATAGRAM, END_OF_SESSION, HEADER_LEN, Messages, MoldError, MoldMessage,
    Packet, PacketBuilder, PacketKind, Request, SessionId, end_of_session, heartbeat,
};
pub use mold_itch::{HandlerConfig, MoldItchHandler};
