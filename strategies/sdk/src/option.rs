//! Terms shared by option pricers: call or put, the contract's parameters, and the expiry
//! clock. Model-free (no pricing here); the Black–Scholes–Merton and CRR strategies both build
//! on it, so their parameters mean the same and are validated the same way.
//!
//! Time to expiry is computed from event time only: `(expiry − now) / year_ns` as one integer
//! subtraction and one float division, identical on every machine.

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
        let positive = |key: &'static str, default: f64| {
            let v = params.f64_or(key, default)?;
            if v > 0.0 { Ok(v) } else { Err(params.out_of_range(key, "must be > 0")) }
        };
        let per_year = |key: &'static str, default: f64| {
            let v = params.f64_or(key, default)?;
            if (-1.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(params.out_of_range(key, "must be within -1..=1 (per year)"))
            }
        };
        let strike = positive("strike", 100.0)?;
        let sigma = positive("sigma", 0.2)?;
        let rate = per_year("rate", 0.05)?;
        let div_yield = per_year("div_yield", 0.0)?;
        let expiry_ns = match params.get("expiry_ns") {
            Some(_) => Some(params.i64_or("expiry_ns", 0)?),
            None => None,
        };
        let tenor_ns = params.i64_or("tenor_ns", DEFAULT_TENOR_NS)?;
        if tenor_ns <= 0 {
            return Err(params.out_of_range("tenor_ns", "must be > 0"));
        }
        let year_ns = params.i64_or("year_ns", DEFAULT_YEAR_NS)?;
        if year_ns <= 0 {
            return Err(params.out_of_range("year_ns", "must be > 0"));
        }
        let expiry = Expiry { expiry_ns, tenor_ns, year_ns: year_ns as f64 };
        Ok(Self { underlying, option, kind, strike, rate, div_yield, sigma, expiry })
    }
}

/// The mid of a two-sided quote as a float, `None` when a side is empty or the quote is crossed.
pub fn mid_f64(bid: Price, ask: Price) -> Option<f64> {
    (bid.0 > 0 && ask.0 > 0 && ask.0 >= bid.0).then(|| (bid.to_f64() + ask.to_f64()) * 0.5)
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
}
