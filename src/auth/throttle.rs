//! Login throttling per user name: after a run of failures, further attempts
//! for that name wait a delay that doubles with each failure, so passwords
//! cannot be guessed quickly — without locking out other users.
//!
//! Names are tracked whether or not a user has them: treating unknown names
//! differently would tell an attacker which names exist.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Consecutive failures of one name before further attempts are throttled.
pub const FAILURES_BEFORE_THROTTLE: u32 = 5;
/// Failures older than this are forgotten.
pub const FAILURE_WINDOW_SECS: u64 = 15 * 60;
/// The throttle delay doubles from 1 s with each further failure, up to this.
pub const THROTTLE_DELAY_SECS_MAX: u64 = 5 * 60;
/// Most names the throttle table tracks; an attacker may spray names.
pub const THROTTLE_ENTRIES_MAX: usize = 10_000;

/// Failure counts per user name, known or not (treating unknown names
/// differently would tell an attacker which names exist).
pub(super) struct Throttle {
    entries: HashMap<String, ThrottleEntry>,
    capacity: usize,
}

#[derive(Default)]
struct ThrottleEntry {
    /// Consecutive failures within the window.
    failures: u32,
    last_failure: Option<Instant>,
    blocked_until: Option<Instant>,
    /// Argon2id runs admitted and not yet finished. Counted so that many
    /// parallel guesses cannot all slip in before the first failure lands.
    in_flight: u32,
    last_seen: Option<Instant>,
}

impl ThrottleEntry {
    fn forget_stale_failures(&mut self, now: Instant) {
        let window = Duration::from_secs(FAILURE_WINDOW_SECS);
        if let Some(last) = self.last_failure {
            if now.saturating_duration_since(last) >= window {
                self.failures = 0;
                self.last_failure = None;
                self.blocked_until = None;
            }
        }
    }

    /// Still worth keeping: dropping it would forget something.
    fn is_live(&self, now: Instant) -> bool {
        let window = Duration::from_secs(FAILURE_WINDOW_SECS);
        self.in_flight > 0
            || self.blocked_until.is_some_and(|until| until > now)
            || self.last_failure.is_some_and(|last| now.saturating_duration_since(last) < window)
    }
}

/// Seconds to wait after `failures` consecutive failures (at least
/// [`FAILURES_BEFORE_THROTTLE`]): 1, 2, 4, … up to [`THROTTLE_DELAY_SECS_MAX`].
fn throttle_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(FAILURES_BEFORE_THROTTLE).min(20);
    Duration::from_secs((1u64 << doublings).min(THROTTLE_DELAY_SECS_MAX))
}

impl Throttle {
    pub(super) fn new(capacity: usize) -> Throttle {
        Throttle { entries: HashMap::new(), capacity }
    }

    /// May this name run Argon2id now? `Err(seconds to wait)` if not.
    ///
    /// Below the threshold, as many parallel attempts are admitted as there
    /// are failures left before it; after a delay has passed, one at a time.
    pub(super) fn admit(&mut self, name: &str, now: Instant) -> Result<(), u64> {
        if !self.entries.contains_key(name) {
            self.make_room(now);
        }
        let entry = self.entries.entry(name.to_string()).or_default();
        entry.forget_stale_failures(now);
        entry.last_seen = Some(now);
        if let Some(until) = entry.blocked_until {
            if until > now {
                return Err(ceil_secs(until - now));
            }
        }
        let allowed = FAILURES_BEFORE_THROTTLE.saturating_sub(entry.failures).max(1);
        if entry.in_flight >= allowed {
            return Err(1);
        }
        entry.in_flight += 1;
        Ok(())
    }

    /// Records the result of an attempt that [`Throttle::admit`] let through.
    pub(super) fn finish(&mut self, name: &str, success: bool, now: Instant) {
        if success && !self.entries.contains_key(name) {
            return;
        }
        if !self.entries.contains_key(name) {
            // Evicted while Argon2id ran (only under a flood of names).
            self.make_room(now);
        }
        let entry = self.entries.entry(name.to_string()).or_default();
        entry.in_flight = entry.in_flight.saturating_sub(1);
        entry.last_seen = Some(now);
        if success {
            entry.failures = 0;
            entry.last_failure = None;
            entry.blocked_until = None;
        } else {
            entry.forget_stale_failures(now);
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = Some(now);
            if entry.failures >= FAILURES_BEFORE_THROTTLE {
                entry.blocked_until = Some(now + throttle_delay(entry.failures));
                if entry.failures == FAILURES_BEFORE_THROTTLE {
                    // Debug formatting escapes whatever the caller sent.
                    tracing::warn!(user = ?name, "repeated authentication failures; throttling this user name");
                }
            }
        }
        if entry.failures == 0 && entry.in_flight == 0 {
            self.entries.remove(name);
        }
    }

