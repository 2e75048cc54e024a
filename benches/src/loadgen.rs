//! A bounded, closed-loop load generator for `warrant serve`.
//!
//! `C` simulated clients each own one keep-alive connection (HTTP/1.1 or h2 for the JSON API,
//! h2 for ext_authz gRPC) and send their next request as soon as the previous answer is in, so
//! the offered load is whatever the server sustains at that concurrency. Requests started in the
//! warm-up are answered and checked but not measured. Every answer is checked: a transport
//! failure, a timeout, a non-2xx status, a gRPC error or a decision other than the expected one
//! is counted as an error and never enters the latency histogram.
//!
//! Bounds: at most [`MAX_CONNECTIONS`] connections, [`MAX_DURATION`] of measurement, answers of
//! at most [`MAX_RESPONSE_BYTES`], each request and connect at most `request_timeout`; a run
//! therefore ends by `warmup + duration + 2 × request_timeout` whatever the server does.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request as AttrRequest};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::{AttributeContext, CheckRequest};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// Most connections one run opens.
pub const MAX_CONNECTIONS: usize = 10_000;
/// Longest measurement (and longest warm-up) of one run.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Largest answer body read; a larger one is an error.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Latencies above this are recorded as this (the histogram's upper bound), in nanoseconds.
const MAX_RECORDED_NANOS: u64 = 60_000_000_000;
/// gRPC status `PERMISSION_DENIED` (google.rpc.Code 7), ext_authz's deny.
const GRPC_PERMISSION_DENIED: i32 = 7;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A setting outside its documented bound.
    #[error("invalid load setting `{setting}`: {problem}")]
    Invalid {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A token could not be signed.
    #[error("cannot sign a token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    /// The embedded request document is not what the workload expects.
    #[error("workload: {0}")]
    Workload(String),
}

/// HTTP version of the JSON API connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// HTTP/1.1 keep-alive: one request at a time per connection.
    Http1,
    /// h2 with prior knowledge (cleartext), one stream at a time per connection.
    Http2,
}

/// What the simulated clients send, and which decision every answer must carry.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Workload {
    /// `POST path` with one of `bodies` (taken round-robin over all connections).
    Http {
        /// The request path, e.g. `/v1/decide`.
        path: String,
        /// JSON bodies; one per token for the token endpoint, so `N` bodies are `N` tokens.
        bodies: Arc<Vec<Bytes>>,
        /// The decision every answer must carry (`"allowed": true` or `false`).
        expect_allowed: bool,
        /// Decisions per answer: 1 for a single decision (top-level `allowed`), `N` for a
        /// `/v1/decide/batch` answer whose `results` must be exactly `N` items, each with the
        /// expected decision.
        decisions_per_answer: usize,
    },
    /// `envoy.service.auth.v3.Authorization/Check` with one of `requests` (round-robin).
    Grpc {
        /// The check requests.
        requests: Arc<Vec<CheckRequest>>,
        /// `true`: every answer must be OK; `false`: every answer must be PERMISSION_DENIED.
        expect_allowed: bool,
    },
}

impl Workload {
    fn len(&self) -> usize {
        match self {
            Workload::Http { bodies, .. } => bodies.len(),
            Workload::Grpc { requests, .. } => requests.len(),
        }
    }
}

/// How hard and how long to load the server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadConfig {
    /// The server's address (HTTP listener, or gRPC listener for [`Workload::Grpc`]).
    pub addr: SocketAddr,
    /// Concurrent connections, each a closed loop (1 ..= [`MAX_CONNECTIONS`]).
    pub connections: usize,
    /// Measured time (≤ [`MAX_DURATION`]).
    pub duration: Duration,
    /// Time before measuring: connections open, caches fill, answers are still checked.
    pub warmup: Duration,
    /// Longest wait for one connect or one answer.
    pub request_timeout: Duration,
    /// HTTP version for [`Workload::Http`].
    pub protocol: Protocol,
}

