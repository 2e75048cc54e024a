//! Running the Python host (hosts/python, on the `wasmtime` PyPI package): one `python3`
//! process per batch of policies and requests.
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::batch::{batch_results, repo_root, write_batch, BatchEntry};

/// The folder holding the `warrant_wasm` package.
pub fn package_root() -> PathBuf {
    repo_root().join("hosts/python")
}

/// `python3` with `args`, with the package importable. A missing interpreter or `wasmtime`
/// package fails the test: the Python host is a supported host, so its conformance is never
/// skipped.
pub fn python(args: &[&OsStr]) -> Output {
    let output = Command::new("python3")
        .args(args)
        .env("PYTHONPATH", package_root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "the cross-host conformance test needs python3 on PATH, but it could not be run ({error}); \
                 install it (`bash .ci/run` does) and run the tests again"
            )
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'wasmtime'"),
        "the Python host needs the `wasmtime` package: `python3 -m pip install wasmtime` (`bash .ci/run` \
         installs the pinned version)\n{stderr}"
    );
    output
}

/// Decides every request of every entry in ONE Python process; returns, per entry, either the
/// array of outcomes or `{"load_error": ...}` (see hosts/python/warrant_wasm/batch.py).
pub fn run_batch(dir: &Path, entries: &[BatchEntry]) -> Vec<Value> {
    let path = write_batch(dir, entries);
    batch_results("Python", &python(&["-m".as_ref(), "warrant_wasm.batch".as_ref(), path.as_os_str()]), entries.len())
}
