//! Avellaneda–Stoikov market maker: quotes one bid and one ask around an inventory-skewed
//! reservation price with the model's optimal spread, and keeps them on the book as the market,
//! the clock and the inventory move.
//!
//! Model: M. Avellaneda and S. Stoikov, "High-frequency trading in a limit order book",
//! *Quantitative Finance* 8(3), 2008, pp. 217–224. Reservation price `r = s − q·γσ²(T − t)`,
//! optimal total spread `γσ²(T − t) + (2/γ)·ln(1 + γ/k)`.
//!
//! All per-event arithmetic is exact decimal (`rust_decimal`): the only transcendental,
//! `(2/γ)·ln(1 + γ/k)`, is evaluated once at init with software `libm` and rounded to 8 places.
//! See [`Model::quotes`] for the exact steps; they port line by line to `java.math.BigDecimal`.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `instrument` | 0 | instrument quoted; its quotes and books give the mid `s` |
//! | `gamma` | 0.1 | risk aversion `γ` (> 0, ≤ 100) |
//! | `sigma` | 0.05 | volatility `σ` of the mid, price units per √second (≥ 0) |
//! | `k` | 100 | order-arrival decay `k`, per price unit (> 0, ≤ 1e7) |
//! | `horizon_ns` | 300 s | session length `T` (1 ns ..= 1e15 ns) |
//! | `start_ns` | first event | session start on the local clock; `T` ends at `start + horizon` |
//! | `tick` | 0.01 | price tick: bids round down, asks up (> 0) |
//! | `order_qty` | 1 | size of each quote (> 0) |
//! | `max_inventory` | 10 | no new bid at inventory ≥ this, no new ask at ≤ −this (> 0) |
//!
//! `gamma`, `sigma` and `k` are exact decimals with at most 8 places. `γσ²` must not exceed 10
//! (price units per second) and is rounded to 12 places.
//! After the horizon the inventory term is zero: quotes are symmetric with the `k` spread.
//!
//! # Orders
//! One bid and one ask, ids 1, 2, 3, … from a counter. A side without an order gets a new limit
//! order; an acknowledged order whose price should move is replaced (total quantity
//! `order_qty`); an order on a side that must stop quoting is cancelled. Fills update the
//! inventory and requote at once. Rejected placements and cancelled or fully filled orders free
//! their side for a new order on the next update.
//!
//! # Signals (on the quoted instrument, fixed-point 1e-8), after every update
//! [`SIG_RESERVATION`], [`SIG_SPREAD`], [`SIG_INVENTORY`]: values rounded half away from zero to
//! 8 places (the reservation price can carry a 9th).
//!
//! # Porting (digit-identical results with `java.math.BigDecimal`)
//! At init: `γσ² = (γ·σ·σ).setScale(12, HALF_UP)` from the exact decimal texts;
//! `K = f64_to_fixed(2.0 / γ · log1p(γ / k))` scaled by 1e-8, with `γ`, `k` as doubles
//! (`mantissa / 1e8`, which equals `Double.parseDouble` of the text) and fdlibm's `log1p`
//! (`StrictMath.log1p`); see
//! [`lockstep_sdk::f64_to_fixed`]. Per event, as in [`Model::quotes`]: `mid = (bid + ask)·0.5`
//! (prices at scale 8), `τ = max(end − now, 0)` ns at scale 9,
//! `risk = (γσ²·τ).setScale(8, HALF_UP)`, `skew = (q·risk).setScale(8, HALF_UP)`,
//! `r = mid − skew`, `half = (risk + K)·0.5`, bid `= floor((r − half)·1e8)` floored to a tick
//! multiple, ask `= ceil((r + half)·1e8)` ceiled to a tick multiple, at least one tick above the
//! bid. Compare decimals with `compareTo`. Actions per update: the three signals, then the bid
//! side, then the ask side (see [`Strategy`] handlers for fills, acks, rejects and cancels).
#![deny(unsafe_code)]

mod model;

