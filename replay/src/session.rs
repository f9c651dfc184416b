//! A replay session: the books, the feeder, the strategies and their simulated exchanges, the
//! digest and the latency recorder, driven by one event source on one thread.
//!
//! For each tape event, in order: exchange items due before it are processed (orders arriving,
//! answers and timers delivered); the event is applied to its instrument's book; each
//! strategy's simulated exchange updates queue positions and fills; and when the source
//! message's batch ends, the strategies receive SDK events for it: `Trade` for each execution,
//! `Quote` for a quote, then `Book` (with the L2 view) if the top levels changed. Each strategy
//! numbers the events it receives itself (`seq` from 0), so its digest does not depend on which
//! other strategies share the session.

use crate::blotter::{Blotter, BlotterConfig};
use crate::book::{Book, BookStats, LevelOverflow};
use crate::digest::{Digest, combine};
use crate::exchange::{
    CLASS_MARKET, CLASS_TIMER, ExchangeConfig, ExchangeSummary, Pending, SimExchange,
};
use crate::jitter::{JitterRecorder, LatencyReport, WorstEvent};
use crate::tape::{EventSource, TapeError, TapeEvent, TapeHeader};
use crate::timing::Clock;
use crate::trace::TraceWriter;
use lockstep_engine::{Config, Engine, Fuel, StrategyModule, StrategyRunner, Tier};
use lockstep_sdk::{
    ActionRecord, BookRecord, Event, EventBody, EventHeader, EventRecord, InstrumentId, Nanos,
};
use lockstep_strategies::StrategyInfo;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// After the tape ends, pending answers and timers are still delivered for this long (on the
/// tape's clock).
pub const CLOSING_WINDOW_NS: i64 = 1_000_000_000;

/// Where a strategy comes from.
#[derive(Clone)]
pub enum StrategySource {
    /// A built-in strategy, run as WebAssembly.
    Builtin(&'static StrategyInfo),
    /// A built-in strategy's native build (not fuel-metered).
    Native(&'static StrategyInfo),
    /// A `.wasm` file.
    WasmFile {
        /// Where it was read from.
        path: PathBuf,
        /// Its bytes.
        bytes: Arc<[u8]>,
    },
}

impl fmt::Debug for StrategySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrategySource::Builtin(i) => write!(f, "Builtin({})", i.name),
            StrategySource::Native(i) => write!(f, "Native({})", i.name),
            StrategySource::WasmFile { path, bytes } => {
                write!(f, "WasmFile({}, {} bytes)", path.display(), bytes.len())
            }
        }
    }
}

/// A strategy to run and its parameters.
#[derive(Clone, Debug)]
pub struct StrategySpec {
    /// Name in reports (catalog name, or the file stem of a `.wasm` file).
    pub name: String,
    /// Where it comes from.
    pub source: StrategySource,
    /// Parameter text (`key=value;...`).
    pub params: String,
}

impl StrategySpec {
    /// A built-in name or a path to a `.wasm` file; `params` default to the built-in's
    /// defaults (empty for files). `native` picks the native build of a built-in.
    ///
    /// # Errors
    /// [`SessionError`] for an unknown name, an unreadable file, or `native` with a file.
    pub fn resolve(arg: &str, params: Option<&str>, native: bool) -> Result<Self, SessionError> {
        let looks_like_file = arg.ends_with(".wasm") || arg.contains('/') || arg.contains('\\');
        if !looks_like_file && let Some(info) = lockstep_strategies::get(arg) {
            return Ok(Self {
                name: info.name.to_owned(),
                source: if native {
                    StrategySource::Native(info)
                } else {
                    StrategySource::Builtin(info)
                },
                params: params.unwrap_or(info.default_params).to_owned(),
            });
        }
        if !looks_like_file {
            return Err(SessionError::UnknownStrategy {
                name: arg.to_owned(),
                known: lockstep_strategies::names().collect::<Vec<_>>().join(", "),
            });
        }
        let path = PathBuf::from(arg);
        if native {
            return Err(SessionError::NativeFile { path });
        }
        let bytes = read_module(&path)?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("wasm");
        let name = lockstep_sdk::untrusted(name).max_chars(64).to_string();
        Ok(Self {
            name,
            source: StrategySource::WasmFile { path, bytes: bytes.into() },
            params: params.unwrap_or("").to_owned(),
        })
    }
}

