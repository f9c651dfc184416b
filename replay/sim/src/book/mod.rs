//! An order-by-order (L3) limit order book with FIFO queues at each price level, which also
//! takes L2 feeds (absolute level sizes) and hands strategies an L2 view of its top levels.
//!
//! Layout, chosen for the replay hot path:
//! - each side is a `Vec` of levels sorted from worst to best, so the best level is the last
//!   element: most messages touch the first few levels from the end, found by a short scan
//!   (binary search beyond that) and inserted or removed with a short shift;
//! - orders live in a slab (`Vec` plus free list); each level links its orders in arrival order
//!   (a doubly linked FIFO through slab indices);
//! - order ids map to slab slots through an open-addressing table of our own (`index.rs`):
//!   deterministic, never iterated.
//!
//! Nothing allocates per event once the book has reached its working size. L2 updates and
//! quantity whose order is unknown (placed before the data window opened) are held as the
//! level's *unattributed* quantity, which sits ahead of every known order in the queue.

use crate::market::MarketEvent;
use lockstep_sdk::{BOOK_LEVELS, BookRecord, InstrumentId, Level, Price, Qty, Quote, Side, Trade};
use std::fmt;

mod index;

use index::IdIndex;

const NIL: u32 = u32::MAX;
/// How many levels from the best are checked linearly before falling back to binary search.
const SCAN: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Lvl {
    px: i64,
    /// Total visible quantity: `anon` plus every order's quantity.
    qty: i64,
    /// Quantity not attributed to any known order (L2 size, pre-window orders).
    anon: i64,
    head: u32,
    tail: u32,
}

impl Lvl {
    fn new(px: i64) -> Self {
        Self { px, qty: 0, anon: 0, head: NIL, tail: NIL }
    }
}

#[derive(Clone, Copy, Debug)]
struct Node {
    id: u64,
    px: i64,
    qty: i64,
    stamp: u64,
    prev: u32,
    next: u32,
    side: Side,
}

/// Counters of messages the book could not apply exactly (they are applied as well as the
/// data allows and counted here, never silently).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BookStats {
    /// Cancels, deletes or executions naming an order id the book does not hold.
    pub unknown_orders: u64,
    /// Quantity those messages removed that no unattributed quantity at the level covered.
    pub unabsorbed_qty: Qty,
    /// Adds reusing an id still live (ignored).
    pub duplicate_adds: u64,
    /// Messages with a non-positive quantity or an invalid id (ignored).
    pub invalid: u64,
}

/// An add that would take a level's total quantity past `i64::MAX` raw units: the book cannot
/// hold it. [`Book::try_apply`] returns it; the importers refuse such input at its line and a
/// replay stops at the event (see `TapeError::Book`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelOverflow {
    /// Side of the level.
    pub side: Side,
    /// Price of the level.
    pub px: Price,
    /// Quantity the level holds.
    pub level: Qty,
    /// Quantity the add would put on it.
    pub add: Qty,
}

impl fmt::Display for LevelOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "adding {} to the {:?} level at {}, which holds {}, overflows the level's total quantity (at most {})",
            self.add,
            self.side,
            self.px,
            self.level,
            Qty(i64::MAX)
        )
    }
}

impl std::error::Error for LevelOverflow {}

/// What applying one market event did to the book, for the feeder and the simulated exchange.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The visible book changed.
    pub changed: bool,
    /// The change touched one of the top [`BOOK_LEVELS`] levels of its side (or cleared it).
    pub top: bool,
    /// Side of the level that changed.
    pub side: Option<Side>,
    /// Price of the level that changed.
    pub px: Price,
    /// Quantity taken off the level by a cancel, delete or L2 decrease (not by a trade).
    pub removed: Qty,
    /// Quantity added to the level by a new order or an L2 increase.
    pub added: Qty,
    /// Arrival stamp of the order `removed` came from; 0 for unattributed quantity.
    pub removed_stamp: u64,
    /// The level was set to an absolute size (L2); its new size.
    pub level_set: Option<Qty>,
    /// A trade printed (an execution, hidden execution or trade message).
    pub trade: Option<Trade>,
    /// A top-of-book quote arrived (quote-only feeds).
    pub quote: Option<Quote>,
}

