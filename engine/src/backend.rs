//! The contract between the engine and its two backends. A backend adapts only what differs
//! between wasmi and wasmtime: compiling, instantiating, calling an entry point and viewing
//! memory, through [`BackendGuest`] (a fuel meter, an entry call, a trap classifier, the memory
//! view). Fuel accounting, the text of backend errors and the mapping of traps to the engine's
//! typed [`Error`] are written here, once, for both.

use crate::config::Config;
use crate::error::{Error, Phase, TrapKind};
use crate::guest::{Entry, GuestReport};
use crate::instrument::{GLOBAL_EXPORT, GlobalKind, MutableGlobal};
use core::fmt;
use lockstep_sdk::names;

/// Why a backend's call or instantiation stopped, in the tier-neutral vocabulary each backend
/// maps its own trap codes into ([`fault_of_trap!`]).
pub(crate) enum Fault<'a> {
    /// The fuel meter ran dry.
    OutOfFuel,
    /// The backend refused to grow memory or a table past a limit.
    MemoryLimit,
    /// A Wasm trap.
    Trap(TrapKind),
    /// Not a trap: the backend's own error, shown to the user as [`one_line`] text.
    Host(&'a dyn fmt::Display),
}

/// A linked guest as a backend exposes it. Everything a call does beyond these primitives,
/// setting the budget, measuring the fuel burnt and naming a failure, is [`BackendGuest::call`].
pub(crate) trait BackendGuest: Sized {
    /// The backend's engine.
    type Engine;
    /// A module compiled by that engine.
    type Module;
    /// The backend's error type for calls and instantiation.
    type Error: fmt::Display;

    /// Creates the preallocated memory, links the host functions and instantiates `module`,
    /// running any start function under the init fuel (failing as [`instantiate_failure`]).
    fn instantiate(
        engine: &Self::Engine,
        module: &Self::Module,
        config: &Config,
        pages: (u32, Option<u32>),
        globals: &[MutableGlobal],
    ) -> Result<Self, Error>;

    /// Sets the module's meters (`meter`): `fuel` left, no stack in use.
    fn set_meter(&mut self, fuel: u64);

    /// The fuel left on the module's meter (negative once spent).
    fn fuel_left(&mut self) -> i64;

    /// The stack units in use on the module's meter.
    fn depth(&mut self) -> i32;

    /// Calls `entry`, passing `arg` to `lockstep_init` (the other entries take nothing).
    fn invoke(&mut self, entry: Entry, arg: i32) -> Result<i32, Self::Error>;

    /// What the host functions and the limiter recorded during the current call.
    fn report(&mut self) -> &mut GuestReport;

    /// Classifies a backend error (usually with [`fault_of_trap!`]).
    fn fault(e: &Self::Error) -> Fault<'_>;

    /// The guest's linear memory.
    fn memory(&self) -> &[u8];

    /// The guest's linear memory, writable.
    fn memory_mut(&mut self) -> &mut [u8];

    /// Bytes preallocated for the guest's memory.
    fn capacity(&self) -> usize;

    /// The bits of each mutable global, in the order of the module's `MutableGlobal` list.
    fn read_globals(&mut self, out: &mut Vec<(MutableGlobal, u64)>);

    /// Sets the `i`-th mutable global to `bits` (of its own type).
    fn write_global(&mut self, i: usize, bits: u64) -> Result<(), Error>;

    /// Grows linear memory to `bytes` (a whole number of pages, not below the current size)
    /// through the store's limiter.
    fn grow_to(&mut self, bytes: usize) -> Result<(), Error>;

    /// Calls an ABI entry point with `budget` fuel; returns its result and the fuel it used:
    /// what the meter lost, all of it when the backend cannot read the meter.
    #[inline]
    fn call(
        &mut self,
        entry: Entry,
        arg: i32,
        budget: u64,
        phase: Phase,
    ) -> (Result<i32, Error>, u64) {
        self.set_meter(budget);
        if let Some(p) = &mut self.report().profile {
            p.begin(budget);
        }
        let result = self.invoke(entry, arg);
        let left = self.fuel_left();
        let used = budget.saturating_sub(u64::try_from(left).unwrap_or(0));
        if let Some(p) = &mut self.report().profile {
            p.finish(budget, used);
        }
        let result = result.map_err(|e| {
            // The module's own meters trap with `unreachable`; they name the real cause.
            let fault = if left < 0 {
                Fault::OutOfFuel
            } else if self.depth() > crate::meter::STACK_LIMIT {
                Fault::Trap(crate::error::TrapKind::StackExhausted)
            } else {
                Self::fault(&e)
            };
            failure(self.report(), fault, phase, budget)
        });
        (result, used)
    }
}

