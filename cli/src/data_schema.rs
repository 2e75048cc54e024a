//! Checks, before deploying, that the data paths a policy reads exist in the data document's
//! schema with the type the policy reads them as: a typo in `data.agnets` or a registry field
//! that became a number would otherwise read as *missing* and silently change decisions.
//!
//! The schema language is a subset of JSON Schema: `type` (`object`, `array`, `string`,
//! `integer`, `boolean`), `properties`, `additionalProperties` (a schema) and `items`.
use std::collections::BTreeMap;

use serde::Deserialize;
use warrant_lang::ir::{Slot, Source, Ty};

/// One node of a data schema.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSchema {
    #[serde(rename = "type")]
    pub kind: SchemaType,
    #[serde(default)]
    pub properties: BTreeMap<String, DataSchema>,
    /// The schema of keys not in `properties`; `false` or absent means there are none.
    #[serde(default, rename = "additionalProperties")]
    pub additional_properties: Option<AdditionalProperties>,
    #[serde(default)]
    pub items: Option<Box<DataSchema>>,
    /// Accepted and ignored: they document or constrain values, not paths and types.
    #[serde(default, rename = "description")]
    _description: Option<String>,
    #[serde(default, rename = "title")]
    _title: Option<String>,
    #[serde(default, rename = "required")]
    _required: Vec<String>,
    #[serde(default, rename = "$schema")]
    _dialect: Option<String>,
}

/// `additionalProperties`: a schema, or `false`. (`true`, "anything", declares no type to
/// check against, so it is refused.)
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum AdditionalProperties {
    Schema(Box<DataSchema>),
    None(NoneAllowed),
}

/// The literal `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoneAllowed;

