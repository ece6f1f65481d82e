//! Issue 13 item 3 through the HTTP API: bad data in an admin body gets a
//! clear key (InvalidField, InvalidEmail, InvalidDate, InvalidAmount) and is
//! not stored; valid requests, in any letter case, keep working.

mod common;

use common::App;
use serde_json::json;

/// A server whose registration.toml declares a custom field and genders.
fn app() -> App {
    let mut app = common::spawn_app_with_own_rules();
    std::fs::write(
        app.rules.join("registration.toml"),
        "required_fields = [\"Name\"]\nextra_fields = [\"Loyalty\"]\ngenders = [\"F\", \"M\"]\n",
    )
    .unwrap();
    app.terminate();
    app.start();
    app
}

fn put_contact(app: &App, code: &str, body: serde_json::Value) -> common::Reply {
    app.put("administrator", &format!("/api/admin/contacts/{code}"), &body)
}

#[test]
fn a_misspelt_field_is_refused_naming_it_with_a_hint_and_nothing_is_stored() {
    let app = app();
    let r = put_contact(&app, "C-1", json!({"Nmae": "Анна"}));
    r.expect(200, "InvalidField");
    assert_eq!(r.json["Value"], "field `Nmae` is unknown; did you mean `Name`?");
    app.get("cashier", "/api/card/balance/by/code/C-1").expect(200, "CannotFindContactCode");
    // Names match in any letter case (SPEC §4): not unknown.
    put_contact(&app, "C-1", json!({"name": "Анна", "CITY": "Москва", "mobilenumber": "89160000001"})).expect_ok();
    app.card("100001");
    app.issue("100001").expect_ok();
    app.bind("100001", "89160000001").expect_ok();
    assert_eq!(app.get("cashier", "/api/card/balance/by/code/C-1").json["Name"], "Анна");

    let r = app.put("administrator", "/api/admin/cards/100001", &json!({"CategoryCode": 0, "Type": 1}));
    r.expect(200, "InvalidField");
    assert_eq!(r.json["Value"], "field `Type` is unknown; did you mean `TypeCode`?");
    let r =
        app.post("administrator", "/api/admin/cards/100001/bonuses", &json!({"Amount": 5, "ExpiryDate": "2030-01-01"}));
    r.expect(200, "InvalidField");
    assert!(r.json["Value"].as_str().unwrap().contains("did you mean `ExpireDate`?"), "{}", r.body);
    let r = app.post("administrator", "/api/admin/cards/100001/bonuses", &json!({"Amount": 5, "Comment": "x"}));
    r.expect(200, "InvalidField");
    assert!(r.json["Value"].as_str().unwrap().starts_with("field `Comment` is unknown; expected one of Amount"));
    // The 400s come first: a wrong JSON type of a known field.
    app.put("administrator", "/api/admin/cards/100001", &json!({"CategoryCode": 1.5, "Typo": 1}))
        .expect(400, "MalformedRequest");
    // And an unknown field before the method's own keys (a bad path value too).
    app.put("administrator", "/api/admin/contacts/a%2Fb", &json!({"Nmae": "x"})).expect(200, "InvalidField");
    app.put("administrator", "/api/admin/contacts/a%2Fb", &json!({"Name": "x"})).expect(200, "InvalidContactCode");
    // Nothing of the refused writes landed.
    let b = app.get("cashier", "/api/card/balance/by/number/100001");
    assert_eq!((b.json["CategoryCode"].as_str(), b.json["Bonuses"][0]["Amount"].as_f64()), (Some("0"), Some(0.0)));
}

