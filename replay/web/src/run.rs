//! One replay run for the page: a [`Session`] over the embedded synthetic market or a tape held
//! in memory, each strategy a [`StrategyRunner`] (the module in the browser's own engine, or a
//! native build in tests), fed a few thousand events at a time so the page can
//! draw between steps, with a [`Snapshot`] of what the first strategy sees.

use lockstep_sdk::{
    Action, ActionRecord, BookRecord, EventBody, EventRecord, InstrumentId, Nanos, Price, Qty,
    RunError, Side, Step, StrategyRunner,
};
use lockstep_sim::{
    EventSource, RestingOrder, RunnerSpec, Session, SessionConfig, Synth, SynthConfig, TapeError,
    TapeEvent, TapeHeader, TapeReader, hex,
};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The engine's stable code for a guest's "undecodable event" status: the only failure that
/// refuses one event without halting the strategy (see `lockstep_engine::Error::halts`).
pub const CODE_BAD_EVENT: u16 = 17 << 8 | 3;

/// Settings of a run, as the page sends them (JSON).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Events of the synthetic market (ignored with a tape); default 200,000, as the CLI.
    #[serde(default = "default_events")]
    pub events: u64,
    /// Seed of the synthetic market; default the CLI's.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The strategies, in the order their guests are given.
    pub strategies: Vec<StrategyConfig>,
    /// Instrument shown in snapshots; default 0.
    #[serde(default)]
    pub show: InstrumentId,
    /// Most recent trades, fills and actions a snapshot lists; default 30.
    #[serde(default = "default_keep")]
    pub keep: usize,
}

/// One strategy of a [`RunConfig`].
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Name in the result.
    pub name: String,
    /// Parameter text it was started with.
    #[serde(default)]
    pub params: String,
}

fn default_events() -> u64 {
    lockstep_sim::DEFAULT_SYNTH_EVENTS
}
fn default_seed() -> u64 {
    lockstep_sim::DEFAULT_SYNTH_SEED
}
fn default_keep() -> usize {
    30
}

/// Most list entries a snapshot may ask for.
const MAX_KEEP: usize = 1000;

/// Why a run could not start or go on.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebError {
    /// The settings are not valid JSON for a [`RunConfig`].
    Config(serde_json::Error),
    /// The number of guests does not match the strategies in the settings.
    Guests {
        /// Strategies in the settings.
        expected: usize,
        /// Guests given.
        got: usize,
    },
    /// The tape is not a valid tape, or is corrupt where the replay reached.
    Tape(TapeError),
    /// The book could not apply a tape event.
    Book {
        /// Index of the event on the tape.
        index: u64,
        /// What overflowed.
        message: String,
    },
    /// [`WebRun::step`] or [`WebRun::finish`] after the run was finished.
    Finished,
}

impl fmt::Display for WebError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebError::Config(e) => write!(
                f,
                "run settings are not valid: {e}; expected {{\"strategies\":[{{\"name\":…,\"params\":…}}],\"events\":N,\"seed\":N}}"
            ),
            WebError::Guests { expected, got } => {
                write!(f, "{expected} strategies in the settings but {got} modules were loaded")
            }
            WebError::Tape(e) => write!(f, "tape: {e}"),
            WebError::Book { index, message } => {
                write!(f, "tape event {index}: the book cannot apply it: {message}")
            }
            WebError::Finished => f.write_str("the run is finished; open a new one"),
        }
    }
}

impl std::error::Error for WebError {}

/// What the page shows of the first strategy: recent trades on the tape, its actions and
/// fills, bounded by [`RunConfig::keep`].
#[derive(Debug, Default)]
struct Log {
    keep: usize,
    /// Instrument whose trades are kept.
    show: InstrumentId,
    trades: VecDeque<TradeView>,
    fills: VecDeque<FillView>,
    actions: VecDeque<ActionView>,
    rejects: u64,
}

impl Log {
    fn push<T>(q: &mut VecDeque<T>, keep: usize, v: T) {
        if keep == 0 {
            return;
        }
        if q.len() == keep {
            q.pop_front();
        }
        q.push_back(v);
    }

