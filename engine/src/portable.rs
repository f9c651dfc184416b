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
//! - A mutable global of a reference type: checkpoints carry numeric globals only, so such a
//!   module could not be checkpointed and resumed exactly.
//! - A host math function (`lockstep.math.*`) used other than by a direct call (`ref.func`, an
//!   element segment): its fixed fuel is charged at the call site, which an indirect call
//!   would escape.

use crate::backend::malformed;
use crate::error::Error;
use wasmparser::{
    ElementItems, FuncValidator, FuncValidatorAllocations, FunctionBody, Operator, Parser, Payload,
    TypeRef, ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

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
pub(crate) const MAX_FUNCTION_LOCALS: u32 = 30_000;

/// Stack units every frame costs besides its locals and operands: return address, saved
/// registers, the engine's bookkeeping. A unit is one 8-byte value.
const FRAME_BASE: u32 = 16;

/// Export and import module names the engine gives its own additions to a module
/// (`lockstep:global:N`, `lockstep:fuel`, `lockstep:depth`, `lockstep:profile`); a module may
/// not use them.
const RESERVED_EXPORT: &str = "lockstep:";

/// What metering needs to know of a valid module.
#[derive(Debug, Default)]
pub(crate) struct Shape {
    /// Globals in the module's global space (imported and defined).
    pub(crate) globals: u32,
    /// Types in the module's type space.
    pub(crate) types: u32,
    /// Imported functions.
    pub(crate) imported_funcs: u32,
    /// The fixed fuel of each imported function by index (a host math function's, else 0).
    pub(crate) import_fuel: Vec<u32>,
    /// The memory's maximum in pages: as declared, else the most a 32-bit memory can have.
    pub(crate) memory_max: u32,
    /// Each defined function, in code-section order.
    pub(crate) funcs: Vec<FuncShape>,
}

/// One defined function: its locals (parameters included) and the stack units its frame may
/// use (locals, the deepest operand stack, and [`FRAME_BASE`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FuncShape {
    pub(crate) locals: u32,
    pub(crate) frame: u32,
}

/// Validates `wasm` against [`FEATURES`], refuses what the tiers cannot run alike, and measures
/// each function's frame for the stack meter.
///
/// # Errors
/// [`Error::Malformed`] with the validator's message, or [`Error::Unportable`].
pub(crate) fn check(wasm: &[u8]) -> Result<Shape, Error> {
    let mut validator = Validator::new_with_features(FEATURES);
    let mut allocs = FuncValidatorAllocations::default();
    let mut shape = Shape::default();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| malformed(&e))?;
        match &payload {
            Payload::ImportSection(r) => {
                for import in r.clone().into_imports() {
                    let import = import.map_err(|e| malformed(&e))?;
                    if import.module.starts_with(RESERVED_EXPORT) {
                        return Err(Error::Unportable {
                            reason: format!(
                                "import module `{}` is reserved for the engine",
                                lockstep_sdk::untrusted(import.module)
                            ),
                        });
                    }
                    match import.ty {
                        TypeRef::Global(_) => shape.globals = shape.globals.saturating_add(1),
                        TypeRef::Func(_) => {
                            shape.imported_funcs = shape.imported_funcs.saturating_add(1);
                            let math = (import.module == lockstep_sdk::names::HOST_MODULE)
                                .then(|| lockstep_sdk::math::host_function(import.name))
                                .flatten();
                            shape.import_fuel.push(math.map_or(0, |m| m.fuel));
                        }
                        TypeRef::Memory(m) => shape.memory_max = memory_max(&m),
                        _ => {}
                    }
                }
            }
            Payload::GlobalSection(r) => {
                shape.globals = shape.globals.saturating_add(r.count());
                for (i, g) in r.clone().into_iter().enumerate() {
                    let g = g.map_err(|e| malformed(&e))?;
                    refuse_math_refs(&shape, g.init_expr.get_operators_reader(), "a global")?;
                    if g.ty.mutable && matches!(g.ty.content_type, wasmparser::ValType::Ref(_)) {
                        return Err(Error::Unportable {
                            reason: format!(
                                "defined global {i} is a mutable reference: a checkpoint could \
                                 not carry it (make it immutable, or keep the reference in a \
                                 table)"
                            ),
                        });
                    }
                }
            }
            Payload::ElementSection(r) => {
                for (i, el) in r.clone().into_iter().enumerate() {
                    match el.map_err(|e| malformed(&e))?.items {
                        ElementItems::Functions(funcs) => {
                            for f in funcs {
                                shape.math_ref(
                                    f.map_err(|e| malformed(&e))?,
                                    "an element segment",
                                )?;
                            }
                        }
                        ElementItems::Expressions(_, exprs) => {
                            for e in exprs {
                                let e = e.map_err(|e| malformed(&e))?;
                                let at = format!("element segment {i}");
                                refuse_math_refs(&shape, e.get_operators_reader(), &at)?;
                            }
                        }
                    }
                }
            }
            Payload::MemorySection(r) => {
                if let Some(Ok(m)) = r.clone().into_iter().next() {
                    shape.memory_max = memory_max(&m);
                }
            }
            // Without the GC proposal every recursion group holds one type.
            Payload::TypeSection(r) => shape.types = r.count(),
            Payload::ExportSection(r) => {
                for export in r.clone() {
                    let export = export.map_err(|e| malformed(&e))?;
                    if export.name.starts_with(RESERVED_EXPORT) {
                        return Err(Error::Unportable {
                            reason: format!(
                                "export name `{}` is reserved for the engine",
                                lockstep_sdk::untrusted(export.name)
                            ),
                        });
                    }
                }
            }
            _ => {}
        }
        if let ValidPayload::Func(func, body) =
            validator.payload(&payload).map_err(|e| malformed(&e))?
        {
            let mut v = func.into_validator(std::mem::take(&mut allocs));
            let f = function(&mut v, &body, &shape)?;
            shape.funcs.push(f);
            allocs = v.into_allocations();
        }
    }
    Ok(shape)
}

