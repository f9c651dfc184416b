//! Compiles every built-in strategy crate to `wasm32-unknown-unknown` with a nested cargo build
//! and stages the modules for `include_bytes!`, so `cargo build`, `cargo run` and `cargo test`
//! never need a manual step. The modules are also copied to `target/strategies/<name>.wasm` at
//! the workspace root, the documented place to pick them up for shipping to a gateway.

mod wasm_build;

use std::env;
use std::path::PathBuf;
use wasm_build::TARGET;

/// (catalog name, package name, artifact stem).
const STRATEGIES: &[(&str, &str, &str)] = &[
    ("noop", "strategy-noop", "strategy_noop"),
    ("black-scholes", "strategy-black-scholes", "strategy_black_scholes"),
    ("crr-binomial", "strategy-crr-binomial", "strategy_crr_binomial"),
    ("avellaneda-stoikov", "strategy-avellaneda-stoikov", "strategy_avellaneda_stoikov"),
    ("microprice", "strategy-microprice", "strategy_microprice"),
    ("vwap-twap", "strategy-vwap-twap", "strategy_vwap_twap"),
    ("pairs", "strategy-pairs", "strategy_pairs"),
    ("bond", "strategy-bond", "strategy_bond"),
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../..").canonicalize().expect("workspace root exists");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));

    for dir in ["strategies", ".cargo/config.toml", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }

    wasm_build::ensure_target();

    let nested_target = root.join("target/wasm-build");
    let packages: Vec<&str> = STRATEGIES.iter().map(|(_, pkg, _)| *pkg).collect();
    wasm_build::run(
        wasm_build::nested_build(&root, &nested_target, &packages, None),
        "the strategies",
        &format!("cargo build --target {TARGET} --profile wasm -p strategy-<name>"),
    );

    let built = nested_target.join(TARGET).join("wasm");
    let staged = root.join("target/strategies");
    std::fs::create_dir_all(&staged).expect("create target/strategies");
    for (name, _, stem) in STRATEGIES {
        let src = built.join(format!("{stem}.wasm"));
        wasm_build::copy(&src, &out.join(format!("{name}.wasm")));
        wasm_build::copy(&src, &staged.join(format!("{name}.wasm")));
    }
    println!("cargo:rustc-env=LOCKSTEP_WASM_DIR={}", staged.display());
}