    fn saw(&mut self, ev: &EventRecord, actions: &[ActionRecord]) {
        let Ok(e) = ev.decode() else { return };
        let t = e.h.local_ts;
        match e.body {
            EventBody::Trade(tr) if e.h.instrument == self.show => Self::push(
                &mut self.trades,
                self.keep,
                TradeView {
                    t: t.0,
                    instrument: e.h.instrument,
                    px: tr.px.to_string(),
                    qty: tr.qty.to_string(),
                    side: tr.aggressor.map(side_name),
                },
            ),
            EventBody::Fill(fl) => Self::push(
                &mut self.fills,
                self.keep,
                FillView {
                    t: t.0,
                    instrument: e.h.instrument,
                    id: fl.order_id,
                    side: side_name(fl.side),
                    px: fl.px.to_string(),
                    qty: fl.qty.to_string(),
                    leaves: fl.leaves.to_string(),
                },
            ),
            EventBody::Reject(_) => self.rejects += 1,
            _ => {}
        }
        for a in actions {
            if let Ok(a) = a.decode() {
                Self::push(&mut self.actions, self.keep, ActionView::new(t, &a));
            }
        }
    }
}

fn side_name(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// A trade on the tape.
#[derive(Clone, Debug, Serialize)]
pub struct TradeView {
    /// Local time, ns.
    pub t: i64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Price.
    pub px: String,
    /// Quantity.
    pub qty: String,
    /// Aggressor side, when the source says.
    pub side: Option<&'static str>,
}

/// One of the strategy's fills.
#[derive(Clone, Debug, Serialize)]
pub struct FillView {
    /// Local time, ns.
    pub t: i64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Order id.
    pub id: u64,
    /// Side.
    pub side: &'static str,
    /// Price.
    pub px: String,
    /// Quantity filled.
    pub qty: String,
    /// Quantity still open.
    pub leaves: String,
}

/// One of the strategy's actions.
#[derive(Clone, Debug, Serialize)]
pub struct ActionView {
    /// Local time of the event it answered, ns.
    pub t: i64,
    /// `place` (limit orders of any time in force), `market`, `cancel`, `replace`, `timer` or
    /// `signal`.
    pub kind: &'static str,
    /// A short description.
    pub what: String,
}

impl ActionView {
    fn new(t: Nanos, a: &Action) -> Self {
        let (kind, what) = match *a {
            Action::PlaceLimit { order_id, side, px, qty, .. } => {
                ("place", format!("#{} {} {qty} @ {px}", order_id, side_name(side)))
            }
            Action::PlaceOrder { order_id, side, px, qty, tif, .. } => {
                ("place", format!("#{} {} {qty} @ {px} {}", order_id, side_name(side), tif.name()))
            }
            Action::PlaceMarket { order_id, side, qty, .. } => {
                ("market", format!("#{} {} {qty}", order_id, side_name(side)))
            }
            Action::Cancel { order_id, .. } => ("cancel", format!("#{}", order_id)),
            Action::Replace { order_id, px, qty, .. } => {
                ("replace", format!("#{} {qty} @ {px}", order_id))
            }
            Action::SetTimer { timer_id, at } => ("timer", format!("#{timer_id} at {} ns", at.0)),
            Action::Signal { id, value, .. } => ("signal", format!("#{id} = {}", Price(value))),
        };
        Self { t: t.0, kind, what }
    }
}

/// One level of the ladder.
#[derive(Clone, Debug, Serialize)]
pub struct LevelView {
    /// Price.
    pub px: String,
    /// Quantity.
    pub qty: String,
}

/// One resting order.
#[derive(Clone, Debug, Serialize)]
pub struct OrderView {
    /// Order id.
    pub id: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: &'static str,
    /// Limit price.
    pub px: String,
    /// Open quantity.
    pub leaves: String,
    /// Quantity ahead in the queue.
    pub ahead: String,
}

impl From<RestingOrder> for OrderView {
    fn from(o: RestingOrder) -> Self {
        Self {
            id: o.id,
            instrument: o.instrument,
            side: side_name(o.side),
            px: o.price.to_string(),
            leaves: o.leaves.to_string(),
            ahead: o.ahead.to_string(),
        }
    }
}

/// The state of a run for the page to draw.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// Tape events replayed.
    pub events: u64,
    /// Local time of the last event, ns.
    pub t: i64,
    /// Symbol of the instrument shown.
    pub symbol: String,
    /// Its bids, best first (up to 10).
    pub bids: Vec<LevelView>,
    /// Its asks, best first (up to 10).
    pub asks: Vec<LevelView>,
    /// Recent trades on the tape in the instrument shown.
    pub trades: Vec<TradeView>,
    /// The first strategy's resting orders.
    pub orders: Vec<OrderView>,
    /// Its recent fills.
    pub fills: Vec<FillView>,
    /// Its recent actions.
    pub actions: Vec<ActionView>,
    /// Its fills so far.
    pub fill_count: u64,
    /// Rejects it received.
    pub rejects: u64,
    /// Its net position in the instrument shown.
    pub position: String,
    /// Its PnL over all instruments (decimal text), marked at the books as they stand.
    pub pnl: String,
    /// Why it was halted, if it was.
    pub halted: Option<String>,
    /// Whether the tape is done.
    pub done: bool,
}

