//! The order table: ITCH executions, cancels and deletes name only an order reference, the
//! simulation's events also carry the side and the price, so both ends remember every live
//! order. A fixed-size open-addressing table of our own (linear probing, Fibonacci hashing,
//! backward-shift deletion), allocated once at construction and never grown, iterated or
//! rehashed: `std`'s `HashMap` is refused workspace-wide for its random iteration order.
//! Order reference `u64::MAX` marks empty slots, so it is never stored (refused as a
//! duplicate). The feed is the exchange's, so keys are not adversarial; a hostile sender could
//! lengthen probe chains, not break correctness.

use lockstep_sdk::{InstrumentId, Side};

const EMPTY: u64 = u64::MAX;

/// A live order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Order {
    pub(crate) instrument: InstrumentId,
    pub(crate) side: Side,
    /// ITCH price, 4 implied decimals.
    pub(crate) price: u32,
    /// Shares still open.
    pub(crate) shares: u32,
}

const NONE: Order = Order { instrument: 0, side: Side::Buy, price: 0, shares: 0 };

/// Why an order was not added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InsertError {
    /// The table holds its capacity.
    Full,
    /// The reference is live already (or is the reserved `u64::MAX`).
    Duplicate,
}

/// Live orders by reference, at most `capacity` of them.
#[derive(Clone, Debug)]
pub(crate) struct OrderTable {
    keys: Vec<u64>,
    vals: Vec<Order>,
    len: usize,
    capacity: usize,
    shift: u32,
}

impl OrderTable {
    /// A table for `capacity` orders, allocated now (twice as many slots, a power of two, so
    /// probe chains stay short at full load): inserting never reallocates.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let slots = capacity.max(4).saturating_mul(2).next_power_of_two();
        Self {
            keys: vec![EMPTY; slots],
            vals: vec![NONE; slots],
            len: 0,
            capacity,
            shift: 64 - slots.trailing_zeros(),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    fn mask(&self) -> usize {
        self.keys.len() - 1
    }

    fn home(&self, k: u64) -> usize {
        // The top bits of a Fibonacci hash: fewer than 64 bits, so the cast is lossless.
        (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The slot holding `k`, or `Err` with the empty slot ending its probe chain.
    fn find(&self, k: u64) -> Result<usize, usize> {
        let mut i = self.home(k);
        loop {
            match self.keys[i] {
                EMPTY => return Err(i),
                key if key == k => return Ok(i),
                _ => i = (i + 1) & self.mask(),
            }
        }
    }

    pub(crate) fn insert(&mut self, order_ref: u64, order: Order) -> Result<(), InsertError> {
        if order_ref == EMPTY {
            return Err(InsertError::Duplicate);
        }
        match self.find(order_ref) {
            Ok(_) => Err(InsertError::Duplicate),
            Err(_) if self.len >= self.capacity => Err(InsertError::Full),
            Err(i) => {
                self.keys[i] = order_ref;
                self.vals[i] = order;
                self.len += 1;
                Ok(())
            }
        }
    }

    fn slot(&self, order_ref: u64) -> Option<usize> {
        if order_ref == EMPTY { None } else { self.find(order_ref).ok() }
    }

    #[cfg(test)]
    pub(crate) fn get(&self, order_ref: u64) -> Option<Order> {
        self.slot(order_ref).map(|i| self.vals[i])
    }

    /// Takes `shares` off the order (at most what is open); returns the order as it was and
    /// whether `shares` exceeded what was open. The order leaves the table at zero.
    pub(crate) fn reduce(&mut self, order_ref: u64, shares: u32) -> Option<(Order, bool)> {
        let i = self.slot(order_ref)?;
        let before = self.vals[i];
        let over = shares > before.shares;
        self.vals[i].shares = before.shares.saturating_sub(shares);
        if self.vals[i].shares == 0 {
            self.remove_at(i);
        }
        Some((before, over))
    }

    pub(crate) fn remove(&mut self, order_ref: u64) -> Option<Order> {
        let i = self.slot(order_ref)?;
        let o = self.vals[i];
        self.remove_at(i);
        Some(o)
    }

    /// Backward-shift deletion: later members of the probe chain move up, no tombstones.
    fn remove_at(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let k = self.keys[j];
            if k == EMPTY {
                break;
            }
            // Move `k` into the hole unless its home lies cyclically in (hole, j].
            let home = self.home(k);
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.keys[hole] = k;
                self.vals[hole] = self.vals[j];
                hole = j;
            }
        }
        self.keys[hole] = EMPTY;
        self.len -= 1;
    }

    pub(crate) fn clear(&mut self) {
        self.keys.fill(EMPTY);
        self.len = 0;
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_duplicates_and_reduce() {
        let o = Order { instrument: 0, side: Side::Buy, price: 100, shares: 10 };
        let mut t = OrderTable::with_capacity(2);
        t.insert(1, o).unwrap();
        assert_eq!(t.insert(1, o), Err(InsertError::Duplicate));
        t.insert(2, o).unwrap();
        assert_eq!(t.insert(3, o), Err(InsertError::Full));
        assert_eq!(t.reduce(1, 4), Some((o, false)));
        assert_eq!(t.get(1).unwrap().shares, 6);
        assert_eq!(t.reduce(1, 7).map(|r| r.1), Some(true));
        assert_eq!(t.get(1), None);
        assert_eq!(t.remove(2), Some(o));
        assert_eq!((t.len(), t.capacity()), (0, 2));
        assert_eq!(t.insert(u64::MAX, o), Err(InsertError::Duplicate));
        assert_eq!(t.remove(u64::MAX), None);
    }

    /// Against a BTreeMap model, with keys that collide in the table.
    #[test]
    fn matches_a_model_under_churn() {
        let mut t = OrderTable::with_capacity(64);
        let mut model = std::collections::BTreeMap::new();
        let mut rng = lockstep_sim::FuzzRng::new(5);
        for step in 0..20_000u32 {
            let k = (rng.below(200) as u64) << 40 | rng.below(4) as u64;
            let o = Order { instrument: 1, side: Side::Sell, price: step, shares: 1 + step % 3 };
            match rng.below(3) {
                0 => {
                    let r = t.insert(k, o);
                    let full = model.len() >= 64;
                    match model.entry(k) {
                        std::collections::btree_map::Entry::Occupied(_) => {
                            assert_eq!(r, Err(InsertError::Duplicate));
                        }
                        std::collections::btree_map::Entry::Vacant(_) if full => {
                            assert_eq!(r, Err(InsertError::Full));
                        }
                        std::collections::btree_map::Entry::Vacant(v) => {
                            assert_eq!(r, Ok(()));
                            v.insert(o);
                        }
                    }
                }
                1 => assert_eq!(t.remove(k), model.remove(&k)),
                _ => {
                    let r = t.reduce(k, 1);
                    assert_eq!(r.map(|r| r.0), model.get(&k).copied());
                    if let Some(m) = model.get_mut(&k) {
                        m.shares -= 1;
                        if m.shares == 0 {
                            model.remove(&k);
                        }
                    }
                }
            }
            assert_eq!(t.len(), model.len());
        }
        for (k, o) in &model {
            assert_eq!(t.get(*k), Some(*o));
        }
    }
}
