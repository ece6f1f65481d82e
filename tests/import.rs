//! `cashdesk import`: CSV bulk load through the service's batched methods.

use cashdesk_card::import::{import_file, import_reader, ImportError, ImportKind, ImportReport, BATCH_ROWS};
use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::{Caller, CardService, Lookup};
use cashdesk_card::store::{
    CardQuery, CardRecord, ContactQuery, ContactRecord, HistoryEntry, Lot, MemStore, Operation, Page, ReceiptRecord,
    Store, StoreError, StoreRead, Stored, Table,
};
use cashdesk_card::ErrorKey;
use indicatif::ProgressBar;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A MemStore that counts durable state changes (`transact` calls whose
/// operation wrote a batch), to see the batching.
#[derive(Default)]
struct Counting {
    inner: MemStore,
    commits: AtomicUsize,
    syncs: AtomicUsize,
}

impl StoreRead for Counting {
    fn card(&self, number: &str) -> Result<Option<CardRecord>, StoreError> {
        self.inner.card(number)
    }
    fn contact(&self, code: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.inner.contact(code)
    }
    fn contact_by_mobile(&self, e164: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.inner.contact_by_mobile(e164)
    }
    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError> {
        self.inner.contact_cards(code)
    }
    fn lots(&self, number: &str) -> Result<Vec<Lot>, StoreError> {
        self.inner.lots(number)
    }
    fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        self.inner.history(number)
    }
    fn receipt(&self, id: &str) -> Result<Option<ReceiptRecord>, StoreError> {
        self.inner.receipt(id)
    }
}

impl Store for Counting {
    fn transact(&self, op: &mut Operation<'_>) -> Result<(), StoreError> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.inner.transact(&mut |r| {
            let batch = op(r)?;
            if batch.is_some() {
                self.commits.fetch_add(1, Ordering::SeqCst);
            }
            Ok(batch)
        })
    }
    fn card_count(&self) -> Result<u64, StoreError> {
        self.inner.card_count()
    }
    fn find_contacts(
        &self,
        q: &ContactQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ContactRecord>, StoreError> {
        self.inner.find_contacts(q, after, limit)
    }
    fn find_cards(&self, q: &CardQuery, after: Option<&str>, limit: usize) -> Result<Page<CardRecord>, StoreError> {
        self.inner.find_cards(q, after, limit)
    }
    fn scan(&self, table: Table, after: Option<&str>, limit: usize) -> Result<Page<Stored>, StoreError> {
        self.inner.scan(table, after, limit)
    }
}

fn admin() -> Caller {
    Caller::new("importer", "administrator")
}

fn service_on(store: Arc<dyn Store>) -> CardService {
    CardService::new(store, Arc::new(RuleHandle::new(RuleSet::shipped())))
}

fn service() -> CardService {
    service_on(Arc::new(MemStore::new()))
}

fn import(service: &CardService, kind: ImportKind, csv: &[u8]) -> ImportReport {
    import_reader(service, &admin(), kind, csv, &ProgressBar::hidden()).unwrap()
}

fn import_err(service: &CardService, kind: ImportKind, csv: &[u8]) -> ImportError {
    import_reader(service, &admin(), kind, csv, &ProgressBar::hidden()).unwrap_err()
}

/// (line, key) of each bad row.
fn bad(report: &ImportReport) -> Vec<(u64, ErrorKey)> {
    report.bad.iter().map(|b| (b.line, b.key)).collect()
}

fn contact(service: &CardService, code: &str) -> ContactRecord {
    service.store().contact(code).unwrap().unwrap_or_else(|| panic!("no contact {code}"))
}

fn holder(service: &CardService, mobile: &str) -> Option<String> {
    service.store().contact_by_mobile(mobile).unwrap().map(|c| c.code)
}

#[test]
fn good_contacts_file_imports() {
    let s = service();
    let csv = "Code,MobileNumber,Name,Email,BirthDate,Gender,City\n\
               C1,89160000001,Иван Петров,ivan@example.com,1980-01-02,M,Москва\n\
               C2,+7 (916) 000-00-02,Мария,,,,\n\
               C3,,,,,,\n";
    let r = import(&s, ImportKind::Contacts, csv.as_bytes());
    assert_eq!((r.rows, r.imported), (3, 3), "{r}");
    assert!(r.bad.is_empty());
    let c1 = contact(&s, "C1");
    assert_eq!(c1.mobile.as_deref(), Some("+79160000001"));
    assert_eq!((c1.name.as_str(), c1.email.as_str(), c1.city.as_str()), ("Иван Петров", "ivan@example.com", "Москва"));
    assert_eq!((c1.birth_date.as_str(), c1.gender.as_str()), ("1980-01-02", "M"));
    assert_eq!(holder(&s, "+79160000002").as_deref(), Some("C2"));
    let c3 = contact(&s, "C3");
    assert_eq!((c3.mobile, c3.name), (None, String::new()));
}

