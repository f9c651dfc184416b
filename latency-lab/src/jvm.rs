//! The JVM column of `compare`: the Java ports in `latency-lab/java/` (embedded in the binary),
//! compiled with `javac` at run time and run with `java`, pinned with `taskset` when available.
//!
//! Protocol: the tape is written as a replay trace ([`Tape::to_trace`]); the Java program
//! (`lockstep.Bench`) writes the actions of init and of every event in [`Outputs`]' format,
//! one little-endian `long` of `System.nanoTime` latency per event, and one JSON line of facts
//! on stdout.

use crate::error::Error;
use crate::tape::{Outputs, Tape};
use lockstep_io::{temp_path, write_atomic};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Java sources, embedded so the binary works wherever it is installed.
const SOURCES: &[(&str, &str)] = &[
    ("Bench.java", include_str!("../java/lockstep/Bench.java")),
    ("Strategy.java", include_str!("../java/lockstep/Strategy.java")),
    ("Actions.java", include_str!("../java/lockstep/Actions.java")),
    ("Params.java", include_str!("../java/lockstep/Params.java")),
    ("BlackScholes.java", include_str!("../java/lockstep/BlackScholes.java")),
    ("AvellanedaStoikov.java", include_str!("../java/lockstep/AvellanedaStoikov.java")),
];

/// Strategies with a Java port.
pub const JAVA_PORTS: &[&str] = &["black-scholes", "avellaneda-stoikov"];

/// Default JVM options: fixed, pre-touched heap (the JVM's equivalent of our preallocation).
pub const DEFAULT_JAVA_OPTS: &[&str] = &["-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch"];

/// Where the JDK tools are.
#[derive(Clone, Debug)]
pub struct JvmSetup {
    javac: PathBuf,
    java: PathBuf,
    taskset: Option<PathBuf>,
}

fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds `name` in `$JAVA_HOME/bin` (when `java_home`) and then on `PATH`.
fn find_tool(name: &str, java_home: bool) -> Option<PathBuf> {
    if java_home && let Some(h) = std::env::var_os("JAVA_HOME") {
        let p = PathBuf::from(h).join("bin").join(name);
        if executable(&p) {
            return Some(p);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| executable(p))
}

impl JvmSetup {
    /// Finds `javac` and `java`.
    ///
    /// # Errors
    /// [`Error::NoJdk`]: why the JVM column cannot run.
    pub fn find() -> Result<Self, Error> {
        let javac = find_tool("javac", true).ok_or(Error::NoJdk { missing: "javac" })?;
        let java = find_tool("java", true).ok_or(Error::NoJdk { missing: "java" })?;
        Ok(Self { javac, java, taskset: find_tool("taskset", false) })
    }
}

/// One JVM run.
pub(crate) struct Job<'a> {
    pub(crate) setup: &'a JvmSetup,
    pub(crate) dir: &'a Path,
    pub(crate) strategy: &'a str,
    pub(crate) params: &'a str,
    pub(crate) tape: &'a Tape,
    /// The reference's actions, written into the trace beside the events.
    pub(crate) reference: &'a Outputs,
    pub(crate) warmup: usize,
    /// CPU list for `taskset -c`.
    pub(crate) cpus: &'a str,
    pub(crate) java_opts: &'a [String],
    /// Bytes to preallocate for the output buffer.
    pub(crate) capacity: usize,
}

/// What the JVM run produced.
pub(crate) struct JvmOut {
    pub(crate) latencies: Vec<u64>,
    pub(crate) outputs: Outputs,
    pub(crate) run_ns: u64,
    pub(crate) clock_ns_per_read: f64,
    pub(crate) notes: Vec<String>,
    pub(crate) extra: Value,
}

