//! # lockstep-report
//!
//! The backtest report: statistics, tables and charts built from the run's blotters, as files
//! that are byte-identical for the same tape, strategies and parameters. Wall-clock facts are
//! not in them; the caller keeps those apart (the CLI's `run.json`).
//!
//! Files: `summary.json`; `orders`, `fills`, `equity` as `.csv` and `.parquet`; the charts
//! `equity`, `inventory`, `prices`, `latency`, `markouts` as `.svg` and `.png` (suffixed
//! `-<index>` per
//! strategy when there are several); `report.html`, one self-contained page. With fuel
//! sections (`backtest --fuel-report`), each WebAssembly strategy's certificate and fuel
//! profile files too; the certificate's times are this machine's.

#![forbid(unsafe_code)]

mod chart;
mod charts;
mod fuel;
mod html;
mod quant;
mod stats;
mod table;
mod zone;

pub use chart::{
    ChartError, DrawResult, FONT, Rendered, clock_label, percentile_label, percentile_x,
    register_font, render,
};
pub use fuel::{FuelBound, FuelEvent, FuelFunction, FuelSection};
pub use quant::{Attribution, MarkoutRow, PeriodRow, Periods, RoundTrips};
pub use table::parquet_to_csv;
pub use zone::{Clock, Zone, human_duration};

use lockstep_sdk::{InstrumentId, Side};
use lockstep_sim::{
    Blotter, BlotterConfig, EquityRow, FillRow, OrderKind, OrderRow, RequestKind, RunOutput,
    StrategyReport, TapeHeader, hex, reject_reason_hint, reject_reason_name,
};
use serde::Serialize;
use stats::{changes, max_drawdown, percentile, sharpe, sortino, step_profile};
use std::fmt;
use table::{Col, Table, decimal};

/// Tape nanoseconds in a trading year by default: 252 days of 6.5 hours (US equities).
pub const DEFAULT_YEAR_NS: i64 = 252 * 23_400 * 1_000_000_000;

/// What the report covers and how statistics are scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportConfig {
    /// Bars and the price window (see [`BlotterConfig`]; default one-minute bars, the busiest
    /// minute).
    pub blotter: BlotterConfig,
    /// Tape nanoseconds in a year, to annualise Sharpe and Sortino (default
    /// [`DEFAULT_YEAR_NS`]: 252 days of 6.5 hours; use 365 days of 24 hours for crypto).
    pub year_ns: i64,
    /// Fewest bars Sharpe and Sortino are computed from (default [`DEFAULT_MIN_BARS`]); with
    /// fewer, the report says so instead of printing a number that means nothing.
    pub min_bars: usize,
}

/// Fewest bars a Sharpe or Sortino ratio is given for by default.
pub const DEFAULT_MIN_BARS: usize = 30;

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            blotter: BlotterConfig::default(),
            year_ns: DEFAULT_YEAR_NS,
            min_bars: DEFAULT_MIN_BARS,
        }
    }
}

/// How per-bar ratios are annualised and when there are too few bars for them.
#[derive(Clone, Copy, Debug)]
struct Ratios {
    bars_per_year: f64,
    min_bars: usize,
}

/// The report could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReportError {
    /// The run kept no blotters: run the session with [`lockstep_sim::SessionConfig::blotter`] set.
    NoBlotter,
    /// A chart failed.
    Chart(ChartError),
    /// A table could not be encoded as Parquet.
    Parquet {
        /// Which file.
        file: String,
        /// The writer's message.
        message: String,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::NoBlotter => write!(
                f,
                "the run kept no blotter; set SessionConfig::blotter before running to build a report"
            ),
            ReportError::Chart(e) => write!(f, "{e}"),
            ReportError::Parquet { file, message } => write!(f, "encoding {file}: {message}"),
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Chart(e) => Some(e),
            _ => None,
        }
    }
}

/// An instrument of the tape, as the summary names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstrumentRef {
    /// Id on the tape.
    pub id: InstrumentId,
    /// Symbol.
    pub symbol: String,
    /// Tick size, exact decimal text.
    pub tick: String,
}

/// The tape the run replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TapeSummary {
    /// Where it came from.
    pub source: String,
    /// Tape events replayed.
    pub events: u64,
    /// First and last local time seen by the first strategy's venue (ns).
    pub start_ns: Option<i64>,
    /// Last local time.
    pub end_ns: Option<i64>,
    /// `start_ns` as a date and time on the venue's clock.
    pub start_time: Option<String>,
    /// `end_ns` as a date and time on the venue's clock.
    pub end_time: Option<String>,
    /// The venue's time zone the times are shown in (the first instrument's).
    pub time_zone: String,
    /// Why times are not on the venue's clock, when they are not (an unknown zone).
    pub time_zone_note: Option<String>,
    /// Instruments.
    pub instruments: Vec<InstrumentRef>,
}

