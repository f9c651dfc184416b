//! The committed header is what cbindgen makes of the current source.

use std::path::Path;

/// The header cbindgen generates from `src/` with `cbindgen.toml`.
pub(crate) fn generate(crate_dir: &Path) -> String {
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}

#[test]
fn header_is_current() {
    let dir = crate::crate_dir();
    let path = dir.join("include/lockstep.h");
    let fresh = generate(&dir);
    if std::env::var_os("LOCKSTEP_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write include/lockstep.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "engine/capi/include/lockstep.h is out of date with engine/capi/src.\n\
         Regenerate it with: LOCKSTEP_BLESS=1 cargo test -p lockstep-capi --release header\n\
         (then review and commit the diff)"
    );
}
