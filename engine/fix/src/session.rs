//! The FIX 4.4 session layer as a sans-IO state machine: bytes and the time come in as
//! arguments, bytes to write and events come out. The same type serves initiator and acceptor.

use crate::codec::{Encoder, Framer, Header};
use crate::error::{DecodeError, SessionError};
use crate::fixstr::Text;
use crate::messages::AppMessage;
use crate::store::{SeqNums, SeqStore};

const NS_PER_SEC: i64 = 1_000_000_000;

/// Which side opens the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Connects and sends the first Logon (the trading gateway).
    Initiator,
    /// Waits for the peer's Logon and answers it (the simulated venue).
    Acceptor,
}

/// Settings of one session.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// Initiator or acceptor.
    pub role: Role,
    /// SenderCompID (49) of our messages.
    pub sender_comp_id: Text,
    /// TargetCompID (56) of our messages; the peer's SenderCompID.
    pub target_comp_id: Text,
    /// HeartBtInt (108) an initiator proposes; an acceptor adopts the peer's. 0: no heartbeats.
    pub heartbeat_secs: u32,
    /// Extra silence tolerated beyond HeartBtInt before a TestRequest, and again after it before
    /// disconnecting.
    pub grace_ns: i64,
    /// An initiator sends ResetSeqNumFlag (141) = Y and starts both numbers at 1.
    pub reset_on_logon: bool,
    /// The receive buffer's size and so the largest accepted message.
    pub max_message_len: usize,
    /// How many sent application messages are kept for resending with PossDupFlag = Y. 0: every
    /// resend request is answered with SequenceReset-GapFill (the safe choice for orders).
    pub resend_capacity: usize,
    /// How long to wait for the Logon answer (initiator) or the first Logon (acceptor).
    pub logon_timeout_ns: i64,
    /// How long to wait for the peer's Logout after sending ours.
    pub logout_timeout_ns: i64,
}

impl SessionConfig {
    /// 30 s heartbeats, 2 s grace, no reset, 8 KiB messages, gap-fill only, 10 s time-outs.
    pub fn new(role: Role, sender_comp_id: Text, target_comp_id: Text) -> Self {
        Self {
            role,
            sender_comp_id,
            target_comp_id,
            heartbeat_secs: 30,
            grace_ns: 2 * NS_PER_SEC,
            reset_on_logon: false,
            max_message_len: 8192,
            resend_capacity: 0,
            logon_timeout_ns: 10 * NS_PER_SEC,
            logout_timeout_ns: 10 * NS_PER_SEC,
        }
    }
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// No connection; call `connect` (initiator) or `accept` (acceptor).
    Disconnected,
    /// Connected, the Logon exchange is not complete.
    AwaitingLogon,
    /// Logged on: application messages flow.
    Active,
    /// We sent Logout and wait for the answer.
    LogoutSent,
}

/// Why a session ended; the caller must close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// Our Logout was answered.
    Logout,
    /// The peer logged out and we answered.
    PeerLogout,
    /// The peer stayed silent after a TestRequest.
    HeartbeatTimeout,
    /// The Logon exchange did not complete in time.
    LogonTimeout,
    /// Our Logout was not answered in time.
    LogoutTimeout,
    /// A MsgSeqNum lower than expected without PossDupFlag: the numbers are out of step.
    SeqTooLow {
        /// The number we expected.
        expected: u64,
        /// The number received.
        received: u64,
    },
    /// The first message was not a Logon, or the Logon was invalid.
    BadLogon,
    /// SenderCompID/TargetCompID do not match the configuration.
    CompIdMismatch,
    /// A message without MsgSeqNum (34).
    MissingSeqNum,
    /// A message larger than the receive buffer: the stream cannot be resynchronised.
    MessageTooLarge,
}

