//! Runs the `latency-lab` binary as a user would: every subcommand with `--json`, and the
//! error paths. Timings are printed by the binary, never asserted.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_latency-lab"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("latency-lab-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run_json(cmd: &mut Command) -> Value {
    let out = cmd.output().expect("binary runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd:?} did not print one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn fails(cmd: &mut Command) -> String {
    let out: Output = cmd.output().expect("binary runs");
    assert!(!out.status.success(), "{cmd:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn has_javac() -> bool {
    let in_dir = |d: &Path| d.join("javac").is_file();
    std::env::var_os("JAVA_HOME").is_some_and(|h| in_dir(&PathBuf::from(h).join("bin")))
        || std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| in_dir(&d)))
}

#[test]
fn sysinfo_json_has_a_verdict_and_findings() {
    let v = run_json(bin().args(["sysinfo", "--json"]));
    assert_eq!(v["command"], "sysinfo");
    let verdict = v["verdict"].as_str().unwrap();
    assert!(["ISOLATED", "PARTIALLY ISOLATED", "NOT ISOLATED"].contains(&verdict), "{verdict}");
    assert!(v["summary"].as_str().unwrap().starts_with(verdict));
    let findings = v["findings"].as_array().unwrap();
    for topic in ["isolated CPUs", "nohz_full", "rcu_nocbs", "SMT", "clocksource", "IRQ affinity"] {
        assert!(findings.iter().any(|f| f["topic"] == topic), "{topic} missing");
    }
    assert!(v["facts"].is_object());
    println!("{}", v["summary"]);
}

