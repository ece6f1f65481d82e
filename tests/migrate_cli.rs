//! Migration and backup through the real binary (issue 13 items 3-5):
//! `cashdesk import` of cards in their real state, line by line, and
//! `cashdesk export` → `import` into a fresh store → `export` again giving
//! the same files and the same records as the API shows them.

mod common;

use common::App;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn cashdesk(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cashdesk"));
    c.args(args).env_remove("CASHDESK_DATA").env_remove("CASHDESK_RULES").env_remove("CASHDESK_CONFIG");
    c.env_remove("CASHDESK_STORE").env("RUST_LOG", "warn").stdin(Stdio::null());
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `--data DIR [--store URL]` of an app's store.
fn store_args(app: &App, data: &Path) -> Vec<String> {
    let mut a = vec!["--data".to_string(), data.display().to_string()];
    if let Some(url) = app.store_url() {
        a.push(format!("--store={url}"));
    }
    a
}

fn import(app: &App, data: &Path, rules: &Path, what: &str, file: &Path) -> Output {
    let mut c = cashdesk(&["import", "--quiet", "--rules", rules.to_str().unwrap()]);
    c.args(store_args(app, data)).arg(what).arg(file);
    c.output().unwrap()
}

fn export(app: &App, data: &Path, out: &Path) -> Output {
    let mut c = cashdesk(&["export", "--out", out.to_str().unwrap()]);
    c.args(store_args(app, data));
    let o = c.output().unwrap();
    assert!(o.status.success(), "export: {}", text(&o.stderr));
    o
}

/// The `line N: Key` pairs an import reported.
fn bad_lines(o: &Output) -> Vec<(u64, String)> {
    text(&o.stderr)
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("line ")?;
            let (n, rest) = rest.split_once(": ")?;
            let key = rest.split(':').next()?;
            Some((n.parse().ok()?, key.to_string()))
        })
        .collect()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn cards_arrive_in_their_real_state_and_a_line_the_lifecycle_could_not_make_is_refused_with_its_reason() {
    let mut app = common::new_app();
    let dir = app.dir.clone();
    let rules = common::rules_dir();
    let contacts = write(
        &dir,
        "contacts.csv",
        "Code,MobileNumber,Name,Email,BirthDate\n\
         C-1,+7 916 000-00-01,Анна,anna@example.com,1990-05-17\n\
         C-2,89160000002,Борис,,\n\
         C-3,89160000003,,,\n\
         C-4,89160000004,Вера,not-an-email,\n\
         C-5,89160000005,Глеб,,31.12.1990\n\
         C-6,89160000006,Дина,,2999-01-01\n",
    );
    let o = import(&app, &app.data, &rules, "contacts", &contacts);
    assert_eq!(bad_lines(&o), [(5, "InvalidEmail".into()), (6, "InvalidDate".into()), (7, "InvalidDate".into())]);
    assert!(text(&o.stdout).starts_with("6 rows read, 3 imported, 3 bad"), "{}", text(&o.stdout));

    let cards = write(
        &dir,
        "cards.csv",
        "Number,CategoryCode,TypeCode,Status,ContactCode,BlockReasonCode,BlockedByUser,BlockedByRole\n\
         100001,0,0,2,C-1,,,\n\
         100002,1,2,3,C-2,4,ivanova,director\n\
         100003,0,0,1,C-2,,,\n\
         100004,0,0,,,,,\n\
         100005,0,0,active,C-3,,,\n\
         100006,0,0,0,C-1,,,\n\
         100007,0,0,3,C-1,,,\n\
         100008,0,0,1,C-1,,,\n\
         100009,0,0,1,C-404,,,\n\
         100004,0,1,,,,,\n\
         100010,0,0,2,,,,\n\
         100011,0,0,1,,0,,\n\
         100012,0,0,3,C-1,9,,\n\
         100013,0,0,3,C-1,0,,manager\n\
         100014,0,0,7,,,,\n\
         100015,0,0,blocked,,0,,\n",
    );
    let o = import(&app, &app.data, &rules, "cards", &cards);
    let said = text(&o.stderr);
    assert_eq!(
        bad_lines(&o),
        [
            (6, "StatusError".into()),
            (7, "StatusError".into()),
            (8, "BlockReasonError".into()),
            (9, "ContactBindToAnotherCardNumber".into()),
            (10, "CannotFindContactCode".into()),
            (11, "DuplicateLine".into()),
            (12, "StatusError".into()),
            (13, "StatusError".into()),
            (14, "BlockReasonError".into()),
            (15, "InvalidField".into()),
            (16, "InvalidField".into()),
        ],
        "{said}"
    );
    for reason in [
        "line 6: StatusError: contact C-3's registration is not sufficient for an Active card: Name is empty",
        "line 7: StatusError: a New card cannot be bound to a contact",
        "line 8: BlockReasonError: a Blocked card needs its BlockReasonCode",
        "line 9: ContactBindToAnotherCardNumber: contact C-1 already has current card 100001",
        "line 10: CannotFindContactCode: no contact with code C-404",
        "line 11: DuplicateLine: Number 100004 is already on line 5",
        "line 12: StatusError: an Active card must be bound to a contact",
        "line 15: InvalidField: BlockedByRole `manager` is unknown",
    ] {
        assert!(said.contains(reason), "missing {reason:?} in:\n{said}");
    }
    assert!(!o.status.success());
    assert!(text(&o.stdout).starts_with("16 rows read, 5 imported, 11 bad"), "{}", text(&o.stdout));

    // The same file again: the cards that exist are what the file says, so
    // nothing changes and nothing new is refused; a line that contradicts a
    // stored card is refused.
    let again = import(&app, &app.data, &rules, "cards", &cards);
    assert_eq!(bad_lines(&again), bad_lines(&o));
    let contradict = write(&dir, "c2.csv", "Number,Status,ContactCode\n100003,2,C-2\n100004,0,\n");
    let o = import(&app, &app.data, &rules, "cards", &contradict);
    assert_eq!(bad_lines(&o), [(2, "StatusError".into())], "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("card 100003 exists with status 1, bound to C-2"), "{}", text(&o.stderr));

    app.start();
    let b = app.get("cashier", "/api/card/balance/by/code/C-1");
    b.expect_ok();
    assert_eq!((b.json["Number"].as_str(), b.json["StatusCode"].as_str()), (Some("100001"), Some("2")));
    // C-2's current card is 100003: 100002 is blocked for replacement.
    let b = app.get("cashier", "/api/card/balance/by/phone/89160000002");
    assert_eq!((b.json["Number"].as_str(), b.json["StatusCode"].as_str()), (Some("100003"), Some("1")));
    // The imported block is a real one: a director's replacement block cannot be lifted.
    app.unblock("administrator", "100002", json!("0")).expect(200, "UnBlockReasonError");
    // An imported Active card works at once: blocked and unblocked by the cashier's rules.
    app.block("client", "100001", json!("0")).expect_ok();
    app.unblock("client", "100001", json!("0")).expect_ok();
    assert_eq!(app.status_of("100001"), "2");
    let h = app.get("administrator", "/api/admin/cards/100002/history");
    let first = &h.json["History"][0];
    assert_eq!(
        first["Reason"],
        "imported: category 1, type 2, status 3, contact C-2, blocked with reason 4 by ivanova (director)"
    );
    assert_eq!((first["FromStatus"].is_null(), first["ToStatus"].as_str()), (true, Some("3")));
    assert_eq!(h.json["History"].as_array().unwrap().len(), 1);
}

#[test]
fn a_contacts_file_is_checked_line_by_line_like_the_admin_body() {
    let app = common::new_app();
    let dir = app.dir.clone();
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for e in std::fs::read_dir(common::rules_dir()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), rules.join(e.file_name())).unwrap();
    }
    std::fs::write(
        rules.join("registration.toml"),
        "required_fields = [\"Name\"]\nextra_fields = [\"Loyalty\"]\ngenders = [\"F\", \"M\"]\n",
    )
    .unwrap();
    let contacts = write(
        &dir,
        "contacts.csv",
        "Code,Name,Gender,Fields\n\
         K-1,Анна,F,\"{\"\"loyalty\"\":\"\"gold\"\"}\"\n\
         K-2,Борис,X,\n\
         K-3,Вера,,\"{\"\"Loyality\"\":\"\"gold\"\"}\"\n\
         K-4,Глеб,,not json\n",
    );
    let o = import(&app, &app.data, &rules, "contacts", &contacts);
    assert_eq!(
        bad_lines(&o),
        [(3, "InvalidField".into()), (4, "InvalidField".into()), (5, "MalformedRequest".into())],
        "{}",
        text(&o.stderr)
    );
    let said = text(&o.stderr);
    assert!(said.contains("line 3: InvalidField: Gender `X` is unknown; expected one of F, M"), "{said}");
    assert!(said.contains("custom field `Loyality` is unknown; did you mean `Loyalty`?"), "{said}");
    // The declared spelling is kept, whatever the letter case in the file.
    let out = dir.join("out");
    export(&app, &app.data, &out);
    let exported = std::fs::read_to_string(out.join("contacts.csv")).unwrap();
    assert!(exported.contains("K-1,,Анна,,,F,,\"{\"\"Loyalty\"\":\"\"gold\"\"}\""), "{exported}");

    let unknown = write(&dir, "u.csv", "Code,Nmae\nK-9,x\n");
    let o = import(&app, &app.data, &rules, "contacts", &unknown);
    assert!(text(&o.stderr).contains("unknown column(s) Nmae (did you mean `Name`?)"), "{}", text(&o.stderr));
}

