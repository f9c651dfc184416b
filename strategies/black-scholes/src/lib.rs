//! Black–Scholes–Merton European option pricer: on every underlying tick it publishes the
//! option's price and greeks (delta, gamma, vega, theta, rho); on every option quote it solves
//! for the implied volatility.
//!
//! Model: F. Black and M. Scholes, "The pricing of options and corporate liabilities", *Journal
//! of Political Economy* 81(3), 1973, with R. C. Merton's continuous dividend yield ("Theory of
//! rational option pricing", *Bell Journal of Economics* 4(1), 1973). Normal CDF: Hart (1968) as
//! given by G. West, "Better approximations to cumulative normal functions", *Wilmott* 2005.
//!
//! Floating point goes only through `+ - * /` and the software `libm` `exp`/`log`/`sqrt` (fdlibm
//! ports), so native, Wasm and a `StrictMath` Java port give the same bits. Time is the event's
//! `local_ts`; there is no clock. The strategy sends no orders: it reports through signals.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `underlying` | 0 | instrument whose quotes, books and trades give the spot `S` |
//! | `option` | 1 | instrument whose quotes, books and trades give the option price for implied vol |
//! | `kind` | `call` | `call` or `put` |
//! | `strike` | 100 | strike `K` (> 0) |
//! | `rate` | 0.05 | risk-free rate `r`, continuous, per year |
//! | `div_yield` | 0 | dividend yield `q`, continuous, per year |
//! | `sigma` | 0.2 | volatility `σ` per √year used for price and greeks (> 0) |
//! | `expiry_ns` | — | expiry on the local clock (ns); when absent, `tenor_ns` after the first event |
//! | `tenor_ns` | 30 days | time to expiry at the first event received (ns, > 0) |
//! | `year_ns` | 365 days | nanoseconds per year for `T` (> 0) |
//! | `iv_tol` | 1e-10 | implied-vol price tolerance, relative for prices above 1 |
//! | `iv_max_iter` | 100 | implied-vol iteration cap (1..=1000) |
//!
//! # Signals (on the option instrument, fixed-point 1e-8)
//! [`SIG_PRICE`], [`SIG_DELTA`], [`SIG_GAMMA`], [`SIG_VEGA`], [`SIG_THETA`], [`SIG_RHO`] after
//! every underlying update (once expired: intrinsic value, delta 0 or ±1, other greeks 0);
//! [`SIG_IV`] after every option price update when a volatility in `[1e-4, 10]` matches it
//! (nothing is published when the price violates the no-arbitrage bounds).
//!
//! # Porting (bit-identical results elsewhere, e.g. Java with `StrictMath`)
//! Parameters are parsed from their text with a correctly rounded parser (`Double.parseDouble`).
//! A price mantissa becomes `raw as f64 / 1e8`; the spot is `(bid + ask) * 0.5` of those, or
//! the trade price. `T = (expiry − now) as f64 / year_ns as f64` (the subtraction on `i64`,
//! saturating). Then [`greeks`] / [`implied_vol`] exactly as written, left to right, no fused
//! multiply-add. Each signal is [`lockstep_sdk::f64_to_fixed`] of the value: `x·1e8`, `i64::MIN`
//! if not finite or `|x·1e8| ≥ 9.2e18`, else rounded half away from zero via `trunc`. Signals
//! come in the order price, delta, gamma, vega, theta, rho.
#![deny(unsafe_code)]

mod model;

pub use model::{
    Greeks, INV_SQRT_2PI, IV_MAX, IV_MIN, Inputs, OptionKind, greeks, implied_vol, norm_cdf,
    norm_pdf,
};

use lockstep_sdk::{
    Actions, BookView, EventHeader, InitError, OptionTerms, Params, Quote, Strategy, Trade, mid_f64,
};