impl Shape {
    /// Refuses a reference to function `index` (from `at`) when it is a host math function.
    fn math_ref(&self, index: u32, at: &str) -> Result<(), Error> {
        match usize::try_from(index).ok().and_then(|i| self.import_fuel.get(i)) {
            Some(&fuel) if fuel > 0 => Err(Error::Unportable {
                reason: format!(
                    "{at} refers to imported function {index}, a host math function \
                     (lockstep.math.*); call those directly, their fuel is charged at the call"
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// Refuses a `ref.func` of a host math function in a constant expression.
fn refuse_math_refs(
    shape: &Shape,
    mut ops: wasmparser::OperatorsReader<'_>,
    at: &str,
) -> Result<(), Error> {
    while !ops.eof() {
        if let Operator::RefFunc { function_index } = ops.read().map_err(|e| malformed(&e))? {
            shape.math_ref(function_index, at)?;
        }
    }
    Ok(())
}

/// A 32-bit memory's maximum in pages.
fn memory_max(m: &wasmparser::MemoryType) -> u32 {
    const PAGES_32: u64 = 1 << 16;
    u32::try_from(m.maximum.unwrap_or(PAGES_32).min(PAGES_32)).unwrap_or(1 << 16)
}

/// Validates one function body, refuses what is unportable in it, and measures its frame.
fn function(
    v: &mut FuncValidator<ValidatorResources>,
    body: &FunctionBody<'_>,
    shape: &Shape,
) -> Result<FuncShape, Error> {
    let index = v.index();
    let mut reader = body.get_binary_reader();
    v.read_locals(&mut reader).map_err(|e| malformed(&e))?;
    let locals = v.len_locals();
    if locals > MAX_FUNCTION_LOCALS {
        return Err(Error::Unportable {
            reason: format!(
                "function {index} declares {locals} parameters and locals, more than {MAX_FUNCTION_LOCALS}"
            ),
        });
    }
    let mut ops = body.get_operators_reader().map_err(|e| malformed(&e))?;
    let mut deepest = 0u32;
    while !ops.eof() {
        let offset = ops.original_position();
        let op = ops.read().map_err(|e| malformed(&e))?;
        if let Operator::TableGrow { .. } = op {
            return Err(Error::Unportable {
                reason: format!("function {index} grows a table (table.grow at byte {offset})"),
            });
        }
        if let Operator::RefFunc { function_index } = op {
            shape.math_ref(
                function_index,
                &format!("function {index} (ref.func at byte {offset})"),
            )?;
        }
        v.op(offset, &op).map_err(|e| malformed(&e))?;
        deepest = deepest.max(v.operand_stack_height());
    }
    ops.finish().map_err(|e| malformed(&e))?;
    let frame = FRAME_BASE.saturating_add(locals).saturating_add(deepest);
    Ok(FuncShape { locals, frame })
}
