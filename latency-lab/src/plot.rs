//! Charts from `.hlog` and `.hgrm` files: the percentile distribution on HdrHistogram's usual
//! `log10(1/(1-p))` axis with several runs overlaid, and latency over time (interval max and
//! p99). Each chart is written as SVG and PNG; text in the PNG uses an embedded font (Noto Sans
//! from the `ttf-noto-sans` crate), so no system font is needed.

use crate::error::Error;
use crate::histo::{HgrmPoint, TICKS_PER_HALF_DISTANCE, new_histogram, parse_hgrm, read_hlog};
use lockstep_io::write_atomic;
use lockstep_report::{DrawResult, FONT, percentile_label, percentile_x, render};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// The unit of the values stored in the input files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds (latency-lab's own files).
    Ns,
    /// Microseconds.
    Us,
    /// Milliseconds (jHiccup's files).
    Ms,
}

impl Unit {
    /// Nanoseconds per input value.
    pub fn ns(self) -> f64 {
        match self {
            Unit::Ns => 1.0,
            Unit::Us => 1e3,
            Unit::Ms => 1e6,
        }
    }
}

/// What to draw.
#[derive(Clone, Debug)]
pub struct PlotConfig {
    /// `.hlog` and `.hgrm` files (anything not ending in `.hgrm` is read as an interval log).
    pub inputs: Vec<PathBuf>,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Unit of the values in the inputs.
    pub unit: Unit,
    /// Chart title prefix.
    pub title: String,
    /// Picture size in pixels.
    pub size: (u32, u32),
    /// Latency axis on a log scale (tails spanning orders of magnitude stay readable).
    pub log_y: bool,
}

/// One line on the percentile chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text: file stem, plus `:tag` for tagged intervals.
    pub name: String,
    /// `(x = log10(1/(1-p)), latency ns)`, x non-decreasing.
    pub points: Vec<(f64, f64)>,
    /// `(start s, end s, interval max ns, interval p99 ns)` for interval logs.
    pub timeline: Vec<(f64, f64, f64, f64)>,
    /// Samples behind the series.
    pub count: u64,
}

/// What `plot` drew.
#[derive(Clone, Debug)]
pub struct PlotReport {
    /// The series, in input order.
    pub series: Vec<Series>,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Inputs that had no samples (skipped).
    pub empty: Vec<String>,
}

/// Points of a percentile curve from `(value ns, quantile, total count)` rows: rows with p < 1
/// at their x; the final p = 1 row (the maximum) at `log10(count)`, where the largest of `count`
/// samples sits.
fn curve(rows: impl Iterator<Item = (f64, f64, u64)>, count: u64) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for (v, q, _) in rows {
        let x = match percentile_x(q) {
            Some(x) => x,
            None if count > 1 => libm::log10(count as f64),
            None => 0.0,
        };
        let x = pts.last().map_or(x, |&(px, _)| x.max(px));
        pts.push((x, v));
    }
    pts
}

/// A series name (a file stem and an `.hlog` tag, both from outside) as printed or drawn:
/// control characters escaped by the shared sanitiser; the SVG backend escapes markup.
fn shown(name: &str) -> lockstep_sdk::Untrusted<'_> {
    lockstep_sdk::untrusted(name)
}

fn stem(p: &Path) -> String {
    p.file_stem().map_or_else(|| p.display().to_string(), |s| s.to_string_lossy().into_owned())
}