impl LoadConfig {
    /// `connections` clients for `duration` after a 1 s warm-up, HTTP/1.1, 5 s request timeout.
    pub fn new(addr: SocketAddr, connections: usize, duration: Duration) -> LoadConfig {
        LoadConfig {
            addr,
            connections,
            duration,
            warmup: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            protocol: Protocol::Http1,
        }
    }

    fn validate(&self, workload: &Workload) -> Result<(), LoadError> {
        let invalid = |setting, problem: &str| Err(LoadError::Invalid { setting, problem: problem.to_string() });
        if !(1..=MAX_CONNECTIONS).contains(&self.connections) {
            return invalid("connections", &format!("must be between 1 and {MAX_CONNECTIONS}"));
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION || self.warmup > MAX_DURATION {
            return invalid("duration", &format!("must be above zero and at most {} s", MAX_DURATION.as_secs()));
        }
        if self.request_timeout.is_zero() || self.request_timeout > Duration::from_secs(60) {
            return invalid("request_timeout", "must be above zero and at most 60 s");
        }
        if workload.len() == 0 {
            return invalid("workload", "needs at least one request");
        }
        if matches!(workload, Workload::Http { decisions_per_answer: 0, .. }) {
            return invalid("decisions_per_answer", "must be at least 1");
        }
        Ok(())
    }
}

/// Errors of a run, by kind. Only requests started after the warm-up are counted here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorCounts {
    /// A connection could not be opened (within the timeout).
    pub connect: u64,
    /// The connection failed during a request (reset, protocol error, body too large).
    pub transport: u64,
    /// No complete answer within the request timeout.
    pub timeout: u64,
    /// A non-2xx HTTP status, or a gRPC error status.
    pub status: u64,
    /// An answer whose decision was not the expected one (or had none).
    pub decision: u64,
}

impl ErrorCounts {
    /// All errors.
    pub fn total(&self) -> u64 {
        self.connect + self.transport + self.timeout + self.status + self.decision
    }

