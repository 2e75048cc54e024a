//! The audit log and the gateway's revocations, one behaviour at a time: drops are counted and
//! logged, files rotate, tokens never reach the log, revocations are scoped and visible to
//! policies as data. (Filters and reports over a log are tested with the CLI: cli/src/audit/query.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::mpsc;

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};
use warrant_engine::audit::{
    read_events, AuditError, AuditEvent, AuditLog, AuditRecord, CallbackSink, FileSink, MemorySink, Rotation, Verdict,
};
use warrant_engine::revocation::{Revocation, RevocationSet};
use warrant_engine::token::{Algorithm, DpopMode, IssuerConfig, KeySource, TokenVerifier, VerifyOptions};
use warrant_engine::{ClaimMapping, Engine, Gateway, GatewayError, Policy, Request};

const TICKETS: &str = r#"package acme.tickets

allow work_on_tickets if {
    data.agents[act.client_id].owner == sub
    action in {"ticket.read", "ticket.update"}
}
"#;

fn compile(source: &str) -> Policy {
    Engine::new().unwrap().compile_policy(source, "test.warrant").unwrap()
}

fn registry() -> Value {
    json!({"agents": {"helpdesk-alice": {"owner": "user:alice"}, "helpdesk-bob": {"owner": "user:bob"}}})
}

fn call(user: &str, client: &str, instance: &str, jti: &str) -> Request {
    let claims = json!({"sub": user, "jti": jti, "iss": "https://idp",
        "act": {"sub": "spiffe://acme.com/agents/helpdesk", "client_id": client, "instance_id": instance}});
    Request::from_json(
        json!({"claims": claims, "resource": "https://t/1", "action": "ticket.read"}),
        &ClaimMapping::default(),
    )
    .unwrap()
}

fn decisions(sink: &MemorySink) -> Vec<AuditRecord> {
    sink.events()
        .into_iter()
        .filter_map(|event| match event {
            AuditEvent::Decision(record) => Some(record),
            AuditEvent::RecordsDropped { .. } => None,
        })
        .collect()
}

fn gateway_with_memory_log(policy: &Policy, data: Value) -> (Gateway, MemorySink) {
    let sink = MemorySink::new();
    let log = AuditLog::start(sink.clone(), 1024).unwrap();
    (Gateway::new(policy, data).unwrap().with_audit(log), sink)
}

#[test]
fn a_full_queue_drops_records_counts_them_and_says_so_in_the_log() {
    let (entered, writer_is_busy) = mpsc::channel();
    let (open_gate, gate) = mpsc::channel::<()>();
    let sink = MemorySink::new();
    let mut forward = sink.clone();
    let mut first = true;
    let callback = CallbackSink(move |event: &AuditEvent| {
        if std::mem::take(&mut first) {
            let _ = entered.send(());
            // Bounded, so a failing assertion (which drops the log, joining the writer) cannot hang.
            let _ = gate.recv_timeout(std::time::Duration::from_secs(10));
        }
        warrant_engine::audit::AuditSink::write(&mut forward, event)
    });
    let log = AuditLog::start(callback, 1).unwrap();
    let policy = compile(TICKETS);
    let decision = policy.decide_or_deny(&call("user:alice", "helpdesk-alice", "run-1", "t"));
    let record = |n: usize| {
        AuditRecord::new(
            format!("d{n}"),
            &call("user:alice", "helpdesk-alice", "run-1", "t"),
            &decision,
            std::time::SystemTime::now(),
            std::time::Duration::ZERO,
        )
    };

    log.record(record(1)).unwrap();
    writer_is_busy.recv().unwrap(); // the writer holds d1; the queue (one slot) is empty
    log.record(record(2)).unwrap(); // d2 fills the queue, d3..d5 find it full
    for n in 3..=5 {
        assert!(matches!(log.record(record(n)), Err(AuditError::QueueFull { capacity: 1 })));
    }
    assert_eq!(log.stats().dropped, 3);
    assert!(!log.health().healthy, "a drop not yet noted in the log is unhealthy");
    open_gate.send(()).unwrap();
    let flushed = log.flush();
    assert!(matches!(flushed, Err(AuditError::RecordsLost { failed: 0, dropped: 3, .. })), "{flushed:?}");
    assert!(log.health().healthy, "the drop is noted in the log");

    let events = sink.events();
    let ids: Vec<String> = events
        .iter()
        .map(|event| match event {
            AuditEvent::Decision(record) => record.decision_id.clone(),
            AuditEvent::RecordsDropped { count, .. } => format!("dropped {count}"),
        })
        .collect();
    assert_eq!(ids, ["d1", "dropped 3", "d2"]);
    assert_eq!(log.stats().written, 2);
}

