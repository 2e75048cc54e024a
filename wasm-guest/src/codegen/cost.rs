//! Evaluation order inside a conjunction: cheapest conditions first (integer and id compares,
//! then set lookups, helper calls, byte scans, quantifiers), so most rules fail fast without
//! touching bytes. Conditions are pure, so the order never changes the outcome.
use warrant_lang::ir::{Cond, Expr};

/// The conditions of `body` (with their body indices) in evaluation order.
pub(super) fn evaluation_order(body: &[Cond]) -> Vec<(usize, &Cond)> {
    let mut ordered: Vec<(usize, &Cond)> = body.iter().enumerate().collect();
    ordered.sort_by_key(|(_, cond)| cond_cost(cond));
    ordered
}

fn cond_cost(cond: &Cond) -> u32 {
    match cond {
        Cond::Cmp(_, left, right) => 2u32.saturating_add(expr_cost(left)).saturating_add(expr_cost(right)),
        Cond::In(elem, set) => 4u32.saturating_add(expr_cost(elem)).saturating_add(expr_cost(set)),
        Cond::Subset(left, right) => 16u32.saturating_add(expr_cost(left)).saturating_add(expr_cost(right)),
        Cond::Truthy(expr) | Cond::Defined(expr) => 1u32.saturating_add(expr_cost(expr)),
        Cond::Rule(_) => 32,
        Cond::StartsWith(expr, _) | Cond::EndsWith(expr, _) => 24u32.saturating_add(expr_cost(expr)),
        Cond::Matches(expr, _) | Cond::Regex(expr, _) => 48u32.saturating_add(expr_cost(expr)),
        Cond::StartsWithValue(expr, pattern) | Cond::EndsWithValue(expr, pattern) => {
            24u32.saturating_add(expr_cost(expr)).saturating_add(expr_cost(pattern))
        }
        Cond::Intersects(left, right) => 16u32.saturating_add(expr_cost(left)).saturating_add(expr_cost(right)),
        Cond::Not(inner) => cond_cost(inner),
        Cond::Every(body) | Cond::Some(body) => body.iter().map(cond_cost).fold(64u32, u32::saturating_add),
        Cond::Any(branches) => branches.iter().flatten().map(cond_cost).fold(8u32, u32::saturating_add),
    }
}

fn expr_cost(expr: &Expr) -> u32 {
    match expr {
        Expr::Str(_) | Expr::Int(_) | Expr::Bool(_) | Expr::ChainDepth | Expr::HopIndex => 0,
        Expr::StrSet(_) | Expr::Slot(_) => 1,
        Expr::Actor(..) | Expr::ActorClaim(..) => 2,
        Expr::Lookup { key, .. } => 8u32.saturating_add(expr_cost(key)),
        Expr::Arith(_, left, right) => 1u32.saturating_add(expr_cost(left)).saturating_add(expr_cost(right)),
        // A computed string is compared byte by byte.
        Expr::Concat(left, right) => 8u32.saturating_add(expr_cost(left)).saturating_add(expr_cost(right)),
        Expr::Case(_, inner) => 8u32.saturating_add(expr_cost(inner)),
        Expr::Count(set) => expr_cost(set),
        Expr::Intersect(left, right) => 16u32.saturating_add(expr_cost(left)).saturating_add(expr_cost(right)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warrant_lang::ir::CmpOp;

    #[test]
    fn integer_compares_run_before_globs_and_quantifiers() {
        let body = vec![
            Cond::Every(vec![]),
            Cond::Matches(Expr::Slot(0), 0),
            Cond::Cmp(CmpOp::Lt, Expr::Slot(1), Expr::Int(3)),
        ];
        let order: Vec<usize> = evaluation_order(&body).into_iter().map(|(i, _)| i).collect();
        assert_eq!(order, vec![2, 1, 0]);
    }
}
