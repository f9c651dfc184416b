//! The hostile-module suite: every kind is refused at load or contained as a typed error, and a
//! healthy strategy on the same engine keeps producing correct output throughout. Every case
//! runs on both tiers, which must give the same error.

use crate::common::{MID_WAT, engine_with_fuel, events, guest, healthy, wasm};
use lockstep_engine::{
    CacheUse, Config, Engine, Error, Fuel, GuestStatus, Phase, StrategyModule, Tier, TrapKind,
};
use lockstep_sdk::{Action, EventBody};

/// Checks the healthy WAT strategy still answers correctly on the same engine.
fn assert_healthy_output(engine: &Engine) {
    let mut h = healthy(engine);
    for (ev, book) in events(200) {
        let decoded = ev.decode().unwrap();
        let acts = h.on_event(&ev, book.as_ref()).expect("healthy strategy keeps working");
        if let EventBody::Quote(q) = decoded.body {
            let want = (q.bid.px.raw() + q.ask.px.raw()) / 2;
            assert_eq!(
                acts[0].decode().unwrap(),
                Action::Signal { instrument: decoded.h.instrument, id: 1, value: want }
            );
        }
    }
}

/// Runs a runtime-hostile guest beside a healthy one on every tier and returns the hostile's
/// first error, which must be the same on every tier.
fn contain(bytes: &[u8]) -> Error {
    same_on_every_tier(|tier| contain_on(tier, bytes))
}

fn same_on_every_tier(f: impl Fn(Tier) -> Error) -> Error {
    let reference = f(Tier::Interpreter);
    for tier in Tier::ALL {
        assert_eq!(f(tier), reference, "the {tier} tier disagrees with the interpreter");
    }
    reference
}

fn contain_on(tier: Tier, bytes: &[u8]) -> Error {
    let engine = engine_with_fuel(tier, 100_000);
    let module = StrategyModule::new(&engine, bytes).expect("loads; fails only when run");
    let mut bad = module.instantiate("").unwrap();
    let mut good = healthy(&engine);
    let evs = events(10);
    let err = bad.on_event(&evs[0].0, None).unwrap_err();
    assert!(bad.is_halted(), "{err} should halt the instance");
    assert!(matches!(bad.on_event(&evs[1].0, None), Err(Error::Halted { seq: 1 })));
    for (ev, book) in &evs {
        good.on_event(ev, book.as_ref()).expect("healthy neighbour unaffected");
    }
    assert_healthy_output(&engine);
    err
}

fn refuse(bytes: &[u8]) -> Error {
    same_on_every_tier(|tier| refuse_on(tier, bytes))
}

fn refuse_on(tier: Tier, bytes: &[u8]) -> Error {
    let engine = engine_with_fuel(tier, 100_000);
    let err = StrategyModule::new(&engine, bytes).unwrap_err();
    assert_healthy_output(&engine);
    err
}

#[test]
fn infinite_loop_runs_out_of_fuel_naming_the_event() {
    let e = contain(&guest("(loop $l (br $l)) (i32.const 0)", ""));
    assert_eq!(e, Error::OutOfFuel { phase: Phase::Event(0), budget: 100_000 });
    assert!(e.to_string().contains("event seq 0"), "{e}");
}

#[test]
fn unbounded_recursion_exhausts_the_stack() {
    let e = contain(&guest("(call $on_event)", ""));
    assert_eq!(e, Error::Trap { phase: Phase::Event(0), kind: TrapKind::StackExhausted });
}

#[test]
fn growing_memory_past_the_limit_is_refused() {
    let body = "(loop $l (drop (memory.grow (i32.const 8))) (br $l)) (i32.const 0)";
    let e = contain(&guest(body, ""));
    assert!(matches!(e, Error::MemoryLimit { phase: Phase::Event(0), limit_pages: 16 }), "{e:?}");
}

#[test]
fn huge_declared_memory_is_refused_at_load() {
    let bytes = wasm(
        r#"(module (import "lockstep" "memory" (memory 60000))
        (func (export "lockstep_abi_version") (result i32) (i32.const 1)))"#,
    );
    assert_eq!(refuse(&bytes), Error::MemoryTooLarge { declared_pages: 60000, limit_pages: 16 });
}

