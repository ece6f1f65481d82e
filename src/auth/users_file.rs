//! The users file (SPEC.md §4.1): reading and checking it, and rewriting it
//! atomically when a user is added, replaced, removed or given a new
//! password.
//!
//! Messages never quote a password or a password hash.

use super::password::{check_hash, hash_password};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Longest user name. Names end up in logs and history entries.
pub const NAME_CHARS_MAX: usize = 64;
/// Longest role name; real roles come from the rule set and are short.
pub const ROLE_CHARS_MAX: usize = 64;
/// Most users one file may hold.
pub const USERS_MAX: usize = 10_000;
/// Largest users file we read; anything bigger is not a users file.
pub const USERS_FILE_BYTES_MAX: u64 = 1024 * 1024;

/// Why a users file or a user could not be read, checked or written.
///
/// Messages never contain a password or a password hash.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read users file `{}`: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },
    #[error("cannot write users file `{}`: {error}", path.display())]
    Write { path: PathBuf, error: io::Error },
    /// `at` is `file` or `file:line:column`.
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
    /// A name, role or password given to [`add_or_replace_user`] is unusable.
    #[error("{0}")]
    InvalidUser(String),
    /// [`remove_user`] or [`change_password`] named a user the file lacks.
    #[error("there is no user `{}` in {}", name.escape_debug(), path.display())]
    NoSuchUser { name: String, path: PathBuf },
}

/// One user of the users file.
#[derive(Clone)]
pub(super) struct User {
    pub(super) name: String,
    pub(super) role: String,
    /// Argon2id PHC string, checked when the file was loaded. Shared with
    /// cache entries so a hit can confirm the hash has not changed.
    pub(super) hash: Arc<str>,
}

/// A checked users file: every name is usable and unique, every hash is an
/// Argon2id PHC string with sane parameters.
#[derive(Clone, Default)]
pub struct Users {
    /// In file order, so rewriting the file keeps its order.
    pub(super) users: Vec<User>,
}

// Written by hand: the derived Debug would print the password hashes, which
// are offline-crackable and do not belong in logs.
impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.roles()).finish()
    }
}

/// The users file exactly as TOML spells it; [`Users::parse`] checks it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    user: Vec<RawUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: toml::Spanned<String>,
    role: toml::Spanned<String>,
    hash: toml::Spanned<String>,
}

#[derive(Serialize)]
struct OutFile<'a> {
    user: Vec<OutUser<'a>>,
}

#[derive(Serialize)]
struct OutUser<'a> {
    name: &'a str,
    role: &'a str,
    hash: &'a str,
}

impl Users {
    /// Reads and checks a users file.
    pub fn load(path: &Path) -> Result<Users, AuthError> {
        let text = read_limited(path).map_err(|error| AuthError::Read { path: path.to_path_buf(), error })?;
        Users::parse(&text, &path.display().to_string())
    }

    /// Checks the text of a users file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Users, AuthError> {
        let at = |offset: Option<usize>| match offset {
            Some(offset) => {
                let (line, column) = line_column(text, offset);
                format!("{origin}:{line}:{column}")
            }
            None => origin.to_string(),
        };
        // `message()` and not the error's Display: Display quotes the
        // offending source line, which may be the line holding a hash.
        let raw: RawFile = toml::from_str(text).map_err(|e| AuthError::Invalid {
            at: at(e.span().map(|s| s.start)),
            message: e.message().trim_end().to_string(),
        })?;
        if raw.user.len() > USERS_MAX {
            return Err(AuthError::Invalid { at: at(None), message: format!("more than {USERS_MAX} users") });
        }

