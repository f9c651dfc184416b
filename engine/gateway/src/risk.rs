//! Pre-trade risk outside the sandbox: every order a strategy asks for is checked here before
//! it reaches the venue. A refusal goes back to the strategy as a reject with its own reason
//! code (`reject_reason::RISK_*`) and is counted by reason; the strategy goes on.

use core::fmt;
use lockstep_sdk::{InstrumentId, Price, Qty, Side, reject_reason};
use serde::Deserialize;
use std::collections::{BTreeMap, VecDeque};

/// The limits, as read from a risk file (JSON). Decimal values are strings, parsed exactly;
/// an absent limit is not checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskFile {
    /// Largest quantity of one order, e.g. `"100"`.
    pub max_order_qty: Option<String>,
    /// Largest price × quantity of one order, e.g. `"250000"`.
    pub max_notional: Option<String>,
    /// Widest distance of a limit price from the last trade (or the mid before any trade), in
    /// ticks of the instrument.
    pub collar_ticks: Option<u32>,
    /// The same collar in basis points of the reference price.
    pub collar_bps: Option<u32>,
    /// Largest absolute position per instrument, counting every open order as if it filled.
    pub max_position: Option<String>,
    /// Most new orders and replaces in any one second of the gateway's clock.
    pub max_orders_per_second: Option<u32>,
    /// Most orders open (sent and not yet done) at once.
    pub max_open_orders: Option<u32>,
}

/// The limits, parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RiskLimits {
    /// See [`RiskFile::max_order_qty`].
    pub max_order_qty: Option<Qty>,
    /// See [`RiskFile::max_notional`] (8 decimals, like a price).
    pub max_notional: Option<Price>,
    /// See [`RiskFile::collar_ticks`].
    pub collar_ticks: Option<u32>,
    /// See [`RiskFile::collar_bps`].
    pub collar_bps: Option<u32>,
    /// See [`RiskFile::max_position`].
    pub max_position: Option<Qty>,
    /// See [`RiskFile::max_orders_per_second`].
    pub max_orders_per_second: Option<u32>,
    /// See [`RiskFile::max_open_orders`].
    pub max_open_orders: Option<u32>,
}

/// A risk file that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RiskError {
    /// Not JSON of the expected shape.
    Syntax {
        /// serde's message, with line and column.
        reason: String,
    },
    /// A limit's value is not a usable decimal.
    BadValue {
        /// The field.
        field: &'static str,
        /// The text found.
        value: String,
    },
}

impl fmt::Display for RiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RiskError::Syntax { reason } => write!(
                f,
                "risk file is not valid: {reason}; expected JSON such as {{\"max_order_qty\": \"100\", \"collar_ticks\": 50}}"
            ),
            RiskError::BadValue { field, value } => write!(
                f,
                "risk file: {field} = {value:?} is not a positive decimal with at most 8 places"
            ),
        }
    }
}

impl std::error::Error for RiskError {}

impl RiskLimits {
    /// Parses a risk file's text.
    ///
    /// # Errors
    /// [`RiskError`] naming the field or the line and column.
    pub fn from_json(text: &str) -> Result<Self, RiskError> {
        let f: RiskFile =
            serde_json::from_str(text).map_err(|e| RiskError::Syntax { reason: e.to_string() })?;
        fn positive<T>(
            field: &'static str,
            v: Option<&String>,
            parse: fn(&str) -> Option<T>,
            raw: fn(&T) -> i64,
        ) -> Result<Option<T>, RiskError> {
            v.map(|s| {
                parse(s)
                    .filter(|x| raw(x) > 0)
                    .ok_or_else(|| RiskError::BadValue { field, value: s.clone() })
            })
            .transpose()
        }
        Ok(Self {
            max_order_qty: positive("max_order_qty", f.max_order_qty.as_ref(), Qty::parse, |q| {
                q.0
            })?,
            max_notional: positive("max_notional", f.max_notional.as_ref(), Price::parse, |p| p.0)?,
            collar_ticks: f.collar_ticks,
            collar_bps: f.collar_bps,
            max_position: positive("max_position", f.max_position.as_ref(), Qty::parse, |q| q.0)?,
            max_orders_per_second: f.max_orders_per_second,
            max_open_orders: f.max_open_orders,
        })
    }
}

