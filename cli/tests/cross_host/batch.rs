//! The batch file every host's batch runner reads (one policy per entry, with its data and
//! requests) and the outcomes it prints; scratch directories and the repository root.
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

/// One policy for a host's batch runner: its module on disk, its data document and the requests to decide.
pub struct BatchEntry {
    pub wasm: PathBuf,
    pub data: Option<String>,
    pub requests: Vec<String>,
}

impl BatchEntry {
    /// Writes `wasm` as `policy{index}.wasm` under `dir` and pairs it with `data` and `requests`.
    pub fn written(dir: &Path, index: usize, wasm: &[u8], data: Option<String>, requests: Vec<String>) -> BatchEntry {
        let path = dir.join(format!("policy{index}.wasm"));
        std::fs::write(&path, wasm).expect("write the module");
        BatchEntry { wasm: path, data, requests }
    }
}

/// The repository root (the CLI crate sits one level below it).
pub fn repo_root() -> &'static Path {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"));
    cli.parent().unwrap_or(cli)
}

/// A fresh scratch directory for one test, under cargo's per-target temporary directory.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cross_host").join(test);
    // A leftover from an earlier run is replaced; a missing one is fine.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// Writes the batch file every host's batch runner reads; returns its path.
pub fn write_batch(dir: &Path, entries: &[BatchEntry]) -> PathBuf {
    let batch = json!({
        "policies": entries.iter().map(|entry| json!({
            "wasm": entry.wasm,
            "data": entry.data,
            "requests": entry.requests,
        })).collect::<Vec<_>>(),
    });
    let path = dir.join("batch.json");
    std::fs::write(&path, batch.to_string()).expect("write the batch file");
    path
}

/// The outcomes a batch runner printed, one result per policy.
pub fn batch_results(host: &str, output: &Output, policies: usize) -> Vec<Value> {
    assert!(
        output.status.success(),
        "the {host} host crashed on the batch: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).expect("the batch runner prints JSON");
    assert_eq!(results.len(), policies, "one result per policy");
    results
}
