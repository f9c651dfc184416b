//! The venue to run a gateway against: it publishes a tape as a TotalView-ITCH 5.0 feed in
//! MoldUDP64 packets over UDP, answers retransmission requests from everything it sent, and
//! takes FIX 4.4 orders, matched by the one venue simulator ([`SimExchange`]) against the same
//! books the feed describes.

use crate::net::{Clock, FixLink, NetError, Pace, socket};
use crate::wire::{OrderState, answer_message, request_action};
use lockstep_feed::{
    DEFAULT_MAX_DATAGRAM, ItchPublisher, PacketBuilder, Request, SessionId, end_of_session,
};
use lockstep_fix::{
    AppMessage, DisconnectReason, Event, MemorySeqStore, Role, Session, SessionConfig,
    SessionState, Text,
};
use lockstep_sdk::{InstrumentId, Nanos};
use lockstep_sim::{
    Book, Due, EventSource, ExchangeConfig, LatencyModel, Models, SimExchange, TapeError,
    TapeEvent, TapeHeader,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

/// How to run the venue.
#[derive(Clone, Debug)]
pub struct VenueOptions {
    /// Where to send the feed's datagrams (the gateway's feed address).
    pub feed: SocketAddr,
    /// Where to accept the gateway's FIX connection.
    pub fix: SocketAddr,
    /// Publishing speed.
    pub pace: Pace,
    /// How long to wait for the gateway to connect and log on.
    pub wait: Duration,
    /// MoldUDP64 session name (at most 10 ASCII characters).
    pub session: String,
    /// Faults to inject, for testing a gateway's recovery.
    pub faults: Faults,
}

/// Faults the venue can inject, to test how a gateway recovers (all off by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Drop every N-th feed datagram on its first sending (0: none); retransmissions are sent.
    pub drop_every: u64,
    /// Ignore retransmission requests, so gaps cannot be recovered.
    pub no_retransmit: bool,
    /// Close the FIX connection without a Logout after this many tape events.
    pub disconnect_after: Option<u64>,
}

/// What the venue did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VenueReport {
    /// Tape events published.
    pub events: u64,
    /// ITCH messages published (with directory and system events).
    pub messages: u64,
    /// Datagrams sent (with retransmissions).
    pub datagrams: u64,
    /// Retransmission requests answered.
    pub requests: u64,
    /// Messages retransmitted.
    pub retransmitted: u64,
    /// Orders, cancels and replaces received.
    pub requests_fix: u64,
    /// Execution reports and cancel rejects sent.
    pub reports: u64,
    /// Requests whose ClOrdID the venue had seen before: refused, not executed (a gateway
    /// that sends an order twice shows here).
    pub duplicate_requests: u64,
    /// Times the gateway connected again after losing its connection mid-session.
    pub reconnects: u64,
    /// Tape events applied to the venue's book but not published: ITCH carries orders only,
    /// not L2 levels or forgotten orders (a LOBSTER tape seeded from its orderbook file has
    /// these), nor events about orders it never announced.
    pub unpublishable: u64,
    /// Why the first of them could not be published.
    pub first_unpublishable: Option<String>,
}

/// Why the venue stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum VenueError {
    /// The network.
    Net(NetError),
    /// The tape.
    Tape(TapeError),
    /// The tape cannot be published as ITCH (e.g. an L2 tape, or a symbol ITCH cannot carry).
    Publish(String),
}

impl std::fmt::Display for VenueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VenueError::Net(e) => e.fmt(f),
            VenueError::Tape(e) => e.fmt(f),
            VenueError::Publish(e) => write!(f, "cannot publish the tape as ITCH: {e}"),
        }
    }
}

impl std::error::Error for VenueError {}

impl From<NetError> for VenueError {
    fn from(e: NetError) -> Self {
        VenueError::Net(e)
    }
}

