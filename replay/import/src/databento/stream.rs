//! The second pass over DBN files: records into tape events, the files merged by receive
//! time, MBO events batched up to the record flagged `LAST`, and the checks of the MBO book.

use super::input::Input;
use super::load::Scan;
use super::mbo::{Order, Orders, Outcome, mbo};
use super::record::{Item, MBP_DEPTH, Pair, Rec, UNDEF_TS, price, qty, side_of};
use super::sequence::Sequences;
use crate::error::ImportError;
use crate::importer::Streamed;
use crate::merge::{merge, start};
use crate::sink::Sink;
use dbn::flags;
use lockstep_sdk::{Nanos, Price, Qty, Side};
use lockstep_sim::{Book, MarketEvent, TapeEvent};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A book level (price, size) for the checks.
type Level = (Price, Qty);

/// Per-instrument state of the second pass.
#[derive(Default)]
struct State {
    /// MBO orders: id → (side, price, remaining size).
    orders: Orders,
    /// The MBO-built book (for the checks).
    book: Book,
    /// Last MBP-10 levels per side, best first.
    depth: [Vec<(Price, Qty)>; 2],
    in_snapshot: bool,
}

/// Counts of the import's checks.
#[derive(Default)]
struct Checks {
    compared: [u64; MBP_DEPTH],
    matched: [u64; MBP_DEPTH],
    crossed: u64,
    snapshot_records: u64,
    snapshots_closed: u64,
    snapshots_open: u64,
    fills: u64,
}

/// The second pass: every record of `files` into `sink`.
pub(crate) fn stream(
    scan: Scan,
    files: &[PathBuf],
    sink: &mut Sink,
) -> Result<Streamed, ImportError> {
    let mut inputs = start(files, &(), |p| Input::open(p))?;
    let mut w = Writer {
        files,
        sink,
        states: (0..scan.instruments.len()).map(|_| State::default()).collect(),
        ids: scan.ids,
        has_mbo: scan.has_mbo,
        skipped: BTreeMap::new(),
        checks: Checks::default(),
        pending: Vec::new(),
        pending_from: None,
        pending_at: (0, 0),
        evs: Vec::new(),
        seqs: Sequences::default(),
    };
    merge(&mut inputs, &(), |k, inp| w.record(k, inp))?;
    w.flush()?;
    w.checks.snapshots_open = w.states.iter().filter(|s| s.in_snapshot).count() as u64;
    Ok(Streamed {
        rows: scan.rows,
        notes: w.notes(),
        sequence_gaps: w.seqs.mbo_seen.then_some(w.seqs.gaps),
        skipped: w.skipped,
        ..Streamed::default()
    })
}

/// Writes the records of every file to the tape.
struct Writer<'a> {
    files: &'a [PathBuf],
    sink: &'a mut Sink,
    states: Vec<State>,
    /// Tape id by Databento instrument id.
    ids: BTreeMap<u32, u16>,
    /// Whether each instrument has MBO data (its book is then checked), by tape id.
    has_mbo: Vec<bool>,
    skipped: BTreeMap<String, u64>,
    checks: Checks,
    /// Events waiting for the end of their batch.
    pending: Vec<TapeEvent>,
    /// The input and instrument of the pending events.
    pending_from: Option<(usize, u16)>,
    /// The input and record number of the last pending record.
    pending_at: (usize, u64),
    /// The events of the current record.
    evs: Vec<MarketEvent>,
    seqs: Sequences,
}

