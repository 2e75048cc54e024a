//! The compact JWS serialization (RFC 7515 §7.1), taken apart defensively: the size cap comes
//! before any decoding, there must be exactly three segments, every segment must be canonical
//! base64url, header and payload must be JSON objects, and `alg: none` is refused before
//! anything looks at keys or claims.
use std::str::FromStr;

use super::algorithm::Algorithm;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::error::TokenError;

/// Header and payload of a compact JWS, still encoded (jsonwebtoken reads the signature).
pub(crate) struct Segments<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
}

/// Checks the size cap, then splits into exactly three segments.
pub(crate) fn split(token: &str, max_token_bytes: usize) -> Result<Segments<'_>, TokenError> {
    if token.len() > max_token_bytes {
        return Err(TokenError::TooLarge { size: token.len(), max: max_token_bytes });
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(_signature), None) => Ok(Segments { header, payload }),
        _ => Err(TokenError::Malformed("a compact JWS has exactly three dot-separated segments")),
    }
}

/// Decodes the protected header into a JSON object.
pub(crate) fn decode_header(segments: &Segments<'_>) -> Result<Map<String, Value>, TokenError> {
    decode_object(segments.header, "header is not a base64url JSON object")
}

/// Decodes the payload into a JSON object (the claims), without trusting it.
pub(crate) fn decode_payload(segments: &Segments<'_>) -> Result<Map<String, Value>, TokenError> {
    decode_object(segments.payload, "payload is not a base64url JSON object")
}

fn decode_object(segment: &str, what: &'static str) -> Result<Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| TokenError::Malformed(what))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(TokenError::Malformed(what)),
    }
}

/// What verification needs from the protected header.
pub(crate) struct CheckedHeader {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    /// Whether `typ` declares an RFC 9068 access token (`at+jwt`).
    pub(crate) is_access_token_type: bool,
}

/// Refuses `alg: none` (in any letter case) first, then unknown algorithms and any `crit`
/// extension (RFC 7515 §4.1.11: unknown critical extensions make the JWS invalid).
pub(crate) fn check_header(header: &Map<String, Value>) -> Result<CheckedHeader, TokenError> {
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg,
        _ => return Err(TokenError::Malformed("header `alg` must be a string")),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(TokenError::AlgNone);
    }
    let alg = Algorithm::from_str(alg).map_err(|_| TokenError::UnsupportedAlgorithm)?;
    if header.contains_key("crit") {
        return Err(TokenError::UnsupportedCriticalHeader);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(TokenError::Malformed("header `kid` must be a string")),
    };
    // RFC 9068 §4: `at+jwt`, or the full media type `application/at+jwt`, case-insensitively.
    let is_access_token_type = header.get("typ").and_then(Value::as_str).is_some_and(|typ| {
        let typ = typ.to_ascii_lowercase();
        typ == "at+jwt" || typ == "application/at+jwt"
    });
    Ok(CheckedHeader { alg, kid, is_access_token_type })
}
