//! Fuel and stack metering written into the module, so that both tiers count alike. Each tier's
//! own meter counts its own way (wasmi charges a block's operators on entry, wasmtime as
//! executed; their stacks differ in size per frame), so a module whose work or depth fell
//! between the two limits ran out on one tier only. Here the module counts for itself:
//!
//! - **Fuel**: a global, set by the host before each call. Every straight run of operators
//!   (up to the next branch, block boundary or trap) charges its length on entry, plus the
//!   fixed fuel of each host math function (`lockstep.math.*`) it calls; a bulk memory
//!   or table operation also charges one per 8 elements it touches. The global is checked at
//!   each function entry, each loop iteration and each bulk operation; below zero the guest
//!   traps, and the host reads the global to report [`Error::OutOfFuel`](crate::Error::OutOfFuel).
//! - **Stack**: a second global counts stack units (8-byte values). A function's frame costs its
//!   parameters, locals and deepest operand stack plus a fixed base; entry adds it, and every
//!   call restores the caller's count on return, so any way out of the callee is accounted.
//!   Past [`STACK_LIMIT`] the guest traps as stack exhaustion. The tiers' own stacks are far
//!   larger, so they are never reached first.
//!
//! `memory.grow` reaches the tier only for a growth that can succeed (or that the engine's memory
//! limit halts): a growth by 0 pages answers the size, one past the memory's maximum answers -1,
//! both in the module. The interpreter's `memory.grow` does not dispatch its successor as a tail
//! call (wasmi 2.0), so a loop of them grew the host's native stack until the process died; now
//! at most one frame per page the memory can gain.
//!
//! A start function would run inside instantiation, where a trap cannot be told from the meters
//! (the instance, and its globals, never come to be). So the start section is taken out and an
//! appended function `() -> i32` that calls the start function is exported as [`START_EXPORT`];
//! the engine calls it first, as an ordinary call under the init fuel.
//!
//! Operators, their order and every index are untouched: the rewrite only inserts, and appends
//! two globals, two locals per function, the start wrapper (a type and a function) and exports.

use crate::error::Error;
use crate::portable::{FuncShape, Shape};
use wasm_encoder::reencode::{Error as ReencodeError, Reencode, RoundtripReencoder, utils};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ExportKind, ExportSection, Function, GlobalSection,
    GlobalType, Instruction as I, Module, SectionId, ValType,
};
use wasmparser::{Operator, Parser};

/// Export name of the fuel global (i64, fuel left; negative once exhausted).
pub(crate) const FUEL_EXPORT: &str = "lockstep:fuel";
/// Export name of the stack global (i32, units in use).
pub(crate) const DEPTH_EXPORT: &str = "lockstep:depth";
/// Export name of the wrapper that runs the module's start function.
pub(crate) const START_EXPORT: &str = "lockstep:start";
/// Stack units a guest may use: 64 KiB of 8-byte values. The interpreter's value stack
/// (4 MiB) and the compiled tier's native stack (512 KiB, where a unit costs at most a few
/// words) hold far more, so this limit is the one every tier meets.
pub(crate) const STACK_LIMIT: i32 = 8192;
/// Elements a bulk operation may touch per unit of fuel (as a shift).
pub(crate) const BULK_SHIFT: i64 = 3;

/// Rewrites `wasm` (validated, with `shape` measured by `portable::check`) to meter itself.
/// The fuel global starts at `init_fuel`, which bounds a start function.
pub(crate) fn meter(
    wasm: &[u8],
    shape: &Shape,
    init_fuel: u64,
    profile: bool,
) -> Result<Vec<u8>, Error> {
    let (wasm, start) = take_start(wasm, shape);
    let mut m = Metering {
        shape,
        start,
        profile,
        types_done: false,
        imports_done: false,
        fuel: shape.globals,
        depth: shape.globals.saturating_add(1),
        init_fuel: i64::try_from(init_fuel).unwrap_or(i64::MAX),
        next_body: 0,
        globals_done: false,
        exports_done: false,
    };
    let mut module = Module::new();
    m.parse_core_module(&mut module, Parser::new(0), &wasm)
        .map_err(|e| crate::backend::internal(&format_args!("metering the module: {e}")))?;
    Ok(module.finish())
}

