//! The manifest: what a host needs to know about a compiled policy (its literals, slots and
//! rules), embedded in the module so a `.wasm` file is self-describing.
//!
//! The JSON is written and read through wire types of its own ([`wire`]), each field and
//! variant named explicitly, so renaming an IR item cannot change the ABI's wire format.
use std::collections::{BTreeMap, HashSet};

use warrant_lang::ir::{Program, Rule, RuleId, RuleKind, Slot};
use warrant_lang::reason::ReasonPart;
use wasmparser::{Parser, Payload};

use super::{AbiError, ABI_VERSION_MAJOR, ABI_VERSION_MINOR, MANIFEST_SECTION};

/// An ABI version as stored in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbiVersion {
    /// Incompatible-change counter; [`Manifest::from_json`] refuses any but [`ABI_VERSION_MAJOR`].
    pub major: u16,
    /// Backward-compatible-addition counter; any value is accepted.
    pub minor: u16,
}

/// One rule of the policy, in rule-id order. On the wire `kind` is flattened:
/// `{"name": "r", "kind": "deny", "reason": "...", "line": 3}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// The rule's name in the policy source, which decisions report for fired rules.
    pub name: String,
    /// Allow, deny (with the reason a decision reports) or helper (never fires by itself).
    pub kind: RuleKind,
    /// 1-based line of the rule head in the policy source, so a report can point a reader at it.
    pub line: u32,
}

/// The content of the `warrant.manifest` custom section, in IR terms for the Rust host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The ABI the module was compiled against: the layout of the images it reads.
    pub abi_version: AbiVersion,
    /// The policy's declared `package` name.
    pub package: String,
    /// Hex SHA-256 of the policy source: the policy version each decision reports, and what ties
    /// a [`super::DataImage`] to this policy.
    pub source_hash: String,
    /// String literals; literal `i` has string id `i`.
    pub literals: Vec<String>,
    /// Slot `i` is cell `i` of both images' slot tables.
    pub slots: Vec<Slot>,
    /// Rule `i` is rule id `i`: bit `i` of the output's fired bitmap and rule function `i`.
    pub rules: Vec<RuleInfo>,
    /// Why a condition could not be decided, sorted: a deny rule that fired because its body
    /// was undecided reports index `k` of this table in the output area (ABI.md §7).
    pub undecided: Vec<String>,
    /// The deny rules whose reason has placeholders, split into text and request values
    /// (`warrant_lang::reason`); the host renders them from the request it encoded. On the wire,
    /// `rules[i].template` (absent for every other rule).
    pub reason_templates: BTreeMap<RuleId, Vec<ReasonPart>>,
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
            reason_templates: program.reason_templates.clone(),
        }
    }

    /// Parses and checks manifest JSON: compatible ABI major, known slot sources and types,
    /// literals without duplicates (the host's interning relies on literal ids being the only
    /// ids of their strings).
    pub fn from_json(json: &[u8]) -> Result<Manifest, AbiError> {
        let wire: wire::Manifest =
            serde_json::from_slice(json).map_err(|e| AbiError::InvalidManifest(e.to_string()))?;
        if wire.abi_version.major != ABI_VERSION_MAJOR {
            return Err(AbiError::IncompatibleAbi { found: wire.abi_version.major });
        }
        let manifest = wire.into_manifest()?;
        let mut seen = HashSet::with_capacity(manifest.literals.len());
        if !manifest.literals.iter().all(|l| seen.insert(l.as_str())) {
            return Err(AbiError::InvalidManifest("duplicate literal".into()));
        }
        Ok(manifest)
    }

    /// The manifest's slots and reason templates as a program without rule bodies: all that
    /// rendering a deny reason's placeholders reads (`Program::rendered_deny_reasons`, with the
    /// reference evaluator's reading of the request).
    pub fn reason_program(&self) -> Program {
        let rules = self
            .rules
            .iter()
            .map(|rule| Rule {
                name: rule.name.clone(),
                kind: rule.kind.clone(),
                body: Vec::new(),
                body_text: Vec::new(),
                line: rule.line,
            })
            .collect();
        Program {
            package: self.package.clone(),
            source_hash: self.source_hash.clone(),
            literals: Vec::new(),
            slots: self.slots.clone(),
            rules,
            reason_templates: self.reason_templates.clone(),
        }
    }

    /// The manifest as the JSON stored in the custom section.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain structs of strings and integers cannot fail.
        serde_json::to_vec(&wire::Manifest::from(self)).unwrap_or_default()
    }
}

