//! The `warrant` command line: check, build, evaluate and test policies; inspect tokens, write
//! revocation files, review audit logs. Exit codes: 0 when the command did its job (for `eval`,
//! the evaluation ran, whether it allowed or denied), 1 on any error, 2 on usage errors.
//!
//! A crate of its own so that library users of `warrant` get no argument parser, and so that the
//! tooling only operators need (audit queries, token inspection, data schemas) stays out of the
//! engine.
mod audit;
mod build;
mod check;
mod data_schema;
mod error;
mod eval;
mod explain;
mod files;
mod fmt;
mod input;
mod revoke;
mod serve;
mod test;
mod token;
mod trust;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use error::CliError;

/// Warrant: policies for AI-agent identity, compiled to WebAssembly.
#[derive(Debug, Parser)]
#[command(name = "warrant", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check policies (files, package folders, folders of them); prints `ok: POLICY (N rules)` for each valid one.
    Check(check::CheckArgs),
    /// Compile a policy to a standalone .wasm module.
    Build(build::BuildArgs),
    /// Decide a request with a policy (.warrant source or built .wasm).
    Eval(eval::EvalArgs),
    /// Run policy test cases (`*.test.json`) through the engine; report rules no case fired.
    Test(test::TestArgs),
    /// Rewrite policies in the canonical layout; `--check` only reports (for CI).
    Fmt(fmt::FmtArgs),
    /// Review a decision log: filter, per-user or per-agent reports, decisions with no human.
    Audit(audit::AuditArgs),
    /// Look inside a token (unverified): header, claims, delegation chain.
    Token(token::TokenArgs),
    /// Add agent instances, clients or tokens to a revocation file, with an optional expiry, or lift them.
    Revoke(revoke::RevokeArgs),
    /// Serve decisions: Envoy ext_authz (gRPC, HTTP), a JSON decision API, health and metrics.
    Serve(serve::ServeArgs),
}

/// Runs the command line; every error is reported on stderr and exits with 1.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Build(args) => build::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Revoke(args) => revoke::run(&args),
        Command::Token(args) => token::run(&args),
        Command::Serve(args) => serve::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error.report();
            ExitCode::FAILURE
        }
    }
}
