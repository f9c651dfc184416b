//! Golden digests for each strategy over the catalog's market (replay's synthetic market and
//! simulated exchange): replay's `digest` (what the strategy did, the same natively and on both
//! tiers) and its `fuel_digest` (what it cost, also the same on both tiers: the module meters
//! its own fuel). A change in behaviour moves the first; a change that only makes a strategy
//! cheaper or dearer moves the fuel digest alone. To accept an intended change, run with
//! `LOCKSTEP_BLESS=1` and commit `tests/golden/digests.txt` (`name digest fuel` per line).

use crate::market::{How, run};
use lockstep_engine::Tier;
use lockstep_sim::hex;
use std::collections::BTreeMap;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/digests.txt");

fn digest(name: &str) -> String {
    let [interp, compiled] = Tier::ALL.map(|t| run(name, How::Wasm(t), None));
    assert_eq!(interp.digest, compiled.digest, "{name}: the tiers differ");
    assert_eq!(interp.fuel_digest, compiled.fuel_digest, "{name}: the tiers' fuel differs");
    format!("{} {}", hex(&interp.digest), hex(&interp.fuel_digest))
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
