//! The per-event record stream: what a strategy saw and did, event by event. Replay writes it
//! to find where two runs diverge; latency-lab records its open-loop workload in it and hands
//! the same file to the JVM. One format, written and read only here.
//!
//! A trace is `"LSTRACE2"`, then the `init` call: `fuel u64`, `n u16` and `n` 64-byte action
//! records; then one record per event delivered: `seq u64, fuel u64`, the 64-byte event record,
//! the 328-byte book record when the event is a book event (`kind` = `BOOK`), `n u16` and `n`
//! 64-byte action records. All little-endian. Fuel is 0 where the runner reports none.

use lockstep_io::AtomicFile;
use lockstep_sdk::{
    ACTION_SIZE, ActionRecord, BOOK_SIZE, BookRecord, EVENT_SIZE, EventRecord, event_kind,
};
use lockstep_sim::Observer;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"LSTRACE2";

/// Written for a book event that came without a book record.
const EMPTY_BOOK: BookRecord = BookRecord([0; BOOK_SIZE]);

/// A trace file a session writes for one strategy: an [`Observer`] whose file is created at
/// load (so a path that cannot be written fails before the run), started at `init`, and moved
/// into place when the run finishes. A run that fails leaves no partial trace that looks
/// complete.
pub(crate) struct FileTrace {
    /// The file before `init` is recorded.
    file: Option<BufWriter<AtomicFile>>,
    /// The trace once `init` is recorded, or the error writing it.
    trace: Option<io::Result<TraceWriter<BufWriter<AtomicFile>>>>,
}

impl FileTrace {
    /// Creates the file at `path` (beside it, until the run finishes).
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        let file = BufWriter::with_capacity(1 << 20, AtomicFile::create(path)?);
        Ok(Self { file: Some(file), trace: None })
    }
}

impl Observer for FileTrace {
    fn init(&mut self, fuel: u64, actions: &[ActionRecord]) {
        if let Some(out) = self.file.take() {
            self.trace = Some(TraceWriter::new(out, fuel, actions));
        }
    }

    fn event(
        &mut self,
        seq: u64,
        fuel: u64,
        rec: &EventRecord,
        book: Option<&BookRecord>,
        actions: &[ActionRecord],
    ) {
        if let Some(Ok(t)) = self.trace.as_mut() {
            t.event(seq, fuel, rec, book, actions);
        }
    }

    fn finish(self: Box<Self>) -> Result<(), String> {
        let t = self.trace.ok_or_else(|| "the run ended before init was recorded".to_owned())?;
        t.and_then(|t| {
            t.into_inner()?.into_inner().map_err(io::IntoInnerError::into_error)?.commit()
        })
        .map_err(|e| e.to_string())
    }
}

/// Writes a trace into any [`Write`]: a file (replay's traces) or memory.
pub struct TraceWriter<W: Write> {
    out: W,
    error: Option<io::Error>,
}

impl<W: Write> TraceWriter<W> {
    /// Starts a trace in `out` with the `init` call's fuel and actions.
    ///
    /// # Errors
    /// The error writing the header.
    pub fn new(mut out: W, init_fuel: u64, init_actions: &[ActionRecord]) -> io::Result<Self> {
        out.write_all(MAGIC)?;
        out.write_all(&init_fuel.to_le_bytes())?;
        write_actions(&mut out, init_actions)?;
        Ok(Self { out, error: None })
    }

    /// Appends one event: its sequence number, fuel, record, book record (written for book
    /// events only; a book event without one is written with an empty book) and actions. The
    /// first error is kept and returned by [`TraceWriter::into_inner`]; later events are dropped.
    pub fn event(
        &mut self,
        seq: u64,
        fuel: u64,
        ev: &EventRecord,
        book: Option<&BookRecord>,
        actions: &[ActionRecord],
    ) {
        if self.error.is_some() {
            return;
        }
        let mut head = [0u8; 16];
        head[..8].copy_from_slice(&seq.to_le_bytes());
        head[8..].copy_from_slice(&fuel.to_le_bytes());
        let r = self.out.write_all(&head).and_then(|()| self.out.write_all(&ev.0)).and_then(|()| {
            if ev.kind() == event_kind::BOOK {
                self.out.write_all(&book.unwrap_or(&EMPTY_BOOK).0)
            } else {
                Ok(())
            }
        });
        if let Err(e) = r.and_then(|()| write_actions(&mut self.out, actions)) {
            self.error = Some(e);
        }
    }

