//! The administrator's reads, searches and personal-data erasure (issue 13
//! items 1–2) through the real binary on a real port; on PostgreSQL too
//! with `CASHDESK_TEST_STORE=postgres`.

mod common;

use common::{spawn_app, App, ROLES};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn admin(app: &App, path: &str) -> Value {
    let r = app.get("administrator", path);
    r.expect_ok();
    r.json
}

fn codes(page: &Value, list: &str, field: &str) -> Vec<String> {
    page[list].as_array().unwrap().iter().map(|c| c[field].as_str().unwrap().to_string()).collect()
}

/// Every page of a search, following `Next`; checks each page's size.
fn all_pages(app: &App, path: &str, list: &str, field: &str, limit: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}limit={limit}");
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let page = admin(app, &url);
        let items = codes(&page, list, field);
        assert!(items.len() <= limit, "page larger than the limit: {page}");
        pages.push(items);
        match page["Next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => {
                assert_eq!(page["Next"], Value::Null);
                return pages;
            }
        }
        assert!(pages.len() < 1000, "the cursor does not advance");
    }
}

/// A server whose registration.toml declares the custom field `Loyalty`
/// that [`full_contact`] sets (an undeclared one is `InvalidField`).
fn app_declaring_loyalty() -> App {
    let mut app = common::spawn_app_with_own_rules();
    let path = app.rules.join("registration.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("extra_fields = []"), "the shipped registration.toml changed: {text}");
    std::fs::write(&path, text.replace("extra_fields = []", "extra_fields = [\"Loyalty\"]")).unwrap();
    app.terminate();
    app.start();
    app
}

fn full_contact(app: &App, code: &str, mobile: &str) {
    app.put(
        "administrator",
        &format!("/api/admin/contacts/{code}"),
        &json!({
            "MobileNumber": mobile, "Name": "Смирнова Ольга", "Email": "olga@example.ru",
            "BirthDate": "1990-04-12", "Gender": "F", "City": "Казань", "Fields": {"Loyalty": "gold"}
        }),
    )
    .expect_ok();
}

fn bonus(app: &App, number: &str, body: Value) {
    app.post("administrator", &format!("/api/admin/cards/{number}/bonuses"), &body).expect_ok();
}

// ---------------------------------------------------------------- reads

#[test]
fn a_contact_reads_back_with_its_fields_and_cards() {
    let app = app_declaring_loyalty();
    app.card("1000001");
    full_contact(&app, "C-1", "+79160000001");
    app.issue("1000001").expect_ok();
    app.bind("1000001", "89160000001").expect_ok();
    app.activate("1000001").expect_ok();
    let c = admin(&app, "/api/admin/contacts/C-1");
    assert_eq!(c["Code"], "C-1");
    assert_eq!(c["MobileNumber"], "+79160000001");
    assert_eq!(c["Name"], "Смирнова Ольга");
    assert_eq!(c["Email"], "olga@example.ru");
    assert_eq!(c["BirthDate"], "1990-04-12");
    assert_eq!(c["Gender"], "F");
    assert_eq!(c["City"], "Казань");
    assert_eq!(c["Fields"], json!({"Loyalty": "gold"}));
    assert_eq!(c["Cards"], json!([{"Number": "1000001", "StatusCode": "2", "StatusName": "Активная"}]));
    // The replacement: the old card stays listed, Blocked.
    app.block("administrator", "1000001", json!("4")).expect_ok();
    app.card("1000002");
    app.issue("1000002").expect_ok();
    app.bind("1000002", "+79160000001").expect_ok();
    let cards = admin(&app, "/api/admin/contacts/C-1")["Cards"].clone();
    let statuses: Vec<(&str, &str)> = cards
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["Number"].as_str().unwrap(), c["StatusCode"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [("1000001", "3"), ("1000002", "1")]);
    // Not there, not valid.
    app.get("administrator", "/api/admin/contacts/C-404").expect(200, "CannotFindContactCode");
    app.get("administrator", "/api/admin/contacts/%20").expect(200, "InvalidContactCode");
}

#[test]
fn a_card_reads_back_with_its_block_and_every_lot_in_its_state_today() {
    let app = spawn_app();
    app.active_card("1000001", "C-1", "+79160000001");
    bonus(&app, "1000001", json!({"Amount": "10.50", "ActiveFrom": "2020-01-01"}));
    bonus(&app, "1000001", json!({"Amount": 5, "ActiveFrom": "2020-01-01", "ExpireDate": "2020-12-31"}));
    bonus(&app, "1000001", json!({"Amount": 3, "TypeCode": "1", "ActiveFrom": "2999-01-01"}));
    bonus(&app, "1000001", json!({"Amount": 2, "ActiveFrom": "2020-01-01", "Frozen": true}));
    let lines = json!([{"Position": 1, "Amount": 1000}]);
    app.post("cashier", "/api/purchase/Confirm", &json!({"ReceiptId": "R-1", "Number": "1000001", "Lines": lines}))
        .expect_ok();
    let c = admin(&app, "/api/admin/cards/1000001");
    assert_eq!(
        (&c["Number"], &c["StatusCode"], &c["StatusName"], &c["ContactCode"]),
        (&json!("1000001"), &json!("2"), &json!("Активная"), &json!("C-1"))
    );
    assert_eq!((&c["CategoryCode"], &c["TypeCode"]), (&json!("0"), &json!("0")));
    assert!(c["CategoryName"].as_str().is_some_and(|n| !n.is_empty()), "{c}");
    assert_eq!(c["Block"], Value::Null);
    let lots = c["Lots"].as_array().unwrap();
    let states: Vec<(f64, &str, Option<&str>)> = lots
        .iter()
        .map(|l| (l["Amount"].as_f64().unwrap(), l["StatusCode"].as_str().unwrap(), l["ReceiptId"].as_str()))
        .collect();
    assert_eq!(
        states,
        [(10.5, "0", None), (5.0, "2", None), (3.0, "1", None), (2.0, "3", None), (50.0, "1", Some("R-1"))]
    );
    assert_eq!((&lots[1]["ExpireDate"], &lots[0]["ExpireDate"]), (&json!("2020-12-31"), &Value::Null));
    assert_eq!((&lots[2]["TypeCode"], &lots[3]["Frozen"]), (&json!("1"), &json!(true)));
    // Blocked: the block is shown, and the lots freeze (the shipped rule).
    app.block("director", "1000001", json!("2")).expect_ok();
    let c = admin(&app, "/api/admin/cards/1000001");
    assert_eq!(c["Block"]["ReasonCode"], "2");
    assert_eq!(c["Block"]["User"], "director");
    assert_eq!(c["Block"]["Role"], "director");
    assert!(c["Block"]["ReasonName"].as_str().is_some_and(|n| !n.is_empty()), "{c}");
    let states: Vec<&str> = c["Lots"].as_array().unwrap().iter().map(|l| l["StatusCode"].as_str().unwrap()).collect();
    assert_eq!(states, ["3", "2", "3", "3", "3"]);
    // An unbound card; unknown and invalid numbers.
    app.card("1000009");
    let c = admin(&app, "/api/admin/cards/1000009");
    assert_eq!((&c["ContactCode"], &c["StatusCode"], &c["Lots"]), (&Value::Null, &json!("0"), &json!([])));
    app.get("administrator", "/api/admin/cards/1000404").expect(200, "CannotFindCardNumber");
    app.get("administrator", "/api/admin/cards/12").expect(200, "InvalidCardNumber");
}

// ---------------------------------------------------------------- searches

#[test]
fn contacts_by_code_prefix_come_page_by_page_without_duplicates_or_gaps() {
    let app = spawn_app();
    for i in (0..23).rev() {
        app.contact(&format!("P-{i:02}"), &format!("+7916100{i:04}"), "Покупатель");
    }
    app.contact("Q-1", "+79162000001", "Покупатель");
    let pages = all_pages(&app, "/api/admin/contacts?code=P-", "Contacts", "Code", 10);
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 3]);
    let got: Vec<String> = pages.into_iter().flatten().collect();
    let want: Vec<String> = (0..23).map(|i| format!("P-{i:02}")).collect();
    assert_eq!(got, want);
    // The default page holds them all; a page carries the contact's fields.
    let page = admin(&app, "/api/admin/contacts?Code=P-2");
    assert_eq!(codes(&page, "Contacts", "Code"), ["P-20", "P-21", "P-22"]);
    assert_eq!(page["Contacts"][0]["MobileNumber"], "+79161000020");
    assert_eq!(page["Next"], Value::Null);
    assert_eq!(admin(&app, "/api/admin/contacts?code=Z")["Contacts"], json!([]));
}

