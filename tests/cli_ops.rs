//! The command line as an operator meets it, through the real binary: a
//! second server on one data directory, `cashdesk log | head`, errors that
//! say each cause once, `--listen` forms, boolean settings, and the
//! flag > environment > config file order for `log` and `import` too.

mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A `cashdesk` command with none of the settings' environment variables
/// inherited from whoever runs the tests.
fn cashdesk() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cashdesk"));
    for var in ["CASHDESK_DATA", "CASHDESK_RULES", "CASHDESK_USERS", "CASHDESK_LISTEN", "CASHDESK_LOG_REQUESTS"] {
        c.env_remove(var);
    }
    c.env_remove("CASHDESK_CONFIG").env_remove("CASHDESK_BODY_LIMIT").env("RUST_LOG", "warn");
    c
}

fn run(mut c: Command) -> Output {
    c.stdin(Stdio::null()).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A data directory with the test users, and the shipped rules.
struct Place {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Place {
    fn new() -> Place {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        common::write_users(&dir.join("users.toml"));
        Place { _tmp: tmp, dir }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `serve` with the data, rules and users flags, plus `args`.
    fn serve_command(&self, args: &[&str]) -> Command {
        self.serve_on(&self.data(), args)
    }

    fn serve_on(&self, data: &Path, args: &[&str]) -> Command {
        let mut c = cashdesk();
        c.arg("serve").arg("--data").arg(data).arg("--rules").arg(common::rules_dir());
        c.arg("--users").arg(self.dir.join("users.toml")).args(args);
        c
    }
}

/// A running server; killed when dropped.
struct Served {
    child: Option<Child>,
    addr: String,
}

/// Starts `command` and waits for the line that says where it listens.
fn start(mut command: Command) -> Served {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap_or("").to_string();
    assert!(line.starts_with("cashdesk listening on http://"), "{line:?}");
    Served { child: Some(child), addr }
}

impl Served {
    /// SIGTERM, then waits: the journal is flushed on the way out.
    fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
        assert!(child.wait().unwrap().success());
    }

    /// Sends one request as the cashier; returns the whole response.
    fn request(&self, method: &str, path: &str, body: &str) -> String {
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("cashier:{}", common::PASSWORD));
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Basic {auth}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
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

#[test]
fn a_second_server_or_an_import_on_a_running_servers_directory_says_another_cashdesk_runs_there() {
    let place = Place::new();
    let first = start(place.serve_command(&["--listen", "127.0.0.1:0"]));

    let second = run(place.serve_command(&["--listen", "127.0.0.1:0"]));
    let expected = format!(
        "error: another cashdesk is running on {}; stop it, or use another data directory\n",
        place.data().display()
    );
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(text(&second.stderr), expected);
    assert_eq!(text(&second.stdout), "", "the second server never says it listens");

    let csv = place.dir.join("contacts.csv");
    std::fs::write(&csv, "Code,MobileNumber,Name\nC-1,+79160000001,Анна\n").unwrap();
    let mut import = cashdesk();
    import.arg("import").arg("--data").arg(place.data()).arg("--rules").arg(common::rules_dir());
    let out = run({
        import.args(["--quiet", "contacts"]).arg(&csv);
        import
    });
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), expected);

    // The first one is unharmed.
    assert!(first.request("GET", "/api/card/balance/by/number/123456", "").contains("CannotFindCardNumber"));
    first.stop();
}

/// Fills the journal with more than a pipe holds: request bodies are logged
/// when CASHDESK_LOG_REQUESTS is on, 1 being one of its accepted spellings.
fn journal_with_bodies(place: &Place) {
    let mut command = place.serve_command(&["--listen", "127.0.0.1:0"]);
    command.env("CASHDESK_LOG_REQUESTS", "1");
    let server = start(command);
    let body =
        format!("{{\"Number\":\"123456\",\"MobileNumber\":\"89160000001\",\"Note\":\"{}\"}}", "x".repeat(15_000));
    for _ in 0..40 {
        assert!(server.request("POST", "/api/card/BindTo", &body).contains("CannotFindCardNumber"));
    }
    server.stop();
}

#[test]
fn log_into_a_reader_that_stops_early_ends_quietly_with_exit_0() {
    let place = Place::new();
    journal_with_bodies(&place);
    let mut log = cashdesk();
    log.arg("log").arg("--data").arg(place.data());
    let whole = run(log);
    assert!(whole.status.success(), "{}", text(&whole.stderr));
    let printed = text(&whole.stdout);
    assert!(printed.matches("request:").count() >= 40, "CASHDESK_LOG_REQUESTS=1 logs the bodies");
    assert!(printed.len() > 256 * 1024, "more than any pipe buffer: {} bytes", printed.len());

    // `cashdesk log | head -1`: the reader goes away after the first line.
    let mut log = cashdesk();
    let mut child =
        log.arg("log").arg("--data").arg(place.data()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("POST /api/card/BindTo"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stderr), "", "no broken-pipe message, no panic");
    assert!(out.status.success(), "{:?}", out.status);
}

#[test]
fn each_cause_is_printed_once() {
    let place = Place::new();
    let missing = place.dir.join("missing.csv");
    let mut import = cashdesk();
    import.arg("import").arg("--data").arg(place.data()).arg("--rules").arg(common::rules_dir());
    import.arg("contacts").arg(&missing);
    let out = run(import);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stderr);
    assert_eq!(said, format!("error: cannot read {}: No such file or directory (os error 2)\n", missing.display()));

    let config = place.dir.join("cashdesk.toml");
    std::fs::write(&config, "listen = \"localhost\"\n").unwrap();
    let mut serve = place.serve_command(&["--config"]);
    serve.arg(&config);
    let out = run(serve);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.starts_with("error: config file: listen: `localhost` has no port; use ADDRESS:PORT"), "{said}");
    assert_eq!(said.matches("has no port").count(), 1, "{said}");
}

