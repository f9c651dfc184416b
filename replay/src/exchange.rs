//! The simulated exchange of a backtest: strategy orders matched against the replayed book.
//!
//! - **Latency.** An action emitted while handling an event with local time `t` reaches the
//!   exchange at `t + entry`; the exchange's answers (acks, fills, rejects, cancels) reach the
//!   strategy `feed` later. The exchange sees the market as replayed on the tape's local
//!   timeline (market data on a recorded tape already carries its real feed delay).
//! - **Aggressive orders** (market orders, limits that cross) take the visible liquidity of the
//!   opposite side level by level, up to their limit; they do not change the replayed book
//!   (no market impact). Where a quote stream is fresher than the book (a depth feed lagging
//!   its ticker), the latest quote is the top of book and book levels better than it count as
//!   gone, so a strategy cannot trade against stale depth.
//! - **Passive orders** rest virtually at their price behind the quantity that was there when
//!   they arrived. Their queue position only advances for volume ahead of them: trades at the
//!   price consume it first, cancels advance it only when the cancelled order arrived earlier
//!   (L3), and an absolute level update can only bound it (L2). Trades through the price, and
//!   quantity arriving on the other side at a price that crosses it, fill them.
//! - **Fees** in basis points of notional, separately for maker and taker fills (negative for
//!   rebates). Positions, cash, fees and mark-to-market PnL are kept per instrument in exact
//!   fixed-point arithmetic.
//!
//! Events are ordered by (time, class, insertion number) in a binary heap of integers: market
//! data at a time comes after order arrivals at that time and before answers and timers.

use crate::book::{Applied, Book};
use crate::tape::InstrumentInfo;
use lockstep_sdk::{
    Action, Canceled, EventBody, Fill, InstrumentId, Nanos, ONE, OrderAck, OrderId, Price, Qty,
    Quote, Reject, Side, reject_reason,
};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt;

/// Order-entry and feed latency of the simulated exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencyModel {
    /// Strategy to exchange.
    pub entry: Nanos,
    /// Exchange to strategy, for the exchange's answers.
    pub feed: Nanos,
}

impl Default for LatencyModel {
    fn default() -> Self {
        Self { entry: Nanos(20_000), feed: Nanos(20_000) }
    }
}

/// Fees in basis points of notional (fixed-point with 8 decimals, like [`Price`]; negative
/// values are rebates).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeModel {
    /// Fee on fills of resting orders.
    pub maker_bps: Price,
    /// Fee on fills of orders that take liquidity.
    pub taker_bps: Price,
}

/// Settings of the simulated exchange.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExchangeConfig {
    /// Latencies.
    pub latency: LatencyModel,
    /// Fees.
    pub fees: FeeModel,
}

/// Scheduling classes: the tie-break order of things happening at the same time.
pub(crate) const CLASS_ARRIVE: u8 = 0;
pub(crate) const CLASS_MARKET: u8 = 1;
pub(crate) const CLASS_DELIVER: u8 = 2;
pub(crate) const CLASS_TIMER: u8 = 3;
/// Most pending items one strategy may have (beyond it, timers are dropped and orders
/// rejected); keeps a runaway strategy from exhausting memory.
const MAX_PENDING: usize = 1 << 16;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Pending {
    Arrive(Action),
    Deliver { instrument: InstrumentId, exchange_ts: i64, body: EventBody },
    Timer(u64),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub(crate) time: i64,
    pub(crate) class: u8,
    pub(crate) ins: u64,
    pub(crate) what: Pending,
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

/// An amount of money: fixed-point with 8 decimals in an `i128` (never `f64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub i128);

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let sign = if v < 0 { "-" } else { "" };
        let a = v.unsigned_abs();
        let one = ONE as u128;
        let frac = format!("{:08}", a % one);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            write!(f, "{sign}{}", a / one)
        } else {
            write!(f, "{sign}{}.{frac}", a / one)
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct SimOrder {
    id: OrderId,
    instrument: InstrumentId,
    side: Side,
    px: i64,
    leaves: i64,
    /// Quantity ahead of us in the queue.
    ahead: i64,
    /// Book arrival stamp when we joined: orders with a smaller stamp are ahead.
    join_stamp: u64,
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

/// Counters of what a strategy asked the exchange to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExchangeStats {
    /// Orders placed (limit and market).
    pub orders: u64,
    /// Cancels requested.
    pub cancels: u64,
    /// Replaces requested.
    pub replaces: u64,
    /// Requests rejected.
    pub rejects: u64,
    /// Timers set.
    pub timers: u64,
    /// Signals published (recorded in the digest, not executed).
    pub signals: u64,
    /// Action records that did not decode.
    pub invalid_actions: u64,
    /// Timers or orders dropped because too many were pending.
    pub dropped: u64,
}

/// The result for one instrument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstrumentSummary {
    /// Instrument id.
    pub instrument: InstrumentId,
    /// Net position at the end.
    pub position: Qty,
    /// Quantity bought.
    pub bought: Qty,
    /// Quantity sold.
    pub sold: Qty,
    /// Fills as maker.
    pub maker_fills: u64,
    /// Fills as taker.
    pub taker_fills: u64,
    /// Cash flow of all fills (sells minus buys).
    pub cash: Money,
    /// Fees paid (negative: rebates received).
    pub fees: Money,
    /// Price the position is marked at (mid of the final book, else the last trade or quote).
    pub mark: Price,
    /// Cash + position × mark − fees.
    pub pnl: Money,
}

