//! The JSON decision API, for services that are not behind Envoy:
//!
//! - `POST /v1/decide`: a request document whose claims the caller already verified
//!   (`{"claims": {...}, "resource": ..., "action": ..., "context": {...}, "now": ...}`);
//! - `POST /v1/decide/token`: `{"token": ..., "resource": ..., "action": ..., "context": {...}}`,
//!   or the token in `Authorization: Bearer`; a DPoP-bound token (RFC 9449) also needs
//!   `"dpop": {"proof": ..., "method": ..., "uri": ...}`: the agent's proof and the HTTP request
//!   of the agent's that it names (not this API call);
//! - `POST /v1/decide/batch`: `{"requests": [...]}`, each item one of the two forms above
//!   (an item with `token` is a token request), answered in order.
//!
//! A decided request is `200` with the decision (`allowed`, `fired`, `deny_reasons`, `policy`)
//! and its `decision_id`; a token request also names the verified `subject` and current
//! `actor`, and a refused token is a decided deny (`token_error` names the refusal class). Input that cannot be decided is a `4xx` with `"allowed": false` and an error code.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rustls::pki_types::pem::PemObject;
use serde::Serialize;
use serde_json::{json, Map, Value};
use warrant::token::{HttpTarget, Presentation};
use warrant::{Decision, GatewayDecision, Request};

use super::api_error;
use crate::state::AppState;

