//! The report's charts: equity with drawdown, inventory, prices with our quotes and fills over
//! the window, the time-to-fill percentile distribution and the mean markout by horizon. Clock
//! times on the axes are on the venue's clock ([`Clock`]). Each is one generic drawing
//! function rendered to SVG and PNG by [`crate::chart::render`].

use super::{StrategySummary, equity_series};
use crate::chart::{
    ChartError, DrawResult, FONT, Rendered, percentile_label, percentile_x, render,
};
use crate::zone::Clock;
use lockstep_sdk::{InstrumentId, Side};
use lockstep_sim::Blotter;
use lockstep_sim::TapeHeader;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most price samples drawn in the price chart.
const MAX_POINTS: usize = 3_000;
const WIDE: (u32, u32) = (1000, 420);
const TALL: (u32, u32) = (1000, 560);
const BUY: RGBColor = RGBColor(0x1a, 0x96, 0x41);
const SELL: RGBColor = RGBColor(0xd7, 0x19, 0x1c);
const MARKET: RGBColor = RGBColor(0x55, 0x55, 0x55);
const LINE: RGBColor = RGBColor(0x2b, 0x57, 0x9a);

/// Seconds since the epoch as a float, for plotting.
fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// Seconds as plotted back to tape nanoseconds, for axis labels.
fn ns(secs: f64) -> i64 {
    (secs * 1e9).round() as i64
}

/// The x axis's description: tape time on the venue's clock.
fn time_desc(clock: &Clock) -> String {
    format!("tape time ({})", clock.label())
}

/// A range that plotters can draw even for a single value.
fn span(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if hi > lo {
        let pad = (hi - lo) * 0.05;
        lo - pad..hi + pad
    } else {
        lo - 1.0..hi + 1.0
    }
}

/// The least and greatest of `v` (infinities when empty).
fn bounds(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)))
}

/// `r` when both ends are finite, else `d`.
fn finite_or(r: (f64, f64), d: (f64, f64)) -> (f64, f64) {
    if r.0.is_finite() && r.1.is_finite() { r } else { d }
}

/// A step line through `pts` (each value holds until the next point).
fn steps(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(pts.len() * 2);
    for (k, &(x, y)) in pts.iter().enumerate() {
        if k > 0 {
            out.push((x, pts[k - 1].1));
        }
        out.push((x, y));
    }
    out
}

struct EquityData {
    clock: Clock,
    title: String,
    equity: Vec<(f64, f64)>,
    drawdown: Vec<(f64, f64)>,
}

/// The equity chart: equity on top, the drawdown as an area below.
fn draw_equity<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &EquityData,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(TALL.1 * 62 / 100);
    let (x0, x1) = finite_or(bounds(d.equity.iter().map(|p| p.0)), (0.0, 1.0));
    let (y0, y1) = finite_or(bounds(d.equity.iter().map(|p| p.1).chain([0.0])), (0.0, 1.0));
    let xfmt = |x: &f64| d.clock.clock(ns(*x));
    let x_desc = time_desc(&d.clock);
    let mut c = ChartBuilder::on(&top)
        .caption(&d.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(80)
        .build_cartesian_2d(span(x0, x1), span(y0, y1))?;
    c.configure_mesh()
        .x_label_formatter(&xfmt)
        .y_desc("equity")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    c.draw_series(LineSeries::new(d.equity.iter().copied(), LINE.stroke_width(2)))?;
    let (d0, _) = finite_or(bounds(d.drawdown.iter().map(|p| p.1).chain([0.0])), (0.0, 0.0));
    let mut c = ChartBuilder::on(&bottom)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(80)
        .build_cartesian_2d(span(x0, x1), span(d0, 0.0))?;
    c.configure_mesh()
        .x_label_formatter(&xfmt)
        .x_desc(x_desc.as_str())
        .y_desc("drawdown")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    c.draw_series(
        AreaSeries::new(d.drawdown.iter().copied(), 0.0, SELL.mix(0.35)).border_style(SELL),
    )?;
    root.present()
}

/// One line: legend (empty: none), colour, points.
type Line = (String, RGBColor, Vec<(f64, f64)>);

