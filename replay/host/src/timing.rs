//! The one place this crate reads a clock.
//!
//! Wall-clock time is used only to measure how long the replay takes per event (latency,
//! jitter, throughput) and to pace a replay in real time. It never reaches a strategy, the
//! simulated exchange or a digest: strategies see only the tape's timestamps, so runs stay
//! bit-identical however long they take.

use std::time::Instant;

/// A monotonic clock counting nanoseconds from its creation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    origin: Instant,
}

impl Clock {
    /// Starts the clock.
    #[allow(clippy::disallowed_methods, reason = "measurement only: see the module documentation")]
    pub(crate) fn start() -> Self {
        Self { origin: Instant::now() }
    }

    /// Nanoseconds since the clock started.
    #[inline]
    #[allow(clippy::disallowed_methods, reason = "measurement only: see the module documentation")]
    pub(crate) fn now(&self) -> u64 {
        Instant::now().duration_since(self.origin).as_nanos() as u64
    }

    /// Busy-waits until `ns` after the start (pacing; never sleeps, so wake-up latency is not
    /// added to the measurement).
    #[inline]
    pub(crate) fn spin_until(&self, ns: u64) {
        while self.now() < ns {
            std::hint::spin_loop();
        }
    }
}

/// A stopwatch for reporting how long work took (import speed, run time). Like the replay's
/// own clock it only measures: nothing it returns may feed a digest.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch(Clock);

impl Stopwatch {
    /// Starts timing.
    pub fn start() -> Self {
        Self(Clock::start())
    }
    /// Nanoseconds since the start.
    pub fn elapsed_ns(&self) -> u64 {
        self.0.now()
    }
}
