//! Why a token or a verifier configuration was refused. Every [`TokenError`] is a deny; each
//! attack class has its own variant so audits and tests can tell them apart. Messages never
//! carry key material or token text.
use super::algorithm::Algorithm;
use warrant_lang::request::RequestError;

/// Why a presented token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is longer than [`VerifyOptions::max_token_bytes`](super::VerifyOptions::max_token_bytes);
    /// refused before any decoding so hostile input stays cheap.
    #[error("token is {size} bytes, more than the accepted maximum of {max}")]
    TooLarge {
        /// Length of the presented token, in bytes.
        size: usize,
        /// The configured cap, in bytes.
        max: usize,
    },
    /// Not a compact JWS: not three segments, a segment that is not canonical base64url or not
    /// a JSON object, or a header `alg`/`kid` of the wrong type. Holds which rule was broken.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header says `alg: none` (any letter case): an unsigned token is never accepted.
    #[error("unsecured token (`alg: none`) refused")]
    AlgNone,
    /// The header `alg` is none of the signature algorithms in [`Algorithm`].
    #[error("token `alg` is not a supported signature algorithm")]
    UnsupportedAlgorithm,
    /// The header has a `crit` member; RFC 7515 §4.1.11 makes the JWS invalid when a critical
    /// extension is not understood, and this verifier understands none.
    #[error("token carries a `crit` header extension this verifier does not understand")]
    UnsupportedCriticalHeader,
    /// [`VerifyOptions::require_access_token_type`](super::VerifyOptions::require_access_token_type)
    /// is on and the header `typ` is not `at+jwt` (so an ID token cannot pass as an access token).
    #[error("token `typ` is not `at+jwt` (RFC 9068 access token) as this verifier requires")]
    NotAnAccessToken,
    /// The `iss` names no configured issuer (looked up before the signature is checked, to
    /// choose the keys).
    #[error("token issuer is not configured")]
    UnknownIssuer,
    /// The issuer is known but its allow-list does not include the header's algorithm.
    #[error("algorithm `{alg:?}` is not allowed for this issuer")]
    AlgorithmNotAllowed {
        /// The algorithm the token's header asked for.
        alg: Algorithm,
    },
    /// The header `kid` names no key of the issuer. A caller that fetches keys at run time
    /// may take it as a hint that the issuer rotated its keys: refresh (rate-limited), then
    /// verify once more.
    #[error("token `kid` names no key of this issuer")]
    UnknownKeyId,
    /// The issuer's keys are fetched at run time ([`KeySource::Remote`](super::KeySource::Remote))
    /// and none has been obtained yet: nothing can be verified, so the token is refused.
    #[error("the issuer's keys are not available yet")]
    KeysUnavailable,
    /// The header has no `kid` and several of the issuer's keys fit the algorithm; keys are
    /// never tried one after another.
    #[error("token has no `kid` and the issuer has several keys for its algorithm")]
    KeyIdRequired,
    /// The selected key cannot verify this algorithm (wrong key type, curve or declared `alg`),
    /// or no key of the issuer fits it: refused to prevent key confusion.
    #[error("algorithm `{alg:?}` does not match the type or declared algorithm of the selected key")]
    KeyAlgorithmMismatch {
        /// The algorithm the token's header asked for.
        alg: Algorithm,
    },
    /// The signature does not verify with the selected key.
    #[error("signature does not verify")]
    BadSignature,
    /// `aud` names none of the issuer's accepted audiences (RFC 8707).
    #[error("token audience is not one of this issuer's accepted audiences")]
    WrongAudience,
    /// A claim the verifier requires (`iss`, `aud`, `exp`, and `iat`/`jti`/`client_id` as
    /// [`VerifyOptions`](super::VerifyOptions) says) is absent. Holds the claim name.
    #[error("required claim `{0}` is missing")]
    MissingClaim(String),
    /// No `sub` (or `sub: null`): RFC 9068 §2.2 requires it, and a request without a user must
    /// not reach a policy.
    #[error("token has no subject (`sub`)")]
    MissingSubject,
    /// An `act` level without `sub`: an actor nobody can name is not an actor. `act_depth` 1 is
    /// the outermost `act` (the current actor), deeper levels came earlier in the delegation.
    #[error("actor at `act` depth {act_depth} has no subject (`sub`)")]
    ActorWithoutSubject {
        /// Nesting level of the offending `act`, from 1 (outermost).
        act_depth: usize,
    },
    /// A `sub` that is not a non-empty string; `act_depth` 0 is the token's own `sub`.
    #[error("{} must be a non-empty string", subject_name(*act_depth))]
    InvalidSubject {
        /// 0 for the token's own `sub`, else the nesting level of the `act` holding it.
        act_depth: usize,
    },
    /// A claim is present but of the wrong type or out of range (`iss`, `jti` or `client_id`
    /// not a string, a time claim not an integer NumericDate up to year 9999).
    #[error("claim `{claim}` must be {expected}")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What it must be, as a phrase for the message ("a string").
        expected: &'static str,
    },
    /// `now` is at or after `exp` plus the leeway.
    #[error("token expired at {exp} (now {now}, leeway included)")]
    Expired {
        /// The token's `exp`, in Unix seconds.
        exp: i64,
        /// The verification time, in Unix seconds.
        now: i64,
    },
    /// `nbf` is later than `now` plus the leeway.
    #[error("token not valid before {nbf} (now {now}, leeway included)")]
    NotYetValid {
        /// The token's `nbf`, in Unix seconds.
        nbf: i64,
        /// The verification time, in Unix seconds.
        now: i64,
    },
    /// `iat` is later than `now` plus the leeway: a token from the future means a broken or
    /// forged issuer clock, and would make token-age rules meaningless.
    #[error("token issued in the future at {iat} (now {now}, leeway included)")]
    IssuedInFuture {
        /// The token's `iat`, in Unix seconds.
        iat: i64,
        /// The verification time, in Unix seconds.
        now: i64,
    },
    /// The caller's clock is outside the NumericDate range every time claim must lie in, so no
    /// validity window can be judged (and no policy arithmetic on `now` could be trusted).
    #[error("verification time {now} is outside 0..={max} (Unix seconds up to year 9999)")]
    ClockOutOfRange {
        /// The verification time given, in Unix seconds.
        now: i64,
        /// [`MAX_NUMERIC_DATE`](super::MAX_NUMERIC_DATE).
        max: i64,
    },
    /// The `act` chain has more levels than [`ClaimMapping`](warrant_lang::request::ClaimMapping)
    /// allows; bounds the work a token can cause and the chain a policy must reason about.
    #[error("delegation chain deeper than the accepted maximum of {max} actors")]
    ChainTooDeep {
        /// The configured maximum number of actors.
        max: usize,
    },
    /// Verified claims that cannot become a [`Request`](warrant_lang::request::Request): an
    /// `act` that is not an object, or a mapped claim of the wrong type. Holds the mapping's error.
    #[error("claims do not fit the request model: {0}")]
    ClaimShape(RequestError),
    /// jsonwebtoken refused the selected key as malformed for this token (a key it could not
    /// parse after configuration accepted it).
    #[error("the selected key cannot verify this token")]
    KeyUnusable,
    /// Any other refusal by jsonwebtoken, with its error kind as text; still a deny, never a
    /// silent allow of an error we did not anticipate.
    #[error("verification failed: {0}")]
    VerificationFailed(String),
    /// [`AudienceBinding::Resource`](super::AudienceBinding::Resource) is on and the token's
    /// `aud` does not name the audience of the resource the request is for (RFC 8707): a token
    /// issued for another API.
    #[error("the token was not issued for the resource the request is for (audience)")]
    WrongResourceAudience,
    /// [`AudienceBinding::Resource`](super::AudienceBinding::Resource) is on and the request
    /// names no resource, so the token cannot be bound to one.
    #[error("the request names no resource to bind the token's audience to")]
    ResourceRequired,
    /// The token's `cnf` (RFC 7800) binds it by a method this verifier does not check (named,
    /// truncated): refused rather than accepted as a bearer token.
    #[error("the token is bound (`cnf`) by `{method}`, a confirmation method this verifier does not check")]
    UnsupportedConfirmation {
        /// The `cnf` member, at most 32 characters of it.
        method: String,
    },
    /// The token is bound to a client certificate (`cnf.x5t#S256`, RFC 8705) and the call came
    /// without one (no mutual TLS in front, or the proxy did not pass the certificate on).
    #[error("the token is bound to a client certificate and the call presented none")]
    CertificateRequired,
    /// The client certificate of the call is not the one the token is bound to.
    #[error("the client certificate is not the one the token is bound to")]
    CertificateMismatch,
    /// The token is bound to a key (`cnf.jkt`, RFC 9449) but came without a DPoP proof (or
    /// without the HTTP method and URI a proof is checked against): a stolen bound token is
    /// worthless without the key, so it is never accepted as a bearer token.
    #[error("the token is DPoP-bound and needs a DPoP proof of the request")]
    DpopProofRequired,
    /// The issuer is configured to require DPoP and the token is not bound to a key.
    #[error("this issuer's tokens must be DPoP-bound (`cnf.jkt`)")]
    DpopRequired,
    /// The DPoP proof is not a well-formed proof: says which rule it breaks (header `typ`,
    /// `jwk` missing or private, a claim missing, ...).
    #[error("invalid DPoP proof: {0}")]
    DpopInvalidProof(&'static str),
    /// The proof's `alg` is `none`, HMAC, unknown or not in the allow-list (named, truncated).
    #[error("DPoP proof algorithm `{alg}` is not accepted")]
    DpopAlgorithmNotAllowed {
        /// The proof header's `alg`, at most 16 characters of it.
        alg: String,
    },
    /// The proof's key is not the one the token is bound to (RFC 7638 thumbprint ≠ `cnf.jkt`).
    #[error("the DPoP proof is signed by another key than the one the token is bound to")]
    DpopKeyMismatch,
    /// The proof's signature does not verify with the key in its header.
    #[error("the DPoP proof's signature does not verify")]
    DpopBadSignature,
    /// The proof names another HTTP method (`htm`) than the request's.
    #[error("the DPoP proof is for another HTTP method")]
    DpopWrongMethod,
    /// The proof names another URI (`htu`) than the request's, or the request URI is not an
    /// absolute http(s) URI.
    #[error("the DPoP proof is for another URI")]
    DpopWrongUri,
    /// The proof's `iat` is outside the acceptance window.
    #[error("DPoP proof issued at {iat} is outside the accepted window (now {now})")]
    DpopStaleProof {
        /// The proof's `iat`, in Unix seconds.
        iat: i64,
        /// The verification time, in Unix seconds.
        now: i64,
    },
    /// The proof's `ath` is not the hash of the presented access token: a proof made for
    /// another token.
    #[error("the DPoP proof is for another access token (`ath`)")]
    DpopWrongTokenHash,
    /// Server nonces are on and the proof carries none, or one this server did not issue
    /// recently (RFC 9449 §8: the client retries with the nonce of the `DPoP-Nonce` header).
    #[error("the DPoP proof must carry a current server nonce (use_dpop_nonce)")]
    DpopNonceRequired,
    /// A proof with this `jti` and key was already accepted within its window.
    #[error("the DPoP proof was already used (replayed `jti`)")]
    DpopReplay,
    /// The replay cache holds its maximum of proofs still inside their window; refusing new
    /// proofs is the fail-closed answer to a flood (forgetting live entries would admit replays).
    #[error("the DPoP replay cache is full ({capacity} proofs inside their window)")]
    DpopReplayCacheFull {
        /// [`DpopOptions::replay_capacity`](super::DpopOptions::replay_capacity).
        capacity: usize,
    },
}

