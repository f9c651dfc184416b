//! Pairs trading by mean reversion: the spread `A − β·B` of two related instruments is
//! standardised over a rolling window; beyond the entry band the strategy sells the rich leg and
//! buys the cheap one, and flattens when the spread comes back inside the exit band.
//!
//! Model: E. Gatev, W. N. Goetzmann and K. G. Rouwenhorst, "Pairs trading: performance of a
//! relative-value arbitrage rule", *Review of Financial Studies* 19(3), 2006, with the z-score
//! entry/exit rule of G. Vidyamurthy, *Pairs Trading: Quantitative Methods and Analysis*, Wiley
//! 2004, and a fixed hedge ratio `β`.
//!
//! Statistics are exact: spreads are fixed-point integers in a ring buffer of `window` slots
//! allocated at init, and the running sums `Σx` and `Σx²` are `i128`, so adding and removing
//! samples never drifts. `z = (N·x − Σx) / sqrt(N·Σx² − (Σx)²)` (population variance, the
//! newest sample included) is the only float step: two exact conversions, one `sqrt`,
//! one division.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `leg_a` | 0 | instrument A |
//! | `leg_b` | 1 | instrument B (≠ A) |
//! | `hedge` | 2 | hedge ratio `β`: units of B per unit of A, spread = `A − β·B` (> 0, 8 places) |
//! | `window` | 200 | samples in the rolling window (2..=4096) |
//! | `entry_z` | 2 | enter when `|z| > entry_z` (> `exit_z`) |
//! | `exit_z` | 0.5 | leave a long spread at `z ≥ −exit_z`, a short one at `z ≤ exit_z` (≥ 0) |
//! | `qty` | 1 | units of A per position; B trades `β·qty` (rounded half up to 1e-8) (> 0) |
//! | `orders` | `market` | `market`, or `limit`: marketable limit at the other side's best price |
//!
//! A sample is taken on every quote, book or trade of either leg once both have a price (the
//! mid, or the trade price). Spreads larger than about 5.6 million price units are skipped.
//!
//! # Orders
//! A position is a target per leg (long spread: +qty A, −β·qty B; short: the opposite; flat: 0).
//! Each leg with no order in flight gets one order for the difference between target and
//! filled position, ids 1, 2, 3, … A limit order still open at the next sample is cancelled and
//! re-sent at the new touch once the cancel is confirmed. A rejected order is retried at the
//! next sample.
//!
//! # Signals (fixed-point 1e-8)
//! On leg A: [`SIG_SPREAD`] every sample, [`SIG_ZSCORE`] once the window is full,
//! [`SIG_STATE`] when the position changes; [`SIG_POSITION`] on the filled leg after each fill.
#![deny(unsafe_code)]

use lockstep_sdk::math;

use lockstep_sdk::{
    Actions, BookView, Canceled, EventHeader, Fill, InitError, InstrumentId, ONE, OrderId, Params,
    Price, Qty, Quote, Reject, Side, Strategy, Trade,
};

/// Catalog name.
pub const NAME: &str = "pairs";
/// One-line description for the catalog.
pub const SUMMARY: &str = "Pairs mean reversion: rolling z-score of A - beta*B on an exact ring buffer, entry/exit bands, two legs";
/// Parameters that work on the synthetic demo market (instrument 0 near 100, instrument 1 near 50).
pub const DEFAULT_PARAMS: &str =
    "leg_a=0;leg_b=1;hedge=2;window=200;entry_z=2;exit_z=0.5;qty=1;orders=market";
/// Accepted parameter keys.
pub const PARAMS: &[&str] =
    &["leg_a", "leg_b", "hedge", "window", "entry_z", "exit_z", "qty", "orders"];

/// Signal id: spread `A − β·B` (price units).
pub const SIG_SPREAD: u32 = 1;
/// Signal id: z-score of the spread over the window.
pub const SIG_ZSCORE: u32 = 2;
/// Signal id: position state, +1 long spread, −1 short spread, 0 flat.
pub const SIG_STATE: u32 = 3;
/// Signal id: filled position of a leg (on that leg's instrument).
pub const SIG_POSITION: u32 = 4;

