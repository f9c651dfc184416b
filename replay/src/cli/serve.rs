//! `replay serve`: the browser page (static files and the replay core, embedded), the built-in
//! strategy modules, and the server's own replay of the same run for the page to compare
//! digests with.

use super::json::{NoExtra, ReportJson, RunJson, TapeJson};
use super::output::print_json;
use anyhow::{Context, Result};
use clap::Args;
use lockstep_engine::Tier;
use lockstep_host::HostSession;
use lockstep_host::{RunOptions, StrategySource, StrategySpec};
use lockstep_sim::{EventSource, Session, SessionConfig, Synth, SynthConfig, TapeReader};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tiny_http::{Header, Method, Request, Response, Server};

#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Port to listen on (0: any free port; the address is printed either way).
    #[arg(long, default_value_t = 8080)]
    pub(crate) port: u16,
    /// Address to listen on. The default keeps the page on this machine; `0.0.0.0` lets anyone
    /// who can reach it run replays here.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) bind: IpAddr,
    /// Engine tier of the server's own replays (the digest is the same on both).
    #[arg(long, default_value_t = Tier::Interpreter)]
    pub(crate) tier: Tier,
    /// Largest upload (a tape and a .wasm together), in MiB.
    #[arg(long, default_value_t = 256)]
    pub(crate) max_upload_mib: u64,
    /// Most events of the synthetic market one request may ask for.
    #[arg(long, default_value_t = 20_000_000)]
    pub(crate) max_events: u64,
    /// Server-side replays at once; more are answered 503 (busy) at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub(crate) workers: u64,
}

/// The page and its scripts, embedded: no CDN, works offline.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("/", "text/html; charset=utf-8", include_bytes!("../../web/static/index.html")),
    ("/index.html", "text/html; charset=utf-8", include_bytes!("../../web/static/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_bytes!("../../web/static/app.js")),
    ("/host.js", "text/javascript; charset=utf-8", include_bytes!("../../web/static/host.js")),
    ("/style.css", "text/css; charset=utf-8", include_bytes!("../../web/static/style.css")),
    (
        "/lockstep_web.wasm",
        "application/wasm",
        include_bytes!(concat!(env!("OUT_DIR"), "/lockstep_web.wasm")),
    ),
];

/// Magic of an upload: parts tagged `t` (a tape) or `w` (a strategy module), each with a
/// little-endian u64 length.
const UPLOAD_MAGIC: &[u8] = b"LSWEB1\n";

/// Query keys `/api/run` understands.
const RUN_KEYS: &[&str] = &["strategy", "params", "events", "seed"];

/// A request's failure: the HTTP status and what to tell the page.
#[derive(Debug)]
struct Refusal(u16, String);

impl<E: std::fmt::Display> From<E> for Refusal {
    fn from(e: E) -> Self {
        Refusal(400, e.to_string())
    }
}

struct Shared {
    args: ServeArgs,
    busy: AtomicUsize,
}

pub(crate) fn serve(args: ServeArgs, json: bool) -> Result<ExitCode> {
    let server = Server::http((args.bind, args.port))
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    let addr =
        server.server_addr().to_ip().context("the server is not listening on an IP address")?;
    let url = format!("http://{addr}/");
    if json {
        print_json(&Listening { command: "serve", url: &url })?;
    } else {
        println!("replay serve: {url}  (Ctrl-C to stop)");
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let shared = Arc::new(Shared { args, busy: AtomicUsize::new(0) });
    for req in server.incoming_requests() {
        let path = req.url().split('?').next().unwrap_or("/").to_owned();
        if path == "/api/run" {
            let taken = shared.busy.fetch_add(1, Ordering::SeqCst);
            if taken as u64 >= shared.args.workers {
                shared.busy.fetch_sub(1, Ordering::SeqCst);
                let busy = Refusal(503, "the server is busy with other replays; try again".into());
                respond(req, Err(busy));
                continue;
            }
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut req = req;
                let answer = run(&mut req, &shared.args);
                respond(req, answer.map(|body| ("application/json", body)));
                shared.busy.fetch_sub(1, Ordering::SeqCst);
            });
            continue;
        }
        let answer = if req.method() != &Method::Get {
            Err(Refusal(405, format!("{} is answered to GET only", path)))
        } else {
            asset(&path)
        };
        respond(req, answer);
    }
    Ok(ExitCode::SUCCESS)
}

