//! `warrant revoke FILE [--instance ID]… [--client-id ID]… [--jti ID]…`: adds revocations to
//! a revocation file (`{"instances": [...], "client_ids": [...], "jtis": [...]}`), creating
//! it if needed, and prints what it now holds. A gateway applies the file with
//! `RevocationSet::from_json_str` and `Gateway::revoke_all`, without recompiling.
use std::path::{Path, PathBuf};

use clap::Args;
use warrant::revocation::{Revocation, RevocationSet};

use super::input::{read_text, MAX_DATA_BYTES};
use super::CliError;

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The revocation file to update.
    file: PathBuf,
    /// An agent instance to revoke (repeatable).
    #[arg(long = "instance")]
    instances: Vec<String>,
    /// An OAuth client to revoke: every token issued to it (repeatable).
    #[arg(long = "client-id")]
    client_ids: Vec<String>,
    /// A token to revoke, by `jti` (repeatable).
    #[arg(long = "jti")]
    jtis: Vec<String>,
}

pub fn run(args: &RevokeArgs) -> Result<(), CliError> {
    let mut set = if args.file.exists() {
        let text = read_text(&args.file, "revocation files", MAX_DATA_BYTES)?;
        RevocationSet::from_json_str(&text)
            .map_err(|source| CliError::Revocations { path: args.file.clone(), source })?
    } else {
        RevocationSet::default()
    };
    let revocations = (args.instances.iter().cloned().map(Revocation::Instance))
        .chain(args.client_ids.iter().cloned().map(Revocation::ClientId))
        .chain(args.jtis.iter().cloned().map(Revocation::Jti));
    for revocation in revocations {
        set = set.with(revocation);
    }
    write_atomically(&args.file, &set)?;
    println!(
        "{}: {} instance(s), {} client(s), {} token(s) revoked",
        args.file.display(),
        set.instances.len(),
        set.client_ids.len(),
        set.jtis.len()
    );
    Ok(())
}

/// Writes a sibling temporary file and renames it over `path`, so a gateway reading the file
/// never sees half of it.
fn write_atomically(path: &Path, set: &RevocationSet) -> Result<(), CliError> {
    let write_error = |source| CliError::Write { path: path.to_path_buf(), source };
    let mut text = serde_json::to_string_pretty(set).map_err(|e| write_error(std::io::Error::other(e)))?;
    text.push('\n');
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text).map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(write_error)
}