fn listening_on(command: Command) -> String {
    let served = start(command);
    let addr = served.addr.clone();
    served.stop();
    addr
}

#[test]
fn listen_takes_a_bare_port_or_a_host_name_from_flag_environment_or_config() {
    let place = Place::new();
    let loopback = |addr: &str| addr.starts_with("127.0.0.1:") && !addr.ends_with(":0");
    let addr = listening_on(place.serve_command(&["--listen", "0"]));
    assert!(loopback(&addr), "a bare port listens on 127.0.0.1: {addr}");
    let addr = listening_on(place.serve_command(&["--listen", "localhost:0"]));
    assert!(loopback(&addr), "localhost is resolved: {addr}");
    let mut command = place.serve_command(&[]);
    command.env("CASHDESK_LISTEN", "localhost:0");
    assert!(loopback(&listening_on(command)));
    let config = place.dir.join("cashdesk.toml");
    std::fs::write(&config, "listen = \"0\"\n").unwrap();
    let mut command = place.serve_command(&["--config"]);
    command.arg(&config);
    assert!(loopback(&listening_on(command)));

    for (bad, says) in [
        ("localhost", "`localhost` has no port; use ADDRESS:PORT"),
        ("70000", "port `70000` is not in 0..=65535"),
        ("no-such-host.invalid:8083", "cannot resolve `no-such-host.invalid`"),
    ] {
        let out = run(place.serve_command(&["--listen", bad]));
        let said = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{said}");
        assert!(said.contains(&format!("invalid value '{bad}' for '--listen <LISTEN>': {says}")), "{said}");
    }
}