/// An order as risk sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// The instrument.
    pub instrument: InstrumentId,
    /// The side.
    pub side: Side,
    /// The limit price (`None` for a market order).
    pub px: Option<Price>,
    /// The quantity.
    pub qty: Qty,
}

#[derive(Clone, Copy, Debug)]
struct Open {
    instrument: InstrumentId,
    side: Side,
    leaves: Qty,
}

/// One strategy's risk state: positions, open orders, reference prices, recent order times
/// and the kill switch. Time is the gateway's receive clock, passed in.
#[derive(Debug)]
pub struct RiskBook {
    limits: RiskLimits,
    ticks: Vec<Price>,
    reference: Vec<Option<Price>>,
    position: Vec<i64>,
    open: BTreeMap<u64, Open>,
    recent: VecDeque<i64>,
    killed: bool,
    /// Refusals by reason code.
    refused: BTreeMap<u32, u64>,
}

const SECOND: i64 = 1_000_000_000;

impl RiskBook {
    /// Risk for a strategy trading instruments whose tick sizes are `ticks` (by id).
    pub fn new(limits: RiskLimits, ticks: Vec<Price>) -> Self {
        let n = ticks.len();
        Self {
            limits,
            ticks,
            reference: vec![None; n],
            position: vec![0; n],
            open: BTreeMap::new(),
            recent: VecDeque::new(),
            killed: false,
            refused: BTreeMap::new(),
        }
    }

    /// Sets the collar's reference for `instrument` (the last trade, or the mid).
    pub fn reference(&mut self, instrument: InstrumentId, px: Price) {
        if let Some(r) = self.reference.get_mut(usize::from(instrument)) {
            *r = Some(px);
        }
    }

    /// Turns the kill switch on: every new order is refused from now on.
    pub fn kill(&mut self) {
        self.killed = true;
    }

    /// Whether the kill switch is on.
    pub fn killed(&self) -> bool {
        self.killed
    }

