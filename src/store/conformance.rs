//! The behaviours every [`Store`] engine must have, written once and run
//! against each engine (`tests/store_conformance.rs`, through
//! [`store_conformance_tests!`](crate::store_conformance_tests)): reads,
//! all-or-nothing batches, `transact` exclusion, panics, re-runs. Each
//! function panics (as a test does) when the engine misbehaves.

use super::{
    put, Batch, BlockRecord, CardQuery, CardRecord, ContactQuery, ContactRecord, ContactWrite, FullCard, HistoryEntry,
    Lot, Page, ReceiptLine, ReceiptRecord, ReceiptState, RedeemedPortion, Store, StoreError, Stored, Table,
};
use crate::domain::{Amount, BonusType, CardType, Category, Status};
use chrono::NaiveDate;

/// A test's card: Active, bound to `contact`, with `history_len` entries.
pub fn card(number: &str, contact: Option<&str>, history_len: u64) -> CardRecord {
    CardRecord {
        number: number.into(),
        status: Status::Active,
        category: Category::Virtual,
        card_type: CardType::BonusDiscount,
        contact: contact.map(Into::into),
        block: None,
        history_len,
    }
}

pub fn contact(code: &str, mobile: Option<&str>) -> ContactRecord {
    let mut rec = ContactRecord { code: code.into(), mobile: mobile.map(Into::into), ..Default::default() };
    rec.name = "Анна Петрова".into();
    rec.fields.insert("Loyalty".into(), "gold".into());
    rec
}

pub fn entry(reason: &str) -> HistoryEntry {
    HistoryEntry {
        time: "2026-05-01T10:00:00.000Z".into(),
        user: "ivan".into(),
        role: "cashier".into(),
        method: "Block".into(),
        from: Some(Status::Active),
        to: Some(Status::Blocked),
        reason: reason.into(),
    }
}

pub fn lot(amount: &str, receipt: Option<&str>) -> Lot {
    Lot {
        amount: Amount::parse(amount).expect("amount"),
        bonus_type: BonusType::Status,
        active_from: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        expire: NaiveDate::from_ymd_opt(2026, 12, 31),
        frozen: true,
        receipt: receipt.map(Into::into),
    }
}

fn contact_write(code: &str, mobile: Option<&str>, old: Option<&str>) -> Batch {
    let mut b = Batch::default();
    b.put_contact(ContactWrite { record: contact(code, mobile), old_mobile: old.map(Into::into) });
    b
}

/// Appends one history entry to card `number` through `transact`, reading
/// the card through the handle.
pub fn append(store: &dyn Store, number: &str, reason: &str) {
    store
        .transact(&mut |r| {
            let mut c = r.card(number)?.unwrap_or_else(|| card(number, None, 0));
            c.history_len += 1;
            let mut b = Batch::default();
            b.push_history(number, entry(reason));
            b.put_card(c);
            Ok(Some(b))
        })
        .expect("append");
}

fn reasons(store: &dyn Store, number: &str) -> Vec<String> {
    store.history(number).expect("history").into_iter().map(|e| e.reason).collect()
}

pub fn an_empty_store_finds_nothing(store: &dyn Store) {
    assert_eq!(store.card("123456").unwrap(), None);
    assert_eq!(store.contact("C1").unwrap(), None);
    assert_eq!(store.contact_by_mobile("+79001234567").unwrap(), None);
    assert!(store.contact_cards("C1").unwrap().is_empty());
    assert!(store.lots("123456").unwrap().is_empty());
    assert!(store.history("123456").unwrap().is_empty());
    assert_eq!(store.card_view("123456").unwrap(), None);
    assert_eq!(store.card_count().unwrap(), 0);
}

