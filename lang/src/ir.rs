//! The intermediate representation: a checked policy, lowered to typed conditions over
//! numbered inputs ("slots"). Both backends consume exactly this: the reference evaluator
//! (`crate::eval`, the test oracle) and the Wasm code generator (`warrant-wasm`).
//!
//! Invariants established by lowering (backends may rely on them):
//! - every `Expr` is well typed for the position it appears in (see [`Ty`]);
//! - `LitId`s index `Program::literals`, which holds no duplicates;
//! - `SlotId`s index `Program::slots`, which holds no duplicate `(source, ty)` pair;
//! - `Cond::Rule` only names helper rules, and the rule graph is acyclic;
//! - `ActorRef::Hop`, `ActorRef::Prev` and `Expr::HopIndex` only appear inside the body of
//!   `Cond::Every` / `Cond::Some`, and quantifiers do not nest;
//! - `Expr::ActorClaim` names a `Source::ActorClaim` slot, and only it reads such slots;
//! - `Expr::StrSet` literal ids are sorted ascending and deduplicated;
//! - computed strings (`Expr::Concat`, `Expr::Case`) appear only as an operand of a `Str`
//!   `Cmp` (at most one side [`Expr::is_concatenation`]), the element of `In` with a literal
//!   set, either argument of `StartsWithValue`/`EndsWithValue` (the subject not a
//!   concatenation), the argument of `Defined`, and inside each other;
//! - `Expr::Intersect` appears only as the argument of `Count` or as an operand of an
//!   `Eq`/`Ne` `Cmp` whose other operand is the empty literal set; its operands are not
//!   intersections.
//! - helper rules with parameters are gone: each call was inlined (a `Cond::Any` of the
//!   definitions' bodies when there are several), so `Cond::Rule` names helpers without them.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::reason::ReasonPart;

/// Index into [`Program::literals`].
pub type LitId = u32;
/// Index into [`Program::slots`].
pub type SlotId = u32;
/// Index into [`Program::rules`].
pub type RuleId = u32;

/// A lowered policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// `package` name declared by the policy.
    pub package: String,
    /// Hex SHA-256 of the policy source text: the policy version reported by every decision.
    pub source_hash: String,
    /// Interned string literals (including glob/prefix patterns and set-literal members).
    pub literals: Vec<String>,
    /// Every input value the policy reads, with the type it is read as.
    pub slots: Vec<Slot>,
    /// Rules in source order.
    pub rules: Vec<Rule>,
    /// The deny rules whose reason has placeholders (`"record {resource} …"`), split into text
    /// and request values ([`crate::reason`]); a deny rule absent here reports its reason as is.
    #[serde(default)]
    pub reason_templates: BTreeMap<RuleId, Vec<ReasonPart>>,
}

/// The static type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ty {
    /// A UTF-8 string.
    Str,
    /// A signed 64-bit integer; times and durations are in seconds.
    Int,
    /// `true` or `false`.
    Bool,
    /// A set of strings.
    StrSet,
}

/// One input of the policy: where the value comes from and the type it is read as.
/// A value whose JSON shape does not match `ty` reads as *missing*.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Slot {
    /// Where the value is read from.
    pub source: Source,
    /// The type it is read as; `(source, ty)` is unique in [`Program::slots`].
    pub ty: Ty,
}

/// Where a slot's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A field of the request vocabulary (`sub`, `resource`, `scope`, `now`, ...).
    Field(Field),
    /// `claims.a.b`: any claim of the token, by path.
    Claim(Vec<String>),
    /// `context.a.b`: a value of the request's `context` object (what the gateway knows about
    /// the call besides the token: method, tool, arguments, ...), by path. Coerced like data: a
    /// set is an array of strings or an object's keys; a string is never split on spaces.
    Context(Vec<String>),
    /// `hop.claims.a.b`, `act.claims.a.b`, ...: a claim of an actor (`act` object), by path,
    /// read for every actor of the chain (never as a value of its own: see
    /// [`Expr::ActorClaim`]). Coerced like top-level claims (a space-separated string is a set).
    ActorClaim(Vec<String>),
    /// `data.a.b`: a value of the data document, by path. Read as `StrSet`, a JSON array of
    /// strings is its elements and a JSON object is its keys.
    Data(Vec<String>),
    /// `data.table[key].field`: an object of objects indexed by a key computed at decision
    /// time. `ty` is the type of `field` (an empty `field` path means the entry itself).
    DataTable {
        /// Path of the table object in the data document (`data.table`).
        table: Vec<String>,
        /// Path inside the entry (`.field`); empty for the entry itself.
        field: Vec<String>,
    },
}

