//! Fixtures the auth unit tests share: one real Argon2id hash, users files
//! built from (name, role) lists, Basic headers.

use super::{hash_password, AuthOutcome, Authenticator, Principal, Users};
use base64::Engine as _;
use std::sync::OnceLock;

// Argon2id is slow in debug builds, so the tests share one hash and keep
// the number of verifications small. The password contains `:` on
// purpose: everything after the first `:` of the header is password.
pub(crate) const PASSWORD: &str = "correct:horse:battery";

pub(crate) fn shared_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(PASSWORD))
}

pub(crate) fn users_text(users: &[(&str, &str)]) -> String {
    users
        .iter()
        .map(|(name, role)| format!("[[user]]\nname = \"{name}\"\nrole = \"{role}\"\nhash = \"{}\"\n\n", shared_hash()))
        .collect()
}

pub(crate) fn users(list: &[(&str, &str)]) -> Users {
    Users::parse(&users_text(list), "test.toml").unwrap()
}

pub(crate) fn basic(name: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}")))
}

pub(crate) fn ok(name: &str, role: &str) -> AuthOutcome {
    AuthOutcome::Ok(Principal { name: name.into(), role: role.into() })
}

pub(crate) fn desks() -> Authenticator {
    Authenticator::new(users(&[("desk1", "cashier"), ("boss", "director")]))
}

pub(crate) fn parse_error(text: &str) -> String {
    Users::parse(text, "users.toml").unwrap_err().to_string()
}

// A well-formed Argon2id PHC string (never verified, so computing it
// would waste an Argon2id run).
pub(crate) const FAKE_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE";

pub(crate) fn entry(name: &str, role: &str, hash: &str) -> String {
    format!("[[user]]\nname = \"{name}\"\nrole = \"{role}\"\nhash = \"{hash}\"\n")
}
