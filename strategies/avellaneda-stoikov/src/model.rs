//! The Avellaneda–Stoikov quotes in exact decimal arithmetic.
//!
//! Every per-event step is an addition, a subtraction, a multiplication by a constant, or a
//! rounding to 8 decimal places half away from zero (`round_dp_with_strategy(8,
//! MidpointAwayFromZero)`, Java `setScale(8, RoundingMode.HALF_UP)`). There is no per-event
//! division and no float, so a `java.math.BigDecimal` port gives the same digits. Operand sizes
//! are bounded at init so no product ever exceeds `rust_decimal`'s 28 digits (where it would
//! round silently and a `BigDecimal` would not).
//!
//! The hot path ([`Model::quotes_fixed`]) does the same steps on `i128` mantissas at explicit
//! scales (prices and inventory at 8 places, the mid and the reservation at 9, `γσ²` at 12,
//! time at 9): exact, so numerically equal to the decimal steps, and several times cheaper than
//! `Decimal` on the interpreter. [`Model::quotes`] is the same computation with decimal
//! inputs and outputs, for tests and readers.

use lockstep_sdk::math;

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
    /// `gamma_sigma2` as a mantissa at 12 places.
    gs2_e12: i128,
    /// `spread_const` as a mantissa at 8 places.
    spread_e8: i128,
}

/// What the model says for one market state, as mantissas (see [`Model::quotes_fixed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedQuotes {
    /// Reservation price at 9 places.
    pub reservation_e9: i128,
    /// Total spread at 8 places.
    pub spread_e8: i128,
    /// Bid, rounded down to the tick.
    pub bid: Price,
    /// Ask, rounded up to the tick, at least one tick above `bid`.
    pub ask: Price,
}

/// `x / 10^k` rounded half away from zero (`k` ≥ 1).
fn div_pow10_round(x: i128, k: u32) -> i128 {
    let d = 10_i128.pow(k);
    let (q, r) = (x / d, x % d);
    if r.unsigned_abs() * 2 >= d.unsigned_abs() { q + x.signum() } else { q }
}

/// A 9-place mantissa rounded half away from zero to 8 places (`Price::from_decimal`).
pub(crate) fn round_e9_to_e8(x: i128) -> i128 {
    div_pow10_round(x, 1)
}

