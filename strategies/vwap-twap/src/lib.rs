//! VWAP / TWAP execution: works a parent order by releasing child orders on a schedule, by time
//! (TWAP) or by a share of the traded volume (VWAP), and finishes exactly at the parent size.
//!
//! Models: the time-weighted schedule releases `Q·k/n` by the `k`-th of `n` equal slices, the
//! linear trajectory that is optimal for a risk-neutral trader in R. Almgren and N. Chriss,
//! "Optimal execution of portfolio transactions", *Journal of Risk* 3(2), 2000. The
//! volume-participation schedule targets `ρ·V(t)` of the market volume `V` traded since the
//! start, which tracks the market's VWAP as the volume curve unfolds (the benchmark studied by
//! H. Konishi, "Optimal slice of a VWAP trade", *Journal of Financial Markets* 5(2), 2002).
//! Targets are floored to whole lots; arithmetic is exact integer.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `instrument` | 0 | instrument traded; its quotes/books give the touch, its trades the volume |
//! | `mode` | `twap` | `twap` (by time) or `vwap` (by participation in traded volume) |
//! | `side` | `buy` | `buy` or `sell` |
//! | `qty` | 100 | parent quantity (> 0) |
//! | `lot` | 1 | targets are whole multiples of this, except the last (> 0) |
//! | `start_ns` | first event | schedule start on the local clock |
//! | `duration_ns` | 120 s | schedule length (> 0); at `start + duration` the rest is swept |
//! | `interval_ns` | 10 s | TWAP slice spacing (> 0, ≤ `duration_ns`, at most 100000 slices; TWAP only) |
//! | `participation` | 0.1 | VWAP share of traded volume, in (0, 1] |
//! | `child` | `limit` | `limit` (passive, at our side's best price) or `market` |
//!
//! # Orders
//! One child at a time, ids 1, 2, 3, …, sized `target − filled`. TWAP slice `k` of `n` fires at
//! `start + (k−1)·interval` (timer id `k`) and raises the target to `floor_lot(Q·k/n)`, the last
//! to `Q`. VWAP raises it on each trade inside the window. A resting limit child whose target was
//! raised is cancelled and, once the cancel is confirmed, a new child is sent for the whole
//! outstanding amount at the current touch. At the end (timer id 0) any resting limit child is
//! cancelled and the remainder goes out as a market order. No child is ever larger than
//! `qty − filled`, so the parent is never over-filled. A rejected child is not retried until
//! the next slice, trade or the end.
//!
//! # Signals (on the instrument, fixed-point 1e-8)
//! [`SIG_TARGET`] when the schedule target rises; [`SIG_FILLED`] and [`SIG_AVG_PX`] after each
//! child fill.
#![deny(unsafe_code)]

use lockstep_sdk::{
    Actions, BookView, Canceled, EventHeader, Fill, InitError, InstrumentId, ONE, OrderId, Params,
    Price, Qty, Quote, Reject, Side, Strategy, Trade,
};

/// Catalog name.
pub const NAME: &str = "vwap-twap";
/// One-line description for the catalog.
pub const SUMMARY: &str = "VWAP/TWAP execution: slices a parent order by time or by share of traded volume, never over-fills";
/// Parameters that work on the synthetic demo market (instrument 0 near 100.00, a few minutes).
pub const DEFAULT_PARAMS: &str = "instrument=0;mode=twap;side=buy;qty=100;lot=1;duration_ns=120000000000;interval_ns=10000000000;participation=0.1;child=limit";
/// Accepted parameter keys.
pub const PARAMS: &[&str] = &[
    "instrument",
    "mode",
    "side",
    "qty",
    "lot",
    "start_ns",
    "duration_ns",
    "interval_ns",
    "participation",
    "child",
];

/// Signal id: schedule target (cumulative quantity that should be done by now).
pub const SIG_TARGET: u32 = 1;
/// Signal id: cumulative filled quantity.
pub const SIG_FILLED: u32 = 2;
/// Signal id: average fill price so far, rounded half up.
pub const SIG_AVG_PX: u32 = 3;

