//! [`MoldItchHandler`]: ITCH 5.0 over MoldUDP64, with sequencing and gap recovery.
//!
//! The state machine: `expected` is the next sequence number to deliver.
//! - A packet wholly before `expected` is a duplicate: dropped and counted. One that overlaps
//!   it is delivered from `expected` on.
//! - A packet after `expected` (or a heartbeat or end-of-session packet announcing a later
//!   sequence number) opens a gap: the packet is copied into a preallocated slot and a
//!   [`Request`] for `expected ..` the first buffered sequence number is returned for the
//!   caller to send. Every datagram, retransmissions included, enters through
//!   [`FeedHandler::on_datagram`]; when the gap fills, buffered packets are released in order.
//! - [`FeedHandler::poll`] re-sends the request after `request_timeout`; after `max_attempts`
//!   requests, or when a datagram finds no free slot, the gap is given up on: a
//!   [`FeedEvent::Halt`] for all instruments (MoldUDP64 cannot say which ones the lost messages
//!   concerned), the order table is cleared, the buffered packets are delivered in order
//!   (skipping the holes) and the handler continues from the live sequence number. While
//!   halted, market events are counted as `suppressed`, not delivered; instrument definitions
//!   and the end of session still are. [`MoldItchHandler::resume`] (after the caller rebuilt
//!   the book from a snapshot) delivers again from an empty order table.
//!
//! A datagram with broken framing or an invalid ITCH message is rejected whole, before
//! anything in it is delivered, so its sequence numbers are still missing and get re-requested.

use crate::handler::{
    Counters, DatagramOutcome, FeedError, FeedEvent, FeedHandler, HaltReason, HaltScope,
    PacketStatus,
};
use crate::itch::{ItchError, ItchMessage};
use crate::map::TapeMapper;
use crate::mold::{Packet, PacketKind, Request, SessionId};
use lockstep_sdk::Nanos;

/// Settings of a [`MoldItchHandler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandlerConfig {
    /// The first sequence number to deliver; `None` joins at the first packet seen (orders
    /// added before are then unknown, counted when referenced).
    pub first_seq: Option<u64>,
    /// The session to follow; `None` follows the first packet's.
    pub session: Option<SessionId>,
    /// Live orders the order table holds.
    pub order_capacity: usize,
    /// Out-of-order datagrams the gap buffer holds.
    pub gap_slots: usize,
    /// Largest datagram the gap buffer holds; a longer one arriving during a gap fills it.
    pub slot_bytes: usize,
    /// Wait before re-sending a retransmission request.
    pub request_timeout: Nanos,
    /// Requests per gap before giving up on it (a request that brings messages starts the
    /// count again).
    pub max_attempts: u32,
    /// Most messages one retransmission request asks for: a gap longer than this (a restart
    /// that missed seconds of feed) is asked for a window at a time, so that a venue's answer
    /// fits the socket's receive buffer instead of overflowing it.
    pub max_request: u16,
    /// When the gap buffer is full, drop the datagram and ask for it again with the gap,
    /// instead of giving the gap up. For a venue that retransmits everything it sent (ours
    /// does): a restart that missed seconds of feed then catches up instead of halting.
    pub drop_when_full: bool,
    /// Exchange time of ITCH's midnight (timestamps are nanoseconds since midnight).
    pub midnight: Nanos,
}

