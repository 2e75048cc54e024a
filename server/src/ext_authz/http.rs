//! Envoy's `http_service` mode on the HTTP listener: Envoy sends the checked request's method,
//! its path after `ext_authz.http_path_prefix` (`/ext_authz/files/a` checks `/files/a`), and
//! the headers its `allowed_headers` lets through (`Host`, `Authorization` always). The body
//! is never read. `200` allows; the `x-warrant-*` headers of the answer are for Envoy's
//! `authorization_response.allowed_upstream_headers`, and `x-envoy-auth-headers-to-remove`
//! names those Envoy must strip from the upstream request. Any other status denies.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use super::{Answer, CheckedRequest, Outcome};
use crate::bearer;
use crate::state::AppState;

/// The header an HTTP authorization service lists upstream headers to remove in.
pub const HEADERS_TO_REMOVE: &str = "x-envoy-auth-headers-to-remove";

/// The routes under `prefix` (`prefix`, `prefix/`, `prefix/...`), for the HTTP router.
pub fn routes(prefix: &str) -> Router<Arc<AppState>> {
    Router::new()
        .route(prefix, any(check))
        .route(&format!("{prefix}/"), any(check))
        .route(&format!("{prefix}/{{*path}}"), any(check))
}

/// Any method on `{http_path_prefix}/...`: checks the forwarded request.
pub async fn check(State(state): State<Arc<AppState>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let prefix = state.config.ext_authz.http_path_prefix.as_str();
    let path = uri.path().strip_prefix(prefix).unwrap_or_default();
    let path = if path.is_empty() { "/" } else { path };
    let target = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| uri.authority().map(|authority| authority.as_str()))
        .unwrap_or_default();
    // Envoy sets `x-forwarded-proto` to how the client reached it; a DPoP proof names it.
    let scheme = match headers.get("x-forwarded-proto").and_then(|value| value.to_str().ok()) {
        Some("https") => "https",
        _ => "http",
    };
    // The client certificate Envoy authenticated, from the `Cert` of its `x-forwarded-client-cert`.
    let certificate =
        headers.get("x-forwarded-client-cert").and_then(|value| value.to_str().ok()).and_then(super::xfcc_certificate);
    let checked = CheckedRequest {
        scheme,
        method: method.as_str(),
        host,
        target: &target,
        client_certificate: certificate.as_deref(),
    };
    let header_text = |name: &str| {
        let values: Vec<&str> = headers.get_all(name).iter().filter_map(|value| value.to_str().ok()).collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    let answer = super::check(&state, &checked, header_text, bearer::from_headers(&headers)).await;
    into_response(answer)
}

fn into_response(answer: Answer) -> Response {
    let status = match answer.outcome {
        Outcome::Allowed => StatusCode::OK,
        Outcome::Denied | Outcome::Unauthenticated => {
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::FORBIDDEN)
        }
    };
    let mut headers = HeaderMap::new();
    let mut pairs: Vec<(&str, String)> = answer.headers;
    if !answer.remove_headers.is_empty() {
        pairs.push((HEADERS_TO_REMOVE, answer.remove_headers.join(", ")));
    }
    for (name, value) in pairs {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                headers.insert(name, value);
            }
            // Values are percent-encoded to visible ASCII, so this cannot happen; if it did,
            // an allow whose headers cannot be sent is not an allow.
            _ => return (StatusCode::FORBIDDEN, "{\"allowed\":false}").into_response(),
        }
    }
    (status, headers, answer.body).into_response()
}
