//! DBN records: decoded into owned records with their header fields, prices and sizes in tape
//! units.

use dbn::RecordRefEnum;
use lockstep_sdk::{ONE, Price, Qty, Side};

/// Databento's undefined price.
pub(crate) const UNDEF_PRICE: i64 = i64::MAX;
/// Databento's undefined timestamp.
pub(crate) const UNDEF_TS: u64 = u64::MAX;
/// Levels of an MBP-10 record.
pub(crate) const MBP_DEPTH: usize = 10;

/// One side-pair of a book level as Databento writes it: (bid px, bid size, ask px, ask size).
pub(crate) type Pair = (i64, u32, i64, u32);

/// A decoded record, owned (the decoder lends its records only until the next one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rec {
    Mbo {
        action: u8,
        side: u8,
        order_id: u64,
        price: i64,
        size: u32,
    },
    Trade {
        price: i64,
        size: u32,
        side: u8,
    },
    /// Top of book, with the trade it reports (action `T`) if any.
    Top {
        pair: Pair,
        trade: Option<(i64, u32, u8)>,
    },
    /// Ten levels, with the trade it reports if any.
    Depth {
        levels: Box<[Pair; MBP_DEPTH]>,
        trade: Option<(i64, u32, u8)>,
    },
    Def {
        symbol: String,
        tick: i64,
        /// Contract size (`unit_of_measure_qty`, 1e-9 units; `UNDEF_PRICE` or 0 when unset).
        size: i64,
        /// Round lot (`min_lot_size_round_lot`; 0 or below when unset).
        lot: i32,
        /// Currency, as the definition spells it (empty when unset).
        currency: String,
    },
    Other(&'static str),
}

/// A record with its header fields.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub(crate) instrument_id: u32,
    pub(crate) publisher_id: u16,
    /// The venue's message sequence number, for the schemas whose continuity is checked (MBO,
    /// MBP-1/TBBO, MBP-10).
    pub(crate) sequence: Option<u32>,
    pub(crate) ts_event: u64,
    pub(crate) ts_recv: u64,
    pub(crate) flags: u8,
    pub(crate) rec: Rec,
}

/// The first level of a top-of-book record, of either kind.
trait TopLevel {
    fn pair(&self) -> Pair;
}

impl TopLevel for dbn::BidAskPair {
    fn pair(&self) -> Pair {
        (self.bid_px, self.bid_sz, self.ask_px, self.ask_sz)
    }
}

impl TopLevel for dbn::ConsolidatedBidAskPair {
    fn pair(&self) -> Pair {
        (self.bid_px, self.bid_sz, self.ask_px, self.ask_sz)
    }
}

fn c(ch: std::ffi::c_char) -> u8 {
    ch as u8
}

/// The trade a record reports: its price, size and side where its action is `T`.
fn trade_of(
    action: std::ffi::c_char,
    price: i64,
    size: u32,
    side: std::ffi::c_char,
) -> Option<(i64, u32, u8)> {
    (c(action) == b'T').then_some((price, size, c(side)))
}

/// A top-of-book record of `level`, with `trade`.
fn top(level: &impl TopLevel, trade: Option<(i64, u32, u8)>) -> Rec {
    Rec::Top { pair: level.pair(), trade }
}

