//! Envoy external authorization (`envoy.filters.http.ext_authz`): the mapping from the HTTP
//! request Envoy asks about to a decision request, and the answer, shared by both transports
//! ([`grpc`]: `envoy.service.auth.v3.Authorization/Check`; [`http`]: the `http_service` mode).
//!
//! The mapping (`[ext_authz]`, `docs/serve-envoy.md`):
//! - `resource` and `action` are templates over the checked request: `{host}` (lower case),
//!   `{path}` (as sent, without query or fragment), `{method}`, `{segment:N}` (the Nth
//!   non-empty path segment, from 1, as sent). The first `[[ext_authz.route]]` whose
//!   `path_prefix` matches segment-wise (`/files` matches `/files` and `/files/a`, never
//!   `/filesx`) and whose `methods` (any letter case) include the method gives the action, and
//!   the resource when it names one.
//! - the policy reads `context.method`, `context.path`, `context.host`, and
//!   `context.headers.NAME` for each configured `context_headers` name present in the request
//!   (lower case, `-` written `_`, so a policy path can name it: `x-tenant` is `context.headers.x_tenant`).
//! - a path that could reach the upstream as another path than the one mapped is refused:
//!   `.`/`..` segments (also percent-encoded), encoded `/` or `\` (`%2F`, `%5C`), a raw `\`,
//!   anything but visible ASCII. So is a method that is not an HTTP token, a host with
//!   characters no host name has, and a template naming a part the request lacks.
//!
//! The answers (every one a deny unless the policy allowed):
//! - allowed: `200`/`OK`, the upstream request gets `x-warrant-decision-id`, `x-warrant-sub`
//!   and `x-warrant-actor` (overwriting any the client sent; a value the token lacks is
//!   removed). Values are UTF-8, percent-encoded outside visible ASCII and for `%` itself.
//! - denied (policy, revocation, unavailable audit): `403`/`PERMISSION_DENIED`, a JSON body with
//!   the decision id, and the deny reasons only under `expose_deny_reasons`.
//! - no token, a malformed `Authorization`, a refused token: `401`/`UNAUTHENTICATED` with
//!   `WWW-Authenticate: Bearer error="invalid_token"`, or a bare `Bearer` when the request had
//!   no bearer credential at all (RFC 6750 §3.1); a refused DPoP proof, or a DPoP-bound token
//!   without one: `WWW-Authenticate: DPoP error="invalid_dpop_proof"` (or `invalid_token`),
//!   `algs="..."` (RFC 9449 §7.1); with server nonces on, a proof without a current nonce gets
//!   `DPoP error="use_dpop_nonce"` and the nonce in `DPoP-Nonce` (§8). Each is decided and
//!   audited as a refused token.
//!
//! DPoP (RFC 9449): with `Authorization: DPoP <token>`, the `DPoP` header's proof is checked
//! against the method and `{scheme}://{host}{path}` of the checked request (the scheme from
//! the check's HTTP attributes, or `x-forwarded-proto` in `http_service` mode).
//! - unmappable request, or no `[[issuer]]` to verify tokens with: `403`, not decided.
//!
//! A problem with one checked request is always such an answer, never a transport error, so
//! even an Envoy configured with `failure_mode_allow: true` cannot let it through.
pub mod grpc;
pub mod http;

use serde_json::{json, Map, Value};
use warrant::token::{HttpTarget, Presentation};

use crate::bearer::{BearerError, Credential, Scheme};
use crate::challenge::Challenge;
use crate::config::{ConfigError, ExtAuthzConfig};
use crate::state::AppState;

/// The decision id, on the upstream request (allowed) or the client's answer (denied).
pub const HEADER_DECISION_ID: &str = "x-warrant-decision-id";
/// The verified token's subject (`sub`), on the upstream request.
pub const HEADER_SUBJECT: &str = "x-warrant-sub";
/// The current actor (outermost `act.sub`), on the upstream request.
pub const HEADER_ACTOR: &str = "x-warrant-actor";
/// Largest `N` of a `{segment:N}` placeholder.
pub const MAX_SEGMENT_INDEX: usize = 64;

