//! The delivered sequence, recorded for a restart: every message the handler delivered, in
//! order, with its sequence number and receive time, and every gap it gave up on. Played back
//! into a fresh handler it rebuilds the same order table and yields the same events, and the
//! handler then expects the next sequence number, so a restarted gateway re-requests only
//! what it never saw.
//!
//! Records, little-endian: `1` seq (u64) recv (i64) length (u16) message; `2` recv (i64)
//! reason (u8: 1 unrecoverable, 2 buffer full) seq count extra skip-to (u64 each); `3` recv
//! (i64) for the end of the session.

use super::MoldItchHandler;
use crate::handler::{FeedError, FeedEvent, HaltReason, HaltScope};
use crate::itch::ItchMessage;
use lockstep_sdk::Nanos;

const MESSAGE: u8 = 1;
const GIVE_UP: u8 = 2;
const END: u8 = 3;

/// Appends a delivered message.
pub(super) fn message(tap: &mut Vec<u8>, seq: u64, recv: Nanos, bytes: &[u8]) {
    tap.push(MESSAGE);
    tap.extend_from_slice(&seq.to_le_bytes());
    tap.extend_from_slice(&recv.0.to_le_bytes());
    // ITCH messages are at most a few dozen bytes; MoldUDP64 frames lengths as u16.
    tap.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_le_bytes());
    tap.extend_from_slice(bytes);
}

/// Appends a gap given up on, and where the handler moved on to.
pub(super) fn give_up(tap: &mut Vec<u8>, recv: Nanos, reason: HaltReason, skip_to: u64) {
    let (tag, seq, count, extra) = match reason {
        HaltReason::GapUnrecoverable { seq, count, attempts } => {
            (1, seq, count, u64::from(attempts))
        }
        HaltReason::GapBufferFull { seq, count, slots } => (2, seq, count, slots as u64),
    };
    tap.push(GIVE_UP);
    tap.extend_from_slice(&recv.0.to_le_bytes());
    tap.push(tag);
    for v in [seq, count, extra, skip_to] {
        tap.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends the end of the session.
pub(super) fn end(tap: &mut Vec<u8>, recv: Nanos) {
    tap.push(END);
    tap.extend_from_slice(&recv.0.to_le_bytes());
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FeedError> {
        let s = self.b.get(self.at..self.at.saturating_add(n));
        let s =
            s.ok_or(FeedError::Recording { offset: self.at, reason: "it ends inside a record" })?;
        self.at += n;
        Ok(s)
    }
    fn u64(&mut self) -> Result<u64, FeedError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn i64(&mut self) -> Result<i64, FeedError> {
        self.u64().map(|v| i64::from_le_bytes(v.to_le_bytes()))
    }
}

impl MoldItchHandler {
    /// Starts (or stops) recording the delivered sequence; see [`MoldItchHandler::take_sequence`].
    pub fn record_sequence(&mut self, on: bool) {
        self.tap = on.then(|| Vec::with_capacity(64 << 10));
    }

    /// Appends what was recorded since the last call to `into`, and forgets it here.
    pub fn take_sequence(&mut self, into: &mut Vec<u8>) {
        if let Some(tap) = self.tap.as_mut() {
            into.extend_from_slice(tap);
            tap.clear();
        }
    }

    /// Plays a recorded sequence back (in order, as recorded), calling `out` with the events
    /// it yielded the first time; returns the messages delivered. Afterwards the handler
    /// expects the sequence number after the last one recorded.
    ///
    /// # Errors
    /// [`FeedError::Recording`] when the bytes are not a recording (nothing after that offset
    /// is played); [`FeedError::Itch`] for a recorded message that is not ITCH 5.0.
    pub fn replay_sequence<F: FnMut(FeedEvent)>(
        &mut self,
        bytes: &[u8],
        out: &mut F,
    ) -> Result<u64, FeedError> {
        let mut c = Cursor { b: bytes, at: 0 };
        let mut n = 0;
        while c.at < bytes.len() {
            let at = c.at;
            match c.take(1)?[0] {
                MESSAGE => {
                    let (seq, recv) = (c.u64()?, Nanos(c.i64()?));
                    let len = c.take(2)?;
                    let msg = c.take(usize::from(u16::from_le_bytes([len[0], len[1]])))?;
                    let m = ItchMessage::decode(msg).map_err(|error| FeedError::Itch {
                        seq,
                        offset: at,
                        error,
                    })?;
                    self.mapper.on_message(&m, recv, out);
                    self.expected = Some(seq.saturating_add(1));
                    self.live = self.live.max(seq.saturating_add(1));
                    self.mapper.counters.messages += 1;
                    n += 1;
                }
                GIVE_UP => {
                    let recv = c.i64()?;
                    let tag = c.take(1)?[0];
                    let (seq, count, extra, skip_to) = (c.u64()?, c.u64()?, c.u64()?, c.u64()?);
                    let reason = match tag {
                        1 => HaltReason::GapUnrecoverable {
                            seq,
                            count,
                            attempts: u32::try_from(extra).unwrap_or(u32::MAX),
                        },
                        2 => HaltReason::GapBufferFull {
                            seq,
                            count,
                            slots: usize::try_from(extra).unwrap_or(usize::MAX),
                        },
                        _ => {
                            return Err(FeedError::Recording {
                                offset: at,
                                reason: "unknown halt reason",
                            });
                        }
                    };
                    let _ = recv;
                    self.mapper.counters.unrecoverable += 1;
                    self.mapper.halt();
                    out(FeedEvent::Halt { scope: HaltScope::All, reason });
                    let exp = self.expected.unwrap_or(skip_to);
                    self.expected = Some(exp.max(skip_to));
                }
                END => {
                    let recv = Nanos(c.i64()?);
                    self.mapper.end_of_session(recv, out);
                }
                _ => {
                    return Err(FeedError::Recording { offset: at, reason: "unknown record kind" });
                }
            }
        }
        Ok(n)
    }
}
