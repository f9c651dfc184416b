//! Fuel certificates (`replay certify`): the most fuel one event of a strategy can cost,
//! derived from its code, the most it did cost over the given replays, and what a unit of
//! fuel costs in time on this machine, so the bound can be stated in nanoseconds.

use crate::load::{HostSession, SessionError, StrategySource, StrategySpec, session_engine};
use crate::profile::{FunctionNames, sha256};
use lockstep_engine::{
    Engine, InitUnbounded, StrategyModule, Tier, Unbounded, bound_after_init, static_bound,
};
use lockstep_sim::{EventSource, ReplayError, Session, SessionConfig, hex};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the certificate format.
pub const CERTIFICATE_VERSION: u32 = 2;

/// Events of the synthetic market `replay certify` observes by default: enough for every
/// built-in to reach its costliest kind of event, few enough that the heaviest (CRR) certifies
/// in seconds.
pub const CERTIFY_SYNTH_EVENTS: u64 = 50_000;

/// The tier the observed maximum is measured on: the faster one. Both count fuel alike (the
/// metering rewrite is the same module on both, and the fuel digests are checked equal in CI),
/// so the maximum is the certified tier's too.
pub const OBSERVE_TIER: Tier = Tier::Compiled;

/// Why a certificate could not be made or does not hold.
#[derive(Debug)]
#[non_exhaustive]
pub enum CertifyError {
    /// The strategy is a native build: it has no fuel.
    Native {
        /// The strategy.
        name: String,
    },
    /// The engine refused the module.
    Engine(lockstep_engine::Error),
    /// The strategy could not be loaded.
    Session(SessionError),
    /// A replay failed.
    Replay(ReplayError),
    /// A certificate checked against a module or engine it was not made for.
    Mismatch {
        /// What differs.
        what: &'static str,
        /// The certificate's value.
        certificate: String,
        /// This module's or engine's.
        actual: String,
    },
}

impl fmt::Display for CertifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Native { name } => write!(
                f,
                "strategy {name} is a native build, which has no fuel; certify its WebAssembly \
                 build (drop --native)"
            ),
            Self::Engine(e) => write!(f, "{e}"),
            Self::Session(e) => write!(f, "{e}"),
            Self::Replay(e) => write!(f, "{e}"),
            Self::Mismatch { what, certificate, actual } => write!(
                f,
                "the certificate's {what} is {certificate}, this one's is {actual}: the \
                 certificate does not hold here; certify this module on this engine again"
            ),
        }
    }
}

impl std::error::Error for CertifyError {}

impl From<SessionError> for CertifyError {
    fn from(e: SessionError) -> Self {
        Self::Session(e)
    }
}

impl From<ReplayError> for CertifyError {
    fn from(e: ReplayError) -> Self {
        Self::Replay(e)
    }
}

impl From<lockstep_engine::Error> for CertifyError {
    fn from(e: lockstep_engine::Error) -> Self {
        Self::Engine(e)
    }
}

/// A fuel certificate (`certificate.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// [`CERTIFICATE_VERSION`].
    pub version: u32,
    /// The strategy.
    pub strategy: String,
    /// SHA-256 of its `.wasm`.
    pub module_sha256: String,
    /// The engine's fingerprint (`Engine::fingerprint`): version, metering rules, tier, fuel.
    pub engine_fingerprint: String,
    /// The tier.
    pub tier: String,
    /// Fuel each event may use before the strategy is halted.
    pub fuel_per_event: u64,
    /// The strategy's parameters, which the bound after init depends on.
    pub params: String,
    /// What the code proves.
    pub static_bound: StaticSummary,
    /// What the code proves from the state `lockstep_init` leaves with these parameters.
    pub after_init: AfterInit,
    /// The fuel an event that completes can cost at most: the smallest of the static bound,
    /// the bound after init and the fuel per event.
    pub certified_fuel: u64,
    /// The most fuel one event used over the replays given.
    pub observed: Vec<Observed>,
    /// What a unit of fuel cost in time here.
    pub calibration: Calibration,
    /// `certified_fuel` × the worst rate: the certified worst case of one event, in ns, on
    /// the machine below.
    pub certified_ns: u64,
    /// The machine the time holds on (CPU, isolation, frequency policy), as its host found it.
    pub machine: serde_json::Value,
}

/// The static bound, as certified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticSummary {
    /// The most fuel an event that completes can cost; `None` when unbounded.
    pub bound: Option<u64>,
    /// Why there is no bound, naming the function.
    pub reason: Option<String>,
    /// Loops given a trip count.
    pub bounded_loops: u32,
    /// Every function `lockstep_on_event` can reach.
    pub functions: Vec<FunctionSummary>,
}

