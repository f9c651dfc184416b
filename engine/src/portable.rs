//! Load-time refusal of what the two tiers cannot run alike. Both tiers run this check before
//! their own validator, so such a module is refused the same way everywhere instead of running
//! on one tier and failing on the other:
//!
//! - `table.grow`: the compiled tier charges fuel per requested element (even for a refused
//!   growth), the interpreter a fraction of that, so a module growing tables runs out of fuel
//!   on one tier only. Tables stay at their declared size (`table.set` and the element
//!   segments fill them).
//! - A function with more than [`MAX_FUNCTION_LOCALS`] parameters and locals: the interpreter
//!   refuses it, the compiled tier would run it.

use crate::error::Error;
use wasmparser::{FunctionBody, Operator, Parser, Payload, TypeRef, Validator, WasmFeatures};

/// The WebAssembly features both tiers run alike: 2.0 without SIMD, with tail calls and
/// extended constant expressions. A module is validated against exactly these first, so both
/// tiers refuse anything else with the same message (their own validators differ at the
/// edges: the interpreter accepted GC-typed declarations the compiled tier refuses).
const FEATURES: WasmFeatures = WasmFeatures::FLOATS
    .union(WasmFeatures::MUTABLE_GLOBAL)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::EXTENDED_CONST);

/// Most parameters and locals one function may declare (the interpreter's own limit).
pub(crate) const MAX_FUNCTION_LOCALS: u64 = 30_000;

/// Validates `wasm` against [`FEATURES`] and refuses what the tiers cannot run alike.
///
/// # Errors
/// [`Error::Malformed`] with the validator's message, or [`Error::Unportable`].
pub(crate) fn check(wasm: &[u8]) -> Result<(), Error> {
    Validator::new_with_features(FEATURES)
        .validate_all(wasm)
        .map_err(|e| crate::backend::malformed(&e))?;
    let mut params: Vec<u64> = Vec::new();
    let mut funcs: Vec<u32> = Vec::new();
    let (mut imported, mut defined) = (0u32, 0usize);
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else { return Ok(()) };
        match payload {
            Payload::TypeSection(r) => {
                for group in r.into_iter().flatten() {
                    for ty in group.into_types() {
                        let n = ty.unwrap_func().params().len();
                        params.push(n as u64);
                    }
                }
            }
            Payload::ImportSection(r) => {
                for import in r.into_imports().flatten() {
                    if matches!(import.ty, TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::FunctionSection(r) => funcs.extend(r.into_iter().flatten()),
            Payload::CodeSectionEntry(body) => {
                let ty = funcs.get(defined).copied();
                let declared = ty.and_then(|t| params.get(t as usize)).copied().unwrap_or(0);
                let index = imported.saturating_add(u32::try_from(defined).unwrap_or(u32::MAX));
                function(&body, index, declared)?;
                defined += 1;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks one function body (function `index`, with `params` parameters).
fn function(body: &FunctionBody<'_>, index: u32, params: u64) -> Result<(), Error> {
    let Ok(locals) = body.get_locals_reader() else { return Ok(()) };
    let mut n = params;
    for group in locals {
        let Ok((count, _)) = group else { return Ok(()) };
        n = n.saturating_add(u64::from(count));
    }
    if n > MAX_FUNCTION_LOCALS {
        return Err(Error::Unportable {
            reason: format!(
                "function {index} declares {n} parameters and locals, more than {MAX_FUNCTION_LOCALS}"
            ),
        });
    }
    let Ok(mut ops) = body.get_operators_reader() else { return Ok(()) };
    while !ops.eof() {
        let offset = ops.original_position();
        match ops.read() {
            Ok(Operator::TableGrow { .. }) => {
                return Err(Error::Unportable {
                    reason: format!("function {index} grows a table (table.grow at byte {offset})"),
                });
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}