/// What a strategy's trading came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExchangeSummary {
    /// Per instrument traded (instruments without fills are left out).
    pub instruments: Vec<InstrumentSummary>,
    /// Request counters.
    pub stats: ExchangeStats,
    /// Orders still resting at the end.
    pub open_orders: usize,
    /// Total fills.
    pub fills: u64,
    /// Total PnL over all instruments (all assumed to be quoted in the same currency).
    pub pnl: Money,
    /// Total fees.
    pub fees: Money,
}

/// One strategy's simulated exchange session.
pub(crate) struct SimExchange {
    cfg: ExchangeConfig,
    ticks: Vec<i64>,
    orders: Vec<SimOrder>,
    open: Vec<u32>,
    pos: Vec<Position>,
    queue: BinaryHeap<Reverse<Item>>,
    next_ins: u64,
    last_trade: Vec<i64>,
    last_quote: Vec<Quote>,
    /// Local time of the last quote and of the last book change, per instrument.
    quote_time: Vec<i64>,
    book_time: Vec<i64>,
    pub(crate) stats: ExchangeStats,
}

#[inline]
fn crosses(side: Side, opposite_px: i64, px: i64) -> bool {
    match side {
        Side::Buy => opposite_px <= px,
        Side::Sell => opposite_px >= px,
    }
}

impl SimExchange {
    pub(crate) fn new(cfg: ExchangeConfig, instruments: &[InstrumentInfo]) -> Self {
        let n = instruments.len();
        Self {
            cfg,
            ticks: instruments.iter().map(|i| i.tick_size.0).collect(),
            orders: Vec::with_capacity(256),
            open: vec![0; n],
            pos: vec![Position::default(); n],
            queue: BinaryHeap::with_capacity(4096),
            next_ins: 0,
            last_trade: vec![0; n],
            last_quote: vec![Quote::default(); n],
            quote_time: vec![i64::MIN; n],
            book_time: vec![i64::MIN; n],
            stats: ExchangeStats::default(),
        }
    }

    fn push(&mut self, time: i64, class: u8, what: Pending) -> bool {
        if self.queue.len() >= MAX_PENDING {
            self.stats.dropped += 1;
            return false;
        }
        self.queue.push(Reverse(Item { time, class, ins: self.next_ins, what }));
        self.next_ins += 1;
        true
    }