/// Reads every input into series.
///
/// # Errors
/// The first unreadable or malformed input.
pub(crate) fn load(inputs: &[PathBuf], unit: Unit) -> Result<(Vec<Series>, Vec<String>), Error> {
    let mut series = Vec::new();
    let mut empty = Vec::new();
    for path in inputs {
        let is_hgrm = path.extension().is_some_and(|e| e == "hgrm");
        if is_hgrm {
            let text = lockstep_io::read_bounded(path, crate::histo::MAX_LOG_BYTES)
                .and_then(|b| {
                    String::from_utf8(b).map_err(|_| {
                        std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text")
                    })
                })
                .map_err(|e| Error::io("reading the percentile distribution", path, e))?;
            let rows: Vec<HgrmPoint> = parse_hgrm(&text, path)?;
            let count = rows.last().map_or(0, |r| r.total_count);
            if count == 0 {
                empty.push(stem(path));
                continue;
            }
            let pts =
                curve(rows.iter().map(|r| (r.value * unit.ns(), r.quantile, r.total_count)), count);
            series.push(Series { name: stem(path), points: pts, timeline: Vec::new(), count });
            continue;
        }
        let intervals = read_hlog(path)?;
        let mut tags: Vec<Option<String>> = Vec::new();
        for i in &intervals {
            if !tags.contains(&i.tag) {
                tags.push(i.tag.clone());
            }
        }
        for tag in &tags {
            let name = match (tag, tags.len()) {
                (Some(t), n) if n > 1 || !t.is_empty() => format!("{}:{t}", stem(path)),
                _ => stem(path),
            };
            let mut merged = new_histogram();
            let mut timeline = Vec::new();
            for i in intervals.iter().filter(|i| &i.tag == tag) {
                let _ = merged.add(&i.hist);
                let (t0, t1) = (i.start_s, i.start_s + i.duration_s);
                if i.hist.is_empty() {
                    timeline.push((t0, t1, 0.0, 0.0));
                } else {
                    timeline.push((
                        t0,
                        t1,
                        i.hist.max() as f64 * unit.ns(),
                        i.hist.value_at_quantile(0.99) as f64 * unit.ns(),
                    ));
                }
            }
            if merged.is_empty() {
                empty.push(name);
                continue;
            }
            let count = merged.len();
            let mut total = 0u64;
            let rows = merged.iter_quantiles(TICKS_PER_HALF_DISTANCE).map(|v| {
                total += v.count_since_last_iteration();
                (v.value_iterated_to() as f64 * unit.ns(), v.quantile_iterated_to(), total)
            });
            let points = curve(rows, count);
            series.push(Series { name, points, timeline, count });
        }
    }
    Ok((series, empty))
}

/// A display unit for a maximum value in ns: `(divisor, label)`.
fn display_unit(max_ns: f64) -> (f64, &'static str) {
    if max_ns < 10_000.0 {
        (1.0, "ns")
    } else if max_ns < 10_000_000.0 {
        (1e3, "µs")
    } else {
        (1e6, "ms")
    }
}

/// `10^k` nanoseconds as `1ns`, `10ns`, `100ns`, `1µs`, ... `100s`.
fn pow10_label(k: i32) -> String {
    let units = ["ns", "µs", "ms", "s"];
    let k = k.max(0);
    let (unit, rest) = ((k / 3).min(3) as usize, k - 3 * (k / 3).min(3));
    format!("1{}{}", "0".repeat(rest as usize), units[unit])
}

/// The latency axis: linear in a readable unit, or log10 of nanoseconds.
#[derive(Clone, Copy, Debug)]
struct YScale {
    log: bool,
    div: f64,
    unit: &'static str,
    lo: f64,
    hi: f64,
}

impl YScale {
    /// An axis covering `values` (ns).
    fn new(log: bool, values: impl Iterator<Item = f64>) -> Self {
        let (mut min, mut max) = (f64::MAX, 1.0f64);
        for v in values {
            if v > 0.0 {
                min = min.min(v);
            }
            max = max.max(v);
        }
        let (div, unit) = display_unit(max);
        if log {
            let lo = if min == f64::MAX { 0.0 } else { libm::log10(min).floor() };
            let hi = libm::log10(max).ceil().max(lo + 1.0);
            Self { log, div, unit, lo, hi }
        } else {
            Self { log, div, unit, lo: 0.0, hi: max * 1.05 / div }
        }
    }
    /// Axis coordinate of a value in ns.
    fn map(&self, ns: f64) -> f64 {
        if self.log { libm::log10(ns.max(1.0)).max(self.lo) } else { ns / self.div }
    }
    /// Tick label of an axis coordinate.
    fn label(&self, v: f64) -> String {
        if !self.log {
            return format!("{v}");
        }
        let k = v.round();
        if (v - k).abs() > 1e-9 {
            return String::new();
        }
        pow10_label(k as i32)
    }
    fn desc(&self, what: &str) -> String {
        if self.log { format!("{what} (log scale)") } else { format!("{what} ({})", self.unit) }
    }
    fn ticks(&self) -> usize {
        if self.log { (self.hi - self.lo) as usize + 1 } else { 10 }
    }
}

