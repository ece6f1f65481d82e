//! Who is calling (SPEC.md §4.1): the users file, Argon2id verification of
//! HTTP Basic credentials, a verified-credential cache and per-name
//! throttling — one file each, combined by the [`Authenticator`].
//!
//! - `users_file`: reading, checking and rewriting the users file;
//! - `password`: Argon2id hashes;
//! - `basic`: parsing the `Authorization` value;
//! - `cache`: credentials verified recently, under their HMAC;
//! - `throttle`: failure counts and delays per user name;
//! - `authenticator`: the check a request goes through.
//!
//! Nothing here logs or prints a password, an `Authorization` value or a
//! password hash.

mod authenticator;
mod basic;
mod cache;
mod password;
mod throttle;
mod users_file;

#[cfg(test)]
mod test_fixtures;

pub use authenticator::{AuthOutcome, Authenticator, Principal};
pub use basic::AUTHORIZATION_BYTES_MAX;
pub use cache::{CACHE_ENTRIES_MAX, CACHE_IDLE_SECS};
pub use password::{
    check_new_password, hash_password, ARGON2_M_COST_KIB_MAX, ARGON2_OUTPUT_BYTES_MIN, ARGON2_P_COST_MAX,
    ARGON2_SALT_BYTES_MIN, ARGON2_T_COST_MAX, PASSWORD_CHARS_MIN,
};
pub use throttle::{FAILURES_BEFORE_THROTTLE, FAILURE_WINDOW_SECS, THROTTLE_DELAY_SECS_MAX, THROTTLE_ENTRIES_MAX};
pub use users_file::{
    add_or_replace_user, change_password, remove_user, AuthError, Users, NAME_CHARS_MAX, ROLE_CHARS_MAX,
    USERS_FILE_BYTES_MAX, USERS_MAX,
};
