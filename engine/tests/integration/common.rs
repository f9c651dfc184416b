//! Shared fixtures: a WAT strategy written without the SDK, and a deterministic event stream.

use lockstep_engine::{Config, Engine, Fuel, Instance, StrategyModule, Tier};
use lockstep_sdk::{
    BookRecord, Event, EventBody, EventHeader, EventRecord, Level, Nanos, Price, Qty, Quote, Side,
    Trade,
};

/// A complete ABI v1 strategy in raw WebAssembly text, no SDK: on every quote it publishes the
/// mid price as signal 1, and on every trade it counts and publishes the count as signal 2.
/// Region layout: descriptor at 0, event at 64, 4 actions at 128, book at 512, params at 1024.
pub(crate) const MID_WAT: &str = r#"
(module
  (import "lockstep" "memory" (memory 1))
  (data (i32.const 0)
    "\01\00\00\00" "\40\00\00\00" "\80\00\00\00" "\04\00\00\00"
    "\00\02\00\00" "\00\04\00\00" "\00\01\00\00" "\00\00\00\00")
  (global $trades (mut i64) (i64.const 0))
  (func (export "lockstep_abi_version") (result i32) (i32.const 1))
  (func (export "lockstep_regions") (result i32) (i32.const 0))
  (func (export "lockstep_init") (param $len i32) (result i32)
    ;; "fail" in the params region makes init refuse with a message.
    (if (i32.and (i32.eq (local.get $len) (i32.const 4))
                 (i32.eq (i32.load (i32.const 1024)) (i32.const 0x6c696166)))
      (then
        (i64.store (i32.const 1024) (i64.const 0x2164657375666572))
        (return (i32.const -8))))
    (i32.const 0))
  (func $signal (param $id i64) (param $value i64)
    (memory.fill (i32.const 128) (i32.const 0) (i32.const 64))
    (i32.store16 (i32.const 128) (i32.const 6))
    (i32.store16 (i32.const 130) (i32.load16_u (i32.const 66)))
    (i64.store (i32.const 160) (local.get $value))
    (i64.store (i32.const 168) (local.get $id)))
  (func (export "lockstep_on_event") (result i32)
    (local $kind i32)
    (local.set $kind (i32.load16_u (i32.const 64)))
    (if (i32.eq (local.get $kind) (i32.const 1))
      (then
        (call $signal (i64.const 1)
          (i64.div_s (i64.add (i64.load (i32.const 96)) (i64.load (i32.const 112))) (i64.const 2)))
        (return (i32.const 1))))
    (if (i32.eq (local.get $kind) (i32.const 2))
      (then
        (global.set $trades (i64.add (global.get $trades) (i64.const 1)))
        (call $signal (i64.const 2) (global.get $trades))
        (return (i32.const 1))))
    (i32.const 0))
)
"#;

pub(crate) fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("test WAT parses")
}

/// The region descriptor `MID_WAT` declares: ABI v1, event at 64, action at 128 with room for
/// 4, book at 512, params at 1024 with room for 256 bytes.
pub(crate) const REGIONS: [u32; 7] = [1, 0x40, 0x80, 4, 0x200, 0x400, 0x100];

/// A module with the ABI exports, declaring `regions` at address 0, with the given bodies of
/// `lockstep_init` (its parameter is `$len`) and `lockstep_on_event`, plus `extra` items.
pub(crate) fn guest_module(regions: [u32; 7], init: &str, on_event: &str, extra: &str) -> Vec<u8> {
    let descriptor: String = regions
        .iter()
        .chain(&[0])
        .flat_map(|v| v.to_le_bytes())
        .map(|b| format!("\\{b:02x}"))
        .collect();
    wasm(&format!(
        r#"(module
  (import "lockstep" "memory" (memory 1))
  (data (i32.const 0) "{descriptor}")
  {extra}
  (func (export "lockstep_abi_version") (result i32) (i32.const 1))
  (func (export "lockstep_regions") (result i32) (i32.const 0))
  (func (export "lockstep_init") (param $len i32) (result i32) {init})
  (func $on_event (export "lockstep_on_event") (result i32) {on_event}))"#
    ))
}

/// A guest with `MID_WAT`'s regions, an init that accepts anything, and the given
/// `lockstep_on_event` body and extra items.
pub(crate) fn guest(on_event: &str, extra: &str) -> Vec<u8> {
    guest_module(REGIONS, "(i32.const 0)", on_event, extra)
}

pub(crate) fn engine_with_fuel(tier: Tier, fuel: u64) -> Engine {
    let mut c = Config::new();
    c.tier(tier).fuel_per_event(Fuel(fuel)).init_fuel(Fuel(fuel * 10));
    Engine::new(&c)
}

pub(crate) fn healthy(engine: &Engine) -> Instance {
    StrategyModule::new(engine, &wasm(MID_WAT)).unwrap().instantiate("").unwrap()
}

/// A deterministic mixed stream of quotes, trades and book events on instruments 0 and 1.
pub(crate) fn events(n: usize) -> Vec<(EventRecord, Option<BookRecord>)> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut mids = [10_000_i64, 5_000];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let r = next();
        let instrument = (r & 1) as u16;
        let mid = &mut mids[usize::from(instrument)];
        *mid = (*mid + (r >> 8) as i64 % 3 - 1).max(100);
        let tick = 1_000_000; // 0.01
        let bid = Price(*mid * tick);
        let ask = Price((*mid + 1 + (r >> 16) as i64 % 2) * tick);
        let qty = Qty::from_units(1 + (r >> 24) as i64 % 50);
        let t = Nanos(i as i64 * 250_000);
        let h =
            EventHeader { seq: i as u64, instrument, exchange_ts: t, local_ts: t + Nanos(20_000) };
        let quote = Quote { bid: Level { px: bid, qty }, ask: Level { px: ask, qty } };
        let (body, book) = match (r >> 32) % 4 {
            0 => (
                EventBody::Trade(Trade {
                    px: ask,
                    qty: Qty::from_units(1),
                    aggressor: Some(Side::Buy),
                }),
                None,
            ),
            1 => {
                let mut b = BookRecord::default();
                let bids: Vec<Level> = (0..5)
                    .map(|k| Level { px: Price(bid.0 - k * tick), qty: Qty::from_units(k + 1) })
                    .collect();
                let asks: Vec<Level> = (0..5)
                    .map(|k| Level { px: Price(ask.0 + k * tick), qty: Qty::from_units(k + 2) })
                    .collect();
                b.write(instrument, &bids, &asks);
                (EventBody::Book(quote), Some(b))
            }
            _ => (EventBody::Quote(quote), None),
        };
        out.push((Event { h, body }.encode(), book));
    }
    out
}
