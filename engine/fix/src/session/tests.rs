use super::*;
use crate::fixstr::{Id, Symbol};
use crate::messages::{ExecType, ExecutionReport, NewOrderSingle, OrdStatus, OrdType, TimeInForce};
use crate::store::{FileSeqStore, MemorySeqStore, SeqStore};
use lockstep_sdk::{Price, Qty, Side};

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_704_164_645_000_000_000;

fn cfg(role: Role) -> SessionConfig {
    let (me, peer) = match role {
        Role::Initiator => ("GW", "VENUE"),
        Role::Acceptor => ("VENUE", "GW"),
    };
    let mut c =
        SessionConfig::new(role, Text::from_str(me).unwrap(), Text::from_str(peer).unwrap());
    c.heartbeat_secs = 30;
    c.grace_ns = 3 * SEC;
    c
}

/// An initiator and an acceptor joined by two in-memory byte queues.
struct Pair<S: SeqStore> {
    ini: Session<S>,
    acc: Session<S>,
    to_acc: Vec<u8>,
    to_ini: Vec<u8>,
    ini_ev: Vec<Event>,
    acc_ev: Vec<Event>,
}

impl<S: SeqStore> Pair<S> {
    fn new(ini: Session<S>, acc: Session<S>) -> Self {
        Self {
            ini,
            acc,
            to_acc: Vec::new(),
            to_ini: Vec::new(),
            ini_ev: Vec::new(),
            acc_ev: Vec::new(),
        }
    }

    /// Delivers queued bytes both ways until neither side has anything to say.
    fn pump(&mut self, now: i64) {
        for _ in 0..50 {
            if self.to_acc.is_empty() && self.to_ini.is_empty() {
                return;
            }
            let a = std::mem::take(&mut self.to_acc);
            self.acc.receive(&a, now, &mut self.to_ini, &mut self.acc_ev).unwrap();
            let i = std::mem::take(&mut self.to_ini);
            self.ini.receive(&i, now, &mut self.to_acc, &mut self.ini_ev).unwrap();
        }
        panic!("sessions keep talking");
    }

    fn tick(&mut self, now: i64) {
        self.ini.tick(now, &mut self.to_acc, &mut self.ini_ev).unwrap();
        self.acc.tick(now, &mut self.to_ini, &mut self.acc_ev).unwrap();
    }

    fn logon(&mut self, now: i64) {
        self.acc.accept(now);
        self.ini.connect(now, &mut self.to_acc).unwrap();
        self.pump(now);
        assert_eq!(self.ini.state(), SessionState::Active, "{:?}", self.ini_ev);
        assert_eq!(self.acc.state(), SessionState::Active, "{:?}", self.acc_ev);
    }
}

fn mem_pair() -> Pair<MemorySeqStore> {
    let ini = Session::new(cfg(Role::Initiator), MemorySeqStore::default()).unwrap();
    let acc = Session::new(cfg(Role::Acceptor), MemorySeqStore::default()).unwrap();
    Pair::new(ini, acc)
}

fn order(id: u64) -> AppMessage {
    AppMessage::NewOrderSingle(NewOrderSingle {
        cl_ord_id: Id::from_u64(id),
        symbol: Symbol::from_str("ACME").unwrap(),
        side: Side::Buy,
        qty: Qty(100 * lockstep_sdk::ONE),
        ord_type: OrdType::Limit,
        price: Some(Price(1_234_500_000)),
        time_in_force: Some(TimeInForce::Day),
        transact_time_ns: T0,
    })
}

fn report(id: u64) -> AppMessage {
    AppMessage::ExecutionReport(ExecutionReport {
        order_id: Id::from_u64(900 + id),
        cl_ord_id: Id::from_u64(id),
        orig_cl_ord_id: None,
        exec_id: Id::from_u64(5000 + id),
        exec_type: ExecType::New,
        ord_status: OrdStatus::New,
        symbol: Symbol::from_str("ACME").unwrap(),
        side: Side::Buy,
        order_qty: Qty(100 * lockstep_sdk::ONE),
        price: Some(Price(1_234_500_000)),
        last_qty: Qty::ZERO,
        last_px: Price::ZERO,
        leaves_qty: Qty(100 * lockstep_sdk::ONE),
        cum_qty: Qty::ZERO,
        avg_px: Price::ZERO,
        ord_rej_reason: None,
        text: None,
    })
}

