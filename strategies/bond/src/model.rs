//! Price–yield analytics of a fixed-rate bullet bond per 100 face.
//!
//! Street convention (Mayle, *Standard Securities Calculation Methods*, 1993; the formula of
//! Excel's `PRICE` when more than one coupon remains): with `n` coupons left, coupon `C = 100·c/f`, periodic yield `y/f`,
//! `v = 1/(1 + y/f)` and `w` the fraction of the current period still to run,
//! `dirty = Σ_{k=0}^{n−1} C·v^{w+k} + 100·v^{w+n−1}`. Compound discounting is used in the last
//! period too. Floats go through basic arithmetic and software `libm` (`pow` once per call).

use lockstep_sdk::math;

/// Everything one price/yield evaluation gives, per 100 face.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Analytics {
    /// Dirty (full) price.
    pub dirty: f64,
    /// Macaulay duration in years.
    pub macaulay: f64,
    /// Modified duration in years: `macaulay / (1 + y/f)` = `−(dP/dy)/P`.
    pub modified: f64,
    /// Convexity in years²: `(d²P/dy²)/P`.
    pub convexity: f64,
}

/// The cash-flow shape from settlement: what [`analytics`] needs besides the yield.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flows {
    /// Coupon per period per 100 face, `100·c/f`.
    pub coupon: f64,
    /// Coupons left, the next one included (≥ 1).
    pub n: u32,
    /// Fraction of the current period from settlement to the next coupon, in (0, 1].
    pub w: f64,
    /// Coupons per year.
    pub freq: f64,
}

/// Lowest yield the solver considers (−50 %).
pub const YIELD_MIN: f64 = -0.5;
/// Highest yield the solver considers (200 %).
pub const YIELD_MAX: f64 = 2.0;

/// Dirty price, durations and convexity at annual yield `y` (compounded `freq` times a year).
pub fn analytics(fl: &Flows, y: f64) -> Analytics {
    let v = 1.0 / (1.0 + y / fl.freq);
    let mut df = math::pow(v, fl.w);
    let (mut pv, mut t_pv, mut tt_pv) = (0.0, 0.0, 0.0);
    for k in 0..fl.n {
        let t = fl.w + f64::from(k);
        let cf = if k + 1 == fl.n { fl.coupon + 100.0 } else { fl.coupon };
        let x = cf * df;
        pv += x;
        t_pv += t * x;
        tt_pv += t * (t + 1.0) * x;
        df *= v;
    }
    let macaulay = t_pv / pv / fl.freq;
    Analytics {
        dirty: pv,
        macaulay,
        modified: macaulay * v,
        convexity: tt_pv * v * v / (pv * fl.freq * fl.freq),
    }
}

/// The annual yield at which the dirty price is `dirty`: Newton's method on the price with the
/// analytic derivative `−modified·P`, falling back to bisection whenever a step leaves the
/// bracket [`YIELD_MIN`, `YIELD_MAX`]. `None` when the price is outside the bracket's prices or
/// no solution within `1e-10` is found in 100 steps.
pub fn yield_from_dirty(fl: &Flows, dirty: f64) -> Option<f64> {
    if !(dirty > 0.0 && dirty < f64::MAX) {
        return None;
    }
    let (mut lo, mut hi) = (YIELD_MIN, YIELD_MAX);
    if analytics(fl, hi).dirty > dirty || analytics(fl, lo).dirty < dirty {
        return None;
    }
    let mut y = fl.coupon * fl.freq / 100.0;
    if !(y > lo && y < hi) {
        y = 0.05;
    }
    for _ in 0..100 {
        let a = analytics(fl, y);
        let diff = a.dirty - dirty;
        if diff.abs() <= 1e-10 {
            return Some(y);
        }
        // The price falls as the yield rises.
        if diff > 0.0 {
            lo = y;
        } else {
            hi = y;
        }
        let slope = -a.modified * a.dirty;
        let mut next = if slope < 0.0 { y - diff / slope } else { lo };
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        if !(next > lo && next < hi) {
            return None;
        }
        y = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flows(c: f64, n: u32, w: f64) -> Flows {
        Flows { coupon: 100.0 * c / 2.0, n, w, freq: 2.0 }
    }

    #[test]
    fn annuity_closed_form_on_a_coupon_date() {
        // 10 years, 5 % semi-annual, yield 6 %: 2.5·(1 − 1.03^−20)/0.03 + 100·1.03^−20.
        let a = analytics(&flows(0.05, 20, 1.0), 0.06);
        let d = libm::pow(1.03, -20.0);
        let closed = 2.5 * (1.0 - d) / 0.03 + 100.0 * d;
        assert!((a.dirty - closed).abs() < 1e-11 && (a.dirty - 92.561_262_569_77).abs() < 1e-8);
        // At par yield the price is par.
        assert!((analytics(&flows(0.05, 20, 1.0), 0.05).dirty - 100.0).abs() < 1e-11);
    }

    #[test]
    fn macaulay_matches_its_closed_form() {
        // Per-period closed form: D = (1+i)/i − (1+i+n(c−i)) / (c((1+i)^n − 1) + i).
        for (c, y, n) in [(0.08, 0.09, 16u32), (0.05, 0.05, 20), (0.02, 0.07, 60)] {
            let (i, cp) = (y / 2.0, c / 2.0);
            let nf = f64::from(n);
            let periods = (1.0 + i) / i
                - (1.0 + i + nf * (cp - i)) / (cp * (libm::pow(1.0 + i, nf) - 1.0) + i);
            let a = analytics(&flows(c, n, 1.0), y);
            assert!((a.macaulay - periods / 2.0).abs() < 1e-10, "c={c} y={y}");
        }
    }

    #[test]
    fn durations_and_convexity_match_finite_differences() {
        let fl = flows(0.0575, 20, 0.5);
        let (y, h) = (0.065, 1e-5);
        let (p, up, dn) = (analytics(&fl, y), analytics(&fl, y + h), analytics(&fl, y - h));
        let d1 = (up.dirty - dn.dirty) / (2.0 * h);
        let d2 = (up.dirty - 2.0 * p.dirty + dn.dirty) / (h * h);
        assert!((p.modified + d1 / p.dirty).abs() < 1e-7, "{} {}", p.modified, -d1 / p.dirty);
        assert!((p.convexity - d2 / p.dirty).abs() < 1e-3, "{} {}", p.convexity, d2 / p.dirty);
    }

    #[test]
    fn yield_round_trips() {
        for n in [1u32, 2, 7, 20, 60] {
            for w in [1.0, 0.5, 0.0111, 0.9] {
                for y in [-0.004, 0.0, 0.01, 0.0575, 0.12, 0.6] {
                    let fl = flows(0.04, n, w);
                    let p = analytics(&fl, y).dirty;
                    let back =
                        yield_from_dirty(&fl, p).unwrap_or_else(|| panic!("n={n} w={w} y={y}"));
                    assert!((back - y).abs() < 1e-9, "n={n} w={w} y={y}: {back}");
                }
            }
        }
        let fl = flows(0.04, 20, 1.0);
        assert_eq!(yield_from_dirty(&fl, 0.0), None);
        assert_eq!(yield_from_dirty(&fl, 1e6), None);
        assert_eq!(yield_from_dirty(&fl, f64::NAN), None);
    }
}
