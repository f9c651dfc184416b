//! The C strategies (`strategies/c/<id>.c`, catalog name `<id>-c`): compiled to WebAssembly by
//! clang (wasm32, no libc, compiler-rt's builtins for 128-bit arithmetic) and natively (the
//! same clang, through `cc`) for the native runner. Built when such a clang is present; with
//! `LOCKSTEP_REQUIRE_CLANG=1` (CI) its absence fails the build instead of leaving them out.

use crate::Foreign;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A clang that links wasm32 modules, and compiler-rt's wasm32 builtins archive.
pub(crate) struct Clang {
    path: String,
    builtins: PathBuf,
}

/// Release 16 is the oldest whose wasm-ld takes `--import-memory=<module>,<name>`.
const CANDIDATES: &[&str] = &["clang-20", "clang-19", "clang-18", "clang-17", "clang-16", "clang"];

/// Flags for every wasm32 compile: the features both engine tiers run (no SIMD, no threads).
const WASM_FLAGS: &[&str] = &[
    "--target=wasm32",
    "-nostdlib",
    "-O2",
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-mbulk-memory",
    "-msign-ext",
    "-mnontrapping-fptoint",
    "-mmutable-globals",
    "-Wl,--no-entry",
    "-Wl,--strip-debug",
    "-Xlinker",
    "--import-memory=lockstep,memory",
];

fn builtins_of(clang: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LOCKSTEP_WASM_BUILTINS") {
        return Some(PathBuf::from(p));
    }
    let out = Command::new(clang).args(["--target=wasm32", "-print-resource-dir"]).output().ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    [
        "lib/wasi/libclang_rt.builtins-wasm32.a",
        "lib/libclang_rt.builtins-wasm32.a",
        "lib/wasm32-unknown-unknown/libclang_rt.builtins.a",
    ]
    .iter()
    .map(|rel| dir.join(rel))
    .find(|p| p.is_file())
}

/// The first candidate that links a probe module that imports its memory from `lockstep`.
pub(crate) fn find_clang(out_dir: &Path, include: &Path) -> Option<Clang> {
    println!("cargo:rerun-if-env-changed=LOCKSTEP_CLANG");
    println!("cargo:rerun-if-env-changed=LOCKSTEP_WASM_BUILTINS");
    println!("cargo:rerun-if-env-changed=LOCKSTEP_REQUIRE_CLANG");
    let probe = out_dir.join("lockstep_probe.c");
    std::fs::write(&probe, "#include \"lockstep_strategy.h\"\nint32_t probe(__int128 a, __int128 b) { return (int32_t)(a / b); }\n")
        .expect("write the clang probe");
    let named = std::env::var("LOCKSTEP_CLANG").ok();
    let found = named.iter().map(String::as_str).chain(CANDIDATES.iter().copied()).find_map(|c| {
        let builtins = builtins_of(c)?;
        let ok = Command::new(c)
            .args(WASM_FLAGS)
            .arg("-I")
            .arg(include)
            .arg("-Wl,--export=probe")
            .arg("-o")
            .arg(out_dir.join("lockstep_probe.wasm"))
            .arg(&probe)
            .arg(&builtins)
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| Clang { path: c.to_owned(), builtins })
    });
    if found.is_none() {
        let hint = "the C strategies need clang 16 or later with wasm-ld and compiler-rt's wasm32 \
                    builtins: apt-get install clang-16 lld-16 libclang-rt-16-dev-wasm32 (or set \
                    LOCKSTEP_CLANG and LOCKSTEP_WASM_BUILTINS)";
        assert!(std::env::var("LOCKSTEP_REQUIRE_CLANG").as_deref() != Ok("1"), "{hint}");
        println!("cargo:warning=C strategies left out of the catalog: {hint}");
    }
    found
}

/// The value of `#define NAME "..."` (one line, or continued with `\`), unescaped.
fn define(source: &str, name: &str, file: &Path) -> String {
    let joined = source.replace("\\\n", " ");
    let line = joined
        .lines()
        .find(|l| {
            l.trim_start().strip_prefix("#define").map(str::trim_start).is_some_and(|r| {
                r.strip_prefix(name).is_some_and(|rest| rest.starts_with([' ', '\t']))
            })
        })
        .unwrap_or_else(|| panic!("{} defines no {name}: the catalog needs it", file.display()));
    let (start, end) = (line.find('"'), line.rfind('"'));
    match (start, end) {
        (Some(s), Some(e)) if e > s => line[s + 1..e].replace("\\\"", "\"").replace("\\\\", "\\"),
        _ => panic!("{}: {name} must be one string literal", file.display()),
    }
}

/// Every `strategies/c/*.c`, in name order, with its metadata (`#define`s).
pub(crate) fn strategies(dir: &Path) -> Vec<Foreign> {
    crate::foreign_strategies(dir, "c", "C", "c", define)
}

/// Compiles `s` to `wasm` and natively (linked into this crate as `lockstep_c_<id>`).
pub(crate) fn build(clang: &Clang, s: &Foreign, include: &Path, wasm: &Path) {
    let out = Command::new(&clang.path)
        .args(WASM_FLAGS)
        .arg("-I")
        .arg(include)
        .arg("-o")
        .arg(wasm)
        .arg(&s.source)
        .arg(&clang.builtins)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", clang.path));
    assert!(
        out.status.success(),
        "{} did not compile {} to wasm32:\n{}",
        clang.path,
        s.source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    cc::Build::new()
        .compiler(&clang.path)
        .file(&s.source)
        .include(include)
        .std("c11")
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile(&format!("lockstep_c_{}", s.id));
}

/// Compiles the ABI check (`strategies/c/test/abi_check.c`: the header's layout, constants and
/// helpers, seen from C) natively, for the catalog's tests against the Rust SDK.
pub(crate) fn build_abi_check(clang: &Clang, source: &Path, include: &Path) {
    cc::Build::new()
        .compiler(&clang.path)
        .file(source)
        .include(include)
        .std("c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("lockstep_c_abi_check");
}

/// Compiles the hostile C fixtures (`strategies/c/test/hostile/<name>.c`, each with its extra
/// flags on a `lockstep-cflags:` line) to `<staged>/<name>.wasm`: modules that import libc or
/// WASI, use threads or SIMD, or misreport their regions, for the tests that check the engine
/// refuses them at load.
pub(crate) fn build_hostile(clang: &Clang, dir: &Path, include: &Path, staged: &Path) {
    std::fs::create_dir_all(staged).expect("create the hostile fixtures' folder");
    for source in crate::files_with_ext(dir, "c") {
        let text = std::fs::read_to_string(&source).expect("read a hostile fixture");
        let flags = text
            .lines()
            .find_map(|l| l.split_once("lockstep-cflags:").map(|(_, f)| f.to_owned()))
            .unwrap_or_default();
        let stem = source.file_stem().and_then(|s| s.to_str()).expect("UTF-8 file name");
        let out = Command::new(&clang.path)
            .args(WASM_FLAGS)
            .args(flags.split_whitespace())
            .arg("-I")
            .arg(include)
            .arg("-o")
            .arg(staged.join(format!("{stem}.wasm")))
            .arg(&source)
            .arg(&clang.builtins)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", clang.path));
        assert!(
            out.status.success(),
            "{} did not compile the fixture {}:\n{}",
            clang.path,
            source.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
