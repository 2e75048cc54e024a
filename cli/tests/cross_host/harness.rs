//! The cross-host conformance checks, written once and run against every host other than the
//! Rust engine (the JS host in cross_host.rs, the Python host in cross_host_python.rs): each
//! check decides with the Rust engine and with the host's batch runner and requires the same
//! outcomes.
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};
use warrant::{ClaimMapping, Engine, EngineError, Policy, Request, RequestError};

use super::batch::{scratch_dir, BatchEntry};
use super::corpus::{self, Case, Expect, Subject};
use super::gen;
use super::handmade::{manifest_v2, patch_manifest, DecideBody, Handmade};
use warrant_wasm::abi::{ABI_VERSION_MAJOR, ABI_VERSION_WORD};

/// The batch runners' verdict on a guest that changed memory outside its output area.
pub const STRAY_WRITE: &str = "guest_wrote_outside_output";
/// Generated requests per policy, on top of its hand-written cases.
const GENERATED_PER_POLICY: usize = 400;
/// Error classes whose wording comes from each host's own JSON parser or Wasm runtime; only the
/// class must agree. All other messages must be identical.
const HOST_WORDED_ERRORS: [&str; 5] = ["json", "trap", "invalid_module", "abi_mismatch", "manifest"];

/// A host under test: how to run its batch runner (see hosts/js/batch.mjs) and its CLI.
pub struct Host {
    /// Its name in failure messages and scratch directories.
    pub name: &'static str,
    /// Decides every request of every entry in one process (see node::run_batch).
    pub run_batch: fn(&Path, &[BatchEntry]) -> Vec<Value>,
    /// Runs its CLI with `POLICY --input REQUEST [--data DATA]`.
    pub cli: fn(&[&OsStr]) -> Output,
}

impl Host {
    fn scratch_dir(&self, test: &str) -> PathBuf {
        scratch_dir(&format!("{}_{test}", self.name))
    }
}

