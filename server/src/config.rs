//! `warrant.toml`: what `warrant serve` loads, listens on, trusts and limits. Every section is
//! checked when the file is read ([`ServerConfig::from_toml_file`]), so a typo or a dangerous
//! setting stops the server at start with a message naming the key, never at the first request.
//!
//! Relative paths are read from the configuration file's folder. `docs/serve.md` documents
//! every key; `server/warrant.example.toml` is a complete example that the tests load.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use warrant::token::{Algorithm, DpopMode};

/// Largest configuration file read.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The whole configuration of one `warrant serve` process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The policy and its data.
    pub policy: PolicyConfig,
    /// Where to listen.
    #[serde(default)]
    pub listen: ListenConfig,
    /// Trusted token issuers (`[[issuer]]`); none means token endpoints deny every call.
    #[serde(default, rename = "issuer")]
    pub issuers: Vec<IssuerSection>,
    /// Optional RFC 9068 checks and the verified-token cache.
    #[serde(default)]
    pub verify: VerifySection,
    /// How an Envoy ext_authz check request becomes a decision request.
    #[serde(default)]
    pub ext_authz: ExtAuthzConfig,
    /// Caps that keep a slow or hostile client from exhausting the server.
    #[serde(default)]
    pub limits: Limits,
    /// The decision log.
    #[serde(default)]
    pub audit: Option<AuditSection>,
    /// The protected resource this server guards, published as RFC 9728 metadata.
    #[serde(default)]
    pub protected_resource: Option<ProtectedResourceSection>,
    /// The MCP gateway: an MCP server behind this one, every message decided.
    #[serde(default)]
    pub mcp: Option<McpSection>,
}

/// `[mcp]`: `warrant serve` in front of an MCP server (Streamable HTTP). The MCP server's
/// identity is `[protected_resource] resource` (required with `[mcp]`): tokens must be issued
/// for it, and its metadata is what a refused client is pointed to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct McpSection {
    /// The MCP server's Streamable HTTP endpoint (`http://127.0.0.1:9000/mcp`).
    pub upstream: String,
    /// Where the gateway serves MCP on its HTTP listener; by default the resource's path.
    #[serde(default)]
    pub path: Option<String>,
    /// What decision resources start with (`{prefix}/tools/NAME`, ...); by default
    /// `mcp://` and the resource's host (`mcp://tools.acme.com`).
    #[serde(default)]
    pub resource_prefix: Option<String>,
    /// Name the deny reasons in the JSON-RPC error of a refused message. Off by default:
    /// reasons can reveal the policy.
    #[serde(default)]
    pub expose_deny_reasons: bool,
    /// An environment variable whose value is sent upstream as `Authorization` (the gateway's
    /// own credential); the client's token is never sent upstream.
    #[serde(default)]
    pub upstream_authorization_env: Option<String>,
    /// Time to connect to the MCP server and receive its answer's headers, in milliseconds
    /// (a streamed answer may then take as long as it needs).
    #[serde(default = "default_upstream_timeout_ms")]
    pub upstream_timeout_ms: u64,
    /// Largest answer to a list call (`tools/list`, ...) read to filter it, in bytes; a
    /// larger one is refused, never passed unfiltered.
    #[serde(default = "default_max_list_response_bytes")]
    pub max_list_response_bytes: usize,
}

impl McpSection {
    /// A gateway in front of `upstream` with every other setting at its default.
    pub fn new(upstream: String) -> McpSection {
        McpSection {
            upstream,
            path: None,
            resource_prefix: None,
            expose_deny_reasons: false,
            upstream_authorization_env: None,
            upstream_timeout_ms: default_upstream_timeout_ms(),
            max_list_response_bytes: default_max_list_response_bytes(),
        }
    }
}

/// `[protected_resource]`: OAuth 2.0 Protected Resource Metadata (RFC 9728), as the MCP
/// authorization specification asks of MCP servers. When set, the metadata is served at
/// `/.well-known/oauth-protected-resource{path of resource}` and every `401` names it in
/// `WWW-Authenticate: ... resource_metadata="..."`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProtectedResourceSection {
    /// The resource identifier (RFC 8707, RFC 9728 §2): an `https` URL without fragment, the
    /// audience tokens for it carry (e.g. `https://tools.acme.com/mcp`).
    pub resource: String,
    /// The authorization servers that issue tokens for it (their issuer URLs); at least one.
    pub authorization_servers: Vec<String>,
    /// Scopes a client may request for it.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// A page for people about the resource.
    #[serde(default)]
    pub resource_documentation: Option<String>,
}

