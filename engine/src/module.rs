//! Loading: validate a module against the sandbox rules and the ABI before anything runs. The
//! rules are written once, over a tier-neutral view of the module's imports and exports, so
//! both tiers refuse the same modules with the same errors.

use crate::cache::CacheUse;
use crate::compiled;
use crate::config::{Config, Tier};
use crate::engine::{Backend, Engine};
use crate::error::Error;
use crate::guest::{ImportDesc, ImportKind, ValKind};
use crate::instrument::{self, MutableGlobal};
use crate::interp;
use crate::tier::{self, Code, Guest};
use lockstep_sdk::math::{self, MathFn};
use lockstep_sdk::{Regions, names};
use sha2::{Digest as _, Sha256};
use std::sync::{Arc, Mutex, PoisonError};

/// A validated, compiled strategy module, ready to instantiate on the engine that loaded it.
#[derive(Clone)]
pub struct StrategyModule {
    pub(crate) engine: Engine,
    pub(crate) code: Code,
    /// Pages the module needs at minimum, and the maximum it declares itself (if any, capped
    /// by the config limit). Growth past the config limit is refused by the store's limiter.
    pub(crate) memory_pages: (u32, Option<u32>),
    size: usize,
    /// SHA-256 of the `.wasm` bytes the module was loaded (or precompiled) from: what a
    /// checkpoint names its module by.
    pub(crate) sha256: [u8; 32],
    /// The mutable globals, exported for checkpoints by `instrument`.
    pub(crate) globals: Arc<[MutableGlobal]>,
    /// Whether it exports `lockstep_migrate` (it can take over a running version's state).
    pub(crate) migrates: bool,
    /// What the artefact cache did for this load.
    cache: CacheUse,
    /// The guest the load checks linked, kept for the first `instantiate` (shared by clones),
    /// so a load followed by an instantiation links once.
    trial: Arc<Mutex<Option<(Guest, Regions)>>>,
}

impl std::fmt::Debug for StrategyModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyModule")
            .field("tier", &self.engine.tier())
            .field("size", &self.size)
            .field("memory_pages", &self.memory_pages)
            .finish_non_exhaustive()
    }
}

const SIG_NONE_I32: &str = "a function () -> i32";
const SIG_I32_I32: &str = "a function (i32) -> i32";
const SIG_FAIL: &str = "a function (i32, i32) -> ()";

impl StrategyModule {
    /// Validates and compiles `wasm` for the engine's tier, then links it once (without
    /// `lockstep_init`) to check the ABI version and the region descriptor; the first
    /// [`StrategyModule::instantiate`] runs init on that same guest, in memory this call
    /// allocated, so load on the thread (core) that will run the strategy, as
    /// [`Worker::spawn`](crate::Worker::spawn)'s setup does.
    ///
    /// # Errors
    /// [`Error::ModuleTooLarge`], [`Error::Malformed`], [`Error::ForbiddenImport`],
    /// [`Error::MissingMemoryImport`], [`Error::MemoryTooLarge`], [`Error::MissingExport`],
    /// [`Error::BadSignature`], [`Error::AbiVersion`], [`Error::BadRegions`], or an
    /// [`Error::OutOfFuel`]/[`Error::Trap`] from a start function. Identical on both tiers.
    pub fn new(engine: &Engine, wasm: &[u8]) -> Result<Self, Error> {
        let config: &Config = &engine.config;
        if wasm.len() > config.max_module_bytes {
            return Err(Error::ModuleTooLarge { size: wasm.len(), limit: config.max_module_bytes });
        }
        let shape = crate::portable::check(wasm)?;
        let sha256: [u8; 32] = Sha256::digest(wasm).into();
        let size = wasm.len();
        let wasm = crate::meter::meter(
            &instrument::export_globals(wasm),
            &shape,
            config.init_fuel.0,
            config.fuel_profile,
        )?;
        interp::check_translates(&wasm)?;
        let (code, cache) = match &engine.inner {
            Backend::Interpreter(e) => {
                (Code::Interpreter(interp::compile(e, &wasm)?), CacheUse::Off)
            }
            Backend::Compiled(e) => {
                let (m, cache) = crate::cache::load_or_compile(e, config, &wasm, &sha256)?;
                (Code::Compiled(m), cache)
            }
        };
        Ok(Self { cache, ..Self::checked(engine, code, size, sha256)? })
    }

