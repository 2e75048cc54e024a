//! What a scenario is: one decision, written once per engine, with the answer all must give.
use serde_json::Value;

/// Every Rego policy of the benches declares `package bench` and decides with this rule.
pub const REGO_ENTRYPOINT: &str = "data.bench.allow";

/// One decision to time in the three engines.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Criterion group, e.g. `decide/rules`.
    pub group: &'static str,
    /// What varies within the group (`allow`, `100`, ...): the row of the report table.
    pub parameter: String,
    /// Warrant source.
    pub warrant_policy: String,
    /// Rego source (`package bench`, entry point [`REGO_ENTRYPOINT`]).
    pub rego_policy: String,
    /// Cedar policy set.
    pub cedar_policy: String,
    /// The data document Warrant and Rego read as `data` (Cedar gets it as entities, see
    /// [`crate::peer_input::cedar_entities`]).
    pub data: Value,
    /// The request in the CLI's JSON shape: `{"claims": {...}, "resource", "action", "now"}`.
    pub request: Value,
    /// The decision every engine must reach.
    pub expected_allowed: bool,
}
