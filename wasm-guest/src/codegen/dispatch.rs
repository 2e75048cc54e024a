//! `warrant_decide`: checks the host's images, runs the rules and records the fired bitmap and,
//! for each fired deny rule, whether it fired undecided (and why).
//! Allow/deny rules that require `action == "lit"` or `action in {lits}` are indexed by the
//! interned action id and reached through one `br_table`, so a decision only runs the rules
//! that can match its action. When the action is missing, that condition is undecided: the
//! indexed deny rules then run with their truth capped at undecided. Rule order never changes
//! the outcome.
use std::collections::BTreeMap;

use warrant_lang::ir::{CmpOp, Cond, Expr, Field, LitId, Program, Rule, RuleId, RuleKind, Source, Ty};
use wasm_encoder::{BlockType, Function, Instruction as I, ValType};

use super::code::{Code, Label};
use super::rules::{cell_offset, PARAM_DATA, PARAM_REQUEST};
use super::runtime::FN_CHECK_BOUNDS;
use super::{rule_function, CodegenError, GLOBAL_ERROR, GLOBAL_MEMORY_END};
use crate::abi::{
    actor_record_stride, CELL_STR_ID, DATA_SLOTS, DATA_STRING_COUNT, DATA_STRING_TABLE, ERR_DATA_IMAGE_OUT_OF_BOUNDS,
    ERR_OUTPUT_OUT_OF_BOUNDS, ERR_REQUEST_IMAGE_OUT_OF_BOUNDS, FIRED_DECIDED, REQ_CHAIN_LEN, REQ_CHAIN_PTR, REQ_SLOTS,
    REQ_STRING_COUNT, REQ_STRING_TABLE, STRING_ENTRY_SIZE, TRUTH_TRUE,
};

/// A rule admitting more actions than this is not indexed (it runs for every action).
const MAX_ACTIONS_PER_RULE: usize = 64;
/// Distinct actions the dispatch jumps to.
const MAX_DISPATCH_CASES: usize = 1024;
/// Entries of the dispatch `br_table` (the span of the admitted action ids).
const MAX_DISPATCH_SPAN: usize = 16_384;

/// Third parameter of `warrant_decide`: the output area.
const PARAM_OUT: u32 = 2;

/// How the allow/deny rules are reached.
#[derive(Debug, Default)]
pub(super) struct DispatchPlan {
    /// The request slot holding the action (as `Str`), when the policy reads it.
    action_slot: Option<u32>,
    /// Rule -> (index of the body condition the dispatch decides, the actions it admits).
    by_action: BTreeMap<RuleId, (usize, Vec<LitId>)>,
}

impl DispatchPlan {
    /// Indexes every allow/deny rule that has a top-level action condition on literals.
    pub(super) fn new(program: &Program) -> DispatchPlan {
        let action = Source::Field(Field::Action);
        let Some(slot) = program.slots.iter().position(|s| s.source == action && s.ty == Ty::Str) else {
            return DispatchPlan::default();
        };
        let slot = slot as u32;
        let mut by_action = BTreeMap::new();
        for (id, rule) in program.rules.iter().enumerate() {
            if rule.kind == RuleKind::Helper {
                continue;
            }
            let narrowest = rule
                .body
                .iter()
                .enumerate()
                .filter_map(|(index, cond)| {
                    admitted_actions(cond, slot, program.literals.len()).map(|lits| (index, lits))
                })
                .min_by_key(|(_, lits)| lits.len());
            if let Some(constraint) = narrowest.filter(|(_, lits)| lits.len() <= MAX_ACTIONS_PER_RULE) {
                by_action.insert(id as RuleId, constraint);
            }
        }
        // Keep the `br_table` small enough for every Wasm engine (wasmtime refuses more than
        // 65 520 targets; large ones compile slowly): rules beyond the budget simply run for
        // every action, testing it like any other condition.
        let mut cases: Vec<LitId> = Vec::new();
        by_action.retain(|_, (_, lits)| {
            let mut grown = cases.clone();
            grown.extend(lits.iter().copied());
            grown.sort_unstable();
            grown.dedup();
            let span = match (grown.first(), grown.last()) {
                (Some(min), Some(max)) => (max - min) as usize + 1,
                _ => 0,
            };
            let fits = grown.len() <= MAX_DISPATCH_CASES && span <= MAX_DISPATCH_SPAN;
            if fits {
                cases = grown;
            }
            fits
        });
        DispatchPlan { action_slot: Some(slot), by_action }
    }

    /// The action expression the dispatch reads, when it indexes any rule.
    pub(super) fn action_expr(&self) -> Option<Expr> {
        self.action_slot.filter(|_| !self.by_action.is_empty()).map(Expr::Slot)
    }

    /// The body condition of `rule` the dispatch already decides.
    pub(super) fn decided_condition(&self, rule: RuleId) -> Option<usize> {
        self.by_action.get(&rule).map(|(index, _)| *index)
    }
}

