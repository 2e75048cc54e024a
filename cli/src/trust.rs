//! A trusted token issuer as the CLI configures it (flags of `warrant eval`, the `issuer` of a
//! test file): one issuer, its accepted audiences and algorithms, its JWK Set file, and which
//! optional RFC 9068 checks apply.
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use warrant::token::{Algorithm, AudienceBinding, DpopMode, IssuerConfig, KeySource, TokenVerifier, VerifyOptions};

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
    /// Optional checks; a test file may leave them out (the verifier's defaults apply).
    #[serde(default)]
    pub checks: TokenChecks,
}

/// The verifier options an operator can switch from the command line (`warrant eval` flags) or
/// a test file (`"checks": {...}`), so every check a gateway can apply can also be tried here.
/// All off means the verifier's defaults (see `warrant::token::VerifyOptions`).
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenChecks {
    /// Refuse tokens whose header `typ` is not `at+jwt` (RFC 9068 §4), such as ID tokens.
    #[arg(long, requires = "token")]
    pub require_typ_at_jwt: bool,
    /// Refuse tokens without `jti` (needed to revoke every token by `jti`).
    #[arg(long, requires = "token")]
    pub require_jti: bool,
    /// Refuse tokens without `client_id` (needed to revoke every token by client).
    #[arg(long, requires = "token")]
    pub require_client_id: bool,
    /// Accept tokens without `iat` (required by default, as RFC 9068 §2.2 says).
    #[arg(long, requires = "token")]
    pub allow_missing_iat: bool,
    /// Accept a token only for a resource it was issued for (RFC 8707): its `aud` must name
    /// the request's resource or an API the resource lies under.
    #[arg(long, requires = "token")]
    pub bind_audience_to_resource: bool,
}

impl TokenChecks {
    /// `base` with these checks applied.
    pub fn options(&self, base: VerifyOptions) -> VerifyOptions {
        VerifyOptions {
            require_access_token_type: base.require_access_token_type || self.require_typ_at_jwt,
            require_jti: base.require_jti || self.require_jti,
            require_client_id: base.require_client_id || self.require_client_id,
            require_iat: base.require_iat && !self.allow_missing_iat,
            audience_binding: if self.bind_audience_to_resource {
                AudienceBinding::Resource(Vec::new())
            } else {
                base.audience_binding
            },
            ..base
        }
    }
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
            dpop: DpopMode::default(),
        };
        let options = self.checks.options(VerifyOptions { cache_capacity: 0, ..VerifyOptions::default() });
        TokenVerifier::new(vec![config], options).map_err(config_error)
    }
}

/// The deny reason of a refused token: the same words wherever the CLI decides on tokens.
pub fn rejected_token_reason(error: &warrant::token::TokenError) -> String {
    format!("invalid token: {error}")
}
