//! The blotter: what the simulated exchange did with one strategy's requests, in tape time.
//! Each order's life, every fill, rejected requests by reason, mark-to-market equity per bar
//! and, over a window, the market's and the strategy's best prices. Kept only when a report
//! is asked for ([`BlotterConfig`] in [`crate::SessionConfig`]); the backtest report is built
//! from it.
//!
//! Markouts: every fill records the market's mid at the fill and, for each of
//! [`FillRow::MARKOUT_HORIZONS_NS`], the mid at the fill's time plus the horizon (the last mid at or
//! before that time). The blotter keeps a queue of due times per instrument and resolves one
//! when a later market event on the instrument arrives; at [`Blotter::finish`] those due at or
//! before the end of the data take the last mid, and those due after it stay unresolved
//! (`None`, "end of data": left out of the markout statistics, counted apart).

use super::order::{FillAt, OrderRef};
use crate::snap::{Snap, snap_enum, snap_struct};
use lockstep_sdk::{InstrumentId, OrderId, Price, Qty, Side, reject_reason};
use std::collections::BTreeMap;

/// Nanoseconds in a minute of tape time.
pub const MINUTE_NS: i64 = 60_000_000_000;

/// What the blotter keeps. Time enters as tape time only, so the blotter is deterministic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlotterConfig {
    /// Length of the bars equity is marked at, in tape nanoseconds (default one minute).
    pub bar_ns: i64,
    /// Window `[start, end)` of local tape time for the price samples; `None` (the default)
    /// keeps the busiest minute: the one with most of the strategy's fills, then most of its
    /// requests, then most market events, the earliest on a tie.
    pub window: Option<(i64, i64)>,
}

impl Default for BlotterConfig {
    fn default() -> Self {
        Self { bar_ns: MINUTE_NS, window: None }
    }
}

/// Most order rows and most fill rows one blotter keeps: beyond them (a strategy flooding the
/// venue for hours) further orders and fills are counted, not kept, and the report says so.
pub const MAX_ROWS: usize = 2_000_000;

/// Most price samples kept for the window: beyond it the samples thin out (every other one
/// is dropped), so a window over a whole day stays bounded.
const MAX_SAMPLES: usize = 200_000;

/// Snapshot of the mids after a fill, one per markout horizon, in horizon order.
impl Snap for [Option<Price>; 4] {
    fn put(&self, w: &mut Vec<u8>) {
        for m in self {
            m.put(w);
        }
    }
    fn get(r: &mut crate::snap::Reader<'_>) -> Result<Self, crate::snap::SnapError> {
        Ok([Snap::get(r)?, Snap::get(r)?, Snap::get(r)?, Snap::get(r)?])
    }
}

/// Market or limit, and a limit order's time in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderKind {
    /// A limit order, good till cancelled.
    Limit,
    /// A market order (immediate, the rest cancelled).
    Market,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// Post only (rejected if it would cross).
    PostOnly,
    /// Good till crossing (cancelled if it would cross).
    Gtx,
}

impl OrderKind {
    /// The kind of a limit order with time in force `tif`.
    pub fn of(tif: lockstep_sdk::TimeInForce) -> Self {
        match tif {
            lockstep_sdk::TimeInForce::Ioc => OrderKind::Ioc,
            lockstep_sdk::TimeInForce::Fok => OrderKind::Fok,
            lockstep_sdk::TimeInForce::PostOnly => OrderKind::PostOnly,
            lockstep_sdk::TimeInForce::Gtx => OrderKind::Gtx,
        }
    }
    /// Lower-case name, as the orders table shows it.
    pub fn name(self) -> &'static str {
        match self {
            OrderKind::Limit => "limit",
            OrderKind::Market => "market",
            OrderKind::Ioc => "ioc",
            OrderKind::Fok => "fok",
            OrderKind::PostOnly => "post_only",
            OrderKind::Gtx => "gtx",
        }
    }
}

/// What a request asked for, for counting rejects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RequestKind {
    /// A new order.
    Place,
    /// A cancel.
    Cancel,
    /// A replace (new price or quantity).
    Replace,
}

impl RequestKind {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Place => "place",
            RequestKind::Cancel => "cancel",
            RequestKind::Replace => "replace",
        }
    }
}

