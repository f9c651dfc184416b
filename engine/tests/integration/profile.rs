//! Fuel profiles (`Config::fuel_profile`): the profiled module spends the same fuel and returns
//! the same actions as the plain one, the call tree holds every unit of fuel where it was
//! spent (tail calls and traps included), and both tiers build the same tree.

use crate::common::{events, guest};
use lockstep_engine::{Config, Engine, Error, Fuel, FuelProfile, StrategyModule, Tier};

/// Functions, by index: 0 `$work` (a loop of up to 15 turns), 1 `$rec` (counts down by tail
/// calls), 2 `$spin` (never ends), then the ABI's four, `lockstep_on_event` last (6). The
/// 40th event spins until the fuel is spent.
fn module() -> Vec<u8> {
    guest(
        r#"(global.set $n (i32.add (global.get $n) (i32.const 1)))
           (call $work (i32.and (i32.load8_u (i32.const 72)) (i32.const 15)))
           (call $rec (i32.const 3))
           (if (i32.eq (global.get $n) (i32.const 40)) (then (call $spin)))
           (i32.const 0)"#,
        r#"(global $n (mut i32) (i32.const 0))
           (func $work (param $k i32)
             (loop $l
               (local.set $k (i32.sub (local.get $k) (i32.const 1)))
               (br_if $l (i32.gt_s (local.get $k) (i32.const 0)))))
           (func $rec (param $n i32)
             (if (local.get $n)
               (then (return_call $rec (i32.sub (local.get $n) (i32.const 1))))))
           (func $spin (loop $l (br $l)))"#,
    )
}

/// Fuel of each of the first 40 events (`None`: halted), and the events' profile.
fn run(tier: Tier, profile: bool) -> (Vec<Option<u64>>, Option<FuelProfile>) {
    let mut c = Config::new();
    c.tier(tier).fuel_per_event(Fuel(5_000)).fuel_profile(profile);
    let mut inst =
        StrategyModule::new(&Engine::new(&c), &module()).unwrap().instantiate("").unwrap();
    assert_eq!(inst.take_fuel_profile().is_some(), profile);
    let fuel = events(40)
        .iter()
        .map(|(ev, book)| match inst.on_event(ev, book.as_ref()) {
            Ok(a) => {
                assert!(a.is_empty());
                Some(inst.last_fuel().0)
            }
            Err(Error::OutOfFuel { .. }) => None,
            Err(e) => panic!("{e}"),
        })
        .collect();
    (fuel, inst.take_fuel_profile())
}

#[test]
fn a_profile_holds_every_unit_of_fuel_where_it_was_spent_alike_on_both_tiers() {
    let (plain, none) = run(Tier::Interpreter, false);
    assert!(none.is_none());
    assert_eq!(plain[39], None, "the 40th event spins out of fuel");
    let mut trees = Vec::new();
    for tier in [Tier::Interpreter, Tier::Compiled] {
        let (fuel, profile) = run(tier, true);
        assert_eq!(fuel, plain, "{tier}: profiling changed the fuel");
        let p = profile.unwrap();
        let spent: u64 = plain.iter().map(|f| f.unwrap_or(5_000)).sum();
        assert_eq!(p.total_fuel(), spent, "{tier}");
        let stacks: Vec<(Vec<u32>, u64)> =
            (0..p.nodes().len()).map(|n| (p.stack(n), p.nodes()[n].self_fuel)).collect();
        let stack_list: Vec<&[u32]> = stacks.iter().map(|(s, _)| s.as_slice()).collect();
        // A tail call replaces its caller: `$rec` never sits on itself.
        assert_eq!(stack_list, [&[][..], &[6], &[6, 0], &[6, 1], &[6, 2]], "{tier}");
        // The spin took the rest of the 40th event's budget, less what came before it.
        assert!(stacks[4].1 > 4_800 && stacks[4].1 < 5_000, "{stacks:?}");
        assert!(!p.is_truncated());
        trees.push(stacks);
    }
    assert_eq!(trees[0], trees[1], "the tiers' profiles differ");
}

#[test]
fn a_module_may_not_import_the_profiles_host_functions() {
    let bytes = guest(
        "(call $enter (i32.const 0) (i64.const 0)) (i32.const 0)",
        r#"(import "lockstep:profile" "enter" (func $enter (param i32 i64)))"#,
    );
    let mut c = Config::new();
    c.fuel_profile(true);
    for tier in [Tier::Interpreter, Tier::Compiled] {
        c.tier(tier);
        match StrategyModule::new(&Engine::new(&c), &bytes) {
            Err(Error::Unportable { reason }) => assert!(reason.contains("reserved"), "{reason}"),
            other => panic!("{tier}: {:?}", other.map(|_| ())),
        }
    }
}