/// Builds a store through the API that uses every field an export writes.
fn seed_through_the_api(app: &App) {
    let admin = |path: &str, body: serde_json::Value| {
        app.put("administrator", path, &body).expect_ok();
    };
    admin(
        "/api/admin/contacts/A-1",
        json!({"MobileNumber": "89161110001", "Name": "Анна, \"Аня\" Петрова", "Email": "anna@example.com",
               "BirthDate": "1990-05-17", "Gender": "F", "City": "Москва", "Fields": {"loyalty": "gold"}}),
    );
    admin("/api/admin/contacts/B-2", json!({"MobileNumber": "89161110002", "Name": "Борис\nБорисович"}));
    admin("/api/admin/contacts/C-3", json!({"Name": "No phone"}));
    for (n, cat, t) in [("200001", "0", "0"), ("200002", "1", "2"), ("200003", "0", "1"), ("200004", "1", "0")] {
        admin(&format!("/api/admin/cards/{n}"), json!({"CategoryCode": cat, "TypeCode": t}));
    }
    let lot = |n: &str, body: serde_json::Value| {
        app.post("administrator", &format!("/api/admin/cards/{n}/bonuses"), &body).expect_ok();
    };
    lot("200001", json!({"Amount": "100.50", "ActiveFrom": "2026-01-01", "ExpireDate": "2027-12-31"}));
    lot("200001", json!({"Amount": 7, "TypeCode": 1, "ActiveFrom": "2026-01-01", "Frozen": true}));
    lot("200003", json!({"Amount": "0.01", "ActiveFrom": "2099-01-01"}));
    // A1: issued, bound, active, then blocked for replacement; its lots
    // follow to 200002, which is active.
    app.issue("200001").expect_ok();
    app.bind("200001", "89161110001").expect_ok();
    app.activate("200001").expect_ok();
    app.block("director", "200001", json!("4")).expect_ok();
    app.issue("200002").expect_ok();
    app.bind("200002", "89161110001").expect_ok();
    app.activate("200002").expect_ok();
    // A sale accrues a lot that remembers its receipt.
    app.post(
        "cashier",
        "/api/purchase/Confirm",
        &json!({"ReceiptId": "S1-T1-0001", "Number": "200002", "Lines": [{"Position": 1, "Amount": "500.00"}]}),
    )
    .expect_ok();
    // B-2: issued and bound, blocked as lost by a senior employee.
    app.issue("200003").expect_ok();
    app.bind("200003", "89161110002").expect_ok();
    app.block("senior_employee", "200003", json!("0")).expect_ok();
    // 200004 stays New.
}

