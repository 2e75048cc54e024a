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
