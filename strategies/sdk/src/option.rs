//! Terms shared by option pricers: call or put, the contract's parameters, the expiry clock,
//! the model inputs they make, and the spot a market event gives. Model-free (no pricing here);
//! the Black–Scholes–Merton and CRR strategies both build on it, so their parameters mean the
//! same, are validated the same way, and reach each model as the same [`OptionInputs`].
//!
//! Time to expiry is computed from event time only: `(expiry − now) / year_ns` as one integer
//! subtraction and one float division, identical on every machine.

use crate::abi::{BookView, Quote, Trade};
use crate::params::{ParamError, Params};
use crate::units::{InstrumentId, Price};

/// 30 days in nanoseconds: the default tenor when no absolute expiry is given.
pub const DEFAULT_TENOR_NS: i64 = 30 * 86_400 * 1_000_000_000;
/// 365 days in nanoseconds: the default length of a year for time to expiry.
pub const DEFAULT_YEAR_NS: i64 = 365 * 86_400 * 1_000_000_000;

/// Call or put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// The right to buy at the strike.
    Call,
    /// The right to sell at the strike.
    Put,
}

impl OptionKind {
    /// Value and delta at expiry: the intrinsic value, and ±1 in the money, else 0.
    pub fn at_expiry(self, spot: f64, strike: f64) -> (f64, f64) {
        let (itm, sign) = match self {
            OptionKind::Call => (spot - strike, 1.0),
            OptionKind::Put => (strike - spot, -1.0),
        };
        if itm > 0.0 { (itm, sign) } else { (0.0, 0.0) }
    }
}

/// When the option expires, on the local event clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Expiry {
    expiry_ns: Option<i64>,
    tenor_ns: i64,
    year_ns: f64,
}

impl Expiry {
    /// Years left at `now`; without an absolute expiry, the first call fixes it at
    /// `now + tenor_ns`.
    pub fn years_left(&mut self, now: i64) -> f64 {
        let expiry = *self.expiry_ns.get_or_insert(now.saturating_add(self.tenor_ns));
        expiry.saturating_sub(now) as f64 / self.year_ns
    }
}

/// The parameters every option pricer takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptionTerms {
    /// Instrument whose prices are the spot (`underlying`, default 0).
    pub underlying: InstrumentId,
    /// Instrument of the option itself; signals are published on it (`option`, default 1).
    pub option: InstrumentId,
    /// `kind` = `call` | `put`.
    pub kind: OptionKind,
    /// `strike` (> 0, default 100).
    pub strike: f64,
    /// `rate`: risk-free rate per year, continuously compounded (−1..=1, default 0.05).
    pub rate: f64,
    /// `div_yield`: continuous dividend or carry yield per year (−1..=1, default 0).
    pub div_yield: f64,
    /// `sigma`: volatility per √year (> 0, default 0.2).
    pub sigma: f64,
    /// `expiry_ns` (absolute, local clock) or `tenor_ns` from the first event (default 30
    /// days); `year_ns` (default 365 days).
    pub expiry: Expiry,
}

impl OptionTerms {
    /// The keys [`OptionTerms::from_params`] reads.
    pub const KEYS: &'static [&'static str] = &[
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
    ];

    /// Reads and validates the option terms; `default_kind` applies when `kind` is absent.
    ///
    /// # Errors
    /// A [`ParamError`] naming the first bad key and the rule it broke.
    pub fn from_params(params: &Params<'_>, default_kind: OptionKind) -> Result<Self, ParamError> {
        let underlying = params.instrument_or("underlying", 0)?;
        let option = params.instrument_or("option", 1)?;
        if option == underlying {
            return Err(params.out_of_range("option", "must differ from `underlying`"));
        }
        let kind = match params.get("kind") {
            None => default_kind,
            Some("call") => OptionKind::Call,
            Some("put") => OptionKind::Put,
            Some(_) => return Err(params.out_of_range("kind", "must be `call` or `put`")),
        };
        let per_year = |key: &'static str, default: f64| {
            let v = params.f64_or(key, default)?;
            if (-1.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(params.out_of_range(key, "must be within -1..=1 (per year)"))
            }
        };
        let strike = params.positive_f64_or("strike", 100.0)?;
        let sigma = params.positive_f64_or("sigma", 0.2)?;
        let rate = per_year("rate", 0.05)?;
        let div_yield = per_year("div_yield", 0.0)?;
        let expiry_ns = match params.get("expiry_ns") {
            Some(_) => Some(params.i64_or("expiry_ns", 0)?),
            None => None,
        };
        let tenor_ns = params.positive_i64_or("tenor_ns", DEFAULT_TENOR_NS)?;
        let year_ns = params.positive_i64_or("year_ns", DEFAULT_YEAR_NS)?;
        let expiry = Expiry { expiry_ns, tenor_ns, year_ns: year_ns as f64 };
        Ok(Self { underlying, option, kind, strike, rate, div_yield, sigma, expiry })
    }
}

