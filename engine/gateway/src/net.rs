//! What both network ends share: the wall clock (the only place the live path reads time),
//! pacing, a FIX session over a non-blocking TCP stream, and socket errors that say what to do.
// The live path's clock: receive times enter the gateway's core as data and are journaled, so
// verification never reads it.
#![allow(clippy::disallowed_methods, clippy::disallowed_types, reason = "the live path's clock")]

use core::fmt;
use lockstep_fix::{AppMessage, Event, MemorySeqStore, SeqStore, Session, SessionError};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Nanoseconds since a fixed start, from the monotonic clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    start: Instant,
    /// Added to every reading (the epoch time of `start`, for FIX time stamps).
    epoch_ns: i64,
}

impl Clock {
    /// A clock starting now; readings are offset by `epoch_ns`.
    pub(crate) fn new(epoch_ns: i64) -> Self {
        Self { start: Instant::now(), epoch_ns }
    }

    /// A clock whose readings are the wall clock's nanoseconds since the Unix epoch.
    pub(crate) fn wall() -> Self {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Self::new(epoch)
    }

    /// The current reading.
    #[inline]
    pub(crate) fn now(&self) -> i64 {
        let e = i64::try_from(self.start.elapsed().as_nanos()).unwrap_or(i64::MAX);
        self.epoch_ns.saturating_add(e)
    }

    /// Whether `d` has passed since reading `since`.
    pub(crate) fn passed(&self, since: i64, d: Duration) -> bool {
        self.now().saturating_sub(since) >= i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
    }
}

/// How fast the venue publishes its tape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// As fast as it can.
    Max,
    /// At the tape's own speed times the factor (`realtime` is 1).
    Speed(f64),
    /// A fixed number of market messages per second.
    Rate(u64),
}

impl std::str::FromStr for Pace {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("unknown pace {s:?}: give realtime, max, xN (e.g. x10) or N/s (e.g. 100000/s)")
        };
        match s {
            "max" => Ok(Pace::Max),
            "realtime" => Ok(Pace::Speed(1.0)),
            _ => {
                if let Some(x) = s.strip_prefix('x') {
                    let f: f64 = x.parse().map_err(|_| bad())?;
                    return if f > 0.0 && f.is_finite() { Ok(Pace::Speed(f)) } else { Err(bad()) };
                }
                let n: u64 = s.strip_suffix("/s").ok_or_else(bad)?.parse().map_err(|_| bad())?;
                if n == 0 { Err(bad()) } else { Ok(Pace::Rate(n)) }
            }
        }
    }
}

impl Pace {
    /// When (on the clock, from `start`) the `i`-th message at tape time `t` is due, the tape
    /// having started at `t0`.
    pub(crate) fn due(&self, start: i64, i: u64, t: i64, t0: i64) -> i64 {
        match *self {
            Pace::Max => start,
            Pace::Speed(f) => start.saturating_add((t.saturating_sub(t0) as f64 / f) as i64),
            Pace::Rate(n) => {
                start.saturating_add((i as i128 * 1_000_000_000 / i128::from(n)) as i64)
            }
        }
    }
}

/// A network failure, with what to do about it.
#[derive(Debug)]
#[non_exhaustive]
pub enum NetError {
    /// A socket could not be opened or used.
    Socket {
        /// What was being done.
        what: String,
        /// The system's error.
        source: io::Error,
    },
    /// The order session failed.
    Fix(SessionError),
    /// The peer did not answer in time.
    Timeout {
        /// What was awaited.
        what: String,
    },
    /// The peer went away mid-session.
    Disconnected {
        /// What was going on.
        what: String,
    },
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Socket { what, source } => write!(f, "cannot {what}: {source}"),
            NetError::Fix(e) => write!(f, "FIX session failed: {e}"),
            NetError::Timeout { what } => write!(f, "timed out waiting for {what}"),
            NetError::Disconnected { what } => write!(f, "the peer disconnected {what}"),
        }
    }
}

impl std::error::Error for NetError {}

/// A socket error while doing `what`.
pub(crate) fn socket(what: impl Into<String>) -> impl FnOnce(io::Error) -> NetError {
    let what = what.into();
    move |source| NetError::Socket { what, source }
}

/// A FIX session on a non-blocking TCP stream: bytes in and out, events for the caller.
pub(crate) struct FixLink<S: SeqStore = MemorySeqStore> {
    /// The stream.
    pub(crate) stream: TcpStream,
    /// The session state machine.
    pub(crate) session: Session<S>,
    out: Vec<u8>,
    buf: Vec<u8>,
    /// Events of the last call.
    pub(crate) events: Vec<Event>,
    closed: bool,
}