/// Catalog name.
pub const NAME: &str = "black-scholes";
/// One-line description for the catalog.
pub const SUMMARY: &str = "Black-Scholes-Merton European option: price and greeks per underlying tick, implied vol per option quote";
/// Parameters that work on the synthetic demo market (underlying 0 near 100.00, option 1).
pub const DEFAULT_PARAMS: &str = "underlying=0;option=1;kind=call;strike=100;rate=0.05;div_yield=0;sigma=0.2;tenor_ns=2592000000000000;year_ns=31536000000000000";
/// Accepted parameter keys.
pub const PARAMS: &[&str] = &[
    "underlying",
    "option",
    "kind",
    "strike",
    "rate",
    "div_yield",
    "sigma",
    "expiry_ns",
    "tenor_ns",
    "year_ns",
    "iv_tol",
    "iv_max_iter",
];

/// Signal id: option value.
pub const SIG_PRICE: u32 = 1;
/// Signal id: delta, ∂V/∂S.
pub const SIG_DELTA: u32 = 2;
/// Signal id: gamma, ∂²V/∂S².
pub const SIG_GAMMA: u32 = 3;
/// Signal id: vega, ∂V/∂σ per unit volatility.
pub const SIG_VEGA: u32 = 4;
/// Signal id: theta, ∂V/∂t per year.
pub const SIG_THETA: u32 = 5;
/// Signal id: rho, ∂V/∂r per unit rate.
pub const SIG_RHO: u32 = 6;
/// Signal id: implied volatility of the option's market price.
pub const SIG_IV: u32 = 7;

/// A Black–Scholes–Merton pricer for one European option.
#[derive(Clone, Debug)]
pub struct BlackScholes {
    /// Contract, instruments and expiry clock (shared with the CRR pricer).
    terms: OptionTerms,
    iv_tol: f64,
    iv_max_iter: u32,
    /// Last spot, 0 until the underlying has a two-sided price or a trade.
    spot: f64,
}

impl BlackScholes {
    /// Time to expiry in years at `now`, fixing the expiry at the first event if needed.
    fn years_left(&mut self, now: i64) -> f64 {
        self.terms.expiry.years_left(now)
    }

    fn inputs(&self, t: f64) -> Inputs {
        Inputs {
            kind: self.terms.kind,
            s: self.spot,
            k: self.terms.strike,
            t,
            r: self.terms.rate,
            q: self.terms.div_yield,
            sigma: self.terms.sigma,
        }
    }

    fn on_spot(&mut self, h: &EventHeader, spot: f64, out: &mut Actions<'_>) {
        self.spot = spot;
        let t = self.years_left(h.local_ts.0);
        let g = if t > 0.0 {
            greeks(&self.inputs(t))
        } else {
            let (price, delta) = self.terms.kind.at_expiry(spot, self.terms.strike);
            Greeks { price, delta, ..Greeks::default() }
        };
        let o = self.terms.option;
        out.signal_f64(o, SIG_PRICE, g.price);
        out.signal_f64(o, SIG_DELTA, g.delta);
        out.signal_f64(o, SIG_GAMMA, g.gamma);
        out.signal_f64(o, SIG_VEGA, g.vega);
        out.signal_f64(o, SIG_THETA, g.theta);
        out.signal_f64(o, SIG_RHO, g.rho);
    }

    fn on_option_price(&mut self, h: &EventHeader, price: f64, out: &mut Actions<'_>) {
        let t = self.years_left(h.local_ts.0);
        if self.spot <= 0.0 || t <= 0.0 {
            return;
        }
        if let Some(iv) = implied_vol(&self.inputs(t), price, self.iv_tol, self.iv_max_iter) {
            out.signal_f64(self.terms.option, SIG_IV, iv);
        }
    }

    fn on_price(&mut self, h: &EventHeader, price: Option<f64>, out: &mut Actions<'_>) {
        let Some(p) = price else {
            // Still fixes the expiry at the first event, whatever it carries.
            self.years_left(h.local_ts.0);
            return;
        };
        if h.instrument == self.terms.underlying {
            self.on_spot(h, p, out);
        } else if h.instrument == self.terms.option {
            self.on_option_price(h, p, out);
        } else {
            self.years_left(h.local_ts.0);
        }
    }
}