pub use model::{
    FixedQuotes, Model, Quotes, ceil_to_tick, floor_to_tick, round8, seconds, spread_const_f64,
};

use lockstep_sdk::TwoSidedQuoter as TwoSided;
use lockstep_sdk::rust_decimal::{Decimal, RoundingStrategy};
use lockstep_sdk::{
    Actions, BookView, Canceled, EventHeader, Fill, InitError, InstrumentId, OrderAck, Params,
    Price, Qty, Quote, Reject, Side, Strategy,
};

/// Catalog name.
pub const NAME: &str = "avellaneda-stoikov";
/// One-line description for the catalog.
pub const SUMMARY: &str = "Avellaneda-Stoikov market maker: inventory-skewed reservation price and optimal spread, decimal arithmetic";
/// Parameters that work on the synthetic demo market (instrument 0 near 100.00, tick 0.01).
pub const DEFAULT_PARAMS: &str = "instrument=0;gamma=0.1;sigma=0.05;k=100;horizon_ns=300000000000;tick=0.01;order_qty=1;max_inventory=10";
/// Accepted parameter keys.
pub const PARAMS: &[&str] = &[
    "instrument",
    "gamma",
    "sigma",
    "k",
    "horizon_ns",
    "start_ns",
    "tick",
    "order_qty",
    "max_inventory",
];

/// Signal id: reservation price `r`.
pub const SIG_RESERVATION: u32 = 1;
/// Signal id: optimal total spread `δa + δb`.
pub const SIG_SPREAD: u32 = 2;
/// Signal id: inventory `q` (filled buys minus filled sells).
pub const SIG_INVENTORY: u32 = 3;

/// Largest accepted horizon: keeps `γσ²·τ` within 28 digits.
const MAX_HORIZON_NS: i64 = 1_000_000_000_000_000;

/// `Decimal::MAX` (2^96 − 1) as a mantissa at 8 places.
const DECIMAL_MAX_E8: u128 = 79_228_162_514_264_337_593_543_950_335 * 100_000_000;

/// The Avellaneda–Stoikov market maker.
#[derive(Clone, Debug)]
pub struct AvellanedaStoikov {
    instrument: InstrumentId,
    model: Model,
    horizon_ns: i64,
    /// Session end on the local clock; fixed at the first event unless `start_ns` was given.
    end_ns: Option<i64>,
    /// Inventory limit, mantissa at 8 places.
    max_inventory: i128,
    /// Filled buys minus filled sells, mantissa at 8 places.
    inventory: i128,
    /// Mid price, mantissa at 9 places.
    mid: Option<i128>,
    quotes: TwoSided,
}

impl AvellanedaStoikov {
    /// Current inventory (filled buys minus filled sells).
    pub fn inventory(&self) -> Decimal {
        Decimal::try_from_i128_with_scale(self.inventory, 8).unwrap_or(Decimal::MAX)
    }

    /// Recomputes the quotes at `now` and brings the book in line.
    fn requote(&mut self, now: i64, out: &mut Actions<'_>) {
        let Some(mid) = self.mid else { return };
        let end = *self.end_ns.get_or_insert(now.saturating_add(self.horizon_ns));
        let Some(q) = self.model.quotes_fixed(mid, self.inventory, end.saturating_sub(now)) else {
            return;
        };
        // Signals are 8-place mantissas; a value outside i64 is reported as i64::MIN.
        let fixed = |m: i128| i64::try_from(m).unwrap_or(i64::MIN);
        let reservation = fixed(model::round_e9_to_e8(q.reservation_e9));
        out.signal(self.instrument, SIG_RESERVATION, reservation);
        out.signal(self.instrument, SIG_SPREAD, fixed(q.spread_e8));
        out.signal(self.instrument, SIG_INVENTORY, fixed(self.inventory));
        let want_bid = (q.bid.0 > 0 && self.inventory < self.max_inventory).then_some(q.bid);
        let want_ask = (q.ask.0 > 0 && self.inventory > -self.max_inventory).then_some(q.ask);
        self.quotes.sync(Side::Buy, want_bid, out);
        self.quotes.sync(Side::Sell, want_ask, out);
    }

