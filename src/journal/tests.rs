//! The journal through its public face: entries recorded by [`Journal`],
//! read back by [`read_journal`] and shown by [`format_entry`].

use super::*;
use chrono::Utc;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

fn entry(key: &str, http_status: u16, error: bool) -> JournalEntry {
    JournalEntry {
        time: format_time(Utc::now()),
        request_id: String::new(),
        user: "anna".into(),
        role: "cashier".into(),
        method: "GET".into(),
        path: "/api/card/Active".into(),
        http_status,
        key: key.into(),
        error,
        request_body: Some(r#"{"Number":"1234"}"#.into()),
        response_body: Some(r#"{"Status":true,"Key":"OK"}"#.into()),
        duration_ms: 1.5,
    }
}

fn ok_entry() -> JournalEntry {
    entry("OK", 200, false)
}

fn status_error() -> JournalEntry {
    entry("StatusError", 200, true)
}

fn read_all(dir: &Path) -> Vec<JournalEntry> {
    read_journal(dir, &JournalFilter::default()).unwrap()
}

fn file_text(dir: &Path) -> String {
    std::fs::read_to_string(journal_path(dir)).unwrap()
}

#[test]
fn errors_are_journaled_even_without_request_logging() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), false).unwrap();
    journal.record(ok_entry());
    journal.record(status_error());
    journal.record(entry("Unauthorized", 401, false));
    journal.flush();
    let keys: Vec<_> = read_all(dir.path()).into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["StatusError", "Unauthorized"]);
}

#[test]
fn ok_requests_are_journaled_with_request_logging() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), true).unwrap();
    journal.record(ok_entry());
    journal.record(status_error());
    journal.flush();
    let entries = read_all(dir.path());
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0], ok_entry_with_time(&entries[0].time));
}

fn ok_entry_with_time(time: &str) -> JournalEntry {
    JournalEntry { time: time.to_owned(), ..ok_entry() }
}

#[test]
fn request_bodies_are_kept_only_when_request_logging_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let expected_response = status_error().response_body;
    assert!(expected_response.is_some());
    Journal::open(dir.path(), false).unwrap().record(status_error());
    let entries = read_all(dir.path());
    assert_eq!(entries[0].request_body, None);
    assert_eq!(entries[0].response_body, expected_response, "an error keeps its envelope");
}

#[test]
fn flush_makes_recorded_entries_readable() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), true).unwrap();
    for _ in 0..10 {
        journal.record(ok_entry());
    }
    journal.flush();
    assert_eq!(read_all(dir.path()).len(), 10);
    journal.record(status_error());
    journal.flush();
    assert_eq!(read_all(dir.path()).len(), 11);
}

#[test]
fn dropping_the_journal_writes_what_was_queued() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), true).unwrap();
    for _ in 0..100 {
        journal.record(ok_entry());
    }
    drop(journal);
    assert_eq!(read_all(dir.path()).len(), 100);
}

#[test]
fn reopening_appends_to_the_existing_journal() {
    let dir = tempfile::tempdir().unwrap();
    Journal::open(dir.path(), true).unwrap().record(ok_entry());
    Journal::open(dir.path(), true).unwrap().record(status_error());
    assert_eq!(read_all(dir.path()).len(), 2);
}

#[test]
fn crlf_in_a_body_cannot_add_a_line_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), true).unwrap();
    let forged = format!("x\r\n{}\n", serde_json::to_string(&status_error()).unwrap());
    let mut e = ok_entry();
    e.request_body = Some(forged.clone());
    e.path = "/api/card/Active?Number=1\r\nX".into();
    e.user = "eve\n".into();
    journal.record(e);
    journal.flush();
    assert_eq!(file_text(dir.path()).lines().count(), 1);
    let entries = read_all(dir.path());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].request_body.as_deref(), Some(forged.as_str()));
    assert_eq!(format_entry(&entries[0]).lines().count(), 3);
}

#[test]
fn a_password_field_in_a_json_body_is_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), true).unwrap();
    let mut e = ok_entry();
    e.request_body = Some(r#"{"Login":"anna","Password":"hunter2","Nested":[{"newPASSWORD":{"a":"s3cret"}}]}"#.into());
    e.response_body = Some(r#"{"Authorization":"Basic YW5uYTpodW50ZXIy"}"#.into());
    journal.record(e);
    journal.flush();
    let text = file_text(dir.path());
    for secret in ["hunter2", "s3cret", "YW5uYTpodW50ZXIy"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let entry = &read_all(dir.path())[0];
    let request: serde_json::Value = serde_json::from_str(entry.request_body.as_deref().unwrap()).unwrap();
    assert_eq!(request["Password"], "***");
    assert_eq!(request["Login"], "anna");
    assert_eq!(request["Nested"][0]["newPASSWORD"], "***");
}

#[test]
fn long_bodies_are_truncated_with_a_marker() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), true).unwrap();
    let mut e = ok_entry();
    e.request_body = Some("é".repeat(BODY_BYTES_MAX));
    journal.record(e);
    journal.flush();
    let body = read_all(dir.path()).remove(0).request_body.unwrap();
    assert!(body.ends_with(&format!("…[truncated, {} bytes in all]", 2 * BODY_BYTES_MAX)));
    assert!(body.len() < BODY_BYTES_MAX + 64);
}

