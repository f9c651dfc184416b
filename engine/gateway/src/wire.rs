//! The order protocol's mapping, written once for both ends: strategy orders to FIX 4.4
//! messages (the gateway) and back (the venue), venue answers to execution reports (the venue)
//! and back to SDK events (the gateway), reject reasons both ways, and client order ids.

use lockstep_fix::{
    AppMessage, CxlRejResponseTo, ExecType, ExecutionReport, Id, NewOrderSingle, OrdStatus,
    OrdType, OrderCancelReject, OrderCancelReplaceRequest, OrderCancelRequest, Symbol, TimeInForce,
};
use lockstep_sdk::{
    Action, Canceled, EventBody, Fill, InstrumentId, OrderAck, Price, Qty, Reject, Side,
    TimeInForce as SdkTif, reject_reason,
};

/// Bits of a client order id that carry the strategy's own order id; the strategy's index is
/// above them, so strategies sharing one order session never collide.
const ORDER_BITS: u32 = 40;

/// The order id the venue sees for strategy `s`'s order `order_id`.
pub(crate) fn venue_order_id(s: usize, order_id: u64) -> u64 {
    ((s as u64) << ORDER_BITS) | (order_id & ((1 << ORDER_BITS) - 1))
}

/// The strategy and its order id behind a venue order id.
pub(crate) fn strategy_order(id: u64) -> (usize, u64) {
    ((id >> ORDER_BITS) as usize, id & ((1 << ORDER_BITS) - 1))
}

/// ClOrdID (11) of version `v` of order `id` (0: the new order, then one per replace or
/// cancel): `<id>` or `<id>.<v>`, unique as FIX requires.
pub(crate) fn cl_ord_id(id: u64, v: u32) -> Id {
    if v == 0 {
        Id::from_u64(id)
    } else {
        // Written on the stack: a cancel or replace allocates nothing (u64 and u32 in decimal
        // with the dot fit in 31 bytes).
        let mut buf = [0u8; 32];
        let mut w = &mut buf[..];
        let _ = std::io::Write::write_fmt(&mut w, format_args!("{id}.{v}"));
        let n = 32 - w.len();
        Id::from_bytes(&buf[..n]).unwrap_or_else(|| Id::from_u64(id))
    }
}

/// The order id in a ClOrdID written by [`cl_ord_id`].
pub(crate) fn parse_cl_ord_id(id: &Id) -> Option<u64> {
    let s = id.as_str();
    s.split('.').next()?.parse().ok()
}

/// FIX OrdRejReason (103) / CxlRejReason (102) for an SDK reject reason.
pub(crate) fn reason_to_fix(reason: u32) -> u32 {
    match reason {
        reject_reason::UNKNOWN_INSTRUMENT => 1,
        reject_reason::RISK => 3,
        reject_reason::UNKNOWN_ORDER => 5,
        reject_reason::DUPLICATE_ID => 6,
        _ => 99,
    }
}

/// The SDK reject reason for a FIX OrdRejReason / CxlRejReason.
pub(crate) fn reason_from_fix(code: Option<u32>) -> u32 {
    match code {
        Some(1) => reject_reason::UNKNOWN_INSTRUMENT,
        Some(3) => reject_reason::RISK,
        Some(5 | 0) | None => reject_reason::UNKNOWN_ORDER,
        Some(6) => reject_reason::DUPLICATE_ID,
        Some(_) => reject_reason::INVALID,
    }
}

/// The FIX message for a strategy order (`version`: see [`cl_ord_id`]).
pub(crate) fn order_message(
    action: &Action,
    id: u64,
    version: u32,
    symbol: Symbol,
    side: Side,
    now_ns: i64,
) -> Option<AppMessage> {
    let cl = cl_ord_id(id, version);
    let orig = cl_ord_id(id, 0);
    let limit = |px, qty, time_in_force| {
        AppMessage::NewOrderSingle(NewOrderSingle {
            cl_ord_id: cl,
            symbol,
            side,
            qty,
            ord_type: OrdType::Limit,
            price: Some(px),
            time_in_force,
            transact_time_ns: now_ns,
        })
    };
    Some(match *action {
        Action::PlaceLimit { px, qty, .. } => limit(px, qty, None),
        // FIX 4.4 has IOC and FOK; the gateway refuses post only and GTX before this.
        Action::PlaceOrder { px, qty, tif, .. } => limit(
            px,
            qty,
            Some(match tif {
                SdkTif::Ioc => TimeInForce::Ioc,
                SdkTif::Fok => TimeInForce::Fok,
                SdkTif::PostOnly | SdkTif::Gtx => return None,
            }),
        ),
        Action::PlaceMarket { qty, .. } => AppMessage::NewOrderSingle(NewOrderSingle {
            cl_ord_id: cl,
            symbol,
            side,
            qty,
            ord_type: OrdType::Market,
            price: None,
            time_in_force: None,
            transact_time_ns: now_ns,
        }),
        Action::Cancel { .. } => AppMessage::OrderCancelRequest(OrderCancelRequest {
            cl_ord_id: cl,
            orig_cl_ord_id: orig,
            symbol,
            side,
            qty: None,
            transact_time_ns: now_ns,
        }),
        Action::Replace { px, qty, .. } => {
            AppMessage::OrderCancelReplaceRequest(OrderCancelReplaceRequest {
                cl_ord_id: cl,
                orig_cl_ord_id: orig,
                symbol,
                side,
                qty,
                ord_type: OrdType::Limit,
                price: Some(px),
                transact_time_ns: now_ns,
            })
        }
        Action::SetTimer { .. } | Action::Signal { .. } => return None,
    })
}

