//! The MCP gateway (`[mcp]`): `warrant serve` in front of an MCP server over Streamable HTTP,
//! making it the OAuth resource server the MCP authorization specification asks for and
//! deciding every message with the policy.
//!
//! - **Authentication** (every HTTP request): one `Authorization: Bearer` (or `DPoP`) token,
//!   verified against the `[[issuer]]`s, whose audience must be `[protected_resource] resource`
//!   (compared in canonical form: lower-case scheme and host, no trailing `/`). A missing or
//!   refused token: `401` with `WWW-Authenticate: Bearer ... resource_metadata="..."` (RFC 9728
//!   §5.1), decided and audited as a refused token.
//! - **Decisions** (every JSON-RPC message; [`mapping`] says what the policy is asked): an
//!   allowed message goes upstream; a refused request is answered with a JSON-RPC error
//!   ([`jsonrpc::REFUSED`], with the decision id, and the deny reasons under
//!   `expose_deny_reasons`) and never reaches the upstream; a refused notification or client
//!   response is dropped (`403` when it was the whole body). A batch is decided element by
//!   element: the allowed ones go upstream as a batch, the refusals join the answer. The token
//!   is verified once per HTTP request, revocations are checked on every message, so revoking
//!   an agent run refuses its open sessions at their next message.
//! - **Lists** (`tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`):
//!   each item of the answer is decided, and only allowed items reach the client, whether the
//!   answer is JSON or an event stream. An answer that cannot be checked (too large, not JSON)
//!   is replaced by an error, never passed unfiltered.
//! - **Forwarding**: only MCP's own headers go upstream (`Content-Type`, `Accept`,
//!   `Mcp-Session-Id`, `MCP-Protocol-Version`, `Last-Event-ID`), never the client's token; the
//!   gateway adds `x-warrant-sub`, `x-warrant-actor`, `x-warrant-decision-id` (one message)
//!   and, when configured, its own `Authorization`. Answers stream back as they come (an event
//!   stream is not buffered), with `Content-Type`, `Mcp-Session-Id` and `Cache-Control`.
pub mod jsonrpc;
pub mod mapping;
pub mod sse;

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body as HttpBody, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use warrant::token::{HttpTarget, Presentation, TokenError};
use warrant::{GatewayDecision, Request};

use crate::bearer::{self, BearerError, Scheme};
use crate::config::{ConfigError, McpSection, ServerConfig};
use crate::error::ServeError;
use crate::ext_authz::{header_value, HEADER_ACTOR, HEADER_DECISION_ID, HEADER_SUBJECT};
use crate::state::{unix_now, AppState};
use jsonrpc::Message;
use mapping::{ListKind, Target};

/// Request headers passed upstream: MCP's own, nothing that carries a credential.
const REQUEST_HEADERS: [&str; 5] =
    ["content-type", "accept", "mcp-session-id", "mcp-protocol-version", "last-event-id"];
/// Answer headers passed back to the client.
const ANSWER_HEADERS: [&str; 3] = ["content-type", "mcp-session-id", "cache-control"];
/// The media type of an event stream.
const EVENT_STREAM: &str = "text/event-stream";

/// `[mcp]`, ready: where the MCP server is, how to reach it, what resources are called.
pub struct McpGateway {
    upstream: reqwest::Url,
    client: reqwest::Client,
    /// The canonical resource identifier: the audience tokens must carry, what a DPoP proof names.
    resource: String,
    path: String,
    prefix: String,
    expose_deny_reasons: bool,
    upstream_authorization: Option<HeaderValue>,
    upstream_timeout: Duration,
    max_list_response_bytes: usize,
}