impl TokenError {
    /// Whether the refusal concerns the DPoP proof (RFC 9449 §7.1: answered with
    /// `WWW-Authenticate: DPoP error="invalid_dpop_proof"` rather than `invalid_token`).
    pub fn is_dpop_proof_error(&self) -> bool {
        matches!(
            self,
            TokenError::DpopInvalidProof(_)
                | TokenError::DpopAlgorithmNotAllowed { .. }
                | TokenError::DpopKeyMismatch
                | TokenError::DpopBadSignature
                | TokenError::DpopWrongMethod
                | TokenError::DpopWrongUri
                | TokenError::DpopStaleProof { .. }
                | TokenError::DpopWrongTokenHash
                | TokenError::DpopReplay
                | TokenError::DpopReplayCacheFull { .. }
        )
    }

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
            TokenError::KeysUnavailable => "keys_unavailable",
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
            TokenError::UnsupportedConfirmation { .. } => "unsupported_confirmation",
            TokenError::WrongResourceAudience => "wrong_resource_audience",
            TokenError::ResourceRequired => "resource_required",
            TokenError::CertificateRequired => "certificate_required",
            TokenError::CertificateMismatch => "certificate_mismatch",
            TokenError::DpopProofRequired => "dpop_proof_required",
            TokenError::DpopRequired => "dpop_required",
            TokenError::DpopInvalidProof(_) => "dpop_invalid_proof",
            TokenError::DpopAlgorithmNotAllowed { .. } => "dpop_algorithm_not_allowed",
            TokenError::DpopKeyMismatch => "dpop_key_mismatch",
            TokenError::DpopBadSignature => "dpop_bad_signature",
            TokenError::DpopWrongMethod => "dpop_wrong_method",
            TokenError::DpopWrongUri => "dpop_wrong_uri",
            TokenError::DpopStaleProof { .. } => "dpop_stale_proof",
            TokenError::DpopWrongTokenHash => "dpop_wrong_token_hash",
            TokenError::DpopReplay => "dpop_replay",
            TokenError::DpopNonceRequired => "use_dpop_nonce",
            TokenError::DpopReplayCacheFull { .. } => "dpop_replay_cache_full",
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
    /// The issuer list is empty: a verifier that trusts nobody would refuse every token.
    #[error("no issuer configured")]
    NoIssuers,
    /// Two configurations share one `iss`; holds it. Which keys apply would be ambiguous.
    #[error("issuer `{0}` is configured twice")]
    DuplicateIssuer(String),
    /// The issuer (named) accepts no audience, so `aud` could not be checked (RFC 8707).
    #[error("issuer `{0}` accepts no audience")]
    NoAudiences(String),
    /// The issuer (named) allows no signature algorithm, so none of its tokens could verify.
    #[error("issuer `{0}` allows no signature algorithm")]
    NoAlgorithms(String),
    /// An allowed algorithm has no key that can verify it: dead configuration that hides a
    /// missing or wrong key.
    #[error("issuer `{issuer}` allows `{alg:?}` but has no key able to verify it")]
    AlgorithmWithoutKey {
        /// The issuer's `iss`.
        issuer: String,
        /// The allowed algorithm no key fits.
        alg: Algorithm,
    },
    /// Two keys of one issuer share a `kid`, so a token's `kid` would not select one key.
    #[error("issuer `{issuer}` has two keys with kid `{kid}`")]
    DuplicateKeyId {
        /// The issuer's `iss`.
        issuer: String,
        /// The repeated key id.
        kid: String,
    },
    /// The issuer (named) has no signature key: none configured, or every JWK was skipped as
    /// an encryption or unsupported key.
    #[error("issuer `{0}` has no usable signature key")]
    NoKeys(String),
    /// The JWKS text is not JSON of the JWK Set shape. Only the position is kept: the text may
    /// hold secrets (`oct` keys), so it never reaches the message.
    #[error("JWKS is not valid JSON of the JWK Set shape ({category} at line {line}, column {column})")]
    InvalidJwks {
        /// serde_json's error class ("syntax error", "unexpected shape", ...).
        category: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// A key cannot be used: not parseable, a private key or certificate in place of a public
    /// key, an unsupported curve, or parameters that contradict each other.
    #[error("{} is invalid: {reason}", key_name(kid.as_deref()))]
    InvalidKey {
        /// The key's `kid`; None when it has none.
        kid: Option<String>,
        /// Which rule the key breaks.
        reason: &'static str,
    },
    /// A key is well-formed but too weak to trust (HMAC secret under 32 bytes, RSA modulus
    /// under 2048 bits).
    #[error("{} is too weak: {reason}", key_name(kid.as_deref()))]
    WeakKey {
        /// The key's `kid`; None when it has none.
        kid: Option<String>,
        /// Which minimum the key misses.
        reason: &'static str,
    },
    /// [`KeySource::Remote`](super::KeySource::Remote) alongside other sources of the issuer
    /// (named), or handed to [`TokenVerifier::replace_keys`](super::TokenVerifier::replace_keys):
    /// it only marks an issuer whose keys come later, alone.
    #[error("issuer `{0}`: `Remote` must be the issuer's only key source, and cannot replace keys")]
    MisplacedRemoteKeys(String),
    /// [`TokenVerifier::replace_keys`](super::TokenVerifier::replace_keys) named an issuer the
    /// verifier was not built with (named).
    #[error("issuer `{0}` is not configured")]
    UnknownIssuer(String),
    /// A key or JWKS file could not be read.
    #[error("cannot read key file `{path}`: {source}")]
    KeyFile {
        /// The file's path, as given.
        path: String,
        /// The I/O error reading it.
        source: std::io::Error,
    },
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