#[test]
fn hiccup_writes_a_log_that_plot_draws() {
    let dir = tmp("hiccup");
    let v = run_json(bin().args(["hiccup", "--json", "--duration-s", "1", "--cores", "0"]).args([
        "--interval-ms",
        "200",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert_eq!(v["command"], "hiccup");
    let core = &v["cores"][0];
    assert_eq!(core["core"], 0);
    assert!(core["run_ns"].as_u64().unwrap() >= 999_000_000);
    assert!(v["clock_ns_per_read"].as_f64().unwrap() > 0.0);
    assert!(v["definition"].as_str().unwrap().contains("max - p50"));
    let hlog = dir.join("hiccup.hlog");
    let intervals = latency_lab::read_hlog(&hlog).expect("the .hlog parses");
    assert!(intervals.len() >= 2, "{} intervals in 1 s at 200 ms", intervals.len());
    let logged: u64 = intervals.iter().map(|i| i.hist.len()).sum();
    assert_eq!(logged, core["interruptions"].as_u64().unwrap());
    assert!(dir.join("hiccup-core0.hgrm").is_file());
    println!("hiccup core 0: {core}");

    let plots = dir.join("plots");
    let p = run_json(bin().arg("plot").arg(&hlog).arg(dir.join("hiccup-core0.hgrm")).args([
        "--json",
        "--out",
        plots.to_str().unwrap(),
    ]));
    assert_eq!(p["command"], "plot");
    let svg = std::fs::read_to_string(plots.join("percentiles.svg")).expect("SVG written");
    assert!(svg.contains("<svg") && svg.contains("percentile"));
    assert!(plots.join("percentiles.png").is_file());
    if logged > 0 {
        assert!(plots.join("timeline.svg").is_file() && plots.join("timeline.png").is_file());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_outputs_are_identical_across_implementations() {
    let dir = tmp("compare");
    let v = run_json(bin().args([
        "compare",
        "--json",
        "--events",
        "2000",
        "--warmup",
        "200",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert_eq!(v["strategy"], "avellaneda-stoikov");
    assert_eq!(v["outputs_identical"], true, "{v:#}");
    for runner in ["native", "wasm", "compiled"] {
        let r = &v[runner];
        assert_eq!(r["status"], "measured", "{runner}: {r}");
        assert_eq!(r["outputs_match"], true);
        for k in ["p50", "p99", "p999", "p9999", "max"] {
            assert!(r[k].as_u64().is_some(), "{runner}.{k}");
        }
        assert_eq!(r["count"], 2000);
    }
    let compared: Vec<&str> =
        v["compared"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    if has_javac() {
        assert_eq!(v["jvm"]["status"], "measured", "{}", v["jvm"]);
        assert_eq!(v["jvm"]["outputs_match"], true);
        assert_eq!(compared, ["native", "wasm", "compiled", "jvm"]);
        assert!(v["ratios"]["jvm_over_wasm"]["p99"].as_f64().is_some());
        assert!(v["ratios"]["jvm_over_compiled"]["p99"].as_f64().is_some());
    } else {
        println!("no JDK here: the JVM column is checked to say so");
        assert_eq!(v["jvm"]["status"], "unavailable");
        assert!(v["jvm"]["reason"].as_str().unwrap().contains("no JDK"));
        assert!(v["jvm"]["p50"].is_null());
        assert_eq!(compared, ["native", "wasm", "compiled"]);
    }
    assert!(v["ratios"]["compiled_over_native"]["p50"].as_f64().is_some());
    assert!(dir.join("compare-avellaneda-stoikov-wasm.hgrm").is_file());
    assert!(dir.join("compare-avellaneda-stoikov-compiled.hgrm").is_file());
    assert!(dir.join("compare-avellaneda-stoikov/percentiles.svg").is_file());
    println!("native {}\nwasm {}\njvm {}", v["native"], v["wasm"], v["jvm"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn black_scholes_and_microprice_match_without_the_jvm() {
    let v = run_json(bin().args([
        "compare",
        "--json",
        "--strategy",
        "black-scholes",
        "--events",
        "1000",
        "--warmup",
        "100",
        "--no-jvm",
        "--no-hiccup",
        "--out",
        tmp("bs").to_str().unwrap(),
    ]));
    assert_eq!(v["outputs_identical"], true, "{v:#}");
    assert_eq!(v["jvm"]["status"], "unavailable");
    assert!(v["reference_actions"].as_u64().unwrap() > 1000, "signals on most events");
    let _ = std::fs::remove_dir_all(tmp("bs"));
    // A strategy without a Java port still compares native and Wasm; the JVM column says why.
    let v = run_json(bin().args([
        "compare",
        "--json",
        "--strategy",
        "microprice",
        "--events",
        "500",
        "--warmup",
        "50",
        "--no-hiccup",
        "--out",
        tmp("mp").to_str().unwrap(),
    ]));
    assert_eq!(v["outputs_identical"], true, "{v:#}");
    assert_eq!(v["jvm"]["status"], "unavailable");
    assert!(v["jvm"]["reason"].as_str().unwrap().contains("no Java port"));
    let _ = std::fs::remove_dir_all(tmp("mp"));
}

#[test]
fn bad_input_is_refused_with_what_and_where() {
    let e = fails(bin().args(["hiccup", "--cores", "4096", "--duration-s", "1"]));
    assert!(e.contains("--cores: core 4096 is not available"), "{e}");
    let e = fails(bin().args(["hiccup", "--cores", "zero"]));
    assert!(e.contains("--cores"), "{e}");
    let e = fails(bin().args(["plot", "/nonexistent/run.hlog"]));
    assert!(e.contains("/nonexistent/run.hlog"), "{e}");
    let dir = tmp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.hgrm");
    std::fs::write(&bad, "Value Percentile TotalCount\n1.0 0.5\n").unwrap();
    let e = fails(bin().arg("plot").arg(&bad));
    assert!(e.contains("bad.hgrm:2:"), "{e}");
    let e = fails(bin().args(["compare", "--strategy", "nope", "--no-jvm"]));
    assert!(e.contains("--strategy") && e.contains("avellaneda-stoikov"), "{e}");
    let e = fails(bin().args(["compare", "--params", "gamma=0", "--no-jvm"]));
    assert!(e.contains("gamma"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The hostile inputs of issue 10 at the binary: each refused with what and where, never an
/// abort, a hang, a panic or a backtrace.
#[test]
fn hostile_input_is_refused_without_aborting_hanging_or_backtraces() {
    // A core list as large as the index type: refused before anything is allocated.
    let e = fails(bin().args(["hiccup", "--cores", "0-4294967295", "--duration-s", "1"]));
    assert!(e.starts_with("error: --cores: `0-4294967295` is not a CPU list"), "{e}");
    // A canvas of 100000 × 100000 pixels (30 GB as a bitmap).
    let dir = tmp("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.hgrm");
    std::fs::write(&good, "1.0 0.5 1\n2.0 1.0 2\n").unwrap();
    let e = fails(
        bin()
            .arg("plot")
            .arg(&good)
            .args(["--width", "100000", "--height", "100000", "--out"])
            .arg(dir.join("charts")),
    );
    assert!(
        e.contains("--width and --height must be at most 8192 pixels (got 100000×100000)"),
        "{e}"
    );
    // An .hgrm holding `inf`: refused at its line instead of drawing forever.
    let inf = dir.join("inf.hgrm");
    std::fs::write(&inf, "1.0 0.5 1\ninf 0.9 2\n").unwrap();
    let e = fails(bin().arg("plot").arg(&inf).arg("--out").arg(dir.join("charts")));
    assert!(e.contains("inf.hgrm:2: value must be a number from 0 to 2^64"), "{e}");
    // A finite value past 2^64 (the axes would still run to infinity): refused the same way.
    let huge = dir.join("huge.hgrm");
    std::fs::write(&huge, "1.0 0.5 1\n1.7976e308 1.0 2\n").unwrap();
    let e = fails(bin().arg("plot").arg(&huge).arg("--out").arg(dir.join("charts")));
    assert!(e.contains("huge.hgrm:2: value must be a number from 0 to 2^64"), "{e}");
    // An endless input (a device, a pipe) is read to a bound, as an .hgrm and as an .hlog.
    if std::path::Path::new("/dev/zero").exists() {
        std::os::unix::fs::symlink("/dev/zero", dir.join("zero.hgrm")).unwrap();
        for f in ["/dev/zero", dir.join("zero.hgrm").to_str().unwrap()] {
            let e = fails(bin().args(["plot", f]).arg("--out").arg(dir.join("charts")));
            assert!(e.contains("larger than"), "{f}: {e}");
        }
    }
    assert!(!dir.join("charts").exists(), "nothing drawn");
    // A user error with RUST_BACKTRACE set: the message, no backtrace.
    let e = fails(bin().env("RUST_BACKTRACE", "1").args(["hiccup", "--cores", "zero"]));
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(!e.contains("backtrace"), "{e}");
    // `--json | head -c 1`: a reader that goes away is not an error and not a panic.
    let mut child = bin()
        .args(["sysinfo", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An `.hlog` tag is text from a file: `plot` prints and draws it escaped (a tag runs to the
/// next comma, so it may hold ESC and newlines), and its JSON keeps it as it is.
#[test]
fn hlog_tags_are_escaped_wherever_plot_prints_or_draws_them() {
    use hdrhistogram::serialization::V2DeflateSerializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
    use std::time::Duration;
    let dir = tmp("forged-tag");
    std::fs::create_dir_all(&dir).unwrap();
    let mut h = latency_lab::new_histogram();
    for v in 1_000..2_000u64 {
        h.record(v).unwrap();
    }
    let mut log = Vec::new();
    {
        let mut ser = V2DeflateSerializer::new();
        let mut w = IntervalLogWriterBuilder::new().begin_log_with(&mut log, &mut ser).unwrap();
        for s in 0..2 {
            let start = Duration::from_secs(s);
            w.write_histogram(&h, start, Duration::from_secs(1), Tag::new("PLACEHOLDER")).unwrap();
        }
    }
    let forged = "core\x1b[2J\nforged line <x>&\u{202e}";
    let log = String::from_utf8(log).unwrap().replace("PLACEHOLDER", forged);
    let hlog = dir.join("run.hlog");
    std::fs::write(&hlog, log).unwrap();
    let plots = dir.join("plots");
    let out = bin().arg("plot").arg(&hlog).arg("--out").arg(&plots).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let escaped = "run:core\\u{1b}[2J\\nforged line <x>&\\u{202e}";
    assert!(stdout.contains(&format!("series {escaped}: 2000 samples")), "{stdout}");
    for (what, text) in [
        ("stdout", stdout.into_owned()),
        ("percentiles.svg", std::fs::read_to_string(plots.join("percentiles.svg")).unwrap()),
        ("timeline.svg", std::fs::read_to_string(plots.join("timeline.svg")).unwrap()),
    ] {
        for line in text.lines() {
            assert!(!line.chars().any(char::is_control), "{what}: control character in {line:?}");
            assert!(!line.contains('\u{202e}'), "{what}: direction override in {line:?}");
            assert!(!line.trim_start().starts_with("forged line"), "{what}: forged {line:?}");
        }
        if what != "stdout" {
            // XML-escaped after the control characters were.
            let drawn = "run:core\\u{1b}[2J\\nforged line &lt;x&gt;&amp;\\u{202e}";
            assert!(text.contains(drawn) && !text.contains("<x>"), "{what}: {text}");
        }
    }
    let v = run_json(bin().arg("plot").arg(&hlog).arg("--json").arg("--out").arg(&plots));
    assert_eq!(v["series"][0]["name"], format!("run:{forged}"));
    std::fs::remove_dir_all(&dir).unwrap();
}
