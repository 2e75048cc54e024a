//! `warrant eval POLICY --input REQUEST [--data DATA] [--format json|text|both] [--explain]`.
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use warrant::{ClaimMapping, Decision, Engine, Policy, Request};

use super::input::{read_bytes, read_json, MAX_DATA_BYTES, MAX_POLICY_BYTES, MAX_REQUEST_BYTES};
use super::explain::{explain_request, with_explanation};
use super::CliError;

/// First bytes of every Wasm module: how a built policy is told from policy text.
pub(super) const WASM_MAGIC: &[u8] = b"\0asm";

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Policy: a `.warrant` source file or a module built by `warrant build`.
    policy: PathBuf,
    /// Request JSON: {"claims": {...}, "resource": "...", "action": "...", "now": SECONDS}.
    #[arg(short, long)]
    input: PathBuf,
    /// Data document JSON (registries, revocation lists) the policy reads as `data.*`.
    #[arg(short, long)]
    data: Option<PathBuf>,
    /// What to print: the decision as JSON, the explanation for humans, or both (JSON first).
    #[arg(short, long, value_enum, default_value_t = Format::Both)]
    format: Format,
    /// Also show, for every rule, the first condition that failed and the values it read
    /// (needs the `.warrant` source).
    #[arg(long)]
    explain: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Text,
    Both,
}

pub fn run(args: &EvalArgs) -> Result<(), CliError> {
    let policy = load_policy(&args.policy)?;
    let mut data = serde_json::Value::Null;
    if let Some(path) = &args.data {
        data = read_json(path, "data documents", MAX_DATA_BYTES)?;
        policy.set_data(&data).map_err(|source| CliError::Engine { path: path.clone(), source })?;
    }
    let request = read_json(&args.input, "requests", MAX_REQUEST_BYTES)?;
    let request = Request::from_json(request, &ClaimMapping::default())
        .map_err(|source| CliError::Request { path: args.input.clone(), source })?;
    let decision = policy.decide(&request).map_err(|source| CliError::Engine { path: args.policy.clone(), source })?;
    let explanation = if args.explain { Some(explain_request(&args.policy, &request, &data)?) } else { None };
    print_decision(&decision, explanation.as_ref(), args.format);
    Ok(())
}

fn load_policy(path: &Path) -> Result<Policy, CliError> {
    let bytes = read_bytes(path, "policies", MAX_POLICY_BYTES)?;
    let engine_error = |source| CliError::Engine { path: path.to_path_buf(), source };
    let engine = Engine::new().map_err(engine_error)?;
    if bytes.starts_with(WASM_MAGIC) {
        return engine.load_wasm(&bytes).map_err(engine_error);
    }
    let source = String::from_utf8(bytes).map_err(|_| CliError::NotText { path: path.to_path_buf() })?;
    engine.compile_policy(&source, &path.display().to_string()).map_err(engine_error)
}

fn print_decision(decision: &Decision, explanation: Option<&warrant_lang::explain::Explanation>, format: Format) {
    if matches!(format, Format::Json | Format::Both) {
        // Serializing plain strings and booleans cannot fail; fall back to nothing rather than panic.
        println!("{}", serde_json::to_string_pretty(&with_explanation(decision, explanation)).unwrap_or_default());
    }
    if matches!(format, Format::Text | Format::Both) {
        print!("{}", decision.explain());
        if let Some(explanation) = explanation {
            print!("why:\n{}", explanation.render());
        }
    }
}
