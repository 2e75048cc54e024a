//! The HTTP listener: the JSON decision API (`/v1/...`), operations (`/health`, `/ready`,
//! `/metrics`) and Envoy's ext_authz `http_service` mode, one axum router over [`AppState`].
pub mod api;
pub mod ops;
pub mod resource_metadata;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use crate::state::AppState;

/// The routes, with the body cap applied to all of them.
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.config.limits.max_body_bytes;
    let metadata_path = state.config.protected_resource.as_ref().and_then(resource_metadata::location);
    let router = match metadata_path {
        Some((path, _)) => Router::new().route(&path, get(resource_metadata::metadata)),
        None => Router::new(),
    };
    let router = match &state.mcp {
        Some(mcp) => router.merge(crate::mcp::routes(mcp.path())),
        None => router,
    };
    router
        .route("/v1/decide", post(api::decide))
        .route("/v1/decide/token", post(api::decide_token))
        .route("/v1/decide/batch", post(api::decide_batch))
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .merge(crate::ext_authz::http::routes(&state.config.ext_authz.http_path_prefix))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// A refused API call: a status, a stable code and a message, always with `"allowed": false`
/// so a client that reads only that field still fails closed.
pub fn api_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    let body = json!({ "allowed": false, "error": { "code": code, "message": message.into() } });
    (status, axum::Json(body)).into_response()
}
