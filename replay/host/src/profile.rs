//! Exact, deterministic fuel profiles of a strategy over a replay (`replay profile`).
//!
//! The strategy runs twice, side by side in one session over the source: as it is, and as the
//! engine's profiled rewrite (`Config::fuel_profile`), which reports every function's entry
//! and exit with the fuel left. The two must give the same digest and fuel digest, or the
//! profile is refused. Fuel is the same on every machine and tier, so the profile's files are the same
//! bytes run after run and on both tiers: folded stacks, a flame graph (inferno), speedscope
//! JSON, and a summary with the per-event fuel histogram and the ten costliest events.

use crate::load::{SessionError, StrategySource, StrategySpec, session_engine, start};
use lockstep_engine::{FuelProfile, Instance, StrategyModule};
use lockstep_sdk::{ActionRecord, BookRecord, EventRecord, RunError, Step, StrategyRunner};
use lockstep_sim::{
    EventSource, JitterRecorder, Meter, ReplayError, RunReport, RunnerSpec, Session, SessionConfig,
    TapeHeader, Work, hex,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// How many of the costliest events a profile lists.
pub const COSTLIEST_KEPT: usize = 10;
/// Longest function name a profile keeps, in characters (names come from the module).
const MAX_NAME_CHARS: usize = 200;

/// Why a profile could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProfileError {
    /// The strategy is a native build: there is no fuel to profile.
    Native {
        /// The strategy.
        name: String,
    },
    /// The strategy could not be loaded or started.
    Session(SessionError),
    /// The replay failed (a corrupt tape, a book that cannot apply an event).
    Replay(ReplayError),
    /// The profiled module did not do what the module does: the profile would not describe it.
    Differs {
        /// What differs.
        what: &'static str,
        /// The plain run's value.
        plain: String,
        /// The profiled run's value.
        profiled: String,
    },
    /// The flame graph could not be drawn.
    Flamegraph(String),
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Native { name } => write!(
                f,
                "strategy {name} is a native build, which uses no fuel; profile its \
                 WebAssembly build (drop --native)"
            ),
            Self::Session(e) => write!(f, "{e}"),
            Self::Replay(e) => write!(f, "{e}"),
            Self::Differs { what, plain, profiled } => write!(
                f,
                "the profiled module's {what} ({profiled}) differs from the module's ({plain}), \
                 so its profile would not describe the module; please report this as an \
                 engine bug, with the module"
            ),
            Self::Flamegraph(e) => write!(f, "drawing the flame graph: {e}"),
        }
    }
}

impl std::error::Error for ProfileError {}

impl From<SessionError> for ProfileError {
    fn from(e: SessionError) -> Self {
        Self::Session(e)
    }
}

impl From<ReplayError> for ProfileError {
    fn from(e: ReplayError) -> Self {
        Self::Replay(e)
    }
}

/// A fuel profile's summary (`profile.json`). It names no tier: the profile is the same on
/// both, byte for byte.
#[derive(Clone, Debug, Serialize)]
pub struct ProfileSummary {
    /// The strategy's name and parameters.
    pub strategy: String,
    /// Its parameters.
    pub params: String,
    /// SHA-256 of its `.wasm` bytes.
    pub module_sha256: String,
    /// The run's digest and fuel digest, the same for the module and its profiled rewrite.
    pub digest: String,
    /// See `digest`.
    pub fuel_digest: String,
    /// Events the strategy was given (market data, the venue's answers, timers).
    pub events: u64,
    /// Fuel over all of them (`lockstep_init` excluded).
    pub total_fuel: u64,
    /// Whether stacks were cut short at the engine's node limit.
    pub truncated: bool,
    /// Each function's fuel: in itself, and with its callees, costliest first.
    pub functions: Vec<FunctionFuel>,
    /// Per-event fuel in power-of-two buckets (empty buckets left out).
    pub histogram: Vec<FuelBucket>,
    /// The costliest events, costliest first (ties: earliest first).
    pub costliest: Vec<CostlyEvent>,
}

/// One function's fuel.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FunctionFuel {
    /// Its name (demangled), or `func[N]` without a name section entry.
    pub name: String,
    /// Fuel spent in its own code.
    pub self_fuel: u64,
    /// Fuel spent while it was on the stack (a recursion counted once).
    pub total_fuel: u64,
}

