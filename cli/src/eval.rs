//! `warrant eval POLICY (--input REQUEST | --token JWT --jwks JWKS --issuer ISS --alg ALG
//! --resource URI --action NAME [--context FILE] [token checks]) [--data DATA] [--revocations FILE] [--format json|text|both]
//! [--explain]`.
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{ArgGroup, Args, ValueEnum};

use warrant::revocation::RevocationSet;
use warrant::token::{Algorithm, TokenError};
use warrant::{ClaimMapping, Decision, Engine, Policy, Request};
use warrant_lang::warnings::{input_warnings, Warnings};
use warrant_lang::CompiledPackage;

use super::explain::{explain_request, with_explanation};
use super::input::{
    print_warnings, read_json, read_text, PolicyInput, MAX_DATA_BYTES, MAX_REQUEST_BYTES, MAX_TOKEN_FILE_BYTES,
};
use super::revoke::read_file as read_revocation_file;
use super::trust::{rejected_token_reason, TokenChecks, TrustedIssuer};
use super::CliError;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("request").required(true).args(["input", "token"])))]
pub struct EvalArgs {
    /// Policy: a `.warrant` source file, a package folder of them, or a module built by `warrant build`.
    policy: PathBuf,
    /// Request JSON: {"claims": {...}, "resource": "...", "action": "...", "now": SECONDS,
    /// "context": {...}}.
    #[arg(short, long)]
    input: Option<PathBuf>,
    /// A signed JWT access token, verified as a gateway would (`@FILE` reads it from a file).
    /// A token that fails verification is a deny whose reason says why.
    #[arg(long, requires_all = ["jwks", "issuer", "algorithms"])]
    token: Option<String>,
    /// JWK Set file with the issuer's public keys.
    #[arg(long, requires = "token")]
    jwks: Option<PathBuf>,
    /// The trusted issuer (exact `iss`).
    #[arg(long, requires = "token")]
    issuer: Option<String>,
    /// Accepted audience (repeatable); default: the `--resource` (RFC 8707).
    #[arg(long = "audience", requires = "token")]
    audiences: Vec<String>,
    /// Accepted signature algorithm (repeatable), e.g. ES256, RS256, EdDSA.
    #[arg(long = "alg", requires = "token")]
    algorithms: Vec<Algorithm>,
    /// The resource the token is presented to.
    #[arg(long, requires = "token")]
    resource: Option<String>,
    /// The action attempted.
    #[arg(long, requires = "token")]
    action: Option<String>,
    /// Decision and verification time in seconds since the epoch (default: the clock).
    #[arg(long, requires = "token")]
    now: Option<i64>,
    /// JSON object file: what the gateway knows about the call besides the token (the tool,
    /// its arguments, ...), read by the policy as `context.*`.
    #[arg(long, requires = "token")]
    context: Option<PathBuf>,
    #[command(flatten)]
    checks: TokenChecks,
    /// Data document JSON (registries, revocation lists) the policy reads as `data.*`.
    #[arg(short, long)]
    data: Option<PathBuf>,
    /// Revocation file (`warrant revoke`), enforced as a gateway does: a revoked request is
    /// denied before the policy runs, and the policy reads the lists as `data.revoked_*`.
    #[arg(long)]
    revocations: Option<PathBuf>,
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
    let (policy, package) = load_policy(&args.policy)?;
    let mut data = serde_json::Value::Null;
    if let Some(path) = &args.data {
        data = read_json(path, "data documents", MAX_DATA_BYTES)?;
        policy.replace_shared_data(&data).map_err(|source| CliError::Engine { path: path.clone(), source })?;
    }
    let revoked = args.revocations.as_deref().map(|path| with_revocation_file(args, path, &policy, &mut data));
    let revoked = revoked.transpose()?;
    let request = match read_request(args)? {
        Ok(request) => request,
        Err(rejected) => {
            print_decision(&policy.deny(rejected), None, args.format);
            return Ok(());
        }
    };
    if let Some(reason) = revoked.as_ref().and_then(|set| set.refusal(&request)) {
        print_decision(&policy.deny(reason), None, args.format);
        return Ok(());
    }
    if let Some(package) = &package {
        // `--revocations` alone gives only the revocation lists, which the warning leaves out.
        print_warnings(&Warnings::unplaced(input_warnings(&package.program, &request, args.data.is_some())));
    }
    let decision = policy.decide(&request).map_err(|source| CliError::Engine { path: args.policy.clone(), source })?;
    let explanation =
        if args.explain { Some(explain_request(&args.policy, package.as_ref(), &request, &data)?) } else { None };
    print_decision(&decision, explanation.as_ref(), args.format);
    Ok(())
}