#[test]
fn rotation_keeps_the_configured_number_of_files_and_never_splits_a_line() {
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("audit_rotation_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("audit.log");
    let log = AuditLog::start(FileSink::open(&path, Rotation { max_bytes: 2000, keep: 2 }).unwrap(), 1024).unwrap();
    let gateway = Gateway::new(&compile(TICKETS), registry()).unwrap().with_audit(log);
    for n in 0..60 {
        gateway.decide(&call("user:alice", "helpdesk-alice", &format!("run-{n}"), "t"));
    }
    gateway.audit_log().unwrap().flush().unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(&directory).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["audit.log", "audit.log.1", "audit.log.2"]);
    for name in &names {
        let file = std::fs::File::open(directory.join(name)).unwrap();
        assert!(std::fs::metadata(directory.join(name)).unwrap().len() <= 2000);
        assert!(read_events(BufReader::new(file)).all(|event| event.is_ok()));
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn revoking_an_instance_spares_the_users_other_instances_and_other_users() {
    let (gateway, sink) = gateway_with_memory_log(&compile(TICKETS), registry());
    assert!(gateway.decide(&call("user:alice", "helpdesk-alice", "run-2", "t1")).decision.allowed);
    gateway.revoke(Revocation::Instance("run-2".into())).unwrap();
    let refused = gateway.decide(&call("user:alice", "helpdesk-alice", "run-2", "t2"));
    assert!(!refused.decision.allowed);
    assert_eq!(refused.decision.deny_reasons, ["revoked agent instance `run-2`"]);
    assert!(gateway.decide(&call("user:alice", "helpdesk-alice", "run-1", "t3")).decision.allowed);
    assert!(gateway.decide(&call("user:bob", "helpdesk-bob", "run-7", "t4")).decision.allowed);

    gateway.revoke(Revocation::Jti("t5".into())).unwrap();
    gateway.revoke(Revocation::ClientId("helpdesk-bob".into())).unwrap();
    assert!(!gateway.decide(&call("user:alice", "helpdesk-alice", "run-1", "t5")).decision.allowed);
    assert!(!gateway.decide(&call("user:bob", "helpdesk-bob", "run-8", "t6")).decision.allowed);
    assert!(gateway.decide(&call("user:alice", "helpdesk-alice", "run-1", "t7")).decision.allowed);

    gateway.audit_log().unwrap().flush().unwrap();
    let results: Vec<Verdict> = decisions(&sink).iter().map(|r| r.result).collect();
    use Verdict::{Allow, Deny};
    assert_eq!(results, [Allow, Deny, Allow, Allow, Deny, Deny, Allow]);
}

#[test]
fn policies_see_revocations_as_data() {
    let policy = compile(
        "package acme.watch\n\nallow sees_revocation if {\n    \"run-9\" in data.revoked_instances\n    \"c-9\" in data.revoked_client_ids\n    \"j-9\" in data.revoked_jtis\n}\n",
    );
    let (gateway, _) = gateway_with_memory_log(&policy, json!({"revoked_client_ids": ["c-9"]}));
    let probe = call("user:alice", "helpdesk-alice", "run-1", "t");
    assert!(!gateway.decide(&probe).decision.allowed);
    let file = RevocationSet::from_json_str(r#"{"instances": ["run-9"], "jtis": ["j-9"]}"#).unwrap();
    gateway.revoke_all(&file).unwrap();
    assert!(gateway.decide(&probe).decision.allowed);
    assert!(gateway.revocations().client_ids.contains("c-9"), "revocations listed in the data are enforced");
}

#[test]
fn a_failed_reload_leaves_policy_data_and_revocations_in_force() {
    let v1 = compile(TICKETS);
    let (gateway, _) = gateway_with_memory_log(&v1, registry());
    gateway.revoke(Revocation::Instance("run-2".into())).unwrap();
    let other = compile(&TICKETS.replace("ticket.update", "ticket.close"));
    let bad = gateway.reload(&other, json!({"revoked_instances": 7}));
    assert!(matches!(bad, Err(GatewayError::Revocation(_))));
    assert_eq!(gateway.policy_version().hash, v1.hash());
    gateway.reload(&other, registry()).unwrap();
    assert_eq!(gateway.policy_version().hash, other.hash());
    assert!(gateway.revocations().instances.contains("run-2"), "a reload keeps revocations");
    assert!(!gateway.decide(&call("user:alice", "helpdesk-alice", "run-2", "t")).decision.allowed);
}

#[test]
fn tokens_are_verified_and_never_logged() {
    let secret = b"0123456789abcdef0123456789abcdef".to_vec();
    let issuer = IssuerConfig {
        issuer: "https://idp".into(),
        audiences: vec!["https://t".into()],
        algorithms: vec![Algorithm::HS256],
        keys: vec![KeySource::HmacSecret { kid: None, secret: secret.clone() }],
        dpop: DpopMode::default(),
    };
    let verifier = TokenVerifier::new(vec![issuer], VerifyOptions::default()).unwrap();
    let now = 1_800_000_000;
    let claims = json!({"iss": "https://idp", "aud": "https://t", "iat": now, "exp": now + 60, "sub": "user:alice",
        "jti": "j-1", "act": {"sub": "spiffe://a", "client_id": "helpdesk-alice", "instance_id": "run-1"}});
    let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(&secret)).unwrap();
    let (gateway, sink) = gateway_with_memory_log(&compile(TICKETS), registry());

    let granted = gateway.decide_token(&verifier, &token, Some("https://t/1".into()), Some("ticket.read".into()), now);
    assert!(granted.decision.allowed);
    let tampered = format!("{token}x");
    let refused =
        gateway.decide_token(&verifier, &tampered, Some("https://t/1".into()), Some("ticket.read".into()), now);
    assert!(!refused.decision.allowed);
    assert!(refused.decision.deny_reasons[0].starts_with("token refused: "));

    gateway.audit_log().unwrap().flush().unwrap();
    let records = decisions(&sink);
    assert_eq!(records[0].jti.as_deref(), Some("j-1"));
    assert_eq!(records[0].chain[0].instance.as_deref(), Some("run-1"));
    assert_eq!((records[1].sub.as_ref(), records[1].resource.as_deref()), (None, Some("https://t/1")));
    let signature = token.rsplit('.').next().unwrap();
    for event in sink.events() {
        let line = String::from_utf8(event.to_json_line()).unwrap();
        assert!(!line.contains(signature) && !line.contains(&token[..20]), "{line}");
    }
}

/// A gateway that knows the call's arguments passes them with the verified claims; the policy
/// reads them as `context.*`, and a context that does not satisfy the policy is refused.
#[test]
fn verified_tokens_are_decided_with_the_call_context() {
    let secret = b"0123456789abcdef0123456789abcdef".to_vec();
    let issuer = IssuerConfig {
        issuer: "https://idp".into(),
        audiences: vec!["https://t".into()],
        algorithms: vec![Algorithm::HS256],
        keys: vec![KeySource::HmacSecret { kid: None, secret: secret.clone() }],
        dpop: DpopMode::default(),
    };
    let verifier = TokenVerifier::new(vec![issuer], VerifyOptions::default()).unwrap();
    let now = 1_800_000_000;
    let claims = json!({"iss": "https://idp", "aud": "https://t", "iat": now, "exp": now + 60, "sub": "42"});
    let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(&secret)).unwrap();
    let policy = compile(
        "package p\nallow own if { context.arguments.customer_id == sub }\n\
         deny other \"another customer\" if { context.arguments.customer_id != sub }",
    );
    let gateway = Gateway::new(&policy, json!({})).unwrap();
    let decide = |context: Value| {
        let Value::Object(context) = context else { unreachable!() };
        gateway.decide_token_with_context(&verifier, &token, None, None, now, context).decision
    };
    assert!(decide(json!({"arguments": {"customer_id": "42"}})).allowed);
    let other = decide(json!({"arguments": {"customer_id": "77"}}));
    assert_eq!((other.allowed, other.deny_reasons.as_slice()), (false, ["another customer".to_string()].as_slice()));
    assert!(!decide(json!({})).allowed, "no context: the deny is undecided, so it fires");
    assert!(!gateway.decide_token(&verifier, &token, None, None, now).decision.allowed);
}