/// One strategy's result.
#[derive(Clone, Debug, Serialize)]
pub struct StrategyResult {
    /// Name.
    pub name: String,
    /// Parameters.
    pub params: String,
    /// Its digest: every action, exchange event and halt (hex).
    pub digest: String,
    /// Events it handled.
    pub events: u64,
    /// Actions it returned.
    pub actions: u64,
    /// Fills.
    pub fills: u64,
    /// PnL (decimal text).
    pub pnl: String,
    /// Why it was halted, if it was.
    pub halted: Option<String>,
}

/// The result of a run: the same `digest` as `replay run --json` for the same strategies,
/// parameters and tape.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// The run's digest (hex).
    pub digest: String,
    /// Tape events replayed.
    pub events: u64,
    /// Per strategy.
    pub strategies: Vec<StrategyResult>,
}

/// Routes a strategy into the session, keeping the first strategy's log.
struct GuestRunner {
    guest: Box<dyn StrategyRunner>,
    log: Option<Arc<Mutex<Log>>>,
}

impl StrategyRunner for GuestRunner {
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<Step<'_>, RunError> {
        let r = self.guest.on_event(ev, book);
        if let Some(log) = &self.log {
            lock(log).saw(ev, r.as_ref().map_or(&[][..], |s| s.actions));
        }
        r
    }

    fn actions(&self) -> &[ActionRecord] {
        self.guest.actions()
    }

    fn abi_version(&self) -> u32 {
        self.guest.abi_version()
    }
}

/// The log, even if a panic poisoned it (the page reports the panic; the log stays readable).
fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A run in progress.
pub struct WebRun {
    session: Option<Session>,
    source: Box<dyn EventSource>,
    header: TapeHeader,
    buf: Vec<TapeEvent>,
    pos: usize,
    done: bool,
    last_t: Nanos,
    show: InstrumentId,
    log: Arc<Mutex<Log>>,
}

impl fmt::Debug for WebRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebRun").field("session", &self.session).finish_non_exhaustive()
    }
}

impl WebRun {
    /// Starts a run over `tape` (the bytes of a tape file) or, without one, the synthetic
    /// market of `cfg`; `guests` are the strategies of `cfg` in order, each with the actions
    /// its `init` returned.
    ///
    /// # Errors
    /// [`WebError`] for bad settings, a guest count that does not match, or a bad tape header.
    pub fn open(
        cfg: &str,
        tape: Option<Vec<u8>>,
        guests: Vec<(Box<dyn StrategyRunner>, Vec<ActionRecord>)>,
    ) -> Result<Self, WebError> {
        let cfg: RunConfig = serde_json::from_str(cfg).map_err(WebError::Config)?;
        if cfg.strategies.len() != guests.len() {
            return Err(WebError::Guests { expected: cfg.strategies.len(), got: guests.len() });
        }
        let source: Box<dyn EventSource> = match tape {
            Some(bytes) => Box::new(TapeReader::new(Cursor::new(bytes)).map_err(WebError::Tape)?),
            None => Box::new(Synth::new(SynthConfig { events: cfg.events, seed: cfg.seed })),
        };
        let header = source.header().clone();
        let log = Arc::new(Mutex::new(Log {
            keep: cfg.keep.min(MAX_KEEP),
            show: cfg.show,
            ..Log::default()
        }));
        let runners = cfg
            .strategies
            .iter()
            .zip(guests)
            .enumerate()
            .map(|(i, (s, (guest, init_actions)))| RunnerSpec {
                name: s.name.clone(),
                params: s.params.clone(),
                runner: Box::new(GuestRunner { guest, log: (i == 0).then(|| Arc::clone(&log)) }),
                init_actions,
                init_fuel: None,
            })
            .collect();
        let session = Session::from_runners(&header, runners, SessionConfig::default());
        Ok(Self {
            session: Some(session),
            source,
            header,
            buf: Vec::new(),
            pos: 0,
            done: false,
            last_t: Nanos(0),
            show: cfg.show,
            log,
        })
    }

