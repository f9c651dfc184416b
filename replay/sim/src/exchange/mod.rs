//! The simulated exchange of a backtest: strategy orders matched against the replayed book.
//!
//! - **Latency.** An action emitted while handling an event with local time `t` reaches the
//!   exchange at `t + entry`; the exchange's answers (acks, fills, rejects, cancels) reach the
//!   strategy `feed` later ([`Latency`]). The exchange sees the market as replayed on the
//!   tape's local timeline (market data on a recorded tape already carries its real feed delay).
//! - **Aggressive orders** (market orders, limits that cross) take the visible liquidity of the
//!   opposite side level by level, up to their limit; they do not change the replayed book
//!   (no market impact). Where a quote stream is fresher than the book (a depth feed lagging
//!   its ticker), the latest quote is the top of book and book levels better than it count as
//!   gone, so a strategy cannot trade against stale depth.
//! - **Passive orders** rest virtually at their price behind the quantity that was there when
//!   they arrived ([`QueuePosition`]; built in, [`FifoQueue`]: trades at the price consume the
//!   queue ahead first, cancels advance it only when the cancelled order arrived earlier (L3),
//!   and an absolute level update can only bound it (L2)). Trades through the price, and
//!   quantity arriving on the other side at a price that crosses it, fill them.
//! - **Fees** ([`Fees`]; built in, basis points of notional for maker and taker fills,
//!   negative for rebates). Positions, cash, fees and mark-to-market PnL are kept per
//!   instrument in exact fixed-point arithmetic.
//!
//! The models live in `models.rs` behind traits, so a user can plug their own ([`Models`]);
//! budgets in `budget.rs`; the result types in `summary.rs`.
//!
//! Events are ordered by (time, class, insertion number) in a binary heap of integers: market
//! data at a time comes after order arrivals at that time and before answers and timers.

use crate::book::{Applied, Book};
use crate::market::{Contract, InstrumentInfo};
use lockstep_sdk::{
    Action, ActionRecord, Canceled, EventBody, Fill, InstrumentId, Nanos, OrderAck, OrderId, Price,
    Qty, Quote, Reject, Side, TimeInForce, reject_reason,
};
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

mod blotter;
mod budget;
mod latency;
mod models;
mod order;
mod summary;

use crate::snap::{Reader, Snap, SnapError, snap_enum, snap_struct};
use order::{FillAt, OrderRef};

pub use blotter::{
    Blotter, BlotterConfig, EquityRow, FillRow, MAX_ROWS, MINUTE_NS, Marked, OrderKind, OrderRow,
    OrderStatus, PriceSample, RequestKind, reject_reason_hint, reject_reason_name,
};

pub use budget::{BudgetExceeded, VenueBudget, VenueBudgets};
pub use latency::{
    Distribution, LatencyChoice, MAX_LATENCY_ROWS, RandomLatency, RecordedLatency, TapeFeedLatency,
};
pub use models::{
    ExchangeConfig, FeeModel, Fees, FifoQueue, Latency, LatencyContext, LatencyModel, Models,
    ProbQueue, QueueFamily, QueueModel, QueuePosition,
};
pub use summary::{ExchangeStats, ExchangeSummary, InstrumentSummary, Money, RestingOrder};

/// Scheduling classes: the tie-break order of things happening at the same time.
pub(crate) const CLASS_ARRIVE: u8 = 0;
pub(crate) const CLASS_MARKET: u8 = 1;
pub(crate) const CLASS_DELIVER: u8 = 2;
pub(crate) const CLASS_TIMER: u8 = 3;
/// Most pending items one strategy may have (beyond it, timers are dropped and orders
/// rejected); keeps a runaway strategy from exhausting memory.
const MAX_PENDING: usize = 1 << 16;

#[derive(Clone, Copy, Debug)]
enum Pending {
    /// An order action on its way to the venue, emitted at local time `sent`.
    Arrive {
        action: Action,
        sent: i64,
    },
    Deliver {
        instrument: InstrumentId,
        exchange_ts: i64,
        body: EventBody,
    },
    Timer(u64),
}

/// What a venue hands its strategy next ([`SimExchange::poll`]).
#[derive(Clone, Copy, Debug)]
pub enum Due {
    /// An answer or a timer, delivered at local time `time`.
    Event {
        /// Local time of delivery.
        time: i64,
        /// The instrument it concerns (0 for a timer).
        instrument: InstrumentId,
        /// The venue's time stamp.
        exchange_ts: i64,
        /// The SDK event.
        body: EventBody,
    },
    /// The strategy made the venue cross a budget: it is halted.
    Halt(BudgetExceeded),
}

#[derive(Clone, Copy, Debug)]
struct Item {
    pub(crate) time: i64,
    pub(crate) class: u8,
    pub(crate) ins: u64,
    pub(crate) what: Pending,
}

snap_struct!(Item { time, class, ins, what });
snap_struct!(SimOrder { id, side, px, leaves, ahead, join_stamp, traded });
snap_struct!(Position { qty, cash, fees, bought, sold, maker_fills, taker_fills });
snap_struct!(PerSecond { second, n });
snap_struct!(ExchangeStats {
    orders,
    cancels,
    replaces,
    rejects,
    timers,
    signals,
    invalid_actions,
    dropped,
    too_late
});
snap_struct!(BudgetExceeded { budget, limit, seq, local_ts });
snap_enum!(VenueBudget [ActionsPerEvent, MessagesPerEvent, RestingOrders, LiveTimers, TimersPerSec, Work]);
snap_struct!(VenueBudgets {
    actions_per_event,
    messages_per_event,
    resting_orders,
    live_timers,
    timers_per_sec,
    work_reserve,
    work_per_event
});
snap_struct!(LatencyModel { entry, feed });
snap_struct!(FeeModel { maker_bps, taker_bps });
snap_struct!(ExchangeConfig { latency, fees, budgets });

impl Snap for Pending {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            Pending::Arrive { action, sent } => {
                w.push(0);
                action.put(w);
                sent.put(w);
            }
            Pending::Deliver { instrument, exchange_ts, body } => {
                w.push(1);
                instrument.put(w);
                exchange_ts.put(w);
                body.put(w);
            }
            Pending::Timer(id) => {
                w.push(2);
                id.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        Ok(match u8::get(r)? {
            0 => Pending::Arrive { action: Snap::get(r)?, sent: Snap::get(r)? },
            1 => Pending::Deliver {
                instrument: Snap::get(r)?,
                exchange_ts: Snap::get(r)?,
                body: Snap::get(r)?,
            },
            2 => Pending::Timer(Snap::get(r)?),
            _ => return Err(r.invalid("venue item")),
        })
    }
}

impl Item {
    fn key(&self) -> (i64, u8, u64) {
        (self.time, self.class, self.ins)
    }
}
impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        self.key().cmp(&o.key())
    }
}