/// Every message published, by sequence number, for retransmission.
struct Store {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

struct Venue {
    listener: TcpListener,
    /// Answers due while the gateway was away, sent when it has logged on again.
    unsent: Vec<AppMessage>,
    /// Every ClOrdID received.
    cl_ord_ids: std::collections::BTreeSet<lockstep_fix::Id>,
    /// The gateway ended the session with a Logout.
    logged_out: bool,
    udp: UdpSocket,
    feed: SocketAddr,
    session: SessionId,
    builder: PacketBuilder,
    store: Store,
    link: FixLink<MemorySeqStore>,
    exch: SimExchange,
    books: Vec<Book>,
    orders: BTreeMap<u64, OrderState>,
    symbols: Vec<lockstep_fix::Symbol>,
    exec: u64,
    now: i64,
    report: VenueReport,
    clock: Clock,
    faults: Faults,
    sent: u64,
}

/// Runs the venue over `src` until the tape ends and the gateway logs out (or `opts.wait`
/// passes after the end of session).
///
/// # Errors
/// [`VenueError`]: a socket, the gateway not connecting in time, a corrupt tape, or a tape
/// ITCH cannot carry.
pub fn run_venue(
    header: &TapeHeader,
    src: &mut dyn EventSource,
    opts: &VenueOptions,
) -> Result<VenueReport, VenueError> {
    let session = SessionId::new(&opts.session).ok_or_else(|| {
        VenueError::Publish(format!("session name {:?} is not 1-10 ASCII characters", opts.session))
    })?;
    let clock = Clock::wall();
    let (listener, link) = accept(opts, &clock)?;
    let udp = UdpSocket::bind(("0.0.0.0", 0)).map_err(socket("open the feed's UDP socket"))?;
    udp.set_nonblocking(true).map_err(socket("make the feed socket non-blocking"))?;
    let instruments = &header.instruments;
    let latency = LatencyModel { entry: Nanos(0), feed: Nanos(0) };
    let cfg = ExchangeConfig { latency, ..ExchangeConfig::default() };
    let mut v = Venue {
        listener,
        unsent: Vec::new(),
        cl_ord_ids: std::collections::BTreeSet::new(),
        logged_out: false,
        udp,
        feed: opts.feed,
        session,
        builder: PacketBuilder::new(session, 1, DEFAULT_MAX_DATAGRAM),
        store: Store { bytes: Vec::with_capacity(1 << 20), spans: Vec::with_capacity(1 << 16) },
        link,
        exch: SimExchange::with_models(cfg, Models::from_config(&cfg), instruments),
        books: (0..instruments.len()).map(|_| Book::new()).collect(),
        orders: BTreeMap::new(),
        symbols: instruments
            .iter()
            .map(|i| lockstep_fix::Symbol::lossy(i.symbol.as_bytes()))
            .collect(),
        exec: 0,
        now: 0,
        report: VenueReport::default(),
        clock,
        faults: opts.faults,
        sent: 0,
    };
    v.publish_tape(header, src, opts.pace)?;
    if v.faults.disconnect_after.is_none() {
        v.linger(opts.wait)?;
    }
    Ok(v.report)
}

/// Waits for the gateway's connection and Logon; the listener stays open for a gateway that
/// reconnects after a restart.
fn accept(
    opts: &VenueOptions,
    clock: &Clock,
) -> Result<(TcpListener, FixLink<MemorySeqStore>), VenueError> {
    let listener =
        TcpListener::bind(opts.fix).map_err(socket(format!("listen for FIX on {}", opts.fix)))?;
    listener.set_nonblocking(true).map_err(socket("make the FIX listener non-blocking"))?;
    let start = clock.now();
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if clock.passed(start, opts.wait) {
                    return Err(NetError::Timeout {
                        what: format!("a gateway to connect to FIX on {}", opts.fix),
                    }
                    .into());
                }
                std::hint::spin_loop();
            }
            Err(e) => {
                return Err(
                    NetError::Socket { what: "accept the gateway".into(), source: e }.into()
                );
            }
        }
    };
    let mut cfg = SessionConfig::new(Role::Acceptor, text("VENUE"), text("GATEWAY"));
    // Execution reports are kept to resend to a gateway that restarts mid-session.
    cfg.resend_capacity = 1 << 14;
    let session = Session::new(cfg, MemorySeqStore::default()).map_err(NetError::Fix)?;
    let mut link = FixLink::new(stream, session)?;
    link.session.accept(clock.now());
    loop {
        link.poll(clock.now())?;
        if link.events.iter().any(|e| matches!(e, Event::LoggedOn { .. })) {
            return Ok((listener, link));
        }
        if link.closed() || clock.passed(start, opts.wait) {
            return Err(NetError::Timeout { what: "the gateway's FIX Logon".into() }.into());
        }
    }
}

