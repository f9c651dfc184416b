//! The fixed-layout event record of a chunk payload (tape format 2): 56 little-endian bytes
//! per event, read with plain loads instead of a per-field deserializer.
//!
//! ```text
//! 0  u8  kind (1 add, 2 cancel, 3 delete, 4 execute, 5 hidden execute, 6 level, 7 clear,
//!         8 forget, 9 quote, 10 trade, 11 status)
//! 1  u8  flags (FLAG_MORE)
//! 2  u16 instrument
//! 4  u8  side: 1 buy, 2 sell; a trade's aggressor, 0 when unknown; 0 where the kind has none
//! 5  3 bytes zero
//! 8  i64 exchange time, ns
//! 16 i64 local time, ns
//! 24 i64 a: order id (add, cancel, delete, execute), bid price (quote), status code
//! 32 i64 b: price, bid quantity (quote)
//! 40 i64 c: quantity, ask price (quote)
//! 48 i64 d: ask quantity (quote)
//! ```
//!
//! Fields a kind does not use are zero, and a record that breaks any of these rules is refused
//! with what is wrong, so a corrupt chunk never decodes into a plausible event.

use crate::market::{MarketEvent, TapeEvent};
use lockstep_sdk::{Nanos, Price, Qty, Side};

/// Bytes of one event record.
pub(crate) const RECORD_LEN: usize = 56;

const ADD: u8 = 1;
const CANCEL: u8 = 2;
const DELETE: u8 = 3;
const EXECUTE: u8 = 4;
const HIDDEN: u8 = 5;
const LEVEL: u8 = 6;
const CLEAR: u8 = 7;
const FORGET: u8 = 8;
const QUOTE: u8 = 9;
const TRADE: u8 = 10;
const STATUS: u8 = 11;

fn side_byte(s: Option<Side>) -> u8 {
    s.map_or(0, Side::to_u8)
}

/// Appends `ev`'s record to `out`.
pub(crate) fn encode(ev: &TapeEvent, out: &mut Vec<u8>) {
    use MarketEvent as M;
    let order = |id: u64| id as i64;
    let (kind, side, a, b, c, d) = match ev.msg {
        M::Add { order_id, side, px, qty } => (ADD, Some(side), order(order_id), px.0, qty.0, 0),
        M::Cancel { order_id, side, px, qty } => {
            (CANCEL, Some(side), order(order_id), px.0, qty.0, 0)
        }
        M::Delete { order_id, side, px, qty } => {
            (DELETE, Some(side), order(order_id), px.0, qty.0, 0)
        }
        M::Execute { order_id, side, px, qty } => {
            (EXECUTE, Some(side), order(order_id), px.0, qty.0, 0)
        }
        M::HiddenExecute { side, px, qty } => (HIDDEN, Some(side), 0, px.0, qty.0, 0),
        M::Level { side, px, qty } => (LEVEL, Some(side), 0, px.0, qty.0, 0),
        M::Clear => (CLEAR, None, 0, 0, 0, 0),
        M::Forget { side, px } => (FORGET, Some(side), 0, px.0, 0, 0),
        M::Quote { bid_px, bid_qty, ask_px, ask_qty } => {
            (QUOTE, None, bid_px.0, bid_qty.0, ask_px.0, ask_qty.0)
        }
        M::Trade { px, qty, aggressor } => (TRADE, aggressor, 0, px.0, qty.0, 0),
        M::Status { code } => (STATUS, None, i64::from(code), 0, 0, 0),
    };
    let mut r = [0u8; RECORD_LEN];
    r[0] = kind;
    r[1] = ev.flags;
    r[2..4].copy_from_slice(&ev.instrument.to_le_bytes());
    r[4] = side_byte(side);
    for (at, v) in [(8, ev.exchange_ts.0), (16, ev.local_ts.0), (24, a), (32, b), (40, c), (48, d)]
    {
        r[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&r);
}

#[inline]
fn i64_at(r: &[u8; RECORD_LEN], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&r[at..at + 8]);
    i64::from_le_bytes(b)
}

