//! What every transport shares: the gateway (policy, data, revocations, audit), the token
//! verifier, the metrics and the configuration. Transports turn their input into a call here
//! and their output from the [`GatewayDecision`] it returns; none of them decides anything.
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use warrant::audit::{AuditLog, AuditMode, FileSink, Rotation, StdoutSink};
use warrant::token::{
    AudienceBinding, DpopNonces, DpopOptions, IssuerConfig, KeySource, NonceSecret, Presentation, ResourceAudience,
    TokenError, TokenVerifier, VerifyOptions, MIN_NONCE_SECRET_BYTES,
};
use warrant::{Engine, Gateway, GatewayDecision, Request};

use crate::challenge::Challenge;
use crate::config::{IssuerSection, ServerConfig};
use crate::error::ServeError;
use crate::ext_authz::Mapping;
use crate::http::resource_metadata;
use crate::keys::KeySets;
use crate::loader;
use crate::mcp::McpGateway;
use crate::metrics::Metrics;

/// The state behind every listener.
pub struct AppState {
    /// The configuration the server started with.
    pub config: ServerConfig,
    /// Decides, enforces revocations, writes the audit log.
    pub gateway: Gateway,
    /// Verifies bearer tokens; none when no issuer is configured.
    pub verifier: Option<TokenVerifier>,
    /// Counters and histograms behind `/metrics`.
    pub metrics: Metrics,
    /// Keys fetched from issuers (`jwks_uri`, `discovery`); none when no issuer needs it.
    pub key_sets: Option<KeySets>,
    /// Compiles the policy again on a reload (shares the wasmtime engine and its epoch clock).
    pub engine: Engine,
    /// How an Envoy check request becomes a decision request (`[ext_authz]`, compiled).
    pub ext_authz: Mapping,
    /// What every `401` says besides the error, fixed at start.
    pub challenge: Challenge,
    /// The MCP gateway (`[mcp]`), when configured.
    pub mcp: Option<McpGateway>,
}

impl AppState {
    /// Loads the policy, data and keys `config` names.
    pub fn load(config: ServerConfig) -> Result<Arc<AppState>, ServeError> {
        let engine = Engine::new().map_err(ServeError::Engine)?;
        let policy = loader::load_policy(&engine, &config.policy.path)?;
        let data = loader::load_data(config.policy.data.as_deref())?;
        let gateway = Gateway::new(&policy, data).map_err(ServeError::Gateway)?;
        let gateway = match &config.audit {
            None => gateway,
            Some(section) => {
                let log = open_audit(&section.path)?;
                let mode = if section.required { AuditMode::Required } else { AuditMode::BestEffort };
                gateway.with_audit_mode(log, mode)
            }
        };
        let verifier = build_verifier(&config)?;
        let metrics = Metrics::new();
        let key_sets = KeySets::new(&config)?;
        let ext_authz = Mapping::new(&config.ext_authz)?;
        let challenge = Challenge {
            algs: dpop_algorithms(verifier.as_ref()).join(" "),
            resource_metadata: config
                .protected_resource
                .as_ref()
                .and_then(resource_metadata::location)
                .map(|(_, url)| url),
        };
        let mcp = config.mcp.as_ref().map(|section| McpGateway::new(section, &config)).transpose()?;
        Ok(Arc::new(AppState { config, gateway, verifier, metrics, key_sets, engine, ext_authz, challenge, mcp }))
    }

    /// Decides a request whose claims the caller already verified (the JSON API's
    /// `/v1/decide`); a request without `now` is decided at the server's clock.
    pub fn decide(&self, mut request: Request) -> GatewayDecision {
        let started = Instant::now();
        request.now = request.now.or(Some(unix_now()));
        let decided = self.gateway.decide(&request);
        self.record(&decided, started, request.resource.as_deref(), request.action.as_deref());
        decided
    }