/// A resting order as the book holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderView {
    /// Exchange order id.
    pub id: u64,
    /// Side.
    pub side: Side,
    /// Price.
    pub px: Price,
    /// Remaining visible quantity.
    pub qty: Qty,
    /// Arrival stamp: orders with a smaller stamp are ahead in the queue.
    pub stamp: u64,
}

/// The book of one instrument. See the module documentation for the layout.
#[derive(Clone, Debug)]
pub struct Book {
    /// Bids sorted by ascending price: best last.
    bids: Vec<Lvl>,
    /// Asks sorted by descending price: best last.
    asks: Vec<Lvl>,
    nodes: Vec<Node>,
    free: u32,
    ids: IdIndex,
    stamp: u64,
    stats: BookStats,
}

crate::snap::snap_struct!(Lvl { px, qty, anon, head, tail });
crate::snap::snap_struct!(Node { id, px, qty, stamp, prev, next, side });
crate::snap::snap_struct!(BookStats { unknown_orders, unabsorbed_qty, duplicate_adds, invalid });
crate::snap::snap_struct!(Book { bids, asks, nodes, free, ids, stamp, stats } if Book::consistent);

impl Default for Book {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn better(side: Side, a: i64, b: i64) -> bool {
    match side {
        Side::Buy => a > b,
        Side::Sell => a < b,
    }
}

/// Finds `px` in a side sorted worst to best: `Ok(index)` or `Err(insertion index)`.
#[inline]
fn find_level(v: &[Lvl], side: Side, px: i64) -> Result<usize, usize> {
    let n = v.len();
    let lim = n.saturating_sub(SCAN);
    let mut i = n;
    while i > lim {
        let l = v[i - 1].px;
        if l == px {
            return Ok(i - 1);
        }
        if better(side, px, l) {
            return Err(i);
        }
        i -= 1;
    }
    v[..i].binary_search_by(|l| match side {
        Side::Buy => l.px.cmp(&px),
        Side::Sell => px.cmp(&l.px),
    })
}

impl Book {
    /// Every link and slot index points into the node slab (or is `NIL`): checked on a
    /// restore, since the book indexes by them without bounds it could explain.
    fn consistent(&self) -> bool {
        let n = self.nodes.len();
        let ok = |i: u32| i == NIL || (i as usize) < n;
        self.bids.iter().chain(&self.asks).all(|l| ok(l.head) && ok(l.tail))
            && self.nodes.iter().all(|x| ok(x.prev) && ok(x.next))
            && ok(self.free)
            && self.ids.slots_below(n)
    }

    /// An empty book sized for a typical session (grows if needed, never shrinks).
    pub fn new() -> Self {
        Self::with_capacity(1 << 14, 1 << 10)
    }

    /// An empty book with room for `orders` resting orders and `levels` levels per side.
    pub fn with_capacity(orders: usize, levels: usize) -> Self {
        Self {
            bids: Vec::with_capacity(levels),
            asks: Vec::with_capacity(levels),
            nodes: Vec::with_capacity(orders),
            free: NIL,
            ids: IdIndex::with_capacity(orders),
            stamp: 1,
            stats: BookStats::default(),
        }
    }

    #[inline]
    fn side(&self, side: Side) -> &Vec<Lvl> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    #[inline]
    fn side_mut(&mut self, side: Side) -> &mut Vec<Lvl> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Counters of messages that could not be applied exactly.
    pub fn stats(&self) -> BookStats {
        self.stats
    }

    /// The next arrival stamp: every order now in the book has a smaller one.
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    /// Number of price levels on `side`.
    pub fn depth(&self, side: Side) -> usize {
        self.side(side).len()
    }

    /// Number of resting orders with known ids.
    pub fn order_count(&self) -> usize {
        self.ids.len
    }

