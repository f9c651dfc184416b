//! Venue and gateway over loopback, as two threads of one test: the journals verify on both
//! tiers; gaps are recovered by re-request or, when they cannot be, halt the strategies; a
//! gateway may start before its venue; a venue that vanishes mid-session is a clear error with
//! the journals intact.

use crate::common::{engine, serial};
use lockstep_engine::{StrategyModule, Tier};
use lockstep_gateway::{
    Faults, GatewayOptions, JournalHeader, LiveReport, LiveStrategy, Pace, RiskLimits,
    VenueOptions, read_journal, run_gateway, run_venue, verify,
};
use lockstep_sim::{EventSource, Synth, SynthConfig};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

fn free_ports() -> (SocketAddr, SocketAddr) {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    (udp, tcp)
}

fn journal_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gateway-loopback").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn venue(
    feed: SocketAddr,
    fix: SocketAddr,
    events: u64,
    faults: Faults,
) -> JoinHandle<Result<lockstep_gateway::VenueReport, String>> {
    venue_paced(feed, fix, events, faults, Pace::Rate(200_000))
}

fn venue_paced(
    feed: SocketAddr,
    fix: SocketAddr,
    events: u64,
    faults: Faults,
    pace: Pace,
) -> JoinHandle<Result<lockstep_gateway::VenueReport, String>> {
    let synth = Synth::new(SynthConfig { events, ..SynthConfig::default() });
    venue_over_paced(feed, fix, Box::new(synth), faults, pace)
}

fn venue_over(
    feed: SocketAddr,
    fix: SocketAddr,
    src: Box<dyn EventSource + Send>,
    faults: Faults,
) -> JoinHandle<Result<lockstep_gateway::VenueReport, String>> {
    venue_over_paced(feed, fix, src, faults, Pace::Rate(200_000))
}

fn venue_over_paced(
    feed: SocketAddr,
    fix: SocketAddr,
    mut src: Box<dyn EventSource + Send>,
    faults: Faults,
    pace: Pace,
) -> JoinHandle<Result<lockstep_gateway::VenueReport, String>> {
    std::thread::spawn(move || {
        let header = src.header().clone();
        let opts = VenueOptions {
            feed,
            fix,
            pace,
            wait: Duration::from_secs(20),
            session: "TEST".into(),
            faults,
        };
        run_venue(&header, src.as_mut(), &opts).map_err(|e| e.to_string())
    })
}

fn strategies(tier: Tier) -> Vec<LiveStrategy> {
    ["avellaneda-stoikov", "microprice"]
        .iter()
        .map(|name| {
            let info = lockstep_strategies::get(name).unwrap();
            let module = StrategyModule::new(&engine(tier), info.wasm).unwrap();
            let instance = module.instantiate(info.default_params).unwrap();
            let header = JournalHeader {
                strategy: (*name).to_owned(),
                params: info.default_params.to_owned(),
                module_sha256: String::new(),
                tier: tier.to_string(),
                init_fuel: instance.last_fuel().0,
            };
            LiveStrategy {
                header,
                init_actions: instance.actions().to_vec(),
                runner: Box::new(instance),
                restore: None,
            }
        })
        .collect()
}

fn gateway(
    feed: SocketAddr,
    fix: SocketAddr,
    dir: &Path,
    tier: Tier,
    wait: u64,
) -> Result<LiveReport, String> {
    let opts = GatewayOptions {
        feed,
        fix,
        journal_dir: dir.to_owned(),
        risk: RiskLimits::default(),
        wait: Duration::from_secs(wait),
        kill: lockstep_gateway::KillSwitch::default(),
        recover: false,
        checkpoint_events: 0,
        checkpoint_interval: Duration::ZERO,
    };
    run_gateway(&opts, strategies(tier)).map_err(|e| e.to_string())
}

