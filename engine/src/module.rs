//! Loading: validate a module against the sandbox rules and the ABI before anything runs.

use crate::config::Config;
use crate::engine::Engine;
use crate::error::Error;
use crate::instance::Instance;
use lockstep_sdk::names;
use wasmi::{ExternType, ValType};

/// A validated, compiled strategy module, ready to instantiate on the engine that loaded it.
#[derive(Clone)]
pub struct StrategyModule {
    pub(crate) engine: Engine,
    pub(crate) module: wasmi::Module,
    /// Pages the module needs at minimum, and the maximum it declares itself (if any, capped
    /// by the config limit). Growth past the config limit is refused by the store's limiter.
    pub(crate) memory_pages: (u32, Option<u32>),
    size: usize,
}

impl std::fmt::Debug for StrategyModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyModule")
            .field("size", &self.size)
            .field("memory_pages", &self.memory_pages)
            .finish_non_exhaustive()
    }
}

const SIG_NONE_I32: &str = "a function () -> i32";
const SIG_I32_I32: &str = "a function (i32) -> i32";
const SIG_FAIL: &str = "a function (i32, i32) -> ()";

impl StrategyModule {
    /// Validates and compiles `wasm`, then instantiates it once (without `lockstep_init`) to
    /// check the ABI version and the region descriptor.
    ///
    /// # Errors
    /// [`Error::ModuleTooLarge`], [`Error::Malformed`], [`Error::ForbiddenImport`],
    /// [`Error::MissingMemoryImport`], [`Error::MemoryTooLarge`], [`Error::MissingExport`],
    /// [`Error::BadSignature`], [`Error::AbiVersion`], [`Error::BadRegions`], or an
    /// [`Error::OutOfFuel`]/[`Error::Trap`] from a start function.
    pub fn new(engine: &Engine, wasm: &[u8]) -> Result<Self, Error> {
        let config: &Config = &engine.config;
        if wasm.len() > config.max_module_bytes {
            return Err(Error::ModuleTooLarge { size: wasm.len(), limit: config.max_module_bytes });
        }
        let module = wasmi::Module::new(&engine.inner, wasm).map_err(|e| Error::Malformed {
            // wasmi pretty-prints some details over many lines; keep the message on one.
            reason: e.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
        })?;

        let mut memory = None;
        for import in module.imports() {
            match (import.module(), import.name(), import.ty()) {
                (names::HOST_MODULE, names::MEMORY, ExternType::Memory(ty)) => {
                    if ty.is_64() {
                        return Err(Error::BadSignature {
                            name: "lockstep.memory",
                            expected: "a 32-bit memory",
                        });
                    }
                    if ty.minimum() > u64::from(config.max_memory_pages) {
                        return Err(Error::MemoryTooLarge {
                            declared_pages: ty.minimum(),
                            limit_pages: config.max_memory_pages,
                        });
                    }
                    let max =
                        ty.maximum().map(|m| m.min(u64::from(config.max_memory_pages)) as u32);
                    memory = Some((ty.minimum() as u32, max));
                }
                (names::HOST_MODULE, names::FAIL, ExternType::Func(ty)) => {
                    if ty.params() != [ValType::I32, ValType::I32] || !ty.results().is_empty() {
                        return Err(Error::BadSignature {
                            name: "lockstep.fail",
                            expected: SIG_FAIL,
                        });
                    }
                }
                (m, n, _) => {
                    return Err(Error::ForbiddenImport {
                        module: m.to_owned(),
                        name: n.to_owned(),
                    });
                }
            }
        }
        let memory_pages = memory.ok_or(Error::MissingMemoryImport)?;

        for (name, params, sig) in [
            (names::ABI_VERSION, &[][..], SIG_NONE_I32),
            (names::REGIONS, &[][..], SIG_NONE_I32),
            (names::INIT, &[ValType::I32][..], SIG_I32_I32),
            (names::ON_EVENT, &[][..], SIG_NONE_I32),
        ] {
            match module.get_export(name) {
                None => return Err(Error::MissingExport { name }),
                Some(ExternType::Func(ty))
                    if ty.params() == params && ty.results() == [ValType::I32] => {}
                Some(_) => return Err(Error::BadSignature { name, expected: sig }),
            }
        }

        let this = Self { engine: engine.clone(), module, memory_pages, size: wasm.len() };
        // Trial instantiation: checks the ABI version and regions, and runs any start function
        // under the init fuel budget, so a hostile module is refused here rather than later.
        Instance::prepare(&this)?;
        Ok(this)
    }

    /// Instantiates the module and runs `lockstep_init(params)`.
    ///
    /// # Errors
    /// [`Error::ParamsTooLong`], [`Error::InitRejected`] with the strategy's message, or any
    /// runtime error during init (fuel, trap, panic, memory limit).
    pub fn instantiate(&self, params: &str) -> Result<Instance, Error> {
        Instance::new(self, params)
    }

    /// Size of the module in bytes.
    pub fn size(&self) -> usize {
        self.size
    }
}
