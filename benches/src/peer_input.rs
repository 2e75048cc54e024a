//! The resolved Warrant [`Request`] and data document, reshaped for the peer engines. Both
//! peers receive the request Warrant decides on (same claims mapping, same delegation order),
//! so a disagreement can only come from the policies, never from the inputs.
use serde_json::{json, Map, Value};
use warrant_engine::{Actor, Request};

/// Cedar entity type of the current actor's instance (the principal).
pub const CEDAR_INSTANCE_TYPE: &str = "Instance";
/// Cedar principal type when the request has no current actor.
pub const CEDAR_ANONYMOUS_TYPE: &str = "Anonymous";
/// Cedar entity type of a registry entry (`data.cases[uri]`), keyed by the resource URI.
pub const CEDAR_RESOURCE_TYPE: &str = "Resource";
/// The group every revoked instance belongs to: `principal in RevocationList::"revoked"`.
pub const CEDAR_REVOCATION_GROUP: (&str, &str) = ("RevocationList", "revoked");

/// The Rego `input` document: the request's vocabulary under the same names as in Warrant,
/// `chain` in delegation order. Missing values are absent, so Rego sees them as undefined.
pub fn rego_input(request: &Request) -> Value {
    let mut input = vocabulary(request);
    input.insert("chain".into(), Value::Array(request.chain.iter().map(actor).collect()));
    input.insert("claims".into(), Value::Object(request.claims.clone()));
    Value::Object(input)
}

/// A Cedar request as JSON parts: entity uids are `{"type", "id"}` objects.
#[derive(Debug, Clone, PartialEq)]
pub struct CedarRequest {
    pub principal: Value,
    pub action: Value,
    pub resource: Value,
    pub context: Value,
}

/// The principal is the current actor's instance; the resource is the registry entry named by
/// the resource URI. Cedar has no quantifier over sets, so the chain is a record of numbered
/// hops (`hop0` is the first delegate) that policies unroll up to the depth they accept.
pub fn cedar_request(request: &Request) -> CedarRequest {
    let principal = match request.current_actor().and_then(|current| current.instance.as_deref()) {
        Some(instance) => entity_uid(CEDAR_INSTANCE_TYPE, instance),
        None => entity_uid(CEDAR_ANONYMOUS_TYPE, ""),
    };
    let action = entity_uid("Action", request.action.as_deref().unwrap_or_default());
    let resource = entity_uid(CEDAR_RESOURCE_TYPE, request.resource.as_deref().unwrap_or_default());
    let mut chain = Map::new();
    chain.insert("depth".into(), json!(request.chain.len()));
    for (position, hop) in request.chain.iter().enumerate() {
        chain.insert(format!("hop{position}"), actor(hop));
    }
    let mut context = vocabulary(request);
    context.insert("chain".into(), Value::Object(chain));
    CedarRequest { principal, action, resource, context: Value::Object(context) }
}

/// The data document as Cedar entities: each `cases` entry becomes a `Resource` entity with
/// the entry's string attributes, each `revoked_instances` member an `Instance` entity in the
/// revocation group. Other keys are not used by the bench policies.
pub fn cedar_entities(data: &Value) -> Value {
    let mut entities = Vec::new();
    if let Some(Value::Object(cases)) = data.get("cases") {
        for (uri, entry) in cases {
            let attrs: Map<String, Value> = match entry {
                Value::Object(fields) => {
                    fields.iter().filter(|(_, v)| v.is_string()).map(|(k, v)| (k.clone(), v.clone())).collect()
                }
                _ => Map::new(),
            };
            entities.push(json!({"uid": entity_uid(CEDAR_RESOURCE_TYPE, uri), "attrs": attrs, "parents": []}));
        }
    }
    let (group_type, group_id) = CEDAR_REVOCATION_GROUP;
    for instance in set_members(data.get("revoked_instances")) {
        entities.push(json!({
            "uid": entity_uid(CEDAR_INSTANCE_TYPE, instance),
            "attrs": {},
            "parents": [entity_uid(group_type, group_id)],
        }));
    }
    Value::Array(entities)
}

