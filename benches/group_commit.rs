//! Group commit, measured as pairs: durable state changes per second with 1
//! caller, then at once with 32 (and, last, 128), through `CardService` on
//! `SledStore`, alternated several times in one run. Each pair's ratio
//! compares two measurements taken seconds apart, so the drift of this
//! box's fsync latency (tens of percent within a minute) mostly cancels out;
//! the median of the pairs is the figure.
//!
//! Each call is a Block or UnBlock of the caller's own card, acknowledged
//! only once durable, as the HTTP handlers make it.
//!
//! `cargo bench --bench group_commit` (PAIRS=5 and SECONDS=2 by default)

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

/// Durable calls per second from `callers` threads over about `seconds`.
fn run(svc: &CardService, callers: u64, seconds: Duration) -> f64 {
    let start = Barrier::new(callers as usize + 1);
    let stop = AtomicBool::new(false);
    let calls = AtomicU64::new(0);
    let elapsed = std::thread::scope(|s| {
        for t in 0..callers {
            let (start, stop, calls) = (&start, &stop, &calls);
            s.spawn(move || {
                let mut desk = fixture::Desk::new(svc, t);
                let mut mine = 0;
                start.wait();
                while !stop.load(Ordering::Relaxed) {
                    desk.call(svc);
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

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let pairs = env_or("PAIRS", 5);
    let seconds = Duration::from_secs(env_or("SECONDS", 2));
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open store"));
    fixture::populate(&store);
    let svc = CardService::new(store.clone(), Arc::new(RuleHandle::new(RuleSet::shipped())));
    run(&svc, 32, Duration::from_secs(1)); // warm-up
    println!("pair  1 caller/s  32 callers/s  ratio  calls per flush (32)");
    let mut ratios = Vec::new();
    for pair in 1..=pairs {
        let one = run(&svc, 1, seconds);
        let before = store.sync_stats();
        let many = run(&svc, 32, seconds);
        let after = store.sync_stats();
        let per_flush = (after.syncs - before.syncs) as f64 / (after.rounds - before.rounds).max(1) as f64;
        let ratio = many / one;
        ratios.push(ratio);
        println!("{pair:>4}  {one:>10.0}  {many:>12.0}  {ratio:>5.2}  {per_flush:>6.1}");
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "median ratio 32/1: {median:.2} (min {:.2}, max {:.2}, {} pairs)",
        ratios[0],
        ratios[ratios.len() - 1],
        ratios.len()
    );
    let t0 = Instant::now();
    let hundreds = run(&svc, fixture::CARDS, seconds);
    println!("{} callers: {hundreds:.0} calls/s, all finished in {:.1} s", fixture::CARDS, t0.elapsed().as_secs_f64());
}
