//! The validity window, checked against an injected `now` (so tests and replays are exact)
//! with a configurable clock leeway. Runs on every call, cached or not.
//!
//! Every time claim (`exp`, `nbf`, `iat`) and `now` itself must lie in `0..=`[`MAX_NUMERIC_DATE`]
//! (1970 to the end of year 9999); anything else is refused, never clamped. Within that range
//! no sum or difference of two times (`exp - iat`, `now - iat`, `exp` plus leeway) can overflow
//! an `i64`, so neither this check nor a policy's arithmetic on a verified token can wrap.
use serde_json::{Map, Value};

use super::error::TokenError;

/// The last accepted NumericDate (RFC 7519 §2): 9999-12-31T23:59:59Z, in Unix seconds. Far
/// beyond any real token, and small enough that time arithmetic has ~2^63 seconds of headroom.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// `exp` is required (RFC 9068 §2.2); `nbf` and `iat` are checked when present (whether `iat`
/// must be present is decided by the required-claims check). Returns the instant from which the
/// token fails this check for good (`exp` plus leeway).
pub(crate) fn check_validity_window(
    claims: &Map<String, Value>,
    now: i64,
    leeway_seconds: u32,
) -> Result<i64, TokenError> {
    if !(0..=MAX_NUMERIC_DATE).contains(&now) {
        return Err(TokenError::ClockOutOfRange { now, max: MAX_NUMERIC_DATE });
    }
    // Bounded operands: `now`, `exp`, `nbf` and `iat` are at most MAX_NUMERIC_DATE, leeway at
    // most u32::MAX, so these sums stay far below i64::MAX.
    let leeway = i64::from(leeway_seconds);
    let exp = seconds_claim(claims, "exp")?.ok_or_else(|| TokenError::MissingClaim("exp".to_string()))?;
    let expires_at = exp + leeway;
    if now >= expires_at {
        return Err(TokenError::Expired { exp, now });
    }
    if let Some(nbf) = seconds_claim(claims, "nbf")? {
        if nbf > now + leeway {
            return Err(TokenError::NotYetValid { nbf, now });
        }
    }
    if let Some(iat) = seconds_claim(claims, "iat")? {
        if iat > now + leeway {
            return Err(TokenError::IssuedInFuture { iat, now });
        }
    }
    Ok(expires_at)
}

/// An optional NumericDate claim: absent, or an integer in `0..=MAX_NUMERIC_DATE` (`null` is
/// not a date).
fn seconds_claim(claims: &Map<String, Value>, claim: &'static str) -> Result<Option<i64>, TokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(value) => value.as_i64().filter(|seconds| (0..=MAX_NUMERIC_DATE).contains(seconds)).map(Some).ok_or(
            TokenError::InvalidClaim {
                claim,
                expected: "an integer number of seconds from 0 to 253402300799 (year 9999)",
            },
        ),
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

    /// Claims at the i64 edges used to verify and then wrap in a policy's `exp - iat`; now they
    /// are refused, and so is a clock outside the NumericDate range.
    #[test]
    fn times_outside_the_numeric_date_range_are_refused() {
        let edges = [i64::MIN, i64::MIN + 1, -1, MAX_NUMERIC_DATE + 1, i64::MAX - 1, i64::MAX];
        for claim in ["exp", "nbf", "iat"] {
            for edge in edges {
                let mut c = claims(json!({"exp": 1_000, "nbf": 0, "iat": 0}));
                c.insert(claim.to_string(), json!(edge));
                let refused = check_validity_window(&c, 500, 60);
                assert!(
                    matches!(refused, Err(TokenError::InvalidClaim { claim: c, .. }) if c == claim),
                    "{claim}={edge}"
                );
            }
        }
        for now in [i64::MIN, -1, MAX_NUMERIC_DATE + 1, i64::MAX] {
            let c = claims(json!({"exp": 1_000}));
            assert_eq!(
                check_validity_window(&c, now, 60),
                Err(TokenError::ClockOutOfRange { now, max: MAX_NUMERIC_DATE })
            );
        }
    }

    /// The edges of the accepted range, with the largest leeway, compute without overflow.
    #[test]
    fn range_edges_with_maximal_leeway_do_not_overflow() {
        let c = claims(json!({"exp": MAX_NUMERIC_DATE, "nbf": MAX_NUMERIC_DATE, "iat": MAX_NUMERIC_DATE}));
        let latest = MAX_NUMERIC_DATE + i64::from(u32::MAX);
        assert_eq!(check_validity_window(&c, MAX_NUMERIC_DATE, u32::MAX), Ok(latest));
        let early = claims(json!({"exp": 0, "nbf": 0, "iat": 0}));
        assert_eq!(check_validity_window(&early, 0, 0), Err(TokenError::Expired { exp: 0, now: 0 }));
        assert_eq!(
            check_validity_window(&early, MAX_NUMERIC_DATE, u32::MAX),
            Err(TokenError::Expired { exp: 0, now: MAX_NUMERIC_DATE })
        );
    }

    #[test]
    fn null_or_fractional_times_are_invalid() {
        for value in [json!(null), json!(1.5), json!("1"), json!(u64::MAX)] {
            let c = claims(json!({"exp": value}));
            assert!(matches!(check_validity_window(&c, 0, 0), Err(TokenError::InvalidClaim { claim: "exp", .. })));
        }
    }

    /// Any integers at all, i64 edges included: no overflow panic (tests build with overflow
    /// checks), and a window that passes leaves every difference of times representable.
    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn seconds() -> impl Strategy<Value = i64> {
            prop_oneof![
                Just(i64::MIN),
                Just(i64::MAX),
                Just(-1i64),
                Just(0i64),
                Just(MAX_NUMERIC_DATE),
                Just(MAX_NUMERIC_DATE + 1),
                0..=MAX_NUMERIC_DATE,
                any::<i64>(),
            ]
        }

        proptest! {
            #[test]
            fn window_never_overflows_and_accepted_times_subtract_safely(
                exp in seconds(), nbf in seconds(), iat in seconds(), now in seconds(), leeway in any::<u32>(),
            ) {
                let c = claims(json!({"exp": exp, "nbf": nbf, "iat": iat}));
                if let Ok(expires_at) = check_validity_window(&c, now, leeway) {
                    prop_assert!(now < expires_at);
                    for (a, b) in [(exp, iat), (now, iat), (exp, now), (now, nbf), (exp, nbf)] {
                        prop_assert!(a.checked_sub(b).is_some() && b.checked_sub(a).is_some());
                    }
                }
            }
        }
    }
}
