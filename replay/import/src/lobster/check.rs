//! Verifies the order book against LOBSTER's own orderbook file: after every message, do the
//! top `k` levels of our book equal the file's row, for each `k` up to the depth compared?
//!
//! Both books start from the opening book (the file's first row with the first message undone)
//! and apply every message; each row is compared *before* any correction:
//! - the *reconciled* book is then brought back to the file's row where it differs, exactly as
//!   `import lobster --orderbook` does on the tape, so every difference is the effect of one
//!   message on a correct book, and is classified;
//! - the *messages-only* book never looks at the file again, showing how a book built from a
//!   level-`k` message file alone drifts (the file omits every event beyond the top `k`).

use super::reconcile::{Reconciler, seed_events, undo};
use super::record::{BookRow, Msg, PRICE_MUL, parse_book_row, parse_message, to_event};
use crate::error::ImportError;
use crate::lines::Lines;
use lockstep_sdk::{ONE, Price, Qty, Side};
use lockstep_sim::{Book, BookStats, MarketEvent};
use std::path::Path;

/// Why a row differed from the file, for rows the resync book got wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MismatchClass {
    /// Short name.
    pub name: &'static str,
    /// What causes it.
    pub explanation: &'static str,
    /// Rows (messages) in this class.
    pub rows: u64,
    /// The first few row numbers (1-based lines of the files).
    pub examples: Vec<u64>,
}

/// The result of a book check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookCheckReport {
    /// Message rows checked.
    pub rows: u64,
    /// Levels per side compared (`--levels`).
    pub levels: usize,
    /// Levels per side the orderbook file holds.
    pub file_levels: usize,
    /// Rows whose top `k` levels (index `k - 1`) matched after the message, the book having
    /// been reconciled with the file's previous row (the tape's book).
    pub matched: Vec<u64>,
    /// Rows whose top `k` levels matched replaying the messages alone after the opening row.
    pub matched_messages_only: Vec<u64>,
    /// The reconciled book's differences by cause; the counts add up to the rows that differed
    /// at the deepest compared level.
    pub classes: Vec<MismatchClass>,
    /// Rows after which the reconciled book needed corrections: level sizes reset to the file,
    /// or order ids forgotten at levels coming back into view.
    pub rows_corrected: u64,
    /// What the messages-only book could not apply exactly.
    pub book_stats: BookStats,
}

const CLASS_REVEALED: usize = 0;
const CLASS_UNKNOWN: usize = 1;
const CLASS_OTHER: usize = 2;
const EXAMPLES: usize = 5;

fn classes() -> Vec<MismatchClass> {
    vec![
        MismatchClass {
            name: "level-revealed-from-beyond-depth",
            explanation: "a level inside the compared depth emptied, so a level that lay beyond the file's depth moved into view; \
                          orders at that price were placed while it was outside the levels the message file covers (or before the window opened), \
                          so its size is unknown to a book built from these messages",
            rows: 0,
            examples: Vec::new(),
        },
        MismatchClass {
            name: "order-unknown-to-the-book",
            explanation: "a cancel, delete or execution names an order id never added in the file (placed before 09:30 or while outside the covered levels) \
                          and the level's quantity not attributed to known orders does not cover it",
            rows: 0,
            examples: Vec::new(),
        },
        MismatchClass {
            name: "other",
            explanation: "any other difference (none is expected; the examples name the rows to inspect)",
            rows: 0,
            examples: Vec::new(),
        },
    ]
}

/// Depth index of the first compared level that differs, and its side, or `None` when the top
/// `levels` agree.
fn first_difference(book: &Book, row: &BookRow, levels: usize) -> Option<(Side, usize)> {
    for i in 0..levels {
        for side in [Side::Buy, Side::Sell] {
            let want = row.side(side).get(i).map(|&(p, s)| (Price(p * PRICE_MUL), Qty(s * ONE)));
            let got = book.level(side, i).map(|l| (l.px, l.qty));
            if want != got {
                return Some((side, i));
            }
        }
    }
    None
}

/// Replays a LOBSTER message file against its orderbook file, comparing the top `levels`
/// levels after every message.
///
/// # Errors
/// [`ImportError`] for unreadable or malformed files (naming file and line), mismatched row
/// counts, or `levels` outside `1..=` the file's depth.
pub fn book_check(
    message: &Path,
    orderbook: &Path,
    levels: usize,
) -> Result<BookCheckReport, ImportError> {
    let mut msgs = Lines::open(message)?;
    let mut rows_in = Lines::open(orderbook)?;
    let mut c = Check::new(levels);
    while next_pair(&mut msgs, &mut rows_in, c.rows)? {
        let m: Msg = parse_message(&msgs, msgs.text())?;
        let n = parse_book_row(&rows_in, rows_in.text(), &mut c.row)?;
        if c.rows == 0 {
            c.open(orderbook, n, &m)?;
        } else if n != c.file_levels {
            return Err(rows_in.err(format!("row has {n} levels, the first row {}", c.file_levels)));
        }
        c.rows += 1;
        let ev = to_event(&msgs, &m)?;
        c.message(&m, &ev);
    }
    if c.rows == 0 {
        return Err(ImportError::Format { file: message.to_path_buf(), reason: "no rows".into() });
    }
    Ok(BookCheckReport {
        rows: c.rows,
        levels,
        file_levels: c.file_levels,
        matched: c.matched,
        matched_messages_only: c.matched_alone,
        classes: c.classes,
        rows_corrected: c.rec.rows_corrected,
        book_stats: c.alone.stats(),
    })
}

