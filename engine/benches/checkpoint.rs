//! Checkpoint, restore and hot swap benchmark: a strategy whose 1 MiB of linear memory is all
//! live data (nothing for the trailing-zero trim to drop), and the built-in market maker, on
//! both tiers. For a hot swap, the pause at the event boundary: a fresh start is prepared
//! before the boundary, so its pause is the switch alone; a migration must take the latest
//! state, so its pause is checkpoint + restore into the new version + `lockstep_migrate`.
//! Prints medians and p99s; asserts nothing about time.
//!
//! Run: `cargo bench -p lockstep-engine --bench checkpoint`.
#![allow(clippy::disallowed_methods, reason = "Instant::now: this program measures time by design")]

use lockstep_engine::{Config, Engine, Fuel, Handover, StrategyModule, Tier, WASM_PAGE};
use std::hint::black_box;
use std::time::Instant;

/// An ABI guest with 16 pages (1 MiB) of memory whose init fills everything past its regions;
/// `migrate` adds a `lockstep_migrate` that accepts any state version and touches a counter.
fn full_memory_guest(migrate: bool) -> Vec<u8> {
    let descriptor: String = [1u32, 64, 128, 4, 512, 1024, 256, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .map(|b| format!("\\{b:02x}"))
        .collect();
    let fill_from = 2048;
    let migrate = if migrate {
        r#"(func (export "lockstep_migrate") (param $from i32) (result i32)
            (global.set $n (i64.add (global.get $n) (i64.const 1))) (i32.const 0))"#
    } else {
        ""
    };
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
    (global.set $n (i64.add (global.get $n) (i64.const 1))) (i32.const 0))
  {migrate})"#,
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
    let full = full_memory_guest(false);
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
    hot_swap();
}

/// The pause of a hot swap at the event boundary, 1 MiB of live memory.
fn hot_swap() {
    let (v1, v2) = (full_memory_guest(false), full_memory_guest(true));
    println!("hot swap pause at the event boundary, 300 runs each: median and p99");
    for tier in [Tier::Interpreter, Tier::Compiled] {
        let mut config = Config::new();
        config.tier(tier).init_fuel(Fuel(1 << 32));
        let engine = Engine::new(&config);
        let old = StrategyModule::new(&engine, &v1).expect("loads");
        let new = StrategyModule::new(&engine, &v2).expect("loads");
        let mut running = old.instantiate("").expect("starts");
        // Fresh: prepared ahead (init runs off the boundary); the pause is the switch.
        let mut switch = Vec::with_capacity(300);
        let (p50, p99) = time(300, || {
            let mut next = new.take_over(&mut running, Handover::Fresh { params: "" }).unwrap();
            let t0 = Instant::now();
            std::mem::swap(black_box(&mut running), black_box(&mut next));
            switch.push(t0.elapsed().as_nanos() as u64);
            std::mem::swap(&mut running, &mut next);
        });
        switch.sort_unstable();
        let (s50, s99) = (switch[150], switch[296]);
        // Migrate: everything happens at the boundary.
        let (m50, m99) = time(300, || {
            black_box(new.take_over(&mut running, Handover::Migrate).expect("migrates"));
        });
        println!(
            "{:>11} 1 MiB live memory: fresh: prepare p50 {p50:>7.1} us p99 {p99:>7.1} us, pause (switch) p50 {s50} ns p99 {s99} ns; migrate: pause p50 {m50:>7.1} us p99 {m99:>7.1} us",
            tier.to_string()
        );
    }
}
