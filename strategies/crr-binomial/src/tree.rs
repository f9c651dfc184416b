//! The Cox–Ross–Rubinstein binomial tree, evaluated by backward induction in two fixed buffers.

use lockstep_sdk::math;

pub use lockstep_sdk::OptionKind;

/// Exercise style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exercise {
    /// Exercise at any node.
    American,
    /// Exercise at expiry only.
    European,
}

/// Contract and market inputs; rates continuously compounded per year, `t` in years.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Contract {
    /// Call or put.
    pub kind: OptionKind,
    /// American or European.
    pub exercise: Exercise,
    /// Spot (> 0).
    pub s: f64,
    /// Strike (> 0).
    pub k: f64,
    /// Years to expiry (> 0).
    pub t: f64,
    /// Risk-free rate.
    pub r: f64,
    /// Continuous dividend yield.
    pub q: f64,
    /// Volatility per √year (> 0).
    pub sigma: f64,
}

/// What one tree evaluation gives.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Valuation {
    /// Value of the option in its exercise style.
    pub price: f64,
    /// Delta from the two nodes after the first step.
    pub delta: f64,
    /// Gamma from the three nodes after the second step.
    pub gamma: f64,
    /// American minus European value on the same tree (0 for European exercise).
    pub early_exercise: f64,
}

/// Preallocated node buffers for trees of up to `max_steps` steps.
#[derive(Clone, Debug)]
pub struct Tree {
    /// Option values at the current step (exercise style of the contract).
    v: Vec<f64>,
    /// European values at the current step (American contracts only).
    e: Vec<f64>,
}

impl Tree {
    /// Allocates buffers for up to `max_steps` steps (the only allocation).
    pub fn new(max_steps: usize) -> Self {
        Self { v: vec![0.0; max_steps + 1], e: vec![0.0; max_steps + 1] }
    }

    /// The most steps these buffers hold.
    pub fn max_steps(&self) -> usize {
        self.v.len() - 1
    }