impl<S: SeqStore> FixLink<S> {
    /// Wraps a connected stream (made non-blocking, Nagle off).
    ///
    /// # Errors
    /// [`NetError::Socket`] when the stream cannot be configured.
    pub(crate) fn new(stream: TcpStream, session: Session<S>) -> Result<Self, NetError> {
        stream.set_nodelay(true).map_err(socket("set TCP_NODELAY"))?;
        stream.set_nonblocking(true).map_err(socket("make the FIX socket non-blocking"))?;
        Ok(Self {
            stream,
            session,
            out: Vec::with_capacity(4096),
            buf: vec![0; 65_536],
            events: Vec::with_capacity(16),
            closed: false,
        })
    }

    /// Whether the peer closed the connection.
    /// Carries the session on over a new connection (the peer reconnected after losing the
    /// last one): the session's sequence numbers and resend store are kept.
    pub(crate) fn reattach(&mut self, stream: TcpStream) -> Result<(), NetError> {
        stream.set_nodelay(true).map_err(socket("set TCP_NODELAY"))?;
        stream.set_nonblocking(true).map_err(socket("make the FIX socket non-blocking"))?;
        self.stream = stream;
        self.out.clear();
        self.events.clear();
        self.closed = false;
        Ok(())
    }

    pub(crate) fn closed(&self) -> bool {
        self.closed
    }

    /// Stores the sequence numbers of whatever the session produced, then writes it; blocks
    /// (spinning) until it is all written.
    ///
    /// # Errors
    /// [`NetError::Fix`] when the numbers cannot be stored (nothing is written),
    /// [`NetError::Disconnected`] when the peer is gone.
    pub(crate) fn flush(&mut self) -> Result<(), NetError> {
        self.session.commit().map_err(NetError::Fix)?;
        let mut at = 0;
        while at < self.out.len() {
            match self.stream.write(&self.out[at..]) {
                Ok(0) => {
                    return Err(NetError::Disconnected { what: "while we were writing".into() });
                }
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.closed = true;
                    return Err(NetError::Disconnected { what: "while we were writing".into() });
                }
            }
        }
        self.out.clear();
        Ok(())
    }

    /// Encodes one application message behind what is queued; [`FixLink::flush`] sends the
    /// batch in one write.
    ///
    /// # Errors
    /// [`NetError::Fix`] (e.g. not logged on), or [`NetError::Disconnected`].
    pub(crate) fn queue(&mut self, msg: &AppMessage, now: i64) -> Result<(), NetError> {
        if self.closed {
            return Err(NetError::Disconnected { what: "before an order could be sent".into() });
        }
        self.session.send(msg, now, &mut self.out).map_err(NetError::Fix)?;
        Ok(())
    }

    /// Reads what has arrived (without waiting) and runs the session's timers; the events are
    /// in [`FixLink::events`]. Returns whether anything was read.
    ///
    /// # Errors
    /// [`NetError::Fix`] or a write failure answering the peer.
    pub(crate) fn poll(&mut self, now: i64) -> Result<bool, NetError> {
        self.events.clear();
        let mut got = false;
        loop {
            match self.stream.read(&mut self.buf) {
                Ok(0) => {
                    if !self.closed {
                        self.closed = true;
                        self.session.connection_lost();
                    }
                    break;
                }
                Ok(n) => {
                    got = true;
                    self.session
                        .receive(&self.buf[..n], now, &mut self.out, &mut self.events)
                        .map_err(NetError::Fix)?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.closed = true;
                    self.session.connection_lost();
                    break;
                }
            }
        }
        if !self.closed {
            self.session.tick(now, &mut self.out, &mut self.events).map_err(NetError::Fix)?;
            self.flush()?;
        }
        Ok(got)
    }

    /// Sends the initiator's Logon.
    ///
    /// # Errors
    /// As [`FixLink::send`].
    pub(crate) fn connect(&mut self, now: i64) -> Result<(), NetError> {
        self.session.connect(now, &mut self.out).map_err(NetError::Fix)?;
        self.flush()
    }

    /// Sends Logout with `text`.
    ///
    /// # Errors
    /// As [`FixLink::send`].
    pub(crate) fn logout(&mut self, text: &str, now: i64) -> Result<(), NetError> {
        self.session.logout(text, now, &mut self.out).map_err(NetError::Fix)?;
        self.flush()
    }
}
