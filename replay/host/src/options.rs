//! The run options the CLI, Python and the web server share: one set of names, one set of
//! defaults, checked in one place.

use lockstep_sdk::{Nanos, Price, Tier};
use lockstep_sim::{
    ExchangeConfig, FeeModel, LatencyChoice, LatencyModel, Models, QueueModel, SessionConfig,
    VenueBudgets,
};

/// Largest latency file `file:PATH` reads.
pub const MAX_LATENCY_FILE_BYTES: u64 = 512 << 20;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How strategies run and what the simulated venue does: the settings every front end takes,
/// under the same names (`--entry-latency-ns` on the command line, `entry_latency_ns` in
/// Python and JSON) with the same defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunOptions {
    /// Engine tier for WebAssembly strategies.
    #[serde(with = "tier_name")]
    pub tier: Tier,
    /// Fuel each strategy event may use before the strategy is halted.
    pub fuel_per_event: u64,
    /// Order-entry latency of the simulated venue, in ns.
    pub entry_latency_ns: i64,
    /// Latency of the venue's answers, in ns.
    pub feed_latency_ns: i64,
    /// Maker fee in basis points, decimal text (negative: rebate).
    pub maker_fee_bps: String,
    /// Taker fee in basis points, decimal text.
    pub taker_fee_bps: String,
    /// Venue budget: most actions one strategy call may return.
    pub max_actions_per_event: u64,
    /// Venue budget: most venue messages per market event and per second of tape time.
    pub max_messages_per_event: u64,
    /// Venue budget: most orders resting at once.
    pub max_resting_orders: u64,
    /// Venue budget: most timers pending at once.
    pub max_live_timers: u64,
    /// Venue budget: most timers fired per second of tape time.
    pub max_timers_per_sec: u64,
    /// Venue budget: venue messages and timers a strategy may cause over the whole run beyond
    /// its share per tape event.
    pub max_venue_work: u64,
    /// Venue budget: venue messages and timers each tape event adds to a strategy's allowance.
    pub venue_work_per_event: u64,
    /// The venue's queue-position model: `fifo` (exact on order-by-order tapes), or on L2
    /// tapes the probabilistic `power:N` (0 < N <= 10) or `log`.
    pub queue_model: String,
    /// The venue's latency model: `constant` (the two latencies above), a seeded
    /// distribution (`normal:MEAN,SD`, `lognormal:MEDIAN,SIGMA`, `uniform:LO,HI`,
    /// `exponential:MEAN`, ns, optionally `,seed=N`), `feed[:MULTIPLIER]` (the tape's own feed
    /// latency) or `file:PATH` (interpolated from recorded orders).
    pub latency_model: String,
}

impl Default for RunOptions {
    fn default() -> Self {
        let session = SessionConfig::default();
        let exchange = ExchangeConfig::default();
        let b = exchange.budgets;
        Self {
            tier: session.tier,
            fuel_per_event: session.fuel_per_event,
            entry_latency_ns: exchange.latency.entry.0,
            feed_latency_ns: exchange.latency.feed.0,
            maker_fee_bps: exchange.fees.maker_bps.to_string(),
            taker_fee_bps: exchange.fees.taker_bps.to_string(),
            max_actions_per_event: b.actions_per_event,
            max_messages_per_event: b.messages_per_event,
            max_resting_orders: b.resting_orders,
            max_live_timers: b.live_timers,
            max_timers_per_sec: b.timers_per_sec,
            max_venue_work: b.work_reserve,
            venue_work_per_event: b.work_per_event,
            queue_model: "fifo".to_owned(),
            latency_model: "constant".to_owned(),
        }
    }
}

/// The most fuel one event may be given (about a second of interpreter time): a bound that a
/// flag cannot remove.
pub const MAX_FUEL_PER_EVENT: u64 = 1_000_000_000;
/// The most any venue budget may be set to: far beyond honest strategies, still a bound.
pub const MAX_BUDGET: u64 = 10_000_000;
/// The most venue work one tape event may add to a strategy's allowance: the bound on what a
/// replay may cost per tape event, whatever the module.
pub const MAX_WORK_PER_EVENT: u64 = 10_000;

impl RunOptions {
    /// The fuel per event, checked against [`MAX_FUEL_PER_EVENT`].
    ///
    /// # Errors
    /// [`OptionsError::OutOfRange`] for 0 or more than the bound.
    pub fn fuel(&self) -> Result<u64, OptionsError> {
        in_range("fuel_per_event", self.fuel_per_event, MAX_FUEL_PER_EVENT)
    }