fn apps(ev: &[Event]) -> Vec<(u64, bool, AppMessage)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::App { seq, poss_dup, msg } => Some((*seq, *poss_dup, *msg)),
            _ => None,
        })
        .collect()
}

#[test]
fn logon_orders_and_logout() {
    let mut p = mem_pair();
    p.logon(T0);
    assert!(p.ini_ev.contains(&Event::LoggedOn { heartbeat_secs: 30, reset: false }));
    assert_eq!(p.ini.send(&order(1), T0, &mut p.to_acc).unwrap(), 2);
    p.pump(T0);
    assert_eq!(apps(&p.acc_ev), [(2, false, order(1))]);
    p.acc.send(&report(1), T0, &mut p.to_ini).unwrap();
    p.pump(T0);
    assert_eq!(apps(&p.ini_ev), [(2, false, report(1))]);
    p.ini.logout("done", T0, &mut p.to_acc).unwrap();
    p.pump(T0);
    assert_eq!(p.ini.state(), SessionState::Disconnected);
    assert_eq!(p.acc.state(), SessionState::Disconnected);
    assert!(matches!(
        p.ini_ev.last(),
        Some(Event::Disconnected { reason: DisconnectReason::Logout, .. })
    ));
    let text = Text::from_str("done");
    assert_eq!(
        p.acc_ev.last(),
        Some(&Event::Disconnected { reason: DisconnectReason::PeerLogout, text })
    );
    assert_eq!(p.ini.seq_nums(), SeqNums { next_sender: 4, next_target: 4 });
}

#[test]
fn sending_before_logon_is_an_error() {
    let mut p = mem_pair();
    let e = p.ini.send(&order(1), T0, &mut p.to_acc).unwrap_err();
    assert!(e.to_string().contains("not logged on"), "{e}");
    assert!(p.to_acc.is_empty());
}

#[test]
fn heartbeats_test_request_and_timeout_with_fake_time() {
    let mut p = mem_pair();
    p.logon(T0);
    // Nothing due before HeartBtInt.
    p.tick(T0 + 29 * SEC);
    assert!(p.to_acc.is_empty() && p.to_ini.is_empty());
    // Both sides heartbeat at 30 s.
    p.tick(T0 + 30 * SEC);
    assert!(p.to_acc.starts_with(b"8=FIX.4.4") && p.to_acc.windows(5).any(|w| w == b"\x0135=0"));
    p.pump(T0 + 30 * SEC);
    // The acceptor goes silent: its output is lost from now on.
    p.tick(T0 + 60 * SEC);
    p.to_ini.clear();
    p.pump(T0 + 60 * SEC);
    p.to_ini.clear();
    // 30 s + 3 s grace after the last message from the acceptor: TestRequest.
    p.tick(T0 + 63 * SEC);
    assert!(
        p.to_acc.windows(5).any(|w| w == b"\x0135=1"),
        "{}",
        String::from_utf8_lossy(&p.to_acc)
    );
    // The acceptor answers: the TestRequest is satisfied and the session lives on.
    p.pump(T0 + 63 * SEC);
    p.tick(T0 + 95 * SEC);
    assert_eq!(p.ini.state(), SessionState::Active);
    // From here nothing reaches either side. 33 s after the last message: TestRequest.
    p.to_acc.clear();
    p.to_ini.clear();
    p.tick(T0 + 96 * SEC);
    assert!(p.to_acc.windows(5).any(|w| w == b"\x0135=1"));
    p.to_acc.clear();
    p.tick(T0 + 128 * SEC);
    assert_eq!(p.ini.state(), SessionState::Active);
    // No answer 33 s after the TestRequest: disconnect.
    p.tick(T0 + 129 * SEC);
    assert_eq!(p.ini.state(), SessionState::Disconnected);
    assert!(p.ini_ev.iter().any(|e| matches!(
        e,
        Event::Disconnected { reason: DisconnectReason::HeartbeatTimeout, .. }
    )));
}

