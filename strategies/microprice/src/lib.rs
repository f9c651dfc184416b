//! Microprice quoter: estimates the fair value from the order-book imbalance of the top levels
//! and keeps one bid and one ask around it.
//!
//! Model: S. Stoikov, "The micro-price: a high-frequency estimator of future prices",
//! *Quantitative Finance* 18(12), 2018, pp. 1959–1966. This strategy uses the imbalance-weighted
//! mid, the first-order micro-price of that paper: with `I = Qb / (Qb + Qa)` over the top
//! `levels` levels, `micro = mid + spread·(I − ½) = bid + (ask − bid)·I`.
//!
//! Arithmetic is exact integer (`i128` on the fixed-point mantissas): the microprice is kept as a
//! fraction, so the tick rounding of the quotes never sees an intermediate rounding.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `instrument` | 0 | instrument quoted; its books (L2) and quotes (L1) drive the estimate |
//! | `levels` | 3 | book levels per side summed into `Qb` and `Qa` (1..=10; quotes give 1) |
//! | `tick` | 0.01 | price tick (> 0) |
//! | `half_spread_ticks` | 1 | bid at `floor(micro − n·tick)`, ask at `ceil(micro + n·tick)` (1..=10000) |
//! | `order_qty` | 1 | size of each quote (> 0) |
//! | `max_inventory` | 10 | no new bid at inventory ≥ this, no new ask at ≤ −this (> 0) |
//!
//! # Orders
//! One bid and one ask with ids 1, 2, 3, …: placed when a side is empty, replaced once
//! acknowledged whenever the wanted price moves, cancelled when an inventory limit is reached.
//!
//! # Signals (on the quoted instrument, fixed-point 1e-8)
//! [`SIG_MICROPRICE`] and [`SIG_IMBALANCE`] after every usable book or quote (both sides
//! present, not crossed, some size); [`SIG_INVENTORY`] after each of our fills.
#![deny(unsafe_code)]

use lockstep_sdk::TwoSidedQuoter as TwoSided;
use lockstep_sdk::{
    Actions, BOOK_LEVELS, BookView, Canceled, EventHeader, Fill, InitError, InstrumentId, ONE,
    OrderAck, Params, Price, Qty, Quote, Reject, Side, Strategy,
};

/// Catalog name.
pub const NAME: &str = "microprice";
/// One-line description for the catalog.
pub const SUMMARY: &str = "Stoikov microprice quoter: order-book imbalance fair value from the top levels, two-sided quotes around it";
/// Parameters that work on the synthetic demo market (instrument 0 near 100.00, tick 0.01).
pub const DEFAULT_PARAMS: &str =
    "instrument=0;levels=3;tick=0.01;half_spread_ticks=1;order_qty=1;max_inventory=10";
/// Accepted parameter keys.
pub const PARAMS: &[&str] =
    &["instrument", "levels", "tick", "half_spread_ticks", "order_qty", "max_inventory"];

/// Signal id: microprice, rounded half up to 1e-8.
pub const SIG_MICROPRICE: u32 = 1;
/// Signal id: imbalance `I = Qb / (Qb + Qa)` in [0, 1], rounded half up to 1e-8.
pub const SIG_IMBALANCE: u32 = 2;
/// Signal id: inventory (filled buys minus filled sells).
pub const SIG_INVENTORY: u32 = 3;

/// The microprice as the exact fraction `num / den` of fixed-point units (`den > 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Micro {
    /// Numerator: `bid·D + (ask − bid)·Qb` with `D = Qb + Qa`.
    pub num: i128,
    /// Denominator `D = Qb + Qa`.
    pub den: i128,
    /// Bid size `Qb`.
    pub bid_qty: i128,
}

/// `round(num / den)` half up, for `den > 0`.
fn div_round(num: i128, den: i128) -> i128 {
    let q = num.div_euclid(den);
    if 2 * num.rem_euclid(den) >= den { q + 1 } else { q }
}

impl Micro {
    /// Stoikov's weighted mid from the best prices and the summed sizes of each side; `None`
    /// when a side is empty, the book is crossed, or there is no size.
    pub fn new(bid: Price, ask: Price, bid_qty: i128, ask_qty: i128) -> Option<Self> {
        let den = bid_qty.checked_add(ask_qty)?;
        if bid.0 <= 0 || ask.0 < bid.0 || bid_qty < 0 || ask_qty < 0 || den <= 0 {
            return None;
        }
        let spread = i128::from(ask.0 - bid.0);
        let num = i128::from(bid.0).checked_mul(den)?.checked_add(spread.checked_mul(bid_qty)?)?;
        Some(Self { num, den, bid_qty })
    }

