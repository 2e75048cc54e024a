//! The conformance corpus: the example policies with their sample requests, and
//! tests/conformance/*/ (policy.warrant, data.json, cases.json with expected decisions).
use std::path::Path;

use serde_json::Value;

use super::batch::repo_root;

/// A policy under test, built with the Rust API, with its data document and hand-written cases.
pub struct Subject {
    pub name: String,
    pub wasm: Vec<u8>,
    pub data: Option<String>,
    pub cases: Vec<Case>,
    /// Whether the cases plus generated requests must make every allow and deny rule fire: true
    /// for the conformance corpus, which is written so; the examples belong to their authors.
    pub every_rule_fires: bool,
}

/// One request (as JSON text) and, for hand-written cases, what it must decide.
#[derive(Clone)]
pub struct Case {
    pub label: String,
    pub request: String,
    pub expect: Option<Expect>,
}

/// The expected outcome of a hand-written case.
#[derive(Clone)]
pub enum Expect {
    /// `fired`: the allow/deny rule names in rule order, when the case states them;
    /// `deny_reasons`: the reasons exactly as rendered, when the case states them.
    Decision { allowed: bool, fired: Option<Vec<String>>, deny_reasons: Option<Vec<String>> },
    /// An error of this class (see hosts/js/errors.mjs), with this exact message if stated.
    Error { code: String, message: Option<String> },
}

/// Every policy under policies/ (`**/*.warrant`), with the `data.json` and the `allow*.json` /
/// `deny*.json` sample requests of its folder (which must decide as their names say), if any.
pub fn examples() -> Vec<Subject> {
    let mut sources = Vec::new();
    find_policies(&repo_root().join("policies"), &mut sources);
    sources.sort();
    assert!(!sources.is_empty(), "no example policies under policies/");
    sources
        .into_iter()
        .map(|source| {
            let dir = source.parent().expect("a policy file has a folder");
            let mut cases: Vec<Case> = files(dir)
                .into_iter()
                .filter_map(|(file, path)| {
                    let allowed = if file.starts_with("allow") {
                        true
                    } else if file.starts_with("deny") {
                        false
                    } else {
                        return None;
                    };
                    Some(Case {
                        label: file,
                        request: read(&path),
                        expect: Some(Expect::Decision { allowed, fired: None, deny_reasons: None }),
                    })
                })
                .collect();
            cases.sort_by(|a, b| a.label.cmp(&b.label));
            let data = dir.join("data.json");
            Subject {
                name: source.strip_prefix(repo_root()).unwrap_or(&source).display().to_string(),
                wasm: build(&source),
                data: data.is_file().then(|| read(&data)),
                cases,
                every_rule_fires: false,
            }
        })
        .collect()
}

/// Every folder of tests/conformance/.
pub fn conformance() -> Vec<Subject> {
    subject_dirs(&repo_root().join("tests/conformance"))
        .into_iter()
        .map(|(name, dir)| {
            let cases: Vec<Value> = serde_json::from_str(&read(&dir.join("cases.json")))
                .unwrap_or_else(|e| panic!("{name}/cases.json: {e}"));
            let cases = cases.iter().map(|case| parse_case(&name, case)).collect();
            let wasm = build(&dir.join("policy.warrant"));
            let data = Some(read(&dir.join("data.json")));
            Subject { wasm, data, cases, name: format!("conformance/{name}"), every_rule_fires: true }
        })
        .collect()
}

/// `{"name", "request": JSON | "request_text": TEXT, "expect": {"allowed", "fired"?, "deny_reasons"?} |
/// {"error", "message"?}}`.
fn parse_case(subject: &str, case: &Value) -> Case {
    let label = case["name"].as_str().unwrap_or_else(|| panic!("{subject}: a case without a name")).to_string();
    let request = match (&case["request"], &case["request_text"]) {
        (Value::Null, Value::String(text)) => text.clone(),
        (request, Value::Null) if !request.is_null() => request.to_string(),
        _ => panic!("{subject}/{label}: give exactly one of `request` and `request_text`"),
    };
    let expect = &case["expect"];
    let expect = if let Some(code) = expect["error"].as_str() {
        Expect::Error { code: code.to_string(), message: expect["message"].as_str().map(str::to_string) }
    } else {
        let allowed = expect["allowed"].as_bool().unwrap_or_else(|| panic!("{subject}/{label}: `expect.allowed`"));
        let fired = expect["fired"]
            .as_array()
            .map(|names| names.iter().map(|n| n.as_str().expect("rule names are strings").to_string()).collect());
        let deny_reasons = expect["deny_reasons"]
            .as_array()
            .map(|reasons| reasons.iter().map(|r| r.as_str().expect("reasons are strings").to_string()).collect());
        Expect::Decision { allowed, fired, deny_reasons }
    };
    Case { label, request, expect: Some(expect) }
}

/// Compiles a policy with the Rust API, as `warrant build` does.
fn build(path: &Path) -> Vec<u8> {
    warrant::compile_to_wasm(&read(path), &path.display().to_string())
        .unwrap_or_else(|e| panic!("{} does not build: {e}", path.display()))
}

/// Sub-directories of `root` that hold a policy, sorted by name.
fn subject_dirs(root: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut dirs: Vec<_> = files(root).into_iter().filter(|(_, path)| path.join("policy.warrant").is_file()).collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no policies under {}", root.display());
    dirs
}

/// Every `*.warrant` file under `dir`, recursively.
fn find_policies(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for (_, path) in files(dir) {
        if path.is_dir() {
            find_policies(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "warrant") {
            found.push(path);
        }
    }
}

fn files(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let entry = entry.expect("directory entry");
            (entry.file_name().to_string_lossy().into_owned(), entry.path())
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
