//! Golden digests for each strategy over the fixed stream, on the interpreter: one SHA-256 over
//! every event's sequence number and action bytes (what the strategy did), one over every
//! event's fuel (what it cost). A change in behaviour moves the first; a change that only makes
//! a strategy cheaper or dearer moves the second alone. To accept an intended change, run with
//! `LOCKSTEP_BLESS=1` and commit `tests/golden/digests.txt` (`name actions fuel` per line).

use crate::native_vs_wasm::{EVENTS, wasm_run};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/digests.txt");

fn digest(name: &str) -> String {
    let (mut acts, mut cost) = (Sha256::new(), Sha256::new());
    for (seq, fuel, actions) in wasm_run(name, EVENTS) {
        acts.update(seq.to_le_bytes());
        acts.update((actions.len() as u32).to_le_bytes());
        for a in actions {
            acts.update(a.0);
        }
        cost.update(seq.to_le_bytes());
        cost.update(fuel.unwrap_or(0).to_le_bytes());
    }
    let hex = |h: Sha256| {
        h.finalize().iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    format!("{} {}", hex(acts), hex(cost))
}

#[test]
fn digests_match_the_checked_in_values() {
    let text = std::fs::read_to_string(FILE).unwrap_or_default();
    let golden: BTreeMap<&str, &str> =
        text.lines().filter_map(|l| l.split_once(' ')).map(|(n, d)| (n.trim(), d.trim())).collect();
    let mut now = BTreeMap::new();
    for info in lockstep_strategies::all() {
        now.insert(info.name, digest(info.name));
    }
    if std::env::var_os("LOCKSTEP_BLESS").is_some() {
        let body: String = now.iter().map(|(n, d)| format!("{n} {d}\n")).collect();
        std::fs::write(FILE, body).expect("write golden digests");
        return;
    }
    let mut bad = Vec::new();
    for (name, d) in &now {
        match golden.get(name) {
            Some(g) if g == d => {}
            Some(g) => bad.push(format!("{name}: expected {g}, got {d}")),
            None => bad.push(format!("{name}: no golden digest checked in (got {d})")),
        }
    }
    assert!(
        bad.is_empty(),
        "golden digests differ (run with LOCKSTEP_BLESS=1 to accept an intended change):\n{}",
        bad.join("\n")
    );
}