pub fn every_record_reads_back_as_written(store: &dyn Store) {
    let mut blocked = card("2000000000015", Some("C1"), 1);
    blocked.status = Status::Blocked;
    blocked.block = Some(BlockRecord { reason: "2".into(), user: "ivan".into(), role: "director".into() });
    let lots = vec![lot("12.30", Some("R-1")), lot("0.01", None)];
    let mut b = contact_write("C1", Some("+79001234567"), None);
    b.put_contact_cards("C1", vec!["2000000000015".into()]);
    b.put_lots("2000000000015", lots.clone());
    b.push_history("2000000000015", entry("first"));
    b.put_card(blocked.clone());
    put(store, b).unwrap();
    assert_eq!(store.card("2000000000015").unwrap().as_ref(), Some(&blocked));
    assert_eq!(store.contact("C1").unwrap(), Some(contact("C1", Some("+79001234567"))));
    assert_eq!(store.contact_by_mobile("+79001234567").unwrap().map(|c| c.code), Some("C1".into()));
    assert_eq!(store.contact_cards("C1").unwrap(), ["2000000000015"]);
    assert_eq!(store.lots("2000000000015").unwrap(), lots);
    assert_eq!(reasons(store, "2000000000015"), ["first"]);
    let view = store.card_view("2000000000015").unwrap().expect("view");
    assert_eq!((view.card, view.contact.map(|c| c.code), view.lots), (blocked, Some("C1".into()), lots));
    assert_eq!(store.card_count().unwrap(), 1);
}

pub fn a_change_of_lots_alone_keeps_the_record_and_history(store: &dyn Store) {
    append(store, "123456", "created");
    let mut b = Batch::default();
    b.put_lots("123456", vec![lot("5", None)]);
    put(store, b).unwrap();
    assert_eq!(store.card("123456").unwrap(), Some(card("123456", None, 1)));
    assert_eq!(store.lots("123456").unwrap(), [lot("5", None)]);
    assert_eq!(reasons(store, "123456"), ["created"]);
}

pub fn the_phone_index_follows_a_changed_mobile(store: &dyn Store) {
    put(store, contact_write("a", Some("+79160000001"), None)).unwrap();
    put(store, contact_write("a", Some("+79160000002"), Some("+79160000001"))).unwrap();
    assert_eq!(store.contact_by_mobile("+79160000001").unwrap(), None);
    assert_eq!(store.contact_by_mobile("+79160000002").unwrap().map(|c| c.code), Some("a".into()));
    // b takes a's number first in one batch; a's move must not drop b's entry.
    let mut both = contact_write("b", Some("+79160000002"), None);
    both.contacts.extend(contact_write("a", Some("+79160000003"), Some("+79160000002")).contacts);
    put(store, both).unwrap();
    assert_eq!(store.contact_by_mobile("+79160000002").unwrap().map(|c| c.code), Some("b".into()));
    assert_eq!(store.contact_by_mobile("+79160000003").unwrap().map(|c| c.code), Some("a".into()));
}

pub fn history_is_per_card_and_oldest_first_however_long(store: &dyn Store) {
    for i in 0..50 {
        append(store, "123456", &format!("e{i}"));
        if i % 7 == 0 {
            append(store, "1234567", &format!("other{i}"));
        }
        let want: Vec<String> = (0..=i).map(|j| format!("e{j}")).collect();
        assert_eq!(reasons(store, "123456"), want, "after {} entries", i + 1);
    }
    assert_eq!(store.card("123456").unwrap().unwrap().history_len, 50);
    assert_eq!(reasons(store, "1234567").len(), 8);
}

pub fn a_batch_with_one_bad_change_writes_nothing(store: &dyn Store) {
    append(store, "123456", "created");
    let mut b = contact_write("C9", Some("+79160000009"), None);
    b.put_lots("111111", vec![lot("1", None)]);
    b.put_card(card("222222", None, 0));
    // History out of sequence: the card has 1 entry, the record says 5.
    b.push_history("123456", entry("bad"));
    b.put_card(card("123456", None, 5));
    assert!(put(store, b).is_err(), "an out-of-sequence history was accepted");
    assert_eq!(store.contact("C9").unwrap(), None);
    assert_eq!(store.contact_by_mobile("+79160000009").unwrap(), None);
    assert_eq!(store.card("222222").unwrap(), None);
    assert_eq!(reasons(store, "123456"), ["created"]);
    // The store goes on.
    append(store, "123456", "next");
    assert_eq!(reasons(store, "123456"), ["created", "next"]);
}

