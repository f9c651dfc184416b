//! The host side of a session: strategies resolved from the catalog or `.wasm` files and
//! loaded into an engine of the chosen tier, traces on disk, and [`HostSession::run`], which
//! reads a source to its end and measures each event's latency on the wall clock.

use crate::spec_params::{Contradiction, with_instrument};
use crate::timing::Clock;
use crate::trace::FileTrace;
use lockstep_engine::{CacheUse, Config, Engine, StrategyModule};
use lockstep_sdk::{ActionRecord, StrategyRunner};
use lockstep_sim::{
    EventSource, JitterRecorder, Meter, NoMeter, Pacing, ReplayError, ResumeError, RunOutput,
    RunnerSpec, Session, SessionCheckpoint, SessionConfig, TapeHeader, Work, WorstEvent,
};
use lockstep_strategies::StrategyInfo;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a strategy comes from.
#[derive(Clone)]
pub enum StrategySource {
    /// A built-in strategy, run as WebAssembly.
    Builtin(&'static StrategyInfo),
    /// A built-in strategy's native build (not fuel-metered).
    Native(&'static StrategyInfo),
    /// A `.wasm` file.
    WasmFile {
        /// Where it was read from.
        path: PathBuf,
        /// Its bytes.
        bytes: Arc<[u8]>,
    },
}

impl fmt::Debug for StrategySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrategySource::Builtin(i) => write!(f, "Builtin({})", i.name),
            StrategySource::Native(i) => write!(f, "Native({})", i.name),
            StrategySource::WasmFile { path, bytes } => {
                write!(f, "WasmFile({}, {} bytes)", path.display(), bytes.len())
            }
        }
    }
}

/// A strategy to run and its parameters.
#[derive(Clone, Debug)]
pub struct StrategySpec {
    /// Name in reports (catalog name, or the file stem of a `.wasm` file).
    pub name: String,
    /// Where it comes from.
    pub source: StrategySource,
    /// Parameter text (`key=value;...`).
    pub params: String,
}

impl StrategySpec {
    /// A built-in name or a path to a `.wasm` file; `params` default to the built-in's
    /// defaults (empty for files). `native` picks the native build of a built-in.
    ///
    /// # Errors
    /// [`SessionError`] for an unknown name, an unreadable file, or `native` with a file.
    pub fn resolve(arg: &str, params: Option<&str>, native: bool) -> Result<Self, SessionError> {
        let looks_like_file = arg.ends_with(".wasm") || arg.contains('/') || arg.contains('\\');
        if !looks_like_file && let Some(info) = lockstep_strategies::get(arg) {
            return Ok(Self {
                name: info.name.to_owned(),
                source: if native {
                    StrategySource::Native(info)
                } else {
                    StrategySource::Builtin(info)
                },
                // The defaults suit the synthetic market; their tick and lot give way to the
                // tape's ([`StrategySpec::on_tape`]).
                params: params.unwrap_or(info.default_params).to_owned(),
            });
        }
        if !looks_like_file {
            return Err(SessionError::UnknownStrategy {
                name: arg.to_owned(),
                known: lockstep_strategies::names().collect::<Vec<_>>().join(", "),
            });
        }
        let path = PathBuf::from(arg);
        if native {
            return Err(SessionError::NativeFile { path });
        }
        let bytes = read_module(&path)?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("wasm");
        let name = lockstep_sdk::untrusted(name).max_chars(64).to_string();
        Ok(Self {
            name,
            source: StrategySource::WasmFile { path, bytes: bytes.into() },
            params: params.unwrap_or("").to_owned(),
        })
    }
}

impl StrategySpec {
    /// This spec as it runs on `header`: a built-in's `tick` and `lot`, where it accepts them
    /// and the parameters do not give them, are the instrument's on the tape; a given one
    /// that contradicts the tape is refused. A `.wasm` file's parameters are its own.
    ///
    /// # Errors
    /// [`SessionError::Contradicts`].
    pub fn on_tape(&self, header: &TapeHeader) -> Result<Self, SessionError> {
        let (StrategySource::Builtin(info) | StrategySource::Native(info)) = &self.source else {
            return Ok(self.clone());
        };
        let defaults = self.params == info.default_params;
        let params =
            with_instrument(&self.params, info.params, header, defaults).map_err(|source| {
                SessionError::Contradicts { name: self.name.clone(), source: Box::new(source) }
            })?;
        Ok(Self { params, ..self.clone() })
    }
}

