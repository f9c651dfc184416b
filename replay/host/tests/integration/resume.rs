//! Straight = resumed: every built-in, stopped mid-tape and checkpointed on one tier, then
//! resumed from the checkpoint on the same tier and on the other, reaches the straight run's
//! digest; its fuel digest too when both halves ran on one tier. Corrupt and mismatched
//! checkpoints are refused with a typed error.

use crate::market::EVENTS;
use lockstep_engine::Tier;
use lockstep_host::{HostSession, SessionError, StrategySpec};
use lockstep_sim::{
    BlotterConfig, EventSource, NoMeter, ResumeError, RunReport, Session, SessionCheckpoint,
    SessionConfig, Synth, SynthConfig, hex,
};

fn market() -> Synth {
    Synth::new(SynthConfig { events: EVENTS, ..SynthConfig::default() })
}

fn config(tier: Tier) -> SessionConfig {
    SessionConfig {
        tier,
        measure_latency: false,
        blotter: Some(BlotterConfig::default()),
        ..SessionConfig::default()
    }
}

fn straight(spec: &StrategySpec, tier: Tier) -> RunReport {
    let mut m = market();
    let s = Session::load(m.header(), std::slice::from_ref(spec), config(tier)).expect("load");
    s.run(&mut m, &mut |_| {}).expect("run").report
}

/// Runs `spec` on `first` for `at` tape events and checkpoints it.
fn checkpoint(spec: &StrategySpec, first: Tier, at: u64) -> Vec<u8> {
    let mut m = market();
    let mut s = Session::load(m.header(), std::slice::from_ref(spec), config(first)).expect("load");
    s.stop_at(at);
    s.feed(&mut m, &mut |_| {}, &mut NoMeter).expect("first half");
    assert_eq!(s.events(), at);
    s.checkpoint(b"meta").expect("checkpoint")
}

fn resumed(spec: &StrategySpec, bytes: &[u8], second: Tier) -> Result<RunReport, SessionError> {
    let mut m = market();
    let ck = SessionCheckpoint::decode(bytes).map_err(SessionError::Resume)?;
    assert_eq!(ck.meta(), b"meta");
    let s = Session::resume(m.header(), std::slice::from_ref(spec), config(second), ck)?;
    Ok(s.run(&mut m, &mut |_| {}).expect("second half").report)
}

#[test]
fn every_builtin_resumes_to_the_straight_digest_on_and_across_tiers() {
    let mut bad = Vec::new();
    for info in lockstep_strategies::all() {
        let spec = StrategySpec::resolve(info.name, None, false).expect("built-in");
        let want = Tier::ALL.map(|t| straight(&spec, t));
        assert_eq!(want[0].digest, want[1].digest, "{}: the tiers differ", info.name);
        // An odd split point lands inside batches and between a venue's answers.
        let at = EVENTS / 3 + 7;
        for (i, first) in Tier::ALL.into_iter().enumerate() {
            let bytes = checkpoint(&spec, first, at);
            for (j, second) in Tier::ALL.into_iter().enumerate() {
                let got = resumed(&spec, &bytes, second).expect("resume");
                if got.digest != want[i].digest {
                    bad.push(format!(
                        "{} {first}->{second}: digest {} != straight {}",
                        info.name,
                        hex(&got.digest),
                        hex(&want[i].digest)
                    ));
                }
                if i == j && got.fuel_digest != want[i].fuel_digest {
                    bad.push(format!("{} {first}->{second}: fuel digest differs", info.name));
                }
                let (a, b) = (&got.strategies[0], &want[i].strategies[0]);
                if (a.events, a.actions, &a.exchange) != (b.events, b.actions, &b.exchange) {
                    bad.push(format!("{} {first}->{second}: counts or trading differ", info.name));
                }
            }
        }
    }
    assert!(bad.is_empty(), "straight != resumed:\n{}", bad.join("\n"));
}

#[test]
fn a_checkpoint_at_the_start_or_the_end_resumes_too() {
    let spec = StrategySpec::resolve("avellaneda-stoikov", None, false).expect("built-in");
    let want = straight(&spec, Tier::Interpreter).digest;
    for at in [0, 1, EVENTS] {
        let bytes = checkpoint(&spec, Tier::Interpreter, at);
        let got = resumed(&spec, &bytes, Tier::Interpreter).expect("resume").digest;
        assert_eq!(hex(&got), hex(&want), "checkpoint at {at}");
    }
}