    /// Level `i` of `side` counting from the best (0 = best).
    #[inline]
    pub fn level(&self, side: Side, i: usize) -> Option<Level> {
        let v = self.side(side);
        let n = v.len();
        (i < n).then(|| {
            let l = &v[n - 1 - i];
            Level { px: Price(l.px), qty: Qty(l.qty) }
        })
    }

    /// Best level of `side`.
    #[inline]
    pub fn best(&self, side: Side) -> Option<Level> {
        self.level(side, 0)
    }

    /// Levels of `side`, best first.
    pub fn levels(&self, side: Side) -> impl Iterator<Item = Level> + '_ {
        self.side(side).iter().rev().map(|l| Level { px: Price(l.px), qty: Qty(l.qty) })
    }

    /// Total visible quantity at `px` on `side` (0 when there is no level).
    pub fn qty_at(&self, side: Side, px: Price) -> Qty {
        let v = self.side(side);
        match find_level(v, side, px.0) {
            Ok(i) => Qty(v[i].qty),
            Err(_) => Qty::ZERO,
        }
    }

    /// The order with exchange id `id`, if it rests in the book.
    pub fn order(&self, id: u64) -> Option<OrderView> {
        self.ids.get(id).map(|n| {
            let n = &self.nodes[n as usize];
            OrderView { id: n.id, side: n.side, px: Price(n.px), qty: Qty(n.qty), stamp: n.stamp }
        })
    }

    /// The first known order in the queue of the best level of `side`.
    pub fn front(&self, side: Side) -> Option<OrderView> {
        let l = self.side(side).last()?;
        (l.head != NIL).then(|| {
            let n = &self.nodes[l.head as usize];
            OrderView { id: n.id, side: n.side, px: Price(n.px), qty: Qty(n.qty), stamp: n.stamp }
        })
    }

    /// Unattributed quantity at the level (L2 size or orders placed before the data began).
    pub fn unattributed_at(&self, side: Side, px: Price) -> Qty {
        let v = self.side(side);
        match find_level(v, side, px.0) {
            Ok(i) => Qty(v[i].anon),
            Err(_) => Qty::ZERO,
        }
    }

    /// Best bid and ask (zero levels for an empty side).
    pub fn top(&self) -> Quote {
        Quote {
            bid: self.best(Side::Buy).unwrap_or_default(),
            ask: self.best(Side::Sell).unwrap_or_default(),
        }
    }

    /// Writes the L2 view of the top [`BOOK_LEVELS`] levels per side into `rec`; returns the
    /// top of book.
    #[inline]
    pub fn write_record(&self, instrument: InstrumentId, rec: &mut BookRecord) -> Quote {
        let nb = self.bids.len().min(BOOK_LEVELS);
        let na = self.asks.len().min(BOOK_LEVELS);
        // The layout of `BookRecord` (lockstep-sdk): an 8-byte header, then the bid levels,
        // then the ask levels, each `i64 px, i64 qty` little-endian, best first.
        let b = &mut rec.0;
        b[0..2].copy_from_slice(&instrument.to_le_bytes());
        b[2..4].copy_from_slice(&(nb as u16).to_le_bytes());
        b[4..6].copy_from_slice(&(na as u16).to_le_bytes());
        b[6..8].copy_from_slice(&[0, 0]);
        for (i, l) in self.bids.iter().rev().take(nb).enumerate() {
            let at = 8 + 16 * i;
            b[at..at + 8].copy_from_slice(&l.px.to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&l.qty.to_le_bytes());
        }
        for (i, l) in self.asks.iter().rev().take(na).enumerate() {
            let at = 8 + 16 * BOOK_LEVELS + 16 * i;
            b[at..at + 8].copy_from_slice(&l.px.to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&l.qty.to_le_bytes());
        }
        self.top()
    }

