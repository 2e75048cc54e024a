//! `warrant eval --token` and `warrant token inspect` on tokens signed by an independent
//! implementation (PyJWT; engine/tests/vectors): verified tokens decide, every refused token
//! is a deny naming why, and inspection draws the chain in the documented order.
// Test code: a failed expectation should panic loudly (the workspace lints forbid it elsewhere).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::path::Path;

use serde_json::{json, Value};

mod support;
use support::warrant;

/// The issuer flags of `eval --token`: JWKS file, `iss`, algorithm.
type Issuer = [&'static str; 3];
/// RS256 keys of the vectors' main issuer.
const RSA: Issuer = ["engine/tests/vectors/keys/rsa.jwks.json", "https://rsa.example", "RS256"];
/// The HMAC key that signs the vectors' "claims" group (an `oct` key in this JWKS).
const MIXED: Issuer = ["engine/tests/vectors/keys/mixed.jwks.json", "https://mixed.example", "HS256"];
const AUDIENCE: &str = "https://api.example";
const NOW: &str = "1800000000";
/// Allows user-1 with `read`, through at most two agents.
const POLICY: &str = "package vectors\nallow read_for_user if {\n    sub == \"user-1\"\n    \"read\" in scope\n    chain.depth <= 2\n}\n";

fn vector(name: &str) -> String {
    let path = support::root().join("engine/tests/vectors/tokens.json");
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = vectors["cases"].as_array().unwrap().iter().find(|c| c["name"] == name);
    case.unwrap_or_else(|| panic!("no vector {name}"))["token"].as_str().unwrap().to_string()
}

/// Writes the policy under a name of its own per test (tests run in parallel).
fn policy_file(test: &str) -> String {
    write_policy(test, POLICY)
}

fn write_policy(test: &str, text: &str) -> String {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vectors-{test}.warrant"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `warrant eval --token` as a gateway for `AUDIENCE`, returning the decision JSON.
fn eval_token(test: &str, token: &str, resource: &str) -> Value {
    eval_token_with(test, token, resource, &["--audience", AUDIENCE])
}

/// `warrant eval --token … EXTRA…` on the test policy; the command must succeed.
fn eval_token_with(test: &str, token: &str, resource: &str, extra: &[&str]) -> Value {
    eval_issued_by(RSA, test, token, resource, extra)
}

/// [`eval_token_with`] trusting `issuer`.
fn eval_issued_by(issuer: Issuer, test: &str, token: &str, resource: &str, extra: &[&str]) -> Value {
    eval_policy(&policy_file(test), issuer, token, resource, extra)
}

/// `warrant eval POLICY --token …` trusting `issuer`; the command must succeed.
fn eval_policy(policy: &str, issuer: Issuer, token: &str, resource: &str, extra: &[&str]) -> Value {
    let [jwks, iss, alg] = issuer;
    let mut args = vec![
        "eval",
        policy,
        "--token",
        token,
        "--jwks",
        jwks,
        "--issuer",
        iss,
        "--alg",
        alg,
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

/// Issue #10: a signed token without a subject, or with an unnamed actor, used to be allowed.
#[test]
fn tokens_without_subjects_are_denies_naming_the_missing_subject() {
    let allowed = eval_issued_by(MIXED, "subject-ok", &vector("missing_jti_by_default"), AUDIENCE, &[]);
    assert_eq!(allowed["fired"][0]["name"], "read_for_user", "the claims group's issuer is usable: {allowed}");
    for (name, words) in [
        ("missing_sub", "token has no subject"),
        ("sub_not_string", "token subject (`sub`) must be a non-empty string"),
        ("act_depth_1_without_sub", "actor at `act` depth 1 has no subject"),
        ("act_depth_3_innermost_without_sub", "actor at `act` depth 3 has no subject"),
    ] {
        let decision = eval_issued_by(MIXED, name, &vector(name), AUDIENCE, &[]);
        assert_eq!(decision["allowed"], false, "{name} must be denied");
        assert!(decision["fired"].as_array().unwrap().is_empty(), "{name}: the policy must not run");
        assert!(reasons(&decision).contains(words), "{name}: {decision}");
    }
}

/// Issue #10: a signed `iat` of i64::MIN made the policy's `exp - iat` wrap to a negative
/// lifetime, so the lifetime deny rule did not fire and the token was allowed.
#[test]
fn times_that_would_wrap_policy_arithmetic_are_refused() {
    let policy = write_policy(
        "lifetime",
        "package vectors\nallow read_for_user if {\n    sub == \"user-1\"\n}\n\
         deny long_lived \"token lives longer than an hour\" if {\n    not exp - iat <= 3600\n}\n",
    );
    let fair = eval_policy(&policy, MIXED, &vector("missing_jti_by_default"), AUDIENCE, &[]);
    assert_eq!(fair["allowed"], true, "{fair}");
    for name in ["iat_i64_min", "exp_i64_max"] {
        let decision = eval_policy(&policy, MIXED, &vector(name), AUDIENCE, &[]);
        assert_eq!(decision["allowed"], false, "{name}: {decision}");
        assert!(reasons(&decision).contains("from 0 to 253402300799"), "{name}: {decision}");
    }
}

/// Every verifier option is a flag: each one turns a verified token into a deny, or back.
#[test]
fn verifier_options_are_switchable_from_the_command_line() {
    let run = |test: &str, name: &str, issuer: Issuer, flags: &[&str]| {
        let mut extra = vec!["--audience", AUDIENCE];
        extra.extend_from_slice(flags);
        eval_issued_by(issuer, test, &vector(name), AUDIENCE, &extra)
    };
    let cases: [(&str, Issuer, &str, &str); 4] = [
        ("rs256", RSA, "--require-typ-at-jwt", "at+jwt"),
        ("missing_jti_by_default", MIXED, "--require-jti", "`jti` is missing"),
        ("missing_client_id_by_default", MIXED, "--require-client-id", "`client_id` is missing"),
        ("claims_rfc9068_profile_all_checks_on", MIXED, "--require-typ-at-jwt", ""),
    ];
    for (name, issuer, flag, refusal) in cases {
        let test = format!("flag{}", flag.replace('-', "_"));
        assert_eq!(run(&test, name, issuer, &[])["allowed"], true, "{name} without {flag}");
        let with_flag = run(&test, name, issuer, &[flag]);
        if refusal.is_empty() {
            assert_eq!(with_flag["allowed"], true, "{name} with {flag}: {with_flag}");
        } else {
            assert_eq!(with_flag["allowed"], false, "{name} with {flag}");
            assert!(reasons(&with_flag).contains(refusal), "{name} with {flag}: {with_flag}");
        }
    }
    // `iat` is required by default; the flag relaxes it.
    let strict = run("iat", "missing_iat_allowed_by_option", MIXED, &[]);
    assert!(reasons(&strict).contains("`iat` is missing"), "{strict}");
    assert_eq!(run("iat", "missing_iat_allowed_by_option", MIXED, &["--allow-missing-iat"])["allowed"], true);
}

/// The same options in a test file's `issuer`, for `warrant test`.
#[test]
fn test_files_can_switch_the_same_checks() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("checks-test-file");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("policy.warrant"), POLICY).unwrap();
    let jwks = support::root().join(MIXED[0]);
    let call =
        json!({"jwt": vector("missing_jti_by_default"), "resource": AUDIENCE, "action": "read", "now": 1800000000});
    let spec = |checks: Value, expect: &str| {
        let issuer = json!({"issuer": MIXED[1], "audiences": [AUDIENCE], "algorithms": [MIXED[2]],
                            "jwks": jwks, "checks": checks});
        json!({"policy": "policy.warrant", "issuer": issuer,
               "cases": [{"name": "token without jti", "token": call, "expect": expect}]})
    };
    for (checks, expect) in [(json!({}), "allow"), (json!({"require_jti": true}), "deny")] {
        std::fs::write(dir.join("checks.test.json"), spec(checks, expect).to_string()).unwrap();
        let output = warrant(&["test", &dir.display().to_string()]);
        assert_eq!(output.status.code(), Some(0), "{expect}: {}", String::from_utf8_lossy(&output.stdout));
    }
    std::fs::write(dir.join("checks.test.json"), spec(json!({"require_jit": true}), "deny").to_string()).unwrap();
    assert_eq!(warrant(&["test", &dir.display().to_string()]).status.code(), Some(1), "a misspelt check is an error");
}

/// Issue #10: a token file over the file cap was an exit-1 error while the same token inline was
/// a deny. Both are now the `too_large` deny, with the same reason.
#[test]
fn an_oversized_token_is_the_same_deny_inline_or_from_a_file() {
    let token = format!("{}.{}.{}", "e".repeat(100), "x".repeat(70 * 1024), "s".repeat(100));
    let token_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oversized.jwt");
    std::fs::write(&token_file, &token).unwrap();
    let inline = eval_token("oversized-inline", &token, AUDIENCE);
    let from_file = eval_token("oversized-file", &format!("@{}", token_file.display()), AUDIENCE);
    for decision in [&inline, &from_file] {
        assert_eq!(decision["allowed"], false);
        assert!(reasons(decision).contains("more than the accepted maximum of 16384"), "{decision}");
    }
    assert_eq!(reasons(&inline), reasons(&from_file));
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
    // Token checks without a token.
    let output = warrant(&["eval", &policy, "--input", "policies/hr/allow.json", "--require-jti"]);
    assert_eq!(output.status.code(), Some(2));
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

/// `--context FILE` passes what the gateway knows about the call with the verified claims; a
/// context file that is not a JSON object is refused.
#[test]
fn eval_token_reads_the_call_context_from_a_file() {
    let policy = write_policy(
        "context",
        "package vectors\nallow own if { sub == context.arguments.customer }\n\
         deny other \"another customer\" if { context.arguments.customer != sub }\n",
    );
    let context = |test: &str, json: &str| {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("context-{test}.json"));
        std::fs::write(&path, json).unwrap();
        path.display().to_string()
    };
    let own = context("own", r#"{"arguments": {"customer": "user-1"}}"#);
    let decide = |file: &str| {
        eval_policy(&policy, RSA, &vector("rs256"), AUDIENCE, &["--audience", AUDIENCE, "--context", file])
    };
    assert_eq!(decide(&own)["allowed"], true);
    let other = decide(&context("other", r#"{"arguments": {"customer": "user-2"}}"#));
    assert_eq!(reasons(&other), "[\"another customer\"]");
    let not_object = context("array", "[1]");
    let output = warrant(&[
        "eval",
        &policy,
        "--token",
        &vector("rs256"),
        "--jwks",
        RSA[0],
        "--issuer",
        RSA[1],
        "--alg",
        RSA[2],
        "--resource",
        AUDIENCE,
        "--context",
        &not_object,
    ]);
    assert_ne!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stderr).contains("`context` must be a JSON object"));
}

/// A `token` case of a test file carries the call's `context` with the verified claims.
#[test]
fn test_file_token_cases_carry_a_context() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("context-test-file");
    std::fs::create_dir_all(&dir).unwrap();
    let policy = "package vectors\nallow read_own if { \"read\" in scope; context.customer == sub }\n";
    std::fs::write(dir.join("policy.warrant"), policy).unwrap();
    let issuer = json!({"issuer": RSA[1], "audiences": [AUDIENCE], "algorithms": [RSA[2]],
                        "jwks": support::root().join(RSA[0])});
    let case = |name: &str, customer: &str, expect: &str| {
        let call = json!({"jwt": vector("rs256"), "resource": AUDIENCE, "action": "read", "now": 1800000000,
                          "context": {"customer": customer}});
        json!({"name": name, "token": call, "expect": expect})
    };
    let spec = json!({"policy": "policy.warrant", "issuer": issuer,
                      "cases": [case("own", "user-1", "allow"), case("other", "user-2", "deny")]});
    std::fs::write(dir.join("context.test.json"), spec.to_string()).unwrap();
    let output = warrant(&["test", &dir.display().to_string()]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn bound_to_the_resource_a_token_for_another_api_is_refused() {
    let bind = ["--audience", AUDIENCE, "--bind-audience-to-resource"];
    let own = eval_token_with("bound-own", &vector("rs256"), "https://api.example/docs/1", &bind);
    assert_eq!(own["allowed"], true, "{own}");
    let other = eval_token_with("bound-other", &vector("rs256"), "https://api.example.evil/docs/1", &bind);
    assert_eq!(other["allowed"], false);
    assert!(reasons(&other).contains("not issued for the resource"), "{}", reasons(&other));
    // Without the flag the verifier leaves the resource to the policy, which allows.
    let unbound = eval_token("unbound-other", &vector("rs256"), "https://api.example.evil/docs/1");
    assert_eq!(unbound["allowed"], true, "{unbound}");
}