impl Default for HandlerConfig {
    fn default() -> Self {
        Self {
            first_seq: Some(1),
            session: None,
            order_capacity: 1 << 20,
            gap_slots: 256,
            slot_bytes: 1500,
            request_timeout: Nanos(50_000_000),
            max_attempts: 3,
            max_request: u16::MAX - 1,
            drop_when_full: false,
            midnight: Nanos::ZERO,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    used: bool,
    seq: u64,
    len: usize,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    seq: u64,
    count: u64,
    sent: Nanos,
    attempts: u32,
}

/// The ITCH 5.0 / MoldUDP64 [`FeedHandler`]. All its memory (order table, gap buffer) is
/// allocated at construction; handling a datagram allocates only for instrument definitions.
#[derive(Clone, Debug)]
pub struct MoldItchHandler {
    cfg: HandlerConfig,
    mapper: TapeMapper,
    session: Option<SessionId>,
    expected: Option<u64>,
    /// Highest sequence number announced so far (the live edge).
    live: u64,
    /// Sequence number an end-of-session packet announced, delivered once reached.
    end_at: Option<u64>,
    slots: Vec<Slot>,
    /// Slots in use: with none (the usual case) nothing scans the slots.
    in_use: usize,
    store: Vec<u8>,
    scratch: Vec<u8>,
    pending: Option<Pending>,
    /// The delivered sequence, when recording ([`MoldItchHandler::record_sequence`]).
    tap: Option<Vec<u8>>,
}

impl MoldItchHandler {
    /// A handler with `cfg`'s settings.
    pub fn new(cfg: HandlerConfig) -> Self {
        let gap_slots = cfg.gap_slots.max(1);
        let slot_bytes = cfg.slot_bytes.max(crate::mold::HEADER_LEN);
        let cfg = HandlerConfig { gap_slots, slot_bytes, ..cfg };
        Self {
            cfg,
            mapper: TapeMapper::new(cfg.order_capacity, cfg.midnight),
            session: cfg.session,
            expected: cfg.first_seq,
            live: cfg.first_seq.unwrap_or(0),
            end_at: None,
            slots: vec![Slot::default(); gap_slots],
            in_use: 0,
            store: vec![0; gap_slots.saturating_mul(slot_bytes)],
            scratch: Vec::with_capacity(slot_bytes),
            pending: None,
            tap: None,
        }
    }

    /// The next sequence number to deliver (`None` before the first packet when joining late).
    pub fn expected(&self) -> Option<u64> {
        self.expected
    }

    /// Whether market events are withheld after an unrecoverable gap.
    pub fn is_halted(&self) -> bool {
        self.mapper.is_halted()
    }

    /// Delivers market events again after a halt, from an empty order table (the caller has
    /// rebuilt its books from elsewhere).
    pub fn resume(&mut self) {
        self.mapper.resume();
    }

    /// Parses the framing and every message, checking the session: nothing is delivered from a
    /// datagram that fails.
    fn validate<'a>(&mut self, datagram: &'a [u8]) -> Result<Packet<'a>, FeedError> {
        let p = Packet::parse(datagram).map_err(FeedError::Mold)?;
        match self.session {
            Some(s) if s != p.session => {
                return Err(FeedError::WrongSession { expected: s, got: p.session });
            }
            _ => {}
        }
        for m in p.messages() {
            if let Err(error) = ItchMessage::decode(m.bytes) {
                if matches!(error, ItchError::UnknownType { .. }) {
                    self.mapper.counters.unknown_types += 1;
                }
                return Err(FeedError::Itch { seq: m.seq, offset: m.offset, error });
            }
        }
        self.session = Some(p.session);
        Ok(p)
    }

    /// Delivers `p`'s messages from `expected` on; returns how many.
    fn deliver<F: FnMut(FeedEvent)>(&mut self, p: &Packet<'_>, recv: Nanos, out: &mut F) -> u64 {
        let mut n = 0;
        for m in p.messages() {
            let Some(exp) = self.expected else { break };
            if m.seq < exp {
                continue;
            }
            // Validated on arrival.
            if let Ok(msg) = ItchMessage::decode(m.bytes) {
                self.mapper.on_message(&msg, recv, out);
            }
            if let Some(tap) = self.tap.as_mut() {
                sequence::message(tap, m.seq, recv, m.bytes);
            }
            self.expected = Some(m.seq.saturating_add(1));
            n += 1;
        }
        self.mapper.counters.messages += n;
        n
    }

    /// The buffered packet with the lowest sequence number.
    fn lowest_slot(&self) -> Option<usize> {
        if self.in_use == 0 {
            return None;
        }
        let used = self.slots.iter().enumerate().filter(|(_, s)| s.used);
        used.min_by_key(|(_, s)| s.seq).map(|(i, _)| i)
    }

