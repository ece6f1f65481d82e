//! README's HTTP examples, run in order against a fresh `cashdesk serve
//! --demo`: every `curl` line with a `# {…}` answer under it must get exactly
//! that answer (one with dates or times: the same JSON once its dates are
//! shifted to the demo's today and its times left out), and the balance and
//! history samples must be what the server says (the same way).
//!
//! The README's `curl` lines use a small part of curl: `-s`, `-u USER:PASS`,
//! `-X METHOD`, `-d BODY`, one URL, `$VARIABLES`, single and double quotes,
//! and a trailing `# comment`. This test reads exactly that part.

use chrono::NaiveDate;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn readme_section() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("## The HTTP API").expect("README has its HTTP API section");
    let end = readme[start..].find("\n## ").map(|i| start + i).unwrap();
    readme[start..end].to_string()
}

/// The fenced blocks of one language, in order.
fn blocks<'a>(text: &'a str, lang: &str) -> Vec<&'a str> {
    let fence = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&fence) {
        let body = &rest[i + fence.len()..];
        let end = body.find("```").unwrap();
        out.push(&body[..end]);
        rest = &body[end..][3..];
    }
    out
}

/// Splits a shell line into words: quotes, `$NAME` expansion, `#` comments.
fn words(line: &str, vars: &HashMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    let expand = |chars: &mut std::iter::Peekable<std::str::Chars>, word: &mut String| {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if !(c.is_ascii_alphanumeric() || c == '_') {
                break;
            }
            name.push(c);
            chars.next();
        }
        word.push_str(vars.get(&name).unwrap_or_else(|| panic!("README uses ${name}, which the test does not set")));
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => out.extend(word.take()),
            '#' if word.is_none() => break,
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref().take_while(|&c| c != '\'') {
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '$' => expand(&mut chars, w),
                        c => w.push(c),
                    }
                }
            }
            '$' => expand(&mut chars, word.get_or_insert_with(String::new)),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word);
    out
}

/// Runs one README `curl` command; returns the response body.
fn curl(args: &[String]) -> String {
    assert_eq!(args.first().map(String::as_str), Some("curl"));
    let (mut method, mut user, mut body, mut url) = (None, None, None, None);
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-s" => {}
            "-u" => user = it.next().cloned(),
            "-X" => method = it.next().cloned(),
            "-d" => body = it.next().cloned(),
            other if other.starts_with("http://") && url.is_none() => url = Some(other.to_string()),
            other => panic!("the test does not know curl's `{other}`: {args:?}"),
        }
    }
    let method = method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_string());
    let mut request = ureq::request(&method, &url.expect("a URL"));
    if let Some(user) = user {
        use base64::Engine;
        request =
            request.set("Authorization", &format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user)));
    }
    let response = match body {
        Some(b) => request.set("Content-Type", "application/x-www-form-urlencoded").send_string(&b),
        None => request.call(),
    };
    match response {
        Ok(r) => r.into_string().unwrap(),
        Err(ureq::Error::Status(_, r)) => r.into_string().unwrap(),
        Err(e) => panic!("{args:?}: {e}"),
    }
}

struct Demo {
    child: Child,
    printed: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = self.printed.lines().find_map(|l| l.strip_prefix("demo data in ")) {
            let _ = std::fs::remove_dir_all(dir.split(" (rules in").next().unwrap());
        }
    }
}

/// Starts `serve --demo` on a free port; reads what it prints up to "Stop with".
fn demo() -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut printed = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    while !printed.contains("Stop with") {
        assert!(out.read_line(&mut printed).unwrap() > 0, "the demo stopped printing: {printed}");
    }
    Demo { child, printed }
}

