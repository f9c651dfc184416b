//! Compiles the browser's replay core (`replay/web`, built on the simulation core
//! `lockstep-sim` alone) to `wasm32-unknown-unknown` with a nested cargo build and stages it for
//! `include_bytes!`, so `replay serve` carries the very module the page runs. The nested build
//! compiles `lockstep-web` and `lockstep-sim`, never this crate: no build loops back.

#[path = "../strategies/catalog/wasm_build.rs"]
mod wasm_build;

use std::env;
use std::path::PathBuf;
use wasm_build::TARGET;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("..").canonicalize().expect("workspace root exists");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    for dir in ["replay/sim", "replay/web", "strategies/sdk", "Cargo.toml", "Cargo.lock"] {
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
