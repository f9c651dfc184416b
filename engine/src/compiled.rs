//! The compiled tier: the same modules compiled to native code by Cranelift (wasmtime), with
//! fuel metering, canonical NaNs, no SIMD or threads, and guest memory that the host
//! preallocates and pre-faults (see `sys::GuestMemoryCreator`).
//!
//! Precompiled artefacts are wasmtime's serialized modules inside a Lockstep envelope: a magic,
//! a fingerprint of the engine build and configuration, and a SHA-256 of the payload, all
//! checked before wasmtime's own compatibility check runs.

use crate::backend::{
    BackendGuest, EntryFn, Exports, FAIL_TRAP, Fault, Linked, fault_of_trap, instantiate_failure,
    internal, limiter, link_host_math, link_profile, link_refused, malformed, memory_refused,
    one_line, val_kind,
};
use crate::backend::{exported_globals, find_globals, find_meter, pages_to_grow};
use crate::config::Config;
use crate::error::{Error, TrapKind};
use crate::guest::{Entry, ExportSig, GuestReport, ImportDesc, ImportKind, ValKind};
use crate::instrument::{GlobalKind, MutableGlobal};
use crate::sys;
use lockstep_sdk::names;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;
use wasmtime::{
    Caller, ExternType, Global, Linker, Memory, MemoryType, OptLevel, Store, Trap, TypedFunc, Val,
    ValType,
};

