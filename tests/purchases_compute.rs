//! The purchase computation (SPEC §8.3) and the reversal arithmetic (§8.4)
//! against figures typed from SPEC.md — the §8.5 worked example exactly —
//! and properties over random receipts.

use cashdesk_card::domain::{Amount, BonusType, CardType, Lot, Money, Position, Status};
use cashdesk_card::rules::purchases::{
    compute, give_back_redemption, line_return, take_back_accrual, Computation, Portion, Sale, SaleLine,
};
use cashdesk_card::rules::RuleSet;
use cashdesk_card::ErrorKey;
use chrono::NaiveDate;
use proptest::prelude::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn a(s: &str) -> Amount {
    Amount::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn line(pos: u32, amount: &str, category: Option<&str>) -> SaleLine {
    SaleLine {
        position: Position::new(pos).expect("position"),
        amount: Money::parse(amount).expect("money"),
        category: category.map(str::to_string),
    }
}

fn lot(amount: &str, active_from: &str, expire: Option<&str>) -> Lot {
    Lot {
        amount: a(amount),
        bonus_type: BonusType::Monetary,
        active_from: d(active_from),
        expire: expire.map(d),
        frozen: false,
        receipt: None,
    }
}

fn sale<'a>(lots: &'a [Lot], lines: &'a [SaleLine], redeem: &str) -> Sale<'a> {
    Sale { status: Status::Active, card_type: CardType::Bonus, lots, lines, redeem: a(redeem), today: d("2026-03-01") }
}

/// The shipped set with one replacement in purchases.toml.
fn with_purchases(old: &str, new: &str) -> RuleSet {
    let files: Vec<(&str, String)> = RuleSet::shipped_files()
        .iter()
        .map(|(n, t)| {
            if *n == "purchases.toml" {
                assert_eq!(t.matches(old).count(), 1, "`{old}` must occur once");
                (*n, t.replace(old, new))
            } else {
                (*n, t.to_string())
            }
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    RuleSet::from_sources(&refs).unwrap_or_else(|e| panic!("{e}"))
}

/// Subtracts what a computation takes and adds its lot, tagged.
fn apply(lots: &mut Vec<Lot>, c: &Computation, receipt: &str) {
    for t in &c.taken {
        lots[t.lot].amount = lots[t.lot].amount.minus(t.portion.amount).expect("a portion fits its lot");
    }
    if let Some(l) = &c.accrued_lot {
        lots.push(Lot { receipt: Some(receipt.to_string()), ..l.clone() });
    }
}

fn total(lots: &[Lot], t: BonusType) -> Amount {
    lots.iter().filter(|l| l.bonus_type == t).fold(Amount::ZERO, |s, l| s.plus(l.amount))
}

// ---- SPEC §8.5, every figure ----

#[test]
fn the_worked_example_of_spec_8_5() {
    let r = RuleSet::shipped();
    let mut lots = vec![lot("300", "2026-01-01", Some("2026-06-30")), lot("100", "2026-01-01", None)];
    let lines = [line(1, "600.00", None), line(2, "400.00", None), line(3, "150.00", Some("tobacco"))];
    let c = compute(&r, &sale(&lots, &lines, "250")).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(c.eligible_total, a("1000"), "E");
    let s: Vec<Amount> = c.lines.iter().map(|l| l.redeemed).collect();
    assert_eq!(s, [a("150"), a("100"), a("0")], "s");
    let accr: Vec<Amount> = c.lines.iter().map(|l| l.accrued).collect();
    assert_eq!(accr, [a("22.50"), a("15.00"), a("0")], "c");
    assert_eq!(c.lines.iter().map(|l| l.eligible).collect::<Vec<_>>(), [true, true, false]);
    assert_eq!(c.accrued, a("37.50"));
    assert_eq!(c.redeemed, a("250"));
    assert_eq!(c.active_balance, a("400"));
    assert_eq!(c.max_redeem, a("400"), "min(400, floor2(1000 · 50%))");
    let lot_r1 = c.accrued_lot.clone().expect("an accrued lot");
    assert_eq!(
        (lot_r1.amount, lot_r1.active_from, lot_r1.expire),
        (a("37.50"), d("2026-03-15"), Some(d("2027-03-14")))
    );
    assert_eq!((lot_r1.bonus_type, lot_r1.frozen, lot_r1.receipt.clone()), (BonusType::Monetary, false, None));
    assert_eq!(c.taken.len(), 1, "250 is taken from the lot of 300 alone: {:?}", c.taken);
    assert_eq!((c.taken[0].lot, c.taken[0].portion), (0, Portion { amount: a("250"), expire: Some(d("2026-06-30")) }));
    apply(&mut lots, &c, "R-1");
    assert_eq!(lots[0].amount, a("50"), "50 left of the lot of 300");

    // Return RT-1 of (1, 300.00): T/a = 1/2.
    let l1 = &c.lines[0];
    let back = line_return(l1.amount, l1.redeemed, l1.accrued, Amount::ZERO, a("300"));
    assert_eq!((back.accrual, back.redemption), (a("11.25"), a("75")));
    let tb = take_back_accrual(&r, &lots, "R-1", back.accrual, d("2026-03-01"));
    assert_eq!(tb.from, [(2, a("11.25"))], "from the receipt's inactive lot");
    assert_eq!(tb.unrecovered, Amount::ZERO);
    lots[2].amount = lots[2].amount.minus(a("11.25")).expect("fits");
    assert_eq!(lots[2].amount, a("26.25"), "26.25 left of it");
    let portions: Vec<Portion> = c.taken.iter().map(|t| t.portion).collect();
    let gb = give_back_redemption(&r, &portions, Amount::ZERO, back.redemption, d("2026-03-01"));
    assert_eq!(gb.len(), 1);
    assert_eq!(
        (gb[0].amount, gb[0].lot.expire, gb[0].lot.active_from),
        (a("75"), Some(d("2026-06-30")), d("2026-03-01"))
    );
    lots.push(gb[0].lot.clone());

    // Cancel: takes back 26.25 and gives back 175.
    let left_accrual = c.accrued.minus(back.accrual).expect("fits");
    let left_redemption = c.redeemed.minus(back.redemption).expect("fits");
    assert_eq!((left_accrual, left_redemption), (a("26.25"), a("175")));
    let tb = take_back_accrual(&r, &lots, "R-1", left_accrual, d("2026-03-01"));
    assert_eq!((tb.from.clone(), tb.unrecovered), (vec![(2, a("26.25"))], Amount::ZERO));
    let gb = give_back_redemption(&r, &portions, back.redemption, left_redemption, d("2026-03-01"));
    assert_eq!(gb.iter().map(|g| g.amount).collect::<Vec<_>>(), [a("175")]);
    assert_eq!(gb[0].lot.expire, Some(d("2026-06-30")));
}

// ---- §8.3 step by step ----

#[test]
fn the_rest_of_the_allocation_goes_to_the_largest_remainders_then_the_lower_position() {
    let r = RuleSet::shipped();
    let lots = [lot("1000", "2026-01-01", None)];
    // R = 1.00 over three equal lines: 0.33 each and one hundredth left; the
    // remainders tie, so the lowest position (2, though listed last) gets it.
    let lines = [line(7, "10", None), line(5, "10", None), line(2, "10", None)];
    let c = compute(&r, &sale(&lots, &lines, "1")).unwrap_or_else(|e| panic!("{e:?}"));
    let s: Vec<Amount> = c.lines.iter().map(|l| l.redeemed).collect();
    assert_eq!(s, [a("0.33"), a("0.33"), a("0.34")]);
    // 10 and 20: R = 0.05 → 0.0166.. and 0.0333..: floors 0.01, 0.03; rest
    // 0.01 to the larger remainder (line 1's 0.0066 beats line 2's 0.0033).
    let lines = [line(1, "10", None), line(2, "20", None)];
    let c = compute(&r, &sale(&lots, &lines, "0.05")).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(c.lines.iter().map(|l| l.redeemed).collect::<Vec<_>>(), [a("0.02"), a("0.03")]);
}

#[test]
fn accrual_is_per_card_type_and_cut_to_hundredths() {
    let r = RuleSet::shipped();
    let lines = [line(1, "19.99", None)];
    let by_type = |t: CardType| {
        let s = Sale { card_type: t, ..sale(&[], &lines, "0") };
        compute(&r, &s).unwrap_or_else(|e| panic!("{e:?}")).accrued
    };
    assert_eq!(by_type(CardType::Bonus), a("0.99"), "floor2(19.99 · 5%) = floor2(0.9995)");
    assert_eq!(by_type(CardType::BonusDiscount), a("0.59"), "floor2(19.99 · 3%) = floor2(0.5997)");
    assert_eq!(by_type(CardType::Discount), a("0"), "a discount card earns nothing");
    let s = Sale { card_type: CardType::Discount, ..sale(&[], &lines, "0") };
    assert_eq!(compute(&r, &s).map(|c| c.accrued_lot), Ok(None), "no lot when nothing is accrued");
}

#[test]
fn an_excluded_category_neither_earns_nor_is_paid_and_is_compared_exactly() {
    let r = RuleSet::shipped();
    let lots = [lot("1000", "2026-01-01", None)];
    let lines = [line(1, "100", Some("tobacco")), line(2, "100", Some("Tobacco")), line(3, "100", Some("dairy"))];
    let c = compute(&r, &sale(&lots, &lines, "100")).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(c.eligible_total, a("200"));
    assert_eq!(c.lines.iter().map(|l| l.eligible).collect::<Vec<_>>(), [false, true, true]);
    assert_eq!(c.lines.iter().map(|l| l.redeemed).collect::<Vec<_>>(), [a("0"), a("50"), a("50")]);
    assert_eq!(c.lines.iter().map(|l| l.accrued).collect::<Vec<_>>(), [a("0"), a("2.5"), a("2.5")]);
    let src = r.source(c.lines[0].decided_by);
    assert_eq!(src.file, "purchases.toml");
    assert!(src.summary.contains("tobacco"), "{}", src.summary);
    assert!(r.source(c.lines[1].decided_by).summary.contains("card type 0 earns 5%"));
}

#[test]
fn refusals_come_in_spec_order_status_then_limit_then_balance() {
    let r = RuleSet::shipped();
    let lots = [lot("10", "2026-01-01", None)];
    let lines = [line(1, "100", None)];
    let refused = |s: Sale| compute(&r, &s).err().map(|e| e.key);
    // Issued earns but may not redeem; New and Blocked do not take part.
    assert_eq!(refused(Sale { status: Status::Issued, ..sale(&lots, &lines, "1") }), Some(ErrorKey::StatusError));
    assert_eq!(refused(Sale { status: Status::Issued, ..sale(&lots, &lines, "0") }), None);
    assert_eq!(refused(Sale { status: Status::New, ..sale(&lots, &lines, "0") }), Some(ErrorKey::StatusError));
    assert_eq!(refused(Sale { status: Status::Blocked, ..sale(&lots, &lines, "0") }), Some(ErrorKey::StatusError));
    // 60 > floor2(100 · 50%) = 50 and > the balance 10: the limit answers.
    assert_eq!(refused(sale(&lots, &lines, "60")), Some(ErrorKey::RedeemLimitExceeded));
    assert_eq!(refused(sale(&lots, &lines, "50")), Some(ErrorKey::NotEnoughBonuses));
    assert_eq!(refused(sale(&lots, &lines, "10")), None);
    let e = compute(&r, &sale(&lots, &lines, "60")).expect_err("refused");
    assert!(e.message.contains("at most 50"), "{}", e.message);
    let e = compute(&r, &sale(&lots, &lines, "50")).expect_err("refused");
    assert!(e.message.contains("only 10 active"), "{}", e.message);
    let e = compute(&r, &Sale { status: Status::Blocked, ..sale(&lots, &lines, "0") }).expect_err("refused");
    assert_eq!(e.message, "this card is «Заблокирована»; only «Выдана», «Активная» cards take part in purchases");
}

#[test]
fn max_redeem_is_zero_when_the_status_may_not_redeem() {
    let r = RuleSet::shipped();
    let lots = [lot("10", "2026-01-01", None)];
    let lines = [line(1, "100", None)];
    let c = compute(&r, &Sale { status: Status::Issued, ..sale(&lots, &lines, "0") }).expect("issued earns");
    assert_eq!((c.max_redeem, c.active_balance, c.redeem_limit), (a("0"), a("10"), a("50")));
}

#[test]
fn only_active_lots_of_the_redemption_type_count_and_the_nearest_expiry_goes_first() {
    let r = RuleSet::shipped();
    let status_lot = Lot { bonus_type: BonusType::Status, ..lot("500", "2026-01-01", None) };
    let lots = [
        lot("5", "2026-01-01", None),                          // 0: no expiry: last
        lot("7", "2026-03-02", Some("2026-04-01")),            // 1: inactive until tomorrow
        lot("9", "2025-01-01", Some("2026-02-28")),            // 2: burned
        Lot { frozen: true, ..lot("11", "2026-01-01", None) }, // 3: frozen
        status_lot,                                            // 4: another type
        lot("3", "2026-02-01", Some("2026-05-01")),            // 5: same expiry as 6, later start
        lot("4", "2026-01-15", Some("2026-05-01")),            // 6
        lot("2", "2026-02-01", Some("2026-05-01")),            // 7: as 5, added later
    ];
    let lines = [line(1, "1000", None)];
    let c = compute(&r, &sale(&lots, &lines, "12")).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(c.active_balance, a("14"));
    let order: Vec<(usize, Amount)> = c.taken.iter().map(|t| (t.lot, t.portion.amount)).collect();
    assert_eq!(order, [(6, a("4")), (5, a("3")), (7, a("2")), (0, a("3"))]);
}

#[test]
fn a_blocked_cards_lots_are_frozen_while_the_option_says_so() {
    let r = with_purchases("statuses = [\"issued\", \"active\"]", "statuses = [\"issued\", \"active\", \"blocked\"]");
    let lots = [lot("40", "2026-01-01", None)];
    let lines = [line(1, "100", None)];
    let c = compute(&r, &Sale { status: Status::Blocked, ..sale(&lots, &lines, "0") }).expect("blocked earns here");
    assert_eq!(c.active_balance, a("0"), "options.toml freezes a blocked card's bonuses");
    assert_eq!(c.max_redeem, a("0"));
}

#[test]
fn the_accrued_lot_never_expires_when_lifetime_is_zero_and_is_active_at_once_without_a_delay() {
    let r = with_purchases("lifetime_days = 365", "lifetime_days = 0");
    let r2 = {
        let files: Vec<(&str, String)> = RuleSet::shipped_files()
            .iter()
            .map(|(n, t)| {
                (
                    *n,
                    if *n == "purchases.toml" {
                        t.replace("activation_delay_days = 14", "activation_delay_days = 0")
                    } else {
                        t.to_string()
                    },
                )
            })
            .collect();
        let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        RuleSet::from_sources(&refs).unwrap_or_else(|e| panic!("{e}"))
    };
    let lines = [line(1, "100", None)];
    let l = compute(&r, &sale(&[], &lines, "0")).ok().and_then(|c| c.accrued_lot).expect("a lot");
    assert_eq!((l.active_from, l.expire), (d("2026-03-15"), None));
    let l = compute(&r2, &sale(&[], &lines, "0")).ok().and_then(|c| c.accrued_lot).expect("a lot");
    assert_eq!(
        (l.active_from, l.expire),
        (d("2026-03-01"), Some(d("2027-02-28"))),
        "365 days from today, today included"
    );
}

#[test]
fn a_fractional_percent_is_exact() {
    let r = with_purchases("\"0\" = 5   # bonus card", "\"0\" = 2.5   # bonus card");
    let lines = [line(1, "99.99", None)];
    let c = compute(&r, &sale(&[], &lines, "0")).expect("computes");
    assert_eq!(c.accrued, a("2.49"), "floor2(99.99 · 2.5%) = floor2(2.49975)");
}

// ---- §8.4 reversal ----

#[test]
fn taking_back_accrual_uses_the_receipts_lots_then_the_nearest_expiry_then_reports_the_rest() {
    let r = RuleSet::shipped();
    let today = d("2026-03-01");
    let mine = Lot { receipt: Some("R-9".into()), ..lot("5", "2026-03-15", Some("2027-03-14")) };
    let lots = [
        lot("4", "2026-01-01", None),
        lot("3", "2026-01-01", Some("2026-02-01")), // burned: not touched
        mine,
        lot("2", "2026-01-01", Some("2026-12-31")),
        Lot { bonus_type: BonusType::Status, ..lot("50", "2026-01-01", None) },
    ];
    let tb = take_back_accrual(&r, &lots, "R-9", a("10"), today);
    assert_eq!(tb.from, [(2, a("5")), (3, a("2")), (0, a("3"))]);
    assert_eq!(tb.unrecovered, a("0"));
    let tb = take_back_accrual(&r, &lots, "R-9", a("20"), today);
    assert_eq!(tb.unrecovered, a("9"), "5 + 2 + 4 found, never a negative lot");
}

#[test]
fn giving_back_takes_the_last_portion_first_after_earlier_returns() {
    let r = RuleSet::shipped();
    let today = d("2026-03-01");
    let portions = [
        Portion { amount: a("4"), expire: Some(d("2026-04-01")) },
        Portion { amount: a("3"), expire: Some(d("2026-05-01")) },
        Portion { amount: a("5"), expire: None },
    ];
    let gb = give_back_redemption(&r, &portions, a("6"), a("5"), today);
    let got: Vec<(usize, Amount, Option<NaiveDate>)> = gb.iter().map(|g| (g.portion, g.amount, g.lot.expire)).collect();
    assert_eq!(got, [(1, a("2"), Some(d("2026-05-01"))), (0, a("3"), Some(d("2026-04-01")))]);
    assert!(gb.iter().all(|g| g.lot.active_from == today && !g.lot.frozen && g.lot.receipt.is_none()));
}

#[test]
fn partial_returns_of_a_line_add_up_to_exactly_its_figures() {
    let m = Money::parse("10").expect("money");
    let (s, c) = (a("3.33"), a("0.33"));
    let steps = ["3.33", "6.66", "10"];
    let mut before = Amount::ZERO;
    let (mut acc, mut red) = (Amount::ZERO, Amount::ZERO);
    for t in steps {
        let back = line_return(m, s, c, before, a(t));
        acc = acc.plus(back.accrual);
        red = red.plus(back.redemption);
        before = a(t);
    }
    assert_eq!((acc, red), (c, s));
    let first = line_return(m, s, c, Amount::ZERO, a("3.33"));
    assert_eq!((first.accrual, first.redemption), (a("0.1"), a("1.1")), "floor2(0.33·0.333), floor2(3.33·0.333)");
}

// ---- properties ----

fn money_cents() -> impl Strategy<Value = i64> {
    prop_oneof![1i64..10_000, 1i64..100_000_000, Just(1i64), Just(100_000_000_000i64)]
}

fn cents(c: i64) -> String {
    rust_decimal::Decimal::new(c, 2).to_string()
}

prop_compose! {
    fn receipt()(lines in prop::collection::vec((money_cents(), prop::bool::weighted(0.2)), 1..12),
                 lots in prop::collection::vec((1i64..200_000, prop::option::of(0i64..400), 0i64..30), 0..6),
                 redeem_share in 0u32..=100, card in 0usize..3)
        -> (Vec<SaleLine>, Vec<Lot>, u32, CardType) {
        let lines = lines.iter().enumerate().map(|(i, (c, tob))| {
            line(i as u32 * 3 + 1, &cents(*c), tob.then_some("tobacco"))
        }).collect();
        let today = d("2026-03-01");
        let lots = lots.iter().map(|(c, exp, age)| Lot {
            amount: a(&cents(*c)),
            bonus_type: BonusType::Monetary,
            active_from: today - chrono::Days::new(*age as u64),
            expire: exp.map(|e| today + chrono::Days::new(e as u64)),
            frozen: false,
            receipt: None,
        }).collect();
        (lines, lots, redeem_share, CardType::ALL[card])
    }
}

proptest! {
    #[test]
    fn computations_add_up_and_reversals_restore_the_lots(receipt in receipt()) {
        let (lines, mut lots, share, card_type) = receipt;
        let r = RuleSet::shipped();
        let probe = Sale { card_type, ..sale(&lots, &lines, "0") };
        let max = compute(&r, &probe).expect("R = 0 on an active card is never refused").max_redeem;
        let redeem = Amount::new((max.value() * rust_decimal::Decimal::from(share) / rust_decimal::Decimal::ONE_HUNDRED).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero));
        let s = Sale { card_type, redeem, ..sale(&lots, &lines, "0") };
        let c = compute(&r, &s).unwrap_or_else(|e| panic!("R <= MaxRedeem was refused: {e:?}"));
        // Σ allocation = R; no line paid more than its amount; excluded lines get nothing.
        let sum = c.lines.iter().fold(Amount::ZERO, |t, l| t.plus(l.redeemed));
        prop_assert_eq!(sum, redeem);
        let p = r.purchases().percent(card_type).value();
        for l in &c.lines {
            prop_assert!(l.redeemed <= l.amount.amount());
            let paid = l.amount.value() - l.redeemed.value();
            prop_assert!(l.accrued.value() <= paid * p / rust_decimal::Decimal::ONE_HUNDRED, "accrual above percent × paid");
            if !l.eligible { prop_assert!(l.redeemed.is_zero() && l.accrued.is_zero()); }
        }
        let taken = c.taken.iter().fold(Amount::ZERO, |t, x| t.plus(x.portion.amount));
        prop_assert_eq!(taken, redeem);
        let today = s.today;
        // Apply, then take back everything and give back everything.
        let before = total(&lots, BonusType::Monetary);
        apply(&mut lots, &c, "R-P");
        let tb = take_back_accrual(&r, &lots, "R-P", c.accrued, today);
        prop_assert_eq!(tb.unrecovered, Amount::ZERO);
        for (i, x) in &tb.from {
            lots[*i].amount = lots[*i].amount.minus(*x).expect("a take-back fits its lot");
        }
        let portions: Vec<Portion> = c.taken.iter().map(|t| t.portion).collect();
        for g in give_back_redemption(&r, &portions, Amount::ZERO, c.redeemed, today) {
            lots.push(g.lot);
        }
        prop_assert_eq!(total(&lots, BonusType::Monetary), before);
        prop_assert!(lots.iter().all(|l| !l.amount.value().is_sign_negative()));
    }

    #[test]
    fn returns_in_any_steps_reverse_exactly_a_lines_figures(a_c in 1i64..1_000_000, s_frac in 0u32..=100, c_frac in 0u32..=10, cuts in prop::collection::vec(0u32..=100, 0..5)) {
        let amount = Money::parse(&cents(a_c)).expect("money");
        let s = Amount::new(rust_decimal::Decimal::new(a_c * s_frac as i64 / 100, 2));
        let c = Amount::new(rust_decimal::Decimal::new(a_c * c_frac as i64 / 100, 2));
        let mut points: Vec<i64> = cuts.iter().map(|p| a_c * *p as i64 / 100).collect();
        points.push(a_c);
        points.sort();
        let (mut before, mut acc, mut red) = (Amount::ZERO, Amount::ZERO, Amount::ZERO);
        for t in points {
            let t = Amount::new(rust_decimal::Decimal::new(t, 2));
            let back = line_return(amount, s, c, before, t);
            acc = acc.plus(back.accrual);
            red = red.plus(back.redemption);
            prop_assert!(acc <= c && red <= s, "never more than the line's figures");
            before = t;
        }
        prop_assert_eq!((acc, red), (c, s));
    }
}
