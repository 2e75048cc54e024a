//! Targeted code generation tests: module shape, manifest, invalid IR, the action dispatch
//! with gaps and more than 32 rules, and helper memoisation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod common;

use common::gen::{self, Rng};
use common::{validate, WasmPolicy};
use serde_json::json;
use warrant_lang::eval::evaluate;
use warrant_lang::ir::{ActorField, ActorRef, CmpOp, Cond, Expr, Field, Program, Rule, RuleKind, Slot, Source, Ty};
use warrant_lang::request::Request;
use warrant_wasm::abi::{read_manifest, Manifest, IMAGE_ALIGN};
use warrant_wasm::{compile, CodegenError};
use wasmparser::{Parser, Payload};
use wasmtime::Engine;

fn rule(name: &str, kind: RuleKind, body: Vec<Cond>) -> Rule {
    let body_text = body.iter().map(|c| format!("{c:?}")).collect();
    Rule { name: name.into(), kind, body, body_text, line: 1 }
}

fn program(literals: &[&str], slots: Vec<Slot>, rules: Vec<Rule>) -> Program {
    Program {
        package: "test".into(),
        source_hash: "ab".into(),
        literals: literals.iter().map(|s| s.to_string()).collect(),
        slots,
        rules,
        reason_templates: Default::default(),
    }
}

fn field(field: Field) -> Slot {
    Slot { source: Source::Field(field), ty: field.ty() }
}

#[test]
fn module_is_standalone_valid_and_carries_its_manifest() {
    let mut rng = Rng::new(7);
    let program = gen::program(&mut rng);
    let wasm = compile(&program).expect("compiles");
    validate(&wasm);
    assert_eq!(read_manifest(&wasm).expect("manifest"), Manifest::from_program(&program));
    let mut imports = 0;
    for payload in Parser::new(0).parse_all(&wasm) {
        if let Payload::ImportSection(section) = payload.expect("parses") {
            imports += section.count();
        }
    }
    assert_eq!(imports, 0);
    let policy = WasmPolicy::new(&Engine::default(), &wasm, &json!({}));
    assert_eq!(policy.heap_base % IMAGE_ALIGN, 0);
    assert!(policy.memory_size() >= policy.heap_base as usize);
}

#[test]
fn invalid_ir_is_refused_not_compiled() {
    let action = || vec![field(Field::Action), field(Field::Now)];
    let invalid = |rules: Vec<Rule>| compile(&program(&["read"], action(), rules));
    let cycle = invalid(vec![
        rule("h0", RuleKind::Helper, vec![Cond::Rule(1)]),
        rule("h1", RuleKind::Helper, vec![Cond::Rule(0)]),
    ]);
    assert!(matches!(cycle, Err(CodegenError::RuleCycle(_))), "{cycle:?}");
    let cases = [
        vec![rule("r", RuleKind::Allow, vec![]), rule("s", RuleKind::Allow, vec![Cond::Rule(0)])],
        vec![rule("r", RuleKind::Allow, vec![Cond::Rule(5)])],
        vec![rule("r", RuleKind::Allow, vec![Cond::Cmp(CmpOp::Lt, Expr::Slot(0), Expr::Str(0))])],
        vec![rule("r", RuleKind::Allow, vec![Cond::Cmp(CmpOp::Eq, Expr::Slot(0), Expr::Slot(1))])],
        vec![rule("r", RuleKind::Allow, vec![Cond::Cmp(CmpOp::Eq, Expr::Slot(9), Expr::Str(0))])],
        vec![rule("r", RuleKind::Allow, vec![Cond::Cmp(CmpOp::Eq, Expr::Slot(0), Expr::Str(3))])],
        vec![rule("r", RuleKind::Allow, vec![Cond::Truthy(Expr::Actor(ActorRef::Hop, ActorField::Sub))])],
        vec![rule("r", RuleKind::Allow, vec![Cond::Every(vec![Cond::Some(vec![])])])],
        vec![rule("r", RuleKind::Allow, vec![Cond::Subset(Expr::StrSet(vec![0, 0]), Expr::StrSet(vec![]))])],
        vec![rule(
            "r",
            RuleKind::Allow,
            vec![Cond::Cmp(CmpOp::Eq, Expr::Actor(ActorRef::Hop, ActorField::Sub), Expr::Str(0))],
        )],
    ];
    for rules in cases {
        let result = invalid(rules.clone());
        assert!(matches!(result, Err(CodegenError::InvalidIr { .. })), "{rules:?} gave {result:?}");
    }
    // A `regex` pattern the checker would refuse (invalid, over the DFA limit, no such literal).
    for lit in [0, 1, 2] {
        let rules = vec![rule("r", RuleKind::Allow, vec![Cond::Regex(Expr::Slot(0), lit)])];
        let result = compile(&program(&["(a|b", "(?u)\\w{64}"], action(), rules));
        assert!(matches!(result, Err(CodegenError::InvalidIr { .. })), "literal {lit} gave {result:?}");
    }
}