#[test]
fn no_line_exceeds_the_line_limit() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), true).unwrap();
    let controls = "\u{1}".repeat(10 * BODY_BYTES_MAX);
    journal.record(JournalEntry {
        time: controls.clone(),
        request_id: controls.clone(),
        user: controls.clone(),
        role: controls.clone(),
        method: controls.clone(),
        path: controls.clone(),
        key: controls.clone(),
        request_body: Some(controls.clone()),
        response_body: Some(controls),
        duration_ms: f64::NAN,
        ..status_error()
    });
    journal.flush();
    let text = file_text(dir.path());
    assert!(text.len() <= LINE_BYTES_MAX, "{} bytes", text.len());
    let entries = read_all(dir.path());
    assert_eq!(entries.len(), 1);
    assert!(entries[0].request_body.as_ref().unwrap().contains("truncated"));
}

#[test]
fn a_torn_last_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    Journal::open(dir.path(), true).unwrap().record(ok_entry());
    let whole = serde_json::to_string(&status_error()).unwrap();
    let torn = &whole[..whole.len() / 2];
    let mut file = OpenOptions::new().append(true).open(journal_path(dir.path())).unwrap();
    file.write_all(torn.as_bytes()).unwrap();
    assert_eq!(read_all(dir.path()).len(), 1);
}

#[test]
fn entries_after_a_torn_line_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    Journal::open(dir.path(), true).unwrap().record(ok_entry());
    let mut file = OpenOptions::new().append(true).open(journal_path(dir.path())).unwrap();
    file.write_all(br#"{"time":"2024-"#).unwrap();
    Journal::open(dir.path(), true).unwrap().record(status_error());
    let keys: Vec<_> = read_all(dir.path()).into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["OK", "StatusError"]);
}

#[test]
fn filter_errors_only_keeps_integration_errors() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), true).unwrap();
    journal.record(ok_entry());
    journal.record(status_error());
    journal.record(entry("InternalError", 500, false));
    journal.flush();
    let filter = JournalFilter { errors_only: true, since: None };
    let keys: Vec<_> = read_journal(dir.path(), &filter).unwrap().into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["StatusError", "InternalError"]);
}

#[test]
fn filter_since_keeps_entries_at_or_after_the_time() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), true).unwrap();
    for time in ["2024-05-01T09:59:59.999Z", "2024-05-01T10:00:00.000Z", "2024-05-02T08:00:00.000Z"] {
        journal.record(JournalEntry { time: time.into(), ..ok_entry() });
    }
    journal.flush();
    let filter = JournalFilter { errors_only: false, since: Some(parse_since("2024-05-01T10:00:00Z").unwrap()) };
    let times: Vec<_> = read_journal(dir.path(), &filter).unwrap().into_iter().map(|e| e.time).collect();
    assert_eq!(times, ["2024-05-01T10:00:00.000Z", "2024-05-02T08:00:00.000Z"]);
}

#[test]
fn a_thousand_records_from_eight_threads_all_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path(), true).unwrap();
    std::thread::scope(|scope| {
        for thread in 0..8 {
            let journal = &journal;
            scope.spawn(move || {
                for i in 0..125 {
                    journal.record(JournalEntry { path: format!("/t{thread}/{i}"), ..ok_entry() });
                }
            });
        }
    });
    journal.flush();
    let mut paths: Vec<_> = read_all(dir.path()).into_iter().map(|e| e.path).collect();
    assert_eq!(paths.len(), 1000);
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 1000);
}

#[test]
fn format_entry_renders_one_line_plus_bodies() {
    let e = JournalEntry { time: "2024-05-01T10:00:00.000Z".into(), ..status_error() };
    assert_eq!(
        format_entry(&e),
        "2024-05-01T10:00:00.000Z anna(cashier) GET /api/card/Active -> 200 StatusError (1.5 ms)\n    \
         request:  {\"Number\":\"1234\"}\n    \
         response: {\"Status\":true,\"Key\":\"OK\"}"
    );
    let anonymous =
        JournalEntry { user: String::new(), role: String::new(), request_body: None, response_body: None, ..e };
    assert_eq!(format_entry(&anonymous), "2024-05-01T10:00:00.000Z - GET /api/card/Active -> 200 StatusError (1.5 ms)");
    let with_id = JournalEntry { request_id: "pos-17:\n42".into(), ..anonymous };
    assert_eq!(
        format_entry(&with_id),
        "2024-05-01T10:00:00.000Z - GET /api/card/Active -> 200 StatusError (1.5 ms) id=pos-17:\\n42"
    );
}

#[test]
fn entries_older_than_the_retention_period_leave_the_journal_and_new_ones_are_appended() {
    let dir = tempfile::tempdir().unwrap();
    let mut old = entry("OK", 200, false);
    old.time = format_time(Utc::now() - chrono::Duration::days(40));
    old.request_body = Some(r#"{"MobileNumber":"+79160000001","Name":"Анна"}"#.into());
    let mut recent = entry("OK", 200, false);
    recent.time = format_time(Utc::now() - chrono::Duration::days(2));
    {
        let journal = Journal::open(dir.path(), true).unwrap();
        journal.record(old);
        journal.record(recent.clone());
    }
    assert_eq!(read_all(dir.path()).len(), 2, "without retention everything stays");
    let thirty_days = std::time::Duration::from_secs(30 * 86_400);
    let journal = Journal::open_retaining(dir.path(), true, Some(thirty_days)).unwrap();
    journal.record(status_error());
    journal.flush();
    let times: Vec<String> = read_all(dir.path()).into_iter().map(|e| e.time).collect();
    assert_eq!(times.len(), 2, "{times:?}");
    assert_eq!(times[0], recent.time);
    assert!(!file_text(dir.path()).contains("+79160000001"), "the old entry's phone is still in the file");
}
