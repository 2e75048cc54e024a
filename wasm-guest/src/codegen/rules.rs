//! One Wasm function per rule: `(data_ptr, req_ptr) -> i32`, the body's three-valued truth
//! ([`TRUTH_FALSE`], `1 + k` for undecided with message `k`, [`TRUTH_TRUE`]). Conditions compile
//! to straight-line integer code; an operand that reads as missing (or a sum that overflows)
//! records its message and branches to the exit of its atomic condition, which then yields
//! undecided (ir.rs semantics). A conjunction is the unsigned minimum, a disjunction the maximum.
use std::collections::BTreeMap;

use warrant_lang::ir::{
    actor_claim_index, ActorField, ActorRef, ArithOp, CaseMap, CmpOp, Cond, Expr, LitId, Program, Rule, RuleId,
    RuleKind, SlotId, Source, Ty,
};
use wasm_encoder::{BlockType, Function, Instruction as I, ValType};

use super::code::{Code, Label};
use super::cost::evaluation_order;
use super::layout::StaticLayout;
use super::runtime::{
    FN_BYTES_EQ, FN_BYTES_EQ_FOLD, FN_CHECK_BOUNDS, FN_COUNT_COMMON, FN_ENDS_WITH, FN_GLOB_MATCH, FN_INTERSECTS,
    FN_SET_EQ, FN_SORTED_INDEX, FN_STARTS_WITH, FN_STRING_ENTRY, FN_SUBSET, FN_TABLE_FIND, FOLD_LOWER, FOLD_NONE,
    FOLD_UPPER,
};
use super::{rule_function, CodegenError};
use crate::abi::{
    actor_record_stride, ACTOR_CLIENT_ID, ACTOR_INSTANCE, ACTOR_RECORD_SIZE, ACTOR_SUB, CELL_BOOL, CELL_INT_PRESENT,
    CELL_INT_VALUE, CELL_SET_LEN, CELL_SET_PTR, CELL_SIZE, CELL_STR_ID, DATA_SLOTS, ERR_VALUE_OUT_OF_BOUNDS, ID_SIZE,
    REQ_CHAIN_LEN, REQ_CHAIN_PTR, REQ_SLOTS, TRUTH_FALSE, TRUTH_TRUE,
};
use warrant_lang::limits::MAX_GLOB_WORK;

/// Parameter holding the data image address.
pub(super) const PARAM_DATA: u32 = 0;
/// Parameter holding the request image address.
pub(super) const PARAM_REQUEST: u32 = 1;

/// Literal sets up to this size are tested with inline compares instead of a binary search.
const INLINE_SET_MAX: usize = 8;

/// What every rule function is compiled against.
pub(super) struct RuleContext<'p> {
    pub(super) program: &'p Program,
    pub(super) layout: &'p mut StaticLayout,
    /// The memo global of each helper rule (`None` for allow/deny rules).
    pub(super) memo_globals: &'p [Option<u32>],
    /// Every undecided message, by its index in the manifest's table.
    pub(super) messages: &'p BTreeMap<String, u32>,
}

impl RuleContext<'_> {
    /// The truth value "undecided because of `message`".
    pub(super) fn undecided(&self, message: &str) -> Result<i32, CodegenError> {
        let index = self.messages.get(message).ok_or_else(|| CodegenError::InvalidIr {
            rule: String::new(),
            reason: format!("no undecided message `{message}` in the table"),
        })?;
        index
            .checked_add(1)
            .and_then(|v| i32::try_from(v).ok())
            .filter(|&v| v < TRUTH_TRUE)
            .ok_or(CodegenError::TooLarge)
    }
}

/// Compiles `rule`, rule `id`, leaving out body condition `skip` (already decided by the dispatch).
pub(super) fn compile_rule<'p>(
    ctx: &mut RuleContext<'p>,
    id: RuleId,
    rule: &'p Rule,
    skip: Option<usize>,
) -> Result<Function, CodegenError> {
    let memo = ctx.memo_globals.get(id as usize).copied().flatten();
    let mut code = Code::new(2);
    let missing = code.local(ValType::I32);
    let mut emitter = Emitter { ctx, rule, code, hop: None, hop_index: None, miss: None, missing };
    if let Some(memo) = memo {
        // Helpers may be used by many rules: evaluate each at most once per decision.
        emitter.code.op(I::GlobalGet(memo)).i32(0).op(I::I32GeS).if_(BlockType::Empty);
        emitter.code.op(I::GlobalGet(memo)).op(I::Return).end();
    }
    let body: Vec<&Cond> = evaluation_order(&rule.body)
        .into_iter()
        .filter(|(index, _)| Some(*index) != skip)
        .map(|(_, cond)| cond)
        .collect();
    let truth = emitter.code.block(BlockType::Result(ValType::I32));
    let acc = emitter.code.local(ValType::I32);
    emitter.code.i32(TRUTH_TRUE).set(acc);
    emitter.conjunction(&body, acc, |code| {
        code.i32(TRUTH_FALSE).br(truth);
    })?;
    emitter.code.get(acc).end();
    if let Some(memo) = memo {
        let result = emitter.code.local(ValType::I32);
        emitter.code.tee(result).op(I::GlobalSet(memo)).get(result);
    }
    Ok(emitter.code.finish())
}