    fn on_top(&mut self, h: &EventHeader, bid: Price, ask: Price, out: &mut Actions<'_>) {
        if h.instrument != self.instrument {
            return;
        }
        if bid.0 > 0 && ask.0 >= bid.0 {
            self.mid = Some((i128::from(bid.0) + i128::from(ask.0)) * 5);
            self.requote(h.local_ts.0, out);
        }
    }
}

impl Strategy for AvellanedaStoikov {
    fn init(params: &Params<'_>, _out: &mut Actions<'_>) -> Result<Self, InitError> {
        params.check_known(PARAMS)?;
        let instrument = params.instrument_or("instrument", 0)?;
        let gamma_raw = params.price_or("gamma", Price(10_000_000))?;
        if gamma_raw.0 <= 0 || gamma_raw > Price::from_units(100) {
            return Err(params.out_of_range("gamma", "must be > 0 and <= 100").into());
        }
        let gamma = gamma_raw.to_decimal();
        let sigma = params.price_or("sigma", Price(5_000_000))?.to_decimal();
        if sigma < Decimal::ZERO {
            return Err(params.out_of_range("sigma", "must be >= 0").into());
        }
        let k_raw = params.price_or("k", Price::from_units(100))?;
        if k_raw.0 <= 0 || k_raw > Price::from_units(10_000_000) {
            return Err(params.out_of_range("k", "must be > 0 and <= 1e7").into());
        }
        let gamma_sigma2 = gamma
            .checked_mul(sigma)
            .and_then(|x| x.checked_mul(sigma))
            .map(|x| x.round_dp_with_strategy(12, RoundingStrategy::MidpointAwayFromZero))
            .filter(|x| *x <= Decimal::TEN)
            .ok_or_else(|| {
                params.out_of_range("sigma", "gamma*sigma^2 must be <= 10 price units per second")
            })?;
        // The transcendental constant, once. Both mantissas are below 2^53, so `raw / 1e8` is
        // one correctly rounded division: the same double a correct parser gives for the text.
        let c = spread_const_f64(gamma_raw.0 as f64 / 1e8, k_raw.0 as f64 / 1e8);
        let spread_const = Decimal::new(lockstep_sdk::f64_to_fixed(c), 8);
        if spread_const < Decimal::ZERO {
            return Err(params.out_of_range("k", "(2/gamma)*ln(1+gamma/k) is out of range").into());
        }
        let horizon_ns = params.i64_or("horizon_ns", 300_000_000_000)?;
        if !(1..=MAX_HORIZON_NS).contains(&horizon_ns) {
            return Err(params.out_of_range("horizon_ns", "must be within 1..=1e15 ns").into());
        }
        let end_ns = match params.get("start_ns") {
            Some(_) => Some(params.i64_or("start_ns", 0)?.saturating_add(horizon_ns)),
            None => None,
        };
        let tick = params.price_or("tick", Price(1_000_000))?;
        if tick.0 <= 0 {
            return Err(params.out_of_range("tick", "must be > 0").into());
        }
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
            model: Model::new(gamma_sigma2, spread_const, tick.0)
                .ok_or_else(|| params.out_of_range("sigma", "gamma*sigma^2 has too many places"))?,
            horizon_ns,
            end_ns,
            max_inventory: i128::from(max_inventory.0),
            inventory: 0,
            mid: None,
            quotes: TwoSided::new(instrument, order_qty),
        })
    }

    fn on_quote(&mut self, h: &EventHeader, q: &Quote, out: &mut Actions<'_>) {
        self.on_top(h, q.bid.px, q.ask.px, out);
    }

    fn on_book(&mut self, h: &EventHeader, book: &BookView<'_>, out: &mut Actions<'_>) {
        if let (Some(b), Some(a)) = (book.bid(0), book.ask(0)) {
            self.on_top(h, b.px, a.px, out);
        }
    }

    fn on_order_ack(&mut self, _h: &EventHeader, a: &OrderAck, _out: &mut Actions<'_>) {
        self.quotes.on_ack(a);
    }

    fn on_fill(&mut self, h: &EventHeader, f: &Fill, out: &mut Actions<'_>) {
        if !self.quotes.on_fill(f) {
            return;
        }
        let filled = i128::from(f.qty.0);
        let inventory = match f.side {
            Side::Buy => self.inventory.checked_add(filled),
            Side::Sell => self.inventory.checked_sub(filled),
        };
        // Beyond Decimal's range (about 7.9e28 units, where the decimal version stopped) the
        // inventory stays where it was.
        self.inventory =
            inventory.filter(|i| i.unsigned_abs() <= DECIMAL_MAX_E8).unwrap_or(self.inventory);
        self.requote(h.local_ts.0, out);
    }

    fn on_reject(&mut self, _h: &EventHeader, r: &Reject, _out: &mut Actions<'_>) {
        self.quotes.on_reject(r);
    }

    fn on_canceled(&mut self, _h: &EventHeader, c: &Canceled, _out: &mut Actions<'_>) {
        self.quotes.on_canceled(c);
    }
}

