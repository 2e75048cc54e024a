//! `warrant token inspect JWT`: what a token says, for operators. Nothing is verified, and the
//! output says so first; decisions only ever use verified tokens (`warrant eval --token`).
use std::io::Read;

use clap::{Args, Subcommand};

use warrant::token::{inspect_unverified, render_chain, VerifyOptions};

use super::eval::read_token;
use super::input::MAX_TOKEN_FILE_BYTES;
use super::CliError;

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Decode a token WITHOUT verifying it: header, claims, and the delegation chain drawn as
    /// user → agent → sub-agent.
    Inspect {
        /// The JWT, `@FILE`, or `-` for standard input.
        token: String,
        /// Print `{header, claims, chain, delegation}` as JSON instead.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &TokenArgs) -> Result<(), CliError> {
    let TokenCommand::Inspect { token, json } = &args.command;
    let options = VerifyOptions::default();
    let token = if token == "-" {
        read_stdin_token()?
    } else {
        read_token(token, options.max_token_bytes)?.map_err(CliError::Token)?
    };
    let inspection = inspect_unverified(&token, &options).map_err(CliError::Token)?;
    let delegation = render_chain(inspection.claims.get("sub").and_then(|s| s.as_str()), &inspection.chain);
    if *json {
        let mut value = serde_json::to_value(&inspection).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("verified".into(), false.into());
            object.insert("delegation".into(), delegation.into());
        }
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(());
    }
    println!("UNVERIFIED: signature, issuer, audience and validity times were NOT checked");
    println!("header: {}", serde_json::to_string_pretty(&inspection.header).unwrap_or_default());
    println!("claims: {}", serde_json::to_string_pretty(&inspection.claims).unwrap_or_default());
    println!("delegation ({} actor(s)): {delegation}", inspection.chain.len());
    Ok(())
}

fn read_stdin_token() -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_TOKEN_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|source| CliError::Read { path: "-".into(), source })?;
    Ok(text.trim().to_string())
}
