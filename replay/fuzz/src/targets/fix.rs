//! FIX 4.4: a peer's stream (Logon, then application messages of every type the crate
//! decodes and admin messages) written by the crate's `Encoder`, so BodyLength and CheckSum
//! are right. Every framed message is parsed; every application message that decodes must
//! encode to one that decodes the same; then the stream goes through an acceptor `Session`.

use super::refused;
use crate::draw::{G, PRINTABLE, UPPER};
use crate::harness::{Checked, Verdict};
use lockstep_fix::{
    AppMessage, CxlRejResponseTo, Encoder, ExecType, ExecutionReport, Framer, Header, Id,
    MemorySeqStore, MessageView, NewOrderSingle, OrdStatus, OrdType, OrderCancelReject,
    OrderCancelReplaceRequest, OrderCancelRequest, Role, Session, SessionConfig, Symbol, Text,
    TimeInForce,
};
use lockstep_sdk::{Price, Qty, Side};

const BEGIN: &[u8] = b"8=FIX.4.4\x01";
const PEER: &str = "CLIENT";
const US: &str = "VENUE";

/// A byte of `alphabet` that `f` accepts (its first acceptable byte failing that).
fn one_of<T>(g: &mut G<'_>, alphabet: &[u8], f: fn(u8) -> Option<T>) -> T {
    let b = g.pick(alphabet);
    f(b).or_else(|| alphabet.iter().find_map(|&b| f(b))).expect("the alphabet holds a value")
}

fn id(g: &mut G<'_>) -> Id {
    Id::from_str(&g.word(PRINTABLE, 1, 32)).unwrap_or_default()
}

/// Text (58), possibly empty: the encoder leaves an empty one out (it wrote `58=`, which no
/// parser accepts, until this fuzzer found it), so it reads back as absent.
fn text(g: &mut G<'_>) -> Option<Text> {
    g.bool().then(|| Text::lossy(g.word(PRINTABLE, 0, 64).as_bytes()))
}

fn side(g: &mut G<'_>) -> Side {
    if g.bool() { Side::Buy } else { Side::Sell }
}

fn amount(g: &mut G<'_>) -> i64 {
    if g.one_in(16) { g.pick(&[0, 1, i64::MAX]) } else { g.int(0, 1 << 50) }
}

fn price(g: &mut G<'_>) -> Price {
    if g.one_in(16) { Price(g.int(-(1 << 50), -1)) } else { Price(amount(g)) }
}

/// A TransactTime: whole milliseconds (the wire's precision) between 1970 and 2200.
fn time(g: &mut G<'_>) -> i64 {
    g.int(0, 7_258_118_400_000) * 1_000_000
}

/// One application message.
fn app(g: &mut G<'_>) -> AppMessage {
    let symbol = Symbol::from_str(&g.word(UPPER, 1, 16)).unwrap_or_default();
    let ord_type = one_of(g, b"12", OrdType::from_byte);
    let limit = (ord_type == OrdType::Limit || g.bool()).then(|| price(g));
    match g.len(0, 4) {
        0 => AppMessage::NewOrderSingle(NewOrderSingle {
            cl_ord_id: id(g),
            symbol,
            side: side(g),
            qty: Qty(amount(g)),
            ord_type,
            price: limit,
            time_in_force: g.bool().then(|| one_of(g, b"0134", TimeInForce::from_byte)),
            transact_time_ns: time(g),
        }),
        1 => AppMessage::OrderCancelRequest(OrderCancelRequest {
            cl_ord_id: id(g),
            orig_cl_ord_id: id(g),
            symbol,
            side: side(g),
            qty: g.bool().then(|| Qty(amount(g))),
            transact_time_ns: time(g),
        }),
        2 => AppMessage::OrderCancelReplaceRequest(OrderCancelReplaceRequest {
            cl_ord_id: id(g),
            orig_cl_ord_id: id(g),
            symbol,
            side: side(g),
            qty: Qty(amount(g)),
            ord_type,
            price: limit,
            transact_time_ns: time(g),
        }),
        3 => AppMessage::ExecutionReport(ExecutionReport {
            order_id: id(g),
            cl_ord_id: id(g),
            orig_cl_ord_id: g.bool().then(|| id(g)),
            exec_id: id(g),
            exec_type: one_of(g, b"0123456789ABCDEFGHI", ExecType::from_byte),
            ord_status: one_of(g, b"0123456789ABCDE", OrdStatus::from_byte),
            symbol,
            side: side(g),
            order_qty: Qty(amount(g)),
            price: limit,
            last_qty: Qty(amount(g)),
            last_px: price(g),
            leaves_qty: Qty(amount(g)),
            cum_qty: Qty(amount(g)),
            avg_px: price(g),
            ord_rej_reason: g.bool().then(|| g.u(0, u64::from(u32::MAX)) as u32),
            text: text(g),
        }),
        _ => AppMessage::OrderCancelReject(OrderCancelReject {
            order_id: id(g),
            cl_ord_id: id(g),
            orig_cl_ord_id: id(g),
            ord_status: one_of(g, b"0123456789ABCDE", OrdStatus::from_byte),
            response_to: one_of(g, b"12", CxlRejResponseTo::from_byte),
            reason: g.bool().then(|| g.u(0, u64::from(u32::MAX)) as u32),
            text: text(g),
        }),
    }
}

