//! A replay session: the books, the strategies and their simulated exchanges, and the digest,
//! driven by one event source on one thread.
//!
//! For each tape event, in order: exchange items due before it are processed (orders arriving,
//! answers and timers delivered); the event is applied to its instrument's book; each
//! strategy's simulated exchange updates queue positions and fills; and when the source
//! message's batch ends, the strategies receive SDK events for it: `Trade` for each execution,
//! `Quote` for a quote, then `Book` (with the L2 view) if the top levels changed. Each strategy
//! numbers the events it receives itself (`seq` from 0), so its digest does not depend on which
//! other strategies share the session.
//!
//! The session only picks what comes first: each strategy's venue says when its next item is
//! due and hands it over itself (`SimExchange::poll`), checking
//! its own budgets; the session delivers it, or the next tape event, whichever is earlier.
//! Strategies are SDK [`StrategyRunner`]s, measurement is a [`Meter`] and recording an
//! [`Observer`], all passed in by the host (`lockstep-host` loads strategies into an engine,
//! measures on the wall clock and writes traces).

use crate::book::{Book, BookStats, LevelOverflow};
use crate::digest::{Digest, combine};
use crate::exchange::{
    Blotter, BlotterConfig, BudgetExceeded, CLASS_MARKET, CLASS_TIMER, Due, ExchangeConfig,
    ExchangeSummary, Models, RestingOrder, SimExchange,
};
use crate::jitter::{JitterRecorder, LatencyReport};
use crate::market::TapeEvent;
use crate::tape::{DEFAULT_CHUNK_EVENTS, EventSource, TapeError, TapeHeader};
use crate::view::MarketView;
use lockstep_sdk::{
    ActionRecord, BookRecord, Event, EventHeader, EventRecord, InstrumentId, Nanos, StrategyRunner,
    Tier,
};
use std::fmt;

/// After the tape ends, pending answers and timers are still delivered for this long (on the
/// tape's clock).
pub const CLOSING_WINDOW_NS: i64 = 1_000_000_000;

/// A strategy ready to run: a [`StrategyRunner`] whose `init` has already run.
pub struct RunnerSpec {
    /// Name in reports.
    pub name: String,
    /// Parameter text it was started with.
    pub params: String,
    /// The runner: an engine instance or native build (with `host`), or the browser's guest.
    pub runner: Box<dyn StrategyRunner>,
    /// The actions `init` returned (timers, first orders), scheduled at the first event.
    pub init_actions: Vec<ActionRecord>,
    /// The fuel `init` used where the runner is metered (an engine instance); `None` for a
    /// native build or a browser's engine, which report no fuel.
    pub init_fuel: Option<u64>,
}

impl fmt::Debug for RunnerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunnerSpec")
            .field("name", &self.name)
            .field("params", &self.params)
            .field("init_actions", &self.init_actions.len())
            .finish_non_exhaustive()
    }
}

/// One piece of work a [`Meter`] saw.
#[derive(Clone, Copy, Debug)]
pub struct Work {
    /// Tape event index, `u64::MAX` for exchange items.
    pub tape_event: u64,
    /// First strategy's sequence number, `u64::MAX` if none.
    pub seq: u64,
    /// Strategy index, `u32::MAX` for a tape event (all strategies).
    pub strategy: u32,
    /// First SDK event kind.
    pub kind: u16,
    /// Fuel used.
    pub fuel: u64,
}

/// Latency measurement around each piece of work, supplied by the host (the core has no
/// clock); [`NoMeter`] measures nothing.
pub trait Meter {
    /// A chunk has been read: the next work is handed over now.
    fn handed(&mut self) {}
    /// Work due at tape time `t` starts; returns the start reading.
    fn begin(&mut self, t: i64) -> u64;
    /// The work that started at `began` is done.
    fn end(&mut self, began: u64, w: Work);
    /// Whether the run must stop now (a server's deadline, a client gone). Once true it must
    /// stay true: the run then ends with [`ReplayError::Interrupted`] and cannot go on.
    fn interrupted(&mut self) -> bool {
        false
    }
}