impl ProtectedResourceSection {
    /// `resource`, its tokens issued by `authorization_servers`, nothing else published.
    pub fn new(resource: String, authorization_servers: Vec<String>) -> ProtectedResourceSection {
        ProtectedResourceSection {
            resource,
            authorization_servers,
            scopes_supported: Vec::new(),
            resource_documentation: None,
        }
    }
}

/// `[policy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicyConfig {
    /// A `.warrant` file, a package folder, or a module built by `warrant build`.
    pub path: PathBuf,
    /// The data document (JSON); none means `{}`.
    #[serde(default)]
    pub data: Option<PathBuf>,
    /// Reload when the policy or data files change (SIGHUP always reloads).
    #[serde(default = "default_true")]
    pub watch: bool,
    /// How often changed files are looked for, in milliseconds.
    #[serde(default = "default_watch_interval_ms")]
    pub watch_interval_ms: u64,
}

/// `[listen]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ListenConfig {
    /// The HTTP listener: JSON decision API, ext_authz `http_service`, health and metrics.
    #[serde(default = "default_http_listen")]
    pub http: SocketAddr,
    /// The gRPC listener for Envoy's `envoy.service.auth.v3.Authorization/Check`; none: off.
    #[serde(default)]
    pub grpc: Option<SocketAddr>,
    /// TLS for both listeners; none: plain text (for a sidecar on loopback).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig { http: default_http_listen(), grpc: None, tls: None }
    }
}

/// `[listen.tls]`: PEM files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TlsConfig {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// `[[issuer]]`: one trusted token issuer and where its keys come from (exactly one of
/// `jwks_file`, `jwks_uri`, `discovery`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IssuerSection {
    /// Exact `iss` value.
    pub issuer: String,
    /// Accepted `aud` values (RFC 8707 resource indicators); at least one.
    pub audiences: Vec<String>,
    /// Accepted signature algorithms.
    pub algorithms: Vec<Algorithm>,
    /// A JWK Set file, re-read on reload.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// The issuer's JWK Set URL.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Find `jwks_uri` in `{issuer}/.well-known/openid-configuration` (OIDC discovery).
    #[serde(default)]
    pub discovery: bool,
    /// Fetched keys are refreshed this often, in seconds.
    #[serde(default = "default_refresh_seconds")]
    pub refresh_seconds: u64,
    /// A token naming an unknown `kid` refreshes the keys at most this often, in seconds, so
    /// a flood of random `kid`s cannot hammer the issuer.
    #[serde(default = "default_min_refresh_seconds")]
    pub min_refresh_seconds: u64,
    /// Timeout of one fetch (discovery or key set), in milliseconds.
    #[serde(default = "default_fetch_timeout_ms")]
    pub fetch_timeout_ms: u64,
    /// DPoP (RFC 9449) for this issuer's tokens: `accept` (default: a token bound to a key
    /// needs a valid proof, a bearer token is a bearer token), `require` (every token must be
    /// bound and proven), `ignore` (proofs are not checked: only behind a component that did).
    #[serde(default)]
    pub dpop: DpopMode,
}

impl IssuerSection {
    /// An issuer with no key source yet and the default refresh settings.
    pub fn new(issuer: String, audiences: Vec<String>, algorithms: Vec<Algorithm>) -> IssuerSection {
        IssuerSection {
            issuer,
            audiences,
            algorithms,
            jwks_file: None,
            jwks_uri: None,
            discovery: false,
            refresh_seconds: default_refresh_seconds(),
            min_refresh_seconds: default_min_refresh_seconds(),
            fetch_timeout_ms: default_fetch_timeout_ms(),
            dpop: DpopMode::default(),
        }
    }
}

