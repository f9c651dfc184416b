//! The embedded default market: a deterministic synthetic L3 order flow the program generates
//! itself, so the main commands run without any data file.
//!
//! Instrument 0 (`SYN-A`) trades around 100.00 and instrument 1 (`SYN-B`) around 50.00,
//! tracking half of instrument 0's price (a correlated pair), both with a 0.01 tick. Each step,
//! 100 µs to 1 ms after the last, adds a limit order near the fair price, cancels a resting one,
//! or sends a market order that executes against the front of the queue. Timestamps start at
//! 0 ns; local (receive) time trails exchange time by 20-30 µs. Randomness comes from a
//! SplitMix64 generator with a fixed seed: the same configuration yields the same tape, bit for
//! bit, on every machine (integer arithmetic only).

use crate::book::Book;
use crate::market::{Contract, FLAG_MORE, InstrumentInfo, MarketEvent, TapeEvent};
use crate::tape::{DEFAULT_CHUNK_EVENTS, EventSource, TapeError, TapeHeader};
use lockstep_sdk::{InstrumentId, Nanos, ONE, Price, Qty, Side, SplitMix64};

/// Default number of events of the synthetic market.
pub const DEFAULT_SYNTH_EVENTS: u64 = 200_000;
/// Default seed of the synthetic market.
pub const DEFAULT_SYNTH_SEED: u64 = 0x5EED_10C5_7E90;

const TICK: i64 = ONE / 100;
const LEVELS_AT_START: i64 = 10;
const ORDERS_PER_LEVEL_AT_START: u64 = 3;
const MAX_LIVE: usize = 600;
const MAX_SWEEP: usize = 24;

/// Settings of the synthetic market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynthConfig {
    /// Number of events to generate.
    pub events: u64,
    /// PRNG seed.
    pub seed: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self { events: DEFAULT_SYNTH_EVENTS, seed: DEFAULT_SYNTH_SEED }
    }
}

/// The synthetic market as an [`EventSource`].
#[derive(Clone, Debug)]
pub struct Synth {
    cfg: SynthConfig,
    header: TapeHeader,
    rng: SplitMix64,
    books: [Book; 2],
    /// Live order ids per instrument, and each id's index in its list.
    live: [Vec<u64>; 2],
    pos: Vec<u32>,
    next_id: u64,
    /// Fair prices in ticks; instrument 1's deviation from half of instrument 0.
    fair0: i64,
    dev1: i64,
    t: i64,
    produced: u64,
    seeded: bool,
}

