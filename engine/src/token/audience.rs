//! The audience is the resource being called (RFC 8707): with [`AudienceBinding::Resource`], a
//! token is accepted for a request only if its `aud` names the audience of the resource that
//! request is for, so a gateway fronting two APIs with one verifier cannot be made to accept a
//! billing token at the CRM, whatever the policy remembers to test.
//!
//! The audience of a resource is the `audience` of the longest configured [`ResourceAudience`]
//! whose `prefix` the resource lies under; without one, any audience the resource lies under
//! (the resource itself, or the API it belongs to: `https://crm.acme.com` for
//! `https://crm.acme.com/contacts/42`). "Lies under" is byte-wise: the resource equals the
//! prefix, or continues it after a `/`, `?` or `#`, or the prefix itself ends with `/` or `:`;
//! so `https://crm.acme.com` never covers `https://crm.acme.com.evil.example/`.
use serde_json::{Map, Value};

use super::error::TokenError;

/// How a token's audience is tied to the resource of the request it is presented for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AudienceBinding {
    /// `aud` must name one of the issuer's audiences; which resource the request is for is left
    /// to the policy (`aud` is in its vocabulary).
    #[default]
    IssuerAudiences,
    /// `aud` must also name the audience of the request's resource (see the module docs): the
    /// configured prefixes first, else the resource or an audience it lies under. A request
    /// without a resource is refused (`resource_required`): there is nothing to bind to.
    Resource(Vec<ResourceAudience>),
}

/// Resources under `prefix` belong to the API whose tokens carry `audience`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceAudience {
    /// A resource prefix, e.g. `https://crm.acme.com/` or `mcp://tools.acme.com/tools/`.
    pub prefix: String,
    /// The audience tokens for those resources carry, e.g. `https://crm.acme.com`.
    pub audience: String,
}

impl AudienceBinding {
    /// Refuses `claims` (already verified) for a request on `resource` unless their `aud`
    /// names the resource's audience.
    pub(crate) fn check(&self, claims: &Map<String, Value>, resource: Option<&str>) -> Result<(), TokenError> {
        let AudienceBinding::Resource(mapped) = self else { return Ok(()) };
        let resource = resource.ok_or(TokenError::ResourceRequired)?;
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(aud)) => vec![aud],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let configured =
            mapped.iter().filter(|entry| lies_under(resource, &entry.prefix)).max_by_key(|e| e.prefix.len());
        let issued_for_it = match configured {
            Some(entry) => audiences.contains(&entry.audience.as_str()),
            None => audiences.iter().any(|audience| lies_under(resource, audience)),
        };
        if issued_for_it {
            Ok(())
        } else {
            Err(TokenError::WrongResourceAudience)
        }
    }
}

/// Whether `resource` is `prefix` or lies under it (see the module docs).
fn lies_under(resource: &str, prefix: &str) -> bool {
    if prefix.is_empty() {
        return false;
    }
    match resource.strip_prefix(prefix) {
        None => false,
        Some("") => true,
        Some(rest) => prefix.ends_with(['/', ':']) || rest.starts_with(['/', '?', '#']),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn claims(aud: Value) -> Map<String, Value> {
        let Value::Object(map) = json!({ "aud": aud }) else { unreachable!() };
        map
    }

    #[test]
    fn the_resource_or_an_api_it_lies_under_is_its_audience() {
        let binding = AudienceBinding::Resource(Vec::new());
        let crm = claims(json!(["https://crm.acme.com", "https://other.example"]));
        for resource in ["https://crm.acme.com", "https://crm.acme.com/contacts/42", "https://crm.acme.com?x#y"] {
            assert_eq!(binding.check(&crm, Some(resource)), Ok(()), "{resource}");
        }
        for resource in
            ["https://crm.acme.com.evil.example/", "https://crm.acme.community/x", "https://billing.acme.com/"]
        {
            assert_eq!(binding.check(&crm, Some(resource)), Err(TokenError::WrongResourceAudience), "{resource}");
        }
        assert_eq!(binding.check(&crm, None), Err(TokenError::ResourceRequired));
        assert_eq!(binding.check(&claims(json!("tool:")), Some("tool:search")), Ok(()));
    }

    #[test]
    fn a_configured_prefix_decides_and_the_longest_wins() {
        let binding = AudienceBinding::Resource(vec![
            ResourceAudience { prefix: "mcp://tools.acme.com/".into(), audience: "https://tools.acme.com/mcp".into() },
            ResourceAudience {
                prefix: "mcp://tools.acme.com/tools/refund".into(),
                audience: "https://refunds.acme.com".into(),
            },
        ]);
        let tools = claims(json!("https://tools.acme.com/mcp"));
        assert_eq!(binding.check(&tools, Some("mcp://tools.acme.com/tools/search")), Ok(()));
        assert_eq!(
            binding.check(&tools, Some("mcp://tools.acme.com/tools/refund")),
            Err(TokenError::WrongResourceAudience)
        );
        // The resource itself as the audience does not bypass a configured mapping.
        let itself = claims(json!("mcp://tools.acme.com/tools/search"));
        assert_eq!(
            binding.check(&itself, Some("mcp://tools.acme.com/tools/search")),
            Err(TokenError::WrongResourceAudience)
        );
    }

    #[test]
    fn the_default_binds_nothing() {
        assert_eq!(AudienceBinding::IssuerAudiences.check(&claims(json!("a")), Some("b")), Ok(()));
        assert_eq!(AudienceBinding::IssuerAudiences.check(&claims(json!("a")), None), Ok(()));
    }
}
