//! Sample receipts computed under both sets: per card type and status, with
//! and without a redemption, with a line of an excluded category. Only the
//! figures that change are reported.

use super::ReceiptChange;
use crate::domain::{Amount, BonusType, CardType, Lot, Money, Position, Status};
use crate::rules::purchases::{compute, Sale, SaleLine};
use crate::rules::RuleSet;
use chrono::NaiveDate;

/// The day the samples are computed for (fixed, so a diff reads the same tomorrow).
const TODAY: (i32, u32, u32) = (2026, 3, 1);

/// The sample lines: 1000.00 of ordinary goods and 500.00 of the first
/// excluded category either set names.
pub(super) fn sample_lines(old: &RuleSet, new: &RuleSet) -> Vec<SaleLine> {
    let excluded = old
        .purchases()
        .excluded_categories()
        .chain(new.purchases().excluded_categories())
        .next()
        .unwrap_or("tobacco")
        .to_string();
    vec![line(1, "1000", None), line(2, "500", Some(excluded))]
}

fn line(p: u32, amount: &str, category: Option<String>) -> SaleLine {
    SaleLine {
        position: Position::new(p).unwrap_or_else(|| unreachable!("1 and 2 are positions")),
        amount: Money::parse(amount).unwrap_or_else(|_| unreachable!("1000 and 500 are money")),
        category,
    }
}

/// Figures of one receipt, by name, as text.
fn figures(rules: &RuleSet, sale: &Sale) -> Vec<(&'static str, String)> {
    match compute(rules, sale) {
        Err(r) => vec![("answer", r.key.to_string())],
        Ok(c) => {
            let lot = c.accrued_lot.as_ref();
            vec![
                ("answer", "OK".into()),
                ("eligible total", c.eligible_total.to_string()),
                ("max redeem", c.max_redeem.to_string()),
                ("redeemed", c.redeemed.to_string()),
                ("accrued", c.accrued.to_string()),
                ("accrued lot type", lot.map(|l| l.bonus_type.code().to_string()).unwrap_or("-".into())),
                ("active from", lot.map(|l| l.active_from.to_string()).unwrap_or("-".into())),
                (
                    "expires",
                    lot.map(|l| l.expire.map(|e| e.to_string()).unwrap_or("never".into())).unwrap_or("-".into()),
                ),
            ]
        }
    }
}

pub(super) fn compare(old: &RuleSet, new: &RuleSet) -> Vec<ReceiptChange> {
    let today = NaiveDate::from_ymd_opt(TODAY.0, TODAY.1, TODAY.2).unwrap_or_default();
    let lines = sample_lines(old, new);
    // 1000 active bonuses of each type, so a change of the redemption type shows.
    let lots: Vec<Lot> = BonusType::ALL
        .into_iter()
        .map(|t| Lot {
            amount: Amount::new(1000.into()),
            bonus_type: t,
            active_from: today,
            expire: None,
            frozen: false,
            receipt: None,
        })
        .collect();
    let mut out = Vec::new();
    for card_type in CardType::ALL {
        for status in Status::ALL {
            for redeem in [Amount::ZERO, Amount::new(100.into())] {
                let sale = Sale { status, card_type, lots: &lots, lines: &lines, redeem, today };
                let (a, b) = (figures(old, &sale), figures(new, &sale));
                let name = format!("card type {}, {}, Redeem {}", card_type.code(), status.ident(), redeem);
                let get = |v: &[(&str, String)], k: &str| v.iter().find(|(n, _)| *n == k).map(|(_, x)| x.clone());
                for (figure, _) in if a.len() >= b.len() { &a } else { &b } {
                    let (x, y) = (get(&a, figure).unwrap_or("-".into()), get(&b, figure).unwrap_or("-".into()));
                    if x != y {
                        out.push(ReceiptChange { receipt: name.clone(), figure: figure.to_string(), old: x, new: y });
                    }
                }
            }
        }
    }
    out
}

/// What the samples are, for the report's heading.
pub(super) fn describe(old: &RuleSet, new: &RuleSet) -> String {
    let lines = sample_lines(old, new);
    let cat = lines[1].category.clone().unwrap_or_default();
    format!(
        "lines 1000 and 500 «{cat}», the card holding 1000 active bonuses of each type, today {}-{:02}-{:02}",
        TODAY.0, TODAY.1, TODAY.2
    )
}