/// Largest window accepted.
pub const MAX_WINDOW: usize = 4096;

/// Largest |sample| kept, in 1e-8 units of twice the spread: keeps `N·Σx²` inside `i128`.
const MAX_SAMPLE: u64 = 1 << 50;

/// Rolling mean and variance over a fixed window, exact in integers.
#[derive(Clone, Debug)]
pub struct Rolling {
    buf: Vec<i64>,
    next: usize,
    len: usize,
    sum: i128,
    sum_sq: i128,
}

impl Rolling {
    /// A window of `n` samples (`2 ≤ n ≤ MAX_WINDOW`), allocated here once.
    pub fn new(n: usize) -> Self {
        Self { buf: vec![0; n], next: 0, len: 0, sum: 0, sum_sq: 0 }
    }

    /// Adds a sample (`|x| ≤ 2^50`), dropping the oldest when full.
    pub fn push(&mut self, x: i64) {
        if self.len == self.buf.len() {
            let old = i128::from(self.buf[self.next]);
            self.sum -= old;
            self.sum_sq -= old * old;
        } else {
            self.len += 1;
        }
        self.buf[self.next] = x;
        self.next = (self.next + 1) % self.buf.len();
        let x = i128::from(x);
        self.sum += x;
        self.sum_sq += x * x;
    }

    /// Whether the window holds `n` samples.
    pub fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }

    /// z-score of `x` against the window: `(N·x − Σx) / sqrt(N·Σx² − (Σx)²)`; `None` until
    /// the window is full or while it is constant.
    pub fn zscore(&self, x: i64) -> Option<f64> {
        if !self.is_full() {
            return None;
        }
        let n = self.len as i128;
        let var_n2 = n * self.sum_sq - self.sum * self.sum;
        if var_n2 <= 0 {
            return None;
        }
        let num = n * i128::from(x) - self.sum;
        Some(num as f64 / math::sqrt(var_n2 as f64))
    }
}

/// Position state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No position.
    Flat,
    /// Long A, short B: entered when the spread was cheap.
    Long,
    /// Short A, long B: entered when the spread was rich.
    Short,
}

/// One leg: its price, position and the order in flight.
#[derive(Clone, Copy, Debug)]
struct Leg {
    instrument: InstrumentId,
    /// Twice the mid (bid + ask) or twice the trade price; 0 until known.
    px2: i64,
    bid: i64,
    ask: i64,
    position: i64,
    /// Position wanted when long the spread (A: +qty, B: −β·qty).
    long_target: i64,
    pending: Option<(OrderId, bool)>,
    cancel_sent: bool,
}

/// The pairs strategy.
#[derive(Clone, Debug)]
pub struct Pairs {
    legs: [Leg; 2],
    hedge: i64,
    entry_z: f64,
    exit_z: f64,
    limit_orders: bool,
    window: Rolling,
    state: State,
    next_id: OrderId,
}

/// `round(a·b / ONE)` half up, for `|a|, |b| < 2^64` (no intermediate overflows `i128`).
fn mul_fixed(a: i128, b: i128) -> i128 {
    let p = a * b;
    let (q, r) = (p.div_euclid(i128::from(ONE)), p.rem_euclid(i128::from(ONE)));
    if 2 * r >= i128::from(ONE) { q + 1 } else { q }
}

impl Pairs {
    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Filled position of leg A and leg B.
    pub fn positions(&self) -> (Qty, Qty) {
        (Qty(self.legs[0].position), Qty(self.legs[1].position))
    }

    fn leg_of(&self, instrument: InstrumentId) -> Option<usize> {
        self.legs.iter().position(|l| l.instrument == instrument)
    }

    fn target(&self, leg: usize) -> i64 {
        match self.state {
            State::Flat => 0,
            State::Long => self.legs[leg].long_target,
            State::Short => -self.legs[leg].long_target,
        }
    }

