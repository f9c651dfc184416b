use super::*;

/// Header bytes built by hand: type, locate, tracking, 6-byte timestamp.
fn head(t: u8, locate: u16, tracking: u16, ts: u64) -> Vec<u8> {
    let mut v = vec![t];
    v.extend_from_slice(&locate.to_be_bytes());
    v.extend_from_slice(&tracking.to_be_bytes());
    v.extend_from_slice(&ts.to_be_bytes()[2..]);
    assert_eq!(v.len(), 11);
    v
}

const TS: u64 = 34_200_000_000_123; // 09:30:00.000000123
const H: Header = Header { stock_locate: 7, tracking_number: 3, timestamp: TS };

fn round_trip(bytes: &[u8], expect: ItchMessage<'_>) {
    let m = ItchMessage::decode(bytes).unwrap();
    assert_eq!(m, expect);
    assert_eq!(m.len(), bytes.len());
    let mut out = [0u8; 64];
    let n = m.encode(&mut out).unwrap();
    assert_eq!(&out[..n], bytes, "encode of {:?}", m.msg_type() as char);
}

#[test]
fn add_order_from_spec_layout() {
    let mut b = head(b'A', 7, 3, TS);
    b.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes()); // @11 order ref
    b.push(b'S'); // @19 side
    b.extend_from_slice(&100u32.to_be_bytes()); // @20 shares
    b.extend_from_slice(b"AAPL    "); // @24 stock
    b.extend_from_slice(&1_895_000u32.to_be_bytes()); // @32 price 189.5000
    assert_eq!(b.len(), 36);
    let expect = AddOrder {
        header: H,
        order_ref: 0x0102_0304_0506_0708,
        side: ItchSide::Sell,
        shares: 100,
        stock: Stock::new("AAPL").unwrap(),
        price: 1_895_000,
        attribution: None,
    };
    round_trip(&b, ItchMessage::AddOrder(expect));
    b[0] = b'F';
    b.extend_from_slice(b"GSCO"); // @36 attribution
    round_trip(&b, ItchMessage::AddOrder(AddOrder { attribution: Some(*b"GSCO"), ..expect }));
    assert_eq!(Stock::new("AAPL").unwrap().as_str(), Some("AAPL"));
}

#[test]
fn order_messages_from_spec_layout() {
    let mut e = head(b'E', 7, 3, TS);
    e.extend_from_slice(&42u64.to_be_bytes());
    e.extend_from_slice(&30u32.to_be_bytes());
    e.extend_from_slice(&9_999u64.to_be_bytes());
    let me = OrderExecuted { header: H, order_ref: 42, shares: 30, match_number: 9_999 };
    round_trip(&e, ItchMessage::OrderExecuted(me));

    let mut c = head(b'C', 7, 3, TS);
    c.extend_from_slice(&42u64.to_be_bytes());
    c.extend_from_slice(&30u32.to_be_bytes());
    c.extend_from_slice(&9_999u64.to_be_bytes());
    c.push(b'Y');
    c.extend_from_slice(&1_000_100u32.to_be_bytes());
    let mc = OrderExecutedWithPrice {
        header: H,
        order_ref: 42,
        shares: 30,
        match_number: 9_999,
        printable: b'Y',
        price: 1_000_100,
    };
    round_trip(&c, ItchMessage::OrderExecutedWithPrice(mc));

    let mut x = head(b'X', 7, 3, TS);
    x.extend_from_slice(&42u64.to_be_bytes());
    x.extend_from_slice(&5u32.to_be_bytes());
    round_trip(&x, ItchMessage::OrderCancel(OrderCancel { header: H, order_ref: 42, shares: 5 }));

    let mut d = head(b'D', 7, 3, TS);
    d.extend_from_slice(&42u64.to_be_bytes());
    round_trip(&d, ItchMessage::OrderDelete(OrderDelete { header: H, order_ref: 42 }));

    let mut u = head(b'U', 7, 3, TS);
    u.extend_from_slice(&42u64.to_be_bytes());
    u.extend_from_slice(&43u64.to_be_bytes());
    u.extend_from_slice(&200u32.to_be_bytes());
    u.extend_from_slice(&990_000u32.to_be_bytes());
    let mu = OrderReplace { header: H, original_ref: 42, new_ref: 43, shares: 200, price: 990_000 };
    round_trip(&u, ItchMessage::OrderReplace(mu));

    let mut p = head(b'P', 7, 3, TS);
    p.extend_from_slice(&0u64.to_be_bytes());
    p.push(b'B');
    p.extend_from_slice(&300u32.to_be_bytes());
    p.extend_from_slice(b"MSFT    ");
    p.extend_from_slice(&4_100_000u32.to_be_bytes());
    p.extend_from_slice(&77u64.to_be_bytes());
    assert_eq!(p.len(), 44);
    let mp = Trade {
        header: H,
        order_ref: 0,
        side: ItchSide::Buy,
        shares: 300,
        stock: Stock::new("MSFT").unwrap(),
        price: 4_100_000,
        match_number: 77,
    };
    round_trip(&p, ItchMessage::Trade(mp));
}

