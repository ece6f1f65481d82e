//! The `Authenticator`: turns an `Authorization` value into an
//! [`AuthOutcome`] by combining Basic parsing, the verified-credential cache,
//! the throttle and Argon2id verification against the current users.
//!
//! It knows nothing of HTTP status codes or warp: the HTTP layer maps the
//! outcome to 200 or 401 (a throttled name: 401 with `Retry-After`). Roles
//! are plain strings here; the server checks them against the rule set.
//!
//! Three costs shape the design:
//! - Argon2id is deliberately slow, so a credential that has been verified
//!   once is remembered for a while under an HMAC of the credential.
//! - An attacker must not learn which user names exist, so an unknown name
//!   costs one Argon2id run against a dummy hash, like a wrong password.
//! - An attacker must not be able to guess passwords quickly, nor lock a
//!   working cash desk out: failures throttle one name, and a credential that
//!   is already in the cache passes even while its name is throttled.

use super::basic::parse_basic;
use super::cache::{Cache, CACHE_ENTRIES_MAX, CACHE_IDLE_SECS};
use super::password::{dummy_hash, verify};
use super::throttle::{Throttle, THROTTLE_ENTRIES_MAX};
use super::users_file::{User, Users};
use arc_swap::ArcSwap;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: String,
}

/// The answer to one `Authorization` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    Ok(Principal),
    /// Missing, malformed or wrong credentials; deliberately says no more.
    Unauthorized,
    /// Too many recent failures for this user name; try again later.
    Throttled {
        retry_after_secs: u64,
    },
}

/// The users as [`Authenticator`] looks them up.
struct UserTable {
    by_name: HashMap<String, User>,
}

impl From<Users> for UserTable {
    fn from(users: Users) -> Self {
        UserTable { by_name: users.users.into_iter().map(|u| (u.name.clone(), u)).collect() }
    }
}

/// Checks HTTP Basic credentials against the users; see the module docs.
///
/// Synchronous and CPU-bound (one Argon2id run on a cache miss): call it from
/// a blocking thread. Locks are never held while Argon2id runs.
pub struct Authenticator {
    users: ArcSwap<UserTable>,
    /// Keyed with 32 random bytes per process, so the cache keys mean
    /// nothing outside it. Set up once: each request clones it rather than
    /// hashing the key's pads again.
    mac: Hmac<Sha256>,
    cache: Mutex<Cache>,
    throttle: Mutex<Throttle>,
    /// Verifications under way, by credential MAC. A second request with the
    /// same credential waits for the first instead of running Argon2id again
    /// (or being throttled as a parallel guess): after a restart every desk
    /// sharing an account logs in at once.
    flights: Mutex<HashMap<[u8; 32], Arc<Flight>>>,
    dummy_hash: &'static str,
}

#[derive(Default)]
struct Flight {
    done: Mutex<bool>,
    cv: std::sync::Condvar,
}