    /// Makes room for one more name. Forgets entries that no longer matter,
    /// then the least recently seen one. A flood of names can thus push out a
    /// real name's count, but only at the price of one Argon2id run per
    /// name, thousands of them per freed entry.
    fn make_room(&mut self, now: Instant) {
        if self.entries.len() < self.capacity {
            return;
        }
        self.entries.retain(|_, e| e.is_live(now));
        while self.entries.len() >= self.capacity && self.capacity > 0 {
            let oldest =
                self.entries.iter().min_by_key(|(_, e)| (e.in_flight > 0, e.last_seen)).map(|(k, _)| k.clone());
            match oldest {
                Some(name) => self.entries.remove(&name),
                None => break,
            };
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Whole seconds, rounded up and at least 1 (a `Retry-After: 0` invites an
/// immediate retry that would be throttled again).
fn ceil_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_applies_to_unknown_names_too() {
        // Otherwise the throttle would tell which names exist. Pure table
        // test: no Argon2id needed.
        let mut throttle = Throttle::new(100);
        let now = Instant::now();
        for _ in 0..FAILURES_BEFORE_THROTTLE {
            throttle.admit("ghost", now).unwrap();
            throttle.finish("ghost", false, now);
        }
        assert_eq!(throttle.admit("ghost", now), Err(1));
        assert_eq!(throttle.admit("someone-else", now), Ok(()));
    }

    #[test]
    fn throttle_delay_doubles_per_failure_and_is_capped() {
        let mut throttle = Throttle::new(100);
        let mut now = Instant::now();
        let mut delays = Vec::new();
        for failure in 1..=16 {
            throttle.admit("desk1", now).unwrap();
            throttle.finish("desk1", false, now);
            if failure >= FAILURES_BEFORE_THROTTLE {
                let retry = throttle.admit("desk1", now).unwrap_err();
                assert_eq!(throttle.admit("desk1", now + Duration::from_millis(retry * 1000 - 1)), Err(1));
                delays.push(retry);
                now += Duration::from_secs(retry);
            }
        }
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    }

    #[test]
    fn a_success_resets_the_count_and_old_failures_are_forgotten() {
        let mut throttle = Throttle::new(100);
        let now = Instant::now();
        for _ in 0..FAILURES_BEFORE_THROTTLE - 1 {
            throttle.admit("desk1", now).unwrap();
            throttle.finish("desk1", false, now);
        }
        throttle.admit("desk1", now).unwrap();
        throttle.finish("desk1", true, now);
        assert_eq!(throttle.len(), 0);

        for _ in 0..FAILURES_BEFORE_THROTTLE - 1 {
            throttle.admit("desk1", now).unwrap();
            throttle.finish("desk1", false, now);
        }
        let later = now + Duration::from_secs(FAILURE_WINDOW_SECS);
        throttle.admit("desk1", later).unwrap();
        throttle.finish("desk1", false, later);
        // One failure in the new window, not five: not throttled.
        assert_eq!(throttle.admit("desk1", later), Ok(()));
    }

    #[test]
    fn parallel_guesses_cannot_overtake_the_failure_count() {
        let mut throttle = Throttle::new(100);
        let now = Instant::now();
        for _ in 0..FAILURES_BEFORE_THROTTLE {
            throttle.admit("desk1", now).unwrap();
        }
        assert_eq!(throttle.admit("desk1", now), Err(1));
        for _ in 0..FAILURES_BEFORE_THROTTLE {
            throttle.finish("desk1", false, now);
        }
        // After the delay, one attempt at a time.
        let later = now + throttle_delay(FAILURES_BEFORE_THROTTLE);
        assert_eq!(throttle.admit("desk1", later), Ok(()));
        assert_eq!(throttle.admit("desk1", later), Err(1));
    }

    #[test]
    fn throttle_table_stays_bounded_under_name_spraying() {
        let mut throttle = Throttle::new(50);
        let now = Instant::now();
        for i in 0..1000 {
            let name = format!("spray{i}");
            throttle.admit(&name, now).unwrap();
            throttle.finish(&name, false, now);
            assert!(throttle.len() <= 50);
        }
    }
}