/// The name of a reject reason code (the SDK's `reject_reason`).
pub fn reject_reason_name(reason: u32) -> &'static str {
    match reason {
        reject_reason::UNKNOWN_ORDER => "unknown_order",
        reject_reason::DUPLICATE_ID => "duplicate_id",
        reject_reason::INVALID => "invalid_price_or_qty",
        reject_reason::RISK => "risk_limit",
        reject_reason::UNKNOWN_INSTRUMENT => "unknown_instrument",
        reject_reason::WOULD_CROSS => "would_cross",
        reject_reason::UNSUPPORTED => "unsupported_order_type",
        reject_reason::RISK_MAX_QTY => "risk_max_qty",
        reject_reason::RISK_MAX_NOTIONAL => "risk_max_notional",
        reject_reason::RISK_PRICE_COLLAR => "risk_price_collar",
        reject_reason::RISK_MAX_POSITION => "risk_max_position",
        reject_reason::RISK_ORDER_RATE => "risk_order_rate",
        reject_reason::RISK_OPEN_ORDERS => "risk_open_orders",
        reject_reason::RISK_KILL_SWITCH => "risk_kill_switch",
        reject_reason::RISK_NO_REFERENCE => "risk_no_reference",
        _ => "other",
    }
}

/// What a reject reason usually means for the strategy that got it.
pub fn reject_reason_hint(kind: RequestKind, reason: u32) -> &'static str {
    match (kind, reason) {
        (RequestKind::Cancel | RequestKind::Replace, reject_reason::UNKNOWN_ORDER) => {
            "the order had already filled or been cancelled when the request arrived (a race with fills in flight)"
        }
        (_, reject_reason::DUPLICATE_ID) => "the order id was still in use by a resting order",
        (_, reject_reason::INVALID) => {
            "price not positive or not a multiple of the tick, or quantity not a positive whole number of lots"
        }
        (_, reject_reason::WOULD_CROSS) => {
            "a post-only order would have taken liquidity: price it a tick further from the touch"
        }
        (_, reject_reason::UNSUPPORTED) => "the venue does not support the order type",
        (_, reject_reason::UNKNOWN_INSTRUMENT) => "the instrument id is not on the tape",
        (_, reject_reason::RISK) => "a risk limit refused it",
        _ => "see the reject reason code",
    }
}

/// How an order ended (or that it is still resting at the end of the tape).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// Still resting when the tape ended.
    Open,
    /// Completely filled.
    Filled,
    /// Cancelled (by request, or the unfilled rest of a market order).
    Cancelled,
    /// Refused on arrival.
    Rejected,
}

impl OrderStatus {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::Filled => "filled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
        }
    }
}

/// One order's life. Times are local tape nanoseconds: `sent_ns` when the strategy emitted
/// it, the others when the venue did it (the strategy hears of it a feed latency later).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRow {
    /// Number of the order in arrival order, from 0.
    pub order_no: u64,
    /// The strategy's order id.
    pub order_id: OrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Limit or market.
    pub kind: OrderKind,
    /// Limit price at placement (zero for a market order).
    pub px: Price,
    /// Quantity at placement.
    pub qty: Qty,
    /// When the strategy emitted it.
    pub sent_ns: i64,
    /// When the venue accepted it (`None`: rejected).
    pub acked_ns: Option<i64>,
    /// Replaces accepted.
    pub replaces: u32,
    /// When the last replace was accepted.
    pub replaced_ns: Option<i64>,
    /// Price and quantity after the last replace.
    pub last_px: Price,
    /// Quantity after the last replace.
    pub last_qty: Qty,
    /// Quantity filled.
    pub filled: Qty,
    /// Notional filled (price × quantity, 8 decimals), for the average price.
    pub notional: i128,
    /// First and last fill.
    pub first_fill_ns: Option<i64>,
    /// Last fill.
    pub last_fill_ns: Option<i64>,
    /// When it was cancelled.
    pub cancelled_ns: Option<i64>,
    /// When it was rejected, and why (the SDK's `reject_reason`).
    pub rejected: Option<(i64, u32)>,
    /// Quantity ahead of it in the queue when it came to rest (`None`: never rested).
    pub ahead_at_rest: Option<Qty>,
    /// How it ended.
    pub status: OrderStatus,
}

impl OrderRow {
    /// Average fill price, `None` without fills.
    pub fn avg_px(&self) -> Option<Price> {
        (self.filled.0 > 0).then(|| {
            Price(
                (self.notional * i128::from(lockstep_sdk::ONE) / i128::from(self.filled.0)) as i64,
            )
        })
    }
}

