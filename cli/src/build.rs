//! `warrant build POLICY -o OUT`: compile a policy (a file or a package folder) to the standalone
//! module hosts load.
use std::path::PathBuf;

use clap::Args;

use super::input::{print_warnings, PolicySource};
use super::CliError;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Policy source file, or package folder of `.warrant` files.
    file: PathBuf,
    /// Output module (default: the policy's path with the extension `.wasm`).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(args: &BuildArgs) -> Result<(), CliError> {
    let source = PolicySource::read(&args.file)?;
    let engine_error = |source| CliError::Engine { path: args.file.clone(), source };
    print_warnings(&source.compile().map_err(|diagnostics| engine_error(diagnostics.into()))?.warnings);
    let wasm = warrant::compile_package_to_wasm(source.origin(), source.files()).map_err(engine_error)?;
    let output = args.output.clone().unwrap_or_else(|| args.file.with_extension("wasm"));
    std::fs::write(&output, &wasm).map_err(|source| CliError::Write { path: output.clone(), source })?;
    println!("wrote {} ({} bytes)", output.display(), wasm.len());
    Ok(())
}