// Written by hand: nothing in here is fit for a log but the user count.
impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator").field("users", &self.users.load().by_name.len()).finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(users: Users) -> Authenticator {
        let mut mac_key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut mac_key);
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&mac_key).expect("HMAC takes a key of any length");
        Authenticator {
            users: ArcSwap::from_pointee(UserTable::from(users)),
            mac,
            cache: Mutex::new(Cache::new(CACHE_ENTRIES_MAX, Duration::from_secs(CACHE_IDLE_SECS))),
            throttle: Mutex::new(Throttle::new(THROTTLE_ENTRIES_MAX)),
            flights: Mutex::new(HashMap::new()),
            dummy_hash: dummy_hash(),
        }
    }

    /// Replaces the users and forgets every verified credential. Checks
    /// already running finish against the users they started with, but what
    /// they cache is tied to the old hash and so is useless afterwards.
    pub fn reload(&self, users: Users) {
        self.users.store(Arc::new(UserTable::from(users)));
        lock(&self.cache).clear();
        tracing::info!(users = self.users.load().by_name.len(), "users reloaded");
    }

    /// Checks an `Authorization` header value.
    /// The answer when it needs no Argon2id run: a malformed header, a
    /// credential in the verified cache, or a throttled name. `None` means
    /// call [`check`](Self::check) (off the async threads: it may run Argon2id).
    pub fn check_cached(&self, authorization: Option<&str>) -> Option<AuthOutcome> {
        let Some((name, password)) = authorization.and_then(parse_basic) else {
            return Some(AuthOutcome::Unauthorized);
        };
        let users = self.users.load_full();
        let mac = self.mac(&name, &password);
        let cached_hash = lock(&self.cache).get(&mac, &name, Instant::now());
        if let (Some(cached), Some(user)) = (cached_hash, users.by_name.get(&name)) {
            if *cached == *user.hash {
                return Some(AuthOutcome::Ok(principal(user)));
            }
        }
        None
    }

    pub fn check(&self, authorization: Option<&str>) -> AuthOutcome {
        let Some((name, password)) = authorization.and_then(parse_basic) else {
            return AuthOutcome::Unauthorized;
        };
        let mac = self.mac(&name, &password);
        let mut waited = false;
        loop {
            let (flight, leader) = {
                let mut flights = lock(&self.flights);
                match flights.get(&mac) {
                    Some(f) if !waited => (f.clone(), false),
                    _ => {
                        let f = Arc::new(Flight::default());
                        flights.insert(mac, f.clone());
                        (f, true)
                    }
                }
            };
            if !leader {
                let mut done = lock(&flight.done);
                while !*done {
                    done = flight.cv.wait(done).unwrap_or_else(PoisonError::into_inner);
                }
                // The leader's success is in the cache now; a failure means
                // this request verifies (and is counted) on its own.
                waited = true;
                continue;
            }
            let outcome = self.check_once(&name, &password, mac);
            let mut flights = lock(&self.flights);
            if flights.get(&mac).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                flights.remove(&mac);
            }
            drop(flights);
            *lock(&flight.done) = true;
            flight.cv.notify_all();
            return outcome;
        }
    }

    fn check_once(&self, name: &str, password: &str, mac: [u8; 32]) -> AuthOutcome {
        let name = name.to_string();
        let users = self.users.load_full();

        // A verified credential passes without Argon2id and even while its
        // name is throttled: failures by someone else must not lock out the
        // desk that knows the password. The hash must be the one it was
        // verified against, so a changed password or removed user does not
        // pass on the strength of an old check.
        let cached_hash = lock(&self.cache).get(&mac, &name, Instant::now());
        if let (Some(cached), Some(user)) = (cached_hash, users.by_name.get(&name)) {
            if *cached == *user.hash {
                return AuthOutcome::Ok(principal(user));
            }
        }

        if let Err(retry_after_secs) = lock(&self.throttle).admit(&name, Instant::now()) {
            return AuthOutcome::Throttled { retry_after_secs };
        }
        // Unknown names run Argon2id too, so the time taken does not tell
        // whether a name exists.
        let user = users.by_name.get(&name);
        let verified = verify(password, user.map_or(self.dummy_hash, |u| &u.hash));
        let user = user.filter(|_| verified);
        lock(&self.throttle).finish(&name, user.is_some(), Instant::now());

        match user {
            Some(user) => {
                lock(&self.cache).insert(mac, &name, user.hash.clone(), Instant::now());
                AuthOutcome::Ok(principal(user))
            }
            None => AuthOutcome::Unauthorized,
        }
    }

    /// HMAC-SHA256 of (name, 0x00, password) under the per-process key. Names
    /// cannot contain NUL (see [`parse_basic`]), so the encoding is unambiguous.
    fn mac(&self, name: &str, password: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

fn principal(user: &User) -> Principal {
    Principal { name: user.name.clone(), role: user.role.clone() }
}

/// A poisoned lock only means another request panicked; the tables inside
/// stay consistent (every update is a single insert/remove/field write), so
/// authentication carries on rather than failing every request from then on.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::basic::AUTHORIZATION_BYTES_MAX;
    use crate::auth::test_fixtures::*;
    use crate::auth::throttle::FAILURES_BEFORE_THROTTLE;
    use base64::Engine as _;

    #[test]
    fn right_password_gives_the_principal_with_its_role() {
        let auth = desks();
        // Scheme case-insensitive; the password contains `:`.
        let header = basic("boss", PASSWORD).replacen("Basic", "bAsIc", 1);
        assert_eq!(auth.check(Some(&header)), ok("boss", "director"));
    }

    #[test]
    fn wrong_password_is_unauthorized() {
        let auth = desks();
        let header = basic("desk1", "correct:horse");
        assert_eq!(auth.check(Some(&header)), AuthOutcome::Unauthorized);
    }

    #[test]
    fn unknown_user_is_unauthorized() {
        let auth = desks();
        let header = basic("ghost", PASSWORD);
        assert_eq!(auth.check(Some(&header)), AuthOutcome::Unauthorized);
    }

    #[test]
    fn malformed_headers_are_unauthorized_without_argon2() {
        let auth = desks();
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let headers = [
            String::new(),
            "Basic".into(),
            "Basic ".into(),
            format!("Bearer {}", b64(b"desk1:x")),
            "Basic !!!not-base64!!!".into(),
            format!("Basic {}", b64(b"\xff\xfe:x")),
            format!("Basic {}", b64(b"desk1-no-colon")),
            format!("Basic {}", b64(b":password")),
            format!("Basic {}", b64(b"desk\x001:x")),
            format!("Basic {}", "A".repeat(AUTHORIZATION_BYTES_MAX)),
        ];
        let started = Instant::now();
        assert_eq!(auth.check(None), AuthOutcome::Unauthorized);
        for header in &headers {
            assert_eq!(auth.check(Some(header)), AuthOutcome::Unauthorized, "{header:?}");
        }
        // None of these may reach Argon2id (hundreds of ms in debug builds).
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(lock(&auth.throttle).len(), 0);
    }

    #[test]
    fn unknown_user_and_wrong_password_take_similar_time() {
        let auth = desks();
        let wrong = basic("desk1", "not-it");
        let unknown = basic("ghost", "not-it");
        // Interleaved and the minimum of each, so a burst of load from tests
        // running alongside does not decide the ratio. Three runs each stay
        // below the throttle threshold.
        let mut wrong_min = Duration::MAX;
        let mut unknown_min = Duration::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            assert_eq!(auth.check(Some(&wrong)), AuthOutcome::Unauthorized);
            wrong_min = wrong_min.min(t.elapsed());
            let t = Instant::now();
            assert_eq!(auth.check(Some(&unknown)), AuthOutcome::Unauthorized);
            unknown_min = unknown_min.min(t.elapsed());
        }
        let ratio = unknown_min.as_secs_f64() / wrong_min.as_secs_f64();
        assert!((0.5..2.0).contains(&ratio), "unknown {unknown_min:?} vs wrong {wrong_min:?}");
    }

    #[test]
    fn cache_makes_the_second_check_much_faster() {
        let auth = desks();
        let header = basic("desk1", PASSWORD);
        let t = Instant::now();
        assert_eq!(auth.check(Some(&header)), ok("desk1", "cashier"));
        let first = t.elapsed();
        let t = Instant::now();
        assert_eq!(auth.check(Some(&header)), ok("desk1", "cashier"));
        let second = t.elapsed();
        assert!(second * 10 < first, "first {first:?}, second {second:?}");
    }

    #[test]
    fn many_simultaneous_first_logins_with_the_right_password_all_pass() {
        let auth = Arc::new(desks());
        let header = basic("desk1", PASSWORD);
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (auth, header) = (auth.clone(), header.clone());
                std::thread::spawn(move || auth.check(Some(&header)))
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), ok("desk1", "cashier"));
        }
    }

    #[test]
    fn check_cached_answers_only_what_needs_no_argon2() {
        let auth = desks();
        let header = basic("desk1", PASSWORD);
        assert_eq!(auth.check_cached(Some(&header)), None, "never verified: Argon2 needed");
        assert_eq!(auth.check_cached(Some("Bearer x")), Some(AuthOutcome::Unauthorized));
        assert_eq!(auth.check_cached(None), Some(AuthOutcome::Unauthorized));
        assert_eq!(auth.check(Some(&header)), ok("desk1", "cashier"));
        assert_eq!(auth.check_cached(Some(&header)), Some(ok("desk1", "cashier")));
        assert_eq!(auth.check_cached(Some(&basic("desk1", "wrong"))), None);
    }

    #[test]
    fn five_failures_throttle_the_name_but_not_its_cached_desk_nor_other_users() {
        let auth = desks();
        let good = basic("desk1", PASSWORD);
        assert_eq!(auth.check(Some(&good)), ok("desk1", "cashier"));

        let bad = basic("desk1", "guess");
        for _ in 0..FAILURES_BEFORE_THROTTLE {
            assert_eq!(auth.check(Some(&bad)), AuthOutcome::Unauthorized);
        }
        let started = Instant::now();
        let AuthOutcome::Throttled { retry_after_secs } = auth.check(Some(&bad)) else {
            panic!("the sixth failure in a row must be throttled");
        };
        assert!(retry_after_secs >= 1);
        // Throttled without running Argon2id.
        assert!(started.elapsed() < Duration::from_millis(50));

        // The desk that is already logged in keeps working ...
        assert_eq!(auth.check(Some(&good)), ok("desk1", "cashier"));
        // ... and the throttle is per name: others are not affected.
        assert_eq!(auth.check(Some(&basic("boss", PASSWORD))), ok("boss", "director"));
    }

    #[test]
    fn reload_replaces_users_and_refuses_a_removed_user_even_if_cached() {
        let auth = desks();
        let desk1 = basic("desk1", PASSWORD);
        assert_eq!(auth.check(Some(&desk1)), ok("desk1", "cashier"));

        auth.reload(users(&[("boss", "director"), ("desk2", "cashier")]));
        assert_eq!(lock(&auth.cache).len(), 0);
        assert_eq!(auth.check(Some(&desk1)), AuthOutcome::Unauthorized);
    }

    #[test]
    fn a_cache_entry_for_another_hash_does_not_pass() {
        // Reload clears the cache, but a check that started before a reload
        // may insert afterwards; such an entry is tied to the old hash. The
        // current hash uses tiny parameters so the fallback verification is
        // cheap; no password matches it.
        const CHEAP_HASH: &str =
            "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI";
        let current = Users::parse(&entry("desk1", "cashier", CHEAP_HASH), "t.toml").unwrap();
        let auth = Authenticator::new(current);
        let mac = auth.mac("desk1", PASSWORD);
        lock(&auth.cache).insert(mac, "desk1", Arc::from(FAKE_HASH), Instant::now());
        let header = basic("desk1", PASSWORD);
        assert_eq!(auth.check(Some(&header)), AuthOutcome::Unauthorized);
    }

    #[test]
    fn debug_output_shows_no_hashes() {
        let users = users(&[("desk1", "cashier")]);
        let shown = format!("{users:?} {:?}", Authenticator::new(users.clone()));
        assert!(shown.contains("desk1") && shown.contains("cashier"), "{shown}");
        assert!(!shown.contains("argon2"), "{shown}");
    }
}
