//! The hardened accept loop every listener runs (the HTTP listener, and the gRPC one): HTTP/1.1
//! and HTTP/2 (hyper-util's auto builder), optional TLS, and every bound of `[limits]`
//! enforced before a request reaches a handler. `docs/serve-limits.md` lists the limits and
//! what a client sees when it exceeds one.
//!
//! - `max_connections`: a semaphore; a connection over the limit is closed at once (counted).
//! - `header_read_timeout_ms`: a connection must deliver a complete request head this soon
//!   after it opens (HTTP/1.1, HTTP/2 and the protocol sniffing alike) and HTTP/1.1 keep-alive
//!   requests this soon after their first byte; it also bounds the TLS handshake.
//! - `max_header_bytes`: HTTP/1.1 read buffer (431 above it), HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE`.
//! - `max_streams_per_connection`: HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`.
//! - `max_concurrent_requests`: a semaphore over all connections; a request waits for a slot
//!   within its time limit.
//! - `request_timeout_ms`: from the request head to the answer, waiting for a slot included;
//!   exceeded: `504` `{"allowed": false, "error": {"code": "request_timeout"}}`.
//! - `max_body_bytes`: a declared length above it is refused before the body is read, a
//!   streamed body is cut when it passes it; both are `413` `{"allowed": false, "error":
//!   {"code": "body_too_large"}}`.
//!
//! Failing to accept (EMFILE, ENFILE, ...) backs off [`ACCEPT_BACKOFF`] instead of spinning.
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tower_http::limit::RequestBodyLimitLayer;

use crate::config::Limits;
use crate::error::ServeError;
use crate::http::api_error;
use crate::metrics::ListenerMetrics;

/// Pending connections the kernel queues before `accept` (capped by `net.core.somaxconn`).
pub const LISTEN_BACKLOG: u32 = 4096;

/// hyper's smallest HTTP/1.1 read buffer: a `max_header_bytes` below it is raised to it.
pub const MIN_HEADER_BUFFER_BYTES: usize = 8192;

/// Pause after a failed `accept` (out of file descriptors, ...), so the loop does not spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Added to `request_timeout_ms` to bound a graceful shutdown: requests in flight finish within
/// their own limit, then the connections still open are closed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// HTTP/2 keep-alive pings on an idle connection (a dead peer is dropped after one more period).
pub const H2_KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Binds `address` with a [`LISTEN_BACKLOG`]-deep accept queue.
pub fn bind(address: SocketAddr) -> Result<TcpListener, ServeError> {
    let error = |source| ServeError::Bind { address, source };
    let socket = if address.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(error)?;
    socket.set_reuseaddr(true).map_err(error)?;
    socket.bind(address).map_err(error)?;
    socket.listen(LISTEN_BACKLOG).map_err(error)
}

/// What every connection of one listener shares.
struct Shared {
    router: Router,
    requests: Arc<Semaphore>,
    request_timeout: Duration,
    head_timeout: Duration,
    max_body_bytes: usize,
    metrics: ListenerMetrics,
    builder: Builder<TokioExecutor>,
    tls: Option<TlsAcceptor>,
}

/// Serves `router` on `listener` within `limits` (over TLS when `tls` is given) until `stop`
/// turns true (or its sender is dropped); then stops accepting, lets requests in flight finish
/// (at most `request_timeout_ms` + [`SHUTDOWN_GRACE`]) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    tls: Option<TlsAcceptor>,
    metrics: ListenerMetrics,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let max_connections = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let connections = Arc::new(Semaphore::new(max_connections));
    let request_timeout = Duration::from_millis(limits.request_timeout_ms);
    let shared = Arc::new(Shared {
        router: router.layer(RequestBodyLimitLayer::new(limits.max_body_bytes)),
        requests: Arc::new(Semaphore::new(limits.max_concurrent_requests.clamp(1, Semaphore::MAX_PERMITS))),
        request_timeout,
        head_timeout: Duration::from_millis(limits.header_read_timeout_ms),
        max_body_bytes: limits.max_body_bytes,
        metrics,
        builder: builder(limits),
        tls,
    });
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                shared.metrics.accept_errors.inc();
                tracing::warn!(%error, "accept failed; backing off");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            shared.metrics.refused.inc();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, Arc::clone(&shared), stop.clone(), permit));
    }
    drop(listener);
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(request_timeout + SHUTDOWN_GRACE * 2, connections.acquire_many(all)).await;
    if drained.is_err() {
        tracing::warn!("connections still open after the shutdown grace period are being dropped");
    }
    Ok(())
}

