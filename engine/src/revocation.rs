//! Revoked agent instances, OAuth clients and tokens. A set is an immutable value: revoking
//! makes a new set, which the gateway swaps in atomically, so a decision sees either the old
//! set or the new one, never a mix.
//!
//! The host enforces the set itself, before the policy runs (a policy cannot forget it), and
//! also exposes it to policies as data under [`DATA_KEY_INSTANCES`], [`DATA_KEY_CLIENT_IDS`]
//! and [`DATA_KEY_JTIS`], so rules may reason about it too.
//!
//! A revocation may carry an [`Expiry`]: a revoked instance need not be listed past the longest
//! token lifetime. It refuses while the decision time (the request's `now`) is before its
//! expiry; a request without `now` is refused (fail closed).
//!
//! Each kind of id has one JSON form, in revocation files and data documents alike: an array of
//! strings (revoked for good, the original form), or an object whose keys are the ids, where a
//! value `{"expires": SECONDS}` ends that revocation at that Unix time and any other value
//! (`{}`, `true`) never ends it. A kind is written as an array while none of its entries
//! expires, so such files keep the original form and older readers still read them.
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use warrant_lang::request::Request;

/// Data key holding the revoked agent instances (`data.revoked_instances`).
pub const DATA_KEY_INSTANCES: &str = "revoked_instances";
/// Data key holding the revoked OAuth client ids (`data.revoked_client_ids`).
pub const DATA_KEY_CLIENT_IDS: &str = "revoked_client_ids";
/// Data key holding the revoked token ids (`data.revoked_jtis`).
pub const DATA_KEY_JTIS: &str = "revoked_jtis";
/// The latest expiry accepted, 9999-12-31T23:59:59Z: anything later is a mistake (or an
/// attempt to overflow time arithmetic), never a real expiry.
pub const MAX_EXPIRY: i64 = 253_402_300_799;

/// The keys of a revocation file, in the order instances, clients, tokens.
const FILE_KEYS: [&str; 3] = ["instances", "client_ids", "jtis"];
/// The data document keys, in the same order.
const DATA_KEYS: [&str; 3] = [DATA_KEY_INSTANCES, DATA_KEY_CLIENT_IDS, DATA_KEY_JTIS];

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

/// Until when a revocation refuses. Ordered so that the longer revocation is the greater:
/// merging two revocations of one id keeps the longer (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Expiry {
    /// Refuses before this Unix time (seconds); from that second on it is lapsed.
    At(i64),
    /// Refuses until lifted.
    Never,
}

impl Expiry {
    /// Whether a revocation with this expiry refuses a decision made at `now` (Unix seconds).
    /// An unknown time cannot show that the revocation lapsed, so it is in force.
    pub fn in_force_at(self, now: Option<i64>) -> bool {
        match (self, now) {
            (Expiry::At(expires), Some(now)) => now < expires,
            _ => true,
        }
    }

    /// Reads the value of an object-form entry: `{"expires": SECONDS}`, or anything without
    /// `expires` for a revocation that never lapses.
    fn from_json(value: &Value, key: &str, id: &str) -> Result<Expiry, RevocationError> {
        let Some(expires) = value.as_object().and_then(|entry| entry.get("expires")) else {
            return Ok(Expiry::Never);
        };
        match expires.as_i64() {
            Some(seconds) if (0..=MAX_EXPIRY).contains(&seconds) => Ok(Expiry::At(seconds)),
            _ => Err(RevocationError::BadExpiry { key: key.to_string(), id: id.to_string(), found: describe(expires) }),
        }
    }

    fn to_json(self) -> Value {
        match self {
            Expiry::At(seconds) => serde_json::json!({"expires": seconds}),
            Expiry::Never => Value::Object(Map::new()),
        }
    }
}

