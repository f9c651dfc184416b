//! Unit tests of the book.

use super::*;

#[test]
fn a_level_total_that_would_overflow_is_refused_not_a_panic() {
    let mut b = Book::new();
    let big = Qty(i64::MAX - 5);
    let px = Price(100 * lockstep_sdk::ONE);
    assert!(b.apply(&MarketEvent::Add { order_id: 1, side: Side::Buy, px, qty: big }).changed);
    let add = MarketEvent::Add { order_id: 2, side: Side::Buy, px, qty: Qty(10) };
    let e = b.try_apply(&add).unwrap_err();
    assert_eq!(e, LevelOverflow { side: Side::Buy, px, level: big, add: Qty(10) });
    assert_eq!(
        e.to_string(),
        "adding 0.0000001 to the Buy level at 100, which holds 92233720368.54775802, overflows the level's total quantity (at most 92233720368.54775807)"
    );
    assert_eq!(b.stats().invalid, 0, "try_apply refuses, it does not count");
    let a = b.apply(&add);
    assert!(!a.changed);
    assert_eq!(b.stats().invalid, 1);
    assert_eq!(b.qty_at(Side::Buy, px), big);
    b.check().unwrap();
    let a = b.apply(&MarketEvent::Delete { order_id: 1, side: Side::Buy, px, qty: big });
    assert_eq!(a.removed, big);
    assert_eq!(b.depth(Side::Buy), 0);
    b.check().unwrap();
}

fn px(p: i64) -> Price {
    Price(p * 1_000_000)
}
fn add(id: u64, side: Side, p: i64, q: i64) -> MarketEvent {
    MarketEvent::Add { order_id: id, side, px: px(p), qty: Qty(q) }
}

#[test]
fn fifo_levels_and_l2_view() {
    let mut b = Book::new();
    b.apply(&add(1, Side::Buy, 100, 5));
    b.apply(&add(2, Side::Buy, 100, 7));
    b.apply(&add(3, Side::Buy, 99, 1));
    b.apply(&add(4, Side::Sell, 101, 2));
    b.apply(&add(5, Side::Sell, 103, 4));
    b.apply(&add(6, Side::Sell, 102, 3));
    b.check().unwrap();
    assert_eq!(b.best(Side::Buy), Some(Level { px: px(100), qty: Qty(12) }));
    assert_eq!(b.level(Side::Sell, 1), Some(Level { px: px(102), qty: Qty(3) }));
    assert_eq!(b.front(Side::Buy).unwrap().id, 1);
    let a =
        b.apply(&MarketEvent::Execute { order_id: 1, side: Side::Buy, px: px(100), qty: Qty(5) });
    assert_eq!(a.trade, Some(Trade { px: px(100), qty: Qty(5), aggressor: Some(Side::Sell) }));
    assert_eq!(b.front(Side::Buy).unwrap().id, 2);
    let mut rec = BookRecord::default();
    let q = b.write_record(3, &mut rec);
    assert_eq!(q.bid, Level { px: px(100), qty: Qty(7) });
    let v = rec.view();
    assert_eq!((v.instrument(), v.bid_count(), v.ask_count()), (3, 2, 3));
    assert_eq!(v.ask(2), Some(Level { px: px(103), qty: Qty(4) }));
    b.check().unwrap();
}

#[test]
fn cancels_deletes_and_level_removal() {
    let mut b = Book::new();
    b.apply(&add(1, Side::Sell, 50, 10));
    let a =
        b.apply(&MarketEvent::Cancel { order_id: 1, side: Side::Sell, px: px(50), qty: Qty(4) });
    assert_eq!((a.removed, a.removed_stamp, a.top), (Qty(4), 1, true));
    assert_eq!(b.best(Side::Sell).unwrap().qty, Qty(6));
    b.apply(&MarketEvent::Delete { order_id: 1, side: Side::Sell, px: px(50), qty: Qty(0) });
    assert_eq!(b.depth(Side::Sell), 0);
    assert_eq!(b.order_count(), 0);
    b.check().unwrap();
}

