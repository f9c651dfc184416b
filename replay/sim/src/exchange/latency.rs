//! The built-in latency models beyond the constant one, chosen by name
//! ([`LatencyChoice::parse`]): seeded random delays from a distribution, the tape's own feed
//! latency, and delays interpolated from a recorded latency file, in the spirit of
//! hftbacktest's interpolated order latency. Each is a pure function of its arguments, so a run
//! is reproducible byte for byte.

use super::models::{Latency, LatencyContext, LatencyModel};
use lockstep_sdk::{InstrumentId, Nanos, SplitMix64};
use std::sync::Arc;

/// A distribution of delays, in ns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Uniform over `lo..=hi`.
    Uniform {
        /// Least delay.
        lo: f64,
        /// Most delay.
        hi: f64,
    },
    /// Normal, cut at zero.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// Log-normal: `median · e^(sigma·Z)`.
    LogNormal {
        /// Median.
        median: f64,
        /// Shape (the standard deviation of the log).
        sigma: f64,
    },
    /// Exponential.
    Exponential {
        /// Mean.
        mean: f64,
    },
}

/// Delays drawn from a distribution on the workspace's one PRNG ([`SplitMix64`]), seeded from
/// the model's seed, the direction, the instrument and the time, so the same request always
/// gets the same delay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomLatency {
    /// The distribution, for both directions.
    pub dist: Distribution,
    /// The seed.
    pub seed: u64,
}

impl RandomLatency {
    fn draw(&self, direction: u64, instrument: InstrumentId, t: Nanos) -> Nanos {
        let mut key = SplitMix64::new(self.seed ^ direction.rotate_left(56));
        let mixed = key.next_u64() ^ u64::from(instrument).rotate_left(40) ^ t.0 as u64;
        let mut r = SplitMix64::new(mixed);
        let mut u = || 1.0 - r.unit(); // in (0, 1]
        let z = |u1: f64, u2: f64| {
            libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
        };
        let v = match self.dist {
            Distribution::Uniform { lo, hi } => lo + (hi - lo) * (1.0 - u()),
            Distribution::Normal { mean, sd } => {
                let (a, b) = (u(), u());
                mean + sd * z(a, b)
            }
            Distribution::LogNormal { median, sigma } => {
                let (a, b) = (u(), u());
                median * libm::exp(sigma * z(a, b))
            }
            Distribution::Exponential { mean } => -mean * libm::log(u()),
        };
        Nanos(libm::round(v.clamp(0.0, 1e15)) as i64)
    }
}

impl Latency for RandomLatency {
    fn entry(&self, instrument: InstrumentId, sent: Nanos, _: &LatencyContext) -> Nanos {
        self.draw(1, instrument, sent)
    }
    fn feed(&self, instrument: InstrumentId, at: Nanos, _: &LatencyContext) -> Nanos {
        self.draw(2, instrument, at)
    }
    fn name(&self) -> String {
        let d = match self.dist {
            Distribution::Uniform { lo, hi } => format!("uniform {lo}..{hi} ns"),
            Distribution::Normal { mean, sd } => format!("normal, mean {mean} ns, sd {sd} ns"),
            Distribution::LogNormal { median, sigma } => {
                format!("log-normal, median {median} ns, sigma {sigma}")
            }
            Distribution::Exponential { mean } => format!("exponential, mean {mean} ns"),
        };
        format!("random: {d}, seed {}", self.seed)
    }
}

/// Both directions take the tape's own feed latency at the time (the instrument's last market
/// event's local time minus its exchange time) times `multiplier`; before the tape has shown
/// one, the constant model's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TapeFeedLatency {
    /// Scale of the tape's feed latency.
    pub multiplier: f64,
    /// Until the tape shows a feed latency.
    pub fallback: LatencyModel,
}

impl TapeFeedLatency {
    fn scaled(&self, ctx: &LatencyContext, fallback: Nanos) -> Nanos {
        match ctx.tape_feed {
            Some(f) => Nanos(libm::round(f.0.max(0) as f64 * self.multiplier) as i64),
            None => fallback,
        }
    }
}

