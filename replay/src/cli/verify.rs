//! `replay verify`: the same replay in separate processes pinned on different cores, and in
//! parallel threads in one process, on one tier or (`--tiers`) on both; every strategy's
//! `digest` and its `fuel_digest` must be the same everywhere (modules meter their own fuel, so
//! fuel is the same on both tiers).

use super::output::{Text, cores, open_source, pin, print_json, say};
use super::{ReplayArgs, VerifyArgs};
use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lockstep_engine::Tier;
use lockstep_host::HostSession;
use lockstep_host::{StrategySpec, TracedEvent, first_divergence, trace_path};
use lockstep_sim::{NoMeter, Session, SessionCheckpoint, SessionConfig, combine, hex};
use serde::Serialize;
use serde_json::Value;
use std::io::IsTerminal;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

/// One configuration's result: a label and each strategy's digest.
struct RunResult {
    label: String,
    kind: &'static str,
    tier: Tier,
    cores: Vec<usize>,
    digests: Vec<[u8; 32]>,
    fuel_digests: Vec<[u8; 32]>,
    events: u64,
}

fn parse_digest(v: &Value) -> Result<[u8; 32]> {
    let s = v.as_str().ok_or_else(|| anyhow!("digest is not a string"))?;
    let mut out = [0u8; 32];
    if s.len() != 64 {
        bail!("digest {s:?} is not 64 hex digits");
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
            .with_context(|| format!("digest {s:?}"))?;
    }
    Ok(out)
}

/// Runs `replay run --json` in a child process pinned on `core`.
fn child_run(replay: &ReplayArgs, core: usize, out: &Path, trace: Option<&Path>) -> Result<Value> {
    let exe =
        std::env::current_exe().context("cannot find the replay executable to start child runs")?;
    let mut cmd = Command::new(&exe);
    let config = serde_json::to_string(replay).context("serialising the replay options")?;
    cmd.arg("run")
        .arg("--json")
        .arg("--replay-config")
        .arg(config)
        .arg("--core")
        .arg(core.to_string())
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = trace {
        cmd.arg("--trace").arg(t);
    }
    let o = cmd.output().with_context(|| format!("starting {}", exe.display()))?;
    if !o.status.success() {
        bail!(
            "child run on core {core} failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    serde_json::from_slice(&o.stdout).context("child run printed invalid JSON")
}

/// The settings of a thread run: `replay`'s tier, fuel and exchange, the rest the defaults
/// (as fast as possible, latency measured, no book digest, no blotter).
fn session_config(replay: &ReplayArgs) -> Result<SessionConfig> {
    Ok(SessionConfig {
        tier: replay.tier,
        fuel_per_event: replay.options().fuel()?,
        exchange: replay.exchange()?,
        ..SessionConfig::default()
    })
}

/// One thread's result: the digest, the fuel digest and the events replayed.
type ThreadRun = ([u8; 32], [u8; 32], u64);

/// Runs each strategy alone in its own thread, all at once, each pinned on its own core.
fn thread_run(
    replay: &ReplayArgs,
    specs: &[StrategySpec],
    cores: &[usize],
    trace: Option<&Path>,
) -> Result<Vec<ThreadRun>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let core = cores.get((i + 1) % cores.len().max(1)).copied();
                scope.spawn(move || -> Result<ThreadRun> {
                    if let Some(c) = core {
                        pin(c)?;
                    }
                    let mut src = open_source(replay)?;
                    let header = src.header().clone();
                    let cfg = session_config(replay)?;
                    let one = std::slice::from_ref(spec);
                    let session = Session::load_traced(&header, one, cfg, trace)?;
                    let out = session.run(&mut *src, &mut |_| {})?;
                    Ok((out.report.digest, out.report.fuel_digest, out.report.events))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("a replay thread panicked"))?)
            .collect()
    })
}

/// One side of the first diverging event.
#[derive(Serialize)]
struct TracedJson {
    seq: u64,
    fuel: u64,
    event: String,
    actions: Vec<String>,
}

impl TracedJson {
    fn new(t: &TracedEvent) -> Self {
        Self {
            seq: t.seq,
            fuel: t.fuel,
            event: format!("{:?}", t.event),
            actions: t.actions.iter().map(|a| format!("{a:?}")).collect(),
        }
    }
}

