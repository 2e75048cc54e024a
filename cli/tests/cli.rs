//! The `warrant` binary end to end: check, build and eval on the example policies, and clear
//! failures on bad input.
// Test code: a failed expectation should panic loudly (the workspace lints forbid it elsewhere).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::path::{Path, PathBuf};

use serde_json::Value;

mod support;
use support::{stderr, stdout, warrant};

const EXAMPLES: [&str; 3] = ["support", "coding", "hr"];

/// A scratch file under cargo's per-target temporary directory.
fn scratch(name: &str, contents: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn example(name: &str, file: &str) -> String {
    format!("policies/{name}/{file}")
}

/// Runs `eval --format json` and returns the decision.
fn eval_json(policy: &str, input: &str, data: &str) -> Value {
    let output = warrant(&["eval", policy, "--input", input, "--data", data, "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Sample requests of an example: every `allow*.json` and `deny*.json` in its folder.
fn samples(name: &str) -> Vec<(String, bool)> {
    let dir = support::root().join("policies").join(name);
    let mut samples: Vec<(String, bool)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|file| {
            let expected = if file.starts_with("allow") {
                true
            } else if file.starts_with("deny") {
                false
            } else {
                return None;
            };
            Some((example(name, &file), expected))
        })
        .collect();
    samples.sort();
    samples
}

/// The `line:col` printed after `file:` in a rendered diagnostic.
fn location_of(file: &str, rendered: &str) -> Option<(u32, u32)> {
    let after = &rendered[rendered.find(&format!("{file}:"))? + file.len() + 1..];
    let mut numbers = after.split(|c: char| !c.is_ascii_digit()).filter(|part| !part.is_empty());
    Some((numbers.next()?.parse().ok()?, numbers.next()?.parse().ok()?))
}

#[test]
fn check_accepts_every_example_policy() {
    let files: Vec<String> = EXAMPLES.iter().map(|name| example(name, "policy.warrant")).collect();
    let args: Vec<&str> = std::iter::once("check").chain(files.iter().map(String::as_str)).collect();
    let output = warrant(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for file in &files {
        assert!(stdout(&output).contains(&format!("ok: {file} (")), "{}", stdout(&output));
    }
}

#[test]
fn every_example_has_allow_and_deny_samples_that_decide_as_named() {
    for name in EXAMPLES {
        let samples = samples(name);
        assert!(samples.iter().any(|(_, allowed)| *allowed), "{name} has no allow sample");
        assert!(samples.iter().any(|(_, allowed)| !*allowed), "{name} has no deny sample");
        for (input, expected) in samples {
            let decision = eval_json(&example(name, "policy.warrant"), &input, &example(name, "data.json"));
            assert_eq!(decision["allowed"], expected, "{input}: {decision}");
            let reasons = decision["deny_reasons"].as_array().unwrap();
            assert_eq!(reasons.is_empty(), expected, "{input}: {decision}");
            if !expected {
                // Each deny sample shows a deny rule at work, not just the default deny.
                let fired_deny = decision["fired"].as_array().unwrap().iter().any(|rule| rule["kind"] == "deny");
                assert!(fired_deny, "{input}: {decision}");
            }
        }
    }
}

#[test]
fn eval_prints_json_then_the_explanation_by_default() {
    let output = warrant(&[
        "eval",
        "policies/support/policy.warrant",
        "--input",
        "policies/support/deny-other-customer.json",
        "--data",
        "policies/support/data.json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let explanation_start = text.find("\nDENY\n").expect("explanation follows the JSON");
    let decision: Value = serde_json::from_str(&text[..explanation_start]).unwrap();
    assert_eq!(decision["allowed"], false);
    assert!(text[explanation_start..].contains("the case belongs to another customer"), "{text}");
    assert!(text.contains("policy: acme.support (sha256 "), "{text}");
}

#[test]
fn built_module_is_valid_wasm_and_decides_like_the_source() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coding.wasm");
    let out_arg = out.to_str().unwrap();
    let output = warrant(&["build", "policies/coding/policy.warrant", "-o", out_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let wasm = std::fs::read(&out).unwrap();
    wasmparser::Validator::new().validate_all(&wasm).expect("warrant build emits valid Wasm");
    for (input, _) in samples("coding") {
        let from_source = eval_json("policies/coding/policy.warrant", &input, "policies/coding/data.json");
        let from_module = eval_json(out_arg, &input, "policies/coding/data.json");
        assert_eq!(from_source, from_module, "{input}");
    }
}

#[test]
fn malformed_policy_gets_a_spanned_error_and_exit_1() {
    let bad = scratch("bad_syntax.warrant", b"package demo\n\nallow broken if {\n    action == \n}\n");
    let good = example("hr", "policy.warrant");
    let output = warrant(&["check", bad.to_str().unwrap(), &good]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    let (line, column) = location_of("bad_syntax.warrant", &errors).expect("file:line:col in the diagnostic");
    assert!((4..=5).contains(&line) && column >= 1, "{errors}");
    assert!(stdout(&output).contains(&format!("ok: {good} (")), "valid files are still checked");
}

#[test]
fn unknown_attribute_is_reported_by_check_build_and_eval() {
    let bad = scratch("unknown_attribute.warrant", b"package demo\nallow a if { subject == \"x\" }\n");
    let bad = bad.to_str().unwrap();
    let input = example("support", "allow.json");
    for args in [vec!["check", bad], vec!["build", bad, "-o", "/dev/null"], vec!["eval", bad, "--input", &input]] {
        let output = warrant(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr(&output).contains("subject"), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn missing_files_are_clear_errors() {
    let output = warrant(&["check", "policies/no/such.warrant"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("cannot read policies/no/such.warrant"), "{}", stderr(&output));
    let output = warrant(&["eval", "policies/hr/policy.warrant", "--input", "policies/hr/missing.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("cannot read policies/hr/missing.json"), "{}", stderr(&output));
}

#[test]
fn invalid_and_oversized_requests_are_refused() {
    let policy = example("support", "policy.warrant");
    let not_json = scratch("not_json.json", b"{\"claims\": ");
    let wrong_type = scratch("wrong_type.json", br#"{"claims": {"sub": 42}, "action": "case.read"}"#);
    let oversized = scratch("oversized.json", &vec![b' '; 1024 * 1024 + 1]);
    for (input, expected) in [(&not_json, "not valid JSON"), (&wrong_type, "`sub`"), (&oversized, "limit")] {
        let output = warrant(&["eval", &policy, "--input", input.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(1));
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
        assert!(stdout(&output).is_empty(), "no decision is printed on error");
    }
}

#[test]
fn a_non_policy_wasm_module_is_refused() {
    let empty_module = scratch("empty.wasm", b"\0asm\x01\0\0\0");
    let output = warrant(&["eval", empty_module.to_str().unwrap(), "--input", &example("hr", "allow.json")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("warrant.manifest"), "{}", stderr(&output));
}

/// A byte order mark and a lone surrogate are named as such, in policies and in JSON input,
/// instead of a bare "syntax error" or "unexpected end of hex escape".
#[test]
fn boms_and_lone_surrogates_are_named() {
    let policy = scratch("bom.warrant", b"\xef\xbb\xbfpackage p\nallow a if { }\n");
    let output = warrant(&["check", policy.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("the file starts with a byte order mark"), "{}", stderr(&output));
    let policy = scratch("surrogate.warrant", b"package p\nallow a if { sub == \"\\ud83d\" }\n");
    let output = warrant(&["check", policy.to_str().unwrap()]);
    assert!(stderr(&output).contains("`\\ud83d` is a lone surrogate"), "{}", stderr(&output));
    let good = example("support", "policy.warrant");
    for (name, contents, expected) in [
        ("bom.json", &b"\xef\xbb\xbf{\"claims\": {}}"[..], "it starts with a UTF-8 byte order mark"),
        ("surrogate.json", &b"{\"claims\": {\"sub\": \"\\ud83d\"}}"[..], "`\\ud83d` is a lone surrogate"),
    ] {
        let input = scratch(name, contents);
        let output = warrant(&["eval", &good, "--input", input.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(1));
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
    }
}
