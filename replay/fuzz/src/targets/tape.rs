//! The tape reader: a tape written by `TapeWriter` from generated instruments and events,
//! read back event by event; whatever reads is written again and must read the same.

use super::refused;
use crate::draw::{G, PRINTABLE, UPPER};
use crate::harness::{Checked, Verdict};
use lockstep_sdk::{Nanos, ONE, Price, Qty, Side};
use lockstep_sim::{
    Compression, Contract, EventSource, InstrumentInfo, MAX_PRICE, MAX_QTY, MarketEvent, TapeError,
    TapeEvent, TapeHeader, TapeReader, TapeWriter,
};
use std::io::Cursor;

/// Generated instruments (ids equal to their index, ticks above 0).
pub(crate) fn instruments(g: &mut G<'_>, n: usize) -> Vec<InstrumentInfo> {
    (0..n)
        .map(|i| InstrumentInfo {
            id: i as u16,
            symbol: g.word(UPPER, 1, 8),
            venue: g.word(PRINTABLE, 0, 8),
            tick_size: Price(g.pick(&[1, 100, 1_000_000, 25_000_000, MAX_PRICE])),
            price_scale: g.u(0, 9) as u32,
            lot_size: Qty(g.pick(&[1, 1_000, ONE, MAX_QTY])),
            contract: Contract {
                multiplier: Qty(g.pick(&[1, ONE, 50 * ONE, MAX_QTY])),
                inverse: g.one_in(4),
            },
            currency: g.word(UPPER, 1, 12),
            time_zone: g.pick(&["UTC", "America/New_York", "Etc/GMT+5"]).to_owned(),
        })
        .collect()
}

/// A price, usually small, sometimes at the bounds.
fn price(g: &mut G<'_>) -> Price {
    if g.one_in(16) { Price(g.pick(&[1, MAX_PRICE])) } else { Price(g.int(1, 1_000_000_000_000)) }
}

/// A quantity above 0, usually small, sometimes at the bound.
fn qty(g: &mut G<'_>) -> Qty {
    if g.one_in(16) { Qty(MAX_QTY) } else { Qty(g.int(1, 1_000_000_000_000)) }
}

/// One market message that obeys the tape's rules.
pub(crate) fn message(g: &mut G<'_>, next_id: &mut u64) -> MarketEvent {
    let side = if g.bool() { Side::Buy } else { Side::Sell };
    let order_id = if g.one_in(4) { g.any_u64() } else { *next_id };
    *next_id += 1;
    let (px, qty) = (price(g), qty(g));
    match g.len(0, 10) {
        0 => MarketEvent::Add { order_id, side, px, qty },
        1 => MarketEvent::Cancel { order_id, side, px, qty },
        2 => MarketEvent::Delete { order_id, side, px, qty },
        3 => MarketEvent::Execute { order_id, side, px, qty },
        4 => MarketEvent::HiddenExecute { side, px, qty },
        5 => MarketEvent::Level { side, px, qty: if g.bool() { qty } else { Qty::ZERO } },
        6 => MarketEvent::Clear,
        7 => MarketEvent::Forget { side, px },
        8 => {
            let ask = if g.one_in(4) { (Price::ZERO, Qty::ZERO) } else { (price(g), self::qty(g)) };
            MarketEvent::Quote { bid_px: px, bid_qty: qty, ask_px: ask.0, ask_qty: ask.1 }
        }
        9 => {
            let aggressor = g.pick(&[None, Some(Side::Buy), Some(Side::Sell)]);
            MarketEvent::Trade { px, qty, aggressor }
        }
        _ => MarketEvent::Status { code: g.int(-128, 127) as i8 },
    }
}

