//! Typed application messages: each is `Copy`, encodes its body fields into an [`Encoder`] and
//! decodes from a [`MessageView`] with the required tags of its message type checked.

use crate::codec::{Encoder, MessageView};
use crate::error::DecodeError;
use crate::fixstr::{Id, Symbol, Text};
use crate::reader::Reader;
use lockstep_sdk::{Price, Qty, Side};

macro_rules! char_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $v:ident = $c:expr),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $v),+
        }
        impl $name {
            /// The wire character.
            pub const fn to_byte(self) -> u8 {
                match self { $(Self::$v => $c),+ }
            }
            /// From the wire character.
            pub const fn from_byte(b: u8) -> Option<Self> {
                match b { $($c => Some(Self::$v),)+ _ => None }
            }
        }
    };
}

char_enum!(
    /// OrdType (40).
    OrdType { /// 1: market.
        Market = b'1', /// 2: limit (Price (44) required).
        Limit = b'2' }
);
char_enum!(
    /// TimeInForce (59).
    TimeInForce { /// 0: day.
        Day = b'0', /// 1: good till cancel.
        Gtc = b'1', /// 3: immediate or cancel.
        Ioc = b'3', /// 4: fill or kill.
        Fok = b'4' }
);
char_enum!(
    /// ExecType (150).
    ExecType { /// 0: new.
        New = b'0', /// 4: canceled.
        Canceled = b'4', /// 5: replaced.
        Replaced = b'5', /// 6: pending cancel.
        PendingCancel = b'6', /// 8: rejected.
        Rejected = b'8', /// A: pending new.
        PendingNew = b'A', /// C: expired.
        Expired = b'C', /// E: pending replace.
        PendingReplace = b'E', /// F: trade (partial or full fill).
        Trade = b'F' }
);
char_enum!(
    /// OrdStatus (39).
    OrdStatus { /// 0: new.
        New = b'0', /// 1: partially filled.
        PartiallyFilled = b'1', /// 2: filled.
        Filled = b'2', /// 4: canceled.
        Canceled = b'4', /// 5: replaced.
        Replaced = b'5', /// 6: pending cancel.
        PendingCancel = b'6', /// 8: rejected.
        Rejected = b'8', /// A: pending new.
        PendingNew = b'A', /// C: expired.
        Expired = b'C', /// E: pending replace.
        PendingReplace = b'E' }
);
char_enum!(
    /// CxlRejResponseTo (434).
    CxlRejResponseTo { /// 1: an OrderCancelRequest was rejected.
        Cancel = b'1', /// 2: an OrderCancelReplaceRequest was rejected.
        Replace = b'2' }
);

fn side_byte(s: Side) -> u8 {
    match s {
        Side::Buy => b'1',
        Side::Sell => b'2',
    }
}

fn side_from(b: u8) -> Option<Side> {
    match b {
        b'1' => Some(Side::Buy),
        b'2' => Some(Side::Sell),
        _ => None,
    }
}

fn side(r: &Reader<'_>) -> Result<Side, DecodeError> {
    r.enum_req(54, "Side 1 (buy) or 2 (sell)", side_from)
}

fn ord_type(r: &Reader<'_>) -> Result<OrdType, DecodeError> {
    r.enum_req(40, "OrdType 1 (market) or 2 (limit)", OrdType::from_byte)
}

/// Price (44): required for limit orders.
fn limit_price(r: &Reader<'_>, t: OrdType) -> Result<Option<Price>, DecodeError> {
    let p = r.opt_price(44)?;
    if t == OrdType::Limit && p.is_none() {
        return Err(r.missing(44));
    }
    Ok(p)
}

/// NewOrderSingle (35=D).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrderSingle {
    /// ClOrdID (11).
    pub cl_ord_id: Id,
    /// Symbol (55).
    pub symbol: Symbol,
    /// Side (54).
    pub side: Side,
    /// OrderQty (38).
    pub qty: Qty,
    /// OrdType (40).
    pub ord_type: OrdType,
    /// Price (44), required when `ord_type` is limit.
    pub price: Option<Price>,
    /// TimeInForce (59), optional.
    pub time_in_force: Option<TimeInForce>,
    /// TransactTime (60), nanoseconds since the epoch (sent with millisecond precision).
    pub transact_time_ns: i64,
}