/// The bound after init, as certified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AfterInit {
    /// The most fuel an event that completes can cost, from the state init left; `None`
    /// when there is no bound.
    pub bound: Option<u64>,
    /// Why there is none.
    pub reason: Option<String>,
    /// Rounds until the state an event leaves settled.
    pub rounds: u32,
    /// Bytes of memory not known at an event's start.
    pub variable_bytes: u64,
    /// Abstract operators the analysis executed.
    pub work: u64,
}

/// One function's static bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSummary {
    /// Its name.
    pub name: String,
    /// `bounded`, `unbounded` or `never returns`.
    pub status: String,
    /// Its bound, when bounded.
    pub bound: Option<u64>,
    /// Why not, when unbounded.
    pub reason: Option<String>,
}

/// The most fuel one event used over one replay.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observed {
    /// The replay's source.
    pub source: String,
    /// Events the strategy handled.
    pub events: u64,
    /// The most fuel one of them used.
    pub max_fuel: u64,
    /// The tier it ran on ([`OBSERVE_TIER`]; fuel is the same on both).
    pub tier: String,
}

/// Nanoseconds per unit of fuel, measured here for the costliest kinds of work.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Per kind of work: the 90th percentile over its calls of ns per fuel.
    pub ns_per_fuel: Vec<(String, f64)>,
    /// The worst of them.
    pub worst_ns_per_fuel: f64,
}

/// The module's bytes, or [`CertifyError::Native`].
fn module_bytes(spec: &StrategySpec) -> Result<&[u8], CertifyError> {
    match &spec.source {
        StrategySource::Builtin(info) => Ok(info.wasm),
        StrategySource::WasmFile { bytes, .. } => Ok(bytes),
        StrategySource::Native(_) => Err(CertifyError::Native { name: spec.name.clone() }),
    }
}

/// The static bound of `wasm`, with function names.
///
/// # Errors
/// The engine's refusal of the module.
pub fn static_summary(wasm: &[u8]) -> Result<StaticSummary, CertifyError> {
    let b = static_bound(wasm)?;
    let names = FunctionNames::of(wasm);
    let reason = |u: &Unbounded| -> String {
        match u {
            Unbounded::Recursion { callee } => {
                format!("recursion: calls {} again", names.name(*callee))
            }
            Unbounded::Callee { callee } => {
                format!("calls {}, which is unbounded", names.name(*callee))
            }
            other => other.to_string(),
        }
    };
    let functions = b
        .functions
        .iter()
        .map(|f| {
            let (status, bound, why) = match &f.bound {
                Ok(Some(n)) => ("bounded", Some(*n), None),
                Ok(None) => ("never returns", None, None),
                Err(u) => ("unbounded", None, Some(reason(u))),
            };
            FunctionSummary {
                name: names.name(f.func),
                status: status.to_owned(),
                bound,
                reason: why,
            }
        })
        .collect();
    let (bound, why) = match &b.bound {
        Ok(n) => (Some(n.unwrap_or(0)), None),
        Err(u) => (None, Some(root_cause(&b, &names, u, &reason))),
    };
    Ok(StaticSummary { bound, reason: why, bounded_loops: b.bounded_loops, functions })
}

/// The bound after init of `wasm` with `params`, with function names.
///
/// # Errors
/// The engine's refusal of the module, or of its init with these parameters.
pub fn after_init(engine: &Engine, wasm: &[u8], params: &str) -> Result<AfterInit, CertifyError> {
    let module = StrategyModule::new(engine, wasm)?;
    let mut inst = module.instantiate(params)?;
    let b = bound_after_init(wasm, &inst.init_image())?;
    let names = FunctionNames::of(wasm);
    let (bound, reason) = match b.bound {
        Ok(n) => (Some(n.unwrap_or(0)), None),
        Err(InitUnbounded::Recursion { callee }) => {
            (None, Some(format!("recursion: calls {} again", names.name(callee))))
        }
        Err(u) => (None, Some(u.to_string())),
    };
    Ok(AfterInit {
        bound,
        reason,
        rounds: b.rounds,
        variable_bytes: b.variable_bytes,
        work: b.work,
    })
}

