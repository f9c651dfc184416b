//! A small venue for the tests and helpers to start strategies and run sessions.

use lockstep_engine::{Config, Engine, Fuel, StrategyModule, Tier};
use lockstep_gateway::{
    Gateway, JournalHeader, Outbound, RiskLimits, StrategySpec, StrategySummary,
};
use lockstep_sdk::{
    Canceled, EventBody, EventHeader, Fill, Nanos, OrderAck, Qty, Reject, reject_reason,
};
use lockstep_sim::{EventSource, Synth, SynthConfig, TapeEvent};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A `Write` whose bytes the test can read afterwards; `limit` makes it fail like a full disk.
#[derive(Clone, Default)]
pub(crate) struct SharedBuf {
    pub(crate) bytes: Arc<Mutex<Vec<u8>>>,
    pub(crate) limit: Option<usize>,
}

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let mut v = self.bytes.lock().unwrap();
        if self.limit.is_some_and(|l| v.len() + b.len() > l) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device",
            ));
        }
        v.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn engine(tier: Tier) -> Engine {
    let mut c = Config::new();
    c.tier(tier).fuel_per_event(Fuel(50_000_000));
    Engine::new(&c)
}

/// Starts built-in `name` on `tier`, journaling into `journal`.
pub(crate) fn spec(name: &str, tier: Tier, journal: Option<SharedBuf>) -> StrategySpec {
    let info = lockstep_strategies::get(name).unwrap();
    let module = StrategyModule::new(&engine(tier), info.wasm).unwrap();
    let instance = module.instantiate(info.default_params).unwrap();
    let header = JournalHeader {
        strategy: name.to_owned(),
        params: info.default_params.to_owned(),
        module_sha256: module.sha256().iter().map(|b| format!("{b:02x}")).collect(),
        tier: tier.to_string(),
        init_fuel: instance.last_fuel().0,
    };
    StrategySpec {
        header,
        init_actions: instance.actions().to_vec(),
        runner: Box::new(instance),
        journal: journal.map(|j| Box::new(j) as Box<dyn Write>),
    }
}

/// The synthetic market's events.
pub(crate) fn market(events: u64) -> (Vec<lockstep_sim::InstrumentInfo>, Vec<TapeEvent>) {
    let mut synth = Synth::new(SynthConfig { events, ..SynthConfig::default() });
    let instruments = synth.header().instruments.clone();
    let mut all = Vec::new();
    let mut buf = Vec::new();
    while synth.next_chunk(&mut buf).unwrap() {
        all.extend_from_slice(&buf);
    }
    (instruments, all)
}

/// A venue that acks every order, fills it whole one market event later, and answers cancels.
#[derive(Default)]
pub(crate) struct ToyVenue {
    open: BTreeMap<(usize, u64), (u16, lockstep_sdk::Side, lockstep_sdk::Price, Qty)>,
    to_fill: Vec<(usize, u64)>,
}

impl ToyVenue {
    fn answer(g: &mut Gateway, s: usize, instrument: u16, body: EventBody, t: i64) {
        let h = EventHeader { seq: 0, instrument, exchange_ts: Nanos(t), local_ts: Nanos(t) };
        g.on_venue(s, h, body, t);
    }

    /// Answers what the gateway sent, then fills what was acked before.
    pub(crate) fn step(&mut self, g: &mut Gateway, t: i64) {
        for (s, id) in std::mem::take(&mut self.to_fill) {
            if let Some((ins, side, px, qty)) = self.open.remove(&(s, id)) {
                let fill = Fill { order_id: id, side, px, qty, leaves: Qty::ZERO };
                Self::answer(g, s, ins, EventBody::Fill(fill), t);
            }
        }
        let sent: Vec<Outbound> = g.drain_outbound().collect();
        for o in sent {
            match o {
                Outbound::New { strategy, order_id, instrument, side, px, qty, .. } => {
                    let px = px.unwrap_or_default();
                    self.open.insert((strategy, order_id), (instrument, side, px, qty));
                    self.to_fill.push((strategy, order_id));
                    let ack = OrderAck { order_id, side, px, qty };
                    Self::answer(g, strategy, instrument, EventBody::OrderAck(ack), t);
                }
                Outbound::Cancel { strategy, order_id, instrument } => {
                    let body = match self.open.remove(&(strategy, order_id)) {
                        Some((.., qty)) => EventBody::Canceled(Canceled { order_id, qty }),
                        None => EventBody::Reject(Reject {
                            order_id,
                            reason: reject_reason::UNKNOWN_ORDER,
                        }),
                    };
                    Self::answer(g, strategy, instrument, body, t);
                }
                Outbound::Replace { strategy, order_id, instrument, px, qty } => {
                    let body = match self.open.get_mut(&(strategy, order_id)) {
                        Some(o) => {
                            (o.2, o.3) = (px, qty);
                            EventBody::OrderAck(OrderAck { order_id, side: o.1, px, qty })
                        }
                        None => EventBody::Reject(Reject {
                            order_id,
                            reason: reject_reason::UNKNOWN_ORDER,
                        }),
                    };
                    Self::answer(g, strategy, instrument, body, t);
                }
            }
        }
    }
}

/// Runs `specs` over `events` against the toy venue; returns the summaries.
pub(crate) fn session(
    specs: Vec<StrategySpec>,
    limits: RiskLimits,
    events: u64,
    kill_at: Option<usize>,
) -> Vec<StrategySummary> {
    let (instruments, evs) = market(events);
    let mut g = Gateway::new(&instruments, specs, limits).unwrap();
    let mut venue = ToyVenue::default();
    for (i, ev) in evs.iter().enumerate() {
        // The gateway's clock: receive time 3 us after the exchange's.
        let recv = ev.local_ts.0 + 3_000;
        g.on_market(ev, recv).unwrap();
        if kill_at == Some(i) {
            g.kill();
        }
        venue.step(&mut g, recv);
    }
    g.cancel_all();
    let end = evs.last().map_or(0, |e| e.local_ts.0) + 1_000_000;
    venue.step(&mut g, end);
    g.finish()
}

/// One test of this binary at a time where it matters: venue-gateway pairs running beside
/// other CPU-bound tests on a small machine starve, and every test turns into a gap-recovery
/// test.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the binary's one-at-a-time lock until dropped.
pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
