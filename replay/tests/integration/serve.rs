//! `replay serve` under abuse: absurd declared lengths, oversized headers, clients that trickle
//! bytes or say nothing, more uploads than workers, path traversal, malformed bodies and a run
//! that never ends. Each request is bounded in memory and time, and everyone else is served.

use crate::common::{hostile_module, tmp};
use crate::web::Serve;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

impl Serve {
    fn host(&self) -> String {
        self.url.trim_start_matches("http://").trim_end_matches('/').to_owned()
    }

    /// A connection that has sent `bytes` and is kept open.
    fn open(&self, bytes: &[u8]) -> TcpStream {
        let mut s = TcpStream::connect(self.host()).unwrap();
        s.write_all(bytes).unwrap();
        s
    }

    /// Sends `bytes` as they are and reads the answer: its status (0 when the server closed
    /// the connection unanswered) and its text.
    fn raw(&self, bytes: &[u8]) -> (u16, String) {
        let mut s = self.open(bytes);
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        read_answer(&mut s)
    }

    /// The server still answers a small replay.
    fn assert_serving(&self) {
        let (s, body) = self.request("GET", "/api/run?strategy=microprice&events=2000", b"");
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    }
}

fn read_answer(s: &mut TcpStream) -> (u16, String) {
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

/// Whether the server has answered (or closed) `s`, without waiting.
fn answered(s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let pending =
        matches!(s.peek(&mut [0; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    s.set_nonblocking(false).unwrap();
    !pending
}

fn post_head(path: &str, length: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {length}\r\n\r\n"
    )
    .into_bytes()
}

/// A module that burns about 5 million fuel on every event: within its fuel, so never halted,
/// and slow enough that 20 million events would take hours.
fn burner(dir: &std::path::Path) -> Vec<u8> {
    let body = "(local $i i32)
        (loop $l
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000))))
        (i32.const 0)";
    std::fs::read(hostile_module(dir, "burner", body)).unwrap()
}

fn upload(wasm: &[u8]) -> Vec<u8> {
    let mut body = b"LSWEB1\nw".to_vec();
    body.extend_from_slice(&(wasm.len() as u64).to_le_bytes());
    body.extend_from_slice(wasm);
    body
}

#[test]
fn absurd_declared_lengths_and_headers_are_refused_without_allocating() {
    let serve = Serve::start(&["--max-upload-mib", "1"]);
    let huge = "9223372036854775807";
    // A GET with a body it never sends: the page is served, nothing is allocated for the body.
    let get =
        format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {huge}\r\n\r\n");
    let (s, text) = serve.raw(get.as_bytes());
    assert_eq!(s, 200, "{text}");
    let (s, text) = serve.raw(&post_head("/api/run", huge));
    assert!(s == 413 && text.contains("--max-upload-mib"), "{text}");
    // Past u64, negative, and not a number: refused as malformed.
    for length in ["18446744073709551616", "-1", "12abc"] {
        let (s, text) = serve.raw(&post_head("/api/run", length));
        assert_eq!(s, 400, "Content-Length {length}: {text}");
    }
    // A body without a length (chunked) is refused: its size would be unknown until read.
    let chunked = b"POST /api/run HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let (s, text) = serve.raw(chunked);
    assert_eq!(s, 411, "{text}");
    // A 64 KiB header field: refused (431) or the connection closed, never buffered whole.
    let big = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n", "a".repeat(64 * 1024));
    let (s, _) = serve.raw(big.as_bytes());
    assert!(s == 431 || s == 0, "oversized header answered {s}");
    serve.assert_serving();
}

#[test]
fn clients_that_trickle_or_say_nothing_hold_no_replay_slot() {
    let serve = Serve::start(&["--workers", "1", "--upload-timeout-secs", "2"]);
    // Announce 100 kB and send 7 bytes; say half a request line; connect and say nothing.
    let slow: Vec<TcpStream> = (0..4)
        .map(|_| serve.open(&[post_head("/api/run", "100000"), b"LSWEB1\n".to_vec()].concat()))
        .chain([serve.open(b"GET / HT"), serve.open(b"")])
        .collect();
    // Everyone else is served meanwhile, replays included.
    serve.assert_serving();
    let (s, _) = serve.request("GET", "/", b"");
    assert_eq!(s, 200);
    // The trickling uploads are answered 408 once their deadline passes.
    for mut c in slow.into_iter().take(4) {
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (s, text) = read_answer(&mut c);
        assert!(s == 408 && text.contains("too slowly"), "{text}");
    }
}

