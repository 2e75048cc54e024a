//! Refusing data documents whose shape contradicts the policy.
//!
//! The checker infers the type of every `data.*` path a policy reads. A document that holds
//! something else at such a path (`{"blocked": ["u", 1]}` where a set of strings is read, a
//! string where an object is walked, a top-level array) would otherwise read as *missing* at
//! decision time, silently changing what rules decide. Every host therefore checks the
//! document against the policy's slots when it is loaded and refuses it, keeping the previous
//! data in force. An **absent** path is not a contradiction: it reads as missing, and the
//! three-valued semantics (docs/language.md, "Missing and ill-typed values") handle it.
use serde_json::Value;

use crate::ir::{Slot, Source, Ty};

/// Why a data document does not fit the policy: the first contradiction found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: expected {expected}, found {found}")]
pub struct DataShapeError {
    /// Where, written as the policy would read it (`data.agents["bot"].owner`).
    pub path: String,
    /// What the policy reads there.
    pub expected: &'static str,
    /// What the document holds.
    pub found: String,
}

/// The entries of a JSON object in key order (Rust's `str` order: UTF-8 bytes, which is code
/// point order). serde_json's `Map` iterates in key order only while no crate of the build turns
/// on its `preserve_order` feature (Cargo unifies features: the benchmarks' cedar does), and in
/// insertion order otherwise; every reader whose result depends on the order (the string ids an
/// image assigns, the entry a data-shape error names) sorts through this, so that the order never
/// depends on the build and every host (JS, Python) can follow it exactly.
pub fn sorted_entries(map: &serde_json::Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut entries: Vec<(&str, &Value)> = map.iter().map(|(key, value)| (key.as_str(), value)).collect();
    entries.sort_unstable_by_key(|(key, _)| *key);
    entries
}

/// Checks every data slot of a policy against `data`.
pub fn check_data_shape(slots: &[Slot], data: &Value) -> Result<(), DataShapeError> {
    for slot in slots {
        match &slot.source {
            Source::Data(path) => check_path(data, "data".to_string(), path, slot.ty)?,
            Source::DataTable { table, field } => {
                let Some((table_path, entries)) = walk(data, "data".to_string(), table)? else { continue };
                let Value::Object(entries) = entries else {
                    return Err(contradiction(table_path, "an object (a table of entries)", entries));
                };
                for (key, entry) in sorted_entries(entries) {
                    let key = serde_json::to_string(key).unwrap_or_default();
                    check_path(entry, format!("{table_path}[{key}]"), field, slot.ty)?;
                }
            }
            Source::Field(_) | Source::Claim(_) | Source::Context(_) | Source::ActorClaim(_) => {}
        }
    }
    Ok(())
}

/// The value at `path` below `value` must read as `ty`, unless it is absent.
fn check_path(value: &Value, prefix: String, path: &[String], ty: Ty) -> Result<(), DataShapeError> {
    let Some((at, value)) = walk(value, prefix, path)? else { return Ok(()) };
    if reads_as(value, ty) {
        Ok(())
    } else {
        Err(contradiction(at, expected(ty), value))
    }
}

/// Follows `path` through objects: `Ok(None)` when a key is absent, an error when a step is not
/// an object, else the value and its written path.
fn walk<'v>(
    mut value: &'v Value,
    mut at: String,
    path: &[String],
) -> Result<Option<(String, &'v Value)>, DataShapeError> {
    for key in path {
        let Value::Object(map) = value else {
            return Err(contradiction(at, "an object", value));
        };
        let Some(next) = map.get(key) else { return Ok(None) };
        at.push('.');
        at.push_str(key);
        value = next;
    }
    Ok(Some((at, value)))
}

/// The strict reading of docs/language.md ("Reading values"), for data (no space-separated sets).
fn reads_as(value: &Value, ty: Ty) -> bool {
    match (ty, value) {
        (Ty::Str, Value::String(_)) | (Ty::Bool, Value::Bool(_)) | (Ty::StrSet, Value::Object(_)) => true,
        (Ty::Int, Value::Number(n)) => n.as_i64().is_some(),
        (Ty::StrSet, Value::Array(items)) => items.iter().all(Value::is_string),
        _ => false,
    }
}

fn expected(ty: Ty) -> &'static str {
    match ty {
        Ty::Str => "a string",
        Ty::Int => "an integer (64-bit signed)",
        Ty::Bool => "a boolean",
        Ty::StrSet => "a set of strings (an array of strings, or an object)",
    }
}

