//! Venue budgets: per-strategy limits on the work a strategy makes the simulated exchange do,
//! beyond the fuel of each call, and the error that halts a strategy crossing one.

use core::fmt;

/// Per-strategy limits on what a strategy may make the simulated exchange do, beyond the fuel
/// of each call. Crossing one halts that strategy (with [`BudgetExceeded`]) and freezes its
/// exchange session; the run and every other strategy go on. The defaults are far above what
/// an honest strategy does (see `replay run --help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VenueBudgets {
    /// Actions one call (`init` or one event) may return.
    pub actions_per_event: u64,
    /// Venue messages (orders arriving, answers delivered) processed for the strategy per
    /// market event and per second of tape time: the count starts afresh at every tape event
    /// and at every new second of tape time (and in the closing window). A strategy trading
    /// from a timer through hours without market data is counted per second, not over the
    /// whole gap; a loop that lets no tape time pass (orders re-sent at once on every reject
    /// at zero latency) crosses it.
    pub messages_per_event: u64,
    /// Orders resting at once.
    pub resting_orders: u64,
    /// Timers pending at once.
    pub live_timers: u64,
    /// Timers fired per second of tape time (a timer chain re-armed 1 ns ahead crosses it).
    pub timers_per_sec: u64,
    /// Venue work (messages processed and timers fired) a strategy may cause over the whole
    /// run beyond [`VenueBudgets::work_per_event`]'s share: the reserve for bursts and for
    /// hours of timers without market data.
    pub work_reserve: u64,
    /// Venue work each tape event adds to the strategy's allowance. With the reserve it bounds
    /// the total by the tape's length in events, whatever the pattern: a loop that keeps the
    /// venue busy across tape time (a reject loop at any latency, a timer chain, a flood
    /// spread thin) is halted, so no module makes a replay cost more than a small multiple of
    /// the same replay with a no-op strategy.
    pub work_per_event: u64,
}

impl VenueBudgets {
    /// The defaults, as a constant (for struct-update syntax in constants).
    pub const DEFAULT: Self = Self {
        actions_per_event: 256,
        messages_per_event: 100_000,
        resting_orders: 10_000,
        live_timers: 1_000,
        timers_per_sec: 100_000,
        work_reserve: 1_000_000,
        work_per_event: 32,
    };
}

impl Default for VenueBudgets {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which venue budget a strategy crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VenueBudget {
    /// [`VenueBudgets::actions_per_event`].
    ActionsPerEvent,
    /// [`VenueBudgets::messages_per_event`].
    MessagesPerEvent,
    /// [`VenueBudgets::resting_orders`].
    RestingOrders,
    /// [`VenueBudgets::live_timers`].
    LiveTimers,
    /// [`VenueBudgets::timers_per_sec`].
    TimersPerSec,
    /// [`VenueBudgets::work_reserve`] plus [`VenueBudgets::work_per_event`] per tape event.
    Work,
}

impl VenueBudget {
    /// A stable code for digests, in a range apart from the engine's error codes
    /// (`0x8000 | n`); never the wording of the message.
    pub fn code(self) -> u16 {
        0x8000
            | match self {
                VenueBudget::ActionsPerEvent => 1,
                VenueBudget::MessagesPerEvent => 2,
                VenueBudget::RestingOrders => 3,
                VenueBudget::LiveTimers => 4,
                VenueBudget::TimersPerSec => 5,
                VenueBudget::Work => 6,
            }
    }

    /// The budget in words.
    pub fn name(self) -> &'static str {
        match self {
            VenueBudget::ActionsPerEvent => "actions per event",
            VenueBudget::MessagesPerEvent => {
                "venue messages per market event or second of tape time"
            }
            VenueBudget::RestingOrders => "resting orders",
            VenueBudget::LiveTimers => "live timers",
            VenueBudget::TimersPerSec => "timers fired per second of tape time",
            VenueBudget::Work => {
                "venue messages and timers in all (the reserve plus a share per tape event so far)"
            }
        }
    }
    /// The `replay run` flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            VenueBudget::ActionsPerEvent => "--max-actions-per-event",
            VenueBudget::MessagesPerEvent => "--max-messages-per-event",
            VenueBudget::RestingOrders => "--max-resting-orders",
            VenueBudget::LiveTimers => "--max-live-timers",
            VenueBudget::TimersPerSec => "--max-timers-per-sec",
            VenueBudget::Work => "--max-venue-work (or --venue-work-per-event)",
        }
    }
}

/// A strategy crossed one of its [`VenueBudgets`]: it is halted, the run goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetExceeded {
    /// The budget.
    pub budget: VenueBudget,
    /// Its limit.
    pub limit: u64,
    /// The strategy's event (sequence number) at which it was crossed; `None`: in `init`.
    pub seq: Option<u64>,
    /// Local time (tape clock, ns) at which it was crossed.
    pub local_ts: i64,
}

impl fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "crossed its venue budget of {} {}", self.limit, self.budget.name())?;
        match self.seq {
            Some(seq) => write!(f, " at event seq {seq}")?,
            None => write!(f, " in init")?,
        }
        write!(
            f,
            " (local time {} ns); the strategy is halted, the run goes on; raise the limit with {} if this is intended",
            self.local_ts,
            self.budget.flag()
        )
    }
}

impl std::error::Error for BudgetExceeded {}