    /// Sends the order that moves `leg` toward its target, if nothing is in flight there.
    fn rebalance(&mut self, leg: usize, out: &mut Actions<'_>) {
        let target = self.target(leg);
        let id = self.next_id;
        let limit = self.limit_orders;
        let l = &mut self.legs[leg];
        if l.pending.is_some() {
            return;
        }
        let diff = target.saturating_sub(l.position);
        if diff == 0 || diff == i64::MIN {
            return;
        }
        let side = if diff > 0 { Side::Buy } else { Side::Sell };
        let qty = Qty(diff.abs());
        if limit {
            let px = if side == Side::Buy { l.ask } else { l.bid };
            if px <= 0 {
                return;
            }
            out.place_limit(l.instrument, id, side, Price(px), qty);
        } else {
            out.place_market(l.instrument, id, side, qty);
        }
        l.pending = Some((id, limit));
        l.cancel_sent = false;
        self.next_id += 1;
    }

    fn on_price(&mut self, h: &EventHeader, px2: Option<(i64, i64, i64)>, out: &mut Actions<'_>) {
        let (Some(leg), Some((px2, bid, ask))) = (self.leg_of(h.instrument), px2) else { return };
        let l = &mut self.legs[leg];
        l.px2 = px2;
        if bid > 0 && ask > 0 {
            (l.bid, l.ask) = (bid, ask);
        }
        let (a2, b2) = (self.legs[0].px2, self.legs[1].px2);
        if a2 <= 0 || b2 <= 0 {
            return;
        }
        let x = i128::from(a2) - mul_fixed(i128::from(self.hedge), i128::from(b2));
        let Some(x) = i64::try_from(x).ok().filter(|x| x.unsigned_abs() <= MAX_SAMPLE) else {
            return;
        };
        let a = self.legs[0].instrument;
        out.signal(a, SIG_SPREAD, (x + x.signum()) / 2);
        self.window.push(x);
        let Some(z) = self.window.zscore(x) else { return };
        out.signal_f64(a, SIG_ZSCORE, z);
        let next = match self.state {
            State::Flat if z > self.entry_z => State::Short,
            State::Flat if z < -self.entry_z => State::Long,
            State::Long if z >= -self.exit_z => State::Flat,
            State::Short if z <= self.exit_z => State::Flat,
            s => s,
        };
        if next != self.state {
            self.state = next;
            let v = match next {
                State::Flat => 0,
                State::Long => ONE,
                State::Short => -ONE,
            };
            out.signal(a, SIG_STATE, v);
        }
        for leg in 0..2 {
            let l = &mut self.legs[leg];
            if let Some((id, true)) = l.pending
                && !l.cancel_sent
            {
                l.cancel_sent = true;
                out.cancel(l.instrument, id);
            }
            self.rebalance(leg, out);
        }
    }

    /// The leg with order `id` in flight.
    fn pending_leg(&self, id: OrderId) -> Option<usize> {
        self.legs.iter().position(|l| l.pending.is_some_and(|p| p.0 == id))
    }
}

/// Twice the mid and the touch from best bid and ask, when both are present and not crossed.
fn from_top(bid: Price, ask: Price) -> Option<(i64, i64, i64)> {
    (bid.0 > 0 && ask.0 >= bid.0).then(|| (bid.0.saturating_add(ask.0), bid.0, ask.0))
}

