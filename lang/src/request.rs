//! The decision request: the values the vocabulary names, resolved from token claims plus
//! what the gateway knows about the call (resource, action, time).
//!
//! Claims mapping (RFC 9068 access tokens, RFC 8693 delegation):
//! - `sub`, `iss`, `jti`, `client_id` are string claims; `aud` is a string or array of strings;
//!   `scope` is a space-separated string (RFC 9068) or an array of strings; `iat`/`exp`/`nbf`
//!   are integer seconds.
//! - the agent instance is the claim named by [`ClaimMapping::instance_claim`] (default
//!   `instance_id`).
//! - the delegation chain comes from nested `act` claims. RFC 8693 §4.1: the outermost `act`
//!   is the *current* actor and each nested `act` is an earlier one. `chain` lists actors in
//!   delegation order: `chain[0]` is the first actor the user delegated to (the innermost
//!   `act`), the last element is the current actor (the outermost `act`).
//! - every claim stays reachable as `claims.NAME`.
//!
//! Which claim or request key each field comes from, and its type, is the vocabulary table
//! ([`Field::spec`]); [`Request::field`] is the one map from a field to its member here.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ir::{Field, FieldOrigin};

/// Default bound on the delegation chain depth accepted from a token.
pub const DEFAULT_MAX_CHAIN_DEPTH: usize = 16;
/// Default name of the claim carrying the agent instance / task id.
pub const DEFAULT_INSTANCE_CLAIM: &str = "instance_id";

/// One actor of the delegation chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The `act` object's `sub` claim: who acts. `None` when absent or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The `act` object's `client_id` claim. `None` when absent or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The `act` object's instance claim ([`ClaimMapping::instance_claim`]). `None` when absent
    /// or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Every claim of the `act` object except the nested `act`, for `hop.claims.NAME` (RFC 8693
    /// lets an actor carry any claim, e.g. the scope granted at its exchange).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
}

/// A fully resolved decision request. `None` means *missing*: a condition reading it is
/// undecided (only `defined` is plainly false), which fails closed as `crate::eval` describes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The `sub` claim: the principal on whose behalf the call is made.
    pub sub: Option<String>,
    /// The `iss` claim: the token issuer.
    pub iss: Option<String>,
    /// The `jti` claim: the token id.
    pub jti: Option<String>,
    /// The `client_id` claim: the OAuth client the token was issued to.
    pub client_id: Option<String>,
    /// The top-level instance claim ([`ClaimMapping::instance_claim`]): the agent instance.
    pub instance: Option<String>,
    /// The resource being called (target URI), from the call, not the token.
    pub resource: Option<String>,
    /// The operation being attempted, from the call, not the token.
    pub action: Option<String>,
    /// The `aud` claim as a list: a string claim is a one-element list.
    pub aud: Option<Vec<String>>,
    /// The `scope` claim as a list: a string claim is split on spaces (RFC 9068).
    pub scope: Option<Vec<String>>,
    /// The `iat` claim, seconds since the epoch.
    pub iat: Option<i64>,
    /// The `exp` claim, seconds since the epoch.
    pub exp: Option<i64>,
    /// The `nbf` claim, seconds since the epoch.
    pub nbf: Option<i64>,
    /// Decision time, seconds since the epoch, supplied by the host, not the token.
    pub now: Option<i64>,
    /// How the token is tied to its presenter (`bearer`, `dpop`, `mtls`), set by the token verifier
    /// (or, for claims verified elsewhere, by the caller); `None` when nobody said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
    /// Delegation order: first delegate first, current actor last.
    pub chain: Vec<Actor>,
    /// Every claim of the token, for `claims.NAME`.
    pub claims: Map<String, Value>,
    /// What the gateway knows about the call besides the token (HTTP method, MCP tool and its
    /// arguments, client address, ...), for `context.NAME`; empty when the caller gave none.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
}