/// What the session reports to its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::large_enum_variant, reason = "Copy values on the stack; no boxing on the hot path")]
pub enum Event {
    /// The Logon exchange completed.
    LoggedOn {
        /// The HeartBtInt in force.
        heartbeat_secs: u32,
        /// Whether sequence numbers were reset to 1.
        reset: bool,
    },
    /// An application message, in sequence.
    App {
        /// Its MsgSeqNum.
        seq: u64,
        /// PossDupFlag (43) = Y: it may have been seen before.
        poss_dup: bool,
        /// The message.
        msg: AppMessage,
    },
    /// A received message was dropped for a framing error (bad checksum or length); a resend
    /// request follows when the next message shows the gap.
    Discarded(DecodeError),
    /// We answered a well-framed but invalid message with a session Reject (35=3).
    RejectSent {
        /// MsgSeqNum of the rejected message.
        ref_seq: u64,
        /// What was wrong.
        error: DecodeError,
    },
    /// The peer rejected one of our messages (35=3).
    RejectReceived {
        /// RefSeqNum (45).
        ref_seq: u64,
        /// SessionRejectReason (373), if given.
        reason: Option<u32>,
        /// Text (58), if given.
        text: Option<Text>,
    },
    /// A sequence gap: a ResendRequest was sent for `from..` (EndSeqNo 0).
    GapDetected {
        /// First missing MsgSeqNum.
        from: u64,
        /// The too-high MsgSeqNum received.
        received: u64,
    },
    /// The session ended; close the connection.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
        /// The Logout text, ours or the peer's.
        text: Option<Text>,
    },
}

#[derive(Debug, Clone, Copy)]
struct Stored {
    seq: u64,
    sent_ns: i64,
    msg: AppMessage,
}

/// Everything but the receive buffer, so a borrowed message can be handled with `&mut self`.
struct Core<S> {
    cfg: SessionConfig,
    store: S,
    nums: SeqNums,
    state: SessionState,
    enc: Encoder,
    scratch: Vec<u8>,
    heartbeat_secs: u32,
    state_since_ns: i64,
    last_rx_ns: i64,
    last_tx_ns: i64,
    test_req: Option<(u64, i64)>,
    test_req_count: u64,
    resend_until: Option<u64>,
    sent: Vec<Option<Stored>>,
}

/// One FIX session. Feed it bytes with [`Session::receive`] and the time with
/// [`Session::tick`]; write whatever it appends to `out` to the connection, in order, and
/// close the connection on [`Event::Disconnected`].
pub struct Session<S: SeqStore> {
    framer: Framer,
    core: Core<S>,
}

impl<S: SeqStore> std::fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.core.cfg.role)
            .field("state", &self.core.state)
            .field("seq", &self.core.nums)
            .finish_non_exhaustive()
    }
}

impl<S: SeqStore> Session<S> {
    /// A disconnected session with sequence numbers loaded from `store`.
    pub fn new(cfg: SessionConfig, mut store: S) -> Result<Self, SessionError> {
        let nums = store.load()?;
        let core = Core {
            cfg,
            store,
            nums,
            state: SessionState::Disconnected,
            enc: Encoder::new(),
            scratch: Vec::with_capacity(256),
            heartbeat_secs: cfg.heartbeat_secs,
            state_since_ns: 0,
            last_rx_ns: 0,
            last_tx_ns: 0,
            test_req: None,
            test_req_count: 0,
            resend_until: None,
            sent: vec![None; cfg.resend_capacity],
        };
        Ok(Self { framer: Framer::new(cfg.max_message_len), core })
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.core.state
    }

    /// The next MsgSeqNum to send and to receive.
    pub fn seq_nums(&self) -> SeqNums {
        self.core.nums
    }

    /// The sequence store.
    pub fn store(&self) -> &S {
        &self.core.store
    }

