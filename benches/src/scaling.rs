//! Generated scenarios that grow one dimension at a time: the number of rules a request does
//! not match, and the depth of the delegation chain.
use serde_json::{json, Value};

use crate::reference::{self, NOW};
use crate::scenario::Scenario;

/// The deepest chain the generated policies are written for: the engine's default bound.
pub const MAX_CHAIN_DEPTH: usize = 16;

/// Rule `index` of the generated rule sets: every fourth one is a deny rule.
fn is_deny(index: usize) -> bool {
    index % 4 == 3
}

/// A policy of `rules` rules, each about its own service (allow `svcN.read` with the service's
/// scope; deny `svcN.delete` without `admin`), and a request that only the last allow rule
/// matches: an engine that tests rules one by one pays for all of them.
pub fn rules(rules: usize) -> Scenario {
    let target = (0..rules).rev().find(|&i| !is_deny(i)).unwrap_or_default();
    let has_deny = (0..rules).any(is_deny);
    let mut warrant = String::from("package bench.rules\n");
    let mut rego = String::from("package bench\nimport rego.v1\n\ndefault allow := false\n\n");
    rego.push_str(if has_deny {
        "allow if {\n    count(allowed_by) > 0\n    count(deny) == 0\n}\n"
    } else {
        "allow if count(allowed_by) > 0\n"
    });
    let mut cedar = String::new();
    for i in 0..rules {
        let (w, r, c) = if is_deny(i) { deny_rule(i) } else { allow_rule(i) };
        warrant.push_str(&w);
        rego.push_str(&r);
        cedar.push_str(&c);
    }
    let request = json!({
        "claims": {"sub": "user:1", "scope": format!("svc{target}:read")},
        "resource": format!("https://svc{target}.acme.com/items/1"),
        "action": format!("svc{target}.read"),
        "now": NOW,
    });
    Scenario {
        group: "decide/rules",
        parameter: rules.to_string(),
        warrant_policy: warrant,
        rego_policy: rego,
        cedar_policy: cedar,
        data: json!({}),
        request,
        expected_allowed: true,
    }
}

/// Allow rule `i` in Warrant, Rego and Cedar.
fn allow_rule(i: usize) -> (String, String, String) {
    (
        format!("\nallow svc{i}_read if {{\n    action == \"svc{i}.read\"\n    startswith(resource, \"https://svc{i}.acme.com/\")\n    \"svc{i}:read\" in scope\n}}\n"),
        format!("\nallowed_by contains \"svc{i}_read\" if {{\n    input.action == \"svc{i}.read\"\n    startswith(input.resource, \"https://svc{i}.acme.com/\")\n    \"svc{i}:read\" in input.scope\n}}\n"),
        format!("@id(\"svc{i}_read\")\npermit (principal, action == Action::\"svc{i}.read\", resource)\nwhen {{ context.resource like \"https://svc{i}.acme.com/*\" && context.scope.contains(\"svc{i}:read\") }};\n"),
    )
}

/// Deny rule `i` in Warrant, Rego and Cedar (a missing scope denies, as in Warrant).
fn deny_rule(i: usize) -> (String, String, String) {
    let reason = format!("deleting svc{i} data needs the admin scope");
    (
        format!("\ndeny svc{i}_delete \"{reason}\" if {{\n    action == \"svc{i}.delete\"\n    not \"admin\" in scope\n}}\n"),
        format!("\ndeny contains \"{reason}\" if {{\n    input.action == \"svc{i}.delete\"\n    not \"admin\" in input.scope\n}}\n"),
        format!("@id(\"svc{i}_delete\")\nforbid (principal, action == Action::\"svc{i}.delete\", resource)\nwhen {{ !(context has scope) || !context.scope.contains(\"admin\") }};\n"),
    )
}

/// The claims of a token delegated through `depth` agents (RFC 8693 nesting: the outermost
/// `act` is the current actor).
pub fn delegated_claims(depth: usize) -> Value {
    let mut act: Option<Value> = None;
    for hop in 0..depth {
        let mut actor = json!({
            "sub": format!("spiffe://acme.com/agents/a{hop}"),
            "client_id": format!("agent-{hop}"),
            "instance_id": format!("task-{hop}"),
        });
        if let (Some(earlier), Value::Object(fields)) = (act.take(), &mut actor) {
            fields.insert("act".into(), earlier);
        }
        act = Some(actor);
    }
    let mut claims = json!({"sub": "user:1", "scope": "docs:read"});
    if let (Some(act), Value::Object(fields)) = (act, &mut claims) {
        fields.insert("act".into(), act);
    }
    claims
}