/// Rejected requests of one kind and reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectSummary {
    /// Instrument the request named.
    pub instrument: InstrumentId,
    /// `place`, `cancel` or `replace`.
    pub request: &'static str,
    /// Reason name (the SDK's `reject_reason`).
    pub reason: &'static str,
    /// Reason code.
    pub code: u32,
    /// How many.
    pub count: u64,
    /// What it usually means.
    pub hint: &'static str,
}

/// Statistics of one strategy on one instrument, or over all of them. Money, prices and
/// quantities are exact decimal text; ratios are numbers (`null` where undefined).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    /// Instrument (`None`: all instruments together).
    pub instrument: Option<InstrumentId>,
    /// Its symbol.
    pub symbol: Option<String>,
    /// Cash plus positions at the mark, before fees.
    pub gross_pnl: String,
    /// Gross less fees.
    pub net_pnl: String,
    /// Fees paid (negative: rebates earned).
    pub fees: String,
    /// Mark-to-market equity at the end of the last bar (starting from zero).
    pub equity_end: String,
    /// Mean over standard deviation of per-bar equity changes.
    pub sharpe: Option<f64>,
    /// `sharpe` times the square root of bars per year.
    pub sharpe_annualised: Option<f64>,
    /// Mean over downside deviation of per-bar equity changes.
    pub sortino: Option<f64>,
    /// `sortino` times the square root of bars per year.
    pub sortino_annualised: Option<f64>,
    /// Why Sharpe and Sortino are absent when there were too few bars for them.
    pub ratios_note: Option<String>,
    /// Largest fall of equity from a running peak (zero if none).
    pub max_drawdown: String,
    /// End of the bar where that peak was (`None`: the starting zero).
    pub max_drawdown_peak_ns: Option<i64>,
    /// End of the bar where the fall bottomed out.
    pub max_drawdown_ns: Option<i64>,
    /// `max_drawdown_ns` as a date and time on the venue's clock.
    pub max_drawdown_time: Option<String>,
    /// Notional traded (sum of price times quantity of every fill).
    pub turnover: String,
    /// Bars with equity marked.
    pub bars: u64,
    /// New orders (accepted or not).
    pub orders: u64,
    /// Fills.
    pub fills: u64,
    /// Cancel requests, accepted or refused (the run summary's count).
    pub cancels: u64,
    /// Replace requests, accepted or refused (the run summary's count).
    pub replaces: u64,
    /// Requests refused (new orders, cancels and replaces).
    pub rejects: u64,
    /// Of those, cancels and replaces that came too late: the order had filled or been
    /// cancelled while the request was in flight (a venue's "too late to cancel").
    pub too_late: u64,
    /// Requests refused on their merits (rejects less those too late) over all requests.
    pub reject_rate: Option<f64>,
    /// Requests too late over all requests.
    pub too_late_rate: Option<f64>,
    /// Fills that rested (maker).
    pub maker_fills: u64,
    /// Fills that took liquidity (taker).
    pub taker_fills: u64,
    /// Maker fills over all fills.
    pub maker_share: Option<f64>,
    /// Accepted orders with at least one fill over accepted orders.
    pub fill_ratio: Option<f64>,
    /// Mean quantity ahead in the queue when an order came to rest.
    pub mean_ahead_at_rest: Option<f64>,
    /// Mean quantity still ahead when a maker fill happened.
    pub mean_ahead_at_fill: Option<f64>,
    /// Lowest position.
    pub inventory_min: String,
    /// Highest position.
    pub inventory_max: String,
    /// Time-weighted mean position over the strategy's span of tape time.
    pub inventory_mean: f64,
}

/// Simulated latency, in tape time (deterministic; the host's wall-clock latency is in
/// `run.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimLatency {
    /// Order entry: strategy to venue (ns).
    pub entry_ns: i64,
    /// Feed: venue to strategy (ns).
    pub feed_ns: i64,
    /// Orders with at least one fill.
    pub filled_orders: u64,
    /// Time from sending an order to its first fill: median, 90th, 99th percentile, maximum.
    pub to_first_fill_p50_ns: Option<i64>,
    /// 90th percentile.
    pub to_first_fill_p90_ns: Option<i64>,
    /// 99th percentile.
    pub to_first_fill_p99_ns: Option<i64>,
    /// Maximum.
    pub to_first_fill_max_ns: Option<i64>,
}