#[test]
fn email_birth_date_gender_and_custom_fields_are_checked() {
    let app = app();
    for bad in ["not-an-email", "a@", "@example.com", "a b@example.com", "anna@@example.com"] {
        let r = put_contact(&app, "C-2", json!({"Name": "Борис", "Email": bad}));
        r.expect(200, "InvalidEmail");
        assert!(r.json["Value"].as_str().unwrap().contains("is not an e-mail address"), "{}", r.body);
    }
    for bad in ["31.12.1990", "1990-02-30", "1899-12-31", "2999-01-01", "0000-01-01", "1990-1-1"] {
        put_contact(&app, "C-2", json!({"Name": "Борис", "BirthDate": bad})).expect(200, "InvalidDate");
    }
    let r = put_contact(&app, "C-2", json!({"Name": "Борис", "Gender": "X"}));
    r.expect(200, "InvalidField");
    assert_eq!(r.json["Value"], "Gender `X` is unknown; expected one of F, M");
    let r = put_contact(&app, "C-2", json!({"Name": "Борис", "Fields": {"Loyality": "gold"}}));
    r.expect(200, "InvalidField");
    assert_eq!(
        r.json["Value"],
        "custom field `Loyality` is unknown; did you mean `Loyalty`?; declare it in registration.toml extra_fields"
    );
    app.get("cashier", "/api/card/balance/by/code/C-2").expect(200, "CannotFindContactCode");
    // Valid values, and empty ones (which clear a field), are taken.
    put_contact(
        &app,
        "C-2",
        json!({"Name": "Борис", "Email": "boris.b+loyalty@example.co.uk", "BirthDate": "1900-01-01",
               "Gender": "M", "Fields": {"LOYALTY": "gold"}}),
    )
    .expect_ok();
    put_contact(&app, "C-2", json!({"Email": "", "BirthDate": "", "Gender": ""})).expect_ok();
    // The SPEC order holds: the mobile number is judged before the e-mail.
    put_contact(&app, "C-3", json!({"MobileNumber": "123", "Email": "bad"})).expect(200, "InvalidMobileNumber");
}

#[test]
fn amounts_are_refused_rather_than_rounded_and_dates_stay_within_1900_to_2999() {
    let app = app();
    app.card("100002");
    let add = |body: serde_json::Value| app.post("administrator", "/api/admin/cards/100002/bonuses", &body);
    for bad in [
        json!("0.001"),
        json!(0.001),
        json!("1.0000000000000000000000000000001"),
        json!(1_000_000_000.01),
        json!("1e10"),
        json!(0),
    ] {
        let r = add(json!({"Amount": bad}));
        r.expect(200, "InvalidAmount");
    }
    let r = add(json!({"Amount": "0.123"}));
    assert_eq!(r.json["Value"], "amount `0.123` has more than 2 digits after the decimal point");
    for (from, expire) in [("1899-12-31", "2000-01-01"), ("2000-01-01", "3000-01-01"), ("2026-01-01", "0000-01-01")] {
        add(json!({"Amount": 1, "ActiveFrom": from, "ExpireDate": expire})).expect(200, "InvalidDate");
    }
    // The check order of SPEC §7 holds: amount, type, dates.
    add(json!({"Amount": "0.001", "TypeCode": 7, "ExpireDate": "3000-01-01"})).expect(200, "InvalidAmount");
    add(json!({"Amount": 1, "TypeCode": 7, "ExpireDate": "3000-01-01"})).expect(200, "InvalidTypeCode");
    let b = app.get("cashier", "/api/card/balance/by/number/100002");
    assert_eq!(b.json["Bonuses"][0]["Amount"].as_f64(), Some(0.0), "nothing was added: {}", b.body);
    add(json!({"Amount": "1000000000", "ActiveFrom": "1900-01-01", "ExpireDate": "2999-12-31"})).expect_ok();
    add(json!({"Amount": "0.10", "ActiveFrom": "1900-01-01"})).expect_ok();
    let b = app.get("cashier", "/api/card/balance/by/number/100002");
    assert_eq!(b.json["Bonuses"][0]["Amount"].to_string(), "1000000000.1", "{}", b.body);
}

#[test]
fn rules_check_points_at_a_bad_genders_list() {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(common::rules_dir()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    std::fs::write(
        dir.path().join("registration.toml"),
        "required_fields = [\"Name\"]\ngenders = [\"F\", \"\", \"f\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("registration.toml:2:17"), "{said}");
    assert!(said.contains("gender names must be 1-64 characters"), "{said}");
    assert!(said.contains("registration.toml:2:21"), "{said}");
    assert!(said.contains("gender `f` is listed twice"), "{said}");
}
