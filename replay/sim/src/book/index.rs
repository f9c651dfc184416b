//! Order id to slab slot: an open-addressing table of our own (linear probing, Fibonacci
//! hashing, backward-shift deletion). Deterministic and never iterated; it allocates only when
//! it grows, and lookups by id (the hot path of every cancel and execution) touch one or two
//! cache lines. `std`'s `HashMap` is refused workspace-wide (its iteration order is random);
//! this table has no iteration at all.

/// The key marking an empty slot; no order may have this id (the book refuses it on add, and
/// every lookup of it finds nothing).
pub(super) const EMPTY: u64 = u64::MAX;

/// Open-addressing map from order id to slab slot.
#[derive(Clone, Debug)]
pub(super) struct IdIndex {
    keys: Vec<u64>,
    pub(super) vals: Vec<u32>,
    pub(super) len: usize,
    shift: u32,
}

crate::snap::snap_struct!(IdIndex { keys, vals, len, shift } if IdIndex::consistent);

impl IdIndex {
    pub(super) fn with_capacity(n: usize) -> Self {
        let cap = (n.max(8) * 2).next_power_of_two();
        Self {
            keys: vec![EMPTY; cap],
            vals: vec![0; cap],
            len: 0,
            shift: 64 - cap.trailing_zeros(),
        }
    }
    /// The table's shape as `with_capacity` and growth keep it (checked on a restore): a
    /// power-of-two size, the shift that matches it, and `len` the keys in use.
    fn consistent(&self) -> bool {
        let n = self.keys.len();
        n.is_power_of_two()
            && n >= 16
            && self.vals.len() == n
            && self.shift == 64 - n.trailing_zeros()
            && self.len == self.keys.iter().filter(|&&k| k != EMPTY).count()
            && self.len < n
    }

    /// Whether every id in use maps to a slot below `n`.
    pub(super) fn slots_below(&self, n: usize) -> bool {
        self.keys.iter().zip(&self.vals).all(|(&k, &v)| k == EMPTY || (v as usize) < n)
    }

    #[inline]
    pub(super) fn mask(&self) -> usize {
        self.keys.len() - 1
    }
    #[inline]
    pub(super) fn home(&self, k: u64) -> usize {
        (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }
    #[inline]
    pub(super) fn find(&self, k: u64) -> Option<usize> {
        // The marker itself would "match" the first empty slot on its probe path: a cancel of
        // order id u64::MAX from a tape would then reach a stale slot.
        if k == EMPTY {
            return None;
        }
        let mask = self.mask();
        let mut i = self.home(k);
        loop {
            let key = self.keys[i];
            if key == k {
                return Some(i);
            }
            if key == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }
    #[inline]
    pub(super) fn get(&self, k: u64) -> Option<u32> {
        self.find(k).map(|i| self.vals[i])
    }
    pub(super) fn insert(&mut self, k: u64, v: u32) {
        if (self.len + 1) * 2 > self.keys.len() {
            self.grow();
        }
        let mask = self.mask();
        let mut i = self.home(k);
        while self.keys[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.keys[i] = k;
        self.vals[i] = v;
        self.len += 1;
    }
    pub(super) fn remove(&mut self, k: u64) {
        if let Some(slot) = self.find(k) {
            self.remove_at(slot);
        }
    }
    /// Removes the entry in `slot` (found by [`IdIndex::find`]).
    pub(super) fn remove_at(&mut self, slot: usize) {
        let mut hole = slot;
        let mask = self.mask();
        let mut j = (hole + 1) & mask;
        while self.keys[j] != EMPTY {
            let home = self.home(self.keys[j]);
            // Move the entry at j back into the hole unless its home lies in (hole, j].
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.keys[hole] = self.keys[j];
                self.vals[hole] = self.vals[j];
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.keys[hole] = EMPTY;
        self.len -= 1;
    }
    pub(super) fn grow(&mut self) {
        let old_keys = std::mem::take(&mut self.keys);
        let old_vals = std::mem::take(&mut self.vals);
        let cap = old_keys.len() * 2;
        self.keys = vec![EMPTY; cap];
        self.vals = vec![0; cap];
        self.shift = 64 - cap.trailing_zeros();
        self.len = 0;
        for (k, v) in old_keys.into_iter().zip(old_vals) {
            if k != EMPTY {
                self.insert(k, v);
            }
        }
    }
    pub(super) fn clear(&mut self) {
        self.keys.fill(EMPTY);
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_marker_is_never_found_and_removing_it_is_harmless() {
        let mut t = IdIndex::with_capacity(4);
        assert_eq!(t.find(EMPTY), None, "an empty table");
        for k in 0..100u64 {
            t.insert(k * 7, k as u32);
        }
        assert_eq!(t.find(EMPTY), None, "a full table");
        t.remove(EMPTY);
        assert_eq!(t.len, 100);
        for k in (0..100u64).step_by(2) {
            t.remove(k * 7);
        }
        assert_eq!(t.len, 50);
        for k in 0..100u64 {
            assert_eq!(t.get(k * 7), (k % 2 == 1).then_some(k as u32), "key {}", k * 7);
        }
        t.clear();
        assert_eq!((t.len, t.get(7)), (0, None));
    }
}
