//! Purchases through the real server (SPEC §8.4): every error key in its
//! order, the §8.5 sale with dates shifted to today, idempotent retries and
//! racing tills.

mod common;

use common::App;
use serde_json::{json, Value};

const CARD: &str = "7700000001";
const PHONE: &str = "+79165550001";

/// An Active bonus card with a lot of 300 expiring in 120 days and one of
/// 100 without expiry, as in §8.5.
fn setup() -> App {
    let app = common::spawn_app();
    app.active_card(CARD, "P1", PHONE);
    let in120 = (chrono::Local::now().date_naive() + chrono::Days::new(120)).to_string();
    for (amount, expire) in [("300", Some(in120.as_str())), ("100", None)] {
        app.post(
            "administrator",
            &format!("/api/admin/cards/{CARD}/bonuses"),
            &json!({"Amount": amount, "ExpireDate": expire}),
        )
        .expect_ok();
    }
    app
}

fn sale_lines() -> Value {
    json!([{"Position": 1, "Amount": 600.00, "Category": "food"}, {"Position": 2, "Amount": "400.00"},
           {"Position": 3, "Amount": 150, "Category": "tobacco"}])
}

fn confirm(app: &App, id: &str, redeem: Value) -> common::Reply {
    app.post(
        "cashier",
        "/api/purchase/Confirm",
        &json!({"ReceiptId": id, "Number": CARD, "Lines": sale_lines(), "Redeem": redeem}),
    )
}

fn active(app: &App) -> String {
    let r = app.get("cashier", &format!("/api/card/balance/by/number/{CARD}"));
    r.expect_ok();
    r.json["Bonuses"].as_array().unwrap().iter().find(|b| b["TypeCode"] == "0" && b["StatusCode"] == "0").unwrap()
        ["Amount"]
        .to_string()
}

