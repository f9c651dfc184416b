//! `replay serve`: the browser page (static files and the replay core, embedded), the built-in
//! strategy modules, and the server's own replay of the same run for the page to compare
//! digests with.

use super::json::{NoExtra, ReportJson, RunJson, TapeJson};
use super::output::print_json;
use anyhow::{Context, Result};
use clap::Args;
use http::{Answer, read_body, respond};
use lockstep_engine::Tier;
use lockstep_host::HostSession;
use lockstep_host::{RunOptions, StrategySource, StrategySpec};
use lockstep_sim::{
    EventSource, ReplayError, Session, SessionConfig, Synth, SynthConfig, TapeReader,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Cursor;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

mod http;

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
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub(crate) max_upload_mib: u64,
    /// Most events of the synthetic market one request may ask for.
    #[arg(long, default_value_t = 20_000_000)]
    pub(crate) max_events: u64,
    /// Server-side replays at once; more are answered 503 (busy) at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub(crate) workers: u64,
    /// Longest a server-side replay may run, in seconds; it is stopped then (503), and a
    /// replay whose client has gone is stopped at once.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) max_run_secs: u64,
    /// Longest an upload may take to arrive, in seconds (408 after that).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub(crate) upload_timeout_secs: u64,
    /// Open connections at once; more are closed unanswered.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub(crate) max_connections: u64,
}

/// The page and its scripts, embedded: no CDN, works offline.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("/", "text/html; charset=utf-8", include_bytes!("../../../web/static/index.html")),
    ("/index.html", "text/html; charset=utf-8", include_bytes!("../../../web/static/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/app.js")),
    ("/host.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/host.js")),
    ("/style.css", "text/css; charset=utf-8", include_bytes!("../../../web/static/style.css")),
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

/// What every connection shares: the settings and the limits' counters.
struct Shared {
    args: ServeArgs,
    /// Replay slots (`--workers`).
    replays: Arc<Semaphore>,
    /// Upload bytes being received at once, in KiB: room for `--workers` + 2 uploads of the
    /// largest size, so slow uploads cannot exhaust memory.
    upload_kib: Semaphore,
    /// Open connections (`--max-connections`).
    connections: Arc<Semaphore>,
}

pub(crate) fn serve(args: ServeArgs, json: bool) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(listen(args, json))
}

