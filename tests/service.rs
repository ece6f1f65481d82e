//! The card service through its library API, on sled: balances as of a
//! date, replacement, the by/{value} rule, and concurrent callers.

use cashdesk_card::domain::{BonusState, BonusType, Status};
use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::{BonusInput, Caller, CardService, ContactInput, Lookup};
use cashdesk_card::store::SledStore;
use cashdesk_card::ErrorKey;
use chrono::NaiveDate;
use std::sync::Arc;

/// On sled, or on a fresh PostgreSQL database with `CASHDESK_TEST_STORE=postgres`.
fn service() -> Arc<CardService> {
    let store: Arc<dyn cashdesk_card::store::Store> = match cashdesk_card::store::pg::testing::store_from_env() {
        Some(pg) => Arc::new(pg),
        None => Arc::new(SledStore::temporary().unwrap()),
    };
    Arc::new(CardService::new(store, Arc::new(RuleHandle::new(RuleSet::shipped()))))
}

fn admin() -> Caller {
    Caller::new("admin", "administrator")
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn contact(svc: &CardService, code: &str, mobile: &str, name: &str) {
    let input = ContactInput { mobile: Some(mobile.into()), name: Some(name.into()), ..Default::default() };
    svc.upsert_contact(&admin(), code, input).unwrap();
}

fn active_card(svc: &CardService, number: &str, code: &str, mobile: &str) {
    svc.upsert_card(&admin(), number, None, None).unwrap();
    contact(svc, code, mobile, "Name");
    svc.issue(&admin(), Some(number)).unwrap();
    svc.bind_to(&admin(), Some(number), Some(mobile)).unwrap();
    svc.active(&admin(), Some(number)).unwrap();
}

fn lot(svc: &CardService, number: &str, amount: &str, t: &str, from: &str, expire: Option<&str>, frozen: bool) {
    let input = BonusInput {
        amount: Some(amount.into()),
        type_code: Some(t.into()),
        active_from: Some(from.into()),
        expire_date: expire.map(Into::into),
        frozen,
    };
    svc.add_bonus(&admin(), number, input).unwrap();
}

fn amount(b: &cashdesk_card::service::Balance, t: BonusType, s: BonusState) -> String {
    b.bonuses.iter().find(|l| l.bonus_type == t && l.state == s).map(|l| l.amount.to_string()).unwrap_or("-".into())
}

#[test]
fn balance_states_follow_the_date_passed_in() {
    let svc = service();
    active_card(&svc, "100001", "A", "+79160000001");
    lot(&svc, "100001", "0.1", "0", "2026-01-01", Some("2026-06-30"), false);
    lot(&svc, "100001", "0.2", "0", "2026-01-01", Some("2026-06-30"), false);
    lot(&svc, "100001", "5", "0", "2026-01-01", Some("2026-07-31"), false);
    lot(&svc, "100001", "3", "0", "2026-07-01", None, false);
    lot(&svc, "100001", "4", "1", "2026-01-01", None, true);
    let on = |day: &str| svc.balance(&admin(), Lookup::Number("100001"), d(day)).unwrap();

    let b = on("2026-06-30"); // valid through its ExpireDate
    assert_eq!(amount(&b, BonusType::Monetary, BonusState::Active), "5.3", "0.1 + 0.2 is exactly 0.3");
    assert_eq!(amount(&b, BonusType::Monetary, BonusState::NearestExpiry), "0.3");
    let nearest = b.bonuses.iter().find(|l| l.state == BonusState::NearestExpiry).unwrap();
    assert_eq!(nearest.expire, Some(d("2026-06-30")));
    assert_eq!(amount(&b, BonusType::Monetary, BonusState::Inactive), "3", "before ActiveFrom");
    assert_eq!(amount(&b, BonusType::Status, BonusState::Frozen), "4");
    assert_eq!(amount(&b, BonusType::Status, BonusState::NearestExpiry), "-", "no expiring status bonuses");
    assert_eq!(b.bonuses.len(), 9);

    let b = on("2026-07-01"); // the day after: burned
    assert_eq!(amount(&b, BonusType::Monetary, BonusState::Burned), "0.3");
    assert_eq!(amount(&b, BonusType::Monetary, BonusState::Active), "8");
    assert_eq!(amount(&b, BonusType::Monetary, BonusState::NearestExpiry), "5");

    svc.block(&Caller::new("c", "client"), Some("100001"), None, Some("0")).unwrap();
    let b = on("2026-07-01"); // frozen while blocked; burned stays burned
    assert_eq!(amount(&b, BonusType::Monetary, BonusState::Frozen), "8");
    assert_eq!(amount(&b, BonusType::Monetary, BonusState::Burned), "0.3");
    assert_eq!(amount(&b, BonusType::Monetary, BonusState::Active), "0");
}

#[test]
fn by_value_prefers_an_existing_card_then_a_contact_code() {
    let svc = service();
    active_card(&svc, "200001", "300001", "+79160000002"); // a contact whose code looks like a card number
    active_card(&svc, "300001", "B", "+79160000003");
    let by = |v: &str| svc.balance(&admin(), Lookup::Value(v), d("2026-01-01"));
    assert_eq!(by("300001").unwrap().number, "300001", "an existing card wins");
    assert_eq!(by("B").unwrap().number, "300001");
    assert_eq!(by("999999").unwrap_err().key, ErrorKey::CannotFindCardNumber);
    assert_eq!(by("NOPE").unwrap_err().key, ErrorKey::CannotFindContactCode);
    assert_eq!(by("a/b").unwrap_err().key, ErrorKey::InvalidCardNumber);
}

#[test]
fn every_phone_notation_finds_the_same_card() {
    let svc = service();
    active_card(&svc, "400001", "P", "8 (912) 345-67-89");
    for p in ["89123456789", "79123456789", "+7 (912) 345-67-89", "9123456789", "+79123456789"] {
        assert_eq!(svc.balance(&admin(), Lookup::Phone(p), d("2026-01-01")).unwrap().number, "400001", "{p}");
    }
}

#[test]
fn unblock_target_depends_on_registration() {
    let svc = service();
    let client = Caller::new("c", "client");
    active_card(&svc, "500001", "R", "+79160000005");
    svc.block(&client, Some("500001"), None, Some("0")).unwrap();
    assert_eq!(svc.unblock(&client, Some("500001"), None, Some("0")).unwrap().status, Status::Active);
    svc.block(&client, Some("500001"), None, Some("0")).unwrap();
    svc.upsert_contact(&admin(), "R", ContactInput { name: Some(String::new()), ..Default::default() }).unwrap();
    assert_eq!(svc.unblock(&client, Some("500001"), None, Some("0")).unwrap().status, Status::Issued);
}

#[test]
fn replacement_moves_lots_and_conserves_their_sum() {
    let svc = service();
    active_card(&svc, "600001", "X", "+79160000006");
    lot(&svc, "600001", "10.5", "0", "2026-01-01", None, false);
    lot(&svc, "600001", "2", "1", "2026-01-01", Some("2026-12-31"), false);
    svc.block(&Caller::new("m", "marketer"), None, Some("+79160000006"), Some("4")).unwrap();
    svc.upsert_card(&admin(), "600002", None, None).unwrap();
    svc.issue(&admin(), Some("600002")).unwrap();
    svc.bind_to(&admin(), Some("600002"), Some("89160000006")).unwrap();
    assert!(svc.lots("600001").unwrap().is_empty());
    let moved: Vec<String> = svc.lots("600002").unwrap().iter().map(|l| l.amount.to_string()).collect();
    assert_eq!(moved, ["10.5", "2"]);
    let b = svc.balance(&admin(), Lookup::Phone("+79160000006"), d("2026-06-01")).unwrap();
    assert_eq!(b.number, "600002");
    for n in ["600001", "600002"] {
        assert!(svc.history(&admin(), n).unwrap().iter().any(|h| h.reason.contains("moved")), "{n}");
    }
    // the replaced card stays blocked for good
    let e = svc.unblock(&admin(), Some("600001"), None, Some("0")).unwrap_err();
    assert_eq!(e.key, ErrorKey::UnBlockReasonError);
}

#[test]
fn a_refused_call_changes_nothing() {
    let svc = service();
    active_card(&svc, "700001", "Y", "+79160000007");
    let before = (svc.card("700001").unwrap(), svc.history(&admin(), "700001").unwrap());
    for (reason, role) in [("2", "client"), ("9", "director"), ("1", "cashier")] {
        assert!(svc.block(&Caller::new("u", role), Some("700001"), None, Some(reason)).is_err());
    }
    assert!(svc.issue(&admin(), Some("700001")).is_err());
    assert_eq!((svc.card("700001").unwrap(), svc.history(&admin(), "700001").unwrap()), before);
}

#[test]
fn racing_binds_to_one_contact_and_racing_blocks_each_have_one_winner() {
    let svc = service();
    contact(&svc, "Z", "+79160000008", "Z");
    for i in 0..32 {
        let n = format!("{}", 800000 + i);
        svc.upsert_card(&admin(), &n, None, None).unwrap();
        svc.issue(&admin(), Some(&n)).unwrap();
    }
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let svc = svc.clone();
            std::thread::spawn(move || svc.bind_to(&admin(), Some(&format!("{}", 800000 + i)), Some("+79160000008")))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| e.key == ErrorKey::ContactBindToAnotherCardNumber));
    let winner =
        (0..32).map(|i| format!("{}", 800000 + i)).find(|n| svc.card(n).unwrap().unwrap().contact.is_some()).unwrap();

    let handles: Vec<_> = (0..32)
        .map(|_| {
            let (svc, n) = (svc.clone(), winner.clone());
            std::thread::spawn(move || svc.block(&Caller::new("c", "client"), Some(&n), None, Some("0")))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| e.key == ErrorKey::StatusError));
    let blocks = svc.history(&admin(), &winner).unwrap().iter().filter(|h| h.method == "Block").count();
    assert_eq!(blocks, 1, "one Block in the history");
}

#[test]
fn an_already_expired_lot_without_active_from_is_kept_as_burned() {
    let svc = service();
    active_card(&svc, "900001", "E", "+79160000009");
    let today = svc.today();
    let past = (today - chrono::Days::new(10)).format("%Y-%m-%d").to_string();
    let input = BonusInput { amount: Some("5".into()), expire_date: Some(past.clone()), ..Default::default() };
    svc.add_bonus(&admin(), "900001", input).unwrap();
    let b = svc.balance(&admin(), Lookup::Number("900001"), today).unwrap();
    assert_eq!(amount(&b, BonusType::Monetary, BonusState::Burned), "5");
    // A stated ActiveFrom after the ExpireDate is still a contradiction.
    let input = BonusInput {
        amount: Some("5".into()),
        active_from: Some(today.format("%Y-%m-%d").to_string()),
        expire_date: Some(past),
        ..Default::default()
    };
    assert_eq!(svc.add_bonus(&admin(), "900001", input).unwrap_err().key, ErrorKey::InvalidDate);
}
