//! Random, well-typed IR programs, requests and data documents over small alphabets, so that
//! equality, membership, lookups and patterns actually hit. Driven by a seed from proptest.
use serde_json::{json, Map, Value};
use warrant_lang::ir::{
    ActorField, ActorRef, ArithOp, CaseMap, CmpOp, Cond, Expr, Field, LitId, Program, Rule, RuleId, RuleKind, Slot,
    SlotId, Source, Ty,
};
use warrant_lang::reason::ReasonPart;
use warrant_lang::request::{Actor, Request};

pub use warrant_test_support::Rng;

/// Policy literals (patterns included; mixed case and non-ASCII for `lower`/`upper`).
pub const LITERALS: [&str; 12] = ["read", "write", "a", "b", "ab", "a*b", "*", "x/*", "", "*a*", "READ", "É/b"];
/// Strings requests and data draw from: some are literals, some are not.
pub const STRINGS: [&str; 15] =
    ["read", "write", "a", "b", "ab", "abb", "x/y", "zz", "", "ba", "read write", "Read", "AB", "é/B", "É/b"];
/// `regex(...)` patterns, stored after [`LITERALS`]: each matches some of [`STRINGS`] whole and
/// not others (and some only a part of one, which must not count).
pub const REGEXES: [&str; 9] =
    ["a|ab", "(a|b)*b", "[a-z]+", "x/.*", "(?i)READ( WRITE)?", "^r.*|w.*$", "\\w+ \\w+", "b?", "(?u).."];
const INTS: [i64; 8] = [-1, 0, 1, 2, 5, 100, i64::MAX, i64::MIN];

/// Every slot the generator may read.
pub fn slots() -> Vec<Slot> {
    let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut slots: Vec<Slot> = Field::ALL.iter().map(|&f| Slot { source: Source::Field(f), ty: f.ty() }).collect();
    for (name, ty) in [("c_str", Ty::Str), ("c_int", Ty::Int), ("c_bool", Ty::Bool), ("c_set", Ty::StrSet)] {
        slots.push(Slot { source: Source::Claim(path(&[name])), ty });
    }
    // One claim read with two types, and a nested one.
    slots.push(Slot { source: Source::Claim(path(&["c_any"])), ty: Ty::Str });
    slots.push(Slot { source: Source::Claim(path(&["c_any"])), ty: Ty::StrSet });
    slots.push(Slot { source: Source::Claim(path(&["nested", "k"])), ty: Ty::Str });
    // The request context: coerced like data (a string is never a space-separated set).
    for (name, ty) in [("x_str", Ty::Str), ("x_int", Ty::Int), ("x_bool", Ty::Bool), ("x_set", Ty::StrSet)] {
        slots.push(Slot { source: Source::Context(path(&[name])), ty });
    }
    slots.push(Slot { source: Source::Context(path(&["x_any"])), ty: Ty::StrSet });
    slots.push(Slot { source: Source::Context(path(&["args", "k"])), ty: Ty::Str });
    // Claims of each actor, one path read two ways (a string is a space-separated set, as for
    // top-level claims).
    for (name, ty) in [("a_str", Ty::Str), ("a_int", Ty::Int), ("a_bool", Ty::Bool), ("a_set", Ty::StrSet)] {
        slots.push(Slot { source: Source::ActorClaim(path(&[name])), ty });
    }
    slots.push(Slot { source: Source::ActorClaim(path(&["a_set"])), ty: Ty::Str });
    for (name, ty) in [("d_str", Ty::Str), ("d_int", Ty::Int), ("d_bool", Ty::Bool), ("d_set", Ty::StrSet)] {
        slots.push(Slot { source: Source::Data(path(&[name])), ty });
    }
    slots.push(Slot { source: Source::Data(path(&["tbl"])), ty: Ty::StrSet });
    for (field, ty) in [("s", Ty::Str), ("n", Ty::Int), ("f", Ty::Bool), ("tags", Ty::StrSet)] {
        slots.push(Slot { source: Source::DataTable { table: path(&["tbl"]), field: path(&[field]) }, ty });
    }
    slots.push(Slot { source: Source::DataTable { table: path(&["tbl"]), field: vec![] }, ty: Ty::StrSet });
    slots
}

fn slots_where(slots: &[Slot], ty: Ty, table: bool) -> Vec<SlotId> {
    slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.ty == ty && matches!(s.source, Source::DataTable { .. }) == table)
        .filter(|(_, s)| !matches!(s.source, Source::ActorClaim(_)))
        .map(|(i, _)| i as SlotId)
        .collect()
}