impl NewOrderSingle {
    fn encode(&self, e: &mut Encoder) {
        e.str(11, self.cl_ord_id.as_bytes());
        e.str(55, self.symbol.as_bytes());
        e.char(54, side_byte(self.side));
        e.timestamp(60, self.transact_time_ns);
        e.qty(38, self.qty);
        e.char(40, self.ord_type.to_byte());
        if let Some(p) = self.price {
            e.price(44, p);
        }
        if let Some(t) = self.time_in_force {
            e.char(59, t.to_byte());
        }
    }

    fn decode(r: &Reader<'_>) -> Result<Self, DecodeError> {
        let ord_type = ord_type(r)?;
        Ok(Self {
            cl_ord_id: r.str(11)?,
            symbol: r.str(55)?,
            side: side(r)?,
            qty: r.qty(38)?,
            ord_type,
            price: limit_price(r, ord_type)?,
            time_in_force: r.enum_opt(59, "TimeInForce 0, 1, 3 or 4", TimeInForce::from_byte)?,
            transact_time_ns: r.time(60)?,
        })
    }
}

/// OrderCancelRequest (35=F).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderCancelRequest {
    /// ClOrdID (11) of this request.
    pub cl_ord_id: Id,
    /// OrigClOrdID (41): the order to cancel.
    pub orig_cl_ord_id: Id,
    /// Symbol (55).
    pub symbol: Symbol,
    /// Side (54).
    pub side: Side,
    /// OrderQty (38), optional.
    pub qty: Option<Qty>,
    /// TransactTime (60).
    pub transact_time_ns: i64,
}

impl OrderCancelRequest {
    fn encode(&self, e: &mut Encoder) {
        e.str(41, self.orig_cl_ord_id.as_bytes());
        e.str(11, self.cl_ord_id.as_bytes());
        e.str(55, self.symbol.as_bytes());
        e.char(54, side_byte(self.side));
        e.timestamp(60, self.transact_time_ns);
        if let Some(q) = self.qty {
            e.qty(38, q);
        }
    }

    fn decode(r: &Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            cl_ord_id: r.str(11)?,
            orig_cl_ord_id: r.str(41)?,
            symbol: r.str(55)?,
            side: side(r)?,
            qty: r.opt_qty(38)?,
            transact_time_ns: r.time(60)?,
        })
    }
}

/// OrderCancelReplaceRequest (35=G).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderCancelReplaceRequest {
    /// ClOrdID (11) of the replacement.
    pub cl_ord_id: Id,
    /// OrigClOrdID (41): the order to replace.
    pub orig_cl_ord_id: Id,
    /// Symbol (55).
    pub symbol: Symbol,
    /// Side (54).
    pub side: Side,
    /// OrderQty (38): the new total quantity.
    pub qty: Qty,
    /// OrdType (40).
    pub ord_type: OrdType,
    /// Price (44), required when `ord_type` is limit.
    pub price: Option<Price>,
    /// TransactTime (60).
    pub transact_time_ns: i64,
}

impl OrderCancelReplaceRequest {
    fn encode(&self, e: &mut Encoder) {
        e.str(41, self.orig_cl_ord_id.as_bytes());
        e.str(11, self.cl_ord_id.as_bytes());
        e.str(55, self.symbol.as_bytes());
        e.char(54, side_byte(self.side));
        e.timestamp(60, self.transact_time_ns);
        e.qty(38, self.qty);
        e.char(40, self.ord_type.to_byte());
        if let Some(p) = self.price {
            e.price(44, p);
        }
    }

