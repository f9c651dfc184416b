//! MoldUDP64 framing: downstream packets (header, then length-prefixed messages), the packet
//! builder of the publishing side, and the retransmission request packet.
//!
//! Downstream packet: session (10 bytes ASCII), sequence number of the first message (u64),
//! message count (u16), then `count` messages each prefixed by its length (u16), all
//! big-endian. A count of 0 is a heartbeat, [`END_OF_SESSION`] ends the session; both carry the
//! next sequence number. A request packet is the 20-byte header alone, the count being the
//! number of messages wanted.

use core::fmt;

/// Bytes of the packet header (and of a whole request packet).
pub const HEADER_LEN: usize = 20;
/// Message count of an end-of-session packet.
pub const END_OF_SESSION: u16 = 0xFFFF;
/// Default largest datagram the builder writes: 1400 bytes, header included.
pub const DEFAULT_MAX_DATAGRAM: usize = 1400;

/// What went wrong with a MoldUDP64 packet. Offsets count from the datagram's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MoldError {
    /// The datagram is shorter than the 20-byte header.
    ShortHeader {
        /// Its length.
        len: usize,
    },
    /// A message's length prefix or body runs past the end of the datagram.
    Truncated {
        /// Sequence number of the message.
        seq: u64,
        /// Offset of its length prefix.
        offset: usize,
        /// Bytes the message claims (prefix included).
        need: usize,
        /// Bytes left in the datagram from `offset`.
        have: usize,
    },
    /// A message's length prefix is zero.
    EmptyMessage {
        /// Sequence number of the message.
        seq: u64,
        /// Offset of its length prefix.
        offset: usize,
    },
    /// Bytes follow the last message the count announces.
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many.
        len: usize,
    },
    /// The sequence number plus the count overflows u64.
    SequenceOverflow {
        /// The packet's sequence number.
        seq: u64,
        /// Its count.
        count: u16,
    },
    /// A request packet is not exactly 20 bytes.
    BadRequestLength {
        /// Its length.
        len: usize,
    },
}

impl fmt::Display for MoldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ShortHeader { len } => write!(
                f,
                "MoldUDP64 datagram of {len} bytes at byte 0 is shorter than the 20-byte \
                 header; dropped (is the sender speaking MoldUDP64?)"
            ),
            Self::Truncated { seq, offset, need, have } => write!(
                f,
                "MoldUDP64 message {seq} at byte {offset} needs {need} bytes but the datagram \
                 has {have} left: truncated datagram, dropped; the sequence will be re-requested"
            ),
            Self::EmptyMessage { seq, offset } => write!(
                f,
                "MoldUDP64 message {seq} at byte {offset} has length 0: malformed datagram, \
                 dropped"
            ),
            Self::TrailingBytes { offset, len } => write!(
                f,
                "MoldUDP64 datagram has {len} bytes after its last message at byte {offset}: \
                 the count and the contents disagree, dropped"
            ),
            Self::SequenceOverflow { seq, count } => write!(
                f,
                "MoldUDP64 packet at sequence {seq} with {count} messages overflows the 64-bit \
                 sequence number at byte 10: dropped"
            ),
            Self::BadRequestLength { len } => write!(
                f,
                "MoldUDP64 request packet of {len} bytes at byte 0 must be exactly 20 bytes"
            ),
        }
    }
}

impl std::error::Error for MoldError {}

/// A MoldUDP64 session name: 10 bytes of ASCII.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub [u8; 10]);

impl SessionId {
    /// The name `s` right-padded with spaces; `None` when longer than 10 bytes or not ASCII.
    pub fn new(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() > 10 || !s.is_ascii() {
            return None;
        }
        let mut out = [b' '; 10];
        out[..b.len()].copy_from_slice(b);
        Some(Self(out))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.escape_ascii())
    }
}

/// What a packet is, by its count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketKind {
    /// Carries `count` messages.
    Messages,
    /// Count 0: no messages; the sequence number is the next one.
    Heartbeat,
    /// Count 0xFFFF: the session ended; the sequence number is the next one.
    EndOfSession,
}

/// A validated downstream packet borrowing its datagram: every length prefix has been checked
/// against the datagram, so iterating its messages cannot fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Session.
    pub session: SessionId,
    /// Sequence number of the first message (the next one for heartbeats and end of session).
    pub seq: u64,
    /// Heartbeat, end of session, or messages.
    pub kind: PacketKind,
    count: u16,
    body: &'a [u8],
}