    /// The sequence-number store, to flush it (e.g. [`crate::FileSeqStore::sync`]).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.core.store
    }

    /// Stores the sequence numbers of everything appended to `out` so far
    /// ([`SeqStore::commit`]); call it before writing those bytes to the wire.
    ///
    /// # Errors
    /// [`SessionError::Store`].
    pub fn commit(&mut self) -> Result<(), SessionError> {
        Ok(self.core.store.commit()?)
    }

    /// Initiator: a connection is open; appends our Logon to `out`.
    pub fn connect(&mut self, now_ns: i64, out: &mut Vec<u8>) -> Result<(), SessionError> {
        let c = &mut self.core;
        if c.cfg.role != Role::Initiator || c.state != SessionState::Disconnected {
            return Err(SessionError::WrongRole);
        }
        self.framer.clear();
        c.start(now_ns);
        let reset = c.cfg.reset_on_logon;
        if reset {
            c.nums = SeqNums::default();
            c.store.save(c.nums)?;
            c.sent.iter_mut().for_each(|s| *s = None);
        }
        c.send_logon(now_ns, out, reset)
    }

    /// Acceptor: a connection was accepted; wait for the peer's Logon.
    pub fn accept(&mut self, now_ns: i64) {
        self.framer.clear();
        self.core.start(now_ns);
    }

    /// The connection closed under us: back to [`SessionState::Disconnected`], numbers kept.
    pub fn connection_lost(&mut self) {
        self.framer.clear();
        self.core.state = SessionState::Disconnected;
    }

    /// Sends an application message; returns its MsgSeqNum.
    pub fn send(
        &mut self,
        msg: &AppMessage,
        now_ns: i64,
        out: &mut Vec<u8>,
    ) -> Result<u64, SessionError> {
        let c = &mut self.core;
        if c.state != SessionState::Active {
            return Err(SessionError::NotLoggedOn { state: c.state });
        }
        let seq = c.send_msg(now_ns, out, msg.msg_type(), |e| msg.encode_body(e))?;
        if let Some(cap) = u64::try_from(c.sent.len()).ok().filter(|&n| n > 0) {
            let slot = usize::try_from(seq % cap).unwrap_or(0);
            c.sent[slot] = Some(Stored { seq, sent_ns: now_ns, msg: *msg });
        }
        Ok(seq)
    }

    /// Sends Logout with `text` and waits for the answer.
    pub fn logout(
        &mut self,
        text: &str,
        now_ns: i64,
        out: &mut Vec<u8>,
    ) -> Result<(), SessionError> {
        let c = &mut self.core;
        if matches!(c.state, SessionState::Disconnected | SessionState::LogoutSent) {
            return Ok(());
        }
        c.send_msg(now_ns, out, b"5", |e| {
            if !text.is_empty() {
                e.str(58, Text::lossy(text.as_bytes()).as_bytes());
            }
        })?;
        c.set_state(SessionState::LogoutSent, now_ns);
        Ok(())
    }

    /// Feeds received bytes (any split: partial messages are kept until complete).
    pub fn receive(
        &mut self,
        mut data: &[u8],
        now_ns: i64,
        out: &mut Vec<u8>,
        events: &mut Vec<Event>,
    ) -> Result<(), SessionError> {
        loop {
            let taken = self.framer.push(data);
            data = &data[taken..];
            self.drain(now_ns, out, events)?;
            if data.is_empty() || self.core.state == SessionState::Disconnected {
                return Ok(());
            }
            if taken == 0 {
                // The buffer is full and holds no complete message: cannot happen with the
                // framer's size check, but never spin.
                self.core.disconnect(DisconnectReason::MessageTooLarge, None, events);
                return Ok(());
            }
        }
    }

    fn drain(
        &mut self,
        now_ns: i64,
        out: &mut Vec<u8>,
        events: &mut Vec<Event>,
    ) -> Result<(), SessionError> {
        while self.core.state != SessionState::Disconnected {
            match self.framer.next_message() {
                None => break,
                Some(Ok(view)) => self.core.handle(&view, now_ns, out, events)?,
                Some(Err(e @ DecodeError::TooLarge { .. })) => {
                    events.push(Event::Discarded(e));
                    self.core.disconnect(DisconnectReason::MessageTooLarge, None, events);
                }
                Some(Err(e)) => self.core.unparsable(e, now_ns, out, events)?,
            }
        }
        Ok(())
    }

    /// Drives the timers: heartbeats, TestRequest after silence, time-outs.
    pub fn tick(
        &mut self,
        now_ns: i64,
        out: &mut Vec<u8>,
        events: &mut Vec<Event>,
    ) -> Result<(), SessionError> {
        self.core.tick(now_ns, out, events)
    }
}

impl<S: SeqStore> Core<S> {
    fn start(&mut self, now_ns: i64) {
        self.set_state(SessionState::AwaitingLogon, now_ns);
        self.last_rx_ns = now_ns;
        self.last_tx_ns = now_ns;
        self.test_req = None;
        self.resend_until = None;
        self.heartbeat_secs = self.cfg.heartbeat_secs;
    }

