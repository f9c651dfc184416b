//! The workload of `compare`: one deterministic event tape, the same bytes for every
//! implementation.
//!
//! A seeded generator (our own xorshift, no clock, no OS randomness) produces a synthetic market:
//! instrument 0 random-walks around 100.00 on a 0.01 tick with quotes, trades and 10-level book
//! updates, and instrument 1 is a call option on it (strike 100, 30 days) whose quotes follow
//! Black–Scholes prices at a wandering volatility. A simulated venue answers the strategy's
//! orders (acks, fills against market trades, cancels, rejects), closed-loop, while a reference
//! run of the native strategy records the tape; every implementation then replays that fixed
//! tape open-loop. Because the strategies are deterministic, the recorded venue answers are the
//! ones each of them would have caused, and the reference outputs are what each must produce.

use lockstep_engine::StrategyRunner;
use lockstep_sdk::{
    Action, ActionRecord, BOOK_SIZE, BookRecord, Canceled, EVENT_SIZE, Event, EventBody,
    EventHeader, EventRecord, Fill, Level, Nanos, OrderAck, OrderId, Price, Qty, Quote, Reject,
    Side, SplitMix64, Trade, event_kind, reject_reason,
};
use std::collections::BTreeMap;

/// First local timestamp of a tape: 2024-01-02 14:30:00 UTC in ns (only ever data).
const T0: i64 = 1_704_205_800_000_000_000;
/// One price tick (0.01) as a mantissa.
const TICK: i64 = 1_000_000;
/// Venue round trip for acks, replaces, cancels and rejects.
const VENUE_LATENCY_NS: i64 = 30_000;
/// Delay of a fill after the trade that caused it.
const FILL_LATENCY_NS: i64 = 1_000;
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

    /// The tape as the JVM reads it: `LSTAPE01`, u64 event count, then per event its 64-byte
    /// record followed, for book events, by the 328-byte book record; all little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(16 + self.events.len() * EVENT_SIZE + self.books.len() * BOOK_SIZE);
        out.extend_from_slice(b"LSTAPE01");
        out.extend_from_slice(&(self.events.len() as u64).to_le_bytes());
        for i in 0..self.events.len() {
            let (ev, book) = self.get(i);
            out.extend_from_slice(&ev.0);
            if let Some(b) = book {
                out.extend_from_slice(&b.0);
            }
        }
        out
    }

    /// Reads [`Tape::encode`] output back.
    ///
    /// # Errors
    /// [`FormatError`] with the byte offset where the data stops making sense.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() < 16 || &bytes[..8] != b"LSTAPE01" {
            return Err(FormatError::at(0, "not a latency-lab tape (missing LSTAPE01 header)"));
        }
        let n = u64::from_le_bytes(
            bytes[8..16].try_into().map_err(|_| FormatError::at(8, "short header"))?,
        );
        let mut t = Tape::default();
        let mut at = 16usize;
        for i in 0..n {
            let rec = bytes
                .get(at..at + EVENT_SIZE)
                .ok_or_else(|| FormatError::at(at, format!("event {i} of {n} is cut short")))?;
            let ev = EventRecord(rec.try_into().map_err(|_| FormatError::at(at, "bad record"))?);
            at += EVENT_SIZE;
            let mut book = NO_BOOK;
            if ev.kind() == event_kind::BOOK {
                let b = bytes.get(at..at + BOOK_SIZE).ok_or_else(|| {
                    FormatError::at(at, format!("book of event {i} is cut short"))
                })?;
                book = t.books.len() as u32;
                t.books
                    .push(BookRecord(b.try_into().map_err(|_| FormatError::at(at, "bad book"))?));
                at += BOOK_SIZE;
            }
            t.events.push(TapeEvent { ev, book });
        }
        if at != bytes.len() {
            return Err(FormatError::at(
                at,
                format!("{} trailing bytes after {n} events", bytes.len() - at),
            ));
        }
        Ok(t)
    }
}

/// The reference (native) run failed while recording a tape.
#[derive(Debug)]
pub struct ReferenceFailed {
    /// Index of the event on the tape.
    pub event: usize,
    /// Its sequence number.
    pub seq: u64,
    /// The strategy's error.
    pub error: lockstep_engine::RunError,
}

impl std::fmt::Display for ReferenceFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "reference (native) run failed at event {} (seq {}): {}",
            self.event, self.seq, self.error
        )
    }
}

