//! A complete backtest on the embedded synthetic market, from code: the Avellaneda-Stoikov
//! market maker (WebAssembly, fuel-metered) against 200,000 events of L3 order flow, with its
//! fills, PnL, digest and per-event latency.
//!
//! `cargo run --release -p lockstep-replay --example backtest_synthetic`

use lockstep_host::HostSession;
use lockstep_host::StrategySpec;
use lockstep_sim::{EventSource, Session, SessionConfig, Synth, SynthConfig, hex};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut market = Synth::new(SynthConfig::default());
    let maker = StrategySpec::resolve("avellaneda-stoikov", None, false)?;
    let session = Session::load(market.header(), &[maker], SessionConfig::default())?;
    let out = session.run(&mut market, &mut |_| {})?;

    let r = &out.report;
    let s = &r.strategies[0];
    println!(
        "{} events in {:.1} ms, digest {}",
        r.events,
        r.elapsed_ns as f64 / 1e6,
        hex(&r.digest)
    );
    println!(
        "{}: {} orders, {} fills, PnL {} (fees {}), {} still open",
        s.name,
        s.exchange.stats.orders,
        s.exchange.fills,
        s.exchange.pnl,
        s.exchange.fees,
        s.exchange.open_orders
    );
    for i in &s.exchange.instruments {
        println!("  instrument {}: position {}, marked at {}", i.instrument, i.position, i.mark);
    }
    let l = &r.latency;
    println!(
        "latency per event: p50 {} ns, p99.99 {} ns, max {} ns",
        l.summary.p50, l.summary.p9999, l.summary.max
    );
    Ok(())
}
