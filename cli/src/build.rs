//! `warrant build POLICY -o OUT`: compile a policy (a file or a package folder) to the standalone
//! module hosts load.
use std::path::{Path, PathBuf};

use clap::Args;

use super::input::{print_warnings, PolicySource};
use super::CliError;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Policy source file, or package folder of `.warrant` files.
    file: PathBuf,
    /// Output module (default: a file's path with the extension `.wasm`; a folder's path with
    /// `.wasm` appended, so `acme.crm/` writes `acme.crm.wasm`).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(args: &BuildArgs) -> Result<(), CliError> {
    let source = PolicySource::read(&args.file)?;
    let engine_error = |source| CliError::Engine { path: args.file.clone(), source };
    print_warnings(&source.compile().map_err(|diagnostics| engine_error(diagnostics.into()))?.warnings);
    let wasm = warrant::compile_package_to_wasm(source.origin(), source.files()).map_err(engine_error)?;
    let output = match &args.output {
        Some(output) => output.clone(),
        None => default_output(&args.file)?,
    };
    std::fs::write(&output, &wasm).map_err(|source| CliError::Write { path: output.clone(), source })?;
    println!("wrote {} ({} bytes)", output.display(), wasm.len());
    Ok(())
}

/// Where `build` writes without `-o`: a file's path with the extension `.wasm`, a folder's path
/// with `.wasm` appended (a package folder's dots are part of its name: `acme.crm` and `acme.hr`
/// must not both write `acme.wasm`).
fn default_output(policy: &Path) -> Result<PathBuf, CliError> {
    if !policy.is_dir() {
        return Ok(policy.with_extension("wasm"));
    }
    let name = policy.file_name().ok_or_else(|| CliError::NoOutputName { path: policy.to_path_buf() })?;
    let mut name = name.to_os_string();
    name.push(".wasm");
    Ok(policy.with_file_name(name))
}
