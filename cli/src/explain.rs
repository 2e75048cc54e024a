//! `warrant eval --explain`: the reference evaluator's account of every rule (and, for a policy
//! over several files, the file of each), next to the
//! engine's decision. The explanation needs the policy source; the decision never depends on it.
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::CliError;
use warrant::{Decision, Request};
use warrant_lang::explain::Explanation;
use warrant_lang::CompiledPackage;

/// Explains `request` against the policy at `path`, compiled from source as `package` (`None`
/// for a built module, which cannot be explained), with data document `data`.
pub fn explain_request(
    path: &Path,
    package: Option<&CompiledPackage>,
    request: &Request,
    data: &Value,
) -> Result<Explanation, CliError> {
    let package = package.ok_or_else(|| CliError::ExplainNeedsSource { path: path.to_path_buf() })?;
    Ok(package.explain(request, data))
}

/// The decision as JSON, with an `explanation` member when there is one: the decision's own
/// fields keep their shape and their order (the order the JS host prints, so `--format json`
/// output is byte-identical across hosts), so consumers of plain `eval` output are unaffected.
#[derive(Serialize)]
pub struct DecisionOutput<'a> {
    #[serde(flatten)]
    decision: &'a Decision,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<&'a Explanation>,
}

/// The JSON form of `decision`, with its explanation if any.
pub fn with_explanation<'a>(decision: &'a Decision, explanation: Option<&'a Explanation>) -> DecisionOutput<'a> {
    DecisionOutput { decision, explanation }
}