#[derive(Clone, Copy, Debug)]
struct SimOrder {
    id: OrderId,
    side: Side,
    px: Price,
    leaves: Qty,
    /// Quantity ahead of us in the queue.
    ahead: Qty,
    /// Book arrival stamp when we joined: orders with a smaller stamp are ahead.
    join_stamp: u64,
    /// Quantity traded at our price since the level's last L2 update: the next update's
    /// decrease includes it, and the queue model has already taken it off the queue.
    traded: i64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Position {
    qty: i64,
    cash: i128,
    fees: i128,
    bought: i64,
    sold: i64,
    maker_fills: u64,
    taker_fills: u64,
}

/// How many closed orders the venue remembers, to tell a cancel or replace that came too late
/// (crossed a fill or cancel in flight) from one naming an order that never existed.
const RECENTLY_CLOSED: usize = 4096;

/// One strategy's simulated exchange session: the one venue simulator, used by the replay
/// session (one per strategy) and by the network venue (one per order session).
pub struct SimExchange {
    cfg: ExchangeConfig,
    models: Models,
    ticks: Vec<i64>,
    /// The ABI version the strategy's action records are decoded as (1 unless it says 2).
    abi: u32,
    /// Lot size per instrument: order quantities are whole lots.
    lots: Vec<i64>,
    /// Contract terms per instrument: how fills and marks become money.
    contracts: Vec<Contract>,
    /// Resting orders by (instrument, arrival number): per instrument in the order they
    /// joined, which is the order they are matched in.
    orders: BTreeMap<(InstrumentId, u64), SimOrder>,
    /// Resting orders by id: O(log n) duplicate checks, cancels and replaces.
    ids: BTreeMap<OrderId, (InstrumentId, u64)>,
    next_order: u64,
    open: Vec<u32>,
    pos: Vec<Position>,
    queue: BinaryHeap<Reverse<Item>>,
    next_ins: u64,
    last_trade: Vec<i64>,
    last_quote: Vec<Quote>,
    /// Local time of the last quote and of the last book change, per instrument.
    quote_time: Vec<i64>,
    book_time: Vec<i64>,
    /// The feed latency of the last market event per instrument on the tape (`i64::MIN`:
    /// none), for latency models that follow the tape's.
    tape_feed: Vec<i64>,
    pub(crate) stats: ExchangeStats,
    /// Venue messages processed since the last tape event or the start of the tape second,
    /// whichever came later.
    messages: PerSecond,
    /// Timers pending now.
    live_timers: u64,
    /// Timers fired in the current tape second.
    timers: PerSecond,
    /// Venue work (messages and timers) over the run, and tape events seen: the work budget.
    work: u64,
    tape_events: u64,
    /// Local time of the last item taken or action received.
    now: i64,
    /// Scratch: keys of orders filled completely by one market event.
    done: Vec<(InstrumentId, u64)>,
    /// The last [`RECENTLY_CLOSED`] orders that filled or were cancelled, by id (with the
    /// close's number) and by close number: a cancel or replace of one is too late, not a
    /// mistake.
    closed_ids: BTreeMap<OrderId, u64>,
    closed_order: BTreeMap<u64, OrderId>,
    closes: u64,
    /// The budget crossed (the session is frozen from then on), and whether it was reported.
    crossed: Option<BudgetExceeded>,
    reported: bool,
    /// What happened to each request, for the backtest report (only when asked for).
    blotter: Option<Box<Blotter>>,
}

/// A count that restarts with every second of tape time.
#[derive(Clone, Copy, Debug)]
struct PerSecond {
    second: i64,
    n: u64,
}

impl Default for PerSecond {
    fn default() -> Self {
        Self { second: i64::MIN, n: 0 }
    }
}

impl PerSecond {
    /// Counts one more at local time `t`; the count in `t`'s second so far.
    fn count(&mut self, t: i64) -> u64 {
        let second = t.div_euclid(1_000_000_000);
        if second != self.second {
            (self.second, self.n) = (second, 0);
        }
        self.n += 1;
        self.n
    }
}

/// The instrument an order action is for (timers and signals never reach the venue).
fn instrument_of(a: &Action) -> InstrumentId {
    match *a {
        Action::PlaceLimit { instrument, .. }
        | Action::PlaceOrder { instrument, .. }
        | Action::PlaceMarket { instrument, .. }
        | Action::Cancel { instrument, .. }
        | Action::Replace { instrument, .. }
        | Action::Signal { instrument, .. } => instrument,
        Action::SetTimer { .. } => 0,
    }
}

/// The mid of two prices, without overflow (equal to `(a + b) / 2` wherever that fits).
fn mid(a: i64, b: i64) -> i64 {
    ((i128::from(a) + i128::from(b)) / 2) as i64
}

#[inline]
fn crosses(side: Side, opposite_px: i64, px: i64) -> bool {
    match side {
        Side::Buy => opposite_px <= px,
        Side::Sell => opposite_px >= px,
    }
}

impl SimExchange {
    /// A session with the built-in models `cfg` describes.
    #[cfg(test)]
    pub(crate) fn new(cfg: ExchangeConfig, instruments: &[InstrumentInfo]) -> Self {
        Self::with_models(cfg, Models::from_config(&cfg), instruments)
    }

    /// A session with `models` (the latency and fees in `cfg` are then unused).
    pub fn with_models(
        cfg: ExchangeConfig,
        models: Models,
        instruments: &[InstrumentInfo],
    ) -> Self {
        let n = instruments.len();
        Self {
            cfg,
            models,
            ticks: instruments.iter().map(|i| i.tick_size.0).collect(),
            abi: 1,
            lots: instruments.iter().map(|i| i.lot_size.0).collect(),
            contracts: instruments.iter().map(|i| i.contract).collect(),
            orders: BTreeMap::new(),
            ids: BTreeMap::new(),
            next_order: 0,
            open: vec![0; n],
            pos: vec![Position::default(); n],
            queue: BinaryHeap::with_capacity(4096),
            next_ins: 0,
            last_trade: vec![0; n],
            last_quote: vec![Quote::default(); n],
            quote_time: vec![i64::MIN; n],
            book_time: vec![i64::MIN; n],
            tape_feed: vec![i64::MIN; n],
            stats: ExchangeStats::default(),
            messages: PerSecond::default(),
            live_timers: 0,
            timers: PerSecond::default(),
            work: 0,
            tape_events: 0,
            now: i64::MIN,
            done: Vec::new(),
            closed_ids: BTreeMap::new(),
            closed_order: BTreeMap::new(),
            closes: 0,
            crossed: None,
            reported: false,
            blotter: None,
        }
    }

    /// Writes the venue's whole state for a session checkpoint: everything but its models,
    /// which are the session's.
    pub(crate) fn snap(&self, w: &mut Vec<u8>) {
        self.cfg.put(w);
        self.ticks.put(w);
        self.abi.put(w);
        self.lots.put(w);
        self.contracts.put(w);
        self.orders.put(w);
        self.ids.put(w);
        self.next_order.put(w);
        self.open.put(w);
        self.pos.put(w);
        self.queue.put(w);
        self.next_ins.put(w);
        self.last_trade.put(w);
        self.last_quote.put(w);
        self.quote_time.put(w);
        self.book_time.put(w);
        self.tape_feed.put(w);
        self.stats.put(w);
        self.messages.put(w);
        self.live_timers.put(w);
        self.timers.put(w);
        self.work.put(w);
        self.tape_events.put(w);
        self.now.put(w);
        self.done.put(w);
        self.closed_ids.put(w);
        self.closed_order.put(w);
        self.closes.put(w);
        self.crossed.put(w);
        self.reported.put(w);
        self.blotter.put(w);
    }

