//! Running the JS host: one Node.js process per batch of policies and requests.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

/// One policy for the JS host: its module on disk, its data document and the requests to decide.
pub struct BatchEntry {
    pub wasm: PathBuf,
    pub data: Option<String>,
    pub requests: Vec<String>,
}

/// A fresh scratch directory for one test, under cargo's per-target temporary directory.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cross_host").join(test);
    // A leftover from an earlier run is replaced; a missing one is fine.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// `node` with `args`, from the repository root. A missing Node.js fails the test: the JS host is
/// a supported host, so its conformance is never skipped.
pub fn node(args: &[&std::ffi::OsStr]) -> Output {
    Command::new("node").args(args).current_dir(crate::support::root()).output().unwrap_or_else(|error| {
        panic!(
            "the cross-host conformance test needs Node.js 20+ on PATH, but `node` could not be run \
             ({error}); install it (`bash .ci/run` does) and run the tests again"
        )
    })
}

/// Decides every request of every entry in ONE Node.js process; returns, per entry, either the
/// array of outcomes or `{"load_error": ...}` (see hosts/js/batch.mjs).
pub fn run_batch(dir: &Path, entries: &[BatchEntry]) -> Vec<Value> {
    let batch = json!({
        "policies": entries.iter().map(|entry| json!({
            "wasm": entry.wasm,
            "data": entry.data,
            "requests": entry.requests,
        })).collect::<Vec<_>>(),
    });
    let path = dir.join("batch.json");
    std::fs::write(&path, batch.to_string()).expect("write the batch file");
    let output = node(&["hosts/js/batch.mjs".as_ref(), path.as_os_str()]);
    assert!(
        output.status.success(),
        "the JS host crashed on the batch: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).expect("the JS host prints JSON");
    assert_eq!(results.len(), entries.len(), "one result per policy");
    results
}
