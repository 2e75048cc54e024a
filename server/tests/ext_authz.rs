//! Envoy ext_authz end to end: Envoy's own gRPC client (generated from Envoy's protos by
//! `envoy-types`) and an HTTP client (the `http_service` mode) against `warrant serve` on
//! loopback, deciding with `tests/policies/files.warrant`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;

use axum::body::HttpBody;
use envoy_types::ext_authz::v3::pb::{CheckRequest, CheckResponse, HeaderAppendAction, HttpResponse};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::{attribute_context, AttributeContext};
use serde_json::{json, Value};
use support::*;
use warrant_server::{RunningServer, ServerConfig};

const AGENT: &str = "spiffe://agents.test/assistant";

/// The test configuration: the files policy, the test issuer (key `k1`), both ext_authz
/// modes, the routes of `files.warrant`'s header comment.
fn files_config(extra: &str) -> ServerConfig {
    let text = format!(
        r#"
        [policy]
        path = "policies/files.warrant"
        data = "policies/files.data.json"
        [listen]
        http = "127.0.0.1:0"
        grpc = "127.0.0.1:0"
        [[issuer]]
        issuer = "{ISSUER}"
        audiences = ["{AUDIENCE}"]
        algorithms = ["ES256"]
        jwks_file = "keys/k1.jwks.json"
        [ext_authz]
        context_headers = ["X-Tenant"]
        {extra}
        [[ext_authz.route]]
        path_prefix = "/files"
        methods = ["GET", "HEAD"]
        action = "files.read"
        resource = "files:{{segment:2}}"
        [[ext_authz.route]]
        path_prefix = "/files"
        methods = ["PUT"]
        action = "files.write"
        resource = "files:{{segment:2}}"
        "#
    );
    let mut config = ServerConfig::from_toml_str(&text).unwrap();
    config.resolve_paths(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"));
    config
}

/// Claims of user `alice` (folder `alice`, tenant `acme`) with `scope`; `instance` names the
/// acting agent's instance, `None` for a token without an agent.
fn alice(scope: &str, instance: Option<&str>) -> Value {
    let now = now();
    let mut claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user:alice", "scope": scope,
        "folder": "alice", "tenant": "acme", "iat": now, "exp": now + 600,
    });
    if let Some(instance) = instance {
        claims["act"] = json!({ "sub": AGENT, "instance_id": instance });
    }
    claims
}

fn bearer(claims: &Value) -> String {
    format!("Bearer {}", sign("k1", claims))
}

async fn files_server(extra: &str) -> (RunningServer, SocketAddr) {
    let server = start(files_config(extra)).await;
    let grpc = server.grpc_addr().expect("the gRPC listener is configured");
    (server, grpc)
}

// ---- gRPC ----