/// Compiles the Java sources into `dir/classes` (once per directory and binary).
///
/// Everything written here is an output of `compare --out`, so it is written like every other
/// output: each source file whole or not at all ([`write_atomic`]), and the classes into a
/// temporary directory beside `classes` that replaces it only once `javac` succeeded (a failed
/// or interrupted compile leaves an existing `classes` directory as it was).
fn compile(setup: &JvmSetup, dir: &Path) -> Result<PathBuf, Error> {
    let src = dir.join("src").join("lockstep");
    let classes = dir.join("classes");
    std::fs::create_dir_all(&src).map_err(|e| Error::io("creating", &src, e))?;
    let mut files = Vec::new();
    for (name, text) in SOURCES {
        let p = src.join(name);
        write_atomic(&p, text.as_bytes()).map_err(|e| Error::io("writing", &p, e))?;
        files.push(p);
    }
    let fresh = temp_path(&classes);
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(&fresh).map_err(|e| Error::io("creating", &fresh, e))?;
    let compiled = Command::new(&setup.javac)
        .arg("-encoding")
        .arg("UTF-8")
        .arg("-d")
        .arg(&fresh)
        .args(&files)
        .output()
        .map_err(|e| Error::io("running", &setup.javac, e))
        .and_then(|out| {
            if out.status.success() {
                Ok(())
            } else {
                Err(Error::Tool {
                    command: "javac".into(),
                    status: out.status.to_string(),
                    output: String::from_utf8_lossy(&out.stderr).into_owned(),
                })
            }
        })
        .and_then(|()| match std::fs::remove_dir_all(&classes) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("replacing", &classes, e))
            }
            _ => std::fs::rename(&fresh, &classes)
                .map_err(|e| Error::io("renaming into", &classes, e)),
        });
    if let Err(e) = compiled {
        let _ = std::fs::remove_dir_all(&fresh);
        return Err(e);
    }
    Ok(classes)
}

/// Files of one prepared JVM run.
pub(crate) struct Prepared {
    classes: PathBuf,
    tape_path: PathBuf,
    actions_path: PathBuf,
    lat_path: PathBuf,
}

/// Compiles the sources and writes the tape: everything that must not happen while the
/// platform is being measured.
pub(crate) fn prepare(job: &Job<'_>) -> Result<Prepared, Error> {
    let classes = compile(job.setup, job.dir)?;
    let tape_path = job.dir.join("tape.bin");
    let trace =
        job.tape.to_trace(job.reference).map_err(|e| Error::io("encoding", &tape_path, e))?;
    write_atomic(&tape_path, &trace).map_err(|e| Error::io("writing", &tape_path, e))?;
    Ok(Prepared {
        classes,
        tape_path,
        actions_path: job.dir.join(format!("actions-{}.bin", job.strategy)),
        lat_path: job.dir.join(format!("latency-{}.bin", job.strategy)),
    })
}

/// Runs `java` on a prepared job and reads its results back. `java` writes its actions and
/// latencies to temporary files beside their paths, renamed into place only when the run
/// succeeded and its files were read back whole (outputs are atomic, like every file
/// Lockstep writes): a failed run leaves the files of an earlier one as they were.
pub(crate) fn execute(job: &Job<'_>, p: &Prepared) -> Result<JvmOut, Error> {
    let tmp = (temp_path(&p.actions_path), temp_path(&p.lat_path));
    let r = run_java(job, p, &tmp.0, &tmp.1).and_then(|out| {
        for (from, to) in [(&tmp.0, &p.actions_path), (&tmp.1, &p.lat_path)] {
            std::fs::rename(from, to).map_err(|e| Error::io("renaming into", to, e))?;
        }
        Ok(out)
    });
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp.0);
        let _ = std::fs::remove_file(&tmp.1);
    }
    r
}

/// Runs `java`, which writes to `actions_tmp` and `lat_tmp`, and reads the results back.
fn run_java(
    job: &Job<'_>,
    p: &Prepared,
    actions_tmp: &Path,
    lat_tmp: &Path,
) -> Result<JvmOut, Error> {
    let facts = run_for_facts(java_command(job, p, actions_tmp, lat_tmp))?;
    let latencies = read_latencies(lat_tmp, &p.lat_path, job.tape.len())?;
    let act_bytes =
        std::fs::read(actions_tmp).map_err(|e| Error::io("reading", &p.actions_path, e))?;
    let outputs = Outputs::decode(&act_bytes, job.tape.len())
        .map_err(|e| Error::parse(&p.actions_path, 0, e.to_string()))?;
    Ok(JvmOut {
        latencies,
        outputs,
        run_ns: fact_num(&facts, "run_ns") as u64,
        clock_ns_per_read: fact_num(&facts, "nanotime_ns_per_read"),
        notes: notes(job, &facts),
        extra: facts,
    })
}

