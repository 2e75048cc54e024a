//! `WWW-Authenticate` of a refused call, the one builder every transport uses: RFC 6750 §3
//! (`Bearer`), RFC 9449 §7.1 and §8 (`DPoP`, `algs`, `use_dpop_nonce`) and RFC 9728 §5.1
//! (`resource_metadata`, where the client learns how to get a token for this resource).
use warrant::token::TokenError;

/// What every challenge of this server says besides the error, fixed at start.
pub struct Challenge {
    /// `algs` of a DPoP challenge, space-separated.
    pub algs: String,
    /// `resource_metadata` (RFC 9728 §5.1), when the server publishes metadata.
    pub resource_metadata: Option<String>,
}

impl Challenge {
    /// The header value for a call that brought no token (`refused` is `None`: a bare scheme,
    /// RFC 6750 §3.1) or whose token was refused for `refused`.
    pub fn www_authenticate(&self, refused: Option<&TokenError>) -> String {
        let algs = &self.algs;
        let scheme_and_parameters = match refused {
            None => "Bearer".to_string(),
            Some(TokenError::DpopNonceRequired) => format!("DPoP error=\"use_dpop_nonce\", algs=\"{algs}\""),
            Some(error) if error.is_dpop_proof_error() => format!("DPoP error=\"invalid_dpop_proof\", algs=\"{algs}\""),
            Some(TokenError::DpopProofRequired | TokenError::DpopRequired) => {
                format!("DPoP error=\"invalid_token\", algs=\"{algs}\"")
            }
            Some(_) => "Bearer error=\"invalid_token\"".to_string(),
        };
        match &self.resource_metadata {
            Some(url) if scheme_and_parameters.contains(' ') => {
                format!("{scheme_and_parameters}, resource_metadata=\"{url}\"")
            }
            Some(url) => format!("{scheme_and_parameters} resource_metadata=\"{url}\""),
            None => scheme_and_parameters,
        }
    }
}
