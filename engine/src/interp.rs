//! The interpreter tier: wasmi with `deterministic`, eager compilation and fuel metering, over a
//! host-preallocated static memory buffer. The reference tier.

use crate::backend::{
    BackendGuest, EntryFn, Exports, FAIL_TRAP, Fault, Linked, fault_of_trap, instantiate_failure,
    internal, limiter, link_host_math, link_profile, link_refused, malformed, memory_refused,
    val_kind,
};
use crate::backend::{exported_globals, find_globals, find_meter, pages_to_grow};
use crate::config::Config;
use crate::error::Error;
use crate::guest::{Entry, ExportSig, GuestReport, ImportDesc, ImportKind, ValKind};
use crate::instrument::{GlobalKind, MutableGlobal};
use crate::sys::{StaticMemory, WithStaticMemory};
use lockstep_sdk::names;
use wasmi::{
    Caller, CompilationMode, ExternType, Global, Linker, Memory, MemoryType, Store, TrapCode,
    TypedFunc, Val, ValType,
};

/// Builds the wasmi engine: fuel metered by the module itself (`meter`), eager compilation, value stack pre-sized, only the Wasm
/// proposals both tiers accept.
pub(crate) fn new_engine(config: &Config) -> wasmi::Engine {
    let mut c = wasmi::Config::default();
    c.consume_fuel(false)
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

/// Refuses, on every tier alike, a module the interpreter cannot translate: wasmi 2.0's
/// translator panics on some valid modules (a store whose address and value are both in its
/// integer register), so it runs first on a throwaway engine, with the panic contained.
///
/// # Errors
/// [`Error::Unportable`] naming the translator's failure.
pub(crate) fn check_translates(wasm: &[u8]) -> Result<(), Error> {
    let mut c = wasmi::Config::default();
    c.compilation_mode(CompilationMode::Eager)
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false);
    let engine = wasmi::Engine::new(&c);
    let translated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wasmi::Module::new(&engine, wasm).map(drop)
    }));
    match translated {
        // The backends' own validation reports a refusal, with their words.
        Ok(_) => Ok(()),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            Err(Error::Unportable {
                reason: format!("the interpreter (wasmi 2.0) cannot translate it ({what})"),
            })
        }
    }
}

/// Validates and translates `wasm`.
pub(crate) fn compile(engine: &wasmi::Engine, wasm: &[u8]) -> Result<wasmi::Module, Error> {
    wasmi::Module::new(engine, wasm).map_err(|e| malformed(&e))
}

fn kind(t: &ValType) -> ValKind {
    val_kind!(wasmi, t)
}

fn describe(ty: &ExternType) -> ImportKind {
    match ty {
        ExternType::Memory(m) => ImportKind::Memory {
            min: m.minimum(),
            max: m.maximum(),
            is_64: m.is_64(),
            shared: false,
        },
        ExternType::Func(f) => ImportKind::Func(ExportSig::new(
            f.params().iter().map(kind),
            f.results().iter().map(kind),
        )),
        ExternType::Global(_) | ExternType::Table(_) => ImportKind::Other,
    }
}

/// The module's imports, as the sandbox checks see them.
pub(crate) fn imports(module: &wasmi::Module) -> Vec<ImportDesc> {
    module.imports().map(|i| ImportDesc::new(i.module(), i.name(), describe(i.ty()))).collect()
}

/// An export's function signature: `None` if absent, `Some(None)` if not a function.
pub(crate) fn export(module: &wasmi::Module, name: &str) -> Option<Option<ExportSig>> {
    module.get_export(name).map(|ty| describe(&ty).into_func())
}

/// What one wasmi store carries besides the instance.
type HostState = crate::guest::HostState<Memory>;

// wasmi counts the host-created memory and the instance's view of it separately, so it needs
// one more instance and memory than a single-memory, single-instance guest.
limiter!(
    impl wasmi for HostState,
    Result<bool, wasmi_core::LimiterError>,
    refused: wasmi_core::LimiterError::ResourceLimiterDeniedAllocation,
    extra: 1
);

/// One instantiated guest on the interpreter: the store and its entry points, held with the
/// preallocated memory the store borrows (dropped after them, by `WithStaticMemory`).
pub(crate) struct Guest {
    inner: WithStaticMemory<Inner>,
}

/// The store, memory and entry points of an interpreter guest.
type Inner = Linked<Store<HostState>, Memory, TypedFunc<(), i32>, TypedFunc<i32, i32>, Global>;

impl BackendGuest for Guest {
    type Engine = wasmi::Engine;
    type Module = wasmi::Module;
    type Error = wasmi::Error;

    fn instantiate(
        engine: &wasmi::Engine,
        module: &wasmi::Module,
        config: &Config,
        (min_pages, max_pages): (u32, Option<u32>),
        wanted: &[MutableGlobal],
    ) -> Result<Self, Error> {
        let mut buffer = StaticMemory::new(config.memory_bytes());
        if config.pretouch_memory {
            buffer.pretouch();
        }
        let inner = WithStaticMemory::new(buffer, |bytes| {
            let mut store = Store::new(engine, HostState::new(config));
            store.limiter(|s| s as &mut dyn wasmi::ResourceLimiter);
            let memory =
                Memory::new_static(&mut store, MemoryType::new(min_pages, max_pages), bytes)
                    .map_err(|e| memory_refused(&e))?;
            store.data_mut().memory = Some(memory);
            let mut linker = Linker::<HostState>::new(engine);
            linker
                .define(names::HOST_MODULE, names::MEMORY, memory)
                .and_then(|l| l.func_wrap(names::HOST_MODULE, names::FAIL, host_fail))
                .map_err(|e| link_refused(&e))?;
            link_host_math!(linker);
            link_profile!(linker, Caller);
            let instance = linker.instantiate_and_start(&mut store, module).map_err(|e| {
                instantiate_failure::<Self>(&mut store.data_mut().report, &e, config)
            })?;
            // The module's export signatures were checked at load.
            let init = instance.get_typed_func(&store, names::INIT);
            let migrate = instance.get_typed_func(&store, names::MIGRATE).ok();
            let exports = Exports::new(init, migrate, |name| instance.get_typed_func(&store, name))
                .map_err(|e| internal(&e))?;
            let globals = find_globals(wanted, |name| instance.get_global(&store, name))?;
            let meter = find_meter(|name| instance.get_global(&store, name))?;
            Ok(Linked { store, memory, exports, globals, meter })
        })?;
        Ok(Self { inner })
    }