    /// Verifies the presented token (and its DPoP proof) and decides. `None` when no issuer is
    /// configured: there is nothing to verify a token with, which the transports answer as a
    /// server-side refusal.
    ///
    /// A valid token's request is kept in the outcome, so a transport can name the subject and
    /// the acting agent (ext_authz response headers) without decoding the token again. A
    /// refused token is decided (and logged) by the gateway as a deny naming the refusal,
    /// from the verifier's own refusal: the token is verified once.
    pub async fn decide_token(
        &self,
        presented: &Presentation<'_>,
        resource: Option<String>,
        action: Option<String>,
        context: Map<String, Value>,
    ) -> Option<TokenOutcome> {
        let started = Instant::now();
        let now = unix_now();
        let verified = self.verify(presented, resource.clone(), action.clone(), now).await?;
        let outcome = match verified {
            Ok(request) => {
                let request = request.with_context(context);
                TokenOutcome { decided: self.gateway.decide(&request), request: Some(request) }
            }
            Err(error) => {
                TokenOutcome { decided: self.gateway.decide_refused_token(error, resource, action, now), request: None }
            }
        };
        let request = outcome.request.as_ref();
        let (resource, action) =
            (request.and_then(|r| r.resource.as_deref()), request.and_then(|r| r.action.as_deref()));
        self.record(&outcome.decided, started, resource, action);
        Some(outcome)
    }

    /// Verifies the presented token (and its DPoP proof) for a request on `resource` at `now`,
    /// without deciding: an unknown `kid` may mean the issuer rotated its keys, so the keys
    /// are refreshed (rate-limited) and the token verified once more. `None` when no issuer
    /// is configured.
    pub async fn verify(
        &self,
        presented: &Presentation<'_>,
        resource: Option<String>,
        action: Option<String>,
        now: i64,
    ) -> Option<Result<Request, TokenError>> {
        let verifier = self.verifier.as_ref()?;
        let verified = verifier.request_presented(presented, resource.clone(), action.clone(), now);
        let refreshed = match (&verified, &self.key_sets) {
            (Err(error), Some(key_sets)) => key_sets.refresh_for(verifier, presented.token, error).await,
            _ => false,
        };
        Some(if refreshed { verifier.request_presented(presented, resource, action, now) } else { verified })
    }

    /// Decides (a logged deny) a call that brought no usable token: no bearer credential, or
    /// a malformed one. The same record as a token the verifier refused.
    pub fn decide_refused(
        &self,
        error: TokenError,
        resource: Option<String>,
        action: Option<String>,
    ) -> GatewayDecision {
        let started = Instant::now();
        let decided = self.gateway.decide_refused_token(error, resource, action, unix_now());
        self.record(&decided, started, None, None);
        decided
    }

    /// The DPoP proof algorithms accepted (none without an issuer).
    pub fn dpop_algorithms(&self) -> Vec<&'static str> {
        dpop_algorithms(self.verifier.as_ref())
    }

    /// The DPoP nonce clients must use now, when server nonces are on (`[verify] dpop_nonce_seconds`).
    pub fn dpop_nonce(&self) -> Option<String> {
        self.verifier.as_ref().and_then(|verifier| verifier.dpop_nonce(unix_now()))
    }

    /// What every decision path does once decided: count it (metrics) and log it (debug).
    fn record(&self, decided: &GatewayDecision, started: Instant, resource: Option<&str>, action: Option<&str>) {
        self.metrics.observe(decided, started.elapsed());
        log_decision(decided, started, resource, action);
    }
}

fn dpop_algorithms(verifier: Option<&TokenVerifier>) -> Vec<&'static str> {
    let algorithms = verifier.map(|verifier| verifier.options().dpop.algorithms.as_slice());
    algorithms.unwrap_or_default().iter().map(|alg| alg.name()).collect()
}

/// A decision on a bearer token, and the request it became when the token was valid.
pub struct TokenOutcome {
    /// The decision and its id; `refused_token` is set when the token was refused.
    pub decided: GatewayDecision,
    /// The request decided (claims, chain, context); `None` for a refused token.
    pub request: Option<Request>,
}