    /// What the artefact cache ([`Config::artefact_cache`]) did when this module was loaded.
    pub fn artefact_cache(&self) -> &CacheUse {
        &self.cache
    }

    /// Compiles `wasm` ahead of time into an artefact that [`StrategyModule::from_precompiled`]
    /// loads without running Cranelift: compile once at build or deploy time, ship the bytes.
    /// The module passes every load check first.
    ///
    /// # Errors
    /// [`Error::WrongTier`] on an interpreter engine, or any error of [`StrategyModule::new`].
    pub fn precompile(engine: &Engine, wasm: &[u8]) -> Result<Vec<u8>, Error> {
        let module = Self::new(engine, wasm)?;
        match (&engine.inner, &module.code) {
            (Backend::Compiled(e), Code::Compiled(m)) => {
                compiled::serialize(e, &engine.config, m, &module.sha256)
            }
            _ => Err(Error::WrongTier { needs: Tier::Compiled, engine: engine.tier() }),
        }
    }

    /// Loads an artefact made by [`StrategyModule::precompile`] with an engine of the same build
    /// and compiled-tier configuration, and runs the load checks on it.
    ///
    /// Artefacts contain native code: treat them like shared libraries, from your own builds.
    /// Anything else, a corrupted or truncated artefact, or one made by another build, target
    /// or configuration, is refused before any of it is mapped as code.
    ///
    /// # Errors
    /// [`Error::WrongTier`] on an interpreter engine, [`Error::Artefact`] for bytes this engine
    /// did not produce, or any load error of [`StrategyModule::new`].
    pub fn from_precompiled(engine: &Engine, artefact: &[u8]) -> Result<Self, Error> {
        let Backend::Compiled(e) = &engine.inner else {
            return Err(Error::WrongTier { needs: Tier::Compiled, engine: engine.tier() });
        };
        let (module, sha256) = compiled::deserialize(e, &engine.config, artefact)?;
        Self::checked(engine, Code::Compiled(module), artefact.len(), sha256)
    }

    /// The sandbox and ABI checks, then a trial instantiation.
    fn checked(engine: &Engine, code: Code, size: usize, sha256: [u8; 32]) -> Result<Self, Error> {
        let config: &Config = &engine.config;
        let memory_pages = check_imports(&code.imports(), config)?;
        let i32_ = ValKind::I32;
        for (name, params, sig) in [
            (names::ABI_VERSION, &[][..], SIG_NONE_I32),
            (names::REGIONS, &[][..], SIG_NONE_I32),
            (names::INIT, &[i32_][..], SIG_I32_I32),
            (names::ON_EVENT, &[][..], SIG_NONE_I32),
        ] {
            match code.export(name) {
                None => return Err(Error::MissingExport { name }),
                Some(Some(s)) if s.params == params && s.results == [i32_] => {}
                Some(_) => return Err(Error::BadSignature { name, expected: sig }),
            }
        }
        // The optional exports of a hot swap, checked alike when present.
        for (name, params, sig) in [
            (names::MIGRATE, &[i32_][..], SIG_I32_I32),
            (names::STATE_VERSION, &[][..], SIG_NONE_I32),
        ] {
            match code.export(name) {
                None => {}
                Some(Some(s)) if s.params == params && s.results == [i32_] => {}
                Some(_) => return Err(Error::BadSignature { name, expected: sig }),
            }
        }
        let migrates = code.export(names::MIGRATE).is_some();
        // Linking runs any start function under the init fuel budget and checks the ABI
        // version and regions, so a hostile module is refused at load rather than later.
        let globals: Arc<[MutableGlobal]> = code.globals().into();
        let trial = tier::link(engine, &code, memory_pages, &globals)?;
        Ok(Self {
            engine: engine.clone(),
            code,
            memory_pages,
            size,
            sha256,
            globals,
            migrates,
            cache: CacheUse::Off,
            trial: Arc::new(Mutex::new(Some(trial))),
        })
    }

