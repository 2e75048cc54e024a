//! Issue 7's acceptance test: many threads decide while one revokes an agent instance and
//! another reloads the policy; the audit log read back holds every decision exactly once,
//! fully attributed, and every decision that started after the revocation for that instance
//! is a deny, while the same user's other instances keep working.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use serde_json::json;
use warrant_engine::audit::{read_events, AuditEvent, AuditLog, AuditRecord, FileSink, Rotation, Verdict};
use warrant_engine::revocation::Revocation;
use warrant_engine::{ClaimMapping, Engine, Gateway, Policy, Request};

const POLICY_V1: &str = r#"package acme.tickets

allow work_on_tickets if {
    data.agents[act.client_id].owner == sub
    action in {"ticket.read", "ticket.update"}
}
"#;

/// Same grants, new version, and a registry under a new key: a decision that saw the new
/// policy with the old data (or the reverse) would find no registry entry and deny.
const POLICY_V2: &str = r#"package acme.tickets

allow work_on_tickets if {
    data.registry[act.client_id].owner == sub
    action in {"ticket.read", "ticket.update", "ticket.close"}
}
"#;

const WORKERS: usize = 4;
const INSTANCES: [&str; 4] = ["run-0", "run-1", "run-2", "run-3"];
const REVOKED: &str = "run-2";
/// Decisions to let pass between the phases (before the revocation, between revocation and
/// reload, after the reload), so each phase is exercised under load.
const PHASE_DECISIONS: u64 = 300;

fn compile(source: &str) -> Policy {
    Engine::new().unwrap().compile_policy(source, "tickets.warrant").unwrap()
}

fn request(worker: usize, sequence: usize) -> Request {
    let instance = INSTANCES[sequence % INSTANCES.len()];
    let claims = json!({
        "iss": "https://idp.acme.com",
        "sub": "user:alice",
        "jti": format!("tok-{worker}-{sequence}"),
        "aud": "https://tickets.acme.com",
        "scope": "tickets:write",
        "client_id": "helpdesk-alice",
        "act": {"sub": "spiffe://acme.com/agents/helpdesk", "client_id": "helpdesk-alice", "instance_id": instance}
    });
    let call = json!({"claims": claims, "resource": format!("https://tickets.acme.com/{sequence}"), "action": "ticket.update"});
    Request::from_json(call, &ClaimMapping::default()).unwrap()
}

/// What a worker knew when it started one decision, and what it got.
struct Made {
    decision_id: String,
    instance: &'static str,
    allowed: bool,
    started_after_revocation: bool,
    started_after_reload: bool,
}

fn log_files(path: &Path) -> Vec<PathBuf> {
    let rotated = (1..).map(|generation| FileSink::rotated_path(path, generation)).take_while(|p| p.exists());
    let mut files: Vec<PathBuf> = rotated.collect();
    files.reverse();
    files.push(path.to_path_buf());
    files
}

fn read_log(path: &Path) -> Vec<AuditEvent> {
    log_files(path)
        .iter()
        .flat_map(|file| read_events(BufReader::new(File::open(file).unwrap())).map(Result::unwrap).collect::<Vec<_>>())
        .collect()
}

