//! OAuth 2.0 Protected Resource Metadata (RFC 9728), which the MCP authorization specification
//! requires of every MCP server: `GET /.well-known/oauth-protected-resource{path}` names the
//! protected resource, the authorization servers that issue its tokens, its scopes and how
//! tokens are presented, so a client that was refused (`401` with `resource_metadata`) can find
//! where to get a token for exactly this resource (RFC 8707).
//!
//! The well-known path is built as RFC 9728 §3.1 says: the resource's path (if any) follows
//! `/.well-known/oauth-protected-resource`, so `https://tools.acme.com/mcp` publishes at
//! `https://tools.acme.com/.well-known/oauth-protected-resource/mcp`.
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::config::ProtectedResourceSection;
use crate::state::AppState;

/// The well-known prefix of RFC 9728 §3.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Where the metadata of `section`'s resource is served: the path on this server, and the
/// absolute URL a `401` names in `resource_metadata`.
pub fn location(section: &ProtectedResourceSection) -> Option<(String, String)> {
    let resource = reqwest::Url::parse(&section.resource).ok()?;
    let suffix = resource.path().trim_end_matches('/');
    let path = format!("{WELL_KNOWN}{suffix}");
    let origin = resource.origin().ascii_serialization();
    Some((path.clone(), format!("{origin}{path}")))
}

/// `GET` of the metadata document.
pub async fn metadata(State(state): State<Arc<AppState>>) -> Response {
    let Some(section) = &state.config.protected_resource else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let mut document = Map::new();
    document.insert("resource".into(), json!(section.resource));
    document.insert("authorization_servers".into(), json!(section.authorization_servers));
    if !section.scopes_supported.is_empty() {
        document.insert("scopes_supported".into(), json!(section.scopes_supported));
    }
    // Tokens are read from the Authorization header only (RFC 6750 §2.1).
    document.insert("bearer_methods_supported".into(), json!(["header"]));
    if let Some(documentation) = &section.resource_documentation {
        document.insert("resource_documentation".into(), json!(documentation));
    }
    let algorithms = state.dpop_algorithms();
    if !algorithms.is_empty() {
        document.insert("dpop_signing_alg_values_supported".into(), json!(algorithms));
    }
    if state.config.issuers.iter().any(|issuer| issuer.dpop == warrant::token::DpopMode::Require) {
        document.insert("dpop_bound_access_tokens_required".into(), Value::Bool(true));
    }
    axum::Json(Value::Object(document)).into_response()
}
