//! Reading input files with a size cap, so a wrong path (a device, a huge log) fails fast with
//! a clear error instead of exhausting memory.
use std::fs::File;
use std::io::Read;
use std::path::Path;

use warrant::SourceFile;
use warrant_lang::warnings::Warnings;
use warrant_lang::{CompiledPackage, Diagnostics};

use super::files::package_files;
use super::CliError;

/// Cap on policy sources and built modules.
pub const MAX_POLICY_BYTES: u64 = 4 * 1024 * 1024;
/// Cap on request JSON files.
pub const MAX_REQUEST_BYTES: u64 = 1024 * 1024;
/// Cap on files holding one token: far above any real token; the verifier applies its own cap.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;
/// Cap on data JSON files.
pub const MAX_DATA_BYTES: u64 = 16 * 1024 * 1024;

/// Reads at most `limit` bytes of `path`; a longer file is an error, never truncated.
pub fn read_bytes(path: &Path, what: &'static str, limit: u64) -> Result<Vec<u8>, CliError> {
    let read_error = |source| CliError::Read { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(CliError::TooLarge { path: path.to_path_buf(), what, limit });
    }
    Ok(bytes)
}

/// [`read_bytes`] for text files.
pub fn read_text(path: &Path, what: &'static str, limit: u64) -> Result<String, CliError> {
    String::from_utf8(read_bytes(path, what, limit)?).map_err(|_| CliError::NotText { path: path.to_path_buf() })
}

/// Reads and parses a JSON file of at most `limit` bytes.
pub fn read_json(path: &Path, what: &'static str, limit: u64) -> Result<serde_json::Value, CliError> {
    let bytes = read_bytes(path, what, limit)?;
    serde_json::from_slice(&bytes).map_err(|source| {
        let reason = std::str::from_utf8(&bytes).ok().and_then(warrant_lang::escapes::explain_refusal);
        match reason {
            Some(reason) => CliError::JsonRefused { path: path.to_path_buf(), reason },
            None => CliError::Json { path: path.to_path_buf(), source },
        }
    })
}

/// A policy named on the command line: one `.warrant` file, or a package folder (every
/// `.warrant` file directly inside it, one package over several files).
pub struct PolicySource {
    /// The folder diagnostics name the files in (a file's parent directory, or the package).
    origin: String,
    files: Vec<SourceFile>,
}

impl PolicySource {
    /// The policy at `path`, a file or a package folder; a package may not exceed
    /// [`MAX_POLICY_BYTES`] in all, as a file may not.
    pub fn read(path: &Path) -> Result<PolicySource, CliError> {
        if !path.is_dir() {
            return PolicySource::of_file(path, read_text(path, "policy sources", MAX_POLICY_BYTES)?);
        }
        let mut files = Vec::new();
        let mut total = 0;
        for file in package_files(path)? {
            let text = read_text(&file, "policy sources", MAX_POLICY_BYTES)?;
            total += text.len() as u64;
            if total > MAX_POLICY_BYTES {
                return Err(CliError::TooLarge {
                    path: path.to_path_buf(),
                    what: "policy packages",
                    limit: MAX_POLICY_BYTES,
                });
            }
            files.push(SourceFile { name: file_name(&file)?, text });
        }
        Ok(PolicySource { origin: path.display().to_string(), files })
    }

    /// The policy of one file at `path` whose text is already read.
    pub fn of_file(path: &Path, text: String) -> Result<PolicySource, CliError> {
        let origin = path.parent().map(|parent| parent.display().to_string()).unwrap_or_default();
        Ok(PolicySource { origin, files: vec![SourceFile { name: file_name(path)?, text }] })
    }

    /// The folder diagnostics name the files in.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The files, as read.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// Compiles the policy with the reference front end.
    pub fn compile(&self) -> Result<CompiledPackage, Diagnostics> {
        warrant_lang::compile_files(&self.origin, &self.files)
    }
}

/// What `eval` accepts as a policy: its source (file or package folder) or a built module.
pub enum PolicyInput {
    /// Policy text.
    Source(PolicySource),
    /// A module built by `warrant build` (it starts with [`WASM_MAGIC`]).
    Module(Vec<u8>),
}

/// First bytes of every Wasm module: how a built policy is told from policy text.
pub const WASM_MAGIC: &[u8] = b"\0asm";

impl PolicyInput {
    /// The policy source or module at `path`.
    pub fn read(path: &Path) -> Result<PolicyInput, CliError> {
        if path.is_dir() {
            return PolicySource::read(path).map(PolicyInput::Source);
        }
        let bytes = read_bytes(path, "policies", MAX_POLICY_BYTES)?;
        if bytes.starts_with(WASM_MAGIC) {
            return Ok(PolicyInput::Module(bytes));
        }
        let text = String::from_utf8(bytes).map_err(|_| CliError::NotText { path: path.to_path_buf() })?;
        PolicySource::of_file(path, text).map(PolicyInput::Source)
    }
}

/// Prints warnings on stderr, as miette renders them; they never change an exit code by
/// themselves.
pub fn print_warnings(warnings: &Warnings) {
    eprint!("{}", warnings.render());
}

/// The name of the file at `path`, refused when it is not UTF-8: names are part of a
/// package's version, and a lossy replacement could give two packages one version.
fn file_name(path: &Path) -> Result<String, CliError> {
    match path.file_name() {
        None => Ok(String::new()),
        Some(name) => {
            name.to_str().map(str::to_string).ok_or_else(|| CliError::NotUtf8Name { path: path.to_path_buf() })
        }
    }
}
