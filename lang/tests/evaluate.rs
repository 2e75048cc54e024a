//! The reference evaluator on compiled policies: the billing example, one change at a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use serde_json::{json, Value};
use warrant_lang::compile;
use warrant_lang::eval::evaluate;
use warrant_lang::ir::Program;
use warrant_lang::request::{ClaimMapping, Request};

const BILLING: &str = include_str!("policies/billing.warrant");

fn billing() -> Program {
    compile(BILLING, "billing.warrant").unwrap_or_else(|d| panic!("{}", d.render()))
}

fn good_request() -> Value {
    json!({
        "claims": {
            "sub": "alice", "iat": 1000, "exp": 4000, "tenant": "acme",
            "scope": "billing:read", "instance_id": "task-7",
            "act": { "sub": "spiffe://acme.com/agents/biller", "client_id": "biller",
                     "act": { "sub": "spiffe://acme.com/agents/planner" } }
        },
        "resource": "https://billing.acme.com",
        "action": "invoice.read",
        "now": 2000
    })
}

fn data() -> Value {
    json!({
        "revoked_instances": ["task-1"],
        "agents": { "biller": { "owner": "alice", "max_scope": ["billing:read", "billing:list"] } }
    })
}

/// One edit of a good request that must make it refused.
type RequestChange = fn(&mut Value);

/// Names of the rules that fired.
fn fired(program: &Program, request: Value, data: &Value) -> Vec<String> {
    let request = Request::from_json(request, &ClaimMapping::default()).expect("valid request");
    let outcome = evaluate(program, &request, data);
    outcome.fired.iter().map(|&id| program.rules[id as usize].name.clone()).collect()
}

#[test]
fn the_happy_path_is_allowed() {
    assert_eq!(fired(&billing(), good_request(), &data()), ["invoice_read"]);
}

#[test]
fn each_condition_can_refuse_on_its_own() {
    let program = billing();
    let changes: Vec<(&str, RequestChange)> = vec![
        ("untrusted actor", |r| r["claims"]["act"]["sub"] = json!("spiffe://evil.com/x")),
        ("wrong resource", |r| r["resource"] = json!("https://billing.acme.com/admin")),
        ("wrong action", |r| r["action"] = json!("invoice.delete")),
        ("missing scope", |r| r["claims"]["scope"] = json!("other")),
        ("token lives too long", |r| r["claims"]["exp"] = json!(1000 + 3601)),
        ("other tenant", |r| r["claims"]["tenant"] = json!("globex")),
        ("tenant not a string", |r| r["claims"]["tenant"] = json!(["acme"])),
        ("revoked instance", |r| r["claims"]["instance_id"] = json!("task-1")),
        ("agent not registered", |r| r["claims"]["act"]["client_id"] = json!("stranger")),
        ("agent of another user", |r| r["claims"]["sub"] = json!("bob")),
        ("no resource", |r| r["resource"] = Value::Null),
    ];
    for (what, change) in changes {
        let mut request = good_request();
        change(&mut request);
        assert_eq!(fired(&program, request, &data()), Vec::<String>::new(), "{what}");
    }
}

#[test]
fn scope_beyond_the_registered_maximum_is_refused() {
    let mut request = good_request();
    request["claims"]["scope"] = json!(["billing:read", "billing:admin"]);
    assert!(fired(&billing(), request, &data()).is_empty());
}

#[test]
fn deny_overrides_allow() {
    let program = compile("package p\nallow all if { }\ndeny deep \"too deep\" if { chain.depth > 1 }", "p").unwrap();
    let request = Request::from_json(good_request(), &ClaimMapping::default()).unwrap();
    let outcome = evaluate(&program, &request, &Value::Null);
    assert_eq!(outcome.fired, [0, 1]);
    assert!(!program.is_allowed(&outcome));
    assert_eq!(program.deny_reasons(&outcome).collect::<Vec<_>>(), ["too deep"]);
    let shallow = Request::default();
    assert!(program.is_allowed(&evaluate(&program, &shallow, &Value::Null)));
}

