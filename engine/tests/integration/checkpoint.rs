//! Checkpoint and restore: straight = checkpointed-then-restored for every built-in strategy,
//! on each tier and across tiers, and every kind of bad checkpoint refused with a typed error
//! while the running instance is untouched.

use crate::common::{MID_WAT, engine_with_fuel, events, guest, wasm};
use lockstep_engine::sdk::{BookRecord, EventRecord};
use lockstep_engine::{
    CheckpointError, Config, Engine, Error, Instance, StrategyModule, Tier, WASM_PAGE,
};

const FUEL: u64 = 50_000_000;

/// Actions' bytes and fuel of each event.
type Trace = Vec<(Vec<u8>, u64)>;

fn run(instance: &mut Instance, events: &[(EventRecord, Option<BookRecord>)]) -> Trace {
    events
        .iter()
        .map(|(ev, book)| {
            let bytes = match instance.on_event(ev, book.as_ref()) {
                Ok(actions) => actions.iter().flat_map(|a| a.0).collect(),
                Err(e) => format!("error {}", e.code()).into_bytes(),
            };
            (bytes, instance.last_fuel().0)
        })
        .collect()
}

fn load(tier: Tier, wasm: &[u8]) -> StrategyModule {
    StrategyModule::new(&engine_with_fuel(tier, FUEL), wasm).unwrap()
}

#[test]
fn straight_equals_restored_for_every_builtin_on_and_across_tiers() {
    let evs = events(600);
    let (head, tail) = evs.split_at(257);
    for info in lockstep_strategies::all() {
        let straight: [Trace; 2] = [Tier::Interpreter, Tier::Compiled].map(|tier| {
            let mut s = load(tier, info.wasm).instantiate(info.default_params).unwrap();
            run(&mut s, &evs)
        });
        assert_eq!(straight[0], straight[1], "{}: actions and fuel on both tiers", info.name);
        for from in [Tier::Interpreter, Tier::Compiled] {
            let mut first = load(from, info.wasm).instantiate(info.default_params).unwrap();
            run(&mut first, head);
            let bytes = first.checkpoint();
            for to in [Tier::Interpreter, Tier::Compiled] {
                let mut resumed = load(to, info.wasm).restore(&bytes).unwrap();
                let rest = run(&mut resumed, tail);
                let reference = &straight[usize::from(to == Tier::Compiled)][head.len()..];
                let actions =
                    |t: &[(Vec<u8>, u64)]| t.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
                assert_eq!(actions(&rest), actions(reference), "{} {from} -> {to}", info.name);
                // Fuel too: equal to the straight run (the same on both tiers).
                assert_eq!(rest, reference, "{} fuel {from} -> {to}", info.name);
                // And the original instance is untouched by having been checkpointed.
            }
            let rest = run(&mut first, tail);
            assert_eq!(rest[..], straight[usize::from(from == Tier::Compiled)][head.len()..]);
        }
    }
}

#[test]
fn a_checkpoint_is_the_same_bytes_on_both_tiers() {
    let evs = events(300);
    for info in lockstep_strategies::all() {
        let [a, b] = [Tier::Interpreter, Tier::Compiled].map(|tier| {
            let mut s = load(tier, info.wasm).instantiate(info.default_params).unwrap();
            run(&mut s, &evs);
            s.checkpoint()
        });
        assert!(a == b, "{}: checkpoints differ between tiers", info.name);
    }
}

#[test]
fn globals_and_halted_state_survive() {
    // A guest whose answer depends on a mutable global it bumps on every event.
    let counter = guest(
        "(global.set $n (i32.add (global.get $n) (i32.const 1)))
         (if (i32.eq (global.get $n) (i32.const 3)) (then unreachable))
         (i32.const 0)",
        "(global $n (mut i32) (i32.const 0))",
    );
    let evs = events(4);
    for (from, to) in [(Tier::Interpreter, Tier::Compiled), (Tier::Compiled, Tier::Interpreter)] {
        let mut a = load(from, &counter).instantiate("").unwrap();
        run(&mut a, &evs[..2]);
        let mut b = load(to, &counter).restore(&a.checkpoint()).unwrap();
        // The global says 2, so the third event traps on the restored instance too.
        assert!(matches!(b.on_event(&evs[2].0, None), Err(Error::Trap { .. })));
        assert!(b.is_halted());
        let mut c = load(from, &counter).restore(&b.checkpoint()).unwrap();
        assert!(c.is_halted());
        assert!(matches!(c.on_event(&evs[3].0, None), Err(Error::Halted { .. })));
    }
}