/// A short description of a rejected JSON value: numbers as written, other values by type, so
/// an error message stays short whatever the input.
fn describe(value: &Value) -> String {
    match value {
        Value::Number(number) => number.to_string(),
        Value::Null => "null".to_string(),
        Value::Bool(_) => "a boolean".to_string(),
        Value::String(_) => "a string".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// Why a revocation file or data document cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The text is not JSON.
    #[error("revocation list is not valid JSON: {0}")]
    Json(String),
    /// A list (named by its key) is neither of the two forms.
    #[error("`{0}` must be an array of strings or an object whose keys are the revoked ids")]
    NotAList(String),
    /// A revocation file whose top level is not an object.
    #[error("a revocation file must be a JSON object with the keys `instances`, `client_ids` and `jtis`")]
    NotAnObject,
    /// A revocation file key other than the three known ones (a typo would otherwise revoke
    /// nothing).
    #[error("unknown key `{0}` in a revocation file (expected `instances`, `client_ids` or `jtis`)")]
    UnknownKey(String),
    /// An `expires` that is not whole Unix seconds from 0 to [`MAX_EXPIRY`].
    #[error("`{key}`: the expiry of `{id}` must be whole Unix seconds from 0 to {MAX_EXPIRY}, found {found}")]
    BadExpiry {
        /// The list's key: `instances` in a revocation file, `revoked_instances` in a data
        /// document, and so on.
        key: String,
        /// The revoked id whose entry holds the bad expiry.
        id: String,
        /// The rejected value: a number as written, any other value by its type.
        found: String,
    },
}

/// The revoked ids of one kind, each with its expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevokedIds(BTreeMap<String, Expiry>);

impl RevokedIds {
    /// Whether `id` is listed, lapsed or not (a lapsed entry stays listed until pruned).
    pub fn contains(&self, id: &str) -> bool {
        self.0.contains_key(id)
    }

    /// The expiry of `id`, if listed.
    pub fn expiry(&self, id: &str) -> Option<Expiry> {
        self.0.get(id).copied()
    }

    /// How many ids are listed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no id is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The listed ids in order, with their expiries.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Expiry)> {
        self.0.iter().map(|(id, expiry)| (id.as_str(), *expiry))
    }

    fn refuses(&self, id: &str, now: Option<i64>) -> bool {
        self.0.get(id).is_some_and(|expiry| expiry.in_force_at(now))
    }

    /// Lists `id` until `expiry`, or longer if it already is.
    fn insert(&mut self, id: String, expiry: Expiry) {
        let entry = self.0.entry(id).or_insert(expiry);
        *entry = (*entry).max(expiry);
    }

    fn union(&self, other: &RevokedIds) -> RevokedIds {
        let mut merged = self.clone();
        for (id, expiry) in &other.0 {
            merged.insert(id.clone(), *expiry);
        }
        merged
    }

    /// Reads the list at `key` (absent or `null`: empty) in either form.
    fn from_json(value: Option<&Value>, key: &str) -> Result<RevokedIds, RevocationError> {
        let not_a_list = || RevocationError::NotAList(key.to_string());
        match value {
            None | Some(Value::Null) => Ok(RevokedIds::default()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(|id| (id.to_string(), Expiry::Never)).ok_or_else(not_a_list))
                .collect::<Result<_, _>>()
                .map(RevokedIds),
            Some(Value::Object(entries)) => entries
                .iter()
                .map(|(id, entry)| Ok((id.clone(), Expiry::from_json(entry, key, id)?)))
                .collect::<Result<_, _>>()
                .map(RevokedIds),
            Some(_) => Err(not_a_list()),
        }
    }

    /// The array form while no entry expires, else the object form.
    fn to_json(&self) -> Value {
        if self.0.values().all(|expiry| *expiry == Expiry::Never) {
            return Value::Array(self.0.keys().cloned().map(Value::String).collect());
        }
        Value::Object(self.0.iter().map(|(id, expiry)| (id.clone(), expiry.to_json())).collect())
    }
}

/// Revoked ids by kind. The file form is `{"instances": …, "client_ids": …, "jtis": …}` (every
/// key optional, each list in either form of the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationSet {
    /// Revoked agent instances.
    pub instances: RevokedIds,
    /// Revoked OAuth clients.
    pub client_ids: RevokedIds,
    /// Revoked tokens, by `jti`.
    pub jtis: RevokedIds,
}

