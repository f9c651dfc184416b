//! Events per second for import, tape decoding, book-only replay, and replay with the no-op
//! strategy and the market makers (WebAssembly and native), with and without per-event latency
//! measurement; and the heap allocations made in steady state. Prints numbers; asserts nothing.
//!
//! `cargo bench -p lockstep-replay --bench throughput` (set `BENCH_CORE=n` to pin, `BENCH_REPS`
//! for repetitions). The LOBSTER rows are skipped when `../shared/data` is absent.

use lockstep_host::HostSession;
use lockstep_host::{Stopwatch, StrategySpec};
use lockstep_import::{ImportOptions, LobsterInput, import_lobster};
use lockstep_sim::{
    Book, Compression, EventSource, MemorySource, Session, SessionConfig, Synth, SynthConfig,
};
use std::path::{Path, PathBuf};

/// Counts heap allocations (the engine's one counting allocator), to show the replay does not
/// allocate per event.
#[global_allocator]
static ALLOCATOR: lockstep_engine::CountingAlloc = lockstep_engine::CountingAlloc::new();

/// Allocations made while replaying, from the end of the second chunk to the end of the last.
fn steady_state_allocations(src: &MemorySource, specs: &[StrategySpec]) -> (u64, u64) {
    let mut s = src.rewind();
    let session = Session::load(s.header(), specs, SessionConfig::default()).expect("session");
    let mut marks: Vec<(u64, u64)> = Vec::with_capacity(1024);
    session
        .run(&mut s, &mut |n| {
            if marks.len() < marks.capacity() {
                marks.push((n, ALLOCATOR.allocations()));
            }
        })
        .expect("replay");
    let (first, last) = (marks[1], marks[marks.len() - 1]);
    (last.1 - first.1, last.0 - first.0)
}

fn reps() -> usize {
    std::env::var("BENCH_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(5)
}

/// Runs `f` (which returns the number of events it handled) several times; prints the median
/// and best rate.
fn measure(name: &str, mut f: impl FnMut() -> u64) {
    let mut rates: Vec<f64> = (0..reps())
        .map(|_| {
            let sw = Stopwatch::start();
            let n = f();
            n as f64 * 1e9 / sw.elapsed_ns().max(1) as f64
        })
        .collect();
    rates.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{name:<44} median {:>7.2} M events/s   best {:>7.2} M events/s",
        rates[rates.len() / 2] / 1e6,
        rates[rates.len() - 1] / 1e6
    );
}

fn replay(src: &MemorySource, specs: &[StrategySpec]) -> u64 {
    replay_with(src, specs, SessionConfig::default())
}

fn replay_with(src: &MemorySource, specs: &[StrategySpec], cfg: SessionConfig) -> u64 {
    let mut s = src.rewind();
    let session = Session::load(s.header(), specs, cfg).expect("session");
    let out = session.run(&mut s, &mut |_| {}).expect("replay");
    for st in &out.report.strategies {
        assert!(st.halted.is_none(), "{} halted: {:?}", st.name, st.halted);
    }
    out.report.events
}

fn book_only(src: &MemorySource) -> u64 {
    let n = src.header().instruments.len();
    let mut books: Vec<Book> = (0..n).map(|_| Book::new()).collect();
    let mut changed = 0u64;
    for e in src.events() {
        changed += u64::from(books[usize::from(e.instrument)].apply(&e.msg).changed);
    }
    std::hint::black_box(changed);
    src.events().len() as u64
}

fn write_tape(src: &MemorySource, path: &Path) {
    let mut w =
        lockstep_io::TapeFile::create(path, src.header().clone(), Compression::None).expect("tape");
    for e in src.events() {
        w.push(e).expect("push");
    }
    w.finish().expect("finish");
}

fn decode(path: &Path) -> u64 {
    let mut r = lockstep_io::open_tape(path).expect("open");
    let mut buf = Vec::new();
    let mut n = 0;
    while r.next_chunk(&mut buf).expect("chunk") {
        n += buf.len() as u64;
    }
    n
}

fn suite(label: &str, src: &MemorySource, tape: &Path) {
    println!("-- {label}: {} events", src.events().len());
    let spec = |n: &str, native: bool| StrategySpec::resolve(n, None, native).expect("strategy");
    measure("decode tape (file, chunked)", || decode(tape));
    measure("book only (Book::apply)", || book_only(src));
    measure("replay, book only (feeder, timing)", || replay(src, &[]));
    measure("replay, book + noop (wasm)", || replay(src, &[spec("noop", false)]));
    measure("replay, book + noop (native)", || replay(src, &[spec("noop", true)]));
    let quiet = || SessionConfig { measure_latency: false, ..SessionConfig::default() };
    measure("replay, book only, no latency measurement", || replay_with(src, &[], quiet()));
    measure("replay, book + noop (wasm), no latency measurement", || {
        replay_with(src, &[spec("noop", false)], quiet())
    });
    measure("replay, book + avellaneda-stoikov (wasm)", || {
        replay(src, &[spec("avellaneda-stoikov", false)])
    });
    measure("replay, book + avellaneda-stoikov (native)", || {
        replay(src, &[spec("avellaneda-stoikov", true)])
    });
    measure("replay, book + microprice (wasm)", || replay(src, &[spec("microprice", false)]));
    for name in ["noop", "avellaneda-stoikov"] {
        let (allocs, events) = steady_state_allocations(src, &[spec(name, false)]);
        println!(
            "{:<44} {allocs} allocations over {events} events in steady state",
            format!("allocations, book + {name} (wasm)")
        );
    }
}

fn main() {
    if let Some(c) = std::env::var("BENCH_CORE").ok().and_then(|v| v.parse::<usize>().ok()) {
        match lockstep_engine::pin_current_thread(c) {
            Ok(_) => println!("pinned to core {c}"),
            Err(e) => println!("not pinned: {e}"),
        }
    }
    let dir = std::env::temp_dir().join(format!("lockstep-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    let mut synth = Synth::new(SynthConfig::default());
    measure("generate synthetic market", || {
        let mut s = Synth::new(SynthConfig::default());
        MemorySource::load(&mut s).expect("synth").events().len() as u64
    });
    let synth = MemorySource::load(&mut synth).expect("synth");
    let synth_tape = dir.join("synth.tape");
    write_tape(&synth, &synth_tape);
    suite("synthetic market (default)", &synth, &synth_tape);

    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/lobster");
    let msg = data.join("GOOG_2012-06-21_34200000_57600000_message_5.csv");
    let ob = data.join("GOOG_2012-06-21_34200000_57600000_orderbook_5.csv");
    if msg.exists() {
        let tape = dir.join("goog.tape");
        measure("import LOBSTER GOOG level 5 (with orderbook)", || {
            import_lobster(
                &[LobsterInput::new(&msg).with_orderbook(&ob)],
                &tape,
                &ImportOptions::default(),
            )
            .expect("import")
            .events
        });
        let goog =
            MemorySource::load(&mut lockstep_io::open_tape(&tape).expect("tape")).expect("load");
        suite("LOBSTER GOOG 2012-06-21 level 5", &goog, &tape);
    } else {
        println!("-- LOBSTER data not found at {}: skipped", data.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