/// Encodes one message of `msg_type` from the peer with `body`.
fn encode(
    e: &mut Encoder,
    out: &mut Vec<u8>,
    msg_type: &[u8],
    seq: u64,
    body: impl FnOnce(&mut Encoder),
) {
    let h = Header {
        msg_type,
        sender: PEER.as_bytes(),
        target: US.as_bytes(),
        seq,
        sending_time_ns: 1_700_000_000_000_000_000 + seq as i64 * 1_000_000,
        orig_sending_time_ns: None,
    };
    e.begin(&h);
    body(e);
    out.extend_from_slice(e.finish());
}

/// A peer's stream: Logon, then application and admin messages.
pub(crate) fn generate(g: &mut G<'_>) -> Vec<u8> {
    let (mut e, mut out) = (Encoder::new(), Vec::new());
    encode(&mut e, &mut out, b"A", 1, |e| {
        e.u64(98, 0);
        e.u64(108, 30);
    });
    let last = 2 + g.len(0, 20) as u64;
    for seq in 2..last {
        match g.len(0, 7) {
            0 => encode(&mut e, &mut out, b"0", seq, |_| {}),
            1 => encode(&mut e, &mut out, b"1", seq, |e| e.str(112, b"TEST")),
            2 => {
                let from = g.u(1, seq);
                encode(&mut e, &mut out, b"2", seq, |e| {
                    e.u64(7, from);
                    e.u64(16, 0);
                });
            }
            _ => {
                let m = app(g);
                encode(&mut e, &mut out, m.msg_type(), seq, |e| m.encode_body(e));
            }
        }
    }
    if g.one_in(4) {
        encode(&mut e, &mut out, b"5", last, |_| {});
    }
    out
}

/// `m` with its TransactTime (60), if it has one, set to `f` of it.
fn map_time(m: &AppMessage, f: impl Fn(i64) -> i64) -> AppMessage {
    let mut m = *m;
    match &mut m {
        AppMessage::NewOrderSingle(o) => o.transact_time_ns = f(o.transact_time_ns),
        AppMessage::OrderCancelRequest(o) => o.transact_time_ns = f(o.transact_time_ns),
        AppMessage::OrderCancelReplaceRequest(o) => o.transact_time_ns = f(o.transact_time_ns),
        _ => {}
    }
    m
}

/// The time a UTCTimestamp field can carry: whole milliseconds from 1970 to 9999.
fn encodable(ns: i64) -> i64 {
    ns.div_euclid(1_000_000).clamp(0, 253_402_300_799_999) * 1_000_000
}