/// A FIX text field from an ASCII constant.
pub(crate) fn text(s: &str) -> Text {
    Text::lossy(s.as_bytes())
}

impl Venue {
    fn publish_tape(
        &mut self,
        header: &TapeHeader,
        src: &mut dyn EventSource,
        pace: Pace,
    ) -> Result<(), VenueError> {
        let mut buf: Vec<TapeEvent> = Vec::new();
        let mut publisher: Option<ItchPublisher> = None;
        let (start, mut t0, mut i) = (self.clock.now(), None, 0u64);
        while src.next_chunk(&mut buf).map_err(VenueError::Tape)? {
            for ev in &buf {
                let t0 = *t0.get_or_insert(ev.exchange_ts.0);
                let p = match publisher.as_mut() {
                    Some(p) => p,
                    None => publisher.insert(self.open(header, ev)?),
                };
                let due = pace.due(start, i, ev.exchange_ts.0, t0);
                while self.clock.now() < due {
                    self.service()?;
                }
                self.market(p, ev)?;
                i += 1;
                if self.faults.disconnect_after == Some(i) {
                    let _ = self.link.stream.shutdown(std::net::Shutdown::Both);
                    return Ok(());
                }
                self.service()?;
            }
        }
        self.close(publisher.as_ref())
    }

    /// Publishes the directory and the start of the session, with the first event's midnight.
    fn open(
        &mut self,
        header: &TapeHeader,
        first: &TapeEvent,
    ) -> Result<ItchPublisher, VenueError> {
        let day = 86_400_000_000_000;
        let midnight = Nanos(first.exchange_ts.0 - first.exchange_ts.0.rem_euclid(day));
        let p = ItchPublisher::new(&header.instruments, midnight, 1 << 22)
            .map_err(|e| VenueError::Publish(e.to_string()))?;
        let ts = first.exchange_ts;
        let start = p.system_event(b'O', ts).map_err(|e| VenueError::Publish(e.to_string()))?;
        self.push(&start)?;
        for i in 0..header.instruments.len() {
            let id = InstrumentId::try_from(i).unwrap_or(InstrumentId::MAX);
            let m = p.stock_directory(id, ts).map_err(|e| VenueError::Publish(e.to_string()))?;
            self.push(&m)?;
        }
        self.send_packet()?;
        Ok(p)
    }

    fn market(&mut self, p: &mut ItchPublisher, ev: &TapeEvent) -> Result<(), VenueError> {
        self.now = ev.local_ts.0;
        let ii = usize::from(ev.instrument);
        self.exch.advance(self.now, &self.books);
        let Ok(a) = self.books[ii].try_apply(&ev.msg) else {
            self.report.unpublishable += 1;
            return Ok(());
        };
        self.exch.on_market(ev.instrument, &a, self.now, &self.books[ii]);
        self.report.events += 1;
        // Events ITCH cannot carry (L2 levels, forgotten orders) or that name orders the feed
        // never announced change the venue's book but are not published; they are counted, and
        // the first reason kept for the report.
        match p.encode(ev) {
            Ok(msg) => self.push(&msg)?,
            Err(e) => {
                self.report.unpublishable += 1;
                self.report.first_unpublishable.get_or_insert_with(|| e.to_string());
            }
        }
        if !ev.more() {
            self.send_packet()?;
        }
        Ok(())
    }

    fn push(&mut self, msg: &lockstep_feed::ItchMessage<'_>) -> Result<(), VenueError> {
        let mut tmp = [0u8; 64];
        let n = msg.encode(&mut tmp).map_err(|e| VenueError::Publish(e.to_string()))?;
        if self.builder.push_raw(&tmp[..n]).is_err() {
            self.send_packet()?;
            self.builder.push_raw(&tmp[..n]).map_err(|e| VenueError::Publish(e.to_string()))?;
        }
        let start = self.store.bytes.len();
        self.store.bytes.extend_from_slice(&tmp[..n]);
        self.store.spans.push((start, n));
        self.report.messages += 1;
        Ok(())
    }