/// Timer id of the end-of-schedule sweep; slice timers are numbered from 1.
pub const TIMER_END: u64 = 0;

/// Most TWAP slices accepted.
pub const MAX_SLICES: i64 = 100_000;

/// How the schedule grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Equal slices over time.
    Twap,
    /// A fixed share of the market's traded volume.
    Vwap,
}

/// How children are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildType {
    /// Passive limit order at our side's best price.
    Limit,
    /// Market order.
    Market,
}

/// The child order in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Child {
    id: OrderId,
    market: bool,
    /// The schedule target it was sized for.
    target: i64,
    cancel_sent: bool,
}

/// The TWAP slice target: `floor_lot(qty·k/n)` for `k < n`, `qty` for `k ≥ n`.
pub fn twap_target(qty: i64, lot: i64, k: i64, n: i64) -> i64 {
    if k >= n {
        return qty;
    }
    let raw = i128::from(qty) * i128::from(k) / i128::from(n);
    (raw / i128::from(lot) * i128::from(lot)) as i64
}

/// The VWAP target: `min(qty, floor_lot(volume·participation))`, participation a mantissa.
pub fn vwap_target(qty: i64, lot: i64, volume: i128, participation: i64) -> i64 {
    let raw = volume.saturating_mul(i128::from(participation)) / i128::from(ONE);
    let lots = raw / i128::from(lot) * i128::from(lot);
    if lots >= i128::from(qty) { qty } else { lots as i64 }
}

/// The execution algorithm.
#[derive(Clone, Debug)]
pub struct VwapTwap {
    instrument: InstrumentId,
    mode: Mode,
    side: Side,
    qty: i64,
    lot: i64,
    start_ns: Option<i64>,
    duration_ns: i64,
    interval_ns: i64,
    slices: i64,
    participation: i64,
    child_type: ChildType,
    /// Timers set (the schedule has started).
    scheduled: bool,
    sweeping: bool,
    target: i64,
    filled: i64,
    /// Σ px·qty of fills, in 1e-16 units.
    notional: i128,
    volume: i128,
    best_bid: i64,
    best_ask: i64,
    next_id: OrderId,
    child: Option<Child>,
}

impl VwapTwap {
    /// Cumulative filled quantity.
    pub fn filled(&self) -> Qty {
        Qty(self.filled)
    }

    /// Sets the schedule's timers once, at init when `start_ns` is given, else at the first event.
    fn schedule(&mut self, now: i64, out: &mut Actions<'_>) {
        if self.scheduled {
            return;
        }
        self.scheduled = true;
        let start = *self.start_ns.get_or_insert(now);
        if self.mode == Mode::Twap {
            out.set_timer(1, lockstep_sdk::Nanos(start));
        }
        out.set_timer(TIMER_END, lockstep_sdk::Nanos(start.saturating_add(self.duration_ns)));
    }

    fn in_window(&self, now: i64) -> bool {
        self.start_ns.is_some_and(|s| now >= s && now < s.saturating_add(self.duration_ns))
    }

    fn raise_target(&mut self, target: i64, out: &mut Actions<'_>) {
        if target > self.target {
            self.target = target;
            out.signal(self.instrument, SIG_TARGET, target);
        }
    }