/// One part of a string value read into locals: its bytes `(ptr, len)` and the case mapping
/// (`FOLD_*`) they are compared under. A computed string is a list of them, never built.
#[derive(Clone, Copy)]
struct Piece {
    ptr: u32,
    len: u32,
    fold: i32,
}

/// Where in the subject a list of pieces must match.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Anchor {
    /// The whole subject (`==`).
    Whole,
    /// Its first bytes (`startswith`).
    Start,
    /// Its last bytes (`endswith`).
    End,
}

/// The parts of a string expression, left to right, each with the case mapping applied to it:
/// the outermost `lower`/`upper` wins (`lower(upper(x))` is `lower(x)` for ASCII letters).
fn flatten<'e>(expr: &'e Expr, fold: Option<CaseMap>, out: &mut Vec<(&'e Expr, Option<CaseMap>)>) {
    match expr {
        Expr::Concat(left, right) => {
            flatten(left, fold, out);
            flatten(right, fold, out);
        }
        Expr::Case(case, inner) => flatten(inner, Some(fold.unwrap_or(*case)), out),
        part => out.push((part, fold)),
    }
}

fn fold_code(fold: Option<CaseMap>) -> i32 {
    match fold {
        None => FOLD_NONE,
        Some(CaseMap::Lower) => FOLD_LOWER,
        Some(CaseMap::Upper) => FOLD_UPPER,
    }
}

/// Where a value cell is: `base` local plus a static offset.
struct CellRef {
    base: u32,
    offset: u32,
}

struct Emitter<'a, 'p> {
    ctx: &'a mut RuleContext<'p>,
    rule: &'p Rule,
    code: Code,
    /// Local holding the current hop's actor record address, inside a quantifier.
    hop: Option<u32>,
    /// Local holding the current hop's delegation position, inside a quantifier.
    hop_index: Option<u32>,
    /// Exit of the atomic condition being compiled (missing operand => undecided).
    miss: Option<Label>,
    /// Local holding the undecided truth the miss exit yields.
    missing: u32,
}

impl Emitter<'_, '_> {
    fn invalid(&self, reason: &str) -> CodegenError {
        CodegenError::InvalidIr { rule: self.rule.name.clone(), reason: reason.to_string() }
    }

    /// Bytes from one actor record to the next ([`actor_record_stride`]).
    fn stride(&self) -> Result<u32, CodegenError> {
        actor_record_stride(&self.ctx.program.slots).ok_or(CodegenError::TooLarge)
    }

    /// Evaluates `conds` in order into `acc` (the minimum of their truths, so undecided
    /// unless one is false); after the first false one runs `on_false`, which must branch away.
    fn conjunction(&mut self, conds: &[&Cond], acc: u32, on_false: impl Fn(&mut Code)) -> Result<(), CodegenError> {
        let mark = self.code.mark();
        let truth = self.code.local(ValType::I32);
        for cond in conds {
            self.cond(cond)?;
            self.code.tee(truth).op(I::I32Eqz).if_(BlockType::Empty);
            on_false(&mut self.code);
            self.code.end();
            self.code.get(truth).get(acc).get(truth).get(acc).op(I::I32LtU).op(I::Select).set(acc);
        }
        self.code.release(mark);
        Ok(())
    }

    /// Pushes the condition's truth value. The locals it uses are free again afterwards.
    fn cond(&mut self, cond: &Cond) -> Result<(), CodegenError> {
        let mark = self.code.mark();
        self.cond_locals(cond)?;
        self.code.release(mark);
        Ok(())
    }

    fn cond_locals(&mut self, cond: &Cond) -> Result<(), CodegenError> {
        match cond {
            Cond::Not(inner) => {
                // false <-> true; undecided stays.
                let truth = self.code.local(ValType::I32);
                self.cond(inner)?;
                self.code.set(truth).i32(TRUTH_TRUE).i32(TRUTH_FALSE).get(truth);
                self.code.get(truth).i32(TRUTH_TRUE).op(I::I32Eq).op(I::Select);
                self.code.get(truth).op(I::I32Eqz).op(I::Select);
            }
            Cond::Rule(target) => {
                let is_helper =
                    self.ctx.program.rules.get(*target as usize).map(|r| &r.kind) == Some(&RuleKind::Helper);
                if !is_helper {
                    return Err(self.invalid("references a rule that is not a helper"));
                }
                self.code.get(PARAM_DATA).get(PARAM_REQUEST).op(I::Call(rule_function(*target)));
            }
            Cond::Every(body) => self.quantifier(body, true)?,
            Cond::Some(body) => self.quantifier(body, false)?,
            Cond::Any(branches) => self.any(branches)?,
            Cond::Defined(expr) => {
                // Read the value for its miss branches only: reaching the end means it is there.
                let done = self.code.block(BlockType::Result(ValType::I32));
                let miss = self.code.block(BlockType::Empty);
                let outer = self.miss.replace(miss);
                self.read_and_drop(expr)?;
                self.miss = outer;
                self.code.i32(TRUTH_TRUE).br(done).end();
                self.code.i32(TRUTH_FALSE).end();
            }
            atomic => {
                let done = self.code.block(BlockType::Result(ValType::I32));
                let miss = self.code.block(BlockType::Empty);
                let outer = self.miss.replace(miss);
                self.atomic(atomic)?;
                self.miss = outer;
                self.code.i32(TRUTH_TRUE).op(I::I32Mul).br(done).end();
                self.code.get(self.missing).end();
            }
        }
        Ok(())
    }

