//! `cashdesk store copy` through the real binary: a sled store with a rich
//! data set (the demo's cards in every status, blocked and replaced ones,
//! generated contacts and cards with long histories, lots with and without
//! receipts, sales confirmed, partly and wholly returned, cancelled) is
//! copied sled → sled, and sled → PostgreSQL → sled, and every record of
//! every copy is compared with the source: each table listed whole, and each
//! record read back by key, through the phone index and the searches. A
//! non-empty target is refused and left as it was.
//!
//! The PostgreSQL part needs `CASHDESK_TEST_PG` (src/store/pg/testing.rs);
//! with `CASHDESK_REQUIRE_PG=1` and no server it fails.

use cashdesk_card::domain::Status;
use cashdesk_card::import::{import_reader, ImportKind};
use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::{BonusInput, Caller, CardService, ContactInput, LineInput, ReturnInput, SaleInput};
use cashdesk_card::store::conformance::scan_all;
use cashdesk_card::store::pg::testing::TestDatabase;
use cashdesk_card::store::{
    CardQuery, ContactQuery, PgOptions, PgStore, ReceiptState, SledStore, Store, Stored, Table,
};
use indicatif::ProgressBar;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_cashdesk");

/// Generated contacts and cards on top of the demo's.
const GENERATED: usize = 120;
/// Cards that also go through Issue, BindTo, Active, lots and block cycles.
const LIVED: usize = 12;

fn admin() -> Caller {
    Caller::new("demo-admin", "administrator")
}

fn desk() -> Caller {
    Caller::new("till-7", "cashier")
}

fn line(position: u32, amount: &str) -> LineInput {
    LineInput { position: Some(position.to_string()), amount: Some(amount.into()), category: None }
}

fn sale(id: &str, number: &str, redeem: &str) -> SaleInput {
    SaleInput {
        receipt_id: Some(id.into()),
        number: Some(number.into()),
        lines: Some(vec![line(1, "600.00"), line(2, "400.00")]),
        redeem: Some(redeem.into()),
        ..Default::default()
    }
}

fn give_back(receipt: &str, id: &str, amount: &str) -> ReturnInput {
    ReturnInput { receipt_id: Some(receipt.into()), return_id: Some(id.into()), lines: Some(vec![line(1, amount)]) }
}

fn bonus(amount: &str, expire: Option<&str>) -> BonusInput {
    BonusInput {
        amount: Some(amount.into()),
        active_from: Some("2026-01-01".into()),
        expire_date: expire.map(Into::into),
        ..Default::default()
    }
}

/// Contacts and cards by CSV import (one batch each), then a few cards
/// through their whole life: bound, activated, lots, blocked and unblocked
/// often enough that their history outgrows sled's tail.
fn generated(svc: &CardService) {
    let mut contacts = String::from("Code,MobileNumber,Name,Email,City\n");
    let mut cards = String::from("Number,CategoryCode,TypeCode\n");
    for i in 0..GENERATED {
        let mobile = if i % 5 == 4 && i >= LIVED { String::new() } else { format!("+7917{i:07}") };
        contacts.push_str(&format!("G-{i:04},{mobile},Имя {i} Фамилия,g{i}@example.com,Тверь\n"));
        cards.push_str(&format!("77{i:08},{},{}\n", i % 2, i % 3));
    }
    for (kind, csv) in [(ImportKind::Contacts, contacts), (ImportKind::Cards, cards)] {
        let report = import_reader(svc, &admin(), kind, csv.as_bytes(), &ProgressBar::hidden()).unwrap();
        assert!(report.bad.is_empty(), "{kind}: {:?}", report.bad);
    }
    let fields = BTreeMap::from([("Loyalty".to_string(), "gold".to_string())]);
    let input = ContactInput { fields: Some(fields), ..Default::default() };
    svc.upsert_contact(&admin(), "G-0000", input).unwrap();
    for i in 0..LIVED {
        let number = format!("77{i:08}");
        let n = Some(number.as_str());
        svc.issue(&admin(), n).unwrap();
        svc.bind_to(&admin(), n, Some(&format!("+7917{i:07}"))).unwrap();
        svc.active(&admin(), n).unwrap();
        svc.add_bonus(&admin(), &number, bonus("500", Some("2027-06-30"))).unwrap();
        svc.add_bonus(&admin(), &number, bonus("25.75", None)).unwrap();
        for _ in 0..(i % 4) * 2 {
            svc.block(&admin(), n, None, Some("0")).unwrap();
            svc.unblock(&admin(), n, None, Some("0")).unwrap();
        }
        if i % 4 == 1 {
            svc.block(&admin(), n, None, Some("2")).unwrap();
        }
    }
}

