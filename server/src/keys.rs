//! Keys fetched from the issuer: a JWKS URI, or OIDC discovery
//! (`{issuer}/.well-known/openid-configuration` → `jwks_uri`), refreshed on a schedule and when
//! a token names an unknown `kid`, swapped into the verifier without a restart.
//!
//! - Every fetch is bounded: `fetch_timeout_ms` per HTTP request, [`MAX_JWKS_BYTES`] and
//!   [`MAX_DISCOVERY_BYTES`] of body, [`MAX_REDIRECTS`] redirects and only to URLs the
//!   configuration would accept (https, or http on loopback).
//! - Discovery checks that the document's `issuer` is exactly the configured one (OpenID Connect
//!   Discovery 1.0 §4.3) and that its `jwks_uri` is an acceptable URL.
//! - A fetched set goes through [`TokenVerifier::replace_keys`], which checks it exactly like
//!   keys at start; a refused set (garbage, oversized, weak keys) leaves the last good one in
//!   force. So does an unreachable issuer. Both are logged, counted and shown in `/ready`.
//! - A set identical to the one in force is not swapped in again, so scheduled refreshes do
//!   not empty the verified-token cache.
//! - A token naming an unknown `kid` (or arriving before the first set) triggers a refresh at
//!   most once per `min_refresh_seconds` per issuer; then the token is verified once more.
//!   A flood of random `kid`s costs the issuer one fetch per interval, and fetches of one issuer
//!   never overlap.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use warrant::token::{KeySource, TokenError, TokenVerifier};

use crate::config::{check_fetch_url, IssuerSection, ServerConfig};
use crate::error::ServeError;

/// Largest JWK Set accepted, in bytes: real sets hold a handful of keys (a few KiB).
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Largest OIDC discovery document accepted, in bytes.
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;
/// Redirects followed by one fetch.
pub const MAX_REDIRECTS: usize = 3;

/// Why a fetch did not produce a new key set. The previous set, if any, stays in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No answer: connection refused, timeout, TLS failure, a refused redirect.
    #[error("GET {url}: {message}")]
    Unreachable {
        /// The URL fetched.
        url: String,
        /// reqwest's description.
        message: String,
    },
    /// An answer other than 200.
    #[error("GET {url}: HTTP status {status}")]
    Status {
        /// The URL fetched.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body is longer than its cap.
    #[error("GET {url}: body larger than {limit} bytes")]
    TooLarge {
        /// The URL fetched.
        url: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The key set is not UTF-8 text (so not JSON).
    #[error("GET {url}: the key set is not UTF-8 text")]
    NotUtf8 {
        /// The URL fetched.
        url: String,
    },
    /// The discovery document is not JSON with string `issuer` and `jwks_uri`.
    #[error("discovery document {url} is invalid: {problem}")]
    InvalidDiscovery {
        /// The discovery URL.
        url: String,
        /// What is wrong.
        problem: String,
    },
    /// The discovery document names another issuer (OIDC Discovery §4.3): refused.
    #[error("discovery document names issuer `{found}`, not the configured `{expected}`")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's `issuer`.
        found: String,
    },
    /// The key set was refused by the verifier (not a JWK Set, no usable key, weak key, ...).
    #[error("key set refused: {0}")]
    Keys(warrant::token::ConfigError),
}

/// Why a refresh runs (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Start,
    Schedule,
    UnknownKey,
}

impl Trigger {
    fn name(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Schedule => "schedule",
            Trigger::UnknownKey => "unknown_kid",
        }
    }
}

/// Where one issuer's keys are fetched from.
#[derive(Debug, Clone)]
enum Source {
    JwksUri(String),
    /// The discovery document's URL.
    Discovery(String),
}

/// The key sets of every issuer with `jwks_uri` or `discovery` (issuers with a `jwks_file`
/// are loaded once, by the verifier's construction).
pub struct KeySets {
    issuers: Vec<RemoteIssuer>,
    client: reqwest::Client,
}