/// The parts of the checked request the mapping reads, as the transport received them.
#[derive(Debug, Clone, Copy)]
pub struct CheckedRequest<'a> {
    /// `http` or `https`: how the client reached the proxy (a DPoP proof names it).
    pub scheme: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// The `Host` / `:authority`.
    pub host: &'a str,
    /// The request target: path, and query and fragment if any.
    pub target: &'a str,
    /// The client's TLS certificate (DER) as Envoy authenticated it, for certificate-bound
    /// tokens (RFC 8705).
    pub client_certificate: Option<&'a [u8]>,
}

/// The decision request a checked request maps to.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The decision's `resource`.
    pub resource: String,
    /// The decision's `action`.
    pub action: String,
    /// `context.*`: `method`, `path`, `host`, `headers`.
    pub context: Map<String, Value>,
}

/// Why a checked request has no decision request: it is denied without asking the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// The method is empty or has a character no HTTP method has.
    #[error("the method is not an HTTP token")]
    InvalidMethod,
    /// The path could be read differently upstream (the rule broken).
    #[error("the path {0}")]
    InvalidPath(&'static str),
    /// The host has characters no host name or address has.
    #[error("the host is not a host name or address")]
    InvalidHost,
    /// A template names `{host}` and the request has none.
    #[error("the request has no host, which the mapping names")]
    MissingHost,
    /// A template names `{segment:N}` and the path has fewer segments.
    #[error("the path has no segment {0}, which the mapping names")]
    MissingSegment(usize),
}

/// `[ext_authz]`, compiled: templates parsed, routes split into segments, names checked.
#[derive(Debug, Clone)]
pub struct Mapping {
    resource: Template,
    action: Template,
    routes: Vec<Route>,
    /// `(header name, context key)`: the lower-case name, and the same with `-` written `_`.
    context_headers: Vec<(String, String)>,
    expose_deny_reasons: bool,
}

#[derive(Debug, Clone)]
struct Route {
    prefix: Vec<String>,
    methods: Vec<String>,
    action: Template,
    resource: Option<Template>,
}

impl Mapping {
    /// Compiles `config`; an error names the key (`ext_authz.route[1].action`, ...).
    pub fn new(config: &ExtAuthzConfig) -> Result<Mapping, ConfigError> {
        let invalid = |key: String, problem: String| ConfigError::Invalid { key, problem };
        let template = |key: String, text: &str| Template::parse(text).map_err(|problem| invalid(key, problem));
        let resource = template("ext_authz.resource".to_string(), &config.resource)?;
        let action = template("ext_authz.action".to_string(), &config.action)?;
        let mut routes = Vec::with_capacity(config.routes.len());
        for (index, route) in config.routes.iter().enumerate() {
            let key = |name: &str| format!("ext_authz.route[{index}].{name}");
            let prefix = route_prefix(&route.path_prefix).map_err(|problem| invalid(key("path_prefix"), problem))?;
            if let Some(method) = route.methods.iter().find(|method| !is_token(method)) {
                return Err(invalid(key("methods"), format!("`{method}` is not an HTTP method")));
            }
            routes.push(Route {
                prefix,
                methods: route.methods.iter().map(|method| method.to_ascii_uppercase()).collect(),
                action: template(key("action"), &route.action)?,
                resource: route.resource.as_deref().map(|text| template(key("resource"), text)).transpose()?,
            });
        }
        let mut context_headers = Vec::with_capacity(config.context_headers.len());
        for name in &config.context_headers {
            let name = name.to_ascii_lowercase();
            if !is_token(&name) {
                return Err(invalid("ext_authz.context_headers".to_string(), format!("`{name}` is not a header name")));
            }
            if name == "authorization" || name == "proxy-authorization" {
                let problem = format!("`{name}` carries credentials: the token is verified, never given to the policy");
                return Err(invalid("ext_authz.context_headers".to_string(), problem));
            }
            let key = name.replace('-', "_");
            if context_headers.iter().any(|(_, taken): &(String, String)| *taken == key) {
                let problem = format!("`{name}` is `context.headers.{key}`, as another header of the list");
                return Err(invalid("ext_authz.context_headers".to_string(), problem));
            }
            context_headers.push((name, key));
        }
        Ok(Mapping { resource, action, routes, context_headers, expose_deny_reasons: config.expose_deny_reasons })
    }

