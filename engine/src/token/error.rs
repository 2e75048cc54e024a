//! Why a token or a verifier configuration was refused. Every [`TokenError`] is a deny; each
//! attack class has its own variant so audits and tests can tell them apart. Messages never
//! carry key material or token text.
use super::algorithm::Algorithm;
use warrant_lang::request::RequestError;

/// Why a presented token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("token is {size} bytes, more than the accepted maximum of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("unsecured token (`alg: none`) refused")]
    AlgNone,
    #[error("token `alg` is not a supported signature algorithm")]
    UnsupportedAlgorithm,
    #[error("token carries a `crit` header extension this verifier does not understand")]
    UnsupportedCriticalHeader,
    #[error("token `typ` is not `at+jwt` (RFC 9068 access token) as this verifier requires")]
    NotAnAccessToken,
    #[error("token issuer is not configured")]
    UnknownIssuer,
    #[error("algorithm `{alg:?}` is not allowed for this issuer")]
    AlgorithmNotAllowed { alg: Algorithm },
    #[error("token `kid` names no key of this issuer")]
    UnknownKeyId,
    #[error("token has no `kid` and the issuer has several keys for its algorithm")]
    KeyIdRequired,
    #[error("algorithm `{alg:?}` does not match the type or declared algorithm of the selected key")]
    KeyAlgorithmMismatch { alg: Algorithm },
    #[error("signature does not verify")]
    BadSignature,
    #[error("token audience is not one of this issuer's accepted audiences")]
    WrongAudience,
    #[error("required claim `{0}` is missing")]
    MissingClaim(String),
    /// No `sub` (or `sub: null`): RFC 9068 §2.2 requires it, and a request without a user must
    /// not reach a policy.
    #[error("token has no subject (`sub`)")]
    MissingSubject,
    /// An `act` level without `sub`: an actor nobody can name is not an actor. `act_depth` 1 is
    /// the outermost `act` (the current actor), deeper levels came earlier in the delegation.
    #[error("actor at `act` depth {act_depth} has no subject (`sub`)")]
    ActorWithoutSubject { act_depth: usize },
    /// A `sub` that is not a non-empty string; `act_depth` 0 is the token's own `sub`.
    #[error("{} must be a non-empty string", subject_name(*act_depth))]
    InvalidSubject { act_depth: usize },
    #[error("claim `{claim}` must be {expected}")]
    InvalidClaim { claim: &'static str, expected: &'static str },
    #[error("token expired at {exp} (now {now}, leeway included)")]
    Expired { exp: i64, now: i64 },
    #[error("token not valid before {nbf} (now {now}, leeway included)")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("token issued in the future at {iat} (now {now}, leeway included)")]
    IssuedInFuture { iat: i64, now: i64 },
    /// The caller's clock is outside the NumericDate range every time claim must lie in, so no
    /// validity window can be judged (and no policy arithmetic on `now` could be trusted).
    #[error("verification time {now} is outside 0..={max} (Unix seconds up to year 9999)")]
    ClockOutOfRange { now: i64, max: i64 },
    #[error("delegation chain deeper than the accepted maximum of {max} actors")]
    ChainTooDeep { max: usize },
    #[error("claims do not fit the request model: {0}")]
    ClaimShape(RequestError),
    #[error("the selected key cannot verify this token")]
    KeyUnusable,
    #[error("verification failed: {0}")]
    VerificationFailed(String),
}

impl TokenError {
    /// A stable, machine-readable name of the refusal class, for audit records and test vectors.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::TooLarge { .. } => "too_large",
            TokenError::Malformed(_) => "malformed",
            TokenError::AlgNone => "alg_none",
            TokenError::UnsupportedAlgorithm => "unsupported_algorithm",
            TokenError::UnsupportedCriticalHeader => "unsupported_critical_header",
            TokenError::NotAnAccessToken => "not_an_access_token",
            TokenError::UnknownIssuer => "unknown_issuer",
            TokenError::AlgorithmNotAllowed { .. } => "algorithm_not_allowed",
            TokenError::UnknownKeyId => "unknown_key_id",
            TokenError::KeyIdRequired => "key_id_required",
            TokenError::KeyAlgorithmMismatch { .. } => "key_algorithm_mismatch",
            TokenError::BadSignature => "bad_signature",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::MissingClaim(_) => "missing_claim",
            TokenError::MissingSubject => "missing_subject",
            TokenError::ActorWithoutSubject { .. } => "actor_without_subject",
            TokenError::InvalidSubject { .. } => "invalid_subject",
            TokenError::InvalidClaim { .. } => "invalid_claim",
            TokenError::Expired { .. } => "expired",
            TokenError::NotYetValid { .. } => "not_yet_valid",
            TokenError::IssuedInFuture { .. } => "issued_in_future",
            TokenError::ClockOutOfRange { .. } => "clock_out_of_range",
            TokenError::ChainTooDeep { .. } => "chain_too_deep",
            TokenError::ClaimShape(_) => "claim_shape",
            TokenError::KeyUnusable => "key_unusable",
            TokenError::VerificationFailed(_) => "verification_failed",
        }
    }
}

