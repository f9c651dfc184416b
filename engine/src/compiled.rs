//! The compiled tier: the same modules compiled to native code by Cranelift (wasmtime), with
//! fuel metering, canonical NaNs, no SIMD or threads, and guest memory that the host
//! preallocates and pre-faults (see `sys::GuestMemoryCreator`).
//!
//! Precompiled artefacts are wasmtime's serialized modules inside a Lockstep envelope: a magic,
//! a fingerprint of the engine build and configuration, and a SHA-256 of the payload, all
//! checked before wasmtime's own compatibility check runs.

use crate::config::{Config, WASM_PAGE};
use crate::error::{Error, Phase, TrapKind};
use crate::guest::{Entry, ExportSig, GuestReport, ImportDesc, ImportKind, ValKind};
use crate::sys;
use lockstep_sdk::names;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;
use wasmtime::{
    Caller, ExternType, Linker, Memory, MemoryType, OptLevel, Store, Trap, TypedFunc, ValType,
};

/// Builds the wasmtime engine: Cranelift with fuel, canonical NaNs, deterministic relaxed SIMD
/// (SIMD itself is off, as on the interpreter), host-preallocated memory. Threads, GC, the
/// component model and async are not even compiled in (see the workspace manifest).
pub(crate) fn new_engine(config: &Config) -> Result<wasmtime::Engine, Error> {
    let mut c = wasmtime::Config::new();
    c.consume_fuel(true)
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
    wasmtime::Module::new(engine, wasm).map_err(|e| Error::Malformed {
        reason: e.root_cause().to_string().split_whitespace().collect::<Vec<_>>().join(" "),
    })
}

fn one_line(e: &wasmtime::Error) -> String {
    format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ")
}

const MAGIC: &[u8; 16] = b"LOCKSTEP-AOT\0\0\0\x01";
const HEADER: usize = MAGIC.len() + 32 + 8 + 32;

/// What an artefact must have been produced by: this wasmtime build and target, and every
/// setting of ours that reaches the generated code.
fn fingerprint(engine: &wasmtime::Engine, config: &Config) -> [u8; 32] {
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
    h.0.update(b"lockstep compiled tier v1\0");
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
    h.0.update(std::env::consts::ARCH.as_bytes());
    h.0.update(std::env::consts::OS.as_bytes());
    h.0.update((config.compiled_stack_bytes as u64).to_le_bytes());
    h.0.finalize().into()
}

/// Wraps a compiled module in the Lockstep envelope.
pub(crate) fn serialize(
    engine: &wasmtime::Engine,
    config: &Config,
    module: &wasmtime::Module,
) -> Result<Vec<u8>, Error> {
    let payload = module.serialize().map_err(|e| Error::Setup {
        reason: format!("cannot serialize the compiled module: {}", one_line(&e)),
    })?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&fingerprint(engine, config));
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Checks the envelope and loads the compiled module it carries.
pub(crate) fn deserialize(
    engine: &wasmtime::Engine,
    config: &Config,
    artefact: &[u8],
) -> Result<wasmtime::Module, Error> {
    let refuse = |reason: &str| Err(Error::Artefact { reason: reason.to_owned() });
    if artefact.len() < HEADER || &artefact[..MAGIC.len()] != MAGIC {
        return refuse("not a Lockstep precompiled module (no LOCKSTEP-AOT v1 header)");
    }
    let (fp, rest) = artefact[MAGIC.len()..].split_at(32);
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
    sys::deserialize_module(engine, payload)
        .map_err(|e| Error::Artefact { reason: format!("wasmtime refused it: {}", one_line(&e)) })
}

fn kind(t: &ValType) -> ValKind {
    match t {
        ValType::I32 => ValKind::I32,
        ValType::I64 => ValKind::I64,
        ValType::F32 => ValKind::F32,
        ValType::F64 => ValKind::F64,
        _ => ValKind::Other,
    }
}

fn sig(ty: &wasmtime::FuncType) -> ExportSig {
    ExportSig {
        params: ty.params().map(|t| kind(&t)).collect(),
        results: ty.results().map(|t| kind(&t)).collect(),
    }
}

/// The module's imports, as the sandbox checks see them.
pub(crate) fn imports(module: &wasmtime::Module) -> Vec<ImportDesc> {
    module
        .imports()
        .map(|i| ImportDesc {
            module: i.module().to_owned(),
            name: i.name().to_owned(),
            kind: match i.ty() {
                ExternType::Memory(m) => ImportKind::Memory {
                    min: m.minimum(),
                    max: m.maximum(),
                    is_64: m.is_64(),
                    shared: m.is_shared(),
                },
                ExternType::Func(f) => ImportKind::Func(sig(&f)),
                ExternType::Global(_) | ExternType::Table(_) | ExternType::Tag(_) => {
                    ImportKind::Other
                }
            },
        })
        .collect()
}

/// An export's function signature: `None` if absent, `Some(None)` if not a function.
pub(crate) fn export(module: &wasmtime::Module, name: &str) -> Option<Option<ExportSig>> {
    module.get_export(name).map(|e| match e {
        ExternType::Func(f) => Some(sig(&f)),
        _ => None,
    })
}

/// What one wasmtime store carries besides the instance.
pub(crate) struct HostState {
    memory: Option<Memory>,
    report: GuestReport,
}

impl wasmtime::ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.report.limit_bytes {
            self.report.grow_refused = true;
            return Err(wasmtime::Error::msg("memory limit"));
        }
        Ok(true)
    }
    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= crate::guest::MAX_TABLE_ELEMENTS)
    }
    fn instances(&self) -> usize {
        1
    }
    fn tables(&self) -> usize {
        4
    }
    fn memories(&self) -> usize {
        1
    }
}

