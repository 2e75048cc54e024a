//! `warrant revoke` under concurrent writers and readers, expiries, lifting, hostile input, and
//! `warrant eval --revocations` deciding as the gateway does.
// Test code: a failed expectation should panic loudly (the workspace lints forbid it elsewhere).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use warrant::revocation::RevocationSet;
use warrant::{ClaimMapping, Engine, Gateway, Request};

mod support;
use support::{scratch_dir, stderr, token_vector, warrant};

/// Allows anyone's `read`: whatever denies comes from the revocation check.
const OPEN_POLICY: &str = "package open\nallow anyone if {\n    action == \"read\"\n}\n";

fn ok(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn file_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The ids listed under `key` of a revocation file, in either form.
fn listed(file: &Value, key: &str) -> Vec<String> {
    match &file[key] {
        Value::Array(ids) => ids.iter().map(|id| id.as_str().unwrap().to_string()).collect(),
        Value::Object(entries) => entries.keys().cloned().collect(),
        other => panic!("`{key}` is {other}"),
    }
}

/// The decision JSON of `warrant eval POLICY --format json ARGS…`.
fn eval(policy: &str, args: &[&str]) -> Value {
    let output = warrant(&[&["eval", policy, "--format", "json"][..], args].concat());
    serde_json::from_str(&ok(&output)).unwrap()
}

fn write_request(directory: &Path, name: &str, instance: &str, now: Option<i64>) -> String {
    let act =
        json!({"sub": "spiffe://acme.com/agents/helpdesk", "client_id": "helpdesk-alice", "instance_id": instance});
    let claims = json!({"sub": "user:alice", "iss": "https://idp.acme.com", "iat": 1_700_000_000,
        "exp": 1_700_000_900, "act": act});
    let mut request = json!({"claims": claims, "resource": "https://helpdesk.acme.com/tickets/88",
        "action": "ticket.update"});
    if let Some(now) = now {
        request["now"] = json!(now);
    }
    let path = directory.join(name);
    std::fs::write(&path, request.to_string()).unwrap();
    path.display().to_string()
}

#[test]
fn concurrent_revokes_keep_every_entry_and_readers_never_see_a_partial_file() {
    const WRITERS: usize = 24;
    let directory = scratch_dir("revoke_storm");
    let file = directory.join("revoked.json");
    let file_arg = file.display().to_string();
    ok(&warrant(&["revoke", &file_arg, "--instance", "seed"]));

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (done, file) = (Arc::clone(&done), file.clone());
        std::thread::spawn(move || {
            let (mut reads, mut bad) = (0, Vec::new());
            while !done.load(Ordering::Relaxed) {
                let text = std::fs::read_to_string(&file).unwrap_or_else(|e| format!("unreadable: {e}"));
                if serde_json::from_str::<Value>(&text).map_or(true, |v| !v["instances"].is_array()) {
                    bad.push(text);
                }
                reads += 1;
            }
            (reads, bad)
        })
    };
    // Every writer is started before any is waited for.
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_warrant"))
                .args(["revoke", &file_arg, "--instance", &format!("run-{i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = writers.into_iter().map(|writer| writer.wait_with_output().unwrap()).collect();
    done.store(true, Ordering::Relaxed);
    let (reads, bad) = reader.join().unwrap();

    let failed: Vec<String> = outputs.iter().filter(|o| !o.status.success()).map(stderr).collect();
    assert!(failed.is_empty(), "{} writer(s) failed: {failed:?}", failed.len());
    let mut expected: Vec<String> = (0..WRITERS).map(|i| format!("run-{i}")).chain(["seed".to_string()]).collect();
    expected.sort();
    assert_eq!(listed(&file_json(&file), "instances"), expected);
    assert!(reads > 0 && bad.is_empty(), "{} of {reads} reads saw a broken file, e.g. {:?}", bad.len(), bad.first());
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn expiring_revocations_refuse_until_their_expiry_and_are_pruned_on_the_next_write() {
    let directory = scratch_dir("revoke_expiry");
    let (file, policy) = (directory.join("revoked.json"), directory.join("open.warrant"));
    let (file_arg, policy_arg) = (file.display().to_string(), policy.display().to_string());
    std::fs::write(&policy, OPEN_POLICY.replace("\"read\"", "\"ticket.update\"")).unwrap();
    let lapsed = json!({"instances": {"run-5": {"expires": 1_700_000_300}, "run-6": {"expires": 253_402_300_799_i64}},
        "client_ids": ["helpdesk-bob"]});
    std::fs::write(&file, lapsed.to_string()).unwrap();

    let decide = |now: Option<i64>| {
        let request = write_request(&directory, "request.json", "run-5", now);
        eval(&policy_arg, &["--input", &request, "--revocations", &file_arg])
    };
    assert_eq!(decide(Some(1_700_000_299))["deny_reasons"], json!(["revoked agent instance `run-5`"]));
    assert_eq!(decide(Some(1_700_000_300))["allowed"], true, "lapsed at its expiry");
    let unknown_time = decide(None);
    assert_eq!(unknown_time["deny_reasons"], json!(["revoked agent instance `run-5`"]), "no `now`: in force");

    let before = unix_now();
    ok(&warrant(&["revoke", &file_arg, "--jti", "t-1", "--expires", "2h"]));
    let after = unix_now();
    let written = file_json(&file);
    assert_eq!(listed(&written, "instances"), ["run-6"], "the lapsed run-5 is pruned, run-6 kept");
    assert_eq!(written["client_ids"], json!(["helpdesk-bob"]), "entries without expiry keep the array form");
    let expires = written["jtis"]["t-1"]["expires"].as_i64().unwrap();
    assert!((before + 7_200..=after + 7_200).contains(&expires), "{expires}");

    ok(&warrant(&["revoke", &file_arg, "--jti", "t-2", "--expires", "2100-01-01T00:00:00Z"]));
    assert_eq!(file_json(&file)["jtis"]["t-2"], json!({"expires": 4_102_444_800_i64}));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn lift_removes_the_named_revocations_only() {
    let directory = scratch_dir("revoke_lift");
    let file = directory.join("revoked.json");
    let file_arg = file.display().to_string();
    ok(&warrant(&["revoke", &file_arg, "--instance", "a", "--instance", "b", "--client-id", "c", "--jti", "j"]));
    ok(&warrant(&["revoke", &file_arg, "--instance", "d", "--expires", "1d"]));
    let summary =
        ok(&warrant(&["revoke", &file_arg, "--lift", "--instance", "a", "--instance", "d", "--client-id", "c"]));
    assert!(summary.contains("1 instance(s), 0 client(s), 1 token(s) revoked"), "{summary}");
    assert_eq!(file_json(&file), json!({"instances": ["b"], "client_ids": [], "jtis": ["j"]}));
    ok(&warrant(&["revoke", &file_arg, "--lift", "--jti", "never-revoked"]));
    assert_eq!(file_json(&file), json!({"instances": ["b"], "client_ids": [], "jtis": ["j"]}));

    let before = std::fs::read(&file).unwrap();
    for usage in [vec!["--lift"], vec!["--expires", "2h"], vec!["--lift", "--expires", "2h", "--jti", "j"]] {
        let output = warrant(&[&["revoke", file_arg.as_str()], usage.as_slice()].concat());
        assert!(!output.status.success(), "{usage:?} was accepted");
    }
    assert_eq!(std::fs::read(&file).unwrap(), before);
    std::fs::remove_dir_all(&directory).unwrap();
}

/// `warrant eval --revocations` and a gateway given the same file decide alike.
#[test]
fn eval_with_revocations_denies_as_the_gateway_does() {
    let directory = scratch_dir("revoke_eval");
    let file = directory.join("revoked.json");
    let file_arg = file.display().to_string();
    ok(&warrant(&["revoke", &file_arg, "--instance", "run-1", "--jti", "jti-1"]));
    let policy_path = "policies/revocation/policy.warrant";
    let data_path = "policies/revocation/data.json";
    let source = std::fs::read_to_string(support::root().join(policy_path)).unwrap();
    let data: Value = serde_json::from_str(&std::fs::read_to_string(support::root().join(data_path)).unwrap()).unwrap();
    let policy = Engine::new().unwrap().compile_policy(&source, policy_path).unwrap();
    let gateway = Gateway::new(&policy, data).unwrap();
    gateway.revoke_all(&RevocationSet::from_json_str(&std::fs::read_to_string(&file).unwrap()).unwrap()).unwrap();

    for (instance, reason) in
        [("run-1", "revoked agent instance `run-1`"), ("run-2", "revoked agent instance `run-2`"), ("run-3", "")]
    {
        let request_path = write_request(&directory, &format!("{instance}.json"), instance, Some(1_700_000_300));
        let request = std::fs::read_to_string(&request_path).unwrap();
        let expected = gateway.decide(&Request::from_json_str(&request, &ClaimMapping::default()).unwrap()).decision;
        let decided = eval(policy_path, &["--input", &request_path, "--data", data_path, "--revocations", &file_arg]);
        assert_eq!(decided, serde_json::to_value(&expected).unwrap(), "{instance}");
        assert_eq!(expected.deny_reasons.join(""), reason, "{instance}");
    }

    let open = directory.join("open.warrant");
    std::fs::write(&open, OPEN_POLICY).unwrap();
    let token = token_vector("rs256");
    let token_args = |revocations: &str| {
        let args = ["--token", &token, "--jwks", "engine/tests/vectors/keys/rsa.jwks.json", "--issuer"];
        let more = ["https://rsa.example", "--alg", "RS256", "--resource", "https://api.example", "--action", "read"];
        let last = ["--now", "1800000000", "--revocations", revocations];
        eval(open.to_str().unwrap(), &[&args[..], &more, &last].concat())
    };
    assert_eq!(token_args(&file_arg)["deny_reasons"], json!(["revoked token: jti `jti-1`"]));
    ok(&warrant(&["revoke", &file_arg, "--lift", "--jti", "jti-1"]));
    assert_eq!(token_args(&file_arg)["allowed"], true);

    ok(&warrant(&["revoke", &file_arg, "--lift", "--instance", "run-1"]));
    let lifted = RevocationSet::from_json_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    gateway.replace_revocations(&lifted).unwrap();
    let run_1 = Request::from_json_str(
        &std::fs::read_to_string(directory.join("run-1.json")).unwrap(),
        &ClaimMapping::default(),
    );
    assert!(gateway.decide(&run_1.unwrap()).decision.allowed, "a lift reaches the gateway");
    let run_2 = Request::from_json_str(
        &std::fs::read_to_string(directory.join("run-2.json")).unwrap(),
        &ClaimMapping::default(),
    );
    assert!(!gateway.decide(&run_2.unwrap()).decision.allowed, "ids the data lists stay revoked");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn hostile_revocation_input_is_refused_and_the_file_left_untouched() {
    let directory = scratch_dir("revoke_hostile");
    let file = directory.join("revoked.json");
    let file_arg = file.display().to_string();
    let open = directory.join("open.warrant");
    std::fs::write(&open, OPEN_POLICY).unwrap();
    let request = directory.join("request.json");
    std::fs::write(&request, r#"{"claims": {"sub": "u"}, "action": "read"}"#).unwrap();
    let eval_args = ["eval", open.to_str().unwrap(), "--input", request.to_str().unwrap(), "--revocations", &file_arg];

    for (content, message) in [
        ("", "not valid JSON"),
        ("{\"instances\": [\"a\", 1]}", "`instances` must be an array of strings or an object"),
        ("{\"instance\": [\"a\"]}", "unknown key `instance`"),
        ("[\"a\"]", "must be a JSON object"),
        ("{\"jtis\": {\"a\": {\"expires\": -5}}}", "found -5"),
        ("{\"jtis\": {\"a\": {\"expires\": 1e300}}}", "found 1e+300"),
        ("{\"jtis\": {\"a\": {\"expires\": 253402300800}}}", "from 0 to 253402300799"),
        ("{\"jtis\": {\"a\": {\"expires\": \"2h\"}}}", "found a string"),
    ] {
        std::fs::write(&file, content).unwrap();
        for output in [warrant(&["revoke", &file_arg, "--jti", "x"]), warrant(&eval_args)] {
            assert_eq!(output.status.code(), Some(1), "{content}");
            assert!(stderr(&output).contains(message), "{content}: {}", stderr(&output));
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap(), content, "the file is left as it was");
    }

    std::fs::remove_file(&file).unwrap();
    ok(&warrant(&["revoke", &file_arg, "--jti", "a"]));
    let before = std::fs::read(&file).unwrap();
    for (expires, message) in [
        ("2 weeks", "neither a duration"),
        ("-1h", "neither a duration"),
        ("1.5h", "neither a duration"),
        ("0s", "not in the future"),
        ("1999-01-01T00:00:00Z", "not in the future"),
        ("99999999999999999999d", "later than 9999"),
        ("253402300800", "later than 9999"),
    ] {
        let output = warrant(&["revoke", &file_arg, "--jti", "b", &format!("--expires={expires}")]);
        assert!(!output.status.success() && stderr(&output).contains(message), "{expires}: {}", stderr(&output));
    }
    assert_eq!(std::fs::read(&file).unwrap(), before);

    let lock = std::fs::File::create(directory.join("revoked.json.lock")).unwrap();
    lock.lock().unwrap();
    let output = warrant(&["revoke", &file_arg, "--jti", "b", "--lock-timeout", "0"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("locked by another writer"), "{}", stderr(&output));
    assert_eq!(std::fs::read(&file).unwrap(), before);
    lock.unlock().unwrap();
    ok(&warrant(&["revoke", &file_arg, "--jti", "b", "--lock-timeout", "0"]));
    std::fs::remove_dir_all(&directory).unwrap();
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
