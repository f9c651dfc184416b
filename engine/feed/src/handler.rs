//! The front door of a market-data protocol: [`FeedHandler`] turns datagrams into
//! [`FeedEvent`]s and asks for retransmissions. One file per protocol implements it.

use crate::itch::ItchError;
use crate::mold::{MoldError, Request, SessionId};
use core::fmt;
use lockstep_sdk::{InstrumentId, Nanos};
use lockstep_sim::{InstrumentInfo, TapeEvent};

/// What a feed handler hands its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedEvent {
    /// A market event for the simulation core.
    Tape(TapeEvent),
    /// An instrument definition (ITCH: a stock directory message).
    Instrument(InstrumentInfo),
    /// The session ended (ITCH system event `C`/`E`, or a MoldUDP64 end-of-session packet).
    /// Delivered once.
    EndOfSession {
        /// Exchange time of the message that ended it (of the last message seen when the
        /// packet framing ended it).
        exchange_ts: Nanos,
        /// Receive time.
        local_ts: Nanos,
    },
    /// Events of these instruments can no longer be trusted and are no longer delivered.
    Halt {
        /// Which instruments.
        scope: HaltScope,
        /// Why.
        reason: HaltReason,
    },
}

/// The instruments a [`FeedEvent::Halt`] concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HaltScope {
    /// Every instrument (the lost messages could have concerned any).
    All,
    /// One instrument.
    Instrument(InstrumentId),
}

/// Why a feed handler halted instruments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HaltReason {
    /// Messages `seq .. seq + count` never arrived despite `attempts` retransmission requests.
    GapUnrecoverable {
        /// First missing sequence number.
        seq: u64,
        /// Missing messages.
        count: u64,
        /// Requests sent.
        attempts: u32,
    },
    /// The gap buffer could not hold another out-of-order datagram while messages
    /// `seq .. seq + count` were missing.
    GapBufferFull {
        /// First missing sequence number.
        seq: u64,
        /// Missing messages.
        count: u64,
        /// Datagrams the buffer holds.
        slots: usize,
    },
}

impl fmt::Display for HaltReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::GapUnrecoverable { seq, count, attempts } => write!(
                f,
                "messages {seq}..{} (sequence numbers) were lost: {attempts} retransmission \
                 requests went unanswered; the order book is no longer reliable, rebuild it \
                 from a snapshot and call resume()",
                seq.saturating_add(count)
            ),
            Self::GapBufferFull { seq, count, slots } => write!(
                f,
                "messages {seq}..{} (sequence numbers) were missing while {slots} datagrams \
                 waited behind them, the gap buffer's limit; the order book is no longer \
                 reliable, rebuild it from a snapshot and call resume() (or raise gap_slots)",
                seq.saturating_add(count)
            ),
        }
    }
}

/// What became of one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketStatus {
    /// Its messages were delivered (with any buffered ones it released).
    Delivered,
    /// Every message in it was delivered before: dropped.
    Duplicate,
    /// It is ahead of a gap: held until the gap fills.
    Buffered,
    /// It is ahead of a gap and the gap buffer is full: dropped, to be re-requested with the
    /// gap.
    Deferred,
    /// A heartbeat.
    Heartbeat,
    /// An end-of-session packet.
    EndOfSession,
}

/// The result of [`FeedHandler::on_datagram`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatagramOutcome {
    /// What became of the datagram.
    pub status: PacketStatus,
    /// Messages delivered during this call (its own and those it released from the buffer).
    pub delivered: u64,
    /// A retransmission request to send on the request socket now.
    pub request: Option<Request>,
}

