//! What both backends share: a tier-neutral view of a module's imports and exports (so the
//! sandbox rules are written once), the ABI's entry points, and what a guest's host functions
//! observed during a call. Depends on nothing but the error and config types.

use crate::error::{Error, Phase};

/// A value type, as far as the ABI checks care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValKind {
    I32,
    I64,
    F32,
    F64,
    Other,
}

/// A function's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExportSig {
    pub(crate) params: Vec<ValKind>,
    pub(crate) results: Vec<ValKind>,
}

/// What an import asks for (or what an export is).
#[derive(Clone, Debug)]
pub(crate) enum ImportKind {
    Memory {
        min: u64,
        max: Option<u64>,
        is_64: bool,
        shared: bool,
    },
    Func(ExportSig),
    /// Any other kind of import (a global, a table, a tag).
    Other,
}

impl ImportKind {
    /// The signature, if this is a function: what `export` answers for an export's type.
    pub(crate) fn into_func(self) -> Option<ExportSig> {
        match self {
            ImportKind::Func(sig) => Some(sig),
            _ => None,
        }
    }
}

impl ExportSig {
    /// A signature from a backend's parameter and result types, already made tier-neutral.
    pub(crate) fn new(
        params: impl IntoIterator<Item = ValKind>,
        results: impl IntoIterator<Item = ValKind>,
    ) -> Self {
        Self { params: params.into_iter().collect(), results: results.into_iter().collect() }
    }
}

/// One import of a module.
#[derive(Clone, Debug)]
pub(crate) struct ImportDesc {
    pub(crate) module: String,
    pub(crate) name: String,
    pub(crate) kind: ImportKind,
}

impl ImportDesc {
    /// An import named `module.name` asking for `kind`.
    pub(crate) fn new(module: &str, name: &str, kind: ImportKind) -> Self {
        Self { module: module.to_owned(), name: name.to_owned(), kind }
    }
}

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
    /// `lockstep_migrate`, optional.
    Migrate,
    /// `lockstep_state_version`, optional.
    StateVersion,
    /// The module's start function, through the wrapper `meter` exports (if it has one).
    Start,
}

/// What a guest's host functions and memory limiter observed during a call, kept by each tier's
/// store so a failed call can be reported with its real cause.
#[derive(Debug)]
pub(crate) struct GuestReport {
    pub(crate) limit_bytes: usize,
    pub(crate) grow_refused: bool,
    pub(crate) fail_message: Option<String>,
    /// The fuel profile the guest's entries and exits build, when the engine profiles.
    pub(crate) profile: Option<crate::profile::FuelProfile>,
}

impl GuestReport {
    pub(crate) fn new(limit_bytes: usize, profile: bool) -> Self {
        let profile = profile.then(crate::profile::FuelProfile::default);
        Self { limit_bytes, grow_refused: false, fail_message: None, profile }
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

    /// The memory limiter's rule, for both tiers: growth to `desired` bytes is allowed up to
    /// the limit; a refusal is remembered so the failed call reports [`Error::MemoryLimit`].
    pub(crate) fn allows_memory(&mut self, desired: usize) -> bool {
        let allowed = desired <= self.limit_bytes;
        self.grow_refused |= !allowed;
        allowed
    }

    /// The memory limit in Wasm pages.
    pub(crate) fn limit_pages(&self) -> u32 {
        (self.limit_bytes / crate::config::WASM_PAGE) as u32
    }

    /// The error the report explains, if any: a guest panic, then a refused memory growth.
    pub(crate) fn take(&mut self, phase: Phase) -> Option<Error> {
        if let Some(message) = self.fail_message.take() {
            return Some(Error::GuestPanic { phase, message });
        }
        if self.grow_refused {
            return Some(Error::MemoryLimit { phase, limit_pages: self.limit_pages() });
        }
        None
    }
}

/// What each tier's store carries besides the instance: the guest's memory, for
/// `lockstep.fail` to read its message from, and the report of the current call.
pub(crate) struct HostState<M> {
    pub(crate) memory: Option<M>,
    pub(crate) report: GuestReport,
}

impl<M> HostState<M> {
    /// A store's state before its memory exists, for a guest limited as `config` says.
    pub(crate) fn new(config: &crate::config::Config) -> Self {
        Self { memory: None, report: GuestReport::new(config.memory_bytes(), config.fuel_profile) }
    }
}
