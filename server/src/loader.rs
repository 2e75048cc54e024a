//! Reading the policy and its data from disk for the gateway: at start, on SIGHUP and when the
//! files change. Files are read with size caps; any failure is a typed error and, on a reload,
//! leaves the policy in force untouched.
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use warrant::{Engine, Policy, SourceFile};

/// Cap on a policy: one source file, a package folder in all, or a built module.
pub const MAX_POLICY_BYTES: u64 = 4 * 1024 * 1024;
/// Cap on the data document.
pub const MAX_DATA_BYTES: u64 = 64 * 1024 * 1024;

/// First bytes of a module built by `warrant build`.
const WASM_MAGIC: &[u8] = b"\0asm";

/// Why the policy or data could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file (or a package in all) is larger than its cap.
    #[error("{path} is larger than {limit} bytes")]
    TooLarge {
        /// The file or folder.
        path: PathBuf,
        /// The cap.
        limit: u64,
    },
    /// A source file is not UTF-8 text, or its name is not UTF-8.
    #[error("{path} is not UTF-8 text")]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// A package folder without `.warrant` files.
    #[error("{path} holds no .warrant file")]
    EmptyPackage {
        /// The folder.
        path: PathBuf,
    },
    /// The data document is not JSON.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// serde's message.
        source: serde_json::Error,
    },
    /// The policy does not compile, or the module does not load.
    #[error("{path}: {source}")]
    Policy {
        /// The policy file or folder.
        path: PathBuf,
        /// The engine's diagnostics.
        source: warrant::EngineError,
    },
}

/// The policy at `path`: a `.warrant` file, a package folder (its `.warrant` files), or a
/// module built by `warrant build`.
pub fn load_policy(engine: &Engine, path: &Path) -> Result<Policy, LoadError> {
    let policy_error = |source| LoadError::Policy { path: path.to_path_buf(), source };
    if path.is_dir() {
        let files = package_files(path)?;
        return engine.compile_package(&path.display().to_string(), &files).map_err(policy_error);
    }
    let bytes = read_capped(path, MAX_POLICY_BYTES)?;
    if bytes.starts_with(WASM_MAGIC) {
        return engine.load_wasm(&bytes).map_err(policy_error);
    }
    let text = String::from_utf8(bytes).map_err(|_| LoadError::NotText { path: path.to_path_buf() })?;
    let origin = path.parent().map(|parent| parent.display().to_string()).unwrap_or_default();
    let name = utf8_name(path)?;
    engine.compile_package(&origin, &[SourceFile { name, text }]).map_err(policy_error)
}

/// The files a reload of `policy` reads, for the file watcher: the file itself, or a package
/// folder and its `.warrant` files (the folder too, so an added or removed file is seen).
/// A folder that cannot be listed is watched as itself; the reload then reports the error.
pub fn policy_paths(policy: &Path) -> Vec<PathBuf> {
    let mut paths = vec![policy.to_path_buf()];
    if policy.is_dir() {
        if let Ok(entries) = std::fs::read_dir(policy) {
            let mut files: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "warrant"))
                .collect();
            files.sort();
            paths.extend(files);
        }
    }
    paths
}

/// The data document at `path`, or `{}` when there is none.
pub fn load_data(path: Option<&Path>) -> Result<Value, LoadError> {
    let Some(path) = path else { return Ok(Value::Object(serde_json::Map::new())) };
    let bytes = read_capped(path, MAX_DATA_BYTES)?;
    serde_json::from_slice(&bytes).map_err(|source| LoadError::Json { path: path.to_path_buf(), source })
}

/// Reads at most `limit` bytes; a longer file is an error, never truncated.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    let read_error = |source| LoadError::Read { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(LoadError::TooLarge { path: path.to_path_buf(), limit });
    }
    Ok(bytes)
}

/// The `.warrant` files directly inside `dir`, sorted by name, within [`MAX_POLICY_BYTES`].
fn package_files(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
    let read_error = |source| LoadError::Read { path: dir.to_path_buf(), source };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.extension().is_some_and(|ext| ext == "warrant") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(LoadError::EmptyPackage { path: dir.to_path_buf() });
    }
    let mut files = Vec::new();
    let mut total = 0u64;
    for path in paths {
        let bytes = read_capped(&path, MAX_POLICY_BYTES)?;
        total += bytes.len() as u64;
        if total > MAX_POLICY_BYTES {
            return Err(LoadError::TooLarge { path: dir.to_path_buf(), limit: MAX_POLICY_BYTES });
        }
        let text = String::from_utf8(bytes).map_err(|_| LoadError::NotText { path: path.clone() })?;
        files.push(SourceFile { name: utf8_name(&path)?, text });
    }
    Ok(files)
}

fn utf8_name(path: &Path) -> Result<String, LoadError> {
    let name = path.file_name().map(|name| name.to_str().map(str::to_string));
    match name {
        None => Ok(String::new()),
        Some(Some(name)) => Ok(name),
        Some(None) => Err(LoadError::NotText { path: path.to_path_buf() }),
    }
}
