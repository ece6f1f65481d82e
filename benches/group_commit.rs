//! Group commit, measured as pairs: durable state changes per second with 1
//! caller, then at once with 32 (and, last, 128), alternated several times in
//! one run; first through `CardService`, then at the store level. Each pair's ratio
//! compares two measurements taken seconds apart, so the drift of this
//! box's fsync latency (tens of percent within a minute) mostly cancels out;
//! the median of the pairs is the figure.
//!
//! A service call is a Block or UnBlock of the caller's own card,
//! acknowledged only once durable, as the HTTP handlers make it. A store call
//! is one `Store::transact` writing the same two records, without the
//! service's parsing, reads and rules.
//!
//! `cargo bench --bench group_commit` (PAIRS=5 and SECONDS=2 by default).
//! For profiling, `CALLERS=32 LEVEL=store` (or `service`) runs only that
//! many callers for SECONDS and prints their rate.

/// The allocator the `cashdesk` binary runs with, so figures match the server.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "fixture/mod.rs"]
mod fixture;

use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::CardService;
use cashdesk_card::store::SledStore;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Durable calls per second from `callers` threads over about `seconds`;
/// thread `t` repeats the call `worker(t)` returns.
fn run<W: FnMut()>(callers: u64, seconds: Duration, worker: impl Fn(u64) -> W + Sync) -> f64 {
    let start = Barrier::new(callers as usize + 1);
    let stop = AtomicBool::new(false);
    let calls = AtomicU64::new(0);
    let elapsed = std::thread::scope(|s| {
        for t in 0..callers {
            let (start, stop, calls, worker) = (&start, &stop, &calls, &worker);
            s.spawn(move || {
                let mut call = worker(t);
                let mut mine = 0;
                start.wait();
                while !stop.load(Ordering::Relaxed) {
                    call();
                    mine += 1;
                }
                calls.fetch_add(mine, Ordering::Relaxed);
            });
        }
        start.wait();
        let t0 = Instant::now();
        std::thread::sleep(seconds);
        stop.store(true, Ordering::Relaxed);
        t0
    })
    // Until the last caller's last call returned: every counted call is in.
    .elapsed();
    calls.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
}

/// Service level: caller `t`'s desk blocks or unblocks its own card.
fn service_call(svc: &CardService, t: u64) -> impl FnMut() + '_ {
    let mut desk = fixture::Desk::new(svc, t);
    move || desk.call(svc)
}

/// Store level: one `transact` per call writing what a Block writes (the
/// card record and one history entry), with no service work around it.
fn store_call(store: &SledStore, t: u64) -> impl FnMut() + '_ {
    let number = format!("{}", 400_000_000_000u64 + t);
    move || fixture::block_at_store(store, &number).expect("transact")
}

/// Runs `pairs` pairs of 1 then 32 callers and prints a row per pair and the
/// median ratio; then `fixture::CARDS` callers once.
fn pairs<W: FnMut()>(title: &str, store: &SledStore, pairs: u64, seconds: Duration, worker: impl Fn(u64) -> W + Sync) {
    println!("{title}");
    run(32, Duration::from_secs(1), &worker); // warm-up
    println!("pair  1 caller/s  32 callers/s  ratio  calls per flush (32)");
    let mut ratios = Vec::new();
    for pair in 1..=pairs {
        let one = run(1, seconds, &worker);
        let before = store.sync_stats();
        let many = run(32, seconds, &worker);
        let after = store.sync_stats();
        let per_flush = (after.tickets - before.tickets) as f64 / (after.rounds - before.rounds).max(1) as f64;
        let ratio = many / one;
        ratios.push(ratio);
        println!("{pair:>4}  {one:>10.0}  {many:>12.0}  {ratio:>5.2}  {per_flush:>6.1}");
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median ratio 32/1: {:.2} (min {:.2}, max {:.2}, {} pairs)",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1],
        ratios.len()
    );
    let t0 = Instant::now();
    let hundreds = run(fixture::CARDS, seconds, &worker);
    println!(
        "{} callers: {hundreds:.0} calls/s, all finished in {:.1} s\n",
        fixture::CARDS,
        t0.elapsed().as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let n = env_or("PAIRS", 5);
    let seconds = Duration::from_secs(env_or("SECONDS", 2));
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open store"));
    fixture::populate(&store);
    let svc = CardService::new(store.clone(), Arc::new(RuleHandle::new(RuleSet::shipped())));
    if let Ok(callers) = std::env::var("CALLERS") {
        let callers: u64 = callers.parse().expect("CALLERS is a number");
        let rate = if std::env::var("LEVEL").as_deref() == Ok("service") {
            run(callers, seconds, |t| service_call(&svc, t))
        } else {
            run(callers, seconds, |t| store_call(&store, t))
        };
        println!("{callers} callers: {rate:.0} durable calls/s");
        return;
    }
    pairs("service: Block/UnBlock through CardService", &store, n, seconds, |t| service_call(&svc, t));
    pairs("store: transact of a card record and a history entry", &store, n, seconds, |t| store_call(&store, t));
}
