//! The workload of `compare`: one recorded stream of events, the same bytes for every
//! implementation.
//!
//! The strategy's native build runs closed-loop in a replay [`Session`] over replay's synthetic
//! market ([`Synth`]: an L3 order flow on two correlated instruments) and its simulated
//! exchange (acks, fills with latency and queue position, cancels, rejects), with a trace:
//! every event delivered, its book record and the actions returned. Every implementation then
//! replays that fixed stream open-loop. Because the strategies are deterministic, the recorded
//! venue answers are the ones each of them would have caused, and the reference's actions are
//! what each must produce. The JVM reads the same trace format ([`TraceWriter`]).

use lockstep_host::HostSession;
use lockstep_host::{SessionError, StrategySpec, TraceReader, TraceWriter, trace_path};
use lockstep_sdk::{ActionRecord, BookRecord, EventRecord, event_kind};
use lockstep_sim::{EventSource, ReplayError, Session, SessionConfig, Synth, SynthConfig};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Marker for "no book record".
const NO_BOOK: u32 = u32::MAX;

/// One event of the tape and the book record it carries (book events only).
#[derive(Clone, Copy, Debug)]
pub struct TapeEvent {
    /// The 64-byte event record.
    pub ev: EventRecord,
    book: u32,
}

/// The recorded tape.
#[derive(Clone, Debug, Default)]
pub struct Tape {
    events: Vec<TapeEvent>,
    books: Vec<BookRecord>,
}

impl Tape {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }
    /// No events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
    /// Event `i` and its book record, if it is a book event.
    #[inline]
    pub fn get(&self, i: usize) -> (&EventRecord, Option<&BookRecord>) {
        let e = &self.events[i];
        let book = (e.book != NO_BOOK).then(|| &self.books[e.book as usize]);
        (&e.ev, book)
    }
    /// Counts of events by kind name, for the report.
    pub fn mix(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for e in &self.events {
            *m.entry(kind_name(e.ev.kind())).or_insert(0) += 1;
        }
        m
    }

    /// Appends one event (and its book record, for a book event).
    fn push(&mut self, ev: EventRecord, book: Option<BookRecord>) {
        let book = match book {
            Some(b) if ev.kind() == event_kind::BOOK => {
                self.books.push(b);
                (self.books.len() - 1) as u32
            }
            _ => NO_BOOK,
        };
        self.events.push(TapeEvent { ev, book });
    }

    /// Reads the first `limit` events of a trace and the actions the traced run returned for
    /// `init` and for each of them.
    ///
    /// # Errors
    /// The reader's error: not a trace, or cut short (naming the event and offset).
    pub fn from_trace(
        mut trace: TraceReader<impl io::Read>,
        limit: usize,
    ) -> io::Result<(Self, Outputs)> {
        let mut tape = Tape::default();
        // `limit` may be "all of it" (`usize::MAX`): preallocate for at most a million events.
        let hint = limit.min(1 << 20);
        let mut outputs = Outputs::with_capacity(hint + 1, hint * 2);
        outputs.push(trace.init_actions());
        while tape.len() < limit {
            let Some(e) = trace.next_event()? else { break };
            tape.push(e.event, e.book);
            outputs.push(&e.actions);
        }
        Ok((tape, outputs))
    }

    /// The tape and the reference's actions as a trace, the format the JVM reads.
    ///
    /// # Errors
    /// `reference` does not have one entry for `init` plus one per event.
    pub fn to_trace(&self, reference: &Outputs) -> io::Result<Vec<u8>> {
        if reference.counts.len() != self.len() + 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} entries of reference output for init plus {} events",
                    reference.counts.len(),
                    self.len()
                ),
            ));
        }
        let mut calls = reference.per_event();
        let mut w = TraceWriter::new(Vec::new(), 0, calls.next().unwrap_or(&[]))?;
        for (i, actions) in calls.enumerate() {
            let (ev, book) = self.get(i);
            w.event(ev.seq(), 0, ev, book, actions);
        }
        w.into_inner()
    }
}

