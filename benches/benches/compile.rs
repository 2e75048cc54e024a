//! Compile time for policies of 10, 100 and 1 000 rules: Warrant from source to a ready
//! policy (parse, check, lower, Wasm codegen, wasmtime compile, first instance) and to the
//! standalone module alone; regorus and cedar-policy from source to what they evaluate.
use std::hint::black_box;
use std::str::FromStr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use warrant_benches::{scaling, REGO_ENTRYPOINT};
use warrant_engine::{compile_to_wasm, Engine};

fn compile(c: &mut Criterion) {
    let engine = Engine::new().expect("wasmtime starts");
    let mut benches = c.benchmark_group("compile");
    for rules in [10, 100, 1_000] {
        let scenario = scaling::rules(rules);
        let parameter = scenario.parameter.as_str();
        benches.bench_function(BenchmarkId::new("warrant", parameter), |b| {
            b.iter(|| engine.compile_policy(black_box(&scenario.warrant_policy), "bench").expect("compiles"))
        });
        benches.bench_function(BenchmarkId::new("warrant-to-wasm", parameter), |b| {
            b.iter(|| compile_to_wasm(black_box(&scenario.warrant_policy), "bench").expect("compiles"))
        });
        benches.bench_function(BenchmarkId::new("regorus", parameter), |b| {
            b.iter(|| {
                let module =
                    regorus::PolicyModule { id: "bench.rego".into(), content: scenario.rego_policy.as_str().into() };
                regorus::compile_policy_with_entrypoint(regorus::Value::new_object(), &[module], REGO_ENTRYPOINT.into())
                    .expect("compiles")
            })
        });
        benches.bench_function(BenchmarkId::new("cedar", parameter), |b| {
            b.iter(|| cedar_policy::PolicySet::from_str(black_box(&scenario.cedar_policy)).expect("parses"))
        });
    }
    benches.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = compile
}
criterion_main!(benches);
