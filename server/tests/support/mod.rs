//! Shared by the server's tests: test tokens signed with the committed keys, a server started
//! in-process on a free loopback port, and a small HTTP client. Each test file uses a part.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use warrant_server::config::IssuerSection;
use warrant_server::{RunningServer, ServerConfig};

pub const ISSUER: &str = "https://idp.test";
pub const AUDIENCE: &str = "https://api.test";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("server/ is in the repository").to_path_buf()
}

pub fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys")
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// An ES256 token signed with committed key `kid` (`k1` or `k2`), header `kid` set.
pub fn sign(kid: &str, claims: &Value) -> String {
    let pem = std::fs::read(keys_dir().join(format!("{kid}.pem"))).expect("test key");
    let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem).expect("EC PEM");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key).expect("signs")
}

/// The agent's DPoP key in these tests is `k2` (not an issuer key here): its public JWK.
pub fn dpop_jwk() -> jsonwebtoken::jwk::Jwk {
    let text = std::fs::read_to_string(keys_dir().join("k2.jwks.json")).expect("k2.jwks.json");
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&text).expect("a JWK Set");
    set.keys.into_iter().next().expect("one key")
}

/// The RFC 7638 thumbprint of `k2`, computed here from the JWK members (not by the server's
/// code), for a token's `cnf.jkt`.
pub fn dpop_thumbprint() -> String {
    use base64::Engine;
    use sha2::Digest;
    let text = std::fs::read_to_string(keys_dir().join("k2.jwks.json")).expect("k2.jwks.json");
    let set: Value = serde_json::from_str(&text).expect("JSON");
    let key = &set["keys"][0];
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        key["crv"].as_str().unwrap(),
        key["x"].as_str().unwrap(),
        key["y"].as_str().unwrap()
    );
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
}

/// A DPoP proof by `k2` for `method` `uri`, bound to `token` (`ath`), issued now, unique `jti`.
pub fn dpop_proof(token: &str, method: &str, uri: &str) -> String {
    dpop_proof_with_nonce(token, method, uri, None)
}

/// [`dpop_proof`] carrying the server's `nonce`, when given.
pub fn dpop_proof_with_nonce(token: &str, method: &str, uri: &str, nonce: Option<&str>) -> String {
    use base64::Engine;
    use sha2::Digest;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let pem = std::fs::read(keys_dir().join("k2.pem")).expect("test key");
    let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem).expect("EC PEM");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("dpop+jwt".to_string());
    header.jwk = Some(dpop_jwk());
    let jti = format!("proof-{}-{}", now(), COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let ath = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token.as_bytes()));
    let mut claims = json!({ "jti": jti, "htm": method, "htu": uri, "iat": now(), "ath": ath });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    jsonwebtoken::encode(&header, &claims, &key).expect("signs")
}

/// Claims of a user `sub` acting through `agent` (one `act` hop) with `scope`, valid for 10 min.
pub fn claims(sub: &str, agent: &str, scope: &str) -> Value {
    let now = now();
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "scope": scope,
        "iat": now, "exp": now + 600, "jti": format!("jti-{sub}-{now}"),
        "act": { "sub": agent, "instance_id": format!("run-{agent}") },
    })
}

/// A configuration for `policy` (relative to the repository) on a free loopback port.
pub fn config(policy: &str, data: Option<&str>) -> ServerConfig {
    let mut config = ServerConfig::for_policy(repo_root().join(policy));
    config.policy.data = data.map(|data| repo_root().join(data));
    config.listen.http = "127.0.0.1:0".parse().unwrap();
    config
}

/// `config` trusting the test issuer with the keys of `jwks_file` (in `tests/keys`).
pub fn with_issuer_file(mut config: ServerConfig, jwks_file: &str) -> ServerConfig {
    let mut issuer =
        IssuerSection::new(ISSUER.to_string(), vec![AUDIENCE.to_string()], vec![warrant::token::Algorithm::ES256]);
    issuer.jwks_file = Some(keys_dir().join(jwks_file));
    config.issuers.push(issuer);
    config
}

pub async fn start(config: ServerConfig) -> RunningServer {
    warrant_server::start(config).await.expect("server starts")
}

/// A cleartext h2 client (prior knowledge), as a gRPC-less h2 caller would connect.
pub fn h2_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().http2_prior_knowledge().build().expect("h2 client")
}

/// A plain HTTP/1.1 client for the tests (reqwest, as an operator's service would use).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().expect("client")
}

/// POSTs `body` as JSON to `path`; the status and the parsed JSON answer.
pub async fn post_json(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let response = client()
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON answer, got: {text}")))
}

pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let response = client().get(format!("http://{addr}{path}")).send().await.expect("request sent");
    (response.status().as_u16(), response.text().await.expect("body"))
}

/// The value of `series` (name and labels exactly as exported) in a `/metrics` text.
pub fn series_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map(|value| value.trim().parse().unwrap())
}

/// [`series_value`], 0 when the series is absent (a counter not yet incremented).
pub fn metric(text: &str, series: &str) -> f64 {
    series_value(text, series).unwrap_or(0.0)
}