#[test]
fn revocation_and_reload_under_load_are_logged_once_each_and_enforced() {
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("hot_reload_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let log_path = directory.join("audit.log");
    // Small files, so the log rotates several times during the test and reading it back
    // proves rotation loses nothing.
    let sink = FileSink::open(&log_path, Rotation { max_bytes: 256 * 1024, keep: 1000 }).unwrap();
    let audit = AuditLog::start(sink, 1 << 20).unwrap();

    let data = json!({"agents": {"helpdesk-alice": {"owner": "user:alice"}}});
    let (v1, v2) = (compile(POLICY_V1), compile(POLICY_V2));
    assert_ne!(v1.hash(), v2.hash());
    let gateway = Arc::new(Gateway::new(&v1, data).unwrap().with_audit(audit));

    let decided = Arc::new(AtomicU64::new(0));
    let revoked = Arc::new(AtomicBool::new(false));
    let reloaded = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let (gateway, decided, revoked, reloaded, stop) =
                (gateway.clone(), decided.clone(), revoked.clone(), reloaded.clone(), stop.clone());
            thread::spawn(move || {
                let mut made = Vec::new();
                for sequence in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let request = request(worker, sequence);
                    let started_after_revocation = revoked.load(Ordering::SeqCst);
                    let started_after_reload = reloaded.load(Ordering::SeqCst);
                    let answer = gateway.decide(&request);
                    made.push(Made {
                        decision_id: answer.decision_id,
                        instance: INSTANCES[sequence % INSTANCES.len()],
                        allowed: answer.decision.allowed,
                        started_after_revocation,
                        started_after_reload,
                    });
                    decided.fetch_add(1, Ordering::SeqCst);
                }
                made
            })
        })
        .collect();

    let wait_for = |count: u64| {
        while decided.load(Ordering::SeqCst) < count {
            thread::yield_now();
        }
    };
    wait_for(PHASE_DECISIONS);
    gateway.revoke(Revocation::Instance(REVOKED.into())).unwrap();
    revoked.store(true, Ordering::SeqCst);
    let after_revocation = decided.load(Ordering::SeqCst);
    wait_for(after_revocation + PHASE_DECISIONS);
    gateway.reload(&v2, json!({"registry": {"helpdesk-alice": {"owner": "user:alice"}}})).unwrap();
    reloaded.store(true, Ordering::SeqCst);
    let after_reload = decided.load(Ordering::SeqCst);
    wait_for(after_reload + PHASE_DECISIONS);
    stop.store(true, Ordering::SeqCst);
    let made: Vec<Made> = workers.into_iter().flat_map(|worker| worker.join().unwrap()).collect();

    let audit = gateway.audit_log().unwrap();
    audit.flush().unwrap();
    let stats = audit.stats();
    assert_eq!((stats.dropped, stats.failed), (0, 0));
    assert_eq!(stats.written, made.len() as u64);

    let events = read_log(&log_path);
    assert!(log_files(&log_path).len() > 2, "the log should have rotated");
    let mut records: HashMap<String, AuditRecord> = HashMap::new();
    for event in events {
        let AuditEvent::Decision(record) = event else { panic!("unexpected event {event:?}") };
        let id = record.decision_id.clone();
        assert!(records.insert(id.clone(), record).is_none(), "decision {id} logged twice");
    }
    assert_eq!(records.len(), made.len(), "every decision is logged, and nothing else");

    let mut seen = HashSet::new();
    for decision in &made {
        assert!(seen.insert(decision.decision_id.as_str()), "decision ids are unique");
        let record = &records[&decision.decision_id];
        // Full attribution: user, every hop, resource, action, token identity, policy version.
        assert_eq!(record.sub.as_deref(), Some("user:alice"));
        assert_eq!(record.chain.len(), 1);
        assert_eq!(record.chain[0].sub.as_deref(), Some("spiffe://acme.com/agents/helpdesk"));
        assert_eq!(record.chain[0].client_id.as_deref(), Some("helpdesk-alice"));
        assert_eq!(record.chain[0].instance.as_deref(), Some(decision.instance));
        assert_eq!(record.iss.as_deref(), Some("https://idp.acme.com"));
        assert!(record.jti.as_deref().is_some_and(|jti| jti.starts_with("tok-")));
        assert_eq!(record.aud.as_deref(), Some(&["https://tickets.acme.com".to_string()][..]));
        assert_eq!(record.action.as_deref(), Some("ticket.update"));
        assert!(record.resource.as_deref().is_some_and(|r| r.starts_with("https://tickets.acme.com/")));
        assert_eq!(record.result == Verdict::Allow, decision.allowed, "the log says what the caller got");
        assert!([v1.hash(), v2.hash()].contains(&record.policy.hash.as_str()));
        if decision.started_after_reload {
            assert_eq!(record.policy.hash, v2.hash(), "a decision after the reload uses the new policy");
        }
        let revoked_instance = decision.instance == REVOKED;
        if decision.started_after_revocation && revoked_instance {
            assert_eq!(record.result, Verdict::Deny);
            assert_eq!(record.deny_reasons, [format!("revoked agent instance `{REVOKED}`")]);
        } else if !revoked_instance {
            // Also proves no decision mixed one version's policy with the other's data.
            assert_eq!(record.result, Verdict::Allow, "other instances of the same user are unaffected");
        }
    }
    let allowed_before = made.iter().filter(|d| d.instance == REVOKED && !d.started_after_revocation && d.allowed);
    assert!(allowed_before.count() > 0, "the instance worked before it was revoked");
    assert!(made.iter().any(|d| d.started_after_reload), "decisions ran after the reload");
    std::fs::remove_dir_all(&directory).unwrap();
}
