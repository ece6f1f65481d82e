//! The arithmetic of taking a sale back (SPEC §8.4 "Reversal"): how much of a
//! line a return reverses, which lots give up accrual, and which lots a
//! redemption comes back as. Pure: the caller applies the results.

use super::compute::{nearest_expiry, Portion};
use super::{cents, from_cents};
use crate::domain::{Amount, Lot, Money};
use crate::rules::RuleSet;
use chrono::NaiveDate;

/// What a return of part of a line reverses now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineReturn {
    /// Accrual to take back now.
    pub accrual: Amount,
    /// Redemption to give back now.
    pub redemption: Amount,
}

/// A line with amount a, redeemed s and accrued c, of which `returned_before`
/// (T0) was returned earlier and `returned_after` (T) is returned counting
/// this return: the accrual taken back so far becomes floor2(c·T/a) and the
/// redemption given back so far floor2(s·T/a) — exactly c and s once T = a —
/// and this return does the difference.
pub fn line_return(
    amount: Money,
    redeemed: Amount,
    accrued: Amount,
    returned_before: Amount,
    returned_after: Amount,
) -> LineReturn {
    let a = amount.cents();
    let t0 = cents(returned_before).clamp(0, a);
    let t = cents(returned_after).clamp(t0, a);
    debug_assert!(cents(returned_before) <= cents(returned_after) && cents(returned_after) <= a);
    let so_far = |x: Amount, t: i128| cents(x) * t / a;
    LineReturn {
        accrual: from_cents(so_far(accrued, t) - so_far(accrued, t0)),
        redemption: from_cents(so_far(redeemed, t) - so_far(redeemed, t0)),
    }
}

/// Which lots give up accrual, and what could not be found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TakeBack {
    /// (index into the lots, amount to subtract), in the order taken.
    pub from: Vec<(usize, Amount)>,
    /// What no lot had left: recorded on the receipt, never a negative lot.
    pub unrecovered: Amount,
}

/// Takes back `amount` of accrual: first from the lots this receipt accrued
/// (whatever is left of them, in any state: a receipt's own bonuses that
/// burned or froze were still never earned), then from the card's other lots
/// of the accrual type that are not burned, nearest ExpireDate first (none
/// last).
pub fn take_back_accrual(rules: &RuleSet, lots: &[Lot], receipt: &str, amount: Amount, today: NaiveDate) -> TakeBack {
    let accrual = rules.purchases().accrual_type;
    let mut own: Vec<(usize, &Lot)> =
        lots.iter().enumerate().filter(|(_, l)| l.receipt.as_deref() == Some(receipt)).collect();
    let mut others: Vec<(usize, &Lot)> = lots
        .iter()
        .enumerate()
        .filter(|(_, l)| l.receipt.as_deref() != Some(receipt))
        .filter(|(_, l)| l.bonus_type == accrual && l.expire.is_none_or(|e| e >= today))
        .collect();
    own.sort_by(nearest_expiry);
    others.sort_by(nearest_expiry);
    let mut left = amount;
    let mut from = Vec::new();
    for (i, lot) in own.into_iter().chain(others) {
        if left.is_zero() {
            break;
        }
        let take = left.min(lot.amount);
        if !take.is_zero() {
            left = left.minus(take).unwrap_or(Amount::ZERO);
            from.push((i, take));
        }
    }
    TakeBack { from, unrecovered: left }
}

/// One portion of a redemption coming back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiveBack {
    /// Index into the receipt's portions.
    pub portion: usize,
    pub amount: Amount,
    /// The lot to add: the redemption type, active from today, the portion's
    /// ExpireDate (a portion whose date has passed comes back burned), not
    /// frozen, no receipt.
    pub lot: Lot,
}

/// Gives back `amount` of redemption from the portions taken at Confirm, last
/// taken first, after the `given_before` that earlier returns gave back.
/// Never more than the portions hold.
pub fn give_back_redemption(
    rules: &RuleSet,
    portions: &[Portion],
    given_before: Amount,
    amount: Amount,
    today: NaiveDate,
) -> Vec<GiveBack> {
    let t = rules.purchases().redemption_type;
    let mut skip = given_before;
    let mut left = amount;
    let mut out = Vec::new();
    for (i, p) in portions.iter().enumerate().rev() {
        let mut avail = p.amount;
        let skipped = skip.min(avail);
        skip = skip.minus(skipped).unwrap_or(Amount::ZERO);
        avail = avail.minus(skipped).unwrap_or(Amount::ZERO);
        let give = left.min(avail);
        if give.is_zero() {
            continue;
        }
        left = left.minus(give).unwrap_or(Amount::ZERO);
        let lot =
            Lot { amount: give, bonus_type: t, active_from: today, expire: p.expire, frozen: false, receipt: None };
        out.push(GiveBack { portion: i, amount: give, lot });
    }
    debug_assert!(left.is_zero(), "more given back than was redeemed");
    out
}
