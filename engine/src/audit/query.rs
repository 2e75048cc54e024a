//! Reading an audit log back: parse its lines, select decisions, and summarise them per user
//! or per agent (an agent's report is about what it did across users, a user's about what was
//! done on their behalf across agents).
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

use serde::Serialize;

use super::record::{AuditEvent, AuditRecord, Verdict};

/// A line of the log that is not an audit event.
#[derive(Debug, thiserror::Error)]
pub enum AuditReadError {
    #[error("line {line}: cannot read: {source}")]
    Io { line: usize, source: std::io::Error },
    #[error("line {line}: not an audit event: {source}")]
    Json { line: usize, source: serde_json::Error },
}

/// The events of a JSON-lines log, in order; blank lines are skipped.
pub fn read_events(reader: impl BufRead) -> impl Iterator<Item = Result<AuditEvent, AuditReadError>> {
    reader.lines().enumerate().filter_map(|(index, line)| {
        let line_number = index + 1;
        match line {
            Err(source) => Some(Err(AuditReadError::Io { line: line_number, source })),
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => {
                Some(serde_json::from_str(&text).map_err(|source| AuditReadError::Json { line: line_number, source }))
            }
        }
    })
}

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