    /// The decision request for `request`; `header(name)` gives a request header's value (the
    /// values of a repeated header joined with `,`), asked only for the configured names.
    pub fn map(
        &self,
        request: &CheckedRequest<'_>,
        header: impl Fn(&str) -> Option<String>,
    ) -> Result<Mapped, MappingError> {
        let parts = Parts::parse(request)?;
        let route = self.routes.iter().find(|route| route.matches(&parts));
        let action = route.map_or(&self.action, |route| &route.action).render(&parts)?;
        let resource = route.and_then(|route| route.resource.as_ref()).unwrap_or(&self.resource).render(&parts)?;
        let headers: Map<String, Value> = self
            .context_headers
            .iter()
            .filter_map(|(name, key)| header(name).map(|value| (key.clone(), Value::String(value))))
            .collect();
        let mut context = Map::new();
        context.insert("method".to_string(), Value::String(parts.method.to_string()));
        context.insert("path".to_string(), Value::String(parts.path.to_string()));
        context.insert("host".to_string(), Value::String(parts.host));
        context.insert("headers".to_string(), Value::Object(headers));
        Ok(Mapped { resource, action, context })
    }
}

impl Route {
    fn matches(&self, parts: &Parts<'_>) -> bool {
        let method_matches =
            self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(parts.method));
        method_matches
            && self.prefix.len() <= parts.segments.len()
            && self.prefix.iter().zip(&parts.segments).all(|(want, got)| want == got)
    }
}

/// The checked request, checked.
struct Parts<'a> {
    method: &'a str,
    host: String,
    path: &'a str,
    segments: Vec<&'a str>,
}

impl<'a> Parts<'a> {
    fn parse(request: &CheckedRequest<'a>) -> Result<Parts<'a>, MappingError> {
        if !is_token(request.method) {
            return Err(MappingError::InvalidMethod);
        }
        let host = request.host.to_ascii_lowercase();
        let host_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']');
        if !host.chars().all(host_char) {
            return Err(MappingError::InvalidHost);
        }
        let path = request.target.split(['?', '#']).next().unwrap_or_default();
        let segments = path_segments(path).map_err(MappingError::InvalidPath)?;
        Ok(Parts { method: request.method, host, path, segments })
    }
}

/// The non-empty segments of `path`, refusing every form that could reach the upstream as
/// another path than the one mapped.
fn path_segments(path: &str) -> Result<Vec<&str>, &'static str> {
    if !path.starts_with('/') {
        return Err("does not start with `/`");
    }
    if !path.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err("has a character outside visible ASCII");
    }
    if path.contains('\\') {
        return Err("has a backslash");
    }
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return Err("has an encoded `/` or `\\`");
    }
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    if segments.iter().any(|segment| is_dot_segment(segment)) {
        return Err("has a `.` or `..` segment");
    }
    Ok(segments)
}

fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

fn route_prefix(prefix: &str) -> Result<Vec<String>, String> {
    path_segments(prefix)
        .map(|segments| segments.into_iter().map(str::to_string).collect())
        .map_err(|problem| format!("the path prefix {problem}"))
}

/// RFC 9110 `token` (methods, header names).
fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// A resource or action template.
#[derive(Debug, Clone)]
struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Host,
    Path,
    Method,
    Segment(usize),
}

