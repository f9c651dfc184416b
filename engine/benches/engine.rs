//! Engine overhead benchmark: per-event latency of a strategy through `Instance::on_event`
//! against the same guest handler called as a bare wasmi typed function; allocations per event;
//! load and instantiation time. Prints numbers; asserts nothing about time.
//!
//! Run: `cargo bench -p lockstep-engine --bench engine` (`-- --events N` to change the count).
#![allow(clippy::disallowed_methods, reason = "Instant::now: this program measures time by design")]

use hdrhistogram::Histogram;
use lockstep_engine::{Config, CountingAlloc, Engine, StrategyModule, Tier};
use lockstep_sdk::{
    BookRecord, Event, EventBody, EventHeader, EventRecord, Level, Nanos, Price, Qty, Quote,
    REGIONS_SIZE, Regions,
};
use std::hint::black_box;
use std::time::Instant;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

fn stream(n: usize) -> Vec<(EventRecord, Option<BookRecord>)> {
    let mut x = 0x2545_F491_4F6C_DD1D_u64;
    let mut mid = 10_000_i64;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            mid = (mid + (x % 3) as i64 - 1).max(100);
            let tick = 1_000_000;
            let q = Quote {
                bid: Level { px: Price(mid * tick), qty: Qty::from_units(1 + (x >> 8) as i64 % 9) },
                ask: Level {
                    px: Price((mid + 1) * tick),
                    qty: Qty::from_units(1 + (x >> 16) as i64 % 9),
                },
            };
            let t = Nanos(i as i64 * 100_000);
            let h = EventHeader { seq: i as u64, instrument: 0, exchange_ts: t, local_ts: t };
            let mut b = BookRecord::default();
            b.write(0, &[q.bid], &[q.ask]);
            (Event { h, body: EventBody::Book(q) }.encode(), Some(b))
        })
        .collect()
}

struct Stats {
    hist: Histogram<u64>,
}

impl Stats {
    fn new() -> Self {
        Self { hist: Histogram::new_with_bounds(1, 1_000_000_000, 3).unwrap() }
    }
    fn row(&self, label: &str) {
        let h = &self.hist;
        println!(
            "{label:<34} p50 {:>6} ns  p99 {:>6} ns  p99.9 {:>7} ns  max {:>8} ns",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        );
    }
}

/// The same guest, called through plain wasmi: write the event, call the typed export.
fn bare(wasm: &[u8], params: &str, evs: &[(EventRecord, Option<BookRecord>)], fuel: bool) -> Stats {
    let mut c = wasmi::Config::default();
    c.compilation_mode(wasmi::CompilationMode::Eager)
        .consume_fuel(fuel)
        .set_max_stack_height(4 << 20)
        .set_min_stack_height(1 << 20);
    let engine = wasmi::Engine::new(&c);
    let module = wasmi::Module::new(&engine, wasm).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let mut min = 1;
    for i in module.imports() {
        if let wasmi::ExternType::Memory(m) = i.ty() {
            min = m.minimum() as u32;
        }
    }
    let memory = wasmi::Memory::new(&mut store, wasmi::MemoryType::new(min, None)).unwrap();
    let mut linker = wasmi::Linker::<()>::new(&engine);
    linker.define("lockstep", "memory", memory).unwrap();
    linker
        .func_wrap("lockstep", "fail", |_: i32, _: i32| -> Result<(), wasmi::Error> {
            Err(wasmi::Error::new("fail"))
        })
        .unwrap();
    if fuel {
        store.set_fuel(u64::MAX / 2).unwrap();
    }
    let inst = linker.instantiate_and_start(&mut store, &module).unwrap();
    let regions_fn = inst.get_typed_func::<(), i32>(&store, "lockstep_regions").unwrap();
    let init = inst.get_typed_func::<i32, i32>(&store, "lockstep_init").unwrap();
    let on_event = inst.get_typed_func::<(), i32>(&store, "lockstep_on_event").unwrap();
    let at = regions_fn.call(&mut store, ()).unwrap() as usize;
    let mut raw = [0u8; REGIONS_SIZE];
    memory.read(&store, at, &mut raw).unwrap();
    let r = Regions::decode(&raw);
    memory.write(&mut store, r.params_ptr as usize, params.as_bytes()).unwrap();
    assert!(init.call(&mut store, params.len() as i32).unwrap() >= 0);
    let mut s = Stats::new();
    for (ev, book) in evs {
        let t0 = Instant::now();
        memory.write(&mut store, r.event_ptr as usize, &ev.0).unwrap();
        if let Some(b) = book {
            memory.write(&mut store, r.book_ptr as usize, &b.0).unwrap();
        }
        black_box(on_event.call(&mut store, ()).unwrap());
        let dt = t0.elapsed().as_nanos() as u64;
        s.hist.record(dt.max(1)).unwrap();
    }
    s
}