impl Latency for TapeFeedLatency {
    fn entry(&self, _: InstrumentId, _: Nanos, ctx: &LatencyContext) -> Nanos {
        self.scaled(ctx, self.fallback.entry)
    }
    fn feed(&self, _: InstrumentId, _: Nanos, ctx: &LatencyContext) -> Nanos {
        self.scaled(ctx, self.fallback.feed)
    }
    fn name(&self) -> String {
        format!(
            "the tape's feed latency × {} (before the first: entry {} ns, feed {} ns)",
            self.multiplier, self.fallback.entry.0, self.fallback.feed.0
        )
    }
}

/// Delays interpolated from recorded orders: each row is an order's request time, the time the
/// venue stamped it, and the time its answer arrived. Entry is `exchange − request` at the
/// request time, and the answer's delay `response − exchange` at the venue's time, each
/// linear between rows and held at the ends.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedLatency {
    /// (request time, entry delay), by request time.
    entry: Vec<(i64, i64)>,
    /// (venue time, answer delay), by venue time.
    answer: Vec<(i64, i64)>,
    /// Where the rows came from, for the name.
    source: String,
}

/// Most rows a latency file may hold.
pub const MAX_LATENCY_ROWS: usize = 10_000_000;

impl RecordedLatency {
    /// Parses a latency file: a header `req_ts,exch_ts,resp_ts` then one row of three
    /// nanosecond times per order, sorted by request time; `source` names it in messages.
    ///
    /// # Errors
    /// A message naming the line and what is wrong with it.
    pub fn parse(text: &str, source: &str) -> Result<Self, String> {
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, h)) if h.trim().replace(' ', "") == "req_ts,exch_ts,resp_ts" => {}
            _ => {
                return Err(format!(
                    "{source}: the first line must be the header req_ts,exch_ts,resp_ts"
                ));
            }
        }
        let mut entry: Vec<(i64, i64)> = Vec::new();
        let mut answer = Vec::new();
        for (k, line) in lines {
            let at = |what: &str| format!("{source}, line {}: {what}", k + 1);
            if entry.len() >= MAX_LATENCY_ROWS {
                return Err(at(&format!("more than {MAX_LATENCY_ROWS} rows")));
            }
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let [req, exch, resp] = cells[..] else {
                return Err(at(&format!(
                    "{} columns, expected 3 (req_ts,exch_ts,resp_ts)",
                    cells.len()
                )));
            };
            let num = |c: &str, name: &str| {
                c.parse::<i64>()
                    .map_err(|_| at(&format!("{name} {c:?} is not a whole number of ns")))
            };
            let (req, exch, resp) =
                (num(req, "req_ts")?, num(exch, "exch_ts")?, num(resp, "resp_ts")?);
            if req < 0 || exch < 0 || resp < 0 {
                return Err(at("a time is negative"));
            }
            if exch < req || resp < exch {
                return Err(at("the times go back: need req_ts <= exch_ts <= resp_ts"));
            }
            if entry.last().is_some_and(|&(t, _)| req < t) {
                return Err(at("req_ts goes back: sort the rows by request time"));
            }
            entry.push((req, exch - req));
            answer.push((exch, resp - exch));
        }
        if entry.is_empty() {
            return Err(format!("{source}: no rows after the header"));
        }
        answer.sort_by_key(|&(t, _)| t);
        Ok(Self { entry, answer, source: source.to_owned() })
    }
}

/// The delay at `t` over `rows` (sorted by time): linear between rows, held at the ends.
fn interpolate(rows: &[(i64, i64)], t: i64) -> i64 {
    let k = rows.partition_point(|&(x, _)| x <= t);
    match (k.checked_sub(1).map(|i| rows[i]), rows.get(k)) {
        (Some((_, d)), None) | (None, Some(&(_, d))) => d,
        (Some((x0, d0)), Some(&(x1, d1))) if x1 > x0 => {
            let f = (t - x0) as f64 / (x1 - x0) as f64;
            libm::round(d0 as f64 + (d1 - d0) as f64 * f) as i64
        }
        (Some((_, d)), Some(_)) => d,
        (None, None) => 0,
    }
}

impl Latency for RecordedLatency {
    fn entry(&self, _: InstrumentId, sent: Nanos, _: &LatencyContext) -> Nanos {
        Nanos(interpolate(&self.entry, sent.0))
    }
    fn feed(&self, _: InstrumentId, at: Nanos, _: &LatencyContext) -> Nanos {
        Nanos(interpolate(&self.answer, at.0))
    }
    fn name(&self) -> String {
        format!("interpolated from {} ({} orders)", self.source, self.entry.len())
    }
}