/// Converts a decoded record.
pub(crate) fn convert(r: RecordRefEnum<'_>) -> Result<Item, String> {
    let sequence = match &r {
        RecordRefEnum::Mbo(m) => Some(m.sequence),
        RecordRefEnum::Mbp1(m) => Some(m.sequence),
        RecordRefEnum::Mbp10(m) => Some(m.sequence),
        _ => None,
    };
    let (hd, ts_recv, flags, rec) = match r {
        RecordRefEnum::Mbo(m) => {
            let (action, side) = (c(m.action), c(m.side));
            let rec = Rec::Mbo { action, side, order_id: m.order_id, price: m.price, size: m.size };
            (m.hd, m.ts_recv, m.flags.raw(), rec)
        }
        RecordRefEnum::Trade(m) => {
            let rec = Rec::Trade { price: m.price, size: m.size, side: c(m.side) };
            (m.hd, m.ts_recv, m.flags.raw(), rec)
        }
        RecordRefEnum::Mbp1(m) => {
            let trade = trade_of(m.action, m.price, m.size, m.side);
            (m.hd, m.ts_recv, m.flags.raw(), top(&m.levels[0], trade))
        }
        RecordRefEnum::Cmbp1(m) => {
            let trade = trade_of(m.action, m.price, m.size, m.side);
            (m.hd, m.ts_recv, m.flags.raw(), top(&m.levels[0], trade))
        }
        // BBO records carry the interval's last trade, not a new one: the quote only.
        RecordRefEnum::Bbo(m) => (m.hd, m.ts_recv, m.flags.raw(), top(&m.levels[0], None)),
        RecordRefEnum::Cbbo(m) => (m.hd, m.ts_recv, m.flags.raw(), top(&m.levels[0], None)),
        RecordRefEnum::Mbp10(m) => {
            let mut levels = Box::new([(UNDEF_PRICE, 0, UNDEF_PRICE, 0); MBP_DEPTH]);
            for (d, s) in levels.iter_mut().zip(m.levels.iter()) {
                *d = s.pair();
            }
            let trade = trade_of(m.action, m.price, m.size, m.side);
            (m.hd, m.ts_recv, m.flags.raw(), Rec::Depth { levels, trade })
        }
        RecordRefEnum::InstrumentDef(m) => {
            let symbol = m.raw_symbol().map_err(|e| format!("instrument definition: {e}"))?;
            let rec = Rec::Def {
                symbol: symbol.to_owned(),
                tick: m.min_price_increment,
                size: m.unit_of_measure_qty,
                lot: m.min_lot_size_round_lot,
                currency: m.currency().unwrap_or("").to_owned(),
            };
            (m.hd, m.ts_recv, 0, rec)
        }
        RecordRefEnum::Ohlcv(m) => (m.hd, UNDEF_TS, 0, Rec::Other("OHLCV bar")),
        RecordRefEnum::Status(m) => (m.hd, m.ts_recv, 0, Rec::Other("status")),
        RecordRefEnum::Imbalance(m) => (m.hd, m.ts_recv, 0, Rec::Other("imbalance")),
        RecordRefEnum::Stat(m) => (m.hd, m.ts_recv, 0, Rec::Other("statistics")),
        RecordRefEnum::Error(m) => (m.hd, UNDEF_TS, 0, Rec::Other("gateway error message")),
        RecordRefEnum::SymbolMapping(m) => (m.hd, UNDEF_TS, 0, Rec::Other("symbol mapping")),
        RecordRefEnum::System(m) => (m.hd, UNDEF_TS, 0, Rec::Other("system message")),
    };
    Ok(Item {
        instrument_id: hd.instrument_id,
        publisher_id: hd.publisher_id,
        sequence,
        ts_event: hd.ts_event,
        ts_recv,
        flags,
        rec,
    })
}

/// `side` byte to a side: `B` bid, `A` ask, anything else none.
pub(crate) fn side_of(b: u8) -> Option<Side> {
    match b {
        b'B' => Some(Side::Buy),
        b'A' => Some(Side::Sell),
        _ => None,
    }
}

/// A Databento price (1e-9 units) on the tape (1e-8); `None` when undefined.
pub(crate) fn price(p: i64) -> Result<Option<Price>, String> {
    if p == UNDEF_PRICE {
        return Ok(None);
    }
    if p % 10 != 0 {
        return Err(format!("price {p} (units of 1e-9) has more than the tape's 8 decimal places"));
    }
    if p < 0 {
        return Err(format!(
            "price {p} (units of 1e-9) is negative; the tape holds prices of 0 and above"
        ));
    }
    Ok(Some(Price(p / 10)))
}

pub(crate) fn qty(s: u32) -> Qty {
    // u32 × 10^8 < 2^63: no overflow.
    Qty(i64::from(s) * ONE)
}

/// Decimal places of a tick of `tick` ×1e-9 (`250000000` → 2).
pub(crate) fn tick_decimals(tick: i64) -> u32 {
    let mut d = 9u32;
    let mut t = tick;
    while d > 0 && t % 10 == 0 {
        t /= 10;
        d -= 1;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_decimals_of_databento_prices() {
        assert_eq!(tick_decimals(250_000_000), 2);
        assert_eq!(tick_decimals(1_000_000_000), 0);
        assert_eq!(tick_decimals(10_000), 5);
        assert_eq!(tick_decimals(1), 9);
    }
}
