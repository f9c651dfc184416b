//! NASDAQ TotalView-ITCH 5.0: the message codec.
//!
//! We wrote our own codec rather than use the `itchy` crate: `itchy` only parses, allocates per
//! message and is barely maintained, while the gateway needs both directions (the simulated venue
//! publishes what the gateway decodes), zero allocation on the hot path, and errors that say at
//! which byte a message went wrong. The layout follows the spec's field tables: every integer is
//! big-endian, every message starts with the type byte, stock locate (u16), tracking number (u16)
//! and a 6-byte timestamp in nanoseconds since midnight.

use core::fmt;

/// Offset of the first field after the common header (type, locate, tracking, timestamp).
const BODY: usize = 11;
/// Largest timestamp a 6-byte field holds, plus one.
pub const TIMESTAMP_LIMIT: u64 = 1 << 48;

/// The length of an ITCH 5.0 message of type `msg_type` (type byte included, no length prefix),
/// or `None` for a byte the spec does not define.
pub const fn message_len(msg_type: u8) -> Option<usize> {
    Some(match msg_type {
        b'S' => 12,
        b'R' => 39,
        b'H' => 25,
        b'Y' => 20,
        b'L' => 26,
        b'V' => 35,
        b'W' => 12,
        b'K' => 28,
        b'J' => 35,
        b'h' => 21,
        b'A' => 36,
        b'F' => 40,
        b'E' => 31,
        b'C' => 36,
        b'X' => 23,
        b'D' => 19,
        b'U' => 35,
        b'P' => 44,
        b'Q' => 40,
        b'B' => 19,
        b'I' => 50,
        b'N' => 20,
        b'O' => 48,
        _ => return None,
    })
}

/// What went wrong decoding or encoding one ITCH message. Offsets count from the first byte of
/// the message (its type byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItchError {
    /// The message is empty: not even a type byte.
    Empty,
    /// The type byte is not an ITCH 5.0 message type.
    UnknownType {
        /// The byte.
        byte: u8,
        /// Where it is.
        offset: usize,
    },
    /// The message's length does not match the length the spec fixes for its type.
    WrongLength {
        /// The type byte.
        msg_type: u8,
        /// The spec's length.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A field holds a value the spec does not allow.
    BadField {
        /// The type byte.
        msg_type: u8,
        /// The field's name in the spec.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
    },
    /// Encoding: the value does not fit the field (a timestamp of 2^48 ns or more).
    OutOfRange {
        /// The type byte.
        msg_type: u8,
        /// The field's name in the spec.
        field: &'static str,
    },
    /// Encoding: the output buffer is shorter than the message.
    BufferTooSmall {
        /// Bytes the message needs.
        need: usize,
        /// Bytes the buffer has.
        have: usize,
    },
}

impl fmt::Display for ItchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Empty => write!(f, "empty ITCH message at byte 0: a message needs a type byte"),
            Self::UnknownType { byte, offset } => write!(
                f,
                "unknown ITCH 5.0 message type {byte:#04x} ({}) at byte {offset}: not in the \
                 spec; check the feed is ITCH 5.0 and the framing is right",
                byte.escape_ascii()
            ),
            Self::WrongLength { msg_type, expected, actual } => write!(
                f,
                "ITCH message '{}' is {actual} bytes at byte 0, the spec says {expected}: the \
                 framing or the protocol version is wrong",
                msg_type.escape_ascii()
            ),
            Self::BadField { msg_type, field, offset } => write!(
                f,
                "ITCH message '{}': field {field} at byte {offset} holds a value the spec does \
                 not allow",
                msg_type.escape_ascii()
            ),
            Self::OutOfRange { msg_type, field } => write!(
                f,
                "ITCH message '{}': {field} does not fit its field; pass a smaller value",
                msg_type.escape_ascii()
            ),
            Self::BufferTooSmall { need, have } => write!(
                f,
                "output buffer of {have} bytes is too small for an ITCH message of {need}; pass \
                 a buffer of at least {need} bytes"
            ),
        }
    }
}

impl std::error::Error for ItchError {}

/// A stock symbol: 8 bytes of ASCII, left-justified, right-padded with spaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stock(pub [u8; 8]);

