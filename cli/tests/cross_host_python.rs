//! Cross-host conformance for the Python host (issue 16, item 3): every check of cross_host.rs
//! (cross_host/harness.rs) run against hosts/python, so that the Rust engine, the JS host and
//! the Python host decide identically on every policy and generated request; plus the Python
//! host's own unit tests (hosts/python/tests), run here so that `cargo test` covers them.
//!
//! Needs `python3` with the `wasmtime` package (`bash .ci/run` installs it); without either the
//! tests fail, they never skip.
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
#[path = "cross_host/python.rs"]
mod python;

use std::ffi::OsStr;

use serde_json::{json, Value};
use warrant::{ClaimMapping, Engine, Request};
use warrant_wasm::abi::{align_image, DataImage, RequestEncoder};

use batch::{scratch_dir, write_batch, BatchEntry};
use harness::Host;

/// Where both hosts lay out the data image in the byte-for-byte comparison (any aligned address).
const IMAGE_BASE: u32 = 1024;

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

/// The data and request images the Python host lays out are the Rust encoders' bytes, for every
/// policy of the corpus and every request the conformance check sends (refused requests are
/// refused by both).
#[test]
fn python_images_are_byte_identical_to_the_rust_encoders() {
    let dir = scratch_dir("python_images");
    let engine = Engine::new().expect("wasmtime starts");
    let mut entries = Vec::new();
    let mut expected = Vec::new();
    let subjects = corpus::examples().into_iter().chain(corpus::conformance()).chain([unsorted_keys_subject()]);
    for (index, subject) in subjects.enumerate() {
        let policy = engine.load_wasm(&subject.wasm).unwrap_or_else(|e| panic!("{}: {e}", subject.name));
        let cases = harness::with_generated_requests(&subject, &policy, index as u64);
        let data: Value = serde_json::from_str(subject.data.as_deref().unwrap_or("{}")).expect("data JSON");
        let data_image = DataImage::build(policy.manifest(), &data, IMAGE_BASE).expect("the data lays out");
        let request_base = align_image(data_image.end()).expect("room for the request");
        let mut encoder = RequestEncoder::new();
        let requests: Vec<Value> = cases
            .iter()
            .map(|case| {
                let request = Request::from_json_str(&case.request, &ClaimMapping::default()).ok();
                let image = request.and_then(|r| encoder.encode(policy.manifest(), &data_image, &r, request_base).ok());
                image.map_or(Value::Null, |bytes| json!(hex(bytes)))
            })
            .collect();
        let texts = cases.iter().map(|c| c.request.clone()).collect();
        entries.push(BatchEntry::written(&dir, index, &subject.wasm, subject.data.clone(), texts));
        expected.push((subject.name, json!({"data": hex(data_image.bytes()), "requests": requests})));
    }
    let path = write_batch(&dir, &entries);
    let base = IMAGE_BASE.to_string();
    let args = ["-m", "warrant_wasm.batch", "--images", &base].map(OsStr::new);
    let output = python::python(&[&args[..], &[path.as_os_str()]].concat());
    let results = batch::batch_results("Python", &output, entries.len());
    let mut encoded = 0;
    for ((name, rust), python) in expected.iter().zip(&results) {
        assert_eq!(python["data"], rust["data"], "{name}: data images differ");
        let pairs =
            rust["requests"].as_array().into_iter().flatten().zip(python["requests"].as_array().into_iter().flatten());
        for (index, (rust, python)) in pairs.enumerate() {
            assert_eq!(python, rust, "{name}: request #{index}: images differ");
            encoded += usize::from(!rust.is_null());
        }
    }
    assert!(encoded > 1000, "only {encoded} request images compared");
}

/// Sets and tables read from objects whose keys are not in sorted order, in the data and in the
/// claims: serde_json iterates keys sorted, so string ids follow that order in every host.
fn unsorted_keys_subject() -> corpus::Subject {
    let source = "package keys\nallow a if { sub in data.groups; \"x\" in claims.roles; data.agents[act.client_id].level >= 2 }\n";
    let request = r#"{"claims": {"sub": "zeta", "roles": {"y": 1, "x": 2, "b": 3}, "act": {"client_id": "m"}}}"#;
    corpus::Subject {
        name: "unsorted keys".to_string(),
        wasm: warrant::compile_to_wasm(source, "keys.warrant").expect("compiles"),
        data: Some(
            r#"{"groups": {"zeta": 1, "alpha": 2}, "agents": {"z": {"level": 1}, "m": {"level": 3}}}"#.to_string(),
        ),
        cases: vec![corpus::Case { label: "unsorted".to_string(), request: request.to_string(), expect: None }],
        every_rule_fires: false,
    }
}

/// Lower-case hex, as Python's `bytes.hex()` writes it.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
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