    fn add(&mut self, other: &ErrorCounts) {
        self.connect += other.connect;
        self.transport += other.transport;
        self.timeout += other.timeout;
        self.status += other.status;
        self.decision += other.decision;
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadReport {
    /// Connections the run used.
    pub connections: usize,
    /// Measured requests answered as expected.
    pub ok: u64,
    /// Measured requests that failed, by kind.
    pub errors: ErrorCounts,
    /// Every request sent, warm-up included (for CPU per request).
    pub all_requests: u64,
    /// From the end of the warm-up to the last answer.
    pub elapsed: Duration,
    /// Latencies of the measured requests answered as expected, in nanoseconds.
    pub histogram: Histogram<u64>,
}

impl LoadReport {
    /// Requests answered as expected per second of measurement.
    pub fn rps(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.ok as f64 / seconds
        } else {
            0.0
        }
    }

    /// The latency at `quantile` (0..=1) in microseconds; 0 when nothing was measured.
    pub fn percentile_us(&self, quantile: f64) -> f64 {
        if self.histogram.is_empty() {
            return 0.0;
        }
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The one-line JSON summary the `loadgen` command prints.
    pub fn to_json(&self) -> Value {
        let round = |us: f64| (us * 10.0).round() / 10.0;
        json!({
            "connections": self.connections,
            "seconds": round(self.elapsed.as_secs_f64()),
            "ok": self.ok,
            "all_requests": self.all_requests,
            "rps": self.rps().round(),
            "p50_us": round(self.percentile_us(0.5)),
            "p99_us": round(self.percentile_us(0.99)),
            "p999_us": round(self.percentile_us(0.999)),
            "max_us": round(self.histogram.max() as f64 / 1000.0),
            "errors": self.errors.total(),
            "error_kinds": {
                "connect": self.errors.connect,
                "transport": self.errors.transport,
                "timeout": self.errors.timeout,
                "status": self.errors.status,
                "decision": self.errors.decision,
            },
        })
    }
}

/// A histogram for nanosecond latencies from 1 ns to 60 s, 3 significant digits.
#[allow(clippy::expect_used)]
pub fn latency_histogram() -> Histogram<u64> {
    // Constant bounds that hdrhistogram accepts (low ≥ 1, high ≥ 2 × low, sigfig ≤ 5).
    Histogram::new_with_bounds(1, MAX_RECORDED_NANOS, 3).expect("constant bounds are valid")
}

/// Shared by the workers: the requests and the round-robin cursor over them.
struct Shared {
    config: LoadConfig,
    /// `config.addr` as an HTTP authority (`Host`, h2 URIs).
    authority: String,
    workload: Workload,
    next: AtomicUsize,
    measure_from: Instant,
    end: Instant,
}

impl Shared {
    fn next_index(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.workload.len().max(1)
    }
}

/// One worker's tally.
struct Tally {
    ok: u64,
    errors: ErrorCounts,
    all_requests: u64,
    histogram: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally { ok: 0, errors: ErrorCounts::default(), all_requests: 0, histogram: latency_histogram() }
    }

    /// Counts one request started at `started`; measured only after the warm-up.
    fn count(&mut self, shared: &Shared, started: Instant, outcome: Outcome) {
        self.all_requests += 1;
        if started < shared.measure_from {
            return;
        }
        match outcome {
            Outcome::Ok => {
                self.ok += 1;
                let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                self.histogram.saturating_record(nanos.clamp(1, MAX_RECORDED_NANOS));
            }
            Outcome::Connect => self.errors.connect += 1,
            Outcome::Transport => self.errors.transport += 1,
            Outcome::Timeout => self.errors.timeout += 1,
            Outcome::Status => self.errors.status += 1,
            Outcome::Decision => self.errors.decision += 1,
        }
    }
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Connect,
    Transport,
    Timeout,
    Status,
    Decision,
}

/// Runs `workload` against `config.addr` and reports. Needs a multi-threaded tokio runtime.
pub async fn run(config: LoadConfig, workload: Workload) -> Result<LoadReport, LoadError> {
    config.validate(&workload)?;
    let started = Instant::now();
    let measure_from = started + config.warmup;
    let end = measure_from + config.duration;
    let connections = config.connections;
    let authority = config.addr.to_string();
    let shared = Arc::new(Shared { config, authority, workload, next: AtomicUsize::new(0), measure_from, end });
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let shared = Arc::clone(&shared);
        workers.push(tokio::spawn(async move {
            match &shared.workload {
                Workload::Http { .. } => closed_loop::<HttpSender>(&shared).await,
                Workload::Grpc { .. } => closed_loop::<AuthorizationClient<tonic::transport::Channel>>(&shared).await,
            }
        }));
    }
    let mut total = Tally::new();
    for worker in workers {
        match worker.await {
            Ok(tally) => {
                total.ok += tally.ok;
                total.errors.add(&tally.errors);
                total.all_requests += tally.all_requests;
                // Both histograms have the same bounds, so adding cannot fail.
                let _ = total.histogram.add(&tally.histogram);
            }
            // A worker that panicked lost its tally: count it as one transport error, visibly.
            Err(_) => total.errors.transport += 1,
        }
    }
    let elapsed = Instant::now().saturating_duration_since(measure_from);
    Ok(LoadReport {
        connections,
        ok: total.ok,
        errors: total.errors,
        all_requests: total.all_requests,
        elapsed,
        histogram: total.histogram,
    })
}

/// Pause after a failed connect, so a refused port is not hammered in a tight loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(50);