impl Writer<'_> {
    fn skip(&mut self, what: &str) {
        *self.skipped.entry(what.to_owned()).or_insert(0) += 1;
    }

    /// Writes the current record of input `k`, `inp`.
    fn record(&mut self, k: usize, inp: &mut Input) -> Result<(), ImportError> {
        let Some((local, item)) = inp.cur.take() else { return Ok(()) };
        let Some(&ins) = self.ids.get(&item.instrument_id) else {
            // Definitions and records of other kinds.
            if let Rec::Other(what) = &item.rec {
                self.skip(what);
            }
            return Ok(());
        };
        if let Rec::Other(what) = &item.rec {
            self.skip(what);
            return Ok(());
        }
        self.seqs.check(&item);
        if local < 0 {
            return Err(inp.err("the record has neither a receive nor an event time"));
        }
        let exch = if item.ts_event == UNDEF_TS {
            local
        } else {
            i64::try_from(item.ts_event)
                .map_err(|_| inp.err(format!("time {} ns is beyond 2262", item.ts_event)))?
        };
        if self.pending_from.is_some_and(|p| p != (k, ins)) {
            self.flush()?;
        }
        self.evs.clear();
        self.events(inp, ins, &item)?;
        let to_tape = |m: &MarketEvent| TapeEvent::new(Nanos(exch), Nanos(local), ins, *m);
        self.pending.extend(self.evs.iter().map(to_tape));
        self.pending_from = Some((k, ins));
        self.pending_at = (k, inp.index);
        // Non-MBO records are whole events; MBO events end with the record flagged LAST.
        if !matches!(item.rec, Rec::Mbo { .. }) || item.flags & flags::LAST != 0 {
            self.flush()?;
            self.pending_from = None;
        }
        Ok(())
    }

    /// Writes the pending batch; errors name the record that ended it.
    fn flush(&mut self) -> Result<(), ImportError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let (k, index) = self.pending_at;
        let file = self.files.get(k).cloned().unwrap_or_default();
        self.sink.batch_with(&mut self.pending, &|reason| ImportError::Record {
            file: file.clone(),
            record: index,
            reason,
        })?;
        self.pending.clear();
        Ok(())
    }

    /// The events of `item` (of instrument `ins`, read from `inp`) into `evs`, and its checks.
    fn events(&mut self, inp: &Input, ins: u16, item: &Item) -> Result<(), ImportError> {
        let px = |p: i64| price(p).map_err(|r| inp.err(r));
        let i = usize::from(ins);
        match &item.rec {
            Rec::Mbo { action, side, order_id, price: p, size } => {
                let o = Order {
                    action: *action,
                    side: *side,
                    order_id: *order_id,
                    px: px(*p)?,
                    q: qty(*size),
                };
                self.mbo(i, &o, item.flags).map_err(|r| inp.err(r))?;
            }
            Rec::Trade { price: p, size, side } => match px(*p)? {
                Some(p) if *size > 0 => {
                    let aggressor = side_of(*side);
                    self.evs.push(MarketEvent::Trade { px: p, qty: qty(*size), aggressor });
                }
                _ => self.skip("trade without price or size"),
            },
            Rec::Top { pair, trade } => {
                self.trade(*trade, &px)?;
                let view = [level_pair(pair, &px)?];
                let (bid, ask) = view[0];
                self.evs.push(MarketEvent::Quote {
                    bid_px: bid.map_or(Price(0), |l| l.0),
                    bid_qty: bid.map_or(Qty::ZERO, |l| l.1),
                    ask_px: ask.map_or(Price(0), |l| l.0),
                    ask_qty: ask.map_or(Qty::ZERO, |l| l.1),
                });
                self.compare(i, &view);
            }
            Rec::Depth { levels, trade } => {
                self.trade(*trade, &px)?;
                let view =
                    levels.iter().map(|l| level_pair(l, &px)).collect::<Result<Vec<_>, _>>()?;
                self.depth(i, &view);
                self.compare(i, &view);
            }
            Rec::Def { .. } | Rec::Other(_) => {}
        }
        Ok(())
    }

    /// The events of an MBO record `o` of instrument `i` with `flags`, applied to its book, and
    /// the snapshot and crossed-book checks.
    fn mbo(&mut self, i: usize, o: &Order, flags: u8) -> Result<(), String> {
        let st = &mut self.states[i];
        let snap = flags & flags::SNAPSHOT != 0;
        if snap {
            self.checks.snapshot_records += 1;
            st.in_snapshot = true;
        }
        match mbo(&mut st.orders, o, &mut self.evs)? {
            Outcome::Events => {}
            Outcome::Skipped(what) => self.skip(what),
            Outcome::Fill => self.checks.fills += 1,
        }
        let st = &mut self.states[i];
        for e in &self.evs {
            st.book.apply(e);
        }
        if flags & flags::LAST != 0 {
            if st.in_snapshot && snap {
                self.checks.snapshots_closed += 1;
                st.in_snapshot = false;
            }
            if let (Some(b), Some(a)) = (st.book.best(Side::Buy), st.book.best(Side::Sell))
                && b.px >= a.px
            {
                self.checks.crossed += 1;
            }
        }
        Ok(())
    }

    /// The trade a record reports, if it has a price and a size.
    fn trade(
        &mut self,
        trade: Option<(i64, u32, u8)>,
        px: &dyn Fn(i64) -> Result<Option<Price>, ImportError>,
    ) -> Result<(), ImportError> {
        if let Some((p, s, sd)) = trade
            && let Some(p) = px(p)?
            && s > 0
        {
            self.evs.push(MarketEvent::Trade { px: p, qty: qty(s), aggressor: side_of(sd) });
        }
        Ok(())
    }

    /// The level updates that make instrument `i`'s book's top levels equal an MBP-10
    /// record's `view` (best first).
    fn depth(&mut self, i: usize, view: &[(Option<Level>, Option<Level>)]) {
        let st = &mut self.states[i];
        let mut new: [Vec<(Price, Qty)>; 2] = [Vec::new(), Vec::new()];
        for (b, a) in view {
            new[0].extend(b.filter(|l| l.1.0 > 0));
            new[1].extend(a.filter(|l| l.1.0 > 0));
        }
        for (s, side) in [(0, Side::Buy), (1, Side::Sell)] {
            for &(p, _) in &st.depth[s] {
                if !new[s].iter().any(|l| l.0 == p) {
                    self.evs.push(MarketEvent::Level { side, px: p, qty: Qty::ZERO });
                }
            }
            for &(p, q) in &new[s] {
                if !st.depth[s].contains(&(p, q)) {
                    self.evs.push(MarketEvent::Level { side, px: p, qty: q });
                }
            }
        }
        st.depth = new;
    }

    /// Compares the MBO book of instrument `i` (where it has MBO data) with a record's levels
    /// (best first; `None`: empty), counting per depth whether levels 1..=d all match.
    fn compare(&mut self, i: usize, rows: &[(Option<Level>, Option<Level>)]) {
        if !self.has_mbo[i] {
            return;
        }
        let book = &self.states[i].book;
        let mut bids = book.levels(Side::Buy);
        let mut asks = book.levels(Side::Sell);
        let mut all = true;
        for (d, (b, a)) in rows.iter().enumerate().take(MBP_DEPTH) {
            let mine_b = bids.next().map(|l| (l.px, l.qty));
            let mine_a = asks.next().map(|l| (l.px, l.qty));
            all = all && mine_b == *b && mine_a == *a;
            self.checks.compared[d] += 1;
            if all {
                self.checks.matched[d] += 1;
            }
        }
    }

    fn notes(&self) -> Vec<(String, u64)> {
        let c = &self.checks;
        let mut notes = vec![
            ("MBO snapshot records".to_owned(), c.snapshot_records),
            ("MBO snapshots closed by a record flagged LAST".to_owned(), c.snapshots_closed),
            ("MBO snapshots still open at the end of the input".to_owned(), c.snapshots_open),
            ("MBO events after which the rebuilt book is crossed".to_owned(), c.crossed),
            (
                "MBO fills (no book change: the quantity leaves with the cancel that follows)"
                    .to_owned(),
                c.fills,
            ),
        ];
        for d in 0..MBP_DEPTH {
            if c.compared[d] > 0 {
                notes.push((
                    format!(
                        "MBP records whose top {} level(s) match the MBO book (of {})",
                        d + 1,
                        c.compared[d]
                    ),
                    c.matched[d],
                ));
            }
        }
        if self.seqs.seen {
            notes.push((
                "sequence numbers going backwards (resets, not counted as gaps)".to_owned(),
                self.seqs.resets,
            ));
        }
        if self.seqs.mbp_seen {
            notes.push((
                "sequence jumps in MBP records (not gaps: MBP records come only from the \
                 messages that change the levels they show)"
                    .to_owned(),
                self.seqs.mbp_jumps,
            ));
        }
        notes
    }
}

/// A record's bid and ask level (`None`: undefined), sizes in tape units.
fn level_pair(
    &(bp, bs, ap, as_): &Pair,
    px: &dyn Fn(i64) -> Result<Option<Price>, ImportError>,
) -> Result<(Option<Level>, Option<Level>), ImportError> {
    let (b, a) = (px(bp)?, px(ap)?);
    Ok((b.map(|p| (p, qty(bs))), a.map(|p| (p, qty(as_)))))
}
