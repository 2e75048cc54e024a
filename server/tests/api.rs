//! The JSON decision API end to end: a real HTTP client against `warrant serve` on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod support;

use serde_json::{json, Value};
use support::*;

fn agent_tools_request(case: usize) -> (Value, bool) {
    let text = std::fs::read_to_string(repo_root().join("policies/agent-tools/policy.test.json")).unwrap();
    let tests: Value = serde_json::from_str(&text).unwrap();
    let case = &tests["cases"][case];
    (case["request"].clone(), case["expect"] == "allow")
}

#[tokio::test]
async fn decide_answers_as_the_policy_decides_with_a_decision_id() {
    let server = start(config("policies/agent-tools", Some("policies/agent-tools/data.json"))).await;
    for case in 0..4 {
        let (request, expected) = agent_tools_request(case);
        let (status, answer) = post_json(server.http_addr(), "/v1/decide", &request).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["allowed"], expected, "case {case}: {answer}");
        assert!(answer["decision_id"].as_str().is_some_and(|id| !id.is_empty()));
        assert_eq!(answer["policy"]["package"], "acme.agent_tools");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn token_requests_are_verified_and_refused_tokens_are_denies_naming_the_code() {
    let config =
        with_issuer_file(config("policies/agent-tools", Some("policies/agent-tools/data.json")), "k1.jwks.json");
    let server = start(config).await;
    let token = sign("k2", &claims("customer:c-42", "spiffe://agents.acme.com/assistant/acme", "crm:read"));
    let body = json!({ "token": token, "resource": "tool:get_customer", "action": "call" });
    let (status, answer) = post_json(server.http_addr(), "/v1/decide/token", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["allowed"], false);
    assert_eq!(answer["token_error"], "unknown_key_id", "{answer}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_input_is_a_typed_4xx_that_still_says_not_allowed() {
    let server = start(config("policies/agent-tools", Some("policies/agent-tools/data.json"))).await;
    let addr = server.http_addr();
    for (path, body) in [
        ("/v1/decide", json!([1])),
        ("/v1/decide", json!({ "claims": 7 })),
        ("/v1/decide/batch", json!({ "requests": 1 })),
        ("/v1/decide/token", json!({ "token": "x", "surprise": 1 })),
    ] {
        let (status, answer) = post_json(addr, path, &body).await;
        assert!((400..500).contains(&status), "{path} {body}: {status}");
        assert_eq!(answer["allowed"], false);
        assert_eq!(answer["error"]["code"], "invalid_request", "{answer}");
    }
    let (status, answer) = post_json(addr, "/v1/decide/token", &json!({ "token": "x" })).await;
    assert_eq!((status, answer["error"]["code"].clone()), (503, json!("no_issuer")));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_batch_is_answered_in_order_and_capped() {
    let server = start(config("policies/agent-tools", Some("policies/agent-tools/data.json"))).await;
    let requests: Vec<Value> = (0..4).map(|case| agent_tools_request(case).0).collect();
    let expected: Vec<bool> = (0..4).map(|case| agent_tools_request(case).1).collect();
    let (status, answer) = post_json(server.http_addr(), "/v1/decide/batch", &json!({ "requests": requests })).await;
    assert_eq!(status, 200);
    let got: Vec<bool> =
        answer["results"].as_array().unwrap().iter().map(|r| r["allowed"].as_bool().unwrap()).collect();
    assert_eq!(got, expected);
    let too_many = vec![requests[0].clone(); 257];
    let (status, answer) = post_json(server.http_addr(), "/v1/decide/batch", &json!({ "requests": too_many })).await;
    assert_eq!((status, answer["error"]["code"].clone()), (413, json!("batch_too_large")));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dpop_bound_token_is_decided_only_with_its_proof_and_the_answer_says_so() {
    let config =
        with_issuer_file(config("policies/agent-tools", Some("policies/agent-tools/data.json")), "k1.jwks.json");
    let server = start(config).await;
    let mut claims = claims("customer:c-42", "spiffe://agents.acme.com/assistant/acme", "crm:read");
    claims["cnf"] = json!({ "jkt": dpop_thumbprint() });
    let token = sign("k1", &claims);
    let without = json!({ "token": token, "resource": "tool:get_customer", "action": "call" });
    let (status, answer) = post_json(server.http_addr(), "/v1/decide/token", &without).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["allowed"], false);
    assert_eq!(answer["token_error"], "dpop_proof_required", "{answer}");

    let uri = "https://tools.acme.test/mcp";
    let proof = dpop_proof(&token, "POST", uri);
    let mut with = without.clone();
    with["dpop"] = json!({ "proof": proof, "method": "POST", "uri": uri });
    let (status, answer) = post_json(server.http_addr(), "/v1/decide/token", &with).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("token_error").is_none(), "the proof is accepted: {answer}");
    assert_eq!(answer["subject"], "customer:c-42");

    let (_, replayed) = post_json(server.http_addr(), "/v1/decide/token", &with).await;
    assert_eq!(replayed["token_error"], "dpop_replay", "{replayed}");
    let mut malformed = without.clone();
    malformed["dpop"] = json!({ "proof": "x", "method": "POST" });
    let (status, answer) = post_json(server.http_addr(), "/v1/decide/token", &malformed).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["allowed"], false);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bound_to_the_resource_the_json_api_refuses_a_token_for_another_api() {
    let mut config =
        with_issuer_file(config("policies/agent-tools", Some("policies/agent-tools/data.json")), "k1.jwks.json");
    config.verify.bind_audience_to_resource = true;
    let server = start(config).await;
    let token = sign("k1", &claims("customer:c-42", "spiffe://agents.acme.com/assistant/acme", "crm:read"));
    let elsewhere = json!({ "token": token, "resource": "https://billing.example/invoices/1", "action": "call" });
    let (status, answer) = post_json(server.http_addr(), "/v1/decide/token", &elsewhere).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["allowed"], false);
    assert_eq!(answer["token_error"], "wrong_resource_audience", "{answer}");
    let nowhere = json!({ "token": token, "action": "call" });
    let (_, answer) = post_json(server.http_addr(), "/v1/decide/token", &nowhere).await;
    assert_eq!(answer["token_error"], "resource_required", "{answer}");
    let own = json!({ "token": token, "resource": format!("{AUDIENCE}/tools/get_customer"), "action": "call" });
    let (_, answer) = post_json(server.http_addr(), "/v1/decide/token", &own).await;
    assert!(answer.get("token_error").is_none(), "{answer}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn with_server_nonces_a_proof_needs_the_nonce_the_server_handed_out() {
    let mut config =
        with_issuer_file(config("policies/agent-tools", Some("policies/agent-tools/data.json")), "k1.jwks.json");
    config.verify.dpop_nonce_seconds = 300;
    let server = start(config).await;
    let mut claims = claims("customer:c-42", "spiffe://agents.acme.com/assistant/acme", "crm:read");
    claims["cnf"] = json!({ "jkt": dpop_thumbprint() });
    let token = sign("k1", &claims);
    let uri = "https://tools.acme.test/mcp";
    let body = |proof: String| {
        json!({ "token": token, "resource": "tool:get_customer", "action": "call",
                "dpop": { "proof": proof, "method": "POST", "uri": uri } })
    };
    let (_, answer) = post_json(server.http_addr(), "/v1/decide/token", &body(dpop_proof(&token, "POST", uri))).await;
    assert_eq!(answer["token_error"], "use_dpop_nonce", "{answer}");
    let nonce = answer["dpop_nonce"].as_str().expect("the answer hands out the nonce").to_string();
    let made_up = dpop_proof_with_nonce(&token, "POST", uri, Some("made-up"));
    let (_, answer) = post_json(server.http_addr(), "/v1/decide/token", &body(made_up)).await;
    assert_eq!(answer["token_error"], "use_dpop_nonce", "{answer}");
    let proof = dpop_proof_with_nonce(&token, "POST", uri, Some(&nonce));
    let (_, answer) = post_json(server.http_addr(), "/v1/decide/token", &body(proof)).await;
    assert!(answer.get("token_error").is_none(), "the proof with the nonce is accepted: {answer}");
    server.shutdown().await.unwrap();
}