/// The actions `cond` admits, when it is `action == lit` or `action in {lits}` (valid lits).
fn admitted_actions(cond: &Cond, action_slot: u32, literal_count: usize) -> Option<Vec<LitId>> {
    let lits = match cond {
        Cond::Cmp(CmpOp::Eq, Expr::Slot(s), Expr::Str(lit)) | Cond::Cmp(CmpOp::Eq, Expr::Str(lit), Expr::Slot(s))
            if *s == action_slot =>
        {
            vec![*lit]
        }
        Cond::In(Expr::Slot(s), Expr::StrSet(lits)) if *s == action_slot => lits.clone(),
        _ => return None,
    };
    let valid = lits.iter().all(|&l| (l as usize) < literal_count) && lits.is_sorted_by(|a, b| a < b);
    valid.then_some(lits)
}

/// Builds `warrant_decide(data_ptr, req_ptr, out_ptr) -> i32`.
pub(super) fn decide_function(
    program: &Program,
    plan: &DispatchPlan,
    memo_globals: &[Option<u32>],
    action_missing: Option<i32>,
) -> Result<Function, CodegenError> {
    let mut code = Code::new(3);
    let allowed = code.local(ValType::I32);
    let denied = code.local(ValType::I32);
    let truth = code.local(ValType::I32);
    code.op(I::MemorySize(0)).op(I::I64ExtendI32U).op(I::I64Const(16)).op(I::I64Shl);
    code.op(I::GlobalSet(GLOBAL_MEMORY_END));
    code.i32(0).op(I::GlobalSet(GLOBAL_ERROR));
    for memo in memo_globals.iter().flatten() {
        code.i32(-1).op(I::GlobalSet(*memo));
    }
    let words = u32::try_from(crate::abi::output_words(program.rules.len())).map_err(|_| CodegenError::TooLarge)?;
    let output_len =
        u32::try_from(crate::abi::output_bytes(program.rules.len()) / 4).map_err(|_| CodegenError::TooLarge)?;
    check_images(&mut code, program, output_len)?;
    for word in 0..words {
        code.get(PARAM_OUT).i32(0).store32(word * 4);
    }
    let record = Recorder { program, allowed, denied, truth, entries: words * 4 };
    for (id, rule) in (0..).zip(&program.rules) {
        if rule.kind != RuleKind::Helper && !plan.by_action.contains_key(&id) {
            record.run(&mut code, id, rule, None);
        }
    }
    if let Some(action_slot) = plan.action_slot {
        if let Some(undecided) = action_missing {
            run_deny_rules_without_action(&mut code, plan, action_slot, &record, undecided)?;
        }
        dispatch_on_action(&mut code, plan, action_slot, &record)?;
    }
    code.op(I::GlobalGet(GLOBAL_ERROR)).if_(BlockType::Empty);
    code.op(I::GlobalGet(GLOBAL_ERROR)).op(I::Return).end();
    code.get(allowed).get(denied).op(I::I32Eqz).op(I::I32And);
    Ok(code.finish())
}

/// Fails fast with an error code when a fixed-size part of an image (or the `words`-word
/// output area) is outside memory; variable-size parts are checked where they are read.
fn check_images(code: &mut Code, program: &Program, words: u32) -> Result<(), CodegenError> {
    let slots = u32::try_from(program.slots.len()).map_err(|_| CodegenError::TooLarge)?;
    let data_len = cell_offset(DATA_SLOTS, slots)?;
    let request_len = cell_offset(REQ_SLOTS, slots)?;
    code.get(PARAM_OUT).u32(words);
    fail_unless_in_bounds(code, 4, ERR_OUTPUT_OUT_OF_BOUNDS);
    code.get(PARAM_DATA).u32(data_len);
    fail_unless_in_bounds(code, 1, ERR_DATA_IMAGE_OUT_OF_BOUNDS);
    code.get(PARAM_DATA).load32(DATA_STRING_TABLE).get(PARAM_DATA).load32(DATA_STRING_COUNT);
    fail_unless_in_bounds(code, STRING_ENTRY_SIZE, ERR_DATA_IMAGE_OUT_OF_BOUNDS);
    code.get(PARAM_REQUEST).u32(request_len);
    fail_unless_in_bounds(code, 1, ERR_REQUEST_IMAGE_OUT_OF_BOUNDS);
    code.get(PARAM_REQUEST).load32(REQ_STRING_TABLE).get(PARAM_REQUEST).load32(REQ_STRING_COUNT);
    fail_unless_in_bounds(code, STRING_ENTRY_SIZE, ERR_REQUEST_IMAGE_OUT_OF_BOUNDS);
    code.get(PARAM_REQUEST).load32(REQ_CHAIN_PTR).get(PARAM_REQUEST).load32(REQ_CHAIN_LEN);
    let stride = actor_record_stride(&program.slots).ok_or(CodegenError::TooLarge)?;
    fail_unless_in_bounds(code, stride, ERR_REQUEST_IMAGE_OUT_OF_BOUNDS);
    Ok(())
}

