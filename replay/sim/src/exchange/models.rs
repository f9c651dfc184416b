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

/// What the venue knows when it asks a [`Latency`] model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencyContext {
    /// The feed latency of the instrument's last market event on the tape (its local time
    /// minus its exchange time), when the tape has both.
    pub tape_feed: Option<Nanos>,
}

/// When an order reaches the venue and when the venue's answer reaches the strategy. A negative
/// delay counts as zero.
pub trait Latency: Send + Sync {
    /// Delay from a strategy's order action, emitted at local time `sent`, to the venue.
    fn entry(&self, instrument: InstrumentId, sent: Nanos, ctx: &LatencyContext) -> Nanos;
    /// Delay from an answer the venue makes at `at` (ack, fill, reject, cancel) to the strategy.
    fn feed(&self, instrument: InstrumentId, at: Nanos, ctx: &LatencyContext) -> Nanos;
    /// The model's name and parameters, for the report.
    fn name(&self) -> String {
        "custom".to_owned()
    }
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
    /// An L2 update set the level from `prev` to `level` in total: the quantity ahead
    /// afterwards.
    fn on_level(&self, ahead: Qty, prev: Qty, level: Qty) -> Qty;
    /// `removed` left the level (a cancel or a reduction); `earlier` says whether it had joined
    /// before the order (L3 data knows; L2 never calls this): the quantity ahead afterwards.
    fn on_removed(&self, ahead: Qty, removed: Qty, earlier: bool) -> Qty;
    /// The model's name and parameters, for the report.
    fn name(&self) -> String {
        "custom".to_owned()
    }
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
    fn entry(&self, _: InstrumentId, _: Nanos, _: &LatencyContext) -> Nanos {
        self.entry
    }
    fn feed(&self, _: InstrumentId, _: Nanos, _: &LatencyContext) -> Nanos {
        self.feed
    }
    fn name(&self) -> String {
        format!("constant: entry {} ns, feed {} ns", self.entry.0, self.feed.0)
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

/// First in, first out behind the quantity visible when the order joined: the default
/// [`QueuePosition`]. Trades at the price consume the queue ahead first. On an order-by-order
/// (L3) tape a cancel advances it only if the cancelled order had joined earlier, so the
/// position is exact. On an L2 tape a level's decrease is taken to come from behind the order
/// (the cautious choice): it can only bound the quantity ahead.
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
    fn on_level(&self, ahead: Qty, _prev: Qty, level: Qty) -> Qty {
        Qty(ahead.0.min(level.0))
    }
    fn on_removed(&self, ahead: Qty, removed: Qty, earlier: bool) -> Qty {
        if earlier { Qty(ahead.0.saturating_sub(removed.0).max(0)) } else { ahead }
    }
    fn name(&self) -> String {
        "fifo (exact on order-by-order tapes; L2 decreases taken from behind)".to_owned()
    }
}

/// How likely a level's decrease is to come from ahead of the order, in the two families
/// hftbacktest documents for its probabilistic queue models: with `front` the quantity ahead
/// and `back` the rest of the level, the share from behind is `f(back) / (f(back) + f(front))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum QueueFamily {
    /// `f(x) = x^n` (`n` in (0, 10]): the larger `n`, the more a decrease comes from the
    /// longer side.
    Power(f64),
    /// `f(x) = ln(1 + x)`.
    Log,
}

/// A probabilistic [`QueuePosition`]: trades and L3 cancels as [`FifoQueue`]; an L2 level's
/// decrease advances the order by the share [`QueueFamily`] gives to the quantity ahead.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbQueue {
    /// The family.
    pub family: QueueFamily,
}

impl ProbQueue {
    /// The share of a decrease that comes from behind, with `front` ahead and `back` behind.
    fn share_behind(&self, front: f64, back: f64) -> f64 {
        let f = |x: f64| match self.family {
            QueueFamily::Power(n) => libm::pow(x, n),
            QueueFamily::Log => libm::log1p(x),
        };
        let (fb, ff) = (f(back), f(front));
        let p = fb / (fb + ff);
        if p.is_finite() { p } else { 1.0 }
    }
}

impl QueuePosition for ProbQueue {
    fn on_join(&self, visible: Qty) -> Qty {
        FifoQueue.on_join(visible)
    }
    fn on_trade_at(&self, ahead: Qty, traded: Qty) -> (Qty, Qty) {
        FifoQueue.on_trade_at(ahead, traded)
    }
    fn on_level(&self, ahead: Qty, prev: Qty, level: Qty) -> Qty {
        let decrease = prev.0.saturating_sub(level.0);
        if decrease <= 0 {
            return Qty(ahead.0.min(level.0));
        }
        // In lots of the fixed-point unit, as f64: exact below 2^53 units.
        let (front, back) = (ahead.0 as f64, prev.0.saturating_sub(ahead.0).max(0) as f64);
        let behind = self.share_behind(front, back);
        let d = decrease as f64;
        // The part from ahead advances the order; what the back cannot hold comes from ahead.
        let est = front - (1.0 - behind) * d + (back - behind * d).min(0.0);
        Qty((libm::floor(est) as i64).clamp(0, level.0.max(0)).min(ahead.0))
    }
    fn on_removed(&self, ahead: Qty, removed: Qty, earlier: bool) -> Qty {
        FifoQueue.on_removed(ahead, removed, earlier)
    }
    fn name(&self) -> String {
        match self.family {
            QueueFamily::Power(n) => format!("probabilistic, power family, n = {n}"),
            QueueFamily::Log => "probabilistic, log family".to_owned(),
        }
    }
}

