//! Handling of received messages: sequence checks, admin messages, resend answers.

use super::{Core, DisconnectReason, Event, SessionState, Stored};
use crate::codec::{Header, MessageView, parse_u64};
use crate::error::{DecodeError, SessionError};
use crate::fixstr::Text;
use crate::messages::AppMessage;
use crate::store::{SeqNums, SeqStore};
use std::io::Write;

type Out<'a> = &'a mut Vec<u8>;
type Ev<'a> = &'a mut Vec<Event>;

/// SessionRejectReason (373) for a decode error.
fn reject_reason(e: &DecodeError) -> u32 {
    match e {
        DecodeError::MissingTag { .. } => 1,
        DecodeError::BadValue { .. } => 5,
        DecodeError::UnsupportedMsgType { .. } => 11,
        DecodeError::MsgTypeNotThird { .. } => 14,
        _ => 99,
    }
}

impl<S: SeqStore> Core<S> {
    /// A framed message whose fields could not be read, or a framing error.
    pub(super) fn unparsable(
        &mut self,
        e: DecodeError,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        let seq = match e {
            DecodeError::Garbled { seq, .. } => seq,
            _ => 0,
        };
        if seq != 0 && seq == self.nums.next_target && self.state == SessionState::Active {
            self.advance_target(seq)?;
            return self.send_reject(seq, None, &e, now, out, ev);
        }
        ev.push(Event::Discarded(e));
        Ok(())
    }

    fn send_reject(
        &mut self,
        ref_seq: u64,
        msg_type: Option<&[u8]>,
        e: &DecodeError,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        // Writing into a Vec cannot fail.
        let _ = write!(scratch, "{e}");
        scratch.truncate(200);
        let r = self.send_msg(now, out, b"3", |enc| {
            enc.u64(45, ref_seq);
            if let Some(tag) = e.tag() {
                enc.u64(371, u64::from(tag));
            }
            if let Some(t) = msg_type {
                enc.str(372, t);
            }
            enc.u64(373, u64::from(reject_reason(e)));
            enc.str(58, &scratch);
        });
        self.scratch = scratch;
        r?;
        ev.push(Event::RejectSent { ref_seq, error: *e });
        Ok(())
    }

    fn advance_target(&mut self, seq: u64) -> Result<(), SessionError> {
        self.nums.next_target = seq.checked_add(1).ok_or(SessionError::SeqOverflow)?;
        if self.resend_until.is_some_and(|u| self.nums.next_target > u) {
            self.resend_until = None;
        }
        self.store.save(self.nums)?;
        Ok(())
    }

    /// One framed, well-formed message.
    pub(super) fn handle(
        &mut self,
        view: &MessageView<'_>,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        let msg_type = view.msg_type();
        let seq = view.seq();
        if self.state == SessionState::AwaitingLogon && msg_type == b"5" {
            // A Logout instead of a Logon answer: the peer refuses the session.
            self.disconnect(DisconnectReason::PeerLogout, view.get(58).map(Text::lossy), ev);
            return Ok(());
        }
        if self.state == SessionState::AwaitingLogon && msg_type != b"A" {
            self.disconnect(
                DisconnectReason::BadLogon,
                Text::from_str("first message not Logon"),
                ev,
            );
            return Ok(());
        }
        if seq == 0 {
            let text = b"MsgSeqNum (34) missing";
            return self.send_logout_and_close(DisconnectReason::MissingSeqNum, text, now, out, ev);
        }
        if view.get(49) != Some(self.cfg.target_comp_id.as_bytes())
            || view.get(56) != Some(self.cfg.sender_comp_id.as_bytes())
        {
            let text = b"SenderCompID/TargetCompID do not match the session";
            return self.send_logout_and_close(
                DisconnectReason::CompIdMismatch,
                text,
                now,
                out,
                ev,
            );
        }
        self.last_rx_ns = now;
        self.test_req = None;
        if msg_type == b"A" {
            return self.on_logon(view, now, out, ev);
        }
        if msg_type == b"4" && view.get(123) != Some(b"Y") {
            return self.on_sequence_reset(view, now, out, ev);
        }
        let expected = self.nums.next_target;
        let poss_dup = view.get(43) == Some(b"Y");
        if seq < expected {
            if poss_dup {
                return Ok(());
            }
            return self.seq_too_low(expected, seq, now, out, ev);
        }
        if seq > expected {
            return self.on_gap(view, expected, now, out, ev);
        }
        self.in_sequence(view, poss_dup, now, out, ev)
    }

