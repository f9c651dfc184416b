//! The C gateway under valgrind (interpreter tier, fewer events): no memory errors, no
//! definite or indirect leaks. `tests/valgrind.supp` explains the one suppressed false
//! positive (in wasmparser, not ours).

use crate::{Link, c_gateway, crate_dir, run, wasm_path};
use std::process::Command;

#[test]
fn c_gateway_is_clean_under_valgrind() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("LOCKSTEP_REQUIRE_VALGRIND").is_none_or(|v| v != "1"),
            "valgrind is required (LOCKSTEP_REQUIRE_VALGRIND=1) but not installed: apt-get install valgrind"
        );
        println!(
            "SKIP c_gateway_is_clean_under_valgrind: valgrind is not installed (apt-get install valgrind)"
        );
        return;
    }
    let strategy = "microprice";
    let params = lockstep_strategies::get(strategy).unwrap().default_params;
    let out = run(Command::new("valgrind")
        .args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect",
        ])
        .arg(format!("--suppressions={}", crate_dir().join("tests/valgrind.supp").display()))
        .arg(c_gateway(Link::Static))
        .arg(wasm_path(strategy))
        .arg("interpreter")
        .arg(params)
        .arg("200"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "valgrind reported errors or the gateway failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(stdout.lines().any(|l| l == "OK"), "{stdout}");
    let summary = stderr.lines().find(|l| l.contains("ERROR SUMMARY")).unwrap_or("(no summary)");
    println!("valgrind: {summary}");
    assert!(summary.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
}
