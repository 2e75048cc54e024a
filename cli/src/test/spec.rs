//! The `*.test.json` format, and turning one case into what the policy decides on: a request
//! given as claims (inline or in a file), or a signed token verified as a gateway would.
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use warrant::token::TokenVerifier;
use warrant::{ClaimMapping, Request};

use super::super::input::{read_json, MAX_REQUEST_BYTES};
use super::super::trust::{rejected_token_reason, TrustedIssuer};
use super::super::CliError;

/// Test files are request tables: bigger than one request, far smaller than data documents.
const MAX_TEST_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A `*.test.json` file; its paths are relative to it. Unknown fields are refused: a misspelt
/// `reasons` would otherwise silently check nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    pub policy: PathBuf,
    pub data: Option<PathBuf>,
    /// The issuer that signs the `token` cases' JWTs.
    pub issuer: Option<TrustedIssuer>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    request: Option<Value>,
    request_file: Option<PathBuf>,
    token: Option<TokenCall>,
    pub expect: Verdict,
    pub reasons: Option<Vec<String>>,
    pub fired: Option<Vec<String>>,
}

/// A call made with a signed token: what the gateway sees.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenCall {
    jwt: String,
    resource: Option<String>,
    action: Option<String>,
    /// Decision time, which is also the verification time (so cases never expire).
    now: i64,
    /// What the gateway knows about the call besides the token (`context.*`); an object.
    #[serde(default)]
    context: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Deny,
}

impl Verdict {
    pub fn of(allowed: bool) -> Verdict {
        if allowed {
            Verdict::Allow
        } else {
            Verdict::Deny
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        }
    }
}

/// What a case asks the policy to decide.
pub enum CaseInput {
    /// Boxed: a request is far larger than a rejection.
    Request(Box<Request>),
    /// The token failed verification: the gateway denies with this reason, and the policy
    /// never runs.
    RejectedToken(String),
}

impl TestFile {
    pub fn load(path: &Path) -> Result<TestFile, CliError> {
        serde_json::from_value(read_json(path, "test files", MAX_TEST_FILE_BYTES)?).map_err(|source| {
            unknown_key(path, &source).unwrap_or_else(|| CliError::Json { path: path.to_path_buf(), source })
        })
    }
}

/// A misspelt key (`"expected"` for `"expect"`) as its own error, naming the key and the
/// closest known one. The known keys are the ones serde lists in its refusal (`unknown field
/// `x`, expected one of `a`, `b``), so they cannot drift from the structs above.
fn unknown_key(path: &Path, error: &serde_json::Error) -> Option<CliError> {
    let message = error.to_string();
    let rest = message.strip_prefix("unknown field ")?;
    let mut quoted = rest.split('`').skip(1).step_by(2);
    let key = quoted.next()?.to_string();
    let known: Vec<&str> = quoted.collect();
    let suggestion = warrant_lang::suggest::closest(&key, known.iter().copied()).map(str::to_string);
    Some(CliError::UnknownKey { path: path.to_path_buf(), key, suggestion, known: known.join(", ") })
}

impl Case {
    /// The request of this case; `dir` is the test file's folder.
    pub fn input(&self, dir: &Path, verifier: Option<&TokenVerifier>) -> Result<CaseInput, CliError> {
        let (json, origin) = match (&self.request, &self.request_file, &self.token) {
            (Some(json), None, None) => (json.clone(), PathBuf::from(format!("request of `{}`", self.name))),
            (None, Some(file), None) => {
                let path = dir.join(file);
                (read_json(&path, "requests", MAX_REQUEST_BYTES)?, path)
            }
            (None, None, Some(call)) => {
                let verifier = verifier.ok_or_else(|| CliError::NoIssuer { case: self.name.clone() })?;
                let verified = verifier.request(&call.jwt, call.resource.clone(), call.action.clone(), call.now);
                return Ok(match verified {
                    Ok(request) => CaseInput::Request(Box::new(request.with_context(call.context.clone()))),
                    Err(error) => CaseInput::RejectedToken(rejected_token_reason(&error)),
                });
            }
            _ => return Err(CliError::CaseRequest { case: self.name.clone() }),
        };
        Request::from_json(json, &ClaimMapping::default())
            .map(|request| CaseInput::Request(Box::new(request)))
            .map_err(|source| CliError::Request { path: origin, source })
    }
}