/// No measurement.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMeter;

/// Sees every call a strategy got and what it answered, in order (a trace file, a journal);
/// it never changes the run.
pub trait Observer {
    /// `init`'s fuel and actions, before the first event.
    fn init(&mut self, fuel: u64, actions: &[ActionRecord]);
    /// The event numbered `seq`, its book view, the fuel it used and the actions it returned.
    fn event(
        &mut self,
        seq: u64,
        fuel: u64,
        rec: &EventRecord,
        book: Option<&BookRecord>,
        actions: &[ActionRecord],
    );
    /// The run is over: flush what is kept; the error's text ends up in
    /// [`RunReport::trace_error`].
    fn finish(self: Box<Self>) -> Result<(), String>;
}

/// Why a replay stopped before the end of its source.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplayError {
    /// The source could not be read (a corrupt or truncated tape).
    Tape(TapeError),
    /// An event the book cannot apply: a level's total quantity would overflow (the importers
    /// refuse such input at its line).
    Book {
        /// Chunk number (0-based).
        chunk: u64,
        /// Index of the event within its chunk.
        event: u64,
        /// Index of the event on the tape (0-based).
        index: u64,
        /// The event's instrument.
        instrument: InstrumentId,
        /// The level that would overflow.
        overflow: LevelOverflow,
    },
    /// The [`Meter`] stopped the run before the end (a deadline); what it did is discarded.
    Interrupted {
        /// Tape events done when it stopped.
        index: u64,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Tape(e) => e.fmt(f),
            ReplayError::Book { chunk, event, index, instrument, overflow } => write!(
                f,
                "tape chunk {chunk}, event {event} of the chunk (tape event {index}, instrument {instrument}) cannot be replayed: {overflow}; the tape is invalid, re-import the data"
            ),
            ReplayError::Interrupted { index } => write!(
                f,
                "the replay was stopped after {index} tape events (its time limit ran out); run it with `replay run` for no limit"
            ),
        }
    }
}

// Display already carries the underlying error, so `source` is left empty: reporting the
// chain as well (anyhow's `{:#}`) would print it twice.
impl std::error::Error for ReplayError {}

impl From<TapeError> for ReplayError {
    fn from(e: TapeError) -> Self {
        ReplayError::Tape(e)
    }
}

impl Meter for NoMeter {
    #[inline(always)]
    fn begin(&mut self, _: i64) -> u64 {
        0
    }
    #[inline(always)]
    fn end(&mut self, _: u64, _: Work) {}
}

/// How fast to replay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pacing {
    /// Each event as soon as the previous one is done.
    AsFastAsPossible,
    /// Each event when it is due on the tape's clock, `speed` times real time (1.0: real time).
    Paced {
        /// Speed-up factor.
        speed: f64,
    },
}

/// Settings of a session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The engine tier that runs WebAssembly strategies (native builds ignore it); default
    /// the interpreter. The host loads them on it; reports name it.
    pub tier: Tier,
    /// Fuel each strategy event may use.
    pub fuel_per_event: u64,
    /// The simulated exchange.
    pub exchange: ExchangeConfig,
    /// The exchange's latency, fee and queue-position models; `None` (the default): the
    /// built-in ones `exchange` describes ([`Models::from_config`]).
    pub models: Option<Models>,
    /// How fast to replay.
    pub pacing: Pacing,
    /// Wall-clock length of one `.hlog` interval.
    pub interval_ns: u64,
    /// Also compute a digest of the book views (for book-only replays).
    pub book_digest: bool,
    /// Measure each event's latency (one clock reading and one histogram record per event,
    /// about 30 ns here). Off: pure throughput, no latency report, no pacing.
    pub measure_latency: bool,
    /// Keep a blotter per strategy (orders, fills, equity per bar, prices over a window) for
    /// the backtest report; `None` (the default): none is kept.
    pub blotter: Option<BlotterConfig>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            tier: Tier::Interpreter,
            fuel_per_event: 10_000_000,
            exchange: ExchangeConfig::default(),
            models: None,
            pacing: Pacing::AsFastAsPossible,
            interval_ns: 1_000_000_000,
            book_digest: false,
            measure_latency: true,
            blotter: None,
        }
    }
}

