//! Why `warrant serve` could not start. Once running, nothing here stops it: a bad reload is
//! logged and the last good state keeps serving.
use std::net::SocketAddr;

use crate::config::ConfigError;
use crate::loader::LoadError;

/// A reason the server did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The policy or data could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The Wasm engine could not start.
    #[error("cannot start the policy engine: {0}")]
    Engine(warrant::EngineError),
    /// The policy refused the data, or the revocation lists are malformed.
    #[error("the policy refused its data: {0}")]
    Gateway(warrant::GatewayError),
    /// An issuer's keys or the verifier settings were refused.
    #[error("token verification: {0}")]
    Keys(warrant::token::ConfigError),
    /// The audit log could not be opened or started.
    #[error("audit log: {0}")]
    Audit(String),
    /// A listener could not bind.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be read or used (`[listen.tls]`).
    #[error("TLS: {0}")]
    Tls(String),
    /// The async runtime could not start, or a listener failed while serving.
    #[error("server: {0}")]
    Runtime(String),
}
