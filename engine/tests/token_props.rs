//! Hostile input: whatever bytes arrive as a token, verification never panics and never
//! succeeds; and no single-character change to a valid token survives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod token_support;

use std::sync::LazyLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use serde_json::{json, Value};
use token_support::{load_vectors, str_field, verifier};
use warrant_engine::token::{decode_unverified, TokenVerifier, VerifyOptions};

static VECTORS: LazyLock<Value> = LazyLock::new(load_vectors);
static VERIFIER: LazyLock<TokenVerifier> = LazyLock::new(|| verifier(&VECTORS));

/// (token, now) of every vector that verifies with the default options.
static VALID: LazyLock<Vec<(String, i64)>> = LazyLock::new(|| {
    VECTORS["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["expect"] == "ok" && c["options"].is_null())
        .map(|c| (str_field(c, "token").to_string(), c["now"].as_i64().expect("now")))
        .collect()
});

const NOW: i64 = 1_800_000_000;
const TOKEN_SHAPED: &str = "[A-Za-z0-9_=-]{0,80}\\.[A-Za-z0-9_=-]{0,80}\\.[A-Za-z0-9_=-]{0,80}";
const ALGORITHMS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA", "HS256", "HS512", "none"];
const KEY_IDS: &[Option<&str>] = &[None, Some("rsa-1"), Some("rsa-any"), Some("ec-1"), Some("hs-1"), Some("hmac-m")];
const ISSUERS: &[&str] = &[
    "https://rsa.example",
    "https://ec.example",
    "https://ed.example",
    "https://hmac.example",
    "https://mixed.example",
];
const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(VERIFIER.verify(&text, NOW).is_err());
        let _ = decode_unverified(&text, VerifyOptions::default().max_token_bytes);
    }

    #[test]
    fn token_shaped_noise_never_verifies(text in TOKEN_SHAPED) {
        prop_assert!(VERIFIER.verify(&text, NOW).is_err());
    }

    /// Well-formed header and claims for a configured issuer, any algorithm and key id, random
    /// signature bytes: the signature check (or an earlier one) must refuse it.
    #[test]
    fn random_signatures_never_verify(
        alg in prop::sample::select(ALGORITHMS),
        kid in prop::sample::select(KEY_IDS),
        issuer in prop::sample::select(ISSUERS),
        signature in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let header = match kid {
            Some(kid) => json!({"alg": alg, "kid": kid}),
            None => json!({"alg": alg}),
        };
        let claims =
            json!({"iss": issuer, "aud": "https://api.example", "sub": "u", "exp": NOW + 600});
        let signature = URL_SAFE_NO_PAD.encode(&signature);
        let token = format!("{}.{}.{}", b64(&header), b64(&claims), signature);
        prop_assert!(VERIFIER.verify(&token, NOW).is_err());
    }

    #[test]
    fn any_single_character_change_is_refused(
        which in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        replacement in prop::sample::select(BASE64URL.chars().collect::<Vec<_>>()),
    ) {
        let (token, now) = which.get(&VALID);
        let position = position.index(token.len());
        prop_assume!(token.as_bytes()[position] != replacement as u8);
        let mut mutated = token.clone().into_bytes();
        mutated[position] = replacement as u8;
        let mutated = String::from_utf8(mutated).expect("ASCII stays UTF-8");
        prop_assert!(VERIFIER.verify(&mutated, *now).is_err(), "mutated token verified: {mutated}");
    }
}

#[test]
fn every_valid_vector_is_used_by_the_mutation_property() {
    assert!(VALID.len() >= 15, "only {} valid vectors", VALID.len());
    for (token, now) in VALID.iter() {
        assert!(VERIFIER.verify(token, *now).is_ok());
    }
}