#[test]
fn system_directory_and_trading_action_from_spec_layout() {
    let mut s = head(b'S', 0, 0, TS);
    s.push(b'O');
    let ms = SystemEvent {
        header: Header { stock_locate: 0, tracking_number: 0, ..H },
        event_code: b'O',
    };
    round_trip(&s, ItchMessage::SystemEvent(ms));

    let mut r = head(b'R', 7, 3, TS);
    r.extend_from_slice(b"ZVZZT   "); // @11
    r.extend_from_slice(b"QN"); // @19 market category, @20 financial status
    r.extend_from_slice(&100u32.to_be_bytes()); // @21 round lot
    r.extend_from_slice(b"NCZ PNN2N"); // @25..@33: lots only, class, subtype(2), auth, ssti, ipo, luld, etp
    r.extend_from_slice(&0u32.to_be_bytes()); // @34 leverage
    r.push(b'N'); // @38 inverse
    assert_eq!(r.len(), 39);
    let mr = StockDirectory {
        header: H,
        stock: Stock::new("ZVZZT").unwrap(),
        market_category: b'Q',
        financial_status: b'N',
        round_lot_size: 100,
        round_lots_only: b'N',
        issue_classification: b'C',
        issue_subtype: *b"Z ",
        authenticity: b'P',
        short_sale_threshold: b'N',
        ipo_flag: b'N',
        luld_tier: b'2',
        etp_flag: b'N',
        etp_leverage: 0,
        inverse: b'N',
    };
    round_trip(&r, ItchMessage::StockDirectory(mr));

    let mut h = head(b'H', 7, 3, TS);
    h.extend_from_slice(b"ZVZZT   ");
    h.extend_from_slice(b"H LUDP");
    let mh = TradingAction {
        header: H,
        stock: Stock::new("ZVZZT").unwrap(),
        state: b'H',
        reserved: b' ',
        reason: *b"LUDP",
    };
    round_trip(&h, ItchMessage::TradingAction(mh));
}

#[test]
fn other_known_types_are_kept_and_re_encoded() {
    // 'Y' Reg SHO restriction: 20 bytes.
    let mut y = head(b'Y', 7, 3, TS);
    y.extend_from_slice(b"ZVZZT   0");
    let m = ItchMessage::decode(&y).unwrap();
    assert!(matches!(m, ItchMessage::Other { msg_type: b'Y', header: H, .. }));
    let mut out = [0u8; 20];
    assert_eq!(m.encode(&mut out).unwrap(), 20);
    assert_eq!(&out[..], &y[..]);
}

#[test]
fn every_listed_length_decodes() {
    for t in b"SRHYLVWKJhAFECXDUPQBINO" {
        let n = message_len(*t).unwrap();
        let mut b = vec![b'B'; n];
        b[0] = *t;
        let m = ItchMessage::decode(&b).unwrap();
        assert_eq!(m.msg_type(), *t);
        assert_eq!(m.len(), n);
    }
}

#[test]
fn truncated_wrong_length_unknown_type_and_bad_side() {
    assert_eq!(ItchMessage::decode(&[]), Err(ItchError::Empty));
    let mut d = head(b'D', 7, 3, TS);
    d.extend_from_slice(&42u64.to_be_bytes());
    assert_eq!(
        ItchMessage::decode(&d[..18]),
        Err(ItchError::WrongLength { msg_type: b'D', expected: 19, actual: 18 })
    );
    d.push(0);
    assert_eq!(
        ItchMessage::decode(&d),
        Err(ItchError::WrongLength { msg_type: b'D', expected: 19, actual: 20 })
    );
    d[0] = b'z';
    let e = ItchMessage::decode(&d).unwrap_err();
    assert_eq!(e, ItchError::UnknownType { byte: b'z', offset: 0 });
    assert!(e.to_string().contains("0x7a"), "{e}");

    let mut a = vec![b'A'; 36];
    a[19] = b'Q';
    let e = ItchMessage::decode(&a).unwrap_err();
    assert_eq!(e, ItchError::BadField { msg_type: b'A', field: "Buy/Sell Indicator", offset: 19 });
}

#[test]
fn encode_errors() {
    let m = ItchMessage::OrderDelete(OrderDelete { header: H, order_ref: 1 });
    let mut small = [0u8; 18];
    assert_eq!(m.encode(&mut small), Err(ItchError::BufferTooSmall { need: 19, have: 18 }));
    let big = ItchMessage::OrderDelete(OrderDelete {
        header: Header { timestamp: TIMESTAMP_LIMIT, ..H },
        order_ref: 1,
    });
    let mut out = [0u8; 19];
    assert!(matches!(big.encode(&mut out), Err(ItchError::OutOfRange { .. })));
    assert_eq!(Stock::new("TOOLONGSYM"), None);
}