#[test]
fn headers_match_in_any_case_and_order_and_cells_are_trimmed() {
    let s = service();
    let csv = "city , NAME,code,mobilenumber\nТверь,  Олег  ,K1, 9160000011\n";
    let r = import(&s, ImportKind::Contacts, csv.as_bytes());
    assert_eq!(r.imported, 1, "{r}");
    let k1 = contact(&s, "K1");
    assert_eq!((k1.name.as_str(), k1.city.as_str()), ("Олег", "Тверь"));
    assert_eq!(k1.mobile.as_deref(), Some("+79160000011"));
}

#[test]
fn semicolons_and_a_byte_order_mark_are_understood() {
    let s = service();
    let mut csv = b"\xEF\xBB\xBFCode;MobileNumber;Name\n".to_vec();
    csv.extend_from_slice("S1;89160000021;Анна, Мария\n".as_bytes());
    let r = import(&s, ImportKind::Contacts, &csv);
    assert_eq!(r.imported, 1, "{r}");
    assert_eq!(contact(&s, "S1").name, "Анна, Мария");
}

#[test]
fn bad_lines_are_reported_by_number_and_good_ones_kept() {
    let s = service();
    let mut csv = Vec::new();
    csv.extend_from_slice(b"Code,MobileNumber,Name\n"); // 1
    csv.extend_from_slice(b"G1,89160000031,Good One\n"); // 2
    csv.extend_from_slice(b"B/1,89160000032,Bad Code\n"); // 3 InvalidContactCode
    csv.extend_from_slice(b"B2,12345,Bad Mobile\n"); // 4 InvalidMobileNumber
    csv.extend_from_slice(b"B3,89160000033\n"); // 5 too few fields
    csv.extend_from_slice(b"B4,89160000034,x,extra\n"); // 6 too many fields
    csv.extend_from_slice(b"B5,89160000035,\xFF\xFEbad\n"); // 7 not UTF-8
    csv.extend_from_slice(b"G2,89160000036,\"Good\nTwo\"\n"); // 8-9, a quoted line break
    csv.extend_from_slice(b",89160000037,No Code\n"); // 10 InvalidContactCode
    csv.extend_from_slice(format!("B6,89160000038,{}\n", "x".repeat(1025)).as_bytes()); // 11 too long
    csv.extend_from_slice(b"G3,,Good Three\n"); // 12
    let r = import(&s, ImportKind::Contacts, &csv);
    assert_eq!(r.rows, 10);
    assert_eq!(r.imported, 3, "{r}");
    assert_eq!(
        bad(&r),
        [
            (3, ErrorKey::InvalidContactCode),
            (4, ErrorKey::InvalidMobileNumber),
            (5, ErrorKey::MalformedRequest),
            (6, ErrorKey::MalformedRequest),
            (7, ErrorKey::MalformedRequest),
            (10, ErrorKey::InvalidContactCode),
            (11, ErrorKey::MalformedRequest),
        ]
    );
    assert!(r.bad[2].message.contains("has 2 fields, the header has 3"), "{}", r.bad[2].message);
    assert!(r.bad[4].message.contains("UTF-8"), "{}", r.bad[4].message);
    assert!(r.to_string().contains("line 4: InvalidMobileNumber"), "{r}");
    assert_eq!(contact(&s, "G2").name, "Good\nTwo");
    for code in ["G1", "G2", "G3"] {
        contact(&s, code);
    }
    for code in ["B2", "B3", "B4", "B5", "B6"] {
        assert!(s.store().contact(code).unwrap().is_none(), "{code} was imported");
    }
}

#[test]
fn the_same_contact_twice_in_one_batch() {
    let s = service();
    let csv = "Code,MobileNumber,Name,City\n\
               D1,89160000041,Дмитрий,\n\
               D1,89160000042,,Казань\n";
    let r = import(&s, ImportKind::Contacts, csv.as_bytes());
    assert_eq!(r.imported, 2, "{r}");
    let d1 = contact(&s, "D1");
    // The second row keeps the name the first row set (an empty cell keeps).
    assert_eq!((d1.name.as_str(), d1.city.as_str()), ("Дмитрий", "Казань"));
    assert_eq!(d1.mobile.as_deref(), Some("+79160000042"));
    assert_eq!(holder(&s, "+79160000042").as_deref(), Some("D1"));
    assert_eq!(holder(&s, "+79160000041"), None, "the first number was released");
}