    /// Releases buffered packets that are now in sequence (`skip`: jump over holes too).
    fn release<F: FnMut(FeedEvent)>(&mut self, recv: Nanos, skip: bool, out: &mut F) -> u64 {
        let mut n = 0;
        while let Some(i) = self.lowest_slot() {
            let s = self.slots[i];
            let exp = self.expected.unwrap_or(s.seq);
            if s.seq > exp {
                if !skip {
                    break;
                }
                self.mapper.counters.skipped += s.seq - exp;
                self.expected = Some(s.seq);
            }
            self.slots[i].used = false;
            self.in_use -= 1;
            let mut scratch = core::mem::take(&mut self.scratch);
            scratch.clear();
            let at = i * self.cfg.slot_bytes;
            scratch.extend_from_slice(&self.store[at..at + s.len]);
            if let Ok(p) = Packet::parse(&scratch) {
                n += self.deliver(&p, recv, out);
            }
            self.scratch = scratch;
        }
        n
    }

    /// Where the current gap ends: the first buffered sequence number, else the live edge.
    fn gap_end(&self) -> u64 {
        self.lowest_slot().map_or(self.live, |i| self.slots[i].seq)
    }

    /// The request for the current gap, if there is one; counts a gap when `new_gap`.
    fn request(&mut self, recv: Nanos, new_gap: bool) -> Option<Request> {
        let exp = self.expected?;
        let end = self.gap_end();
        if end <= exp {
            return None;
        }
        let count = (end - exp).min(u64::from(self.cfg.max_request.clamp(1, u16::MAX - 1)));
        let attempts = match self.pending {
            Some(p) if p.seq == exp => p.attempts.saturating_add(1),
            _ => 1,
        };
        self.mapper.counters.gaps += u64::from(new_gap);
        self.pending = Some(Pending { seq: exp, count, sent: recv, attempts });
        self.mapper.counters.requests += 1;
        let session = self.session.unwrap_or_default();
        Some(Request { session, seq: exp, count: u16::try_from(count).unwrap_or(u16::MAX - 1) })
    }

    /// Declares the pending gap lost: halt, then deliver what is buffered, skipping holes, and
    /// move on to at least `skip_to`.
    fn give_up<F: FnMut(FeedEvent)>(
        &mut self,
        reason: HaltReason,
        skip_to: u64,
        recv: Nanos,
        out: &mut F,
    ) -> u64 {
        self.mapper.counters.unrecoverable += 1;
        if let Some(tap) = self.tap.as_mut() {
            sequence::give_up(tap, recv, reason, skip_to);
        }
        self.mapper.halt();
        out(FeedEvent::Halt { scope: HaltScope::All, reason });
        self.pending = None;
        let n = self.release(recv, true, out);
        let exp = self.expected.unwrap_or(skip_to);
        if skip_to > exp {
            self.mapper.counters.skipped += skip_to - exp;
            self.expected = Some(skip_to);
        }
        n
    }

    /// After delivering: release what followed, settle the pending request, the end of
    /// session, and ask for the next gap if one remains.
    fn settle<F: FnMut(FeedEvent)>(&mut self, recv: Nanos, out: &mut F) -> (u64, Option<Request>) {
        let n = self.release(recv, false, out);
        let exp = self.expected.unwrap_or(0);
        let mut request = None;
        if let Some(p) = self.pending {
            if exp >= p.seq.saturating_add(p.count) {
                self.mapper.counters.recovered += 1;
                self.pending = None;
            } else if exp > p.seq {
                // Partly filled: the rest of the same gap is asked for afresh.
                request = self.request(recv, false);
            }
        }
        if self.end_at.is_some_and(|e| exp >= e) {
            if let Some(tap) = self.tap.as_mut().filter(|_| !self.mapper.has_ended()) {
                sequence::end(tap, recv);
            }
            self.mapper.end_of_session(recv, out);
        }
        if self.pending.is_none() {
            request = self.request(recv, true);
        }
        (n, request)
    }

