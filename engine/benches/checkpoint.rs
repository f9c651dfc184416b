//! Checkpoint and restore benchmark: a strategy whose 1 MiB of linear memory is all live data
//! (nothing for the trailing-zero trim to drop), and the built-in market maker, on both tiers.
//! Prints medians and p99s; asserts nothing about time.
//!
//! Run: `cargo bench -p lockstep-engine --bench checkpoint`.
#![allow(clippy::disallowed_methods, reason = "Instant::now: this program measures time by design")]

use lockstep_engine::{Config, Engine, Fuel, StrategyModule, Tier, WASM_PAGE};
use std::hint::black_box;
use std::time::Instant;

/// An ABI guest with 16 pages (1 MiB) of memory whose init fills everything past its regions.
fn full_memory_guest() -> Vec<u8> {
    let descriptor: String = [1u32, 64, 128, 4, 512, 1024, 256, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .map(|b| format!("\\{b:02x}"))
        .collect();
    let fill_from = 2048;
    let wat = format!(
        r#"(module
  (import "lockstep" "memory" (memory 16 16))
  (data (i32.const 0) "{descriptor}")
  (global $n (mut i64) (i64.const 0))
  (func (export "lockstep_abi_version") (result i32) (i32.const 1))
  (func (export "lockstep_regions") (result i32) (i32.const 0))
  (func (export "lockstep_init") (param i32) (result i32)
    (memory.fill (i32.const {fill_from}) (i32.const 0xab) (i32.const {len})) (i32.const 0))
  (func (export "lockstep_on_event") (result i32)
    (global.set $n (i64.add (global.get $n) (i64.const 1))) (i32.const 0)))"#,
        len = 16 * WASM_PAGE - fill_from
    );
    wat::parse_str(wat).expect("valid WAT")
}

/// Median and p99 of `f`'s wall time in microseconds over `n` runs.
fn time(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut ns: Vec<u64> = (0..n)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    (at(0.5), at(0.99))
}

fn main() {
    let full = full_memory_guest();
    let mm = lockstep_strategies::get("avellaneda-stoikov").expect("built-in");
    println!("checkpoint / restore, 500 runs each: median and p99 in us (target: each <= 1000 us)");
    for tier in [Tier::Interpreter, Tier::Compiled] {
        let mut config = Config::new();
        config.tier(tier).init_fuel(Fuel(1 << 32));
        let engine = Engine::new(&config);
        for (name, wasm, params) in
            [("1 MiB live memory", &full[..], ""), (mm.name, mm.wasm, mm.default_params)]
        {
            let module = StrategyModule::new(&engine, wasm).expect("loads");
            let mut instance = module.instantiate(params).expect("starts");
            let mut buf = Vec::new();
            instance.checkpoint_into(&mut buf);
            let (c50, c99) = time(500, || instance.checkpoint_into(black_box(&mut buf)));
            let (r50, r99) = time(500, || {
                black_box(module.restore(&buf).expect("restores"));
            });
            println!(
                "{:>11} {name:<20} memory {:>7} B, checkpoint {:>8} B: checkpoint p50 {c50:>7.1} p99 {c99:>7.1}; restore p50 {r50:>7.1} p99 {r99:>7.1}",
                tier.to_string(),
                instance.memory_size(),
                buf.len()
            );
        }
    }
}