#[test]
fn a_search_refuses_a_bad_limit_cursor_or_criterion() {
    let app = spawn_app();
    // The request's shape (400) before the criterion: an unknown parameter
    // (a misspelt one is not ignored), two criteria even if one is empty, a
    // bad limit with no criterion at all.
    for q in ["code=P&limit=0", "code=P&limit=501", "code=P&limit=x", "code=P&after=%25%25", "code=P&name=A"]
        .into_iter()
        .chain(["nmae=A", "code=P&sort=name", "phone=&code=P", "limit=501", "after=%25%25"])
    {
        app.get("administrator", &format!("/api/admin/contacts?{q}")).expect(400, "MalformedRequest");
    }
    for q in ["status=9", "status=2&contact=C-1", "status=2&limit=-1", "stauts=2", "status=&contact=C-1", "limit=0"] {
        app.get("administrator", &format!("/api/admin/cards?{q}")).expect(400, "MalformedRequest");
    }
    app.get("administrator", "/api/admin/contacts").expect(200, "RequiredParameterNotSpecified");
    app.get("administrator", "/api/admin/contacts?name=%20%20").expect(200, "RequiredParameterNotSpecified");
    app.get("administrator", "/api/admin/cards?limit=5").expect(200, "RequiredParameterNotSpecified");
    app.get("administrator", "/api/admin/contacts?phone=12").expect(200, "InvalidMobileNumber");
    app.get("administrator", "/api/admin/cards?contact=a%2Fb").expect(200, "InvalidContactCode");
    // 500 is the largest page.
    admin(&app, "/api/admin/contacts?code=P&limit=500");
}

