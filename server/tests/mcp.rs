//! The MCP gateway between a real MCP client and a real MCP server, both of the official Rust
//! SDK (`rmcp`), on loopback: what an agent is shown, what it may call, tokens, revocation,
//! streaming, and hostile bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

#[path = "mcp_support/mod.rs"]
mod mcp_support;
mod support;

use std::net::SocketAddr;
use std::path::Path;

use mcp_support::{call_tool, connect_client, list_tool_names, start_upstream, text_of, Upstream};
use serde_json::{json, Value};
use support::{keys_dir, now, repo_root, sign, ISSUER};
use warrant_server::{RunningServer, ServerConfig};

/// The MCP server's URI: the audience its tokens carry.
const RESOURCE: &str = "https://tools.acme.com/mcp";
const METADATA: &str = "https://tools.acme.com/.well-known/oauth-protected-resource/mcp";
const ASSISTANT: &str = "spiffe://agents.acme.com/support-assistant";

/// A customer's assistant (run `run-1`), started by the planner, for customer `c-42`.
fn claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER, "aud": RESOURCE, "sub": "customer:c-42", "customer_id": "c-42",
        "scope": "crm:read crm:refund", "iat": now, "exp": now + 600,
        "act": { "sub": ASSISTANT, "instance_id": "run-1", "act": { "sub": "spiffe://agents.acme.com/planner" } },
    })
}

fn token() -> String {
    sign("k1", &claims())
}

/// The gateway in front of `upstream`, with the worked example's policy and `data`, deny
/// reasons exposed, decisions logged to `audit`.
fn gateway_config(upstream: &str, data: &Path, audit: &Path, extra: &str) -> ServerConfig {
    let text = format!(
        r#"
        [policy]
        path = "{policy}"
        data = "{data}"
        watch = false
        [listen]
        http = "127.0.0.1:0"
        [[issuer]]
        issuer = "{ISSUER}"
        audiences = ["{RESOURCE}", "https://other.test"]
        algorithms = ["ES256"]
        jwks_file = "{jwks}"
        [protected_resource]
        resource = "{RESOURCE}"
        authorization_servers = ["{ISSUER}"]
        [audit]
        path = "{audit}"
        required = true
        [mcp]
        upstream = "{upstream}"
        expose_deny_reasons = true
        {extra}
        "#,
        policy = repo_root().join("policies/mcp/policy.warrant").display(),
        data = data.display(),
        jwks = keys_dir().join("k1.jwks.json").display(),
        audit = audit.display(),
    );
    ServerConfig::from_toml_str(&text).unwrap()
}

struct Setup {
    upstream: Upstream,
    server: RunningServer,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn start() -> Setup {
        Setup::start_with("").await
    }

    async fn start_with(extra: &str) -> Setup {
        let upstream = start_upstream().await;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        std::fs::copy(repo_root().join("policies/mcp/data.json"), &data).unwrap();
        let config = gateway_config(&upstream.url, &data, &dir.path().join("audit.jsonl"), extra);
        let server = support::start(config).await;
        Setup { upstream, server, dir }
    }

    fn url(&self) -> String {
        format!("http://{}/mcp", self.server.http_addr())
    }

    fn addr(&self) -> SocketAddr {
        self.server.http_addr()
    }

    /// The decision log, after the server stopped (so it is flushed).
    async fn audit_after_shutdown(self) -> Vec<Value> {
        let path = self.dir.path().join("audit.jsonl");
        self.server.shutdown().await.unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }
}

/// A raw POST to the gateway: status, headers and body text.
async fn post(addr: SocketAddr, bearer: Option<&str>, body: impl Into<reqwest::Body>) -> reqwest::Response {
    let mut request = support::client()
        .post(format!("http://{addr}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "raw", "version": "1" } },
    })
}

/// The JSON-RPC messages of an answer, JSON or an event stream.
fn messages(content_type: &str, body: &str) -> Vec<Value> {
    if content_type.starts_with("text/event-stream") {
        body.split("\n\n")
            .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("data:")))
            .filter_map(|data| serde_json::from_str(data.trim()).ok())
            .collect()
    } else {
        match serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}")) {
            Value::Array(items) => items,
            one => vec![one],
        }
    }
}