    /// A venue from [`SimExchange::snap`]'s bytes, with the session's `models`; `None` when
    /// its settings are not `cfg` (the checkpoint was taken with other exchange settings).
    pub(crate) fn unsnap(
        r: &mut Reader<'_>,
        cfg: &ExchangeConfig,
        models: Models,
    ) -> Result<Option<Self>, SnapError> {
        if ExchangeConfig::get(r)? != *cfg {
            return Ok(None);
        }
        let v = Self {
            cfg: *cfg,
            models,
            ticks: Snap::get(r)?,
            abi: Snap::get(r)?,
            lots: Snap::get(r)?,
            contracts: Snap::get(r)?,
            orders: Snap::get(r)?,
            ids: Snap::get(r)?,
            next_order: Snap::get(r)?,
            open: Snap::get(r)?,
            pos: Snap::get(r)?,
            queue: Snap::get(r)?,
            next_ins: Snap::get(r)?,
            last_trade: Snap::get(r)?,
            last_quote: Snap::get(r)?,
            quote_time: Snap::get(r)?,
            book_time: Snap::get(r)?,
            tape_feed: Snap::get(r)?,
            stats: Snap::get(r)?,
            messages: Snap::get(r)?,
            live_timers: Snap::get(r)?,
            timers: Snap::get(r)?,
            work: Snap::get(r)?,
            tape_events: Snap::get(r)?,
            now: Snap::get(r)?,
            done: Snap::get(r)?,
            closed_ids: Snap::get(r)?,
            closed_order: Snap::get(r)?,
            closes: Snap::get(r)?,
            crossed: Snap::get(r)?,
            reported: Snap::get(r)?,
            blotter: Snap::get(r)?,
        };
        // Per-instrument tables all as long as the instrument list, and every order on it.
        let n = v.ticks.len();
        let per = [v.open.len(), v.pos.len(), v.last_trade.len(), v.last_quote.len(), v.lots.len()];
        let fits = per
            .iter()
            .chain(&[v.quote_time.len(), v.book_time.len(), v.tape_feed.len(), v.contracts.len()])
            .all(|&l| l == n)
            && v.orders.keys().all(|&(i, _)| usize::from(i) < n)
            && v.ids.values().all(|k| v.orders.contains_key(k));
        if !fits {
            return Err(r.invalid("venue state"));
        }
        Ok(Some(v))
    }

    /// How many instruments the venue trades.
    pub(crate) fn instruments(&self) -> usize {
        self.ticks.len()
    }

    /// Decodes the strategy's actions as ABI version `abi` writes them (its runner says which).
    pub fn set_abi(&mut self, abi: u32) {
        self.abi = abi;
    }

    /// Keeps a [`Blotter`] of every request, fill and bar from now on.
    pub(crate) fn keep_blotter(&mut self, cfg: BlotterConfig) {
        self.blotter = Some(Box::new(Blotter::new(cfg, self.pos.len())));
    }

    /// The blotter, closed at local time `end` (its last bar and window), if one was kept.
    pub(crate) fn take_blotter(&mut self, end: i64, books: &[Book]) -> Option<Blotter> {
        self.advance(end, books);
        let mut b = self.blotter.take()?;
        b.finish(end, |i| self.marks(i, books));
        Some(*b)
    }

    #[inline]
    fn note(&mut self, f: impl FnOnce(&mut Blotter)) {
        if let Some(b) = self.blotter.as_deref_mut() {
            f(b);
        }
    }

    /// Time moves to `t`: the blotter closes the bars that ended. Call before anything at `t`.
    #[inline]
    pub fn advance(&mut self, t: i64, books: &[Book]) {
        if let Some(mut b) = self.blotter.take() {
            b.close_bars(t, |i| self.marks(i, books));
            self.blotter = Some(b);
        }
    }

    /// Instrument `i`'s account now, marked to `books`.
    fn marks(&self, i: usize, books: &[Book]) -> Marked {
        let p = self.pos[i];
        let mark = self.mark(i, books);
        Marked {
            position: Qty(p.qty),
            mark: Price(mark),
            value: self.contracts[i].value(p.qty, mark),
            cash: p.cash,
            fees: p.fees,
        }
    }

    /// The price positions in instrument `i` are marked at: the book's mid, else the last
    /// trade, else the last quote's mid, else zero.
    fn mark(&self, i: usize, books: &[Book]) -> i64 {
        let q = self.last_quote[i];
        match books.get(i).map(|b| (b.best(Side::Buy), b.best(Side::Sell))) {
            Some((Some(bid), Some(ask))) => mid(bid.px.0, ask.px.0),
            _ if self.last_trade[i] > 0 => self.last_trade[i],
            _ if q.bid.px.0 > 0 && q.ask.px.0 > 0 => mid(q.bid.px.0, q.ask.px.0),
            _ => 0,
        }
    }

    fn push(&mut self, time: i64, class: u8, what: Pending) -> bool {
        if self.crossed.is_some() {
            return false;
        }
        if self.queue.len() >= MAX_PENDING {
            self.stats.dropped += 1;
            return false;
        }
        self.queue.push(Reverse(Item { time, class, ins: self.next_ins, what }));
        self.next_ins += 1;
        true
    }

    /// Records that `budget` was crossed: nothing more is scheduled or delivered.
    fn cross(&mut self, budget: VenueBudget, limit: u64) {
        if self.crossed.is_none() {
            self.crossed = Some(BudgetExceeded { budget, limit, seq: None, local_ts: self.now });
            self.queue.clear();
        }
    }

    /// The budget crossed since the last call, stamped with the strategy's event `seq`
    /// (`None`: in `init`); reported once.
    fn crossed(&mut self, seq: Option<u64>) -> Option<BudgetExceeded> {
        if self.reported {
            return None;
        }
        let c = self.crossed.as_mut()?;
        c.seq = seq;
        self.reported = true;
        Some(*c)
    }

    /// Takes the actions one call returned at local time `now` (the strategy's event `seq`,
    /// `None` in `init`): checks their number against the budget, counts the ones that do not
    /// decode and schedules the rest. Returns the budget crossed, reported once.
    pub fn take_actions(
        &mut self,
        actions: &[ActionRecord],
        now: i64,
        seq: Option<u64>,
    ) -> Option<BudgetExceeded> {
        self.check_actions(actions.len(), now);
        for a in actions {
            match a.decode_for(self.abi) {
                Ok(act) => self.action(act, now),
                Err(_) => self.stats.invalid_actions += 1,
            }
        }
        self.crossed(seq)
    }

    /// Everything due at or before local time `now` (answers, timers, a crossed budget), for
    /// a venue that runs on the wall clock rather than a tape's.
    pub fn poll_through(&mut self, now: i64, next_seq: u64, books: &[Book]) -> Option<Due> {
        self.poll((now, u8::MAX), next_seq, books)
    }

    /// Runs the venue's own clock up to (not including) `before`: orders that arrive are
    /// matched, and the first answer or timer due, or a crossed budget (stamped with the
    /// strategy's next event `next_seq`), is handed over. `None`: nothing is due before then.
    pub fn poll(&mut self, before: (i64, u8), next_seq: u64, books: &[Book]) -> Option<Due> {
        loop {
            if self.peek()? >= before {
                return None;
            }
            let item = self.pop_at(books)?;
            if let Some(e) = self.crossed(Some(next_seq)) {
                return Some(Due::Halt(e));
            }
            match item.what {
                Pending::Arrive { action, sent } => {
                    self.arrive(action, sent, item.time, books);
                    if let Some(e) = self.crossed(Some(next_seq)) {
                        return Some(Due::Halt(e));
                    }
                }
                Pending::Deliver { instrument, exchange_ts, body } => {
                    return Some(Due::Event { time: item.time, instrument, exchange_ts, body });
                }
                Pending::Timer(id) => {
                    let t = item.time;
                    return Some(Due::Event {
                        time: t,
                        instrument: 0,
                        exchange_ts: t,
                        body: EventBody::Timer(id),
                    });
                }
            }
        }
    }

    /// Closes the bars up to the next item's time, then takes it.
    fn pop_at(&mut self, books: &[Book]) -> Option<Item> {
        let (t, _) = self.peek()?;
        self.advance(t, books);
        self.pop()
    }

    /// Checks the number of actions one call returned at local time `now` against the budget.
    fn check_actions(&mut self, n: usize, now: i64) {
        self.now = now;
        let limit = self.cfg.budgets.actions_per_event;
        if n as u64 > limit {
            self.cross(VenueBudget::ActionsPerEvent, limit);
        }
    }

    /// The next pending item's time and class.
    #[inline]
    fn peek(&self) -> Option<(i64, u8)> {
        self.queue.peek().map(|Reverse(i)| (i.time, i.class))
    }

