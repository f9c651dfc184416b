//! The same failure reads the same on both tiers: at load, in init or on an event, the
//! interpreter and the compiled tier give the same typed error, the same message and the same
//! stable code, and the same fuel (the module meters its own).

use crate::common::{MID_WAT, REGIONS, engine_with_fuel, events, guest, guest_module, wasm};
use lockstep_engine::{Error, RunError, StrategyModule, StrategyRunner, Tier};

const FUEL: u64 = 100_000;

const FAIL_IMPORT: &str = r#"(import "lockstep" "fail" (func $fail (param i32 i32)))
    (data (i32.const 3000) "boom: inventory limit")"#;

/// Runs `fail` on both tiers, checks they agree on the error, its text and its code, and that
/// the code is `code`; returns the error.
fn same_on_both_tiers(case: &str, code: u16, fail: impl Fn(Tier) -> Error) -> Error {
    let interp = fail(Tier::Interpreter);
    let compiled = fail(Tier::Compiled);
    assert_eq!(interp.to_string(), compiled.to_string(), "{case}: the texts differ");
    assert_eq!(interp.code(), compiled.code(), "{case}: the codes differ");
    assert_eq!(interp, compiled, "{case}");
    assert_eq!(interp.code(), code, "{case}: {interp}");
    interp
}

fn at_load(tier: Tier, bytes: &[u8]) -> Error {
    StrategyModule::new(&engine_with_fuel(tier, FUEL), bytes).unwrap_err()
}

fn at_init(tier: Tier, bytes: &[u8], params: &str) -> Error {
    let module = StrategyModule::new(&engine_with_fuel(tier, FUEL), bytes).expect("loads");
    module.instantiate(params).unwrap_err()
}

/// The error of the first event, after checking the second reads alike (halted or not).
fn on_first_event(tier: Tier, bytes: &[u8]) -> Error {
    let engine = engine_with_fuel(tier, FUEL);
    let mut inst = StrategyModule::new(&engine, bytes).unwrap().instantiate("").unwrap();
    let evs = events(2);
    let first = inst.on_event(&evs[0].0, None).unwrap_err();
    let second = inst.on_event(&evs[1].0, None).unwrap_err();
    if first.halts() {
        assert_eq!(second, Error::Halted { seq: 1 }, "{first}");
    } else {
        assert_eq!(second.code(), first.code(), "{first}");
    }
    first
}

#[test]
fn event_failures_read_the_same_on_both_tiers() {
    let table = "(table 2 funcref)";
    let mistyped = "(table 2 funcref) (elem (i32.const 0) $nop) (func $nop)";
    let cases: &[(&str, &str, &str, u16)] = &[
        ("out of fuel", "(loop $l (br $l)) (i32.const 0)", "", 0x0c00),
        ("unreachable", "unreachable", "", 0x0e01),
        ("load far out of bounds", "(i32.load (i32.const 0x7ffffff0))", "", 0x0e02),
        ("load straddling the end", "(i32.load (i32.const 65534))", "", 0x0e02),
        (
            "store past the end",
            "(i32.store (i32.const 65536) (i32.const 1)) (i32.const 0)",
            "",
            0x0e02,
        ),
        ("division by zero", "(i32.div_u (i32.const 1) (i32.load (i32.const 2000)))", "", 0x0e03),
        (
            "signed division overflow",
            "(i32.div_s (i32.const 0x80000000) (i32.or (i32.load (i32.const 2000)) (i32.const -1)))",
            "",
            0x0e04,
        ),
        (
            "NaN to integer",
            "(i32.trunc_f32_s (f32.div (f32.const 0) (f32.convert_i32_s (i32.load (i32.const 2000)))))",
            "",
            0x0e05,
        ),
        ("unbounded recursion", "(call $on_event)", "", 0x0e06),
        (
            "null table slot",
            "(call_indirect (result i32) (i32.load (i32.const 2000)))",
            table,
            0x0e07,
        ),
        ("past the table", "(call_indirect (result i32) (i32.const 5))", table, 0x0e07),
        ("wrong signature", "(call_indirect (result i32) (i32.const 0))", mistyped, 0x0e07),
        (
            "memory growth past the limit",
            "(loop $l (drop (memory.grow (i32.const 8))) (br $l)) (i32.const 0)",
            "",
            0x0d00,
        ),
        (
            "lockstep.fail",
            "(call $fail (i32.const 3000) (i32.const 21)) (i32.const 0)",
            FAIL_IMPORT,
            0x0f00,
        ),
        (
            "lockstep.fail, message outside memory",
            "(call $fail (i32.const 70000) (i32.const 5)) (i32.const 0)",
            FAIL_IMPORT,
            0x0f00,
        ),
        ("action overflow status", "(i32.const -1)", "", 0x1101),
        ("bad event status", "(i32.const -2)", "", 0x1103),
        ("not initialised status", "(i32.const -3)", "", 0x1102),
        ("undefined status", "(i32.const -99)", "", 0x1105),
        ("more actions than the region holds", "(i32.const 5)", "", 0x1106),
    ];
    for &(case, body, extra, code) in cases {
        let bytes = guest(body, extra);
        let e = same_on_both_tiers(case, code, |tier| on_first_event(tier, &bytes));
        assert!(e.to_string().contains("event seq 0"), "{case}: {e}");
    }
}