/// A datagram the handler rejected. It was dropped and counted; the handler carries on (its
/// sequence numbers are still missing, so they will be re-requested as a gap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedError {
    /// The framing is broken.
    Mold(MoldError),
    /// A message inside well-formed framing is not valid ITCH 5.0.
    Itch {
        /// Its sequence number.
        seq: u64,
        /// Offset of the message's first byte in the datagram.
        offset: usize,
        /// What is wrong (offsets from the message's first byte).
        error: ItchError,
    },
    /// The datagram belongs to another MoldUDP64 session.
    WrongSession {
        /// The session the handler follows.
        expected: SessionId,
        /// The datagram's.
        got: SessionId,
    },
    /// A recorded delivery sequence ([`crate::MoldItchHandler::replay_sequence`]) is not one.
    Recording {
        /// Offset of the record at fault.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mold(e) => write!(f, "{e}"),
            Self::Itch { seq, offset, error } => write!(
                f,
                "ITCH message {seq} at byte {offset} of the datagram: {error}; the datagram was \
                 dropped and its sequence numbers will be re-requested"
            ),
            Self::WrongSession { expected, got } => write!(
                f,
                "datagram of MoldUDP64 session '{got}' at byte 0, the handler follows \
                 '{expected}': dropped; check the multicast group and port"
            ),
            Self::Recording { offset, reason } => write!(
                f,
                "the recorded feed sequence is damaged at byte {offset}: {reason}; it cannot be \
                 played back (was the gateway's input log changed?)"
            ),
        }
    }
}

impl std::error::Error for FeedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Mold(e) => Some(e),
            Self::Itch { error, .. } => Some(error),
            Self::WrongSession { .. } | Self::Recording { .. } => None,
        }
    }
}

/// What a feed handler has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Datagrams handed in.
    pub datagrams: u64,
    /// Messages delivered in sequence.
    pub messages: u64,
    /// Datagrams dropped because all their messages came before.
    pub duplicates: u64,
    /// Gaps detected.
    pub gaps: u64,
    /// Retransmission requests issued (first ones and retries).
    pub requests: u64,
    /// Requested ranges that were filled.
    pub recovered: u64,
    /// Gaps given up on (each emitted a [`FeedEvent::Halt`]).
    pub unrecoverable: u64,
    /// Messages skipped over when gaps were given up on.
    pub skipped: u64,
    /// Datagrams held in the gap buffer.
    pub buffered: u64,
    /// Datagrams after a gap that found the gap buffer full and were dropped, to be
    /// re-requested ([`crate::HandlerConfig::drop_when_full`]).
    pub deferred: u64,
    /// Datagrams rejected (bad framing, bad ITCH, wrong session).
    pub malformed: u64,
    /// Of those, datagrams with a message of an unknown type.
    pub unknown_types: u64,
    /// Heartbeat packets.
    pub heartbeats: u64,
    /// Valid messages of types not turned into events (`Y L V W K J h Q B I N O`, and `S`
    /// other than end of session).
    pub other_messages: u64,
    /// Executions, cancels, deletes and replaces of orders not in the order table (added
    /// before the handler joined, or not tracked): not delivered.
    pub unknown_orders: u64,
    /// Adds refused because the order table was full: not delivered (their later messages
    /// count as unknown orders).
    pub order_table_full: u64,
    /// Adds of an order reference that is live already: not delivered.
    pub duplicate_orders: u64,
    /// Cancels or executions of more shares than the order had open.
    pub overfills: u64,
    /// Messages with stock locate 0 where an instrument is needed: not delivered.
    pub bad_locates: u64,
    /// Market events not delivered because their instruments were halted.
    pub suppressed: u64,
}

/// A market-data protocol's receiving end: datagrams in, [`FeedEvent`]s out, retransmission
/// requests back to the caller, who owns the sockets. Time enters only as arguments.
pub trait FeedHandler {
    /// Handles one datagram received at `recv`, calling `out` for each event, in order.
    ///
    /// # Errors
    /// A [`FeedError`] when the datagram was rejected; it is counted and the handler carries
    /// on with the next one.
    fn on_datagram<F: FnMut(FeedEvent)>(
        &mut self,
        datagram: &[u8],
        recv: Nanos,
        out: &mut F,
    ) -> Result<DatagramOutcome, FeedError>;

    /// Runs the timers at `now`: a retransmission request to re-send, or (after the last
    /// attempt) a [`FeedEvent::Halt`] through `out`.
    fn poll<F: FnMut(FeedEvent)>(&mut self, now: Nanos, out: &mut F) -> Option<Request>;

    /// The counters.
    fn counters(&self) -> &Counters;
}