/// The plotting area both charts draw on: linear seconds or percentiles by a [`YScale`].
type Plane<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The frame both charts share: the title, margins and label areas around `0..max_x` by `y`.
fn frame<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    max_x: f64,
    y: &YScale,
) -> Result<Plane<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..max_x, y.lo..y.hi)
}

/// How many x tick labels to draw, and their text.
type XTicks<'a> = (usize, &'a dyn Fn(&f64) -> String);

/// Draws the grid, tick labels and axis descriptions; `x_ticks` sets the x labels' count and
/// text (plotters' defaults otherwise).
fn mesh<DB: DrawingBackend>(
    chart: &mut Plane<'_, DB>,
    y: &YScale,
    (x_desc, y_desc): (&str, &str),
    x_ticks: Option<XTicks<'_>>,
) -> DrawResult<DB> {
    let yfmt = |v: &f64| y.label(*v);
    let mut mesh = chart.configure_mesh();
    if let Some((n, xfmt)) = x_ticks {
        mesh.x_labels(n).x_label_formatter(xfmt);
    }
    mesh.y_labels(y.ticks())
        .y_label_formatter(&yfmt)
        .x_desc(x_desc)
        .y_desc(y.desc(y_desc))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()
}

/// Draws one line and its legend entry (a short stroke in the same style).
fn line<DB: DrawingBackend>(
    chart: &mut Plane<'_, DB>,
    points: impl IntoIterator<Item = (f64, f64)>,
    style: ShapeStyle,
    label: String,
) -> DrawResult<DB> {
    chart
        .draw_series(LineSeries::new(points, style))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    Ok(())
}

/// Draws the legend box at `position`.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Plane<'a, DB>,
    position: SeriesLabelPosition,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
}

fn draw_percentiles<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[Series],
    title: &str,
    log_y: bool,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let max_x = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(2.0f64, f64::max)
        .ceil()
        .min(9.0);
    let y = YScale::new(log_y, series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let mut chart = frame(root, title, max_x, &y)?;
    let xfmt = |x: &f64| percentile_label(*x);
    mesh(&mut chart, &y, ("percentile", "latency"), Some((max_x as usize + 1, &xfmt)))?;
    for (i, s) in series.iter().enumerate() {
        let points = s.points.iter().map(|&(x, v)| (x, y.map(v)));
        let style = Palette99::pick(i).to_rgba().stroke_width(2);
        line(&mut chart, points, style, format!("{} (n={})", shown(&s.name), s.count))?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()
}

/// Each interval as a horizontal segment from its start to its end (a step line).
fn steps(
    timeline: &[(f64, f64, f64, f64)],
    value: impl Fn(&(f64, f64, f64, f64)) -> f64,
) -> Vec<(f64, f64)> {
    timeline.iter().flat_map(|p| [(p.0, value(p)), (p.1, value(p))]).collect()
}

fn draw_timeline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[&Series],
    title: &str,
    log_y: bool,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let max_t = series.iter().flat_map(|s| s.timeline.iter().map(|p| p.1)).fold(1.0f64, f64::max);
    let y =
        YScale::new(log_y, series.iter().flat_map(|s| s.timeline.iter().flat_map(|p| [p.2, p.3])));
    let mut chart = frame(root, title, max_t * 1.02, &y)?;
    mesh(&mut chart, &y, ("time since start (s)", "latency per interval"), None)?;
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let max = steps(&s.timeline, |p| y.map(p.2));
        line(&mut chart, max, color.stroke_width(2), format!("{} max", shown(&s.name)))?;
        let p99 = steps(&s.timeline, |p| y.map(p.3));
        let label = format!("{} p99", shown(&s.name));
        line(&mut chart, p99, color.mix(0.45).stroke_width(1), label)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present()
}

