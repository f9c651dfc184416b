//! Parameter sweeps: a grid (or a list) of parameter points over one or more tapes, each point
//! one deterministic backtest with its digest. A sweep is cut into shards by point number
//! (`--shard I/N` runs every N-th point from I), so one command line serves Slurm job arrays
//! and Kubernetes Indexed Jobs; [`merge`] joins the shards' outputs and refuses duplicates,
//! gaps and shards of different sweeps. Because every point has a digest, a merged result can
//! be checked and a failed shard simply run again.

use crate::load::{HostSession, SessionError, StrategySpec};
use lockstep_report::{ReportConfig, ReportError, summarize};
use lockstep_sim::{EventSource, ReplayError, Session, SessionConfig, Synth, SynthConfig};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// Most points one sweep may have (a grid typo such as a 10,000-value axis is refused, not
/// run for a week).
pub const MAX_POINTS: u64 = 1_000_000;

/// A sweep could not be planned, run or merged.
#[derive(Debug)]
#[non_exhaustive]
pub enum SweepError {
    /// The grid or point text is malformed.
    Grid {
        /// The text.
        text: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// `--shard I/N` is malformed or out of range.
    Shard {
        /// The text.
        text: String,
    },
    /// A point could not be loaded or run.
    Session {
        /// The point.
        index: u64,
        /// Why.
        source: SessionError,
    },
    /// A tape could not be read.
    Tape {
        /// The tape.
        tape: String,
        /// Why.
        source: ReplayError,
    },
    /// The statistics of a point could not be computed.
    Report(ReportError),
    /// Shards to merge belong to different sweeps.
    Mismatch {
        /// What differs.
        what: String,
    },
    /// A point appears in more than one shard.
    Duplicate {
        /// The point.
        index: u64,
    },
    /// Points are missing from the shards given.
    Gap {
        /// The first missing points (at most 20).
        missing: Vec<u64>,
        /// How many are missing.
        count: u64,
    },
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepError::Grid { text, reason } => write!(f, "grid {text:?}: {reason}"),
            SweepError::Shard { text } => write!(
                f,
                "--shard {text:?}: give I/N with 0 <= I < N, e.g. 3/10 (from $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX)"
            ),
            SweepError::Session { index, source } => write!(f, "point {index}: {source}"),
            SweepError::Tape { tape, source } => write!(f, "{tape}: {source}"),
            SweepError::Report(e) => write!(f, "{e}"),
            SweepError::Mismatch { what } => write!(
                f,
                "the shards are not of one sweep: {what} differs; merge the outputs of one command line"
            ),
            SweepError::Duplicate { index } => {
                write!(f, "point {index} is in more than one shard; give each shard's output once")
            }
            SweepError::Gap { missing, count } => write!(
                f,
                "{count} points are missing (first: {missing:?}); run the shards that hold them and merge again"
            ),
        }
    }
}

impl std::error::Error for SweepError {}

/// The parameter points: the product of axes (`gamma=0.05,0.1;k=50,100`, the last axis
/// varying fastest) or an explicit list of `key=value;...` points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    text: String,
    points: Vec<Vec<(String, String)>>,
}

fn grid_err(text: &str, reason: impl Into<String>) -> SweepError {
    SweepError::Grid { text: text.to_owned(), reason: reason.into() }
}

fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_value(v: &str) -> bool {
    !v.is_empty() && !v.contains([';', '=', ','])
}

