//! The HTTP side of `replay serve`: HTTP/1.1 on hyper, with every request bounded in memory
//! and time. A connection's header must arrive within [`HEADER_TIMEOUT`] and fit in
//! [`MAX_HEAD`]; a body is streamed (never allocated from its declared length), capped, and
//! must arrive within the upload deadline; connections beyond the limit are closed at once.

use super::{Refusal, Shared};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Time a client has to send a request's header (from the connection's start or the previous
/// answer): a client that trickles one, or opens a connection and says nothing, is dropped.
pub(super) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request header (request line and fields); a longer one is refused.
pub(super) const MAX_HEAD: usize = 16 * 1024;
/// Time a body may go without a byte before the request is refused.
const BODY_IDLE: Duration = Duration::from_secs(10);

/// What a handler answers: a status, a content type and the bytes.
pub(super) type Answer = Result<(&'static str, Vec<u8>), Refusal>;

/// Accepts connections on `listener` for ever, each served on its own task.
pub(super) async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors or a connection reset before accept: let it pass.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // Past the limit a connection is closed unanswered: its task would hold memory.
        let Ok(permit) = Arc::clone(&shared.connections).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, std::convert::Infallible>(super::route(req, shared).await) }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD);
            // A connection's errors (a bad request line, a timeout, a reset) end only it.
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
            drop(permit);
        });
    }
}

/// Reads a request body of at most `limit` bytes, which must arrive within `deadline` with no
/// pause longer than [`BODY_IDLE`]. The declared length is checked first and never allocated.
pub(super) async fn read_body(
    req: Request<Incoming>,
    limit: u64,
    deadline: Duration,
) -> Result<Vec<u8>, Refusal> {
    let too_big =
        || Refusal(413, format!("the upload is larger than --max-upload-mib ({limit} bytes)"));
    let declared = req.headers().get(CONTENT_LENGTH).map(HeaderValue::to_str);
    match declared {
        None => return Err(Refusal(411, "an upload needs a Content-Length".to_owned())),
        Some(Ok(v)) if v.trim().parse::<u64>().is_ok_and(|n| n > limit) => return Err(too_big()),
        _ => {}
    }
    let mut body = req.into_body();
    let mut out = Vec::new();
    let read = async {
        loop {
            let frame = match tokio::time::timeout(BODY_IDLE, body.frame()).await {
                Err(_) => return Err(slow()),
                Ok(None) => return Ok(()),
                Ok(Some(f)) => f.map_err(|e| Refusal(400, format!("reading the upload: {e}")))?,
            };
            if let Ok(data) = frame.into_data() {
                if (out.len() as u64).saturating_add(data.len() as u64) > limit {
                    return Err(too_big());
                }
                out.extend_from_slice(&data);
            }
        }
    };
    match tokio::time::timeout(deadline, read).await {
        Err(_) => Err(slow()),
        Ok(r) => r.map(|()| out),
    }
}

fn slow() -> Refusal {
    Refusal(408, "the upload arrived too slowly; send it again in one go".to_owned())
}

/// The response for `answer`, with the headers every answer carries.
pub(super) fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let (status, kind, body) = match answer {
        Ok((kind, body)) => (200, kind, body),
        Err(Refusal(status, message)) => {
            (status, "application/json", super::to_json(&super::ErrorBody { error: &message }))
        }
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = [
        ("content-type", kind),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        (
            "content-security-policy",
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:",
        ),
    ];
    for (k, v) in headers {
        resp.headers_mut().insert(k, HeaderValue::from_static(v));
    }
    resp
}
