//! A generated corpus of venue-abusing modules, each run on both tiers over a tape with a
//! two-hour gap in it: every run finishes, no strategy makes more calls than a no-op strategy
//! plus its venue-work allowance (the reserve plus a share per tape event), and the two tiers
//! halt the same strategy at the same event with the same digest.
//!
//! The modules cover what keeps a venue busy: orders with fresh or re-used ids, market orders,
//! cancels and replaces of unknown orders (rejected every time) and timers re-armed 1 ns, 1 us
//! and 1 ms ahead; 1, 3 or 50 a call; sent on every event or only on the venue's answers (a
//! loop that sustains itself); at zero, 1 ns and the default latency.

use lockstep_engine::Tier;
use lockstep_host::{HostSession, StrategySource, StrategySpec};
use lockstep_sim::{
    EventSource, MemorySource, RunReport, Session, SessionConfig, Synth, SynthConfig, VenueBudget,
    VenueBudgets, hex,
};
use std::collections::BTreeMap;

/// What an abusive module sends.
#[derive(Clone, Copy, Debug)]
enum Act {
    /// A buy limit far below the market with a fresh id: rests.
    FreshLimit,
    /// A buy limit with id 7 every time: the first rests, the rest are rejected as duplicates.
    SameLimit,
    /// A market buy with a fresh id: fills or is rejected on an empty side.
    Market,
    /// A cancel of an order that never existed: rejected.
    CancelUnknown,
    /// A replace of an order that never existed: rejected.
    ReplaceUnknown,
    /// Timer 1 re-armed this many ns after the event's local time.
    Timer(i64),
}

/// When it sends.
#[derive(Clone, Copy, Debug)]
enum Trigger {
    /// On every event.
    Every,
    /// On its first event, then only on the venue's answers and timers: a self-sustaining loop.
    Answers,
}

/// The action record `act` writes into slot `$i` (ABI v1 layout).
fn action_wat(act: Act) -> String {
    let (kind, id, a) = match act {
        Act::FreshLimit => (1, "(call $fresh)", "(i64.const 0)"),
        Act::SameLimit => (1, "(i64.const 7)", "(i64.const 0)"),
        Act::Market => (2, "(call $fresh)", "(i64.const 0)"),
        Act::CancelUnknown => (3, "(i64.const 999999)", "(i64.const 0)"),
        Act::ReplaceUnknown => (4, "(i64.const 999999)", "(i64.const 0)"),
        Act::Timer(_) => {
            (5, "(i64.const 1)", "(i64.add (i64.load (i32.const 0x58)) (local.get $d))")
        }
    };
    let d = if let Act::Timer(d) = act { d } else { 0 };
    format!(
        "(local.set $d (i64.const {d}))
         (local.set $a (i32.add (i32.const 0x10000) (i32.mul (local.get $i) (i32.const 64))))
         (memory.fill (local.get $a) (i32.const 0) (i32.const 64))
         (i32.store16 (local.get $a) (i32.const {kind}))
         (i32.store8 offset=4 (local.get $a) (i32.const {side}))
         (i64.store offset=8 (local.get $a) {id})
         (i64.store offset=16 (local.get $a) (i64.const {px}))
         (i64.store offset=24 (local.get $a) (i64.const 100000000))
         (i64.store offset=32 (local.get $a) {a})",
        side = if matches!(act, Act::Timer(_) | Act::CancelUnknown) { 0 } else { 1 },
        px = if matches!(act, Act::Market | Act::Timer(_) | Act::CancelUnknown) {
            0
        } else {
            100_000_000
        },
    )
}

/// An ABI v1 module without the SDK that sends `n` of `act` a call when `trigger` says.
fn module(act: Act, n: u32, trigger: Trigger) -> Vec<u8> {
    let fire = match trigger {
        Trigger::Every => "(i32.const 1)".to_owned(),
        // The first event, or an answer or timer (kinds 4..=8).
        Trigger::Answers => "(i32.or (i64.eqz (global.get $calls))
                                   (i32.ge_u (i32.load16_u (i32.const 0x40)) (i32.const 4)))"
            .to_owned(),
    };
    let wat = format!(
        r#"(module
  (import "lockstep" "memory" (memory 2))
  (data (i32.const 0)
    "\01\00\00\00" "\40\00\00\00" "\00\00\01\00" "\00\04\00\00"
    "\00\02\00\00" "\00\04\00\00" "\00\01\00\00" "\00\00\00\00")
  (global $next (mut i64) (i64.const 1))
  (global $calls (mut i64) (i64.const 0))
  (func (export "lockstep_abi_version") (result i32) (i32.const 1))
  (func (export "lockstep_regions") (result i32) (i32.const 0))
  (func (export "lockstep_init") (param i32) (result i32) (i32.const 0))
  (func $fresh (result i64)
    (global.set $next (i64.add (global.get $next) (i64.const 1)))
    (global.get $next))
  (func (export "lockstep_on_event") (result i32)
    (local $i i32) (local $a i32) (local $d i64) (local $fire i32)
    (local.set $fire {fire})
    (global.set $calls (i64.add (global.get $calls) (i64.const 1)))
    (if (i32.eqz (local.get $fire)) (then (return (i32.const 0))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (i32.const {n})))
        {action}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.const {n})))"#,
        action = action_wat(act)
    );
    wat::parse_str(&wat).expect("generated WAT parses")
}