    /// The sink, once everything written reached it.
    ///
    /// # Errors
    /// The first write error.
    pub fn into_inner(mut self) -> io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// `n u16` then the records; more than `u16::MAX` actions cannot come from one call (the ABI's
/// buffer holds far fewer), and are cut there rather than written with a wrong count.
fn write_actions(out: &mut impl Write, actions: &[ActionRecord]) -> io::Result<()> {
    let n = actions.len().min(usize::from(u16::MAX));
    out.write_all(&(n as u16).to_le_bytes())?;
    actions[..n].iter().try_for_each(|a| out.write_all(&a.0))
}

/// One traced event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedEvent {
    /// Sequence number.
    pub seq: u64,
    /// Fuel used.
    pub fuel: u64,
    /// The event.
    pub event: EventRecord,
    /// Its book record (book events only).
    pub book: Option<BookRecord>,
    /// The actions returned.
    pub actions: Vec<ActionRecord>,
}

/// Reads a trace from any [`Read`]: a file ([`TraceReader::open`]) or bytes.
pub struct TraceReader<R: Read = BufReader<File>> {
    input: R,
    /// Bytes consumed so far, for errors that say where.
    at: u64,
    /// Events read so far.
    events: u64,
    init_fuel: u64,
    init_actions: Vec<ActionRecord>,
}

