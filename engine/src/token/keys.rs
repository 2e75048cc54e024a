//! Verification keys: loading them from JWKS, PEM or a shared secret, refusing weak or
//! malformed ones up front, and choosing the one key a token may be checked with.
//!
//! Every key knows its algorithm family (and, for EC keys or JWKs with `alg`, its one exact
//! algorithm), so a token can never get an HMAC check against a public key or an RS256 check
//! against a key published for PS256. Keys are only ever taken from configuration: `jku`,
//! `x5u`, `jwk` and `x5c` token headers are ignored.
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm as JoseAlgorithm, AlgorithmFamily, DecodingKey};

use super::algorithm::Algorithm;
use super::error::{ConfigError, TokenError};

/// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
const MIN_HMAC_SECRET_BYTES: usize = 32;
/// NIST SP 800-57: RSA moduli below 2048 bits are no longer acceptable.
const MIN_RSA_MODULUS_BYTES: usize = 256;
const ED25519_PUBLIC_KEY_BYTES: usize = 32;

/// Where an issuer's verification keys come from.
pub enum KeySource {
    /// The text of a JWK Set (RFC 7517). Keys for encryption (`use: enc`, `RSA-OAEP`, ...) and
    /// key types we do not support are skipped, as RFC 7517 §5 recommends.
    Jwks(String),
    /// One PEM public key: SPKI (`PUBLIC KEY`: RSA, EC P-256/P-384, Ed25519) or PKCS#1
    /// (`RSA PUBLIC KEY`). Private keys and certificates are refused.
    Pem {
        /// The key id tokens name it by; None for a key selected by algorithm alone.
        kid: Option<String>,
        /// The PEM text.
        pem: String,
    },
    /// A shared HMAC secret, at least 32 bytes.
    HmacSecret {
        /// The key id tokens name it by; None for a key selected by algorithm alone.
        kid: Option<String>,
        /// The raw secret bytes; never shown by `Debug`.
        secret: Vec<u8>,
    },
    /// None yet: the keys are fetched at run time (a JWKS URI, OIDC discovery) and handed to
    /// [`TokenVerifier::replace_keys`](super::TokenVerifier::replace_keys). Until then the
    /// issuer's tokens are refused as [`TokenError::KeysUnavailable`]. Must be the issuer's only
    /// source.
    Remote,
}

impl KeySource {
    /// Reads a JWKS document from a file.
    pub fn jwks_file(path: impl AsRef<Path>) -> Result<KeySource, ConfigError> {
        read_key_file(path.as_ref()).map(KeySource::Jwks)
    }

    /// Reads a PEM public key from a file.
    pub fn pem_file(path: impl AsRef<Path>, kid: Option<String>) -> Result<KeySource, ConfigError> {
        read_key_file(path.as_ref()).map(|pem| KeySource::Pem { kid, pem })
    }
}

/// Redacts secrets: a JWKS may hold `oct` keys and an HMAC secret must never reach a log.
impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Jwks(text) => f.debug_tuple("Jwks").field(&format_args!("<{} bytes>", text.len())).finish(),
            KeySource::Pem { kid, .. } => f.debug_struct("Pem").field("kid", kid).finish_non_exhaustive(),
            KeySource::HmacSecret { kid, .. } => {
                f.debug_struct("HmacSecret").field("kid", kid).field("secret", &"<redacted>").finish()
            }
            KeySource::Remote => f.write_str("Remote"),
        }
    }
}

fn read_key_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::KeyFile { path: path.display().to_string(), source })
}

/// One key ready to verify signatures.
pub(crate) struct VerificationKey {
    kid: Option<String>,
    family: AlgorithmFamily,
    /// Set when the key fixes its algorithm (EC curve, or a JWK's `alg`).
    only_algorithm: Option<JoseAlgorithm>,
    decoding: DecodingKey,
}

