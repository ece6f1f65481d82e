//! The verified-credential cache: credentials that passed Argon2id once,
//! remembered for a while under their HMAC — never the password itself — and
//! tied to the hash they were verified against.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Verified-credential cache: at most this many entries ...
pub const CACHE_ENTRIES_MAX: usize = 10_000;
/// ... each forgotten after this long without use.
pub const CACHE_IDLE_SECS: u64 = 5 * 60;

/// Recently verified credentials, keyed by their HMAC.
pub(super) struct Cache {
    entries: HashMap<[u8; 32], CacheEntry>,
    capacity: usize,
    idle: Duration,
}

struct CacheEntry {
    /// Checked on a hit as well as being inside the MAC: belt and braces.
    name: String,
    /// The hash the credential was verified against.
    hash: Arc<str>,
    last_used: Instant,
}

impl Cache {
    pub(super) fn new(capacity: usize, idle: Duration) -> Cache {
        Cache { entries: HashMap::new(), capacity, idle }
    }

    /// The hash a fresh entry was verified against; a hit counts as use.
    ///
    /// Expiry is by idle time, not age: a desk in constant use stays cached,
    /// so it is never sent back to a name throttled by someone else's
    /// failures. Staying cached is safe because the entry is tied to the hash.
    pub(super) fn get(&mut self, mac: &[u8; 32], name: &str, now: Instant) -> Option<Arc<str>> {
        let entry = self.entries.get_mut(mac)?;
        if now.saturating_duration_since(entry.last_used) >= self.idle {
            self.entries.remove(mac);
            return None;
        }
        if entry.name != name {
            return None;
        }
        entry.last_used = now;
        Some(entry.hash.clone())
    }

    pub(super) fn insert(&mut self, mac: [u8; 32], name: &str, hash: Arc<str>, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        if !self.entries.contains_key(&mac) && self.entries.len() >= self.capacity {
            // Only reached on a fresh Argon2id success, which costs far more
            // than this scan.
            let idle = self.idle;
            self.entries.retain(|_, e| now.saturating_duration_since(e.last_used) < idle);
            if self.entries.len() >= self.capacity {
                if let Some(oldest) = self.entries.iter().min_by_key(|(_, e)| e.last_used).map(|(k, _)| *k) {
                    self.entries.remove(&oldest);
                }
            }
        }
        self.entries.insert(mac, CacheEntry { name: name.to_string(), hash, last_used: now });
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_fixtures::FAKE_HASH;

    #[test]
    fn cache_entries_expire_when_idle_and_the_cache_stays_bounded() {
        let mut cache = Cache::new(3, Duration::from_secs(CACHE_IDLE_SECS));
        let now = Instant::now();
        let hash: Arc<str> = Arc::from(FAKE_HASH);
        cache.insert([1; 32], "desk1", hash.clone(), now);
        assert!(cache.get(&[1; 32], "desk1", now).is_some());
        assert!(cache.get(&[1; 32], "desk2", now).is_none());
        let almost = now + Duration::from_secs(CACHE_IDLE_SECS - 1);
        assert!(cache.get(&[1; 32], "desk1", almost).is_some(), "use refreshes");
        let idle = almost + Duration::from_secs(CACHE_IDLE_SECS);
        assert!(cache.get(&[1; 32], "desk1", idle).is_none());

        for i in 0..10u8 {
            cache.insert([i; 32], "desk1", hash.clone(), now + Duration::from_secs(i.into()));
            assert!(cache.len() <= 3);
        }
        // The newest survive.
        assert!(cache.get(&[9; 32], "desk1", now + Duration::from_secs(9)).is_some());
    }
}
