//! Hot swap: a new version takes over at an event boundary, fresh or carrying the old state
//! through its `lockstep_migrate`, on each tier and across tiers, with no event lost or seen
//! twice; every refusal (no migration export, other globals, a migration that says no, traps
//! or runs out of fuel) is a typed error and the running version goes on untouched.

use crate::common::{REGIONS, engine_with_fuel, events, guest_module};
use lockstep_engine::sdk::{Action, BookRecord, EventRecord};
use lockstep_engine::{Error, Handover, Instance, Phase, StrategyModule, Tier};

/// Writes a Signal action `(id, value)` into the action region.
const SIGNAL: &str = r#"
  (func $signal (param $id i64) (param $value i64)
    (memory.fill (i32.const 128) (i32.const 0) (i32.const 64))
    (i32.store16 (i32.const 128) (i32.const 6))
    (i64.store (i32.const 160) (local.get $value))
    (i64.store (i32.const 168) (local.get $id)))"#;

/// Version 1: counts events at 0x600 and signals the count; state layout version 1.
fn v1() -> Vec<u8> {
    let on_event =
        "(i64.store (i32.const 0x600) (i64.add (i64.load (i32.const 0x600)) (i64.const 1)))
        (call $signal (i64.const 1) (i64.load (i32.const 0x600))) (i32.const 1)";
    let extra =
        format!(r#"{SIGNAL} (func (export "lockstep_state_version") (result i32) (i32.const 1))"#);
    guest_module(REGIONS, "(i32.const 0)", on_event, &extra)
}

/// Version 2: keeps ten times the count at 0x608 (another layout); `migrate` is the body of
/// its `lockstep_migrate` (parameter `$from`), or none; `extra` more items.
fn v2(migrate: Option<&str>, extra: &str) -> Vec<u8> {
    let init = "(i64.store (i32.const 0x608) (i64.const 1000)) (i32.const 0)";
    let on_event =
        "(i64.store (i32.const 0x608) (i64.add (i64.load (i32.const 0x608)) (i64.const 10)))
        (call $signal (i64.const 2) (i64.load (i32.const 0x608))) (i32.const 1)";
    let migrate = migrate.map_or(String::new(), |body| {
        format!(r#"(func (export "lockstep_migrate") (param $from i32) (result i32) {body})"#)
    });
    guest_module(REGIONS, init, on_event, &format!("{SIGNAL} {migrate} {extra}"))
}

/// Converts version 1's count, refuses any other version with a message.
const CONVERT: &str = r#"
    (if (i32.ne (local.get $from) (i32.const 1))
      (then (i32.store (i32.const 0x400) (i32.const 0x6e6b6e75)) (return (i32.const -4))))
    (i64.store (i32.const 0x608) (i64.mul (i64.load (i32.const 0x600)) (i64.const 10)))
    (i32.const 0)"#;

fn load(tier: Tier, wasm: &[u8]) -> StrategyModule {
    StrategyModule::new(&engine_with_fuel(tier, 1_000_000), wasm).unwrap()
}

/// The (id, value) of each event's signal.
fn signals(s: &mut Instance, evs: &[(EventRecord, Option<BookRecord>)]) -> Vec<(u32, i64)> {
    evs.iter()
        .map(|(ev, book)| match s.on_event(ev, book.as_ref()).unwrap()[0].decode() {
            Ok(Action::Signal { id, value, .. }) => (id, value),
            other => panic!("not a signal: {other:?}"),
        })
        .collect()
}

#[test]
fn a_new_version_takes_over_fresh_or_migrating_on_and_across_tiers() {
    let evs = events(100);
    let (head, tail) = evs.split_at(40);
    for from in [Tier::Interpreter, Tier::Compiled] {
        for to in [Tier::Interpreter, Tier::Compiled] {
            let mut old = load(from, &v1()).instantiate("").unwrap();
            let before = signals(&mut old, head);
            assert_eq!(before.last(), Some(&(1, 40)));
            let next = load(to, &v2(Some(CONVERT), ""));
            // Carried over: the 41st event is the 41st counted, in the new layout.
            let mut migrated = next.take_over(&mut old, Handover::Migrate).unwrap();
            assert!(migrated.actions().is_empty());
            let after = signals(&mut migrated, tail);
            let want: Vec<(u32, i64)> = (41..=100).map(|n| (2, n * 10)).collect();
            assert_eq!(after, want, "{from} -> {to}");
            // Fresh: init with parameters, the old state dropped.
            let mut fresh = next.take_over(&mut old, Handover::Fresh { params: "" }).unwrap();
            assert_eq!(signals(&mut fresh, &tail[..1]), [(2, 1010)], "{from} -> {to}");
            // Taking over left the old version as it was.
            assert_eq!(signals(&mut old, &tail[..1]), [(1, 41)], "{from} -> {to}");
        }
    }
}

/// A refused take-over: what is wrong, the new version, and the error expected.
type Refusal = (&'static str, Vec<u8>, fn(&Error) -> bool);

#[test]
fn every_refused_take_over_is_typed_and_the_running_version_goes_on() {
    let evs = events(10);
    let mutable = "(global $g (mut i32) (i32.const 0)) (func $touch (global.set $g (i32.const 1)))";
    let cases: [Refusal; 5] = [
        (
            "no lockstep_migrate",
            v2(None, ""),
            |e| matches!(e, Error::MigrationRefused { reason } if reason.contains("exports no lockstep_migrate")),
        ),
        (
            "other globals",
            v2(Some(CONVERT), mutable),
            |e| matches!(e, Error::MigrationRefused { reason } if reason.contains("mutable globals")),
        ),
        (
            "refuses",
            v2(Some("(i32.store (i32.const 0x400) (i32.const 0x656e6f6e)) (i32.const -4)"), ""),
            |e| matches!(e, Error::MigrationRefused { reason } if reason.contains("refused: none")),
        ),
        ("traps", v2(Some("unreachable"), ""), |e| {
            matches!(e, Error::Trap { phase: Phase::Migrate, .. })
        }),
        ("runs out of fuel", v2(Some("(loop $l (br $l)) (i32.const 0)"), ""), |e| {
            matches!(e, Error::OutOfFuel { phase: Phase::Migrate, .. })
        }),
    ];
    for tier in [Tier::Interpreter, Tier::Compiled] {
        for (what, wasm, expected) in &cases {
            let mut old = load(tier, &v1()).instantiate("").unwrap();
            signals(&mut old, &evs[..5]);
            let err = load(tier, wasm).take_over(&mut old, Handover::Migrate).unwrap_err();
            assert!(expected(&err), "{what} on {tier}: {err}");
            assert!(
                err.to_string().contains("the running version goes on")
                    || !matches!(err, Error::MigrationRefused { .. })
            );
            assert_eq!(
                signals(&mut old, &evs[5..]),
                [(1, 6), (1, 7), (1, 8), (1, 9), (1, 10)],
                "{what} on {tier}"
            );
        }
        // A halted version's state is not carried over.
        let halting = guest_module(REGIONS, "(i32.const 0)", "unreachable", "");
        let mut old = load(tier, &halting).instantiate("").unwrap();
        assert!(old.on_event(&evs[0].0, None).is_err());
        let err =
            load(tier, &v2(Some(CONVERT), "")).take_over(&mut old, Handover::Migrate).unwrap_err();
        assert!(
            matches!(&err, Error::MigrationRefused { reason } if reason.contains("halted")),
            "{err}"
        );
    }
}
