//! One door for HTTP tests: `spawn_app()` starts the real `cashdesk` binary on
//! a random port with a temporary store, one user per role, and the shipped
//! rules; `App` sends requests and reads the envelope.
#![allow(dead_code)]

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ROLES: [&str; 7] =
    ["client", "call_center", "marketer", "senior_employee", "director", "administrator", "cashier"];
pub const PASSWORD: &str = "pw-for-tests";

/// Cheap Argon2id parameters: the server verifies whatever parameters the
/// PHC string names, and the tests should not spend seconds per user.
fn cheap_hash(password: &str) -> String {
    let params = Params::new(1024, 1, 1, None).unwrap();
    let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"cashdesk-test-salt").unwrap();
    a.hash_password(password.as_bytes(), &salt).unwrap().to_string()
}

pub fn write_users(path: &Path) {
    let mut text = String::new();
    for role in ROLES {
        text.push_str(&format!(
            "[[user]]\nname = \"{role}\"\nrole = \"{role}\"\nhash = \"{}\"\n\n",
            cheap_hash(PASSWORD)
        ));
    }
    std::fs::write(path, text).unwrap();
}

pub struct App {
    pub addr: String,
    pub dir: PathBuf,
    pub rules: PathBuf,
    /// The data directory (default `dir/data`).
    pub data: PathBuf,
    /// Where the server's standard error goes (default: the test's).
    pub stderr_file: Option<PathBuf>,
    /// `--store` (a PostgreSQL URL), see [`test_store`].
    pub store: Option<String>,
    /// The throwaway database `store` names, dropped with the app.
    pub db: Option<std::sync::Arc<cashdesk_card::store::pg::testing::TestDatabase>>,
    _tmp: Option<tempfile::TempDir>,
    child: Option<Child>,
}

/// The one switch that runs these tests on PostgreSQL:
/// `CASHDESK_TEST_STORE=postgres` (with `CASHDESK_TEST_PG`) gives every app
/// a fresh database of its own; otherwise the store is sled in `data`.
pub fn test_store() -> Option<std::sync::Arc<cashdesk_card::store::pg::testing::TestDatabase>> {
    match std::env::var("CASHDESK_TEST_STORE").as_deref() {
        Ok("postgres") => Some(std::sync::Arc::new(
            cashdesk_card::store::pg::testing::TestDatabase::create(false)
                .expect("CASHDESK_TEST_STORE=postgres needs CASHDESK_TEST_PG"),
        )),
        _ => None,
    }
}

pub fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// Starts a server on a fresh temporary store with its own copy of the
/// shipped rules in `dir/rules`, which a test may edit and reload.
pub fn spawn_app_with_own_rules() -> App {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    write_users(&dir.join("users.toml"));
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for entry in std::fs::read_dir(rules_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), rules.join(entry.file_name())).unwrap();
    }
    let mut app = App {
        addr: String::new(),
        data: dir.join("data"),
        dir,
        rules,
        stderr_file: None,
        store: None,
        db: test_store(),
        _tmp: Some(tmp),
        child: None,
    };
    app.start();
    app
}

/// Starts a server on a fresh temporary store.
pub fn spawn_app() -> App {
    let mut app = new_app();
    app.start();
    app
}

/// A server's files (users, data directory) with the server not started,
/// for a test that sets it up first.
pub fn new_app() -> App {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    write_users(&dir.join("users.toml"));
    App {
        addr: String::new(),
        data: dir.join("data"),
        dir,
        rules: rules_dir(),
        stderr_file: None,
        store: None,
        db: test_store(),
        _tmp: Some(tmp),
        child: None,
    }
}

impl App {
    /// The `--store` this app's server gets, if not sled in `data`.
    pub fn store_url(&self) -> Option<String> {
        self.store.clone().or_else(|| self.db.as_ref().map(|d| d.url().to_string()))
    }

    /// (Re)starts the server process on this app's data directory.
    pub fn start(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cashdesk"))
            .args(["serve", "--data"])
            .arg(&self.data)
            .arg("--rules")
            .arg(&self.rules)
            .arg("--users")
            .arg(self.dir.join("users.toml"))
            .args(["--listen", "127.0.0.1:0"])
            .args(self.store_url().map(|u| format!("--store={u}")))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(match &self.stderr_file {
                Some(f) => Stdio::from(std::fs::OpenOptions::new().create(true).append(true).open(f).unwrap()),
                None => Stdio::inherit(),
            })
            .spawn()
            .expect("start cashdesk");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().rsplit("http://").next().unwrap_or("").to_string();
        assert!(!addr.is_empty(), "server did not say where it listens: {line:?}");
        self.addr = addr;
        self.child = Some(child);
    }

    /// A function that sends SIGKILL to the running server without waiting
    /// for it (usable while other threads still talk to it); then [`App::reap`].
    pub fn pid_killer(&self) -> impl FnMut() {
        let pid = self.child.as_ref().expect("running").id();
        move || unsafe_kill(pid, "KILL")
    }

