//! Tokens bound to where they may be used: RFC 8707 audience binding (with
//! `AudienceBinding::Resource`, a token issued for one API is refused on another's resource,
//! through the verifier and the gateway alike) and RFC 8705 certificate-bound tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use serde_json::{json, Value};
use warrant_engine::token::{
    Algorithm, AudienceBinding, DpopMode, IssuerConfig, KeySource, ResourceAudience, TokenError, TokenVerifier,
    VerifyOptions,
};
use warrant_engine::{Engine, Gateway};

const ISSUER: &str = "https://idp.example";
const SECRET: &[u8] = b"an audience-binding test secret of 32+ bytes";
const NOW: i64 = 1_800_000_000;
const CRM: &str = "https://crm.acme.com";
const BILLING: &str = "https://billing.acme.com";

fn token(aud: Value) -> String {
    let claims = json!({ "iss": ISSUER, "aud": aud, "sub": "user:alice", "iat": NOW, "exp": NOW + 600 });
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET);
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).unwrap()
}

fn verifier(binding: AudienceBinding) -> TokenVerifier {
    let issuer = IssuerConfig {
        issuer: ISSUER.into(),
        audiences: vec![CRM.into(), BILLING.into(), "mcp-tools".into()],
        algorithms: vec![Algorithm::HS256],
        keys: vec![KeySource::HmacSecret { kid: None, secret: SECRET.to_vec() }],
        dpop: DpopMode::default(),
    };
    TokenVerifier::new(vec![issuer], VerifyOptions { audience_binding: binding, ..VerifyOptions::default() }).unwrap()
}

fn outcome(verifier: &TokenVerifier, token: &str, resource: Option<&str>) -> Result<(), TokenError> {
    verifier.request(token, resource.map(str::to_string), Some("read".into()), NOW).map(|_| ())
}

#[test]
fn a_token_for_one_api_is_refused_on_another_apis_resource() {
    let bound = verifier(AudienceBinding::Resource(Vec::new()));
    let billing = token(json!(BILLING));
    assert_eq!(outcome(&bound, &billing, Some("https://billing.acme.com/invoices/7")), Ok(()));
    assert_eq!(
        outcome(&bound, &billing, Some("https://crm.acme.com/contacts/42")),
        Err(TokenError::WrongResourceAudience)
    );
    assert_eq!(outcome(&bound, &billing, None), Err(TokenError::ResourceRequired));
    // A token for both APIs may call both.
    let both = token(json!([CRM, BILLING]));
    assert_eq!(outcome(&bound, &both, Some("https://crm.acme.com/contacts/42")), Ok(()));
    // Off (the default), the verifier leaves it to the policy: the billing token passes.
    let unbound = verifier(AudienceBinding::IssuerAudiences);
    assert_eq!(outcome(&unbound, &billing, Some("https://crm.acme.com/contacts/42")), Ok(()));
    // The bare signature check knows no resource and binds nothing.
    assert!(bound.verify(&billing, NOW).is_ok());
}

#[test]
fn configured_prefixes_map_resources_that_are_not_urls_of_the_api() {
    let bound = verifier(AudienceBinding::Resource(vec![ResourceAudience {
        prefix: "mcp://tools.acme.com/".into(),
        audience: "mcp-tools".into(),
    }]));
    assert_eq!(outcome(&bound, &token(json!("mcp-tools")), Some("mcp://tools.acme.com/tools/search")), Ok(()));
    assert_eq!(
        outcome(&bound, &token(json!(CRM)), Some("mcp://tools.acme.com/tools/search")),
        Err(TokenError::WrongResourceAudience)
    );
}

#[test]
fn the_gateway_denies_and_names_the_refusal() {
    let engine = Engine::new().unwrap();
    let policy =
        engine.compile_policy("package p\n\nallow any if {\n    action == \"read\"\n}\n", "p.warrant").unwrap();
    let gateway = Gateway::new(&policy, json!({})).unwrap();
    let bound = verifier(AudienceBinding::Resource(Vec::new()));
    let crm = Some("https://crm.acme.com/contacts/42".to_string());
    let refused = gateway.decide_token(&bound, &token(json!(BILLING)), crm.clone(), Some("read".into()), NOW);
    assert!(!refused.decision.allowed);
    assert_eq!(refused.refused_token, Some(TokenError::WrongResourceAudience));
    let allowed = gateway.decide_token(&bound, &token(json!(CRM)), crm, Some("read".into()), NOW);
    assert!(allowed.decision.allowed, "{:?}", allowed.decision);
}

// ---- certificate-bound tokens (RFC 8705) ----

fn certificate_bound_token(thumbprint: &str) -> String {
    let claims = json!({
        "iss": ISSUER, "aud": CRM, "sub": "user:alice", "iat": NOW, "exp": NOW + 600,
        "cnf": { "x5t#S256": thumbprint },
    });
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET);
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).unwrap()
}

#[test]
fn a_certificate_bound_token_needs_that_client_certificate() {
    use warrant_engine::token::{certificate_thumbprint, Presentation, TokenBinding};
    let verifier = verifier(AudienceBinding::IssuerAudiences);
    let certificate: &[u8] = b"the DER of the agent's client certificate";
    // RFC 8705 §3.1: base64url(SHA-256(DER)), computed here independently of the verifier.
    let expected = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(certificate))
    };
    assert_eq!(certificate_thumbprint(certificate), expected);
    let token = certificate_bound_token(&expected);
    let with = |certificate| Presentation { client_certificate: certificate, ..Presentation::bearer(&token) };
    let presented = verifier.verify_presented(&with(Some(certificate)), NOW).unwrap();
    assert_eq!(presented.binding, TokenBinding::Certificate);
    assert_eq!(presented.binding.name(), "mtls");
    assert_eq!(
        verifier.verify_presented(&with(Some(b"another certificate")), NOW).err(),
        Some(TokenError::CertificateMismatch)
    );
    assert_eq!(verifier.verify_presented(&with(None), NOW).err(), Some(TokenError::CertificateRequired));
    assert_eq!(verifier.verify(&token, NOW).err(), Some(TokenError::CertificateRequired), "never a bearer token");
    let odd = certificate_bound_token("x");
    assert_eq!(
        verifier
            .verify_presented(
                &Presentation { client_certificate: Some(certificate), ..Presentation::bearer(&odd) },
                NOW
            )
            .err(),
        Some(TokenError::CertificateMismatch)
    );
}

#[test]
fn unknown_or_ill_typed_confirmation_methods_are_refused() {
    let verifier = verifier(AudienceBinding::IssuerAudiences);
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET);
    let with_cnf = |cnf: Value| {
        let claims = json!({ "iss": ISSUER, "aud": CRM, "sub": "u", "iat": NOW, "exp": NOW + 600, "cnf": cnf });
        jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).unwrap()
    };
    let code = |cnf| verifier.verify(&with_cnf(cnf), NOW).err().map(|error| error.code());
    assert_eq!(code(json!({ "jwk": {} })), Some("unsupported_confirmation"));
    assert_eq!(code(json!({ "x5t": "abc" })), Some("unsupported_confirmation"));
    assert_eq!(code(json!("jkt")), Some("invalid_claim"));
    assert_eq!(code(json!({ "x5t#S256": 7 })), Some("invalid_claim"));
    assert_eq!(code(json!({ "jkt": ["a"] })), Some("invalid_claim"));
    assert_eq!(code(json!({})), None, "an empty cnf binds nothing");
}