#[test]
fn unknown_orders_reduce_unattributed_quantity() {
    let mut b = Book::new();
    b.set_level(Side::Buy, px(100), Qty(500));
    b.apply(&add(7, Side::Buy, 100, 100));
    let a =
        b.apply(&MarketEvent::Execute { order_id: 99, side: Side::Buy, px: px(100), qty: Qty(4) });
    assert_eq!(a.trade.unwrap().qty, Qty(4));
    assert_eq!(b.best(Side::Buy).unwrap().qty, Qty(596));
    assert_eq!(b.unattributed_at(Side::Buy, px(100)), Qty(496));
    b.apply(&MarketEvent::Delete { order_id: 98, side: Side::Buy, px: px(100), qty: Qty(600) });
    assert_eq!(b.best(Side::Buy).unwrap().qty, Qty(100));
    assert_eq!(b.stats().unknown_orders, 2);
    assert_eq!(b.stats().unabsorbed_qty, Qty(104));
    b.check().unwrap();
}

#[test]
fn level_set_keeps_orders_that_fit() {
    let mut b = Book::new();
    b.apply(&add(1, Side::Buy, 100, 5));
    b.apply(&add(2, Side::Buy, 100, 5));
    b.set_level(Side::Buy, px(100), Qty(12));
    assert_eq!(b.order(2).unwrap().qty, Qty(5));
    assert_eq!(b.unattributed_at(Side::Buy, px(100)), Qty(2));
    // Shrinking below the known orders: they can no longer be told apart.
    b.set_level(Side::Buy, px(100), Qty(7));
    assert!(b.order(1).is_none() && b.order(2).is_none());
    assert_eq!(b.unattributed_at(Side::Buy, px(100)), Qty(7));
    b.check().unwrap();
    b.apply(&add(3, Side::Buy, 100, 5));
    b.set_level(Side::Buy, px(100), Qty(0));
    assert_eq!(b.depth(Side::Buy), 0);
    assert!(b.order(3).is_none());
    b.check().unwrap();
}

#[test]
fn deep_levels_are_flagged_outside_the_view() {
    let mut b = Book::new();
    for i in 0..30 {
        b.apply(&add(i + 1, Side::Buy, 100 - i as i64, 1));
    }
    assert!(b.apply(&add(100, Side::Buy, 95, 1)).top);
    assert!(!b.apply(&add(101, Side::Buy, 80, 1)).top);
    assert!(!b.apply(&add(102, Side::Buy, 60, 1)).top);
    assert_eq!(b.depth(Side::Buy), 31);
    b.check().unwrap();
}

#[test]
fn id_index_survives_churn() {
    // Deterministic pseudo-random churn over many ids, checked against a BTreeMap model.
    let mut idx = IdIndex::with_capacity(4);
    let mut model = std::collections::BTreeMap::new();
    let mut x: u64 = 12345;
    for step in 0..20_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = x % 600;
        if model.remove(&k).is_some() {
            idx.remove(k);
        } else {
            idx.insert(k, step);
            model.insert(k, step);
        }
        if step % 97 == 0 {
            for (k, v) in &model {
                assert_eq!(idx.get(*k), Some(*v));
            }
            assert_eq!(idx.len, model.len());
        }
    }
    for k in 0..600 {
        assert_eq!(idx.get(k), model.get(&k).copied());
    }
}

