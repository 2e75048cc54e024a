//! Decisions on pre-verified claims, Warrant against regorus and cedar-policy: the reference
//! agent policy (allow and deny path), then one dimension grown at a time (non-matching rules,
//! delegation chain depth, registry and revocation set size). Every engine must reach the
//! scenario's decision before any is timed.
mod engines;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use warrant_benches::{reference, scaling, Scenario};
use warrant_engine::Engine;

/// Benches each engine on each scenario of `group`. Scenarios are built one at a time so the
/// largest data sets are never all in memory at once.
fn compare(c: &mut Criterion, engine: &Engine, group: &str, scenarios: impl Iterator<Item = Scenario>) {
    let mut benches = c.benchmark_group(group);
    for scenario in scenarios {
        let contenders = engines::prepare(engine, &scenario);
        for contender in &contenders {
            benches.bench_function(BenchmarkId::new(contender.name(), &scenario.parameter), |b| {
                b.iter(|| contender.decide())
            });
        }
    }
    benches.finish();
}

fn decide(c: &mut Criterion) {
    let engine = Engine::new().expect("wasmtime starts");
    compare(
        c,
        &engine,
        "decide/reference",
        [("allow", true), ("deny", false)]
            .into_iter()
            .map(|(path, allowed)| reference::scenario("decide/reference", path.to_string(), 10, allowed)),
    );
    compare(c, &engine, "decide/rules", [1, 10, 100, 1_000].into_iter().map(scaling::rules));
    compare(c, &engine, "decide/chain", [0, 1, 4, 16].into_iter().map(scaling::chain));
    compare(
        c,
        &engine,
        "decide/data",
        [10, 10_000, 1_000_000]
            .into_iter()
            .map(|entries| reference::scenario("decide/data", entries.to_string(), entries, true)),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    targets = decide
}
criterion_main!(benches);