/// A decoded application message, encoded again and decoded: the same message, or why not.
/// The decoder takes TransactTimes the encoder cannot write (before 1970, or finer than a
/// millisecond): such a message comes back with the time the encoder could write, normalised
/// rather than lost (findings of this fuzzer, reported).
fn round_trip(m: &AppMessage) -> Result<Option<String>, String> {
    let (mut e, mut out) = (Encoder::new(), Vec::new());
    encode(&mut e, &mut out, m.msg_type(), 7, |e| m.encode_body(e));
    let view = MessageView::parse(&out).map_err(|err| format!("re-encoded {m:?}: {err}"))?;
    match AppMessage::decode(&view) {
        Ok(again) if again == *m => Ok(None),
        Ok(again) if again == map_time(m, encodable) => {
            Ok(Some(format!("a TransactTime became {:?}", map_time(&again, |t| t))))
        }
        Ok(again) => Err(format!("FIX round trip differs: {m:?} became {again:?}")),
        Err(err) => Err(format!("FIX round trip refused {m:?}: {err}")),
    }
}

/// Frames and parses every message, decodes the application messages, then runs the stream
/// through an acceptor session.
pub(crate) fn check(bytes: &[u8]) -> Checked {
    let mut framer = Framer::new(8192);
    let (mut messages, mut first_error, mut normalized) = (0, None::<String>, None);
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = framer.push(rest);
        rest = &rest[n..];
        while let Some(m) = framer.next_message() {
            let view = match m {
                Ok(v) => v,
                Err(e) => {
                    first_error.get_or_insert_with(|| e.to_string());
                    continue;
                }
            };
            messages += 1;
            let _ = (view.fields().count(), view.msg_type_text(), view.seq());
            if AppMessage::is_app_type(view.msg_type()) {
                match AppMessage::decode(&view) {
                    Ok(m) => normalized = normalized.or(round_trip(&m)?),
                    Err(e) => {
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
        }
        if n == 0 {
            break;
        }
    }
    session(bytes);
    match first_error {
        Some(e) => refused(e),
        None if messages == 0 => refused("no complete message"),
        None if normalized.is_some() => Ok(Verdict::Normalized(normalized.unwrap_or_default())),
        None => Ok(Verdict::Accepted),
    }
}

/// Feeds the stream to an acceptor session in two pieces, then lets time pass.
fn session(bytes: &[u8]) {
    let (Some(us), Some(peer)) = (Text::from_str(US), Text::from_str(PEER)) else { return };
    let mut cfg = SessionConfig::new(Role::Acceptor, us, peer);
    cfg.resend_capacity = 4;
    let Ok(mut s) = Session::new(cfg, MemorySeqStore::default()) else { return };
    let now = 1_700_000_000_000_000_000;
    s.accept(now);
    let (mut out, mut events) = (Vec::new(), Vec::new());
    let (a, b) = bytes.split_at(bytes.len() / 3);
    let _ = s.receive(a, now, &mut out, &mut events);
    let _ = s.receive(b, now + 1_000, &mut out, &mut events);
    let _ = s.tick(now + 100_000_000_000, &mut out, &mut events);
}

/// Rewrites each message's BodyLength and CheckSum to match its bytes.
pub(crate) fn fixup(b: &mut Vec<u8>) {
    let mut starts: Vec<usize> =
        b.windows(BEGIN.len()).enumerate().filter(|(_, w)| *w == BEGIN).map(|(i, _)| i).collect();
    if starts.is_empty() {
        return;
    }
    starts.push(b.len());
    let mut out = b[..starts[0]].to_vec();
    for w in starts.windows(2) {
        let seg = &b[w[0]..w[1]];
        out.extend_from_slice(&fix_one(seg).unwrap_or_else(|| seg.to_vec()));
    }
    *b = out;
}

/// One message with its BodyLength and CheckSum recomputed, if it still has both fields.
fn fix_one(seg: &[u8]) -> Option<Vec<u8>> {
    let after = seg.get(BEGIN.len()..)?;
    let digits = after.strip_prefix(b"9=")?;
    let soh = digits.iter().position(|&c| c == 1)?;
    let body = &digits[soh + 1..];
    let end = body.windows(4).rposition(|w| w == b"\x0110=")? + 1;
    let mut out = BEGIN.to_vec();
    out.extend_from_slice(format!("9={}\x01", end).as_bytes());
    out.extend_from_slice(&body[..end]);
    let sum = out.iter().fold(0u8, |a, &c| a.wrapping_add(c));
    out.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    Some(out)
}