    fn send_packet(&mut self) -> Result<(), VenueError> {
        if self.builder.is_empty() {
            return Ok(());
        }
        self.sent += 1;
        let dropped =
            self.faults.drop_every > 0 && self.sent.is_multiple_of(self.faults.drop_every);
        if !dropped {
            self.udp
                .send_to(self.builder.datagram(), self.feed)
                .map_err(socket(format!("send the feed to {}", self.feed)))?;
            self.report.datagrams += 1;
        }
        self.builder.next_packet();
        Ok(())
    }

    /// Answers retransmission requests and FIX messages, and sends what the venue has due.
    fn service(&mut self) -> Result<(), VenueError> {
        let mut req = [0u8; 64];
        while let Ok((n, from)) = self.udp.recv_from(&mut req) {
            if let Ok(r) = Request::decode(&req[..n])
                && !self.faults.no_retransmit
            {
                self.retransmit(r, from)?;
            }
        }
        let now = self.clock.now();
        if self.link.closed() && !self.logged_out {
            self.reconnect(now)?;
        }
        self.link.poll(now)?;
        let events = std::mem::take(&mut self.link.events);
        for e in &events {
            match e {
                Event::App { msg, .. } => self.order(msg),
                Event::Disconnected {
                    reason: DisconnectReason::Logout | DisconnectReason::PeerLogout,
                    ..
                } => self.logged_out = true,
                _ => {}
            }
        }
        self.link.events = events;
        self.answers(now)
    }