/// Whether the server logged request bodies, after one refused BindTo.
fn logs_bodies(place: &Place, args: &[&str], env: Option<&str>) -> bool {
    let _ = std::fs::remove_dir_all(place.data());
    let mut command = place.serve_command(&["--listen", "127.0.0.1:0"]);
    command.args(args);
    if let Some(value) = env {
        command.env("CASHDESK_LOG_REQUESTS", value);
    }
    let server = start(command);
    assert!(server
        .request("POST", "/api/card/BindTo", r#"{"Number":"123456","MobileNumber":"89160000001"}"#)
        .contains("CannotFindCardNumber"));
    server.stop();
    let mut log = cashdesk();
    log.arg("log").arg("--data").arg(place.data());
    let out = run(log);
    assert!(out.status.success());
    let printed = text(&out.stdout);
    assert!(printed.contains("CannotFindCardNumber"), "an integration error is always logged: {printed}");
    printed.contains("request:")
}

#[test]
fn boolean_settings_take_the_usual_spellings_and_the_environment_beats_the_config_file() {
    let place = Place::new();
    // CASHDESK_LOG_REQUESTS=1 is in log_into_a_reader_that_stops_early_…;
    // each case here starts a server, so one spelling per meaning.
    assert!(!logs_bodies(&place, &[], Some("no")), "CASHDESK_LOG_REQUESTS=no");
    assert!(logs_bodies(&place, &["--log-requests"], None));
    assert!(!logs_bodies(&place, &["--log-requests=false"], Some("yes")), "the flag beats the environment");
    let config = place.dir.join("cashdesk.toml");
    std::fs::write(&config, "log_requests = true\n").unwrap();
    let with_config = ["--config", config.to_str().unwrap()];
    assert!(logs_bodies(&place, &with_config, None));
    assert!(!logs_bodies(&place, &with_config, Some("0")), "the environment beats the config file");

    let mut command = place.serve_command(&["--listen", "127.0.0.1:0"]);
    command.env("CASHDESK_LOG_REQUESTS", "maybe");
    let out = run(command);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("invalid value 'maybe' for '--log-requests"), "{said}");
    assert!(said.contains("expected true/false, 1/0, yes/no or on/off"), "{said}");
}

fn import_contacts(args: &[&OsStr], env: &[(&str, &Path)], csv: &Path) -> Output {
    let mut c = cashdesk();
    c.arg("import").args(args).arg("--quiet").arg("contacts").arg(csv);
    for (k, v) in env {
        c.env(k, v);
    }
    run(c)
}

#[test]
fn log_and_import_read_the_data_directory_from_flag_environment_or_config_file() {
    let place = Place::new();
    let (from_config, from_env, from_flag) =
        (place.dir.join("from-config"), place.dir.join("from-env"), place.dir.join("from-flag"));
    let config = place.dir.join("cashdesk.toml");
    std::fs::write(&config, format!("data = {from_config:?}\nrules = {:?}\n", common::rules_dir())).unwrap();
    let csv = place.dir.join("contacts.csv");
    std::fs::write(&csv, "Code,MobileNumber,Name\nC-1,+79160000001,Анна\n").unwrap();
    let config_arg = [OsStr::new("--config"), config.as_os_str()];

    let out = import_contacts(&config_arg, &[], &csv);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("1 rows read, 1 imported, 0 bad"), "{}", text(&out.stdout));
    assert!(from_config.join("store").exists());
    let out = import_contacts(&config_arg, &[("CASHDESK_DATA", &from_env)], &csv);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(from_env.join("store").exists(), "the environment beats the config file");
    let with_flag = [config_arg[0], config_arg[1], OsStr::new("--data"), from_flag.as_os_str()];
    let out = import_contacts(&with_flag, &[("CASHDESK_DATA", &from_env)], &csv);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(from_flag.join("store").exists(), "the flag beats both");

    // `log` finds the journal the same way: a server ran on from-config.
    let server = start(place.serve_on(&from_config, &["--listen", "127.0.0.1:0"]));
    assert!(server.request("GET", "/api/card/balance/by/number/123456", "").contains("CannotFindCardNumber"));
    server.stop();
    let mut log = cashdesk();
    log.arg("log").args(config_arg);
    let out = run(log);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("CannotFindCardNumber"), "{}", text(&out.stdout));
    let mut log = cashdesk();
    log.arg("log").args(config_arg).env("CASHDESK_DATA", &from_env);
    let out = run(log);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stderr);
    assert!(said.starts_with(&format!("error: cannot read journal `{}", from_env.display())), "{said}");

    let mut log = cashdesk();
    log.arg("log");
    let out = run(log);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "error: --data is required (or CASHDESK_DATA, or `data` in --config)\n");
}