/// Largest `.wasm` file read: the engine's default module limit. The read stops one byte past
/// it, so `--strategy /dev/zero` fails at once instead of filling memory.
pub const MAX_MODULE_BYTES: u64 = 4 << 20;

fn read_module(path: &Path) -> Result<Vec<u8>, SessionError> {
    use std::io::Read;
    let err = |source| SessionError::ReadWasm { path: path.to_path_buf(), source };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_MODULE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(err)?;
    if bytes.len() as u64 > MAX_MODULE_BYTES {
        return Err(err(std::io::Error::other(format!(
            "larger than {MAX_MODULE_BYTES} bytes, the most a strategy module may be"
        ))));
    }
    Ok(bytes)
}

/// Why a session could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionError {
    /// No built-in strategy has this name.
    UnknownStrategy {
        /// The name given.
        name: String,
        /// The built-in names.
        known: String,
    },
    /// A `.wasm` file could not be read.
    ReadWasm {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `--native` was asked for a `.wasm` file.
    NativeFile {
        /// The file.
        path: PathBuf,
    },
    /// The engine refused the module or its parameters.
    Load {
        /// The strategy.
        name: String,
        /// The engine's error.
        source: lockstep_engine::Error,
    },
    /// The engine of the chosen tier cannot be built here.
    Engine {
        /// The engine's error.
        source: lockstep_engine::Error,
    },
    /// A native strategy refused its parameters.
    Init {
        /// The strategy.
        name: String,
        /// Its message.
        message: String,
    },
    /// A trace file could not be created.
    Trace {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::UnknownStrategy { name, known } => write!(
                f,
                "`{name}` is neither a built-in strategy nor a .wasm file; built-ins: {known}"
            ),
            SessionError::ReadWasm { path, source } => {
                write!(f, "cannot read strategy module {}: {source}", path.display())
            }
            SessionError::NativeFile { path } => write!(
                f,
                "--native runs a built-in strategy's native build; {} is a .wasm file",
                path.display()
            ),
            SessionError::Load { name, source } => write!(f, "strategy `{name}`: {source}"),
            SessionError::Engine { source } => write!(f, "{source}"),
            SessionError::Init { name, message } => write!(
                f,
                "strategy `{name}` refused its parameters: {}",
                lockstep_sdk::untrusted(message)
            ),
            SessionError::Trace { path, source } => {
                write!(f, "cannot create trace {}: {source}", path.display())
            }
        }
    }
}

// Display already carries the underlying error, so `source` is left empty: reporting the
// chain as well (anyhow's `{:#}`) would print it twice.
impl std::error::Error for SessionError {}

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
    /// The engine tier that runs WebAssembly strategies (native builds ignore it).
    pub tier: Tier,
    /// Fuel each strategy event may use.
    pub fuel_per_event: u64,
    /// The simulated exchange.
    pub exchange: ExchangeConfig,
    /// How fast to replay.
    pub pacing: Pacing,
    /// Wall-clock length of one `.hlog` interval.
    pub interval_ns: u64,
    /// Also compute a digest of the book views (for book-only replays).
    pub book_digest: bool,
    /// Write a trace per strategy into this directory (`<index>-<name>.trace`).
    pub trace_dir: Option<PathBuf>,
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
            pacing: Pacing::AsFastAsPossible,
            interval_ns: 1_000_000_000,
            book_digest: false,
            trace_dir: None,
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
    /// Digest of the fuel of every event (the same across runs and machines within a tier).
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
    /// A trace file that could not be written, if any.
    pub trace_error: Option<String>,
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

