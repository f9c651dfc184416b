//! The [`Engine`]: one configured execution tier (the wasmi interpreter or Cranelift-compiled
//! code on wasmtime), metered, deterministic, with memory preallocated by the host.

use crate::config::{Config, Tier};
use crate::error::Error;
use crate::{compiled, interp};
use std::sync::Arc;

/// A configured engine of one [`Tier`]. Keep one per pinned worker: every call touches the
/// engine's shared state (the interpreter's stack cache), so sharing one across threads adds
/// contention and jitter.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Backend,
    pub(crate) config: Arc<Config>,
}

/// The tier-specific engine behind an [`Engine`].
#[derive(Clone)]
pub(crate) enum Backend {
    Interpreter(wasmi::Engine),
    Compiled(wasmtime::Engine),
}

impl Engine {
    /// Builds an engine for `config.tier`: fuel metering on, deterministic NaNs, memory and
    /// stacks preallocated.
    ///
    /// # Panics
    /// If [`Engine::try_new`] fails: the configuration is inconsistent or the compiled tier does
    /// not support this host.
    pub fn new(config: &Config) -> Self {
        match Self::try_new(config) {
            Ok(engine) => engine,
            Err(e) => panic!("{e}"),
        }
    }

    /// Builds an engine for `config.tier`, reporting a configuration the tier cannot honour.
    ///
    /// # Errors
    /// [`Error::Setup`] when `min_stack_bytes` exceeds `max_stack_bytes`, or when wasmtime
    /// refuses the compiled tier's settings on this host.
    pub fn try_new(config: &Config) -> Result<Self, Error> {
        if config.min_stack_bytes > config.max_stack_bytes {
            return Err(Error::Setup {
                reason: format!(
                    "Config::min_stack_bytes ({}) exceeds Config::max_stack_bytes ({})",
                    config.min_stack_bytes, config.max_stack_bytes
                ),
            });
        }
        let inner = match config.tier {
            Tier::Interpreter => Backend::Interpreter(interp::new_engine(config)),
            Tier::Compiled => Backend::Compiled(compiled::new_engine(config)?),
        };
        Ok(Self { inner, config: Arc::new(config.clone()) })
    }

    /// What fixes the fuel a module spends and the code that runs it: this engine's version,
    /// its metering rules, the tier and the fuel settings (and, compiled, the code generator's
    /// own fingerprint). A fuel certificate names it; another engine's must not reuse it.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest as _;
        let c = &self.config;
        let mut h = sha2::Sha256::new();
        h.update(b"lockstep-engine fuel v1\0");
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(c.tier.to_string().as_bytes());
        h.update(c.fuel_per_event.0.to_le_bytes());
        h.update(c.init_fuel.0.to_le_bytes());
        h.update(c.max_memory_pages.to_le_bytes());
        if let Backend::Compiled(e) = &self.inner {
            h.update(crate::compiled::fingerprint(e, c));
        }
        h.finalize().into()
    }

    /// The configuration this engine was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The engine's execution tier.
    pub fn tier(&self) -> Tier {
        self.config.tier
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(&Config::default())
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.config).finish_non_exhaustive()
    }
}
