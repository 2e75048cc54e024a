//! Looking inside a token *without verifying it*, for operators (`warrant token inspect`).
//! Nothing here may feed a decision: use [`super::TokenVerifier`] for that.
use serde::Serialize;
use serde_json::{Map, Value};
use warrant_lang::request::{Actor, Request};

use super::error::TokenError;
use super::parse;
use super::verify::VerifyOptions;

/// The decoded, UNVERIFIED content of a token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnverifiedTokenInspection {
    /// The protected header as sent (even `alg: none` is shown).
    pub header: Map<String, Value>,
    /// The payload as sent.
    pub claims: Map<String, Value>,
    /// The delegation chain the claims describe, first delegate first (see [`Request::chain`]).
    pub chain: Vec<Actor>,
}

/// Decodes a token for display, applying the size cap and the chain mapping of `options` but
/// checking no signature, issuer, audience or time.
pub fn inspect_unverified(token: &str, options: &VerifyOptions) -> Result<UnverifiedTokenInspection, TokenError> {
    let segments = parse::split(token, options.max_token_bytes)?;
    let header = parse::decode_header(&segments)?;
    let claims = parse::decode_payload(&segments)?;
    let chain = Request::from_claims(claims.clone(), None, None, None, &options.mapping)?.chain;
    Ok(UnverifiedTokenInspection { header, claims, chain })
}

/// Renders who acts for whom: `"user → agent → sub-agent"`, the subject first, then each
/// actor in delegation order. Actors show their `sub` (else `client_id`), with `[instance]`.
pub fn render_chain(subject: Option<&str>, chain: &[Actor]) -> String {
    let mut parts = vec![subject.unwrap_or("(no subject)").to_string()];
    for actor in chain {
        let name = actor.sub.as_deref().or(actor.client_id.as_deref()).unwrap_or("(unnamed actor)");
        parts.push(match &actor.instance {
            Some(instance) => format!("{name}[{instance}]"),
            None => name.to_string(),
        });
    }
    parts.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(sub: Option<&str>, client_id: Option<&str>, instance: Option<&str>) -> Actor {
        Actor {
            sub: sub.map(str::to_string),
            client_id: client_id.map(str::to_string),
            instance: instance.map(str::to_string),
        }
    }

    #[test]
    fn renders_subject_then_actors_in_delegation_order() {
        let chain = [actor(Some("agent"), None, None), actor(None, Some("sub-agent-client"), Some("i-7"))];
        assert_eq!(render_chain(Some("user"), &chain), "user → agent → sub-agent-client[i-7]");
        assert_eq!(render_chain(None, &[actor(None, None, None)]), "(no subject) → (unnamed actor)");
        assert_eq!(render_chain(Some("user"), &[]), "user");
    }
}