/// Every journal in `dir` re-run on both tiers reaches the live digest.
fn verify_journals(dir: &Path, live: &LiveReport, live_tier: Tier) {
    for (path, summary) in live.journals.iter().zip(&live.strategies) {
        let journal = read_journal(std::fs::File::open(path).unwrap()).unwrap();
        assert_eq!(journal.torn_tail, 0);
        let info = lockstep_strategies::get(&journal.header.strategy).unwrap();
        for tier in [Tier::Interpreter, Tier::Compiled] {
            let module = StrategyModule::new(&engine(tier), info.wasm).unwrap();
            let mut again = module.instantiate(&journal.header.params).unwrap();
            let (init, fuel) = (again.actions().to_vec(), again.last_fuel().0);
            let r = verify(&journal, &mut again, &init, fuel, tier == live_tier);
            assert!(r.identical(), "{} on {tier}: {r:?}", path.display());
            assert_eq!(r.live_digest, summary.digest);
        }
    }
    assert!(dir.join("latency-wire-to-wire.hgrm").exists());
}

#[test]
fn venue_and_gateway_over_loopback_verify_on_both_tiers() {
    let _one = serial();
    for tier in [Tier::Interpreter, Tier::Compiled] {
        let (feed, fix) = free_ports();
        let v = venue(feed, fix, 6_000, Faults::default());
        let dir = journal_dir(&format!("straight-{tier}"));
        let live = gateway(feed, fix, &dir, tier, 20).unwrap();
        let report = v.join().unwrap().unwrap();
        assert_eq!(live.market_events, 6_000, "{live:?}");
        assert_eq!(report.events, 6_000);
        assert!(
            live.strategies.iter().all(|s| s.halted.is_none() && s.orders_sent > 0),
            "{live:?}"
        );
        assert!(live.strategies.iter().any(|s| s.fills > 0), "{live:?}");
        verify_journals(&dir, &live, tier);
    }
}

#[test]
fn a_gap_is_recovered_by_re_request() {
    let _one = serial();
    let (feed, fix) = free_ports();
    let v = venue(feed, fix, 4_000, Faults { drop_every: 9, ..Faults::default() });
    let dir = journal_dir("gap-recovered");
    let live = gateway(feed, fix, &dir, Tier::Interpreter, 20).unwrap();
    let report = v.join().unwrap().unwrap();
    assert!(report.requests > 0, "{report:?}");
    assert!(
        live.feed.gaps > 0 && live.feed.recovered > 0 && live.feed.unrecoverable == 0,
        "{:?}",
        live.feed
    );
    assert_eq!(live.market_events, 4_000);
    verify_journals(&dir, &live, Tier::Interpreter);
}

#[test]
fn a_gap_that_cannot_be_recovered_halts_the_strategies() {
    let _one = serial();
    let (feed, fix) = free_ports();
    let v = venue(
        feed,
        fix,
        4_000,
        Faults { drop_every: 50, no_retransmit: true, ..Faults::default() },
    );
    let dir = journal_dir("gap-lost");
    let live = gateway(feed, fix, &dir, Tier::Interpreter, 20).unwrap();
    v.join().unwrap().unwrap();
    assert!(live.feed.unrecoverable > 0, "{:?}", live.feed);
    for s in &live.strategies {
        let (_, why) = s.halted.as_ref().expect("halted");
        assert!(why.contains("feed"), "{why}");
    }
    verify_journals(&dir, &live, Tier::Interpreter);
}

#[test]
fn a_gateway_may_start_before_its_venue() {
    let _one = serial();
    let (feed, fix) = free_ports();
    let dir = journal_dir("early");
    let g = std::thread::spawn(move || gateway(feed, fix, &dir, Tier::Interpreter, 20));
    #[allow(clippy::disallowed_methods, reason = "the test starts the venue late on purpose")]
    std::thread::sleep(Duration::from_millis(400));
    let v = venue(feed, fix, 2_000, Faults::default());
    let live = g.join().unwrap().unwrap();
    v.join().unwrap().unwrap();
    assert_eq!(live.market_events, 2_000);
}

#[test]
fn no_venue_is_a_clear_error() {
    let _one = serial();
    let (feed, fix) = free_ports();
    let e = gateway(feed, fix, &journal_dir("alone"), Tier::Interpreter, 1).unwrap_err();
    assert!(e.contains("is `replay venue` running?"), "{e}");
}