async fn answer(response: reqwest::Response) -> (u16, Vec<Value>) {
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = response.text().await.unwrap();
    (status, messages(&content_type, &body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_is_shown_and_may_call_only_what_the_policy_allows() {
    let setup = Setup::start().await;
    let client = connect_client(&setup.url(), Some(&token())).await.unwrap();

    let mut tools = list_tool_names(&client).await;
    tools.sort();
    assert_eq!(tools, ["export_report", "lookup_customer", "refund_order"], "delete_customer is never shown");

    let own = call_tool(&client, "lookup_customer", json!({ "customer_id": "c-42" })).await.unwrap();
    assert_eq!(text_of(&own), "customer c-42: Alice Example");
    let refund = call_tool(&client, "refund_order", json!({ "customer_id": "c-42", "order_id": "o-1", "amount": 40 }));
    assert!(text_of(&refund.await.unwrap()).starts_with("refunded 40"));

    // The prompt-injection case: the agent is told to look at another customer.
    let other = call_tool(&client, "lookup_customer", json!({ "customer_id": "c-77" })).await.unwrap_err();
    assert!(other.starts_with("-32001: refused by policy"), "{other}");
    assert!(other.contains("may not touch customer c-77"), "{other}");
    let over = call_tool(&client, "refund_order", json!({ "customer_id": "c-42", "order_id": "o-1", "amount": 400 }));
    assert!(over.await.unwrap_err().contains("over what an agent may refund"));
    let delete = call_tool(&client, "delete_customer", json!({ "customer_id": "c-42" })).await.unwrap_err();
    assert!(delete.contains("never called by an agent"), "{delete}");
    client.cancel().await.unwrap();

    // The upstream never saw the client's token, and learned who acts from the gateway.
    let authorizations = setup.upstream.seen_authorization.lock().unwrap().clone();
    assert!(!authorizations.is_empty());
    assert!(authorizations.iter().all(Option::is_none), "{authorizations:?}");
    let headers = setup.upstream.seen_headers.lock().unwrap().clone();
    assert!(headers.iter().all(|h| h["x-warrant-sub"] == "customer:c-42" && h["x-warrant-actor"] == ASSISTANT));
    // Refused calls never reached it.
    let bodies = setup.upstream.seen_bodies.lock().unwrap().join("\n");
    assert!(bodies.contains("\"c-42\"") && !bodies.contains("c-77"), "{bodies}");
    assert!(!bodies.contains("delete_customer") && !bodies.contains("400"), "{bodies}");

    // Every refusal is in the decision log with the whole chain.
    let records = setup.audit_after_shutdown().await;
    let refused = records.iter().find(|r| r.to_string().contains("may not touch customer c-77")).unwrap();
    let record = refused.to_string();
    assert!(record.contains(ASSISTANT) && record.contains("spiffe://agents.acme.com/planner"), "{record}");
    assert!(record.contains("mcp://tools.acme.com/tools/lookup_customer"), "{record}");
    let listed = records.iter().filter(|r| r.to_string().contains("\"tools/list\"")).count();
    assert!(listed >= 5, "the list and each of its four tools are decisions: {listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_must_be_valid_and_issued_for_this_server() {
    let setup = Setup::start().await;
    let addr = setup.addr();
    let challenge = |response: &reqwest::Response| {
        response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    };

    let none = post(addr, None, initialize().to_string()).await;
    assert_eq!(none.status(), 401);
    assert_eq!(challenge(&none), format!("Bearer resource_metadata=\"{METADATA}\""));

    let expired = sign("k1", &with(&[("exp", json!(now() - 60)), ("iat", json!(now() - 660))]));
    let refused = post(addr, Some(&expired), initialize().to_string()).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(challenge(&refused), format!("Bearer error=\"invalid_token\", resource_metadata=\"{METADATA}\""));

    // Accepted by the issuer's settings, but issued for another resource (RFC 8707).
    let elsewhere = sign("k1", &with(&[("aud", json!("https://other.test"))]));
    assert_eq!(post(addr, Some(&elsewhere), initialize().to_string()).await.status(), 401);
    let forged = format!("{}x", token());
    assert_eq!(post(addr, Some(&forged), initialize().to_string()).await.status(), 401);
    assert!(connect_client(&setup.url(), Some(&expired)).await.is_err());
    assert!(setup.upstream.seen_methods.lock().unwrap().is_empty(), "nothing reached the MCP server");

    // Where a refused client learns how to get a token for this server.
    let (status, text) = support::get(addr, "/.well-known/oauth-protected-resource/mcp").await;
    assert_eq!(status, 200);
    let metadata: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(metadata["resource"], RESOURCE);
    assert_eq!(metadata["authorization_servers"], json!([ISSUER]));
}

/// `claims()` with some claims replaced.
fn with(changes: &[(&str, Value)]) -> Value {
    let mut claims = claims();
    for (name, value) in changes {
        claims[*name] = value.clone();
    }
    claims
}

/// A raw session through the gateway: `initialize`, then the calls with its `Mcp-Session-Id`.
async fn raw_session(addr: SocketAddr, token: &str) -> String {
    let response = post(addr, Some(token), initialize().to_string()).await;
    assert_eq!(response.status(), 200);
    let session = response.headers()["mcp-session-id"].to_str().unwrap().to_string();
    let _ = response.text().await.unwrap();
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let sent = session_post(addr, token, &session, initialized.to_string()).await;
    assert_eq!(sent.status(), 202);
    session
}

async fn session_post(addr: SocketAddr, token: &str, session: &str, body: String) -> reqwest::Response {
    support::client()
        .post(format!("http://{addr}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18")
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": { "name": tool, "arguments": arguments } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_answer_passes_through_event_by_event_and_intact() {
    let setup = Setup::start().await;
    let token = token();
    let session = raw_session(setup.addr(), &token).await;
    let mut request = call(2, "export_report", json!({ "rows": 300 }));
    request["params"]["_meta"] = json!({ "progressToken": "p" });
    let mut response = session_post(setup.addr(), &token, &session, request.to_string()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    // Read as it arrives: chunks, not one buffered body.
    let (mut chunks, mut text) = (0, String::new());
    while let Some(chunk) = response.chunk().await.unwrap() {
        chunks += 1;
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let messages = messages("text/event-stream", &text);
    let progress = messages.iter().filter(|m| m["method"] == "notifications/progress").count();
    assert_eq!(progress, 300, "every progress event relayed");
    let result = messages.iter().find(|m| m["id"] == 2).unwrap();
    let expected: Vec<String> = (1..=300).map(|n| format!("row {n}")).collect();
    assert_eq!(result["result"]["content"][0]["text"], expected.join("\n"));
    assert!(chunks > 1, "the stream came in {chunks} chunk(s)");

    // The same via the SDK client.
    let client = connect_client(&setup.url(), Some(&token)).await.unwrap();
    let report = call_tool(&client, "export_report", json!({ "rows": 50 })).await.unwrap();
    assert_eq!(text_of(&report).lines().count(), 50);
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_agent_run_refuses_its_open_session_at_the_next_message() {
    let setup = Setup::start().await;
    let client = connect_client(&setup.url(), Some(&token())).await.unwrap();
    assert!(call_tool(&client, "lookup_customer", json!({ "customer_id": "c-42" })).await.is_ok());

    let data_path = setup.dir.path().join("data.json");
    let mut data: Value = serde_json::from_str(&std::fs::read_to_string(&data_path).unwrap()).unwrap();
    data["revoked_instances"] = json!(["run-1"]);
    std::fs::write(&data_path, data.to_string()).unwrap();
    setup.server.reload().await.unwrap();

    let refused = call_tool(&client, "lookup_customer", json!({ "customer_id": "c-42" })).await.unwrap_err();
    assert!(refused.starts_with("-32001") && refused.contains("run-1"), "{refused}");
    assert!(client.list_all_tools().await.is_err(), "listing is a message too");
    let bodies = setup.upstream.seen_bodies.lock().unwrap().clone();
    assert_eq!(bodies.iter().filter(|b| b.contains("lookup_customer")).count(), 1, "only the call before");
    // Another run of the same user is not revoked.
    let other_run = sign("k1", &with(&[("act", json!({ "sub": ASSISTANT, "instance_id": "run-2" }))]));
    let other = connect_client(&setup.url(), Some(&other_run)).await.unwrap();
    assert!(call_tool(&other, "lookup_customer", json!({ "customer_id": "c-42" })).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_decided_element_by_element() {
    let setup = Setup::start().await;
    let token = token();
    let session = raw_session(setup.addr(), &token).await;
    let batch = json!([
        call(2, "lookup_customer", json!({ "customer_id": "c-77" })),
        { "jsonrpc": "2.0", "method": "notifications/unknown" },
        call(3, "delete_customer", json!({ "customer_id": "c-42" })),
        call(4, "../admin", json!({})),
        { "jsonrpc": "2.0", "id": 5, "method": 7 },
    ]);
    let before = setup.upstream.seen_bodies.lock().unwrap().len();
    let (status, answers) = answer(session_post(setup.addr(), &token, &session, batch.to_string()).await).await;
    assert_eq!(status, 200);
    let codes: Vec<(Value, Value)> = answers.iter().map(|a| (a["id"].clone(), a["error"]["code"].clone())).collect();
    assert_eq!(
        codes,
        [(json!(2), json!(-32001)), (json!(3), json!(-32001)), (json!(4), json!(-32602)), (json!(5), json!(-32600))]
    );
    assert_eq!(setup.upstream.seen_bodies.lock().unwrap().len(), before, "nothing was allowed, nothing forwarded");

    // The allowed ping goes on as a batch of one; this server (MCP 2025-06-18, no batches)
    // refuses it, and the refusal of the other element is not lost.
    let ping = json!({ "jsonrpc": "2.0", "id": 10, "method": "ping" });
    let mixed = json!([ping, call(11, "lookup_customer", json!({ "customer_id": "c-77" }))]);
    let (status, answers) = answer(session_post(setup.addr(), &token, &session, mixed.to_string()).await).await;
    assert_eq!(status, 502);
    assert_eq!((answers[0]["id"].clone(), answers[0]["error"]["code"].clone()), (json!(11), json!(-32001)));
    assert_eq!(answers[1]["error"]["code"], -32002);
    let forwarded = setup.upstream.seen_bodies.lock().unwrap()[before..].to_vec();
    assert_eq!(forwarded, [json!([ping]).to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_get_json_rpc_errors_and_never_reach_the_server() {
    let setup = Setup::start().await;
    let (addr, token) = (setup.addr(), token());
    let error_of = |answers: &[Value]| answers[0]["error"]["code"].clone();

    let (status, answers) = answer(post(addr, Some(&token), "{\"jsonrpc\": \"2.0\", ").await).await;
    assert_eq!((status, error_of(&answers)), (400, json!(-32700)));
    let (status, answers) = answer(post(addr, Some(&token), "[".repeat(100_000)).await).await;
    assert_eq!((status, error_of(&answers)), (400, json!(-32700)), "nesting is bounded");
    let (status, answers) = answer(post(addr, Some(&token), "\"tools/call\"").await).await;
    assert_eq!((status, error_of(&answers)), (400, json!(-32600)));

    // 10 000 elements pass the body limit (256 KiB): refused before it is read, as on every
    // endpoint; 300 small ones pass it and are over the batch limit.
    let ping = |n: usize| json!({ "jsonrpc": "2.0", "id": n, "method": "ping" });
    let batch: Vec<Value> = (0..10_000).map(ping).collect();
    let (status, answers) = answer(post(addr, Some(&token), Value::Array(batch).to_string()).await).await;
    assert_eq!((status, error_of(&answers)), (413, json!("body_too_large")));
    let batch: Vec<Value> = (0..300).map(ping).collect();
    let (status, answers) = answer(post(addr, Some(&token), Value::Array(batch).to_string()).await).await;
    assert_eq!((status, error_of(&answers)), (400, json!(-32600)));
    assert!(answers[0]["error"]["message"].as_str().unwrap().contains("limit of 256"), "{answers:?}");
    let huge = json!({ "jsonrpc": "2.0", "id": 1, "method": "ping", "params": { "pad": "x".repeat(300 * 1024) } });
    let (status, answers) = answer(post(addr, Some(&token), huge.to_string()).await).await;
    assert_eq!((status, error_of(&answers)), (413, json!("body_too_large")));

    // Methods, ids and arguments of every JSON type, in a session.
    let session = raw_session(addr, &token).await;
    let before = setup.upstream.seen_bodies.lock().unwrap().len();
    for value in [json!(null), json!(true), json!(1), json!(1.5), json!("s"), json!([1]), json!({ "a": 1 })] {
        let method = json!({ "jsonrpc": "2.0", "id": 1, "method": value });
        let id = json!({ "jsonrpc": "2.0", "id": value, "method": "ping" });
        let arguments = call(1, "lookup_customer", value.clone());
        let customer = call(1, "lookup_customer", json!({ "customer_id": value }));
        for body in [method, id, arguments, customer] {
            let (status, answers) = answer(session_post(addr, &token, &session, body.to_string()).await).await;
            assert!(status < 500 && answers.len() == 1, "{body}: {status} {answers:?}");
            let answered = answers[0].get("result").is_some();
            let valid_ping = body["method"] == "ping" && (body["id"].is_string() || body["id"].is_i64());
            assert_eq!(answered, valid_ping, "{body}: {answers:?}");
        }
    }
    let bodies = setup.upstream.seen_bodies.lock().unwrap()[before..].to_vec();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies.iter().all(|body| body.contains("\"ping\"")), "only the two pings reached the server: {bodies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_502_json_rpc_error() {
    let setup = Setup::start().await;
    let addr = setup.addr();
    drop(setup.upstream);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (status, answers) = answer(post(addr, Some(&token()), initialize().to_string()).await).await;
    assert_eq!((status, answers[0]["error"]["code"].clone()), (502, json!(-32002)));
}

#[test]
fn an_mcp_section_that_cannot_work_is_refused_at_start_naming_the_key() {
    let base = |protected: &str, mcp: &str| {
        let text = format!(
            "[policy]\npath = \"p.warrant\"\n[[issuer]]\nissuer = \"{ISSUER}\"\naudiences = [\"{RESOURCE}\"]\n\
             algorithms = [\"ES256\"]\njwks_file = \"k.json\"\n{protected}\n[mcp]\n{mcp}\n"
        );
        ServerConfig::from_toml_str(&text).unwrap().validate()
    };
    let protected = format!("[protected_resource]\nresource = \"{RESOURCE}\"\nauthorization_servers = [\"{ISSUER}\"]");
    assert!(base(&protected, "upstream = \"http://127.0.0.1:9/mcp\"").is_ok());
    for (protected, mcp, key) in [
        ("", "upstream = \"http://127.0.0.1:9/mcp\"", "mcp.upstream"),
        (protected.as_str(), "upstream = \"ftp://127.0.0.1:9/mcp\"", "mcp.upstream"),
        (protected.as_str(), "upstream = \"not a url\"", "mcp.upstream"),
        (protected.as_str(), "upstream = \"http://h/mcp\"\npath = \"/v1/mcp\"", "mcp.path"),
        (protected.as_str(), "upstream = \"http://h/mcp\"\npath = \"/ext_authz\"", "mcp.path"),
        (protected.as_str(), "upstream = \"http://h/mcp\"\npath = \"mcp\"", "mcp.path"),
        (protected.as_str(), "upstream = \"http://h/mcp\"\nresource_prefix = \"mcp://x/\"", "mcp.resource_prefix"),
        (protected.as_str(), "upstream = \"http://h/mcp\"\nupstream_timeout_ms = 0", "mcp.upstream_timeout_ms"),
    ] {
        match base(protected, mcp) {
            Err(warrant_server::ConfigError::Invalid { key: got, .. }) => assert_eq!(got, key, "{mcp}"),
            other => panic!("{mcp}: {other:?}"),
        }
    }
}
