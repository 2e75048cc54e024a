//! Differential test: the compiled Wasm (run in wasmtime through the Rust ABI encoders) must
//! fire exactly the rules `warrant_lang::eval::evaluate` fires, on random well-typed programs,
//! requests and data documents.
mod common;

use common::gen::{self, Rng};
use common::{validate, WasmPolicy};
use proptest::prelude::*;
use warrant_lang::eval::evaluate;
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
        let wasm = warrant_wasm::compile(&program).expect("generated IR compiles");
        validate(&wasm);
        let documents: Vec<_> = (0..DATA_DOCUMENTS_PER_PROGRAM).map(|_| gen::data(&mut rng)).collect();
        let mut policy = WasmPolicy::new(&engine, &wasm, &documents[0]);
        for round in 0..REQUESTS_PER_PROGRAM {
            let data = &documents[round % DATA_DOCUMENTS_PER_PROGRAM];
            policy.set_data(data).expect("data image");
            let request = gen::request(&mut rng);
            let expected = evaluate(&program, &request, data);
            let verdict = policy.decide(&request).expect("request encodes");
            let context = || format!(
                "program: {}\nrequest: {}\ndata: {data}",
                serde_json::to_string(&program).unwrap(),
                serde_json::to_string(&request).unwrap(),
            );
            prop_assert_eq!(&verdict.fired, &expected.fired, "{}", context());
            prop_assert_eq!(verdict.code, i32::from(program.is_allowed(&expected)), "{}", context());
        }
    }
}
