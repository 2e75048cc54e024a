//! `warrant audit LOG… [filters] [--report user|agent] [--json]`: review a decision log.
//! Lists the matching decisions (or summarises them per user or per agent) and flags those
//! with no human principal in the chain.
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use warrant::audit::{parse_time_ms, read_events, AuditEvent, AuditRecord, Verdict};

use super::CliError;
use query::{has_human_principal, report, AuditFilter, ReportBy, ReportRow};

mod query;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Log files (JSON lines), oldest first, e.g. `audit.log.2 audit.log.1 audit.log`.
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    /// Only decisions made for this principal (`sub`).
    #[arg(long)]
    user: Option<String>,
    /// Only decisions where this agent (an actor's `client_id` or `sub`, or the token's
    /// `client_id`) is in the chain.
    #[arg(long)]
    agent: Option<String>,
    /// Only decisions where this agent instance is in the chain.
    #[arg(long)]
    instance: Option<String>,
    /// Only this resource; a trailing `*` matches by prefix.
    #[arg(long)]
    resource: Option<String>,
    #[arg(long, value_enum)]
    result: Option<ResultArg>,
    /// From this time on (Unix seconds or RFC 3339 UTC, e.g. 2026-11-27T10:00:00Z).
    #[arg(long, value_parser = parse_time_arg)]
    since: Option<u64>,
    /// Before this time (Unix seconds or RFC 3339 UTC).
    #[arg(long, value_parser = parse_time_arg)]
    until: Option<u64>,
    /// Only decisions with no human principal (no `sub`, or `sub` is an agent of the chain).
    #[arg(long)]
    unattended: bool,
    /// A `sub` prefix that names machines, not people (e.g. `spiffe://`); repeatable.
    #[arg(long = "machine-prefix")]
    machine_prefixes: Vec<String>,
    /// Summarise per user (what was done on their behalf) or per agent (what it did).
    #[arg(long, value_enum)]
    report: Option<ReportArg>,
    /// Print the matching records as JSON lines (or the report as JSON).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ResultArg {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportArg {
    User,
    Agent,
}

fn parse_time_arg(text: &str) -> Result<u64, String> {
    parse_time_ms(text).ok_or_else(|| format!("`{text}` is neither Unix seconds nor an RFC 3339 UTC time"))
}

pub fn run(args: &AuditArgs) -> Result<(), CliError> {
    let filter = AuditFilter {
        user: args.user.clone(),
        agent: args.agent.clone(),
        instance: args.instance.clone(),
        resource: args.resource.clone(),
        result: args.result.map(|result| match result {
            ResultArg::Allow => Verdict::Allow,
            ResultArg::Deny => Verdict::Deny,
        }),
        since_ms: args.since,
        until_ms: args.until,
        unattended_only: args.unattended,
        machine_prefixes: args.machine_prefixes.clone(),
    };
    let mut selected = Vec::new();
    let mut dropped = 0;
    for path in &args.logs {
        let file = File::open(path).map_err(|source| CliError::Read { path: path.clone(), source })?;
        for event in read_events(BufReader::new(file)) {
            match event.map_err(|source| audit_error(path, source))? {
                AuditEvent::Decision(record) if filter.matches(&record) => match args.report {
                    Some(_) => selected.push(record),
                    None => print_record(&record, args),
                },
                AuditEvent::Decision(_) => {}
                AuditEvent::RecordsDropped { count, .. } => dropped += count,
            }
        }
    }
    if let Some(by) = args.report {
        let by = match by {
            ReportArg::User => ReportBy::User,
            ReportArg::Agent => ReportBy::Agent,
        };
        print_report(&report(&selected, by, &args.machine_prefixes), by, args.json);
    }
    if dropped > 0 {
        eprintln!("warning: the log records that {dropped} decision(s) were dropped by the writer and are missing");
    }
    Ok(())
}

fn audit_error(path: &Path, source: warrant::audit::AuditReadError) -> CliError {
    CliError::AuditLog { path: path.to_path_buf(), source }
}

/// One decision per line: time, verdict, who through whom, what, why, id.
fn print_record(record: &AuditRecord, args: &AuditArgs) {
    if args.json {
        print!("{}", String::from_utf8_lossy(&AuditEvent::Decision(record.clone()).to_json_line()));
        return;
    }
    let verdict = match record.result {
        Verdict::Allow => "ALLOW",
        Verdict::Deny => "DENY ",
    };
    let mut who = record.sub.clone().unwrap_or_else(|| "(no sub)".to_string());
    for actor in &record.chain {
        let name = actor.client_id.as_deref().or(actor.sub.as_deref()).unwrap_or("?");
        who.push_str(" > ");
        who.push_str(name);
        if let Some(instance) = &actor.instance {
            who.push_str(&format!("[{instance}]"));
        }
    }
    let action = record.action.as_deref().unwrap_or("-");
    let resource = record.resource.as_deref().unwrap_or("-");
    let mut line = format!("{} {verdict} {who}  {action} {resource}", record.time);
    if !record.deny_reasons.is_empty() {
        line.push_str(&format!("  ({})", record.deny_reasons.join("; ")));
    }
    if !has_human_principal(record, &args.machine_prefixes) {
        line.push_str("  [no human principal]");
    }
    println!("{line}  id={}", record.decision_id);
}

fn print_report(rows: &std::collections::BTreeMap<String, ReportRow>, by: ReportBy, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(rows).unwrap_or_default());
        return;
    }
    let (key, counterparts) = match by {
        ReportBy::User => ("user", "agents"),
        ReportBy::Agent => ("agent", "users"),
    };
    println!("{key}\tdecisions\tallowed\tdenied\tno-human\tinstances\t{counterparts}");
    for (name, row) in rows {
        let counterpart_list: Vec<&str> = row.counterparts.iter().map(String::as_str).collect();
        println!(
            "{name}\t{}\t{}\t{}\t{}\t{}\t{}",
            row.decisions,
            row.allowed,
            row.denied,
            row.unattended,
            row.instances.len(),
            counterpart_list.join(",")
        );
    }
}
