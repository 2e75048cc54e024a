//! Why a token or a verifier configuration was refused. Every [`TokenError`] is a deny; each
//! attack class has its own variant so audits and tests can tell them apart. Messages never
//! carry key material or token text.
use jsonwebtoken::Algorithm;
use warrant_lang::request::RequestError;

/// Why a presented token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    #[error("algorithm {alg:?} is not allowed for this issuer")]
    AlgorithmNotAllowed { alg: Algorithm },
    #[error("token `kid` names no key of this issuer")]
    UnknownKeyId,
    #[error("token has no `kid` and the issuer has several keys for its algorithm")]
    KeyIdRequired,
    #[error("algorithm {alg:?} does not match the type or declared algorithm of the selected key")]
    KeyAlgorithmMismatch { alg: Algorithm },
    #[error("signature does not verify")]
    BadSignature,
    #[error("token audience is not one of this issuer's accepted audiences")]
    WrongAudience,
    #[error("required claim `{0}` is missing")]
    MissingClaim(String),
    #[error("claim `{claim}` must be {expected}")]
    InvalidClaim { claim: &'static str, expected: &'static str },
    #[error("token expired at {exp} (now {now}, leeway included)")]
    Expired { exp: i64, now: i64 },
    #[error("token not valid before {nbf} (now {now}, leeway included)")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("token issued in the future at {iat} (now {now}, leeway included)")]
    IssuedInFuture { iat: i64, now: i64 },
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
            TokenError::InvalidClaim { .. } => "invalid_claim",
            TokenError::Expired { .. } => "expired",
            TokenError::NotYetValid { .. } => "not_yet_valid",
            TokenError::IssuedInFuture { .. } => "issued_in_future",
            TokenError::ChainTooDeep { .. } => "chain_too_deep",
            TokenError::ClaimShape(_) => "claim_shape",
            TokenError::KeyUnusable => "key_unusable",
            TokenError::VerificationFailed(_) => "verification_failed",
        }
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

/// Maps what jsonwebtoken reports after our own pre-checks into our refusal classes.
impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
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
pub enum ConfigError {
    #[error("no issuer configured")]
    NoIssuers,
    #[error("issuer `{0}` is configured twice")]
    DuplicateIssuer(String),
    #[error("issuer `{0}` accepts no audience")]
    NoAudiences(String),
    #[error("issuer `{0}` allows no signature algorithm")]
    NoAlgorithms(String),
    #[error("issuer `{issuer}` allows {alg:?} but has no key able to verify it")]
    AlgorithmWithoutKey { issuer: String, alg: Algorithm },
    #[error("issuer `{issuer}` has two keys with kid `{kid}`")]
    DuplicateKeyId { issuer: String, kid: String },
    #[error("issuer `{0}` has no usable signature key")]
    NoKeys(String),
    #[error("JWKS is not valid JSON of the JWK Set shape ({category} at line {line}, column {column})")]
    InvalidJwks { category: &'static str, line: usize, column: usize },
    #[error("key {kid:?} is invalid: {reason}")]
    InvalidKey { kid: Option<String>, reason: &'static str },
    #[error("key {kid:?} is too weak: {reason}")]
    WeakKey { kid: Option<String>, reason: &'static str },
    #[error("cannot read key file `{path}`: {source}")]
    KeyFile { path: String, source: std::io::Error },
}