    /// The microprice rounded half up to the fixed-point grid.
    pub fn price(&self) -> i64 {
        div_round(self.num, self.den) as i64
    }

    /// The imbalance `Qb / (Qb + Qa)` as a fixed-point mantissa, rounded half up.
    pub fn imbalance(&self) -> i64 {
        div_round(self.bid_qty * i128::from(ONE), self.den) as i64
    }

    /// Bid at `floor(micro − half)` and ask at `ceil(micro + half)` on the `tick` grid, where
    /// `half` is a mantissa. `None` if out of range.
    pub fn quotes(&self, half: i64, tick: i64) -> Option<(Price, Price)> {
        let (half, tick) = (i128::from(half), i128::from(tick));
        let lo = self.num.checked_sub(half.checked_mul(self.den)?)?;
        let hi = self.num.checked_add(half.checked_mul(self.den)?)?;
        let step = tick.checked_mul(self.den)?;
        let bid = lo.div_euclid(step) * tick;
        let ask = (hi.div_euclid(step) + i128::from(hi.rem_euclid(step) != 0)) * tick;
        Some((Price(i64::try_from(bid).ok()?), Price(i64::try_from(ask).ok()?)))
    }
}

/// The microprice quoter.
#[derive(Clone, Debug)]
pub struct Microprice {
    instrument: InstrumentId,
    levels: usize,
    tick: i64,
    half: i64,
    max_inventory: i64,
    inventory: i64,
    quotes: TwoSided,
}

impl Microprice {
    /// Current inventory as a fixed-point quantity.
    pub fn inventory(&self) -> Qty {
        Qty(self.inventory)
    }

    fn update(&mut self, m: Option<Micro>, out: &mut Actions<'_>) {
        let Some(m) = m else { return };
        out.signal(self.instrument, SIG_MICROPRICE, m.price());
        out.signal(self.instrument, SIG_IMBALANCE, m.imbalance());
        let Some((bid, ask)) = m.quotes(self.half, self.tick) else { return };
        let want_bid = (bid.0 > 0 && self.inventory < self.max_inventory).then_some(bid);
        let want_ask = (self.inventory > -self.max_inventory).then_some(ask);
        self.quotes.sync(Side::Buy, want_bid, out);
        self.quotes.sync(Side::Sell, want_ask, out);
    }
}

impl Strategy for Microprice {
    fn init(params: &Params<'_>, _out: &mut Actions<'_>) -> Result<Self, InitError> {
        params.check_known(PARAMS)?;
        let instrument = params.instrument_or("instrument", 0)?;
        let levels = params.i64_or("levels", 3)?;
        if !(1..=BOOK_LEVELS as i64).contains(&levels) {
            return Err(params.out_of_range("levels", "must be within 1..=10").into());
        }
        let tick = params.price_or("tick", Price(1_000_000))?;
        if tick.0 <= 0 {
            return Err(params.out_of_range("tick", "must be > 0").into());
        }
        let half_ticks = params.i64_or("half_spread_ticks", 1)?;
        if !(1..=10_000).contains(&half_ticks) {
            return Err(params
                .out_of_range("half_spread_ticks", "must be within 1..=10000")
                .into());
        }
        let half = tick.0.checked_mul(half_ticks).ok_or_else(|| {
            params.out_of_range("half_spread_ticks", "half_spread_ticks*tick is too large")
        })?;
        let order_qty = params.qty_or("order_qty", Qty::from_units(1))?;
        if order_qty.0 <= 0 {
            return Err(params.out_of_range("order_qty", "must be > 0").into());
        }
        let max_inventory = params.qty_or("max_inventory", Qty::from_units(10))?;
        if max_inventory.0 <= 0 {
            return Err(params.out_of_range("max_inventory", "must be > 0").into());
        }
        Ok(Self {
            instrument,
            levels: levels as usize,
            tick: tick.0,
            half,
            max_inventory: max_inventory.0,
            inventory: 0,
            quotes: TwoSided::new(instrument, order_qty),
        })
    }

    fn on_quote(&mut self, h: &EventHeader, q: &Quote, out: &mut Actions<'_>) {
        if h.instrument == self.instrument {
            let m = Micro::new(q.bid.px, q.ask.px, q.bid.qty.0.into(), q.ask.qty.0.into());
            self.update(m, out);
        }
    }