/// The engine's error for a call (or an instantiation) that stopped with `fault` under
/// `budget`: what the host function or limiter recorded takes precedence, as the real cause.
pub(crate) fn failure(
    report: &mut GuestReport,
    fault: Fault<'_>,
    phase: Phase,
    budget: u64,
) -> Error {
    if let Some(err) = report.take(phase) {
        return err;
    }
    match fault {
        Fault::OutOfFuel => Error::OutOfFuel { phase, budget },
        Fault::MemoryLimit => Error::MemoryLimit { phase, limit_pages: report.limit_pages() },
        Fault::Trap(kind) => Error::Trap { phase, kind },
        Fault::Host(e) => Error::Host { phase, reason: one_line(e) },
    }
}

/// The engine's error for an instantiation that stopped with `e`: at load, under the init fuel.
pub(crate) fn instantiate_failure<G: BackendGuest>(
    report: &mut GuestReport,
    e: &G::Error,
    config: &Config,
) -> Error {
    failure(report, G::fault(e), Phase::Load, config.init_fuel.0)
}

/// A backend's error as text: its whole chain of causes (`{:#}`), on one line, since the
/// backends pretty-print some details over several.
pub(crate) fn one_line(e: &dyn fmt::Display) -> String {
    format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The backend refused the bytes as WebAssembly.
pub(crate) fn malformed(e: &dyn fmt::Display) -> Error {
    Error::Malformed { reason: one_line(e) }
}

/// The backend could not create the guest's memory.
pub(crate) fn memory_refused(e: &dyn fmt::Display) -> Error {
    Error::BadRegions { reason: format!("cannot create guest memory: {}", one_line(e)) }
}

/// The backend could not link the host functions.
pub(crate) fn link_refused(e: &dyn fmt::Display) -> Error {
    Error::Malformed { reason: format!("cannot link host functions: {}", one_line(e)) }
}

/// The backend refused something the load checks had already accepted.
pub(crate) fn internal(e: &dyn fmt::Display) -> Error {
    Error::Malformed { reason: format!("engine refused the module: {}", one_line(e)) }
}

/// The trap a host function raises after recording a `lockstep.fail` message; the recorded
/// message, not this text, is what the engine reports.
pub(crate) const FAIL_TRAP: &str = "guest called lockstep.fail";

/// A linked guest on either backend: the backend's store, the guest's memory in it, the entry
/// points, and the module's mutable globals (exported by `instrument`) with their types.
pub(crate) struct Linked<S, M, U, I, G> {
    pub(crate) store: S,
    pub(crate) memory: M,
    pub(crate) exports: Exports<U, I>,
    pub(crate) globals: Vec<(G, MutableGlobal)>,
    /// The module's fuel and stack meters (`meter::FUEL_EXPORT`, `meter::DEPTH_EXPORT`).
    pub(crate) meter: [G; 2],
}

/// Looks up the module's two meter globals with `get` (a backend's `get_global`).
pub(crate) fn find_meter<G>(mut get: impl FnMut(&str) -> Option<G>) -> Result<[G; 2], Error> {
    let mut find = |name| get(name).ok_or_else(|| internal(&format_args!("no meter {name}")));
    Ok([find(crate::meter::FUEL_EXPORT)?, find(crate::meter::DEPTH_EXPORT)?])
}

/// Looks up each of `wanted`'s exported globals with `get` (a backend's `get_global`).
pub(crate) fn find_globals<G>(
    wanted: &[MutableGlobal],
    mut get: impl FnMut(&str) -> Option<G>,
) -> Result<Vec<(G, MutableGlobal)>, Error> {
    wanted
        .iter()
        .map(|g| {
            get(&format!("{GLOBAL_EXPORT}{}", g.index))
                .map(|h| (h, *g))
                .ok_or_else(|| internal(&format_args!("global {} is not exported", g.index)))
        })
        .collect()
}

/// The mutable globals a compiled module exports under `instrument`'s names, by index.
pub(crate) fn exported_globals<'a>(
    exports: impl Iterator<Item = (&'a str, Option<GlobalKind>)>,
) -> Vec<MutableGlobal> {
    let mut out: Vec<MutableGlobal> = exports
        .filter_map(|(name, kind)| {
            let index = name.strip_prefix(GLOBAL_EXPORT)?.parse().ok()?;
            Some(MutableGlobal { index, kind: kind? })
        })
        .collect();
    out.sort_by_key(|g| g.index);
    out
}

/// The number of pages to add to a memory of `current` bytes to reach `bytes`.
pub(crate) fn pages_to_grow(current: usize, bytes: usize) -> u64 {
    (bytes.saturating_sub(current) / crate::config::WASM_PAGE) as u64
}

/// A guest's ABI entry points in a backend's typed-function types: `U` for the three that
/// take nothing, `I` for `lockstep_init`'s `(i32)`; all return `i32`.
pub(crate) struct Exports<U, I> {
    on_event: U,
    abi_version: U,
    regions: U,
    init: I,
    migrate: Option<I>,
    state_version: Option<U>,
    /// The wrapper of the module's start function (`meter::START_EXPORT`), if it has one.
    start: Option<U>,
}

/// One entry point of [`Exports`], by its parameter type.
pub(crate) enum EntryFn<'a, U, I> {
    /// An entry point that takes nothing.
    Unit(&'a U),
    /// `lockstep_init`, which takes the parameters' length (and `lockstep_migrate`).
    Init(&'a I),
    /// An optional entry point the module does not export: the call returns 0.
    Missing,
}

impl<U, I> Exports<U, I> {
    /// Collects the entry points: `init` and `migrate` as looked up, the others by name
    /// through `unit` (`lockstep_state_version` only if exported).
    pub(crate) fn new<E>(
        init: Result<I, E>,
        migrate: Option<I>,
        mut unit: impl FnMut(&'static str) -> Result<U, E>,
    ) -> Result<Self, E> {
        Ok(Self {
            on_event: unit(names::ON_EVENT)?,
            abi_version: unit(names::ABI_VERSION)?,
            regions: unit(names::REGIONS)?,
            init: init?,
            migrate,
            state_version: unit(names::STATE_VERSION).ok(),
            start: unit(crate::meter::START_EXPORT).ok(),
        })
    }

    /// The function behind `entry`.
    #[inline]
    pub(crate) fn get(&self, entry: Entry) -> EntryFn<'_, U, I> {
        match entry {
            Entry::OnEvent => EntryFn::Unit(&self.on_event),
            Entry::AbiVersion => EntryFn::Unit(&self.abi_version),
            Entry::Regions => EntryFn::Unit(&self.regions),
            Entry::Init => EntryFn::Init(&self.init),
            Entry::Migrate => self.migrate.as_ref().map_or(EntryFn::Missing, EntryFn::Init),
            Entry::Start => self.start.as_ref().map_or(EntryFn::Missing, EntryFn::Unit),
            Entry::StateVersion => {
                self.state_version.as_ref().map_or(EntryFn::Missing, EntryFn::Unit)
            }
        }
    }
}

/// Maps a backend's trap code to a [`Fault`]. Both backends name the Wasm traps alike
/// (wasmi's `TrapCode` follows wasmtime's `Trap`), so the mapping is written once; each adds
/// its own names for the memory-limit trap (and any other) before the catch-all.
macro_rules! fault_of_trap {
    ($code:expr, $Code:ident, $($extra:pat => $fault:expr),* $(,)?) => {{
        use $crate::backend::Fault as F;
        use $crate::error::TrapKind as K;
        match $code {
            $Code::OutOfFuel => F::OutOfFuel,
            $Code::UnreachableCodeReached => F::Trap(K::Unreachable),
            $Code::MemoryOutOfBounds => F::Trap(K::MemoryOutOfBounds),
            $Code::IntegerDivisionByZero => F::Trap(K::DivisionByZero),
            $Code::IntegerOverflow => F::Trap(K::IntegerOverflow),
            $Code::BadConversionToInteger => F::Trap(K::BadConversion),
            $Code::StackOverflow => F::Trap(K::StackExhausted),
            $Code::IndirectCallToNull | $Code::BadSignature | $Code::TableOutOfBounds => {
                F::Trap(K::BadIndirectCall)
            }
            $($extra => $fault,)*
            _ => F::Trap(K::Other),
        }
    }};
}

pub(crate) use fault_of_trap;

/// The tier-neutral kind of a backend's value type: both crates' `ValType`s name the four
/// numeric types alike.
macro_rules! val_kind {
    ($krate:ident, $t:expr) => {
        match $t {
            $krate::ValType::I32 => $crate::guest::ValKind::I32,
            $krate::ValType::I64 => $crate::guest::ValKind::I64,
            $krate::ValType::F32 => $crate::guest::ValKind::F32,
            $krate::ValType::F64 => $crate::guest::ValKind::F64,
            _ => $crate::guest::ValKind::Other,
        }
    };
}

pub(crate) use val_kind;

/// Defines every host math function (`lockstep.math.*`, [`lockstep_sdk::math::HOST_FUNCTIONS`])
/// in a backend's linker: both crates' `Linker::func_wrap` take the same closures.
macro_rules! link_host_math {
    ($linker:expr) => {
        for m in lockstep_sdk::math::HOST_FUNCTIONS {
            let host = lockstep_sdk::names::HOST_MODULE;
            match m.func {
                lockstep_sdk::math::MathFn::Unary(f) => {
                    $linker.func_wrap(host, m.name, move |x: f64| f(x))
                }
                lockstep_sdk::math::MathFn::Binary(f) => {
                    $linker.func_wrap(host, m.name, move |x: f64, y: f64| f(x, y))
                }
            }
            .map_err(|e| $crate::backend::link_refused(&e))?;
        }
    };
}

pub(crate) use link_host_math;

/// Links the fuel profile's host functions (`crate::profile`): they feed the store's profile
/// when the engine profiles, and do nothing otherwise (only a profiled rewrite calls them).
macro_rules! link_profile {
    ($linker:expr, $Caller:ident) => {
        $linker
            .func_wrap(
                $crate::profile::PROFILE_MODULE,
                $crate::profile::ENTER,
                |mut c: $Caller<'_, HostState>, func: i32, fuel: i64| {
                    if let Some(p) = &mut c.data_mut().report.profile {
                        p.enter(u32::from_ne_bytes(func.to_ne_bytes()), fuel);
                    }
                },
            )
            .and_then(|l| {
                l.func_wrap(
                    $crate::profile::PROFILE_MODULE,
                    $crate::profile::EXIT,
                    |mut c: $Caller<'_, HostState>, fuel: i64| {
                        if let Some(p) = &mut c.data_mut().report.profile {
                            p.exit(fuel);
                        }
                    },
                )
            })
            .map_err(|e| $crate::backend::link_refused(&e))?;
    };
}

