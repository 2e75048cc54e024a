//! Keys replaced at run time: an issuer that starts without keys fails closed, a new key set is
//! checked like one at construction (a bad one is refused and the old one keeps working), a
//! rotated-out key stops verifying even for cached tokens, and the cache counts hits and misses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;
use warrant_engine::token::{
    Algorithm, CacheStats, ConfigError, DpopMode, IssuerConfig, KeySource, TokenError, TokenVerifier, VerifyOptions,
};

const ISSUER: &str = "https://rotating.test";
const AUDIENCE: &str = "https://api.test";
const SECRET_1: &[u8] = b"0123456789abcdef0123456789abcdef";
const SECRET_2: &[u8] = b"fedcba9876543210fedcba9876543210";
const NOW: i64 = 1_800_000_000;

fn key(kid: &str, secret: &[u8]) -> KeySource {
    KeySource::HmacSecret { kid: Some(kid.to_string()), secret: secret.to_vec() }
}

fn issuer(keys: Vec<KeySource>) -> IssuerConfig {
    IssuerConfig {
        issuer: ISSUER.to_string(),
        audiences: vec![AUDIENCE.to_string()],
        algorithms: vec![Algorithm::HS256],
        keys,
        dpop: DpopMode::default(),
    }
}

fn verifier(keys: Vec<KeySource>) -> TokenVerifier {
    TokenVerifier::new(vec![issuer(keys)], VerifyOptions::default()).expect("valid configuration")
}

fn token(kid: &str, secret: &[u8], sub: &str) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.to_string());
    let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": NOW - 10, "exp": NOW + 600});
    encode(&header, &claims, &EncodingKey::from_secret(secret)).expect("signing test token")
}

fn refusal(verifier: &TokenVerifier, token: &str) -> TokenError {
    match verifier.verify(token, NOW) {
        Ok(claims) => panic!("token should have been refused, verified as {:?}", claims.claims),
        Err(error) => error,
    }
}

#[test]
fn a_remote_issuer_without_keys_yet_refuses_then_verifies_once_keys_arrive() {
    let verifier = verifier(vec![KeySource::Remote]);
    let token = token("k1", SECRET_1, "alice");
    assert!(!verifier.has_keys(ISSUER));
    let error = refusal(&verifier, &token);
    assert_eq!(error, TokenError::KeysUnavailable);
    assert_eq!(error.code(), "keys_unavailable");
    verifier.replace_keys(ISSUER, vec![key("k1", SECRET_1)]).expect("a good key set is taken");
    assert!(verifier.has_keys(ISSUER));
    assert_eq!(verifier.verify(&token, NOW).expect("verifies with the new keys").claims["sub"], "alice");
}

#[test]
fn an_unknown_kid_verifies_after_the_keys_are_replaced_and_a_withdrawn_key_stops_verifying() {
    let verifier = verifier(vec![key("k1", SECRET_1)]);
    let old = token("k1", SECRET_1, "alice");
    let new = token("k2", SECRET_2, "bob");
    verifier.verify(&old, NOW).expect("k1 verifies");
    verifier.verify(&old, NOW).expect("k1 verifies from the cache");
    assert_eq!(refusal(&verifier, &new), TokenError::UnknownKeyId);

    verifier.replace_keys(ISSUER, vec![key("k1", SECRET_1), key("k2", SECRET_2)]).expect("both keys");
    verifier.verify(&new, NOW).expect("k2 verifies after the rotation");
    verifier.verify(&old, NOW).expect("k1 still published");

    verifier.replace_keys(ISSUER, vec![key("k2", SECRET_2)]).expect("k1 withdrawn");
    // `old` was cached while k1 was published; the replacement emptied the cache.
    assert_eq!(refusal(&verifier, &old), TokenError::UnknownKeyId);
    verifier.verify(&new, NOW).expect("k2 verifies");
}