    fn on_book(&mut self, h: &EventHeader, book: &BookView<'_>, out: &mut Actions<'_>) {
        if h.instrument != self.instrument {
            return;
        }
        let (Some(best_bid), Some(best_ask)) = (book.bid(0), book.ask(0)) else { return };
        let (mut qb, mut qa) = (0i128, 0i128);
        for i in 0..self.levels {
            qb += book.bid(i).map_or(0, |l| i128::from(l.qty.0.max(0)));
            qa += book.ask(i).map_or(0, |l| i128::from(l.qty.0.max(0)));
        }
        self.update(Micro::new(best_bid.px, best_ask.px, qb, qa), out);
    }

    fn on_order_ack(&mut self, _h: &EventHeader, a: &OrderAck, _out: &mut Actions<'_>) {
        self.quotes.on_ack(a);
    }

    fn on_fill(&mut self, _h: &EventHeader, f: &Fill, out: &mut Actions<'_>) {
        if self.quotes.on_fill(f) {
            self.inventory = self.inventory.saturating_add(f.side.sign().saturating_mul(f.qty.0));
            out.signal(self.instrument, SIG_INVENTORY, self.inventory);
        }
    }

    fn on_reject(&mut self, _h: &EventHeader, r: &Reject, _out: &mut Actions<'_>) {
        self.quotes.on_reject(r);
    }

    fn on_canceled(&mut self, _h: &EventHeader, c: &Canceled, _out: &mut Actions<'_>) {
        self.quotes.on_canceled(c);
    }
}

