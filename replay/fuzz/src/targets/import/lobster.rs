//! LOBSTER: a message file generated from a simulated book (adds, cancels, deletes,
//! executions of live orders, hidden executions, crosses, halts) and, half the time, the
//! orderbook file of that book, imported and, with the orderbook, book-checked.

use super::{FILE_BREAK, import_files, split_files, with_files};
use crate::draw::G;
use crate::harness::Checked;
use lockstep_import::{ImportOptions, LobsterInput, book_check, import_lobster};
use std::collections::BTreeMap;
use std::fmt::Write;

const DUMMY: i64 = 9_999_999_999;

/// A live order: id, buy side, price, size.
type Order = (u64, bool, i64, i64);

/// The simulated book: size per price, bids and asks.
#[derive(Default)]
struct Book {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl Book {
    fn change(&mut self, buy: bool, px: i64, by: i64) {
        let side = if buy { &mut self.bids } else { &mut self.asks };
        let left = side.get(&px).copied().unwrap_or(0) + by;
        if left > 0 {
            side.insert(px, left);
        } else {
            side.remove(&px);
        }
    }

    /// The orderbook row of the top `levels`.
    fn row(&self, levels: usize) -> String {
        let mut asks = self.asks.iter();
        let mut bids = self.bids.iter().rev();
        let mut s = String::new();
        for k in 0..levels {
            let (ap, asz) = asks.next().map_or((DUMMY, 0), |(p, q)| (*p, *q));
            let (bp, bsz) = bids.next().map_or((-DUMMY, 0), |(p, q)| (*p, *q));
            let sep = if k == 0 { "" } else { "," };
            let _ = write!(s, "{sep}{ap},{asz},{bp},{bsz}");
        }
        s
    }
}

/// One message row (its kind, id, size, price, direction) against the book.
fn message(g: &mut G<'_>, live: &mut Vec<Order>, book: &mut Book, next: &mut u64) -> String {
    let kind = if live.is_empty() { 1 } else { g.pick(&[1, 1, 1, 2, 3, 4, 5, 6, 7]) };
    let i = g.len(0, live.len().saturating_sub(1));
    let (id, size, px, dir) = match kind {
        1 => {
            let buy = g.bool();
            let px = if buy { g.int(100, 199) } else { g.int(200, 299) } * 100;
            let size = g.int(1, 1_000);
            *next += 1;
            live.push((*next, buy, px, size));
            book.change(buy, px, size);
            (*next as i64, size, px, buy)
        }
        2 | 4 if live[i].3 > 1 => {
            let o = &mut live[i];
            let by = g.int(1, o.3 - 1);
            o.3 -= by;
            book.change(o.1, o.2, -by);
            (o.0 as i64, by, o.2, o.1)
        }
        2..=4 => {
            let o = live.swap_remove(i);
            book.change(o.1, o.2, -o.3);
            (o.0 as i64, o.3, o.2, o.1)
        }
        5 | 6 => (g.pick(&[0, -1]), g.int(1, 500), g.int(100, 299) * 100, g.bool()),
        _ => (0, 0, g.int(-1, 1), g.bool()),
    };
    let dir = if dir { 1 } else { -1 };
    format!("{kind},{id},{size},{px},{dir}")
}

/// A valid message file, with its orderbook file half the time.
pub(crate) fn generate(g: &mut G<'_>) -> Vec<u8> {
    let levels = g.len(1, 3);
    let with_book = g.bool();
    let (mut live, mut book, mut next) = (Vec::new(), Book::default(), 0u64);
    let (mut msgs, mut rows) = (String::new(), String::new());
    let mut t: i64 = 34_200_000_000_000 + g.int(0, 1_000_000_000);
    for _ in 0..g.len(1, 60) {
        t += g.pick(&[0, 1, 1_000, 1_000_000, 1_000_000_000]);
        let m = message(g, &mut live, &mut book, &mut next);
        let _ = writeln!(msgs, "{}.{:09},{m}", t / 1_000_000_000, t % 1_000_000_000);
        let _ = writeln!(rows, "{}", book.row(levels));
    }
    let mut out = format!("{levels}\n").into_bytes();
    out.extend_from_slice(msgs.as_bytes());
    if with_book {
        out.extend_from_slice(FILE_BREAK);
        out.extend_from_slice(rows.as_bytes());
    }
    out
}

/// Imports the message file (with its orderbook file when the input has one), and
/// book-checks the pair.
pub(crate) fn check(bytes: &[u8]) -> Checked {
    let files = split_files(bytes);
    // The first line is the number of levels the file names carry.
    let (levels, msgs) = match files[0].iter().position(|&b| b == b'\n') {
        Some(i) => (
            std::str::from_utf8(&files[0][..i]).ok().and_then(|s| s.parse().ok()),
            &files[0][i + 1..],
        ),
        None => (None, files[0]),
    };
    let levels: usize = levels.filter(|l| (1..=50).contains(l)).unwrap_or(1);
    let m = format!("X_2012-06-21_34200000_57600000_message_{levels}.csv");
    let o = format!("X_2012-06-21_34200000_57600000_orderbook_{levels}.csv");
    let mut named = vec![(m.as_str(), msgs)];
    if let Some(book) = files.get(1) {
        named.push((o.as_str(), book));
    }
    let verdict = import_files(&named, |paths, out| {
        let mut input = LobsterInput::new(&paths[0]);
        input.orderbook = paths.get(1).cloned();
        import_lobster(&[input], out, &ImportOptions::default())
    })?;
    if files.len() > 1 {
        // Any outcome but a panic will do: the check compares two files it was handed.
        with_files(&named, |_, p| book_check(&p[0], &p[1], levels).map(|_| ()))?.ok();
    }
    Ok(verdict)
}
