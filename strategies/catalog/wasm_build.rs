//! Nested cargo builds for `wasm32-unknown-unknown`, shared by the build scripts that embed
//! WebAssembly: the strategies (`strategies/catalog/build.rs`) and the browser's replay core
//! (`replay/build.rs`, which includes this file by path).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The WebAssembly target.
pub(crate) const TARGET: &str = "wasm32-unknown-unknown";

/// A `cargo build --target wasm32-unknown-unknown --profile wasm --target-dir <target_dir>`
/// of `packages`, run from the workspace `root`, with the outer build's settings removed:
/// flags, wrappers (clippy, sccache), jobserver and profile overrides all describe the host
/// build. `rustflags`, when given, replaces the target's flags from `.cargo/config.toml`.
pub(crate) fn nested_build(
    root: &Path,
    target_dir: &Path,
    packages: &[&str],
    rustflags: Option<&str>,
) -> Command {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--quiet", "--target", TARGET, "--profile", "wasm", "--target-dir"])
        .arg(target_dir);
    for pkg in packages {
        cmd.args(["-p", pkg]);
    }
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
    if let Some(flags) = rustflags {
        // Separated by 0x1f; an empty value means no flags at all.
        cmd.env("CARGO_ENCODED_RUSTFLAGS", flags);
    }
    cmd
}

/// Runs `cmd`, panicking with `what` and `reproduce` if it fails.
pub(crate) fn run(mut cmd: Command, what: &str, reproduce: &str) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not start the nested cargo build of {what}: {e}"));
    if !status.success() {
        panic!(
            "building {what} for {TARGET} failed (see the errors above); reproduce with: {reproduce}"
        );
    }
}

/// Copies a built artefact.
pub(crate) fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copying {} to {} failed: {e}", from.display(), to.display()));
}

/// Installs the wasm32 target through rustup when the sysroot lacks it (rustup does not read
/// targets from rust-toolchain.toml on every machine).
pub(crate) fn ensure_target() {
    println!("cargo:rerun-if-env-changed=LOCKSTEP_SKIP_RUSTUP");
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