/// `POST /v1/decide`.
pub async fn decide(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    match parse_body(&body).and_then(|value| decide_document(&state, value)) {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// `POST /v1/decide/token`.
pub async fn decide_token(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let bearer = match crate::bearer::from_headers(&headers) {
        Ok(credential) => Some(credential.token.to_string()),
        Err(crate::bearer::BearerError::Missing) => None,
        Err(error) => return Refusal::bad_request(error.to_string()).into_response(),
    };
    let value = match parse_body(&body) {
        Ok(value) => value,
        Err(refusal) => return refusal.into_response(),
    };
    match decide_token_document(&state, value, bearer).await {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// `POST /v1/decide/batch`.
pub async fn decide_batch(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let value = match parse_body(&body) {
        Ok(value) => value,
        Err(refusal) => return refusal.into_response(),
    };
    let requests = match value {
        Value::Object(mut fields) => fields.remove("requests"),
        _ => None,
    };
    let Some(Value::Array(requests)) = requests else {
        return Refusal::bad_request("`requests` must be an array of request documents").into_response();
    };
    let max = state.config.limits.max_batch;
    if requests.len() > max {
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("{} requests in one batch, more than the limit of {max}", requests.len()),
        );
    }
    let mut results = Vec::with_capacity(requests.len());
    for item in requests {
        let answer = if item.get("token").is_some() {
            decide_token_document(&state, item, None).await
        } else {
            decide_document(&state, item)
        };
        results.push(answer.map_or_else(|refusal| BatchItem::Refused(refusal.body()), BatchItem::Decided));
    }
    axum::Json(BatchAnswer { results }).into_response()
}

/// The answer of `/v1/decide/batch`: one item per request, in order.
#[derive(Serialize)]
struct BatchAnswer {
    results: Vec<BatchItem>,
}

/// A decided request, or the refusal of one that could not be decided.
#[derive(Serialize)]
#[serde(untagged)]
enum BatchItem {
    Decided(Answer),
    Refused(Value),
}

/// A decided request as the API answers it: the decision's fields, its id, and for a token
/// request the refusal code or the verified subject and current actor. Serialized straight from
/// the decision (no intermediate JSON tree: this is the hot path).
#[derive(Serialize)]
struct Answer {
    #[serde(flatten)]
    decision: Decision,
    decision_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_error: Option<&'static str>,
    /// `Some` for a valid token (its `sub`), `None` for other requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<Option<String>>,
    /// `Some` for a valid token (its current actor's `sub`), `None` for other requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<Option<String>>,
    /// The DPoP nonce to retry with, when a proof was refused for lacking a current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_nonce: Option<String>,
}

impl Answer {
    /// The decision, its id, and (for a refused token) the refusal code.
    fn new(decided: GatewayDecision) -> Answer {
        Answer {
            token_error: decided.refused_token.as_ref().map(|error| error.code()),
            decision: decided.decision,
            decision_id: decided.decision_id,
            subject: None,
            actor: None,
            dpop_nonce: None,
        }
    }
}

/// Why an API call was not decided.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn bad_request(message: impl Into<String>) -> Refusal {
        Refusal { status: StatusCode::BAD_REQUEST, code: "invalid_request", message: message.into() }
    }

    fn body(&self) -> Value {
        json!({ "allowed": false, "error": { "code": self.code, "message": self.message } })
    }

    fn into_response(self) -> Response {
        api_error(self.status, self.code, self.message)
    }
}

fn parse_body(body: &[u8]) -> Result<Value, Refusal> {
    serde_json::from_slice(body).map_err(|error| Refusal::bad_request(format!("invalid JSON: {error}")))
}

fn decide_document(state: &AppState, value: Value) -> Result<Answer, Refusal> {
    // The verifier's mapping by reference: this is the hot path, and a clone per request is waste.
    let default_mapping;
    let mapping = match &state.verifier {
        Some(verifier) => &verifier.options().mapping,
        None => {
            default_mapping = warrant::ClaimMapping::default();
            &default_mapping
        }
    };
    let request = Request::from_json(value, mapping).map_err(|error| Refusal::bad_request(error.to_string()))?;
    Ok(Answer::new(state.decide(request)))
}

async fn decide_token_document(state: &AppState, value: Value, bearer: Option<String>) -> Result<Answer, Refusal> {
    let Value::Object(mut fields) = value else {
        return Err(Refusal::bad_request("the request must be a JSON object"));
    };
    let token = match (fields.remove("token"), bearer) {
        (Some(Value::String(token)), _) => token,
        (None, Some(token)) => token,
        (Some(_), _) => return Err(Refusal::bad_request("`token` must be a string")),
        (None, None) => return Err(Refusal::bad_request("no `token` and no `Authorization: Bearer` header")),
    };
    let text = |name: &'static str, fields: &mut Map<String, Value>| match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(Refusal::bad_request(format!("`{name}` must be a string"))),
    };
    let resource = text("resource", &mut fields)?;
    let action = text("action", &mut fields)?;
    let context = match fields.remove("context") {
        None => Map::new(),
        Some(Value::Object(context)) => context,
        Some(_) => return Err(Refusal::bad_request("`context` must be an object")),
    };
    let dpop = match fields.remove("dpop") {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut dpop)) => {
            let proof = text("proof", &mut dpop)?;
            let method = text("method", &mut dpop)?;
            let uri = text("uri", &mut dpop)?;
            match (proof, method, uri, dpop.keys().next()) {
                (Some(proof), Some(method), Some(uri), None) => Some((proof, method, uri)),
                _ => {
                    return Err(Refusal::bad_request(
                        "`dpop` must be exactly {\"proof\", \"method\", \"uri\"}, all strings",
                    ))
                }
            }
        }
        Some(_) => return Err(Refusal::bad_request("`dpop` must be an object")),
    };
    let certificate = match text("client_certificate", &mut fields)? {
        None => None,
        Some(pem) => match rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()) {
            Ok(der) => Some(der.as_ref().to_vec()),
            Err(_) => return Err(Refusal::bad_request("`client_certificate` must be one PEM certificate")),
        },
    };
    if let Some(unknown) = fields.keys().next() {
        return Err(Refusal::bad_request(format!(
            "unknown field `{unknown}` (a token request has `token`, `resource`, `action`, `context`, `dpop`, \
             `client_certificate`)"
        )));
    }
    let presented = Presentation {
        token: &token,
        dpop_proof: dpop.as_ref().map(|(proof, _, _)| proof.as_str()),
        target: dpop.as_ref().map(|(_, method, uri)| HttpTarget { method, uri }),
        client_certificate: certificate.as_deref(),
    };
    let Some(outcome) = state.decide_token(&presented, resource, action, context).await else {
        return Err(Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "no_issuer",
            message: "no token issuer is configured".to_string(),
        });
    };
    let nonce_required = outcome.decided.refused_token == Some(warrant::token::TokenError::DpopNonceRequired);
    let mut answer = Answer::new(outcome.decided);
    if nonce_required {
        answer.dpop_nonce = state.dpop_nonce();
    }
    if let Some(request) = outcome.request {
        answer.actor = Some(request.current_actor().and_then(|actor| actor.sub.clone()));
        answer.subject = Some(request.sub);
    }
    Ok(answer)
}