#[test]
fn the_worked_example_of_section_8_5_through_http() {
    let app = setup();
    let today = chrono::Local::now().date_naive();
    let calc =
        app.post("cashier", "/api/purchase/Calculate", &json!({"Number": CARD, "Lines": sale_lines(), "Redeem": 250}));
    calc.expect_ok();
    assert_eq!(calc.json["MaxRedeem"].to_string(), "400");
    assert_eq!(calc.json["Accrued"].to_string(), "37.5");
    assert_eq!(calc.json["ActiveBalance"].to_string(), "400");
    let c = confirm(&app, "R-1", json!(250));
    c.expect_ok();
    assert_eq!(c.json["Replayed"], false);
    assert_eq!(c.json["Redeemed"].to_string(), "250");
    assert_eq!(c.json["Accrued"].to_string(), "37.5");
    assert_eq!(c.json["ActiveFrom"], (today + chrono::Days::new(14)).to_string());
    assert_eq!(c.json["ExpireDate"], (today + chrono::Days::new(14 + 364)).to_string());
    assert_eq!(c.json["ActiveBalance"].to_string(), "150");
    let lines: Vec<(String, String)> = c.json["Lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["Redeemed"].to_string(), l["Accrued"].to_string()))
        .collect();
    assert_eq!(lines, [("150".into(), "22.5".into()), ("100".into(), "15".into()), ("0".into(), "0".into())]);
    assert_eq!(active(&app), "150");
    let ret = app.post(
        "cashier",
        "/api/purchase/Return",
        &json!({"ReceiptId": "R-1", "ReturnId": "RT-1", "Lines": [{"Position": 1, "Amount": 300}]}),
    );
    ret.expect_ok();
    assert_eq!((ret.json["Reversed"].to_string(), ret.json["Restored"].to_string()), ("11.25".into(), "75".into()));
    assert_eq!(ret.json["Unrecovered"].to_string(), "0");
    assert_eq!(ret.json["ActiveBalance"].to_string(), "225");
    let cancel = app.post("senior_employee", "/api/purchase/Cancel", &json!({"ReceiptId": "R-1"}));
    cancel.expect_ok();
    assert_eq!(
        (cancel.json["Reversed"].to_string(), cancel.json["Restored"].to_string()),
        ("26.25".into(), "175".into())
    );
    assert_eq!(cancel.json["ActiveBalance"].to_string(), "400");
    let receipt = app.get("call_center", "/api/purchase/Receipt/R-1");
    receipt.expect_ok();
    assert_eq!(receipt.json["State"], "cancelled");
    assert_eq!(receipt.json["Reversed"].to_string(), "37.5");
    assert_eq!(receipt.json["Restored"].to_string(), "250");
    assert_eq!(receipt.json["Returns"][0]["ReturnId"], "RT-1");
    assert_eq!(receipt.json["Lines"][0]["Returned"].to_string(), "300");
    // History entries on the card: Confirm, Return, Cancel.
    let h = app.get("administrator", &format!("/api/admin/cards/{CARD}/history"));
    let methods: Vec<String> =
        h.json["History"].as_array().unwrap().iter().map(|e| e["Method"].as_str().unwrap().to_string()).collect();
    assert!(methods.ends_with(&["Confirm".into(), "Return".into(), "Cancel".into()]), "{methods:?}");
}

#[test]
fn a_retried_confirm_replays_and_other_content_conflicts() {
    let app = setup();
    let first = confirm(&app, "R-2", json!(100));
    first.expect_ok();
    let again = confirm(&app, "R-2", json!("100.00"));
    again.expect_ok();
    assert_eq!(again.json["Replayed"], true);
    for k in ["ReceiptId", "Number", "Redeemed", "Accrued", "ActiveFrom", "ExpireDate", "ActiveBalance", "Lines"] {
        assert_eq!(again.json[k], first.json[k], "{k} of the replay");
    }
    assert_eq!(active(&app), "300", "the replay changed nothing");
    confirm(&app, "R-2", json!(50)).expect(200, "ReceiptIdConflict");
    // A refused Confirm keeps nothing: its retry is decided afresh.
    confirm(&app, "R-3", json!(10_000)).expect(200, "RedeemLimitExceeded");
    confirm(&app, "R-3", json!(10)).expect_ok();
}

#[test]
fn purchase_errors_come_in_the_order_of_section_8_4() {
    let app = setup();
    let post = |role: &str, path: &str, body: Value| app.post(role, path, &body);
    let c = "/api/purchase/Confirm";
    post("call_center", c, json!({})).expect(403, "AccessDenied");
    let r = post("cashier", c, json!({}));
    r.expect(200, "RequiredParameterNotSpecified");
    assert!(
        r.json["Value"].as_str().unwrap().contains("ReceiptId, Number or ContactMobileNumber, Lines"),
        "{}",
        r.body
    );
    post("cashier", c, json!({"ReceiptId": "a/b", "Number": "x", "Lines": [{}]})).expect(200, "InvalidReceiptId");
    post("cashier", c, json!({"ReceiptId": "R", "Number": "x", "Lines": [{}]})).expect(200, "InvalidCardNumber");
    post("cashier", c, json!({"ReceiptId": "R", "ContactMobileNumber": "12", "Lines": [{}]}))
        .expect(200, "InvalidMobileNumber");
    post("cashier", c, json!({"ReceiptId": "R", "Number": CARD, "Lines": [{"Position": 1.5, "Amount": "x"}]}))
        .expect(200, "InvalidPosition");
    post("cashier", c, json!({"ReceiptId": "R", "Number": CARD, "Lines": [{"Position": 1, "Amount": 1}, {"Position": "1", "Amount": 2}]}))
        .expect(200, "InvalidPosition");
    post("cashier", c, json!({"ReceiptId": "R", "Number": CARD, "Lines": [{"Position": 1, "Amount": 0.001}]}))
        .expect(200, "InvalidAmount");
    post(
        "cashier",
        c,
        json!({"ReceiptId": "R", "Number": CARD, "Lines": [{"Position": 1, "Amount": 1}], "Redeem": -1}),
    )
    .expect(200, "InvalidAmount");
    post("cashier", c, json!({"ReceiptId": "R", "Number": "7700000099", "Lines": [{"Position": 1, "Amount": 1}]}))
        .expect(200, "CannotFindCardNumber");
    post(
        "cashier",
        c,
        json!({"ReceiptId": "R", "ContactMobileNumber": "+79160000000", "Lines": [{"Position": 1, "Amount": 1}]}),
    )
    .expect(200, "CannotFindMobile");
    app.active_card("7700000002", "P2", "+79165550002");
    post("cashier", c, json!({"ReceiptId": "R", "Number": "7700000002", "ContactMobileNumber": PHONE, "Lines": [{"Position": 1, "Amount": 1}]}))
        .expect(200, "CardNumberBindToAnotherContact");
    post(
        "cashier",
        c,
        json!({"ReceiptId": "R", "Number": CARD, "Lines": [{"Position": 1, "Amount": 100}], "Redeem": 51}),
    )
    .expect(200, "RedeemLimitExceeded");
    post(
        "cashier",
        c,
        json!({"ReceiptId": "R", "Number": CARD, "Lines": [{"Position": 1, "Amount": 10000}], "Redeem": 401}),
    )
    .expect(200, "NotEnoughBonuses");
    app.block("call_center", CARD, json!("0")).expect_ok();
    post("cashier", c, json!({"ReceiptId": "R", "Number": CARD, "Lines": [{"Position": 1, "Amount": 100}]}))
        .expect(200, "StatusError");
    // Return's own keys.
    app.unblock("call_center", CARD, json!("0")).expect_ok();
    confirm(&app, "R-9", json!(0)).expect_ok();
    let ret = "/api/purchase/Return";
    post("cashier", ret, json!({"ReceiptId": "R-9"})).expect(200, "RequiredParameterNotSpecified");
    post("cashier", ret, json!({"ReceiptId": "R-9", "ReturnId": "a/b", "Lines": [{}]})).expect(200, "InvalidReturnId");
    post("cashier", ret, json!({"ReceiptId": "R-0", "ReturnId": "T", "Lines": [{"Position": 1, "Amount": 1}]}))
        .expect(200, "CannotFindReceipt");
    post("cashier", ret, json!({"ReceiptId": "R-9", "ReturnId": "T", "Lines": [{"Position": 7, "Amount": 1}]}))
        .expect(200, "InvalidPosition");
    post("cashier", ret, json!({"ReceiptId": "R-9", "ReturnId": "T", "Lines": [{"Position": 2, "Amount": 400.01}]}))
        .expect(200, "ReturnExceedsPurchase");
    post("cashier", ret, json!({"ReceiptId": "R-9", "ReturnId": "T", "Lines": [{"Position": 2, "Amount": 400}]}))
        .expect_ok();
    post("cashier", ret, json!({"ReceiptId": "R-9", "ReturnId": "T", "Lines": [{"Position": 2, "Amount": 1}]}))
        .expect(200, "ReceiptIdConflict");
    let replay = post(
        "cashier",
        ret,
        json!({"ReceiptId": "R-9", "ReturnId": "T", "Lines": [{"Position": 2, "Amount": "400.0"}]}),
    );
    replay.expect_ok();
    assert_eq!(replay.json["Replayed"], true);
    post("cashier", "/api/purchase/Cancel", json!({})).expect(200, "RequiredParameterNotSpecified");
    post("cashier", "/api/purchase/Cancel", json!({"ReceiptId": "R-9"})).expect_ok();
    let again = post("cashier", "/api/purchase/Cancel", json!({"ReceiptId": "R-9"}));
    again.expect_ok();
    assert_eq!(again.json["Replayed"], true);
    post("cashier", ret, json!({"ReceiptId": "R-9", "ReturnId": "T2", "Lines": [{"Position": 1, "Amount": 1}]}))
        .expect(200, "ReceiptCancelled");
    app.get("client", "/api/purchase/Receipt/R-9").expect(403, "AccessDenied");
    app.get("cashier", "/api/purchase/Receipt/nope").expect(200, "CannotFindReceipt");
    app.get("cashier", "/api/purchase/Receipt/R-9").expect_ok();
    app.get("cashier", "/api/purchase/confirm").expect(405, "MethodNotAllowed");
}

#[test]
fn racing_tills_make_one_sale_and_never_redeem_more_than_the_balance() {
    let app = setup();
    let answers: Vec<common::Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32).map(|_| s.spawn(|| confirm(&app, "R-RACE", json!(100)))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.iter().all(|a| a.key() == "OK"), "every identical Confirm answers OK");
    assert_eq!(answers.iter().filter(|a| a.json["Replayed"] == false).count(), 1, "exactly one sale");
    assert_eq!(active(&app), "300");
    // 32 different receipts, each redeeming 50, on a balance of 300.
    let answers: Vec<common::Reply> = std::thread::scope(|s| {
        let app = &app;
        let handles: Vec<_> = (0..32).map(|i| s.spawn(move || confirm(app, &format!("R-{i}"), json!(50)))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = answers.iter().filter(|a| a.key() == "OK").count();
    assert_eq!(ok, 6, "300 covers exactly six redemptions of 50");
    assert!(answers.iter().all(|a| a.key() == "OK" || a.key() == "NotEnoughBonuses"));
    assert_eq!(active(&app), "0");
}
