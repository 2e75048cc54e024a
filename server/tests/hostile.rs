//! Hostile clients against the hardened listener: real raw TCP sockets and reqwest on loopback.
//! Each limit is set low in the test's own configuration, exceeded, and the server is then
//! shown to still answer well-behaved clients.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod support;

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use warrant_server::{RunningServer, ServeError, ServerConfig};

const POLICY: &str = "policies/agent-tools";
const DATA: &str = "policies/agent-tools/data.json";

fn limited(change: impl FnOnce(&mut warrant_server::config::Limits)) -> ServerConfig {
    let mut config = config(POLICY, Some(DATA));
    change(&mut config.limits);
    config
}

fn a_request() -> Value {
    let text = std::fs::read_to_string(repo_root().join("policies/agent-tools/policy.test.json")).unwrap();
    let tests: Value = serde_json::from_str(&text).unwrap();
    tests["cases"][0]["request"].clone()
}

/// Connects, writes `bytes`, reads until the server closes or `within` passes: the bytes read
/// and whether the server closed (EOF or reset) in time.
async fn exchange(addr: SocketAddr, bytes: &[u8], within: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // A server that closes while we write is an answer too (a reset is read below).
    let _ = stream.write_all(bytes).await;
    read_until_closed(&mut stream, within).await
}

