//! What a quant reads after the headline numbers: markouts of the fills, PnL attribution
//! (spread capture against inventory), round-trip trade statistics and a per-period table.
//! Money is exact fixed point (8 decimals) computed through [`Contract::value`]; only ratios
//! and basis points are `f64`.

use crate::table::decimal;
use crate::zone::{Clock, human_duration};
use lockstep_sdk::{InstrumentId, Side};
use lockstep_sim::{Contract, FillRow};
use serde::Serialize;
use std::collections::BTreeMap;

/// Nanoseconds in an hour.
const HOUR_NS: i64 = 3_600_000_000_000;

/// Markouts of one side and liquidity at one horizon, over the strategy's fills.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MarkoutRow {
    /// `buy` or `sell` (our side).
    pub side: &'static str,
    /// `maker` or `taker`.
    pub liquidity: &'static str,
    /// `100ms`, `1s`, `10s` or `60s`.
    pub horizon: &'static str,
    /// The horizon in ns.
    pub horizon_ns: i64,
    /// Fills with a markout at this horizon.
    pub count: u64,
    /// Mean markout in price units, exact decimal text (truncated to 8 decimals): side ×
    /// (mid after the horizon − fill price); positive is good for us.
    pub mean: Option<String>,
    /// Mean markout in basis points of the fill price.
    pub mean_bps: Option<f64>,
    /// Share of the markouts above zero.
    pub positive_share: Option<f64>,
    /// Fills whose horizon fell after the end of the data (left out of the above).
    pub end_of_data: u64,
}

/// The markout table: side × liquidity × horizon.
pub(crate) fn markouts(fills: &[FillRow]) -> Vec<MarkoutRow> {
    let mut rows = Vec::new();
    for side in [Side::Buy, Side::Sell] {
        for maker in [true, false] {
            let group: Vec<&FillRow> =
                fills.iter().filter(|f| f.side == side && f.maker == maker).collect();
            for (h, name) in FillRow::MARKOUT_HORIZON_NAMES.iter().enumerate() {
                rows.push(markout_row(&group, h, name, side, maker));
            }
        }
    }
    rows
}

fn markout_row(
    group: &[&FillRow],
    h: usize,
    name: &'static str,
    side: Side,
    maker: bool,
) -> MarkoutRow {
    let (mut n, mut sum, mut up, mut bps) = (0u64, 0i128, 0u64, 0f64);
    let mut end_of_data = 0u64;
    for f in group {
        if f.mids_after.get(h).copied().flatten().is_none() {
            end_of_data += 1;
        }
        let Some(m) = f.markout(h) else { continue };
        n += 1;
        sum = sum.saturating_add(i128::from(m));
        up += u64::from(m > 0);
        if f.px.0 > 0 {
            bps += m as f64 / f.px.0 as f64 * 1e4;
        }
    }
    let count = i128::from(n);
    MarkoutRow {
        side: if side == Side::Buy { "buy" } else { "sell" },
        liquidity: if maker { "maker" } else { "taker" },
        horizon: name,
        horizon_ns: FillRow::MARKOUT_HORIZONS_NS[h],
        count: n,
        mean: (n > 0).then(|| decimal(sum / count)),
        mean_bps: (n > 0).then(|| bps / n as f64),
        positive_share: (n > 0).then(|| up as f64 / n as f64),
        end_of_data,
    }
}

/// One instrument's PnL split into spread capture and inventory PnL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Its symbol.
    pub symbol: String,
    /// Cash plus the position at the mark, before fees (the statistics' `gross_pnl`).
    pub gross_pnl: String,
    /// Σ over fills of the contract value of (mid at the fill − fill price) × signed
    /// quantity: what the fills earned against the mid when they happened.
    pub spread_capture: String,
    /// Gross less spread capture: what holding the inventory earned as the mid moved.
    pub inventory_pnl: String,
    /// Fees paid (negative: rebates).
    pub fees: String,
    /// Gross less fees.
    pub net_pnl: String,
    /// Fills without a two-sided book at the time (they count no spread capture).
    pub fills_without_mid: u64,
}

/// Spread capture of `fills` (one instrument's) under `contract`, and the fills without a
/// mid: Σ value(q, mid) − value(q, px), q signed (buy positive).
pub(crate) fn spread_capture(fills: &[&FillRow], contract: Contract) -> (i128, u64) {
    let (mut sum, mut missing) = (0i128, 0u64);
    for f in fills {
        if f.mid.0 <= 0 {
            missing += 1;
            continue;
        }
        let q = signed(f);
        let gain = contract.value(q, f.mid.0).saturating_sub(contract.value(q, f.px.0));
        sum = sum.saturating_add(gain);
    }
    (sum, missing)
}

