//! `warrant audit`, `warrant revoke` and `warrant check --schema` end to end: a real gateway
//! writes a log, the CLI reads it back.
// Test code: a failed expectation should panic loudly (the workspace lints forbid it elsewhere).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};
use warrant::audit::{AuditLog, FileSink, Rotation};
use warrant::revocation::Revocation;
use warrant::{ClaimMapping, Engine, Gateway, Request};

mod support;
use support::warrant;

fn stdout(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn scratch_dir(name: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn call(user: &str, client: &str, instance: &str) -> Request {
    let act = json!({"sub": "spiffe://acme.com/agents/helpdesk", "client_id": client, "instance_id": instance});
    let claims =
        json!({"sub": user, "iss": "https://idp.acme.com", "iat": 1_700_000_000, "exp": 1_700_000_900, "act": act});
    let request = json!({"claims": claims, "resource": "https://helpdesk.acme.com/tickets/88",
        "action": "ticket.update", "now": 1_700_000_300});
    Request::from_json(request, &ClaimMapping::default()).unwrap()
}

/// Four decisions with the revocation example: alice's run-1 (allow), her run-2 after it is
/// revoked (deny), bob's run-7 (allow), and an agent acting as its own principal (deny).
fn write_log(path: &Path) {
    let source = std::fs::read_to_string(support::root().join("policies/revocation/policy.warrant")).unwrap();
    let policy = Engine::new().unwrap().compile_policy(&source, "policy.warrant").unwrap();
    let data = json!({"agents": {"helpdesk-alice": {"owner": "user:alice"}, "helpdesk-bob": {"owner": "user:bob"}}});
    let log = AuditLog::start(FileSink::open(path, Rotation::default()).unwrap(), 64).unwrap();
    let gateway = Gateway::new(&policy, data).unwrap().with_audit(log);
    gateway.decide(&call("user:alice", "helpdesk-alice", "run-1"));
    gateway.revoke(Revocation::Instance("run-2".into())).unwrap();
    gateway.decide(&call("user:alice", "helpdesk-alice", "run-2"));
    gateway.decide(&call("user:bob", "helpdesk-bob", "run-7"));
    gateway.decide(&call("helpdesk-alice", "helpdesk-alice", "run-3"));
    gateway.audit_log().unwrap().flush().unwrap();
}

#[test]
fn audit_filters_reports_and_flags_decisions_without_a_human() {
    let directory = scratch_dir("cli_audit");
    let log = directory.join("audit.log");
    write_log(&log);
    let log = log.to_str().unwrap();

    let all = stdout(&warrant(&["audit", log]));
    assert_eq!(all.lines().count(), 4, "{all}");
    let flagged: Vec<&str> = all.lines().filter(|l| l.contains("[no human principal]")).collect();
    assert_eq!(flagged.len(), 1);
    assert!(flagged[0].contains("DENY  helpdesk-alice > helpdesk-alice[run-3]"), "{}", flagged[0]);

    let denied = stdout(&warrant(&["audit", log, "--instance", "run-2", "--result", "deny"]));
    assert_eq!(denied.lines().count(), 1);
    assert!(denied.contains("revoked agent instance `run-2`") && denied.contains("user:alice > helpdesk-alice[run-2]"));

    let bob = stdout(&warrant(&["audit", log, "--user", "user:bob", "--json"]));
    let record: Value = serde_json::from_str(bob.trim()).unwrap();
    assert_eq!(record["chain"][0]["instance"], "run-7");
    assert_eq!(record["result"], "allow");

    assert_eq!(stdout(&warrant(&["audit", log, "--until", "2000-01-01T00:00:00Z"])), "");
    assert_eq!(stdout(&warrant(&["audit", log, "--since", "2000-01-01T00:00:00Z"])).lines().count(), 4);

    let by_agent = stdout(&warrant(&["audit", log, "--report", "agent", "--json"]));
    let by_agent: Value = serde_json::from_str(&by_agent).unwrap();
    assert_eq!(by_agent["helpdesk-alice"]["decisions"], 3);
    assert_eq!(by_agent["helpdesk-alice"]["counterparts"], json!(["helpdesk-alice", "user:alice"]));
    assert_eq!(by_agent["helpdesk-alice"]["unattended"], 1);
    let by_user = stdout(&warrant(&["audit", log, "--report", "user"]));
    assert!(by_user.starts_with("user\tdecisions"), "{by_user}");
    assert!(by_user.contains("user:alice\t2\t1\t1\t0\t2\thelpdesk-alice"), "{by_user}");

    let bad = warrant(&["audit", log, "--since", "yesterday"]);
    assert_ne!(bad.status.code(), Some(0));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_corrupt_log_line_is_reported_with_its_line_number() {
    let directory = scratch_dir("cli_audit_corrupt");
    let log = directory.join("audit.log");
    write_log(&log);
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{not json\n");
    std::fs::write(&log, text).unwrap();
    let output = warrant(&["audit", log.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 5: not an audit event"));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn revoke_accumulates_in_a_file_a_gateway_can_apply() {
    let directory = scratch_dir("cli_revoke");
    let file = directory.join("revoked.json");
    let file_arg = file.to_str().unwrap();
    stdout(&warrant(&["revoke", file_arg, "--instance", "run-2"]));
    let summary = stdout(&warrant(&["revoke", file_arg, "--client-id", "helpdesk-bob", "--jti", "t-1"]));
    assert!(summary.contains("1 instance(s), 1 client(s), 1 token(s) revoked"), "{summary}");
    let set = warrant::revocation::RevocationSet::from_json_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(set.instances.contains("run-2") && set.client_ids.contains("helpdesk-bob") && set.jtis.contains("t-1"));
    std::fs::write(&file, "{\"instance\": []}").unwrap();
    assert_eq!(warrant(&["revoke", file_arg, "--jti", "x"]).status.code(), Some(1));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn check_with_a_schema_names_paths_the_data_does_not_declare() {
    let directory = scratch_dir("cli_schema");
    let schema = directory.join("schema.json");
    let entry = json!({"type": "object", "properties": {"owner": {"type": "string"}}});
    let mut declared = json!({"type": "object", "properties": {
        "agents": {"type": "object", "additionalProperties": entry},
        "revoked_instances": {"type": "array", "items": {"type": "string"}}}});
    std::fs::write(&schema, declared.to_string()).unwrap();
    let args = ["check", "--schema", schema.to_str().unwrap(), "policies/revocation/policy.warrant"];
    stdout(&warrant(&args));
    declared["properties"].as_object_mut().unwrap().remove("agents");
    std::fs::write(&schema, declared.to_string()).unwrap();
    let output = warrant(&args);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("`data.agents` is not in the data schema"));
    std::fs::remove_dir_all(&directory).unwrap();
}