/// A vocabulary field's value in a [`Request`], typed as [`Field::ty`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRef<'a> {
    /// A string field (`None`: missing).
    Str(&'a Option<String>),
    /// A set field, as listed in the token (`None`: missing).
    StrSet(&'a Option<Vec<String>>),
    /// An integer field (`None`: missing).
    Int(&'a Option<i64>),
}

/// A vocabulary field's member of a [`Request`], to fill in.
#[derive(Debug)]
enum FieldMut<'a> {
    Str(&'a mut Option<String>),
    StrSet(&'a mut Option<Vec<String>>),
    Int(&'a mut Option<i64>),
}

/// Writes [`Request::field`] and its `&mut` twin from one list of `Field => member: kind`.
macro_rules! field_members {
    ($($field:ident => $member:ident: $kind:ident),* $(,)?) => {
        impl Request {
            /// The value of a vocabulary field: how the reference evaluator and every encoder
            /// read the request, so none of them lists the fields again.
            pub fn field(&self, field: Field) -> FieldRef<'_> {
                match field {
                    $(Field::$field => FieldRef::$kind(&self.$member),)*
                }
            }

            fn field_mut(&mut self, field: Field) -> FieldMut<'_> {
                match field {
                    $(Field::$field => FieldMut::$kind(&mut self.$member),)*
                }
            }
        }
    };
}

field_members! {
    Sub => sub: Str,
    Iss => iss: Str,
    Jti => jti: Str,
    ClientId => client_id: Str,
    Instance => instance: Str,
    Resource => resource: Str,
    Action => action: Str,
    Aud => aud: StrSet,
    Scope => scope: StrSet,
    Iat => iat: Int,
    Exp => exp: Int,
    Nbf => nbf: Int,
    Now => now: Int,
    Binding => binding: Str,
}

/// How claims map onto the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    /// Claim holding the agent instance id, at the top level and in each `act` level.
    pub instance_claim: String,
    /// Deeper `act` nesting is refused.
    pub max_chain_depth: usize,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping { instance_claim: DEFAULT_INSTANCE_CLAIM.to_string(), max_chain_depth: DEFAULT_MAX_CHAIN_DEPTH }
    }
}

/// Why a request could not be built. Each is a deny at the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The JSON request ([`Request::from_json`]) is not an object.
    #[error("request must be a JSON object")]
    NotAnObject,
    /// `claims`, `context` or an `act` claim (named here) is present but not an object.
    #[error("`{0}` must be a JSON object")]
    FieldNotObject(&'static str),
    /// A vocabulary claim or request key holds a JSON value of another type than the
    /// vocabulary table says (a number that is not an `i64` counts as the wrong type).
    #[error("`{field}` has the wrong type: expected {expected}")]
    WrongType {
        /// The claim or request key as named in the JSON.
        field: String,
        /// What it should have been, in words ("a string").
        expected: &'static str,
    },
    /// The nested `act` claims hold more actors than [`ClaimMapping::max_chain_depth`].
    #[error("delegation chain deeper than the accepted maximum of {max} actors")]
    ChainTooDeep {
        /// The configured maximum number of actors.
        max: usize,
    },
    /// The request text ([`Request::from_json_str`]) is not valid JSON; holds serde's message.
    #[error("invalid request JSON: {0}")]
    Json(String),
}

impl Request {
    /// Builds a request from verified claims and what the gateway knows about the call.
    /// Claims are read as the vocabulary table says ([`Field::spec`]), in its order.
    pub fn from_claims(
        claims: Map<String, Value>,
        resource: Option<String>,
        action: Option<String>,
        now: Option<i64>,
        mapping: &ClaimMapping,
    ) -> Result<Request, RequestError> {
        let chain = chain_from_claims(&claims, mapping)?;
        let mut request = Request { resource, action, now, chain, ..Request::default() };
        for field in Field::ALL {
            let key = match field.spec().origin {
                FieldOrigin::Claim(claim) => claim,
                FieldOrigin::InstanceClaim => &mapping.instance_claim,
                FieldOrigin::Call => continue,
            };
            request.read_field(field, &claims, key)?;
        }
        request.claims = claims;
        Ok(request)
    }

    /// Builds a request from the JSON shape the CLI and hosts take:
    /// `{"claims": {...}, "resource": "...", "action": "...", "now": 1700000000, "context": {...}}`
    /// (the call's fields are the vocabulary's [`FieldOrigin::Call`] rows; `context` must be an
    /// object when present). Errors come in this order: `claims`, the call's fields, `context`,
    /// then the claims' own.
    pub fn from_json(value: Value, mapping: &ClaimMapping) -> Result<Request, RequestError> {
        let Value::Object(mut top) = value else {
            return Err(RequestError::NotAnObject);
        };
        let claims = match top.remove("claims") {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(RequestError::FieldNotObject("claims")),
        };
        let mut call = Request::default();
        for field in Field::ALL.into_iter().filter(|f| f.spec().origin == FieldOrigin::Call) {
            call.read_field(field, &top, field.name())?;
        }
        let context = match top.remove("context") {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(RequestError::FieldNotObject("context")),
        };
        let request = Request::from_claims(claims, call.resource, call.action, call.now, mapping)?;
        Ok(Request { binding: call.binding, ..request }.with_context(context))
    }

