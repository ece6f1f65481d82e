//! Who is calling: the users file, Argon2id verification of HTTP Basic
//! credentials, a verified-credential cache and per-name throttling
//! (SPEC.md §4.1).
//!
//! The module knows nothing of HTTP status codes, warp or the rule set: it
//! turns the raw `Authorization` value into an [`AuthOutcome`], and the HTTP
//! layer maps that to 200/401/429. Roles are plain strings here; the server
//! checks them against the rule set with [`Users::roles`].
//!
//! Three costs shape the design:
//! - Argon2id is deliberately slow (tens of milliseconds per check), so a
//!   credential that has been verified once is remembered for a while under an
//!   HMAC of the credential — never the password itself.
//! - An attacker must not learn which user names exist, so an unknown name
//!   costs one Argon2id run against a dummy hash, like a wrong password.
//! - An attacker must not be able to guess passwords quickly, nor lock a
//!   working cash desk out: failures throttle one name, and a credential that
//!   is already in the cache passes even while its name is throttled.
//!
//! Nothing here logs or prints a password, an `Authorization` value or a
//! password hash.

use arc_swap::ArcSwap;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Longest user name. Names end up in logs and history entries.
pub const NAME_CHARS_MAX: usize = 64;
/// Longest role name; real roles come from the rule set and are short.
pub const ROLE_CHARS_MAX: usize = 64;
/// Most users one file may hold.
pub const USERS_MAX: usize = 10_000;
/// Largest users file we read; anything bigger is not a users file.
pub const USERS_FILE_BYTES_MAX: u64 = 1024 * 1024;
/// Longest `Authorization` value we look at; longer ones are refused before
/// any decoding, so a huge header costs nothing.
pub const AUTHORIZATION_BYTES_MAX: usize = 4096;

/// Upper bounds on the Argon2id parameters a users file may ask for. A hash
/// is verified on a request thread, so a hand-edited `m=4194304` would let
/// one login take gigabytes of memory.
pub const ARGON2_M_COST_KIB_MAX: u32 = 256 * 1024;
pub const ARGON2_T_COST_MAX: u32 = 16;
pub const ARGON2_P_COST_MAX: u32 = 16;
/// Shortest salt and hash output accepted; shorter ones are not worth having.
pub const ARGON2_SALT_BYTES_MIN: usize = 8;
pub const ARGON2_OUTPUT_BYTES_MIN: usize = 16;

/// Verified-credential cache: at most this many entries ...
pub const CACHE_ENTRIES_MAX: usize = 10_000;
/// ... each forgotten after this long without use.
pub const CACHE_IDLE_SECS: u64 = 5 * 60;

/// Consecutive failures of one name before further attempts are throttled.
pub const FAILURES_BEFORE_THROTTLE: u32 = 5;
/// Failures older than this are forgotten.
pub const FAILURE_WINDOW_SECS: u64 = 15 * 60;
/// The throttle delay doubles from 1 s with each further failure, up to this.
pub const THROTTLE_DELAY_SECS_MAX: u64 = 5 * 60;
/// Most names the throttle table tracks; an attacker may spray names.
pub const THROTTLE_ENTRIES_MAX: usize = 10_000;

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
}

/// One user of the users file.
#[derive(Clone)]
struct User {
    name: String,
    role: String,
    /// Argon2id PHC string, checked when the file was loaded. Shared with
    /// cache entries so a hit can confirm the hash has not changed.
    hash: Arc<str>,
}

/// A checked users file: every name is usable and unique, every hash is an
/// Argon2id PHC string with sane parameters.
#[derive(Clone, Default)]
pub struct Users {
    /// In file order, so rewriting the file keeps its order.
    users: Vec<User>,
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
             # Add or replace a user with `cashdesk user add`.\n\n{body}"
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

/// Checks that `hash` is an Argon2id PHC string we can verify against.
///
/// The messages never quote any part of the string: a plain password pasted
/// into the `hash` field would otherwise end up in an error message.
fn check_hash(hash: &str) -> Result<(), String> {
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

/// Adds a user, or replaces the role and password of an existing one, in the
/// users file at `path` (created if missing). The file is replaced
/// atomically, so a crash leaves either the old or the new file, and on unix
/// it is readable by its owner only.
pub fn add_or_replace_user(path: &Path, name: &str, role: &str, password: &str) -> Result<(), AuthError> {
    check_name(name).map_err(AuthError::InvalidUser)?;
    check_role(role).map_err(AuthError::InvalidUser)?;
    if password.is_empty() {
        return Err(AuthError::InvalidUser("password must not be empty".into()));
    }
    let mut users = match read_limited(path) {
        Ok(text) => Users::parse(&text, &path.display().to_string())?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Users::default(),
        Err(error) => return Err(AuthError::Read { path: path.to_path_buf(), error }),
    };
    let user = User { name: name.to_string(), role: role.to_string(), hash: Arc::from(hash_password(password)) };
    let full = users.users.len() >= USERS_MAX;
    match users.users.iter_mut().find(|u| u.name == name) {
        Some(existing) => *existing = user,
        None if full => return Err(AuthError::InvalidUser(format!("the users file already holds {USERS_MAX} users"))),
        None => users.users.push(user),
    }
    write_atomically(path, users.to_toml().as_bytes())
        .map_err(|error| AuthError::Write { path: path.to_path_buf(), error })
}

/// Temp file in the same directory (so the rename cannot cross file
/// systems), fsync, rename over the target, fsync the directory so the
/// rename itself survives a crash.
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

    if let Err(e) = write_and_rename(&tmp, path, bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    #[cfg(unix)]
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(())
}

fn write_and_rename(tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(tmp)?;
    // The umask can only have removed bits, but set the mode anyway so the
    // result does not depend on the caller's environment.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(tmp, path)
}

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

/// A hash of a password nobody knows, with default parameters: verifying an
/// unknown user's password against it costs what a known user's costs.
/// Computed once per process, at the first [`Authenticator::new`].
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        hash_password(&base64::engine::general_purpose::STANDARD.encode(secret))
    })
}

