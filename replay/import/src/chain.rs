//! Continuity of Binance depth updates, per instrument: diffs chained by their update ids,
//! snapshots that reset the chain, and the diffs a snapshot already covers. The Binance
//! importer and the Binance depth CSV dialect count gaps by the same rules.

/// Where a market's depth-diff chain stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chain {
    /// Nothing yet (the first diff starts the chain).
    Start,
    /// The last applied diff's final update id.
    Diff(u64),
    /// A snapshot at this `lastUpdateId`; the next applied diff must straddle it.
    Snapshot(u64),
}

/// Whether a diff (`U`, `pu` on futures, `u`) continues `chain` the way its market defines
/// continuity.
pub(crate) fn continues(chain: Chain, big_u: u64, pu: Option<i64>) -> bool {
    match (chain, pu) {
        (Chain::Start, _) => true,
        // Futures: `pu` is the previous diff's `u`.
        (Chain::Diff(prev), Some(pu)) => i128::from(pu) == i128::from(prev),
        // Spot: ids are consecutive.
        (Chain::Diff(prev), None) => prev.checked_add(1) == Some(big_u),
        (Chain::Snapshot(id), Some(pu)) => big_u <= id || i128::from(pu) == i128::from(id),
        (Chain::Snapshot(id), None) => id.checked_add(1).is_some_and(|n| big_u <= n),
    }
}

/// The depth chains of a tape's instruments, and what breaks them.
#[derive(Debug)]
pub(crate) struct Chains {
    chain: Vec<Chain>,
    /// The `lastUpdateId` of each instrument's latest snapshot.
    snapshot: Vec<Option<u64>>,
    /// Diffs skipped as already covered by a snapshot.
    pub(crate) covered: u64,
    /// Diffs that do not continue their chain.
    pub(crate) gaps: u64,
}

impl Chains {
    /// Chains for `instruments` instruments, none started.
    pub(crate) fn new(instruments: usize) -> Self {
        Self {
            chain: vec![Chain::Start; instruments],
            snapshot: vec![None; instruments],
            covered: 0,
            gaps: 0,
        }
    }

    /// A snapshot of instrument `i` at `last_update_id`.
    pub(crate) fn snapshot(&mut self, i: usize, last_update_id: u64) {
        self.snapshot[i] = Some(last_update_id);
        self.chain[i] = Chain::Snapshot(last_update_id);
    }

    /// A diff of instrument `i` from `first` (`U`) to `last` (`u`), `pu` on futures: whether
    /// to apply it (`false`: its snapshot covers it, counted). Applied, it extends the chain,
    /// a gap counted where it does not continue it.
    pub(crate) fn diff(&mut self, i: usize, first: u64, last: u64, pu: Option<i64>) -> bool {
        if self.snapshot[i].is_some_and(|s| last <= s) {
            self.covered += 1;
            return false;
        }
        if !continues(self.chain[i], first, pu) {
            self.gaps += 1;
        }
        self.chain[i] = Chain::Diff(last);
        true
    }

    /// A diff of instrument `i` ending at `last` applied again after its snapshot.
    pub(crate) fn reapplied(&mut self, i: usize, last: u64) {
        self.chain[i] = Chain::Diff(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuity_spot_by_consecutive_ids_futures_by_pu() {
        // Spot: U must be the previous u + 1.
        assert!(continues(Chain::Diff(10), 11, None));
        assert!(!continues(Chain::Diff(10), 12, None));
        assert!(!continues(Chain::Diff(10), 10, None));
        // Futures: pu must be the previous u, whatever U is.
        assert!(continues(Chain::Diff(10), 57, Some(10)));
        assert!(!continues(Chain::Diff(10), 11, Some(9)));
        // After a snapshot: the first diff must straddle it.
        assert!(continues(Chain::Snapshot(100), 101, None));
        assert!(continues(Chain::Snapshot(100), 90, None));
        assert!(!continues(Chain::Snapshot(100), 102, None));
        assert!(continues(Chain::Snapshot(100), 95, Some(80)));
        assert!(continues(Chain::Snapshot(100), 130, Some(100)));
        assert!(!continues(Chain::Snapshot(100), 130, Some(120)));
        assert!(continues(Chain::Start, 5, Some(-1)));
        assert!(!continues(Chain::Diff(u64::MAX), 0, None));
    }

    #[test]
    fn covered_diffs_are_skipped_and_breaks_counted() {
        let mut c = Chains::new(1);
        assert!(c.diff(0, 1, 5, None));
        assert!(c.diff(0, 7, 9, None)); // not 6: a gap, still applied
        c.snapshot(0, 20);
        assert!(!c.diff(0, 15, 20, None)); // covered
        assert!(c.diff(0, 18, 25, None)); // straddles the snapshot
        assert!(c.diff(0, 26, 30, None));
        assert_eq!((c.covered, c.gaps), (1, 1));
    }
}