/// A latency model by name, as the front ends take it.
#[derive(Clone, Debug, PartialEq)]
pub enum LatencyChoice {
    /// The constant model of the venue's settings.
    Constant,
    /// [`RandomLatency`].
    Random(RandomLatency),
    /// [`TapeFeedLatency`], with its multiplier.
    TapeFeed(f64),
    /// [`RecordedLatency`] from the file at this path.
    File(String),
}

impl LatencyChoice {
    /// Parses `constant`, `uniform:LO,HI`, `normal:MEAN,SD`, `lognormal:MEDIAN,SIGMA`,
    /// `exponential:MEAN` (ns; each may end in `,seed=N`), `feed` or `feed:MULTIPLIER`, or
    /// `file:PATH`.
    ///
    /// # Errors
    /// A message naming what is wrong and what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (kind, args) = t.split_once(':').unwrap_or((t, ""));
        let bad = |why: &str| {
            format!(
                "latency model {:?}: {why}; give constant, uniform:LO,HI, normal:MEAN,SD, \
                 lognormal:MEDIAN,SIGMA, exponential:MEAN (ns, each optionally ending in ,seed=N), \
                 feed[:MULTIPLIER] or file:PATH",
                lockstep_sdk::untrusted(t).max_chars(80).to_string()
            )
        };
        match kind {
            "constant" if args.is_empty() => return Ok(Self::Constant),
            "feed" if args.is_empty() => return Ok(Self::TapeFeed(1.0)),
            "feed" => {
                return match args.trim().parse::<f64>() {
                    Ok(m) if m > 0.0 && m <= 1000.0 => Ok(Self::TapeFeed(m)),
                    _ => Err(bad("the multiplier must be a number in (0, 1000]")),
                };
            }
            "file" if !args.trim().is_empty() => return Ok(Self::File(args.trim().to_owned())),
            _ => {}
        }
        let mut seed = 0u64;
        let mut nums = Vec::new();
        for a in args.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if let Some(s) = a.strip_prefix("seed=") {
                seed = s.parse().map_err(|_| bad("the seed must be a whole number"))?;
            } else {
                let v: f64 = a.parse().map_err(|_| bad(&format!("{a:?} is not a number")))?;
                if !(v.is_finite() && (0.0..=1e12).contains(&v)) {
                    return Err(bad("values must be in 0..=1e12 (ns)"));
                }
                nums.push(v);
            }
        }
        let dist = match (kind, &nums[..]) {
            ("uniform", &[lo, hi]) if lo <= hi => Distribution::Uniform { lo, hi },
            ("normal", &[mean, sd]) => Distribution::Normal { mean, sd },
            ("lognormal", &[median, sigma]) if median > 0.0 && sigma <= 10.0 => {
                Distribution::LogNormal { median, sigma }
            }
            ("exponential", &[mean]) => Distribution::Exponential { mean },
            ("uniform" | "normal" | "lognormal" | "exponential", _) => {
                return Err(bad("wrong parameters for this distribution"));
            }
            _ => return Err(bad("not a known model")),
        };
        Ok(Self::Random(RandomLatency { dist, seed }))
    }

    /// The model, with `constant` the venue's constant latencies and `read` the contents of
    /// a file (for `file:`).
    ///
    /// # Errors
    /// The file's read or parse error.
    pub fn model(
        &self,
        constant: LatencyModel,
        read: impl FnOnce(&str) -> Result<String, String>,
    ) -> Result<Arc<dyn Latency>, String> {
        Ok(match self {
            Self::Constant => Arc::new(constant),
            Self::Random(r) => Arc::new(*r),
            Self::TapeFeed(multiplier) => {
                Arc::new(TapeFeedLatency { multiplier: *multiplier, fallback: constant })
            }
            Self::File(path) => Arc::new(RecordedLatency::parse(&read(path)?, path)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: LatencyContext = LatencyContext { tape_feed: None };

    #[test]
    fn random_delays_are_a_function_of_their_arguments_and_fit_their_distribution() {
        let r =
            RandomLatency { dist: Distribution::Normal { mean: 20_000.0, sd: 2_000.0 }, seed: 7 };
        let d: Vec<i64> = (0..10_000).map(|k| r.entry(0, Nanos(k * 1_000), &CTX).0).collect();
        assert_eq!(
            d,
            (0..10_000).map(|k| r.entry(0, Nanos(k * 1_000), &CTX).0).collect::<Vec<_>>()
        );
        let mean = d.iter().sum::<i64>() as f64 / d.len() as f64;
        assert!((mean - 20_000.0).abs() < 100.0, "{mean}");
        let other = RandomLatency { seed: 8, ..r };
        assert_ne!(
            d[0..50],
            (0..50).map(|k| other.entry(0, Nanos(k * 1_000), &CTX).0).collect::<Vec<_>>()[..]
        );
        assert_ne!(r.entry(0, Nanos(5), &CTX), r.feed(0, Nanos(5), &CTX));
        let e = RandomLatency { dist: Distribution::Exponential { mean: 1_000.0 }, seed: 1 };
        assert!((0..1000).all(|k| e.feed(1, Nanos(k), &CTX).0 >= 0));
        let u = RandomLatency { dist: Distribution::Uniform { lo: 10.0, hi: 20.0 }, seed: 1 };
        assert!((0..1000).all(|k| (10..=20).contains(&u.entry(0, Nanos(k), &CTX).0)));
    }

    #[test]
    fn the_tape_feed_model_follows_the_tape() {
        let f = TapeFeedLatency { multiplier: 2.0, fallback: LatencyModel::default() };
        let seen = LatencyContext { tape_feed: Some(Nanos(1_500)) };
        assert_eq!(f.entry(0, Nanos(0), &seen), Nanos(3_000));
        assert_eq!(f.feed(0, Nanos(0), &CTX), LatencyModel::default().feed);
    }

    #[test]
    fn recorded_latencies_interpolate_and_bad_files_say_where() {
        let r =
            RecordedLatency::parse("req_ts,exch_ts,resp_ts\n100,150,250\n200,400,420\n", "lat.csv")
                .unwrap();
        assert_eq!(r.entry(0, Nanos(0), &CTX), Nanos(50));
        assert_eq!(r.entry(0, Nanos(150), &CTX), Nanos(125));
        assert_eq!(r.entry(0, Nanos(900), &CTX), Nanos(200));
        assert_eq!(r.feed(0, Nanos(275), &CTX), Nanos(60));
        for (text, says) in [
            ("a,b,c\n1,2,3", "header"),
            ("req_ts,exch_ts,resp_ts\n", "no rows"),
            ("req_ts,exch_ts,resp_ts\n1,2", "line 2: 2 columns"),
            ("req_ts,exch_ts,resp_ts\n1,2,x", "line 2: resp_ts"),
            ("req_ts,exch_ts,resp_ts\n-1,2,3", "negative"),
            ("req_ts,exch_ts,resp_ts\n5,2,3", "go back"),
            ("req_ts,exch_ts,resp_ts\n5,6,7\n\n4,6,7", "line 4: req_ts goes back"),
        ] {
            let e = RecordedLatency::parse(text, "lat.csv").unwrap_err();
            assert!(e.contains(says) && e.starts_with("lat.csv"), "{text:?}: {e}");
        }
    }

    #[test]
    fn names_parse_or_say_what_is_accepted() {
        assert_eq!(LatencyChoice::parse("constant"), Ok(LatencyChoice::Constant));
        assert_eq!(LatencyChoice::parse("feed"), Ok(LatencyChoice::TapeFeed(1.0)));
        assert_eq!(LatencyChoice::parse("feed:1.5"), Ok(LatencyChoice::TapeFeed(1.5)));
        assert_eq!(
            LatencyChoice::parse("normal:20000,2000,seed=3"),
            Ok(LatencyChoice::Random(RandomLatency {
                dist: Distribution::Normal { mean: 20_000.0, sd: 2_000.0 },
                seed: 3
            }))
        );
        for bad in [
            "gamma:1",
            "uniform:5,1",
            "normal:1",
            "feed:-1",
            "file:",
            "normal:1,x",
            "lognormal:0,1",
        ] {
            let e = LatencyChoice::parse(bad).unwrap_err();
            assert!(e.contains("latency model") && e.contains("constant, uniform"), "{bad}: {e}");
        }
    }
}
