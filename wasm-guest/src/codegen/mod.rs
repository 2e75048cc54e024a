//! IR -> standalone core Wasm module (no imports): one function per rule, runtime helpers,
//! `warrant_decide`, static literal data and the manifest custom section. See `ABI.md`.
mod code;
mod cost;
mod dispatch;
mod graph;
mod layout;
mod rules;
mod runtime;

use std::collections::BTreeMap;

use warrant_lang::ir::{Program, RuleId, RuleKind};
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, DataSection, ExportKind, ExportSection, Function, FunctionSection,
    GlobalSection, GlobalType, MemorySection, MemoryType, Module, TypeSection, ValType,
};

use crate::abi::{
    Manifest, ABI_VERSION_WORD, EXPORT_ABI_VERSION, EXPORT_DECIDE, EXPORT_HEAP_BASE, EXPORT_MEMORY, MANIFEST_SECTION,
};
use dispatch::{decide_function, DispatchPlan};
use layout::StaticLayout;
use rules::{compile_rule, RuleContext};
use runtime::RUNTIME_FUNCTION_COUNT;

/// Why a program could not be compiled (the IR broke an invariant of `ir.rs`, or is too big).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodegenError {
    /// The IR breaks an invariant the generated code relies on (a bad slot, literal or rule id,
    /// a type mismatch, an unsorted literal set): a bug in the producer of the IR, refused rather
    /// than compiled into a module that would misbehave.
    #[error("invalid IR in rule `{rule}`: {reason}")]
    InvalidIr {
        /// Name of the rule being compiled; `#id` when rule id `id` does not exist, empty when
        /// the invariant belongs to no single rule (the undecided-message table).
        rule: String,
        /// Which invariant is broken.
        reason: String,
    },
    /// A helper rule reaches itself through `Cond::Rule` references; holds a rule on the cycle.
    /// Compiled, it would recurse until the Wasm stack traps.
    #[error("helper rules form a cycle through `{0}`")]
    RuleCycle(String),
    /// A count, index or address of the policy (rules, slots, literals, static data, undecided
    /// messages) does not fit the 32-bit module or the ABI's i32 fields.
    #[error("policy too large for a 32-bit Wasm module")]
    TooLarge,
}

/// Global 0: `warrant_heap_base` (immutable, exported).
const GLOBAL_HEAP_BASE: u32 = 0;
/// Global 1: error code of the current decision (0 = none).
pub(crate) const GLOBAL_ERROR: u32 = 1;
/// Global 2: memory size in bytes (i64), captured at the start of each decision.
pub(crate) const GLOBAL_MEMORY_END: u32 = 2;
/// Globals from here: one memo per helper rule (-1 = not evaluated in this decision).
const FIRST_MEMO_GLOBAL: u32 = 3;

const WASM_PAGE: u32 = 65536;

/// Function index of rule `id`.
fn rule_function(id: RuleId) -> u32 {
    RUNTIME_FUNCTION_COUNT + id
}

/// Compiles `program` to a standalone Wasm module implementing the Warrant ABI.
pub fn compile(program: &Program) -> Result<Vec<u8>, CodegenError> {
    graph::check_rule_graph(program)?;
    let rule_count = u32::try_from(program.rules.len()).map_err(|_| CodegenError::TooLarge)?;
    let mut layout = StaticLayout::new(&program.literals)?;
    let mut memo_globals = Vec::with_capacity(program.rules.len());
    let mut next_memo = FIRST_MEMO_GLOBAL;
    for rule in &program.rules {
        memo_globals.push((rule.kind == RuleKind::Helper).then(|| {
            next_memo += 1;
            next_memo - 1
        }));
    }
    let plan = DispatchPlan::new(program);
    let manifest = Manifest::from_program(program);
    let messages: BTreeMap<String, u32> = manifest
        .undecided
        .iter()
        .enumerate()
        .map(|(index, message)| Ok((message.clone(), u32::try_from(index).map_err(|_| CodegenError::TooLarge)?)))
        .collect::<Result<_, CodegenError>>()?;
    let mut rule_functions = Vec::with_capacity(program.rules.len());
    let mut context = RuleContext { program, layout: &mut layout, memo_globals: &memo_globals, messages: &messages };
    for (id, rule) in (0..rule_count).zip(&program.rules) {
        rule_functions.push(compile_rule(&mut context, id, rule, plan.decided_condition(id))?);
    }
    let action_missing = match plan.action_expr() {
        Some(action) => Some(context.undecided(&warrant_lang::undecided::missing(program, &action))?),
        None => None,
    };
    let decide = decide_function(program, &plan, &memo_globals, action_missing)?;

    // Every function takes only i32 parameters and returns one i32: type `n` has `n` params.
    let mut types = TypeSection::new();
    for params in 0..=4 {
        types.ty().function(vec![ValType::I32; params], [ValType::I32]);
    }
    let mut functions = FunctionSection::new();
    let mut bodies = CodeSection::new();
    let mut add = |params: u32, body: &Function| {
        functions.function(params);
        bodies.function(body);
    };
    for (params, body) in runtime::functions(&layout.strings()) {
        add(params, &body);
    }
    for body in &rule_functions {
        add(2, body);
    }
    let mut version = code::Code::new(0);
    version.i32(ABI_VERSION_WORD);
    add(0, &version.finish());
    add(3, &decide);

    let heap_base = layout.heap_base()?;
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: u64::from(heap_base.div_ceil(WASM_PAGE).max(1)),
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut globals = GlobalSection::new();
    let immutable = GlobalType { val_type: ValType::I32, mutable: false, shared: false };
    let mutable_i32 = GlobalType { val_type: ValType::I32, mutable: true, shared: false };
    let mutable_i64 = GlobalType { val_type: ValType::I64, mutable: true, shared: false };
    globals.global(immutable, &ConstExpr::i32_const(heap_base as i32));
    globals.global(mutable_i32, &ConstExpr::i32_const(0));
    globals.global(mutable_i64, &ConstExpr::i64_const(0));
    for _ in memo_globals.iter().flatten() {
        globals.global(mutable_i32, &ConstExpr::i32_const(-1));
    }
    let mut exports = ExportSection::new();
    exports.export(EXPORT_MEMORY, ExportKind::Memory, 0);
    exports.export(EXPORT_HEAP_BASE, ExportKind::Global, GLOBAL_HEAP_BASE);
    exports.export(EXPORT_ABI_VERSION, ExportKind::Func, RUNTIME_FUNCTION_COUNT + rule_count);
    exports.export(EXPORT_DECIDE, ExportKind::Func, RUNTIME_FUNCTION_COUNT + rule_count + 1);
    let mut data = DataSection::new();
    let (segment_at, segment) = layout.segment();
    data.active(0, &ConstExpr::i32_const(segment_at as i32), segment.iter().copied());
    let manifest = manifest.to_json();

    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&globals)
        .section(&exports)
        .section(&bodies)
        .section(&data)
        .section(&CustomSection { name: MANIFEST_SECTION.into(), data: manifest.into() });
    Ok(module.finish())
}
