//! Continuity of the venues' sequence numbers in DBN records.

use super::record::{Item, Rec};
use dbn::flags;
use std::collections::BTreeMap;

/// Continuity of the venues' message sequence numbers (MBO, MBP-1/TBBO, MBP-10 records), per
/// schema, publisher and instrument, in the order the records go on the tape.
///
/// A record whose number is the previous one's or the next is continuous (several records of
/// one venue message share its number). In MBO records a jump forward by more than one is a
/// **gap**. MBP records (top of book, MBP-10) come only from messages that change the levels
/// they show, so their numbers jump where nothing was lost: those jumps are counted apart as
/// **MBP jumps**, never as gaps, and a tape of MBP records alone reports no gap count. A step
/// back is a **reset** (the venue or a session restarted its numbering), counted apart and
/// never as a gap; the count goes on from the new number either way. Snapshot records carry the
/// numbers of the messages that placed their orders, not a position in the feed: they are not
/// checked, and the record after a snapshot starts the count anew. Venues number messages per
/// channel (CME: one channel for many instruments), so a file holding a subset of a channel's
/// messages — one instrument's MBO, or MBP records, which come only from messages that change
/// the levels they show — jumps where nothing was lost; gaps are an upper bound on loss there.
#[derive(Default)]
pub(crate) struct Sequences {
    last: BTreeMap<(u8, u16, u32), u32>,
    /// Whether any record carried a sequence number.
    pub(crate) seen: bool,
    /// Whether any MBO record did: only then is there a gap count.
    pub(crate) mbo_seen: bool,
    /// Whether any MBP record did.
    pub(crate) mbp_seen: bool,
    pub(crate) gaps: u64,
    pub(crate) mbp_jumps: u64,
    pub(crate) resets: u64,
}

impl Sequences {
    pub(crate) fn check(&mut self, item: &Item) {
        let Some(seq) = item.sequence else { return };
        self.seen = true;
        let kind = match item.rec {
            Rec::Mbo { .. } => 0,
            Rec::Top { .. } => 1,
            _ => 2,
        };
        let mbo = kind == 0;
        self.mbo_seen |= mbo;
        self.mbp_seen |= !mbo;
        let key = (kind, item.publisher_id, item.instrument_id);
        if item.flags & flags::SNAPSHOT != 0 {
            self.last.remove(&key);
            return;
        }
        if let Some(prev) = self.last.insert(key, seq) {
            self.count(mbo, prev, seq);
        }
    }

    /// Counts the step from `prev` to `seq` in MBO records (`mbo`) or MBP records.
    fn count(&mut self, mbo: bool, prev: u32, seq: u32) {
        if seq < prev {
            self.resets += 1;
        } else if seq - prev > 1 {
            if mbo {
                self.gaps += 1;
            } else {
                self.mbp_jumps += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_steps_gaps_and_resets() {
        let mut q = Sequences::default();
        for (prev, seq) in [(5, 5), (5, 6), (5, 7), (5, 4), (u32::MAX, 0), (0, u32::MAX)] {
            q.count(true, prev, seq);
        }
        assert_eq!((q.gaps, q.resets, q.mbp_jumps), (2, 2, 0));
        for (prev, seq) in [(5, 6), (5, 9), (9, 3)] {
            q.count(false, prev, seq);
        }
        assert_eq!((q.gaps, q.resets, q.mbp_jumps), (2, 3, 1));
    }
}