impl McpGateway {
    /// Refuses an `[mcp]` section that cannot work, naming the key.
    pub fn check_config(section: &McpSection, config: &ServerConfig) -> Result<(), ConfigError> {
        let invalid = |key: &str, problem: String| Err(ConfigError::Invalid { key: format!("mcp.{key}"), problem });
        let Some(resource) = &config.protected_resource else {
            let problem = "the MCP authorization specification requires protected resource metadata: add \
                           `[protected_resource]` with the MCP server's URI as `resource`";
            return invalid("upstream", problem.to_string());
        };
        if config.issuers.is_empty() {
            return invalid("upstream", "name at least one `[[issuer]]` whose tokens the gateway accepts".to_string());
        }
        match reqwest::Url::parse(&section.upstream) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.fragment().is_none() => {}
            Ok(_) => return invalid("upstream", "must be an http or https URL without fragment".to_string()),
            Err(error) => return invalid("upstream", format!("not a URL: {error}")),
        }
        let path = serving_path(section, &resource.resource);
        let taken = ["/v1", "/health", "/ready", "/metrics", "/.well-known", &config.ext_authz.http_path_prefix];
        if !path.starts_with('/') || path.contains(['{', '}', '*', '?', '#']) {
            return invalid("path", format!("`{path}` must start with `/` and have no `{{`, `}}`, `*`, `?`, `#`"));
        }
        if let Some(other) = taken.iter().find(|taken| path == **taken || path.starts_with(&format!("{taken}/"))) {
            return invalid("path", format!("`{path}` is under `{other}`, which another part of the server serves"));
        }
        if section.resource_prefix.as_ref().is_some_and(|prefix| prefix.is_empty() || prefix.ends_with('/')) {
            return invalid("resource_prefix", "must not be empty or end with `/`".to_string());
        }
        if section.upstream_timeout_ms == 0 || section.max_list_response_bytes == 0 {
            return invalid(
                "upstream_timeout_ms",
                "`upstream_timeout_ms` and `max_list_response_bytes` must be at least 1".to_string(),
            );
        }
        Ok(())
    }

    /// Builds the gateway of a checked configuration; reads `upstream_authorization_env`.
    pub fn new(section: &McpSection, config: &ServerConfig) -> Result<McpGateway, ServeError> {
        let invalid = |key: &str, problem: String| {
            ServeError::Config(ConfigError::Invalid { key: format!("mcp.{key}"), problem })
        };
        let resource_section = config
            .protected_resource
            .as_ref()
            .ok_or_else(|| invalid("upstream", "no [protected_resource]".to_string()))?;
        let resource = reqwest::Url::parse(&resource_section.resource)
            .map_err(|error| invalid("upstream", format!("the resource is not a URL: {error}")))?;
        let upstream =
            reqwest::Url::parse(&section.upstream).map_err(|error| invalid("upstream", error.to_string()))?;
        let upstream_authorization = match &section.upstream_authorization_env {
            None => None,
            Some(name) => {
                let value = std::env::var(name)
                    .map_err(|_| invalid("upstream_authorization_env", format!("the environment has no `{name}`")))?;
                let mut value = HeaderValue::try_from(value)
                    .map_err(|_| invalid("upstream_authorization_env", format!("`{name}` is not a header value")))?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(section.upstream_timeout_ms))
            // A redirect would send the call where the operator did not point the gateway.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| ServeError::Runtime(format!("the MCP upstream client: {error}")))?;
        let prefix = section
            .resource_prefix
            .clone()
            .unwrap_or_else(|| format!("mcp://{}", resource.host_str().unwrap_or_default()));
        Ok(McpGateway {
            upstream,
            client,
            resource: canonical(&resource),
            path: serving_path(section, &resource_section.resource),
            prefix,
            expose_deny_reasons: section.expose_deny_reasons,
            upstream_authorization,
            upstream_timeout: Duration::from_millis(section.upstream_timeout_ms),
            max_list_response_bytes: section.max_list_response_bytes,
        })
    }

    /// Where the gateway serves MCP on the HTTP listener.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// `[mcp] path`, or the path of the resource (`/` when it has none).
fn serving_path(section: &McpSection, resource: &str) -> String {
    section.path.clone().unwrap_or_else(|| {
        let path =
            reqwest::Url::parse(resource).map(|url| url.path().trim_end_matches('/').to_string()).unwrap_or_default();
        if path.is_empty() {
            "/".to_string()
        } else {
            path
        }
    })
}

/// The MCP authorization specification's canonical server URI: lower-case scheme and host
/// (the URL parser's), no fragment, no trailing `/`.
fn canonical(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.as_str().trim_end_matches('/').to_string()
}

/// The MCP routes for the HTTP router.
pub fn routes(path: &str) -> Router<Arc<AppState>> {
    Router::new().route(path, post(post_messages).get(open_stream).delete(end_session))
}

/// `POST`: one JSON-RPC message or a batch.
async fn post_messages(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(mcp) = &state.mcp else { return StatusCode::NOT_FOUND.into_response() };
    let verified = match authenticate(&state, mcp, &headers, &Method::POST).await {
        Ok(verified) => verified,
        Err(refusal) => return refusal,
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let message = format!("the body was refused: {rejection} (limits.max_body_bytes)");
            return json_answer(
                rejection.status(),
                &jsonrpc::error(Value::Null, jsonrpc::INVALID_REQUEST, &message, None),
            );
        }
    };
    let parsed = match jsonrpc::parse_body(&body, state.config.limits.max_batch) {
        Ok(parsed) => parsed,
        Err((code, message)) => {
            return json_answer(StatusCode::BAD_REQUEST, &jsonrpc::error(Value::Null, code, &message, None))
        }
    };
    let plan = Plan::decide(&state, mcp, &verified, parsed, body);
    let Some(forward) = plan.forward.clone() else { return plan.answer_alone() };
    let upstream = match send(mcp, Method::POST, &headers, Some(forward), &verified, plan.decision_id.as_deref()).await
    {
        Ok(upstream) => upstream,
        Err(problem) => return plan.upstream_failed(&problem),
    };
    plan.relay(Arc::clone(&state), verified, upstream).await
}