    /// `every` is the minimum over the actors (true for an empty chain), `some` the maximum
    /// (false for an empty chain); both stop early once the answer cannot change.
    fn quantifier(&mut self, body: &[Cond], every: bool) -> Result<(), CodegenError> {
        if self.hop.is_some() {
            return Err(self.invalid("nested quantifier"));
        }
        let hop = self.code.local(ValType::I32);
        let index = self.code.local(ValType::I32);
        let count = self.code.local(ValType::I32);
        let acc = self.code.local(ValType::I32);
        self.code.get(PARAM_REQUEST).load32(REQ_CHAIN_LEN).set(count).i32(0).set(index);
        self.code.i32(if every { TRUTH_TRUE } else { TRUTH_FALSE }).set(acc);
        let result = self.code.block(BlockType::Result(ValType::I32));
        let next_actor = self.code.loop_();
        self.code.get(index).get(count).op(I::I32GeU).if_(BlockType::Empty);
        self.code.get(acc).br(result).end();
        self.code.get(PARAM_REQUEST).load32(REQ_CHAIN_PTR);
        let stride = self.stride()?;
        self.code.get(index).u32(stride).op(I::I32Mul).op(I::I32Add).set(hop);
        self.hop = Some(hop);
        self.hop_index = Some(index);
        let ordered: Vec<&Cond> = evaluation_order(body).into_iter().map(|(_, c)| c).collect();
        if every {
            self.conjunction(&ordered, acc, |code| {
                code.i32(TRUTH_FALSE).br(result);
            })?;
        } else {
            let actor = self.code.local(ValType::I32);
            let skip_actor = self.code.block(BlockType::Empty);
            self.code.i32(TRUTH_TRUE).set(actor);
            self.conjunction(&ordered, actor, |code| {
                code.br(skip_actor);
            })?;
            self.code.get(actor).i32(TRUTH_TRUE).op(I::I32Eq).if_(BlockType::Empty);
            self.code.i32(TRUTH_TRUE).br(result).end();
            self.code.get(actor).get(acc).get(actor).get(acc).op(I::I32GtU).op(I::Select).set(acc);
            self.code.end();
        }
        self.hop = None;
        self.hop_index = None;
        self.code.increment(index, 1).br(next_actor).end();
        self.code.op(I::Unreachable).end();
        Ok(())
    }

    /// Alternatives: the unsigned maximum over the branches' conjunctions (false for none),
    /// leaving as soon as one branch is true.
    fn any(&mut self, branches: &[Vec<Cond>]) -> Result<(), CodegenError> {
        let acc = self.code.local(ValType::I32);
        let branch_truth = self.code.local(ValType::I32);
        self.code.i32(TRUTH_FALSE).set(acc);
        let result = self.code.block(BlockType::Result(ValType::I32));
        for branch in branches {
            let ordered: Vec<&Cond> = evaluation_order(branch).into_iter().map(|(_, c)| c).collect();
            let next_branch = self.code.block(BlockType::Empty);
            self.code.i32(TRUTH_TRUE).set(branch_truth);
            self.conjunction(&ordered, branch_truth, |code| {
                code.br(next_branch);
            })?;
            self.code.get(branch_truth).i32(TRUTH_TRUE).op(I::I32Eq).if_(BlockType::Empty);
            self.code.i32(TRUTH_TRUE).br(result).end();
            self.code.get(branch_truth).get(acc).get(branch_truth).get(acc).op(I::I32GtU).op(I::Select).set(acc);
            self.code.end();
        }
        self.code.get(acc).end();
        Ok(())
    }

    /// Reads `expr` (branching to the miss label when it is missing) and discards the value.
    fn read_and_drop(&mut self, expr: &Expr) -> Result<(), CodegenError> {
        if expr.is_computed_str() {
            self.string_pieces(expr)?;
            return Ok(());
        }
        match self.ty(expr)? {
            Ty::Str => self.str_value(expr)?,
            Ty::Int => self.int_value(expr)?,
            Ty::Bool => self.bool_value(expr)?,
            Ty::StrSet => {
                self.set_value(expr)?;
                return Ok(());
            }
        }
        self.code.op(I::Drop);
        Ok(())
    }

    /// With a condition on the stack: when it is non-zero, `expr` is missing: record its
    /// message and leave the atomic condition as undecided.
    fn miss_if(&mut self, message: &str) -> Result<(), CodegenError> {
        let miss = self.miss_label()?;
        let truth = self.ctx.undecided(message).map_err(|_| self.invalid("undecided message not in the table"))?;
        self.code.if_(BlockType::Empty);
        self.code.i32(truth).set(self.missing).br(miss).end();
        Ok(())
    }