    /// Sends, cancels or waits so the child in flight matches the schedule.
    fn act(&mut self, out: &mut Actions<'_>) {
        let remaining = self.qty.saturating_sub(self.filled);
        if remaining <= 0 {
            return;
        }
        if let Some(c) = self.child.as_mut() {
            let stale = if self.sweeping { !c.market } else { c.target < self.target };
            if stale && !c.cancel_sent {
                c.cancel_sent = true;
                out.cancel(self.instrument, c.id);
            }
            return;
        }
        let (market, size) = if self.sweeping {
            (true, remaining)
        } else {
            (
                self.child_type == ChildType::Market,
                self.target.saturating_sub(self.filled).min(remaining),
            )
        };
        if size <= 0 {
            return;
        }
        let id = self.next_id;
        if market {
            out.place_market(self.instrument, id, self.side, Qty(size));
        } else {
            let touch = match self.side {
                Side::Buy => self.best_bid,
                Side::Sell => self.best_ask,
            };
            if touch <= 0 {
                return;
            }
            out.place_limit(self.instrument, id, self.side, Price(touch), Qty(size));
        }
        self.next_id += 1;
        self.child = Some(Child { id, market, target: self.target, cancel_sent: false });
    }

    fn on_touch(&mut self, h: &EventHeader, bid: Price, ask: Price, out: &mut Actions<'_>) {
        self.schedule(h.local_ts.0, out);
        if h.instrument == self.instrument {
            self.best_bid = bid.0;
            self.best_ask = ask.0;
        }
    }

    fn ours(&self, id: OrderId) -> bool {
        self.child.is_some_and(|c| c.id == id)
    }
}

impl Strategy for VwapTwap {
    fn init(params: &Params<'_>, out: &mut Actions<'_>) -> Result<Self, InitError> {
        params.check_known(PARAMS)?;
        let instrument = params.instrument_or("instrument", 0)?;
        let mode = match params.get("mode").unwrap_or("twap") {
            "twap" => Mode::Twap,
            "vwap" => Mode::Vwap,
            _ => return Err(params.out_of_range("mode", "must be `twap` or `vwap`").into()),
        };
        let side = match params.get("side").unwrap_or("buy") {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return Err(params.out_of_range("side", "must be `buy` or `sell`").into()),
        };
        let child_type = match params.get("child").unwrap_or("limit") {
            "limit" => ChildType::Limit,
            "market" => ChildType::Market,
            _ => return Err(params.out_of_range("child", "must be `limit` or `market`").into()),
        };
        let qty = params.qty_or("qty", Qty::from_units(100))?.0;
        if qty <= 0 {
            return Err(params.out_of_range("qty", "must be > 0").into());
        }
        let lot = params.qty_or("lot", Qty::from_units(1))?.0;
        if lot <= 0 {
            return Err(params.out_of_range("lot", "must be > 0").into());
        }
        let start_ns = match params.get("start_ns") {
            Some(_) => Some(params.i64_or("start_ns", 0)?),
            None => None,
        };
        let duration_ns = params.i64_or("duration_ns", 120_000_000_000)?;
        if duration_ns <= 0 {
            return Err(params.out_of_range("duration_ns", "must be > 0").into());
        }
        let interval_ns = params.i64_or("interval_ns", 10_000_000_000)?;
        let mut slices = 1;
        if mode == Mode::Twap {
            if interval_ns <= 0 || interval_ns > duration_ns {
                return Err(params
                    .out_of_range("interval_ns", "must be > 0 and <= duration_ns")
                    .into());
            }
            slices = duration_ns.div_euclid(interval_ns)
                + i64::from(duration_ns.rem_euclid(interval_ns) != 0);
            if slices > MAX_SLICES {
                return Err(params
                    .out_of_range(
                        "interval_ns",
                        "duration_ns/interval_ns must be at most 100000 slices",
                    )
                    .into());
            }
        }
        let participation = params.price_or("participation", Price(10_000_000))?.0;
        if participation <= 0 || participation > ONE {
            return Err(params.out_of_range("participation", "must be > 0 and <= 1").into());
        }
        let mut s = Self {
            instrument,
            mode,
            side,
            qty,
            lot,
            start_ns,
            duration_ns,
            interval_ns,
            slices,
            participation,
            child_type,
            scheduled: false,
            sweeping: false,
            target: 0,
            filled: 0,
            notional: 0,
            volume: 0,
            best_bid: 0,
            best_ask: 0,
            next_id: 1,
            child: None,
        };
        if let Some(start) = start_ns {
            s.schedule(start, out);
        }
        Ok(s)
    }