async fn grpc_check(addr: SocketAddr, method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> CheckResponse {
    let mut client = AuthorizationClient::connect(format!("http://{addr}")).await.expect("connects");
    client.check(check_request(method, host, path, headers)).await.expect("a CheckResponse").into_inner()
}

fn check_request(method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> CheckRequest {
    let headers: HashMap<String, String> =
        headers.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    let http = attribute_context::HttpRequest {
        method: method.to_string(),
        host: host.to_string(),
        path: path.to_string(),
        headers,
        ..Default::default()
    };
    let request = attribute_context::Request { http: Some(http), ..Default::default() };
    CheckRequest { attributes: Some(AttributeContext { request: Some(request), ..Default::default() }) }
}

fn code(response: &CheckResponse) -> tonic::Code {
    tonic::Code::from(response.status.as_ref().expect("a status").code)
}

/// The headers Envoy would set upstream (allowed), each checked to replace a client's own.
fn upstream_headers(response: &CheckResponse) -> (HashMap<String, String>, Vec<String>) {
    let Some(HttpResponse::OkResponse(ok)) = &response.http_response else {
        panic!("not an OK response: {response:?}")
    };
    let mut headers = HashMap::new();
    for option in &ok.headers {
        assert_eq!(option.append_action, i32::from(HeaderAppendAction::OverwriteIfExistsOrAdd));
        let header = option.header.as_ref().unwrap();
        headers.insert(header.key.clone(), header.value.clone());
    }
    (headers, ok.headers_to_remove.clone())
}

/// A denied answer: its HTTP status, headers and JSON body.
fn denied(response: &CheckResponse) -> (i32, HashMap<String, String>, Value) {
    let Some(HttpResponse::DeniedResponse(denied)) = &response.http_response else {
        panic!("not a denied response: {response:?}")
    };
    let headers = denied
        .headers
        .iter()
        .map(|option| option.header.as_ref().unwrap())
        .map(|header| (header.key.clone(), header.value.clone()))
        .collect();
    let body = serde_json::from_str(&denied.body).unwrap_or_else(|_| panic!("JSON body: {}", denied.body));
    (denied.status.as_ref().unwrap().code, headers, body)
}

#[tokio::test]
async fn grpc_allowed_names_the_decision_the_user_and_the_agent_upstream() {
    let (server, grpc) = files_server("").await;
    let token = bearer(&alice("files:read", Some("run-1")));
    let headers = [("authorization", token.as_str()), ("x-tenant", "acme")];
    let response = grpc_check(grpc, "GET", "files.test", "/files/alice/report.txt?v=2", &headers).await;
    assert_eq!(code(&response), tonic::Code::Ok, "{response:?}");
    let (upstream, removed) = upstream_headers(&response);
    assert!(upstream["x-warrant-decision-id"].len() > 4, "{upstream:?}");
    assert_eq!(upstream["x-warrant-sub"], "user:alice");
    assert_eq!(upstream["x-warrant-actor"], AGENT);
    assert!(removed.is_empty(), "{removed:?}");

    // No agent in the token: the actor header is removed, so a client cannot supply its own.
    let token = bearer(&alice("files:read", None));
    let headers = [("authorization", token.as_str()), ("x-tenant", "acme"), ("x-warrant-actor", "forged")];
    let response = grpc_check(grpc, "GET", "files.test", "/files/alice/report.txt", &headers).await;
    assert_eq!(code(&response), tonic::Code::Ok, "{response:?}");
    let (upstream, removed) = upstream_headers(&response);
    assert!(!upstream.contains_key("x-warrant-actor"));
    assert_eq!(removed, vec!["x-warrant-actor".to_string()]);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn grpc_denied_is_403_with_the_decision_id_and_reasons_only_when_exposed() {
    let token = bearer(&alice("files:read", Some("run-1")));
    let headers = [("authorization", token.as_str()), ("x-tenant", "globex")];
    let reason = "the request names another tenant than the token's";

    let (server, grpc) = files_server("").await;
    let response = grpc_check(grpc, "GET", "files.test", "/files/alice/report.txt", &headers).await;
    assert_eq!(code(&response), tonic::Code::PermissionDenied);
    let (status, answer_headers, body) = denied(&response);
    assert_eq!(status, 403);
    assert_eq!(body["allowed"], false);
    assert_eq!(answer_headers["x-warrant-decision-id"], body["decision_id"].as_str().unwrap());
    assert!(body.get("deny_reasons").is_none(), "{body}");
    assert!(!body.to_string().contains("tenant"), "{body}");
    server.shutdown().await.unwrap();

    let (server, grpc) = files_server("expose_deny_reasons = true").await;
    let response = grpc_check(grpc, "GET", "files.test", "/files/alice/report.txt", &headers).await;
    assert_eq!(code(&response), tonic::Code::PermissionDenied);
    let (status, _, body) = denied(&response);
    assert_eq!(status, 403);
    assert_eq!(body["deny_reasons"], json!([reason]), "{body}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn grpc_refused_and_malformed_tokens_are_401_invalid_token() {
    let (server, grpc) = files_server("").await;
    let unknown_key = format!("Bearer {}", sign("k2", &alice("files:read", Some("run-1"))));
    let mut expired = alice("files:read", Some("run-1"));
    expired["exp"] = json!(now() - 3600);
    let expired = bearer(&expired);
    for authorization in [unknown_key.as_str(), expired.as_str(), "Bearer not-a-jwt", "Bearer a b", "bearer"] {
        let headers = [("authorization", authorization), ("x-tenant", "acme")];
        let response = grpc_check(grpc, "GET", "files.test", "/files/alice/report.txt", &headers).await;
        assert_eq!(code(&response), tonic::Code::Unauthenticated, "{authorization}: {response:?}");
        let (status, answer_headers, body) = denied(&response);
        assert_eq!(status, 401);
        assert_eq!(answer_headers["www-authenticate"], "Bearer error=\"invalid_token\"");
        assert_eq!(body["error"], "invalid_token");
        assert!(body.get("token_error").is_none(), "{body}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn grpc_no_bearer_credential_is_401_with_a_bare_challenge_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let extra = format!("[audit]\npath = \"{}\"", audit.display());
    let config = files_config(&extra);
    assert!(config.audit.is_some());
    let server = start(config).await;
    let grpc = server.grpc_addr().unwrap();
    let mut ids = Vec::new();
    for headers in [vec![("x-tenant", "acme")], vec![("authorization", "Basic dXNlcjpwYXNz")]] {
        let response = grpc_check(grpc, "GET", "files.test", "/files/alice/report.txt", &headers).await;
        assert_eq!(code(&response), tonic::Code::Unauthenticated);
        let (status, answer_headers, body) = denied(&response);
        assert_eq!(status, 401);
        assert_eq!(answer_headers["www-authenticate"], "Bearer");
        assert_eq!(body["error"], "no_token");
        ids.push(body["decision_id"].as_str().unwrap().to_string());
    }
    server.shutdown().await.unwrap();
    let log = std::fs::read_to_string(&audit).unwrap();
    for id in ids {
        assert!(log.contains(&id), "decision {id} is not in the audit log:\n{log}");
    }
}

#[tokio::test]
async fn grpc_a_revoked_instance_is_denied_403_not_401() {
    let (server, grpc) = files_server("expose_deny_reasons = true").await;
    let check = |instance: &'static str| async move {
        let token = bearer(&alice("files:read", Some(instance)));
        let headers = [("authorization", token.as_str()), ("x-tenant", "acme")];
        grpc_check(grpc, "GET", "files.test", "/files/alice/report.txt", &headers).await
    };
    assert_eq!(code(&check("run-1").await), tonic::Code::Ok);
    let response = check("run-revoked").await;
    assert_eq!(code(&response), tonic::Code::PermissionDenied, "{response:?}");
    let (status, _, body) = denied(&response);
    assert_eq!(status, 403);
    assert!(body["deny_reasons"].to_string().contains("revoked agent instance `run-revoked`"), "{body}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn grpc_routes_templates_and_context_headers_reach_the_policy() {
    let (server, grpc) = files_server("").await;
    let read = bearer(&alice("files:read", Some("run-1")));
    let write = bearer(&alice("files:read files:write", Some("run-1")));
    // (method, host, path, authorization, x-tenant, expected status)
    type Case<'a> = (&'a str, &'a str, &'a str, &'a str, Option<&'a str>, tonic::Code);
    let cases: [Case; 10] = [
        // route 2: PUT is files.write, which needs the write scope
        ("PUT", "files.test", "/files/alice/a.txt", &write, Some("acme"), tonic::Code::Ok),
        ("PUT", "files.test", "/files/alice/a.txt", &read, Some("acme"), tonic::Code::PermissionDenied),
        // the folder is segment 2: another user's folder is another resource
        ("GET", "files.test", "/files/bob/a.txt", &read, Some("acme"), tonic::Code::PermissionDenied),
        // the methods of route 1 match in any letter case; no route for POST: action `POST`
        ("get", "files.test", "/files/alice/a.txt", &read, Some("acme"), tonic::Code::Ok),
        ("POST", "files.test", "/files/alice/a.txt", &write, Some("acme"), tonic::Code::PermissionDenied),
        // prefixes match whole segments: `/filesx` is not under `/files`
        ("GET", "files.test", "/filesx/alice", &read, Some("acme"), tonic::Code::PermissionDenied),
        // the default templates: `https://{host}{path}`, the method
        ("GET", "files.test", "/public", &read, None, tonic::Code::Ok),
        ("GET", "other.test", "/public", &read, None, tonic::Code::PermissionDenied),
        // a context header the request lacks is missing, and the deny over it fires
        ("GET", "files.test", "/files/alice/a.txt", &read, None, tonic::Code::PermissionDenied),
        // a path that could reach the upstream as another path is not mapped
        ("GET", "files.test", "/files/alice/../../admin", &read, Some("acme"), tonic::Code::PermissionDenied),
    ];
    for (method, host, path, token, tenant, expected) in cases {
        let mut headers = vec![("authorization", token)];
        if let Some(tenant) = tenant {
            headers.push(("x-tenant", tenant));
        }
        let response = grpc_check(grpc, method, host, path, &headers).await;
        assert_eq!(code(&response), expected, "{method} {host}{path} tenant {tenant:?}: {response:?}");
    }
    let headers = [("authorization", read.as_str()), ("x-tenant", "acme")];
    let response = grpc_check(grpc, "GET", "files.test", "/files/alice/../../admin", &headers).await;
    assert_eq!(denied(&response).2["error"]["code"], "unmappable_request");
    let response = grpc_check(grpc, "GET", "files.test", "/files", &headers).await;
    assert_eq!(denied(&response).2["error"]["code"], "unmappable_request", "no segment 2");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_an_issuer_every_check_is_denied() {
    let mut config = files_config("");
    config.issuers.clear();
    let server = start(config).await;
    let token = bearer(&alice("files:read", Some("run-1")));
    let headers = [("authorization", token.as_str()), ("x-tenant", "acme")];
    let response = grpc_check(server.grpc_addr().unwrap(), "GET", "files.test", "/files/alice/a", &headers).await;
    assert_eq!(code(&response), tonic::Code::PermissionDenied);
    assert_eq!(denied(&response).2["error"]["code"], "no_issuer");
    let (status, _, body) = http_check(server.http_addr(), "GET", "files.test", "/files/alice/a", &headers).await;
    assert_eq!(status, 403);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], "no_issuer");
    server.shutdown().await.unwrap();
}

// ---- hostile gRPC ----

/// Posts `body` raw to the Check method over h2; the `grpc-status` (headers or trailers).
async fn raw_grpc(addr: SocketAddr, body: Vec<u8>) -> i32 {
    use tower::ServiceExt;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let request = axum::http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/envoy.service.auth.v3.Authorization/Check"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(tonic::body::Body::new(axum::body::Body::from(body)))
        .unwrap();
    let response = channel.oneshot(request).await.expect("an HTTP/2 answer");
    let status =
        |map: &axum::http::HeaderMap| map.get("grpc-status").map(|v| v.to_str().unwrap().parse::<i32>().unwrap());
    if let Some(code) = status(response.headers()) {
        return code;
    }
    let mut body = response.into_body();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(trailers) = frame.expect("a frame").into_trailers() {
            return status(&trailers).expect("grpc-status in the trailers");
        }
    }
    panic!("no grpc-status");
}

fn grpc_frame(message: &[u8], declared_length: u32) -> Vec<u8> {
    let mut frame = vec![0];
    frame.extend_from_slice(&declared_length.to_be_bytes());
    frame.extend_from_slice(message);
    frame
}

#[tokio::test]
async fn malformed_protobuf_is_a_grpc_error_and_the_server_keeps_answering() {
    let (server, grpc) = files_server("").await;
    let garbage = [0xff_u8; 64];
    let cases = [
        // not a protobuf message
        grpc_frame(&garbage, 64),
        // a length-delimited field longer than the message
        grpc_frame(&[0x0a, 0xff, 0xff, 0x03, 0x01], 5),
        // a frame declaring more than the message cap
        grpc_frame(&garbage, u32::MAX),
        // a truncated frame header
        vec![0, 0],
    ];
    for body in cases {
        let status = raw_grpc(grpc, body.clone()).await;
        assert_ne!(status, 0, "{body:?} was answered OK");
    }
    // A well-formed check without HTTP attributes is a deny, not a transport error.
    let mut client = AuthorizationClient::connect(format!("http://{grpc}")).await.unwrap();
    let response = client.check(CheckRequest::default()).await.unwrap().into_inner();
    assert_eq!(code(&response), tonic::Code::PermissionDenied);
    // Still serving.
    let token = bearer(&alice("files:read", Some("run-1")));
    let headers = [("authorization", token.as_str()), ("x-tenant", "acme")];
    let response = grpc_check(grpc, "GET", "files.test", "/files/alice/a", &headers).await;
    assert_eq!(code(&response), tonic::Code::Ok);
    server.shutdown().await.unwrap();
}

// ---- HTTP (`http_service`) ----

/// Sends the checked request as Envoy's `http_service` mode does (the path after
/// `/ext_authz`, the original method and `Host`); the status, headers and body.
async fn http_check(
    addr: SocketAddr,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client().request(method, format!("http://{addr}/ext_authz{path}")).header("host", host);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).unwrap_or_else(|| panic!("no {name} in {headers:?}")).to_str().unwrap()
}

#[tokio::test]
async fn http_mode_answers_as_the_grpc_mode() {
    let (server, _) = files_server("").await;
    let addr = server.http_addr();
    let with_agent = bearer(&alice("files:read", Some("run-1")));
    let without_agent = bearer(&alice("files:read files:write", None));

    // Allowed: 200 and the identity headers for Envoy's allowed_upstream_headers.
    let headers = [("authorization", with_agent.as_str()), ("x-tenant", "acme")];
    let (status, answer, _) = http_check(addr, "GET", "files.test", "/files/alice/a.txt?x=1", &headers).await;
    assert_eq!(status, 200);
    assert!(header(&answer, "x-warrant-decision-id").len() > 4);
    assert_eq!(header(&answer, "x-warrant-sub"), "user:alice");
    assert_eq!(header(&answer, "x-warrant-actor"), AGENT);
    assert!(answer.get("x-envoy-auth-headers-to-remove").is_none());

    // No agent: Envoy is told to strip any x-warrant-actor the client sent. A body is ignored.
    let headers = [("authorization", without_agent.as_str()), ("x-tenant", "acme")];
    let response = client()
        .put(format!("http://{addr}/ext_authz/files/alice/a.txt"))
        .header("host", "files.test")
        .header(headers[0].0, headers[0].1)
        .header(headers[1].0, headers[1].1)
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(header(response.headers(), "x-envoy-auth-headers-to-remove"), "x-warrant-actor");

    // Denied: 403, the decision id, no reasons by default.
    let headers = [("authorization", with_agent.as_str()), ("x-tenant", "globex")];
    let (status, answer, body) = http_check(addr, "GET", "files.test", "/files/alice/a.txt", &headers).await;
    assert_eq!(status, 403);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(header(&answer, "x-warrant-decision-id"), body["decision_id"].as_str().unwrap());
    assert!(body.get("deny_reasons").is_none(), "{body}");

    // The root of the checked site: `/ext_authz/` is `/`, mapped and decided (no rule allows it).
    let headers = [("authorization", with_agent.as_str())];
    let (status, _, body) = http_check(addr, "GET", "files.test", "/", &headers).await;
    assert_eq!(status, 403, "{body}");
    assert!(serde_json::from_str::<Value>(&body).unwrap()["decision_id"].is_string());

    // Refused token: 401 invalid_token; no token: 401 with a bare challenge.
    let unknown_key = format!("Bearer {}", sign("k2", &alice("files:read", Some("run-1"))));
    let headers = [("authorization", unknown_key.as_str()), ("x-tenant", "acme")];
    let (status, answer, _) = http_check(addr, "GET", "files.test", "/files/alice/a.txt", &headers).await;
    assert_eq!(status, 401);
    assert_eq!(header(&answer, "www-authenticate"), "Bearer error=\"invalid_token\"");
    let (status, answer, _) =
        http_check(addr, "GET", "files.test", "/files/alice/a.txt", &[("x-tenant", "acme")]).await;
    assert_eq!(status, 401);
    assert_eq!(header(&answer, "www-authenticate"), "Bearer");

    // Revoked instance: 403.
    let revoked = bearer(&alice("files:read", Some("run-revoked")));
    let headers = [("authorization", revoked.as_str()), ("x-tenant", "acme")];
    let (status, _, _) = http_check(addr, "GET", "files.test", "/files/alice/a.txt", &headers).await;
    assert_eq!(status, 403);

    // Unmappable path: 403.
    let headers = [("authorization", with_agent.as_str()), ("x-tenant", "acme")];
    let (status, _, body) = http_check(addr, "GET", "files.test", "/files/alice%2F..%2Fbob/x", &headers).await;
    assert_eq!(status, 403);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], "unmappable_request");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_mode_exposes_reasons_when_configured() {
    let (server, _) = files_server("expose_deny_reasons = true\nhttp_path_prefix = \"/authz\"").await;
    let token = bearer(&alice("files:read", Some("run-1")));
    let response = client()
        .get(format!("http://{}/authz/files/alice/a.txt", server.http_addr()))
        .header("host", "files.test")
        .header("authorization", token)
        .header("x-tenant", "globex")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["deny_reasons"], json!(["the request names another tenant than the token's"]));
    server.shutdown().await.unwrap();
}

