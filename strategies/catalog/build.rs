//! Compiles every built-in strategy crate to `wasm32-unknown-unknown` with a nested cargo build
//! and stages the modules for `include_bytes!`, so `cargo build`, `cargo run` and `cargo test`
//! never need a manual step. The modules are also copied to `target/strategies/<name>.wasm` at
//! the workspace root, the documented place to pick them up for shipping to a gateway. The C
//! strategies (`c_build`) and the AssemblyScript ones (`as_build`) join them when their
//! compilers are present.

mod as_build;
mod c_build;
mod wasm_build;

use std::env;
use std::path::{Path, PathBuf};
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

/// The files in `dir` whose name ends in `.ext`, in name order (none when `dir` is missing).
fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == ext));
    files.sort();
    files
}

/// A strategy written in C or AssemblyScript (`<dir>/<id>.<ext>`), with the catalog metadata
/// its source defines.
pub(crate) struct Foreign {
    /// The file stem: lower-case letters and `_` (a C symbol prefix, and the catalog name with
    /// `_` as `-` and the language's suffix).
    pub(crate) id: String,
    pub(crate) summary: String,
    pub(crate) default_params: String,
    pub(crate) params: Vec<String>,
    pub(crate) source: PathBuf,
    /// `c` or `as`: the catalog name is `<id>-<suffix>`.
    suffix: &'static str,
}

impl Foreign {
    /// The catalog name.
    pub(crate) fn name(&self) -> String {
        format!("{}-{}", self.id.replace('_', "-"), self.suffix)
    }
}

/// Every `<dir>/*.<ext>` as a strategy in `language`, in name order; `constant(text, NAME,
/// file)` reads the string a source defines for `LOCKSTEP_SUMMARY`, `LOCKSTEP_DEFAULT_PARAMS`
/// and `LOCKSTEP_PARAMS` (comma-separated keys).
pub(crate) fn foreign_strategies(
    dir: &Path,
    ext: &str,
    language: &str,
    suffix: &'static str,
    constant: fn(&str, &str, &Path) -> String,
) -> Vec<Foreign> {
    files_with_ext(dir, ext)
        .into_iter()
        .map(|source| {
            let text = std::fs::read_to_string(&source)
                .unwrap_or_else(|e| panic!("read {}: {e}", source.display()));
            let id = source.file_stem().and_then(|s| s.to_str()).expect("UTF-8 file name");
            assert!(
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}: a {language} strategy's file name must be lower-case letters and `_`",
                source.display()
            );
            let params = constant(&text, "LOCKSTEP_PARAMS", &source);
            Foreign {
                id: id.to_owned(),
                summary: constant(&text, "LOCKSTEP_SUMMARY", &source),
                default_params: constant(&text, "LOCKSTEP_DEFAULT_PARAMS", &source),
                params: params.split(',').map(str::to_owned).collect(),
                source,
                suffix,
            }
        })
        .collect()
}

/// Builds the C strategies when clang can (see `c_build`): their modules land in `out` as
/// `<name>.wasm`, their native objects are linked into this crate, and `cfg(lockstep_c)` is set.
fn c_strategies(root: &Path, out: &Path) -> Vec<Foreign> {
    println!("cargo:rustc-check-cfg=cfg(lockstep_c)");
    let c_dir = root.join("strategies/c");
    let include = c_dir.join("include");
    let list = c_build::strategies(&c_dir);
    let Some(clang) = c_build::find_clang(out, &include) else { return Vec::new() };
    for s in &list {
        c_build::build(&clang, s, &include, &out.join(format!("{}.wasm", s.name())));
    }
    c_build::build_abi_check(&clang, &c_dir.join("test/abi_check.c"), &include);
    let hostile = root.join("target/strategies/c-hostile");
    c_build::build_hostile(&clang, &c_dir.join("test/hostile"), &include, &hostile);
    println!("cargo:rustc-cfg=lockstep_c");
    list
}

/// Builds the AssemblyScript strategies when their compiler is installed (see `as_build`):
/// their modules land in `out` as `<name>.wasm`.
fn as_strategies(root: &Path, out: &Path) -> Vec<Foreign> {
    let dir = root.join("strategies/assemblyscript");
    let list = as_build::strategies(&dir);
    let Some(asc) = as_build::find_asc(&dir) else { return Vec::new() };
    for s in &list {
        as_build::build(&asc, &dir, s, &out.join(format!("{}.wasm", s.name())));
    }
    as_build::build_hostile(&asc, &dir, &root.join("target/strategies/as-hostile"));
    list
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
        .map(|(name, _, krate)| format!("        {krate}::Exported => \"{name}\",\n"))
        .collect();
    let c_list = c_strategies(&root, &out);
    let c_entries: String = c_list
        .iter()
        .map(|s| {
            format!(
                "        {} => {:?}, {:?}, {:?}, {:?};\n",
                s.id,
                s.name(),
                s.summary,
                s.default_params,
                s.params
            )
        })
        .collect();
    let as_list = as_strategies(&root, &out);
    let as_entries: String = as_list
        .iter()
        .map(|s| {
            format!(
                "        {:?}, {:?}, {:?}, {:?};\n",
                s.name(),
                s.summary,
                s.default_params,
                s.params
            )
        })
        .collect();
    std::fs::write(
        out.join("catalog.rs"),
        format!(
            "catalog! {{\n    rust {{\n{entries}    }}\n    c {{\n{c_entries}    }}\n    \
             assemblyscript {{\n{as_entries}    }}\n}}\n"
        ),
    )
    .expect("write catalog.rs");
    let c_ffi: String = c_list
        .iter()
        .map(|s| {
            let f = |what: &str| format!("\"lockstep_c_{}_{what}\"", s.id);
            format!(
                "c_strategy!({}, {}, {}, {});\n",
                s.id,
                f("state_size"),
                f("init"),
                f("on_event")
            )
        })
        .collect();
    std::fs::write(out.join("c_ffi.rs"), c_ffi).expect("write c_ffi.rs");

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
    let foreign = c_list.iter().map(|s| s.name()).chain(as_list.iter().map(|s| s.name()));
    for name in foreign {
        wasm_build::copy(&out.join(format!("{name}.wasm")), &staged.join(format!("{name}.wasm")));
    }
    for (name, _, stem) in &list {
        let src = built.join(format!("{stem}.wasm"));
        wasm_build::copy(&src, &out.join(format!("{name}.wasm")));
        wasm_build::copy(&src, &staged.join(format!("{name}.wasm")));
    }
    println!("cargo:rustc-env=LOCKSTEP_WASM_DIR={}", staged.display());
}
