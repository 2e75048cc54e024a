//! Checks of the helper-rule graph the generated code relies on: `Cond::Rule` names an existing
//! helper rule, and the graph is acyclic (a cycle would recurse until the Wasm stack traps).
use warrant_lang::ir::{Cond, Program, RuleKind};

use super::CodegenError;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    InProgress,
    Done,
}

/// Fails on a reference to a missing or non-helper rule, or on a cycle.
pub(super) fn check_rule_graph(program: &Program) -> Result<(), CodegenError> {
    let mut state = vec![Visit::New; program.rules.len()];
    for start in 0..program.rules.len() {
        // Iterative DFS: hostile IR could nest deeper than the native stack.
        let mut stack = vec![(start, false)];
        while let Some((rule, leaving)) = stack.pop() {
            if leaving {
                state[rule] = Visit::Done;
                continue;
            }
            match state[rule] {
                Visit::Done => continue,
                Visit::InProgress => return Err(CodegenError::RuleCycle(program.rules[rule].name.clone())),
                Visit::New => {}
            }
            state[rule] = Visit::InProgress;
            stack.push((rule, true));
            let mut targets = Vec::new();
            collect_rule_refs(&program.rules[rule].body, &mut targets);
            for target in targets {
                let target = target as usize;
                let Some(callee) = program.rules.get(target) else {
                    return Err(invalid(program, rule, "references a rule that does not exist"));
                };
                if callee.kind != RuleKind::Helper {
                    return Err(invalid(program, rule, "references a rule that is not a helper"));
                }
                match state[target] {
                    Visit::InProgress => return Err(CodegenError::RuleCycle(program.rules[target].name.clone())),
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
            _ => {}
        }
    }
}

fn invalid(program: &Program, rule: usize, reason: &str) -> CodegenError {
    CodegenError::InvalidIr { rule: program.rules[rule].name.clone(), reason: reason.to_string() }
}