/// Why `lockstep_on_event` is unbounded, down the chain of unbounded callees to the loop,
/// recursion or indirect call at the bottom: `on_event → f → g: loop at byte …`.
fn root_cause(
    b: &lockstep_engine::StaticBound,
    names: &FunctionNames,
    first: &Unbounded,
    reason: &dyn Fn(&Unbounded) -> String,
) -> String {
    let mut chain = vec![names.name(b.on_event)];
    let mut why = first.clone();
    let mut seen = std::collections::BTreeSet::new();
    while let Unbounded::Callee { callee } = why {
        let next =
            b.functions.iter().find(|f| f.func == callee).and_then(|f| f.bound.clone().err());
        match next {
            Some(u) if seen.insert(callee) => {
                chain.push(names.name(callee));
                why = u;
            }
            _ => break,
        }
    }
    format!("{}: {}", chain.join(" → "), reason(&why))
}

/// Certifies `spec` under `cfg` over `sources` (name, events), with the calibration run
/// here and `machine` as the caller describes it.
///
/// # Errors
/// [`CertifyError`]: a native build, a refused module, a failed replay.
pub fn certify(
    spec: &StrategySpec,
    cfg: &SessionConfig,
    sources: &mut [(String, Box<dyn EventSource + Send>)],
    machine: serde_json::Value,
) -> Result<Certificate, CertifyError> {
    module_bytes(spec)?;
    let mut observed = Vec::new();
    let observe = SessionConfig { tier: OBSERVE_TIER, ..cfg.clone() };
    for (name, src) in sources.iter_mut() {
        let header = src.header().clone();
        let out = Session::load(&header, std::slice::from_ref(spec), observe.clone())?
            .run_until(&mut **src, &mut || false)?;
        let s = &out.report.strategies[0];
        observed.push(Observed {
            source: name.clone(),
            events: s.events,
            max_fuel: s.fuel_max.0,
            tier: OBSERVE_TIER.to_string(),
        });
    }
    certificate(spec, cfg, observed, machine)
}

/// The certificate of `spec` under `cfg` given what runs elsewhere `observed` (a backtest
/// reports its own maximum): the static bound, and the calibration run here.
///
/// # Errors
/// [`CertifyError`]: a native build, a refused module.
pub fn certificate(
    spec: &StrategySpec,
    cfg: &SessionConfig,
    observed: Vec<Observed>,
    machine: serde_json::Value,
) -> Result<Certificate, CertifyError> {
    let wasm = module_bytes(spec)?;
    let static_bound = static_summary(wasm)?;
    let engine = engine(cfg)?;
    let after_init = after_init(&engine, wasm, &spec.params)?;
    let calibration = calibrate(&engine)?;
    let certified_fuel = [static_bound.bound, after_init.bound]
        .into_iter()
        .flatten()
        .fold(cfg.fuel_per_event, u64::min);
    let certified_ns = (certified_fuel as f64 * calibration.worst_ns_per_fuel).ceil() as u64;
    Ok(Certificate {
        version: CERTIFICATE_VERSION,
        strategy: spec.name.clone(),
        module_sha256: hex(&sha256(wasm)),
        engine_fingerprint: hex(&engine.fingerprint()),
        tier: cfg.tier.to_string(),
        fuel_per_event: cfg.fuel_per_event,
        params: spec.params.clone(),
        static_bound,
        after_init,
        certified_fuel,
        observed,
        calibration,
        certified_ns,
        machine,
    })
}

/// Checks that `cert` holds for `spec` on an engine configured as it says: the same module,
/// the same engine, the same parameters and the same bounds.
///
/// # Errors
/// [`CertifyError::Mismatch`] naming what differs.
pub fn check_certificate(cert: &Certificate, spec: &StrategySpec) -> Result<(), CertifyError> {
    let wasm = module_bytes(spec)?;
    let mismatch = |what, certificate: &str, actual: String| {
        Err(CertifyError::Mismatch { what, certificate: certificate.to_owned(), actual })
    };
    if cert.version != CERTIFICATE_VERSION {
        return mismatch(
            "format version",
            &cert.version.to_string(),
            CERTIFICATE_VERSION.to_string(),
        );
    }
    let sha = hex(&sha256(wasm));
    if cert.module_sha256 != sha {
        return mismatch("module SHA-256", &cert.module_sha256, sha);
    }
    let tier: Tier = cert.tier.parse().map_err(|_| CertifyError::Mismatch {
        what: "tier",
        certificate: cert.tier.clone(),
        actual: "interpreter or compiled".to_owned(),
    })?;
    let cfg =
        SessionConfig { tier, fuel_per_event: cert.fuel_per_event, ..SessionConfig::default() };
    let engine = engine(&cfg)?;
    let fingerprint = hex(&engine.fingerprint());
    if cert.engine_fingerprint != fingerprint {
        return mismatch("engine fingerprint", &cert.engine_fingerprint, fingerprint);
    }
    let show = |b: Option<u64>| b.map_or_else(|| "unbounded".to_owned(), |b| b.to_string());
    let now = static_summary(wasm)?;
    if now != cert.static_bound {
        return mismatch("static bound", &show(cert.static_bound.bound), show(now.bound));
    }
    if spec.params != cert.params {
        return mismatch("parameter string", &cert.params, spec.params.clone());
    }
    let now = after_init(&engine, wasm, &cert.params)?;
    if now != cert.after_init {
        return mismatch("bound after init", &show(cert.after_init.bound), show(now.bound));
    }
    Ok(())
}

