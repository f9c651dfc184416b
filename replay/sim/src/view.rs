//! What strategies see of the market: every instrument's book, and the SDK events a tape event
//! yields (trades and quotes as the book reports them, then one book event per instrument whose
//! top changed, at the end of a batch). The replay session and the live gateway both feed their
//! strategies from a [`MarketView`], so a strategy gets the same events from the same market
//! messages in a backtest and live.

use crate::book::{Applied, Book, LevelOverflow};
use crate::market::TapeEvent;
use lockstep_sdk::{BookRecord, Event, EventBody, EventHeader, EventRecord, InstrumentId};

/// Events a batch queues before it is delivered early (a batch longer than this is split). A
/// constant, not the queue's capacity: what strategies see must not depend on an allocation
/// (a restored checkpoint's queue, or one grown by a wide batch).
const BATCH_EMITS: usize = 64;

/// One SDK event for the strategies, with the instrument whose book record goes with it.
#[derive(Clone, Copy, Debug)]
pub struct Emit {
    /// The event (its sequence number is set per strategy on delivery).
    pub rec: EventRecord,
    /// For a book event, the instrument whose [`MarketView::record`] to hand over with it.
    pub book: Option<InstrumentId>,
}

/// Books of every instrument of a tape and the events a batch of tape events yields.
#[derive(Debug)]
pub struct MarketView {
    pub(crate) books: Vec<Book>,
    records: Vec<BookRecord>,
    dirty: Vec<InstrumentId>,
    is_dirty: Vec<bool>,
    emits: Vec<Emit>,
}

crate::snap::snap_struct!(Emit { rec, book });
crate::snap::snap_struct!(MarketView { books, records, dirty, is_dirty, emits } if MarketView::consistent);

impl MarketView {
    /// Empty books for `instruments` instruments.
    pub fn new(instruments: usize) -> Self {
        Self {
            books: (0..instruments).map(|_| Book::new()).collect(),
            records: vec![BookRecord::default(); instruments],
            dirty: Vec::with_capacity(instruments),
            is_dirty: vec![false; instruments],
            emits: Vec::with_capacity(BATCH_EMITS),
        }
    }

    /// One record and flag per book, and every instrument it names among them (checked on a
    /// restore).
    fn consistent(&self) -> bool {
        let n = self.books.len();
        let known = |i: InstrumentId| usize::from(i) < n;
        self.records.len() == n
            && self.is_dirty.len() == n
            && self.dirty.iter().all(|&i| known(i))
            && self.emits.iter().all(|e| e.book.is_none_or(known))
    }

    /// Every instrument's book, by instrument id.
    pub fn books(&self) -> &[Book] {
        &self.books
    }

    /// The book record of instrument `i` as of its last book event.
    pub fn record(&self, i: InstrumentId) -> &BookRecord {
        &self.records[usize::from(i)]
    }

    /// Applies `ev` to its instrument's book and queues the trade and quote it yields. The
    /// caller checked `ev.instrument` against the tape's instruments.
    ///
    /// # Errors
    /// [`LevelOverflow`] when the book cannot apply the event (nothing was queued).
    pub fn apply(&mut self, ev: &TapeEvent) -> Result<Applied, LevelOverflow> {
        let ii = usize::from(ev.instrument);
        let a = self.books[ii].try_apply(&ev.msg)?;
        let h = header(ev, ev.instrument);
        if let Some(tr) = a.trade {
            self.emits
                .push(Emit { rec: Event { h, body: EventBody::Trade(tr) }.encode(), book: None });
        }
        if let Some(q) = a.quote {
            self.emits
                .push(Emit { rec: Event { h, body: EventBody::Quote(q) }.encode(), book: None });
        }
        if a.top && !self.is_dirty[ii] {
            self.is_dirty[ii] = true;
            self.dirty.push(ev.instrument);
        }
        Ok(a)
    }

    /// Ends `ev`'s batch unless more of it follows (and there is room to wait): queues a book
    /// event for each instrument whose top changed. Returns whether the events are ready.
    pub fn end_batch(&mut self, ev: &TapeEvent) -> bool {
        if ev.more() && self.emits.len() + 3 <= BATCH_EMITS {
            return false;
        }
        for k in 0..self.dirty.len() {
            let ins = self.dirty[k];
            let i = usize::from(ins);
            self.is_dirty[i] = false;
            let top = self.books[i].write_record(ins, &mut self.records[i]);
            self.emits.push(Emit {
                rec: Event { h: header(ev, ins), body: EventBody::Book(top) }.encode(),
                book: Some(ins),
            });
        }
        self.dirty.clear();
        true
    }

    /// The events queued since the last [`MarketView::clear`].
    pub fn emits(&self) -> &[Emit] {
        &self.emits
    }

    /// Forgets the queued events once they are delivered.
    pub fn clear(&mut self) {
        self.emits.clear();
    }
}

fn header(ev: &TapeEvent, instrument: InstrumentId) -> EventHeader {
    EventHeader { seq: 0, instrument, exchange_ts: ev.exchange_ts, local_ts: ev.local_ts }
}