impl<'de> Deserialize<'de> for NoneAllowed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match bool::deserialize(deserializer)? {
            false => Ok(NoneAllowed),
            true => Err(serde::de::Error::custom("`additionalProperties: true` declares no type; give a schema")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaType {
    Object,
    Array,
    String,
    Integer,
    Boolean,
}

/// A data path the policy reads that the schema does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("schema is not valid: {0}")]
    InvalidSchema(String),
    #[error("`{path}` is not in the data schema")]
    UnknownPath { path: String },
    #[error("`{path}` is read as {read_as} but the schema says {declared}")]
    WrongType { path: String, read_as: &'static str, declared: String },
    #[error("`{path}` is used as a table but the schema does not declare its entries (`additionalProperties`)")]
    NotATable { path: String },
}

impl DataSchema {
    pub fn from_json_str(text: &str) -> Result<DataSchema, SchemaError> {
        serde_json::from_str(text).map_err(|e| SchemaError::InvalidSchema(e.to_string()))
    }

    /// Every problem with the data slots among `slots` (a compiled policy's manifest slots).
    pub fn check_slots(&self, slots: &[Slot]) -> Vec<SchemaError> {
        slots.iter().filter_map(|slot| self.check_slot(slot).err()).collect()
    }

    fn check_slot(&self, slot: &Slot) -> Result<(), SchemaError> {
        match &slot.source {
            Source::Data(path) => {
                let node = self.walk(path, "data")?;
                expect_type(node, slot.ty, &display_path("data", path))
            }
            Source::DataTable { table, field } => {
                let table_path = display_path("data", table);
                let entries = self.walk(table, "data")?.entry_schema(&table_path)?;
                let entry_path = format!("{table_path}[_]");
                let node = entries.walk(field, &entry_path)?;
                expect_type(node, slot.ty, &display_path(&entry_path, field))
            }
            Source::Field(_) | Source::Claim(_) | Source::Context(_) | Source::ActorClaim(_) => Ok(()),
        }
    }

    /// The schema at `path` below this node (`prefix` names this node in errors).
    fn walk(&self, path: &[String], prefix: &str) -> Result<&DataSchema, SchemaError> {
        let mut node = self;
        for (depth, key) in path.iter().enumerate() {
            let here = || display_path(prefix, path.get(..=depth).unwrap_or(path));
            if node.kind != SchemaType::Object {
                return Err(SchemaError::UnknownPath { path: here() });
            }
            node = match node.properties.get(key).or(node.other_keys()) {
                Some(child) => child,
                None => return Err(SchemaError::UnknownPath { path: here() }),
            };
        }
        Ok(node)
    }

    /// The schema of the entries of an object used as a lookup table.
    fn entry_schema(&self, path: &str) -> Result<&DataSchema, SchemaError> {
        match (&self.kind, self.other_keys()) {
            (SchemaType::Object, Some(entries)) => Ok(entries),
            _ => Err(SchemaError::NotATable { path: path.to_string() }),
        }
    }

    /// The schema of keys not listed in `properties`, if such keys are allowed.
    fn other_keys(&self) -> Option<&DataSchema> {
        match &self.additional_properties {
            Some(AdditionalProperties::Schema(schema)) => Some(schema),
            Some(AdditionalProperties::None(_)) | None => None,
        }
    }

    fn describe(&self) -> String {
        match (self.kind, &self.items) {
            (SchemaType::Array, Some(items)) => format!("array of {}", items.describe()),
            (kind, _) => format!("{kind:?}").to_lowercase(),
        }
    }
}

/// Whether `node` holds a value readable as `ty`. A set reads an array of strings or an
/// object's keys.
fn expect_type(node: &DataSchema, ty: Ty, path: &str) -> Result<(), SchemaError> {
    let (fits, read_as) = match ty {
        Ty::Str => (node.kind == SchemaType::String, "a string"),
        Ty::Int => (node.kind == SchemaType::Integer, "an integer"),
        Ty::Bool => (node.kind == SchemaType::Boolean, "a boolean"),
        Ty::StrSet => {
            let string_items = node.items.as_ref().is_none_or(|items| items.kind == SchemaType::String);
            let fits = node.kind == SchemaType::Object || (node.kind == SchemaType::Array && string_items);
            (fits, "a set of strings")
        }
    };
    if fits {
        Ok(())
    } else {
        Err(SchemaError::WrongType { path: path.to_string(), read_as, declared: node.describe() })
    }
}

fn display_path(prefix: &str, path: &[String]) -> String {
    path.iter().fold(prefix.to_string(), |mut out, key| {
        out.push('.');
        out.push_str(key);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> DataSchema {
        serde_json::from_value(json!({
            "type": "object",
            "properties": {
                "agents": {"type": "object", "additionalProperties": {
                    "type": "object", "properties": {"owner": {"type": "string"}, "tier": {"type": "integer"}}}},
                "revoked_instances": {"type": "array", "items": {"type": "string"}},
                "limits": {"type": "object", "properties": {"max_depth": {"type": "integer"}}}
            }
        }))
        .unwrap()
    }

    fn data(path: &[&str], ty: Ty) -> Slot {
        Slot { source: Source::Data(path.iter().map(|s| s.to_string()).collect()), ty }
    }

    fn table(table: &[&str], field: &[&str], ty: Ty) -> Slot {
        let strings = |p: &[&str]| p.iter().map(|s| s.to_string()).collect();
        Slot { source: Source::DataTable { table: strings(table), field: strings(field) }, ty }
    }

    #[test]
    fn declared_paths_with_matching_types_pass() {
        let slots = [
            data(&["revoked_instances"], Ty::StrSet),
            data(&["limits", "max_depth"], Ty::Int),
            table(&["agents"], &["owner"], Ty::Str),
            data(&["agents"], Ty::StrSet),
        ];
        assert_eq!(schema().check_slots(&slots), []);
    }

    #[test]
    fn errors_name_the_offending_path() {
        let slots = [
            data(&["agnets"], Ty::StrSet),
            table(&["agents"], &["tier"], Ty::Str),
            table(&["limits"], &["x"], Ty::Str),
            data(&["limits", "max_depth", "deeper"], Ty::Int),
        ];
        let messages: Vec<String> = schema().check_slots(&slots).iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "`data.agnets` is not in the data schema",
                "`data.agents[_].tier` is read as a string but the schema says integer",
                "`data.limits` is used as a table but the schema does not declare its entries (`additionalProperties`)",
                "`data.limits.max_depth.deeper` is not in the data schema",
            ]
        );
    }

    #[test]
    fn malformed_schemas_are_refused() {
        assert!(DataSchema::from_json_str(r#"{"type": "number"}"#).is_err());
        assert!(DataSchema::from_json_str(r#"{"type": "object", "propertes": {}}"#).is_err());
        assert!(DataSchema::from_json_str(r#"{"type": "object", "additionalProperties": true}"#).is_err());
        let closed = DataSchema::from_json_str(r#"{"type": "object", "additionalProperties": false, "required": []}"#);
        let unknown = closed.unwrap().check_slots(&[data(&["x"], Ty::Str)]);
        assert_eq!(unknown, [SchemaError::UnknownPath { path: "data.x".into() }]);
    }
}
