//! The browser path: `replay serve`, the replay core built for wasm32 and the JavaScript host,
//! run in Node's V8 and in headless Chromium, checked against the engine.
//!
//! Node and Chromium come from the system (`.ci/run` installs Chromium when missing); without
//! them these tests say so and pass, unless `LOCKSTEP_REQUIRE_BROWSER=1`.

use crate::common::{bin, data, hostile_module, import_goog, json, run_ok, tmp};
use lockstep_host::TraceReader;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A `replay serve` on a free port, stopped when dropped.
pub(crate) struct Serve {
    child: Child,
    pub(crate) url: String,
}

impl Serve {
    pub(crate) fn start(extra: &[&str]) -> Self {
        let mut child = bin()
            .args(["serve", "--port", "0", "--json"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start replay serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).expect("serve prints its URL as JSON");
        Self { child, url: v["url"].as_str().unwrap().to_owned() }
    }

    /// One HTTP/1.1 request; returns the status and the body.
    pub(crate) fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let host = self.url.trim_start_matches("http://").trim_end_matches('/');
        let mut s = TcpStream::connect(host).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        // A server that refuses the body from its declared length answers and closes early.
        let _ = s.write_all(body);
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        let split = resp.windows(4).position(|w| w == b"\r\n\r\n").expect("a header");
        let status = std::str::from_utf8(&resp[9..12]).unwrap().parse().unwrap();
        let mut body = resp[split + 4..].to_vec();
        let head = String::from_utf8_lossy(&resp[..split]).to_lowercase();
        if head.contains("transfer-encoding: chunked") {
            body = dechunk(&body);
        }
        (status, body)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}

/// The program `name` if it runs (`--version`), else `None` (failing under
/// LOCKSTEP_REQUIRE_BROWSER=1).
fn tool(names: &[&'static str]) -> Option<&'static str> {
    let found = names
        .iter()
        .copied()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        assert!(
            std::env::var("LOCKSTEP_REQUIRE_BROWSER").is_err(),
            "LOCKSTEP_REQUIRE_BROWSER is set but none of {names:?} is installed"
        );
        eprintln!("skipped: none of {names:?} on PATH");
    }
    found
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web/test/replay.mjs")
}

/// Runs `replay.mjs` in Node against `serve`'s core; returns its result and, when asked, the
/// calls it recorded per strategy.
fn node_run(node: &str, serve: &Serve, args: &[String], record: Option<&Path>) -> Value {
    let mut c = Command::new(node);
    c.arg(script()).arg(format!("{}lockstep_web.wasm", serve.url));
    if let Some(r) = record {
        c.arg("--record").arg(r);
    }
    let o = run_ok(c.args(args));
    serde_json::from_slice(&o.stdout).expect("replay.mjs prints its result as JSON")
}

/// Every call the engine's trace holds equals the browser's, in order: same sequence number,
/// same action records.
fn assert_same_calls(trace: &Path, recorded: &Value, what: &str) {
    let mut r = TraceReader::open(trace).expect("trace");
    let calls = recorded.as_array().expect("a list of calls");
    let mut i = 0;
    while let Some(e) = r.next_event().expect("trace readable") {
        let hex: String = e.actions.iter().flat_map(|a| a.0).map(|b| format!("{b:02x}")).collect();
        let call =
            calls.get(i).unwrap_or_else(|| panic!("{what}: the browser stopped at call {i}"));
        assert_eq!(call[0].as_str().unwrap(), e.seq.to_string(), "{what}: call {i}'s event");
        assert_eq!(call[1].as_str().unwrap(), hex, "{what}: call {i} (seq {}) actions", e.seq);
        i += 1;
    }
    assert_eq!(i, calls.len(), "{what}: the browser made more calls than the engine");
    assert!(i > 100, "{what}: only {i} calls");
}

/// Every built-in strategy, run by V8 through the JavaScript host over the replay core built
/// for wasm32, returns the same actions as the engine, record by record, and ends with the
/// same digest: over the synthetic market and, with the shared data, LOBSTER GOOG (the
/// strategies that trade one instrument).
#[test]
fn builtins_in_node_return_the_engines_actions_record_by_record() {
    let Some(node) = tool(&["node"]) else { return };
    let serve = Serve::start(&[]);
    let out = tmp("web-node");
    let mut tapes: Vec<(String, Vec<String>, Vec<String>)> = vec![(
        "synthetic".into(),
        vec!["--events".into(), "20000".into()],
        vec!["--events".into(), "20000".into()],
    )];
    if let Some(d) = data() {
        let tape = out.join("goog.tape");
        import_goog(&d, &tape);
        let t = tape.display().to_string();
        tapes.push(("goog".into(), vec!["--tape".into(), t.clone()], vec!["--tape".into(), t]));
    }
    let list = json(bin().arg("strategies"));
    for (tape, cli_args, node_args) in &tapes {
        for s in list["details"].as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            if tape == "goog" && !["microprice", "avellaneda-stoikov", "vwap-twap"].contains(&name)
            {
                continue;
            }
            let params = s["default_params"].as_str().unwrap();
            let what = format!("{name} on {tape}");
            let dir = out.join(format!("{tape}-{name}"));
            let engine = json(
                bin()
                    .args(["run", "--no-latency", "--strategy", name, "--params", params])
                    .args(cli_args)
                    .arg("--trace")
                    .arg(&dir)
                    .arg("--out")
                    .arg(&dir),
            );
            let record = dir.join("browser.json");
            let mut args = node_args.clone();
            args.push(format!("{name}={}strategies/{name}.wasm:{params}", serve.url));
            let browser = node_run(node, &serve, &args, Some(&record));
            assert_eq!(browser["events"], engine["events"], "{what}");
            let calls: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
            assert_same_calls(&dir.join(format!("0-{name}.trace")), &calls[0], &what);
            assert_eq!(browser["digest"], engine["digest"], "{what}");
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// A module that traps, divides by zero or exhausts the stack in the browser halts at the same
/// event with the same code as on the engine, so the digests agree; the strategy beside it is
/// unaffected.
#[test]
fn hostile_modules_halt_in_node_as_on_the_engine() {
    let Some(node) = tool(&["node"]) else { return };
    let serve = Serve::start(&[]);
    let out = tmp("web-hostile");
    // Counts calls at 0x8000 and misbehaves from the 300th on.
    let after = |bad: &str| {
        format!(
            "(i32.store (i32.const 0x8000) (i32.add (i32.load (i32.const 0x8000)) (i32.const 1)))
             (if (i32.gt_u (i32.load (i32.const 0x8000)) (i32.const 300)) (then {bad}))
             (i32.const 0)"
        )
    };
    for (name, bad) in [
        ("traps", "unreachable".to_owned()),
        ("divides", "(drop (i32.div_u (i32.const 1) (i32.const 0)))".to_owned()),
        ("bad-status", "(return (i32.const -7))".to_owned()),
        // Function 7 is this very handler (see `hostile_module`): endless recursion.
        ("recurses", "(drop (call 7))".to_owned()),
    ] {
        let module = hostile_module(&out, name, &after(&bad));
        let engine = json(
            bin()
                .args(["run", "--no-latency", "--events", "5000", "--strategy"])
                .arg(&module)
                .args(["--strategy", "microprice"]),
        );
        let halted = &engine["strategies"][0]["halted"];
        assert!(!halted.is_null(), "{name}: the engine halted it");
        let browser = node_run(
            node,
            &serve,
            &[
                "--events".into(),
                "5000".into(),
                format!("{name}={}", module.display()),
                format!("microprice={}strategies/microprice.wasm", serve.url),
            ],
            None,
        );
        let b = &browser["strategies"];
        assert!(b[0]["halted"].as_str().unwrap().contains("at event"), "{name}: {browser}");
        assert_eq!(b[0]["digest"], engine["strategies"][0]["digest"], "{name}: {browser}");
        assert_eq!(b[1]["digest"], engine["strategies"][1]["digest"], "{name}: neighbour");
        assert_eq!(browser["digest"], engine["digest"], "{name}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// The page, opened in headless Chromium with `?strategy=microprice&autorun=1`, runs the
/// strategy in Chromium's own WebAssembly engine and shows the digest of
/// `replay run --strategy microprice`, marked equal to the server's.
#[test]
fn the_page_in_headless_chromium_shows_the_servers_digest() {
    let Some(browser) = tool(&["chromium", "chromium-browser", "google-chrome"]) else { return };
    let serve = Serve::start(&[]);
    let out = tmp("web-chromium");
    // 50,000 events: the whole path, short enough that a busy machine does not run the page
    // past Chromium's budget.
    let events = "50000";
    let want =
        json(bin().args(["run", "--no-latency", "--strategy", "microprice", "--events", events]));
    let page = format!("{}?strategy=microprice&events={events}&autorun=1", serve.url);
    let o = run_ok(
        Command::new(browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            .arg(format!("--user-data-dir={}", out.join("profile").display()))
            .args(["--virtual-time-budget=600000", "--dump-dom"])
            .arg(&page),
    );
    let dom = String::from_utf8(o.stdout).unwrap();
    let digest = want["digest"].as_str().unwrap();
    assert!(dom.contains("data-done=\"1\""), "the run finished: {dom}");
    assert!(dom.contains(&format!("{digest}</code>")), "the page's digest is {digest}: {dom}");
    assert!(
        dom.contains(&format!("id=\"server-digest\">{digest}<")),
        "the server's digest is shown"
    );
    assert!(dom.contains("data-match=\"1\""), "marked equal");
    let _ = std::fs::remove_dir_all(&out);
}

/// The server answers bad requests with a message and status, and goes on serving.
#[test]
fn serve_refuses_bad_requests_and_keeps_serving() {
    let serve = Serve::start(&["--max-upload-mib", "1", "--max-events", "100000"]);
    let err = |(status, body): (u16, Vec<u8>)| -> (u16, String) {
        let v: Value = serde_json::from_slice(&body).expect("a JSON error");
        (status, v["error"].as_str().unwrap().to_owned())
    };
    let (s, e) = err(serve.request("GET", "/api/run?strategy=nope&events=10", b""));
    assert_eq!(s, 400);
    assert!(e.contains("built-ins:"), "{e}");
    // A server-local path is neither read nor run, whatever it names.
    for path in ["/etc/passwd", "/etc/hostname.wasm", "../../x.wasm"] {
        let (s, e) = err(serve.request("GET", &format!("/api/run?strategy={path}&events=10"), b""));
        assert!(s == 400 && e.contains("is not a built-in strategy"), "{path}: {e}");
        assert!(!e.contains("root:"), "{e}");
    }
    let (s, e) = err(serve.request("GET", "/api/run?events=100001", b""));
    assert_eq!(s, 400);
    assert!(e.contains("--max-events"), "{e}");
    let (s, e) = err(serve.request("GET", "/api/run?colour=red", b""));
    assert!(s == 400 && e.contains("unknown parameter `colour`"), "{e}");
    let (s, e) = err(serve.request("POST", "/api/run", b"LSWEB1\nt\x05\0\0\0\0\0\0\0junk!"));
    assert!(s == 400 && e.starts_with("tape:"), "{e}");
    let (s, e) = err(serve.request("POST", "/api/run", b"LSWEB1\nw\x40\0\0\0\0\0\0\0short"));
    assert!(s == 400 && e.contains("cut short"), "{e}");
    let (s, e) = err(serve.request(
        "POST",
        "/api/run?strategy=x&events=10",
        b"LSWEB1\nw\x04\0\0\0\0\0\0\0\0asm",
    ));
    assert!(s == 400 && e.contains("strategy `x`"), "{e}");
    let big = vec![0u8; (1 << 20) + 1];
    let (s, e) = err(serve.request("POST", "/api/run", &big));
    assert!(s == 413 && e.contains("--max-upload-mib"), "{e}");
    let (s, _) = serve.request("GET", "/../../etc/passwd", b"");
    assert_eq!(s, 404);
    let (s, _) = serve.request("DELETE", "/", b"");
    assert_eq!(s, 405);
    // Still serving, and its replay equals `replay run`.
    let (s, body) = serve.request("GET", "/api/run?strategy=microprice&events=3000", b"");
    assert_eq!(s, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let want =
        json(bin().args(["run", "--no-latency", "--strategy", "microprice", "--events", "3000"]));
    assert_eq!(v["digest"], want["digest"]);
    let (s, page) = serve.request("GET", "/", b"");
    assert!(s == 200 && String::from_utf8_lossy(&page).contains("id=\"digest\""));
}

/// What the page uploads (a tape file and a `.wasm` from disk) replays on the server exactly
/// as `replay run --tape … --strategy file.wasm`.
#[test]
fn serve_replays_an_uploaded_tape_and_module() {
    let serve = Serve::start(&[]);
    let out = tmp("web-upload");
    let tape = out.join("t.tape");
    run_ok(bin().args(["import", "synth", "--events", "4000", "--seed", "7", "--out"]).arg(&tape));
    let (s, wasm) = serve.request("GET", "/strategies/microprice.wasm", b"");
    assert_eq!(s, 200);
    let module = out.join("mine.wasm");
    std::fs::write(&module, &wasm).unwrap();
    let tape_bytes = std::fs::read(&tape).unwrap();
    let mut body = b"LSWEB1\n".to_vec();
    for (tag, part) in [(b'w', &wasm), (b't', &tape_bytes)] {
        body.push(tag);
        body.extend_from_slice(&(part.len() as u64).to_le_bytes());
        body.extend_from_slice(part);
    }
    let (s, answer) = serve.request("POST", "/api/run?strategy=mine", &body);
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&answer));
    let v: Value = serde_json::from_slice(&answer).unwrap();
    let want = json(
        bin().args(["run", "--no-latency", "--tape"]).arg(&tape).arg("--strategy").arg(&module),
    );
    assert_eq!(v["events"], 4000);
    assert_eq!(v["digest"], want["digest"]);
    let _ = std::fs::remove_dir_all(&out);
}
