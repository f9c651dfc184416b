//! The isolation report: how well this machine keeps the OS away from a pinned core, read from
//! `/sys` and `/proc`, with a plain-language verdict and what to change.
//!
//! Every fact is optional: a file the kernel (or a VM) does not expose is reported as
//! "unknown (not exposed by this kernel/VM)", never as an error.

use crate::sys;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// Shown for any fact the machine does not expose.
pub const UNKNOWN: &str = "unknown (not exposed by this kernel/VM)";

/// Where facts come from: the real `/sys` and `/proc`, or canned text in tests.
pub(crate) trait Source {
    /// The trimmed contents of a file, or `None` when it cannot be read.
    fn read(&self, path: &str) -> Option<String>;
    /// `(irq number, smp_affinity_list)` for every IRQ under `/proc/irq`, or `None`.
    fn irqs(&self) -> Option<Vec<(u32, String)>>;
    /// The names of the CPU directories `cpuN` under `/sys/devices/system/cpu`.
    fn cpu_dirs(&self) -> Vec<usize>;
}

/// The live machine.
struct Live;

impl Source for Live {
    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
    }
    fn irqs(&self) -> Option<Vec<(u32, String)>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir("/proc/irq").ok()?.flatten() {
            let Some(n) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(a) = self.read(&format!("/proc/irq/{n}/smp_affinity_list")) {
                v.push((n, a));
            }
        }
        v.sort();
        Some(v)
    }
    fn cpu_dirs(&self) -> Vec<usize> {
        let mut v: Vec<usize> = std::fs::read_dir("/sys/devices/system/cpu")
            .map(|d| {
                d.flatten()
                    .filter_map(|e| {
                        e.file_name().to_str()?.strip_prefix("cpu")?.parse::<usize>().ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort_unstable();
        v
    }
}

/// CPU numbers a list may name are below this (Linux's largest `NR_CPUS`): a list such as
/// `0-4294967295` is refused instead of allocating billions of entries.
pub const MAX_CPUS: usize = 8192;

/// Parses a kernel CPU list such as `0-3,8,10-11` (empty text is an empty list).
///
/// Returns `None` for malformed text or a CPU number of [`MAX_CPUS`] or more.
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    let cpu = |t: &str| t.parse::<usize>().ok().filter(|&c| c < MAX_CPUS);
    for part in text.trim().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        // Ranges may carry a stride (`0-7:2`) in newer kernels.
        let (range, stride) = match part.split_once(':') {
            Some((r, s)) => (r, s.parse::<usize>().ok().filter(|&s| s > 0)?),
            None => (part, 1),
        };
        match range.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (cpu(a)?, cpu(b)?);
                if b < a {
                    return None;
                }
                out.extend((a..=b).step_by(stride));
            }
            None => out.push(cpu(range)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// Formats CPUs as a kernel CPU list (`0-3,8`).
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        parts.push(if j == i { cpus[i].to_string() } else { format!("{}-{}", cpus[i], cpus[j]) });
        i = j + 1;
    }
    parts.join(",")
}

/// The isolation-related kernel command-line parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cmdline {
    /// `isolcpus=` (flags such as `domain,managed_irq,` removed).
    pub isolcpus: Option<String>,
    /// `nohz_full=`.
    pub nohz_full: Option<String>,
    /// `rcu_nocbs=`.
    pub rcu_nocbs: Option<String>,
    /// `irqaffinity=`.
    pub irqaffinity: Option<String>,
    /// `nosmt` present.
    pub nosmt: bool,
    /// `idle=` (e.g. `poll`).
    pub idle: Option<String>,
    /// `processor.max_cstate=` or `intel_idle.max_cstate=`.
    pub max_cstate: Option<String>,
}

/// Extracts the isolation-related parameters from `/proc/cmdline` text.
pub fn parse_cmdline(text: &str) -> Cmdline {
    let mut c = Cmdline::default();
    for tok in text.split_whitespace() {
        if tok == "--" {
            break; // the rest goes to init, not the kernel
        }
        let (k, v) = tok.split_once('=').unwrap_or((tok, ""));
        let v = v.to_owned();
        match k {
            "isolcpus" => {
                // `isolcpus=nohz,domain,managed_irq,2-3`: keep the CPU list, drop the flags.
                let cpus: Vec<&str> = v
                    .split(',')
                    .filter(|p| p.starts_with(|ch: char| ch.is_ascii_digit()))
                    .collect();
                c.isolcpus = Some(cpus.join(","));
            }
            "nohz_full" => c.nohz_full = Some(v),
            "rcu_nocbs" => c.rcu_nocbs = Some(v),
            "irqaffinity" => c.irqaffinity = Some(v),
            "nosmt" => c.nosmt = true,
            "idle" => c.idle = Some(v),
            "processor.max_cstate" | "intel_idle.max_cstate" => c.max_cstate = Some(v),
            _ => {}
        }
    }
    c
}

// What the report says, kept here so the logic below stays readable.
const NO_NOHZ: &str =
    "not set: the scheduler tick interrupts every CPU (typically 250-1000 times a second)";
