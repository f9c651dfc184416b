//! With the `host` feature (the CLI and `replay serve`), compiles the browser's replay core
//! (`replay/web`, this crate's core without `host`) to `wasm32-unknown-unknown` with a nested
//! cargo build and stages it for `include_bytes!`, so `replay serve` carries the very module
//! the page runs. The nested build compiles this crate without `host`, where this script does
//! nothing.

#[path = "../strategies/catalog/wasm_build.rs"]
mod wasm_build;

use std::env;
use std::path::PathBuf;
use wasm_build::TARGET;

fn main() {
    if env::var_os("CARGO_FEATURE_HOST").is_none() {
        return;
    }
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("..").canonicalize().expect("workspace root exists");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    for dir in ["replay/src", "replay/web", "strategies/sdk", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }

    wasm_build::ensure_target();
    let nested_target = root.join("target/web-build");
    // The core is an ordinary module: it exports its own memory rather than importing the
    // strategies' `lockstep.memory` (`.cargo/config.toml`), hence no flags.
    wasm_build::run(
        wasm_build::nested_build(&root, &nested_target, &["lockstep-web"], Some("")),
        "the browser's replay core",
        &format!(
            "CARGO_ENCODED_RUSTFLAGS= cargo build --target {TARGET} --profile wasm -p lockstep-web"
        ),
    );
    let built = nested_target.join(TARGET).join("wasm").join("lockstep_web.wasm");
    wasm_build::copy(&built, &out.join("lockstep_web.wasm"));
}