pub fn an_operation_that_writes_nothing_or_fails_changes_nothing(store: &dyn Store) {
    store.transact(&mut |r| Ok(r.card("123456")?.map(|_| Batch::default()))).unwrap();
    let err = store
        .transact(&mut |_| Err(StoreError::Corrupt { key: "x".into(), reason: "from the operation".into() }))
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert_eq!(store.card_count().unwrap(), 0);
}

/// `threads` callers each add 1 to a lot's amount `per` times, reading it
/// through the handle: no update may be lost.
pub fn transact_loses_no_update(store: &dyn Store, threads: u64, per: u64) {
    let mut b = Batch::default();
    b.put_card(card("777777", None, 0));
    b.put_lots("777777", vec![lot("0", None)]);
    put(store, b).unwrap();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per {
                    store
                        .transact(&mut |r| {
                            let mut lots = r.lots("777777")?;
                            lots[0].amount = lots[0].amount.plus(Amount::parse("1").expect("1"));
                            let mut b = Batch::default();
                            b.put_lots("777777", lots);
                            Ok(Some(b))
                        })
                        .expect("transact");
                }
            });
        }
    });
    let total = store.lots("777777").unwrap()[0].amount;
    assert_eq!(total, Amount::parse(&(threads * per).to_string()).unwrap(), "updates were lost");
}

pub fn a_panicking_operation_panics_its_caller_and_writes_nothing(store: &dyn Store) {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.transact(&mut |_| -> Result<Option<Batch>, StoreError> { panic!("operation failed") })
    }));
    assert!(caught.is_err(), "the panic did not reach the caller");
    assert_eq!(store.card_count().unwrap(), 0);
    append(store, "123456", "after the panic");
    assert_eq!(reasons(store, "123456"), ["after the panic"]);
}

pub fn receipt(id: &str, card: &str) -> ReceiptRecord {
    let a = |s: &str| Amount::parse(s).expect("amount");
    ReceiptRecord {
        id: id.into(),
        card: card.into(),
        state: ReceiptState::Confirmed,
        time: "2026-03-01T10:00:00.000Z".into(),
        user: "desk-1".into(),
        redeemed: a("250"),
        accrued: a("37.5"),
        accrued_from: NaiveDate::from_ymd_opt(2026, 3, 15),
        accrued_expire: NaiveDate::from_ymd_opt(2027, 3, 14),
        active_balance: a("150"),
        lines: vec![ReceiptLine {
            position: 1,
            amount: a("600"),
            category: Some("табак".into()),
            redeemed: a("150"),
            accrued: a("22.5"),
            returned: a("0"),
            reversed: a("0"),
            restored: a("0"),
        }],
        portions: vec![RedeemedPortion { amount: a("250"), expire: NaiveDate::from_ymd_opt(2026, 6, 30) }],
        reversed: a("0"),
        restored: a("0"),
        unrecovered: a("0"),
        returns: Vec::new(),
        cancel: None,
    }
}

pub fn receipts_read_back_as_written_and_are_replaced_whole(store: &dyn Store) {
    assert_eq!(store.receipt("R-1").unwrap(), None);
    let mut b = Batch::default();
    b.put_receipt(receipt("R-1", "123456"));
    put(store, b).unwrap();
    assert_eq!(store.receipt("R-1").unwrap(), Some(receipt("R-1", "123456")));
    let mut later = receipt("R-1", "123456");
    later.state = ReceiptState::Cancelled;
    let mut b = Batch::default();
    b.put_receipt(later.clone());
    put(store, b).unwrap();
    assert_eq!(store.receipt("R-1").unwrap(), Some(later));
    assert_eq!(store.receipt("R-10").unwrap(), None);
}

fn named(code: &str, name: &str) -> Batch {
    let mut rec = contact(code, None);
    rec.name = name.into();
    let mut b = Batch::default();
    b.put_contact(ContactWrite { record: rec, old_mobile: None });
    b
}