#[test]
fn a_contact_is_found_by_its_phone_in_any_notation() {
    let app = spawn_app();
    app.contact("C-7", "+79161234567", "Петров Пётр");
    app.contact("C-8", "+79161234568", "Петров Павел");
    for phone in
        ["%2B79161234567", "89161234567", "79161234567", "9161234567", "%2B7%20(916)%20123-45-67", "8-916-123-45-67"]
    {
        let page = admin(&app, &format!("/api/admin/contacts?phone={phone}"));
        assert_eq!(codes(&page, "Contacts", "Code"), ["C-7"], "phone {phone}");
        assert_eq!(page["Next"], Value::Null);
    }
    assert_eq!(admin(&app, "/api/admin/contacts?phone=89160000000")["Contacts"], json!([]));
}

#[test]
fn a_name_prefix_finds_cyrillic_names_whatever_their_case() {
    let app = spawn_app();
    app.contact("N-1", "+79163000001", "Иванов Пётр");
    app.contact("N-2", "+79163000002", "ИВАНОВА  Анна");
    app.contact("N-3", "+79163000003", "иваненко Ёлка");
    app.contact("N-4", "+79163000004", "Петров Иван");
    app.contact("N-5", "+79163000005", "ivanov");
    let by = |prefix: &str| codes(&admin(&app, &format!("/api/admin/contacts?name={prefix}")), "Contacts", "Code");
    // Ordered by the lower-cased name: иваненко, иванов, иванова.
    assert_eq!(by("%D0%B8%D0%B2%D0%B0%D0%BD"), ["N-3", "N-1", "N-2"]); // иван
    assert_eq!(by("%D0%98%D0%92%D0%90%D0%9D%D0%9E%D0%92"), ["N-1", "N-2"]); // ИВАНОВ
    assert_eq!(by("%D0%B8%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2%D0%B0%20%D0%B0"), ["N-2"]); // иванова а (spaces collapsed)
    assert_eq!(by("%D0%98%D0%B2%D0%B0%D0%BD%D0%B5%D0%BD%D0%BA%D0%BE%20%D1%91"), ["N-3"]); // Иваненко ё
    assert_eq!(by("IVAN"), ["N-5"]);
    assert!(by("%D0%A1%D0%B8%D0%B4").is_empty()); // Сид
                                                  // Page by page over names: a cursor of Cyrillic text, one contact a page.
    let pages = all_pages(&app, "/api/admin/contacts?name=%D0%B8%D0%B2%D0%B0%D0%BD", "Contacts", "Code", 1);
    let got: Vec<String> = pages.into_iter().flatten().collect();
    assert_eq!(got, ["N-3", "N-1", "N-2"]);
}