/// `GET`: the server's event stream of the session.
async fn open_stream(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    relay_session_call(state, headers, Method::GET, mapping::ACTION_STREAM).await
}

/// `DELETE`: the client ends its session.
async fn end_session(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    relay_session_call(state, headers, Method::DELETE, mapping::ACTION_END_SESSION).await
}

/// A bodiless call on the session: authenticated, decided as `action` on the server, relayed.
async fn relay_session_call(state: Arc<AppState>, headers: HeaderMap, method: Method, action: &str) -> Response {
    let Some(mcp) = &state.mcp else { return StatusCode::NOT_FOUND.into_response() };
    let verified = match authenticate(&state, mcp, &headers, &method).await {
        Ok(verified) => verified,
        Err(refusal) => return refusal,
    };
    let decided = decide(&state, &verified, mapping::server_target(&mcp.prefix, action, method.as_str()));
    if !decided.decision.allowed {
        let error = refusal(mcp, Value::Null, &decided);
        return json_answer(StatusCode::FORBIDDEN, &error);
    }
    match send(mcp, method, &headers, None, &verified, Some(&decided.decision_id)).await {
        Ok(upstream) => pass_through(upstream, Vec::new()),
        Err(problem) => {
            let error = jsonrpc::error(Value::Null, jsonrpc::UPSTREAM_FAILED, &problem, None);
            json_answer(StatusCode::BAD_GATEWAY, &error)
        }
    }
}