/// `[verify]`: the verifier's optional checks (see `warrant::token::VerifyOptions`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct VerifySection {
    /// Refuse tokens whose `typ` is not `at+jwt` (RFC 9068 §4).
    pub require_typ_at_jwt: bool,
    /// Refuse tokens without `jti`.
    pub require_jti: bool,
    /// Refuse tokens without `client_id`.
    pub require_client_id: bool,
    /// Accept tokens without `iat`.
    pub allow_missing_iat: bool,
    /// Clock skew tolerated, in seconds.
    pub leeway_seconds: u32,
    /// Verified tokens kept in memory.
    pub cache_capacity: usize,
    /// RFC 8707: accept a token only for requests on a resource it was issued for (its `aud`
    /// names the resource, an API the resource lies under, or the `resource_audience` entry
    /// of the longest matching prefix); a request without a resource is then refused.
    pub bind_audience_to_resource: bool,
    /// Which audience the resources under a prefix belong to (with `bind_audience_to_resource`).
    pub resource_audience: Vec<ResourceAudienceSection>,
    /// DPoP server nonces (RFC 9449 §8): proofs must carry a nonce this server issued within
    /// the last one or two periods of this many seconds; 0 (the default) turns them off.
    pub dpop_nonce_seconds: u32,
}

/// `[[verify.resource_audience]]`: resources under `prefix` need tokens for `audience`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ResourceAudienceSection {
    /// A resource prefix (`https://crm.acme.com/`, `mcp://tools.acme.com/tools/`).
    pub prefix: String,
    /// The audience the tokens for those resources carry.
    pub audience: String,
}

impl Default for VerifySection {
    fn default() -> Self {
        let defaults = warrant::token::VerifyOptions::default();
        VerifySection {
            require_typ_at_jwt: false,
            require_jti: false,
            require_client_id: false,
            allow_missing_iat: false,
            leeway_seconds: defaults.leeway_seconds,
            cache_capacity: defaults.cache_capacity,
            bind_audience_to_resource: false,
            resource_audience: Vec::new(),
            dpop_nonce_seconds: 0,
        }
    }
}

/// `[ext_authz]`: the mapping from an HTTP request Envoy asks about to a decision request.
///
/// Templates name parts of the checked request in braces: `{host}`, `{path}` (without the
/// query), `{method}`, and `{segment:N}` (the Nth path segment, from 1).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ExtAuthzConfig {
    /// The decision's `resource`, by default `https://{host}{path}`.
    pub resource: String,
    /// The decision's `action`, by default the HTTP method.
    pub action: String,
    /// Request headers passed to the policy as `context.headers.NAME` (lower case); others are
    /// not seen by the policy.
    pub context_headers: Vec<String>,
    /// Routes tried in order; the first whose prefix and method match gives the action (and
    /// resource) instead of the defaults.
    #[serde(rename = "route")]
    pub routes: Vec<RouteConfig>,
    /// Name the deny reasons in the 403 body. Off by default: reasons can reveal the policy.
    pub expose_deny_reasons: bool,
    /// Where the HTTP (`http_service`) mode listens: the checked request's path follows it.
    pub http_path_prefix: String,
}

impl Default for ExtAuthzConfig {
    fn default() -> Self {
        ExtAuthzConfig {
            resource: "https://{host}{path}".to_string(),
            action: "{method}".to_string(),
            context_headers: Vec::new(),
            routes: Vec::new(),
            expose_deny_reasons: false,
            http_path_prefix: "/ext_authz".to_string(),
        }
    }
}

/// `[[ext_authz.route]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RouteConfig {
    /// The path must start with this (segment-wise: `/files` matches `/files/a`, not `/filesx`).
    pub path_prefix: String,
    /// The methods it applies to; none: any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The action template for matching requests.
    pub action: String,
    /// The resource template for matching requests; none: `[ext_authz] resource`.
    #[serde(default)]
    pub resource: Option<String>,
}

/// `[limits]`. Each is a documented bound; exceeding one is a clear error and a deny.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest total size of a request's headers, in bytes.
    pub max_header_bytes: usize,
    /// Requests handled at once over all connections; more wait (then time out).
    pub max_concurrent_requests: usize,
    /// Open connections at once; more are refused until one closes.
    pub max_connections: usize,
    /// Time a request may take, from its headers to its answer, in milliseconds.
    pub request_timeout_ms: u64,
    /// Time a client has to send a request's headers, in milliseconds (against slowloris).
    pub header_read_timeout_ms: u64,
    /// Largest number of requests in one batch call.
    pub max_batch: usize,
    /// HTTP/2 streams (requests) one connection may have open at once.
    pub max_streams_per_connection: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 256 * 1024,
            max_header_bytes: 32 * 1024,
            max_concurrent_requests: 1024,
            max_connections: 4096,
            request_timeout_ms: 5_000,
            header_read_timeout_ms: 5_000,
            max_batch: 256,
            max_streams_per_connection: 128,
        }
    }
}

