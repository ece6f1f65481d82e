//! The database goes away under a running server and comes back: while it
//! is down the server answers `InternalError` without detail and logs a
//! clear line; after it is back the server works again without a restart.
//! Needs the cluster of `.ci/postgres.sh` (it stops and starts it):
//! CASHDESK_TEST_PG, CASHDESK_TEST_PG_CTL and CASHDESK_TEST_PG_DATA. Alone
//! in its file, so no other test of this binary runs while it is down.

mod common;

use cashdesk_card::store::pg::testing::TestDatabase;
use common::new_app;
use std::process::Command;

fn pg_ctl(args: &[&str]) {
    let ctl = std::env::var("CASHDESK_TEST_PG_CTL").expect("CASHDESK_TEST_PG_CTL");
    let data = std::env::var("CASHDESK_TEST_PG_DATA").expect("CASHDESK_TEST_PG_DATA");
    let log = format!("{data}/../server.log");
    let mut cmd = if nix_is_root() { Command::new("runuser") } else { Command::new(&ctl) };
    if nix_is_root() {
        cmd.args(["-u", "postgres", "--", &ctl]);
    }
    let status = cmd.args(["-D", &data, "-l", &log, "-w", "-t", "60"]).args(args).status().expect("run pg_ctl");
    assert!(status.success(), "pg_ctl {args:?} failed");
}

fn nix_is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[test]
fn while_the_database_is_down_requests_fail_plainly_and_work_again_after() {
    let Some(db) = TestDatabase::create(false) else { return };
    if std::env::var("CASHDESK_TEST_PG_CTL").is_err() {
        assert!(
            std::env::var("CASHDESK_REQUIRE_PG").as_deref() != Ok("1"),
            "CASHDESK_REQUIRE_PG=1 but CASHDESK_TEST_PG_CTL is not set (source .ci/postgres.sh)"
        );
        eprintln!("PostgreSQL outage test skipped: CASHDESK_TEST_PG_CTL not set (source .ci/postgres.sh)");
        return;
    }
    let mut app = new_app();
    let log = app.dir.join("server.log");
    app.stderr_file = Some(log.clone());
    app.db = Some(std::sync::Arc::new(db));
    app.start();
    app.active_card("1000001", "C-1", "+79160000001");

    pg_ctl(&["-m", "fast", "stop"]);
    let down = app.get("cashier", "/api/card/balance/by/number/1000001");
    let blocked = app.block("marketer", "1000001", serde_json::json!("4"));
    pg_ctl(&["start"]);
    down.expect(500, "InternalError");
    blocked.expect(500, "InternalError");
    for r in [&down, &blocked] {
        assert!(!r.body.contains("postgres") && !r.body.contains("connect"), "detail leaked: {}", r.body);
    }
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(logged.contains("database"), "no log line about the database: {logged}");

    // Back: the same server answers again (the pool reconnects).
    let mut ok = false;
    for _ in 0..50 {
        if app.get("cashier", "/api/card/balance/by/number/1000001").status == 200 {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(ok, "the server did not recover after the database came back");
    app.block("marketer", "1000001", serde_json::json!("4")).expect_ok();
}
