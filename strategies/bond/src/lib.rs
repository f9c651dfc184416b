//! Fixed-income pricer for a fixed-rate bullet bond: turns each clean-price (or yield) update
//! into yield, accrued interest, dirty price, Macaulay and modified duration, convexity and DV01.
//!
//! Model: the street-convention price–yield relation (J. Mayle, *Standard Securities
//! Calculation Methods*, Securities Industry Association, 1993; F. J. Fabozzi, *Bond Markets,
//! Analysis and Strategies*): `dirty = Σ C·v^{w+k} + 100·v^{w+n−1}`, `v = 1/(1+y/f)`;
//! Macaulay duration (F. R. Macaulay, *Some Theoretical Problems Suggested by the Movements of
//! Interest Rates, Bond Yields and Stock Prices in the United States since 1856*, NBER 1938)
//! `Σ t·PV / P`, modified duration
//! `D_mac / (1 + y/f)`, convexity `(d²P/dy²)/P`. Day count: **30/360 Bond Basis** (ISDA 2006
//! §4.16(f)) for accrued interest and for the fraction `w` of the period left, with the period
//! length taken as `360/f` days. Coupons fall every `12/f` months back from maturity (month ends
//! stay month ends).
//!
//! Money is exact decimal: the clean price arrives as a fixed-point decimal, accrued interest is
//! `round8(100·c·A/360)` (`A` the 30/360 days since the last coupon) and
//! `dirty = clean + accrued` exactly. Discounting (the yield solve, durations) is `f64` through
//! software `libm`; the yield is found by Newton's method with a bisection fallback.
//!
//! The settlement date is `settle` at the first event and moves forward one day per 24 h of
//! event time (`local_ts`); there is no clock.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `instrument` | 0 | instrument whose quotes, books or trades carry the bond's price |
//! | `coupon` | 0.05 | annual coupon rate (0..=1, at most 8 places) |
//! | `freq` | 2 | coupons per year: 1, 2, 4 or 12 |
//! | `maturity` | 2030-06-15 | maturity date, `YYYY-MM-DD` |
//! | `settle` | 2025-01-15 | settlement date at the first event (before `maturity`) |
//! | `input` | `price` | `price`: updates are clean prices per 100 face; `yield`: yields in percent |
//!
//! # Signals (on the instrument, fixed-point 1e-8), after every usable update
//! [`SIG_CLEAN`], [`SIG_DIRTY`], [`SIG_ACCRUED`], [`SIG_YIELD`] (a fraction: 0.05 is 5 %),
//! [`SIG_MACAULAY`], [`SIG_MODIFIED`], [`SIG_CONVEXITY`], [`SIG_DV01`] (price change per 100
//! face for one basis point). Nothing after maturity or when no yield in [−50 %, 200 %] matches.
#![deny(unsafe_code)]

mod dates;
mod model;

pub use dates::{Date, Position, days_30_360, locate};
pub use model::{Analytics, Flows, YIELD_MAX, YIELD_MIN, analytics, yield_from_dirty};

use lockstep_sdk::rust_decimal::{Decimal, RoundingStrategy};
use lockstep_sdk::{
    Actions, BookView, EventHeader, InitError, InstrumentId, Params, Price, Quote, Strategy, Trade,
    f64_to_fixed,
};

/// Catalog name.
pub const NAME: &str = "bond";
/// One-line description for the catalog.
pub const SUMMARY: &str = "Fixed-rate bond pricer: yield, accrued interest (30/360), dirty price, durations, convexity, DV01";
/// Parameters that work on the synthetic demo market (instrument 0 near 100.00 as a clean price).
pub const DEFAULT_PARAMS: &str =
    "instrument=0;coupon=0.05;freq=2;maturity=2030-06-15;settle=2025-01-15;input=price";
/// Accepted parameter keys.
pub const PARAMS: &[&str] = &["instrument", "coupon", "freq", "maturity", "settle", "input"];

/// Signal id: clean price per 100 face.
pub const SIG_CLEAN: u32 = 1;
/// Signal id: dirty (full) price per 100 face.
pub const SIG_DIRTY: u32 = 2;
/// Signal id: accrued interest per 100 face.
pub const SIG_ACCRUED: u32 = 3;
/// Signal id: annual yield, compounded `freq` times a year, as a fraction.
pub const SIG_YIELD: u32 = 4;
/// Signal id: Macaulay duration in years.
pub const SIG_MACAULAY: u32 = 5;
/// Signal id: modified duration in years.
pub const SIG_MODIFIED: u32 = 6;
/// Signal id: convexity in years².
pub const SIG_CONVEXITY: u32 = 7;
/// Signal id: DV01, `modified · dirty / 10000`, per 100 face.
pub const SIG_DV01: u32 = 8;

