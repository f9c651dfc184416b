//! # lockstep-fix
//!
//! Orders over FIX 4.4 on TCP: the tag=value codec and the session layer, for the trading
//! gateway (initiator) and the simulated venue (acceptor).
//!
//! * [`Encoder`] writes `8=FIX.4.4|9=len|35=..|49|56|34|52|...|10=ccc` into reusable buffers
//!   (no allocation per message once warm). [`Framer`] cuts a byte stream into messages in a
//!   bounded buffer (partial reads are fine) and checks BeginString, BodyLength and CheckSum;
//!   [`MessageView`] is a borrowed, allocation-free view of one message's fields.
//! * [`AppMessage`] and its `Copy` structs encode and decode NewOrderSingle (D),
//!   OrderCancelRequest (F), OrderCancelReplaceRequest (G), ExecutionReport (8) and
//!   OrderCancelReject (9), checking each type's required tags. Prices and quantities are
//!   exact [`lockstep_sdk::Price`] / [`lockstep_sdk::Qty`] decimals, never floats.
//! * [`Session`] is a sans-IO state machine: the caller feeds received bytes and the time
//!   (`now_ns`, nanoseconds since the Unix epoch, UTC; SendingTime (52) is formatted from it),
//!   writes what it appends to `out`, and acts on [`Event`]s. It does Logon, Heartbeat,
//!   TestRequest after `HeartBtInt + grace` of silence and a disconnect if that goes
//!   unanswered, ResendRequest on a gap, SequenceReset (gap fill and reset), Logout both ways,
//!   session Reject for well-framed but invalid messages, and logout on a too-low MsgSeqNum.
//!   Sequence numbers persist through a [`SeqStore`] ([`FileSeqStore`] writes atomically).
//!   Nothing in the crate reads a clock, opens a socket or iterates a hash map.
//!
//! ## Resending: gap fill by default
//! A ResendRequest from the peer is answered with SequenceReset-GapFill (PossDupFlag = Y) over
//! admin messages, always. For application messages [`SessionConfig::resend_capacity`]
//! chooses: 0 (the default) gap-fills over them too, so a NewOrderSingle or cancel is never
//! delivered twice — a resent order reaching a venue that already acted on it, or acting on it
//! late after the strategy moved on, is worse than a missing one, which the gateway learns about
//! from the absent acknowledgement and can resubmit under a new ClOrdID. The venue sets a
//! capacity so its ExecutionReports are resent with PossDupFlag = Y and the original
//! OrigSendingTime from a bounded in-memory ring; messages that fell out of the ring, or were
//! sent before a restart, are gap-filled. A too-high message is dropped after the
//! ResendRequest and arrives again in the resend.
//!
//! ## Why not an existing crate
//! We looked at `hotfix` 0.13 on crates.io, with `ironfix-engine` 0.5 and `quickfix-tokio`
//! 0.2 beside it. `hotfix` compiles on Rust 1.95 (edition 2024) but is built on tokio (its
//! `tokio` dependency enables every feature) with async-trait stores, supports initiators
//! only (its own documentation says the acceptor is not implemented), reads `Instant::now`
//! and `Utc::now` inside the session, and moves messages as owned `Vec<u8>`s, so it allocates
//! per message. `ironfix-engine` and `quickfix-tokio` do have acceptors but are tokio-async
//! as well, and `quickfix-tokio`'s session reads the system clock itself. Our gateway's hot path is a pinned thread without an async runtime
//! that must not allocate per message, and the venue must be deterministic (time enters as
//! data), so this crate is a small codec and sans-IO session of our own, tested for
//! interoperability against QuickFIX (C++) in `tests/integration/quickfix.rs`.
#![forbid(unsafe_code)]

mod codec;
mod error;
mod fixstr;
mod messages;
mod reader;
mod session;
mod store;

pub use codec::{BEGIN_STRING, Encoder, Fields, Framer, Header, MessageView, SOH, checksum, frame};
pub use error::{DecodeError, MsgTypeText, SessionError, StoreError};
pub use fixstr::{FixStr, Id, Symbol, Text};
pub use messages::{
    AppMessage, CxlRejResponseTo, ExecType, ExecutionReport, NewOrderSingle, OrdStatus, OrdType,
    OrderCancelReject, OrderCancelReplaceRequest, OrderCancelRequest, TimeInForce,
};
pub use session::{DisconnectReason, Event, Role, Session, SessionConfig, SessionState};
pub use store::{FileSeqStore, MemorySeqStore, SeqNums, SeqStore};