    /// Waits for a server killed by [`App::pid_killer`].
    pub fn reap(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL on unix
            let _ = c.wait();
        }
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        unsafe_kill(c.id(), "TERM");
        c.wait().unwrap()
    }

    pub fn hup(&self) {
        unsafe_kill(self.child.as_ref().unwrap().id(), "HUP");
    }

    /// Sends a raw request; returns (HTTP status, headers text, body).
    pub fn raw(&self, method: &str, path: &str, auth: Option<&str>, body: Option<&[u8]>) -> Reply {
        self.try_raw(method, path, auth, body).expect("the server answers")
    }

    /// As [`App::raw`], but `None` when the server cannot be reached or
    /// closes the connection without an answer (a killed server).
    pub fn try_raw(&self, method: &str, path: &str, auth: Option<&str>, body: Option<&[u8]>) -> Option<Reply> {
        let mut s = TcpStream::connect(&self.addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        if let Some(a) = auth {
            req.push_str(&format!("Authorization: {a}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).ok()?;
        if let Some(b) = body {
            // The server may answer (413) before reading everything.
            let _ = s.write_all(b);
        }
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let reply = Reply::parse(&out);
        (reply.status != 0).then_some(reply)
    }

    pub fn as_role(&self, role: &str) -> String {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{role}:{PASSWORD}")))
    }

    pub fn get(&self, role: &str, path: &str) -> Reply {
        self.raw("GET", path, Some(&self.as_role(role)), None)
    }

    pub fn post(&self, role: &str, path: &str, body: &serde_json::Value) -> Reply {
        self.raw("POST", path, Some(&self.as_role(role)), Some(body.to_string().as_bytes()))
    }

    pub fn put(&self, role: &str, path: &str, body: &serde_json::Value) -> Reply {
        self.raw("PUT", path, Some(&self.as_role(role)), Some(body.to_string().as_bytes()))
    }

    // ---- seeding through the admin API ----
    pub fn contact(&self, code: &str, mobile: &str, name: &str) {
        let r = self.put(
            "administrator",
            &format!("/api/admin/contacts/{code}"),
            &serde_json::json!({"MobileNumber": mobile, "Name": name}),
        );
        r.expect_ok();
    }

    pub fn card(&self, number: &str) {
        self.put(
            "administrator",
            &format!("/api/admin/cards/{number}"),
            &serde_json::json!({"CategoryCode": "0", "TypeCode": "0"}),
        )
        .expect_ok();
    }

    pub fn issue(&self, number: &str) -> Reply {
        self.get("cashier", &format!("/api/card/Issue?Number={number}"))
    }

    pub fn bind(&self, number: &str, mobile: &str) -> Reply {
        self.post("cashier", "/api/card/BindTo", &serde_json::json!({"Number": number, "MobileNumber": mobile}))
    }

    pub fn activate(&self, number: &str) -> Reply {
        self.get("cashier", &format!("/api/card/Active?Number={number}"))
    }

    /// A card in status Active bound to a fresh registered contact.
    pub fn active_card(&self, number: &str, code: &str, mobile: &str) {
        self.card(number);
        self.contact(code, mobile, "Иванов Иван");
        self.issue(number).expect_ok();
        self.bind(number, mobile).expect_ok();
        self.activate(number).expect_ok();
    }

    pub fn block(&self, role: &str, number: &str, reason: serde_json::Value) -> Reply {
        self.post(role, "/api/card/Block", &serde_json::json!({"Number": number, "BlockReasonCode": reason}))
    }

    pub fn unblock(&self, role: &str, number: &str, reason: serde_json::Value) -> Reply {
        self.post(role, "/api/card/UnBlock", &serde_json::json!({"Number": number, "UnBlockReasonCode": reason}))
    }

    pub fn status_of(&self, number: &str) -> String {
        let r = self.get("administrator", &format!("/api/card/balance/by/number/{number}"));
        r.expect_ok();
        r.json["StatusCode"].as_str().unwrap().to_string()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn unsafe_kill(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
    pub json: serde_json::Value,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(raw).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            dechunk(body)
        } else {
            body.to_string()
        };
        let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
        Reply { status, head: head.to_string(), body, json }
    }

    pub fn key(&self) -> &str {
        self.json["Key"].as_str().unwrap_or("<no Key>")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    #[track_caller]
    pub fn expect_ok(&self) {
        assert_eq!((self.status, self.key()), (200, "OK"), "body: {}", self.body);
        assert_eq!(self.json["Status"], serde_json::Value::Bool(true));
        assert_eq!(self.json["Value"], "");
    }

    #[track_caller]
    pub fn expect(&self, status: u16, key: &str) {
        assert_eq!((self.status, self.key()), (status, key), "body: {}", self.body);
        assert_eq!(self.json["Status"], serde_json::Value::Bool(key == "OK"), "body: {}", self.body);
        if key != "OK" {
            assert!(!self.json["Value"].as_str().unwrap_or("").is_empty(), "an error explains itself: {}", self.body);
        }
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}
