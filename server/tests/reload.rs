//! Reloading the policy and data while serving: through `RunningServer::reload`, through a file
//! change seen by the watcher, refusal of a bad policy or bad data (the old one keeps serving),
//! and a hot reload under load where every answer is attributed to exactly one policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;
use warrant_server::{ReloadError, ServerConfig};

/// Allows `read`.
const ALLOWS: &str = "package test.swap\n\nallow reading if {\n    action == \"read\"\n}\n";
/// Allows only `write`, so `read` is denied (default deny); same package, another hash.
const DENIES: &str = "package test.swap\n\nallow writing if {\n    action == \"write\"\n}\n";
/// Does not compile.
const BROKEN: &str = "package test.swap\n\nallow reading if {\n    action ==\n}\n";

fn read_request() -> Value {
    json!({ "claims": { "sub": "user:ann", "iss": "https://idp.test" }, "resource": "doc:1", "action": "read" })
}

fn policy_dir(policy: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.warrant");
    std::fs::write(&path, policy).unwrap();
    (dir, path)
}

fn local_config(policy: &Path, watch: bool, interval_ms: u64) -> ServerConfig {
    let mut config = ServerConfig::for_policy(policy.to_path_buf());
    config.listen.http = "127.0.0.1:0".parse().unwrap();
    config.policy.watch = watch;
    config.policy.watch_interval_ms = interval_ms;
    config
}

/// Polls `condition` every 10 ms until it holds or `limit` passes.
async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}