/// Data keys of the host's revocation lists (`data.revoked_instances`, ...). Every host
/// enforces them on every hop before the policy runs; a policy may read them too, and sees the
/// empty set when the document has none (they are the host's, not the author's).
pub const REVOCATION_LISTS: [&str; 3] = ["revoked_instances", "revoked_client_ids", "revoked_jtis"];

impl Slot {
    /// Whether an absent value reads as the empty set rather than as missing: a revocation
    /// list read as a set.
    pub fn absent_is_empty(&self) -> bool {
        matches!(&self.source, Source::Data(path) if self.ty == Ty::StrSet
            && matches!(path.as_slice(), [key] if REVOCATION_LISTS.contains(&key.as_str())))
    }
}

impl Source {
    /// Data slots live in the data image (laid out once per data version); the others are
    /// encoded for every request.
    pub fn is_data(&self) -> bool {
        matches!(self, Source::Data(_) | Source::DataTable { .. })
    }
}

/// The position of slot `slot` among the `Source::ActorClaim` slots of `slots` (in slot
/// order), and how many there are: where an actor's value of that claim sits in its record
/// (the request image lays out one cell per actor-claim slot after each actor's ids).
pub fn actor_claim_index(slots: &[Slot], slot: SlotId) -> Option<u32> {
    let target = slots.get(slot as usize)?;
    if !matches!(target.source, Source::ActorClaim(_)) {
        return None;
    }
    let before = slots.iter().take(slot as usize).filter(|s| matches!(s.source, Source::ActorClaim(_))).count();
    u32::try_from(before).ok()
}

/// The request vocabulary: the fields a policy names directly. Everything about a field (its
/// name, type, where it is read from, meaning) is in one table, [`Field::spec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// `sub`.
    Sub,
    /// `iss`.
    Iss,
    /// `jti`.
    Jti,
    /// `client_id`.
    ClientId,
    /// `instance`.
    Instance,
    /// `resource`.
    Resource,
    /// `action`.
    Action,
    /// `aud`.
    Aud,
    /// `scope`.
    Scope,
    /// `iat`.
    Iat,
    /// `exp`.
    Exp,
    /// `nbf`.
    Nbf,
    /// `now`.
    Now,
    /// `binding`.
    Binding,
}

/// Where a vocabulary field's value is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOrigin {
    /// The token claim of this name.
    Claim(&'static str),
    /// The claim the deployment names for the agent instance (`ClaimMapping::instance_claim`,
    /// default `instance_id`), at the top level and in each `act`.
    InstanceClaim,
    /// The call, not the token: supplied by the gateway or host (in the JSON request, the
    /// top-level key of the field's name).
    Call,
}

/// One row of the vocabulary table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The name in the language, the manifest and the JSON request.
    pub name: &'static str,
    /// The type it is read as; a value of another JSON type is an invalid request.
    pub ty: Ty,
    /// Where it is read from.
    pub origin: FieldOrigin,
    /// For a set: whether a string claim is a space-separated list (RFC 9068 `scope`) rather
    /// than a one-element set (RFC 7519 `aud`).
    pub string_is_list: bool,
    /// What it means, for the docs.
    pub doc: &'static str,
}

/// A vocabulary row supplied by the call.
const fn call(name: &'static str, ty: Ty, doc: &'static str) -> FieldSpec {
    FieldSpec { name, ty, origin: FieldOrigin::Call, string_is_list: false, doc }
}

/// A vocabulary row read from a token claim of the field's own name.
const fn claim(name: &'static str, ty: Ty, doc: &'static str) -> FieldSpec {
    FieldSpec { name, ty, origin: FieldOrigin::Claim(name), string_is_list: false, doc }
}

