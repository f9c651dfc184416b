//! Keeping the book equal to LOBSTER's orderbook rows: the opening book seeded from the first
//! row (the first message undone), and after every message the level updates that make the
//! book equal the row. A level-`k` message file only lists events that touched the top `k`
//! levels, so a book built from messages alone drifts; this is what keeps it right.

use super::record::{BookRow, Msg, PRICE_MUL, price, qty};
use lockstep_sdk::{Nanos, ONE, Price, Qty, Side};
use lockstep_sim::{Book, MarketEvent, TapeEvent};

/// The book just before message `m`, given the orderbook row just after it: the row with the
/// message's effect undone. This is the state the data window opened on.
pub(crate) fn undo(row: &BookRow, m: &Msg) -> BookRow {
    let mut before = row.clone();
    let delta = match m.kind {
        1 => -m.size,
        2..=4 => m.size,
        _ => 0,
    };
    if delta != 0 {
        let side = m.side();
        let v = before.side_mut(side);
        let better = |a: i64, b: i64| if side == Side::Buy { a > b } else { a < b };
        match v.iter().position(|&(p, _)| p == m.price) {
            Some(i) => {
                v[i].1 = v[i].1.saturating_add(delta);
                if v[i].1 <= 0 {
                    v.remove(i);
                }
            }
            None if delta > 0 => {
                let at = v.iter().position(|&(p, _)| better(m.price, p)).unwrap_or(v.len());
                v.insert(at, (m.price, delta));
            }
            None => {}
        }
    }
    before
}

/// Tape events (absolute level sizes) that set the book to `row`.
pub(crate) fn seed_events(row: &BookRow, ts: i64) -> Vec<TapeEvent> {
    let mut out = Vec::new();
    for side in [Side::Buy, Side::Sell] {
        for &(p, s) in row.side(side) {
            if let (Some(px), Some(qty)) = (price(p), qty(s)) {
                out.push(TapeEvent::new(
                    Nanos(ts),
                    Nanos(ts),
                    0,
                    MarketEvent::Level { side, px, qty },
                ));
            }
        }
    }
    out
}

/// Keeps a book equal to LOBSTER's orderbook rows: applies messages, then computes and
/// applies the level updates (if any) that make the book match the row.
pub(crate) struct Reconciler {
    pub(crate) book: Book,
    stale: Vec<(Side, Price)>,
    /// Per side (buy, sell): the worst price the previous row showed, or `None` when it showed
    /// the whole side.
    prev_worst: [Option<i64>; 2],
    /// Levels whose order ids were forgotten on coming back into view.
    pub(crate) forgotten: u64,
    /// Rows that needed corrections (level updates or forgotten ids).
    pub(crate) rows_corrected: u64,
    /// Level updates emitted.
    pub(crate) corrections: u64,
}

impl Reconciler {
    pub(crate) fn new() -> Self {
        Self {
            book: Book::new(),
            stale: Vec::new(),
            prev_worst: [None; 2],
            forgotten: 0,
            rows_corrected: 0,
            corrections: 0,
        }
    }

    /// Whether the previous row showed the price `px` (raw tape price) on `side`.
    pub(crate) fn was_in_view(&self, side: Side, px: i64) -> bool {
        match self.prev_worst[side as usize - 1] {
            None => true,
            Some(w) => px == w || (side == Side::Buy) == (px > w),
        }
    }

    /// Appends to `out` the level updates that make the book equal `row` over the price range
    /// the row covers, and applies them. Levels beyond the row's depth are left as the
    /// messages made them (the file does not show them). Returns how many were needed.
    pub(crate) fn reconcile(
        &mut self,
        row: &BookRow,
        file_levels: usize,
        ts: i64,
        out: &mut Vec<TapeEvent>,
    ) -> usize {
        let start = out.len();
        for side in [Side::Buy, Side::Sell] {
            let file = row.side(side);
            // A side showing fewer levels than the file's depth shows all of its levels.
            let worst = (file.len() >= file_levels)
                .then(|| file.last().map(|&(p, _)| p * PRICE_MUL))
                .flatten();
            let within = |bound: Option<i64>, px: i64| match bound {
                None => true,
                Some(w) => px == w || (side == Side::Buy) == (px > w),
            };
            let prev = self.prev_worst[side as usize - 1];
            self.prev_worst[side as usize - 1] = worst;
            // Levels coming back into view: while they lay beyond the file's depth their
            // orders may have been cancelled or executed unseen, so their ids are forgotten.
            self.stale.clear();
            for l in self.book.levels(side) {
                if !within(worst, l.px.0) {
                    break;
                }
                if !within(prev, l.px.0) && self.book.unattributed_at(side, l.px) != l.qty {
                    self.stale.push((side, l.px));
                }
            }
            for i in 0..self.stale.len() {
                let (side, px) = self.stale[i];
                out.push(TapeEvent::new(Nanos(ts), Nanos(ts), 0, MarketEvent::Forget { side, px }));
                self.forgotten += 1;
            }
            self.stale.clear();
            for l in self.book.levels(side) {
                if !within(worst, l.px.0) {
                    break;
                }
                if !file.iter().any(|&(p, _)| p * PRICE_MUL == l.px.0) {
                    self.stale.push((side, l.px));
                }
            }
            for i in 0..self.stale.len() {
                let (side, px) = self.stale[i];
                out.push(TapeEvent::new(
                    Nanos(ts),
                    Nanos(ts),
                    0,
                    MarketEvent::Level { side, px, qty: Qty::ZERO },
                ));
            }
            for &(p, s) in file {
                let (px, qty) = (Price(p * PRICE_MUL), Qty(s * ONE));
                if self.book.qty_at(side, px) != qty {
                    out.push(TapeEvent::new(
                        Nanos(ts),
                        Nanos(ts),
                        0,
                        MarketEvent::Level { side, px, qty },
                    ));
                }
            }
        }
        for e in &out[start..] {
            self.book.apply(&e.msg);
        }
        let n = out.len() - start;
        if n > 0 {
            self.rows_corrected += 1;
            self.corrections += n as u64;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lobster::record::{parse_book_row, parse_message};
    use crate::testing::any_lines;

    #[test]
    fn undo_restores_the_opening_book() {
        let l = any_lines();
        let mut row = BookRow::default();
        parse_book_row(&l, "5802300,100,5794000,496,5804300,100,5787000,400", &mut row).unwrap();
        let m = parse_message(&l, "34200.015105074,4,15818974,4,5794000,1").unwrap();
        let b = undo(&row, &m);
        assert_eq!(b.bids, vec![(5_794_000, 500), (5_787_000, 400)]);
        assert_eq!(b.asks, row.asks);
        // A delete that emptied a level puts the level back in price order.
        let m = parse_message(&l, "34200.1,3,7,50,5790000,1").unwrap();
        assert_eq!(undo(&row, &m).bids, vec![(5_794_000, 496), (5_790_000, 50), (5_787_000, 400)]);
        // An add is taken back out.
        let m = parse_message(&l, "34200.1,1,7,100,5802300,-1").unwrap();
        assert_eq!(undo(&row, &m).asks, vec![(5_804_300, 100)]);
    }
}