    /// The next pending item's time and class.
    #[inline]
    pub(crate) fn peek(&self) -> Option<(i64, u8)> {
        self.queue.peek().map(|Reverse(i)| (i.time, i.class))
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Item> {
        self.queue.pop().map(|Reverse(i)| i)
    }

    /// Whether any order rests on `instrument`.
    #[cfg(test)]
    pub(crate) fn has_open(&self, instrument: InstrumentId) -> bool {
        self.open.get(usize::from(instrument)).is_some_and(|&n| n > 0)
    }

    /// Takes an action the strategy emitted at local time `now`.
    pub(crate) fn action(&mut self, a: Action, now: i64) {
        match a {
            Action::SetTimer { timer_id, at } => {
                self.stats.timers += 1;
                // Never in the past, never at the very same instant (no busy loops).
                self.push(at.0.max(now.saturating_add(1)), CLASS_TIMER, Pending::Timer(timer_id));
            }
            Action::Signal { .. } => self.stats.signals += 1,
            other => {
                let t = now.saturating_add(self.cfg.latency.entry.0);
                self.push(t, CLASS_ARRIVE, Pending::Arrive(other));
            }
        }
    }

    fn send(&mut self, t: i64, instrument: InstrumentId, body: EventBody) {
        let at = t.saturating_add(self.cfg.latency.feed.0);
        self.push(at, CLASS_DELIVER, Pending::Deliver { instrument, exchange_ts: t, body });
    }

    fn reject(&mut self, t: i64, instrument: InstrumentId, order_id: OrderId, reason: u32) {
        self.stats.rejects += 1;
        self.send(t, instrument, EventBody::Reject(Reject { order_id, reason }));
    }

    fn fee(&self, notional: i128, maker: bool) -> i128 {
        let bps = if maker { self.cfg.fees.maker_bps.0 } else { self.cfg.fees.taker_bps.0 };
        notional * i128::from(bps) / (10_000 * i128::from(ONE))
    }

    #[allow(clippy::too_many_arguments)]
    fn fill(
        &mut self,
        t: i64,
        instrument: InstrumentId,
        order_id: OrderId,
        side: Side,
        px: i64,
        qty: i64,
        leaves: i64,
        maker: bool,
    ) {
        let notional = i128::from(px) * i128::from(qty) / i128::from(ONE);
        let fee = self.fee(notional, maker);
        let p = &mut self.pos[usize::from(instrument)];
        match side {
            Side::Buy => {
                p.qty += qty;
                p.bought += qty;
                p.cash -= notional;
            }
            Side::Sell => {
                p.qty -= qty;
                p.sold += qty;
                p.cash += notional;
            }
        }
        p.fees += fee;
        if maker {
            p.maker_fills += 1;
        } else {
            p.taker_fills += 1;
        }
        let body = EventBody::Fill(Fill {
            order_id,
            side,
            px: Price(px),
            qty: Qty(qty),
            leaves: Qty(leaves),
        });
        self.send(t, instrument, body);
    }

    /// Takes liquidity from the opposite side up to `limit`; returns the quantity left.
    #[allow(clippy::too_many_arguments)]
    fn take(
        &mut self,
        t: i64,
        instrument: InstrumentId,
        order_id: OrderId,
        side: Side,
        limit: Option<i64>,
        qty: i64,
        book: &Book,
    ) -> i64 {
        let mut rem = qty;
        let ok = |px: i64| limit.is_none_or(|l| crosses(side, px, l));
        let ii = usize::from(instrument);
        let opp = side.opposite();
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
                self.fill(t, instrument, order_id, side, quoted.px.0, take, rem, false);
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
            self.fill(t, instrument, order_id, side, lvl.px.0, q, rem, false);
        }
        rem
    }

    fn valid_price(&self, instrument: InstrumentId, px: i64) -> bool {
        let tick = self.ticks[usize::from(instrument)];
        px > 0 && (tick <= 0 || px % tick == 0)
    }