/// The rewrite's state: where the new globals live and which sections are written.
struct Metering<'a> {
    shape: &'a Shape,
    /// The start function taken out of the module, to be called through the wrapper.
    start: Option<u32>,
    /// Whether functions report their entries and exits (`crate::profile`).
    profile: bool,
    types_done: bool,
    imports_done: bool,
    fuel: u32,
    depth: u32,
    init_fuel: i64,
    next_body: usize,
    globals_done: bool,
    exports_done: bool,
}

/// `wasm` without its start section, and the start function's index, when the module defines
/// functions for the wrapper to join (a start function that is an import stays: the sandbox
/// refuses such imports anyway).
fn take_start<'w>(wasm: &'w [u8], shape: &Shape) -> (std::borrow::Cow<'w, [u8]>, Option<u32>) {
    let found = crate::instrument::sections(wasm).and_then(|sections| {
        let s = sections.into_iter().find(|s| s.id == SectionId::Start as u8)?;
        let index = wasmparser::BinaryReader::new(&wasm[s.body.clone()], 0).read_var_u32().ok()?;
        Some((s.start..s.body.end, index))
    });
    match found {
        Some((range, index)) if !shape.funcs.is_empty() && shape.types > 0 => {
            let mut out = wasm[..range.start].to_vec();
            out.extend_from_slice(&wasm[range.end..]);
            (out.into(), Some(index))
        }
        _ => (wasm.into(), None),
    }
}

/// A section's place in a module's order (custom sections aside).
fn order(id: SectionId) -> u8 {
    match id {
        SectionId::Tag => 6, // between memory and global
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
        other => other as u8,
    }
}

/// Whether a run of straight-line operators ends after `op`: it branches, opens or closes a
/// block, or ends execution, so what follows may be reached from elsewhere.
pub(crate) fn ends_run(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::Return
            | Operator::Unreachable
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
    )
}

/// An operator's fuel: one, plus a host math function's fixed fuel for a direct call to it
/// (the only way such a function can be called: `portable` refuses references to them).
pub(crate) fn op_cost(shape: &Shape, op: &Operator<'_>) -> u64 {
    let host = match op {
        Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
            usize::try_from(*function_index)
                .ok()
                .and_then(|i| shape.import_fuel.get(i))
                .copied()
                .unwrap_or(0)
        }
        _ => 0,
    };
    1 + u64::from(host)
}

/// Whether `op` is a bulk operation whose length (an i32) is on top of the stack.
pub(crate) fn is_bulk(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::MemoryFill { .. }
            | Operator::MemoryCopy { .. }
            | Operator::MemoryInit { .. }
            | Operator::TableFill { .. }
            | Operator::TableCopy { .. }
            | Operator::TableInit { .. }
    )
}

