//! What a strategy's trading came to: money, resting orders, counters and per-instrument
//! results, as the session reports them.

use super::budget::BudgetExceeded;
use core::fmt;
use lockstep_sdk::{InstrumentId, ONE, OrderId, Price, Qty, Side};

/// An amount of money: fixed-point with 8 decimals in an `i128` (never `f64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub i128);

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let sign = if v < 0 { "-" } else { "" };
        let a = v.unsigned_abs();
        let one = ONE as u128;
        let frac = format!("{:08}", a % one);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            write!(f, "{sign}{}", a / one)
        } else {
            write!(f, "{sign}{}.{frac}", a / one)
        }
    }
}

/// One of a strategy's orders resting at the simulated venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestingOrder {
    /// Instrument.
    pub instrument: InstrumentId,
    /// The strategy's order id.
    pub id: OrderId,
    /// Side.
    pub side: Side,
    /// Limit price.
    pub price: Price,
    /// Quantity still open.
    pub leaves: Qty,
    /// Quantity ahead of it in the queue.
    pub ahead: Qty,
}

/// Counters of what a strategy asked the exchange to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExchangeStats {
    /// Orders placed (limit and market).
    pub orders: u64,
    /// Cancels requested.
    pub cancels: u64,
    /// Replaces requested.
    pub replaces: u64,
    /// Requests rejected.
    pub rejects: u64,
    /// Timers set.
    pub timers: u64,
    /// Signals published (recorded in the digest, not executed).
    pub signals: u64,
    /// Action records that did not decode.
    pub invalid_actions: u64,
    /// Timers or orders dropped because too many were pending.
    pub dropped: u64,
    /// Of the rejects, cancels and replaces that came too late: the order had filled or been
    /// cancelled while the request was in flight (a real venue's "too late to cancel"). The
    /// rest of the rejects are requests the venue refused on their merits.
    pub too_late: u64,
}

impl ExchangeStats {
    /// Requests the strategy sent the venue: orders, cancels and replaces.
    pub fn requests(&self) -> u64 {
        self.orders.saturating_add(self.cancels).saturating_add(self.replaces)
    }

    /// Share of requests refused on their merits (rejects less those too late), 0 with none.
    pub fn reject_rate(&self) -> f64 {
        ratio(self.rejects.saturating_sub(self.too_late), self.requests())
    }

    /// Share of requests that came too late.
    pub fn too_late_rate(&self) -> f64 {
        ratio(self.too_late, self.requests())
    }
}

#[allow(clippy::cast_precision_loss, reason = "a rate for people, not money")]
fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

/// The result for one instrument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstrumentSummary {
    /// Instrument id.
    pub instrument: InstrumentId,
    /// Net position at the end.
    pub position: Qty,
    /// Quantity bought.
    pub bought: Qty,
    /// Quantity sold.
    pub sold: Qty,
    /// Fills as maker.
    pub maker_fills: u64,
    /// Fills as taker.
    pub taker_fills: u64,
    /// Cash flow of all fills (sells minus buys).
    pub cash: Money,
    /// Fees paid (negative: rebates received).
    pub fees: Money,
    /// Price the position is marked at (mid of the final book, else the last trade or quote).
    pub mark: Price,
    /// Cash + position × mark − fees.
    pub pnl: Money,
}

/// What a strategy's trading came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExchangeSummary {
    /// Per instrument traded (instruments without fills are left out).
    pub instruments: Vec<InstrumentSummary>,
    /// Request counters.
    pub stats: ExchangeStats,
    /// Orders still resting at the end.
    pub open_orders: usize,
    /// Total fills.
    pub fills: u64,
    /// Total PnL over all instruments, each in its own currency (the tape header names them;
    /// the total means something only where they share one).
    pub pnl: Money,
    /// Total fees.
    pub fees: Money,
    /// The venue budget the strategy crossed, if any (it was halted there).
    pub budget_exceeded: Option<BudgetExceeded>,
}