impl Strategy for BlackScholes {
    fn init(params: &Params<'_>, _out: &mut Actions<'_>) -> Result<Self, InitError> {
        params.check_known(PARAMS)?;
        let terms = OptionTerms::from_params(params, OptionKind::Call)?;
        let iv_tol = params.f64_or("iv_tol", 1e-10)?;
        if iv_tol <= 0.0 {
            return Err(params.out_of_range("iv_tol", "must be > 0").into());
        }
        let iv_max_iter = params.i64_or("iv_max_iter", 100)?;
        if !(1..=1000).contains(&iv_max_iter) {
            return Err(params.out_of_range("iv_max_iter", "must be within 1..=1000").into());
        }
        Ok(Self { terms, iv_tol, iv_max_iter: iv_max_iter as u32, spot: 0.0 })
    }

    fn on_quote(&mut self, h: &EventHeader, q: &Quote, out: &mut Actions<'_>) {
        self.on_price(h, mid_f64(q.bid.px, q.ask.px), out);
    }

    fn on_book(&mut self, h: &EventHeader, book: &BookView<'_>, out: &mut Actions<'_>) {
        let px = match (book.bid(0), book.ask(0)) {
            (Some(b), Some(a)) => mid_f64(b.px, a.px),
            _ => None,
        };
        self.on_price(h, px, out);
    }

    fn on_trade(&mut self, h: &EventHeader, t: &Trade, out: &mut Actions<'_>) {
        self.on_price(h, (t.px.0 > 0).then(|| t.px.to_f64()), out);
    }
}

