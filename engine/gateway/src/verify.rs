//! Verification of a journal: run the strategy again over the inputs the gateway handed it
//! and check that it answers the same to every one, so the live session's digest is proven
//! rather than trusted.

use crate::journal::{Journal, Origin};
use crate::step::digest_step;
use lockstep_sdk::{ActionRecord, StrategyRunner};
use lockstep_sim::{Digest, hex};
use serde::Serialize;

/// Where a re-run first answered differently from the live session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// Index of the journal entry.
    pub entry: u64,
    /// The input's sequence number.
    pub seq: u64,
    /// What differed.
    pub what: String,
}

/// The result of verifying one journal.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// The strategy.
    pub strategy: String,
    /// Entries verified.
    pub entries: u64,
    /// Bytes a crash left after the last complete chunk (dropped).
    pub torn_tail: u64,
    /// The live session's digest, from the answers it journaled.
    pub live_digest: String,
    /// The digest of the re-run.
    pub replay_digest: String,
    /// The live session's fuel digest.
    pub live_fuel_digest: String,
    /// The re-run's fuel digest (equal only on the tier the live session used).
    pub replay_fuel_digest: String,
    /// Whether the fuel of every call was compared (the re-run is on the live tier).
    pub fuel_compared: bool,
    /// The first difference, if the re-run parted from the live session.
    pub first_difference: Option<Difference>,
}

impl VerifyReport {
    /// Whether the re-run reached the live digest with no difference.
    pub fn identical(&self) -> bool {
        self.first_difference.is_none() && self.live_digest == self.replay_digest
    }
}

/// Re-runs `runner` (started with the journal's parameters; its `init` returned
/// `init_actions` with `init_fuel`) over `journal`. `same_tier`: the fuel is compared too.
pub fn verify(
    journal: &Journal,
    runner: &mut dyn StrategyRunner,
    init_actions: &[ActionRecord],
    init_fuel: u64,
    same_tier: bool,
) -> VerifyReport {
    let (mut live, mut again) = (Digest::new(), Digest::new());
    let mut first = None;
    for (i, e) in journal.entries.iter().enumerate() {
        let (actions, fuel, error) = if e.origin == Origin::Init {
            (init_actions.to_vec(), init_fuel, 0)
        } else {
            match runner.on_event(&e.event, e.book.as_ref()) {
                Ok(step) => (step.actions.to_vec(), step.fuel.unwrap_or(0), 0),
                Err(err) => (Vec::new(), err.fuel().unwrap_or(0), err.code()),
            }
        };
        digest_step(&mut live, e.origin, &e.event, e.fuel, &e.actions, e.error);
        digest_step(&mut again, e.origin, &e.event, fuel, &actions, error);
        if first.is_none() {
            let what = if actions != e.actions {
                Some(format!(
                    "{} actions live, {} on re-run (or different bytes)",
                    e.actions.len(),
                    actions.len()
                ))
            } else if error != e.error {
                Some(format!("error code {} live, {error} on re-run", e.error))
            } else if same_tier && fuel != e.fuel {
                Some(format!("fuel {} live, {fuel} on re-run", e.fuel))
            } else {
                None
            };
            first = what.map(|what| Difference { entry: i as u64, seq: e.event.seq(), what });
        }
    }
    let (ld, lf) = live.finish_with_fuel();
    let (rd, rf) = again.finish_with_fuel();
    VerifyReport {
        strategy: journal.header.strategy.clone(),
        entries: journal.entries.len() as u64,
        torn_tail: journal.torn_tail,
        live_digest: hex(&ld),
        replay_digest: hex(&rd),
        live_fuel_digest: hex(&lf),
        replay_fuel_digest: hex(&rf),
        fuel_compared: same_tier,
        first_difference: first,
    }
}