/// One debug event per decision: its id, verdict, policy hash, latency and what was asked.
/// Never the token or the claims (a refused token is named by its refusal code only).
fn log_decision(decided: &GatewayDecision, started: Instant, resource: Option<&str>, action: Option<&str>) {
    tracing::debug!(
        decision_id = %decided.decision_id,
        allowed = decided.decision.allowed,
        policy = %decided.decision.policy.package,
        hash = %decided.decision.policy.hash,
        resource = resource.unwrap_or("-"),
        action = action.unwrap_or("-"),
        token_error = decided.refused_token.as_ref().map_or("-", |error| error.code()),
        micros = started.elapsed().as_micros() as u64,
        "decision"
    );
}

/// Seconds since the Unix epoch (0 if the clock is before it, which denies by `exp`).
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The decision log at `path` (`-`: standard output), rotated by size.
fn open_audit(path: &std::path::Path) -> Result<AuditLog, ServeError> {
    let capacity = warrant::audit::AuditConfig::default().capacity;
    let started = if path.as_os_str() == "-" {
        AuditLog::start(StdoutSink, capacity)
    } else {
        let sink = FileSink::open(path, Rotation::default())
            .map_err(|error| ServeError::Audit(format!("{}: {error}", path.display())))?;
        AuditLog::start(sink, capacity)
    };
    started.map_err(|error| ServeError::Audit(error.to_string()))
}

fn build_verifier(config: &ServerConfig) -> Result<Option<TokenVerifier>, ServeError> {
    if config.issuers.is_empty() {
        return Ok(None);
    }
    let issuers = config.issuers.iter().map(issuer_config).collect::<Result<Vec<_>, _>>()?;
    let section = &config.verify;
    let options = VerifyOptions {
        leeway_seconds: section.leeway_seconds,
        cache_capacity: section.cache_capacity,
        require_access_token_type: section.require_typ_at_jwt,
        require_jti: section.require_jti,
        require_client_id: section.require_client_id,
        require_iat: !section.allow_missing_iat,
        dpop: DpopOptions { nonces: dpop_nonces(section.dpop_nonce_seconds)?, ..DpopOptions::default() },
        audience_binding: if section.bind_audience_to_resource {
            let mapped = section.resource_audience.iter();
            AudienceBinding::Resource(
                mapped
                    .map(|entry| ResourceAudience { prefix: entry.prefix.clone(), audience: entry.audience.clone() })
                    .collect(),
            )
        } else {
            AudienceBinding::IssuerAudiences
        },
        ..VerifyOptions::default()
    };
    TokenVerifier::new(issuers, options).map(Some).map_err(ServeError::Keys)
}

/// Server nonces with a secret drawn at start (so nonces are this process's own: a client that
/// moves to another replica is asked to retry with that replica's nonce); none for 0 seconds.
fn dpop_nonces(lifetime_seconds: u32) -> Result<Option<DpopNonces>, ServeError> {
    if lifetime_seconds == 0 {
        return Ok(None);
    }
    let mut secret = vec![0u8; MIN_NONCE_SECRET_BYTES];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut secret)
        .map_err(|_| ServeError::Runtime("no system randomness for the DPoP nonce secret".to_string()))?;
    let secret = NonceSecret::new(secret)
        .ok_or_else(|| ServeError::Runtime("the DPoP nonce secret is too short".to_string()))?;
    Ok(Some(DpopNonces { secret, lifetime_seconds }))
}

fn issuer_config(section: &IssuerSection) -> Result<IssuerConfig, ServeError> {
    let mut keys = Vec::new();
    if let Some(file) = &section.jwks_file {
        keys.push(KeySource::jwks_file(file).map_err(ServeError::Keys)?);
    }
    if section.jwks_uri.is_some() || section.discovery {
        // Fetched after start by `KeySets`; tokens are refused `keys_unavailable` until then.
        keys.push(KeySource::Remote);
    }
    Ok(IssuerConfig {
        issuer: section.issuer.clone(),
        audiences: section.audiences.clone(),
        algorithms: section.algorithms.clone(),
        keys,
        dpop: section.dpop,
    })
}
