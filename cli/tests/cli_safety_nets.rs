//! Author safety nets end to end: warnings (printed, exit code unchanged unless
//! `--deny-warnings`), and a misspelt key in a test file named with the key meant.
// Test code: a failed expectation should panic loudly (the workspace lints forbid it elsewhere).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod support;
use support::{scratch_dir, stderr, stdout, warrant};

const POLICY: &str = "package p\nallow read if { action == \"read\" }\n";

#[test]
fn a_misspelt_test_file_key_is_named_with_the_key_meant_and_no_empty_coverage() {
    let dir = scratch_dir("misspelt_key");
    std::fs::write(dir.join("policy.warrant"), POLICY).unwrap();
    for (misspelt, meant) in [
        (r#"{"name": "n", "request": {"action": "read"}, "expected": "allow"}"#, "expect"),
        (r#"{"name": "n", "request": {"action": "read"}, "expect": "allow", "reason": []}"#, "reasons"),
    ] {
        let spec = format!(r#"{{"policy": "policy.warrant", "cases": [{misspelt}]}}"#);
        std::fs::write(dir.join("policy.test.json"), spec).unwrap();
        let output = warrant(&["test", dir.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(1));
        let (out, err) = (stdout(&output), stderr(&output));
        assert!(err.contains(&format!("(did you mean `{meant}`?)")), "{err}");
        assert!(!out.contains("coverage"), "{out}");
    }
    std::fs::write(dir.join("policy.test.json"), r#"{"polcy": "policy.warrant", "cases": []}"#).unwrap();
    let err = stderr(&warrant(&["test", dir.to_str().unwrap()]));
    assert!(err.contains("unknown key `polcy` (did you mean `policy`?)"), "{err}");
}

const REGEX_LIKE: &str = "package p\nallow read if {\n    sub matches \"^user:[0-9]+$\"\n    now < data.deadline\n}\n";

#[test]
fn check_and_build_warn_about_a_regex_looking_pattern_without_failing() {
    let dir = scratch_dir("regex_like");
    let policy = dir.join("policy.warrant");
    std::fs::write(&policy, REGEX_LIKE).unwrap();
    let policy = policy.to_str().unwrap();
    for args in [vec!["check", policy], vec!["build", policy, "-o", "/dev/null"]] {
        let output = warrant(&args);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(err.contains("warrant::regex-like-glob") && err.contains("policy.warrant:3:17"), "{err}");
        assert!(err.contains("only `*` is special"), "{err}");
    }
    let denied = warrant(&["check", "--deny-warnings", policy]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(stderr(&denied).contains("denied by --deny-warnings"), "{}", stderr(&denied));
    assert!(!stdout(&denied).contains("ok:"), "{}", stdout(&denied));
    let clean = warrant(&["check", "--deny-warnings", "policies/"]);
    assert_eq!(clean.status.code(), Some(0), "the scenarios have no warning: {}", stderr(&clean));
}

#[test]
fn eval_and_test_warn_when_data_or_now_is_not_given() {
    let dir = scratch_dir("inputs_missing");
    std::fs::write(dir.join("policy.warrant"), REGEX_LIKE).unwrap();
    std::fs::write(dir.join("request.json"), r#"{"claims": {"sub": "user:1"}}"#).unwrap();
    let (policy, request) = (dir.join("policy.warrant"), dir.join("request.json"));
    let output = warrant(&["eval", policy.to_str().unwrap(), "-i", request.to_str().unwrap(), "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("warrant::data-not-given") && err.contains("warrant::now-not-given"), "{err}");
    std::fs::write(dir.join("data.json"), r#"{"deadline": 10}"#).unwrap();
    let given = dir.join("given.json");
    std::fs::write(&given, r#"{"claims": {"sub": "user:1"}, "now": 5}"#).unwrap();
    let data = dir.join("data.json");
    let args = ["eval", policy.to_str().unwrap(), "-i", given.to_str().unwrap(), "-d", data.to_str().unwrap()];
    let err = stderr(&warrant(&args));
    assert!(!err.contains("not-given"), "{err}");

    let spec = r#"{"policy": "policy.warrant", "cases": [
        {"name": "no time", "request": {"claims": {"sub": "x"}}, "expect": "deny"},
        {"name": "no time either", "request": {"claims": {"sub": "y"}}, "expect": "deny"}]}"#;
    std::fs::write(dir.join("policy.test.json"), spec).unwrap();
    let output = warrant(&["test", dir.join("policy.test.json").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("warrant::data-not-given"), "{err}");
    assert!(err.contains("case `no time`: the policy reads `now`"), "{err}");
    assert_eq!(err.matches("warrant::now-not-given").count(), 1, "once per test file: {err}");
}
