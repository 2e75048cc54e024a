//! Bearer token to decision: signature verification (ES256, RS256), claims mapping and the
//! decision, then the same with the verified-token cache hit. Keys are generated at setup and
//! tokens signed with `jsonwebtoken`, so no private key is ever stored in the repository.
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use jsonwebtoken::{EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use warrant_benches::reference::{self, NOW};
use warrant_engine::token::{Algorithm, DpopMode, IssuerConfig, KeySource, TokenVerifier, VerifyOptions};
use warrant_engine::{Engine, Policy};

const ISSUER: &str = "https://idp.acme.com";
const AUDIENCE: &str = "https://support.acme.com";
const REGISTRY_ENTRIES: usize = 10;
const CASE: usize = REGISTRY_ENTRIES / 2;

/// A freshly generated signing key and the public key the verifier trusts.
struct SigningKey {
    algorithm: Algorithm,
    kid: &'static str,
    private: EncodingKey,
    public_pem: String,
}

fn es256_key() -> SigningKey {
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let private = secret.to_pkcs8_der().expect("P-256 key encodes as PKCS#8");
    let public_pem = secret.public_key().to_public_key_pem(LineEnding::LF).expect("P-256 public key encodes");
    SigningKey {
        algorithm: Algorithm::ES256,
        kid: "ec-1",
        private: EncodingKey::from_ec_der(private.as_bytes()),
        public_pem,
    }
}

fn rs256_key() -> SigningKey {
    let secret = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).expect("RSA-2048 key generates");
    let private = secret.to_pkcs1_der().expect("RSA key encodes as PKCS#1");
    let public_pem = secret.to_public_key().to_public_key_pem(LineEnding::LF).expect("RSA public key encodes");
    SigningKey {
        algorithm: Algorithm::RS256,
        kid: "rsa-1",
        private: EncodingKey::from_rsa_der(private.as_bytes()),
        public_pem,
    }
}

fn sign(key: &SigningKey) -> String {
    let mut header = Header::new(key.algorithm.name().parse().expect("jsonwebtoken names every algorithm we accept"));
    header.kid = Some(key.kid.to_string());
    let claims = reference::claims(&reference::customer_of(CASE));
    jsonwebtoken::encode(&header, &claims, &key.private).expect("token signs")
}

fn verifier(keys: &[&SigningKey], cache_capacity: usize) -> TokenVerifier {
    let issuer = IssuerConfig {
        issuer: ISSUER.to_string(),
        audiences: vec![AUDIENCE.to_string()],
        algorithms: keys.iter().map(|key| key.algorithm).collect(),
        keys: keys
            .iter()
            .map(|key| KeySource::Pem { kid: Some(key.kid.to_string()), pem: key.public_pem.clone() })
            .collect(),
        dpop: DpopMode::default(),
    };
    TokenVerifier::new(vec![issuer], VerifyOptions { cache_capacity, ..VerifyOptions::default() })
        .expect("verifier configuration is valid")
}

/// Token in, verdict out: verify (or hit the cache), map claims, decide.
fn token_to_decision(verifier: &TokenVerifier, policy: &Policy, token: &str) -> bool {
    verifier
        .request(token, Some(reference::case_uri(CASE)), Some("case.comment".to_string()), NOW)
        .is_ok_and(|request| policy.decide(&request).is_ok_and(|decision| decision.allowed))
}

fn token(c: &mut Criterion) {
    let engine = Engine::new().expect("wasmtime starts");
    let policy = engine
        .compile_policy(reference::WARRANT_POLICY, "policies/support/policy.warrant")
        .and_then(|policy| policy.with_data(&reference::data(REGISTRY_ENTRIES)))
        .expect("reference policy loads");
    let (es256, rs256) = (es256_key(), rs256_key());
    let uncached = verifier(&[&es256, &rs256], 0);
    let cached = verifier(&[&es256, &rs256], VerifyOptions::default().cache_capacity);
    let (es256_token, rs256_token) = (sign(&es256), sign(&rs256));

    let cases =
        [("es256", &uncached, &es256_token), ("rs256", &uncached, &rs256_token), ("cache-hit", &cached, &es256_token)];
    let mut benches = c.benchmark_group("token");
    for (path, verifier, token) in cases {
        assert!(token_to_decision(verifier, &policy, token), "token/{path}: the reference request must be allowed");
        benches.bench_function(BenchmarkId::new("warrant", path), |b| {
            b.iter(|| token_to_decision(verifier, &policy, black_box(token)))
        });
    }
    assert_eq!(cached.cached_token_count(), 1, "the cache-hit path must have hit the cache");
    assert_eq!(uncached.cached_token_count(), 0);
    benches.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    targets = token
}
criterion_main!(benches);