struct RemoteIssuer {
    issuer: String,
    source: Source,
    refresh: Duration,
    min_refresh: Duration,
    timeout: Duration,
    /// What `/ready` and `/metrics` show; a short std lock, never held across an await.
    status: Mutex<Status>,
    /// Held for the whole of a fetch, so fetches of one issuer never overlap.
    fetch: tokio::sync::Mutex<FetchState>,
    /// Bumped each time a new set is swapped in.
    generation: AtomicU64,
}

#[derive(Default)]
struct FetchState {
    /// When the last refresh for an unknown `kid` started.
    last_on_demand: Option<Instant>,
    /// The `jwks_uri` discovery found last.
    discovered: Option<String>,
    /// The body of the set in force (at most [`MAX_JWKS_BYTES`]), to skip swapping it in again.
    applied: Option<Vec<u8>>,
}

#[derive(Default, Clone)]
struct Status {
    fetched_at: Option<SystemTime>,
    last_error: Option<String>,
    last_error_at: Option<SystemTime>,
    failures: u64,
}

/// One issuer's key set as `/ready` and `/metrics` show it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeySetReport {
    /// The issuer.
    pub issuer: String,
    /// `jwks_uri` or `discovery`.
    pub source: &'static str,
    /// Whether a key set is in force (tokens can be verified).
    pub has_keys: bool,
    /// When the set in force was last fetched successfully (changed or not).
    pub fetched_at: Option<SystemTime>,
    /// The last failure since then, if any (cleared by a good fetch).
    pub last_error: Option<String>,
    /// When that failure happened.
    pub last_error_at: Option<SystemTime>,
    /// Failed fetches since start.
    pub failures: u64,
}

impl KeySetReport {
    /// Seconds since the last good fetch; None before the first one.
    pub fn age_seconds(&self) -> Option<f64> {
        let fetched_at = self.fetched_at?;
        Some(SystemTime::now().duration_since(fetched_at).map_or(0.0, |age| age.as_secs_f64()))
    }
}