#[test]
fn random_l3_flow_keeps_invariants() {
    let mut b = Book::with_capacity(16, 4);
    let mut live: Vec<u64> = Vec::new();
    let mut x: u64 = 99;
    let mut next_id = 1;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let side = if x & 1 == 0 { Side::Buy } else { Side::Sell };
        let off = ((x >> 8) % 40) as i64;
        match (x >> 4) % 4 {
            0 | 1 => {
                let p = if side == Side::Buy { 1000 - off } else { 1001 + off };
                b.apply(&add(next_id, side, p, ((x >> 20) % 9 + 1) as i64));
                live.push(next_id);
                next_id += 1;
            }
            2 if !live.is_empty() => {
                let id = live.swap_remove((x >> 24) as usize % live.len());
                let o = b.order(id).unwrap();
                b.apply(&MarketEvent::Delete { order_id: id, side: o.side, px: o.px, qty: o.qty });
            }
            _ => {
                if let Some(f) = b.front(side) {
                    b.apply(&MarketEvent::Execute { order_id: f.id, side, px: f.px, qty: Qty(1) });
                    if b.order(f.id).is_none() {
                        live.retain(|&i| i != f.id);
                    }
                }
            }
        }
    }
    b.check().unwrap();
    assert_eq!(b.order_count(), live.len());
}

#[test]
fn an_order_id_of_u64_max_is_refused_and_never_reaches_another_order() {
    let mut b = Book::new();
    let px = Price(100 * lockstep_sdk::ONE);
    for id in 1..=20 {
        b.apply(&MarketEvent::Add { order_id: id, side: Side::Buy, px, qty: Qty(10) });
    }
    assert!(
        !b.apply(&MarketEvent::Add { order_id: u64::MAX, side: Side::Buy, px, qty: Qty(10) })
            .changed
    );
    b.apply(&MarketEvent::Cancel { order_id: u64::MAX, side: Side::Buy, px, qty: Qty(5) });
    b.apply(&MarketEvent::Delete { order_id: u64::MAX, side: Side::Buy, px, qty: Qty(10) });
    assert_eq!(b.order(u64::MAX), None);
    b.check().unwrap();
    assert_eq!(b.qty_at(Side::Buy, px), Qty(200), "no resting order was touched");
    for id in 1..=20 {
        assert_eq!(b.order(id).map(|o| o.qty), Some(Qty(10)), "order {id}");
    }
}

/// An execution, cancel or delete naming an order the book does not hold (a forged tape, or
/// data that began mid-session) is counted in `BookStats` and, with no unattributed quantity at
/// its level, changes no resting order or level.
#[test]
fn an_execute_of_an_unknown_order_is_counted_and_changes_nothing() {
    let mut b = Book::new();
    b.apply(&add(1, Side::Sell, 100, 50));
    b.apply(&add(2, Side::Sell, 101, 70));
    let snapshot = |b: &Book| (b.levels(Side::Sell).collect::<Vec<_>>(), b.order_count());
    let before = snapshot(&b);
    let unknown = 1 << 62;
    let at_level =
        MarketEvent::Execute { order_id: unknown, side: Side::Sell, px: px(100), qty: Qty(5) };
    let a = b.apply(&at_level);
    assert!(!a.changed && !a.top && a.removed == Qty::ZERO, "{a:?}");
    assert_eq!(a.trade.map(|t| t.qty), Some(Qty(0)), "nothing of the level traded");
    let no_level =
        MarketEvent::Execute { order_id: unknown, side: Side::Sell, px: px(99), qty: Qty(5) };
    assert!(!b.apply(&no_level).changed);
    b.apply(&MarketEvent::Cancel { order_id: unknown, side: Side::Sell, px: px(101), qty: Qty(5) });
    b.apply(&MarketEvent::Delete { order_id: unknown, side: Side::Sell, px: px(101), qty: Qty(5) });
    assert_eq!(b.stats().unknown_orders, 4);
    assert_eq!(b.stats().unabsorbed_qty, Qty(20));
    assert_eq!((b.stats().invalid, b.stats().duplicate_adds), (0, 0));
    assert_eq!(snapshot(&b), before);
    assert_eq!(b.order(1).map(|o| o.qty), Some(Qty(50)));
    b.check().unwrap();
}
