//! Reading input files with a size cap, so a wrong path (a device, a huge log) fails fast with
//! a clear error instead of exhausting memory.
use std::fs::File;
use std::io::Read;
use std::path::Path;

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
