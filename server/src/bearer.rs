//! `Authorization: Bearer <token>` (RFC 6750 §2.1) and `Authorization: DPoP <token>` (RFC 9449
//! §7.1), the one parser every transport uses.
//!
//! `credentials = ("Bearer" / "DPoP") 1*SP b64token`, the scheme matched without regard to
//! case (RFC 9110 §11.1). Exactly one token: a value with a second word, a character outside
//! `b64token`, or several `Authorization` headers (which a proxy may have joined with `,`) is
//! malformed, never guessed at. A request without the header, or with another scheme
//! (`Basic`), carries no access token: RFC 6750 §3.1 answers it with a bare `Bearer`
//! challenge, a malformed one with `error="invalid_token"`.
//!
//! Only the `DPoP` scheme carries the `DPoP` proof header to the verifier: a DPoP-bound token
//! sent as `Bearer` is refused as unproven (RFC 9449 §7.2), whatever proof came along.
use axum::http::{header, HeaderMap};
use warrant::token::TokenError;

/// The authorization scheme an access token came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1): the call carries a proof in the `DPoP` header.
    Dpop,
}

/// An access token and the scheme it came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential<'a> {
    /// `Bearer` or `DPoP`.
    pub scheme: Scheme,
    /// The access token.
    pub token: &'a str,
}

/// Why a request carries no usable bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// No `Authorization` header, or one with another scheme: no credentials at all.
    #[error("no bearer token")]
    Missing,
    /// A `Bearer` credential that is not exactly one token (the reason, fixed text).
    #[error("malformed bearer credential: {0}")]
    Malformed(&'static str),
}

impl BearerError {
    /// The refusal the gateway decides and audits for this request, so a request without a
    /// usable token leaves the same record as one whose token the verifier refused.
    pub fn token_error(self) -> TokenError {
        match self {
            BearerError::Missing => TokenError::Malformed("no bearer token in the request"),
            BearerError::Malformed(reason) => TokenError::Malformed(reason),
        }
    }
}

/// The access token of `headers` (one `Authorization` header, `Bearer` or `DPoP` scheme).
pub fn from_headers(headers: &HeaderMap) -> Result<Credential<'_>, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(BearerError::Missing);
    };
    if values.next().is_some() {
        return Err(BearerError::Malformed("more than one Authorization header"));
    }
    let value = value.to_str().map_err(|_| BearerError::Malformed("the Authorization header is not visible ASCII"))?;
    parse(value)
}

/// The access token of one `Authorization` header value.
pub fn parse(value: &str) -> Result<Credential<'_>, BearerError> {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Err(BearerError::Missing);
    };
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(BearerError::Malformed("an authorization scheme without a token"));
    }
    if !is_b64token(token) {
        return Err(BearerError::Malformed("the access token is not one b64token (RFC 6750 §2.1)"));
    }
    Ok(Credential { scheme, token })
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn bearer(token: &str) -> Result<Credential<'_>, BearerError> {
        Ok(Credential { scheme: Scheme::Bearer, token })
    }

    #[test]
    fn one_token_after_a_case_insensitive_scheme() {
        assert_eq!(parse("Bearer abc.def-_~+/=="), bearer("abc.def-_~+/=="));
        assert_eq!(parse("bEaReR   x.y.z"), bearer("x.y.z"));
        assert_eq!(parse("Bearer x.y.z  "), bearer("x.y.z"));
        assert_eq!(parse("DPoP x.y.z"), Ok(Credential { scheme: Scheme::Dpop, token: "x.y.z" }));
        assert_eq!(parse("dpop x.y.z"), Ok(Credential { scheme: Scheme::Dpop, token: "x.y.z" }));
    }

    #[test]
    fn another_scheme_or_nothing_is_missing() {
        assert_eq!(parse("Basic dXNlcjpwYXNz"), Err(BearerError::Missing));
        assert_eq!(parse(""), Err(BearerError::Missing));
        assert_eq!(parse("Bearerx y"), Err(BearerError::Missing));
        assert_eq!(from_headers(&HeaderMap::new()), Err(BearerError::Missing));
    }

    #[test]
    fn anything_but_one_b64token_is_malformed() {
        for value in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer ===",
            "Bearer a=b",
            "Bearer a\tb",
            "Bearer é",
            "DPoP",
        ] {
            assert!(matches!(parse(value), Err(BearerError::Malformed(_))), "{value:?}");
        }
    }

    #[test]
    fn two_authorization_headers_are_malformed() {
        let mut headers = HeaderMap::new();
        headers.append(header::AUTHORIZATION, "Bearer a".parse().unwrap());
        headers.append(header::AUTHORIZATION, "Bearer b".parse().unwrap());
        assert!(matches!(from_headers(&headers), Err(BearerError::Malformed(_))));
        let mut one = HeaderMap::new();
        one.insert(header::AUTHORIZATION, "Bearer a.b.c".parse().unwrap());
        assert_eq!(from_headers(&one), bearer("a.b.c"));
    }
}