    /// This request with `context` as its call context (`context.NAME`), e.g. for a request
    /// built from verified claims ([`Request::from_claims`]).
    pub fn with_context(self, context: Map<String, Value>) -> Request {
        Request { context, ..self }
    }

    /// Reads `field` from `map[key]` as its vocabulary type says.
    fn read_field(&mut self, field: Field, map: &Map<String, Value>, key: &str) -> Result<(), RequestError> {
        let string_is_list = field.spec().string_is_list;
        match self.field_mut(field) {
            FieldMut::Str(value) => *value = opt_str(map, key)?,
            FieldMut::StrSet(value) => *value = opt_str_list(map, key, string_is_list)?,
            FieldMut::Int(value) => *value = opt_int(map, key)?,
        }
        Ok(())
    }

    /// Parses [`Request::from_json`]'s shape from text.
    pub fn from_json_str(text: &str, mapping: &ClaimMapping) -> Result<Request, RequestError> {
        let value: Value = serde_json::from_str(text).map_err(|e| RequestError::Json(e.to_string()))?;
        Request::from_json(value, mapping)
    }

    /// The current actor (outermost `act`), if any.
    pub fn current_actor(&self) -> Option<&Actor> {
        self.chain.last()
    }
}

/// Unwraps nested `act` claims into delegation order (innermost first).
fn chain_from_claims(claims: &Map<String, Value>, mapping: &ClaimMapping) -> Result<Vec<Actor>, RequestError> {
    let mut outermost_first = Vec::new();
    let mut level = claims.get("act");
    while let Some(value) = level {
        let Value::Object(act) = value else {
            return Err(RequestError::FieldNotObject("act"));
        };
        if outermost_first.len() == mapping.max_chain_depth {
            return Err(RequestError::ChainTooDeep { max: mapping.max_chain_depth });
        }
        outermost_first.push(Actor {
            sub: opt_str(act, "sub")?,
            client_id: opt_str(act, "client_id")?,
            instance: opt_str(act, &mapping.instance_claim)?,
            claims: act.iter().filter(|(key, _)| *key != "act").map(|(k, v)| (k.clone(), v.clone())).collect(),
        });
        level = act.get("act");
    }
    outermost_first.reverse();
    Ok(outermost_first)
}

fn opt_str(map: &Map<String, Value>, key: &str) -> Result<Option<String>, RequestError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type(key, "a string")),
    }
}

fn opt_int(map: &Map<String, Value>, key: &str) -> Result<Option<i64>, RequestError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| wrong_type(key, "an integer number of seconds")),
        Some(_) => Err(wrong_type(key, "an integer number of seconds")),
    }
}

/// A string or an array of strings; with `split_spaces`, a string is a space-separated list.
fn opt_str_list(map: &Map<String, Value>, key: &str, split_spaces: bool) -> Result<Option<Vec<String>>, RequestError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if split_spaces => {
            Ok(Some(s.split(' ').filter(|p| !p.is_empty()).map(str::to_string).collect()))
        }
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| wrong_type(key, "strings")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(wrong_type(key, "a string or an array of strings")),
    }
}