impl Template {
    fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let Some(at) = rest.find(['{', '}']) else {
                parts.push(Part::Text(rest.to_string()));
                break;
            };
            let (literal, tail) = rest.split_at(at);
            if !literal.is_empty() {
                parts.push(Part::Text(literal.to_string()));
            }
            let Some(tail) = tail.strip_prefix('{') else {
                return Err(format!("`}}` without its `{{` in `{text}`"));
            };
            let Some((name, after)) = tail.split_once('}') else {
                return Err(format!("`{{` without its `}}` in `{text}`"));
            };
            parts.push(placeholder(name).ok_or_else(|| {
                format!(
                    "unknown placeholder `{{{name}}}` in `{text}` (known: {{host}}, {{path}}, {{method}}, \
                     {{segment:N}} with N from 1 to {MAX_SEGMENT_INDEX})"
                )
            })?);
            rest = after;
        }
        if parts.is_empty() {
            return Err("must not be empty".to_string());
        }
        Ok(Template { parts })
    }

    fn render(&self, parts: &Parts<'_>) -> Result<String, MappingError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Host if parts.host.is_empty() => return Err(MappingError::MissingHost),
                Part::Host => out.push_str(&parts.host),
                Part::Path => out.push_str(parts.path),
                Part::Method => out.push_str(parts.method),
                Part::Segment(n) => {
                    let segment = n.checked_sub(1).and_then(|index| parts.segments.get(index));
                    out.push_str(segment.ok_or(MappingError::MissingSegment(*n))?);
                }
            }
        }
        Ok(out)
    }
}

fn placeholder(name: &str) -> Option<Part> {
    match name {
        "host" => Some(Part::Host),
        "path" => Some(Part::Path),
        "method" => Some(Part::Method),
        _ => {
            let n: usize = name.strip_prefix("segment:")?.parse().ok()?;
            (1..=MAX_SEGMENT_INDEX).contains(&n).then_some(Part::Segment(n))
        }
    }
}

/// What the check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The policy allowed: Envoy forwards the request.
    Allowed,
    /// Denied: `403` / `PERMISSION_DENIED`.
    Denied,
    /// No usable token: `401` / `UNAUTHENTICATED`.
    Unauthenticated,
}

/// A transport-free answer to one check.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Allowed, denied or unauthenticated.
    pub outcome: Outcome,
    /// The HTTP status Envoy answers the client with when not allowed (`200` when allowed).
    pub status: u16,
    /// Allowed: set on the upstream request (replacing the client's). Otherwise: on the answer
    /// to the client.
    pub headers: Vec<(&'static str, String)>,
    /// Allowed: removed from the upstream request (a value the token does not have).
    pub remove_headers: Vec<&'static str>,
    /// The JSON body of a denied answer (empty when allowed).
    pub body: String,
}

impl Answer {
    fn allowed(decision_id: &str, subject: Option<&str>, actor: Option<&str>) -> Answer {
        let mut headers = vec![(HEADER_DECISION_ID, header_value(decision_id))];
        let mut remove_headers = Vec::new();
        for (name, value) in [(HEADER_SUBJECT, subject), (HEADER_ACTOR, actor)] {
            match value {
                Some(value) => headers.push((name, header_value(value))),
                None => remove_headers.push(name),
            }
        }
        Answer { outcome: Outcome::Allowed, status: 200, headers, remove_headers, body: String::new() }
    }

    fn refused(outcome: Outcome, status: u16, decision_id: Option<&str>, body: Value) -> Answer {
        let mut headers = vec![("content-type", "application/json".to_string())];
        if let Some(id) = decision_id {
            headers.push((HEADER_DECISION_ID, header_value(id)));
        }
        Answer { outcome, status, headers, remove_headers: Vec::new(), body: body.to_string() }
    }

    fn not_decided(code: &'static str, message: String) -> Answer {
        let body = json!({ "allowed": false, "error": { "code": code, "message": message } });
        Answer::refused(Outcome::Denied, 403, None, body)
    }