fn asset(path: &str) -> Result<(&'static str, Vec<u8>), Refusal> {
    if let Some((_, kind, bytes)) = ASSETS.iter().find(|(p, _, _)| *p == path) {
        return Ok((kind, bytes.to_vec()));
    }
    if path == "/api/strategies" {
        let body = StrategiesBody {
            strategies: lockstep_host::strategy_listing(),
            defaults: SynthDefaults {
                events: lockstep_sim::DEFAULT_SYNTH_EVENTS,
                seed: lockstep_sim::DEFAULT_SYNTH_SEED,
            },
        };
        return Ok(("application/json", to_json(&body)));
    }
    if let Some(name) = path.strip_prefix("/strategies/").and_then(|n| n.strip_suffix(".wasm"))
        && let Some(info) = lockstep_strategies::get(name)
    {
        return Ok(("application/wasm", info.wasm.to_vec()));
    }
    Err(Refusal(404, format!("nothing at {path}; the page is at /")))
}

fn respond(req: Request, answer: Result<(&'static str, Vec<u8>), Refusal>) {
    let (status, kind, body) = match answer {
        Ok((kind, body)) => (200, kind, body),
        Err(Refusal(status, message)) => {
            (status, "application/json", to_json(&ErrorBody { error: &message }))
        }
    };
    let headers = [
        ("Content-Type", kind),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        (
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:",
        ),
    ];
    let mut resp = Response::from_data(body).with_status_code(status);
    for (k, v) in headers {
        if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            resp.add_header(h);
        }
    }
    // The page may have gone away; nothing to do about it.
    let _ = req.respond(resp);
}

