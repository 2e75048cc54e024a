//! The engine refuses modules it cannot trust and turns every guest misbehaviour into a deny.
//! The misbehaving modules are written by hand here, so each test controls exactly one fault.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use warrant_engine::{ClaimMapping, Engine, EngineError, Policy, Request};
use warrant_lang::ir::RuleKind;
use warrant_test_support::{DecideBody, Handmade};
use warrant_wasm::abi::{self, AbiVersion, Manifest, RuleInfo};

/// A hand-made module of this host's ABI whose `warrant_decide` returns `code`, with a manifest
/// of one allow rule (the shared builder of `warrant-test-support`).
fn returning(code: i32) -> Handmade {
    let manifest = Manifest {
        abi_version: AbiVersion { major: abi::ABI_VERSION_MAJOR, minor: abi::ABI_VERSION_MINOR },
        package: "fake".into(),
        source_hash: "00".into(),
        literals: vec![],
        slots: vec![],
        rules: vec![RuleInfo { name: "always".into(), kind: RuleKind::Allow, line: 1 }],
        undecided: vec![],
        reason_templates: Default::default(),
    };
    let manifest = serde_json::from_slice(&manifest.to_json()).expect("a manifest is JSON");
    Handmade { decide: DecideBody::Returns(code), ..Handmade::new(manifest) }
}

fn load(module: &Handmade) -> Result<Policy, EngineError> {
    Engine::new()?.load_wasm(&module.encode())
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
    let mut module = returning(abi::DECIDE_DENY);
    let policy = load(&module).unwrap();
    let decision = policy.decide(&request()).unwrap();
    assert!(!decision.allowed);
    assert_eq!(decision.policy.package, "fake");
    module.decide = DecideBody::Returns(abi::DECIDE_ALLOW);
    let claims_allow_without_rule = decide_error(&load(&module).unwrap());
    assert!(matches!(claims_allow_without_rule, EngineError::InconsistentVerdict { verdict: 1 }));
}

#[test]
fn another_abi_major_in_the_manifest_is_refused() {
    let mut module = returning(abi::DECIDE_DENY);
    module.manifest["abi_version"]["major"] = (abi::ABI_VERSION_MAJOR + 1).into();
    let error = load(&module).err().unwrap();
    assert!(
        matches!(error, EngineError::AbiMismatch { found_major, supported_major }
            if found_major == abi::ABI_VERSION_MAJOR + 1 && supported_major == abi::ABI_VERSION_MAJOR),
        "{error}"
    );
    assert!(error.to_string().contains("ABI"));
}

#[test]
fn module_code_of_another_abi_major_is_refused_even_with_a_current_manifest() {
    let mut module = returning(abi::DECIDE_DENY);
    module.abi_version_word = i32::from(abi::ABI_VERSION_MAJOR + 1) << 16;
    assert!(matches!(load(&module), Err(EngineError::AbiMismatch { .. })));
}

#[test]
fn trapping_guest_fails_closed_and_keeps_failing_closed() {
    let mut module = returning(abi::DECIDE_DENY);
    module.decide = DecideBody::Traps;
    let policy = load(&module).unwrap();
    assert!(matches!(decide_error(&policy), EngineError::Trap(_)));
    let error = decide_error(&policy);
    // One readable line, no Wasm backtrace, in what becomes a deny reason.
    assert_eq!(error.to_string(), "policy module trapped: wasm trap: wasm `unreachable` instruction executed");
    assert_eq!(policy.decide_or_deny(&Request::default()).deny_reasons, [format!("engine error: {error}")]);
}

#[test]
fn guest_error_code_fails_closed() {
    let policy = load(&returning(abi::ERR_REQUEST_IMAGE_OUT_OF_BOUNDS)).unwrap();
    assert!(
        matches!(decide_error(&policy), EngineError::GuestRejected(code) if code == abi::ERR_REQUEST_IMAGE_OUT_OF_BOUNDS)
    );
}

#[test]
fn verdict_outside_the_abi_fails_closed() {
    let policy = load(&returning(7)).unwrap();
    assert!(matches!(decide_error(&policy), EngineError::InconsistentVerdict { verdict: 7 }));
}

#[test]
fn modules_with_imports_are_refused() {
    let mut module = returning(abi::DECIDE_DENY);
    module.with_import = true;
    assert!(matches!(load(&module), Err(EngineError::InvalidModule(_))));
}

#[test]
fn garbage_and_modules_without_manifest_are_refused() {
    let engine = Engine::new().unwrap();
    assert!(matches!(engine.load_wasm(b"definitely not wasm"), Err(EngineError::Manifest(_))));
    let empty_module = wasm_encoder::Module::new().finish();
    assert!(matches!(engine.load_wasm(&empty_module), Err(EngineError::Manifest(abi::AbiError::MissingManifest))));
    let mut truncated = returning(abi::DECIDE_DENY).encode();
    truncated.truncate(truncated.len() / 2);
    assert!(engine.load_wasm(&truncated).is_err());
}

#[test]
fn guest_that_never_returns_is_interrupted_and_fails_closed() {
    let mut module = returning(abi::DECIDE_DENY);
    module.decide = DecideBody::Spins;
    let policy = load(&module).unwrap();
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