#[test]
fn cards_are_found_by_status_and_by_contact_page_by_page() {
    let app = spawn_app();
    for i in 0..7 {
        app.card(&format!("20000{i:02}"));
    }
    for i in [1, 3, 5] {
        app.issue(&format!("20000{i:02}")).expect_ok();
    }
    app.contact("C-1", "+79164000001", "Иванов Иван");
    app.bind("2000001", "+79164000001").expect_ok();
    let by_status = |s: &str, limit: usize| {
        all_pages(&app, &format!("/api/admin/cards?status={s}"), "Cards", "Number", limit)
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
    };
    assert_eq!(by_status("1", 2), ["2000001", "2000003", "2000005"]);
    assert_eq!(by_status("issued", 500), ["2000001", "2000003", "2000005"]);
    assert_eq!(by_status("0", 3), ["2000000", "2000002", "2000004", "2000006"]);
    assert!(by_status("3", 10).is_empty());
    let page = admin(&app, "/api/admin/cards?status=1&limit=1");
    assert_eq!(page["Cards"][0]["ContactCode"], "C-1");
    assert_eq!(page["Cards"][0]["StatusName"], "Выдана");
    // By contact: the replaced card and the new one.
    app.activate("2000001").expect_ok();
    app.block("administrator", "2000001", json!("4")).expect_ok();
    app.bind("2000003", "+79164000001").expect_ok();
    let mine = all_pages(&app, "/api/admin/cards?contact=C-1", "Cards", "Number", 1);
    assert_eq!(mine, [vec!["2000001".to_string()], vec!["2000003".to_string()]]);
    assert!(admin(&app, "/api/admin/cards?contact=C-404")["Cards"].as_array().unwrap().is_empty());
    assert_eq!(by_status("blocked", 10), ["2000001"]);
}

// ---------------------------------------------------------------- access and methods

#[test]
fn admin_reads_and_erasure_are_403_for_every_other_role() {
    let app = spawn_app();
    app.active_card("1000001", "C-1", "+79160000001");
    for role in ROLES.iter().filter(|r| **r != "administrator") {
        for path in [
            "/api/admin/contacts/C-1",
            "/api/admin/cards/1000001",
            "/api/admin/contacts?code=C",
            "/api/admin/contacts?phone=89160000001",
            "/api/admin/cards?status=2",
            "/api/admin/cards?contact=C-1",
        ] {
            app.get(role, path).expect(403, "AccessDenied");
        }
        app.post(role, "/api/admin/contacts/C-1/erase", &json!({})).expect(403, "AccessDenied");
    }
    assert_eq!(admin(&app, "/api/admin/contacts/C-1")["Name"], "Иванов Иван", "nothing was erased");
}

#[test]
fn a_path_with_get_and_put_answers_405_naming_both_for_other_methods() {
    let app = spawn_app();
    for path in ["/api/admin/contacts/C-1", "/api/admin/cards/1000001"] {
        let r = app.raw("DELETE", path, Some(&app.as_role("administrator")), None);
        r.expect(405, "MethodNotAllowed");
        assert_eq!(r.header("allow").as_deref(), Some("GET, PUT"));
        app.post("administrator", path, &json!({})).expect(405, "MethodNotAllowed");
    }
    let r = app.get("administrator", "/api/admin/contacts/C-1/erase");
    r.expect(405, "MethodNotAllowed");
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    let r = app.put("administrator", "/api/admin/cards", &json!({}));
    assert_eq!((r.status, r.header("allow").as_deref()), (405, Some("GET")));
}

// ---------------------------------------------------------------- erasure

