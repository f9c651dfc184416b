use super::*;

fn sess() -> SessionId {
    SessionId::new("TEST01").unwrap()
}

/// A packet built by hand from the spec layout.
fn by_hand(seq: u64, msgs: &[&[u8]]) -> Vec<u8> {
    let mut v = b"TEST01    ".to_vec();
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&(msgs.len() as u16).to_be_bytes());
    for m in msgs {
        v.extend_from_slice(&(m.len() as u16).to_be_bytes());
        v.extend_from_slice(m);
    }
    v
}

#[test]
fn parses_a_hand_built_packet() {
    let d = by_hand(41, &[b"abc", b"de"]);
    let p = Packet::parse(&d).unwrap();
    assert_eq!(p.session, sess());
    assert_eq!((p.seq, p.count(), p.next_seq(), p.kind), (41, 2, 43, PacketKind::Messages));
    let m: Vec<_> = p.messages().collect();
    assert_eq!(m.len(), 2);
    assert_eq!((m[0].seq, m[0].offset, m[0].bytes), (41, 22, &b"abc"[..]));
    assert_eq!((m[1].seq, m[1].offset, m[1].bytes), (42, 27, &b"de"[..]));
}

#[test]
fn heartbeat_and_end_of_session() {
    let hb = heartbeat(sess(), 9);
    let p = Packet::parse(&hb).unwrap();
    assert_eq!((p.kind, p.seq, p.count(), p.next_seq()), (PacketKind::Heartbeat, 9, 0, 9));
    let eos = end_of_session(sess(), 9);
    let p = Packet::parse(&eos).unwrap();
    assert_eq!((p.kind, p.count()), (PacketKind::EndOfSession, 0));
    assert_eq!(p.messages().count(), 0);
}

#[test]
fn truncation_and_trailing_bytes_name_the_offset() {
    let d = by_hand(41, &[b"abc", b"de"]);
    assert_eq!(Packet::parse(&d[..19]), Err(MoldError::ShortHeader { len: 19 }));
    // Cut inside the second message's body.
    let e = Packet::parse(&d[..d.len() - 1]).unwrap_err();
    assert_eq!(e, MoldError::Truncated { seq: 42, offset: 25, need: 4, have: 3 });
    assert!(e.to_string().contains("byte 25"), "{e}");
    // Cut inside the second length prefix.
    let e = Packet::parse(&d[..26 - 1]).unwrap_err();
    assert_eq!(e, MoldError::Truncated { seq: 42, offset: 25, need: 2, have: 0 });
    let mut long = d.clone();
    long.push(0);
    assert_eq!(Packet::parse(&long), Err(MoldError::TrailingBytes { offset: 29, len: 1 }));
    let zero = by_hand(1, &[b""]);
    assert_eq!(Packet::parse(&zero), Err(MoldError::EmptyMessage { seq: 1, offset: 20 }));
    let over = by_hand(u64::MAX, &[b"a"]);
    assert!(matches!(Packet::parse(&over), Err(MoldError::SequenceOverflow { .. })));
}

#[test]
fn request_round_trip() {
    let r = Request { session: sess(), seq: 1234, count: 17 };
    let b = r.encode();
    assert_eq!(&b[..10], b"TEST01    ");
    assert_eq!(&b[10..18], &1234u64.to_be_bytes());
    assert_eq!(&b[18..], &17u16.to_be_bytes());
    assert_eq!(Request::decode(&b), Ok(r));
    assert_eq!(Request::decode(&b[..19]), Err(MoldError::BadRequestLength { len: 19 }));
}

#[test]
fn builder_fills_up_and_continues() {
    let mut b = PacketBuilder::new(sess(), 1, 100);
    let msg = [7u8; 30];
    b.push_raw(&msg).unwrap();
    b.push_raw(&msg).unwrap();
    // 20 + 2 * 32 = 84: 16 left.
    assert_eq!(b.push_raw(&msg), Err(BuildError::Full { need: 32, left: 16 }));
    let d = b.datagram().to_vec();
    assert_eq!(d, by_hand(1, &[&msg, &msg]));
    b.next_packet();
    assert_eq!((b.seq(), b.count()), (3, 0));
    assert_eq!(b.datagram(), &heartbeat(sess(), 3));
    assert_eq!(b.push_raw(&[0u8; 200]), Err(BuildError::TooLarge { len: 200 }));
    b.restart_at(10);
    b.push_raw(&msg).unwrap();
    assert_eq!(Packet::parse(b.datagram()).unwrap().seq, 10);
}
