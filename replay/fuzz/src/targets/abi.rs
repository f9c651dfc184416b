//! The ABI records: a 32-byte regions descriptor, a 328-byte book record, then 64-byte records
//! that are actions and events in turn. Every record that decodes must encode back to a
//! record that decodes to the same value.

use super::refused;
use crate::draw::G;
use crate::harness::{Checked, Verdict};
use lockstep_sdk::{
    ACTION_SIZE, Action, ActionRecord, BOOK_LEVELS, BOOK_SIZE, BookRecord, BookView, Canceled,
    EVENT_SIZE, Event, EventBody, EventHeader, EventRecord, Fill, Level, Nanos, OrderAck, Price,
    Qty, Quote, REGIONS_SIZE, Regions, Reject, Side, Trade,
};

fn side(g: &mut G<'_>) -> Side {
    if g.bool() { Side::Buy } else { Side::Sell }
}

fn int(g: &mut G<'_>) -> i64 {
    if g.one_in(8) { g.pick(&[i64::MIN, -1, 0, i64::MAX]) } else { g.int(-1 << 40, 1 << 40) }
}

fn action(g: &mut G<'_>) -> Action {
    let (instrument, order_id) = (g.u(0, u64::from(u16::MAX)) as u16, g.any_u64());
    let (px, qty) = (Price(int(g)), Qty(int(g)));
    match g.len(0, 5) {
        0 => Action::PlaceLimit { instrument, order_id, side: side(g), px, qty },
        1 => Action::PlaceMarket { instrument, order_id, side: side(g), qty },
        2 => Action::Cancel { instrument, order_id },
        3 => Action::Replace { instrument, order_id, px, qty },
        4 => Action::SetTimer { timer_id: order_id, at: Nanos(int(g)) },
        _ => Action::Signal { instrument, id: g.u(0, u64::from(u32::MAX)) as u32, value: int(g) },
    }
}

fn level(g: &mut G<'_>) -> Level {
    Level { px: Price(int(g)), qty: Qty(int(g)) }
}

fn event(g: &mut G<'_>) -> Event {
    let h = EventHeader {
        seq: g.any_u64(),
        instrument: g.u(0, u64::from(u16::MAX)) as u16,
        exchange_ts: Nanos(int(g)),
        local_ts: Nanos(int(g)),
    };
    let order_id = g.any_u64();
    let body = match g.len(0, 7) {
        0 => EventBody::Quote(Quote { bid: level(g), ask: level(g) }),
        1 => {
            let aggressor = g.pick(&[None, Some(Side::Buy), Some(Side::Sell)]);
            EventBody::Trade(Trade { px: Price(int(g)), qty: Qty(int(g)), aggressor })
        }
        2 => EventBody::Book(Quote { bid: level(g), ask: level(g) }),
        3 => EventBody::OrderAck(OrderAck {
            order_id,
            side: side(g),
            px: Price(int(g)),
            qty: Qty(int(g)),
        }),
        4 => EventBody::Fill(Fill {
            order_id,
            side: side(g),
            px: Price(int(g)),
            qty: Qty(int(g)),
            leaves: Qty(int(g)),
        }),
        5 => EventBody::Reject(Reject { order_id, reason: g.u(0, u64::from(u32::MAX)) as u32 }),
        6 => EventBody::Canceled(Canceled { order_id, qty: Qty(int(g)) }),
        _ => EventBody::Timer(order_id),
    };
    Event { h, body }
}

/// Regions, a book record, then actions and events in turn.
pub(crate) fn generate(g: &mut G<'_>) -> Vec<u8> {
    let mut r = [0u32; 7];
    r.iter_mut().for_each(|v| *v = g.u(0, u64::from(u32::MAX)) as u32);
    r[0] = lockstep_sdk::ABI_VERSION;
    let regions = Regions {
        abi_version: r[0],
        event_ptr: r[1],
        action_ptr: r[2],
        action_cap: r[3],
        book_ptr: r[4],
        params_ptr: r[5],
        params_cap: r[6],
    };
    let mut out = regions.encode().to_vec();
    let mut book = BookRecord::default();
    let bids: Vec<Level> = (0..g.len(0, BOOK_LEVELS)).map(|_| level(g)).collect();
    let asks: Vec<Level> = (0..g.len(0, BOOK_LEVELS)).map(|_| level(g)).collect();
    book.write(g.u(0, 9) as u16, &bids, &asks);
    out.extend_from_slice(&book.0);
    for i in 0..g.len(0, 16) {
        if i % 2 == 0 {
            out.extend_from_slice(&action(g).encode().0);
        } else {
            out.extend_from_slice(&event(g).encode().0);
        }
    }
    out
}

/// Decodes the regions, walks the book view, and decodes each record; whatever decodes must
/// survive a re-encoding.
pub(crate) fn check(bytes: &[u8]) -> Checked {
    let Some(head) = bytes.get(..REGIONS_SIZE) else { return refused("shorter than regions") };
    let regions = Regions::decode(head.try_into().map_err(|_| "regions")?);
    if Regions::decode(&regions.encode()) != regions {
        return Err(format!("regions round trip differs: {regions:?}"));
    }
    let rest = &bytes[REGIONS_SIZE..];
    let Some(book) = rest.get(..BOOK_SIZE) else { return refused("shorter than a book record") };
    let view = BookView::new(book);
    let _ = view.instrument();
    for i in 0..=BOOK_LEVELS {
        let _ = (view.bid(i), view.ask(i));
    }
    let mut first_error = None;
    for (i, rec) in rest[BOOK_SIZE..].chunks(ACTION_SIZE.max(EVENT_SIZE)).enumerate() {
        let Ok(rec) = <[u8; 64]>::try_from(rec) else {
            first_error.get_or_insert_with(|| "a record cut short".to_owned());
            continue;
        };
        let err = if i % 2 == 0 {
            let a = ActionRecord(rec).decode();
            if let Ok(a) = a
                && a.encode().decode() != Ok(a)
            {
                return Err(format!("action round trip differs: {a:?}"));
            }
            a.err()
        } else {
            let e = EventRecord(rec).decode();
            if let Ok(e) = e
                && e.encode().decode() != Ok(e)
            {
                return Err(format!("event round trip differs: {e:?}"));
            }
            e.err()
        };
        if let Some(err) = err {
            first_error.get_or_insert_with(|| err.to_string());
        }
    }
    match first_error {
        Some(e) => refused(e),
        None => Ok(Verdict::Accepted),
    }
}
