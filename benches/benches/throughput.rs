//! Throughput with two threads sharing one engine: each iteration is two decisions made at
//! once, one per thread, on the same policy object (Warrant's `Policy`, regorus'
//! `CompiledPolicy`, cedar's `Authorizer` + `PolicySet` + `Entities`).
mod engines;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use warrant_benches::reference;
use warrant_engine::Engine;

const THREADS: u64 = 2;

fn throughput(c: &mut Criterion) {
    let engine = Engine::new().expect("wasmtime starts");
    let scenario = reference::scenario("throughput/2-threads", "reference".to_string(), 10, true);
    let contenders = engines::prepare(&engine, &scenario);
    let mut benches = c.benchmark_group(scenario.group);
    benches.throughput(Throughput::Elements(THREADS));
    for contender in &contenders {
        benches.bench_function(BenchmarkId::new(contender.name(), &scenario.parameter), |b| {
            b.iter_custom(|iterations| {
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..THREADS {
                        scope.spawn(|| {
                            for _ in 0..iterations {
                                // The verdict was checked by `prepare`; here it is only kept alive.
                                let _ = black_box(contender.decide());
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    benches.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    targets = throughput
}
criterion_main!(benches);