#[test]
fn a_mobile_taken_within_the_batch_is_taken() {
    let s = service();
    let csv = "Code,MobileNumber\n\
               M1,89160000051\n\
               M2,+79160000051\n\
               M3,89160000052\n\
               M3,89160000053\n\
               M4,89160000052\n";
    let r = import(&s, ImportKind::Contacts, csv.as_bytes());
    // M2 wants M1's number; M4 takes the number M3 let go of in the same batch.
    assert_eq!(bad(&r), [(3, ErrorKey::MobileNumberTaken)]);
    assert!(s.store().contact("M2").unwrap().is_none());
    assert_eq!(holder(&s, "+79160000051").as_deref(), Some("M1"));
    assert_eq!(holder(&s, "+79160000052").as_deref(), Some("M4"));
    assert_eq!(holder(&s, "+79160000053").as_deref(), Some("M3"));

    // And against the store: a later file cannot take M1's number.
    let r = import(&s, ImportKind::Contacts, b"Code,MobileNumber\nM5,89160000051\nM1,89160000051\n");
    assert_eq!(bad(&r), [(2, ErrorKey::MobileNumberTaken)]);
    assert_eq!(r.imported, 1);
}

#[test]
fn two_contacts_swap_numbers_within_one_batch() {
    let s = service();
    import(&s, ImportKind::Contacts, b"Code,MobileNumber\nA,89160000061\nB,89160000062\n");
    let r = import(&s, ImportKind::Contacts, b"Code,MobileNumber\nA,89160000063\nB,89160000061\nA,89160000062\n");
    assert!(r.bad.is_empty(), "{r}");
    assert_eq!(holder(&s, "+79160000061").as_deref(), Some("B"));
    assert_eq!(holder(&s, "+79160000062").as_deref(), Some("A"));
    assert_eq!(holder(&s, "+79160000063"), None);
}

#[test]
fn column_errors_stop_the_import_before_any_row() {
    let s = service();
    match import_err(&s, ImportKind::Contacts, b"Code,Phone,Name,Nickname\nX1,89160000071,a,b\n") {
        ImportError::UnknownColumns { columns, .. } => assert_eq!(columns, ["Phone", "Nickname"]),
        e => panic!("{e}"),
    }
    let e = import_err(&s, ImportKind::Contacts, b"Code,Phone\n");
    assert!(e.to_string().contains("Phone") && e.to_string().contains("Code,MobileNumber,Name"), "{e}");
    match import_err(&s, ImportKind::Bonuses, b"number,TypeCode\n123456,0\n") {
        ImportError::MissingColumns { columns, .. } => assert_eq!(columns, ["Amount"]),
        e => panic!("{e}"),
    }
    match import_err(&s, ImportKind::Cards, b"CategoryCode\n0\n") {
        ImportError::MissingColumns { columns, .. } => assert_eq!(columns, ["Number"]),
        e => panic!("{e}"),
    }
    match import_err(&s, ImportKind::Cards, b"Number,number\n") {
        ImportError::DuplicateColumn { column } => assert_eq!(column, "Number"),
        e => panic!("{e}"),
    }
    assert!(matches!(import_err(&s, ImportKind::Cards, b""), ImportError::Empty { .. }));
    assert_eq!(s.store().contact("X1").unwrap(), None);
}

#[test]
fn only_an_administrator_may_import() {
    let s = service();
    let cashier = Caller::new("till-1", "cashier");
    let e = import_reader(&s, &cashier, ImportKind::Cards, &b"Number\n123456\n"[..], &ProgressBar::hidden());
    match e {
        Err(ImportError::Refused(f)) => assert_eq!(f.key, ErrorKey::AccessDenied),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.store().card_count().unwrap(), 0);
}