/// One fill, at the venue's time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillRow {
    /// Number of the fill, from 0.
    pub fill_no: u64,
    /// Local tape time at the venue.
    pub ts_ns: i64,
    /// The order's [`OrderRow::order_no`].
    pub order_no: u64,
    /// The strategy's order id.
    pub order_id: OrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side of our order.
    pub side: Side,
    /// Price.
    pub px: Price,
    /// Quantity.
    pub qty: Qty,
    /// Quantity of the order left.
    pub leaves: Qty,
    /// Maker (resting) or taker (aggressive).
    pub maker: bool,
    /// Fee (negative: a rebate), 8 decimals.
    pub fee: i128,
    /// Quantity still ahead in the queue at the fill (maker fills; trades through the price
    /// and crossing quotes fill with queue left ahead).
    pub ahead_at_fill: Option<Qty>,
    /// Position in the instrument after the fill.
    pub position: Qty,
    /// The market's mid when the fill happened (the blotter's last top of book; zero: the
    /// book was one-sided).
    pub mid: Price,
    /// The mid at each of [`FillRow::MARKOUT_HORIZONS_NS`] after the fill: `None` while
    /// unresolved (and for good when the horizon fell after the end of the data),
    /// `Some(Price(0))` when the book was one-sided then.
    pub mids_after: [Option<Price>; 4],
}

impl FillRow {
    /// The markout horizons after a fill, in tape nanoseconds: 100 ms, 1 s, 10 s and 60 s.
    pub const MARKOUT_HORIZONS_NS: [i64; 4] =
        [100_000_000, 1_000_000_000, 10_000_000_000, 60_000_000_000];
    /// Names of the horizons, as column suffixes and labels.
    pub const MARKOUT_HORIZON_NAMES: [&'static str; 4] = ["100ms", "1s", "10s", "60s"];

    /// Markout at horizon `h` (an index into [`FillRow::MARKOUT_HORIZONS_NS`]) in raw price units,
    /// signed so that positive is good for us: `side × (mid(t + h) − px)`. `None` when not
    /// resolved or the book was one-sided.
    pub fn markout(&self, h: usize) -> Option<i64> {
        let later = self.mids_after.get(h).copied().flatten().filter(|m| m.0 > 0)?;
        let d = later.0.saturating_sub(self.px.0);
        Some(if self.side == Side::Buy { d } else { d.saturating_neg() })
    }
}

/// Mark-to-market of one instrument at the end of a bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EquityRow {
    /// End of the bar (exclusive), local tape time.
    pub bar_end_ns: i64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Position.
    pub position: Qty,
    /// Mark price (the book's mid, else the last trade, else the last quote's mid).
    pub mark: Price,
    /// The position's worth at the mark in the instrument's currency, 8 decimals (the
    /// contract's terms applied: multiplier, linear or inverse).
    pub value: i128,
    /// Cash from fills, 8 decimals.
    pub cash: i128,
    /// Fees paid, 8 decimals.
    pub fees: i128,
}

impl EquityRow {
    /// Net equity: cash plus the position at the mark, less fees.
    pub fn equity(&self) -> i128 {
        self.cash.saturating_add(self.value).saturating_sub(self.fees)
    }
}

/// One instrument's account at a moment, as the venue marks it for the blotter's bars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marked {
    /// Position.
    pub position: Qty,
    /// Mark price.
    pub mark: Price,
    /// The position's worth at the mark.
    pub value: i128,
    /// Cash from fills.
    pub cash: i128,
    /// Fees paid.
    pub fees: i128,
}

/// The market's and the strategy's best prices on one instrument after a change (zero:
/// none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PriceSample {
    /// Local tape time.
    pub ts_ns: i64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Market best bid and ask.
    pub bid: Price,
    /// Market best ask.
    pub ask: Price,
    /// Our best resting bid.
    pub our_bid: Price,
    /// Our best resting ask.
    pub our_ask: Price,
}

/// Samples of one minute (or of the explicit window) and its activity score.
#[derive(Clone, Debug, Default)]
struct WindowBuf {
    minute: i64,
    /// (our fills, our requests, market events): the busiest minute has the largest.
    score: (u64, u64, u64),
    samples: Vec<PriceSample>,
}

snap_struct!(BlotterConfig { bar_ns, window });
snap_enum!(OrderKind [Limit, Market, Ioc, Fok, PostOnly, Gtx]);
snap_enum!(RequestKind [Place, Cancel, Replace]);
snap_enum!(OrderStatus [Open, Filled, Cancelled, Rejected]);
snap_struct!(OrderRow {
    order_no,
    order_id,
    instrument,
    side,
    kind,
    px,
    qty,
    sent_ns,
    acked_ns,
    replaces,
    replaced_ns,
    last_px,
    last_qty,
    filled,
    notional,
    first_fill_ns,
    last_fill_ns,
    cancelled_ns,
    rejected,
    ahead_at_rest,
    status
});
snap_struct!(FillRow {
    fill_no,
    ts_ns,
    order_no,
    order_id,
    instrument,
    side,
    px,
    qty,
    leaves,
    maker,
    fee,
    ahead_at_fill,
    position,
    mid,
    mids_after
});
snap_struct!(EquityRow { bar_end_ns, instrument, position, mark, value, cash, fees });
snap_struct!(PriceSample { ts_ns, instrument, bid, ask, our_bid, our_ask });
snap_struct!(WindowBuf { minute, score, samples });
snap_struct!(Blotter {
    cfg,
    orders,
    fills,
    equity,
    rejects,
    too_late,
    live,
    levels,
    last,
    bar_end,
    bar_active,
    bar_ends,
    traded,
    window_open,
    cur,
    best,
    first_ns,
    last_ns,
    dropped,
    max_rows,
    pending
} if Blotter::consistent);

