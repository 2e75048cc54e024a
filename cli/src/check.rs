//! `warrant check PATH…`: report every policy's diagnostics, not just the first failing one's.
//! A path is a policy file, a package folder, or a folder of policies ([`find_policies`]).
use std::path::{Path, PathBuf};

use clap::Args;

use warrant_lang::CompiledPackage;

use crate::data_schema::DataSchema;

use super::files::find_policies;
use super::input::{print_warnings, read_text, PolicySource, MAX_DATA_BYTES};
use super::CliError;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Policy files, package folders (holding `.warrant` files), or folders searched for them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Data schema (JSON Schema subset): every `data.…` path the policies read must exist in
    /// it with the type they read.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Count a policy with warnings (a regex-looking `matches` pattern, …) as failing.
    #[arg(long)]
    deny_warnings: bool,
}

pub fn run(args: &CheckArgs) -> Result<(), CliError> {
    let schema = match &args.schema {
        Some(path) => Some(
            DataSchema::from_json_str(&read_text(path, "data schemas", MAX_DATA_BYTES)?)
                .map_err(|source| CliError::Schema { path: path.clone(), source })?,
        ),
        None => None,
    };
    let policies = find_policies(&args.paths)?;
    if policies.is_empty() {
        return Err(CliError::NoPolicies);
    }
    let failed = policies.iter().filter(|path| !check_one(path, schema.as_ref(), args.deny_warnings)).count();
    if failed > 0 {
        return Err(CliError::CheckFailed { failed, total: policies.len() });
    }
    Ok(())
}

/// Checks one policy (file or package folder), printing its diagnostics and warnings or its
/// summary; true when it is valid (and, with `deny_warnings`, has no warning).
fn check_one(path: &Path, schema: Option<&DataSchema>, deny_warnings: bool) -> bool {
    let source = match PolicySource::read(path) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("error: {error}");
            return false;
        }
    };
    match source.compile() {
        Ok(CompiledPackage { program, warnings, .. }) => {
            print_warnings(&warnings);
            let problems = schema.map(|schema| schema.check_slots(&program.slots)).unwrap_or_default();
            for problem in &problems {
                eprintln!("error: {}: {problem}", path.display());
            }
            if !problems.is_empty() {
                return false;
            }
            if deny_warnings && !warnings.is_empty() {
                eprintln!("error: {}: {} warning(s), denied by --deny-warnings", path.display(), warnings.len());
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