/// Checks HTTP Basic credentials against the users; see the module docs.
///
/// Synchronous and CPU-bound (one Argon2id run on a cache miss): call it from
/// a blocking thread. Locks are never held while Argon2id runs.
pub struct Authenticator {
    users: ArcSwap<UserTable>,
    /// Random per process, so the cache keys mean nothing outside it.
    mac_key: [u8; 32],
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
        Authenticator {
            users: ArcSwap::from_pointee(UserTable::from(users)),
            mac_key,
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
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key).expect("HMAC takes a key of any length");
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

fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// Splits `Basic base64(user:password)` into user and password. `None` for
/// anything else, including names no user can have (empty, too long,
/// control characters), which are refused without running Argon2id: no
/// such user exists, so refusing quickly reveals nothing.
fn parse_basic(value: &str) -> Option<(String, String)> {
    use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode};
    // RFC 7617 says padded standard base64; some clients drop the padding.
    const BASE64: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    if value.len() > AUTHORIZATION_BYTES_MAX {
        return None;
    }
    let (scheme, credentials) = value.trim().split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64.decode(credentials.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (name, password) = decoded.split_once(':')?;
    if name.is_empty() || name.chars().count() > NAME_CHARS_MAX || name.chars().any(char::is_control) {
        return None;
    }
    Some((name.to_string(), password.to_string()))
}

/// Recently verified credentials, keyed by their HMAC.
struct Cache {
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
    fn new(capacity: usize, idle: Duration) -> Cache {
        Cache { entries: HashMap::new(), capacity, idle }
    }

    /// The hash a fresh entry was verified against; a hit counts as use.
    ///
    /// Expiry is by idle time, not age: a desk in constant use stays cached,
    /// so it is never sent back to a name throttled by someone else's
    /// failures. Staying cached is safe because the entry is tied to the hash.
    fn get(&mut self, mac: &[u8; 32], name: &str, now: Instant) -> Option<Arc<str>> {
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

    fn insert(&mut self, mac: [u8; 32], name: &str, hash: Arc<str>, now: Instant) {
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

    fn clear(&mut self) {
        self.entries.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Failure counts per user name, known or not (treating unknown names
/// differently would tell an attacker which names exist).
struct Throttle {
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
    fn new(capacity: usize) -> Throttle {
        Throttle { entries: HashMap::new(), capacity }
    }

    /// May this name run Argon2id now? `Err(seconds to wait)` if not.
    ///
    /// Below the threshold, as many parallel attempts are admitted as there
    /// are failures left before it; after a delay has passed, one at a time.
    fn admit(&mut self, name: &str, now: Instant) -> Result<(), u64> {
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
    fn finish(&mut self, name: &str, success: bool, now: Instant) {
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
    fn len(&self) -> usize {
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

    // Argon2id is slow in debug builds, so the tests share one hash and keep
    // the number of verifications small. The password contains `:` on
    // purpose: everything after the first `:` of the header is password.
    const PASSWORD: &str = "correct:horse:battery";

    fn shared_hash() -> &'static str {
        static HASH: OnceLock<String> = OnceLock::new();
        HASH.get_or_init(|| hash_password(PASSWORD))
    }

    fn users_text(users: &[(&str, &str)]) -> String {
        users
            .iter()
            .map(|(name, role)| {
                format!("[[user]]\nname = \"{name}\"\nrole = \"{role}\"\nhash = \"{}\"\n\n", shared_hash())
            })
            .collect()
    }

    fn users(list: &[(&str, &str)]) -> Users {
        Users::parse(&users_text(list), "test.toml").unwrap()
    }

    fn basic(name: &str, password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}")))
    }

    fn ok(name: &str, role: &str) -> AuthOutcome {
        AuthOutcome::Ok(Principal { name: name.into(), role: role.into() })
    }

    fn desks() -> Authenticator {
        Authenticator::new(users(&[("desk1", "cashier"), ("boss", "director")]))
    }

    fn parse_error(text: &str) -> String {
        Users::parse(text, "users.toml").unwrap_err().to_string()
    }

    // A well-formed Argon2id PHC string (never verified, so computing it
    // would waste an Argon2id run).
    const FAKE_HASH: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE";

    fn entry(name: &str, role: &str, hash: &str) -> String {
        format!("[[user]]\nname = \"{name}\"\nrole = \"{role}\"\nhash = \"{hash}\"\n")
    }

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
    fn unpadded_base64_and_extra_spaces_are_accepted() {
        assert_eq!(parse_basic("basic   ZGVzazE6cHc  "), Some(("desk1".into(), "pw".into())));
        assert_eq!(parse_basic("Basic ZGVzazE6cHc="), Some(("desk1".into(), "pw".into())));
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
