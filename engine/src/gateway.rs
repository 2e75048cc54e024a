//! A policy enforcement point for many threads: decides with the current {policy, data,
//! revocations}, refuses revoked tokens, clients and instances, and logs every decision.
//!
//! The three travel together in one immutable snapshot swapped atomically (`arc-swap`): a
//! decision loads the snapshot once and uses only it, so a concurrent reload or revocation
//! is seen entirely or not at all, takes effect on the next decision, and never interrupts
//! one in flight. Updates are serialised among themselves so none overwrites another.
//!
//! Revocations are enforced by the host before the policy runs (a revoked request is denied
//! whatever the rules say, and the policy is not consulted), and are also given to the
//! policy as data (`data.revoked_instances`, `data.revoked_client_ids`, `data.revoked_jtis`),
//! for rules that want to reason about them.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;
use serde_json::{Map, Value};
use warrant_lang::request::Request;

use crate::audit::{AuditLog, AuditMode, AuditRecord, AUDIT_UNAVAILABLE};
use crate::decision::{Decision, PolicyVersion};
use crate::error::EngineError;
use crate::host::Policy;
use crate::revocation::{Revocation, RevocationError, RevocationSet};
use crate::token::{Presentation, TokenError, TokenVerifier};

/// Why a gateway could not be built or updated. The gateway keeps its previous snapshot, so
/// decisions continue with the last good policy, data and revocations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The policy refused the data document (with the revocations merged in).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The data's `revoked_*` lists cannot be read.
    #[error(transparent)]
    Revocation(#[from] RevocationError),
}

/// A decision and the id it is logged under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayDecision {
    /// Unique across gateways and restarts; the audit record carries the same id, so a caller
    /// can cite it.
    pub decision_id: String,
    /// The verdict, fired rules and deny reasons: the policy's, or a deny for a revoked
    /// request, a refused token, an engine failure or (under [`AuditMode::Required`]) an
    /// unavailable audit trail.
    pub decision: Decision,
    /// Set when the decision is a deny because the bearer token was refused, so a transport
    /// can answer "invalid token" (HTTP 401) rather than "forbidden" (403).
    pub refused_token: Option<TokenError>,
}

/// What one decision sees.
struct Snapshot {
    /// Forked for this snapshot: its data is `data` plus `revocations`.
    policy: Policy,
    version: PolicyVersion,
    /// The data document as supplied, without the revocation lists merged in.
    data: Arc<Value>,
    revocations: RevocationSet,
}

impl Snapshot {
    fn new(policy: &Policy, data: Arc<Value>, revocations: RevocationSet) -> Result<Snapshot, GatewayError> {
        let policy = policy.fork_with_own_data(&revocations.merged_into(&data))?;
        let version = PolicyVersion { package: policy.package().to_string(), hash: policy.hash().to_string() };
        Ok(Snapshot { policy, version, data, revocations })
    }
}

/// Thread-safe (`Send + Sync`): share one gateway, e.g. in an `Arc`, across request handlers.
pub struct Gateway {
    current: ArcSwap<Snapshot>,
    updates: Mutex<()>,
    audit: Option<AuditLog>,
    audit_mode: AuditMode,
    ids: DecisionIds,
}

impl Gateway {
    /// A gateway deciding with `policy` and `data`. Revocations the data already lists under
    /// `revoked_*` are enforced from the start.
    pub fn new(policy: &Policy, data: Value) -> Result<Gateway, GatewayError> {
        let revocations = RevocationSet::from_data(&data)?;
        let snapshot = Snapshot::new(policy, Arc::new(data), revocations)?;
        Ok(Gateway {
            current: ArcSwap::from_pointee(snapshot),
            updates: Mutex::new(()),
            audit: None,
            audit_mode: AuditMode::BestEffort,
            ids: DecisionIds::new(),
        })
    }

    /// Logs every decision to `log`, best effort: a failing audit trail is counted and
    /// reported (`audit_log().health()`) but does not change decisions.
    pub fn with_audit(self, log: AuditLog) -> Gateway {
        self.with_audit_mode(log, AuditMode::BestEffort)
    }

