//! MBO records into L3 events, as Databento's own reference book applies them (see the
//! module documentation of `import_databento`).

use super::record::side_of;
use lockstep_sdk::{Price, Qty, Side};
use lockstep_sim::MarketEvent;
use std::collections::BTreeMap;

/// The orders an instrument's MBO records placed: id → (side, price, remaining size).
pub(crate) type Orders = BTreeMap<u64, (Side, Price, Qty)>;

/// One MBO record's fields, in tape units.
pub(crate) struct Order {
    pub(crate) action: u8,
    pub(crate) side: u8,
    pub(crate) order_id: u64,
    pub(crate) px: Option<Price>,
    pub(crate) q: Qty,
}

/// What an MBO record comes to besides its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Its events (none for some).
    Events,
    /// Nothing, for this reason (counted as skipped).
    Skipped(&'static str),
    /// A fill: no book change (the quantity leaves with the cancel that follows).
    Fill,
}

/// The tape events of one MBO record into `out`, keeping `orders`; an error for an unknown
/// action.
pub(crate) fn mbo(
    orders: &mut Orders,
    o: &Order,
    out: &mut Vec<MarketEvent>,
) -> Result<Outcome, String> {
    let Order { action, side, order_id, px, q } = *o;
    Ok(match action {
        b'R' => {
            out.push(MarketEvent::Clear);
            orders.clear();
            Outcome::Events
        }
        b'A' | b'M' => {
            let (Some(side), Some(px)) = (side_of(side), px) else {
                return Ok(Outcome::Skipped("MBO add or modify without side or price"));
            };
            let outcome = add_or_modify(orders, o, side, px, out);
            if q.0 > 0 {
                orders.insert(order_id, (side, px, q));
            } else {
                orders.remove(&order_id);
            }
            outcome
        }
        b'C' => match orders.get(&order_id).copied() {
            None => Outcome::Skipped("MBO cancel of an order not on the book"),
            Some((os, op, oq)) => {
                if q >= oq {
                    out.push(MarketEvent::Delete { order_id, side: os, px: op, qty: oq });
                    orders.remove(&order_id);
                } else {
                    out.push(MarketEvent::Cancel { order_id, side: os, px: op, qty: q });
                    orders.insert(order_id, (os, op, Qty(oq.0 - q.0)));
                }
                Outcome::Events
            }
        },
        b'T' => match px {
            Some(px) if q.0 > 0 => {
                out.push(MarketEvent::Trade { px, qty: q, aggressor: side_of(side) });
                Outcome::Events
            }
            _ => Outcome::Skipped("MBO trade without price or size"),
        },
        b'F' => Outcome::Fill,
        b'N' => Outcome::Skipped("MBO record without action"),
        other => {
            return Err(format!(
                "MBO action {:?} is none of A, C, M, R, T, F, N",
                char::from(other)
            ));
        }
    })
}

/// The events of an add, or of a modify of the order `o` to `side` and `px` (before `orders`
/// takes it).
fn add_or_modify(
    orders: &Orders,
    o: &Order,
    side: Side,
    px: Price,
    out: &mut Vec<MarketEvent>,
) -> Outcome {
    let (order_id, q, modify) = (o.order_id, o.q, o.action == b'M');
    match orders.get(&order_id).copied() {
        Some((os, op, oq)) if modify && os == side && op == px && q < oq => {
            let d = Qty(oq.0 - q.0);
            out.push(MarketEvent::Cancel { order_id, side, px, qty: d });
        }
        Some((os, op, oq)) if modify && os == side && op == px && q == oq => {
            return Outcome::Skipped("MBO modify that changes nothing");
        }
        Some((os, op, oq)) => {
            out.push(MarketEvent::Delete { order_id, side: os, px: op, qty: oq });
            if q.0 > 0 {
                out.push(MarketEvent::Add { order_id, side, px, qty: q });
            }
        }
        None if q.0 > 0 => out.push(MarketEvent::Add { order_id, side, px, qty: q }),
        None => return Outcome::Skipped("MBO add or modify of size 0"),
    }
    Outcome::Events
}
