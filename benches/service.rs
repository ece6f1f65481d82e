//! Durable state changes per second through `CardService` on `SledStore`,
//! with 1 and with 32 concurrent callers: each call is a Block or an UnBlock
//! of the caller's own card (alternating), acknowledged only once durable,
//! exactly as the HTTP handlers call it. This is the figure the card-service
//! issue asks for; `benches/store.rs` measures the store's commit + sync
//! alone.
//!
//! `cargo bench --bench service -- --warm-up-time 1 --measurement-time 5`

use cashdesk_card::domain::{CardType, Category, Status};
use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::{Caller, CardService};
use cashdesk_card::store::{Batch, CardRecord, ContactRecord, ContactWrite, SledStore, Store};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const CALLERS_MAX: u64 = 32;

fn number(t: u64) -> String {
    format!("{}", 300_000_000_000u64 + t)
}

/// One active card per caller, bound to a registered contact.
fn populate(store: &SledStore) {
    let mut batch = Batch::default();
    for t in 0..CALLERS_MAX {
        let code = format!("S{t}");
        batch.cards.push(CardRecord {
            number: number(t),
            status: Status::Active,
            category: Category::Plastic,
            card_type: CardType::Bonus,
            contact: Some(code.clone()),
            block: None,
            history_len: 0,
        });
        batch.contacts.push(ContactWrite {
            record: ContactRecord {
                code: code.clone(),
                mobile: Some(format!("+7916{t:07}")),
                name: "Bench Caller".into(),
                ..Default::default()
            },
            old_mobile: None,
        });
        batch.contact_cards.push((code, vec![number(t)]));
    }
    store.commit(&batch).unwrap();
    store.sync().unwrap();
}

/// Times `iters` durable calls spread evenly over `callers` threads; each
/// thread alternates Block and UnBlock on its own card.
fn durable_calls(svc: &CardService, callers: u64, iters: u64) -> Duration {
    let start = Barrier::new(callers as usize + 1);
    std::thread::scope(|s| {
        for t in 0..callers {
            let n = iters / callers + u64::from(t < iters % callers);
            let start = &start;
            s.spawn(move || {
                let caller = Caller::new("bench", "call_center");
                let number = number(t);
                // Where the card stands, so each call is a change: the
                // card is Active or Blocked between runs, never in between.
                let mut blocked = svc.card(&number).unwrap().unwrap().status == Status::Blocked;
                start.wait();
                for _ in 0..n {
                    let done = if blocked {
                        svc.unblock(&caller, Some(&number), None, Some("0"))
                    } else {
                        svc.block(&caller, Some(&number), None, Some("0"))
                    };
                    assert!(done.expect("call refused").changed);
                    blocked = !blocked;
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
    populate(&store);
    let svc = CardService::new(store, Arc::new(RuleHandle::new(RuleSet::shipped())));
    let mut group = c.benchmark_group("durable_call");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    for callers in [1u64, CALLERS_MAX] {
        group.bench_with_input(BenchmarkId::new("callers", callers), &callers, |b, &callers| {
            b.iter_custom(|iters| durable_calls(&svc, callers, iters))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