impl RevocationSet {
    /// Parses the file form. Unknown keys are refused: a misspelt key would revoke nothing.
    pub fn from_json_str(text: &str) -> Result<RevocationSet, RevocationError> {
        let value: Value = serde_json::from_str(text).map_err(|e| RevocationError::Json(e.to_string()))?;
        RevocationSet::from_file_value(&value)
    }

    /// Reads the revocations a data document already lists under the `revoked_*` keys, so a
    /// policy's shipped data and the host check agree from the start. Other keys are the
    /// policy's own; a document that is not an object lists none.
    pub fn from_data(data: &Value) -> Result<RevocationSet, RevocationError> {
        match data {
            Value::Object(map) => RevocationSet::read(map, DATA_KEYS),
            _ => Ok(RevocationSet::default()),
        }
    }

    /// The file form, pretty-printed with a final newline. (Serializing strings and integers
    /// does not fail; the error is passed on rather than ever writing an empty file.)
    pub fn to_json_string(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(&self.file_form())?;
        text.push('\n');
        Ok(text)
    }

    /// This set plus `revocation`, for good.
    pub fn with(&self, revocation: Revocation) -> RevocationSet {
        self.with_expiry(revocation, Expiry::Never)
    }

    /// This set plus `revocation` until `expiry`. An id already revoked for longer keeps its
    /// longer revocation (to shorten one, lift it first).
    pub fn with_expiry(&self, revocation: Revocation, expiry: Expiry) -> RevocationSet {
        let mut next = self.clone();
        let (ids, id) = next.ids_mut(revocation);
        ids.insert(id, expiry);
        next
    }

    /// This set without `revocation` (lifted): the id is allowed again.
    pub fn without(&self, revocation: Revocation) -> RevocationSet {
        let mut next = self.clone();
        let (ids, id) = next.ids_mut(revocation);
        ids.0.remove(&id);
        next
    }

    /// This set without the entries lapsed at `now` (Unix seconds), which no longer refuse.
    pub fn pruned(&self, now: i64) -> RevocationSet {
        let keep = |ids: &RevokedIds| {
            RevokedIds(
                ids.0
                    .iter()
                    .filter(|(_, expiry)| expiry.in_force_at(Some(now)))
                    .map(|(k, v)| (k.clone(), *v))
                    .collect(),
            )
        };
        RevocationSet { instances: keep(&self.instances), client_ids: keep(&self.client_ids), jtis: keep(&self.jtis) }
    }

    /// Every id of both sets; an id in both keeps the longer revocation.
    pub fn union(&self, other: &RevocationSet) -> RevocationSet {
        RevocationSet {
            instances: self.instances.union(&other.instances),
            client_ids: self.client_ids.union(&other.client_ids),
            jtis: self.jtis.union(&other.jtis),
        }
    }

    /// The deny reason if `request` carries a revoked token, client or instance anywhere in
    /// its delegation chain (a revoked agent cannot launder its calls through a delegate), and
    /// that revocation is in force at the request's `now` (or the request has no `now`).
    pub fn refusal(&self, request: &Request) -> Option<String> {
        let now = request.now;
        if let Some(jti) = request.jti.as_deref().filter(|jti| self.jtis.refuses(jti, now)) {
            return Some(format!("revoked token: jti `{jti}`"));
        }
        let instances = request.chain.iter().map(|actor| &actor.instance).chain([&request.instance]);
        for instance in instances.flatten() {
            if self.instances.refuses(instance, now) {
                return Some(format!("revoked agent instance `{instance}`"));
            }
        }
        let clients = request.chain.iter().map(|actor| &actor.client_id).chain([&request.client_id]);
        for client in clients.flatten() {
            if self.client_ids.refuses(client, now) {
                return Some(format!("revoked client `{client}`"));
            }
        }
        None
    }