    /// An action reaches the exchange at time `t`.
    pub(crate) fn arrive(&mut self, a: Action, t: i64, books: &[Book]) {
        match a {
            Action::PlaceLimit { instrument, order_id, side, px, qty } => {
                self.stats.orders += 1;
                if usize::from(instrument) >= books.len() {
                    return self.reject(t, instrument, order_id, reject_reason::UNKNOWN_INSTRUMENT);
                }
                if qty.0 <= 0 || !self.valid_price(instrument, px.0) {
                    return self.reject(t, instrument, order_id, reject_reason::INVALID);
                }
                if self.orders.iter().any(|o| o.id == order_id) {
                    return self.reject(t, instrument, order_id, reject_reason::DUPLICATE_ID);
                }
                let book = &books[usize::from(instrument)];
                self.send(t, instrument, EventBody::OrderAck(OrderAck { order_id, side, px, qty }));
                let rem = self.take(t, instrument, order_id, side, Some(px.0), qty.0, book);
                if rem > 0 {
                    self.rest(instrument, order_id, side, px.0, rem, book);
                }
            }
            Action::PlaceMarket { instrument, order_id, side, qty } => {
                self.stats.orders += 1;
                if usize::from(instrument) >= books.len() {
                    return self.reject(t, instrument, order_id, reject_reason::UNKNOWN_INSTRUMENT);
                }
                if qty.0 <= 0 {
                    return self.reject(t, instrument, order_id, reject_reason::INVALID);
                }
                let book = &books[usize::from(instrument)];
                self.send(
                    t,
                    instrument,
                    EventBody::OrderAck(OrderAck { order_id, side, px: Price::ZERO, qty }),
                );
                let rem = self.take(t, instrument, order_id, side, None, qty.0, book);
                if rem > 0 {
                    self.send(
                        t,
                        instrument,
                        EventBody::Canceled(Canceled { order_id, qty: Qty(rem) }),
                    );
                }
            }
            Action::Cancel { instrument, order_id } => {
                self.stats.cancels += 1;
                match self
                    .orders
                    .iter()
                    .position(|o| o.id == order_id && o.instrument == instrument)
                {
                    Some(i) => {
                        let o = self.orders.remove(i);
                        self.open[usize::from(o.instrument)] -= 1;
                        self.send(
                            t,
                            instrument,
                            EventBody::Canceled(Canceled { order_id, qty: Qty(o.leaves) }),
                        );
                    }
                    None => self.reject(t, instrument, order_id, reject_reason::UNKNOWN_ORDER),
                }
            }
            Action::Replace { instrument, order_id, px, qty } => {
                self.stats.replaces += 1;
                let Some(i) =
                    self.orders.iter().position(|o| o.id == order_id && o.instrument == instrument)
                else {
                    return self.reject(t, instrument, order_id, reject_reason::UNKNOWN_ORDER);
                };
                if qty.0 <= 0 || !self.valid_price(instrument, px.0) {
                    return self.reject(t, instrument, order_id, reject_reason::INVALID);
                }
                let mut o = self.orders.remove(i);
                self.open[usize::from(instrument)] -= 1;
                let book = &books[usize::from(instrument)];
                self.send(
                    t,
                    instrument,
                    EventBody::OrderAck(OrderAck { order_id, side: o.side, px, qty }),
                );
                if px.0 != o.px || qty.0 > o.leaves {
                    // Loses its place: it joins the back of the queue at the new price.
                    let rem = self.take(t, instrument, order_id, o.side, Some(px.0), qty.0, book);
                    if rem > 0 {
                        self.rest(instrument, order_id, o.side, px.0, rem, book);
                    }
                } else {
                    o.leaves = qty.0;
                    self.orders.insert(i, o);
                    self.open[usize::from(instrument)] += 1;
                }
            }
            Action::SetTimer { .. } | Action::Signal { .. } => {}
        }
    }

    fn rest(
        &mut self,
        instrument: InstrumentId,
        id: OrderId,
        side: Side,
        px: i64,
        qty: i64,
        book: &Book,
    ) {
        self.orders.push(SimOrder {
            id,
            instrument,
            side,
            px,
            leaves: qty,
            ahead: book.qty_at(side, Price(px)).0,
            join_stamp: book.stamp(),
        });
        self.open[usize::from(instrument)] += 1;
    }

