//! `gateway`: strategies on a live feed. Market data in over UDP (ITCH 5.0 in MoldUDP64), one
//! pinned thread for book, strategies and risk, orders out over FIX 4.4; a journal per strategy
//! that `replay verify --journal DIR` re-runs to the live digest.

use anyhow::{Context, Result, bail};
use clap::Parser;
use lockstep_engine::{Config, Engine, Fuel, StrategyModule, Tier};
use lockstep_gateway::{
    GatewayOptions, JournalHeader, KillSwitch, LiveReport, LiveStrategy, RestoreFn, RiskLimits,
    run_gateway,
};
use lockstep_host::{StrategySource, StrategySpec, start_strategy};
use sha2::{Digest as _, Sha256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Runs strategies against a live venue (start `replay venue` first).
#[derive(Parser, Debug)]
#[command(name = "gateway", version)]
struct Args {
    /// UDP address to receive the ITCH feed on (the venue's --feed-udp).
    #[arg(long)]
    feed: SocketAddr,
    /// The venue's FIX address (the venue's --fix).
    #[arg(long)]
    fix: SocketAddr,
    /// A built-in strategy's name or a `.wasm` file; repeat for several strategies.
    #[arg(long, required = true)]
    strategy: Vec<String>,
    /// Parameters (`key=value;...`), one per --strategy in order (default: the built-in's).
    #[arg(long)]
    params: Vec<String>,
    /// Engine tier for the strategies.
    #[arg(long, default_value_t = Tier::Interpreter)]
    tier: Tier,
    /// Fuel per event.
    #[arg(long, default_value_t = 50_000_000)]
    fuel: u64,
    /// Pin the gateway's thread to this core.
    #[arg(long)]
    core: Option<usize>,
    /// Directory for the journals, the input log, the FIX sequence numbers and the latency
    /// logs (created; it must not hold a journal already). The kill switch: `touch DIR/KILL`
    /// or `kill -USR1 <pid>` cancels every open order and refuses new ones.
    #[arg(long, required_unless_present = "recover", conflicts_with = "recover")]
    journal: Option<PathBuf>,
    /// Carry on the session whose --journal directory this is, after the gateway was killed
    /// mid-way: give the same strategies, --params and --tier. Its input log is played back
    /// (no order is sent twice), then the feed and the FIX session resume where it ends.
    #[arg(long, value_name = "DIR")]
    recover: Option<PathBuf>,
    /// Pre-trade risk limits (JSON: max_order_qty, max_notional, collar_ticks, collar_bps,
    /// max_position, max_orders_per_second, max_open_orders).
    #[arg(long)]
    risk: Option<PathBuf>,
    /// Checkpoint the strategies every N market events (0: not by count), beside their
    /// journals: a --recover then runs only what follows the last checkpoint in them.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    checkpoint_every: u64,
    /// ... and at least every this many seconds (0: not by time).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    checkpoint_secs: u64,
    /// Seconds to keep trying to reach the venue.
    #[arg(long, default_value_t = 10)]
    wait: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> Result<()> {
    // First of all: a SIGUSR1 before the handler is in place would end the process.
    let kill = KillSwitch::new();
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, kill.flag())
        .context("cannot install the SIGUSR1 handler (the kill switch)")?;
    let args = Args::parse();
    if args.params.len() > args.strategy.len() {
        bail!(
            "{} --params for {} --strategy: give at most one per strategy",
            args.params.len(),
            args.strategy.len()
        );
    }
    if let Some(core) = args.core {
        lockstep_engine::pin_current_thread(core).with_context(|| format!("--core {core}"))?;
    }
    let risk = match &args.risk {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read --risk {}", p.display()))?;
            RiskLimits::from_json(&text).with_context(|| format!("--risk {}", p.display()))?
        }
        None => RiskLimits::default(),
    };
    let mut config = Config::new();
    config
        .tier(args.tier)
        .fuel_per_event(Fuel(args.fuel))
        .artefact_cache(lockstep_engine::default_artefact_cache());
    let engine = Engine::try_new(&config)?;
    let mut strategies = Vec::new();
    for (i, name) in args.strategy.iter().enumerate() {
        let spec = StrategySpec::resolve(name, args.params.get(i).map(String::as_str), false)?;
        strategies.push(start(&engine, &spec, args.tier)?);
    }
    let opts = GatewayOptions {
        feed: args.feed,
        fix: args.fix,
        journal_dir: args.journal.clone().or_else(|| args.recover.clone()).unwrap_or_default(),
        risk,
        wait: Duration::from_secs(args.wait),
        kill,
        recover: args.recover.is_some(),
        checkpoint_events: args.checkpoint_every,
        checkpoint_interval: Duration::from_secs(args.checkpoint_secs),
    };
    let report = run_gateway(&opts, strategies)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn start(engine: &Engine, spec: &StrategySpec, tier: Tier) -> Result<LiveStrategy> {
    let (runner, init_actions, init_fuel) = start_strategy(engine, spec)?;
    let wasm: &[u8] = match &spec.source {
        StrategySource::Builtin(info) | StrategySource::Native(info) => info.wasm,
        StrategySource::WasmFile { bytes, .. } => bytes,
    };
    let header = JournalHeader {
        strategy: spec.name.clone(),
        params: spec.params.clone(),
        module_sha256: Sha256::digest(wasm).iter().map(|b| format!("{b:02x}")).collect(),
        tier: tier.to_string(),
        init_fuel: init_fuel.unwrap_or(0),
    };
    // A sandboxed strategy can be checkpointed, and restored from its checkpoint by a module
    // loaded again from the same bytes.
    let restore: Option<RestoreFn> = match &spec.source {
        StrategySource::Native(_) => None,
        _ => {
            let (engine, wasm) = (engine.clone(), wasm.to_vec());
            Some(Box::new(move |state: &[u8]| {
                let module = StrategyModule::new(&engine, &wasm).map_err(|e| e.to_string())?;
                let instance = module.restore(state).map_err(|e| e.to_string())?;
                Ok(Box::new(instance) as Box<dyn lockstep_engine::StrategyRunner>)
            }))
        }
    };
    Ok(LiveStrategy { header, runner, init_actions, restore })
}

fn print_report(r: &LiveReport) {
    let f = &r.feed;
    println!(
        "feed: {} datagrams, {} messages, {} market events; {} duplicates, {} gaps ({} requests, {} recovered, {} unrecoverable), {} malformed",
        f.datagrams,
        f.messages,
        r.market_events,
        f.duplicates,
        f.gaps,
        f.requests,
        f.recovered,
        f.unrecoverable,
        f.malformed
    );
    if let Some(rec) = &r.recovery {
        println!(
            "recovered: {} logged inputs played back in {:.1} ms, {} orders already sent not sent again, {} torn bytes dropped; {} strategies from their checkpoints ({} inputs answered from the journal)",
            rec.inputs,
            rec.play_back_ns as f64 / 1e6,
            rec.orders_not_resent,
            rec.torn_tail,
            rec.strategies_from_checkpoint,
            rec.inputs_from_journal
        );
    }
    for s in &r.strategies {
        println!(
            "{}: {} events, {} orders sent, {} cancels, {} acks, {} fills; venue rejects {:?}; risk rejects {:?}",
            s.strategy,
            s.events,
            s.orders_sent,
            s.cancels_sent,
            s.acks,
            s.fills,
            s.venue_rejects,
            s.risk_rejects
        );
        println!("  digest {}  fuel_digest {}", s.digest, s.fuel_digest);
        if let Some((seq, why)) = &s.halted {
            println!("  halted at input {seq}: {why}");
        }
    }
    for l in &r.latency {
        let p = &l.latency;
        println!(
            "latency {:<13} n={:<7} p50 {:>7} ns  p99 {:>7}  p99.9 {:>7}  p99.99 {:>7}  max {:>8}",
            l.stage, p.count, p.p50, p.p99, p.p999, p.p9999, p.max
        );
    }
    for j in &r.journals {
        println!("journal: {}", j.display());
    }
}
