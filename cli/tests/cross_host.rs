//! Cross-host conformance (issue 4): a compiled policy decides identically in the Rust engine
//! (wasmtime) and in the dependency-free JS host (hosts/js, run by Node.js / V8). Every outcome
//! is compared: the decision JSON (verdict, fired rules, reasons, policy version) or the class of
//! error, with identical messages where both hosts word them the same way. The checks live in
//! cross_host/harness.rs, shared with the Python host's test (cross_host_python.rs).
//!
//! Needs `node` (20+) on PATH; without it the tests fail, they never skip.
// Test code: a failed expectation should panic loudly (the workspace lints forbid it elsewhere).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
#[path = "cross_host/batch.rs"]
mod batch;
#[path = "cross_host/corpus.rs"]
mod corpus;
#[path = "cross_host/gen.rs"]
mod gen;
#[path = "cross_host/handmade.rs"]
mod handmade;
#[path = "cross_host/harness.rs"]
mod harness;
#[path = "cross_host/node.rs"]
mod node;

use harness::Host;

/// The JS host: hosts/js/batch.mjs and hosts/js/cli.mjs under Node.js.
const JS: Host = Host {
    name: "js",
    run_batch: node::run_batch,
    cli: |args| {
        let mut node_args = vec!["hosts/js/cli.mjs".as_ref()];
        node_args.extend(args);
        node::node(&node_args)
    },
};

#[test]
fn every_policy_decides_identically_in_rust_and_node() {
    harness::check_conformance(&JS);
}

/// `cli.mjs` prints the decision `warrant eval --format json` prints, byte for byte.
#[test]
fn node_cli_prints_the_decision_warrant_eval_prints() {
    harness::check_cli_prints_what_warrant_eval_prints(&JS);
}

#[test]
fn node_cli_fails_cleanly_on_bad_input() {
    harness::check_cli_fails_cleanly_on_bad_input(&JS);
}

#[test]
fn hosts_refuse_other_abi_majors_and_survive_bad_guests() {
    harness::check_contract(&JS);
}

#[test]
fn pathological_globs_are_undecided_in_both_hosts() {
    harness::check_pathological_globs(&JS);
}

#[test]
fn both_hosts_refuse_data_that_contradicts_the_policy_alike() {
    harness::check_data_shape_refusals(&JS);
}

/// Node.js script for [`js_values_carry_integers_only_as_bigints`]: decides with the policy at
/// argv[2] each JSON text of argv[3] (an array) both as text and as `JSON.parse`'s JS value,
/// then a value with an integer as a BigInt and one holding `undefined`; prints one JSON line.
const JS_VALUE_SCRIPT: &str = r#"
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const { loadPolicy, WarrantError } = await import(pathToFileURL(process.argv[4]).href);
const policy = await loadPolicy(readFileSync(process.argv[2]));
const outcome = (request) => {
  try {
    const decision = policy.decide(request);
    return { allowed: decision.allowed, deny_reasons: decision.deny_reasons };
  } catch (error) {
    return { error: error instanceof WarrantError ? error.code : `not a WarrantError: ${error.name}` };
  }
};
const texts = JSON.parse(readFileSync(process.argv[3], "utf8"));
const request = (amount) => ({ claims: { sub: "ann" }, action: "pay", resource: "r", now: 5n, context: { arguments: { amount } } });
console.log(JSON.stringify({
  texts: texts.map(outcome),
  values: texts.map((text) => outcome({ ...JSON.parse(text), now: 5n })),
  bigint_small: outcome(request(50n)),
  bigint_large: outcome(request(150n)),
  undefined_value: outcome(request(undefined)),
}));
"#;

/// A request given to the JS host as a JS value decides as its JSON text does: a `number` never
/// reads as an integer (`JSON.parse` already turned `100.000000000000001` into `100` and `1e2`
/// into an integer, which the text is not), so `context.arguments.amount > 100` is undecided and
/// the deny holds; only a `BigInt` is an integer. Before, the value allowed what the text denied.
/// A value holding `undefined` is a `WarrantError`, not a `TypeError`.
#[test]
fn js_values_carry_integers_only_as_bigints() {
    let policy = "package pay\n\nallow pay if { action == \"pay\" }\n\n\
                  deny big \"too much\" if { context.arguments.amount > 100 }\n";
    let dir = batch::scratch_dir("js_values");
    let wasm = dir.join("pay.wasm");
    std::fs::write(&wasm, warrant::compile_to_wasm(policy, "pay.warrant").unwrap()).unwrap();
    let amounts = ["100.000000000000001", "1e2", "100.0", "99.0"];
    let texts: Vec<String> = amounts
        .iter()
        .map(|amount| {
            format!(r#"{{"claims": {{"sub": "ann"}}, "action": "pay", "resource": "r", "now": 5, "context": {{"arguments": {{"amount": {amount}}}}}}}"#)
        })
        .collect();
    let texts_path = dir.join("texts.json");
    std::fs::write(&texts_path, serde_json::to_string(&texts).unwrap()).unwrap();
    let script = dir.join("js_values.mjs");
    std::fs::write(&script, JS_VALUE_SCRIPT).unwrap();
    let host = batch::repo_root().join("hosts/js/warrant.mjs");
    let output = node::node(&[script.as_os_str(), wasm.as_os_str(), texts_path.as_os_str(), host.as_os_str()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let undecided = serde_json::json!({
        "allowed": false,
        "deny_reasons": ["too much (cannot be decided: context.arguments.amount is missing or not an integer)"]
    });
    for (index, amount) in amounts.iter().enumerate() {
        assert_eq!(result["texts"][index], undecided, "{amount} as text");
        assert_eq!(result["values"][index], result["texts"][index], "{amount} as a JS value decides as its text");
    }
    assert_eq!(result["bigint_small"], serde_json::json!({"allowed": true, "deny_reasons": []}));
    assert_eq!(result["bigint_large"], serde_json::json!({"allowed": false, "deny_reasons": ["too much"]}));
    assert_eq!(result["undefined_value"], serde_json::json!({"error": "json"}));
}
