//! Tokens made by an independent JOSE implementation (PyJWT + cryptography, see
//! `vectors/gen_vectors.py`) must verify or be refused with exactly the expected error class.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod token_support;

use serde_json::Value;
use token_support::{case, case_options, load_vectors, str_field, verifier, verifier_with};
use warrant_engine::token::TokenVerifier;

fn optional_strings(value: &Value) -> Option<Vec<String>> {
    value.as_array().map(|items| items.iter().map(|v| v.as_str().expect("string").to_string()).collect())
}

#[test]
fn every_vector_verifies_or_fails_with_its_expected_error() {
    let vectors = load_vectors();
    let default_verifier = verifier(&vectors);
    let cases = vectors["cases"].as_array().expect("cases");
    assert!(cases.len() > 80, "the vector file lost its cases");
    let mut failures = Vec::new();
    for case in cases {
        let name = str_field(case, "name");
        let now = case["now"].as_i64().expect("now");
        let expected = str_field(case, "expect");
        let own_verifier = case["options"].is_object().then(|| verifier_with(&vectors, case_options(case)));
        let verifier = own_verifier.as_ref().unwrap_or(&default_verifier);
        let outcome = verifier.request(str_field(case, "token"), Some("doc:1".into()), Some("read".into()), now);
        match (expected, outcome) {
            ("ok", Ok(request)) => {
                let chain: Vec<String> =
                    request.chain.iter().map(|a| a.sub.clone().expect("every vector actor has a sub")).collect();
                let expected_chain = optional_strings(&case["chain"]).expect("chain");
                if request.sub.as_deref() != case["sub"].as_str()
                    || request.scope != optional_strings(&case["scope"])
                    || chain != expected_chain
                    || request.now != Some(now)
                    || request.action.as_deref() != Some("read")
                {
                    failures.push(format!("{name}: mapped to {request:?}"));
                }
            }
            ("ok", Err(error)) => failures.push(format!("{name}: expected ok, got {error:?}")),
            (code, Ok(_)) => failures.push(format!("{name}: expected {code}, but it verified")),
            (code, Err(error)) if error.code() != code => {
                failures.push(format!("{name}: expected {code}, got {} ({error})", error.code()))
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "vector mismatches:\n{}", failures.join("\n"));
}

/// Each `act` level carries `client_id` and the instance claim; they land on the right actor.
#[test]
fn nested_act_levels_keep_client_and_instance_per_actor() {
    let vectors = load_vectors();
    let verifier = verifier(&vectors);
    let depth3 = case(&vectors, "act_depth_3");
    let request = verifier.request(str_field(depth3, "token"), None, None, depth3["now"].as_i64().expect("now"));
    let request = request.expect("depth 3 verifies");
    let described: Vec<(String, String, String)> = request
        .chain
        .iter()
        .map(|a| (a.sub.clone().unwrap(), a.client_id.clone().unwrap(), a.instance.clone().unwrap()))
        .collect();
    let expected: Vec<(String, String, String)> =
        (0..3).map(|i| (format!("agent-{i}"), format!("client-agent-{i}"), format!("inst-{i}"))).collect();
    assert_eq!(described, expected);
    assert_eq!(request.current_actor().and_then(|a| a.sub.as_deref()), Some("agent-2"));
}

/// RFC 8693 §4.1: the example's outermost `act` is the current actor. The example has no `iat`,
/// so it verifies only with `require_iat` off (its vector says so).
#[test]
fn rfc8693_example_decodes_into_documented_chain_order() {
    let vectors = load_vectors();
    let rfc = case(&vectors, "rfc8693_4_1_nested_act");
    let default = verifier(&vectors).request(str_field(rfc, "token"), None, None, 1443904100);
    assert_eq!(default.map(|_| ()), Err(warrant_engine::token::TokenError::MissingClaim("iat".into())));
    let verifier = verifier_with(&vectors, case_options(rfc));
    let request = verifier.request(str_field(rfc, "token"), None, None, 1443904100).expect("RFC example verifies");
    let subs: Vec<&str> = request.chain.iter().filter_map(|a| a.sub.as_deref()).collect();
    assert_eq!(subs, ["admin@example.com", "consumer.example.com-web-application"]);
    assert_eq!(request.sub.as_deref(), Some("user@example.com"));
    // Its rendering as `user → agent → …` is checked by `warrant token inspect` (cli/tests/cli_token.rs).
}

/// A cached token is still re-checked against the caller's clock.
#[test]
fn cache_serves_repeat_calls_but_never_past_expiry() {
    let vectors = load_vectors();
    let verifier = verifier(&vectors);
    let rs256 = case(&vectors, "rs256");
    let token = str_field(rs256, "token");
    let now = rs256["now"].as_i64().expect("now");
    let first = verifier.verify(token, now).expect("verifies");
    assert_eq!(verifier.cached_token_count(), 1);
    let second = verifier.verify(token, now + 1).expect("verifies from cache");
    assert!(std::sync::Arc::ptr_eq(&first, &second), "second call should be a cache hit");
    let exp = first.claims["exp"].as_i64().expect("exp");
    let late = verifier.verify(token, exp + 3600);
    assert_eq!(late.map(|_| ()).map_err(|e| e.code()), Err("expired"));
    let early = verifier.verify(token, first.claims["iat"].as_i64().expect("iat") - 3600);
    assert_eq!(early.map(|_| ()).map_err(|e| e.code()), Err("issued_in_future"));
}

/// A refused token is never cached, so a later call still refuses it.
#[test]
fn refused_tokens_are_not_cached() {
    let vectors = load_vectors();
    let verifier = verifier(&vectors);
    let bad = case(&vectors, "tampered_payload");
    for _ in 0..2 {
        let outcome = verifier.verify(str_field(bad, "token"), bad["now"].as_i64().expect("now"));
        assert_eq!(outcome.map(|_| ()).map_err(|e| e.code()), Err("bad_signature"));
    }
    assert_eq!(verifier.cached_token_count(), 0);
}

/// The new refusal classes each have vectors, at the top level and at act depths 1, 2 and 3.
#[test]
fn subject_refusals_are_covered_by_vectors() {
    let vectors = load_vectors();
    let expected = |name: &str| str_field(case(&vectors, name), "expect").to_string();
    for (name, code) in [
        ("missing_sub", "missing_subject"),
        ("sub_not_string", "invalid_subject"),
        ("act_depth_1_without_sub", "actor_without_subject"),
        ("act_depth_2_sub_not_string", "invalid_subject"),
        ("act_depth_3_innermost_without_sub", "actor_without_subject"),
        ("iat_i64_min", "invalid_claim"),
    ] {
        assert_eq!(expected(name), code, "{name}");
    }
}

#[test]
fn verifier_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TokenVerifier>();
}