/// The blotter of one strategy. See the module documentation.
#[derive(Clone, Debug)]
pub struct Blotter {
    cfg: BlotterConfig,
    orders: Vec<OrderRow>,
    fills: Vec<FillRow>,
    equity: Vec<EquityRow>,
    rejects: BTreeMap<(InstrumentId, RequestKind, u32), u64>,
    /// Of those, cancels and replaces that came too late (the order had just closed), per
    /// instrument.
    too_late: BTreeMap<InstrumentId, u64>,
    /// Live orders by id: index into `orders`.
    live: BTreeMap<OrderId, usize>,
    /// Our resting quantity count per (instrument, side byte, price).
    levels: BTreeMap<(InstrumentId, u8, i64), u32>,
    /// Last sample per instrument (what a window starts from).
    last: Vec<PriceSample>,
    /// End of the bar in progress; `None` before the first event.
    bar_end: Option<i64>,
    /// Whether anything happened in the bar in progress.
    bar_active: bool,
    /// Every bar recorded (equity rows exist only for instruments traded by then).
    bar_ends: Vec<i64>,
    /// Instruments with at least one fill.
    traded: Vec<bool>,
    /// Whether the explicit window has begun.
    window_open: bool,
    cur: WindowBuf,
    best: Option<WindowBuf>,
    first_ns: Option<i64>,
    last_ns: i64,
    /// Orders and fills not kept (past `max_rows`).
    dropped: (u64, u64),
    /// [`MAX_ROWS`] (smaller in tests).
    max_rows: usize,
    /// Markouts waiting for their horizon: (instrument, due time, fill index) → horizon index.
    pending: BTreeMap<(InstrumentId, i64, u64), u8>,
}

impl Blotter {
    /// Every live order's row exists, and one price sample and flag per instrument (checked
    /// on a restore).
    fn consistent(&self) -> bool {
        self.live.values().all(|&row| row < self.orders.len())
            && self.last.len() == self.traded.len()
            && self.pending.iter().all(|(&(_, _, k), &h)| {
                (k as usize) < self.fills.len()
                    && usize::from(h) < FillRow::MARKOUT_HORIZONS_NS.len()
            })
    }

