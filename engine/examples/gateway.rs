//! Embedding Lockstep in a trading gateway: one pinned worker runs two strategies, fed by the
//! gateway's market-data thread through the worker's lock-free ring; actions come back on the
//! output ring with the fuel each event cost. A third, hostile strategy is halted on its first
//! event while the others keep trading.
//!
//! Run: `cargo run -p lockstep-engine --example gateway [CORE]`

use lockstep_engine::{Config, Fuel, Output, StrategyModule, StrategyRunner, Worker, WorkerConfig};
use lockstep_sdk::{BookRecord, Event, EventBody, EventHeader, Level, Nanos, Price, Qty, Quote};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let core = std::env::args().nth(1).map(|c| c.parse::<usize>()).transpose()?;

    let mut engine = Config::new();
    engine.fuel_per_event(Fuel(2_000_000));
    let mut cfg = WorkerConfig::new();
    cfg.engine(engine).busy_poll(core.is_some());
    if let Some(c) = core {
        cfg.core(c);
    }

    // Strategies load on the worker thread, against the worker's own engine.
    let mut worker = Worker::spawn(&cfg, |engine| {
        let mut runners: Vec<Box<dyn StrategyRunner>> = Vec::new();
        for name in ["microprice", "avellaneda-stoikov"] {
            let info = lockstep_strategies::get(name).expect("built-in strategy");
            let module = StrategyModule::new(engine, info.wasm)?;
            runners.push(Box::new(module.instantiate(info.default_params)?));
        }
        // A strategy that spins forever: contained by its fuel budget.
        let spin = wat_spin();
        runners.push(Box::new(StrategyModule::new(engine, &spin)?.instantiate("")?));
        Ok(runners)
    })?;
    println!("worker started: {:?}", worker.info());

    // The gateway's feed handler: book updates for instrument 0.
    let mut actions = [0usize; 3];
    let mut fuel = [0u64; 3];
    let tick = 1_000_000;
    for i in 0..20_000_i64 {
        let mid = 10_000 + (i * 7919 % 13) - 6;
        let bid = Level { px: Price(mid * tick), qty: Qty::from_units(5 + i % 7) };
        let ask = Level { px: Price((mid + 1) * tick), qty: Qty::from_units(3 + i % 5) };
        let t = Nanos(i * 200_000);
        let h = EventHeader { seq: i as u64, instrument: 0, exchange_ts: t, local_ts: t };
        let mut book = BookRecord::default();
        book.write(0, &[bid], &[ask]);
        let ev = Event { h, body: EventBody::Book(Quote { bid, ask }) }.encode();
        while worker.submit(&ev, Some(&book)).is_err() {
            drain(&mut worker, &mut actions, &mut fuel);
        }
        drain(&mut worker, &mut actions, &mut fuel);
    }
    for out in worker.finish() {
        account(out, &mut actions, &mut fuel);
    }
    for (i, name) in ["microprice", "avellaneda-stoikov", "spin (hostile)"].iter().enumerate() {
        println!("{name:>20}: {} actions, {} fuel in total", actions[i], fuel[i]);
    }
    Ok(())
}

fn drain(worker: &mut Worker, actions: &mut [usize; 3], fuel: &mut [u64; 3]) {
    while let Some(out) = worker.poll() {
        account(out, actions, fuel);
    }
}

fn account(out: Output, actions: &mut [usize; 3], fuel: &mut [u64; 3]) {
    match out {
        Output::Action { strategy, .. } => actions[strategy] += 1,
        Output::Done { strategy, fuel: f, .. } => fuel[strategy] += f.map_or(0, |f| f.0),
        // The first failure halts the strategy; later events are refused without halting it
        // again (`Error::Halted`).
        Output::Failed { strategy, seq, error } if error.halts() => {
            println!("strategy {strategy} on event {seq}: {error}");
        }
        _ => {}
    }
}

/// A minimal ABI-conformant module whose event handler never returns.
fn wat_spin() -> Vec<u8> {
    let wat = r#"(module
      (import "lockstep" "memory" (memory 1))
      (data (i32.const 0) "\01\00\00\00\40\00\00\00\80\00\00\00\01\00\00\00\00\02\00\00\00\04\00\00\00\01\00\00\00\00\00\00")
      (func (export "lockstep_abi_version") (result i32) (i32.const 1))
      (func (export "lockstep_regions") (result i32) (i32.const 0))
      (func (export "lockstep_init") (param i32) (result i32) (i32.const 0))
      (func (export "lockstep_on_event") (result i32) (loop $l (br $l)) (i32.const 0)))"#;
    wat::parse_str(wat).expect("valid WAT")
}