        let mut users: Vec<User> = Vec::with_capacity(raw.user.len());
        let mut first_line: HashMap<String, usize> = HashMap::new();
        for raw_user in raw.user {
            let name_at = raw_user.name.span().start;
            let name = raw_user.name.into_inner();
            let invalid = |offset: usize, message: String| AuthError::Invalid { at: at(Some(offset)), message };
            check_name(&name).map_err(|m| invalid(name_at, m))?;
            if let Some(line) = first_line.get(&name) {
                return Err(invalid(name_at, format!("duplicate user name `{name}` (first defined on line {line})")));
            }
            first_line.insert(name.clone(), line_column(text, name_at).0);

            let role_at = raw_user.role.span().start;
            let role = raw_user.role.into_inner();
            check_role(&role).map_err(|m| invalid(role_at, format!("user `{name}`: {m}")))?;

            let hash_at = raw_user.hash.span().start;
            let hash = raw_user.hash.into_inner();
            check_hash(&hash).map_err(|m| {
                invalid(hash_at, format!("user `{name}`: hash is not a usable Argon2id PHC string: {m}"))
            })?;

            users.push(User { name, role, hash: Arc::from(hash) });
        }
        Ok(Users { users })
    }

    /// Each user's name and role, in file order; the server checks the roles
    /// against the rule set.
    pub fn roles(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.users.iter().map(|u| (u.name.as_str(), u.role.as_str()))
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    fn to_toml(&self) -> String {
        let out = OutFile {
            user: self.users.iter().map(|u| OutUser { name: &u.name, role: &u.role, hash: &u.hash }).collect(),
        };
        let body = toml::to_string(&out).expect("a list of plain strings always serialises");
        format!(
            "# cashdesk users: name, role and an Argon2id hash of the password.\n\
             # Manage the users with `cashdesk user add|passwd|remove|list`.\n\n{body}"
        )
    }
}

/// Reads at most [`USERS_FILE_BYTES_MAX`] bytes, refusing bigger files.
fn read_limited(path: &Path) -> io::Result<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(USERS_FILE_BYTES_MAX + 1).read_to_string(&mut text)?;
    if text.len() as u64 > USERS_FILE_BYTES_MAX {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("larger than {USERS_FILE_BYTES_MAX} bytes")));
    }
    Ok(text)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// A user name must survive HTTP Basic (which splits at the first `:`) and
/// be safe to write into logs and history.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("user name must not be empty".into());
    }
    if name.chars().count() > NAME_CHARS_MAX {
        return Err(format!("user name `{}` is longer than {NAME_CHARS_MAX} characters", name.escape_debug()));
    }
    if name.contains(':') {
        return Err(format!(
            "user name `{}` must not contain `:` (HTTP Basic splits user and password at the first `:`)",
            name.escape_debug()
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("user name `{}` must not contain control characters", name.escape_debug()));
    }
    if name.trim() != name {
        return Err(format!("user name `{}` must not start or end with whitespace", name.escape_debug()));
    }
    Ok(())
}

fn check_role(role: &str) -> Result<(), String> {
    if role.trim().is_empty() {
        return Err("role must not be empty".into());
    }
    if role.chars().count() > ROLE_CHARS_MAX || role.chars().any(char::is_control) {
        return Err(format!(
            "role `{}` must be at most {ROLE_CHARS_MAX} characters without control characters",
            role.escape_debug()
        ));
    }
    Ok(())
}

/// Adds a user, or replaces the role and password of an existing one, in the
/// users file at `path` (created if missing, readable by its owner only).
/// See [`edit_file`] for how the file is replaced.
pub fn add_or_replace_user(path: &Path, name: &str, role: &str, password: &str) -> Result<(), AuthError> {
    check_name(name).map_err(AuthError::InvalidUser)?;
    check_role(role).map_err(AuthError::InvalidUser)?;
    check_not_empty(password)?;
    edit_file(path, Missing::Create, |users| {
        let user = User { name: name.to_string(), role: role.to_string(), hash: Arc::from(hash_password(password)) };
        let full = users.len() >= USERS_MAX;
        match users.iter_mut().find(|u| u.name == name) {
            Some(existing) => *existing = user,
            None if full => {
                return Err(AuthError::InvalidUser(format!("the users file already holds {USERS_MAX} users")))
            }
            None => users.push(user),
        }
        Ok(())
    })
}