    /// Takes the next pending item, counting it against the budgets (an item that crosses
    /// one is still returned: check [`SimExchange::crossed`]).
    #[inline]
    fn pop(&mut self) -> Option<Item> {
        let item = self.queue.pop().map(|Reverse(i)| i)?;
        self.now = item.time;
        let b = self.cfg.budgets;
        if let Pending::Timer(_) = item.what {
            self.live_timers = self.live_timers.saturating_sub(1);
            if self.timers.count(item.time) > b.timers_per_sec {
                self.cross(VenueBudget::TimersPerSec, b.timers_per_sec);
            }
        } else {
            // A new second of tape time opens a new window, like a new tape event.
            if self.messages.count(item.time) > b.messages_per_event {
                self.cross(VenueBudget::MessagesPerEvent, b.messages_per_event);
            }
        }
        self.work += 1;
        let allowed =
            b.work_reserve.saturating_add(b.work_per_event.saturating_mul(self.tape_events));
        if self.work > allowed {
            self.cross(VenueBudget::Work, allowed);
        }
        Some(item)
    }

    /// Whether any order rests on `instrument`.
    #[cfg(test)]
    pub(crate) fn has_open(&self, instrument: InstrumentId) -> bool {
        self.open.get(usize::from(instrument)).is_some_and(|&n| n > 0)
    }

    /// Takes an action the strategy emitted at local time `now`.
    fn action(&mut self, a: Action, now: i64) {
        if self.crossed.is_some() {
            return;
        }
        self.now = now;
        match a {
            Action::SetTimer { timer_id, at } => {
                self.stats.timers += 1;
                let limit = self.cfg.budgets.live_timers;
                if self.live_timers >= limit {
                    return self.cross(VenueBudget::LiveTimers, limit);
                }
                // Never in the past, never at the very same instant (no busy loops).
                let at = at.0.max(now.saturating_add(1));
                if self.push(at, CLASS_TIMER, Pending::Timer(timer_id)) {
                    self.live_timers += 1;
                }
            }
            Action::Signal { .. } => self.stats.signals += 1,
            action => {
                let ins = instrument_of(&action);
                let delay = self.models.latency.entry(ins, Nanos(now), &self.context(ins));
                let t = now.saturating_add(delay.0.max(0));
                self.push(t, CLASS_ARRIVE, Pending::Arrive { action, sent: now });
            }
        }
    }

    fn send(&mut self, t: i64, instrument: InstrumentId, body: EventBody) {
        let delay = self.models.latency.feed(instrument, Nanos(t), &self.context(instrument));
        let at = t.saturating_add(delay.0.max(0));
        self.push(at, CLASS_DELIVER, Pending::Deliver { instrument, exchange_ts: t, body });
    }

    fn reject(&mut self, t: i64, instrument: InstrumentId, order_id: OrderId, reason: u32) {
        self.stats.rejects += 1;
        self.send(t, instrument, EventBody::Reject(Reject { order_id, reason }));
    }

    fn fill(&mut self, f: FillAt) {
        let FillAt { t, order, px, qty, maker, .. } = f;
        // What the quantity bought at `px` costs (negative for an inverse contract, whose
        // buyer receives coins' worth); fees are on its size.
        let notional = self.contracts[usize::from(order.instrument)].value(qty.0, px.0);
        let fee = self.models.fees.fee(order.instrument, Money(notional.abs()), maker).0;
        let p = &mut self.pos[usize::from(order.instrument)];
        // Saturating: a strategy trading absurd sizes gets absurd (but never wrapped) totals.
        match order.side {
            Side::Buy => {
                p.qty = p.qty.saturating_add(qty.0);
                p.bought = p.bought.saturating_add(qty.0);
                p.cash = p.cash.saturating_sub(notional);
            }
            Side::Sell => {
                p.qty = p.qty.saturating_sub(qty.0);
                p.sold = p.sold.saturating_add(qty.0);
                p.cash = p.cash.saturating_add(notional);
            }
        }
        p.fees = p.fees.saturating_add(fee);
        if maker {
            p.maker_fills += 1;
        } else {
            p.taker_fills += 1;
        }
        let position = Qty(p.qty);
        let body = EventBody::Fill(Fill {
            order_id: order.id,
            side: order.side,
            px,
            qty,
            leaves: f.leaves,
        });
        self.send(t, order.instrument, body);
        self.note(|b| b.fill(&f, fee, position));
    }

    /// Takes liquidity from the opposite side up to `limit` (`None`: a market order) for
    /// `order`; returns the quantity left.
    fn take(
        &mut self,
        t: i64,
        order: OrderRef,
        limit: Option<Price>,
        qty: Qty,
        book: &Book,
    ) -> Qty {
        self.take_or_try(t, order, limit, qty, book, false)
    }

    /// [`SimExchange::take`], or with `dry` only how much would be left, nothing filled (fill
    /// or kill, post only).
    fn take_or_try(
        &mut self,
        t: i64,
        order: OrderRef,
        limit: Option<Price>,
        qty: Qty,
        book: &Book,
        dry: bool,
    ) -> Qty {
        let side = order.side;
        let mut rem = qty.0;
        let ok = |px: i64| limit.is_none_or(|l| crosses(side, px, l.0));
        let ii = usize::from(order.instrument);
        let opp = side.opposite();
        let taker = |px: i64, qty: i64, leaves: i64| FillAt {
            t,
            order,
            px: Price(px),
            qty: Qty(qty),
            leaves: Qty(leaves),
            maker: false,
            ahead: None,
        };
        // With a quote stream newer than the book (a depth feed that lags its ticker), the
        // quote is the top of book: it is taken first and book levels better than it are
        // treated as gone.
        let q = self.last_quote[ii];
        let quoted = if side == Side::Buy { q.ask } else { q.bid };
        let fresh =
            quoted.px.0 > 0 && quoted.qty.0 > 0 && self.quote_time[ii] >= self.book_time[ii];
        let mut floor = None;
        if fresh || book.depth(opp) == 0 {
            if quoted.px.0 > 0 && quoted.qty.0 > 0 && ok(quoted.px.0) {
                let take = rem.min(quoted.qty.0);
                rem -= take;
                if !dry {
                    self.fill(taker(quoted.px.0, take, rem));
                }
            }
            floor = Some(quoted.px.0);
        }
        for lvl in book.levels(opp) {
            if rem == 0 || !ok(lvl.px.0) {
                break;
            }
            if floor.is_some_and(|f| !crosses(side, f, lvl.px.0) || f == lvl.px.0) {
                continue;
            }
            let q = rem.min(lvl.qty.0);
            rem -= q;
            if !dry {
                self.fill(taker(lvl.px.0, q, rem));
            }
        }
        Qty(rem)
    }

    fn valid_price(&self, instrument: InstrumentId, px: i64) -> bool {
        let tick = self.ticks[usize::from(instrument)];
        px > 0 && (tick <= 0 || px % tick == 0)
    }

    /// A quantity above 0 and a whole number of the instrument's lots.
    fn valid_qty(&self, instrument: InstrumentId, qty: i64) -> bool {
        let lot = self.lots[usize::from(instrument)];
        qty > 0 && (lot <= 0 || qty % lot == 0)
    }

    /// Why a new order on `instrument` at `px` (`None`: market) for `qty` is refused, if it is.
    fn refusal(
        &self,
        instrument: InstrumentId,
        order_id: OrderId,
        px: Option<i64>,
        qty: i64,
        books: &[Book],
    ) -> Option<u32> {
        if usize::from(instrument) >= books.len() {
            Some(reject_reason::UNKNOWN_INSTRUMENT)
        } else if !self.valid_qty(instrument, qty)
            || px.is_some_and(|px| !self.valid_price(instrument, px))
        {
            Some(reject_reason::INVALID)
        } else if px.is_some() && self.ids.contains_key(&order_id) {
            Some(reject_reason::DUPLICATE_ID)
        } else {
            None
        }
    }

