//! A running strategy: its store, its preallocated memory and the per-event hot path.
//!
//! Hot path ([`Instance::on_event`]): copy the 64-byte event (and the book view when given)
//! into the guest's regions, set the fuel budget, call `lockstep_on_event`, copy the actions
//! out into a buffer allocated at instantiation. No allocation, no lock, no clock.

use crate::config::{Config, Fuel, WASM_PAGE};
use crate::error::{Error, GuestStatus, Phase, TrapKind};
use crate::module::StrategyModule;
use crate::sys::StaticMemory;
use lockstep_sdk::{
    ABI_VERSION, ACTION_SIZE, ActionRecord, BOOK_SIZE, BookRecord, DispatchError, EVENT_SIZE,
    EventRecord, NativeInstance, REGIONS_SIZE, Regions, Strategy, names, status,
};
use wasmi::{Caller, Linker, Memory, MemoryType, Store, TrapCode, TypedFunc};

/// Host-side state of one store: the memory handle, the limit, and what the guest reported.
pub(crate) struct HostState {
    memory: Option<Memory>,
    limit_bytes: usize,
    grow_refused: bool,
    fail_message: Option<String>,
}

impl wasmi::ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        if desired > self.limit_bytes {
            self.grow_refused = true;
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
        // Tables hold function references only; a strategy needs a few hundred at most.
        Ok(desired <= 65_536)
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

/// One strategy, instantiated: takes events, yields actions, reports the fuel each event used.
///
/// Field order matters: `store` (which holds the `'static` view of `buffer`) is dropped first.
pub struct Instance {
    store: Store<HostState>,
    memory: Memory,
    on_event_fn: TypedFunc<(), i32>,
    regions: Regions,
    actions: Box<[ActionRecord]>,
    len: usize,
    last_fuel: Fuel,
    budget: u64,
    halted: bool,
    buffer: StaticMemory,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("regions", &self.regions)
            .field("last_fuel", &self.last_fuel)
            .field("halted", &self.halted)
            .finish_non_exhaustive()
    }
}

struct Prepared {
    store: Store<HostState>,
    memory: Memory,
    init_fn: TypedFunc<i32, i32>,
    on_event_fn: TypedFunc<(), i32>,
    regions: Regions,
    buffer: StaticMemory,
}

impl Instance {
    /// Instantiates without running init: creates the preallocated memory, links the host
    /// functions, runs the start function under the init fuel, checks version and regions.
    pub(crate) fn prepare(module: &StrategyModule) -> Result<PreparedInstance, Error> {
        let config: &Config = &module.engine.config;
        let (min_pages, declared_max) = module.memory_pages;
        let limit_bytes = config.memory_bytes();
        let mut buffer = StaticMemory::new(limit_bytes);
        if config.pretouch_memory {
            buffer.pretouch();
        }
        let mut store = Store::new(
            &module.engine.inner,
            HostState { memory: None, limit_bytes, grow_refused: false, fail_message: None },
        );
        store.limiter(|s| s as &mut dyn wasmi::ResourceLimiter);
        store.set_fuel(config.init_fuel.0).map_err(|e| internal(&e))?;
        let memory = Memory::new_static(
            &mut store,
            MemoryType::new(min_pages, declared_max),
            buffer.leak_static(),
        )
        .map_err(|e| Error::BadRegions { reason: format!("cannot create guest memory: {e}") })?;
        store.data_mut().memory = Some(memory);

        let mut linker = Linker::<HostState>::new(&module.engine.inner);
        linker
            .define(names::HOST_MODULE, names::MEMORY, memory)
            .and_then(|l| l.func_wrap(names::HOST_MODULE, names::FAIL, host_fail))
            .map_err(|e| Error::Malformed { reason: format!("cannot link host functions: {e}") })?;
        let instance = linker
            .instantiate_and_start(&mut store, &module.module)
            .map_err(|e| classify(&mut store, &e, Phase::Load, config.init_fuel.0))?;

        let typed = |store: &Store<HostState>, name: &'static str| {
            instance
                .get_typed_func::<(), i32>(store, name)
                .map_err(|_| Error::BadSignature { name, expected: "a function () -> i32" })
        };
        let version_fn = typed(&store, names::ABI_VERSION)?;
        let regions_fn = typed(&store, names::REGIONS)?;
        let on_event_fn = typed(&store, names::ON_EVENT)?;
        let init_fn = instance.get_typed_func::<i32, i32>(&store, names::INIT).map_err(|_| {
            Error::BadSignature { name: names::INIT, expected: "a function (i32) -> i32" }
        })?;