#[test]
fn a_venue_that_vanishes_mid_session_is_a_clear_error_and_the_journals_stay_readable() {
    let _one = serial();
    let (feed, fix) = free_ports();
    // Paced so that the gateway holds the market before the venue goes, even on a loaded machine.
    let faults = Faults { disconnect_after: Some(1_500), ..Faults::default() };
    let v = venue_paced(feed, fix, 4_000, faults, Pace::Rate(20_000));
    let dir = journal_dir("vanished");
    let e = gateway(feed, fix, &dir, Tier::Interpreter, 5).unwrap_err();
    v.join().unwrap().unwrap();
    assert!(e.contains("disconnected"), "{e}");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "journal") {
            let j = read_journal(std::fs::File::open(&path).unwrap()).unwrap();
            assert!(j.entries.len() > 1, "{}: {}", path.display(), j.entries.len());
            // What the strategy was handed before the venue vanished still verifies.
            let info = lockstep_strategies::get(&j.header.strategy).unwrap();
            let module = StrategyModule::new(&engine(Tier::Interpreter), info.wasm).unwrap();
            let mut again = module.instantiate(&j.header.params).unwrap();
            let (init, fuel) = (again.actions().to_vec(), again.last_fuel().0);
            assert!(verify(&j, &mut again, &init, fuel, true).identical());
        }
    }
}

#[test]
fn the_kill_file_cancels_everything_and_refuses_new_orders() {
    let _one = serial();
    let (feed, fix) = free_ports();
    let dir = journal_dir("killed");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("KILL"), b"").unwrap();
    let v = venue(feed, fix, 4_000, Faults::default());
    let live = gateway(feed, fix, &dir, Tier::Interpreter, 20).unwrap();
    v.join().unwrap().unwrap();
    for s in &live.strategies {
        assert!(s.risk_rejects.get("risk_kill_switch").copied().unwrap_or(0) > 0, "{s:?}");
        assert!(s.halted.is_none());
    }
}

