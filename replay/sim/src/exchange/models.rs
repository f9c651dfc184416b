//! The simulated venue's models, each a small type behind a trait so a user can plug their own:
//! [`Latency`] (when an order reaches the venue and an answer reaches the strategy), [`Fees`]
//! (what a fill costs) and [`QueuePosition`] (how a resting order's place in the queue moves).
//! The built-ins are [`LatencyModel`], [`FeeModel`] and [`FifoQueue`]; [`Models`] bundles one of
//! each for a session.
//!
//! Models are part of the determinism contract: given the same arguments they must return the
//! same values (no clock, no randomness unless seeded from the arguments, no hash-map order).

use super::budget::VenueBudgets;
use super::summary::Money;
use core::fmt;
use lockstep_sdk::{InstrumentId, Nanos, ONE, Price, Qty};
use std::sync::Arc;

/// Settings of the simulated exchange.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExchangeConfig {
    /// Latencies.
    pub latency: LatencyModel,
    /// Fees.
    pub fees: FeeModel,
    /// Per-strategy limits on the work a strategy makes the exchange do.
    pub budgets: VenueBudgets,
}

/// When an order reaches the venue and when the venue's answer reaches the strategy. A negative
/// delay counts as zero.
pub trait Latency: Send + Sync {
    /// Delay from a strategy's order action, emitted at local time `sent`, to the venue.
    fn entry(&self, instrument: InstrumentId, sent: Nanos) -> Nanos;
    /// Delay from an answer the venue makes at `at` (ack, fill, reject, cancel) to the strategy.
    fn feed(&self, instrument: InstrumentId, at: Nanos) -> Nanos;
}

/// What one fill costs.
pub trait Fees: Send + Sync {
    /// The fee on a fill of `notional` (price × quantity) as maker (a resting order) or taker;
    /// negative: a rebate.
    fn fee(&self, instrument: InstrumentId, notional: Money, maker: bool) -> Money;
}

/// How a resting order's place in its price level's queue moves: the quantity `ahead` of it.
pub trait QueuePosition: Send + Sync {
    /// Quantity ahead of an order that joins a level showing `visible`.
    fn on_join(&self, visible: Qty) -> Qty;
    /// A trade of `traded` at the order's price: the quantity that fills the order (before its
    /// own size caps it) and the quantity ahead afterwards.
    fn on_trade_at(&self, ahead: Qty, traded: Qty) -> (Qty, Qty);
    /// An L2 update set the level to `level` in total: the quantity ahead afterwards.
    fn on_level(&self, ahead: Qty, level: Qty) -> Qty;
    /// `removed` left the level (a cancel or a reduction); `earlier` says whether it had joined
    /// before the order (L3 data knows; L2 never calls this): the quantity ahead afterwards.
    fn on_removed(&self, ahead: Qty, removed: Qty, earlier: bool) -> Qty;
}

/// Constant order-entry and feed latency: the built-in [`Latency`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencyModel {
    /// Strategy to exchange.
    pub entry: Nanos,
    /// Exchange to strategy, for the exchange's answers.
    pub feed: Nanos,
}

impl Default for LatencyModel {
    fn default() -> Self {
        Self { entry: Nanos(20_000), feed: Nanos(20_000) }
    }
}

impl Latency for LatencyModel {
    fn entry(&self, _: InstrumentId, _: Nanos) -> Nanos {
        self.entry
    }
    fn feed(&self, _: InstrumentId, _: Nanos) -> Nanos {
        self.feed
    }
}

/// Fees in basis points of notional (fixed-point with 8 decimals, like [`Price`]; negative
/// values are rebates): the built-in [`Fees`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeModel {
    /// Fee on fills of resting orders.
    pub maker_bps: Price,
    /// Fee on fills of orders that take liquidity.
    pub taker_bps: Price,
}