    /// An action the strategy emitted at local time `sent` reaches the exchange at time `t`.
    fn arrive(&mut self, a: Action, sent: i64, t: i64, books: &[Book]) {
        match a {
            Action::PlaceLimit { instrument, order_id, side, px, qty } => {
                self.stats.orders += 1;
                let refused = self.refusal(instrument, order_id, Some(px.0), qty.0, books);
                self.note(|b| {
                    b.placed(
                        t,
                        sent,
                        order_id,
                        instrument,
                        side,
                        OrderKind::Limit,
                        px,
                        qty,
                        refused,
                    )
                });
                if let Some(reason) = refused {
                    return self.reject(t, instrument, order_id, reason);
                }
                let book = &books[usize::from(instrument)];
                self.send(t, instrument, EventBody::OrderAck(OrderAck { order_id, side, px, qty }));
                let order = OrderRef { instrument, id: order_id, side };
                let rem = self.take(t, order, Some(px), qty, book);
                if rem.0 > 0 {
                    self.rest(order, px, rem, book);
                } else {
                    self.close(order_id);
                }
            }
            Action::PlaceOrder { instrument, order_id, side, px, qty, tif } => {
                let order = OrderRef { instrument, id: order_id, side };
                self.place_with(order, px, qty, tif, (sent, t), books);
            }
            Action::PlaceMarket { instrument, order_id, side, qty } => {
                self.stats.orders += 1;
                let refused = self.refusal(instrument, order_id, None, qty.0, books);
                let kind = OrderKind::Market;
                self.note(|b| {
                    b.placed(t, sent, order_id, instrument, side, kind, Price::ZERO, qty, refused)
                });
                if let Some(reason) = refused {
                    return self.reject(t, instrument, order_id, reason);
                }
                let book = &books[usize::from(instrument)];
                self.send(
                    t,
                    instrument,
                    EventBody::OrderAck(OrderAck { order_id, side, px: Price::ZERO, qty }),
                );
                let order = OrderRef { instrument, id: order_id, side };
                let rem = self.take(t, order, None, qty, book);
                if rem.0 > 0 {
                    self.send(t, instrument, EventBody::Canceled(Canceled { order_id, qty: rem }));
                    self.note(|b| b.cancelled(t, order_id));
                }
                self.close(order_id);
            }
            Action::Cancel { instrument, order_id } => {
                self.stats.cancels += 1;
                match self.find(instrument, order_id) {
                    Some(key) => {
                        self.note(|b| b.request(t));
                        let o = self.unrest(key);
                        self.close(order_id);
                        self.send(
                            t,
                            instrument,
                            EventBody::Canceled(Canceled { order_id, qty: o.leaves }),
                        );
                        self.note(|b| b.cancelled(t, order_id));
                    }
                    None => {
                        let late = self.missed(order_id);
                        let reason = reject_reason::UNKNOWN_ORDER;
                        self.note(|b| b.refused(t, instrument, RequestKind::Cancel, reason, late));
                        self.reject(t, instrument, order_id, reason);
                    }
                }
            }
            Action::Replace { instrument, order_id, px, qty } => {
                self.stats.replaces += 1;
                let found = self.find(instrument, order_id);
                let refused = match found {
                    None => Some(reject_reason::UNKNOWN_ORDER),
                    Some(_)
                        if !self.valid_qty(instrument, qty.0)
                            || !self.valid_price(instrument, px.0) =>
                    {
                        Some(reject_reason::INVALID)
                    }
                    Some(_) => None,
                };
                let (Some(key), None) = (found, refused) else {
                    let late = found.is_none() && self.missed(order_id);
                    let reason = refused.unwrap_or(reject_reason::INVALID);
                    self.note(|b| b.refused(t, instrument, RequestKind::Replace, reason, late));
                    return self.reject(t, instrument, order_id, reason);
                };
                self.note(|b| b.replaced(t, order_id, px, qty));
                let mut o = self.unrest(key);
                let book = &books[usize::from(instrument)];
                self.send(
                    t,
                    instrument,
                    EventBody::OrderAck(OrderAck { order_id, side: o.side, px, qty }),
                );
                if px != o.px || qty > o.leaves {
                    // Loses its place: it joins the back of the queue at the new price.
                    let order = OrderRef { instrument, id: order_id, side: o.side };
                    let rem = self.take(t, order, Some(px), qty, book);
                    if rem.0 > 0 {
                        self.rest(order, px, rem, book);
                    } else {
                        self.close(order_id);
                    }
                } else {
                    // Keeps its place.
                    o.leaves = qty;
                    self.orders.insert(key, o);
                    self.ids.insert(order_id, key);
                    self.open[usize::from(instrument)] += 1;
                    self.note(|b| b.rested(order_id, instrument, o.side, o.px, o.ahead));
                }
            }
            Action::SetTimer { .. } | Action::Signal { .. } => {}
        }
    }

    /// `order` rests at `px` for `qty`, behind the queue its model says.
    fn rest(&mut self, order: OrderRef, px: Price, qty: Qty, book: &Book) {
        let OrderRef { instrument, id, side } = order;
        let limit = self.cfg.budgets.resting_orders;
        if self.orders.len() as u64 >= limit {
            return self.cross(VenueBudget::RestingOrders, limit);
        }
        let key = (instrument, self.next_order);
        self.next_order += 1;
        let ahead = self.models.queue.on_join(book.qty_at(side, px));
        let join_stamp = book.stamp();
        self.orders
            .insert(key, SimOrder { id, side, px, leaves: qty, ahead, join_stamp, traded: 0 });
        self.note(|b| b.rested(id, instrument, side, px, ahead));
        self.ids.insert(id, key);
        self.open[usize::from(instrument)] += 1;
    }

    /// The key of the order resting on `instrument` with `id`.
    fn find(&self, instrument: InstrumentId, id: OrderId) -> Option<(InstrumentId, u64)> {
        self.ids.get(&id).copied().filter(|k| k.0 == instrument)
    }

    /// A limit order with time in force `tif` (ABI v2) arrives at `at.1`, sent at `at.0`:
    /// IOC takes what it can and cancels the rest; FOK takes all or is cancelled whole; post
    /// only is rejected, and GTX accepted and cancelled at once, where it would take liquidity.
    fn place_with(
        &mut self,
        order: OrderRef,
        px: Price,
        qty: Qty,
        tif: TimeInForce,
        (sent, t): (i64, i64),
        books: &[Book],
    ) {
        let OrderRef { instrument, id, side } = order;
        self.stats.orders += 1;
        let mut refused = self.refusal(instrument, id, Some(px.0), qty.0, books);
        let book = books.get(usize::from(instrument));
        // What a dry run of the matching would leave: once, and only where the type needs it
        // (FOK: whether all fills; post only and GTX: whether any would).
        let left_dry = match (book, refused, tif) {
            (Some(b), None, TimeInForce::Fok | TimeInForce::PostOnly | TimeInForce::Gtx) => {
                Some(self.take_or_try(t, order, Some(px), qty, b, true))
            }
            _ => None,
        };
        let crossing = left_dry.is_some_and(|l| l != qty);
        if crossing && tif == TimeInForce::PostOnly {
            refused = Some(reject_reason::WOULD_CROSS);
        }
        let kind = OrderKind::of(tif);
        self.note(|b| b.placed(t, sent, id, instrument, side, kind, px, qty, refused));
        let (Some(book), None) = (book, refused) else {
            return self.reject(t, instrument, id, refused.unwrap_or(reject_reason::INVALID));
        };
        self.send(t, instrument, EventBody::OrderAck(OrderAck { order_id: id, side, px, qty }));
        let left = match tif {
            TimeInForce::Ioc => self.take(t, order, Some(px), qty, book),
            TimeInForce::Fok if left_dry.is_some_and(|l| l.0 > 0) => qty,
            TimeInForce::Fok => self.take(t, order, Some(px), qty, book),
            TimeInForce::Gtx if crossing => qty,
            TimeInForce::PostOnly | TimeInForce::Gtx => return self.rest(order, px, qty, book),
        };
        if left.0 > 0 {
            self.send(t, instrument, EventBody::Canceled(Canceled { order_id: id, qty: left }));
            self.note(|b| b.cancelled(t, id));
        }
        self.close(id);
    }