impl TraceReader {
    /// Opens a trace file.
    ///
    /// # Errors
    /// I/O errors, or [`io::ErrorKind::InvalidData`] naming the file if it is not a trace.
    pub fn open(path: &Path) -> io::Result<Self> {
        TraceReader::new(BufReader::new(File::open(path)?))
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

impl<R: Read> TraceReader<R> {
    /// Reads the header and the `init` call from `input`.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidData`] if `input` is not a trace or is cut short.
    pub fn new(input: R) -> io::Result<Self> {
        let mut r = Self { input, at: 0, events: 0, init_fuel: 0, init_actions: Vec::new() };
        let mut m = [0u8; 8];
        r.read(&mut m, "the header")?;
        if &m != MAGIC {
            return Err(invalid(format!(
                "not a trace (it starts {:?}, a trace starts \"LSTRACE2\"); write it again \
                 with this version",
                String::from_utf8_lossy(&m)
            )));
        }
        let mut fuel = [0u8; 8];
        r.read(&mut fuel, "the init call")?;
        r.init_fuel = u64::from_le_bytes(fuel);
        r.init_actions = r.actions("the init call")?;
        Ok(r)
    }

    /// Fuel the `init` call used.
    pub fn init_fuel(&self) -> u64 {
        self.init_fuel
    }

    /// Actions the `init` call returned.
    pub fn init_actions(&self) -> &[ActionRecord] {
        &self.init_actions
    }

    /// The next event, `None` at the end.
    ///
    /// # Errors
    /// I/O errors, or [`io::ErrorKind::InvalidData`] naming the event and byte offset where a
    /// record is cut short.
    pub fn next_event(&mut self) -> io::Result<Option<TracedEvent>> {
        let mut head = [0u8; 16];
        // A clean end is an end exactly between two events.
        let mut got = 0;
        while got < head.len() {
            match self.input.read(&mut head[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.at += got as u64;
        let what = format!("event {}", self.events);
        if got < head.len() {
            return Err(self.cut_short(&what));
        }
        let mut ev = EventRecord([0u8; EVENT_SIZE]);
        self.read(&mut ev.0, &what)?;
        let book = if ev.kind() == event_kind::BOOK {
            let mut b = BookRecord([0u8; BOOK_SIZE]);
            self.read(&mut b.0, &what)?;
            Some(b)
        } else {
            None
        };
        let actions = self.actions(&what)?;
        self.events += 1;
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&head[i..i + 8]);
            u64::from_le_bytes(w)
        };
        Ok(Some(TracedEvent { seq: word(0), fuel: word(8), event: ev, book, actions }))
    }

    fn actions(&mut self, what: &str) -> io::Result<Vec<ActionRecord>> {
        let mut n = [0u8; 2];
        self.read(&mut n, what)?;
        let n = usize::from(u16::from_le_bytes(n));
        let mut actions = Vec::with_capacity(n);
        for _ in 0..n {
            let mut a = ActionRecord([0u8; ACTION_SIZE]);
            self.read(&mut a.0, what)?;
            actions.push(a);
        }
        Ok(actions)
    }

    fn read(&mut self, buf: &mut [u8], what: &str) -> io::Result<()> {
        match self.input.read_exact(buf) {
            Ok(()) => {
                self.at += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(self.cut_short(what)),
            Err(e) => Err(e),
        }
    }

    fn cut_short(&self, what: &str) -> io::Error {
        invalid(format!(
            "the trace is cut short in {what} (after byte {}); the run that wrote it did not \
             finish, so record it again",
            self.at
        ))
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Where two traces first differ: the event index and what each run recorded there (`None`
/// where one trace had already ended).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Whether the runs already differ in `init`: `a` and `b` then hold the `init` calls
    /// (sequence number 0, an empty event record) and `index` is 0.
    pub in_init: bool,
    /// Position of the event in the traces (0-based).
    pub index: u64,
    /// The first run's record.
    pub a: Option<TracedEvent>,
    /// The second run's record.
    pub b: Option<TracedEvent>,
}

/// Finds the first call (`init`, then each event) at which two traces differ, or `None` if
/// they are identical; fuel is compared only `with_fuel` (not for a native build's trace,
/// which has no fuel).
///
/// # Errors
/// I/O errors reading either trace, or one that is not a trace.
pub fn first_divergence(a: &Path, b: &Path, with_fuel: bool) -> io::Result<Option<Divergence>> {
    let (mut ra, mut rb) = (TraceReader::open(a)?, TraceReader::open(b)?);
    if ra.init_actions != rb.init_actions || (with_fuel && ra.init_fuel != rb.init_fuel) {
        let init = |r: &TraceReader| TracedEvent {
            seq: 0,
            fuel: r.init_fuel,
            event: EventRecord::zeroed(),
            book: None,
            actions: r.init_actions.clone(),
        };
        return Ok(Some(Divergence {
            in_init: true,
            index: 0,
            a: Some(init(&ra)),
            b: Some(init(&rb)),
        }));
    }
    let mut index = 0u64;
    loop {
        let (ea, eb) = (ra.next_event()?, rb.next_event()?);
        match (&ea, &eb) {
            (None, None) => return Ok(None),
            (Some(x), Some(y))
                if x.seq == y.seq
                    && x.event == y.event
                    && x.book == y.book
                    && x.actions == y.actions
                    && (!with_fuel || x.fuel == y.fuel) =>
            {
                index += 1
            }
            _ => return Ok(Some(Divergence { in_init: false, index, a: ea, b: eb })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{Action, Event, EventBody, EventHeader, Nanos, Quote};

    fn act(id: u64) -> ActionRecord {
        Action::Cancel { instrument: 0, order_id: id }.encode()
    }

    #[test]
    fn finds_the_first_difference() {
        let dir = std::env::temp_dir().join(format!("lockstep-trace-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (pa, pb, pc) = (dir.join("a.trace"), dir.join("b.trace"), dir.join("c.trace"));
        for (p, diff, init) in [(&pa, 1u64, 7u64), (&pb, 2, 7), (&pc, 1, 8)] {
            let mut w: Box<dyn Observer> = Box::new(FileTrace::create(p).unwrap());
            w.init(5, &[act(init)]);
            for seq in 0..100u64 {
                let acts = if seq == 57 { vec![act(diff)] } else { vec![act(seq)] };
                w.event(seq, 10 + seq, &EventRecord::zeroed(), None, &acts);
            }
            w.finish().unwrap();
        }
        let d = first_divergence(&pa, &pb, true).unwrap().unwrap();
        assert!(!d.in_init);
        assert_eq!(d.index, 57);
        assert_eq!(d.a.unwrap().actions, vec![act(1)]);
        assert_eq!(d.b.unwrap().actions, vec![act(2)]);
        assert_eq!(first_divergence(&pa, &pa, true).unwrap(), None);
        let d = first_divergence(&pa, &pc, false).unwrap().unwrap();
        assert!(d.in_init);
        assert_eq!(d.b.unwrap().actions, vec![act(8)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn book_events_carry_their_book_and_a_cut_trace_says_where() {
        let h = EventHeader { seq: 3, instrument: 1, exchange_ts: Nanos(1), local_ts: Nanos(2) };
        let book_ev = Event { h, body: EventBody::Book(Quote::default()) }.encode();
        let quote_ev = Event { h, body: EventBody::Quote(Quote::default()) }.encode();
        let mut book = BookRecord::default();
        book.0[100] = 42;
        let mut w = TraceWriter::new(Vec::new(), 9, &[]).unwrap();
        w.event(3, 1, &book_ev, Some(&book), &[act(1)]);
        w.event(4, 2, &quote_ev, None, &[]);
        let bytes = w.into_inner().unwrap();
        assert_eq!(bytes.len(), 8 + 8 + 2 + (16 + 64 + BOOK_SIZE + 2 + 64) + (16 + 64 + 2));
        let mut r = TraceReader::new(&bytes[..]).unwrap();
        assert_eq!((r.init_fuel(), r.init_actions().len()), (9, 0));
        let a = r.next_event().unwrap().unwrap();
        assert_eq!((a.seq, a.fuel, a.book, a.actions), (3, 1, Some(book), vec![act(1)]));
        let b = r.next_event().unwrap().unwrap();
        assert_eq!((b.seq, b.book, b.actions.len()), (4, None, 0));
        assert_eq!(r.next_event().unwrap(), None);
        for cut in [bytes.len() - 1, bytes.len() - 70, 40] {
            let mut r = TraceReader::new(&bytes[..cut]).unwrap();
            let e = loop {
                match r.next_event() {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("a trace cut at {cut} read as complete"),
                    Err(e) => break e,
                }
            };
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            assert!(e.to_string().contains("cut short in event"), "{e}");
        }
        let e = TraceReader::new(&b"LSTRACE1\0\0"[..]).err().unwrap();
        assert!(e.to_string().contains("not a trace"), "{e}");
    }
}