/// A built-in strategy as listings show it (`replay strategies --json`, `replay serve`, the
/// Python package).
#[derive(Clone, Debug, serde::Serialize)]
pub struct StrategyListing {
    /// Catalog name.
    pub name: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Parameters that suit the synthetic market.
    pub default_params: &'static str,
    /// Parameter keys it accepts.
    pub params: &'static [&'static str],
    /// Size of its WebAssembly module.
    pub wasm_bytes: usize,
}

/// Every built-in strategy, in catalog order.
pub fn strategy_listing() -> Vec<StrategyListing> {
    lockstep_strategies::all()
        .iter()
        .map(|s| StrategyListing {
            name: s.name,
            summary: s.summary,
            default_params: s.default_params,
            params: s.params,
            wasm_bytes: s.wasm.len(),
        })
        .collect()
}

/// Largest `.wasm` file read: the engine's default module limit. The read stops one byte past
/// it, so `--strategy /dev/zero` fails at once instead of filling memory.
pub const MAX_MODULE_BYTES: u64 = 4 << 20;

fn read_module(path: &Path) -> Result<Vec<u8>, SessionError> {
    use std::io::Read;
    let err = |source| SessionError::ReadWasm { path: path.to_path_buf(), source };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_MODULE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(err)?;
    if bytes.len() as u64 > MAX_MODULE_BYTES {
        return Err(err(std::io::Error::other(format!(
            "larger than {MAX_MODULE_BYTES} bytes, the most a strategy module may be"
        ))));
    }
    Ok(bytes)
}

/// Why a session could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionError {
    /// No built-in strategy has this name.
    UnknownStrategy {
        /// The name given.
        name: String,
        /// The built-in names.
        known: String,
    },
    /// A `.wasm` file could not be read.
    ReadWasm {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `--native` was asked for a `.wasm` file.
    NativeFile {
        /// The file.
        path: PathBuf,
    },
    /// The engine refused the module or its parameters.
    Load {
        /// The strategy.
        name: String,
        /// The engine's error.
        source: lockstep_engine::Error,
    },
    /// The engine of the chosen tier cannot be built here.
    Engine {
        /// The engine's error.
        source: lockstep_engine::Error,
    },
    /// A native strategy refused its parameters.
    Init {
        /// The strategy.
        name: String,
        /// Its message.
        message: String,
    },
    /// A trace file could not be created.
    Trace {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A session checkpoint does not fit the run, or is corrupt.
    Resume(ResumeError),
    /// A built-in's parameter contradicts the tape's instrument (its tick or lot).
    Contradicts {
        /// The strategy.
        name: String,
        /// What contradicts what (boxed: errors stay small).
        source: Box<Contradiction>,
    },
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::UnknownStrategy { name, known } => write!(
                f,
                "`{name}` is neither a built-in strategy nor a .wasm file; built-ins: {known}"
            ),
            SessionError::ReadWasm { path, source } => {
                write!(f, "cannot read strategy module {}: {source}", path.display())
            }
            SessionError::NativeFile { path } => write!(
                f,
                "--native runs a built-in strategy's native build; {} is a .wasm file",
                path.display()
            ),
            SessionError::Load { name, source } => write!(f, "strategy `{name}`: {source}"),
            SessionError::Engine { source } => write!(f, "{source}"),
            SessionError::Init { name, message } => write!(
                f,
                "strategy `{name}` refused its parameters: {}",
                lockstep_sdk::untrusted(message)
            ),
            SessionError::Trace { path, source } => {
                write!(f, "cannot create trace {}: {source}", path.display())
            }
            SessionError::Resume(e) => e.fmt(f),
            SessionError::Contradicts { name, source } => write!(f, "strategy `{name}`: {source}"),
        }
    }
}

