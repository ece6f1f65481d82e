//! Passwords and their Argon2id hashes: what a new password must be, making
//! a hash, checking that a PHC string from the users file is one we are
//! willing to verify, and verifying a password against it.
//!
//! Argon2id is deliberately slow (tens of milliseconds per check); the
//! parameter bounds keep a hand-edited file from making one login cost
//! gigabytes of memory.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use base64::Engine as _;
use rand::RngCore;
use std::sync::OnceLock;

/// The shortest new password `cashdesk user add|passwd` accepts unless told
/// otherwise.
pub const PASSWORD_CHARS_MIN: usize = 12;

/// Upper bounds on the Argon2id parameters a users file may ask for. A hash
/// is verified on a request thread, so a hand-edited `m=4194304` would let
/// one login take gigabytes of memory.
pub const ARGON2_M_COST_KIB_MAX: u32 = 256 * 1024;
pub const ARGON2_T_COST_MAX: u32 = 16;
pub const ARGON2_P_COST_MAX: u32 = 16;
/// Shortest salt and hash output accepted; shorter ones are not worth having.
pub const ARGON2_SALT_BYTES_MIN: usize = 8;
pub const ARGON2_OUTPUT_BYTES_MIN: usize = 16;

/// The messages never quote any part of the string: a plain password pasted
/// into the `hash` field would otherwise end up in an error message.
pub(super) fn check_hash(hash: &str) -> Result<(), String> {
    let parsed =
        PasswordHash::new(hash).map_err(|_| "expected `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`".to_string())?;
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return Err("the algorithm is not `argon2id`".into());
    }
    if parsed.version != Some(argon2::Version::V0x13 as u32) {
        return Err("the version must be `v=19`".into());
    }
    let params = Params::try_from(&parsed).map_err(|_| "the parameters are not valid Argon2 parameters".to_string())?;
    if params.m_cost() > ARGON2_M_COST_KIB_MAX
        || params.t_cost() > ARGON2_T_COST_MAX
        || params.p_cost() > ARGON2_P_COST_MAX
    {
        return Err(format!(
            "the parameters exceed m={ARGON2_M_COST_KIB_MAX}, t={ARGON2_T_COST_MAX}, p={ARGON2_P_COST_MAX}"
        ));
    }
    let salt = parsed.salt.ok_or("the salt is missing")?;
    let mut salt_bytes = [0u8; 64];
    let salt_len = salt.decode_b64(&mut salt_bytes).map_err(|_| "the salt is not valid base64".to_string())?.len();
    if salt_len < ARGON2_SALT_BYTES_MIN {
        return Err(format!("the salt is shorter than {ARGON2_SALT_BYTES_MIN} bytes"));
    }
    let output = parsed.hash.ok_or("the hash output is missing")?;
    if output.len() < ARGON2_OUTPUT_BYTES_MIN {
        return Err(format!("the hash output is shorter than {ARGON2_OUTPUT_BYTES_MIN} bytes"));
    }
    Ok(())
}

/// Checks a new password against the minimum length, counted in characters
/// (not bytes: a Cyrillic password is not twice as long as a Latin one).
/// The message says both lengths and never quotes the password.
pub fn check_new_password(password: &str, min_chars: usize) -> Result<(), String> {
    let chars = password.chars().count();
    if chars == 0 {
        return Err("the password is empty".into());
    }
    if chars < min_chars {
        return Err(format!("the password is {chars} characters long; it must have at least {min_chars}"));
    }
    Ok(())
}

/// Hashes a password with Argon2id, default parameters and a random salt,
/// as a PHC string for the users file.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        // Only fails for out-of-range inputs (salt, output length, a password
        // over 4 GiB), none of which default parameters can produce.
        .expect("Argon2id with default parameters hashes any password")
        .to_string()
}

pub(super) fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// A hash of a password nobody knows, with default parameters: verifying an
/// unknown user's password against it costs what a known user's costs.
/// Computed once per process, at the first [`Authenticator::new`](super::Authenticator::new).
pub(super) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        hash_password(&base64::engine::general_purpose::STANDARD.encode(secret))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_shorter_than_the_minimum_are_refused_by_character_count() {
        assert_eq!(check_new_password("", 0), Err("the password is empty".into()));
        let message = check_new_password("short-pw", PASSWORD_CHARS_MIN).unwrap_err();
        assert_eq!(message, "the password is 8 characters long; it must have at least 12");
        assert!(!message.contains("short-pw"));
        assert_eq!(check_new_password("twelve-chars", PASSWORD_CHARS_MIN), Ok(()));
        // 11 Cyrillic characters are 22 bytes, still too short.
        assert!(check_new_password("пароль-длин", PASSWORD_CHARS_MIN).is_err());
        assert_eq!(check_new_password("пароль-длинн", PASSWORD_CHARS_MIN), Ok(()));
        assert_eq!(check_new_password("x", 1), Ok(()));
    }
}