#[test]
fn gap_is_gap_filled_so_no_order_is_sent_twice() {
    let mut p = mem_pair();
    p.logon(T0);
    p.ini.send(&order(1), T0, &mut p.to_acc).unwrap();
    p.to_acc.clear(); // lost on the wire
    p.ini.send(&order(2), T0, &mut p.to_acc).unwrap();
    p.pump(T0);
    assert!(p.acc_ev.contains(&Event::GapDetected { from: 2, received: 3 }));
    // The initiator keeps no resend store: both orders are gap-filled, none is delivered twice.
    assert!(apps(&p.acc_ev).is_empty());
    assert_eq!(p.acc.seq_nums().next_target, 4);
    p.ini.send(&order(3), T0, &mut p.to_acc).unwrap();
    p.pump(T0);
    assert_eq!(apps(&p.acc_ev), [(4, false, order(3))]);
    assert_eq!(p.ini.state(), SessionState::Active);
}

#[test]
fn venue_resends_stored_reports_with_poss_dup() {
    let ini = Session::new(cfg(Role::Initiator), MemorySeqStore::default()).unwrap();
    let mut acc_cfg = cfg(Role::Acceptor);
    acc_cfg.resend_capacity = 16;
    let acc = Session::new(acc_cfg, MemorySeqStore::default()).unwrap();
    let mut p = Pair::new(ini, acc);
    p.logon(T0);
    p.acc.send(&report(1), T0, &mut p.to_ini).unwrap();
    p.to_ini.clear(); // lost
    p.acc.send(&report(2), T0 + SEC, &mut p.to_ini).unwrap();
    p.pump(T0 + 2 * SEC);
    assert_eq!(apps(&p.ini_ev), [(2, true, report(1)), (3, true, report(2))]);
    assert_eq!(p.ini.seq_nums().next_target, 4);
}

