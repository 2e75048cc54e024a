//! `warrant token inspect JWT`: what a token says, for operators. Nothing is verified, and the
//! output says so first; decisions only ever use verified tokens (`warrant eval --token`).
use std::io::Read;

use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::{Map, Value};

use warrant::token::{decode_unverified, TokenError, VerifyOptions};
use warrant::{Actor, Request};

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

/// The decoded, UNVERIFIED content of a token, as `--json` prints it.
#[derive(Debug, Serialize)]
struct UnverifiedTokenInspection {
    /// The protected header as sent (even `alg: none` is shown).
    header: Map<String, Value>,
    /// The payload as sent.
    claims: Map<String, Value>,
    /// The delegation chain the claims describe, first delegate first (see [`Request::chain`]).
    chain: Vec<Actor>,
}

/// Decodes a token for display, applying the size cap and the chain mapping of `options` but
/// checking no signature, issuer, audience or time.
fn inspect_unverified(token: &str, options: &VerifyOptions) -> Result<UnverifiedTokenInspection, TokenError> {
    let decoded = decode_unverified(token, options.max_token_bytes)?;
    let chain = Request::from_claims(decoded.claims.clone(), None, None, None, &options.mapping)?.chain;
    Ok(UnverifiedTokenInspection { header: decoded.header, claims: decoded.claims, chain })
}

/// Renders who acts for whom: `"user → agent → sub-agent"`, the subject first, then each
/// actor in delegation order. Actors show their `sub` (else `client_id`), with `[instance]`.
fn render_chain(subject: Option<&str>, chain: &[Actor]) -> String {
    let mut parts = vec![subject.unwrap_or("(no subject)").to_string()];
    for actor in chain {
        let name = actor.sub.as_deref().or(actor.client_id.as_deref()).unwrap_or("(unnamed actor)");
        parts.push(match &actor.instance {
            Some(instance) => format!("{name}[{instance}]"),
            None => name.to_string(),
        });
    }
    parts.join(" → ")
}

fn read_stdin_token() -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_TOKEN_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|source| CliError::Read { path: "-".into(), source })?;
    Ok(text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(sub: Option<&str>, client_id: Option<&str>, instance: Option<&str>) -> Actor {
        Actor {
            sub: sub.map(str::to_string),
            client_id: client_id.map(str::to_string),
            instance: instance.map(str::to_string),
            ..Actor::default()
        }
    }

    #[test]
    fn renders_subject_then_actors_in_delegation_order() {
        let chain = [actor(Some("agent"), None, None), actor(None, Some("sub-agent-client"), Some("i-7"))];
        assert_eq!(render_chain(Some("user"), &chain), "user → agent → sub-agent-client[i-7]");
        assert_eq!(render_chain(None, &[actor(None, None, None)]), "(no subject) → (unnamed actor)");
        assert_eq!(render_chain(Some("user"), &[]), "user");
    }
}