lockstep_sdk::export_strategy!(BlackScholes);

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{
        Action, BookRecord, Event, EventBody, Level, Nanos, NativeInstance, Price, Qty, Side,
    };

    fn header(seq: u64, instrument: u16, ts: i64) -> EventHeader {
        EventHeader { seq, instrument, exchange_ts: Nanos(ts), local_ts: Nanos(ts) }
    }

    fn quote(seq: u64, instrument: u16, ts: i64, bid: &str, ask: &str) -> Event {
        let l = |p: &str| Level { px: Price::parse(p).unwrap(), qty: Qty::from_units(1) };
        Event {
            h: header(seq, instrument, ts),
            body: EventBody::Quote(Quote { bid: l(bid), ask: l(ask) }),
        }
    }

    fn signals(acts: &[lockstep_sdk::ActionRecord]) -> Vec<(u16, u32, i64)> {
        acts.iter()
            .map(|a| match a.decode().unwrap() {
                Action::Signal { instrument, id, value } => (instrument, id, value),
                other => panic!("unexpected action {other:?}"),
            })
            .collect()
    }

    const ONE_YEAR: &str = "strike=100;rate=0.05;sigma=0.2;expiry_ns=1000000000;year_ns=1000000000";

    #[test]
    fn publishes_textbook_price_and_greeks_through_the_abi() {
        let mut inst = NativeInstance::<BlackScholes>::new(ONE_YEAR).unwrap();
        assert!(inst.actions().is_empty());
        let acts = inst.on_event(&quote(1, 0, 0, "99.99", "100.01").encode(), None).unwrap();
        let sig = signals(acts);
        let ids: Vec<u32> = sig.iter().map(|s| s.1).collect();
        assert_eq!(ids, [SIG_PRICE, SIG_DELTA, SIG_GAMMA, SIG_VEGA, SIG_THETA, SIG_RHO]);
        assert!(sig.iter().all(|s| s.0 == 1), "signals are on the option instrument");
        let g = greeks(&Inputs {
            kind: OptionKind::Call,
            s: 100.0,
            k: 100.0,
            t: 1.0,
            r: 0.05,
            q: 0.0,
            sigma: 0.2,
        });
        assert_eq!(sig[0].2, lockstep_sdk::f64_to_fixed(g.price));
        assert_eq!(sig[0].2, 1_045_058_357, "10.45058357");
        assert_eq!(sig[1].2, lockstep_sdk::f64_to_fixed(g.delta));
    }

    #[test]
    fn implied_vol_from_an_option_quote_recovers_sigma() {
        let mut inst = NativeInstance::<BlackScholes>::new(ONE_YEAR).unwrap();
        inst.on_event(&quote(1, 0, 0, "100", "100").encode(), None).unwrap();
        // 10.45058357 is the σ = 0.2 price; a one-tick-wide quote around it.
        let acts =
            inst.on_event(&quote(2, 1, 0, "10.44558357", "10.45558357").encode(), None).unwrap();
        let sig = signals(acts);
        assert_eq!(sig.len(), 1);
        assert_eq!(sig[0].1, SIG_IV);
        assert!((sig[0].2 - 20_000_000).abs() <= 1, "iv {}", sig[0].2);
        // Below intrinsic: no IV.
        let acts = inst.on_event(&quote(3, 1, 0, "0.5", "0.6").encode(), None).unwrap();
        assert!(acts.is_empty());
    }

    #[test]
    fn book_and_trade_events_move_the_spot_and_time_decays() {
        let mut inst = NativeInstance::<BlackScholes>::new(ONE_YEAR).unwrap();
        let mut book = BookRecord::default();
        let lv = |p: &str| Level { px: Price::parse(p).unwrap(), qty: Qty::from_units(3) };
        book.write(0, &[lv("104.99")], &[lv("105.01")]);
        let ev = Event { h: header(1, 0, 0), body: EventBody::Book(Quote::default()) };
        let at_105 = signals(inst.on_event(&ev.encode(), Some(&book)).unwrap())[0].2;
        let tr = Event {
            h: header(2, 0, 500_000_000),
            body: EventBody::Trade(Trade {
                px: Price::parse("105").unwrap(),
                qty: Qty::from_units(1),
                aggressor: Some(Side::Buy),
            }),
        };
        let half_year = signals(inst.on_event(&tr.encode(), None).unwrap())[0].2;
        assert!(at_105 > 1_045_058_357 && half_year < at_105, "{at_105} {half_year}");
        // After expiry: intrinsic value 5, delta 1.
        let tr = Event { h: header(3, 0, 2_000_000_000), ..tr };
        let sig = signals(inst.on_event(&tr.encode(), None).unwrap());
        assert_eq!((sig[0].2, sig[1].2, sig[2].2), (500_000_000, 100_000_000, 0));
    }

    #[test]
    fn tenor_counts_from_the_first_event() {
        let p = "strike=100;rate=0.05;sigma=0.2;tenor_ns=1000000000;year_ns=1000000000";
        let mut a = NativeInstance::<BlackScholes>::new(p).unwrap();
        let t0 = 1_723_161_253_937_000_000; // an epoch-stamped tape
        let sig = signals(a.on_event(&quote(1, 0, t0, "100", "100").encode(), None).unwrap());
        assert_eq!(sig[0].2, 1_045_058_357);
    }

    #[test]
    fn one_sided_and_foreign_quotes_are_ignored() {
        let mut inst = NativeInstance::<BlackScholes>::new(ONE_YEAR).unwrap();
        assert!(inst.on_event(&quote(1, 0, 0, "0", "100").encode(), None).unwrap().is_empty());
        assert!(inst.on_event(&quote(2, 7, 0, "99", "100").encode(), None).unwrap().is_empty());
        assert!(inst.on_event(&quote(3, 1, 0, "9", "10").encode(), None).unwrap().is_empty());
        assert!(inst.on_event(&quote(4, 0, 0, "101", "100").encode(), None).unwrap().is_empty());
    }

    #[test]
    fn bad_parameters_are_refused_with_the_key() {
        for (p, key) in [
            ("strike=0", "strike"),
            ("sigma=-0.1", "sigma"),
            ("kind=straddle", "kind"),
            ("option=0", "option"),
            ("underlying=70000", "underlying"),
            ("year_ns=0", "year_ns"),
            ("tenor_ns=-5", "tenor_ns"),
            ("iv_max_iter=0", "iv_max_iter"),
            ("rate=7", "rate"),
            ("strke=100", "strke"),
        ] {
            let e = NativeInstance::<BlackScholes>::new(p).err().expect(p).to_string();
            assert!(e.contains(&format!("`{key}`")), "{p}: {e}");
        }
        assert!(NativeInstance::<BlackScholes>::new(DEFAULT_PARAMS).is_ok());
    }
}