// Display already carries the underlying error, so `source` is left empty: reporting the
// chain as well (anyhow's `{:#}`) would print it twice.
impl std::error::Error for SessionError {}
/// What the host adds to the core's [`Session`]: loading strategies into an engine, traces
/// on disk, and a run measured on the wall clock.
pub trait HostSession: Sized {
    /// Loads the strategies (one engine of `cfg.tier` for the session) for a tape with
    /// `header`.
    ///
    /// # Errors
    /// [`SessionError`] if a strategy cannot be loaded or refuses its parameters.
    fn load(
        header: &TapeHeader,
        specs: &[StrategySpec],
        cfg: SessionConfig,
    ) -> Result<Self, SessionError> {
        Self::load_traced(header, specs, cfg, None)
    }

    /// [`HostSession::load`], and with `trace_dir` a trace per strategy written into it
    /// ([`trace_path`]).
    ///
    /// # Errors
    /// [`SessionError`] if a strategy cannot be loaded or a trace file cannot be created.
    fn load_traced(
        header: &TapeHeader,
        specs: &[StrategySpec],
        cfg: SessionConfig,
        trace_dir: Option<&Path>,
    ) -> Result<Self, SessionError>;

    /// The session checkpoint `ck` holds, its strategies (`specs`, in the checkpoint's order)
    /// restored into an engine of `cfg.tier`, which may be another tier than the one it was
    /// taken on. Feed it the tape from its start ([`Session::feed`] skips what it holds).
    ///
    /// # Errors
    /// [`SessionError::Resume`] for a checkpoint of other strategies, parameters, tape or
    /// exchange settings, or a strategy state the engine refuses (another module, corrupt).
    fn resume(
        header: &TapeHeader,
        specs: &[StrategySpec],
        cfg: SessionConfig,
        ck: SessionCheckpoint,
    ) -> Result<Self, SessionError>;

    /// Replays `src` to its end, calling `progress` with the number of tape events done after
    /// each chunk, measuring each event on the wall clock unless the configuration says not.
    ///
    /// # Errors
    /// The source's error (a corrupt or truncated tape), naming chunk and offset, or
    /// [`ReplayError::Book`] naming the chunk and event the book cannot apply; the replay
    /// stops there.
    fn run(
        self,
        src: &mut dyn EventSource,
        progress: &mut dyn FnMut(u64),
    ) -> Result<RunOutput, ReplayError>;

    /// Replays `src` to its end without wall-clock measurement, asking `stop` between deliveries
    /// whether to give up (a server's deadline, a client gone).
    ///
    /// # Errors
    /// As [`HostSession::run`], and [`ReplayError::Interrupted`] once `stop` says so.
    fn run_until(
        self,
        src: &mut dyn EventSource,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<RunOutput, ReplayError>;
}

/// A started strategy: its runner, `init`'s actions and fuel (`None`: a native build).
pub type Started = (Box<dyn StrategyRunner>, Vec<ActionRecord>, Option<u64>);

/// Starts one strategy on `engine` (a native build ignores the engine): its runner, `init`'s
/// actions and fuel (`None`: a native build). The one place every host starts a strategy.
///
/// # Errors
/// [`SessionError::Load`] for a module the engine refuses or an init that fails, and
/// [`SessionError::Init`] for a native build that refuses its parameters.
pub fn start(engine: &Engine, spec: &StrategySpec) -> Result<Started, SessionError> {
    let load = |e| SessionError::Load { name: spec.name.clone(), source: e };
    match &spec.source {
        StrategySource::Builtin(_) | StrategySource::WasmFile { .. } => {
            let bytes: &[u8] = match &spec.source {
                StrategySource::WasmFile { bytes, .. } => bytes,
                StrategySource::Builtin(info) | StrategySource::Native(info) => info.wasm,
            };
            let m = StrategyModule::new(engine, bytes).map_err(load)?;
            if let use_ @ (CacheUse::Replaced { .. } | CacheUse::NotStored { .. }) =
                m.artefact_cache()
            {
                // Costs load time only; the run is the same, so it is a warning, not an error.
                eprintln!("warning: strategy {}: {use_}", spec.name);
            }
            let inst = m.instantiate(&spec.params).map_err(load)?;
            let init = inst.actions().to_vec();
            let fuel = inst.last_fuel().0;
            Ok((Box::new(inst), init, Some(fuel)))
        }
        StrategySource::Native(info) => {
            let native = info.native(&spec.params).map_err(|e| SessionError::Init {
                name: spec.name.clone(),
                message: e.to_string(),
            })?;
            let init = native.actions().to_vec();
            Ok((Box::new(native), init, None))
        }
    }
}

impl HostSession for Session {
    fn load_traced(
        header: &TapeHeader,
        specs: &[StrategySpec],
        cfg: SessionConfig,
        trace_dir: Option<&Path>,
    ) -> Result<Self, SessionError> {
        let engine = session_engine(&cfg, false)?;
        let mut runners = Vec::with_capacity(specs.len());
        let mut traces = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let spec = &spec.on_tape(header)?;
            let (runner, init_actions, init_fuel) = start(&engine, spec)?;
            if let Some(dir) = trace_dir {
                let path = trace_path(dir, i, &spec.name);
                let trace = FileTrace::create(&path)
                    .map_err(|source| SessionError::Trace { path, source })?;
                traces.push((i, trace));
            }
            runners.push(RunnerSpec {
                name: spec.name.clone(),
                params: spec.params.clone(),
                runner,
                init_actions,
                init_fuel,
            });
        }
        let mut session = Session::from_runners(header, runners, cfg);
        for (i, trace) in traces {
            session.observe(i, Box::new(trace));
        }
        Ok(session)
    }

