//! DPoP proofs (RFC 9449): a token bound to the agent's key (`cnf.jkt`) is accepted only with
//! a fresh proof, signed by that key, for this very HTTP request.
//!
//! The checks of RFC 9449 §4.3, cheapest and most telling first: size cap and compact form;
//! header `typ` `dpop+jwt`; an asymmetric `alg` from the allow-list (never `none`, never HMAC);
//! no `crit`; a public `jwk` (a private member refuses the proof), of a type and curve that fit
//! `alg`, RSA at least 2048 bits; its RFC 7638 thumbprint equal to the token's `cnf.jkt`; the
//! signature, by that key; then the claims: `jti`, `htm` equal to the request method, `htu`
//! equal to the request URI (both normalised: scheme and host in lower case, default port
//! dropped, dot segments and percent-encoding as RFC 3986 §6.2.2–6.2.3 by the `url` crate;
//! query and fragment ignored on both sides, §4.3 step 9), `iat` within
//! [`DpopOptions::max_age_seconds`] in the past and [`DpopOptions::future_leeway_seconds`] in the
//! future, `ath` equal to the base64url SHA-256 of the access token; last, the `jti` must not
//! have been seen with this key while such a proof could still be accepted ([`ReplayCache`]).
//!
//! Keys are only ever taken from the proof's own `jwk` header (`jku`, `x5u`, `x5c`, `kid` are not
//! followed): what binds it is the thumbprint the issuer signed into the token.
//!
//! # Replays across gateways
//! The replay cache is per verifier, so per process: a proof captured on its way to one replica
//! can be replayed to another within the acceptance window ([`DpopOptions::max_age_seconds`],
//! 60 s by default) if the method and URI match. Keep the window short, or share seen `jti`s
//! through the fleet's broker; RFC 9449 §11.1 leaves the strategy to the server.
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::algorithm::Algorithm;
use super::error::TokenError;
use super::parse;

/// Default cap on a proof's length (the `jwk` of an RSA-4096 key fits several times).
pub const DEFAULT_MAX_PROOF_BYTES: usize = 8 * 1024;
/// Default age after which a proof is refused as stale, in seconds.
pub const DEFAULT_PROOF_MAX_AGE_SECONDS: u32 = 60;
/// Default tolerance for a proof `iat` ahead of the verifier's clock, in seconds.
pub const DEFAULT_PROOF_FUTURE_LEEWAY_SECONDS: u32 = 5;
/// Default number of proofs remembered for replay detection.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;
/// Longest `jti` accepted in a proof (RFC 9449 asks for at least 96 bits of randomness; 256
/// bytes leaves room for any encoding of that and bounds what the replay cache hashes).
pub const MAX_PROOF_JTI_BYTES: usize = 256;
/// RSA moduli below 2048 bits are refused, as for the issuer's own keys (NIST SP 800-57).
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// How an issuer's tokens are checked for DPoP binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DpopMode {
    /// A token with `cnf.jkt` needs a valid proof; a token without one is a bearer token (a
    /// proof sent with it is not examined, RFC 9449 §7.2).
    #[default]
    Accept,
    /// Every token must be DPoP-bound and come with a valid proof: bearer tokens are refused.
    Require,
    /// Proofs are not examined and `cnf.jkt` is not enforced: only for a deployment where a
    /// component in front of Warrant verified the proof. A bound token is then a bearer token.
    Ignore,
}

/// Verifier-wide DPoP settings (built like [`VerifyOptions`](super::VerifyOptions), with
/// `..DpopOptions::default()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopOptions {
    /// Proof signature algorithms accepted; HMAC algorithms are never accepted (a proof must
    /// be signed by a key only the agent holds).
    pub algorithms: Vec<Algorithm>,
    /// A proof whose `iat` is older than this many seconds is stale.
    pub max_age_seconds: u32,
    /// A proof whose `iat` is further than this many seconds in the future is refused.
    pub future_leeway_seconds: u32,
    /// Proofs remembered for replay detection; when full of proofs still inside their window,
    /// new proofs are refused (`dpop_replay_cache_full`) rather than old ones forgotten.
    pub replay_capacity: usize,
    /// Proofs longer than this are refused before any decoding.
    pub max_proof_bytes: usize,
    /// Server nonces (RFC 9449 §8): when set, a proof must carry a `nonce` this server issued
    /// recently (`use_dpop_nonce` otherwise, with [`TokenVerifier::dpop_nonce`] to send).
    ///
    /// [`TokenVerifier::dpop_nonce`]: super::TokenVerifier::dpop_nonce
    pub nonces: Option<DpopNonces>,
}