#[test]
fn corrupt_or_foreign_checkpoints_are_refused() {
    let spec = StrategySpec::resolve("microprice", None, false).expect("built-in");
    let bytes = checkpoint(&spec, Tier::Interpreter, 500);
    let refused = |b: &[u8]| resumed(&spec, b, Tier::Interpreter).expect_err("refused");
    for cut in [0, 7, 20, bytes.len() / 2, bytes.len() - 1] {
        let e = refused(&bytes[..cut]);
        assert!(
            matches!(
                e,
                SessionError::Resume(ResumeError::NotACheckpoint | ResumeError::Corrupt { .. })
            ),
            "cut at {cut}: {e}"
        );
    }
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    assert!(refused(&flipped).to_string().contains("CRC mismatch"));
    let mut version = bytes.clone();
    version[8] = 99;
    assert!(matches!(refused(&version), SessionError::Resume(ResumeError::Version { found: 99 })));
    // Another strategy, other parameters, another tape, other exchange settings.
    let other = StrategySpec::resolve("noop", None, false).expect("built-in");
    let mut m = market();
    let ck = SessionCheckpoint::decode(&bytes).expect("decode");
    let e =
        Session::resume(m.header(), &[other], config(Tier::Interpreter), ck).expect_err("refused");
    assert!(e.to_string().contains("was checkpointed, not `noop`"), "{e}");
    let mut short = Synth::new(SynthConfig { events: 10, ..SynthConfig::default() });
    let ck = SessionCheckpoint::decode(&bytes).expect("decode");
    let e =
        Session::resume(short.header(), std::slice::from_ref(&spec), config(Tier::Interpreter), ck)
            .err()
            .unwrap();
    assert!(e.to_string().contains("taken on the tape"), "{e}");
    let mut cfg = config(Tier::Interpreter);
    cfg.exchange.latency.entry.0 += 1;
    let ck = SessionCheckpoint::decode(&bytes).expect("decode");
    let e = Session::resume(m.header(), std::slice::from_ref(&spec), cfg, ck).expect_err("refused");
    assert!(e.to_string().contains("other exchange settings"), "{e}");
    let _ = (&mut m, &mut short);
}

#[test]
fn a_native_build_cannot_be_checkpointed() {
    let spec = StrategySpec::resolve("microprice", None, true).expect("native");
    let mut m = market();
    let mut s = Session::load(m.header(), &[spec], config(Tier::Interpreter)).expect("load");
    s.stop_at(100);
    s.feed(&mut m, &mut |_| {}, &mut NoMeter).expect("feed");
    let e = s.checkpoint(&[]).expect_err("refused");
    assert!(matches!(e, ResumeError::NotCheckpointable { .. }), "{e}");
}

/// Bytes changed *and* the CRC made to match (a forgery, not an accident): every such
/// checkpoint is refused or resumes and runs to the end; none panics.
#[test]
fn forged_checkpoints_never_panic() {
    let spec = StrategySpec::resolve("avellaneda-stoikov", None, false).expect("built-in");
    let small = || Synth::new(SynthConfig { events: 3_000, ..SynthConfig::default() });
    let mut m = small();
    let mut s = Session::load(m.header(), std::slice::from_ref(&spec), config(Tier::Interpreter))
        .expect("load");
    s.stop_at(1_500);
    s.feed(&mut m, &mut |_| {}, &mut NoMeter).expect("first half");
    let bytes = s.checkpoint(b"").expect("checkpoint");
    // magic (8), version (4), body length (8), body, CRC (4)
    let body = 20..bytes.len() - 4;
    let mut rng = lockstep_sim::FuzzRng::new(7);
    let (mut refused, mut ran) = (0, 0);
    for _ in 0..300 {
        let mut forged = bytes.clone();
        for _ in 0..1 + rng.below(3) {
            let at = body.start + rng.below(body.len());
            forged[at] = rng.next_u64() as u8;
        }
        let crc = crc32fast::hash(&forged[body.clone()]);
        let end = forged.len();
        forged[end - 4..].copy_from_slice(&crc.to_le_bytes());
        let outcome = std::panic::catch_unwind(|| {
            let mut m = small();
            let ck = SessionCheckpoint::decode(&forged).map_err(|_| ())?;
            let s = Session::resume(
                m.header(),
                std::slice::from_ref(&spec),
                config(Tier::Interpreter),
                ck,
            )
            .map_err(|_| ())?;
            s.run(&mut m, &mut |_| {}).map(|_| ()).map_err(|_| ())
        });
        match outcome {
            Ok(Ok(())) => ran += 1,
            Ok(Err(())) => refused += 1,
            Err(_) => panic!("a forged checkpoint panicked the resume"),
        }
    }
    assert_eq!(refused + ran, 300);
}
