//! The second pass over LOBSTER inputs: message rows merged by time into the tape, each
//! instrument's book kept equal to its orderbook rows where they are given.

use super::load::{Instrument, LobsterInput, Scan};
use super::reconcile::{Reconciler, seed_events, undo};
use super::record::{BookRow, Msg, parse_book_row, parse_message, price, to_event};
use crate::error::{ImportError, file_name, quoted};
use crate::importer::Streamed;
use crate::lines::Lines;
use crate::merge::{Cursor, merge};
use crate::sink::Sink;
use crate::tick::TickChoice;
use lockstep_sdk::Nanos;
use lockstep_sim::TapeEvent;

/// One input being merged: its files and its current message row.
struct Source {
    msgs: Lines,
    book: Option<Lines>,
    instrument: u16,
    /// The current row (parsed from `msgs`'s current line); `None` at the end.
    cur: Option<Msg>,
    rows: u64,
}

impl Cursor for Source {
    type Context = ();

    fn at(&self) -> Option<i64> {
        self.cur.map(|m| m.ts)
    }

    /// Moves to the next non-empty message row, checking that time does not go backwards.
    fn advance(&mut self, _: &()) -> Result<(), ImportError> {
        let prev = self.cur.map(|m| m.ts);
        if !self.msgs.next_row()? {
            self.cur = None;
            return Ok(());
        }
        let m = parse_message(&self.msgs, self.msgs.text())?;
        if let Some(p) = prev
            && m.ts < p
        {
            return Err(self.msgs.err(format!(
                "time goes backwards ({} ns after {p} ns); LOBSTER files are in time order",
                m.ts
            )));
        }
        self.cur = Some(m);
        Ok(())
    }
}

/// The second pass: every message (with its orderbook row's corrections) into `sink`.
pub(crate) fn stream(
    inputs: &[LobsterInput],
    scan: Scan,
    sink: &mut Sink,
) -> Result<Streamed, ImportError> {
    let mut srcs = Vec::with_capacity(inputs.len());
    for (input, &instrument) in inputs.iter().zip(&scan.of_input) {
        let mut s = Source {
            msgs: Lines::open(&input.message)?,
            book: input.orderbook.as_deref().map(Lines::open).transpose()?,
            instrument,
            cur: None,
            rows: 0,
        };
        s.advance(&())?;
        if s.cur.is_none() {
            return Err(ImportError::Format {
                file: input.message.clone(),
                reason: "message file holds no rows".into(),
            });
        }
        srcs.push(s);
    }
    let mut w = Writer {
        instruments: scan.instruments,
        ticks: scan.ticks,
        sink,
        row: BookRow::default(),
        batch: Vec::new(),
        seeded: 0,
        off_tick: 0,
    };
    merge(&mut srcs, &(), |_, src| w.message(src))?;
    for (s, input) in srcs.iter_mut().zip(inputs) {
        if let Some(b) = s.book.as_mut()
            && b.next_line()?
        {
            return Err(b.err(format!(
                "orderbook file has more rows than the {} messages of {}",
                s.rows,
                quoted(file_name(&input.message))
            )));
        }
    }
    let rows = srcs.iter().map(|s| s.rows).sum();
    let seeded = inputs.iter().any(|i| i.orderbook.is_some());
    Ok(Streamed { rows, notes: w.notes(seeded), ..Streamed::default() })
}

/// Writes the messages of every input to the tape.
struct Writer<'s> {
    instruments: Vec<Instrument>,
    ticks: Vec<TickChoice>,
    sink: &'s mut Sink,
    /// The current orderbook row.
    row: BookRow,
    batch: Vec<TapeEvent>,
    /// Opening levels seeded from orderbook files.
    seeded: u64,
    /// Message prices off their instrument's tick.
    off_tick: u64,
}

impl Writer<'_> {
    /// Writes the current message of `src` (and the corrections its orderbook row needs).
    fn message(&mut self, src: &mut Source) -> Result<(), ImportError> {
        let Some(m) = src.cur else { return Ok(()) };
        src.rows += 1;
        let i = src.instrument;
        let tick = self.ticks[usize::from(i)].tick;
        if m.kind != 7 && price(m.price).is_some_and(|p| p.0 % tick.0 != 0) {
            self.off_tick += 1;
        }
        let ev = TapeEvent::new(Nanos(m.ts), Nanos(m.ts), i, to_event(&src.msgs, &m)?);
        self.batch.clear();
        match src.book.as_mut() {
            None => {
                let ins = &mut self.instruments[usize::from(i)];
                if ins.has_book {
                    ins.rec.book.apply(&ev.msg);
                }
                self.batch.push(ev);
            }
            Some(b) => self.reconciled(b, src.rows, &m, ev)?,
        }
        self.instruments[usize::from(i)].started = true;
        self.sink.batch(&mut self.batch, &src.msgs)
    }

    /// Fills the batch with message `m`'s event `ev`, preceded by the opening book before its
    /// instrument's first message and followed by the corrections that make the book equal
    /// the message's orderbook row, read from the orderbook file `b` (`rows`: the messages
    /// read so far).
    fn reconciled(
        &mut self,
        b: &mut Lines,
        rows: u64,
        m: &Msg,
        ev: TapeEvent,
    ) -> Result<(), ImportError> {
        if !b.next_line()? {
            return Err(b.err(format!(
                "orderbook file ends after {} rows but the message file goes on",
                rows - 1
            )));
        }
        let n = parse_book_row(b, b.text(), &mut self.row)?;
        let ins = &mut self.instruments[usize::from(ev.instrument)];
        if !ins.started {
            self.batch = seed_events(&undo(&self.row, m), m.ts);
            self.seeded += self.batch.len() as u64;
            for e in &self.batch {
                ins.rec.book.apply(&e.msg);
            }
        }
        if ins.file_levels == 0 {
            ins.file_levels = n;
        } else if n != ins.file_levels {
            return Err(b.err(format!(
                "row has {n} levels, the first orderbook row of {} {}",
                ins.symbol, ins.file_levels
            )));
        }
        ins.rec.book.apply(&ev.msg);
        self.batch.push(ev);
        ins.rec.reconcile(&self.row, ins.file_levels, m.ts, &mut self.batch);
        for e in &mut self.batch {
            e.instrument = ev.instrument;
        }
        Ok(())
    }

    /// The notes of the import; `seeded`: whether any input has an orderbook file.
    fn notes(&self, seeded: bool) -> Vec<(String, u64)> {
        let mut notes = Vec::new();
        if seeded {
            let sum =
                |f: fn(&Reconciler) -> u64| self.instruments.iter().map(|x| f(&x.rec)).sum::<u64>();
            let forgotten = sum(|r| r.forgotten);
            notes = vec![
                ("opening levels seeded from the orderbook file".to_owned(), self.seeded),
                (
                    "messages followed by corrections to match LOBSTER's orderbook".to_owned(),
                    sum(|r| r.rows_corrected),
                ),
                (
                    "level size updates added to match LOBSTER's orderbook".to_owned(),
                    sum(|r| r.corrections) - forgotten,
                ),
                (
                    "levels back in view whose order ids were forgotten (events beyond the depth are missing)".to_owned(),
                    forgotten,
                ),
            ];
        }
        if self.off_tick > 0 {
            notes.push((
                "message prices off the tick (hidden executions at the midpoint, or --tick too coarse)"
                    .to_owned(),
                self.off_tick,
            ));
        }
        notes
    }
}
