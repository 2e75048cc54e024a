//! Policies built to crash or stall the compiler (issue 10, items 5 and 8): each is refused by
//! the checker with an error naming the limit, or compiles, loads and decides; none overflows
//! the stack, exhausts memory or reaches a Wasm-level error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use serde_json::json;
use warrant_engine::{ClaimMapping, Engine, EngineError, Request};
use warrant_lang::limits::MAX_CONDITIONS_PER_RULE;
use warrant_lang::parser::MAX_NESTING;
use warrant_lang::rule_graph::MAX_HELPER_DEPTH;

fn compile_error(source: &str) -> String {
    match Engine::new().unwrap().compile_policy(source, "hostile.warrant") {
        Err(EngineError::Compile(diagnostics)) => diagnostics.render(),
        Err(other) => panic!("not a checker error: {other}"),
        Ok(_) => panic!("accepted"),
    }
}

fn decides(source: &str, request: serde_json::Value) -> bool {
    let policy = Engine::new().unwrap().compile_policy(source, "hostile.warrant").unwrap();
    let request = Request::from_json(request, &ClaimMapping::default()).unwrap();
    policy.decide(&request).unwrap().allowed
}

#[test]
fn a_sum_of_ten_thousand_terms_is_a_nesting_error_not_a_stack_overflow() {
    let source = format!("package h\nallow a if {{ now{} > 1 }}\n", " + 1".repeat(10_000));
    assert!(compile_error(&source).contains(&format!("may nest at most {MAX_NESTING} levels")));
    let fits = format!("package h\nallow a if {{ now{} > 1 }}\n", " + 1".repeat(MAX_NESTING - 8));
    assert!(decides(&fits, json!({"now": 0})));
}

#[test]
fn helper_chains_are_bounded_and_checked_in_linear_time() {
    let chain = |n: usize| {
        let mut source = String::from("package h\nallow a if { r0 }\n");
        for i in 0..n {
            source.push_str(&format!("rule r{i} if {{ r{} }}\n", i + 1));
        }
        source.push_str(&format!("rule r{n} if {{ sub == \"u\" }}\n"));
        source
    };
    assert!(compile_error(&chain(10_000)).contains(&format!("helper rules nest deeper than {MAX_HELPER_DEPTH}")));
    assert!(decides(&chain(MAX_HELPER_DEPTH - 2), json!({"claims": {"sub": "u"}})));
}

#[test]
fn oversized_rules_are_refused_and_the_largest_allowed_one_loads() {
    let rule = |n: usize| {
        let conditions: String = (0..n).map(|i| format!("  sub != \"x{i}\"\n")).collect();
        format!("package h\nallow a if {{\n{conditions}}}\n")
    };
    assert!(compile_error(&rule(100_000)).contains("has 100000 conditions"));
    assert!(decides(&rule(MAX_CONDITIONS_PER_RULE), json!({"claims": {"sub": "u"}})));
}

#[test]
fn a_huge_action_set_is_not_dispatched_through_a_br_table() {
    let actions: Vec<String> = (0..65_521).map(|i| format!("\"a{i}\"")).collect();
    let source = format!("package h\nallow a if {{ action in {{{}}} }}\n", actions.join(","));
    assert!(decides(&source, json!({"action": "a65520"})));
    assert!(!decides(&source, json!({"action": "b"})));
}