/// A pattern's DFA table is static data stored once, however many conditions use it.
#[test]
fn regex_tables_are_stored_once_per_pattern() {
    let pattern = "x{200}";
    let table_bytes = warrant_lang::regex_dfa::build_dfa(pattern).expect("builds").transitions.len() * 2;
    let with = |conditions: usize| {
        let rules = (0..conditions)
            .map(|i| rule(&format!("r{i}"), RuleKind::Allow, vec![Cond::Regex(Expr::Slot(0), 0)]))
            .collect();
        compile(&program(&[pattern], vec![field(Field::Resource)], rules)).expect("compiles")
    };
    let (one, two) = (with(1).len(), with(2).len());
    assert!(one > table_bytes, "the table is in the module");
    assert!(two - one < table_bytes, "a second use adds code, not a second table: {one} then {two}");
}

/// 40 rules on actions spread over a sparse range of literal ids, some on two actions, some on
/// none: the `br_table` must route each action to exactly its rules, across two output words.
#[test]
fn action_dispatch_runs_exactly_the_matching_rules() {
    let literals: Vec<String> = (0..60).map(|i| format!("act{i}")).collect();
    let literal_refs: Vec<&str> = literals.iter().map(String::as_str).collect();
    let mut rules = Vec::new();
    for i in 0..40u32 {
        let action = Expr::Slot(0);
        let body = match i % 4 {
            0 => vec![Cond::Cmp(CmpOp::Eq, action, Expr::Str(i + 10))],
            1 => vec![Cond::In(action, Expr::StrSet(vec![i, i + 17]))],
            2 => vec![Cond::Cmp(CmpOp::Ge, Expr::Slot(1), Expr::Int(3)), Cond::Cmp(CmpOp::Eq, Expr::Str(i), action)],
            _ => vec![Cond::Cmp(CmpOp::Ne, action, Expr::Str(i))],
        };
        let kind = if i % 5 == 0 { RuleKind::Deny { reason: format!("d{i}") } } else { RuleKind::Allow };
        rules.push(rule(&format!("r{i}"), kind, body));
    }
    rules.push(rule("never", RuleKind::Allow, vec![Cond::In(Expr::Slot(0), Expr::StrSet(vec![]))]));
    let program = program(&literal_refs, vec![field(Field::Action), field(Field::Now)], rules);
    let wasm = compile(&program).expect("compiles");
    validate(&wasm);
    let mut policy = WasmPolicy::new(&Engine::default(), &wasm, &json!({}));
    let actions = literals.iter().cloned().map(Some).chain([None, Some("other".to_string())]);
    let mut fired_somewhere = 0;
    for action in actions {
        for now in [Some(5), None] {
            let request = Request { action: action.clone(), now, ..Request::default() };
            let expected = evaluate(&program, &request, &json!({}));
            let verdict = policy.decide(&request).expect("encodes");
            assert_eq!(verdict.fired, expected.fired, "action {action:?}");
            assert_eq!(verdict.code, i32::from(program.is_allowed(&expected)));
            fired_somewhere += expected.fired.len();
        }
    }
    assert!(fired_somewhere > 100);
}