/// Reads the next line of both files: `false` when both end, an error when one ends first
/// (`rows`: the rows read so far).
fn next_pair(msgs: &mut Lines, rows_in: &mut Lines, rows: u64) -> Result<bool, ImportError> {
    match (msgs.next_line()?, rows_in.next_line()?) {
        (false, false) => Ok(false),
        (true, true) => Ok(true),
        (true, false) => Err(rows_in
            .err(format!("orderbook file ends after {rows} rows but the message file goes on"))),
        (false, true) => {
            Err(msgs
                .err(format!("message file ends after {rows} rows but the orderbook file goes on")))
        }
    }
}

/// A book check under way.
struct Check {
    levels: usize,
    file_levels: usize,
    rows: u64,
    /// The current orderbook row.
    row: BookRow,
    /// The book built from the messages alone.
    alone: Book,
    /// The book reconciled with the file after every message.
    rec: Reconciler,
    matched: Vec<u64>,
    matched_alone: Vec<u64>,
    classes: Vec<MismatchClass>,
    scratch: Vec<lockstep_sim::TapeEvent>,
}

impl Check {
    fn new(levels: usize) -> Self {
        Self {
            levels,
            file_levels: 0,
            rows: 0,
            row: BookRow::default(),
            alone: Book::new(),
            rec: Reconciler::new(),
            matched: vec![0; levels],
            matched_alone: vec![0; levels],
            classes: classes(),
            scratch: Vec::new(),
        }
    }

    /// The first row, of `n` levels, after the first message `m`: both books open on it.
    fn open(&mut self, orderbook: &Path, n: usize, m: &Msg) -> Result<(), ImportError> {
        self.file_levels = n;
        let levels = self.levels;
        if levels == 0 || levels > n {
            return Err(ImportError::Format {
                file: orderbook.to_path_buf(),
                reason: format!(
                    "the file holds {n} levels per side; compare 1 to {n} levels, not {levels}"
                ),
            });
        }
        for e in seed_events(&undo(&self.row, m), m.ts) {
            self.alone.apply(&e.msg);
            self.rec.book.apply(&e.msg);
        }
        Ok(())
    }

    /// Applies message `m` (its event `ev`) to both books and compares them with the row.
    fn message(&mut self, m: &Msg, ev: &MarketEvent) {
        let levels = self.levels;
        self.alone.apply(ev);
        let was_known = self.rec.book.order(m.id).is_some();
        self.rec.book.apply(ev);
        let upto = first_difference(&self.alone, &self.row, levels).map_or(levels, |(_, i)| i);
        for c in &mut self.matched_alone[..upto] {
            *c += 1;
        }
        let diff = first_difference(&self.rec.book, &self.row, levels);
        for c in &mut self.matched[..diff.map_or(levels, |(_, i)| i)] {
            *c += 1;
        }
        if let Some((side, i)) = diff {
            let class = self.classify(m, side, i, was_known);
            let c = &mut self.classes[class];
            c.rows += 1;
            if c.examples.len() < EXAMPLES {
                c.examples.push(self.rows);
            }
        }
        self.scratch.clear();
        self.rec.reconcile(&self.row, self.file_levels, m.ts, &mut self.scratch);
    }

    /// Why the reconciled book's level `i` on `side` differs from the row after message `m`
    /// (`was_known`: whether the book knew the order it names before it).
    fn classify(&self, m: &Msg, side: Side, i: usize, was_known: bool) -> usize {
        let file_px = self.row.side(side).get(i).map(|&(p, _)| p * PRICE_MUL);
        let our_px = self.rec.book.level(side, i).map(|l| l.px.0);
        let msg_px = Some(m.price * PRICE_MUL);
        let at_msg_level = side == m.side() && (file_px == msg_px || our_px == msg_px);
        let revealed =
            file_px.is_some_and(|p| !self.rec.was_in_view(side, p)) && i + 1 == self.file_levels;
        if revealed {
            CLASS_REVEALED
        } else if matches!(m.kind, 2..=4) && !was_known && at_msg_level {
            CLASS_UNKNOWN
        } else {
            CLASS_OTHER
        }
    }
}