    /// Values `c` on an `n`-step tree (2 ≤ `n` ≤ [`Tree::max_steps`]).
    ///
    /// J. C. Cox, S. A. Ross and M. Rubinstein, "Option pricing: a simplified approach",
    /// *Journal of Financial Economics* 7(3), 1979: `Δt = T/n`, `u = e^{σ√Δt}`, `d = 1/u`,
    /// risk-neutral `p = (e^{(r−q)Δt} − d)/(u − d)`, each node discounted by `e^{−rΔt}`; for
    /// American exercise every node takes `max(continuation, intrinsic)`. `None` when `p` is not
    /// inside (0, 1) (too few steps for the rates) or `n` is out of range.
    pub fn value(&mut self, c: &Contract, n: usize) -> Option<Valuation> {
        if n < 2 || n > self.max_steps() {
            return None;
        }
        let nf = n as f64;
        let dt = c.t / nf;
        let vol_dt = c.sigma * math::sqrt(dt);
        let u = math::exp(vol_dt);
        let d = 1.0 / u;
        let p = (math::exp((c.r - c.q) * dt) - d) / (u - d);
        if !(p > 0.0 && p < 1.0) {
            return None;
        }
        let disc = math::exp(-c.r * dt);
        let pu = disc * p;
        let pd = disc * (1.0 - p);
        let u2 = u * u;
        let american = c.exercise == Exercise::American;
        // Payoff max(φ·(S − K), 0) with φ = ±1: the same bits as K − S for a put.
        let phi = match c.kind {
            OptionKind::Call => 1.0,
            OptionKind::Put => -1.0,
        };
        let (v, e) = (&mut self.v[..=n], &mut self.e[..=n]);

        // Terminal nodes: S·d^n·u^{2j}, j = 0..=n.
        let mut s_low = c.s * math::exp(-nf * vol_dt);
        let mut s = s_low;
        for node in v.iter_mut() {
            let x = phi * (s - c.k);
            *node = if x > 0.0 { x } else { 0.0 };
            s *= u2;
        }
        if american {
            e.copy_from_slice(v);
        }
        let (mut step1, mut step2) = ([0.0; 2], [0.0; 3]);
        if n == 2 {
            step2.copy_from_slice(&v[..3]);
        }
        for i in (0..n).rev() {
            s_low *= u;
            // Nodes 0..=i of step i from nodes 0..=i+1 of step i+1, in place.
            let (vi, ei) = (&mut v[..i + 2], &mut e[..i + 2]);
            // Ascending in place: node k−1 needs the old values of nodes k−1 and k; the old
            // value of node k is carried to the next iteration.
            let (mut lo, mut lo_e) = (vi[0], ei[0]);
            if american {
                let mut s = s_low;
                for k in 1..i + 2 {
                    let (hi, hi_e) = (vi[k], ei[k]);
                    let cont = pu * hi + pd * lo;
                    ei[k - 1] = pu * hi_e + pd * lo_e;
                    // cont ≥ 0, so this is max(cont, max(φ·(S − K), 0)).
                    let x = phi * (s - c.k);
                    vi[k - 1] = if x > cont { x } else { cont };
                    s *= u2;
                    (lo, lo_e) = (hi, hi_e);
                }
            } else {
                for k in 1..i + 2 {
                    let hi = vi[k];
                    vi[k - 1] = pu * hi + pd * lo;
                    lo = hi;
                }
            }
            if i == 2 {
                step2.copy_from_slice(&vi[..3]);
            } else if i == 1 {
                step1.copy_from_slice(&vi[..2]);
            }
        }
        let (su, sd, suu, sdd) = (c.s * u, c.s * d, c.s * u2, c.s * d * d);
        let delta = (step1[1] - step1[0]) / (su - sd);
        let up = (step2[2] - step2[1]) / (suu - c.s);
        let down = (step2[1] - step2[0]) / (c.s - sdd);
        let gamma = (up - down) / (0.5 * (suu - sdd));
        let early_exercise = if american { v[0] - e[0] } else { 0.0 };
        Some(Valuation { price: v[0], delta, gamma, early_exercise })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strategy_black_scholes as bs;

    fn contract(kind: OptionKind, exercise: Exercise, s: f64, k: f64, t: f64) -> Contract {
        Contract { kind, exercise, s, k, t, r: 0.05, q: 0.0, sigma: 0.2 }
    }

    fn closed_form(c: &Contract) -> bs::Greeks {
        let kind = match c.kind {
            OptionKind::Call => bs::OptionKind::Call,
            OptionKind::Put => bs::OptionKind::Put,
        };
        bs::greeks(&bs::Inputs { kind, s: c.s, k: c.k, t: c.t, r: c.r, q: c.q, sigma: c.sigma })
    }

    #[test]
    fn european_converges_to_black_scholes() {
        let mut tree = Tree::new(2000);
        for kind in [OptionKind::Call, OptionKind::Put] {
            for k in [80.0, 100.0, 125.0] {
                let c = contract(kind, Exercise::European, 100.0, k, 1.0);
                let exact = closed_form(&c);
                let mut err = |n| (tree.value(&c, n).unwrap().price - exact.price).abs();
                let (e50, e2000) = (err(50), err(2000));
                assert!(e2000 < 0.01, "{kind:?} K={k}: |CRR(2000) − BS| = {e2000}");
                assert!(e2000 < e50, "{kind:?} K={k}: {e2000} !< {e50}");
                let v = tree.value(&c, 2000).unwrap();
                assert!((v.delta - exact.delta).abs() < 1e-3, "{kind:?} K={k} delta");
                assert!((v.gamma - exact.gamma).abs() < 1e-3, "{kind:?} K={k} gamma");
                assert_eq!(v.early_exercise, 0.0);
            }
        }
        // The textbook case: CRR(2000) is 10.44958, 0.001 under 10.45058 (error ~ 1/n at the money).
        let c = contract(OptionKind::Call, Exercise::European, 100.0, 100.0, 1.0);
        let v = tree.value(&c, 2000).unwrap().price;
        assert!((v - 10.4506).abs() < 0.002, "{v}");
    }

    #[test]
    fn hull_american_put() {
        // Hull, Options, Futures and Other Derivatives (binomial-tree chapter): S = K = 50, r = 10%,
        // σ = 40%, T = 5 months: 4.49 with 5 steps; about 4.28 in the limit.
        let c = Contract {
            kind: OptionKind::Put,
            exercise: Exercise::American,
            s: 50.0,
            k: 50.0,
            t: 5.0 / 12.0,
            r: 0.1,
            q: 0.0,
            sigma: 0.4,
        };
        let mut tree = Tree::new(1000);
        let five = tree.value(&c, 5).unwrap().price;
        assert!((five - 4.49).abs() < 0.005, "{five}");
        let fine = tree.value(&c, 1000).unwrap();
        assert!((fine.price - 4.28).abs() < 0.01, "{}", fine.price);
        let european = closed_form(&Contract { exercise: Exercise::European, ..c });
        assert!(fine.early_exercise > 0.05, "{}", fine.early_exercise);
        assert!((fine.price - fine.early_exercise - european.price).abs() < 0.01);
    }

    #[test]
    fn american_call_without_dividends_is_european() {
        let mut tree = Tree::new(500);
        let c = contract(OptionKind::Call, Exercise::American, 100.0, 95.0, 0.5);
        let v = tree.value(&c, 500).unwrap();
        assert!(v.early_exercise.abs() < 1e-12, "{}", v.early_exercise);
        // With a dividend yield early exercise of a deep call is worth something.
        let c = Contract { q: 0.08, k: 60.0, ..c };
        assert!(tree.value(&c, 500).unwrap().early_exercise > 0.0);
    }

    #[test]
    fn refuses_impossible_trees() {
        let mut tree = Tree::new(100);
        let c = contract(OptionKind::Put, Exercise::American, 100.0, 100.0, 1.0);
        assert!(tree.value(&c, 101).is_none());
        assert!(tree.value(&c, 1).is_none());
        // Rate so high relative to volatility that p >= 1 with 2 steps.
        let c = Contract { r: 0.9, sigma: 0.01, ..c };
        assert!(tree.value(&c, 2).is_none());
    }
}