    fn resume(
        header: &TapeHeader,
        specs: &[StrategySpec],
        cfg: SessionConfig,
        ck: SessionCheckpoint,
    ) -> Result<Self, SessionError> {
        let engine = session_engine(&cfg, false)?;
        let mismatch = |what: String| SessionError::Resume(ResumeError::Mismatch { what });
        if specs.len() != ck.strategies().len() {
            return Err(mismatch(format!(
                "it holds {} strategies, {} were given",
                ck.strategies().len(),
                specs.len()
            )));
        }
        let mut runners: Vec<Box<dyn StrategyRunner>> = Vec::with_capacity(specs.len());
        for (spec, state) in specs.iter().zip(ck.strategies()) {
            let spec = &spec.on_tape(header)?;
            if spec.name != state.name || spec.params != state.params {
                return Err(mismatch(format!(
                    "strategy `{}` with `{}` was checkpointed, not `{}` with `{}`",
                    state.name, state.params, spec.name, spec.params
                )));
            }
            let bytes: &[u8] = match &spec.source {
                StrategySource::WasmFile { bytes, .. } => bytes,
                StrategySource::Builtin(info) => info.wasm,
                StrategySource::Native(_) => {
                    return Err(SessionError::Resume(ResumeError::NotCheckpointable {
                        strategy: spec.name.clone(),
                    }));
                }
            };
            let load = |e| SessionError::Load { name: spec.name.clone(), source: e };
            let module = StrategyModule::new(&engine, bytes).map_err(load)?;
            let inst = module.restore(&state.state).map_err(|e| {
                SessionError::Resume(ResumeError::Strategy {
                    strategy: spec.name.clone(),
                    message: e.to_string(),
                })
            })?;
            runners.push(Box::new(inst));
        }
        Session::from_checkpoint(header, ck, runners, cfg).map_err(SessionError::Resume)
    }

    fn run(
        mut self,
        src: &mut dyn EventSource,
        progress: &mut dyn FnMut(u64),
    ) -> Result<RunOutput, ReplayError> {
        let clock = Clock::start();
        let start = clock.now();
        let cfg = self.config();
        let jitter = JitterRecorder::new(cfg.interval_ns);
        let (blotters, mut jitter) = if cfg.measure_latency {
            let speed = match cfg.pacing {
                Pacing::Paced { speed } if speed > 0.0 => Some(speed),
                _ => None,
            };
            let mut meter = Timed { clock: &clock, speed, pace: None, handed: 0, jitter };
            self.feed(src, progress, &mut meter)?;
            (self.close(&mut meter), meter.jitter)
        } else {
            self.feed(src, progress, &mut NoMeter)?;
            (self.close(&mut NoMeter), jitter)
        };
        let elapsed_ns = clock.now().saturating_sub(start).max(1);
        let latency = jitter.finish(clock.now());
        Ok(RunOutput { report: self.into_report(elapsed_ns, latency), jitter, blotters })
    }

