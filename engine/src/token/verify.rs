//! Bearer token in, verified claims (and a decision [`Request`]) out.
//!
//! Order of checks, cheapest and most dangerous first: size cap, three segments, header
//! (`alg: none`, unknown `alg`, `crit`, optionally `typ`), issuer (from the still-unverified
//! `iss`), the issuer's algorithm allow-list, key selection by `kid` with key-type/algorithm
//! match, then jsonwebtoken verifies the signature, `iss` and `aud`, then the required claims
//! (`sub` at every level, `iat`/`jti`/`client_id` as [`VerifyOptions`] says), and finally the
//! validity window is checked against the caller's `now`. Any failure is a typed [`TokenError`]
//! and a deny.
//!
//! # Keys that change at run time
//! Each issuer's key set sits behind an [`ArcSwapOption`]: verification loads it without a lock,
//! [`TokenVerifier::replace_keys`] swaps in a new set checked exactly as at construction (a bad
//! set is refused and the old one stays). An issuer configured with [`KeySource::Remote`] starts
//! without keys and refuses its tokens as [`TokenError::KeysUnavailable`] until the first set
//! arrives. Replacing a set empties the verified-token cache, so a token signed by a withdrawn
//! key is not served from it.
//!
//! # Tokens bound to a key
//! A token whose `cnf` names a key (`jkt`, RFC 9449 DPoP) is accepted only with a valid proof
//! of possession of that key for the request ([`Presentation`]); without one it is refused
//! (`dpop_proof_required`), whatever the entry point, so a stolen bound token is worthless.
//! A `cnf` with a confirmation method this verifier does not check is refused
//! (`unsupported_confirmation`), never taken for a bearer token. Per issuer, [`DpopMode`] can
//! also require binding, or leave it to a component in front. The signature checks of a
//! token are cached; its binding is checked on every presentation.
use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use jsonwebtoken::Validation;

use super::algorithm::Algorithm;
use serde_json::{Map, Value};
use warrant_lang::request::{ClaimMapping, Request};

use super::audience::AudienceBinding;
use super::cache::{self, CacheStats, VerifiedTokenCache};
use super::claims;
use super::dpop::{self, DpopMode, DpopOptions, HttpTarget, ReplayCache};
use super::error::{ConfigError, TokenError};
use super::keys::{IssuerKeys, KeySource, VerificationKey};
use super::parse;
use super::time;

/// Default cap on the token length: generous for RFC 9068 tokens with delegation chains, small
/// enough that decoding and hashing stay cheap for hostile input.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Default clock leeway for `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_LEEWAY_SECONDS: u32 = 60;
/// Default number of verified tokens kept.
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// One trusted token issuer.
#[derive(Debug)]
pub struct IssuerConfig {
    /// Exact `iss` value.
    pub issuer: String,
    /// Accepted `aud` values; a token must name at least one. Must not be empty.
    pub audiences: Vec<String>,
    /// Signature algorithms accepted from this issuer; each needs a key that can verify it.
    pub algorithms: Vec<Algorithm>,
    /// Where this issuer's keys come from (several sources allow key rotation);
    /// `[KeySource::Remote]` alone for keys supplied later by [`TokenVerifier::replace_keys`].
    pub keys: Vec<KeySource>,
    /// Whether this issuer's tokens may, must, or are not checked to be DPoP-bound.
    pub dpop: DpopMode,
}

