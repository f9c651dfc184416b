//! The report's fuel part (`backtest --fuel-report`): per WebAssembly strategy, its fuel
//! certificate (the worst case one event can cost, in fuel and in time on this machine) and
//! its exact fuel profile (a flame graph, the costliest functions and events), each with a
//! short guide to reading it. The host computes both; this module lays them out.

use super::html::{esc, esc_untrusted};
use std::fmt::Write as _;

/// One strategy's fuel certificate, as the report shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct FuelBound {
    /// The static bound, when the code proves one.
    pub static_bound: Option<u64>,
    /// Why it proves none: the chain from `lockstep_on_event` down to the cause.
    pub reason: Option<String>,
    /// The bound from the state `lockstep_init` left, when there is one.
    pub after_init: Option<u64>,
    /// Why there is none.
    pub after_init_reason: Option<String>,
    /// Reachable functions, and how many of them are bounded.
    pub functions: (usize, usize),
    /// Fuel each event may use before the strategy is halted.
    pub fuel_per_event: u64,
    /// The certified most fuel of an event that completes.
    pub certified_fuel: u64,
    /// The most fuel one event used in this run.
    pub observed_max: u64,
    /// The worst ns per unit of fuel measured here, and the kind of work that set it.
    pub worst_ns_per_fuel: (f64, String),
    /// `certified_fuel` × that rate.
    pub certified_ns: u64,
    /// The machine the time holds on, in one line (CPU isolation, frequency policy).
    pub machine: String,
}

/// One function's fuel over the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuelFunction {
    /// Its demangled name.
    pub name: String,
    /// Fuel in its own code.
    pub self_fuel: u64,
    /// Fuel while it was on the stack.
    pub total_fuel: u64,
}

/// One of the costliest events of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuelEvent {
    /// Its fuel.
    pub fuel: u64,
    /// Its kind (`quote`, `fill`...).
    pub kind: String,
    /// Where it is on the tape: the tape event, or the last one before a venue answer.
    pub tape_event: Option<u64>,
    /// Whether it was a venue answer after `tape_event` rather than the tape event itself.
    pub after: bool,
}

/// A strategy's fuel section and the files that go with it.
#[derive(Clone, Debug, PartialEq)]
pub struct FuelSection {
    /// The strategy's position in the run.
    pub strategy: usize,
    /// Its certificate.
    pub bound: FuelBound,
    /// Fuel over the run (`lockstep_init` excluded).
    pub total_fuel: u64,
    /// The costliest functions by fuel with callees, costliest first.
    pub functions: Vec<FuelFunction>,
    /// The costliest events, costliest first.
    pub costliest: Vec<FuelEvent>,
    /// Files (name, bytes): the certificate, the flame graph, the profile.
    pub files: Vec<(String, Vec<u8>)>,
    /// Which of `files` is the flame graph (SVG).
    pub flamegraph: Option<String>,
}

/// Functions listed in the page's table.
const TOP_FUNCTIONS: usize = 12;
/// Longest function name shown (names come from the module's name section).
const NAME_CHARS: usize = 120;

/// Writes the fuel part of strategy `k`'s section.
pub(super) fn section(h: &mut String, f: &FuelSection) {
    let k = f.strategy;
    let _ = writeln!(h, "<h3 id=\"s{k}-fuel\">Fuel: the worst case and where it goes</h3>");
    certificate(h, k, &f.bound);
    profile(h, k, f);
}

