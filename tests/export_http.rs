//! `GET /api/admin/export/{contacts.csv|cards.csv|bonuses.csv|receipts.jsonl}`
//! through the real server (issue 13 item 5): administrator only, the same
//! files `cashdesk export` writes, and each one snapshot even while the till
//! service changes the store underneath.

mod common;

use common::App;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// GET with ureq (it reads a streamed, chunked body properly); the status
/// and the body, or the transport error.
fn download(app: &App, role: &str, path: &str) -> Result<(u16, String, String), String> {
    let url = format!("http://{}{path}", app.addr);
    match ureq::get(&url).set("Authorization", &app.as_role(role)).call() {
        Ok(r) => {
            let ct = r.header("content-type").unwrap_or("").to_string();
            let status = r.status();
            r.into_string().map(|b| (status, ct, b)).map_err(|e| e.to_string())
        }
        Err(ureq::Error::Status(code, r)) => Ok((code, String::new(), r.into_string().unwrap_or_default())),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn an_administrator_downloads_each_file_and_others_may_not() {
    let app = common::spawn_app();
    app.active_card("300001", "E-1", "89162220001");
    app.post(
        "administrator",
        "/api/admin/cards/300001/bonuses",
        &json!({"Amount": "12.34", "ActiveFrom": "2026-01-01"}),
    )
    .expect_ok();
    app.card("300002");
    let (status, ct, body) = download(&app, "administrator", "/api/admin/export/cards.csv").unwrap();
    assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"));
    assert_eq!(
        body,
        "Number,CategoryCode,TypeCode,Status,ContactCode,BlockReasonCode,BlockedByUser,BlockedByRole\n\
         300001,0,0,2,E-1,,,\n300002,0,0,0,,,,\n"
    );
    let (_, _, body) = download(&app, "administrator", "/api/Admin/Export/Contacts.CSV").unwrap();
    assert_eq!(body, "Code,MobileNumber,Name,Email,BirthDate,Gender,City,Fields\nE-1,+79162220001,Иванов Иван,,,,,\n");
    let (_, _, body) = download(&app, "administrator", "/api/admin/export/bonuses.csv").unwrap();
    assert_eq!(
        body,
        "Number,Amount,TypeCode,ActiveFrom,ExpireDate,Frozen,ReceiptId\n300001,12.34,0,2026-01-01,,false,\n"
    );
    let (status, ct, body) = download(&app, "administrator", "/api/admin/export/receipts.jsonl").unwrap();
    assert_eq!((status, ct.as_str(), body.as_str()), (200, "application/x-ndjson", ""));

    let r = app.get("cashier", "/api/admin/export/cards.csv");
    r.expect(403, "AccessDenied");
    app.get("administrator", "/api/admin/export/cards").expect(404, "NotFound");
    app.get("administrator", "/api/admin/export/history.csv").expect(404, "NotFound");
    app.raw("POST", "/api/admin/export/cards.csv", Some(&app.as_role("administrator")), Some(b"{}"))
        .expect(405, "MethodNotAllowed");
    app.raw("GET", "/api/admin/export/cards.csv", None, None).expect(401, "Unauthorized");
}

#[test]
fn a_large_export_over_http_is_the_file_the_command_line_writes() {
    let mut app = common::new_app();
    let (dir, data) = (app.dir.clone(), app.data.clone());
    let store: Vec<String> = app.store_url().map(|u| format!("--store={u}")).into_iter().collect();
    let mut cards = String::from("Number,CategoryCode,TypeCode\n");
    let mut lots = String::from("Number,Amount,ActiveFrom,ExpireDate\n");
    for i in 0..20_000u32 {
        cards.push_str(&format!("{},{},{}\n", 500_000 + i, i % 2, i % 3));
        lots.push_str(&format!("{},{}.{:02},2026-01-01,2030-12-31\n", 500_000 + i, i % 1000 + 1, i % 100));
    }
    for (kind, body) in [("cards", &cards), ("bonuses", &lots)] {
        let file = dir.join(format!("{kind}.csv"));
        std::fs::write(&file, body).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_cashdesk"))
            .args(["import", "--quiet", "--data"])
            .arg(&data)
            .arg("--rules")
            .arg(common::rules_dir())
            .args(&store)
            .arg(kind)
            .arg(&file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let out = dir.join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .args(["export", "--data"])
        .arg(&data)
        .args(&store)
        .arg("--out")
        .arg(&out)
        .args(["cards", "bonuses"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    app.start();
    for file in ["cards.csv", "bonuses.csv"] {
        let (status, _, body) = download(&app, "administrator", &format!("/api/admin/export/{file}")).unwrap();
        assert_eq!(status, 200);
        let written = std::fs::read_to_string(out.join(file)).unwrap();
        assert_eq!(body.lines().count(), 20_001, "{file}");
        assert!(body == written, "{file}: the download differs from the file");
    }
}

#[test]
fn each_download_is_one_snapshot_while_cards_are_replaced_underneath() {
    let app = common::spawn_app();
    // Contacts with an active card holding one lot of 10 each: every
    // replacement (block for replacement, bind a new card) moves the lots
    // in one change, so any one snapshot holds exactly 10 per contact.
    let contacts = 20;
    for i in 0..contacts {
        let (number, code, mobile) = (format!("{}", 400_000 + i), format!("R-{i}"), format!("8916333{:04}", i));
        app.active_card(&number, &code, &mobile);
        let lot = json!({"Amount": 10, "ActiveFrom": "2026-01-01"});
        app.post("administrator", &format!("/api/admin/cards/{number}/bonuses"), &lot).expect_ok();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (addr, stop) = (app.addr.clone(), stop.clone());
        let auth = app.as_role("administrator");
        std::thread::spawn(move || {
            let mut replaced = 0;
            while !stop.load(Ordering::SeqCst) && replaced < 150 {
                let i = replaced % contacts;
                let old = current(&addr, &auth, &format!("R-{i}"));
                let new = (600_000 + replaced).to_string();
                let send = |method: &str, path: &str, body: serde_json::Value| {
                    let r = ureq::request(method, &format!("http://{addr}{path}")).set("Authorization", &auth);
                    let r = if method == "GET" { r.call() } else { r.send_json(body) };
                    r.unwrap().into_json::<serde_json::Value>().unwrap()
                };
                assert_eq!(send("PUT", &format!("/api/admin/cards/{new}"), json!({}))["Key"], "OK");
                assert_eq!(send("GET", &format!("/api/card/Issue?Number={new}"), json!({}))["Key"], "OK");
                let block = json!({"Number": old, "BlockReasonCode": "4"});
                assert_eq!(send("POST", "/api/card/Block", block)["Key"], "OK");
                let bind = json!({"Number": new, "MobileNumber": format!("8916333{:04}", i)});
                assert_eq!(send("POST", "/api/card/BindTo", bind)["Key"], "OK");
                replaced += 1;
            }
            replaced
        })
    };
    let mut exports = 0;
    while !writer.is_finished() || exports < 3 {
        let (status, _, body) = download(&app, "administrator", "/api/admin/export/bonuses.csv").unwrap();
        assert_eq!(status, 200);
        let total: f64 = body.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap()).sum();
        assert_eq!(total, 10.0 * contacts as f64, "one snapshot holds every bonus once:\n{body}");
        exports += 1;
    }
    stop.store(true, Ordering::SeqCst);
    let replaced = writer.join().unwrap();
    assert!(replaced > 0 && exports >= 3, "{replaced} replacements, {exports} exports");
}

/// The number of the contact's current card.
fn current(addr: &str, auth: &str, code: &str) -> String {
    let r: serde_json::Value = ureq::get(&format!("http://{addr}/api/card/balance/by/code/{code}"))
        .set("Authorization", auth)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    r["Number"].as_str().unwrap().to_string()
}