    /// [`Emitter::miss_if`] for `expr` reading as missing.
    fn miss_if_missing(&mut self, expr: &Expr) -> Result<(), CodegenError> {
        self.miss_if(&warrant_lang::undecided::missing(self.ctx.program, expr))
    }

    fn miss_label(&self) -> Result<Label, CodegenError> {
        self.miss.ok_or_else(|| self.invalid("operand outside a condition"))
    }

    /// An atomic condition: pushes 0/1, or branches to the miss label.
    fn atomic(&mut self, cond: &Cond) -> Result<(), CodegenError> {
        match cond {
            Cond::Cmp(op, left, right) => self.compare(*op, left, right),
            Cond::In(elem, Expr::StrSet(lits)) if elem.is_computed_str() => {
                // No id to search for: compared with each literal, byte by byte.
                self.check_literal_set(lits)?;
                let pieces = self.string_pieces(elem)?;
                let (ptr, len) = (self.code.local(ValType::I32), self.code.local(ValType::I32));
                self.code.i32(0);
                for lit in lits {
                    let (lit_ptr, lit_len) =
                        self.ctx.layout.literal(*lit).ok_or_else(|| self.invalid("unknown literal"))?;
                    self.code.u32(lit_ptr).set(ptr).u32(lit_len).set(len);
                    self.match_pieces(Piece { ptr, len, fold: FOLD_NONE }, &pieces, Anchor::Whole);
                    self.code.op(I::I32Or);
                }
                Ok(())
            }
            Cond::In(elem, Expr::StrSet(lits)) if lits.len() <= INLINE_SET_MAX => {
                self.check_literal_set(lits)?;
                let id = self.code.local(ValType::I32);
                self.str_value(elem)?;
                self.code.set(id).i32(0);
                for lit in lits {
                    self.code.get(id).u32(*lit).op(I::I32Eq).op(I::I32Or);
                }
                Ok(())
            }
            Cond::In(elem, set) => {
                let id = self.code.local(ValType::I32);
                self.str_value(elem)?;
                self.code.set(id);
                let (ptr, len) = self.set_value(set)?;
                self.code.get(ptr).get(len).get(id).op(I::Call(FN_SORTED_INDEX));
                self.code.i32(0).op(I::I32GeS);
                Ok(())
            }
            Cond::Subset(left, right) => self.set_pair(FN_SUBSET, left, right),
            Cond::StartsWith(expr, lit) => self.string_test(FN_STARTS_WITH, expr, *lit),
            Cond::EndsWith(expr, lit) => self.string_test(FN_ENDS_WITH, expr, *lit),
            Cond::Matches(expr, lit) => self.string_test(FN_GLOB_MATCH, expr, *lit),
            Cond::StartsWithValue(subject, pattern) => self.affix_test(subject, pattern, Anchor::Start),
            Cond::EndsWithValue(subject, pattern) => self.affix_test(subject, pattern, Anchor::End),
            Cond::Intersects(left, right) => self.set_pair(FN_INTERSECTS, left, right),
            Cond::Truthy(expr) => self.bool_value(expr),
            Cond::Regex(expr, lit) => self.regex_test(expr, *lit),
            Cond::Not(_) | Cond::Rule(_) | Cond::Every(_) | Cond::Some(_) | Cond::Any(_) | Cond::Defined(_) => {
                Err(self.invalid("compound condition compiled as atomic"))
            }
        }
    }

    fn compare(&mut self, op: CmpOp, left: &Expr, right: &Expr) -> Result<(), CodegenError> {
        let ty = self.ty(left)?;
        if self.ty(right)? != ty {
            return Err(self.invalid("comparison of different types"));
        }
        let equality = match op {
            CmpOp::Eq => Some(true),
            CmpOp::Ne => Some(false),
            _ => None,
        };
        match (ty, equality) {
            (Ty::Int, _) => {
                self.int_value(left)?;
                self.int_value(right)?;
                self.code.op(match op {
                    CmpOp::Eq => I::I64Eq,
                    CmpOp::Ne => I::I64Ne,
                    CmpOp::Lt => I::I64LtS,
                    CmpOp::Le => I::I64LeS,
                    CmpOp::Gt => I::I64GtS,
                    CmpOp::Ge => I::I64GeS,
                });
            }
            (Ty::Str, Some(eq)) if left.is_computed_str() || right.is_computed_str() => {
                // Both read in order (the left side's message wins), then the single side is the
                // subject the other side's pieces must cover.
                let left = self.string_pieces(left)?;
                let right = self.string_pieces(right)?;
                let (subject, pieces) = match (left.as_slice(), right.as_slice()) {
                    ([one], pieces) | (pieces, [one]) => (*one, pieces),
                    _ => return Err(self.invalid("concatenations on both sides of a comparison")),
                };
                self.match_pieces(subject, pieces, Anchor::Whole);
                if !eq {
                    self.code.op(I::I32Eqz);
                }
            }
            (Ty::Str | Ty::Bool, Some(eq)) => {
                self.scalar_value(left, ty)?;
                self.scalar_value(right, ty)?;
                self.code.op(if eq { I::I32Eq } else { I::I32Ne });
            }
            (Ty::StrSet, Some(eq)) if matches!((left, right), (Expr::Intersect(..), _) | (_, Expr::Intersect(..))) => {
                // `A & B == {}` / `!= {}`: one set searched in the other, nothing built.
                let ((Expr::Intersect(a, b), Expr::StrSet(empty)) | (Expr::StrSet(empty), Expr::Intersect(a, b))) =
                    (left, right)
                else {
                    return Err(self.invalid("intersection compared with a non-literal set"));
                };
                if !empty.is_empty() {
                    return Err(self.invalid("intersection compared with a non-empty set"));
                }
                self.set_pair(FN_INTERSECTS, a, b)?;
                if eq {
                    self.code.op(I::I32Eqz);
                }
            }
            (Ty::StrSet, Some(eq)) => {
                self.set_pair(FN_SET_EQ, left, right)?;
                if !eq {
                    self.code.op(I::I32Eqz);
                }
            }
            (_, None) => return Err(self.invalid("ordering comparison of non-integers")),
        }
        Ok(())
    }