/// A chart `plot` draws, on either backend.
#[derive(Clone, Copy)]
enum Chart<'a> {
    /// Latency by percentile, a line per series.
    Percentiles(&'a [Series]),
    /// Interval max and p99 over time, for the series from interval logs.
    Timeline(&'a [&'a Series]),
}

impl Chart<'_> {
    /// Draws the chart on `root`.
    fn draw<DB: DrawingBackend>(
        self,
        root: &DrawingArea<DB, Shift>,
        title: &str,
        log_y: bool,
    ) -> DrawResult<DB> {
        match self {
            Chart::Percentiles(s) => draw_percentiles(root, s, title, log_y),
            Chart::Timeline(s) => draw_timeline(root, s, title, log_y),
        }
    }
}

/// Draws `chart` on both backends at `cfg`'s size and scale and writes `<base>.svg` and
/// `<base>.png`, each to a temporary file renamed into place.
fn both(
    base: &Path,
    cfg: &PlotConfig,
    chart: Chart<'_>,
    title: &str,
) -> Result<Vec<PathBuf>, Error> {
    let svg_path = base.with_extension("svg");
    let png_path = base.with_extension("png");
    let name = base.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let draw_svg = |r: &DrawingArea<SVGBackend<'_>, Shift>| chart.draw(r, title, cfg.log_y);
    let draw_png = |r: &DrawingArea<BitMapBackend<'_>, Shift>| chart.draw(r, title, cfg.log_y);
    let r = render(&name, cfg.size, draw_svg, draw_png)
        .map_err(|e| Error::Plot { path: svg_path.clone(), message: e.to_string() })?;
    for (path, bytes) in [(&svg_path, r.svg.as_bytes()), (&png_path, &r.png[..])] {
        write_atomic(path, bytes).map_err(|e| Error::io("writing the chart", path, e))?;
    }
    Ok(vec![svg_path, png_path])
}

/// Reads the inputs and writes `percentiles.svg/.png` and, when an interval log is among
/// them, `timeline.svg/.png` into `cfg.out_dir`.
///
/// # Errors
/// [`Error::Argument`] without inputs or samples, the first input error, or a drawing error.
pub fn plot(cfg: &PlotConfig) -> Result<PlotReport, Error> {
    if cfg.inputs.is_empty() {
        return Err(Error::arg("INPUT", "give at least one .hlog or .hgrm file"));
    }
    let (series, empty) = load(&cfg.inputs, cfg.unit)?;
    if series.is_empty() {
        return Err(Error::arg(
            "INPUT",
            format!(
                "no samples in any input ({}): nothing to draw",
                shown(&empty.join(", ")).max_chars(1000)
            ),
        ));
    }
    std::fs::create_dir_all(&cfg.out_dir)
        .map_err(|e| Error::io("creating the output directory", &cfg.out_dir, e))?;
    let title = format!("{}: latency by percentile", cfg.title);
    let percentiles = Chart::Percentiles(&series);
    let mut files = both(&cfg.out_dir.join("percentiles"), cfg, percentiles, &title)?;
    let timed: Vec<&Series> = series.iter().filter(|s| s.timeline.len() > 1).collect();
    if !timed.is_empty() {
        let title = format!("{}: latency over time", cfg.title);
        let timeline = Chart::Timeline(&timed);
        files.extend(both(&cfg.out_dir.join("timeline"), cfg, timeline, &title)?);
    }
    Ok(PlotReport { series, files, empty })
}

impl PlotReport {
    /// The report as one JSON object.
    pub fn to_json(&self) -> Value {
        let report = PlotJson {
            command: "plot",
            series: self
                .series
                .iter()
                .map(|s| SeriesJson {
                    name: &s.name,
                    count: s.count,
                    max_ns: s.points.last().map_or(0.0, |p| p.1),
                    intervals: s.timeline.len(),
                })
                .collect(),
            empty_inputs: &self.empty,
            files: self.files.iter().map(|p| p.display().to_string()).collect(),
        };
        serde_json::to_value(report).unwrap_or(Value::Null)
    }
}