    /// An empty blotter for a tape with `instruments` instruments.
    pub fn new(cfg: BlotterConfig, instruments: usize) -> Self {
        let last = (0..instruments)
            .map(|i| PriceSample { instrument: i as InstrumentId, ..PriceSample::default() })
            .collect();
        Self {
            cfg: BlotterConfig { bar_ns: cfg.bar_ns.max(1), ..cfg },
            orders: Vec::new(),
            fills: Vec::new(),
            equity: Vec::new(),
            rejects: BTreeMap::new(),
            too_late: BTreeMap::new(),
            live: BTreeMap::new(),
            levels: BTreeMap::new(),
            last,
            bar_end: None,
            bar_active: false,
            bar_ends: Vec::new(),
            traded: vec![false; instruments],
            window_open: false,
            cur: WindowBuf { minute: i64::MIN, ..WindowBuf::default() },
            best: None,
            first_ns: None,
            last_ns: i64::MIN,
            dropped: (0, 0),
            max_rows: MAX_ROWS,
            pending: BTreeMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> BlotterConfig {
        self.cfg
    }
    /// Every order, in arrival order.
    pub fn orders(&self) -> &[OrderRow] {
        &self.orders
    }
    /// Every fill.
    pub fn fills(&self) -> &[FillRow] {
        &self.fills
    }
    /// Equity per bar and instrument (bars in which nothing happened are left out).
    pub fn equity(&self) -> &[EquityRow] {
        &self.equity
    }
    /// Orders and fills not kept because [`MAX_ROWS`] were kept already.
    pub fn dropped(&self) -> (u64, u64) {
        self.dropped
    }
    /// Time from sending each filled order to its first fill (ns), sorted.
    pub fn times_to_first_fill(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self
            .orders
            .iter()
            .filter_map(|o| o.first_fill_ns.map(|f| f.saturating_sub(o.sent_ns)))
            .collect();
        v.sort_unstable();
        v
    }
    /// The end of every bar recorded, in order.
    pub fn bar_ends(&self) -> &[i64] {
        &self.bar_ends
    }
    /// Rejected requests by (instrument, request, reason code).
    pub fn rejects(&self) -> &BTreeMap<(InstrumentId, RequestKind, u32), u64> {
        &self.rejects
    }
    /// Cancels and replaces refused because they came too late, per instrument (they are
    /// among [`Blotter::rejects`] too).
    pub fn too_late(&self) -> &BTreeMap<InstrumentId, u64> {
        &self.too_late
    }
    /// First and last local time seen.
    pub fn span(&self) -> Option<(i64, i64)> {
        self.first_ns.map(|f| (f, self.last_ns.max(f)))
    }
    /// The window the price samples cover and the samples (for the busiest minute: the
    /// minute's start and end).
    pub fn window(&self) -> Option<((i64, i64), &[PriceSample])> {
        if let Some(w) = self.cfg.window {
            return Some((w, &self.cur.samples));
        }
        let b = self.best.as_ref()?;
        let start = b.minute.saturating_mul(MINUTE_NS);
        Some(((start, start.saturating_add(MINUTE_NS)), &b.samples))
    }

    fn in_window(&self, t: i64) -> bool {
        self.cfg.window.is_none_or(|(a, b)| t >= a && t < b)
    }

    /// Starts the window's samples at `start` from the state carried in.
    fn carry_in(&mut self, start: i64) {
        let carried = self
            .last
            .iter()
            .filter(|s| s.bid.0 > 0 || s.ask.0 > 0 || s.our_bid.0 > 0 || s.our_ask.0 > 0);
        self.cur.samples.extend(carried.map(|s| PriceSample { ts_ns: start, ..*s }));
    }

    /// Keeps the minute in progress if it is the busiest so far.
    fn fold_minute(&mut self) {
        let done = std::mem::take(&mut self.cur);
        if done.minute != i64::MIN && self.best.as_ref().is_none_or(|b| done.score > b.score) {
            self.best = Some(done);
        }
    }

    /// Time moves to `t`: opens the window, or rolls the busiest-minute one. Call before
    /// anything at `t` is recorded.
    fn at(&mut self, t: i64) {
        if self.first_ns.is_none() {
            self.first_ns = Some(t);
        }
        self.last_ns = self.last_ns.max(t);
        match self.cfg.window {
            Some((a, _)) => {
                if !self.window_open && t >= a {
                    self.window_open = true;
                    self.carry_in(a);
                }
            }
            None => {
                let minute = t.div_euclid(MINUTE_NS);
                if minute != self.cur.minute {
                    self.fold_minute();
                    self.cur = WindowBuf { minute, ..WindowBuf::default() };
                    self.carry_in(minute.saturating_mul(MINUTE_NS));
                }
            }
        }
    }

    /// Samples the prices of `instrument` at `t` if they changed; `top`: the market's new best
    /// bid and ask.
    fn sample(&mut self, t: i64, instrument: InstrumentId, top: Option<(Price, Price)>) {
        let i = usize::from(instrument);
        let Some(&prev) = self.last.get(i) else { return };
        let ours = |side: Side| {
            let b = side.to_u8();
            let mut r = self.levels.range((instrument, b, i64::MIN)..=(instrument, b, i64::MAX));
            let best = if side == Side::Buy { r.next_back() } else { r.next() };
            Price(best.map_or(0, |(k, _)| k.2))
        };
        let (bid, ask) = top.unwrap_or((prev.bid, prev.ask));
        let s = PriceSample {
            ts_ns: t,
            instrument,
            bid,
            ask,
            our_bid: ours(Side::Buy),
            our_ask: ours(Side::Sell),
        };
        if (PriceSample { ts_ns: prev.ts_ns, ..s }) == prev {
            return;
        }
        self.last[i] = s;
        if !self.in_window(t) {
            return;
        }
        let buf = &mut self.cur.samples;
        if buf.len() >= MAX_SAMPLES {
            let mut k = 0usize;
            buf.retain(|_| {
                k += 1;
                k % 2 == 1
            });
        }
        buf.push(s);
    }

    /// The market on `instrument` changed at `t`; `top` is its best bid and ask (zero:
    /// none) when they moved.
    pub fn market(&mut self, t: i64, instrument: InstrumentId, top: Option<(Price, Price)>) {
        self.at(t);
        self.cur.score.2 += 1;
        self.bar_active = true;
        // Markouts due before `t` take the mid as it was (the event at `t` may move it).
        self.resolve(instrument, t);
        if top.is_some() {
            self.sample(t, instrument, top);
        }
    }

    /// The market's mid on `instrument` now (zero: no two-sided book).
    fn mid(&self, instrument: InstrumentId) -> Price {
        match self.last.get(usize::from(instrument)) {
            Some(s) if s.bid.0 > 0 && s.ask.0 > 0 => {
                Price(((i128::from(s.bid.0) + i128::from(s.ask.0)) / 2) as i64)
            }
            _ => Price(0),
        }
    }

    /// Resolves the markouts of `instrument` due before `before` with the mid now.
    fn resolve(&mut self, instrument: InstrumentId, before: i64) {
        let range = (instrument, i64::MIN, 0)..(instrument, before, 0);
        if self.pending.range(range.clone()).next().is_none() {
            return;
        }
        let mid = self.mid(instrument);
        // One at a time, earliest first: nothing is collected (no allocation per event).
        while let Some((&key, &h)) = self.pending.range(range.clone()).next() {
            self.pending.remove(&key);
            let slot = self
                .fills
                .get_mut(key.2 as usize)
                .and_then(|f| f.mids_after.get_mut(usize::from(h)));
            if let Some(m) = slot {
                *m = Some(mid);
            }
        }
    }

    /// Closes every bar that ended at or before `t`; `marks(i)` gives instrument `i`'s
    /// (position, mark, cash, fees) now. Call before anything at `t` happens.
    pub fn close_bars(&mut self, t: i64, marks: impl Fn(usize) -> Marked) {
        let bar = self.cfg.bar_ns;
        let next = t.div_euclid(bar).saturating_add(1).saturating_mul(bar);
        let Some(end) = self.bar_end else {
            self.bar_end = Some(next);
            return;
        };
        if t < end {
            return;
        }
        if self.bar_active {
            self.record_bar(end, &marks);
        }
        self.bar_active = false;
        // Bars in which nothing happened are skipped (market closed, a gap in the data).
        self.bar_end = Some(next);
    }

    /// Records the last, partial bar ending at `end` and closes the window. Markouts due at
    /// or before `end` take the last mid; those due after it stay unresolved (end of data).
    pub fn finish(&mut self, end: i64, marks: impl Fn(usize) -> Marked) {
        for i in 0..self.last.len() {
            self.resolve(i as InstrumentId, end.saturating_add(1));
        }
        self.pending.clear();
        if self.bar_end.is_some() {
            self.close_bars(end, &marks);
            if self.bar_active {
                self.record_bar(end, &marks);
                self.bar_active = false;
            }
        }
        if self.cfg.window.is_none() {
            self.fold_minute();
            self.cur = WindowBuf { minute: i64::MIN, ..WindowBuf::default() };
        }
    }

    fn record_bar(&mut self, end: i64, marks: &impl Fn(usize) -> Marked) {
        self.bar_ends.push(end);
        for i in 0..self.last.len() {
            if !self.traded.get(i).copied().unwrap_or(false) {
                continue;
            }
            let Marked { position, mark, value, cash, fees } = marks(i);
            self.equity.push(EquityRow {
                bar_end_ns: end,
                instrument: i as InstrumentId,
                position,
                mark,
                value,
                cash,
                fees,
            });
        }
    }

    /// A request reached the venue at `t`; `sent` is when the strategy emitted it.
    pub fn request(&mut self, t: i64) {
        self.at(t);
        self.cur.score.1 += 1;
        self.bar_active = true;
    }

    /// A new order arrived at `t` (sent at `sent`); `reject`: refused with that reason.
    #[allow(clippy::too_many_arguments, reason = "one per order-log column")]
    pub fn placed(
        &mut self,
        t: i64,
        sent: i64,
        order_id: OrderId,
        instrument: InstrumentId,
        side: Side,
        kind: OrderKind,
        px: Price,
        qty: Qty,
        reject: Option<u32>,
    ) {
        self.request(t);
        if let Some(r) = reject {
            *self.rejects.entry((instrument, RequestKind::Place, r)).or_default() += 1;
        }
        if self.orders.len() >= self.max_rows {
            self.dropped.0 += 1;
            return;
        }
        let order_no = self.orders.len() as u64;
        self.orders.push(OrderRow {
            order_no,
            order_id,
            instrument,
            side,
            kind,
            px,
            qty,
            sent_ns: sent,
            acked_ns: reject.is_none().then_some(t),
            replaces: 0,
            replaced_ns: None,
            last_px: px,
            last_qty: qty,
            filled: Qty(0),
            notional: 0,
            first_fill_ns: None,
            last_fill_ns: None,
            cancelled_ns: None,
            rejected: reject.map(|r| (t, r)),
            ahead_at_rest: None,
            status: if reject.is_some() { OrderStatus::Rejected } else { OrderStatus::Open },
        });
        if reject.is_none() {
            self.live.insert(order_id, self.orders.len() - 1);
        }
    }

    /// A cancel or replace was refused at `t`; `late`: it named an order that had just
    /// filled or been cancelled.
    pub fn refused(
        &mut self,
        t: i64,
        instrument: InstrumentId,
        kind: RequestKind,
        reason: u32,
        late: bool,
    ) {
        self.request(t);
        *self.rejects.entry((instrument, kind, reason)).or_default() += 1;
        if late {
            *self.too_late.entry(instrument).or_default() += 1;
        }
    }

    /// A live order was replaced at `t`.
    pub fn replaced(&mut self, t: i64, order_id: OrderId, px: Price, qty: Qty) {
        self.request(t);
        if let Some(&k) = self.live.get(&order_id) {
            let o = &mut self.orders[k];
            o.replaces += 1;
            o.replaced_ns = Some(t);
            o.last_px = px;
            o.last_qty = qty;
        }
    }

    /// A live order came to rest with `ahead` in the queue before it; it rests at `px`.
    pub fn rested(
        &mut self,
        order_id: OrderId,
        instrument: InstrumentId,
        side: Side,
        px: Price,
        ahead: Qty,
    ) {
        if let Some(&k) = self.live.get(&order_id) {
            let o = &mut self.orders[k];
            if o.ahead_at_rest.is_none() {
                o.ahead_at_rest = Some(ahead);
            }
        }
        *self.levels.entry((instrument, side.to_u8(), px.0)).or_default() += 1;
        self.sample(self.last_ns, instrument, None);
    }

    /// A resting order left the book (filled, cancelled or replaced) at `px`.
    pub fn unrested(&mut self, instrument: InstrumentId, side: Side, px: Price) {
        let key = (instrument, side.to_u8(), px.0);
        if let Some(n) = self.levels.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.levels.remove(&key);
            }
        }
        self.sample(self.last_ns, instrument, None);
    }

