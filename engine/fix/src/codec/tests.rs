use super::*;
use crate::fixstr::{Id, Symbol};
use crate::messages::{AppMessage, NewOrderSingle, OrdType, TimeInForce};
use lockstep_sdk::Side;

/// A heartbeat written out by hand: body length 45, checksum 084 (summed separately with a
/// script and pasted here, not produced by our encoder).
const HEARTBEAT: &[u8] =
    b"8=FIX.4.4\x019=45\x0135=0\x0149=A\x0156=B\x0134=1\x0152=20240102-03:04:05.678\x0110=084\x01";

/// Builds a message around `body` with a checksum summed independently of `checksum()`.
fn wrap(body: &str) -> Vec<u8> {
    let mut m = format!("8=FIX.4.4\x019={}\x01{}", body.len(), body).into_bytes();
    let mut sum: u32 = 0;
    for b in &m {
        sum += u32::from(*b);
    }
    m.extend_from_slice(format!("10={:03}\x01", sum % 256).as_bytes());
    m
}

const NS_2024: i64 = 1_704_164_645_678_000_000; // 2024-01-02 03:04:05.678 UTC

#[test]
fn frames_a_hand_built_message() {
    assert_eq!(frame(HEARTBEAT, 1024), Ok(Some(HEARTBEAT.len())));
    let v = MessageView::parse(HEARTBEAT).unwrap();
    assert_eq!(v.msg_type(), b"0");
    assert_eq!(v.seq(), 1);
    assert_eq!(v.get(49), Some(&b"A"[..]));
    assert_eq!(v.get(999), None);
    let tags: Vec<u32> = v.fields().map(|(t, _)| t).collect();
    assert_eq!(tags, [8, 9, 35, 49, 56, 34, 52, 10]);
    assert_eq!(parse_utc_timestamp(v.get(52).unwrap()), Some(NS_2024));
}

#[test]
fn encoder_matches_the_hand_built_bytes() {
    let mut e = Encoder::new();
    let h = Header {
        msg_type: b"0",
        sender: b"A",
        target: b"B",
        seq: 1,
        sending_time_ns: NS_2024 + 999_999, // sub-millisecond digits are truncated
        orig_sending_time_ns: None,
    };
    e.begin(&h);
    assert_eq!(e.finish(), HEARTBEAT);
    // Reusing the buffers gives the same bytes again, with no growth.
    e.begin(&h);
    assert_eq!(e.finish(), HEARTBEAT);
}

#[test]
fn every_malformed_frame_is_named() {
    let good = wrap("35=0\x0149=A\x0156=B\x0134=2\x0152=20240102-03:04:05.678\x01");
    let cs = good.len() - 4;
    let mut bad_cs = good.clone();
    bad_cs[cs + 2] = if bad_cs[cs + 2] == b'9' { b'0' } else { bad_cs[cs + 2] + 1 };
    assert!(
        matches!(frame(&bad_cs, 1024), Err(DecodeError::WrongChecksum { offset, .. }) if offset == cs)
    );
    let mut fmt_cs = good.clone();
    fmt_cs[cs] = b'x';
    assert_eq!(frame(&fmt_cs, 1024), Err(DecodeError::BadChecksumFormat { offset: cs }));
    // BodyLength one too small and one too large.
    let text = String::from_utf8(good.clone()).unwrap();
    assert!(text.contains("\x019=45\x01"));
    let short = text.replacen("9=45", "9=44", 1);
    assert!(matches!(
        frame(short.as_bytes(), 1024),
        Err(DecodeError::BodyLengthMismatch { declared: 44, .. })
    ));
    // Too large a BodyLength first looks like a partial message, then fails once more bytes come.
    let mut long = text.replacen("9=45", "9=46", 1);
    assert_eq!(frame(long.as_bytes(), 1024), Ok(None));
    long.push_str(&text);
    assert!(matches!(
        frame(long.as_bytes(), 1024),
        Err(DecodeError::BodyLengthMismatch { declared: 46, .. })
    ));
    assert_eq!(
        frame(b"8=FIX.4.2\x019=5\x01", 1024),
        Err(DecodeError::BadBeginString { offset: 8 })
    );
    assert_eq!(
        frame(b"8=FIX.4.4\x0135=0\x01", 1024),
        Err(DecodeError::BadBodyLength { offset: 10 })
    );
    assert_eq!(
        frame(b"8=FIX.4.4\x019=1x\x01", 1024),
        Err(DecodeError::BadBodyLength { offset: 13 })
    );
    assert_eq!(frame(&good, 40), Err(DecodeError::TooLarge { needed: good.len(), max: 40 }));
    let e = frame(&bad_cs, 1024).unwrap_err();
    assert!(
        e.to_string().contains("CheckSum (10)") && e.to_string().contains("byte offset"),
        "{e}"
    );
}

