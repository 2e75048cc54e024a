//! What the audit log keeps of one decision: enough to attribute it user → agent chain → tool
//! → outcome (NIST AU-3 content, AU-10 attribution), and nothing secret. The raw token and the
//! full claim set are never recorded: only the identifiers below.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use warrant_lang::request::{Actor, Request};

use super::time::format_rfc3339_ms;
use crate::decision::{Decision, FiredRule, PolicyVersion};

/// The outcome of a decision, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The request was allowed ([`Decision::allowed`]).
    Allow,
    /// The request was refused, by a rule, a revocation or a failure (fail closed).
    Deny,
}

/// One decision, attributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the decision started, RFC 3339 UTC.
    pub time: String,
    /// The same instant in Unix milliseconds, for time-window queries.
    pub time_ms: u64,
    /// Unique per decision; returned to the caller so it can cite it.
    pub decision_id: String,
    /// The policy package and its content hash.
    pub policy: PolicyVersion,
    /// The principal the call is made for.
    pub sub: Option<String>,
    /// Every hop of the delegation chain, first delegate first, current actor last.
    pub chain: Vec<Actor>,
    /// The token's `client_id`: the OAuth client the token was issued to.
    pub client_id: Option<String>,
    /// The token's agent instance id (the claim [`ClaimMapping::instance_claim`] names).
    ///
    /// [`ClaimMapping::instance_claim`]: warrant_lang::request::ClaimMapping::instance_claim
    pub instance: Option<String>,
    /// The token's audiences (RFC 8707 resource indicators).
    pub aud: Option<Vec<String>>,
    /// The resource (tool) the call was for, as the gateway gave it.
    pub resource: Option<String>,
    /// The action requested on the resource, as the gateway gave it.
    pub action: Option<String>,
    /// The token's scopes (a space-separated `scope` claim is split).
    pub scope: Option<Vec<String>>,
    /// The token's id: ties the decision to one token without logging the token.
    pub jti: Option<String>,
    /// The token's issuer.
    pub iss: Option<String>,
    /// The verdict, from [`Decision::allowed`].
    pub result: Verdict,
    /// The rules that fired, in rule order, as in [`Decision::fired`].
    pub fired: Vec<FiredRule>,
    /// Why the request was refused (empty when allowed), as in [`Decision::deny_reasons`].
    pub deny_reasons: Vec<String>,
    /// Time to decide (revocation check, policy, building this record excluded), microseconds.
    pub latency_us: u64,
}

impl AuditRecord {
    /// The record of `decision`, made for `request`, started at `started` and lasting `latency`.
    pub fn new(
        decision_id: String,
        request: &Request,
        decision: &Decision,
        started: SystemTime,
        latency: Duration,
    ) -> AuditRecord {
        let time_ms = unix_ms(started);
        AuditRecord {
            time: format_rfc3339_ms(time_ms),
            time_ms,
            decision_id,
            policy: decision.policy.clone(),
            sub: request.sub.clone(),
            // Who acted, not every claim of each `act` object (the log keeps no claim it does not name).
            chain: request
                .chain
                .iter()
                .map(|actor| Actor {
                    sub: actor.sub.clone(),
                    client_id: actor.client_id.clone(),
                    instance: actor.instance.clone(),
                    ..Actor::default()
                })
                .collect(),
            client_id: request.client_id.clone(),
            instance: request.instance.clone(),
            aud: request.aud.clone(),
            resource: request.resource.clone(),
            action: request.action.clone(),
            scope: request.scope.clone(),
            jti: request.jti.clone(),
            iss: request.iss.clone(),
            result: if decision.allowed { Verdict::Allow } else { Verdict::Deny },
            fired: decision.fired.clone(),
            deny_reasons: decision.deny_reasons.clone(),
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        }
    }

    /// The agent that made the call: the current actor's `client_id` (else its `sub`), or the
    /// token's own `client_id` when there is no delegation chain.
    pub fn agent(&self) -> Option<&str> {
        match self.chain.last() {
            Some(actor) => actor.client_id.as_deref().or(actor.sub.as_deref()),
            None => self.client_id.as_deref(),
        }
    }

    /// The instance that made the call: the current actor's, else the token's.
    pub fn acting_instance(&self) -> Option<&str> {
        self.chain.last().and_then(|actor| actor.instance.as_deref()).or(self.instance.as_deref())
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
// Nearly every event is a decision: boxing it would cost an allocation and save nothing.
#[allow(clippy::large_enum_variant)]
pub enum AuditEvent {
    /// One decision, allowed or denied.
    Decision(AuditRecord),
    /// Records lost because the queue was full: written as soon as the writer catches up, so
    /// a gap in the log is always visible in the log itself.
    RecordsDropped {
        /// When the notice was written, RFC 3339 UTC.
        time: String,
        /// The same instant in Unix milliseconds.
        time_ms: u64,
        /// Records dropped since the previous notice.
        count: u64,
    },
}

impl AuditEvent {
    /// A drop notice stamped now.
    pub fn records_dropped(count: u64) -> AuditEvent {
        let time_ms = unix_ms(SystemTime::now());
        AuditEvent::RecordsDropped { time: format_rfc3339_ms(time_ms), time_ms, count }
    }

    /// The event as one JSON line, newline included.
    pub fn to_json_line(&self) -> Vec<u8> {
        // Serialising these plain structs cannot fail; should it ever, the line still says so.
        let mut line = serde_json::to_vec(self).unwrap_or_else(|error| {
            serde_json::json!({"event": "unserialisable", "error": error.to_string()}).to_string().into_bytes()
        });
        line.push(b'\n');
        line
    }
}

/// Milliseconds since the Unix epoch (0 for a clock set before 1970).
pub(crate) fn unix_ms(at: SystemTime) -> u64 {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}
