//! `warrant eval --token` and `warrant token inspect` on tokens signed by an independent
//! implementation (PyJWT; engine/tests/vectors): verified tokens decide, every refused token
//! is a deny naming why, and inspection draws the chain in the documented order.
use std::path::Path;

use serde_json::Value;

mod support;
use support::warrant;

const JWKS: &str = "engine/tests/vectors/keys/rsa.jwks.json";
const ISSUER: &str = "https://rsa.example";
const AUDIENCE: &str = "https://api.example";
const NOW: &str = "1800000000";
/// Allows user-1 with `read`, through at most two agents.
const POLICY: &str = "package vectors\nallow read_for_user if {\n    sub == \"user-1\"\n    \"read\" in scope\n    chain.depth <= 2\n}\n";

fn vector(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("engine/tests/vectors/tokens.json");
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = vectors["cases"].as_array().unwrap().iter().find(|c| c["name"] == name);
    case.unwrap_or_else(|| panic!("no vector {name}"))["token"].as_str().unwrap().to_string()
}

/// Writes the policy under a name of its own per test (tests run in parallel).
fn policy_file(test: &str) -> String {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vectors-{test}.warrant"));
    std::fs::write(&path, POLICY).unwrap();
    path.display().to_string()
}

/// `warrant eval --token` as a gateway for `AUDIENCE`, returning the decision JSON.
fn eval_token(test: &str, token: &str, resource: &str) -> Value {
    eval_token_with(test, token, resource, &["--audience", AUDIENCE])
}

/// `warrant eval --token … EXTRA…` on the test policy; the command must succeed.
fn eval_token_with(test: &str, token: &str, resource: &str, extra: &[&str]) -> Value {
    let policy = policy_file(test);
    let mut args = vec![
        "eval",
        &policy,
        "--token",
        token,
        "--jwks",
        JWKS,
        "--issuer",
        ISSUER,
        "--alg",
        "RS256",
        "--resource",
        resource,
        "--action",
        "read",
        "--now",
        NOW,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let output = warrant(&args);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn reasons(decision: &Value) -> String {
    decision["deny_reasons"].to_string()
}

#[test]
fn verified_tokens_decide_through_the_policy() {
    for name in ["rs256", "act_depth_1", "act_depth_2"] {
        let decision = eval_token(name, &vector(name), AUDIENCE);
        assert_eq!(decision["allowed"], true, "{name}: {decision}");
        assert_eq!(decision["fired"][0]["name"], "read_for_user");
    }
    // Verified, but three agents deep: the policy itself refuses.
    let decision = eval_token("depth3", &vector("act_depth_3"), AUDIENCE);
    assert_eq!(decision["allowed"], false);
    assert_eq!(reasons(&decision), "[\"no allow rule matched\"]");
}

#[test]
fn refused_tokens_are_denies_that_say_why() {
    let cases = [
        ("expired", "expired"),
        ("alg_none", "none"),
        ("tampered_payload", "signature"),
        ("wrong_aud", "audience"),
        ("unknown_kid", "kid"),
        ("hs256_with_rsa_pem_as_secret_not_allowlisted", "HS256"),
        ("act_depth_17_over_default_bound", "deeper"),
        ("payload_not_json", "JSON"),
    ];
    for (name, words) in cases {
        let decision = eval_token(name, &vector(name), AUDIENCE);
        assert_eq!(decision["allowed"], false, "{name} must be denied");
        assert!(decision["fired"].as_array().unwrap().is_empty(), "{name}: the policy must not run");
        let reasons = reasons(&decision);
        assert!(reasons.contains("invalid token") && reasons.contains(words), "{name}: {reasons}");
    }
}

#[test]
fn audience_defaults_to_the_resource_so_a_token_for_another_api_is_refused() {
    let run = |resource: &str| eval_token_with("audience", &vector("rs256"), resource, &[]);
    assert_eq!(run(AUDIENCE)["allowed"], true);
    let pinned = run("https://crm.example");
    assert_eq!(pinned["allowed"], false);
    assert!(reasons(&pinned).contains("audience"), "{pinned}");
}

#[test]
fn token_options_are_validated_by_the_command_line() {
    let policy = policy_file("options");
    // A token without its issuer's keys cannot be verified: refuse to run at all.
    let output = warrant(&["eval", &policy, "--token", &vector("rs256")]);
    assert_eq!(output.status.code(), Some(2), "clap usage error expected");
    // Neither a request nor a token.
    let output = warrant(&["eval", &policy]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn inspect_draws_the_rfc8693_chain_user_first_current_actor_last() {
    let output = warrant(&["token", "inspect", &vector("rfc8693_4_1_nested_act")]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("UNVERIFIED"), "{text}");
    assert!(text.contains("user@example.com → admin@example.com → consumer.example.com-web-application"), "{text}");
    let token_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rfc.jwt");
    std::fs::write(&token_file, vector("rfc8693_4_1_nested_act")).unwrap();
    let output = warrant(&["token", "inspect", "--json", &format!("@{}", token_file.display())]);
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["verified"], false);
    assert_eq!(json["chain"][1]["sub"], "consumer.example.com-web-application");
}

#[test]
fn inspect_refuses_what_is_not_a_token() {
    for garbage in ["not-a-token", "a.b", "", "e30.e30.e30.e30"] {
        let output = warrant(&["token", "inspect", garbage]);
        assert_eq!(output.status.code(), Some(1), "{garbage:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("cannot decode the token"));
    }
}