lockstep_sdk::export_strategy!(Microprice);

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{
        Action, ActionRecord, BookRecord, Event, EventBody, Level, Nanos, NativeInstance,
    };

    fn px(s: &str) -> Price {
        Price::parse(s).unwrap()
    }
    fn lv(p: &str, q: i64) -> Level {
        Level { px: px(p), qty: Qty::from_units(q) }
    }
    fn ev(seq: u64, instrument: u16, body: EventBody) -> Event {
        let h = EventHeader { seq, instrument, exchange_ts: Nanos(0), local_ts: Nanos(0) };
        Event { h, body }
    }
    fn quote(seq: u64, bid: Level, ask: Level) -> Event {
        ev(seq, 0, EventBody::Quote(Quote { bid, ask }))
    }
    fn decode(acts: &[ActionRecord]) -> Vec<Action> {
        acts.iter().map(|a| a.decode().unwrap()).collect()
    }
    fn sig(id: u32, value: i64) -> Action {
        Action::Signal { instrument: 0, id, value }
    }
    fn limit(order_id: u64, side: Side, p: &str) -> Action {
        Action::PlaceLimit { instrument: 0, order_id, side, px: px(p), qty: Qty::from_units(1) }
    }

    #[test]
    fn hand_worked_microprice() {
        // Bid 99.99 × 3, ask 100.01 × 1: I = 0.75, micro = 99.99 + 0.02·0.75 = 100.005.
        let m = Micro::new(px("99.99"), px("100.01"), 3, 1).unwrap();
        assert_eq!(m.price(), px("100.005").0);
        assert_eq!(m.imbalance(), 75_000_000);
        // ± 1 tick: floor(99.995) = 99.99, ceil(100.015) = 100.02.
        assert_eq!(m.quotes(1_000_000, 1_000_000), Some((px("99.99"), px("100.02"))));
        // Equal sizes give the mid; a one-sided size pins it to that side's price.
        let m = Micro::new(px("99.99"), px("100.01"), 5, 5).unwrap();
        assert_eq!((m.price(), m.imbalance()), (px("100").0, 50_000_000));
        assert_eq!(m.quotes(1_000_000, 1_000_000), Some((px("99.99"), px("100.01"))));
        let m = Micro::new(px("99.99"), px("100.01"), 0, 7).unwrap();
        assert_eq!(m.price(), px("99.99").0);
        // I = 1/3: micro = 99.99 + 0.02/3 = 99.99666666666…, rounded half up.
        let m = Micro::new(px("99.99"), px("100.01"), 1, 2).unwrap();
        assert_eq!((m.price(), m.imbalance()), (9_999_666_667, 33_333_333));
        assert_eq!(m.quotes(1_000_000, 1_000_000), Some((px("99.98"), px("100.01"))));
    }

    #[test]
    fn unusable_tops_are_refused() {
        assert_eq!(Micro::new(px("0"), px("100"), 1, 1), None);
        assert_eq!(Micro::new(px("100.02"), px("100.01"), 1, 1), None);
        assert_eq!(Micro::new(px("99.99"), px("100.01"), 0, 0), None);
        assert_eq!(Micro::new(px("99.99"), px("100.01"), -5, 1), None);
    }

    #[test]
    fn book_levels_are_summed_through_the_abi() {
        let mut book = BookRecord::default();
        book.write(
            0,
            &[lv("99.99", 3), lv("99.98", 5), lv("99.97", 2)],
            &[lv("100.01", 1), lv("100.02", 1), lv("100.03", 8)],
        );
        let e = ev(1, 0, EventBody::Book(Quote::default())).encode();
        // Three levels: Qb = Qa = 10 → micro = mid = 100.00.
        let mut s = NativeInstance::<Microprice>::new(DEFAULT_PARAMS).unwrap();
        assert_eq!(
            decode(s.on_event(&e, Some(&book)).unwrap()),
            [
                sig(SIG_MICROPRICE, px("100").0),
                sig(SIG_IMBALANCE, 50_000_000),
                limit(1, Side::Buy, "99.99"),
                limit(2, Side::Sell, "100.01"),
            ]
        );
        // One level: the L1 case above, 100.005.
        let mut s = NativeInstance::<Microprice>::new("levels=1").unwrap();
        let a = decode(s.on_event(&e, Some(&book)).unwrap());
        assert_eq!(a[0], sig(SIG_MICROPRICE, px("100.005").0));
        assert_eq!(a[2..], [limit(1, Side::Buy, "99.99"), limit(2, Side::Sell, "100.02")]);
    }

    #[test]
    fn quotes_follow_the_microprice_and_fills_move_inventory() {
        let mut s = NativeInstance::<Microprice>::new("max_inventory=1").unwrap();
        s.on_event(&quote(1, lv("99.99", 5), lv("100.01", 5)).encode(), None).unwrap();
        for (id, side, p) in [(1, Side::Buy, "99.99"), (2, Side::Sell, "100.01")] {
            let ack = OrderAck { order_id: id, side, px: px(p), qty: Qty::from_units(1) };
            s.on_event(&ev(2, 0, EventBody::OrderAck(ack)).encode(), None).unwrap();
        }
        // Heavy bid: micro 100.005, quotes move to 99.99 / 100.02: only the ask is replaced.
        let a =
            decode(s.on_event(&quote(3, lv("99.99", 3), lv("100.01", 1)).encode(), None).unwrap());
        assert_eq!(
            a[2..],
            [Action::Replace {
                instrument: 0,
                order_id: 2,
                px: px("100.02"),
                qty: Qty::from_units(1)
            }]
        );
        // Our bid fills: inventory 1 = max → the next update places no bid.
        let fill = Fill {
            order_id: 1,
            side: Side::Buy,
            px: px("99.99"),
            qty: Qty::from_units(1),
            leaves: Qty::ZERO,
        };
        let a = decode(s.on_event(&ev(4, 0, EventBody::Fill(fill)).encode(), None).unwrap());
        assert_eq!(a, [sig(SIG_INVENTORY, ONE)]);
        assert_eq!(s.strategy().inventory(), Qty::from_units(1));
        assert_eq!(s.strategy().quotes.working(Side::Buy), None);
        assert_eq!(s.strategy().quotes.working(Side::Sell), Some(2));
        let a =
            decode(s.on_event(&quote(5, lv("99.99", 3), lv("100.01", 1)).encode(), None).unwrap());
        assert_eq!(a.len(), 2, "{a:?}");
        // Someone else's fill and other instruments change nothing.
        let other = Fill { order_id: 99, ..fill };
        assert!(s.on_event(&ev(6, 0, EventBody::Fill(other)).encode(), None).unwrap().is_empty());
        let q = ev(7, 1, EventBody::Quote(Quote { bid: lv("1", 1), ask: lv("2", 1) }));
        assert!(s.on_event(&q.encode(), None).unwrap().is_empty());
    }

    #[test]
    fn bad_parameters_are_refused_with_the_key() {
        for (p, key) in [
            ("levels=0", "levels"),
            ("levels=11", "levels"),
            ("tick=0", "tick"),
            ("half_spread_ticks=0", "half_spread_ticks"),
            ("order_qty=0", "order_qty"),
            ("max_inventory=-1", "max_inventory"),
            ("instrument=x", "instrument"),
            ("depth=3", "depth"),
        ] {
            let e = NativeInstance::<Microprice>::new(p).err().expect(p).to_string();
            assert!(e.contains(&format!("`{key}`")), "{p}: {e}");
        }
    }
}
