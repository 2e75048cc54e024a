//! The reference evaluator: the IR's semantics (see `ir.rs` and docs/language.md) in plain
//! Rust. It is the oracle the Wasm backend is tested against, so it favours being obviously
//! right over being fast: values are owned, sets are `BTreeSet`s, nothing is precomputed.
//!
//! Conditions are three-valued ([`Truth`]): a condition that reads a missing or ill-typed value
//! (or whose arithmetic overflows) is *undecided*. An allow rule fires only when its body is
//! true; a deny rule fires unless its body is false, so a value an attacker can leave out never
//! disables a deny rule.
//!
//! It never panics and fails closed: anything malformed (an out-of-range id, a value of
//! the wrong type, a cyclic helper rule) reads as *missing* or makes a condition false.
use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::ir::{
    ActorField, ActorRef, ArithOp, CmpOp, Cond, Expr, Field, LitId, Outcome, Program, RuleId, RuleKind, Source, Ty,
};
use crate::request::{Actor, FieldRef, Request};
use crate::undecided;

/// Evaluates every allow and deny rule of `program` on `request` with data document `data`.
pub fn evaluate(program: &Program, request: &Request, data: &Json) -> Outcome {
    let evaluator = Evaluator::new(program, request, data);
    let mut outcome = Outcome::default();
    for (id, rule) in program.rules.iter().enumerate() {
        let id = id as RuleId;
        match (&rule.kind, evaluator.body(&rule.body, None, 0)) {
            (RuleKind::Allow, Truth::True) | (RuleKind::Deny { .. }, Truth::True) => outcome.fired.push(id),
            (RuleKind::Deny { .. }, Truth::Undecided(message)) => {
                outcome.fired.push(id);
                outcome.undecided.push((id, message));
            }
            _ => {}
        }
    }
    outcome
}

/// The truth of one condition (outside any quantifier). Used to fold conditions that read
/// no input at compile time.
pub fn condition_truth(program: &Program, request: &Request, data: &Json, cond: &Cond) -> Truth {
    Evaluator::new(program, request, data).truth(cond, None)
}

/// Kleene's three truth values, ordered `False < Undecided < True` so that a conjunction is the
/// minimum and a disjunction the maximum. `Undecided` carries the message naming the value
/// that could not be read ([`crate::undecided`]); among several, the order of the messages
/// decides which one a conjunction or disjunction keeps, exactly as the Wasm backend does with
/// its sorted message table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Truth {
    /// The condition does not hold.
    False,
    /// A value it reads is missing or ill typed, or its arithmetic overflows; holds the
    /// message naming that value.
    Undecided(String),
    /// The condition holds.
    True,
}

impl Truth {
    fn from_bool(value: bool) -> Truth {
        if value {
            Truth::True
        } else {
            Truth::False
        }
    }

    /// `not`: swaps true and false; undecided stays undecided.
    fn negate(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            undecided => undecided,
        }
    }
}

/// A value of one [`Ty`]. `None` stands for *missing* throughout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A [`Ty::Str`] value.
    Str(String),
    /// A [`Ty::Int`] value (seconds, for times and durations).
    Int(i64),
    /// A [`Ty::Bool`] value.
    Bool(bool),
    /// A [`Ty::StrSet`] value, ordered so that sets compare by content.
    StrSet(BTreeSet<String>),
}

impl Value {
    /// The type of this value, to compare with what a slot or operator expects.
    pub fn ty(&self) -> Ty {
        match self {
            Value::Str(_) => Ty::Str,
            Value::Int(_) => Ty::Int,
            Value::Bool(_) => Ty::Bool,
            Value::StrSet(_) => Ty::StrSet,
        }
    }
}

/// A value, or the message saying why it cannot be read.
type Read = Result<Value, String>;

/// One program, request and data document: the single code path that decides whether a
/// condition holds and what an expression's value is. [`evaluate`] and the explainer
/// (`crate::explain`) both go through it, so an explanation can never disagree with a decision.
pub struct Evaluator<'a> {
    program: &'a Program,
    request: &'a Request,
    data: &'a Json,
}

impl<'a> Evaluator<'a> {
    /// An evaluator of `program` on `request` with data document `data`; computes nothing yet.
    pub fn new(program: &'a Program, request: &'a Request, data: &'a Json) -> Evaluator<'a> {
        Evaluator { program, request, data }
    }

    /// The truth of `cond`; `hop` is the actor of the enclosing quantifier, if any.
    pub fn truth(&self, cond: &Cond, hop: Option<&Actor>) -> Truth {
        self.cond(cond, hop, 0)
    }

    /// The value of `expr`, or `None` when it is missing (or overflows).
    pub fn value(&self, expr: &Expr, hop: Option<&Actor>) -> Option<Value> {
        self.expr(expr, hop).ok()
    }

    /// The literal numbered `id`, if the program has it.
    pub fn literal(&self, id: LitId) -> Option<&'a str> {
        self.program.literals.get(id as usize).map(String::as_str)
    }
    /// A conjunction (the minimum; false as soon as one condition is false); `hop` is the
    /// actor of the enclosing quantifier, if any. `depth` counts helper-rule calls so that a
    /// (malformed) cyclic program stops instead of overflowing.
    fn body(&self, body: &[Cond], hop: Option<&Actor>, depth: usize) -> Truth {
        let mut result = Truth::True;
        for cond in body {
            let truth = self.cond(cond, hop, depth);
            if truth == Truth::False {
                return Truth::False;
            }
            result = result.min(truth);
        }
        result
    }