/// The venue's view of an order request: the SDK action it becomes and its venue order id.
pub(crate) fn request_action(msg: &AppMessage, instrument: InstrumentId) -> Option<(u64, Action)> {
    Some(match msg {
        AppMessage::NewOrderSingle(o) => {
            let id = parse_cl_ord_id(&o.cl_ord_id)?;
            let tif = match o.time_in_force {
                Some(TimeInForce::Ioc) => Some(SdkTif::Ioc),
                Some(TimeInForce::Fok) => Some(SdkTif::Fok),
                _ => None,
            };
            let action = match (o.ord_type, o.price, tif) {
                (OrdType::Limit, Some(px), Some(tif)) => Action::PlaceOrder {
                    instrument,
                    order_id: id,
                    side: o.side,
                    px,
                    qty: o.qty,
                    tif,
                },
                (OrdType::Limit, Some(px), None) => {
                    Action::PlaceLimit { instrument, order_id: id, side: o.side, px, qty: o.qty }
                }
                _ => Action::PlaceMarket { instrument, order_id: id, side: o.side, qty: o.qty },
            };
            (id, action)
        }
        AppMessage::OrderCancelRequest(c) => {
            let id = parse_cl_ord_id(&c.orig_cl_ord_id)?;
            (id, Action::Cancel { instrument, order_id: id })
        }
        AppMessage::OrderCancelReplaceRequest(r) => {
            let id = parse_cl_ord_id(&r.orig_cl_ord_id)?;
            let px = r.price.unwrap_or(Price::ZERO);
            (id, Action::Replace { instrument, order_id: id, px, qty: r.qty })
        }
        AppMessage::ExecutionReport(_) | AppMessage::OrderCancelReject(_) => return None,
    })
}

/// A FIX answer as the SDK event the strategy gets: the venue order id and the body.
pub(crate) fn answer_body(msg: &AppMessage) -> Option<(u64, EventBody)> {
    match msg {
        AppMessage::ExecutionReport(er) => {
            let id = parse_cl_ord_id(&er.cl_ord_id)?;
            let body = match er.exec_type {
                ExecType::New | ExecType::Replaced => EventBody::OrderAck(OrderAck {
                    order_id: id,
                    side: er.side,
                    px: er.price.unwrap_or(Price::ZERO),
                    qty: er.leaves_qty,
                }),
                ExecType::Trade => EventBody::Fill(Fill {
                    order_id: id,
                    side: er.side,
                    px: er.last_px,
                    qty: er.last_qty,
                    leaves: er.leaves_qty,
                }),
                ExecType::Canceled | ExecType::Expired => {
                    EventBody::Canceled(Canceled { order_id: id, qty: er.leaves_qty })
                }
                ExecType::Rejected => EventBody::Reject(Reject {
                    order_id: id,
                    reason: reason_from_fix(er.ord_rej_reason),
                }),
                ExecType::PendingNew | ExecType::PendingCancel | ExecType::PendingReplace => {
                    return None;
                }
            };
            Some((id, body))
        }
        AppMessage::OrderCancelReject(r) => {
            let id = parse_cl_ord_id(&r.orig_cl_ord_id)?;
            Some((
                id,
                EventBody::Reject(Reject { order_id: id, reason: reason_from_fix(r.reason) }),
            ))
        }
        _ => None,
    }
}

/// A venue answer with the venue's order id replaced by the strategy's own.
pub(crate) fn strategy_body(body: EventBody) -> EventBody {
    let own = |id: u64| strategy_order(id).1;
    match body {
        EventBody::OrderAck(a) => EventBody::OrderAck(OrderAck { order_id: own(a.order_id), ..a }),
        EventBody::Fill(f) => EventBody::Fill(Fill { order_id: own(f.order_id), ..f }),
        EventBody::Reject(r) => EventBody::Reject(Reject { order_id: own(r.order_id), ..r }),
        EventBody::Canceled(c) => EventBody::Canceled(Canceled { order_id: own(c.order_id), ..c }),
        other => other,
    }
}

