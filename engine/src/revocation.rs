//! Revoked agent instances, OAuth clients and tokens. A set is an immutable value: revoking
//! makes a new set, which the gateway swaps in atomically, so a decision sees either the old
//! set or the new one, never a mix.
//!
//! The host enforces the set itself, before the policy runs (a policy cannot forget it), and
//! also exposes it to policies as data under [`DATA_KEY_INSTANCES`], [`DATA_KEY_CLIENT_IDS`]
//! and [`DATA_KEY_JTIS`] (arrays of strings), so rules may reason about it too.
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use warrant_lang::request::Request;

/// Data key holding the revoked agent instances (`data.revoked_instances`).
pub const DATA_KEY_INSTANCES: &str = "revoked_instances";
/// Data key holding the revoked OAuth client ids (`data.revoked_client_ids`).
pub const DATA_KEY_CLIENT_IDS: &str = "revoked_client_ids";
/// Data key holding the revoked token ids (`data.revoked_jtis`).
pub const DATA_KEY_JTIS: &str = "revoked_jtis";

/// One thing to revoke.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Revocation {
    /// One running agent instance (the instance claim, top level or in any `act` hop).
    Instance(String),
    /// Every token issued to an OAuth client (top level or in any `act` hop).
    ClientId(String),
    /// One token, by `jti`.
    Jti(String),
}

/// Why a revocation file or data document cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    #[error("revocation list is not valid JSON: {0}")]
    Json(String),
    #[error("`{0}` must be an array of strings or an object whose keys are the revoked ids")]
    NotAList(String),
}

/// Revoked ids by kind. The file form is
/// `{"instances": [...], "client_ids": [...], "jtis": [...]}` (every key optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationSet {
    #[serde(default)]
    pub instances: BTreeSet<String>,
    #[serde(default)]
    pub client_ids: BTreeSet<String>,
    #[serde(default)]
    pub jtis: BTreeSet<String>,
}

impl RevocationSet {
    /// Parses the file form.
    pub fn from_json_str(text: &str) -> Result<RevocationSet, RevocationError> {
        serde_json::from_str(text).map_err(|e| RevocationError::Json(e.to_string()))
    }

    /// Reads the revocations a data document already lists under the `revoked_*` keys, so a
    /// policy's shipped data and the host check agree from the start.
    pub fn from_data(data: &Value) -> Result<RevocationSet, RevocationError> {
        Ok(RevocationSet {
            instances: ids_in_data(data, DATA_KEY_INSTANCES)?,
            client_ids: ids_in_data(data, DATA_KEY_CLIENT_IDS)?,
            jtis: ids_in_data(data, DATA_KEY_JTIS)?,
        })
    }

    /// This set plus `revocation`.
    pub fn with(&self, revocation: Revocation) -> RevocationSet {
        let mut next = self.clone();
        match revocation {
            Revocation::Instance(id) => next.instances.insert(id),
            Revocation::ClientId(id) => next.client_ids.insert(id),
            Revocation::Jti(id) => next.jtis.insert(id),
        };
        next
    }

    /// Every id of both sets.
    pub fn union(&self, other: &RevocationSet) -> RevocationSet {
        let merge = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.union(b).cloned().collect();
        RevocationSet {
            instances: merge(&self.instances, &other.instances),
            client_ids: merge(&self.client_ids, &other.client_ids),
            jtis: merge(&self.jtis, &other.jtis),
        }
    }

    /// The deny reason if `request` carries a revoked token, client or instance anywhere in
    /// its delegation chain (a revoked agent cannot launder its calls through a delegate).
    pub fn refusal(&self, request: &Request) -> Option<String> {
        if let Some(jti) = request.jti.as_deref().filter(|jti| self.jtis.contains(*jti)) {
            return Some(format!("revoked token: jti `{jti}`"));
        }
        let instances = request.chain.iter().map(|actor| &actor.instance).chain([&request.instance]);
        for instance in instances.flatten() {
            if self.instances.contains(instance) {
                return Some(format!("revoked agent instance `{instance}`"));
            }
        }
        let clients = request.chain.iter().map(|actor| &actor.client_id).chain([&request.client_id]);
        for client in clients.flatten() {
            if self.client_ids.contains(client) {
                return Some(format!("revoked client `{client}`"));
            }
        }
        None
    }