impl Grid {
    /// Parses axes `key=v1,v2,...;key=...`.
    ///
    /// # Errors
    /// [`SweepError::Grid`] for an empty or malformed axis, a repeated key, or more than
    /// [`MAX_POINTS`] points.
    pub fn parse(text: &str) -> Result<Self, SweepError> {
        let mut axes: Vec<(String, Vec<String>)> = Vec::new();
        for axis in text.split(';').map(str::trim).filter(|a| !a.is_empty()) {
            let Some((k, vs)) = axis.split_once('=') else {
                return Err(grid_err(text, format!("axis {axis:?} has no `=`; write key=v1,v2")));
            };
            let k = k.trim();
            if !valid_key(k) {
                return Err(grid_err(
                    text,
                    format!("{k:?} is not a parameter name (letters, digits, _)"),
                ));
            }
            if axes.iter().any(|(have, _)| have == k) {
                return Err(grid_err(text, format!("`{k}` is given twice; give each axis once")));
            }
            let values: Vec<String> = vs.split(',').map(|v| v.trim().to_owned()).collect();
            if let Some(bad) = values.iter().find(|v| !valid_value(v)) {
                return Err(grid_err(
                    text,
                    format!("axis `{k}` has an empty or malformed value {bad:?}"),
                ));
            }
            axes.push((k.to_owned(), values));
        }
        if axes.is_empty() {
            return Err(grid_err(text, "no axis; write e.g. gamma=0.05,0.1;k=50,100"));
        }
        let total = axes.iter().try_fold(1u64, |n, (_, v)| n.checked_mul(v.len() as u64));
        if total.is_none_or(|t| t > MAX_POINTS) {
            return Err(grid_err(text, format!("more than {MAX_POINTS} points; sweep in parts")));
        }
        let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for (k, values) in &axes {
            points = points
                .iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.push((k.clone(), v.clone()));
                        q
                    })
                })
                .collect();
        }
        Ok(Self { text: text.to_owned(), points })
    }

    /// An explicit list of points, each `key=value;...`.
    ///
    /// # Errors
    /// [`SweepError::Grid`] for an empty list or a malformed point.
    pub fn from_points(points: &[String]) -> Result<Self, SweepError> {
        let text = points.join(" | ");
        if points.is_empty() {
            return Err(grid_err(&text, "no points"));
        }
        if points.len() as u64 > MAX_POINTS {
            return Err(grid_err(&text, format!("more than {MAX_POINTS} points; sweep in parts")));
        }
        let mut out = Vec::with_capacity(points.len());
        for p in points {
            let mut kv: Vec<(String, String)> = Vec::new();
            for pair in p.split(';').map(str::trim).filter(|x| !x.is_empty()) {
                let Some((k, v)) = pair.split_once('=') else {
                    return Err(grid_err(&text, format!("{pair:?} in point {p:?} has no `=`")));
                };
                let (k, v) = (k.trim(), v.trim());
                if !valid_key(k) || !valid_value(v) || kv.iter().any(|(have, _)| have == k) {
                    return Err(grid_err(
                        &text,
                        format!("point {p:?}: `{k}={v}` is malformed or repeated"),
                    ));
                }
                kv.push((k.to_owned(), v.to_owned()));
            }
            out.push(kv);
        }
        Ok(Self { text, points: out })
    }

    /// The text the grid was given as.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there are no points (never, for a parsed grid).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Point `k` laid over `base` parameters: keys of the point replace the base's values in
    /// place; new keys are appended in the point's order.
    pub fn params(&self, k: usize, base: &str) -> String {
        let point = &self.points[k];
        let mut out: Vec<(String, String)> = base
            .split(';')
            .filter_map(|kv| kv.split_once('='))
            .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
            .collect();
        for (key, v) in point {
            match out.iter_mut().find(|(have, _)| have == key) {
                Some(slot) => slot.1 = v.clone(),
                None => out.push((key.clone(), v.clone())),
            }
        }
        out.iter().map(|(a, b)| format!("{a}={b}")).collect::<Vec<_>>().join(";")
    }
}

/// Where a point's market comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TapeRef {
    /// The embedded synthetic market.
    Synthetic(SynthConfig),
    /// A tape file.
    File(PathBuf),
}

impl TapeRef {
    /// The name results carry: the path, or `synthetic:<events>:<seed>`.
    pub fn name(&self) -> String {
        match self {
            TapeRef::Synthetic(c) => format!("synthetic:{}:{:#x}", c.events, c.seed),
            TapeRef::File(p) => p.display().to_string(),
        }
    }