const SMT_ON: &str = "on: a sibling hyperthread can steal the pinned core's execution units";
const SMT_ADVICE: &str = "add `nosmt` to the kernel command line (or `echo off > \
    /sys/devices/system/cpu/smt/control`), or keep the siblings of strategy cores idle";
const GOVERNOR_ADVICE: &str = "`cpupower frequency-set -g performance` (and disable deep C-states: \
    `processor.max_cstate=1 intel_idle.max_cstate=0`)";
const THP_ALWAYS: &str = "always: khugepaged and compaction can stall any allocation or page fault";
const THP_ADVICE: &str = "`echo madvise > /sys/kernel/mm/transparent_hugepage/enabled` (or \
    `transparent_hugepage=madvise` on the command line)";
const MEMLOCK_ADVICE: &str = "`ulimit -l unlimited` (or `memlock unlimited` in \
    /etc/security/limits.conf) for the trading user";
const RT_THROTTLE_ADVICE: &str = "a SCHED_FIFO busy loop is paused for 50 ms each second \
    unless `sysctl kernel.sched_rt_runtime_us=-1`; on isolated CPUs plain SCHED_OTHER is enough";
const RT_ADVICE: &str = "grant CAP_SYS_NICE or `rtprio 99` in /etc/security/limits.conf if \
    strategies should run SCHED_FIFO";
const VM_DETAIL: &str =
    "running under a hypervisor: the host can deschedule a vCPU at any moment (steal time)";
const VM_ADVICE: &str = "no guest setting removes this: pin the vCPUs to dedicated host cores, \
    or measure on bare metal";

/// Facts gathered at run time rather than read from files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Runtime {
    /// CPUs this process may run on (its affinity mask).
    pub(crate) allowed: Vec<usize>,
    /// RLIMIT_MEMLOCK.
    pub(crate) memlock: Option<sys::Limit>,
    /// RLIMIT_RTPRIO.
    pub(crate) rtprio: Option<sys::Limit>,
    /// Highest SCHED_FIFO priority.
    pub(crate) fifo_max: Option<i32>,
    /// Result of switching a throwaway thread to SCHED_FIFO.
    pub(crate) fifo_attempt: Result<(), String>,
    /// Effective user id is 0.
    pub(crate) root: bool,
}

impl Runtime {
    fn probe() -> Self {
        let allowed = core_affinity::get_core_ids()
            .map(|v| v.into_iter().map(|c| c.id).collect())
            .unwrap_or_default();
        let fifo_attempt = std::thread::Builder::new()
            .name("rt-probe".into())
            .spawn(|| sys::try_sched_fifo_on_this_thread().map_err(|e| e.to_string()))
            .map_err(|e| e.to_string())
            .and_then(|h| h.join().unwrap_or_else(|_| Err("probe thread panicked".into())));
        Self {
            allowed,
            memlock: sys::memlock_limit(),
            rtprio: sys::rtprio_limit(),
            fifo_max: sys::fifo_max_priority(),
            fifo_attempt,
            root: std::env::var("USER").is_ok_and(|u| u == "root")
                || std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
                    s.lines()
                        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
                }),
        }
    }
}

/// How one aspect of the machine looks for low-latency work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// As it should be.
    Good,
    /// Worth knowing; does not block isolation.
    Info,
    /// Will cost tail latency.
    Warn,
    /// Defeats isolation.
    Bad,
    /// Not exposed here.
    Unknown,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Good => "ok",
            Status::Info => "info",
            Status::Warn => "warn",
            Status::Bad => "BAD",
            Status::Unknown => "unknown",
        }
    }
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What was checked, e.g. `isolated CPUs`.
    pub topic: &'static str,
    /// The judgement.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to change, when something should change.
    pub advice: Option<String>,
}

/// The overall judgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Dedicated CPUs exist, with ticks, RCU callbacks and IRQs kept away.
    Isolated,
    /// Dedicated CPUs exist but something still reaches them.
    PartiallyIsolated,
    /// No CPU is reserved: any task or interrupt may run on the measurement core.
    NotIsolated,
}

impl Verdict {
    /// Upper-case label used in summaries.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Isolated => "ISOLATED",
            Verdict::PartiallyIsolated => "PARTIALLY ISOLATED",
            Verdict::NotIsolated => "NOT ISOLATED",
        }
    }
}

/// The full isolation report.
#[derive(Clone, Debug)]
pub struct SysInfo {
    /// Raw facts, by name (`None` = not exposed).
    pub facts: BTreeMap<&'static str, Option<String>>,
    /// Judgements, in report order.
    pub findings: Vec<Finding>,
    /// The overall verdict.
    pub verdict: Verdict,
    /// One line for the head of every measurement report.
    pub summary: String,
    /// CPUs we suggest (or that already are) dedicated to strategies.
    pub suggested_cpus: Vec<usize>,
}

/// Reads the live machine and judges it.
pub fn collect() -> SysInfo {
    assess(&Live, &Runtime::probe())
}

/// The CPUs to dedicate when none are: all but CPU 0 on 2–3 CPUs, all but CPUs 0–1 beyond.
fn suggest(online: &[usize]) -> Vec<usize> {
    match online.len() {
        0 | 1 => Vec::new(),
        2 | 3 => online[1..].to_vec(),
        _ => online[2..].to_vec(),
    }
}