    fn on_quote(&mut self, h: &EventHeader, q: &Quote, out: &mut Actions<'_>) {
        self.on_touch(h, q.bid.px, q.ask.px, out);
    }

    fn on_book(&mut self, h: &EventHeader, book: &BookView<'_>, out: &mut Actions<'_>) {
        let bid = book.bid(0).map_or(Price::ZERO, |l| l.px);
        let ask = book.ask(0).map_or(Price::ZERO, |l| l.px);
        self.on_touch(h, bid, ask, out);
    }

    fn on_trade(&mut self, h: &EventHeader, t: &Trade, out: &mut Actions<'_>) {
        self.schedule(h.local_ts.0, out);
        let counts = self.mode == Mode::Vwap
            && h.instrument == self.instrument
            && !self.sweeping
            && t.qty.0 > 0
            && self.in_window(h.local_ts.0);
        if counts {
            self.volume = self.volume.saturating_add(i128::from(t.qty.0));
            let target = vwap_target(self.qty, self.lot, self.volume, self.participation);
            self.raise_target(target, out);
            self.act(out);
        }
    }

    fn on_timer(&mut self, h: &EventHeader, id: u64, out: &mut Actions<'_>) {
        self.schedule(h.local_ts.0, out);
        let Some(start) = self.start_ns else { return };
        if id == TIMER_END {
            if !self.sweeping {
                self.sweeping = true;
                self.raise_target(self.qty, out);
                self.act(out);
            }
            return;
        }
        let k = i64::try_from(id).unwrap_or(i64::MAX);
        if self.mode != Mode::Twap || self.sweeping || k > self.slices {
            return;
        }
        self.raise_target(twap_target(self.qty, self.lot, k, self.slices), out);
        self.act(out);
        if k < self.slices {
            let at = start.saturating_add(self.interval_ns.saturating_mul(k));
            out.set_timer(id + 1, lockstep_sdk::Nanos(at));
        }
    }

    fn on_fill(&mut self, h: &EventHeader, f: &Fill, out: &mut Actions<'_>) {
        self.schedule(h.local_ts.0, out);
        if !self.ours(f.order_id) || f.qty.0 <= 0 {
            return;
        }
        self.filled = self.filled.saturating_add(f.qty.0);
        self.notional = self.notional.saturating_add(i128::from(f.px.0) * i128::from(f.qty.0));
        // Σpx·qty / Σqty rounded half up, without forming 2·notional.
        let filled = i128::from(self.filled);
        let (q, r) = (self.notional.div_euclid(filled), self.notional.rem_euclid(filled));
        let avg = if r >= filled - r { q + 1 } else { q };
        out.signal(self.instrument, SIG_FILLED, self.filled);
        out.signal(self.instrument, SIG_AVG_PX, i64::try_from(avg).unwrap_or(i64::MIN));
        if f.leaves.0 <= 0 {
            self.child = None;
            self.act(out);
        }
    }

    fn on_canceled(&mut self, h: &EventHeader, c: &Canceled, out: &mut Actions<'_>) {
        self.schedule(h.local_ts.0, out);
        if self.ours(c.order_id) {
            self.child = None;
            self.act(out);
        }
    }

    fn on_reject(&mut self, h: &EventHeader, r: &Reject, out: &mut Actions<'_>) {
        self.schedule(h.local_ts.0, out);
        if let Some(c) = self.child
            && c.id == r.order_id
            && !c.cancel_sent
        {
            // The child itself was refused (a refused cancel leaves it working).
            self.child = None;
        }
    }
}

