//! Warrant: a policy engine for AI-agent identity — who acts, for whom, through which RFC 8693
//! delegation chain, on what.
//!
//! This crate is the one dependency an application needs: it re-exports, by name, the parts of
//! `warrant-engine` (and of `warrant-lang` / `warrant-wasm` that appear in its signatures) that
//! make up the supported API. The list is explicit so that a new public item of an inner crate is
//! a decision to publish, not an accident. The `warrant` command line is another package
//! (`warrant-cli`), so depending on this crate pulls in no argument parser.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use warrant::{ClaimMapping, Engine, Request};
//! let engine = Engine::new()?;
//! let policy = engine
//!     .compile_policy(&std::fs::read_to_string("policies/hr/policy.warrant")?, "hr")?
//!     .with_data(&serde_json::from_str(&std::fs::read_to_string("policies/hr/data.json")?)?)?;
//! let request = Request::from_json_str(&std::fs::read_to_string("policies/hr/allow.json")?, &ClaimMapping::default())?;
//! let decision = policy.decide_or_deny(&request);
//! println!("{}", decision.explain());
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The compiled-policy runtime: one [`Engine`] per process, a [`Policy`] per loaded module.
pub use warrant_engine::{compile_package_to_wasm, compile_to_wasm, Engine, Policy};

/// One file of a policy split over several files ([`Engine::compile_package`]).
pub use warrant_engine::SourceFile;

/// What a decision reports: the verdict, the rules that fired, deny reasons, the policy version.
pub use warrant_engine::{Decision, Effect, FiredRule, PolicyVersion, NO_ALLOW_RULE_MATCHED};

/// The request a policy decides, and how token claims map onto it (RFC 8693 chain order).
pub use warrant_engine::{Actor, ClaimMapping, Request, RequestError};

/// Every reason the engine could not decide; each one is a deny under `decide_or_deny`.
pub use warrant_engine::EngineError;

/// What [`EngineError`] carries: policy diagnostics, ABI and code-generation refusals.
pub use warrant_engine::{AbiError, CodegenError, Diagnostics};

/// The policy module's self-description (rules, slots, ABI version), read from its custom section.
pub use warrant_engine::Manifest;

/// The enforcement point: token → request → decision → audit record, with hot-swappable
/// policy, data and revocations.
pub use warrant_engine::{Gateway, GatewayDecision, GatewayError};

/// The decision log: records, sinks, the background writer and its health.
pub use warrant_engine::audit;

/// Revocation of agent instances, clients and tokens, enforced on every hop before the policy.
pub use warrant_engine::revocation;

/// JWT access-token verification (RFC 9068): issuers, keys, options and refusal codes.
pub use warrant_engine::token;