/// Recording the reference run failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecordError {
    /// The strategy could not be started.
    Session(SessionError),
    /// The native build failed on an event (the session halted it).
    Halted {
        /// The event's sequence number.
        seq: u64,
        /// The strategy's error.
        message: String,
    },
    /// The market could not be generated.
    Market(ReplayError),
    /// The trace could not be written or read back.
    Trace {
        /// The trace file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Session(e) => write!(f, "the reference (native) run could not start: {e}"),
            Self::Halted { seq, message } => {
                write!(f, "the reference (native) run failed at seq {seq}: {message}")
            }
            Self::Market(e) => write!(f, "the synthetic market failed: {e}"),
            Self::Trace { path, message } => write!(
                f,
                "recording the tape in {}: {message}; check that the temporary directory is \
                 writable and has space",
                path.display()
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// Records a tape of `n` events: `strategy`'s native build with `params`, closed-loop against
/// replay's simulated exchange over the synthetic market seeded with `seed`, traced in `dir`
/// (a file `0-<strategy>.trace` that is removed again). Returns the tape and the reference's
/// outputs.
///
/// # Errors
/// [`RecordError`]: the strategy did not start or failed, or the trace could not be written.
pub fn record(
    strategy: &str,
    params: &str,
    n: usize,
    seed: u64,
    dir: &Path,
) -> Result<(Tape, Outputs), RecordError> {
    let spec = StrategySpec::resolve(strategy, Some(params), true).map_err(RecordError::Session)?;
    let trace_err =
        |path: &Path, message: String| RecordError::Trace { path: path.into(), message };
    std::fs::create_dir_all(dir).map_err(|e| trace_err(dir, e.to_string()))?;
    let path = trace_path(dir, 0, &spec.name);
    // Market events do not map one to one onto delivered events (a change deep in the book is
    // not one); grow the market until it yields `n`.
    let mut market_events = n as u64 + 1000;
    loop {
        let cfg = SessionConfig { measure_latency: false, ..SessionConfig::default() };
        let mut market = Synth::new(SynthConfig { events: market_events, seed });
        let one = std::slice::from_ref(&spec);
        let session = Session::load_traced(market.header(), one, cfg, Some(dir))
            .map_err(RecordError::Session)?;
        let out = session.run(&mut market, &mut |_| {}).map_err(RecordError::Market)?;
        let report = &out.report.strategies[0];
        let read = std::fs::File::open(&path).map_err(|e| e.to_string()).and_then(|f| {
            let r = TraceReader::new(io::BufReader::new(f)).map_err(|e| e.to_string())?;
            Tape::from_trace(r, n).map_err(|e| e.to_string())
        });
        let _ = std::fs::remove_file(&path);
        if let Some(e) = &out.report.trace_error {
            return Err(trace_err(&path, e.clone()));
        }
        let (tape, outputs) = read.map_err(|m| trace_err(&path, m))?;
        if let Some((seq, message)) = &report.halted
            && tape.len() < n
        {
            return Err(RecordError::Halted { seq: *seq, message: message.clone() });
        }
        if tape.len() >= n {
            return Ok((tape, outputs));
        }
        market_events = market_events.saturating_mul(2);
    }
}

/// Name of an event kind for reports.
pub(crate) fn kind_name(k: u16) -> &'static str {
    match k {
        event_kind::QUOTE => "quote",
        event_kind::TRADE => "trade",
        event_kind::BOOK => "book",
        event_kind::ORDER_ACK => "order_ack",
        event_kind::FILL => "fill",
        event_kind::REJECT => "reject",
        event_kind::CANCELED => "canceled",
        event_kind::TIMER => "timer",
        _ => "unknown",
    }
}

/// The actions of init and of every event, in order: per call a `u16` count then the 64-byte
/// records, the same layout the JVM writes, so outputs compare byte for byte. Entry 0 holds the
/// actions emitted by init, entry `i + 1` those of tape event `i`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    /// Per event, the number of actions.
    pub counts: Vec<u16>,
    /// All action records back to back.
    pub records: Vec<ActionRecord>,
}

impl Outputs {
    /// Preallocates for `events` events and `records` actions.
    pub fn with_capacity(events: usize, records: usize) -> Self {
        Self { counts: Vec::with_capacity(events), records: Vec::with_capacity(records) }
    }
    /// Like [`Outputs::with_capacity`], with every page written once now so that filling the
    /// buffers later never page-faults.
    pub fn pretouched(events: usize, records: usize) -> Self {
        let mut o = Self::with_capacity(events, records);
        o.counts.resize(events, 0);
        o.records.resize(records, ActionRecord::zeroed());
        o.counts.clear();
        o.records.clear();
        o
    }
    /// Appends one event's actions (no allocation while within capacity).
    #[inline]
    pub fn push(&mut self, acts: &[ActionRecord]) {
        self.counts.push(acts.len() as u16);
        self.records.extend_from_slice(acts);
    }
    /// Decodes the JVM's output file (see [`Outputs`]) for a tape of `events` events.
    ///
    /// # Errors
    /// [`FormatError`] with the byte offset where the data is cut short.
    pub fn decode(bytes: &[u8], events: usize) -> Result<Self, FormatError> {
        let mut o = Self::with_capacity(events, bytes.len() / 64);
        let mut at = 0usize;
        while at < bytes.len() {
            let c = bytes.get(at..at + 2).ok_or_else(|| FormatError::at(at, "count cut short"))?;
            let c = u16::from_le_bytes([c[0], c[1]]);
            at += 2;
            o.counts.push(c);
            for _ in 0..c {
                let r = bytes
                    .get(at..at + 64)
                    .ok_or_else(|| FormatError::at(at, "action cut short"))?;
                let mut rec = ActionRecord::zeroed();
                rec.0.copy_from_slice(r);
                o.records.push(rec);
                at += 64;
            }
        }
        if o.counts.len() != events + 1 {
            return Err(FormatError::at(
                at,
                format!(
                    "{} entries of output for init plus {events} events of input",
                    o.counts.len()
                ),
            ));
        }
        Ok(o)
    }
    /// Per-event slices.
    pub fn per_event(&self) -> impl Iterator<Item = &[ActionRecord]> + '_ {
        let mut at = 0usize;
        self.counts.iter().map(move |&c| {
            let s = &self.records[at..at + usize::from(c)];
            at += usize::from(c);
            s
        })
    }
}

