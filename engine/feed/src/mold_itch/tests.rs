use super::*;
use crate::itch::{AddOrder, Header, ItchSide, Stock};
use crate::mold::{PacketBuilder, end_of_session, heartbeat};
use lockstep_sim::{FuzzRng, MarketEvent, fuzz_cases};

fn sess() -> SessionId {
    SessionId::new("SESS1").unwrap()
}

fn add(seq: u64) -> ItchMessage<'static> {
    ItchMessage::AddOrder(AddOrder {
        header: Header { stock_locate: 1 + (seq % 2) as u16, tracking_number: 0, timestamp: seq },
        order_ref: seq,
        side: ItchSide::Buy,
        shares: 10,
        stock: Stock::new("AB").unwrap(),
        price: 10_000,
        attribution: None,
    })
}

/// A packet of adds for sequence numbers `seq .. seq + n` (order id = sequence number).
fn pkt(seq: u64, n: u64) -> Vec<u8> {
    let mut b = PacketBuilder::new(sess(), seq, 1400);
    for s in seq..seq + n {
        b.push(&add(s)).unwrap();
    }
    b.datagram().to_vec()
}

fn handler(gap_slots: usize) -> MoldItchHandler {
    MoldItchHandler::new(HandlerConfig {
        gap_slots,
        order_capacity: 1024,
        request_timeout: Nanos(100),
        ..HandlerConfig::default()
    })
}

/// Feeds `d` at `t`: the outcome and the events.
fn feed(h: &mut MoldItchHandler, d: &[u8], t: i64) -> (DatagramOutcome, Vec<FeedEvent>) {
    let mut ev = Vec::new();
    let o = h.on_datagram(d, Nanos(t), &mut |e| ev.push(e)).unwrap();
    (o, ev)
}