/// Events whose fuel is in `from..to`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct FuelBucket {
    /// Lowest fuel of the bucket.
    pub from: u64,
    /// Fuel past the bucket.
    pub to: u64,
    /// Events in it.
    pub events: u64,
}

/// One costly event, and where it is on the tape.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CostlyEvent {
    /// Its fuel.
    pub fuel: u64,
    /// The tape event it handled, for `replay inspect --events N..N+1`; `None` for a venue
    /// answer (a fill, an ack, a timer), which `after_tape_event` places.
    pub tape_event: Option<u64>,
    /// The last tape event before a venue answer.
    pub after_tape_event: Option<u64>,
    /// The strategy's sequence number of the event.
    pub seq: u64,
    /// Its kind (`quote`, `fill`, `timer`...).
    pub kind: &'static str,
}

/// A fuel profile: the summary and the files it is shown in.
#[derive(Clone, Debug)]
pub struct ProfileOutput {
    /// The summary.
    pub summary: ProfileSummary,
    /// Folded stacks (`a;b;c fuel`, one per line, sorted): inferno's and FlameGraph's input.
    pub folded: String,
    /// The flame graph, SVG.
    pub flamegraph_svg: Vec<u8>,
    /// The profile in speedscope's file format.
    pub speedscope_json: Vec<u8>,
}

impl ProfileOutput {
    /// The files of a profile, by name.
    pub fn files(&self) -> Result<Vec<(&'static str, Vec<u8>)>, serde_json::Error> {
        let mut summary = serde_json::to_vec_pretty(&self.summary)?;
        summary.push(b'\n');
        Ok(vec![
            ("profile.json", summary),
            ("profile.folded", self.folded.clone().into_bytes()),
            ("flamegraph.svg", self.flamegraph_svg.clone()),
            ("speedscope.json", self.speedscope_json.clone()),
        ])
    }
}