lockstep_sdk::export_strategy!(AvellanedaStoikov);

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{
        Action, ActionRecord, Event, EventBody, Level, Nanos, NativeInstance, OrderId,
        reject_reason,
    };

    fn header(seq: u64, ts: i64) -> EventHeader {
        EventHeader { seq, instrument: 0, exchange_ts: Nanos(ts), local_ts: Nanos(ts) }
    }
    fn px(s: &str) -> Price {
        Price::parse(s).unwrap()
    }
    fn quote(seq: u64, ts: i64, bid: &str, ask: &str) -> Event {
        let l = |p: &str| Level { px: px(p), qty: Qty::from_units(5) };
        Event { h: header(seq, ts), body: EventBody::Quote(Quote { bid: l(bid), ask: l(ask) }) }
    }
    fn ev(seq: u64, ts: i64, body: EventBody) -> Event {
        Event { h: header(seq, ts), body }
    }
    fn decode(acts: &[ActionRecord]) -> Vec<Action> {
        acts.iter().map(|a| a.decode().unwrap()).collect()
    }
    fn sig(id: u32, value: i64) -> Action {
        Action::Signal { instrument: 0, id, value }
    }
    fn fill(id: OrderId, side: Side, p: &str, qty: i64, leaves: i64) -> EventBody {
        EventBody::Fill(Fill {
            order_id: id,
            side,
            px: px(p),
            qty: Qty::from_units(qty),
            leaves: Qty::from_units(leaves),
        })
    }
    fn ack(id: OrderId, side: Side, p: &str) -> EventBody {
        EventBody::OrderAck(OrderAck { order_id: id, side, px: px(p), qty: Qty::from_units(2) })
    }

    const P: &str = "gamma=0.1;sigma=0.05;k=100;horizon_ns=200000000000;start_ns=0;tick=0.01;order_qty=2;max_inventory=4";

    #[test]
    fn hand_worked_session_through_the_abi() {
        let mut s = NativeInstance::<AvellanedaStoikov>::new(P).unwrap();
        // t = 0, q = 0, τ = 200 s: γσ²τ = 0.05, spread = 0.06999001, r = 100,
        // 100 ∓ 0.034995005 → bid 99.96, ask 100.04.
        let a = decode(s.on_event(&quote(1, 0, "99.99", "100.01").encode(), None).unwrap());
        assert_eq!(
            a,
            [
                sig(SIG_RESERVATION, 10_000_000_000),
                sig(SIG_SPREAD, 6_999_001),
                sig(SIG_INVENTORY, 0),
                Action::PlaceLimit {
                    instrument: 0,
                    order_id: 1,
                    side: Side::Buy,
                    px: px("99.96"),
                    qty: Qty::from_units(2)
                },
                Action::PlaceLimit {
                    instrument: 0,
                    order_id: 2,
                    side: Side::Sell,
                    px: px("100.04"),
                    qty: Qty::from_units(2)
                },
            ]
        );
        assert!(
            s.on_event(&ev(2, 1, ack(1, Side::Buy, "99.96")).encode(), None).unwrap().is_empty()
        );
        assert!(
            s.on_event(&ev(3, 1, ack(2, Side::Sell, "100.04")).encode(), None).unwrap().is_empty()
        );
        // t = 100 s, the bid fills completely: q = 2, γσ²τ = 0.025, skew 0.05, r = 99.95,
        // spread 0.04499001 → bid 99.92 (new order 3), ask replaced to 99.98.
        let f = fill(1, Side::Buy, "99.96", 2, 0);
        let a = decode(s.on_event(&ev(4, 100_000_000_000, f).encode(), None).unwrap());
        assert_eq!(
            a,
            [
                sig(SIG_RESERVATION, 9_995_000_000),
                sig(SIG_SPREAD, 4_499_001),
                sig(SIG_INVENTORY, 200_000_000),
                Action::PlaceLimit {
                    instrument: 0,
                    order_id: 3,
                    side: Side::Buy,
                    px: px("99.92"),
                    qty: Qty::from_units(2)
                },
                Action::Replace {
                    instrument: 0,
                    order_id: 2,
                    px: px("99.98"),
                    qty: Qty::from_units(2)
                },
            ]
        );
        assert_eq!(s.strategy().inventory(), Decimal::from(2));
        // Unchanged market and time: signals only, no order traffic.
        let a = decode(
            s.on_event(&quote(5, 100_000_000_000, "99.99", "100.01").encode(), None).unwrap(),
        );
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn inventory_limit_cancels_the_bid_and_cancel_frees_the_side() {
        let mut s = NativeInstance::<AvellanedaStoikov>::new(P).unwrap();
        s.on_event(&quote(1, 0, "99.99", "100.01").encode(), None).unwrap();
        s.on_event(&ev(2, 0, ack(1, Side::Buy, "99.96")).encode(), None).unwrap();
        let part =
            |seq, qty: i64, leaves: i64| ev(seq, 0, fill(1, Side::Buy, "99.96", qty, leaves));
        // A partial fill keeps the order; the next full fill frees the side.
        let a = decode(s.on_event(&part(3, 1, 1).encode(), None).unwrap());
        assert!(!a.iter().any(|x| matches!(x, Action::PlaceLimit { side: Side::Buy, .. })));
        s.on_event(&part(4, 1, 0).encode(), None).unwrap();
        // Order 3 is the fresh bid; fill it to reach the limit of 4.
        s.on_event(&ev(5, 0, ack(3, Side::Buy, "99.93")).encode(), None).unwrap();
        s.on_event(&ev(6, 0, fill(3, Side::Buy, "99.93", 1, 1)).encode(), None).unwrap();
        // q = 4 = max_inventory: order 3 is gone (filled), no new bid is placed.
        let a = decode(
            s.on_event(&ev(7, 0, fill(3, Side::Buy, "99.93", 1, 0)).encode(), None).unwrap(),
        );
        assert!(
            !a.iter().any(|x| matches!(x, Action::PlaceLimit { side: Side::Buy, .. })),
            "{a:?}"
        );
        assert_eq!(s.strategy().inventory(), Decimal::from(4));
        // A live bid at the limit would be cancelled: sell 1 (q = 3), get a bid, then buy 1.
        let sell = fill(2, Side::Sell, "100.04", 1, 1);
        let a = decode(s.on_event(&ev(8, 0, sell).encode(), None).unwrap());
        let bid_id = a
            .iter()
            .find_map(|x| match x {
                Action::PlaceLimit { side: Side::Buy, order_id, .. } => Some(*order_id),
                _ => None,
            })
            .expect("bid re-placed below the limit");
        s.on_event(&ev(9, 0, ack(bid_id, Side::Buy, "99.90")).encode(), None).unwrap();
        let buy = fill(bid_id, Side::Buy, "99.90", 1, 1);
        let a = decode(s.on_event(&ev(10, 0, buy).encode(), None).unwrap());
        assert!(a.contains(&Action::Cancel { instrument: 0, order_id: bid_id }), "{a:?}");
        // Until the venue confirms, no second cancel; after it, the side is free.
        let a = decode(s.on_event(&quote(11, 0, "99.98", "100.00").encode(), None).unwrap());
        assert!(!a.iter().any(|x| matches!(x, Action::Cancel { .. })));
        let gone = EventBody::Canceled(Canceled { order_id: bid_id, qty: Qty::from_units(1) });
        s.on_event(&ev(12, 0, gone).encode(), None).unwrap();
        assert_eq!(s.strategy().quotes.working(Side::Buy), None);
    }

    #[test]
    fn rejected_placement_is_retried_with_a_new_id() {
        let mut s = NativeInstance::<AvellanedaStoikov>::new(P).unwrap();
        s.on_event(&quote(1, 0, "99.99", "100.01").encode(), None).unwrap();
        let rej = EventBody::Reject(Reject { order_id: 1, reason: reject_reason::RISK });
        s.on_event(&ev(2, 0, rej).encode(), None).unwrap();
        let a = decode(s.on_event(&quote(3, 0, "99.99", "100.01").encode(), None).unwrap());
        assert!(
            a.iter().any(|x| matches!(x, Action::PlaceLimit { order_id: 3, side: Side::Buy, .. }))
        );
    }

    #[test]
    fn other_instruments_and_empty_books_do_nothing() {
        let mut s = NativeInstance::<AvellanedaStoikov>::new(DEFAULT_PARAMS).unwrap();
        let mut e = quote(1, 0, "99.99", "100.01");
        e.h.instrument = 1;
        assert!(s.on_event(&e.encode(), None).unwrap().is_empty());
        assert!(s.on_event(&quote(2, 0, "0", "100.01").encode(), None).unwrap().is_empty());
        let book = lockstep_sdk::BookRecord::default();
        let e = ev(3, 0, EventBody::Book(Quote::default()));
        assert!(s.on_event(&e.encode(), Some(&book)).unwrap().is_empty());
    }

    #[test]
    fn book_events_quote_too() {
        let mut s = NativeInstance::<AvellanedaStoikov>::new(DEFAULT_PARAMS).unwrap();
        let mut book = lockstep_sdk::BookRecord::default();
        let l = |p: &str| Level { px: px(p), qty: Qty::from_units(1) };
        book.write(0, &[l("99.99"), l("99.98")], &[l("100.01")]);
        let a = decode(
            s.on_event(&ev(1, 5, EventBody::Book(Quote::default())).encode(), Some(&book)).unwrap(),
        );
        assert_eq!(a.len(), 5);
    }

    #[test]
    fn mantissa_over_1e8_is_the_parsed_double() {
        for text in ["0.1", "1.5", "100", "0.00000001", "12345.6789", "99.99999999", "0.3"] {
            let raw = Price::parse(text).unwrap().0;
            assert_eq!(raw as f64 / 1e8, text.parse::<f64>().unwrap(), "{text}");
        }
    }

    #[test]
    fn bad_parameters_are_refused_with_the_key() {
        for (p, key) in [
            ("gamma=0", "gamma"),
            ("gamma=abc", "gamma"),
            ("sigma=-1", "sigma"),
            ("sigma=100", "sigma"),
            ("k=0", "k"),
            ("k=10000001", "k"),
            ("horizon_ns=0", "horizon_ns"),
            ("horizon_ns=2000000000000000", "horizon_ns"),
            ("tick=0", "tick"),
            ("order_qty=-1", "order_qty"),
            ("max_inventory=0", "max_inventory"),
            ("instrument=-1", "instrument"),
            ("kappa=1", "kappa"),
        ] {
            let e = NativeInstance::<AvellanedaStoikov>::new(p).err().expect(p).to_string();
            assert!(e.contains(&format!("`{key}`")), "{p}: {e}");
        }
    }
}
