//! The gateway on the network: the ITCH feed in over UDP, the core on one pinned thread, orders
//! out over FIX, every stage timed into HdrHistograms, a journal per strategy.
// Receive times come from the clock in `net`; they enter the core as data.
#![allow(clippy::disallowed_methods, reason = "receive times from net's clock")]

use crate::core::{Gateway, Outbound, StrategySpec, StrategySummary};
use crate::inputs::{Input, InputLog, Inputs, read_inputs};
use crate::journal::{JournalCursor, JournalHeader};
use crate::latency::{StageLatency, Stages};
use crate::net::{Clock, FixLink, NetError, socket};
use crate::recover::RestoreFn;
use crate::risk::RiskLimits;
use crate::wire::{answer_body, order_message, strategy_order, venue_order_id};
use lockstep_feed::{Counters, FeedEvent, FeedHandler, HandlerConfig, MoldItchHandler};
use lockstep_fix::{Event, FileSeqStore, Role, SeqStore, Session, SessionConfig, Symbol, Text};
use lockstep_sdk::{Action, ActionRecord, EventBody, EventHeader, Nanos, Side, StrategyRunner};
use lockstep_sim::{InstrumentInfo, TapeEvent};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How to run the gateway.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// The UDP address to receive the feed on.
    pub feed: SocketAddr,
    /// The venue's FIX address.
    pub fix: SocketAddr,
    /// The directory for journals, FIX sequence numbers and latency logs (created; must not
    /// hold a journal already).
    pub journal_dir: PathBuf,
    /// Pre-trade risk limits (every strategy gets its own book of them).
    pub risk: RiskLimits,
    /// How long to keep trying to reach the venue, and to wait for it to answer.
    pub wait: Duration,
    /// The kill switch's trigger from outside the gateway's thread (the binary sets it on
    /// `SIGUSR1`); `touch DIR/KILL` is the other way.
    pub kill: KillSwitch,
    /// Carry on a session killed mid-way whose files are in `journal_dir`: its input log is
    /// played back through fresh strategies (the same ones, checked against its journals,
    /// which are moved to `journal_dir/before-recovery-N/`), the orders sent already are not
    /// sent again, the feed and the FIX session resume where the log ends.
    pub recover: bool,
    /// Checkpoint the strategies every this many market events (0: never), beside their
    /// journals, so that a recovery runs only what follows the last checkpoint in them.
    pub checkpoint_events: u64,
    /// And at least every this long (zero: no time trigger).
    pub checkpoint_interval: Duration,
}

/// Pulls the kill switch from another thread or a signal handler: the gateway checks it on
/// every turn of its loop (one atomic load), cancels every open order and refuses new ones.
#[derive(Clone, Debug, Default)]
pub struct KillSwitch(Arc<AtomicBool>);

impl KillSwitch {
    /// A switch not yet pulled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pulls it.
    pub fn trigger(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether it was pulled.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself, for `signal_hook::flag::register`.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

/// A strategy for the live gateway, started already.
pub struct LiveStrategy {
    /// What its journal's header says.
    pub header: JournalHeader,
    /// The running strategy.
    pub runner: Box<dyn StrategyRunner>,
    /// What its `init` returned.
    pub init_actions: Vec<ActionRecord>,
    /// Restores it from one of its engine checkpoints (`None`: it cannot be checkpointed, a
    /// native build); with it the gateway checkpoints the strategy and recovers from that.
    pub restore: Option<RestoreFn>,
}

/// The gateway's summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LiveReport {
    /// Market events applied.
    pub market_events: u64,
    /// Per strategy.
    pub strategies: Vec<StrategySummary>,
    /// What the feed handler counted.
    pub feed: Counters,
    /// Wire-to-wire and per-stage latency of the datagrams that led to orders.
    pub latency: Vec<StageLatency>,
    /// The `.hlog` and `.hgrm` files written beside the journals.
    pub latency_files: Vec<PathBuf>,
    /// The journal files written.
    pub journals: Vec<PathBuf>,
    /// Strategy checkpoints written (one per strategy each time).
    pub checkpoints: u64,
    /// The last checkpoint that could not be written, if one could not (the session goes on;
    /// a recovery then runs more of the strategies again).
    pub checkpoint_error: Option<String>,
    /// What `--recover` played back, when it was used.
    pub recovery: Option<Recovery>,
}

/// What a recovery played back before the session went on.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Recovery {
    /// Inputs played back from the log.
    pub inputs: u64,
    /// Orders decided again that had been sent before the restart (not sent again).
    pub orders_not_resent: u64,
    /// Bytes after the log's last whole frame, dropped (a frame the crash cut).
    pub torn_tail: u64,
    /// Strategies brought back from a checkpoint.
    pub strategies_from_checkpoint: u64,
    /// Inputs answered from the old journals rather than run again (what the checkpoints
    /// covered).
    pub inputs_from_journal: u64,
    /// How long the play-back took, in nanoseconds.
    pub play_back_ns: i64,
}

