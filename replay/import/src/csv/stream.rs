//! The second pass over CSV files: rows into batches (generic rows joined by `more`, a Binance
//! depth update's rows), the files merged by local time, Binance depth updates chained.

use super::dialect::{Dialect, open};
use super::record::{DepthRow, DepthUpdate, TimeUnit, depth_row, fx_row, parse_row};
use crate::chain::Chains;
use crate::error::ImportError;
use crate::importer::Streamed;
use crate::instruments::Listing;
use crate::lines::Lines;
use crate::merge::{Cursor, merge, start};
use crate::sink::Sink;
use lockstep_sim::{MarketEvent, TapeEvent};
use std::path::PathBuf;

/// What reading a batch needs: the instruments of the first pass, and the generic format's
/// time unit.
pub(crate) struct Context {
    pub(crate) listing: Listing,
    pub(crate) unit: TimeUnit,
}

/// One input file in the merge: its reader and columns, and the batch it has read ahead.
struct Source {
    lines: Lines,
    dialect: Dialect,
    rows: u64,
    /// The next batch (generic: rows up to one with `more` unset; Binance depth: the rows of
    /// one update), ready to write; empty at the end.
    batch: Vec<TapeEvent>,
    /// The Binance depth update `batch` holds.
    update: Option<DepthUpdate>,
    /// A Binance depth row already read that starts the batch after `batch`.
    peeked: Option<DepthRow>,
}

impl Cursor for Source {
    type Context = Context;

    /// Local time of the next batch (`None` at the end).
    fn at(&self) -> Option<i64> {
        self.batch.first().map(|e| e.local_ts.0)
    }

    /// Reads the next batch into `batch` (empty at the end of the file).
    fn advance(&mut self, cx: &Context) -> Result<(), ImportError> {
        self.batch.clear();
        self.update = None;
        let venue = self.dialect.venue();
        let instrument = |sym: &str| cx.listing.id(venue, sym).unwrap_or(0);
        if let Some(first) = self.peeked.take() {
            start_update(&mut self.batch, &mut self.update, first);
        }
        while self.lines.next_row()? {
            self.rows += 1;
            let text = self.lines.text();
            match &self.dialect {
                Dialect::Generic(cols) => {
                    let (event, more) = parse_row(&self.lines, text, cols, &instrument, cx.unit)?;
                    self.batch.push(event);
                    if !more {
                        break;
                    }
                }
                Dialect::TrueFx(cols) => {
                    let ins = instrument(&cols.symbol);
                    self.batch.push(fx_row(&self.lines, text, cols, ins)?);
                    break;
                }
                Dialect::BinanceDepth(cols) => {
                    let row = depth_row(&self.lines, text, cols, &instrument)?;
                    if !self.depth(row) {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Source {
    /// Takes a Binance depth row: into the batch when it continues the batch's update (or
    /// starts one), else kept for the next batch. Returns whether to read on.
    fn depth(&mut self, row: DepthRow) -> bool {
        match self.update {
            Some(u)
                if u == row.update
                    && self.batch[0].instrument == row.event.instrument
                    && self.batch[0].local_ts == row.event.local_ts =>
            {
                self.batch.push(row.event);
            }
            Some(_) => {
                self.peeked = Some(row);
                return false;
            }
            None => start_update(&mut self.batch, &mut self.update, row),
        }
        true
    }
}

/// Starts a Binance depth batch with `row` (a snapshot clears the book first).
fn start_update(batch: &mut Vec<TapeEvent>, update: &mut Option<DepthUpdate>, row: DepthRow) {
    if row.update.snapshot {
        let e = row.event;
        batch.push(TapeEvent::new(e.exchange_ts, e.local_ts, e.instrument, MarketEvent::Clear));
    }
    batch.push(row.event);
    *update = Some(row.update);
}

/// The second pass: every batch of `files` into `sink`.
pub(crate) fn stream(
    cx: &Context,
    files: &[PathBuf],
    sink: &mut Sink,
) -> Result<Streamed, ImportError> {
    let mut srcs = start(files, cx, |file| {
        let (lines, dialect) = open(file)?;
        Ok(Source { lines, dialect, rows: 0, batch: Vec::new(), update: None, peeked: None })
    })?;
    // Binance depth continuity per instrument, as the Binance importer defines it for futures.
    let mut chains = Chains::new(cx.listing.len());
    let mut depth = false;
    merge(&mut srcs, cx, |_, s| {
        if let Some(u) = s.update {
            depth = true;
            let i = usize::from(s.batch[0].instrument);
            if u.snapshot {
                chains.snapshot(i, u.last);
            } else if !chains.diff(i, u.first, u.last, Some(u.pu)) {
                return Ok(());
            }
        }
        sink.batch(&mut s.batch, &s.lines)
    })?;
    let rows = srcs.iter().map(|s| s.rows).sum();
    let notes = if depth {
        vec![
            (
                "Binance depth updates skipped as already covered by a snapshot".to_owned(),
                chains.covered,
            ),
            (
                "Binance depth sequence gaps (pu != previous last_update_id, or an update after a \
                 snapshot that does not straddle it)"
                    .to_owned(),
                chains.gaps,
            ),
        ]
    } else {
        Vec::new()
    };
    Ok(Streamed { rows, notes, sequence_gaps: depth.then_some(chains.gaps), ..Streamed::default() })
}