impl Metering<'_> {
    /// Charges `cost` fuel.
    fn charge(&self, f: &mut Function, cost: i64) {
        f.instruction(&I::GlobalGet(self.fuel))
            .instruction(&I::I64Const(cost))
            .instruction(&I::I64Sub)
            .instruction(&I::GlobalSet(self.fuel));
    }

    /// Traps if the fuel is spent.
    fn check_fuel(&self, f: &mut Function) {
        f.instruction(&I::GlobalGet(self.fuel))
            .instruction(&I::I64Const(0))
            .instruction(&I::I64LtS)
            .instruction(&I::If(BlockType::Empty))
            .instruction(&I::Unreachable)
            .instruction(&I::End);
    }

    /// The function's entry: its frame on the stack count (kept in local `mine`), checked.
    fn enter(&self, f: &mut Function, frame: i32, mine: u32) {
        f.instruction(&I::GlobalGet(self.depth))
            .instruction(&I::I32Const(frame))
            .instruction(&I::I32Add)
            .instruction(&I::LocalTee(mine))
            .instruction(&I::GlobalSet(self.depth))
            .instruction(&I::LocalGet(mine))
            .instruction(&I::I32Const(STACK_LIMIT))
            .instruction(&I::I32GtS)
            .instruction(&I::If(BlockType::Empty))
            .instruction(&I::Unreachable)
            .instruction(&I::End);
    }

    /// Reports the function's entry with the fuel left, in a profiled rewrite.
    fn profile_enter(&self, f: &mut Function) {
        if self.profile {
            // The body being rewritten: `parse_function_body` has counted it already.
            let body = u32::try_from(self.next_body.saturating_sub(1)).unwrap_or(u32::MAX);
            let index = self.shape.imported_funcs.saturating_add(body);
            let func = i32::from_ne_bytes(index.to_ne_bytes());
            f.instruction(&I::I32Const(func))
                .instruction(&I::GlobalGet(self.fuel))
                .instruction(&I::Call(self.shape.imported_funcs));
        }
    }

    /// Reports a way out of the function with the fuel left, in a profiled rewrite.
    fn profile_exit(&self, f: &mut Function) {
        if self.profile {
            f.instruction(&I::GlobalGet(self.fuel))
                .instruction(&I::Call(self.shape.imported_funcs.saturating_add(1)));
        }
    }

    /// Functions the profiled rewrite imports before the module's own.
    fn added_imports(&self) -> u32 {
        if self.profile { 2 } else { 0 }
    }

    /// The type index of the first type the rewrite appends.
    fn added_types_start(&self) -> u32 {
        self.shape.types.saturating_add(u32::from(self.start.is_some()))
    }

    /// The profile's two function types, `(i32, i64) -> ()` and `(i64) -> ()`.
    fn add_profile_types(&self, types: &mut wasm_encoder::TypeSection) {
        if self.profile {
            types.ty().function([ValType::I32, ValType::I64], []);
            types.ty().function([ValType::I64], []);
        }
    }

    /// The profile's two imports, after the module's own.
    fn add_profile_imports(&self, imports: &mut wasm_encoder::ImportSection) {
        if self.profile {
            let t = self.added_types_start();
            let module = crate::profile::PROFILE_MODULE;
            imports.import(module, crate::profile::ENTER, wasm_encoder::EntityType::Function(t));
            let exit = wasm_encoder::EntityType::Function(t.saturating_add(1));
            imports.import(module, crate::profile::EXIT, exit);
        }
    }

    /// Charges a bulk operation's length (on top of the stack, kept there) and checks.
    fn charge_bulk(&self, f: &mut Function, scratch: u32) {
        f.instruction(&I::LocalTee(scratch))
            .instruction(&I::GlobalGet(self.fuel))
            .instruction(&I::LocalGet(scratch))
            .instruction(&I::I64ExtendI32U)
            .instruction(&I::I64Const(BULK_SHIFT))
            .instruction(&I::I64ShrU)
            .instruction(&I::I64Sub)
            .instruction(&I::GlobalSet(self.fuel));
        self.check_fuel(f);
    }

    /// `memory.grow`, answering itself a growth by 0 (the size) or past the maximum (-1).
    fn guarded_grow(&self, f: &mut Function, mem: u32, scratch: u32) {
        let max = i32::try_from(self.shape.memory_max).unwrap_or(i32::MAX);
        let result = BlockType::Result(ValType::I32);
        f.instruction(&I::LocalTee(scratch))
            .instruction(&I::I32Eqz)
            .instruction(&I::If(result))
            .instruction(&I::MemorySize(mem))
            .instruction(&I::Else)
            .instruction(&I::LocalGet(scratch))
            .instruction(&I::I32Const(max))
            .instruction(&I::MemorySize(mem))
            .instruction(&I::I32Sub)
            .instruction(&I::I32GtU)
            .instruction(&I::If(result))
            .instruction(&I::I32Const(-1))
            .instruction(&I::Else)
            .instruction(&I::LocalGet(scratch))
            .instruction(&I::MemoryGrow(mem))
            .instruction(&I::End)
            .instruction(&I::End);
    }

    /// Rewrites one function body with its meters.
    fn body(
        &mut self,
        func: &wasmparser::FunctionBody<'_>,
        shape: FuncShape,
    ) -> Result<Function, ReencodeError> {
        let mut locals = Vec::new();
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            locals.push((count, self.val_type(ty)?));
        }
        // Two i32 locals after the module's own: the frame's stack count, and a scratch.
        let (mine, scratch) = (shape.locals, shape.locals.saturating_add(1));
        locals.push((2, ValType::I32));
        let mut f = Function::new(locals);
        let ops = func.get_operators_reader()?.into_iter().collect::<Result<Vec<_>, _>>()?;
        let frame = i32::try_from(shape.frame).unwrap_or(i32::MAX);
        self.profile_enter(&mut f);
        self.enter(&mut f, frame, mine);
        let mut run_start = true;
        let mut after_loop = false;
        for (i, op) in ops.iter().enumerate() {
            if run_start {
                let len = ops[i..].iter().position(ends_run).map_or(ops.len() - i, |p| p + 1);
                let cost = ops[i..i + len].iter().map(|op| self.cost(op)).sum::<u64>();
                self.charge(&mut f, i64::try_from(cost).unwrap_or(i64::MAX));
                if i == 0 || after_loop {
                    self.check_fuel(&mut f);
                }
            }
            if is_bulk(op) {
                self.charge_bulk(&mut f, scratch);
            }
            if matches!(op, Operator::Return | Operator::ReturnCall { .. })
                || matches!(op, Operator::ReturnCallIndirect { .. })
                || i + 1 == ops.len()
            {
                self.profile_exit(&mut f);
            }
            if matches!(op, Operator::ReturnCall { .. } | Operator::ReturnCallIndirect { .. }) {
                // The callee's frame replaces this one.
                f.instruction(&I::LocalGet(mine))
                    .instruction(&I::I32Const(frame))
                    .instruction(&I::I32Sub)
                    .instruction(&I::GlobalSet(self.depth));
            }
            if let Operator::MemoryGrow { mem } = op {
                self.guarded_grow(&mut f, *mem, scratch);
            } else {
                f.instruction(&self.instruction(op.clone())?);
            }
            if matches!(op, Operator::Call { .. } | Operator::CallIndirect { .. }) {
                f.instruction(&I::LocalGet(mine)).instruction(&I::GlobalSet(self.depth));
            }
            run_start = ends_run(op) && i + 1 < ops.len();
            after_loop = matches!(op, Operator::Loop { .. });
        }
        Ok(f)
    }

    /// An operator's fuel ([`op_cost`]).
    fn cost(&self, op: &Operator<'_>) -> u64 {
        op_cost(self.shape, op)
    }

    /// The two meter globals.
    fn add_globals(&self, globals: &mut GlobalSection) {
        let ty = |val_type| GlobalType { val_type, mutable: true, shared: false };
        globals.global(ty(ValType::I64), &ConstExpr::i64_const(self.init_fuel));
        globals.global(ty(ValType::I32), &ConstExpr::i32_const(0));
    }

    /// The two meter exports, and the start wrapper's.
    fn add_exports(&self, exports: &mut ExportSection) {
        exports.export(FUEL_EXPORT, ExportKind::Global, self.fuel);
        exports.export(DEPTH_EXPORT, ExportKind::Global, self.depth);
        if self.start.is_some() {
            exports.export(START_EXPORT, ExportKind::Func, self.wrapper_index());
        }
    }

    /// The start wrapper's function index: after every function of the module.
    fn wrapper_index(&self) -> u32 {
        let defined = u32::try_from(self.shape.funcs.len()).unwrap_or(u32::MAX);
        self.shape.imported_funcs.saturating_add(self.added_imports()).saturating_add(defined)
    }
}

