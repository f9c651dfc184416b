//! The interpreter tier: wasmi with `deterministic`, eager compilation and fuel metering, over a
//! host-preallocated static memory buffer. The reference tier.

use crate::config::{Config, WASM_PAGE};
use crate::error::{Error, Phase, TrapKind};
use crate::guest::{Entry, ExportSig, GuestReport, ImportDesc, ImportKind, ValKind};
use crate::sys::{StaticMemory, WithStaticMemory};
use lockstep_sdk::names;
use wasmi::{
    Caller, CompilationMode, ExternType, Linker, Memory, MemoryType, Store, TrapCode, TypedFunc,
    ValType,
};

/// Builds the wasmi engine: fuel on, eager compilation, value stack pre-sized, only the Wasm
/// proposals both tiers accept.
pub(crate) fn new_engine(config: &Config) -> wasmi::Engine {
    let mut c = wasmi::Config::default();
    c.consume_fuel(true)
        .compilation_mode(CompilationMode::Eager)
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        .set_max_recursion_depth(config.max_recursion_depth)
        .set_max_stack_height(config.max_stack_bytes)
        .set_min_stack_height(config.min_stack_bytes)
        .set_max_cached_stacks(2);
    wasmi::Engine::new(&c)
}

/// Validates and translates `wasm`.
pub(crate) fn compile(engine: &wasmi::Engine, wasm: &[u8]) -> Result<wasmi::Module, Error> {
    wasmi::Module::new(engine, wasm).map_err(|e| Error::Malformed {
        // wasmi pretty-prints some details over many lines; keep the message on one.
        reason: e.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
    })
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

fn sig(ty: &wasmi::FuncType) -> ExportSig {
    ExportSig {
        params: ty.params().iter().map(kind).collect(),
        results: ty.results().iter().map(kind).collect(),
    }
}

/// The module's imports, as the sandbox checks see them.
pub(crate) fn imports(module: &wasmi::Module) -> Vec<ImportDesc> {
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
                    shared: false,
                },
                ExternType::Func(f) => ImportKind::Func(sig(f)),
                ExternType::Global(_) | ExternType::Table(_) => ImportKind::Other,
            },
        })
        .collect()
}

/// An export's function signature: `None` if absent, `Some(None)` if not a function.
pub(crate) fn export(module: &wasmi::Module, name: &str) -> Option<Option<ExportSig>> {
    module.get_export(name).map(|e| match e {
        ExternType::Func(f) => Some(sig(&f)),
        _ => None,
    })
}

/// What one wasmi store carries besides the instance.
pub(crate) struct HostState {
    memory: Option<Memory>,
    report: GuestReport,
}

impl wasmi::ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        if desired > self.report.limit_bytes {
            self.report.grow_refused = true;
            return Err(wasmi_core::LimiterError::ResourceLimiterDeniedAllocation);
        }
        Ok(true)
    }
    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        Ok(desired <= crate::guest::MAX_TABLE_ELEMENTS)
    }
    // wasmi counts the host-created memory and the instance's view of it separately, so the
    // limits here are one more than a single-memory, single-instance guest needs.
    fn instances(&self) -> usize {
        2
    }
    fn tables(&self) -> usize {
        4
    }
    fn memories(&self) -> usize {
        2
    }
}

/// One instantiated guest on the interpreter: the store and its entry points, held with the
/// preallocated memory the store borrows (dropped after them, by `WithStaticMemory`).
pub(crate) struct Guest {
    inner: WithStaticMemory<Inner>,
}

