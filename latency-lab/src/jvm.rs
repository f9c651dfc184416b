//! The JVM column of `compare`: the Java ports in `latency-lab/java/` (embedded in the binary),
//! compiled with `javac` at run time and run with `java`, pinned with `taskset` when available.
//!
//! Protocol: the tape is written in [`Tape::encode`]'s format; the Java program
//! (`lockstep.Bench`) writes the actions of init and of every event in [`Outputs`]' format,
//! one little-endian `long` of `System.nanoTime` latency per event, and one JSON line of facts
//! on stdout.

use crate::tape::{Outputs, Tape};
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
    /// Why the JVM column cannot run, in words for the table.
    pub fn find() -> Result<Self, String> {
        let javac = find_tool("javac", true).ok_or_else(|| {
            "no JDK: javac not found in $JAVA_HOME/bin or on PATH (install one, e.g. \
             `apt-get install openjdk-17-jdk-headless`)"
                .to_owned()
        })?;
        let java = find_tool("java", true)
            .ok_or_else(|| "no JDK: javac found but java is missing".to_owned())?;
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

fn io(what: &str, p: &Path, e: std::io::Error) -> String {
    format!("{what} `{}`: {e}", p.display())
}

/// Compiles the Java sources into `dir/classes` (once per directory and binary).
fn compile(setup: &JvmSetup, dir: &Path) -> Result<PathBuf, String> {
    let src = dir.join("src").join("lockstep");
    let classes = dir.join("classes");
    std::fs::create_dir_all(&src).map_err(|e| io("creating", &src, e))?;
    std::fs::create_dir_all(&classes).map_err(|e| io("creating", &classes, e))?;
    let mut files = Vec::new();
    for (name, text) in SOURCES {
        let p = src.join(name);
        std::fs::write(&p, text).map_err(|e| io("writing", &p, e))?;
        files.push(p);
    }
    let out = Command::new(&setup.javac)
        .arg("-encoding")
        .arg("UTF-8")
        .arg("-d")
        .arg(&classes)
        .args(&files)
        .output()
        .map_err(|e| io("running", &setup.javac, e))?;
    if !out.status.success() {
        return Err(format!(
            "javac failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
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
pub(crate) fn prepare(job: &Job<'_>) -> Result<Prepared, String> {
    let classes = compile(job.setup, job.dir)?;
    let tape_path = job.dir.join("tape.bin");
    std::fs::write(&tape_path, job.tape.encode()).map_err(|e| io("writing", &tape_path, e))?;
    Ok(Prepared {
        classes,
        tape_path,
        actions_path: job.dir.join(format!("actions-{}.bin", job.strategy)),
        lat_path: job.dir.join(format!("latency-{}.bin", job.strategy)),
    })
}

/// Runs `java` on a prepared job and reads its results back.
pub(crate) fn execute(job: &Job<'_>, p: &Prepared) -> Result<JvmOut, String> {
    let Prepared { classes, tape_path, actions_path, lat_path } = p;
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
        .arg(classes)
        .arg("lockstep.Bench")
        .arg("--strategy")
        .arg(job.strategy)
        .arg("--params")
        .arg(job.params)
        .arg("--tape")
        .arg(tape_path)
        .arg("--warmup")
        .arg(job.warmup.to_string())
        .arg("--actions")
        .arg(actions_path)
        .arg("--latency")
        .arg(lat_path)
        .arg("--capacity")
        .arg(job.capacity.to_string());
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| format!("cannot start {shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let facts: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("lockstep.Bench printed no JSON line; stdout: {stdout}"))?;
    let lat_bytes = std::fs::read(lat_path).map_err(|e| io("reading", lat_path, e))?;
    if lat_bytes.len() != job.tape.len() * 8 {
        return Err(format!(
            "`{}` holds {} bytes, expected {} (one long per event)",
            lat_path.display(),
            lat_bytes.len(),
            job.tape.len() * 8
        ));
    }
    let latencies = lat_bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    let act_bytes = std::fs::read(actions_path).map_err(|e| io("reading", actions_path, e))?;
    let outputs = Outputs::decode(&act_bytes, job.tape.len())
        .map_err(|e| format!("`{}`: {e}", actions_path.display()))?;
    let num = |k: &str| facts.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let notes = vec![
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
    ];
    Ok(JvmOut {
        latencies,
        outputs,
        run_ns: num("run_ns") as u64,
        clock_ns_per_read: num("nanotime_ns_per_read"),
        notes,
        extra: facts,
    })
}