/// Where two configurations first disagreed (`reproduced: false`: a rerun did not).
#[derive(Serialize)]
struct DivergenceJson {
    strategy: String,
    run_a: String,
    run_b: String,
    reproduced: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    fuel_compared: Option<bool>,
    /// The runs already differ in `init` (`a` and `b` are then the `init` calls).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    in_init: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    a: Option<Option<TracedJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    b: Option<Option<TracedJson>>,
}

/// Reruns one strategy alone in the two configurations that disagreed, with tracing, and
/// finds the first event where they differ.
fn find_divergence(
    replay: &ReplayArgs,
    spec: &StrategySpec,
    arg: &str,
    a: &RunResult,
    b: &RunResult,
    dir: &Path,
) -> Result<DivergenceJson> {
    let mut alone = replay.clone();
    alone.strategies = vec![arg.to_owned()];
    alone.params = vec![spec.params.clone()];
    let mut traces = Vec::new();
    for (n, r) in [a, b].into_iter().enumerate() {
        alone.tier = r.tier;
        let tdir = dir.join(format!("trace-{n}"));
        std::fs::create_dir_all(&tdir).with_context(|| format!("creating {}", tdir.display()))?;
        if r.kind == "process" {
            child_run(&alone, r.cores[0], &dir.join(format!("trace-run-{n}")), Some(&tdir))?;
        } else {
            thread_run(&alone, std::slice::from_ref(spec), &r.cores, Some(&tdir))?;
        }
        traces.push(trace_path(&tdir, 0, &spec.name));
    }
    // Modules meter their own fuel: it must agree across tiers too.
    let d = first_divergence(&traces[0], &traces[1], true)?;
    Ok(DivergenceJson {
        strategy: spec.name.clone(),
        run_a: a.label.clone(),
        run_b: b.label.clone(),
        reproduced: d.is_some(),
        fuel_compared: d.as_ref().map(|_| true),
        in_init: d.as_ref().is_some_and(|d| d.in_init),
        event_index: d.as_ref().map(|d| d.index),
        a: d.as_ref().map(|d| d.a.as_ref().map(TracedJson::new)),
        b: d.as_ref().map(|d| d.b.as_ref().map(TracedJson::new)),
    })
}