    fn seq_too_low(
        &mut self,
        expected: u64,
        received: u64,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        let mut t = [0u8; 96];
        let mut w = &mut t[..];
        let _ = write!(w, "MsgSeqNum too low, expecting {expected} but received {received}");
        let n = 96 - w.len();
        let reason = DisconnectReason::SeqTooLow { expected, received };
        self.send_logout_and_close(reason, &t[..n], now, out, ev)
    }

    /// A message beyond the expected MsgSeqNum: ask for the missing ones once (the message
    /// itself is dropped and comes again with the resend). A ResendRequest is answered anyway,
    /// so two sessions with gaps both ways cannot deadlock; a Logout is honoured.
    fn on_gap(
        &mut self,
        view: &MessageView<'_>,
        expected: u64,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        match view.msg_type() {
            b"2" => self.on_resend_request(view, now, out, ev)?,
            b"5" => return self.on_logout(view, now, out, ev),
            _ => {}
        }
        let seq = view.seq();
        if self.resend_until.is_none() {
            self.send_msg(now, out, b"2", |e| {
                e.u64(7, expected);
                e.u64(16, 0);
            })?;
            ev.push(Event::GapDetected { from: expected, received: seq });
        }
        self.resend_until = Some(self.resend_until.map_or(seq, |u| u.max(seq)));
        Ok(())
    }

    fn in_sequence(
        &mut self,
        view: &MessageView<'_>,
        poss_dup: bool,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        let seq = view.seq();
        match view.msg_type() {
            b"4" => return self.on_gap_fill(view, now, out, ev),
            b"5" => {
                self.advance_target(seq)?;
                return self.on_logout(view, now, out, ev);
            }
            _ => self.advance_target(seq)?,
        }
        match view.msg_type() {
            b"0" => {}
            b"1" => {
                let id = view.get(112).unwrap_or(b"");
                self.send_msg(now, out, b"0", |e| {
                    if !id.is_empty() {
                        e.str(112, id);
                    }
                })?;
            }
            b"2" => self.on_resend_request(view, now, out, ev)?,
            b"3" => ev.push(Event::RejectReceived {
                ref_seq: view.get(45).and_then(parse_u64).unwrap_or(0),
                reason: view.get(373).and_then(parse_u64).and_then(|r| u32::try_from(r).ok()),
                text: view.get(58).map(Text::lossy),
            }),
            t => match AppMessage::decode(view) {
                Ok(msg) => ev.push(Event::App { seq, poss_dup, msg }),
                Err(e) => self.send_reject(seq, Some(t), &e, now, out, ev)?,
            },
        }
        Ok(())
    }