enum HttpSender {
    One(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    Two(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

async fn http_connect(config: &LoadConfig) -> Result<HttpSender, Outcome> {
    tokio::time::timeout(config.request_timeout, http_open(config)).await.unwrap_or(Err(Outcome::Connect))
}

async fn http_open(config: &LoadConfig) -> Result<HttpSender, Outcome> {
    let stream = TcpStream::connect(config.addr).await.map_err(|_| Outcome::Connect)?;
    stream.set_nodelay(true).map_err(|_| Outcome::Connect)?;
    let io = TokioIo::new(stream);
    match config.protocol {
        Protocol::Http1 => {
            let (sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(|_| Outcome::Connect)?;
            tokio::spawn(connection);
            Ok(HttpSender::One(sender))
        }
        Protocol::Http2 => {
            let (sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await.map_err(|_| Outcome::Connect)?;
            tokio::spawn(connection);
            Ok(HttpSender::Two(sender))
        }
    }
}

/// A connection a simulated client sends its requests over.
trait Connection: Sized {
    /// Opens one (bounded by the request timeout).
    async fn open(config: &LoadConfig) -> Result<Self, Outcome>;
    /// Sends request `index` of `workload`, reads and checks the answer.
    async fn exchange(&mut self, shared: &Shared, index: usize) -> Outcome;
}

/// One simulated client: a closed loop over one connection (reopened after [`CONNECT_BACKOFF`]
/// when it breaks or times out) until the run ends, each exchange bounded by the request
/// timeout and counted in the tally.
async fn closed_loop<C: Connection>(shared: &Shared) -> Tally {
    let mut tally = Tally::new();
    let mut connection: Option<C> = None;
    while Instant::now() < shared.end {
        let started = Instant::now();
        let Some(open) = connection.as_mut() else {
            match C::open(&shared.config).await {
                Ok(new) => connection = Some(new),
                Err(outcome) => {
                    tally.count(shared, started, outcome);
                    tokio::time::sleep(CONNECT_BACKOFF).await;
                }
            }
            continue;
        };
        let outcome = tokio::time::timeout(shared.config.request_timeout, open.exchange(shared, shared.next_index()))
            .await
            .unwrap_or(Outcome::Timeout);
        if matches!(outcome, Outcome::Transport | Outcome::Timeout) {
            connection = None;
        }
        tally.count(shared, started, outcome);
    }
    tally
}

impl Connection for HttpSender {
    async fn open(config: &LoadConfig) -> Result<Self, Outcome> {
        http_connect(config).await
    }

    async fn exchange(&mut self, shared: &Shared, index: usize) -> Outcome {
        let Workload::Http { path, bodies, expect_allowed, decisions_per_answer } = &shared.workload else {
            return Outcome::Transport;
        };
        let body = bodies.get(index).cloned().unwrap_or_default();
        http_exchange(self, path, &shared.authority, body, (*expect_allowed, *decisions_per_answer)).await
    }
}

async fn http_exchange(
    sender: &mut HttpSender,
    path: &str,
    authority: &str,
    body: Bytes,
    (expect_allowed, decisions_per_answer): (bool, usize),
) -> Outcome {
    let mut builder = hyper::Request::post(path).header(hyper::header::CONTENT_TYPE, "application/json");
    // h2 takes the authority from the URI; HTTP/1.1 needs the Host header.
    builder = match sender {
        HttpSender::One(_) => builder.header(hyper::header::HOST, authority),
        HttpSender::Two(_) => builder.uri(format!("http://{authority}{path}")),
    };
    let Ok(request) = builder.body(Full::new(body)) else { return Outcome::Transport };
    let response = match sender {
        HttpSender::One(one) => match one.ready().await {
            Ok(()) => one.send_request(request).await,
            Err(error) => Err(error),
        },
        HttpSender::Two(two) => match two.ready().await {
            Ok(()) => two.send_request(request).await,
            Err(error) => Err(error),
        },
    };
    let Ok(response) = response else { return Outcome::Transport };
    let status = response.status();
    let Ok(collected) = Limited::new(response.into_body(), MAX_RESPONSE_BYTES).collect().await else {
        return Outcome::Transport;
    };
    if !status.is_success() {
        return Outcome::Status;
    }
    let bytes = collected.to_bytes();
    let decision =
        if decisions_per_answer == 1 { decision_of(&bytes) } else { batch_decision_of(&bytes, decisions_per_answer) };
    if decision == Some(expect_allowed) {
        Outcome::Ok
    } else {
        Outcome::Decision
    }
}

/// The top-level `allowed` of a JSON decision answer; `None` when it has none (or is not JSON).
/// Parsed, not searched for: a nested `"allowed"` (a batch item, a context echo) must not count.
pub fn decision_of(body: &[u8]) -> Option<bool> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("allowed")?.as_bool()
}

/// The one decision every item of a batch answer (`{"results": [...]}` of exactly `items`
/// items) carries; `None` when the items disagree, one has no top-level `allowed`, or the count
/// is wrong.
pub fn batch_decision_of(body: &[u8], items: usize) -> Option<bool> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let results = value.get("results")?.as_array()?;
    if results.len() != items {
        return None;
    }
    let mut decisions = results.iter().map(|item| item.get("allowed").and_then(Value::as_bool));
    let first = decisions.next()??;
    decisions.all(|decision| decision == Some(first)).then_some(first)
}

async fn grpc_connect(config: &LoadConfig) -> Result<AuthorizationClient<tonic::transport::Channel>, Outcome> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}", config.addr))
        .map_err(|_| Outcome::Connect)?
        .tcp_nodelay(true)
        .connect_timeout(config.request_timeout)
        .timeout(config.request_timeout);
    // One endpoint, one connection: each worker is its own h2 connection, as Envoy's are.
    let channel = tokio::time::timeout(config.request_timeout, endpoint.connect())
        .await
        .map_err(|_| Outcome::Connect)?
        .map_err(|_| Outcome::Connect)?;
    Ok(AuthorizationClient::new(channel))
}

impl Connection for AuthorizationClient<tonic::transport::Channel> {
    async fn open(config: &LoadConfig) -> Result<Self, Outcome> {
        grpc_connect(config).await
    }