const DAY_NS: i64 = 86_400_000_000_000;

/// What the updates on the instrument mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Clean price per 100 face.
    Price,
    /// Yield in percent.
    Yield,
}

/// The bond pricer.
#[derive(Clone, Debug)]
pub struct Bond {
    instrument: InstrumentId,
    /// Annual coupon rate, exact (8 places).
    coupon: Decimal,
    /// Coupon per period per 100 face as a float.
    coupon_per_period: f64,
    freq: u32,
    maturity: Date,
    settle: Date,
    input: Input,
    /// Local time of the first event: the settlement date's origin.
    t0: Option<i64>,
    /// Settlement day (days since 1970-01-01) and its schedule position, cached.
    cached: Option<(i64, Option<Position>)>,
}

impl Bond {
    /// Accrued interest per 100 face after `days` 30/360 days: `round8(100·c·days/360)`.
    pub fn accrued(&self, days: i64) -> Decimal {
        (self.coupon * Decimal::ONE_HUNDRED * Decimal::from(days) / Decimal::from(360))
            .round_dp_with_strategy(8, RoundingStrategy::MidpointAwayFromZero)
    }

    /// Settlement position at local time `now`.
    fn position(&mut self, now: i64) -> Option<Position> {
        let t0 = *self.t0.get_or_insert(now);
        let day = self.settle.to_days() + now.saturating_sub(t0).div_euclid(DAY_NS);
        match self.cached {
            Some((d, p)) if d == day => p,
            _ => {
                let p = Date::from_days(day).and_then(|s| locate(s, self.maturity, self.freq));
                self.cached = Some((day, p));
                p
            }
        }
    }

    fn on_value(&mut self, h: &EventHeader, value: Option<Decimal>, out: &mut Actions<'_>) {
        let pos = self.position(h.local_ts.0);
        let (true, Some(value), Some(pos)) = (h.instrument == self.instrument, value, pos) else {
            return;
        };
        let period = i64::from(360 / self.freq);
        let a_days = pos.accrued_days.clamp(0, period);
        let accrued = self.accrued(a_days);
        let fl = Flows {
            coupon: self.coupon_per_period,
            n: pos.coupons,
            w: (period - a_days) as f64 / period as f64,
            freq: f64::from(self.freq),
        };
        let fixed = |d: Decimal| Price::from_decimal(d).map_or(i64::MIN, |p| p.0);
        let (clean, dirty, y, a) = match self.input {
            Input::Price => {
                let dirty = value + accrued;
                let Some(y) = yield_from_dirty(&fl, fixed(dirty) as f64 / 1e8) else { return };
                (value, dirty, y, analytics(&fl, y))
            }
            Input::Yield => {
                let y = fixed(value) as f64 / 1e10;
                if !(y > YIELD_MIN && y < YIELD_MAX) {
                    return;
                }
                let a = analytics(&fl, y);
                let dirty = Decimal::new(f64_to_fixed(a.dirty), 8);
                (dirty - accrued, dirty, y, a)
            }
        };
        let i = self.instrument;
        out.signal(i, SIG_CLEAN, fixed(clean));
        out.signal(i, SIG_DIRTY, fixed(dirty));
        out.signal(i, SIG_ACCRUED, fixed(accrued));
        out.signal_f64(i, SIG_YIELD, y);
        out.signal_f64(i, SIG_MACAULAY, a.macaulay);
        out.signal_f64(i, SIG_MODIFIED, a.modified);
        out.signal_f64(i, SIG_CONVEXITY, a.convexity);
        out.signal_f64(i, SIG_DV01, a.modified * a.dirty / 10_000.0);
    }
}

/// The mid of a two-sided, uncrossed top of book, exactly.
fn mid(bid: Price, ask: Price) -> Option<Decimal> {
    (bid.0 > 0 && ask.0 >= bid.0)
        .then(|| (bid.to_decimal() + ask.to_decimal()) * Decimal::new(5, 1))
}