    fn on_logon(
        &mut self,
        view: &MessageView<'_>,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        if self.state != SessionState::AwaitingLogon {
            let text = b"Logon received on a logged-on session";
            return self.send_logout_and_close(DisconnectReason::BadLogon, text, now, out, ev);
        }
        let hb = view.get(108).and_then(parse_u64).and_then(|h| u32::try_from(h).ok());
        let (Some(hb), Some(b"0")) = (hb, view.get(98)) else {
            let text = b"Logon needs EncryptMethod (98) = 0 and a HeartBtInt (108)";
            return self.send_logout_and_close(DisconnectReason::BadLogon, text, now, out, ev);
        };
        let reset = view.get(141) == Some(b"Y");
        let acceptor = self.cfg.role == super::Role::Acceptor;
        if reset && acceptor {
            self.nums = SeqNums::default();
            self.sent.iter_mut().for_each(|s| *s = None);
        } else if reset {
            self.nums.next_target = 1;
        }
        let (seq, expected) = (view.seq(), self.nums.next_target);
        if seq < expected {
            return self.seq_too_low(expected, seq, now, out, ev);
        }
        if acceptor {
            self.heartbeat_secs = hb;
            self.send_logon(now, out, reset)?;
        }
        self.set_state(SessionState::Active, now);
        ev.push(Event::LoggedOn { heartbeat_secs: self.heartbeat_secs, reset });
        if seq > expected {
            return self.on_gap(view, expected, now, out, ev);
        }
        self.advance_target(seq)
    }

    fn on_logout(
        &mut self,
        view: &MessageView<'_>,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        let text = view.get(58).map(Text::lossy);
        if self.state == SessionState::LogoutSent {
            self.disconnect(DisconnectReason::Logout, text, ev);
            return Ok(());
        }
        self.send_msg(now, out, b"5", |_| {})?;
        self.disconnect(DisconnectReason::PeerLogout, text, ev);
        Ok(())
    }

    fn new_seq_no(&self, view: &MessageView<'_>) -> Result<u64, DecodeError> {
        let Some((offset, v)) = view.find(36) else {
            return Err(DecodeError::MissingTag {
                tag: 36,
                msg_type: view.msg_type_text(),
                seq: view.seq(),
            });
        };
        parse_u64(v).filter(|&n| n > 0).ok_or(DecodeError::BadValue {
            tag: 36,
            expected: "NewSeqNo (positive integer)",
            offset,
            seq: view.seq(),
        })
    }

    /// SequenceReset-Reset: MsgSeqNum is ignored; NewSeqNo may only move forward.
    fn on_sequence_reset(
        &mut self,
        view: &MessageView<'_>,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        let new = match self.new_seq_no(view) {
            Ok(n) => n,
            Err(e) => return self.send_reject(view.seq(), Some(b"4"), &e, now, out, ev),
        };
        self.move_target_to(view, new, now, out, ev)
    }

    /// SequenceReset-GapFill in sequence: skip to NewSeqNo.
    fn on_gap_fill(
        &mut self,
        view: &MessageView<'_>,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        match self.new_seq_no(view) {
            Ok(n) => self.move_target_to(view, n, now, out, ev),
            Err(e) => {
                self.advance_target(view.seq())?;
                self.send_reject(view.seq(), Some(b"4"), &e, now, out, ev)
            }
        }
    }

    fn move_target_to(
        &mut self,
        view: &MessageView<'_>,
        new: u64,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        if new < self.nums.next_target {
            let offset = view.find(36).map_or(0, |(o, _)| o);
            let e = DecodeError::BadValue {
                tag: 36,
                expected: "NewSeqNo not below the expected MsgSeqNum",
                offset,
                seq: view.seq(),
            };
            return self.send_reject(view.seq(), Some(b"4"), &e, now, out, ev);
        }
        self.advance_target(new - 1)
    }

    /// Answers a ResendRequest: stored application messages go again with PossDupFlag = Y and
    /// their OrigSendingTime; everything else (admin messages, messages no longer stored,
    /// messages sent before a restart) is covered by SequenceReset-GapFill.
    fn on_resend_request(
        &mut self,
        view: &MessageView<'_>,
        now: i64,
        out: Out<'_>,
        ev: Ev<'_>,
    ) -> Result<(), SessionError> {
        let begin = view.get(7).and_then(parse_u64);
        let end = view.get(16).and_then(parse_u64);
        let (Some(begin), Some(end)) = (begin, end) else {
            let (tag, msg_type, seq) =
                (if begin.is_none() { 7 } else { 16 }, view.msg_type_text(), view.seq());
            let e = DecodeError::MissingTag { tag, msg_type, seq };
            return self.send_reject(seq, Some(b"2"), &e, now, out, ev);
        };
        let last = self.nums.next_sender.saturating_sub(1);
        let end = if end == 0 || end > last { last } else { end };
        if begin == 0 || begin > end {
            return Ok(());
        }
        let cap = u64::try_from(self.sent.len()).unwrap_or(0);
        let first_stored = self.nums.next_sender.saturating_sub(cap).max(begin);
        let mut gap_from = begin;
        for s in first_stored..=end {
            let slot = if cap == 0 { None } else { usize::try_from(s % cap).ok() };
            let stored = slot.and_then(|i| self.sent[i]).filter(|st| st.seq == s);
            if let Some(st) = stored {
                if gap_from < s {
                    self.gap_fill(gap_from, s, now, out);
                }
                self.resend(st, now, out);
                gap_from = s + 1;
            }
        }
        if gap_from <= end {
            self.gap_fill(gap_from, end + 1, now, out);
        }
        self.last_tx_ns = now;
        Ok(())
    }

    fn gap_fill(&mut self, seq: u64, new_seq: u64, now: i64, out: Out<'_>) {
        self.enc.begin(&resend_header(&self.cfg, b"4", seq, now, now));
        self.enc.char(123, b'Y');
        self.enc.u64(36, new_seq);
        out.extend_from_slice(self.enc.finish());
    }

    fn resend(&mut self, st: Stored, now: i64, out: Out<'_>) {
        self.enc.begin(&resend_header(&self.cfg, st.msg.msg_type(), st.seq, now, st.sent_ns));
        st.msg.encode_body(&mut self.enc);
        out.extend_from_slice(self.enc.finish());
    }
}

/// The header of a resent message or gap fill: PossDupFlag = Y with OrigSendingTime.
fn resend_header<'c>(
    cfg: &'c super::SessionConfig,
    msg_type: &'static [u8],
    seq: u64,
    now: i64,
    orig: i64,
) -> Header<'c> {
    Header {
        msg_type,
        sender: cfg.sender_comp_id.as_bytes(),
        target: cfg.target_comp_id.as_bytes(),
        seq,
        sending_time_ns: now,
        orig_sending_time_ns: Some(orig),
    }
}