// ---- DPoP (RFC 9449) ----

/// `alice`'s token, bound to the agent's DPoP key (`k2`).
fn bound_token() -> String {
    let mut claims = alice("files:read", Some("run-1"));
    claims["cnf"] = json!({ "jkt": dpop_thumbprint() });
    sign("k1", &claims)
}

fn https_check(method: &str, path: &str, headers: &[(&str, &str)]) -> CheckRequest {
    let mut request = check_request(method, "files.test", path, headers);
    let http = request.attributes.as_mut().unwrap().request.as_mut().unwrap().http.as_mut().unwrap();
    http.scheme = "https".to_string();
    request
}

async fn grpc_send(addr: SocketAddr, request: CheckRequest) -> CheckResponse {
    let mut client = AuthorizationClient::connect(format!("http://{addr}")).await.expect("connects");
    client.check(request).await.expect("a CheckResponse").into_inner()
}

#[tokio::test]
async fn grpc_a_dpop_bound_token_needs_a_fresh_proof_of_this_request() {
    let (server, grpc) = files_server("").await;
    let token = bound_token();
    let authorization = format!("DPoP {token}");
    let uri = "https://files.test/files/alice/report.txt";
    let proof = dpop_proof(&token, "GET", uri);
    let headers = [("authorization", authorization.as_str()), ("dpop", proof.as_str()), ("x-tenant", "acme")];
    let path = "/files/alice/report.txt?v=2";
    let response = grpc_send(grpc, https_check("GET", path, &headers)).await;
    assert_eq!(code(&response), tonic::Code::Ok, "{response:?}");

    // The same proof again: a replay.
    let response = grpc_send(grpc, https_check("GET", path, &headers)).await;
    let (status, answer_headers, body) = denied(&response);
    assert_eq!(status, 401, "{body}");
    assert!(answer_headers["www-authenticate"].starts_with("DPoP error=\"invalid_dpop_proof\""), "{answer_headers:?}");
    assert!(answer_headers["www-authenticate"].contains("algs=\"ES256"), "{answer_headers:?}");

    // A fresh proof, but for another file: refused.
    let other = dpop_proof(&token, "GET", "https://files.test/files/alice/other.txt");
    let headers = [("authorization", authorization.as_str()), ("dpop", other.as_str()), ("x-tenant", "acme")];
    let response = grpc_send(grpc, https_check("GET", path, &headers)).await;
    assert_eq!(denied(&response).0, 401);

    // The bound token as a bearer token, even with a good proof alongside: unproven (RFC 9449 §7.2).
    let proof = dpop_proof(&token, "GET", uri);
    let bearer = format!("Bearer {token}");
    let headers = [("authorization", bearer.as_str()), ("dpop", proof.as_str()), ("x-tenant", "acme")];
    let response = grpc_send(grpc, https_check("GET", path, &headers)).await;
    let (status, answer_headers, _) = denied(&response);
    assert_eq!(status, 401);
    assert!(answer_headers["www-authenticate"].starts_with("DPoP error=\"invalid_token\""), "{answer_headers:?}");

    // The proof names https; a check that says the client came over http does not match.
    let headers = [("authorization", authorization.as_str()), ("dpop", proof.as_str()), ("x-tenant", "acme")];
    let response = grpc_send(grpc, check_request("GET", "files.test", path, &headers)).await;
    assert_eq!(denied(&response).0, 401);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_mode_checks_dpop_against_the_forwarded_scheme() {
    let (server, _) = files_server("").await;
    let token = bound_token();
    let authorization = format!("DPoP {token}");
    let proof = dpop_proof(&token, "GET", "https://files.test/files/alice/report.txt");
    let headers = [
        ("authorization", authorization.as_str()),
        ("dpop", proof.as_str()),
        ("x-tenant", "acme"),
        ("x-forwarded-proto", "https"),
    ];
    let (status, _, body) =
        http_check(server.http_addr(), "GET", "files.test", "/files/alice/report.txt", &headers).await;
    assert_eq!(status, 200, "{body}");
    let (status, answer_headers, _) =
        http_check(server.http_addr(), "GET", "files.test", "/files/alice/report.txt", &headers).await;
    assert_eq!(status, 401, "the replayed proof is refused");
    assert!(header(&answer_headers, "www-authenticate").starts_with("DPoP error=\"invalid_dpop_proof\""));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bound_to_the_resource_a_token_for_another_api_is_401_through_both_modes() {
    let extra = r#"
        resource = "https://{host}{path}"
        [verify]
        bind_audience_to_resource = true
        [[verify.resource_audience]]
        prefix = "https://files.test/"
        audience = "https://api.test"
    "#;
    // The routes' resources are `files:...`; here every resource is the URL instead.
    let mut config = files_config(extra);
    config.ext_authz.routes.iter_mut().for_each(|route| route.resource = None);
    let server = start(config).await;
    let grpc = server.grpc_addr().unwrap();
    let token = bearer(&alice("files:read", Some("run-1")));
    let headers = [("authorization", token.as_str()), ("x-tenant", "acme")];
    // AUDIENCE is the audience of https://files.test/: accepted (the policy then decides).
    let response = grpc_check(grpc, "GET", "files.test", "/files/alice/report.txt", &headers).await;
    assert_ne!(code(&response), tonic::Code::Unauthenticated, "{response:?}");
    // Another host's resources need another audience.
    let response = grpc_check(grpc, "GET", "billing.test", "/files/alice/report.txt", &headers).await;
    let (status, _, body) = denied(&response);
    assert_eq!(status, 401, "{body}");
    let (status, _, _) =
        http_check(server.http_addr(), "GET", "billing.test", "/files/alice/report.txt", &headers).await;
    assert_eq!(status, 401);
    server.shutdown().await.unwrap();
}

// ---- certificate-bound tokens (RFC 8705) ----

#[tokio::test]
async fn grpc_a_certificate_bound_token_needs_the_certificate_envoy_saw() {
    use base64::Engine;
    use rustls::pki_types::pem::PemObject;
    use sha2::Digest;
    let (server, grpc) = files_server("").await;
    // Any certificate does: the committed test certificate stands for the agent's.
    let pem = std::fs::read_to_string(keys_dir().join("tls-cert.pem")).unwrap();
    let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der.as_ref()));
    let mut claims = alice("files:read", Some("run-1"));
    claims["cnf"] = json!({ "x5t#S256": thumbprint });
    let token = bearer(&claims);
    let headers = [("authorization", token.as_str()), ("x-tenant", "acme")];
    let path = "/files/alice/report.txt";
    let with_certificate = |pem: &str| {
        let mut request = check_request("GET", "files.test", path, &headers);
        let encoded: String = percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC).collect();
        request.attributes.as_mut().unwrap().source =
            Some(attribute_context::Peer { certificate: encoded, ..Default::default() });
        request
    };
    let response = grpc_send(grpc, with_certificate(&pem)).await;
    assert_eq!(code(&response), tonic::Code::Ok, "{response:?}");
    // No client certificate, or another one: 401.
    let response = grpc_send(grpc, check_request("GET", "files.test", path, &headers)).await;
    assert_eq!(denied(&response).0, 401);
    let other = std::fs::read_to_string(repo_root().join("server/tests/keys/tls-cert.pem")).unwrap().replace('A', "B");
    let response = grpc_send(grpc, with_certificate(&other)).await;
    assert_eq!(denied(&response).0, 401, "another certificate");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn grpc_with_server_nonces_the_401_hands_out_the_nonce_to_retry_with() {
    let (server, grpc) = files_server("[verify]\ndpop_nonce_seconds = 300").await;
    let token = bound_token();
    let authorization = format!("DPoP {token}");
    let uri = "https://files.test/files/alice/report.txt";
    let path = "/files/alice/report.txt";
    let proof = dpop_proof(&token, "GET", uri);
    let headers = [("authorization", authorization.as_str()), ("dpop", proof.as_str()), ("x-tenant", "acme")];
    let (status, answer_headers, _) = denied(&grpc_send(grpc, https_check("GET", path, &headers)).await);
    assert_eq!(status, 401);
    assert!(answer_headers["www-authenticate"].starts_with("DPoP error=\"use_dpop_nonce\""), "{answer_headers:?}");
    let nonce = answer_headers["dpop-nonce"].clone();
    let proof = dpop_proof_with_nonce(&token, "GET", uri, Some(&nonce));
    let headers = [("authorization", authorization.as_str()), ("dpop", proof.as_str()), ("x-tenant", "acme")];
    let response = grpc_send(grpc, https_check("GET", path, &headers)).await;
    assert_eq!(code(&response), tonic::Code::Ok, "{response:?}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_mode_takes_the_certificate_from_envoys_xfcc() {
    use base64::Engine;
    use rustls::pki_types::pem::PemObject;
    use sha2::Digest;
    let (server, _) = files_server("").await;
    let pem = std::fs::read_to_string(keys_dir().join("tls-cert.pem")).unwrap();
    let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    let mut claims = alice("files:read", Some("run-1"));
    claims["cnf"] = json!({ "x5t#S256": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der.as_ref())) });
    let token = bearer(&claims);
    let encoded: String = percent_encoding::utf8_percent_encode(&pem, percent_encoding::NON_ALPHANUMERIC).collect();
    let xfcc = format!("By=spiffe://envoy.test;Hash=00;Cert=\"{encoded}\";Subject=\"CN=agent\"");
    let path = "/files/alice/report.txt";
    let with = [("authorization", token.as_str()), ("x-tenant", "acme"), ("x-forwarded-client-cert", xfcc.as_str())];
    let (status, _, body) = http_check(server.http_addr(), "GET", "files.test", path, &with).await;
    assert_eq!(status, 200, "{body}");
    let without = [("authorization", token.as_str()), ("x-tenant", "acme")];
    assert_eq!(http_check(server.http_addr(), "GET", "files.test", path, &without).await.0, 401);
    // A second element (a client's own, appended to) makes the header ambiguous: no certificate.
    let two = format!("{xfcc},Cert=\"{encoded}\"");
    let ambiguous =
        [("authorization", token.as_str()), ("x-tenant", "acme"), ("x-forwarded-client-cert", two.as_str())];
    assert_eq!(http_check(server.http_addr(), "GET", "files.test", path, &ambiguous).await.0, 401);
    server.shutdown().await.unwrap();
}

