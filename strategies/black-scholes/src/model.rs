//! The Black–Scholes–Merton model in plain IEEE-754 arithmetic.
//!
//! Only `+ - * /`, comparisons and the fdlibm-derived `exp`, `ln` and `sqrt` of `lockstep_sdk::math`
//! are used, and every expression is written in the order it is evaluated, so a line-by-line port
//! (Java with `StrictMath`, which is fdlibm too) produces the same bits. No fused multiply-add,
//! no `powf`, no platform `f64::exp`.

use lockstep_sdk::math;

/// `1 / sqrt(2π)`.
pub const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// The standard normal cumulative distribution function `N(x)`.
///
/// Hart's double-precision rational approximation (J. F. Hart et al., *Computer
/// Approximations*, Wiley 1968, algorithm 5666 for `erfc`) as published by Graeme West, "Better
/// approximations to cumulative normal functions", *Wilmott Magazine*, May 2005, pp. 70–76:
/// absolute error below 1e-14 everywhere. Basic arithmetic plus one `exp`, nothing else.
pub fn norm_cdf(x: f64) -> f64 {
    let y = if x < 0.0 { -x } else { x };
    let tail = if y > 37.0 {
        0.0
    } else {
        let e = math::exp(-(y * y) / 2.0);
        if y < 7.071_067_811_865_47 {
            let mut a = 3.526_249_659_989_11e-2 * y + 0.700_383_064_443_688;
            a = a * y + 6.373_962_203_531_65;
            a = a * y + 33.912_866_078_383;
            a = a * y + 112.079_291_497_871;
            a = a * y + 221.213_596_169_931;
            a = a * y + 220.206_867_912_376;
            let mut b = 8.838_834_764_831_84e-2 * y + 1.755_667_163_182_64;
            b = b * y + 16.064_177_579_207;
            b = b * y + 86.780_732_202_946_1;
            b = b * y + 296.564_248_779_674;
            b = b * y + 637.333_633_378_831;
            b = b * y + 793.826_512_519_948;
            b = b * y + 440.413_735_824_752;
            e * a / b
        } else {
            let mut c = y + 0.65;
            c = y + 4.0 / c;
            c = y + 3.0 / c;
            c = y + 2.0 / c;
            c = y + 1.0 / c;
            e / c / 2.506_628_274_631
        }
    };
    if x > 0.0 { 1.0 - tail } else { tail }
}

/// The standard normal density `φ(x) = exp(−x²/2) / sqrt(2π)`.
pub fn norm_pdf(x: f64) -> f64 {
    math::exp(-(x * x) / 2.0) * INV_SQRT_2PI
}

pub use lockstep_sdk::OptionKind;

/// Inputs of the model. Rates and yields are continuously compounded, per year; `t` is in years.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inputs {
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

/// Price and first-order sensitivities of a European option.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Greeks {
    /// Present value.
    pub price: f64,
    /// ∂V/∂S.
    pub delta: f64,
    /// ∂²V/∂S².
    pub gamma: f64,
    /// ∂V/∂σ, per unit of volatility (1.00 = 100 vol points).
    pub vega: f64,
    /// ∂V/∂t, per year of calendar time (negative of ∂V/∂T).
    pub theta: f64,
    /// ∂V/∂r, per unit of rate.
    pub rho: f64,
}