/// Every example and conformance policy, with its hand-written cases and generated requests,
/// decides identically in the Rust engine and in `host`; the hand-written expectations hold and
/// every rule of the conformance corpus fires.
pub fn check_conformance(host: &Host) {
    let dir = host.scratch_dir("conformance");
    let engine = Engine::new().expect("wasmtime starts");
    let mut failures = Vec::new();
    let mut entries = Vec::new();
    let mut expected = Vec::new();
    for (index, subject) in corpus::examples().into_iter().chain(corpus::conformance()).enumerate() {
        let policy =
            load(&engine, &subject.wasm, subject.data.as_deref()).unwrap_or_else(|e| panic!("{}: {e}", subject.name));
        let cases = with_generated_requests(&subject, &policy, index as u64);
        let outcomes: Vec<Value> = cases.iter().map(|case| rust_outcome(&policy, &case.request)).collect();
        for (case, outcome) in cases.iter().zip(&outcomes) {
            if let Some(problem) = case.expect.as_ref().and_then(|expect| unmet(expect, outcome)) {
                failures.push(format!("{} / {}: Rust engine: {problem}", subject.name, case.label));
            }
        }
        failures.extend(uncovered_rules(&subject, &policy, &outcomes));
        let requests = cases.iter().map(|c| c.request.clone()).collect();
        entries.push(BatchEntry::written(&dir, index, &subject.wasm, subject.data.clone(), requests));
        expected.push((subject.name, cases, outcomes));
    }
    let host_name = host.name;
    let mut compared = 0;
    let mut oversized = 0;
    for ((name, cases, rust), other) in expected.iter().zip((host.run_batch)(&dir, &entries)) {
        let Some(other) = other.as_array() else {
            failures.push(format!("{name}: the {host_name} host cannot load the policy: {other}"));
            continue;
        };
        if other.len() != rust.len() {
            failures.push(format!("{name}: the {host_name} host answered {} of {} requests", other.len(), rust.len()));
        }
        for ((case, rust), other) in cases.iter().zip(rust).zip(other) {
            compared += 1;
            oversized += usize::from(other["error"]["code"] == json!("encode"));
            if !agree(rust, other) {
                failures.push(format!(
                    "{name} / {}\n  request: {}\n  rust: {rust}\n  {host_name}: {other}",
                    case.label,
                    abbreviate(&case.request)
                ));
            }
        }
    }
    if oversized == 0 {
        failures.push("no request was too large to encode: the size limit went untested".to_string());
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} outcomes differ or are wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The host's CLI prints the decision `warrant eval --format json` prints, byte for byte.
pub fn check_cli_prints_what_warrant_eval_prints(host: &Host) {
    let dir = host.scratch_dir("cli");
    for (index, subject) in corpus::examples().into_iter().enumerate() {
        let wasm = dir.join(format!("example{index}.wasm"));
        let data = dir.join(format!("example{index}.json"));
        std::fs::write(&wasm, &subject.wasm).expect("write the module");
        std::fs::write(&data, subject.data.as_deref().unwrap_or("{}")).expect("write the data");
        for case in &subject.cases {
            let input = dir.join("request.json");
            std::fs::write(&input, &case.request).expect("write the request");
            let args = [wasm.as_os_str(), "--input".as_ref(), input.as_os_str(), "--data".as_ref(), data.as_os_str()];
            let rust = std::process::Command::new(env!("CARGO_BIN_EXE_warrant"))
                .arg("eval")
                .args(args)
                .args(["--format", "json"])
                .output()
                .expect("the warrant binary runs");
            let other = (host.cli)(&args);
            let label = format!("{} / {}", subject.name, case.label);
            assert_eq!(rust.status.code(), Some(0), "{label}: {}", String::from_utf8_lossy(&rust.stderr));
            assert_eq!(other.status.code(), Some(0), "{label}: {}", String::from_utf8_lossy(&other.stderr));
            assert_eq!(String::from_utf8_lossy(&other.stdout), String::from_utf8_lossy(&rust.stdout), "{label}");
        }
    }
}

/// A request that is not UTF-8, or over the 1 MiB cap, is an exit-1 error with a message.
pub fn check_cli_fails_cleanly_on_bad_input(host: &Host) {
    let dir = host.scratch_dir("cli_errors");
    let example = corpus::examples().remove(0);
    let wasm = dir.join("example.wasm");
    std::fs::write(&wasm, &example.wasm).expect("write the module");
    let not_utf8 = dir.join("not_utf8.json");
    std::fs::write(&not_utf8, b"{\"action\": \"\xff\"}").expect("write the request");
    let oversized = dir.join("oversized.json");
    std::fs::write(&oversized, vec![b' '; (1 << 20) + 1]).expect("write the request");
    for (input, message) in [(&not_utf8, "invalid request JSON"), (&oversized, "larger than the 1048576-byte limit")] {
        let output = (host.cli)(&[wasm.as_os_str(), "--input".as_ref(), input.as_os_str()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(message), "{stderr}");
        assert!(output.stdout.is_empty());
    }
}

/// Another ABI major is refused by both hosts with a clear message, whether the manifest or the
/// code says so; a higher minor is accepted. Guests that trap, misreport or need more memory than
/// they allow end in errors, never in a crashed host; the host keeps deciding afterwards.
pub fn check_contract(host: &Host) {
    let dir = host.scratch_dir("contract");
    let engine = Engine::new().expect("wasmtime starts");
    let example = corpus::conformance().remove(0);
    let bump = |field: &'static str, to: u64| move |manifest: &mut Value| manifest["abi_version"][field] = json!(to);
    let next = u64::from(ABI_VERSION_MAJOR) + 1;
    let next_word = (i32::from(ABI_VERSION_MAJOR) + 1) << 16;
    let handmade = |abi_version_word, decide, max_pages| {
        Handmade { abi_version_word, decide, max_pages, ..Handmade::new(manifest_v2()) }.encode()
    };
    let small = r#"{"claims": {"blob": "x"}}"#.to_string();
    let blob = json!({"claims": {"blob": "b".repeat(100_000)}}).to_string();
    let example_request = example.cases[0].request.clone();
    let scenario = |label, wasm, requests: &[&String], expected_error| Scenario {
        label,
        wasm,
        requests: requests.iter().map(|r| r.to_string()).collect(),
        expected_error,
    };
    let scenarios = [
        scenario(
            "manifest says the next ABI",
            patch_manifest(&example.wasm, bump("major", next)),
            &[],
            Some("abi_mismatch"),
        ),
        scenario(
            "code says the next ABI",
            handmade(next_word, DecideBody::Returns(0), None),
            &[],
            Some("abi_mismatch"),
        ),
        scenario(
            "a newer minor is compatible",
            patch_manifest(&example.wasm, bump("minor", 7)),
            &[&example_request],
            None,
        ),
        scenario("guest traps", handmade(ABI_VERSION_WORD, DecideBody::Traps, None), &[&small, &small], Some("trap")),
        scenario(
            "guest rejects images",
            handmade(ABI_VERSION_WORD, DecideBody::Returns(-3), None),
            &[&small],
            Some("guest_rejected"),
        ),
        scenario(
            "verdict without fired rule",
            handmade(ABI_VERSION_WORD, DecideBody::Returns(1), None),
            &[&small],
            Some("inconsistent_verdict"),
        ),
        scenario(
            "verdict out of range",
            handmade(ABI_VERSION_WORD, DecideBody::Returns(7), None),
            &[&small],
            Some("inconsistent_verdict"),
        ),
        scenario(
            "guest writes outside its output",
            handmade(ABI_VERSION_WORD, DecideBody::WritesAt(8), None),
            &[&small],
            Some(STRAY_WRITE),
        ),
        scenario(
            "memory capped at one page",
            handmade(ABI_VERSION_WORD, DecideBody::Returns(0), Some(1)),
            &[&blob, &small],
            None,
        ),
    ];
    let mut entries = Vec::new();
    let mut rust = Vec::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let path = dir.join(format!("module{index}.wasm"));
        std::fs::write(&path, &scenario.wasm).expect("write the module");
        entries.push(BatchEntry { wasm: path, data: None, requests: scenario.requests.clone() });
        rust.push(match load(&engine, &scenario.wasm, None) {
            Ok(policy) => Value::Array(scenario.requests.iter().map(|r| rust_outcome(&policy, r)).collect()),
            Err(error) => {
                json!({"load_error": error_json(error.code(), error.to_string())})
            }
        });
    }
    let other = (host.run_batch)(&dir, &entries);
    let host_name = host.name;
    for ((Scenario { label, requests, expected_error, .. }, rust), other) in scenarios.iter().zip(&rust).zip(&other) {
        let pairs: Vec<(&Value, &Value)> = match (rust.get("load_error"), other.get("load_error")) {
            (Some(rust), Some(other)) => vec![(rust, other)],
            (None, None) => rust.as_array().into_iter().flatten().zip(other.as_array().into_iter().flatten()).collect(),
            _ => panic!("{label}: only one host loads the module\n  rust: {rust}\n  {host_name}: {other}"),
        };
        assert_eq!(pairs.len(), requests.len().max(1), "{label}: {other}");
        for (rust, other) in pairs {
            let (rust, other) = (wrap_error(rust), wrap_error(other));
            // Only the batch runners watch guest memory; the Rust engine decides regardless.
            if *expected_error != Some(STRAY_WRITE) {
                assert!(agree(&rust, &other), "{label}\n  rust: {rust}\n  {host_name}: {other}");
            }
            if let Some(code) = expected_error {
                assert_eq!(other["error"]["code"], json!(code), "{label}: {other}");
            }
        }
    }
    let abi_refusal = other[0]["load_error"]["message"].as_str().unwrap_or_default();
    let (uses, supports) = (format!("ABI {next}.x"), format!("supports ABI {ABI_VERSION_MAJOR}.x"));
    assert!(abi_refusal.contains(&uses) && abi_refusal.contains(&supports), "{abi_refusal}");
    let capped = &other[8];
    assert_eq!(capped[0]["error"]["code"], json!("input_too_large"), "{capped}");
    assert_eq!(capped[1]["decision"]["deny_reasons"], json!(["no allow rule matched"]), "{capped}");
}

/// A module for the contract test, the requests to decide with it, and the error class every
/// outcome (or the load) must end in, if any.
struct Scenario {
    label: &'static str,
    wasm: Vec<u8>,
    requests: Vec<String>,
    expected_error: Option<&'static str>,
}

/// A pathological glob against a 900 KB subject (issue 10, item 9): the matching budget makes
/// the test undecided in the guest itself, so both hosts answer the same deny at once instead
/// of one running for seconds and then allowing.
pub fn check_pathological_globs(host: &Host) {
    let dir = host.scratch_dir("glob");
    let pattern = format!("{}b", "*a".repeat(40));
    let source = format!(
        "package glob\nallow listed if {{ sub matches \"{pattern}\" }}\ndeny odd \"odd subject\" if {{ sub matches \"{pattern}\" }}\n"
    );
    let policy = Engine::new().expect("wasmtime starts").compile_policy(&source, "glob.warrant").expect("compiles");
    let wasm = dir.join("glob.wasm");
    std::fs::write(&wasm, policy.wasm_bytes()).expect("write the module");
    let long = json!({"claims": {"sub": "a".repeat(900_000)}}).to_string();
    let short = json!({"claims": {"sub": format!("{}b", "a".repeat(50))}}).to_string();
    let rust: Vec<Value> = [&long, &short].iter().map(|r| rust_outcome(&policy, r)).collect();
    let other = (host.run_batch)(&dir, &[BatchEntry { wasm, data: None, requests: vec![long, short] }]);
    assert_eq!(other[0], Value::Array(rust.clone()), "hosts disagree");
    let reason = format!(
        "odd subject (cannot be decided: sub is too long to match against a {}-byte pattern \
         (limit: 16777216 bytes × pattern bytes))",
        pattern.len()
    );
    assert_eq!(rust[0]["decision"]["deny_reasons"], json!([reason]), "{}", rust[0]);
    assert_eq!(rust[0]["decision"]["allowed"], json!(false));
    assert_eq!(rust[1]["decision"]["deny_reasons"], json!(["odd subject"]), "a short subject is decided");
}

/// Data documents that contradict the policy (issue 10, item 2) are refused by both hosts with
/// the same message naming the path, and a malformed revocation list likewise.
pub fn check_data_shape_refusals(host: &Host) {
    let dir = host.scratch_dir("data_shape");
    let source = "package shape\nallow a if { sub in data.blocked; data.agents[act.client_id].level >= 2 }\n";
    let engine = Engine::new().expect("wasmtime starts");
    let wasm_bytes = engine.compile_policy(source, "shape.warrant").expect("compiles").wasm_bytes().to_vec();
    let wasm = dir.join("shape.wasm");
    std::fs::write(&wasm, &wasm_bytes).expect("write the module");
    let documents = [
        r#"{"blocked": ["u", 1]}"#,
        r#"{"blocked": "u"}"#,
        r#"["u"]"#,
        r#"{"blocked": null}"#,
        r#"{"agents": {"bot": {"level": "high"}}}"#,
        r#"{"agents": {"bot": "x"}}"#,
        r#"{"agents": {"bot": {"level": 1.5}}}"#,
        r#"{"revoked_instances": [1]}"#,
        r#"{"revoked_jtis": {"t": {"expires": -1}}}"#,
    ];
    let entries: Vec<BatchEntry> = documents
        .iter()
        .map(|data| BatchEntry { wasm: wasm.clone(), data: Some(data.to_string()), requests: vec![] })
        .collect();
    let other = (host.run_batch)(&dir, &entries);
    for (data, other) in documents.iter().zip(&other) {
        let rust = match load(&engine, &wasm_bytes, Some(data)) {
            Err(error) => error_json(error.code(), error.to_string()),
            Ok(_) => panic!("the Rust host accepted {data}"),
        };
        assert_eq!(other["load_error"], rust["error"], "{data}");
        assert_eq!(rust["error"]["code"], json!("data"), "{data}");
    }
}

/// Hand-written cases, `GENERATED_PER_POLICY` generated requests and the edge requests.
/// Generation starts from the hand-written requests, or from an empty request when there are none.
pub fn with_generated_requests(subject: &Subject, policy: &Policy, seed: u64) -> Vec<Case> {
    let mut bases: Vec<Value> = subject
        .cases
        .iter()
        .filter_map(|case| serde_json::from_str::<Value>(&case.request).ok())
        .filter(|request| request.is_object() && request.get("claims").is_none_or(Value::is_object))
        .collect();
    if bases.is_empty() {
        bases.push(json!({"claims": {}}));
    }
    let data: Value = serde_json::from_str(subject.data.as_deref().unwrap_or("{}")).expect("data JSON");
    let alphabet = gen::Alphabet::new(policy.manifest(), &data, &bases);
    let mut rng = gen::Rng::new(0x5eed_0000 + seed);
    let generated = gen::requests(&alphabet, &bases, &mut rng, GENERATED_PER_POLICY);
    let edges = gen::edge_requests(&alphabet, &bases[0], &mut rng);
    let mut cases = subject.cases.clone();
    cases.extend(generated.into_iter().enumerate().map(|(i, request)| Case {
        label: format!("generated #{i}"),
        request,
        expect: None,
    }));
    cases.extend(edges);
    cases
}

/// Every allow and deny rule fired for some request, so that no rule goes untested (for the
/// subjects written to guarantee it).
fn uncovered_rules(subject: &Subject, policy: &Policy, outcomes: &[Value]) -> Option<String> {
    if !subject.every_rule_fires {
        return None;
    }
    let fired: BTreeSet<&str> = outcomes
        .iter()
        .filter_map(|outcome| outcome["decision"]["fired"].as_array())
        .flatten()
        .filter_map(|rule| rule["name"].as_str())
        .collect();
    let never: Vec<&str> = policy
        .manifest()
        .rules
        .iter()
        .filter(|rule| rule.kind != warrant_lang::ir::RuleKind::Helper && !fired.contains(rule.name.as_str()))
        .map(|rule| rule.name.as_str())
        .collect();
    (!never.is_empty()).then(|| format!("{}: no request made these rules fire: {never:?}", subject.name))
}

fn load(engine: &Engine, wasm: &[u8], data: Option<&str>) -> Result<Policy, EngineError> {
    let policy = engine.load_wasm(wasm)?;
    if let Some(data) = data {
        policy.replace_shared_data(&serde_json::from_str(data).expect("data documents are JSON"))?;
    }
    Ok(policy)
}

/// What the Rust engine makes of a request text, in the batch runners' output shape.
fn rust_outcome(policy: &Policy, request: &str) -> Value {
    match Request::from_json_str(request, &ClaimMapping::default()) {
        Err(error @ RequestError::Json(_)) => error_json("json", format!("invalid request: {error}")),
        Err(error) => error_json("request", format!("invalid request: {error}")),
        Ok(request) => match policy.decide(&request) {
            Ok(decision) => json!({"decision": decision}),
            Err(error) => error_json(error.code(), error.to_string()),
        },
    }
}

fn error_json(code: &str, message: String) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// A bare `{"code", "message"}` (a load error) as an outcome.
fn wrap_error(outcome: &Value) -> Value {
    if outcome.get("code").is_some() {
        json!({"error": outcome})
    } else {
        outcome.clone()
    }
}

/// Identical decisions; errors of the same class, worded identically unless the wording comes
/// from a host's own parser or runtime.
fn agree(rust: &Value, other: &Value) -> bool {
    match (rust.get("error"), other.get("error")) {
        (Some(rust), Some(other)) => {
            rust["code"] == other["code"]
                && (rust["message"] == other["message"]
                    || rust["code"].as_str().is_some_and(|code| HOST_WORDED_ERRORS.contains(&code)))
        }
        _ => rust == other,
    }
}

/// Why `outcome` does not meet `expect`, if it does not.
fn unmet(expect: &Expect, outcome: &Value) -> Option<String> {
    match expect {
        Expect::Error { code, message } => {
            let error = &outcome["error"];
            let wrong = error["code"] != json!(code) || message.as_ref().is_some_and(|m| error["message"] != json!(m));
            wrong.then(|| format!("expected a `{code}` error {message:?}, got {outcome}"))
        }
        Expect::Decision { allowed, fired, deny_reasons } => {
            let decision = &outcome["decision"];
            let names: Vec<&str> =
                decision["fired"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
            let wrong = decision["allowed"] != json!(allowed)
                || fired.as_ref().is_some_and(|fired| names != fired.iter().map(String::as_str).collect::<Vec<_>>())
                || deny_reasons.as_ref().is_some_and(|reasons| decision["deny_reasons"] != json!(reasons));
            wrong.then(|| format!("expected allowed={allowed} fired={fired:?} reasons={deny_reasons:?}, got {outcome}"))
        }
    }
}

fn abbreviate(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_string(),
    }
}
