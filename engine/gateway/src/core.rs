//! The gateway's deterministic core, without sockets or clocks: market events in (already
//! decoded by a feed handler), the strategies called, every action through pre-trade risk,
//! orders out for the order session to send, the venue's answers back in. Every input a
//! strategy gets is journaled with its answer and digested as the replay harness digests it.

use crate::journal::{JournalError, JournalHeader, JournalWriter, Origin, Record};
use crate::risk::{OrderRequest, RiskBook, RiskLimits};
use crate::step::digest_step;
use lockstep_sdk::{
    Action, ActionRecord, Event, EventBody, EventHeader, EventRecord, InstrumentId, Nanos, Price,
    Qty, Reject, Side, StrategyRunner, TimeInForce, reject_reason,
};
use lockstep_sim::{Digest, InstrumentInfo, LevelOverflow, MarketView, TapeEvent, hex};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;

/// An order for the order session to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outbound {
    /// A new order (limit when `px` is given, else market).
    New {
        /// The strategy's index.
        strategy: usize,
        /// The strategy's order id (unique per strategy).
        order_id: u64,
        /// The instrument.
        instrument: InstrumentId,
        /// The side.
        side: Side,
        /// The limit price.
        px: Option<Price>,
        /// The quantity.
        qty: Qty,
        /// A limit order's time in force other than good till cancelled (IOC or FOK: the FIX
        /// link has no post-only order, which the gateway refuses).
        tif: Option<TimeInForce>,
    },
    /// Cancel an order.
    Cancel {
        /// The strategy's index.
        strategy: usize,
        /// The order.
        order_id: u64,
        /// The instrument.
        instrument: InstrumentId,
    },
    /// Change an order's price and quantity.
    Replace {
        /// The strategy's index.
        strategy: usize,
        /// The order.
        order_id: u64,
        /// The instrument.
        instrument: InstrumentId,
        /// New price.
        px: Price,
        /// New quantity.
        qty: Qty,
    },
}

/// A strategy to run: started already (its `init` ran), with what init returned.
pub struct StrategySpec {
    /// Name and parameters, for the journal and the summary.
    pub header: JournalHeader,
    /// The running strategy.
    pub runner: Box<dyn StrategyRunner>,
    /// The actions its `init` returned.
    pub init_actions: Vec<ActionRecord>,
    /// Where its journal goes (`None`: not journaled).
    pub journal: Option<Box<dyn Write>>,
}

/// What one strategy did in a session.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StrategySummary {
    /// Name.
    pub strategy: String,
    /// Inputs delivered (market, venue, risk, timers).
    pub events: u64,
    /// Actions returned.
    pub actions: u64,
    /// Orders (new and replace) sent to the venue.
    pub orders_sent: u64,
    /// Cancels sent.
    pub cancels_sent: u64,
    /// Acks from the venue.
    pub acks: u64,
    /// Fills from the venue.
    pub fills: u64,
    /// Venue rejects by reason name.
    pub venue_rejects: BTreeMap<String, u64>,
    /// Risk refusals by reason name.
    pub risk_rejects: BTreeMap<String, u64>,
    /// The digest over every input and answer, as `replay verify --journal` recomputes it.
    pub digest: String,
    /// The digest of the fuel of every call.
    pub fuel_digest: String,
    /// The halt, if it halted: input sequence number and reason.
    pub halted: Option<(u64, String)>,
    /// The journal's failure, if it could not be written (the strategy was halted).
    pub journal_error: Option<String>,
}

struct Slot {
    spec: StrategySpec,
    journal: Option<JournalWriter<Box<dyn Write>>>,
    digest: Digest,
    seq: u64,
    risk: RiskBook,
    timers: BTreeSet<(i64, u64)>,
    sum: StrategySummary,
}

/// The gateway's core: the market view, the strategies and their risk.
pub struct Gateway {
    view: MarketView,
    slots: Vec<Slot>,
    out: Vec<Outbound>,
    queue: VecDeque<(usize, EventRecord, Origin)>,
    started: bool,
    /// The last call's actions, copied out of the runner (reused: no allocation per input).
    scratch: Vec<ActionRecord>,
}