fn order_ids(ev: &[FeedEvent]) -> Vec<u64> {
    ev.iter()
        .filter_map(|e| match e {
            FeedEvent::Tape(t) => match t.msg {
                MarketEvent::Add { order_id, .. } => Some(order_id),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[test]
fn in_order_and_duplicates() {
    let mut h = handler(4);
    let (o, ev) = feed(&mut h, &pkt(1, 3), 10);
    assert_eq!((o.status, o.delivered, o.request), (PacketStatus::Delivered, 3, None));
    assert_eq!(order_ids(&ev), [1, 2, 3]);
    let (o, ev) = feed(&mut h, &pkt(1, 3), 11);
    assert_eq!((o.status, o.delivered, ev.len()), (PacketStatus::Duplicate, 0, 0));
    // Overlapping: 3 is old, 4 and 5 are new.
    let (o, ev) = feed(&mut h, &pkt(3, 3), 12);
    assert_eq!((o.status, order_ids(&ev)), (PacketStatus::Delivered, vec![4, 5]));
    let c = h.counters();
    assert_eq!((c.datagrams, c.messages, c.duplicates, c.gaps), (3, 5, 1, 0));
    assert_eq!(h.expected(), Some(6));
}

#[test]
fn gap_recovered_by_retransmission() {
    let mut h = handler(4);
    feed(&mut h, &pkt(1, 2), 10);
    let (o, ev) = feed(&mut h, &pkt(5, 2), 11);
    assert_eq!(o.status, PacketStatus::Buffered);
    assert!(ev.is_empty());
    let r = o.request.unwrap();
    assert_eq!((r.session, r.seq, r.count), (sess(), 3, 2));
    // Another packet behind the gap: no second request while one is pending.
    let (o, _) = feed(&mut h, &pkt(7, 1), 12);
    assert_eq!((o.status, o.request), (PacketStatus::Buffered, None));
    // The retransmission arrives.
    let (o, ev) = feed(&mut h, &pkt(3, 2), 13);
    assert_eq!((o.status, o.delivered, o.request), (PacketStatus::Delivered, 5, None));
    assert_eq!(order_ids(&ev), [3, 4, 5, 6, 7]);
    let c = h.counters();
    assert_eq!((c.gaps, c.requests, c.recovered, c.unrecoverable, c.buffered), (1, 1, 1, 0, 2));
    assert_eq!(h.poll(Nanos(1_000), &mut |_| panic!()), None);
}

#[test]
fn reordered_packets_come_out_in_order() {
    let mut h = handler(8);
    let mut all = Vec::new();
    for (seq, t) in [(1, 0), (7, 1), (4, 2), (9, 3), (2, 4), (3, 5), (8, 6), (5, 7), (6, 8)] {
        let (_, ev) = feed(&mut h, &pkt(seq, 1), t);
        all.extend(order_ids(&ev));
    }
    assert_eq!(all, (1..=9).collect::<Vec<_>>());
    assert_eq!(h.counters().unrecoverable, 0);
}

#[test]
fn gap_not_recovered_halts_with_a_reason() {
    let mut h = handler(4);
    feed(&mut h, &pkt(1, 2), 0);
    let (o, _) = feed(&mut h, &pkt(5, 2), 10);
    assert_eq!(o.request.map(|r| r.seq), Some(3));
    assert_eq!(h.poll(Nanos(50), &mut |_| panic!()), None, "not yet timed out");
    assert_eq!(h.poll(Nanos(110), &mut |_| panic!()).map(|r| (r.seq, r.count)), Some((3, 2)));
    assert!(h.poll(Nanos(210), &mut |_| panic!()).is_some());
    let mut ev = Vec::new();
    assert_eq!(h.poll(Nanos(310), &mut |e| ev.push(e)), None);
    let reason = HaltReason::GapUnrecoverable { seq: 3, count: 2, attempts: 3 };
    assert_eq!(ev, [FeedEvent::Halt { scope: HaltScope::All, reason }]);
    assert!(reason.to_string().contains("3..5"), "{reason}");
    assert!(h.is_halted());
    // The buffered packet was passed over (suppressed) and the handler follows the live edge.
    assert_eq!(h.expected(), Some(7));
    let (o, ev) = feed(&mut h, &pkt(7, 1), 400);
    assert_eq!((o.delivered, ev.len()), (1, 0));
    let c = *h.counters();
    assert_eq!((c.unrecoverable, c.skipped, c.suppressed, c.requests), (1, 2, 3, 3));
    h.resume();
    let (_, ev) = feed(&mut h, &pkt(8, 1), 500);
    assert_eq!(order_ids(&ev), [8]);
}

#[test]
fn full_gap_buffer_halts_and_skips_to_the_live_packet() {
    let mut h = handler(2);
    feed(&mut h, &pkt(1, 1), 0);
    feed(&mut h, &pkt(3, 1), 1);
    feed(&mut h, &pkt(4, 1), 2);
    let (o, ev) = feed(&mut h, &pkt(6, 1), 3);
    assert_eq!(o.status, PacketStatus::Delivered);
    let reason = HaltReason::GapBufferFull { seq: 2, count: 1, slots: 2 };
    assert_eq!(ev, [FeedEvent::Halt { scope: HaltScope::All, reason }]);
    assert_eq!(h.expected(), Some(7));
    assert_eq!(h.counters().skipped, 2);
}

#[test]
fn malformed_datagrams_are_errors_with_offsets_and_the_handler_goes_on() {
    let mut h = handler(4);
    feed(&mut h, &pkt(1, 1), 0);
    let good = pkt(2, 2);
    let e = h.on_datagram(&good[..good.len() - 3], Nanos(1), &mut |_| panic!()).unwrap_err();
    assert!(
        matches!(e, FeedError::Mold(crate::mold::MoldError::Truncated { seq: 3, offset: 58, .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("byte 58"), "{e}");
    let mut bad = good.clone();
    bad[58 + 2] = b'z'; // the second message's type byte
    let e = h.on_datagram(&bad, Nanos(2), &mut |_| panic!()).unwrap_err();
    assert_eq!(
        e,
        FeedError::Itch {
            seq: 3,
            offset: 60,
            error: ItchError::UnknownType { byte: b'z', offset: 0 }
        }
    );
    assert!(e.to_string().contains("0x7a") && e.to_string().contains("byte 60"), "{e}");
    let other = crate::mold::heartbeat(SessionId::new("OTHER").unwrap(), 2);
    assert!(matches!(
        h.on_datagram(&other, Nanos(3), &mut |_| panic!()),
        Err(FeedError::WrongSession { .. })
    ));
    let (_, ev) = feed(&mut h, &good, 4);
    assert_eq!(order_ids(&ev), [2, 3]);
    let c = h.counters();
    assert_eq!((c.malformed, c.unknown_types, c.messages), (3, 1, 3));
}

#[test]
fn heartbeat_reveals_a_gap_and_end_of_session_waits_for_it() {
    let mut h = handler(4);
    feed(&mut h, &pkt(1, 1), 0);
    let (o, _) = feed(&mut h, &heartbeat(sess(), 4), 1);
    assert_eq!(
        (o.status, o.request.map(|r| (r.seq, r.count))),
        (PacketStatus::Heartbeat, Some((2, 2)))
    );
    let (o, ev) = feed(&mut h, &end_of_session(sess(), 4), 2);
    assert_eq!((o.status, ev.len()), (PacketStatus::EndOfSession, 0));
    let (_, ev) = feed(&mut h, &pkt(2, 2), 3);
    assert_eq!(order_ids(&ev), [2, 3]);
    assert!(matches!(ev.last(), Some(FeedEvent::EndOfSession { local_ts: Nanos(3), .. })));
    assert_eq!(h.counters().heartbeats, 1);
}

#[test]
fn fuzz_mutated_datagrams_never_panic() {
    let base: Vec<Vec<u8>> = (0..6).map(|i| pkt(1 + 3 * i, 3)).collect();
    for case in 0..fuzz_cases(3_000) {
        let mut rng = FuzzRng::new(case);
        let mut h = handler(3);
        for _ in 0..8 {
            let mut d = base[rng.below(base.len())].clone();
            rng.mutate(&mut d);
            let t = Nanos(rng.below(1_000) as i64);
            let _ = h.on_datagram(&d, t, &mut |_| {});
            let _ = h.poll(Nanos(t.0 + 150), &mut |_| {});
        }
        let c = h.counters();
        assert_eq!(c.datagrams, 8);
    }
}

#[test]
fn a_recorded_sequence_played_into_a_fresh_handler_gives_the_same_events_and_position() {
    let mut a = handler(4);
    a.record_sequence(true);
    let mut first = Vec::new();
    // In order, a duplicate, a gap filled by a retransmission, a gap given up on, the end.
    for (d, t) in [(pkt(1, 3), 1), (pkt(1, 3), 2), (pkt(6, 2), 3), (pkt(4, 2), 4), (pkt(12, 1), 5)]
    {
        first.extend(feed(&mut a, &d, t).1);
    }
    for t in [200, 400, 600, 800] {
        let _ = a.poll(Nanos(t), &mut |e| first.push(e));
    }
    first.extend(feed(&mut a, &end_of_session(sess(), 13), 900).1);
    let mut tap = Vec::new();
    a.take_sequence(&mut tap);
    assert!(first.iter().any(|e| matches!(e, FeedEvent::Halt { .. })), "{first:?}");
    let mut b = handler(4);
    let mut again = Vec::new();
    let n = b.replay_sequence(&tap, &mut |e| again.push(e)).unwrap();
    assert_eq!(again, first);
    assert_eq!(n, a.counters().messages);
    assert_eq!(b.expected(), a.expected());
    // A damaged recording is refused at the offending record, not played on.
    let mut bad = tap.clone();
    bad[0] = 9;
    let e = handler(4).replay_sequence(&bad, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("at byte 0: unknown record kind"), "{e}");
    let cut = handler(4).replay_sequence(&tap[..tap.len() - 3], &mut |_| {}).unwrap_err();
    assert!(matches!(cut, FeedError::Recording { .. }), "{cut}");
}

#[test]
fn with_drop_when_full_a_full_gap_buffer_defers_instead_of_giving_up() {
    let mut h = MoldItchHandler::new(HandlerConfig {
        gap_slots: 1,
        order_capacity: 1024,
        drop_when_full: true,
        max_request: 3,
        ..HandlerConfig::default()
    });
    assert_eq!(order_ids(&feed(&mut h, &pkt(1, 1), 1).1), vec![1]);
    // 5 waits in the one slot; 6 and 7 find it full and are dropped, not a halt.
    let (o, _) = feed(&mut h, &pkt(5, 1), 2);
    assert_eq!(
        (o.status, o.request.map(|r| (r.seq, r.count))),
        (PacketStatus::Buffered, Some((2, 3)))
    );
    for s in [6, 7] {
        let (o, ev) = feed(&mut h, &pkt(s, 1), 3);
        assert_eq!((o.status, ev.len()), (PacketStatus::Deferred, 0));
    }
    // The retransmission of 2..5 releases 5; the rest (6, 7) is asked for next, a window at a
    // time, and arrives.
    let (o, ev) = feed(&mut h, &pkt(2, 3), 4);
    assert_eq!(order_ids(&ev), vec![2, 3, 4, 5]);
    assert_eq!(o.request.map(|r| (r.seq, r.count)), Some((6, 2)));
    let (_, ev) = feed(&mut h, &pkt(6, 2), 5);
    assert_eq!(order_ids(&ev), vec![6, 7]);
    let c = h.counters();
    assert_eq!((c.deferred, c.unrecoverable, h.expected()), (2, 0, Some(8)));
}
