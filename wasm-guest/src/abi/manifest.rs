//! The manifest: what a host needs to know about a compiled policy (its literals, slots and
//! rules), embedded in the module so a `.wasm` file is self-describing.
use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use warrant_lang::ir::{Program, RuleKind, Slot};
use wasmparser::{Parser, Payload};

use super::{AbiError, ABI_VERSION_MAJOR, ABI_VERSION_MINOR, MANIFEST_SECTION};

/// An ABI version as stored in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbiVersion {
    pub major: u16,
    pub minor: u16,
}

/// One rule of the policy, in rule-id order. `kind` is flattened: `{"name": "r", "kind":
/// "deny", "reason": "...", "line": 3}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    pub name: String,
    #[serde(flatten)]
    pub kind: RuleKind,
    pub line: u32,
}

/// The JSON content of the `warrant.manifest` custom section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub abi_version: AbiVersion,
    pub package: String,
    pub source_hash: String,
    /// String literals; literal `i` has string id `i`.
    pub literals: Vec<String>,
    /// Slot `i` is cell `i` of both images' slot tables.
    pub slots: Vec<Slot>,
    pub rules: Vec<RuleInfo>,
    /// Why a condition could not be decided, sorted: a deny rule that fired because its body
    /// was undecided reports index `k` of this table in the output area (ABI.md §7).
    pub undecided: Vec<String>,
}

impl Manifest {
    /// The manifest of `program` under the ABI version this crate implements.
    pub fn from_program(program: &Program) -> Manifest {
        Manifest {
            abi_version: AbiVersion { major: ABI_VERSION_MAJOR, minor: ABI_VERSION_MINOR },
            package: program.package.clone(),
            source_hash: program.source_hash.clone(),
            literals: program.literals.clone(),
            slots: program.slots.clone(),
            rules: program
                .rules
                .iter()
                .map(|r| RuleInfo { name: r.name.clone(), kind: r.kind.clone(), line: r.line })
                .collect(),
            undecided: warrant_lang::undecided::messages(program),
        }
    }

    /// Parses and checks manifest JSON: compatible ABI major, literals without duplicates
    /// (the host's interning relies on literal ids being the only ids of their strings).
    pub fn from_json(json: &[u8]) -> Result<Manifest, AbiError> {
        let manifest: Manifest = serde_json::from_slice(json).map_err(|e| AbiError::InvalidManifest(e.to_string()))?;
        if manifest.abi_version.major != ABI_VERSION_MAJOR {
            return Err(AbiError::IncompatibleAbi { found: manifest.abi_version.major });
        }
        let mut seen = HashSet::with_capacity(manifest.literals.len());
        if !manifest.literals.iter().all(|l| seen.insert(l.as_str())) {
            return Err(AbiError::InvalidManifest("duplicate literal".into()));
        }
        Ok(manifest)
    }

    /// The manifest as the JSON stored in the custom section.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain structs of strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Reads and checks the manifest of a compiled policy module.
pub fn read_manifest(wasm: &[u8]) -> Result<Manifest, AbiError> {
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| AbiError::InvalidModule(e.to_string()))?;
        if let Payload::CustomSection(section) = payload {
            if section.name() == MANIFEST_SECTION {
                return Manifest::from_json(section.data());
            }
        }
    }
    Err(AbiError::MissingManifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            abi_version: AbiVersion { major: ABI_VERSION_MAJOR, minor: ABI_VERSION_MINOR },
            package: "p".into(),
            source_hash: "abc".into(),
            literals: vec!["read".into()],
            slots: vec![],
            rules: vec![RuleInfo { name: "no".into(), kind: RuleKind::Deny { reason: "because".into() }, line: 3 }],
            undecided: vec!["sub is missing or not a string".into()],
        }
    }

    #[test]
    fn rule_kind_is_flattened_in_json() {
        let json: serde_json::Value = serde_json::from_slice(&sample().to_json()).unwrap();
        assert_eq!(json["rules"][0], serde_json::json!({"name": "no", "kind": "deny", "reason": "because", "line": 3}));
        assert_eq!(Manifest::from_json(&sample().to_json()).unwrap(), sample());
    }

    #[test]
    fn other_major_and_duplicate_literals_are_refused() {
        let mut other = sample();
        other.abi_version.major += 1;
        assert_eq!(
            Manifest::from_json(&other.to_json()),
            Err(AbiError::IncompatibleAbi { found: ABI_VERSION_MAJOR + 1 })
        );
        let mut dup = sample();
        dup.literals.push("read".into());
        assert!(matches!(Manifest::from_json(&dup.to_json()), Err(AbiError::InvalidManifest(_))));
    }

    #[test]
    fn module_without_manifest_or_garbage_is_refused() {
        assert_eq!(read_manifest(b"\0asm\x01\0\0\0"), Err(AbiError::MissingManifest));
        assert!(matches!(read_manifest(b"not wasm"), Err(AbiError::InvalidModule(_))));
    }
}