    /// The tape's header.
    pub fn header(&self) -> &TapeHeader {
        &self.header
    }

    /// Replays up to `max` more tape events; returns how many (0 once the tape is done).
    ///
    /// # Errors
    /// [`WebError::Tape`] for a corrupt tape, [`WebError::Book`] for an event the book
    /// cannot apply, [`WebError::Finished`] after [`WebRun::finish`].
    pub fn step(&mut self, max: u64) -> Result<u64, WebError> {
        self.step_until(i64::MAX, max)
    }

    /// Replays up to `max` more tape events whose local time is at most `until` (ns): the
    /// page's paced mode. Returns how many.
    ///
    /// # Errors
    /// As [`WebRun::step`].
    pub fn step_until(&mut self, until: i64, max: u64) -> Result<u64, WebError> {
        let session = self.session.as_mut().ok_or(WebError::Finished)?;
        let mut n = 0;
        while n < max && !self.done {
            if self.pos == self.buf.len() {
                self.pos = 0;
                if !self.source.next_chunk(&mut self.buf).map_err(WebError::Tape)? {
                    self.buf.clear();
                    self.done = true;
                    break;
                }
                continue;
            }
            let ev = &self.buf[self.pos];
            if ev.local_ts.0 > until {
                break;
            }
            let index = session.events();
            session.step(ev).map_err(|o| WebError::Book { index, message: o.to_string() })?;
            self.last_t = ev.local_ts;
            self.pos += 1;
            n += 1;
        }
        Ok(n)
    }

    /// Whether the tape is done.
    pub fn done(&self) -> bool {
        self.done
    }

    /// What the page draws now.
    ///
    /// # Errors
    /// [`WebError::Finished`] after [`WebRun::finish`].
    pub fn snapshot(&self) -> Result<Snapshot, WebError> {
        let session = self.session.as_ref().ok_or(WebError::Finished)?;
        let mut rec = BookRecord::default();
        if let Some(book) = session.book(self.show) {
            book.write_record(self.show, &mut rec);
        }
        let view = rec.view();
        let levels = |get: &dyn Fn(usize) -> Option<lockstep_sdk::Level>, n: usize| {
            (0..n)
                .filter_map(get)
                .map(|l| LevelView { px: l.px.to_string(), qty: l.qty.to_string() })
                .collect()
        };
        let summary = session.exchange_summary(0).unwrap_or_default();
        let position = summary
            .instruments
            .iter()
            .find(|i| i.instrument == self.show)
            .map_or(Qty(0), |i| i.position);
        let log = lock(&self.log);
        Ok(Snapshot {
            events: session.events(),
            t: self.last_t.0,
            symbol: self
                .header
                .instruments
                .get(usize::from(self.show))
                .map(|i| i.symbol.clone())
                .unwrap_or_default(),
            bids: levels(&|i| view.bid(i), view.bid_count()),
            asks: levels(&|i| view.ask(i), view.ask_count()),
            trades: log.trades.iter().rev().cloned().collect(),
            orders: session.open_orders(0).into_iter().map(OrderView::from).collect(),
            fills: log.fills.iter().rev().cloned().collect(),
            actions: log.actions.iter().rev().cloned().collect(),
            fill_count: summary.fills,
            rejects: log.rejects,
            position: position.to_string(),
            pnl: summary.pnl.to_string(),
            halted: session.halted(0).map(|(seq, m)| format!("at event {seq}: {m}")),
            done: self.done,
        })
    }