/// Removes a user from the users file; returns the role it had.
pub fn remove_user(path: &Path, name: &str) -> Result<String, AuthError> {
    edit_file(path, Missing::Refuse, |users| {
        let at = users.iter().position(|u| u.name == name).ok_or_else(|| no_such_user(path, name))?;
        Ok(users.remove(at).role)
    })
}

/// Sets a new password for an existing user; returns the user's role, which
/// stays as it was.
pub fn change_password(path: &Path, name: &str, password: &str) -> Result<String, AuthError> {
    check_not_empty(password)?;
    edit_file(path, Missing::Refuse, |users| {
        let user = users.iter_mut().find(|u| u.name == name).ok_or_else(|| no_such_user(path, name))?;
        user.hash = Arc::from(hash_password(password));
        Ok(user.role.clone())
    })
}

fn check_not_empty(password: &str) -> Result<(), AuthError> {
    if password.is_empty() {
        return Err(AuthError::InvalidUser("password must not be empty".into()));
    }
    Ok(())
}

fn no_such_user(path: &Path, name: &str) -> AuthError {
    AuthError::NoSuchUser { name: name.to_string(), path: path.to_path_buf() }
}

/// What [`edit_file`] does when there is no users file yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Missing {
    Create,
    Refuse,
}

/// Reads and checks the users file, lets `change` edit its users, and
/// replaces the file atomically: a crash leaves either the old or the new
/// file, never half of one. A file that does not check, or a refused change,
/// leaves the file as it was. The new file keeps the old one's permissions
/// (and, on unix, its owner and group), and a symbolic link stays a link to
/// the file it named.
fn edit_file<T>(
    path: &Path,
    missing: Missing,
    change: impl FnOnce(&mut Vec<User>) -> Result<T, AuthError>,
) -> Result<T, AuthError> {
    let read_error = |error| AuthError::Read { path: path.to_path_buf(), error };
    let target = match std::fs::canonicalize(path) {
        Ok(real) => Some(real),
        Err(e) if e.kind() == io::ErrorKind::NotFound && missing == Missing::Create => None,
        Err(error) => return Err(read_error(error)),
    };
    let mut users = match &target {
        Some(real) => Users::parse(&read_limited(real).map_err(read_error)?, &path.display().to_string())?,
        None => Users::default(),
    };
    let answer = change(&mut users.users)?;
    debug_assert!(users.users.len() <= USERS_MAX);
    write_atomically(target.as_deref().unwrap_or(path), users.to_toml().as_bytes())
        .map_err(|error| AuthError::Write { path: path.to_path_buf(), error })?;
    Ok(answer)
}

/// Temp file in the same directory (so the rename cannot cross file
/// systems), with the target's permissions, fsync, rename over the target,
/// fsync the directory so the rename itself survives a crash.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.{:016x}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        rand::rngs::OsRng.next_u64()
    ));
    let existing = match std::fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Err(e) = write_and_rename(&tmp, path, bytes, existing.as_ref()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    #[cfg(unix)]
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(())
}

fn write_and_rename(tmp: &Path, path: &Path, bytes: &[u8], existing: Option<&std::fs::Metadata>) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(tmp)?;
    keep_permissions(&file, existing)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(tmp, path)
}

/// Gives the new file the old one's mode, owner and group, or mode 0600 for
/// a new file. Set explicitly, not through the open mode, so the result does
/// not depend on the caller's umask. If the owner cannot be kept (not root,
/// someone else's file), the edit is refused rather than leaving a file the
/// server may no longer be allowed to read.
#[cfg(unix)]
fn keep_permissions(file: &std::fs::File, existing: Option<&std::fs::Metadata>) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let Some(old) = existing else {
        return file.set_permissions(std::fs::Permissions::from_mode(0o600));
    };
    let new = file.metadata()?;
    if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
        std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot keep the file's owner {}:{} ({e})", old.uid(), old.gid()))
        })?;
    }
    file.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))
}

