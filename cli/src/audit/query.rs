//! Reviewing an audit log read back with [`warrant::audit::read_events`]: select decisions, and
//! summarise them per user or per agent (an agent's report is about what it did across users, a
//! user's about what was done on their behalf across agents). Operator tooling, hence here and
//! not in the engine.
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use warrant::audit::{AuditRecord, Verdict};

/// Which decisions to keep; every criterion set must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The principal (`sub`).
    pub user: Option<String>,
    /// An agent anywhere in the chain (an actor's `client_id` or `sub`), or the token's
    /// `client_id`.
    pub agent: Option<String>,
    /// An instance anywhere in the chain, or the token's.
    pub instance: Option<String>,
    /// The resource, exactly, or by prefix when the pattern ends in `*`.
    pub resource: Option<String>,
    pub result: Option<Verdict>,
    /// Inclusive lower bound, Unix milliseconds.
    pub since_ms: Option<u64>,
    /// Exclusive upper bound, Unix milliseconds.
    pub until_ms: Option<u64>,
    /// Only decisions with no human principal (see [`has_human_principal`]).
    pub unattended_only: bool,
    /// `sub` prefixes that name machines, not people (e.g. `spiffe://`).
    pub machine_prefixes: Vec<String>,
}

impl AuditFilter {
    pub fn matches(&self, record: &AuditRecord) -> bool {
        let is = |wanted: &Option<String>, actual: Option<&str>| wanted.as_deref().is_none_or(|w| actual == Some(w));
        let agent_matches = self.agent.as_deref().is_none_or(|agent| {
            record.client_id.as_deref() == Some(agent)
                || record.chain.iter().any(|a| a.client_id.as_deref() == Some(agent) || a.sub.as_deref() == Some(agent))
        });
        let instance_matches = self.instance.as_deref().is_none_or(|instance| {
            record.instance.as_deref() == Some(instance)
                || record.chain.iter().any(|a| a.instance.as_deref() == Some(instance))
        });
        let resource_matches = self.resource.as_deref().is_none_or(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => record.resource.as_deref().is_some_and(|r| r.starts_with(prefix)),
            None => record.resource.as_deref() == Some(pattern),
        });
        is(&self.user, record.sub.as_deref())
            && agent_matches
            && instance_matches
            && resource_matches
            && self.result.is_none_or(|result| record.result == result)
            && self.since_ms.is_none_or(|since| record.time_ms >= since)
            && self.until_ms.is_none_or(|until| record.time_ms < until)
            && (!self.unattended_only || !has_human_principal(record, &self.machine_prefixes))
    }
}

/// Whether a person stands behind the decision. Not when there is no `sub`; when `sub` is the
/// token's own client or an actor of the chain (an agent acting for itself); or when `sub`
/// starts with one of `machine_prefixes`.
pub fn has_human_principal(record: &AuditRecord, machine_prefixes: &[String]) -> bool {
    let Some(sub) = record.sub.as_deref() else { return false };
    let names_an_agent = record.client_id.as_deref() == Some(sub)
        || record.chain.iter().any(|a| a.sub.as_deref() == Some(sub) || a.client_id.as_deref() == Some(sub));
    !names_an_agent && !machine_prefixes.iter().any(|prefix| sub.starts_with(prefix.as_str()))
}

/// What a report groups decisions by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportBy {
    /// The principal (`sub`); counterparts are the agents that acted for them.
    User,
    /// The acting agent ([`AuditRecord::agent`]); counterparts are the users it served.
    Agent,
}

/// One row of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    pub decisions: u64,
    pub allowed: u64,
    pub denied: u64,
    /// Decisions with no human principal.
    pub unattended: u64,
    /// Agents (per-user report) or users (per-agent report).
    pub counterparts: BTreeSet<String>,
    /// Instances that made the calls.
    pub instances: BTreeSet<String>,
    pub resources: BTreeSet<String>,
}

/// Name used for a missing user or agent in reports.
pub const UNKNOWN: &str = "(none)";

