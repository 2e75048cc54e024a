//! Warrant engine: runs compiled policies in wasmtime and reports decisions.
//!
//! ```no_run
//! # fn main() -> Result<(), warrant_engine::EngineError> {
//! use warrant_engine::{ClaimMapping, Engine, Request};
//! let engine = Engine::new()?;
//! let policy = engine
//!     .compile_policy(&std::fs::read_to_string("policy.warrant").unwrap(), "policy.warrant")?
//!     .with_data(&serde_json::json!({"revoked_instances": []}))?;
//! let request = Request::from_json_str(r#"{"claims": {"sub": "u"}, "action": "read"}"#, &ClaimMapping::default())?;
//! println!("{}", policy.decide_or_deny(&request).explain());
//! # Ok(())
//! # }
//! ```
pub mod audit;
mod data;
pub mod decision;
pub mod error;
mod gateway;
mod host;
pub mod revocation;
pub mod token;

pub use decision::{Decision, Effect, FiredRule, PolicyVersion, NO_ALLOW_RULE_MATCHED};
pub use error::EngineError;
pub use gateway::{Gateway, GatewayDecision, GatewayError};
pub use host::{compile_package_to_wasm, compile_to_wasm, Engine, Policy};
pub use warrant_lang::request::{Actor, ClaimMapping, Request, RequestError};
pub use warrant_lang::{Diagnostics, SourceFile};
pub use warrant_wasm::abi::{AbiError, Manifest};
pub use warrant_wasm::CodegenError;
