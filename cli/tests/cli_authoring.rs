//! Policy-author tooling end to end: `warrant test` on the scenario policies (and proof that a
//! broken policy line fails a named case), `warrant fmt`, and `warrant eval --explain`.
// Test code: a failed expectation should panic loudly (the workspace lints forbid it elsewhere).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::path::{Path, PathBuf};

use serde_json::Value;

mod support;
use support::{root, stderr, stdout, warrant};

/// The scenarios of issue 6, each a folder of `policies/` with its own test file.
const SCENARIOS: [&str; 9] = [
    "interactive",
    "offline",
    "automated",
    "transitive",
    "resource-pinning",
    "scope-attenuation",
    "short-lived",
    "revocation",
    "prompt-injection",
];

/// An empty scratch folder for one test, under cargo's per-target temporary directory.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli_authoring").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies the files of `policies/NAME` into a scratch folder.
fn copy_scenario(name: &str, test: &str) -> PathBuf {
    let dir = scratch_dir(test);
    for entry in std::fs::read_dir(root().join("policies").join(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn every_scenario_passes_and_every_rule_is_covered() {
    let output = warrant(&["test", "policies/"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    for scenario in SCENARIOS {
        assert!(out.contains(&format!("policies/{scenario}/policy.test.json\n")), "{out}");
    }
    assert!(!out.contains("FAIL") && !out.contains("ERROR"), "{out}");
    // Signed-token cases go through token verification first.
    assert!(out.contains("policies/short-lived/tokens.test.json\n"), "{out}");
    assert!(out.contains("  ok    token signed with another key\n"), "{out}");
    assert!(!out.contains("never fired"), "{out}");
    let summary = out.lines().last().unwrap_or("");
    assert!(summary.ends_with(" passed, 0 failed"), "{summary}");
}

#[test]
fn every_scenario_has_named_allow_and_deny_cases() {
    for scenario in SCENARIOS {
        let path = root().join("policies").join(scenario).join("policy.test.json");
        let tests: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let cases = tests["cases"].as_array().unwrap();
        let expecting = |verdict: &str| cases.iter().filter(|c| c["expect"] == verdict).count();
        assert!(expecting("allow") > 0 && expecting("deny") > 0, "{scenario}");
        assert!(cases.iter().all(|c| c["name"].as_str().is_some_and(|n| !n.is_empty())));
    }
}

#[test]
fn breaking_a_policy_line_fails_the_named_case_with_a_diff() {
    let dir = copy_scenario("revocation", "mutation");
    let test_file = dir.join("policy.test.json");
    let intact = warrant(&["test", text(&test_file)]);
    assert_eq!(intact.status.code(), Some(0), "{}", stdout(&intact));

    let policy = dir.join("policy.warrant");
    let source = std::fs::read_to_string(&policy).unwrap();
    let line = "now < exp";
    assert_eq!(source.matches(line).count(), 1);
    std::fs::write(&policy, source.replace(line, "now > exp")).unwrap();

    let broken = warrant(&["test", text(&test_file)]);
    let out = stdout(&broken);
    assert_eq!(broken.status.code(), Some(1), "{out}");
    assert!(out.contains("  FAIL  the same user's other instance still works\n"), "{out}");
    assert!(out.contains("- decision: allow\n") && out.contains("+ decision: deny\n"), "{out}");
    assert!(out.contains("`now > exp` was false: now = 1700000300, exp = 1700000900"), "{out}");
    assert!(out.contains("  ok    the revoked instance is refused\n"), "{out}");
    assert!(out.contains("never fired: ") && out.contains(" work_on_tickets\n"), "{out}");
    assert!(out.ends_with(" passed, 2 failed\n"), "{out}");
}

#[test]
fn run_filter_and_verbose() {
    let output = warrant(&["test", "policies/transitive", "--run", "deep", "--verbose"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(out.contains("  ok    four agents deep\n"), "{out}");
    assert_eq!(out.matches("  ok  ").count(), 1, "{out}");
    assert!(out.contains("why (reference evaluator):"), "{out}");
    assert!(out.contains("deny too_deep (line 21): held"), "{out}");
    assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");

    let none = warrant(&["test", "policies/transitive", "--run", "no case has this name"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("no test case ran"), "{}", stderr(&none));
}

#[test]
fn reasons_render_placeholders_and_match_by_pattern() {
    let dir = scratch_dir("reason_patterns");
    let policy =
        "package p\n\nallow any if { }\n\ndeny other \"record {resource} is not {sub}'s\" if { resource != sub }\n\n\
                  deny depth \"chain of {chain.depth}\" if { chain.depth >= 0 }\n";
    std::fs::write(dir.join("policy.warrant"), policy).unwrap();
    let case = |name: &str, reasons: &str| {
        format!(
            r#"{{"name": "{name}", "request": {{"claims": {{"sub": "u1"}}, "resource": "r7"}}, "expect": "deny", "reasons": {reasons}}}"#
        )
    };
    let cases = [
        case("exact", r#"["chain of 0", "record r7 is not u1's"]"#),
        case("globs", r#"["record * is not *", "chain of *"]"#),
        case("one star both", r#"["*", "chain*"]"#),
        case("wrong pattern", r#"["record * belongs to u1", "chain of *"]"#),
        case("too few", r#"["*"]"#),
        case("one pattern twice", r#"["chain of *", "chain of *"]"#),
    ];
    let file = dir.join("policy.test.json");
    std::fs::write(&file, format!(r#"{{"policy": "policy.warrant", "cases": [{}]}}"#, cases.join(", "))).unwrap();
    let output = warrant(&["test", text(&file)]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    let status = |name: &str| {
        let line = out.lines().find(|line| line.split_whitespace().skip(1).eq(name.split(' '))).unwrap_or("");
        line.split_whitespace().next().unwrap_or("").to_string()
    };
    for passing in ["exact", "globs", "one star both"] {
        assert_eq!(status(passing), "ok", "{passing}: {out}");
    }
    for failing in ["wrong pattern", "too few", "one pattern twice"] {
        assert_eq!(status(failing), "FAIL", "{failing}: {out}");
    }
    assert!(out.contains("+ reasons: [\"record r7 is not u1's\", \"chain of 0\"]"), "{out}");
    assert!(out.contains("3 passed, 3 failed"), "{out}");
    // The explanation shows reasons rendered, as the decision reports them.
    assert!(out.contains("deny other (line 5): held: \"record r7 is not u1's\""), "{out}");
}

#[test]
fn malformed_test_files_fail_closed() {
    let dir = copy_scenario("short-lived", "malformed");
    let file = dir.join("typo.test.json");
    let typo =
        r#"{"policy": "policy.warrant", "cases": [{"name": "n", "request": {}, "expect": "deny", "reason": ["x"]}]}"#;
    std::fs::write(&file, typo).unwrap();
    let output = warrant(&["test", text(&file)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("unknown key `reason` (did you mean `reasons`?)"), "{}", stderr(&output));

    let both = r#"{"policy": "policy.warrant", "cases": [{"name": "two requests", "request": {}, "request_file": "x.json", "expect": "deny"}]}"#;
    std::fs::write(&file, both).unwrap();
    let output = warrant(&["test", text(&file)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("ERROR two requests: test case `two requests` needs exactly one"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn fmt_check_accepts_the_policies() {
    let output = warrant(&["fmt", "--check", "policies/"]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
}

#[test]
fn fmt_rewrites_once_then_check_passes() {
    let dir = scratch_dir("fmt");
    let policy = dir.join("messy.warrant");
    let messy = "package p # keep me\nallow a if { action==\"read\" ;  chain.depth<=2 # and me\n}\n";
    std::fs::write(&policy, messy).unwrap();

    let check = warrant(&["fmt", "--check", text(&dir)]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stdout(&check).contains("not formatted: "), "{}", stdout(&check));
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), messy, "--check changes nothing");

    let format = warrant(&["fmt", text(&policy)]);
    assert_eq!(format.status.code(), Some(0), "{}", stderr(&format));
    let once = std::fs::read_to_string(&policy).unwrap();
    assert_eq!(
        once,
        "package p  # keep me\n\nallow a if {\n    action == \"read\"\n    chain.depth <= 2  # and me\n}\n"
    );
    assert_eq!(warrant(&["fmt", "--check", text(&policy)]).status.code(), Some(0));
    assert_eq!(warrant(&["fmt", text(&policy)]).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), once, "idempotent");

    std::fs::write(&policy, "package p\nallow a {\n").unwrap();
    let bad = warrant(&["fmt", text(&policy)]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("syntax error"), "{}", stderr(&bad));
}

/// A four-agent chain against the transitive policy.
fn deep_chain_request(dir: &Path) -> PathBuf {
    let mut act = serde_json::json!({"sub": "spiffe://acme.com/agents/planner"});
    for sub in ["researcher", "fetcher", "fetcher"] {
        act = serde_json::json!({"sub": format!("spiffe://acme.com/agents/{sub}"), "act": act});
    }
    let request = serde_json::json!({
        "claims": {"sub": "user:alice", "scope": "research", "iat": 1700000000, "exp": 1700000900, "act": act},
        "resource": "https://docs.acme.com/papers/42", "action": "doc.read", "now": 1700000300
    });
    let path = dir.join("request.json");
    std::fs::write(&path, request.to_string()).unwrap();
    path
}

#[test]
fn eval_explain_names_the_failed_condition_and_its_values() {
    let dir = scratch_dir("explain");
    let request = deep_chain_request(&dir);
    let args = ["eval", "policies/transitive/policy.warrant", "--input", text(&request)];
    let data = ["--data", "policies/transitive/data.json", "--explain"];

    let output = warrant(&[&args[..], &data[..], &["--format", "text"]].concat());
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(out.starts_with("DENY\n"), "{out}");
    assert!(out.contains("\nwhy:\nallow research (line 14): did not hold\n"), "{out}");
    assert!(out.contains("in rule trusted_chain (line 7):"), "{out}");
    assert!(out.contains("`chain.depth <= 3` was false: chain.depth = 4\n"), "{out}");

    let output = warrant(&[&args[..], &data[..], &["--format", "json"]].concat());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["allowed"], false);
    let research = &json["explanation"]["rules"][0];
    assert_eq!(research["name"], "research");
    let inner = &research["failed"]["because"]["failed"];
    assert_eq!(inner["condition"], "chain.depth <= 3");
    assert_eq!(inner["values"][0]["name"], "chain.depth");
    assert_eq!(inner["values"][0]["value"], 4);

    let plain = warrant(&[&args[..], &["--data", "policies/transitive/data.json", "--format", "json"]].concat());
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(plain.get("explanation").is_none(), "without --explain the decision keeps its shape");
}

#[test]
fn explain_needs_the_policy_source() {
    let dir = scratch_dir("explain_wasm");
    let module = dir.join("transitive.wasm");
    let build = warrant(&["build", "policies/transitive/policy.warrant", "-o", text(&module)]);
    assert_eq!(build.status.code(), Some(0), "{}", stderr(&build));
    let request = deep_chain_request(&dir);
    let output = warrant(&["eval", text(&module), "--input", text(&request), "--explain"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--explain needs the policy source"), "{}", stderr(&output));
}