struct Slot {
    name: String,
    params: String,
    wasm: bool,
    runner: Box<dyn StrategyRunner>,
    exch: SimExchange,
    digest: Digest,
    seq: u64,
    events: u64,
    actions: u64,
    fuel_total: u64,
    fuel_max: (u64, u64),
    init_fuel: u64,
    init_actions: Vec<ActionRecord>,
    halted: Option<(u64, String)>,
    errors: u64,
    scratch: Vec<ActionRecord>,
    trace: Option<TraceWriter>,
}

#[derive(Clone, Copy)]
struct Emit {
    rec: EventRecord,
    book: Option<InstrumentId>,
}

/// A replay session. Build with [`Session::new`], then [`Session::run`] it once.
pub struct Session {
    books: Vec<Book>,
    records: Vec<BookRecord>,
    dirty: Vec<InstrumentId>,
    is_dirty: Vec<bool>,
    slots: Vec<Slot>,
    emits: Vec<Emit>,
    cfg: SessionConfig,
    jitter: JitterRecorder,
    book_digest: Option<Digest>,
    emitted: u64,
    /// Clock reading when the last piece of work finished: the next event's hand-over time.
    handed: u64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("instruments", &self.books.len())
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
    let failure = match slot.runner.on_event(rec, book) {
        Ok(acts) => {
            slot.scratch.clear();
            slot.scratch.extend_from_slice(acts);
            None
        }
        Err(e) => {
            slot.scratch.clear();
            Some((e.halts(), e.code(), e.to_string()))
        }
    };
    let fuel = slot.runner.last_fuel().map_or(0, |f: Fuel| f.0);
    slot.digest.event(seq, fuel, &slot.scratch);
    if let Some(t) = slot.trace.as_mut() {
        t.event(seq, fuel, rec, &slot.scratch);
    }
    slot.fuel_total += fuel;
    if fuel > slot.fuel_max.0 {
        slot.fuel_max = (fuel, seq);
    }
    if let Some((halts, code, msg)) = failure {
        slot.digest.halt(seq, code);
        if halts {
            slot.halted = Some((seq, msg));
        } else {
            slot.errors += 1;
        }
        return fuel;
    }
    slot.actions += slot.scratch.len() as u64;
    slot.exch.check_actions(slot.scratch.len(), now);
    for a in &slot.scratch {
        match a.decode() {
            Ok(act) => slot.exch.action(act, now),
            Err(_) => slot.exch.stats.invalid_actions += 1,
        }
    }
    budget_halt(slot, Some(seq));
    fuel
}

/// Halts `slot` if its simulated exchange crossed a venue budget (at event `seq`; `None`:
/// in `init`); whether it did.
fn budget_halt(slot: &mut Slot, seq: Option<u64>) -> bool {
    let Some(e) = slot.exch.crossed(seq) else { return false };
    if slot.halted.is_none() {
        let seq = seq.unwrap_or(0);
        let msg = e.to_string();
        slot.digest.halt(seq, e.budget.code());
        slot.halted = Some((seq, msg));
    }
    true
}