    /// Removes a resting order.
    fn unrest(&mut self, key: (InstrumentId, u64)) -> SimOrder {
        let o = self.orders.remove(&key).expect("the id index names only resting orders");
        self.ids.remove(&o.id);
        self.open[usize::from(key.0)] -= 1;
        self.note(|b| b.unrested(key.0, o.side, o.px));
        o
    }

    /// Order `id` is done (filled or cancelled): remembered among the recently closed.
    fn close(&mut self, id: OrderId) {
        self.closes += 1;
        if let Some(old) = self.closed_ids.insert(id, self.closes) {
            self.closed_order.remove(&old);
        }
        self.closed_order.insert(self.closes, id);
        if self.closed_order.len() > RECENTLY_CLOSED
            && let Some((_, oldest)) = self.closed_order.pop_first()
        {
            self.closed_ids.remove(&oldest);
        }
    }

    /// A cancel or replace of `id` found no live order: counted as too late when `id` closed
    /// recently (the request crossed a fill or cancel in flight).
    fn missed(&mut self, id: OrderId) -> bool {
        let late = self.closed_ids.contains_key(&id);
        self.stats.too_late += u64::from(late);
        late
    }

    /// Notes a market event's exchange and local times, for latency models that follow the
    /// tape's feed latency (an event without an exchange time changes nothing).
    pub fn note_tape_times(&mut self, instrument: InstrumentId, exchange_ts: i64, local_ts: i64) {
        if let Some(f) = self.tape_feed.get_mut(usize::from(instrument))
            && exchange_ts > 0
        {
            *f = local_ts.saturating_sub(exchange_ts);
        }
    }

    /// What a latency model is told about `instrument`.
    fn context(&self, instrument: InstrumentId) -> LatencyContext {
        let f = self.tape_feed.get(usize::from(instrument)).copied().unwrap_or(i64::MIN);
        LatencyContext { tape_feed: (f != i64::MIN).then_some(Nanos(f)) }
    }

    /// The market moved on `instrument` at time `t` (`applied` says how): update queue
    /// positions and fill resting orders.
    pub fn on_market(&mut self, instrument: InstrumentId, a: &Applied, t: i64, book: &Book) {
        let ii = usize::from(instrument);
        if self.blotter.is_some() {
            let top = (a.top || a.quote.is_some()).then(|| {
                let q = a.quote.unwrap_or(self.last_quote[ii]);
                let best = |s: Side, quoted: Price| book.best(s).map_or(quoted, |l| l.px);
                (best(Side::Buy, q.bid.px), best(Side::Sell, q.ask.px))
            });
            self.note(|b| b.market(t, instrument, top));
        }
        if let Some(tr) = a.trade {
            self.last_trade[ii] = tr.px.0;
        }
        if let Some(q) = a.quote {
            self.last_quote[ii] = q;
            self.quote_time[ii] = t;
        }
        if a.changed {
            self.book_time[ii] = t;
        }
        // A new tape event opens a new window of venue messages and adds to the work allowance.
        self.messages.n = 0;
        self.tape_events += 1;
        if self.open[ii] == 0 || self.crossed.is_some() {
            return;
        }
        let mut orders = std::mem::take(&mut self.orders);
        let mut done = std::mem::take(&mut self.done);
        let queue = std::sync::Arc::clone(&self.models.queue);
        for (&key, o) in orders.range_mut((instrument, 0)..=(instrument, u64::MAX)) {
            let mut fill = 0i64;
            if let Some(tr) = a.trade {
                let resting = tr.aggressor.map(Side::opposite);
                if resting.is_none_or(|s| s == o.side) {
                    let through = match o.side {
                        Side::Buy => tr.px < o.px,
                        Side::Sell => tr.px > o.px,
                    };
                    if through {
                        fill = tr.qty.0;
                    } else if tr.px == o.px {
                        let (f, ahead) = queue.on_trade_at(o.ahead, tr.qty);
                        (fill, o.ahead) = (f.0, ahead);
                        o.traded = o.traded.saturating_add(tr.qty.0);
                    }
                }
            }
            if a.side == Some(o.side) && a.px == o.px {
                if let Some(q) = a.level_set {
                    // The trades since the last update are in this decrease already; the
                    // model sees only the rest (hftbacktest subtracts them the same way).
                    let prev = q.0.saturating_add(a.removed.0).saturating_sub(a.added.0);
                    let prev = Qty(prev.saturating_sub(o.traded).max(0));
                    o.traded = 0;
                    o.ahead = queue.on_level(o.ahead, prev, q);
                } else if a.removed.0 > 0 {
                    let earlier = a.removed_stamp < o.join_stamp;
                    o.ahead = queue.on_removed(o.ahead, a.removed, earlier);
                }
            }
            // A quote whose other side crosses our price: that quantity would have traded
            // with us.
            if let Some(q) = a.quote {
                let l = if o.side == Side::Buy { q.ask } else { q.bid };
                if l.px.0 > 0 && crosses(o.side, l.px.0, o.px.0) {
                    fill = fill.max(l.qty.0);
                }
            }
            // Quantity arriving on the other side at a price that crosses ours would have
            // traded with us.
            if a.side == Some(o.side.opposite()) && a.added.0 > 0 && crosses(o.side, a.px.0, o.px.0)
            {
                fill = fill.max(a.added.0);
            }
            let q = fill.clamp(0, o.leaves.0);
            if q > 0 {
                o.leaves.0 -= q;
                self.fill(FillAt {
                    t,
                    order: OrderRef { instrument, id: o.id, side: o.side },
                    px: o.px,
                    qty: Qty(q),
                    leaves: o.leaves,
                    maker: true,
                    ahead: Some(o.ahead),
                });
            }
            if o.leaves.0 == 0 {
                done.push(key);
            }
        }
        for key in done.drain(..) {
            if let Some(o) = orders.remove(&key) {
                self.ids.remove(&o.id);
                self.close(o.id);
                self.open[ii] -= 1;
                self.note(|b| b.unrested(instrument, o.side, o.px));
            }
        }
        self.orders = orders;
        self.done = done;
    }

    /// Positions, PnL and counters, marking positions on the final books.
    /// The resting orders, per instrument in the order they are matched.
    pub fn resting(&self) -> Vec<RestingOrder> {
        self.orders
            .iter()
            .map(|(&(instrument, _), o)| RestingOrder {
                instrument,
                id: o.id,
                side: o.side,
                price: o.px,
                leaves: o.leaves,
                ahead: o.ahead,
            })
            .collect()
    }

