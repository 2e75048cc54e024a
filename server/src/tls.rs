//! `[listen.tls]`: the server certificate and key (PEM) become one rustls acceptor (ring
//! provider, TLS 1.2 and 1.3, ALPN `h2` then `http/1.1`) shared by every listener. A file that
//! cannot be read or parsed, or a key that does not match, stops the server at start.
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use crate::error::ServeError;

/// Largest certificate or key file read.
pub const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// The ALPN protocols offered, in order of preference (gRPC needs `h2`).
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The acceptor for `config`'s certificate chain and key.
pub fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, ServeError> {
    let cert_pem = read_pem(&config.cert)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| tls_error(&config.cert, &error.to_string()))?;
    if certs.is_empty() {
        return Err(tls_error(&config.cert, "no PEM certificate in the file"));
    }
    let key_pem = read_pem(&config.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|error| tls_error(&config.key, &format!("no usable PEM private key: {error}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ServeError::Tls(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|error| tls_error(&config.key, &format!("certificate and key refused: {error}")))?;
    server.alpn_protocols = ALPN_PROTOCOLS.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(server)))
}

fn read_pem(path: &Path) -> Result<Vec<u8>, ServeError> {
    let file = std::fs::File::open(path).map_err(|error| tls_error(path, &error.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes).map_err(|error| tls_error(path, &error.to_string()))?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(tls_error(path, &format!("larger than {MAX_PEM_BYTES} bytes")));
    }
    Ok(bytes)
}

fn tls_error(path: &Path, problem: &str) -> ServeError {
    ServeError::Tls(format!("{}: {problem}", path.display()))
}
