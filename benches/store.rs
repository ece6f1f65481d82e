//! Durable commits per second on `SledStore`: each operation is one
//! `transact` that reads a card and writes its record plus one history entry,
//! durable on return, the way the card service acknowledges a write. Run with one writer and with 32, to see
//! how far group commit lets concurrent writers share each fsync.
//!
//! `cargo bench --bench store -- --warm-up-time 1 --measurement-time 5`

/// The allocator the `cashdesk` binary runs with, so figures match the server.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "fixture/mod.rs"]
mod fixture;

use cashdesk_card::store::SledStore;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Times `iters` durable commits spread evenly over `threads` writers.
fn durable_commits(store: &SledStore, threads: u64, iters: u64) -> Duration {
    let start = Barrier::new(threads as usize + 1);
    std::thread::scope(|s| {
        for t in 0..threads {
            let n = iters / threads + u64::from(t < iters % threads);
            let start = &start;
            s.spawn(move || {
                let number = format!("{threads:02}{t:04}");
                start.wait();
                for _ in 0..n {
                    fixture::block_at_store(store, &number).expect("transact");
                }
            });
        }
        // Time from the moment all writers are released, not their spawning.
        start.wait();
        let t0 = Instant::now();
        // Leaving the scope joins every writer.
        t0
    })
    .elapsed()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open(dir.path()).expect("open store");
    let mut group = c.benchmark_group("durable_commit");
    // One element = one acknowledged (committed and synced) batch.
    group.throughput(Throughput::Elements(1));
    for threads in [1u64, 32] {
        group.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| durable_commits(&store, threads, iters))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