    /// The ids of the orders still open.
    pub fn open_orders(&self) -> impl Iterator<Item = (u64, InstrumentId)> + '_ {
        self.open.iter().map(|(id, o)| (*id, o.instrument))
    }

    /// Refusals so far, by reason code.
    pub fn refused(&self) -> &BTreeMap<u32, u64> {
        &self.refused
    }

    /// The position in `instrument` (in quantity units of 1e-8).
    pub fn position(&self, instrument: InstrumentId) -> i64 {
        self.position.get(usize::from(instrument)).copied().unwrap_or(0)
    }

    /// Checks a new order `id` at time `now`; on success it counts as open.
    ///
    /// # Errors
    /// The `reject_reason::RISK_*` code of the first limit it breaks.
    pub fn check_new(&mut self, id: u64, o: &OrderRequest, now: i64) -> Result<(), u32> {
        let r = self.check(o, now, None);
        match r {
            Ok(()) => {
                self.recent.push_back(now);
                self.open
                    .insert(id, Open { instrument: o.instrument, side: o.side, leaves: o.qty });
            }
            Err(code) => *self.refused.entry(code).or_insert(0) += 1,
        }
        r
    }

    /// Checks a replace of open order `id` to `px`/`qty` at `now`.
    ///
    /// # Errors
    /// As [`RiskBook::check_new`]; an unknown order is left for the venue to reject.
    pub fn check_replace(&mut self, id: u64, px: Price, qty: Qty, now: i64) -> Result<(), u32> {
        let Some(open) = self.open.get(&id).copied() else { return Ok(()) };
        let o = OrderRequest { instrument: open.instrument, side: open.side, px: Some(px), qty };
        let r = self.check(&o, now, Some(open.leaves));
        match r {
            Ok(()) => {
                self.recent.push_back(now);
                if let Some(e) = self.open.get_mut(&id) {
                    e.leaves = qty;
                }
            }
            Err(code) => *self.refused.entry(code).or_insert(0) += 1,
        }
        r
    }

    fn check(&mut self, o: &OrderRequest, now: i64, replacing: Option<Qty>) -> Result<(), u32> {
        let l = self.limits;
        if self.killed {
            return Err(reject_reason::RISK_KILL_SWITCH);
        }
        if l.max_order_qty.is_some_and(|m| o.qty > m) {
            return Err(reject_reason::RISK_MAX_QTY);
        }
        let i = usize::from(o.instrument);
        let reference = self.reference.get(i).copied().flatten();
        let px = o.px.or(reference);
        if let Some(max) = l.max_notional {
            let Some(px) = px else { return Err(reject_reason::RISK_NO_REFERENCE) };
            let notional = i128::from(px.0) * i128::from(o.qty.0) / 100_000_000;
            if notional > i128::from(max.0) {
                return Err(reject_reason::RISK_MAX_NOTIONAL);
            }
        }
        self.check_collar(o, reference)?;
        self.check_position(o, replacing)?;
        if let Some(max) = l.max_orders_per_second {
            while self.recent.front().is_some_and(|t| now.saturating_sub(*t) >= SECOND) {
                self.recent.pop_front();
            }
            if self.recent.len() >= max as usize {
                return Err(reject_reason::RISK_ORDER_RATE);
            }
        }
        if replacing.is_none() && l.max_open_orders.is_some_and(|m| self.open.len() >= m as usize) {
            return Err(reject_reason::RISK_OPEN_ORDERS);
        }
        Ok(())
    }

    fn check_collar(&self, o: &OrderRequest, reference: Option<Price>) -> Result<(), u32> {
        let l = self.limits;
        let Some(px) = o.px else { return Ok(()) };
        if l.collar_ticks.is_none() && l.collar_bps.is_none() {
            return Ok(());
        }
        let Some(r) = reference else { return Err(reject_reason::RISK_NO_REFERENCE) };
        let distance = (i128::from(px.0) - i128::from(r.0)).abs();
        let tick = self.ticks.get(usize::from(o.instrument)).map_or(0, |t| t.0);
        let by_ticks = l.collar_ticks.map(|t| i128::from(t) * i128::from(tick));
        let by_bps = l.collar_bps.map(|b| i128::from(r.0).abs() * i128::from(b) / 10_000);
        if by_ticks.is_some_and(|w| distance > w) || by_bps.is_some_and(|w| distance > w) {
            return Err(reject_reason::RISK_PRICE_COLLAR);
        }
        Ok(())
    }

    fn check_position(&self, o: &OrderRequest, replacing: Option<Qty>) -> Result<(), u32> {
        let Some(max) = self.limits.max_position else { return Ok(()) };
        let side_open: i64 = self
            .open
            .values()
            .filter(|x| x.instrument == o.instrument && x.side == o.side)
            .map(|x| x.leaves.0)
            .sum::<i64>()
            - replacing.map_or(0, |q| q.0);
        let pos = self.position(o.instrument);
        let worst = match o.side {
            Side::Buy => i128::from(pos) + i128::from(side_open) + i128::from(o.qty.0),
            Side::Sell => i128::from(pos) - i128::from(side_open) - i128::from(o.qty.0),
        };
        if worst.abs() > i128::from(max.0) {
            return Err(reject_reason::RISK_MAX_POSITION);
        }
        Ok(())
    }

    /// The venue filled `qty` of order `id`, leaving `leaves` open.
    pub fn on_fill(&mut self, id: u64, qty: Qty, leaves: Qty) {
        let Some(o) = self.open.get_mut(&id) else { return };
        let signed = match o.side {
            Side::Buy => qty.0,
            Side::Sell => -qty.0,
        };
        if let Some(p) = self.position.get_mut(usize::from(o.instrument)) {
            *p = p.saturating_add(signed);
        }
        o.leaves = leaves;
        if leaves.0 <= 0 {
            self.open.remove(&id);
        }
    }

    /// Order `id` is done (cancelled or rejected).
    pub fn on_done(&mut self, id: u64) {
        self.open.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(json: &str) -> RiskBook {
        RiskBook::new(RiskLimits::from_json(json).unwrap(), vec![Price(1_000_000)])
    }

    fn buy(px: i64, qty: i64) -> OrderRequest {
        OrderRequest {
            instrument: 0,
            side: Side::Buy,
            px: Some(Price::from_units(px)),
            qty: Qty::from_units(qty),
        }
    }

    #[test]
    fn each_limit_trips_with_its_own_code() {
        let mut r = book(r#"{"max_order_qty": "10"}"#);
        assert_eq!(r.check_new(1, &buy(100, 11), 0), Err(reject_reason::RISK_MAX_QTY));
        assert_eq!(r.check_new(2, &buy(100, 10), 0), Ok(()));
        let mut r = book(r#"{"max_notional": "1000"}"#);
        assert_eq!(r.check_new(1, &buy(101, 10), 0), Err(reject_reason::RISK_MAX_NOTIONAL));
        assert_eq!(r.check_new(2, &buy(100, 10), 0), Ok(()));
        let mut r = book(r#"{"collar_ticks": 5}"#);
        assert_eq!(r.check_new(1, &buy(100, 1), 0), Err(reject_reason::RISK_NO_REFERENCE));
        r.reference(0, Price::from_units(100));
        let near = OrderRequest { px: Some(Price(100 * 100_000_000 + 5_000_000)), ..buy(0, 1) };
        let far = OrderRequest { px: Some(Price(100 * 100_000_000 + 6_000_000)), ..buy(0, 1) };
        assert_eq!(r.check_new(2, &near, 0), Ok(()));
        assert_eq!(r.check_new(3, &far, 0), Err(reject_reason::RISK_PRICE_COLLAR));
        let mut r = book(r#"{"max_position": "10"}"#);
        assert_eq!(r.check_new(1, &buy(100, 6), 0), Ok(()));
        assert_eq!(r.check_new(2, &buy(100, 5), 0), Err(reject_reason::RISK_MAX_POSITION));
        r.on_done(1);
        assert_eq!(r.check_new(3, &buy(100, 5), 0), Ok(()));
        let mut r = book(r#"{"max_orders_per_second": 2}"#);
        assert_eq!(r.check_new(1, &buy(1, 1), 0), Ok(()));
        assert_eq!(r.check_new(2, &buy(1, 1), 10), Ok(()));
        assert_eq!(r.check_new(3, &buy(1, 1), 20), Err(reject_reason::RISK_ORDER_RATE));
        assert_eq!(r.check_new(4, &buy(1, 1), SECOND), Ok(()));
        let mut r = book(r#"{"max_open_orders": 1}"#);
        assert_eq!(r.check_new(1, &buy(1, 1), 0), Ok(()));
        assert_eq!(r.check_new(2, &buy(1, 1), 0), Err(reject_reason::RISK_OPEN_ORDERS));
        r.kill();
        assert_eq!(r.check_new(3, &buy(1, 1), 0), Err(reject_reason::RISK_KILL_SWITCH));
        assert_eq!(r.refused().get(&reject_reason::RISK_KILL_SWITCH), Some(&1));
    }

    #[test]
    fn fills_move_the_position() {
        let mut r = book(r#"{"max_position": "10"}"#);
        r.check_new(1, &buy(100, 8), 0).unwrap();
        r.on_fill(1, Qty::from_units(8), Qty::ZERO);
        assert_eq!(r.position(0), Qty::from_units(8).0);
        assert_eq!(r.check_new(2, &buy(100, 3), 0), Err(reject_reason::RISK_MAX_POSITION));
        let sell = OrderRequest { side: Side::Sell, ..buy(100, 18) };
        assert_eq!(r.check_new(3, &sell, 0), Ok(()));
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let e = RiskLimits::from_json(r#"{"max_order_qty": "-1"}"#).unwrap_err();
        assert!(e.to_string().contains("max_order_qty"), "{e}");
        let e = RiskLimits::from_json(r#"{"max_qty": "1"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }
}
