//! The reference agent policy (`policies/support`, the one the README demonstrates), its Rego
//! and Cedar translations, a registry and revocation set of any size, and requests that take
//! the allow path and the deny path.
use serde_json::{json, Map, Value};

use crate::scenario::Scenario;

/// The shipped reference policy, verbatim: the benches time what users run.
pub const WARRANT_POLICY: &str = include_str!("../../policies/support/policy.warrant");

/// The reference policy in Rego. `every hop ... matches "prefix*"` becomes `startswith`, the
/// cheapest faithful Rego form (`glob.match` would compile a glob on every call); the
/// revocation set is an object, so membership is a key lookup.
pub const REGO_POLICY: &str = r#"package bench
import rego.v1

default allow := false

allow if {
    count(allowed_by) > 0
    count(deny) == 0
}

support_agents_only if {
    count(input.chain) >= 1
    count(input.chain) <= 2
    every hop in input.chain { startswith(hop.sub, "spiffe://acme.com/agents/support/") }
}

fresh_token if {
    input.now >= input.iat
    input.now < input.exp
    input.exp - input.iat <= 3600
}

allowed_by contains "work_on_own_case" if {
    support_agents_only
    fresh_token
    "https://support.acme.com" in input.aud
    input.action in {"case.read", "case.comment"}
    "support:cases" in input.scope
    data.cases[input.resource].customer == input.sub
}

deny contains "the case belongs to another customer" if {
    startswith(input.resource, "https://support.acme.com/cases/")
    data.cases[input.resource].customer != input.sub
}

deny contains "support agents never run bulk operations on the case pipeline" if {
    input.action in {"pipeline.bulk_update", "pipeline.bulk_close", "pipeline.reassign_all"}
}

deny contains "this agent instance has been revoked" if {
    data.revoked_instances[input.chain[count(input.chain) - 1].instance]
}
"#;

/// The reference policy in Cedar. The chain (at most two hops here) is unrolled; the registry
/// entry is the resource entity; a revoked instance is a member of the revocation group.
pub const CEDAR_POLICY: &str = r#"
@id("work_on_own_case")
permit (principal, action in [Action::"case.read", Action::"case.comment"], resource)
when {
    context.chain.depth >= 1 && context.chain.depth <= 2 &&
    (!(context.chain has hop0) || context.chain.hop0.sub like "spiffe://acme.com/agents/support/*") &&
    (!(context.chain has hop1) || context.chain.hop1.sub like "spiffe://acme.com/agents/support/*") &&
    context.now >= context.iat && context.now < context.exp && context.exp - context.iat <= 3600 &&
    context.aud.contains("https://support.acme.com") &&
    context.scope.contains("support:cases") &&
    resource has customer && resource.customer == context.sub
};

@id("other_customer")
forbid (principal, action, resource)
when {
    context.resource like "https://support.acme.com/cases/*" &&
    resource has customer && resource.customer != context.sub
};

@id("bulk_pipeline")
forbid (principal, action in [Action::"pipeline.bulk_update", Action::"pipeline.bulk_close", Action::"pipeline.reassign_all"], resource);

@id("revoked_instance")
forbid (principal in RevocationList::"revoked", action, resource);
"#;

/// Time of every bench request, inside the tokens' validity window.
pub const NOW: i64 = 1_700_000_600;
const ISSUED_AT: i64 = 1_700_000_000;
const EXPIRES_AT: i64 = 1_700_001_800;

/// URI of registry entry `index`.
pub fn case_uri(index: usize) -> String {
    format!("https://support.acme.com/cases/{index}")
}

/// The customer owning registry entry `index` (customers own many cases).
pub fn customer_of(index: usize) -> String {
    format!("customer:cust-{}", index % 1_000)
}

/// A registry of `entries` cases and a revocation set of as many instances (an object, so
/// Rego can look members up by key; Warrant reads its keys).
pub fn data(entries: usize) -> Value {
    let cases: Map<String, Value> =
        (0..entries).map(|i| (case_uri(i), json!({"customer": customer_of(i), "status": "open"}))).collect();
    let revoked: Map<String, Value> = (0..entries).map(|i| (format!("task-revoked-{i}"), json!(true))).collect();
    json!({"cases": cases, "revoked_instances": revoked})
}

/// The claims a support agent presents, acting for `customer` (mirrors
/// `policies/support/allow.json`).
pub fn claims(customer: &str) -> Value {
    json!({
        "iss": "https://idp.acme.com",
        "sub": customer,
        "aud": "https://support.acme.com",
        "client_id": "support-console",
        "scope": "support:cases",
        "iat": ISSUED_AT,
        "exp": EXPIRES_AT,
        "instance_id": "task-7f3a",
        "act": {
            "sub": "spiffe://acme.com/agents/support/triage",
            "client_id": "support-agent",
            "instance_id": "task-7f3a"
        }
    })
}

/// The agent comments on case `index` for its owner (allowed) or for the next customer
/// (denied: the case belongs to another customer).
pub fn request(index: usize, own_case: bool) -> Value {
    let customer = if own_case { customer_of(index) } else { customer_of(index + 1) };
    json!({"claims": claims(&customer), "resource": case_uri(index), "action": "case.comment", "now": NOW})
}

/// The reference policy with a registry and revocation set of `entries` each, deciding on a
/// case in the middle of the registry.
pub fn scenario(group: &'static str, parameter: String, entries: usize, own_case: bool) -> Scenario {
    Scenario {
        group,
        parameter,
        warrant_policy: WARRANT_POLICY.to_string(),
        rego_policy: REGO_POLICY.to_string(),
        cedar_policy: CEDAR_POLICY.to_string(),
        data: data(entries),
        request: request(entries / 2, own_case),
        expected_allowed: own_case,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_a_registered_case_and_its_owner_or_another_customer() {
        let scenario = scenario("g", "p".into(), 10, true);
        let resource = scenario.request["resource"].as_str().unwrap();
        let owner = &scenario.data["cases"][resource]["customer"];
        assert_eq!(&scenario.request["claims"]["sub"], owner);
        let denied = request(5, false);
        assert_ne!(&denied["claims"]["sub"], &data(10)["cases"][case_uri(5)]["customer"]);
    }
}