    /// `data` with the `revoked_*` keys set to this set, for policies to read. A data document
    /// that is not an object cannot carry them and is replaced by one that only does. Lapsed
    /// entries stay listed until pruned: a policy testing the lists itself errs on the side of
    /// refusing.
    pub fn merged_into(&self, data: &Value) -> Value {
        let mut merged = match data {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        for (key, ids) in DATA_KEYS.into_iter().zip(self.lists()) {
            merged.insert(key.to_string(), ids.to_json());
        }
        Value::Object(merged)
    }

    fn from_file_value(value: &Value) -> Result<RevocationSet, RevocationError> {
        let Value::Object(map) = value else {
            return Err(RevocationError::NotAnObject);
        };
        if let Some(unknown) = map.keys().find(|key| !FILE_KEYS.contains(&key.as_str())) {
            return Err(RevocationError::UnknownKey(unknown.clone()));
        }
        RevocationSet::read(map, FILE_KEYS)
    }

    fn file_form(&self) -> FileForm {
        let [instances, client_ids, jtis] = self.lists().map(RevokedIds::to_json);
        FileForm { instances, client_ids, jtis }
    }

    /// Reads the three lists from `map` under `keys` (instances, clients, tokens).
    fn read(map: &Map<String, Value>, keys: [&str; 3]) -> Result<RevocationSet, RevocationError> {
        let [instances, client_ids, jtis] = keys.map(|key| RevokedIds::from_json(map.get(key), key));
        Ok(RevocationSet { instances: instances?, client_ids: client_ids?, jtis: jtis? })
    }

    /// The three lists in the order of [`FILE_KEYS`] and [`DATA_KEYS`].
    fn lists(&self) -> [&RevokedIds; 3] {
        [&self.instances, &self.client_ids, &self.jtis]
    }

    /// The list `revocation` belongs to, and its id.
    fn ids_mut(&mut self, revocation: Revocation) -> (&mut RevokedIds, String) {
        match revocation {
            Revocation::Instance(id) => (&mut self.instances, id),
            Revocation::ClientId(id) => (&mut self.client_ids, id),
            Revocation::Jti(id) => (&mut self.jtis, id),
        }
    }
}

/// The file form with its keys in a fixed order, whatever `serde_json`'s map ordering.
#[derive(Serialize)]
struct FileForm {
    instances: Value,
    client_ids: Value,
    jtis: Value,
}

/// The file form (see [`RevocationSet::to_json_string`]).
impl Serialize for RevocationSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.file_form().serialize(serializer)
    }
}