/// Reads `--revocations` and, as a gateway does, adds the ids the data document already lists
/// and gives the policy the result as `data.revoked_*`; returns the set to enforce.
fn with_revocation_file(
    args: &EvalArgs,
    path: &Path,
    policy: &Policy,
    data: &mut serde_json::Value,
) -> Result<RevocationSet, CliError> {
    let data_path = args.data.clone().unwrap_or_else(|| path.to_path_buf());
    let listed =
        RevocationSet::from_data(data).map_err(|source| CliError::Revocations { path: data_path.clone(), source })?;
    let set = read_revocation_file(path)?.union(&listed);
    *data = set.merged_into(data);
    policy.replace_shared_data(data).map_err(|source| CliError::Engine { path: data_path, source })?;
    Ok(set)
}

/// The request of `--input`, or of a verified `--token`; the inner `Err` is the deny reason of a
/// refused token.
fn read_request(args: &EvalArgs) -> Result<Result<Request, String>, CliError> {
    let (Some(token), Some(jwks), Some(issuer)) = (&args.token, &args.jwks, &args.issuer) else {
        // clap guarantees `--input` when no complete token configuration is given.
        let path = args.input.clone().unwrap_or_default();
        let request = read_json(&path, "requests", MAX_REQUEST_BYTES)?;
        return Request::from_json(request, &ClaimMapping::default())
            .map(Ok)
            .map_err(|source| CliError::Request { path, source });
    };
    let audiences =
        if args.audiences.is_empty() { args.resource.iter().cloned().collect() } else { args.audiences.clone() };
    let trusted = TrustedIssuer {
        issuer: issuer.clone(),
        audiences,
        algorithms: args.algorithms.clone(),
        jwks: jwks.clone(),
        checks: args.checks.clone(),
    };
    let verifier = trusted.verifier(Path::new("."))?;
    let now = args.now.unwrap_or_else(unix_now);
    let context = match &args.context {
        None => serde_json::Map::new(),
        Some(path) => match read_json(path, "requests", MAX_REQUEST_BYTES)? {
            serde_json::Value::Object(context) => context,
            _ => {
                let source = warrant::RequestError::FieldNotObject("context");
                return Err(CliError::Request { path: path.clone(), source });
            }
        },
    };
    let request = read_token(token, verifier.options().max_token_bytes)?
        .and_then(|token| verifier.request(&token, args.resource.clone(), args.action.clone(), now));
    Ok(request.map(|request| request.with_context(context)).map_err(|error| rejected_token_reason(&error)))
}

/// A token given inline, or `@FILE`. A file longer than [`MAX_TOKEN_FILE_BYTES`] is refused as
/// an inline token over `max_token_bytes` is (`too_large`), not as an unreadable file: the size
/// of a token is the sender's doing, whichever way it arrives. The inner `Err` is that refusal.
pub(super) fn read_token(arg: &str, max_token_bytes: usize) -> Result<Result<String, TokenError>, CliError> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(Ok(arg.trim().to_string()));
    };
    match read_text(Path::new(path), "tokens", MAX_TOKEN_FILE_BYTES) {
        Ok(text) => Ok(Ok(text.trim().to_string())),
        Err(CliError::TooLarge { .. }) => {
            // The exact length when the file says it, else the most that was read.
            let length = std::fs::metadata(path).map_or(0, |m| m.len()).max(MAX_TOKEN_FILE_BYTES + 1);
            let size = usize::try_from(length).unwrap_or(usize::MAX);
            Ok(Err(TokenError::TooLarge { size, max: max_token_bytes }))
        }
        Err(other) => Err(other),
    }
}

/// The clock, in Unix seconds (0 if it is before 1970).
pub(super) fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The policy at `path`, and, when it is source, its reference compilation (for warnings and
/// explanations); the source's warnings are printed.
fn load_policy(path: &Path) -> Result<(Policy, Option<CompiledPackage>), CliError> {
    let input = PolicyInput::read(path)?;
    let engine_error = |source| CliError::Engine { path: path.to_path_buf(), source };
    let engine = Engine::new().map_err(engine_error)?;
    match input {
        PolicyInput::Module(bytes) => Ok((engine.load_wasm(&bytes).map_err(engine_error)?, None)),
        PolicyInput::Source(source) => {
            let package = source.compile().map_err(|diagnostics| engine_error(diagnostics.into()))?;
            print_warnings(&package.warnings);
            let policy = engine.compile_package(source.origin(), source.files()).map_err(engine_error)?;
            Ok((policy, Some(package)))
        }
    }
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