    /// A live order was cancelled at `t` (by request or, for a market order, its unfilled
    /// rest).
    pub fn cancelled(&mut self, t: i64, order_id: OrderId) {
        if let Some(k) = self.live.remove(&order_id) {
            self.orders[k].cancelled_ns = Some(t);
            self.orders[k].status = OrderStatus::Cancelled;
        }
    }

    /// A fill, with its fee and the position after it.
    pub(crate) fn fill(&mut self, f: &FillAt, fee: i128, position: Qty) {
        let FillAt { t, order, px, qty, leaves, maker, ahead: ahead_at_fill } = *f;
        let OrderRef { instrument, id: order_id, side } = order;
        self.at(t);
        self.cur.score.0 += 1;
        self.bar_active = true;
        if let Some(t) = self.traded.get_mut(usize::from(instrument)) {
            *t = true;
        }
        let Some(&k) = self.live.get(&order_id) else {
            self.dropped.1 += 1;
            return;
        };
        if self.fills.len() >= self.max_rows {
            self.dropped.1 += 1;
            return;
        }
        let o = &mut self.orders[k];
        o.filled = Qty(o.filled.0.saturating_add(qty.0));
        o.notional = o
            .notional
            .saturating_add(i128::from(px.0) * i128::from(qty.0) / i128::from(lockstep_sdk::ONE));
        o.first_fill_ns.get_or_insert(t);
        o.last_fill_ns = Some(t);
        let order_no = o.order_no;
        if leaves.0 == 0 {
            o.status = OrderStatus::Filled;
            self.live.remove(&order_id);
        }
        let k = self.fills.len() as u64;
        for (h, dt) in FillRow::MARKOUT_HORIZONS_NS.iter().enumerate() {
            self.pending.insert((instrument, t.saturating_add(*dt), k), h as u8);
        }
        let mid = self.mid(instrument);
        self.fills.push(FillRow {
            fill_no: k,
            ts_ns: t,
            order_no,
            order_id,
            instrument,
            side,
            px,
            qty,
            leaves,
            maker,
            fee,
            ahead_at_fill,
            position,
            mid,
            mids_after: [None; 4],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(b: &mut Blotter, t: i64, id: OrderId, reject: Option<u32>) {
        let (px, q) = (Price(100), Qty(1));
        b.placed(t, t - 1, id, 0, Side::Buy, OrderKind::Limit, px, q, reject);
    }

    /// A fill of one unit at 100 for order `id` at time 20.
    fn fill(id: OrderId, leaves: Qty, maker: bool) -> FillAt {
        FillAt {
            t: 20,
            order: OrderRef { instrument: 0, id, side: Side::Buy },
            px: Price(100),
            qty: Qty(1),
            leaves,
            maker,
            ahead: maker.then_some(Qty(0)),
        }
    }

    #[test]
    fn an_order_lives_from_placement_to_its_last_fill() {
        let mut b = Blotter::new(BlotterConfig::default(), 1);
        place(&mut b, 10, 7, None);
        b.rested(7, 0, Side::Buy, Price(100), Qty(5));
        b.fill(&fill(7, Qty(0), true), 0, Qty(1));
        b.unrested(0, Side::Buy, Price(100));
        // The id is free again: a new order with it is a new row.
        place(&mut b, 30, 7, None);
        b.refused(40, 0, RequestKind::Cancel, reject_reason::UNKNOWN_ORDER, true);
        place(&mut b, 50, 7, Some(reject_reason::DUPLICATE_ID));
        let o = b.orders();
        assert_eq!(o.len(), 3);
        assert_eq!(
            (o[0].status, o[0].ahead_at_rest, o[0].first_fill_ns),
            (OrderStatus::Filled, Some(Qty(5)), Some(20))
        );
        assert_eq!(o[1].status, OrderStatus::Open);
        assert_eq!(o[2].rejected, Some((50, reject_reason::DUPLICATE_ID)));
        assert_eq!(b.fills()[0].order_no, 0);
        let r: Vec<_> = b.rejects().iter().map(|(k, n)| (*k, *n)).collect();
        assert_eq!(r, [((0, RequestKind::Place, 2), 1), ((0, RequestKind::Cancel, 1), 1)]);
    }

    #[test]
    fn rows_past_the_limit_are_counted_not_kept() {
        let mut b = Blotter::new(BlotterConfig::default(), 1);
        b.max_rows = 2;
        for id in 0..5 {
            place(&mut b, 10 + id as i64, id, None);
            b.fill(&fill(id, Qty(0), false), 0, Qty(1));
        }
        place(&mut b, 30, 9, Some(reject_reason::INVALID));
        assert_eq!((b.orders().len(), b.fills().len()), (2, 2));
        assert_eq!(b.dropped(), (4, 3));
        // Rejects are counted in full.
        assert_eq!(b.rejects().values().sum::<u64>(), 1);
    }

    #[test]
    fn markouts_resolve_with_the_last_mid_at_or_before_each_horizon() {
        const MS: i64 = 1_000_000;
        let mut b = Blotter::new(BlotterConfig::default(), 1);
        let top = |bid: i64, ask: i64| Some((Price(bid), Price(ask)));
        b.market(0, 0, top(98, 102));
        place(&mut b, 10, 1, None);
        // Bought at 100 at t=20 with the mid at 100.
        b.fill(&fill(1, Qty(0), false), 0, Qty(1));
        // The mid moves to 104 at 50 ms, 110 at exactly 20 ms + 1 s, 90 at 5 s.
        b.market(50 * MS, 0, top(102, 106));
        b.market(20 + 1_000 * MS, 0, top(108, 112));
        // The 100 ms horizon was due before this event: it took 104.
        assert_eq!(b.fills()[0].mids_after[0], Some(Price(104)));
        assert_eq!(b.fills()[0].mids_after[1], None, "due at this event's time: not yet");
        b.market(5_000 * MS, 0, top(88, 92));
        // Due exactly at the 110 event: the mid at or before the due time is 110.
        assert_eq!(b.fills()[0].mids_after[1], Some(Price(110)));
        // The tape ends at 30 s: the 10 s horizon takes the last mid, the 60 s one is past
        // the end of the data and stays unresolved.
        b.finish(30_000 * MS, |_| Marked::default());
        let f = &b.fills()[0];
        assert_eq!(f.mid, Price(100));
        assert_eq!(f.mids_after, [Some(Price(104)), Some(Price(110)), Some(Price(90)), None]);
        assert_eq!((f.markout(0), f.markout(2), f.markout(3)), (Some(4), Some(-10), None));
        // A snapshot round trip keeps them.
        let mut w = Vec::new();
        b.put(&mut w);
        let back = Blotter::get(&mut crate::snap::Reader::new(&w)).unwrap();
        assert_eq!(back.fills(), b.fills());
    }

    #[test]
    fn bars_close_at_boundaries_and_skip_empty_ones() {
        let mut b = Blotter::new(BlotterConfig { bar_ns: 10, window: None }, 1);
        let marks = |_: usize| Marked::default();
        for t in [1, 5, 12, 55] {
            b.close_bars(t, marks);
            b.market(t, 0, None);
        }
        b.finish(57, marks);
        // Bars [0,10), [10,20) and the last one to 57; [20,50) had nothing.
        assert_eq!(b.bar_ends(), [10, 20, 57]);
    }
}