impl Stock {
    /// The symbol `s` padded with spaces; `None` when it is longer than 8 bytes or not ASCII.
    pub fn new(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() > 8 || !s.is_ascii() {
            return None;
        }
        let mut out = [b' '; 8];
        out[..b.len()].copy_from_slice(b);
        Some(Self(out))
    }
    /// The symbol without its padding (`None` if the bytes are not ASCII).
    pub fn as_str(&self) -> Option<&str> {
        let end = self.0.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
        core::str::from_utf8(&self.0[..end]).ok().filter(|s| s.is_ascii())
    }
}

/// The header every ITCH message starts with, after its type byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Stock locate code (0 for market-wide messages).
    pub stock_locate: u16,
    /// NASDAQ internal tracking number.
    pub tracking_number: u16,
    /// Nanoseconds since midnight (48 bits on the wire).
    pub timestamp: u64,
}

/// `S`: system event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemEvent {
    /// Common header.
    pub header: Header,
    /// `O` start of messages, `S` start of system hours, `Q` start of market hours, `M` end of
    /// market hours, `E` end of system hours, `C` end of messages.
    pub event_code: u8,
}

/// `R`: stock directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockDirectory {
    /// Common header.
    pub header: Header,
    /// The symbol.
    pub stock: Stock,
    /// Market category.
    pub market_category: u8,
    /// Financial status indicator.
    pub financial_status: u8,
    /// Round lot size in shares.
    pub round_lot_size: u32,
    /// `Y` when only round lots are accepted.
    pub round_lots_only: u8,
    /// Issue classification.
    pub issue_classification: u8,
    /// Issue sub-type (2 bytes).
    pub issue_subtype: [u8; 2],
    /// `P` production, `T` test.
    pub authenticity: u8,
    /// Short sale threshold indicator.
    pub short_sale_threshold: u8,
    /// IPO flag.
    pub ipo_flag: u8,
    /// LULD reference price tier.
    pub luld_tier: u8,
    /// ETP flag.
    pub etp_flag: u8,
    /// ETP leverage factor.
    pub etp_leverage: u32,
    /// Inverse indicator.
    pub inverse: u8,
}

/// `H`: stock trading action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradingAction {
    /// Common header.
    pub header: Header,
    /// The symbol.
    pub stock: Stock,
    /// `H` halted, `P` paused, `Q` quotation only, `T` trading.
    pub state: u8,
    /// Reserved byte.
    pub reserved: u8,
    /// Reason code (4 bytes ASCII).
    pub reason: [u8; 4],
}

/// Buy/sell indicator of orders and trades.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItchSide {
    /// `B`.
    Buy,
    /// `S`.
    Sell,
}

impl ItchSide {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            b'B' => Some(Self::Buy),
            b'S' => Some(Self::Sell),
            _ => None,
        }
    }
    fn byte(self) -> u8 {
        match self {
            Self::Buy => b'B',
            Self::Sell => b'S',
        }
    }
}

/// `A` (no attribution) or `F` (with MPID attribution): add order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddOrder {
    /// Common header.
    pub header: Header,
    /// Order reference number.
    pub order_ref: u64,
    /// Side.
    pub side: ItchSide,
    /// Shares.
    pub shares: u32,
    /// The symbol.
    pub stock: Stock,
    /// Price, 4 implied decimals.
    pub price: u32,
    /// MPID attribution: `Some` makes it an `F` message.
    pub attribution: Option<[u8; 4]>,
}

/// `E`: order executed at its own price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderExecuted {
    /// Common header.
    pub header: Header,
    /// Order reference number.
    pub order_ref: u64,
    /// Executed shares.
    pub shares: u32,
    /// Match number.
    pub match_number: u64,
}

/// `C`: order executed at a price of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderExecutedWithPrice {
    /// Common header.
    pub header: Header,
    /// Order reference number.
    pub order_ref: u64,
    /// Executed shares.
    pub shares: u32,
    /// Match number.
    pub match_number: u64,
    /// `Y` printable, `N` not.
    pub printable: u8,
    /// Execution price, 4 implied decimals.
    pub price: u32,
}