/// Verifier-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway_seconds: u32,
    /// Tokens longer than this are refused before any decoding.
    pub max_token_bytes: usize,
    /// How claims become a [`Request`] (instance claim name, chain depth bound).
    pub mapping: ClaimMapping,
    /// Verified tokens kept in memory; 0 disables the cache.
    pub cache_capacity: usize,
    /// Refuse tokens whose header `typ` is not `at+jwt` (RFC 9068 §4), so an ID token or other
    /// JWT from the same issuer cannot be replayed as an access token. Off by default because
    /// many issuers still send `typ: JWT`; turn it on for issuers that comply.
    pub require_access_token_type: bool,
    /// Refuse tokens without `iat` (RFC 9068 §2.2). On by default: issuers send it in practice,
    /// and token-age rules (`now - iat`, `exp - iat`) need it. Off only for issuers that omit it.
    pub require_iat: bool,
    /// Refuse tokens without `jti` (RFC 9068 §2.2). Off by default because common issuers omit
    /// it or use another name; turn it on when revoking tokens by `jti` (`revoked_jtis`) must
    /// cover every token.
    pub require_jti: bool,
    /// Refuse tokens without `client_id` (RFC 9068 §2.2). Off by default because common issuers
    /// name the client otherwise (`azp`, `cid`, `appid`); turn it on when revoking clients
    /// (`revoked_client_ids`) must cover every token.
    pub require_client_id: bool,
    /// How DPoP proofs are checked (algorithms, freshness window, replay cache size).
    pub dpop: DpopOptions,
    /// Whether a token must have been issued for the resource of the request (RFC 8707);
    /// applies where the resource is known ([`TokenVerifier::request`] and what calls it).
    pub audience_binding: AudienceBinding,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            leeway_seconds: DEFAULT_LEEWAY_SECONDS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            mapping: ClaimMapping::default(),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            require_access_token_type: false,
            require_iat: true,
            require_jti: false,
            require_client_id: false,
            dpop: DpopOptions::default(),
            audience_binding: AudienceBinding::default(),
        }
    }
}

/// What a caller presents: the access token and, for a DPoP-bound token, the proof (the `DPoP`
/// header) and the HTTP request it must have been made for. Holds credentials: no `Debug`.
#[derive(Clone, Copy)]
pub struct Presentation<'a> {
    /// The access token (without its `Bearer`/`DPoP` scheme).
    pub token: &'a str,
    /// The DPoP proof JWT, if one came with the call.
    pub dpop_proof: Option<&'a str>,
    /// The request the proof must name; needed to accept a DPoP-bound token.
    pub target: Option<HttpTarget<'a>>,
    /// The client's TLS certificate (DER), as the TLS layer in front authenticated it; needed
    /// to accept a certificate-bound token (RFC 8705).
    pub client_certificate: Option<&'a [u8]>,
}

impl<'a> Presentation<'a> {
    /// A token alone: accepted only if it is not bound to a key.
    pub fn bearer(token: &'a str) -> Presentation<'a> {
        Presentation { token, dpop_proof: None, target: None, client_certificate: None }
    }
}

/// How a verified token is tied to the caller who presented it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenBinding {
    /// Not tied to anything: whoever holds the token can use it.
    Bearer,
    /// Bound to the key of `cnf.jkt`, and this call came with a valid DPoP proof by it.
    Dpop,
    /// Bound to a client certificate (`cnf.x5t#S256`, RFC 8705), and this call came over TLS
    /// with that certificate.
    Certificate,
}

impl TokenBinding {
    /// The request's `binding` value (`bearer`, `dpop`, `mtls`), as policies read it.
    pub fn name(self) -> &'static str {
        match self {
            TokenBinding::Bearer => "bearer",
            TokenBinding::Dpop => "dpop",
            TokenBinding::Certificate => "mtls",
        }
    }
}

/// A token verified for one presentation: its claims (shared with the cache) and its binding.
#[derive(Debug, Clone)]
pub struct PresentedToken {
    /// The verified claims.
    pub verified: Arc<VerifiedClaims>,
    /// How the token is tied to this caller.
    pub binding: TokenBinding,
}

/// Claims whose signature, issuer and audience were verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedClaims {
    /// The configured issuer that vouched for the token.
    pub issuer: String,
    /// The algorithm the signature was verified with.
    pub algorithm: Algorithm,
    /// The `kid` of the key used, if the token named one.
    pub key_id: Option<String>,
    /// Every claim of the payload.
    pub claims: Map<String, Value>,
}

/// Verifies bearer tokens against configured issuers. `Send + Sync`: share one per process.
pub struct TokenVerifier {
    issuers: HashMap<String, TrustedIssuer>,
    options: VerifyOptions,
    cache: VerifiedTokenCache<VerifiedClaims>,
    /// DPoP proofs seen, for replay detection.
    replays: ReplayCache,
}

/// Shows configuration, never keys.
impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut issuers: Vec<&String> = self.issuers.keys().collect();
        issuers.sort();
        f.debug_struct("TokenVerifier")
            .field("issuers", &issuers)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

struct TrustedIssuer {
    /// None until a remote issuer's first key set arrives.
    keys: ArcSwapOption<IssuerKeys>,
    /// One jsonwebtoken validation per allowed algorithm; this map *is* the allow-list.
    validations: HashMap<Algorithm, Validation>,
    /// The allow-list in configuration order, for checking (and naming) keys that replace.
    algorithms: Vec<Algorithm>,
    dpop: DpopMode,
}