/// Sales on the demo's Active card and on generated ones: confirmed, partly
/// returned, wholly returned, cancelled.
fn purchases(svc: &CardService) {
    let today = svc.today();
    let card = "2000000000046";
    svc.confirm(&desk(), &sale("R-1", card, "10"), today).unwrap();
    svc.confirm(&desk(), &sale("R-2", card, "0"), today).unwrap();
    svc.return_goods(&desk(), &give_back("R-2", "RT-1", "300.00"), today).unwrap();
    svc.confirm(&desk(), &sale("R-3", "7700000000", "100"), today).unwrap();
    svc.return_goods(&desk(), &give_back("R-3", "RT-2", "600.00"), today).unwrap();
    let all = ReturnInput {
        receipt_id: Some("R-3".into()),
        return_id: Some("RT-3".into()),
        lines: Some(vec![line(2, "400.00")]),
    };
    svc.return_goods(&desk(), &all, today).unwrap();
    svc.confirm(&desk(), &sale("R-4", "7700000002", "50"), today).unwrap();
    svc.cancel(&desk(), Some("R-4"), today).unwrap();
    svc.confirm(&desk(), &sale("R-5", "7700000004", "0"), today).unwrap();
}

/// The shipped rules with one custom contact field, `Loyalty`, declared
/// (the shipped `registration.toml` declares none), so custom fields are
/// copied too.
fn rules_with_a_custom_field() -> RuleSet {
    let files: Vec<(&str, String)> = RuleSet::shipped_files()
        .iter()
        .map(|&(name, text)| {
            let text = if name == "registration.toml" {
                text.replace("extra_fields = []", "extra_fields = [\"Loyalty\"]")
            } else {
                text.to_string()
            };
            (name, text)
        })
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let rules = RuleSet::from_sources(&files).expect("the shipped rules with Loyalty declared");
    assert!(rules.extra_fields().iter().any(|f| f == "Loyalty"), "the edit took");
    rules
}

/// The source store in `dir`, closed when this returns.
fn build_source(dir: &Path) {
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir).unwrap());
    let svc = CardService::new(store, Arc::new(RuleHandle::new(rules_with_a_custom_field())));
    cashdesk_card::demo::seed(&svc).unwrap();
    generated(&svc);
    purchases(&svc);
}

/// The source really is as rich as the test says, so a copy that dropped
/// any kind of record could not pass.
fn check_rich(store: &dyn Store) {
    let cards: Vec<Stored> = scan_all(store, Table::Cards, 1000);
    let statuses: BTreeSet<Status> =
        cards.iter().map(|c| if let Stored::Card(c) = c { c.record.status } else { panic!() }).collect();
    assert_eq!(statuses.len(), 4, "cards in every status: {statuses:?}");
    let full = |f: &dyn Fn(&cashdesk_card::store::FullCard) -> bool| {
        cards.iter().any(|c| matches!(c, Stored::Card(c) if f(c)))
    };
    assert!(full(&|c| c.record.block.as_ref().is_some_and(|b| b.reason == "4")), "a replaced card");
    assert!(full(&|c| c.record.block.as_ref().is_some_and(|b| b.reason == "2")), "a blacklisted card");
    assert!(full(&|c| c.history.len() > 16), "a history past two sled chunks");
    assert!(full(&|c| c.lots.iter().any(|l| l.receipt.is_some())), "a lot with its receipt");
    assert!(full(&|c| !c.lots.is_empty() && c.lots.iter().all(|l| l.receipt.is_none())), "lots without");
    let states: BTreeSet<&str> = scan_all(store, Table::Receipts, 1000)
        .iter()
        .map(|r| if let Stored::Receipt(r) = r { r.state.name() } else { panic!() })
        .collect();
    let all =
        [ReceiptState::Confirmed, ReceiptState::PartiallyReturned, ReceiptState::Returned, ReceiptState::Cancelled];
    assert_eq!(states, all.iter().map(|s| s.name()).collect(), "receipts in every state");
    assert!(scan_all(store, Table::Contacts, 1000).len() > GENERATED);
    assert!(scan_all(store, Table::ContactCards, 1000).len() >= LIVED);
}