    /// A guest ready for init: the one the load linked if no instance has taken it yet, else a
    /// fresh one. Either way the same steps have run on it (link, version, regions).
    pub(crate) fn linked(&self) -> Result<(Guest, Regions), Error> {
        let kept = self.trial.lock().unwrap_or_else(PoisonError::into_inner).take();
        match kept {
            Some(linked) => Ok(linked),
            None => tier::link(&self.engine, &self.code, self.memory_pages, &self.globals),
        }
    }

    /// Size of the module (or artefact) in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// SHA-256 of the module's `.wasm` bytes (for a precompiled module, of the `.wasm` it was
    /// compiled from): the same on both tiers, and what checkpoints are bound to.
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    /// The tier this module was compiled for.
    pub fn tier(&self) -> Tier {
        self.engine.tier()
    }
}

/// The import rules: `lockstep.memory` (a 32-bit, unshared memory within the limit) and
/// optionally `lockstep.fail`, nothing else. Returns the memory's (minimum, capped maximum).
fn check_imports(imports: &[ImportDesc], config: &Config) -> Result<(u32, Option<u32>), Error> {
    let mut memory = None;
    for import in imports {
        match (import.module.as_str(), import.name.as_str(), &import.kind) {
            (names::HOST_MODULE, names::MEMORY, ImportKind::Memory { min, max, is_64, shared }) => {
                if *is_64 || *shared {
                    return Err(Error::BadSignature {
                        name: "lockstep.memory",
                        expected: "a 32-bit, unshared memory",
                    });
                }
                if *min > u64::from(config.max_memory_pages) {
                    return Err(Error::MemoryTooLarge {
                        declared_pages: *min,
                        limit_pages: config.max_memory_pages,
                    });
                }
                let max = max.map(|m| m.min(u64::from(config.max_memory_pages)) as u32);
                memory = Some((*min as u32, max));
            }
            (names::HOST_MODULE, names::MEMORY, _) => {
                return Err(Error::BadSignature {
                    name: "lockstep.memory",
                    expected: "a memory (import it with `(import \"lockstep\" \"memory\" (memory 1))`)",
                });
            }
            (names::HOST_MODULE, names::FAIL, ImportKind::Func(s)) => {
                if s.params != [ValKind::I32, ValKind::I32] || !s.results.is_empty() {
                    return Err(Error::BadSignature { name: "lockstep.fail", expected: SIG_FAIL });
                }
            }
            (names::HOST_MODULE, names::FAIL, _) => {
                return Err(Error::BadSignature { name: "lockstep.fail", expected: SIG_FAIL });
            }
            (names::HOST_MODULE, name, kind) if let Some(m) = math::host_function(name) => {
                let (params, expected): (&[ValKind], _) = match m.func {
                    MathFn::Unary(_) => (&[ValKind::F64], "a function (f64) -> f64"),
                    MathFn::Binary(_) => {
                        (&[ValKind::F64, ValKind::F64], "a function (f64, f64) -> f64")
                    }
                };
                if !matches!(kind, ImportKind::Func(s) if s.params == params && s.results == [ValKind::F64])
                {
                    return Err(Error::BadSignature { name: m.name, expected });
                }
            }
            // Added by a profiled rewrite; `portable` refuses them in a module as given.
            (crate::profile::PROFILE_MODULE, _, _) => {}
            (m, n, _) => {
                return Err(Error::ForbiddenImport { module: m.to_owned(), name: n.to_owned() });
            }
        }
    }
    memory.ok_or(Error::MissingMemoryImport)
}
