//! Loads the committed PyJWT vectors (`tests/vectors/tokens.json`) and builds the verifier they
//! describe. Shared by the token test files.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use warrant_engine::token::{Algorithm, DpopMode, IssuerConfig, KeySource, TokenVerifier, VerifyOptions};

pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

pub fn load_vectors() -> Value {
    let text = std::fs::read_to_string(vectors_dir().join("tokens.json")).expect("tokens.json is committed");
    serde_json::from_str(&text).expect("tokens.json is JSON")
}

pub fn str_field<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field].as_str().unwrap_or_else(|| panic!("vector field `{field}` must be a string"))
}

pub fn case<'a>(vectors: &'a Value, name: &str) -> &'a Value {
    vectors["cases"].as_array().expect("cases").iter().find(|c| c["name"] == name).expect("case exists")
}

fn key_source(spec: &Value) -> KeySource {
    let kid = spec["kid"].as_str().map(str::to_string);
    if let Some(file) = spec["jwks_file"].as_str() {
        KeySource::jwks_file(vectors_dir().join(file)).expect("JWKS file readable")
    } else if let Some(file) = spec["pem_file"].as_str() {
        KeySource::pem_file(vectors_dir().join(file), kid).expect("PEM file readable")
    } else {
        let secret = URL_SAFE_NO_PAD.decode(str_field(spec, "hmac_secret_b64url")).expect("secret is base64url");
        KeySource::HmacSecret { kid, secret }
    }
}

fn issuer_config(spec: &Value) -> IssuerConfig {
    let strings = |field: &str| -> Vec<String> {
        spec[field].as_array().expect("array").iter().map(|v| v.as_str().expect("string").to_string()).collect()
    };
    IssuerConfig {
        issuer: str_field(spec, "issuer").to_string(),
        audiences: strings("audiences"),
        algorithms: strings("algorithms").iter().map(|a| Algorithm::from_str(a).expect("known alg")).collect(),
        keys: spec["keys"].as_array().expect("keys").iter().map(key_source).collect(),
        dpop: DpopMode::default(),
    }
}

/// The vectors' issuers, with the vectors' leeway and size cap over `base` options.
pub fn verifier_with(vectors: &Value, base: VerifyOptions) -> TokenVerifier {
    let issuers = vectors["issuers"].as_array().expect("issuers").iter().map(issuer_config).collect();
    let options = VerifyOptions {
        leeway_seconds: vectors["leeway"].as_u64().expect("leeway") as u32,
        max_token_bytes: vectors["max_token_bytes"].as_u64().expect("max_token_bytes") as usize,
        ..base
    };
    TokenVerifier::new(issuers, options).expect("vector configuration is valid")
}

pub fn verifier(vectors: &Value) -> TokenVerifier {
    verifier_with(vectors, VerifyOptions::default())
}

/// The verifier options a case asks for: the defaults, with its `options` object's fields set.
pub fn case_options(case: &Value) -> VerifyOptions {
    let mut options = VerifyOptions::default();
    let Some(fields) = case["options"].as_object() else { return options };
    for (name, value) in fields {
        let value = value.as_bool().expect("vector options are booleans");
        match name.as_str() {
            "require_iat" => options.require_iat = value,
            "require_jti" => options.require_jti = value,
            "require_client_id" => options.require_client_id = value,
            "require_access_token_type" => options.require_access_token_type = value,
            other => panic!("unknown vector option `{other}`"),
        }
    }
    options
}
