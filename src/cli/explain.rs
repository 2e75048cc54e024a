//! `warrant eval --explain`: the reference evaluator's account of every rule, next to the
//! engine's decision. The explanation needs the policy source; the decision never depends on it.
use std::path::Path;

use serde_json::Value;

use warrant::{Decision, Request};
use warrant_lang::explain::{explain, Explanation};

use super::eval::WASM_MAGIC;
use super::input::{read_bytes, MAX_POLICY_BYTES};
use super::CliError;

/// Explains `request` against the policy source at `path` with data document `data`.
pub fn explain_request(path: &Path, request: &Request, data: &Value) -> Result<Explanation, CliError> {
    let bytes = read_bytes(path, "policies", MAX_POLICY_BYTES)?;
    if bytes.starts_with(WASM_MAGIC) {
        return Err(CliError::ExplainNeedsSource { path: path.to_path_buf() });
    }
    let source = String::from_utf8(bytes).map_err(|_| CliError::NotText { path: path.to_path_buf() })?;
    let program = warrant_lang::compile(&source, &path.display().to_string())
        .map_err(|diagnostics| CliError::Engine { path: path.to_path_buf(), source: diagnostics.into() })?;
    Ok(explain(&program, request, data))
}

/// The decision as JSON, with an `explanation` member when there is one: the decision's own
/// fields keep their shape, so consumers of plain `eval` output are unaffected.
pub fn with_explanation(decision: &Decision, explanation: Option<&Explanation>) -> Value {
    let mut json = serde_json::to_value(decision).unwrap_or_default();
    if let (Some(explanation), Value::Object(members)) = (explanation, &mut json) {
        members.insert("explanation".to_string(), serde_json::to_value(explanation).unwrap_or_default());
    }
    json
}
