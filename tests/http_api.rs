//! The HTTP contract (SPEC.md §4–§7) through the real binary on a real port.

mod common;

use common::{spawn_app, App};
use serde_json::json;

fn app_with_active_card() -> App {
    let app = spawn_app();
    app.active_card("1000001", "C-1", "+79160000001");
    app
}

// ------------------------------------------------------------------ §4 table

#[test]
fn unknown_path_is_404_not_found_even_without_credentials() {
    let app = spawn_app();
    let r = app.raw("GET", "/api/card/nothing", None, None);
    r.expect(404, "NotFound");
    let r = app.get("cashier", "/nope");
    r.expect(404, "NotFound");
}

#[test]
fn known_path_with_wrong_method_is_405() {
    let app = spawn_app();
    let r = app.get("cashier", "/api/card/Block");
    r.expect(405, "MethodNotAllowed");
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    app.raw("DELETE", "/api/card/Issue?Number=123456", None, None).expect(405, "MethodNotAllowed");
}

#[test]
fn missing_or_wrong_credentials_are_401_with_basic_challenge() {
    let app = spawn_app();
    for auth in
        [None, Some("Basic Y2FzaGllcjp3cm9uZw=="), Some("Bearer abc"), Some("Basic !!!"), Some("Basic bm9ib2R5OnB3")]
    {
        let r = app.raw("GET", "/api/card/balance/by/number/123456", auth, None);
        r.expect(401, "Unauthorized");
        assert_eq!(r.header("www-authenticate").as_deref(), Some("Basic realm=\"cashdesk\""));
    }
}

#[test]
fn repeated_failures_for_one_user_are_throttled_without_locking_out_others() {
    let app = spawn_app();
    let bad = "Basic Y2FzaGllcjp3cm9uZw=="; // cashier:wrong
    let mut throttled = None;
    for _ in 0..8 {
        let r = app.raw("GET", "/api/card/balance/by/number/123456", Some(bad), None);
        if r.status == 429 {
            throttled = Some(r);
            break;
        }
        r.expect(401, "Unauthorized");
    }
    let r = throttled.expect("throttled after repeated failures");
    r.expect(429, "TooManyRequests");
    assert!(r.header("retry-after").is_some_and(|v| v.parse::<u64>().unwrap() >= 1));
    // Another user still gets in.
    app.get("director", "/api/card/balance/by/number/123456").expect(200, "CannotFindCardNumber");
}

#[test]
fn admin_endpoints_are_403_for_other_roles() {
    let app = spawn_app();
    for role in ["client", "call_center", "marketer", "senior_employee", "director", "cashier"] {
        app.put(role, "/api/admin/cards/123456", &json!({})).expect(403, "AccessDenied");
        app.get(role, "/api/admin/cards/123456/history").expect(403, "AccessDenied");
    }
}

