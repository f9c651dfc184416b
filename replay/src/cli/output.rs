//! Shared helpers of the commands: sources, pinning, progress bars, JSON.

use super::ReplayArgs;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lockstep_replay::{
    EventSource, LatencyReport, RunReport, StrategyReport, Synth, SynthConfig, TapeHeader,
    TapeReader, hex,
};
use serde_json::{Value, json};
use std::io::{IsTerminal, Write};

/// The replay's event source: the tape, or the synthetic market.
pub(crate) fn open_source(a: &ReplayArgs) -> Result<Box<dyn EventSource + Send>> {
    Ok(match &a.tape {
        Some(p) => {
            Box::new(TapeReader::open(p).with_context(|| format!("--tape {}", p.display()))?)
        }
        None => Box::new(Synth::new(SynthConfig { events: a.events, seed: a.seed })),
    })
}

/// A name for the source in messages.
pub(crate) fn source_name(a: &ReplayArgs) -> String {
    match &a.tape {
        Some(p) => format!("tape {}", p.display()),
        None => "the synthetic market".to_owned(),
    }
}

/// Pins the calling thread to `core`.
pub(crate) fn pin(core: usize) -> Result<()> {
    let ids = core_affinity::get_core_ids().context("cannot list this machine's cores")?;
    let Some(id) = ids.iter().copied().find(|c| c.id == core) else {
        bail!(
            "--core {core}: no such core; this process may use cores {}",
            ids.iter().map(|c| c.id.to_string()).collect::<Vec<_>>().join(", ")
        );
    };
    lockstep_engine::pin_current_thread(id.id).with_context(|| format!("--core {core}"))?;
    Ok(())
}

/// Cores this process may run on.
pub(crate) fn cores() -> Vec<usize> {
    core_affinity::get_core_ids().map(|v| v.into_iter().map(|c| c.id).collect()).unwrap_or_default()
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
pub(crate) fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec}, {eta})")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_owned());
    pb
}

/// Human output, collected and written at once; a closed pipe (`| head`) ends it quietly.
#[derive(Default)]
pub(crate) struct Text(pub(crate) String);

impl Text {
    pub(crate) fn emit(self) -> Result<()> {
        let mut out = std::io::stdout().lock();
        match out.write_all(self.0.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(e).context("writing to stdout")
            }
            _ => Ok(()),
        }
    }
}

/// Appends a line to a [`Text`].
macro_rules! say {
    ($o:expr, $($t:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o.0, $($t)*);
    }};
}
pub(crate) use say;

/// Prints one JSON object on stdout.
pub(crate) fn print_json(v: &Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{v}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}

/// Nanoseconds for people.
pub(crate) fn ns(v: u64) -> String {
    lockstep_replay::format_ns(v)
}

/// A rate for people.
pub(crate) fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M events/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k events/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} events/s")
    }
}

fn opt_u64(v: u64) -> Value {
    if v == u64::MAX { Value::Null } else { json!(v) }
}

pub(crate) fn header_json(h: &TapeHeader) -> Value {
    json!({
        "source": h.source,
        "events": h.event_count,
        "instruments": h.instruments.iter().map(|i| json!({
            "id": i.id,
            "symbol": i.symbol,
            "venue": i.venue,
            "tick_size": i.tick_size.to_string(),
            "price_scale": i.price_scale,
        })).collect::<Vec<_>>(),
    })
}

pub(crate) fn latency_json(l: &LatencyReport) -> Value {
    json!({
        "count": l.summary.count,
        "p50": l.summary.p50,
        "p90": l.summary.p90,
        "p99": l.summary.p99,
        "p999": l.summary.p999,
        "p9999": l.summary.p9999,
        "max": l.summary.max,
        "max_minus_p50": l.summary.jitter_ns(),
        "mean": (l.summary.mean * 10.0).round() / 10.0,
    })
}

pub(crate) fn strategy_json(s: &StrategyReport) -> Value {
    let x = &s.exchange;
    json!({
        "name": s.name,
        "params": s.params,
        "wasm": s.wasm,
        "tier": s.tier.map(|t| t.name()),
        "digest": hex(&s.digest),
        "fuel_digest": hex(&s.fuel_digest),
        "events": s.events,
        "actions": s.actions,
        "fuel": { "total": s.fuel_total, "max_per_event": s.fuel_max.0, "max_seq": s.fuel_max.1, "init": s.init_fuel },
        "halted": s.halted.as_ref().map(|(seq, e)| json!({ "seq": seq, "error": e })),
        "budget_exceeded": x.budget_exceeded.map(|b| json!({
            "budget": b.budget.name(),
            "flag": b.budget.flag(),
            "limit": b.limit,
            "seq": b.seq,
            "local_ts": b.local_ts,
        })),
        "errors": s.errors,
        "exchange": {
            "orders": x.stats.orders,
            "cancels": x.stats.cancels,
            "replaces": x.stats.replaces,
            "rejects": x.stats.rejects,
            "timers": x.stats.timers,
            "signals": x.stats.signals,
            "invalid_actions": x.stats.invalid_actions,
            "dropped": x.stats.dropped,
            "fills": x.fills,
            "open_orders": x.open_orders,
            "pnl": x.pnl.to_string(),
            "fees": x.fees.to_string(),
            "instruments": x.instruments.iter().map(|i| json!({
                "instrument": i.instrument,
                "position": i.position.to_string(),
                "bought": i.bought.to_string(),
                "sold": i.sold.to_string(),
                "maker_fills": i.maker_fills,
                "taker_fills": i.taker_fills,
                "cash": i.cash.to_string(),
                "fees": i.fees.to_string(),
                "mark": i.mark.to_string(),
                "pnl": i.pnl.to_string(),
            })).collect::<Vec<_>>(),
        },
    })
}

pub(crate) fn report_json(r: &RunReport) -> Value {
    json!({
        "digest": hex(&r.digest),
        "fuel_digest": hex(&r.fuel_digest),
        "tier": r.tier.name(),
        "book_digest": r.book_digest.as_ref().map(hex),
        "events": r.events,
        "strategy_events": r.strategy_events,
        "elapsed_ns": r.elapsed_ns,
        "events_per_sec": r.events_per_sec.round(),
        "fuel": { "total": r.fuel_total, "max_per_event": r.fuel_max_per_event },
        "latency_ns": latency_json(&r.latency),
        "worst": r.latency.worst.iter().map(|w| json!({
            "latency_ns": w.latency_ns,
            "tape_event": opt_u64(w.tape_event),
            "seq": opt_u64(w.seq),
            "strategy": if w.strategy == u32::MAX { Value::Null } else { json!(w.strategy) },
            "kind": w.kind,
            "fuel": w.fuel,
        })).collect::<Vec<_>>(),
        "strategies": r.strategies.iter().map(strategy_json).collect::<Vec<_>>(),
        "books": r.book_stats.iter().enumerate().map(|(i, b)| json!({
            "instrument": i,
            "unknown_orders": b.unknown_orders,
            "unabsorbed_qty": b.unabsorbed_qty.to_string(),
            "duplicate_adds": b.duplicate_adds,
            "invalid": b.invalid,
        })).collect::<Vec<_>>(),
        "trace_error": r.trace_error,
    })
}