pub(crate) use link_profile;

/// Implements a backend's `ResourceLimiter` for its store's state with the limits both tiers
/// enforce: memory up to the configured limit (a refusal is recorded in the report), tables up
/// to `MAX_TABLE_ELEMENTS` elements, one instance, one memory and four tables, plus `$extra`
/// instances and memories for a backend that counts the host's memory apart from the guest's.
macro_rules! limiter {
    (impl $krate:ident for $State:ty, $Result:ty, refused: $refused:expr, extra: $extra:literal) => {
        impl $krate::ResourceLimiter for $State {
            fn memory_growing(
                &mut self,
                _: usize,
                desired: usize,
                maximum: Option<usize>,
            ) -> $Result {
                // Past the memory's declared maximum `memory.grow` returns -1, as WebAssembly
                // says: the compiled tier asks the limiter even then, the interpreter does not.
                if maximum.is_some_and(|max| desired > max) {
                    return Ok(false);
                }
                if !self.report.allows_memory(desired) {
                    return Err($refused);
                }
                Ok(true)
            }
            fn table_growing(&mut self, _: usize, desired: usize, _: Option<usize>) -> $Result {
                Ok(desired <= $crate::guest::MAX_TABLE_ELEMENTS)
            }
            fn instances(&self) -> usize {
                1 + $extra
            }
            fn tables(&self) -> usize {
                4
            }
            fn memories(&self) -> usize {
                1 + $extra
            }
        }
    };
}

pub(crate) use limiter;