impl Reencode for Metering<'_> {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, ReencodeError> {
        // The profile's imports come before the module's own functions.
        Ok(if func >= self.shape.imported_funcs {
            func.saturating_add(self.added_imports())
        } else {
            func
        })
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        utils::parse_type_section(self, types, section)?;
        if self.start.is_some() {
            types.ty().function([], [ValType::I32]);
        }
        self.add_profile_types(types);
        self.types_done = true;
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        utils::parse_import_section(self, imports, section)?;
        self.add_profile_imports(imports);
        self.imports_done = true;
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        utils::parse_function_section(self, functions, section)?;
        if self.start.is_some() {
            functions.function(self.shape.types);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        utils::parse_code_section(self, code, section)?;
        if let Some(start) = self.start {
            let mut f = Function::new([]);
            f.instruction(&I::Call(self.function_index(start)?))
                .instruction(&I::I32Const(0))
                .instruction(&I::End);
            code.function(&f);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), ReencodeError> {
        let shape = self.shape.funcs.get(self.next_body).copied();
        self.next_body += 1;
        let Some(shape) = shape else { return Err(ReencodeError::InvalidCodeSectionSize) };
        let f = self.body(&func, shape)?;
        code.function(&f);
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        utils::parse_global_section(self, globals, section)?;
        self.add_globals(globals);
        self.globals_done = true;
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        utils::parse_export_section(self, exports, section)?;
        self.add_exports(exports);
        self.exports_done = true;
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), ReencodeError> {
        // Passed through as bytes: the module's validity never depended on them.
        module.section(&RoundtripReencoder.custom_section(section)?);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), ReencodeError> {
        let past = |id| before.is_none_or(|b| order(b) > order(id));
        if self.profile && !self.types_done && past(SectionId::Type) {
            let mut types = wasm_encoder::TypeSection::new();
            self.add_profile_types(&mut types);
            module.section(&types);
            self.types_done = true;
        }
        if self.profile && !self.imports_done && past(SectionId::Import) {
            let mut imports = wasm_encoder::ImportSection::new();
            self.add_profile_imports(&mut imports);
            module.section(&imports);
            self.imports_done = true;
        }
        if !self.globals_done && past(SectionId::Global) {
            let mut globals = GlobalSection::new();
            self.add_globals(&mut globals);
            module.section(&globals);
            self.globals_done = true;
        }
        if !self.exports_done && past(SectionId::Export) {
            let mut exports = ExportSection::new();
            self.add_exports(&mut exports);
            module.section(&exports);
            self.exports_done = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metered(wat: &str) -> Vec<u8> {
        let wasm = wat::parse_str(wat).unwrap();
        let shape = crate::portable::check(&wasm).unwrap();
        let out = meter(&wasm, &shape, 1000, false).unwrap();
        wasmparser::Validator::new().validate_all(&out).unwrap();
        let out = meter(&wasm, &shape, 1000, true).unwrap();
        wasmparser::Validator::new().validate_all(&out).unwrap();
        out
    }

    #[test]
    fn a_module_without_globals_or_exports_gains_meters_and_a_start_wrapper() {
        let out = metered("(module (func (loop (br 0))) (start 0))");
        let names: Vec<String> = Parser::new(0)
            .parse_all(&out)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::ExportSection(r) => {
                    Some(r.into_iter().map(|e| e.unwrap().name.to_owned()).collect::<Vec<_>>())
                }
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(names, [FUEL_EXPORT, DEPTH_EXPORT, START_EXPORT]);
    }

    #[test]
    fn bulk_operations_and_tail_calls_stay_valid() {
        metered(
            r#"(module (memory 1) (global $g (mut i32) (i32.const 0))
                (func $f (param i32) (result i32)
                  (memory.fill (i32.const 0) (i32.const 0) (local.get 0))
                  (if (result i32) (local.get 0)
                    (then (return_call $f (i32.sub (local.get 0) (i32.const 1))))
                    (else (call $g2))))
                (func $g2 (result i32) (global.get $g))
                (export "f" (func $f)))"#,
        );
    }
}
