//! Compiles every built-in strategy crate to `wasm32-unknown-unknown` with a nested cargo build
//! and stages the modules for `include_bytes!`, so `cargo build`, `cargo run` and `cargo test`
//! never need a manual step. The modules are also copied to `target/strategies/<name>.wasm` at
//! the workspace root, the documented place to pick them up for shipping to a gateway.

mod wasm_build;

use std::env;
use std::path::PathBuf;
use wasm_build::TARGET;

/// The built-in strategies: every `strategy-<name>` package in this crate's `[dependencies]`,
/// in the order listed there, as (catalog name, package name, crate and artifact stem). Adding
/// a strategy is adding its crate and that one dependency line (and its workspace entry).
fn strategies(manifest: &str) -> Vec<(String, String, String)> {
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        let key = line.split(['.', '=', ' ']).next().unwrap_or("");
        if in_deps && let Some(name) = key.strip_prefix("strategy-") {
            out.push((name.to_owned(), key.to_owned(), key.replace('-', "_")));
        }
    }
    assert!(!out.is_empty(), "the catalog's Cargo.toml lists no strategy-<name> dependency");
    out
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../..").canonicalize().expect("workspace root exists");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));

    for dir in ["strategies", ".cargo/config.toml", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }

    wasm_build::ensure_target();

    let toml = std::fs::read_to_string(manifest.join("Cargo.toml")).expect("read Cargo.toml");
    let list = strategies(&toml);
    // The catalog's table, one entry per strategy crate (each names its type `Exported`
    // through `export_strategy!`).
    let entries: String = list
        .iter()
        .map(|(name, _, krate)| format!("    {krate}::Exported => \"{name}\",\n"))
        .collect();
    std::fs::write(out.join("catalog.rs"), format!("catalog! {{\n{entries}}}\n"))
        .expect("write catalog.rs");

    let nested_target = root.join("target/wasm-build");
    let packages: Vec<&str> = list.iter().map(|(_, pkg, _)| pkg.as_str()).collect();
    wasm_build::run(
        wasm_build::nested_build(&root, &nested_target, &packages, None),
        "the strategies",
        &format!("cargo build --target {TARGET} --profile wasm -p strategy-<name>"),
    );

    let built = nested_target.join(TARGET).join("wasm");
    let staged = root.join("target/strategies");
    std::fs::create_dir_all(&staged).expect("create target/strategies");
    for (name, _, stem) in &list {
        let src = built.join(format!("{stem}.wasm"));
        wasm_build::copy(&src, &out.join(format!("{name}.wasm")));
        wasm_build::copy(&src, &staged.join(format!("{name}.wasm")));
    }
    println!("cargo:rustc-env=LOCKSTEP_WASM_DIR={}", staged.display());
}