/// Stateless server nonces: the nonce of a time window is an HMAC of the window's index, so
/// any verifier with the same secret issues and accepts the same nonces (replicas can share
/// one). A nonce is accepted in its window and the next: for `lifetime_seconds` to twice that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopNonces {
    /// Signs the nonces.
    pub secret: NonceSecret,
    /// Length of a nonce window, in seconds (at least 1).
    pub lifetime_seconds: u32,
}

/// The secret behind server nonces, at least [`MIN_NONCE_SECRET_BYTES`]; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct NonceSecret(Vec<u8>);

/// The shortest nonce secret accepted (as for HMAC keys, RFC 7518 §3.2).
pub const MIN_NONCE_SECRET_BYTES: usize = 32;

impl NonceSecret {
    /// `bytes` as a nonce secret; `None` when shorter than [`MIN_NONCE_SECRET_BYTES`].
    pub fn new(bytes: Vec<u8>) -> Option<NonceSecret> {
        (bytes.len() >= MIN_NONCE_SECRET_BYTES).then_some(NonceSecret(bytes))
    }
}

impl std::fmt::Debug for NonceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceSecret(<redacted>)")
    }
}

impl DpopNonces {
    /// The nonce a client must put in its proofs from `now` on.
    pub fn current(&self, now: i64) -> String {
        self.nonce_of(self.window(now))
    }

    fn accepts(&self, nonce: &str, now: i64) -> bool {
        let window = self.window(now);
        nonce == self.nonce_of(window) || nonce == self.nonce_of(window.saturating_sub(1))
    }

    fn window(&self, now: i64) -> i64 {
        now.div_euclid(i64::from(self.lifetime_seconds.max(1)))
    }

    fn nonce_of(&self, window: i64) -> String {
        use hmac::Mac;
        let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(&self.secret.0) else {
            // HMAC takes a key of any length; unreachable, and an empty nonce matches no proof.
            return String::new();
        };
        mac.update(b"warrant dpop nonce ");
        mac.update(&window.to_be_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

impl Default for DpopOptions {
    fn default() -> Self {
        DpopOptions {
            algorithms: vec![Algorithm::ES256, Algorithm::ES384, Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA],
            max_age_seconds: DEFAULT_PROOF_MAX_AGE_SECONDS,
            future_leeway_seconds: DEFAULT_PROOF_FUTURE_LEEWAY_SECONDS,
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
            max_proof_bytes: DEFAULT_MAX_PROOF_BYTES,
            nonces: None,
        }
    }
}

/// The HTTP request a DPoP proof must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTarget<'a> {
    /// The request method, as sent (`GET`, `POST`, ...; compared case-sensitively).
    pub method: &'a str,
    /// The absolute request URI (`https://api.example/orders/42?page=2`); query and fragment
    /// are ignored.
    pub uri: &'a str,
}

/// Remembers `(key thumbprint, jti)` pairs until their proofs could no longer be accepted.
pub(crate) struct ReplayCache {
    capacity: usize,
    state: Mutex<ReplayState>,
}

#[derive(Default)]
struct ReplayState {
    /// Digest of (thumbprint, jti) → last second a proof with it is acceptable.
    seen: HashMap<[u8; 32], i64>,
    /// (forget_after, digest), soonest first.
    by_expiry: BTreeSet<(i64, [u8; 32])>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> ReplayCache {
        ReplayCache { capacity, state: Mutex::new(ReplayState::default()) }
    }

    /// Records the proof, or refuses it as a replay (or because the cache is full).
    fn record(&self, thumbprint: &str, jti: &str, forget_after: i64, now: i64) -> Result<(), TokenError> {
        let mut hasher = Sha256::new();
        hasher.update(thumbprint.as_bytes());
        hasher.update([0]);
        hasher.update(jti.as_bytes());
        let digest: [u8; 32] = hasher.finalize().into();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(&(expiry, old)) = state.by_expiry.first() {
            if expiry >= now {
                break;
            }
            state.by_expiry.pop_first();
            state.seen.remove(&old);
        }
        if state.seen.contains_key(&digest) {
            return Err(TokenError::DpopReplay);
        }
        if state.seen.len() >= self.capacity {
            return Err(TokenError::DpopReplayCacheFull { capacity: self.capacity });
        }
        state.seen.insert(digest, forget_after);
        state.by_expiry.insert((forget_after, digest));
        Ok(())
    }
}

/// Verifies `proof` for a token bound to `expected_jkt`, presented on `target`, at `now`.
pub(crate) fn verify_proof(
    proof: &str,
    access_token: &str,
    expected_jkt: &str,
    target: &HttpTarget<'_>,
    options: &DpopOptions,
    replays: &ReplayCache,
    now: i64,
) -> Result<(), TokenError> {
    let invalid = TokenError::DpopInvalidProof;
    let segments =
        parse::split(proof, options.max_proof_bytes).map_err(|_| invalid("not a compact JWS within the size limit"))?;
    let header = parse::decode_header(&segments).map_err(|_| invalid("header is not a base64url JSON object"))?;
    let alg = proof_algorithm(&header, options)?;
    if !header.get("typ").and_then(Value::as_str).is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt")) {
        return Err(invalid("header `typ` must be `dpop+jwt`"));
    }
    if header.contains_key("crit") {
        return Err(invalid("header carries a `crit` extension"));
    }
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(invalid("header `jwk` must be a JSON object (the public key)"));
    };
    if PRIVATE_JWK_MEMBERS.iter().any(|member| jwk.contains_key(*member)) {
        return Err(invalid("header `jwk` holds private key material"));
    }
    if thumbprint(jwk)? != expected_jkt {
        return Err(TokenError::DpopKeyMismatch);
    }
    let key = public_key(jwk, alg)?;
    let (message, signature) = proof.rsplit_once('.').ok_or(invalid("not a compact JWS"))?;
    if !jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, alg.jwt()).unwrap_or(false) {
        return Err(TokenError::DpopBadSignature);
    }
    let claims = parse::decode_payload(&segments).map_err(|_| invalid("payload is not a base64url JSON object"))?;
    let text = |name: &'static str| claims.get(name).and_then(Value::as_str).ok_or(invalid(missing_message(name)));
    let jti = text("jti")?;
    if jti.is_empty() || jti.len() > MAX_PROOF_JTI_BYTES {
        return Err(invalid("claim `jti` must be 1 to 256 bytes"));
    }
    if text("htm")? != target.method {
        return Err(TokenError::DpopWrongMethod);
    }
    let proof_uri = normalized_uri(text("htu")?);
    if proof_uri.is_none() || proof_uri != normalized_uri(target.uri) {
        return Err(TokenError::DpopWrongUri);
    }
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or(invalid(missing_message("iat")))?;
    let max_age = i64::from(options.max_age_seconds);
    if iat < now.saturating_sub(max_age) || iat > now.saturating_add(i64::from(options.future_leeway_seconds)) {
        return Err(TokenError::DpopStaleProof { iat, now });
    }
    if text("ath")? != sha256_base64url(access_token.as_bytes()) {
        return Err(TokenError::DpopWrongTokenHash);
    }
    if let Some(nonces) = &options.nonces {
        if !claims.get("nonce").and_then(Value::as_str).is_some_and(|nonce| nonces.accepts(nonce, now)) {
            return Err(TokenError::DpopNonceRequired);
        }
    }
    replays.record(expected_jkt, jti, iat.saturating_add(max_age), now)
}

