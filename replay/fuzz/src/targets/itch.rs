//! MoldUDP64 and ITCH 5.0: datagrams (each behind a big-endian `u16` length) built by
//! `PacketBuilder` from ITCH messages of every type: stock directory entries first, then an
//! order flow whose executes, cancels, deletes and replaces name live orders. Every packet
//! and message is parsed; every message that decodes must encode to its very bytes; then the
//! datagrams go through a `MoldItchHandler` (sequencing, gaps, the order table).

use super::refused;
use crate::draw::G;
use crate::harness::{Checked, Verdict};
use lockstep_feed::{
    FeedHandler, HandlerConfig, ItchMessage, MoldItchHandler, Packet, PacketBuilder, Request,
    SessionId, end_of_session, heartbeat, message_len,
};
use lockstep_sdk::Nanos;

/// Every ITCH 5.0 type byte.
const TYPES: &[u8] = b"SRHYLVWKJhAFECXDUPQBINO";

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

/// One message of type `t` for `locate`, its order references drawn from `live`.
fn message(g: &mut G<'_>, t: u8, locate: u16, live: &mut Vec<u64>, next: &mut u64) -> Vec<u8> {
    let n = message_len(t).unwrap_or(12);
    let mut b: Vec<u8> = (0..n).map(|_| g.u(0, 255) as u8).collect();
    b[0] = t;
    put(&mut b, 1, &locate.to_be_bytes());
    let pick = |g: &mut G<'_>, live: &Vec<u64>| {
        if live.is_empty() || g.one_in(8) { g.any_u64() } else { live[g.len(0, live.len() - 1)] }
    };
    match t {
        b'A' | b'F' | b'P' => {
            *next += 1;
            live.push(*next);
            put(&mut b, 11, &next.to_be_bytes());
            b[19] = g.pick(b"BS");
            put(&mut b, 20, &(g.u(1, 10_000) as u32).to_be_bytes());
            put(&mut b, 24, b"GOOG    ");
            put(&mut b, 32, &(g.u(1, 5_000_000) as u32).to_be_bytes());
        }
        b'E' | b'C' | b'X' => {
            put(&mut b, 11, &pick(g, live).to_be_bytes());
            put(&mut b, 19, &(g.u(1, 100) as u32).to_be_bytes());
        }
        b'D' => put(&mut b, 11, &pick(g, live).to_be_bytes()),
        b'U' => {
            put(&mut b, 11, &pick(g, live).to_be_bytes());
            *next += 1;
            live.push(*next);
            put(&mut b, 19, &next.to_be_bytes());
        }
        b'R' | b'H' => put(&mut b, 11, format!("SYM{locate:<5}").as_bytes()),
        _ => {}
    }
    b
}

/// Datagrams of a session: directory entries, then an order flow; now and then a heartbeat
/// or the end of the session.
pub(crate) fn generate(g: &mut G<'_>) -> Vec<u8> {
    let session = SessionId::new("FUZZ000001").unwrap_or(SessionId([b' '; 10]));
    let mut b = PacketBuilder::new(session, 1, g.pick(&[100, 400, 1400]));
    let (mut live, mut next) = (Vec::new(), 0u64);
    let mut msgs: Vec<Vec<u8>> =
        (1..=3).map(|l| message(g, b'R', l, &mut live, &mut next)).collect();
    for _ in 0..g.len(0, 60) {
        let t = if g.bool() { g.pick(b"AFEXDUCP") } else { g.pick(TYPES) };
        let locate = g.u(1, 3) as u16;
        msgs.push(message(g, t, locate, &mut live, &mut next));
    }
    let mut out = Vec::new();
    let emit = |d: &[u8], out: &mut Vec<u8>| {
        out.extend_from_slice(&(d.len() as u16).to_be_bytes());
        out.extend_from_slice(d);
    };
    for raw in &msgs {
        let Ok(m) = ItchMessage::decode(raw) else { continue };
        if b.push(&m).is_err() {
            emit(b.datagram(), &mut out);
            b.next_packet();
            let _ = b.push(&m);
        }
    }
    if !b.is_empty() {
        emit(b.datagram(), &mut out);
    }
    if g.bool() {
        emit(&heartbeat(session, b.next_seq()), &mut out);
    }
    if g.bool() {
        emit(&end_of_session(session, b.next_seq()), &mut out);
    }
    out
}

/// The datagrams of an input: each behind its `u16` length (the last one takes what is left).
pub(crate) fn datagrams(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while bytes.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([bytes[0], bytes[1]])).min(bytes.len() - 2);
        out.push(&bytes[2..2 + n]);
        bytes = &bytes[2 + n..];
    }
    out
}

/// Parses every packet and message (each decoded message must encode to its bytes), then
/// feeds the datagrams to a feed handler.
pub(crate) fn check(bytes: &[u8]) -> Checked {
    let grams = datagrams(bytes);
    let mut first_error: Option<String> = None;
    for d in &grams {
        let _ = Request::decode(d);
        let p = match Packet::parse(d) {
            Ok(p) => p,
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
                continue;
            }
        };
        for m in p.messages() {
            match ItchMessage::decode(m.bytes) {
                Ok(msg) => {
                    let mut buf = [0u8; 64];
                    let n = msg
                        .encode(&mut buf)
                        .map_err(|e| format!("a decoded message does not encode: {e}"))?;
                    if &buf[..n] != m.bytes {
                        return Err(format!("ITCH round trip differs: {msg:?}"));
                    }
                }
                Err(e) => {
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
    let cfg = HandlerConfig {
        first_seq: None,
        order_capacity: 64,
        gap_slots: 4,
        ..HandlerConfig::default()
    };
    let mut h = MoldItchHandler::new(cfg);
    for (i, d) in grams.iter().enumerate() {
        let t = Nanos(i as i64 * 1_000_000);
        let _ = h.on_datagram(d, t, &mut |_| {});
        let _ = h.poll(Nanos(t.0 + 60_000_000), &mut |_| {});
    }
    match first_error {
        Some(e) => refused(e),
        None if grams.is_empty() => refused("no datagram"),
        None => Ok(Verdict::Accepted),
    }
}