/// A policy that checks every hop of the chain (allow), looks for a banned client in any hop
/// (deny) and checks the current actor against the revocation set (deny), on a chain of
/// `depth` agents. Cedar unrolls both quantifiers over [`MAX_CHAIN_DEPTH`] hops.
pub fn chain(depth: usize) -> Scenario {
    let warrant = r#"package bench.chain

allow delegated_read if {
    action == "doc.read"
    every hop in chain { hop.sub matches "spiffe://acme.com/agents/*" }
}

deny legacy_hop "a legacy bot is in the delegation chain" if {
    some hop in chain { hop.client_id == "legacy-bot" }
}

deny revoked_actor "the current actor has been revoked" if {
    chain.depth > 0
    act.instance in data.revoked_instances
}
"#;
    let rego = r#"package bench
import rego.v1

default allow := false

allow if {
    count(allowed_by) > 0
    count(deny) == 0
}

allowed_by contains "delegated_read" if {
    input.action == "doc.read"
    every hop in input.chain { startswith(hop.sub, "spiffe://acme.com/agents/") }
}

deny contains "a legacy bot is in the delegation chain" if {
    some hop in input.chain
    hop.client_id == "legacy-bot"
}

deny contains "the current actor has been revoked" if {
    data.revoked_instances[input.chain[count(input.chain) - 1].instance]
}
"#;
    let every_hop = (0..MAX_CHAIN_DEPTH)
        .map(|h| {
            format!("(!(context.chain has hop{h}) || context.chain.hop{h}.sub like \"spiffe://acme.com/agents/*\")")
        })
        .collect::<Vec<_>>()
        .join(" &&\n    ");
    let some_hop = (0..MAX_CHAIN_DEPTH)
        .map(|h| format!("(context.chain has hop{h} && context.chain.hop{h} has client_id && context.chain.hop{h}.client_id == \"legacy-bot\")"))
        .collect::<Vec<_>>()
        .join(" ||\n    ");
    let cedar = format!(
        "@id(\"delegated_read\")\npermit (principal, action == Action::\"doc.read\", resource)\nwhen {{\n    {every_hop}\n}};\n\n\
         @id(\"legacy_hop\")\nforbid (principal, action, resource)\nwhen {{\n    {some_hop}\n}};\n\n\
         @id(\"revoked_actor\")\nforbid (principal in RevocationList::\"revoked\", action, resource);\n"
    );
    let request = json!({
        "claims": delegated_claims(depth),
        "resource": "https://docs.acme.com/handbook",
        "action": "doc.read",
        "now": NOW,
    });
    Scenario {
        group: "decide/chain",
        parameter: depth.to_string(),
        warrant_policy: warrant.to_string(),
        rego_policy: rego.to_string(),
        cedar_policy: cedar,
        data: reference::data(10),
        request,
        expected_allowed: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_sets_have_the_requested_size_in_every_language() {
        for n in [1, 10, 100] {
            let scenario = rules(n);
            let warrant_rules = scenario.warrant_policy.matches("\nallow ").count()
                + scenario.warrant_policy.matches("\ndeny ").count();
            assert_eq!(warrant_rules, n);
            assert_eq!(scenario.cedar_policy.matches("@id(").count(), n);
            assert_eq!(scenario.rego_policy.matches(" contains \"").count(), n);
        }
        assert!(rules(1).rego_policy.contains("allow if count(allowed_by) > 0"));
    }

    #[test]
    fn the_request_targets_the_last_allow_rule() {
        let scenario = rules(100);
        assert_eq!(scenario.request["action"], "svc98.read");
        assert!(scenario.warrant_policy.contains("allow svc98_read"));
        assert!(scenario.warrant_policy.contains("deny svc99_delete"));
    }

    #[test]
    fn delegated_claims_nest_the_current_actor_outermost() {
        let claims = delegated_claims(3);
        assert_eq!(claims["act"]["sub"], "spiffe://acme.com/agents/a2");
        assert_eq!(claims["act"]["act"]["act"]["sub"], "spiffe://acme.com/agents/a0");
        assert!(claims["act"]["act"]["act"].get("act").is_none());
        assert!(delegated_claims(0).get("act").is_none());
    }
}
