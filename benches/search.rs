//! The administrator's searches (issue 13) on `SledStore`, through the card
//! service as the HTTP handlers call them, at 1,000 and at 1,000,000
//! contacts (each with one bound card): a search reads an index range from
//! its cursor, so its time should not grow with the store.
//!
//! Building the 1M store takes a few minutes (about 6M sled writes, in
//! durable batches); it is built once, before the measurements.
//! `SEARCH_BENCH_SIZES=1000` measures only the small store.
//!
//! `cargo bench --bench search -- --warm-up-time 1 --measurement-time 3`

/// The allocator the `cashdesk` binary runs with, so figures match the server.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "fixture/mod.rs"]
mod fixture;

use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::{Caller, CardSearch, CardService, ContactSearch};
use cashdesk_card::store::{put, Batch, SledStore};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

const SURNAMES: [&str; 20] = [
    "Иванов",
    "Смирнова",
    "Кузнецов",
    "Попова",
    "Васильев",
    "Петрова",
    "Соколов",
    "Михайлова",
    "Новиков",
    "Фёдорова",
    "Морозов",
    "Волкова",
    "Алексеев",
    "Лебедева",
    "Семёнов",
    "Егорова",
    "Павлов",
    "Козлова",
    "Степанов",
    "Николаева",
];
const GIVEN: [&str; 10] = ["Анна", "Иван", "Ольга", "Пётр", "Мария", "Олег", "Елена", "Юрий", "Ирина", "Лев"];
/// Bound cards per durable batch: about 6 sled writes each, under one
/// group's 4096.
const BATCH_CARDS: u64 = 600;

fn code(i: u64) -> String {
    format!("C{i:07}")
}

fn mobile(i: u64) -> String {
    format!("+7916{i:07}")
}

/// `n` contacts, each with an active card; names repeat as in life (200
/// distinct surname + given name pairs, told apart by a patronymic number).
fn build(n: u64) -> (tempfile::TempDir, Arc<SledStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open store"));
    let started = Instant::now();
    let mut i = 0;
    while i < n {
        let mut batch = Batch::default();
        for j in i..(i + BATCH_CARDS).min(n) {
            let name = format!("{} {} {}", SURNAMES[(j % 20) as usize], GIVEN[(j / 20 % 10) as usize], j);
            fixture::push_bound_card(&mut batch, format!("{}", 500_000_000_000u64 + j), code(j), mobile(j), &name);
        }
        put(&*store, batch).expect("load");
        i += BATCH_CARDS;
    }
    eprintln!("search bench: {n} contacts and cards loaded in {:.1} s", started.elapsed().as_secs_f64());
    (dir, store)
}

fn service(store: Arc<SledStore>) -> CardService {
    let rules_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let rules = RuleSet::load_dir(&rules_dir).expect("shipped rules");
    CardService::new(store, Arc::new(RuleHandle::new(rules)))
}

fn sizes() -> Vec<u64> {
    match std::env::var("SEARCH_BENCH_SIZES") {
        Ok(s) => s.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => vec![1_000, 1_000_000],
    }
}

fn bench(c: &mut Criterion) {
    let admin = Caller::new("admin", "administrator");
    let mut group = c.benchmark_group("admin_search");
    for n in sizes() {
        let (_dir, store) = build(n);
        let svc = service(store);
        let middle = n / 2;
        // A phone in a notation a person types: 8 (916) …
        let typed = format!("8 (916) {}-{}", &mobile(middle)[5..8], &mobile(middle)[8..]);
        let code_prefix = code(middle)[..code(middle).len() - 2].to_string(); // 100 codes
        let page = |s: ContactSearch<'_>, after: Option<&str>, limit| {
            svc.search_contacts(&admin, s, after, limit).expect("search")
        };
        assert_eq!(page(ContactSearch::Phone(&typed), None, 50).items.len(), 1, "phone {typed}");
        let first = page(ContactSearch::NamePrefix("смирнова ол"), None, 50);
        // "Ол" begins both Ольга and Олег: n / 100 contacts match.
        assert_eq!(first.items.len(), 50.min((n / 100) as usize));
        let second_after = first.next.clone();
        group.bench_function(BenchmarkId::new("contact_by_phone", n), |b| {
            b.iter(|| black_box(page(ContactSearch::Phone(&typed), None, 50)))
        });
        group.bench_function(BenchmarkId::new("contacts_by_code_prefix_50", n), |b| {
            b.iter(|| black_box(page(ContactSearch::CodePrefix(&code_prefix), None, 50)))
        });
        group.bench_function(BenchmarkId::new("contacts_by_name_prefix_50", n), |b| {
            b.iter(|| black_box(page(ContactSearch::NamePrefix("СМИРНОВА Ол"), None, 50)))
        });
        group.bench_function(BenchmarkId::new("contacts_by_name_prefix_500_next_page", n), |b| {
            b.iter(|| black_box(page(ContactSearch::NamePrefix("смирнова"), second_after.as_deref(), 500)))
        });
        // The first status search builds the sled engine's in-memory index
        // (one scan of the cards): a one-off, printed rather than sampled.
        let started = std::time::Instant::now();
        svc.search_cards(&admin, CardSearch::Status("2"), None, 50).expect("search");
        eprintln!(
            "admin_search/first_cards_by_status/{n}: {:.1} ms (builds the status index)",
            started.elapsed().as_secs_f64() * 1e3
        );
        group.bench_function(BenchmarkId::new("cards_by_status_50", n), |b| {
            b.iter(|| black_box(svc.search_cards(&admin, CardSearch::Status("2"), None, 50).expect("search")))
        });
        group.bench_function(BenchmarkId::new("cards_by_contact", n), |b| {
            let c = code(middle);
            b.iter(|| black_box(svc.search_cards(&admin, CardSearch::Contact(&c), None, 50).expect("search")))
        });
        assert!(svc.store().card_count().expect("count") == n);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