/// Every page of a search, following the cursors.
fn all_pages<T>(limit: usize, mut next: impl FnMut(Option<&str>, usize) -> Page<T>) -> Vec<Vec<T>> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = next(after.as_deref(), limit);
        assert!(page.items.len() <= limit, "a page holds at most `limit` items");
        let more = page.next.clone();
        pages.push(page.items);
        match more {
            Some(c) => after = Some(c),
            None => return pages,
        }
    }
}

pub fn contacts_are_found_by_code_and_name_prefix_page_by_page(store: &dyn Store) {
    for i in 0..23 {
        put(store, named(&format!("C-{i:02}"), &format!("Иванов{} Пётр", i % 3))).unwrap();
    }
    put(store, named("D-1", "  ИВАНОВ0   Степан ")).unwrap();
    put(store, named("C1X", "Сидоров")).unwrap();
    let pages = all_pages(10, |after, limit| {
        store.find_contacts(&ContactQuery::CodePrefix("C-".into()), after, limit).unwrap()
    });
    let codes: Vec<String> = pages.iter().flatten().map(|c| c.code.clone()).collect();
    let want: Vec<String> = (0..23).map(|i| format!("C-{i:02}")).collect();
    assert_eq!(codes, want, "code prefix, in code order, over pages");
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 3]);
    let by_name = |q: &str| {
        all_pages(4, |after, limit| store.find_contacts(&ContactQuery::NamePrefix(q.into()), after, limit).unwrap())
            .into_iter()
            .flatten()
            .map(|c| c.code)
            .collect::<Vec<_>>()
    };
    // Case-insensitive, Cyrillic, spaces collapsed; ordered by name, then code.
    let zero: Vec<String> = (0..23).filter(|i| i % 3 == 0).map(|i| format!("C-{i:02}")).collect();
    let mut want = zero.clone();
    want.push("D-1".into());
    assert_eq!(by_name("иванов0"), want);
    assert_eq!(by_name("ИВАНОВ0 С"), ["D-1"]);
    assert_eq!(by_name("иванов").len(), 24);
    assert!(by_name("петров").is_empty());
    // A renamed contact is found by its new name only.
    put(store, named("D-1", "Петров")).unwrap();
    assert_eq!(by_name("петров"), ["D-1"]);
    assert_eq!(by_name("иванов0"), zero);
}

pub fn cards_are_found_by_status_page_by_page(store: &dyn Store) {
    let mut b = Batch::default();
    for i in 0..15 {
        let mut c = card(&format!("5000{i:02}"), None, 0);
        c.status = if i % 2 == 0 { crate::domain::Status::Active } else { crate::domain::Status::New };
        b.put_card(c);
    }
    put(store, b).unwrap();
    let find = |s: crate::domain::Status| {
        all_pages(3, |after, limit| store.find_cards(&CardQuery::Status(s), after, limit).unwrap())
            .into_iter()
            .flatten()
            .map(|c| c.number)
            .collect::<Vec<_>>()
    };
    let active: Vec<String> = (0..15).filter(|i| i % 2 == 0).map(|i| format!("5000{i:02}")).collect();
    assert_eq!(find(crate::domain::Status::Active), active);
    assert_eq!(find(crate::domain::Status::New).len(), 7);
    // A status change moves the card between the lists.
    let mut b = Batch::default();
    let mut c = store.card("500000").unwrap().unwrap();
    c.status = crate::domain::Status::Blocked;
    b.put_card(c);
    put(store, b).unwrap();
    assert_eq!(find(crate::domain::Status::Blocked), ["500000"]);
    assert_eq!(find(crate::domain::Status::Active).len(), 7);
}