/// `X`: part of an order cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderCancel {
    /// Common header.
    pub header: Header,
    /// Order reference number.
    pub order_ref: u64,
    /// Cancelled shares.
    pub shares: u32,
}

/// `D`: order deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderDelete {
    /// Common header.
    pub header: Header,
    /// Order reference number.
    pub order_ref: u64,
}

/// `U`: order replaced (cancel the original, add the new one on the same side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderReplace {
    /// Common header.
    pub header: Header,
    /// The replaced order.
    pub original_ref: u64,
    /// The new order.
    pub new_ref: u64,
    /// New shares.
    pub shares: u32,
    /// New price, 4 implied decimals.
    pub price: u32,
}

/// `P`: trade against a hidden order (non-cross).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    /// Common header.
    pub header: Header,
    /// Order reference number (0 on NASDAQ's feed).
    pub order_ref: u64,
    /// Side of the resting hidden order.
    pub side: ItchSide,
    /// Shares.
    pub shares: u32,
    /// The symbol.
    pub stock: Stock,
    /// Price, 4 implied decimals.
    pub price: u32,
    /// Match number.
    pub match_number: u64,
}

/// One ITCH 5.0 message. Types the gateway does not act on are [`ItchMessage::Other`]: their
/// type and length are checked and their bytes kept, borrowed, so they encode back as they were.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItchMessage<'a> {
    /// `S`.
    SystemEvent(SystemEvent),
    /// `R`.
    StockDirectory(StockDirectory),
    /// `H`.
    TradingAction(TradingAction),
    /// `A` or `F`.
    AddOrder(AddOrder),
    /// `E`.
    OrderExecuted(OrderExecuted),
    /// `C`.
    OrderExecutedWithPrice(OrderExecutedWithPrice),
    /// `X`.
    OrderCancel(OrderCancel),
    /// `D`.
    OrderDelete(OrderDelete),
    /// `U`.
    OrderReplace(OrderReplace),
    /// `P`.
    Trade(Trade),
    /// A known type the gateway skips (`Y L V W K J h Q B I N O`): the whole message.
    Other {
        /// The type byte.
        msg_type: u8,
        /// Common header.
        header: Header,
        /// The whole message, type byte included.
        raw: &'a [u8],
    },
}

fn arr<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[at..at + N]);
    a
}
fn r16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(arr(b, at))
}
fn r32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(arr(b, at))
}
fn r64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(arr(b, at))
}
fn r48(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a[2..].copy_from_slice(&b[at..at + 6]);
    u64::from_be_bytes(a)
}
fn stock(b: &[u8], at: usize) -> Stock {
    Stock(arr(b, at))
}
fn side(b: &[u8], at: usize) -> Result<ItchSide, ItchError> {
    ItchSide::from_byte(b[at]).ok_or(ItchError::BadField {
        msg_type: b[0],
        field: "Buy/Sell Indicator",
        offset: at,
    })
}

/// Checks the type byte and the length of `b` without decoding: the message type.
///
/// # Errors
/// [`ItchError::Empty`], [`ItchError::UnknownType`] or [`ItchError::WrongLength`].
pub fn check(b: &[u8]) -> Result<u8, ItchError> {
    let &t = b.first().ok_or(ItchError::Empty)?;
    let expected = message_len(t).ok_or(ItchError::UnknownType { byte: t, offset: 0 })?;
    if b.len() != expected {
        return Err(ItchError::WrongLength { msg_type: t, expected, actual: b.len() });
    }
    Ok(t)
}

