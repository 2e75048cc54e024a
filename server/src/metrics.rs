//! `/metrics`: Prometheus text exposition (prometheus-client). Counters are updated on the
//! decision path with atomics only; values owned elsewhere (audit drops) are read at scrape.
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use warrant::GatewayDecision;

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

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    latency: Histogram,
    token_refusals: Family<RefusalLabels, Counter>,
    audit_dropped: Gauge,
    listeners: ListenerFamilies,
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
        let audit_dropped = Gauge::default();
        registry.register("audit_dropped_records", "Decision records the audit log dropped", audit_dropped.clone());
        let listeners = ListenerFamilies::register(&mut registry);
        Metrics { registry, decisions, latency, token_refusals, audit_dropped, listeners }
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

    /// The exposition text, with scrape-time values set first.
    pub fn render(&self, audit_dropped: u64) -> String {
        self.audit_dropped.set(i64::try_from(audit_dropped).unwrap_or(i64::MAX));
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