/// The manifest's JSON, type by type: the ABI 2.0 wire format (ABI.md §2). Conversions to and
/// from the IR are the only link, so the IR can be renamed or restructured freely.
mod wire {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};
    use warrant_lang::ir::{self, Field};
    use warrant_lang::reason::ReasonPart;

    use super::super::AbiError;

    #[derive(Serialize, Deserialize)]
    pub(super) struct Manifest {
        #[serde(rename = "abi_version")]
        pub(super) abi_version: Version,
        #[serde(rename = "package")]
        package: String,
        #[serde(rename = "source_hash")]
        source_hash: String,
        #[serde(rename = "literals")]
        literals: Vec<String>,
        #[serde(rename = "slots")]
        slots: Vec<Slot>,
        #[serde(rename = "rules")]
        rules: Vec<Rule>,
        #[serde(rename = "undecided")]
        undecided: Vec<String>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Version {
        #[serde(rename = "major")]
        pub(super) major: u16,
        #[serde(rename = "minor")]
        minor: u16,
    }

    #[derive(Serialize, Deserialize)]
    struct Slot {
        #[serde(rename = "source")]
        source: Source,
        #[serde(rename = "ty")]
        ty: Ty,
    }

    #[derive(Serialize, Deserialize)]
    enum Source {
        /// A vocabulary field by its language name ([`Field::name`]).
        #[serde(rename = "field")]
        Field(String),
        #[serde(rename = "claim")]
        Claim(Vec<String>),
        #[serde(rename = "context")]
        Context(Vec<String>),
        #[serde(rename = "actor_claim")]
        ActorClaim(Vec<String>),
        #[serde(rename = "data")]
        Data(Vec<String>),
        #[serde(rename = "data_table")]
        DataTable {
            #[serde(rename = "table")]
            table: Vec<String>,
            #[serde(rename = "field")]
            field: Vec<String>,
        },
    }

    #[derive(Clone, Copy, Serialize, Deserialize)]
    pub(super) enum Ty {
        #[serde(rename = "str")]
        Str,
        #[serde(rename = "int")]
        Int,
        #[serde(rename = "bool")]
        Bool,
        #[serde(rename = "str_set")]
        StrSet,
    }

    #[derive(Serialize, Deserialize)]
    struct Rule {
        #[serde(rename = "name")]
        name: String,
        #[serde(flatten)]
        kind: RuleKind,
        #[serde(rename = "line")]
        line: u32,
        /// A deny reason's placeholders: absent when the reason has none.
        #[serde(rename = "template", default, skip_serializing_if = "Option::is_none")]
        template: Option<Vec<Part>>,
    }

    /// One part of a reason template: `{"text": "…"}`, `{"slot": 3}` (a non-data slot),
    /// `{"actor": {"which": "current"|"first", "field": "sub"|"client_id"|"instance"}}`,
    /// `{"actor_claim": {"which": "current"|"first", "slot": 4}}` (an `actor_claim` slot),
    /// `{"chain_depth": {}}`.
    #[derive(Serialize, Deserialize)]
    enum Part {
        #[serde(rename = "text")]
        Text(String),
        #[serde(rename = "slot")]
        Slot(u32),
        #[serde(rename = "actor")]
        Actor {
            #[serde(rename = "which")]
            which: Which,
            #[serde(rename = "field")]
            field: ActorField,
        },
        #[serde(rename = "actor_claim")]
        ActorClaim {
            #[serde(rename = "which")]
            which: Which,
            #[serde(rename = "slot")]
            slot: u32,
        },
        #[serde(rename = "chain_depth")]
        ChainDepth {},
    }

    #[derive(Clone, Copy, Serialize, Deserialize)]
    enum Which {
        #[serde(rename = "current")]
        Current,
        #[serde(rename = "first")]
        First,
    }

    impl Which {
        /// `chain.first` is `first`; the current actor (and, never in a reason, a hop) `current`.
        fn from_ir(actor: ir::ActorRef) -> Self {
            if actor == ir::ActorRef::First {
                Which::First
            } else {
                Which::Current
            }
        }

        fn into_ir(self) -> ir::ActorRef {
            match self {
                Which::Current => ir::ActorRef::Current,
                Which::First => ir::ActorRef::First,
            }
        }
    }

    #[derive(Clone, Copy, Serialize, Deserialize)]
    enum ActorField {
        #[serde(rename = "sub")]
        Sub,
        #[serde(rename = "client_id")]
        ClientId,
        #[serde(rename = "instance")]
        Instance,
    }

    impl From<&ReasonPart> for Part {
        /// Lowering only puts request values in templates (`ir::Program::reason_templates`);
        /// anything else would be refused when the manifest is read back.
        fn from(part: &ReasonPart) -> Self {
            match part {
                ReasonPart::Text(text) => Part::Text(text.clone()),
                ReasonPart::Value(ir::Expr::Slot(id)) => Part::Slot(*id),
                ReasonPart::Value(ir::Expr::Actor(which, field)) => Part::Actor {
                    which: Which::from_ir(*which),
                    field: match field {
                        ir::ActorField::Sub => ActorField::Sub,
                        ir::ActorField::ClientId => ActorField::ClientId,
                        ir::ActorField::Instance => ActorField::Instance,
                    },
                },
                ReasonPart::Value(ir::Expr::ActorClaim(which, slot)) => {
                    Part::ActorClaim { which: Which::from_ir(*which), slot: *slot }
                }
                ReasonPart::Value(ir::Expr::ChainDepth) => Part::ChainDepth {},
                // The checker admits no other value in a reason (`check::Checker::reason`); should
                // one appear, every host renders it as missing rather than as something else.
                ReasonPart::Value(_) => Part::Text(warrant_lang::reason::MISSING.to_string()),
            }
        }
    }

    impl Part {
        /// The IR view; a slot that is out of range or reads data is an invalid manifest.
        fn into_ir(self, slots: &[ir::Slot]) -> Result<ReasonPart, AbiError> {
            Ok(match self {
                Part::Text(text) => ReasonPart::Text(text),
                Part::Slot(id) => match slots.get(id as usize) {
                    Some(slot) if !slot.source.is_data() => ReasonPart::Value(ir::Expr::Slot(id)),
                    _ => return Err(AbiError::InvalidManifest(format!("reason template reads slot {id}"))),
                },
                Part::Actor { which, field } => ReasonPart::Value(ir::Expr::Actor(
                    which.into_ir(),
                    match field {
                        ActorField::Sub => ir::ActorField::Sub,
                        ActorField::ClientId => ir::ActorField::ClientId,
                        ActorField::Instance => ir::ActorField::Instance,
                    },
                )),
                Part::ActorClaim { which, slot } => match slots.get(slot as usize) {
                    Some(ir::Slot { source: ir::Source::ActorClaim(_), .. }) => {
                        ReasonPart::Value(ir::Expr::ActorClaim(which.into_ir(), slot))
                    }
                    _ => return Err(AbiError::InvalidManifest(format!("reason template reads actor claim {slot}"))),
                },
                Part::ChainDepth {} => ReasonPart::Value(ir::Expr::ChainDepth),
            })
        }
    }

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "kind")]
    pub(super) enum RuleKind {
        #[serde(rename = "allow")]
        Allow,
        #[serde(rename = "deny")]
        Deny {
            #[serde(rename = "reason")]
            reason: String,
        },
        #[serde(rename = "helper")]
        Helper,
    }

    impl From<&super::Manifest> for Manifest {
        fn from(m: &super::Manifest) -> Self {
            Manifest {
                abi_version: Version { major: m.abi_version.major, minor: m.abi_version.minor },
                package: m.package.clone(),
                source_hash: m.source_hash.clone(),
                literals: m.literals.clone(),
                slots: m.slots.iter().map(Slot::from).collect(),
                rules: m
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(id, r)| Rule {
                        name: r.name.clone(),
                        kind: RuleKind::from(&r.kind),
                        line: r.line,
                        template: ir::RuleId::try_from(id)
                            .ok()
                            .and_then(|id| m.reason_templates.get(&id))
                            .map(|parts| parts.iter().map(Part::from).collect()),
                    })
                    .collect(),
                undecided: m.undecided.clone(),
            }
        }
    }

    impl Manifest {
        /// The IR view; a field name outside the vocabulary is an invalid manifest.
        pub(super) fn into_manifest(self) -> Result<super::Manifest, AbiError> {
            let slots: Vec<ir::Slot> = self.slots.into_iter().map(Slot::into_ir).collect::<Result<_, _>>()?;
            let mut reason_templates = BTreeMap::new();
            let mut rules = Vec::with_capacity(self.rules.len());
            for (id, rule) in self.rules.into_iter().enumerate() {
                if let Some(parts) = rule.template {
                    if !matches!(rule.kind, RuleKind::Deny { .. }) {
                        return Err(AbiError::InvalidManifest(format!("rule `{}` has a template", rule.name)));
                    }
                    let id = ir::RuleId::try_from(id).map_err(|e| AbiError::InvalidManifest(e.to_string()))?;
                    let parts = parts.into_iter().map(|p| p.into_ir(&slots)).collect::<Result<_, _>>()?;
                    reason_templates.insert(id, parts);
                }
                rules.push(super::RuleInfo { name: rule.name, kind: rule.kind.into_ir(), line: rule.line });
            }
            Ok(super::Manifest {
                abi_version: super::AbiVersion { major: self.abi_version.major, minor: self.abi_version.minor },
                package: self.package,
                source_hash: self.source_hash,
                literals: self.literals,
                slots,
                rules,
                undecided: self.undecided,
                reason_templates,
            })
        }
    }

    impl From<&ir::Slot> for Slot {
        fn from(slot: &ir::Slot) -> Self {
            let source = match &slot.source {
                ir::Source::Field(field) => Source::Field(field.name().to_string()),
                ir::Source::Claim(path) => Source::Claim(path.clone()),
                ir::Source::Context(path) => Source::Context(path.clone()),
                ir::Source::ActorClaim(path) => Source::ActorClaim(path.clone()),
                ir::Source::Data(path) => Source::Data(path.clone()),
                ir::Source::DataTable { table, field } => {
                    Source::DataTable { table: table.clone(), field: field.clone() }
                }
            };
            Slot { source, ty: Ty::from(slot.ty) }
        }
    }

    impl Slot {
        fn into_ir(self) -> Result<ir::Slot, AbiError> {
            let source = match self.source {
                Source::Field(name) => ir::Source::Field(
                    Field::from_name(&name)
                        .ok_or_else(|| AbiError::InvalidManifest(format!("unknown request field `{name}`")))?,
                ),
                Source::Claim(path) => ir::Source::Claim(path),
                Source::Context(path) => ir::Source::Context(path),
                Source::ActorClaim(path) => ir::Source::ActorClaim(path),
                Source::Data(path) => ir::Source::Data(path),
                Source::DataTable { table, field } => ir::Source::DataTable { table, field },
            };
            Ok(ir::Slot { source, ty: self.ty.into_ir() })
        }
    }

    impl From<ir::Ty> for Ty {
        fn from(ty: ir::Ty) -> Self {
            match ty {
                ir::Ty::Str => Ty::Str,
                ir::Ty::Int => Ty::Int,
                ir::Ty::Bool => Ty::Bool,
                ir::Ty::StrSet => Ty::StrSet,
            }
        }
    }

    impl Ty {
        fn into_ir(self) -> ir::Ty {
            match self {
                Ty::Str => ir::Ty::Str,
                Ty::Int => ir::Ty::Int,
                Ty::Bool => ir::Ty::Bool,
                Ty::StrSet => ir::Ty::StrSet,
            }
        }
    }

    impl From<&ir::RuleKind> for RuleKind {
        fn from(kind: &ir::RuleKind) -> Self {
            match kind {
                ir::RuleKind::Allow => RuleKind::Allow,
                ir::RuleKind::Deny { reason } => RuleKind::Deny { reason: reason.clone() },
                ir::RuleKind::Helper => RuleKind::Helper,
            }
        }
    }

    impl RuleKind {
        fn into_ir(self) -> ir::RuleKind {
            match self {
                RuleKind::Allow => ir::RuleKind::Allow,
                RuleKind::Deny { reason } => ir::RuleKind::Deny { reason },
                RuleKind::Helper => ir::RuleKind::Helper,
            }
        }
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
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use warrant_lang::ir::{Field, Source, Ty};

    fn sample() -> Manifest {
        Manifest {
            abi_version: AbiVersion { major: ABI_VERSION_MAJOR, minor: ABI_VERSION_MINOR },
            package: "p".into(),
            source_hash: "abc".into(),
            literals: vec!["read".into()],
            slots: vec![],
            rules: vec![RuleInfo { name: "no".into(), kind: RuleKind::Deny { reason: "because".into() }, line: 3 }],
            undecided: vec!["sub is missing or not a string".into()],
            reason_templates: BTreeMap::new(),
        }
    }

    /// Every slot source, every type and every rule kind, as ABI 3.0 writes them.
    fn golden_sample() -> Manifest {
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Manifest {
            slots: vec![
                Slot { source: Source::Field(Field::ClientId), ty: Ty::Str },
                Slot { source: Source::Field(Field::Scope), ty: Ty::StrSet },
                Slot { source: Source::Claim(path(&["tenant", "id"])), ty: Ty::Int },
                Slot { source: Source::Data(path(&["flags", "on"])), ty: Ty::Bool },
                Slot { source: Source::DataTable { table: path(&["agents"]), field: path(&["owner"]) }, ty: Ty::Str },
                Slot { source: Source::Context(path(&["arguments", "id"])), ty: Ty::Str },
                Slot { source: Source::ActorClaim(path(&["scope"])), ty: Ty::StrSet },
            ],
            rules: vec![
                RuleInfo { name: "ok".into(), kind: RuleKind::Allow, line: 2 },
                RuleInfo { name: "no".into(), kind: RuleKind::Deny { reason: "because".into() }, line: 3 },
                RuleInfo { name: "h".into(), kind: RuleKind::Helper, line: 4 },
            ],
            ..sample()
        }
    }

    /// The ABI 3.0 wire format, byte for byte: renaming an IR item must not change it.
    const GOLDEN: &str = concat!(
        r#"{"abi_version":{"major":3,"minor":0},"package":"p","source_hash":"abc","literals":["read"],"#,
        r#""slots":[{"source":{"field":"client_id"},"ty":"str"},{"source":{"field":"scope"},"ty":"str_set"},"#,
        r#"{"source":{"claim":["tenant","id"]},"ty":"int"},{"source":{"data":["flags","on"]},"ty":"bool"},"#,
        r#"{"source":{"data_table":{"table":["agents"],"field":["owner"]}},"ty":"str"},"#,
        r#"{"source":{"context":["arguments","id"]},"ty":"str"},{"source":{"actor_claim":["scope"]},"ty":"str_set"}],"#,
        r#""rules":[{"name":"ok","kind":"allow","line":2},{"name":"no","kind":"deny","reason":"because","line":3},"#,
        r#"{"name":"h","kind":"helper","line":4}],"undecided":["sub is missing or not a string"]}"#
    );

    #[test]
    fn manifest_json_is_pinned() {
        assert_eq!(String::from_utf8(golden_sample().to_json()).unwrap(), GOLDEN);
        assert_eq!(Manifest::from_json(GOLDEN.as_bytes()).unwrap(), golden_sample());
    }

    /// The names the ABI's described constants give hosts are the ones the wire types write.
    #[test]
    fn slot_types_and_rule_kinds_match_the_wire_types() {
        for (ty, name) in [Ty::Str, Ty::Int, Ty::Bool, Ty::StrSet].into_iter().zip(crate::abi::SLOT_TYPES) {
            assert_eq!(serde_json::to_value(wire::Ty::from(ty)).unwrap(), serde_json::json!(name));
        }
        let kinds = [RuleKind::Allow, RuleKind::Deny { reason: "r".into() }, RuleKind::Helper];
        for (kind, name) in kinds.iter().zip(crate::abi::RULE_KINDS) {
            assert_eq!(serde_json::to_value(wire::RuleKind::from(kind)).unwrap()["kind"], serde_json::json!(name));
        }
    }

    #[test]
    fn unknown_field_or_type_is_an_invalid_manifest() {
        for (from, to) in [(r#"{"field":"client_id"}"#, r#"{"field":"clientid"}"#), (r#""ty":"int""#, r#""ty":"i64""#)]
        {
            let json = GOLDEN.replacen(from, to, 1);
            assert!(matches!(Manifest::from_json(json.as_bytes()), Err(AbiError::InvalidManifest(_))), "{json}");
        }
    }

    #[test]
    fn reason_templates_round_trip_and_only_read_the_request() {
        use warrant_lang::ir::{ActorField, ActorRef, Expr};
        let parts = vec![
            ReasonPart::Text("of ".into()),
            ReasonPart::Value(Expr::Slot(0)),
            ReasonPart::Value(Expr::Actor(ActorRef::First, ActorField::Instance)),
            ReasonPart::Value(Expr::ChainDepth),
        ];
        let manifest = Manifest {
            slots: vec![
                Slot { source: Source::Field(Field::Resource), ty: Ty::Str },
                Slot { source: Source::Data(vec!["x".into()]), ty: Ty::Str },
            ],
            reason_templates: BTreeMap::from([(0, parts)]),
            ..sample()
        };
        let json = String::from_utf8(manifest.to_json()).unwrap();
        let template = r#""template":[{"text":"of "},{"slot":0},{"actor":{"which":"first","field":"instance"}},{"chain_depth":{}}]"#;
        assert!(json.contains(template), "{json}");
        assert_eq!(Manifest::from_json(json.as_bytes()).unwrap(), manifest);
        // A data slot, a slot out of range, a template on an allow rule: refused.
        for (from, to) in [
            (r#"{"slot":0}"#, r#"{"slot":1}"#),
            (r#"{"slot":0}"#, r#"{"slot":9}"#),
            (r#""kind":"deny","reason":"because""#, r#""kind":"allow""#),
        ] {
            let bad = json.replace(from, to);
            assert!(matches!(Manifest::from_json(bad.as_bytes()), Err(AbiError::InvalidManifest(_))), "{bad}");
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