    /// Logs every decision to `log`; under [`AuditMode::Required`], denies while the trail is
    /// unhealthy and whenever a decision's record cannot be queued.
    pub fn with_audit_mode(mut self, log: AuditLog, mode: AuditMode) -> Gateway {
        self.audit = Some(log);
        self.audit_mode = mode;
        self
    }

    /// Decides `request` (failing closed on any engine error) and logs it.
    pub fn decide(&self, request: &Request) -> GatewayDecision {
        let started = SystemTime::now();
        let clock = Instant::now();
        let snapshot = self.current.load();
        // The snapshot's policy carries the revocations in its data, and `Policy::decide`
        // refuses them on every hop before the policy runs: one check for every entry point.
        let decision = snapshot.policy.decide_or_deny(request);
        let latency = clock.elapsed();
        self.logged(request, decision, started, latency)
    }

    /// Verifies `token`, then decides as [`Gateway::decide`]. A refused token is a logged deny
    /// naming the refusal class ([`crate::token::TokenError::code`]), with no claim recorded.
    pub fn decide_token(
        &self,
        verifier: &TokenVerifier,
        token: &str,
        resource: Option<String>,
        action: Option<String>,
        now: i64,
    ) -> GatewayDecision {
        self.decide_token_with_context(verifier, token, resource, action, now, Map::new())
    }

    /// [`Gateway::decide_token`] for a call the gateway knows more about than the token says:
    /// `context` (HTTP method, MCP tool and arguments, ...) is what the policy reads as
    /// `context.*` ([`Request::context`]). A refused token is logged without it.
    pub fn decide_token_with_context(
        &self,
        verifier: &TokenVerifier,
        token: &str,
        resource: Option<String>,
        action: Option<String>,
        now: i64,
        context: Map<String, Value>,
    ) -> GatewayDecision {
        self.decide_presented(verifier, &Presentation::bearer(token), resource, action, now, context)
    }

    /// [`Gateway::decide_token_with_context`] for a token presented with what binds it to the
    /// caller (a DPoP proof and the HTTP request it names): a bound token is decided only
    /// with a valid proof, and the request's `binding` tells the policy how it was tied.
    pub fn decide_presented(
        &self,
        verifier: &TokenVerifier,
        presented: &Presentation<'_>,
        resource: Option<String>,
        action: Option<String>,
        now: i64,
        context: Map<String, Value>,
    ) -> GatewayDecision {
        let started = SystemTime::now();
        let clock = Instant::now();
        match verifier.request_presented(presented, resource.clone(), action.clone(), now) {
            Ok(request) => self.decide(&request.with_context(context)),
            Err(error) => self.refused(error, resource, action, now, started, clock),
        }
    }

    /// Decides a call whose bearer token was already refused (`error`, from
    /// [`TokenVerifier::request`], or a transport that found no usable token): a logged deny
    /// naming the refusal class, exactly as [`Gateway::decide_token`] answers it, without
    /// verifying the token a second time.
    pub fn decide_refused_token(
        &self,
        error: TokenError,
        resource: Option<String>,
        action: Option<String>,
        now: i64,
    ) -> GatewayDecision {
        self.refused(error, resource, action, now, SystemTime::now(), Instant::now())
    }

    /// The one path of a refused token: a deny with no claim recorded.
    fn refused(
        &self,
        error: TokenError,
        resource: Option<String>,
        action: Option<String>,
        now: i64,
        started: SystemTime,
        clock: Instant,
    ) -> GatewayDecision {
        let request = Request { resource, action, now: Some(now), ..Request::default() };
        let reason = format!("token refused: {}", error.code());
        let decision = Decision::deny_with_reason(reason, self.current.load().version.clone());
        GatewayDecision { refused_token: Some(error), ..self.logged(&request, decision, started, clock.elapsed()) }
    }