/// What the venue knows of an order to fill an execution report's fields.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderState {
    /// The client order id of the latest request on it.
    pub(crate) cl_ord_id: Id,
    /// The symbol.
    pub(crate) symbol: Symbol,
    /// The side.
    pub(crate) side: Side,
    /// The order quantity.
    pub(crate) qty: Qty,
    /// The limit price.
    pub(crate) px: Option<Price>,
    /// Filled so far.
    pub(crate) cum: Qty,
    /// The latest request was a replace (its ack is a Replaced report).
    pub(crate) replacing: bool,
    /// The latest request was a cancel or replace (a reject is an OrderCancelReject).
    pub(crate) cancel_or_replace: bool,
}

/// The FIX answer for a venue event about order `id`, with execution id `exec`.
pub(crate) fn answer_message(
    st: &mut OrderState,
    id: u64,
    body: &EventBody,
    exec: u64,
) -> Option<AppMessage> {
    let mut er = ExecutionReport {
        order_id: Id::from_u64(id),
        cl_ord_id: st.cl_ord_id,
        orig_cl_ord_id: None,
        exec_id: Id::from_u64(exec),
        exec_type: ExecType::New,
        ord_status: OrdStatus::New,
        symbol: st.symbol,
        side: st.side,
        order_qty: st.qty,
        price: st.px,
        last_qty: Qty::ZERO,
        last_px: Price::ZERO,
        leaves_qty: Qty(st.qty.0.saturating_sub(st.cum.0)),
        cum_qty: st.cum,
        avg_px: Price::ZERO,
        ord_rej_reason: None,
        text: None,
    };
    match *body {
        EventBody::OrderAck(a) => {
            (st.px, er.price, er.leaves_qty) = (Some(a.px), Some(a.px), a.qty);
            st.qty = Qty(a.qty.0.saturating_add(st.cum.0));
            er.order_qty = st.qty;
            if st.replacing {
                (er.exec_type, er.ord_status) = (ExecType::Replaced, OrdStatus::Replaced);
            }
            st.replacing = false;
        }
        EventBody::Fill(f) => {
            st.cum = Qty(st.cum.0.saturating_add(f.qty.0));
            (er.last_qty, er.last_px, er.leaves_qty, er.cum_qty, er.avg_px) =
                (f.qty, f.px, f.leaves, st.cum, f.px);
            er.exec_type = ExecType::Trade;
            er.ord_status =
                if f.leaves.0 <= 0 { OrdStatus::Filled } else { OrdStatus::PartiallyFilled };
        }
        EventBody::Canceled(c) => {
            (er.exec_type, er.ord_status, er.leaves_qty) =
                (ExecType::Canceled, OrdStatus::Canceled, c.qty);
        }
        EventBody::Reject(r) if st.cancel_or_replace => {
            let response_to =
                if st.replacing { CxlRejResponseTo::Replace } else { CxlRejResponseTo::Cancel };
            st.replacing = false;
            return Some(AppMessage::OrderCancelReject(OrderCancelReject {
                order_id: Id::from_u64(id),
                cl_ord_id: st.cl_ord_id,
                orig_cl_ord_id: Id::from_u64(id),
                ord_status: OrdStatus::New,
                response_to,
                reason: Some(reason_to_fix(r.reason)),
                text: None,
            }));
        }
        EventBody::Reject(r) => {
            (er.exec_type, er.ord_status) = (ExecType::Rejected, OrdStatus::Rejected);
            er.ord_rej_reason = Some(reason_to_fix(r.reason));
            er.leaves_qty = Qty::ZERO;
        }
        _ => return None,
    }
    Some(AppMessage::ExecutionReport(er))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let id = venue_order_id(3, 77);
        assert_eq!(strategy_order(id), (3, 77));
        assert_eq!(parse_cl_ord_id(&cl_ord_id(id, 0)), Some(id));
        assert_eq!(parse_cl_ord_id(&cl_ord_id(id, 4)), Some(id));
        assert_eq!(cl_ord_id(id, 4).as_str(), format!("{id}.4"));
    }

    #[test]
    fn ioc_and_fok_travel_as_fix_time_in_force_and_back() {
        let symbol = Symbol::lossy(b"GOOG");
        let (side, px, qty) = (Side::Buy, Price(5), Qty(6));
        for tif in [SdkTif::Ioc, SdkTif::Fok] {
            let a = Action::PlaceOrder { instrument: 0, order_id: 7, side, px, qty, tif };
            let m = order_message(&a, 7, 0, symbol, side, 1).expect("a FIX order");
            assert_eq!(request_action(&m, 0), Some((7, a)));
        }
        for tif in [SdkTif::PostOnly, SdkTif::Gtx] {
            let a = Action::PlaceOrder { instrument: 0, order_id: 7, side, px, qty, tif };
            assert!(order_message(&a, 7, 0, symbol, side, 1).is_none());
        }
    }

    #[test]
    fn reasons_round_trip() {
        for r in [
            reject_reason::UNKNOWN_ORDER,
            reject_reason::DUPLICATE_ID,
            reject_reason::RISK,
            reject_reason::UNKNOWN_INSTRUMENT,
        ] {
            assert_eq!(reason_from_fix(Some(reason_to_fix(r))), r);
        }
    }
}
