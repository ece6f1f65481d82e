//! The real `cashdesk serve` with connection-layer flags, for the tests of
//! the connection layer (timeouts, caps, TLS, shutdown): its stderr goes to a
//! file the test can read, and the test can watch its memory and CPU.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "pw-for-tests";

pub struct Served {
    child: Option<Child>,
    flags: Vec<String>,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub stderr: PathBuf,
    _tmp: tempfile::TempDir,
}

/// Options beyond the flags.
#[derive(Default)]
pub struct Launch {
    /// Soft and hard open-files limit for the server process.
    pub open_files: Option<u64>,
    /// Expect https in the "listening on" line.
    pub tls: bool,
}

/// Starts a server on a fresh store with the shipped rules, one user per role
/// and `flags` added, on a random loopback port.
pub fn serve(flags: &[&str]) -> Served {
    serve_with(flags, Launch::default())
}

pub fn serve_with(flags: &[&str], launch: Launch) -> Served {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    crate::common::write_users(&dir.join("users.toml"));
    let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
    let (child, addr, stderr) = spawn(&dir, &flags, &launch);
    Served { child: Some(child), flags, addr, dir, stderr, _tmp: tmp }
}

fn spawn(dir: &Path, flags: &[String], launch: &Launch) -> (Child, SocketAddr, PathBuf) {
    static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let start = STARTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let stderr = dir.join(format!("stderr-{start}.log"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cashdesk"));
    cmd.args(["serve", "--data"])
        .arg(dir.join("data"))
        .arg("--rules")
        .arg(crate::common::rules_dir())
        .arg("--users")
        .arg(dir.join("users.toml"))
        .args(["--listen", "127.0.0.1:0"])
        .args(flags)
        .env("RUST_LOG", "info,sled=warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap());
    if let Some(n) = launch.open_files {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe; nothing else runs here.
        unsafe {
            cmd.pre_exec(move || rlimit::setrlimit(rlimit::Resource::NOFILE, n, n));
        }
    }
    let mut child = cmd.spawn().expect("start cashdesk");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let scheme = if launch.tls { "https://" } else { "http://" };
    let addr = line.trim().rsplit(scheme).next().unwrap_or("").parse().unwrap_or_else(|_| {
        panic!("server did not say where it listens: {line:?}; stderr: {}", std::fs::read_to_string(&stderr).unwrap())
    });
    (child, addr, stderr)
}

impl Served {
    /// Starts the server again on the same data (after it has exited).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "still running");
        let (child, addr, stderr) = spawn(&self.dir, &self.flags, &Launch::default());
        self.child = Some(child);
        self.addr = addr;
        self.stderr = stderr;
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("data").join("cashdesk.pid")
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Resident memory of the server, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// CPU time (user + system) the server has used, in seconds.
    pub fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the parenthesised name: state is field 3; utime 14, stime 15.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
        ticks / clock_ticks_per_sec()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()).status().unwrap();
        assert!(ok.success());
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                self.child = None;
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits up to `limit` for `needle` in the server's stderr.
    pub fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.stderr_text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn clock_ticks_per_sec() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(100.0)
}

/// Raises this test process's own open-files soft limit to its hard limit
/// and returns the soft limit now in force.
pub fn raise_own_open_files() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap()
}

pub fn basic(role: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{role}:{PASSWORD}")))
}

/// A balance request for a card that does not exist (200, CannotFindCardNumber):
/// auth, routing and a store read, no state change.
pub fn balance_request(keep_alive: bool) -> String {
    format!(
        "GET /api/card/balance/by/number/4000000000006 HTTP/1.1\r\nHost: t\r\nAuthorization: {}\r\n{}\r\n",
        basic("cashier"),
        if keep_alive { "" } else { "Connection: close\r\n" }
    )
}

/// The status code and body of a raw HTTP/1.1 answer.
pub fn parse(raw: &[u8]) -> (u16, serde_json::Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

/// One request on a fresh connection (Connection: close); status and body.
pub fn call(addr: SocketAddr, request: &str) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse(&out)
}

/// Reads one answer with a Content-Length from a keep-alive connection.
pub fn read_answer(s: &mut TcpStream) -> std::io::Result<(u16, serde_json::Value)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Ok(parse(&buf[..end + 4 + len]));
            }
        }
        let n = s.read(&mut byte)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed before a whole answer"));
        }
        buf.extend_from_slice(&byte[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The value at quantile `q` (0..1) of `xs`, sorted in place.
pub fn quantile(xs: &mut [Duration], q: f64) -> Duration {
    assert!(!xs.is_empty());
    xs.sort();
    let i = ((xs.len() as f64 - 1.0) * q).round() as usize;
    xs[i]
}

pub fn write_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}