fn missing_message(claim: &'static str) -> &'static str {
    match claim {
        "jti" => "claim `jti` is missing or not a string",
        "htm" => "claim `htm` is missing or not a string",
        "htu" => "claim `htu` is missing or not a string",
        "iat" => "claim `iat` is missing or not an integer",
        _ => "claim `ath` is missing or not a string",
    }
}

/// The header's `alg`, if it is an asymmetric algorithm the options accept.
fn proof_algorithm(header: &Map<String, Value>, options: &DpopOptions) -> Result<Algorithm, TokenError> {
    let Some(Value::String(name)) = header.get("alg") else {
        return Err(TokenError::DpopInvalidProof("header `alg` must be a string"));
    };
    let refused = || TokenError::DpopAlgorithmNotAllowed { alg: name.chars().take(16).collect() };
    let alg = Algorithm::from_str(name).map_err(|_| refused())?;
    let symmetric = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
    if symmetric || !options.algorithms.contains(&alg) {
        return Err(refused());
    }
    Ok(alg)
}

/// The RFC 7638 thumbprint (base64url SHA-256) of a public JWK: its required members only, in
/// lexicographic order, no whitespace (serde_json's map is ordered by key).
pub(crate) fn thumbprint(jwk: &Map<String, Value>) -> Result<String, TokenError> {
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or(TokenError::DpopInvalidProof("header `jwk` lacks a member its key type requires"))
    };
    let canonical = match member("kty")? {
        "EC" => json!({ "crv": member("crv")?, "kty": "EC", "x": member("x")?, "y": member("y")? }),
        "RSA" => json!({ "e": member("e")?, "kty": "RSA", "n": member("n")? }),
        "OKP" => json!({ "crv": member("crv")?, "kty": "OKP", "x": member("x")? }),
        _ => return Err(TokenError::DpopInvalidProof("header `jwk` is not an EC, RSA or OKP public key")),
    };
    Ok(sha256_base64url(canonical.to_string().as_bytes()))
}

