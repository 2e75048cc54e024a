//! Which claims a verified token must carry, checked after the signature and before the token is
//! cached or mapped to a request, so no entry point (gateway, CLI, test files) can skip it.
//!
//! - `sub` is always required, at the top level (RFC 9068 §2.2) and in every `act` level: a
//!   request needs a user, and a delegation chain needs actors that can be named. RFC 8693 §4.1
//!   only says an `act` object holds "claims that identify the actor"; Warrant takes `sub` as that
//!   identity, because policies name actors by `sub`. A `sub` must be a non-empty string.
//! - `iat`, `jti` and `client_id` (also REQUIRED by RFC 9068 §2.2) are required when the
//!   matching [`VerifyOptions`] field says so; when present they must be well-typed either way.
use serde_json::{Map, Value};
use warrant_lang::request::RequestError;

use super::error::TokenError;
use super::verify::VerifyOptions;

/// Refuses a token whose subject, actors or required identifiers are missing or ill-typed.
pub(crate) fn check_required_claims(claims: &Map<String, Value>, options: &VerifyOptions) -> Result<(), TokenError> {
    check_subject(claims, 0)?;
    check_actors(claims)?;
    check_identifier(claims, "jti", options.require_jti)?;
    check_identifier(claims, "client_id", options.require_client_id)?;
    // A `null` `iat` is present but not a date: the validity window refuses it.
    if options.require_iat && !claims.contains_key("iat") {
        return Err(TokenError::MissingClaim("iat".to_string()));
    }
    Ok(())
}

/// `act_depth` 0 is the token's own `sub`; 1 the outermost `act` (the current actor), and so on.
fn check_subject(object: &Map<String, Value>, act_depth: usize) -> Result<(), TokenError> {
    match object.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => Ok(()),
        sub if is_absent(sub) && act_depth == 0 => Err(TokenError::MissingSubject),
        sub if is_absent(sub) => Err(TokenError::ActorWithoutSubject { act_depth }),
        _ => Err(TokenError::InvalidSubject { act_depth }),
    }
}

/// Walks the nested `act` claims iteratively (their depth is only bounded by the JSON parser),
/// outermost first. The chain-depth bound itself is the request mapping's.
fn check_actors(claims: &Map<String, Value>) -> Result<(), TokenError> {
    let mut level = claims.get("act");
    let mut act_depth = 0;
    while let Some(value) = level {
        let Value::Object(act) = value else {
            return Err(TokenError::ClaimShape(RequestError::FieldNotObject("act")));
        };
        act_depth += 1;
        check_subject(act, act_depth)?;
        level = act.get("act");
    }
    Ok(())
}

/// A string identifier claim: required or not, it may not be of another type.
fn check_identifier(claims: &Map<String, Value>, claim: &'static str, required: bool) -> Result<(), TokenError> {
    match claims.get(claim) {
        Some(Value::String(_)) => Ok(()),
        value if is_absent(value) => {
            if required {
                Err(TokenError::MissingClaim(claim.to_string()))
            } else {
                Ok(())
            }
        }
        _ => Err(TokenError::InvalidClaim { claim, expected: "a string" }),
    }
}

/// `null` counts as absent, as in the request mapping (`Request::from_claims`).
fn is_absent(value: Option<&Value>) -> bool {
    matches!(value, None | Some(Value::Null))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: Value, options: &VerifyOptions) -> Result<(), TokenError> {
        let Value::Object(claims) = value else { panic!("test claims must be an object") };
        check_required_claims(&claims, options)
    }

    fn defaults(value: Value) -> Result<(), TokenError> {
        check(value, &VerifyOptions::default())
    }

    #[test]
    fn subject_is_required_and_must_be_a_non_empty_string() {
        assert_eq!(defaults(json!({"sub": "u", "iat": 1})), Ok(()));
        assert_eq!(defaults(json!({"iat": 1})), Err(TokenError::MissingSubject));
        assert_eq!(defaults(json!({"sub": null, "iat": 1})), Err(TokenError::MissingSubject));
        for bad in [json!(""), json!(7), json!(["u"]), json!({"id": "u"}), json!(true)] {
            assert_eq!(defaults(json!({"sub": bad, "iat": 1})), Err(TokenError::InvalidSubject { act_depth: 0 }));
        }
    }

    #[test]
    fn every_actor_needs_a_subject() {
        let chain =
            json!({"sub": "u", "iat": 1, "act": {"sub": "a1", "act": {"sub": "a2", "act": {"client_id": "c"}}}});
        assert_eq!(defaults(chain), Err(TokenError::ActorWithoutSubject { act_depth: 3 }));
        let outermost = json!({"sub": "u", "iat": 1, "act": {"sub": null, "act": {"sub": "a2"}}});
        assert_eq!(defaults(outermost), Err(TokenError::ActorWithoutSubject { act_depth: 1 }));
        let typed = json!({"sub": "u", "iat": 1, "act": {"sub": "a1", "act": {"sub": 2}}});
        assert_eq!(defaults(typed), Err(TokenError::InvalidSubject { act_depth: 2 }));
        let not_object = json!({"sub": "u", "iat": 1, "act": "agent"});
        assert_eq!(defaults(not_object), Err(TokenError::ClaimShape(RequestError::FieldNotObject("act"))));
    }

    /// Deeper than the JSON parser would ever produce: the walk is a loop, not a recursion.
    #[test]
    fn a_very_deep_chain_is_walked_without_recursion() {
        let mut act = json!({"client_id": "innermost"});
        for i in 0..1_000 {
            act = json!({"sub": format!("a{i}"), "act": act});
        }
        assert_eq!(
            defaults(json!({"sub": "u", "iat": 1, "act": act})),
            Err(TokenError::ActorWithoutSubject { act_depth: 1_001 })
        );
    }

    #[test]
    fn iat_is_required_by_default_jti_and_client_id_on_request() {
        let minimal = json!({"sub": "u"});
        assert_eq!(defaults(minimal.clone()), Err(TokenError::MissingClaim("iat".into())));
        let lenient = VerifyOptions { require_iat: false, ..VerifyOptions::default() };
        assert_eq!(check(minimal, &lenient), Ok(()));
        let strict = VerifyOptions { require_jti: true, require_client_id: true, ..VerifyOptions::default() };
        assert_eq!(check(json!({"sub": "u", "iat": 1}), &strict), Err(TokenError::MissingClaim("jti".into())));
        assert_eq!(
            check(json!({"sub": "u", "iat": 1, "jti": "j"}), &strict),
            Err(TokenError::MissingClaim("client_id".into()))
        );
        assert_eq!(check(json!({"sub": "u", "iat": 1, "jti": "j", "client_id": "c"}), &strict), Ok(()));
    }

    #[test]
    fn present_identifiers_must_be_strings_even_when_optional() {
        assert_eq!(
            defaults(json!({"sub": "u", "iat": 1, "jti": 5})),
            Err(TokenError::InvalidClaim { claim: "jti", expected: "a string" })
        );
        assert_eq!(
            defaults(json!({"sub": "u", "iat": 1, "client_id": ["c"]})),
            Err(TokenError::InvalidClaim { claim: "client_id", expected: "a string" })
        );
    }
}
