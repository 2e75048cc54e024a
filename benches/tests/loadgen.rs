//! The load generator against tiny local servers on loopback: it counts what the server saw,
//! counts every kind of error as an error (never as a latency), and its percentiles are sane.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use hyper::body::Bytes;
use tokio::sync::oneshot;
use warrant_benches::loadgen::{self, LoadConfig, LoadReport, Protocol, Workload};

/// A server whose `/v1/decide` answers `status` with `body` after `delay`, counting requests.
struct Fake {
    addr: SocketAddr,
    seen: Arc<AtomicU64>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn fake(status: StatusCode, body: &'static str, delay: Duration) -> Fake {
    let seen = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&seen);
    let app = Router::new().route(
        "/v1/decide",
        post(move |request: Bytes| {
            let counter = Arc::clone(&counter);
            async move {
                assert!(!request.is_empty(), "the body is sent");
                counter.fetch_add(1, Ordering::SeqCst);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                (status, [("content-type", "application/json")], body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Fake { addr, seen, stop, task }
}

impl Fake {
    async fn stop(self) -> u64 {
        let _ = self.stop.send(());
        self.task.await.unwrap();
        self.seen.load(Ordering::SeqCst)
    }
}

fn workload(expect_allowed: bool) -> Workload {
    Workload::Http {
        path: "/v1/decide".into(),
        bodies: Arc::new(vec![Bytes::from_static(br#"{"a":1}"#), Bytes::from_static(br#"{"a":2}"#)]),
        expect_allowed,
        decisions_per_answer: 1,
    }
}

fn config(addr: SocketAddr, connections: usize, millis: u64) -> LoadConfig {
    let mut config = LoadConfig::new(addr, connections, Duration::from_millis(millis));
    config.warmup = Duration::from_millis(100);
    config.request_timeout = Duration::from_secs(2);
    config
}

async fn run(config: LoadConfig, workload: Workload) -> LoadReport {
    let bound = config.warmup + config.duration + 2 * config.request_timeout + Duration::from_secs(2);
    tokio::time::timeout(bound, loadgen::run(config, workload)).await.expect("the run ends in its bound").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_the_server_saw_is_counted_and_allowed_answers_are_measured() {
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let server = fake(StatusCode::OK, r#"{"allowed":true,"decision_id":"d"}"#, Duration::ZERO).await;
        let mut config = config(server.addr, 4, 300);
        config.protocol = protocol;
        let report = run(config, workload(true)).await;
        let seen = server.stop().await;
        assert_eq!(report.errors.total(), 0, "{protocol:?}: {:?}", report.errors);
        assert!(report.ok > 0, "{protocol:?}");
        // Closed loop: every request sent was answered, warm-up included, none twice.
        assert_eq!(report.all_requests, seen, "{protocol:?}");
        assert!(report.ok < report.all_requests, "the warm-up is not measured");
        assert_eq!(report.histogram.len(), report.ok);
        let json = report.to_json();
        assert_eq!(json["errors"], 0);
        assert_eq!(json["connections"], 4);
        assert!(json["rps"].as_f64().unwrap() > 0.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_errors_and_never_latencies() {
    let server = fake(StatusCode::INTERNAL_SERVER_ERROR, r#"{"allowed":true}"#, Duration::ZERO).await;
    let report = run(config(server.addr, 2, 300), workload(true)).await;
    let seen = server.stop().await;
    assert_eq!(report.ok, 0);
    assert!(report.errors.status > 0);
    assert_eq!(report.errors.total(), report.errors.status);
    assert_eq!(report.all_requests, seen);
    assert!(report.histogram.is_empty());
    assert_eq!(report.to_json()["errors"], report.errors.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answer_counts_only_when_every_item_carries_the_decision() {
    let batch = |decisions_per_answer| Workload::Http {
        path: "/v1/decide".into(),
        bodies: Arc::new(vec![Bytes::from_static(br#"{"requests":[{},{}]}"#)]),
        expect_allowed: true,
        decisions_per_answer,
    };
    let two = r#"{"results":[{"allowed":true},{"allowed":true}]}"#;
    let server = fake(StatusCode::OK, two, Duration::ZERO).await;
    let report = run(config(server.addr, 2, 300), batch(2)).await;
    let seen = server.stop().await;
    assert_eq!(report.errors.total(), 0, "{:?}", report.errors);
    assert!(report.ok > 0);
    assert_eq!(report.all_requests, seen);
    // The same answers, but the run expects three decisions per answer: every answer is wrong.
    let server = fake(StatusCode::OK, two, Duration::ZERO).await;
    let report = run(config(server.addr, 2, 300), batch(3)).await;
    server.stop().await;
    assert_eq!(report.ok, 0);
    assert!(report.errors.decision > 0);
    assert_eq!(report.errors.total(), report.errors.decision);
    let mixed = fake(StatusCode::OK, r#"{"results":[{"allowed":true},{"allowed":false}]}"#, Duration::ZERO).await;
    let report = run(config(mixed.addr, 1, 200), batch(2)).await;
    mixed.stop().await;
    assert_eq!(report.ok, 0);
    assert_eq!(report.errors.total(), report.errors.decision);
    let config = config("127.0.0.1:9".parse().unwrap(), 1, 100);
    assert!(loadgen::run(config, batch(0)).await.is_err(), "zero decisions per answer is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unexpected_or_missing_decision_is_an_error() {
    for (body, expect_allowed) in
        [(r#"{"allowed":false}"#, true), (r#"{"allowed":true}"#, false), (r#"{"results":[{"allowed":true}]}"#, true)]
    {
        let server = fake(StatusCode::OK, body, Duration::ZERO).await;
        let report = run(config(server.addr, 1, 200), workload(expect_allowed)).await;
        server.stop().await;
        assert_eq!(report.ok, 0, "{body}");
        assert!(report.errors.decision > 0, "{body}");
        assert_eq!(report.errors.total(), report.errors.decision, "{body}");
    }
    // The same answers are fine when they are the expected decision.
    let server = fake(StatusCode::OK, r#"{"allowed":false}"#, Duration::ZERO).await;
    let report = run(config(server.addr, 1, 200), workload(false)).await;
    server.stop().await;
    assert!(report.ok > 0 && report.errors.total() == 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_counts_connect_errors_and_the_run_still_ends() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let started = Instant::now();
    let report = run(config(addr, 3, 300), workload(true)).await;
    assert_eq!(report.ok, 0);
    assert!(report.errors.connect > 0);
    assert_eq!(report.errors.total(), report.errors.connect);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_slower_than_the_timeout_is_counted_as_timeouts() {
    let server = fake(StatusCode::OK, r#"{"allowed":true}"#, Duration::from_millis(400)).await;
    let mut config = config(server.addr, 2, 300);
    config.warmup = Duration::ZERO;
    config.request_timeout = Duration::from_millis(100);
    let report = run(config, workload(true)).await;
    server.stop().await;
    assert_eq!(report.ok, 0);
    assert!(report.errors.timeout > 0);
    assert_eq!(report.errors.total(), report.errors.timeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percentiles_reflect_the_servers_latency() {
    let delay = Duration::from_millis(5);
    let server = fake(StatusCode::OK, r#"{"allowed":true}"#, delay).await;
    let report = run(config(server.addr, 2, 400), workload(true)).await;
    server.stop().await;
    assert_eq!(report.errors.total(), 0);
    let (p50, p99, p999) = (report.percentile_us(0.5), report.percentile_us(0.99), report.percentile_us(0.999));
    assert!(p50 >= 5_000.0, "p50 {p50} µs is below the server's 5 ms delay");
    assert!(p50 <= p99 && p99 <= p999 && p999 <= report.histogram.max() as f64 / 1000.0 + 1.0);
    // Two closed loops of ≥ 5 ms each: at most 2 / 5 ms = 400 requests/s.
    assert!(report.rps() <= 400.0 * 1.05, "{}", report.rps());
    assert!(report.rps() > 0.0);
}

#[test]
fn histogram_quantiles_of_a_known_distribution() {
    let mut histogram = loadgen::latency_histogram();
    for micros in 1..=1000u64 {
        histogram.record(micros * 1000).unwrap();
    }
    let at = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    assert!((at(0.5) - 500.0).abs() <= 1.0, "{}", at(0.5));
    assert!((at(0.99) - 990.0).abs() <= 1.0, "{}", at(0.99));
    assert!((at(0.999) - 999.0).abs() <= 1.0, "{}", at(0.999));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_out_of_bounds_are_refused_before_any_connection() {
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    for connections in [0, loadgen::MAX_CONNECTIONS + 1] {
        assert!(loadgen::run(config(addr, connections, 100), workload(true)).await.is_err());
    }
    assert!(loadgen::run(config(addr, 1, 0), workload(true)).await.is_err());
    let empty = Workload::Http {
        path: "/".into(),
        bodies: Arc::new(Vec::new()),
        expect_allowed: true,
        decisions_per_answer: 1,
    };
    assert!(loadgen::run(config(addr, 1, 100), empty).await.is_err());
}

mod grpc {
    use super::*;
    use envoy_types::pb::envoy::service::auth::v3::authorization_server::{Authorization, AuthorizationServer};
    use envoy_types::pb::envoy::service::auth::v3::{CheckRequest, CheckResponse};
    use envoy_types::pb::google::rpc::Status;

    /// ext_authz that allows a request whose bearer token is `good` and denies any other,
    /// counting checks.
    #[derive(Clone)]
    struct FakeAuthz(Arc<AtomicU64>);

    #[tonic::async_trait]
    impl Authorization for FakeAuthz {
        async fn check(
            &self,
            request: tonic::Request<CheckRequest>,
        ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let http = request.into_inner().attributes.and_then(|a| a.request).and_then(|r| r.http).unwrap_or_default();
            let allowed = http.headers.get("authorization").map(String::as_str) == Some("Bearer good")
                && http.host == "crm.acme.com"
                && http.path == "/contacts/42";
            let code = if allowed { 0 } else { 7 };
            Ok(tonic::Response::new(CheckResponse {
                status: Some(Status { code, ..Status::default() }),
                ..CheckResponse::default()
            }))
        }
    }

    async fn run_against_fake(token: &str, expect_allowed: bool) -> (LoadReport, u64) {
        let seen = Arc::new(AtomicU64::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let service = AuthorizationServer::new(FakeAuthz(Arc::clone(&seen)));
        let server = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(listener), async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        let workload = Workload::Grpc { requests: Arc::new(vec![loadgen::check_request(token)]), expect_allowed };
        let report = run(config(addr, 3, 300), workload).await;
        let _ = stop.send(());
        server.await.unwrap();
        (report, seen.load(Ordering::SeqCst))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_are_counted_and_the_decision_is_verified() {
        let (report, seen) = run_against_fake("good", true).await;
        assert!(report.ok > 0);
        assert_eq!(report.errors.total(), 0, "{:?}", report.errors);
        assert_eq!(report.all_requests, seen);
        let (report, _) = run_against_fake("bad", true).await;
        assert_eq!(report.ok, 0);
        assert!(report.errors.decision > 0);
        assert_eq!(report.errors.total(), report.errors.decision);
        let (report, _) = run_against_fake("bad", false).await;
        assert!(report.ok > 0 && report.errors.total() == 0);
    }
}