fn header(b: &[u8]) -> Result<(SessionId, u64, u16), usize> {
    let h: &[u8; HEADER_LEN] =
        b.get(..HEADER_LEN).and_then(|h| h.try_into().ok()).ok_or(b.len())?;
    let mut session = [0u8; 10];
    session.copy_from_slice(&h[..10]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&h[10..18]);
    Ok((SessionId(session), u64::from_be_bytes(seq), u16::from_be_bytes([h[18], h[19]])))
}

impl<'a> Packet<'a> {
    /// Parses and validates `datagram`: the header, every length prefix, no trailing bytes.
    ///
    /// # Errors
    /// See [`MoldError`]: each names the byte offset (and the sequence number) where the
    /// datagram went wrong.
    pub fn parse(datagram: &'a [u8]) -> Result<Self, MoldError> {
        let (session, seq, count) =
            header(datagram).map_err(|len| MoldError::ShortHeader { len })?;
        let body = &datagram[HEADER_LEN..];
        let kind = match count {
            0 => PacketKind::Heartbeat,
            END_OF_SESSION => PacketKind::EndOfSession,
            _ => PacketKind::Messages,
        };
        let n = if kind == PacketKind::Messages { count } else { 0 };
        if seq.checked_add(u64::from(n)).is_none() {
            return Err(MoldError::SequenceOverflow { seq, count });
        }
        let mut at = 0usize;
        for i in 0..u64::from(n) {
            let offset = HEADER_LEN + at;
            let left = body.len() - at;
            let truncated = |need| MoldError::Truncated { seq: seq + i, offset, need, have: left };
            let len = match body.get(at..at + 2) {
                Some(p) => usize::from(u16::from_be_bytes([p[0], p[1]])),
                None => return Err(truncated(2)),
            };
            if len == 0 {
                return Err(MoldError::EmptyMessage { seq: seq + i, offset });
            }
            if left < 2 + len {
                return Err(truncated(2 + len));
            }
            at += 2 + len;
        }
        if at != body.len() {
            return Err(MoldError::TrailingBytes { offset: HEADER_LEN + at, len: body.len() - at });
        }
        Ok(Self { session, seq, kind, count: n, body })
    }

    /// Number of messages (0 for heartbeats and end of session).
    pub fn count(&self) -> u16 {
        self.count
    }

    /// The sequence number after this packet's messages.
    pub fn next_seq(&self) -> u64 {
        // Checked in `parse`.
        self.seq.saturating_add(u64::from(self.count))
    }

    /// The messages with their sequence numbers and datagram offsets.
    pub fn messages(&self) -> Messages<'a> {
        Messages { body: self.body, at: 0, seq: self.seq }
    }
}

/// One message of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoldMessage<'a> {
    /// Its sequence number.
    pub seq: u64,
    /// Offset of its first byte (after the length prefix) in the datagram.
    pub offset: usize,
    /// The message bytes.
    pub bytes: &'a [u8],
}

/// Iterator over a validated packet's messages.
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    body: &'a [u8],
    at: usize,
    seq: u64,
}

impl<'a> Iterator for Messages<'a> {
    type Item = MoldMessage<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let p = self.body.get(self.at..self.at + 2)?;
        let len = usize::from(u16::from_be_bytes([p[0], p[1]]));
        let start = self.at + 2;
        let bytes = self.body.get(start..start + len)?;
        let m = MoldMessage { seq: self.seq, offset: HEADER_LEN + start, bytes };
        self.at = start + len;
        self.seq = self.seq.saturating_add(1);
        Some(m)
    }
}

/// A retransmission request (client to server), or the range a feed handler asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Session.
    pub session: SessionId,
    /// First sequence number wanted.
    pub seq: u64,
    /// How many messages.
    pub count: u16,
}

impl Request {
    /// The 20-byte request packet.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        header_bytes(self.session, self.seq, self.count)
    }
    /// Parses a request packet.
    ///
    /// # Errors
    /// [`MoldError::BadRequestLength`] unless `b` is 20 bytes.
    pub fn decode(b: &[u8]) -> Result<Self, MoldError> {
        if b.len() != HEADER_LEN {
            return Err(MoldError::BadRequestLength { len: b.len() });
        }
        let (session, seq, count) = header(b).map_err(|len| MoldError::BadRequestLength { len })?;
        Ok(Self { session, seq, count })
    }
}

fn header_bytes(session: SessionId, seq: u64, count: u16) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..10].copy_from_slice(&session.0);
    h[10..18].copy_from_slice(&seq.to_be_bytes());
    h[18..].copy_from_slice(&count.to_be_bytes());
    h
}

/// A heartbeat packet: no messages, `next_seq` the next sequence number.
pub fn heartbeat(session: SessionId, next_seq: u64) -> [u8; HEADER_LEN] {
    header_bytes(session, next_seq, 0)
}

