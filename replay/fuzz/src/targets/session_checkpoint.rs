//! Session checkpoints: a session over the synthetic market with one or two scripted
//! strategies (limit and market orders, cancels: resting orders, fills and a blotter in the
//! venue) is checkpointed part-way. Checkpoint bytes are decoded and resumed; a resumed
//! session must checkpoint to the very bytes it was resumed from, and take further events.

use super::refused;
use crate::draw::{G, PRINTABLE};
use crate::harness::{Checked, Verdict};
use lockstep_sdk::{
    Action, ActionRecord, BookRecord, EventBody, EventRecord, ONE, Price, Qty, RunError, Side,
    Step, StrategyRunner,
};
use lockstep_sim::{
    BlotterConfig, EventSource, RunnerSpec, Session, SessionCheckpoint, SessionConfig, Synth,
    SynthConfig, TapeEvent,
};

/// A strategy whose whole state is its event count: on quotes it bids at the best bid, buys
/// at market now and then, and cancels its older orders.
struct Script {
    n: u64,
    actions: Vec<ActionRecord>,
}

impl Script {
    fn new(n: u64) -> Self {
        Self { n, actions: Vec::new() }
    }
}

impl StrategyRunner for Script {
    fn on_event(&mut self, ev: &EventRecord, _: Option<&BookRecord>) -> Result<Step<'_>, RunError> {
        self.actions.clear();
        self.n += 1;
        let Ok(e) = ev.decode() else { return Ok(Step { actions: &self.actions, fuel: Some(1) }) };
        if let EventBody::Quote(q) | EventBody::Book(q) = e.body {
            let instrument = e.h.instrument;
            let mut act = |a: Action| self.actions.push(a.encode());
            if self.n.is_multiple_of(3) && q.bid.px.0 > 0 {
                act(Action::PlaceLimit {
                    instrument,
                    order_id: self.n,
                    side: Side::Buy,
                    px: q.bid.px,
                    qty: Qty(ONE),
                });
            }
            if self.n.is_multiple_of(7) {
                act(Action::PlaceMarket {
                    instrument,
                    order_id: self.n,
                    side: Side::Sell,
                    qty: Qty(ONE),
                });
            }
            if self.n.is_multiple_of(5) {
                act(Action::Cancel { instrument, order_id: self.n - 2 });
            }
            if self.n.is_multiple_of(11) {
                act(Action::Replace {
                    instrument,
                    order_id: self.n - 5,
                    px: Price(q.bid.px.0.max(1)),
                    qty: Qty(2 * ONE),
                });
            }
        }
        Ok(Step { actions: &self.actions, fuel: Some(self.n % 13) })
    }

    fn actions(&self) -> &[ActionRecord] {
        &self.actions
    }

    fn checkpoint(&mut self, out: &mut Vec<u8>) -> bool {
        out.clear();
        out.extend_from_slice(&self.n.to_le_bytes());
        true
    }
}

fn config() -> SessionConfig {
    SessionConfig {
        measure_latency: false,
        book_digest: true,
        blotter: Some(BlotterConfig::default()),
        ..SessionConfig::default()
    }
}

/// The first `n` events of the synthetic market of `seed`.
fn market(seed: u64, n: u64) -> (Synth, Vec<TapeEvent>) {
    let mut m = Synth::new(SynthConfig { events: n, seed });
    let (mut all, mut buf) = (Vec::new(), Vec::new());
    while matches!(m.next_chunk(&mut buf), Ok(true)) {
        all.extend_from_slice(&buf);
    }
    (m, all)
}

/// A checkpoint of a session part-way through a small synthetic market.
pub(crate) fn generate(g: &mut G<'_>) -> Vec<u8> {
    let (m, events) = market(g.any_u64(), g.u(20, 400));
    let runners = (0..g.len(1, 2))
        .map(|i| RunnerSpec {
            name: format!("script-{i}"),
            params: g.word(PRINTABLE, 0, 12),
            runner: Box::new(Script::new(0)),
            init_actions: Vec::new(),
            init_fuel: Some(0),
        })
        .collect();
    let mut s = Session::from_runners(m.header(), runners, config());
    for e in &events[..g.len(0, events.len())] {
        if s.step(e).is_err() {
            break;
        }
    }
    s.checkpoint(g.word(PRINTABLE, 0, 16).as_bytes()).unwrap_or_default()
}

/// Checkpoint bytes of a session resumed from `bytes`, which an earlier resume wrote.
fn resume(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let ck = SessionCheckpoint::decode(bytes).map_err(|e| format!("a resumed checkpoint: {e}"))?;
    let (header, meta) = (ck.header().clone(), ck.meta().to_vec());
    let runners = runners(&ck);
    let mut s = Session::from_checkpoint(&header, ck, runners, config())
        .map_err(|e| format!("a resumed session's checkpoint does not resume: {e}"))?;
    s.checkpoint(&meta).map_err(|e| e.to_string())
}

/// Fresh scripts carrying the checkpoint's event counts.
fn runners(ck: &SessionCheckpoint) -> Vec<Box<dyn StrategyRunner>> {
    ck.strategies()
        .iter()
        .map(|s| {
            let n = s.state.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
            Box::new(Script::new(n)) as Box<dyn StrategyRunner>
        })
        .collect()
}

/// Decodes and resumes the checkpoint; the resumed session checkpoints to bytes that resume
/// to the same checkpoint (to the very input bytes for a generated one), and takes the
/// synthetic market's events of its instruments.
pub(crate) fn check(bytes: &[u8]) -> Checked {
    let ck = match SessionCheckpoint::decode(bytes) {
        Ok(ck) => ck,
        Err(e) => return refused(e),
    };
    let header = ck.header().clone();
    let meta = ck.meta().to_vec();
    let runners = runners(&ck);
    let mut s = match Session::from_checkpoint(&header, ck, runners, config()) {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    let again =
        s.checkpoint(&meta).map_err(|e| format!("a resumed session does not checkpoint: {e}"))?;
    let twice = resume(&again)?;
    if twice != again {
        return Err("a resumed session's checkpoint, resumed, checkpoints to other bytes".into());
    }
    let n = header.instruments.len();
    for e in market(1, 64).1.iter().filter(|e| usize::from(e.instrument) < n) {
        if s.step(e).is_err() {
            break;
        }
    }
    if again != bytes {
        let at = bytes
            .iter()
            .zip(&again)
            .position(|(a, b)| a != b)
            .unwrap_or(bytes.len().min(again.len()));
        return Ok(Verdict::Normalized(format!(
            "session checkpoint round trip differs ({} bytes, then {}; first at byte {at}: {:02x?} then {:02x?})",
            bytes.len(),
            again.len(),
            &bytes[at..(at + 16).min(bytes.len())],
            &again[at..(at + 16).min(again.len())]
        )));
    }
    Ok(Verdict::Accepted)
}

/// Recomputes the body length and CRC-32 around the body.
#[allow(clippy::ptr_arg, reason = "the signature every target's fixup shares")]
pub(crate) fn fixup(b: &mut Vec<u8>) {
    if b.len() < 24 {
        return;
    }
    let body = b.len() - 24;
    b[12..20].copy_from_slice(&(body as u64).to_le_bytes());
    let n = b.len() - 4;
    let crc = crc32fast::hash(&b[20..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
}