/// The verified request of the call's token (its resource the MCP server), or the `401`.
async fn authenticate(
    state: &AppState,
    mcp: &McpGateway,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Request, Response> {
    let resource = Some(mcp.resource.clone());
    let credential = match bearer::from_headers(headers) {
        Ok(credential) => credential,
        Err(error) => {
            let decided = state.decide_refused(error.token_error(), resource, None);
            let refused = decided.refused_token.as_ref().filter(|_| error != BearerError::Missing);
            return Err(unauthorized(state, &decided, refused));
        }
    };
    let proof = match credential.scheme {
        Scheme::Dpop => headers.get("dpop").and_then(|value| value.to_str().ok()),
        Scheme::Bearer => None,
    };
    // A DPoP proof names the URI the client called: the MCP server's.
    let presented = Presentation {
        token: credential.token,
        dpop_proof: proof,
        target: proof.map(|_| HttpTarget { method: method.as_str(), uri: &mcp.resource }),
        client_certificate: None,
    };
    let verified = state.verify(&presented, resource.clone(), None, unix_now()).await;
    let verified = match verified {
        Some(verified) => verified.and_then(|request| mcp.check_audience(request)),
        None => Err(TokenError::KeysUnavailable),
    };
    verified.map_err(|error| {
        let decided = state.decide_refused(error, resource, None);
        unauthorized(state, &decided, decided.refused_token.as_ref())
    })
}

impl McpGateway {
    /// RFC 8707 and the MCP authorization specification: the token must be issued for this
    /// MCP server, whatever else the issuer's accepted audiences allow.
    fn check_audience(&self, request: Request) -> Result<Request, TokenError> {
        let for_this_server =
            request.aud.iter().flatten().any(|audience| {
                reqwest::Url::parse(audience).is_ok_and(|audience| canonical(&audience) == self.resource)
            });
        if for_this_server {
            Ok(request)
        } else {
            Err(TokenError::WrongResourceAudience)
        }
    }
}

/// `401` with the challenge (and a DPoP nonce when server nonces are on).
fn unauthorized(state: &AppState, decided: &GatewayDecision, refused: Option<&TokenError>) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::try_from(state.challenge.www_authenticate(refused)) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    if let Some(nonce) = state.dpop_nonce().and_then(|nonce| HeaderValue::try_from(nonce).ok()) {
        headers.insert("dpop-nonce", nonce);
    }
    if let Ok(value) = HeaderValue::try_from(header_value(&decided.decision_id)) {
        headers.insert(HEADER_DECISION_ID, value);
    }
    let error = if refused.is_some() { "invalid_token" } else { "no_token" };
    let body = jsonrpc::error(Value::Null, jsonrpc::REFUSED, &format!("unauthorized: {error}"), None);
    (StatusCode::UNAUTHORIZED, headers, axum::Json(body)).into_response()
}

/// Decides one target for the verified token.
fn decide(state: &AppState, verified: &Request, target: Target) -> GatewayDecision {
    let mut request = verified.clone();
    request.resource = Some(target.resource);
    request.action = Some(target.action);
    request.context = target.context;
    state.decide(request)
}

/// The JSON-RPC error of a refused request.
fn refusal(mcp: &McpGateway, id: Value, decided: &GatewayDecision) -> Value {
    let mut data = Map::new();
    data.insert("decision_id".to_string(), Value::String(decided.decision_id.clone()));
    let message = if mcp.expose_deny_reasons {
        data.insert("deny_reasons".to_string(), serde_json::json!(decided.decision.deny_reasons));
        format!("refused by policy: {}", decided.decision.deny_reasons.join("; "))
    } else {
        "refused by policy".to_string()
    };
    jsonrpc::error(id, jsonrpc::REFUSED, &message, Some(data))
}

/// What to do with one POST body, every message decided.
struct Plan {
    /// What goes upstream: the body as received (one allowed message), or the allowed
    /// elements of a batch; none when nothing was allowed.
    forward: Option<Bytes>,
    /// The gateway's own answers (refusals, invalid messages), in the body's order.
    answers: Vec<Value>,
    /// Allowed list requests, by id: their answers are filtered.
    lists: Vec<(Value, ListKind)>,
    /// The body was a batch: answers are an array.
    batch: bool,
    /// The body was one notification or response, refused (answered `403`).
    refused_without_answer: bool,
    /// The decision of the one forwarded message (not for batches).
    decision_id: Option<String>,
}

