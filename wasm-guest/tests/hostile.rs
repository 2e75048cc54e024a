//! Hostile inputs: huge strings, deep chains, 100k-element sets, and images with bad pointers
//! or random bytes. The guest must never trap; well-formed inputs must still agree with the
//! reference evaluator, malformed ones must yield an error code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod common;

use common::{validate, WasmPolicy};
use proptest::prelude::*;
use serde_json::{json, Value};
use warrant_lang::eval::evaluate;
use warrant_lang::ir::{ActorField, ActorRef, CmpOp, Cond, Expr, Field, Program, Rule, RuleKind, Slot, Source, Ty};
use warrant_lang::request::{Actor, Request};
use warrant_wasm::abi::{
    AbiError, CELL_SET_LEN, CELL_SIZE, CELL_STR_ID, ERR_BAD_STRING_ID, ERR_DATA_IMAGE_OUT_OF_BOUNDS,
    ERR_OUTPUT_OUT_OF_BOUNDS, ERR_REQUEST_IMAGE_OUT_OF_BOUNDS, ERR_VALUE_OUT_OF_BOUNDS, REQ_CHAIN_LEN, REQ_SLOTS,
};
use wasmtime::Engine;

const SUB: u32 = 0;
const RESOURCE: u32 = 1;
const SCOPE: u32 = 2;
const REVOKED: u32 = 3;
const OWNER: u32 = 4;