    fn run_until(
        mut self,
        src: &mut dyn EventSource,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<RunOutput, ReplayError> {
        let mut meter = Stoppable { stop, stopped: false };
        self.feed(src, &mut |_| {}, &mut meter)?;
        let blotters = self.close(&mut meter);
        if meter.stopped {
            return Err(ReplayError::Interrupted { index: self.events() });
        }
        let mut jitter = JitterRecorder::new(self.config().interval_ns);
        let latency = jitter.finish(0);
        Ok(RunOutput { report: self.into_report(0, latency), jitter, blotters })
    }
}

/// Measures nothing; asks its `stop` whether the run must end (sticky once true).
struct Stoppable<'a> {
    stop: &'a mut dyn FnMut() -> bool,
    stopped: bool,
}

impl Meter for Stoppable<'_> {
    fn begin(&mut self, _: i64) -> u64 {
        0
    }
    fn end(&mut self, _: u64, _: Work) {}
    fn interrupted(&mut self) -> bool {
        self.stopped = self.stopped || (self.stop)();
        self.stopped
    }
}

/// The one engine a session's WebAssembly strategies share: `cfg`'s tier and fuel, gathering
/// fuel profiles when `profile` says so.
pub(crate) fn session_engine(cfg: &SessionConfig, profile: bool) -> Result<Engine, SessionError> {
    let mut config = Config::new();
    config
        .tier(cfg.tier)
        .fuel_per_event(lockstep_engine::Fuel(cfg.fuel_per_event))
        .fuel_profile(profile)
        .artefact_cache(lockstep_engine::default_artefact_cache());
    Engine::try_new(&config).map_err(|source| SessionError::Engine { source })
}

/// Measures each piece of work on the wall clock: from when it was handed over (as fast as
/// possible) or due (paced), to when it finished.
struct Timed<'c> {
    clock: &'c Clock,
    /// Paced replay's speed-up.
    speed: Option<f64>,
    /// Paced replay's origin: (speed, clock reading, tape time), set at the first event.
    pace: Option<(f64, u64, i64)>,
    /// Clock reading when the last piece of work finished: the next event's hand-over time.
    handed: u64,
    jitter: JitterRecorder,
}

impl Meter for Timed<'_> {
    #[inline]
    fn handed(&mut self) {
        self.handed = self.clock.now();
    }

    #[inline]
    fn begin(&mut self, t: i64) -> u64 {
        if let (Some(speed), None) = (self.speed, self.pace) {
            self.pace = Some((speed, self.clock.now(), t));
        }
        start_time(self.clock, self.pace, t, self.handed)
    }

    #[inline]
    fn end(&mut self, began: u64, w: Work) {
        let end = self.clock.now();
        self.jitter.record(WorstEvent {
            latency_ns: end.saturating_sub(began),
            tape_event: w.tape_event,
            seq: w.seq,
            strategy: w.strategy,
            kind: w.kind,
            fuel: w.fuel,
        });
        self.jitter.tick(end);
        self.handed = end;
    }
}

/// When an event at tape time `t` starts: when it was handed over, i.e. when the previous work
/// finished (as fast as possible), or when it is due (paced, waiting for it if early). Either
/// way a stall delays the start of what follows, so it shows in their latency too.
#[inline]
fn start_time(clock: &Clock, pace: Option<(f64, u64, i64)>, t: i64, handed: u64) -> u64 {
    match pace {
        None => handed,
        Some((speed, origin, t0)) => {
            let due = origin.saturating_add(((t.saturating_sub(t0)).max(0) as f64 / speed) as u64);
            clock.spin_until(due);
            due
        }
    }
}

/// The trace file a session writes for strategy `index` named `name` under `dir`.
pub fn trace_path(dir: &Path, index: usize, name: &str) -> PathBuf {
    dir.join(format!("{index}-{name}.trace"))
}
