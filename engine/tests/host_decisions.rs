//! End to end: policy text -> Wasm -> wasmtime -> Decision, on real compiled policies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use serde_json::{json, Value};

use warrant_engine::revocation::RevocationSet;
use warrant_engine::{ClaimMapping, Decision, Effect, Engine, EngineError, Policy, Request, NO_ALLOW_RULE_MATCHED};

const BILLING: &str = r#"package test.billing

rule trusted_chain if {
    every hop in chain { hop.sub matches "spiffe://acme.com/agents/*" }
}

allow invoice_read if {
    trusted_chain
    chain.depth >= 1
    action in {"invoice.read", "invoice.list"}
    "billing:read" in scope
    not act.instance in data.revoked_instances
}

deny too_deep "delegation chain deeper than 2" if { chain.depth > 2 }
"#;

fn policy() -> Policy {
    Engine::new().unwrap().compile_policy(BILLING, "billing.warrant").unwrap()
}

/// A request whose delegation chain is `agents` (first delegate first), all run by `instance`.
fn request(action: &str, scope: &str, agents: &[&str], instance: &str) -> Request {
    let mut act = Value::Null;
    for agent in agents {
        let mut level = json!({"sub": agent, "instance_id": instance});
        if !act.is_null() {
            level["act"] = act;
        }
        act = level;
    }
    let mut claims = json!({"sub": "user:ann", "scope": scope});
    if !act.is_null() {
        claims["act"] = act;
    }
    Request::from_json(json!({"claims": claims, "action": action, "now": 1_700_000_000}), &ClaimMapping::default())
        .unwrap()
}

fn reading_agent() -> Request {
    request("invoice.read", "billing:read", &["spiffe://acme.com/agents/billing"], "task-1")
}

fn fired_names(decision: &Decision) -> Vec<(&str, Effect)> {
    decision.fired.iter().map(|rule| (rule.name.as_str(), rule.kind)).collect()
}

#[test]
fn policy_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<Engine>();
}

#[test]
fn matching_allow_rule_allows_and_names_the_policy_version() {
    let policy = policy();
    let decision = policy.decide(&reading_agent()).unwrap();
    assert!(decision.allowed, "{}", decision.explain());
    assert_eq!(fired_names(&decision), [("invoice_read", Effect::Allow)]);
    assert!(decision.deny_reasons.is_empty());
    assert_eq!(decision.policy.package, "test.billing");
    assert_eq!(decision.policy.hash, policy.hash());
    assert_eq!(policy.hash().len(), 64);
    assert_eq!(policy.package(), "test.billing");
}

#[test]
fn nothing_matching_is_a_default_deny() {
    let wrong_action = request("invoice.delete", "billing:read", &["spiffe://acme.com/agents/billing"], "task-1");
    let untrusted_agent = request("invoice.read", "billing:read", &["spiffe://evil.com/agents/x"], "task-1");
    let missing_scope = request("invoice.read", "billing:write", &["spiffe://acme.com/agents/billing"], "task-1");
    let no_agent = request("invoice.read", "billing:read", &[], "task-1");
    for request in [wrong_action, untrusted_agent, missing_scope, no_agent] {
        let decision = policy().decide(&request).unwrap();
        assert!(!decision.allowed, "{request:?}");
        assert!(decision.fired.is_empty());
        assert_eq!(decision.deny_reasons, [NO_ALLOW_RULE_MATCHED]);
    }
}

#[test]
fn deny_rule_overrides_a_matching_allow_and_reports_its_reason() {
    let agents = ["spiffe://acme.com/agents/a", "spiffe://acme.com/agents/b", "spiffe://acme.com/agents/c"];
    let decision = policy().decide(&request("invoice.list", "billing:read", &agents, "task-1")).unwrap();
    assert!(!decision.allowed);
    assert_eq!(fired_names(&decision), [("invoice_read", Effect::Allow), ("too_deep", Effect::Deny)]);
    assert_eq!(decision.deny_reasons, ["delegation chain deeper than 2"]);
    let text = decision.explain();
    assert!(text.starts_with("DENY") && text.contains("delegation chain deeper than 2"), "{text}");
}