impl Synth {
    /// A generator for `cfg`.
    pub fn new(cfg: SynthConfig) -> Self {
        let ins = |id: u16, symbol: &str| InstrumentInfo {
            id,
            symbol: symbol.to_owned(),
            venue: "synthetic".into(),
            tick_size: Price(TICK),
            price_scale: 2,
            lot_size: Qty(ONE),
            contract: Contract::LINEAR,
            currency: "USD".into(),
            time_zone: "UTC".into(),
        };
        let mut header = TapeHeader::new(
            format!("synthetic market (seed {:#x}, {} events)", cfg.seed, cfg.events),
            vec![ins(0, "SYN-A"), ins(1, "SYN-B")],
        );
        header.event_count = cfg.events;
        Self {
            cfg,
            header,
            rng: SplitMix64::new(cfg.seed),
            books: [Book::with_capacity(2048, 256), Book::with_capacity(2048, 256)],
            live: [Vec::with_capacity(2048), Vec::with_capacity(2048)],
            pos: Vec::with_capacity(cfg.events.min(1 << 24) as usize + 1),
            next_id: 1,
            fair0: 10_000,
            dev1: 0,
            t: 0,
            produced: 0,
            seeded: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> SynthConfig {
        self.cfg
    }

    fn fair(&self, ins: usize) -> i64 {
        if ins == 0 { self.fair0 } else { self.fair0 / 2 + self.dev1 }
    }

    fn emit(&mut self, ins: usize, msg: MarketEvent, more: bool, buf: &mut Vec<TapeEvent>) {
        let applied = self.books[ins].apply(&msg);
        debug_assert!(applied.changed || applied.trade.is_some());
        match msg {
            MarketEvent::Add { order_id, .. } => {
                let i = order_id as usize;
                if self.pos.len() <= i {
                    self.pos.resize(i + 1, u32::MAX);
                }
                self.pos[i] = self.live[ins].len() as u32;
                self.live[ins].push(order_id);
            }
            MarketEvent::Delete { order_id, .. }
            | MarketEvent::Cancel { order_id, .. }
            | MarketEvent::Execute { order_id, .. }
                if self.books[ins].order(order_id).is_none() =>
            {
                // The order is gone: take it off the live list.
                let at = self.pos[order_id as usize] as usize;
                self.live[ins].swap_remove(at);
                if let Some(&moved) = self.live[ins].get(at) {
                    self.pos[moved as usize] = at as u32;
                }
                self.pos[order_id as usize] = u32::MAX;
            }
            _ => {}
        }
        let local = self.t + 20_000 + self.rng.below(10_000) as i64;
        let mut e = TapeEvent::new(Nanos(self.t), Nanos(local), ins as InstrumentId, msg);
        if more {
            e.flags |= FLAG_MORE;
        }
        buf.push(e);
        self.produced += 1;
    }

    fn add(&mut self, ins: usize, side: Side, ticks: i64, units: i64, buf: &mut Vec<TapeEvent>) {
        let id = self.next_id;
        self.next_id += 1;
        let msg =
            MarketEvent::Add { order_id: id, side, px: Price(ticks * TICK), qty: Qty(units * ONE) };
        self.emit(ins, msg, false, buf);
    }

    fn seed_books(&mut self, buf: &mut Vec<TapeEvent>) {
        for ins in 0..2 {
            let fair = self.fair(ins);
            for k in 1..=LEVELS_AT_START {
                for _ in 0..ORDERS_PER_LEVEL_AT_START {
                    if self.produced >= self.cfg.events {
                        return;
                    }
                    let q = 1 + self.rng.below(10) as i64;
                    self.add(ins, Side::Buy, fair - k, q, buf);
                    if self.produced >= self.cfg.events {
                        return;
                    }
                    let q = 1 + self.rng.below(10) as i64;
                    self.add(ins, Side::Sell, fair + k, q, buf);
                }
            }
        }
    }

    fn step(&mut self, buf: &mut Vec<TapeEvent>) {
        self.t += 100_000 + self.rng.below(900_000) as i64;
        // Fair prices: a random walk for instrument 0 (about 6 ticks per square-root second),
        // pulled back towards 100.00 the further it strays; instrument 1 follows half of it
        // with a small mean-reverting deviation.
        if self.rng.chance(3) {
            let bias = ((10_000 - self.fair0) / 3).clamp(-30, 30);
            let up = (self.rng.below(100) as i64) < 50 + bias;
            self.fair0 += if up { 1 } else { -1 };
            self.fair0 = self.fair0.clamp(9_000, 11_000);
        }
        if self.rng.chance(3) {
            let bias = (-8 * self.dev1).clamp(-40, 40);
            let up = (self.rng.below(100) as i64) < 50 + bias;
            self.dev1 += if up { 1 } else { -1 };
        }
        let ins = usize::from(self.rng.below(100) >= 70);
        let crowded = self.live[ins].len() > MAX_LIVE;
        let r = self.rng.below(100);
        if r < 56 && !crowded {
            let side = if self.rng.below(2) == 0 { Side::Buy } else { Side::Sell };
            self.place(ins, side, buf);
        } else if r < 88 {
            self.cancel(ins, buf);
        } else {
            // Market orders lean towards the fair price (informed flow): buys when the book's
            // mid is below it, sells when above.
            let mid2 = match (self.books[ins].best(Side::Buy), self.books[ins].best(Side::Sell)) {
                (Some(b), Some(a)) => (b.px.0 + a.px.0) / TICK,
                _ => 2 * self.fair(ins),
            };
            let lean = ((2 * self.fair(ins) - mid2) * 5).clamp(-30, 30);
            let side =
                if (self.rng.below(100) as i64) < 50 + lean { Side::Buy } else { Side::Sell };
            if self.books[ins].depth(side.opposite()) < 2 {
                self.place(ins, side.opposite(), buf);
            } else {
                self.sweep(ins, side, buf);
            }
        }
        for side in [Side::Buy, Side::Sell] {
            if self.books[ins].depth(side) < 3 && self.produced < self.cfg.events {
                self.place(ins, side, buf);
            }
        }
    }

    fn place(&mut self, ins: usize, side: Side, buf: &mut Vec<TapeEvent>) {
        let fair = self.fair(ins);
        // Two to seven ticks from the fair price, sometimes deeper.
        let d = 2
            + self.rng.below(6) as i64
            + if self.rng.chance(30) { self.rng.below(10) as i64 } else { 0 };
        let mut ticks = fair - side.sign() * d;
        if let Some(opp) = self.books[ins].best(side.opposite()) {
            let opp = opp.px.0 / TICK;
            ticks = match side {
                Side::Buy => ticks.min(opp - 1),
                Side::Sell => ticks.max(opp + 1),
            };
        }
        let q = 1 + self.rng.below(10) as i64;
        self.add(ins, side, ticks.max(1), q, buf);
    }

    fn cancel(&mut self, ins: usize, buf: &mut Vec<TapeEvent>) {
        if self.live[ins].is_empty() {
            return self.place(ins, Side::Buy, buf);
        }
        let id = self.live[ins][self.rng.below(self.live[ins].len() as u64) as usize];
        let Some(o) = self.books[ins].order(id) else { return };
        let msg = if o.qty.0 > ONE && self.rng.chance(20) {
            let part = 1 + self.rng.below((o.qty.0 / ONE - 1) as u64) as i64;
            MarketEvent::Cancel { order_id: id, side: o.side, px: o.px, qty: Qty(part * ONE) }
        } else {
            MarketEvent::Delete { order_id: id, side: o.side, px: o.px, qty: o.qty }
        };
        self.emit(ins, msg, false, buf);
    }

    /// A market order from `side` executing against the front of the opposite queue.
    fn sweep(&mut self, ins: usize, side: Side, buf: &mut Vec<TapeEvent>) {
        // Mostly small; now and then a large order that sweeps several levels.
        let units =
            if self.rng.chance(10) { 15 + self.rng.below(50) } else { 1 + self.rng.below(15) };
        let mut want = units as i64 * ONE;
        let resting = side.opposite();
        let mut n = 0;
        while want > 0 && n < MAX_SWEEP && self.produced < self.cfg.events {
            let Some(f) = self.books[ins].front(resting) else { break };
            let q = want.min(f.qty.0);
            want -= q;
            n += 1;
            let last = want == 0 || n == MAX_SWEEP || self.produced + 1 >= self.cfg.events;
            let msg = MarketEvent::Execute { order_id: f.id, side: resting, px: f.px, qty: Qty(q) };
            self.emit(ins, msg, !last, buf);
        }
        if let Some(e) = buf.last_mut() {
            e.flags &= !FLAG_MORE;
        }
    }
}

impl EventSource for Synth {
    fn header(&self) -> &TapeHeader {
        &self.header
    }

    fn next_chunk(&mut self, buf: &mut Vec<TapeEvent>) -> Result<bool, TapeError> {
        buf.clear();
        if !self.seeded {
            self.seeded = true;
            self.seed_books(buf);
        }
        while buf.len() < DEFAULT_CHUNK_EVENTS as usize && self.produced < self.cfg.events {
            self.step(buf);
        }
        Ok(!buf.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(cfg: SynthConfig) -> Vec<TapeEvent> {
        let mut s = Synth::new(cfg);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while s.next_chunk(&mut buf).unwrap() {
            out.extend_from_slice(&buf);
        }
        out
    }

    #[test]
    fn deterministic_exact_count_and_sane_prices() {
        let cfg = SynthConfig { events: 30_000, seed: 7 };
        let a = all(cfg);
        assert_eq!(a.len(), 30_000);
        assert_eq!(a, all(cfg));
        assert_ne!(a, all(SynthConfig { seed: 8, ..cfg }));
        assert!(!a.last().unwrap().more());
        let mut books = [Book::new(), Book::new()];
        let mut trades = 0;
        let mut prev = 0;
        for e in &a {
            assert!(e.exchange_ts.0 >= prev && e.local_ts.0 > e.exchange_ts.0);
            prev = e.exchange_ts.0;
            let r = books[usize::from(e.instrument)].apply(&e.msg);
            trades += usize::from(r.trade.is_some());
            let b = &books[usize::from(e.instrument)];
            if let (Some(bid), Some(ask)) = (b.best(Side::Buy), b.best(Side::Sell)) {
                assert!(bid.px < ask.px, "crossed book at {e:?}");
            }
            assert_eq!(b.stats().unknown_orders, 0);
        }
        assert!(trades > 1000, "{trades} trades");
        let mid =
            |b: &Book| (b.best(Side::Buy).unwrap().px.0 + b.best(Side::Sell).unwrap().px.0) / 2;
        let (m0, m1) = (mid(&books[0]), mid(&books[1]));
        assert!((90 * ONE..110 * ONE).contains(&m0), "{m0}");
        assert!((45 * ONE..55 * ONE).contains(&m1), "{m1}");
        books[0].check().unwrap();
    }
}
