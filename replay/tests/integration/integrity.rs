//! Files stay whole: corrupt and truncated tapes are refused with where, and a failed command
//! leaves existing files byte-identical.

use crate::common::{bin, fails, json, run_ok, snapshot, tmp};
use serde_json::Value;

#[test]
fn corrupt_and_truncated_tapes_are_refused_with_chunk_and_offset() {
    let out = tmp("corrupt");
    let tape = out.join("synth.tape");
    json(
        bin()
            .args(["import", "synth", "--events", "30000", "--chunk-events", "2000", "--out"])
            .arg(&tape),
    );
    let good = std::fs::read(&tape).unwrap();
    let ok = json(bin().args(["run", "--book-only", "--tape"]).arg(&tape).arg("--out").arg(&out));
    assert_eq!(ok["events"], 30000);

    let mut bad = good.clone();
    let at = bad.len() * 2 / 5;
    bad[at] ^= 0x10;
    let flipped = out.join("flipped.tape");
    std::fs::write(&flipped, &bad).unwrap();
    let err = fails(bin().args(["run", "--tape"]).arg(&flipped).arg("--out").arg(&out));
    assert!(
        err.contains("chunk") && err.contains("byte offset") && err.contains("corrupt"),
        "{err}"
    );
    // With --json the error is the one JSON object.
    let o = bin()
        .args(["run", "--json", "--tape"])
        .arg(&flipped)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("chunk"));

    let cut = out.join("cut.tape");
    std::fs::write(&cut, &good[..good.len() * 3 / 4]).unwrap();
    let err = fails(bin().args(["run", "--tape"]).arg(&cut).arg("--out").arg(&out));
    assert!(
        err.contains("truncated") && err.contains("chunk") && err.contains("byte offset"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn failed_commands_leave_existing_files_byte_identical() {
    let dir = tmp("atomic");
    let tape = dir.join("t.tape");
    json(bin().args(["import", "synth", "--events", "3000", "--out"]).arg(&tape));
    // A csv whose last row is malformed, imported over the existing tape: refused at that
    // line, and the tape is untouched (no header-only tape, no temporary file left behind).
    let rows: String = (0..5000).map(|i| format!("{i},{i},A,add,buy,10.5,3,{}\n", i + 1)).collect();
    let csv = dir.join("g.csv");
    std::fs::write(
        &csv,
        format!("exchange_ts,local_ts,symbol,event,side,price,qty,order_id\n{rows}9,9,A,launch,buy,1,1,1\n"),
    )
    .unwrap();
    let before = snapshot(&dir);
    let err = fails(bin().arg("import").arg("csv").arg(&csv).arg("--out").arg(&tape));
    assert!(err.contains(&format!("{}:5002:", csv.display())), "{err}");
    assert_eq!(snapshot(&dir), before);
    // --out naming the input (through another spelling) is refused before anything is opened
    // for writing.
    let same = dir.join(".").join("g.csv");
    let err = fails(bin().arg("import").arg("csv").arg(&csv).arg("--out").arg(&same));
    assert!(err.contains("would destroy the input"), "{err}");
    assert_eq!(snapshot(&dir), before);
    // A run that fails half-way through a corrupt tape leaves no trace that looks complete and
    // no latency files.
    let mut bytes = std::fs::read(&tape).unwrap();
    let n = bytes.len();
    bytes[n * 3 / 4] ^= 0x40;
    let bad = dir.join("bad.tape");
    std::fs::write(&bad, &bytes).unwrap();
    let traces = dir.join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let out = dir.join("out");
    let err = fails(
        bin()
            .args(["run", "--strategy", "noop", "--tape"])
            .arg(&bad)
            .arg("--trace")
            .arg(&traces)
            .arg("--out")
            .arg(&out),
    );
    assert!(err.contains("corrupt"), "{err}");
    assert_eq!(snapshot(&traces), vec![]);
    assert!(!out.exists() || snapshot(&out).is_empty());
    // The good tape then writes a complete trace.
    run_ok(
        bin()
            .args(["run", "--strategy", "noop", "--tape"])
            .arg(&tape)
            .arg("--trace")
            .arg(&traces)
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(
        snapshot(&traces).iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["0-noop.trace"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