    fn cond(&self, cond: &Cond, hop: Option<&Actor>, depth: usize) -> Truth {
        let atomic = |read: Result<bool, String>| match read {
            Ok(holds) => Truth::from_bool(holds),
            Err(message) => Truth::Undecided(message),
        };
        match cond {
            Cond::Cmp(op, l, r) => atomic(self.pair(l, r, hop).map(|(l, r)| compare(*op, &l, &r))),
            Cond::In(elem, set) => atomic(self.pair(elem, set, hop).map(|pair| match pair {
                (Value::Str(e), Value::StrSet(s)) => s.contains(&e),
                _ => false,
            })),
            Cond::Subset(a, b) => atomic(self.pair(a, b, hop).map(|pair| match pair {
                (Value::StrSet(a), Value::StrSet(b)) => a.is_subset(&b),
                _ => false,
            })),
            Cond::StartsWith(s, lit) => atomic(self.string_test(s, *lit, hop, |s, p| s.starts_with(p))),
            Cond::EndsWith(s, lit) => atomic(self.string_test(s, *lit, hop, |s, p| s.ends_with(p))),
            Cond::Matches(s, lit) => atomic(self.glob_test(s, *lit, hop)),
            Cond::StartsWithValue(s, p) => atomic(self.pair(s, p, hop).map(|pair| match pair {
                (Value::Str(s), Value::Str(p)) => s.as_bytes().starts_with(p.as_bytes()),
                _ => false,
            })),
            Cond::EndsWithValue(s, p) => atomic(self.pair(s, p, hop).map(|pair| match pair {
                (Value::Str(s), Value::Str(p)) => s.as_bytes().ends_with(p.as_bytes()),
                _ => false,
            })),
            Cond::Intersects(a, b) => atomic(self.pair(a, b, hop).map(|pair| match pair {
                (Value::StrSet(a), Value::StrSet(b)) => !a.is_disjoint(&b),
                _ => false,
            })),
            Cond::Truthy(e) => atomic(self.expr(e, hop).map(|v| v == Value::Bool(true))),
            Cond::Defined(e) => Truth::from_bool(self.expr(e, hop).is_ok()),
            Cond::Not(inner) => self.cond(inner, hop, depth).negate(),
            Cond::Rule(id) => self.helper(*id, depth),
            Cond::Every(body) => self.over_chain(body, depth, Truth::True, Truth::False, Ord::min),
            Cond::Some(body) => self.over_chain(body, depth, Truth::False, Truth::True, Ord::max),
            Cond::Any(branches) => self.any(branches, hop, depth),
            Cond::Regex(s, lit) => {
                atomic(self.string_test_with(s, *lit, hop, |s, p| crate::regex_dfa::whole_match(p, s)))
            }
        }
    }

    /// Alternatives: the maximum over the branches, stopping at the first true one.
    fn any(&self, branches: &[Vec<Cond>], hop: Option<&Actor>, depth: usize) -> Truth {
        let mut result = Truth::False;
        for branch in branches {
            let truth = self.body(branch, hop, depth);
            if truth == Truth::True {
                return Truth::True;
            }
            result = result.max(truth);
        }
        result
    }

    /// A quantifier: `every` starts true, stops at the first false actor and keeps the minimum;
    /// `some` starts false, stops at the first true actor and keeps the maximum.
    fn over_chain(
        &self,
        body: &[Cond],
        depth: usize,
        start: Truth,
        stop: Truth,
        keep: fn(Truth, Truth) -> Truth,
    ) -> Truth {
        let mut result = start;
        for actor in &self.request.chain {
            let truth = self.body(body, Some(actor), depth);
            if truth == stop {
                return stop;
            }
            result = keep(result, truth);
        }
        result
    }

    /// Both operands, the left one read first (its message wins when both are missing).
    fn pair(&self, left: &Expr, right: &Expr, hop: Option<&Actor>) -> Result<(Value, Value), String> {
        let left = self.expr(left, hop)?;
        Ok((left, self.expr(right, hop)?))
    }

    /// A helper rule, evaluated on its own (outside any quantifier of the caller).
    fn helper(&self, id: RuleId, depth: usize) -> Truth {
        if depth > self.program.rules.len() {
            return Truth::False;
        }
        match self.program.rules.get(id as usize) {
            Some(rule) if rule.kind == RuleKind::Helper => self.body(&rule.body, None, depth + 1),
            _ => Truth::False,
        }
    }

    /// A byte-wise test of a string against a literal.
    fn string_test(
        &self,
        subject: &Expr,
        lit: LitId,
        hop: Option<&Actor>,
        test: fn(&[u8], &[u8]) -> bool,
    ) -> Result<bool, String> {
        self.string_test_with(subject, lit, hop, |s, p| Some(test(s, p.as_bytes())))
    }

    /// A test of a string against a pattern that may not compile (`None`: a malformed program,
    /// the condition is false, failing closed).
    fn string_test_with(
        &self,
        subject: &Expr,
        lit: LitId,
        hop: Option<&Actor>,
        test: impl Fn(&[u8], &str) -> Option<bool>,
    ) -> Result<bool, String> {
        let subject = self.expr(subject, hop)?;
        Ok(match (subject, self.literal(lit)) {
            (Value::Str(s), Some(p)) => test(s.as_bytes(), p).unwrap_or(false),
            _ => false,
        })
    }