/// Profiles `spec` over `src`. The module and its profiled rewrite run side by side in one
/// session (each with its own venue), so the source is read and the book built once.
///
/// # Errors
/// [`ProfileError`]: a native build, a load or replay failure, or runs that differ.
pub fn profile(
    header: &TapeHeader,
    spec: &StrategySpec,
    cfg: &SessionConfig,
    src: &mut dyn EventSource,
) -> Result<ProfileOutput, ProfileError> {
    let bytes: &[u8] = match &spec.source {
        StrategySource::Builtin(info) => info.wasm,
        StrategySource::WasmFile { bytes, .. } => bytes,
        StrategySource::Native(_) => return Err(ProfileError::Native { name: spec.name.clone() }),
    };
    let (report, tree, calls) = run_both(header, spec, bytes, cfg, src)?;
    let [plain, profiled] = &report.strategies[..] else {
        unreachable!("the session runs exactly the two strategies it was given")
    };
    for (what, a, b) in [
        ("digest", plain.digest, profiled.digest),
        ("fuel digest", plain.fuel_digest, profiled.fuel_digest),
    ] {
        if a != b {
            return Err(ProfileError::Differs { what, plain: hex(&a), profiled: hex(&b) });
        }
    }
    if tree.total_fuel() != calls.total || profiled.fuel_total != calls.total {
        return Err(ProfileError::Differs {
            what: "fuel over the run",
            plain: plain.fuel_total.to_string(),
            profiled: tree.total_fuel().to_string(),
        });
    }
    let names = FunctionNames::of(bytes);
    let folded = folded(&tree, &names);
    let summary = ProfileSummary {
        strategy: spec.name.clone(),
        params: spec.params.clone(),
        module_sha256: hex(&sha256(bytes)),
        digest: hex(&plain.digest),
        fuel_digest: hex(&plain.fuel_digest),
        events: calls.events,
        total_fuel: calls.total,
        truncated: tree.is_truncated(),
        functions: function_fuel(&tree, &names),
        histogram: calls.histogram(),
        costliest: calls.costliest,
    };
    let title = format!("{} fuel", spec.name);
    Ok(ProfileOutput {
        flamegraph_svg: flamegraph(&title, &folded)?,
        speedscope_json: speedscope(&title, &folded, summary.total_fuel),
        folded: folded.iter().map(|(stack, fuel)| format!("{stack} {fuel}\n")).collect(),
        summary,
    })
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// Runs `bytes` as it is and as its profiled rewrite in one session: the run's report (the
/// plain strategy first), the profiled one's call tree and the fuel of each of its calls.
fn run_both(
    header: &TapeHeader,
    spec: &StrategySpec,
    bytes: &[u8],
    cfg: &SessionConfig,
    src: &mut dyn EventSource,
) -> Result<(RunReport, FuelProfile, CallFuel), ProfileError> {
    let (runner, init_actions, init_fuel) = start(&session_engine(cfg, false)?, spec)?;
    let plain = RunnerSpec {
        name: spec.name.clone(),
        params: spec.params.clone(),
        runner,
        init_actions,
        init_fuel,
    };
    let load = |e| SessionError::Load { name: spec.name.clone(), source: e };
    let module = StrategyModule::new(&session_engine(cfg, true)?, bytes).map_err(load)?;
    let mut inst = module.instantiate(&spec.params).map_err(load)?;
    // The start function's and init's fuel stay out of the events' profile.
    let _ = inst.take_fuel_profile();
    let shared = Arc::new(Mutex::new(Shared::default()));
    let runner = Profiled { inst, shared: Arc::clone(&shared) };
    let profiled = RunnerSpec {
        name: format!("{} (profiled)", spec.name),
        params: spec.params.clone(),
        init_actions: runner.inst.actions().to_vec(),
        init_fuel: Some(runner.inst.last_fuel().0),
        runner: Box::new(runner),
    };
    let mut session = Session::from_runners(header, vec![plain, profiled], cfg.clone());
    let mut calls = CallFuel { shared: Arc::clone(&shared), ..CallFuel::default() };
    session.feed(src, &mut |_| {}, &mut calls)?;
    session.close(&mut calls);
    let latency = JitterRecorder::new(cfg.interval_ns).finish(0);
    // The report consumes the session, and the runner hands its profile over as it goes.
    let report = session.into_report(0, latency);
    let tree = lock(&shared).profile.take().unwrap_or_default();
    Ok((report, tree, calls))
}

/// What the profiled runner shares with the meter: the calls since the meter last looked,
/// and the call tree once the runner is dropped.
#[derive(Default)]
struct Shared {
    /// (fuel, kind, seq) of each call.
    calls: Vec<(u64, u16, u64)>,
    profile: Option<FuelProfile>,
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An engine instance that logs each call's fuel, and hands its fuel profile over when
/// dropped.
struct Profiled {
    inst: Instance,
    shared: Arc<Mutex<Shared>>,
}

impl StrategyRunner for Profiled {
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<Step<'_>, RunError> {
        let result = self.inst.on_event(ev, book).map(<[ActionRecord]>::len);
        let fuel = self.inst.last_fuel().0;
        lock(&self.shared).calls.push((fuel, ev.kind(), ev.seq()));
        match result {
            Ok(n) => Ok(Step { actions: &self.inst.actions()[..n], fuel: Some(fuel) }),
            Err(e) => Err(RunError::from(e).with_fuel(fuel)),
        }
    }

    fn actions(&self) -> &[ActionRecord] {
        self.inst.actions()
    }

    fn abi_version(&self) -> u32 {
        self.inst.abi_version()
    }
}

impl Drop for Profiled {
    fn drop(&mut self) {
        lock(&self.shared).profile = self.inst.take_fuel_profile();
    }
}

/// The fuel of every call, placed on the tape by the session's meter: the calls of a piece
/// of work belong to its tape event, or follow the last one (the venue's answers, timers).
#[derive(Default)]
struct CallFuel {
    shared: Arc<Mutex<Shared>>,
    events: u64,
    total: u64,
    /// Calls by the bit length of their fuel (bucket 0: no fuel).
    buckets: BTreeMap<u32, u64>,
    costliest: Vec<CostlyEvent>,
    last_tape_event: Option<u64>,
}

impl CallFuel {
    fn histogram(&self) -> Vec<FuelBucket> {
        self.buckets
            .iter()
            .map(|(&b, &events)| FuelBucket {
                from: if b == 0 { 0 } else { 1u64 << (b - 1) },
                to: 1u64.checked_shl(b).unwrap_or(u64::MAX),
                events,
            })
            .collect()
    }

    fn record(&mut self, e: CostlyEvent) {
        self.events += 1;
        self.total = self.total.saturating_add(e.fuel);
        *self.buckets.entry(u64::BITS - e.fuel.leading_zeros()).or_insert(0) += 1;
        let full = self.costliest.len() == COSTLIEST_KEPT;
        if full && self.costliest.last().is_some_and(|c| c.fuel >= e.fuel) {
            return;
        }
        // Costliest first; an equal fuel goes after those already kept (they came earlier).
        let at = self.costliest.partition_point(|c| c.fuel >= e.fuel);
        self.costliest.insert(at, e);
        self.costliest.truncate(COSTLIEST_KEPT);
    }
}

impl Meter for CallFuel {
    fn begin(&mut self, _: i64) -> u64 {
        0
    }

    fn end(&mut self, _: u64, w: Work) {
        let tape_event = (w.tape_event != u64::MAX).then_some(w.tape_event);
        let after_tape_event = if tape_event.is_some() { None } else { self.last_tape_event };
        if tape_event.is_some() {
            self.last_tape_event = tape_event;
        }
        let calls = std::mem::take(&mut lock(&self.shared).calls);
        for (fuel, kind, seq) in calls {
            let kind = lockstep_sdk::event_kind::name(kind);
            self.record(CostlyEvent { fuel, tape_event, after_tape_event, seq, kind });
        }
    }
}

/// Function names from a module's name section (or, without one, its export names),
/// demangled and made safe for folded stacks.
pub(crate) struct FunctionNames(BTreeMap<u32, String>);

impl FunctionNames {
    /// The names `wasm` gives its functions; a name section that does not parse gives none.
    pub(crate) fn of(wasm: &[u8]) -> Self {
        let mut names = BTreeMap::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            // Export names first: the name section, which comes later, overrides them.
            if let Ok(wasmparser::Payload::ExportSection(r)) = &payload {
                for e in r.clone().into_iter().flatten() {
                    if e.kind == wasmparser::ExternalKind::Func {
                        names.entry(e.index).or_insert_with(|| clean(e.name));
                    }
                }
                continue;
            }
            let Ok(wasmparser::Payload::CustomSection(c)) = payload else { continue };
            let wasmparser::KnownCustom::Name(reader) = c.as_known() else { continue };
            for name in reader.into_iter().flatten() {
                if let wasmparser::Name::Function(map) = name {
                    for n in map.into_iter().flatten() {
                        names.insert(n.index, clean(n.name));
                    }
                }
            }
        }
        Self(names)
    }

    pub(crate) fn name(&self, func: u32) -> String {
        self.0.get(&func).cloned().unwrap_or_else(|| format!("func[{func}]"))
    }
}

