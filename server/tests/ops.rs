//! Operations: `/health`, `/ready`, `/metrics` scraped by a real client, the example
//! configuration, and configuration errors that name the key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;
use warrant_server::config::AuditSection;
use warrant_server::{ConfigError, ServerConfig};

fn agent_tools_case(case: usize) -> (Value, bool) {
    let text = std::fs::read_to_string(repo_root().join("policies/agent-tools/policy.test.json")).unwrap();
    let tests: Value = serde_json::from_str(&text).unwrap();
    (tests["cases"][case]["request"].clone(), tests["cases"][case]["expect"] == "allow")
}

fn agent_tools() -> ServerConfig {
    config("policies/agent-tools", Some("policies/agent-tools/data.json"))
}

#[tokio::test]
async fn health_is_live_and_ready_names_each_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = agent_tools();
    config.audit = Some(AuditSection::new(dir.path().join("audit.jsonl")));
    let server = start(config).await;
    let (status, body) = get(server.http_addr(), "/health").await;
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()), (200, json!({ "status": "live" })));

    let (status, body) = get(server.http_addr(), "/ready").await;
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["audit"], true);
    assert_eq!(ready["policy"]["package"], "acme.agent_tools");
    assert_eq!(ready["policy"]["hash"], server.policy_version().hash.as_str());
    server.shutdown().await.unwrap();
}

/// `/dev/full` accepts the open and fails every write: the audit trail is not writable.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn ready_is_503_while_the_audit_log_cannot_be_written() {
    let mut config = agent_tools();
    config.audit = Some(AuditSection::new("/dev/full".into()));
    let server = start(config).await;
    let addr = server.http_addr();
    let (request, _) = agent_tools_case(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, ready) = loop {
        let (status, _) = post_json(addr, "/v1/decide", &request).await;
        assert_eq!(status, 200);
        let (status, body) = get(addr, "/ready").await;
        if status != 200 || Instant::now() > deadline {
            break (status, serde_json::from_str::<Value>(&body).unwrap());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status, 503, "{ready}");
    assert_eq!((ready["ready"].clone(), ready["audit"].clone()), (json!(false), json!(false)));
    let (_, metrics) = get(addr, "/metrics").await;
    assert!(metric(&metrics, "warrant_audit_failed_records_total") >= 1.0, "{metrics}");
    let _ = server.shutdown().await;
}

#[tokio::test]
async fn metrics_are_exported_and_move_with_decisions() {
    let server = start(with_issuer_file(agent_tools(), "k1.jwks.json")).await;
    let addr = server.http_addr();
    let (_, before) = get(addr, "/metrics").await;
    // Families without a labelled series yet (decisions, refusals, reloads) appear once used.
    for name in [
        "# TYPE warrant_decision_duration_seconds histogram",
        "# TYPE warrant_audit_dropped_records counter",
        "# TYPE warrant_audit_failed_records counter",
        "# TYPE warrant_policy_info gauge",
        "warrant_audit_dropped_records_total 0",
        "# EOF",
    ] {
        assert!(before.contains(name), "`{name}` missing from:\n{before}");
    }
    let info = format!("warrant_policy_info{{package=\"acme.agent_tools\",hash=\"{}\"}}", server.policy_version().hash);
    assert_eq!(metric(&before, &info), 1.0, "{before}");
    assert_eq!(metric(&before, "warrant_decision_duration_seconds_count"), 0.0);

    let (mut allows, mut denies) = (0.0, 0.0);
    for case in 0..4 {
        let (request, expected) = agent_tools_case(case);
        let (_, answer) = post_json(addr, "/v1/decide", &request).await;
        assert_eq!(answer["allowed"], expected);
        if expected {
            allows += 1.0;
        } else {
            denies += 1.0;
        }
    }
    assert!(allows > 0.0 && denies > 0.0, "the cases cover both results");
    // A token signed with a key the issuer does not publish: refused, counted by code.
    let token = sign("k2", &claims("customer:c-42", "spiffe://agents.acme.com/assistant/acme", "crm:read"));
    let body = json!({ "token": token, "resource": "tool:get_customer", "action": "call" });
    let (_, answer) = post_json(addr, "/v1/decide/token", &body).await;
    assert_eq!(answer["token_error"], "unknown_key_id");
    denies += 1.0;

    let (_, after) = get(addr, "/metrics").await;
    for name in ["# TYPE warrant_decisions counter", "# TYPE warrant_token_refusals counter"] {
        assert!(after.contains(name), "`{name}` missing from:\n{after}");
    }
    let series = |result: &str| format!("warrant_decisions_total{{result=\"{result}\",policy=\"acme.agent_tools\"}}");
    assert_eq!(metric(&after, &series("allow")), allows, "{after}");
    assert_eq!(metric(&after, &series("deny")), denies, "{after}");
    assert_eq!(metric(&after, "warrant_decision_duration_seconds_count"), allows + denies, "{after}");
    assert!(metric(&after, "warrant_decision_duration_seconds_sum") > 0.0);
    let infinite_bucket = "warrant_decision_duration_seconds_bucket{le=\"+Inf\"}";
    assert_eq!(metric(&after, infinite_bucket), allows + denies, "{after}");
    assert_eq!(metric(&after, "warrant_token_refusals_total{code=\"unknown_key_id\"}"), 1.0, "{after}");
    assert!(!after.contains(&token), "no token in the metrics");
    server.shutdown().await.unwrap();
}

