//! Checks of the helper-rule graph the generated code relies on: `Cond::Rule` names an existing
//! helper rule, and the graph is acyclic (a cycle would recurse until the Wasm stack traps).
use warrant_lang::ir::{Cond, Program, Rule, RuleKind};

use super::CodegenError;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    InProgress,
    Done,
}

/// Fails on a reference to a missing or non-helper rule, or on a cycle.
pub(super) fn check_rule_graph(program: &Program) -> Result<(), CodegenError> {
    let mut nodes: Vec<(&Rule, Visit)> = program.rules.iter().map(|rule| (rule, Visit::New)).collect();
    for start in 0..nodes.len() {
        // Iterative DFS: hostile IR could nest deeper than the native stack.
        let mut stack = vec![(start, false)];
        while let Some((index, leaving)) = stack.pop() {
            // Only `start` and targets found in `nodes` below are pushed: no index is skipped.
            let Some((rule, visit)) = nodes.get_mut(index) else { continue };
            let rule: &Rule = rule;
            if leaving {
                *visit = Visit::Done;
                continue;
            }
            match *visit {
                Visit::Done => continue,
                Visit::InProgress => return Err(CodegenError::RuleCycle(rule.name.clone())),
                Visit::New => {}
            }
            *visit = Visit::InProgress;
            stack.push((index, true));
            let mut targets = Vec::new();
            collect_rule_refs(&rule.body, &mut targets);
            for target in targets {
                let target = target as usize;
                let Some(&(callee, callee_visit)) = nodes.get(target) else {
                    return Err(invalid(rule, "references a rule that does not exist"));
                };
                if callee.kind != RuleKind::Helper {
                    return Err(invalid(rule, "references a rule that is not a helper"));
                }
                match callee_visit {
                    Visit::InProgress => return Err(CodegenError::RuleCycle(callee.name.clone())),
                    Visit::New => stack.push((target, false)),
                    Visit::Done => {}
                }
            }
        }
    }
    Ok(())
}

fn collect_rule_refs(body: &[Cond], out: &mut Vec<u32>) {
    for cond in body {
        match cond {
            Cond::Rule(target) => out.push(*target),
            Cond::Not(inner) => collect_rule_refs(std::slice::from_ref(inner), out),
            Cond::Every(inner) | Cond::Some(inner) => collect_rule_refs(inner, out),
            Cond::Any(branches) => branches.iter().for_each(|branch| collect_rule_refs(branch, out)),
            _ => {}
        }
    }
}

fn invalid(rule: &Rule, reason: &str) -> CodegenError {
    CodegenError::InvalidIr { rule: rule.name.clone(), reason: reason.to_string() }
}