pub(crate) fn verify(a: &VerifyArgs, json: bool) -> Result<ExitCode> {
    let all: Vec<&str> = lockstep_strategies::names().collect();
    let specs = a.replay.specs(&all)?;
    let mut replay = a.replay.clone();
    if replay.strategies.is_empty() {
        replay.strategies = all.iter().map(|s| (*s).to_owned()).collect();
    }
    let args: Vec<String> = replay.strategies.clone();
    let tiers: Vec<Tier> = if a.tiers { Tier::ALL.to_vec() } else { vec![replay.tier] };
    let runs = all_runs(a, &mut replay, &specs, &tiers, json)?;
    let mismatch = first_mismatch(&specs, &runs);
    let complete = runs.iter().all(|r| r.digests.len() == specs.len());
    let identical = mismatch.is_none() && complete;
    // A resumed run that differs is named by its label; tracing reruns straight runs only.
    let divergence = match mismatch {
        Some((i, x, r)) if r.kind != "resumed" => Some(find_divergence(
            &replay,
            &specs[i],
            &args[i],
            x,
            r,
            &a.out.join("verify-divergence"),
        )?),
        _ => None,
    };
    let verdict = Verdict {
        specs: &specs,
        tiers: &tiers,
        runs: &runs,
        differs: mismatch.map(|m| m.0),
        identical,
        divergence,
    };
    let mut o = Text::default();
    if json {
        verdict.print_json()?;
    } else {
        verdict.say(&mut o)?;
    }
    o.emit()?;
    Ok(if identical { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Every configuration's run: on each tier, `--runs` child processes on the cores in turn,
/// then one process running each strategy in its own thread; progress goes to stderr (not
/// with `--json`).
fn all_runs(
    a: &VerifyArgs,
    replay: &mut ReplayArgs,
    specs: &[StrategySpec],
    tiers: &[Tier],
    json: bool,
) -> Result<Vec<RunResult>> {
    let mut cores = cores();
    if cores.is_empty() {
        cores.push(0);
    }
    let pb = spinner((a.runs + 1) * tiers.len() as u64);
    let say = |s: String| {
        if !json {
            pb.suspend(|| eprintln!("{s}"));
        }
    };
    let mut runs: Vec<RunResult> = Vec::new();
    let thread_cores: Vec<usize> = (0..specs.len()).map(|i| cores[(i + 1) % cores.len()]).collect();
    for &tier in tiers {
        replay.tier = tier;
        for k in 0..a.runs as usize {
            let core = cores[k % cores.len()];
            pb.set_message(format!("{tier} process run {k} on core {core}"));
            let r = process_run(replay, k, core, &a.out)?;
            say(format!(
                "{}: {} strategies, digest {}",
                r.label,
                r.digests.len(),
                hex(&combined(&r.digests))
            ));
            runs.push(r);
        }
        pb.set_message(format!("{tier}: {} strategies in parallel threads", specs.len()));
        let t = thread_run(replay, specs, &cores, None)?;
        let r = RunResult {
            label: format!(
                "{tier}: {} threads in one process on cores {thread_cores:?}",
                specs.len()
            ),
            kind: "threads",
            tier,
            cores: thread_cores.clone(),
            digests: t.iter().map(|(d, _, _)| *d).collect(),
            fuel_digests: t.iter().map(|(_, f, _)| *f).collect(),
            events: t.first().map_or(0, |(_, _, e)| *e),
        };
        say(format!("{}: digest {}", r.label, hex(&combined(&r.digests))));
        runs.push(r);
    }
    if let Some(at) = a.resume_at {
        for &first in tiers {
            for &second in tiers {
                pb.set_message(format!("checkpoint at event {at} on {first}, resumed on {second}"));
                let r = resumed_run(replay, specs, at, (first, second))?;
                say(format!("{}: digest {}", r.label, hex(&combined(&r.digests))));
                runs.push(r);
            }
        }
    }
    pb.finish_and_clear();
    Ok(runs)
}

/// All strategies in one session, stopped after `at` tape events and checkpointed on
/// `first`, then resumed from the checkpoint's bytes on `second`.
fn resumed_run(
    replay: &ReplayArgs,
    specs: &[StrategySpec],
    at: u64,
    (first, second): (Tier, Tier),
) -> Result<RunResult> {
    let mut src = open_source(replay)?;
    let header = src.header().clone();
    let mut cfg = session_config(replay)?;
    cfg.tier = first;
    let mut session = Session::load(&header, specs, cfg.clone())?;
    session.stop_at(at);
    session.feed(&mut *src, &mut |_| {}, &mut NoMeter)?;
    if session.events() < at {
        bail!("--resume-at {at}: the source has only {} events", session.events());
    }
    let bytes = session.checkpoint(&[])?;
    drop(session);
    cfg.tier = second;
    let ck = SessionCheckpoint::decode(&bytes)?;
    let mut src = open_source(replay)?;
    let out = Session::resume(&header, specs, cfg, ck)?.run(&mut *src, &mut |_| {})?;
    let report = &out.report.strategies;
    Ok(RunResult {
        label: format!("checkpoint at event {at} on {first}, resumed on {second}"),
        kind: "resumed",
        tier: second,
        cores: Vec::new(),
        digests: report.iter().map(|s| s.digest).collect(),
        fuel_digests: report.iter().map(|s| s.fuel_digest).collect(),
        events: out.report.events,
    })
}

/// Child process run `k` on `core` (on `replay`'s tier), its digests read from its JSON.
fn process_run(replay: &ReplayArgs, k: usize, core: usize, out: &Path) -> Result<RunResult> {
    let tier = replay.tier;
    let dir = out.join(format!("verify-{tier}-run-{k}"));
    let v = child_run(replay, core, &dir, None)?;
    let list =
        v["strategies"].as_array().ok_or_else(|| anyhow!("child run reported no strategies"))?;
    let field =
        |name: &str| list.iter().map(|s| parse_digest(&s[name])).collect::<Result<Vec<_>>>();
    Ok(RunResult {
        label: format!("{tier} process {k} on core {core}"),
        kind: "process",
        tier,
        cores: vec![core],
        digests: field("digest")?,
        fuel_digests: field("fuel_digest")?,
        events: v["events"].as_u64().unwrap_or(0),
    })
}

/// The first strategy (by index) whose digest or fuel digest differs from the first run's: the
/// strategy, the run to compare with and the run that differs.
fn first_mismatch<'r>(
    specs: &[StrategySpec],
    runs: &'r [RunResult],
) -> Option<(usize, &'r RunResult, &'r RunResult)> {
    let first = &runs[0];
    for i in 0..specs.len() {
        for r in &runs[1..] {
            if r.digests.get(i) != first.digests.get(i)
                || r.fuel_digests.get(i) != first.fuel_digests.get(i)
            {
                return Some((i, first, r));
            }
        }
    }
    None
}

/// What `verify` found: the runs, and where they first differ.
struct Verdict<'a> {
    specs: &'a [StrategySpec],
    tiers: &'a [Tier],
    runs: &'a [RunResult],
    /// The index of the first strategy that differs.
    differs: Option<usize>,
    identical: bool,
    divergence: Option<DivergenceJson>,
}

impl Verdict<'_> {
    /// The first run on `tier` (the first run of all when none is).
    fn tier_run(&self, tier: Tier) -> &RunResult {
        self.runs.iter().find(|r| r.tier == tier).unwrap_or(&self.runs[0])
    }

    /// Prints `verify --json`.
    fn print_json(&self) -> Result<()> {
        let first = &self.runs[0];
        let run = |r: &RunResult| RunJson {
            kind: r.kind,
            tier: r.tier.name(),
            label: r.label.clone(),
            fuel_digest: hex(&combined(&r.fuel_digests)),
            cores: r.cores.clone(),
            digest: hex(&combined(&r.digests)),
            events: r.events,
            strategies: self
                .specs
                .iter()
                .zip(&r.digests)
                .map(|(s, d)| NamedDigest { name: s.name.clone(), digest: hex(d) })
                .collect(),
        };
        print_json(&VerifyJson {
            command: "verify",
            identical: self.identical,
            digest: hex(&combined(&first.digests)),
            tiers: self.tiers.iter().map(|t| t.name()).collect(),
            fuel_digests: self
                .tiers
                .iter()
                .map(|t| TierFuel {
                    tier: t.name(),
                    fuel_digest: hex(&combined(&self.tier_run(*t).fuel_digests)),
                })
                .collect(),
            events: first.events,
            strategies: self.specs.iter().map(|s| s.name.clone()).collect(),
            runs: self.runs.iter().map(run).collect(),
            divergence: self.divergence.as_ref(),
        })
    }

    /// The text output: each strategy's digest and whether every run agreed, then the
    /// verdict (with the divergence found, if any).
    fn say(&self, o: &mut Text) -> Result<()> {
        let first = &self.runs[0];
        say!(
            o,
            "{} events, {} strategies, {} configurations",
            first.events,
            self.specs.len(),
            self.runs.len()
        );
        for (i, s) in self.specs.iter().enumerate() {
            let same = self.differs.is_none_or(|j| j != i)
                && self.runs.iter().all(|r| r.digests.get(i) == first.digests.get(i));
            say!(
                o,
                "  {:<20} {}  {}",
                s.name,
                hex(&first.digests[i]),
                if same { "identical" } else { "DIFFERS" }
            );
        }
        if self.identical {
            say!(o, "identical: every run produced digest {}", hex(&combined(&first.digests)));
            for t in self.tiers {
                say!(
                    o,
                    "  {t} tier: every run produced fuel digest {}",
                    hex(&combined(&self.tier_run(*t).fuel_digests))
                );
            }
        } else {
            say!(o, "NOT identical");
            if let Some(d) = &self.divergence {
                say!(o, "{}", serde_json::to_string_pretty(d)?);
            }
        }
        Ok(())
    }
}

fn combined(d: &[[u8; 32]]) -> [u8; 32] {
    match d {
        [one] => *one,
        _ => combine(d.iter()),
    }
}

/// A progress bar over the configurations, on stderr when it is a terminal.
fn spinner(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} ({elapsed})") {
        pb.set_style(style);
    }
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    pb
}

/// `verify --json`.
#[derive(Serialize)]
struct VerifyJson<'a> {
    command: &'static str,
    identical: bool,
    digest: String,
    tiers: Vec<&'static str>,
    fuel_digests: Vec<TierFuel>,
    events: u64,
    strategies: Vec<String>,
    runs: Vec<RunJson>,
    divergence: Option<&'a DivergenceJson>,
}

#[derive(Serialize)]
struct TierFuel {
    tier: &'static str,
    fuel_digest: String,
}

/// One configuration's result.
#[derive(Serialize)]
struct RunJson {
    kind: &'static str,
    tier: &'static str,
    label: String,
    fuel_digest: String,
    cores: Vec<usize>,
    digest: String,
    events: u64,
    strategies: Vec<NamedDigest>,
}

#[derive(Serialize)]
struct NamedDigest {
    name: String,
    digest: String,
}