fn example_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("warrant.example.toml")
}

#[tokio::test]
async fn the_example_configuration_loads_and_serves() {
    let mut config = ServerConfig::from_toml_file(&example_path()).expect("the example is valid");
    assert!(config.policy.path.is_dir(), "{}", config.policy.path.display());
    assert!(config.policy.data.as_deref().is_some_and(Path::is_file));
    assert!(config.issuers[0].jwks_file.as_deref().is_some_and(Path::is_file));
    assert!(config.policy.watch);
    assert_eq!(config.ext_authz.routes.len(), 1);
    // Every key appears in the example (uncommented, or commented where keys exclude each other).
    let text = std::fs::read_to_string(example_path()).unwrap();
    for key in [
        "path",
        "data",
        "watch",
        "watch_interval_ms",
        "http",
        "grpc",
        "[listen.tls]",
        "cert",
        "key",
        "issuer",
        "audiences",
        "algorithms",
        "jwks_file",
        "jwks_uri",
        "discovery",
        "refresh_seconds",
        "min_refresh_seconds",
        "fetch_timeout_ms",
        "require_typ_at_jwt",
        "require_jti",
        "require_client_id",
        "allow_missing_iat",
        "leeway_seconds",
        "cache_capacity",
        "resource",
        "action",
        "context_headers",
        "expose_deny_reasons",
        "http_path_prefix",
        "[[ext_authz.route]]",
        "path_prefix",
        "methods",
        "max_body_bytes",
        "max_header_bytes",
        "max_concurrent_requests",
        "max_connections",
        "request_timeout_ms",
        "header_read_timeout_ms",
        "max_batch",
        "required",
    ] {
        let written = text.lines().any(|line| {
            let line = line.trim_start_matches(['#', ' ']);
            line.starts_with(&format!("{key} =")) || line == key
        });
        assert!(written, "`{key}` is not in the example");
    }
    // Serve it, on free ports and with the decision log in a temporary folder.
    let dir = tempfile::tempdir().unwrap();
    config.listen.http = "127.0.0.1:0".parse().unwrap();
    config.listen.grpc = None;
    config.audit = Some(AuditSection::new(dir.path().join("audit.jsonl")));
    let server = start(config).await;
    let (request, expected) = agent_tools_case(0);
    let (status, answer) = post_json(server.http_addr(), "/v1/decide", &request).await;
    assert_eq!((status, answer["allowed"].as_bool()), (200, Some(expected)), "{answer}");
    server.shutdown().await.unwrap();
}

fn refused(text: &str) -> ConfigError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warrant.toml");
    std::fs::write(&path, text).unwrap();
    ServerConfig::from_toml_file(&path).expect_err("refused")
}

#[test]
fn configuration_errors_name_the_key() {
    let unknown = refused("[policy]\npath = \"p.warrant\"\nwatch_intervall_ms = 5\n");
    assert!(matches!(unknown, ConfigError::Syntax { .. }), "{unknown:?}");
    assert!(unknown.to_string().contains("watch_intervall_ms"), "{unknown}");
    assert!(unknown.to_string().contains("warrant.toml"), "names the file: {unknown}");

    let wrong_type = refused("[policy]\npath = \"p.warrant\"\n[limits]\nmax_batch = \"many\"\n");
    assert!(wrong_type.to_string().contains("max_batch"), "{wrong_type}");

    let zero = refused("[policy]\npath = \"p.warrant\"\nwatch_interval_ms = 0\n");
    match &zero {
        ConfigError::Invalid { key, .. } => assert_eq!(key, "policy.watch_interval_ms"),
        other => panic!("{other:?}"),
    }
    assert!(zero.to_string().contains("policy.watch_interval_ms"), "{zero}");

    let listen = refused("[policy]\npath = \"p.warrant\"\n[listen]\nhttp = \"localhost\"\n");
    assert!(listen.to_string().contains("http"), "{listen}");

    let missing = refused("[listen]\nhttp = \"127.0.0.1:1\"\n");
    assert!(missing.to_string().contains("policy"), "{missing}");

    let issuer = refused(
        "[policy]\npath = \"p.warrant\"\n[[issuer]]\nissuer = \"https://idp\"\naudiences = []\nalgorithms = [\"ES256\"]\njwks_uri = \"https://idp/jwks\"\n",
    );
    assert!(issuer.to_string().contains("issuer[0].audiences"), "{issuer}");
}
