//! Purchases through the card service's library API, with the day passed
//! in (SPEC §8): the §8.5 example to the cent and the day, reversal on a
//! replacement card, unrecovered accrual, and properties over random sales —
//! a full return or a cancel restores the balance exactly, nothing goes
//! negative, a replay changes nothing — on the memory store, on sled, and
//! with every operation run twice.

use cashdesk_card::domain::{Amount, BonusType, Lot};
use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::{
    Balance, BonusInput, Caller, CardService, ContactInput, LineInput, Lookup, ReturnInput, SaleInput,
};
use cashdesk_card::store::{MemStore, ReceiptState, RunTwice, SledStore, Store};
use cashdesk_card::ErrorKey;
use chrono::NaiveDate;
use proptest::prelude::*;
use std::sync::Arc;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn a(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

fn admin() -> Caller {
    Caller::new("admin", "administrator")
}

fn desk() -> Caller {
    Caller::new("till-1", "cashier")
}

fn service(store: Arc<dyn Store>) -> CardService {
    CardService::new(store, Arc::new(RuleHandle::new(RuleSet::shipped())))
}

/// Memory, sled and the run-twice double; PostgreSQL too with
/// `CASHDESK_TEST_STORE=postgres`.
fn stores() -> Vec<(&'static str, Arc<dyn Store>)> {
    let mut stores: Vec<(&'static str, Arc<dyn Store>)> = vec![
        ("memory", Arc::new(MemStore::new())),
        ("sled", Arc::new(SledStore::temporary().unwrap())),
        ("memory, every operation twice", Arc::new(RunTwice(MemStore::new()))),
    ];
    if let Some(pg) = cashdesk_card::store::pg::testing::store_from_env() {
        stores.push(("postgresql", Arc::new(pg)));
    }
    stores
}

fn active_card(svc: &CardService, number: &str, code: &str, mobile: &str) {
    svc.upsert_card(&admin(), number, None, Some("0")).unwrap();
    let input = ContactInput { mobile: Some(mobile.into()), name: Some("Анна".into()), ..Default::default() };
    svc.upsert_contact(&admin(), code, input).unwrap();
    svc.issue(&admin(), Some(number)).unwrap();
    svc.bind_to(&admin(), Some(number), Some(mobile)).unwrap();
    svc.active(&admin(), Some(number)).unwrap();
}

fn lot(svc: &CardService, number: &str, amount: &str, expire: Option<&str>) {
    let input = BonusInput {
        amount: Some(amount.into()),
        active_from: Some("2026-01-01".into()),
        expire_date: expire.map(Into::into),
        ..Default::default()
    };
    svc.add_bonus(&admin(), number, input).unwrap();
}

fn line(position: u32, amount: &str, category: Option<&str>) -> LineInput {
    LineInput { position: Some(position.to_string()), amount: Some(amount.into()), category: category.map(Into::into) }
}

fn sale(id: &str, number: &str, lines: Vec<LineInput>, redeem: &str) -> SaleInput {
    SaleInput {
        receipt_id: Some(id.into()),
        number: Some(number.into()),
        lines: Some(lines),
        redeem: Some(redeem.into()),
        ..Default::default()
    }
}

fn example_lines() -> Vec<LineInput> {
    vec![line(1, "600.00", None), line(2, "400.00", None), line(3, "150.00", Some("tobacco"))]
}

/// (amount, active_from, expire, receipt) of every lot, in order.
fn lots(svc: &CardService, number: &str) -> Vec<(String, NaiveDate, Option<NaiveDate>, Option<String>)> {
    svc.lots(number)
        .unwrap()
        .into_iter()
        .map(|l: Lot| (l.amount.to_string(), l.active_from, l.expire, l.receipt))
        .collect()
}

#[test]
fn the_worked_example_of_section_8_5_to_the_cent_and_the_day() {
    for (name, store) in stores() {
        let svc = service(store);
        let today = d("2026-03-01");
        active_card(&svc, "7700000001", "P1", "+79165550001");
        lot(&svc, "7700000001", "300", Some("2026-06-30"));
        lot(&svc, "7700000001", "100", None);
        let c = svc.confirm(&desk(), &sale("R-1", "7700000001", example_lines(), "250"), today).unwrap();
        assert_eq!((c.redeemed, c.accrued), (a("250"), a("37.5")), "{name}");
        assert_eq!((c.active_from, c.expire_date), (Some(d("2026-03-15")), Some(d("2027-03-14"))), "{name}");
        let per_line: Vec<(Amount, Amount)> = c.lines.iter().map(|l| (l.redeemed, l.accrued)).collect();
        assert_eq!(per_line, [(a("150"), a("22.5")), (a("100"), a("15")), (a("0"), a("0"))], "{name}");
        assert_eq!(
            lots(&svc, "7700000001"),
            [
                ("50".into(), d("2026-01-01"), Some(d("2026-06-30")), None),
                ("100".into(), d("2026-01-01"), None, None),
                ("37.5".into(), d("2026-03-15"), Some(d("2027-03-14")), Some("R-1".into())),
            ],
            "{name}: 250 taken from the lot of 300; the accrued lot knows its receipt"
        );
        let ret = ReturnInput {
            receipt_id: Some("R-1".into()),
            return_id: Some("RT-1".into()),
            lines: Some(vec![line(1, "300.00", None)]),
        };
        let r = svc.return_goods(&desk(), &ret, today).unwrap();
        assert_eq!((r.reversed, r.restored, r.unrecovered), (a("11.25"), a("75"), a("0")), "{name}");
        assert_eq!(
            lots(&svc, "7700000001"),
            [
                ("50".into(), d("2026-01-01"), Some(d("2026-06-30")), None),
                ("100".into(), d("2026-01-01"), None, None),
                ("26.25".into(), d("2026-03-15"), Some(d("2027-03-14")), Some("R-1".into())),
                ("75".into(), today, Some(d("2026-06-30")), None),
            ],
            "{name}: 11.25 from the receipt's lot, 75 back with the portion's expiry"
        );
        let x = svc.cancel(&desk(), Some("R-1"), today).unwrap();
        assert_eq!((x.reversed, x.restored), (a("26.25"), a("175")), "{name}");
        assert_eq!(svc.receipt(&desk(), "R-1").unwrap().state, ReceiptState::Cancelled);
        assert_eq!(active(&svc, "7700000001", today), a("400"), "{name}: back to where it was");
    }
}

fn balance(svc: &CardService, number: &str, today: NaiveDate) -> Balance {
    svc.balance(&admin(), Lookup::Number(number), today).unwrap()
}

fn active(svc: &CardService, number: &str, today: NaiveDate) -> Amount {
    balance(svc, number, today)
        .bonuses
        .iter()
        .find(|b| b.bonus_type == BonusType::Monetary && b.state.code() == "0")
        .unwrap()
        .amount
}

#[test]
fn a_sale_on_a_replaced_card_is_reversed_on_the_card_its_bonuses_went_to() {
    let svc = service(Arc::new(MemStore::new()));
    let today = d("2026-03-01");
    active_card(&svc, "7700000001", "P1", "+79165550001");
    lot(&svc, "7700000001", "300", Some("2026-06-30"));
    svc.confirm(&desk(), &sale("R-1", "7700000001", example_lines(), "250"), today).unwrap();
    svc.block(&admin(), Some("7700000001"), None, Some("4")).unwrap();
    svc.upsert_card(&admin(), "7700000002", None, Some("0")).unwrap();
    svc.issue(&admin(), Some("7700000002")).unwrap();
    svc.bind_to(&admin(), Some("7700000002"), Some("+79165550001")).unwrap();
    let moved = lots(&svc, "7700000002");
    assert!(
        moved.iter().any(|l| l.3.as_deref() == Some("R-1")),
        "the accrued lot keeps its receipt when it moves: {moved:?}"
    );
    let x = svc.cancel(&desk(), Some("R-1"), today).unwrap();
    assert_eq!(x.number, "7700000002");
    assert_eq!((x.reversed, x.restored, x.unrecovered), (a("37.5"), a("250"), a("0")));
    assert!(lots(&svc, "7700000002").iter().all(|l| l.3.is_none()), "the receipt's lot is taken back whole");
    assert!(svc.lots("7700000001").unwrap().is_empty());
}

#[test]
fn accrual_that_was_spent_is_taken_from_other_lots_and_then_left_unrecovered() {
    let svc = service(Arc::new(MemStore::new()));
    active_card(&svc, "7700000001", "P1", "+79165550001");
    let day0 = d("2026-03-01");
    svc.confirm(&desk(), &sale("R-1", "7700000001", vec![line(1, "1000", None)], "0"), day0).unwrap();
    // 50 accrued, active from 2026-03-15; spent in full a month later.
    let later = d("2026-04-01");
    assert_eq!(active(&svc, "7700000001", later), a("50"));
    svc.confirm(&desk(), &sale("R-2", "7700000001", vec![line(1, "100", None)], "50"), later).unwrap();
    // R-2 accrued 2.5 (of the 50 paid in money) — that is all there is to take.
    let x = svc.cancel(&desk(), Some("R-1"), later).unwrap();
    assert_eq!((x.reversed, x.unrecovered), (a("2.5"), a("47.5")));
    let r = svc.receipt(&desk(), "R-1").unwrap();
    assert_eq!((r.reversed, r.unrecovered), (a("2.5"), a("47.5")), "the unrecovered part is on the receipt");
    assert!(svc.lots("7700000001").unwrap().iter().all(|l| l.amount > Amount::ZERO), "never a negative balance");
}

#[test]
fn a_blocked_card_earns_and_pays_nothing_and_is_still_reversed() {
    let svc = service(Arc::new(MemStore::new()));
    let today = d("2026-03-01");
    active_card(&svc, "7700000001", "P1", "+79165550001");
    lot(&svc, "7700000001", "300", None);
    svc.confirm(&desk(), &sale("R-1", "7700000001", example_lines(), "100"), today).unwrap();
    svc.block(&admin(), Some("7700000001"), None, Some("0")).unwrap();
    let refused = svc.confirm(&desk(), &sale("R-2", "7700000001", example_lines(), "0"), today).unwrap_err();
    assert_eq!(refused.key, ErrorKey::StatusError);
    let x = svc.cancel(&desk(), Some("R-1"), today).unwrap();
    assert_eq!(x.restored, a("100"), "reversal works whatever the status");
    assert!(svc.receipt(&desk(), "R-2").is_err(), "a refused Confirm keeps nothing");
}

/// A random card and sale: lots, lines (some excluded), a redemption the
/// card may make, and how the sale is undone.
#[derive(Debug, Clone)]
struct Case {
    lots: Vec<(u32, Option<u32>)>,
    lines: Vec<(u32, bool)>,
    redeem_share: u32,
    undo: Undo,
}

#[derive(Debug, Clone)]
enum Undo {
    Cancel,
    /// Return every line in `parts` pieces each.
    ReturnAll {
        parts: u32,
    },
    /// Return some lines, then cancel.
    ReturnThenCancel,
}

fn case() -> impl Strategy<Value = Case> {
    let lots = prop::collection::vec((1u32..100_000, prop::option::of(0u32..400)), 0..5);
    let lines = prop::collection::vec((1u32..200_000, any::<bool>()), 1..8);
    let undo = prop_oneof![
        Just(Undo::Cancel),
        (1u32..4).prop_map(|parts| Undo::ReturnAll { parts }),
        Just(Undo::ReturnThenCancel)
    ];
    (lots, lines, 0u32..=100, undo).prop_map(|(lots, lines, redeem_share, undo)| Case {
        lots,
        lines,
        redeem_share,
        undo,
    })
}

fn cents(c: u32) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let svc = service(Arc::new(MemStore::new()));
    let today = d("2026-03-01");
    active_card(&svc, "7700000001", "P1", "+79165550001");
    for (amount, days) in &case.lots {
        let expire = days.map(|n| (today + chrono::Days::new(n as u64)).to_string());
        lot(&svc, "7700000001", &cents(*amount), expire.as_deref());
    }
    let lines: Vec<LineInput> = case
        .lines
        .iter()
        .enumerate()
        .map(|(i, (amount, tobacco))| line(i as u32 + 1, &cents(*amount), tobacco.then_some("tobacco")))
        .collect();
    let calc = svc
        .calculate(&desk(), &SaleInput { receipt_id: None, ..sale("", "7700000001", lines.clone(), "0") }, today)
        .unwrap();
    // R: a share of what may be redeemed, in whole cents.
    let max = calc.max_redeem.value();
    let r =
        (max * rust_decimal::Decimal::from(case.redeem_share) / rust_decimal::Decimal::from(100)).trunc_with_scale(2);
    let before = balance(&svc, "7700000001", today);
    let c = svc.confirm(&desk(), &sale("R-1", "7700000001", lines.clone(), &r.to_string()), today).unwrap();
    let paid: Amount = c.lines.iter().fold(Amount::ZERO, |s, l| s.plus(l.redeemed));
    prop_assert_eq!(paid, c.redeemed, "Σ allocation = R");
    for (l, (amount, tobacco)) in c.lines.iter().zip(&case.lines) {
        prop_assert!(l.redeemed <= a(&cents(*amount)), "no line is paid more than its amount");
        let cap = (a(&cents(*amount)).value() - l.redeemed.value()) * rust_decimal::Decimal::from(5)
            / rust_decimal::Decimal::from(100);
        prop_assert!(l.accrued.value() <= cap, "accrual within percent x paid");
        if *tobacco {
            prop_assert_eq!(
                (l.redeemed, l.accrued),
                (Amount::ZERO, Amount::ZERO),
                "excluded lines earn and pay nothing"
            );
        }
    }
    let again = svc.confirm(&desk(), &sale("R-1", "7700000001", lines.clone(), &r.to_string()), today).unwrap();
    prop_assert!(again.replayed);
    let after_sale = lots(&svc, "7700000001");
    match case.undo {
        Undo::Cancel => {
            svc.cancel(&desk(), Some("R-1"), today).unwrap();
        }
        Undo::ReturnAll { parts } => {
            for part in 0..parts {
                let ret_lines: Vec<LineInput> = case
                    .lines
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (amount, _))| {
                        let share = amount / parts + if part == parts - 1 { amount % parts } else { 0 };
                        (share > 0).then(|| line(i as u32 + 1, &cents(share), None))
                    })
                    .collect();
                if ret_lines.is_empty() {
                    continue;
                }
                let ret = ReturnInput {
                    receipt_id: Some("R-1".into()),
                    return_id: Some(format!("T{part}")),
                    lines: Some(ret_lines),
                };
                svc.return_goods(&desk(), &ret, today).unwrap();
                if part == 0 {
                    let replay = svc.return_goods(&desk(), &ret, today).unwrap();
                    prop_assert!(replay.replayed, "a retried return replays");
                }
            }
            prop_assert_eq!(svc.receipt(&desk(), "R-1").unwrap().state, ReceiptState::Returned);
        }
        Undo::ReturnThenCancel => {
            let first = line(1, &cents(case.lines[0].0 / 2 + 1), None);
            let ret =
                ReturnInput { receipt_id: Some("R-1".into()), return_id: Some("T".into()), lines: Some(vec![first]) };
            svc.return_goods(&desk(), &ret, today).unwrap();
            svc.cancel(&desk(), Some("R-1"), today).unwrap();
        }
    }
    prop_assert!(svc.lots("7700000001").unwrap().iter().all(|l| l.amount > Amount::ZERO), "nothing negative or empty");
    let after = balance(&svc, "7700000001", today);
    prop_assert_eq!(&after.bonuses, &before.bonuses, "undoing the sale restores the balance exactly");
    let r = svc.receipt(&desk(), "R-1").unwrap();
    prop_assert_eq!(r.unrecovered, Amount::ZERO, "nothing else happened, so all accrual was there");
    prop_assert_eq!((r.reversed, r.restored), (r.accrued, r.redeemed));
    // A replay after all that still changes nothing.
    let last = lots(&svc, "7700000001");
    svc.confirm(&desk(), &sale("R-1", "7700000001", lines, &r.redeemed.to_string()), today).unwrap();
    prop_assert_eq!(lots(&svc, "7700000001"), last);
    prop_assert!(after_sale.len() <= case.lots.len() + 1);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn undoing_a_sale_restores_the_balance_exactly(case in case()) {
        run_case(&case)?;
    }
}