    fn unauthenticated(
        decided: &warrant::GatewayDecision,
        missing: bool,
        expose: bool,
        challenge: &Challenge,
    ) -> Answer {
        let error = if missing { "no_token" } else { "invalid_token" };
        let mut body = json!({ "allowed": false, "decision_id": decided.decision_id, "error": error });
        if let (true, Some(refusal), Value::Object(fields)) = (expose, &decided.refused_token, &mut body) {
            fields.insert("token_error".to_string(), Value::String(refusal.code().to_string()));
        }
        let mut answer = Answer::refused(Outcome::Unauthenticated, 401, Some(&decided.decision_id), body);
        let refused = if missing { None } else { decided.refused_token.as_ref() };
        let scheme_and_parameters = challenge.www_authenticate(refused);
        answer.headers.push(("www-authenticate", scheme_and_parameters));
        answer
    }
}

/// Decides one check: maps the request, takes the access token (and DPoP proof), asks the
/// gateway.
pub async fn check(
    state: &AppState,
    request: &CheckedRequest<'_>,
    header: impl Fn(&str) -> Option<String>,
    credential: Result<Credential<'_>, BearerError>,
) -> Answer {
    let mapping = &state.ext_authz;
    let mapped = match mapping.map(request, &header) {
        Ok(mapped) => mapped,
        Err(error) => {
            tracing::info!(%error, method = request.method, "ext_authz: request cannot be mapped: denied");
            return Answer::not_decided("unmappable_request", error.to_string());
        }
    };
    if state.verifier.is_none() {
        tracing::warn!("ext_authz: no [[issuer]] is configured, so no token can be verified: every check is denied");
        return Answer::not_decided("no_issuer", "no token issuer is configured".to_string());
    }
    let Mapped { resource, action, context } = mapped;
    let challenge = &state.challenge;
    // Server nonces (RFC 9449 §8): every 401 tells the client the nonce to use.
    let with_nonce = |mut answer: Answer| {
        if let Some(nonce) = state.dpop_nonce() {
            answer.headers.push(("dpop-nonce", nonce));
        }
        answer
    };
    let credential = match credential {
        Ok(credential) => credential,
        Err(error) => {
            let decided = state.decide_refused(error.token_error(), Some(resource), Some(action));
            return Answer::unauthenticated(
                &decided,
                error == BearerError::Missing,
                mapping.expose_deny_reasons,
                challenge,
            );
        }
    };
    let proof = match credential.scheme {
        Scheme::Dpop => header("dpop"),
        Scheme::Bearer => None,
    };
    // The URI a proof must name; only a proof is checked against it.
    let uri = proof.as_ref().map(|_| format!("{}://{}{}", request.scheme, request.host, request.target));
    let presented = Presentation {
        token: credential.token,
        dpop_proof: proof.as_deref(),
        target: uri.as_deref().map(|uri| HttpTarget { method: request.method, uri }),
        client_certificate: request.client_certificate,
    };
    let Some(outcome) = state.decide_token(&presented, Some(resource), Some(action), context).await else {
        return Answer::not_decided("no_issuer", "no token issuer is configured".to_string());
    };
    let decided = &outcome.decided;
    if decided.refused_token.is_some() {
        return with_nonce(Answer::unauthenticated(decided, false, mapping.expose_deny_reasons, challenge));
    }
    match (&outcome.request, decided.decision.allowed) {
        (Some(request), true) => {
            let actor = request.current_actor().and_then(|actor| actor.sub.as_deref());
            Answer::allowed(&decided.decision_id, request.sub.as_deref(), actor)
        }
        _ => {
            let mut body = json!({ "allowed": false, "decision_id": decided.decision_id });
            if let (true, Value::Object(fields)) = (mapping.expose_deny_reasons, &mut body) {
                fields.insert("deny_reasons".to_string(), json!(decided.decision.deny_reasons));
            }
            Answer::refused(Outcome::Denied, 403, Some(&decided.decision_id), body)
        }
    }
}