/// What the API shows of every record, for comparing two stores.
fn records(app: &App) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for n in ["200001", "200002", "200003", "200004"] {
        let mut b = app.get("administrator", &format!("/api/card/balance/by/number/{n}")).json;
        b.as_object_mut().unwrap().remove("Value");
        out.push(b);
    }
    for c in ["A-1", "B-2"] {
        out.push(app.get("administrator", &format!("/api/card/balance/by/code/{c}")).json);
    }
    out
}

#[test]
fn export_then_import_into_a_fresh_store_gives_the_same_files_and_the_same_records() {
    let mut app = common::spawn_app_with_own_rules();
    std::fs::write(app.rules.join("registration.toml"), "required_fields = [\"Name\"]\nextra_fields = [\"Loyalty\"]\n")
        .unwrap();
    app.terminate();
    app.start();
    seed_through_the_api(&app);
    let before = records(&app);
    assert_eq!(before[0]["StatusCode"], "3", "{}", before[0]);
    app.terminate(); // sled allows one process on a data directory

    let first = app.dir.join("first");
    let o = export(&app, &app.data, &first);
    let said = text(&o.stdout);
    assert!(said.contains("contacts.csv: 3 contacts"), "{said}");
    assert!(said.contains("cards.csv: 4 cards"), "{said}");
    assert!(said.contains("receipts.jsonl: 1 receipt"), "{said}");
    let cards = std::fs::read_to_string(first.join("cards.csv")).unwrap();
    assert_eq!(
        cards,
        "Number,CategoryCode,TypeCode,Status,ContactCode,BlockReasonCode,BlockedByUser,BlockedByRole\n\
         200001,0,0,3,A-1,4,director,director\n\
         200002,1,2,2,A-1,,,\n\
         200003,0,1,3,B-2,0,senior_employee,senior_employee\n\
         200004,1,0,0,,,,\n"
    );
    let bonuses = std::fs::read_to_string(first.join("bonuses.csv")).unwrap();
    assert!(bonuses.contains("200002,100.5,0,2026-01-01,2027-12-31,false,\n"), "{bonuses}");
    assert!(bonuses.contains("200002,7,1,2026-01-01,,true,\n"), "{bonuses}");
    assert!(bonuses.contains(",S1-T1-0001\n"), "the accrued lot keeps its receipt: {bonuses}");
    assert!(!bonuses.contains("200001,"), "the replaced card's lots moved: {bonuses}");

    // A fresh store (on PostgreSQL: a fresh database).
    let mut fresh = common::new_app();
    fresh.rules = app.rules.clone();
    for kind in ["contacts", "cards", "bonuses"] {
        let o = import(&fresh, &fresh.data, &fresh.rules, kind, &first.join(format!("{kind}.csv")));
        assert!(o.status.success(), "{kind}: {}", text(&o.stderr));
    }
    let second = app.dir.join("second");
    export(&fresh, &fresh.data, &second);
    for kind in ["contacts.csv", "cards.csv", "bonuses.csv"] {
        let (a, b) = (std::fs::read(first.join(kind)).unwrap(), std::fs::read(second.join(kind)).unwrap());
        assert!(a == b, "{kind} differs:\n{}\n---\n{}", text(&a), text(&b));
    }
    fresh.start();
    assert_eq!(records(&fresh), before);
    let c = fresh.get("administrator", "/api/card/balance/by/code/A-1");
    assert_eq!(c.json["Name"], "Анна, \"Аня\" Петрова");
}