/// An erasure's write: the contact emptied of everything but its code,
/// its old mobile unhooked. The number is free for another contact at once,
/// the old name no longer finds it, and its cards and their history stay.
pub fn an_emptied_contact_frees_its_phone_and_leaves_the_name_index(store: &dyn Store) {
    let mut b = contact_write("C1", Some("+79160000001"), None);
    b.put_contact_cards("C1", vec!["123456".into()]);
    b.put_card(card("123456", Some("C1"), 0));
    put(store, b).unwrap();
    append(store, "123456", "before");
    let name = |q: &str| store.find_contacts(&ContactQuery::NamePrefix(q.into()), None, 10).unwrap().items;
    assert_eq!(name("анна").len(), 1);
    let mut b = Batch::default();
    let empty = ContactRecord { code: "C1".into(), ..Default::default() };
    b.put_contact(ContactWrite { record: empty.clone(), old_mobile: Some("+79160000001".into()) });
    let mut c = store.card("123456").unwrap().unwrap();
    c.history_len += 1;
    b.push_history("123456", entry("erased"));
    b.put_card(c);
    put(store, b).unwrap();
    assert_eq!(store.contact("C1").unwrap(), Some(empty));
    assert_eq!(store.contact_by_mobile("+79160000001").unwrap(), None);
    assert!(name("анна").is_empty(), "the erased name still finds the contact");
    assert_eq!(store.contact_cards("C1").unwrap(), ["123456"]);
    assert_eq!(reasons(store, "123456"), ["before", "erased"]);
    // Another contact takes the number.
    put(store, contact_write("C2", Some("+79160000001"), None)).unwrap();
    assert_eq!(store.contact_by_mobile("+79160000001").unwrap().map(|c| c.code), Some("C2".into()));
    let codes = store.find_contacts(&ContactQuery::CodePrefix("C".into()), None, 10).unwrap().items;
    assert_eq!(codes.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(), ["C1", "C2"]);
}

/// A card's view shows its contact as the contact now is: after the
/// contact's own write (without the card), within a transaction that
/// writes both, after an erasure, and after the card moves to another
/// contact (engines may keep a copy of the contact with the card).
pub fn a_card_view_follows_its_contacts_writes(store: &dyn Store) {
    let shown = |number: &str| store.card_view(number).unwrap().unwrap().contact.map(|c| (c.code, c.mobile, c.name));
    let mut b = contact_write("C1", Some("+79160000001"), None);
    b.put_contact_cards("C1", vec!["111111".into(), "222222".into()]);
    b.put_card(card("111111", Some("C1"), 0));
    b.put_card(card("222222", Some("C1"), 0));
    put(store, b).unwrap();
    let c1 = |mobile: &str, name: &str| Some(("C1".to_string(), Some(mobile.to_string()), name.to_string()));
    assert_eq!(shown("111111"), c1("+79160000001", "Анна Петрова"));
    // The contact alone: both cards show the change.
    let mut renamed = contact("C1", Some("+79160000002"));
    renamed.name = "Вера".into();
    let mut b = Batch::default();
    b.put_contact(ContactWrite { record: renamed.clone(), old_mobile: Some("+79160000001".into()) });
    put(store, b).unwrap();
    assert_eq!(shown("111111"), c1("+79160000002", "Вера"));
    assert_eq!(shown("222222"), c1("+79160000002", "Вера"));
    // A Block-like change of one card keeps the other's copy and its own.
    append(store, "222222", "blocked");
    assert_eq!(shown("222222"), c1("+79160000002", "Вера"));
    // The contact and one of its cards in one transaction.
    store
        .transact(&mut |r| {
            let mut b = Batch::default();
            let mut again = r.contact("C1")?.unwrap();
            again.name = "Нина".into();
            b.put_contact(ContactWrite { record: again, old_mobile: Some("+79160000002".into()) });
            let mut c = r.card("111111")?.unwrap();
            c.history_len += 1;
            b.push_history("111111", entry("renamed"));
            b.put_card(c);
            Ok(Some(b))
        })
        .unwrap();
    assert_eq!(shown("111111"), c1("+79160000002", "Нина"));
    assert_eq!(shown("222222"), c1("+79160000002", "Нина"));
    // The second card moves to a new contact; the first stays.
    let mut b = contact_write("C2", Some("+79160000003"), None);
    b.put_contact_cards("C1", vec!["111111".into()]);
    b.put_contact_cards("C2", vec!["222222".into()]);
    let mut moved = store.card("222222").unwrap().unwrap();
    moved.contact = Some("C2".into());
    b.put_card(moved);
    put(store, b).unwrap();
    assert_eq!(shown("222222").map(|c| c.0), Some("C2".into()));
    assert_eq!(shown("111111"), c1("+79160000002", "Нина"));
    // Erased: the card shows the emptied contact.
    let mut b = Batch::default();
    let empty = ContactRecord { code: "C1".into(), ..Default::default() };
    b.put_contact(ContactWrite { record: empty, old_mobile: Some("+79160000002".into()) });
    put(store, b).unwrap();
    assert_eq!(shown("111111"), Some(("C1".into(), None, String::new())));
    assert_eq!(shown("222222").map(|c| c.2), Some("Анна Петрова".into()), "C2 untouched");
}

