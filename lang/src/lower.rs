//! [`CheckedPolicy`] to [`Program`]: interns literals and numbers the inputs ("slots"),
//! establishing the invariants documented in `ir.rs`.
use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::check::{CheckedCond, CheckedCondKind, CheckedExpr, CheckedExprKind, CheckedPolicy, CheckedReasonPart};
use crate::ir::{Cond, Expr, LitId, Program, Rule, Slot, SlotId, Source};
use crate::reason::ReasonPart;

/// Lowers a checked policy; `source` is the text it came from (hashed as its version).
pub fn lower(policy: &CheckedPolicy, source: &str) -> Program {
    let mut lowering = Lowering {
        policy,
        literals: Vec::new(),
        literal_ids: HashMap::new(),
        slots: Vec::new(),
        slot_ids: HashMap::new(),
    };
    let rules = policy
        .rules
        .iter()
        .map(|rule| Rule {
            name: rule.name.clone(),
            kind: rule.kind.clone(),
            body: rule.body.iter().map(|c| lowering.cond(c)).collect(),
            body_text: rule.body_text.clone(),
            line: rule.line,
        })
        .collect();
    let reason_templates = policy
        .reason_templates
        .iter()
        .map(|(&id, parts)| {
            let parts = parts
                .iter()
                .map(|part| match part {
                    CheckedReasonPart::Text(text) => ReasonPart::Text(text.clone()),
                    CheckedReasonPart::Value(expr) => ReasonPart::Value(lowering.expr(expr)),
                })
                .collect();
            (id, parts)
        })
        .collect();
    Program {
        package: policy.package.clone(),
        source_hash: source_hash(source),
        literals: lowering.literals,
        slots: lowering.slots,
        rules,
        reason_templates,
    }
}

