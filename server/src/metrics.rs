//! `/metrics`: Prometheus text exposition (prometheus-client). Counters are updated on the
//! decision path with atomics only; values owned elsewhere (audit drops) are read at scrape.
//!
//! Exported (all prefixed `warrant_`): `decisions_total{result,policy}`,
//! `decision_duration_seconds` (histogram), `token_refusals_total{code}`,
//! `audit_dropped_records_total`, `audit_failed_records_total`, `reloads_total{result}`, `policy_info{package,hash}`.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use warrant::audit::AuditStats;
use warrant::token::CacheStats;
use warrant::{GatewayDecision, PolicyVersion};

use crate::keys::KeySetReport;

/// Labels of `warrant_decisions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    /// `allow` or `deny`.
    result: &'static str,
    /// The deciding policy's package.
    policy: String,
}

/// Labels of `warrant_token_refusals_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    /// `TokenError::code()`.
    code: &'static str,
}

/// Labels of the listener metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    /// `http` or `grpc`.
    listener: &'static str,
}

/// Labels of `warrant_listener_timeouts_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TimeoutLabels {
    /// `http` or `grpc`.
    listener: &'static str,
    /// `header_read`, `tls_handshake` or `request`.
    phase: &'static str,
}

/// Labels of the per-issuer key-set metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IssuerLabels {
    /// The issuer (`iss`).
    issuer: String,
}

/// Labels of `warrant_reloads_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    /// `ok` or `refused`.
    result: &'static str,
}

/// Labels of `warrant_policy_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabels {
    /// The package of the policy in force.
    package: String,
    /// Its content hash.
    hash: String,
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    latency: Histogram,
    token_refusals: Family<RefusalLabels, Counter>,
    audit_dropped: Counter,
    audit_failed: Counter,
    /// Serialises scrapes: `audit_dropped` is brought up to the audit log's count by delta.
    scrape: Mutex<()>,
    reloads: Family<ReloadLabels, Counter>,
    policy_info: Family<PolicyLabels, Gauge>,
    listeners: ListenerFamilies,
    key_set_age: Family<IssuerLabels, Gauge<f64, AtomicU64>>,
    key_fetch_failures: Family<IssuerLabels, Counter>,
    token_cache_hits: Counter,
    token_cache_misses: Counter,
}

/// The listener metrics of every listener, by `listener` label.
struct ListenerFamilies {
    open: Family<ListenerLabels, Gauge>,
    refused: Family<ListenerLabels, Counter>,
    accept_errors: Family<ListenerLabels, Counter>,
    tls_failures: Family<ListenerLabels, Counter>,
    timeouts: Family<TimeoutLabels, Counter>,
}

impl ListenerFamilies {
    fn register(registry: &mut Registry) -> ListenerFamilies {
        let families = ListenerFamilies {
            open: Family::default(),
            refused: Family::default(),
            accept_errors: Family::default(),
            tls_failures: Family::default(),
            timeouts: Family::default(),
        };
        registry.register("connections_open", "Connections open, by listener", families.open.clone());
        registry.register(
            "connections_refused",
            "Connections closed at once because `limits.max_connections` were open",
            families.refused.clone(),
        );
        registry.register(
            "accept_errors",
            "Failed accepts (such as EMFILE), by listener",
            families.accept_errors.clone(),
        );
        registry.register("tls_handshake_failures", "TLS handshakes that failed", families.tls_failures.clone());
        registry.register(
            "listener_timeouts",
            "Connections or requests cut by a time limit, by listener and phase",
            families.timeouts.clone(),
        );
        families
    }
}

/// One listener's connection counters; cheap to clone (the values are shared).
#[derive(Clone, Debug)]
pub struct ListenerMetrics {
    /// Connections open now.
    pub open: Gauge,
    /// Connections refused over `limits.max_connections`.
    pub refused: Counter,
    /// Failed accepts.
    pub accept_errors: Counter,
    /// Failed TLS handshakes (not timeouts).
    pub tls_failures: Counter,
    /// Connections that did not send a request's headers in time.
    pub header_timeouts: Counter,
    /// TLS handshakes not finished in time.
    pub tls_timeouts: Counter,
    /// Requests not answered within `limits.request_timeout_ms`.
    pub request_timeouts: Counter,
}

/// Latency buckets from 5 µs to about 80 ms: decisions are sub-microsecond in process, so the
/// interesting range is the server's own overhead and the tail.
fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(5e-6, 2.0, 15)
}

