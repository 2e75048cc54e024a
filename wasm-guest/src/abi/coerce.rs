//! How JSON values read as slot types. A value of the wrong shape reads as *missing*; this is
//! the one place that rule lives for the Rust host (ABI.md states it for other hosts).
use serde_json::{Map, Value};
use warrant_lang::data_shape::sorted_entries;
use warrant_lang::ir::Ty;

use super::image::{set_cell, Cell, ImageBuf};
use super::AbiError;

/// Gives every string its id in the shared id space (equal strings, equal ids).
pub(super) trait Intern<'v> {
    fn intern(&mut self, text: &'v str) -> Result<u32, AbiError>;
}

/// The cell of `value` read as `ty` (`None` is a missing value). Set elements are interned
/// into `ids` (scratch) and appended to `image`.
pub(super) fn json_cell<'v>(
    image: &mut ImageBuf<'_>,
    interner: &mut impl Intern<'v>,
    ids: &mut Vec<u32>,
    value: Option<&'v Value>,
    ty: Ty,
    claim_string_is_list: bool,
) -> Result<Cell, AbiError> {
    let Some(value) = value else { return Ok(Cell::Missing(ty)) };
    let cell = match ty {
        Ty::Str => match value.as_str() {
            Some(text) => Cell::Str(interner.intern(text)?),
            None => Cell::Missing(ty),
        },
        Ty::Int => as_int(value).map_or(Cell::Missing(ty), Cell::Int),
        Ty::Bool => value.as_bool().map_or(Cell::Missing(ty), Cell::Bool),
        Ty::StrSet => match as_str_set(value, claim_string_is_list) {
            Some(set) => {
                ids.clear();
                set.try_for_each(|text| {
                    ids.push(interner.intern(text)?);
                    Ok::<(), AbiError>(())
                })?;
                set_cell(image, ids)?
            }
            None => Cell::Missing(ty),
        },
    };
    Ok(cell)
}

/// A JSON value readable as a set of strings.
#[derive(Debug, Clone, Copy)]
pub(super) enum JsonStrSet<'a> {
    /// An array whose elements are all strings.
    Array(&'a [Value]),
    /// An object: the set of its keys.
    ObjectKeys(&'a Map<String, Value>),
    /// A claim string: its space-separated, non-empty parts (RFC 9068 `scope` style).
    SpaceSeparated(&'a str),
}

impl<'a> JsonStrSet<'a> {
    /// Calls `visit` on every element (duplicates included; the encoder deduplicates ids).
    pub(super) fn try_for_each<E>(self, mut visit: impl FnMut(&'a str) -> Result<(), E>) -> Result<(), E> {
        match self {
            JsonStrSet::Array(items) => items.iter().filter_map(Value::as_str).try_for_each(visit),
            JsonStrSet::ObjectKeys(map) => sorted_entries(map).into_iter().try_for_each(|(key, _)| visit(key)),
            JsonStrSet::SpaceSeparated(text) => text.split(' ').filter(|part| !part.is_empty()).try_for_each(visit),
        }
    }
}

/// `value` as a string set; `claim_string_is_list` also accepts a space-separated string.
pub(super) fn as_str_set(value: &Value, claim_string_is_list: bool) -> Option<JsonStrSet<'_>> {
    match value {
        Value::Array(items) if items.iter().all(Value::is_string) => Some(JsonStrSet::Array(items)),
        Value::Object(map) => Some(JsonStrSet::ObjectKeys(map)),
        Value::String(text) if claim_string_is_list => Some(JsonStrSet::SpaceSeparated(text)),
        _ => None,
    }
}

/// `value` as an integer: only JSON integers that fit in i64.
pub(super) fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Follows `path` through nested objects; `None` when a step is not an object or lacks the key.
pub(super) fn walk<'a>(mut value: &'a Value, path: &[String]) -> Option<&'a Value> {
    for key in path {
        value = value.as_object()?.get(key)?;
    }
    Some(value)
}

/// Follows `path` from a map of claims or the request context (the first step is a key of the map).
pub(super) fn walk_claims<'a>(claims: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    walk(claims.get(first)?, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn elements(set: Option<JsonStrSet<'_>>) -> Option<Vec<String>> {
        let mut out = Vec::new();
        set?.try_for_each(|s| {
            out.push(s.to_string());
            Ok::<(), ()>(())
        })
        .ok()?;
        Some(out)
    }

    #[test]
    fn sets_read_from_arrays_objects_and_claim_strings_only() {
        assert_eq!(elements(as_str_set(&json!(["a", "b"]), false)), Some(vec!["a".into(), "b".into()]));
        assert_eq!(elements(as_str_set(&json!({"k": 1}), false)), Some(vec!["k".into()]));
        assert_eq!(elements(as_str_set(&json!(" a  b"), true)), Some(vec!["a".into(), "b".into()]));
        assert!(as_str_set(&json!("a b"), false).is_none());
        assert!(as_str_set(&json!(["a", 1]), true).is_none());
        assert!(as_str_set(&json!(3), true).is_none());
    }

    #[test]
    fn ints_must_be_json_integers_in_i64() {
        assert_eq!(as_int(&json!(-5)), Some(-5));
        assert_eq!(as_int(&json!(u64::MAX)), None);
        assert_eq!(as_int(&json!(1.5)), None);
        assert_eq!(as_int(&json!("5")), None);
    }

    #[test]
    fn walk_stops_at_non_objects() {
        let doc = json!({"a": {"b": 1}, "c": [1]});
        assert_eq!(walk(&doc, &["a".into(), "b".into()]), Some(&json!(1)));
        assert_eq!(walk(&doc, &["c".into(), "0".into()]), None);
        assert_eq!(walk(&doc, &[]), Some(&doc));
        let Value::Object(claims) = doc else { unreachable!() };
        assert_eq!(walk_claims(&claims, &["a".into(), "b".into()]), Some(&json!(1)));
        assert_eq!(walk_claims(&claims, &[]), None);
    }
}