#[test]
fn garbled_fields_and_msgtype_position() {
    let garbled = wrap("35=0\x0149=A\x0156=B\x0134=7\x01x=1\x01");
    assert!(matches!(MessageView::parse(&garbled), Err(DecodeError::Garbled { seq: 7, .. })));
    let empty = wrap("35=0\x0149=\x0156=B\x0134=7\x01");
    assert!(matches!(MessageView::parse(&empty), Err(DecodeError::Garbled { .. })));
    let late = wrap("49=A\x0135=0\x0156=B\x0134=7\x01");
    assert!(matches!(MessageView::parse(&late), Err(DecodeError::MsgTypeNotThird { .. })));
    let bad_seq = wrap("35=0\x0149=A\x0156=B\x0134=-1\x01");
    assert!(matches!(MessageView::parse(&bad_seq), Err(DecodeError::BadValue { tag: 34, .. })));
}

#[test]
fn partial_frames_split_at_every_byte() {
    let a = wrap("35=0\x0149=A\x0156=B\x0134=1\x0152=20240102-03:04:05.678\x01");
    let b = wrap("35=1\x0149=A\x0156=B\x0134=2\x0152=20240102-03:04:05.678\x01112=x\x01");
    let stream: Vec<u8> = a.iter().chain(&b).copied().collect();
    for cut in 0..=stream.len() {
        let mut f = Framer::new(256);
        let mut got = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            assert_eq!(f.push(part), part.len());
            while let Some(m) = f.next_message() {
                got.push(m.unwrap().seq());
            }
        }
        assert_eq!(got, [1, 2], "cut at {cut}");
        assert_eq!(f.buffered(), 0);
    }
}

#[test]
fn framer_skips_a_bad_message_and_resyncs() {
    let mut bad = wrap("35=0\x0149=A\x0156=B\x0134=1\x01");
    let n = bad.len();
    bad[n - 2] ^= 1; // break the checksum
    let good = wrap("35=0\x0149=A\x0156=B\x0134=2\x01");
    let mut f = Framer::new(256);
    f.push(b"junk");
    f.push(&bad);
    f.push(&good);
    assert!(matches!(f.next_message(), Some(Err(DecodeError::BadBeginString { .. }))));
    assert!(matches!(f.next_message(), Some(Err(DecodeError::WrongChecksum { .. }))));
    assert_eq!(f.next_message().unwrap().unwrap().seq(), 2);
    assert!(f.next_message().is_none());
}

#[test]
fn prices_and_quantities_are_exact() {
    let cases: [(&[u8], i64); 7] = [
        (b"579.40", 57_940_000_000),
        (b"0.00000001", 1),
        (b"-12.5", -1_250_000_000),
        (b"100", 10_000_000_000),
        (b".5", 50_000_000),
        (b"1.100000000", 110_000_000),
        (b"92233720368.54775807", i64::MAX),
    ];
    for (text, raw) in cases {
        assert_eq!(parse_fixed(text), Some(raw), "{}", String::from_utf8_lossy(text));
    }
    for bad in
        [&b""[..], b"-", b".", b"1.000000001", b"1e5", b"1,5", b"92233720368.54775808", b"--1"]
    {
        assert_eq!(parse_fixed(bad), None, "{}", String::from_utf8_lossy(bad));
    }
    let mut out = Vec::new();
    for (raw, text) in [
        (57_940_000_000, "579.4"),
        (-1, "-0.00000001"),
        (0, "0"),
        (i64::MIN, "-92233720368.54775808"),
    ] {
        out.clear();
        push_fixed(&mut out, raw);
        assert_eq!(out, text.as_bytes());
    }
    assert_eq!(parse_u64(b"18446744073709551616"), None);
    assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
}