    async fn exchange(&mut self, shared: &Shared, index: usize) -> Outcome {
        let Workload::Grpc { requests, expect_allowed } = &shared.workload else { return Outcome::Transport };
        let request = requests.get(index).cloned().unwrap_or_default();
        match self.check(request).await {
            Err(status) => grpc_error_outcome(&status),
            Ok(response) => check_outcome(response.get_ref().status.as_ref().map(|s| s.code), *expect_allowed),
        }
    }
}

fn grpc_error_outcome(status: &tonic::Status) -> Outcome {
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled => Outcome::Transport,
        tonic::Code::DeadlineExceeded => Outcome::Timeout,
        _ => Outcome::Status,
    }
}

/// An ext_authz answer's decision against the expected one: OK (code 0, or no status, which
/// Envoy reads as OK) is an allow, PERMISSION_DENIED a deny; any other code is an error.
fn check_outcome(code: Option<i32>, expect_allowed: bool) -> Outcome {
    let allowed = match code.unwrap_or(0) {
        0 => true,
        GRPC_PERMISSION_DENIED => false,
        _ => return Outcome::Status,
    };
    if allowed == expect_allowed {
        Outcome::Ok
    } else {
        Outcome::Decision
    }
}

/// The test issuer and audience the serve benchmark trusts (`server/tests/keys`).
pub const ISSUER: &str = "https://idp.test";
/// The audience `warrant serve` is configured to accept in the benchmark.
pub const AUDIENCE: &str = "https://api.test";

/// The agent-tools policy's first test case (`policies/agent-tools/policy.test.json`): an
/// assistant agent, started by a planner, reads its own customer's record. An allow.
pub fn agent_tools_request() -> Result<Value, LoadError> {
    let text = include_str!("../../policies/agent-tools/policy.test.json");
    let tests: Value = serde_json::from_str(text).map_err(|error| LoadError::Workload(error.to_string()))?;
    let case = tests.get("cases").and_then(|cases| cases.get(0));
    match case.map(|case| (case.get("request"), case.get("expect"))) {
        Some((Some(request), Some(expect))) if expect == "allow" => Ok(request.clone()),
        _ => Err(LoadError::Workload("agent-tools case 0 is no longer an allowed request".to_string())),
    }
}

