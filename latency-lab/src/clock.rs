//! The timing module: the only place that reads real time.
//!
//! Two clocks: the time-stamp counter (`rdtsc`, calibrated against the monotonic clock) and the
//! monotonic clock (`Instant`, i.e. vDSO `clock_gettime(CLOCK_MONOTONIC)`). Their readings are
//! measurement data only: they are printed, histogrammed and plotted, and never feed a strategy,
//! an event, an action or a digest, so the determinism rule (time enters as data) is untouched.
#![allow(clippy::disallowed_methods, reason = "the measurement clock; not a digest")]

use crate::sys;
use std::time::{Duration, Instant};

/// A source of ticks: cheap to read, convertible to nanoseconds.
pub(crate) trait Ticks: Copy + Send + 'static {
    /// The current reading, as cheaply as possible (may be reordered with nearby code).
    fn now(&self) -> u64;
    /// The current reading after earlier instructions have completed (for timed regions).
    fn now_ordered(&self) -> u64;
    /// Converts a tick count to nanoseconds.
    fn to_ns(&self, ticks: u64) -> u64;
    /// Converts nanoseconds to ticks (at least 1).
    fn ticks_from_ns(&self, ns: u64) -> u64;
}

/// The monotonic clock as nanoseconds since a fixed origin.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mono {
    origin: Instant,
}

impl Ticks for Mono {
    #[inline(always)]
    fn now(&self) -> u64 {
        Instant::now().saturating_duration_since(self.origin).as_nanos() as u64
    }
    #[inline(always)]
    fn now_ordered(&self) -> u64 {
        // clock_gettime is a function call with memory effects: the compiler cannot move the
        // timed code across it, and the vDSO read itself is ordered by its own fences.
        self.now()
    }
    #[inline(always)]
    fn to_ns(&self, ticks: u64) -> u64 {
        ticks
    }
    #[inline(always)]
    fn ticks_from_ns(&self, ns: u64) -> u64 {
        ns.max(1)
    }
}

/// The time-stamp counter with its measured frequency.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tsc {
    ns_per_tick: f64,
    ticks_per_ns: f64,
}

impl Ticks for Tsc {
    #[inline(always)]
    fn now(&self) -> u64 {
        sys::tsc().unwrap_or(0)
    }
    #[inline(always)]
    fn now_ordered(&self) -> u64 {
        sys::tsc_ordered().unwrap_or(0)
    }
    #[inline(always)]
    fn to_ns(&self, ticks: u64) -> u64 {
        (ticks as f64 * self.ns_per_tick) as u64
    }
    #[inline(always)]
    fn ticks_from_ns(&self, ns: u64) -> u64 {
        ((ns as f64 * self.ticks_per_ns) as u64).max(1)
    }
}

/// Which clock to time with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockKind {
    /// The CPU's time-stamp counter (x86_64 `rdtsc`), calibrated against the monotonic clock.
    Tsc,
    /// `CLOCK_MONOTONIC` through the vDSO (`std::time::Instant`).
    Monotonic,
}

impl ClockKind {
    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ClockKind::Tsc => "tsc",
            ClockKind::Monotonic => "monotonic",
        }
    }
}

/// A calibrated measurement clock.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    inner: Inner,
}

#[derive(Clone, Copy, Debug)]
enum Inner {
    Tsc(Tsc),
    Mono(Mono),
}

/// Whether the CPU advertises an invariant TSC (`constant_tsc` and `nonstop_tsc` in
/// `/proc/cpuinfo`): one that ticks at a fixed rate in every power state and on every core.
pub fn tsc_is_invariant() -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else { return false };
    let flags = info.lines().find(|l| l.starts_with("flags")).unwrap_or("");
    let has = |f: &str| flags.split_whitespace().any(|w| w == f);
    sys::tsc().is_some() && has("constant_tsc") && has("nonstop_tsc")
}

/// A monotonic reading and a TSC reading taken at (nearly) the same moment: the TSC is read
/// between two monotonic reads, retried until they are less than 2 µs apart (a preemption in
/// between would otherwise skew the calibration), and paired with their midpoint.
fn paired() -> Option<(Instant, u64)> {
    let mut best: Option<(Duration, Instant, u64)> = None;
    for _ in 0..20 {
        let a = Instant::now();
        let c = sys::tsc_ordered()?;
        let b = Instant::now();
        let gap = b.duration_since(a);
        if best.is_none_or(|(g, ..)| gap < g) {
            best = Some((gap, a + gap / 2, c));
        }
        if gap < Duration::from_micros(2) {
            break;
        }
    }
    best.map(|(_, t, c)| (t, c))
}

impl Clock {
    /// The monotonic clock.
    pub fn monotonic() -> Self {
        Self { inner: Inner::Mono(Mono { origin: Instant::now() }) }
    }

    /// The TSC, calibrated by spinning for `calibration` against the monotonic clock; `None`
    /// where there is no TSC.
    pub fn tsc(calibration: Duration) -> Option<Self> {
        sys::tsc()?;
        let (t0, c0) = paired()?;
        while t0.elapsed() < calibration {
            std::hint::spin_loop();
        }
        let (t1, c1) = paired()?;
        let ticks = c1.checked_sub(c0).filter(|&t| t > 0)?;
        let ns = t1.duration_since(t0).as_nanos() as f64;
        let ns_per_tick = ns / ticks as f64;
        Some(Self { inner: Inner::Tsc(Tsc { ns_per_tick, ticks_per_ns: 1.0 / ns_per_tick }) })
    }