#[test]
fn timestamps_format_and_parse() {
    let mut out = Vec::new();
    push_utc_timestamp(&mut out, 0);
    assert_eq!(out, b"19700101-00:00:00.000");
    out.clear();
    push_utc_timestamp(&mut out, 951_782_400_123_000_000); // 2000-02-29 00:00:00.123
    assert_eq!(out, b"20000229-00:00:00.123");
    assert_eq!(parse_utc_timestamp(b"20000229-00:00:00.123"), Some(951_782_400_123_000_000));
    assert_eq!(parse_utc_timestamp(b"20000229-00:00:00"), Some(951_782_400_000_000_000));
    assert_eq!(parse_utc_timestamp(b"20001329-00:00:00"), None);
    assert_eq!(parse_utc_timestamp(b"20000229 00:00:00"), None);
}

fn order() -> NewOrderSingle {
    NewOrderSingle {
        cl_ord_id: Id::from_u64(17),
        symbol: Symbol::from_str("ACME").unwrap(),
        side: Side::Sell,
        qty: lockstep_sdk::Qty(250 * lockstep_sdk::ONE),
        ord_type: OrdType::Limit,
        price: Some(lockstep_sdk::Price(10_125_000_000)),
        time_in_force: Some(TimeInForce::Day),
        transact_time_ns: NS_2024,
    }
}

#[test]
fn app_message_round_trip_and_required_tags() {
    let mut e = Encoder::new();
    let h = Header {
        msg_type: b"D",
        sender: b"GW",
        target: b"VENUE",
        seq: 9,
        sending_time_ns: NS_2024,
        orig_sending_time_ns: None,
    };
    let msg = AppMessage::NewOrderSingle(order());
    e.begin(&h);
    msg.encode_body(&mut e);
    let bytes = e.finish().to_vec();
    assert_eq!(frame(&bytes, 1024), Ok(Some(bytes.len())));
    let v = MessageView::parse(&bytes).unwrap();
    assert_eq!(v.get(44), Some(&b"101.25"[..]));
    assert_eq!(AppMessage::decode(&v), Ok(msg));

    let no_price = wrap(
        "35=D\x0149=GW\x0156=VENUE\x0134=3\x0152=20240102-03:04:05\x0111=1\x0155=X\x0154=1\x0138=1\x0140=2\x0160=20240102-03:04:05\x01",
    );
    let v = MessageView::parse(&no_price).unwrap();
    assert!(matches!(AppMessage::decode(&v), Err(DecodeError::MissingTag { tag: 44, seq: 3, .. })));
    let bad_side = wrap(
        "35=D\x0149=GW\x0156=VENUE\x0134=4\x0152=20240102-03:04:05\x0111=1\x0155=X\x0154=7\x0138=1\x0140=1\x0160=20240102-03:04:05\x01",
    );
    let v = MessageView::parse(&bad_side).unwrap();
    let err = AppMessage::decode(&v).unwrap_err();
    assert!(matches!(err, DecodeError::BadValue { tag: 54, seq: 4, .. }), "{err}");
    assert!(err.to_string().contains("MsgSeqNum 4"), "{err}");
    let bad_qty = wrap(
        "35=D\x0149=GW\x0156=VENUE\x0134=5\x0152=20240102-03:04:05\x0111=1\x0155=X\x0154=1\x0138=1.5.5\x0140=1\x0160=20240102-03:04:05\x01",
    );
    let v = MessageView::parse(&bad_qty).unwrap();
    assert!(matches!(AppMessage::decode(&v), Err(DecodeError::BadValue { tag: 38, .. })));
}