    /// `subject matches "pattern"`, undecided beyond the matching budget.
    fn glob_test(&self, subject: &Expr, lit: LitId, hop: Option<&Actor>) -> Result<bool, String> {
        let text = self.expr(subject, hop)?;
        let (Value::Str(text), Some(pattern)) = (text, self.literal(lit)) else { return Ok(false) };
        if (text.len() as u64).saturating_mul(pattern.len() as u64) > crate::limits::MAX_GLOB_WORK {
            return Err(undecided::glob_too_long(self.program, subject, lit));
        }
        Ok(glob_matches(text.as_bytes(), pattern.as_bytes()))
    }

    fn expr(&self, expr: &Expr, hop: Option<&Actor>) -> Read {
        let missing = || undecided::missing(self.program, expr);
        match expr {
            Expr::Str(id) => self.literal(*id).map(|s| Value::Str(s.to_string())).ok_or_else(missing),
            Expr::Int(i) => Ok(Value::Int(*i)),
            Expr::Bool(b) => Ok(Value::Bool(*b)),
            Expr::StrSet(ids) => {
                let items: Option<BTreeSet<String>> =
                    ids.iter().map(|id| self.literal(*id).map(str::to_string)).collect();
                items.map(Value::StrSet).ok_or_else(missing)
            }
            Expr::Slot(id) => self.read_slot(*id).ok_or_else(missing),
            Expr::Lookup { slot, key } => match self.expr(key, hop)? {
                Value::Str(key) => self.lookup(*slot, &key).ok_or_else(missing),
                _ => Err(missing()),
            },
            Expr::Actor(which, field) => {
                let value = self.actor(*which, hop).and_then(|actor| match field {
                    ActorField::Sub => actor.sub.clone(),
                    ActorField::ClientId => actor.client_id.clone(),
                    ActorField::Instance => actor.instance.clone(),
                });
                value.map(Value::Str).ok_or_else(missing)
            }
            Expr::ChainDepth => i64::try_from(self.request.chain.len()).map(Value::Int).map_err(|_| missing()),
            Expr::ActorClaim(which, slot) => {
                let actor = self.actor(*which, hop).ok_or_else(missing)?;
                self.read_actor_claim(actor, *slot).ok_or_else(missing)
            }
            Expr::HopIndex => {
                let index = hop.and_then(|hop| self.hop_index(hop)).ok_or_else(missing)?;
                i64::try_from(index).map(Value::Int).map_err(|_| missing())
            }
            Expr::Arith(op, a, b) => {
                let (a, b) = self.pair(a, b, hop)?;
                let (Value::Int(a), Value::Int(b)) = (a, b) else { return Err(missing()) };
                let result = match op {
                    ArithOp::Add => a.checked_add(b),
                    ArithOp::Sub => a.checked_sub(b),
                };
                result.map(Value::Int).ok_or_else(|| undecided::overflow(self.program, expr))
            }
            Expr::Concat(a, b) => match self.pair(a, b, hop)? {
                (Value::Str(mut a), Value::Str(b)) => {
                    a.push_str(&b);
                    Ok(Value::Str(a))
                }
                _ => Err(missing()),
            },
            Expr::Case(case, inner) => match self.expr(inner, hop)? {
                Value::Str(s) => Ok(Value::Str(case.apply(&s))),
                _ => Err(missing()),
            },
            Expr::Intersect(a, b) => match self.pair(a, b, hop)? {
                (Value::StrSet(a), Value::StrSet(b)) => Ok(Value::StrSet(a.intersection(&b).cloned().collect())),
                _ => Err(missing()),
            },
            Expr::Count(set) => match self.expr(set, hop)? {
                Value::StrSet(items) => i64::try_from(items.len()).map(Value::Int).map_err(|_| missing()),
                _ => Err(missing()),
            },
        }
    }

    /// A non-table slot, read as its declared type (anything else is missing).
    fn read_slot(&self, id: crate::ir::SlotId) -> Option<Value> {
        let slot = self.program.slots.get(id as usize)?;
        let value = match &slot.source {
            Source::Field(field) => self.field(*field),
            Source::Claim(path) => {
                let (first, rest) = path.split_first()?;
                coerce(walk(self.request.claims.get(first)?, rest)?, slot.ty, true)
            }
            Source::Context(path) => {
                let (first, rest) = path.split_first()?;
                coerce(walk(self.request.context.get(first)?, rest)?, slot.ty, false)
            }
            Source::Data(_) if slot.absent_is_empty() && walk_data(self.data, slot).is_none() => {
                Some(Value::StrSet(BTreeSet::new()))
            }
            Source::Data(path) => coerce(walk(self.data, path)?, slot.ty, false),
            Source::DataTable { .. } | Source::ActorClaim(_) => None,
        }?;
        (value.ty() == slot.ty).then_some(value)
    }

    /// The actor `which` names; `hop` is the actor of the enclosing quantifier, if any.
    fn actor<'r>(&'r self, which: ActorRef, hop: Option<&'r Actor>) -> Option<&'r Actor> {
        match which {
            ActorRef::Current => self.request.chain.last(),
            ActorRef::First => self.request.chain.first(),
            ActorRef::Hop => hop,
            ActorRef::Prev => {
                let index = self.hop_index(hop?)?;
                self.request.chain.get(index.checked_sub(1)?)
            }
        }
    }