#[test]
fn a_bad_key_set_is_refused_and_the_old_one_stays() {
    let verifier = verifier(vec![key("k1", SECRET_1)]);
    let good = token("k1", SECRET_1, "alice");
    type Expected = fn(&ConfigError) -> bool;
    let bad_sets: Vec<(Vec<KeySource>, Expected)> = vec![
        (vec![KeySource::Jwks("{\"keys\": [".to_string())], |e| matches!(e, ConfigError::InvalidJwks { .. })),
        (vec![KeySource::Jwks("{\"keys\": []}".to_string())], |e| matches!(e, ConfigError::NoKeys(_))),
        (vec![key("k1", b"short")], |e| matches!(e, ConfigError::WeakKey { .. })),
        (vec![key("k1", SECRET_1), key("k1", SECRET_2)], |e| matches!(e, ConfigError::DuplicateKeyId { .. })),
        (vec![KeySource::Remote], |e| matches!(e, ConfigError::MisplacedRemoteKeys(_))),
        // An EC key cannot verify the allowed HS256: dead configuration, refused.
        (
            vec![KeySource::Jwks(
                json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "ec",
                    "x": "mLiAKtubbQMnLHtfME3Qv5DUJ9ZNgV9XrjZQmj1KXGI",
                    "y": "PYlwK0QmWdeLQvf-jo1wl9-Lkt99tHrabnJSfrS3h-U"}]})
                .to_string(),
            )],
            |e| matches!(e, ConfigError::AlgorithmWithoutKey { alg: Algorithm::HS256, .. }),
        ),
    ];
    for (index, (set, expected)) in bad_sets.into_iter().enumerate() {
        let error = verifier.replace_keys(ISSUER, set).expect_err("a bad set is refused");
        assert!(expected(&error), "set {index}: unexpected error {error:?}");
        assert_eq!(verifier.verify(&good, NOW).expect("old keys still verify").claims["sub"], "alice");
    }
    let error = verifier.replace_keys("https://other.test", vec![key("k1", SECRET_1)]).expect_err("unknown issuer");
    assert!(matches!(error, ConfigError::UnknownIssuer(ref name) if name == "https://other.test"), "{error:?}");
}

#[test]
fn remote_must_be_the_only_source_at_construction() {
    let error =
        TokenVerifier::new(vec![issuer(vec![KeySource::Remote, key("k1", SECRET_1)])], VerifyOptions::default())
            .expect_err("Remote mixed with static keys");
    assert!(matches!(error, ConfigError::MisplacedRemoteKeys(_)), "{error:?}");
    // Without keys, the allow-list is still checked for emptiness.
    let no_algorithms = IssuerConfig { algorithms: vec![], ..issuer(vec![KeySource::Remote]) };
    let error = TokenVerifier::new(vec![no_algorithms], VerifyOptions::default()).expect_err("no algorithm");
    assert!(matches!(error, ConfigError::NoAlgorithms(_)), "{error:?}");
}

#[test]
fn cache_stats_count_hits_and_misses() {
    let verifier = verifier(vec![key("k1", SECRET_1)]);
    assert_eq!(verifier.cache_stats(), CacheStats::default());
    let alice = token("k1", SECRET_1, "alice");
    let bob = token("k1", SECRET_1, "bob");
    verifier.verify(&alice, NOW).unwrap(); // miss, then cached
    verifier.verify(&alice, NOW).unwrap(); // hit
    verifier.verify(&alice, NOW).unwrap(); // hit
    verifier.verify(&bob, NOW).unwrap(); // miss
    let stats = verifier.cache_stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (2, 2, 2));
    let _ = refusal(&verifier, &token("k9", SECRET_1, "eve")); // refused tokens are misses, never cached
    let stats = verifier.cache_stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (2, 3, 2));
}

/// Verifying on several threads while the key set flips between {k1} and {k2}: every answer is
/// a verification with a key published at some point, or `unknown_key_id` — never another
/// error, never a panic — and the final set decides.
#[test]
fn verification_during_replacement_sees_one_set_or_the_other() {
    let verifier = Arc::new(verifier(vec![key("k1", SECRET_1)]));
    let tokens = Arc::new([token("k1", SECRET_1, "alice"), token("k2", SECRET_2, "bob")]);
    let finished = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (verifier, tokens, finished) = (Arc::clone(&verifier), Arc::clone(&tokens), Arc::clone(&finished));
            std::thread::spawn(move || {
                let mut verified = 0u32;
                for _ in 0..500 {
                    for token in tokens.iter() {
                        match verifier.verify(token, NOW) {
                            Ok(_) => verified += 1,
                            Err(TokenError::UnknownKeyId) => {}
                            Err(other) => panic!("unexpected refusal {other:?}"),
                        }
                    }
                }
                finished.fetch_add(1, Ordering::SeqCst);
                verified
            })
        })
        .collect();
    let mut round = 0u64;
    while finished.load(Ordering::SeqCst) < 2 {
        let set = if round.is_multiple_of(2) { key("k2", SECRET_2) } else { key("k1", SECRET_1) };
        verifier.replace_keys(ISSUER, vec![set]).unwrap();
        round += 1;
    }
    let verified: u32 = workers.into_iter().map(|worker| worker.join().unwrap()).sum();
    // Each of the 2000 verifications had one token whose key was in force, or raced a swap.
    assert!(verified > 0 && verified <= 2000, "{verified}");
    verifier.replace_keys(ISSUER, vec![key("k1", SECRET_1)]).unwrap();
    verifier.verify(&tokens[0], NOW).expect("k1 is the final set");
    assert_eq!(refusal(&verifier, &tokens[1]), TokenError::UnknownKeyId);
}