impl Field {
    /// The vocabulary table: the one place a field's name, type, origin and meaning are
    /// written. The checker, the request readers and encoders (Rust and generated host code)
    /// and the docs' vocabulary table all follow it.
    pub const fn spec(self) -> FieldSpec {
        match self {
            Field::Sub => claim("sub", Ty::Str, "the principal on whose behalf the call is made"),
            Field::Iss => claim("iss", Ty::Str, "the token issuer"),
            Field::Jti => claim("jti", Ty::Str, "the token id"),
            Field::ClientId => claim("client_id", Ty::Str, "the OAuth client the token was issued to"),
            Field::Instance => FieldSpec {
                name: "instance",
                ty: Ty::Str,
                origin: FieldOrigin::InstanceClaim,
                string_is_list: false,
                doc: "the agent instance / task id",
            },
            Field::Resource => call("resource", Ty::Str, "the resource being called (the target URI)"),
            Field::Action => call("action", Ty::Str, "the operation being attempted"),
            Field::Aud => claim("aud", Ty::StrSet, "the token audience(s): a string or an array of strings"),
            Field::Scope => FieldSpec {
                string_is_list: true,
                ..claim("scope", Ty::StrSet, "granted scopes: a space-separated string (RFC 9068) or an array")
            },
            Field::Iat => claim("iat", Ty::Int, "issued at, seconds since the epoch"),
            Field::Exp => claim("exp", Ty::Int, "expiry, seconds since the epoch"),
            Field::Nbf => claim("nbf", Ty::Int, "not before, seconds since the epoch"),
            Field::Now => call("now", Ty::Int, "decision time, seconds since the epoch, supplied by the host"),
            Field::Binding => call(
                "binding",
                Ty::Str,
                "how the token is tied to its presenter, set by the token verifier: `bearer` (not at all), \
                 `dpop` (bound to a key, and a valid DPoP proof came with the call), `mtls` (bound to the \
                 client certificate the call came with)",
            ),
        }
    }

    /// The type every read of the field has ([`Field::spec`]).
    pub fn ty(self) -> Ty {
        self.spec().ty
    }

    /// The name of the field in the language (and in the JSON request) ([`Field::spec`]).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The field named `name` in the language (and in the manifest), if any.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Every field, in vocabulary order (the order of the docs' table and of request reading).
    pub const ALL: [Field; 14] = [
        Field::Sub,
        Field::Iss,
        Field::Jti,
        Field::ClientId,
        Field::Instance,
        Field::Resource,
        Field::Action,
        Field::Aud,
        Field::Scope,
        Field::Iat,
        Field::Exp,
        Field::Nbf,
        Field::Now,
        Field::Binding,
    ];
}

/// Which actor of the delegation chain an actor expression names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorRef {
    /// `act` / `chain.last`: the current actor (the outermost RFC 8693 `act`).
    Current,
    /// `chain.first`: the first actor the user delegated to (the innermost `act`).
    First,
    /// `hop`: the loop variable of `every` / `some`.
    Hop,
    /// `hop.prev`: the actor just before `hop` in delegation order; missing for the first.
    Prev,
}

/// A string field of an actor record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorField {
    /// `sub` of the `act` object.
    Sub,
    /// `client_id` of the `act` object.
    ClientId,
    /// The instance claim of the `act` object (`ClaimMapping::instance_claim`).
    Instance,
}

/// A comparison operator; only `Int` operands take the four orderings (see [`Cond::Cmp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// An integer operator; overflow makes the expression undecided, never wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArithOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
}

/// An ASCII case mapping of `lower(s)` / `upper(s)`: only the bytes `A`–`Z` / `a`–`z` change,
/// every other byte (all of UTF-8's multi-byte sequences) is kept, so lengths never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseMap {
    /// `lower(s)`: `A`–`Z` become `a`–`z`.
    Lower,
    /// `upper(s)`: `a`–`z` become `A`–`Z`.
    Upper,
}

impl CaseMap {
    /// The mapping of a whole string, byte by byte (so UTF-8 stays valid and the length does
    /// not change): the definition the Wasm backend's byte compare follows.
    pub fn apply(self, text: &str) -> String {
        match self {
            CaseMap::Lower => text.to_ascii_lowercase(),
            CaseMap::Upper => text.to_ascii_uppercase(),
        }
    }

    /// The function's name in the language.
    pub fn name(self) -> &'static str {
        match self {
            CaseMap::Lower => "lower",
            CaseMap::Upper => "upper",
        }
    }
}