async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let deadline = tokio::time::Instant::now() + within;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// The JSON body of a raw HTTP/1.1 answer with a `Content-Length`.
fn json_body(answer: &str) -> Value {
    let (_, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
    serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON body, got: {answer:?}"))
}

async fn health_ok(addr: SocketAddr) {
    let (status, body) = get(addr, "/health").await;
    assert_eq!(status, 200, "{body}");
}

/// The value of the series `name` (labels included) at `/metrics`, 0 when absent.
async fn scraped(addr: SocketAddr, name: &str) -> f64 {
    let (status, text) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    metric(&text, name)
}

/// Polls `condition` until it holds or `within` passes.
async fn eventually<F, Fut>(within: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn oversized_headers_are_refused_with_431_and_headers_under_the_limit_pass() {
    let server = start(limited(|limits| limits.max_header_bytes = 16 * 1024)).await;
    let addr = server.http_addr();
    let big = format!("GET /health HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n", "a".repeat(20 * 1024));
    let (answer, closed) = exchange(addr, big.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    assert!(closed, "the connection is closed after a 431");

    let fits =
        format!("GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Big: {}\r\n\r\n", "a".repeat(8 * 1024));
    let (answer, _) = exchange(addr, fits.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_h2_header_lists_are_refused_and_headers_under_the_limit_pass() {
    let server = start(limited(|limits| limits.max_header_bytes = 16 * 1024)).await;
    let addr = server.http_addr();
    let h2 = h2_client();
    let send = |size: usize| h2.get(format!("http://{addr}/health")).header("x-big", "a".repeat(size)).send();
    // Over SETTINGS_MAX_HEADER_LIST_SIZE: the stream is answered 431, the connection lives on.
    let refused = send(20 * 1024).await.expect("an answer, not a broken connection");
    assert_eq!(refused.status().as_u16(), 431, "{refused:?}");
    let fits = send(8 * 1024).await.expect("a header list under the limit is served");
    assert_eq!(fits.version(), reqwest::Version::HTTP_2);
    assert_eq!(fits.status().as_u16(), 200);
    server.shutdown().await.unwrap();
}

/// A request that holds its slot: the head of a body it never sends, until the time limit.
async fn stall(addr: SocketAddr) -> tokio::task::JoinHandle<(String, bool)> {
    let stalled = "POST /v1/decide HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
                   Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    let task = tokio::spawn(async move { exchange(addr, stalled.as_bytes(), Duration::from_secs(5)).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    task
}

#[tokio::test]
async fn max_concurrent_requests_makes_a_request_wait_for_a_slot() {
    // One slot: a second request waits until the stalled one times out and frees it.
    let server = start(limited(|limits| {
        limits.max_concurrent_requests = 1;
        limits.request_timeout_ms = 1_000;
    }))
    .await;
    let addr = server.http_addr();
    let stalled = stall(addr).await;
    let started = Instant::now();
    let (status, answer) = post_json(addr, "/v1/decide", &a_request()).await;
    let waited = started.elapsed();
    assert_eq!(status, 200, "{answer}");
    assert!(waited >= Duration::from_millis(600), "it had to wait for the slot, answered after {waited:?}");
    assert!(stalled.await.unwrap().0.starts_with("HTTP/1.1 504"));
    server.shutdown().await.unwrap();

    // Two slots: the same second request is answered at once.
    let server = start(limited(|limits| {
        limits.max_concurrent_requests = 2;
        limits.request_timeout_ms = 1_000;
    }))
    .await;
    let addr = server.http_addr();
    let stalled = stall(addr).await;
    let started = Instant::now();
    let (status, _) = post_json(addr, "/v1/decide", &a_request()).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_millis(600), "answered without waiting: {:?}", started.elapsed());
    assert!(stalled.await.unwrap().0.starts_with("HTTP/1.1 504"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_bodies_are_a_json_413_whether_declared_or_streamed() {
    let server = start(limited(|limits| limits.max_body_bytes = 1024)).await;
    let addr = server.http_addr();
    let padding = "x".repeat(4096);
    let mut request = a_request();
    request["context"] = json!({ "padding": padding });
    let (status, answer) = post_json(addr, "/v1/decide", &request).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["allowed"], false);
    assert_eq!(answer["error"]["code"], "body_too_large", "{answer}");

    // Chunked: no length to refuse up front, the body is cut while it is read.
    let chunk = format!("{{\"padding\": \"{padding}\"}}");
    let streamed = format!(
        "POST /v1/decide HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let (answer, _) = exchange(addr, streamed.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    let body = json_body(&answer);
    assert_eq!((body["allowed"].clone(), body["error"]["code"].clone()), (json!(false), json!("body_too_large")));

    // A body under the limit is decided.
    let (status, answer) = post_json(addr, "/v1/decide", &a_request()).await;
    assert_eq!(status, 200, "{answer}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_over_its_time_limit_is_a_json_504() {
    let server = start(limited(|limits| limits.request_timeout_ms = 500)).await;
    let addr = server.http_addr();
    // Declares 100 bytes of body, sends one: the handler waits for the rest until the limit.
    let stalled = "POST /v1/decide HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
                   Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    let started = Instant::now();
    let (answer, _) = exchange(addr, stalled.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer:?}");
    assert!(started.elapsed() >= Duration::from_millis(450), "answered before the limit: {:?}", started.elapsed());
    let body = json_body(&answer);
    assert_eq!((body["allowed"].clone(), body["error"]["code"].clone()), (json!(false), json!("request_timeout")));
    assert!(scraped(addr, "warrant_listener_timeouts_total{listener=\"http\",phase=\"request\"}").await >= 1.0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn slowloris_connections_are_closed_within_the_header_timeout_and_others_are_served() {
    let timeout = Duration::from_millis(1000);
    let server = start(limited(|limits| limits.header_read_timeout_ms = 1000)).await;
    let addr = server.http_addr();

    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        let mut written = writer.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ").await;
        while written.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            written = writer.write_all(b"a").await;
        }
    });
    // Others are served while the slow client trickles.
    health_ok(addr).await;
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(timeout * 4, async {
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    trickle.abort();
    assert!(closed.is_ok(), "the slow connection was not closed within {:?}", timeout * 4);
    assert!(elapsed >= timeout.mul_f32(0.9), "closed before the timeout: {elapsed:?}");
    assert!(elapsed <= timeout * 3, "closed too late: {elapsed:?}");

    // A connection that sends nothing at all is closed by the same bound, and counted.
    let (answer, closed) = exchange(addr, b"", timeout * 4).await;
    assert!(closed && answer.is_empty(), "{answer:?}");
    assert!(scraped(addr, "warrant_listener_timeouts_total{listener=\"http\",phase=\"header_read\"}").await >= 1.0);
    health_ok(addr).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn connections_over_the_limit_are_refused_until_idle_ones_close() {
    let server = start(limited(|limits| {
        limits.max_connections = 4;
        limits.header_read_timeout_ms = 30_000;
    }))
    .await;
    let addr = server.http_addr();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // The fifth is accepted by the kernel after the four, then closed at once by the server.
    let (answer, closed) = exchange(addr, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n", Duration::from_secs(5)).await;
    assert!(closed && answer.is_empty(), "over the limit: {answer:?}");
    let refused = client().get(format!("http://{addr}/health")).send().await;
    assert!(refused.is_err(), "served over the limit: {refused:?}");

    drop(idle);
    let served = eventually(Duration::from_secs(10), move || async move {
        client().get(format!("http://{addr}/health")).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(served, "not served again after the idle connections closed");
    assert!(scraped(addr, "warrant_connections_refused_total{listener=\"http\"}").await >= 2.0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn garbage_instead_of_http_is_closed_cleanly() {
    let server = start(config(POLICY, Some(DATA))).await;
    let addr = server.http_addr();
    let garbage: [&[u8]; 4] = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
        b"\x00\xff\xfe\xfd\r\n\r\n\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        b"GET / HTTP/9.9\r\nHost: \x00\x01\r\n\r\n",
    ];
    for bytes in garbage {
        let (answer, closed) = exchange(addr, bytes, Duration::from_secs(5)).await;
        assert!(closed, "not closed after {bytes:?}: {answer:?}");
        assert!(!answer.contains("HTTP/1.1 2"), "garbage was served: {answer:?}");
    }
    health_ok(addr).await;
    server.shutdown().await.unwrap();
}

fn tls_config() -> ServerConfig {
    let mut config = config(POLICY, Some(DATA));
    let keys = keys_dir();
    let text = format!(
        "[policy]\npath = \"unused\"\n[listen.tls]\ncert = {:?}\nkey = {:?}\n",
        keys.join("tls-cert.pem").display().to_string(),
        keys.join("tls-key.pem").display().to_string()
    );
    config.listen.tls = ServerConfig::from_toml_str(&text).unwrap().listen.tls;
    config
}

fn tls_client(http1_only: bool) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pem = std::fs::read(keys_dir().join("tls-cert.pem")).unwrap();
    let builder = reqwest::Client::builder().no_proxy().tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()]);
    let builder = if http1_only { builder.http1_only() } else { builder };
    builder.build().unwrap()
}

#[tokio::test]
async fn tls_serves_h2_and_http1_with_the_test_certificate_and_plain_text_fails_cleanly() {
    let server = start(tls_config()).await;
    let port = server.http_addr().port();
    for (http1_only, version) in [(false, reqwest::Version::HTTP_2), (true, reqwest::Version::HTTP_11)] {
        for host in ["localhost", "127.0.0.1"] {
            let response = tls_client(http1_only).get(format!("https://{host}:{port}/health")).send().await.unwrap();
            assert_eq!((response.status().as_u16(), response.version()), (200, version), "{host}");
        }
    }
    let response = tls_client(false)
        .post(format!("https://localhost:{port}/v1/decide"))
        .header("content-type", "application/json")
        .body(a_request().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Plain HTTP to the TLS port: the handshake fails, the connection closes, nothing is served.
    let (answer, closed) =
        exchange(server.http_addr(), b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n", Duration::from_secs(5)).await;
    assert!(closed, "{answer:?}");
    assert!(!answer.contains("200 OK") && !answer.contains("live"), "{answer:?}");
    // Plain HTTP through a client that expects TLS is refused.
    let plain = client().get(format!("http://127.0.0.1:{port}/health")).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200));

    let metrics = tls_client(false).get(format!("https://localhost:{port}/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    let failures = text
        .lines()
        .find_map(|line| line.strip_prefix("warrant_tls_handshake_failures_total{listener=\"http\"}"))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(failures >= 1.0, "{text}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unusable_tls_files_stop_the_server_at_start() {
    let keys = keys_dir();
    let cases = [
        (keys.join("k1.pem"), keys.join("tls-key.pem")), // a key where the certificate goes
        (keys.join("tls-cert.pem"), keys.join("missing.pem")), // no key file
        (keys.join("tls-cert.pem"), keys.join("k1.jwks.json")), // not PEM
        (keys.join("tls-cert.pem"), keys.join("k1.pem")), // a key that is not the certificate's
    ];
    for (cert, key) in cases {
        let mut config = tls_config();
        let text = format!(
            "[policy]\npath = \"unused\"\n[listen.tls]\ncert = {:?}\nkey = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        );
        config.listen.tls = ServerConfig::from_toml_str(&text).unwrap().listen.tls;
        match warrant_server::start(config).await {
            Err(ServeError::Tls(message)) => assert!(!message.is_empty()),
            Err(other) => panic!("{cert:?} {key:?}: not a TLS error: {other}"),
            Ok(server) => {
                server.shutdown().await.unwrap();
                panic!("{cert:?} {key:?}: started");
            }
        }
    }
}

// --- ten thousand connections --------------------------------------------------------------

const FLOOD_ADDR: &str = "WARRANT_HOSTILE_FLOOD_ADDR";
const FLOOD_COUNT: &str = "WARRANT_HOSTILE_FLOOD_COUNT";

/// The client half of `ten_thousand_connections_keep_memory_bounded`, run by it in a child
/// process so that the server's and the clients' descriptors do not share one limit: opens the
/// connections, each with an unfinished request head, says so on stdout, holds them until a
/// line (or EOF) on stdin.
#[test]
#[ignore = "run by ten_thousand_connections_keep_memory_bounded in a child process"]
fn flood_client() {
    let addr: SocketAddr = std::env::var(FLOOD_ADDR).expect("the server address").parse().unwrap();
    let count: usize = std::env::var(FLOOD_COUNT).expect("the count").parse().unwrap();
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: flood\r\n").unwrap();
        streams.push(stream);
    }
    println!("OPEN {}", streams.len());
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(streams);
}

fn soft_open_files_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits.lines().find(|line| line.starts_with("Max open files")).unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

fn vm_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_connections_keep_memory_bounded() {
    // The server half holds one descriptor per connection in this process; keep room for the
    // other tests of this binary.
    let count = 10_000.min(soft_open_files_limit().saturating_sub(1_000));
    assert!(count >= 1_000, "RLIMIT_NOFILE too low for this test: {}", soft_open_files_limit());
    let server: RunningServer = start(limited(|limits| {
        limits.max_connections = count + 100;
        limits.header_read_timeout_ms = 120_000;
    }))
    .await;
    let addr = server.http_addr();
    health_ok(addr).await;
    let before = vm_rss_bytes();

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "flood_client", "--ignored", "--nocapture", "--test-threads=1"])
        .env(FLOOD_ADDR, addr.to_string())
        .env(FLOOD_COUNT, count.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (opened_tx, opened_rx) = tokio::sync::oneshot::channel();
    // Reads the child's whole output (a closed pipe would fail it), reporting the count once.
    let reader = std::thread::spawn(move || {
        let mut opened_tx = Some(opened_tx);
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest may print `test flood_client ... ` on the same line first.
            if let Some((_, n)) = line.rsplit_once("OPEN ") {
                if let Some(tx) = opened_tx.take() {
                    let _ = tx.send(n.trim().parse::<usize>().unwrap());
                }
            }
        }
    });
    let opened = tokio::time::timeout(Duration::from_secs(120), opened_rx).await.unwrap().ok();
    assert_eq!(opened, Some(count), "the client did not open its connections");

    let name = "warrant_connections_open{listener=\"http\"}";
    let all_open =
        eventually(Duration::from_secs(60), move || async move { scraped(addr, name).await >= count as f64 }).await;
    assert!(all_open, "the server holds {} of {count} connections", scraped(addr, name).await);
    let during = vm_rss_bytes();
    let growth = during.saturating_sub(before);
    eprintln!("{count} connections: VmRSS {before} -> {during} bytes (+{} KiB)", growth / 1024);
    // Measured: about 20 KiB per connection holding an unfinished request head (hyper's 8 KiB
    // read buffer, the connection task, timers); 32 KiB each is the bound.
    let bound = count as u64 * 32 * 1024;
    assert!(growth < bound, "memory grew by {growth} bytes for {count} connections (bound {bound})");
    // Served while they are open.
    let (status, answer) = post_json(addr, "/v1/decide", &a_request()).await;
    assert_eq!(status, 200, "{answer}");

    child.stdin.take().unwrap().write_all(b"close\n").unwrap();
    let exit = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(exit.success(), "the client failed: {exit}");
    reader.join().unwrap();
    let released = eventually(Duration::from_secs(30), move || async move { scraped(addr, name).await < 10.0 }).await;
    assert!(released, "connections still counted open: {}", scraped(addr, name).await);
    let (status, answer) = post_json(addr, "/v1/decide", &a_request()).await;
    assert_eq!(status, 200, "{answer}");
    server.shutdown().await.unwrap();
}