/// The DER of a URL-encoded PEM certificate (Envoy's `source.certificate`, an XFCC `Cert`);
/// `None` when there is none or it does not decode, so a certificate-bound token is then
/// refused as presented without a certificate.
pub fn certificate_der(url_encoded_pem: &str) -> Option<Vec<u8>> {
    use rustls::pki_types::pem::PemObject;
    if url_encoded_pem.is_empty() {
        return None;
    }
    let pem = percent_encoding::percent_decode_str(url_encoded_pem).collect::<Vec<u8>>();
    rustls::pki_types::CertificateDer::from_pem_slice(&pem).ok().map(|der| der.as_ref().to_vec())
}

/// The client certificate of Envoy's `x-forwarded-client-cert` header: the `Cert` value of its
/// one element (Envoy with `forward_client_cert_details: SANITIZE_SET` and
/// `set_current_client_cert_details: { cert: true }`). Several elements (a chain of proxies,
/// or a value a client could have added) are ambiguous: no certificate.
pub fn xfcc_certificate(value: &str) -> Option<Vec<u8>> {
    let elements = split_unquoted(value, ',');
    let [element] = elements.as_slice() else { return None };
    split_unquoted(element, ';').into_iter().find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("cert") {
            return None;
        }
        let value = value.trim();
        let unquoted = match value.strip_prefix('"') {
            Some(rest) => rest.strip_suffix('"')?.replace("\\\"", "\""),
            None => value.to_string(),
        };
        certificate_der(&unquoted)
    })
}

/// `text` split at each `separator` outside double quotes (where `\"` is an escaped quote).
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (index, character) in text.char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            _ if character == separator && !quoted => {
                parts.push(text.get(start..index).unwrap_or_default());
                start = index + character.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(text.get(start..).unwrap_or_default());
    parts
}