/// The `gateway` binary running the market maker against `feed` and `fix`.
fn gateway_command(feed: SocketAddr, fix: SocketAddr) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"));
    c.args(["--feed", &feed.to_string(), "--fix", &fix.to_string()])
        .args(["--strategy", "avellaneda-stoikov", "--json", "--wait", "20"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c
}

/// Starts the `gateway` binary journaling into `dir`; returns once its journal exists (its
/// handlers are in place, the session starts).
#[allow(clippy::disallowed_methods, reason = "waits on the wall clock for a separate process")]
fn gateway_process(feed: SocketAddr, fix: SocketAddr, dir: &Path) -> std::process::Child {
    let child =
        gateway_command(feed, fix).arg("--journal").arg(dir).spawn().expect("start the gateway");
    let start = std::time::Instant::now();
    while !dir.join("0-avellaneda-stoikov.journal").exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "the gateway never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

/// Waits until the gateway has sent `n` FIX messages (its in-place `fix.seq` says so).
#[allow(clippy::disallowed_methods, reason = "waits on the wall clock for a separate process")]
fn wait_for_sent(dir: &Path, n: u64) {
    let start = std::time::Instant::now();
    loop {
        let mut store = lockstep_fix::FileSeqStore::new(dir.join("fix.seq"));
        if lockstep_fix::SeqStore::load(&mut store).is_ok_and(|s| s.next_sender > n) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the gateway sent no orders");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn signal(child: &std::process::Child, sig: &str) {
    let sent = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

#[test]
#[allow(clippy::disallowed_methods, reason = "waits on the wall clock for a separate process")]
fn a_gateway_killed_mid_session_leaves_its_sequence_numbers_and_a_readable_journal() {
    let _one = serial();
    let (feed, fix) = free_ports();
    let dir = journal_dir("kill9");
    let v = venue_paced(feed, fix, 200_000, Faults::default(), Pace::Rate(50_000));
    let mut child = gateway_process(feed, fix, &dir);
    wait_for_sent(&dir, 5);
    // Journals are written a chunk at a time: wait for the first whole chunk on disk.
    let path = dir.join("0-avellaneda-stoikov.journal");
    let start = std::time::Instant::now();
    while std::fs::metadata(&path).map_or(0, |m| m.len()) < 64 << 10 {
        assert!(start.elapsed() < Duration::from_secs(30), "no journal chunk was written");
        std::thread::sleep(Duration::from_millis(2));
    }
    signal(&child, "-9");
    let _ = child.wait();
    // The venue sees its gateway vanish; what matters here is what the gateway left.
    let _ = v.join();
    let mut store = lockstep_fix::FileSeqStore::new(dir.join("fix.seq"));
    let nums = lockstep_fix::SeqStore::load(&mut store).expect("fix.seq");
    assert!(nums.next_sender > 5 && nums.next_target > 2, "{nums:?}");
    let j = read_journal(std::fs::File::open(&path).unwrap()).expect("readable after kill -9");
    assert!(!j.entries.is_empty(), "torn tail {} bytes", j.torn_tail);
}

/// Kill -9 mid-session, then `--recover`: the session finishes, its journal re-runs to the
/// recovered session's digest, the journal written before the crash is a prefix of the new
/// one, every market event arrived once, and the venue saw no ClOrdID twice.
#[test]
#[allow(clippy::disallowed_methods, reason = "waits on the wall clock for a separate process")]
fn a_gateway_killed_mid_session_recovers_and_sends_no_order_twice() {
    let _one = serial();
    let (feed, fix) = free_ports();
    let dir = journal_dir("recover");
    let v = venue_paced(feed, fix, 100_000, Faults::default(), Pace::Rate(40_000));
    let mut child = gateway_command(feed, fix)
        .args(["--checkpoint-every", "5000", "--journal"])
        .arg(&dir)
        .spawn()
        .expect("start the gateway");
    // Killed after its first strategy checkpoint and 30 FIX messages.
    let start = std::time::Instant::now();
    while !dir.join("0-avellaneda-stoikov.ckpt").exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "no strategy checkpoint was written");
        std::thread::sleep(Duration::from_millis(2));
    }
    wait_for_sent(&dir, 30);
    signal(&child, "-9");
    let _ = child.wait();
    let out = gateway_command(feed, fix)
        .args(["--checkpoint-every", "5000", "--recover"])
        .arg(&dir)
        .output()
        .expect("recover");
    let venue = v.join().unwrap().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(venue.reconnects, 1, "{venue:?}");
    let rec = &report["recovery"];
    assert_eq!(rec["strategies_from_checkpoint"].as_u64(), Some(1), "{rec}");
    assert!(rec["inputs_from_journal"].as_u64() > Some(1000), "{rec}");
    assert!(
        rec["inputs"].as_u64() > Some(0) && rec["orders_not_resent"].as_u64() >= Some(25),
        "{rec}"
    );
    assert_eq!(venue.duplicate_requests, 0, "an order went out twice: {venue:?}");
    assert_eq!(report["market_events"].as_u64(), Some(venue.events), "{report}");
    let s = &report["strategies"][0];
    // Orders and cancels reached the venue on both sides of the crash (the end-of-session
    // cancels of orders still open are on top of what the strategy decided).
    let decided = s["orders_sent"].as_u64().unwrap() + s["cancels_sent"].as_u64().unwrap();
    assert!(venue.requests_fix > 30 && venue.requests_fix + 8 >= decided, "{venue:?} {s}");
    // The journal re-runs to the recovered session's digest; the one before the crash is
    // its prefix, record for record.
    let path = dir.join("0-avellaneda-stoikov.journal");
    let journal = read_journal(std::fs::File::open(&path).unwrap()).unwrap();
    let before = dir.join("before-recovery-1/0-avellaneda-stoikov.journal");
    let before = read_journal(std::fs::File::open(before).unwrap()).unwrap();
    assert!(!before.entries.is_empty() && before.entries.len() < journal.entries.len());
    assert_eq!(before.entries[..], journal.entries[..before.entries.len()]);
    let info = lockstep_strategies::get("avellaneda-stoikov").unwrap();
    let module = StrategyModule::new(&engine(Tier::Interpreter), info.wasm).unwrap();
    let mut again = module.instantiate(&journal.header.params).unwrap();
    let (init, fuel) = (again.actions().to_vec(), again.last_fuel().0);
    let r = verify(&journal, &mut again, &init, fuel, true);
    assert!(r.identical(), "{r:?}");
    assert_eq!(s["digest"].as_str(), Some(r.live_digest.as_str()));
}

#[test]
#[allow(clippy::disallowed_methods, reason = "waits on the wall clock for a separate process")]
fn sigusr1_pulls_the_kill_switch_mid_session() {
    let _one = serial();
    let (feed, fix) = free_ports();
    let dir = journal_dir("signalled");
    let v = venue_paced(feed, fix, 200_000, Faults::default(), Pace::Rate(50_000));
    let child = gateway_process(feed, fix, &dir);
    wait_for_sent(&dir, 5);
    signal(&child, "-USR1");
    let out = child.wait_with_output().expect("gateway output");
    v.join().unwrap().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    let s = &report["strategies"][0];
    assert!(s["risk_rejects"]["risk_kill_switch"].as_u64().unwrap_or(0) > 0, "{s}");
    assert!(s["orders_sent"].as_u64().unwrap_or(0) > 0, "it traded before the switch: {s}");
}

/// The first 20,000 messages of LOBSTER's GOOG sample (messages alone: order by order, which
/// ITCH carries whole), or `None` when the shared data is absent and not required.
fn goog_slice() -> Option<Box<dyn EventSource + Send>> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/lobster");
    let msg = data.join("GOOG_2012-06-21_34200000_57600000_message_5.csv");
    if !msg.is_file() {
        assert!(
            std::env::var("LOCKSTEP_REQUIRE_DATA").as_deref() != Ok("1"),
            "LOCKSTEP_REQUIRE_DATA=1 but {} is missing",
            msg.display()
        );
        eprintln!("notice: {} not found; skipping the GOOG slice", msg.display());
        return None;
    }
    let tape = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gateway-goog5.tape");
    let _ = std::fs::remove_file(&tape);
    let input = lockstep_import::LobsterInput {
        tick: lockstep_sdk::Price::parse("0.01"),
        ..lockstep_import::LobsterInput::new(msg)
    };
    let opts = lockstep_import::ImportOptions::default();
    lockstep_import::import_lobster(&[input], &tape, &opts).unwrap();
    let mut file = lockstep_io::open_tape(&tape).unwrap();
    let header = file.header().clone();
    let mut events = Vec::new();
    let mut buf = Vec::new();
    while events.len() < 20_000 && file.next_chunk(&mut buf).unwrap() {
        events.extend_from_slice(&buf);
    }
    events.truncate(20_000);
    Some(Box::new(lockstep_sim::MemorySource::new(header, events)))
}

#[test]
fn a_slice_of_the_goog_sample_over_loopback_verifies_on_both_tiers() {
    let _one = serial();
    for tier in [Tier::Interpreter, Tier::Compiled] {
        let Some(src) = goog_slice() else { return };
        let (feed, fix) = free_ports();
        let v = venue_over(feed, fix, src, Faults::default());
        let dir = journal_dir(&format!("goog-{tier}"));
        let live = gateway(feed, fix, &dir, tier, 20);
        let report = v.join().unwrap();
        let (live, report) = (live.unwrap(), report.unwrap());
        assert_eq!(live.feed.unrecoverable, 0, "{:?}", live.feed);
        assert_eq!(report.events, 20_000, "{report:?}");
        assert!(live.market_events > 15_000, "{live:?} {report:?}");
        assert!(live.strategies.iter().all(|s| s.halted.is_none() && s.acks > 0), "{live:?}");
        verify_journals(&dir, &live, tier);
    }
}