    /// Opens the market.
    ///
    /// # Errors
    /// [`SweepError::Tape`] for a missing or corrupt tape.
    pub fn open(&self) -> Result<Box<dyn EventSource + Send>, SweepError> {
        Ok(match self {
            TapeRef::Synthetic(c) => Box::new(Synth::new(*c)),
            TapeRef::File(p) => Box::new(lockstep_io::open_tape(p).map_err(|e| {
                SweepError::Tape { tape: p.display().to_string(), source: e.into() }
            })?),
        })
    }
}

/// `I/N`: this shard runs points `I`, `I + N`, `I + 2N`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard's number, from 0.
    pub index: u64,
    /// Shards in all.
    pub count: u64,
}

impl Shard {
    /// The whole sweep in one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N`.
    ///
    /// # Errors
    /// [`SweepError::Shard`] unless `0 <= I < N`.
    pub fn parse(text: &str) -> Result<Self, SweepError> {
        let bad = || SweepError::Shard { text: text.to_owned() };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<u64>().map_err(|_| bad())?,
            n.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }

    /// Whether point `k` belongs to this shard.
    pub fn holds(self, k: u64) -> bool {
        k % self.count == self.index
    }
}

/// What one sweep runs: a strategy, its base parameters, the points and the tapes.
#[derive(Clone, Debug)]
pub struct SweepPlan {
    /// Built-in name or `.wasm` path.
    pub strategy: String,
    /// Parameters the points are laid over (`None`: the built-in's defaults).
    pub base_params: Option<String>,
    /// The points.
    pub grid: Grid,
    /// The tapes, outermost: point number = tape × grid size + grid index.
    pub tapes: Vec<TapeRef>,
    /// Engine tier, fuel and exchange; latency measurement is turned off for sweeps.
    pub session: SessionConfig,
    /// Bars for the statistics.
    pub report: ReportConfig,
}

/// One point's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Point number in the sweep.
    pub index: u64,
    /// The tape (path, or `synthetic:<events>:<seed>`).
    pub tape: String,
    /// The parameters it ran with.
    pub params: String,
    /// `digest` of the backtest (the same as `replay backtest` with these parameters).
    pub digest: String,
    /// `fuel_digest`.
    pub fuel_digest: String,
    /// Net PnL, exact decimal text.
    pub pnl: String,
    /// Sharpe per bar (`None` where undefined).
    pub sharpe: Option<f64>,
    /// Largest drawdown, exact decimal text.
    pub max_drawdown: String,
    /// Fills.
    pub fills: u64,
    /// Why the strategy was halted, if it was.
    pub halted: Option<String>,
}

/// The output of one shard (or of a merge).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepOutput {
    /// Always `"sweep"`.
    pub command: String,
    /// The strategy.
    pub strategy: String,
    /// The grid's text.
    pub grid: String,
    /// The tapes.
    pub tapes: Vec<String>,
    /// Bar length of the statistics (ns).
    pub bar_ns: i64,
    /// Engine tier.
    pub tier: String,
    /// Points in the whole sweep.
    pub total: u64,
    /// This shard (`0/1` after a merge).
    pub shard: Shard,
    /// The points run, by number.
    pub points: Vec<PointResult>,
}

impl SweepPlan {
    /// Points in the whole sweep.
    pub fn total(&self) -> u64 {
        (self.tapes.len() * self.grid.len()) as u64
    }

    /// The parameters of point `k`.
    fn point_params(&self, k: usize) -> Result<(usize, String), SweepError> {
        let g = self.grid.len();
        let base = match &self.base_params {
            Some(b) => b.clone(),
            None => {
                StrategySpec::resolve(&self.strategy, None, false)
                    .map_err(|source| SweepError::Session { index: k as u64, source })?
                    .params
            }
        };
        Ok((k / g, self.grid.params(k % g, &base)))
    }

