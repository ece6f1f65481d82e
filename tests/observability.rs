//! Observability through the real binary: `/metrics` on `--metrics-listen`,
//! `/health` and `/ready`, the `X-Request-Id` round trip (response header,
//! journal, `cashdesk log`), JSON log lines carrying the request id, and no
//! ANSI colours when standard error is a pipe.

mod common;

use base64::Engine;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every family `/metrics` must show, and whether the load below moves it.
/// The group-commit families are recorded by the store's group commit
/// (`metrics::group_commit_batch`, `metrics::flush_latency`).
const FAMILIES: [(&str, bool); 9] = [
    ("cashdesk_http_requests_total", true),
    ("cashdesk_http_request_duration_seconds", true),
    ("cashdesk_credential_cache_hits_total", true),
    ("cashdesk_credential_cache_misses_total", true),
    ("cashdesk_logins_throttled_total", true),
    ("cashdesk_rules_reloads_total", true),
    ("cashdesk_store_errors_total", false),
    ("cashdesk_group_commit_batch_size", true),
    ("cashdesk_group_commit_flush_duration_seconds", true),
];

/// A `cashdesk serve` child with its own data directory and rules copy.
struct Server {
    child: Child,
    api: String,
    metrics: Option<String>,
    stderr: Arc<Mutex<String>>,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Server {
    /// Starts the server with `extra` flags and `RUST_LOG=rust_log`; standard
    /// error is a pipe, collected in `stderr`.
    fn start(extra: &[&str], rust_log: &str) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        common::write_users(&dir.join("users.toml"));
        let rules = dir.join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        for entry in std::fs::read_dir(common::rules_dir()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), rules.join(entry.file_name())).unwrap();
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_cashdesk"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.join("data"))
            .arg("--rules")
            .arg(&rules)
            .arg("--users")
            .arg(dir.join("users.toml"))
            .args(extra)
            .env("RUST_LOG", rust_log)
            .env_remove("NO_COLOR")
            .env_remove("CASHDESK_LOG_FORMAT")
            .env_remove("CASHDESK_METRICS_LISTEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cashdesk");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let mut pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut address = |prefix: &str| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            let rest = line.trim().strip_prefix(prefix);
            rest.unwrap_or_else(|| panic!("expected `{prefix}…`, got {line:?}; stderr: {}", stderr.lock().unwrap()))
                .to_owned()
        };
        let api = address("cashdesk listening on http://");
        let metrics = extra
            .contains(&"--metrics-listen")
            .then(|| address("metrics on http://").trim_end_matches("/metrics").to_owned());
        Server { child, api, metrics, stderr, dir, _tmp: tmp }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api)
    }

    fn scrape(&self) -> String {
        let metrics = self.metrics.as_ref().expect("started with --metrics-listen");
        let response = ureq::get(&format!("http://{metrics}/metrics")).call().unwrap();
        assert_eq!(response.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
        response.into_string().unwrap()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn journal(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.join("data/journal/journal.jsonl")).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `probe` for up to 20 s; panics saying `what` did not happen.
fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// One answer: HTTP status, the `X-Request-Id` header, the body as JSON.
struct Answer {
    status: u16,
    request_id: Option<String>,
    json: Value,
}

fn call(method: &str, url: &str, authorization: Option<&str>, request_id: Option<&str>, body: Option<Value>) -> Answer {
    let mut request = ureq::request(method, url);
    if let Some(authorization) = authorization {
        request = request.set("Authorization", authorization);
    }
    if let Some(id) = request_id {
        request = request.set("X-Request-Id", id);
    }
    let result = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{method} {url}: {error}"),
    };
    let status = response.status();
    let request_id = response.header("x-request-id").map(str::to_owned);
    let json = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    Answer { status, request_id, json }
}

/// A throttled login: 401 like any wrong credential, saying to wait.
fn throttled(answer: &Answer) -> bool {
    answer.status == 401 && answer.json["Value"].as_str().is_some_and(|v| v.contains("too many failed logins"))
}

fn as_role(role: &str) -> String {
    basic(role, common::PASSWORD)
}

/// The value of one series (`name{labels}` as rendered), if shown.
fn series(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' ')?.parse().ok())
}

/// The sum of a family's samples (counters) or observation counts (histograms).
fn family_total(text: &str, family: &str) -> f64 {
    let count = format!("{family}_count");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(name, _)| {
            let bare = name.split('{').next().unwrap_or(name);
            bare == family || bare == count
        })
        .map(|(_, value)| value.parse::<f64>().unwrap())
        .sum()
}