    fn decode(r: &Reader<'_>) -> Result<Self, DecodeError> {
        let ord_type = ord_type(r)?;
        Ok(Self {
            cl_ord_id: r.str(11)?,
            orig_cl_ord_id: r.str(41)?,
            symbol: r.str(55)?,
            side: side(r)?,
            qty: r.qty(38)?,
            ord_type,
            price: limit_price(r, ord_type)?,
            transact_time_ns: r.time(60)?,
        })
    }
}

/// ExecutionReport (35=8). LastQty (32) and LastPx (31) are always sent; when a peer leaves
/// them out (FIX 4.4 makes them conditional on fills) they decode as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutionReport {
    /// OrderID (37), the venue's identifier.
    pub order_id: Id,
    /// ClOrdID (11).
    pub cl_ord_id: Id,
    /// OrigClOrdID (41), on cancels and replaces.
    pub orig_cl_ord_id: Option<Id>,
    /// ExecID (17).
    pub exec_id: Id,
    /// ExecType (150).
    pub exec_type: ExecType,
    /// OrdStatus (39).
    pub ord_status: OrdStatus,
    /// Symbol (55).
    pub symbol: Symbol,
    /// Side (54).
    pub side: Side,
    /// OrderQty (38).
    pub order_qty: Qty,
    /// Price (44), optional.
    pub price: Option<Price>,
    /// LastQty (32): quantity of this fill, zero otherwise.
    pub last_qty: Qty,
    /// LastPx (31): price of this fill, zero otherwise.
    pub last_px: Price,
    /// LeavesQty (151).
    pub leaves_qty: Qty,
    /// CumQty (14).
    pub cum_qty: Qty,
    /// AvgPx (6).
    pub avg_px: Price,
    /// OrdRejReason (103), optional.
    pub ord_rej_reason: Option<u32>,
    /// Text (58), optional.
    pub text: Option<Text>,
}

impl ExecutionReport {
    fn encode(&self, e: &mut Encoder) {
        e.str(37, self.order_id.as_bytes());
        e.str(11, self.cl_ord_id.as_bytes());
        if let Some(o) = self.orig_cl_ord_id {
            e.str(41, o.as_bytes());
        }
        e.str(17, self.exec_id.as_bytes());
        e.char(150, self.exec_type.to_byte());
        e.char(39, self.ord_status.to_byte());
        e.str(55, self.symbol.as_bytes());
        e.char(54, side_byte(self.side));
        e.qty(38, self.order_qty);
        if let Some(p) = self.price {
            e.price(44, p);
        }
        e.qty(32, self.last_qty);
        e.price(31, self.last_px);
        e.qty(151, self.leaves_qty);
        e.qty(14, self.cum_qty);
        e.price(6, self.avg_px);
        if let Some(r) = self.ord_rej_reason {
            e.u64(103, u64::from(r));
        }
        if let Some(t) = self.text {
            e.str(58, t.as_bytes());
        }
    }

    fn decode(r: &Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            order_id: r.str(37)?,
            cl_ord_id: r.str(11)?,
            orig_cl_ord_id: r.opt_str(41)?,
            exec_id: r.str(17)?,
            exec_type: r.enum_req(150, "ExecType", ExecType::from_byte)?,
            ord_status: r.enum_req(39, "OrdStatus", OrdStatus::from_byte)?,
            symbol: r.str(55)?,
            side: side(r)?,
            order_qty: r.qty(38)?,
            price: r.opt_price(44)?,
            last_qty: r.opt_qty(32)?.unwrap_or(Qty::ZERO),
            last_px: r.opt_price(31)?.unwrap_or(Price::ZERO),
            leaves_qty: r.qty(151)?,
            cum_qty: r.qty(14)?,
            avg_px: r.price(6)?,
            ord_rej_reason: r.opt_u32(103)?,
            text: r.opt(58).map(|(_, v)| Text::lossy(v)),
        })
    }
}