    /// Revokes one instance, client or token, effective from the next decision.
    pub fn revoke(&self, revocation: Revocation) -> Result<(), GatewayError> {
        self.update(|current| {
            Snapshot::new(&current.policy, Arc::clone(&current.data), current.revocations.with(revocation))
        })
    }

    /// Adds every revocation of `set` (e.g. read from a revocation file).
    pub fn revoke_all(&self, set: &RevocationSet) -> Result<(), GatewayError> {
        self.update(|current| Snapshot::new(&current.policy, Arc::clone(&current.data), current.revocations.union(set)))
    }

    /// Replaces the revocations in force with `set` plus those the data lists: unlike
    /// [`Gateway::revoke_all`], an id missing from `set` (lifted, or pruned once lapsed) is
    /// refused no more. For a revocation file re-read after `warrant revoke`.
    pub fn replace_revocations(&self, set: &RevocationSet) -> Result<(), GatewayError> {
        self.update(|current| {
            let listed = RevocationSet::from_data(&current.data)?;
            Snapshot::new(&current.policy, Arc::clone(&current.data), set.union(&listed))
        })
    }

    /// Swaps in a new policy and data document together. Revocations stay in force, plus any
    /// the new data lists. On error nothing changes.
    pub fn reload(&self, policy: &Policy, data: Value) -> Result<(), GatewayError> {
        let listed = RevocationSet::from_data(&data)?;
        self.update(|current| Snapshot::new(policy, Arc::new(data), current.revocations.union(&listed)))
    }

    /// The revocations in force.
    pub fn revocations(&self) -> RevocationSet {
        self.current.load().revocations.clone()
    }

    /// The version of the policy in force.
    pub fn policy_version(&self) -> PolicyVersion {
        self.current.load().version.clone()
    }

    /// The audit log, for `flush()`, `stats()` and `health()`.
    pub fn audit_log(&self) -> Option<&AuditLog> {
        self.audit.as_ref()
    }

    /// Builds the next snapshot from the current one and publishes it, one update at a time.
    fn update(&self, next: impl FnOnce(&Snapshot) -> Result<Snapshot, GatewayError>) -> Result<(), GatewayError> {
        let _one_at_a_time = self.updates.lock().unwrap_or_else(PoisonError::into_inner);
        let snapshot = next(&self.current.load())?;
        self.current.store(Arc::new(snapshot));
        Ok(())
    }

    fn logged(
        &self,
        request: &Request,
        decision: Decision,
        started: SystemTime,
        latency: std::time::Duration,
    ) -> GatewayDecision {
        let decision_id = self.ids.next();
        let Some(log) = &self.audit else { return GatewayDecision { decision_id, decision, refused_token: None } };
        let required = self.audit_mode == AuditMode::Required;
        let unavailable = |problem: String, decision: Decision| {
            Decision::deny_with_reason(format!("{AUDIT_UNAVAILABLE}: {problem}"), decision.policy)
        };
        let problem = if required { log.unavailable() } else { None };
        let decision = match problem {
            Some(problem) => unavailable(problem, decision),
            None => decision,
        };
        let queued = log.record(AuditRecord::new(decision_id.clone(), request, &decision, started, latency));
        let decision = match queued {
            // An allow nobody could audit: answered as a deny, counted (and noted) as dropped.
            Err(error) if required && decision.allowed => unavailable(error.to_string(), decision),
            _ => decision,
        };
        GatewayDecision { decision_id, decision, refused_token: None }
    }
}

/// Decision ids unique across gateways and restarts: the time the gateway started, the
/// process id, and a process-wide counter.
struct DecisionIds {
    prefix: String,
}

static NEXT_DECISION: AtomicU64 = AtomicU64::new(0);

impl DecisionIds {
    fn new() -> DecisionIds {
        let started_ms = crate::audit::unix_ms_now();
        DecisionIds { prefix: format!("{started_ms:x}-{:x}", std::process::id()) }
    }

    fn next(&self) -> String {
        format!("{}-{:x}", self.prefix, NEXT_DECISION.fetch_add(1, Ordering::Relaxed))
    }
}