impl TokenVerifier {
    /// Builds a verifier, refusing configurations that could not verify safely (no audience,
    /// an allowed algorithm without a matching key, weak or malformed keys, duplicates).
    pub fn new(issuers: Vec<IssuerConfig>, options: VerifyOptions) -> Result<Self, ConfigError> {
        if issuers.is_empty() {
            return Err(ConfigError::NoIssuers);
        }
        let mut trusted = HashMap::new();
        for config in issuers {
            let issuer = TrustedIssuer::new(&config)?;
            if trusted.insert(config.issuer.clone(), issuer).is_some() {
                return Err(ConfigError::DuplicateIssuer(config.issuer));
            }
        }
        let cache = VerifiedTokenCache::new(options.cache_capacity);
        let replays = ReplayCache::new(options.dpop.replay_capacity);
        Ok(TokenVerifier { issuers: trusted, options, cache, replays })
    }

    /// The settings this verifier was built with.
    pub fn options(&self) -> &VerifyOptions {
        &self.options
    }

    /// Verifies a token presented alone at time `now` (Unix seconds), using the cache when it
    /// can. A token bound to a key is refused: it needs [`TokenVerifier::verify_presented`].
    pub fn verify(&self, token: &str, now: i64) -> Result<Arc<VerifiedClaims>, TokenError> {
        self.verify_presented(&Presentation::bearer(token), now).map(|presented| presented.verified)
    }

    /// Verifies a presented token (and its DPoP proof, when it is bound) at time `now`.
    pub fn verify_presented(&self, presented: &Presentation<'_>, now: i64) -> Result<PresentedToken, TokenError> {
        let verified = self.verify_signed(presented.token, now)?;
        let binding = self.check_binding(&verified, presented, now)?;
        Ok(PresentedToken { verified, binding })
    }