    fn scalar_value(&mut self, expr: &Expr, ty: Ty) -> Result<(), CodegenError> {
        match ty {
            Ty::Bool => self.bool_value(expr),
            _ => self.str_value(expr),
        }
    }

    /// Calls a `(a_ptr, a_len, b_ptr, b_len)` set helper.
    fn set_pair(&mut self, helper: u32, left: &Expr, right: &Expr) -> Result<(), CodegenError> {
        let (left_ptr, left_len) = self.set_value(left)?;
        let (right_ptr, right_len) = self.set_value(right)?;
        self.code.get(left_ptr).get(left_len).get(right_ptr).get(right_len).op(I::Call(helper));
        Ok(())
    }

    /// Calls a `(ptr, len, lit_ptr, lit_len)` byte helper on the string `expr`.
    fn string_test(&mut self, helper: u32, expr: &Expr, lit: LitId) -> Result<(), CodegenError> {
        let (lit_ptr, lit_len) = self.ctx.layout.literal(lit).ok_or_else(|| self.invalid("unknown literal"))?;
        let entry = self.code.local(ValType::I32);
        self.str_value(expr)?;
        self.code.get(PARAM_DATA).get(PARAM_REQUEST).op(I::Call(FN_STRING_ENTRY)).set(entry);
        if helper == FN_GLOB_MATCH {
            // Bounded work: a subject longer than the budget allows for this pattern is undecided.
            let longest = MAX_GLOB_WORK.checked_div(u64::from(lit_len)).and_then(|n| u32::try_from(n).ok());
            if let Some(longest) = longest {
                self.code.get(entry).load32(4).u32(longest).op(I::I32GtU);
                self.miss_if(&warrant_lang::undecided::glob_too_long(self.ctx.program, expr, lit))?;
            }
        }
        self.code.get(entry).load32(0).get(entry).load32(4).u32(lit_ptr).u32(lit_len).op(I::Call(helper));
        Ok(())
    }

    /// `startswith(subject, pattern)` / `endswith(...)` with a pattern read at decision time.
    fn affix_test(&mut self, subject: &Expr, pattern: &Expr, anchor: Anchor) -> Result<(), CodegenError> {
        let subject = self.string_pieces(subject)?;
        let pattern = self.string_pieces(pattern)?;
        let [subject] = subject.as_slice() else {
            return Err(self.invalid("concatenated subject of startswith/endswith"));
        };
        self.match_pieces(*subject, &pattern, anchor);
        Ok(())
    }

    /// Reads the parts of the string `expr` left to right into locals (branching to the miss
    /// label at the first missing one, as the reference evaluator reads them).
    fn string_pieces(&mut self, expr: &Expr) -> Result<Vec<Piece>, CodegenError> {
        let mut parts = Vec::new();
        flatten(expr, None, &mut parts);
        let mut pieces = Vec::with_capacity(parts.len());
        for (part, fold) in parts {
            let (ptr, len, entry) =
                (self.code.local(ValType::I32), self.code.local(ValType::I32), self.code.local(ValType::I32));
            self.str_value(part)?;
            self.code.get(PARAM_DATA).get(PARAM_REQUEST).op(I::Call(FN_STRING_ENTRY)).tee(entry);
            self.code.load32(0).set(ptr).get(entry).load32(4).set(len);
            pieces.push(Piece { ptr, len, fold: fold_code(fold) });
        }
        Ok(pieces)
    }