/// `n` events over `instruments` instruments, in local-time order.
pub(crate) fn events(g: &mut G<'_>, instruments: usize, n: usize) -> Vec<TapeEvent> {
    let mut t = g.int(0, 1 << 50);
    let mut next_id = 1;
    (0..n)
        .map(|_| {
            t += g.pick(&[0, 1, 1_000, 1_000_000]);
            let exchange = (t - g.int(0, 50_000)).max(0);
            let flags = u8::from(g.one_in(4));
            let instrument = g.len(0, instruments - 1) as u16;
            let msg = message(g, &mut next_id);
            TapeEvent { exchange_ts: Nanos(exchange), local_ts: Nanos(t), instrument, flags, msg }
        })
        .collect()
}

/// A tape of `events` under `header`.
fn write(
    header: &TapeHeader,
    events: &[TapeEvent],
    compression: Compression,
) -> Result<Vec<u8>, TapeError> {
    let mut w = TapeWriter::new(Cursor::new(Vec::new()), header.clone(), compression)?;
    for e in events {
        w.push(e)?;
    }
    Ok(w.finish_into()?.2.into_inner())
}

/// Every event of a tape.
fn read(bytes: &[u8]) -> Result<(TapeHeader, Vec<TapeEvent>, Compression), TapeError> {
    let mut r = TapeReader::new(bytes)?;
    let (mut all, mut buf) = (Vec::new(), Vec::new());
    while r.next_chunk(&mut buf)? {
        all.extend_from_slice(&buf);
    }
    Ok((r.header().clone(), all, r.compression()))
}

/// A valid tape.
pub(crate) fn generate(g: &mut G<'_>) -> Vec<u8> {
    let n = g.len(1, 3);
    let mut header = TapeHeader::new(g.word(PRINTABLE, 0, 20), instruments(g, n));
    header.chunk_events = g.pick(&[1, 3, 16, 64, 4096]);
    let count = g.len(0, 200);
    let evs = events(g, n, count);
    let compression = if g.bool() { Compression::Deflate } else { Compression::None };
    write(&header, &evs, compression).unwrap_or_default()
}

/// Reads every event; an accepted tape is written again and must read the same.
pub(crate) fn check(bytes: &[u8]) -> Checked {
    let (header, evs, compression) = match read(bytes) {
        Ok(x) => x,
        Err(e) => return refused(e),
    };
    let again = write(&header, &evs, compression)
        .map_err(|e| format!("an accepted tape does not write back: {e}"))?;
    let (h2, ev2, _) =
        read(&again).map_err(|e| format!("an accepted tape, written back, is refused: {e}"))?;
    let same = |a: &TapeHeader, b: &TapeHeader| {
        (a.event_count, &a.source, &a.instruments) == (b.event_count, &b.source, &b.instruments)
    };
    if !same(&header, &h2) || ev2 != evs {
        return Err(format!("tape round trip differs: {} events, then {}", evs.len(), ev2.len()));
    }
    Ok(Verdict::Accepted)
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// Recomputes the header's, each chunk's and the end marker's CRC-32 where the structure
/// still holds together.
#[allow(clippy::ptr_arg, reason = "the signature every target's fixup shares")]
pub(crate) fn fixup(b: &mut Vec<u8>) {
    if b.len() < 16 {
        return;
    }
    let hl = u32_at(b, 12);
    let Some(end) = 16usize.checked_add(hl).filter(|e| e + 4 <= b.len()) else { return };
    let crc = crc32fast::hash(&b[16..end]);
    b[end..end + 4].copy_from_slice(&crc.to_le_bytes());
    let mut at = end + 4;
    while at + 4 <= b.len() {
        if &b[at..at + 4] == b"TEND" && at + 20 <= b.len() {
            let crc = crc32fast::hash(&b[at + 4..at + 16]);
            b[at + 16..at + 20].copy_from_slice(&crc.to_le_bytes());
            return;
        }
        if &b[at..at + 4] != b"CHNK" || at + 28 > b.len() {
            return;
        }
        let stop = at + 28 + u32_at(b, at + 12);
        if stop > b.len() {
            return;
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&b[at + 4..at + 24]);
        h.update(&b[at + 28..stop]);
        b[at + 24..at + 28].copy_from_slice(&h.finalize().to_le_bytes());
        at = stop;
    }
}
