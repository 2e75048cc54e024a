//! `warrant serve`, the real binary: started with flags on a free port (found from its
//! `listening on` line), one decision over HTTP, reload on SIGHUP, graceful exit on SIGTERM.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ALLOWS: &str = "package test.swap\n\nallow reading if {\n    action == \"read\"\n}\n";
const DENIES: &str = "package test.swap\n\nallow writing if {\n    action == \"write\"\n}\n";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// A running `warrant serve`, its address and its stderr lines; killed if a test fails early.
struct Served {
    child: Child,
    addr: String,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warrant"))
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        let mut served = Served { child, addr: String::new(), lines, seen: Vec::new() };
        let line = served.wait_for_line(|line| line.starts_with("listening on http://"));
        served.addr = line.trim_start_matches("listening on http://").trim().to_string();
        served
    }

    /// The first stderr line (from now on, or already seen) that `matches`; fails after 60 s.
    fn wait_for_line(&mut self, matches: impl Fn(&str) -> bool) -> String {
        if let Some(line) = self.seen.iter().find(|line| matches(line)) {
            return line.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if matches(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no such line on stderr; seen: {:#?}", self.seen),
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill").args([format!("-{name}"), self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Sends SIGTERM and waits (at most 30 s) for the exit code.
    fn terminate(mut self) -> Option<i32> {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "still running 30 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One `POST` over a fresh connection: the status and the JSON answer.
    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        let (_, body) = response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no body in {response}"));
        (status, serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON body, got {response}")))
    }
}

#[test]
fn serve_with_flags_decides_and_exits_zero_on_sigterm() {
    let root = repo_root();
    let policy = root.join("policies/agent-tools");
    let data = root.join("policies/agent-tools/data.json");
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(policy.join("policy.test.json")).unwrap()).unwrap();
    let mut served =
        Served::start(&[policy.to_str().unwrap(), "--data", data.to_str().unwrap(), "--log-format", "json"]);
    for case in cases["cases"].as_array().unwrap().iter().take(2) {
        let (status, answer) = served.post("/v1/decide", &case["request"]);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["allowed"], case["expect"] == "allow", "{answer}");
        assert_eq!(answer["policy"]["package"], "acme.agent_tools");
    }
    // The start event is a JSON log line naming the policy's hash.
    let started = served.wait_for_line(|line| line.contains("warrant serve listening"));
    let event: Value = serde_json::from_str(&started).unwrap_or_else(|_| panic!("a JSON log line: {started}"));
    assert_eq!(event["level"], "INFO");
    assert!(event["hash"].as_str().is_some_and(|hash| hash.len() == 64), "{event}");
    assert_eq!(served.terminate(), Some(0), "graceful shutdown exits 0");
}

#[test]
fn sighup_reloads_the_policy_file() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.warrant");
    std::fs::write(&policy, ALLOWS).unwrap();
    // No file watching: only the signal can make the change visible.
    let mut served = Served::start(&[policy.to_str().unwrap(), "--no-watch"]);
    let request = json!({ "claims": { "sub": "user:ann" }, "resource": "doc:1", "action": "read" });
    let (status, first) = served.post("/v1/decide", &request);
    assert_eq!((status, first["allowed"].clone()), (200, json!(true)), "{first}");

    std::fs::write(&policy, DENIES).unwrap();
    served.signal("HUP");
    let reloaded = served.wait_for_line(|line| line.contains("policy reloaded"));
    assert!(reloaded.contains("sighup"), "{reloaded}");
    let old_hash = first["policy"]["hash"].as_str().unwrap();
    assert!(reloaded.contains(old_hash), "the old hash is logged: {reloaded}");
    let (_, after) = served.post("/v1/decide", &request);
    assert_eq!(after["allowed"], false, "{after}");
    let new_hash = after["policy"]["hash"].as_str().unwrap();
    assert_ne!(new_hash, old_hash);
    assert!(reloaded.contains(new_hash), "the new hash is logged: {reloaded}");
    assert_eq!(served.terminate(), Some(0));
}

#[test]
fn serve_with_mcp_flags_is_an_mcp_gateway_that_refuses_a_call_without_a_token() {
    let root = repo_root();
    let policy = root.join("policies/mcp");
    let data = root.join("policies/mcp/data.json");
    let jwks = root.join("server/tests/keys/k1.jwks.json");
    let served = Served::start(&[
        policy.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--issuer",
        "https://idp.test",
        "--jwks-file",
        jwks.to_str().unwrap(),
        "--algorithm",
        "ES256",
        "--mcp-upstream",
        "http://127.0.0.1:9/mcp",
        "--mcp-resource",
        "https://tools.acme.com/mcp",
    ]);
    let initialize = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} });
    let (status, answer) = served.post("/mcp", &initialize);
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["message"], "unauthorized: no_token", "{answer}");
    assert_eq!(served.terminate(), Some(0));
}