#[test]
fn erasure_removes_personal_data_frees_the_phone_and_keeps_cards_lots_and_history() {
    let app = app_declaring_loyalty();
    app.card("1000001");
    full_contact(&app, "C-1", "+79160000001");
    app.issue("1000001").expect_ok();
    app.bind("1000001", "+79160000001").expect_ok();
    app.activate("1000001").expect_ok();
    bonus(&app, "1000001", json!({"Amount": "12.34", "ActiveFrom": "2020-01-01"}));
    let history_before = admin(&app, "/api/admin/cards/1000001/history")["History"].as_array().unwrap().clone();
    let lots_before = admin(&app, "/api/admin/cards/1000001")["Lots"].clone();

    let r = app.post("administrator", "/api/admin/contacts/C-1/erase", &json!({}));
    r.expect_ok();
    assert_eq!(
        (&r.json["Code"], &r.json["Erased"], &r.json["Cards"]),
        (&json!("C-1"), &json!(true), &json!(["1000001"]))
    );

    // Nothing personal is left; the code and the cards are.
    let c = admin(&app, "/api/admin/contacts/C-1");
    for field in ["MobileNumber", "Name", "Email", "BirthDate", "Gender", "City"] {
        assert_eq!(c[field], "", "{field} kept: {c}");
    }
    assert_eq!(c["Fields"], json!({}));
    assert_eq!(c["Cards"], json!([{"Number": "1000001", "StatusCode": "2", "StatusName": "Активная"}]));
    let card = admin(&app, "/api/admin/cards/1000001");
    assert_eq!((&card["ContactCode"], &card["Lots"]), (&json!("C-1"), &lots_before));
    let balance = admin(&app, "/api/card/balance/by/number/1000001");
    assert_eq!((&balance["Name"], &balance["MobileNumber"], &balance["Code"]), (&json!(""), &json!(""), &json!("C-1")));
    assert_eq!(balance["Bonuses"][0]["Amount"].as_f64(), Some(12.34));

    // The searches no longer find it by what was erased.
    assert_eq!(admin(&app, "/api/admin/contacts?phone=89160000001")["Contacts"], json!([]));
    assert_eq!(admin(&app, "/api/admin/contacts?name=%D0%A1%D0%BC%D0%B8%D1%80")["Contacts"], json!([])); // Смир
    assert_eq!(codes(&admin(&app, "/api/admin/contacts?code=C-"), "Contacts", "Code"), ["C-1"]);

    // History: every earlier entry as it was, one more for the erasure;
    // none of it holds what was erased.
    let history = admin(&app, "/api/admin/cards/1000001/history")["History"].as_array().unwrap().clone();
    assert_eq!(history.len(), history_before.len() + 1);
    assert_eq!(history[..history_before.len()], history_before[..]);
    let last = history.last().unwrap();
    assert_eq!(
        (&last["User"], &last["Role"], &last["Method"], &last["FromStatus"], &last["ToStatus"]),
        (&json!("administrator"), &json!("administrator"), &json!("Admin"), &json!("2"), &json!("2"))
    );
    assert_eq!(last["Reason"], "personal data of the contact erased");
    let text = serde_json::to_string(&history).unwrap();
    for personal in ["9160000001", "Смирнова", "Ольга", "olga@", "1990-04-12", "Казань", "gold"] {
        assert!(!text.contains(personal), "history keeps `{personal}`: {text}");
    }

    // The number is free for another contact, which then binds with it.
    app.contact("C-2", "8 916 000-00-01", "Новиков Олег");
    let page = admin(&app, "/api/admin/contacts?phone=%2B79160000001");
    assert_eq!(codes(&page, "Contacts", "Code"), ["C-2"]);
    app.card("1000002");
    app.issue("1000002").expect_ok();
    app.bind("1000002", "+79160000001").expect_ok();
    assert_eq!(admin(&app, "/api/admin/cards/1000002")["ContactCode"], "C-2");

    // Again: nothing left to erase, nothing written.
    let r = app.post("administrator", "/api/admin/contacts/C-1/erase", &json!({}));
    r.expect_ok();
    assert_eq!(r.json["Erased"], json!(false));
    let again = admin(&app, "/api/admin/cards/1000001/history")["History"].as_array().unwrap().len();
    assert_eq!(again, history.len());
    app.post("administrator", "/api/admin/contacts/C-404/erase", &json!({})).expect(200, "CannotFindContactCode");
    app.post("administrator", "/api/admin/contacts/%20/erase", &json!({})).expect(200, "InvalidContactCode");
}

#[test]
fn erasure_survives_a_restart() {
    let mut app = app_declaring_loyalty();
    full_contact(&app, "C-1", "+79160000001");
    app.post("administrator", "/api/admin/contacts/C-1/erase", &json!({})).expect_ok();
    app.kill9();
    app.start();
    let c = admin(&app, "/api/admin/contacts/C-1");
    let personal: BTreeSet<&str> =
        ["MobileNumber", "Name", "Email", "BirthDate", "Gender", "City"].into_iter().filter(|f| c[*f] != "").collect();
    assert!(personal.is_empty(), "kept after a restart: {personal:?} in {c}");
    app.contact("C-2", "+79160000001", "Новиков Олег");
}
