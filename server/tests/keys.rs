//! Keys from the issuer, end to end: a real JWKS / OIDC discovery HTTP server started by the
//! test on loopback (its key set switchable, its fetches counted, itself stoppable) and
//! `warrant serve` fetching from it: rotation without restart, the unknown-`kid` rate limit,
//! an issuer that is down or lies, and key sets that must be refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use support::{client, keys_dir, now, post_json, series_value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warrant_server::config::IssuerSection;
use warrant_server::{RunningServer, ServerConfig};

const AUDIENCE: &str = "https://api.test";
const POLICY: &str = "package test.keys\n\nallow read if {\n    action == \"read\"\n    \"files:read\" in scope\n}\n";

// ---------------------------------------------------------------------------------------------
// The test issuer: a real HTTP server serving a JWK Set and a discovery document.

#[derive(Default)]
struct IssuerState {
    /// The body served at `/jwks`.
    jwks: Mutex<String>,
    /// The `issuer` the discovery document claims.
    claimed_issuer: Mutex<String>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
}

struct TestIssuer {
    addr: SocketAddr,
    state: Arc<IssuerState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

fn key_file(name: &str) -> String {
    std::fs::read_to_string(keys_dir().join(name)).unwrap()
}

impl TestIssuer {
    async fn start(jwks_file: &str) -> TestIssuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(IssuerState::default());
        *state.jwks.lock().unwrap() = key_file(jwks_file);
        *state.claimed_issuer.lock().unwrap() = format!("http://{addr}");
        let router = Router::new()
            .route("/jwks", get(serve_jwks))
            .route("/.well-known/openid-configuration", get(serve_discovery))
            .with_state(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        TestIssuer { addr, state, stop: Some(stop), task: Some(task) }
    }

