//! Verifier configuration: unsafe configurations are refused up front, secrets never show up in
//! Debug output, and the mapping options (chain bound, instance claim) take effect.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod token_support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;
use token_support::{case, load_vectors, str_field, vectors_dir, verifier_with};
use warrant_engine::token::{
    Algorithm, ConfigError, DpopMode, IssuerConfig, KeySource, TokenError, TokenVerifier, VerifyOptions,
};
use warrant_lang::request::ClaimMapping;

const ISSUER: &str = "https://hmac.test";
const AUDIENCE: &str = "https://api.test";
const SECRET_A: &[u8] = b"0123456789abcdef0123456789abcdef";
const SECRET_B: &[u8] = b"fedcba9876543210fedcba9876543210";
const NOW: i64 = 1_800_000_000;

fn hmac_issuer(keys: Vec<KeySource>, algorithms: Vec<Algorithm>) -> IssuerConfig {
    IssuerConfig {
        issuer: ISSUER.to_string(),
        audiences: vec![AUDIENCE.to_string()],
        algorithms,
        keys,
        dpop: DpopMode::default(),
    }
}

fn hmac_key(kid: Option<&str>, secret: &[u8]) -> KeySource {
    KeySource::HmacSecret { kid: kid.map(str::to_string), secret: secret.to_vec() }
}

fn build(issuers: Vec<IssuerConfig>) -> Result<TokenVerifier, ConfigError> {
    TokenVerifier::new(issuers, VerifyOptions::default())
}

fn config_error(issuers: Vec<IssuerConfig>) -> ConfigError {
    match build(issuers) {
        Ok(_) => panic!("configuration should have been refused"),
        Err(error) => error,
    }
}

fn jwks(keys: serde_json::Value) -> KeySource {
    KeySource::Jwks(json!({ "keys": keys }).to_string())
}

fn hs256_token(kid: Option<&str>, secret: &[u8], claims: serde_json::Value) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = kid.map(str::to_string);
    encode(&header, &claims, &EncodingKey::from_secret(secret)).expect("signing test token")
}

fn claims() -> serde_json::Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "user", "iat": NOW - 10, "exp": NOW + 600})
}

#[test]
fn structurally_unsafe_configurations_are_refused() {
    assert!(matches!(config_error(vec![]), ConfigError::NoIssuers));
    let no_audience =
        IssuerConfig { audiences: vec![], ..hmac_issuer(vec![hmac_key(None, SECRET_A)], vec![Algorithm::HS256]) };
    assert!(matches!(config_error(vec![no_audience]), ConfigError::NoAudiences(_)));
    let no_algorithm = hmac_issuer(vec![hmac_key(None, SECRET_A)], vec![]);
    assert!(matches!(config_error(vec![no_algorithm]), ConfigError::NoAlgorithms(_)));
    let twice = || hmac_issuer(vec![hmac_key(None, SECRET_A)], vec![Algorithm::HS256]);
    assert!(matches!(config_error(vec![twice(), twice()]), ConfigError::DuplicateIssuer(_)));
    let same_kid =
        hmac_issuer(vec![hmac_key(Some("k"), SECRET_A), hmac_key(Some("k"), SECRET_B)], vec![Algorithm::HS256]);
    assert!(matches!(config_error(vec![same_kid]), ConfigError::DuplicateKeyId { .. }));
}

/// An allow-listed algorithm no key can verify is refused: this is how an HS256 entry next to
/// an RSA key (the classic confusion set-up) is caught before any token arrives.
#[test]
fn allowed_algorithm_without_fitting_key_is_refused() {
    let pem = KeySource::pem_file(vectors_dir().join("keys/rsa_public.pem"), None).expect("readable");
    let confused = hmac_issuer(vec![pem], vec![Algorithm::RS256, Algorithm::HS256]);
    assert!(matches!(config_error(vec![confused]), ConfigError::AlgorithmWithoutKey { alg: Algorithm::HS256, .. }));
}