impl Strategy for Pairs {
    fn init(params: &Params<'_>, _out: &mut Actions<'_>) -> Result<Self, InitError> {
        params.check_known(PARAMS)?;
        let (a, b) = (params.instrument_or("leg_a", 0)?, params.instrument_or("leg_b", 1)?);
        if a == b {
            return Err(params.out_of_range("leg_b", "must differ from `leg_a`").into());
        }
        let hedge = params.price_or("hedge", Price::from_units(2))?.0;
        if hedge <= 0 {
            return Err(params.out_of_range("hedge", "must be > 0").into());
        }
        let window = params.i64_or("window", 200)?;
        if !(2..=MAX_WINDOW as i64).contains(&window) {
            return Err(params.out_of_range("window", "must be within 2..=4096").into());
        }
        let entry_z = params.f64_or("entry_z", 2.0)?;
        let exit_z = params.f64_or("exit_z", 0.5)?;
        if exit_z < 0.0 {
            return Err(params.out_of_range("exit_z", "must be >= 0").into());
        }
        if entry_z <= exit_z {
            return Err(params.out_of_range("entry_z", "must be > exit_z").into());
        }
        let qty = params.qty_or("qty", Qty::from_units(1))?.0;
        if qty <= 0 {
            return Err(params.out_of_range("qty", "must be > 0").into());
        }
        let qty_b = i64::try_from(mul_fixed(i128::from(hedge), i128::from(qty)))
            .ok()
            .filter(|q| *q > 0)
            .ok_or_else(|| params.out_of_range("qty", "hedge*qty must be > 0 and in range"))?;
        let limit_orders = match params.get("orders").unwrap_or("market") {
            "market" => false,
            "limit" => true,
            _ => return Err(params.out_of_range("orders", "must be `market` or `limit`").into()),
        };
        let leg = |instrument, long_target| Leg {
            instrument,
            px2: 0,
            bid: 0,
            ask: 0,
            position: 0,
            long_target,
            pending: None,
            cancel_sent: false,
        };
        Ok(Self {
            legs: [leg(a, qty), leg(b, -qty_b)],
            hedge,
            entry_z,
            exit_z,
            limit_orders,
            window: Rolling::new(window as usize),
            state: State::Flat,
            next_id: 1,
        })
    }

    fn on_quote(&mut self, h: &EventHeader, q: &Quote, out: &mut Actions<'_>) {
        self.on_price(h, from_top(q.bid.px, q.ask.px), out);
    }

    fn on_book(&mut self, h: &EventHeader, book: &BookView<'_>, out: &mut Actions<'_>) {
        let top = match (book.bid(0), book.ask(0)) {
            (Some(b), Some(a)) => from_top(b.px, a.px),
            _ => None,
        };
        self.on_price(h, top, out);
    }

    fn on_trade(&mut self, h: &EventHeader, t: &Trade, out: &mut Actions<'_>) {
        let px2 = (t.px.0 > 0).then(|| (t.px.0.saturating_mul(2), 0, 0));
        self.on_price(h, px2, out);
    }

    fn on_fill(&mut self, _h: &EventHeader, f: &Fill, out: &mut Actions<'_>) {
        let Some(leg) = self.pending_leg(f.order_id) else { return };
        let l = &mut self.legs[leg];
        l.position = l.position.saturating_add(f.side.sign().saturating_mul(f.qty.0));
        out.signal(l.instrument, SIG_POSITION, l.position);
        if f.leaves.0 <= 0 {
            l.pending = None;
            self.rebalance(leg, out);
        }
    }

    fn on_canceled(&mut self, _h: &EventHeader, c: &Canceled, out: &mut Actions<'_>) {
        if let Some(leg) = self.pending_leg(c.order_id) {
            self.legs[leg].pending = None;
            self.rebalance(leg, out);
        }
    }

    fn on_reject(&mut self, _h: &EventHeader, r: &Reject, _out: &mut Actions<'_>) {
        if let Some(leg) = self.pending_leg(r.order_id)
            && !self.legs[leg].cancel_sent
        {
            self.legs[leg].pending = None;
        }
    }
}