/// The built-in queue models by name, as the front ends take them: `fifo`, `power:N` or
/// `log`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum QueueModel {
    /// [`FifoQueue`].
    Fifo,
    /// [`ProbQueue`] in a family.
    Prob(QueueFamily),
}

impl QueueModel {
    /// Parses `fifo`, `power:N` (`N` in (0, 10]) or `log`.
    ///
    /// # Errors
    /// A message naming what is wrong and what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        match t.split_once(':') {
            None if t == "fifo" => Ok(Self::Fifo),
            None if t == "log" => Ok(Self::Prob(QueueFamily::Log)),
            Some(("power", n)) => match n.trim().parse::<f64>() {
                Ok(n) if n > 0.0 && n <= 10.0 => Ok(Self::Prob(QueueFamily::Power(n))),
                _ => Err(format!(
                    "queue model {t:?}: the power family's exponent must be a number in (0, 10], e.g. power:2"
                )),
            },
            _ => Err(format!(
                "queue model {:?} is not known: give fifo, power:N (0 < N <= 10) or log",
                lockstep_sdk::untrusted(t).max_chars(64).to_string()
            )),
        }
    }

    /// The model.
    pub fn model(self) -> Arc<dyn QueuePosition> {
        match self {
            Self::Fifo => Arc::new(FifoQueue),
            Self::Prob(family) => Arc::new(ProbQueue { family }),
        }
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

    /// Replaces the queue-position model with a built-in one.
    pub fn queue_model(&mut self, model: QueueModel) -> &mut Self {
        self.queue = model.model();
        self
    }

    /// The queue-position model's name, for the report.
    pub fn queue_name(&self) -> String {
        self.queue.name()
    }

    /// The latency model's name, for the report.
    pub fn latency_name(&self) -> String {
        self.latency.name()
    }

    /// Replaces the latency model with a shared one.
    pub fn latency_shared(&mut self, model: Arc<dyn Latency>) -> &mut Self {
        self.latency = model;
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
        assert_eq!(q.on_level(Qty(5), Qty(9), Qty(2)), Qty(2));
        assert_eq!(q.on_level(Qty(2), Qty(2), Qty(9)), Qty(2));
        assert_eq!(q.on_removed(Qty(5), Qty(2), true), Qty(3));
        assert_eq!(q.on_removed(Qty(5), Qty(2), false), Qty(5));
    }

    #[test]
    fn probabilistic_queues_advance_by_the_share_from_ahead() {
        let power = |n| ProbQueue { family: QueueFamily::Power(n) };
        // 10 ahead, 30 behind, the level falls by 8. Power 1: a quarter from ahead.
        assert_eq!(power(1.0).on_level(Qty(10), Qty(40), Qty(32)), Qty(8));
        // Power 2: f(30)/(f(30)+f(10)) = 0.9 from behind, so 0.8 from ahead.
        assert_eq!(power(2.0).on_level(Qty(10), Qty(40), Qty(32)), Qty(9));
        // More than the back holds must come from ahead: 2 ahead, 10 behind, 11 leave.
        assert_eq!(power(2.0).on_level(Qty(2), Qty(12), Qty(1)), Qty(1));
        assert_eq!(power(1.0).on_level(Qty(2), Qty(12), Qty(1)), Qty(0));
        // Increases join behind; a level below the queue caps it.
        assert_eq!(power(2.0).on_level(Qty(10), Qty(40), Qty(50)), Qty(10));
        let log = ProbQueue { family: QueueFamily::Log };
        // ln(31) / (ln(31) + ln(11)) = 0.589 from behind: 3.29 of the 8 from ahead.
        assert_eq!(log.on_level(Qty(10), Qty(40), Qty(32)), Qty(6));
        // Nothing behind: all from ahead.
        assert_eq!(power(3.0).on_level(Qty(40), Qty(40), Qty(32)), Qty(32));
        for bad in ["power:0", "power:11", "power:x", "poisson", ""] {
            assert!(QueueModel::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(QueueModel::parse("power:2"), Ok(QueueModel::Prob(QueueFamily::Power(2.0))));
        assert_eq!(QueueModel::parse(" fifo "), Ok(QueueModel::Fifo));
    }

    #[test]
    fn bps_fees_round_toward_zero_and_rebate() {
        let f = FeeModel { maker_bps: Price(-ONE), taker_bps: Price(2 * ONE) };
        let notional = Money(i128::from(ONE) * 10_000);
        assert_eq!(f.fee(0, notional, false), Money(2 * i128::from(ONE)));
        assert_eq!(f.fee(0, notional, true), Money(-i128::from(ONE)));
    }
}