    /// Pushes whether the bytes of `pieces`, one after another, are the whole `subject` (or its
    /// start, or its end), comparing in place: no string is built. Lengths are summed in 64 bits
    /// (a sum of 32-bit lengths cannot wrap); the work is at most the subject's length.
    fn match_pieces(&mut self, subject: Piece, pieces: &[Piece], anchor: Anchor) {
        let mark = self.code.mark();
        let (total, offset) = (self.code.local(ValType::I64), self.code.local(ValType::I32));
        self.code.op(I::I64Const(0));
        for piece in pieces {
            self.code.get(piece.len).op(I::I64ExtendI32U).op(I::I64Add);
        }
        self.code.set(total);
        let done = self.code.block(BlockType::Result(ValType::I32));
        let fail = self.code.block(BlockType::Empty);
        self.code.get(subject.len).op(I::I64ExtendI32U).get(total);
        self.code.op(if anchor == Anchor::Whole { I::I64Ne } else { I::I64LtU }).br_if(fail);
        if anchor == Anchor::End {
            self.code.get(subject.len).get(total).op(I::I32WrapI64).op(I::I32Sub).set(offset);
        } else {
            self.code.i32(0).set(offset);
        }
        for piece in pieces {
            self.code.get(subject.ptr).get(offset).op(I::I32Add).get(piece.ptr).get(piece.len);
            if subject.fold == FOLD_NONE && piece.fold == FOLD_NONE {
                self.code.op(I::Call(FN_BYTES_EQ));
            } else {
                self.code.i32(subject.fold | (piece.fold << 2)).op(I::Call(FN_BYTES_EQ_FOLD));
            }
            self.code.op(I::I32Eqz).br_if(fail);
            self.code.get(offset).get(piece.len).op(I::I32Add).set(offset);
        }
        self.code.i32(1).br(done).end();
        self.code.i32(0).end();
        self.code.release(mark);
    }

    /// `regex(expr, "pattern")`: walks the pattern's DFA (a static table) over the subject's
    /// bytes, one class and one transition load per byte, then reads whether the final state
    /// accepts. Linear in the subject, no backtracking, no allocation.
    fn regex_test(&mut self, expr: &Expr, lit: LitId) -> Result<(), CodegenError> {
        let pattern = self.ctx.program.literals.get(lit as usize).ok_or_else(|| self.invalid("unknown literal"))?;
        let table = self.ctx.layout.regex_table(lit, pattern)?;
        let (ptr, end, row) =
            (self.code.local(ValType::I32), self.code.local(ValType::I32), self.code.local(ValType::I32));
        self.str_value(expr)?;
        self.code.get(PARAM_DATA).get(PARAM_REQUEST).op(I::Call(FN_STRING_ENTRY)).set(end);
        // The entry's bytes are bounds-checked by FN_STRING_ENTRY.
        self.code.get(end).load32(0).tee(ptr).get(end).load32(4).op(I::I32Add).set(end);
        self.code.i32(0).set(row);
        let done = self.code.block(BlockType::Empty);
        let top = self.code.loop_();
        self.code.get(ptr).get(end).op(I::I32GeU).br_if(done);
        // row = transitions[row + classes[*ptr]]
        self.code.get(row).get(ptr).load8(0).load8(table.classes).op(I::I32Add).i32(1).op(I::I32Shl);
        self.code.load16(table.transitions).set(row);
        self.code.increment(ptr, 1).br(top);
        self.code.end().end();
        self.code.get(row).u32(table.class_count).op(I::I32DivU).load8(table.accepting);
        Ok(())
    }

    fn ty(&self, expr: &Expr) -> Result<Ty, CodegenError> {
        Ok(match expr {
            Expr::Str(_) | Expr::Actor(..) | Expr::Concat(..) | Expr::Case(..) => Ty::Str,
            Expr::Int(_) | Expr::ChainDepth | Expr::HopIndex | Expr::Arith(..) | Expr::Count(_) => Ty::Int,
            Expr::Bool(_) => Ty::Bool,
            Expr::StrSet(_) | Expr::Intersect(..) => Ty::StrSet,
            Expr::Slot(slot) | Expr::Lookup { slot, .. } | Expr::ActorClaim(_, slot) => self.slot(*slot)?.ty,
        })
    }

    fn slot(&self, slot: SlotId) -> Result<&warrant_lang::ir::Slot, CodegenError> {
        self.ctx.program.slots.get(slot as usize).ok_or_else(|| self.invalid("unknown slot"))
    }

    /// Pushes a string id, or branches to the miss label.
    fn str_value(&mut self, expr: &Expr) -> Result<(), CodegenError> {
        match expr {
            Expr::Str(lit) => {
                if *lit as usize >= self.ctx.program.literals.len() {
                    return Err(self.invalid("unknown literal"));
                }
                self.code.u32(*lit);
                Ok(())
            }
            Expr::Actor(actor, field) => {
                self.actor_record(*actor, expr)?;
                let offset = match field {
                    ActorField::Sub => ACTOR_SUB,
                    ActorField::ClientId => ACTOR_CLIENT_ID,
                    ActorField::Instance => ACTOR_INSTANCE,
                };
                self.code.load32(offset);
                self.present_id(expr)
            }
            Expr::Slot(_) | Expr::Lookup { .. } | Expr::ActorClaim(..) => {
                let cell = self.cell(expr, Ty::Str)?;
                self.code.get(cell.base).load32(cell.offset + CELL_STR_ID);
                self.present_id(expr)
            }
            _ => Err(self.invalid("expected a string expression")),
        }
    }