/// Keys in byte order, as every engine sorts them; a page boundary may fall
/// between any two.
const SCAN_KEYS: [&str; 6] = ["10", "100", "2", "A-1", "a", "Я"];

/// Every record of `table`, following the cursors with pages of `limit`.
pub fn scan_all(store: &dyn Store, table: Table, limit: usize) -> Vec<Stored> {
    all_pages(limit, |after, limit| store.scan(table, after, limit).unwrap()).into_iter().flatten().collect()
}

fn keys(items: &[Stored]) -> Vec<&str> {
    items.iter().map(Stored::key).collect()
}

pub fn a_scan_lists_every_record_of_each_table_in_key_order(store: &dyn Store) {
    for table in Table::ALL {
        let page = store.scan(table, None, 10).unwrap();
        assert!(page.items.is_empty() && page.next.is_none(), "an empty store lists nothing in {table:?}");
    }
    let mut b = Batch::default();
    for (i, key) in SCAN_KEYS.iter().enumerate() {
        let mobile = format!("+7916000000{i}");
        b.put_contact(ContactWrite { record: contact(key, (i % 2 == 0).then_some(&*mobile)), old_mobile: None });
        b.put_receipt(receipt(key, "10"));
        let mut rec = card(key, Some("a"), 0);
        if i == 1 {
            rec.status = crate::domain::Status::Blocked;
            rec.block = Some(BlockRecord { reason: "4".into(), user: "ivan".into(), role: "director".into() });
        }
        // Histories past sled's tail of 8 too, so older entries come from chunks.
        for j in 0..(i * 5) {
            b.push_history(key, entry(&format!("{key}-{j}")));
            rec.history_len += 1;
        }
        b.put_lots(key, (0..i).map(|j| lot(&format!("{j}.5"), (j == 1).then_some("R-1"))).collect());
        b.put_card(rec);
    }
    b.put_contact_cards("a", vec!["2".into(), "10".into()]);
    b.put_contact_cards("Я", vec!["100".into()]);
    put(store, b).unwrap();
    for limit in [1, 2, 4, 100] {
        let contacts = scan_all(store, Table::Contacts, limit);
        assert_eq!(keys(&contacts), SCAN_KEYS, "contacts, pages of {limit}");
        for c in &contacts {
            let Stored::Contact(c) = c else { panic!("a contact scan listed {c:?}") };
            assert_eq!(store.contact(&c.code).unwrap().as_ref(), Some(c));
        }
        let cards = scan_all(store, Table::Cards, limit);
        assert_eq!(keys(&cards), SCAN_KEYS, "cards, pages of {limit}");
        for c in &cards {
            let Stored::Card(c) = c else { panic!("a card scan listed {c:?}") };
            let n = &c.record.number;
            let want = FullCard {
                record: store.card(n).unwrap().unwrap(),
                lots: store.lots(n).unwrap(),
                history: store.history(n).unwrap(),
            };
            assert_eq!(**c, want, "card {n} as scanned and as read");
            assert_eq!(c.history.len() as u64, c.record.history_len);
        }
        let receipts = scan_all(store, Table::Receipts, limit);
        assert_eq!(keys(&receipts), SCAN_KEYS, "receipts, pages of {limit}");
        assert!(receipts.iter().all(|r| matches!(r, Stored::Receipt(r) if **r == receipt(&r.id, "10"))));
        let bindings = scan_all(store, Table::ContactCards, limit);
        let want = vec![
            Stored::ContactCards { code: "a".into(), numbers: vec!["2".into(), "10".into()] },
            Stored::ContactCards { code: "Я".into(), numbers: vec!["100".into()] },
        ];
        assert_eq!(bindings, want, "bindings, pages of {limit}");
    }
    // A cursor that is no key starts after where it would sort.
    let page = store.scan(Table::Cards, Some("1000"), 2).unwrap();
    assert_eq!((keys(&page.items), page.next.as_deref()), (vec!["2", "A-1"], Some("A-1")));
    let page = store.scan(Table::Receipts, Some("Я"), 2).unwrap();
    assert!(page.items.is_empty() && page.next.is_none(), "nothing after the last key");
    let cards = scan_all(store, Table::Cards, 3);
    let lens: Vec<u64> = cards.iter().map(|c| if let Stored::Card(c) = c { c.record.history_len } else { 0 }).collect();
    assert_eq!(lens, [0, 5, 10, 15, 20, 25], "histories of every length");
}

