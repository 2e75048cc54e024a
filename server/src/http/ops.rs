//! Operations endpoints: `/health` (the process answers), `/ready` (it can decide: policy
//! loaded, keys present, audit trail writable) and `/metrics`.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::keys::KeySetReport;
use crate::state::AppState;

/// `GET /health`: 200 while the process serves requests.
pub async fn health() -> Response {
    axum::Json(json!({ "status": "live" })).into_response()
}

/// `GET /ready`: 200 when every check passes, else 503; the body lists each check.
pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let version = state.gateway.policy_version();
    let audit_healthy = state.gateway.audit_log().is_none_or(|log| log.health().healthy);
    let reports = state.key_sets.as_ref().map(|sets| sets.reports(state.verifier.as_ref())).unwrap_or_default();
    let keys_ready =
        state.config.issuers.is_empty() || (state.verifier.is_some() && reports.iter().all(|report| report.has_keys));
    let ready = audit_healthy && keys_ready;
    let body = json!({
        "ready": ready,
        "policy": { "package": version.package, "hash": version.hash },
        "keys": keys_ready,
        "key_sets": key_sets_json(&reports),
        "audit": audit_healthy,
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

/// `GET /metrics`: the OpenMetrics text format prometheus-client writes (`_total` counters,
/// `# EOF`), under its own content type so Prometheus parses it as such.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let reports = state.key_sets.as_ref().map(|sets| sets.reports(state.verifier.as_ref())).unwrap_or_default();
    state.metrics.observe_keys(&reports, state.verifier.as_ref().map(|verifier| verifier.cache_stats()));
    let text = state.metrics.render(state.gateway.audit_log().map(|log| log.stats()));
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}

/// `key_sets` of `/ready`: per remote issuer, whether it has keys, when they were fetched (Unix
/// seconds) and how old they are, and the last fetch error.
fn key_sets_json(reports: &[KeySetReport]) -> Value {
    let unix = |time: Option<SystemTime>| {
        time.and_then(|time| time.duration_since(UNIX_EPOCH).ok()).map(|since| since.as_secs())
    };
    let sets: serde_json::Map<String, Value> = reports
        .iter()
        .map(|report| {
            let entry = json!({
                "source": report.source,
                "has_keys": report.has_keys,
                "fetched_at": unix(report.fetched_at),
                "age_seconds": report.age_seconds().map(|age| age.floor() as u64),
                "last_error": report.last_error,
                "last_error_at": unix(report.last_error_at),
                "failures": report.failures,
            });
            (report.issuer.clone(), entry)
        })
        .collect();
    Value::Object(sets)
}