struct Lines {
    clock: Clock,
    title: String,
    x_desc: String,
    y_desc: String,
    lines: Vec<Line>,
    /// (x, y, buy?)
    marks: Vec<(f64, f64, bool)>,
    /// x axis as percentiles instead of clock times.
    percentiles: bool,
    x_range: Option<(f64, f64)>,
}

/// A chart of lines and buy/sell marks, over clock times or percentiles.
fn draw_lines<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &Lines) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let xs =
        d.lines.iter().flat_map(|l| l.2.iter().map(|p| p.0)).chain(d.marks.iter().map(|m| m.0));
    let (x0, x1) = d.x_range.unwrap_or_else(|| finite_or(bounds(xs), (0.0, 1.0)));
    let ys =
        d.lines.iter().flat_map(|l| l.2.iter().map(|p| p.1)).chain(d.marks.iter().map(|m| m.1));
    let (y0, y1) = finite_or(bounds(ys), (0.0, 1.0));
    let xr = if d.percentiles { 0.0..x1.max(2.0).ceil() } else { span(x0, x1) };
    let mut c = ChartBuilder::on(root)
        .caption(&d.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(xr, span(y0, y1))?;
    let clock = |x: &f64| d.clock.clock(ns(*x));
    let pct = |x: &f64| percentile_label(*x);
    let mut mesh = c.configure_mesh();
    mesh.x_desc(d.x_desc.as_str())
        .y_desc(d.y_desc.as_str())
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14));
    if d.percentiles {
        mesh.x_labels(x1.max(2.0).ceil() as usize + 1).x_label_formatter(&pct);
    } else {
        mesh.x_label_formatter(&clock);
    }
    mesh.draw()?;
    for (name, colour, pts) in &d.lines {
        let colour = *colour;
        let drawn = c.draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))?;
        if !name.is_empty() {
            drawn.label(name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        }
    }
    if !d.marks.is_empty() {
        c.draw_series(
            d.marks
                .iter()
                .filter(|m| m.2)
                .map(|m| TriangleMarker::new((m.0, m.1), 6, BUY.filled())),
        )?
        .label("our buys")
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, BUY.filled()));
        c.draw_series(
            d.marks
                .iter()
                .filter(|m| !m.2)
                .map(|m| TriangleMarker::new((m.0, m.1), 6, SELL.filled())),
        )?
        .label("our sells")
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, SELL.filled()));
    }
    if !d.lines.is_empty() {
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()
}