/// Every page of a search.
fn search<T>(mut page: impl FnMut(Option<&str>) -> cashdesk_card::store::Page<T>) -> Vec<T> {
    let (mut out, mut after) = (Vec::new(), None::<String>);
    loop {
        let p = page(after.as_deref());
        out.extend(p.items);
        match p.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

/// `copy` holds exactly what `source` does.
fn assert_same(source: &dyn Store, copy: &dyn Store, what: &str) {
    for table in Table::ALL {
        let (a, b) = (scan_all(source, table, 257), scan_all(copy, table, 1000));
        assert!(!a.is_empty(), "{what}: the source has {table:?}");
        assert_eq!(a.len(), b.len(), "{what}: {table:?} counts");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{what}: {table:?} record {}", x.key());
        }
    }
    // Read back by key, not only listed: the point reads, the phone index,
    // a balance's view.
    for c in scan_all(source, Table::Cards, 1000) {
        let Stored::Card(c) = c else { panic!() };
        let n = &c.record.number;
        assert_eq!(copy.card(n).unwrap().as_ref(), Some(&c.record), "{what}: card {n}");
        assert_eq!(copy.lots(n).unwrap(), c.lots, "{what}: lots of {n}");
        assert_eq!(copy.history(n).unwrap(), c.history, "{what}: history of {n}");
        assert_eq!(copy.card_view(n).unwrap(), source.card_view(n).unwrap(), "{what}: view of {n}");
    }
    for c in scan_all(source, Table::Contacts, 1000) {
        let Stored::Contact(c) = c else { panic!() };
        assert_eq!(copy.contact(&c.code).unwrap().as_ref(), Some(&c), "{what}: contact {}", c.code);
        assert_eq!(copy.contact_cards(&c.code).unwrap(), source.contact_cards(&c.code).unwrap());
        if let Some(m) = &c.mobile {
            assert_eq!(copy.contact_by_mobile(m).unwrap().as_ref(), Some(&c), "{what}: phone index {m}");
        }
    }
    for r in scan_all(source, Table::Receipts, 1000) {
        let Stored::Receipt(r) = r else { panic!() };
        assert_eq!(copy.receipt(&r.id).unwrap().as_ref(), Some(&*r), "{what}: receipt {}", r.id);
    }
    // The indexes the searches read were rebuilt.
    assert_eq!(copy.card_count().unwrap(), source.card_count().unwrap());
    for status in [Status::New, Status::Issued, Status::Active, Status::Blocked] {
        let q = CardQuery::Status(status);
        let found = |s: &dyn Store| search(|after| s.find_cards(&q, after, 50).unwrap());
        assert_eq!(found(copy), found(source), "{what}: cards {status:?}");
    }
    let q = ContactQuery::NamePrefix("имя 1".into());
    let found = |s: &dyn Store| search(|after| s.find_contacts(&q, after, 7).unwrap());
    assert!(!found(source).is_empty());
    assert_eq!(found(copy), found(source), "{what}: contacts by name");
}

fn copy(from: &str, to: &str) -> Output {
    Command::new(BIN).args(["store", "copy", "--from", from, "--to", to]).output().expect("run cashdesk")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A copy that must succeed; its summary names what it copied.
fn copy_ok(from: &str, to: &str) {
    let out = copy(from, to);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "copy {from} → {to} failed:\n{stdout}\n{stderr}");
    assert!(stdout.starts_with("copied ") && stdout.contains(" cards (with "), "summary: {stdout}");
}

/// A copy into a non-empty target fails, says why, and changes nothing.
fn copy_refused(from: &str, to: &str) {
    let out = copy(from, to);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "a copy into a non-empty store succeeded");
    assert!(stderr.contains("the target store is not empty"), "{stderr}");
}

fn sled(dir: &Path) -> SledStore {
    SledStore::open(dir).unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn sled_to_sled_is_exact_and_a_non_empty_target_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    build_source(&src);
    check_rich(&sled(&src));
    copy_ok(path(&src), path(&dst));
    assert_same(&sled(&src), &sled(&dst), "sled → sled");
    copy_refused(path(&src), path(&dst));
    assert_same(&sled(&src), &sled(&dst), "after the refused copy");
}

#[test]
fn a_missing_source_or_a_data_directory_is_refused_without_creating_a_store() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing");
    let out = copy(path(&missing), path(&tmp.path().join("dst")));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("there is no store in"), "{}", text(&out.stderr));
    assert!(!missing.exists() && !tmp.path().join("dst").exists(), "nothing was created");
    let data = tmp.path().join("data");
    drop(sled(&data.join("store")));
    let out = copy(path(&data), path(&tmp.path().join("dst")));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("is a data directory, not a store"), "{}", text(&out.stderr));
}

#[test]
fn sled_to_postgres_to_sled_is_exact_and_a_non_empty_database_is_refused() {
    let Some(db) = TestDatabase::create(false) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (src, back) = (tmp.path().join("src"), tmp.path().join("back"));
    build_source(&src);
    copy_ok(path(&src), db.url());
    {
        let pg = PgStore::open(db.url(), &PgOptions::default()).unwrap();
        assert_same(&sled(&src), &pg, "sled → PostgreSQL");
    }
    copy_ok(db.url(), path(&back));
    assert_same(&sled(&src), &sled(&back), "sled → PostgreSQL → sled");
    copy_refused(path(&src), db.url());
    let pg = PgStore::open(db.url(), &PgOptions::default()).unwrap();
    assert_same(&sled(&src), &pg, "PostgreSQL after the refused copy");
    drop(pg);
    copy_refused(db.url(), path(&back));
}
