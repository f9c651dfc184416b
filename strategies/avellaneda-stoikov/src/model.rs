//! The Avellaneda–Stoikov quotes in exact decimal arithmetic.
//!
//! Every per-event step is an addition, a subtraction, a multiplication by a constant, or a
//! rounding to 8 decimal places half away from zero (`round_dp_with_strategy(8,
//! MidpointAwayFromZero)`, Java `setScale(8, RoundingMode.HALF_UP)`). There is no per-event
//! division and no float, so a `java.math.BigDecimal` port gives the same digits. Operand sizes
//! are bounded at init so no product ever exceeds `rust_decimal`'s 28 digits (where it would
//! round silently and a `BigDecimal` would not).

use lockstep_sdk::rust_decimal::{Decimal, RoundingStrategy};
use lockstep_sdk::{Price, SCALE};

/// Rounds to 8 decimal places, half away from zero.
pub fn round8(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(SCALE, RoundingStrategy::MidpointAwayFromZero)
}

/// Constants of the model, fixed at init.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Model {
    /// `γσ²`, price units per second per unit of inventory, rounded to 12 places.
    pub gamma_sigma2: Decimal,
    /// `(2/γ)·ln(1 + γ/k)`, price units, rounded to 8 places (computed once with `libm`).
    pub spread_const: Decimal,
    /// Quote tick as a fixed-point mantissa (> 0).
    pub tick: i64,
}

/// What the model says for one market state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotes {
    /// Reservation (indifference) price `r = s − q·γσ²(T−t)`.
    pub reservation: Decimal,
    /// Optimal total spread `δa + δb = γσ²(T−t) + (2/γ)ln(1 + γ/k)`.
    pub spread: Decimal,
    /// `r − spread/2` rounded down to the tick.
    pub bid: Price,
    /// `r + spread/2` rounded up to the tick, at least one tick above `bid`.
    pub ask: Price,
}

/// The spread constant `(2/γ)·ln(1 + γ/k)` as a float, from the parameters' text values.
///
/// The only transcendental of the model; evaluated once at init with fdlibm's `log1p`
/// (`StrictMath.log1p` in Java) and then rounded to 8 places with [`lockstep_sdk::f64_to_fixed`].
pub fn spread_const_f64(gamma: f64, k: f64) -> f64 {
    2.0 / gamma * libm::log1p(gamma / k)
}

/// Seconds from nanoseconds, exactly (a change of scale, not a division).
pub fn seconds(ns: i64) -> Decimal {
    Decimal::new(ns, 9)
}

/// Largest multiple of `tick` (a mantissa) at or below `x`; `None` if out of range.
pub fn floor_to_tick(x: Decimal, tick: i64) -> Option<i64> {
    let units = i64::try_from(x.checked_mul(Decimal::new(100_000_000, 0))?.floor()).ok()?;
    units.div_euclid(tick).checked_mul(tick)
}

/// Smallest multiple of `tick` (a mantissa) at or above `x`; `None` if out of range.
pub fn ceil_to_tick(x: Decimal, tick: i64) -> Option<i64> {
    let units = i64::try_from(x.checked_mul(Decimal::new(100_000_000, 0))?.ceil()).ok()?;
    let n = units.div_euclid(tick) + i64::from(units.rem_euclid(tick) != 0);
    n.checked_mul(tick)
}

