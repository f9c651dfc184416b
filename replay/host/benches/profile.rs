//! What `replay profile` costs against a plain run, per built-in and tier: the plain run
//! alone, then the whole profile (the plain run, the profiled run and the files), over the
//! synthetic market. Prints a table; asserts nothing about time.
//!
//! Run: `cargo bench -p lockstep-host --bench profile [-- EVENTS]`
#![allow(clippy::disallowed_methods, reason = "Instant::now: this program measures time by design")]

use lockstep_host::{HostSession, StrategySpec, profile};
use lockstep_sdk::Tier;
use lockstep_sim::{EventSource, Session, SessionConfig, Synth, SynthConfig};
use std::time::{Duration, Instant};

/// The fastest of three timings of `f`.
fn best(mut f: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let events: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let market = || Synth::new(SynthConfig { events, ..SynthConfig::default() });
    println!("{events} synthetic events; best of 3");
    println!(
        "{:<20} {:<12} {:>10} {:>10} {:>6}",
        "strategy", "tier", "plain ms", "profile ms", "x"
    );
    for info in lockstep_strategies::all() {
        for tier in [Tier::Interpreter, Tier::Compiled] {
            let spec = StrategySpec::resolve(info.name, None, false).expect("built-in");
            let cfg = SessionConfig { tier, measure_latency: false, ..SessionConfig::default() };
            let plain = best(|| {
                let mut src = market();
                let header = src.header().clone();
                let s = Session::load(&header, std::slice::from_ref(&spec), cfg.clone())
                    .expect("loads");
                s.run_until(&mut src, &mut || false).expect("runs");
            });
            let profiled = best(|| {
                let mut src = market();
                let header = src.header().clone();
                let out = profile(&header, &spec, &cfg, &mut src).expect("profiles");
                assert!(!out.files().expect("encodes").is_empty());
            });
            let ratio = profiled.as_secs_f64() / plain.as_secs_f64();
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "{:<20} {:<12} {:>10.1} {:>10.1} {:>6.2}",
                info.name,
                tier.to_string(),
                ms(plain),
                ms(profiled),
                ratio
            );
        }
    }
}
