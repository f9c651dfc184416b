//! Two-sided quoting: one bid and one ask kept on the book, placed, replaced and cancelled as
//! the wanted prices move, following the venue's acks, fills, rejects and cancels. Shared by the
//! market makers (Avellaneda–Stoikov, microprice) so their order handling is one piece of code.
//! Order ids come from a counter starting at 1; state is two fixed slots (no allocation).

use crate::abi::{Canceled, Fill, OrderAck, Reject, reject_reason};
use crate::strategy::Actions;
use crate::units::{InstrumentId, OrderId, Price, Qty, Side};

/// One of the two resting quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Working {
    id: OrderId,
    /// Last price requested (placed or replaced).
    px: Price,
    /// Price the venue last acknowledged; `None` until the first ack.
    acked_px: Option<Price>,
    cancel_sent: bool,
}

/// The two-sided quote manager.
#[derive(Clone, Debug)]
pub struct TwoSidedQuoter {
    instrument: InstrumentId,
    qty: Qty,
    next_id: OrderId,
    bid: Option<Working>,
    ask: Option<Working>,
}

impl TwoSidedQuoter {
    /// Quotes `qty` on `instrument`.
    pub fn new(instrument: InstrumentId, qty: Qty) -> Self {
        Self { instrument, qty, next_id: 1, bid: None, ask: None }
    }

    /// The order working on `side`, if any.
    pub fn working(&self, side: Side) -> Option<OrderId> {
        match side {
            Side::Buy => self.bid.map(|w| w.id),
            Side::Sell => self.ask.map(|w| w.id),
        }
    }

    fn slot(&mut self, side: Side) -> &mut Option<Working> {
        match side {
            Side::Buy => &mut self.bid,
            Side::Sell => &mut self.ask,
        }
    }

    /// The slot holding order `id`, if any.
    fn find(&mut self, id: OrderId) -> Option<&mut Option<Working>> {
        if self.bid.is_some_and(|w| w.id == id) {
            Some(&mut self.bid)
        } else if self.ask.is_some_and(|w| w.id == id) {
            Some(&mut self.ask)
        } else {
            None
        }
    }

    /// Brings `side` in line with `want`: a new order on an empty side, a replace of an
    /// acknowledged order whose price differs, a cancel when the side should be empty. Orders
    /// awaiting their first ack or a cancel confirmation are left alone until the venue answers.
    pub fn sync(&mut self, side: Side, want: Option<Price>, out: &mut Actions<'_>) {
        let (instrument, qty, fresh_id) = (self.instrument, self.qty, self.next_id);
        let slot = self.slot(side);
        match (slot.as_mut(), want) {
            (None, Some(px)) => {
                *slot = Some(Working { id: fresh_id, px, acked_px: None, cancel_sent: false });
                out.place_limit(instrument, fresh_id, side, px, qty);
                self.next_id += 1;
            }
            (Some(w), Some(px)) if !w.cancel_sent && w.acked_px.is_some() && w.px != px => {
                w.px = px;
                out.replace(instrument, w.id, px, qty);
            }
            (Some(w), None) if !w.cancel_sent => {
                w.cancel_sent = true;
                out.cancel(instrument, w.id);
            }
            _ => {}
        }
    }

    /// The venue accepted (or replaced) one of our orders.
    pub fn on_ack(&mut self, a: &OrderAck) {
        if let Some(Some(w)) = self.find(a.order_id) {
            w.acked_px = Some(a.px);
        }
    }

    /// One of our orders traded; `true` when it was one of ours. A fully filled order frees
    /// its side.
    pub fn on_fill(&mut self, f: &Fill) -> bool {
        match self.find(f.order_id) {
            Some(slot) => {
                if f.leaves.0 <= 0 {
                    *slot = None;
                }
                true
            }
            None => false,
        }
    }

    /// A request was rejected: a rejected placement or cancel frees the side; a rejected
    /// replace leaves the order at its acknowledged price (retried on the next update).
    pub fn on_reject(&mut self, r: &Reject) {
        if let Some(slot) = self.find(r.order_id)
            && let Some(w) = slot
        {
            match w.acked_px {
                Some(px) if !w.cancel_sent && r.reason != reject_reason::UNKNOWN_ORDER => {
                    w.px = px;
                }
                _ => *slot = None,
            }
        }
    }

    /// One of our orders is gone: its side is free.
    pub fn on_canceled(&mut self, c: &Canceled) {
        if let Some(slot) = self.find(c.order_id) {
            *slot = None;
        }
    }
}