/// One strategy's part of the summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StrategySummary {
    /// Position in the run.
    pub index: usize,
    /// Name.
    pub name: String,
    /// Parameters.
    pub params: String,
    /// `interpreter`, `compiled` or `native`.
    pub tier: &'static str,
    /// Digest of what it did (actions, exchange events, halts).
    pub digest: String,
    /// Digest with fuel.
    pub fuel_digest: String,
    /// Why and where it was halted, if it was.
    pub halted: Option<String>,
    /// Over all instruments.
    pub total: Stats,
    /// Per instrument traded.
    pub instruments: Vec<Stats>,
    /// Refused requests by instrument, request and reason.
    pub rejects: Vec<RejectSummary>,
    /// Simulated latency.
    pub latency: SimLatency,
    /// Orders and fills left out of the tables (a run past the blotter's row limit); the
    /// statistics then cover the rows kept. Both zero normally.
    pub rows_dropped: (u64, u64),
    /// Markouts of the fills by side, liquidity and horizon.
    pub markouts: Vec<MarkoutRow>,
    /// PnL per instrument split into spread capture and inventory PnL.
    pub attribution: Vec<Attribution>,
    /// Round-trip trade statistics per instrument (FIFO lot matching).
    pub round_trips: Vec<RoundTrips>,
    /// PnL, fills, volume and inventory per period.
    pub periods: Periods,
}

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Version of this layout.
    pub format: u32,
    /// The tape.
    pub tape: TapeSummary,
    /// Bar length (ns of tape time).
    pub bar_ns: i64,
    /// Bars per year used to annualise.
    pub bars_per_year: f64,
    /// The price chart's window `[start, end)` (ns).
    pub window_ns: Option<(i64, i64)>,
    /// The run's digest (all strategies).
    pub digest: String,
    /// The run's fuel digest.
    pub fuel_digest: String,
    /// The simulated venue's queue-position model.
    pub queue_model: String,
    /// The simulated venue's latency model.
    pub latency_model: String,
    /// Per strategy.
    pub strategies: Vec<StrategySummary>,
}

/// One file of a report, in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFile {
    /// File name inside the report directory.
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// A built report: the summary and every file, ready to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// `summary.json` as a value.
    pub summary: Summary,
    /// The files, `report.html` last.
    pub files: Vec<ReportFile>,
}

fn side_name(s: Side) -> &'static str {
    if s == Side::Buy { "buy" } else { "sell" }
}

fn tier_name(s: &StrategyReport) -> &'static str {
    s.tier.map_or("native", |t| t.name())
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn mean(v: impl Iterator<Item = i64>) -> Option<f64> {
    let (mut sum, mut n) = (0f64, 0u64);
    for x in v {
        sum += x as f64 / 1e8;
        n += 1;
    }
    (n > 0).then(|| sum / n as f64)
}