fn wrong_type(field: &str, expected: &'static str) -> RequestError {
    RequestError::WrongType { field: field.to_string(), expected }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 8693 §4.1: the outermost `act` is the current actor; nested ones came before.
    #[test]
    fn rfc8693_nested_act_becomes_delegation_order() {
        let claims = json!({
            "aud": "https://consumer.example.com",
            "iss": "https://issuer.example.com",
            "exp": 1443904177,
            "nbf": 1443904077,
            "sub": "user@example.com",
            "act": { "sub": "consumer.example.com-web-application",
                     "act": { "sub": "admin@example.com" } }
        });
        let Value::Object(claims) = claims else { unreachable!() };
        let req = Request::from_claims(claims, None, None, None, &ClaimMapping::default()).unwrap();
        let subs: Vec<_> = req.chain.iter().map(|a| a.sub.as_deref().unwrap()).collect();
        assert_eq!(subs, ["admin@example.com", "consumer.example.com-web-application"]);
        assert_eq!(req.current_actor().unwrap().sub.as_deref(), Some("consumer.example.com-web-application"));
        assert_eq!(req.aud, Some(vec!["https://consumer.example.com".to_string()]));
    }

    #[test]
    fn chain_depth_is_bounded() {
        let mut act = json!({"sub": "leaf"});
        for i in 0..20 {
            act = json!({"sub": format!("a{i}"), "act": act});
        }
        let Value::Object(claims) = json!({"sub": "u", "act": act}) else { unreachable!() };
        let err = Request::from_claims(claims, None, None, None, &ClaimMapping::default()).unwrap_err();
        assert_eq!(err, RequestError::ChainTooDeep { max: DEFAULT_MAX_CHAIN_DEPTH });
    }

    /// The vocabulary's order is the order of errors, which every host keeps: the call's
    /// fields, then the chain, then the claims.
    #[test]
    fn fields_are_read_in_vocabulary_order() {
        let mapping = ClaimMapping::default();
        let wrong = |field: &str| Err(wrong_type(field, "a string"));
        let request = json!({"now": "x", "resource": 1, "claims": {"sub": 2, "act": 3}});
        assert_eq!(Request::from_json(request, &mapping), wrong("resource"));
        let request = json!({"claims": {"client_id": 2, "sub": 3, "act": 4}});
        assert_eq!(Request::from_json(request, &mapping), Err(RequestError::FieldNotObject("act")));
        let request = json!({"claims": {"client_id": 2, "sub": 3}});
        assert_eq!(Request::from_json(request, &mapping), wrong("sub"));
        let Value::Object(claims) = json!({"task": "t", "instance_id": 5}) else { unreachable!() };
        let mapping = ClaimMapping { instance_claim: "task".into(), ..mapping };
        let request = Request::from_claims(claims, None, None, None, &mapping).unwrap();
        assert_eq!(request.field(Field::Instance), FieldRef::Str(&Some("t".into())));
    }

    #[test]
    fn scope_string_is_space_separated_and_types_are_checked() {
        let req = Request::from_json(
            json!({"claims": {"scope": "a  b", "sub": "u"}, "action": "x", "now": 5}),
            &ClaimMapping::default(),
        )
        .unwrap();
        assert_eq!(req.scope, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(req.now, Some(5));
        let bad = Request::from_json(json!({"claims": {"sub": 7}}), &ClaimMapping::default());
        assert!(matches!(bad, Err(RequestError::WrongType { .. })));
        assert_eq!(Request::from_json(json!([1]), &ClaimMapping::default()), Err(RequestError::NotAnObject));
    }

    /// Each actor keeps its `act` object's claims, without the nested `act` (which is the
    /// previous actor, not a claim of this one).
    #[test]
    fn actors_keep_their_claims_but_not_the_nested_act() {
        let claims = json!({"sub": "u", "act": {"sub": "b", "scope": "read", "act": {"sub": "a", "may": ["b"]}}});
        let req = Request::from_json(json!({ "claims": claims }), &ClaimMapping::default()).unwrap();
        assert_eq!(Value::Object(req.chain[0].claims.clone()), json!({"sub": "a", "may": ["b"]}));
        assert_eq!(Value::Object(req.chain[1].claims.clone()), json!({"sub": "b", "scope": "read"}));
    }

    /// `context` is an object or absent; anything else (even `null`) refuses the request,
    /// after the call's fields and before the claims' own errors.
    #[test]
    fn context_must_be_an_object() {
        let mapping = ClaimMapping::default();
        let req = Request::from_json(json!({"context": {"tool": "t", "args": {"n": 1}}}), &mapping).unwrap();
        assert_eq!(req.context.get("tool"), Some(&json!("t")));
        assert!(Request::from_json(json!({}), &mapping).unwrap().context.is_empty());
        for bad in [json!(null), json!("x"), json!([]), json!(1), json!(true)] {
            let request = json!({"context": bad, "claims": {"sub": 1}});
            assert_eq!(Request::from_json(request, &mapping), Err(RequestError::FieldNotObject("context")));
        }
        let request = json!({"context": 1, "resource": 2});
        assert_eq!(Request::from_json(request, &mapping), Err(wrong_type("resource", "a string")));
    }

    /// Hostile contexts: nesting beyond serde_json's recursion limit is invalid JSON (every
    /// host refuses the same depth), and a huge value is carried, not truncated (the encoder
    /// bounds it).
    #[test]
    fn hostile_contexts_are_refused_or_carried_whole() {
        let mapping = ClaimMapping::default();
        let nested = |depth: usize| format!(r#"{{"context": {{"a": {}{}}}}}"#, "[".repeat(depth), "]".repeat(depth));
        assert!(Request::from_json_str(&nested(125), &mapping).is_ok());
        assert!(matches!(Request::from_json_str(&nested(126), &mapping), Err(RequestError::Json(_))));
        let huge = "x".repeat(2 << 20);
        let req = Request::from_json(json!({"context": {"a": huge}}), &mapping).unwrap();
        assert_eq!(req.context.get("a").and_then(Value::as_str).map(str::len), Some(2 << 20));
    }
}