/// `text` as a header value: visible ASCII as is, every other byte (and `%`) percent-encoded,
/// so a claim can neither break the header nor pass for another value.
pub fn header_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_graphic() && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::config::ServerConfig;

    fn mapping(toml: &str) -> Result<Mapping, ConfigError> {
        let text = format!("[policy]\npath = \"p.warrant\"\n[ext_authz]\n{toml}");
        let config = ServerConfig::from_toml_str(&text).unwrap();
        Mapping::new(&config.ext_authz)
    }

    fn map(mapping: &Mapping, method: &str, host: &str, target: &str) -> Result<Mapped, MappingError> {
        let request = CheckedRequest { scheme: "https", method, host, target, client_certificate: None };
        mapping.map(&request, |name| (name == "x-tenant").then(|| "acme".to_string()))
    }

    #[test]
    fn defaults_are_the_method_and_the_url() {
        let mapping = mapping("").unwrap();
        let mapped = map(&mapping, "GET", "API.test:8443", "/files/a?x=1#f").unwrap();
        assert_eq!(mapped.resource, "https://api.test:8443/files/a");
        assert_eq!(mapped.action, "GET");
        assert_eq!(mapped.context["path"], "/files/a");
        assert_eq!(mapped.context["host"], "api.test:8443");
        assert_eq!(mapped.context["headers"], json!({}));
    }

    #[test]
    fn the_first_matching_route_wins_segment_wise() {
        let mapping = mapping(
            r#"
            context_headers = ["X-Tenant", "x-absent"]
            [[ext_authz.route]]
            path_prefix = "/files"
            methods = ["get", "HEAD"]
            action = "files.read"
            resource = "file:{segment:2}"
            [[ext_authz.route]]
            path_prefix = "/files"
            action = "files.write"
            "#,
        )
        .unwrap();
        let read = map(&mapping, "GET", "h", "//files//a.txt").unwrap();
        assert_eq!((read.action.as_str(), read.resource.as_str()), ("files.read", "file:a.txt"));
        assert_eq!(read.context["headers"], json!({ "x_tenant": "acme" }));
        let write = map(&mapping, "put", "h", "/files/a.txt").unwrap();
        assert_eq!((write.action.as_str(), write.resource.as_str()), ("files.write", "https://h/files/a.txt"));
        let other = map(&mapping, "GET", "h", "/filesx/a").unwrap();
        assert_eq!(other.action, "GET");
        assert_eq!(map(&mapping, "GET", "h", "/files"), Err(MappingError::MissingSegment(2)));
    }

    #[test]
    fn paths_that_could_be_read_otherwise_are_refused() {
        let mapping = mapping("").unwrap();
        for target in
            ["/a/../b", "/a/./b", "/a/%2e%2E/b", "/a/.%2e", "/a%2Fb", "/a%5cb", "/a\\b", "a/b", "*", "/a b", "/é", ""]
        {
            assert!(matches!(map(&mapping, "GET", "h", target), Err(MappingError::InvalidPath(_))), "{target:?}");
        }
        assert_eq!(map(&mapping, "GE T", "h", "/"), Err(MappingError::InvalidMethod));
        assert_eq!(map(&mapping, "GET", "h/x", "/"), Err(MappingError::InvalidHost));
        assert_eq!(map(&mapping, "GET", "", "/"), Err(MappingError::MissingHost));
        assert!(map(&mapping, "GET", "h", "/a/..b/.c").is_ok());
    }

    #[test]
    fn bad_templates_and_names_are_configuration_errors_naming_the_key() {
        for (toml, key) in [
            ("action = \"{verb}\"", "ext_authz.action"),
            ("resource = \"x{host\"", "ext_authz.resource"),
            ("resource = \"x}\"", "ext_authz.resource"),
            ("action = \"{segment:0}\"", "ext_authz.action"),
            ("action = \"\"", "ext_authz.action"),
            ("context_headers = [\"authorization\"]", "ext_authz.context_headers"),
            ("context_headers = [\"a b\"]", "ext_authz.context_headers"),
            ("context_headers = [\"x-a\", \"x_a\"]", "ext_authz.context_headers"),
            ("[[ext_authz.route]]\npath_prefix = \"/a/../b\"\naction = \"x\"", "ext_authz.route[0].path_prefix"),
            (
                "[[ext_authz.route]]\npath_prefix = \"/a\"\nmethods = [\"G T\"]\naction = \"x\"",
                "ext_authz.route[0].methods",
            ),
            ("[[ext_authz.route]]\npath_prefix = \"/a\"\naction = \"{segment:65}\"", "ext_authz.route[0].action"),
        ] {
            match mapping(toml) {
                Err(ConfigError::Invalid { key: got, .. }) => assert_eq!(got, key, "{toml}"),
                other => panic!("{toml}: {other:?}"),
            }
        }
    }

    #[test]
    fn xfcc_gives_the_cert_of_its_only_element() {
        use rustls::pki_types::pem::PemObject;
        let pem = include_str!("../../tests/keys/tls-cert.pem");
        let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap().as_ref().to_vec();
        let encoded: String = percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC).collect();
        let header = format!("By=spiffe://warrant.test;Hash=abc;Cert=\"{encoded}\";Subject=\"CN=agent,O=a;b\";DNS=x");
        assert_eq!(xfcc_certificate(&header), Some(der.clone()));
        assert_eq!(xfcc_certificate(&format!("cert={encoded}")), Some(der), "keys in any case, values unquoted");
        assert_eq!(xfcc_certificate(&format!("Cert={encoded},Cert={encoded}")), None, "two elements are ambiguous");
        assert_eq!(xfcc_certificate("Hash=abc;Subject=\"CN=x\""), None, "no Cert");
        assert_eq!(xfcc_certificate("Cert=\"unterminated"), None);
        assert_eq!(split_unquoted(r#"a="x,\"y\",z",b"#, ','), vec![r#"a="x,\"y\",z""#, "b"]);
    }

    #[test]
    fn header_values_cannot_break_out() {
        assert_eq!(header_value("user:alice"), "user:alice");
        assert_eq!(header_value("a b\r\nx: 1%"), "a%20b%0D%0Ax:%201%25");
        assert_eq!(header_value("é"), "%C3%A9");
    }
}