impl VerificationKey {
    fn accepts(&self, alg: JoseAlgorithm) -> bool {
        alg.family() == self.family && self.only_algorithm.is_none_or(|only| only == alg)
    }

    /// The key to hand jsonwebtoken; the caller has already matched it to the algorithm.
    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }
}

/// All keys of one issuer.
pub(crate) struct IssuerKeys {
    keys: Vec<VerificationKey>,
}

impl IssuerKeys {
    /// Loads and checks every source; `issuer` only names the issuer in errors.
    pub(crate) fn load(issuer: &str, sources: &[KeySource]) -> Result<IssuerKeys, ConfigError> {
        if sources.iter().any(|source| matches!(source, KeySource::Remote)) {
            return Err(ConfigError::MisplacedRemoteKeys(issuer.to_string()));
        }
        let mut keys: Vec<VerificationKey> = Vec::new();
        for source in sources {
            for key in load_source(source)? {
                if let Some(kid) = &key.kid {
                    if keys.iter().any(|k| k.kid.as_ref() == Some(kid)) {
                        return Err(ConfigError::DuplicateKeyId { issuer: issuer.to_string(), kid: kid.clone() });
                    }
                }
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(ConfigError::NoKeys(issuer.to_string()));
        }
        Ok(IssuerKeys { keys })
    }

    /// Whether some key can verify `alg` (so an allow-listed algorithm is not dead config).
    pub(crate) fn supports(&self, alg: Algorithm) -> bool {
        self.keys.iter().any(|k| k.accepts(alg.jwt()))
    }

    /// The one key a token with this `kid` and `alg` may be verified with.
    ///
    /// With a `kid`, that key must exist and fit `alg` (else: key confusion); an issuer whose
    /// only key has no `kid` (a PEM file, say) verifies with it whatever `kid` the token names,
    /// since the token cannot mean another key of this issuer. Without a `kid`, the issuer must
    /// have exactly one key fitting `alg`; we never try keys one after another.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&VerificationKey, TokenError> {
        if let Some(kid) = kid {
            let named = self.keys.iter().find(|k| k.kid.as_deref() == Some(kid));
            let key = match (named, self.keys.as_slice()) {
                (Some(key), _) => key,
                (None, [only]) if only.kid.is_none() => only,
                (None, _) => return Err(TokenError::UnknownKeyId),
            };
            return if key.accepts(alg.jwt()) { Ok(key) } else { Err(TokenError::KeyAlgorithmMismatch { alg }) };
        }
        let mut fitting = self.keys.iter().filter(|k| k.accepts(alg.jwt()));
        match (fitting.next(), fitting.next()) {
            (Some(key), None) => Ok(key),
            (None, _) => Err(TokenError::KeyAlgorithmMismatch { alg }),
            (Some(_), Some(_)) => Err(TokenError::KeyIdRequired),
        }
    }
}

fn load_source(source: &KeySource) -> Result<Vec<VerificationKey>, ConfigError> {
    match source {
        KeySource::Jwks(text) => load_jwks(text),
        KeySource::Pem { kid, pem } => load_pem(kid.clone(), pem).map(|k| vec![k]),
        KeySource::HmacSecret { kid, secret } => load_hmac(kid.clone(), secret).map(|k| vec![k]),
        // Refused by `IssuerKeys::load` before any source is read.
        KeySource::Remote => Ok(Vec::new()),
    }
}