/// Whether two CPU lists share a CPU.
fn intersects(a: &[usize], b: &[usize]) -> bool {
    a.iter().any(|x| b.contains(x))
}

/// The report as it is built: raw facts by name and findings in report order.
#[derive(Default)]
struct Draft {
    facts: BTreeMap<&'static str, Option<String>>,
    findings: Vec<Finding>,
}

impl Draft {
    /// Records a raw fact (`None` = not exposed).
    fn fact(&mut self, name: &'static str, value: Option<String>) {
        self.facts.insert(name, value);
    }
    /// Appends one judgement, in the order the report shows them.
    fn add(&mut self, topic: &'static str, status: Status, detail: String, advice: Option<String>) {
        self.findings.push(Finding { topic, status, detail, advice });
    }
}

/// The CPU layout every later check is judged against.
struct Cpus {
    /// Online CPUs.
    online: Vec<usize>,
    /// Isolated CPUs (`None` = not exposed).
    isolated: Option<Vec<usize>>,
    /// CPUs dedicated (or suggested) for strategies.
    suggested: Vec<usize>,
    /// `suggested` as a CPU list.
    sl: String,
    /// The online CPUs left for the OS, as a CPU list.
    housekeeping: String,
    /// Some CPU is isolated.
    have_isolated: bool,
    /// The isolation parameters of the kernel command line.
    cmd: Cmdline,
    /// `/proc/cmdline` (`None` = not exposed).
    cmdline_text: Option<String>,
}

impl Cpus {
    /// Whether CPU list `v` covers every dedicated CPU (only meaningful once some are isolated).
    fn covers(&self, v: Option<&[usize]>) -> bool {
        self.have_isolated && v.is_some_and(|n| self.suggested.iter().all(|c| n.contains(c)))
    }
    /// How bad a missing protection is: it costs tail latency on isolated CPUs and defeats
    /// isolation otherwise.
    fn shortfall(&self) -> Status {
        if self.have_isolated { Status::Warn } else { Status::Bad }
    }
}

/// Gathers facts from `src` and judges them.
pub(crate) fn assess(src: &impl Source, rt: &Runtime) -> SysInfo {
    let mut d = Draft::default();
    let cpus = check_isolated(src, rt, &mut d);
    check_nohz(src, &cpus, &mut d);
    check_rcu(&cpus, &mut d);
    check_smt(src, &mut d);
    let govs = check_governor(src, &cpus.online, &mut d);
    check_clocksource(src, &mut d);
    check_thp(src, &mut d);
    check_irqs(src, &cpus, &mut d);
    check_memlock(rt, &mut d);
    check_realtime(src, rt, &mut d);
    let hyper = check_cpu_flags(src, &mut d);
    let verdict = judge(cpus.have_isolated, &d.findings);
    let summary = summarise(verdict, &cpus, &d.facts, &govs, hyper);
    let Draft { facts, findings } = d;
    SysInfo { facts, findings, verdict, summary, suggested_cpus: cpus.suggested }
}

/// Online, allowed and isolated CPUs and the command line: the layout the other checks use.
fn check_isolated(src: &impl Source, rt: &Runtime, d: &mut Draft) -> Cpus {
    let rd = |p: &str| src.read(p);
    let online = rd("/sys/devices/system/cpu/online")
        .and_then(|s| parse_cpu_list(&s))
        .unwrap_or_else(|| src.cpu_dirs());
    d.fact("online_cpus", Some(format_cpu_list(&online)));
    d.fact("allowed_cpus", Some(format_cpu_list(&rt.allowed)));
    let cmdline_text = rd("/proc/cmdline");
    let cmd = cmdline_text.as_deref().map(parse_cmdline).unwrap_or_default();
    d.fact("kernel", rd("/proc/sys/kernel/osrelease"));
    d.fact("cmdline", cmdline_text.clone());

    // Isolated CPUs: sysfs first (what the kernel actually did), the command line as fallback.
    let isolated_raw = rd("/sys/devices/system/cpu/isolated");
    let isolated: Option<Vec<usize>> = match (&isolated_raw, &cmd.isolcpus) {
        (Some(s), _) => parse_cpu_list(s),
        (None, Some(s)) => parse_cpu_list(s),
        (None, None) => None,
    };
    d.fact("isolated_cpus", isolated.as_ref().map(|v| format_cpu_list(v)));
    let suggested = match &isolated {
        Some(v) if !v.is_empty() => v.clone(),
        _ => suggest(&online),
    };
    let housekeeping = format_cpu_list(
        &online.iter().copied().filter(|c| !suggested.contains(c)).collect::<Vec<_>>(),
    );
    let cpus = Cpus {
        sl: format_cpu_list(&suggested),
        have_isolated: isolated.as_ref().is_some_and(|v| !v.is_empty()),
        online,
        isolated,
        suggested,
        housekeeping,
        cmd,
        cmdline_text,
    };
    judge_isolated(&cpus, d);
    cpus
}