/// Statistics over the rows of `b` that `on` selects (an instrument, or all), with the
/// equity series `equity` (bar end, equity).
fn stats(
    b: &Blotter,
    on: Option<InstrumentId>,
    header: &TapeHeader,
    end_state: (i128, i128),
    equity: &[(i64, i128)],
    ratios: Ratios,
) -> Stats {
    let pick = |i: InstrumentId| on.is_none_or(|x| x == i);
    let orders: Vec<_> = b.orders().iter().filter(|o| pick(o.instrument)).collect();
    let fills: Vec<_> = b.fills().iter().filter(|f| pick(f.instrument)).collect();
    let accepted = orders.iter().filter(|o| o.acked_ns.is_some()).count() as u64;
    let with_fill = orders.iter().filter(|o| o.filled.0 > 0).count() as u64;
    let maker = fills.iter().filter(|f| f.maker).count() as u64;
    let (gross, fees) = end_state;
    let returns = changes(equity);
    let scale = ratios.bars_per_year.sqrt();
    let enough = returns.len() >= ratios.min_bars;
    let (sh, so) = if enough { (sharpe(&returns), sortino(&returns)) } else { (None, None) };
    let ratios_note = (!enough).then(|| {
        format!(
            "Sharpe and Sortino need at least {} bars and this run has {}: give a shorter --bar \
             or a longer tape",
            ratios.min_bars,
            returns.len()
        )
    });
    let dd = max_drawdown(equity);
    let turnover = fills.iter().fold(0i128, |acc, f| {
        acc.saturating_add((i128::from(f.px.0) * i128::from(f.qty.0)).abs() / 100_000_000)
    });
    // Inventory: one instrument's position after each fill; over all instruments the sum
    // only means something for one instrument, so the total uses the first traded one.
    let inv_on = on.or_else(|| fills.first().map(|f| f.instrument));
    let steps: Vec<(i64, i64)> = fills
        .iter()
        .filter(|f| Some(f.instrument) == inv_on)
        .map(|f| (f.ts_ns, f.position.0))
        .collect();
    let (start, end) = b.span().unwrap_or((0, 0));
    let (lo, hi, twa) = step_profile(&steps, start, end);
    let refused = |kind: Option<RequestKind>| -> u64 {
        let mine = |i: &InstrumentId, k: &RequestKind| pick(*i) && kind.is_none_or(|w| w == *k);
        b.rejects().iter().filter(|((i, k, _), _)| mine(i, k)).map(|(_, n)| *n).sum()
    };
    let rejects = refused(None);
    let too_late: u64 = b.too_late().iter().filter(|(i, _)| pick(**i)).map(|(_, n)| *n).sum();
    // Requests, accepted or refused, as the run's summary counts them: an accepted cancel
    // request is the only way a limit order ends cancelled.
    let cancel_requests =
        orders.iter().filter(|o| o.kind == OrderKind::Limit && o.cancelled_ns.is_some()).count()
            as u64
            + refused(Some(RequestKind::Cancel));
    let replace_requests = orders.iter().map(|o| u64::from(o.replaces)).sum::<u64>()
        + refused(Some(RequestKind::Replace));
    Stats {
        instrument: on,
        symbol: on.and_then(|i| header.instruments.get(usize::from(i)).map(|x| x.symbol.clone())),
        gross_pnl: decimal(gross),
        net_pnl: decimal(gross.saturating_sub(fees)),
        fees: decimal(fees),
        equity_end: decimal(equity.last().map_or(0, |e| e.1)),
        sharpe: sh,
        sharpe_annualised: sh.map(|s| s * scale),
        sortino: so,
        sortino_annualised: so.map(|s| s * scale),
        ratios_note,
        max_drawdown: decimal(dd.map_or(0, |d| d.0)),
        max_drawdown_peak_ns: dd.and_then(|d| d.1),
        max_drawdown_ns: dd.map(|d| d.2),
        max_drawdown_time: None,
        turnover: decimal(turnover),
        bars: equity.len() as u64,
        orders: orders.len() as u64,
        fills: fills.len() as u64,
        cancels: cancel_requests,
        replaces: replace_requests,
        rejects,
        too_late,
        reject_rate: ratio(
            rejects - too_late,
            orders.len() as u64 + cancel_requests + replace_requests,
        ),
        too_late_rate: ratio(too_late, orders.len() as u64 + cancel_requests + replace_requests),
        maker_fills: maker,
        taker_fills: fills.len() as u64 - maker,
        maker_share: ratio(maker, fills.len() as u64),
        fill_ratio: ratio(with_fill, accepted),
        mean_ahead_at_rest: mean(orders.iter().filter_map(|o| o.ahead_at_rest.map(|q| q.0))),
        mean_ahead_at_fill: mean(fills.iter().filter_map(|f| f.ahead_at_fill.map(|q| q.0))),
        inventory_min: decimal(i128::from(lo)),
        inventory_max: decimal(i128::from(hi)),
        inventory_mean: twa,
    }
}

/// Equity per bar of one instrument, or summed over all of them (bars with no instrument
/// traded yet count as zero).
fn equity_series(b: &Blotter, on: Option<InstrumentId>) -> Vec<(i64, i128)> {
    match on {
        Some(i) => b
            .equity()
            .iter()
            .filter(|r| r.instrument == i)
            .map(|r| (r.bar_end_ns, r.equity()))
            .collect(),
        None => {
            let rows = b.equity();
            let mut k = 0;
            b.bar_ends()
                .iter()
                .map(|&t| {
                    let mut e = 0i128;
                    while k < rows.len() && rows[k].bar_end_ns == t {
                        e = e.saturating_add(rows[k].equity());
                        k += 1;
                    }
                    (t, e)
                })
                .collect()
        }
    }
}

fn symbol(header: &TapeHeader, i: InstrumentId) -> String {
    header.instruments.get(usize::from(i)).map_or_else(|| format!("#{i}"), |x| x.symbol.clone())
}

/// Most characters of the tape's source line shown on the page (it names the input files).
const SOURCE_CHARS: usize = 1000;
/// Most characters of a symbol shown on the page and in the charts.
const NAME_CHARS: usize = 64;

/// Instrument `i`'s symbol as drawn in a chart: the file's text with control characters
/// escaped by the shared sanitiser (the SVG backend escapes markup), so the SVG stays XML.
fn shown_symbol(header: &TapeHeader, i: InstrumentId) -> String {
    lockstep_sdk::untrusted(&symbol(header, i)).max_chars(NAME_CHARS).to_string()
}

