//! Cross-host conformance for the Python host (issue 16, item 3): every check of cross_host.rs
//! (cross_host/harness.rs) run against hosts/python, so that the Rust engine, the JS host and
//! the Python host decide identically on every policy and generated request; plus the Python
//! host's own unit tests (hosts/python/tests), run here so that `cargo test` covers them.
//!
//! Needs `python3` with the `wasmtime` package (`bash .ci/run` installs it); without either the
//! tests fail, they never skip.
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
#[path = "cross_host/python.rs"]
mod python;

use harness::Host;

/// The Python host: `python3 -m warrant_wasm.batch` and `python3 -m warrant_wasm`.
const PYTHON: Host = Host {
    name: "python",
    run_batch: python::run_batch,
    cli: |args| {
        let mut python_args = vec!["-m".as_ref(), "warrant_wasm".as_ref()];
        python_args.extend(args);
        python::python(&python_args)
    },
};

#[test]
fn every_policy_decides_identically_in_rust_and_python() {
    harness::check_conformance(&PYTHON);
}

/// `python -m warrant_wasm` prints the decision `warrant eval --format json` prints, byte for byte.
#[test]
fn python_cli_prints_the_decision_warrant_eval_prints() {
    harness::check_cli_prints_what_warrant_eval_prints(&PYTHON);
}

#[test]
fn python_cli_fails_cleanly_on_bad_input() {
    harness::check_cli_fails_cleanly_on_bad_input(&PYTHON);
}

#[test]
fn python_host_refuses_other_abi_majors_and_survives_bad_guests() {
    harness::check_contract(&PYTHON);
}

#[test]
fn pathological_globs_are_undecided_in_rust_and_python() {
    harness::check_pathological_globs(&PYTHON);
}

#[test]
fn python_host_refuses_data_that_contradicts_the_policy_as_rust_does() {
    harness::check_data_shape_refusals(&PYTHON);
}

/// hosts/python/tests (unittest): strict JSON, input caps, hostile modules, the fail-closed API.
/// At least one test must run, so an empty discovery cannot pass.
#[test]
fn python_host_unit_tests_pass() {
    let output = python::python(&[
        "-m".as_ref(),
        "unittest".as_ref(),
        "discover".as_ref(),
        "-s".as_ref(),
        python::package_root().join("tests").as_os_str(),
        "-t".as_ref(),
        python::package_root().as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "Python unit tests failed:\n{stderr}");
    assert!(stderr.contains("\nOK") && !stderr.contains("Ran 0 tests"), "no Python unit test ran:\n{stderr}");
}