lockstep_sdk::export_strategy!(VwapTwap);

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{Action, ActionRecord, Event, EventBody, Level, Nanos, NativeInstance};

    fn u(n: i64) -> i64 {
        n * ONE
    }
    fn ev(seq: u64, ts: i64, body: EventBody) -> lockstep_sdk::EventRecord {
        let h = EventHeader { seq, instrument: 0, exchange_ts: Nanos(ts), local_ts: Nanos(ts) };
        Event { h, body }.encode()
    }
    fn decode(acts: &[ActionRecord]) -> Vec<Action> {
        acts.iter().map(|a| a.decode().unwrap()).collect()
    }
    fn fill(id: OrderId, qty: i64, leaves: i64) -> EventBody {
        EventBody::Fill(Fill {
            order_id: id,
            side: Side::Buy,
            px: Price::from_units(100),
            qty: Qty(qty),
            leaves: Qty(leaves),
        })
    }
    fn quote(bid: &str, ask: &str) -> EventBody {
        let l = |p: &str| Level { px: Price::parse(p).unwrap(), qty: Qty::from_units(1) };
        EventBody::Quote(Quote { bid: l(bid), ask: l(ask) })
    }

    #[test]
    fn schedule_targets() {
        assert_eq!([1, 2, 3].map(|k| twap_target(u(10), u(1), k, 3)), [u(3), u(6), u(10)]);
        assert_eq!(twap_target(u(10), u(4), 1, 3), 0);
        assert_eq!(twap_target(u(10), u(4), 2, 3), u(4));
        assert_eq!(vwap_target(u(100), u(1), i128::from(u(25)), 10_000_000), u(2));
        assert_eq!(vwap_target(u(3), u(1), i128::from(u(1_000)), 10_000_000), u(3));
    }

    #[test]
    fn twap_market_slices_sum_to_the_parent() {
        let p = "qty=10;child=market;start_ns=0;duration_ns=30;interval_ns=10";
        let mut s = NativeInstance::<VwapTwap>::new(p).unwrap();
        assert_eq!(
            decode(s.actions()),
            [
                Action::SetTimer { timer_id: 1, at: Nanos(0) },
                Action::SetTimer { timer_id: TIMER_END, at: Nanos(30) }
            ]
        );
        let mut children = Vec::new();
        for (k, ts) in [(1u64, 0i64), (2, 10), (3, 20)] {
            let a = decode(s.on_event(&ev(k, ts, EventBody::Timer(k)), None).unwrap());
            let (id, qty) = a
                .iter()
                .find_map(|x| match x {
                    Action::PlaceMarket { order_id, qty, side: Side::Buy, .. } => {
                        Some((*order_id, qty.0))
                    }
                    _ => None,
                })
                .expect("a child per slice");
            assert_eq!(
                a.contains(&Action::SetTimer { timer_id: k + 1, at: Nanos(ts + 10) }),
                k < 3
            );
            children.push(qty);
            s.on_event(&ev(10 + k, ts, fill(id, qty, 0)), None).unwrap();
        }
        assert_eq!(children, [u(3), u(3), u(4)]);
        assert_eq!(s.strategy().filled(), Qty(u(10)));
        // The end sweep has nothing left to do.
        assert!(s.on_event(&ev(20, 30, EventBody::Timer(TIMER_END)), None).unwrap().is_empty());
    }

    #[test]
    fn limit_children_are_reposted_and_swept_without_overfill() {
        let p = "qty=10;child=limit;start_ns=0;duration_ns=30;interval_ns=10";
        let mut s = NativeInstance::<VwapTwap>::new(p).unwrap();
        s.on_event(&ev(1, 0, quote("99.99", "100.01")), None).unwrap();
        let a = decode(s.on_event(&ev(2, 0, EventBody::Timer(1)), None).unwrap());
        assert!(a.contains(&Action::PlaceLimit {
            instrument: 0,
            order_id: 1,
            side: Side::Buy,
            px: Price::parse("99.99").unwrap(),
            qty: Qty(u(3)),
        }));
        // Slice 2 raises the target: the resting child is cancelled, not topped up.
        s.on_event(&ev(3, 5, quote("99.98", "100.00")), None).unwrap();
        let a = decode(s.on_event(&ev(4, 10, EventBody::Timer(2)), None).unwrap());
        assert!(a.contains(&Action::Cancel { instrument: 0, order_id: 1 }));
        // A fill races the cancel; the repost covers only what is still missing.
        s.on_event(&ev(5, 11, fill(1, u(1), u(2))), None).unwrap();
        let gone = EventBody::Canceled(Canceled { order_id: 1, qty: Qty(u(2)) });
        let a = decode(s.on_event(&ev(6, 12, gone), None).unwrap());
        assert_eq!(
            a,
            [Action::PlaceLimit {
                instrument: 0,
                order_id: 2,
                side: Side::Buy,
                px: Price::parse("99.98").unwrap(),
                qty: Qty(u(5)),
            }]
        );
        // The end: cancel the resting child, then sweep the rest with a market order.
        let a = decode(s.on_event(&ev(7, 30, EventBody::Timer(TIMER_END)), None).unwrap());
        assert!(a.contains(&Action::Cancel { instrument: 0, order_id: 2 }));
        let gone = EventBody::Canceled(Canceled { order_id: 2, qty: Qty(u(5)) });
        let a = decode(s.on_event(&ev(8, 31, gone), None).unwrap());
        assert_eq!(
            a,
            [Action::PlaceMarket { instrument: 0, order_id: 3, side: Side::Buy, qty: Qty(u(9)) }]
        );
        let a = decode(s.on_event(&ev(9, 32, fill(3, u(9), 0)), None).unwrap());
        assert_eq!(
            a,
            [
                Action::Signal { instrument: 0, id: SIG_FILLED, value: u(10) },
                Action::Signal { instrument: 0, id: SIG_AVG_PX, value: u(100) }
            ]
        );
        // A late slice timer after the sweep changes nothing.
        assert!(s.on_event(&ev(10, 33, EventBody::Timer(3)), None).unwrap().is_empty());
    }

    #[test]
    fn vwap_follows_traded_volume() {
        let p = "mode=vwap;side=sell;qty=5;participation=0.1;child=market;duration_ns=1000";
        let mut s = NativeInstance::<VwapTwap>::new(p).unwrap();
        assert!(s.actions().is_empty(), "no start_ns: timers wait for the first event");
        let trade = |q: i64| {
            EventBody::Trade(Trade { px: Price::from_units(50), qty: Qty(u(q)), aggressor: None })
        };
        let a = decode(s.on_event(&ev(1, 100, trade(5)), None).unwrap());
        assert_eq!(a, [Action::SetTimer { timer_id: TIMER_END, at: Nanos(1100) }]);
        // Volume 10 → target 1 lot.
        let a = decode(s.on_event(&ev(2, 200, trade(5)), None).unwrap());
        assert_eq!(
            a,
            [
                Action::Signal { instrument: 0, id: SIG_TARGET, value: u(1) },
                Action::PlaceMarket {
                    instrument: 0,
                    order_id: 1,
                    side: Side::Sell,
                    qty: Qty(u(1))
                }
            ]
        );
        // Trades outside the window do not count.
        let a = decode(s.on_event(&ev(3, 1100, trade(500)), None).unwrap());
        assert!(a.is_empty());
    }

    /// A small deterministic venue: acks everything, fills market orders at once and limit
    /// orders a pseudo-random part at a time, confirms cancels. Checks the parent is never
    /// over-filled and always completes.
    #[test]
    fn randomised_venue_never_overfills() {
        let mut rng = lockstep_sdk::SplitMix64::new(0x2545_f491_4f6c_dd1d);
        let mut next = move |n: u64| rng.below(n);
        for case in 0..40 {
            let mode = if case % 2 == 0 { "twap" } else { "vwap" };
            let qty = 1 + next(50) as i64;
            let p = format!(
                "mode={mode};qty={qty};lot=1;child=limit;participation=0.3;start_ns=0;duration_ns=1000;interval_ns={}",
                1 + next(300)
            );
            let mut s = NativeInstance::<VwapTwap>::new(&p).unwrap();
            let mut timers: Vec<(i64, u64)> = Vec::new();
            let mut open: Vec<(OrderId, i64)> = Vec::new();
            let mut pending: Vec<EventBody> = Vec::new();
            let mut filled = 0i64;
            let mut seq = 0u64;
            let handle = |acts: Vec<Action>,
                          timers: &mut Vec<(i64, u64)>,
                          open: &mut Vec<(OrderId, i64)>,
                          pending: &mut Vec<EventBody>| {
                for a in acts {
                    match a {
                        Action::SetTimer { timer_id, at } => timers.push((at.0, timer_id)),
                        Action::PlaceMarket { order_id, qty, .. } => {
                            pending.push(fill(order_id, qty.0, 0));
                        }
                        Action::PlaceLimit { order_id, qty, .. } => open.push((order_id, qty.0)),
                        Action::Cancel { order_id, .. } => {
                            if let Some(i) = open.iter().position(|o| o.0 == order_id) {
                                let (_, q) = open.remove(i);
                                pending
                                    .push(EventBody::Canceled(Canceled { order_id, qty: Qty(q) }));
                            }
                        }
                        _ => {}
                    }
                }
            };
            handle(decode(s.actions()), &mut timers, &mut open, &mut pending);
            for t in (0..1200).step_by(7) {
                seq += 1;
                let body = if t % 2 == 0 {
                    quote("99.99", "100.01")
                } else {
                    EventBody::Trade(Trade {
                        px: Price::from_units(100),
                        qty: Qty(u(1)),
                        aggressor: None,
                    })
                };
                let mut queue = vec![body];
                timers.sort();
                while timers.first().is_some_and(|x| x.0 <= t) {
                    queue.push(EventBody::Timer(timers.remove(0).1));
                }
                if !open.is_empty() && next(3) == 0 {
                    let i = next(open.len() as u64) as usize;
                    let q = 1 + next(open[i].1 as u64) as i64;
                    open[i].1 -= q;
                    queue.push(fill(open[i].0, q, open[i].1));
                    if open[i].1 == 0 {
                        open.remove(i);
                    }
                }
                while !queue.is_empty() || !pending.is_empty() {
                    let body = if queue.is_empty() { pending.remove(0) } else { queue.remove(0) };
                    if let EventBody::Fill(f) = body {
                        filled += f.qty.0;
                    }
                    let acts = decode(s.on_event(&ev(seq, t, body), None).unwrap());
                    handle(acts, &mut timers, &mut open, &mut pending);
                    let working: i64 = open.iter().map(|o| o.1).sum();
                    assert!(filled + working <= u(qty), "{p}: over-committed at t={t}");
                }
            }
            assert_eq!(filled, u(qty), "{p}: parent not completed");
            assert_eq!(s.strategy().filled(), Qty(u(qty)));
        }
    }

    #[test]
    fn bad_parameters_are_refused_with_the_key() {
        for (p, key) in [
            ("mode=pov", "mode"),
            ("side=short", "side"),
            ("child=iceberg", "child"),
            ("qty=0", "qty"),
            ("lot=-1", "lot"),
            ("duration_ns=0", "duration_ns"),
            ("interval_ns=0", "interval_ns"),
            ("duration_ns=10;interval_ns=11", "interval_ns"),
            ("duration_ns=1000000;interval_ns=1", "interval_ns"),
            ("participation=0", "participation"),
            ("participation=1.5", "participation"),
            ("slices=4", "slices"),
        ] {
            let e = NativeInstance::<VwapTwap>::new(p).err().expect(p).to_string();
            assert!(e.contains(&format!("`{key}`")), "{p}: {e}");
        }
    }
}