fn through_engine(
    engine: &Engine,
    wasm: &[u8],
    params: &str,
    evs: &[(EventRecord, Option<BookRecord>)],
) -> (Stats, u64, u64) {
    let mut inst = StrategyModule::new(engine, wasm).unwrap().instantiate(params).unwrap();
    for (ev, book) in &evs[..evs.len().min(1000)] {
        inst.on_event(ev, book.as_ref()).unwrap();
    }
    let mut s = Stats::new();
    let mut fuel_max = 0;
    let a0 = ALLOC.allocations();
    for (ev, book) in evs {
        let t0 = Instant::now();
        black_box(inst.on_event(ev, book.as_ref()).unwrap());
        let dt = t0.elapsed().as_nanos() as u64;
        s.hist.record(dt.max(1)).unwrap();
        fuel_max = fuel_max.max(inst.last_fuel().0);
    }
    let allocs = ALLOC.allocations() - a0;
    (s, allocs, fuel_max)
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Runs `f` `n` times; returns the last result and the median wall time in ns.
fn timed_median<T>(n: usize, mut f: impl FnMut() -> T) -> (T, u64) {
    let mut times = Vec::with_capacity(n);
    let mut last = None;
    for _ in 0..n {
        let t0 = Instant::now();
        last = Some(black_box(f()));
        times.push(t0.elapsed().as_nanos() as u64);
    }
    (last.expect("n > 0"), median(times))
}

fn main() {
    let mut n = 200_000;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--events") {
        n = args.get(i + 1).and_then(|v| v.parse().ok()).expect("--events takes a number");
    }
    let evs = stream(n);
    let engine = Engine::new(&Config::new());
    println!(
        "engine overhead (interpreter): {n} book events per strategy, latency per event incl. ~20 ns clock"
    );
    for name in ["noop", "microprice", "avellaneda-stoikov", "black-scholes"] {
        let Some(info) = lockstep_strategies::get(name) else { continue };
        if StrategyModule::new(&engine, info.wasm).is_err() {
            println!("{name}: not loadable yet, skipped");
            continue;
        }
        // Warm both paths once so caches are comparable, then measure.
        let _ = bare(info.wasm, info.default_params, &evs[..1000], true);
        let b_nofuel = bare(info.wasm, info.default_params, &evs, false);
        let b = bare(info.wasm, info.default_params, &evs, true);
        let (e, allocs, fuel_max) = through_engine(&engine, info.wasm, info.default_params, &evs);
        println!("-- {name} ({} bytes wasm, max fuel/event {fuel_max})", info.wasm.len());
        b_nofuel.row("bare wasmi call, no fuel");
        b.row("bare wasmi call, fuel on");
        e.row("lockstep Instance::on_event");
        let p50 = |s: &Stats| s.hist.value_at_quantile(0.5) as f64;
        println!(
            "   overhead at p50 vs bare (fuel on): {:+.1}%   allocations/event: {}",
            (p50(&e) / p50(&b) - 1.0) * 100.0,
            allocs as f64 / n as f64
        );
    }

    // Load and instantiation time.
    for name in ["noop", "avellaneda-stoikov"] {
        let Some(info) = lockstep_strategies::get(name) else { continue };
        let Ok(module) = StrategyModule::new(&engine, info.wasm) else { continue };
        let (_, load) = timed_median(50, || StrategyModule::new(&engine, info.wasm).unwrap());
        for pretouch in [true, false] {
            let mut cfg = Config::new();
            cfg.pretouch_memory(pretouch);
            let eng = Engine::new(&cfg);
            let m = StrategyModule::new(&eng, info.wasm).unwrap();
            let (_, inst) = timed_median(200, || m.instantiate(info.default_params).unwrap());
            println!(
                "{name}: load (validate+compile+trial) median {} us; instantiate+init median {} us (pretouch {} of {} KiB memory: {pretouch})",
                load / 1000,
                inst / 1000,
                if pretouch { "all" } else { "none" },
                cfg.memory_bytes() / 1024
            );
        }
        drop(module);
        // What a gateway pays to bring a strategy up: the load's link is the instance's.
        let (_, up) = timed_median(50, || {
            StrategyModule::new(&engine, info.wasm)
                .unwrap()
                .instantiate(info.default_params)
                .unwrap()
        });
        println!("{name}: load + first instantiate median {} us", up / 1000);
    }

    // The compiled tier: Cranelift compile, precompiled-artefact load, instantiation.
    let mut cfg = Config::new();
    cfg.tier(Tier::Compiled);
    let compiled = Engine::new(&cfg);
    for name in ["noop", "black-scholes", "avellaneda-stoikov"] {
        let Some(info) = lockstep_strategies::get(name) else { continue };
        let (artefact, compile) =
            timed_median(5, || StrategyModule::precompile(&compiled, info.wasm).unwrap());
        let (m, load) =
            timed_median(50, || StrategyModule::from_precompiled(&compiled, &artefact).unwrap());
        let (_, inst) = timed_median(200, || m.instantiate(info.default_params).unwrap());
        println!(
            "{name} (compiled): compile+check median {} us; artefact {} KiB, load median {} us; instantiate+init median {} us",
            compile / 1000,
            artefact.len() / 1024,
            load / 1000,
            inst / 1000,
        );
    }
}