/// What a pricing model takes: the contract's terms at one spot and time to expiry. Rates and
/// yields are continuously compounded, per year; `t` is in years.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptionInputs {
    /// Call or put.
    pub kind: OptionKind,
    /// Spot price of the underlying (> 0).
    pub s: f64,
    /// Strike (> 0).
    pub k: f64,
    /// Time to expiry in years (> 0).
    pub t: f64,
    /// Risk-free rate.
    pub r: f64,
    /// Continuous dividend (or carry) yield, Merton's extension.
    pub q: f64,
    /// Volatility per √year (> 0).
    pub sigma: f64,
}

impl OptionTerms {
    /// The model inputs at spot `s` with `t` years left.
    pub fn inputs(&self, s: f64, t: f64) -> OptionInputs {
        OptionInputs {
            kind: self.kind,
            s,
            k: self.strike,
            t,
            r: self.rate,
            q: self.div_yield,
            sigma: self.sigma,
        }
    }
}

/// The mid of a two-sided quote as a float, `None` when a side is empty or the quote is crossed.
#[inline]
pub fn mid_f64(bid: Price, ask: Price) -> Option<f64> {
    (bid.0 > 0 && ask.0 > 0 && ask.0 >= bid.0).then(|| (bid.to_f64() + ask.to_f64()) * 0.5)
}

/// The price a quote event gives a pricer: its [`mid_f64`].
#[inline]
pub fn quote_mid_f64(q: &Quote) -> Option<f64> {
    mid_f64(q.bid.px, q.ask.px)
}

/// The price a book event gives a pricer: the [`mid_f64`] of the best levels, `None` when a
/// side has none.
#[inline]
pub fn book_mid_f64(book: &BookView<'_>) -> Option<f64> {
    match (book.bid(0), book.ask(0)) {
        (Some(b), Some(a)) => mid_f64(b.px, a.px),
        _ => None,
    }
}

/// The price a trade event gives a pricer: the trade's price, `None` unless positive.
#[inline]
pub fn trade_px_f64(t: &Trade) -> Option<f64> {
    (t.px.0 > 0).then(|| t.px.to_f64())
}