/// The variables README's examples set from the demo's printout.
fn variables(printed: &str) -> HashMap<String, String> {
    let addr = printed.lines().next().unwrap().strip_prefix("cashdesk listening on ").unwrap();
    let mut vars = HashMap::from([("H".to_string(), addr.to_string())]);
    for line in printed.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if let [name, _role, password] = cols[..] {
            let var = match name {
                "demo-cashier" => "CASHIER",
                "demo-client" => "CLIENT",
                "demo-director" => "DIRECTOR",
                "demo-admin" => "ADMIN",
                _ => continue,
            };
            vars.insert(var.to_string(), format!("{name}:{password}"));
        }
    }
    vars
}

/// Moves every `ExpireDate` and `ActiveFrom` by `days`; drops every `Time`.
fn normalise(value: &mut serde_json::Value, days: i64) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("Time");
            for field in ["ExpireDate", "ActiveFrom"] {
                if let Some(serde_json::Value::String(date)) = map.get_mut(field) {
                    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap() + chrono::Duration::days(days);
                    *date = d.to_string();
                }
            }
            map.values_mut().for_each(|v| normalise(v, days));
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| normalise(v, days)),
        _ => {}
    }
}

/// An answer as compared: its text, except that an answer with a `Time` or
/// a date that moves with the demo's today is normalised first (dates moved
/// by `days`, times dropped) and compared as JSON.
fn comparable(answer: &str, days: i64) -> String {
    if !["\"Time\"", "\"ActiveFrom\"", "\"ExpireDate\""].iter().any(|f| answer.contains(f)) {
        return answer.to_string();
    }
    let mut v: serde_json::Value = serde_json::from_str(answer).unwrap_or_else(|e| panic!("not JSON ({e}): {answer}"));
    normalise(&mut v, days);
    v.to_string()
}

fn date_after(text: &str, marker: &str) -> NaiveDate {
    let at = text.find(marker).unwrap_or_else(|| panic!("no `{marker}`")) + marker.len();
    NaiveDate::parse_from_str(&text[at..at + 10], "%Y-%m-%d").unwrap()
}

#[test]
fn the_readme_http_examples_answer_what_the_readme_says() {
    let section = readme_section();
    let demo = demo();
    let vars = variables(&demo.printed);
    assert_eq!(vars.len(), 5, "README's users are all in the demo: {vars:?}");
    let days = (date_after(&demo.printed, "bonus dates relative to ")
        - date_after(&section.replace('\n', " "), "the demo's today, "))
    .num_days();

    let mut answers = Vec::new();
    let mut checked = 0;
    for block in blocks(&section, "bash") {
        let lines: Vec<&str> = block.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let args = words(line, &vars);
            if args.first().map(String::as_str) != Some("curl") {
                continue;
            }
            let got = curl(&args);
            if let Some(expected) = lines.get(i + 1).and_then(|l| l.strip_prefix("# {")) {
                let expected = format!("{{{}", expected.split("      (").next().unwrap().trim_end());
                assert_eq!(comparable(&got, 0), comparable(&expected, days), "README: {line}");
                checked += 1;
            }
            answers.push((line.to_string(), got));
        }
    }
    assert!(checked >= 12, "only {checked} answers checked");

    // The two JSON samples: the balance (after the balance commands) and the
    // history (after the history command).
    let samples = blocks(&section, "json");
    let sample = |needle: &str| -> serde_json::Value {
        let text = samples.iter().find(|s| s.contains(needle)).unwrap_or_else(|| panic!("no sample with {needle}"));
        let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
        normalise(&mut v, days);
        v
    };
    let answer = |suffix: &str| -> serde_json::Value {
        let (_, got) = answers.iter().rev().find(|(l, _)| l.trim_end().ends_with(suffix)).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(got).unwrap();
        normalise(&mut v, 0);
        v
    };
    let balance = sample("\"Bonuses\"");
    for (line, got) in answers.iter().filter(|(l, _)| l.contains("/balance/")) {
        let mut got: serde_json::Value = serde_json::from_str(got).unwrap();
        normalise(&mut got, 0);
        assert_eq!(got, balance, "README: {line}");
    }
    assert_eq!(answer("/history"), sample("\"History\""));
}
