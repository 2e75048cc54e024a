//! Conditions and expressions rebuilt from the IR in the language's syntax: what explanations
//! show and what an undecided deny reason names (`claims.tenant is missing or not a string`).
use crate::fmt::string_literal as quoted;
use crate::ir::{ActorField, ActorRef, ArithOp, CmpOp, Cond, Expr, LitId, Program, RuleId, Source};

/// A condition rebuilt from the IR in the language's syntax.
pub fn cond_text(program: &Program, cond: &Cond) -> String {
    match cond {
        Cond::Cmp(op, a, b) => format!("{} {} {}", expr_text(program, a), cmp_text(*op), expr_text(program, b)),
        Cond::In(a, b) => format!("{} in {}", expr_text(program, a), expr_text(program, b)),
        Cond::Subset(a, b) => format!("{} subset {}", expr_text(program, a), expr_text(program, b)),
        Cond::StartsWith(e, lit) => {
            format!("startswith({}, {})", expr_text(program, e), lit_text(program, *lit))
        }
        Cond::EndsWith(e, lit) => {
            format!("endswith({}, {})", expr_text(program, e), lit_text(program, *lit))
        }
        Cond::Matches(e, lit) => {
            format!("{} matches {}", expr_text(program, e), lit_text(program, *lit))
        }
        Cond::StartsWithValue(e, p) => format!("startswith({}, {})", expr_text(program, e), expr_text(program, p)),
        Cond::EndsWithValue(e, p) => format!("endswith({}, {})", expr_text(program, e), expr_text(program, p)),
        Cond::Intersects(a, b) => format!("intersects({}, {})", expr_text(program, a), expr_text(program, b)),
        Cond::Truthy(e) => expr_text(program, e),
        Cond::Defined(e) => format!("defined({})", expr_text(program, e)),
        Cond::Not(inner) => format!("not {}", cond_text(program, inner)),
        Cond::Rule(id) => rule_name(program, *id),
        Cond::Every(body) => format!("every hop in chain {{ {} }}", body_text(program, body)),
        Cond::Some(body) => format!("some hop in chain {{ {} }}", body_text(program, body)),
        Cond::Regex(e, lit) => format!("regex({}, {})", expr_text(program, e), lit_text(program, *lit)),
        Cond::Any(branches) => {
            let branches: Vec<String> = branches.iter().map(|branch| branch_text(program, branch)).collect();
            branches.join(" or ")
        }
    }
}

/// One branch of [`Cond::Any`]: a single condition as is, several braced so that `or` reads
/// unambiguously.
fn branch_text(program: &Program, branch: &[Cond]) -> String {
    match branch {
        [single] => cond_text(program, single),
        _ => format!("{{ {} }}", body_text(program, branch)),
    }
}

fn body_text(program: &Program, body: &[Cond]) -> String {
    let conds: Vec<String> = body.iter().map(|c| cond_text(program, c)).collect();
    conds.join("; ")
}

fn rule_name(program: &Program, id: RuleId) -> String {
    program.rules.get(id as usize).map_or_else(|| format!("<rule {id}>"), |rule| rule.name.clone())
}

/// An expression in the language's syntax; malformed ids are shown, never a panic.
pub fn expr_text(program: &Program, expr: &Expr) -> String {
    match expr {
        Expr::Str(id) => lit_text(program, *id),
        Expr::Int(i) => i.to_string(),
        Expr::Bool(b) => b.to_string(),
        Expr::StrSet(ids) => {
            let items: Vec<String> = ids.iter().map(|id| lit_text(program, *id)).collect();
            format!("{{{}}}", items.join(", "))
        }
        Expr::Slot(id) => match program.slots.get(*id as usize).map(|s| &s.source) {
            Some(Source::Field(field)) => field.name().to_string(),
            Some(Source::Claim(path)) => format!("claims.{}", path.join(".")),
            Some(Source::Context(path)) => format!("context.{}", path.join(".")),
            Some(Source::ActorClaim(path)) => format!("<actor>.claims.{}", path.join(".")),
            Some(Source::Data(path)) => format!("data.{}", path.join(".")),
            Some(Source::DataTable { table, .. }) => format!("data.{}", table.join(".")),
            None => format!("<slot {id}>"),
        },
        Expr::Lookup { slot, key } => match program.slots.get(*slot as usize).map(|s| &s.source) {
            Some(Source::DataTable { table, field }) => {
                let mut text = format!("data.{}[{}]", table.join("."), expr_text(program, key));
                for part in field {
                    text.push('.');
                    text.push_str(part);
                }
                text
            }
            _ => format!("<slot {slot}>[{}]", expr_text(program, key)),
        },
        Expr::Actor(which, field) => {
            let actor = actor_text(*which);
            let field = match field {
                ActorField::Sub => "sub",
                ActorField::ClientId => "client_id",
                ActorField::Instance => "instance",
            };
            format!("{actor}.{field}")
        }
        Expr::ChainDepth => "chain.depth".to_string(),
        Expr::ActorClaim(which, slot) => match program.slots.get(*slot as usize).map(|s| &s.source) {
            Some(Source::ActorClaim(path)) => format!("{}.claims.{}", actor_text(*which), path.join(".")),
            _ => format!("{}.<slot {slot}>", actor_text(*which)),
        },
        Expr::HopIndex => "hop.index".to_string(),
        Expr::Arith(op, a, b) => {
            let op = match op {
                ArithOp::Add => "+",
                ArithOp::Sub => "-",
            };
            let right = expr_text(program, b);
            let right = if matches!(**b, Expr::Arith(..)) { format!("({right})") } else { right };
            format!("{} {op} {right}", expr_text(program, a))
        }
        Expr::Concat(a, b) => {
            let right = expr_text(program, b);
            let right = if matches!(**b, Expr::Concat(..)) { format!("({right})") } else { right };
            format!("{} + {right}", expr_text(program, a))
        }
        Expr::Case(case, inner) => format!("{}({})", case.name(), expr_text(program, inner)),
        Expr::Count(set) => format!("count({})", expr_text(program, set)),
        Expr::Intersect(a, b) => {
            let right = expr_text(program, b);
            let right = if matches!(**b, Expr::Intersect(..)) { format!("({right})") } else { right };
            format!("{} & {right}", expr_text(program, a))
        }
    }
}

/// How the policy names an actor.
fn actor_text(actor: ActorRef) -> &'static str {
    match actor {
        ActorRef::Current => "act",
        ActorRef::First => "chain.first",
        ActorRef::Hop => "hop",
        ActorRef::Prev => "hop.prev",
    }
}

fn lit_text(program: &Program, id: LitId) -> String {
    program.literals.get(id as usize).map_or_else(|| format!("<literal {id}>"), |s| quoted(s))
}

fn cmp_text(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}