/// The `isolated CPUs` finding, with the command line that would isolate the suggested CPUs.
fn judge_isolated(cpus: &Cpus, d: &mut Draft) {
    let Cpus { online, sl, housekeeping, .. } = cpus;
    let cmdline_advice = if cpus.suggested.is_empty() {
        "this machine has a single CPU: isolation is impossible; use a machine with at least 2"
            .to_owned()
    } else {
        format!(
            "add `isolcpus={sl} nohz_full={sl} rcu_nocbs={sl} irqaffinity={housekeeping}` to \
             the kernel command line, reboot, and pin strategies to CPU {sl}"
        )
    };
    match &cpus.isolated {
        Some(v) if !v.is_empty() => d.add(
            "isolated CPUs",
            Status::Good,
            format!("{} of {} online CPUs isolated: {}", v.len(), online.len(), format_cpu_list(v)),
            None,
        ),
        Some(_) => d.add(
            "isolated CPUs",
            Status::Bad,
            format!(
                "none of {} online CPUs is isolated: the scheduler may put any task on a \
                 measurement core",
                online.len()
            ),
            Some(cmdline_advice),
        ),
        None => d.add("isolated CPUs", Status::Unknown, UNKNOWN.into(), Some(cmdline_advice)),
    }
}

/// nohz_full: stops the scheduler tick on CPUs running one task.
fn check_nohz(src: &impl Source, cpus: &Cpus, d: &mut Draft) {
    let sl = &cpus.sl;
    let nohz_raw =
        src.read("/sys/devices/system/cpu/nohz_full").or_else(|| cpus.cmd.nohz_full.clone());
    let nohz = nohz_raw
        .as_deref()
        .and_then(|s| if s == "(null)" { Some(Vec::new()) } else { parse_cpu_list(s) });
    d.fact("nohz_full", nohz.as_ref().map(|v| format_cpu_list(v)));
    if cpus.covers(nohz.as_deref()) {
        d.add(
            "nohz_full",
            Status::Good,
            format!("tick stopped on {}", format_cpu_list(nohz.as_deref().unwrap_or_default())),
            None,
        );
        return;
    }
    let detail = match &nohz {
        Some(v) if !v.is_empty() => {
            format!("nohz_full={} does not cover CPU {sl}", format_cpu_list(v))
        }
        _ if nohz_raw.is_some() || cpus.cmdline_text.is_some() => NO_NOHZ.into(),
        _ => UNKNOWN.into(),
    };
    d.add(
        "nohz_full",
        cpus.shortfall(),
        detail,
        Some(format!("add `nohz_full={sl}` to the kernel command line")),
    );
}

/// rcu_nocbs: moves RCU callbacks off the isolated CPUs.
fn check_rcu(cpus: &Cpus, d: &mut Draft) {
    let sl = &cpus.sl;
    let rcu = cpus.cmd.rcu_nocbs.as_deref().and_then(parse_cpu_list);
    d.fact("rcu_nocbs", rcu.as_ref().map(|v| format_cpu_list(v)));
    if cpus.covers(rcu.as_deref()) {
        d.add(
            "rcu_nocbs",
            Status::Good,
            format!(
                "RCU callbacks offloaded from {}",
                format_cpu_list(rcu.as_deref().unwrap_or_default())
            ),
            None,
        );
    } else if cpus.cmdline_text.is_none() {
        d.add("rcu_nocbs", Status::Unknown, UNKNOWN.into(), Some(format!("add `rcu_nocbs={sl}`")));
    } else {
        d.add(
            "rcu_nocbs",
            cpus.shortfall(),
            "not set for the dedicated CPUs: RCU callbacks run there".into(),
            Some(format!("add `rcu_nocbs={sl}` to the kernel command line")),
        );
    }
}

/// SMT: a sibling hyperthread shares the core's execution units and caches.
fn check_smt(src: &impl Source, d: &mut Draft) {
    let smt_active = src.read("/sys/devices/system/cpu/smt/active");
    d.fact("smt_active", smt_active.clone());
    d.fact("smt_control", src.read("/sys/devices/system/cpu/smt/control"));
    match smt_active.as_deref() {
        Some("0") => {
            d.add("SMT", Status::Good, "off: no hyperthread sibling shares a core".into(), None)
        }
        Some("1") => d.add("SMT", Status::Warn, SMT_ON.into(), Some(SMT_ADVICE.into())),
        _ => d.add("SMT", Status::Unknown, UNKNOWN.into(), None),
    }
}

/// The frequency governor of each online CPU; returns the CPUs by governor for the summary.
fn check_governor(
    src: &impl Source,
    online: &[usize],
    d: &mut Draft,
) -> BTreeMap<String, Vec<usize>> {
    let mut govs: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for cpu in online {
        let path = format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor");
        if let Some(g) = src.read(&path) {
            govs.entry(g).or_default().push(*cpu);
        }
    }
    let gov_text = (!govs.is_empty()).then(|| {
        govs.iter()
            .map(|(g, c)| format!("{g} on {}", format_cpu_list(c)))
            .collect::<Vec<_>>()
            .join(", ")
    });
    d.fact("scaling_governor", gov_text.clone());
    match gov_text {
        None => d.add(
            "frequency governor",
            Status::Unknown,
            format!("{UNKNOWN}; in a VM the host decides"),
            None,
        ),
        Some(t) if govs.len() == 1 && govs.contains_key("performance") => {
            d.add("frequency governor", Status::Good, t, None)
        }
        Some(t) => d.add(
            "frequency governor",
            Status::Warn,
            format!("{t}: the clock speed changes under load, stretching the tail"),
            Some(GOVERNOR_ADVICE.into()),
        ),
    }
    govs
}