    /// What this venue did: orders, fills, positions and PnL, marked to `books`.
    pub fn summary(&self, books: &[Book]) -> ExchangeSummary {
        let mut out = ExchangeSummary {
            stats: self.stats,
            open_orders: self.orders.len(),
            budget_exceeded: self.crossed,
            ..ExchangeSummary::default()
        };
        for (i, p) in self.pos.iter().enumerate() {
            if p.maker_fills + p.taker_fills == 0 {
                continue;
            }
            let mark = self.mark(i, books);
            let value = self.contracts[i].value(p.qty, mark);
            let pnl = p.cash.saturating_add(value).saturating_sub(p.fees);
            out.fills += p.maker_fills + p.taker_fills;
            out.pnl.0 = out.pnl.0.saturating_add(pnl);
            out.fees.0 = out.fees.0.saturating_add(p.fees);
            out.instruments.push(InstrumentSummary {
                instrument: i as InstrumentId,
                position: Qty(p.qty),
                bought: Qty(p.bought),
                sold: Qty(p.sold),
                maker_fills: p.maker_fills,
                taker_fills: p.taker_fills,
                cash: Money(p.cash),
                fees: Money(p.fees),
                mark: Price(mark),
                pnl: Money(pnl),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::MarketEvent;
    use lockstep_sdk::ONE;

    fn info() -> Vec<InstrumentInfo> {
        vec![InstrumentInfo {
            id: 0,
            symbol: "T".into(),
            venue: "t".into(),
            tick_size: Price(ONE / 100),
            price_scale: 2,
            lot_size: Qty(ONE / 100),
            contract: crate::Contract::LINEAR,
            currency: "USD".into(),
            time_zone: "UTC".into(),
        }]
    }
    fn p(x: i64) -> Price {
        Price(x * ONE / 100)
    }
    fn add(id: u64, side: Side, px: i64, q: i64) -> MarketEvent {
        MarketEvent::Add { order_id: id, side, px: p(px), qty: Qty(q * ONE) }
    }
    fn drain(x: &mut SimExchange, books: &[Book]) -> Vec<(i64, EventBody)> {
        let mut out = Vec::new();
        while let Some(it) = x.pop() {
            match it.what {
                Pending::Arrive { action, sent } => x.arrive(action, sent, it.time, books),
                Pending::Deliver { body, .. } => out.push((it.time, body)),
                Pending::Timer(id) => out.push((it.time, EventBody::Timer(id))),
            }
        }
        out
    }

    #[test]
    fn market_order_takes_levels_and_accounts() {
        let mut b = Book::new();
        b.apply(&add(1, Side::Sell, 10_001, 2));
        b.apply(&add(2, Side::Sell, 10_002, 5));
        b.apply(&add(3, Side::Buy, 9_999, 5));
        let cfg = ExchangeConfig {
            fees: FeeModel { maker_bps: Price(-ONE), taker_bps: Price(2 * ONE) },
            ..ExchangeConfig::default()
        };
        let mut x = SimExchange::new(cfg, &info());
        x.action(
            Action::PlaceMarket { instrument: 0, order_id: 7, side: Side::Buy, qty: Qty(3 * ONE) },
            1_000,
        );
        let books = [b];
        let got = drain(&mut x, &books);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, 1_000 + 40_000);
        assert!(matches!(got[0].1, EventBody::OrderAck(_)));
        assert_eq!(
            got[1].1,
            EventBody::Fill(Fill {
                order_id: 7,
                side: Side::Buy,
                px: p(10_001),
                qty: Qty(2 * ONE),
                leaves: Qty(ONE)
            })
        );
        assert_eq!(
            got[2].1,
            EventBody::Fill(Fill {
                order_id: 7,
                side: Side::Buy,
                px: p(10_002),
                qty: Qty(ONE),
                leaves: Qty(0)
            })
        );
        let s = x.summary(&books);
        assert_eq!(s.instruments[0].position, Qty(3 * ONE));
        assert_eq!(s.instruments[0].cash, Money(-(2 * 10_001 + 10_002) * ONE as i128 / 100));
        // 2 bps of 300.04 = 0.060008.
        assert_eq!(s.fees.to_string(), "0.060008");
        // Marked at the mid (100.00; no market impact) for 3 units: 300 - 300.04 - 0.060008.
        assert_eq!(s.pnl.to_string(), "-0.100008");
    }

    #[test]
    fn a_trade_and_the_level_update_that_reports_it_advance_the_queue_once() {
        let level =
            |q: i64| MarketEvent::Level { side: Side::Buy, px: p(10_000), qty: Qty(q * ONE) };
        let run = |queue: QueueModel| {
            let mut books = [Book::new()];
            books[0].apply(&level(10));
            books[0].apply(&MarketEvent::Level { side: Side::Sell, px: p(10_002), qty: Qty(ONE) });
            let cfg = ExchangeConfig::default();
            let mut models = Models::from_config(&cfg);
            models.queue_model(queue);
            let mut x = SimExchange::with_models(cfg, models, &info());
            let order = Action::PlaceLimit {
                instrument: 0,
                order_id: 1,
                side: Side::Buy,
                px: p(10_000),
                qty: Qty(ONE),
            };
            x.action(order, 0);
            drain(&mut x, &books);
            // 4 trade at our price, then the L2 update shows the level down by those 4.
            let t = MarketEvent::Trade {
                px: p(10_000),
                qty: Qty(4 * ONE),
                aggressor: Some(Side::Sell),
            };
            let a = books[0].apply(&t);
            x.on_market(0, &a, 100_000, &books[0]);
            let a = books[0].apply(&level(6));
            x.on_market(0, &a, 100_000, &books[0]);
            x.resting()[0].ahead
        };
        // 10 ahead, 4 traded: 6 ahead, whichever model, since the update held nothing else.
        for q in [
            QueueModel::Fifo,
            QueueModel::Prob(QueueFamily::Power(2.0)),
            QueueModel::Prob(QueueFamily::Log),
        ] {
            assert_eq!(run(q), Qty(6 * ONE), "{q:?}");
        }
    }

    /// A book of 5 bid at 100.00 and 5 offered at 100.02, a venue on it (ABI `abi`), and
    /// the answers to one placement of `qty` at `px` with `tif` (`None`: GTC, byte 5 = `raw`).
    fn answers(abi: u32, px: i64, qty: i64, tif: Option<TimeInForce>, raw: u8) -> Vec<EventBody> {
        let mut books = [Book::new()];
        books[0].apply(&add(1, Side::Buy, 10_000, 5));
        books[0].apply(&add(2, Side::Sell, 10_002, 5));
        let mut x = SimExchange::new(ExchangeConfig::default(), &info());
        x.set_abi(abi);
        let (order_id, side, px, qty) = (7, Side::Buy, p(px), Qty(qty * ONE));
        let mut rec = match tif {
            Some(tif) => Action::PlaceOrder { instrument: 0, order_id, side, px, qty, tif },
            None => Action::PlaceLimit { instrument: 0, order_id, side, px, qty },
        }
        .encode();
        if raw != 0 {
            rec.0[5] = raw;
        }
        x.take_actions(&[rec], 0, Some(1));
        let out = drain(&mut x, &books).into_iter().map(|(_, b)| b).collect();
        let still = x.resting().iter().map(|o| o.leaves).collect::<Vec<_>>();
        assert!(still.len() <= 1);
        out
    }

    fn ack(px: i64, q: i64) -> EventBody {
        EventBody::OrderAck(OrderAck { order_id: 7, side: Side::Buy, px: p(px), qty: Qty(q * ONE) })
    }
    fn fill(q: i64, leaves: i64) -> EventBody {
        EventBody::Fill(Fill {
            order_id: 7,
            side: Side::Buy,
            px: p(10_002),
            qty: Qty(q * ONE),
            leaves: Qty(leaves * ONE),
        })
    }
    fn cancelled(q: i64) -> EventBody {
        EventBody::Canceled(Canceled { order_id: 7, qty: Qty(q * ONE) })
    }

    #[test]
    fn order_types_of_abi_v2() {
        use TimeInForce::{Fok, Gtx, Ioc, PostOnly};
        // IOC takes the 5 offered and cancels the other 3.
        assert_eq!(answers(2, 10_002, 8, Some(Ioc), 0), [ack(10_002, 8), fill(5, 3), cancelled(3)]);
        // FOK: 8 cannot all fill, so none does; 5 can.
        assert_eq!(answers(2, 10_002, 8, Some(Fok), 0), [ack(10_002, 8), cancelled(8)]);
        assert_eq!(answers(2, 10_002, 5, Some(Fok), 0), [ack(10_002, 5), fill(5, 0)]);
        // Post only would cross: rejected. Below the offer it rests.
        let would_cross =
            EventBody::Reject(Reject { order_id: 7, reason: reject_reason::WOULD_CROSS });
        assert_eq!(answers(2, 10_002, 1, Some(PostOnly), 0), [would_cross]);
        assert_eq!(answers(2, 10_001, 1, Some(PostOnly), 0), [ack(10_001, 1)]);
        // GTX would cross: accepted and cancelled at once, as Binance expires it.
        assert_eq!(answers(2, 10_002, 1, Some(Gtx), 0), [ack(10_002, 1), cancelled(1)]);
        assert_eq!(answers(2, 10_001, 1, Some(Gtx), 0), [ack(10_001, 1)]);
        // An undefined order-type byte is not an order.
        assert!(answers(2, 10_002, 1, None, 9).is_empty());
    }

    #[test]
    fn a_v1_guests_byte_5_means_nothing() {
        // What v2 reads as IOC is a plain limit order from a v1 guest: the rest stays.
        assert_eq!(answers(1, 10_002, 8, None, 1), [ack(10_002, 8), fill(5, 3)]);
        assert_eq!(answers(1, 10_002, 8, None, 9), [ack(10_002, 8), fill(5, 3)]);
    }

    #[test]
    fn passive_order_waits_for_the_queue_ahead() {
        let mut books = [Book::new()];
        books[0].apply(&add(1, Side::Buy, 10_000, 5));
        books[0].apply(&add(9, Side::Sell, 10_002, 5));
        let mut x = SimExchange::new(ExchangeConfig::default(), &info());
        x.action(
            Action::PlaceLimit {
                instrument: 0,
                order_id: 1,
                side: Side::Buy,
                px: p(10_000),
                qty: Qty(4 * ONE),
            },
            0,
        );
        let acks = drain(&mut x, &books);
        assert!(matches!(acks[..], [(_, EventBody::OrderAck(_))]));
        // An order behind us arrives, then one ahead-of-us order is partly cancelled.
        let a = books[0].apply(&add(2, Side::Buy, 10_000, 3));
        x.on_market(0, &a, 100_000, &books[0]);
        let a = books[0].apply(&MarketEvent::Cancel {
            order_id: 2,
            side: Side::Buy,
            px: p(10_000),
            qty: Qty(ONE),
        });
        x.on_market(0, &a, 100_000, &books[0]);
        assert!(drain(&mut x, &books).is_empty());
        // 6 trade at our price: 5 were ahead of us, we get 1.
        for (id, q) in [(1, 5), (2, 1)] {
            let a = books[0].apply(&MarketEvent::Execute {
                order_id: id,
                side: Side::Buy,
                px: p(10_000),
                qty: Qty(q * ONE),
            });
            x.on_market(0, &a, 200_000, &books[0]);
        }
        let fills = drain(&mut x, &books);
        assert_eq!(
            fills,
            vec![(
                220_000,
                EventBody::Fill(Fill {
                    order_id: 1,
                    side: Side::Buy,
                    px: p(10_000),
                    qty: Qty(ONE),
                    leaves: Qty(3 * ONE)
                })
            )]
        );
        // The ask drops through our bid: filled at our price.
        let a = books[0].apply(&add(10, Side::Sell, 9_999, 9));
        x.on_market(0, &a, 300_000, &books[0]);
        let fills = drain(&mut x, &books);
        assert_eq!(
            fills,
            vec![(
                320_000,
                EventBody::Fill(Fill {
                    order_id: 1,
                    side: Side::Buy,
                    px: p(10_000),
                    qty: Qty(3 * ONE),
                    leaves: Qty(0)
                })
            )]
        );
        assert!(!x.has_open(0));
    }

    #[test]
    fn the_message_budget_counts_per_event_and_per_second_of_tape_time() {
        let books = [Book::new()];
        let limit = |order_id| Action::PlaceLimit {
            instrument: 0,
            order_id,
            side: Side::Buy,
            px: p(100),
            qty: Qty(ONE),
        };
        // A heartbeat strategy: once a second through 20 minutes without market data it places
        // 50 orders and cancels them, 200 venue messages a second, 240,000 in the gap.
        let mut x = SimExchange::new(ExchangeConfig::default(), &info());
        let mut messages = 0;
        for second in 0..1_200i64 {
            let t = second * 1_000_000_000;
            for id in 0..50 {
                x.action(limit(id), t);
                x.action(Action::Cancel { instrument: 0, order_id: id }, t + 1);
            }
            messages += 100 + drain(&mut x, &books).len();
        }
        assert_eq!(messages, 240_000);
        assert_eq!(x.crossed(Some(0)), None, "an honest heartbeat is not halted");
        assert!(!x.has_open(0));
        // Work that lets no tape time pass: 50,001 cancels of an unknown order sent at one
        // instant arrive at one instant and are rejected at one instant. The 100,001st message
        // crosses the budget.
        let mut x = SimExchange::new(ExchangeConfig::default(), &info());
        let t = 5_000_000_000;
        for _ in 0..50_001 {
            x.action(Action::Cancel { instrument: 0, order_id: 7 }, t);
        }
        let answers = drain(&mut x, &books).len();
        let crossed = x.crossed(Some(3)).expect("crossed");
        assert_eq!(
            crossed,
            BudgetExceeded {
                budget: VenueBudget::MessagesPerEvent,
                limit: 100_000,
                seq: Some(3),
                local_ts: t + 40_000
            }
        );
        assert_eq!(answers, 50_000, "nothing is taken after the crossing");
        assert_eq!(
            crossed.to_string(),
            "crossed its venue budget of 100000 venue messages per market event or second of tape time at event seq 3 (local time 5000040000 ns); the strategy is halted, the run goes on; raise the limit with --max-messages-per-event if this is intended"
        );
    }

    #[test]
    fn rejects_and_cancels() {
        let books = [Book::new()];
        let mut x = SimExchange::new(ExchangeConfig::default(), &info());
        x.action(
            Action::PlaceLimit {
                instrument: 0,
                order_id: 1,
                side: Side::Sell,
                px: Price(123),
                qty: Qty(ONE),
            },
            0,
        );
        x.action(
            Action::PlaceLimit {
                instrument: 3,
                order_id: 2,
                side: Side::Sell,
                px: p(1),
                qty: Qty(ONE),
            },
            0,
        );
        x.action(Action::Cancel { instrument: 0, order_id: 5 }, 0);
        x.action(
            Action::PlaceLimit {
                instrument: 0,
                order_id: 6,
                side: Side::Sell,
                px: p(5),
                qty: Qty(ONE),
            },
            0,
        );
        x.action(Action::Cancel { instrument: 0, order_id: 6 }, 10);
        x.action(Action::SetTimer { timer_id: 4, at: Nanos(5) }, 10);
        let got: Vec<EventBody> = drain(&mut x, &books).into_iter().map(|(_, b)| b).collect();
        assert_eq!(
            got,
            vec![
                EventBody::Timer(4),
                EventBody::Reject(Reject { order_id: 1, reason: reject_reason::INVALID }),
                EventBody::Reject(Reject {
                    order_id: 2,
                    reason: reject_reason::UNKNOWN_INSTRUMENT
                }),
                EventBody::Reject(Reject { order_id: 5, reason: reject_reason::UNKNOWN_ORDER }),
                EventBody::OrderAck(OrderAck {
                    order_id: 6,
                    side: Side::Sell,
                    px: p(5),
                    qty: Qty(ONE)
                }),
                EventBody::Canceled(Canceled { order_id: 6, qty: Qty(ONE) }),
            ]
        );
        assert_eq!(x.stats.rejects, 3);
        assert_eq!(Money(-150_000_000).to_string(), "-1.5");
    }
}