impl<'a> ItchMessage<'a> {
    /// Decodes one message: `b` is exactly the message (a MoldUDP64 length prefix removed).
    ///
    /// # Errors
    /// See [`ItchError`]; the offsets count from `b[0]`.
    pub fn decode(b: &'a [u8]) -> Result<Self, ItchError> {
        let t = check(b)?;
        let header =
            Header { stock_locate: r16(b, 1), tracking_number: r16(b, 3), timestamp: r48(b, 5) };
        Ok(match t {
            b'S' => Self::SystemEvent(SystemEvent { header, event_code: b[BODY] }),
            b'R' => Self::StockDirectory(decode_directory(header, b)),
            b'H' => Self::TradingAction(TradingAction {
                header,
                stock: stock(b, 11),
                state: b[19],
                reserved: b[20],
                reason: arr(b, 21),
            }),
            b'A' | b'F' => Self::AddOrder(AddOrder {
                header,
                order_ref: r64(b, 11),
                side: side(b, 19)?,
                shares: r32(b, 20),
                stock: stock(b, 24),
                price: r32(b, 32),
                attribution: (t == b'F').then(|| arr(b, 36)),
            }),
            b'E' => Self::OrderExecuted(OrderExecuted {
                header,
                order_ref: r64(b, 11),
                shares: r32(b, 19),
                match_number: r64(b, 23),
            }),
            b'C' => Self::OrderExecutedWithPrice(OrderExecutedWithPrice {
                header,
                order_ref: r64(b, 11),
                shares: r32(b, 19),
                match_number: r64(b, 23),
                printable: b[31],
                price: r32(b, 32),
            }),
            b'X' => {
                Self::OrderCancel(OrderCancel { header, order_ref: r64(b, 11), shares: r32(b, 19) })
            }
            b'D' => Self::OrderDelete(OrderDelete { header, order_ref: r64(b, 11) }),
            b'U' => Self::OrderReplace(OrderReplace {
                header,
                original_ref: r64(b, 11),
                new_ref: r64(b, 19),
                shares: r32(b, 27),
                price: r32(b, 31),
            }),
            b'P' => Self::Trade(Trade {
                header,
                order_ref: r64(b, 11),
                side: side(b, 19)?,
                shares: r32(b, 20),
                stock: stock(b, 24),
                price: r32(b, 32),
                match_number: r64(b, 36),
            }),
            _ => Self::Other { msg_type: t, header, raw: b },
        })
    }

    /// The type byte.
    pub fn msg_type(&self) -> u8 {
        match self {
            Self::SystemEvent(_) => b'S',
            Self::StockDirectory(_) => b'R',
            Self::TradingAction(_) => b'H',
            Self::AddOrder(m) if m.attribution.is_some() => b'F',
            Self::AddOrder(_) => b'A',
            Self::OrderExecuted(_) => b'E',
            Self::OrderExecutedWithPrice(_) => b'C',
            Self::OrderCancel(_) => b'X',
            Self::OrderDelete(_) => b'D',
            Self::OrderReplace(_) => b'U',
            Self::Trade(_) => b'P',
            Self::Other { msg_type, .. } => *msg_type,
        }
    }

    /// The common header.
    pub fn header(&self) -> Header {
        match self {
            Self::SystemEvent(m) => m.header,
            Self::StockDirectory(m) => m.header,
            Self::TradingAction(m) => m.header,
            Self::AddOrder(m) => m.header,
            Self::OrderExecuted(m) => m.header,
            Self::OrderExecutedWithPrice(m) => m.header,
            Self::OrderCancel(m) => m.header,
            Self::OrderDelete(m) => m.header,
            Self::OrderReplace(m) => m.header,
            Self::Trade(m) => m.header,
            Self::Other { header, .. } => *header,
        }
    }

    /// The encoded length (the spec's length for the type).
    pub fn len(&self) -> usize {
        match self {
            Self::Other { raw, .. } => raw.len(),
            m => message_len(m.msg_type()).unwrap_or(0),
        }
    }

