//! Running the JS host: one Node.js process per batch of policies and requests.
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::batch::{batch_results, repo_root, write_batch, BatchEntry};

/// `node` with `args`, from the repository root. A missing Node.js fails the test: the JS host is
/// a supported host, so its conformance is never skipped.
pub fn node(args: &[&std::ffi::OsStr]) -> Output {
    Command::new("node").args(args).current_dir(repo_root()).output().unwrap_or_else(|error| {
        panic!(
            "the cross-host conformance test needs Node.js 20+ on PATH, but `node` could not be run \
             ({error}); install it (`bash .ci/run` does) and run the tests again"
        )
    })
}

/// Decides every request of every entry in ONE Node.js process; returns, per entry, either the
/// array of outcomes or `{"load_error": ...}` (see hosts/js/batch.mjs).
pub fn run_batch(dir: &Path, entries: &[BatchEntry]) -> Vec<Value> {
    let path = write_batch(dir, entries);
    batch_results("JS", &node(&["hosts/js/batch.mjs".as_ref(), path.as_os_str()]), entries.len())
}
