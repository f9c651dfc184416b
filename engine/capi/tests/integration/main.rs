//! liblockstep from C and C++: the committed header, the C and C++ gateway examples compiled
//! with the system compilers against the static and the shared library, on both tiers, checked
//! against the Rust engine for the same events, and the C example under valgrind.

mod c_example;
mod cpp_example;
mod header;
mod reference;
mod valgrind;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// `engine/capi`.
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where cargo put `liblockstep.a` and `liblockstep.so`: this test binary is
/// `target/<profile>/deps/integration-<hash>`, and `cargo test` leaves the libraries it built
/// for it beside it in `deps/`; `cargo build` copies them up to `target/<profile>/`. The
/// `deps/` copies are the ones this very test run built, so they win.
pub(crate) fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("the test binary's directory");
    let has_libs =
        |d: &Path| ["liblockstep.a", "liblockstep.so"].iter().all(|l| d.join(l).is_file());
    let profile = deps.parent().filter(|_| deps.ends_with("deps"));
    match [Some(deps), profile].into_iter().flatten().find(|d| has_libs(d)) {
        Some(dir) => dir.to_path_buf(),
        None => panic!(
            "liblockstep.a and liblockstep.so are in neither {} nor its parent: build them with \
             cargo build -p lockstep-capi --release",
            deps.display()
        ),
    }
}

/// A scratch directory for the compiled examples and the strategy files.
pub(crate) fn work_dir() -> PathBuf {
    let dir = lib_dir().parent().expect("target/<profile>").join("capi-examples");
    std::fs::create_dir_all(&dir).expect("create the examples' scratch directory");
    dir
}

/// The strategy's `.wasm` on disk: the catalog's staged file when it holds the embedded bytes,
/// else the embedded bytes written to the scratch directory.
pub(crate) fn wasm_path(name: &str) -> PathBuf {
    let info = lockstep_strategies::get(name).expect("a catalog strategy");
    let staged = Path::new(lockstep_strategies::wasm_dir()).join(format!("{name}.wasm"));
    if std::fs::read(&staged).is_ok_and(|b| b == info.wasm) {
        return staged;
    }
    let path = work_dir().join(format!("{name}.wasm"));
    std::fs::write(&path, info.wasm).expect("write the strategy's .wasm");
    path
}

/// Runs a command, panicking with its output when it cannot start.
pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs a command and requires exit status 0; returns its stdout.
pub(crate) fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// How the C example links liblockstep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    /// `liblockstep.a` and the system libraries Rust's std needs.
    Static,
    /// `-llockstep` from `target/<profile>`; run with `LD_LIBRARY_PATH`.
    Shared,
}

/// Compiles the C example once per link kind; returns the binary.
pub(crate) fn c_gateway(link: Link) -> &'static Path {
    static STATIC: OnceLock<PathBuf> = OnceLock::new();
    static SHARED: OnceLock<PathBuf> = OnceLock::new();
    let cell = if link == Link::Static { &STATIC } else { &SHARED };
    cell.get_or_init(|| {
        let lib = lib_dir();
        let dir = crate_dir();
        let bin = work_dir().join(format!("gateway-c-{link:?}").to_lowercase());
        let mut cc = Command::new("cc");
        cc.args(["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror"])
            .arg("-I")
            .arg(dir.join("include"))
            .arg(dir.join("examples/c/gateway.c"))
            .arg("-o")
            .arg(&bin);
        match link {
            Link::Static => cc.arg(lib.join("liblockstep.a")).args(SYSTEM_LIBS),
            Link::Shared => cc.arg("-L").arg(&lib).arg("-llockstep"),
        };
        run_ok(&mut cc);
        bin
    })
}

/// What a program linking `liblockstep.a` needs besides it on Linux (glibc): Rust's std uses
/// threads, `dlsym` and libm (the C driver links libgcc_s, the unwinder, by itself).
pub(crate) const SYSTEM_LIBS: &[&str] = &["-lpthread", "-ldl", "-lm"];

/// The value of `key=` on the output line starting with `prefix`.
pub(crate) fn line<'a>(output: &'a str, prefix: &str) -> &'a str {
    output
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{output}"))
}