    /// Ends the run (replaying whatever is left of the tape first) and returns its result.
    ///
    /// # Errors
    /// As [`WebRun::step`].
    pub fn finish(&mut self) -> Result<RunResult, WebError> {
        while self.step(u64::MAX)? > 0 {}
        let session = self.session.take().ok_or(WebError::Finished)?;
        let out = session.finish();
        let r = out.report;
        Ok(RunResult {
            digest: hex(&r.digest),
            events: r.events,
            strategies: r
                .strategies
                .into_iter()
                .map(|s| StrategyResult {
                    name: s.name,
                    params: s.params,
                    digest: hex(&s.digest),
                    events: s.events,
                    actions: s.actions,
                    fills: s.exchange.fills,
                    pnl: s.exchange.pnl.to_string(),
                    halted: s.halted.map(|(seq, m)| format!("at event {seq}: {m}")),
                })
                .collect(),
        })
    }
}

/// The [`RunError`] for a failure the JavaScript host reports by its engine code.
pub fn browser_error(code: u16) -> RunError {
    let what = match code >> 8 {
        11 => "refused its parameters",
        13 => "grew its memory past the limit",
        14 => match code & 0xff {
            1 => "trapped: unreachable",
            2 => "trapped: memory access out of bounds",
            3 => "trapped: integer division by zero",
            4 => "trapped: integer overflow",
            5 => "trapped: invalid conversion to integer",
            6 => "trapped: call stack exhausted",
            7 => "trapped: bad indirect call",
            _ => "trapped",
        },
        15 => "called lockstep.fail (see the page for its message)",
        17 => match code & 0xff {
            1 => "returned more actions than its region holds",
            2 => "was not initialised",
            3 => "could not decode the event",
            _ => "returned a status the ABI does not define",
        },
        _ => "failed",
    };
    RunError::new(
        code,
        code != CODE_BAD_EVENT,
        format!("strategy {what} in the browser's WebAssembly engine (code {code})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Refuses;
    impl StrategyRunner for Refuses {
        fn on_event(
            &mut self,
            _: &EventRecord,
            _: Option<&BookRecord>,
        ) -> Result<Step<'_>, RunError> {
            Err(browser_error(14 << 8 | 1))
        }
        fn actions(&self) -> &[ActionRecord] {
            &[]
        }
    }

    #[test]
    fn settings_are_checked() {
        let e = WebRun::open("{\"strategies\":[],\"bogus\":1}", None, Vec::new()).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = WebRun::open("{\"strategies\":[{\"name\":\"x\"}]}", None, Vec::new()).unwrap_err();
        assert!(matches!(e, WebError::Guests { expected: 1, got: 0 }), "{e}");
        let e = WebRun::open("{\"strategies\":[]}", Some(b"not a tape".to_vec()), Vec::new())
            .unwrap_err();
        assert!(matches!(e, WebError::Tape(_)), "{e}");
    }

    #[test]
    fn a_trapping_guest_halts_and_the_run_goes_on() {
        let mut run = WebRun::open(
            "{\"strategies\":[{\"name\":\"bad\"}],\"events\":500}",
            None,
            vec![(Box::new(Refuses), Vec::new())],
        )
        .unwrap();
        assert_eq!(run.step(100).unwrap(), 100);
        let snap = run.snapshot().unwrap();
        assert!(snap.halted.as_deref().unwrap_or("").contains("unreachable"), "{snap:?}");
        assert!(!snap.bids.is_empty() && !snap.asks.is_empty());
        let r = run.finish().unwrap();
        assert_eq!(r.events, 500);
        assert!(r.strategies[0].halted.is_some());
        assert!(matches!(run.step(1), Err(WebError::Finished)));
    }

    #[test]
    fn only_a_bad_event_leaves_the_strategy_running() {
        assert!(!browser_error(CODE_BAD_EVENT).halts());
        assert!(browser_error(14 << 8 | 6).halts());
        assert!(browser_error(15 << 8).message().contains("lockstep.fail"));
    }
}