#[test]
fn an_empty_policy_denies() {
    let program = compile("package p\n", "p").unwrap();
    let request = Request::from_json(good_request(), &ClaimMapping::default()).unwrap();
    assert!(!program.is_allowed(&evaluate(&program, &request, &data())));
}

/// Whether the single allow rule `body` fires on `request` (JSON) with `data`.
fn holds(body: &str, request: Value, data: &Value) -> bool {
    let source = format!("package p\nallow r if {{\n{body}\n}}");
    let program = compile(&source, "p").unwrap_or_else(|d| panic!("{}", d.render()));
    !fired(&program, request, data).is_empty()
}

#[test]
fn concatenation_builds_strings_and_is_missing_when_a_part_is() {
    let request = json!({"claims": {"sub": "42", "tenant": ""}, "resource": "https://crm/customers/42"});
    assert!(holds(r#"resource == "https://crm/customers/" + sub"#, request.clone(), &data()));
    assert!(holds(r#"resource == "https://crm/customers/" + sub + claims.tenant"#, request.clone(), &data()));
    assert!(holds(r#""" + "" == claims.tenant"#, request.clone(), &data()));
    assert!(!holds(r#"resource == "https://crm/customers/4" + sub"#, request.clone(), &data()));
    // A missing part makes the comparison undecided: neither `==` nor `!=` holds.
    let no_sub = json!({"resource": "https://crm/customers/"});
    assert!(!holds(r#"resource == "https://crm/customers/" + sub"#, no_sub.clone(), &data()));
    assert!(!holds(r#"resource != "https://crm/customers/" + sub"#, no_sub, &data()));
    // `"" + a + b` concatenates two claims whose type nothing else fixes.
    let parts = json!({"claims": {"a": "x", "b": "y"}, "resource": "xy"});
    assert!(holds(r#"resource == "" + claims.a + claims.b"#, parts, &data()));
}

#[test]
fn case_mapping_is_ascii_only_and_keeps_lengths() {
    let request = json!({"claims": {"sub": "ÉCOLE-Straße", "client_id": "K"}, "resource": "éCOLE-STRAßE"});
    assert!(holds(r#"lower(sub) == "École-straße""#, request.clone(), &data()));
    assert!(holds(r#"upper(sub) == "ÉCOLE-STRAßE""#, request.clone(), &data()));
    assert!(!holds(r#"lower(sub) == lower(resource)"#, request.clone(), &data()));
    // The Kelvin sign (U+212A) is not the letter K.
    let kelvin = json!({"claims": {"sub": "\u{212A}"}});
    assert!(!holds(r#"lower(sub) == "k""#, kelvin, &data()));
    assert!(holds(r#"lower(client_id) == "k""#, request, &data()));
}

#[test]
fn non_literal_patterns_count_and_intersects() {
    let data = json!({"tenants": {"42": {"prefix": "https://crm/42/"}}});
    let request = json!({
        "claims": {"sub": "42", "scope": "read write", "tenant": "acme"},
        "resource": "https://crm/42/orders",
        "act": null
    });
    assert!(holds("startswith(resource, data.tenants[sub].prefix)", request.clone(), &data));
    assert!(holds(r#"endswith(resource, "/" + lower("ORDERS"))"#, request.clone(), &data));
    assert!(holds(r#"startswith(resource, "")"#, request.clone(), &data));
    assert!(!holds(r#"startswith(resource, resource + "/")"#, request.clone(), &data));
    assert!(holds("count(scope) == 2", request.clone(), &data));
    assert!(holds(r#"intersects(scope, {"admin", "write"})"#, request.clone(), &data));
    assert!(!holds(r#"intersects(scope, {})"#, request.clone(), &data));
    assert!(!holds(r#"count(data.missing) >= 0"#, request.clone(), &data));
    assert!(holds(r#"count(scope & {"read", "admin", "write"}) == 2"#, request.clone(), &data));
    assert!(holds(r#"scope & {"admin"} == {}"#, request.clone(), &data));
    assert!(holds(r#"{} != {"admin", "read"} & scope"#, request.clone(), &data));
    // A missing operand makes the intersection missing: undecided, so neither holds.
    assert!(!holds(r#"data.missing & scope == {}"#, request.clone(), &data));
    assert!(!holds(r#"data.missing & scope != {}"#, request, &data));
}

/// Names of the rules that fired for `claims` and `action` on a small policy.
fn fired_on(source: &str, claims: Value, action: &str, data: &Value) -> Vec<String> {
    let program = compile(source, "t.warrant").unwrap_or_else(|d| panic!("{}", d.render()));
    fired(&program, json!({ "claims": claims, "action": action, "resource": "r" }), data)
}

#[test]
fn alternatives_hold_when_one_branch_holds_and_stay_undecided_otherwise() {
    let allow = "package p\nallow a if { action == \"read\" or \"admin\" in scope }";
    assert_eq!(fired_on(allow, json!({"scope": "x"}), "read", &json!({})), ["a"]);
    assert_eq!(fired_on(allow, json!({"scope": "admin"}), "write", &json!({})), ["a"]);
    assert!(fired_on(allow, json!({"scope": "x"}), "write", &json!({})).is_empty());
    // A missing scope leaves `or` undecided unless the other branch is true: a deny fires.
    let deny = "package p\nallow a if { }\ndeny d \"no\" if { action == \"write\" or \"guest\" in scope }";
    assert_eq!(fired_on(deny, json!({}), "read", &json!({})), ["a", "d"]);
    assert_eq!(fired_on(deny, json!({"scope": "x"}), "read", &json!({})), ["a"]);
    // `not` binds tighter than `or`.
    let not = "package p\nallow a if { not action == \"read\" or action == \"list\" }";
    assert_eq!(fired_on(not, json!({}), "write", &json!({})), ["a"]);
    assert_eq!(fired_on(not, json!({}), "list", &json!({})), ["a"]);
    assert!(fired_on(not, json!({}), "read", &json!({})).is_empty());
}

#[test]
fn a_helper_defined_twice_holds_when_either_definition_holds() {
    let source = "package p\nrule privileged if { \"admin\" in scope }\nrule privileged if { sub in data.operators\n action == \"read\" }\n\
                  allow a if { privileged }";
    let data = json!({"operators": ["alice"]});
    assert_eq!(fired_on(source, json!({"sub": "bob", "scope": "admin"}), "write", &data), ["a"]);
    assert_eq!(fired_on(source, json!({"sub": "alice", "scope": "x"}), "read", &data), ["a"]);
    assert!(fired_on(source, json!({"sub": "alice", "scope": "x"}), "write", &data).is_empty());
    assert!(fired_on(source, json!({"sub": "bob", "scope": "x"}), "read", &data).is_empty());
}

/// docs/language.md "The delegation chain": in an allow's `every`, `hop.index == 0 or …` lets the
/// first actor pass and checks each later one against the one before; `hop.index > 0` (the
/// guard of `some`/deny) would make the first actor fail and so never allow.
#[test]
fn the_first_actor_guard_of_every_is_an_alternative() {
    let rule = |body: &str| {
        let source = format!("package p\nallow a if {{ every hop in chain {{ {body} }} }}\n");
        compile(&source, "p").unwrap_or_else(|d| panic!("{}", d.render()))
    };
    let alternative = rule("hop.index == 0 or hop.sub in data.may_delegate[hop.prev.sub]");
    let guarded = rule("hop.index > 0; hop.sub in data.may_delegate[hop.prev.sub]");
    // planner (first) delegated to biller (current).
    let request = || good_request();
    let allowed =
        json!({ "may_delegate": { "spiffe://acme.com/agents/planner": ["spiffe://acme.com/agents/biller"] } });
    let refused = json!({ "may_delegate": { "spiffe://acme.com/agents/planner": [] } });
    assert_eq!(fired(&alternative, request(), &allowed), ["a"]);
    assert!(fired(&alternative, request(), &refused).is_empty());
    assert!(fired(&guarded, request(), &allowed).is_empty(), "the `some` guard fails the first actor");
}