/// The event of one record, or what is wrong with it.
pub(crate) fn decode(r: &[u8; RECORD_LEN]) -> Result<TapeEvent, String> {
    use MarketEvent as M;
    if r[5..8] != [0, 0, 0] {
        return Err("reserved bytes 5..8 are not zero".into());
    }
    let (a, b, c, d) = (i64_at(r, 24), i64_at(r, 32), i64_at(r, 40), i64_at(r, 48));
    let side = || Side::from_u8(r[4]).ok_or_else(|| format!("side byte {} is not 1 or 2", r[4]));
    let unused = |fields: &[i64]| {
        if fields.iter().all(|&v| v == 0) && (r[4] == 0 || matches!(r[0], TRADE)) {
            Ok(())
        } else {
            Err(format!("kind {} has data in fields it does not use", r[0]))
        }
    };
    let msg = match r[0] {
        k @ (ADD | CANCEL | DELETE | EXECUTE) => {
            if d != 0 {
                return Err(format!("kind {k} has data in fields it does not use"));
            }
            let (order_id, side, px, qty) = (a as u64, side()?, Price(b), Qty(c));
            match k {
                ADD => M::Add { order_id, side, px, qty },
                CANCEL => M::Cancel { order_id, side, px, qty },
                DELETE => M::Delete { order_id, side, px, qty },
                _ => M::Execute { order_id, side, px, qty },
            }
        }
        k @ (HIDDEN | LEVEL | FORGET) => {
            if a != 0 || d != 0 || (k == FORGET && c != 0) {
                return Err(format!("kind {k} has data in fields it does not use"));
            }
            let (side, px, qty) = (side()?, Price(b), Qty(c));
            match k {
                HIDDEN => M::HiddenExecute { side, px, qty },
                LEVEL => M::Level { side, px, qty },
                _ => M::Forget { side, px },
            }
        }
        CLEAR => unused(&[a, b, c, d]).map(|()| M::Clear)?,
        QUOTE => unused(&[]).map(|()| M::Quote {
            bid_px: Price(a),
            bid_qty: Qty(b),
            ask_px: Price(c),
            ask_qty: Qty(d),
        })?,
        TRADE => {
            unused(&[a, d])?;
            let aggressor = match r[4] {
                0 => None,
                _ => Some(side()?),
            };
            M::Trade { px: Price(b), qty: Qty(c), aggressor }
        }
        STATUS => {
            unused(&[b, c, d])?;
            let code = i8::try_from(a).map_err(|_| format!("status code {a} is not an i8"))?;
            M::Status { code }
        }
        k => return Err(format!("event kind {k} is not defined")),
    };
    Ok(TapeEvent {
        exchange_ts: Nanos(i64_at(r, 8)),
        local_ts: Nanos(i64_at(r, 16)),
        instrument: u16::from_le_bytes([r[2], r[3]]),
        flags: r[1],
        msg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::ONE;

    fn every_kind() -> Vec<MarketEvent> {
        use MarketEvent as M;
        let (px, qty) = (Price(123 * ONE), Qty(7));
        vec![
            M::Add { order_id: u64::MAX, side: Side::Buy, px, qty },
            M::Cancel { order_id: 1, side: Side::Sell, px, qty },
            M::Delete { order_id: 2, side: Side::Buy, px, qty },
            M::Execute { order_id: 3, side: Side::Sell, px, qty },
            M::HiddenExecute { side: Side::Buy, px, qty },
            M::Level { side: Side::Sell, px, qty: Qty(0) },
            M::Clear,
            M::Forget { side: Side::Buy, px },
            M::Quote { bid_px: px, bid_qty: qty, ask_px: Price(124 * ONE), ask_qty: Qty(9) },
            M::Trade { px, qty, aggressor: None },
            M::Trade { px, qty, aggressor: Some(Side::Sell) },
            M::Status { code: -1 },
        ]
    }

    #[test]
    fn every_kind_round_trips() {
        for (i, msg) in every_kind().into_iter().enumerate() {
            let ev = TapeEvent {
                exchange_ts: Nanos(-5 + i as i64),
                local_ts: Nanos(i64::MAX - i as i64),
                instrument: 65_535,
                flags: (i % 2) as u8,
                msg,
            };
            let mut out = Vec::new();
            encode(&ev, &mut out);
            let r: &[u8; RECORD_LEN] = out.as_slice().try_into().unwrap();
            assert_eq!(decode(r), Ok(ev), "{msg:?}");
        }
    }

    #[test]
    fn broken_records_are_refused_with_the_reason() {
        let ev = |msg| TapeEvent {
            exchange_ts: Nanos(1),
            local_ts: Nanos(2),
            instrument: 0,
            flags: 0,
            msg,
        };
        let mut out = Vec::new();
        encode(&ev(every_kind()[0]), &mut out);
        let good: [u8; RECORD_LEN] = out.as_slice().try_into().unwrap();
        let with = |at: usize, v: u8| {
            let mut r = good;
            r[at] = v;
            decode(&r).unwrap_err()
        };
        assert_eq!(with(0, 99), "event kind 99 is not defined");
        assert_eq!(with(4, 3), "side byte 3 is not 1 or 2");
        assert_eq!(with(6, 1), "reserved bytes 5..8 are not zero");
        assert!(with(48, 1).contains("does not use"));
        out.clear();
        encode(&ev(MarketEvent::Clear), &mut out);
        let mut clear: [u8; RECORD_LEN] = out.as_slice().try_into().unwrap();
        clear[33] = 1;
        assert!(decode(&clear).unwrap_err().contains("does not use"));
        out.clear();
        encode(&ev(MarketEvent::Status { code: 1 }), &mut out);
        let mut status: [u8; RECORD_LEN] = out.as_slice().try_into().unwrap();
        status[24..32].copy_from_slice(&300i64.to_le_bytes());
        assert_eq!(decode(&status).unwrap_err(), "status code 300 is not an i8");
    }
}
