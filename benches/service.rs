//! Durable state changes per second through `CardService` on `SledStore`,
//! with 1 and with 32 concurrent callers: each call is a Block or an UnBlock
//! of the caller's own card (alternating), acknowledged only once durable,
//! exactly as the HTTP handlers call it. This is the figure the card-service
//! issue asks for; `benches/store.rs` measures the store's commit + sync
//! alone.
//!
//! `cargo bench --bench service -- --warm-up-time 1 --measurement-time 5`
//!
//! The two figures are measured one after the other, and this box's fsync
//! latency drifts by tens of percent within a minute; `benches/group_commit.rs`
//! alternates 1 and 32 callers several times and reports the ratio of each
//! pair, which is the steadier way to read the ratio.

/// The allocator the `cashdesk` binary runs with, so figures match the server.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "fixture/mod.rs"]
mod fixture;

use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::CardService;
use cashdesk_card::store::SledStore;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Times `iters` durable calls spread evenly over `callers` threads; each
/// thread alternates Block and UnBlock on its own card.
fn durable_calls(svc: &CardService, callers: u64, iters: u64) -> Duration {
    let start = Barrier::new(callers as usize + 1);
    std::thread::scope(|s| {
        for t in 0..callers {
            let n = iters / callers + u64::from(t < iters % callers);
            let start = &start;
            s.spawn(move || {
                let mut desk = fixture::Desk::new(svc, t);
                start.wait();
                for _ in 0..n {
                    desk.call(svc);
                }
            });
        }
        start.wait();
        Instant::now()
    })
    .elapsed()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open store"));
    fixture::populate(&store);
    let svc = CardService::new(store, Arc::new(RuleHandle::new(RuleSet::shipped())));
    let mut group = c.benchmark_group("durable_call");
    group.throughput(Throughput::Elements(1));
    // Long samples: each spawns its callers, and steady state is the point.
    group.sample_size(10);
    for callers in [1u64, 32] {
        group.bench_with_input(BenchmarkId::new("callers", callers), &callers, |b, &callers| {
            b.iter_custom(|iters| durable_calls(&svc, callers, iters))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
