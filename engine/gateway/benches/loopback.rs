//! Wire-to-wire latency over loopback: `replay venue`'s code in one thread publishing a tape as
//! ITCH over UDP and matching FIX orders, the gateway in another, for each tier at full speed
//! and at 100,000 messages a second. Prints p50, p99, p99.9, p99.99 and max per stage; asserts
//! nothing about time.
//!
//! Run: `cargo bench -p lockstep-gateway --bench loopback` (the synthetic market), or on the
//! GOOG sample:
//! `replay import lobster --message ../shared/data/lobster/GOOG_2012-06-21_34200000_57600000_message_5.csv --tick 0.01 --out goog5.tape`
//! then `cargo bench -p lockstep-gateway --bench loopback -- --tape goog5.tape`.

use lockstep_engine::{Config, Engine, Fuel, StrategyModule, Tier};
use lockstep_gateway::{
    Faults, GatewayOptions, JournalHeader, LiveReport, LiveStrategy, Pace, RiskLimits,
    VenueOptions, run_gateway, run_venue,
};
use lockstep_sim::{EventSource, Synth, SynthConfig};
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

fn source(tape: Option<&PathBuf>, events: u64) -> Box<dyn EventSource + Send> {
    match tape {
        Some(p) => Box::new(lockstep_io::open_tape(p).expect("a readable tape")),
        None => Box::new(Synth::new(SynthConfig { events, ..SynthConfig::default() })),
    }
}

fn run(tape: Option<&PathBuf>, events: u64, tier: Tier, pace: Pace, name: &str) -> LiveReport {
    let feed = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let fix = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut src = source(tape, events);
    let venue = std::thread::spawn(move || {
        let header = src.header().clone();
        let opts = VenueOptions {
            feed,
            fix,
            pace,
            wait: Duration::from_secs(30),
            session: "BENCH".into(),
            faults: Faults::default(),
        };
        run_venue(&header, src.as_mut(), &opts).map_err(|e| e.to_string())
    });
    let info = lockstep_strategies::get(name).expect("built-in");
    let mut c = Config::new();
    c.tier(tier).fuel_per_event(Fuel(50_000_000));
    let module = StrategyModule::new(&Engine::new(&c), info.wasm).unwrap();
    let instance = module.instantiate(info.default_params).unwrap();
    let header = JournalHeader {
        strategy: name.into(),
        params: info.default_params.into(),
        module_sha256: String::new(),
        tier: tier.to_string(),
        init_fuel: instance.last_fuel().0,
    };
    let strategy = LiveStrategy {
        header,
        init_actions: instance.actions().to_vec(),
        runner: Box::new(instance),
        restore: None,
    };
    let dir = std::env::temp_dir()
        .join(format!("lockstep-loopback-{}-{tier}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = GatewayOptions {
        feed,
        fix,
        journal_dir: dir.clone(),
        risk: RiskLimits::default(),
        wait: Duration::from_secs(30),
        kill: lockstep_gateway::KillSwitch::default(),
        recover: false,
        checkpoint_events: 0,
        checkpoint_interval: Duration::ZERO,
    };
    let report = run_gateway(&opts, vec![strategy]).expect("the gateway runs");
    venue.join().unwrap().expect("the venue runs");
    let _ = std::fs::remove_dir_all(&dir);
    report
}

/// The platform's floor for the send stage: one `write` of a FIX-sized message (200 bytes) on a
/// loopback TCP socket with `TCP_NODELAY`, to a reader spinning on the other end, paced at
/// 100,000 a second. No wire-to-wire figure can be below it with the kernel's TCP.
#[allow(clippy::disallowed_methods, reason = "measures real time; nothing here reaches a digest")]
fn tcp_write_floor() -> [u64; 3] {
    use std::io::{Read, Write};
    use std::time::Instant;
    const N: usize = 20_000;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nonblocking(true).unwrap();
        let (mut buf, mut got) = (vec![0u8; 65_536], 0usize);
        while got < N * 200 {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(_) => std::hint::spin_loop(),
            }
        }
    });
    let mut w = std::net::TcpStream::connect(addr).unwrap();
    w.set_nodelay(true).unwrap();
    let msg = [b'x'; 200];
    let mut took = Vec::with_capacity(N);
    let start = Instant::now();
    for i in 0..N {
        let due = Duration::from_micros(10 * i as u64);
        while start.elapsed() < due {
            std::hint::spin_loop();
        }
        let t = Instant::now();
        w.write_all(&msg).unwrap();
        took.push(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    reader.join().unwrap();
    took.sort_unstable();
    [took[N / 2], took[N * 99 / 100], took[N * 999 / 1000]]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tape =
        args.iter().position(|a| a == "--tape").and_then(|i| args.get(i + 1)).map(PathBuf::from);
    let events = args
        .iter()
        .position(|a| a == "--events")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(50_000);
    println!(
        "gateway wire-to-wire over loopback ({}), latency in ns from the datagram's receipt to the order's bytes written",
        tape.as_ref().map_or_else(
            || format!("synthetic market, {events} events"),
            |t| t.display().to_string()
        )
    );
    let [p50, p99, p999] = tcp_write_floor();
    println!(
        "-- platform floor: one 200-byte TCP write over loopback at 100,000/s: p50 {p50}  p99 {p99}  p99.9 {p999}"
    );
    for name in ["microprice", "avellaneda-stoikov"] {
        for tier in [Tier::Interpreter, Tier::Compiled] {
            for (label, pace) in [("full speed", Pace::Max), ("100,000 msg/s", Pace::Rate(100_000))]
            {
                let r = run(tape.as_ref(), events, tier, pace, name);
                let f = &r.feed;
                println!(
                    "-- {name}, {tier}, {label}: {} market events, {} datagrams, {} gaps ({} recovered, {} lost)",
                    r.market_events, f.datagrams, f.gaps, f.recovered, f.unrecoverable
                );
                for l in &r.latency {
                    let p = &l.latency;
                    println!(
                        "   {:<13} n={:<6} p50 {:>8}  p99 {:>9}  p99.9 {:>9}  p99.99 {:>9}  max {:>9}",
                        l.stage, p.count, p.p50, p.p99, p.p999, p.p9999, p.max
                    );
                }
            }
        }
    }
}