#[test]
fn own_memory_instead_of_the_import_is_refused() {
    let bytes = wasm(r#"(module (memory (export "memory") 30000))"#);
    assert_eq!(refuse(&bytes), Error::MissingMemoryImport);
}

#[test]
fn forbidden_imports_are_refused_by_name() {
    for (module, name) in [("wasi_snapshot_preview1", "fd_write"), ("lockstep", "clock_now")] {
        let extra = format!(r#"(import "{module}" "{name}" (func (param i32)))"#);
        let bytes = wasm(&format!(r#"(module {extra} (import "lockstep" "memory" (memory 1)))"#));
        let e = refuse(&bytes);
        assert_eq!(e, Error::ForbiddenImport { module: module.into(), name: name.into() });
        assert!(e.to_string().contains(&format!("{module}.{name}")));
    }
}

#[test]
fn start_function_that_never_returns_is_stopped_at_load() {
    let bytes = guest("(i32.const 0)", "(func $spin (loop $l (br $l))) (start $spin)");
    assert_eq!(refuse(&bytes), Error::OutOfFuel { phase: Phase::Load, budget: 1_000_000 });
}

#[test]
fn unreachable_trap_is_contained() {
    let e = contain(&guest("unreachable", ""));
    assert_eq!(e, Error::Trap { phase: Phase::Event(0), kind: TrapKind::Unreachable });
}

#[test]
fn out_of_bounds_access_is_contained() {
    let e = contain(&guest("(i32.load (i32.const 0x7ffffff0))", ""));
    assert_eq!(e, Error::Trap { phase: Phase::Event(0), kind: TrapKind::MemoryOutOfBounds });
}

#[test]
fn division_by_zero_is_contained() {
    let body = "(i32.div_u (i32.const 1) (i32.load (i32.const 2000)))";
    let e = contain(&guest(body, ""));
    assert_eq!(e, Error::Trap { phase: Phase::Event(0), kind: TrapKind::DivisionByZero });
}

#[test]
fn malformed_bytes_are_refused() {
    for bytes in [&b"not wasm at all"[..], b"\0asm\x01\0\0\0\x01\xff\xff", b""] {
        let e = refuse(bytes);
        assert!(matches!(e, Error::Malformed { .. }), "{e:?}");
        assert!(!e.to_string().contains('\n'), "one-line message: {e}");
    }
}

#[test]
fn wrong_abi_version_is_refused() {
    for v in [0, 3, -1] {
        let bytes = wasm(&MID_WAT.replace(
            r#"(func (export "lockstep_abi_version") (result i32) (i32.const 1))"#,
            &format!(r#"(func (export "lockstep_abi_version") (result i32) (i32.const {v}))"#),
        ));
        assert_eq!(refuse(&bytes), Error::AbiVersion { found: v, expected: 2 });
    }
    // Version 2 from the export, 1 in the descriptor: the module contradicts itself.
    let bytes = wasm(&MID_WAT.replace(
        r#"(func (export "lockstep_abi_version") (result i32) (i32.const 1))"#,
        r#"(func (export "lockstep_abi_version") (result i32) (i32.const 2))"#,
    ));
    assert!(matches!(refuse(&bytes), Error::BadRegions { .. }), "{:?}", refuse(&bytes));
}

#[test]
fn missing_export_is_refused() {
    let bytes = wasm(&MID_WAT.replace(r#"(export "lockstep_on_event")"#, ""));
    assert_eq!(refuse(&bytes), Error::MissingExport { name: "lockstep_on_event" });
}

#[test]
fn wrong_export_signature_is_refused() {
    let bytes = wasm(&MID_WAT.replace(
        r#"(func (export "lockstep_regions") (result i32) (i32.const 0))"#,
        r#"(func (export "lockstep_regions") (result i64) (i64.const 0))"#,
    ));
    assert!(matches!(refuse(&bytes), Error::BadSignature { name: "lockstep_regions", .. }));
}

#[test]
fn regions_outside_memory_are_refused() {
    let bytes = wasm(
        &MID_WAT.replace(r#""\40\00\00\00" "\80\00\00\00""#, r#""\00\00\01\00" "\80\00\00\00""#),
    );
    assert!(matches!(refuse(&bytes), Error::BadRegions { .. }));
}

#[test]
fn oversized_module_is_refused() {
    for tier in Tier::ALL {
        let mut c = Config::new();
        c.tier(tier).max_module_bytes(64);
        let engine = Engine::new(&c);
        let e = StrategyModule::new(&engine, &wasm(MID_WAT)).unwrap_err();
        assert!(matches!(e, Error::ModuleTooLarge { limit: 64, .. }));
    }
}

#[test]
fn init_refusal_carries_the_strategy_message() {
    for tier in Tier::ALL {
        let engine = engine_with_fuel(tier, 100_000);
        let module = StrategyModule::new(&engine, &wasm(MID_WAT)).unwrap();
        let e = module.instantiate("fail").unwrap_err();
        assert_eq!(e, Error::InitRejected { message: "refused!".into() });
    }
}

#[test]
fn guest_panic_message_reaches_the_host() {
    let extra = r#"(import "lockstep" "fail" (func $fail (param i32 i32)))
                   (data (i32.const 3000) "boom: inventory limit")"#;
    let e = contain(&guest("(call $fail (i32.const 3000) (i32.const 21)) (i32.const 0)", extra));
    assert_eq!(
        e,
        Error::GuestPanic { phase: Phase::Event(0), message: "boom: inventory limit".into() }
    );
}

#[test]
fn impossible_action_count_is_contained() {
    let e = contain(&guest("(i32.const 1000)", ""));
    assert_eq!(
        e,
        Error::Guest {
            phase: Phase::Event(0),
            error: GuestStatus::TooManyActions { count: 1000, cap: 4 }
        }
    );
}

#[test]
fn long_guest_call_keeps_the_host_stack_flat() {
    // Fifty million instructions in one call, on a thread with a 256 KiB stack: the interpreter
    // must not grow the host stack per instruction (see the wasmi profile note in Cargo.toml).
    for tier in Tier::ALL {
        let bytes = guest("(loop $l (br $l)) (i32.const 0)", "");
        let outcome = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let engine = engine_with_fuel(tier, 50_000_000);
                let module = StrategyModule::new(&engine, &bytes).unwrap();
                module.instantiate("").unwrap().on_event(&events(1)[0].0, None).unwrap_err()
            })
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert_eq!(outcome, Error::OutOfFuel { phase: Phase::Event(0), budget: 50_000_000 });
    }
}

#[test]
fn memory_imported_as_a_global_is_named_as_such() {
    let bytes = wasm(r#"(module (import "lockstep" "memory" (global i32)))"#);
    let e = refuse(&bytes);
    assert!(matches!(e, Error::BadSignature { name: "lockstep.memory", .. }), "{e:?}");
    assert!(e.to_string().contains("a memory"), "{e}");
}

#[test]
fn precompiled_artefacts_load_and_anything_else_is_refused() {
    let mut c = Config::new();
    c.tier(Tier::Compiled);
    let engine = Engine::new(&c);
    let artefact = StrategyModule::precompile(&engine, &wasm(MID_WAT)).unwrap();
    let module = StrategyModule::from_precompiled(&engine, &artefact).unwrap();
    let mut inst = module.instantiate("").unwrap();
    let mut reference = healthy(&engine_with_fuel(Tier::Interpreter, 100_000));
    for (ev, book) in events(300) {
        let a = inst.on_event(&ev, book.as_ref()).unwrap().to_vec();
        assert_eq!(a, reference.on_event(&ev, book.as_ref()).unwrap());
    }
    let refused = |bytes: &[u8]| match StrategyModule::from_precompiled(&engine, bytes) {
        Err(Error::Artefact { reason }) => reason,
        other => panic!("expected Error::Artefact, got {other:?}"),
    };
    // A plain .wasm, garbage, a truncated artefact, one flipped byte of code.
    assert!(refused(&wasm(MID_WAT)).contains("not a Lockstep precompiled module"));
    assert!(refused(b"LOCKSTEP-AOT").contains("not a Lockstep precompiled module"));
    assert!(refused(&artefact[..artefact.len() - 10]).contains("truncated"));
    let mut flipped = artefact.clone();
    let last = flipped.len() - 100;
    flipped[last] ^= 0x40;
    assert!(refused(&flipped).contains("corrupted"));
    // Another configuration of the compiled tier.
    let mut other = Config::new();
    other.tier(Tier::Compiled).compiled_stack_bytes(256 << 10);
    let other = Engine::new(&other);
    let e = StrategyModule::from_precompiled(&other, &artefact).unwrap_err();
    assert!(matches!(e, Error::Artefact { .. }), "{e:?}");
    assert!(e.to_string().contains("another Lockstep build"), "{e}");
    // The interpreter has no use for native code.
    let interp = engine_with_fuel(Tier::Interpreter, 100_000);
    assert!(matches!(
        StrategyModule::from_precompiled(&interp, &artefact),
        Err(Error::WrongTier { needs: Tier::Compiled, engine: Tier::Interpreter })
    ));
    assert!(matches!(
        StrategyModule::precompile(&interp, &wasm(MID_WAT)),
        Err(Error::WrongTier { .. })
    ));
}

/// The artefact cache: compiled once, loaded afterwards; a damaged entry is compiled again and
/// replaced, an unwritable cache costs only the compile, and every load runs the same.
#[test]
fn the_artefact_cache_loads_native_code_and_survives_damage() {
    let dir = std::env::temp_dir().join(format!("lockstep-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cached = |dir: &std::path::Path, init_fuel: u64| {
        let mut c = Config::new();
        c.tier(Tier::Compiled).init_fuel(Fuel(init_fuel)).artefact_cache(Some(dir.to_owned()));
        StrategyModule::new(&Engine::new(&c), &wasm(MID_WAT)).unwrap()
    };
    let run = |module: &StrategyModule| {
        let mut inst = module.instantiate("").unwrap();
        events(200)
            .iter()
            .map(|(ev, book)| inst.on_event(ev, book.as_ref()).unwrap().to_vec())
            .collect::<Vec<_>>()
    };
    let first = cached(&dir, 1_000_000);
    assert_eq!(first.artefact_cache(), &CacheUse::Stored);
    let again = cached(&dir, 1_000_000);
    assert_eq!(again.artefact_cache(), &CacheUse::Hit);
    assert_eq!(run(&first), run(&again));
    assert_eq!(first.sha256(), again.sha256());
    // Another setting that reaches the code is another entry.
    assert_eq!(cached(&dir, 2_000_000).artefact_cache(), &CacheUse::Stored);
    // One flipped byte in every entry: refused by its checksum, compiled again, replaced.
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    for path in &entries {
        let mut bytes = std::fs::read(path).unwrap();
        let at = bytes.len() - 100;
        bytes[at] ^= 0x40;
        std::fs::write(path, bytes).unwrap();
    }
    let repaired = cached(&dir, 1_000_000);
    match repaired.artefact_cache() {
        CacheUse::Replaced { reason } => assert!(reason.contains("corrupted"), "{reason}"),
        other => panic!("expected Replaced, got {other:?}"),
    }
    assert_eq!(run(&repaired), run(&first));
    assert_eq!(cached(&dir, 1_000_000).artefact_cache(), &CacheUse::Hit);
    // A file where the directory should be: the load still works, and says so.
    let blocked = dir.join("not-a-directory");
    std::fs::write(&blocked, b"x").unwrap();
    let m = cached(&blocked, 1_000_000);
    assert!(matches!(m.artefact_cache(), CacheUse::NotStored { .. }), "{:?}", m.artefact_cache());
    assert_eq!(run(&m), run(&first));
    // The interpreter keeps no native code.
    let mut c = Config::new();
    c.tier(Tier::Interpreter).artefact_cache(Some(dir.clone()));
    let m = StrategyModule::new(&Engine::new(&c), &wasm(MID_WAT)).unwrap();
    assert_eq!(m.artefact_cache(), &CacheUse::Off);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A loop of `memory.grow` by 0 pages, and past the memory's maximum, two million times on a
/// thread with a 1 MiB stack: the interpreter's `memory.grow` is not a tail-call dispatch
/// (wasmi 2.0), so such a loop used to grow the host's stack until the process died.
#[test]
fn a_loop_of_memory_grow_does_not_exhaust_the_host_stack() {
    for delta in [0, 100_000] {
        let spin = format!(
            "(func $spin (local i32) (loop $l (drop (memory.grow (i32.const {delta})))
               (local.set 0 (i32.add (local.get 0) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get 0) (i32.const 2000000)))))"
        );
        let wasm = guest("(call $spin) (i32.const 0)", &spin);
        for tier in Tier::ALL {
            let wasm = wasm.clone();
            let run = std::thread::Builder::new().stack_size(1 << 20).spawn(move || {
                let engine = engine_with_fuel(tier, 1_000_000_000);
                let mut inst =
                    StrategyModule::new(&engine, &wasm).unwrap().instantiate("").unwrap();
                let (e, b) = events(1).remove(0);
                inst.on_event(&e, b.as_ref()).map(|a| a.len()).map(|n| (n, inst.last_fuel().0))
            });
            let (actions, fuel) = run.unwrap().join().expect("no stack overflow").unwrap();
            assert_eq!((actions, fuel), (0, 22_000_006), "grow by {delta} on {tier}");
        }
    }
}

/// The module meters itself, so both tiers spend the same fuel to the unit and run out at the
/// same point, and a recursion stops at the same depth with the same fuel spent.
#[test]
fn fuel_and_stack_run_out_alike_on_both_tiers() {
    let counting = "(global.set $n (i32.add (global.get $n) (i32.const 1)))";
    let cases = [
        format!("(loop $l {counting} (br $l)) (i32.const 0)"),
        format!("{counting} (call $on_event)"),
    ];
    for body in cases {
        let extra = r#"(global $n (mut i32) (i32.const 0)) (export "n" (global $n))"#;
        let wasm = guest(&body, extra);
        let outcome = |tier| {
            let engine = engine_with_fuel(tier, 100_000);
            let mut inst = StrategyModule::new(&engine, &wasm).unwrap().instantiate("").unwrap();
            let err = inst.on_event(&events(1)[0].0, None).unwrap_err();
            (err, inst.last_fuel().0, inst.checkpoint())
        };
        let (i, c) = (outcome(Tier::Interpreter), outcome(Tier::Compiled));
        assert_eq!(i, c, "{body}");
    }
}

/// A valid module on which wasmi 2.0's translator panics (found by the differential fuzzer) is
/// refused at load on both tiers with a message, and the process goes on.
#[test]
fn a_module_the_interpreter_cannot_translate_is_refused_on_both_tiers() {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/repro/wasmi-translator-panic.wasm");
    let wasm = std::fs::read(path).expect("reproducer");
    let e = refuse(&wasm);
    assert!(matches!(e, Error::Unportable { .. }), "{e}");
    assert!(e.to_string().contains("cannot translate"), "{e}");
}

/// A mutable reference-typed global could not travel in a checkpoint (they carry numeric
/// globals), so such a module is refused at load on both tiers, and an immutable one loads.
#[test]
fn a_mutable_reference_global_is_refused_at_load() {
    for ty in ["funcref", "externref"] {
        let wasm = guest(
            "(i32.const 0)",
            &format!("(global (mut {ty}) (ref.null {})) ", &ty[..ty.len() - 3]),
        );
        let e = refuse(&wasm);
        assert!(matches!(e, Error::Unportable { .. }), "{e}");
        assert!(e.to_string().contains("mutable reference"), "{e}");
    }
    let fine =
        guest("(i32.const 0)", "(global funcref (ref.null func)) (global (mut i64) (i64.const 3))");
    for tier in [Tier::Interpreter, Tier::Compiled] {
        StrategyModule::new(&engine_with_fuel(tier, 100_000), &fine).unwrap();
    }
}