/// Seeds a card through the admin API and moves it Active; returns its number.
fn active_card(server: &Server) -> &'static str {
    let admin = as_role("administrator");
    let number = "1000001";
    let put = |path: &str, body: Value| {
        let answer = call("PUT", &server.url(path), Some(&admin), None, Some(body));
        assert_eq!(answer.json["Key"], "OK", "{path}: {}", answer.json);
    };
    put(&format!("/api/admin/cards/{number}"), json!({"CategoryCode": "0", "TypeCode": "0"}));
    put("/api/admin/contacts/C-1", json!({"MobileNumber": "+79160000001", "Name": "Иванов Иван"}));
    let cashier = as_role("cashier");
    for (method, path, body) in [
        ("GET", format!("/api/card/Issue?Number={number}"), None),
        ("POST", "/api/card/BindTo".to_owned(), Some(json!({"Number": number, "MobileNumber": "+79160000001"}))),
        ("GET", format!("/api/card/Active?Number={number}"), None),
    ] {
        let answer = call(method, &server.url(&path), Some(&cashier), None, body);
        assert_eq!(answer.json["Key"], "OK", "{path}: {}", answer.json);
    }
    number
}

#[test]
fn metrics_show_every_family_after_a_short_load() {
    let server = Server::start(&["--metrics-listen", "127.0.0.1:0"], "warn");
    let number = active_card(&server);
    let cashier = as_role("cashier");
    for _ in 0..20 {
        let answer =
            call("GET", &server.url(&format!("/api/card/balance/by/number/{number}")), Some(&cashier), None, None);
        assert_eq!(answer.json["Key"], "OK");
    }
    let admin = as_role("administrator");
    for _ in 0..3 {
        for (path, reason) in [("/api/card/Block", "BlockReasonCode"), ("/api/card/UnBlock", "UnBlockReasonCode")] {
            let body = json!({"Number": number, reason: "0"});
            let answer = call("POST", &server.url(path), Some(&admin), None, Some(body));
            assert_eq!(answer.json["Key"], "OK", "{path}: {}", answer.json);
        }
    }
    let wrong = basic("client", "wrong");
    eventually("a throttled login", || {
        let answer = call("GET", &server.url("/api/card/balance/by/number/1"), Some(&wrong), None, None);
        throttled(&answer).then_some(())
    });
    server.signal("HUP");
    eventually("a rules reload taken", || {
        series(&server.scrape(), r#"cashdesk_rules_reloads_total{outcome="ok"}"#).filter(|n| *n >= 1.0)
    });
    std::fs::write(server.dir.join("rules/roles.toml"), "this is = not [ a rule file").unwrap();
    server.signal("HUP");
    eventually("a rules reload refused", || {
        series(&server.scrape(), r#"cashdesk_rules_reloads_total{outcome="refused"}"#).filter(|n| *n >= 1.0)
    });

    let text = server.scrape();
    for (family, moved) in FAMILIES {
        assert!(text.contains(&format!("# TYPE {family} ")), "{family} missing from /metrics:\n{text}");
        assert!(text.contains(&format!("# HELP {family} ")), "{family} has no help:\n{text}");
        if moved {
            assert!(family_total(&text, family) > 0.0, "{family} did not move:\n{text}");
        }
    }
    let at_least = |name_and_labels: &str, want: f64| {
        let got = series(&text, name_and_labels).unwrap_or(0.0);
        assert!(got >= want, "{name_and_labels} is {got}, want at least {want}:\n{text}");
    };
    at_least(r#"cashdesk_http_requests_total{method="Balance",key="OK",status="200"}"#, 20.0);
    at_least(r#"cashdesk_http_requests_total{method="Block",key="OK",status="200"}"#, 3.0);
    // Throttled logins are 401 too (SPEC §4), counted apart below.
    at_least(r#"cashdesk_http_requests_total{method="Balance",key="Unauthorized",status="401"}"#, 6.0);
    at_least(r#"cashdesk_http_request_duration_seconds_count{method="Balance"}"#, 26.0);
    at_least(r#"cashdesk_http_request_duration_seconds_bucket{method="UnBlock",le="+Inf"}"#, 3.0);
    at_least("cashdesk_credential_cache_hits_total", 20.0);
    at_least("cashdesk_logins_throttled_total", 1.0);
    assert_eq!(series(&text, "cashdesk_store_errors_total"), Some(0.0), "no store error under this load:\n{text}");
}

#[test]
fn health_and_ready_answer_without_credentials_in_the_envelope() {
    let server = Server::start(&[], "warn");
    for path in ["/health", "/ready", "/Ready/"] {
        let answer = call("GET", &server.url(path), None, None, None);
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.json, json!({"Status": true, "Key": "OK", "Value": ""}), "{path}");
        assert!(answer.request_id.is_some(), "{path} has a request id too");
    }
    let wrong_method = call("POST", &server.url("/health"), None, None, Some(json!({})));
    assert_eq!((wrong_method.status, wrong_method.json["Key"].as_str()), (405, Some("MethodNotAllowed")));
    // Without --metrics-listen nothing is said about metrics.
    assert!(server.metrics.is_none());
}

#[test]
fn a_request_id_goes_back_in_the_response_and_into_the_journal() {
    let server = Server::start(&[], "warn");
    let cashier = as_role("cashier");
    // A balance of an unknown card is an integration error: always journaled.
    let unknown = server.url("/api/card/balance/by/number/1234567");
    let given = call("GET", &unknown, Some(&cashier), Some("pos-17:0042"), None);
    assert_eq!(given.json["Key"], "CannotFindCardNumber");
    assert_eq!(given.request_id.as_deref(), Some("pos-17:0042"));

    let made = call("GET", &unknown, Some(&cashier), None, None);
    let made_id = made.request_id.expect("a made request id");
    assert_eq!(made_id.len(), 36, "a UUID: {made_id}");
    let too_long = "x".repeat(129);
    let replaced = call("GET", &unknown, Some(&cashier), Some(&too_long), None);
    let replaced_id = replaced.request_id.expect("a made request id");
    assert!(replaced_id != too_long && replaced_id != made_id && replaced_id.len() == 36, "{replaced_id}");

    let journal = eventually("three journal entries", || Some(server.journal()).filter(|j| j.len() >= 3));
    let ids: Vec<&str> = journal.iter().map(|e| e["request_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["pos-17:0042", made_id.as_str(), replaced_id.as_str()]);

    let log = Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .args(["log", "--data"])
        .arg(server.dir.join("data"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(log.status.success());
    let shown = String::from_utf8(log.stdout).unwrap();
    assert!(shown.lines().next().unwrap().ends_with(" id=pos-17:0042"), "{shown}");
}

#[test]
fn json_log_lines_parse_and_carry_the_request_id() {
    let server = Server::start(&["--log-format", "json"], "cashdesk_card=debug");
    let cashier = as_role("cashier");
    let answer = call("GET", &server.url("/api/card/balance/by/number/1234567"), Some(&cashier), Some("json-1"), None);
    assert_eq!(answer.request_id.as_deref(), Some("json-1"));
    // Repeated failures: the throttle's warning is logged on a blocking
    // thread, inside the request that tripped it.
    let wrong = basic("client", "wrong");
    let mut throttle_ids = Vec::new();
    eventually("a throttled login", || {
        let id = format!("guess-{}", throttle_ids.len());
        let answer = call("GET", &server.url("/api/card/balance/by/number/1"), Some(&wrong), Some(&id), None);
        throttle_ids.push(id);
        throttled(&answer).then_some(())
    });
    let lines = eventually("the throttle warning and every answered line", || {
        let text = server.stderr();
        let answered = text.matches("\"answered\"").count();
        (text.contains("throttling this user name") && answered > throttle_ids.len()).then_some(text)
    });
    let lines: Vec<Value> = lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let id_of = |line: &Value| line["span"]["request_id"].as_str().map(str::to_owned);
    let answered: Vec<&Value> = lines.iter().filter(|l| l["message"] == "answered").collect();
    assert_eq!(id_of(answered[0]).as_deref(), Some("json-1"), "{}", answered[0]);
    assert_eq!(answered[0]["key"], "CannotFindCardNumber");
    let answered_ids: Vec<String> = answered[1..].iter().map(|l| id_of(l).unwrap_or_default()).collect();
    assert_eq!(answered_ids, throttle_ids);
    let warning = lines.iter().find(|l| l["message"] == "repeated authentication failures; throttling this user name");
    let warning = warning.expect("the throttle warning");
    assert_eq!(warning["level"], "WARN");
    assert!(throttle_ids.contains(&id_of(warning).unwrap_or_default()), "{warning}");
}

#[test]
fn the_log_format_can_come_from_the_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("cashdesk.toml");
    std::fs::write(&config, "log_format = \"json\"\n").unwrap();
    let server = Server::start(&["--config", config.to_str().unwrap()], "info");
    let line = eventually("the listening line", || {
        server.stderr().lines().find(|l| l.contains("listening")).map(str::to_owned)
    });
    let line: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert_eq!(line["level"], "INFO");
}

#[test]
fn text_logs_have_no_ansi_escapes_when_stderr_is_a_pipe() {
    let server = Server::start(&[], "cashdesk_card=debug");
    call("GET", &server.url("/health"), None, Some("plain-1"), None);
    let text = eventually("the answered line", || {
        let text = server.stderr();
        text.contains("answered").then_some(text)
    });
    assert!(!text.contains('\u{1b}'), "ANSI escape in piped stderr:\n{text:?}");
    let line = text.lines().find(|l| l.contains("answered")).unwrap();
    assert!(line.contains("DEBUG request{request_id=plain-1}: cashdesk_card::http: answered"), "{line}");
}