/// With `ptr, count` on the stack: returns `error` unless `count` elements of `size` bytes at
/// `ptr` lie in memory.
fn fail_unless_in_bounds(code: &mut Code, size: u32, error: i32) {
    code.u32(size).i32(error).op(I::Call(FN_CHECK_BOUNDS)).op(I::I32Eqz);
    code.if_(BlockType::Empty);
    code.i32(error).op(I::Return).end();
}

/// Emits "run a rule, set its output bit and the allowed/denied flag if it fired": an allow
/// rule fires when its body is true, a deny rule unless its body is false; a fired deny rule's
/// output entry says whether it was decided or names its undecided message.
struct Recorder<'p> {
    program: &'p Program,
    allowed: u32,
    denied: u32,
    /// Scratch local for the rule's truth.
    truth: u32,
    /// Offset of the per-rule entries in the output area.
    entries: u32,
}

impl Recorder<'_> {
    /// `rule` is rule `id`; `cap`: an undecided truth the result may not exceed (a condition
    /// the dispatch decided).
    fn run(&self, code: &mut Code, id: RuleId, rule: &Rule, cap: Option<i32>) {
        let word_offset = (id / 32) * 4;
        let is_deny = matches!(rule.kind, RuleKind::Deny { .. });
        code.get(PARAM_DATA).get(PARAM_REQUEST).op(I::Call(rule_function(id))).set(self.truth);
        if let Some(cap) = cap {
            code.get(self.truth).i32(cap).get(self.truth).i32(cap).op(I::I32LtU).op(I::Select).set(self.truth);
        }
        code.get(self.truth);
        if !is_deny {
            code.i32(TRUTH_TRUE).op(I::I32Eq);
        }
        code.if_(BlockType::Empty);
        code.get(PARAM_OUT).get(PARAM_OUT).load32(word_offset);
        code.u32(1 << (id % 32)).op(I::I32Or).store32(word_offset);
        if is_deny {
            code.get(PARAM_OUT).i32(FIRED_DECIDED).get(self.truth).i32(1).op(I::I32Sub);
            code.get(self.truth).i32(TRUTH_TRUE).op(I::I32Eq).op(I::Select).store32(self.entries + id * 4);
            code.i32(1).set(self.denied);
        } else {
            code.i32(1).set(self.allowed);
        }
        code.end();
    }
}

/// Rule `id` of `program`. The plan only holds ids of existing rules; should one be missing,
/// compilation fails rather than emit a call to a function that does not exist.
fn rule_at(program: &Program, id: RuleId) -> Result<&Rule, CodegenError> {
    program
        .rules
        .get(id as usize)
        .ok_or_else(|| CodegenError::InvalidIr { rule: format!("#{id}"), reason: "no such rule".to_string() })
}

/// With the action missing, `action == lit` is undecided: every deny rule the dispatch indexes
/// runs, its truth capped at that undecided value.
fn run_deny_rules_without_action(
    code: &mut Code,
    plan: &DispatchPlan,
    action_slot: u32,
    record: &Recorder<'_>,
    undecided: i32,
) -> Result<(), CodegenError> {
    code.get(PARAM_REQUEST).load32(cell_offset(REQ_SLOTS, action_slot)? + CELL_STR_ID);
    code.i32(0).op(I::I32LtS).if_(BlockType::Empty);
    for &id in plan.by_action.keys() {
        let rule = rule_at(record.program, id)?;
        if matches!(rule.kind, RuleKind::Deny { .. }) {
            record.run(code, id, rule, Some(undecided));
        }
    }
    code.end();
    Ok(())
}

/// One `br_table` on `action_id - min_action`: each admitted action runs its rules; any other
/// action (a non-literal, or missing) runs none of them.
fn dispatch_on_action(
    code: &mut Code,
    plan: &DispatchPlan,
    action_slot: u32,
    record: &Recorder<'_>,
) -> Result<(), CodegenError> {
    let mut rules_by_action: BTreeMap<LitId, Vec<RuleId>> = BTreeMap::new();
    for (rule, (_, lits)) in &plan.by_action {
        for lit in lits {
            rules_by_action.entry(*lit).or_default().push(*rule);
        }
    }
    let (Some(&min), Some(&max)) = (rules_by_action.keys().next(), rules_by_action.keys().last()) else {
        return Ok(());
    };
    let done = code.block(BlockType::Empty);
    // One block per case, the first action's innermost: a case's code follows its block's `end`,
    // so the innermost block's code comes first.
    let case_labels: BTreeMap<LitId, Label> =
        rules_by_action.keys().rev().map(|&action| (action, code.block(BlockType::Empty))).collect();
    let targets: Vec<Label> = (min..=max).map(|action| case_labels.get(&action).copied().unwrap_or(done)).collect();
    code.get(PARAM_REQUEST).load32(cell_offset(REQ_SLOTS, action_slot)? + CELL_STR_ID);
    code.u32(min).op(I::I32Sub).br_table(&targets, done);
    for rules in rules_by_action.values() {
        code.end();
        for &id in rules {
            record.run(code, id, rule_at(record.program, id)?, None);
        }
        code.br(done);
    }
    code.end();
    Ok(())
}