    /// Copies `datagram` (a packet after a gap) into a free slot; `false` when none is free
    /// or it is too long.
    fn buffer(&mut self, p: &Packet<'_>, datagram: &[u8]) -> bool {
        let free = self.slots.iter().position(|s| !s.used);
        let Some(i) = free.filter(|_| datagram.len() <= self.cfg.slot_bytes) else {
            return false;
        };
        let at = i * self.cfg.slot_bytes;
        self.store[at..at + datagram.len()].copy_from_slice(datagram);
        self.slots[i] = Slot { used: true, seq: p.seq, len: datagram.len() };
        self.in_use += 1;
        self.mapper.counters.buffered += 1;
        true
    }

    /// A packet of messages after `expected`: buffer it and ask for the gap, or give up.
    fn ahead<F: FnMut(FeedEvent)>(
        &mut self,
        p: &Packet<'_>,
        datagram: &[u8],
        recv: Nanos,
        out: &mut F,
    ) -> DatagramOutcome {
        if self.buffer(p, datagram) {
            let request = if self.pending.is_none() { self.request(recv, true) } else { None };
            return DatagramOutcome { status: PacketStatus::Buffered, delivered: 0, request };
        }
        if self.cfg.drop_when_full {
            self.mapper.counters.deferred += 1;
            let request = if self.pending.is_none() { self.request(recv, true) } else { None };
            return DatagramOutcome { status: PacketStatus::Deferred, delivered: 0, request };
        }
        let exp = self.expected.unwrap_or(p.seq);
        let reason = HaltReason::GapBufferFull {
            seq: exp,
            count: self.gap_end().min(p.seq).saturating_sub(exp),
            slots: self.slots.len(),
        };
        let mut delivered = self.give_up(reason, p.seq, recv, out);
        if p.next_seq() > self.expected.unwrap_or(0) {
            delivered += self.deliver(p, recv, out);
        }
        let (n, request) = self.settle(recv, out);
        DatagramOutcome { status: PacketStatus::Delivered, delivered: delivered + n, request }
    }
}

impl FeedHandler for MoldItchHandler {
    fn on_datagram<F: FnMut(FeedEvent)>(
        &mut self,
        datagram: &[u8],
        recv: Nanos,
        out: &mut F,
    ) -> Result<DatagramOutcome, FeedError> {
        self.mapper.counters.datagrams += 1;
        let p = self.validate(datagram).inspect_err(|_| self.mapper.counters.malformed += 1)?;
        let exp = *self.expected.get_or_insert(p.seq);
        self.live = self.live.max(p.next_seq());
        let status = match p.kind {
            PacketKind::Heartbeat => {
                self.mapper.counters.heartbeats += 1;
                PacketStatus::Heartbeat
            }
            PacketKind::EndOfSession => {
                self.end_at = Some(self.end_at.map_or(p.seq, |e| e.min(p.seq)));
                PacketStatus::EndOfSession
            }
            PacketKind::Messages if p.next_seq() <= exp => {
                self.mapper.counters.duplicates += 1;
                PacketStatus::Duplicate
            }
            PacketKind::Messages if p.seq > exp => return Ok(self.ahead(&p, datagram, recv, out)),
            PacketKind::Messages => PacketStatus::Delivered,
        };
        let mine = if status == PacketStatus::Delivered { self.deliver(&p, recv, out) } else { 0 };
        let (n, request) = self.settle(recv, out);
        Ok(DatagramOutcome { status, delivered: mine + n, request })
    }

    fn poll<F: FnMut(FeedEvent)>(&mut self, now: Nanos, out: &mut F) -> Option<Request> {
        let p = self.pending?;
        let waited = now.0.saturating_sub(p.sent.0);
        if waited < self.cfg.request_timeout.0 {
            return None;
        }
        if p.attempts < self.cfg.max_attempts {
            return self.request(now, false);
        }
        let reason =
            HaltReason::GapUnrecoverable { seq: p.seq, count: p.count, attempts: p.attempts };
        self.give_up(reason, p.seq.saturating_add(p.count), now, out);
        self.settle(now, out).1
    }

    fn counters(&self) -> &Counters {
        self.mapper.counters()
    }
}

mod sequence;
#[cfg(test)]
mod tests;
