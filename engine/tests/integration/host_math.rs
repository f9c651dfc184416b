//! The host's math functions (`lockstep.math.*`): the same bits as the SDK's software `libm`
//! on both tiers, a fixed fuel per call, exact signatures, and no way around the charge.

use crate::common::{engine_with_fuel, events, guest, guest_module};
use lockstep_engine::{Error, StrategyModule, Tier};
use lockstep_sdk::Action;
use lockstep_sdk::math;

/// A guest that, on every event, applies `op` (a host import or a stand-in) to bytes 8..16 of
/// the event record scaled into a float, and publishes the result's bits as signal 1.
fn applies(import: &str, op: &str) -> Vec<u8> {
    let on_event = format!(
        r#"(memory.fill (i32.const 128) (i32.const 0) (i32.const 64))
           (i32.store16 (i32.const 128) (i32.const 6))
           (i64.store (i32.const 168) (i64.const 1))
           (i64.store (i32.const 160)
             (i64.reinterpret_f64
               ({op} (f64.div (f64.convert_i64_s (i64.rem_u (i64.load (i32.const 72)) (i64.const 100000)))
                             (f64.const 12345.678)))))
           (i32.const 1)"#
    );
    guest(&on_event, import)
}

fn signals_and_fuel(tier: Tier, bytes: &[u8]) -> Vec<(f64, u64)> {
    let engine = engine_with_fuel(tier, 100_000);
    let mut inst = StrategyModule::new(&engine, bytes).unwrap().instantiate("").unwrap();
    events(200)
        .iter()
        .map(|(ev, book)| {
            let a = inst.on_event(ev, book.as_ref()).unwrap().to_vec();
            let value = match a[0].decode() {
                Ok(Action::Signal { value, .. }) => f64::from_bits(value as u64),
                other => panic!("expected a signal, got {other:?}"),
            };
            (value, inst.last_fuel().0)
        })
        .collect()
}

#[test]
fn host_math_is_libm_bit_for_bit_and_costs_a_fixed_fuel_on_both_tiers() {
    type Unary = fn(f64) -> f64;
    let cases: [(&str, Unary); 3] = [("exp", math::exp), ("ln", math::ln), ("erfc", math::erfc)];
    for (name, f) in cases {
        let import =
            format!(r#"(import "lockstep" "math.{name}" (func $m (param f64) (result f64)))"#);
        let with = applies(&import, "call $m");
        // The same number of operators, no host call: the fuel differs by the call's charge.
        let without = applies(&import, "f64.neg");
        let fixed = math::host_function(&format!("math.{name}")).unwrap().fuel;
        let mut reference = None;
        for tier in [Tier::Interpreter, Tier::Compiled] {
            let got = signals_and_fuel(tier, &with);
            let bare = signals_and_fuel(tier, &without);
            for (i, ((value, fuel), (_, bare_fuel))) in got.iter().zip(&bare).enumerate() {
                // The guest's x: bytes 8..16 of the event record, as it computes it.
                let (ev, _) = &events(200)[i];
                let raw = u64::from_le_bytes(ev.0[8..16].try_into().unwrap());
                let x = (raw % 100_000) as i64 as f64 / 12345.678;
                assert_eq!(value.to_bits(), f(x).to_bits(), "{name}({x}) on {tier}");
                assert_eq!(*fuel, bare_fuel + u64::from(fixed), "{name} on {tier}, event {i}");
            }
            assert_eq!(reference.get_or_insert_with(|| got.clone()), &got, "{name}: tiers part");
        }
    }
}

#[test]
fn host_math_imports_are_checked_like_any_other() {
    for tier in [Tier::Interpreter, Tier::Compiled] {
        let engine = engine_with_fuel(tier, 100_000);
        let load = |extra: &str| StrategyModule::new(&engine, &guest("(i32.const 0)", extra));
        // A wrong signature, and a name the host does not have.
        let e =
            load(r#"(import "lockstep" "math.exp" (func (param i32) (result i32)))"#).unwrap_err();
        assert!(matches!(e, Error::BadSignature { name: "math.exp", .. }), "{e:?}");
        let e =
            load(r#"(import "lockstep" "math.pow" (func (param f64) (result f64)))"#).unwrap_err();
        assert!(e.to_string().contains("(f64, f64) -> f64"), "{e}");
        let e = load(r#"(import "lockstep" "math.gamma" (func (param f64) (result f64)))"#)
            .unwrap_err();
        assert!(matches!(e, Error::ForbiddenImport { .. }), "{e:?}");
        // Called other than directly, the fixed fuel would not be charged: refused.
        let exp = r#"(import "lockstep" "math.exp" (func $exp (param f64) (result f64)))"#;
        for (how, extra) in [
            ("an element segment", format!("{exp} (table 1 funcref) (elem (i32.const 0) $exp)")),
            (
                "a declared ref.func",
                format!("{exp} (elem declare func $exp) (func (drop (ref.func $exp)))"),
            ),
            ("a global", format!("{exp} (global funcref (ref.func $exp))")),
        ] {
            match load(&extra) {
                Err(Error::Unportable { reason }) => {
                    assert!(reason.contains("math"), "{how}: {reason}")
                }
                other => panic!("{how} on {tier}: expected Unportable, got {other:?}"),
            }
        }
        // A direct call from any function is fine, and so is importing without calling.
        let ok = guest_module(
            crate::common::REGIONS,
            "(drop (call $exp (f64.const 1))) (i32.const 0)",
            "(i32.const 0)",
            exp,
        );
        StrategyModule::new(&engine, &ok).unwrap().instantiate("").unwrap();
        load(exp).unwrap();
    }
}