impl Gateway {
    /// A gateway over `instruments` running `strategies`, each with the risk `limits`.
    ///
    /// # Errors
    /// [`JournalError`] when a journal's header cannot be written.
    pub fn new(
        instruments: &[InstrumentInfo],
        strategies: Vec<StrategySpec>,
        limits: RiskLimits,
    ) -> Result<Self, JournalError> {
        let ticks: Vec<Price> = instruments.iter().map(|i| i.tick_size).collect();
        let mut slots = Vec::with_capacity(strategies.len());
        for mut spec in strategies {
            let journal = match spec.journal.take() {
                Some(w) => Some(JournalWriter::new(w, &spec.header)?),
                None => None,
            };
            let sum =
                StrategySummary { strategy: spec.header.strategy.clone(), ..Default::default() };
            slots.push(Slot {
                spec,
                journal,
                digest: Digest::new(),
                seq: 0,
                risk: RiskBook::new(limits, ticks.clone()),
                timers: BTreeSet::new(),
                sum,
            });
        }
        Ok(Self {
            view: MarketView::new(instruments.len()),
            slots,
            out: Vec::with_capacity(64),
            queue: VecDeque::with_capacity(64),
            started: false,
            scratch: Vec::with_capacity(256),
        })
    }

    /// The orders to send since the last call (in the order the strategies asked).
    pub fn drain_outbound(&mut self) -> std::vec::Drain<'_, Outbound> {
        self.out.drain(..)
    }

    /// Orders waiting to be sent.
    pub fn pending_outbound(&self) -> usize {
        self.out.len()
    }

    /// The books.
    pub fn view(&self) -> &MarketView {
        &self.view
    }

    /// One market event received at `recv`: due timers fire first, then the book changes and
    /// the events it yields go to every strategy.
    ///
    /// # Errors
    /// [`LevelOverflow`] when the book cannot apply it (nothing was delivered).
    pub fn on_market(&mut self, ev: &TapeEvent, recv: i64) -> Result<(), LevelOverflow> {
        if !self.started {
            self.started = true;
            self.start(recv);
        }
        self.fire_timers(recv);
        self.view.apply(ev)?;
        if !self.view.end_batch(ev) {
            return Ok(());
        }
        for k in 0..self.view.emits().len() {
            let e = self.view.emits()[k];
            if let Ok(Event { h, body }) = e.rec.decode() {
                self.set_reference(h.instrument, &body);
            }
            for s in 0..self.slots.len() {
                self.deliver(s, e.rec, e.book, Origin::Market, recv);
                self.run_queue(recv);
            }
        }
        self.view.clear();
        Ok(())
    }

    fn set_reference(&mut self, instrument: InstrumentId, body: &EventBody) {
        let px = match body {
            EventBody::Trade(t) => Some(t.px),
            EventBody::Quote(q) | EventBody::Book(q) => {
                (q.bid.px.0 > 0 && q.ask.px.0 > 0).then(|| Price((q.bid.px.0 + q.ask.px.0) / 2))
            }
            _ => None,
        };
        if let Some(px) = px {
            for slot in &mut self.slots {
                slot.risk.reference(instrument, px);
            }
        }
    }

    /// Digests and acts on what the strategies' `init` returned.
    fn start(&mut self, recv: i64) {
        for s in 0..self.slots.len() {
            let slot = &mut self.slots[s];
            let actions = std::mem::take(&mut slot.spec.init_actions);
            let fuel = slot.spec.header.init_fuel;
            digest_step(&mut slot.digest, Origin::Init, &EventRecord::zeroed(), fuel, &actions, 0);
            let record = Record {
                recv_ns: recv,
                origin: Origin::Init,
                event: &EventRecord::zeroed(),
                book: None,
                error: 0,
                fuel,
                actions: &actions,
            };
            journal(slot, &record);
            self.act(s, &actions, recv);
            self.run_queue(recv);
        }
    }

    /// The venue's answer for strategy `s` (an ack, fill, reject or cancel), received at
    /// `recv`. Risk learns of it before the strategy does.
    pub fn on_venue(&mut self, s: usize, h: EventHeader, body: EventBody, recv: i64) {
        let Some(slot) = self.slots.get_mut(s) else { return };
        match body {
            EventBody::OrderAck(_) => slot.sum.acks += 1,
            EventBody::Fill(f) => {
                slot.sum.fills += 1;
                slot.risk.on_fill(f.order_id, f.qty, f.leaves);
            }
            EventBody::Reject(r) => {
                slot.risk.on_done(r.order_id);
                *slot.sum.venue_rejects.entry(reason_name(r.reason)).or_insert(0) += 1;
            }
            EventBody::Canceled(c) => slot.risk.on_done(c.order_id),
            _ => {}
        }
        self.deliver(s, Event { h, body }.encode(), None, Origin::Venue, recv);
        self.run_queue(recv);
    }

    /// The kill switch: every strategy's risk refuses new orders from now on, and a cancel
    /// goes out for every open order.
    pub fn kill(&mut self) {
        for (s, slot) in self.slots.iter_mut().enumerate() {
            slot.risk.kill();
            for (order_id, instrument) in slot.risk.open_orders() {
                self.out.push(Outbound::Cancel { strategy: s, order_id, instrument });
            }
        }
    }

    /// Flushes each journal and takes the state of each strategy that can be checkpointed and
    /// has not halted, between two inputs: `(strategy, journal records written, state)`.
    pub fn checkpoint_strategies(&mut self, out: &mut Vec<(usize, u64, Vec<u8>)>) {
        out.clear();
        for (s, slot) in self.slots.iter_mut().enumerate() {
            if slot.sum.halted.is_some() {
                continue;
            }
            let Some(j) = slot.journal.as_mut() else { continue };
            if j.flush().is_err() {
                continue;
            }
            let mut state = Vec::new();
            if slot.spec.runner.checkpoint(&mut state) {
                out.push((s, j.written(), state));
            }
        }
    }

    /// Halts every strategy with `reason` (e.g. the feed lost messages it cannot recover).
    pub fn halt_all(&mut self, reason: &str) {
        for slot in &mut self.slots {
            if slot.sum.halted.is_none() {
                slot.sum.halted = Some((slot.seq, reason.to_owned()));
            }
        }
    }

    /// Cancels for every order still open, for the end of the session.
    pub fn cancel_all(&mut self) {
        for (s, slot) in self.slots.iter().enumerate() {
            for (order_id, instrument) in slot.risk.open_orders() {
                self.out.push(Outbound::Cancel { strategy: s, order_id, instrument });
            }
        }
    }

    /// Flushes the journals and returns each strategy's summary.
    pub fn finish(self) -> Vec<StrategySummary> {
        self.slots
            .into_iter()
            .map(|mut slot| {
                if let Some(j) = slot.journal.take()
                    && let Err(e) = j.finish()
                {
                    slot.sum.journal_error = Some(e.to_string());
                }
                for (code, n) in slot.risk.refused() {
                    slot.sum.risk_rejects.insert(reason_name(*code), *n);
                }
                let (d, f) = slot.digest.finish_with_fuel();
                slot.sum.digest = hex(&d);
                slot.sum.fuel_digest = hex(&f);
                slot.sum
            })
            .collect()
    }

    fn fire_timers(&mut self, now: i64) {
        for s in 0..self.slots.len() {
            while let Some(&(at, id)) = self.slots[s].timers.first() {
                if at > now {
                    break;
                }
                self.slots[s].timers.pop_first();
                let h = EventHeader {
                    seq: 0,
                    instrument: 0,
                    exchange_ts: Nanos(at),
                    local_ts: Nanos(now),
                };
                self.deliver(
                    s,
                    Event { h, body: EventBody::Timer(id) }.encode(),
                    None,
                    Origin::Timer,
                    now,
                );
                self.run_queue(now);
            }
        }
    }

    fn run_queue(&mut self, recv: i64) {
        while let Some((s, rec, origin)) = self.queue.pop_front() {
            self.deliver(s, rec, None, origin, recv);
        }
    }

    /// Hands one input to strategy `s`, digests and journals it, and acts on its answer.
    fn deliver(
        &mut self,
        s: usize,
        mut rec: EventRecord,
        book: Option<InstrumentId>,
        origin: Origin,
        recv: i64,
    ) {
        let slot = &mut self.slots[s];
        if slot.sum.halted.is_some() {
            return;
        }
        let seq = slot.seq;
        slot.seq += 1;
        slot.sum.events += 1;
        rec.set_seq(seq);
        let book = book.map(|i| self.view.record(i));
        let mut actions = std::mem::take(&mut self.scratch);
        actions.clear();
        let (fuel, failure) = match slot.spec.runner.on_event(&rec, book) {
            Ok(step) => {
                actions.extend_from_slice(step.actions);
                (step.fuel.unwrap_or(0), None)
            }
            Err(e) => (e.fuel().unwrap_or(0), Some(e)),
        };
        let error = failure.as_ref().map_or(0, |e| e.code());
        digest_step(&mut slot.digest, origin, &rec, fuel, &actions, error);
        let record =
            Record { recv_ns: recv, origin, event: &rec, book, error, fuel, actions: &actions };
        journal(slot, &record);
        if let Some(e) = failure.filter(|_| slot.sum.halted.is_none()) {
            if e.halts() {
                slot.sum.halted = Some((seq, e.message().to_owned()));
            }
        } else if slot.sum.halted.is_none() {
            slot.sum.actions += actions.len() as u64;
            self.act(s, &actions, recv);
        }
        self.scratch = actions;
    }

    /// Passes each action through risk: orders out, refusals back to the strategy as rejects.
    fn act(&mut self, s: usize, actions: &[ActionRecord], now: i64) {
        for a in actions {
            let slot = &mut self.slots[s];
            let Ok(action) = a.decode_for(slot.spec.runner.abi_version()) else { continue };
            let (order_id, instrument, checked) = match action {
                Action::PlaceOrder {
                    instrument,
                    order_id,
                    tif: TimeInForce::PostOnly | TimeInForce::Gtx,
                    ..
                } => (order_id, instrument, Err(reject_reason::UNSUPPORTED)),
                Action::PlaceLimit { instrument, order_id, side, .. }
                | Action::PlaceOrder { instrument, order_id, side, .. }
                | Action::PlaceMarket { instrument, order_id, side, .. } => {
                    let (px, qty, tif) = match action {
                        Action::PlaceLimit { px, qty, .. } => (Some(px), qty, None),
                        Action::PlaceOrder { px, qty, tif, .. } => (Some(px), qty, Some(tif)),
                        Action::PlaceMarket { qty, .. } => (None, qty, None),
                        _ => continue,
                    };
                    let o = OrderRequest { instrument, side, px, qty };
                    let r = slot.risk.check_new(order_id, &o, now);
                    let new =
                        Outbound::New { strategy: s, order_id, instrument, side, px, qty, tif };
                    (order_id, instrument, r.map(|()| new))
                }
                Action::Replace { instrument, order_id, px, qty } => {
                    let r = slot.risk.check_replace(order_id, px, qty, now);
                    (
                        order_id,
                        instrument,
                        r.map(|()| Outbound::Replace {
                            strategy: s,
                            order_id,
                            instrument,
                            px,
                            qty,
                        }),
                    )
                }
                Action::Cancel { instrument, order_id } => {
                    slot.sum.cancels_sent += 1;
                    self.out.push(Outbound::Cancel { strategy: s, order_id, instrument });
                    continue;
                }
                Action::SetTimer { timer_id, at } => {
                    slot.timers.insert((at.0, timer_id));
                    continue;
                }
                Action::Signal { .. } => continue,
            };
            match checked {
                Ok(o) => {
                    slot.sum.orders_sent += 1;
                    self.out.push(o);
                }
                Err(reason) => {
                    let h = EventHeader {
                        seq: 0,
                        instrument,
                        exchange_ts: Nanos(now),
                        local_ts: Nanos(now),
                    };
                    let body = EventBody::Reject(Reject { order_id, reason });
                    self.queue.push_back((s, Event { h, body }.encode(), Origin::Risk));
                }
            }
        }
    }
}

/// Appends to the strategy's journal; a journal that cannot be written halts the strategy
/// (it may not act on inputs that could not be recorded).
fn journal(slot: &mut Slot, record: &Record<'_>) {
    let Some(j) = slot.journal.as_mut() else { return };
    if let Err(e) = j.append_record(record) {
        slot.sum.journal_error = Some(e.to_string());
        slot.sum.halted.get_or_insert((slot.seq, format!("journal failed: {e}")));
        slot.journal = None;
    }
}

fn reason_name(code: u32) -> String {
    lockstep_sim::reject_reason_name(code).to_owned()
}