impl Plan {
    fn decide(state: &AppState, mcp: &McpGateway, verified: &Request, body: jsonrpc::Body, raw: Bytes) -> Plan {
        let (messages, batch) = match body {
            jsonrpc::Body::Single(message) => (vec![message], false),
            jsonrpc::Body::Batch(messages) => (messages, true),
        };
        let mut plan = Plan {
            forward: None,
            answers: Vec::new(),
            lists: Vec::new(),
            batch,
            refused_without_answer: false,
            decision_id: None,
        };
        let mut allowed = Vec::new();
        let mut last_decision = None;
        for message in messages {
            let (id, target, list) = match jsonrpc::classify(&message) {
                Message::Invalid { id, problem } => {
                    plan.answers.push(jsonrpc::error(id, jsonrpc::INVALID_REQUEST, problem, None));
                    continue;
                }
                Message::Request { id, method, params } => match mapping::target(&mcp.prefix, method, params) {
                    Ok(target) => (Some(id.clone()), target, ListKind::of(method)),
                    Err(problem) => {
                        plan.answers.push(jsonrpc::error(id.clone(), jsonrpc::INVALID_PARAMS, problem, None));
                        continue;
                    }
                },
                Message::Notification { method, params } => match mapping::target(&mcp.prefix, method, params) {
                    Ok(target) => (None, target, None),
                    Err(problem) => {
                        plan.answers.push(jsonrpc::error(Value::Null, jsonrpc::INVALID_PARAMS, problem, None));
                        continue;
                    }
                },
                Message::Response => (
                    None,
                    mapping::server_target(&mcp.prefix, mapping::ACTION_RESPONSE, mapping::ACTION_RESPONSE),
                    None,
                ),
            };
            let decided = decide(state, verified, target);
            match (decided.decision.allowed, id) {
                (true, id) => {
                    if let (Some(id), Some(kind)) = (id, list) {
                        plan.lists.push((id, kind));
                    }
                    allowed.push(message);
                    last_decision = Some(decided.decision_id);
                }
                (false, Some(id)) => plan.answers.push(refusal(mcp, id, &decided)),
                (false, None) => plan.refused_without_answer = !batch,
            }
        }
        plan.forward = match (batch, allowed.len()) {
            (_, 0) => None,
            (false, _) => Some(raw),
            (true, _) => serde_json::to_vec(&allowed).ok().map(Bytes::from),
        };
        plan.decision_id = if batch { None } else { last_decision };
        plan
    }

    /// The answer when nothing goes upstream.
    fn answer_alone(&self) -> Response {
        if self.refused_without_answer {
            let error = jsonrpc::error(Value::Null, jsonrpc::REFUSED, "refused by policy", None);
            return json_answer(StatusCode::FORBIDDEN, &error);
        }
        match self.answers_value() {
            Some(answers) => json_answer(StatusCode::OK, &answers),
            // A batch of refused notifications: nothing to answer.
            None => StatusCode::ACCEPTED.into_response(),
        }
    }

    /// The gateway's answers as one body: an array for a batch, else the one answer.
    fn answers_value(&self) -> Option<Value> {
        match (self.batch, self.answers.as_slice()) {
            (_, []) => None,
            (false, [one]) => Some(one.clone()),
            _ => Some(Value::Array(self.answers.clone())),
        }
    }

    /// The upstream failed: every forwarded request is answered with the failure.
    fn upstream_failed(&self, problem: &str) -> Response {
        let error = jsonrpc::error(Value::Null, jsonrpc::UPSTREAM_FAILED, problem, None);
        let mut answers = self.answers.clone();
        answers.push(error.clone());
        let body = if self.batch { Value::Array(answers) } else { error };
        json_answer(StatusCode::BAD_GATEWAY, &body)
    }

