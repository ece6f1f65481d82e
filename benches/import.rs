//! Import throughput: 20,000 contact rows and 20,000 bonus rows into a fresh
//! store, in the batches `cashdesk import` uses: on `MemStore` (the cost of
//! reading, checking and batching) and on `SledStore` in a temporary
//! directory (with the real transactions and one fsync per batch).
//!
//! `cargo bench --bench import`; criterion reports rows/s as "thrpt".

/// The allocator the `cashdesk` binary runs with, so figures match the server.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use cashdesk_card::import::{import_reader, ImportKind};
use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::{Caller, CardService};
use cashdesk_card::store::{MemStore, SledStore, Store};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use indicatif::ProgressBar;
use std::sync::Arc;

const ROWS: u64 = 20_000;
const CARDS: u64 = 10_000;

fn service_on(store: Arc<dyn Store>) -> CardService {
    CardService::new(store, Arc::new(RuleHandle::new(RuleSet::shipped())))
}

fn service() -> CardService {
    service_on(Arc::new(MemStore::new()))
}

/// A service on a fresh sled store; the directory must outlive it.
fn sled_service() -> (CardService, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SledStore::open(dir.path()).expect("open sled");
    (service_on(Arc::new(store)), dir)
}

fn admin() -> Caller {
    Caller::new("bench", "administrator")
}

fn run(service: &CardService, kind: ImportKind, csv: &[u8]) {
    let report = import_reader(service, &admin(), kind, csv, &ProgressBar::hidden()).expect("import");
    assert!(report.bad.is_empty(), "{report}");
}

fn contacts_csv() -> Vec<u8> {
    let mut s = String::from("Code,MobileNumber,Name,Email,BirthDate,Gender,City\n");
    for i in 0..ROWS {
        s.push_str(&format!(
            "C{i:06},8 (916) {:03}-{:02}-{:02},Покупатель Номер {i},c{i}@example.com,1980-01-01,F,Москва\n",
            i / 10_000,
            (i / 100) % 100,
            i % 100
        ));
    }
    s.into_bytes()
}

fn cards_csv() -> Vec<u8> {
    let mut s = String::from("Number,CategoryCode,TypeCode\n");
    for i in 0..CARDS {
        s.push_str(&format!("{},0,0\n", 2_000_000_000_000u64 + i));
    }
    s.into_bytes()
}

fn bonuses_csv() -> Vec<u8> {
    let mut s = String::from("Number,Amount,TypeCode,ActiveFrom,ExpireDate,Frozen\n");
    for i in 0..ROWS {
        let card = 2_000_000_000_000u64 + i % CARDS;
        s.push_str(&format!("{card},{}.{:02},{},2024-01-01,2030-12-31,no\n", i % 500 + 1, i % 100, i % 2));
    }
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("import");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ROWS));

    let contacts = contacts_csv();
    g.bench_function("contacts_20000", |b| {
        b.iter_batched(service, |s| run(&s, ImportKind::Contacts, &contacts), BatchSize::PerIteration)
    });

    let (cards, bonuses) = (cards_csv(), bonuses_csv());
    g.bench_function("bonuses_20000", |b| {
        b.iter_batched(
            || {
                let s = service();
                run(&s, ImportKind::Cards, &cards);
                s
            },
            |s| run(&s, ImportKind::Bonuses, &bonuses),
            BatchSize::PerIteration,
        )
    });

    // Sled: the service (and the store's final flush on drop) is returned
    // from the routine, so criterion drops it outside the timing.
    g.bench_function("contacts_20000_sled", |b| {
        b.iter_batched(
            sled_service,
            |(s, dir)| {
                run(&s, ImportKind::Contacts, &contacts);
                (s, dir)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("bonuses_20000_sled", |b| {
        b.iter_batched(
            || {
                let (s, dir) = sled_service();
                run(&s, ImportKind::Cards, &cards);
                (s, dir)
            },
            |(s, dir)| {
                run(&s, ImportKind::Bonuses, &bonuses);
                (s, dir)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