#[test]
fn data_updates_apply_to_every_clone_without_recompiling() {
    let policy = policy();
    let clone = policy.clone();
    // Warm the pool so an instance holds the first data version in its memory.
    assert!(policy.decide(&reading_agent()).unwrap().allowed);
    policy.replace_shared_data(&json!({"revoked_instances": ["task-1"]})).unwrap();
    assert!(!clone.decide(&reading_agent()).unwrap().allowed);
    let other_instance = request("invoice.read", "billing:read", &["spiffe://acme.com/agents/billing"], "task-2");
    assert!(clone.decide(&other_instance).unwrap().allowed);
    let policy = policy.with_data(&json!({"revoked_instances": []})).unwrap();
    assert!(policy.decide(&reading_agent()).unwrap().allowed);
}

/// `fork_with_own_data` makes an independent policy: the original and its clones keep their
/// data, and a later shared replacement on the original does not reach the fork.
#[test]
fn a_fork_has_its_own_data_and_the_original_keeps_its_own() {
    let policy = policy();
    let clone = policy.clone();
    assert!(policy.decide(&reading_agent()).unwrap().allowed);
    let fork = policy.fork_with_own_data(&json!({"revoked_instances": ["task-1"]})).unwrap();
    assert!(!fork.decide(&reading_agent()).unwrap().allowed);
    assert!(policy.decide(&reading_agent()).unwrap().allowed);
    assert!(clone.decide(&reading_agent()).unwrap().allowed);
    policy.replace_shared_data(&json!({"revoked_instances": []})).unwrap();
    assert!(!fork.decide(&reading_agent()).unwrap().allowed);
}

#[test]
fn built_module_decides_like_the_compiled_policy() {
    let compiled = policy();
    let loaded = Engine::new().unwrap().load_wasm(compiled.wasm_bytes()).unwrap();
    assert_eq!(loaded.hash(), compiled.hash());
    assert_eq!(loaded.manifest(), compiled.manifest());
    for request in [reading_agent(), request("invoice.delete", "", &[], "t")] {
        assert_eq!(loaded.decide(&request).unwrap(), compiled.decide(&request).unwrap());
    }
}

#[test]
fn oversized_request_fails_closed() {
    let huge_agent = format!("spiffe://acme.com/agents/{}", "a".repeat(2 * 1024 * 1024));
    let request = request("invoice.read", "billing:read", &[&huge_agent], "task-1");
    let policy = policy();
    assert!(policy.decide(&request).is_err());
    let decision = policy.decide_or_deny(&request);
    assert!(!decision.allowed);
    assert!(decision.deny_reasons[0].starts_with("engine error:"));
    // The pool is still usable afterwards.
    assert!(policy.decide(&reading_agent()).unwrap().allowed);
}

#[test]
fn concurrent_decisions_on_one_policy_agree_with_sequential_ones() {
    let policy = policy();
    let cases = [
        (reading_agent(), true),
        (request("invoice.delete", "billing:read", &["spiffe://acme.com/agents/billing"], "task-1"), false),
        (
            request("invoice.list", "billing:read", &["spiffe://acme.com/agents/x", "spiffe://acme.com/agents/y"], "t"),
            true,
        ),
    ];
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (policy, cases) = (&policy, &cases);
            scope.spawn(move || {
                for i in 0..300 {
                    let (request, expected) = &cases[(i + thread) % cases.len()];
                    assert_eq!(policy.decide(request).unwrap().allowed, *expected);
                }
            });
        }
    });
}

#[test]
fn policy_errors_are_reported_with_diagnostics() {
    let engine = Engine::new().unwrap();
    let error = engine.compile_policy("package p\nallow a if { subject == \"u\" }\n", "bad.warrant").err().unwrap();
    let EngineError::Compile(diagnostics) = error else { panic!("expected a compile error, got {error}") };
    let rendered = diagnostics.render();
    assert!(rendered.contains("bad.warrant"), "{rendered}");
    assert!(rendered.contains("subject"), "{rendered}");
}

