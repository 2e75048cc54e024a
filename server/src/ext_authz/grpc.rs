//! `envoy.service.auth.v3.Authorization/Check` over gRPC (tonic, the protos of `envoy-types`),
//! served by [`router`] as an axum router on the `[listen] grpc` listener.
//!
//! Envoy's `grpc_service` mode sends every request header (lower-case names, repeated headers
//! joined with `,`) in `attributes.request.http.headers`, or in `header_map` when
//! `encode_raw_headers` is on; both are read. A check request without HTTP attributes is
//! denied. Messages larger than `limits.max_body_bytes + limits.max_header_bytes` are refused
//! by tonic before decoding (`RESOURCE_EXHAUSTED`), malformed ones with `INTERNAL`: Envoy
//! answers either as a failure, which `failure_mode_allow: false` makes a deny.
use std::collections::HashMap;
use std::sync::Arc;

use envoy_types::ext_authz::v3::pb::{
    Authorization, AuthorizationServer, CheckRequest, CheckResponse, DeniedHttpResponse, HeaderAppendAction,
    HeaderValue, HeaderValueOption, HttpResponse, HttpStatus, OkHttpResponse,
};
use envoy_types::pb::envoy::config::core::v3::HeaderMap;
use envoy_types::pb::google::rpc;

use super::{Answer, CheckedRequest, Outcome};
use crate::bearer;
use crate::state::AppState;

/// The `Authorization` service over `state`.
pub struct CheckService {
    state: Arc<AppState>,
}

impl CheckService {
    /// The service deciding with `state`.
    pub fn new(state: Arc<AppState>) -> CheckService {
        CheckService { state }
    }
}

/// The gRPC listener's routes: `envoy.service.auth.v3.Authorization` and nothing else (other
/// paths answer `UNIMPLEMENTED`).
pub fn router(state: Arc<AppState>) -> axum::Router {
    let limits = &state.config.limits;
    let max_message = limits.max_body_bytes.saturating_add(limits.max_header_bytes);
    let service = AuthorizationServer::new(CheckService::new(state)).max_decoding_message_size(max_message);
    tonic::service::Routes::new(service).into_axum_router()
}

#[tonic::async_trait]
impl Authorization for CheckService {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        let check = request.into_inner();
        let attributes = check.attributes.unwrap_or_default();
        // Envoy's `source.certificate`: the URL-encoded PEM of the client's TLS certificate,
        // when the client connected with mutual TLS.
        let certificate = attributes.source.as_ref().and_then(|peer| super::certificate_der(&peer.certificate));
        let Some(http) = attributes.request.and_then(|request| request.http) else {
            tracing::info!("ext_authz gRPC: a check request without HTTP attributes: denied");
            let answer = Answer::not_decided("invalid_request", "the check request has no HTTP attributes".to_string());
            return Ok(tonic::Response::new(response(answer)));
        };
        let headers = Headers { map: &http.headers, raw: http.header_map.as_ref() };
        let authorization = headers.get("authorization");
        let bearer = match &authorization {
            Some(value) => bearer::parse(value),
            None => Err(bearer::BearerError::Missing),
        };
        let scheme = if http.scheme.is_empty() { "http" } else { http.scheme.as_str() };
        let checked = CheckedRequest {
            scheme,
            method: &http.method,
            host: &http.host,
            target: &http.path,
            client_certificate: certificate.as_deref(),
        };
        let answer = super::check(&self.state, &checked, |name| headers.get(name), bearer).await;
        Ok(tonic::Response::new(response(answer)))
    }
}

/// The request headers of a check request, in either encoding.
struct Headers<'a> {
    map: &'a HashMap<String, String>,
    raw: Option<&'a HeaderMap>,
}

impl Headers<'_> {
    /// The value of header `name` (lower case), repeated values joined with `,`.
    fn get(&self, name: &str) -> Option<String> {
        if let Some(value) = self.map.get(name) {
            return Some(value.clone());
        }
        let values: Vec<String> = self
            .raw?
            .headers
            .iter()
            .filter(|header| header.key.eq_ignore_ascii_case(name))
            .map(|header| match header.value.is_empty() {
                true => String::from_utf8_lossy(&header.raw_value).into_owned(),
                false => header.value.clone(),
            })
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }
}

/// The `CheckResponse` of an answer.
fn response(answer: Answer) -> CheckResponse {
    let code = match answer.outcome {
        Outcome::Allowed => tonic::Code::Ok,
        Outcome::Denied => tonic::Code::PermissionDenied,
        Outcome::Unauthenticated => tonic::Code::Unauthenticated,
    };
    let headers = answer.headers.into_iter().map(|(name, value)| overwrite(name, value)).collect();
    let http_response = match answer.outcome {
        Outcome::Allowed => HttpResponse::OkResponse(OkHttpResponse {
            headers,
            headers_to_remove: answer.remove_headers.into_iter().map(str::to_string).collect(),
            ..OkHttpResponse::default()
        }),
        Outcome::Denied | Outcome::Unauthenticated => HttpResponse::DeniedResponse(DeniedHttpResponse {
            status: Some(HttpStatus { code: i32::from(answer.status) }),
            headers,
            body: answer.body,
        }),
    };
    CheckResponse {
        status: Some(rpc::Status { code: code.into(), message: String::new(), details: Vec::new() }),
        http_response: Some(http_response),
        ..CheckResponse::default()
    }
}

/// A header that replaces any of the same name (so a client cannot smuggle its own
/// `x-warrant-sub` past the check).
fn overwrite(name: &str, value: String) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue { key: name.to_string(), value, raw_value: Vec::new() }),
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd.into(),
        ..HeaderValueOption::default()
    }
}