#[test]
fn load_failures_read_the_same_on_both_tiers() {
    let start = |items: &str| guest("(i32.const 0)", items);
    let regions = |action_ptr: u32, action_cap: u32| {
        let mut r = REGIONS;
        (r[2], r[3]) = (action_ptr, action_cap);
        guest_module(r, "(i32.const 0)", "(i32.const 0)", "")
    };
    let wrong_version = wasm(&MID_WAT.replace(
        r#"(func (export "lockstep_abi_version") (result i32) (i32.const 1))"#,
        r#"(func (export "lockstep_abi_version") (result i32) (i32.const 3))"#,
    ));
    let fail_in_start =
        format!("{FAIL_IMPORT} (func $f (call $fail (i32.const 3000) (i32.const 4))) (start $f)");
    let grow = guest(
        "(drop (table.grow $t (ref.null func) (i32.const 1000000000))) (i32.const 0)",
        "(table $t 1 funcref)",
    );
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("start function out of fuel", start("(func $f (loop $l (br $l))) (start $f)"), 0x0c00),
        ("start function trap", start("(func $f unreachable) (start $f)"), 0x0e01),
        ("start function calls lockstep.fail", start(&fail_in_start), 0x0f00),
        ("data segment past memory", start(r#"(data (i32.const 65535) "ab")"#), 0x0e02),
        ("ABI version", wrong_version, 0x0800),
        ("action region past memory", regions(0xfff0, 4), 0x0900),
        ("action region over the event's", regions(0x40, 4), 0x0900),
        ("action region with no room", regions(0x80, 0), 0x0900),
        ("action region too large", regions(0x80, 5000), 0x0900),
        ("not WebAssembly", b"not wasm at all".to_vec(), 0x0200),
        ("truncated WebAssembly", b"\0asm\x01\0\0\0\x01\xff\xff".to_vec(), 0x0200),
        // The compiled tier charges fuel per requested table element, the interpreter a
        // fraction: growing tables ran out of fuel on one tier only.
        ("table.grow", grow, 0x1a00),
        // The interpreter refuses functions over 30,000 locals; the compiled tier ran them.
        ("30,001 locals", start(&format!("(func {})", "(local i64)".repeat(30_001))), 0x1a00),
    ];
    for (case, bytes, code) in cases {
        same_on_both_tiers(case, code, |tier| at_load(tier, &bytes));
    }
}

#[test]
fn init_failures_read_the_same_on_both_tiers() {
    let init = |body: &str, extra: &str| guest_module(REGIONS, body, "(i32.const 0)", extra);
    let fail = "(call $fail (i32.const 3000) (i32.const 21)) (i32.const 0)";
    let long = "x".repeat(300);
    let cases: Vec<(&str, Vec<u8>, &str, u16)> = vec![
        ("init out of fuel", init("(loop $l (br $l)) (i32.const 0)", ""), "", 0x0c00),
        ("init trap", init("unreachable", ""), "", 0x0e01),
        ("init calls lockstep.fail", init(fail, FAIL_IMPORT), "", 0x0f00),
        ("init refuses its parameters", wasm(MID_WAT), "fail", 0x0b00),
        ("parameters too long", wasm(MID_WAT), &long, 0x0a00),
        ("init claims too many actions", init("(i32.const 9)", ""), "", 0x1106),
    ];
    for (case, bytes, params, code) in cases {
        same_on_both_tiers(case, code, |tier| at_init(tier, &bytes, params));
    }
}

/// Through the SDK's runner interface, as every harness sees a failure: the same code, halting
/// and message on both tiers, with the fuel each tier burnt.
#[test]
fn runner_errors_read_the_same_on_both_tiers() {
    let run = |tier: Tier, bytes: &[u8]| -> RunError {
        let engine = engine_with_fuel(tier, FUEL);
        let mut inst = StrategyModule::new(&engine, bytes).unwrap().instantiate("").unwrap();
        let err = StrategyRunner::on_event(&mut inst, &events(1)[0].0, None).unwrap_err();
        assert!(err.fuel().is_some(), "{err}");
        err
    };
    for body in
        ["(loop $l (br $l)) (i32.const 0)", "unreachable", "(i32.const -2)", "(i32.const 9)"]
    {
        let bytes = guest(body, "");
        let (interp, compiled) = (run(Tier::Interpreter, &bytes), run(Tier::Compiled, &bytes));
        assert_eq!(
            (interp.code(), interp.halts(), interp.message()),
            (compiled.code(), compiled.halts(), compiled.message()),
            "{body}"
        );
    }
}