/// One instantiated guest on the compiled tier.
pub(crate) struct Guest {
    store: Store<HostState>,
    memory: Memory,
    on_event_fn: TypedFunc<(), i32>,
    init_fn: TypedFunc<i32, i32>,
    version_fn: TypedFunc<(), i32>,
    regions_fn: TypedFunc<(), i32>,
}

impl Guest {
    /// Creates the preallocated memory, links the host functions and instantiates, running any
    /// start function under the init fuel.
    pub(crate) fn new(
        engine: &wasmtime::Engine,
        module: &wasmtime::Module,
        config: &Config,
        (min_pages, max_pages): (u32, Option<u32>),
    ) -> Result<Self, Error> {
        let limit_bytes = config.memory_bytes();
        let report = GuestReport::new(limit_bytes);
        let mut store = Store::new(engine, HostState { memory: None, report });
        store.limiter(|s| s as &mut dyn wasmtime::ResourceLimiter);
        store.set_fuel(config.init_fuel.0).map_err(|e| internal(&e))?;
        let memory =
            Memory::new(&mut store, MemoryType::new(min_pages, max_pages)).map_err(|e| {
                Error::BadRegions { reason: format!("cannot create guest memory: {e}") }
            })?;
        store.data_mut().memory = Some(memory);

        let mut linker = Linker::<HostState>::new(engine);
        linker
            .define(&store, names::HOST_MODULE, names::MEMORY, memory)
            .and_then(|l| l.func_wrap(names::HOST_MODULE, names::FAIL, host_fail))
            .map_err(|e| Error::Malformed { reason: format!("cannot link host functions: {e}") })?;
        let instance = linker
            .instantiate(&mut store, module)
            .map_err(|e| classify(&mut store, &e, Phase::Load, config.init_fuel.0))?;
        // The module's export signatures were checked at load.
        let typed = |store: &mut Store<HostState>, name: &'static str| {
            instance.get_typed_func::<(), i32>(store, name).map_err(|e| internal(&e))
        };
        Ok(Self {
            on_event_fn: typed(&mut store, names::ON_EVENT)?,
            version_fn: typed(&mut store, names::ABI_VERSION)?,
            regions_fn: typed(&mut store, names::REGIONS)?,
            init_fn: instance
                .get_typed_func::<i32, i32>(&mut store, names::INIT)
                .map_err(|e| internal(&e))?,
            store,
            memory,
        })
    }

    /// Calls an ABI entry point with `budget` fuel; returns its result and the fuel it used.
    pub(crate) fn call(
        &mut self,
        entry: Entry,
        arg: i32,
        budget: u64,
        phase: Phase,
    ) -> (Result<i32, Error>, u64) {
        // Setting fuel cannot fail: fuel metering is always on in a Lockstep engine.
        let _ = self.store.set_fuel(budget);
        let result = match entry {
            Entry::OnEvent => self.on_event_fn.call(&mut self.store, ()),
            Entry::Init => self.init_fn.call(&mut self.store, arg),
            Entry::AbiVersion => self.version_fn.call(&mut self.store, ()),
            Entry::Regions => self.regions_fn.call(&mut self.store, ()),
        };
        let used = budget.saturating_sub(self.store.get_fuel().unwrap_or(0));
        (result.map_err(|e| classify(&mut self.store, &e, phase, budget)), used)
    }

    /// The guest's linear memory.
    #[inline]
    pub(crate) fn memory(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    /// The guest's linear memory, writable.
    #[inline]
    pub(crate) fn memory_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    /// Bytes preallocated for the guest's memory.
    pub(crate) fn capacity(&self) -> usize {
        self.store.data().report.limit_bytes
    }
}

fn host_fail(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let message = match caller.data().memory {
        Some(m) => GuestReport::read_message(m.data(&caller), ptr, len),
        None => GuestReport::read_message(&[], ptr, len),
    };
    caller.data_mut().report.fail_message = Some(message);
    Err(wasmtime::Error::msg("guest called lockstep.fail"))
}

fn internal(e: &impl std::fmt::Display) -> Error {
    Error::Malformed { reason: format!("engine refused the module: {e}") }
}

/// Turns a wasmtime error into a typed one, using what the host function and limiter recorded.
fn classify(store: &mut Store<HostState>, e: &wasmtime::Error, phase: Phase, budget: u64) -> Error {
    if let Some(err) = store.data_mut().report.take(phase) {
        return err;
    }
    let limit_pages = (store.data().report.limit_bytes / WASM_PAGE) as u32;
    let kind = match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => return Error::OutOfFuel { phase, budget },
        Some(Trap::AllocationTooLarge) => return Error::MemoryLimit { phase, limit_pages },
        Some(Trap::UnreachableCodeReached) => TrapKind::Unreachable,
        Some(Trap::MemoryOutOfBounds | Trap::HeapMisaligned) => TrapKind::MemoryOutOfBounds,
        Some(Trap::IntegerDivisionByZero) => TrapKind::DivisionByZero,
        Some(Trap::IntegerOverflow) => TrapKind::IntegerOverflow,
        Some(Trap::BadConversionToInteger) => TrapKind::BadConversion,
        Some(Trap::StackOverflow) => TrapKind::StackExhausted,
        Some(Trap::IndirectCallToNull | Trap::BadSignature | Trap::TableOutOfBounds) => {
            TrapKind::BadIndirectCall
        }
        Some(_) => TrapKind::Other,
        None => return Error::Host { phase, reason: one_line(e) },
    };
    Error::Trap { phase, kind }
}