#[test]
fn weak_keys_are_refused() {
    let short_secret = hmac_issuer(vec![hmac_key(None, &SECRET_A[..31])], vec![Algorithm::HS256]);
    assert!(matches!(config_error(vec![short_secret]), ConfigError::WeakKey { .. }));
    let rsa1024 = KeySource::pem_file(vectors_dir().join("keys/rsa1024_public.pem"), None).expect("readable");
    assert!(matches!(
        config_error(vec![hmac_issuer(vec![rsa1024], vec![Algorithm::RS256])]),
        ConfigError::WeakKey { .. }
    ));
    let short_oct = jwks(json!([{"kty": "oct", "k": URL_SAFE_NO_PAD.encode(&SECRET_A[..16])}]));
    assert!(matches!(
        config_error(vec![hmac_issuer(vec![short_oct], vec![Algorithm::HS256])]),
        ConfigError::WeakKey { .. }
    ));
}

/// A 31-byte Ed25519 key would make the crypto backend slice out of bounds; it must be a
/// configuration error, not a panic.
#[test]
fn malformed_keys_are_refused_without_panicking() {
    let short_ed = jwks(json!([{"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([7u8; 31])}]));
    assert!(matches!(
        config_error(vec![hmac_issuer(vec![short_ed], vec![Algorithm::EdDSA])]),
        ConfigError::InvalidKey { .. }
    ));
    let (x, y) = (URL_SAFE_NO_PAD.encode([1u8; 32]), URL_SAFE_NO_PAD.encode([2u8; 32]));
    let off_curve = jwks(json!([{"kty": "EC", "crv": "P-256", "x": x, "y": y}]));
    assert!(matches!(
        config_error(vec![hmac_issuer(vec![off_curve], vec![Algorithm::ES256])]),
        ConfigError::InvalidKey { .. }
    ));
    let contradicting_alg = jwks(json!([{"kty": "oct", "k": URL_SAFE_NO_PAD.encode(SECRET_A), "alg": "RS256"}]));
    assert!(matches!(
        config_error(vec![hmac_issuer(vec![contradicting_alg], vec![Algorithm::HS256])]),
        ConfigError::InvalidKey { .. }
    ));
    let not_json = KeySource::Jwks("{\"keys\": [".to_string());
    assert!(matches!(
        config_error(vec![hmac_issuer(vec![not_json], vec![Algorithm::HS256])]),
        ConfigError::InvalidJwks { .. }
    ));
    let garbage_pem =
        KeySource::Pem { kid: None, pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into() };
    assert!(matches!(
        config_error(vec![hmac_issuer(vec![garbage_pem], vec![Algorithm::RS256])]),
        ConfigError::InvalidKey { .. }
    ));
}

#[test]
fn private_keys_and_certificates_are_not_accepted_as_verification_keys() {
    for label in ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "CERTIFICATE"] {
        let pem = format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n");
        let error = config_error(vec![hmac_issuer(vec![KeySource::Pem { kid: None, pem }], vec![Algorithm::RS256])]);
        assert!(
            matches!(error, ConfigError::InvalidKey { reason, .. }
                if reason.contains("only PEM public keys")),
            "{label}: {error}"
        );
    }
}

/// JWKS entries meant for encryption are skipped (RFC 7517 §5), never used to verify.
#[test]
fn encryption_keys_in_a_jwks_are_ignored() {
    let enc_only = jwks(json!([
        {"kty": "oct", "use": "enc", "k": URL_SAFE_NO_PAD.encode(SECRET_A)},
        {"kty": "oct", "alg": "A256GCM", "k": URL_SAFE_NO_PAD.encode(SECRET_A)},
    ]));
    assert!(matches!(config_error(vec![hmac_issuer(vec![enc_only], vec![Algorithm::HS256])]), ConfigError::NoKeys(_)));
}

/// RFC 7517 §4.2–4.3: a key marked for another use (`use` other than `sig`) or operations
/// (`key_ops` without `verify`) never verifies a signature.
#[test]
fn keys_not_marked_for_verification_never_verify() {
    let k = URL_SAFE_NO_PAD.encode(SECRET_A);
    for not_for_verifying in [
        json!({"kty": "oct", "kid": "a", "use": "enc", "k": k}),
        json!({"kty": "oct", "kid": "a", "key_ops": ["encrypt", "decrypt"], "k": k}),
        json!({"kty": "oct", "kid": "a", "key_ops": ["sign"], "k": k}),
    ] {
        let only = jwks(json!([not_for_verifying.clone()]));
        let refused = config_error(vec![hmac_issuer(vec![only], vec![Algorithm::HS256])]);
        assert!(matches!(refused, ConfigError::NoKeys(_)), "{not_for_verifying}: {refused:?}");
        // Beside a key for verifying, it is skipped: a token naming it finds no key.
        let keys = jwks(json!([not_for_verifying, {"kty": "oct", "kid": "b", "use": "sig", "k": k}]));
        let verifier = build(vec![hmac_issuer(vec![keys], vec![Algorithm::HS256])]).expect("valid");
        let named_a = hs256_token(Some("a"), SECRET_A, claims());
        assert_eq!(verifier.verify(&named_a, NOW).map(|_| ()), Err(TokenError::UnknownKeyId));
        assert!(verifier.verify(&hs256_token(Some("b"), SECRET_A, claims()), NOW).is_ok());
    }
    let verify_op = jwks(json!([{"kty": "oct", "kid": "v", "key_ops": ["verify"], "k": k}]));
    let verifier = build(vec![hmac_issuer(vec![verify_op], vec![Algorithm::HS256])]).expect("valid");
    assert!(verifier.verify(&hs256_token(Some("v"), SECRET_A, claims()), NOW).is_ok());
}

/// A key configured without a `kid` (a PEM file, a bare secret) verifies tokens that name any
/// `kid` when it is the issuer's only key; with several keys a `kid` must name one of them.
#[test]
fn an_only_key_without_kid_verifies_tokens_that_name_a_kid() {
    let one = build(vec![hmac_issuer(vec![hmac_key(None, SECRET_A)], vec![Algorithm::HS256])]).expect("valid");
    let named = hs256_token(Some("2026-rotation"), SECRET_A, claims());
    assert!(one.verify(&named, NOW).is_ok());
    assert_eq!(
        one.verify(&hs256_token(Some("x"), SECRET_B, claims()), NOW).map(|_| ()),
        Err(TokenError::BadSignature),
        "still the signature decides"
    );
    let two =
        build(vec![hmac_issuer(vec![hmac_key(None, SECRET_A), hmac_key(Some("b"), SECRET_B)], vec![Algorithm::HS256])])
            .expect("valid");
    assert_eq!(two.verify(&named, NOW).map(|_| ()), Err(TokenError::UnknownKeyId));
    let named_only =
        build(vec![hmac_issuer(vec![hmac_key(Some("a"), SECRET_A)], vec![Algorithm::HS256])]).expect("valid");
    assert_eq!(
        named_only.verify(&named, NOW).map(|_| ()),
        Err(TokenError::UnknownKeyId),
        "a named key is not a wildcard"
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let secret = b"this-is-a-very-secret-hmac-key-0123456789".to_vec();
    let config = hmac_issuer(
        vec![
            KeySource::HmacSecret { kid: Some("k".into()), secret: secret.clone() },
            jwks(json!([{"kty": "oct", "k": URL_SAFE_NO_PAD.encode(&secret)}])),
        ],
        vec![Algorithm::HS256],
    );
    let printed = format!("{config:?} {config:#?}");
    assert!(!printed.contains("very-secret"), "{printed}");
    assert!(!printed.contains(&URL_SAFE_NO_PAD.encode(&secret)), "{printed}");
    assert!(!printed.contains(&format!("{:?}", &secret[..8]).trim_end_matches(']').to_string()), "{printed}");
    assert!(printed.contains("redacted"));
}

/// Without a `kid`, a token is only checked when exactly one key fits its algorithm.
#[test]
fn missing_kid_needs_a_single_fitting_key() {
    let two_keys =
        build(vec![hmac_issuer(vec![hmac_key(None, SECRET_A), hmac_key(None, SECRET_B)], vec![Algorithm::HS256])])
            .expect("valid");
    let token = hs256_token(None, SECRET_A, claims());
    assert_eq!(two_keys.verify(&token, NOW).map(|_| ()), Err(TokenError::KeyIdRequired));
    let one_key = build(vec![hmac_issuer(vec![hmac_key(None, SECRET_A)], vec![Algorithm::HS256])]).expect("valid");
    assert!(one_key.verify(&token, NOW).is_ok());
}

#[test]
fn issuer_claim_must_be_a_string() {
    let verifier = build(vec![hmac_issuer(vec![hmac_key(None, SECRET_A)], vec![Algorithm::HS256])]).expect("valid");
    let token = hs256_token(None, SECRET_A, json!({"iss": [ISSUER], "aud": AUDIENCE, "exp": NOW + 600}));
    assert_eq!(
        verifier.verify(&token, NOW).map(|_| ()),
        Err(TokenError::InvalidClaim { claim: "iss", expected: "a string" })
    );
}

#[test]
fn instance_claim_name_is_configurable_and_other_claims_stay_reachable() {
    let options = VerifyOptions {
        mapping: ClaimMapping { instance_claim: "task_id".into(), ..ClaimMapping::default() },
        ..VerifyOptions::default()
    };
    let verifier =
        TokenVerifier::new(vec![hmac_issuer(vec![hmac_key(None, SECRET_A)], vec![Algorithm::HS256])], options)
            .expect("valid");
    let mut body = claims();
    body["task_id"] = json!("task-9");
    body["instance_id"] = json!("ignored");
    body["may_act"] = json!({"sub": "agent-x"});
    body["act"] = json!({"sub": "agent-x", "task_id": "task-10"});
    let request = verifier.request(&hs256_token(None, SECRET_A, body), None, None, NOW).expect("verifies");
    assert_eq!(request.instance.as_deref(), Some("task-9"));
    assert_eq!(request.chain[0].instance.as_deref(), Some("task-10"));
    assert_eq!(request.claims["may_act"], json!({"sub": "agent-x"}));
}

#[test]
fn chain_depth_bound_is_configurable() {
    let vectors = load_vectors();
    let base = VerifyOptions {
        mapping: ClaimMapping { max_chain_depth: 2, ..ClaimMapping::default() },
        ..VerifyOptions::default()
    };
    let verifier = verifier_with(&vectors, base);
    let depth2 = case(&vectors, "act_depth_2");
    let depth3 = case(&vectors, "act_depth_3");
    assert!(verifier.request(str_field(depth2, "token"), None, None, NOW).is_ok());
    assert_eq!(
        verifier.request(str_field(depth3, "token"), None, None, NOW).map(|_| ()),
        Err(TokenError::ChainTooDeep { max: 2 })
    );
}

/// With the RFC 9068 `typ` check on, a JWT that is not typed `at+jwt` (e.g. an ID token from
/// the same issuer) is refused even though its signature is good.
#[test]
fn access_token_type_can_be_required() {
    let vectors = load_vectors();
    let base = VerifyOptions { require_access_token_type: true, ..VerifyOptions::default() };
    let verifier = verifier_with(&vectors, base);
    let typed = case(&vectors, "typ_at_jwt");
    let untyped = case(&vectors, "rs256");
    assert!(verifier.verify(str_field(typed, "token"), NOW).is_ok());
    assert_eq!(verifier.verify(str_field(untyped, "token"), NOW).map(|_| ()), Err(TokenError::NotAnAccessToken));
}