    /// Always `false`: no message is empty. (For clippy's `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Encodes the message at the start of `out`; returns its length.
    ///
    /// # Errors
    /// [`ItchError::BufferTooSmall`], [`ItchError::OutOfRange`] for a timestamp of 2^48 ns or
    /// more, or the errors of [`check`] for an [`ItchMessage::Other`] whose bytes are not a
    /// valid message.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, ItchError> {
        let t = self.msg_type();
        if let Self::Other { raw, .. } = self {
            check(raw)?;
        }
        let n = self.len();
        let have = out.len();
        let b = out.get_mut(..n).ok_or(ItchError::BufferTooSmall { need: n, have })?;
        let h = self.header();
        if h.timestamp >= TIMESTAMP_LIMIT {
            return Err(ItchError::OutOfRange { msg_type: t, field: "Timestamp" });
        }
        b[0] = t;
        b[1..3].copy_from_slice(&h.stock_locate.to_be_bytes());
        b[3..5].copy_from_slice(&h.tracking_number.to_be_bytes());
        b[5..11].copy_from_slice(&h.timestamp.to_be_bytes()[2..]);
        self.encode_body(b);
        Ok(n)
    }

    /// Writes the fields after the header; `b` is exactly the message's length.
    fn encode_body(&self, b: &mut [u8]) {
        fn put(b: &mut [u8], at: usize, v: &[u8]) {
            b[at..at + v.len()].copy_from_slice(v);
        }
        match self {
            Self::SystemEvent(m) => b[BODY] = m.event_code,
            Self::StockDirectory(m) => encode_directory(m, b),
            Self::TradingAction(m) => {
                put(b, 11, &m.stock.0);
                b[19] = m.state;
                b[20] = m.reserved;
                put(b, 21, &m.reason);
            }
            Self::AddOrder(m) => {
                put(b, 11, &m.order_ref.to_be_bytes());
                b[19] = m.side.byte();
                put(b, 20, &m.shares.to_be_bytes());
                put(b, 24, &m.stock.0);
                put(b, 32, &m.price.to_be_bytes());
                if let Some(a) = m.attribution {
                    put(b, 36, &a);
                }
            }
            Self::OrderExecuted(m) => {
                put(b, 11, &m.order_ref.to_be_bytes());
                put(b, 19, &m.shares.to_be_bytes());
                put(b, 23, &m.match_number.to_be_bytes());
            }
            Self::OrderExecutedWithPrice(m) => {
                put(b, 11, &m.order_ref.to_be_bytes());
                put(b, 19, &m.shares.to_be_bytes());
                put(b, 23, &m.match_number.to_be_bytes());
                b[31] = m.printable;
                put(b, 32, &m.price.to_be_bytes());
            }
            Self::OrderCancel(m) => {
                put(b, 11, &m.order_ref.to_be_bytes());
                put(b, 19, &m.shares.to_be_bytes());
            }
            Self::OrderDelete(m) => put(b, 11, &m.order_ref.to_be_bytes()),
            Self::OrderReplace(m) => {
                put(b, 11, &m.original_ref.to_be_bytes());
                put(b, 19, &m.new_ref.to_be_bytes());
                put(b, 27, &m.shares.to_be_bytes());
                put(b, 31, &m.price.to_be_bytes());
            }
            Self::Trade(m) => {
                put(b, 11, &m.order_ref.to_be_bytes());
                b[19] = m.side.byte();
                put(b, 20, &m.shares.to_be_bytes());
                put(b, 24, &m.stock.0);
                put(b, 32, &m.price.to_be_bytes());
                put(b, 36, &m.match_number.to_be_bytes());
            }
            // The header was written over the same bytes; the rest is the original.
            Self::Other { raw, .. } => put(b, BODY, &raw[BODY..]),
        }
    }
}

fn decode_directory(header: Header, b: &[u8]) -> StockDirectory {
    StockDirectory {
        header,
        stock: stock(b, 11),
        market_category: b[19],
        financial_status: b[20],
        round_lot_size: r32(b, 21),
        round_lots_only: b[25],
        issue_classification: b[26],
        issue_subtype: arr(b, 27),
        authenticity: b[29],
        short_sale_threshold: b[30],
        ipo_flag: b[31],
        luld_tier: b[32],
        etp_flag: b[33],
        etp_leverage: r32(b, 34),
        inverse: b[38],
    }
}

fn encode_directory(m: &StockDirectory, b: &mut [u8]) {
    b[11..19].copy_from_slice(&m.stock.0);
    b[19] = m.market_category;
    b[20] = m.financial_status;
    b[21..25].copy_from_slice(&m.round_lot_size.to_be_bytes());
    b[25] = m.round_lots_only;
    b[26] = m.issue_classification;
    b[27..29].copy_from_slice(&m.issue_subtype);
    b[29] = m.authenticity;
    b[30] = m.short_sale_threshold;
    b[31] = m.ipo_flag;
    b[32] = m.luld_tier;
    b[33] = m.etp_flag;
    b[34..38].copy_from_slice(&m.etp_leverage.to_be_bytes());
    b[38] = m.inverse;
}

#[cfg(test)]
mod tests;