    /// `data` with the `revoked_*` keys set to this set, for policies to read. A data document
    /// that is not an object cannot carry them and is replaced by one that only does.
    pub fn merged_into(&self, data: &Value) -> Value {
        let mut merged = match data {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        let list = |ids: &BTreeSet<String>| Value::Array(ids.iter().cloned().map(Value::String).collect());
        merged.insert(DATA_KEY_INSTANCES.to_string(), list(&self.instances));
        merged.insert(DATA_KEY_CLIENT_IDS.to_string(), list(&self.client_ids));
        merged.insert(DATA_KEY_JTIS.to_string(), list(&self.jtis));
        Value::Object(merged)
    }
}

/// The ids listed at `data.KEY`: an array of strings, or an object's keys (both forms the
/// language reads as a set).
fn ids_in_data(data: &Value, key: &str) -> Result<BTreeSet<String>, RevocationError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(BTreeSet::new()),
        Some(Value::Object(map)) => Ok(map.keys().cloned().collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string).ok_or_else(|| RevocationError::NotAList(key.to_string())))
            .collect(),
        Some(_) => Err(RevocationError::NotAList(key.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use warrant_lang::request::ClaimMapping;

    fn request(value: Value) -> Request {
        Request::from_json(value, &ClaimMapping::default()).unwrap()
    }

    #[test]
    fn revoked_instance_is_refused_in_any_hop_but_not_its_siblings() {
        let set = RevocationSet::default().with(Revocation::Instance("run-2".into()));
        let nested = request(json!({"claims": {"sub": "u", "act": {"sub": "b", "instance_id": "run-9",
            "act": {"sub": "a", "instance_id": "run-2"}}}}));
        assert_eq!(set.refusal(&nested).as_deref(), Some("revoked agent instance `run-2`"));
        let sibling = request(json!({"claims": {"sub": "u", "act": {"sub": "a", "instance_id": "run-1"}}}));
        assert_eq!(set.refusal(&sibling), None);
    }

    #[test]
    fn revoked_client_and_jti_are_refused() {
        let set = RevocationSet::default()
            .with(Revocation::ClientId("bad-client".into()))
            .with(Revocation::Jti("t-1".into()));
        assert!(set.refusal(&request(json!({"claims": {"client_id": "bad-client"}}))).is_some());
        assert!(set.refusal(&request(json!({"claims": {"act": {"client_id": "bad-client"}}}))).is_some());
        assert_eq!(
            set.refusal(&request(json!({"claims": {"jti": "t-1"}}))).as_deref(),
            Some("revoked token: jti `t-1`")
        );
        assert_eq!(set.refusal(&request(json!({"claims": {"jti": "t-2", "client_id": "ok"}}))), None);
    }

    #[test]
    fn data_round_trip_keeps_other_keys_and_reads_both_set_forms() {
        let data = json!({"agents": {"a": {}}, "revoked_instances": {"run-2": true}, "revoked_jtis": ["t"]});
        let set = RevocationSet::from_data(&data).unwrap().with(Revocation::ClientId("c".into()));
        let merged = set.merged_into(&data);
        assert_eq!(merged["agents"], json!({"a": {}}));
        assert_eq!(merged[DATA_KEY_INSTANCES], json!(["run-2"]));
        assert_eq!(merged[DATA_KEY_CLIENT_IDS], json!(["c"]));
        assert_eq!(RevocationSet::from_data(&merged).unwrap(), set);
        assert!(RevocationSet::from_data(&json!({"revoked_jtis": [1]})).is_err());
    }

    #[test]
    fn file_form_rejects_unknown_keys() {
        let set = RevocationSet::from_json_str(r#"{"instances": ["i"], "jtis": ["j"]}"#).unwrap();
        assert!(set.instances.contains("i") && set.jtis.contains("j") && set.client_ids.is_empty());
        assert!(RevocationSet::from_json_str(r#"{"instance": ["i"]}"#).is_err());
    }
}
