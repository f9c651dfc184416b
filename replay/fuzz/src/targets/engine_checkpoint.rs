//! Engine checkpoints: a small ABI v1 strategy in WebAssembly text (mutable globals of all
//! four types, memory it writes and grows) runs generated events on the interpreter tier and
//! is checkpointed. Checkpoint bytes are restored into that module; a restored instance must
//! checkpoint to bytes that restore to the same checkpoint, and must take an event.

use super::refused;
use crate::draw::G;
use crate::harness::{Checked, Verdict};
use lockstep_engine::{Config, Engine, Fuel, StrategyModule, Tier};
use lockstep_sdk::{
    Event, EventBody, EventHeader, EventRecord, Level, Nanos, Price, Qty, Quote, Trade,
};

/// The strategy: regions at 0 (event 64, actions 128 (4), book 512, params 1024 (256)). Each
/// event bumps the globals, stores the event's price in memory at an offset taken from it,
/// and grows memory by a page when the price's low byte is 0xff (up to the engine's limit).
const WAT: &str = r#"
(module
  (import "lockstep" "memory" (memory 1))
  (data (i32.const 0)
    "\01\00\00\00" "\40\00\00\00" "\80\00\00\00" "\04\00\00\00"
    "\00\02\00\00" "\00\04\00\00" "\00\01\00\00" "\00\00\00\00")
  (global $n (mut i64) (i64.const 0))
  (global $k (mut i32) (i32.const 0))
  (global $f (mut f64) (f64.const 0))
  (global $s (mut f32) (f32.const 0))
  (func (export "lockstep_abi_version") (result i32) (i32.const 1))
  (func (export "lockstep_regions") (result i32) (i32.const 0))
  (func (export "lockstep_init") (param $len i32) (result i32) (i32.const 0))
  (func (export "lockstep_on_event") (result i32)
    (local $px i64)
    (local.set $px (i64.load (i32.const 96)))
    (global.set $n (i64.add (global.get $n) (i64.const 1)))
    (global.set $k (i32.xor (global.get $k) (i32.wrap_i64 (local.get $px))))
    (global.set $f (f64.add (global.get $f) (f64.convert_i64_s (local.get $px))))
    (global.set $s (f32.demote_f64 (global.get $f)))
    (i64.store
      (i32.add (i32.const 2048) (i32.and (i32.wrap_i64 (local.get $px)) (i32.const 0xfff8)))
      (global.get $n))
    (if (i64.eq (i64.and (local.get $px) (i64.const 0xff)) (i64.const 0xff))
      (then (drop (memory.grow (i32.const 1)))))
    (i32.const 0))
)
"#;

thread_local! {
    /// The module, compiled once per thread (an engine belongs to one thread).
    static MODULE: Option<StrategyModule> = module();
}

fn module() -> Option<StrategyModule> {
    let mut c = Config::new();
    c.tier(Tier::Interpreter).fuel_per_event(Fuel(1_000_000)).init_fuel(Fuel(1_000_000));
    c.max_memory_pages(8);
    let wasm = wat::parse_str(WAT).ok()?;
    StrategyModule::new(&Engine::new(&c), &wasm).ok()
}

fn event(g: &mut G<'_>, seq: u64) -> EventRecord {
    let h = EventHeader {
        seq,
        instrument: 0,
        exchange_ts: Nanos(seq as i64),
        local_ts: Nanos(seq as i64),
    };
    let px = Price(g.int(i64::MIN, i64::MAX));
    let body = if g.bool() {
        EventBody::Quote(Quote { bid: Level { px, qty: Qty(1) }, ask: Level { px, qty: Qty(2) } })
    } else {
        EventBody::Trade(Trade { px, qty: Qty(g.int(0, 100)), aggressor: None })
    };
    Event { h, body }.encode()
}

/// A checkpoint of the strategy after a few generated events.
pub(crate) fn generate(g: &mut G<'_>) -> Vec<u8> {
    MODULE.with(|m| {
        let Some(m) = m else { return Vec::new() };
        let Ok(mut s) = m.instantiate("") else { return Vec::new() };
        for seq in 0..g.u(0, 20) {
            let _ = s.on_event(&event(g, seq), None);
        }
        s.checkpoint()
    })
}

/// Restores the bytes; a restored instance checkpoints to bytes that restore to the same
/// checkpoint, and takes an event.
pub(crate) fn check(bytes: &[u8]) -> Checked {
    MODULE.with(|m| {
        let m = m.as_ref().ok_or("the fuzz strategy does not load")?;
        let mut s = match m.restore(bytes) {
            Ok(s) => s,
            Err(e) => return refused(e),
        };
        let first = s.checkpoint();
        let mut again = m
            .restore(&first)
            .map_err(|e| format!("a checkpoint of a restored instance is refused: {e}"))?;
        if again.checkpoint() != first {
            return Err("engine checkpoint round trip differs".into());
        }
        let ev = event(&mut G::new(bytes), 99);
        let _ = s.on_event(&ev, None);
        Ok(Verdict::Accepted)
    })
}

/// Recomputes the CRC-32 at the end of the checkpoint.
#[allow(clippy::ptr_arg, reason = "the signature every target's fixup shares")]
pub(crate) fn fixup(b: &mut Vec<u8>) {
    if b.len() >= 8 {
        let n = b.len() - 4;
        let crc = crc32fast::hash(&b[..n]);
        b[n..].copy_from_slice(&crc.to_le_bytes());
    }
}