/// The functions above as `#[test]`s for one engine: `$make` builds a fresh
/// store (anything that derefs to a `Store`) for each test. With
/// `available = $ready,` first, a test whose `$ready()` is false returns at
/// once (an engine that needs a server the environment does not give; the
/// check says so itself, or fails where the server is required).
/// Everything a snapshot (export, backup) reads: every record of the part,
/// in key (byte) order, cards with their lots; a later change is not in a
/// snapshot taken before it.
pub fn a_snapshot_reads_every_record_in_key_order(store: &dyn Store) {
    use super::{SnapshotItem, SnapshotPart};
    let take = |part| {
        let mut items = Vec::new();
        store
            .snapshot(part, &mut |item| {
                items.push(item);
                Ok(())
            })
            .expect("snapshot");
        items
    };
    assert!(take(SnapshotPart::Cards).is_empty() && take(SnapshotPart::Contacts).is_empty());
    let mut b = Batch::default();
    for n in ["300002", "30000", "300001"] {
        b.put_card(card(n, None, 0));
        b.put_lots(n, vec![lot(&format!("1.{}", n.len()), Some("R-1")), lot("2", None)]);
    }
    for c in ["b", "a", "Ж"] {
        b.put_contact(ContactWrite { record: contact(c, None), old_mobile: None });
    }
    b.put_receipt(receipt("R-2", "300001"));
    b.put_receipt(receipt("R-1", "300001"));
    put(store, b).expect("put");
    let cards: Vec<(String, usize)> = take(SnapshotPart::Cards)
        .into_iter()
        .map(|i| match i {
            SnapshotItem::Card(c, lots) => {
                assert_eq!(lots, vec![lot(&format!("1.{}", c.number.len()), Some("R-1")), lot("2", None)]);
                assert_eq!(c, card(&c.number, None, 0));
                (c.number, lots.len())
            }
            other => panic!("a card snapshot gave {other:?}"),
        })
        .collect();
    assert_eq!(cards, [("30000".into(), 2), ("300001".into(), 2), ("300002".into(), 2)]);
    let codes: Vec<String> = take(SnapshotPart::Contacts)
        .into_iter()
        .map(|i| match i {
            SnapshotItem::Contact(c) => {
                assert_eq!(c, contact(&c.code, None));
                c.code
            }
            other => panic!("a contact snapshot gave {other:?}"),
        })
        .collect();
    assert_eq!(codes, ["a", "b", "Ж"]);
    let ids: Vec<String> = take(SnapshotPart::Receipts)
        .into_iter()
        .map(|i| match i {
            SnapshotItem::Receipt(r) => r.id,
            other => panic!("a receipt snapshot gave {other:?}"),
        })
        .collect();
    assert_eq!(ids, ["R-1", "R-2"]);
    // A sink's error stops the snapshot and comes back.
    let mut seen = 0;
    let stopped = store.snapshot(SnapshotPart::Cards, &mut |_| {
        seen += 1;
        Err(StoreError::Unfinished)
    });
    assert!(matches!(stopped, Err(StoreError::Unfinished)) && seen == 1, "{stopped:?} after {seen}");
}