#[test]
fn cards_then_bonuses() {
    let s = service();
    let cards = "Number,CategoryCode,TypeCode\n\
                 1000001,0,0\n\
                 1000002,1,2\n\
                 1000003,,\n\
                 12ab,0,0\n\
                 1000004,7,0\n\
                 1000005,0,9\n\
                 1000002,0,\n";
    let r = import(&s, ImportKind::Cards, cards.as_bytes());
    assert_eq!(
        bad(&r),
        [
            (5, ErrorKey::InvalidCardNumber),
            (6, ErrorKey::InvalidCategoryCode),
            (7, ErrorKey::InvalidTypeCode),
            // A number repeated in one file is reported at its second line,
            // not silently applied over the first.
            (8, ErrorKey::DuplicateLine),
        ]
    );
    assert!(r.bad[3].message.contains("already on line 3"), "{}", r.bad[3].message);
    assert_eq!(r.imported, 3);
    let c2 = s.card("1000002").unwrap().unwrap();
    assert_eq!((c2.category.code(), c2.card_type.code()), ("1", "2"), "the repeated line changed nothing");
    let h = s.history(&admin(), "1000002").unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].reason, "imported: category 1, type 2, status 0", "{:?}", h[0]);
    assert!(h[0].from.is_none());
    assert_eq!(h[0].user, "importer");
    // A later file may change the category and type of an existing card.
    let r = import(&s, ImportKind::Cards, b"Number,CategoryCode\n1000002,0\n");
    assert!(r.bad.is_empty(), "{r}");
    let h = s.history(&admin(), "1000002").unwrap();
    assert!(h[1].reason.starts_with("category or type changed"), "{:?}", h[1]);
    let c3 = s.card("1000003").unwrap().unwrap();
    assert_eq!((c3.category.code(), c3.card_type.code()), ("0", "0"));

    // Re-importing an unchanged card writes no history.
    let r = import(&s, ImportKind::Cards, b"Number,CategoryCode,TypeCode\n1000001,0,0\n");
    assert!(r.bad.is_empty());
    assert_eq!(s.history(&admin(), "1000001").unwrap().len(), 1);

    let bonuses = "Number,Amount,TypeCode,ActiveFrom,ExpireDate,Frozen\n\
                   1000001,100,0,2020-01-01,,\n\
                   1000001,50.5,1,2020-01-01,2999-12-31,no\n\
                   1000002,7,,2020-01-01,,TRUE\n\
                   9999999,1,0,,,\n\
                   1000001,-1,0,,,\n\
                   1000001,0,0,,,\n\
                   1000001,1,5,,,\n\
                   1000001,1,0,2020-13-01,,\n\
                   1000001,1,0,2020-02-01,2020-01-01,\n\
                   1000001,1,0,,,maybe\n\
                   9999999,abc,0,,,\n\
                   1000003,2,0,2020-01-01,,1\n";
    let r = import(&s, ImportKind::Bonuses, bonuses.as_bytes());
    assert_eq!(
        bad(&r),
        [
            (5, ErrorKey::CannotFindCardNumber),
            (6, ErrorKey::InvalidAmount),
            (7, ErrorKey::InvalidAmount),
            (8, ErrorKey::InvalidTypeCode),
            (9, ErrorKey::InvalidDate),
            (10, ErrorKey::InvalidDate),
            (11, ErrorKey::MalformedRequest),
            // As the admin endpoint: an unknown card answers before a bad amount.
            (12, ErrorKey::CannotFindCardNumber),
        ]
    );
    assert_eq!(r.imported, 4);
    let lots = s.lots("1000001").unwrap();
    assert_eq!(lots.len(), 2);
    assert_eq!(lots[1].amount.to_string(), "50.5");
    assert_eq!(lots[1].bonus_type.code(), "1");
    assert!(!lots[1].frozen);
    let l2 = s.lots("1000002").unwrap();
    assert!(l2[0].frozen && l2[0].bonus_type.code() == "0");
    assert!(s.lots("1000003").unwrap()[0].frozen);
    // One history entry per lot, after the card's own.
    let h = s.history(&admin(), "1000001").unwrap();
    assert_eq!(h.len(), 3);
    assert!(h[1].reason.starts_with("bonus lot added: 100 of type 0"), "{:?}", h[1]);
    assert!(h[2].reason.contains("expires 2999-12-31"), "{:?}", h[2]);
}

#[test]
fn a_lot_without_active_from_starts_today() {
    let s = service();
    import(&s, ImportKind::Cards, b"Number\n2000001\n");
    let r = import(&s, ImportKind::Bonuses, b"Number,Amount\n2000001,5\n");
    assert!(r.bad.is_empty(), "{r}");
    let lot = &s.lots("2000001").unwrap()[0];
    assert_eq!(lot.active_from, s.today());
    assert_eq!((lot.expire, lot.frozen), (None, false));
}

