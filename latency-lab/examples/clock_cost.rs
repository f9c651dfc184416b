//! What does it cost to read the time? Measures both clocks latency-lab can time with — the
//! TSC (`rdtsc`, calibrated against the monotonic clock) and `CLOCK_MONOTONIC` through the vDSO
//! — back to back on the current thread, and prints the cost per read and the smallest step.
//!
//! Every latency figure latency-lab publishes includes one clock read's cost, so this is the
//! floor under every p50 it reports.
//!
//! Run: `cargo run --release -p latency-lab --example clock_cost`

use latency_lab::{Clock, ClockKind, measure_cost, tsc_is_invariant};

fn main() {
    let reads = 5_000_000;
    println!("invariant TSC: {}", tsc_is_invariant());
    for kind in [ClockKind::Tsc, ClockKind::Monotonic] {
        let clock = Clock::new(kind);
        if clock.kind() != kind {
            println!(
                "{:<10} not available here (falls back to {})",
                kind.name(),
                clock.kind().name()
            );
            continue;
        }
        // Twice: the first pass warms caches and the branch predictor.
        let _ = measure_cost(&clock, reads / 10);
        let cost = measure_cost(&clock, reads);
        println!(
            "{:<10} {:>7.2} ns per read, smallest step {:>6.2} ns over {} reads{}",
            kind.name(),
            cost.ns_per_read,
            cost.min_step_ns,
            cost.reads,
            clock.tsc_ghz().map_or(String::new(), |g| format!(" (TSC at {g:.3} GHz)")),
        );
    }
}