#[test]
fn sequence_numbers_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("lockstep-fix-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ip, ap) = (dir.join("gw.seq"), dir.join("venue.seq"));
    let _ = (std::fs::remove_file(&ip), std::fs::remove_file(&ap));
    let make = || {
        let ini = Session::new(cfg(Role::Initiator), FileSeqStore::new(&ip)).unwrap();
        let acc = Session::new(cfg(Role::Acceptor), FileSeqStore::new(&ap)).unwrap();
        Pair::new(ini, acc)
    };
    let mut p = make();
    p.logon(T0);
    p.ini.send(&order(1), T0, &mut p.to_acc).unwrap();
    p.pump(T0);
    p.ini.logout("", T0, &mut p.to_acc).unwrap();
    p.pump(T0);
    let before = p.ini.seq_nums();
    assert_eq!(before, SeqNums { next_sender: 4, next_target: 3 });
    drop(p);
    let mut p = make();
    assert_eq!(p.ini.seq_nums(), before);
    p.logon(T0 + 3600 * SEC);
    p.ini.send(&order(2), T0, &mut p.to_acc).unwrap();
    p.pump(T0);
    assert_eq!(apps(&p.acc_ev), [(5, false, order(2))]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn too_low_seq_num_logs_out_with_text() {
    let mut p = mem_pair();
    p.logon(T0);
    p.ini.send(&order(1), T0, &mut p.to_acc).unwrap();
    p.pump(T0);
    // The gateway lost its numbers (new memory store) but the venue kept them.
    p.ini = Session::new(cfg(Role::Initiator), MemorySeqStore::default()).unwrap();
    p.acc.connection_lost();
    p.acc.accept(T0);
    p.ini.connect(T0, &mut p.to_acc).unwrap();
    p.pump(T0);
    let reason = DisconnectReason::SeqTooLow { expected: 3, received: 1 };
    let text = Text::from_str("MsgSeqNum too low, expecting 3 but received 1");
    assert_eq!(p.acc_ev.last(), Some(&Event::Disconnected { reason, text }));
    assert!(
        matches!(p.ini_ev.last(), Some(Event::Disconnected { reason: DisconnectReason::PeerLogout, text: Some(t) }) if t.as_str().contains("too low"))
    );
}

#[test]
fn reset_on_logon_starts_both_sides_at_one() {
    let mut p = mem_pair();
    p.logon(T0);
    p.ini.send(&order(1), T0, &mut p.to_acc).unwrap();
    p.pump(T0);
    p.ini.connection_lost();
    p.acc.connection_lost();
    let mut c = cfg(Role::Initiator);
    c.reset_on_logon = true;
    p.ini = Session::new(c, MemorySeqStore::default()).unwrap();
    p.logon(T0);
    assert!(p.acc_ev.contains(&Event::LoggedOn { heartbeat_secs: 30, reset: true }));
    assert_eq!(p.acc.seq_nums(), SeqNums { next_sender: 2, next_target: 2 });
}

/// Wraps a body in a frame; the checksum is summed here, not by the encoder.
fn wrap(body: &str) -> Vec<u8> {
    let mut m = format!("8=FIX.4.4\x019={}\x01{}", body.len(), body).into_bytes();
    let sum = m.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

#[test]
fn invalid_app_message_gets_a_session_reject() {
    let mut p = mem_pair();
    p.logon(T0);
    let bad = wrap(
        "35=D\x0149=GW\x0156=VENUE\x0134=2\x0152=20240102-03:04:05.000\x0111=1\x0155=X\x0154=9\x0138=1\x0140=1\x0160=20240102-03:04:05\x01",
    );
    p.to_acc.extend_from_slice(&bad);
    p.pump(T0);
    assert!(matches!(
        p.acc_ev.last(),
        Some(Event::RejectSent {
            ref_seq: 2,
            error: crate::error::DecodeError::BadValue { tag: 54, .. }
        })
    ));
    assert!(matches!(
        p.ini_ev.last(),
        Some(Event::RejectReceived { ref_seq: 2, reason: Some(5), text: Some(_) })
    ));
    // A rejected message still consumes its number.
    assert_eq!(p.acc.seq_nums().next_target, 3);
    let garbled = wrap("35=D\x0149=GW\x0156=VENUE\x0134=3\x0152=20240102-03:04:05.000\x01=1\x01");
    p.to_acc.extend_from_slice(&garbled);
    p.pump(T0);
    assert!(matches!(p.acc_ev.last(), Some(Event::RejectSent { ref_seq: 3, .. })));
    // A bad checksum is dropped silently; the next message reveals the gap.
    let mut broken = wrap("35=0\x0149=GW\x0156=VENUE\x0134=4\x0152=20240102-03:04:05.000\x01");
    let n = broken.len();
    broken[n - 2] ^= 1;
    p.to_acc.extend_from_slice(&broken);
    p.pump(T0);
    assert!(matches!(
        p.acc_ev.last(),
        Some(Event::Discarded(crate::error::DecodeError::WrongChecksum { .. }))
    ));
}

#[test]
fn sequence_reset_reset_mode_moves_forward_only() {
    let mut p = mem_pair();
    p.logon(T0);
    p.to_acc.extend_from_slice(&wrap(
        "35=4\x0149=GW\x0156=VENUE\x0134=77\x0152=20240102-03:04:05.000\x0136=50\x01",
    ));
    p.pump(T0);
    assert_eq!(p.acc.seq_nums().next_target, 50);
    p.to_acc.extend_from_slice(&wrap(
        "35=4\x0149=GW\x0156=VENUE\x0134=78\x0152=20240102-03:04:05.000\x0136=10\x01",
    ));
    p.pump(T0);
    assert!(matches!(p.acc_ev.last(), Some(Event::RejectSent { .. })));
    assert_eq!(p.acc.seq_nums().next_target, 50);
}

#[test]
fn first_message_must_be_logon() {
    let mut p = mem_pair();
    p.acc.accept(T0);
    p.to_acc.extend_from_slice(&wrap(
        "35=0\x0149=GW\x0156=VENUE\x0134=1\x0152=20240102-03:04:05.000\x01",
    ));
    p.pump(T0);
    assert!(matches!(
        p.acc_ev.last(),
        Some(Event::Disconnected { reason: DisconnectReason::BadLogon, .. })
    ));
    // Logon time-out on the initiator side.
    p.ini.connect(T0, &mut Vec::new()).unwrap();
    p.ini.tick(T0 + 11 * SEC, &mut Vec::new(), &mut p.ini_ev).unwrap();
    assert!(matches!(
        p.ini_ev.last(),
        Some(Event::Disconnected { reason: DisconnectReason::LogonTimeout, .. })
    ));
}
