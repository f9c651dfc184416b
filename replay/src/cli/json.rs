//! The JSON documents the commands print, as `Serialize` types built from the library's
//! reports: every field named once, typed, and in one place. Digests are lower-case hex, money
//! and quantities decimal strings (exact), and `null` stands for "none".

use lockstep_host::StrategyListing;
use lockstep_import::BookCheckReport;
use lockstep_sim::{
    BudgetExceeded, InstrumentSummary, Percentiles, RunReport, StrategyReport, TapeHeader,
    WorstEvent, hex,
};
use serde::Serialize;

/// A tape's header.
#[derive(Serialize)]
pub(crate) struct TapeJson<'a> {
    source: &'a str,
    events: u64,
    instruments: Vec<InstrumentJson<'a>>,
    /// The day whose local midnight times count from (LOBSTER); `null`: Unix time.
    local_midnight: Option<&'a str>,
    /// The tape's path (`null`: the synthetic market); left out where no file is involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<Option<String>>,
}

#[derive(Serialize)]
struct InstrumentJson<'a> {
    id: u16,
    symbol: &'a str,
    venue: &'a str,
    tick_size: String,
    price_scale: u32,
    lot_size: String,
    multiplier: String,
    inverse: bool,
    currency: &'a str,
    time_zone: &'a str,
}

impl<'a> TapeJson<'a> {
    pub(crate) fn new(h: &'a TapeHeader) -> Self {
        Self {
            source: &h.source,
            events: h.event_count,
            instruments: h
                .instruments
                .iter()
                .map(|i| InstrumentJson {
                    id: i.id,
                    symbol: &i.symbol,
                    venue: &i.venue,
                    tick_size: i.tick_size.to_string(),
                    price_scale: i.price_scale,
                    lot_size: i.lot_size.to_string(),
                    multiplier: i.contract.multiplier.to_string(),
                    inverse: i.contract.inverse,
                    currency: &i.currency,
                    time_zone: &i.time_zone,
                })
                .collect(),
            local_midnight: h.local_midnight.as_deref(),
            path: None,
        }
    }

    /// The same, naming the file it was read from (`None`: the synthetic market).
    pub(crate) fn at(mut self, path: Option<String>) -> Self {
        self.path = Some(path);
        self
    }
}

/// One of the slowest events.
#[derive(Serialize)]
pub(crate) struct WorstJson {
    latency_ns: u64,
    tape_event: Option<u64>,
    seq: Option<u64>,
    strategy: Option<u32>,
    kind: u16,
    fuel: u64,
}

impl WorstJson {
    fn new(w: &WorstEvent) -> Self {
        Self {
            latency_ns: w.latency_ns,
            tape_event: (w.tape_event != u64::MAX).then_some(w.tape_event),
            seq: (w.seq != u64::MAX).then_some(w.seq),
            strategy: (w.strategy != u32::MAX).then_some(w.strategy),
            kind: w.kind,
            fuel: w.fuel,
        }
    }
}

/// Fuel counters (`max_seq` and `init` per strategy only).
#[derive(Serialize)]
struct FuelJson {
    total: u64,
    max_per_event: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    init: Option<u64>,
}

#[derive(Serialize)]
struct HaltJson<'a> {
    seq: u64,
    error: &'a str,
}

#[derive(Serialize)]
struct BudgetJson {
    budget: &'static str,
    flag: &'static str,
    limit: u64,
    seq: Option<u64>,
    local_ts: i64,
}

impl BudgetJson {
    fn new(b: &BudgetExceeded) -> Self {
        Self {
            budget: b.budget.name(),
            flag: b.budget.flag(),
            limit: b.limit,
            seq: b.seq,
            local_ts: b.local_ts,
        }
    }
}

#[derive(Serialize)]
struct ExchangeJson {
    orders: u64,
    cancels: u64,
    replaces: u64,
    rejects: u64,
    too_late: u64,
    reject_rate: f64,
    too_late_rate: f64,
    timers: u64,
    signals: u64,
    invalid_actions: u64,
    dropped: u64,
    fills: u64,
    open_orders: usize,
    pnl: String,
    fees: String,
    instruments: Vec<PositionJson>,
}