fn load_jwks(text: &str) -> Result<Vec<VerificationKey>, ConfigError> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| ConfigError::InvalidJwks {
        category: match e.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "unexpected end",
        },
        line: e.line(),
        column: e.column(),
    })?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        if let Some(key) = load_jwk(jwk)? {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// `Ok(None)` for keys that are not for verifying JWS signatures (RFC 7517 §4.2 `use` other
/// than `sig`, §4.3 `key_ops` without `verify`) or of a type we do not support.
fn load_jwk(jwk: &Jwk) -> Result<Option<VerificationKey>, ConfigError> {
    let kid = jwk.common.key_id.clone();
    if jwk.common.public_key_use.as_ref().is_some_and(|key_use| !matches!(key_use, PublicKeyUse::Signature)) {
        return Ok(None);
    }
    if let Some(operations) = &jwk.common.key_operations {
        if !operations.iter().any(|operation| matches!(operation, KeyOperations::Verify)) {
            return Ok(None);
        }
    }
    let declared = match jwk.common.key_algorithm {
        None => None,
        Some(key_alg) => match JoseAlgorithm::from_str(&key_alg.to_string()) {
            Ok(alg) => Some(alg),
            Err(_) => return Ok(None), // an encryption algorithm such as RSA-OAEP
        },
    };
    let key = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            require_rsa_modulus_size(&kid, &decode_b64url(&kid, &rsa.n)?)?;
            let decoding =
                DecodingKey::from_rsa_components(&rsa.n, &rsa.e).map_err(|_| invalid(&kid, "bad RSA components"))?;
            asymmetric_key(kid, AlgorithmFamily::Rsa, None, decoding)?
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let alg = match ec.curve {
                EllipticCurve::P256 => JoseAlgorithm::ES256,
                EllipticCurve::P384 => JoseAlgorithm::ES384,
                _ => return Ok(None),
            };
            let decoding =
                DecodingKey::from_ec_components(&ec.x, &ec.y).map_err(|_| invalid(&kid, "bad EC coordinates"))?;
            asymmetric_key(kid, AlgorithmFamily::Ec, Some(alg), decoding)?
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            require_ed25519_length(&kid, &decode_b64url(&kid, &okp.x)?)?;
            let decoding = DecodingKey::from_ed_components(&okp.x).map_err(|_| invalid(&kid, "bad Ed25519 key"))?;
            asymmetric_key(kid, AlgorithmFamily::Ed, None, decoding)?
        }
        AlgorithmParameters::OctetKey(oct) => {
            let secret = decode_b64url(&kid, &oct.value)?;
            load_hmac(kid, &secret)?
        }
        _ => return Ok(None),
    };
    key.restricted_to(declared).map(Some)
}

impl VerificationKey {
    /// Narrows the key to the algorithm its JWK declares; a declaration that contradicts the
    /// key type or curve is a configuration error, not something to guess around.
    fn restricted_to(mut self, declared: Option<JoseAlgorithm>) -> Result<VerificationKey, ConfigError> {
        let Some(alg) = declared else { return Ok(self) };
        if alg.family() != self.family || self.only_algorithm.is_some_and(|only| only != alg) {
            return Err(invalid(&self.kid, "declared `alg` contradicts the key type or curve"));
        }
        self.only_algorithm = Some(alg);
        Ok(self)
    }
}

/// Builds a public key and lets the crypto backend parse it once, so a broken key fails at
/// configuration time rather than as a confusing deny later.
fn asymmetric_key(
    kid: Option<String>,
    family: AlgorithmFamily,
    only_algorithm: Option<JoseAlgorithm>,
    decoding: DecodingKey,
) -> Result<VerificationKey, ConfigError> {
    let probe_alg = only_algorithm.unwrap_or(match family {
        AlgorithmFamily::Rsa => JoseAlgorithm::RS256,
        AlgorithmFamily::Ec => JoseAlgorithm::ES256,
        AlgorithmFamily::Ed => JoseAlgorithm::EdDSA,
        AlgorithmFamily::Hmac => JoseAlgorithm::HS256,
    });
    if jsonwebtoken::crypto::verify("", b"", &decoding, probe_alg).is_err() {
        return Err(invalid(&kid, "key material rejected by the crypto backend"));
    }
    Ok(VerificationKey { kid, family, only_algorithm, decoding })
}

