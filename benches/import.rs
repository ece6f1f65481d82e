//! Import throughput: 20,000 contact rows and 20,000 bonus rows into a fresh
//! in-memory store, in the batches `cashdesk import` uses.
//!
//! `cargo bench --bench import`; criterion reports rows/s as "thrpt".

use cashdesk_card::import::{import_reader, ImportKind};
use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::{Caller, CardService};
use cashdesk_card::store::MemStore;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use indicatif::ProgressBar;
use std::sync::Arc;

const ROWS: u64 = 20_000;
const CARDS: u64 = 10_000;

fn service() -> CardService {
    CardService::new(Arc::new(MemStore::new()), Arc::new(RuleHandle::new(RuleSet::shipped())))
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
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