    /// The delegation position of `hop`. A quantifier's actor is always borrowed from this
    /// request's chain, so it is found by address (the chain is at most a few actors long,
    /// and only `hop.prev` / `hop.index` ask).
    fn hop_index(&self, hop: &Actor) -> Option<usize> {
        self.request.chain.iter().position(|actor| std::ptr::eq(actor, hop))
    }

    /// A `Source::ActorClaim` slot, read from `actor`'s claims like a top-level claim.
    fn read_actor_claim(&self, actor: &Actor, id: crate::ir::SlotId) -> Option<Value> {
        let slot = self.program.slots.get(id as usize)?;
        let Source::ActorClaim(path) = &slot.source else {
            return None;
        };
        let (first, rest) = path.split_first()?;
        let value = coerce(walk(actor.claims.get(first)?, rest)?, slot.ty, true)?;
        (value.ty() == slot.ty).then_some(value)
    }

    /// `data.table[key].field`: the table must be an object; a missing key is missing.
    fn lookup(&self, id: crate::ir::SlotId, key: &str) -> Option<Value> {
        let slot = self.program.slots.get(id as usize)?;
        let Source::DataTable { table, field } = &slot.source else {
            return None;
        };
        let Json::Object(entries) = walk(self.data, table)? else {
            return None;
        };
        coerce(walk(entries.get(key)?, field)?, slot.ty, false)
    }

    /// The oracle's own reading of a vocabulary field (the list of fields is the request's).
    fn field(&self, field: Field) -> Option<Value> {
        match self.request.field(field) {
            FieldRef::Str(text) => text.clone().map(Value::Str),
            FieldRef::StrSet(items) => items.as_ref().map(|items| Value::StrSet(items.iter().cloned().collect())),
            FieldRef::Int(n) => n.map(Value::Int),
        }
    }
}

/// The value of a `Source::Data` slot, if the document has it.
fn walk_data<'v>(data: &'v Json, slot: &crate::ir::Slot) -> Option<&'v Json> {
    match &slot.source {
        Source::Data(path) => walk(data, path),
        _ => None,
    }
}

/// Follows object keys from `value`; missing if any step is not an object or lacks the key.
fn walk<'v>(value: &'v Json, path: &[String]) -> Option<&'v Json> {
    path.iter().try_fold(value, |v, key| v.as_object()?.get(key))
}

/// Strict JSON-to-type reading. `space_separated`: a claim string read as a set is a
/// space-separated list (as `scope` is).
fn coerce(value: &Json, ty: Ty, space_separated: bool) -> Option<Value> {
    match (ty, value) {
        (Ty::Str, Json::String(s)) => Some(Value::Str(s.clone())),
        (Ty::Int, Json::Number(n)) => n.as_i64().map(Value::Int),
        (Ty::Bool, Json::Bool(b)) => Some(Value::Bool(*b)),
        (Ty::StrSet, Json::Array(items)) => {
            let strings: Option<BTreeSet<String>> = items.iter().map(|i| i.as_str().map(str::to_string)).collect();
            strings.map(Value::StrSet)
        }
        (Ty::StrSet, Json::Object(map)) => Some(Value::StrSet(map.keys().cloned().collect())),
        (Ty::StrSet, Json::String(s)) if space_separated => {
            Some(Value::StrSet(s.split(' ').filter(|p| !p.is_empty()).map(str::to_string).collect()))
        }
        _ => None,
    }
}

/// Same-typed operands only: Str/Bool/StrSet take `==`/`!=` (sets as sets), Int all six.
fn compare(op: CmpOp, l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => match op {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        },
        _ if l.ty() != r.ty() => false,
        _ => match op {
            CmpOp::Eq => l == r,
            CmpOp::Ne => l != r,
            CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => false,
        },
    }
}