impl Strategy for Bond {
    fn init(params: &Params<'_>, _out: &mut Actions<'_>) -> Result<Self, InitError> {
        params.check_known(PARAMS)?;
        let instrument = params.instrument_or("instrument", 0)?;
        let coupon = params.price_or("coupon", Price(5_000_000))?;
        if !(0..=lockstep_sdk::ONE).contains(&coupon.0) {
            return Err(params
                .out_of_range("coupon", "must be within 0..=1 (a rate, 0.05 is 5%)")
                .into());
        }
        let freq = params.i64_or("freq", 2)?;
        if ![1, 2, 4, 12].contains(&freq) {
            return Err(params.out_of_range("freq", "must be 1, 2, 4 or 12").into());
        }
        let date = |key: &'static str, default: &str| -> Result<Date, InitError> {
            let text = params.get(key).unwrap_or(default);
            Date::parse(text)
                .ok_or_else(|| params.out_of_range(key, "must be a date YYYY-MM-DD").into())
        };
        let maturity = date("maturity", "2030-06-15")?;
        let settle = date("settle", "2025-01-15")?;
        if settle >= maturity {
            return Err(params.out_of_range("settle", "must be before `maturity`").into());
        }
        let input = match params.get("input").unwrap_or("price") {
            "price" => Input::Price,
            "yield" => Input::Yield,
            _ => return Err(params.out_of_range("input", "must be `price` or `yield`").into()),
        };
        let freq = freq as u32;
        Ok(Self {
            instrument,
            coupon: coupon.to_decimal(),
            coupon_per_period: coupon.0 as f64 / 1e6 / f64::from(freq),
            freq,
            maturity,
            settle,
            input,
            t0: None,
            cached: None,
        })
    }

    fn on_quote(&mut self, h: &EventHeader, q: &Quote, out: &mut Actions<'_>) {
        self.on_value(h, mid(q.bid.px, q.ask.px), out);
    }

    fn on_book(&mut self, h: &EventHeader, book: &BookView<'_>, out: &mut Actions<'_>) {
        let m = match (book.bid(0), book.ask(0)) {
            (Some(b), Some(a)) => mid(b.px, a.px),
            _ => None,
        };
        self.on_value(h, m, out);
    }

    fn on_trade(&mut self, h: &EventHeader, t: &Trade, out: &mut Actions<'_>) {
        self.on_value(h, (t.px.0 > 0).then(|| t.px.to_decimal()), out);
    }
}