    /// Relays the upstream's answer, adding the gateway's answers and filtering list answers.
    async fn relay(self, state: Arc<AppState>, verified: Request, upstream: reqwest::Response) -> Response {
        let status = upstream.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            // The upstream refused the gateway itself: the client's token is not at stake.
            return self.upstream_failed(&format!("the MCP server refused the gateway ({status})"));
        }
        if self.answers.is_empty() && self.lists.is_empty() {
            return pass_through(upstream, Vec::new());
        }
        if status == reqwest::StatusCode::ACCEPTED {
            return self.answer_alone_with(StatusCode::OK);
        }
        let content_type = media_type(upstream.headers());
        let Some(mcp) = state.mcp.as_ref() else { return StatusCode::NOT_FOUND.into_response() };
        if content_type == EVENT_STREAM {
            let events: Vec<Bytes> = self.answers.iter().map(|answer| sse::event(&answer.to_string())).collect();
            if self.lists.is_empty() {
                return pass_through(upstream, events);
            }
            let max_event = mcp.max_list_response_bytes;
            let lists = self.lists;
            let filtered = Arc::clone(&state);
            let headers = answer_headers(upstream.headers());
            let mut splitter = sse::EventSplitter::default();
            let rewritten = upstream.bytes_stream().map(move |chunk| {
                let chunk = chunk.map_err(std::io::Error::other)?;
                let mut out = Vec::with_capacity(chunk.len());
                for event in splitter.push(&chunk) {
                    out.extend_from_slice(&filter_event(&filtered, &verified, &lists, &event));
                }
                if splitter.pending() > max_event {
                    return Err(std::io::Error::other("an event of the MCP server is over max_list_response_bytes"));
                }
                Ok(Bytes::from(out))
            });
            let stream = futures_util::stream::iter(events.into_iter().map(Ok::<_, std::io::Error>)).chain(rewritten);
            return (
                StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
                headers,
                HttpBody::from_stream(stream),
            )
                .into_response();
        }
        // JSON (or another type): read whole, within the bound, then checked.
        let headers = answer_headers(upstream.headers());
        let body = match read_bounded(upstream, mcp.max_list_response_bytes).await {
            Ok(body) => body,
            Err(problem) => return self.upstream_failed(&problem),
        };
        let mut answers = self.answers;
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Array(messages)) => answers.extend(messages),
            Ok(message @ Value::Object(_)) => answers.push(message),
            _ => {
                let plan = Plan { answers, ..self };
                return plan.upstream_failed("the MCP server's answer is not JSON-RPC");
            }
        }
        for answer in &mut answers {
            filter_answer(&state, mcp, &verified, &self.lists, answer);
        }
        let body = match (self.batch, answers.len()) {
            (false, 1) => answers.into_iter().next().unwrap_or(Value::Null),
            _ => Value::Array(answers),
        };
        let status = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        (status, headers, axum::Json(body)).into_response()
    }

    fn answer_alone_with(&self, status: StatusCode) -> Response {
        match self.answers_value() {
            Some(answers) => json_answer(status, &answers),
            None => StatusCode::ACCEPTED.into_response(),
        }
    }
}

/// One event of a list answer's stream, its message filtered when it answers a list.
fn filter_event(state: &AppState, verified: &Request, lists: &[(Value, ListKind)], event: &Bytes) -> Bytes {
    let Some(mcp) = state.mcp.as_ref() else { return event.clone() };
    let Some(data) = sse::data(event) else { return event.clone() };
    let Ok(mut message) = serde_json::from_str::<Value>(&data) else { return event.clone() };
    if !filter_answer(state, mcp, verified, lists, &mut message) {
        return event.clone();
    }
    sse::with_data(event, &message.to_string())
}