    /// Leaves the atomic condition as undecided when the id of `expr` on the stack is
    /// negative; else keeps it.
    fn present_id(&mut self, expr: &Expr) -> Result<(), CodegenError> {
        let id = self.code.local(ValType::I32);
        self.code.tee(id).i32(0).op(I::I32LtS);
        self.miss_if_missing(expr)?;
        self.code.get(id);
        Ok(())
    }

    /// Pushes the address of the actor record, or leaves the atomic condition as undecided
    /// with the message of `expr` (empty chain).
    fn actor_record(&mut self, actor: ActorRef, expr: &Expr) -> Result<(), CodegenError> {
        match actor {
            ActorRef::Hop => {
                let hop = self.hop.ok_or_else(|| self.invalid("`hop` outside a quantifier"))?;
                self.code.get(hop);
            }
            ActorRef::First => {
                self.code.get(PARAM_REQUEST).load32(REQ_CHAIN_LEN).op(I::I32Eqz);
                self.miss_if_missing(expr)?;
                self.code.get(PARAM_REQUEST).load32(REQ_CHAIN_PTR);
            }
            ActorRef::Current => {
                let count = self.code.local(ValType::I32);
                self.code.get(PARAM_REQUEST).load32(REQ_CHAIN_LEN).tee(count);
                self.code.op(I::I32Eqz);
                self.miss_if_missing(expr)?;
                self.code.get(PARAM_REQUEST).load32(REQ_CHAIN_PTR);
                let stride = self.stride()?;
                self.code.get(count).i32(1).op(I::I32Sub).u32(stride).op(I::I32Mul);
                self.code.op(I::I32Add);
            }
            ActorRef::Prev => {
                let (Some(hop), Some(index)) = (self.hop, self.hop_index) else {
                    return Err(self.invalid("`hop.prev` outside a quantifier"));
                };
                self.code.get(index).op(I::I32Eqz);
                self.miss_if_missing(expr)?;
                let stride = self.stride()?;
                self.code.get(hop).u32(stride).op(I::I32Sub);
            }
        }
        Ok(())
    }

    /// Pushes an i64, or branches to the miss label.
    fn int_value(&mut self, expr: &Expr) -> Result<(), CodegenError> {
        match expr {
            Expr::Int(value) => {
                self.code.op(I::I64Const(*value));
            }
            Expr::ChainDepth => {
                self.code.get(PARAM_REQUEST).load32(REQ_CHAIN_LEN).op(I::I64ExtendI32U);
            }
            Expr::HopIndex => {
                let index = self.hop_index.ok_or_else(|| self.invalid("`hop.index` outside a quantifier"))?;
                self.code.get(index).op(I::I64ExtendI32U);
            }
            Expr::Count(set) if matches!(**set, Expr::Intersect(..)) => {
                let Expr::Intersect(a, b) = &**set else {
                    return Err(self.invalid("expected an intersection"));
                };
                self.set_pair(FN_COUNT_COMMON, a, b)?;
                self.code.op(I::I64ExtendI32U);
            }
            Expr::Count(set) => {
                // Bounds-checked and non-negative (a negative length reads as missing).
                let (_, len) = self.set_value(set)?;
                self.code.get(len).op(I::I64ExtendI32U);
            }
            Expr::Arith(op, left, right) => {
                // Checked: a sum whose sign contradicts its operands' overflowed.
                let (a, b, sum) =
                    (self.code.local(ValType::I64), self.code.local(ValType::I64), self.code.local(ValType::I64));
                self.int_value(left)?;
                self.code.set(a);
                self.int_value(right)?;
                self.code.set(b);
                self.code.get(a).get(b);
                match op {
                    ArithOp::Add => {
                        self.code.op(I::I64Add).set(sum);
                        self.code.get(a).get(sum).op(I::I64Xor).get(b).get(sum).op(I::I64Xor).op(I::I64And);
                    }
                    ArithOp::Sub => {
                        self.code.op(I::I64Sub).set(sum);
                        self.code.get(a).get(b).op(I::I64Xor).get(a).get(sum).op(I::I64Xor).op(I::I64And);
                    }
                }
                self.code.op(I::I64Const(0)).op(I::I64LtS);
                self.miss_if(&warrant_lang::undecided::overflow(self.ctx.program, expr))?;
                self.code.get(sum);
            }
            Expr::Slot(_) | Expr::Lookup { .. } | Expr::ActorClaim(..) => {
                let cell = self.cell(expr, Ty::Int)?;
                self.code.get(cell.base).load32(cell.offset + CELL_INT_PRESENT).op(I::I32Eqz);
                self.miss_if_missing(expr)?;
                self.code.get(cell.base).load64(cell.offset + CELL_INT_VALUE);
            }
            _ => return Err(self.invalid("expected an integer expression")),
        }
        Ok(())
    }