/// `GET /api/run?strategy=&params=&events=&seed=` over the synthetic market, or `POST` with an
/// upload (a tape, a module, or both): the server's replay of what the page runs, with
/// `replay run --json`'s fields.
fn run(req: &mut Request, args: &ServeArgs) -> Result<Vec<u8>, Refusal> {
    let query = parse_query(req.url())?;
    if let Some(k) = query.keys().find(|k| !RUN_KEYS.contains(&k.as_str())) {
        return Err(Refusal(
            400,
            format!("unknown parameter `{k}`; known: {}", RUN_KEYS.join(", ")),
        ));
    }
    let number = |key: &str, default: u64| -> Result<u64, Refusal> {
        query.get(key).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| Refusal(400, format!("`{key}` must be a whole number, not {v:?}")))
        })
    };
    let events = number("events", lockstep_sim::DEFAULT_SYNTH_EVENTS)?;
    let seed = number("seed", lockstep_sim::DEFAULT_SYNTH_SEED)?;
    let Upload { tape, wasm } = match req.method() {
        Method::Post => read_upload(req, args.max_upload_mib.saturating_mul(1 << 20))?,
        Method::Get => Upload::default(),
        m => return Err(Refusal(405, format!("/api/run takes GET or POST, not {m}"))),
    };
    if tape.is_none() && events > args.max_events {
        return Err(Refusal(
            400,
            format!("{events} events is over this server's --max-events {}", args.max_events),
        ));
    }
    let params = query.get("params").map(String::as_str);
    let strategy = query.get("strategy").map_or("noop", String::as_str);
    let spec = match wasm {
        Some(bytes) => StrategySpec {
            name: lockstep_sdk::untrusted(strategy).max_chars(64).to_string(),
            source: StrategySource::WasmFile {
                path: PathBuf::from("upload.wasm"),
                bytes: bytes.into(),
            },
            params: params.unwrap_or("").to_owned(),
        },
        // A server runs built-ins and uploads only: a name is never a path on this machine.
        None if lockstep_strategies::get(strategy).is_none() => {
            return Err(Refusal(
                400,
                format!(
                    "`{}` is not a built-in strategy (built-ins: {}); to run your own, upload its .wasm",
                    lockstep_sdk::untrusted(strategy).max_chars(64),
                    lockstep_strategies::names().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        None => StrategySpec::resolve(strategy, params, false)?,
    };
    let mut src: Box<dyn EventSource> = match tape {
        Some(bytes) => Box::new(
            TapeReader::new(Cursor::new(bytes)).map_err(|e| Refusal(400, format!("tape: {e}")))?,
        ),
        None => Box::new(Synth::new(SynthConfig { events, seed })),
    };
    let header = src.header().clone();
    // The CLI's and Python's defaults for everything the page does not set.
    let options = RunOptions { tier: args.tier, ..RunOptions::default() };
    let cfg = options.session().map_err(|e| Refusal(400, e.to_string()))?;
    let cfg = SessionConfig { measure_latency: false, ..cfg };
    let session = Session::load(&header, &[spec], cfg)?;
    let out =
        session.run(&mut *src, &mut |_| {}).map_err(|e| Refusal(400, format!("tape: {e}")))?;
    let document = RunJson {
        command: "serve",
        mode: None,
        tape: TapeJson::new(&header),
        report: ReportJson::new(&out.report),
        extra: NoExtra {},
    };
    Ok(to_json(&document))
}

/// What an upload held.
#[derive(Default)]
struct Upload {
    /// A tape file.
    tape: Option<Vec<u8>>,
    /// A strategy module.
    wasm: Option<Vec<u8>>,
}

/// Reads an upload body: [`UPLOAD_MAGIC`], then parts.
fn read_upload(req: &mut Request, limit: u64) -> Result<Upload, Refusal> {
    let too_big =
        || Refusal(413, format!("the upload is larger than --max-upload-mib ({limit} bytes)"));
    if req.body_length().is_some_and(|n| n as u64 > limit) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    req.as_reader()
        .take(limit.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| Refusal(400, format!("reading the upload: {e}")))?;
    if body.len() as u64 > limit {
        return Err(too_big());
    }
    let mut rest = body
        .strip_prefix(UPLOAD_MAGIC)
        .ok_or_else(|| Refusal(400, "the upload does not start with LSWEB1".to_owned()))?;
    let mut up = Upload::default();
    while let Some((&tag, after)) = rest.split_first() {
        let (len, after) = after
            .split_first_chunk::<8>()
            .ok_or_else(|| Refusal(400, "upload part header cut short".to_owned()))?;
        let len = usize::try_from(u64::from_le_bytes(*len)).unwrap_or(usize::MAX);
        if len > after.len() {
            return Err(Refusal(400, format!("upload part `{}` is cut short", char::from(tag))));
        }
        let (bytes, after) = after.split_at(len);
        let slot = match tag {
            b't' => &mut up.tape,
            b'w' => &mut up.wasm,
            _ => return Err(Refusal(400, format!("unknown upload part `{}`", char::from(tag)))),
        };
        if slot.replace(bytes.to_vec()).is_some() {
            return Err(Refusal(400, format!("upload part `{}` given twice", char::from(tag))));
        }
        rest = after;
    }
    Ok(up)
}

/// The query string of `url` as keys and values, percent-decoded.
fn parse_query(url: &str) -> Result<BTreeMap<String, String>, Refusal> {
    let mut out = BTreeMap::new();
    let Some((_, q)) = url.split_once('?') else { return Ok(out) };
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k)?, percent_decode(v)?);
        if out.insert(k.clone(), v).is_some() {
            return Err(Refusal(400, format!("parameter `{k}` given twice")));
        }
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Result<String, Refusal> {
    let bad = || Refusal(400, format!("bad percent-encoding in {s:?}"));
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_and_refuse_repeats() {
        let q = parse_query("/api/run?strategy=microprice&params=a%3D1%3Bb%3D2&x=a+b").unwrap();
        assert_eq!(q["params"], "a=1;b=2");
        assert_eq!(q["x"], "a b");
        assert!(parse_query("/api/run?a=1&a=2").is_err());
        assert!(parse_query("/api/run?a=%zz").is_err());
        assert!(parse_query("/api/run?a=%4").is_err());
        assert!(parse_query("/api/run?a=%ff").is_err(), "not UTF-8");
    }

    #[test]
    fn every_asset_is_embedded_and_unknown_paths_are_404() {
        for (path, _, bytes) in ASSETS {
            assert!(!bytes.is_empty(), "{path}");
        }
        assert!(asset("/strategies/microprice.wasm").is_ok());
        assert!(matches!(asset("/strategies/nope.wasm"), Err(Refusal(404, _))));
        assert!(matches!(asset("/../etc/passwd"), Err(Refusal(404, _))));
    }
}

/// `serve --json`: where the page is.
#[derive(Serialize)]
struct Listening<'a> {
    command: &'static str,
    url: &'a str,
}

/// `GET /api/strategies`.
#[derive(Serialize)]
struct StrategiesBody {
    strategies: Vec<lockstep_host::StrategyListing>,
    defaults: SynthDefaults,
}

/// The synthetic market's defaults, for the page's form.
#[derive(Serialize)]
struct SynthDefaults {
    events: u64,
    seed: u64,
}

/// A refusal's body.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

/// A response body; our types always encode.
fn to_json(body: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes())
}