/// Splits `(x, y)` samples where `y` is zero (nothing there) into separate step lines.
fn present_steps(pts: &[(f64, f64)], end: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    for (k, &(x, y)) in pts.iter().enumerate() {
        if let Some(&(_, py)) = cur.last() {
            cur.push((x, py));
        }
        if y == 0.0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push((x, y));
        }
        if k + 1 == pts.len() && !cur.is_empty() {
            cur.push((end, y));
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

/// A price as a float, for plotting.
fn px(p: lockstep_sdk::Price) -> f64 {
    p.to_f64()
}

/// The instrument with most fills (the first on a tie, instrument 0 without fills).
fn main_instrument(b: &Blotter) -> InstrumentId {
    let mut counts = std::collections::BTreeMap::<InstrumentId, u64>::new();
    for f in b.fills() {
        *counts.entry(f.instrument).or_default() += 1;
    }
    counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map_or(0, |(i, _)| *i)
}

/// Draws the four charts of one strategy.
pub(super) fn draw(
    b: &Blotter,
    s: &StrategySummary,
    header: &TapeHeader,
) -> Result<Vec<(&'static str, Rendered)>, ChartError> {
    let who = format!("{} ({})", s.name, s.tier);
    let clock = super::tape_clock(header);
    Ok(vec![
        ("equity", equity_chart(b, &who, &clock)?),
        ("inventory", inventory_chart(b, &who, header, &clock)?),
        ("prices", prices_chart(b, &who, header, &clock)?),
        ("latency", time_to_fill_chart(b, &who, &clock)?),
        ("markouts", markouts_chart(s, &who)?),
    ])
}

/// Equity per bar over all instruments, with the drawdown from its running peak below.
fn equity_chart(b: &Blotter, who: &str, clock: &Clock) -> Result<Rendered, ChartError> {
    let series = equity_series(b, None);
    let mut peak = 0i128;
    let eq = EquityData {
        clock: clock.clone(),
        title: format!("{who}: equity and drawdown per bar"),
        equity: series.iter().map(|&(t, e)| (secs(t), e as f64 / 1e8)).collect(),
        drawdown: series
            .iter()
            .map(|&(t, e)| {
                peak = peak.max(e);
                (secs(t), -((peak - e) as f64 / 1e8))
            })
            .collect(),
    };
    render("equity", TALL, |r| draw_equity(r, &eq), |r| draw_equity(r, &eq))
}

/// The position of every traded instrument after each fill, over the whole run.
fn inventory_chart(
    b: &Blotter,
    who: &str,
    header: &TapeHeader,
    clock: &Clock,
) -> Result<Rendered, ChartError> {
    let (start, end) = b.span().unwrap_or((0, 0));
    let mut traded: Vec<InstrumentId> = b.fills().iter().map(|f| f.instrument).collect();
    traded.sort_unstable();
    traded.dedup();
    let palette = [LINE, SELL, BUY, RGBColor(0x8e, 0x44, 0xad), RGBColor(0xe6, 0x7e, 0x22)];
    let inv = Lines {
        clock: clock.clone(),
        title: format!("{who}: inventory"),
        x_desc: time_desc(clock),
        y_desc: "position".into(),
        lines: traded
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let mut pts = vec![(secs(start), 0.0)];
                pts.extend(
                    b.fills()
                        .iter()
                        .filter(|f| f.instrument == i)
                        .map(|f| (secs(f.ts_ns), f.position.to_f64())),
                );
                pts.push((secs(end), pts.last().map_or(0.0, |p| p.1)));
                (super::shown_symbol(header, i), palette[k % palette.len()], steps(&pts))
            })
            .collect(),
        marks: Vec::new(),
        percentiles: false,
        x_range: None,
    };
    render("inventory", WIDE, |r| draw_lines(r, &inv), |r| draw_lines(r, &inv))
}

/// The market's and our best prices of the most traded instrument over the price window,
/// with our fills marked.
fn prices_chart(
    b: &Blotter,
    who: &str,
    header: &TapeHeader,
    clock: &Clock,
) -> Result<Rendered, ChartError> {
    let (start, end) = b.span().unwrap_or((0, 0));
    let main = main_instrument(b);
    let (window, samples) = b.window().map_or(((start, end), &[][..]), |(w, s)| (w, s));
    let (w0, w1) = (secs(window.0), secs(window.1));
    let ss: Vec<_> = samples.iter().filter(|x| x.instrument == main).collect();
    // At most about MAX_POINTS samples drawn, evenly thinned: the page stays small.
    let stride = ss.len().div_ceil(MAX_POINTS).max(1);
    let ss: Vec<_> = ss.into_iter().step_by(stride).collect();
    let field = |f: fn(&lockstep_sim::PriceSample) -> f64| -> Vec<(f64, f64)> {
        ss.iter().map(|x| (secs(x.ts_ns), f(x))).collect()
    };
    let mut lines = Vec::new();
    for (name, colour, pts) in [
        ("market bid", MARKET, field(|x| px(x.bid))),
        ("market ask", RGBColor(0x99, 0x99, 0x99), field(|x| px(x.ask))),
        ("our bid", BUY, field(|x| px(x.our_bid))),
        ("our ask", SELL, field(|x| px(x.our_ask))),
    ] {
        for (k, seg) in present_steps(&pts, w1).into_iter().enumerate() {
            let label = if k == 0 { name.to_owned() } else { String::new() };
            lines.push((label, colour, seg));
        }
    }
    let marks = b
        .fills()
        .iter()
        .filter(|f| f.instrument == main && f.ts_ns >= window.0 && f.ts_ns < window.1)
        .map(|f| (secs(f.ts_ns), f.px.to_f64(), f.side == Side::Buy))
        .collect();
    let prices = Lines {
        clock: clock.clone(),
        title: format!("{who}: {} prices, our quotes and fills", super::shown_symbol(header, main)),
        x_desc: format!(
            "{}, {} to {}",
            time_desc(clock),
            clock.date_time(window.0),
            clock.clock(window.1)
        ),
        y_desc: "price".into(),
        lines,
        marks,
        percentiles: false,
        x_range: Some((w0, w1)),
    };
    render("prices", WIDE, |r| draw_lines(r, &prices), |r| draw_lines(r, &prices))
}

