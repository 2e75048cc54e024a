//! Verified JWT access tokens (RFC 9068) turned into decision [`Request`]s.
//!
//! [`TokenVerifier`] checks a bearer token against configured issuers — each with its own keys
//! ([`KeySource`]: JWKS, PEM, HMAC secret), algorithm allow-list and audiences — and every
//! failure is a distinct [`TokenError`], hence a deny. Verified tokens are cached by SHA-256.
//!
//! # Claims mapping
//! Done by [`Request::from_claims`] (warrant-lang), the single source of truth:
//! - `iss`, `sub`, `jti`, `client_id`: strings; `aud`: string or array; `scope`: space-separated
//!   string (RFC 9068) or array; `exp`, `iat`, `nbf`: integer seconds.
//! - the agent instance is the claim named by [`ClaimMapping::instance_claim`] (default
//!   `instance_id`), at the top level and in each `act` level.
//! - RFC 8693 nested `act`: the outermost `act` is the *current* actor, nested ones came
//!   earlier. `Request::chain` lists them in delegation order: `chain[0]` is the first actor
//!   the user delegated to (innermost `act`), the last is the current actor. Each level gives
//!   `sub`, `client_id` and the instance claim; depth is bounded by
//!   [`ClaimMapping::max_chain_depth`] (default 16).
//! - `may_act` and every other claim stay reachable as `claims.NAME`.
//!
//! # Required claims
//! RFC 9068 §2.2 makes `iss`, `exp`, `aud`, `sub`, `client_id`, `iat` and `jti` REQUIRED. The
//! verifier always requires the ones a decision cannot do without, and makes the others options
//! (fields of [`VerifyOptions`]), because an issuer that omits them cannot be made to add them
//! and an attacker cannot remove them (they are signed):
//!
//! | claim | required | refused as | why |
//! |---|---|---|---|
//! | `iss` | always | `missing_claim`, `unknown_issuer` | selects the keys |
//! | `aud` | always | `missing_claim`, `wrong_audience` | RFC 8707: not a token for another API |
//! | `exp` | always | `missing_claim`, `expired` | a token must stop working by itself |
//! | `sub` | always | `missing_subject`, `invalid_subject` | the user a decision is for |
//! | `act.sub` | always, every level | `actor_without_subject`, `invalid_subject` | names the actor |
//! | `iat` | by default (`require_iat`) | `missing_claim` | sent in practice; token-age rules need it |
//! | `jti` | if `require_jti` | `missing_claim` | often omitted; revoking by `jti` needs it |
//! | `client_id` | if `require_client_id` | `missing_claim` | often `azp`/`cid`; revoking clients needs it |
//!
//! RFC 8693 §4.1 does not itself require `sub` in `act` (its members are "claims that identify
//! the actor"); Warrant does, because policies identify actors by `sub`. Every `sub` must be a
//! non-empty string; `jti` and `client_id`, when present, strings. `typ: at+jwt` (RFC 9068 §4)
//! is enforced with [`VerifyOptions::require_access_token_type`].
//!
//! Times (`exp`, `nbf`, `iat`) are integer seconds in `0..=`[`MAX_NUMERIC_DATE`] (`invalid_claim`
//! otherwise), and so must the caller's `now` be (`clock_out_of_range`): no arithmetic on the
//! times of a verified token can overflow. `nbf` and `iat` are checked against `now` (with
//! leeway) when present. [`decode_unverified`] decodes without verifying, for display only.
//!
//! [`Request`]: warrant_lang::request::Request
//! [`Request::from_claims`]: warrant_lang::request::Request::from_claims
//! [`ClaimMapping::instance_claim`]: warrant_lang::request::ClaimMapping::instance_claim
//! [`ClaimMapping::max_chain_depth`]: warrant_lang::request::ClaimMapping::max_chain_depth
mod algorithm;
mod audience;
mod cache;
mod claims;
mod dpop;
mod error;
mod inspect;
mod keys;
mod parse;
mod time;
mod verify;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use audience::{AudienceBinding, ResourceAudience};
pub use cache::CacheStats;
pub use dpop::{
    DpopMode, DpopNonces, DpopOptions, HttpTarget, NonceSecret, DEFAULT_MAX_PROOF_BYTES,
    DEFAULT_PROOF_FUTURE_LEEWAY_SECONDS, DEFAULT_PROOF_MAX_AGE_SECONDS, DEFAULT_REPLAY_CAPACITY, MAX_PROOF_JTI_BYTES,
    MIN_NONCE_SECRET_BYTES,
};
pub use error::{ConfigError, TokenError};
pub use inspect::{decode_unverified, UnverifiedToken};
pub use keys::KeySource;
pub use time::MAX_NUMERIC_DATE;
pub use verify::{
    certificate_thumbprint, IssuerConfig, Presentation, PresentedToken, TokenBinding, TokenVerifier, VerifiedClaims,
    VerifyOptions, DEFAULT_CACHE_CAPACITY, DEFAULT_LEEWAY_SECONDS, DEFAULT_MAX_TOKEN_BYTES,
};