    /// Runs point `k`.
    ///
    /// # Errors
    /// The point's load or run failure, or a tape error, naming the point.
    pub fn run_point(&self, k: u64) -> Result<PointResult, SweepError> {
        let (t, params) = self.point_params(k as usize)?;
        let tape = &self.tapes[t];
        let spec = StrategySpec::resolve(&self.strategy, Some(&params), false)
            .map_err(|source| SweepError::Session { index: k, source })?;
        let mut src = tape.open()?;
        let header = src.header().clone();
        let cfg = SessionConfig {
            measure_latency: false,
            blotter: Some(self.report.blotter),
            ..self.session.clone()
        };
        let latency = (cfg.exchange.latency.entry.0, cfg.exchange.latency.feed.0);
        let session = Session::load(&header, std::slice::from_ref(&spec), cfg)
            .map_err(|source| SweepError::Session { index: k, source })?;
        let out = session
            .run(&mut *src, &mut |_| {})
            .map_err(|source| SweepError::Tape { tape: tape.name(), source })?;
        let summary =
            summarize(&out, &header, &self.report, latency).map_err(SweepError::Report)?;
        let s = &summary.strategies[0];
        Ok(PointResult {
            index: k,
            tape: tape.name(),
            params,
            digest: s.digest.clone(),
            fuel_digest: s.fuel_digest.clone(),
            pnl: s.total.net_pnl.clone(),
            sharpe: s.total.sharpe,
            max_drawdown: s.total.max_drawdown.clone(),
            fills: s.total.fills,
            halted: s.halted.clone(),
        })
    }

    /// Runs the points of `shard` in order, calling `progress` after each.
    ///
    /// # Errors
    /// The first point that fails (the points before it are lost with it: run the shard
    /// again).
    pub fn run(
        &self,
        shard: Shard,
        progress: &mut dyn FnMut(u64),
    ) -> Result<SweepOutput, SweepError> {
        let mut points = Vec::new();
        for k in (0..self.total()).filter(|&k| shard.holds(k)) {
            points.push(self.run_point(k)?);
            progress(points.len() as u64);
        }
        Ok(SweepOutput {
            command: "sweep".into(),
            strategy: self.strategy.clone(),
            grid: self.grid.text().to_owned(),
            tapes: self.tapes.iter().map(TapeRef::name).collect(),
            bar_ns: self.report.blotter.bar_ns,
            tier: self.session.tier.name().to_owned(),
            total: self.total(),
            shard,
            points,
        })
    }
}