/// The clocksource: whether a clock read stays in user space.
fn check_clocksource(src: &impl Source, d: &mut Draft) {
    let cs = src.read("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    d.fact("clocksource", cs.clone());
    d.fact(
        "available_clocksources",
        src.read("/sys/devices/system/clocksource/clocksource0/available_clocksource"),
    );
    match cs.as_deref() {
        Some("tsc") => d.add(
            "clocksource",
            Status::Good,
            "tsc: clock reads stay in user space and cost nanoseconds".into(),
            None,
        ),
        Some(c @ ("kvm-clock" | "hyperv_clocksource_tsc_page" | "arch_sys_counter")) => d.add(
            "clocksource",
            Status::Info,
            format!("{c}: readable from user space, a little slower than tsc"),
            Some("if the TSC is invariant, add `tsc=reliable clocksource=tsc`".into()),
        ),
        Some(c) => d.add(
            "clocksource",
            Status::Warn,
            format!("{c}: clock reads may enter the kernel (microseconds)"),
            Some("add `tsc=reliable clocksource=tsc` if the CPU has an invariant TSC".into()),
        ),
        None => d.add("clocksource", Status::Unknown, UNKNOWN.into(), None),
    }
}

/// Transparent huge pages: `always` lets compaction stall any allocation.
fn check_thp(src: &impl Source, d: &mut Draft) {
    let thp = src.read("/sys/kernel/mm/transparent_hugepage/enabled").map(|s| selected(&s));
    d.fact("transparent_hugepage", thp.clone());
    d.fact(
        "transparent_hugepage_defrag",
        src.read("/sys/kernel/mm/transparent_hugepage/defrag").map(|s| selected(&s)),
    );
    match thp.as_deref() {
        Some("always") => d.add(
            "transparent huge pages",
            Status::Warn,
            THP_ALWAYS.into(),
            Some(THP_ADVICE.into()),
        ),
        Some(m) => d.add("transparent huge pages", Status::Good, m.to_string(), None),
        None => d.add("transparent huge pages", Status::Unknown, UNKNOWN.into(), None),
    }
}

/// IRQ affinity: which interrupts may fire on the dedicated CPUs.
fn check_irqs(src: &impl Source, cpus: &Cpus, d: &mut Draft) {
    let sl = &cpus.sl;
    d.fact("irq_default_affinity", src.read("/proc/irq/default_smp_affinity"));
    let Some(list) = src.irqs() else {
        d.add("IRQ affinity", Status::Unknown, UNKNOWN.into(), None);
        return;
    };
    let hitting: Vec<u32> = list
        .iter()
        .filter(|(_, a)| parse_cpu_list(a).is_some_and(|c| intersects(&c, &cpus.suggested)))
        .map(|(n, _)| *n)
        .collect();
    d.fact("irqs", Some(list.len().to_string()));
    d.fact("irqs_on_dedicated_cpus", Some(hitting.len().to_string()));
    if hitting.is_empty() {
        d.add(
            "IRQ affinity",
            Status::Good,
            format!("none of {} IRQs may fire on CPU {sl}", list.len()),
            None,
        );
        return;
    }
    let sample: Vec<String> = hitting.iter().take(8).map(u32::to_string).collect();
    let other = &cpus.housekeeping;
    d.add(
        "IRQ affinity",
        cpus.shortfall(),
        format!(
            "{} of {} IRQs may fire on CPU {sl} (e.g. {}{})",
            hitting.len(),
            list.len(),
            sample.join(", "),
            if hitting.len() > 8 { ", ..." } else { "" }
        ),
        Some(format!(
            "add `irqaffinity={other}` to the command line or write `{other}` to \
             /proc/irq/<n>/smp_affinity_list, and stop irqbalance"
        )),
    );
}

/// Memory locking: whether a strategy's memory can be locked against page faults.
fn check_memlock(rt: &Runtime, d: &mut Draft) {
    d.fact("rlimit_memlock", rt.memlock.map(|l| limit_text(l, "bytes")));
    match rt.memlock {
        _ if rt.root => d.add(
            "memory locking",
            Status::Good,
            "running as root: mlockall is permitted".into(),
            None,
        ),
        Some(sys::Limit { soft: None, .. }) => {
            d.add("memory locking", Status::Good, "RLIMIT_MEMLOCK unlimited".into(), None)
        }
        Some(sys::Limit { soft: Some(b), .. }) if b >= 1 << 30 => {
            d.add("memory locking", Status::Good, format!("RLIMIT_MEMLOCK {} MiB", b >> 20), None)
        }
        Some(l) => d.add(
            "memory locking",
            Status::Warn,
            format!(
                "RLIMIT_MEMLOCK {}: too small to lock \
            a strategy's memory; page faults can stall it",
                limit_text(l, "bytes")
            ),
            Some(MEMLOCK_ADVICE.into()),
        ),
        None => d.add("memory locking", Status::Unknown, UNKNOWN.into(), None),
    }
}

/// Real-time scheduling: whether SCHED_FIFO is permitted, and RT throttling.
fn check_realtime(src: &impl Source, rt: &Runtime, d: &mut Draft) {
    d.fact("rlimit_rtprio", rt.rtprio.map(|l| limit_text(l, "")));
    d.fact("sched_fifo_max_priority", rt.fifo_max.map(|p| p.to_string()));
    let rt_runtime = src.read("/proc/sys/kernel/sched_rt_runtime_us");
    d.fact("sched_rt_runtime_us", rt_runtime.clone());
    match &rt.fifo_attempt {
        Ok(()) => {
            let throttled = rt_runtime.as_deref().is_some_and(|v| v != "-1");
            d.add(
                "real-time scheduling",
                if throttled { Status::Info } else { Status::Good },
                format!(
                    "SCHED_FIFO permitted (max priority {}){}",
                    rt.fifo_max.unwrap_or(0),
                    if throttled {
                        format!(
                            "; RT throttling on (sched_rt_runtime_us={})",
                            rt_runtime.as_deref().unwrap_or("?")
                        )
                    } else {
                        String::new()
                    }
                ),
                throttled.then(|| RT_THROTTLE_ADVICE.into()),
            );
        }
        Err(e) => d.add(
            "real-time scheduling",
            Status::Info,
            format!("SCHED_FIFO not permitted ({e})"),
            Some(RT_ADVICE.into()),
        ),
    }
}

/// Virtualisation and the TSC, from the CPU flags; returns whether a hypervisor is present.
fn check_cpu_flags(src: &impl Source, d: &mut Draft) -> bool {
    let cpuinfo = src.read("/proc/cpuinfo").unwrap_or_default();
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let hyper = flags.contains(&"hypervisor");
    let inv_tsc = flags.contains(&"constant_tsc") && flags.contains(&"nonstop_tsc");
    d.fact("hypervisor", (!flags.is_empty()).then(|| hyper.to_string()));
    d.fact("invariant_tsc", (!flags.is_empty()).then(|| inv_tsc.to_string()));
    d.fact("cpuidle_driver", src.read("/sys/devices/system/cpu/cpuidle/current_driver"));
    if hyper {
        d.add("virtualisation", Status::Warn, VM_DETAIL.into(), Some(VM_ADVICE.into()));
    } else if !flags.is_empty() {
        d.add("virtualisation", Status::Good, "bare metal (no hypervisor flag)".into(), None);
    }
    if !flags.is_empty() {
        d.add(
            "TSC",
            if inv_tsc { Status::Good } else { Status::Warn },
            if inv_tsc {
                "invariant (constant_tsc, nonstop_tsc): rdtsc is a valid clock".into()
            } else {
                "not invariant: latency-lab times with the monotonic clock".into()
            },
            None,
        );
    }
    hyper
}

/// The verdict: isolated unless no CPU is, or a tick, RCU or IRQ finding still reaches them.
fn judge(have_isolated: bool, findings: &[Finding]) -> Verdict {
    if !have_isolated {
        Verdict::NotIsolated
    } else if findings.iter().any(|f| {
        matches!(f.topic, "nohz_full" | "rcu_nocbs" | "IRQ affinity")
            && f.status >= Status::Warn
            && f.status != Status::Unknown
    }) {
        Verdict::PartiallyIsolated
    } else {
        Verdict::Isolated
    }
}

/// The one-line summary at the head of every measurement report.
fn summarise(
    verdict: Verdict,
    cpus: &Cpus,
    facts: &BTreeMap<&'static str, Option<String>>,
    govs: &BTreeMap<String, Vec<usize>>,
    hyper: bool,
) -> String {
    let fact = |k: &str| facts.get(k).cloned().flatten();
    format!(
        "{} ({} of {} CPUs isolated{}; nohz_full {}; SMT {}; governor {}; clocksource {}; \
         THP {}{})",
        verdict.label(),
        cpus.isolated.as_ref().map_or(0, Vec::len),
        cpus.online.len(),
        if cpus.have_isolated { format!(": {}", cpus.sl) } else { String::new() },
        fact("nohz_full").filter(|s| !s.is_empty()).unwrap_or_else(|| "none".into()),
        match fact("smt_active").as_deref() {
            Some("1") => "on",
            Some("0") => "off",
            _ => "unknown",
        },
        if govs.is_empty() {
            "unknown".to_owned()
        } else {
            govs.keys().cloned().collect::<Vec<_>>().join("/")
        },
        fact("clocksource").unwrap_or_else(|| "unknown".into()),
        fact("transparent_hugepage").unwrap_or_else(|| "unknown".into()),
        if hyper { "; virtual machine" } else { "" },
    )
}

/// The bracketed choice in a sysfs selector such as `always [madvise] never`.
fn selected(text: &str) -> String {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
        .unwrap_or(text)
        .to_owned()
}

/// A resource limit as `soft N unit, hard N unit` (or `unlimited`).
fn limit_text(l: sys::Limit, unit: &str) -> String {
    let one = |v: Option<u64>| {
        v.map_or_else(
            || "unlimited".to_owned(),
            |b| format!("{b}{}{unit}", if unit.is_empty() { "" } else { " " }),
        )
    };
    format!("soft {}, hard {}", one(l.soft), one(l.hard))
}

impl SysInfo {
    /// The report as one JSON object.
    pub fn to_json(&self) -> Value {
        let report = SysInfoJson {
            verdict: self.verdict.label(),
            summary: &self.summary,
            suggested_cpus: format_cpu_list(&self.suggested_cpus),
            facts: &self.facts,
            findings: self
                .findings
                .iter()
                .map(|f| FindingJson {
                    topic: f.topic,
                    status: f.status.label(),
                    detail: &f.detail,
                    advice: f.advice.as_deref(),
                })
                .collect(),
        };
        serde_json::to_value(report).unwrap_or(Value::Null)
    }
}

/// `sysinfo --json` (the CLI adds `command`).
#[derive(Serialize)]
struct SysInfoJson<'a> {
    verdict: &'static str,
    summary: &'a str,
    suggested_cpus: String,
    facts: &'a BTreeMap<&'static str, Option<String>>,
    findings: Vec<FindingJson<'a>>,
}