/// The mantissa of `d` at `scale` places (`d` must have at most `scale` places).
fn mantissa_at(d: Decimal, scale: u32) -> Option<i128> {
    d.mantissa().checked_mul(10_i128.checked_pow(scale.checked_sub(d.scale())?)?)
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
    2.0 / gamma * math::log1p(gamma / k)
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
    /// The model for `γσ²` (at most 12 places), the spread constant (at most 8) and a tick
    /// mantissa; `None` if a constant has more places than that.
    pub fn new(gamma_sigma2: Decimal, spread_const: Decimal, tick: i64) -> Option<Self> {
        Some(Self {
            gamma_sigma2,
            spread_const,
            tick,
            gs2_e12: mantissa_at(gamma_sigma2, 12)?,
            spread_e8: mantissa_at(spread_const, 8)?,
        })
    }

    /// Quotes for mid price `mid`, inventory `q` and `remaining_ns` until the horizon.
    ///
    /// Avellaneda and Stoikov (2008), eqs. (29)–(30): with `τ = T − t` in seconds,
    /// `v = round8(γσ²·τ)`, `r = mid − round8(q·v)`, `spread = v + (2/γ)ln(1+γ/k)`,
    /// `bid = floor_tick(r − spread·0.5)`, `ask = ceil_tick(r + spread·0.5)`. `None` when a
    /// price leaves the fixed-point range (never panics). `mid` may have 9 places, `q` 8.
    pub fn quotes(&self, mid: Decimal, q: Decimal, remaining_ns: i64) -> Option<Quotes> {
        let f = self.quotes_fixed(mantissa_at(mid, 9)?, mantissa_at(q, 8)?, remaining_ns)?;
        Some(Quotes {
            reservation: Decimal::try_from_i128_with_scale(f.reservation_e9, 9).ok()?,
            spread: Decimal::try_from_i128_with_scale(f.spread_e8, 8).ok()?,
            bid: f.bid,
            ask: f.ask,
        })
    }

    /// [`Model::quotes`] on mantissas: `mid_e9` at 9 places, inventory `q_e8` at 8. The same
    /// steps, each exact in `i128`; `None` on overflow or a price outside the fixed-point range.
    #[inline]
    pub fn quotes_fixed(&self, mid_e9: i128, q_e8: i128, remaining_ns: i64) -> Option<FixedQuotes> {
        let tau_e9 = i128::from(remaining_ns.max(0));
        // round8(γσ²·τ): 12 + 9 places down to 8.
        let risk_e8 = div_pow10_round(self.gs2_e12.checked_mul(tau_e9)?, 13);
        // round8(q·v): 8 + 8 places down to 8.
        let skew_e8 = div_pow10_round(q_e8.checked_mul(risk_e8)?, 8);
        let reservation_e9 = mid_e9.checked_sub(skew_e8.checked_mul(10)?)?;
        let spread_e8 = risk_e8.checked_add(self.spread_e8)?;
        let half_e9 = spread_e8.checked_mul(5)?;
        let tick = i128::from(self.tick);
        // floor_tick / ceil_tick: to 8 places (down or up), then to a multiple of the tick.
        let lo = reservation_e9.checked_sub(half_e9)?.div_euclid(10);
        let hi = reservation_e9.checked_add(half_e9)?;
        let hi = hi.div_euclid(10) + i128::from(hi.rem_euclid(10) != 0);
        let bid = i64::try_from(lo).ok()?;
        let bid = i128::from(bid).div_euclid(tick).checked_mul(tick)?;
        let ask = i128::from(i64::try_from(hi).ok()?);
        let ask =
            (ask.div_euclid(tick) + i128::from(ask.rem_euclid(tick) != 0)).checked_mul(tick)?;
        let (bid, mut ask) = (i64::try_from(bid).ok()?, i64::try_from(ask).ok()?);
        if ask <= bid {
            ask = bid.checked_add(self.tick)?;
        }
        Some(FixedQuotes { reservation_e9, spread_e8, bid: Price(bid), ask: Price(ask) })
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
        let m = Model::new(d("0.00025"), d("0.01999001"), 1_000_000).unwrap();
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
        let m = Model::new(d("0.000000000005"), d("0.02"), 1).unwrap();
        let qt = m.quotes(d("100"), d("1"), 1_000_000_000_000).unwrap();
        assert_eq!(qt.spread, d("0.02000001"));
        let qt = m.quotes(d("100"), d("-0.5"), 1_000_000_000_000).unwrap();
        assert_eq!(qt.reservation, d("100.00000001"));
        let qt = m.quotes(d("100"), d("0.5"), 1_000_000_000_000).unwrap();
        assert_eq!(qt.reservation, d("99.99999999"));
    }

    /// The original all-`Decimal` steps, kept as the reference the fixed-point path must equal.
    fn reference(m: &Model, mid: Decimal, q: Decimal, remaining_ns: i64) -> Option<Quotes> {
        let tau = seconds(remaining_ns.max(0));
        let risk = round8(m.gamma_sigma2.checked_mul(tau)?);
        let skew = round8(q.checked_mul(risk)?);
        let reservation = mid.checked_sub(skew)?;
        let spread = risk.checked_add(m.spread_const)?;
        let half = spread.checked_mul(Decimal::new(5, 1))?;
        let bid = floor_to_tick(reservation.checked_sub(half)?, m.tick)?;
        let mut ask = ceil_to_tick(reservation.checked_add(half)?, m.tick)?;
        if ask <= bid {
            ask = bid.checked_add(m.tick)?;
        }
        Some(Quotes { reservation, spread, bid: Price(bid), ask: Price(ask) })
    }

    #[test]
    fn fixed_point_equals_the_decimal_steps() {
        // A seeded walk over mids, inventories, times and models, ties included.
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let models = [
            Model::new(d("0.00025"), d("0.01999001"), 1_000_000).unwrap(),
            Model::new(d("0.000000000005"), d("0.02"), 1).unwrap(),
            Model::new(d("9.999999999999"), d("0.00000001"), 500_000).unwrap(),
            Model::new(d("0.000123456789"), d("1.5"), 25_000_000).unwrap(),
        ];
        for i in 0..200_000 {
            let m = &models[i % models.len()];
            let r = next();
            let mid = Decimal::new((r % 2_000_000_000_000) as i64 - 1_000_000, 9);
            let q = Decimal::new(((r >> 20) % 4_000_000_000) as i64 - 2_000_000_000, 8);
            let t = match (r >> 50) % 4 {
                0 => 0,
                1 => ((r >> 8) % 1_000_000_000_000) as i64,
                2 => -(((r >> 9) % 1_000) as i64),
                _ => ((r >> 3) % 400_000_000) as i64 * 5,
            };
            assert_eq!(m.quotes(mid, q, t), reference(m, mid, q, t), "{mid} {q} {t} {m:?}");
        }
    }

    #[test]
    fn a_locked_quote_is_widened_by_a_tick() {
        let m = Model::new(d("0"), d("0"), 1_000_000).unwrap();
        let qt = m.quotes(d("100"), d("0"), 0).unwrap();
        assert_eq!((qt.bid, qt.ask), (Price(10_000_000_000), Price(10_001_000_000)));
    }
}
