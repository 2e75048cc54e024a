//! Differential test: the compiled Wasm (run in wasmtime through the Rust ABI encoders) must
//! fire exactly the rules `warrant_lang::eval::evaluate` fires, with the same undecided
//! messages, on random well-typed programs, requests and data documents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
mod common;

use common::gen::{self, Rng};
use common::{validate, WasmPolicy};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use warrant_lang::data_shape::check_data_shape;
use warrant_lang::diagnostics::ErrorKind;
use warrant_lang::eval::evaluate;
use warrant_lang::ir::{Outcome, Program};
use wasmtime::Engine;

const REQUESTS_PER_PROGRAM: usize = 20;
const DATA_DOCUMENTS_PER_PROGRAM: usize = 3;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn wasm_fires_what_the_reference_evaluator_fires(seed in any::<u64>()) {
        let engine = Engine::default();
        let mut rng = Rng::new(seed);
        let program = gen::program(&mut rng);
        agree(&engine, &program, &mut rng)?;
    }

}

proptest! {
    // Fewer cases: each compiles a policy from source (check, inline, lower, codegen).
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    #[test]
    fn inlined_helpers_and_alternatives_agree_from_source(seed in any::<u64>()) {
        let engine = Engine::default();
        let mut rng = Rng::new(seed);
        let source = gen::source_policy(&mut rng);
        // A generated body may be contradictory (`warrant::unsatisfiable`): nothing to compare.
        let program = match warrant_lang::compile(&source, "gen.warrant") {
            Ok(program) => program,
            Err(d) if d.errors().all(|e| e.kind == ErrorKind::Unsatisfiable) => return Ok(()),
            Err(d) => panic!("{}\n{source}", d.render()),
        };
        agree(&engine, &program, &mut rng).map_err(|e| TestCaseError::fail(format!("{e}\nsource:\n{source}")))?;
    }
}

/// The Wasm module of `program` fires what the reference evaluator fires, with the same
/// undecided messages, on generated requests and data documents.
fn agree(engine: &Engine, program: &Program, rng: &mut Rng) -> Result<(), TestCaseError> {
    let wasm = warrant_wasm::compile(program).expect("generated IR compiles");
    validate(&wasm);
    // Documents whose shape contradicts the program are refused at load, by the Rust
    // encoder exactly when the shape check says so; the others are compared (the empty
    // document always fits, so every program is compared on something).
    let mut documents = Vec::new();
    for _ in 0..DATA_DOCUMENTS_PER_PROGRAM {
        let data = gen::data(rng);
        let fits = check_data_shape(&program.slots, &data).is_ok();
        let mut probe = WasmPolicy::new(engine, &wasm, &serde_json::json!({}));
        prop_assert_eq!(probe.set_data(&data).is_ok(), fits, "data: {}", data);
        if fits {
            documents.push(data);
        }
    }
    if documents.is_empty() {
        documents.push(serde_json::json!({}));
    }
    // What a host renders deny reasons from: the manifest the module carries.
    let renderer = warrant_wasm::abi::read_manifest(&wasm).expect("manifest").reason_program();
    let mut policy = WasmPolicy::new(engine, &wasm, &documents[0]);
    for round in 0..REQUESTS_PER_PROGRAM {
        let data = &documents[round % documents.len()];
        policy.set_data(data).expect("data image");
        let request = gen::request(rng);
        let expected = evaluate(program, &request, data);
        let verdict = policy.decide(&request).expect("request encodes");
        let context = || {
            format!(
                "program: {}\nrequest: {}\ndata: {data}",
                serde_json::to_string(program).unwrap(),
                serde_json::to_string(&request).unwrap(),
            )
        };
        prop_assert_eq!(&verdict.fired, &expected.fired, "{}", context());
        prop_assert_eq!(&verdict.undecided, &expected.undecided, "{}", context());
        prop_assert_eq!(verdict.code, i32::from(program.is_allowed(&expected)), "{}", context());
        let got = Outcome { fired: verdict.fired.clone(), undecided: verdict.undecided.clone() };
        prop_assert_eq!(
            renderer.rendered_deny_reasons(&got, &request),
            program.rendered_deny_reasons(&expected, &request),
            "{}",
            context()
        );
    }
    Ok(())
}

/// Every pattern of the generator's pool on every string of its pool (and a few non-ASCII
/// ones): the DFA walk in the module agrees with the `regex` crate, and each pattern both
/// holds and fails somewhere, so the random programs test both outcomes.
#[test]
fn pool_regexes_agree_with_the_reference_on_every_pool_string() {
    use warrant_lang::ir::{Cond, Expr, Field, Program, Rule, RuleKind, Slot, Source};
    use warrant_lang::request::Request;

    let literals: Vec<String> = gen::LITERALS.iter().chain(&gen::REGEXES).map(|s| s.to_string()).collect();
    let rules = (0..gen::REGEXES.len())
        .map(|i| {
            let body = vec![Cond::Regex(Expr::Slot(0), (gen::LITERALS.len() + i) as u32)];
            Rule { name: format!("r{i}"), kind: RuleKind::Allow, body_text: vec![String::new()], body, line: 1 }
        })
        .collect();
    let slots = vec![Slot { source: Source::Field(Field::Resource), ty: Field::Resource.ty() }];
    let program = Program {
        package: "p".into(),
        source_hash: "00".into(),
        literals,
        slots,
        rules,
        reason_templates: Default::default(),
    };
    let wasm = warrant_wasm::compile(&program).expect("compiles");
    let data = serde_json::json!({});
    let mut policy = WasmPolicy::new(&Engine::default(), &wasm, &data);
    let mut fired_somewhere = vec![0usize; gen::REGEXES.len()];
    let subjects = gen::STRINGS.iter().copied().chain(["é", "éé", "x/é", "READ WRITE", "x/"]);
    let count = subjects.clone().count();
    for subject in subjects {
        let request = Request { resource: Some(subject.into()), ..Request::default() };
        let expected = evaluate(&program, &request, &data);
        assert_eq!(policy.decide(&request).expect("encodes").fired, expected.fired, "{subject:?}");
        expected.fired.iter().for_each(|&rule| fired_somewhere[rule as usize] += 1);
    }
    for (pattern, fired) in gen::REGEXES.iter().zip(fired_somewhere) {
        assert!(fired > 0 && fired < count, "{pattern:?} holds for {fired} of {count} subjects");
    }
}