impl Fees for FeeModel {
    fn fee(&self, _: InstrumentId, notional: Money, maker: bool) -> Money {
        let bps = if maker { self.maker_bps.0 } else { self.taker_bps.0 };
        Money(notional.0.saturating_mul(i128::from(bps)) / (10_000 * i128::from(ONE)))
    }
}

/// First in, first out behind the quantity visible when the order joined: the built-in
/// [`QueuePosition`]. Trades at the price consume the queue ahead first; a cancel advances
/// it only if the cancelled order had joined earlier (L3); an absolute level update can only
/// bound it (L2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FifoQueue;

impl QueuePosition for FifoQueue {
    fn on_join(&self, visible: Qty) -> Qty {
        visible
    }
    fn on_trade_at(&self, ahead: Qty, traded: Qty) -> (Qty, Qty) {
        let fill = traded.0.saturating_sub(ahead.0).max(0);
        (Qty(fill), Qty(ahead.0.saturating_sub(traded.0).max(0)))
    }
    fn on_level(&self, ahead: Qty, level: Qty) -> Qty {
        Qty(ahead.0.min(level.0))
    }
    fn on_removed(&self, ahead: Qty, removed: Qty, earlier: bool) -> Qty {
        if earlier { Qty(ahead.0.saturating_sub(removed.0).max(0)) } else { ahead }
    }
}

/// One of each model, shared by every strategy's simulated exchange in a session.
#[derive(Clone)]
pub struct Models {
    pub(crate) latency: Arc<dyn Latency>,
    pub(crate) fees: Arc<dyn Fees>,
    pub(crate) queue: Arc<dyn QueuePosition>,
}

impl Models {
    /// The built-in models with `config`'s latency and fees, and [`FifoQueue`].
    pub fn from_config(config: &ExchangeConfig) -> Self {
        Self {
            latency: Arc::new(config.latency),
            fees: Arc::new(config.fees),
            queue: Arc::new(FifoQueue),
        }
    }

    /// Replaces the latency model. Default: [`LatencyModel`] from the exchange settings.
    pub fn latency(&mut self, model: impl Latency + 'static) -> &mut Self {
        self.latency = Arc::new(model);
        self
    }

    /// Replaces the fee model. Default: [`FeeModel`] from the exchange settings.
    pub fn fees(&mut self, model: impl Fees + 'static) -> &mut Self {
        self.fees = Arc::new(model);
        self
    }

    /// Replaces the queue-position model. Default: [`FifoQueue`].
    pub fn queue(&mut self, model: impl QueuePosition + 'static) -> &mut Self {
        self.queue = Arc::new(model);
        self
    }
}

impl Default for Models {
    fn default() -> Self {
        Self::from_config(&ExchangeConfig::default())
    }
}

impl fmt::Debug for Models {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Models").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_queue_consumes_the_queue_ahead_first() {
        let q = FifoQueue;
        assert_eq!(q.on_join(Qty(5)), Qty(5));
        assert_eq!(q.on_trade_at(Qty(5), Qty(6)), (Qty(1), Qty(0)));
        assert_eq!(q.on_trade_at(Qty(5), Qty(3)), (Qty(0), Qty(2)));
        assert_eq!(q.on_level(Qty(5), Qty(2)), Qty(2));
        assert_eq!(q.on_level(Qty(2), Qty(9)), Qty(2));
        assert_eq!(q.on_removed(Qty(5), Qty(2), true), Qty(3));
        assert_eq!(q.on_removed(Qty(5), Qty(2), false), Qty(5));
    }

    #[test]
    fn bps_fees_round_toward_zero_and_rebate() {
        let f = FeeModel { maker_bps: Price(-ONE), taker_bps: Price(2 * ONE) };
        let notional = Money(i128::from(ONE) * 10_000);
        assert_eq!(f.fee(0, notional, false), Money(2 * i128::from(ONE)));
        assert_eq!(f.fee(0, notional, true), Money(-i128::from(ONE)));
    }
}
