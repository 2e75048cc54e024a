//! Operations endpoints: `/health` (the process answers), `/ready` (it can decide: policy
//! loaded, keys present, audit trail writable) and `/metrics`.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// `GET /health`: 200 while the process serves requests.
pub async fn health() -> Response {
    axum::Json(json!({ "status": "live" })).into_response()
}

/// `GET /ready`: 200 when every check passes, else 503; the body lists each check.
pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let version = state.gateway.policy_version();
    let audit_healthy = state.gateway.audit_log().is_none_or(|log| log.health().healthy);
    let keys_ready = state.config.issuers.is_empty() || state.verifier.is_some();
    let ready = audit_healthy && keys_ready;
    let body = json!({
        "ready": ready,
        "policy": { "package": version.package, "hash": version.hash },
        "keys": keys_ready,
        "audit": audit_healthy,
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

/// `GET /metrics`: the OpenMetrics text format prometheus-client writes (`_total` counters,
/// `# EOF`), under its own content type so Prometheus parses it as such.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(state.gateway.audit_log().map(|log| log.stats()));
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}
