//! Risk in a session: limits refuse orders with their own codes, the strategies go on, the
//! kill switch cancels everything; a journal disk that fills up halts only its strategy.

use crate::common::{SharedBuf, session, spec};
use lockstep_engine::Tier;
use lockstep_gateway::RiskLimits;

#[test]
fn limits_refuse_orders_by_reason_and_strategies_go_on() {
    let _one = crate::common::serial();
    let limits = RiskLimits::from_json(
        r#"{"max_order_qty": "1", "max_open_orders": 2, "max_orders_per_second": 3}"#,
    )
    .unwrap();
    let sums = session(vec![spec("avellaneda-stoikov", Tier::Compiled, None)], limits, 4_000, None);
    let s = &sums[0];
    assert!(s.halted.is_none(), "{s:?}");
    assert!(!s.risk_rejects.is_empty(), "{s:?}");
    assert!(s.risk_rejects.keys().all(|k| k.starts_with("risk_")), "{s:?}");
    let unlimited = session(
        vec![spec("avellaneda-stoikov", Tier::Compiled, None)],
        RiskLimits::default(),
        4_000,
        None,
    );
    assert!(unlimited[0].risk_rejects.is_empty());
    assert!(unlimited[0].orders_sent > s.orders_sent, "{:?} vs {s:?}", unlimited[0]);
}

#[test]
fn the_kill_switch_stops_new_orders() {
    let _one = crate::common::serial();
    let sums = session(
        vec![spec("avellaneda-stoikov", Tier::Interpreter, None)],
        RiskLimits::default(),
        4_000,
        Some(1_000),
    );
    let s = &sums[0];
    assert!(s.risk_rejects.get("risk_kill_switch").copied().unwrap_or(0) > 0, "{s:?}");
    assert!(s.halted.is_none());
}

#[test]
fn a_full_journal_disk_halts_only_that_strategy() {
    let _one = crate::common::serial();
    let full = SharedBuf { limit: Some(20_000), ..SharedBuf::default() };
    let fine = SharedBuf::default();
    let sums = session(
        vec![
            spec("microprice", Tier::Interpreter, Some(full)),
            spec("microprice", Tier::Interpreter, Some(fine)),
        ],
        RiskLimits::default(),
        3_000,
        None,
    );
    assert!(
        sums[0].journal_error.as_deref().is_some_and(|e| e.contains("no space")),
        "{:?}",
        sums[0]
    );
    assert!(sums[0].halted.is_some());
    assert!(sums[1].halted.is_none() && sums[1].journal_error.is_none());
    assert!(sums[1].events > sums[0].events);
}