/// The file form, with the checks of [`RevocationSet::from_json_str`].
impl<'de> Deserialize<'de> for RevocationSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RevocationSet, D::Error> {
        let value = Value::deserialize(deserializer)?;
        RevocationSet::from_file_value(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;
    use warrant_lang::request::ClaimMapping;

    fn request(value: Value) -> Request {
        Request::from_json(value, &ClaimMapping::default()).unwrap()
    }

    fn instance_at(instance: &str, now: Option<i64>) -> Request {
        let mut request = request(json!({"claims": {"sub": "u", "act": {"sub": "a", "instance_id": instance}}}));
        request.now = now;
        request
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
    fn an_expiring_revocation_refuses_before_its_expiry_and_without_a_time_only() {
        let set = RevocationSet::default().with_expiry(Revocation::Instance("run-2".into()), Expiry::At(1_000));
        assert!(set.refusal(&instance_at("run-2", Some(999))).is_some());
        assert_eq!(set.refusal(&instance_at("run-2", Some(1_000))), None, "lapsed at its expiry");
        assert_eq!(set.refusal(&instance_at("run-2", None)).as_deref(), Some("revoked agent instance `run-2`"));
        let jti = set.with_expiry(Revocation::Jti("t".into()), Expiry::At(5));
        let mut token = request(json!({"claims": {"jti": "t"}, "now": 4}));
        assert!(jti.refusal(&token).is_some());
        token.now = Some(5);
        assert_eq!(jti.refusal(&token), None);
    }

    #[test]
    fn merging_keeps_the_longer_revocation_and_lifting_removes_it() {
        let run = || Revocation::Instance("run-2".into());
        let short = RevocationSet::default().with_expiry(run(), Expiry::At(100));
        let long = RevocationSet::default().with_expiry(run(), Expiry::At(200));
        let forever = RevocationSet::default().with(run());
        assert_eq!(short.union(&long).instances.expiry("run-2"), Some(Expiry::At(200)));
        assert_eq!(forever.union(&short), forever);
        assert_eq!(forever.with_expiry(run(), Expiry::At(100)), forever, "revoking again never shortens");
        let lifted = forever.with(Revocation::Jti("t".into())).without(run());
        assert!(!lifted.instances.contains("run-2") && lifted.jtis.contains("t"));
        assert_eq!(lifted.refusal(&instance_at("run-2", None)), None);
    }

    #[test]
    fn pruning_drops_only_lapsed_entries() {
        let set = RevocationSet::default()
            .with_expiry(Revocation::Instance("old".into()), Expiry::At(100))
            .with_expiry(Revocation::Instance("new".into()), Expiry::At(300))
            .with(Revocation::ClientId("c".into()));
        let pruned = set.pruned(100);
        assert!(
            !pruned.instances.contains("old") && pruned.instances.contains("new") && pruned.client_ids.contains("c")
        );
        assert_eq!(set.pruned(99), set);
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
        let expiring = set.with_expiry(Revocation::Jti("u".into()), Expiry::At(7));
        let merged = expiring.merged_into(&data);
        assert_eq!(merged[DATA_KEY_JTIS], json!({"t": {}, "u": {"expires": 7}}));
        assert_eq!(RevocationSet::from_data(&merged).unwrap(), expiring);
    }

    #[test]
    fn file_form_reads_the_original_arrays_and_writes_them_back_unchanged() {
        let old = "{\n  \"instances\": [\n    \"i\"\n  ],\n  \"client_ids\": [],\n  \"jtis\": [\n    \"j\"\n  ]\n}\n";
        let set = RevocationSet::from_json_str(old).unwrap();
        assert!(set.instances.contains("i") && set.jtis.contains("j") && set.client_ids.is_empty());
        assert_eq!(set.to_json_string().unwrap(), old);
        let expiring = set.with_expiry(Revocation::Instance("k".into()), Expiry::At(1_767_225_600));
        let text = expiring.to_json_string().unwrap();
        assert!(text.contains(r#""k": {"#) && text.contains(r#""expires": 1767225600"#), "{text}");
        assert_eq!(RevocationSet::from_json_str(&text).unwrap(), expiring);
        assert_eq!(serde_json::from_str::<RevocationSet>(&text).unwrap(), expiring);
    }

    #[test]
    fn malformed_files_and_expiries_are_refused_with_their_reason() {
        let error = |text: &str| RevocationSet::from_json_str(text).unwrap_err();
        assert_eq!(error(r#"{"instance": ["i"]}"#), RevocationError::UnknownKey("instance".into()));
        assert_eq!(error(r#"["i"]"#), RevocationError::NotAnObject);
        assert!(matches!(error(r#"{"jtis": ["j""#), RevocationError::Json(_)));
        assert_eq!(error(r#"{"jtis": "j"}"#), RevocationError::NotAList("jtis".into()));
        let bad_expiry = |expires: &str| error(&format!(r#"{{"instances": {{"i": {{"expires": {expires}}}}}}}"#));
        for (expires, found) in [
            ("-1", "-1"),
            ("253402300800", "253402300800"),
            ("1e300", "1e+300"),
            ("18446744073709551616", "1.8446744073709552e+19"),
            ("1.5", "1.5"),
            ("\"2h\"", "a string"),
            ("null", "null"),
        ] {
            let expected = RevocationError::BadExpiry { key: "instances".into(), id: "i".into(), found: found.into() };
            assert_eq!(bad_expiry(expires), expected, "{expires}");
        }
        let data = json!({"revoked_client_ids": {"c": {"expires": -5}}});
        assert!(matches!(RevocationSet::from_data(&data), Err(RevocationError::BadExpiry { .. })));
    }
}
