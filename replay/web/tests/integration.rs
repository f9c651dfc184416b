//! The browser's run, with each strategy's native build standing in for the browser's engine,
//! against the server's session: the same digest for every built-in, event for event the same
//! code path the page drives (`WebRun::open`, `step`, `finish`).

use lockstep_host::HostSession;
use lockstep_host::StrategySpec;
use lockstep_sim::{EventSource, Session, SessionConfig, Synth, SynthConfig, hex};
use lockstep_web::WebRun;

const EVENTS: u64 = 10_000;

#[test]
fn every_builtin_gives_the_servers_digest() {
    // A WebAssembly-only strategy (AssemblyScript) has no native runner for this in-process
    // check; the Node test (`replay/tests/integration/web.rs`) runs its module instead.
    for info in lockstep_strategies::all().iter().filter(|i| i.has_native()) {
        let native = info.native(info.default_params).expect("defaults are valid");
        let init = native.actions().to_vec();
        let cfg = format!(
            r#"{{"events":{EVENTS},"strategies":[{{"name":"{}","params":"{}"}}],"keep":5}}"#,
            info.name, info.default_params
        );
        let mut run = WebRun::open(&cfg, None, vec![(native, init)]).unwrap();
        // Small, uneven steps: stepping must not change what happens.
        let mut stepped = 0;
        loop {
            let n = run.step(777).unwrap();
            if n == 0 {
                break;
            }
            stepped += n;
            if stepped % (777 * 10) == 0 {
                let snap = run.snapshot().unwrap();
                assert_eq!(snap.events, stepped);
                assert!(snap.trades.len() <= 5 && snap.actions.len() <= 5);
            }
        }
        let browser = run.finish().unwrap();

        let mut src = Synth::new(SynthConfig { events: EVENTS, ..SynthConfig::default() });
        let spec = StrategySpec::resolve(info.name, None, false).unwrap();
        let cfg = SessionConfig { measure_latency: false, ..SessionConfig::default() };
        let server = Session::load(src.header(), &[spec], cfg)
            .unwrap()
            .run(&mut src, &mut |_| {})
            .unwrap()
            .report;
        assert_eq!(browser.events, EVENTS, "{}", info.name);
        assert_eq!(browser.digest, hex(&server.digest), "{}", info.name);
        let (b, s) = (&browser.strategies[0], &server.strategies[0]);
        assert_eq!((b.actions, b.fills), (s.actions, s.exchange.fills), "{}", info.name);
        assert_eq!(b.pnl, s.exchange.pnl.to_string(), "{}", info.name);
    }
}

#[test]
fn a_tape_in_memory_replays_like_the_synthetic_market_it_holds() {
    // The synthetic market written to a tape in memory, read back by the browser's run.
    let mut src = Synth::new(SynthConfig { events: 5_000, ..SynthConfig::default() });
    let header = src.header().clone();
    let mut w = lockstep_sim::TapeWriter::new(
        std::io::Cursor::new(Vec::new()),
        header,
        lockstep_sim::Compression::Deflate,
    )
    .unwrap();
    let mut buf = Vec::new();
    while src.next_chunk(&mut buf).unwrap() {
        for e in &buf {
            w.push(e).unwrap();
        }
    }
    let (_, _, cursor) = w.finish_into().unwrap();
    let tape = cursor.into_inner();
    let open = |tape: Option<Vec<u8>>| {
        let info = lockstep_strategies::get("microprice").unwrap();
        let native = info.native("").unwrap();
        let init = native.actions().to_vec();
        let cfg = r#"{"events":5000,"strategies":[{"name":"microprice"}]}"#;
        WebRun::open(cfg, tape, vec![(native, init)]).unwrap().finish().unwrap()
    };
    let from_tape = open(Some(tape.clone()));
    assert_eq!(from_tape.digest, open(None).digest);
    // A corrupt chunk is refused with where it is; nothing panics.
    let mut bad = tape;
    let at = bad.len() - 40;
    bad[at] ^= 0xff;
    let info = lockstep_strategies::get("microprice").unwrap();
    let native = info.native("").unwrap();
    let mut run = WebRun::open(
        r#"{"strategies":[{"name":"microprice"}]}"#,
        Some(bad),
        vec![(native, Vec::new())],
    )
    .unwrap();
    let err = run.finish().unwrap_err().to_string();
    assert!(err.starts_with("tape:") && err.contains("chunk"), "{err}");
}
