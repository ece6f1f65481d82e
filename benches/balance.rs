//! Balance read latency at 1k and 100k cards (set BALANCE_BENCH_1M=1 to add
//! 1M). Cards are loaded straight into the store in large batches; each card
//! is bound to a contact and carries three lots, like a live card.

/// The allocator the `cashdesk` binary runs with, so figures match the server.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "fixture/mod.rs"]
mod fixture;

use cashdesk_card::domain::{Amount, BonusType};
use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::{Caller, CardService, Lookup};
use cashdesk_card::store::{put, Batch, Lot, SledStore};
use chrono::NaiveDate;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::sync::Arc;

fn populate(store: &SledStore, n: u64) {
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let mut batch = Batch::default();
    for i in 0..n {
        let number = format!("{}", 10_000_000 + i);
        fixture::push_bound_card(&mut batch, number.clone(), format!("C{i}"), format!("+7916{i:07}"), "Имя Фамилия");
        let lot = |a: &str, exp: Option<NaiveDate>| Lot {
            amount: Amount::parse(a).unwrap(),
            bonus_type: BonusType::Monetary,
            active_from: day,
            expire: exp,
            frozen: false,
            receipt: None,
        };
        batch.put_lots(
            &number,
            vec![lot("100.5", None), lot("20", NaiveDate::from_ymd_opt(2027, 1, 1)), lot("3", None)],
        );
        if batch.cards.len() == 5_000 {
            put(store, std::mem::take(&mut batch)).unwrap();
        }
    }
    put(store, batch).unwrap();
}

fn bench(c: &mut Criterion) {
    let mut sizes = vec![1_000u64, 100_000];
    if std::env::var("BALANCE_BENCH_1M").is_ok() {
        sizes.push(1_000_000);
    }
    let mut group = c.benchmark_group("balance_read");
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let caller = Caller::new("desk", "cashier");
    for n in sizes {
        let store = Arc::new(SledStore::temporary().unwrap());
        populate(&store, n);
        let svc = CardService::new(store, Arc::new(RuleHandle::new(RuleSet::shipped())));
        let mut i = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| {
                // A spread of cards, not one hot key.
                i = (i + 7919) % n;
                let number = format!("{}", 10_000_000 + i);
                black_box(svc.balance(&caller, Lookup::Number(&number), today).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