impl KeySets {
    /// The remote issuers of `config`; None when every issuer has a `jwks_file` (or there is
    /// none).
    pub fn new(config: &ServerConfig) -> Result<Option<KeySets>, ServeError> {
        let issuers: Vec<RemoteIssuer> = config.issuers.iter().filter_map(RemoteIssuer::new).collect();
        if issuers.is_empty() {
            return Ok(None);
        }
        // reqwest is built without a default crypto provider: use ring (already in the build).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if let Err(problem) = check_fetch_url(attempt.url().as_str()) {
                    attempt.error(problem)
                } else {
                    attempt.follow()
                }
            }))
            .user_agent(concat!("warrant-serve/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ServeError::Runtime(format!("HTTP client for issuer keys: {error}")))?;
        Ok(Some(KeySets { issuers, client }))
    }

    /// Number of remote issuers (one refresh task each).
    pub fn len(&self) -> usize {
        self.issuers.len()
    }

    /// Whether there is no remote issuer.
    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// The schedule of issuer `index`: its refresh period.
    pub fn refresh_period(&self, index: usize) -> Option<Duration> {
        self.issuers.get(index).map(|issuer| issuer.refresh)
    }

    /// Fetches issuer `index`'s keys at start.
    pub async fn fetch_at_start(&self, index: usize, verifier: &TokenVerifier) {
        if let Some(issuer) = self.issuers.get(index) {
            let _ = self.refresh(issuer, verifier, Trigger::Start).await;
        }
    }

    /// Fetches issuer `index`'s keys on its schedule.
    pub async fn fetch_on_schedule(&self, index: usize, verifier: &TokenVerifier) {
        if let Some(issuer) = self.issuers.get(index) {
            let _ = self.refresh(issuer, verifier, Trigger::Schedule).await;
        }
    }

    /// After `error` refused `token`: if the token names a remote issuer and the refusal is an
    /// unknown `kid` or keys not yet fetched, refreshes that issuer's keys (at most once per
    /// `min_refresh_seconds`). True when a new key set is in force since the token was
    /// refused, so verifying it once more is worth it.
    pub async fn refresh_for(&self, verifier: &TokenVerifier, token: &str, error: &TokenError) -> bool {
        if !matches!(error, TokenError::UnknownKeyId | TokenError::KeysUnavailable) {
            return false;
        }
        // The claimed (unverified) `iss` only chooses which issuer to refresh.
        let Ok(unverified) = warrant::token::decode_unverified(token, verifier.options().max_token_bytes) else {
            return false;
        };
        let Some(serde_json::Value::String(iss)) = unverified.claims.get("iss") else { return false };
        let Some(issuer) = self.issuers.iter().find(|issuer| &issuer.issuer == iss) else { return false };
        let seen = issuer.generation.load(Ordering::SeqCst);
        let mut state = issuer.fetch.lock().await;
        if issuer.generation.load(Ordering::SeqCst) != seen {
            return true; // another fetch brought new keys while this one waited
        }
        if state.last_on_demand.is_some_and(|last| last.elapsed() < issuer.min_refresh) {
            return false;
        }
        state.last_on_demand = Some(Instant::now());
        self.refresh_locked(issuer, &mut state, verifier, Trigger::UnknownKey).await;
        issuer.generation.load(Ordering::SeqCst) != seen
    }

    /// Every remote issuer's key set, for `/ready` and `/metrics`.
    pub fn reports(&self, verifier: Option<&TokenVerifier>) -> Vec<KeySetReport> {
        self.issuers
            .iter()
            .map(|issuer| {
                let status = issuer.status();
                KeySetReport {
                    issuer: issuer.issuer.clone(),
                    source: match issuer.source {
                        Source::JwksUri(_) => "jwks_uri",
                        Source::Discovery(_) => "discovery",
                    },
                    has_keys: verifier.is_some_and(|verifier| verifier.has_keys(&issuer.issuer)),
                    fetched_at: status.fetched_at,
                    last_error: status.last_error,
                    last_error_at: status.last_error_at,
                    failures: status.failures,
                }
            })
            .collect()
    }

    async fn refresh(&self, issuer: &RemoteIssuer, verifier: &TokenVerifier, trigger: Trigger) {
        let mut state = issuer.fetch.lock().await;
        self.refresh_locked(issuer, &mut state, verifier, trigger).await;
    }

    async fn refresh_locked(
        &self,
        issuer: &RemoteIssuer,
        state: &mut FetchState,
        verifier: &TokenVerifier,
        trigger: Trigger,
    ) {
        match self.fetch_and_apply(issuer, state, verifier, trigger).await {
            Ok(changed) => {
                let mut status = issuer.lock_status();
                status.fetched_at = Some(SystemTime::now());
                status.last_error = None;
                status.last_error_at = None;
                drop(status);
                if changed {
                    issuer.generation.fetch_add(1, Ordering::SeqCst);
                    tracing::info!(issuer = %issuer.issuer, trigger = trigger.name(), "new issuer key set in force");
                }
            }
            Err(error) => {
                let mut status = issuer.lock_status();
                status.last_error = Some(error.to_string());
                status.last_error_at = Some(SystemTime::now());
                status.failures = status.failures.saturating_add(1);
                drop(status);
                tracing::warn!(
                    issuer = %issuer.issuer, trigger = trigger.name(), %error,
                    "issuer keys not refreshed; the last good key set (if any) stays in force"
                );
            }
        }
    }

    /// One fetch; Ok(true) when a different set was swapped in.
    async fn fetch_and_apply(
        &self,
        issuer: &RemoteIssuer,
        state: &mut FetchState,
        verifier: &TokenVerifier,
        trigger: Trigger,
    ) -> Result<bool, FetchError> {
        let jwks_uri = match &issuer.source {
            Source::JwksUri(uri) => uri.clone(),
            // Discovery again on schedule and at start; an unknown `kid` reuses the last answer.
            Source::Discovery(url) => {
                let cached = if trigger == Trigger::UnknownKey { state.discovered.clone() } else { None };
                match cached {
                    Some(uri) => uri,
                    None => {
                        let uri = self.discover(issuer, url).await?;
                        state.discovered = Some(uri.clone());
                        uri
                    }
                }
            }
        };
        let body = self.get(&jwks_uri, MAX_JWKS_BYTES, issuer.timeout).await?;
        if state.applied.as_ref() == Some(&body) && verifier.has_keys(&issuer.issuer) {
            return Ok(false);
        }
        let text = std::str::from_utf8(&body).map_err(|_| FetchError::NotUtf8 { url: jwks_uri.clone() })?;
        verifier.replace_keys(&issuer.issuer, vec![KeySource::Jwks(text.to_string())]).map_err(FetchError::Keys)?;
        state.applied = Some(body);
        Ok(true)
    }

    /// Reads the discovery document and returns its `jwks_uri`.
    async fn discover(&self, issuer: &RemoteIssuer, url: &str) -> Result<String, FetchError> {
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let body = self.get(url, MAX_DISCOVERY_BYTES, issuer.timeout).await?;
        let invalid = |problem: String| FetchError::InvalidDiscovery { url: url.to_string(), problem };
        let document: Discovery = serde_json::from_slice(&body).map_err(|error| invalid(error.to_string()))?;
        if document.issuer != issuer.issuer {
            return Err(FetchError::IssuerMismatch { expected: issuer.issuer.clone(), found: document.issuer });
        }
        check_fetch_url(&document.jwks_uri).map_err(|problem| invalid(format!("`jwks_uri`: {problem}")))?;
        Ok(document.jwks_uri)
    }

    /// GET `url` with a 200 answer, reading at most `limit` bytes within `timeout`.
    async fn get(&self, url: &str, limit: usize, timeout: Duration) -> Result<Vec<u8>, FetchError> {
        let unreachable =
            |error: reqwest::Error| FetchError::Unreachable { url: url.to_string(), message: error.to_string() };
        let too_large = || FetchError::TooLarge { url: url.to_string(), limit };
        let read = async {
            let mut response = self
                .client
                .get(url)
                .header("accept", "application/json, application/jwk-set+json")
                .send()
                .await
                .map_err(unreachable)?;
            if response.status() != reqwest::StatusCode::OK {
                return Err(FetchError::Status { url: url.to_string(), status: response.status().as_u16() });
            }
            if response.content_length().is_some_and(|length| length > limit as u64) {
                return Err(too_large());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
                if body.len().saturating_add(chunk.len()) > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<Vec<u8>, FetchError>(body)
        };
        // One deadline for headers and body together: a trickling issuer cannot hold a fetch.
        tokio::time::timeout(timeout, read).await.unwrap_or_else(|_| {
            Err(FetchError::Unreachable {
                url: url.to_string(),
                message: format!("no complete answer within {timeout:?}"),
            })
        })
    }
}

impl RemoteIssuer {
    fn new(section: &IssuerSection) -> Option<RemoteIssuer> {
        let source = match (&section.jwks_uri, section.discovery) {
            (Some(uri), _) => Source::JwksUri(uri.clone()),
            (None, true) => Source::Discovery(discovery_url(&section.issuer)),
            (None, false) => return None,
        };
        Some(RemoteIssuer {
            issuer: section.issuer.clone(),
            source,
            refresh: Duration::from_secs(section.refresh_seconds),
            min_refresh: Duration::from_secs(section.min_refresh_seconds),
            timeout: Duration::from_millis(section.fetch_timeout_ms),
            status: Mutex::new(Status::default()),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
            generation: AtomicU64::new(0),
        })
    }

    fn lock_status(&self) -> std::sync::MutexGuard<'_, Status> {
        // Every update leaves the status consistent: a poisoned lock is still safe to use.
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn status(&self) -> Status {
        self.lock_status().clone()
    }
}

/// OIDC Discovery §4: a terminating `/` of the issuer is removed before the well-known path.
fn discovery_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::discovery_url;

    #[test]
    fn discovery_url_drops_a_terminating_slash() {
        assert_eq!(discovery_url("https://idp.test"), "https://idp.test/.well-known/openid-configuration");
        assert_eq!(discovery_url("https://idp.test/t1/"), "https://idp.test/t1/.well-known/openid-configuration");
    }
}