/// `[audit]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuditSection {
    /// The JSON Lines decision log; `-` for standard output.
    pub path: PathBuf,
    /// Deny while the log cannot be written (`AuditMode::Required`).
    #[serde(default)]
    pub required: bool,
}

/// Why a configuration was refused. Names the file and the offending key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    #[error("{path} is larger than {MAX_CONFIG_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Not valid TOML, or a key that does not exist or has the wrong type.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// toml's message, with line and column.
        message: String,
    },
    /// A value that parses but cannot work.
    #[error("invalid configuration: `{key}`: {problem}")]
    Invalid {
        /// The key, as written in the file (`issuer[0].audiences`, ...).
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl AuditSection {
    /// A best-effort decision log at `path`.
    pub fn new(path: PathBuf) -> AuditSection {
        AuditSection { path, required: false }
    }
}

impl ServerConfig {
    /// Reads, parses and checks `path`; relative paths inside are taken from its folder.
    pub fn from_toml_file(path: &Path) -> Result<ServerConfig, ConfigError> {
        use std::io::Read;
        let read_error = |source| ConfigError::Read { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut text = String::new();
        file.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text).map_err(read_error)?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge { path: path.to_path_buf() });
        }
        let mut config = ServerConfig::from_toml_str(&text)
            .map_err(|message| ConfigError::Syntax { path: path.to_path_buf(), message })?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (no checks, no path resolution); the error is toml's message.
    pub fn from_toml_str(text: &str) -> Result<ServerConfig, String> {
        toml::from_str(text).map_err(|error| error.to_string())
    }

    /// A configuration for `policy` with every other setting at its default.
    pub fn for_policy(policy: PathBuf) -> ServerConfig {
        ServerConfig {
            policy: PolicyConfig {
                path: policy,
                data: None,
                watch: true,
                watch_interval_ms: default_watch_interval_ms(),
            },
            listen: ListenConfig::default(),
            issuers: Vec::new(),
            verify: VerifySection::default(),
            ext_authz: ExtAuthzConfig::default(),
            limits: Limits::default(),
            audit: None,
            protected_resource: None,
            mcp: None,
        }
    }

    /// Makes every relative path relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() && path.as_os_str() != "-" {
                *path = base.join(&*path);
            }
        };
        resolve(&mut self.policy.path);
        if let Some(data) = &mut self.policy.data {
            resolve(data);
        }
        if let Some(tls) = &mut self.listen.tls {
            resolve(&mut tls.cert);
            resolve(&mut tls.key);
        }
        for issuer in &mut self.issuers {
            if let Some(file) = &mut issuer.jwks_file {
                resolve(file);
            }
        }
        if let Some(audit) = &mut self.audit {
            resolve(&mut audit.path);
        }
    }

    /// Refuses settings that parse but cannot work or would weaken the server.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, problem: &str| Err(ConfigError::Invalid { key, problem: problem.to_string() });
        for (index, issuer) in self.issuers.iter().enumerate() {
            let key = |name: &str| format!("issuer[{index}].{name}");
            if issuer.issuer.is_empty() {
                return invalid(key("issuer"), "must not be empty");
            }
            if issuer.audiences.is_empty() {
                return invalid(key("audiences"), "name at least one accepted audience");
            }
            if issuer.algorithms.is_empty() {
                return invalid(key("algorithms"), "name at least one accepted algorithm");
            }
            let sources = [issuer.jwks_file.is_some(), issuer.jwks_uri.is_some(), issuer.discovery];
            if sources.iter().filter(|set| **set).count() != 1 {
                return invalid(key("jwks_file"), "give exactly one of `jwks_file`, `jwks_uri`, `discovery = true`");
            }
            if let Some(uri) = &issuer.jwks_uri {
                check_fetch_url(uri).or_else(|problem| invalid(key("jwks_uri"), &problem))?;
            }
            if issuer.discovery {
                check_fetch_url(&issuer.issuer).or_else(|problem| invalid(key("issuer"), &problem))?;
            }
            if issuer.refresh_seconds == 0 {
                return invalid(key("refresh_seconds"), "must be at least 1");
            }
            if issuer.fetch_timeout_ms == 0 {
                return invalid(key("fetch_timeout_ms"), "must be at least 1");
            }
        }
        if let Some(section) = &self.protected_resource {
            let key = |name: &str| format!("protected_resource.{name}");
            check_resource_identifier(&section.resource).or_else(|problem| invalid(key("resource"), &problem))?;
            if section.authorization_servers.is_empty() {
                return invalid(key("authorization_servers"), "name at least one authorization server");
            }
            for server in &section.authorization_servers {
                check_resource_identifier(server).or_else(|problem| invalid(key("authorization_servers"), &problem))?;
            }
        }
        for (index, entry) in self.verify.resource_audience.iter().enumerate() {
            if !self.verify.bind_audience_to_resource {
                return invalid(
                    format!("verify.resource_audience[{index}]"),
                    "only applies with `bind_audience_to_resource = true`",
                );
            }
            if entry.prefix.is_empty() || entry.audience.is_empty() {
                return invalid(
                    format!("verify.resource_audience[{index}]"),
                    "`prefix` and `audience` must not be empty",
                );
            }
        }
        let limits = &self.limits;
        let positive = [
            ("limits.max_body_bytes", limits.max_body_bytes as u64),
            ("limits.max_header_bytes", limits.max_header_bytes as u64),
            ("limits.max_concurrent_requests", limits.max_concurrent_requests as u64),
            ("limits.max_connections", limits.max_connections as u64),
            ("limits.request_timeout_ms", limits.request_timeout_ms),
            ("limits.header_read_timeout_ms", limits.header_read_timeout_ms),
            ("limits.max_batch", limits.max_batch as u64),
            ("limits.max_streams_per_connection", u64::from(limits.max_streams_per_connection)),
            ("policy.watch_interval_ms", self.policy.watch_interval_ms),
        ];
        for (name, value) in positive {
            if value == 0 {
                return invalid(name.to_string(), "must be at least 1");
            }
        }
        if !self.ext_authz.http_path_prefix.starts_with('/') || self.ext_authz.http_path_prefix.ends_with('/') {
            return invalid("ext_authz.http_path_prefix".to_string(), "must start with `/` and not end with one");
        }
        if self.ext_authz.http_path_prefix.starts_with("/v1") {
            return invalid("ext_authz.http_path_prefix".to_string(), "`/v1` is the decision API's");
        }
        crate::ext_authz::Mapping::new(&self.ext_authz)?;
        if let Some(section) = &self.mcp {
            crate::mcp::McpGateway::check_config(section, self)?;
        }
        Ok(())
    }
}