/// Members of a data set the way Warrant reads it: array elements or object keys.
fn set_members(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::Object(keys)) => keys.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}

fn entity_uid(entity_type: &str, id: &str) -> Value {
    json!({"type": entity_type, "id": id})
}

/// The scalar and set fields of the vocabulary, present ones only.
fn vocabulary(request: &Request) -> Map<String, Value> {
    let strings = [
        ("sub", &request.sub),
        ("iss", &request.iss),
        ("jti", &request.jti),
        ("client_id", &request.client_id),
        ("instance", &request.instance),
        ("resource", &request.resource),
        ("action", &request.action),
    ];
    let sets = [("aud", &request.aud), ("scope", &request.scope)];
    let integers = [("iat", request.iat), ("exp", request.exp), ("nbf", request.nbf), ("now", request.now)];
    let mut fields = Map::new();
    for (name, value) in strings {
        if let Some(value) = value {
            fields.insert(name.into(), json!(value));
        }
    }
    for (name, value) in sets {
        if let Some(value) = value {
            fields.insert(name.into(), json!(value));
        }
    }
    for (name, value) in integers {
        if let Some(value) = value {
            fields.insert(name.into(), json!(value));
        }
    }
    fields
}

fn actor(actor: &Actor) -> Value {
    let mut fields = Map::new();
    let named = [("sub", &actor.sub), ("client_id", &actor.client_id), ("instance", &actor.instance)];
    for (name, value) in named {
        if let Some(value) = value {
            fields.insert(name.into(), json!(value));
        }
    }
    Value::Object(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warrant_engine::ClaimMapping;

    fn request() -> Request {
        let json = json!({
            "claims": {"sub": "u", "scope": "a b", "act": {"sub": "current", "instance_id": "i-2",
                        "act": {"sub": "first", "instance_id": "i-1"}}},
            "resource": "https://r", "action": "read", "now": 7
        });
        Request::from_json(json, &ClaimMapping::default()).unwrap()
    }

    #[test]
    fn rego_input_keeps_delegation_order_and_omits_missing_values() {
        let input = rego_input(&request());
        assert_eq!(input["chain"][0]["sub"], "first");
        assert_eq!(input["chain"][1]["instance"], "i-2");
        assert_eq!(input["scope"], json!(["a", "b"]));
        assert_eq!(input["now"], 7);
        assert!(input.get("iss").is_none());
    }

    #[test]
    fn cedar_principal_is_the_current_instance_and_hops_are_numbered() {
        let cedar = cedar_request(&request());
        assert_eq!(cedar.principal, json!({"type": "Instance", "id": "i-2"}));
        assert_eq!(cedar.action, json!({"type": "Action", "id": "read"}));
        assert_eq!(cedar.context["chain"]["depth"], 2);
        assert_eq!(cedar.context["chain"]["hop0"]["sub"], "first");
        let no_chain = Request { action: Some("read".into()), ..Request::default() };
        assert_eq!(cedar_request(&no_chain).principal, json!({"type": "Anonymous", "id": ""}));
    }

    #[test]
    fn cedar_entities_cover_registry_entries_and_revoked_members_of_either_shape() {
        for revoked in [json!(["i-9"]), json!({"i-9": true})] {
            let data =
                json!({"cases": {"https://c/1": {"customer": "c1", "tags": ["x"]}}, "revoked_instances": revoked});
            let entities = cedar_entities(&data);
            assert_eq!(entities[0]["attrs"], json!({"customer": "c1"}));
            assert_eq!(entities[1]["uid"], json!({"type": "Instance", "id": "i-9"}));
            assert_eq!(entities[1]["parents"][0], json!({"type": "RevocationList", "id": "revoked"}));
        }
    }
}