#[test]
fn decisions_agree_with_the_reference_evaluator() {
    let program = warrant_lang::compile(BILLING, "billing.warrant").unwrap();
    let policy = policy();
    let trusted = "spiffe://acme.com/agents/a";
    let requests = [
        reading_agent(),
        request("invoice.list", "billing:read other", &[trusted, trusted], "task-2"),
        request("invoice.list", "billing:read", &[trusted, trusted, trusted], "task-1"),
        request("invoice.read", "billing:read", &[trusted, "spiffe://evil.com/x"], "task-1"),
        request("invoice.pay", "billing:read", &[trusted], "task-1"),
        request("invoice.read", "", &[], ""),
    ];
    for data in [json!({}), json!({"revoked_instances": ["task-1"]}), json!({"revoked_instances": {"task-2": true}})] {
        policy.replace_shared_data(&data).unwrap();
        for request in &requests {
            let decision = policy.decide(request).unwrap();
            // The host refuses revoked requests before the policy runs.
            if let Some(reason) = RevocationSet::from_data(&data).unwrap().refusal(request) {
                assert!(!decision.allowed && decision.fired.is_empty(), "{request:?} with {data}");
                assert_eq!(decision.deny_reasons, [reason]);
                continue;
            }
            let outcome = warrant_lang::eval::evaluate(&program, request, &data);
            let expected: Vec<&str> =
                outcome.fired.iter().map(|&id| program.rules[id as usize].name.as_str()).collect();
            let actual: Vec<&str> = decision.fired.iter().map(|rule| rule.name.as_str()).collect();
            assert_eq!(actual, expected, "{request:?} with {data}");
            assert_eq!(decision.allowed, program.is_allowed(&outcome));
        }
    }
}

#[test]
fn a_package_of_several_files_decides_as_one_policy() {
    use warrant_engine::SourceFile;
    let files = [
        SourceFile {
            name: "deny.warrant".into(),
            text: "package split\ndeny late \"too late\" if { now > 100 }\n".into(),
        },
        SourceFile {
            name: "allow.warrant".into(),
            text: "package split\nallow read if { action == \"read\" }\n".into(),
        },
    ];
    let engine = Engine::new().unwrap();
    let decide = |policy: &Policy, now: i64| {
        let request = json!({"claims": {"sub": "user:ann"}, "action": "read", "now": now});
        policy.decide(&Request::from_json(request, &ClaimMapping::default()).unwrap()).unwrap()
    };
    let policy = engine.compile_package("split", &files).unwrap();
    assert!(decide(&policy, 5).allowed);
    let late = decide(&policy, 500);
    assert!(!late.allowed);
    assert_eq!(late.deny_reasons, ["too late"]);
    assert_eq!(late.policy.hash, warrant_lang::package::package_hash(&files));
    let built = engine.load_wasm(&warrant_engine::compile_package_to_wasm("split", &files).unwrap()).unwrap();
    assert_eq!(decide(&built, 500), late);
}

/// Deny reasons with placeholders are rendered by the engine from the request: a hostile
/// value is escaped and cut, a missing one is named, and the decision carries the result.
#[test]
fn deny_reasons_render_request_values() {
    let source = "package p\ndeny other \"record {resource} for {sub} via {act.sub}\" if { resource != \"ok\" }\n";
    let policy = Engine::new().unwrap().compile_policy(source, "reasons.warrant").unwrap();
    let huge = format!("a\u{1b}[2J{}", "é".repeat(300));
    let request = json!({"claims": {"sub": "u\nforged"}, "resource": huge}).to_string();
    let request = Request::from_json_str(&request, &ClaimMapping::default()).unwrap();
    let decision = policy.decide(&request).unwrap();
    let value = format!("a\\u001b[2J{}…", "é".repeat((256 - "a\\u001b[2J".len()) / 2));
    assert_eq!(decision.deny_reasons, [format!("record {value} for u\\u000aforged via <missing>")]);
}