    /// The simulated venue these options describe.
    ///
    /// # Errors
    /// [`OptionsError`] for a negative latency, a fee that is not a decimal number, or a budget
    /// of 0 or above [`MAX_BUDGET`].
    pub fn exchange(&self) -> Result<ExchangeConfig, OptionsError> {
        let bps = |option: &'static str, v: &str| {
            Price::parse(v).ok_or_else(|| OptionsError::Fee { option, value: v.to_owned() })
        };
        for (option, v) in
            [("entry_latency_ns", self.entry_latency_ns), ("feed_latency_ns", self.feed_latency_ns)]
        {
            if v < 0 {
                return Err(OptionsError::NegativeLatency { option, value: v });
            }
        }
        Ok(ExchangeConfig {
            latency: LatencyModel {
                entry: Nanos(self.entry_latency_ns),
                feed: Nanos(self.feed_latency_ns),
            },
            fees: FeeModel {
                maker_bps: bps("maker_fee_bps", &self.maker_fee_bps)?,
                taker_bps: bps("taker_fee_bps", &self.taker_fee_bps)?,
            },
            budgets: VenueBudgets {
                actions_per_event: in_range(
                    "max_actions_per_event",
                    self.max_actions_per_event,
                    MAX_BUDGET,
                )?,
                messages_per_event: in_range(
                    "max_messages_per_event",
                    self.max_messages_per_event,
                    MAX_BUDGET,
                )?,
                resting_orders: in_range(
                    "max_resting_orders",
                    self.max_resting_orders,
                    MAX_BUDGET,
                )?,
                live_timers: in_range("max_live_timers", self.max_live_timers, MAX_BUDGET)?,
                timers_per_sec: in_range(
                    "max_timers_per_sec",
                    self.max_timers_per_sec,
                    MAX_BUDGET,
                )?,
                work_reserve: in_range("max_venue_work", self.max_venue_work, MAX_BUDGET)?,
                work_per_event: in_range(
                    "venue_work_per_event",
                    self.venue_work_per_event,
                    MAX_WORK_PER_EVENT,
                )?,
            },
        })
    }

    /// The venue's models when they are not the default ones (`None`: the latency and fees
    /// of [`RunOptions::exchange`] and FIFO queues).
    ///
    /// # Errors
    /// As [`RunOptions::exchange`], and [`OptionsError::Model`].
    pub fn models(&self) -> Result<Option<Models>, OptionsError> {
        let queue = QueueModel::parse(&self.queue_model)
            .map_err(|message| OptionsError::Model { message })?;
        let latency = LatencyChoice::parse(&self.latency_model)
            .map_err(|message| OptionsError::Model { message })?;
        if queue == QueueModel::Fifo && latency == LatencyChoice::Constant {
            return Ok(None);
        }
        let exchange = self.exchange()?;
        let mut m = Models::from_config(&exchange);
        m.queue_model(queue);
        let read = |path: &str| {
            lockstep_io::read_bounded(std::path::Path::new(path), MAX_LATENCY_FILE_BYTES)
                .map_err(|e| format!("latency model file:{path}: {e}"))
                .and_then(|b| String::from_utf8(b).map_err(|_| format!("{path}: not UTF-8 text")))
        };
        let model = latency
            .model(exchange.latency, read)
            .map_err(|message| OptionsError::Model { message })?;
        m.latency_shared(model);
        Ok(Some(m))
    }

    /// A session with these options (everything else the session's defaults).
    ///
    /// # Errors
    /// As [`RunOptions::exchange`] and [`RunOptions::models`].
    pub fn session(&self) -> Result<SessionConfig, OptionsError> {
        Ok(SessionConfig {
            tier: self.tier,
            fuel_per_event: self.fuel()?,
            exchange: self.exchange()?,
            models: self.models()?,
            ..SessionConfig::default()
        })
    }
}

/// A run option that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsError {
    /// A latency below zero.
    NegativeLatency {
        /// The option (`entry_latency_ns` or `feed_latency_ns`).
        option: &'static str,
        /// The value given.
        value: i64,
    },
    /// A fee that is not a decimal number of basis points.
    Fee {
        /// The option (`maker_fee_bps` or `taker_fee_bps`).
        option: &'static str,
        /// The text given.
        value: String,
    },
    /// A bound set to 0 (nothing could run) or beyond its most (it would bound nothing).
    OutOfRange {
        /// The option.
        option: &'static str,
        /// The value given.
        value: u64,
        /// The most it may be.
        max: u64,
    },
    /// A queue or latency model that is not known, has a parameter out of range, or whose
    /// file cannot be read.
    Model {
        /// What is wrong.
        message: String,
    },
}

fn in_range(option: &'static str, value: u64, max: u64) -> Result<u64, OptionsError> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(OptionsError::OutOfRange { option, value, max })
    }
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsError::NegativeLatency { option, value } => write!(
                f,
                "{option} is {value}: latencies must not be negative; give 0 or more nanoseconds"
            ),
            OptionsError::Fee { option, value } => write!(
                f,
                "{option} {:?} is not a decimal number of basis points, e.g. -0.5 or 2",
                lockstep_sdk::untrusted(value).max_chars(64).to_string()
            ),
            OptionsError::OutOfRange { option, value, max } => write!(
                f,
                "{option} is {value}: give 1 to {max} (a bound that large still stops a runaway strategy)"
            ),
            OptionsError::Model { message } => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for OptionsError {}

/// A [`Tier`] as its name in JSON.
mod tier_name {
    use lockstep_sdk::Tier;

    pub(super) fn serialize<S: serde::Serializer>(t: &Tier, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.name())
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tier, D::Error> {
        let name = <String as serde::Deserialize>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_core_defaults() {
        let o = RunOptions::default();
        assert_eq!(o.exchange().unwrap(), ExchangeConfig::default());
        assert_eq!(o.session().unwrap().fuel_per_event, SessionConfig::default().fuel_per_event);
    }

    #[test]
    fn bad_options_name_the_option() {
        let o = RunOptions { feed_latency_ns: -1, ..RunOptions::default() };
        assert!(o.exchange().unwrap_err().to_string().starts_with("feed_latency_ns is -1"));
        let o = RunOptions { taker_fee_bps: "x".into(), ..RunOptions::default() };
        assert!(o.exchange().unwrap_err().to_string().starts_with("taker_fee_bps \"x\""));
    }

    #[test]
    fn json_uses_the_same_names_and_refuses_unknown_keys() {
        let o: RunOptions =
            serde_json::from_str(r#"{"tier":"compiled","entry_latency_ns":5}"#).unwrap();
        assert_eq!((o.tier, o.entry_latency_ns), (Tier::Compiled, 5));
        assert_eq!(o.feed_latency_ns, RunOptions::default().feed_latency_ns);
        assert!(serde_json::from_str::<RunOptions>(r#"{"latency":5}"#).is_err());
    }
}