/// Lowercase hex SHA-256 of the source bytes: the policy version.
pub fn source_hash(source: &str) -> String {
    Sha256::digest(source.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

struct Lowering<'p> {
    policy: &'p CheckedPolicy,
    literals: Vec<String>,
    literal_ids: HashMap<String, LitId>,
    slots: Vec<Slot>,
    slot_ids: HashMap<Slot, SlotId>,
}

impl Lowering<'_> {
    fn literal(&mut self, text: &str) -> LitId {
        if let Some(&id) = self.literal_ids.get(text) {
            return id;
        }
        let id = self.literals.len() as LitId;
        self.literals.push(text.to_string());
        self.literal_ids.insert(text.to_string(), id);
        id
    }

    fn slot(&mut self, source: &Source, fixed: Option<crate::ir::Ty>) -> SlotId {
        let ty = fixed.unwrap_or_else(|| self.policy.type_of(source));
        let slot = Slot { source: source.clone(), ty };
        if let Some(&id) = self.slot_ids.get(&slot) {
            return id;
        }
        let id = self.slots.len() as SlotId;
        self.slots.push(slot.clone());
        self.slot_ids.insert(slot, id);
        id
    }

    fn conds(&mut self, body: &[CheckedCond]) -> Vec<Cond> {
        body.iter().map(|c| self.cond(c)).collect()
    }

    fn cond(&mut self, cond: &CheckedCond) -> Cond {
        match &cond.kind {
            CheckedCondKind::Cmp(op, l, r) => Cond::Cmp(*op, self.expr(l), self.expr(r)),
            CheckedCondKind::In(l, r) => Cond::In(self.expr(l), self.expr(r)),
            CheckedCondKind::Subset(l, r) => Cond::Subset(self.expr(l), self.expr(r)),
            CheckedCondKind::StartsWith(s, p) => Cond::StartsWith(self.expr(s), self.literal(p)),
            CheckedCondKind::EndsWith(s, p) => Cond::EndsWith(self.expr(s), self.literal(p)),
            CheckedCondKind::Matches(s, p) => Cond::Matches(self.expr(s), self.literal(p)),
            CheckedCondKind::StartsWithValue(s, p) => Cond::StartsWithValue(self.expr(s), self.expr(p)),
            CheckedCondKind::EndsWithValue(s, p) => Cond::EndsWithValue(self.expr(s), self.expr(p)),
            CheckedCondKind::Intersects(a, b) => Cond::Intersects(self.expr(a), self.expr(b)),
            CheckedCondKind::Truthy(e) => Cond::Truthy(self.expr(e)),
            CheckedCondKind::Defined(e) => Cond::Defined(self.expr(e)),
            CheckedCondKind::Not(inner) => Cond::Not(Box::new(self.cond(inner))),
            CheckedCondKind::Rule(id) => Cond::Rule(*id),
            CheckedCondKind::Every(body) => Cond::Every(self.conds(body)),
            CheckedCondKind::Some(body) => Cond::Some(self.conds(body)),
            CheckedCondKind::Any(branches) => Cond::Any(branches.iter().map(|branch| self.conds(branch)).collect()),
            CheckedCondKind::Regex(s, p) => Cond::Regex(self.expr(s), self.literal(p)),
        }
    }

    fn expr(&mut self, expr: &CheckedExpr) -> Expr {
        match &expr.kind {
            CheckedExprKind::Str(s) => Expr::Str(self.literal(s)),
            CheckedExprKind::Int(i) => Expr::Int(*i),
            CheckedExprKind::Bool(b) => Expr::Bool(*b),
            CheckedExprKind::StrSet(items) => {
                let mut ids: Vec<LitId> = items.iter().map(|s| self.literal(s)).collect();
                ids.sort_unstable();
                ids.dedup();
                Expr::StrSet(ids)
            }
            CheckedExprKind::Field(f) => Expr::Slot(self.slot(&Source::Field(*f), Some(f.ty()))),
            CheckedExprKind::Dynamic(source) => Expr::Slot(self.slot(source, None)),
            CheckedExprKind::Lookup { source, key } => {
                let key = Box::new(self.expr(key));
                Expr::Lookup { slot: self.slot(source, None), key }
            }
            CheckedExprKind::Actor(actor, field) => Expr::Actor(*actor, *field),
            CheckedExprKind::ChainDepth => Expr::ChainDepth,
            CheckedExprKind::ActorClaim { actor, source } => Expr::ActorClaim(*actor, self.slot(source, None)),
            CheckedExprKind::HopIndex => Expr::HopIndex,
            CheckedExprKind::Arith(op, a, b) => Expr::Arith(*op, Box::new(self.expr(a)), Box::new(self.expr(b))),
            CheckedExprKind::Concat(a, b) => Expr::Concat(Box::new(self.expr(a)), Box::new(self.expr(b))),
            CheckedExprKind::Case(case, inner) => Expr::Case(*case, Box::new(self.expr(inner))),
            CheckedExprKind::Count(inner) => Expr::Count(Box::new(self.expr(inner))),
            CheckedExprKind::Intersect(a, b) => Expr::Intersect(Box::new(self.expr(a)), Box::new(self.expr(b))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ir::{ActorField, ActorRef, Field, Ty};

    fn lowered(source: &str) -> Program {
        let policy = crate::parser::parse(source).unwrap_or_else(|e| panic!("{e:?}"));
        lower(&crate::check::check(&policy, source).unwrap_or_else(|e| panic!("{e:?}")), source)
    }

    #[test]
    fn slots_are_shared_per_source_and_type() {
        let program = lowered("package p\nallow a if { sub == \"x\"; sub != act.sub; claims.n > 1; claims.n < 5 }");
        assert_eq!(
            program.slots,
            [
                Slot { source: Source::Field(Field::Sub), ty: Ty::Str },
                Slot { source: Source::Claim(vec!["n".into()]), ty: Ty::Int },
            ]
        );
        assert_eq!(
            program.rules[0].body[1],
            Cond::Cmp(crate::ir::CmpOp::Ne, Expr::Slot(0), Expr::Actor(ActorRef::Current, ActorField::Sub))
        );
    }

    #[test]
    fn patterns_and_set_members_are_interned_with_other_literals() {
        let program = lowered(
            "package p\nallow a if { action in [\"b\", \"a\", \"b\"]; action matches \"a\"; startswith(sub, \"c\") }",
        );
        assert_eq!(program.literals, ["b", "a", "c"]);
        assert_eq!(program.rules[0].body[0], Cond::In(Expr::Slot(0), Expr::StrSet(vec![0, 1])));
        assert_eq!(program.rules[0].body[1], Cond::Matches(Expr::Slot(0), 1));
    }

    #[test]
    fn lookups_number_the_table_slot_and_lower_the_key() {
        let program = lowered("package p\nallow a if { data.agents[act.client_id].owner == sub }");
        let Cond::Cmp(_, Expr::Lookup { slot, key }, _) = &program.rules[0].body[0] else { panic!() };
        assert_eq!(
            program.slots[*slot as usize].source,
            Source::DataTable { table: vec!["agents".into()], field: vec!["owner".into()] }
        );
        assert_eq!(**key, Expr::Actor(ActorRef::Current, ActorField::ClientId));
    }
}
