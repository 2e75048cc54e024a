//! The validity window, checked against an injected `now` (so tests and replays are exact)
//! with a configurable clock leeway. Runs on every call, cached or not.
use serde_json::{Map, Value};

use super::error::TokenError;

/// `exp` is required (RFC 9068 §2.2); `nbf` and `iat` are checked when present. All are
/// integer seconds. Arithmetic saturates so extreme values cannot overflow into a pass.
/// Returns the instant from which the token fails this check for good (`exp` plus leeway).
pub(crate) fn check_validity_window(
    claims: &Map<String, Value>,
    now: i64,
    leeway_seconds: u32,
) -> Result<i64, TokenError> {
    let leeway = i64::from(leeway_seconds);
    let exp = seconds_claim(claims, "exp")?.ok_or_else(|| TokenError::MissingClaim("exp".to_string()))?;
    let expires_at = exp.saturating_add(leeway);
    if now >= expires_at {
        return Err(TokenError::Expired { exp, now });
    }
    if let Some(nbf) = seconds_claim(claims, "nbf")? {
        if nbf > now.saturating_add(leeway) {
            return Err(TokenError::NotYetValid { nbf, now });
        }
    }
    if let Some(iat) = seconds_claim(claims, "iat")? {
        if iat > now.saturating_add(leeway) {
            return Err(TokenError::IssuedInFuture { iat, now });
        }
    }
    Ok(expires_at)
}

fn seconds_claim(claims: &Map<String, Value>, claim: &'static str) -> Result<Option<i64>, TokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(value) => {
            value.as_i64().map(Some).ok_or(TokenError::InvalidClaim { claim, expected: "an integer number of seconds" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn window_edges_respect_leeway() {
        let c = claims(json!({"exp": 100, "nbf": 50, "iat": 50}));
        assert_eq!(check_validity_window(&c, 109, 10), Ok(110));
        assert_eq!(check_validity_window(&c, 110, 10), Err(TokenError::Expired { exp: 100, now: 110 }));
        assert_eq!(check_validity_window(&c, 40, 10), Ok(110));
        assert_eq!(check_validity_window(&c, 39, 10), Err(TokenError::NotYetValid { nbf: 50, now: 39 }));
        let future_iat = claims(json!({"exp": 100, "iat": 80}));
        assert_eq!(check_validity_window(&future_iat, 69, 10), Err(TokenError::IssuedInFuture { iat: 80, now: 69 }));
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let c = claims(json!({"exp": i64::MAX, "nbf": i64::MIN}));
        assert_eq!(check_validity_window(&c, i64::MAX - 1, u32::MAX), Ok(i64::MAX));
        let expired = claims(json!({"exp": i64::MIN}));
        assert!(matches!(check_validity_window(&expired, 0, u32::MAX), Err(TokenError::Expired { .. })));
    }

    #[test]
    fn null_or_fractional_times_are_invalid() {
        for value in [json!(null), json!(1.5), json!("1"), json!(u64::MAX)] {
            let c = claims(json!({"exp": value}));
            assert!(matches!(check_validity_window(&c, 0, 0), Err(TokenError::InvalidClaim { claim: "exp", .. })));
        }
    }
}
