//! `warrant check FILE…`: report every file's diagnostics, not just the first failing file's.
use std::path::{Path, PathBuf};

use clap::Args;

use crate::data_schema::DataSchema;

use super::input::{read_text, MAX_DATA_BYTES, MAX_POLICY_BYTES};
use super::CliError;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Policy source files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Data schema (JSON Schema subset): every `data.…` path the policies read must exist in
    /// it with the type they read.
    #[arg(long)]
    schema: Option<PathBuf>,
}

pub fn run(args: &CheckArgs) -> Result<(), CliError> {
    let schema = match &args.schema {
        Some(path) => Some(
            DataSchema::from_json_str(&read_text(path, "data schemas", MAX_DATA_BYTES)?)
                .map_err(|source| CliError::Schema { path: path.clone(), source })?,
        ),
        None => None,
    };
    let failed = args.files.iter().filter(|path| !check_one(path, schema.as_ref())).count();
    if failed > 0 {
        return Err(CliError::CheckFailed { failed, total: args.files.len() });
    }
    Ok(())
}

/// Checks one file, printing its diagnostics or its summary; true when it is valid.
fn check_one(path: &Path, schema: Option<&DataSchema>) -> bool {
    let source = match read_text(path, "policy sources", MAX_POLICY_BYTES) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("error: {error}");
            return false;
        }
    };
    match warrant_lang::compile(&source, &path.display().to_string()) {
        Ok(program) => {
            let problems = schema.map(|schema| schema.check_slots(&program.slots)).unwrap_or_default();
            for problem in &problems {
                eprintln!("error: {}: {problem}", path.display());
            }
            if !problems.is_empty() {
                return false;
            }
            println!("ok: {} ({} rules)", path.display(), program.rules.len());
            true
        }
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render());
            false
        }
    }
}