/// The `java` command line of a job: pinned with `taskset -c` when available, running
/// `lockstep.Bench` on the prepared tape.
fn java_command(job: &Job<'_>, p: &Prepared, actions_tmp: &Path, lat_tmp: &Path) -> Command {
    let mut cmd = match &job.setup.taskset {
        Some(t) => {
            let mut c = Command::new(t);
            c.arg("-c").arg(job.cpus).arg(&job.setup.java);
            c
        }
        None => Command::new(&job.setup.java),
    };
    cmd.args(job.java_opts)
        .arg("-cp")
        .arg(&p.classes)
        .arg("lockstep.Bench")
        .arg("--strategy")
        .arg(job.strategy)
        .arg("--params")
        .arg(job.params)
        .arg("--tape")
        .arg(&p.tape_path)
        .arg("--warmup")
        .arg(job.warmup.to_string())
        .arg("--actions")
        .arg(actions_tmp)
        .arg("--latency")
        .arg(lat_tmp)
        .arg("--capacity")
        .arg(job.capacity.to_string());
    cmd
}

/// Runs `cmd` to completion and returns the last JSON line it printed (the run's facts).
fn run_for_facts(mut cmd: Command) -> Result<Value, Error> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| Error::Tool {
        command: shown.clone(),
        status: "could not start".into(),
        output: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(Error::Tool {
            command: shown,
            status: out.status.to_string(),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().rev().find_map(|l| serde_json::from_str(l).ok()).ok_or_else(|| Error::Tool {
        command: shown,
        status: "printed no JSON line".into(),
        output: stdout.clone().into_owned(),
    })
}

/// Reads `events` little-endian latencies from `tmp` (errors name `path`, where it will be).
fn read_latencies(tmp: &Path, path: &Path, events: usize) -> Result<Vec<u64>, Error> {
    let lat_bytes = std::fs::read(tmp).map_err(|e| Error::io("reading", path, e))?;
    if lat_bytes.len() != events * 8 {
        let message = format!(
            "holds {} bytes, expected {} (one long per event)",
            lat_bytes.len(),
            events * 8
        );
        return Err(Error::parse(path, 0, message));
    }
    Ok(lat_bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect())
}

/// A number among the run's facts (0 when missing).
fn fact_num(facts: &Value, k: &str) -> f64 {
    facts.get(k).and_then(Value::as_f64).unwrap_or(0.0)
}

/// The JVM, its GC and JIT activity and its pinning, for the report.
fn notes(job: &Job<'_>, facts: &Value) -> Vec<String> {
    let num = |k: &str| fact_num(facts, k);
    vec![
        format!(
            "{} {}",
            facts.get("vm").and_then(Value::as_str).unwrap_or("JVM"),
            facts.get("version").and_then(Value::as_str).unwrap_or("")
        ),
        format!(
            "GC: {} collections, {} ms ({})",
            num("gc_count"),
            num("gc_ms"),
            facts.get("gc").and_then(Value::as_str).unwrap_or("?")
        ),
        format!("JIT: {} ms compiling", num("jit_ms")),
        format!(
            "pinned: {}",
            if job.setup.taskset.is_some() {
                format!("taskset -c {}", job.cpus)
            } else {
                "no (taskset not found)".into()
            }
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("latency-lab-jvm-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// An executable shell script standing in for a JDK tool.
    fn tool(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// Every entry under `d`, recursively, as paths relative to it, sorted.
    fn tree(d: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![d.to_path_buf()];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap() {
                let e = e.unwrap().path();
                out.push(e.strip_prefix(d).unwrap().display().to_string());
                if e.is_dir() {
                    stack.push(e);
                }
            }
        }
        out.sort();
        out
    }

    // The fake `java` finds the paths after --actions and --latency, writes `$OUT_A`/`$OUT_L`
    // there and exits with `$CODE`.
    const JAVA: &str = r#"while [ $# -gt 0 ]; do
  case "$1" in --actions) a="$2";; --latency) l="$2";; esac; shift
done
printf "$OUT_A" > "$a"; printf "$OUT_L" > "$l"; echo '{"run_ns": 7}'; exit $CODE"#;

    fn job_files(d: &Path, java_env: &str, javac: &str) -> (JvmSetup, PathBuf) {
        let tools = d.join("tools");
        std::fs::create_dir_all(&tools).unwrap();
        let setup = JvmSetup {
            javac: tool(&tools, "javac", javac),
            java: tool(&tools, "java", &format!("{java_env}\n{JAVA}")),
            taskset: None,
        };
        let work = d.join("jvm");
        std::fs::create_dir_all(work.join("classes")).unwrap();
        std::fs::write(work.join("classes").join("Old.class"), b"old class").unwrap();
        std::fs::write(work.join("actions-x.bin"), b"old actions").unwrap();
        std::fs::write(work.join("latency-x.bin"), b"old latency").unwrap();
        (setup, work)
    }

    /// A job of strategy `x` over `tape` in `work`, with no options.
    fn test_job<'a>(setup: &'a JvmSetup, work: &'a Path, tape: &'a Tape) -> Job<'a> {
        Job {
            setup,
            dir: work,
            strategy: "x",
            params: "",
            tape,
            // Test jobs live for the test: init's empty output, then none per event.
            reference: Box::leak(Box::new(Outputs { counts: vec![0], records: Vec::new() })),
            warmup: 0,
            cpus: "0",
            java_opts: &[],
            capacity: 0,
        }
    }

    #[test]
    fn a_failed_jvm_run_leaves_earlier_outputs_byte_identical() {
        let d = dir("fail");
        // javac fails after writing a class: the old classes stay, the new one is dropped.
        let (setup, work) =
            job_files(&d, "CODE=3 OUT_A=partial OUT_L=partial", "touch \"$4/New.class\"; exit 1");
        let tape = Tape::default();
        let job = test_job(&setup, &work, &tape);
        let before = tree(&work);
        let e = prepare(&job).err().expect("javac fails");
        assert!(matches!(&e, Error::Tool { command, .. } if command == "javac"), "{e}");
        assert!(e.to_string().starts_with("javac failed"), "{e}");
        assert_eq!(std::fs::read(work.join("classes/Old.class")).unwrap(), b"old class");
        // The sources were written whole (the tape is written only after javac succeeds);
        // nothing temporary is left.
        let mut want = before.clone();
        want.extend(["src", "src/lockstep"].map(String::from));
        want.extend(SOURCES.iter().map(|(n, _)| format!("src/lockstep/{n}")));
        want.sort();
        assert_eq!(tree(&work), want);

        // java writes partial outputs and fails: the earlier outputs are untouched.
        let p = Prepared {
            classes: work.join("classes"),
            tape_path: work.join("tape.bin"),
            actions_path: work.join("actions-x.bin"),
            lat_path: work.join("latency-x.bin"),
        };
        let e = execute(&job, &p).err().expect("java fails");
        assert!(e.to_string().contains("failed (exit status: 3)"), "{e}");
        assert_eq!(std::fs::read(&p.actions_path).unwrap(), b"old actions");
        assert_eq!(std::fs::read(&p.lat_path).unwrap(), b"old latency");
        assert_eq!(tree(&work), want);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_successful_jvm_run_replaces_its_outputs_whole() {
        let d = dir("ok");
        let (setup, work) =
            job_files(&d, "CODE=0 OUT_A='\\000\\000' OUT_L=''", "touch \"$4/New.class\"");
        let tape = Tape::default();
        let job = test_job(&setup, &work, &tape);
        let p = prepare(&job).unwrap();
        assert_eq!(tree(&p.classes), ["New.class"], "the new classes replace the old");
        let out = execute(&job, &p).unwrap();
        assert_eq!(out.run_ns, 7);
        assert_eq!(std::fs::read(&p.actions_path).unwrap(), [0, 0]);
        assert_eq!(std::fs::read(&p.lat_path).unwrap(), b"");
        assert!(!tree(&work).iter().any(|f| f.contains(".tmp-")), "{:?}", tree(&work));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