/// Where a `sub` sits, for messages: the token's own, or an actor's.
fn subject_name(act_depth: usize) -> String {
    match act_depth {
        0 => "token subject (`sub`)".to_string(),
        depth => format!("subject (`sub`) of the actor at `act` depth {depth}"),
    }
}

impl From<RequestError> for TokenError {
    fn from(error: RequestError) -> Self {
        match error {
            RequestError::ChainTooDeep { max } => TokenError::ChainTooDeep { max },
            other => TokenError::ClaimShape(other),
        }
    }
}

impl TokenError {
    /// Maps what jsonwebtoken reports after our own pre-checks into our refusal classes. A
    /// crate-private function, not a `From` impl, so the JOSE library's error type stays out of
    /// the public API.
    pub(crate) fn from_jose(error: jsonwebtoken::errors::Error) -> TokenError {
        use jsonwebtoken::errors::ErrorKind;
        match error.into_kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::InvalidIssuer => TokenError::UnknownIssuer,
            ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim),
            ErrorKind::Base64(_) => TokenError::Malformed("a segment is not canonical base64url"),
            ErrorKind::Json(_) | ErrorKind::Utf8(_) => TokenError::Malformed("a segment is not valid JSON"),
            ErrorKind::InvalidToken => TokenError::Malformed("not a compact JWS"),
            ErrorKind::InvalidKeyFormat
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey
            | ErrorKind::InvalidRsaKey(_) => TokenError::KeyUnusable,
            other => TokenError::VerificationFailed(format!("{other:?}")),
        }
    }
}

/// Why a verifier configuration was refused when it was built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("no issuer configured")]
    NoIssuers,
    #[error("issuer `{0}` is configured twice")]
    DuplicateIssuer(String),
    #[error("issuer `{0}` accepts no audience")]
    NoAudiences(String),
    #[error("issuer `{0}` allows no signature algorithm")]
    NoAlgorithms(String),
    #[error("issuer `{issuer}` allows `{alg:?}` but has no key able to verify it")]
    AlgorithmWithoutKey { issuer: String, alg: Algorithm },
    #[error("issuer `{issuer}` has two keys with kid `{kid}`")]
    DuplicateKeyId { issuer: String, kid: String },
    #[error("issuer `{0}` has no usable signature key")]
    NoKeys(String),
    #[error("JWKS is not valid JSON of the JWK Set shape ({category} at line {line}, column {column})")]
    InvalidJwks { category: &'static str, line: usize, column: usize },
    #[error("{} is invalid: {reason}", key_name(kid.as_deref()))]
    InvalidKey { kid: Option<String>, reason: &'static str },
    #[error("{} is too weak: {reason}", key_name(kid.as_deref()))]
    WeakKey { kid: Option<String>, reason: &'static str },
    #[error("cannot read key file `{path}`: {source}")]
    KeyFile { path: String, source: std::io::Error },
}

/// Names a key in messages: "key `rsa-1`", or "key without kid".
fn key_name(kid: Option<&str>) -> String {
    match kid {
        Some(kid) => format!("key `{kid}`"),
        None => "key without kid".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_errors_name_the_key_readably() {
        let named = ConfigError::InvalidKey { kid: Some("rsa-1".into()), reason: "bad RSA components" };
        assert_eq!(named.to_string(), "key `rsa-1` is invalid: bad RSA components");
        let unnamed = ConfigError::WeakKey { kid: None, reason: "HMAC secret shorter than 32 bytes" };
        assert_eq!(unnamed.to_string(), "key without kid is too weak: HMAC secret shorter than 32 bytes");
        let alg = ConfigError::AlgorithmWithoutKey { issuer: "https://idp".into(), alg: Algorithm::HS256 };
        assert_eq!(alg.to_string(), "issuer `https://idp` allows `HS256` but has no key able to verify it");
    }

    #[test]
    fn subject_errors_say_which_subject() {
        assert_eq!(TokenError::MissingSubject.to_string(), "token has no subject (`sub`)");
        assert_eq!(
            TokenError::ActorWithoutSubject { act_depth: 3 }.to_string(),
            "actor at `act` depth 3 has no subject (`sub`)"
        );
        assert_eq!(
            TokenError::InvalidSubject { act_depth: 0 }.to_string(),
            "token subject (`sub`) must be a non-empty string"
        );
        assert_eq!(
            TokenError::InvalidSubject { act_depth: 2 }.to_string(),
            "subject (`sub`) of the actor at `act` depth 2 must be a non-empty string"
        );
        assert_eq!(
            TokenError::AlgorithmNotAllowed { alg: Algorithm::RS256 }.to_string(),
            "algorithm `RS256` is not allowed for this issuer"
        );
    }
}
