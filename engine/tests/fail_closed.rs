//! Issue 10's wrong allows, through the public engine API: a missing or ill-typed value never
//! disables a deny rule, a data document that contradicts the policy is refused (the previous
//! data stays in force), and revocations listed in the data are enforced by `Policy::decide`
//! on every hop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use proptest::prelude::*;
use serde_json::{json, Value};
use warrant_engine::{ClaimMapping, Engine, EngineError, Policy, Request};

const POLICY: &str = r#"package fail.closed
allow anyone if { }
deny blocked "blocked user" if { sub in data.blocked }
deny tenant "tenant must be acme" if { claims.tenant != "acme" }
deny level "level too high" if { not claims.level <= 3 }
deny old "token too old" if { now - iat > 1h }
"#;

fn policy() -> Policy {
    Engine::new().unwrap().compile_policy(POLICY, "fail_closed.warrant").unwrap()
}

fn request(claims: Value) -> Request {
    Request::from_json(json!({"claims": claims, "now": 1_000}), &ClaimMapping::default()).unwrap()
}

fn good_claims() -> Value {
    json!({"sub": "u", "tenant": "acme", "level": 2, "iat": 900})
}

/// Any JSON value, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "[a-z]{0,4}".prop_map(Value::String),
        Just(json!("acme")),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..3).prop_map(|m| json!(m)),
        ]
    })
}

#[test]
fn the_baseline_request_is_allowed() {
    let policy = policy().with_data(&json!({"blocked": ["x"]})).unwrap();
    let decision = policy.decide(&request(good_claims())).unwrap();
    assert!(decision.allowed, "{}", decision.explain());
}

#[test]
fn each_deny_rule_names_the_value_it_could_not_read() {
    let policy = policy().with_data(&json!({"blocked": ["x"]})).unwrap();
    for (claim, reason) in [
        ("tenant", "tenant must be acme (cannot be decided: claims.tenant is missing or not a string)"),
        ("level", "level too high (cannot be decided: claims.level is missing or not an integer)"),
        ("iat", "token too old (cannot be decided: iat is missing or not an integer)"),
        ("sub", "blocked user (cannot be decided: sub is missing or not a string)"),
    ] {
        let mut claims = good_claims();
        claims.as_object_mut().unwrap().remove(claim);
        let decision = policy.decide(&request(claims)).unwrap();
        assert!(!decision.allowed);
        assert_eq!(decision.deny_reasons, [reason], "without {claim}");
    }
    // An `iat` near i64::MIN makes `now - iat` overflow: undecided, never a wrap to an allow.
    let mut claims = good_claims();
    claims["iat"] = json!(i64::MIN);
    let decision = policy.decide(&request(claims)).unwrap();
    assert_eq!(decision.deny_reasons, ["token too old (cannot be decided: now - iat overflows a 64-bit integer)"]);
}

#[test]
fn data_that_contradicts_the_policy_is_refused_and_the_previous_data_stays() {
    let policy = policy().with_data(&json!({"blocked": ["u"]})).unwrap();
    for bad in [json!({"blocked": ["u", 1]}), json!({"blocked": "u"}), json!(["u"]), json!({"blocked": null})] {
        match policy.replace_shared_data(&bad) {
            Err(EngineError::Data(error)) => assert!(error.to_string().contains("data"), "{error}"),
            other => panic!("{bad} was accepted: {other:?}"),
        }
        let decision = policy.decide(&request(good_claims())).unwrap();
        assert_eq!(decision.deny_reasons, ["blocked user"], "the previous data is still in force after {bad}");
    }
    let error = policy.replace_shared_data(&json!({"blocked": ["u", 1]})).unwrap_err().to_string();
    assert_eq!(
        error,
        "invalid policy data: data does not fit the policy: data.blocked: expected a set of strings \
         (an array of strings, or an object), found an array whose element 1 is an integer"
    );
}

#[test]
fn revocations_in_the_data_are_enforced_on_every_hop_by_policy_decide() {
    let policy = policy().with_data(&json!({"blocked": [], "revoked_instances": ["task-0bad"]})).unwrap();
    let mut inner = good_claims();
    inner["act"] =
        json!({"sub": "agent-b", "instance_id": "task-1", "act": {"sub": "agent-a", "instance_id": "task-0bad"}});
    let mut top = good_claims();
    top["instance_id"] = json!("task-0bad");
    for claims in [inner, top] {
        let decision = policy.decide(&request(claims)).unwrap();
        assert!(!decision.allowed && decision.fired.is_empty());
        assert_eq!(decision.deny_reasons, ["revoked agent instance `task-0bad`"]);
    }
    let mut sibling = good_claims();
    sibling["act"] = json!({"sub": "agent-a", "instance_id": "task-2"});
    assert!(policy.decide(&request(sibling)).unwrap().allowed, "the user's other instance");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever a token carries as `tenant` and `level`, and whatever the data holds as
    /// `blocked`: either the data is refused at load, or a request is allowed only when every
    /// deny rule's value is present, well typed and harmless.
    #[test]
    fn no_ill_typed_value_bypasses_a_deny_rule(tenant in prop::option::of(any_json()),
                                                level in prop::option::of(any_json()),
                                                blocked in prop::option::of(any_json())) {
        let policy = policy();
        let data = match &blocked { Some(b) => json!({"blocked": b}), None => json!({}) };
        if policy.replace_shared_data(&data).is_err() {
            let fits = matches!(&blocked, Some(Value::Array(items)) if items.iter().all(Value::is_string))
                || matches!(&blocked, Some(Value::Object(_)));
            prop_assert!(!fits, "well-shaped data refused: {}", data);
            return Ok(());
        }
        let mut claims = json!({"sub": "u", "iat": 900});
        if let Some(t) = &tenant { claims["tenant"] = t.clone(); }
        if let Some(l) = &level { claims["level"] = l.clone(); }
        let decision = policy.decide(&request(claims)).unwrap();
        let harmless = tenant == Some(json!("acme"))
            && level.as_ref().and_then(Value::as_i64).is_some_and(|l| l <= 3)
            && match &blocked {
                Some(Value::Array(items)) => !items.contains(&json!("u")),
                Some(Value::Object(map)) => !map.contains_key("u"),
                _ => false,
            };
        prop_assert_eq!(decision.allowed, harmless, "{}", decision.explain());
    }
}
