//! Compiles every built-in strategy crate to `wasm32-unknown-unknown` with a nested cargo build
//! and stages the modules for `include_bytes!`, so `cargo build`, `cargo run` and `cargo test`
//! never need a manual step. The modules are also copied to `target/strategies/<name>.wasm` at
//! the workspace root, the documented place to pick them up for shipping to a gateway.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

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

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../..").canonicalize().expect("workspace root exists");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));

    for dir in ["strategies", ".cargo/config.toml", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!("cargo:rerun-if-env-changed=LOCKSTEP_SKIP_RUSTUP");

    ensure_target();

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let nested_target = root.join("target/wasm-build");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--quiet", "--target", TARGET, "--profile", "wasm", "--target-dir"])
        .arg(&nested_target);
    for (_, pkg, _) in STRATEGIES {
        cmd.args(["-p", pkg]);
    }
    // The outer build's settings must not leak into the guest build: flags, wrappers (clippy,
    // sccache), jobserver and profile overrides all describe the host build.
    for (key, _) in env::vars_os() {
        let k = key.to_string_lossy();
        let cargo_internal = k.starts_with("CARGO_") && k != "CARGO_HOME";
        if cargo_internal
            || matches!(
                k.as_ref(),
                "RUSTFLAGS"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "RUSTDOCFLAGS"
                    | "MAKEFLAGS"
                    | "MFLAGS"
                    | "__CARGO_FIX_PLZ"
                    | "DEBUG"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "TARGET"
                    | "HOST"
                    | "NUM_JOBS"
                    | "OUT_DIR"
                    | "RUSTC_LINKER"
            )
        {
            cmd.env_remove(&key);
        }
    }
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("could not start the nested cargo build of the strategies for {TARGET}: {e}")
    });
    if !status.success() {
        panic!(
            "building the strategies for {TARGET} failed (see the errors above); \
             reproduce with: cargo build --target {TARGET} --profile wasm -p strategy-<name>"
        );
    }

    let built = nested_target.join(TARGET).join("wasm");
    let staged = root.join("target/strategies");
    std::fs::create_dir_all(&staged).expect("create target/strategies");
    for (name, _, stem) in STRATEGIES {
        let src = built.join(format!("{stem}.wasm"));
        copy(&src, &out.join(format!("{name}.wasm")));
        copy(&src, &staged.join(format!("{name}.wasm")));
    }
    println!("cargo:rustc-env=LOCKSTEP_WASM_DIR={}", staged.display());
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copying {} to {} failed: {e}", from.display(), to.display()));
}

/// Installs the wasm32 target through rustup when the sysroot lacks it (rustup does not read
/// targets from rust-toolchain.toml on every machine).
fn ensure_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_owned()));
    let installed = libdir
        .as_ref()
        .and_then(|d| std::fs::read_dir(d).ok())
        .is_some_and(|mut entries| entries.any(|e| e.is_ok()));
    if installed || env::var_os("LOCKSTEP_SKIP_RUSTUP").is_some() {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup (one time)");
    let ok =
        Command::new("rustup").args(["target", "add", TARGET]).status().is_ok_and(|s| s.success());
    if !ok {
        panic!(
            "the {TARGET} Rust target is missing and `rustup target add {TARGET}` failed; \
             install it by hand and build again"
        );
    }
}
