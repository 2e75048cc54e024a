//! Author safety nets end to end: a misspelt key in a test file is named with the key meant.
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
