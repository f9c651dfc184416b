use super::*;

fn info(id: InstrumentId, symbol: &str) -> InstrumentInfo {
    InstrumentInfo {
        id,
        symbol: symbol.into(),
        venue: VENUE.into(),
        tick_size: Price(PRICE_FACTOR),
        price_scale: 4,
        lot_size: Qty(ONE),
        contract: lockstep_sim::Contract::LINEAR,
        currency: "USD".into(),
        time_zone: "America/New_York".into(),
    }
}

fn px(units: i64) -> Price {
    Price(units * ONE)
}

fn ev(t: i64, msg: MarketEvent) -> TapeEvent {
    TapeEvent::new(Nanos(t), Nanos(t + 5), 0, msg)
}

/// Publishes `events`, decodes each message from its bytes and maps it back.
fn through_itch(events: &[TapeEvent]) -> (Vec<TapeEvent>, TapeMapper) {
    let mut p = ItchPublisher::new(&[info(0, "AAPL")], Nanos(0), 64).unwrap();
    let mut m = TapeMapper::new(64, Nanos(0));
    let mut out = Vec::new();
    for e in events {
        let msg = p.encode(e).unwrap();
        let mut buf = [0u8; 64];
        let n = msg.encode(&mut buf).unwrap();
        let back = ItchMessage::decode(&buf[..n]).unwrap();
        m.on_message(&back, e.local_ts, &mut |f| match f {
            FeedEvent::Tape(t) => out.push(t),
            other => panic!("{other:?}"),
        });
    }
    (out, m)
}

#[test]
fn l3_events_round_trip() {
    let events = [
        ev(1, MarketEvent::Add { order_id: 1, side: Side::Buy, px: px(100), qty: Qty(10 * ONE) }),
        ev(2, MarketEvent::Add { order_id: 2, side: Side::Sell, px: px(101), qty: Qty(5 * ONE) }),
        ev(3, MarketEvent::Cancel { order_id: 1, side: Side::Buy, px: px(100), qty: Qty(3 * ONE) }),
        ev(
            4,
            MarketEvent::Execute { order_id: 1, side: Side::Buy, px: px(100), qty: Qty(2 * ONE) },
        ),
        ev(5, MarketEvent::Delete { order_id: 1, side: Side::Buy, px: px(100), qty: Qty(5 * ONE) }),
        ev(6, MarketEvent::HiddenExecute { side: Side::Sell, px: px(99), qty: Qty(7 * ONE) }),
        ev(7, MarketEvent::Status { code: -1 }),
        ev(8, MarketEvent::Status { code: 1 }),
    ];
    let (back, m) = through_itch(&events);
    assert_eq!(back, events);
    assert_eq!(m.counters().unknown_orders, 0);
}

#[test]
fn execute_at_another_price_becomes_cancel_and_hidden_print() {
    let add = MarketEvent::Add { order_id: 9, side: Side::Sell, px: px(101), qty: Qty(5 * ONE) };
    let exe =
        MarketEvent::Execute { order_id: 9, side: Side::Sell, px: px(100), qty: Qty(2 * ONE) };
    let (back, _) = through_itch(&[ev(1, add), ev(2, exe)]);
    assert_eq!(back.len(), 3);
    assert_eq!(
        back[1].msg,
        MarketEvent::Cancel { order_id: 9, side: Side::Sell, px: px(101), qty: Qty(2 * ONE) }
    );
    assert!(back[1].more());
    assert_eq!(
        back[2].msg,
        MarketEvent::HiddenExecute { side: Side::Sell, px: px(100), qty: Qty(2 * ONE) }
    );
}