/// The orders, fills and equity tables of every strategy.
fn tables(run: &RunOutput, header: &TapeHeader) -> [(&'static str, Table); 3] {
    [
        ("orders", orders_table(run, header)),
        ("fills", fills_table(run, header)),
        ("equity", equity_table(run, header)),
    ]
}

/// The name of strategy `k` in the tables (empty when the run has no such strategy).
fn strategy_name(run: &RunOutput, k: usize) -> String {
    run.report.strategies.get(k).map_or_else(String::new, |s| s.name.clone())
}

/// `orders`: one row per order of every strategy, in blotter order.
fn orders_table(run: &RunOutput, header: &TapeHeader) -> Table {
    let mut o = OrderCols::default();
    for (k, b) in run.blotters.iter().enumerate() {
        for r in b.orders() {
            o.push(strategy_name(run, k), r, symbol(header, r.instrument));
        }
    }
    Table::default()
        .col("strategy", Col::Str(o.strategy))
        .col("order_no", Col::U64(o.order_no))
        .col("order_id", Col::U64(o.order_id))
        .col("instrument", Col::U64(o.instrument))
        .col("symbol", Col::Str(o.symbol))
        .col("side", Col::Str(o.side))
        .col("kind", Col::Str(o.kind))
        .col("px", Col::Dec(o.px))
        .col("qty", Col::Dec(o.qty))
        .col("sent_ns", Col::I64(o.sent))
        .col("acked_ns", Col::I64(o.acked))
        .col("replaces", Col::U64(o.replaces))
        .col("replaced_ns", Col::I64(o.replaced))
        .col("last_px", Col::Dec(o.last_px))
        .col("last_qty", Col::Dec(o.last_qty))
        .col("filled", Col::Dec(o.filled))
        .col("avg_px", Col::Dec(o.avg_px))
        .col("first_fill_ns", Col::I64(o.first_fill))
        .col("last_fill_ns", Col::I64(o.last_fill))
        .col("cancelled_ns", Col::I64(o.cancelled))
        .col("rejected_ns", Col::I64(o.rejected))
        .col("reject_reason", Col::Str(o.reason))
        .col("ahead_at_rest", Col::Dec(o.ahead))
        .col("status", Col::Str(o.status))
}

/// `fills`: one row per fill of every strategy, in blotter order.
fn fills_table(run: &RunOutput, header: &TapeHeader) -> Table {
    let mut f = FillCols::default();
    for (k, b) in run.blotters.iter().enumerate() {
        for r in b.fills() {
            f.push(strategy_name(run, k), r, symbol(header, r.instrument));
        }
    }
    Table::default()
        .col("strategy", Col::Str(f.strategy))
        .col("fill_no", Col::U64(f.fill_no))
        .col("ts_ns", Col::I64(f.ts))
        .col("order_no", Col::U64(f.order_no))
        .col("order_id", Col::U64(f.order_id))
        .col("instrument", Col::U64(f.instrument))
        .col("symbol", Col::Str(f.symbol))
        .col("side", Col::Str(f.side))
        .col("px", Col::Dec(f.px))
        .col("qty", Col::Dec(f.qty))
        .col("leaves", Col::Dec(f.leaves))
        .col("liquidity", Col::Str(f.liquidity))
        .col("fee", Col::Dec(f.fee))
        .col("ahead_at_fill", Col::Dec(f.ahead))
        .col("position", Col::Dec(f.position))
        .col("mid", Col::Dec(f.mid))
        .col("markout_100ms", Col::Dec(f.markouts[0].clone()))
        .col("markout_1s", Col::Dec(f.markouts[1].clone()))
        .col("markout_10s", Col::Dec(f.markouts[2].clone()))
        .col("markout_60s", Col::Dec(f.markouts[3].clone()))
}

/// `equity`: one row per bar and instrument of every strategy, with its drawdown.
fn equity_table(run: &RunOutput, header: &TapeHeader) -> Table {
    let mut e = EquityCols::default();
    for (k, b) in run.blotters.iter().enumerate() {
        // Drawdown per instrument from its own running peak (starting at zero).
        let mut peaks: std::collections::BTreeMap<InstrumentId, i128> = Default::default();
        for r in b.equity() {
            let eq = r.equity();
            let peak = peaks.entry(r.instrument).or_insert(0);
            *peak = (*peak).max(eq);
            e.push(strategy_name(run, k), r, symbol(header, r.instrument), eq, *peak - eq);
        }
    }
    Table::default()
        .col("strategy", Col::Str(e.strategy))
        .col("bar_end_ns", Col::I64(e.bar_end))
        .col("instrument", Col::U64(e.instrument))
        .col("symbol", Col::Str(e.symbol))
        .col("position", Col::Dec(e.position))
        .col("mark", Col::Dec(e.mark))
        .col("cash", Col::Dec(e.cash))
        .col("fees", Col::Dec(e.fees))
        .col("equity", Col::Dec(e.equity))
        .col("drawdown", Col::Dec(e.drawdown))
}

#[derive(Default)]
struct OrderCols {
    strategy: Vec<String>,
    order_no: Vec<u64>,
    order_id: Vec<u64>,
    instrument: Vec<u64>,
    symbol: Vec<String>,
    side: Vec<String>,
    kind: Vec<String>,
    px: Vec<Option<i128>>,
    qty: Vec<Option<i128>>,
    sent: Vec<Option<i64>>,
    acked: Vec<Option<i64>>,
    replaces: Vec<u64>,
    replaced: Vec<Option<i64>>,
    last_px: Vec<Option<i128>>,
    last_qty: Vec<Option<i128>>,
    filled: Vec<Option<i128>>,
    avg_px: Vec<Option<i128>>,
    first_fill: Vec<Option<i64>>,
    last_fill: Vec<Option<i64>>,
    cancelled: Vec<Option<i64>>,
    rejected: Vec<Option<i64>>,
    reason: Vec<String>,
    ahead: Vec<Option<i128>>,
    status: Vec<String>,
}

#[derive(Default)]
struct FillCols {
    strategy: Vec<String>,
    fill_no: Vec<u64>,
    ts: Vec<Option<i64>>,
    order_no: Vec<u64>,
    order_id: Vec<u64>,
    instrument: Vec<u64>,
    symbol: Vec<String>,
    side: Vec<String>,
    px: Vec<Option<i128>>,
    qty: Vec<Option<i128>>,
    leaves: Vec<Option<i128>>,
    liquidity: Vec<String>,
    fee: Vec<Option<i128>>,
    ahead: Vec<Option<i128>>,
    position: Vec<Option<i128>>,
    mid: Vec<Option<i128>>,
    /// Markout per horizon (empty: unresolved or one-sided book).
    markouts: [Vec<Option<i128>>; 4],
}

#[derive(Default)]
struct EquityCols {
    strategy: Vec<String>,
    bar_end: Vec<Option<i64>>,
    instrument: Vec<u64>,
    symbol: Vec<String>,
    position: Vec<Option<i128>>,
    mark: Vec<Option<i128>>,
    cash: Vec<Option<i128>>,
    fees: Vec<Option<i128>>,
    equity: Vec<Option<i128>>,
    drawdown: Vec<Option<i128>>,
}

impl OrderCols {
    /// Appends order `r` of `strategy` on instrument `symbol`.
    fn push(&mut self, strategy: String, r: &OrderRow, symbol: String) {
        let limit = r.kind != OrderKind::Market;
        self.strategy.push(strategy);
        self.order_no.push(r.order_no);
        self.order_id.push(r.order_id);
        self.instrument.push(u64::from(r.instrument));
        self.symbol.push(symbol);
        self.side.push(side_name(r.side).to_owned());
        self.kind.push(r.kind.name().to_owned());
        self.px.push(limit.then_some(i128::from(r.px.0)));
        self.qty.push(Some(i128::from(r.qty.0)));
        self.sent.push(Some(r.sent_ns));
        self.acked.push(r.acked_ns);
        self.replaces.push(u64::from(r.replaces));
        self.replaced.push(r.replaced_ns);
        self.last_px.push(limit.then_some(i128::from(r.last_px.0)));
        self.last_qty.push(Some(i128::from(r.last_qty.0)));
        self.filled.push(Some(i128::from(r.filled.0)));
        self.avg_px.push(r.avg_px().map(|p| i128::from(p.0)));
        self.first_fill.push(r.first_fill_ns);
        self.last_fill.push(r.last_fill_ns);
        self.cancelled.push(r.cancelled_ns);
        self.rejected.push(r.rejected.map(|x| x.0));
        self.reason
            .push(r.rejected.map_or_else(String::new, |x| reject_reason_name(x.1).to_owned()));
        self.ahead.push(r.ahead_at_rest.map(|q| i128::from(q.0)));
        self.status.push(r.status.name().to_owned());
    }
}

impl FillCols {
    /// Appends fill `r` of `strategy` on instrument `symbol`.
    fn push(&mut self, strategy: String, r: &FillRow, symbol: String) {
        self.strategy.push(strategy);
        self.fill_no.push(r.fill_no);
        self.ts.push(Some(r.ts_ns));
        self.order_no.push(r.order_no);
        self.order_id.push(r.order_id);
        self.instrument.push(u64::from(r.instrument));
        self.symbol.push(symbol);
        self.side.push(side_name(r.side).to_owned());
        self.px.push(Some(i128::from(r.px.0)));
        self.qty.push(Some(i128::from(r.qty.0)));
        self.leaves.push(Some(i128::from(r.leaves.0)));
        self.liquidity.push(if r.maker { "maker" } else { "taker" }.to_owned());
        self.fee.push(Some(r.fee));
        self.ahead.push(r.ahead_at_fill.map(|q| i128::from(q.0)));
        self.position.push(Some(i128::from(r.position.0)));
        self.mid.push((r.mid.0 > 0).then_some(i128::from(r.mid.0)));
        for (h, col) in self.markouts.iter_mut().enumerate() {
            col.push(r.markout(h).map(i128::from));
        }
    }
}

impl EquityCols {
    fn push(&mut self, strategy: String, r: &EquityRow, symbol: String, eq: i128, dd: i128) {
        self.strategy.push(strategy);
        self.bar_end.push(Some(r.bar_end_ns));
        self.instrument.push(u64::from(r.instrument));
        self.symbol.push(symbol);
        self.position.push(Some(i128::from(r.position.0)));
        self.mark.push(Some(i128::from(r.mark.0)));
        self.cash.push(Some(r.cash));
        self.fees.push(Some(r.fees));
        self.equity.push(Some(eq));
        self.drawdown.push(Some(dd));
    }
}

/// The summary of strategy `k`.
fn strategy_summary(
    k: usize,
    s: &StrategyReport,
    b: &Blotter,
    header: &TapeHeader,
    latency: (i64, i64),
    ratios: Ratios,
    clock: &Clock,
) -> StrategySummary {
    let x = &s.exchange;
    let end_state = |on: Option<InstrumentId>| {
        x.instruments.iter().filter(|i| on.is_none_or(|o| o == i.instrument)).fold(
            (0i128, 0i128),
            |(g, f), i| {
                (g.saturating_add(i.pnl.0.saturating_add(i.fees.0)), f.saturating_add(i.fees.0))
            },
        )
    };
    let timed = |mut st: Stats| {
        st.max_drawdown_time = st.max_drawdown_ns.map(|t| clock.labelled(t));
        st
    };
    let total = timed(stats(b, None, header, end_state(None), &equity_series(b, None), ratios));
    let instruments = x
        .instruments
        .iter()
        .map(|i| {
            let on = Some(i.instrument);
            timed(stats(b, on, header, end_state(on), &equity_series(b, on), ratios))
        })
        .collect();
    let (attribution, round_trips) = per_instrument(b, header, &end_state);
    let rejects = b
        .rejects()
        .iter()
        .map(|(&(instrument, kind, code), &count)| RejectSummary {
            instrument,
            request: kind.name(),
            reason: reject_reason_name(code),
            code,
            count,
            hint: reject_reason_hint(kind, code),
        })
        .collect();
    let to_fill = b.times_to_first_fill();
    StrategySummary {
        index: k,
        name: s.name.clone(),
        params: s.params.clone(),
        tier: tier_name(s),
        digest: hex(&s.digest),
        fuel_digest: hex(&s.fuel_digest),
        halted: s.halted.as_ref().map(|(seq, m)| format!("at event seq {seq}: {m}")),
        total,
        instruments,
        rejects,
        latency: SimLatency {
            entry_ns: latency.0,
            feed_ns: latency.1,
            filled_orders: to_fill.len() as u64,
            to_first_fill_p50_ns: percentile(&to_fill, 0.5),
            to_first_fill_p90_ns: percentile(&to_fill, 0.9),
            to_first_fill_p99_ns: percentile(&to_fill, 0.99),
            to_first_fill_max_ns: to_fill.last().copied(),
        },
        rows_dropped: b.dropped(),
        markouts: quant::markouts(b.fills()),
        attribution,
        round_trips,
        periods: quant::periods(
            &equity_series(b, None),
            b.fills(),
            &contracts(header),
            (b.span().unwrap_or((0, 0)), b.config().bar_ns),
            clock,
        ),
    }
}

/// The contract of every instrument of the tape, by id.
fn contracts(header: &TapeHeader) -> Vec<lockstep_sim::Contract> {
    header.instruments.iter().map(|i| i.contract).collect()
}

/// The attribution and round trips of every instrument the strategy traded;
/// `end_state(instrument)` gives its (gross PnL, fees).
fn per_instrument(
    b: &Blotter,
    header: &TapeHeader,
    end_state: &dyn Fn(Option<InstrumentId>) -> (i128, i128),
) -> (Vec<quant::Attribution>, Vec<quant::RoundTrips>) {
    let mut traded: Vec<InstrumentId> = b.fills().iter().map(|f| f.instrument).collect();
    traded.sort_unstable();
    traded.dedup();
    let cs = contracts(header);
    let mut attribution = Vec::new();
    let mut trips = Vec::new();
    for i in traded {
        let fills: Vec<&FillRow> = b.fills().iter().filter(|f| f.instrument == i).collect();
        let c = cs.get(usize::from(i)).copied().unwrap_or(lockstep_sim::Contract::LINEAR);
        attribution.push(quant::attribution(i, symbol(header, i), &fills, c, end_state(Some(i))));
        trips.push(quant::round_trips(i, symbol(header, i), &fills, c));
    }
    (attribution, trips)
}

/// The clock tape times are shown on: the first instrument's zone and the tape's local
/// midnight, if it has one.
pub fn tape_clock(header: &TapeHeader) -> Clock {
    let zone = header.instruments.first().map_or("UTC", |i| i.time_zone.as_str());
    Clock::new(zone, header.local_midnight.as_deref())
}

/// The summary of `run` (which must have kept blotters) over the tape `header`, without the
/// tables and charts; `latency` is the simulated exchange's (entry, feed) latency in ns.
///
/// # Errors
/// [`ReportError::NoBlotter`] if the run kept none.
pub fn summarize(
    run: &RunOutput,
    header: &TapeHeader,
    cfg: &ReportConfig,
    latency: (i64, i64),
) -> Result<Summary, ReportError> {
    if run.blotters.len() != run.report.strategies.len() || run.blotters.is_empty() {
        return Err(ReportError::NoBlotter);
    }
    let bar = run.blotters[0].config().bar_ns;
    let bars_per_year = cfg.year_ns as f64 / bar as f64;
    let ratios = Ratios { bars_per_year, min_bars: cfg.min_bars };
    let clock = tape_clock(header);
    let strategies: Vec<StrategySummary> = run
        .report
        .strategies
        .iter()
        .zip(&run.blotters)
        .enumerate()
        .map(|(k, (s, b))| strategy_summary(k, s, b, header, latency, ratios, &clock))
        .collect();
    let span = run.blotters[0].span();
    Ok(Summary {
        format: 1,
        tape: TapeSummary {
            source: header.source.clone(),
            events: run.report.events,
            start_ns: span.map(|s| s.0),
            end_ns: span.map(|s| s.1),
            start_time: span.map(|s| clock.labelled(s.0)),
            end_time: span.map(|s| clock.labelled(s.1)),
            time_zone: clock.label(),
            time_zone_note: clock.note(),
            instruments: header
                .instruments
                .iter()
                .map(|i| InstrumentRef {
                    id: i.id,
                    symbol: i.symbol.clone(),
                    tick: decimal(i128::from(i.tick_size.0)),
                })
                .collect(),
        },
        bar_ns: bar,
        bars_per_year,
        window_ns: run.blotters[0].window().map(|w| w.0),
        digest: hex(&run.report.digest),
        fuel_digest: hex(&run.report.fuel_digest),
        queue_model: run.report.queue_model.clone(),
        latency_model: run.report.latency_model.clone(),
        strategies,
    })
}

/// Builds the report of `run` (which must have kept blotters) over the tape `header`;
/// `latency` is the simulated exchange's (entry, feed) latency in ns. With `charts` false
/// the charts and the page are left out (the summary and tables only). `fuel` adds the fuel
/// sections the host computed (`backtest --fuel-report`), with their files.
///
/// # Errors
/// [`ReportError::NoBlotter`] if the run kept none; a chart or Parquet encoding failure.
pub fn build_report(
    run: &RunOutput,
    header: &TapeHeader,
    cfg: &ReportConfig,
    latency: (i64, i64),
    charts: bool,
    fuel: &[FuelSection],
) -> Result<Report, ReportError> {
    let summary = summarize(run, header, cfg, latency)?;
    let mut files = Vec::new();
    let mut json = serde_json::to_vec_pretty(&summary).map_err(|e| ReportError::Parquet {
        file: "summary.json".into(),
        message: e.to_string(),
    })?;
    json.push(b'\n');
    files.push(ReportFile { name: "summary.json".into(), bytes: json });
    for (name, t) in tables(run, header) {
        files.push(ReportFile { name: format!("{name}.csv"), bytes: t.csv() });
        let pq = t
            .parquet()
            .map_err(|message| ReportError::Parquet { file: format!("{name}.parquet"), message })?;
        files.push(ReportFile { name: format!("{name}.parquet"), bytes: pq });
    }
    for f in fuel {
        for (name, bytes) in &f.files {
            files.push(ReportFile { name: name.clone(), bytes: bytes.clone() });
        }
    }
    if !charts {
        return Ok(Report { summary, files });
    }
    let several = run.blotters.len() > 1;
    let mut pictures = Vec::new();
    for (k, b) in run.blotters.iter().enumerate() {
        let suffix = if several { format!("-{k}") } else { String::new() };
        let set = charts::draw(b, &summary.strategies[k], header).map_err(ReportError::Chart)?;
        for (chart, r) in set {
            files.push(ReportFile {
                name: format!("{chart}{suffix}.svg"),
                bytes: r.svg.clone().into_bytes(),
            });
            files.push(ReportFile { name: format!("{chart}{suffix}.png"), bytes: r.png.clone() });
            pictures.push((k, chart, format!("{chart}{suffix}"), r.svg));
        }
    }
    let page = html::page(&summary, &pictures, fuel, &files);
    files.push(ReportFile { name: "report.html".into(), bytes: page.into_bytes() });
    Ok(Report { summary, files })
}

impl Report {
    /// The file names the report writes (to check them against inputs before writing).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| f.name.as_str())
    }
}