#[cfg(not(unix))]
fn keep_permissions(file: &std::fs::File, existing: Option<&std::fs::Metadata>) -> io::Result<()> {
    match existing {
        Some(old) => file.set_permissions(old.permissions()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_fixtures::*;
    use crate::auth::{AuthOutcome, Authenticator};

    #[test]
    fn parse_accepts_a_valid_file_and_lists_roles() {
        let text = entry("desk1", "cashier", FAKE_HASH) + &entry("boss", "director", FAKE_HASH);
        let users = Users::parse(&text, "users.toml").unwrap();
        let roles: Vec<_> = users.roles().collect();
        assert_eq!(roles, [("desk1", "cashier"), ("boss", "director")]);
        assert_eq!(Users::parse("", "empty.toml").unwrap().len(), 0);
    }

    #[test]
    fn parse_refuses_hashes_that_are_not_argon2id_and_never_quotes_them() {
        let argon2i = FAKE_HASH.replace("argon2id", "argon2i");
        let old_version = FAKE_HASH.replace("v=19", "v=16");
        let huge_memory = FAKE_HASH.replace("m=19456", "m=4194304");
        let no_salt = "$argon2id$v=19$m=19456,t=2,p=1";
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        for hash in [
            "hunter2-plain-password",
            "$hunter2",
            argon2i.as_str(),
            old_version.as_str(),
            huge_memory.as_str(),
            no_salt,
            bcrypt,
        ] {
            let text = entry("desk1", "cashier", FAKE_HASH) + &entry("desk2", "cashier", hash);
            let message = parse_error(&text);
            assert!(message.starts_with("users.toml:8:"), "{message}");
            assert!(message.contains("desk2"), "{message}");
            assert!(message.to_lowercase().contains("argon2id"), "{message}");
            assert!(!message.contains(hash), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn parse_refuses_empty_colon_control_and_duplicate_names() {
        let message = parse_error(&entry("", "cashier", FAKE_HASH));
        assert!(message.contains("users.toml:2:") && message.contains("empty"), "{message}");

        let message = parse_error(&entry("desk:1", "cashier", FAKE_HASH));
        assert!(message.contains("`desk:1`") && message.contains("`:`"), "{message}");

        let message = parse_error(&entry("desk\\u0000", "cashier", FAKE_HASH));
        assert!(message.contains("control"), "{message}");

        let text = entry("desk1", "cashier", FAKE_HASH) + &entry("desk1", "director", FAKE_HASH);
        let message = parse_error(&text);
        assert!(message.starts_with("users.toml:6:"), "{message}");
        assert!(message.contains("duplicate user name `desk1`") && message.contains("line 2"));

        let message = parse_error(&entry("desk1", "", FAKE_HASH));
        assert!(message.contains("role must not be empty"), "{message}");
    }

    #[test]
    fn parse_errors_do_not_echo_the_offending_line() {
        // An unterminated string on the hash line: toml's own Display would
        // print the line, hash and all.
        let text = format!("[[user]]\nname = \"desk1\"\nrole = \"cashier\"\nhash = \"{FAKE_HASH}\n");
        let message = parse_error(&text);
        assert!(message.starts_with("users.toml:4:"), "{message}");
        assert!(!message.contains("argon2id$"), "{message}");

        let text = entry("desk1", "cashier", FAKE_HASH) + "password = \"hunter2\"\n";
        let message = parse_error(&text);
        assert!(message.contains("password") && !message.contains("hunter2"), "{message}");

        let message = parse_error("[[user]]\nname = \"desk1\"\nrole = \"cashier\"\n");
        assert!(message.contains("hash"), "{message}");
    }

    #[test]
    fn load_names_the_file_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.toml");
        let message = Users::load(&path).unwrap_err().to_string();
        assert!(message.contains("missing.toml"), "{message}");

        let path = dir.path().join("bad.toml");
        std::fs::write(&path, entry("a:b", "cashier", FAKE_HASH)).unwrap();
        let message = Users::load(&path).unwrap_err().to_string();
        assert!(message.contains("bad.toml:2:"), "{message}");
    }

    #[test]
    fn add_or_replace_creates_then_replaces_and_never_stores_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");

        add_or_replace_user(&path, "desk1", "cashier", "first-secret").unwrap();
        add_or_replace_user(&path, "boss", "director", PASSWORD).unwrap();
        add_or_replace_user(&path, "desk1", "senior_employee", "second-secret").unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("first-secret") && !text.contains("second-secret"));
        assert!(!text.contains("horse"));
        let users = Users::load(&path).unwrap();
        let roles: Vec<_> = users.roles().collect();
        assert_eq!(roles, [("desk1", "senior_employee"), ("boss", "director")]);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temp files left behind");

        let auth = Authenticator::new(users);
        let new_password = basic("desk1", "second-secret");
        assert_eq!(auth.check(Some(&new_password)), ok("desk1", "senior_employee"));
        let old_password = basic("desk1", "first-secret");
        assert_eq!(auth.check(Some(&old_password)), AuthOutcome::Unauthorized);
    }

    #[test]
    fn add_or_replace_refuses_bad_input_and_leaves_a_bad_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        for (name, role, password) in
            [("a:b", "cashier", "pw"), ("", "cashier", "pw"), ("desk1", "", "pw"), ("desk1", "cashier", "")]
        {
            let err = add_or_replace_user(&path, name, role, password).unwrap_err();
            assert!(matches!(err, AuthError::InvalidUser(_)), "{err}");
        }
        assert!(!path.exists());

        let broken = "[[user]]\nname = \"desk1\"\n";
        std::fs::write(&path, broken).unwrap();
        let err = add_or_replace_user(&path, "desk2", "cashier", "pw").unwrap_err();
        assert!(err.to_string().contains("users.toml"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    }

    #[test]
    fn change_password_keeps_the_role_and_remove_drops_the_user() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        std::fs::write(&path, users_text(&[("desk1", "cashier"), ("boss", "director")])).unwrap();

        assert_eq!(change_password(&path, "desk1", "a-new-secret").unwrap(), "cashier");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("a-new-secret"));
        let auth = Authenticator::new(Users::load(&path).unwrap());
        assert_eq!(auth.check(Some(&basic("desk1", "a-new-secret"))), ok("desk1", "cashier"));
        assert_eq!(auth.check(Some(&basic("desk1", PASSWORD))), AuthOutcome::Unauthorized);

        assert_eq!(remove_user(&path, "boss").unwrap(), "director");
        let roles: Vec<_> = Users::load(&path).unwrap().roles().map(|(n, r)| (n.to_string(), r.to_string())).collect();
        assert_eq!(roles, [("desk1".to_string(), "cashier".to_string())]);
    }

    #[test]
    fn remove_and_passwd_refuse_an_unknown_user_or_a_missing_file_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        let text = entry("desk1", "cashier", FAKE_HASH);
        std::fs::write(&path, &text).unwrap();
        for err in
            [remove_user(&path, "ghost").unwrap_err(), change_password(&path, "ghost", "long-enough-pw").unwrap_err()]
        {
            assert!(matches!(err, AuthError::NoSuchUser { .. }), "{err}");
            assert_eq!(err.to_string(), format!("there is no user `ghost` in {}", path.display()));
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert!(matches!(change_password(&path, "desk1", ""), Err(AuthError::InvalidUser(_))));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

        let missing = dir.path().join("missing.toml");
        let err = remove_user(&missing, "desk1").unwrap_err();
        assert!(matches!(err, AuthError::Read { .. }) && err.to_string().contains("missing.toml"), "{err}");
        assert!(!missing.exists(), "remove does not create a users file");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temp files left behind");
    }

    #[cfg(unix)]
    #[test]
    fn a_rewrite_keeps_the_permissions_and_a_symbolic_link() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real-users.toml");
        std::fs::write(&real, entry("desk1", "cashier", FAKE_HASH)).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("users.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        add_or_replace_user(&link, "desk2", "cashier", "long-enough-pw").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(Users::load(&real).unwrap().len(), 2);

        remove_user(&link, "desk1").unwrap();
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(Users::load(&link).unwrap().len(), 1);
    }
}