/// A chain of 40 helpers each using the previous one twice: 2^40 calls without memoisation.
#[test]
fn helpers_are_evaluated_once_per_decision() {
    let slots = vec![field(Field::Sub), Slot { source: Source::Claim(vec!["admin".into()]), ty: Ty::Bool }];
    let mut rules = vec![rule("base", RuleKind::Helper, vec![Cond::Truthy(Expr::Slot(1))])];
    for i in 1..40u32 {
        let body = vec![Cond::Rule(i - 1), Cond::Not(Box::new(Cond::Not(Box::new(Cond::Rule(i - 1)))))];
        rules.push(rule(&format!("h{i}"), RuleKind::Helper, body));
    }
    rules.push(rule("top", RuleKind::Allow, vec![Cond::Rule(39), Cond::Cmp(CmpOp::Eq, Expr::Slot(0), Expr::Str(0))]));
    let program = program(&["root"], slots, rules);
    let wasm = compile(&program).expect("compiles");
    let mut policy = WasmPolicy::new(&Engine::default(), &wasm, &json!({}));
    for admin in [true, false] {
        let mut request = Request { sub: Some("root".into()), ..Request::default() };
        request.claims.insert("admin".into(), json!(admin));
        let verdict = policy.decide(&request).expect("encodes");
        assert_eq!(verdict.code, i32::from(admin));
        // (The reference evaluator does not memoise, so it cannot be the oracle here.)
        assert_eq!(verdict.fired, if admin { vec![40] } else { vec![] });
    }
}

/// Computed strings, `count` and `intersects` from policy source: the module agrees with the
/// reference evaluator on edge cases (empty strings, mixed case, non-ASCII bytes, missing
/// parts), and the reference gives the documented answers.
#[test]
fn computed_strings_compare_in_place() {
    let source = r#"package p
allow concat if { resource == "https://crm/" + sub }
allow concat_tail if { resource == sub + "/" + action }
allow lower_eq if { lower(sub) == "alice" }
allow upper_both if { upper(sub) == upper(action) }
allow lower_in if { lower(action) in {"read", "write"} }
allow concat_in if { "r:" + action in {"r:read", "r:"} }
allow prefix if { startswith(resource, "https://crm/" + sub) }
allow suffix if { endswith(lower(resource), "/" + lower(sub)) }
allow counted if { count(scope) == 2 }
allow shared if { intersects(scope, {"read", "admin"}) }
allow two_shared if { count(scope & {"read", "write", "admin"}) == 2 }
allow none_shared if { scope & {"admin"} == {} }
deny some_shared "shared" if { {} != {"admin", "write"} & scope }
allow ne if { "x" + sub != resource }
deny undecided "cannot tell" if { "a" + claims.tenant == sub }
"#;
    let program = warrant_lang::compile(source, "computed.warrant").expect("compiles");
    let wasm = compile(&program).expect("module");
    validate(&wasm);
    let mut policy = WasmPolicy::new(&Engine::default(), &wasm, &json!({}));
    let texts = [
        "",
        "Alice",
        "alice",
        "ALICE",
        "read",
        "READ",
        "https://crm/Alice",
        "https://crm/alice",
        "É/é",
        "x",
        "alice/READ",
    ];
    let request = |sub: &str, resource: &str, action: &str, scope: &[&str]| Request {
        sub: Some(sub.into()),
        resource: Some(resource.into()),
        action: Some(action.into()),
        scope: Some(scope.iter().map(|s| s.to_string()).collect()),
        ..Request::default()
    };
    let mut fired = std::collections::BTreeSet::new();
    let mut requests = vec![Request::default()];
    for sub in texts {
        for resource in texts {
            for action in ["", "read", "READ", "Write", "alice"] {
                requests.push(request(sub, resource, action, &["read", "write"]));
            }
        }
    }
    requests.push(request("alice", "https://crm/alice", "read", &["admin"]));
    for request in &requests {
        let expected = evaluate(&program, request, &json!({}));
        let verdict = policy.decide(request).expect("encodes");
        assert_eq!(verdict.fired, expected.fired, "{request:?}");
        assert_eq!(verdict.undecided, expected.undecided, "{request:?}");
        fired.extend(expected.fired.iter().copied());
    }
    // Every rule fires on some request, so every construct was compared both ways.
    assert_eq!(fired.len(), program.rules.len());
    let fires = |request: &Request, name: &str| {
        let id = program.rules.iter().position(|r| r.name == name).unwrap() as u32;
        evaluate(&program, request, &json!({})).fired.contains(&id)
    };
    let alice = request("Alice", "https://crm/Alice", "READ", &["read"]);
    assert!(fires(&alice, "concat") && fires(&alice, "lower_eq") && fires(&alice, "lower_in"));
    assert!(fires(&alice, "prefix") && fires(&alice, "suffix") && !fires(&alice, "counted"));
    // ASCII only: `É` is not `é`.
    assert!(!fires(&request("É", "", "é", &[]), "upper_both"));
    assert!(fires(&request("É", "", "É", &[]), "upper_both"));
}