lockstep_sdk::export_strategy!(Pairs);

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{
        Action, ActionRecord, Event, EventBody, Level, Nanos, NativeInstance, f64_to_fixed,
    };

    /// Mean and population standard deviation the obvious way, in floats.
    fn direct_z(window: &[f64], x: f64) -> f64 {
        let n = window.len() as f64;
        let mean = window.iter().sum::<f64>() / n;
        let var = window.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        (x - mean) / var.sqrt()
    }

    #[test]
    fn rolling_zscore_matches_a_direct_computation() {
        let mut r = Rolling::new(50);
        let mut all = Vec::new();
        let mut v = 1_000_000_000i64;
        for i in 0..1000i64 {
            v += (i * 7919 % 201) - 100 + if i % 97 == 0 { 5_000 } else { 0 };
            r.push(v);
            all.push(v as f64);
            match r.zscore(v) {
                None => assert!(i < 49),
                Some(z) => {
                    let w = &all[all.len() - 50..];
                    let d = direct_z(w, v as f64);
                    assert!((z - d).abs() < 1e-9 * (1.0 + d.abs()), "i={i}: {z} vs {d}");
                }
            }
        }
        // The sums are exact: after the window has rolled, they equal a fresh sum.
        let w: Vec<i128> = all[950..].iter().map(|x| *x as i128).collect();
        assert_eq!(r.sum, w.iter().sum::<i128>());
        assert_eq!(r.sum_sq, w.iter().map(|x| x * x).sum::<i128>());
        let mut flat = Rolling::new(3);
        (0..3).for_each(|_| flat.push(7));
        assert_eq!(flat.zscore(7), None);
    }

    fn quote(seq: u64, instrument: u16, bid: i64, ask: i64) -> lockstep_sdk::EventRecord {
        let l = |px| Level { px: Price(px), qty: Qty::from_units(1) };
        let h = EventHeader { seq, instrument, exchange_ts: Nanos(0), local_ts: Nanos(0) };
        Event { h, body: EventBody::Quote(Quote { bid: l(bid), ask: l(ask) }) }.encode()
    }
    fn decode(acts: &[ActionRecord]) -> Vec<Action> {
        acts.iter().map(|a| a.decode().unwrap()).collect()
    }
    fn fill(
        seq: u64,
        instrument: u16,
        id: OrderId,
        side: Side,
        qty: i64,
    ) -> lockstep_sdk::EventRecord {
        let h = EventHeader { seq, instrument, exchange_ts: Nanos(0), local_ts: Nanos(0) };
        let f = Fill { order_id: id, side, px: Price(1), qty: Qty(qty), leaves: Qty::ZERO };
        Event { h, body: EventBody::Fill(f) }.encode()
    }

    #[test]
    fn trades_the_spread_through_the_abi() {
        let mut s =
            NativeInstance::<Pairs>::new("window=4;entry_z=1.5;exit_z=0.5;hedge=2;qty=3").unwrap();
        let b = 5_000_000_000; // B stays at 50.00 bid/ask: 2·mid = 100.00
        assert!(decode(s.on_event(&quote(0, 1, b, b), None).unwrap()).is_empty());
        // A's mids give spreads A − 2·B of 0, 0.02, −0.02, 0.
        let mut spreads = Vec::new();
        for (i, a) in
            [10_000_000_000i64, 10_002_000_000, 9_998_000_000, 10_000_000_000].iter().enumerate()
        {
            let acts = decode(s.on_event(&quote(1 + i as u64, 0, *a, *a), None).unwrap());
            spreads.push((*a - 2 * b) as f64);
            assert_eq!(acts[0], Action::Signal { instrument: 0, id: SIG_SPREAD, value: a - 2 * b });
            assert_eq!(acts.len(), if i < 3 { 1 } else { 2 }, "{acts:?}");
        }
        // A jumps to 100.10: spread 0.10, z over [0.02, −0.02, 0, 0.10] is above 1.5 → short
        // the spread: sell 3 A, buy 6 B.
        let acts = decode(s.on_event(&quote(5, 0, 10_010_000_000, 10_010_000_000), None).unwrap());
        spreads.push(10_000_000.0);
        let z = direct_z(&spreads[1..], 10_000_000.0);
        assert!(z > 1.5);
        assert_eq!(
            acts,
            [
                Action::Signal { instrument: 0, id: SIG_SPREAD, value: 10_000_000 },
                Action::Signal { instrument: 0, id: SIG_ZSCORE, value: f64_to_fixed(z) },
                Action::Signal { instrument: 0, id: SIG_STATE, value: -ONE },
                Action::PlaceMarket {
                    instrument: 0,
                    order_id: 1,
                    side: Side::Sell,
                    qty: Qty(3 * ONE)
                },
                Action::PlaceMarket {
                    instrument: 1,
                    order_id: 2,
                    side: Side::Buy,
                    qty: Qty(6 * ONE)
                },
            ]
        );
        let a = decode(s.on_event(&fill(6, 0, 1, Side::Sell, 3 * ONE), None).unwrap());
        assert_eq!(a, [Action::Signal { instrument: 0, id: SIG_POSITION, value: -3 * ONE }]);
        s.on_event(&fill(7, 1, 2, Side::Buy, 6 * ONE), None).unwrap();
        assert_eq!(s.strategy().positions(), (Qty(-3 * ONE), Qty(6 * ONE)));
        assert_eq!(s.strategy().state(), State::Short);
        // Spread back to 0 over a window of [−0.02, 0, 0.10, 0]: z ≈ −0.5 ≤ 0.5 → flatten.
        let acts = decode(s.on_event(&quote(8, 0, 10_000_000_000, 10_000_000_000), None).unwrap());
        assert!(
            acts.contains(&Action::Signal { instrument: 0, id: SIG_STATE, value: 0 }),
            "{acts:?}"
        );
        assert!(acts.contains(&Action::PlaceMarket {
            instrument: 0,
            order_id: 3,
            side: Side::Buy,
            qty: Qty(3 * ONE)
        }));
        assert!(acts.contains(&Action::PlaceMarket {
            instrument: 1,
            order_id: 4,
            side: Side::Sell,
            qty: Qty(6 * ONE)
        }));
    }

    #[test]
    fn limit_orders_cross_the_touch_and_are_chased() {
        let p = "window=2;entry_z=0.5;exit_z=0.1;hedge=1;orders=limit";
        let mut s = NativeInstance::<Pairs>::new(p).unwrap();
        s.on_event(&quote(0, 1, 4_999_000_000, 5_001_000_000), None).unwrap();
        s.on_event(&quote(1, 0, 9_999_000_000, 10_001_000_000), None).unwrap();
        // Window of 2: any move gives z = ±1 → long the spread when A falls.
        let acts = decode(s.on_event(&quote(2, 0, 9_989_000_000, 9_991_000_000), None).unwrap());
        assert!(acts.contains(&Action::PlaceLimit {
            instrument: 0,
            order_id: 1,
            side: Side::Buy,
            px: Price(9_991_000_000),
            qty: Qty(ONE)
        }));
        assert!(acts.contains(&Action::PlaceLimit {
            instrument: 1,
            order_id: 2,
            side: Side::Sell,
            px: Price(4_999_000_000),
            qty: Qty(ONE)
        }));
        // Unfilled at the next sample: both are cancelled, and re-sent once confirmed.
        let acts = decode(s.on_event(&quote(3, 0, 9_988_000_000, 9_990_000_000), None).unwrap());
        assert!(acts.contains(&Action::Cancel { instrument: 0, order_id: 1 }));
        assert!(acts.contains(&Action::Cancel { instrument: 1, order_id: 2 }));
        let h = EventHeader { seq: 4, instrument: 0, exchange_ts: Nanos(0), local_ts: Nanos(0) };
        let gone = Event { h, body: EventBody::Canceled(Canceled { order_id: 1, qty: Qty(ONE) }) };
        let acts = decode(s.on_event(&gone.encode(), None).unwrap());
        assert_eq!(
            acts,
            [Action::PlaceLimit {
                instrument: 0,
                order_id: 3,
                side: Side::Buy,
                px: Price(9_990_000_000),
                qty: Qty(ONE)
            }]
        );
    }

    #[test]
    fn bad_parameters_are_refused_with_the_key() {
        for (p, key) in [
            ("leg_b=0", "leg_b"),
            ("hedge=0", "hedge"),
            ("window=1", "window"),
            ("window=5000", "window"),
            ("entry_z=0.4;exit_z=0.5", "entry_z"),
            ("exit_z=-1", "exit_z"),
            ("qty=0", "qty"),
            ("orders=iceberg", "orders"),
            ("lookback=3", "lookback"),
        ] {
            let e = NativeInstance::<Pairs>::new(p).err().expect(p).to_string();
            assert!(e.contains(&format!("`{key}`")), "{p}: {e}");
        }
    }
}