#[test]
fn bodies_that_are_not_json_objects_are_400_malformed() {
    let app = spawn_app();
    let auth = app.as_role("cashier");
    for body in [
        &b"not json"[..],
        b"[1,2,3]",
        b"\"text\"",
        b"",
        b"{\"Number\": 123456}",
        b"\xff\xfe{}",
        b"{\"Number\":\"1\",\"number\":\"2\"}",
    ] {
        let r = app.raw("POST", "/api/card/BindTo", Some(&auth), Some(body));
        r.expect(400, "MalformedRequest");
    }
    let r = app.raw("POST", "/api/card/Block", Some(&auth), Some(br#"{"Number":"123456","BlockReasonCode":1.5}"#));
    r.expect(400, "MalformedRequest");
}

#[test]
fn a_body_over_the_limit_is_413() {
    let app = spawn_app();
    let big = format!("{{\"Number\":\"{}\"}}", "1".repeat(200 * 1024));
    let r = app.raw("POST", "/api/card/BindTo", Some(&app.as_role("cashier")), Some(big.as_bytes()));
    r.expect(413, "RequestTooLarge");
}

#[test]
fn hostile_values_never_answer_500() {
    let app = app_with_active_card();
    let long = "9".repeat(5000);
    let nul = "123\u{0}456";
    let cases = [
        json!({"Number": long, "MobileNumber": long}),
        json!({"Number": nul, "MobileNumber": "+7912\u{0}3456789"}),
        json!({"Number": "1000001", "BlockReasonCode": long}),
        json!({"Number": "1000001", "ContactMobileNumber": long, "BlockReasonCode": 0}),
        json!({"Number": null, "MobileNumber": null}),
    ];
    for body in &cases {
        for path in ["/api/card/BindTo", "/api/card/Block", "/api/card/UnBlock"] {
            let r = app.post("administrator", path, body);
            assert!(r.status == 200 || r.status == 400, "{path} {body}: {} {}", r.status, r.body);
            assert_eq!(r.json["Status"], false, "{}", r.body);
        }
    }
    for path in [
        format!("/api/card/balance/by/{long}"),
        "/api/card/balance/by/code/a%00b".into(),
        format!("/api/card/Issue?Number={long}"),
    ] {
        let r = app.get("administrator", &path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.json["Status"], false);
    }
    app.put("administrator", "/api/admin/contacts/X-1", &json!({"Name": long})).expect(400, "MalformedRequest");
    assert_eq!(app.status_of("1000001"), "2", "nothing changed");
}

#[test]
fn paths_and_field_names_match_case_insensitively() {
    let app = app_with_active_card();
    let r = app.post("client", "/API/Card/block", &json!({"number": "1000001", "blockreasoncode": "0"}));
    r.expect_ok();
    let r = app.post("client", "/api/card/UNBLOCK", &json!({"NUMBER": "1000001", "UnblockReasonCode": 0}));
    r.expect_ok();
    app.get("cashier", "/api/CARD/issue?number=1000001").expect(200, "StatusError");
}

// ------------------------------------------------------------------ §5.1 balance

#[test]
fn balance_by_number_phone_code_and_value() {
    let app = app_with_active_card();
    for path in [
        "/api/card/balance/by/number/1000001",
        "/api/card/balance/by/phone/%2B79160000001",
        "/api/card/balance/by/phone/89160000001",
        "/api/card/balance/by/phone/+7%20(916)%20000-00-01",
        "/api/card/balance/by/code/C-1",
        "/api/card/balance/by/1000001",
        "/api/card/balance/by/C-1",
    ] {
        let r = app.get("cashier", path);
        r.expect_ok();
        assert_eq!(r.json["Number"], "1000001", "{path}");
        assert_eq!(r.json["MobileNumber"], "+79160000001");
        assert_eq!(r.json["Code"], "C-1");
        assert_eq!(r.json["Name"], "Иванов Иван");
        assert_eq!(r.json["StatusCode"], "2");
        assert_eq!(r.json["StatusName"], "Активная");
        assert_eq!(r.json["CategoryCode"], "0");
        assert_eq!(r.json["CategoryName"], "Пластиковая");
        assert_eq!(r.json["TypeCode"], "0");
        assert_eq!(r.json["TypeName"], "Бонусная");
        assert_eq!(r.json["Bonuses"].as_array().unwrap().len(), 8, "4 states x 2 types, no expiring amount");
    }
}

#[test]
fn an_empty_balance_value_says_what_is_missing() {
    let app = app_with_active_card();
    for (path, what) in [("number", "the card number"), ("phone", "the mobile number"), ("code", "the contact code")] {
        let r = app.get("cashier", &format!("/api/card/balance/by/{path}/"));
        r.expect(200, "RequiredParameterNotSpecified");
        assert_eq!(r.json["Value"], format!("{what} is missing from the path"));
    }
}

#[test]
fn balance_errors_per_lookup() {
    let app = app_with_active_card();
    app.get("cashier", "/api/card/balance/by/number/12ab").expect(200, "InvalidCardNumber");
    app.get("cashier", "/api/card/balance/by/number/999999").expect(200, "CannotFindCardNumber");
    app.get("cashier", "/api/card/balance/by/phone/12").expect(200, "InvalidMobileNumber");
    app.get("cashier", "/api/card/balance/by/phone/89169999999").expect(200, "CannotFindMobileNumber");
    app.get("cashier", "/api/card/balance/by/code/a%2Fb").expect(200, "InvalidContactCode");
    app.get("cashier", "/api/card/balance/by/code/NOPE").expect(200, "CannotFindContactCode");
    // by/{value}: valid as a number but found as neither → CannotFindCardNumber;
    // valid only as a code → CannotFindContactCode; valid as neither → InvalidCardNumber.
    app.get("cashier", "/api/card/balance/by/999999").expect(200, "CannotFindCardNumber");
    app.get("cashier", "/api/card/balance/by/NOPE").expect(200, "CannotFindContactCode");
    app.get("cashier", "/api/card/balance/by/a%2Fb").expect(200, "InvalidCardNumber");
}

#[test]
fn balance_amounts_are_exact_decimals_with_nearest_expiry() {
    let app = app_with_active_card();
    let add =
        |body: serde_json::Value| app.post("administrator", "/api/admin/cards/1000001/bonuses", &body).expect_ok();
    add(json!({"Amount": 0.1, "TypeCode": "0", "ActiveFrom": "2020-01-01", "ExpireDate": "2999-01-01"}));
    add(json!({"Amount": 0.2, "TypeCode": 0, "ActiveFrom": "2020-01-01", "ExpireDate": "2999-01-01"}));
    add(json!({"Amount": "5", "TypeCode": "0", "ActiveFrom": "2020-01-01", "ExpireDate": "2999-06-01"}));
    add(json!({"Amount": 7, "TypeCode": "1", "ActiveFrom": "1999-01-01", "ExpireDate": "2000-01-01"}));
    add(json!({"Amount": 3, "TypeCode": "1", "ActiveFrom": "2999-01-01"}));
    add(json!({"Amount": 4, "TypeCode": "1", "Frozen": true}));
    let r = app.get("cashier", "/api/card/balance/by/number/1000001");
    r.expect_ok();
    let raw = &r.body;
    assert!(raw.contains(r#""Amount":5.3,"StatusCode":"0""#), "{raw}");
    assert!(raw.contains(r#"{"Amount":0.3,"StatusCode":"4","StatusName":"С ближайшей датой сгорания","ExpireDate":"2999-01-01","TypeCode":"0""#), "{raw}");
    let b = r.json["Bonuses"].as_array().unwrap();
    let codes: Vec<(String, String)> =
        b.iter().map(|e| (e["TypeCode"].as_str().unwrap().into(), e["StatusCode"].as_str().unwrap().into())).collect();
    let expected: Vec<(String, String)> =
        [("0", "0"), ("0", "1"), ("0", "2"), ("0", "3"), ("0", "4"), ("1", "0"), ("1", "1"), ("1", "2"), ("1", "3")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(codes, expected);
    assert_eq!(b[6]["Amount"], json!(3), "inactive");
    assert_eq!(b[7]["Amount"], json!(7), "burned");
    assert_eq!(b[8]["Amount"], json!(4), "frozen");
    assert_eq!(b[0]["ExpireDate"], serde_json::Value::Null);
}

// ------------------------------------------------------------------ §5.2–5.4

#[test]
fn issue_follows_its_rows() {
    let app = spawn_app();
    app.get("cashier", "/api/card/Issue").expect(200, "RequiredParameterNotSpecified");
    app.get("cashier", "/api/card/Issue?Number=").expect(200, "RequiredParameterNotSpecified");
    app.get("cashier", "/api/card/Issue?Number=abc").expect(200, "InvalidCardNumber");
    app.get("cashier", "/api/card/Issue?Number=123456").expect(200, "CardNumberCannotFind");
    app.card("123456");
    app.issue("123456").expect_ok();
    app.issue("123456").expect_ok(); // retry: OK, no change
    assert_eq!(app.status_of("123456"), "1");
    app.contact("C", "+79160000002", "Name");
    app.bind("123456", "+79160000002").expect_ok();
    app.activate("123456").expect_ok();
    app.issue("123456").expect(200, "StatusError");
}

#[test]
fn bind_to_follows_its_rows_in_order() {
    let app = spawn_app();
    let r = app.post("cashier", "/api/card/BindTo", &json!({}));
    r.expect(200, "RequiredParameterNotSpecified");
    assert!(r.json["Value"].as_str().unwrap().contains("Number, MobileNumber"), "{}", r.body);
    app.post("cashier", "/api/card/BindTo", &json!({"Number": "x", "MobileNumber": "y"}))
        .expect(200, "InvalidCardNumber");
    app.post("cashier", "/api/card/BindTo", &json!({"Number": "123456", "MobileNumber": "y"}))
        .expect(200, "InvalidMobileNumber");
    app.bind("123456", "89160000003").expect(200, "CannotFindCardNumber");
    app.card("123456");
    app.bind("123456", "89160000003").expect(200, "CannotFindMobile");
    app.contact("A", "+79160000003", "A");
    app.contact("B", "+79160000004", "B");
    app.bind("123456", "89160000003").expect(200, "StatusError"); // New
    app.issue("123456").expect_ok();
    app.bind("123456", "89160000003").expect_ok();
    app.bind("123456", "+7 916 000-00-03").expect_ok(); // already bound: OK
    app.bind("123456", "89160000004").expect(200, "CardNumberBindToAnotherContact");
    app.card("654321");
    app.issue("654321").expect_ok();
    app.bind("654321", "89160000003").expect(200, "ContactBindToAnotherCardNumber");
    assert_eq!(app.status_of("123456"), "1", "binding does not activate by default");
}

#[test]
fn replacement_moves_lots_to_the_new_card_and_both_histories_say_so() {
    let app = app_with_active_card();
    app.post("administrator", "/api/admin/cards/1000001/bonuses", &json!({"Amount": "12.5"})).expect_ok();
    app.block("marketer", "1000001", json!("4")).expect_ok();
    app.card("2000002");
    app.issue("2000002").expect_ok();
    app.bind("2000002", "+79160000001").expect_ok();
    let r = app.get("cashier", "/api/card/balance/by/phone/89160000001");
    r.expect_ok();
    assert_eq!(r.json["Number"], "2000002", "the current card follows the customer");
    assert_eq!(r.json["Bonuses"][0]["Amount"], json!(12.5));
    let old = app.get("cashier", "/api/card/balance/by/number/1000001");
    assert_eq!(old.json["Bonuses"][3]["Amount"], json!(0));
    for n in ["1000001", "2000002"] {
        let h = app.get("administrator", &format!("/api/admin/cards/{n}/history"));
        h.expect_ok();
        assert!(h.body.contains("moved"), "{n}: {}", h.body);
    }
    app.unblock("administrator", "1000001", json!("0")).expect(200, "UnBlockReasonError");
}

#[test]
fn active_follows_its_rows() {
    let app = spawn_app();
    app.get("cashier", "/api/card/Active").expect(200, "RequiredParameterNotSpecified");
    app.get("cashier", "/api/card/Active?Number=1").expect(200, "InvalidCardNumber");
    app.get("cashier", "/api/card/Active?Number=123456").expect(200, "CannotFindCardNumber");
    app.card("123456");
    app.activate("123456").expect(200, "StatusError"); // New
    app.issue("123456").expect_ok();
    app.activate("123456").expect(200, "StatusError"); // not bound
    app.put("administrator", "/api/admin/contacts/NONAME", &json!({"MobileNumber": "89160000005"})).expect_ok();
    app.bind("123456", "89160000005").expect_ok();
    app.activate("123456").expect(200, "StatusError"); // registration not sufficient
    app.put("administrator", "/api/admin/contacts/NONAME", &json!({"Name": "Петров Пётр"})).expect_ok();
    app.activate("123456").expect_ok();
    app.activate("123456").expect_ok(); // already active
    app.block("client", "123456", json!(0)).expect_ok();
    app.activate("123456").expect(200, "StatusError"); // Blocked
}

// ------------------------------------------------------------------ §5.5–5.6

#[test]
fn block_checks_run_in_spec_order() {
    let app = app_with_active_card();
    let r = app.post("client", "/api/card/Block", &json!({}));
    r.expect(200, "RequiredParameterNotSpecified");
    let v = r.json["Value"].as_str().unwrap();
    assert!(v.contains("Number or ContactMobileNumber") && v.contains("BlockReasonCode"), "{v}");
    app.post("client", "/api/card/Block", &json!({"Number": "x", "BlockReasonCode": "0"}))
        .expect(200, "InvalidCardNumber");
    app.post("client", "/api/card/Block", &json!({"ContactMobileNumber": "x", "BlockReasonCode": "0"}))
        .expect(200, "InvalidMobileNumber");
    app.block("client", "1000001", json!("9")).expect(200, "BlockReasonError");
    app.block("client", "999999", json!("0")).expect(200, "CannotFindCardNumber");
    app.post("client", "/api/card/Block", &json!({"ContactMobileNumber": "89169999999", "BlockReasonCode": "0"}))
        .expect(200, "CannotFindMobile");
    app.contact("OTHER", "+79160000009", "Other");
    app.post(
        "client",
        "/api/card/Block",
        &json!({"Number": "1000001", "ContactMobileNumber": "89160000009", "BlockReasonCode": "0"}),
    )
    .expect(200, "CardNumberBindToAnotherContact");
    app.post("client", "/api/card/Block", &json!({"ContactMobileNumber": "89160000009", "BlockReasonCode": "0"}))
        .expect(200, "CannotFindCardNumber");
    app.block("client", "1000001", json!("2")).expect(200, "BlockReasonError");
    app.block("cashier", "1000001", json!("0")).expect(200, "BlockReasonError");
    app.post(
        "client",
        "/api/card/Block",
        &json!({"ContactMobileNumber": "8 916 000 00 01", "BlockReasonCode": 0, "BlockReasonName": "Потеря карты"}),
    )
    .expect_ok();
    app.block("client", "1000001", json!("0")).expect(200, "StatusError"); // already blocked
    app.card("777777");
    app.block("director", "777777", json!("0")).expect(200, "StatusError"); // New
    app.issue("777777").expect_ok();
    app.block("director", "777777", json!("0")).expect(200, "StatusError"); // Issued, unbound
}

#[test]
fn unblock_checks_run_in_spec_order_and_return_to_the_right_status() {
    let app = app_with_active_card();
    app.unblock("client", "1000001", json!("0")).expect(200, "StatusError"); // not blocked
    app.post("client", "/api/card/UnBlock", &json!({"Number": "1000001"})).expect(200, "RequiredParameterNotSpecified");
    app.unblock("client", "1000001", json!("7")).expect(200, "UnBlockReasonError");
    // blocked by an administrator: only an administrator lifts it
    app.block("administrator", "1000001", json!("0")).expect_ok();
    app.unblock("director", "1000001", json!("0")).expect(200, "UnBlockReasonError");
    app.unblock("administrator", "1000001", json!("0")).expect_ok();
    assert_eq!(app.status_of("1000001"), "2", "bound and registered: back to Active");
    // lift matrix, unblock-reason matrix, pairing
    app.block("director", "1000001", json!("2")).expect_ok();
    app.unblock("senior_employee", "1000001", json!("2")).expect(200, "UnBlockReasonError");
    app.unblock("director", "1000001", json!("0")).expect(200, "UnBlockReasonError"); // pairing
    app.unblock("director", "1000001", json!("2")).expect_ok();
    app.block("marketer", "1000001", json!("3")).expect_ok();
    app.unblock("marketer", "1000001", json!("1")).expect(200, "UnBlockReasonError"); // role may not use reason 1
    app.unblock("administrator", "1000001", json!("1")).expect_ok(); // administrator exempt from pairing
                                                                     // registration no longer sufficient → back to Issued
    app.block("client", "1000001", json!(0)).expect_ok();
    app.put("administrator", "/api/admin/contacts/C-1", &json!({"Name": ""})).expect_ok();
    app.unblock("client", "1000001", json!(0)).expect_ok();
    assert_eq!(app.status_of("1000001"), "1");
}

#[test]
fn blocked_card_bonuses_show_frozen() {
    let app = app_with_active_card();
    app.post("administrator", "/api/admin/cards/1000001/bonuses", &json!({"Amount": 10})).expect_ok();
    app.block("client", "1000001", json!(0)).expect_ok();
    let r = app.get("cashier", "/api/card/balance/by/number/1000001");
    assert_eq!(r.json["Bonuses"][0]["Amount"], json!(0));
    assert_eq!(r.json["Bonuses"][3]["Amount"], json!(10));
}

// ------------------------------------------------------------------ §7 admin

#[test]
fn admin_endpoints_validate_in_order() {
    let app = spawn_app();
    app.put("administrator", "/api/admin/contacts/a%2Fb", &json!({})).expect(200, "InvalidContactCode");
    app.put("administrator", "/api/admin/contacts/A", &json!({"MobileNumber": "12"}))
        .expect(200, "InvalidMobileNumber");
    app.contact("A", "89160000011", "A");
    app.put("administrator", "/api/admin/contacts/B", &json!({"MobileNumber": "+79160000011"}))
        .expect(200, "MobileNumberTaken");
    app.put("administrator", "/api/admin/cards/12", &json!({})).expect(200, "InvalidCardNumber");
    app.put("administrator", "/api/admin/cards/123456", &json!({"CategoryCode": "5"}))
        .expect(200, "InvalidCategoryCode");
    app.put("administrator", "/api/admin/cards/123456", &json!({"TypeCode": 9})).expect(200, "InvalidTypeCode");
    app.post("administrator", "/api/admin/cards/123456/bonuses", &json!({"Amount": 1}))
        .expect(200, "CannotFindCardNumber");
    app.put("administrator", "/api/admin/cards/123456", &json!({"CategoryCode": 1, "TypeCode": "2"})).expect_ok();
    let b = app.get("cashier", "/api/card/balance/by/number/123456");
    assert_eq!((b.json["CategoryCode"].as_str(), b.json["TypeCode"].as_str()), (Some("1"), Some("2")));
    app.post("administrator", "/api/admin/cards/123456/bonuses", &json!({"Amount": "x"})).expect(200, "InvalidAmount");
    app.post("administrator", "/api/admin/cards/123456/bonuses", &json!({"Amount": -1})).expect(200, "InvalidAmount");
    app.post("administrator", "/api/admin/cards/123456/bonuses", &json!({"Amount": 1, "TypeCode": "3"}))
        .expect(200, "InvalidTypeCode");
    app.post("administrator", "/api/admin/cards/123456/bonuses", &json!({"Amount": 1, "ExpireDate": "2024-13-01"}))
        .expect(200, "InvalidDate");
    app.get("administrator", "/api/admin/cards/999999/history").expect(200, "CannotFindCardNumber");
    let h = app.get("administrator", "/api/admin/cards/123456/history");
    h.expect_ok();
    let entries = h.json["History"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", h.body);
    assert_eq!(entries[0]["User"], "administrator");
    assert_eq!(entries[0]["Role"], "administrator");
    // a field left out keeps its value
    app.put("administrator", "/api/admin/contacts/A", &json!({"Email": "a@example.com"})).expect_ok();
    app.card("555555");
    app.issue("555555").expect_ok();
    app.bind("555555", "89160000011").expect_ok();
    let r = app.get("cashier", "/api/card/balance/by/code/A");
    assert_eq!(r.json["Name"], "A");
}

#[test]
fn history_records_who_did_what_oldest_first() {
    let app = app_with_active_card();
    app.block("call_center", "1000001", json!("3")).expect_ok();
    let h = app.get("administrator", "/api/admin/cards/1000001/history");
    let e = h.json["History"].as_array().unwrap();
    let methods: Vec<&str> = e.iter().map(|x| x["Method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["Admin", "Issue", "BindTo", "Active", "Block"]);
    let last = e.last().unwrap();
    assert_eq!((last["User"].as_str(), last["Role"].as_str()), (Some("call_center"), Some("call_center")));
    assert_eq!((last["FromStatus"].as_str(), last["ToStatus"].as_str()), (Some("2"), Some("3")));
    assert!(last["Reason"].as_str().unwrap().starts_with("3 "));
}

// ------------------------------------------------------------------ operations

#[test]
fn acknowledged_blocks_survive_sigkill() {
    let mut app = spawn_app();
    let n = 40;
    for i in 0..n {
        let number = format!("{}", 3000000 + i);
        app.active_card(&number, &format!("K{i}"), &format!("+7916100{:04}", i));
    }
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let addr = app.addr.clone();
            let auth = app.as_role("client");
            std::thread::spawn(move || {
                let body = json!({"Number": format!("{}", 3000000 + i), "BlockReasonCode": "0"}).to_string();
                let mut s = std::net::TcpStream::connect(&addr).unwrap();
                use std::io::{Read, Write};
                let req = format!("POST /api/card/Block HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                s.write_all(req.as_bytes()).unwrap();
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                if !out.contains("\"Key\":\"OK\"") {
                    eprintln!("block {i} not acknowledged: {out}");
                }
                out.contains("\"Key\":\"OK\"")
            })
        })
        .collect();
    let acked: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    app.kill9();
    app.start();
    for (i, ok) in acked.iter().enumerate() {
        if *ok {
            assert_eq!(app.status_of(&format!("{}", 3000000 + i)), "3", "acknowledged block {i} lost");
        }
    }
    assert!(acked.iter().all(|a| *a), "every block was acknowledged");
}

#[test]
fn sigterm_stops_cleanly_and_sighup_with_bad_rules_keeps_the_old_ones() {
    let mut app = app_with_active_card();
    app.hup(); // the shipped rules reload fine
    std::thread::sleep(std::time::Duration::from_millis(300));
    app.get("cashier", "/api/card/balance/by/number/1000001").expect_ok();
    let status = app.terminate();
    assert!(status.success(), "{status:?}");
    app.start();
    assert_eq!(app.status_of("1000001"), "2");
}

#[test]
fn integration_errors_reach_the_journal_without_secrets() {
    let mut app = app_with_active_card();
    app.block("client", "1000001", json!("2")).expect(200, "BlockReasonError");
    app.raw("GET", "/api/card/balance/by/number/1000001", Some("Basic Y2FzaGllcjp3cm9uZw=="), None)
        .expect(401, "Unauthorized");
    app.get("cashier", "/api/card/balance/by/number/1000001").expect_ok();
    assert!(app.terminate().success());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .args(["log", "--errors", "--data"])
        .arg(app.dir.join("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BlockReasonError") && text.contains("/api/card/Block"), "{text}");
    assert!(text.contains("401") && text.contains("Unauthorized"), "{text}");
    assert!(!text.contains("balance/by/number/1000001 -> 200"), "OK calls are not integration errors: {text}");
    let raw = std::fs::read_to_string(app.dir.join("data/journal/journal.jsonl")).unwrap();
    for secret in [common::PASSWORD, "Y2FzaGllcjp3cm9uZw==", "Basic "] {
        assert!(!raw.contains(secret), "{secret} leaked into the journal");
    }
}

#[test]
fn sighup_swaps_in_good_rules_and_refuses_bad_ones() {
    let app = common::spawn_app_with_own_rules();
    let reg = app.rules.join("registration.toml");
    let wait_for = |key: &str| {
        for _ in 0..50 {
            // Activation of a fresh card tells which registration rule is in force.
            let n = format!("{}", 5_000_000 + rand_suffix());
            app.card(&n);
            app.issue(&n).expect_ok();
            let code = format!("K{n}");
            let mobile = format!("+7916{}", &n[0..7]);
            app.contact(&code, &mobile, "Name Only");
            app.bind(&n, &mobile).expect_ok();
            if app.activate(&n).key() == key {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("rules did not reach the state answering {key}");
    };
    wait_for("OK");
    // A good change: Email now required, so activation without one is refused.
    std::fs::write(&reg, "required_fields = [\"Name\", \"Email\"]\n").unwrap();
    app.hup();
    wait_for("StatusError");
    // A bad change is refused; the last good rules stay in force.
    std::fs::write(&reg, "required_fields = [\"Nmae\"]\n").unwrap();
    app.hup();
    std::thread::sleep(std::time::Duration::from_millis(500));
    wait_for("StatusError");
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn sighup_reloads_the_users_file() {
    let app = spawn_app();
    let newcomer = {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("desk-99:s3cret:with:colons"))
    };
    app.raw("GET", "/api/card/balance/by/number/123456", Some(&newcomer), None).expect(401, "Unauthorized");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .args(["user", "add", "--name", "desk-99", "--role", "cashier", "--users"])
        .arg(app.dir.join("users.toml"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"s3cret:with:colons\n").unwrap();
    assert!(child.wait().unwrap().success());
    let users = std::fs::read_to_string(app.dir.join("users.toml")).unwrap();
    assert!(!users.contains("s3cret") && users.contains("$argon2id$"), "only a hash is stored");
    app.hup();
    for _ in 0..50 {
        let r = app.raw("GET", "/api/card/balance/by/number/123456", Some(&newcomer), None);
        if r.status == 200 {
            r.expect(200, "CannotFindCardNumber");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the new user was not loaded on SIGHUP");
}

#[test]
fn config_file_and_environment_set_options_and_flags_win() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::write_users(&dir.join("users.toml"));
    let config = dir.join("cashdesk.toml");
    std::fs::write(
        &config,
        format!(
            "data = {:?}\nrules = {:?}\nusers = {:?}\nlisten = \"127.0.0.1:0\"\nbody_limit = 100\n",
            dir.join("from-config"),
            common::rules_dir(),
            dir.join("users.toml")
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(dir.join("from-flag"))
        .env("CASHDESK_BODY_LIMIT", "50000")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_string();
    let app_like = |body: &str| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let auth = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(format!("cashier:{}", common::PASSWORD))
        };
        let req = format!(
            "POST /api/card/BindTo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Basic {auth}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    // The environment's 50,000-byte limit beats the config file's 100.
    let body = format!("{{\"Number\":\"123456\",\"MobileNumber\":\"89160000001\",\"pad\":\"{}\"}}", "x".repeat(1000));
    let out = app_like(&body);
    assert!(out.contains("CannotFindCardNumber"), "{out}");
    let _ = child.kill();
    let _ = child.wait();
    assert!(dir.join("from-flag/store").exists(), "the --data flag wins over the config file");
    assert!(!dir.join("from-config").exists());
}