#[test]
fn bad_checkpoints_are_refused_with_typed_errors() {
    let evs = events(50);
    let info = lockstep_strategies::get("avellaneda-stoikov").unwrap();
    for tier in [Tier::Interpreter, Tier::Compiled] {
        let module = load(tier, info.wasm);
        let mut live = module.instantiate(info.default_params).unwrap();
        run(&mut live, &evs[..25]);
        let good = live.checkpoint();
        let refused = |bytes: &[u8]| match module.restore(bytes) {
            Err(Error::Checkpoint(e)) => e,
            other => panic!("expected a checkpoint error, got {other:?}"),
        };
        assert_eq!(refused(b"not a checkpoint"), CheckpointError::NotACheckpoint);
        for cut in [13, 40, 80, good.len() / 2, good.len() - 1] {
            assert!(matches!(refused(&good[..cut]), CheckpointError::Truncated { .. }), "{cut}");
        }
        let mut flipped = good.clone();
        let at = flipped.len() - 100;
        flipped[at] ^= 1;
        assert!(matches!(refused(&flipped), CheckpointError::Corrupt { .. }));
        let mut version = good.clone();
        version[12] = 9;
        assert_eq!(refused(&version), CheckpointError::FormatVersion { found: 9 });
        let other = load(tier, &wasm(MID_WAT));
        let e = other.restore(&good).unwrap_err();
        assert!(matches!(e, Error::Checkpoint(CheckpointError::OtherModule { .. })), "{e}");
        assert!(e.to_string().contains("another module"), "{e}");
        // The live instance carries on as if nothing happened.
        let mut twin = module.restore(&good).unwrap();
        assert_eq!(run(&mut live, &evs[25..]), run(&mut twin, &evs[25..]));
    }
}

#[test]
fn a_checkpoint_larger_than_the_memory_limit_is_refused() {
    // A guest that grows its memory by a page on its first event.
    let grower = guest("(drop (memory.grow (i32.const 1))) (i32.const 0)", "");
    for tier in [Tier::Interpreter, Tier::Compiled] {
        let mut a = load(tier, &grower).instantiate("").unwrap();
        run(&mut a, &events(1));
        assert_eq!(a.memory_size(), 2 * WASM_PAGE);
        let mut one_page = Config::new();
        one_page.tier(tier).max_memory_pages(1);
        let m = StrategyModule::new(&Engine::new(&one_page), &grower).unwrap();
        let e = m.restore(&a.checkpoint()).unwrap_err();
        assert_eq!(
            e,
            Error::Checkpoint(CheckpointError::MemoryTooLarge {
                bytes: 2 * WASM_PAGE as u64,
                limit: WASM_PAGE
            })
        );
        assert!(e.to_string().contains("max_memory_pages"), "{e}");
    }
}

#[test]
fn precompiled_modules_keep_the_source_hash() {
    let info = lockstep_strategies::get("microprice").unwrap();
    let engine = engine_with_fuel(Tier::Compiled, FUEL);
    let artefact = StrategyModule::precompile(&engine, info.wasm).unwrap();
    let from_aot = StrategyModule::from_precompiled(&engine, &artefact).unwrap();
    let interp = load(Tier::Interpreter, info.wasm);
    assert_eq!(from_aot.sha256(), interp.sha256());
    let mut a = interp.instantiate(info.default_params).unwrap();
    run(&mut a, &events(40));
    let mut b = from_aot.restore(&a.checkpoint()).unwrap();
    let tail = &events(80)[40..];
    let actions = |t: Trace| t.into_iter().map(|x| x.0).collect::<Vec<_>>();
    assert_eq!(actions(run(&mut a, tail)), actions(run(&mut b, tail)));
}
