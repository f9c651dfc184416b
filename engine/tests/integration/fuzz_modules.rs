//! Module loading fuzzed on stable Rust: valid modules (the SDK-free WAT strategy and every
//! catalog strategy) mutated by byte flips, edge bytes, truncations, insertions and section
//! splices (a section replaced by another module's, duplicated, deleted or moved), each loaded,
//! instantiated and run on every tier. Zero panics, zero hangs (every guest call is
//! fuel-bounded), every failure a typed [`Error`], and the tiers agree: a module refused by one
//! is refused by the other at the same stage with the same error variant
//! (`Error::code() >> 8`), and one both accept does the same on both.
//!
//! The case count is bounded for CI (a few seconds in a debug build); `LOCKSTEP_FUZZ_CASES`
//! sets the number of mutants per seed module for a long run, e.g.
//! `LOCKSTEP_FUZZ_CASES=20000 cargo test --release -p lockstep-engine --test integration fuzz_`.
//! A failure names the seed module and case number; the same build repeats it exactly.

use crate::common::{MID_WAT, engine_with_fuel, events, wasm};
use lockstep_engine::{Engine, Error, StrategyModule, Tier};
use lockstep_sdk::{BookRecord, EventRecord};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Mutants per seed module unless `LOCKSTEP_FUZZ_CASES` says otherwise.
const DEFAULT_CASES: u64 = 40;

/// Fuel per event: far above what any catalog strategy uses, low enough that a mutant looping
/// forever is stopped in a few milliseconds.
const FUEL: u64 = 5_000_000;

fn cases() -> u64 {
    std::env::var("LOCKSTEP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES)
}

/// The workspace's generator, with the index helper the mutations use.
struct Rng(lockstep_engine::sdk::SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n.max(1) as u64) as usize
    }
}

/// The byte ranges of a module's sections (id, size and payload), when it parses that far.
fn sections(m: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < m.len() {
        let (mut size, mut shift, mut at) = (0usize, 0u32, pos + 1);
        loop {
            let Some(&b) = m.get(at) else { return out };
            at += 1;
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 28 {
                break;
            }
        }
        let Some(end) = at.checked_add(size).filter(|&e| e <= m.len()) else { return out };
        out.push((pos, end));
        pos = end;
    }
    out
}

/// One mutant of `seeds[i]`; `donor` lends sections for splices.
fn mutate(rng: &mut Rng, module: &[u8], donor: &[u8]) -> Vec<u8> {
    let mut m = module.to_vec();
    let secs = sections(&m);
    let pick = |rng: &mut Rng, s: &[(usize, usize)]| s[rng.below(s.len())];
    match rng.below(8) {
        // Bit flips.
        0 => {
            for _ in 0..=rng.below(4) {
                let i = rng.below(m.len());
                m[i] ^= 1 << rng.below(8);
            }
        }
        // Edge bytes (LEB128 continuation, sign, type codes) at random places.
        1 => {
            for _ in 0..=rng.below(4) {
                let i = rng.below(m.len());
                m[i] = [0x00, 0xff, 0x7f, 0x80, 0x40, 0x0b, 0x60, 0x41][rng.below(8)];
            }
        }
        // Truncation.
        2 => m.truncate(rng.below(m.len())),
        // A section replaced by one of another module.
        3 if !secs.is_empty() => {
            let (a, b) = pick(rng, &secs);
            let ds = sections(donor);
            if !ds.is_empty() {
                let (c, d) = pick(rng, &ds);
                m.splice(a..b, donor[c..d].iter().copied());
            }
        }
        // A section duplicated in place.
        4 if !secs.is_empty() => {
            let (a, b) = pick(rng, &secs);
            let copy = m[a..b].to_vec();
            m.splice(b..b, copy);
        }
        // A section deleted.
        5 if !secs.is_empty() => {
            let (a, b) = pick(rng, &secs);
            m.drain(a..b);
        }
        // A section moved to the front.
        6 if !secs.is_empty() => {
            let (a, b) = pick(rng, &secs);
            let s: Vec<u8> = m.drain(a..b).collect();
            m.splice(8..8, s);
        }
        // Random bytes inserted.
        _ => {
            let at = rng.below(m.len() + 1);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            m.splice(at..at, bytes);
        }
    }
    m
}