/// base64url (no padding) of the SHA-256 of `bytes`: `ath`, RFC 7638 and RFC 8705 thumbprints.
pub(crate) fn sha256_base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

/// The proof's public key, if its type (and curve or size) fits `alg`.
fn public_key(jwk: &Map<String, Value>, alg: Algorithm) -> Result<DecodingKey, TokenError> {
    let unusable = TokenError::DpopInvalidProof("header `jwk` is not a usable public key for the proof's `alg`");
    let parsed: Jwk = serde_json::from_value(Value::Object(jwk.clone())).map_err(|_| unusable.clone())?;
    let fits = match &parsed.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => {
            matches!(
                (&ec.curve, alg),
                (EllipticCurve::P256, Algorithm::ES256) | (EllipticCurve::P384, Algorithm::ES384)
            )
        }
        AlgorithmParameters::RSA(rsa) => {
            let modulus = URL_SAFE_NO_PAD.decode(&rsa.n).map_err(|_| unusable.clone())?;
            let significant = modulus.iter().skip_while(|&&byte| byte == 0).count();
            significant >= MIN_RSA_MODULUS_BYTES
                && matches!(
                    alg,
                    Algorithm::RS256
                        | Algorithm::RS384
                        | Algorithm::RS512
                        | Algorithm::PS256
                        | Algorithm::PS384
                        | Algorithm::PS512
                )
        }
        AlgorithmParameters::OctetKeyPair(okp) => okp.curve == EllipticCurve::Ed25519 && alg == Algorithm::EdDSA,
        _ => false,
    };
    if !fits {
        return Err(unusable);
    }
    DecodingKey::from_jwk(&parsed).map_err(|_| unusable)
}

/// `uri` without query and fragment, normalised (RFC 3986 §6.2.2–6.2.3 as the WHATWG URL
/// parser applies them); `None` unless it is an absolute `http` or `https` URI.
fn normalized_uri(uri: &str) -> Option<String> {
    let mut parsed = url::Url::parse(uri).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return None;
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    Some(parsed.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// RFC 7638 §3.1's example key and thumbprint.
    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let Value::Object(jwk) = jwk else { unreachable!() };
        assert_eq!(thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn uris_compare_after_normalisation_without_query_or_fragment() {
        let same = ["https://API.example:443/a/b?x=1#f", "HTTPS://api.example/a/./b", "https://api.example/a/b"];
        for uri in same {
            assert_eq!(normalized_uri(uri).as_deref(), Some("https://api.example/a/b"), "{uri}");
        }
        assert_ne!(normalized_uri("https://api.example/A/b"), normalized_uri("https://api.example/a/b"));
        assert_ne!(normalized_uri("https://api.example:8443/a"), normalized_uri("https://api.example/a"));
        assert_eq!(normalized_uri("ftp://api.example/a"), None);
        assert_eq!(normalized_uri("/relative/path"), None);
    }

    #[test]
    fn the_replay_cache_refuses_a_second_use_forgets_expired_proofs_and_never_evicts_live_ones() {
        let cache = ReplayCache::new(2);
        cache.record("key", "a", 100, 50).unwrap();
        assert!(matches!(cache.record("key", "a", 100, 60), Err(TokenError::DpopReplay)));
        // Another key may use the same jti.
        cache.record("other", "a", 100, 60).unwrap();
        assert!(matches!(cache.record("key", "b", 100, 60), Err(TokenError::DpopReplayCacheFull { capacity: 2 })));
        // Past their window the entries are forgotten, making room.
        cache.record("key", "b", 200, 101).unwrap();
    }

    #[test]
    fn a_nonce_lives_in_its_window_and_the_next_only() {
        let nonces = DpopNonces { secret: NonceSecret::new(vec![7; 32]).unwrap(), lifetime_seconds: 300 };
        let issued = nonces.current(1_000);
        assert!(nonces.accepts(&issued, 1_000));
        assert!(nonces.accepts(&issued, 1_199), "same window");
        assert!(nonces.accepts(&issued, 1_499), "the next window");
        assert!(!nonces.accepts(&issued, 1_500), "two windows later");
        assert!(!nonces.accepts("made-up", 1_000));
        let other = DpopNonces { secret: NonceSecret::new(vec![8; 32]).unwrap(), lifetime_seconds: 300 };
        assert!(!other.accepts(&issued, 1_000), "another secret's nonce");
        assert!(NonceSecret::new(vec![1; 31]).is_none());
        assert_eq!(format!("{:?}", nonces.secret), "NonceSecret(<redacted>)");
    }
}
