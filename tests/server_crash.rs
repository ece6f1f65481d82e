//! kill -9 of the real server during concurrent acknowledged HTTP state
//! changes: after a restart every acknowledged change is there.
//!
//! Four call-centre desks each toggle their own card between Blocked and
//! Active (Block reason 0, UnBlock reason 0) as fast as the server answers,
//! counting the changes it acknowledged. At a random moment the server is
//! killed with SIGKILL (no destructors, no final flush) and restarted on the
//! same data directory. Then each card's history must hold every
//! acknowledged change (at most one more: the request in flight when the
//! kill landed may or may not have been applied), and its status must be
//! the one its history ends in. 20 short rounds.
#![cfg(unix)]

mod common;

use common::App;
use rand::Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const DESKS: usize = 4;
const ROUNDS: usize = 20;

fn number(desk: usize) -> String {
    format!("880000{desk:04}")
}

/// Block/UnBlock entries in the card's history (its status changes after
/// activation), read back through the admin API.
fn toggles(app: &App, number: &str) -> usize {
    let r = app.get("administrator", &format!("/api/admin/cards/{number}/history"));
    r.expect_ok();
    let history = r.json["History"].as_array().expect("History").clone();
    history.iter().filter(|e| e["Method"] == "Block" || e["Method"] == "UnBlock").count()
}

/// One desk: toggles its card until `stop` or until the server is gone;
/// returns how many changes the server acknowledged with OK.
fn desk(app: &App, number: &str, mut blocked: bool, stop: &AtomicBool) -> usize {
    let mut acked = 0;
    while !stop.load(Ordering::Relaxed) {
        let (path, field) =
            if blocked { ("/api/card/UnBlock", "UnBlockReasonCode") } else { ("/api/card/Block", "BlockReasonCode") };
        let body = serde_json::json!({"Number": number, field: "0"}).to_string();
        let Some(reply) = app.try_raw("POST", path, Some(&app.as_role("call_center")), Some(body.as_bytes())) else {
            break; // killed
        };
        assert_eq!((reply.status, reply.key()), (200, "OK"), "body: {}", reply.body);
        acked += 1;
        blocked = !blocked;
    }
    acked
}

#[test]
fn every_acknowledged_change_survives_kill_9_of_the_server() {
    let mut app = common::spawn_app();
    for d in 0..DESKS {
        app.active_card(&number(d), &format!("K{d}"), &format!("+7916555{d:04}"));
    }
    let mut known = [0usize; DESKS];
    let mut rng = rand::thread_rng();
    let mut acked_total = 0;
    for round in 0..ROUNDS {
        let stop = AtomicBool::new(false);
        let acked: Vec<usize> = std::thread::scope(|s| {
            let app = &app;
            let desks: Vec<_> = (0..DESKS)
                .map(|d| {
                    let stop = &stop;
                    let blocked = known[d] % 2 == 1;
                    s.spawn(move || desk(app, &number(d), blocked, stop))
                })
                .collect();
            std::thread::sleep(Duration::from_millis(rng.gen_range(50..250)));
            // SIGKILL while the desks' requests are in flight.
            app.pid_killer()();
            stop.store(true, Ordering::Relaxed);
            desks.into_iter().map(|h| h.join().expect("desk")).collect()
        });
        app.reap();
        app.start();
        for d in 0..DESKS {
            let n = number(d);
            let found = toggles(&app, &n);
            let want = known[d] + acked[d];
            assert!(
                found == want || found == want + 1,
                "round {round}: card {n} has {found} status changes, {want} were acknowledged"
            );
            let status = app.status_of(&n);
            assert_eq!(status, if found % 2 == 1 { "3" } else { "2" }, "round {round}: card {n} status vs history");
            known[d] = found;
            acked_total += acked[d];
        }
    }
    eprintln!("{ROUNDS} rounds, {acked_total} acknowledged changes, all present after kill -9");
    assert!(acked_total >= ROUNDS * DESKS, "too few acknowledged changes ({acked_total}) for the test to mean much");
}
