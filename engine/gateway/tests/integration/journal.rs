//! Journals verified: the live digest reached again on both tiers for every built-in; a
//! journal cut anywhere still reads up to its last complete chunk; a changed byte is named.

use crate::common::{SharedBuf, engine, session, spec};
use lockstep_engine::{StrategyModule, Tier};
use lockstep_gateway::{JournalError, RiskLimits, read_journal, verify};

#[test]
fn every_builtin_verifies_against_its_journal_on_both_tiers() {
    let _one = crate::common::serial();
    for info in lockstep_strategies::all() {
        for live_tier in [Tier::Interpreter, Tier::Compiled] {
            let buf = SharedBuf::default();
            let sums = session(
                vec![spec(info.name, live_tier, Some(buf.clone()))],
                RiskLimits::default(),
                3_000,
                None,
            );
            let live = &sums[0];
            assert!(live.journal_error.is_none(), "{live:?}");
            let journal = read_journal(&buf.bytes.lock().unwrap()[..]).unwrap();
            assert_eq!(
                journal.entries.len() as u64,
                live.events + 1,
                "{}: init + every input",
                info.name
            );
            for tier in [Tier::Interpreter, Tier::Compiled] {
                let module = StrategyModule::new(&engine(tier), info.wasm).unwrap();
                let mut again = module.instantiate(&journal.header.params).unwrap();
                let init = again.actions().to_vec();
                let fuel = again.last_fuel().0;
                let report = verify(&journal, &mut again, &init, fuel, tier == live_tier);
                assert!(report.identical(), "{} {live_tier}->{tier}: {report:?}", info.name);
                assert_eq!(report.live_digest, live.digest, "{}", info.name);
                if tier == live_tier {
                    assert_eq!(report.replay_fuel_digest, live.fuel_digest);
                }
            }
        }
    }
}

#[test]
fn a_strategy_that_differs_is_caught_at_its_first_difference() {
    let _one = crate::common::serial();
    let buf = SharedBuf::default();
    session(
        vec![spec("avellaneda-stoikov", Tier::Interpreter, Some(buf.clone()))],
        RiskLimits::default(),
        2_000,
        None,
    );
    let journal = read_journal(&buf.bytes.lock().unwrap()[..]).unwrap();
    // The same strategy with other parameters answers differently somewhere.
    let info = lockstep_strategies::get("avellaneda-stoikov").unwrap();
    let module = StrategyModule::new(&engine(Tier::Interpreter), info.wasm).unwrap();
    let mut other = module.instantiate("gamma=0.5").unwrap();
    let init = other.actions().to_vec();
    let fuel = other.last_fuel().0;
    let report = verify(&journal, &mut other, &init, fuel, true);
    assert!(!report.identical());
    assert_ne!(report.live_digest, report.replay_digest);
    // A journal whose recorded answer was changed at one input is caught at that input.
    let mut journal = journal;
    let k =
        journal.entries.iter().position(|e| !e.actions.is_empty() && e.event.seq() > 100).unwrap();
    journal.entries[k].actions.pop();
    let mut again = module.instantiate(info.default_params).unwrap();
    let init = again.actions().to_vec();
    let fuel = again.last_fuel().0;
    let report = verify(&journal, &mut again, &init, fuel, true);
    let d = report.first_difference.unwrap();
    assert_eq!(d.entry, k as u64, "{d:?}");
    assert!(d.what.contains("actions"), "{d:?}");
}

#[test]
fn a_cut_journal_reads_to_its_last_complete_chunk_and_a_changed_byte_is_named() {
    let _one = crate::common::serial();
    let buf = SharedBuf::default();
    session(
        vec![spec("microprice", Tier::Interpreter, Some(buf.clone()))],
        RiskLimits::default(),
        3_000,
        None,
    );
    let bytes = buf.bytes.lock().unwrap().clone();
    let whole = read_journal(&bytes[..]).unwrap();
    assert_eq!(whole.torn_tail, 0);
    let mut last = usize::MAX;
    let first_chunk = bytes.windows(4).position(|w| w == b"JCHK").unwrap();
    for cut in (first_chunk..bytes.len()).step_by(997) {
        let part = read_journal(&bytes[..cut]).unwrap();
        assert!(part.entries.len() <= whole.entries.len());
        assert_eq!(part.entries[..], whole.entries[..part.entries.len()], "cut at {cut}");
        assert!(last == usize::MAX || part.entries.len() >= last);
        last = part.entries.len();
    }
    let mut bad = bytes.clone();
    let at = bytes.len() / 2;
    bad[at] ^= 0x40;
    match read_journal(&bad[..]) {
        Err(JournalError::Corrupt { chunk, reason, .. }) => {
            assert!(chunk > 0 && reason.contains("CRC"), "{chunk} {reason}");
        }
        other => panic!("expected a corrupt chunk, got {:?}", other.map(|j| j.entries.len())),
    }
    assert!(matches!(read_journal(&b"hello"[..]), Err(JournalError::NotAJournal { .. })));
}