/// A function name as a profile shows it: a Rust symbol demangled (without its hash), and
/// no `;` (the stack separator), control characters or runaway length.
fn clean(raw: &str) -> String {
    let name = match rustc_demangle::try_demangle(raw) {
        Ok(d) => format!("{d:#}"),
        Err(_) => raw.to_owned(),
    };
    name.chars()
        .map(|c| match c {
            ';' => ',',
            c if c.is_control() => '?',
            c => c,
        })
        .take(MAX_NAME_CHARS)
        .collect()
}

/// Folded stacks: each stack's own fuel, stacks named alike merged, sorted by name.
fn folded(tree: &FuelProfile, names: &FunctionNames) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (n, node) in tree.nodes().iter().enumerate() {
        if node.self_fuel == 0 {
            continue;
        }
        let stack = tree.stack(n);
        let line = if stack.is_empty() {
            "(host)".to_owned()
        } else {
            stack.iter().map(|&f| names.name(f)).collect::<Vec<_>>().join(";")
        };
        let fuel = out.entry(line).or_insert(0u64);
        *fuel = fuel.saturating_add(node.self_fuel);
    }
    out
}

/// Each function's own fuel and its fuel with callees (a function on the stack twice, in a
/// recursion, counted once), costliest first.
fn function_fuel(tree: &FuelProfile, names: &FunctionNames) -> Vec<FunctionFuel> {
    let nodes = tree.nodes();
    // Fuel under each node, callees included: children come after their parents.
    let mut under: Vec<u64> = nodes.iter().map(|n| n.self_fuel).collect();
    for i in (1..nodes.len()).rev() {
        under[nodes[i].parent] = under[nodes[i].parent].saturating_add(under[i]);
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate().skip(1) {
        children[n.parent].push(i);
    }
    let mut by_func: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut on_stack: BTreeMap<u32, u32> = BTreeMap::new();
    // Depth-first, with the count of each function on the current stack.
    let mut todo: Vec<(usize, bool)> = vec![(0, true)];
    while let Some((i, entering)) = todo.pop() {
        let Some(f) = nodes[i].func else {
            todo.extend(children[i].iter().rev().map(|&c| (c, true)));
            continue;
        };
        let depth = on_stack.entry(f).or_insert(0);
        if entering {
            let e = by_func.entry(f).or_insert((0, 0));
            e.0 = e.0.saturating_add(nodes[i].self_fuel);
            if *depth == 0 {
                e.1 = e.1.saturating_add(under[i]);
            }
            *depth += 1;
            todo.push((i, false));
            todo.extend(children[i].iter().rev().map(|&c| (c, true)));
        } else {
            *depth -= 1;
        }
    }
    let mut out: Vec<FunctionFuel> = by_func
        .into_iter()
        .map(|(f, (self_fuel, total_fuel))| FunctionFuel {
            name: names.name(f),
            self_fuel,
            total_fuel,
        })
        .collect();
    out.sort_by(|a, b| {
        b.self_fuel
            .cmp(&a.self_fuel)
            .then(b.total_fuel.cmp(&a.total_fuel))
            .then(a.name.cmp(&b.name))
    });
    out
}

/// The flame graph of `folded`, drawn by inferno with colours from the names' hashes, so the
/// same profile gives the same bytes.
fn flamegraph(title: &str, folded: &BTreeMap<String, u64>) -> Result<Vec<u8>, ProfileError> {
    let lines: Vec<String> = folded.iter().map(|(s, f)| format!("{s} {f}")).collect();
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_owned();
    options.count_name = "fuel".to_owned();
    options.deterministic = true;
    let mut svg = Vec::new();
    if lines.is_empty() {
        options.subtitle = Some("no fuel was spent".to_owned());
    }
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)
        .map_err(|e| ProfileError::Flamegraph(e.to_string()))?;
    Ok(svg)
}

