//! Bearer token to decision: signature verification (ES256, RS256), claims mapping and the
//! decision, then the same with the verified-token cache hit. Keys are generated at setup and
//! tokens signed with `jsonwebtoken`, so no private key is ever stored in the repository.
//!
//! `dpop`: what a DPoP proof (RFC 9449) adds to accepting a token, ES256 token and ES256 proof:
//! the token alone, the token and its proof, and both with the token's signature cached. Each
//! proof is signed in the untimed setup of its iteration (a proof is accepted once).
use std::hint::black_box;
use std::time::Duration;

use criterion::BatchSize;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use serde_json::json;
use sha2::{Digest, Sha256};
use warrant_benches::reference::{self, NOW};
use warrant_engine::token::{
    Algorithm, DpopMode, DpopOptions, HttpTarget, IssuerConfig, KeySource, Presentation, TokenBinding, TokenVerifier,
    VerifyOptions,
};
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

const DPOP_URI: &str = "https://support.acme.com/cases/5/comments";

/// A DPoP proof by `key` (public `jwk`) for `POST DPOP_URI` with `token`, unique by `counter`.
fn dpop_proof(key: &SigningKey, jwk: &Jwk, token: &str, now: i64, counter: u64) -> String {
    use base64::Engine as _;
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("dpop+jwt".to_string());
    header.jwk = Some(jwk.clone());
    let ath = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
    let claims = json!({ "jti": format!("bench-{counter}"), "htm": "POST", "htu": DPOP_URI, "iat": now, "ath": ath });
    jsonwebtoken::encode(&header, &claims, &key.private).expect("proof signs")
}

fn dpop(c: &mut Criterion) {
    let issuer_key = es256_key();
    let agent_key = es256_key();
    let agent_jwk = Jwk::from_encoding_key(&agent_key.private, jsonwebtoken::Algorithm::ES256).expect("public JWK");
    let jkt = agent_jwk.thumbprint(ThumbprintHash::SHA256).expect("thumbprint");
    // The real clock: a proof must be fresh, and replay-cache entries leave after 60 s.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let claims = |bound: bool| {
        let mut claims = json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 3600 });
        if bound {
            claims["cnf"] = json!({ "jkt": jkt });
        }
        claims
    };
    let token = |bound| {
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(issuer_key.kid.to_string());
        jsonwebtoken::encode(&header, &claims(bound), &issuer_key.private).expect("token signs")
    };
    let (unbound, bound) = (token(false), token(true));
    let options = |cache_capacity| VerifyOptions {
        cache_capacity,
        // Enough room for every proof of a run inside the 60 s window.
        dpop: DpopOptions { replay_capacity: 2_000_000, ..DpopOptions::default() },
        ..VerifyOptions::default()
    };
    let build = |cache_capacity| {
        let keys = vec![KeySource::Pem { kid: Some(issuer_key.kid.to_string()), pem: issuer_key.public_pem.clone() }];
        let issuer = IssuerConfig {
            issuer: ISSUER.to_string(),
            audiences: vec![AUDIENCE.to_string()],
            algorithms: vec![Algorithm::ES256],
            keys,
            dpop: DpopMode::Accept,
        };
        TokenVerifier::new(vec![issuer], options(cache_capacity)).expect("verifier configuration is valid")
    };
    let (uncached, cached) = (build(0), build(VerifyOptions::default().cache_capacity));
    let counter = std::cell::Cell::new(0u64);
    let next_proof = || {
        counter.set(counter.get() + 1);
        dpop_proof(&agent_key, &agent_jwk, &bound, now, counter.get())
    };
    let with_proof = |verifier: &TokenVerifier, proof: &str| {
        let target = HttpTarget { method: "POST", uri: DPOP_URI };
        let presented =
            Presentation { token: &bound, dpop_proof: Some(proof), target: Some(target), client_certificate: None };
        verifier.verify_presented(&presented, now).map(|presented| presented.binding)
    };
    let alone =
        |verifier: &TokenVerifier| verifier.verify_presented(&Presentation::bearer(&unbound), now).map(|p| p.binding);
    assert_eq!(alone(&uncached), Ok(TokenBinding::Bearer));
    assert_eq!(with_proof(&uncached, &next_proof()), Ok(TokenBinding::Dpop), "the proof must be accepted");
    assert_eq!(with_proof(&cached, &next_proof()), Ok(TokenBinding::Dpop));

    let mut benches = c.benchmark_group("dpop");
    benches.bench_function(BenchmarkId::new("warrant", "token-es256"), |b| {
        b.iter(|| alone(&uncached).is_ok());
    });
    benches.bench_function(BenchmarkId::new("warrant", "token-es256+proof-es256"), |b| {
        b.iter_batched(next_proof, |proof| with_proof(&uncached, black_box(&proof)).is_ok(), BatchSize::SmallInput)
    });
    benches.bench_function(BenchmarkId::new("warrant", "token-cache-hit"), |b| {
        b.iter(|| alone(&cached).is_ok());
    });
    benches.bench_function(BenchmarkId::new("warrant", "token-cache-hit+proof-es256"), |b| {
        b.iter_batched(next_proof, |proof| with_proof(&cached, black_box(&proof)).is_ok(), BatchSize::SmallInput)
    });
    benches.finish();
    assert_eq!(with_proof(&uncached, &next_proof()), Ok(TokenBinding::Dpop), "still accepted after the run");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    targets = token, dpop
}
criterion_main!(benches);