    /// Signature, issuer, audience, required claims and validity window (cached).
    fn verify_signed(&self, token: &str, now: i64) -> Result<Arc<VerifiedClaims>, TokenError> {
        let segments = parse::split(token, self.options.max_token_bytes)?;
        let header = parse::check_header(&parse::decode_header(&segments)?)?;
        if self.options.require_access_token_type && !header.is_access_token_type {
            return Err(TokenError::NotAnAccessToken);
        }
        let digest = cache::digest(token);
        // Read before the keys are loaded: a result verified with keys replaced meanwhile is
        // then not cached (see `cache`).
        let epoch = self.cache.epoch();
        if let Some(verified) = self.cache.get(&digest, now) {
            time::check_validity_window(&verified.claims, now, self.options.leeway_seconds)?;
            return Ok(verified);
        }
        let unverified_claims = parse::decode_payload(&segments)?;
        let (issuer_name, issuer) = self.issuer_of(&unverified_claims)?;
        let validation =
            issuer.validations.get(&header.alg).ok_or(TokenError::AlgorithmNotAllowed { alg: header.alg })?;
        let keys = issuer.keys.load();
        let keys = keys.as_deref().ok_or(TokenError::KeysUnavailable)?;
        let key = keys.select(header.kid.as_deref(), header.alg)?;
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, key.decoding_key(), validation).map_err(|error| {
                match error.kind() {
                    jsonwebtoken::errors::ErrorKind::Json(_) if signature_verifies(token, key, header.alg) => {
                        // A signed payload we parsed, with a registered claim jsonwebtoken reads into
                        // a fixed type (`sub` or a time as an object, say): name that claim.
                        self.check_claims(&unverified_claims, now).err().unwrap_or_else(|| TokenError::from_jose(error))
                    }
                    _ => TokenError::from_jose(error),
                }
            })?;
        let expires_at = self.check_claims(&data.claims, now)?;
        let verified = Arc::new(VerifiedClaims {
            issuer: issuer_name.clone(),
            algorithm: header.alg,
            key_id: header.kid,
            claims: data.claims,
        });
        self.cache.insert(digest, Arc::clone(&verified), expires_at, now, epoch);
        Ok(verified)
    }

    /// Replaces the keys of `issuer` with `keys`, checked exactly as at construction (weak or
    /// malformed keys, duplicate `kid`s, an allowed algorithm no key can verify, no key at
    /// all). On error the keys in force stay. Verifications running meanwhile finish with the
    /// set they loaded; later ones use the new set. The verified-token cache is emptied.
    pub fn replace_keys(&self, issuer: &str, keys: Vec<KeySource>) -> Result<(), ConfigError> {
        let trusted = self.issuers.get(issuer).ok_or_else(|| ConfigError::UnknownIssuer(issuer.to_string()))?;
        let loaded = IssuerKeys::load(issuer, &keys)?;
        if let Some(&alg) = trusted.algorithms.iter().find(|&&alg| !loaded.supports(alg)) {
            return Err(ConfigError::AlgorithmWithoutKey { issuer: issuer.to_string(), alg });
        }
        trusted.keys.store(Some(Arc::new(loaded)));
        self.cache.clear();
        Ok(())
    }

    /// Whether `issuer` is configured and has keys (false for a remote issuer whose first key
    /// set has not arrived).
    pub fn has_keys(&self, issuer: &str) -> bool {
        self.issuers.get(issuer).is_some_and(|trusted| trusted.keys.load().is_some())
    }

    /// Hits and misses of the verified-token cache since the verifier was built.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Verifies `token`, presented alone, and maps its claims to a decision request (see
    /// [`super`] for the mapping), with what the gateway knows about the call.
    pub fn request(
        &self,
        token: &str,
        resource: Option<String>,
        action: Option<String>,
        now: i64,
    ) -> Result<Request, TokenError> {
        self.request_presented(&Presentation::bearer(token), resource, action, now)
    }

    /// [`TokenVerifier::request`] for a presentation that may carry a DPoP proof; the
    /// request's `binding` says how the token is tied to the caller.
    pub fn request_presented(
        &self,
        presented: &Presentation<'_>,
        resource: Option<String>,
        action: Option<String>,
        now: i64,
    ) -> Result<Request, TokenError> {
        // The audience first: a token issued for another resource is refused before its DPoP
        // proof costs a signature check and a replay-cache entry.
        let verified = self.verify_signed(presented.token, now)?;
        self.options.audience_binding.check(&verified.claims, resource.as_deref())?;
        let binding = self.check_binding(&verified, presented, now)?;
        let mut request =
            Request::from_claims(verified.claims.clone(), resource, action, Some(now), &self.options.mapping)?;
        request.binding = Some(binding.name().to_string());
        Ok(request)
    }

    /// The token's binding, checked against what came with it (see the module docs).
    fn check_binding(
        &self,
        verified: &VerifiedClaims,
        presented: &Presentation<'_>,
        now: i64,
    ) -> Result<TokenBinding, TokenError> {
        let mode = self.issuers.get(&verified.issuer).map_or(DpopMode::Require, |issuer| issuer.dpop);
        let confirmation = Confirmation::of(&verified.claims)?;
        if let Some(expected) = confirmation.certificate {
            let certificate = presented.client_certificate.ok_or(TokenError::CertificateRequired)?;
            if certificate_thumbprint(certificate) != expected {
                return Err(TokenError::CertificateMismatch);
            }
        }
        let proven = match (confirmation.key, mode) {
            (_, DpopMode::Ignore) => false,
            (Some(jkt), _) => {
                let (Some(proof), Some(target)) = (presented.dpop_proof, presented.target) else {
                    return Err(TokenError::DpopProofRequired);
                };
                dpop::verify_proof(proof, presented.token, jkt, &target, &self.options.dpop, &self.replays, now)?;
                true
            }
            (None, DpopMode::Require) => return Err(TokenError::DpopRequired),
            (None, _) => false,
        };
        Ok(match (proven, confirmation.certificate) {
            (true, _) => TokenBinding::Dpop,
            (false, Some(_)) => TokenBinding::Certificate,
            (false, None) => TokenBinding::Bearer,
        })
    }

    /// The DPoP nonce clients must use from `now` on (the `DPoP-Nonce` header), when server
    /// nonces are on ([`DpopOptions::nonces`]).
    pub fn dpop_nonce(&self, now: i64) -> Option<String> {
        self.options.dpop.nonces.as_ref().map(|nonces| nonces.current(now))
    }

    /// Number of verified tokens currently cached (for metrics).
    pub fn cached_token_count(&self) -> usize {
        self.cache.len()
    }

    /// Required claims, then the validity window; returns when the token expires for good.
    fn check_claims(&self, claims: &Map<String, Value>, now: i64) -> Result<i64, TokenError> {
        claims::check_required_claims(claims, &self.options)?;
        time::check_validity_window(claims, now, self.options.leeway_seconds)
    }

    fn issuer_of(&self, claims: &Map<String, Value>) -> Result<(&String, &TrustedIssuer), TokenError> {
        match claims.get("iss") {
            None => Err(TokenError::MissingClaim("iss".to_string())),
            Some(Value::String(iss)) => self.issuers.get_key_value(iss).ok_or(TokenError::UnknownIssuer),
            Some(_) => Err(TokenError::InvalidClaim { claim: "iss", expected: "a string" }),
        }
    }
}

