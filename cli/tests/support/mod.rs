//! Running the `warrant` binary from the CLI integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::Path;
use std::process::{Command, Output};

/// The repository root (this package's parent directory): example policies, vectors, the JS
/// host and the conformance corpus are named relative to it.
pub fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs `warrant ARGS…` from the repository root.
pub fn warrant(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warrant"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the warrant binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// An empty directory of its own for a test (tests run in parallel, in one process per file).
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// The token of the independent vector `name` (engine/tests/vectors/tokens.json).
pub fn token_vector(name: &str) -> String {
    let vectors = std::fs::read_to_string(root().join("engine/tests/vectors/tokens.json")).unwrap();
    let vectors: serde_json::Value = serde_json::from_str(&vectors).unwrap();
    let case = vectors["cases"].as_array().unwrap().iter().find(|c| c["name"] == name);
    case.unwrap_or_else(|| panic!("no vector {name}"))["token"].as_str().unwrap().to_string()
}