    fn set_state(&mut self, state: SessionState, now_ns: i64) {
        self.state = state;
        self.state_since_ns = now_ns;
    }

    fn disconnect(&mut self, reason: DisconnectReason, text: Option<Text>, ev: &mut Vec<Event>) {
        self.state = SessionState::Disconnected;
        ev.push(Event::Disconnected { reason, text });
    }

    /// Encodes and appends one message with the next MsgSeqNum, then persists the numbers.
    fn send_msg(
        &mut self,
        now_ns: i64,
        out: &mut Vec<u8>,
        msg_type: &[u8],
        body: impl FnOnce(&mut Encoder),
    ) -> Result<u64, SessionError> {
        let seq = self.nums.next_sender;
        let next = seq.checked_add(1).ok_or(SessionError::SeqOverflow)?;
        self.enc.begin(&Header {
            msg_type,
            sender: self.cfg.sender_comp_id.as_bytes(),
            target: self.cfg.target_comp_id.as_bytes(),
            seq,
            sending_time_ns: now_ns,
            orig_sending_time_ns: None,
        });
        body(&mut self.enc);
        out.extend_from_slice(self.enc.finish());
        self.nums.next_sender = next;
        self.store.save(self.nums)?;
        self.last_tx_ns = now_ns;
        Ok(seq)
    }

    fn send_logon(
        &mut self,
        now_ns: i64,
        out: &mut Vec<u8>,
        reset: bool,
    ) -> Result<(), SessionError> {
        let hb = self.heartbeat_secs;
        self.send_msg(now_ns, out, b"A", |e| {
            e.u64(98, 0);
            e.u64(108, u64::from(hb));
            if reset {
                e.char(141, b'Y');
            }
        })?;
        Ok(())
    }

    fn send_logout_and_close(
        &mut self,
        reason: DisconnectReason,
        text: &[u8],
        now_ns: i64,
        out: &mut Vec<u8>,
        ev: &mut Vec<Event>,
    ) -> Result<(), SessionError> {
        let t = Text::lossy(text);
        self.send_msg(now_ns, out, b"5", |e| e.str(58, t.as_bytes()))?;
        self.disconnect(reason, Some(t), ev);
        Ok(())
    }

    fn tick(
        &mut self,
        now: i64,
        out: &mut Vec<u8>,
        ev: &mut Vec<Event>,
    ) -> Result<(), SessionError> {
        let since = now.saturating_sub(self.state_since_ns);
        match self.state {
            SessionState::Disconnected => {}
            SessionState::AwaitingLogon if since >= self.cfg.logon_timeout_ns => {
                self.disconnect(DisconnectReason::LogonTimeout, None, ev);
            }
            SessionState::LogoutSent if since >= self.cfg.logout_timeout_ns => {
                self.disconnect(DisconnectReason::LogoutTimeout, None, ev);
            }
            SessionState::AwaitingLogon | SessionState::LogoutSent => {}
            SessionState::Active => self.heartbeat_timers(now, out, ev)?,
        }
        Ok(())
    }

    fn heartbeat_timers(
        &mut self,
        now: i64,
        out: &mut Vec<u8>,
        ev: &mut Vec<Event>,
    ) -> Result<(), SessionError> {
        if self.heartbeat_secs == 0 {
            return Ok(());
        }
        let hb = i64::from(self.heartbeat_secs).saturating_mul(NS_PER_SEC);
        let patience = hb.saturating_add(self.cfg.grace_ns);
        if let Some((_, sent)) = self.test_req {
            if now.saturating_sub(sent) >= patience {
                let text = Text::from_str("no answer to TestRequest");
                self.disconnect(DisconnectReason::HeartbeatTimeout, text, ev);
                return Ok(());
            }
        } else if now.saturating_sub(self.last_rx_ns) >= patience {
            self.test_req_count = self.test_req_count.saturating_add(1);
            let id = self.test_req_count;
            self.send_msg(now, out, b"1", |e| e.u64(112, id))?;
            self.test_req = Some((id, now));
        }
        if now.saturating_sub(self.last_tx_ns) >= hb {
            self.send_msg(now, out, b"0", |_| {})?;
        }
        Ok(())
    }
}

mod inbound;

#[cfg(test)]
mod tests;