/// What one strategy did in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrategyReport {
    /// Name.
    pub name: String,
    /// Parameters.
    pub params: String,
    /// Whether it ran as WebAssembly (fuel-metered) or natively.
    pub wasm: bool,
    /// The tier it ran on; `None` for a native build.
    pub tier: Option<Tier>,
    /// Its digest: every action, exchange event and halt (the same on every tier).
    pub digest: [u8; 32],
    /// Digest of the fuel of every event (the same across runs, machines and tiers).
    pub fuel_digest: [u8; 32],
    /// Events it handled.
    pub events: u64,
    /// Actions it returned.
    pub actions: u64,
    /// Total fuel (0 when native).
    pub fuel_total: u64,
    /// Most fuel one event used, and that event's sequence number.
    pub fuel_max: (u64, u64),
    /// Fuel `init` used.
    pub init_fuel: u64,
    /// The error that halted it: the event's sequence number and the message.
    pub halted: Option<(u64, String)>,
    /// Non-fatal errors (events it refused without being halted).
    pub errors: u64,
    /// Its trading.
    pub exchange: ExchangeSummary,
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// Tape events replayed.
    pub events: u64,
    /// Events delivered to strategies (market and exchange events, over all strategies).
    pub strategy_events: u64,
    /// Wall time of the replay.
    pub elapsed_ns: u64,
    /// Tape events per second of wall time.
    pub events_per_sec: f64,
    /// The run's digest: the strategy's digest with one strategy; SHA-256 over the strategies'
    /// digests in order with several; the book digest (or the empty digest) with none.
    pub digest: [u8; 32],
    /// The run's fuel digest, combined like `digest`.
    pub fuel_digest: [u8; 32],
    /// The tier WebAssembly strategies ran on.
    pub tier: Tier,
    /// Digest of the L2 views, when asked for.
    pub book_digest: Option<[u8; 32]>,
    /// Fuel of all strategies together.
    pub fuel_total: u64,
    /// Most fuel any strategy used on one event.
    pub fuel_max_per_event: u64,
    /// Per-event latency.
    pub latency: LatencyReport,
    /// Per strategy.
    pub strategies: Vec<StrategyReport>,
    /// Per instrument: what the book could not apply exactly.
    pub book_stats: Vec<BookStats>,
    /// An [`Observer`] (a trace file) that could not record the run, if any.
    pub trace_error: Option<String>,
    /// The simulated venue's queue-position model, by name.
    pub queue_model: String,
    /// The simulated venue's latency model, by name.
    pub latency_model: String,
}

/// A finished run: the report and the latency recorder (to write `.hlog`/`.hgrm` files).
#[derive(Debug)]
pub struct RunOutput {
    /// The report.
    pub report: RunReport,
    /// The latency histograms.
    pub jitter: JitterRecorder,
    /// Each strategy's blotter, in strategy order, when [`SessionConfig::blotter`] asked for
    /// them (else empty).
    pub blotters: Vec<Blotter>,
}

pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) params: String,
    pub(crate) wasm: bool,
    pub(crate) runner: Box<dyn StrategyRunner>,
    pub(crate) exch: SimExchange,
    pub(crate) digest: Digest,
    pub(crate) seq: u64,
    pub(crate) events: u64,
    pub(crate) actions: u64,
    pub(crate) fuel_total: u64,
    pub(crate) fuel_max: (u64, u64),
    pub(crate) init_fuel: u64,
    pub(crate) init_actions: Vec<ActionRecord>,
    pub(crate) halted: Option<(u64, String)>,
    pub(crate) errors: u64,
    pub(crate) observer: Option<Box<dyn Observer>>,
}

