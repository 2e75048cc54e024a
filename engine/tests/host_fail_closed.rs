//! The engine refuses modules it cannot trust and turns every guest misbehaviour into a deny.
//! The misbehaving modules are written by hand here, so each test controls exactly one fault.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::borrow::Cow;

use warrant_engine::{ClaimMapping, Engine, EngineError, Policy, Request};
use warrant_lang::ir::RuleKind;
use warrant_wasm::abi::{self, AbiVersion, Manifest, RuleInfo};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, CustomSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    GlobalSection, GlobalType, ImportSection, MemorySection, MemoryType, Module, TypeSection, ValType,
};

/// What the hand-written `warrant_decide` does.
enum DecideBody {
    /// Returns this constant without writing the fired bitmap.
    Return(i32),
    /// Executes `unreachable`.
    Trap,
    /// Loops forever.
    Spin,
}

struct FakeModule {
    manifest_major: u16,
    exported_abi_word: i32,
    decide: DecideBody,
    with_import: bool,
}

impl FakeModule {
    fn returning(code: i32) -> FakeModule {
        FakeModule {
            manifest_major: abi::ABI_VERSION_MAJOR,
            exported_abi_word: abi::ABI_VERSION_WORD,
            decide: DecideBody::Return(code),
            with_import: false,
        }
    }

    fn manifest(&self) -> Manifest {
        Manifest {
            abi_version: AbiVersion { major: self.manifest_major, minor: abi::ABI_VERSION_MINOR },
            package: "fake".into(),
            source_hash: "00".into(),
            literals: vec![],
            slots: vec![],
            rules: vec![RuleInfo { name: "always".into(), kind: RuleKind::Allow, line: 1 }],
            undecided: vec![],
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut module = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], [ValType::I32]);
        types.ty().function([ValType::I32, ValType::I32, ValType::I32], [ValType::I32]);
        module.section(&types);
        let imported_functions = if self.with_import {
            let mut imports = ImportSection::new();
            imports.import("env", "clock", EntityType::Function(0));
            module.section(&imports);
            1
        } else {
            0
        };
        let mut functions = FunctionSection::new();
        functions.function(0).function(1);
        module.section(&functions);
        let mut memories = MemorySection::new();
        memories.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
        module.section(&memories);
        let mut globals = GlobalSection::new();
        globals
            .global(GlobalType { val_type: ValType::I32, mutable: false, shared: false }, &ConstExpr::i32_const(1024));
        module.section(&globals);
        let mut exports = ExportSection::new();
        exports
            .export(abi::EXPORT_MEMORY, ExportKind::Memory, 0)
            .export(abi::EXPORT_HEAP_BASE, ExportKind::Global, 0)
            .export(abi::EXPORT_ABI_VERSION, ExportKind::Func, imported_functions)
            .export(abi::EXPORT_DECIDE, ExportKind::Func, imported_functions + 1);
        module.section(&exports);
        let mut code = CodeSection::new();
        let mut version = Function::new([]);
        version.instructions().i32_const(self.exported_abi_word).end();
        code.function(&version);
        let mut decide = Function::new([]);
        match self.decide {
            DecideBody::Return(value) => decide.instructions().i32_const(value).end(),
            DecideBody::Trap => decide.instructions().unreachable().end(),
            DecideBody::Spin => decide.instructions().loop_(BlockType::Empty).br(0).end().unreachable().end(),
        };
        code.function(&decide);
        module.section(&code);
        let manifest = self.manifest().to_json();
        module.section(&CustomSection { name: Cow::Borrowed(abi::MANIFEST_SECTION), data: Cow::Borrowed(&manifest) });
        module.finish()
    }

    fn load(&self) -> Result<Policy, EngineError> {
        Engine::new()?.load_wasm(&self.encode())
    }
}