        let version = version_fn
            .call(&mut store, ())
            .map_err(|e| classify(&mut store, &e, Phase::Load, config.init_fuel.0))?;
        if version != ABI_VERSION as i32 {
            return Err(Error::AbiVersion { found: i64::from(version), expected: ABI_VERSION });
        }
        let at = regions_fn
            .call(&mut store, ())
            .map_err(|e| classify(&mut store, &e, Phase::Load, config.init_fuel.0))?;
        let mut raw = [0u8; REGIONS_SIZE];
        memory.read(&store, at as u32 as usize, &mut raw).map_err(|_| Error::BadRegions {
            reason: format!("descriptor address {at:#x} is outside memory"),
        })?;
        let regions = Regions::decode(&raw);
        check_regions(&regions, memory.data_size(&store), config)?;
        Ok(PreparedInstance(Prepared { store, memory, init_fn, on_event_fn, regions, buffer }))
    }

    pub(crate) fn new(module: &StrategyModule, params: &str) -> Result<Self, Error> {
        let config: &Config = &module.engine.config;
        let PreparedInstance(p) = Self::prepare(module)?;
        let Prepared { mut store, memory, init_fn, on_event_fn, regions, buffer } = p;
        if params.len() > regions.params_cap as usize {
            return Err(Error::ParamsTooLong { len: params.len(), cap: regions.params_cap });
        }
        memory
            .write(&mut store, regions.params_ptr as usize, params.as_bytes())
            .map_err(|e| internal(&e))?;
        store.set_fuel(config.init_fuel.0).map_err(|e| internal(&e))?;
        let rc = init_fn
            .call(&mut store, params.len() as i32)
            .map_err(|e| classify(&mut store, &e, Phase::Init, config.init_fuel.0))?;
        if rc < 0 {
            let n = (rc.unsigned_abs() as usize).min(regions.params_cap as usize);
            let mut msg = vec![0u8; n];
            memory.read(&store, regions.params_ptr as usize, &mut msg).map_err(|e| internal(&e))?;
            return Err(Error::InitRejected {
                message: String::from_utf8_lossy(&msg).into_owned(),
            });
        }
        let used = config.init_fuel.0 - store.get_fuel().map_err(|e| internal(&e))?;
        let mut this = Self {
            store,
            memory,
            on_event_fn,
            actions: vec![ActionRecord::zeroed(); regions.action_cap as usize].into_boxed_slice(),
            regions,
            len: 0,
            last_fuel: Fuel(used),
            budget: config.fuel_per_event.0,
            halted: false,
            buffer,
        };
        this.collect(rc, Phase::Init)?;
        Ok(this)
    }

    /// Handles one event: writes it (and `book`, when given) into the guest and returns the
    /// actions it emitted. The slice stays valid until the next call.
    ///
    /// # Errors
    /// [`Error::OutOfFuel`], [`Error::Trap`], [`Error::GuestPanic`], [`Error::MemoryLimit`] or
    /// [`Error::Guest`] naming the event's sequence number; all but a host-side bad event halt
    /// the instance, after which every call returns [`Error::Halted`].
    #[inline]
    pub fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<&[ActionRecord], Error> {
        let seq = ev.seq();
        if self.halted {
            return Err(Error::Halted { seq });
        }
        self.len = 0;
        let r = self.regions;
        let mem = self.memory.data_mut(&mut self.store);
        // Regions were checked to lie inside memory at instantiation, and memory never shrinks.
        if let Some(dst) = mem.get_mut(r.event_ptr as usize..r.event_ptr as usize + EVENT_SIZE) {
            dst.copy_from_slice(&ev.0);
        }
        if let Some(b) = book
            && let Some(dst) = mem.get_mut(r.book_ptr as usize..r.book_ptr as usize + BOOK_SIZE)
        {
            dst.copy_from_slice(&b.0);
        }
        // Setting fuel cannot fail: fuel metering is always on in a Lockstep engine.
        let _ = self.store.set_fuel(self.budget);
        let result = self.on_event_fn.call(&mut self.store, ());
        let left = self.store.get_fuel().unwrap_or(0);
        self.last_fuel = Fuel(self.budget - left);
        let phase = Phase::Event(seq);
        match result {
            Ok(rc) => {
                let out = self.collect(rc, phase);
                if let Err(e) = &out {
                    let e = match e {
                        Error::Guest {
                            error: GuestStatus::Dispatch(DispatchError::BadEvent(_)),
                            ..
                        } => match ev.decode() {
                            Err(abi) => Error::Guest {
                                phase,
                                error: GuestStatus::Dispatch(DispatchError::BadEvent(abi)),
                            },
                            Ok(_) => e.clone(),
                        },
                        other => other.clone(),
                    };
                    self.halted = e.halts();
                    return Err(e);
                }
                Ok(&self.actions[..self.len])
            }
            Err(e) => {
                self.halted = true;
                Err(classify(&mut self.store, &e, phase, self.budget))
            }
        }
    }

    /// Copies `rc` action records out of the guest, or maps a negative status to an error.
    fn collect(&mut self, rc: i32, phase: Phase) -> Result<(), Error> {
        let cap = self.regions.action_cap;
        if rc < 0 {
            let d = match rc {
                status::ACTION_OVERFLOW => DispatchError::ActionOverflow { cap: cap as usize },
                status::NOT_INITIALIZED => DispatchError::NotInitialized,
                status::BAD_EVENT => {
                    DispatchError::BadEvent(lockstep_sdk::AbiError::UnknownKind(0))
                }
                other => {
                    return Err(Error::Guest { phase, error: GuestStatus::UnknownStatus(other) });
                }
            };
            return Err(Error::Guest { phase, error: GuestStatus::Dispatch(d) });
        }
        if rc as u32 > cap {
            return Err(Error::Guest {
                phase,
                error: GuestStatus::TooManyActions { count: rc, cap },
            });
        }
        let n = rc as usize;
        self.len = n;
        if n == 0 {
            return Ok(());
        }
        let start = self.regions.action_ptr as usize;
        let mem = self.memory.data(&self.store);
        let Some(src) = mem.get(start..start + n * ACTION_SIZE) else {
            self.len = 0;
            return Err(Error::BadRegions { reason: "action region left memory".into() });
        };
        for (dst, chunk) in self.actions.iter_mut().zip(src.chunks_exact(ACTION_SIZE)) {
            dst.0.copy_from_slice(chunk);
        }
        Ok(())
    }

    /// Actions from the last call (init right after instantiation, then the last event).
    pub fn actions(&self) -> &[ActionRecord] {
        &self.actions[..self.len]
    }

    /// Fuel the last call used: deterministic, identical on every machine.
    pub fn last_fuel(&self) -> Fuel {
        self.last_fuel
    }

    /// Whether an error has halted this instance.
    pub fn is_halted(&self) -> bool {
        self.halted
    }

    /// The region descriptor the guest declared.
    pub fn regions(&self) -> Regions {
        self.regions
    }

    /// Bytes of preallocated linear memory backing this instance.
    pub fn memory_capacity(&self) -> usize {
        let _ = &self.buffer;
        self.store.data().limit_bytes
    }

    /// Current linear memory size in bytes.
    pub fn memory_size(&self) -> usize {
        self.memory.data_size(&self.store)
    }
}