/// Black–Scholes–Merton price and greeks of a European option.
///
/// F. Black and M. Scholes, "The pricing of options and corporate liabilities", *Journal of
/// Political Economy* 81(3), 1973; R. C. Merton, "Theory of rational option pricing", *Bell
/// Journal of Economics and Management Science* 4(1), 1973 (continuous dividend yield `q`).
///
/// `d1 = (ln(S/K) + (r − q + σ²/2)T) / (σ√T)`, `d2 = d1 − σ√T`,
/// `C = S e^{−qT} N(d1) − K e^{−rT} N(d2)`, `P = K e^{−rT} N(−d2) − S e^{−qT} N(−d1)`.
///
/// Requires `s, k, t, sigma > 0`; the caller checks (the strategy never passes anything else).
pub fn greeks(i: &Inputs) -> Greeks {
    let sqrt_t = math::sqrt(i.t);
    let vol_t = i.sigma * sqrt_t;
    let d1 = (math::ln(i.s / i.k) + (i.r - i.q + i.sigma * i.sigma / 2.0) * i.t) / vol_t;
    let d2 = d1 - vol_t;
    let df_q = math::exp(-i.q * i.t);
    let df_r = math::exp(-i.r * i.t);
    let s_q = i.s * df_q;
    let k_r = i.k * df_r;
    let pdf_d1 = norm_pdf(d1);
    let gamma = df_q * pdf_d1 / (i.s * vol_t);
    let vega = s_q * pdf_d1 * sqrt_t;
    let decay = -(s_q * pdf_d1 * i.sigma) / (2.0 * sqrt_t);
    match i.kind {
        OptionKind::Call => {
            let n1 = norm_cdf(d1);
            let n2 = norm_cdf(d2);
            Greeks {
                price: s_q * n1 - k_r * n2,
                delta: df_q * n1,
                gamma,
                vega,
                theta: decay - i.r * k_r * n2 + i.q * s_q * n1,
                rho: k_r * i.t * n2,
            }
        }
        OptionKind::Put => {
            let n1 = norm_cdf(-d1);
            let n2 = norm_cdf(-d2);
            Greeks {
                price: k_r * n2 - s_q * n1,
                delta: -(df_q * n1),
                gamma,
                vega,
                theta: decay + i.r * k_r * n2 - i.q * s_q * n1,
                rho: -(k_r * i.t * n2),
            }
        }
    }
}

/// Price and vega only: the inner step of [`implied_vol`].
fn price_vega(i: &Inputs) -> (f64, f64) {
    let sqrt_t = math::sqrt(i.t);
    let vol_t = i.sigma * sqrt_t;
    let d1 = (math::ln(i.s / i.k) + (i.r - i.q + i.sigma * i.sigma / 2.0) * i.t) / vol_t;
    let d2 = d1 - vol_t;
    let s_q = i.s * math::exp(-i.q * i.t);
    let k_r = i.k * math::exp(-i.r * i.t);
    let vega = s_q * norm_pdf(d1) * sqrt_t;
    let price = match i.kind {
        OptionKind::Call => s_q * norm_cdf(d1) - k_r * norm_cdf(d2),
        OptionKind::Put => k_r * norm_cdf(-d2) - s_q * norm_cdf(-d1),
    };
    (price, vega)
}

/// Lowest volatility the implied-vol search considers.
pub const IV_MIN: f64 = 1e-4;
/// Highest volatility the implied-vol search considers (1000 vol points).
pub const IV_MAX: f64 = 10.0;

