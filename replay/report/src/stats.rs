//! Statistics of an equity series: pure functions over numbers, so each is checked against
//! hand-computed values. Equity is money in exact fixed point (8 decimals); ratios are `f64`,
//! computed in one fixed order, so the same series gives the same bits everywhere.

/// Mean over standard deviation of per-bar changes (`None` with fewer than two bars or no
/// variation). The standard deviation is the sample one (n − 1).
pub(crate) fn sharpe(returns: &[f64]) -> Option<f64> {
    let n = returns.len();
    if n < 2 {
        return None;
    }
    let mean = returns.iter().sum::<f64>() / n as f64;
    let var = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1) as f64;
    (var > 0.0).then(|| mean / var.sqrt())
}

/// Mean over downside deviation, `sqrt(sum(min(r, 0)^2) / n)` (target 0); `None` with fewer
/// than two bars or no losing bar.
pub(crate) fn sortino(returns: &[f64]) -> Option<f64> {
    let n = returns.len();
    if n < 2 {
        return None;
    }
    let mean = returns.iter().sum::<f64>() / n as f64;
    let down = returns.iter().map(|r| r.min(0.0) * r.min(0.0)).sum::<f64>() / n as f64;
    (down > 0.0).then(|| mean / down.sqrt())
}

/// The largest fall from a running peak of `(time, equity)` (the peak starts at 0, the equity
/// before the first bar): `(drawdown, peak time, trough time)`; `None` if equity never fell
/// below a previous peak.
pub(crate) fn max_drawdown(series: &[(i64, i128)]) -> Option<(i128, Option<i64>, i64)> {
    let mut peak: (i128, Option<i64>) = (0, None);
    let mut worst: Option<(i128, Option<i64>, i64)> = None;
    for &(t, e) in series {
        if e > peak.0 {
            peak = (e, Some(t));
        }
        let dd = peak.0.saturating_sub(e);
        if dd > 0 && worst.is_none_or(|w| dd > w.0) {
            worst = Some((dd, peak.1, t));
        }
    }
    worst
}

/// Per-bar changes of an equity series that starts from 0, as money in units (f64).
pub(crate) fn changes(series: &[(i64, i128)]) -> Vec<f64> {
    let mut prev = 0i128;
    series
        .iter()
        .map(|&(_, e)| {
            let d = e.saturating_sub(prev);
            prev = e;
            d as f64 / 1e8
        })
        .collect()
}

/// Minimum, maximum and time-weighted mean of a step function that starts at 0 at `start`,
/// steps to each `(time, value)` in order and ends at `end` (values in 1e-8 units; the mean in
/// units). With `end <= start` the mean is the last value.
pub(crate) fn step_profile(steps: &[(i64, i64)], start: i64, end: i64) -> (i64, i64, f64) {
    let (mut lo, mut hi) = (0i64, 0i64);
    let mut area = 0f64;
    let (mut t0, mut v0) = (start, 0i64);
    for &(t, v) in steps {
        let t = t.clamp(start, end.max(start));
        area += (t - t0) as f64 * (v0 as f64 / 1e8);
        t0 = t;
        v0 = v;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let span = end - start;
    if span <= 0 {
        return (lo, hi, v0 as f64 / 1e8);
    }
    area += (end - t0) as f64 * (v0 as f64 / 1e8);
    (lo, hi, area / span as f64)
}

/// The nearest-rank percentile `p` (0..=1) of sorted `v`.
pub(crate) fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: i128 = 100_000_000;

    #[test]
    fn sharpe_and_sortino_by_hand() {
        // Returns 1, -1, 2, 0: mean 0.5; sample variance (0.25+2.25+2.25+0.25)/3 = 5/3.
        let r = [1.0, -1.0, 2.0, 0.0];
        let s = sharpe(&r).unwrap();
        assert!((s - 0.5 / (5.0f64 / 3.0).sqrt()).abs() < 1e-15, "{s}");
        // Downside: (1)/4 → deviation 0.5; Sortino 1.0.
        assert_eq!(sortino(&r), Some(1.0));
        assert_eq!(sharpe(&[1.0]), None);
        assert_eq!(sharpe(&[1.0, 1.0, 1.0]), None, "no variation");
        assert_eq!(sortino(&[1.0, 2.0]), None, "no losing bar");
    }

    #[test]
    fn drawdown_by_hand() {
        // Equity 0 → 10 → 4 → 12 → 3 → 5: worst fall 12 → 3 = 9, peak at t=3, trough t=4.
        let e = [(1, 10 * U), (2, 4 * U), (3, 12 * U), (4, 3 * U), (5, 5 * U)];
        assert_eq!(max_drawdown(&e), Some((9 * U, Some(3), 4)));
        // From the start: 0 → -2 is a drawdown of 2 from the initial peak.
        assert_eq!(max_drawdown(&[(7, -2 * U)]), Some((2 * U, None, 7)));
        assert_eq!(max_drawdown(&[(1, U), (2, 2 * U)]), None);
        assert_eq!(changes(&e), vec![10.0, -6.0, 8.0, -9.0, 2.0]);
    }

    #[test]
    fn inventory_profile_by_hand() {
        // 0 for 10 ns, 2 for 20 ns, -1 for 10 ns over [0, 40): mean (0 + 40 - 10) / 40.
        let u = 100_000_000i64;
        let (lo, hi, mean) = step_profile(&[(10, 2 * u), (30, -u)], 0, 40);
        assert_eq!((lo, hi), (-u, 2 * u));
        assert!((mean - 0.75).abs() < 1e-12, "{mean}");
        assert_eq!(step_profile(&[], 5, 5), (0, 0, 0.0));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v = [10, 20, 30, 40];
        assert_eq!(percentile(&v, 0.5), Some(20));
        assert_eq!(percentile(&v, 0.9), Some(40));
        assert_eq!(percentile(&v, 0.0), Some(10));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