/// Generation context of one program.
struct ProgramGen<'r> {
    rng: &'r mut Rng,
    slots: Vec<Slot>,
    helpers: Vec<RuleId>,
    action_slot: SlotId,
}

pub fn program(rng: &mut Rng) -> Program {
    let slots = slots();
    let action_slot = slots.iter().position(|s| s.source == Source::Field(Field::Action)).unwrap() as SlotId;
    let mut gen = ProgramGen { rng, slots: slots.clone(), helpers: Vec::new(), action_slot };
    let rule_count = 1 + gen.rng.below(6);
    let mut rules = Vec::new();
    let mut reason_templates = std::collections::BTreeMap::new();
    for id in 0..rule_count {
        let kind = match gen.rng.below(10) {
            0..=3 => RuleKind::Allow,
            4..=6 => RuleKind::Deny { reason: format!("reason {id}") },
            _ => RuleKind::Helper,
        };
        let mut body: Vec<Cond> = (0..gen.rng.below(4)).map(|_| gen.cond(0, false)).collect();
        if kind == RuleKind::Helper && gen.rng.chance(40) {
            // A helper defined several times: the alternatives of its definitions.
            body = vec![gen.alternatives(1, false)];
        }
        if kind != RuleKind::Helper && gen.rng.chance(40) {
            let at = gen.rng.below(body.len() + 1);
            let action = gen.action_condition();
            body.insert(at, action);
        }
        if kind == RuleKind::Helper {
            gen.helpers.push(id as RuleId);
        }
        if matches!(kind, RuleKind::Deny { .. }) && gen.rng.chance(50) {
            reason_templates.insert(id as RuleId, gen.reason_template());
        }
        let body_text = body.iter().map(|c| format!("{c:?}")).collect();
        rules.push(Rule { name: format!("rule{id}"), kind, body, body_text, line: id as u32 + 1 });
    }
    Program {
        package: "gen".into(),
        source_hash: format!("{:016x}", gen.rng.next_u64()),
        literals: LITERALS.iter().chain(&REGEXES).map(|s| s.to_string()).collect(),
        slots,
        rules,
        reason_templates,
    }
}