/// One finding.
#[derive(Serialize)]
struct FindingJson<'a> {
    topic: &'static str,
    status: &'static str,
    detail: &'a str,
    advice: Option<&'a str>,
}

impl fmt::Display for SysInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Isolation report")?;
        writeln!(f, "verdict: {}", self.summary)?;
        writeln!(f)?;
        for x in &self.findings {
            writeln!(f, "  [{:>7}] {:<22} {}", x.status.label(), x.topic, x.detail)?;
            if let Some(a) = &x.advice {
                writeln!(f, "  {:>9} {:<22} -> {a}", "", "")?;
            }
        }
        writeln!(f)?;
        let todo: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|x| matches!(x.status, Status::Bad | Status::Warn) && x.advice.is_some())
            .collect();
        if todo.is_empty() {
            writeln!(
                f,
                "Nothing to change: this machine is set up for pinned, isolated strategies."
            )?;
        } else {
            writeln!(f, "What to change, most important first:")?;
            let mut sorted = todo.clone();
            sorted.sort_by_key(|x| std::cmp::Reverse(x.status));
            for (i, x) in sorted.iter().enumerate() {
                writeln!(f, "  {}. {}: {}", i + 1, x.topic, x.advice.as_deref().unwrap_or(""))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Canned {
        files: BTreeMap<&'static str, &'static str>,
        irqs: Option<Vec<(u32, String)>>,
    }

    impl Source for Canned {
        fn read(&self, path: &str) -> Option<String> {
            self.files.get(path).map(|s| s.trim().to_owned())
        }
        fn irqs(&self) -> Option<Vec<(u32, String)>> {
            self.irqs.clone()
        }
        fn cpu_dirs(&self) -> Vec<usize> {
            vec![0, 1]
        }
    }

    fn rt() -> Runtime {
        Runtime {
            allowed: vec![0, 1, 2, 3],
            memlock: Some(sys::Limit { soft: Some(8 << 20), hard: Some(8 << 20) }),
            rtprio: Some(sys::Limit { soft: Some(0), hard: Some(0) }),
            fifo_max: Some(99),
            fifo_attempt: Err("Operation not permitted (os error 1)".into()),
            root: false,
        }
    }

    fn finding<'a>(s: &'a SysInfo, topic: &str) -> &'a Finding {
        s.findings.iter().find(|f| f.topic == topic).unwrap()
    }

    #[test]
    fn huge_cpu_lists_are_refused_not_allocated() {
        assert_eq!(parse_cpu_list("0-4294967295"), None);
        assert_eq!(parse_cpu_list("8192"), None);
        assert_eq!(parse_cpu_list("8190-8191"), Some(vec![8190, 8191]));
    }

    #[test]
    fn cpu_lists_parse_and_format() {
        assert_eq!(parse_cpu_list("0-3,8,10-11"), Some(vec![0, 1, 2, 3, 8, 10, 11]));
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("0-6:2"), Some(vec![0, 2, 4, 6]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(format_cpu_list(&[0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
        assert_eq!(format_cpu_list(&[]), "");
    }

    #[test]
    fn cmdline_flags_are_extracted_and_init_args_ignored() {
        let c = parse_cmdline(
            "BOOT_IMAGE=/vmlinuz isolcpus=nohz,domain,managed_irq,2-3 nohz_full=2-3 \
             rcu_nocbs=2-3 nosmt idle=poll -- isolcpus=9",
        );
        assert_eq!(c.isolcpus.as_deref(), Some("2-3"));
        assert_eq!(c.nohz_full.as_deref(), Some("2-3"));
        assert_eq!(c.rcu_nocbs.as_deref(), Some("2-3"));
        assert!(c.nosmt);
        assert_eq!(c.idle.as_deref(), Some("poll"));
        assert_eq!(parse_cmdline("quiet"), Cmdline::default());
    }

    #[test]
    fn a_shared_vm_is_not_isolated_and_gets_concrete_advice() {
        let files = BTreeMap::from([
            ("/sys/devices/system/cpu/online", "0-1"),
            ("/sys/devices/system/cpu/isolated", ""),
            ("/proc/cmdline", "console=ttyS0 quiet"),
            ("/sys/devices/system/cpu/smt/active", "0"),
            ("/sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc"),
            ("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never"),
            ("/proc/cpuinfo", "flags\t\t: fpu tsc constant_tsc nonstop_tsc hypervisor"),
        ]);
        let src = Canned { files, irqs: Some(vec![(24, "0-1".into()), (25, "0".into())]) };
        let s = assess(&src, &rt());
        assert_eq!(s.verdict, Verdict::NotIsolated);
        assert_eq!(s.suggested_cpus, vec![1]);
        let iso = finding(&s, "isolated CPUs");
        assert_eq!(iso.status, Status::Bad);
        assert!(
            iso.advice
                .as_deref()
                .unwrap()
                .contains("isolcpus=1 nohz_full=1 rcu_nocbs=1 irqaffinity=0"),
            "{iso:?}"
        );
        assert!(finding(&s, "IRQ affinity").detail.starts_with("1 of 2 IRQs"));
        assert_eq!(finding(&s, "frequency governor").status, Status::Unknown);
        assert!(finding(&s, "frequency governor").detail.contains(UNKNOWN));
        assert_eq!(finding(&s, "transparent huge pages").detail, "madvise");
        assert_eq!(finding(&s, "virtualisation").status, Status::Warn);
        assert_eq!(finding(&s, "memory locking").status, Status::Warn);
        assert!(
            s.summary.starts_with("NOT ISOLATED (0 of 2 CPUs isolated; nohz_full none; SMT off")
        );
        assert!(s.summary.ends_with("; virtual machine)"), "{}", s.summary);
        let text = s.to_string();
        assert!(text.contains("What to change, most important first:"), "{text}");
        assert_eq!(s.to_json()["verdict"], "NOT ISOLATED");
    }

    #[test]
    fn a_tuned_box_is_isolated() {
        let files = BTreeMap::from([
            ("/sys/devices/system/cpu/online", "0-3"),
            ("/sys/devices/system/cpu/isolated", "2-3"),
            ("/sys/devices/system/cpu/nohz_full", "2-3"),
            ("/proc/cmdline", "isolcpus=2-3 nohz_full=2-3 rcu_nocbs=2-3 irqaffinity=0-1 nosmt"),
            ("/sys/devices/system/cpu/smt/active", "0"),
            ("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance"),
            ("/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", "performance"),
            ("/sys/kernel/mm/transparent_hugepage/enabled", "[never]"),
            ("/proc/cpuinfo", "flags\t\t: fpu tsc constant_tsc nonstop_tsc"),
        ]);
        let src = Canned { files, irqs: Some(vec![(24, "0-1".into()), (25, "0".into())]) };
        let mut r = rt();
        r.memlock = Some(sys::Limit { soft: None, hard: None });
        let s = assess(&src, &r);
        assert_eq!(s.verdict, Verdict::Isolated, "{s}");
        assert_eq!(s.suggested_cpus, vec![2, 3]);
        assert!(s.findings.iter().all(|f| f.status != Status::Bad), "{s}");
        assert_eq!(finding(&s, "frequency governor").status, Status::Good);
        assert!(s.to_string().contains("Nothing to change"), "{s}");
        assert!(
            s.summary.starts_with("ISOLATED (2 of 4 CPUs isolated: 2-3; nohz_full 2-3; SMT off")
        );
    }

    #[test]
    fn missing_files_are_unknown_never_errors() {
        let src = Canned { files: BTreeMap::new(), irqs: None };
        let s = assess(&src, &rt());
        assert_eq!(s.verdict, Verdict::NotIsolated);
        for topic in
            ["isolated CPUs", "SMT", "clocksource", "transparent huge pages", "IRQ affinity"]
        {
            assert_eq!(finding(&s, topic).status, Status::Unknown, "{topic}");
        }
        assert_eq!(s.facts["clocksource"], None);
        assert!(s.to_json()["facts"]["clocksource"].is_null());
    }

    #[test]
    fn partially_isolated_when_irqs_reach_the_isolated_cpus() {
        let files = BTreeMap::from([
            ("/sys/devices/system/cpu/online", "0-3"),
            ("/sys/devices/system/cpu/isolated", "2-3"),
            ("/proc/cmdline", "isolcpus=2-3 nohz_full=2-3 rcu_nocbs=2-3"),
        ]);
        let src = Canned { files, irqs: Some(vec![(30, "0-3".into())]) };
        let s = assess(&src, &rt());
        assert_eq!(s.verdict, Verdict::PartiallyIsolated);
        assert!(finding(&s, "IRQ affinity").advice.as_deref().unwrap().contains("irqaffinity=0-1"));
    }

    #[test]
    fn selector_and_limits_read_plainly() {
        assert_eq!(selected("always [madvise] never"), "madvise");
        assert_eq!(selected("madvise"), "madvise");
        assert_eq!(
            limit_text(sys::Limit { soft: Some(65536), hard: None }, "bytes"),
            "soft 65536 bytes, hard unlimited"
        );
    }

    #[test]
    fn live_machine_report_never_panics() {
        let s = collect();
        assert!(!s.findings.is_empty());
        assert!(!s.summary.is_empty());
    }
}