#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(available = || true, $make);
    };
    (available = $ready:expr, $make:expr) => {
        use $crate::store::conformance as c;
        #[test]
        fn an_empty_store_finds_nothing() {
            if !$ready() {
                return;
            }
            c::an_empty_store_finds_nothing(&*$make());
        }
        #[test]
        fn every_record_reads_back_as_written() {
            if !$ready() {
                return;
            }
            c::every_record_reads_back_as_written(&*$make());
        }
        #[test]
        fn a_change_of_lots_alone_keeps_the_record_and_history() {
            if !$ready() {
                return;
            }
            c::a_change_of_lots_alone_keeps_the_record_and_history(&*$make());
        }
        #[test]
        fn the_phone_index_follows_a_changed_mobile() {
            if !$ready() {
                return;
            }
            c::the_phone_index_follows_a_changed_mobile(&*$make());
        }
        #[test]
        fn history_is_per_card_and_oldest_first_however_long() {
            if !$ready() {
                return;
            }
            c::history_is_per_card_and_oldest_first_however_long(&*$make());
        }
        #[test]
        fn a_batch_with_one_bad_change_writes_nothing() {
            if !$ready() {
                return;
            }
            c::a_batch_with_one_bad_change_writes_nothing(&*$make());
        }
        #[test]
        fn an_operation_that_writes_nothing_or_fails_changes_nothing() {
            if !$ready() {
                return;
            }
            c::an_operation_that_writes_nothing_or_fails_changes_nothing(&*$make());
        }
        #[test]
        fn transact_loses_no_update_at_32_callers() {
            if !$ready() {
                return;
            }
            c::transact_loses_no_update(&*$make(), 32, 20);
        }
        #[test]
        fn transact_loses_no_update_at_128_callers() {
            if !$ready() {
                return;
            }
            c::transact_loses_no_update(&*$make(), 128, 5);
        }
        #[test]
        fn receipts_read_back_as_written_and_are_replaced_whole() {
            if !$ready() {
                return;
            }
            c::receipts_read_back_as_written_and_are_replaced_whole(&*$make());
        }
        #[test]
        fn contacts_are_found_by_code_and_name_prefix_page_by_page() {
            if !$ready() {
                return;
            }
            c::contacts_are_found_by_code_and_name_prefix_page_by_page(&*$make());
        }
        #[test]
        fn cards_are_found_by_status_page_by_page() {
            if !$ready() {
                return;
            }
            c::cards_are_found_by_status_page_by_page(&*$make());
        }
        #[test]
        fn an_emptied_contact_frees_its_phone_and_leaves_the_name_index() {
            if !$ready() {
                return;
            }
            c::an_emptied_contact_frees_its_phone_and_leaves_the_name_index(&*$make());
        }
        #[test]
        fn a_card_view_follows_its_contacts_writes() {
            if !$ready() {
                return;
            }
            c::a_card_view_follows_its_contacts_writes(&*$make());
        }
        #[test]
        fn a_snapshot_reads_every_record_in_key_order() {
            if !$ready() {
                return;
            }
            c::a_snapshot_reads_every_record_in_key_order(&*$make());
        }
        #[test]
        fn a_scan_lists_every_record_of_each_table_in_key_order() {
            if !$ready() {
                return;
            }
            c::a_scan_lists_every_record_of_each_table_in_key_order(&*$make());
        }
        #[test]
        fn a_panicking_operation_panics_its_caller_and_writes_nothing() {
            if !$ready() {
                return;
            }
            c::a_panicking_operation_panics_its_caller_and_writes_nothing(&*$make());
        }
    };
}