    /// Removes every level and order.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.nodes.clear();
        self.free = NIL;
        self.ids.clear();
    }

    fn alloc(&mut self, node: Node) -> u32 {
        if self.free != NIL {
            let i = self.free;
            self.free = self.nodes[i as usize].next;
            self.nodes[i as usize] = node;
            i
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        }
    }

    fn release(&mut self, i: u32) {
        self.nodes[i as usize].next = self.free;
        self.nodes[i as usize].qty = 0;
        self.free = i;
    }

    /// Unlinks node `n` from level `li` of `side` and frees it; the caller removes its id and
    /// fixes quantities.
    fn unlink_node(&mut self, side: Side, li: usize, n: u32) {
        let Node { prev, next, .. } = self.nodes[n as usize];
        if prev != NIL {
            self.nodes[prev as usize].next = next;
        }
        if next != NIL {
            self.nodes[next as usize].prev = prev;
        }
        let l = &mut self.side_mut(side)[li];
        if l.head == n {
            l.head = next;
        }
        if l.tail == n {
            l.tail = prev;
        }
        self.release(n);
    }

    /// Removes level `li` of `side` with every order in it.
    fn drop_level(&mut self, side: Side, li: usize) {
        self.release_orders(side, li);
        self.side_mut(side).remove(li);
    }

    /// Frees every order node of level `li` of `side` and its id; the level's links are left for
    /// the caller to reset or remove.
    fn release_orders(&mut self, side: Side, li: usize) {
        let mut n = self.side(side)[li].head;
        while n != NIL {
            let next = self.nodes[n as usize].next;
            let id = self.nodes[n as usize].id;
            self.ids.remove(id);
            self.release(n);
            n = next;
        }
    }

    #[inline]
    fn depth_of(&self, side: Side, li: usize) -> usize {
        self.side(side).len() - 1 - li
    }

    /// Applies one market message; an add that would overflow its level's total is counted as
    /// invalid and ignored (use [`Book::try_apply`] to refuse it).
    pub fn apply(&mut self, msg: &MarketEvent) -> Applied {
        self.try_apply(msg).unwrap_or_else(|_| {
            self.stats.invalid += 1;
            Applied::default()
        })
    }

    /// Applies one market message, refusing an add that would overflow its level's total
    /// (the book is then unchanged).
    ///
    /// # Errors
    /// [`LevelOverflow`] naming the level.
    pub fn try_apply(&mut self, msg: &MarketEvent) -> Result<Applied, LevelOverflow> {
        Ok(match *msg {
            MarketEvent::Add { order_id, side, px, qty } => self.add(order_id, side, px, qty)?,
            MarketEvent::Cancel { order_id, side, px, qty } => {
                self.reduce(order_id, side, px, qty, false, false)
            }
            MarketEvent::Delete { order_id, side, px, qty } => {
                self.reduce(order_id, side, px, qty, true, false)
            }
            MarketEvent::Execute { order_id, side, px, qty } => {
                self.reduce(order_id, side, px, qty, false, true)
            }
            MarketEvent::HiddenExecute { side, px, qty } => Applied {
                trade: Some(Trade { px, qty, aggressor: Some(side.opposite()) }),
                ..Applied::default()
            },
            MarketEvent::Level { side, px, qty } => self.set_level(side, px, qty),
            MarketEvent::Forget { side, px } => {
                self.forget(side, px);
                Applied::default()
            }
            MarketEvent::Clear => {
                let changed = !self.bids.is_empty() || !self.asks.is_empty();
                self.clear();
                Applied { changed, top: changed, ..Applied::default() }
            }
            MarketEvent::Quote { bid_px, bid_qty, ask_px, ask_qty } => Applied {
                quote: Some(Quote {
                    bid: Level { px: bid_px, qty: bid_qty },
                    ask: Level { px: ask_px, qty: ask_qty },
                }),
                ..Applied::default()
            },
            MarketEvent::Trade { px, qty, aggressor } => {
                Applied { trade: Some(Trade { px, qty, aggressor }), ..Applied::default() }
            }
            MarketEvent::Status { .. } => Applied::default(),
        })
    }

    fn add(&mut self, id: u64, side: Side, px: Price, qty: Qty) -> Result<Applied, LevelOverflow> {
        if qty.0 <= 0 || id == index::EMPTY {
            self.stats.invalid += 1;
            return Ok(Applied::default());
        }
        if self.ids.get(id).is_some() {
            self.stats.duplicate_adds += 1;
            return Ok(Applied::default());
        }
        let li = match find_level(self.side(side), side, px.0) {
            // A level whose total would overflow: refused, the book unchanged (the importers
            // refuse such input at its line; a replay stops at the event).
            Ok(i) if self.side(side)[i].qty.checked_add(qty.0).is_none() => {
                let level = Qty(self.side(side)[i].qty);
                return Err(LevelOverflow { side, px, level, add: qty });
            }
            Ok(i) => i,
            Err(i) => {
                self.side_mut(side).insert(i, Lvl::new(px.0));
                i
            }
        };
        let stamp = self.stamp;
        self.stamp += 1;
        let tail = self.side(side)[li].tail;
        let n = self.alloc(Node { id, px: px.0, qty: qty.0, stamp, prev: tail, next: NIL, side });
        if tail != NIL {
            self.nodes[tail as usize].next = n;
        }
        let l = &mut self.side_mut(side)[li];
        if l.head == NIL {
            l.head = n;
        }
        l.tail = n;
        l.qty += qty.0;
        self.ids.insert(id, n);
        let depth = self.depth_of(side, li);
        Ok(Applied {
            changed: true,
            top: depth < BOOK_LEVELS,
            side: Some(side),
            px,
            added: qty,
            ..Applied::default()
        })
    }

    /// Cancel (partial), delete (`full`) or execute (`trade`) against an order, falling back to
    /// the level's unattributed quantity when the id is unknown.
    fn reduce(
        &mut self,
        id: u64,
        side: Side,
        px: Price,
        qty: Qty,
        full: bool,
        trade: bool,
    ) -> Applied {
        let (side, px, taken, stamp, li) = match self.ids.find(id) {
            Some(slot) => {
                let n = self.ids.vals[slot];
                let node = self.nodes[n as usize];
                let (side, px) = (node.side, node.px);
                let Ok(li) = find_level(self.side(side), side, px) else {
                    // Cannot happen while levels never overflow (see `add`); refused, not a
                    // panic, should it ever.
                    self.stats.invalid += 1;
                    return Applied::default();
                };
                let take = if full { node.qty } else { qty.0.clamp(0, node.qty) };
                self.nodes[n as usize].qty -= take;
                self.side_mut(side)[li].qty -= take;
                if self.nodes[n as usize].qty == 0 {
                    self.ids.remove_at(slot);
                    self.unlink_node(side, li, n);
                }
                (side, px, take, node.stamp, li)
            }
            None => {
                self.stats.unknown_orders += 1;
                if qty.0 <= 0 {
                    return Applied::default();
                }
                let v = self.side_mut(side);
                let Ok(li) = find_level(v, side, px.0) else {
                    self.stats.unabsorbed_qty = self.stats.unabsorbed_qty.saturating_add(qty);
                    return Applied {
                        trade: trade.then_some(Trade { px, qty, aggressor: Some(side.opposite()) }),
                        ..Applied::default()
                    };
                };
                let l = &mut v[li];
                let take = qty.0.min(l.anon);
                l.anon -= take;
                l.qty -= take;
                self.stats.unabsorbed_qty =
                    self.stats.unabsorbed_qty.saturating_add(Qty(qty.0 - take));
                (side, px.0, take, 0, li)
            }
        };
        let depth = self.depth_of(side, li);
        if self.side(side)[li].qty == 0 {
            debug_assert_eq!(self.side(side)[li].head, NIL);
            self.side_mut(side).remove(li);
        }
        let t = trade.then_some(Trade {
            px: Price(px),
            qty: Qty(taken),
            aggressor: Some(side.opposite()),
        });
        Applied {
            changed: taken > 0,
            top: taken > 0 && depth < BOOK_LEVELS,
            side: Some(side),
            px: Price(px),
            removed: if trade { Qty::ZERO } else { Qty(taken) },
            added: Qty::ZERO,
            removed_stamp: stamp,
            level_set: None,
            trade: t,
            quote: None,
        }
    }

    /// Turns every known order at a level into unattributed quantity (the size is unchanged).
    pub fn forget(&mut self, side: Side, px: Price) {
        if let Ok(li) = find_level(self.side(side), side, px.0) {
            self.forget_at(side, li);
        }
    }

    fn forget_at(&mut self, side: Side, li: usize) {
        self.release_orders(side, li);
        let l = &mut self.side_mut(side)[li];
        l.head = NIL;
        l.tail = NIL;
        l.anon = l.qty;
    }

    /// Sets the total visible quantity at a level (L2). When the known orders at the level
    /// still fit in the new size they keep their queue places and the rest is unattributed;
    /// when they do not (some of them must be gone, but the data does not say which), they all
    /// become unattributed quantity. Zero removes the level and its orders.
    pub fn set_level(&mut self, side: Side, px: Price, qty: Qty) -> Applied {
        if qty.0 < 0 {
            self.stats.invalid += 1;
            return Applied::default();
        }
        let found = find_level(self.side(side), side, px.0);
        let (li, old) = match found {
            Ok(i) => (i, self.side(side)[i].qty),
            Err(i) => {
                if qty.0 == 0 {
                    return Applied::default();
                }
                self.side_mut(side).insert(i, Lvl::new(px.0));
                (i, 0)
            }
        };
        let depth = self.depth_of(side, li);
        if qty.0 == 0 {
            self.drop_level(side, li);
        } else {
            let orders = old - self.side(side)[li].anon;
            if orders > qty.0 {
                self.forget_at(side, li);
            }
            let l = &mut self.side_mut(side)[li];
            l.anon = qty.0 - (l.qty - l.anon);
            l.qty = qty.0;
        }
        Applied {
            changed: old != qty.0,
            top: old != qty.0 && depth < BOOK_LEVELS,
            side: Some(side),
            px,
            removed: Qty((old - qty.0).max(0)),
            added: Qty((qty.0 - old).max(0)),
            removed_stamp: 0,
            level_set: Some(qty),
            trade: None,
            quote: None,
        }
    }

    /// Checks internal invariants (tests and debugging): sorted levels, level totals equal to
    /// their orders plus unattributed quantity, id index consistent.
    ///
    /// # Errors
    /// A description of the first broken invariant.
    pub fn check(&self) -> Result<(), String> {
        let mut orders = 0usize;
        for side in [Side::Buy, Side::Sell] {
            let v = self.side(side);
            for w in v.windows(2) {
                if !better(side, w[1].px, w[0].px) {
                    return Err(format!("{side:?} levels out of order at {}", w[1].px));
                }
            }
            for l in v {
                if l.qty <= 0 || l.anon < 0 {
                    return Err(format!(
                        "{side:?} level {} has qty {} anon {}",
                        l.px, l.qty, l.anon
                    ));
                }
                let mut sum = l.anon;
                let mut n = l.head;
                let mut prev = NIL;
                while n != NIL {
                    let node = &self.nodes[n as usize];
                    if node.prev != prev || node.px != l.px || node.side != side || node.qty <= 0 {
                        return Err(format!("bad node {} at level {}", node.id, l.px));
                    }
                    if self.ids.get(node.id) != Some(n) {
                        return Err(format!("id index lost order {}", node.id));
                    }
                    sum += node.qty;
                    orders += 1;
                    prev = n;
                    n = node.next;
                }
                if prev != l.tail || sum != l.qty {
                    return Err(format!("level {} sums to {sum}, holds {}", l.px, l.qty));
                }
            }
        }
        if orders != self.ids.len {
            return Err(format!("{orders} linked orders but {} ids", self.ids.len));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