fn path(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

fn rule(name: &str, kind: RuleKind, body: Vec<Cond>) -> Rule {
    let body_text = body.iter().map(|c| format!("{c:?}")).collect();
    Rule { name: name.into(), kind, body, body_text, line: 1 }
}

/// A policy touching every kind of variable-size input: bytes, sets, tables, the chain.
fn program() -> Program {
    let slots = vec![
        Slot { source: Source::Field(Field::Sub), ty: Ty::Str },
        Slot { source: Source::Field(Field::Resource), ty: Ty::Str },
        Slot { source: Source::Field(Field::Scope), ty: Ty::StrSet },
        Slot { source: Source::Data(path(&["revoked"])), ty: Ty::StrSet },
        Slot { source: Source::DataTable { table: path(&["agents"]), field: path(&["owner"]) }, ty: Ty::Str },
    ];
    let hop_sub = Expr::Actor(ActorRef::Hop, ActorField::Sub);
    let rules = vec![
        rule("glob", RuleKind::Allow, vec![Cond::Matches(Expr::Slot(RESOURCE), 0)]),
        rule("prefix", RuleKind::Allow, vec![Cond::StartsWith(Expr::Slot(RESOURCE), 1)]),
        rule("suffix", RuleKind::Allow, vec![Cond::EndsWith(Expr::Slot(RESOURCE), 2)]),
        rule("regex", RuleKind::Allow, vec![Cond::Regex(Expr::Slot(RESOURCE), 4)]),
        rule(
            "revoked",
            RuleKind::Deny { reason: "revoked".into() },
            vec![Cond::In(Expr::Slot(SUB), Expr::Slot(REVOKED))],
        ),
        rule(
            "scopes_revoked",
            RuleKind::Deny { reason: "scopes".into() },
            vec![Cond::Subset(Expr::Slot(SCOPE), Expr::Slot(REVOKED))],
        ),
        rule(
            "chain_clean",
            RuleKind::Allow,
            vec![Cond::Every(vec![Cond::Not(Box::new(Cond::In(hop_sub.clone(), Expr::Slot(REVOKED))))])],
        ),
        rule(
            "owner_in_chain",
            RuleKind::Allow,
            vec![Cond::Some(vec![Cond::Cmp(
                CmpOp::Eq,
                Expr::Lookup { slot: OWNER, key: Box::new(hop_sub) },
                Expr::Slot(SUB),
            )])],
        ),
        rule(
            "current_owner",
            RuleKind::Allow,
            vec![Cond::Cmp(
                CmpOp::Eq,
                Expr::Lookup { slot: OWNER, key: Box::new(Expr::Actor(ActorRef::Current, ActorField::Sub)) },
                Expr::Slot(SUB),
            )],
        ),
    ];
    Program {
        package: "hostile".into(),
        source_hash: "00".into(),
        literals: path(&["*a*a*a*c", "aaaa", "ab", "a*", "(a|aa)*b"]),
        slots,
        rules,
        reason_templates: Default::default(),
    }
}

/// 100k revoked ids and a 100k-entry agent table.
fn big_data() -> Value {
    let revoked: Vec<String> = (0..100_000).map(|i| format!("agent{i}")).collect();
    let agents: serde_json::Map<String, Value> =
        (0..100_000).map(|i| (format!("agent{i}"), json!({"owner": format!("user{}", i % 7)}))).collect();
    json!({"revoked": revoked, "agents": agents})
}

fn setup(engine: &Engine, data: &Value) -> (Program, WasmPolicy) {
    let program = program();
    let wasm = warrant_wasm::compile(&program).expect("compiles");
    validate(&wasm);
    let policy = WasmPolicy::new(engine, &wasm, data);
    (program, policy)
}

fn assert_agrees(program: &Program, policy: &mut WasmPolicy, request: &Request, data: &Value) {
    let expected = evaluate(program, request, data);
    let verdict = policy.decide(request).expect("encodes");
    assert_eq!(verdict.fired, expected.fired);
    assert_eq!(verdict.code, i32::from(program.is_allowed(&expected)));
}

#[test]
fn huge_strings_deep_chains_and_big_sets_agree_with_the_evaluator() {
    let engine = Engine::default();
    let data = big_data();
    let (program, mut policy) = setup(&engine, &data);
    let long_a = "a".repeat(600_000);
    let requests = [
        Request { resource: Some(long_a.clone()), ..Request::default() },
        Request { resource: Some(format!("{long_a}c")), ..Request::default() },
        Request {
            sub: Some("agent99999".into()),
            scope: Some((0..30_000).map(|i| format!("agent{}", i * 3)).collect()),
            ..Request::default()
        },
        Request { scope: Some(vec!["agent1".into(), "nobody".into()]), ..Request::default() },
    ];
    for request in &requests {
        assert_agrees(&program, &mut policy, request, &data);
    }
    // A 10k-actor chain, against a small revocation list (the reference evaluator copies the
    // set for every actor) and the 100k-entry table.
    let mut data = big_data();
    data["revoked"] = json!(["agent100005", "agent3"]);
    policy.set_data(&data).expect("data image");
    let chain: Vec<Actor> = (0..10_000)
        .map(|i| Actor { sub: Some(format!("agent{}", 100_000 + i)), ..Actor::default() })
        .chain([Actor { sub: Some("agent3".into()), ..Actor::default() }])
        .collect();
    let mut request =
        Request { resource: Some(format!("{long_a}b")), sub: Some("user3".into()), chain, ..Request::default() };
    assert_agrees(&program, &mut policy, &request, &data);
    request.chain.remove(5);
    assert_agrees(&program, &mut policy, &request, &data);
}

#[test]
fn oversized_requests_are_refused_by_the_encoder() {
    let engine = Engine::default();
    let (_, mut policy) = setup(&engine, &json!({}));
    let scope: Vec<String> = (0..100_000).map(|i| format!("scope-{i}")).collect();
    let request = Request { scope: Some(scope), ..Request::default() };
    assert_eq!(policy.decide(&request), Err(AbiError::RequestTooLarge));
    let request = Request { resource: Some("x".repeat(2 << 20)), ..Request::default() };
    assert_eq!(policy.decide(&request), Err(AbiError::RequestTooLarge));
}

#[test]
fn pointers_outside_memory_yield_error_codes() {
    let engine = Engine::default();
    let (_, mut policy) = setup(&engine, &json!({"revoked": ["x"]}));
    let (req, out) = policy.place(&Request::default()).expect("encodes");
    let data = policy.data_base();
    let beyond = policy.memory_size() as u32;
    assert_eq!(policy.call(data, req, beyond), ERR_OUTPUT_OUT_OF_BOUNDS);
    assert_eq!(policy.call(data, req, u32::MAX - 1), ERR_OUTPUT_OUT_OF_BOUNDS);
    assert_eq!(policy.call(beyond - 8, req, out), ERR_DATA_IMAGE_OUT_OF_BOUNDS);
    assert_eq!(policy.call(u32::MAX - 3, req, out), ERR_DATA_IMAGE_OUT_OF_BOUNDS);
    assert_eq!(policy.call(data, beyond - 16, out), ERR_REQUEST_IMAGE_OUT_OF_BOUNDS);
    assert!(policy.call(data, req, out) >= 0);
}

#[test]
fn corrupted_request_images_yield_error_codes() {
    let engine = Engine::default();
    let (_, mut policy) = setup(&engine, &json!({"revoked": ["x"]}));
    let request = Request {
        sub: Some("x".into()),
        resource: Some("ab".into()),
        scope: Some(vec!["x".into()]),
        ..Request::default()
    };
    let cell = |req: u32, slot: u32| req + REQ_SLOTS + slot * CELL_SIZE;

    let (req, out) = policy.place(&request).expect("encodes");
    policy.write(cell(req, SCOPE) + CELL_SET_LEN, &0x3fff_ffffu32.to_le_bytes());
    assert_eq!(policy.call(policy.data_base(), req, out), ERR_VALUE_OUT_OF_BOUNDS);

    let (req, out) = policy.place(&request).expect("encodes");
    policy.write(cell(req, RESOURCE) + CELL_STR_ID, &0x7fff_fff0u32.to_le_bytes());
    assert_eq!(policy.call(policy.data_base(), req, out), ERR_BAD_STRING_ID);

    let (req, out) = policy.place(&request).expect("encodes");
    policy.write(req + REQ_CHAIN_LEN, &0x2000_0000u32.to_le_bytes());
    assert_eq!(policy.call(policy.data_base(), req, out), ERR_REQUEST_IMAGE_OUT_OF_BOUNDS);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random bytes as images and random pointers: any result, never a trap.
    #[test]
    fn random_images_never_trap(
        garbage in proptest::collection::vec(any::<u8>(), 4096),
        pointers in proptest::collection::vec((0u32..4096, any::<u32>(), any::<bool>()), 3 * 16),
    ) {
        let engine = Engine::default();
        let (_, mut policy) = setup(&engine, &json!({}));
        let base = policy.data_base();
        policy.write(base, &garbage);
        for triple in pointers.chunks(3) {
            let pick = |(near, anywhere, use_near): (u32, u32, bool)| if use_near { base + near } else { anywhere };
            let code = policy.call(pick(triple[0]), pick(triple[1]), pick(triple[2]));
            prop_assert!((-5..=1).contains(&code), "unexpected result {code}");
        }
    }
}
