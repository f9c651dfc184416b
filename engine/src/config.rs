//! Engine configuration: fuel budgets, memory and stack limits, load limits.

use core::fmt;

/// Units of fuel: a deterministic measure of work, one unit per WebAssembly operator executed
/// and one per 8 elements a bulk memory or table operation touches. The module meters it
/// itself, so it is the same on every machine and tier for the same module and input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fuel(pub u64);

impl fmt::Display for Fuel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} fuel", self.0)
    }
}

pub use lockstep_sdk::{Tier, UnknownTier};

/// Size of one Wasm page in bytes.
pub const WASM_PAGE: usize = 65_536;

/// Settings for an [`Engine`](crate::Engine). Build with [`Config::new`] and the setters, each
/// of which documents its default.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) tier: Tier,
    pub(crate) compiled_stack_bytes: usize,
    pub(crate) fuel_per_event: Fuel,
    pub(crate) init_fuel: Fuel,
    pub(crate) max_memory_pages: u32,
    pub(crate) max_module_bytes: usize,
    pub(crate) min_stack_bytes: usize,
    pub(crate) max_stack_bytes: usize,
    pub(crate) max_recursion_depth: usize,
    pub(crate) pretouch_memory: bool,
    pub(crate) max_action_cap: u32,
    pub(crate) artefact_cache: Option<std::path::PathBuf>,
    pub(crate) fuel_profile: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tier: Tier::Interpreter,
            compiled_stack_bytes: 512 << 10,
            fuel_per_event: Fuel(10_000_000),
            init_fuel: Fuel(100_000_000),
            max_memory_pages: 16,
            max_module_bytes: 4 << 20,
            min_stack_bytes: 1 << 20,
            max_stack_bytes: 4 << 20,
            max_recursion_depth: 1024,
            pretouch_memory: true,
            max_action_cap: 1024,
            artefact_cache: None,
            fuel_profile: false,
        }
    }
}

impl Config {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// The execution tier. Default: [`Tier::Interpreter`].
    pub fn tier(&mut self, tier: Tier) -> &mut Self {
        self.tier = tier;
        self
    }

    /// Host stack a compiled-tier guest call may use; deeper calls trap as stack exhaustion.
    /// A backstop: the module's own stack meter (64 KiB of values, the same on both tiers) is
    /// met first at the default; set below about 256 KiB, deep guests could halt on this tier
    /// only. Compiled code runs on the calling thread's stack, so that thread needs this much free
    /// plus about 64 KiB for the host. The interpreter keeps its own stack (see
    /// [`Config::max_stack_bytes`]) and ignores this. Default: 512 KiB.
    pub fn compiled_stack_bytes(&mut self, bytes: usize) -> &mut Self {
        self.compiled_stack_bytes = bytes;
        self
    }

    /// Fuel each event may use before the strategy is halted with
    /// [`Error::OutOfFuel`](crate::Error::OutOfFuel). Default: 10,000,000.
    pub fn fuel_per_event(&mut self, fuel: Fuel) -> &mut Self {
        self.fuel_per_event = fuel;
        self
    }

    /// Fuel for instantiation: the start function plus `lockstep_init`. Default: 100,000,000.
    pub fn init_fuel(&mut self, fuel: Fuel) -> &mut Self {
        self.init_fuel = fuel;
        self
    }

    /// The most linear memory a guest may have, in 64 KiB pages. The host preallocates exactly
    /// this much per instance; `memory.grow` beyond it halts the strategy. Default: 16 (1 MiB).
    pub fn max_memory_pages(&mut self, pages: u32) -> &mut Self {
        self.max_memory_pages = pages;
        self
    }

    /// The largest module accepted at load, in bytes. Default: 4 MiB.
    pub fn max_module_bytes(&mut self, bytes: usize) -> &mut Self {
        self.max_module_bytes = bytes;
        self
    }

    /// Initial size of the interpreter's value stack in bytes, allocated once per worker so the
    /// hot path never reallocates it. Default: 1 MiB.
    ///
    /// # Panics
    /// [`Engine::new`](crate::Engine::new) panics if this exceeds [`Config::max_stack_bytes`].
    pub fn min_stack_bytes(&mut self, bytes: usize) -> &mut Self {
        self.min_stack_bytes = bytes;
        self
    }

    /// Largest value stack in bytes; deeper use traps as stack exhaustion. A backstop behind the
    /// module's own stack meter (see [`Config::compiled_stack_bytes`]). Default: 4 MiB.
    pub fn max_stack_bytes(&mut self, bytes: usize) -> &mut Self {
        self.max_stack_bytes = bytes;
        self
    }

    /// Deepest interpreter call nesting before a stack-exhaustion trap: a backstop, since the
    /// module's own stack meter allows at most 512 frames. Default: 1024.
    pub fn max_recursion_depth(&mut self, depth: usize) -> &mut Self {
        self.max_recursion_depth = depth;
        self
    }

    /// Write every page of each instance's preallocated memory at instantiation, so no page
    /// fault lands on the hot path. Default: true.
    pub fn pretouch_memory(&mut self, yes: bool) -> &mut Self {
        self.pretouch_memory = yes;
        self
    }

    /// Largest action region (in records) a guest may declare. Default: 1024.
    pub fn max_action_cap(&mut self, records: u32) -> &mut Self {
        self.max_action_cap = records;
        self
    }

    /// A directory where the compiled tier keeps the native code of each module it compiles,
    /// keyed by the SHA-256 of the metered module and of the engine's fingerprint, so a
    /// module compiled once loads afterwards without running Cranelift. Default: none (every
    /// load compiles). The interpreter ignores it. The directory is created (private to the
    /// user) on first use; any file in it may be deleted at any time. Treat it like a build
    /// output: whoever can write it can run native code in this process.
    pub fn artefact_cache(&mut self, dir: Option<std::path::PathBuf>) -> &mut Self {
        self.artefact_cache = dir;
        self
    }

    /// Whether modules loaded by this engine gather an exact fuel profile by call stack
    /// ([`Instance::take_fuel_profile`](crate::Instance::take_fuel_profile)). A profiled module
    /// spends the same fuel and returns the same actions as a plain one, at a cost in speed
    /// (two host calls per guest call). Default: off.
    pub fn fuel_profile(&mut self, on: bool) -> &mut Self {
        self.fuel_profile = on;
        self
    }

    /// The execution tier.
    pub fn get_tier(&self) -> Tier {
        self.tier
    }

    /// The per-event fuel budget.
    pub fn get_fuel_per_event(&self) -> Fuel {
        self.fuel_per_event
    }

    /// The memory limit in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.max_memory_pages as usize * WASM_PAGE
    }
}