/// The no-op module: the baseline a run's cost is measured against.
fn noop() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "lockstep" "memory" (memory 2))
  (data (i32.const 0)
    "\01\00\00\00" "\40\00\00\00" "\00\00\01\00" "\00\04\00\00"
    "\00\02\00\00" "\00\04\00\00" "\00\01\00\00" "\00\00\00\00")
  (func (export "lockstep_abi_version") (result i32) (i32.const 1))
  (func (export "lockstep_regions") (result i32) (i32.const 0))
  (func (export "lockstep_init") (param i32) (result i32) (i32.const 0))
  (func (export "lockstep_on_event") (result i32) (i32.const 0)))"#,
    )
    .expect("no-op WAT parses")
}

/// 1,000 synthetic events with two hours of silence after the 500th.
fn tape() -> MemorySource {
    let mut synth = Synth::new(SynthConfig { events: 1_000, ..SynthConfig::default() });
    let all = MemorySource::load(&mut synth).expect("synthetic market");
    let mut events = all.events().to_vec();
    let gap = 2 * 3_600 * 1_000_000_000i64;
    for e in &mut events[500..] {
        e.local_ts.0 += gap;
        e.exchange_ts.0 += gap;
    }
    MemorySource::new(synth.header().clone(), events)
}

/// A small reserve, so the whole corpus runs in seconds; the share per event is the default.
const BUDGETS: VenueBudgets = VenueBudgets { work_reserve: 20_000, ..VenueBudgets::DEFAULT };

fn run(tape: &MemorySource, bytes: &[u8], tier: Tier, latency_ns: i64) -> RunReport {
    let spec = StrategySpec {
        name: "abuse".to_owned(),
        source: StrategySource::WasmFile { path: "abuse.wasm".into(), bytes: bytes.into() },
        params: String::new(),
    };
    let mut cfg = SessionConfig { tier, measure_latency: false, ..SessionConfig::default() };
    cfg.exchange.budgets = BUDGETS;
    cfg.exchange.latency.entry.0 = latency_ns;
    cfg.exchange.latency.feed.0 = latency_ns;
    let mut src = tape.rewind();
    let s = Session::load(src.header(), &[spec], cfg).expect("the module loads");
    s.run(&mut src, &mut |_| {}).expect("the run finishes").report
}

#[test]
fn every_venue_abusing_module_is_halted_within_its_work_allowance_on_both_tiers() {
    let tape = tape();
    let n_events = tape.events().len() as u64;
    let acts = [
        Act::FreshLimit,
        Act::SameLimit,
        Act::Market,
        Act::CancelUnknown,
        Act::ReplaceUnknown,
        Act::Timer(1),
        Act::Timer(1_000),
        Act::Timer(1_000_000),
    ];
    let mut halts: BTreeMap<String, u32> = BTreeMap::new();
    let mut bad = Vec::new();
    let mut modules = 0;
    for latency in [0, 1, 20_000] {
        let base = run(&tape, &noop(), Tier::Interpreter, latency);
        assert_eq!(base.events, n_events);
        let allowance = BUDGETS.work_reserve + BUDGETS.work_per_event * n_events;
        let bound = base.strategy_events + allowance + 1;
        for act in acts {
            for n in [1, 3, 50] {
                for trigger in [Trigger::Every, Trigger::Answers] {
                    modules += 1;
                    let m = module(act, n, trigger);
                    let case = format!("{act:?} x{n} {trigger:?} at {latency} ns");
                    let [i, c] = Tier::ALL.map(|t| run(&tape, &m, t, latency));
                    let (si, sc) = (&i.strategies[0], &c.strategies[0]);
                    if i.events != n_events {
                        bad.push(format!("{case}: {} of {n_events} tape events", i.events));
                    }
                    if si.events > bound {
                        bad.push(format!("{case}: {} calls, bound {bound}", si.events));
                    }
                    if (si.digest, &si.halted, si.events) != (sc.digest, &sc.halted, sc.events) {
                        bad.push(format!(
                            "{case}: tiers differ: {} {:?} vs {} {:?}",
                            hex(&si.digest),
                            si.halted,
                            hex(&sc.digest),
                            sc.halted
                        ));
                    }
                    let why = si.exchange.budget_exceeded.map_or("not halted", |b| b.budget.name());
                    *halts.entry(why.to_owned()).or_default() += 1;
                }
            }
        }
    }
    eprintln!("{modules} modules on both tiers: {halts:#?}");
    assert!(bad.is_empty(), "{} of {modules} cases failed:\n{}", bad.len(), bad.join("\n"));
    // The loops that let tape time pass are the ones only the work budget stops.
    assert!(halts.get(VenueBudget::Work.name()).copied().unwrap_or(0) > 0, "{halts:#?}");
}