fn request() -> Request {
    Request::from_json_str(r#"{"claims": {"sub": "u"}, "action": "read"}"#, &ClaimMapping::default()).unwrap()
}

/// The error from `decide`, and proof that `decide_or_deny` denies with it as the reason.
fn decide_error(policy: &Policy) -> EngineError {
    let denied = policy.decide_or_deny(&request());
    assert!(!denied.allowed);
    assert!(denied.fired.is_empty());
    assert_eq!(denied.deny_reasons.len(), 1);
    assert!(denied.deny_reasons[0].starts_with("engine error: "), "{:?}", denied.deny_reasons);
    policy.decide(&request()).unwrap_err()
}

#[test]
fn hand_written_module_that_follows_the_abi_is_accepted() {
    // Control for the tests below: only the one fault each injects makes them fail.
    let mut module = FakeModule::returning(abi::DECIDE_DENY);
    let policy = module.load().unwrap();
    let decision = policy.decide(&request()).unwrap();
    assert!(!decision.allowed);
    assert_eq!(decision.policy.package, "fake");
    module.decide = DecideBody::Return(abi::DECIDE_ALLOW);
    let claims_allow_without_rule = decide_error(&module.load().unwrap());
    assert!(matches!(claims_allow_without_rule, EngineError::InconsistentVerdict { verdict: 1 }));
}

#[test]
fn another_abi_major_in_the_manifest_is_refused() {
    let mut module = FakeModule::returning(abi::DECIDE_DENY);
    module.manifest_major = abi::ABI_VERSION_MAJOR + 1;
    let error = module.load().err().unwrap();
    assert!(
        matches!(error, EngineError::AbiMismatch { found_major, supported_major }
            if found_major == abi::ABI_VERSION_MAJOR + 1 && supported_major == abi::ABI_VERSION_MAJOR),
        "{error}"
    );
    assert!(error.to_string().contains("ABI"));
}

#[test]
fn module_code_of_another_abi_major_is_refused_even_with_a_current_manifest() {
    let mut module = FakeModule::returning(abi::DECIDE_DENY);
    module.exported_abi_word = i32::from(abi::ABI_VERSION_MAJOR + 1) << 16;
    assert!(matches!(module.load(), Err(EngineError::AbiMismatch { .. })));
}

#[test]
fn trapping_guest_fails_closed_and_keeps_failing_closed() {
    let mut module = FakeModule::returning(abi::DECIDE_DENY);
    module.decide = DecideBody::Trap;
    let policy = module.load().unwrap();
    assert!(matches!(decide_error(&policy), EngineError::Trap(_)));
    let error = decide_error(&policy);
    // One readable line, no Wasm backtrace, in what becomes a deny reason.
    assert_eq!(error.to_string(), "policy module trapped: wasm trap: wasm `unreachable` instruction executed");
    assert_eq!(policy.decide_or_deny(&Request::default()).deny_reasons, [format!("engine error: {error}")]);
}

#[test]
fn guest_error_code_fails_closed() {
    let policy = FakeModule::returning(abi::ERR_REQUEST_IMAGE_OUT_OF_BOUNDS).load().unwrap();
    assert!(
        matches!(decide_error(&policy), EngineError::GuestRejected(code) if code == abi::ERR_REQUEST_IMAGE_OUT_OF_BOUNDS)
    );
}

#[test]
fn verdict_outside_the_abi_fails_closed() {
    let policy = FakeModule::returning(7).load().unwrap();
    assert!(matches!(decide_error(&policy), EngineError::InconsistentVerdict { verdict: 7 }));
}

#[test]
fn modules_with_imports_are_refused() {
    let mut module = FakeModule::returning(abi::DECIDE_DENY);
    module.with_import = true;
    assert!(matches!(module.load(), Err(EngineError::InvalidModule(_))));
}

#[test]
fn garbage_and_modules_without_manifest_are_refused() {
    let engine = Engine::new().unwrap();
    assert!(matches!(engine.load_wasm(b"definitely not wasm"), Err(EngineError::Manifest(_))));
    let empty_module = Module::new().finish();
    assert!(matches!(engine.load_wasm(&empty_module), Err(EngineError::Manifest(abi::AbiError::MissingManifest))));
    let mut truncated = FakeModule::returning(abi::DECIDE_DENY).encode();
    truncated.truncate(truncated.len() / 2);
    assert!(engine.load_wasm(&truncated).is_err());
}

#[test]
fn guest_that_never_returns_is_interrupted_and_fails_closed() {
    let mut module = FakeModule::returning(abi::DECIDE_DENY);
    module.decide = DecideBody::Spin;
    let policy = module.load().unwrap();
    // Run on another thread so that a missing interruption fails this test instead of hanging
    // the suite; the bound is a safety net, not a speed claim (the deadline is ~100 ms).
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(decide_error(&policy));
    });
    let error =
        finished.recv_timeout(std::time::Duration::from_secs(60)).expect("an endless guest loop must be interrupted");
    assert!(matches!(error, EngineError::Trap(_)), "{error}");
    assert_eq!(error.to_string(), "policy module trapped: the decision ran past its time limit");
}