lockstep_sdk::export_strategy!(Bond);

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{Action, Event, EventBody, Level, Nanos, NativeInstance, Qty};

    fn quote(seq: u64, ts: i64, px: &str) -> lockstep_sdk::EventRecord {
        let l = Level { px: Price::parse(px).unwrap(), qty: Qty::from_units(1) };
        let h = EventHeader { seq, instrument: 0, exchange_ts: Nanos(ts), local_ts: Nanos(ts) };
        Event { h, body: EventBody::Quote(Quote { bid: l, ask: l }) }.encode()
    }

    /// Signal values by id (index 0 unused).
    fn values(s: &mut NativeInstance<Bond>, ev: &lockstep_sdk::EventRecord) -> Vec<f64> {
        let mut v = vec![f64::NAN; 9];
        for a in s.on_event(ev, None).unwrap() {
            match a.decode().unwrap() {
                Action::Signal { instrument: 0, id, value } => v[id as usize] = value as f64 / 1e8,
                other => panic!("unexpected {other:?}"),
            }
        }
        v
    }

    #[test]
    fn excel_price_example() {
        // Excel PRICE("2008-02-15", "2017-11-15", 5.75%, 6.50%, 100, 2, basis 0) = 94.63436162.
        let p = "coupon=0.0575;freq=2;maturity=2017-11-15;settle=2008-02-15;input=yield";
        let mut s = NativeInstance::<Bond>::new(p).unwrap();
        let v = values(&mut s, &quote(1, 0, "6.5"));
        assert!((v[SIG_CLEAN as usize] - 94.634_361_62).abs() < 2e-8, "{}", v[1]);
        assert_eq!(v[SIG_ACCRUED as usize], 1.4375, "100 · 5.75% · 90/360");
        assert!((v[SIG_DIRTY as usize] - (94.634_361_62 + 1.4375)).abs() < 2e-8);
        assert_eq!(v[SIG_YIELD as usize], 0.065);
    }

    #[test]
    fn excel_yield_example() {
        // Excel YIELD("2008-02-15", "2016-11-15", 5.75%, 95.04287, 100, 2, basis 0) = 6.50 %.
        let p = "coupon=0.0575;freq=2;maturity=2016-11-15;settle=2008-02-15";
        let mut s = NativeInstance::<Bond>::new(p).unwrap();
        let v = values(&mut s, &quote(1, 0, "95.04287"));
        assert!((v[SIG_YIELD as usize] - 0.065).abs() < 1e-6, "{}", v[4]);
        assert_eq!(v[SIG_CLEAN as usize], 95.042_87);
    }

    #[test]
    fn excel_duration_example() {
        // Excel DURATION("2008-01-01", "2016-01-01", 8%, 9%, 2) = 5.993775, MDURATION = 5.73567.
        let p = "coupon=0.08;freq=2;maturity=2016-01-01;settle=2008-01-01;input=yield";
        let mut s = NativeInstance::<Bond>::new(p).unwrap();
        let v = values(&mut s, &quote(1, 0, "9"));
        assert!((v[SIG_MACAULAY as usize] - 5.993_775).abs() < 1e-6, "{}", v[5]);
        assert!((v[SIG_MODIFIED as usize] - 5.735_67).abs() < 1e-5, "{}", v[6]);
        assert_eq!(v[SIG_ACCRUED as usize], 0.0);
        let dv01 = v[SIG_MODIFIED as usize] * v[SIG_DIRTY as usize] / 1e4;
        assert!((v[SIG_DV01 as usize] - dv01).abs() < 1e-7);
        assert!(v[SIG_CONVEXITY as usize] > v[SIG_MACAULAY as usize]);
    }

    #[test]
    fn price_and_yield_inputs_agree() {
        let base = "coupon=0.0425;freq=4;maturity=2031-09-30;settle=2025-02-11";
        let mut by_yield = NativeInstance::<Bond>::new(&format!("{base};input=yield")).unwrap();
        let mut by_price = NativeInstance::<Bond>::new(base).unwrap();
        for (i, y) in ["0.5", "3.1", "4.25", "7.77", "15"].iter().enumerate() {
            let v = values(&mut by_yield, &quote(i as u64, 0, y));
            let clean = format!("{:.8}", v[SIG_CLEAN as usize]);
            let w = values(&mut by_price, &quote(i as u64, 0, &clean));
            let target: f64 = y.parse::<f64>().unwrap() / 100.0;
            assert!((w[SIG_YIELD as usize] - target).abs() < 2e-8, "{y}: {}", w[4]);
            assert_eq!(w[SIG_ACCRUED as usize], v[SIG_ACCRUED as usize]);
        }
    }

    #[test]
    fn settlement_follows_event_time_until_maturity() {
        let p = "coupon=0.06;freq=4;maturity=2025-03-15;settle=2024-12-15";
        let mut s = NativeInstance::<Bond>::new(p).unwrap();
        let t0 = 1_723_161_253_937_000_000;
        assert_eq!(values(&mut s, &quote(1, t0, "100"))[SIG_ACCRUED as usize], 0.0);
        // 31 calendar days later (2025-01-15), 30 days in 30/360: 100 · 6 % · 30/360 = 0.5.
        let v = values(&mut s, &quote(2, t0 + 31 * DAY_NS, "100"));
        assert_eq!(v[SIG_ACCRUED as usize], 0.5);
        // One day more: 100 · 6 % · 31/360 = 0.516666…, rounded at 8 places.
        let v = values(&mut s, &quote(3, t0 + 32 * DAY_NS, "100"));
        assert_eq!(v[SIG_ACCRUED as usize], 0.516_666_67);
        // At maturity nothing is published.
        assert!(s.on_event(&quote(4, t0 + 90 * DAY_NS, "100"), None).unwrap().is_empty());
    }

    #[test]
    fn unusable_updates_are_ignored() {
        let mut s = NativeInstance::<Bond>::new(DEFAULT_PARAMS).unwrap();
        assert!(s.on_event(&quote(1, 0, "0"), None).unwrap().is_empty());
        // A clean price no yield in [−50 %, 200 %] explains.
        assert!(s.on_event(&quote(2, 0, "100000"), None).unwrap().is_empty());
        assert_eq!(values(&mut s, &quote(3, 0, "100.25")).len(), 9);
    }

    #[test]
    fn bad_parameters_are_refused_with_the_key() {
        for (p, key) in [
            ("coupon=-0.01", "coupon"),
            ("coupon=1.5", "coupon"),
            ("freq=3", "freq"),
            ("maturity=2030-02-30", "maturity"),
            ("settle=2031-01-01", "settle"),
            ("input=spread", "input"),
            ("face=1000", "face"),
        ] {
            let e = NativeInstance::<Bond>::new(p).err().expect(p).to_string();
            assert!(e.contains(&format!("`{key}`")), "{p}: {e}");
        }
    }
}
