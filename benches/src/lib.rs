//! Benchmark scenarios: each one is the same policy, data and request written for Warrant, for
//! Rego (evaluated by regorus) and for Cedar (evaluated by cedar-policy), so the bench targets
//! can check that the three engines agree before timing any of them.
//!
//! Only text and JSON live here; the peer engines are dev-dependencies of the bench targets.
//! [`loadgen`] is the load generator for `warrant serve` (`benches/serve_load.sh`).
pub mod loadgen;
pub mod peer_input;
pub mod reference;
pub mod scaling;
pub mod scenario;

pub use scenario::{Scenario, REGO_ENTRYPOINT};