impl Model {
    /// Quotes for mid price `mid`, inventory `q` and `remaining_ns` until the horizon.
    ///
    /// Avellaneda and Stoikov (2008), eqs. (29)–(30): with `τ = T − t` in seconds,
    /// `v = round8(γσ²·τ)`, `r = mid − round8(q·v)`, `spread = v + (2/γ)ln(1+γ/k)`,
    /// `bid = floor_tick(r − spread·0.5)`, `ask = ceil_tick(r + spread·0.5)`. `None` when a
    /// price leaves the fixed-point range or a step overflows `Decimal` (never panics).
    pub fn quotes(&self, mid: Decimal, q: Decimal, remaining_ns: i64) -> Option<Quotes> {
        let tau = seconds(remaining_ns.max(0));
        let risk = round8(self.gamma_sigma2.checked_mul(tau)?);
        let skew = round8(q.checked_mul(risk)?);
        let reservation = mid.checked_sub(skew)?;
        let spread = risk.checked_add(self.spread_const)?;
        let half = spread.checked_mul(Decimal::new(5, 1))?;
        let bid = floor_to_tick(reservation.checked_sub(half)?, self.tick)?;
        let mut ask = ceil_to_tick(reservation.checked_add(half)?, self.tick)?;
        if ask <= bid {
            ask = bid.checked_add(self.tick)?;
        }
        Some(Quotes { reservation, spread, bid: Price(bid), ask: Price(ask) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn tick_rounding_goes_outward() {
        let tick = 1_000_000; // 0.01
        assert_eq!(floor_to_tick(d("99.927504995"), tick), Some(9_992_000_000));
        assert_eq!(ceil_to_tick(d("99.972495005"), tick), Some(9_998_000_000));
        assert_eq!(floor_to_tick(d("99.92"), tick), Some(9_992_000_000));
        assert_eq!(ceil_to_tick(d("99.92"), tick), Some(9_992_000_000));
        assert_eq!(floor_to_tick(d("-0.005"), tick), Some(-1_000_000));
        assert_eq!(ceil_to_tick(d("-0.005"), tick), Some(0));
        assert_eq!(ceil_to_tick(d("99.920000001"), tick), Some(9_993_000_000));
        assert_eq!(floor_to_tick(d("1e20"), tick), None);
    }

    #[test]
    fn spread_constant_matches_the_closed_form() {
        // (2/0.1)·ln(1.001) = 0.0199900066...
        let c = spread_const_f64(0.1, 100.0);
        assert!((c - 20.0 * 0.000_999_500_333_083_533_4).abs() < 1e-15);
        assert_eq!(lockstep_sdk::f64_to_fixed(c), 1_999_001);
    }

    #[test]
    fn hand_worked_case() {
        // γ = 0.1, σ = 0.05 → γσ² = 0.00025; k = 100 → (2/γ)ln(1+γ/k) = 0.01999001.
        let m =
            Model { gamma_sigma2: d("0.00025"), spread_const: d("0.01999001"), tick: 1_000_000 };
        // τ = 100 s: γσ²τ = 0.025; q = 2 → skew 0.05; r = 99.95; spread 0.04499001;
        // r ∓ 0.022495005 = 99.927504995 / 99.972495005 → 99.92 / 99.98.
        let qt = m.quotes(d("100"), d("2"), 100_000_000_000).unwrap();
        assert_eq!(qt.reservation, d("99.95"));
        assert_eq!(qt.spread, d("0.04499001"));
        assert_eq!((qt.bid, qt.ask), (Price(9_992_000_000), Price(9_998_000_000)));
        // Short inventory skews up; at the horizon only the k term is left.
        let qt = m.quotes(d("100"), d("-2"), 100_000_000_000).unwrap();
        assert_eq!(qt.reservation, d("100.05"));
        let qt = m.quotes(d("100.005"), d("5"), 0).unwrap();
        assert_eq!((qt.reservation, qt.spread), (d("100.005"), d("0.01999001")));
        // 100.005 ∓ 0.009995005 = 99.995004995 / 100.014995005
        assert_eq!((qt.bid, qt.ask), (Price(9_999_000_000), Price(10_002_000_000)));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        // γσ²τ = 0.000000005 exactly: rounds to 0.00000001 (HALF_UP), not to 0 (banker's).
        let m = Model { gamma_sigma2: d("0.000000000005"), spread_const: d("0.02"), tick: 1 };
        let qt = m.quotes(d("100"), d("1"), 1_000_000_000_000).unwrap();
        assert_eq!(qt.spread, d("0.02000001"));
        let qt = m.quotes(d("100"), d("-0.5"), 1_000_000_000_000).unwrap();
        assert_eq!(qt.reservation, d("100.00000001"));
        let qt = m.quotes(d("100"), d("0.5"), 1_000_000_000_000).unwrap();
        assert_eq!(qt.reservation, d("99.99999999"));
    }

    #[test]
    fn a_locked_quote_is_widened_by_a_tick() {
        let m = Model { gamma_sigma2: d("0"), spread_const: d("0"), tick: 1_000_000 };
        let qt = m.quotes(d("100"), d("0"), 0).unwrap();
        assert_eq!((qt.bid, qt.ask), (Price(10_000_000_000), Price(10_001_000_000)));
    }
}