fn contradiction(path: String, expected: &'static str, found: &Value) -> DataShapeError {
    DataShapeError { path, expected, found: describe(found) }
}

/// What a JSON value is, in words; for arrays, the first element that is not a string.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) if n.is_i64() => "an integer".into(),
        Value::Number(_) => "a number that is not a 64-bit signed integer".into(),
        Value::String(_) => "a string".into(),
        Value::Array(items) => match items.iter().enumerate().find(|(_, item)| !item.is_string()) {
            Some((index, item)) => format!("an array whose element {index} is {}", describe(item)),
            None => "an array of strings".into(),
        },
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Key order is UTF-8 byte order whatever serde_json's map keeps (with `preserve_order`,
    /// on in builds with the benchmarks, it keeps document order): U+FFFF before U+10000, which
    /// UTF-16 order would swap.
    #[test]
    fn entries_are_sorted_by_utf8_bytes_not_document_order() {
        let map: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"b": 1, "\ud800\udc00": 2, "\uffff": 3, "a": 4}"#).unwrap();
        let keys: Vec<&str> = sorted_entries(&map).into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["a", "b", "\u{ffff}", "\u{10000}"]);
    }

    fn data(path: &[&str], ty: Ty) -> Slot {
        Slot { source: Source::Data(path.iter().map(|s| s.to_string()).collect()), ty }
    }

    fn table(table: &[&str], field: &[&str], ty: Ty) -> Slot {
        let strings = |p: &[&str]| p.iter().map(|s| s.to_string()).collect();
        Slot { source: Source::DataTable { table: strings(table), field: strings(field) }, ty }
    }

    fn error(slots: &[Slot], document: Value) -> String {
        check_data_shape(slots, &document).map_err(|e| e.to_string()).err().unwrap_or_default()
    }

    #[test]
    fn sets_of_strings_refuse_other_elements_and_scalars() {
        let blocked = [data(&["blocked"], Ty::StrSet)];
        assert_eq!(
            error(&blocked, json!({"blocked": ["u", 1]})),
            "data.blocked: expected a set of strings (an array of strings, or an object), \
             found an array whose element 1 is an integer"
        );
        assert!(error(&blocked, json!({"blocked": "u"})).ends_with("found a string"));
        assert_eq!(
            error(&blocked, json!(["u"])),
            "data: expected an object, found an array of strings",
            "a top-level array"
        );
        assert!(error(&blocked, json!({"blocked": null})).ends_with("found null"));
        assert!(check_data_shape(&blocked, &json!({"blocked": ["u"]})).is_ok());
        assert!(check_data_shape(&blocked, &json!({"blocked": {"u": true}})).is_ok());
        assert!(check_data_shape(&blocked, &json!({})).is_ok(), "absent is not a contradiction");
    }

    #[test]
    fn scalars_and_nested_paths() {
        let limit = [data(&["limits", "depth"], Ty::Int)];
        assert!(error(&limit, json!({"limits": {"depth": 1.5}}))
            .ends_with("found a number that is not a 64-bit signed integer"));
        assert!(error(&limit, json!({"limits": {"depth": u64::MAX}})).ends_with("not a 64-bit signed integer"));
        assert_eq!(error(&limit, json!({"limits": "x"})), "data.limits: expected an object, found a string");
        assert!(check_data_shape(&limit, &json!({"limits": {"depth": -3}})).is_ok());
        assert!(error(&[data(&["on"], Ty::Bool)], json!({"on": "true"})).ends_with("found a string"));
        assert!(error(&[data(&["name"], Ty::Str)], json!({"name": 1})).ends_with("found an integer"));
    }

    #[test]
    fn tables_check_every_entry_and_name_it() {
        let owner = [table(&["agents"], &["owner"], Ty::Str)];
        assert_eq!(
            error(&owner, json!({"agents": {"a": {"owner": "u"}, "b.c": {"owner": 7}}})),
            "data.agents[\"b.c\"].owner: expected a string, found an integer"
        );
        assert_eq!(
            error(&owner, json!({"agents": {"a": "u"}})),
            "data.agents[\"a\"]: expected an object, found a string"
        );
        assert!(error(&owner, json!({"agents": ["a"]})).starts_with("data.agents: expected an object (a table"));
        assert!(check_data_shape(&owner, &json!({"agents": {"a": {}, "b": {"owner": "u"}}})).is_ok());
        let entry = [table(&["agents"], &[], Ty::StrSet)];
        assert!(error(&entry, json!({"agents": {"a": [1]}})).contains("data.agents[\"a\"]: expected a set"));
    }
}