/// Why the gateway stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum GatewayError {
    /// The network or the FIX session.
    Net(NetError),
    /// The journal directory.
    Journal {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayError::Net(e) => e.fmt(f),
            GatewayError::Journal { path, reason } => {
                write!(f, "journal {}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for GatewayError {}

impl From<NetError> for GatewayError {
    fn from(e: NetError) -> Self {
        GatewayError::Net(e)
    }
}

struct Live {
    clock: Clock,
    udp: UdpSocket,
    handler: MoldItchHandler,
    link: FixLink<FileSeqStore>,
    core: Option<Gateway>,
    pending: Vec<StrategySpec>,
    instruments: Vec<InstrumentInfo>,
    limits: RiskLimits,
    /// Per venue order id: symbol, side, requests sent, instrument.
    orders: BTreeMap<u64, (Symbol, Side, u32, u16)>,
    stages: Stages,
    started: i64,
    market_events: u64,
    ended: bool,
    /// The kill switch's command: this file appearing (`touch DIR/KILL`).
    kill_file: PathBuf,
    kill: KillSwitch,
    killed: bool,
    last_kill_check: i64,
    feed_events: Vec<FeedEvent>,
    /// The core's orders being sent (reused).
    outbound: Vec<Outbound>,
    /// The input log, written ahead of every order (`None` once it failed).
    log: Option<InputLog>,
    /// The feed handler's recorded sequence, on its way to the log (reused).
    sequence: Vec<u8>,
    /// Playing the input log back: nothing is logged again.
    replaying: bool,
    /// Orders decided again while recovering that were sent before the restart.
    skip: u64,
    /// The end-of-session cancels were decided.
    cancelled: bool,
    /// The journals' paths, by strategy (checkpoints go beside them).
    journal_paths: Vec<PathBuf>,
    /// Market events and time at the last strategy checkpoint.
    last_ckpt: (u64, i64),
    checkpoints: u64,
    checkpoint_error: Option<String>,
    ckpt_every: (u64, i64),
}

/// Runs `strategies` live until the feed's end of session: then cancels what is open, logs
/// out and returns the summary.
///
/// # Errors
/// [`GatewayError`]: no venue to reach, a socket, or an unusable journal directory.
pub fn run_gateway(
    opts: &GatewayOptions,
    strategies: Vec<LiveStrategy>,
) -> Result<LiveReport, GatewayError> {
    let clock = Clock::wall();
    let log_path = opts.journal_dir.join("inputs.log");
    let mut strategies = strategies;
    let (recovered, resumed) = if opts.recover {
        let (inputs, resumed) = recover_dir(opts, &mut strategies)?;
        (Some(inputs), resumed)
    } else {
        (None, (0, 0))
    };
    let (journals, pending) = open_journals(&opts.journal_dir, strategies)?;
    let log = match &recovered {
        Some(r) => InputLog::resume(&log_path, r),
        None => InputLog::create(&log_path),
    }
    .map_err(|e| GatewayError::Journal { path: log_path.clone(), reason: e.to_string() })?;
    let udp =
        UdpSocket::bind(opts.feed).map_err(socket(format!("receive the feed on {}", opts.feed)))?;
    udp.set_nonblocking(true).map_err(socket("make the feed socket non-blocking"))?;
    let link = connect(opts, &clock, recovered.as_ref().and_then(Inputs::last_fix_seq))?;
    let mut live = Live {
        clock,
        udp,
        // Room for 8,192 datagrams behind a gap (12 MiB, allocated once), re-requested every
        // 2 ms for up to 200 ms: a venue on the same network answers in microseconds, so a
        // burst the kernel dropped while the strategies were busy is recovered, not given up
        // on; a venue silent for 200 ms has lost the data.
        handler: MoldItchHandler::new(HandlerConfig {
            gap_slots: 8192,
            request_timeout: Nanos(2_000_000),
            max_attempts: 100,
            // A window of messages per request: after a restart the gap can be seconds of feed.
            max_request: 2048,
            drop_when_full: true,
            ..HandlerConfig::default()
        }),
        link,
        core: None,
        pending,
        instruments: Vec::new(),
        limits: opts.risk,
        orders: BTreeMap::new(),
        stages: Stages::new(),
        started: clock.now(),
        market_events: 0,
        ended: false,
        kill_file: opts.journal_dir.join("KILL"),
        kill: opts.kill.clone(),
        killed: false,
        last_kill_check: 0,
        feed_events: Vec::with_capacity(256),
        outbound: Vec::with_capacity(64),
        log: Some(log),
        sequence: Vec::with_capacity(64 << 10),
        replaying: false,
        skip: 0,
        cancelled: false,
        journal_paths: journals.clone(),
        last_ckpt: (0, clock.now()),
        checkpoints: 0,
        checkpoint_error: None,
        ckpt_every: (
            opts.checkpoint_events,
            i64::try_from(opts.checkpoint_interval.as_nanos()).unwrap_or(i64::MAX),
        ),
    };
    live.handler.record_sequence(true);
    let t0 = live.clock.now();
    let mut recovery = None;
    let replayed = match recovered {
        Some(r) => {
            let mut rec = Recovery {
                inputs: r.inputs.len() as u64,
                orders_not_resent: r.sent(),
                torn_tail: r.torn_tail,
                strategies_from_checkpoint: resumed.0,
                inputs_from_journal: resumed.1,
                play_back_ns: 0,
            };
            let done = live.replay(r, &log_path);
            rec.play_back_ns = live.clock.now() - t0;
            recovery = Some(rec);
            done
        }
        None => Ok(()),
    };
    if let Err(e) = replayed.and_then(|()| live.run()) {
        // Whatever happened, what the strategies were handed stays on disk; a session that
        // ended before the market opened still leaves each journal its header (no empty file).
        if let Some(log) = live.log.as_mut() {
            let _ = log.flush();
        }
        let pending = std::mem::take(&mut live.pending);
        let core = live.core.take().or_else(|| Gateway::new(&[], pending, live.limits).ok());
        if let Some(core) = core {
            core.finish();
        }
        return Err(e);
    }
    let (checkpoints, checkpoint_error) = (live.checkpoints, live.checkpoint_error.take());
    let mut report = live.finish(opts)?;
    report.checkpoints = checkpoints;
    report.checkpoint_error = checkpoint_error;
    report.journals = journals;
    report.recovery = recovery;
    Ok(report)
}

fn open_journals(
    dir: &PathBuf,
    strategies: Vec<LiveStrategy>,
) -> Result<(Vec<PathBuf>, Vec<StrategySpec>), GatewayError> {
    let err = |path: &PathBuf, reason: String| GatewayError::Journal { path: path.clone(), reason };
    std::fs::create_dir_all(dir).map_err(|e| err(dir, format!("cannot create it: {e}")))?;
    let mut paths = Vec::new();
    let mut specs = Vec::new();
    for (i, s) in strategies.into_iter().enumerate() {
        let path = dir.join(journal_name(i, &s.header));
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| {
            err(&path, format!("cannot create it ({e}); give an empty --journal directory, a journal is never overwritten"))
        })?;
        paths.push(path);
        specs.push(StrategySpec {
            header: s.header,
            runner: s.runner,
            init_actions: s.init_actions,
            journal: Some(Box::new(std::io::BufWriter::new(file))),
        });
    }
    Ok((paths, specs))
}

/// The file name of strategy `i`'s journal.
fn journal_name(i: usize, header: &JournalHeader) -> String {
    let name: String = header
        .strategy
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    format!("{i}-{name}.journal")
}

/// Reads the input log of the session to recover, checks that `strategies` are the ones its
/// journals were written for, and moves those journals (and the strategies' checkpoints) to
/// `before-recovery-N/` (the recovered session writes them again, the same bytes first). A
/// strategy with a checkpoint is wrapped to answer what it covers from its old journal.
fn recover_dir(
    opts: &GatewayOptions,
    strategies: &mut [LiveStrategy],
) -> Result<(Inputs, (u64, u64)), GatewayError> {
    let dir = &opts.journal_dir;
    let err =
        |p: &std::path::Path, reason: String| GatewayError::Journal { path: p.to_owned(), reason };
    let path = dir.join("inputs.log");
    let file = std::fs::File::open(&path).map_err(|e| {
        err(&path, format!("cannot open it ({e}); --recover takes the --journal directory of a gateway session that stopped mid-way"))
    })?;
    let inputs =
        read_inputs(std::io::BufReader::new(file)).map_err(|e| err(&path, e.to_string()))?;
    let mut found = Vec::new();
    let mut resumed = (0, 0);
    for (i, s) in strategies.iter_mut().enumerate() {
        let jp = dir.join(journal_name(i, &s.header));
        let file = std::fs::File::open(&jp).map_err(|e| {
            err(&jp, format!("cannot open it ({e}); --recover needs the session's strategies, in its order, with its --params and --tier"))
        })?;
        let reader: Box<dyn std::io::Read + Send> = Box::new(std::io::BufReader::new(file));
        let mut j = JournalCursor::new(reader).map_err(|e| err(&jp, e.to_string()))?;
        if *j.header() != s.header {
            let h = j.header();
            return Err(err(
                &jp,
                format!(
                    "it was written for {} (params {:?}, tier {}, module {}), not for {} (params {:?}, tier {}, module {}); --recover with the session's own strategies",
                    h.strategy,
                    h.params,
                    h.tier,
                    h.module_sha256,
                    s.header.strategy,
                    s.header.params,
                    s.header.tier,
                    s.header.module_sha256,
                ),
            ));
        }
        let ck = jp.with_extension("ckpt");
        if ck.exists() {
            let (records, state) = crate::recover::read(&ck).map_err(|why| err(&ck, why))?;
            let covered = usize::try_from(records.saturating_sub(1)).unwrap_or(usize::MAX);
            let init = j.next_entry().map_err(|e| err(&jp, e.to_string()))?;
            if records == 0 || !init.is_some_and(|e| e.origin == crate::journal::Origin::Init) {
                return Err(err(
                    &ck,
                    format!(
                        "it follows {records} journal records, but the journal does not start with the strategy's init"
                    ),
                ));
            }
            if let Some(restore) = s.restore.take() {
                let fresh = std::mem::replace(&mut s.runner, Box::new(crate::recover::Spent));
                s.runner =
                    Box::new(crate::recover::Recovering::new(fresh, j, covered, state, restore));
                resumed = (resumed.0 + 1, resumed.1 + covered as u64);
            }
            found.push(ck);
        }
        found.push(jp);
    }
    let aside = (1..).map(|n| dir.join(format!("before-recovery-{n}"))).find(|d| !d.exists());
    let aside = aside.unwrap_or_else(|| dir.join("before-recovery"));
    std::fs::create_dir(&aside).map_err(|e| err(&aside, format!("cannot create it: {e}")))?;
    for jp in found {
        let to = aside.join(jp.file_name().unwrap_or_default());
        std::fs::rename(&jp, &to)
            .map_err(|e| err(&jp, format!("cannot move it to {}: {e}", to.display())))?;
    }
    Ok((inputs, resumed))
}

/// Connects to the venue (retrying until `opts.wait`) and logs on. Recovering, the sequence
/// numbers go on from `DIR/fix.seq`, expecting the venue's message after `last_logged`
/// again, so that the venue resends every answer the log does not hold.
fn connect(
    opts: &GatewayOptions,
    clock: &Clock,
    last_logged: Option<u64>,
) -> Result<FixLink<FileSeqStore>, GatewayError> {
    let start = clock.now();
    let stream = loop {
        let refused = match TcpStream::connect_timeout(&opts.fix, Duration::from_millis(200)) {
            // A port in the ephemeral range with nothing listening can connect to itself
            // (TCP simultaneous open): that is no venue, so keep trying.
            Ok(s) if s.local_addr().ok() == s.peer_addr().ok() => std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "nothing listens there (the connection reached the gateway itself)",
            ),
            Ok(s) => break s,
            Err(e) => e,
        };
        if clock.passed(start, opts.wait) {
            return Err(NetError::Socket {
                what: format!(
                    "reach the venue's FIX port {} (is `replay venue` running?)",
                    opts.fix
                ),
                source: refused,
            }
            .into());
        }
        std::thread::yield_now();
    };
    let mut cfg =
        SessionConfig::new(Role::Initiator, Text::lossy(b"GATEWAY"), Text::lossy(b"VENUE"));
    cfg.reset_on_logon = !opts.recover;
    // Each change overwrites DIR/fix.seq in place (one positioned write, no fsync: a crash of
    // the process keeps them, the logout syncs them to the disk).
    let seq_path = opts.journal_dir.join("fix.seq");
    let mut store = FileSeqStore::in_place(&seq_path);
    if let Some(last) = last_logged {
        let store_err = |e: lockstep_fix::StoreError| GatewayError::Journal {
            path: seq_path.clone(),
            reason: e.to_string(),
        };
        let mut nums = store.load().map_err(store_err)?;
        nums.next_target = last.saturating_add(1);
        store.save(nums).map_err(store_err)?;
    }
    let session = Session::new(cfg, store).map_err(NetError::Fix)?;
    let mut link = FixLink::new(stream, session)?;
    link.connect(clock.now())?;
    loop {
        link.poll(clock.now())?;
        if link.events.iter().any(|e| matches!(e, Event::LoggedOn { .. })) {
            return Ok(link);
        }
        if link.closed() || clock.passed(start, opts.wait) {
            return Err(NetError::Timeout { what: "the venue's FIX Logon answer".into() }.into());
        }
    }
}

impl Live {
    fn run(&mut self) -> Result<(), GatewayError> {
        let mut dgram = vec![0u8; 65_536];
        let mut venue: Option<SocketAddr> = None;
        while !self.ended {
            match self.udp.recv_from(&mut dgram) {
                Ok((n, from)) => {
                    venue = Some(from);
                    self.datagram(&dgram[..n], from)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    return Err(
                        NetError::Socket { what: "receive the feed".into(), source: e }.into()
                    );
                }
            }
            let now = self.clock.now();
            self.kill_switch(now)?;
            self.fix(now)?;
            if self.link.closed() {
                return Err(NetError::Disconnected {
                    what: "mid-session (FIX connection lost)".into(),
                }
                .into());
            }
            let mut events = std::mem::take(&mut self.feed_events);
            if let (Some(r), Some(to)) =
                (self.handler.poll(Nanos(now), &mut |e| events.push(e)), venue)
            {
                let _ = self.udp.send_to(&r.encode(), to);
            }
            self.feed_events = events;
            self.log_feed(now);
            self.apply_feed(now)?;
            self.maybe_checkpoint(now);
        }
        Ok(())
    }

    /// Checkpoints the strategies when `checkpoint_events` market events or
    /// `checkpoint_interval` have passed since the last time: the input log first (so that it
    /// holds every input behind the state), then each journal and state.
    fn maybe_checkpoint(&mut self, now: i64) {
        let (events, nanos) = self.ckpt_every;
        let by_events = events > 0 && self.market_events >= self.last_ckpt.0.saturating_add(events);
        let by_time = nanos > 0 && now.saturating_sub(self.last_ckpt.1) >= nanos;
        if self.replaying || !(by_events || by_time) {
            return;
        }
        self.last_ckpt = (self.market_events, now);
        let Some(core) = self.core.as_mut() else { return };
        if let Some(log) = self.log.as_mut()
            && let Err(e) = log.flush()
        {
            self.checkpoint_error = Some(format!("input log: {e}"));
            return;
        }
        let mut states = Vec::new();
        core.checkpoint_strategies(&mut states);
        for (s, records, state) in states {
            let Some(path) = self.journal_paths.get(s).map(|p| p.with_extension("ckpt")) else {
                continue;
            };
            match crate::recover::write(&path, records, &state) {
                Ok(()) => self.checkpoints += 1,
                Err(e) => self.checkpoint_error = Some(format!("{}: {e}", path.display())),
            }
        }
    }

    /// Plays the input log of the session being recovered back through the fresh core: the
    /// same orders are decided, and those sent before the restart are not sent again.
    fn replay(&mut self, inputs: Inputs, path: &std::path::Path) -> Result<(), GatewayError> {
        let bad = |reason: String| GatewayError::Journal { path: path.to_owned(), reason };
        self.skip = inputs.sent();
        self.replaying = true;
        for input in inputs.inputs {
            match input {
                Input::Feed { recv, sequence } => {
                    let mut events = std::mem::take(&mut self.feed_events);
                    let played = self.handler.replay_sequence(&sequence, &mut |e| events.push(e));
                    self.feed_events = events;
                    played.map_err(|e| bad(e.to_string()))?;
                    self.apply_feed(recv)?;
                }
                Input::Venue { recv, order, answer, .. } => {
                    if let Ok(ev) = answer.decode() {
                        self.answer(order, ev.body, recv);
                    }
                    self.send_outbound(recv)?;
                }
                Input::Kill { recv } => self.pull_kill(recv)?,
                Input::CancelAll { recv } => self.cancel_all(recv)?,
                Input::Sent { .. } => {}
            }
        }
        self.replaying = false;
        if self.skip > 0 {
            return Err(bad(format!(
                "played back, the session decided {} orders fewer than it had sent: these are \
                 not the session's strategies, or they are not deterministic",
                self.skip
            )));
        }
        Ok(())
    }

    /// Moves what the feed handler delivered since the last call into the input log.
    fn log_feed(&mut self, recv: i64) {
        self.handler.take_sequence(&mut self.sequence);
        if self.sequence.is_empty() {
            return;
        }
        if !self.replaying
            && let Some(log) = self.log.as_mut()
        {
            log.push_feed(recv, &self.sequence);
            // With no orders to write ahead of, the log still goes out a MiB at a time.
            if log.buffered() > 1 << 20
                && let Err(e) = log.flush()
            {
                self.log_failed(&e.to_string());
            }
        }
        self.sequence.clear();
    }

    /// Adds an input to the log (not while playing it back).
    fn log_input(&mut self, input: &Input) {
        if !self.replaying
            && let Some(log) = self.log.as_mut()
        {
            log.push(input);
        }
    }

    /// The input log cannot be written: a restart could not rebuild the session, so every
    /// strategy is halted and what is open cancelled.
    fn log_failed(&mut self, why: &str) {
        self.log = None;
        if let Some(c) = self.core.as_mut() {
            c.halt_all(&format!(
                "the input log failed ({why}); the session could not be recovered after a crash"
            ));
            c.kill();
        }
    }

    /// One datagram: decoded, applied, strategies called, orders sent; each stage timed.
    fn datagram(&mut self, d: &[u8], from: SocketAddr) -> Result<(), GatewayError> {
        let t0 = self.clock.now();
        let mut events = std::mem::take(&mut self.feed_events);
        let outcome = self.handler.on_datagram(d, Nanos(t0), &mut |e| events.push(e));
        self.feed_events = events;
        self.log_feed(t0);
        if let Ok(o) = outcome
            && let Some(r) = o.request
        {
            let _ = self.udp.send_to(&r.encode(), from);
        }
        let t1 = self.clock.now();
        let sent = self.apply_feed(t0)?;
        if sent.0 > 0 {
            let t3 = self.clock.now();
            let since = (t3 - self.started).max(0) as u64;
            self.stages.record([t1 - t0, sent.1 - t1, t3 - sent.1, t3 - t0], since);
        }
        Ok(())
    }

    /// Applies the feed events queued; returns the orders sent and when the core finished.
    fn apply_feed(&mut self, recv: i64) -> Result<(usize, i64), GatewayError> {
        let events = std::mem::take(&mut self.feed_events);
        for e in &events {
            match e {
                FeedEvent::Instrument(info) => self.instruments.push(info.clone()),
                FeedEvent::Tape(ev) => self.market(ev, recv),
                FeedEvent::Halt { reason, .. } => {
                    if let Some(c) = self.core.as_mut() {
                        c.halt_all(&format!("feed: {reason}"));
                    }
                }
                FeedEvent::EndOfSession { .. } => self.ended = true,
                _ => {}
            }
        }
        self.feed_events = events;
        self.feed_events.clear();
        let core_done = self.clock.now();
        Ok((self.send_outbound(core_done)?, core_done))
    }

    fn market(&mut self, ev: &TapeEvent, recv: i64) {
        if self.core.is_none() {
            let specs = std::mem::take(&mut self.pending);
            match Gateway::new(&self.instruments, specs, self.limits) {
                Ok(g) => self.core = Some(g),
                Err(_) => return,
            }
        }
        if let Some(c) = self.core.as_mut()
            && usize::from(ev.instrument) < self.instruments.len()
            && c.on_market(ev, recv).is_ok()
        {
            self.market_events += 1;
        }
    }

    /// Sends the core's orders over FIX; returns how many.
    fn send_outbound(&mut self, now: i64) -> Result<usize, GatewayError> {
        let Some(core) = self.core.as_mut() else { return Ok(0) };
        let mut out = std::mem::take(&mut self.outbound);
        out.clear();
        out.extend(core.drain_outbound());
        // Written ahead: the inputs behind these orders, and their count, reach the operating
        // system before the first of them leaves.
        if !out.is_empty()
            && !self.replaying
            && let Some(log) = self.log.as_mut()
        {
            log.push(&Input::Sent { count: u32::try_from(out.len()).unwrap_or(u32::MAX) });
            if let Err(e) = log.flush() {
                self.log_failed(&e.to_string());
            }
        }
        for o in &out {
            let (s, order_id, instrument, action) = match *o {
                Outbound::New { strategy, order_id, instrument, side, px, qty, tif } => {
                    let a = match (px, tif) {
                        (Some(px), Some(tif)) => {
                            Action::PlaceOrder { instrument, order_id, side, px, qty, tif }
                        }
                        (Some(px), None) => {
                            Action::PlaceLimit { instrument, order_id, side, px, qty }
                        }
                        (None, _) => Action::PlaceMarket { instrument, order_id, side, qty },
                    };
                    (strategy, order_id, instrument, a)
                }
                Outbound::Cancel { strategy, order_id, instrument } => {
                    (strategy, order_id, instrument, Action::Cancel { instrument, order_id })
                }
                Outbound::Replace { strategy, order_id, instrument, px, qty } => (
                    strategy,
                    order_id,
                    instrument,
                    Action::Replace { instrument, order_id, px, qty },
                ),
            };
            let id = venue_order_id(s, order_id);
            let symbol = self
                .instruments
                .get(usize::from(instrument))
                .map_or(Symbol::lossy(b"?"), |i| Symbol::lossy(i.symbol.as_bytes()));
            let side = match action {
                Action::PlaceLimit { side, .. }
                | Action::PlaceOrder { side, .. }
                | Action::PlaceMarket { side, .. } => side,
                _ => self.orders.get(&id).map_or(Side::Buy, |o| o.1),
            };
            let entry = self.orders.entry(id).or_insert((symbol, side, 0, instrument));
            let version = entry.2;
            entry.2 += 1;
            // Recovering: decided again, and sent before the restart.
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            if let Some(m) = order_message(&action, id, version, symbol, side, now)
                && let Err(e) = self.link.queue(&m, now)
            {
                // What was queued before the failure still goes out, as it did one by one.
                self.outbound = out;
                self.link.flush()?;
                return Err(e.into());
            }
        }
        // The batch leaves in one write, its sequence numbers stored first.
        self.link.flush()?;
        let n = out.len();
        self.outbound = out;
        Ok(n)
    }

    /// The kill switch: once pulled ([`KillSwitch`], checked every turn) or once `DIR/KILL`
    /// exists (checked every 100 ms, off the datagram path), every open order is cancelled and
    /// risk refuses new ones for the rest of the session.
    fn kill_switch(&mut self, now: i64) -> Result<(), GatewayError> {
        if self.killed {
            return Ok(());
        }
        let pulled = self.kill.is_set();
        if !pulled && now.saturating_sub(self.last_kill_check) < 100_000_000 {
            return Ok(());
        }
        // Before the core exists there is nothing to stop: look again next turn, so a KILL file
        // already there at start takes effect with the first order, not 100 ms later.
        if self.core.is_none() {
            return Ok(());
        }
        self.last_kill_check = now;
        if pulled || self.kill_file.exists() {
            self.log_input(&Input::Kill { recv: now });
            self.pull_kill(now)?;
        }
        Ok(())
    }

    fn pull_kill(&mut self, now: i64) -> Result<(), GatewayError> {
        self.killed = true;
        if let Some(c) = self.core.as_mut() {
            c.kill();
        }
        self.send_outbound(now).map(|_| ())
    }

    fn cancel_all(&mut self, now: i64) -> Result<(), GatewayError> {
        self.cancelled = true;
        if let Some(c) = self.core.as_mut() {
            c.cancel_all();
        }
        self.send_outbound(now).map(|_| ())
    }

    /// Reads the venue's answers and hands them to the strategies.
    fn fix(&mut self, now: i64) -> Result<(), GatewayError> {
        self.link.poll(now)?;
        let events = std::mem::take(&mut self.link.events);
        for e in &events {
            let Event::App { msg, seq, .. } = e else { continue };
            let Some((id, body)) = answer_body(msg) else { continue };
            let h =
                EventHeader { seq: 0, instrument: 0, exchange_ts: Nanos(0), local_ts: Nanos(0) };
            let answer = lockstep_sdk::Event { h, body }.encode();
            self.log_input(&Input::Venue { recv: now, fix_seq: *seq, order: id, answer });
            self.answer(id, body, now);
        }
        self.link.events = events;
        self.send_outbound(now)?;
        Ok(())
    }

    /// Hands the venue's answer to order `id` to its strategy.
    fn answer(&mut self, id: u64, body: EventBody, now: i64) {
        let (s, _) = strategy_order(id);
        // Known from the order it answers: no search by symbol per answer.
        let instrument = self.orders.get(&id).map_or(0, |o| o.3);
        let h = EventHeader { seq: 0, instrument, exchange_ts: Nanos(now), local_ts: Nanos(now) };
        let body = crate::wire::strategy_body(body);
        if let Some(c) = self.core.as_mut() {
            c.on_venue(s, h, body, now);
        }
    }

    /// End of session: cancel what is open, wait for the answers, log out.
    fn finish(mut self, opts: &GatewayOptions) -> Result<LiveReport, GatewayError> {
        if !self.cancelled {
            let now = self.clock.now();
            self.log_input(&Input::CancelAll { recv: now });
            self.cancel_all(now)?;
        }
        let start = self.clock.now();
        while !self.clock.passed(start, Duration::from_millis(300)) {
            self.fix(self.clock.now())?;
        }
        self.link.logout("end of session", self.clock.now())?;
        let start = self.clock.now();
        while !self.link.closed() && !self.clock.passed(start, opts.wait) {
            self.link.poll(self.clock.now())?;
            if self.link.events.iter().any(|e| matches!(e, Event::Disconnected { .. })) {
                break;
            }
        }
        self.link.session.store_mut().sync().map_err(|e| GatewayError::Journal {
            path: opts.journal_dir.join("fix.seq"),
            reason: e.to_string(),
        })?;
        if let Some(log) = self.log.as_mut() {
            log.sync().map_err(|e| GatewayError::Journal {
                path: opts.journal_dir.join("inputs.log"),
                reason: e.to_string(),
            })?;
        }
        let since = (self.clock.now() - self.started).max(0) as u64;
        let (latency_files, latency) = self.stages.finish(&opts.journal_dir, since);
        let feed = *self.handler.counters();
        let strategies = self.core.map(Gateway::finish).unwrap_or_default();
        Ok(LiveReport {
            market_events: self.market_events,
            strategies,
            feed,
            latency,
            latency_files,
            journals: Vec::new(),
            checkpoints: 0,
            checkpoint_error: None,
            recovery: None,
        })
    }
}