/// The fill's quantity, positive for a buy.
fn signed(f: &FillRow) -> i64 {
    if f.side == Side::Buy { f.qty.0 } else { f.qty.0.saturating_neg() }
}

/// The attribution of one instrument with gross PnL `gross` and fees `fees`.
pub(crate) fn attribution(
    instrument: InstrumentId,
    symbol: String,
    fills: &[&FillRow],
    contract: Contract,
    (gross, fees): (i128, i128),
) -> Attribution {
    let (spread, missing) = spread_capture(fills, contract);
    Attribution {
        instrument,
        symbol,
        gross_pnl: decimal(gross),
        spread_capture: decimal(spread),
        inventory_pnl: decimal(gross.saturating_sub(spread)),
        fees: decimal(fees),
        net_pnl: decimal(gross.saturating_sub(fees)),
        fills_without_mid: missing,
    }
}

/// Round-trip trade statistics of one instrument: fills matched lot by lot, first in first
/// out. Each (opening lot, closing fill) pair is one round trip, its PnL before fees.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoundTrips {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Its symbol.
    pub symbol: String,
    /// Round trips closed.
    pub trips: u64,
    /// With PnL above zero.
    pub wins: u64,
    /// With PnL below zero.
    pub losses: u64,
    /// Wins over trips.
    pub win_rate: Option<f64>,
    /// Sum of the trips' PnL, before fees.
    pub total_pnl: String,
    /// Mean PnL per trip (truncated to 8 decimals).
    pub mean_pnl: Option<String>,
    /// Median PnL per trip (the mean of the middle two for an even count).
    pub median_pnl: Option<String>,
    /// Mean time from the opening fill to the closing one (ns).
    pub mean_holding_ns: Option<i64>,
    /// The same for people.
    pub mean_holding: Option<String>,
    /// Longest holding time (ns).
    pub longest_holding_ns: Option<i64>,
    /// The same for people.
    pub longest_holding: Option<String>,
    /// Lots still open at the end of the run.
    pub open_lots: u64,
}

/// An open lot: signed quantity left, price and time it was opened.
struct Lot {
    qty: i64,
    px: i64,
    ts: i64,
}

/// Matches `fills` (one instrument's, in time order) FIFO: each trip's (PnL, holding time),
/// and the lots left open.
pub(crate) fn match_trips(fills: &[&FillRow], contract: Contract) -> (Vec<(i128, i64)>, usize) {
    let mut lots: std::collections::VecDeque<Lot> = Default::default();
    let mut trips = Vec::new();
    for f in fills {
        let mut q = signed(f);
        while q != 0 {
            let Some(lot) = lots.front_mut().filter(|l| (l.qty > 0) != (q > 0)) else { break };
            let m = q.unsigned_abs().min(lot.qty.unsigned_abs()) as i64;
            let s = if lot.qty > 0 { m } else { -m };
            let pnl = contract.value(s, f.px.0).saturating_sub(contract.value(s, lot.px));
            trips.push((pnl, f.ts_ns.saturating_sub(lot.ts)));
            lot.qty -= s;
            q += s;
            if lot.qty == 0 {
                lots.pop_front();
            }
        }
        if q != 0 {
            lots.push_back(Lot { qty: q, px: f.px.0, ts: f.ts_ns });
        }
    }
    (trips, lots.len())
}

/// The round-trip statistics of one instrument's fills.
pub(crate) fn round_trips(
    instrument: InstrumentId,
    symbol: String,
    fills: &[&FillRow],
    contract: Contract,
) -> RoundTrips {
    let (trips, open) = match_trips(fills, contract);
    let n = trips.len();
    let total = trips.iter().fold(0i128, |a, t| a.saturating_add(t.0));
    let mut pnls: Vec<i128> = trips.iter().map(|t| t.0).collect();
    pnls.sort_unstable();
    let median = (n > 0).then(|| {
        if n % 2 == 1 { pnls[n / 2] } else { pnls[n / 2 - 1].saturating_add(pnls[n / 2]) / 2 }
    });
    let hold_sum = trips.iter().fold(0i128, |a, t| a.saturating_add(i128::from(t.1)));
    let mean_hold = (n > 0).then(|| (hold_sum / n as i128) as i64);
    let longest = trips.iter().map(|t| t.1).max();
    let wins = trips.iter().filter(|t| t.0 > 0).count() as u64;
    RoundTrips {
        instrument,
        symbol,
        trips: n as u64,
        wins,
        losses: trips.iter().filter(|t| t.0 < 0).count() as u64,
        win_rate: (n > 0).then(|| wins as f64 / n as f64),
        total_pnl: decimal(total),
        mean_pnl: (n > 0).then(|| decimal(total / n as i128)),
        median_pnl: median.map(decimal),
        mean_holding_ns: mean_hold,
        mean_holding: mean_hold.map(human_duration),
        longest_holding_ns: longest,
        longest_holding: longest.map(human_duration),
        open_lots: open as u64,
    }
}

