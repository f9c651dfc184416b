//! A running strategy on either tier: its guest, the regions it declared and the per-event
//! hot path.
//!
//! Hot path ([`Instance::on_event`]): copy the 64-byte event (and the book view when given)
//! into the guest's regions, set the fuel budget, call `lockstep_on_event`, copy the actions
//! out into a buffer allocated at instantiation. No allocation, no lock, no clock.

use crate::config::{Config, Fuel};
use crate::error::{Error, GuestStatus, Phase};
use crate::module::{Code, StrategyModule};
use crate::{compiled, engine::Backend, interp};
use lockstep_sdk::{
    ABI_VERSION, ACTION_SIZE, ActionRecord, BOOK_SIZE, BookRecord, DispatchError, EVENT_SIZE,
    EventRecord, NativeInstance, REGIONS_SIZE, Regions, Strategy, status,
};

/// Most table elements a guest may grow a table to: tables hold function references only, and
/// a strategy needs a few hundred at most.
pub(crate) const MAX_TABLE_ELEMENTS: usize = 65_536;

/// Most bytes of a `lockstep.fail` message kept.
const MAX_FAIL_MESSAGE: usize = 4096;

/// An ABI entry point of a guest.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Entry {
    AbiVersion,
    Regions,
    Init,
    OnEvent,
}

/// What a guest's host functions and memory limiter observed during a call, kept by each tier's
/// store so a failed call can be reported with its real cause.
#[derive(Debug)]
pub(crate) struct GuestReport {
    pub(crate) limit_bytes: usize,
    pub(crate) grow_refused: bool,
    pub(crate) fail_message: Option<String>,
}

impl GuestReport {
    pub(crate) fn new(limit_bytes: usize) -> Self {
        Self { limit_bytes, grow_refused: false, fail_message: None }
    }

    /// The message a guest passed to `lockstep.fail`, read from its memory (at most 4 KiB).
    pub(crate) fn read_message(memory: &[u8], ptr: i32, len: i32) -> String {
        let len = (len.max(0) as usize).min(MAX_FAIL_MESSAGE);
        let start = ptr as u32 as usize;
        match memory.get(start..start + len) {
            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            None => format!("<message at {ptr:#x}+{len} is outside memory>"),
        }
    }

    /// The error the report explains, if any: a guest panic, then a refused memory growth.
    pub(crate) fn take(&mut self, phase: Phase) -> Option<Error> {
        if let Some(message) = self.fail_message.take() {
            return Some(Error::GuestPanic { phase, message });
        }
        if self.grow_refused {
            let limit_pages = (self.limit_bytes / crate::config::WASM_PAGE) as u32;
            return Some(Error::MemoryLimit { phase, limit_pages });
        }
        None
    }
}

/// A guest instantiated on one tier.
// The interpreter's store is large and inline; an instance is built once and not moved on the
// hot path, so boxing it would only add a pointer chase per event.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Guest {
    Interpreter(interp::Guest),
    Compiled(compiled::Guest),
}

/// Runs the same code on whichever tier's guest `$g` holds.
macro_rules! on_guest {
    ($g:expr, $x:ident => $body:expr) => {
        match $g {
            Guest::Interpreter($x) => $body,
            Guest::Compiled($x) => $body,
        }
    };
}

