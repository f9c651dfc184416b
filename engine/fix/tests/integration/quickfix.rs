//! Interop with QuickFIX (C++): our initiator against a QuickFIX acceptor with data-dictionary
//! validation on. Needs Debian's `libquickfix-dev` and a C++ compiler; skipped without them
//! unless `LOCKSTEP_REQUIRE_QUICKFIX=1`.

use lockstep_fix::{
    AppMessage, CxlRejResponseTo, DisconnectReason, Event, ExecType, Id, MemorySeqStore,
    NewOrderSingle, OrdStatus, OrdType, OrderCancelRequest, Role, Session, SessionConfig,
    SessionState, Symbol, Text, TimeInForce,
};
use lockstep_sdk::{ONE, Price, Qty, Side};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The test is the I/O shell around the sans-IO session, so it reads the wall clock:
/// QuickFIX checks SendingTime against its own clock (CheckLatency).
#[allow(clippy::disallowed_types, clippy::disallowed_methods, reason = "QuickFIX checks the clock")]
fn now_ns() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    i64::try_from(d.as_nanos()).unwrap()
}

fn quickfix_installed() -> bool {
    Path::new("/usr/include/quickfix/Application.h").exists()
        || Command::new("pkg-config")
            .args(["--exists", "quickfix"])
            .status()
            .is_ok_and(|s| s.success())
}

fn compile_acceptor(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/quickfix/acceptor.cpp");
    let exe = dir.join("quickfix-acceptor");
    // QuickFIX 1.15's headers use dynamic exception specifications, removed in C++17.
    let out = Command::new("c++")
        .args(["-std=c++14", "-Wno-deprecated", "-O1", "-o"])
        .arg(&exe)
        .arg(&src)
        .args(["-lquickfix", "-lpthread"])
        .output()
        .expect("run c++ (install a C++ compiler: apt-get install g++)");
    assert!(
        out.status.success(),
        "compiling {} failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let dict = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/quickfix/FIX44-lockstep.xml");
    let cfg = format!(
        "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort={port}\nStartTime=00:00:00\n\
         EndTime=00:00:00\nUseDataDictionary=Y\nDataDictionary={}\nValidateUserDefinedFields=Y\n\
         ValidateFieldsOutOfOrder=Y\nValidateFieldsHaveValues=Y\nCheckLatency=Y\n\
         MaxLatency=120\n\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\n\
         TargetCompID=GW\nHeartBtInt=30\n",
        dict.display()
    );
    let path = dir.join("quickfix-acceptor.cfg");
    std::fs::write(&path, cfg).unwrap();
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Our side of the connection: the session, the socket and what came out.
struct Client {
    session: Session<MemorySeqStore>,
    sock: TcpStream,
    out: Vec<u8>,
    events: Vec<Event>,
    seen: usize,
}

impl Client {
    fn flush(&mut self) {
        self.sock.write_all(&self.out).unwrap();
        self.out.clear();
    }

    /// Reads, ticks and writes until `want` matches a new event; returns the new events.
    fn until(&mut self, what: &str, want: impl Fn(&Event) -> bool) -> Vec<Event> {
        let deadline = now_ns() + 10_000_000_000;
        let mut buf = [0u8; 4096];
        loop {
            if self.events[self.seen..].iter().any(&want) {
                let new = self.events[self.seen..].to_vec();
                self.seen = self.events.len();
                return new;
            }
            assert!(now_ns() < deadline, "timed out waiting for {what}; events: {:?}", self.events);
            let n = match self.sock.read(&mut buf) {
                Ok(0) => {
                    panic!("QuickFIX closed the connection waiting for {what}: {:?}", self.events)
                }
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    0
                }
                Err(e) => panic!("read: {e}"),
            };
            let now = now_ns();
            self.session.receive(&buf[..n], now, &mut self.out, &mut self.events).unwrap();
            self.session.tick(now, &mut self.out, &mut self.events).unwrap();
            self.flush();
        }
    }

    fn send(&mut self, msg: AppMessage) {
        self.session.send(&msg, now_ns(), &mut self.out).unwrap();
        self.flush();
    }
}

fn reports(events: &[Event]) -> Vec<AppMessage> {
    events
        .iter()
        .filter_map(|e| if let Event::App { msg, .. } = e { Some(*msg) } else { None })
        .collect()
}

fn is_app(e: &Event) -> bool {
    matches!(e, Event::App { .. })
}

fn order(id: u64, qty: i64) -> AppMessage {
    AppMessage::NewOrderSingle(NewOrderSingle {
        cl_ord_id: Id::from_u64(id),
        symbol: Symbol::from_str("ACME").unwrap(),
        side: Side::Buy,
        qty: Qty(qty * ONE),
        ord_type: OrdType::Limit,
        price: Some(Price(12_345_000_000)), // 123.45
        time_in_force: Some(TimeInForce::Day),
        transact_time_ns: now_ns(),
    })
}

fn cancel(id: u64, orig: u64) -> AppMessage {
    AppMessage::OrderCancelRequest(OrderCancelRequest {
        cl_ord_id: Id::from_u64(id),
        orig_cl_ord_id: Id::from_u64(orig),
        symbol: Symbol::from_str("ACME").unwrap(),
        side: Side::Buy,
        qty: None,
        transact_time_ns: now_ns(),
    })
}