/// Claims of token `index` for the agent-tools request: the test case's claims with the
/// benchmark's issuer and audience, a fresh validity window and a distinct `jti` (so `N`
/// indexes are `N` distinct tokens for the server's verified-token cache).
pub fn agent_tools_claims(index: usize, now: i64) -> Result<Value, LoadError> {
    let request = agent_tools_request()?;
    let Some(Value::Object(mut claims)) = request.get("claims").cloned() else {
        return Err(LoadError::Workload("agent-tools case 0 has no claims".to_string()));
    };
    claims.insert("iss".to_string(), json!(ISSUER));
    claims.insert("aud".to_string(), json!(AUDIENCE));
    claims.insert("iat".to_string(), json!(now));
    claims.insert("exp".to_string(), json!(now + 3600));
    claims.insert("jti".to_string(), json!(format!("loadgen-{index}")));
    Ok(Value::Object(claims))
}

/// The `POST /v1/decide/token` body for `token`: the agent-tools case's resource, action and
/// context, the token instead of verified claims.
pub fn agent_tools_token_body(token: &str) -> Result<Bytes, LoadError> {
    let request = agent_tools_request()?;
    let body = json!({
        "token": token,
        "resource": request.get("resource"),
        "action": request.get("action"),
        "context": request.get("context"),
    });
    Ok(Bytes::from(body.to_string()))
}

/// The `POST /v1/decide` body: the agent-tools case as is (claims verified by the caller).
pub fn agent_tools_decide_body() -> Result<Bytes, LoadError> {
    Ok(Bytes::from(agent_tools_request()?.to_string()))
}

/// The `POST /v1/decide/batch` body: `items` copies of the agent-tools case.
pub fn agent_tools_batch_body(items: usize) -> Result<Bytes, LoadError> {
    let request = agent_tools_request()?;
    Ok(Bytes::from(json!({ "requests": vec![request; items] }).to_string()))
}

/// Claims of token `index` for the ext_authz workload (`policies/resource-pinning`): a user's
/// agent with `crm:read`, audience the benchmark's and the CRM's (`https://crm.acme.com`).
pub fn pinning_claims(index: usize, now: i64) -> Value {
    json!({
        "iss": ISSUER,
        "aud": [AUDIENCE, "https://crm.acme.com"],
        "sub": "user:alice",
        "scope": "crm:read",
        "iat": now,
        "exp": now + 3600,
        "jti": format!("loadgen-{index}"),
        "act": { "sub": "spiffe://agents.acme.com/assistant/acme" },
    })
}

/// The ext_authz check Envoy would send for `GET https://crm.acme.com/contacts/42` with
/// `Authorization: Bearer token`.
pub fn check_request(token: &str) -> CheckRequest {
    let http = HttpRequest {
        id: "loadgen".to_string(),
        method: "GET".to_string(),
        headers: [("authorization".to_string(), format!("Bearer {token}"))].into_iter().collect(),
        path: "/contacts/42".to_string(),
        host: "crm.acme.com".to_string(),
        scheme: "https".to_string(),
        protocol: "HTTP/1.1".to_string(),
        ..HttpRequest::default()
    };
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(AttrRequest { http: Some(http), ..AttrRequest::default() }),
            ..AttributeContext::default()
        }),
    }
}