/// An end-of-session packet, `next_seq` the next sequence number.
pub fn end_of_session(session: SessionId, next_seq: u64) -> [u8; HEADER_LEN] {
    header_bytes(session, next_seq, END_OF_SESSION)
}

/// The builder could not take a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The packet has no room left for a message of `need` bytes (prefix included): send it
    /// ([`PacketBuilder::datagram`]), start the next ([`PacketBuilder::next_packet`]), push again.
    Full {
        /// Bytes the message needs.
        need: usize,
        /// Bytes left.
        left: usize,
    },
    /// The message can never fit: longer than a datagram's room or than 65535 bytes.
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The packet already holds 65534 messages, the most a count can say.
    CountLimit,
    /// The message did not encode.
    Itch(crate::itch::ItchError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { need, left } => write!(
                f,
                "MoldUDP64 packet full: a message of {need} bytes does not fit in the {left} \
                 left; send this packet and start the next"
            ),
            Self::TooLarge { len } => write!(
                f,
                "message of {len} bytes can never fit in a MoldUDP64 packet of this size; \
                 raise the datagram size"
            ),
            Self::CountLimit => write!(
                f,
                "MoldUDP64 packet holds 65534 messages already; send it and start the next"
            ),
            Self::Itch(e) => write!(f, "message not added to the MoldUDP64 packet: {e}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds downstream packets into one buffer allocated at construction: push messages until
/// [`BuildError::Full`], send [`PacketBuilder::datagram`], call [`PacketBuilder::next_packet`].
#[derive(Clone, Debug)]
pub struct PacketBuilder {
    session: SessionId,
    buf: Vec<u8>,
    max: usize,
    seq: u64,
    count: u16,
}

impl PacketBuilder {
    /// A builder for `session` whose first packet starts at `first_seq`, writing datagrams of
    /// at most `max_datagram` bytes (at least the header plus one short message).
    pub fn new(session: SessionId, first_seq: u64, max_datagram: usize) -> Self {
        let max = max_datagram.max(HEADER_LEN + 2 + 64);
        let mut buf = Vec::with_capacity(max);
        buf.extend_from_slice(&header_bytes(session, first_seq, 0));
        Self { session, buf, max, seq: first_seq, count: 0 }
    }

    /// Appends an encoded message (its bytes without a length prefix).
    ///
    /// # Errors
    /// [`BuildError::Full`] (nothing changed), [`BuildError::TooLarge`], [`BuildError::CountLimit`].
    pub fn push_raw(&mut self, msg: &[u8]) -> Result<(), BuildError> {
        let prefix =
            u16::try_from(msg.len()).map_err(|_| BuildError::TooLarge { len: msg.len() })?;
        let need = 2 + msg.len();
        if HEADER_LEN + need > self.max {
            return Err(BuildError::TooLarge { len: msg.len() });
        }
        if self.count >= END_OF_SESSION - 1 {
            return Err(BuildError::CountLimit);
        }
        let left = self.max - self.buf.len();
        if need > left {
            return Err(BuildError::Full { need, left });
        }
        self.buf.extend_from_slice(&prefix.to_be_bytes());
        self.buf.extend_from_slice(msg);
        self.count += 1;
        self.buf[18..20].copy_from_slice(&self.count.to_be_bytes());
        Ok(())
    }

    /// Encodes and appends an ITCH message (no allocation: it is encoded on the stack).
    ///
    /// # Errors
    /// As [`PacketBuilder::push_raw`], or [`BuildError::Itch`].
    pub fn push(&mut self, msg: &crate::itch::ItchMessage<'_>) -> Result<(), BuildError> {
        let mut tmp = [0u8; 64];
        let n = msg.encode(&mut tmp).map_err(BuildError::Itch)?;
        self.push_raw(&tmp[..n])
    }

    /// Messages in the current packet.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// Whether the current packet has no messages.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Sequence number of the current packet's first message.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Sequence number the next packet will start at.
    pub fn next_seq(&self) -> u64 {
        self.seq.saturating_add(u64::from(self.count))
    }

    /// The current packet as a datagram (a heartbeat while empty).
    pub fn datagram(&self) -> &[u8] {
        &self.buf
    }

    /// Starts the next packet after the current one's messages.
    pub fn next_packet(&mut self) {
        self.restart_at(self.next_seq());
    }

    /// Starts an empty packet at `seq` (e.g. to build a retransmission).
    pub fn restart_at(&mut self, seq: u64) {
        self.seq = seq;
        self.count = 0;
        self.buf.clear();
        self.buf.extend_from_slice(&header_bytes(self.session, seq, 0));
    }
}

#[cfg(test)]
mod tests;
