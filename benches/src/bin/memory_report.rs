//! Prints how much memory Warrant holds per loaded policy and per concurrent evaluation:
//! live heap bytes (counted by a wrapping global allocator) and resident set growth (from
//! `/proc/self/statm`, which also sees wasmtime's code and linear memories, mapped outside the
//! heap). Run with `cargo run --release -p warrant-benches --bin memory_report`.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;

use warrant_benches::reference;
use warrant_engine::{ClaimMapping, Engine, Policy, Request};

/// Policies loaded together, so per-policy figures are averages over real neighbours.
const POLICIES: usize = 20;
/// Decisions each thread makes while the others decide too.
const DECISIONS_PER_THREAD: usize = 20_000;
const REGISTRY_ENTRIES: usize = 10;

/// The system allocator, counting the bytes currently allocated.
struct CountingAllocator;

static LIVE_HEAP_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_HEAP_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_HEAP_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_HEAP_BYTES.fetch_add(new_size, Ordering::Relaxed);
        LIVE_HEAP_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Live heap and resident bytes at one moment.
#[derive(Clone, Copy)]
struct Usage {
    heap: usize,
    resident: usize,
}

fn usage() -> Usage {
    let resident_pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1).and_then(|pages| pages.parse::<usize>().ok()))
        .unwrap_or_default();
    Usage { heap: LIVE_HEAP_BYTES.load(Ordering::Relaxed), resident: resident_pages * 4096 }
}

/// Average growth per unit between two readings, in bytes.
fn per_unit(before: Usage, after: Usage, units: usize) -> (isize, isize) {
    let grow = |a: usize, b: usize| (b as isize - a as isize) / units.max(1) as isize;
    (grow(before.heap, after.heap), grow(before.resident, after.resident))
}

fn load(engine: &Engine) -> Result<Policy, warrant_engine::EngineError> {
    engine
        .compile_policy(reference::WARRANT_POLICY, "policies/support/policy.warrant")?
        .with_data(&reference::data(REGISTRY_ENTRIES))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new()?;
    let request = Request::from_json(reference::request(REGISTRY_ENTRIES / 2, true), &ClaimMapping::default())?;
    // Warm up the process-wide parts (wasmtime engine, allocator arenas) before measuring.
    let warm = load(&engine)?;
    warm.decide(&request)?;

    let before = usage();
    let policies = (0..POLICIES).map(|_| load(&engine)).collect::<Result<Vec<_>, _>>()?;
    for policy in &policies {
        policy.decide(&request)?;
    }
    let (heap, resident) = per_unit(before, usage(), POLICIES);
    println!("per loaded policy (reference policy, {REGISTRY_ENTRIES}-entry data, one ready instance):");
    println!("  heap {heap} B, resident {resident} B (average over {POLICIES} policies)");

    println!("per concurrent evaluation (threads deciding at once on one shared policy):");
    for threads in [2, 4, 8] {
        let policy = load(&engine)?;
        policy.decide(&request)?;
        let before = usage();
        let barrier = Barrier::new(threads);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    barrier.wait();
                    for _ in 0..DECISIONS_PER_THREAD {
                        // Memory is measured here; a failed decision would only lower it.
                        let _ = policy.decide(&request);
                    }
                });
            }
        });
        let (heap, resident) = per_unit(before, usage(), threads - 1);
        println!("  {threads} threads: heap {heap} B, resident {resident} B per thread beyond the first");
    }
    drop(warm);
    Ok(())
}