/// Builds the wasmtime engine: Cranelift with fuel, canonical NaNs, deterministic relaxed SIMD
/// (SIMD itself is off, as on the interpreter), host-preallocated memory. Threads, GC, the
/// component model and async are not even compiled in (see the workspace manifest).
pub(crate) fn new_engine(config: &Config) -> Result<wasmtime::Engine, Error> {
    let mut c = wasmtime::Config::new();
    c.consume_fuel(false)
        .cranelift_nan_canonicalization(true)
        .cranelift_opt_level(OptLevel::Speed)
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .relaxed_simd_deterministic(true)
        .wasm_multi_memory(false)
        .wasm_memory64(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        .wasm_bulk_memory(true)
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .memory_init_cow(false)
        .memory_may_move(false)
        .max_wasm_stack(config.compiled_stack_bytes)
        .with_host_memory(Arc::new(sys::GuestMemoryCreator {
            limit_bytes: config.memory_bytes(),
            pretouch: config.pretouch_memory,
        }));
    wasmtime::Engine::new(&c)
        .map_err(|e| Error::Setup { reason: format!("the compiled tier is unavailable: {e}") })
}

/// Validates and compiles `wasm` to native code.
pub(crate) fn compile(engine: &wasmtime::Engine, wasm: &[u8]) -> Result<wasmtime::Module, Error> {
    // The root cause is wasmparser's own message, the same words the interpreter reports.
    wasmtime::Module::new(engine, wasm).map_err(|e| malformed(&e.root_cause()))
}

/// Version 2 added the module's SHA-256, which checkpoints name their module by.
const MAGIC: &[u8; 16] = b"LOCKSTEP-AOT\0\0\0\x02";
const HEADER: usize = MAGIC.len() + 32 + 32 + 8 + 32;

/// What an artefact must have been produced by: this wasmtime build and target, and every
/// setting of ours that reaches the generated code.
pub(crate) fn fingerprint(engine: &wasmtime::Engine, config: &Config) -> [u8; 32] {
    struct ShaHasher(Sha256);
    impl std::hash::Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut h = ShaHasher(Sha256::new());
    h.0.update(b"lockstep compiled tier v2 (module-metered fuel and stack)\0");
    h.0.update(config.init_fuel.0.to_le_bytes());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
    h.0.update(std::env::consts::ARCH.as_bytes());
    h.0.update(std::env::consts::OS.as_bytes());
    h.0.update((config.compiled_stack_bytes as u64).to_le_bytes());
    h.0.finalize().into()
}

/// Wraps a compiled module in the Lockstep envelope, with the SHA-256 of the `.wasm` it was
/// compiled from.
pub(crate) fn serialize(
    engine: &wasmtime::Engine,
    config: &Config,
    module: &wasmtime::Module,
    sha256: &[u8; 32],
) -> Result<Vec<u8>, Error> {
    let payload = module.serialize().map_err(|e| Error::Setup {
        reason: format!("cannot serialize the compiled module: {}", one_line(&e)),
    })?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&fingerprint(engine, config));
    out.extend_from_slice(sha256);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Checks the envelope and loads the compiled module it carries, with the SHA-256 of the
/// `.wasm` it was compiled from.
pub(crate) fn deserialize(
    engine: &wasmtime::Engine,
    config: &Config,
    artefact: &[u8],
) -> Result<(wasmtime::Module, [u8; 32]), Error> {
    let refuse = |reason: &str| Err(Error::Artefact { reason: reason.to_owned() });
    if artefact.len() < HEADER || &artefact[..MAGIC.len()] != MAGIC {
        return refuse("not a Lockstep precompiled module (no LOCKSTEP-AOT v2 header)");
    }
    let (fp, rest) = artefact[MAGIC.len()..].split_at(32);
    let (source, rest) = rest.split_at(32);
    let (len, rest) = rest.split_at(8);
    let (sum, payload) = rest.split_at(32);
    if fp != fingerprint(engine, config) {
        return refuse(
            "produced by another Lockstep build, target or compiled-tier configuration; \
             precompile it again with this engine",
        );
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(len);
    if u64::from_le_bytes(n) != payload.len() as u64 {
        return refuse("truncated or padded: the payload length does not match its header");
    }
    if Sha256::digest(payload).as_slice() != sum {
        return refuse("corrupted: the payload's SHA-256 does not match its header");
    }
    let module = sys::deserialize_module(engine, payload).map_err(|e| Error::Artefact {
        reason: format!("wasmtime refused it: {}", one_line(&e)),
    })?;
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(source);
    Ok((module, sha256))
}

fn kind(t: ValType) -> ValKind {
    val_kind!(wasmtime, t)
}

fn describe(ty: &ExternType) -> ImportKind {
    match ty {
        ExternType::Memory(m) => ImportKind::Memory {
            min: m.minimum(),
            max: m.maximum(),
            is_64: m.is_64(),
            shared: m.is_shared(),
        },
        ExternType::Func(f) => {
            ImportKind::Func(ExportSig::new(f.params().map(kind), f.results().map(kind)))
        }
        ExternType::Global(_) | ExternType::Table(_) | ExternType::Tag(_) => ImportKind::Other,
    }
}

/// The module's imports, as the sandbox checks see them.
pub(crate) fn imports(module: &wasmtime::Module) -> Vec<ImportDesc> {
    module.imports().map(|i| ImportDesc::new(i.module(), i.name(), describe(&i.ty()))).collect()
}

/// An export's function signature: `None` if absent, `Some(None)` if not a function.
pub(crate) fn export(module: &wasmtime::Module, name: &str) -> Option<Option<ExportSig>> {
    module.get_export(name).map(|ty| describe(&ty).into_func())
}

/// What one wasmtime store carries besides the instance.
type HostState = crate::guest::HostState<Memory>;

limiter!(
    impl wasmtime for HostState,
    wasmtime::Result<bool>,
    refused: wasmtime::Error::msg("memory limit"),
    extra: 0
);

/// One instantiated guest on the compiled tier: its store, memory and entry points.
pub(crate) type Guest =
    Linked<Store<HostState>, Memory, TypedFunc<(), i32>, TypedFunc<i32, i32>, Global>;

impl BackendGuest for Guest {
    type Engine = wasmtime::Engine;
    type Module = wasmtime::Module;
    type Error = wasmtime::Error;

    fn instantiate(
        engine: &wasmtime::Engine,
        module: &wasmtime::Module,
        config: &Config,
        (min_pages, max_pages): (u32, Option<u32>),
        wanted: &[MutableGlobal],
    ) -> Result<Self, Error> {
        let mut store = Store::new(engine, HostState::new(config));
        store.limiter(|s| s as &mut dyn wasmtime::ResourceLimiter);
        let memory = Memory::new(&mut store, MemoryType::new(min_pages, max_pages))
            .map_err(|e| memory_refused(&e))?;
        store.data_mut().memory = Some(memory);
        let mut linker = Linker::<HostState>::new(engine);
        linker
            .define(&store, names::HOST_MODULE, names::MEMORY, memory)
            .and_then(|l| l.func_wrap(names::HOST_MODULE, names::FAIL, host_fail))
            .map_err(|e| link_refused(&e))?;
        link_host_math!(linker);
        link_profile!(linker, Caller);
        let instance = linker
            .instantiate(&mut store, module)
            .map_err(|e| instantiate_failure::<Self>(&mut store.data_mut().report, &e, config))?;
        // The module's export signatures were checked at load.
        let init = instance.get_typed_func(&mut store, names::INIT);
        let migrate = instance.get_typed_func(&mut store, names::MIGRATE).ok();
        let exports = Exports::new(init, migrate, |name| instance.get_typed_func(&mut store, name))
            .map_err(|e| internal(&e))?;
        let globals = find_globals(wanted, |name| instance.get_global(&mut store, name))?;
        let meter = find_meter(|name| instance.get_global(&mut store, name))?;
        Ok(Self { store, memory, exports, globals, meter })
    }

    #[inline]
    fn set_meter(&mut self, fuel: u64) {
        let [f, d] = &self.meter;
        // Both are the module's own i64 and i32 globals: the types match.
        let _ = f.set(&mut self.store, Val::I64(i64::try_from(fuel).unwrap_or(i64::MAX)));
        let _ = d.set(&mut self.store, Val::I32(0));
    }

    #[inline]
    fn fuel_left(&mut self) -> i64 {
        self.meter[0].get(&mut self.store).i64().unwrap_or(-1)
    }

    fn depth(&mut self) -> i32 {
        self.meter[1].get(&mut self.store).i32().unwrap_or(0)
    }

    #[inline]
    fn invoke(&mut self, entry: Entry, arg: i32) -> wasmtime::Result<i32> {
        match self.exports.get(entry) {
            EntryFn::Unit(f) => f.call(&mut self.store, ()),
            EntryFn::Init(f) => f.call(&mut self.store, arg),
            EntryFn::Missing => Ok(0),
        }
    }

    fn report(&mut self) -> &mut GuestReport {
        &mut self.store.data_mut().report
    }

    fn fault(e: &wasmtime::Error) -> Fault<'_> {
        match e.downcast_ref::<Trap>() {
            Some(code) => fault_of_trap!(*code, Trap,
                Trap::AllocationTooLarge => Fault::MemoryLimit,
                Trap::HeapMisaligned => Fault::Trap(TrapKind::MemoryOutOfBounds)),
            None => Fault::Host(e),
        }
    }

    #[inline]
    fn memory(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    #[inline]
    fn memory_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    fn capacity(&self) -> usize {
        self.store.data().report.limit_bytes
    }

    fn read_globals(&mut self, out: &mut Vec<(MutableGlobal, u64)>) {
        let g = &mut *self;
        out.clear();
        for (global, desc) in &g.globals {
            out.push((*desc, bits(global.get(&mut g.store))));
        }
    }

    fn write_global(&mut self, i: usize, bits: u64) -> Result<(), Error> {
        let g = &mut *self;
        let Some((global, desc)) = g.globals.get(i) else {
            return Err(internal(&format_args!("no mutable global #{i}")));
        };
        global.set(&mut g.store, value(desc.kind, bits)).map_err(|e| internal(&e))
    }

    fn grow_to(&mut self, bytes: usize) -> Result<(), Error> {
        let g = &mut *self;
        let current = g.memory.data(&g.store).len();
        let pages = pages_to_grow(current, bytes);
        if pages > 0 {
            g.memory.grow(&mut g.store, pages).map_err(|e| memory_refused(&e))?;
        }
        Ok(())
    }
}

fn host_fail(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let memory = caller.data().memory.map_or(&[][..], |m| m.data(&caller));
    caller.data_mut().report.fail_message = Some(GuestReport::read_message(memory, ptr, len));
    Err(wasmtime::Error::msg(FAIL_TRAP))
}

/// A global's value as the bits a checkpoint stores.
fn bits(v: Val) -> u64 {
    match v {
        Val::I32(x) => u64::from(x as u32),
        Val::I64(x) => x as u64,
        Val::F32(x) => u64::from(x),
        Val::F64(x) => x,
        // `instrument` exports only numeric globals.
        _ => 0,
    }
}

/// A global's value of type `kind` from a checkpoint's bits.
fn value(kind: GlobalKind, bits: u64) -> Val {
    match kind {
        GlobalKind::I32 => Val::I32(bits as u32 as i32),
        GlobalKind::I64 => Val::I64(bits as i64),
        GlobalKind::F32 => Val::F32(bits as u32),
        GlobalKind::F64 => Val::F64(bits),
    }
}

/// The mutable globals `module` exports under `instrument`'s names.
pub(crate) fn globals(module: &wasmtime::Module) -> Vec<MutableGlobal> {
    exported_globals(module.exports().map(|e| {
        let kind = match e.ty() {
            ExternType::Global(g) if g.mutability() == wasmtime::Mutability::Var => {
                GlobalKind::of(kind(g.content().clone()))
            }
            _ => None,
        };
        (e.name(), kind)
    }))
}