/// Keys are fetched over HTTPS; plain HTTP only from a loopback address (a local issuer, tests).
pub(crate) fn check_fetch_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|error| format!("not a URL: {error}"))?;
    match parsed.scheme() {
        _ if is_https_or_loopback_http(&parsed) => Ok(()),
        "http" => Err("keys must be fetched over https (plain http only from a loopback address)".to_string()),
        other => Err(format!("scheme `{other}` is not supported")),
    }
}

/// RFC 9728 §2 / RFC 8707 §2: an absolute `https` URL (plain `http` only on a loopback host,
/// for tests) without a fragment.
fn check_resource_identifier(uri: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(uri).map_err(|error| format!("not a URL: {error}"))?;
    if parsed.fragment().is_some() {
        return Err("must not have a fragment".to_string());
    }
    if !is_https_or_loopback_http(&parsed) {
        return Err("must be an https URL (plain http only on a loopback host)".to_string());
    }
    Ok(())
}

/// `https`, or plain `http` to a loopback host (tests, a local issuer).
fn is_https_or_loopback_http(url: &reqwest::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => is_loopback_host(url.host_str().unwrap_or_default()),
        _ => false,
    }
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn default_true() -> bool {
    true
}
fn default_watch_interval_ms() -> u64 {
    1_000
}
fn default_http_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8181))
}
fn default_refresh_seconds() -> u64 {
    300
}
fn default_min_refresh_seconds() -> u64 {
    10
}
fn default_fetch_timeout_ms() -> u64 {
    5_000
}
fn default_upstream_timeout_ms() -> u64 {
    30_000
}
fn default_max_list_response_bytes() -> usize {
    4 * 1024 * 1024
}
