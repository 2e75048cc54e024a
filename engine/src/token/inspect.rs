//! Decoding a token *without verifying it*, for operator tools (`warrant token inspect`). It
//! lives beside the verifier so both read tokens with the one parser (same size cap, same
//! refusals); presenting the result is the tool's job. Nothing here may feed a decision: use
//! [`super::TokenVerifier`] for that.
use serde_json::{Map, Value};

use super::error::TokenError;
use super::parse;

/// The decoded, UNVERIFIED header and payload of a token.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedToken {
    /// The protected header as sent (even `alg: none` is shown).
    pub header: Map<String, Value>,
    /// The payload as sent.
    pub claims: Map<String, Value>,
}

/// Decodes a token for display, refusing it past `max_token_bytes` (see
/// [`super::VerifyOptions::max_token_bytes`]) but checking no signature, issuer, audience or time.
pub fn decode_unverified(token: &str, max_token_bytes: usize) -> Result<UnverifiedToken, TokenError> {
    let segments = parse::split(token, max_token_bytes)?;
    let header = parse::decode_header(&segments)?;
    let claims = parse::decode_payload(&segments)?;
    Ok(UnverifiedToken { header, claims })
}
