//! The same event stream gives the same actions and the same fuel per event: run twice, and
//! on two different workers (pinned to different cores where the machine has them), on each
//! tier; and both tiers give the same actions.

use crate::common::{MID_WAT, events, wasm};
use lockstep_engine::{
    Config, Engine, Fuel, Output, StrategyModule, StrategyRunner, Tier, Worker, WorkerConfig,
};
use lockstep_sdk::{ActionRecord, BookRecord, EventRecord};

type Trace = Vec<(u64, Option<Fuel>, Vec<ActionRecord>)>;

fn modules() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut v = vec![("mid-wat", wasm(MID_WAT), "")];
    for s in lockstep_strategies::all() {
        v.push((s.name, s.wasm.to_vec(), s.default_params));
    }
    v
}

fn run_direct(
    tier: Tier,
    wasm: &[u8],
    params: &str,
    evs: &[(EventRecord, Option<BookRecord>)],
) -> Trace {
    let engine = Engine::new(Config::new().tier(tier));
    let mut inst = StrategyModule::new(&engine, wasm).unwrap().instantiate(params).unwrap();
    evs.iter()
        .map(|(ev, book)| {
            let acts = inst.on_event(ev, book.as_ref()).unwrap().to_vec();
            (ev.seq(), Some(inst.last_fuel()), acts)
        })
        .collect()
}

fn run_worker(
    tier: Tier,
    core: Option<usize>,
    wasm: Vec<u8>,
    params: &'static str,
    evs: &[(EventRecord, Option<BookRecord>)],
) -> Trace {
    let mut cfg = WorkerConfig::new();
    cfg.busy_poll(false).ring_capacity(evs.len() + 1).engine(Config::new().tier(tier).clone());
    if let Some(c) = core {
        cfg.core(c);
    }
    let mut worker = Worker::spawn(&cfg, move |engine| {
        let inst = StrategyModule::new(engine, &wasm)?.instantiate(params)?;
        Ok(vec![Box::new(inst) as Box<dyn StrategyRunner>])
    })
    .unwrap();
    if let Some(c) = core {
        assert_eq!(worker.info().cpu, Some(c), "sched_getcpu confirms the pin");
    }
    for (ev, book) in evs {
        worker.submit(ev, book.as_ref()).unwrap();
    }
    let mut trace = Trace::new();
    let mut pending = Vec::new();
    for out in worker.finish() {
        match out {
            Output::Action { action, .. } => pending.push(action),
            Output::Done { seq, fuel, .. } => trace.push((seq, fuel, std::mem::take(&mut pending))),
            Output::Failed { error, .. } => panic!("worker strategy failed: {error}"),
            _ => unreachable!("no other outputs exist"),
        }
    }
    trace
}

#[test]
fn same_stream_twice_gives_identical_actions_and_fuel() {
    let evs = events(3_000);
    for tier in Tier::ALL {
        for (name, wasm, params) in modules() {
            let a = run_direct(tier, &wasm, params, &evs);
            let b = run_direct(tier, &wasm, params, &evs);
            assert_eq!(a.len(), evs.len());
            assert!(a == b, "{name} on the {tier} tier: two runs differ");
        }
    }
}

#[test]
fn both_tiers_give_identical_actions() {
    let evs = events(3_000);
    for (name, wasm, params) in modules() {
        let interpreted = run_direct(Tier::Interpreter, &wasm, params, &evs);
        let compiled = run_direct(Tier::Compiled, &wasm, params, &evs);
        let mut actions = 0;
        for ((seq, _, a), (_, fuel, c)) in interpreted.iter().zip(&compiled) {
            assert_eq!(a, c, "{name}: the tiers' actions differ at seq {seq}");
            assert!(fuel.is_some_and(|f| f.0 > 0), "{name}: the compiled tier meters fuel");
            actions += a.len();
        }
        assert_eq!(interpreted.len(), compiled.len());
        eprintln!("{name}: {actions} identical actions over {} events", evs.len());
    }
}

#[test]
fn two_workers_on_different_cores_agree() {
    let cores: Vec<usize> = core_ids();
    let (c0, c1) = match cores.as_slice() {
        [a, b, ..] => (Some(*a), Some(*b)),
        [a] => (Some(*a), Some(*a)),
        [] => (None, None),
    };
    let evs = events(2_000);
    for tier in Tier::ALL {
        for (name, wasm, params) in modules() {
            let direct = run_direct(tier, &wasm, params, &evs);
            let w0 = run_worker(tier, c0, wasm.clone(), params, &evs);
            let w1 = run_worker(tier, c1, wasm, params, &evs);
            assert!(w0 == direct, "{name} ({tier}): worker on {c0:?} differs from a direct run");
            assert!(w1 == direct, "{name} ({tier}): worker on {c1:?} differs from a direct run");
        }
    }
}

#[test]
fn pinning_to_a_missing_core_says_so() {
    let mut cfg = WorkerConfig::new();
    cfg.core(100_000);
    let err = Worker::spawn(&cfg, |_| Ok(Vec::new())).unwrap_err();
    assert!(err.to_string().contains("core 100000"), "{err}");
}

fn core_ids() -> Vec<usize> {
    let mut ids = Vec::new();
    for c in 0..std::thread::available_parallelism().map_or(1, |n| n.get()) {
        let mut cfg = WorkerConfig::new();
        cfg.core(c).busy_poll(false);
        if Worker::spawn(&cfg, |_| Ok(Vec::new())).is_ok() {
            ids.push(c);
        }
    }
    ids
}