    /// The issuer URL tokens name (discovery lives under it).
    fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn jwks_uri(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    fn serve(&self, body: String) {
        *self.state.jwks.lock().unwrap() = body;
    }

    fn serve_file(&self, jwks_file: &str) {
        self.serve(key_file(jwks_file));
    }

    fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Stops the server and waits until its port refuses connections.
    async fn take_down(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(self.addr).await.is_ok() {
            assert!(Instant::now() < deadline, "issuer still accepts connections");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn serve_jwks(State(state): State<Arc<IssuerState>>) -> Response {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let body = state.jwks.lock().unwrap().clone();
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

async fn serve_discovery(State(state): State<Arc<IssuerState>>, headers: axum::http::HeaderMap) -> Response {
    state.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let host = headers.get("host").and_then(|host| host.to_str().ok()).unwrap_or_default().to_string();
    let document = json!({
        "issuer": state.claimed_issuer.lock().unwrap().clone(),
        "jwks_uri": format!("http://{host}/jwks"),
        "response_types_supported": ["code"],
    });
    axum::Json(document).into_response()
}

// ---------------------------------------------------------------------------------------------
// The server under test and its tokens.

struct Setup {
    server: RunningServer,
    issuer: String,
    _policy_dir: tempfile::TempDir,
}

fn issuer_section(issuer: &str) -> IssuerSection {
    let mut section =
        IssuerSection::new(issuer.to_string(), vec![AUDIENCE.to_string()], vec![warrant::token::Algorithm::ES256]);
    section.fetch_timeout_ms = 2_000;
    section
}

async fn start_with(issuer: &str, configure: impl FnOnce(&mut IssuerSection)) -> Setup {
    let policy_dir = tempfile::tempdir().unwrap();
    let policy = policy_dir.path().join("policy.warrant");
    std::fs::write(&policy, POLICY).unwrap();
    let mut config = ServerConfig::for_policy(policy);
    config.policy.watch = false;
    config.listen.http = "127.0.0.1:0".parse().unwrap();
    let mut section = issuer_section(issuer);
    configure(&mut section);
    config.issuers.push(section);
    let server = warrant_server::start(config).await.expect("server starts even when the issuer fails");
    Setup { server, issuer: issuer.to_string(), _policy_dir: policy_dir }
}

/// An ES256 token signed with committed key `key` (`k1`, `k2`) whose header names `kid`.
fn sign_as(key: &str, kid: &str, issuer: &str, sub: &str) -> String {
    let pem = std::fs::read(keys_dir().join(format!("{key}.pem"))).unwrap();
    let encoding = jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_string());
    let now = now();
    let claims = json!({
        "iss": issuer, "aud": AUDIENCE, "sub": sub, "scope": "files:read",
        "iat": now, "exp": now + 600,
    });
    jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
}

impl Setup {
    fn token(&self, key: &str, sub: &str) -> String {
        sign_as(key, key, &self.issuer, sub)
    }

    /// `(allowed, token_error)` for `token` on `/v1/decide/token`.
    async fn decide(&self, token: &str) -> (bool, Option<String>) {
        let body = json!({ "token": token, "resource": "file:a", "action": "read" });
        let (status, answer) = post_json(self.server.http_addr(), "/v1/decide/token", &body).await;
        assert_eq!(status, 200, "{answer}");
        (answer["allowed"].as_bool().unwrap(), answer["token_error"].as_str().map(str::to_string))
    }

    async fn ready(&self) -> (u16, Value) {
        let response = client().get(format!("http://{}/ready", self.server.http_addr())).send().await.unwrap();
        let status = response.status().as_u16();
        (status, serde_json::from_str(&response.text().await.unwrap()).unwrap())
    }

    /// This issuer's entry in `/ready`'s `key_sets`.
    async fn key_set(&self) -> Value {
        self.ready().await.1["key_sets"][&self.issuer].clone()
    }

    async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.server.http_addr());
        client().get(url).send().await.unwrap().text().await.unwrap()
    }
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn keys_from_a_jwks_uri_verify_tokens_and_show_in_ready_and_metrics() {
    let test_issuer = TestIssuer::start("k1.jwks.json").await;
    let uri = test_issuer.jwks_uri();
    let setup = start_with(&test_issuer.issuer(), |section| section.jwks_uri = Some(uri)).await;
    assert_eq!(test_issuer.jwks_fetches(), 1, "fetched once at start");

    let (status, ready) = setup.ready().await;
    assert_eq!(status, 200, "{ready}");
    let set = &ready["key_sets"][&setup.issuer];
    assert_eq!((set["source"].as_str(), set["has_keys"].as_bool()), (Some("jwks_uri"), Some(true)), "{ready}");
    assert!(set["fetched_at"].as_u64().is_some_and(|at| at.abs_diff(now() as u64) < 60), "{set}");
    assert!(set["last_error"].is_null(), "{set}");

    let token = setup.token("k1", "alice");
    assert_eq!(setup.decide(&token).await, (true, None));
    assert_eq!(setup.decide(&token).await, (true, None));
    let text = setup.metrics().await;
    let age = format!("warrant_key_set_age_seconds{{issuer=\"{}\"}}", setup.issuer);
    assert!(series_value(&text, &age).is_some_and(|age| (0.0..60.0).contains(&age)), "{text}");
    assert!(series_value(&text, "warrant_token_cache_hits_total").is_some_and(|hits| hits >= 1.0), "{text}");
    assert!(series_value(&text, "warrant_token_cache_misses_total").is_some_and(|misses| misses >= 1.0), "{text}");
    let failures = format!("warrant_key_fetch_failures_total{{issuer=\"{}\"}}", setup.issuer);
    assert_eq!(series_value(&text, &failures), Some(0.0), "{text}");
    setup.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn oidc_discovery_finds_the_jwks_uri() {
    let test_issuer = TestIssuer::start("k1.jwks.json").await;
    let setup = start_with(&test_issuer.issuer(), |section| section.discovery = true).await;
    assert_eq!(test_issuer.state.discovery_fetches.load(Ordering::SeqCst), 1);
    assert_eq!(test_issuer.jwks_fetches(), 1);
    assert_eq!(setup.key_set().await["source"], "discovery");
    assert_eq!(setup.decide(&setup.token("k1", "alice")).await, (true, None));
    setup.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let test_issuer = TestIssuer::start("k1.jwks.json").await;
    *test_issuer.state.claimed_issuer.lock().unwrap() = "https://evil.test".to_string();
    let setup = start_with(&test_issuer.issuer(), |section| section.discovery = true).await;
    assert_eq!(test_issuer.jwks_fetches(), 0, "the keys of a mismatched document are never fetched");
    let (status, ready) = setup.ready().await;
    assert_eq!((status, ready["keys"].as_bool()), (503, Some(false)), "{ready}");
    let error = ready["key_sets"][&setup.issuer]["last_error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("https://evil.test"), "{ready}");
    assert_eq!(setup.decide(&setup.token("k1", "alice")).await, (false, Some("keys_unavailable".into())));
    setup.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unknown_kid_refreshes_the_keys_so_they_rotate_without_restart() {
    let test_issuer = TestIssuer::start("k1.jwks.json").await;
    let uri = test_issuer.jwks_uri();
    let setup = start_with(&test_issuer.issuer(), |section| section.jwks_uri = Some(uri)).await;
    let k2_token = setup.token("k2", "bob");
    assert_eq!(test_issuer.jwks_fetches(), 1);

    test_issuer.serve_file("both.jwks.json");
    assert_eq!(setup.decide(&k2_token).await, (true, None), "k2 verifies after one refresh");
    assert_eq!(test_issuer.jwks_fetches(), 2);
    assert_eq!(setup.decide(&setup.token("k1", "alice")).await, (true, None), "k1 still published");
    assert_eq!(test_issuer.jwks_fetches(), 2, "known kids need no fetch");
    setup.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_flood_of_unknown_kids_costs_the_issuer_one_fetch_per_interval() {
    let test_issuer = TestIssuer::start("k1.jwks.json").await;
    let uri = test_issuer.jwks_uri();
    let setup = Arc::new(
        start_with(&test_issuer.issuer(), |section| {
            section.jwks_uri = Some(uri);
            section.min_refresh_seconds = 3600;
        })
        .await,
    );
    let mut flood = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let setup = Arc::clone(&setup);
        flood.spawn(async move {
            for n in 0..25 {
                let token = sign_as("k1", &format!("random-{worker}-{n}"), &setup.issuer, "mallory");
                assert_eq!(setup.decide(&token).await, (false, Some("unknown_key_id".into())));
            }
        });
    }
    while let Some(done) = flood.join_next().await {
        done.unwrap();
    }
    assert_eq!(test_issuer.jwks_fetches(), 2, "one fetch at start, one for 200 unknown kids");
    // The limit is per interval, not forever blind: a real rotation within it waits for the
    // schedule, and known keys keep working meanwhile.
    assert_eq!(setup.decide(&setup.token("k1", "alice")).await, (true, None));
    let setup = Arc::into_inner(setup).unwrap();
    setup.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_issuer_that_goes_down_leaves_the_last_keys_in_force_and_shows_in_ready() {
    let mut test_issuer = TestIssuer::start("k1.jwks.json").await;
    let uri = test_issuer.jwks_uri();
    let setup = start_with(&test_issuer.issuer(), |section| {
        section.jwks_uri = Some(uri);
        section.refresh_seconds = 1;
    })
    .await;
    assert_eq!(setup.decide(&setup.token("k1", "alice")).await, (true, None));
    test_issuer.take_down().await;

    // Wait for a scheduled refresh to fail (polled, with a deadline).
    let deadline = Instant::now() + Duration::from_secs(20);
    let set = loop {
        let set = setup.key_set().await;
        if set["last_error"].is_string() {
            break set;
        }
        assert!(Instant::now() < deadline, "no failed refresh shown: {set}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(set["has_keys"], true, "{set}");
    assert!(set["failures"].as_u64().is_some_and(|failures| failures >= 1), "{set}");
    let (status, ready) = setup.ready().await;
    assert_eq!(status, 200, "the last good keys keep the server ready: {ready}");
    // A token never seen before, so verified with the kept keys, not served from the cache.
    assert_eq!(setup.decide(&setup.token("k1", "carol")).await, (true, None));
    let text = setup.metrics().await;
    let failures = format!("warrant_key_fetch_failures_total{{issuer=\"{}\"}}", setup.issuer);
    assert!(series_value(&text, &failures).is_some_and(|failures| failures >= 1.0), "{text}");
    setup.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_issuer_never_reached_leaves_the_server_up_but_not_ready_and_tokens_denied() {
    // A port that refuses connections: bound, then released.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let issuer = format!("http://{closed}");
    let setup = start_with(&issuer, |section| section.jwks_uri = Some(format!("http://{closed}/jwks"))).await;
    let (status, ready) = setup.ready().await;
    assert_eq!((status, ready["keys"].as_bool()), (503, Some(false)), "{ready}");
    let set = &ready["key_sets"][&issuer];
    assert_eq!(set["has_keys"], false, "{ready}");
    assert!(set["last_error"].is_string() && set["fetched_at"].is_null(), "{ready}");
    assert_eq!(setup.decide(&setup.token("k1", "alice")).await, (false, Some("keys_unavailable".into())));
    let health = client().get(format!("http://{}/health", setup.server.http_addr())).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    setup.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_issuer_that_never_answers_delays_start_by_the_fetch_timeout_only() {
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let issuer = format!("http://{addr}");
    let started = Instant::now();
    let setup = start_with(&issuer, |section| {
        section.jwks_uri = Some(format!("http://{addr}/jwks"));
        section.fetch_timeout_ms = 300;
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(10), "start took {:?}", started.elapsed());
    let set = setup.key_set().await;
    assert!(set["last_error"].as_str().is_some_and(|error| error.contains("within")), "{set}");
    assert_eq!(setup.decide(&setup.token("k1", "alice")).await.1.as_deref(), Some("keys_unavailable"));
    setup.server.shutdown().await.unwrap();
    hold.abort();
}

#[tokio::test]
async fn garbage_and_oversized_key_sets_are_refused_and_the_old_set_kept() {
    let test_issuer = TestIssuer::start("k1.jwks.json").await;
    let uri = test_issuer.jwks_uri();
    let setup = start_with(&test_issuer.issuer(), |section| {
        section.jwks_uri = Some(uri);
        section.min_refresh_seconds = 0; // every unknown kid refreshes, to drive each case
    })
    .await;
    let k1_token = setup.token("k1", "alice");
    let k2_token = setup.token("k2", "bob");
    let oversized = format!("{}{}", key_file("both.jwks.json"), " ".repeat(warrant_server::keys::MAX_JWKS_BYTES));
    let cases = [
        ("not JSON", "this is not a key set".to_string(), "key set refused"),
        ("wrong shape", json!({ "keys": "k2" }).to_string(), "key set refused"),
        ("no usable key", json!({ "keys": [] }).to_string(), "key set refused"),
        ("oversized", oversized, "larger than"),
    ];
    for (fetches, (case, body, expected_error)) in (2..).zip(cases) {
        test_issuer.serve(body);
        assert_eq!(setup.decide(&k2_token).await, (false, Some("unknown_key_id".into())), "{case}");
        assert_eq!(test_issuer.jwks_fetches(), fetches, "{case}: one refresh");
        let set = setup.key_set().await;
        assert!(set["last_error"].as_str().is_some_and(|error| error.contains(expected_error)), "{case}: {set}");
        assert_eq!(set["has_keys"], true, "{case}");
        assert_eq!(setup.decide(&setup.token("k1", &format!("alice-{fetches}"))).await, (true, None), "{case}");
    }
    assert_eq!(setup.decide(&k1_token).await, (true, None));
    // A good set again: the error clears and the rotation goes through.
    test_issuer.serve_file("both.jwks.json");
    assert_eq!(setup.decide(&k2_token).await, (true, None));
    assert!(setup.key_set().await["last_error"].is_null());
    setup.server.shutdown().await.unwrap();
}
