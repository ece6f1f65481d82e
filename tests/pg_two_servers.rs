//! Two `cashdesk serve` processes on one PostgreSQL database: what one
//! changes the other sees at once, and races split across both end as on
//! one server. Needs CASHDESK_TEST_PG (see `cashdesk_card::store::pg::testing`).

mod common;

use cashdesk_card::store::pg::testing::TestDatabase;
use common::{new_app, App};
use serde_json::json;
use std::sync::Arc;

/// Two servers on one fresh database, or `None` (skipped, said on stderr).
fn two_servers() -> Option<(App, App)> {
    let db = Arc::new(TestDatabase::create(false)?);
    let start = || {
        let mut app = new_app();
        app.db = Some(db.clone());
        app.start();
        app
    };
    Some((start(), start()))
}

/// Runs `n` calls, call `i` through server `i % 2`; the keys answered.
fn race(a: &App, b: &App, n: usize, call: impl Fn(&App, usize) -> common::Reply + Sync) -> Vec<String> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let call = &call;
                s.spawn(move || call(if i % 2 == 0 { a } else { b }, i).key().to_string())
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a caller panicked")).collect()
    })
}

#[test]
fn a_change_through_one_server_is_seen_by_the_other_at_once() {
    let Some((a, b)) = two_servers() else { return };
    a.active_card("1000001", "C-1", "+79160000001");
    assert_eq!(b.status_of("1000001"), a.status_of("1000001"));
    b.block("marketer", "1000001", json!("4")).expect_ok();
    let blocked = a.status_of("1000001");
    assert_eq!(blocked, b.status_of("1000001"));
    assert_ne!(blocked, "2", "the block through b is not seen through a");
    let history = a.get("administrator", "/api/admin/cards/1000001/history");
    history.expect_ok();
}

#[test]
fn thirty_two_blocks_of_one_card_across_two_servers_make_exactly_one_ok() {
    let Some((a, b)) = two_servers() else { return };
    a.active_card("1000001", "C-1", "+79160000001");
    let keys = race(&a, &b, 32, |app, _| app.block("marketer", "1000001", json!("4")));
    assert_eq!(keys.iter().filter(|k| *k == "OK").count(), 1, "answers: {keys:?}");
    let history = a.get("administrator", "/api/admin/cards/1000001/history");
    let blocks = history.json["History"].as_array().expect("history").iter().filter(|e| e["Method"] == "Block").count();
    assert_eq!(blocks, 1, "history: {}", history.body);
}

#[test]
fn thirty_two_bindings_of_different_cards_to_one_contact_make_exactly_one_ok() {
    let Some((a, b)) = two_servers() else { return };
    a.contact("C-1", "+79160000001", "Иванов Иван");
    let number = |i: usize| format!("{}", 1000100 + i);
    for i in 0..32 {
        let app = if i % 2 == 0 { &a } else { &b };
        app.card(&number(i));
        app.issue(&number(i)).expect_ok();
    }
    let keys = race(&a, &b, 32, |app, i| app.bind(&number(i), "+79160000001"));
    assert_eq!(keys.iter().filter(|k| *k == "OK").count(), 1, "answers: {keys:?}");
}