impl Session {
    /// Loads the strategies (one wasmi engine for the session) for a tape with `header`.
    ///
    /// # Errors
    /// [`SessionError`] if a strategy cannot be loaded or refuses its parameters.
    pub fn new(
        header: &TapeHeader,
        specs: &[StrategySpec],
        cfg: SessionConfig,
    ) -> Result<Self, SessionError> {
        let mut config = Config::new();
        config.tier(cfg.tier).fuel_per_event(Fuel(cfg.fuel_per_event));
        let engine = Engine::try_new(&config).map_err(|source| SessionError::Engine { source })?;
        let n = header.instruments.len();
        let mut slots = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let load = |e| SessionError::Load { name: spec.name.clone(), source: e };
            let (runner, wasm): (Box<dyn StrategyRunner>, bool) = match &spec.source {
                StrategySource::Builtin(info) => {
                    let m = StrategyModule::new(&engine, info.wasm).map_err(load)?;
                    (Box::new(m.instantiate(&spec.params).map_err(load)?), true)
                }
                StrategySource::WasmFile { bytes, .. } => {
                    let m = StrategyModule::new(&engine, bytes).map_err(load)?;
                    (Box::new(m.instantiate(&spec.params).map_err(load)?), true)
                }
                StrategySource::Native(info) => (
                    info.native(&spec.params).map_err(|e| SessionError::Init {
                        name: spec.name.clone(),
                        message: e.to_string(),
                    })?,
                    false,
                ),
            };
            let trace = match &cfg.trace_dir {
                Some(dir) => {
                    let path = trace_path(dir, i, &spec.name);
                    Some(
                        TraceWriter::create(&path)
                            .map_err(|source| SessionError::Trace { path, source })?,
                    )
                }
                None => None,
            };
            let init_fuel = runner.last_fuel().map_or(0, |f| f.0);
            let init_actions = runner.actions().to_vec();
            let mut exch = SimExchange::new(cfg.exchange, &header.instruments);
            if let Some(b) = cfg.blotter {
                exch.keep_blotter(b);
            }
            slots.push(Slot {
                name: spec.name.clone(),
                params: spec.params.clone(),
                wasm,
                runner,
                exch,
                digest: Digest::new(),
                seq: 0,
                events: 0,
                actions: 0,
                fuel_total: 0,
                fuel_max: (0, 0),
                init_fuel,
                init_actions,
                halted: None,
                errors: 0,
                scratch: Vec::with_capacity(1024),
                trace,
            });
        }
        Ok(Self {
            books: (0..n).map(|_| Book::new()).collect(),
            records: vec![BookRecord::default(); n],
            dirty: Vec::with_capacity(n),
            is_dirty: vec![false; n],
            slots,
            emits: Vec::with_capacity(64),
            jitter: JitterRecorder::new(cfg.interval_ns),
            book_digest: cfg.book_digest.then(Digest::new),
            cfg,
            emitted: 0,
            handed: 0,
        })
    }

    /// Processes a strategy's pending exchange items that come before `(t, class)`.
    fn drain(&mut self, s: usize, t: i64, class: u8, clock: &Clock, pace: Option<(f64, u64, i64)>) {
        while let Some(k) = self.slots[s].exch.peek() {
            if k >= (t, class) {
                break;
            }
            self.slots[s].exch.advance(k.0, &self.books);
            let Some(item) = self.slots[s].exch.pop() else { break };
            let next_seq = Some(self.slots[s].seq);
            if budget_halt(&mut self.slots[s], next_seq) {
                continue;
            }
            let (instrument, exchange_ts, body) = match item.what {
                Pending::Arrive(a) => {
                    self.slots[s].exch.arrive(a, item.time, &self.books);
                    budget_halt(&mut self.slots[s], next_seq);
                    continue;
                }
                Pending::Deliver { instrument, exchange_ts, body } => {
                    (instrument, exchange_ts, body)
                }
                Pending::Timer(id) => (0, item.time, EventBody::Timer(id)),
            };
            let measure = self.cfg.measure_latency;
            let began = if measure { start_time(clock, pace, item.time, self.handed) } else { 0 };
            let h = EventHeader {
                seq: 0,
                instrument,
                exchange_ts: Nanos(exchange_ts),
                local_ts: Nanos(item.time),
            };
            let mut rec = Event { h, body }.encode();
            let seq = self.slots[s].seq;
            let fuel = deliver(&mut self.slots[s], &mut rec, None, item.time, true);
            if !measure {
                continue;
            }
            let end = clock.now();
            self.jitter.record(WorstEvent {
                latency_ns: end.saturating_sub(began),
                tape_event: u64::MAX,
                seq,
                strategy: s as u32,
                kind: rec.kind(),
                fuel,
            });
            self.jitter.tick(end);
            self.handed = end;
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
            slot.exch.advance(t, &self.books);
        }
        let a = self.books[ii].try_apply(&ev.msg)?;
        for slot in &mut self.slots {
            slot.exch.on_market(ev.instrument, &a, t, &self.books[ii]);
        }
        let h = EventHeader {
            seq: 0,
            instrument: ev.instrument,
            exchange_ts: ev.exchange_ts,
            local_ts: ev.local_ts,
        };
        if let Some(tr) = a.trade {
            self.emits
                .push(Emit { rec: Event { h, body: EventBody::Trade(tr) }.encode(), book: None });
        }
        if let Some(q) = a.quote {
            self.emits
                .push(Emit { rec: Event { h, body: EventBody::Quote(q) }.encode(), book: None });
        }
        if a.top && !self.is_dirty[ii] {
            self.is_dirty[ii] = true;
            self.dirty.push(ev.instrument);
        }
        if ev.more() && self.emits.len() + 3 <= self.emits.capacity() {
            return Ok((0, u64::MAX, 0));
        }
        for k in 0..self.dirty.len() {
            let ins = self.dirty[k];
            let i = usize::from(ins);
            self.is_dirty[i] = false;
            let top = self.books[i].write_record(ins, &mut self.records[i]);
            let h = EventHeader { instrument: ins, ..h };
            self.emits.push(Emit {
                rec: Event { h, body: EventBody::Book(top) }.encode(),
                book: Some(ins),
            });
        }
        self.dirty.clear();
        let first_seq = self
            .slots
            .first()
            .map_or(u64::MAX, |s| if s.halted.is_none() { s.seq } else { u64::MAX });
        let kind = self.emits.first().map_or(0, |e| e.rec.kind());
        let mut fuel = 0;
        for e in &self.emits {
            if let Some(d) = self.book_digest.as_mut() {
                let mut r = e.rec;
                r.set_seq(self.emitted);
                d.bytes(&r.0);
                if let Some(i) = e.book {
                    d.bytes(&self.records[usize::from(i)].0);
                }
            }
            self.emitted += 1;
            for slot in &mut self.slots {
                let mut rec = e.rec;
                let book = e.book.map(|i| &self.records[usize::from(i)]);
                fuel += deliver(slot, &mut rec, book, t, false);
            }
        }
        self.emits.clear();
        Ok((fuel, if kind == 0 { u64::MAX } else { first_seq }, kind))
    }

    /// Replays `src` to its end, calling `progress` with the number of tape events done after
    /// each chunk.
    ///
    /// # Errors
    /// The source's [`TapeError`] (a corrupt or truncated tape), naming chunk and offset, or
    /// [`TapeError::Book`] naming the chunk and event the book cannot apply (a level's total
    /// quantity would overflow); the replay stops there.
    pub fn run(
        mut self,
        src: &mut dyn EventSource,
        progress: &mut dyn FnMut(u64),
    ) -> Result<RunOutput, TapeError> {
        let clock = Clock::start();
        let mut buf: Vec<TapeEvent> =
            Vec::with_capacity(crate::tape::DEFAULT_CHUNK_EVENTS as usize * 2);
        let mut index = 0u64;
        let mut pace: Option<(f64, u64, i64)> = None;
        let mut last_t = 0i64;
        let start = clock.now();
        let mut chunk = 0u64;
        while src.next_chunk(&mut buf)? {
            // Reading and decoding the chunk is not charged to its first event.
            self.handed = clock.now();
            for (event, ev) in buf.iter().enumerate() {
                let refused = |overflow| TapeError::Book {
                    chunk,
                    event: event as u64,
                    index,
                    instrument: ev.instrument,
                    overflow,
                };
                let t = ev.local_ts.0;
                if index == 0 {
                    if let Pacing::Paced { speed } = self.cfg.pacing
                        && speed > 0.0
                        && self.cfg.measure_latency
                    {
                        pace = Some((speed, clock.now(), t));
                    }
                    self.start_strategies(t);
                }
                last_t = last_t.max(t);
                for s in 0..self.slots.len() {
                    self.drain(s, t, CLASS_MARKET, &clock, pace);
                }
                if !self.cfg.measure_latency {
                    self.market(ev).map_err(refused)?;
                    index += 1;
                    continue;
                }
                let began = start_time(&clock, pace, t, self.handed);
                let (fuel, seq, kind) = self.market(ev).map_err(refused)?;
                let end = clock.now();
                self.jitter.record(WorstEvent {
                    latency_ns: end.saturating_sub(began),
                    tape_event: index,
                    seq,
                    strategy: u32::MAX,
                    kind,
                    fuel,
                });
                self.jitter.tick(end);
                self.handed = end;
                index += 1;
            }
            progress(index);
            chunk += 1;
        }
        let close = last_t.saturating_add(CLOSING_WINDOW_NS);
        for s in 0..self.slots.len() {
            self.drain(s, close, CLASS_TIMER + 1, &clock, pace);
        }
        let blotters = self
            .slots
            .iter_mut()
            .filter_map(|slot| slot.exch.take_blotter(close, &self.books))
            .collect();
        let elapsed_ns = clock.now().saturating_sub(start).max(1);
        let latency = self.jitter.finish(clock.now());
        let mut out = self.report(index, elapsed_ns, latency);
        out.blotters = blotters;
        Ok(out)
    }

    /// Digests and schedules what the strategies' `init` did, at the first event's time.
    fn start_strategies(&mut self, t: i64) {
        for slot in &mut self.slots {
            slot.digest.event(u64::MAX, slot.init_fuel, &slot.init_actions);
            slot.exch.check_actions(slot.init_actions.len(), t);
            for a in &slot.init_actions {
                match a.decode() {
                    Ok(act) => slot.exch.action(act, t),
                    Err(_) => slot.exch.stats.invalid_actions += 1,
                }
            }
            budget_halt(slot, None);
        }
    }

    fn report(self, events: u64, elapsed_ns: u64, latency: LatencyReport) -> RunOutput {
        let mut trace_error = None;
        let mut strategies = Vec::with_capacity(self.slots.len());
        for slot in self.slots {
            if let Some(t) = slot.trace
                && let Err(e) = t.finish()
            {
                trace_error = Some(format!("trace of {}: {e}", slot.name));
            }
            let (digest, fuel_digest) = slot.digest.finish_with_fuel();
            strategies.push(StrategyReport {
                exchange: slot.exch.summary(&self.books),
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
        let report = RunReport {
            events,
            strategy_events: strategies.iter().map(|s| s.events).sum(),
            elapsed_ns,
            events_per_sec: events as f64 * 1e9 / elapsed_ns as f64,
            digest,
            fuel_digest,
            tier: self.cfg.tier,
            book_digest,
            fuel_total: strategies.iter().map(|s| s.fuel_total).sum(),
            fuel_max_per_event: strategies.iter().map(|s| s.fuel_max.0).max().unwrap_or(0),
            latency,
            strategies,
            book_stats: self.books.iter().map(Book::stats).collect(),
            trace_error,
        };
        RunOutput { report, jitter: self.jitter, blotters: Vec::new() }
    }
}

/// When an event at tape time `t` starts: when it was handed over, i.e. when the previous work
/// finished (as fast as possible), or when it is due (paced, waiting for it if early). Either
/// way a stall delays the start of what follows, so it shows in their latency too.
#[inline]
fn start_time(clock: &Clock, pace: Option<(f64, u64, i64)>, t: i64, handed: u64) -> u64 {
    match pace {
        None => handed,
        Some((speed, origin, t0)) => {
            let due = origin.saturating_add(((t.saturating_sub(t0)).max(0) as f64 / speed) as u64);
            clock.spin_until(due);
            due
        }
    }
}

/// The trace file a session writes for strategy `index` named `name` under `dir`.
pub fn trace_path(dir: &Path, index: usize, name: &str) -> PathBuf {
    dir.join(format!("{index}-{name}.trace"))
}