impl std::error::Error for ReferenceFailed {}

/// Bytes that are not a latency-lab tape or outputs file: where and what.
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

/// Black–Scholes call value for the option quotes (generator only; f64 `std` maths is fine
/// here because the result is rounded to ticks and becomes data).
fn bs_call(s: f64, k: f64, t: f64, r: f64, sigma: f64) -> f64 {
    fn ncdf(x: f64) -> f64 {
        // Abramowitz & Stegun 26.2.17, |error| < 7.5e-8: plenty for a synthetic quote.
        let t = 1.0 / (1.0 + 0.231_641_9 * x.abs());
        let poly = t
            * (0.319_381_530
                + t * (-0.356_563_782
                    + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
        let tail = libm::exp(-x * x / 2.0) / (2.0 * std::f64::consts::PI).sqrt() * poly;
        if x >= 0.0 { 1.0 - tail } else { tail }
    }
    let vt = sigma * t.sqrt();
    let d1 = (libm::log(s / k) + (r + sigma * sigma / 2.0) * t) / vt;
    s * ncdf(d1) - k * libm::exp(-r * t) * ncdf(d1 - vt)
}

/// A resting order at the simulated venue.
#[derive(Clone, Copy, Debug)]
struct Resting {
    id: OrderId,
    instrument: u16,
    side: Side,
    px: i64,
    leaves: i64,
}

/// The closed-loop generator.
struct Gen {
    rng: SplitMix64,
    now: i64,
    seq: u64,
    mid: i64,
    vol: f64,
    resting: Vec<Resting>,
    /// Venue answers waiting for their time: key (time, order of creation).
    pending: BTreeMap<(i64, u64), (u16, EventBody)>,
    pending_n: u64,
}

impl Gen {
    fn best(&self) -> (i64, i64) {
        (self.mid - TICK, self.mid + TICK)
    }

    fn schedule(&mut self, at: i64, instrument: u16, body: EventBody) {
        self.pending_n += 1;
        self.pending.insert((at, self.pending_n), (instrument, body));
    }

    /// The next market event (and its book, for book events).
    fn market(&mut self, book: &mut BookRecord) -> (u16, EventBody, bool) {
        // Random walk: a tick up or down on a quarter of the events.
        match self.rng.below(8) {
            0 => self.mid += TICK,
            1 => self.mid -= TICK,
            _ => {}
        }
        self.mid = self.mid.clamp(50 * 100_000_000, 150 * 100_000_000);
        let (bid, ask) = self.best();
        let lvl = |px: i64, q: u64| Level { px: Price(px), qty: Qty::from_units(q as i64 + 1) };
        match self.rng.below(20) {
            0..=10 => {
                let (bq, aq) = (self.rng.below(20), self.rng.below(20));
                (0, EventBody::Quote(Quote { bid: lvl(bid, bq), ask: lvl(ask, aq) }), false)
            }
            11..=13 => {
                let buy = self.rng.below(2) == 0;
                // Most trades print at the touch; one in four sweeps 2-6 levels deep.
                let depth = if self.rng.below(4) == 0 { 1 + self.rng.below(5) as i64 } else { 0 };
                let px = if buy { ask + depth * TICK } else { bid - depth * TICK };
                let qty = self.rng.below(5) as i64 + 1 + depth * 3;
                let t = Trade {
                    px: Price(px),
                    qty: Qty::from_units(qty),
                    aggressor: Some(if buy { Side::Buy } else { Side::Sell }),
                };
                (0, EventBody::Trade(t), false)
            }
            14..=16 => {
                let mut bids = [Level::default(); lockstep_sdk::BOOK_LEVELS];
                let mut asks = [Level::default(); lockstep_sdk::BOOK_LEVELS];
                for i in 0..lockstep_sdk::BOOK_LEVELS {
                    bids[i] = lvl(bid - i as i64 * TICK, self.rng.below(50));
                    asks[i] = lvl(ask + i as i64 * TICK, self.rng.below(50));
                }
                book.write(0, &bids, &asks);
                (0, EventBody::Book(Quote { bid: bids[0], ask: asks[0] }), true)
            }
            _ => {
                // The option: 30 days to expiry at T0, volatility wandering around 20%.
                self.vol = (self.vol + (self.rng.unit() - 0.5) * 0.002).clamp(0.12, 0.35);
                let t = ((T0 + 30 * 86_400_000_000_000 - self.now) as f64 / 3.1536e16).max(1e-6);
                let v = bs_call(self.mid as f64 / 1e8, 100.0, t, 0.05, self.vol);
                let mid_ticks = ((v * 100.0).round() as i64).max(2);
                let q = Quote {
                    bid: lvl((mid_ticks - 1) * TICK, self.rng.below(10)),
                    ask: lvl((mid_ticks + 1) * TICK, self.rng.below(10)),
                };
                (1, EventBody::Quote(q), false)
            }
        }
    }

    /// Fills resting orders that a market trade at `px` by `aggressor` reaches.
    fn trade_fills(&mut self, px: i64, mut qty: i64, aggressor: Side) {
        let now = self.now;
        let mut fills = Vec::new();
        for r in &mut self.resting {
            if qty <= 0 {
                break;
            }
            let reached = match (aggressor, r.side) {
                (Side::Sell, Side::Buy) => r.px >= px,
                (Side::Buy, Side::Sell) => r.px <= px,
                _ => false,
            };
            if reached && r.instrument == 0 {
                let q = r.leaves.min(qty);
                qty -= q;
                r.leaves -= q;
                fills.push(Fill {
                    order_id: r.id,
                    side: r.side,
                    px: Price(r.px),
                    qty: Qty(q),
                    leaves: Qty(r.leaves),
                });
            }
        }
        self.resting.retain(|r| r.leaves > 0);
        for f in fills {
            self.schedule(now + FILL_LATENCY_NS, 0, EventBody::Fill(f));
        }
    }

    /// The venue's answer to one action.
    fn on_action(&mut self, a: Action) {
        let at = self.now + VENUE_LATENCY_NS;
        let reject = |order_id, reason| EventBody::Reject(Reject { order_id, reason });
        match a {
            Action::PlaceLimit { instrument, order_id, side, px, qty } => {
                if px.0 <= 0 || qty.0 <= 0 || px.0 % TICK != 0 {
                    self.schedule(at, instrument, reject(order_id, reject_reason::INVALID));
                } else if self.resting.iter().any(|r| r.id == order_id) {
                    self.schedule(at, instrument, reject(order_id, reject_reason::DUPLICATE_ID));
                } else {
                    self.resting.push(Resting {
                        id: order_id,
                        instrument,
                        side,
                        px: px.0,
                        leaves: qty.0,
                    });
                    let ack = OrderAck { order_id, side, px, qty };
                    self.schedule(at, instrument, EventBody::OrderAck(ack));
                }
            }
            Action::PlaceMarket { instrument, order_id, side, qty } => {
                let (bid, ask) = self.best();
                let px = Price(if side == Side::Buy { ask } else { bid });
                let f = Fill { order_id, side, px, qty, leaves: Qty::ZERO };
                self.schedule(at, instrument, EventBody::Fill(f));
            }
            Action::Replace { instrument, order_id, px, qty } => {
                match self.resting.iter_mut().find(|r| r.id == order_id) {
                    Some(r) if px.0 > 0 && qty.0 > 0 => {
                        r.px = px.0;
                        r.leaves = qty.0;
                        let ack = OrderAck { order_id, side: r.side, px, qty };
                        self.schedule(at, instrument, EventBody::OrderAck(ack));
                    }
                    Some(_) => {
                        self.schedule(at, instrument, reject(order_id, reject_reason::INVALID))
                    }
                    None => self.schedule(
                        at,
                        instrument,
                        reject(order_id, reject_reason::UNKNOWN_ORDER),
                    ),
                }
            }
            Action::Cancel { instrument, order_id } => {
                match self.resting.iter().position(|r| r.id == order_id) {
                    Some(i) => {
                        let r = self.resting.remove(i);
                        let c = Canceled { order_id, qty: Qty(r.leaves) };
                        self.schedule(at, instrument, EventBody::Canceled(c));
                    }
                    None => self.schedule(
                        at,
                        instrument,
                        reject(order_id, reject_reason::UNKNOWN_ORDER),
                    ),
                }
            }
            Action::SetTimer { timer_id, at: when } => {
                self.schedule(when.0.max(self.now + 1), 0, EventBody::Timer(timer_id));
            }
            Action::Signal { .. } => {}
        }
    }
}

/// Records a tape of `n` events for `reference` (a freshly initialised native runner) and
/// returns it with the reference outputs.
///
/// # Errors
/// The strategy's error, with the event index, when the reference run fails.
pub fn record(
    n: usize,
    seed: u64,
    reference: &mut dyn StrategyRunner,
) -> Result<(Tape, Outputs), ReferenceFailed> {
    let mut g = Gen {
        rng: SplitMix64::new(seed),
        now: T0,
        seq: 0,
        mid: 100 * 100_000_000,
        vol: 0.2,
        resting: Vec::new(),
        pending: BTreeMap::new(),
        pending_n: 0,
    };
    let mut tape = Tape { events: Vec::with_capacity(n), books: Vec::new() };
    let mut outputs = Outputs::with_capacity(n + 1, n * 2);
    outputs.push(reference.actions());
    let mut next_market = T0;
    let mut scratch = BookRecord::default();
    let mut acts: Vec<Action> = Vec::with_capacity(64);
    while tape.events.len() < n {
        // The next event is the earliest of the venue's pending answers and the next market event.
        let venue_first = g.pending.first_key_value().is_some_and(|(&(t, _), _)| t <= next_market);
        let (instrument, body, has_book) = if venue_first {
            let Some(((t, _), (instrument, body))) = g.pending.pop_first() else { break };
            g.now = t;
            (instrument, body, false)
        } else {
            g.now = next_market;
            next_market += 20_000 + g.rng.below(180_000) as i64;
            g.market(&mut scratch)
        };
        g.seq += 1;
        let latency = 5_000 + g.rng.below(45_000) as i64;
        let h = EventHeader {
            seq: g.seq,
            instrument,
            exchange_ts: Nanos(g.now - latency),
            local_ts: Nanos(g.now),
        };
        let ev = Event { h, body }.encode();
        let book = if has_book {
            tape.books.push(scratch);
            (tape.books.len() - 1) as u32
        } else {
            NO_BOOK
        };
        tape.events.push(TapeEvent { ev, book });
        let out = reference
            .on_event(&ev, has_book.then_some(&scratch))
            .map_err(|error| ReferenceFailed { event: tape.events.len() - 1, seq: g.seq, error })?
            .actions;
        outputs.push(out);
        acts.clear();
        acts.extend(out.iter().filter_map(|r| r.decode().ok()));
        if let EventBody::Trade(t) = body
            && let Some(side) = t.aggressor
        {
            g.trade_fills(t.px.0, t.qty.0, side);
        }
        for &a in &acts {
            g.on_action(a);
        }
    }
    Ok((tape, outputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_scholes_call_is_textbook() {
        let v = bs_call(100.0, 100.0, 1.0, 0.05, 0.2);
        assert!((v - 10.4506).abs() < 1e-3, "{v}");
    }

    #[test]
    fn tape_encoding_round_trips_for_the_jvm() {
        let mut r = lockstep_strategies::native(
            "avellaneda-stoikov",
            lockstep_strategies::get("avellaneda-stoikov").unwrap().default_params,
        )
        .unwrap();
        let (tape, out) = record(3000, 1, r.as_mut()).unwrap();
        assert_eq!(tape.len(), 3000);
        let mix = tape.mix();
        for k in ["quote", "trade", "book", "order_ack", "fill"] {
            assert!(mix.get(k).copied().unwrap_or(0) > 0, "{k} missing from {mix:?}");
        }
        let bytes = tape.encode();
        assert_eq!(&bytes[..8], b"LSTAPE01");
        let back = Tape::decode(&bytes).unwrap();
        assert_eq!(back.len(), tape.len());
        for i in 0..tape.len() {
            let (a, ab) = tape.get(i);
            let (b, bb) = back.get(i);
            assert_eq!(a, b);
            assert_eq!(ab, bb);
        }
        assert!(Tape::decode(&bytes[..bytes.len() - 1]).unwrap_err().what.contains("cut short"));
        // Same seed, same tape and outputs.
        let mut r2 = lockstep_strategies::native(
            "avellaneda-stoikov",
            lockstep_strategies::get("avellaneda-stoikov").unwrap().default_params,
        )
        .unwrap();
        let (tape2, out2) = record(3000, 1, r2.as_mut()).unwrap();
        assert_eq!(tape2.encode(), bytes);
        assert_eq!(out2, out);
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