/// The market-data handlers of a pricer driven by one price per event, for use inside its
/// `impl Strategy`: `on_quote`, `on_book` and `on_trade` each call the type's own
/// `fn on_price(&mut self, h: &EventHeader, px: Option<f64>, out: &mut Actions<'_>)` with the
/// event's [`quote_mid_f64`], [`book_mid_f64`] or [`trade_px_f64`]. The option pricers share
/// them, so an event means the same spot to both.
#[macro_export]
macro_rules! price_handlers {
    () => {
        fn on_quote(
            &mut self,
            h: &$crate::EventHeader,
            q: &$crate::Quote,
            out: &mut $crate::Actions<'_>,
        ) {
            self.on_price(h, $crate::quote_mid_f64(q), out);
        }

        fn on_book(
            &mut self,
            h: &$crate::EventHeader,
            book: &$crate::BookView<'_>,
            out: &mut $crate::Actions<'_>,
        ) {
            self.on_price(h, $crate::book_mid_f64(book), out);
        }

        fn on_trade(
            &mut self,
            h: &$crate::EventHeader,
            t: &$crate::Trade,
            out: &mut $crate::Actions<'_>,
        ) {
            self.on_price(h, $crate::trade_px_f64(t), out);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_parse_with_defaults_and_validate() {
        let t = OptionTerms::from_params(&Params::new(""), OptionKind::Put).unwrap();
        assert_eq!((t.underlying, t.option, t.kind, t.strike), (0, 1, OptionKind::Put, 100.0));
        let bad = |text: &str| OptionTerms::from_params(&Params::new(text), OptionKind::Call);
        assert!(matches!(bad("option=0"), Err(ParamError::OutOfRange { .. })));
        assert!(matches!(bad("kind=straddle"), Err(ParamError::OutOfRange { .. })));
        assert!(matches!(bad("sigma=0"), Err(ParamError::OutOfRange { .. })));
        assert!(matches!(bad("rate=1.5"), Err(ParamError::OutOfRange { .. })));
        assert!(matches!(bad("year_ns=0"), Err(ParamError::OutOfRange { .. })));
    }

    #[test]
    fn expiry_is_fixed_at_the_first_event() {
        let p = Params::new("tenor_ns=1000;year_ns=1000");
        let mut t = OptionTerms::from_params(&p, OptionKind::Call).unwrap();
        assert_eq!(t.expiry.years_left(500), 1.0);
        assert_eq!(t.expiry.years_left(1000), 0.5);
        assert_eq!(t.expiry.years_left(2000), -0.5);
    }

    #[test]
    fn intrinsic_value_and_mid() {
        assert_eq!(OptionKind::Call.at_expiry(110.0, 100.0), (10.0, 1.0));
        assert_eq!(OptionKind::Put.at_expiry(110.0, 100.0), (0.0, 0.0));
        assert_eq!(OptionKind::Put.at_expiry(90.0, 100.0), (10.0, -1.0));
        assert_eq!(mid_f64(Price(100), Price(300)), Some(2e-6));
        assert_eq!(mid_f64(Price(300), Price(100)), None);
    }

    #[test]
    fn inputs_carry_the_terms() {
        let p = Params::new("kind=put;strike=95;rate=0.01;div_yield=0.02;sigma=0.3");
        let t = OptionTerms::from_params(&p, OptionKind::Call).unwrap();
        let i = t.inputs(101.5, 0.25);
        assert_eq!((i.kind, i.s, i.k, i.t), (OptionKind::Put, 101.5, 95.0, 0.25));
        assert_eq!((i.r, i.q, i.sigma), (0.01, 0.02, 0.3));
    }

    #[test]
    fn event_prices() {
        use crate::abi::{BookRecord, Level};
        use crate::units::Qty;
        let l = |px: i64| Level { px: Price(px), qty: Qty(1) };
        let q = |bid: i64, ask: i64| Quote { bid: l(bid), ask: l(ask) };
        assert_eq!(quote_mid_f64(&q(100, 300)), Some(2e-6));
        assert_eq!(quote_mid_f64(&q(0, 300)), None);
        assert_eq!(quote_mid_f64(&q(300, 100)), None);
        let mut book = BookRecord::default();
        book.write(0, &[l(100), l(50)], &[l(300)]);
        assert_eq!(book_mid_f64(&book.view()), Some(2e-6));
        book.write(0, &[l(100)], &[]);
        assert_eq!(book_mid_f64(&book.view()), None);
        let t = |px: i64| Trade { px: Price(px), qty: Qty(1), aggressor: None };
        assert_eq!(trade_px_f64(&t(150_000_000)), Some(1.5));
        assert_eq!((trade_px_f64(&t(0)), trade_px_f64(&t(-5))), (None, None));
    }

    #[test]
    fn price_handlers_pass_each_event_price() {
        use crate::abi::{Event, EventBody, EventHeader, Level};
        use crate::strategy::{Actions, InitError, NativeInstance, Strategy};
        use crate::units::{Nanos, Qty};
        struct Last(Vec<Option<f64>>);
        impl Last {
            fn on_price(&mut self, _h: &EventHeader, px: Option<f64>, _out: &mut Actions<'_>) {
                self.0.push(px);
            }
        }
        impl Strategy for Last {
            fn init(_: &Params<'_>, _: &mut Actions<'_>) -> Result<Self, InitError> {
                Ok(Last(Vec::new()))
            }
            crate::price_handlers!();
        }
        let h = EventHeader { seq: 1, instrument: 0, exchange_ts: Nanos(0), local_ts: Nanos(0) };
        let l = |px: i64| Level { px: Price(px), qty: Qty(1) };
        let mut s = NativeInstance::<Last>::new("").unwrap();
        let quote = EventBody::Quote(Quote { bid: l(100), ask: l(300) });
        let trade = EventBody::Trade(Trade { px: Price(0), qty: Qty(1), aggressor: None });
        let mut book = crate::abi::BookRecord::default();
        book.write(0, &[l(100)], &[l(500)]);
        for (body, b) in
            [(quote, None), (trade, None), (EventBody::Book(Quote::default()), Some(&book))]
        {
            s.on_event(&Event { h, body }.encode(), b).unwrap();
        }
        assert_eq!(s.strategy().0, [Some(2e-6), None, Some(3e-6)]);
    }

    #[test]
    fn years_left_bits_are_pinned() {
        // Captured before the option code moved (default 30-day tenor, 365-day year).
        let mut t = OptionTerms::from_params(&Params::new(""), OptionKind::Call).unwrap();
        for (now, bits) in [
            (1_700_000_000_000_000_000, 0x3fb5_0a85_42a1_50a8),
            (1_700_000_123_456_789_000, 0x3fb5_0a43_94bd_2e6c),
            (1_702_000_000_000_000_000, 0x3f93_3904_ce41_3390),
        ] {
            assert_eq!(t.expiry.years_left(now).to_bits(), bits, "{now}");
        }
    }
}