/// The engine a certificate is made for: the one a session of `cfg` runs on.
fn engine(cfg: &SessionConfig) -> Result<Engine, CertifyError> {
    Ok(session_engine(cfg, false)?)
}

/// The calibration kernels: a name and `lockstep_on_event`'s body, each a loop over one
/// costly kind of work.
const KERNELS: [(&str, &str); 6] = [
    ("i64 division", "(local $i i32) (local $x i64) (local.set $x (i64.const 0x7fffffffffff))
        (loop $l (local.set $x (i64.add (i64.div_s (local.get $x) (i64.const 3)) (i64.const 0x7fffffffffff)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 4000))))
        (i32.wrap_i64 (i64.and (local.get $x) (i64.const 0)))"),
    ("float division and sqrt", "(local $i i32) (local $x f64) (local.set $x (f64.const 2))
        (loop $l (local.set $x (f64.add (f64.sqrt (f64.div (local.get $x) (f64.const 1.0001))) (f64.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 4000))))
        (i32.const 0)"),
    ("indirect call", "(local $i i32)
        (loop $l (call_indirect (type $t) (i32.const 0))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 4000))))
        (i32.const 0)"),
    ("memory.fill", "(local $i i32)
        (loop $l (memory.fill (i32.const 0x10000) (local.get $i) (i32.const 0x8000))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 64))))
        (i32.const 0)"),
    ("memory.copy", "(local $i i32)
        (loop $l (memory.copy (i32.const 0x10000) (i32.const 0x18000) (i32.const 0x8000))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 64))))
        (i32.const 0)"),
    ("host math exp", "(local $i i32) (local $x f64)
        (loop $l (local.set $x (f64.add (call $exp (f64.const 0.5)) (local.get $x)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 2000))))
        (i32.const 0)"),
];

/// A kernel as an ABI v1 module: regions at 0 (event 64, one action at 128, book 512,
/// params 1024), a table with one small function, the host's `exp`.
fn kernel_module(body: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "lockstep" "memory" (memory 4))
  (import "lockstep" "math.exp" (func $exp (param f64) (result f64)))
  (type $t (func))
  (table 1 funcref) (elem (i32.const 0) $small)
  (data (i32.const 0) "\01\00\00\00\40\00\00\00\80\00\00\00\01\00\00\00\00\02\00\00\00\04\00\00\00\01\00\00\00\00\00\00")
  (global $g (mut i32) (i32.const 0))
  (func $small (global.set $g (i32.add (global.get $g) (i32.const 1))))
  (func (export "lockstep_abi_version") (result i32) (i32.const 1))
  (func (export "lockstep_regions") (result i32) (i32.const 0))
  (func (export "lockstep_init") (param i32) (result i32) (i32.const 0))
  (func (export "lockstep_on_event") (result i32) {body}))"#
    );
    wat::parse_str(wat).unwrap_or_default()
}

/// Calls each kernel 40 times on `engine` (after 5 warm-up calls) and keeps, per kernel,
/// the 90th percentile of ns per fuel.
fn calibrate(engine: &Engine) -> Result<Calibration, CertifyError> {
    let mut rates = Vec::new();
    let ev = lockstep_sdk::EventRecord::zeroed();
    for (name, body) in KERNELS {
        let module = StrategyModule::new(engine, &kernel_module(body))?;
        let mut inst = module.instantiate("")?;
        let mut per_call = Vec::new();
        let t = crate::timing::Clock::start();
        for k in 0..45 {
            let t0 = t.now();
            inst.on_event(&ev, None)?;
            let ns = t.now().saturating_sub(t0);
            if k >= 5 {
                per_call.push(ns as f64 / inst.last_fuel().0.max(1) as f64);
            }
        }
        per_call.sort_by(f64::total_cmp);
        let p90 = per_call[per_call.len() * 9 / 10];
        rates.push((name.to_owned(), p90));
    }
    let worst = rates.iter().map(|(_, r)| *r).fold(0.0, f64::max);
    Ok(Calibration { ns_per_fuel: rates, worst_ns_per_fuel: worst })
}
