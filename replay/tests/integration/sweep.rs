//! Sweeps sharded the way Slurm and Kubernetes run them merge into the whole sweep.

use crate::common::{bin, fails, json, run_ok, tmp};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shipped Slurm job script and Kubernetes Indexed Job, run the way each scheduler runs
/// them (its index variable per shard), merge into the unsharded sweep; each point's digest
/// equals `replay backtest` with its parameters.
#[test]
fn sweeps_shard_like_slurm_and_kubernetes_and_merge_into_the_whole() {
    let out = tmp("sweep");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sweep");
    let grid = "gamma=0.05,0.1;k=50,100";
    let whole = json(bin().args([
        "sweep",
        "--strategy",
        "avellaneda-stoikov",
        "--grid",
        grid,
        "--events",
        "20000",
        "--bar",
        "1s",
    ]));
    assert_eq!(whole["total"], 4);
    let shard_env = |c: &mut Command, dir: &str| {
        c.env("REPLAY", env!("CARGO_BIN_EXE_replay"))
            .env("GRID", grid)
            .env("EVENTS", "20000")
            .env("BAR", "1s")
            .env("OUT_DIR", out.join(dir))
            .env_remove("TAPE");
    };
    // Slurm: three array tasks.
    for i in 0..3 {
        let mut c = Command::new("sh");
        c.arg(examples.join("slurm.sbatch"))
            .env("SWEEP_DIR", &examples)
            .env("SLURM_ARRAY_TASK_ID", i.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3");
        shard_env(&mut c, "slurm");
        run_ok(&mut c);
    }
    // Kubernetes: as many pods as the manifest's completions, with its SHARD_COUNT.
    let manifest = std::fs::read_to_string(examples.join("k8s-indexed-job.yaml")).unwrap();
    let field = |key: &str| {
        let line = manifest.lines().find(|l| l.trim_start().starts_with(key)).unwrap();
        line.split(':').nth(1).unwrap().trim().trim_matches('"').to_owned()
    };
    let completions: u64 = field("completions:").parse().unwrap();
    assert!(manifest.contains(&format!("value: \"{completions}\"")), "SHARD_COUNT = completions");
    for i in 0..completions {
        let mut c = Command::new("sh");
        c.arg(examples.join("shard.sh"))
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .env("SHARD_COUNT", completions.to_string());
        shard_env(&mut c, "k8s");
        run_ok(&mut c);
    }
    let points = |v: &Value| v["points"].clone();
    for dir in ["slurm", "k8s"] {
        let mut shards: Vec<PathBuf> =
            std::fs::read_dir(out.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        shards.sort();
        let merged = json(bin().arg("sweep-merge").args(&shards));
        assert_eq!(points(&merged), points(&whole), "{dir} shards merge into the whole sweep");
        // Leaving a shard out is a gap; giving one twice a duplicate.
        let err = fails(bin().arg("sweep-merge").args(&shards[1..]));
        assert!(err.contains("missing"), "{err}");
        let err = fails(bin().arg("sweep-merge").args(&shards).arg(&shards[0]));
        assert!(err.contains("more than one shard"), "{err}");
    }
    let p = &whole["points"][3];
    let b = json(bin().args([
        "backtest",
        "--events",
        "20000",
        "--no-report",
        "--no-latency",
        "--params",
        p["params"].as_str().unwrap(),
    ]));
    assert_eq!(b["digest"], p["digest"]);
    let err = fails(bin().args([
        "sweep",
        "--strategy",
        "avellaneda-stoikov",
        "--grid",
        "gamma=",
        "--events",
        "100",
    ]));
    assert!(err.contains("malformed value"), "{err}");
    let err = fails(bin().args([
        "sweep",
        "--strategy",
        "avellaneda-stoikov",
        "--grid",
        "gamma=1",
        "--shard",
        "2/2",
    ]));
    assert!(err.contains("0 <= I < N"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}