/// An instance after the trial instantiation at load (init not yet run). Opaque.
pub(crate) struct PreparedInstance(Prepared);

fn host_fail(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> Result<(), wasmi::Error> {
    let len = (len.max(0) as usize).min(4096);
    let mut buf = vec![0u8; len];
    let msg = match caller.data().memory {
        Some(m) if m.read(&caller, ptr as u32 as usize, &mut buf).is_ok() => {
            String::from_utf8_lossy(&buf).into_owned()
        }
        _ => format!("<message at {ptr:#x}+{len} is outside memory>"),
    };
    caller.data_mut().fail_message = Some(msg);
    Err(wasmi::Error::new("guest called lockstep.fail"))
}

fn check_regions(r: &Regions, mem_len: usize, config: &Config) -> Result<(), Error> {
    if r.abi_version != ABI_VERSION {
        return Err(Error::AbiVersion { found: i64::from(r.abi_version), expected: ABI_VERSION });
    }
    if r.action_cap == 0 || r.action_cap > config.max_action_cap {
        return Err(Error::BadRegions {
            reason: format!(
                "action capacity {} is outside 1..={}",
                r.action_cap, config.max_action_cap
            ),
        });
    }
    let spans = [
        ("event", r.event_ptr, EVENT_SIZE as u64),
        ("action", r.action_ptr, u64::from(r.action_cap) * ACTION_SIZE as u64),
        ("book", r.book_ptr, BOOK_SIZE as u64),
        ("params", r.params_ptr, u64::from(r.params_cap)),
    ];
    for (name, ptr, len) in spans {
        if u64::from(ptr) + len > mem_len as u64 {
            return Err(Error::BadRegions {
                reason: format!(
                    "{name} region {ptr:#x}+{len} ends past initial memory ({mem_len} bytes)"
                ),
            });
        }
    }
    for (i, (a, pa, la)) in spans.iter().enumerate() {
        for (b, pb, lb) in &spans[i + 1..] {
            let (pa, pb) = (u64::from(*pa), u64::from(*pb));
            if pa < pb + lb && pb < pa + la {
                return Err(Error::BadRegions { reason: format!("{a} and {b} regions overlap") });
            }
        }
    }
    Ok(())
}

fn internal(e: &impl std::fmt::Display) -> Error {
    Error::Malformed { reason: format!("engine refused the module: {e}") }
}

/// Turns a wasmi error into a typed one, using what the host functions and limiter recorded.
fn classify(store: &mut Store<HostState>, e: &wasmi::Error, phase: Phase, budget: u64) -> Error {
    let limit_pages = (store.data().limit_bytes / WASM_PAGE) as u32;
    if let Some(message) = store.data_mut().fail_message.take() {
        return Error::GuestPanic { phase, message };
    }
    if store.data().grow_refused {
        return Error::MemoryLimit { phase, limit_pages };
    }
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

/// Anything that takes events and yields actions: a Wasm [`Instance`] or a native build of a
/// strategy ([`NativeInstance`]), so harnesses can run either through one interface.
pub trait StrategyRunner: Send {
    /// Handles one event; see [`Instance::on_event`].
    ///
    /// # Errors
    /// As [`Instance::on_event`].
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<&[ActionRecord], Error>;
    /// Actions from the last call.
    fn actions(&self) -> &[ActionRecord];
    /// Fuel used by the last call; `None` for native runners, which are not metered.
    fn last_fuel(&self) -> Option<Fuel>;
}

impl<R: StrategyRunner + ?Sized> StrategyRunner for Box<R> {
    #[inline]
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<&[ActionRecord], Error> {
        (**self).on_event(ev, book)
    }
    fn actions(&self) -> &[ActionRecord] {
        (**self).actions()
    }
    fn last_fuel(&self) -> Option<Fuel> {
        (**self).last_fuel()
    }
}

impl StrategyRunner for Instance {
    #[inline]
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<&[ActionRecord], Error> {
        Instance::on_event(self, ev, book)
    }
    fn actions(&self) -> &[ActionRecord] {
        Instance::actions(self)
    }
    fn last_fuel(&self) -> Option<Fuel> {
        Some(self.last_fuel)
    }
}

impl<S: Strategy + Send> StrategyRunner for NativeInstance<S> {
    #[inline]
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<&[ActionRecord], Error> {
        let seq = ev.seq();
        NativeInstance::on_event(self, ev, book)
            .map_err(|d| Error::Guest { phase: Phase::Event(seq), error: GuestStatus::Dispatch(d) })
    }
    fn actions(&self) -> &[ActionRecord] {
        NativeInstance::actions(self)
    }
    fn last_fuel(&self) -> Option<Fuel> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> Regions {
        Regions {
            abi_version: ABI_VERSION,
            event_ptr: 64,
            action_ptr: 128,
            action_cap: 4,
            book_ptr: 512,
            params_ptr: 1024,
            params_cap: 256,
        }
    }

    #[test]
    fn good_regions_pass() {
        assert_eq!(check_regions(&regions(), 65_536, &Config::new()), Ok(()));
    }

    #[test]
    fn overlapping_regions_are_named() {
        let r = Regions { book_ptr: 100, ..regions() };
        let e = check_regions(&r, 65_536, &Config::new()).unwrap_err();
        assert_eq!(e, Error::BadRegions { reason: "event and book regions overlap".into() });
    }

    #[test]
    fn regions_past_memory_and_bad_caps_are_refused() {
        let r = Regions { params_ptr: 65_500, ..regions() };
        assert!(matches!(check_regions(&r, 65_536, &Config::new()), Err(Error::BadRegions { .. })));
        let r = Regions { action_cap: 0, ..regions() };
        assert!(matches!(check_regions(&r, 65_536, &Config::new()), Err(Error::BadRegions { .. })));
        let r = Regions { abi_version: 7, ..regions() };
        assert_eq!(
            check_regions(&r, 65_536, &Config::new()),
            Err(Error::AbiVersion { found: 7, expected: ABI_VERSION })
        );
    }
}