#[test]
fn point_one_plus_point_two_is_exactly_point_three() {
    let s = service();
    import(&s, ImportKind::Cards, b"Number\n3000001\n");
    let r =
        import(&s, ImportKind::Bonuses, b"Number,Amount,ActiveFrom\n3000001,0.1,2020-01-01\n3000001,0.2,2020-01-01\n");
    assert!(r.bad.is_empty(), "{r}");
    let b = s.balance(&admin(), Lookup::Number("3000001"), s.today()).unwrap();
    assert_eq!(b.bonuses[0].amount.to_string(), "0.3");
    assert_eq!(b.bonuses[0].amount.value(), "0.3".parse().unwrap());
}

#[test]
fn a_big_file_is_committed_in_batches() {
    let store = Arc::new(Counting::default());
    let s = service_on(store.clone());
    let mut csv = String::from("Code,MobileNumber,Name\n");
    for i in 0..2_500u64 {
        // Row 2,400 (line 2,402) updates the contact of row 1, in a later batch.
        let (code, name) = if i == 2_399 { (0, "renamed".to_string()) } else { (i, format!("Name {i}")) };
        csv.push_str(&format!("P{code},+7916{:07},{name}\n", 1_000_000 + code));
    }
    csv.push_str("bad/code,89160000000,x\n"); // line 2,502
    let r = import(&s, ImportKind::Contacts, csv.as_bytes());
    assert_eq!((r.rows, r.imported), (2_501, 2_500), "{r}");
    assert_eq!(bad(&r), [(2_502, ErrorKey::InvalidContactCode)]);
    let batches = 2_501_usize.div_ceil(BATCH_ROWS);
    assert_eq!(store.commits.load(Ordering::SeqCst), batches);
    assert_eq!(store.syncs.load(Ordering::SeqCst), batches);
    assert_eq!(store.inner.contact_count(), 2_499);
    assert_eq!(contact(&s, "P0").name, "renamed");
    assert_eq!(contact(&s, "P2498").mobile.as_deref(), Some("+79161002498"));
}

#[test]
fn import_file_reads_a_file_and_names_it_in_errors() {
    let s = service();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cards.csv");
    // CRLF line ends, a blank line, a quoted line break: lines still count true.
    std::fs::write(&path, "Number,TypeCode\r\n4000001,1\r\n\r\n4000002,x\r\n\"40000\r\n03\",1\r\n4000004,y").unwrap();
    let r = import_file(&s, &admin(), ImportKind::Cards, &path, true).unwrap();
    assert_eq!((r.rows, r.imported), (4, 1));
    assert_eq!(
        bad(&r),
        [(4, ErrorKey::InvalidTypeCode), (5, ErrorKey::InvalidCardNumber), (7, ErrorKey::InvalidTypeCode)]
    );
    assert!(r.seconds > 0.0);
    let missing = dir.path().join("nope.csv");
    let e = import_file(&s, &admin(), ImportKind::Cards, &missing, false).unwrap_err();
    assert!(matches!(e, ImportError::Io { .. }) && e.to_string().contains("nope.csv"), "{e}");
    assert_eq!("Bonuses".parse::<ImportKind>(), Ok(ImportKind::Bonuses));
    assert!("lots".parse::<ImportKind>().is_err());
}

#[test]
fn on_sled_too_numbers_move_and_lots_follow_the_cards_file() {
    use cashdesk_card::store::SledStore;
    let s = service_on(Arc::new(SledStore::temporary().unwrap()));
    import(&s, ImportKind::Contacts, b"Code,MobileNumber\nA,89160000081\nB,89160000082\n");
    let r = import(&s, ImportKind::Contacts, b"Code,MobileNumber\nA,89160000083\nB,89160000081\nA,89160000082\n");
    assert!(r.bad.is_empty(), "{r}");
    assert_eq!(holder(&s, "+79160000081").as_deref(), Some("B"));
    assert_eq!(holder(&s, "+79160000082").as_deref(), Some("A"));
    assert_eq!(holder(&s, "+79160000083"), None);

    let r = import(&s, ImportKind::Cards, b"Number,CategoryCode\n5000001,1\n");
    assert!(r.bad.is_empty(), "{r}");
    let r = import(&s, ImportKind::Cards, b"Number,CategoryCode\n5000001,0\n");
    assert!(r.bad.is_empty(), "{r}");
    let r =
        import(&s, ImportKind::Bonuses, b"Number,Amount,ActiveFrom\n5000001,0.1,2020-01-01\n5000001,0.2,2020-01-01\n");
    assert!(r.bad.is_empty(), "{r}");
    let b = s.balance(&admin(), Lookup::Number("5000001"), s.today()).unwrap();
    assert_eq!(b.bonuses[0].amount.to_string(), "0.3");
    assert_eq!(b.category_code, "0");
    assert_eq!(s.history(&admin(), "5000001").unwrap().len(), 4);
}