/// `plot --json`.
#[derive(Serialize)]
struct PlotJson<'a> {
    command: &'static str,
    series: Vec<SeriesJson<'a>>,
    empty_inputs: &'a [String],
    files: Vec<String>,
}

/// One plotted input.
#[derive(Serialize)]
struct SeriesJson<'a> {
    name: &'a str,
    count: u64,
    max_ns: f64,
    intervals: usize,
}

impl fmt::Display for PlotReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.series {
            writeln!(
                f,
                "series {}: {} samples, max {}, {} intervals",
                shown(&s.name),
                s.count,
                lockstep_sim::format_ns(s.points.last().map_or(0.0, |p| p.1) as u64),
                s.timeline.len()
            )?;
        }
        for e in &self.empty {
            writeln!(f, "skipped {}: no samples", shown(e))?;
        }
        for p in &self.files {
            writeln!(f, "wrote {}", p.display())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maximum_sits_at_log10_of_the_count() {
        let rows = [(10.0, 0.0, 1), (20.0, 0.99, 99), (30.0, 1.0, 1000)];
        let pts = curve(rows.into_iter(), 1000);
        assert_eq!(pts.len(), 3);
        assert!((pts[1].0 - 2.0).abs() < 1e-12);
        assert!((pts[2].0 - 3.0).abs() < 1e-12);
        assert_eq!(pts[2].1, 30.0);
    }

    #[test]
    fn draws_svg_and_png_with_labels_from_an_hgrm() {
        let dir = std::env::temp_dir().join(format!("lab-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut h = new_histogram();
        for v in 1..=5000u64 {
            h.record(1000 + v * 3).unwrap();
        }
        let mut buf = Vec::new();
        crate::histo::write_hgrm(&mut buf, &h, 1.0).unwrap();
        let input = dir.join("run.hgrm");
        std::fs::write(&input, buf).unwrap();
        let cfg = PlotConfig {
            inputs: vec![input],
            out_dir: dir.join("out"),
            unit: Unit::Ns,
            title: "test".into(),
            size: (800, 500),
            log_y: false,
        };
        let r = plot(&cfg).unwrap();
        assert_eq!(r.files.len(), 2, "no timeline for a .hgrm");
        let svg = std::fs::read_to_string(dir.join("out/percentiles.svg")).unwrap();
        assert!(svg.contains("99.9%") && svg.contains("run (n=5000)"), "labels in the SVG");
        let png = std::fs::read(dir.join("out/percentiles.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn log_axis_labels_powers_of_ten() {
        let y = YScale::new(true, [150.0, 2_000.0, 40_000.0].into_iter());
        assert_eq!((y.lo, y.hi), (2.0, 5.0));
        assert_eq!(y.label(2.0), "100ns");
        assert_eq!(y.label(3.0), "1µs");
        assert_eq!(y.label(2.5), "");
        assert_eq!(pow10_label(7), "10ms");
        assert_eq!(pow10_label(11), "100s");
        assert_eq!(y.map(1_000.0), 3.0);
        assert_eq!(y.ticks(), 4);
        let lin = YScale::new(false, [150.0, 40_000.0].into_iter());
        assert_eq!((lin.unit, lin.map(40_000.0)), ("µs", 40.0));
    }

    #[test]
    fn timeline_is_a_step_line() {
        let t = [(0.0, 1.0, 5.0, 4.0), (1.0, 2.0, 7.0, 6.0)];
        assert_eq!(steps(&t, |p| p.2), vec![(0.0, 5.0), (1.0, 5.0), (1.0, 7.0), (2.0, 7.0)]);
    }

    #[test]
    fn nothing_to_draw_is_an_error() {
        let e = plot(&PlotConfig {
            inputs: vec![],
            out_dir: PathBuf::from("/tmp"),
            unit: Unit::Ns,
            title: String::new(),
            size: (10, 10),
            log_y: false,
        })
        .unwrap_err();
        assert!(e.to_string().contains("at least one"));
    }
}