/// The distribution of the time from order to first fill, by percentile.
fn time_to_fill_chart(b: &Blotter, who: &str, clock: &Clock) -> Result<Rendered, ChartError> {
    let to_fill = b.times_to_first_fill();
    let n = to_fill.len();
    let curve: Vec<(f64, f64)> = to_fill
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            let x = percentile_x(k as f64 / n as f64).unwrap_or(0.0);
            (x, v as f64 / 1e6)
        })
        .collect();
    let lat = Lines {
        clock: clock.clone(),
        title: format!("{who}: time from order to first fill (simulated, n={n})"),
        x_desc: "percentile".into(),
        y_desc: "ms of tape time".into(),
        lines: if curve.is_empty() {
            Vec::new()
        } else {
            vec![("to first fill".into(), LINE, curve)]
        },
        marks: Vec::new(),
        percentiles: true,
        x_range: None,
    };
    render("latency", WIDE, |r| draw_lines(r, &lat), |r| draw_lines(r, &lat))
}

/// Mean markouts (bps) per horizon, one line per side and liquidity.
struct MarkoutLines {
    title: String,
    lines: Vec<Line>,
}

/// The markout chart: horizons as categories on x, mean markout in bps on y.
fn draw_markouts<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &MarkoutLines,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (y0, y1) = finite_or(
        bounds(d.lines.iter().flat_map(|l| l.2.iter().map(|p| p.1)).chain([0.0])),
        (0.0, 1.0),
    );
    let n = lockstep_sim::FillRow::MARKOUT_HORIZON_NAMES.len();
    let mut c = ChartBuilder::on(root)
        .caption(&d.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(-0.3..(n as f64 - 0.7), span(y0, y1))?;
    let label = |x: &f64| {
        let k = x.round();
        let names = lockstep_sim::FillRow::MARKOUT_HORIZON_NAMES;
        if (x - k).abs() > 1e-9 || k < 0.0 {
            String::new()
        } else {
            names.get(k as usize).map_or_else(String::new, |s| (*s).to_owned())
        }
    };
    c.configure_mesh()
        .x_labels(n)
        .x_label_formatter(&label)
        .x_desc("horizon after the fill (tape time)")
        .y_desc("mean markout (bps, positive is good for us)")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    c.draw_series(LineSeries::new([(-0.3, 0.0), (n as f64 - 0.7, 0.0)], MARKET.mix(0.5)))?;
    for (name, colour, pts) in &d.lines {
        let colour = *colour;
        c.draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        c.draw_series(pts.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
    }
    if !d.lines.is_empty() {
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()
}

/// Mean markout by horizon for each side and liquidity with fills.
fn markouts_chart(s: &StrategySummary, who: &str) -> Result<Rendered, ChartError> {
    let palette = [
        ("buy", "maker", BUY),
        ("buy", "taker", RGBColor(0x7f, 0xc9, 0x7f)),
        ("sell", "maker", SELL),
        ("sell", "taker", RGBColor(0xf4, 0xa5, 0x82)),
    ];
    let mut lines = Vec::new();
    for (side, liquidity, colour) in palette {
        let pts: Vec<(f64, f64)> = s
            .markouts
            .iter()
            .filter(|m| m.side == side && m.liquidity == liquidity)
            .enumerate()
            .filter_map(|(k, m)| m.mean_bps.map(|v| (k as f64, v)))
            .collect();
        if !pts.is_empty() {
            lines.push((format!("{side} {liquidity}"), colour, pts));
        }
    }
    let d = MarkoutLines { title: format!("{who}: mean markout by horizon"), lines };
    render("markouts", WIDE, |r| draw_markouts(r, &d), |r| draw_markouts(r, &d))
}