/// The certificate's figures and how to read them.
fn certificate(h: &mut String, k: usize, b: &FuelBound) {
    let proven = match (b.static_bound, &b.reason) {
        (Some(n), _) => format!("{n} fuel, proven from the code"),
        (None, Some(why)) => format!("none proven: {}", esc_untrusted(why, 400)),
        (None, None) => "none proven".to_owned(),
    };
    let init = match (b.after_init, &b.after_init_reason) {
        (Some(n), _) => format!("{n} fuel, proven from the code and the state init left"),
        (None, Some(why)) => format!("none proven: {}", esc_untrusted(why, 400)),
        (None, None) => "none proven".to_owned(),
    };
    let rows = [
        ("static", "Static bound", proven),
        ("after-init", "Bound after init (these parameters)", init),
        ("limit", "Fuel per event (the engine's limit)", b.fuel_per_event.to_string()),
        ("certified", "Certified fuel per event", b.certified_fuel.to_string()),
        ("observed", "Most fuel one event used in this run", b.observed_max.to_string()),
        (
            "rate",
            "Worst ns per fuel here",
            format!("{:.3} ({})", b.worst_ns_per_fuel.0, esc(&b.worst_ns_per_fuel.1)),
        ),
        ("ns", "Certified worst case per event", format!("{} ns", b.certified_ns)),
        (
            "functions",
            "Reachable functions bounded",
            format!("{} of {}", b.functions.1, b.functions.0),
        ),
    ];
    let _ = writeln!(h, "<table id=\"s{k}-certificate\">");
    for (id, label, value) in rows {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{label}</td><td class=\"l\" id=\"s{k}-cert-{id}\">{value}</td></tr>"
        );
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<p><b>Reading the certificate.</b> Fuel counts the work of the strategy's code the same way \
         on every machine and tier. The <i>static bound</i> is the longest path through \
         <code>lockstep_on_event</code> and all it calls, found from the code without running it; \
         when a loop's trip count cannot be proven, the reason names it. The <i>bound after \
         init</i> also uses what <code>lockstep_init</code> left in memory for these parameters \
         (a tree's size, a buffer's length), proven to hold at every event's start; when neither \
         is proven, the engine's fuel per event is the bound. An event that would pass the certified fuel is stopped by the engine, \
         so no event of this strategy does more work. The time is that fuel times the slowest ns \
         per fuel measured on this machine ({}), so it holds here, not on another host; the time \
         figures are the only ones in this report that are not byte-identical run to run. \
         <code>certificate.json</code> has it all, and <code>replay certify --check</code> \
         re-verifies it.</p>",
        esc(&b.machine)
    );
}

/// The profile: the flame graph, the costliest functions and events, and how to read them.
fn profile(h: &mut String, k: usize, f: &FuelSection) {
    if let Some(name) = &f.flamegraph {
        let _ = writeln!(
            h,
            "<figure id=\"s{k}-flamegraph\"><img src=\"{0}\" alt=\"fuel flame graph\" style=\"max-width:100%\"><figcaption><a href=\"{0}\">{0}</a> (open it for names and zoom)</figcaption></figure>",
            esc(name)
        );
    }
    let _ = writeln!(
        h,
        "<p><b>Reading the flame graph.</b> Each box is a function; the boxes above it are what it \
         called. A box's width is the fuel spent while it was on the stack, over all {} fuel of the \
         run, so the widest boxes near the top are where the work is. Fuel is exact: the same \
         graph comes out on every run, machine and tier, and a change in width after an edit is \
         the edit's effect, not noise.</p>",
        f.total_fuel
    );
    let _ = writeln!(
        h,
        "<table id=\"s{k}-fuel-functions\">\n<tr><th class=\"l\">function</th><th>own fuel</th><th>with callees</th><th>share</th></tr>"
    );
    for g in f.functions.iter().take(TOP_FUNCTIONS) {
        let share = if f.total_fuel == 0 { 0.0 } else { g.total_fuel as f64 / f.total_fuel as f64 };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\"><code>{}</code></td><td>{}</td><td>{}</td><td>{:.1} %</td></tr>",
            esc_untrusted(&g.name, NAME_CHARS),
            g.self_fuel,
            g.total_fuel,
            share * 100.0
        );
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<table id=\"s{k}-fuel-events\">\n<tr><th>fuel</th><th class=\"l\">event</th><th class=\"l\">on the tape</th></tr>"
    );
    for e in &f.costliest {
        let at = match (e.tape_event, e.after) {
            (Some(n), false) => format!("<code>replay inspect --events {n}..{}</code>", n + 1),
            (Some(n), true) => format!("after tape event {n}"),
            (None, _) => "before the first tape event".to_owned(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{at}</td></tr>",
            e.fuel,
            esc(&e.kind)
        );
    }
    h.push_str("</table>\n");
}