/// What a module did on one tier.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Refused at `stage` (`load`, `init` or `event N`) with this error variant.
    Refused { stage: String, variant: u16 },
    /// Ran every event; the action bytes of each.
    Ran(Vec<Vec<u8>>),
}

fn outcome(
    engine: &Engine,
    bytes: &[u8],
    params: &str,
    evs: &[(EventRecord, Option<BookRecord>)],
) -> Outcome {
    let refused = |stage: String, e: &Error| {
        // Every error is a typed engine error with a code and a message that says what to do.
        assert!(!e.to_string().is_empty());
        Outcome::Refused { stage, variant: e.code() >> 8 }
    };
    let module = match StrategyModule::new(engine, bytes) {
        Ok(m) => m,
        Err(e) => return refused("load".into(), &e),
    };
    let mut inst = match module.instantiate(params) {
        Ok(i) => i,
        Err(e) => return refused("init".into(), &e),
    };
    let mut ran = Vec::with_capacity(evs.len());
    for (i, (ev, book)) in evs.iter().enumerate() {
        match inst.on_event(ev, book.as_ref()) {
            Ok(acts) => ran.push(acts.iter().flat_map(|a| a.0).collect()),
            Err(e) => {
                assert!(inst.is_halted() || !e.halts(), "{e} must halt the instance");
                return refused(format!("event {i}"), &e);
            }
        }
    }
    Outcome::Ran(ran)
}

#[test]
fn fuzz_mutated_modules_load_and_run_alike_on_both_tiers_without_panics() {
    let mut seeds: Vec<(&str, Vec<u8>, &str)> = vec![("MID_WAT", wasm(MID_WAT), "")];
    for info in lockstep_strategies::all() {
        seeds.push((info.name, info.wasm.to_vec(), info.default_params));
    }
    let evs = events(20);
    let cases = cases();
    // One engine per tier, shared by every mutant (as a gateway shares one).
    let engines: Vec<(Tier, Engine)> =
        Tier::ALL.into_iter().map(|t| (t, engine_with_fuel(t, FUEL))).collect();
    let mut rng = Rng(lockstep_engine::sdk::SplitMix64::new(0x5EED_F10A_D000));
    let mut tally = [0u64; 3]; // refused at load, refused later, ran
    for (i, (name, seed, params)) in seeds.iter().enumerate() {
        // The unmutated seed runs on both tiers (the mutations start from a valid module).
        for (tier, engine) in &engines {
            let healthy = outcome(engine, seed, params, &evs);
            assert!(matches!(healthy, Outcome::Ran(_)), "{name} on the {tier} tier: {healthy:?}");
        }
        for case in 0..cases {
            let donor = &seeds[(i + 1 + rng.below(seeds.len() - 1)) % seeds.len()].1;
            let bytes = mutate(&mut rng, seed, donor);
            let run = |(tier, engine): &(Tier, Engine)| {
                catch_unwind(AssertUnwindSafe(|| outcome(engine, &bytes, params, &evs)))
                    .unwrap_or_else(|_| panic!("{name} case {case}: panicked on the {tier} tier"))
            };
            let reference = run(&engines[0]);
            for e in &engines[1..] {
                // Fuel is metered by the module itself: running out of it agrees too.
                let other = run(e);
                assert_eq!(
                    other, reference,
                    "{name} case {case}: the {} tier disagrees with the {}",
                    e.0, engines[0].0
                );
            }
            tally[match &reference {
                Outcome::Refused { stage, .. } if stage == "load" => 0,
                Outcome::Refused { .. } => 1,
                Outcome::Ran(_) => 2,
            }] += 1;
        }
    }
    eprintln!(
        "{} mutants: {} refused at load, {} failed later, {} ran",
        tally.iter().sum::<u64>(),
        tally[0],
        tally[1],
        tally[2]
    );
    // The mutations reach every stage: a fuzzer whose mutants all die in the parser (or all
    // survive) would test little.
    assert!(tally[0] > 0 && tally[2] > 0, "{tally:?}");
}
