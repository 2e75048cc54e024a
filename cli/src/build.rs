//! `warrant build FILE -o OUT`: compile a policy to the standalone module hosts load.
use std::path::PathBuf;

use clap::Args;

use super::input::{read_text, MAX_POLICY_BYTES};
use super::CliError;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Policy source file.
    file: PathBuf,
    /// Output module (default: FILE with the extension `.wasm`).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(args: &BuildArgs) -> Result<(), CliError> {
    let source = read_text(&args.file, "policy sources", MAX_POLICY_BYTES)?;
    let wasm = warrant::compile_to_wasm(&source, &args.file.display().to_string())
        .map_err(|source| CliError::Engine { path: args.file.clone(), source })?;
    let output = args.output.clone().unwrap_or_else(|| args.file.with_extension("wasm"));
    std::fs::write(&output, &wasm).map_err(|source| CliError::Write { path: output.clone(), source })?;
    println!("wrote {} ({} bytes)", output.display(), wasm.len());
    Ok(())
}
