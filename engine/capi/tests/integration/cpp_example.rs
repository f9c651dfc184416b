//! The C++ gateway (`examples/cpp/gateway.cpp` on `lockstep.hpp`), linked statically.

use crate::reference::{check, expected};
use crate::{SYSTEM_LIBS, crate_dir, lib_dir, line, run_ok, wasm_path, work_dir};
use lockstep_engine::Tier;
use std::process::Command;

#[test]
fn cpp_gateway_matches_the_rust_engine_on_both_tiers() {
    let dir = crate_dir();
    let bin = work_dir().join("gateway-cpp");
    run_ok(
        Command::new("c++")
            .args(["-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror"])
            .arg("-I")
            .arg(dir.join("include"))
            .arg("-I")
            .arg(dir.join("examples/c"))
            .arg(dir.join("examples/cpp/gateway.cpp"))
            .arg("-o")
            .arg(&bin)
            .arg(lib_dir().join("liblockstep.a"))
            .args(SYSTEM_LIBS),
    );
    let strategy = "microprice";
    let params = lockstep_strategies::get(strategy).unwrap().default_params;
    for tier in Tier::ALL {
        let out = run_ok(Command::new(&bin).arg(wasm_path(strategy)).arg(tier.name()).arg(params));
        check(&out, &expected(strategy, tier, 2000));
        assert_eq!(line(&out, "restored "), "restored identical=yes");
        assert_eq!(line(&out, "malformed "), "malformed refused=yes");
    }
}