impl Metrics {
    /// A registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("warrant");
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register("decisions", "Decisions, by result and deciding policy", decisions.clone());
        let latency = Histogram::new(latency_buckets());
        registry.register("decision_duration_seconds", "Time to decide, token verification included", latency.clone());
        let token_refusals = Family::<RefusalLabels, Counter>::default();
        registry.register("token_refusals", "Bearer tokens refused, by refusal code", token_refusals.clone());
        let audit_dropped = Counter::default();
        registry.register("audit_dropped_records", "Decision records the audit log dropped", audit_dropped.clone());
        let audit_failed = Counter::default();
        registry.register(
            "audit_failed_records",
            "Decision records the audit sink failed to write",
            audit_failed.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register("reloads", "Policy and data reloads, by result (ok, refused)", reloads.clone());
        let policy_info = Family::<PolicyLabels, Gauge>::default();
        registry.register("policy_info", "1 for the policy in force, by package and content hash", policy_info.clone());
        let listeners = ListenerFamilies::register(&mut registry);
        let key_set_age = Family::<IssuerLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "key_set_age_seconds",
            "Seconds since the issuer's keys were last fetched",
            key_set_age.clone(),
        );
        let key_fetch_failures = Family::<IssuerLabels, Counter>::default();
        registry.register("key_fetch_failures", "Failed fetches of an issuer's keys", key_fetch_failures.clone());
        let token_cache_hits = Counter::default();
        registry.register(
            "token_cache_hits",
            "Bearer tokens found in the verified-token cache",
            token_cache_hits.clone(),
        );
        let token_cache_misses = Counter::default();
        registry.register("token_cache_misses", "Bearer tokens verified in full", token_cache_misses.clone());
        Metrics {
            registry,
            decisions,
            latency,
            token_refusals,
            audit_dropped,
            audit_failed,
            scrape: Mutex::new(()),
            reloads,
            policy_info,
            listeners,
            key_set_age,
            key_fetch_failures,
            token_cache_hits,
            token_cache_misses,
        }
    }

    /// Sets, at scrape time, the values the key sets and the verifier own: key-set age and
    /// fetch failures per remote issuer, token cache hits and misses.
    pub fn observe_keys(&self, key_sets: &[KeySetReport], cache: Option<CacheStats>) {
        for report in key_sets {
            let labels = IssuerLabels { issuer: report.issuer.clone() };
            if let Some(age) = report.age_seconds() {
                self.key_set_age.get_or_create(&labels).set(age);
            }
            self.key_fetch_failures.get_or_create(&labels).inner().store(report.failures, Ordering::Relaxed);
        }
        if let Some(cache) = cache {
            self.token_cache_hits.inner().store(cache.hits, Ordering::Relaxed);
            self.token_cache_misses.inner().store(cache.misses, Ordering::Relaxed);
        }
    }

    /// The counters of the listener `name` (`http`, `grpc`), exported at zero from now on.
    pub fn listener(&self, name: &'static str) -> ListenerMetrics {
        let families = &self.listeners;
        let labels = ListenerLabels { listener: name };
        let timeout = |phase| families.timeouts.get_or_create(&TimeoutLabels { listener: name, phase }).clone();
        ListenerMetrics {
            open: families.open.get_or_create(&labels).clone(),
            refused: families.refused.get_or_create(&labels).clone(),
            accept_errors: families.accept_errors.get_or_create(&labels).clone(),
            tls_failures: families.tls_failures.get_or_create(&labels).clone(),
            header_timeouts: timeout("header_read"),
            tls_timeouts: timeout("tls_handshake"),
            request_timeouts: timeout("request"),
        }
    }

    /// Counts one decision and its latency.
    pub fn observe(&self, decided: &GatewayDecision, elapsed: Duration) {
        let result = if decided.decision.allowed { "allow" } else { "deny" };
        let labels = DecisionLabels { result, policy: decided.decision.policy.package.clone() };
        self.decisions.get_or_create(&labels).inc();
        self.latency.observe(elapsed.as_secs_f64());
        if let Some(error) = &decided.refused_token {
            self.token_refusals.get_or_create(&RefusalLabels { code: error.code() }).inc();
        }
    }

    /// Counts one reload attempt.
    pub fn reload_done(&self, ok: bool) {
        let result = if ok { "ok" } else { "refused" };
        self.reloads.get_or_create(&ReloadLabels { result }).inc();
    }

    /// Moves `warrant_policy_info` from `previous` (if any) to `current`.
    pub fn policy_in_force(&self, previous: Option<&PolicyVersion>, current: &PolicyVersion) {
        let labels =
            |version: &PolicyVersion| PolicyLabels { package: version.package.clone(), hash: version.hash.clone() };
        if let Some(previous) = previous {
            self.policy_info.remove(&labels(previous));
        }
        self.policy_info.get_or_create(&labels(current)).set(1);
    }

    /// The exposition text, with scrape-time values set first.
    pub fn render(&self, audit: Option<AuditStats>) -> String {
        let _one_scrape_at_a_time = self.scrape.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(audit) = audit {
            // The log's counts only grow: bring the counters up to them.
            self.audit_dropped.inc_by(audit.dropped.saturating_sub(self.audit_dropped.get()));
            self.audit_failed.inc_by(audit.failed.saturating_sub(self.audit_failed.get()));
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