/// Starts the acceptor and waits for its READY line; the rest of its output is collected.
fn start_acceptor(exe: &Path, cfg: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut child =
        Command::new(exe).arg(cfg).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(20)).expect("acceptor printed nothing");
    assert_eq!(first, "READY", "acceptor did not start");
    (child, rx)
}

#[test]
fn orders_and_cancels_against_quickfix() {
    if !quickfix_installed() {
        assert!(
            std::env::var("LOCKSTEP_REQUIRE_QUICKFIX").as_deref() != Ok("1"),
            "QuickFIX is required (LOCKSTEP_REQUIRE_QUICKFIX=1): apt-get install libquickfix-dev g++"
        );
        println!("skipped: QuickFIX not installed (apt-get install libquickfix-dev g++)");
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lockstep-fix-quickfix");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = compile_acceptor(&dir);
    let cfg = write_config(&dir, free_port());
    let port_line = std::fs::read_to_string(&cfg).unwrap();
    let port = port_line.lines().find_map(|l| l.strip_prefix("SocketAcceptPort=")).unwrap();
    let (mut child, lines) = start_acceptor(&exe, &cfg);

    let sock = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    sock.set_nodelay(true).unwrap();
    let mut scfg = SessionConfig::new(
        Role::Initiator,
        Text::from_str("GW").unwrap(),
        Text::from_str("VENUE").unwrap(),
    );
    scfg.reset_on_logon = true;
    let session = Session::new(scfg, MemorySeqStore::default()).unwrap();
    let mut c = Client { session, sock, out: Vec::new(), events: Vec::new(), seen: 0 };
    c.session.connect(now_ns(), &mut c.out).unwrap();
    c.flush();
    c.until("logon", |e| matches!(e, Event::LoggedOn { .. }));

    run_orders(&mut c);

    c.session.logout("bye", now_ns(), &mut c.out).unwrap();
    c.flush();
    let last = c.until("logout", |e| matches!(e, Event::Disconnected { .. }));
    assert!(
        matches!(last.last(), Some(Event::Disconnected { reason: DisconnectReason::Logout, .. })),
        "{last:?}"
    );
    assert_eq!(c.session.state(), SessionState::Disconnected);
    assert!(
        !c.events.iter().any(|e| matches!(
            e,
            Event::RejectReceived { .. } | Event::RejectSent { .. } | Event::Discarded(_)
        )),
        "{:?}",
        c.events
    );
    drop(c);
    let status = child.wait().unwrap();
    let log: Vec<String> = lines.try_iter().collect();
    println!("QuickFIX acceptor log:\n{}", log.join("\n"));
    assert!(status.success(), "acceptor exited with {status}; its log:\n{}", log.join("\n"));
    assert!(log.iter().any(|l| l == "REJECTS 0"), "{}", log.join("\n"));
}

fn run_orders(c: &mut Client) {
    // A 5-lot: New, then a partial fill of 1.
    c.send(order(1, 5));
    let mut got = c.until("new", is_app);
    if reports(&got).len() < 2 {
        got.extend(c.until("fill", is_app));
    }
    let r = reports(&got);
    let [AppMessage::ExecutionReport(new), AppMessage::ExecutionReport(fill)] = r[..] else {
        panic!("expected two execution reports: {r:?}");
    };
    assert_eq!(
        (new.exec_type, new.ord_status, new.leaves_qty),
        (ExecType::New, OrdStatus::New, Qty(5 * ONE))
    );
    assert_eq!(new.price, Some(Price(12_345_000_000)));
    assert_eq!((fill.exec_type, fill.ord_status), (ExecType::Trade, OrdStatus::PartiallyFilled));
    assert_eq!(
        (fill.last_qty, fill.last_px, fill.cum_qty),
        (Qty(ONE), Price(12_345_000_000), Qty(ONE))
    );
    assert_eq!(fill.leaves_qty, Qty(4 * ONE));

    // Cancel the rest.
    c.send(cancel(2, 1));
    let r = reports(&c.until("canceled", is_app));
    let [AppMessage::ExecutionReport(cxl)] = r[..] else {
        panic!("expected a cancel report: {r:?}")
    };
    assert_eq!((cxl.exec_type, cxl.ord_status), (ExecType::Canceled, OrdStatus::Canceled));
    assert_eq!((cxl.cl_ord_id, cxl.orig_cl_ord_id), (Id::from_u64(2), Some(Id::from_u64(1))));

    // Cancel an unknown order: OrderCancelReject.
    c.send(cancel(3, 99));
    let r = reports(&c.until("cancel reject", is_app));
    let [AppMessage::OrderCancelReject(rej)] = r[..] else {
        panic!("expected a cancel reject: {r:?}")
    };
    assert_eq!((rej.response_to, rej.reason), (CxlRejResponseTo::Cancel, Some(1)));
    assert_eq!(rej.orig_cl_ord_id, Id::from_u64(99));

    // A 1-lot fills completely.
    c.send(order(4, 1));
    let mut got = c.until("new", is_app);
    if reports(&got).len() < 2 {
        got.extend(c.until("fill", is_app));
    }
    let r = reports(&got);
    let Some(AppMessage::ExecutionReport(done)) = r.last() else { panic!("{r:?}") };
    assert_eq!(
        (done.ord_status, done.leaves_qty, done.avg_px),
        (OrdStatus::Filled, Qty::ZERO, Price(12_345_000_000))
    );
}
