//! Warrant: a policy engine for AI-agent identity. This crate is the `warrant` CLI plus a thin
//! facade over the engine's public API, so applications depend on one crate.
pub use warrant_engine::*;