struct Inner {
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
        engine: &wasmi::Engine,
        module: &wasmi::Module,
        config: &Config,
        (min_pages, max_pages): (u32, Option<u32>),
    ) -> Result<Self, Error> {
        let limit_bytes = config.memory_bytes();
        let mut buffer = StaticMemory::new(limit_bytes);
        if config.pretouch_memory {
            buffer.pretouch();
        }
        let inner = WithStaticMemory::new(buffer, |bytes| {
            let report = GuestReport::new(limit_bytes);
            let mut store = Store::new(engine, HostState { memory: None, report });
            store.limiter(|s| s as &mut dyn wasmi::ResourceLimiter);
            store.set_fuel(config.init_fuel.0).map_err(|e| internal(&e))?;
            let memory =
                Memory::new_static(&mut store, MemoryType::new(min_pages, max_pages), bytes)
                    .map_err(|e| Error::BadRegions {
                        reason: format!("cannot create guest memory: {e}"),
                    })?;
            store.data_mut().memory = Some(memory);

            let mut linker = Linker::<HostState>::new(engine);
            linker
                .define(names::HOST_MODULE, names::MEMORY, memory)
                .and_then(|l| l.func_wrap(names::HOST_MODULE, names::FAIL, host_fail))
                .map_err(|e| Error::Malformed {
                    reason: format!("cannot link host functions: {e}"),
                })?;
            let instance = linker
                .instantiate_and_start(&mut store, module)
                .map_err(|e| classify(&mut store, &e, Phase::Load, config.init_fuel.0))?;
            // The module's export signatures were checked at load.
            let typed = |store: &Store<HostState>, name: &'static str| {
                instance.get_typed_func::<(), i32>(store, name).map_err(|e| internal(&e))
            };
            Ok(Inner {
                on_event_fn: typed(&store, names::ON_EVENT)?,
                version_fn: typed(&store, names::ABI_VERSION)?,
                regions_fn: typed(&store, names::REGIONS)?,
                init_fn: instance
                    .get_typed_func::<i32, i32>(&store, names::INIT)
                    .map_err(|e| internal(&e))?,
                store,
                memory,
            })
        })?;
        Ok(Self { inner })
    }

    /// Calls an ABI entry point with `budget` fuel; returns its result and the fuel it used.
    pub(crate) fn call(
        &mut self,
        entry: Entry,
        arg: i32,
        budget: u64,
        phase: Phase,
    ) -> (Result<i32, Error>, u64) {
        let g = &mut *self.inner;
        // Setting fuel cannot fail: fuel metering is always on in a Lockstep engine.
        let _ = g.store.set_fuel(budget);
        let result = match entry {
            Entry::OnEvent => g.on_event_fn.call(&mut g.store, ()),
            Entry::Init => g.init_fn.call(&mut g.store, arg),
            Entry::AbiVersion => g.version_fn.call(&mut g.store, ()),
            Entry::Regions => g.regions_fn.call(&mut g.store, ()),
        };
        let used = budget - g.store.get_fuel().unwrap_or(0);
        (result.map_err(|e| classify(&mut g.store, &e, phase, budget)), used)
    }

    /// The guest's linear memory.
    #[inline]
    pub(crate) fn memory(&self) -> &[u8] {
        self.inner.memory.data(&self.inner.store)
    }

    /// The guest's linear memory, writable.
    #[inline]
    pub(crate) fn memory_mut(&mut self) -> &mut [u8] {
        let g = &mut *self.inner;
        g.memory.data_mut(&mut g.store)
    }

    /// Bytes preallocated for the guest's memory.
    pub(crate) fn capacity(&self) -> usize {
        self.inner.memory_len()
    }
}

fn host_fail(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> Result<(), wasmi::Error> {
    let message = match caller.data().memory {
        Some(m) => GuestReport::read_message(m.data(&caller), ptr, len),
        None => GuestReport::read_message(&[], ptr, len),
    };
    caller.data_mut().report.fail_message = Some(message);
    Err(wasmi::Error::new("guest called lockstep.fail"))
}

fn internal(e: &impl std::fmt::Display) -> Error {
    Error::Malformed { reason: format!("engine refused the module: {e}") }
}

/// Turns a wasmi error into a typed one, using what the host function and limiter recorded.
fn classify(store: &mut Store<HostState>, e: &wasmi::Error, phase: Phase, budget: u64) -> Error {
    if let Some(err) = store.data_mut().report.take(phase) {
        return err;
    }
    let limit_pages = (store.data().report.limit_bytes / WASM_PAGE) as u32;
    let kind = match e.as_trap_code() {
        Some(TrapCode::OutOfFuel) => return Error::OutOfFuel { phase, budget },
        Some(TrapCode::GrowthOperationLimited) => {
            return Error::MemoryLimit { phase, limit_pages };
        }
        Some(TrapCode::UnreachableCodeReached) => TrapKind::Unreachable,
        Some(TrapCode::MemoryOutOfBounds) => TrapKind::MemoryOutOfBounds,
        Some(TrapCode::IntegerDivisionByZero) => TrapKind::DivisionByZero,
        Some(TrapCode::IntegerOverflow) => TrapKind::IntegerOverflow,
        Some(TrapCode::BadConversionToInteger) => TrapKind::BadConversion,
        Some(TrapCode::StackOverflow) => TrapKind::StackExhausted,
        Some(
            TrapCode::IndirectCallToNull | TrapCode::BadSignature | TrapCode::TableOutOfBounds,
        ) => TrapKind::BadIndirectCall,
        Some(_) => TrapKind::Other,
        None => return Error::Host { phase, reason: e.to_string() },
    };
    Error::Trap { phase, kind }
}