/// Joins shard outputs into one, points in order.
///
/// # Errors
/// [`SweepError::Mismatch`] for shards of different sweeps, [`SweepError::Duplicate`] for a
/// point given twice, [`SweepError::Gap`] for missing points.
pub fn merge(shards: Vec<SweepOutput>) -> Result<SweepOutput, SweepError> {
    let Some(first) = shards.first() else {
        return Err(SweepError::Gap { missing: Vec::new(), count: 0 });
    };
    let (strategy, grid, tapes, total) =
        (first.strategy.clone(), first.grid.clone(), first.tapes.clone(), first.total);
    let (bar_ns, tier) = (first.bar_ns, first.tier.clone());
    let mut points: Vec<PointResult> = Vec::new();
    for s in shards {
        for (what, same) in [
            ("the strategy", s.strategy == strategy),
            ("the grid", s.grid == grid),
            ("the tapes", s.tapes == tapes),
            ("the number of points", s.total == total),
            ("the bar length", s.bar_ns == bar_ns),
            ("the engine tier", s.tier == tier),
        ] {
            if !same {
                return Err(SweepError::Mismatch { what: what.into() });
            }
        }
        points.extend(s.points);
    }
    points.sort_by_key(|p| p.index);
    if let Some(w) = points.windows(2).find(|w| w[0].index == w[1].index) {
        return Err(SweepError::Duplicate { index: w[0].index });
    }
    if let Some(p) = points.iter().find(|p| p.index >= total) {
        return Err(SweepError::Mismatch {
            what: format!("point {} beyond the sweep's {total}", p.index),
        });
    }
    let have = points.len() as u64;
    if have < total {
        let mut missing = Vec::new();
        let mut k = 0;
        for want in 0..total {
            if points.get(k).is_some_and(|p| p.index == want) {
                k += 1;
            } else if missing.len() < 20 {
                missing.push(want);
            }
        }
        return Err(SweepError::Gap { missing, count: total - have });
    }
    Ok(SweepOutput {
        command: "sweep".into(),
        strategy,
        grid,
        tapes,
        bar_ns,
        tier,
        total,
        shard: Shard::ALL,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_expand_with_the_last_axis_fastest() {
        let g = Grid::parse("gamma=0.05,0.1; k=50,100,200").unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g.params(0, ""), "gamma=0.05;k=50");
        assert_eq!(g.params(1, ""), "gamma=0.05;k=100");
        assert_eq!(g.params(5, ""), "gamma=0.1;k=200");
        // Laid over the base: replaced in place, new keys appended.
        assert_eq!(
            g.params(3, "instrument=0;k=1;tick=0.01"),
            "instrument=0;k=50;tick=0.01;gamma=0.1"
        );
        for bad in ["", "gamma", "gamma=", "gamma=1,,2", "a=1;a=2", "g a=1", "k=1=2"] {
            assert!(matches!(Grid::parse(bad), Err(SweepError::Grid { .. })), "{bad:?}");
        }
        assert!(Grid::parse("a=1,2,3,4,5,6,7,8,9,10;b=1,2,3,4,5,6,7,8,9,10;c=1,2,3,4,5,6,7,8,9,10;d=1,2,3,4,5,6,7,8,9,10;e=1,2,3,4,5,6,7,8,9,10;f=1,2,3,4,5,6,7,8,9,10,11").is_err());
        let p = Grid::from_points(&["gamma=0.1;k=5".into(), "k=7".into()]).unwrap();
        assert_eq!(p.params(1, "k=1;gamma=2"), "k=7;gamma=2");
        assert!(Grid::from_points(&["k".into()]).is_err());
    }

    #[test]
    fn shards_partition_the_points() {
        let s = Shard::parse("2/3").unwrap();
        assert_eq!((0..9).filter(|&k| s.holds(k)).collect::<Vec<_>>(), [2, 5, 8]);
        for bad in ["3/3", "1/0", "x/2", "1", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    fn out(shard: Shard, idx: &[u64]) -> SweepOutput {
        SweepOutput {
            command: "sweep".into(),
            strategy: "s".into(),
            grid: "a=1,2,3".into(),
            tapes: vec!["t".into()],
            bar_ns: 1,
            tier: "interpreter".into(),
            total: 3,
            shard,
            points: idx
                .iter()
                .map(|&index| PointResult {
                    index,
                    tape: "t".into(),
                    params: format!("a={index}"),
                    digest: String::new(),
                    fuel_digest: String::new(),
                    pnl: "0".into(),
                    sharpe: None,
                    max_drawdown: "0".into(),
                    fills: 0,
                    halted: None,
                })
                .collect(),
        }
    }

    #[test]
    fn merge_refuses_duplicates_gaps_and_strangers() {
        let a = out(Shard { index: 0, count: 2 }, &[0, 2]);
        let b = out(Shard { index: 1, count: 2 }, &[1]);
        let m = merge(vec![b.clone(), a.clone()]).unwrap();
        assert_eq!(m.points.iter().map(|p| p.index).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(matches!(
            merge(vec![a.clone(), b.clone(), b.clone()]),
            Err(SweepError::Duplicate { index: 1 })
        ));
        assert!(matches!(merge(vec![a.clone()]), Err(SweepError::Gap { count: 1, .. })));
        let mut c = b;
        c.grid = "a=1,2,4".into();
        assert!(matches!(merge(vec![a, c]), Err(SweepError::Mismatch { .. })));
    }
}