/// The HTTP/1.1 and HTTP/2 settings that carry `limits`.
fn builder(limits: &Limits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BUFFER_BYTES));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(limits.max_streams_per_connection)
        .keep_alive_interval(H2_KEEP_ALIVE)
        .keep_alive_timeout(H2_KEEP_ALIVE);
    builder
}

/// Decrements the open-connections gauge when the connection task ends, however it ends.
struct OpenGuard(ListenerMetrics);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.dec();
    }
}

/// One accepted connection: the TLS handshake (bounded), then HTTP until it closes.
async fn connection(stream: TcpStream, shared: Arc<Shared>, stop: watch::Receiver<bool>, permit: OwnedSemaphorePermit) {
    shared.metrics.open.inc();
    let _open = OpenGuard(shared.metrics.clone());
    let _permit = permit;
    let Some(acceptor) = shared.tls.clone() else {
        return drive(stream, shared, stop).await;
    };
    match tokio::time::timeout(shared.head_timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls_stream)) => drive(tls_stream, shared, stop).await,
        Ok(Err(error)) => {
            shared.metrics.tls_failures.inc();
            tracing::debug!(%error, "TLS handshake failed");
        }
        Err(_) => {
            shared.metrics.tls_timeouts.inc();
            tracing::debug!("TLS handshake timed out");
        }
    }
}

/// Serves HTTP on `io` until the peer closes, the connection breaks, no complete request head
/// arrived within the head timeout, or a stop drains it.
async fn drive<I>(io: I, shared: Arc<Shared>, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let started = Arc::new(AtomicBool::new(false));
    let service = {
        let shared = Arc::clone(&shared);
        let started = Arc::clone(&started);
        hyper::service::service_fn(move |request| {
            started.store(true, Ordering::Release);
            handle(Arc::clone(&shared), request)
        })
    };
    let conn = shared.builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let head_deadline = tokio::time::sleep(shared.head_timeout);
    tokio::pin!(head_deadline);
    let mut drain: Option<Pin<Box<tokio::time::Sleep>>> = None;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = &mut head_deadline, if !started.load(Ordering::Acquire) => {
                if !started.load(Ordering::Acquire) {
                    shared.metrics.header_timeouts.inc();
                    return;
                }
            }
            _ = stop.wait_for(|stop| *stop), if drain.is_none() => {
                conn.as_mut().graceful_shutdown();
                drain = Some(Box::pin(tokio::time::sleep(shared.request_timeout + SHUTDOWN_GRACE)));
            }
            () = wait(&mut drain) => return,
        }
    }
}

/// Completes when the drain deadline is set and passed; never before it is set.
async fn wait(deadline: &mut Option<Pin<Box<tokio::time::Sleep>>>) {
    match deadline {
        Some(sleep) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}

/// One request: the declared body length, a request slot and the time limit, then the router.
async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    if declared_length(&request).is_some_and(|length| length > shared.max_body_bytes as u64) {
        return Ok(body_too_large(shared.max_body_bytes));
    }
    let work = async {
        let _slot = shared.requests.acquire().await.ok()?;
        shared.router.clone().oneshot(request.map(Body::new)).await.ok()
    };
    let response = match tokio::time::timeout(shared.request_timeout, work).await {
        Ok(Some(response)) => response,
        Ok(None) => api_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the server is shutting down"),
        Err(_) => {
            shared.metrics.request_timeouts.inc();
            api_error(
                StatusCode::GATEWAY_TIMEOUT,
                "request_timeout",
                format!("no answer within the limit of {} ms", shared.request_timeout.as_millis()),
            )
        }
    };
    Ok(json_errors(response, shared.max_body_bytes))
}

fn declared_length(request: &Request<Incoming>) -> Option<u64> {
    request.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn body_too_large(max: usize) -> Response<Body> {
    api_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is larger than the limit of {max} bytes"),
    )
}

/// A `413` from a layer below (a streamed body cut at the limit) in the API's JSON form.
fn json_errors(response: Response<Body>, max_body_bytes: usize) -> Response<Body> {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return body_too_large(max_body_bytes);
    }
    response
}
