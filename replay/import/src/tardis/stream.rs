//! The second pass over Tardis files: rows into batches (an incremental_book_L2 message is the
//! rows of one time), the files merged by local time.

use super::record::{Cols, Fields, Kind, Row, open, split_fields};
use crate::error::ImportError;
use crate::importer::Streamed;
use crate::instruments::Listing;
use crate::lines::Lines;
use crate::merge::{Cursor, merge};
use crate::sink::Sink;
use lockstep_sdk::Nanos;
use lockstep_sim::{MarketEvent, TapeEvent};
use std::path::{Path, PathBuf};

/// One file in the merge: its reader and columns, and the batch it has read ahead.
struct FileSource {
    lines: Lines,
    kind: Kind,
    cols: Cols,
    fields: Vec<(usize, usize)>,
    /// Row already read that starts the next batch.
    peeked: Option<Row>,
    prev_snapshot_key: Option<(i64, i64)>,
    rows: u64,
    /// The next batch, ready to write; empty at the end.
    head: Vec<TapeEvent>,
}

impl Cursor for FileSource {
    type Context = Listing;

    fn at(&self) -> Option<i64> {
        self.head.first().map(|e| e.local_ts.0)
    }

    fn advance(&mut self, instruments: &Listing) -> Result<(), ImportError> {
        let mut head = std::mem::take(&mut self.head);
        if !self.next_batch(instruments, &mut head)? {
            head.clear();
        }
        self.head = head;
        Ok(())
    }
}

/// The second pass: every row of `files` into `sink`.
pub(crate) fn stream(
    instruments: &Listing,
    files: &[PathBuf],
    sink: &mut Sink,
) -> Result<Streamed, ImportError> {
    let mut srcs = files.iter().map(|p| FileSource::open(p)).collect::<Result<Vec<_>, _>>()?;
    for s in &mut srcs {
        s.advance(instruments)?;
    }
    merge(&mut srcs, instruments, |_, s| sink.batch(&mut s.head, &s.lines))?;
    let rows = srcs.iter().map(|s| s.rows).sum();
    Ok(Streamed { rows, ..Streamed::default() })
}

impl FileSource {
    fn open(path: &Path) -> Result<Self, ImportError> {
        let (lines, kind, cols) = open(path)?;
        Ok(Self {
            lines,
            kind,
            cols,
            fields: Vec::new(),
            peeked: None,
            prev_snapshot_key: None,
            rows: 0,
            head: Vec::new(),
        })
    }

    /// Reads the next data row: `Ok(None)` at the end. Snapshot rows expand to several events
    /// (all but the last into `out`).
    fn read_row(
        &mut self,
        instruments: &Listing,
        out: &mut Vec<TapeEvent>,
    ) -> Result<Option<Row>, ImportError> {
        if !self.lines.next_line()? {
            return Ok(None);
        }
        self.rows += 1;
        split_fields(self.lines.text(), &mut self.fields);
        let (l, c) = (&self.lines, &self.cols);
        let f = Fields { lines: l, fields: &self.fields };
        let ts = f.micros(c.ts, "timestamp")?;
        let lts = f.micros(c.local_ts, "local_timestamp")?;
        let (ex, sym) = (f.get(c.exchange)?, f.get(c.symbol)?);
        let instrument = instruments
            .id(ex, sym)
            .ok_or_else(|| l.err(format!("symbol {ex}:{sym} was not seen in the first pass")))?;
        let (msg, snapshot) = match self.kind {
            Kind::Trades => (f.trade(c)?, false),
            Kind::Quotes => (f.quote(c)?, false),
            Kind::IncrementalL2 => f.level(c)?,
            Kind::Snapshot => (f.snapshot(c, (ts, lts, instrument), out)?, false),
        };
        Ok(Some(Row { key: (lts, ts), instrument, snapshot, msg }))
    }

    /// Fills `out` with the next batch: one row, or for incremental L2 the rows of one message
    /// (same timestamps), preceded by a clear when a snapshot starts.
    fn next_batch(
        &mut self,
        instruments: &Listing,
        out: &mut Vec<TapeEvent>,
    ) -> Result<bool, ImportError> {
        out.clear();
        let first = match self.peeked.take() {
            Some(r) => r,
            None => match self.read_row(instruments, out)? {
                Some(r) => r,
                None => return Ok(false),
            },
        };
        let push = |out: &mut Vec<TapeEvent>, r: &Row, msg| {
            out.push(TapeEvent::new(Nanos(r.key.1), Nanos(r.key.0), r.instrument, msg));
        };
        if self.kind != Kind::IncrementalL2 {
            push(out, &first, first.msg);
            return Ok(true);
        }
        if first.snapshot && self.prev_snapshot_key != Some(first.key) {
            push(out, &first, MarketEvent::Clear);
        }
        self.prev_snapshot_key = first.snapshot.then_some(first.key);
        push(out, &first, first.msg);
        let mut scratch = Vec::new();
        while let Some(r) = self.read_row(instruments, &mut scratch)? {
            if r.key == first.key
                && r.snapshot == first.snapshot
                && r.instrument == first.instrument
            {
                push(out, &r, r.msg);
            } else {
                self.peeked = Some(r);
                break;
            }
        }
        Ok(true)
    }
}