    /// The market moved on `instrument` at time `t` (`applied` says how): update queue
    /// positions and fill resting orders.
    pub(crate) fn on_market(&mut self, instrument: InstrumentId, a: &Applied, t: i64) {
        let ii = usize::from(instrument);
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
        if self.open[ii] == 0 {
            return;
        }
        let mut i = 0;
        while i < self.orders.len() {
            let mut o = self.orders[i];
            if o.instrument != instrument {
                i += 1;
                continue;
            }
            let mut fill = 0i64;
            if let Some(tr) = a.trade {
                let resting = tr.aggressor.map(Side::opposite);
                if resting.is_none_or(|s| s == o.side) {
                    let through = match o.side {
                        Side::Buy => tr.px.0 < o.px,
                        Side::Sell => tr.px.0 > o.px,
                    };
                    if through {
                        fill = tr.qty.0;
                    } else if tr.px.0 == o.px {
                        fill = tr.qty.0 - o.ahead;
                        o.ahead = (o.ahead - tr.qty.0).max(0);
                    }
                }
            }
            if a.side == Some(o.side) && a.px.0 == o.px {
                if let Some(q) = a.level_set {
                    o.ahead = o.ahead.min(q.0);
                } else if a.removed.0 > 0 && a.removed_stamp < o.join_stamp {
                    o.ahead = (o.ahead - a.removed.0).max(0);
                }
            }
            // A quote whose other side crosses our price: that quantity would have traded
            // with us.
            if let Some(q) = a.quote {
                let l = if o.side == Side::Buy { q.ask } else { q.bid };
                if l.px.0 > 0 && crosses(o.side, l.px.0, o.px) {
                    fill = fill.max(l.qty.0);
                }
            }
            // Quantity arriving on the other side at a price that crosses ours would have
            // traded with us.
            if a.side == Some(o.side.opposite()) && a.added.0 > 0 && crosses(o.side, a.px.0, o.px) {
                fill = fill.max(a.added.0);
            }
            let q = fill.clamp(0, o.leaves);
            if q > 0 {
                o.leaves -= q;
                self.fill(t, instrument, o.id, o.side, o.px, q, o.leaves, true);
            }
            if o.leaves == 0 {
                self.orders.remove(i);
                self.open[ii] -= 1;
            } else {
                self.orders[i] = o;
                i += 1;
            }
        }
    }

    /// Positions, PnL and counters, marking positions on the final books.
    pub(crate) fn summary(&self, books: &[Book]) -> ExchangeSummary {
        let mut out = ExchangeSummary {
            stats: self.stats,
            open_orders: self.orders.len(),
            ..ExchangeSummary::default()
        };
        for (i, p) in self.pos.iter().enumerate() {
            if p.maker_fills + p.taker_fills == 0 {
                continue;
            }
            let b = &books[i];
            let q = self.last_quote[i];
            let mark = match (b.best(Side::Buy), b.best(Side::Sell)) {
                (Some(bid), Some(ask)) => (bid.px.0 + ask.px.0) / 2,
                _ if self.last_trade[i] > 0 => self.last_trade[i],
                _ if q.bid.px.0 > 0 && q.ask.px.0 > 0 => (q.bid.px.0 + q.ask.px.0) / 2,
                _ => 0,
            };
            let pnl = p.cash + i128::from(p.qty) * i128::from(mark) / i128::from(ONE) - p.fees;
            out.fills += p.maker_fills + p.taker_fills;
            out.pnl.0 += pnl;
            out.fees.0 += p.fees;
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
    use crate::tape::MarketEvent;

    fn info() -> Vec<InstrumentInfo> {
        vec![InstrumentInfo {
            id: 0,
            symbol: "T".into(),
            venue: "t".into(),
            tick_size: Price(ONE / 100),
            price_scale: 2,
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
                Pending::Arrive(a) => x.arrive(a, it.time, books),
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
        x.on_market(0, &a, 100_000);
        let a = books[0].apply(&MarketEvent::Cancel {
            order_id: 2,
            side: Side::Buy,
            px: p(10_000),
            qty: Qty(ONE),
        });
        x.on_market(0, &a, 100_000);
        assert!(drain(&mut x, &books).is_empty());
        // 6 trade at our price: 5 were ahead of us, we get 1.
        for (id, q) in [(1, 5), (2, 1)] {
            let a = books[0].apply(&MarketEvent::Execute {
                order_id: id,
                side: Side::Buy,
                px: p(10_000),
                qty: Qty(q * ONE),
            });
            x.on_market(0, &a, 200_000);
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
        x.on_market(0, &a, 300_000);
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