// ---- RFC 9728 protected resource metadata ----

const PROTECTED: &str = r#"
    [protected_resource]
    resource = "https://files.test/api"
    authorization_servers = ["https://idp.test"]
    scopes_supported = ["files:read", "files:write"]
"#;

#[tokio::test]
async fn the_protected_resource_metadata_is_published_and_every_401_points_to_it() {
    let (server, grpc) = files_server(PROTECTED).await;
    let (status, body) = get(server.http_addr(), "/.well-known/oauth-protected-resource/api").await;
    assert_eq!(status, 200, "{body}");
    let metadata: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(metadata["resource"], "https://files.test/api");
    assert_eq!(metadata["authorization_servers"], json!(["https://idp.test"]));
    assert_eq!(metadata["scopes_supported"], json!(["files:read", "files:write"]));
    assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));
    assert!(metadata["dpop_signing_alg_values_supported"].as_array().unwrap().contains(&json!("ES256")));
    assert_eq!(
        get(server.http_addr(), "/.well-known/oauth-protected-resource").await.0,
        404,
        "only the resource's path"
    );

    let expected = "resource_metadata=\"https://files.test/.well-known/oauth-protected-resource/api\"";
    // No token at all: a bare challenge, with the metadata.
    let response = grpc_check(grpc, "GET", "files.test", "/files/alice/a.txt", &[("x-tenant", "acme")]).await;
    let (status, headers, _) = denied(&response);
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], format!("Bearer {expected}"));
    // A refused token: the error, then the metadata.
    let headers = [("authorization", "Bearer not.a.token"), ("x-tenant", "acme")];
    let (status, answer_headers, _) =
        http_check(server.http_addr(), "GET", "files.test", "/files/alice/a.txt", &headers).await;
    assert_eq!(status, 401);
    assert_eq!(header(&answer_headers, "www-authenticate"), format!("Bearer error=\"invalid_token\", {expected}"));
    server.shutdown().await.unwrap();
}

#[test]
fn a_protected_resource_must_be_an_https_url_without_fragment_with_an_authorization_server() {
    for (resource, servers, complaint) in [
        ("https://files.test/api#x", r#"["https://idp.test"]"#, "protected_resource.resource"),
        ("http://files.test/api", r#"["https://idp.test"]"#, "protected_resource.resource"),
        ("files", r#"["https://idp.test"]"#, "protected_resource.resource"),
        ("https://files.test/api", "[]", "protected_resource.authorization_servers"),
        ("https://files.test/api", r#"["ftp://idp.test"]"#, "protected_resource.authorization_servers"),
    ] {
        let extra = format!("[protected_resource]\nresource = \"{resource}\"\nauthorization_servers = {servers}\n");
        let error = files_config(&extra).validate().expect_err(resource);
        assert!(error.to_string().contains(complaint), "{resource} {servers}: {error}");
    }
    files_config(PROTECTED).validate().expect("a valid section");
}