    /// Pushes 0/1, or branches to the miss label (any cell value other than 0/1 is missing).
    fn bool_value(&mut self, expr: &Expr) -> Result<(), CodegenError> {
        match expr {
            Expr::Bool(value) => {
                self.code.i32(i32::from(*value));
            }
            Expr::Slot(_) | Expr::Lookup { .. } | Expr::ActorClaim(..) => {
                let cell = self.cell(expr, Ty::Bool)?;
                let value = self.code.local(ValType::I32);
                self.code.get(cell.base).load32(cell.offset + CELL_BOOL).tee(value);
                self.code.i32(1).op(I::I32GtU);
                self.miss_if_missing(expr)?;
                self.code.get(value);
            }
            _ => return Err(self.invalid("expected a boolean expression")),
        }
        Ok(())
    }

    /// Fills two locals with a bounds-checked set `(ptr, len)`, or branches to the miss label.
    fn set_value(&mut self, expr: &Expr) -> Result<(u32, u32), CodegenError> {
        let ptr = self.code.local(ValType::I32);
        let len = self.code.local(ValType::I32);
        match expr {
            Expr::StrSet(lits) => {
                self.check_literal_set(lits)?;
                let address = self.ctx.layout.literal_set(lits)?;
                let count = u32::try_from(lits.len()).map_err(|_| CodegenError::TooLarge)?;
                self.code.u32(address).set(ptr).u32(count).set(len);
            }
            Expr::Slot(_) | Expr::Lookup { .. } | Expr::ActorClaim(..) => {
                let cell = self.cell(expr, Ty::StrSet)?;
                self.code.get(cell.base).load32(cell.offset + CELL_SET_PTR).set(ptr);
                self.code.get(cell.base).load32(cell.offset + CELL_SET_LEN).tee(len);
                self.code.i32(0).op(I::I32LtS);
                self.miss_if_missing(expr)?;
                self.code.get(ptr).get(len).u32(ID_SIZE).i32(ERR_VALUE_OUT_OF_BOUNDS);
                self.code.op(I::Call(FN_CHECK_BOUNDS)).op(I::I32Eqz);
                self.miss_if_missing(expr)?;
            }
            _ => return Err(self.invalid("expected a set expression")),
        }
        Ok((ptr, len))
    }

    /// Literal set invariants the binary search and set equality rely on.
    fn check_literal_set(&self, lits: &[LitId]) -> Result<(), CodegenError> {
        let known = lits.iter().all(|&l| (l as usize) < self.ctx.program.literals.len());
        let sorted = lits.is_sorted_by(|a, b| a < b);
        if known && sorted {
            Ok(())
        } else {
            Err(self.invalid("literal set not sorted, unique and known"))
        }
    }

    /// Locates the value cell of a slot or table lookup of type `ty` (branching to the miss
    /// label when a lookup finds nothing).
    fn cell(&mut self, expr: &Expr, ty: Ty) -> Result<CellRef, CodegenError> {
        match expr {
            Expr::Slot(id) => {
                let slot = self.slot(*id)?;
                if slot.ty != ty || matches!(slot.source, Source::DataTable { .. } | Source::ActorClaim(_)) {
                    return Err(self.invalid("slot read with the wrong type"));
                }
                let (base, header) =
                    if slot.source.is_data() { (PARAM_DATA, DATA_SLOTS) } else { (PARAM_REQUEST, REQ_SLOTS) };
                Ok(CellRef { base, offset: cell_offset(header, *id)? })
            }
            Expr::ActorClaim(actor, id) => {
                let slot = self.slot(*id)?;
                if slot.ty != ty {
                    return Err(self.invalid("actor claim read with the wrong type"));
                }
                let index = actor_claim_index(&self.ctx.program.slots, *id)
                    .ok_or_else(|| self.invalid("actor claim of a slot that is not an actor claim"))?;
                let offset = index
                    .checked_mul(CELL_SIZE)
                    .and_then(|o| o.checked_add(ACTOR_RECORD_SIZE))
                    .ok_or(CodegenError::TooLarge)?;
                let record = self.code.local(ValType::I32);
                self.actor_record(*actor, expr)?;
                self.code.set(record);
                Ok(CellRef { base: record, offset })
            }
            Expr::Lookup { slot: id, key } => {
                let slot = self.slot(*id)?;
                if slot.ty != ty || !matches!(slot.source, Source::DataTable { .. }) {
                    return Err(self.invalid("lookup in a slot that is not a data table"));
                }
                let table_offset = cell_offset(DATA_SLOTS, *id)?;
                let key_id = self.code.local(ValType::I32);
                let found = self.code.local(ValType::I32);
                self.str_value(key)?;
                self.code.set(key_id);
                self.code.get(PARAM_DATA).u32(table_offset).op(I::I32Add).get(key_id);
                self.code.op(I::Call(FN_TABLE_FIND)).tee(found);
                self.code.i32(0).op(I::I32LtS);
                self.miss_if_missing(expr)?;
                Ok(CellRef { base: found, offset: 0 })
            }
            _ => Err(self.invalid("expected a slot")),
        }
    }
}

/// Offset of slot `slot`'s cell in an image whose slot table starts at `header`.
pub(super) fn cell_offset(header: u32, slot: SlotId) -> Result<u32, CodegenError> {
    slot.checked_mul(CELL_SIZE)
        .and_then(|o| o.checked_add(header))
        .filter(|&o| o <= i32::MAX as u32)
        .ok_or(CodegenError::TooLarge)
}