    #[inline]
    fn set_meter(&mut self, fuel: u64) {
        let g = &mut *self.inner;
        let [f, d] = &g.meter;
        // Both are the module's own i64 and i32 globals: the types match.
        let _ = f.set(&mut g.store, Val::I64(i64::try_from(fuel).unwrap_or(i64::MAX)));
        let _ = d.set(&mut g.store, Val::I32(0));
    }

    #[inline]
    fn fuel_left(&mut self) -> i64 {
        self.inner.meter[0].get(&self.inner.store).i64().unwrap_or(-1)
    }

    fn depth(&mut self) -> i32 {
        self.inner.meter[1].get(&self.inner.store).i32().unwrap_or(0)
    }

    #[inline]
    fn invoke(&mut self, entry: Entry, arg: i32) -> Result<i32, wasmi::Error> {
        let g = &mut *self.inner;
        match g.exports.get(entry) {
            EntryFn::Unit(f) => f.call(&mut g.store, ()),
            EntryFn::Init(f) => f.call(&mut g.store, arg),
            EntryFn::Missing => Ok(0),
        }
    }

    fn report(&mut self) -> &mut GuestReport {
        &mut self.inner.store.data_mut().report
    }

    fn fault(e: &wasmi::Error) -> Fault<'_> {
        use wasmi::errors::{ErrorKind, InstantiationError};
        match e.as_trap_code() {
            Some(code) => fault_of_trap!(code, TrapCode,
                TrapCode::GrowthOperationLimited => Fault::MemoryLimit),
            // An element segment past its table is a table-bounds trap, as on the compiled
            // tier (wasmi reports it as an instantiation error).
            None if matches!(
                e.kind(),
                ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. })
            ) =>
            {
                Fault::Trap(crate::error::TrapKind::BadIndirectCall)
            }
            None => Fault::Host(e),
        }
    }

    #[inline]
    fn memory(&self) -> &[u8] {
        self.inner.memory.data(&self.inner.store)
    }

    #[inline]
    fn memory_mut(&mut self) -> &mut [u8] {
        let g = &mut *self.inner;
        g.memory.data_mut(&mut g.store)
    }

    fn capacity(&self) -> usize {
        self.inner.memory_len()
    }

    fn read_globals(&mut self, out: &mut Vec<(MutableGlobal, u64)>) {
        let g = &mut *self.inner;
        out.clear();
        for (global, desc) in &g.globals {
            out.push((*desc, bits(global.get(&mut g.store))));
        }
    }

    fn write_global(&mut self, i: usize, bits: u64) -> Result<(), Error> {
        let g = &mut *self.inner;
        let Some((global, desc)) = g.globals.get(i) else {
            return Err(internal(&format_args!("no mutable global #{i}")));
        };
        global.set(&mut g.store, value(desc.kind, bits)).map_err(|e| internal(&e))
    }

    fn grow_to(&mut self, bytes: usize) -> Result<(), Error> {
        let g = &mut *self.inner;
        let current = g.memory.data(&g.store).len();
        let pages = pages_to_grow(current, bytes);
        if pages > 0 {
            g.memory.grow(&mut g.store, pages).map_err(|e| memory_refused(&e))?;
        }
        Ok(())
    }
}

fn host_fail(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> Result<(), wasmi::Error> {
    let memory = caller.data().memory.map_or(&[][..], |m| m.data(&caller));
    caller.data_mut().report.fail_message = Some(GuestReport::read_message(memory, ptr, len));
    Err(wasmi::Error::new(FAIL_TRAP))
}

/// A global's value as the bits a checkpoint stores.
fn bits(v: Val) -> u64 {
    match v {
        Val::I32(x) => u64::from(x as u32),
        Val::I64(x) => x as u64,
        Val::F32(x) => u64::from(x.to_bits()),
        Val::F64(x) => x.to_bits(),
        // `instrument` exports only numeric globals.
        _ => 0,
    }
}

/// A global's value of type `kind` from a checkpoint's bits.
fn value(kind: GlobalKind, bits: u64) -> Val {
    match kind {
        GlobalKind::I32 => Val::I32(bits as u32 as i32),
        GlobalKind::I64 => Val::I64(bits as i64),
        GlobalKind::F32 => Val::F32(wasmi::F32::from_bits(bits as u32)),
        GlobalKind::F64 => Val::F64(wasmi::F64::from_bits(bits)),
    }
}

/// The mutable globals `module` exports under `instrument`'s names.
pub(crate) fn globals(module: &wasmi::Module) -> Vec<MutableGlobal> {
    exported_globals(module.exports().map(|e| {
        let kind = match e.ty() {
            ExternType::Global(g) if g.mutability().is_mut() => GlobalKind::of(kind(&g.content())),
            _ => None,
        };
        (e.name(), kind)
    }))
}
