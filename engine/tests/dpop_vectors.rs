//! DPoP (RFC 9449) proofs and bound tokens made by an independent JOSE implementation (panva's
//! `jose` for Node.js, `vectors/dpop/gen_dpop.mjs`): every case must verify with the expected
//! binding or be refused with exactly the expected error code, through the verifier and the
//! gateway alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::path::Path;

use serde_json::Value;
use warrant_engine::token::{
    Algorithm, AudienceBinding, DpopMode, HttpTarget, IssuerConfig, KeySource, Presentation, TokenBinding, TokenError,
    TokenVerifier, VerifyOptions,
};
use warrant_engine::{Engine, Gateway};

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/dpop/dpop.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("dpop.json is committed")).expect("JSON")
}

fn verifier(vectors: &Value, dpop: DpopMode) -> TokenVerifier {
    verifier_with(vectors, dpop, VerifyOptions::default())
}

fn verifier_with(vectors: &Value, dpop: DpopMode, options: VerifyOptions) -> TokenVerifier {
    let issuer = IssuerConfig {
        issuer: vectors["issuer"].as_str().unwrap().to_string(),
        audiences: vec![vectors["audience"].as_str().unwrap().to_string()],
        algorithms: vec![Algorithm::ES256],
        keys: vec![KeySource::Jwks(vectors["issuer_jwks"].to_string())],
        dpop,
    };
    TokenVerifier::new(vec![issuer], options).expect("the vectors' issuer is valid")
}

fn token<'a>(vectors: &'a Value, case: &Value) -> &'a str {
    vectors["tokens"][case["token"].as_str().unwrap()].as_str().expect("the case names a token")
}

fn presentation<'a>(token: &'a str, case: &'a Value) -> Presentation<'a> {
    Presentation {
        token,
        dpop_proof: case["proof"].as_str(),
        target: Some(HttpTarget { method: case["method"].as_str().unwrap(), uri: case["uri"].as_str().unwrap() }),
        client_certificate: None,
    }
}

fn outcome(result: Result<TokenBinding, TokenError>) -> String {
    match result {
        Ok(TokenBinding::Bearer) => "unbound".to_string(),
        Ok(TokenBinding::Dpop) => "bound".to_string(),
        Ok(other) => format!("{other:?}"),
        Err(error) => error.code().to_string(),
    }
}

#[test]
fn every_vector_is_accepted_with_its_binding_or_refused_with_its_code() {
    let vectors = vectors();
    let verifier = verifier(&vectors, DpopMode::Accept);
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "the vector file lost its cases");
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let now = case["now"].as_i64().unwrap();
        let expected = case["expect"].as_str().unwrap();
        let token = token(&vectors, case);
        let first = outcome(verifier.verify_presented(&presentation(token, case), now).map(|p| p.binding));
        if first != expected {
            failures.push(format!("{name}: expected {expected}, got {first}"));
        }
        if case["replay"] == true {
            let again = outcome(verifier.verify_presented(&presentation(token, case), now + 1).map(|p| p.binding));
            if again != "dpop_replay" {
                failures.push(format!("{name}: replayed proof gave {again}"));
            }
        }
    }
    assert!(failures.is_empty(), "DPoP vector mismatches:\n{}", failures.join("\n"));
}

#[test]
fn a_bound_token_without_its_request_target_or_through_the_bearer_paths_is_refused() {
    let vectors = vectors();
    let verifier = verifier(&vectors, DpopMode::Accept);
    let case = vectors["cases"].as_array().unwrap().iter().find(|c| c["name"] == "valid_ES256").unwrap();
    let token = token(&vectors, case);
    let now = case["now"].as_i64().unwrap();
    let proof_without_target =
        Presentation { token, dpop_proof: case["proof"].as_str(), target: None, client_certificate: None };
    assert_eq!(verifier.verify_presented(&proof_without_target, now).err(), Some(TokenError::DpopProofRequired));
    assert_eq!(verifier.verify(token, now).err(), Some(TokenError::DpopProofRequired));
    assert_eq!(verifier.request(token, None, None, now).err(), Some(TokenError::DpopProofRequired));
    // The proof itself is good: presented properly, the token is accepted and says so.
    let request = verifier.request_presented(&presentation(token, case), None, None, now).unwrap();
    assert_eq!(request.binding.as_deref(), Some("dpop"));
    let unbound = vectors["tokens"]["unbound"].as_str().unwrap();
    assert_eq!(verifier.request(unbound, None, None, now).unwrap().binding.as_deref(), Some("bearer"));
}

