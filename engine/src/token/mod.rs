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
//! Verification requires `iss` (a configured issuer), `aud` (one of its audiences) and `exp`;
//! `nbf` and `iat` are checked when present. [`inspect_unverified`] decodes without verifying,
//! for display only.
//!
//! [`Request`]: warrant_lang::request::Request
//! [`Request::from_claims`]: warrant_lang::request::Request::from_claims
//! [`ClaimMapping::instance_claim`]: warrant_lang::request::ClaimMapping::instance_claim
//! [`ClaimMapping::max_chain_depth`]: warrant_lang::request::ClaimMapping::max_chain_depth
mod cache;
mod error;
mod inspect;
mod keys;
mod parse;
mod time;
mod verify;

pub use error::{ConfigError, TokenError};
pub use inspect::{inspect_unverified, render_chain, UnverifiedTokenInspection};
pub use jsonwebtoken::Algorithm;
pub use keys::KeySource;
pub use verify::{
    IssuerConfig, TokenVerifier, VerifiedClaims, VerifyOptions, DEFAULT_CACHE_CAPACITY, DEFAULT_LEEWAY_SECONDS,
    DEFAULT_MAX_TOKEN_BYTES,
};