/// `*` matches any run of bytes (including `/` and none); every other byte matches itself.
/// Dynamic programming over prefixes: `row[j]` = "the pattern so far matches `text[..j]`".
pub fn glob_matches(text: &[u8], pattern: &[u8]) -> bool {
    // The empty pattern matches the empty prefix only: `row` is `[true, false, false, ...]`.
    let mut row: Vec<bool> = std::iter::once(true).chain(text.iter().map(|_| false)).collect();
    for &p in pattern {
        row = if p == b'*' {
            // `*` extends any match: once a prefix matches, every longer prefix does too.
            let mut reached = false;
            row.iter()
                .map(|&matched| {
                    reached |= matched;
                    reached
                })
                .collect()
        } else {
            // `next[0]` is false (a byte needs one); `next[j] = row[j - 1] && text[j - 1] == p`.
            std::iter::once(false).chain(row.iter().zip(text).map(|(&matched, &t)| matched && t == p)).collect()
        };
    }
    // `row` has `text.len() + 1` entries; the last says whether the whole text matches.
    row.last().copied().unwrap_or(false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ir::{Rule, Slot};
    use serde_json::json;

    /// A program with one allow rule `body`, the given literals and slots.
    fn program(literals: &[&str], slots: Vec<Slot>, body: Vec<Cond>) -> Program {
        Program {
            package: "t".into(),
            source_hash: String::new(),
            literals: literals.iter().map(|s| s.to_string()).collect(),
            slots,
            rules: vec![Rule {
                name: "r".into(),
                kind: RuleKind::Allow,
                body_text: vec![String::new(); body.len()],
                body,
                line: 1,
            }],
            reason_templates: Default::default(),
        }
    }

    fn holds_with(p: &Program, request: &Request, data: &Json) -> bool {
        evaluate(p, request, data).fired == [0]
    }

    fn holds(cond: Cond, literals: &[&str], slots: Vec<Slot>, request: &Request) -> bool {
        holds_with(&program(literals, slots, vec![cond]), request, &Json::Null)
    }

    fn field(f: Field) -> Slot {
        Slot { source: Source::Field(f), ty: f.ty() }
    }

    fn actor(sub: &str) -> Actor {
        Actor { sub: Some(sub.into()), ..Actor::default() }
    }

    fn request() -> Request {
        Request {
            sub: Some("alice".into()),
            resource: Some("https://billing.acme.com/v1".into()),
            scope: Some(vec!["a".into(), "b".into(), "a".into()]),
            iat: Some(100),
            exp: Some(3700),
            chain: vec![actor("first"), actor("current")],
            ..Request::default()
        }
    }

    #[test]
    fn string_comparisons_and_missing_fields() {
        let eq = Cond::Cmp(CmpOp::Eq, Expr::Slot(0), Expr::Str(0));
        assert!(holds(eq.clone(), &["alice"], vec![field(Field::Sub)], &request()));
        assert!(!holds(eq, &["bob"], vec![field(Field::Sub)], &request()));
        // `iss` is missing: ==, != and their negations are all undecided, so no allow fires...
        let ne = Cond::Cmp(CmpOp::Ne, Expr::Slot(0), Expr::Str(0));
        assert!(!holds(ne.clone(), &["x"], vec![field(Field::Iss)], &request()));
        assert!(!holds(Cond::Not(Box::new(ne.clone())), &["x"], vec![field(Field::Iss)], &request()));
        // ...and a deny rule fires, naming the value.
        let mut deny = program(&["x"], vec![field(Field::Iss)], vec![Cond::Not(Box::new(ne))]);
        deny.rules[0].kind = RuleKind::Deny { reason: "wrong issuer".into() };
        let outcome = evaluate(&deny, &request(), &Json::Null);
        assert_eq!(outcome.fired, [0]);
        assert_eq!(outcome.undecided, [(0, "iss is missing or not a string".to_string())]);
        assert_eq!(
            deny.deny_reasons(&outcome).collect::<Vec<_>>(),
            ["wrong issuer (cannot be decided: iss is missing or not a string)"]
        );
    }

    #[test]
    fn integer_comparisons_and_checked_arithmetic() {
        let slots = vec![field(Field::Exp), field(Field::Iat)];
        let age = Expr::Arith(ArithOp::Sub, Box::new(Expr::Slot(0)), Box::new(Expr::Slot(1)));
        let cases = [
            (CmpOp::Le, 3600, true),
            (CmpOp::Lt, 3600, false),
            (CmpOp::Ge, 3600, true),
            (CmpOp::Gt, 3599, true),
            (CmpOp::Eq, 3600, true),
            (CmpOp::Ne, 3600, false),
        ];
        for (op, bound, expected) in cases {
            assert_eq!(
                holds(Cond::Cmp(op, age.clone(), Expr::Int(bound)), &[], slots.clone(), &request()),
                expected,
                "{op:?} {bound}"
            );
        }
        // Overflow never wraps: the comparison is undecided, whichever way it is asked.
        let overflow = Expr::Arith(ArithOp::Add, Box::new(Expr::Int(i64::MAX)), Box::new(Expr::Int(1)));
        for op in [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Ge] {
            let cond = Cond::Cmp(op, overflow.clone(), Expr::Int(i64::MIN));
            assert!(!holds(cond.clone(), &[], vec![], &request()), "{op:?}");
            assert!(!holds(Cond::Not(Box::new(cond)), &[], vec![], &request()), "not {op:?}");
        }
        let empty = program(&[], vec![], vec![]);
        let cond = Cond::Cmp(CmpOp::Le, overflow, Expr::Int(0));
        assert_eq!(
            condition_truth(&empty, &request(), &Json::Null, &cond),
            Truth::Undecided("9223372036854775807 + 1 overflows a 64-bit integer".into())
        );
        // A missing operand makes the arithmetic missing.
        let missing = Expr::Arith(ArithOp::Sub, Box::new(Expr::Slot(0)), Box::new(Expr::Int(1)));
        assert!(!holds(Cond::Cmp(CmpOp::Ne, missing, Expr::Int(0)), &[], vec![field(Field::Nbf)], &request()));
    }

    #[test]
    fn sets_membership_subset_and_set_equality() {
        let scope = vec![field(Field::Scope)];
        assert!(holds(Cond::In(Expr::Str(0), Expr::Slot(0)), &["b"], scope.clone(), &request()));
        assert!(!holds(Cond::In(Expr::Str(0), Expr::Slot(0)), &["c"], scope.clone(), &request()));
        assert!(holds(
            Cond::Subset(Expr::Slot(0), Expr::StrSet(vec![0, 1, 2])),
            &["a", "b", "c"],
            scope.clone(),
            &request()
        ));
        assert!(!holds(Cond::Subset(Expr::Slot(0), Expr::StrSet(vec![0])), &["a"], scope.clone(), &request()));
        // Sets compare as sets: the duplicate "a" in the request does not matter.
        assert!(holds(
            Cond::Cmp(CmpOp::Eq, Expr::Slot(0), Expr::StrSet(vec![1, 0])),
            &["a", "b"],
            scope.clone(),
            &request()
        ));
        assert!(!holds(Cond::In(Expr::Str(0), Expr::Slot(0)), &["a"], vec![field(Field::Aud)], &request()));
    }

    #[test]
    fn string_tests_are_bytewise() {
        let res = vec![field(Field::Resource)];
        assert!(holds(Cond::StartsWith(Expr::Slot(0), 0), &["https://"], res.clone(), &request()));
        assert!(!holds(Cond::StartsWith(Expr::Slot(0), 0), &["http://"], res.clone(), &request()));
        assert!(holds(Cond::EndsWith(Expr::Slot(0), 0), &["/v1"], res.clone(), &request()));
        assert!(holds(Cond::Matches(Expr::Slot(0), 0), &["https://*.acme.com/*"], res.clone(), &request()));
        assert!(!holds(Cond::Matches(Expr::Slot(0), 0), &["https://*.acme.com"], res.clone(), &request()));
        assert!(!holds(Cond::Matches(Expr::Slot(0), 0), &["*"], vec![field(Field::Action)], &request()));
    }

    #[test]
    fn regex_matches_the_whole_string_and_a_missing_subject_is_undecided() {
        let res = vec![field(Field::Resource)];
        let regex = |pattern: &str, slots: Vec<Slot>| {
            condition_truth(
                &program(&[pattern], slots, vec![]),
                &request(),
                &Json::Null,
                &Cond::Regex(Expr::Slot(0), 0),
            )
        };
        assert_eq!(regex("https://[a-z]+\\.acme\\.com/v[0-9]", res.clone()), Truth::True);
        assert_eq!(regex("https://[a-z]+", res.clone()), Truth::False, "a prefix match is no match");
        assert_eq!(regex("[a-z]+\\.acme\\.com/v1", res.clone()), Truth::False, "nor a suffix match");
        assert_eq!(regex("(", res.clone()), Truth::False, "a malformed program fails closed");
        assert_eq!(regex("x.*", vec![field(Field::Iss)]), Truth::Undecided("iss is missing or not a string".into()));
    }

    #[test]
    fn glob_semantics() {
        assert!(glob_matches(b"", b""));
        assert!(glob_matches(b"", b"*"));
        assert!(glob_matches(b"a/b/c", b"a*c"));
        assert!(glob_matches(b"abc", b"a**c"));
        assert!(!glob_matches(b"abc", b"a?c"));
        assert!(glob_matches(b"a?c", b"a?c"));
        assert!(!glob_matches(b"ab", b"abc*"));
        assert!(glob_matches("é".as_bytes(), b"*\xa9"));
    }

    /// The definition, read off the pattern's first byte; exponential, fine for short inputs.
    fn glob_by_definition(text: &[u8], pattern: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) => (0..=text.len()).any(|skip| glob_by_definition(&text[skip..], rest)),
            Some((&p, rest)) => text.split_first().is_some_and(|(&t, tail)| t == p && glob_by_definition(tail, rest)),
        }
    }

    #[test]
    fn glob_matches_its_definition_on_every_short_input() {
        let texts = crate::test_words::words(b"ab*", 4);
        let patterns = crate::test_words::words(b"a*", 4);
        for text in &texts {
            for pattern in &patterns {
                assert_eq!(
                    glob_matches(text, pattern),
                    glob_by_definition(text, pattern),
                    "{:?} matches {:?}",
                    String::from_utf8_lossy(text),
                    String::from_utf8_lossy(pattern)
                );
            }
        }
    }

    #[test]
    fn actors_chain_depth_and_quantifiers() {
        let sub_is = |which, lit| Cond::Cmp(CmpOp::Eq, Expr::Actor(which, ActorField::Sub), Expr::Str(lit));
        let lits = &["current", "first", "*t"];
        assert!(holds(sub_is(ActorRef::Current, 0), lits, vec![], &request()));
        assert!(holds(sub_is(ActorRef::First, 1), lits, vec![], &request()));
        assert!(!holds(sub_is(ActorRef::Hop, 0), lits, vec![], &request()), "hop outside a quantifier is missing");
        assert!(holds(Cond::Cmp(CmpOp::Eq, Expr::ChainDepth, Expr::Int(2)), lits, vec![], &request()));
        let every = Cond::Every(vec![Cond::Matches(Expr::Actor(ActorRef::Hop, ActorField::Sub), 2)]);
        let some_current = Cond::Some(vec![sub_is(ActorRef::Hop, 0)]);
        let every_current = Cond::Every(vec![sub_is(ActorRef::Hop, 0)]);
        assert!(holds(every.clone(), lits, vec![], &request()));
        assert!(holds(some_current.clone(), lits, vec![], &request()));
        assert!(!holds(every_current.clone(), lits, vec![], &request()));
        let empty = Request::default();
        assert!(holds(every_current, lits, vec![], &empty), "every over an empty chain");
        assert!(!holds(some_current, lits, vec![], &empty), "some over an empty chain");
        assert!(!holds(sub_is(ActorRef::Current, 0), lits, vec![], &empty));
        assert!(holds(Cond::Cmp(CmpOp::Eq, Expr::ChainDepth, Expr::Int(0)), lits, vec![], &empty));
    }

    /// `hop.prev` is the actor before `hop` (missing for the first), `hop.index` its position,
    /// and actor claims read like top-level claims (a string is a space-separated set).
    #[test]
    fn per_hop_claims_previous_actor_and_index() {
        let lits = &["first", "current"];
        let slots = vec![Slot { source: Source::ActorClaim(vec!["scope".into()]), ty: Ty::StrSet }];
        let mut request = request();
        request.chain[0].claims.insert("scope".into(), serde_json::json!("a b"));
        request.chain[1].claims.insert("scope".into(), serde_json::json!(["a"]));
        let prev_is_first = Cond::Cmp(CmpOp::Eq, Expr::Actor(ActorRef::Prev, ActorField::Sub), Expr::Str(0));
        let index_is = |i| Cond::Cmp(CmpOp::Eq, Expr::HopIndex, Expr::Int(i));
        let narrows = Cond::Subset(Expr::ActorClaim(ActorRef::Hop, 0), Expr::ActorClaim(ActorRef::Prev, 0));
        let second = |cond: Cond| Cond::Some(vec![index_is(1), cond]);
        assert!(holds(second(prev_is_first.clone()), lits, slots.clone(), &request));
        assert!(holds(second(narrows.clone()), lits, slots.clone(), &request));
        assert!(!holds(Cond::Some(vec![index_is(2)]), lits, slots.clone(), &request));
        // The first actor has no predecessor: a condition on it is undecided, so a deny fires.
        let deny = |body| Program {
            rules: vec![Rule {
                name: "r".into(),
                kind: RuleKind::Deny { reason: "no".into() },
                body: vec![body],
                body_text: vec![String::new()],
                line: 1,
            }],
            ..program(lits, slots.clone(), vec![])
        };
        let outcome = evaluate(&deny(Cond::Some(vec![index_is(0), prev_is_first])), &request, &Json::Null);
        assert_eq!(outcome.undecided, vec![(0, "hop.prev.sub is missing".to_string())]);
        let widened = Cond::Some(vec![Cond::Not(Box::new(narrows))]);
        request.chain[0].claims.insert("scope".into(), serde_json::json!(["b"]));
        assert_eq!(evaluate(&deny(widened), &request, &Json::Null).fired, [0]);
        let current_claim = Cond::In(Expr::Str(0), Expr::ActorClaim(ActorRef::Current, 0));
        assert!(!holds(current_claim, lits, slots, &request));
    }

    #[test]
    fn claims_are_read_strictly_by_type() {
        let mut req = request();
        let Json::Object(claims) = json!({"tenant": "acme", "level": 3, "ratio": 1.5, "ok": true,
            "roles": ["x", "y"], "mixed": ["x", 1], "perms": "p q", "org": {"id": "o1"}})
        else {
            unreachable!()
        };
        req.claims = claims;
        let claim =
            |path: &[&str], ty| Slot { source: Source::Claim(path.iter().map(|s| s.to_string()).collect()), ty };
        let lits = &["acme", "y", "q", "o1"];
        assert!(holds(
            Cond::Cmp(CmpOp::Eq, Expr::Slot(0), Expr::Str(0)),
            lits,
            vec![claim(&["tenant"], Ty::Str)],
            &req
        ));
        assert!(holds(Cond::Cmp(CmpOp::Eq, Expr::Slot(0), Expr::Int(3)), lits, vec![claim(&["level"], Ty::Int)], &req));
        assert!(
            !holds(Cond::Cmp(CmpOp::Ne, Expr::Slot(0), Expr::Int(3)), lits, vec![claim(&["ratio"], Ty::Int)], &req),
            "float is missing"
        );
        assert!(
            !holds(Cond::Cmp(CmpOp::Ne, Expr::Slot(0), Expr::Int(3)), lits, vec![claim(&["tenant"], Ty::Int)], &req),
            "string is not an int"
        );
        assert!(holds(Cond::Truthy(Expr::Slot(0)), lits, vec![claim(&["ok"], Ty::Bool)], &req));
        assert!(!holds(Cond::Truthy(Expr::Slot(0)), lits, vec![claim(&["tenant"], Ty::Bool)], &req));
        assert!(holds(Cond::In(Expr::Str(1), Expr::Slot(0)), lits, vec![claim(&["roles"], Ty::StrSet)], &req));
        assert!(
            !holds(Cond::In(Expr::Str(1), Expr::Slot(0)), lits, vec![claim(&["mixed"], Ty::StrSet)], &req),
            "non-string element: missing"
        );
        assert!(
            holds(Cond::In(Expr::Str(2), Expr::Slot(0)), lits, vec![claim(&["perms"], Ty::StrSet)], &req),
            "space-separated claim"
        );
        assert!(holds(
            Cond::Cmp(CmpOp::Eq, Expr::Slot(0), Expr::Str(3)),
            lits,
            vec![claim(&["org", "id"], Ty::Str)],
            &req
        ));
        assert!(!holds(
            Cond::Cmp(CmpOp::Ne, Expr::Slot(0), Expr::Str(3)),
            lits,
            vec![claim(&["org", "nope"], Ty::Str)],
            &req
        ));
    }

    #[test]
    fn data_paths_and_table_lookups() {
        let data = json!({
            "revoked": {"i-1": true},
            "names": ["n1", "n2"],
            "spaced": "a b",
            "agents": {"bot": {"owner": "alice", "max_scope": ["a", "b", "c"], "limits": {"depth": 2}}},
        });
        let data_slot =
            |path: &[&str], ty| Slot { source: Source::Data(path.iter().map(|s| s.to_string()).collect()), ty };
        let table = |field: &[&str], ty| Slot {
            source: Source::DataTable {
                table: vec!["agents".into()],
                field: field.iter().map(|s| s.to_string()).collect(),
            },
            ty,
        };
        let check = |cond: Cond, lits: &[&str], slots: Vec<Slot>| {
            holds_with(&program(lits, slots, vec![cond]), &request(), &data)
        };
        assert!(
            check(Cond::In(Expr::Str(0), Expr::Slot(0)), &["i-1"], vec![data_slot(&["revoked"], Ty::StrSet)]),
            "object keys"
        );
        assert!(check(Cond::In(Expr::Str(0), Expr::Slot(0)), &["n2"], vec![data_slot(&["names"], Ty::StrSet)]));
        assert!(
            !check(Cond::In(Expr::Str(0), Expr::Slot(0)), &["a"], vec![data_slot(&["spaced"], Ty::StrSet)]),
            "data strings are not lists"
        );
        let key = |lit| Box::new(Expr::Str(lit));
        let owner = Cond::Cmp(CmpOp::Eq, Expr::Lookup { slot: 0, key: key(1) }, Expr::Slot(1));
        assert!(check(owner, &["x", "bot"], vec![table(&["owner"], Ty::Str), field(Field::Sub)]));
        let max = Cond::Subset(Expr::Slot(1), Expr::Lookup { slot: 0, key: key(0) });
        assert!(check(max, &["bot"], vec![table(&["max_scope"], Ty::StrSet), field(Field::Scope)]));
        let depth = Cond::Cmp(CmpOp::Eq, Expr::Lookup { slot: 0, key: key(0) }, Expr::Int(2));
        assert!(check(depth, &["bot"], vec![table(&["limits", "depth"], Ty::Int)]));
        let unknown = Cond::Cmp(CmpOp::Ne, Expr::Lookup { slot: 0, key: key(0) }, Expr::Str(0));
        assert!(!check(unknown, &["nobody"], vec![table(&["owner"], Ty::Str)]), "missing key is missing");
        let missing_key = Cond::Cmp(CmpOp::Ne, Expr::Lookup { slot: 0, key: Box::new(Expr::Slot(1)) }, Expr::Str(0));
        assert!(!check(missing_key, &["x"], vec![table(&["owner"], Ty::Str), field(Field::Iss)]));
        let entry = Cond::In(Expr::Str(0), Expr::Lookup { slot: 0, key: key(1) });
        assert!(check(entry, &["owner", "bot"], vec![table(&[], Ty::StrSet)]), "empty field path: the entry itself");
    }

    #[test]
    fn helpers_deny_and_outcome_order() {
        let p = Program {
            package: "t".into(),
            source_hash: String::new(),
            literals: vec!["alice".into()],
            slots: vec![field(Field::Sub)],
            rules: vec![
                Rule {
                    name: "is_alice".into(),
                    kind: RuleKind::Helper,
                    body: vec![Cond::Cmp(CmpOp::Eq, Expr::Slot(0), Expr::Str(0))],
                    body_text: vec![String::new()],
                    line: 1,
                },
                Rule {
                    name: "deny_alice".into(),
                    kind: RuleKind::Deny { reason: "no".into() },
                    body: vec![Cond::Rule(0)],
                    body_text: vec![String::new()],
                    line: 2,
                },
                Rule { name: "always".into(), kind: RuleKind::Allow, body: vec![], body_text: vec![], line: 3 },
                Rule {
                    name: "bad_ref".into(),
                    kind: RuleKind::Allow,
                    body: vec![Cond::Rule(2)],
                    body_text: vec![String::new()],
                    line: 4,
                },
                Rule {
                    name: "self_loop".into(),
                    kind: RuleKind::Helper,
                    body: vec![Cond::Not(Box::new(Cond::Rule(4)))],
                    body_text: vec![String::new()],
                    line: 5,
                },
                Rule {
                    name: "uses_loop".into(),
                    kind: RuleKind::Allow,
                    body: vec![Cond::Rule(4), Cond::Rule(99)],
                    body_text: vec![String::new(); 2],
                    line: 6,
                },
            ],
            reason_templates: Default::default(),
        };
        let outcome = evaluate(&p, &request(), &Json::Null);
        assert_eq!(outcome.fired, [1, 2], "helpers never fire; a reference to a non-helper is false");
        assert!(!p.is_allowed(&outcome));
        // Without `sub` the helper is undecided, so the deny rule using it fires.
        let outcome = evaluate(&p, &Request::default(), &Json::Null);
        assert_eq!(outcome.fired, [1, 2]);
        assert_eq!(outcome.undecided, [(1, "sub is missing or not a string".to_string())]);
        assert!(!p.is_allowed(&outcome));
        let alice_free = Request { sub: Some("bob".into()), ..Request::default() };
        let outcome = evaluate(&p, &alice_free, &Json::Null);
        assert_eq!(outcome.fired, [2]);
        assert!(p.is_allowed(&outcome));
    }

    #[test]
    fn malformed_ids_fail_closed() {
        let p = program(&[], vec![], vec![Cond::Cmp(CmpOp::Ne, Expr::Str(7), Expr::Slot(9))]);
        assert!(!holds_with(&p, &request(), &Json::Null));
        let p = program(&["x"], vec![field(Field::Sub)], vec![Cond::Cmp(CmpOp::Ne, Expr::Slot(0), Expr::Int(1))]);
        assert!(!holds_with(&p, &request(), &Json::Null), "mismatched types compare false");
    }
}