#[test]
fn more_uploads_than_workers_are_answered_busy_and_everyone_else_is_served() {
    let dir = tmp("serve-busy");
    let serve = Serve::start(&["--workers", "1", "--max-run-secs", "3"]);
    let body = upload(&burner(&dir));
    let host = serve.host();
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut c = TcpStream::connect(&host).unwrap();
                    c.write_all(&post_head(
                        "/api/run?strategy=burner&events=1000000",
                        &body.len().to_string(),
                    ))
                    .unwrap();
                    c.write_all(&body).unwrap();
                    read_answer(&mut c)
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap()).collect()
    });
    let busy = answers.iter().filter(|(_, t)| t.contains("busy with other replays")).count();
    let stopped = answers.iter().filter(|(_, t)| t.contains("--max-run-secs")).count();
    assert!(answers.iter().all(|(s, _)| *s == 503), "{answers:?}");
    assert!(stopped >= 1 && busy >= 1 && busy + stopped == 4, "{answers:?}");
    serve.assert_serving();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_that_never_ends_is_stopped_and_a_client_gone_frees_its_worker() {
    let dir = tmp("serve-forever");
    let body = upload(&burner(&dir));
    let head = post_head("/api/run?strategy=burner&events=20000000", &body.len().to_string());
    // The deadline stops it.
    let serve = Serve::start(&["--workers", "1", "--max-run-secs", "1"]);
    let (s, text) = serve.raw(&[head.clone(), body.clone()].concat());
    assert!(s == 503 && text.contains("was stopped after"), "{text}");
    serve.assert_serving();
    drop(serve);
    // A client that leaves: its replay stops long before the one-hour deadline.
    let serve = Serve::start(&["--workers", "1", "--max-run-secs", "3600"]);
    let request = [head, body].concat();
    let mut c = serve.open(&request);
    let mut waited = 0;
    while serve.request("GET", "/api/run?strategy=microprice&events=10", b"").0 != 503 {
        // The probe itself may have held the worker when the upload arrived: that upload was
        // then answered busy, and is sent again.
        if answered(&c) {
            c = serve.open(&request);
        }
        assert!(waited < 1200, "the long replay never took the worker");
        std::thread::park_timeout(Duration::from_millis(50));
        waited += 1;
    }
    drop(c);
    let mut tries = 0;
    loop {
        let (s, _) = serve.request("GET", "/api/run?strategy=microprice&events=10", b"");
        if s == 200 {
            break;
        }
        tries += 1;
        assert!(tries < 1200, "the worker was not freed after its client left");
        std::thread::park_timeout(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn paths_and_names_never_reach_the_servers_files() {
    let serve = Serve::start(&[]);
    for path in [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/strategies/../../../etc/passwd.wasm",
        "/strategies/..%2f..%2f..%2fetc%2fpasswd.wasm",
        "/static/../../Cargo.toml",
    ] {
        let (s, body) = serve.request("GET", path, b"");
        let text = String::from_utf8_lossy(&body);
        assert_eq!(s, 404, "{path}: {text}");
        assert!(!text.contains("root:") && !text.contains("[package]"), "{path}: {text}");
    }
    for name in ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "target%2Frelease%2Fx.wasm"] {
        let (s, body) = serve.request("GET", &format!("/api/run?strategy={name}&events=10"), b"");
        let text = String::from_utf8_lossy(&body);
        assert!(s == 400 && text.contains("is not a built-in strategy"), "{name}: {text}");
    }
    // Malformed uploads: wrong magic, an unknown part, a part given twice, a length past u64.
    for (body, says) in [
        (b"MULTIPART--".to_vec(), "does not start with LSWEB1"),
        (b"LSWEB1\nx\x00\0\0\0\0\0\0\0".to_vec(), "unknown upload part"),
        (b"LSWEB1\nw\x00\0\0\0\0\0\0\0w\x00\0\0\0\0\0\0\0".to_vec(), "given twice"),
        (b"LSWEB1\nw\xff\xff\xff\xff\xff\xff\xff\xff".to_vec(), "cut short"),
        (b"LSWEB1\nw\x01".to_vec(), "cut short"),
    ] {
        let (s, answer) = serve.request("POST", "/api/run", &body);
        let text = String::from_utf8_lossy(&answer);
        assert!(s == 400 && text.contains(says), "{says}: {text}");
    }
    serve.assert_serving();
}