impl ProgramGen<'_> {
    fn lit(&mut self) -> LitId {
        self.rng.below(LITERALS.len()) as LitId
    }

    /// A `regex` pattern: a literal id past [`LITERALS`].
    fn regex(&mut self) -> LitId {
        (LITERALS.len() + self.rng.below(REGEXES.len())) as LitId
    }

    fn lit_set(&mut self) -> Vec<LitId> {
        let mut ids: Vec<LitId> = (0..self.rng.below(4)).map(|_| self.lit()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// A deny reason with placeholders: text and request values of every kind (never data).
    fn reason_template(&mut self) -> Vec<ReasonPart> {
        let request_slots: Vec<SlotId> =
            (0..self.slots.len() as SlotId).filter(|&id| !self.slots[id as usize].source.is_data()).collect();
        (0..1 + self.rng.below(4))
            .map(|i| match self.rng.below(4) {
                0 => ReasonPart::Text(format!(" t{i} ")),
                1 => ReasonPart::Value(Expr::Slot(*self.rng.pick(&request_slots))),
                2 => {
                    let which = *self.rng.pick(&[ActorRef::Current, ActorRef::First]);
                    let field = *self.rng.pick(&[ActorField::Sub, ActorField::ClientId, ActorField::Instance]);
                    ReasonPart::Value(Expr::Actor(which, field))
                }
                _ => ReasonPart::Value(Expr::ChainDepth),
            })
            .collect()
    }

    fn action_condition(&mut self) -> Cond {
        let action = Expr::Slot(self.action_slot);
        if self.rng.chance(50) {
            let lit = Expr::Str(self.lit());
            if self.rng.chance(50) {
                Cond::Cmp(CmpOp::Eq, action, lit)
            } else {
                Cond::Cmp(CmpOp::Eq, lit, action)
            }
        } else {
            Cond::In(action, Expr::StrSet(self.lit_set()))
        }
    }

    fn cond(&mut self, depth: u32, in_quantifier: bool) -> Cond {
        loop {
            match self.rng.below(23) {
                0 => {
                    let op = *self.rng.pick(&[CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge]);
                    return Cond::Cmp(op, self.int(depth, in_quantifier), self.int(depth, in_quantifier));
                }
                1 => {
                    let op = *self.rng.pick(&[CmpOp::Eq, CmpOp::Ne]);
                    return Cond::Cmp(op, self.str(depth, in_quantifier), self.str(depth, in_quantifier));
                }
                2 => {
                    let op = *self.rng.pick(&[CmpOp::Eq, CmpOp::Ne]);
                    return Cond::Cmp(op, self.bool(depth, in_quantifier), self.bool(depth, in_quantifier));
                }
                3 => {
                    let op = *self.rng.pick(&[CmpOp::Eq, CmpOp::Ne]);
                    return Cond::Cmp(op, self.set(depth, in_quantifier), self.set(depth, in_quantifier));
                }
                4 => return Cond::In(self.str(depth, in_quantifier), self.set(depth, in_quantifier)),
                5 => return Cond::Subset(self.set(depth, in_quantifier), self.set(depth, in_quantifier)),
                6 => return Cond::StartsWith(self.str(depth, in_quantifier), self.lit()),
                7 => return Cond::EndsWith(self.str(depth, in_quantifier), self.lit()),
                8 => return Cond::Matches(self.str(depth, in_quantifier), self.lit()),
                9 => return Cond::Truthy(self.bool(depth, in_quantifier)),
                10 if depth < 3 => return Cond::Not(Box::new(self.cond(depth + 1, in_quantifier))),
                11 if !self.helpers.is_empty() => {
                    let helpers = self.helpers.clone();
                    return Cond::Rule(*self.rng.pick(&helpers));
                }
                12 if !in_quantifier && depth < 2 => {
                    let body = (0..self.rng.below(3)).map(|_| self.cond(depth + 1, true)).collect();
                    return if self.rng.chance(50) { Cond::Every(body) } else { Cond::Some(body) };
                }
                14 => {
                    return Cond::StartsWithValue(self.subject(depth, in_quantifier), self.text(depth, in_quantifier))
                }
                15 => return Cond::EndsWithValue(self.subject(depth, in_quantifier), self.text(depth, in_quantifier)),
                16 if self.rng.chance(50) => {
                    return Cond::Intersects(self.set(depth, in_quantifier), self.set(depth, in_quantifier))
                }
                16 => {
                    // `A & B == {}` / `!= {}`, the intersection on either side.
                    let op = *self.rng.pick(&[CmpOp::Eq, CmpOp::Ne]);
                    let both = self.intersection(depth, in_quantifier);
                    let empty = Expr::StrSet(vec![]);
                    return if self.rng.chance(50) { Cond::Cmp(op, both, empty) } else { Cond::Cmp(op, empty, both) };
                }
                17 => {
                    // A computed string compared with another (at most one side concatenated).
                    let op = *self.rng.pick(&[CmpOp::Eq, CmpOp::Ne]);
                    let computed = self.text(depth, in_quantifier);
                    let other = if computed.is_concatenation() {
                        self.subject(depth, in_quantifier)
                    } else {
                        self.text(depth, in_quantifier)
                    };
                    return if self.rng.chance(50) {
                        Cond::Cmp(op, computed, other)
                    } else {
                        Cond::Cmp(op, other, computed)
                    };
                }
                18 => return Cond::In(self.text(depth, in_quantifier), Expr::StrSet(self.lit_set())),
                13 => {
                    let value = match self.rng.below(5) {
                        4 => self.text(depth, in_quantifier),
                        0 => self.str(depth, in_quantifier),
                        1 => self.int(depth, in_quantifier),
                        2 => self.bool(depth, in_quantifier),
                        _ => self.set(depth, in_quantifier),
                    };
                    return Cond::Defined(value);
                }
                19 | 20 if in_quantifier => return self.hop_relation(),
                21 if depth < 3 => return self.alternatives(depth + 1, in_quantifier),
                22 => return Cond::Regex(self.str(depth, in_quantifier), self.regex()),
                _ => continue,
            }
        }
    }

    /// `Cond::Any` of zero to three branches, each a conjunction of zero to two conditions.
    fn alternatives(&mut self, depth: u32, in_quantifier: bool) -> Cond {
        let branches = (0..self.rng.below(4))
            .map(|_| (0..self.rng.below(3)).map(|_| self.cond(depth, in_quantifier)).collect())
            .collect();
        Cond::Any(branches)
    }

    fn slot_of(&mut self, ty: Ty, table: bool) -> SlotId {
        let candidates = slots_where(&self.slots, ty, table);
        *self.rng.pick(&candidates)
    }

    /// A condition relating `hop` to `hop.prev` (the per-hop delegation checks), or on `hop.index`.
    fn hop_relation(&mut self) -> Cond {
        let field = *self.rng.pick(&[ActorField::Sub, ActorField::ClientId, ActorField::Instance]);
        let sets: Vec<SlotId> = (0..self.slots.len() as SlotId)
            .filter(|&id| self.slots[id as usize].ty == Ty::StrSet)
            .filter(|&id| matches!(self.slots[id as usize].source, Source::ActorClaim(_)))
            .collect();
        let set = *self.rng.pick(&sets);
        match self.rng.below(4) {
            0 => Cond::Cmp(
                *self.rng.pick(&[CmpOp::Eq, CmpOp::Ne]),
                Expr::Actor(ActorRef::Hop, field),
                Expr::Actor(ActorRef::Prev, field),
            ),
            1 => Cond::Subset(Expr::ActorClaim(ActorRef::Hop, set), Expr::ActorClaim(ActorRef::Prev, set)),
            2 => Cond::In(Expr::Actor(ActorRef::Prev, field), Expr::ActorClaim(ActorRef::Hop, set)),
            _ => {
                Cond::Cmp(*self.rng.pick(&[CmpOp::Gt, CmpOp::Eq]), Expr::HopIndex, Expr::Int(self.rng.below(3) as i64))
            }
        }
    }

    /// An actor: `hop` and `hop.prev` only inside a quantifier.
    fn actor(&mut self, in_quantifier: bool) -> ActorRef {
        if in_quantifier {
            *self.rng.pick(&[ActorRef::Current, ActorRef::First, ActorRef::Hop, ActorRef::Hop, ActorRef::Prev])
        } else {
            *self.rng.pick(&[ActorRef::Current, ActorRef::First])
        }
    }

    /// A claim of type `ty` of some actor, or (half of the time) a plain slot of that type.
    fn actor_claim_or_slot(&mut self, ty: Ty, in_quantifier: bool) -> Expr {
        let claims: Vec<SlotId> = (0..self.slots.len() as SlotId)
            .filter(|&id| {
                let slot = &self.slots[id as usize];
                slot.ty == ty && matches!(slot.source, Source::ActorClaim(_))
            })
            .collect();
        if self.rng.chance(50) {
            Expr::ActorClaim(self.actor(in_quantifier), *self.rng.pick(&claims))
        } else {
            Expr::Slot(self.slot_of(ty, false))
        }
    }

    fn lookup(&mut self, ty: Ty, depth: u32, in_quantifier: bool) -> Expr {
        let slot = self.slot_of(ty, true);
        Expr::Lookup { slot, key: Box::new(self.str(depth + 1, in_quantifier)) }
    }

    fn str(&mut self, depth: u32, in_quantifier: bool) -> Expr {
        match self.rng.below(if depth < 2 { 5 } else { 4 }) {
            0 => Expr::Str(self.lit()),
            1 => Expr::Slot(self.slot_of(Ty::Str, false)),
            2 | 3 => {
                let which = self.actor(in_quantifier);
                let field = *self.rng.pick(&[ActorField::Sub, ActorField::ClientId, ActorField::Instance]);
                if self.rng.chance(50) {
                    Expr::Actor(which, field)
                } else {
                    self.actor_claim_or_slot(Ty::Str, in_quantifier)
                }
            }
            _ => self.lookup(Ty::Str, depth, in_quantifier),
        }
    }

    /// A string, often computed: `"lit" + s`, concatenations, `lower`/`upper`.
    fn text(&mut self, depth: u32, in_quantifier: bool) -> Expr {
        match self.rng.below(if depth < 3 { 5 } else { 1 }) {
            0 => self.str(depth, in_quantifier),
            1 => Expr::Concat(
                Box::new(self.text(depth + 1, in_quantifier)),
                Box::new(self.text(depth + 1, in_quantifier)),
            ),
            2 => Expr::Concat(Box::new(Expr::Str(self.lit())), Box::new(self.str(depth + 1, in_quantifier))),
            _ => Expr::Case(self.case(), Box::new(self.text(depth + 1, in_quantifier))),
        }
    }

    /// A string of one part (a subject of `startswith`): a stored string, maybe case-mapped.
    fn subject(&mut self, depth: u32, in_quantifier: bool) -> Expr {
        if depth < 3 && self.rng.chance(50) {
            Expr::Case(self.case(), Box::new(self.subject(depth + 1, in_quantifier)))
        } else {
            self.str(depth, in_quantifier)
        }
    }

    fn intersection(&mut self, depth: u32, in_quantifier: bool) -> Expr {
        Expr::Intersect(Box::new(self.set(depth + 1, in_quantifier)), Box::new(self.set(depth + 1, in_quantifier)))
    }

    fn case(&mut self) -> CaseMap {
        *self.rng.pick(&[CaseMap::Lower, CaseMap::Upper])
    }

    fn int(&mut self, depth: u32, in_quantifier: bool) -> Expr {
        match self.rng.below(if depth < 2 { 6 } else { 3 }) {
            5 if self.rng.chance(50) => Expr::Count(Box::new(self.intersection(depth + 1, in_quantifier))),
            5 => Expr::Count(Box::new(self.set(depth + 1, in_quantifier))),
            0 => Expr::Int(*self.rng.pick(&INTS)),
            1 => Expr::Slot(self.slot_of(Ty::Int, false)),
            2 if in_quantifier && self.rng.chance(40) => Expr::HopIndex,
            2 if self.rng.chance(50) => self.actor_claim_or_slot(Ty::Int, in_quantifier),
            2 => Expr::ChainDepth,
            3 => {
                let op = *self.rng.pick(&[ArithOp::Add, ArithOp::Sub]);
                Expr::Arith(
                    op,
                    Box::new(self.int(depth + 1, in_quantifier)),
                    Box::new(self.int(depth + 1, in_quantifier)),
                )
            }
            _ => self.lookup(Ty::Int, depth, in_quantifier),
        }
    }

    fn bool(&mut self, depth: u32, in_quantifier: bool) -> Expr {
        match self.rng.below(if depth < 2 { 3 } else { 2 }) {
            0 => Expr::Bool(self.rng.chance(50)),
            1 => self.actor_claim_or_slot(Ty::Bool, in_quantifier),
            _ => self.lookup(Ty::Bool, depth, in_quantifier),
        }
    }

    fn set(&mut self, depth: u32, in_quantifier: bool) -> Expr {
        match self.rng.below(if depth < 2 { 3 } else { 2 }) {
            0 => Expr::StrSet(self.lit_set()),
            1 => self.actor_claim_or_slot(Ty::StrSet, in_quantifier),
            _ => self.lookup(Ty::StrSet, depth, in_quantifier),
        }
    }
}

fn string(rng: &mut Rng) -> String {
    rng.pick(&STRINGS).to_string()
}

fn maybe_string(rng: &mut Rng) -> Option<String> {
    rng.chance(80).then(|| string(rng))
}

fn string_list(rng: &mut Rng) -> Vec<String> {
    (0..rng.below(4)).map(|_| string(rng)).collect()
}

/// Any JSON value, biased to shapes that coerce to slot types.
pub fn json_value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth < 2 { 10 } else { 8 }) {
        0 | 1 => json!(string(rng)),
        2 => json!(*rng.pick(&INTS)),
        3 => json!(*rng.pick(&[json!(1.5), json!(u64::MAX), Value::Null])),
        4 => json!(rng.chance(50)),
        5 | 6 => json!(string_list(rng)),
        7 => json!([string(rng), 3]),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                map.insert(string(rng), json_value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

pub fn request(rng: &mut Rng) -> Request {
    let mut claims = Map::new();
    for name in ["c_str", "c_int", "c_bool", "c_set", "c_any"] {
        if rng.chance(85) {
            claims.insert(name.to_string(), json_value(rng, 0));
        }
    }
    if rng.chance(70) {
        claims.insert("nested".into(), json!({"k": json_value(rng, 2)}));
    }
    let mut context = Map::new();
    for name in ["x_str", "x_int", "x_bool", "x_set", "x_any"] {
        if rng.chance(85) {
            context.insert(name.to_string(), json_value(rng, 0));
        }
    }
    if rng.chance(70) {
        context.insert("args".into(), json!({"k": json_value(rng, 2)}));
    }
    let int = |rng: &mut Rng| rng.chance(80).then(|| *rng.pick(&INTS));
    Request {
        sub: maybe_string(rng),
        iss: maybe_string(rng),
        jti: maybe_string(rng),
        client_id: maybe_string(rng),
        instance: maybe_string(rng),
        resource: maybe_string(rng),
        action: maybe_string(rng),
        aud: rng.chance(80).then(|| string_list(rng)),
        scope: rng.chance(80).then(|| string_list(rng)),
        iat: int(rng),
        exp: int(rng),
        nbf: int(rng),
        now: int(rng),
        binding: maybe_string(rng),
        chain: (0..rng.below(4))
            .map(|_| {
                let mut claims = Map::new();
                for name in ["a_str", "a_int", "a_bool", "a_set"] {
                    if rng.chance(80) {
                        claims.insert(name.to_string(), json_value(rng, 0));
                    }
                }
                Actor { sub: maybe_string(rng), client_id: maybe_string(rng), instance: maybe_string(rng), claims }
            })
            .collect(),
        claims,
        context,
    }
}

pub fn data(rng: &mut Rng) -> Value {
    let mut doc = Map::new();
    for name in ["d_str", "d_int", "d_bool", "d_set"] {
        if rng.chance(85) {
            doc.insert(name.to_string(), json_value(rng, 1));
        }
    }
    if rng.chance(85) {
        let mut table = Map::new();
        for _ in 0..rng.below(6) {
            let entry = if rng.chance(85) {
                let mut entry = Map::new();
                for field in ["s", "n", "f", "tags"] {
                    if rng.chance(80) {
                        entry.insert(field.to_string(), json_value(rng, 1));
                    }
                }
                Value::Object(entry)
            } else {
                json_value(rng, 2)
            };
            table.insert(string(rng), entry);
        }
        doc.insert("tbl".into(), Value::Object(table));
    } else if rng.chance(50) {
        doc.insert("tbl".into(), json_value(rng, 2));
    }
    Value::Object(doc)
}

/// Helper rules with parameters and several definitions, as policy source (they only exist
/// before inlining, so the IR generator above cannot produce them). `known` is defined twice.
const SOURCE_HELPERS: &str = r#"
rule is_read(x) if { x == "read" }
rule known(x) if { x in data.d_set }
rule known(x) if { x in scope; not x == "" }
rule pair(x, y) if { x == y or startswith(x, "a") }
rule nested(x) if { known(x) or is_read(x); not pair(x, "b") }
rule entry(x) if { data.tbl[x].s == sub or data.tbl[x].f }
rule flagged if { claims.c_bool == true }
rule flagged if { "ab" in claims.c_set }
"#;

/// A random policy in source form over the generator's claims and data, using alternatives
/// (`or`, several definitions) and helpers with parameters, also inside quantifiers with the
/// quantifier variable as argument.
pub fn source_policy(rng: &mut Rng) -> String {
    let mut source = String::from("package gen\n");
    source.push_str(SOURCE_HELPERS);
    for id in 0..1 + rng.below(4) {
        let head = if rng.chance(50) { format!("allow a{id}") } else { format!("deny d{id} \"reason {id}\"") };
        let body: Vec<String> = (0..1 + rng.below(3)).map(|_| source_cond(rng, 0, false)).collect();
        source.push_str(&format!("{head} if {{\n    {}\n}}\n", body.join("\n    ")));
    }
    source
}

fn source_value(rng: &mut Rng, in_quantifier: bool) -> &'static str {
    let values: &[&'static str] = &["sub", "resource", "action", "claims.c_str", "act.sub", "\"read\"", "\"ab\""];
    if in_quantifier && rng.chance(50) {
        return "hop.sub";
    }
    rng.pick::<&'static str>(values)
}

fn source_cond(rng: &mut Rng, depth: u32, in_quantifier: bool) -> String {
    match rng.below(if depth < 2 { 8 } else { 4 }) {
        0 => format!("{}({})", rng.pick(&["is_read", "known", "nested", "entry"]), source_value(rng, in_quantifier)),
        1 => format!("pair({}, {})", source_value(rng, in_quantifier), source_value(rng, in_quantifier)),
        2 => "flagged".to_string(),
        3 => format!("{} == {}", source_value(rng, in_quantifier), source_value(rng, in_quantifier)),
        4 => {
            format!("{} or {}", source_cond(rng, depth + 1, in_quantifier), source_cond(rng, depth + 1, in_quantifier))
        }
        5 => format!("not {}", source_cond(rng, depth + 1, in_quantifier)),
        _ if in_quantifier => source_cond(rng, depth + 1, in_quantifier),
        _ => {
            let quantifier = rng.pick(&["every", "some"]);
            format!("{quantifier} hop in chain {{ {} }}", source_cond(rng, depth + 1, true))
        }
    }
}