async fn listen(args: ServeArgs, json: bool) -> Result<ExitCode> {
    let listener = tokio::net::TcpListener::bind((args.bind, args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr().context("the server has no local address")?;
    let url = format!("http://{addr}/");
    if json {
        print_json(&Listening { command: "serve", url: &url })?;
    } else {
        println!("replay serve: {url}  (Ctrl-C to stop)");
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let shared = Arc::new(Shared {
        replays: Arc::new(Semaphore::new(to_usize(args.workers))),
        upload_kib: Semaphore::new(to_usize(args.max_upload_mib * 1024 * (args.workers + 2))),
        connections: Arc::new(Semaphore::new(to_usize(args.max_connections))),
        args,
    });
    http::accept(listener, shared).await;
    Ok(ExitCode::SUCCESS)
}

/// Answers one request.
async fn route(
    req: hyper::Request<hyper::body::Incoming>,
    shared: Arc<Shared>,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let path = req.uri().path().to_owned();
    if path == "/api/run" {
        return respond(api_run(req, &shared).await.map(|body| ("application/json", body)));
    }
    if req.method() != hyper::Method::GET {
        return respond(Err(Refusal(405, format!("{} is answered to GET only", path))));
    }
    respond(asset(&path))
}

/// `/api/run`: checks the query, receives the upload (bounded in size, time and memory), then
/// replays on a worker thread if one is free, stopping at `--max-run-secs` or when the
/// client goes.
async fn api_run(
    req: hyper::Request<hyper::body::Incoming>,
    shared: &Shared,
) -> Result<Vec<u8>, Refusal> {
    let query = RunQuery::parse(req.uri().query().unwrap_or(""))?;
    let args = &shared.args;
    let upload = match *req.method() {
        hyper::Method::POST => {
            let limit = args.max_upload_mib.saturating_mul(1 << 20);
            let declared = req
                .headers()
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                .unwrap_or(limit)
                .min(limit);
            let kib = u32::try_from(declared.div_ceil(1024)).unwrap_or(u32::MAX);
            let _room = shared.upload_kib.try_acquire_many(kib).map_err(|_| {
                Refusal(503, "the server is receiving too many uploads; try again".to_owned())
            })?;
            let timeout = Duration::from_secs(args.upload_timeout_secs);
            parse_upload(&read_body(req, limit, timeout).await?)?
        }
        hyper::Method::GET => Upload::default(),
        ref m => return Err(Refusal(405, format!("/api/run takes GET or POST, not {m}"))),
    };
    if upload.tape.is_none() && query.events > args.max_events {
        return Err(Refusal(
            400,
            format!(
                "{} events is over this server's --max-events {}",
                query.events, args.max_events
            ),
        ));
    }
    let permit = Arc::clone(&shared.replays)
        .try_acquire_owned()
        .map_err(|_| Refusal(503, "the server is busy with other replays; try again".to_owned()))?;
    let gone = Arc::new(AtomicBool::new(false));
    let _guard = SetOnDrop(Arc::clone(&gone));
    let (tier, secs) = (args.tier, args.max_run_secs);
    let job = tokio::task::spawn_blocking(move || {
        let answer = replay(&query, upload, tier, Duration::from_secs(secs), &gone);
        drop(permit);
        answer
    });
    job.await.map_err(|e| Refusal(500, format!("the replay failed: {e}")))?
}

/// Sets its flag when dropped: a request future dropped by the server (the client went away)
/// tells its replay to stop.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A checked `/api/run` query.
struct RunQuery {
    strategy: String,
    params: Option<String>,
    events: u64,
    seed: u64,
}

impl RunQuery {
    fn parse(query: &str) -> Result<Self, Refusal> {
        let mut q = parse_query(query)?;
        if let Some(k) = q.keys().find(|k| !RUN_KEYS.contains(&k.as_str())) {
            return Err(Refusal(
                400,
                format!(
                    "unknown parameter `{}`; known: {}",
                    lockstep_sdk::untrusted(k).max_chars(64),
                    RUN_KEYS.join(", ")
                ),
            ));
        }
        let number = |key: &str, default: u64| -> Result<u64, Refusal> {
            q.get(key).map_or(Ok(default), |v| {
                v.parse().map_err(|_| {
                    Refusal(
                        400,
                        format!(
                            "`{key}` must be a whole number, not \"{}\"",
                            lockstep_sdk::untrusted(v).max_chars(64)
                        ),
                    )
                })
            })
        };
        let events = number("events", lockstep_sim::DEFAULT_SYNTH_EVENTS)?;
        let seed = number("seed", lockstep_sim::DEFAULT_SYNTH_SEED)?;
        Ok(Self {
            strategy: q.remove("strategy").unwrap_or_else(|| "noop".to_owned()),
            params: q.remove("params"),
            events,
            seed,
        })
    }
}

/// The server's replay of a request: `replay run --json`'s fields, or a refusal. Stops when
/// `limit` has passed or `gone` is set.
fn replay(
    query: &RunQuery,
    upload: Upload,
    tier: Tier,
    limit: Duration,
    gone: &AtomicBool,
) -> Result<Vec<u8>, Refusal> {
    let spec = strategy(query, upload.wasm)?;
    let mut src: Box<dyn EventSource> = match upload.tape {
        Some(bytes) => Box::new(
            TapeReader::new(Cursor::new(bytes)).map_err(|e| Refusal(400, format!("tape: {e}")))?,
        ),
        None => Box::new(Synth::new(SynthConfig { events: query.events, seed: query.seed })),
    };
    let header = src.header().clone();
    // The CLI's and Python's defaults for everything the page does not set.
    let options = RunOptions { tier, ..RunOptions::default() };
    let cfg = options.session().map_err(|e| Refusal(400, e.to_string()))?;
    let cfg = SessionConfig { measure_latency: false, ..cfg };
    let session = Session::load(&header, &[spec], cfg)?;
    #[allow(clippy::disallowed_methods, reason = "a server's deadline: never reaches a replay")]
    let started = std::time::Instant::now();
    let mut stop = || gone.load(Ordering::Relaxed) || started.elapsed() > limit;
    let out = session.run_until(&mut *src, &mut stop).map_err(|e| match e {
        ReplayError::Interrupted { index } => Refusal(
            503,
            format!(
                "the replay was stopped after {index} tape events: it ran past this server's --max-run-secs ({} s); run it locally with `replay run`",
                limit.as_secs()
            ),
        ),
        e => Refusal(400, format!("tape: {e}")),
    })?;
    let document = RunJson {
        command: "serve",
        mode: None,
        tape: TapeJson::new(&header),
        report: ReportJson::new(&out.report),
        extra: NoExtra {},
    };
    Ok(to_json(&document))
}

/// The strategy a request names: an uploaded module, or a built-in (never a path here).
fn strategy(query: &RunQuery, wasm: Option<Vec<u8>>) -> Result<StrategySpec, Refusal> {
    let (name, params) = (query.strategy.as_str(), query.params.as_deref());
    match wasm {
        Some(bytes) => Ok(StrategySpec {
            name: lockstep_sdk::untrusted(name).max_chars(64).to_string(),
            source: StrategySource::WasmFile {
                path: PathBuf::from("upload.wasm"),
                bytes: bytes.into(),
            },
            params: params.unwrap_or("").to_owned(),
        }),
        // A server runs built-ins and uploads only: a name is never a path on this machine.
        None if lockstep_strategies::get(name).is_none() => Err(Refusal(
            400,
            format!(
                "`{}` is not a built-in strategy (built-ins: {}); to run your own, upload its .wasm",
                lockstep_sdk::untrusted(name).max_chars(64),
                lockstep_strategies::names().collect::<Vec<_>>().join(", ")
            ),
        )),
        None => Ok(StrategySpec::resolve(name, params, false)?),
    }
}

fn asset(path: &str) -> Answer {
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

/// What an upload held.
#[derive(Default)]
struct Upload {
    /// A tape file.
    tape: Option<Vec<u8>>,
    /// A strategy module.
    wasm: Option<Vec<u8>>,
}

/// Splits an upload body: [`UPLOAD_MAGIC`], then parts.
fn parse_upload(body: &[u8]) -> Result<Upload, Refusal> {
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

/// A query string as keys and values, percent-decoded.
fn parse_query(q: &str) -> Result<BTreeMap<String, String>, Refusal> {
    let mut out = BTreeMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k)?, percent_decode(v)?);
        if out.insert(k.clone(), v).is_some() {
            return Err(Refusal(
                400,
                format!("parameter `{}` given twice", lockstep_sdk::untrusted(&k).max_chars(64)),
            ));
        }
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Result<String, Refusal> {
    let bad = || {
        Refusal(
            400,
            format!("bad percent-encoding in \"{}\"", lockstep_sdk::untrusted(s).max_chars(64)),
        )
    };
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
        let q = parse_query("strategy=microprice&params=a%3D1%3Bb%3D2&x=a+b").unwrap();
        assert_eq!(q["params"], "a=1;b=2");
        assert_eq!(q["x"], "a b");
        assert!(parse_query("a=1&a=2").is_err());
        assert!(parse_query("a=%zz").is_err());
        assert!(parse_query("a=%4").is_err());
        assert!(parse_query("a=%ff").is_err(), "not UTF-8");
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