/// One strategy, instantiated: takes events, yields actions, reports the fuel each event used.
pub struct Instance {
    guest: Guest,
    regions: Regions,
    actions: Box<[ActionRecord]>,
    len: usize,
    last_fuel: Fuel,
    budget: u64,
    halted: bool,
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

impl Instance {
    /// Instantiates without running init: creates the preallocated memory, links the host
    /// functions, runs the start function under the init fuel, checks version and regions.
    pub(crate) fn prepare(module: &StrategyModule) -> Result<(Guest, Regions), Error> {
        let config: &Config = &module.engine.config;
        let pages = module.memory_pages;
        let mut guest = match (&module.engine.inner, &module.code) {
            (Backend::Interpreter(e), Code::Interpreter(m)) => {
                Guest::Interpreter(interp::Guest::new(e, m, config, pages)?)
            }
            (Backend::Compiled(e), Code::Compiled(m)) => {
                Guest::Compiled(compiled::Guest::new(e, m, config, pages)?)
            }
            _ => unreachable!("a module is compiled by the engine it keeps"),
        };
        let budget = config.init_fuel.0;
        let (version, _) =
            on_guest!(&mut guest, g => g.call(Entry::AbiVersion, 0, budget, Phase::Load));
        let version = version?;
        if version != ABI_VERSION as i32 {
            return Err(Error::AbiVersion { found: i64::from(version), expected: ABI_VERSION });
        }
        let (at, _) = on_guest!(&mut guest, g => g.call(Entry::Regions, 0, budget, Phase::Load));
        let at = at? as u32 as usize;
        let memory = on_guest!(&guest, g => g.memory());
        let Some(raw) = memory.get(at..at + REGIONS_SIZE) else {
            return Err(Error::BadRegions {
                reason: format!("descriptor address {at:#x} is outside memory"),
            });
        };
        let mut bytes = [0u8; REGIONS_SIZE];
        bytes.copy_from_slice(raw);
        let regions = Regions::decode(&bytes);
        check_regions(&regions, memory.len(), config)?;
        Ok((guest, regions))
    }

    pub(crate) fn new(module: &StrategyModule, params: &str) -> Result<Self, Error> {
        let config: &Config = &module.engine.config;
        let (mut guest, regions) = Self::prepare(module)?;
        if params.len() > regions.params_cap as usize {
            return Err(Error::ParamsTooLong { len: params.len(), cap: regions.params_cap });
        }
        let at = regions.params_ptr as usize;
        // The params region was checked to lie inside memory.
        on_guest!(&mut guest, g => g.memory_mut()[at..at + params.len()]
            .copy_from_slice(params.as_bytes()));
        let (rc, used) = on_guest!(&mut guest, g =>
            g.call(Entry::Init, params.len() as i32, config.init_fuel.0, Phase::Init));
        let rc = rc?;
        if rc < 0 {
            let n = (rc.unsigned_abs() as usize).min(regions.params_cap as usize);
            let msg = on_guest!(&guest, g => String::from_utf8_lossy(&g.memory()[at..at + n])
                .into_owned());
            return Err(Error::InitRejected { message: msg });
        }
        let mut this = Self {
            guest,
            actions: vec![ActionRecord::zeroed(); regions.action_cap as usize].into_boxed_slice(),
            regions,
            len: 0,
            last_fuel: Fuel(used),
            budget: config.fuel_per_event.0,
            halted: false,
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
        let phase = Phase::Event(seq);
        let (result, used) = on_guest!(&mut self.guest, g => {
            let mem = g.memory_mut();
            // Regions were checked to lie inside memory at instantiation, and memory never
            // shrinks.
            if let Some(dst) =
                mem.get_mut(r.event_ptr as usize..r.event_ptr as usize + EVENT_SIZE)
            {
                dst.copy_from_slice(&ev.0);
            }
            if let Some(b) = book
                && let Some(dst) =
                    mem.get_mut(r.book_ptr as usize..r.book_ptr as usize + BOOK_SIZE)
            {
                dst.copy_from_slice(&b.0);
            }
            g.call(Entry::OnEvent, 0, self.budget, phase)
        });
        self.last_fuel = Fuel(used);
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
                Err(e)
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
        let mem = on_guest!(&self.guest, g => g.memory());
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

    /// Fuel the last call used: deterministic, identical on every machine for one tier.
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
        on_guest!(&self.guest, g => g.capacity())
    }

    /// Current linear memory size in bytes.
    pub fn memory_size(&self) -> usize {
        on_guest!(&self.guest, g => g.memory().len())
    }
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