/// Filters `message` when it answers one of `lists`: only the items the policy allows stay;
/// a result whose item list is not an array becomes an error. Returns whether it changed.
fn filter_answer(
    state: &AppState,
    mcp: &McpGateway,
    verified: &Request,
    lists: &[(Value, ListKind)],
    message: &mut Value,
) -> bool {
    let Some(id) = message.get("id").cloned() else { return false };
    let Some(kind) = lists.iter().find(|(list_id, _)| *list_id == id).map(|(_, kind)| *kind) else { return false };
    let Some(result) = message.get_mut("result") else { return false };
    let Some(items) = result.get_mut(kind.items_key()).and_then(Value::as_array_mut) else {
        let problem = format!("the MCP server's answer has no `{}` list", kind.items_key());
        *message = jsonrpc::error(id, jsonrpc::UPSTREAM_FAILED, &problem, None);
        return true;
    };
    items.retain(|item| {
        kind.item_target(&mcp.prefix, item).is_some_and(|target| decide(state, verified, target).decision.allowed)
    });
    true
}

/// Sends the call upstream: MCP's headers only, the gateway's identity headers, its own
/// credential if any. `Err` names why there is no answer.
async fn send(
    mcp: &McpGateway,
    method: Method,
    headers: &HeaderMap,
    body: Option<Bytes>,
    verified: &Request,
    decision_id: Option<&str>,
) -> Result<reqwest::Response, String> {
    let mut upstream_headers = reqwest::header::HeaderMap::new();
    for name in REQUEST_HEADERS {
        for value in headers.get_all(name) {
            upstream_headers.append(HeaderName::from_static(name), value.clone());
        }
    }
    let actor = verified.current_actor().and_then(|actor| actor.sub.as_deref());
    for (name, value) in
        [(HEADER_SUBJECT, verified.sub.as_deref()), (HEADER_ACTOR, actor), (HEADER_DECISION_ID, decision_id)]
    {
        if let Some(value) = value.and_then(|value| HeaderValue::try_from(header_value(value)).ok()) {
            upstream_headers.insert(HeaderName::from_static(name), value);
        }
    }
    if let Some(authorization) = &mcp.upstream_authorization {
        upstream_headers.insert(header::AUTHORIZATION, authorization.clone());
    }
    let mut request = mcp.client.request(method, mcp.upstream.clone()).headers(upstream_headers);
    if let Some(body) = body {
        request = request.body(body);
    }
    match tokio::time::timeout(mcp.upstream_timeout, request.send()).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(error)) => {
            tracing::warn!(%error, "mcp: the MCP server cannot be reached");
            Err("the MCP server cannot be reached".to_string())
        }
        Err(_) => Err("the MCP server did not answer in time (mcp.upstream_timeout_ms)".to_string()),
    }
}

/// The upstream's answer streamed to the client, after `first` (events the gateway adds).
fn pass_through(upstream: reqwest::Response, first: Vec<Bytes>) -> Response {
    let status = StatusCode::from_u16(upstream.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = answer_headers(upstream.headers());
    let body = upstream.bytes_stream().map(|chunk| chunk.map_err(std::io::Error::other));
    let stream = futures_util::stream::iter(first.into_iter().map(Ok::<_, std::io::Error>)).chain(body);
    (status, headers, HttpBody::from_stream(stream)).into_response()
}

fn answer_headers(upstream: &reqwest::header::HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in ANSWER_HEADERS {
        if let Some(value) = upstream.get(name) {
            headers.insert(HeaderName::from_static(name), value.clone());
        }
    }
    headers
}

fn media_type(headers: &reqwest::header::HeaderMap) -> String {
    let value = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// The whole body, or `Err` once it passes `limit` bytes.
async fn read_bounded(upstream: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let mut chunks = upstream.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| "the MCP server's answer broke off".to_string())?;
        if body.len() + chunk.len() > limit {
            return Err(format!("the MCP server's answer is over {limit} bytes (mcp.max_list_response_bytes)"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn json_answer(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body)).into_response()
}