async fn decide_read(addr: std::net::SocketAddr) -> (bool, String) {
    let (status, answer) = post_json(addr, "/v1/decide", &read_request()).await;
    assert_eq!(status, 200, "{answer}");
    (answer["allowed"].as_bool().unwrap(), answer["policy"]["hash"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn reload_swaps_policy_and_reports_both_hashes() {
    let (_dir, path) = policy_dir(ALLOWS);
    let server = start(local_config(&path, false, 1_000)).await;
    let addr = server.http_addr();
    let (allowed, first_hash) = decide_read(addr).await;
    assert!(allowed);
    assert_eq!(first_hash, server.policy_version().hash);

    std::fs::write(&path, DENIES).unwrap();
    // Watching is off: nothing changes until asked.
    assert_eq!(decide_read(addr).await, (true, first_hash.clone()));
    let reloaded = server.reload().await.unwrap();
    assert_eq!(reloaded.previous.hash, first_hash);
    assert_ne!(reloaded.current.hash, first_hash);
    assert_eq!(reloaded.current, server.policy_version());
    assert_eq!(decide_read(addr).await, (false, reloaded.current.hash.clone()));

    let (_, metrics) = get(addr, "/metrics").await;
    assert_eq!(metric(&metrics, "warrant_reloads_total{result=\"ok\"}"), 1.0, "{metrics}");
    let info = format!("warrant_policy_info{{package=\"test.swap\",hash=\"{}\"}}", reloaded.current.hash);
    assert_eq!(metric(&metrics, &info), 1.0, "{metrics}");
    assert!(!metrics.contains(&first_hash), "the old policy is no longer reported in force: {metrics}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_bad_policy_or_bad_data_is_refused_and_the_old_one_keeps_serving() {
    let (dir, path) = policy_dir(ALLOWS);
    let data = dir.path().join("data.json");
    std::fs::write(&data, r#"{"readers": ["user:ann"]}"#).unwrap();
    let mut config = local_config(&path, false, 1_000);
    config.policy.data = Some(data.clone());
    let server = start(config).await;
    let addr = server.http_addr();
    let before = server.policy_version();

    std::fs::write(&path, BROKEN).unwrap();
    let error = server.reload().await.unwrap_err();
    assert!(matches!(error, ReloadError::Load(_)), "{error:?}");
    assert!(error.to_string().contains("policy.warrant"), "names the file: {error}");
    assert_eq!(server.policy_version(), before);
    assert_eq!(decide_read(addr).await, (true, before.hash.clone()));

    std::fs::write(&path, ALLOWS).unwrap();
    std::fs::write(&data, "{\"readers\": [").unwrap();
    let error = server.reload().await.unwrap_err();
    assert!(error.to_string().contains("data.json"), "names the data file: {error}");
    assert_eq!(decide_read(addr).await, (true, before.hash.clone()));

    let (_, metrics) = get(addr, "/metrics").await;
    assert_eq!(metric(&metrics, "warrant_reloads_total{result=\"refused\"}"), 2.0, "{metrics}");
    assert_eq!(metric(&metrics, "warrant_reloads_total{result=\"ok\"}"), 0.0, "{metrics}");

    // A good pair again: accepted.
    std::fs::write(&data, r#"{"readers": []}"#).unwrap();
    std::fs::write(&path, DENIES).unwrap();
    let reloaded = server.reload().await.unwrap();
    assert_ne!(reloaded.previous_data_hash, reloaded.data_hash);
    assert!(reloaded.data_hash.as_deref().is_some_and(|hash| hash.len() == 64));
    assert_eq!(decide_read(addr).await, (false, reloaded.current.hash));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_changed_file_is_reloaded_by_the_watcher_and_a_broken_one_is_not() {
    let (_dir, path) = policy_dir(ALLOWS);
    let server = start(local_config(&path, true, 20)).await;
    let addr = server.http_addr();
    let first = server.policy_version();

    std::fs::write(&path, BROKEN).unwrap();
    let scrape_refused =
        || async { metric(&get(addr, "/metrics").await.1, "warrant_reloads_total{result=\"refused\"}") };
    let deadline = Instant::now() + Duration::from_secs(10);
    while scrape_refused().await < 1.0 {
        assert!(Instant::now() < deadline, "the broken file was never tried");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.policy_version(), first, "the broken policy is refused");
    assert_eq!(decide_read(addr).await, (true, first.hash.clone()));

    std::fs::write(&path, DENIES).unwrap();
    assert!(eventually(Duration::from_secs(10), || server.policy_version() != first).await, "reloaded on change");
    assert_eq!(decide_read(addr).await, (false, server.policy_version().hash));
    // Tried once per change, not at every tick.
    assert_eq!(scrape_refused().await, 1.0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_package_folder_reloads_when_a_file_is_added() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.warrant"), DENIES).unwrap();
    let server = start(local_config(dir.path(), true, 20)).await;
    let addr = server.http_addr();
    let first = server.policy_version();
    assert!(!decide_read(addr).await.0);
    std::fs::write(
        dir.path().join("b.warrant"),
        "package test.swap\n\nallow reading if {\n    action == \"read\"\n}\n",
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(10), || server.policy_version() != first).await, "reloaded on new file");
    assert!(decide_read(addr).await.0);
    server.shutdown().await.unwrap();
}

/// N clients hammer `/v1/decide` while the policy file is swapped back and forth; every answer
/// must be a 200 whose `allowed` is the one its `policy.hash` gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_under_load_never_fails_or_mixes_policies() {
    const CLIENTS: usize = 8;
    const SWAPS: usize = 6;
    let (_dir, path) = policy_dir(ALLOWS);
    let server = start(local_config(&path, true, 20)).await;
    let addr = server.http_addr();
    let allow_hash = server.policy_version().hash;

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let stop = Arc::clone(&stop);
        clients.push(tokio::spawn(async move {
            let client = client();
            let body = read_request().to_string();
            let mut seen: Vec<(bool, String)> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let response = client
                    .post(format!("http://{addr}/v1/decide"))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("no failed request");
                assert_eq!(response.status().as_u16(), 200);
                let answer: Value =
                    serde_json::from_str(&response.text().await.expect("a body")).expect("a JSON answer");
                seen.push((answer["allowed"].as_bool().unwrap(), answer["policy"]["hash"].as_str().unwrap().into()));
            }
            seen
        }));
    }

    let mut deny_hash = None;
    for swap in 0..SWAPS {
        let (text, expect_allow) = if swap % 2 == 0 { (DENIES, false) } else { (ALLOWS, true) };
        let before = server.policy_version().hash;
        std::fs::write(&path, text).unwrap();
        assert!(
            eventually(Duration::from_secs(10), || server.policy_version().hash != before).await,
            "swap {swap} was not picked up"
        );
        let now = server.policy_version().hash;
        if expect_allow {
            assert_eq!(now, allow_hash);
        } else {
            assert_eq!(*deny_hash.get_or_insert_with(|| now.clone()), now);
        }
        // Let the clients decide a while under this policy.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);

    let deny_hash = deny_hash.unwrap();
    assert_ne!(deny_hash, allow_hash);
    let mut counts: HashMap<(bool, String), usize> = HashMap::new();
    for client in clients {
        for answer in client.await.expect("no client failed") {
            *counts.entry(answer).or_default() += 1;
        }
    }
    let expected = [(true, allow_hash.clone()), (false, deny_hash.clone())];
    for (answer, count) in &counts {
        assert!(expected.contains(answer), "answer {answer:?} ({count} times) mixes the policies");
    }
    for answer in &expected {
        assert!(counts.get(answer).is_some_and(|count| *count > 0), "no answer under {answer:?}: {counts:?}");
    }
    let (_, metrics) = get(addr, "/metrics").await;
    assert_eq!(metric(&metrics, "warrant_reloads_total{result=\"ok\"}"), SWAPS as f64, "{metrics}");
    server.shutdown().await.unwrap();
}

/// `token_error` of a `/v1/decide/token` answer for a token signed by `kid` (null: verified).
async fn token_error(addr: std::net::SocketAddr, kid: &str) -> Value {
    let token = sign(kid, &claims("user:ann", "spiffe://agents.test/reader", "docs:read"));
    let body = json!({ "token": token, "resource": "doc:1", "action": "read" });
    let (status, answer) = post_json(addr, "/v1/decide/token", &body).await;
    assert_eq!(status, 200, "{answer}");
    answer["token_error"].clone()
}

#[tokio::test]
async fn a_reload_re_reads_the_key_file_and_a_bad_one_keeps_the_keys_in_force() {
    let (dir, policy) = policy_dir(ALLOWS);
    let jwks = dir.path().join("issuer.jwks.json");
    std::fs::copy(keys_dir().join("k1.jwks.json"), &jwks).unwrap();
    let mut config = local_config(&policy, false, 1_000);
    let mut issuer = warrant_server::config::IssuerSection::new(
        ISSUER.to_string(),
        vec![AUDIENCE.to_string()],
        vec![warrant::token::Algorithm::ES256],
    );
    issuer.jwks_file = Some(jwks.clone());
    config.issuers.push(issuer);
    let server = start(config).await;
    let addr = server.http_addr();
    assert_eq!(token_error(addr, "k1").await, Value::Null);
    assert_eq!(token_error(addr, "k2").await, json!("unknown_key_id"));

    // The issuer rotated: the file now holds k2 only.
    std::fs::copy(keys_dir().join("k2.jwks.json"), &jwks).unwrap();
    server.reload().await.unwrap();
    assert_eq!(token_error(addr, "k2").await, Value::Null);
    assert_eq!(token_error(addr, "k1").await, json!("unknown_key_id"), "a withdrawn key stops verifying");

    // A broken file is refused; the keys in force (k2) stay.
    std::fs::write(&jwks, "{\"keys\": [").unwrap();
    server.reload().await.unwrap();
    assert_eq!(token_error(addr, "k2").await, Value::Null);
    server.shutdown().await.unwrap();
}