fn load_pem(kid: Option<String>, pem: &str) -> Result<VerificationKey, ConfigError> {
    let label = pem.trim_start().lines().next().unwrap_or_default().trim();
    if label != "-----BEGIN PUBLIC KEY-----" && label != "-----BEGIN RSA PUBLIC KEY-----" {
        return Err(invalid(&kid, "only PEM public keys are accepted (no private keys, no certificates)"));
    }
    let bytes = pem.as_bytes();
    if let Ok(decoding) = DecodingKey::from_rsa_pem(bytes) {
        let der = decoding.try_get_as_bytes().map_err(|_| invalid(&kid, "bad RSA key"))?;
        let modulus = rsa_modulus_from_pkcs1(der).ok_or_else(|| invalid(&kid, "bad RSA key"))?;
        require_rsa_modulus_size(&kid, &modulus)?;
        return asymmetric_key(kid, AlgorithmFamily::Rsa, None, decoding);
    }
    if let Ok(decoding) = DecodingKey::from_ec_pem(bytes) {
        let point = decoding.try_get_as_bytes().map_err(|_| invalid(&kid, "bad EC key"))?;
        // SEC1 point sizes: uncompressed 1+2n, compressed 1+n bytes.
        let alg = match point.len() {
            65 | 33 => JoseAlgorithm::ES256,
            97 | 49 => JoseAlgorithm::ES384,
            _ => return Err(invalid(&kid, "EC key is not on P-256 or P-384")),
        };
        return asymmetric_key(kid, AlgorithmFamily::Ec, Some(alg), decoding);
    }
    if let Ok(decoding) = DecodingKey::from_ed_pem(bytes) {
        require_ed25519_length(&kid, decoding.try_get_as_bytes().map_err(|_| invalid(&kid, "bad Ed25519 key"))?)?;
        return asymmetric_key(kid, AlgorithmFamily::Ed, None, decoding);
    }
    Err(invalid(&kid, "PEM is not an RSA, EC P-256/P-384 or Ed25519 public key"))
}

fn load_hmac(kid: Option<String>, secret: &[u8]) -> Result<VerificationKey, ConfigError> {
    if secret.len() < MIN_HMAC_SECRET_BYTES {
        return Err(ConfigError::WeakKey { kid, reason: "HMAC secret shorter than 32 bytes" });
    }
    Ok(VerificationKey {
        kid,
        family: AlgorithmFamily::Hmac,
        only_algorithm: None,
        decoding: DecodingKey::from_secret(secret),
    })
}

/// The modulus of a PKCS#1 `RSAPublicKey` (SEQUENCE { INTEGER n, INTEGER e }), via the crypto
/// backend's own parser.
fn rsa_modulus_from_pkcs1(der: &[u8]) -> Option<Vec<u8>> {
    let parse = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.key_utils.rsa_pub_components_from_public_key;
    parse(der).ok().map(|(n, _e)| n)
}

fn require_rsa_modulus_size(kid: &Option<String>, modulus: &[u8]) -> Result<(), ConfigError> {
    let significant = modulus.iter().skip_while(|b| **b == 0).count();
    if significant < MIN_RSA_MODULUS_BYTES {
        return Err(ConfigError::WeakKey { kid: kid.clone(), reason: "RSA modulus shorter than 2048 bits" });
    }
    Ok(())
}

/// Also guards the crypto backend, which slices the first 32 bytes of an Ed25519 key.
fn require_ed25519_length(kid: &Option<String>, key: &[u8]) -> Result<(), ConfigError> {
    if key.len() != ED25519_PUBLIC_KEY_BYTES {
        return Err(invalid(kid, "Ed25519 public key must be 32 bytes"));
    }
    Ok(())
}

fn decode_b64url(kid: &Option<String>, text: &str) -> Result<Vec<u8>, ConfigError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid(kid, "key parameter is not base64url"))
}

fn invalid(kid: &Option<String>, reason: &'static str) -> ConfigError {
    ConfigError::InvalidKey { kid: kid.clone(), reason }
}