/// The volatility at which the model price equals `target`, or `None` when there is none in
/// [`IV_MIN`, `IV_MAX`] (price outside the no-arbitrage bounds) or it was not found within
/// `max_iter` steps.
///
/// Newton–Raphson on σ with a bisection fallback: the bracket `[lo, hi]` shrinks on every step
/// (the price is strictly increasing in σ), and a Newton step that leaves the bracket, or a zero
/// vega, is replaced by the midpoint. The start is the inflection point
/// `sqrt(2|ln(S/K) + (r−q)T| / T)` of Manaster and Koehler ("The calculation of implied
/// variances from the Black–Scholes model", *Journal of Finance* 37(1), 1982), clamped into the
/// bracket. Converged when `|price − target| ≤ tol · max(1, target)`. `i.sigma` is ignored.
pub fn implied_vol(i: &Inputs, target: f64, tol: f64, max_iter: u32) -> Option<f64> {
    if !(i.s > 0.0 && i.k > 0.0 && i.t > 0.0 && target > 0.0 && target < f64::MAX) {
        return None;
    }
    let s_q = i.s * math::exp(-i.q * i.t);
    let k_r = i.k * math::exp(-i.r * i.t);
    let (intrinsic, cap) = match i.kind {
        OptionKind::Call => (s_q - k_r, s_q),
        OptionKind::Put => (k_r - s_q, k_r),
    };
    if target <= intrinsic || target >= cap {
        return None;
    }
    let tol_abs = if target > 1.0 { tol * target } else { tol };
    let mut lo = IV_MIN;
    let mut hi = IV_MAX;
    let m = math::ln(i.s / i.k) + (i.r - i.q) * i.t;
    let m_abs = if m < 0.0 { -m } else { m };
    let mut sigma = math::sqrt(2.0 * m_abs / i.t);
    if !(sigma > lo && sigma < hi) {
        sigma = 0.5 * (lo + hi);
    }
    let mut x = *i;
    for _ in 0..max_iter {
        x.sigma = sigma;
        let (price, vega) = price_vega(&x);
        let diff = price - target;
        let diff_abs = if diff < 0.0 { -diff } else { diff };
        if diff_abs <= tol_abs {
            return Some(sigma);
        }
        if diff > 0.0 {
            hi = sigma;
        } else {
            lo = sigma;
        }
        let mut next = if vega > 0.0 { sigma - diff / vega } else { lo };
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        if !(next > lo && next < hi) {
            // The bracket has shrunk to adjacent doubles without meeting the tolerance.
            return None;
        }
        sigma = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(kind: OptionKind, s: f64, k: f64, t: f64, r: f64, q: f64, sigma: f64) -> Inputs {
        Inputs { kind, s, k, t, r, q, sigma }
    }

    #[test]
    fn cdf_matches_libm_erfc() {
        let mut worst = 0.0f64;
        let mut x = -40.0;
        while x <= 40.0 {
            let reference = 0.5 * libm::erfc(-x / core::f64::consts::SQRT_2);
            worst = worst.max((norm_cdf(x) - reference).abs());
            x += 0.001_7;
        }
        assert!(worst < 1e-14, "worst absolute error {worst:e}");
        assert_eq!(norm_cdf(0.0), 0.5);
        assert_eq!(norm_cdf(-38.0), 0.0);
        assert_eq!(norm_cdf(38.0), 1.0);
    }

    #[test]
    fn textbook_values() {
        // Hull, Options, Futures and Other Derivatives: S=K=100, T=1, r=5%, σ=20%.
        let c = greeks(&inputs(OptionKind::Call, 100.0, 100.0, 1.0, 0.05, 0.0, 0.2));
        assert!((c.price - 10.450_583_572_185_565).abs() < 1e-10, "{}", c.price);
        assert!((c.delta - 0.636_830_651_175_619).abs() < 1e-12, "{}", c.delta);
        let p = greeks(&inputs(OptionKind::Put, 100.0, 100.0, 1.0, 0.05, 0.0, 0.2));
        assert!((p.price - 5.573_526_022_256_971).abs() < 1e-10, "{}", p.price);
        // Hull, Options, Futures and Other Derivatives (Black–Scholes chapter): S=42, K=40, r=10%, σ=20%, T=0.5: c = 4.76, p = 0.81.
        let c = greeks(&inputs(OptionKind::Call, 42.0, 40.0, 0.5, 0.1, 0.0, 0.2));
        let p = greeks(&inputs(OptionKind::Put, 42.0, 40.0, 0.5, 0.1, 0.0, 0.2));
        assert!((c.price - 4.76).abs() < 0.005 && (p.price - 0.81).abs() < 0.005);
    }

    #[test]
    fn put_call_parity() {
        for &(s, k, t, r, q, sigma) in &[
            (100.0, 100.0, 1.0, 0.05, 0.0, 0.2),
            (80.0, 120.0, 0.25, 0.01, 0.03, 0.5),
            (150.0, 90.0, 3.0, -0.005, 0.02, 0.9),
            (50.0, 50.5, 0.01, 0.04, 0.0, 0.15),
        ] {
            let c = greeks(&inputs(OptionKind::Call, s, k, t, r, q, sigma));
            let p = greeks(&inputs(OptionKind::Put, s, k, t, r, q, sigma));
            let forward = s * libm::exp(-q * t) - k * libm::exp(-r * t);
            assert!((c.price - p.price - forward).abs() < 1e-11, "parity at K={k}");
            assert!((c.delta - p.delta - libm::exp(-q * t)).abs() < 1e-13);
            assert_eq!(c.gamma, p.gamma);
            assert_eq!(c.vega, p.vega);
        }
    }

    #[test]
    fn greeks_match_finite_differences() {
        for kind in [OptionKind::Call, OptionKind::Put] {
            for &(s, k) in &[(100.0, 100.0), (100.0, 85.0), (100.0, 120.0)] {
                let base = inputs(kind, s, k, 0.75, 0.03, 0.01, 0.25);
                let g = greeks(&base);
                let price = |f: &dyn Fn(&mut Inputs)| {
                    let mut x = base;
                    f(&mut x);
                    greeks(&x).price
                };
                let h = 1e-4;
                let fd_delta = (price(&|x| x.s += h) - price(&|x| x.s -= h)) / (2.0 * h);
                let fd_gamma =
                    (price(&|x| x.s += 0.01) - 2.0 * g.price + price(&|x| x.s -= 0.01)) / 1e-4;
                let fd_vega = (price(&|x| x.sigma += h) - price(&|x| x.sigma -= h)) / (2.0 * h);
                let fd_rho = (price(&|x| x.r += h) - price(&|x| x.r -= h)) / (2.0 * h);
                let fd_theta = -(price(&|x| x.t += h) - price(&|x| x.t -= h)) / (2.0 * h);
                assert!((g.delta - fd_delta).abs() < 1e-7, "{kind:?} K={k} delta");
                assert!((g.gamma - fd_gamma).abs() < 1e-6, "{kind:?} K={k} gamma");
                assert!((g.vega - fd_vega).abs() < 1e-7 * g.vega, "{kind:?} K={k} vega");
                assert!((g.rho - fd_rho).abs() < 1e-7 * g.rho.abs(), "{kind:?} K={k} rho");
                assert!((g.theta - fd_theta).abs() < 1e-7 * g.theta.abs(), "{kind:?} K={k} theta");
            }
        }
    }

    #[test]
    fn implied_vol_round_trips_across_strikes() {
        for kind in [OptionKind::Call, OptionKind::Put] {
            for strike in [60.0, 75.0, 90.0, 100.0, 110.0, 130.0, 160.0] {
                for sigma in [0.05, 0.12, 0.2, 0.45, 1.0, 2.5] {
                    for t in [0.02, 0.5, 2.0] {
                        let x = inputs(kind, 100.0, strike, t, 0.03, 0.01, sigma);
                        let g = greeks(&x);
                        // Skip quotes too small to carry volatility information.
                        if g.vega < 1e-4 {
                            continue;
                        }
                        let iv = implied_vol(&x, g.price, 1e-12, 100)
                            .unwrap_or_else(|| panic!("no IV for {kind:?} K={strike} σ={sigma}"));
                        assert!(
                            (iv - sigma).abs() < 1e-7,
                            "{kind:?} K={strike} σ={sigma} T={t}: got {iv}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn implied_vol_refuses_arbitrage_prices() {
        let x = inputs(OptionKind::Call, 100.0, 90.0, 1.0, 0.05, 0.0, 0.2);
        // Below intrinsic value (S − K e^{−rT} ≈ 14.39) and above the spot.
        assert_eq!(implied_vol(&x, 14.0, 1e-12, 100), None);
        assert_eq!(implied_vol(&x, 100.0, 1e-12, 100), None);
        assert_eq!(implied_vol(&x, -1.0, 1e-12, 100), None);
        assert_eq!(implied_vol(&x, f64::NAN, 1e-12, 100), None);
        let expired = Inputs { t: 0.0, ..x };
        assert_eq!(implied_vol(&expired, 12.0, 1e-12, 100), None);
    }
}
