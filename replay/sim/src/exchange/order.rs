//! What the venue and its blotter say about one order: the order's reference and a fill.

use lockstep_sdk::{InstrumentId, OrderId, Price, Qty, Side};

/// One fill as the venue makes it (and the blotter records it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FillAt {
    /// Local time of the fill.
    pub(crate) t: i64,
    /// The order filled.
    pub(crate) order: OrderRef,
    pub(crate) px: Price,
    pub(crate) qty: Qty,
    /// Quantity the order still has open.
    pub(crate) leaves: Qty,
    /// Whether the order was resting (else it took liquidity).
    pub(crate) maker: bool,
    /// Queue left ahead of a maker order when it filled.
    pub(crate) ahead: Option<Qty>,
}

/// Which order: its instrument, the strategy's id and its side.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderRef {
    pub(crate) instrument: InstrumentId,
    pub(crate) id: OrderId,
    pub(crate) side: Side,
}