/// A replay session. Build with `Session::new` (with `host`) or [`Session::from_runners`], then
/// `Session::run` it once, or feed it event by event with [`Session::step`] and end with
/// [`Session::finish`].
pub struct Session {
    pub(crate) view: MarketView,
    pub(crate) slots: Vec<Slot>,
    pub(crate) cfg: SessionConfig,
    pub(crate) book_digest: Option<Digest>,
    pub(crate) emitted: u64,
    /// Tape events fed so far (a resumed session starts at its checkpoint's).
    pub(crate) index: u64,
    /// Latest tape time fed.
    pub(crate) last_t: i64,
    /// [`Session::feed`] returns once this many tape events are in.
    pub(crate) stop_at: Option<u64>,
    /// The tape the session is fed from (checked when a checkpoint is resumed).
    pub(crate) header: TapeHeader,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("instruments", &self.view.books.len())
            .field("strategies", &self.slots.iter().map(|s| &s.name).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Delivers one event to a strategy; returns the fuel it used.
fn deliver(
    slot: &mut Slot,
    rec: &mut EventRecord,
    book: Option<&BookRecord>,
    now: i64,
    from_exchange: bool,
) -> u64 {
    if slot.halted.is_some() {
        return 0;
    }
    let seq = slot.seq;
    slot.seq += 1;
    slot.events += 1;
    rec.set_seq(seq);
    if from_exchange {
        slot.digest.exchange_event(rec);
    }
    // The actions are read where the runner keeps them: one copy out of the guest, none here.
    let (actions, fuel, failure) = match slot.runner.on_event(rec, book) {
        Ok(step) => (step.actions, step.fuel.unwrap_or(0), None),
        Err(e) => (&[][..], e.fuel().unwrap_or(0), Some(e)),
    };
    slot.digest.event(seq, fuel, actions);
    if let Some(o) = slot.observer.as_mut() {
        o.event(seq, fuel, rec, book, actions);
    }
    slot.fuel_total += fuel;
    if fuel > slot.fuel_max.0 {
        slot.fuel_max = (fuel, seq);
    }
    if let Some(e) = failure {
        slot.digest.halt(seq, e.code());
        if e.halts() {
            slot.halted = Some((seq, e.message().to_owned()));
        } else {
            slot.errors += 1;
        }
        return fuel;
    }
    slot.actions += actions.len() as u64;
    if let Some(e) = slot.exch.take_actions(actions, now, Some(seq)) {
        budget_halt(slot, e);
    }
    fuel
}

/// Halts `slot` because its venue reported crossing a budget (unless it is halted already).
fn budget_halt(slot: &mut Slot, e: BudgetExceeded) {
    if slot.halted.is_none() {
        let seq = e.seq.unwrap_or(0);
        slot.digest.halt(seq, e.budget.code());
        slot.halted = Some((seq, e.to_string()));
    }
}

impl Session {
    /// A session over strategies already started (their `init` has run), for a tape with
    /// `header`.
    pub fn from_runners(header: &TapeHeader, runners: Vec<RunnerSpec>, cfg: SessionConfig) -> Self {
        let n = header.instruments.len();
        let models = cfg.models.clone().unwrap_or_else(|| Models::from_config(&cfg.exchange));
        let slots = runners
            .into_iter()
            .map(|r| {
                let mut exch =
                    SimExchange::with_models(cfg.exchange, models.clone(), &header.instruments);
                exch.set_abi(r.runner.abi_version());
                if let Some(b) = cfg.blotter {
                    exch.keep_blotter(b);
                }
                Slot {
                    name: r.name,
                    params: r.params,
                    wasm: r.init_fuel.is_some(),
                    runner: r.runner,
                    exch,
                    digest: Digest::new(),
                    seq: 0,
                    events: 0,
                    actions: 0,
                    fuel_total: 0,
                    fuel_max: (0, 0),
                    init_fuel: r.init_fuel.unwrap_or(0),
                    init_actions: r.init_actions,
                    halted: None,
                    errors: 0,
                    observer: None,
                }
            })
            .collect();
        Self {
            view: MarketView::new(n),
            slots,
            book_digest: cfg.book_digest.then(Digest::new),
            cfg,
            emitted: 0,
            index: 0,
            last_t: 0,
            stop_at: None,
            header: header.clone(),
        }
    }

    /// Makes [`Session::feed`] return once `events` tape events are in (to take a
    /// [`Session::checkpoint`] there); the rest of the source is left unread.
    pub fn stop_at(&mut self, events: u64) {
        self.stop_at = Some(events);
    }

    /// Feeds the next tape event: the venue's items due before it, the event on its book, and
    /// the SDK events it yields to every strategy.
    ///
    /// # Errors
    /// [`LevelOverflow`] when the book cannot apply the event (nothing was delivered).
    pub fn step(&mut self, ev: &TapeEvent) -> Result<(), LevelOverflow> {
        self.step_with(ev, &mut NoMeter)
    }

    /// Tape events fed so far.
    pub fn events(&self) -> u64 {
        self.index
    }

    /// The book of instrument `i` as it stands.
    pub fn book(&self, i: InstrumentId) -> Option<&Book> {
        self.view.books.get(usize::from(i))
    }

    /// Strategy `s`'s trading so far, marked at the books as they stand.
    pub fn exchange_summary(&self, s: usize) -> Option<ExchangeSummary> {
        self.slots.get(s).map(|slot| slot.exch.summary(&self.view.books))
    }

    /// Strategy `s`'s resting orders (instrument, id, side, price, open quantity) in the order
    /// they are matched.
    pub fn open_orders(&self, s: usize) -> Vec<RestingOrder> {
        self.slots.get(s).map(|slot| slot.exch.resting()).unwrap_or_default()
    }

    /// The message that halted strategy `s`, if it was halted.
    pub fn halted(&self, s: usize) -> Option<&(u64, String)> {
        self.slots.get(s).and_then(|slot| slot.halted.as_ref())
    }

    /// Attaches an [`Observer`] to strategy `s` (before the first event): it sees `init` now
    /// and every call after.
    pub fn observe(&mut self, s: usize, mut observer: Box<dyn Observer>) {
        if let Some(slot) = self.slots.get_mut(s) {
            observer.init(slot.init_fuel, &slot.init_actions);
            slot.observer = Some(observer);
        }
    }

    /// The session's settings.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// Ends a run fed with [`Session::step`]: delivers what is due in the closing window and
    /// returns the report and blotters, with no wall-clock measurement (`elapsed_ns` 0).
    pub fn finish(mut self) -> RunOutput {
        let blotters = self.close(&mut NoMeter);
        let mut jitter = JitterRecorder::new(self.cfg.interval_ns);
        let latency = jitter.finish(0);
        RunOutput { report: self.into_report(0, latency), jitter, blotters }
    }

    /// Reads `src` to its end (or to [`Session::stop_at`]), feeding every event and measuring
    /// each piece of work with `meter`; `progress` gets the number of tape events done after
    /// each chunk. A resumed session skips the events its checkpoint already holds: `src`
    /// starts at the tape's first event either way.
    ///
    /// # Errors
    /// The source's [`TapeError`] (a corrupt or truncated tape), naming chunk and offset, or
    /// [`ReplayError::Book`] naming the chunk and event the book cannot apply; the replay stops
    /// there.
    pub fn feed<M: Meter>(
        &mut self,
        src: &mut dyn EventSource,
        progress: &mut dyn FnMut(u64),
        meter: &mut M,
    ) -> Result<(), ReplayError> {
        let mut buf: Vec<TapeEvent> = Vec::with_capacity(DEFAULT_CHUNK_EVENTS as usize * 2);
        let (mut chunk, mut read) = (0u64, 0u64);
        while src.next_chunk(&mut buf)? {
            // Reading and decoding the chunk is not charged to its first event.
            meter.handed();
            for (event, ev) in buf.iter().enumerate() {
                read += 1;
                if read <= self.index {
                    continue;
                }
                if self.stop_at.is_some_and(|stop| self.index >= stop) {
                    return Ok(());
                }
                let index = self.index;
                if meter.interrupted() {
                    return Err(ReplayError::Interrupted { index });
                }
                self.step_with(ev, meter).map_err(|overflow| ReplayError::Book {
                    chunk,
                    event: event as u64,
                    index,
                    instrument: ev.instrument,
                    overflow,
                })?;
            }
            progress(self.index);
            chunk += 1;
        }
        Ok(())
    }

    fn step_with<M: Meter>(&mut self, ev: &TapeEvent, meter: &mut M) -> Result<(), LevelOverflow> {
        let t = ev.local_ts.0;
        if self.index == 0 {
            self.start_strategies(t);
        }
        self.last_t = self.last_t.max(t);
        for s in 0..self.slots.len() {
            self.drain(s, t, CLASS_MARKET, meter);
        }
        let began = meter.begin(t);
        let (fuel, seq, kind) = self.market(ev)?;
        meter.end(began, Work { tape_event: self.index, seq, strategy: u32::MAX, kind, fuel });
        self.index += 1;
        Ok(())
    }

    /// Delivers what is due in the closing window after the last event (measured by `meter`)
    /// and takes the blotters.
    pub fn close<M: Meter>(&mut self, meter: &mut M) -> Vec<Blotter> {
        let close = self.last_t.saturating_add(CLOSING_WINDOW_NS);
        for s in 0..self.slots.len() {
            self.drain(s, close, CLASS_TIMER + 1, meter);
        }
        self.slots
            .iter_mut()
            .filter_map(|slot| slot.exch.take_blotter(close, &self.view.books))
            .collect()
    }

    /// Delivers what strategy `s`'s venue has due before `(t, class)`, in the venue's order.
    fn drain<M: Meter>(&mut self, s: usize, t: i64, class: u8, meter: &mut M) {
        // An interrupted run stops between two deliveries; `feed` then reports it.
        while !meter.interrupted() {
            let slot = &mut self.slots[s];
            let next_seq = slot.seq;
            let Some(due) = slot.exch.poll((t, class), next_seq, &self.view.books) else { break };
            let (time, instrument, exchange_ts, body) = match due {
                Due::Halt(e) => {
                    budget_halt(slot, e);
                    continue;
                }
                Due::Event { time, instrument, exchange_ts, body } => {
                    (time, instrument, exchange_ts, body)
                }
            };
            let began = meter.begin(time);
            let h = EventHeader {
                seq: 0,
                instrument,
                exchange_ts: Nanos(exchange_ts),
                local_ts: Nanos(time),
            };
            let mut rec = Event { h, body }.encode();
            let fuel = deliver(slot, &mut rec, None, time, true);
            meter.end(
                began,
                Work {
                    tape_event: u64::MAX,
                    seq: next_seq,
                    strategy: s as u32,
                    kind: rec.kind(),
                    fuel,
                },
            );
        }
    }

    /// Applies one tape event and, at the end of its batch, delivers the resulting SDK events.
    /// Returns the fuel used, the first strategy's sequence number and the first kind.
    ///
    /// # Errors
    /// [`LevelOverflow`] when the book cannot apply the event (nothing was delivered).
    fn market(&mut self, ev: &TapeEvent) -> Result<(u64, u64, u16), LevelOverflow> {
        let ii = usize::from(ev.instrument);
        let t = ev.local_ts.0;
        for slot in &mut self.slots {
            slot.exch.advance(t, &self.view.books);
        }
        let a = self.view.apply(ev)?;
        for slot in &mut self.slots {
            slot.exch.note_tape_times(ev.instrument, ev.exchange_ts.0, t);
            slot.exch.on_market(ev.instrument, &a, t, &self.view.books[ii]);
        }
        if !self.view.end_batch(ev) {
            return Ok((0, u64::MAX, 0));
        }
        let first_seq = self
            .slots
            .first()
            .map_or(u64::MAX, |s| if s.halted.is_none() { s.seq } else { u64::MAX });
        let kind = self.view.emits().first().map_or(0, |e| e.rec.kind());
        let mut fuel = 0;
        for e in self.view.emits() {
            if let Some(d) = self.book_digest.as_mut() {
                let mut r = e.rec;
                r.set_seq(self.emitted);
                d.bytes(&r.0);
                if let Some(i) = e.book {
                    d.bytes(&self.view.record(i).0);
                }
            }
            self.emitted += 1;
            for slot in &mut self.slots {
                let mut rec = e.rec;
                let book = e.book.map(|i| self.view.record(i));
                fuel += deliver(slot, &mut rec, book, t, false);
            }
        }
        self.view.clear();
        Ok((fuel, if kind == 0 { u64::MAX } else { first_seq }, kind))
    }

    /// Digests and schedules what the strategies' `init` did, at the first event's time.
    fn start_strategies(&mut self, t: i64) {
        for slot in &mut self.slots {
            slot.digest.event(u64::MAX, slot.init_fuel, &slot.init_actions);
            if let Some(e) = slot.exch.take_actions(&slot.init_actions, t, None) {
                budget_halt(slot, e);
            }
        }
    }

    /// The report of a finished run that took `elapsed_ns` of wall time (0: not measured).
    pub fn into_report(self, elapsed_ns: u64, latency: LatencyReport) -> RunReport {
        let events = self.index;
        let mut trace_error = None;
        let mut strategies = Vec::with_capacity(self.slots.len());
        for slot in self.slots {
            if let Some(o) = slot.observer
                && let Err(e) = o.finish()
            {
                trace_error = Some(format!("trace of {}: {e}", slot.name));
            }
            let (digest, fuel_digest) = slot.digest.finish_with_fuel();
            strategies.push(StrategyReport {
                exchange: slot.exch.summary(&self.view.books),
                name: slot.name,
                params: slot.params,
                wasm: slot.wasm,
                tier: slot.wasm.then_some(self.cfg.tier),
                digest,
                fuel_digest,
                events: slot.events,
                actions: slot.actions,
                fuel_total: slot.fuel_total,
                fuel_max: slot.fuel_max,
                init_fuel: slot.init_fuel,
                halted: slot.halted,
                errors: slot.errors,
            });
        }
        let book_digest = self.book_digest.map(Digest::finish);
        let digest = match strategies.len() {
            0 => book_digest.unwrap_or_else(|| Digest::new().finish()),
            1 => strategies[0].digest,
            _ => combine(strategies.iter().map(|s| &s.digest)),
        };
        let fuel_digest = match strategies.len() {
            0 => Digest::new().finish_with_fuel().1,
            1 => strategies[0].fuel_digest,
            _ => combine(strategies.iter().map(|s| &s.fuel_digest)),
        };
        RunReport {
            events,
            strategy_events: strategies.iter().map(|s| s.events).sum(),
            elapsed_ns,
            events_per_sec: if elapsed_ns == 0 {
                0.0
            } else {
                events as f64 * 1e9 / elapsed_ns as f64
            },
            digest,
            fuel_digest,
            tier: self.cfg.tier,
            book_digest,
            fuel_total: strategies.iter().map(|s| s.fuel_total).sum(),
            fuel_max_per_event: strategies.iter().map(|s| s.fuel_max.0).max().unwrap_or(0),
            latency,
            strategies,
            book_stats: self.view.books.iter().map(Book::stats).collect(),
            trace_error,
            queue_model: self
                .cfg
                .models
                .as_ref()
                .map_or_else(|| crate::QueuePosition::name(&crate::FifoQueue), Models::queue_name),
            latency_model: self.cfg.models.as_ref().map_or_else(
                || crate::Latency::name(&self.cfg.exchange.latency),
                Models::latency_name,
            ),
        }
    }
}
