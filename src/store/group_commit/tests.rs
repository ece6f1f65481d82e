//! The group commit against a fake engine: a counter that each job reads
//! through its group and increments, a "disk" the engine writes groups to,
//! and a flush that copies the disk to "durable" — and can fail or be slow.

use super::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
struct Disk {
    /// The counter as written (not yet durable).
    written: AtomicU64,
    /// The counter as of the last successful flush.
    durable: AtomicU64,
    fail_writes: AtomicBool,
    fail_flushes: AtomicBool,
    flush_delay_ms: AtomicU64,
    write_delay_ms: AtomicU64,
    groups: AtomicU64,
}

/// A group: the counter's value as the group's jobs have left it.
struct Pending(Option<u64>);

struct Fake(Arc<Disk>);

impl Engine for Fake {
    type Group = Pending;
    fn begin(&self) -> Pending {
        Pending(None)
    }
    fn is_full(&self, _: &Pending) -> bool {
        false
    }
    fn write(&self, g: &mut Pending) -> Result<(), StoreError> {
        let Some(v) = g.0.take() else { return Ok(()) };
        if self.0.fail_writes.load(Ordering::SeqCst) {
            return Err(StoreError::engine("writing", std::io::Error::other("injected")));
        }
        std::thread::sleep(Duration::from_millis(self.0.write_delay_ms.load(Ordering::SeqCst)));
        self.0.groups.fetch_add(1, Ordering::SeqCst);
        self.0.written.store(v, Ordering::SeqCst);
        Ok(())
    }
}

fn start(disk: &Arc<Disk>) -> GroupCommit<Pending> {
    let d = Arc::clone(disk);
    GroupCommit::start(
        "test-flusher",
        Box::new(move || {
            std::thread::sleep(Duration::from_millis(d.flush_delay_ms.load(Ordering::SeqCst)));
            if d.fail_flushes.load(Ordering::SeqCst) {
                return Err(StoreError::DiskFull(crate::store::Source::new(std::io::Error::other("full"))));
            }
            d.durable.store(d.written.load(Ordering::SeqCst), Ordering::SeqCst);
            Ok(())
        }),
    )
    .unwrap()
}

/// One increment through the queue; the value the job saw.
fn increment(gc: &GroupCommit<Pending>, disk: &Arc<Disk>) -> Result<u64, StoreError> {
    let fake = Fake(Arc::clone(disk));
    let mut seen = 0;
    gc.submit(&fake, &mut |g: &mut Pending| {
        let v = g.0.unwrap_or_else(|| disk.written.load(Ordering::SeqCst));
        seen = v;
        g.0 = Some(v + 1);
    })?;
    Ok(seen)
}

fn hammer(threads: u64, calls: u64, (write_ms, flush_ms): (u64, u64)) -> (Arc<Disk>, FlushStats) {
    let disk = Arc::new(Disk::default());
    disk.write_delay_ms.store(write_ms, Ordering::SeqCst);
    disk.flush_delay_ms.store(flush_ms, Ordering::SeqCst);
    let gc = start(&disk);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..calls {
                    let seen = increment(&gc, &disk).unwrap();
                    // Durable on return: the flushed value covers our write.
                    assert!(disk.durable.load(Ordering::SeqCst) > seen, "returned before durable");
                }
            });
        }
    });
    let stats = gc.stats();
    (disk, stats)
}

#[test]
fn no_increment_is_lost_at_32_and_128_callers() {
    for threads in [32, 128] {
        let (disk, stats) = hammer(threads, 50, (0, 0));
        assert_eq!(disk.written.load(Ordering::SeqCst), threads * 50);
        assert_eq!(disk.durable.load(Ordering::SeqCst), threads * 50);
        assert_eq!(stats.tickets, threads * 50);
    }
}

#[test]
fn a_slow_flush_serves_many_callers_per_round() {
    let (disk, stats) = hammer(16, 20, (0, 5));
    assert_eq!(disk.durable.load(Ordering::SeqCst), 320);
    // 320 calls at 5 ms a round one by one would need 320 rounds.
    assert!(stats.rounds * 4 < stats.tickets, "rounds {} for {} tickets", stats.rounds, stats.tickets);
}

#[test]
fn a_slow_write_gathers_many_jobs_per_group() {
    let (disk, _) = hammer(16, 20, (2, 0));
    assert_eq!(disk.durable.load(Ordering::SeqCst), 320);
    let groups = disk.groups.load(Ordering::SeqCst);
    assert!(groups * 4 < 320, "{groups} groups for 320 jobs: jobs were not combined");
}

#[test]
fn a_failed_flush_fails_its_callers_and_the_next_round_recovers() {
    let disk = Arc::new(Disk::default());
    let gc = start(&disk);
    increment(&gc, &disk).unwrap();
    disk.fail_flushes.store(true, Ordering::SeqCst);
    let err = increment(&gc, &disk).unwrap_err();
    assert!(matches!(err, StoreError::DiskFull(_)), "{err:?}");
    assert!(gc.needs_recovery());
    assert_eq!(disk.durable.load(Ordering::SeqCst), 1);
    disk.fail_flushes.store(false, Ordering::SeqCst);
    assert_eq!(increment(&gc, &disk).unwrap(), 2);
    assert!(!gc.needs_recovery());
    assert_eq!(disk.durable.load(Ordering::SeqCst), 3);
}

#[test]
fn a_failed_write_breaks_the_queue_without_a_hang() {
    let disk = Arc::new(Disk::default());
    let gc = start(&disk);
    disk.fail_writes.store(true, Ordering::SeqCst);
    let results: Mutex<Vec<bool>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                let r = increment(&gc, &disk);
                results.lock().unwrap().push(r.is_ok());
            });
        }
    });
    assert!(gc.is_broken());
    assert!(results.lock().unwrap().iter().all(|ok| !ok), "a caller of a failed group was told OK");
    assert!(matches!(increment(&gc, &disk), Err(StoreError::Unfinished)));
    assert_eq!(disk.durable.load(Ordering::SeqCst), 0);
}

#[test]
fn sync_after_the_flusher_stopped_is_an_error_not_a_hang() {
    let disk = Arc::new(Disk::default());
    let gc = start(&disk);
    gc.flusher.stop();
    // The thread exits once idle; then every wait ends at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while gc.sync().is_ok() {
        assert!(std::time::Instant::now() < deadline, "the flusher never stopped");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(matches!(gc.sync(), Err(StoreError::Closed)));
}