/// Signs `count` ES256 tokens with the PEM key `key_pem` (header `kid`), the claims of token
/// `i` from `claims(i)`, on every core.
pub fn sign_tokens(
    key_pem: &[u8],
    kid: &str,
    count: usize,
    claims: impl Fn(usize) -> Result<Value, LoadError> + Sync,
) -> Result<Vec<String>, LoadError> {
    let key = jsonwebtoken::EncodingKey::from_ec_pem(key_pem)?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_string());
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = count.div_ceil(threads).max(1);
    let indexes: Vec<usize> = (0..count).collect();
    let signed: Vec<Result<Vec<String>, LoadError>> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            indexes
                .chunks(chunk)
                .map(|part| {
                    let (key, header, claims) = (&key, &header, &claims);
                    scope.spawn(move || {
                        part.iter()
                            .map(|&index| Ok(jsonwebtoken::encode(header, &claims(index)?, key)?))
                            .collect::<Result<Vec<String>, LoadError>>()
                    })
                })
                .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Err(LoadError::Workload("a signing thread failed".into()))))
            .collect()
    });
    let mut tokens = Vec::with_capacity(count);
    for part in signed {
        tokens.extend(part?);
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_request_carries_method_host_path_and_bearer_token() {
        let request = check_request("abc.def.ghi");
        let http = request.attributes.and_then(|a| a.request).and_then(|r| r.http).unwrap_or_default();
        assert_eq!(
            (http.method.as_str(), http.host.as_str(), http.path.as_str()),
            ("GET", "crm.acme.com", "/contacts/42")
        );
        assert_eq!(http.headers.get("authorization").map(String::as_str), Some("Bearer abc.def.ghi"));
        // What goes over the wire decodes to the same request (the server reads protobuf).
        use prost::Message;
        let bytes = check_request("t").encode_to_vec();
        let decoded = CheckRequest::decode(bytes.as_slice()).map(|r| r == check_request("t"));
        assert_eq!(decoded.ok(), Some(true));
    }

    #[test]
    fn check_outcomes_follow_the_grpc_code() {
        assert_eq!(check_outcome(Some(0), true), Outcome::Ok);
        assert_eq!(check_outcome(None, true), Outcome::Ok);
        assert_eq!(check_outcome(Some(7), true), Outcome::Decision);
        assert_eq!(check_outcome(Some(7), false), Outcome::Ok);
        assert_eq!(check_outcome(Some(16), false), Outcome::Status);
    }

    #[test]
    fn the_decision_is_the_top_level_allowed_only() {
        assert_eq!(decision_of(br#"{"allowed":true,"decision_id":"x"}"#), Some(true));
        assert_eq!(decision_of(br#"{"decision_id":"x", "allowed": false}"#), Some(false));
        assert_eq!(decision_of(br#"{"results":[{"allowed":true}]}"#), None);
        assert_eq!(decision_of(b"allowed:true"), None);
    }

    #[test]
    fn a_batch_decision_needs_every_item_to_agree_and_the_exact_count() {
        let two_allows = br#"{"results":[{"allowed":true},{"allowed":true,"decision_id":"x"}]}"#;
        assert_eq!(batch_decision_of(two_allows, 2), Some(true));
        assert_eq!(batch_decision_of(two_allows, 3), None);
        assert_eq!(batch_decision_of(br#"{"results":[{"allowed":false},{"allowed":false}]}"#, 2), Some(false));
        assert_eq!(batch_decision_of(br#"{"results":[{"allowed":true},{"allowed":false}]}"#, 2), None);
        assert_eq!(batch_decision_of(br#"{"results":[{"allowed":true},{"error":{}}]}"#, 2), None);
        assert_eq!(batch_decision_of(br#"{"allowed":true}"#, 1), None);
    }

    #[test]
    fn token_bodies_carry_the_agent_tools_call() {
        let body: Value = serde_json::from_slice(&agent_tools_token_body("t").unwrap_or_default()).unwrap_or_default();
        assert_eq!(body["token"], "t");
        assert_eq!(body["action"], "tools/call");
        assert_eq!(body["context"]["tool"], "get_customer");
        let claims = agent_tools_claims(3, 1000).unwrap_or_default();
        assert_eq!(
            (claims["iss"].clone(), claims["jti"].clone(), claims["exp"].clone()),
            (json!(ISSUER), json!("loadgen-3"), json!(4600))
        );
    }
}