#[test]
fn a_token_for_another_resource_is_refused_before_its_proof_is_spent() {
    let vectors = vectors();
    let options = VerifyOptions { audience_binding: AudienceBinding::Resource(Vec::new()), ..VerifyOptions::default() };
    let verifier = verifier_with(&vectors, DpopMode::Accept, options);
    let case = vectors["cases"].as_array().unwrap().iter().find(|c| c["name"] == "valid_ES256").unwrap();
    let presented = presentation(token(&vectors, case), case);
    let now = case["now"].as_i64().unwrap();
    let elsewhere = Some("https://other.example/orders/42".to_string());
    assert_eq!(
        verifier.request_presented(&presented, elsewhere, None, now).err(),
        Some(TokenError::WrongResourceAudience)
    );
    // The proof was not recorded: on its own resource it is accepted, not taken for a replay.
    let own = Some(case["uri"].as_str().unwrap().to_string());
    assert_eq!(verifier.request_presented(&presented, own, None, now).unwrap().binding.as_deref(), Some("dpop"));
}

#[test]
fn require_refuses_bearer_tokens_and_ignore_checks_no_proof() {
    let vectors = vectors();
    let now = vectors["now"].as_i64().unwrap();
    let unbound = vectors["tokens"]["unbound"].as_str().unwrap();
    let bound = vectors["tokens"]["bound_ES256"].as_str().unwrap();
    let require = verifier(&vectors, DpopMode::Require);
    assert_eq!(require.verify(unbound, now).err(), Some(TokenError::DpopRequired));
    let case = vectors["cases"].as_array().unwrap().iter().find(|c| c["name"] == "valid_EdDSA").unwrap();
    let presented = require.verify_presented(&presentation(token(&vectors, case), case), now).unwrap();
    assert_eq!(presented.binding, TokenBinding::Dpop);
    let ignore = verifier(&vectors, DpopMode::Ignore);
    assert_eq!(ignore.verify_presented(&Presentation::bearer(bound), now).unwrap().binding, TokenBinding::Bearer);
}

#[test]
fn the_gateway_denies_a_bound_token_without_proof_and_policies_read_the_binding() {
    let vectors = vectors();
    let verifier = verifier(&vectors, DpopMode::Accept);
    let engine = Engine::new().unwrap();
    let policy = engine
        .compile_policy(
            r#"package dpop

allow read_orders if {
    action == "orders.read"
}

deny unbound_agent "agents must prove possession of their key" if {
    chain.depth > 0
    binding != "dpop"
}
"#,
            "dpop.warrant",
        )
        .unwrap();
    let gateway = Gateway::new(&policy, serde_json::json!({})).unwrap();
    let now = vectors["now"].as_i64().unwrap();
    let action = Some("orders.read".to_string());
    let resource = Some("https://api.dpop.test/orders/42".to_string());
    let bound = vectors["tokens"]["bound_ES256"].as_str().unwrap();
    let refused = gateway.decide_token(&verifier, bound, resource.clone(), action.clone(), now);
    assert!(!refused.decision.allowed);
    assert_eq!(refused.refused_token, Some(TokenError::DpopProofRequired));
    let unbound = vectors["tokens"]["unbound"].as_str().unwrap();
    let bearer = gateway.decide_token(&verifier, unbound, resource.clone(), action.clone(), now);
    assert!(!bearer.decision.allowed, "the policy refuses a bearer token to an agent");
    assert_eq!(bearer.decision.deny_reasons, vec!["agents must prove possession of their key".to_string()]);
    let case = vectors["cases"].as_array().unwrap().iter().find(|c| c["name"] == "valid_PS256").unwrap();
    let presented = presentation(token(&vectors, case), case);
    let allowed = gateway.decide_presented(&verifier, &presented, resource, action, now, serde_json::Map::new());
    assert!(allowed.decision.allowed, "{:?}", allowed.decision);
}