/// A value expression. Evaluates to a value of one [`Ty`], or to *missing*.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// A string literal, by its id in [`Program::literals`].
    Str(LitId),
    /// An integer literal (durations already in seconds).
    Int(i64),
    /// A boolean literal.
    Bool(bool),
    /// A literal set; ids sorted ascending, no duplicates.
    StrSet(Vec<LitId>),
    /// The value of a non-table slot.
    Slot(SlotId),
    /// `data.table[key].field`: `slot` is a `Source::DataTable` slot; `key` is a `Str` expr.
    /// Missing when the key is missing or absent from the table.
    Lookup {
        /// The `Source::DataTable` slot read.
        slot: SlotId,
        /// The entry's key, a `Str` expression.
        key: Box<Expr>,
    },
    /// A string field of an actor; missing when the chain is empty or the field is absent.
    Actor(ActorRef, ActorField),
    /// Number of actors in the delegation chain (0 when there is no `act` claim). Never missing.
    ChainDepth,
    /// A claim of an actor: `slot` is a `Source::ActorClaim` slot, read for the actor named;
    /// missing when there is no such actor or its claim is absent or ill-typed.
    ActorClaim(ActorRef, SlotId),
    /// `hop.index`: the 0-based delegation position of `hop`. Never missing.
    HopIndex,
    /// Integer arithmetic; missing if either side is missing, undecided on i64 overflow.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// String concatenation `a + b`: both `Str`; missing if either side is. A computed string
    /// has no id, so backends restrict where it may appear (see [`Expr::is_computed_str`]).
    Concat(Box<Expr>, Box<Expr>),
    /// `lower(s)` / `upper(s)` of a `Str` expression ([`CaseMap`]); missing if `s` is.
    Case(CaseMap, Box<Expr>),
    /// `count(set)`: the number of elements of a `StrSet` expression, an `Int`; missing if the
    /// set is.
    Count(Box<Expr>),
    /// `a & b`: the elements both `StrSet`s share; missing if either is. Never built: it only
    /// appears as the argument of `Count` or compared (`Eq`/`Ne`) with the empty literal set,
    /// and its operands are not intersections.
    Intersect(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// A string built at decision time (`Concat`, `Case`): it has no interned id, so it may
    /// only be compared (`==`, `!=`, `in` a literal set) or used by `startswith`/`endswith`.
    pub fn is_computed_str(&self) -> bool {
        matches!(self, Expr::Concat(..) | Expr::Case(..))
    }

    /// Reads no input (a literal, or arithmetic, concatenation, case mapping, counting or
    /// intersection of literals): its value is known when the policy is compiled.
    pub fn is_constant(&self) -> bool {
        match self {
            Expr::Str(_) | Expr::Int(_) | Expr::Bool(_) | Expr::StrSet(_) => true,
            Expr::Arith(_, a, b) | Expr::Concat(a, b) | Expr::Intersect(a, b) => a.is_constant() && b.is_constant(),
            Expr::Case(_, inner) | Expr::Count(inner) => inner.is_constant(),
            Expr::Slot(_)
            | Expr::Lookup { .. }
            | Expr::Actor(..)
            | Expr::ChainDepth
            | Expr::ActorClaim(..)
            | Expr::HopIndex => false,
        }
    }

    /// A string made of several parts: a `Concat`, possibly under `lower`/`upper`. At most one
    /// side of a comparison, and never the subject of `startswith`/`endswith`, is one.
    pub fn is_concatenation(&self) -> bool {
        match self {
            Expr::Concat(..) => true,
            Expr::Case(_, inner) => inner.is_concatenation(),
            _ => false,
        }
    }
}

/// A condition, three-valued (`crate::eval::Truth`): an atomic condition with a missing
/// operand (or an overflowing sum) is **undecided**; `Not` keeps it undecided; a conjunction
/// is false if any part is false, else undecided if any part is, else true.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cond {
    /// Comparison. Both sides have the same type; `Str`, `Bool` and `StrSet` only take
    /// `Eq`/`Ne` (sets compare as sets); `Int` takes all six.
    Cmp(CmpOp, Expr, Expr),
    /// `elem in set`: `elem` is `Str`, `set` is `StrSet`.
    In(Expr, Expr),
    /// `a subset b`: both `StrSet`; true when every element of `a` is in `b`.
    Subset(Expr, Expr),
    /// `startswith(s, "lit")`.
    StartsWith(Expr, LitId),
    /// `endswith(s, "lit")`.
    EndsWith(Expr, LitId),
    /// `startswith(s, p)` with a pattern computed at decision time (`p` any `Str` expression);
    /// `s` is not a concatenation ([`Expr::is_concatenation`]). Missing if either is.
    StartsWithValue(Expr, Expr),
    /// `endswith(s, p)` with a computed pattern, as [`Cond::StartsWithValue`].
    EndsWithValue(Expr, Expr),
    /// `intersects(a, b)`: both `StrSet`; true when they share an element.
    Intersects(Expr, Expr),
    /// `s matches "glob"`: `*` matches any run of bytes (including `/`); every other byte
    /// matches itself.
    Matches(Expr, LitId),
    /// A `Bool` expression used as a condition (missing is undecided).
    Truthy(Expr),
    /// `defined(e)`: true when `e` reads (present, well typed, no overflow), else false; never
    /// undecided.
    Defined(Expr),
    /// `not c`: true and false swap; undecided stays undecided.
    Not(Box<Cond>),
    /// A helper rule holds.
    Rule(RuleId),
    /// Every actor of the chain satisfies all of the body (true for an empty chain).
    Every(Vec<Cond>),
    /// Some actor of the chain satisfies all of the body (false for an empty chain).
    Some(Vec<Cond>),
    /// Alternatives (`a or b`, or the definitions of a helper rule written several times): each
    /// branch is a conjunction; the result is the maximum over the branches (true if one is
    /// true, else undecided if one is, else false; false for no branch).
    Any(Vec<Vec<Cond>>),
    /// `regex(s, "pattern")`: the whole of `s` matches the regular expression (anchored at both
    /// ends, byte-wise unless the pattern says `(?u)`; see `crate::regex_dfa`).
    Regex(Expr, LitId),
}

