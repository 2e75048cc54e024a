//! Errors of the command line, each naming the file it concerns.
use std::path::PathBuf;

use warrant::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is larger than the {limit}-byte limit for {what}", path.display())]
    TooLarge { path: PathBuf, what: &'static str, limit: u64 },
    #[error("{} is not UTF-8 text", path.display())]
    NotText { path: PathBuf },
    #[error("{} is not valid JSON: {source}", path.display())]
    Json { path: PathBuf, source: serde_json::Error },
    /// JSON refused for a reason a parser words badly (a byte order mark, a lone surrogate).
    #[error("{} is not valid JSON: {reason}", path.display())]
    JsonRefused { path: PathBuf, reason: String },
    #[error("{}: {source}", path.display())]
    Request { path: PathBuf, source: warrant::RequestError },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Engine { path: PathBuf, source: EngineError },
    /// Diagnostics were already printed; only the summary remains.
    #[error("{failed} of {total} file(s) have errors")]
    CheckFailed { failed: usize, total: usize },
    /// `warrant test`: the cases and the summary were already printed.
    #[error("{failed} test case(s) failed")]
    TestsFailed { failed: usize },
    /// A test file key no format has (a misspelling, usually), with the closest known key.
    #[error(
        "{}: unknown key `{key}`{}; known keys here: {known}",
        path.display(),
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
    )]
    UnknownKey { path: PathBuf, key: String, suggestion: Option<String>, known: String },
    /// `warrant check` found nothing to check: passing would hide a wrong path.
    #[error("no policy (`.warrant` file or package folder) found in the paths given")]
    NoPolicies,
    #[error("no test case ran (no `*.test.json` found, or `--run` matched no case name)")]
    NoTests,
    #[error("test case `{case}` needs exactly one of `request`, `request_file` and `token`")]
    CaseRequest { case: String },
    #[error("test case `{case}` has a `token` but its test file configures no `issuer`")]
    NoIssuer { case: String },
    #[error("{}: {source}", path.display())]
    TokenConfig { path: PathBuf, source: warrant::token::ConfigError },
    #[error("cannot decode the token: {0}")]
    Token(warrant::token::TokenError),
    /// `warrant fmt --check`: the files were already listed.
    #[error("{count} file(s) are not formatted; run `warrant fmt` on them")]
    NotFormatted { count: usize },
    #[error("{}: {source}", path.display())]
    AuditLog { path: PathBuf, source: warrant::audit::AuditReadError },
    #[error("{}: {source}", path.display())]
    Schema { path: PathBuf, source: crate::data_schema::SchemaError },
    #[error("{}: {source}", path.display())]
    Revocations { path: PathBuf, source: warrant::revocation::RevocationError },
    /// `warrant revoke`: another writer held the file's lock for the whole wait.
    #[error("{} is locked by another writer; gave up after {seconds} s (see --lock-timeout)", path.display())]
    Locked { path: PathBuf, seconds: u64 },
    /// A symbolic link to a directory inside a searched folder: not followed (a cycle could
    /// loop), and not skipped either (a linked package would silently go unchecked).
    #[error("{} is a symbolic link to a directory; links to directories are not followed: name the directory itself", path.display())]
    LinkedDirectory { path: PathBuf },
    /// A folder holding `.warrant` files (a package) and sub-folders holding more (packages):
    /// which one is meant is ambiguous, and `check` would skip the sub-packages.
    #[error(
        "{} holds `.warrant` files, so it is one package, but {} holds more: a folder is either a package or a folder of packages (move the top-level files into a sub-folder)",
        dir.display(),
        nested.display()
    )]
    PackageAndFolder { dir: PathBuf, nested: PathBuf },
    /// A policy file name that is not UTF-8: it is part of the policy version, so it is
    /// refused rather than replaced lossily (two names could then give one version).
    #[error("{}: the file name is not UTF-8", path.display())]
    NotUtf8Name { path: PathBuf },
    /// `warrant build FOLDER` where the folder has no name to derive the output from (`.`).
    #[error("{}: no file name to derive the output from; give `-o OUT`", path.display())]
    NoOutputName { path: PathBuf },
    #[error("{}: --explain needs the policy source (.warrant), not a built module", path.display())]
    ExplainNeedsSource { path: PathBuf },
    #[error(transparent)]
    Serve(#[from] warrant_server::ServeError),
}

impl CliError {
    /// Prints the error on stderr; compile errors show their rendered diagnostics.
    pub fn report(&self) {
        if let CliError::Engine { source: EngineError::Compile(diagnostics), .. } = self {
            eprint!("{}", diagnostics.render());
        }
        eprintln!("error: {self}");
    }
}