#[derive(Serialize)]
struct PositionJson {
    instrument: u16,
    position: String,
    bought: String,
    sold: String,
    maker_fills: u64,
    taker_fills: u64,
    cash: String,
    fees: String,
    mark: String,
    pnl: String,
}

impl PositionJson {
    fn new(i: &InstrumentSummary) -> Self {
        Self {
            instrument: i.instrument,
            position: i.position.to_string(),
            bought: i.bought.to_string(),
            sold: i.sold.to_string(),
            maker_fills: i.maker_fills,
            taker_fills: i.taker_fills,
            cash: i.cash.to_string(),
            fees: i.fees.to_string(),
            mark: i.mark.to_string(),
            pnl: i.pnl.to_string(),
        }
    }
}

/// One strategy's part of a run.
#[derive(Serialize)]
pub(crate) struct StrategyJson<'a> {
    name: &'a str,
    params: &'a str,
    wasm: bool,
    tier: Option<&'static str>,
    digest: String,
    fuel_digest: String,
    events: u64,
    actions: u64,
    fuel: FuelJson,
    halted: Option<HaltJson<'a>>,
    budget_exceeded: Option<BudgetJson>,
    errors: u64,
    exchange: ExchangeJson,
}

impl<'a> StrategyJson<'a> {
    fn new(s: &'a StrategyReport) -> Self {
        let x = &s.exchange;
        Self {
            name: &s.name,
            params: &s.params,
            wasm: s.wasm,
            tier: s.tier.map(|t| t.name()),
            digest: hex(&s.digest),
            fuel_digest: hex(&s.fuel_digest),
            events: s.events,
            actions: s.actions,
            fuel: FuelJson {
                total: s.fuel_total,
                max_per_event: s.fuel_max.0,
                max_seq: Some(s.fuel_max.1),
                init: Some(s.init_fuel),
            },
            halted: s.halted.as_ref().map(|(seq, e)| HaltJson { seq: *seq, error: e }),
            budget_exceeded: x.budget_exceeded.as_ref().map(BudgetJson::new),
            errors: s.errors,
            exchange: ExchangeJson {
                orders: x.stats.orders,
                cancels: x.stats.cancels,
                replaces: x.stats.replaces,
                rejects: x.stats.rejects,
                too_late: x.stats.too_late,
                reject_rate: x.stats.reject_rate(),
                too_late_rate: x.stats.too_late_rate(),
                timers: x.stats.timers,
                signals: x.stats.signals,
                invalid_actions: x.stats.invalid_actions,
                dropped: x.stats.dropped,
                fills: x.fills,
                open_orders: x.open_orders,
                pnl: x.pnl.to_string(),
                fees: x.fees.to_string(),
                instruments: x.instruments.iter().map(PositionJson::new).collect(),
            },
        }
    }
}

/// What the book of one instrument could not apply exactly.
#[derive(Serialize)]
struct BookJson {
    instrument: usize,
    unknown_orders: u64,
    unabsorbed_qty: String,
    duplicate_adds: u64,
    invalid: u64,
}

/// A run's report: digests, throughput, fuel, latency, strategies and books.
#[derive(Serialize)]
pub(crate) struct ReportJson<'a> {
    digest: String,
    fuel_digest: String,
    tier: &'static str,
    book_digest: Option<String>,
    events: u64,
    strategy_events: u64,
    elapsed_ns: u64,
    events_per_sec: f64,
    fuel: FuelJson,
    /// `None` where no latency was measured (printed as `null`).
    pub(crate) latency_ns: Option<Percentiles>,
    pub(crate) worst: Option<Vec<WorstJson>>,
    strategies: Vec<StrategyJson<'a>>,
    books: Vec<BookJson>,
    trace_error: Option<&'a str>,
}