impl Cond {
    /// The values an atomic condition reads, left to right; none for `not`, a helper rule,
    /// a quantifier or alternatives (their parts are conditions, not values). The one list of
    /// every condition's operands, so the passes that walk them cannot miss one.
    pub fn operands(&self) -> impl Iterator<Item = &Expr> {
        let (first, second) = match self {
            Cond::Cmp(_, a, b)
            | Cond::In(a, b)
            | Cond::Subset(a, b)
            | Cond::StartsWithValue(a, b)
            | Cond::EndsWithValue(a, b)
            | Cond::Intersects(a, b) => (Some(a), Some(b)),
            Cond::StartsWith(e, _)
            | Cond::EndsWith(e, _)
            | Cond::Matches(e, _)
            | Cond::Truthy(e)
            | Cond::Defined(e)
            | Cond::Regex(e, _) => (Some(e), None),
            Cond::Not(_) | Cond::Rule(_) | Cond::Every(_) | Cond::Some(_) | Cond::Any(_) => (None, None),
        };
        first.into_iter().chain(second)
    }
}

/// What a rule does when its body holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RuleKind {
    /// Grants, unless some deny rule fires.
    Allow,
    /// Refuses, whatever allows; the reason is reported.
    Deny {
        /// The reason as written in the policy, reported with every denial by this rule.
        reason: String,
    },
    /// A named condition other rules can use; never decides by itself.
    Helper,
}

/// One rule: its body is a conjunction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The rule's name, unique in the program; decisions and explanations name rules by it.
    pub name: String,
    /// Allow, deny or helper.
    pub kind: RuleKind,
    /// The conditions, a conjunction; empty means always true.
    pub body: Vec<Cond>,
    /// Source text of each body condition (same length as `body`), for explanations.
    pub body_text: Vec<String>,
    /// 1-based line of the rule head in the source.
    pub line: u32,
}

/// The result of evaluating a program on one request: the contract both backends share.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// Ids of every allow rule whose body was true and every deny rule whose body was not
    /// false, ascending (helper rules excluded).
    pub fired: Vec<RuleId>,
    /// The deny rules of `fired` whose body was undecided, ascending, each with the message
    /// naming the value that could not be read (`crate::undecided`).
    pub undecided: Vec<(RuleId, String)>,
}

impl Program {
    /// Default deny; any fired deny rule wins; otherwise allowed iff an allow rule fired.
    pub fn is_allowed(&self, outcome: &Outcome) -> bool {
        let mut allowed = false;
        for &id in &outcome.fired {
            match self.rules.get(id as usize).map(|rule| &rule.kind) {
                Some(RuleKind::Deny { .. }) | None => return false,
                Some(RuleKind::Allow) => allowed = true,
                Some(RuleKind::Helper) => {}
            }
        }
        allowed
    }

    /// Reasons of the deny rules that fired, in rule order; an undecided one names the value
    /// it could not read ([`crate::undecided::undecided_reason`]).
    pub fn deny_reasons<'a>(&'a self, outcome: &'a Outcome) -> impl Iterator<Item = String> + 'a {
        outcome.fired.iter().filter_map(|&id| match &self.rules.get(id as usize)?.kind {
            RuleKind::Deny { reason } => Some(match outcome.undecided.iter().find(|(rule, _)| *rule == id) {
                Some((_, message)) => crate::undecided::undecided_reason(reason, message),
                None => reason.clone(),
            }),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_lists_every_field_once_in_declaration_order() {
        assert!(Field::ALL.iter().enumerate().all(|(i, f)| *f as usize == i));
        assert!(Field::ALL.iter().all(|&f| Field::from_name(f.name()) == Some(f)));
        assert!(Field::ALL.iter().all(|f| !f.spec().string_is_list || f.ty() == Ty::StrSet));
    }
}