/// Where two outputs first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Number of events whose actions differ.
    pub events: usize,
    /// First difference: where (`init` or `event i (seq s)`), the reference's and this run's
    /// actions.
    pub first: Option<(String, Vec<String>, Vec<String>)>,
}

/// Compares `got` with the reference, event by event.
pub fn compare_outputs(tape: &Tape, reference: &Outputs, got: &Outputs) -> Mismatch {
    let mut events = 0;
    let mut first = None;
    let show = |a: &[ActionRecord]| a.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>();
    let n = reference.counts.len().max(got.counts.len());
    let mut r_it = reference.per_event();
    let mut g_it = got.per_event();
    for i in 0..n {
        let (r, g) = (r_it.next(), g_it.next());
        if r != g {
            events += 1;
            if first.is_none() {
                let at = match i {
                    0 => "init".to_owned(),
                    i if i <= tape.len() => {
                        format!("event {} (seq {})", i - 1, tape.get(i - 1).0.seq())
                    }
                    i => format!("entry {i} beyond the tape"),
                };
                first = Some((at, show(r.unwrap_or(&[])), show(g.unwrap_or(&[]))));
            }
        }
    }
    Mismatch { events, first }
}

/// Bytes that are not a JVM outputs file: where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// Byte offset where the data stops making sense.
    pub offset: usize,
    /// What is wrong there.
    pub what: String,
}

impl FormatError {
    fn at(offset: usize, what: impl Into<String>) -> Self {
        Self { offset, what: what.into() }
    }
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "offset {}: {}", self.offset, self.what)
    }
}

impl std::error::Error for FormatError {}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::Action;

    #[test]
    fn a_recorded_tape_is_a_replay_run_and_round_trips_as_a_trace() {
        let dir =
            std::env::temp_dir().join(format!("latency-lab-tape-test-{}", std::process::id()));
        let params = lockstep_strategies::get("avellaneda-stoikov").unwrap().default_params;
        let (tape, out) = record("avellaneda-stoikov", params, 3000, 1, &dir).unwrap();
        assert_eq!(tape.len(), 3000);
        assert_eq!(out.counts.len(), 3001);
        let mix = tape.mix();
        for k in ["trade", "book", "order_ack"] {
            assert!(mix.get(k).copied().unwrap_or(0) > 0, "{k} missing from {mix:?}");
        }
        assert!(out.records.len() > 100, "the market maker quotes: {}", out.records.len());
        // Sequence numbers run 0.. as the session delivered them.
        assert!((0..tape.len()).all(|i| tape.get(i).0.seq() == i as u64));
        let bytes = tape.to_trace(&out).unwrap();
        assert_eq!(&bytes[..8], b"LSTRACE2");
        let (back, back_out) =
            Tape::from_trace(TraceReader::new(&bytes[..]).unwrap(), usize::MAX).unwrap();
        assert_eq!(back.len(), tape.len());
        assert_eq!(back_out, out);
        for i in 0..tape.len() {
            assert_eq!(tape.get(i), back.get(i));
        }
        assert!(tape.to_trace(&Outputs::default()).is_err());
        // Same seed, same tape and outputs; another seed, another market.
        let (tape2, out2) = record("avellaneda-stoikov", params, 3000, 1, &dir).unwrap();
        assert_eq!(tape2.to_trace(&out2).unwrap(), bytes);
        let (tape3, _) = record("avellaneda-stoikov", params, 3000, 2, &dir).unwrap();
        assert!((0..tape.len()).any(|i| tape.get(i).0 != tape3.get(i).0));
        let e = record("avellaneda-stoikov", "gamma=0", 10, 1, &dir).unwrap_err();
        assert!(matches!(e, RecordError::Session(_)), "{e}");
        assert!(e.to_string().contains("gamma"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outputs_encode_like_the_jvm_and_compare() {
        let a = Action::Cancel { instrument: 0, order_id: 3 }.encode();
        let mut o = Outputs::default();
        o.push(&[]);
        o.push(&[a]);
        o.push(&[]);
        let mut bytes = vec![0, 0, 1, 0];
        bytes.extend_from_slice(&a.0);
        bytes.extend_from_slice(&[0, 0]);
        assert_eq!(Outputs::decode(&bytes, 2).unwrap(), o);
        assert!(Outputs::decode(&bytes, 3).is_err());
        assert!(Outputs::decode(&bytes[..20], 2).unwrap_err().what.contains("cut short"));
        let mut tape = Tape::default();
        for _ in 0..2 {
            tape.events.push(TapeEvent { ev: EventRecord::zeroed(), book: NO_BOOK });
        }
        let mut other = Outputs::default();
        for _ in 0..3 {
            other.push(&[]);
        }
        let m = compare_outputs(&tape, &o, &other);
        assert_eq!(m.events, 1);
        assert_eq!(m.first.as_ref().map(|f| f.0.as_str()), Some("event 0 (seq 0)"));
        assert_eq!(compare_outputs(&tape, &o, &o).events, 0);
    }
}