#[test]
fn replace_is_delete_then_add_on_the_same_side() {
    let mut m = TapeMapper::new(4, Nanos(1_000));
    let h = Header { stock_locate: 3, tracking_number: 0, timestamp: 10 };
    let mut got = Vec::new();
    let mut out = |f: FeedEvent| got.push(f);
    let add = itch::AddOrder {
        header: h,
        order_ref: 5,
        side: ItchSide::Buy,
        shares: 100,
        stock: Stock::new("X").unwrap(),
        price: 12_345,
        attribution: None,
    };
    m.on_message(&ItchMessage::AddOrder(add), Nanos(2_000), &mut out);
    let u =
        itch::OrderReplace { header: h, original_ref: 5, new_ref: 6, shares: 50, price: 12_000 };
    m.on_message(&ItchMessage::OrderReplace(u), Nanos(2_001), &mut out);
    let d = itch::OrderDelete { header: h, order_ref: 5 };
    m.on_message(&ItchMessage::OrderDelete(d), Nanos(2_002), &mut out);
    let tape: Vec<_> = got
        .iter()
        .map(|f| match f {
            FeedEvent::Tape(t) => *t,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(tape.len(), 3);
    assert_eq!(
        (tape[0].instrument, tape[0].exchange_ts, tape[0].local_ts),
        (2, Nanos(1_010), Nanos(2_000))
    );
    assert_eq!(
        tape[1].msg,
        MarketEvent::Delete {
            order_id: 5,
            side: Side::Buy,
            px: Price(123_450_000),
            qty: Qty(100 * ONE)
        }
    );
    assert!(tape[1].more());
    assert_eq!(
        tape[2].msg,
        MarketEvent::Add {
            order_id: 6,
            side: Side::Buy,
            px: Price(120_000_000),
            qty: Qty(50 * ONE)
        }
    );
    assert_eq!(m.counters().unknown_orders, 1, "the delete of the replaced order");
}

#[test]
fn directory_end_of_session_halt_and_full_table() {
    let mut p = ItchPublisher::new(&[info(0, "ZVZZT")], Nanos(0), 4).unwrap();
    let mut m = TapeMapper::new(1, Nanos(0));
    let mut got = Vec::new();
    let r = p.stock_directory(0, Nanos(1)).unwrap();
    m.on_message(&r, Nanos(2), &mut |f| got.push(f));
    assert_eq!(got, [FeedEvent::Instrument(info(0, "ZVZZT"))]);
    got.clear();
    let add =
        |id| ev(3, MarketEvent::Add { order_id: id, side: Side::Buy, px: px(1), qty: Qty(ONE) });
    for id in [1, 2] {
        let msg = p.encode(&add(id)).unwrap();
        m.on_message(&msg, Nanos(4), &mut |f| got.push(f));
    }
    assert_eq!(got.len(), 1);
    assert_eq!(m.counters().order_table_full, 1);
    m.halt();
    let msg = p.encode(&add(3)).unwrap();
    m.on_message(&msg, Nanos(4), &mut |f| got.push(f));
    assert_eq!((got.len(), m.counters().suppressed), (1, 1));
    for _ in 0..2 {
        let c = p.system_event(b'C', Nanos(9)).unwrap();
        m.on_message(&c, Nanos(10), &mut |f| got.push(f));
    }
    assert_eq!(got[1], FeedEvent::EndOfSession { exchange_ts: Nanos(9), local_ts: Nanos(10) });
    assert_eq!(got.len(), 2, "end of session once");
}

#[test]
fn publisher_refuses_what_itch_cannot_say() {
    let mut p = ItchPublisher::new(&[info(0, "AAPL")], Nanos(0), 4).unwrap();
    let l2 = ev(1, MarketEvent::Level { side: Side::Buy, px: px(1), qty: Qty(ONE) });
    let e = p.encode(&l2).unwrap_err();
    assert_eq!(e, PublishError::NotOrderByOrder { kind: "Level" });
    assert!(e.to_string().contains("L3"), "{e}");
    assert_eq!(
        p.encode(&ev(1, MarketEvent::Clear)),
        Err(PublishError::NotOrderByOrder { kind: "Clear" })
    );
    let odd = MarketEvent::Add { order_id: 1, side: Side::Buy, px: Price(1), qty: Qty(ONE) };
    assert!(matches!(p.encode(&ev(1, odd)), Err(PublishError::Price { .. })));
    let frac = MarketEvent::Add { order_id: 1, side: Side::Buy, px: px(1), qty: Qty(ONE / 2) };
    assert!(matches!(p.encode(&ev(1, frac)), Err(PublishError::Qty { .. })));
    let del = MarketEvent::Delete { order_id: 7, side: Side::Buy, px: px(1), qty: Qty(ONE) };
    assert_eq!(p.encode(&ev(1, del)), Err(PublishError::UnknownOrder { order_id: 7 }));
    assert!(matches!(
        p.encode(&ev(-1, MarketEvent::Status { code: 1 })),
        Err(PublishError::Time { .. })
    ));
    let mut other = ev(1, MarketEvent::Status { code: 1 });
    other.instrument = 3;
    assert_eq!(p.encode(&other), Err(PublishError::UnknownInstrument { instrument: 3 }));
    assert!(matches!(
        ItchPublisher::new(&[info(0, "WAY-TOO-LONG")], Nanos(0), 1),
        Err(PublishError::Symbol { instrument: 0 })
    ));
}
