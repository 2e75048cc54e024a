//! A trusted token issuer as the CLI configures it (flags of `warrant eval`, the `issuer` of a
//! test file): one issuer, its accepted audiences and algorithms, and its JWK Set file.
use std::path::{Path, PathBuf};

use serde::Deserialize;

use warrant::token::{Algorithm, IssuerConfig, KeySource, TokenVerifier, VerifyOptions};

use super::CliError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// Exact `iss` value.
    pub issuer: String,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
    /// Signature algorithms accepted from this issuer.
    pub algorithms: Vec<Algorithm>,
    /// JWK Set file with the issuer's public keys (relative to `dir` of [`Self::verifier`]).
    pub jwks: PathBuf,
}

impl TrustedIssuer {
    /// A verifier for this issuer alone. The CLI verifies each token once, so no cache.
    pub fn verifier(&self, dir: &Path) -> Result<TokenVerifier, CliError> {
        let path = dir.join(&self.jwks);
        let config_error = |source| CliError::TokenConfig { path: path.clone(), source };
        let config = IssuerConfig {
            issuer: self.issuer.clone(),
            audiences: self.audiences.clone(),
            algorithms: self.algorithms.clone(),
            keys: vec![KeySource::jwks_file(&path).map_err(config_error)?],
        };
        let options = VerifyOptions { cache_capacity: 0, ..VerifyOptions::default() };
        TokenVerifier::new(vec![config], options).map_err(config_error)
    }
}

/// The deny reason of a refused token: the same words wherever the CLI decides on tokens.
pub fn rejected_token_reason(error: &warrant::token::TokenError) -> String {
    format!("invalid token: {error}")
}