    /// `kind` if available: the TSC falls back to the monotonic clock where there is none.
    pub fn new(kind: ClockKind) -> Self {
        match kind {
            ClockKind::Tsc => Self::tsc(Duration::from_millis(50)).unwrap_or_else(Self::monotonic),
            ClockKind::Monotonic => Self::monotonic(),
        }
    }

    /// The recommended clock: the TSC when it is invariant, else the monotonic clock.
    pub fn best() -> Self {
        if tsc_is_invariant() { Self::new(ClockKind::Tsc) } else { Self::monotonic() }
    }

    /// Which clock this is.
    pub fn kind(&self) -> ClockKind {
        match self.inner {
            Inner::Tsc(_) => ClockKind::Tsc,
            Inner::Mono(_) => ClockKind::Monotonic,
        }
    }

    /// The TSC frequency in GHz (ticks per nanosecond), when this is the TSC.
    pub fn tsc_ghz(&self) -> Option<f64> {
        match self.inner {
            Inner::Tsc(t) => Some(t.ticks_per_ns),
            Inner::Mono(_) => None,
        }
    }

    /// Calls `f` with the concrete tick source, so hot loops are monomorphised per clock.
    pub(crate) fn with<R>(&self, f: impl TickFn<R>) -> R {
        match self.inner {
            Inner::Tsc(t) => f.call(t),
            Inner::Mono(m) => f.call(m),
        }
    }

    /// The current reading in nanoseconds since an arbitrary origin.
    pub fn now_ns(&self) -> u64 {
        match self.inner {
            Inner::Tsc(t) => t.to_ns(t.now()),
            Inner::Mono(m) => m.now(),
        }
    }
}

/// A generic callback over a tick source (a closure cannot be generic, a trait can).
pub(crate) trait TickFn<R> {
    /// Runs with the concrete clock.
    fn call<C: Ticks>(self, clock: C) -> R;
}

/// What one clock read costs, measured back to back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockCost {
    /// The clock measured.
    pub kind: ClockKind,
    /// Mean cost of one read in nanoseconds.
    pub ns_per_read: f64,
    /// Smallest non-zero difference seen between consecutive reads (the effective resolution).
    pub min_step_ns: f64,
    /// Reads taken.
    pub reads: u64,
}

struct CostFn {
    reads: u64,
}

impl TickFn<(f64, f64)> for CostFn {
    fn call<C: Ticks>(self, c: C) -> (f64, f64) {
        // Warm the code path and the clock's data.
        for _ in 0..1000 {
            std::hint::black_box(c.now());
        }
        let start = c.now_ordered();
        let mut prev = start;
        let mut min_step = u64::MAX;
        for _ in 0..self.reads {
            let now = c.now();
            let d = now.wrapping_sub(prev);
            if d > 0 && d < min_step {
                min_step = d;
            }
            prev = now;
        }
        let total = c.to_ns(prev.wrapping_sub(start)) as f64;
        let step = if min_step == u64::MAX { 0.0 } else { to_ns_f64(&c, min_step) };
        (total / self.reads.max(1) as f64, step)
    }
}

fn to_ns_f64<C: Ticks>(c: &C, ticks: u64) -> f64 {
    // Scale up before converting so sub-nanosecond steps keep their precision.
    c.to_ns(ticks.saturating_mul(1000)) as f64 / 1000.0
}

/// Measures the cost of `reads` back-to-back reads of `clock` on the calling thread.
pub fn measure_cost(clock: &Clock, reads: u64) -> ClockCost {
    let (ns_per_read, min_step_ns) = clock.with(CostFn { reads });
    ClockCost { kind: clock.kind(), ns_per_read, min_step_ns, reads }
}

/// A stopwatch for progress lines and run lengths (monotonic clock, coarse use only).
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Self {
        Self(Instant::now())
    }
    /// Time since start.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_cost_is_measured_and_positive() {
        let c = Clock::monotonic();
        let cost = measure_cost(&c, 10_000);
        assert_eq!(cost.kind, ClockKind::Monotonic);
        assert!(cost.ns_per_read > 0.0 && cost.ns_per_read < 1e6, "{cost:?}");
        assert!(cost.min_step_ns >= 1.0, "{cost:?}");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn tsc_calibration_agrees_with_the_monotonic_clock() {
        let tsc = Clock::tsc(Duration::from_millis(20)).unwrap();
        let mono = Clock::monotonic();
        assert!(tsc.tsc_ghz().unwrap() > 0.1, "{tsc:?}");
        // A preemption between two paired reads skews one attempt; three must not all be off.
        let mut ratios = Vec::new();
        for _ in 0..3 {
            let (t0, m0) = (tsc.now_ns(), mono.now_ns());
            let sw = Stopwatch::start();
            while sw.elapsed() < Duration::from_millis(100) {
                std::hint::spin_loop();
            }
            let (dt, dm) = (tsc.now_ns() - t0, mono.now_ns() - m0);
            ratios.push(dt as f64 / dm as f64);
        }
        assert!(ratios.iter().any(|r| (0.95..1.05).contains(r)), "tsc/monotonic {ratios:?}");
    }

    #[test]
    fn conversions_round_trip() {
        let t = Tsc { ns_per_tick: 0.5, ticks_per_ns: 2.0 };
        assert_eq!(t.ticks_from_ns(1000), 2000);
        assert_eq!(t.to_ns(2000), 1000);
        assert_eq!(t.ticks_from_ns(0), 1);
    }
}