/// OrderCancelReject (35=9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderCancelReject {
    /// OrderID (37); `NONE` when the order is unknown.
    pub order_id: Id,
    /// ClOrdID (11) of the rejected request.
    pub cl_ord_id: Id,
    /// OrigClOrdID (41).
    pub orig_cl_ord_id: Id,
    /// OrdStatus (39) of the order after the rejection.
    pub ord_status: OrdStatus,
    /// CxlRejResponseTo (434).
    pub response_to: CxlRejResponseTo,
    /// CxlRejReason (102), optional (1 = unknown order).
    pub reason: Option<u32>,
    /// Text (58), optional.
    pub text: Option<Text>,
}

impl OrderCancelReject {
    fn encode(&self, e: &mut Encoder) {
        e.str(37, self.order_id.as_bytes());
        e.str(11, self.cl_ord_id.as_bytes());
        e.str(41, self.orig_cl_ord_id.as_bytes());
        e.char(39, self.ord_status.to_byte());
        e.char(434, self.response_to.to_byte());
        if let Some(r) = self.reason {
            e.u64(102, u64::from(r));
        }
        if let Some(t) = self.text {
            e.str(58, t.as_bytes());
        }
    }

    fn decode(r: &Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            order_id: r.str(37)?,
            cl_ord_id: r.str(11)?,
            orig_cl_ord_id: r.str(41)?,
            ord_status: r.enum_req(39, "OrdStatus", OrdStatus::from_byte)?,
            response_to: r.enum_req(434, "CxlRejResponseTo 1 or 2", CxlRejResponseTo::from_byte)?,
            reason: r.opt_u32(102)?,
            text: r.opt(58).map(|(_, v)| Text::lossy(v)),
        })
    }
}

/// Any application message this crate handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::large_enum_variant, reason = "Copy values on the stack; no boxing on the hot path")]
pub enum AppMessage {
    /// 35=D.
    NewOrderSingle(NewOrderSingle),
    /// 35=F.
    OrderCancelRequest(OrderCancelRequest),
    /// 35=G.
    OrderCancelReplaceRequest(OrderCancelReplaceRequest),
    /// 35=8.
    ExecutionReport(ExecutionReport),
    /// 35=9.
    OrderCancelReject(OrderCancelReject),
}

impl AppMessage {
    /// MsgType (35).
    pub fn msg_type(&self) -> &'static [u8] {
        match self {
            Self::NewOrderSingle(_) => b"D",
            Self::OrderCancelRequest(_) => b"F",
            Self::OrderCancelReplaceRequest(_) => b"G",
            Self::ExecutionReport(_) => b"8",
            Self::OrderCancelReject(_) => b"9",
        }
    }

    /// Writes the body fields (after [`Encoder::begin`], before [`Encoder::finish`]).
    pub fn encode_body(&self, e: &mut Encoder) {
        match self {
            Self::NewOrderSingle(m) => m.encode(e),
            Self::OrderCancelRequest(m) => m.encode(e),
            Self::OrderCancelReplaceRequest(m) => m.encode(e),
            Self::ExecutionReport(m) => m.encode(e),
            Self::OrderCancelReject(m) => m.encode(e),
        }
    }

    /// Whether `msg_type` is one of the application messages above.
    pub fn is_app_type(msg_type: &[u8]) -> bool {
        matches!(msg_type, b"D" | b"F" | b"G" | b"8" | b"9")
    }

    /// Decodes a framed message, checking its type's required tags and values.
    pub fn decode(view: &MessageView<'_>) -> Result<Self, DecodeError> {
        let r = Reader::new(*view);
        match view.msg_type() {
            b"D" => NewOrderSingle::decode(&r).map(Self::NewOrderSingle),
            b"F" => OrderCancelRequest::decode(&r).map(Self::OrderCancelRequest),
            b"G" => OrderCancelReplaceRequest::decode(&r).map(Self::OrderCancelReplaceRequest),
            b"8" => ExecutionReport::decode(&r).map(Self::ExecutionReport),
            b"9" => OrderCancelReject::decode(&r).map(Self::OrderCancelReject),
            _ => Err(DecodeError::UnsupportedMsgType {
                msg_type: view.msg_type_text(),
                seq: view.seq(),
            }),
        }
    }
}
