//! The [`Engine`]: one wasmi engine configured for deterministic, metered, eager execution.

use crate::config::Config;
use std::sync::Arc;
use wasmi::CompilationMode;

/// A configured wasmi engine. Keep one per pinned worker: every call touches the engine's shared
/// state (its stack cache), so sharing one across threads adds contention and jitter.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: wasmi::Engine,
    pub(crate) config: Arc<Config>,
}

impl Engine {
    /// Builds an engine: fuel metering on, eager compilation (no compile fuel or latency spike
    /// on a function's first call), deterministic NaNs, value stack pre-sized.
    ///
    /// # Panics
    /// If `config.min_stack_bytes` exceeds `config.max_stack_bytes`.
    pub fn new(config: &Config) -> Self {
        assert!(
            config.min_stack_bytes <= config.max_stack_bytes,
            "Config::min_stack_bytes ({}) exceeds Config::max_stack_bytes ({})",
            config.min_stack_bytes,
            config.max_stack_bytes
        );
        let mut c = wasmi::Config::default();
        c.consume_fuel(true)
            .compilation_mode(CompilationMode::Eager)
            .wasm_multi_memory(false)
            .wasm_custom_page_sizes(false)
            .set_max_recursion_depth(config.max_recursion_depth)
            .set_max_stack_height(config.max_stack_bytes)
            .set_min_stack_height(config.min_stack_bytes)
            .set_max_cached_stacks(2);
        Self { inner: wasmi::Engine::new(&c), config: Arc::new(config.clone()) }
    }

    /// The configuration this engine was built with.
    pub fn config(&self) -> &Config {
        &self.config
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