/// Rows keyed by user or agent, in name order.
pub fn report<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
    by: ReportBy,
    machine_prefixes: &[String],
) -> BTreeMap<String, ReportRow> {
    let mut rows: BTreeMap<String, ReportRow> = BTreeMap::new();
    for record in records {
        let (key, counterpart) = match by {
            ReportBy::User => (record.sub.as_deref(), record.agent()),
            ReportBy::Agent => (record.agent(), record.sub.as_deref()),
        };
        let row = rows.entry(key.unwrap_or(UNKNOWN).to_string()).or_default();
        row.decisions += 1;
        match record.result {
            Verdict::Allow => row.allowed += 1,
            Verdict::Deny => row.denied += 1,
        }
        if !has_human_principal(record, machine_prefixes) {
            row.unattended += 1;
        }
        row.counterparts.insert(counterpart.unwrap_or(UNKNOWN).to_string());
        row.instances.extend(record.acting_instance().map(str::to_string));
        row.resources.extend(record.resource.clone());
    }
    rows
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use warrant::audit::AuditEvent;

    use super::*;

    fn record(sub: Option<&str>, chain: Value, result: Verdict, time_ms: u64, resource: &str) -> AuditRecord {
        let mut value = json!({
            "time": "", "time_ms": time_ms, "decision_id": "d", "policy": {"package": "p", "hash": "h"},
            "sub": sub, "chain": chain, "client_id": null, "instance": null, "aud": null, "resource": resource,
            "action": "read", "scope": null, "jti": null, "iss": null, "result": result, "fired": [],
            "deny_reasons": [], "latency_us": 1
        });
        value["event"] = json!("decision");
        match serde_json::from_value(value).unwrap() {
            AuditEvent::Decision(record) => record,
            other => panic!("{other:?}"),
        }
    }

    fn sample() -> Vec<AuditRecord> {
        vec![
            record(
                Some("alice"),
                json!([{"sub": "agent-a", "client_id": "ca", "instance": "i1"}]),
                Verdict::Allow,
                1000,
                "https://x/1",
            ),
            record(Some("alice"), json!([{"client_id": "cb", "instance": "i2"}]), Verdict::Deny, 2000, "https://y/1"),
            record(Some("bob"), json!([{"client_id": "ca", "instance": "i3"}]), Verdict::Allow, 3000, "https://x/2"),
            record(Some("ca"), json!([{"client_id": "ca", "instance": "i4"}]), Verdict::Allow, 4000, "https://x/3"),
            record(None, json!([]), Verdict::Deny, 5000, "https://x/4"),
        ]
    }

    fn selected(filter: &AuditFilter) -> Vec<u64> {
        sample().iter().filter(|r| filter.matches(r)).map(|r| r.time_ms).collect()
    }

    #[test]
    fn filters_select_by_user_agent_instance_resource_result_and_time() {
        assert_eq!(selected(&AuditFilter { user: Some("alice".into()), ..Default::default() }), [1000, 2000]);
        assert_eq!(selected(&AuditFilter { agent: Some("ca".into()), ..Default::default() }), [1000, 3000, 4000]);
        assert_eq!(selected(&AuditFilter { agent: Some("agent-a".into()), ..Default::default() }), [1000]);
        assert_eq!(selected(&AuditFilter { instance: Some("i3".into()), ..Default::default() }), [3000]);
        assert_eq!(
            selected(&AuditFilter { resource: Some("https://x/*".into()), ..Default::default() }),
            [1000, 3000, 4000, 5000]
        );
        assert_eq!(selected(&AuditFilter { result: Some(Verdict::Deny), ..Default::default() }), [2000, 5000]);
        assert_eq!(
            selected(&AuditFilter { since_ms: Some(2000), until_ms: Some(4000), ..Default::default() }),
            [2000, 3000]
        );
        assert_eq!(selected(&AuditFilter { unattended_only: true, ..Default::default() }), [4000, 5000]);
        let machines = AuditFilter { unattended_only: true, machine_prefixes: vec!["bo".into()], ..Default::default() };
        assert_eq!(selected(&machines), [3000, 4000, 5000]);
    }

    #[test]
    fn agent_and_user_reports_group_differently() {
        let records = sample();
        let by_agent = report(&records, ReportBy::Agent, &[]);
        let ca = &by_agent["ca"];
        assert_eq!((ca.decisions, ca.allowed, ca.denied, ca.unattended), (3, 3, 0, 1));
        assert_eq!(ca.counterparts.iter().collect::<Vec<_>>(), ["alice", "bob", "ca"]);
        assert_eq!(ca.instances.iter().collect::<Vec<_>>(), ["i1", "i3", "i4"]);
        let by_user = report(&records, ReportBy::User, &[]);
        let alice = &by_user["alice"];
        assert_eq!((alice.decisions, alice.allowed, alice.denied), (2, 1, 1));
        assert_eq!(alice.counterparts.iter().collect::<Vec<_>>(), ["ca", "cb"]);
        assert_eq!(by_user["(none)"].unattended, 1);
        assert!(has_human_principal(&records[0], &[]) && !has_human_principal(&records[3], &[]));
    }
}