/// The profile in speedscope's file format: one sampled profile whose samples are the folded
/// stacks, weighted by their fuel.
fn speedscope(title: &str, folded: &BTreeMap<String, u64>, total: u64) -> Vec<u8> {
    #[derive(Serialize)]
    struct Frame<'a> {
        name: &'a str,
    }
    let mut frames: BTreeMap<&str, usize> = BTreeMap::new();
    for stack in folded.keys() {
        for name in stack.split(';') {
            let next = frames.len();
            frames.entry(name).or_insert(next);
        }
    }
    let mut shared: Vec<(&str, usize)> = frames.iter().map(|(n, i)| (*n, *i)).collect();
    shared.sort_by_key(|(_, i)| *i);
    let samples: Vec<Vec<usize>> =
        folded.keys().map(|s| s.split(';').map(|n| frames[n]).collect()).collect();
    let doc = serde_json::json!({
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "exporter": "lockstep replay profile",
        "name": title,
        "activeProfileIndex": 0,
        "shared": { "frames": shared.iter().map(|(name, _)| Frame { name }).collect::<Vec<_>>() },
        "profiles": [{
            "type": "sampled",
            "name": title,
            "unit": "none",
            "startValue": 0,
            "endValue": total,
            "samples": samples,
            "weights": folded.values().collect::<Vec<_>>(),
        }],
    });
    let mut out = serde_json::to_vec(&doc).unwrap_or_default();
    out.push(b'\n');
    out
}
