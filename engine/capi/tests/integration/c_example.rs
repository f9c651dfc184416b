//! The C gateway (`examples/c/gateway.c`), linked statically and dynamically.

use crate::reference::{check, expected};
use crate::{Link, c_gateway, lib_dir, line, run_ok, wasm_path};
use lockstep_engine::Tier;
use std::process::Command;

const EVENTS: u64 = 2000;

fn run_gateway(link: Link, strategy: &str, tier: Tier) -> String {
    let params = lockstep_strategies::get(strategy).unwrap().default_params;
    let mut cmd = Command::new(c_gateway(link));
    cmd.arg(wasm_path(strategy)).arg(tier.name()).arg(params).arg(EVENTS.to_string());
    if link == Link::Shared {
        cmd.env("LD_LIBRARY_PATH", lib_dir());
    }
    run_ok(&mut cmd)
}

fn both_tiers(link: Link, strategy: &str) {
    let mut actions = Vec::new();
    for tier in Tier::ALL {
        let out = run_gateway(link, strategy, tier);
        check(&out, &expected(strategy, tier, EVENTS));
        assert!(line(&out, "checks=").ends_with("failed=0"), "{out}");
        assert_eq!(
            line(&out, "restored "),
            format!("restored compared={} identical=yes", EVENTS / 2)
        );
        actions.push(line(&out, "actions ").to_owned());
    }
    assert_eq!(actions[0], actions[1], "the tiers' actions differ");
    let total: u64 = actions[0]
        .split_whitespace()
        .filter_map(|kv| kv.split_once('=')?.1.parse::<u64>().ok())
        .sum();
    assert!(total > 0, "{strategy} acted on none of the events: {}", actions[0]);
}

#[test]
fn static_c_gateway_matches_the_rust_engine_on_both_tiers() {
    both_tiers(Link::Static, "microprice");
}

#[test]
fn shared_c_gateway_matches_the_rust_engine_on_both_tiers() {
    both_tiers(Link::Shared, "avellaneda-stoikov");
}