impl<'a> ReportJson<'a> {
    pub(crate) fn new(r: &'a RunReport) -> Self {
        Self {
            digest: hex(&r.digest),
            fuel_digest: hex(&r.fuel_digest),
            tier: r.tier.name(),
            book_digest: r.book_digest.as_ref().map(hex),
            events: r.events,
            strategy_events: r.strategy_events,
            elapsed_ns: r.elapsed_ns,
            events_per_sec: r.events_per_sec.round(),
            fuel: FuelJson {
                total: r.fuel_total,
                max_per_event: r.fuel_max_per_event,
                max_seq: None,
                init: None,
            },
            latency_ns: Some(r.latency.summary),
            worst: Some(r.latency.worst.iter().map(WorstJson::new).collect()),
            strategies: r.strategies.iter().map(StrategyJson::new).collect(),
            books: r
                .book_stats
                .iter()
                .enumerate()
                .map(|(instrument, b)| BookJson {
                    instrument,
                    unknown_orders: b.unknown_orders,
                    unabsorbed_qty: b.unabsorbed_qty.to_string(),
                    duplicate_adds: b.duplicate_adds,
                    invalid: b.invalid,
                })
                .collect(),
            trace_error: r.trace_error.as_deref(),
        }
    }
}

/// A command's report with its name, the tape and the run.
#[derive(Serialize)]
pub(crate) struct RunJson<'a, X: Serialize> {
    pub(crate) command: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mode: Option<&'a str>,
    pub(crate) tape: TapeJson<'a>,
    #[serde(flatten)]
    pub(crate) report: ReportJson<'a>,
    /// What the command adds (the report files, the `.hlog`/`.hgrm` files).
    #[serde(flatten)]
    pub(crate) extra: X,
}

/// Nothing more.
#[derive(Serialize)]
pub(crate) struct NoExtra {}

/// `book-check --json`.
#[derive(Serialize)]
pub(crate) struct BookCheckJson<'a> {
    command: &'static str,
    rows: u64,
    levels: usize,
    file_levels: usize,
    depths: Vec<usize>,
    matched: &'a [u64],
    matched_pct: Vec<f64>,
    matched_messages_only: &'a [u64],
    matched_messages_only_pct: Vec<f64>,
    rows_corrected: u64,
    classes: Vec<ClassJson<'a>>,
    unknown_order_messages: u64,
}

#[derive(Serialize)]
struct ClassJson<'a> {
    class: &'static str,
    rows: u64,
    examples: &'a [u64],
    explanation: &'static str,
}

impl<'a> BookCheckJson<'a> {
    /// `pct` turns a row count into the percentage of rows shown.
    pub(crate) fn new(r: &'a BookCheckReport, pct: impl Fn(u64) -> f64) -> Self {
        Self {
            command: "book-check",
            rows: r.rows,
            levels: r.levels,
            file_levels: r.file_levels,
            depths: (1..=r.levels).collect(),
            matched: &r.matched,
            matched_pct: r.matched.iter().map(|&m| pct(m)).collect(),
            matched_messages_only: &r.matched_messages_only,
            matched_messages_only_pct: r.matched_messages_only.iter().map(|&m| pct(m)).collect(),
            rows_corrected: r.rows_corrected,
            classes: r
                .classes
                .iter()
                .map(|c| ClassJson {
                    class: c.name,
                    rows: c.rows,
                    examples: &c.examples,
                    explanation: c.explanation,
                })
                .collect(),
            unknown_order_messages: r.book_stats.unknown_orders,
        }
    }
}

/// `strategies --json`.
#[derive(Serialize)]
pub(crate) struct StrategiesJson {
    command: &'static str,
    strategies: Vec<&'static str>,
    details: Vec<StrategyListing>,
}

impl StrategiesJson {
    pub(crate) fn new() -> Self {
        Self {
            command: "strategies",
            strategies: lockstep_strategies::names().collect(),
            details: lockstep_host::strategy_listing(),
        }
    }
}