    /// A gateway that lost its connection (or was restarted) connects again: the session goes
    /// on with its sequence numbers, so what it missed is resent.
    fn reconnect(&mut self, now: i64) -> Result<(), VenueError> {
        match self.listener.accept() {
            Ok((stream, _)) => {
                self.link.reattach(stream)?;
                self.link.session.accept(now);
                self.report.reconnects += 1;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => {
                Err(NetError::Socket { what: "accept the gateway again".into(), source: e }.into())
            }
        }
    }

    fn retransmit(&mut self, r: Request, to: SocketAddr) -> Result<(), VenueError> {
        self.report.requests += 1;
        let first = r.seq.max(1);
        let last = first.saturating_add(u64::from(r.count)).min(self.store.spans.len() as u64 + 1);
        let mut b = PacketBuilder::new(self.session, first, DEFAULT_MAX_DATAGRAM);
        for seq in first..last {
            let (at, n) = self.store.spans[(seq - 1) as usize];
            if b.push_raw(&self.store.bytes[at..at + n]).is_err() {
                self.udp
                    .send_to(b.datagram(), to)
                    .map_err(socket("answer a retransmission request"))?;
                self.report.datagrams += 1;
                b.next_packet();
                let _ = b.push_raw(&self.store.bytes[at..at + n]);
            }
            self.report.retransmitted += 1;
        }
        if !b.is_empty() {
            self.udp
                .send_to(b.datagram(), to)
                .map_err(socket("answer a retransmission request"))?;
            self.report.datagrams += 1;
        }
        Ok(())
    }

    /// An order request from the gateway, handed to the venue simulator at the current time.
    fn order(&mut self, msg: &AppMessage) {
        self.report.requests_fix += 1;
        let symbol = match msg {
            AppMessage::NewOrderSingle(o) => o.symbol,
            AppMessage::OrderCancelRequest(c) => c.symbol,
            AppMessage::OrderCancelReplaceRequest(r) => r.symbol,
            _ => return,
        };
        let instrument = self
            .symbols
            .iter()
            .position(|s| *s == symbol)
            .map_or(InstrumentId::MAX, |i| i as InstrumentId);
        let Some((id, action)) = request_action(msg, instrument) else { return };
        let cl = match msg {
            AppMessage::NewOrderSingle(o) => o.cl_ord_id,
            AppMessage::OrderCancelRequest(c) => c.cl_ord_id,
            AppMessage::OrderCancelReplaceRequest(r) => r.cl_ord_id,
            _ => return,
        };
        if !self.cl_ord_ids.insert(cl) {
            self.report.duplicate_requests += 1;
            return;
        }
        let st = self.orders.entry(id).or_insert_with(|| new_state(msg));
        match msg {
            AppMessage::NewOrderSingle(o) => *st = new_state(&AppMessage::NewOrderSingle(*o)),
            AppMessage::OrderCancelRequest(c) => {
                (st.cl_ord_id, st.cancel_or_replace, st.replacing) = (c.cl_ord_id, true, false)
            }
            AppMessage::OrderCancelReplaceRequest(r) => {
                (st.cl_ord_id, st.cancel_or_replace, st.replacing) = (r.cl_ord_id, true, true)
            }
            _ => {}
        }
        let _ = self.exch.take_actions(&[action.encode()], self.now, None);
    }

    fn answers(&mut self, now: i64) -> Result<(), VenueError> {
        while let Some(due) = self.exch.poll_through(self.now, 0, &self.books) {
            let Due::Event { body, .. } = due else { continue };
            let Some(id) = order_of(&body) else { continue };
            let Some(st) = self.orders.get_mut(&id) else { continue };
            self.exec += 1;
            // While the gateway is away, answers wait for it to log on again.
            if let Some(m) = answer_message(st, id, &body, self.exec) {
                self.unsent.push(m);
            }
        }
        if self.link.session.state() == SessionState::Active {
            let mut queued = 0;
            for m in std::mem::take(&mut self.unsent) {
                if self.link.closed() {
                    self.unsent.push(m);
                } else if self.link.queue(&m, now).is_ok() {
                    queued += 1;
                }
            }
            // One write for the batch. Reports whose write failed are in the session's resend
            // store already; the gateway asks for them when it logs on again.
            if queued > 0 && self.link.flush().is_ok() {
                self.report.reports += queued;
            }
        }
        Ok(())
    }

    /// Ends the session on the feed.
    fn close(&mut self, p: Option<&ItchPublisher>) -> Result<(), VenueError> {
        if let Some(p) = p {
            let end = p
                .system_event(b'C', Nanos(self.now))
                .map_err(|e| VenueError::Publish(e.to_string()))?;
            self.push(&end)?;
        }
        self.send_packet()?;
        let eos = end_of_session(self.session, self.builder.next_seq());
        self.udp.send_to(&eos, self.feed).map_err(socket("send the end of session"))?;
        self.report.datagrams += 1;
        Ok(())
    }

    /// Serves requests and orders after the end of session until the gateway logs out.
    fn linger(&mut self, wait: Duration) -> Result<(), VenueError> {
        let start = self.clock.now();
        let mut last_eos = start;
        // A gateway that vanished without a Logout may come back (restarted) within `wait`.
        while !self.logged_out && !self.clock.passed(start, wait) {
            self.service()?;
            if self.clock.passed(last_eos, Duration::from_millis(100)) {
                last_eos = self.clock.now();
                let eos = end_of_session(self.session, self.builder.next_seq());
                let _ = self.udp.send_to(&eos, self.feed);
            }
        }
        Ok(())
    }
}

fn new_state(msg: &AppMessage) -> OrderState {
    let (cl, symbol, side, qty, px) = match msg {
        AppMessage::NewOrderSingle(o) => (o.cl_ord_id, o.symbol, o.side, o.qty, o.price),
        AppMessage::OrderCancelRequest(c) => {
            (c.cl_ord_id, c.symbol, c.side, c.qty.unwrap_or_default(), None)
        }
        AppMessage::OrderCancelReplaceRequest(r) => (r.cl_ord_id, r.symbol, r.side, r.qty, r.price),
        _ => (
            lockstep_fix::Id::from_u64(0),
            lockstep_fix::Symbol::lossy(b"?"),
            lockstep_sdk::Side::Buy,
            Default::default(),
            None,
        ),
    };
    OrderState {
        cl_ord_id: cl,
        symbol,
        side,
        qty,
        px,
        cum: Default::default(),
        replacing: false,
        cancel_or_replace: false,
    }
}

fn order_of(body: &lockstep_sdk::EventBody) -> Option<u64> {
    use lockstep_sdk::EventBody as B;
    match body {
        B::OrderAck(a) => Some(a.order_id),
        B::Fill(f) => Some(f.order_id),
        B::Reject(r) => Some(r.order_id),
        B::Canceled(c) => Some(c.order_id),
        _ => None,
    }
}