/// One period of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeriodRow {
    /// Start of the period on the venue's clock.
    pub start_time: String,
    /// End of the last bar in the period (local tape ns; `None`: no bar closed in it).
    pub bar_end_ns: Option<i64>,
    /// Change of net equity (all instruments) over the period.
    pub pnl: String,
    /// Fills.
    pub fills: u64,
    /// Quantity traded.
    pub volume: String,
    /// Notional traded (the contracts' value of each fill, summed).
    pub notional: String,
    /// Largest absolute position in any instrument during the period (held into it or
    /// reached by a fill).
    pub max_inventory: String,
}

/// The per-period table: periods of an hour for runs over two hours, else of a bar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Periods {
    /// `hour` or `bar`.
    pub period: &'static str,
    /// Period length (ns).
    pub period_ns: i64,
    /// Periods with a bar or a fill, in order.
    pub rows: Vec<PeriodRow>,
}

#[derive(Default)]
struct PeriodAcc {
    equity: Option<(i64, i128)>,
    fills: u64,
    volume: i128,
    notional: i128,
    max_inv: i64,
}

/// The per-period table from the total equity series `(bar end, equity)`, the fills (in
/// time order), the contracts by instrument, the run's span and bar length.
pub(crate) fn periods(
    equity: &[(i64, i128)],
    fills: &[FillRow],
    contracts: &[Contract],
    (span, bar): ((i64, i64), i64),
    clock: &Clock,
) -> Periods {
    let hourly = span.1.saturating_sub(span.0) > 2 * HOUR_NS;
    let len = if hourly { HOUR_NS.max(bar) } else { bar.max(1) };
    // Hours follow the venue's clock; bars follow the tape's, as the blotter cuts them.
    let key = |t: i64| if hourly { clock.local_ns(t).div_euclid(len) } else { t.div_euclid(len) };
    let mut acc: BTreeMap<i64, PeriodAcc> = BTreeMap::new();
    for &(end, e) in equity {
        acc.entry(key(end.saturating_sub(1))).or_default().equity = Some((end, e));
    }
    let mut by_key: BTreeMap<i64, Vec<&FillRow>> = BTreeMap::new();
    for f in fills {
        by_key.entry(key(f.ts_ns)).or_default().push(f);
        acc.entry(key(f.ts_ns)).or_default();
    }
    let mut pos: BTreeMap<InstrumentId, i64> = BTreeMap::new();
    let (mut prev_equity, mut rows) = (0i128, Vec::new());
    for (k, a) in &mut acc {
        a.max_inv = pos.values().map(|p| p.saturating_abs()).max().unwrap_or(0);
        for f in by_key.get(k).into_iter().flatten() {
            let c = contracts.get(usize::from(f.instrument)).copied().unwrap_or(Contract::LINEAR);
            a.fills += 1;
            a.volume = a.volume.saturating_add(i128::from(f.qty.0));
            a.notional = a.notional.saturating_add(c.value(f.qty.0, f.px.0).saturating_abs());
            pos.insert(f.instrument, f.position.0);
            a.max_inv = a.max_inv.max(f.position.0.saturating_abs());
        }
        let pnl = a.equity.map_or(0, |(_, e)| e.saturating_sub(prev_equity));
        if let Some((_, e)) = a.equity {
            prev_equity = e;
        }
        let start = k.saturating_mul(len);
        rows.push(PeriodRow {
            start_time: if hourly { clock.format_local(start) } else { clock.labelled(start) },
            bar_end_ns: a.equity.map(|x| x.0),
            pnl: decimal(pnl),
            fills: a.fills,
            volume: decimal(a.volume),
            notional: decimal(a.notional),
            max_inventory: decimal(i128::from(a.max_inv)),
        });
    }
    Periods { period: if hourly { "hour" } else { "bar" }, period_ns: len, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{Price, Qty};

    const U: i64 = 100_000_000;

    fn fill(ts: i64, side: Side, px: i64, qty: i64, mid: i64, position: i64) -> FillRow {
        FillRow {
            fill_no: 0,
            ts_ns: ts,
            order_no: 0,
            order_id: 1,
            instrument: 0,
            side,
            px: Price(px * U),
            qty: Qty(qty * U),
            leaves: Qty(0),
            maker: true,
            fee: 0,
            ahead_at_fill: None,
            position: Qty(position * U),
            mid: Price(mid * U),
            mids_after: [None; 4],
        }
    }

    #[test]
    fn fifo_lots_match_into_round_trips() {
        let c = Contract::LINEAR;
        // Buy 2 at 10 (t=0), buy 1 at 12 (t=10), sell 2 at 13 (t=20): closes the first lot
        // (+6); sell 3 at 11 (t=50): closes the second lot (-1) and opens a short of 2.
        let f = [
            fill(0, Side::Buy, 10, 2, 10, 2),
            fill(10, Side::Buy, 12, 1, 12, 3),
            fill(20, Side::Sell, 13, 2, 13, 1),
            fill(50, Side::Sell, 11, 3, 11, -2),
        ];
        let refs: Vec<&FillRow> = f.iter().collect();
        let (trips, open) = match_trips(&refs, c);
        assert_eq!(trips, vec![(6 * i128::from(U), 20), (-i128::from(U), 40)]);
        assert_eq!(open, 1);
        let r = round_trips(0, "X".into(), &refs, c);
        assert_eq!((r.trips, r.wins, r.losses, r.win_rate), (2, 1, 1, Some(0.5)));
        assert_eq!(r.total_pnl, "5");
        assert_eq!(r.mean_pnl.as_deref(), Some("2.5"));
        assert_eq!(r.median_pnl.as_deref(), Some("2.5"));
        assert_eq!((r.mean_holding_ns, r.longest_holding_ns), (Some(30), Some(40)));
    }

    #[test]
    fn spread_capture_and_inventory_sum_to_gross() {
        let c = Contract { multiplier: Qty(50 * U), inverse: false };
        // Buy 2 at 99 (mid 100), sell 1 at 102 (mid 101), buy 1 at 100 (mid 100); end mark 103.
        let f = [
            fill(0, Side::Buy, 99, 2, 100, 2),
            fill(5, Side::Sell, 102, 1, 101, 1),
            fill(9, Side::Buy, 100, 1, 100, 2),
        ];
        let refs: Vec<&FillRow> = f.iter().collect();
        let mark = 103 * U;
        let cash: i128 = refs.iter().map(|f| -c.value(signed(f), f.px.0)).sum();
        let gross = cash + c.value(2 * U, mark);
        let (spread, missing) = spread_capture(&refs, c);
        // (1×2 + 1×1 + 0×1) × 50 = 150.
        assert_eq!((spread, missing), (150 * i128::from(U), 0));
        // Inventory PnL computed on its own: each fill's quantity from its mid to the mark.
        let inventory: i128 =
            refs.iter().map(|f| c.value(signed(f), mark) - c.value(signed(f), f.mid.0)).sum();
        assert_eq!(spread + inventory, gross);
        let a = attribution(0, "X".into(), &refs, c, (gross, 7 * i128::from(U)));
        assert_eq!(a.inventory_pnl, decimal(inventory));
        assert_eq!(a.net_pnl, decimal(gross - 7 * i128::from(U)));
    }

    #[test]
    fn markout_table_groups_by_side_liquidity_and_horizon() {
        let mut a = fill(0, Side::Buy, 100, 1, 100, 1);
        a.mids_after = [Some(Price(101 * U)), Some(Price(99 * U)), Some(Price(0)), None];
        let mut b = fill(1, Side::Sell, 100, 1, 100, 0);
        b.mids_after = [Some(Price(98 * U)); 4];
        let rows = markouts(&[a, b]);
        assert_eq!(rows.len(), 16);
        let buy_maker: Vec<_> =
            rows.iter().filter(|r| r.side == "buy" && r.liquidity == "maker").collect();
        assert_eq!(buy_maker[0].mean.as_deref(), Some("1"));
        assert_eq!(buy_maker[0].mean_bps, Some(100.0));
        assert_eq!(buy_maker[1].mean.as_deref(), Some("-1"));
        assert_eq!((buy_maker[2].count, buy_maker[2].end_of_data), (0, 0), "one-sided book");
        assert_eq!((buy_maker[3].count, buy_maker[3].end_of_data), (0, 1));
        let sell = rows.iter().find(|r| r.side == "sell" && r.liquidity == "maker").unwrap();
        assert_eq!((sell.mean.as_deref(), sell.positive_share), (Some("2"), Some(1.0)));
    }

    #[test]
    fn periods_follow_bars_for_short_runs() {
        let clock = Clock::new("UTC", None);
        let f = [fill(5, Side::Buy, 10, 2, 10, 2), fill(15, Side::Sell, 11, 3, 11, -1)];
        let eq = [(10, 3 * i128::from(U)), (20, i128::from(U))];
        let p = periods(&eq, &f, &[Contract::LINEAR], ((0, 20), 10), &clock);
        assert_eq!((p.period, p.rows.len()), ("bar", 2));
        assert_eq!(p.rows[0].pnl, "3");
        assert_eq!(p.rows[1].pnl, "-2");
        assert_eq!(p.rows[1].max_inventory, "2", "held into the period");
        assert_eq!(p.rows[1].notional, "33");
    }
}
