//! The AssemblyScript strategies (`strategies/assemblyscript/<id>.ts`, catalog name `<id>-as`):
//! compiled to WebAssembly by the AssemblyScript compiler that `npm ci` installs under
//! `strategies/assemblyscript/node_modules`, with no native build. Built when that compiler
//! and `node` are present; with `LOCKSTEP_REQUIRE_ASC=1` (CI) their absence fails the build
//! instead of leaving the strategies out.

use crate::Foreign;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The compiler's flags: no garbage collector (the stub runtime; the SDK never allocates), the
/// memory imported as `lockstep.memory` (asc says `env.memory`; the transform renames it) and
/// assumed zeroed, runtime checks trapping through the SDK's `abort` instead of importing one,
/// function names kept.
const ASC_FLAGS: &[&str] = &[
    "-O3",
    "--runtime",
    "stub",
    "--noAssert",
    "--importMemory",
    "--zeroFilledMemory",
    "--noExportMemory",
    "--use",
    "abort=lib/lockstep/abort",
    "--transform",
    "./lib/memory-import.mjs",
    // Keeps the name section (`replay profile` names functions from it); the code is the same.
    "--debug",
];

const HINT: &str = "the AssemblyScript strategies need node and the compiler npm installs: \
                    npm ci --prefix strategies/assemblyscript";

/// `asc.js` when it and `node` are present.
pub(crate) fn find_asc(dir: &Path) -> Option<PathBuf> {
    println!("cargo:rerun-if-env-changed=LOCKSTEP_REQUIRE_ASC");
    let asc = dir.join("node_modules/assemblyscript/bin/asc.js");
    let node_ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let found = (node_ok && asc.is_file()).then_some(asc);
    if found.is_none() {
        assert!(std::env::var("LOCKSTEP_REQUIRE_ASC").as_deref() != Ok("1"), "{HINT}");
        println!("cargo:warning=AssemblyScript strategies left out of the catalog: {HINT}");
    }
    found
}

/// The string literal assigned by `const NAME =` (possibly on the next line), unescaped.
fn constant(source: &str, name: &str, file: &Path) -> String {
    let decl = format!("const {name} =");
    let at = source.find(&decl).unwrap_or_else(|| {
        panic!(
            "{} defines no {name}: every .ts file in strategies/assemblyscript is a built-in \
                 strategy and needs it (keep shared code under lib/)",
            file.display()
        )
    });
    let rest = source[at + decl.len()..].trim_start();
    let body = rest.strip_prefix('"').and_then(|r| r.find('"').map(|end| &r[..end]));
    body.map(str::to_owned)
        .unwrap_or_else(|| panic!("{}: {name} must be one string literal", file.display()))
}

/// Every `strategies/assemblyscript/*.ts`, in name order, with its metadata (`const`s).
pub(crate) fn strategies(dir: &Path) -> Vec<Foreign> {
    crate::foreign_strategies(dir, "ts", "AssemblyScript", "as", constant)
}

/// Compiles `s` to `wasm` with `asc`.
pub(crate) fn build(asc: &Path, dir: &Path, s: &Foreign, wasm: &Path) {
    compile(asc, dir, &s.source, ASC_FLAGS, wasm);
}

/// Runs `asc` from `dir` (where the flags' paths are relative); any diagnostic fails the build.
fn compile(asc: &Path, dir: &Path, source: &Path, flags: &[&str], wasm: &Path) {
    let out = Command::new("node")
        .current_dir(dir)
        .arg(asc)
        .arg(source)
        .args(flags)
        .arg("-o")
        .arg(wasm)
        .output()
        .unwrap_or_else(|e| panic!("run node {}: {e}", asc.display()));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "asc did not compile {} cleanly:\n{}{}",
        source.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compiles the hostile AssemblyScript fixtures (`test/hostile/<name>.ts`, each with its whole
/// flag list on a `lockstep-ascflags:` line) to `<staged>/<name>.wasm`: modules that import
/// `env.abort` or `env.memory`, or use SIMD or threads, for the tests that check the engine
/// refuses them at load.
pub(crate) fn build_hostile(asc: &Path, dir: &Path, staged: &Path) {
    std::fs::create_dir_all(staged).expect("create the hostile fixtures' folder");
    for source in crate::files_with_ext(&dir.join("test/hostile"), "ts") {
        let text = std::fs::read_to_string(&source).expect("read a hostile fixture");
        let flags = text
            .lines()
            .find_map(|l| l.split_once("lockstep-ascflags:").map(|(_, f)| f.to_owned()))
            .unwrap_or_else(|| panic!("{}: no `lockstep-ascflags:` line", source.display()));
        let flags: Vec<&str> = flags.split_whitespace().collect();
        let stem = source.file_stem().and_then(|s| s.to_str()).expect("UTF-8 file name");
        compile(asc, dir, &source, &flags, &staged.join(format!("{stem}.wasm")));
    }
}