impl TrustedIssuer {
    fn new(config: &IssuerConfig) -> Result<Self, ConfigError> {
        if config.audiences.is_empty() {
            return Err(ConfigError::NoAudiences(config.issuer.clone()));
        }
        // `[Remote]` alone: no keys yet; `replace_keys` checks the algorithms when they come.
        let keys = match config.keys.as_slice() {
            [KeySource::Remote] => None,
            sources => Some(IssuerKeys::load(&config.issuer, sources)?),
        };
        let mut validations = HashMap::new();
        for &alg in &config.algorithms {
            if keys.as_ref().is_some_and(|keys| !keys.supports(alg)) {
                return Err(ConfigError::AlgorithmWithoutKey { issuer: config.issuer.clone(), alg });
            }
            validations.insert(alg, signature_issuer_audience_validation(config, alg));
        }
        if validations.is_empty() {
            return Err(ConfigError::NoAlgorithms(config.issuer.clone()));
        }
        Ok(TrustedIssuer {
            keys: ArcSwapOption::new(keys.map(Arc::new)),
            validations,
            algorithms: config.algorithms.clone(),
            dpop: config.dpop,
        })
    }
}

/// What a token's `cnf` (RFC 7800) binds it to.
struct Confirmation<'a> {
    /// `jkt` (RFC 9449 §6.1): the thumbprint of the DPoP key.
    key: Option<&'a str>,
    /// `x5t#S256` (RFC 8705 §3.1): base64url SHA-256 of the client certificate (DER).
    certificate: Option<&'a str>,
}

impl<'a> Confirmation<'a> {
    /// A `cnf` that is not an object, a member that is not a string, or a confirmation method
    /// this verifier does not check (`jwk`, `x5t`, ...) is refused, never read as "unbound".
    fn of(claims: &'a Map<String, Value>) -> Result<Confirmation<'a>, TokenError> {
        let cnf = match claims.get("cnf") {
            None => return Ok(Confirmation { key: None, certificate: None }),
            Some(Value::Object(cnf)) => cnf,
            Some(_) => return Err(TokenError::InvalidClaim { claim: "cnf", expected: "an object" }),
        };
        if let Some(method) = cnf.keys().find(|method| !matches!(method.as_str(), "jkt" | "x5t#S256")) {
            return Err(TokenError::UnsupportedConfirmation { method: method.chars().take(32).collect() });
        }
        let member = |name, claim| match cnf.get(name) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value.as_str())),
            Some(_) => Err(TokenError::InvalidClaim { claim, expected: "a string" }),
        };
        Ok(Confirmation { key: member("jkt", "cnf.jkt")?, certificate: member("x5t#S256", "cnf.x5t#S256")? })
    }
}

/// RFC 8705 §3.1: base64url (no padding) of the SHA-256 of the certificate's DER encoding.
pub fn certificate_thumbprint(der: &[u8]) -> String {
    dpop::sha256_base64url(der)
}

/// Whether the signature of `token` is good, for explaining an error jsonwebtoken reported after
/// (or instead of) checking it.
fn signature_verifies(token: &str, key: &VerificationKey, alg: Algorithm) -> bool {
    token.rsplit_once('.').is_some_and(|(message, signature)| {
        jsonwebtoken::crypto::verify(signature, message.as_bytes(), key.decoding_key(), alg.jwt()).unwrap_or(false)
    })
}

/// jsonwebtoken checks signature, `iss` and `aud` (both required); time is ours, because
/// jsonwebtoken reads the system clock and we need an injectable `now`.
fn signature_issuer_audience_validation(config: &IssuerConfig, alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg.jwt());
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&config.audiences);
    validation
}
