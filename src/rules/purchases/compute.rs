//! How a receipt is computed (SPEC §8.3) and refused (§8.4 Calculate steps
//! 4–6): allocation of the redemption by largest remainder, accrual per card
//! type, the accrued lot's dates, nearest-expiry redemption order. Exact: the
//! line arithmetic runs on integer hundredths, so no division ever rounds.

use super::{cents, from_cents, PurchaseRules};
use crate::domain::{Amount, BonusState, CardType, Lot, Money, Position, Status};
use crate::rules::{RuleId, RuleSet};
use crate::ErrorKey;
use chrono::{Days, NaiveDate};
use std::cmp::Ordering;

/// One line of a receipt, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleLine {
    pub position: Position,
    pub amount: Money,
    /// The retailer's goods category code, if the till sent one.
    pub category: Option<String>,
}

/// Everything a receipt's figures depend on.
#[derive(Debug, Clone, Copy)]
pub struct Sale<'a> {
    pub status: Status,
    pub card_type: CardType,
    /// The card's lots, in the order they were added.
    pub lots: &'a [Lot],
    /// Positions are unique (the caller refused duplicates as InvalidPosition).
    pub lines: &'a [SaleLine],
    /// R: the redemption asked for (0 when absent); at most 2 fraction digits.
    pub redeem: Amount,
    pub today: NaiveDate,
}

/// Why a receipt is refused, in §8.4's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// StatusError, RedeemLimitExceeded or NotEnoughBonuses.
    pub key: ErrorKey,
    /// The sentence for `Value` (messages.toml).
    pub message: String,
    /// The setting that refused.
    pub rule: RuleId,
}

/// What the receipt does to one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineOutcome {
    pub position: Position,
    pub amount: Money,
    pub eligible: bool,
    /// sᵢ: its share of the redemption.
    pub redeemed: Amount,
    /// cᵢ: what it earns.
    pub accrued: Amount,
    /// The excluded category that made it ineligible, or the card type's
    /// percent row (or the percent table, when the type is not listed).
    pub decided_by: RuleId,
}

/// What a receipt remembers of a redemption: how much, and the expiry of the
/// lot it came from (a portion given back keeps that expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Portion {
    pub amount: Amount,
    pub expire: Option<NaiveDate>,
}

/// A portion and the lot (an index into `Sale::lots`) it is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub lot: usize,
    pub portion: Portion,
}

/// A receipt's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computation {
    /// E: the sum of the eligible lines' amounts.
    pub eligible_total: Amount,
    /// floor2(E · max_share_percent / 100).
    pub redeem_limit: Amount,
    /// The most this receipt could redeem now (0 when the status may not redeem).
    pub max_redeem: Amount,
    /// The card's active bonuses of the redemption type, before the sale.
    pub active_balance: Amount,
    /// = R.
    pub redeemed: Amount,
    pub accrued: Amount,
    /// The lot the sale adds (when `accrued` > 0); `receipt` is `None`: the
    /// caller tags it with the receipt id.
    pub accrued_lot: Option<Lot>,
    /// In request order.
    pub lines: Vec<LineOutcome>,
    /// In the order taken; the amounts add up to `redeemed`.
    pub taken: Vec<Taken>,
}

/// Computes a receipt, or refuses it (§8.4 Calculate steps 4, 5, 6 in order).
pub fn compute(rules: &RuleSet, sale: &Sale) -> Result<Computation, Refusal> {
    let p = rules.purchases();
    let r_c = cents(sale.redeem);
    debug_assert_eq!(from_cents(r_c), sale.redeem.floor2(), "Redeem has at most 2 fraction digits");
    check_status(rules, p, sale.status, r_c > 0)?;
    let eligible: Vec<(bool, RuleId)> =
        sale.lines.iter().map(|l| p.line_rule(sale.card_type, l.category.as_deref())).collect();
    let e_c: i128 = sale.lines.iter().zip(&eligible).filter(|(_, e)| e.0).map(|(l, _)| l.amount.cents()).sum();
    let limit_c = e_c * p.max_share as i128 / 10_000;
    let active_balance = active_balance(rules, sale);
    if r_c > limit_c {
        return Err(refuse(rules, ErrorKey::RedeemLimitExceeded, p.max_share_rule, sale, from_cents(limit_c), e_c));
    }
    if sale.redeem > active_balance {
        return Err(refuse(rules, ErrorKey::NotEnoughBonuses, p.balance_rule, sale, active_balance, e_c));
    }
    let shares = allocate(sale.lines, &eligible, r_c, e_c);
    let percent = p.percent[sale.card_type.index()].0 as i128;
    let mut lines = Vec::with_capacity(sale.lines.len());
    let mut accrued_c = 0i128;
    for ((l, &(ok, rule)), &s_c) in sale.lines.iter().zip(&eligible).zip(&shares) {
        let c_c = if ok { (l.amount.cents() - s_c) * percent / 10_000 } else { 0 };
        debug_assert!(s_c <= l.amount.cents() && c_c >= 0);
        accrued_c += c_c;
        let (redeemed, accrued) = (from_cents(s_c), from_cents(c_c));
        lines.push(LineOutcome {
            position: l.position,
            amount: l.amount,
            eligible: ok,
            redeemed,
            accrued,
            decided_by: rule,
        });
    }
    let max_redeem =
        if p.may_redeem(sale.status) { from_cents(limit_c).min(active_balance.floor2()) } else { Amount::ZERO };
    let accrued = from_cents(accrued_c);
    Ok(Computation {
        eligible_total: from_cents(e_c),
        redeem_limit: from_cents(limit_c),
        max_redeem,
        active_balance,
        redeemed: sale.redeem,
        accrued,
        accrued_lot: (accrued_c > 0).then(|| accrued_lot(p, accrued, sale.today)),
        lines,
        taken: take(rules, sale),
    })
}

fn check_status(rules: &RuleSet, p: &PurchaseRules, status: Status, redeems: bool) -> Result<(), Refusal> {
    let (template, rule, allowed) = if !p.earns(status) {
        (&rules.messages.purchase_status, p.accrual_statuses_rule, p.accrual_statuses())
    } else if redeems && !p.may_redeem(status) {
        (&rules.messages.redeem_status, p.redemption_statuses_rule, p.redemption_statuses())
    } else {
        return Ok(());
    };
    let names: Vec<String> = allowed.iter().map(|s| format!("«{}»", rules.status_name(*s))).collect();
    let statuses = if names.is_empty() { "none".to_string() } else { names.join(", ") };
    let message = fill(template, &[("{status}", rules.status_name(status)), ("{statuses}", &statuses)]);
    Err(Refusal { key: ErrorKey::StatusError, message, rule })
}

fn refuse(rules: &RuleSet, key: ErrorKey, rule: RuleId, sale: &Sale, bound: Amount, e_c: i128) -> Refusal {
    let p = rules.purchases();
    let template = match key {
        ErrorKey::RedeemLimitExceeded => &rules.messages.redeem_limit,
        _ => &rules.messages.not_enough_bonuses,
    };
    let message = fill(
        template,
        &[
            ("{redeem}", &sale.redeem.to_string()),
            ("{limit}", &bound.to_string()),
            ("{balance}", &bound.to_string()),
            ("{share}", &p.max_share_percent().to_string()),
            ("{eligible}", &from_cents(e_c).to_string()),
        ],
    );
    Refusal { key, message, rule }
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        if out.contains(k) {
            out = out.replace(k, v);
        }
    }
    out
}

/// Step 1: sᵢ = floor2(R·aᵢ/E), then the rest one hundredth at a time to
/// the largest remainders (ties: lower Position first). In hundredths.
fn allocate(lines: &[SaleLine], eligible: &[(bool, RuleId)], r_c: i128, e_c: i128) -> Vec<i128> {
    let mut shares = vec![0i128; lines.len()];
    if r_c == 0 {
        return shares;
    }
    debug_assert!(e_c > 0 && r_c <= e_c, "a redemption passed the limit, so E > 0 and R <= E");
    let mut remainders: Vec<(i128, Position, usize)> = Vec::new();
    for (i, l) in lines.iter().enumerate().filter(|(i, _)| eligible[*i].0) {
        let x = r_c * l.amount.cents();
        shares[i] = x / e_c;
        remainders.push((x % e_c, l.position, i));
    }
    let rest = r_c - shares.iter().sum::<i128>();
    debug_assert!((0..remainders.len() as i128).contains(&rest) || rest == 0);
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, i) in remainders.iter().take(rest as usize) {
        shares[*i] += 1;
    }
    debug_assert_eq!(shares.iter().sum::<i128>(), r_c);
    shares
}

/// The card's lots of the redemption type that are active today (a Blocked
/// card's lots are frozen when options.toml says so).
fn active_balance(rules: &RuleSet, sale: &Sale) -> Amount {
    redeemable(rules, sale).fold(Amount::ZERO, |sum, (_, l)| sum.plus(l.amount))
}

fn redeemable<'a>(rules: &'a RuleSet, sale: &'a Sale) -> impl Iterator<Item = (usize, &'a Lot)> + 'a {
    let t = rules.purchases().redemption_type;
    let blocked = sale.status == Status::Blocked;
    let freeze = rules.options().freeze_while_blocked;
    sale.lots.iter().enumerate().filter(move |(_, l)| {
        l.bonus_type == t && l.state(blocked, freeze, sale.today) == BonusState::Active && !l.amount.is_zero()
    })
}

/// Nearest ExpireDate first (none last), then earliest ActiveFrom, then the
/// order added.
pub(crate) fn nearest_expiry(a: &(usize, &Lot), b: &(usize, &Lot)) -> Ordering {
    let exp = match (a.1.expire, b.1.expire) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    exp.then(a.1.active_from.cmp(&b.1.active_from)).then(a.0.cmp(&b.0))
}

/// Step 4: R from the active lots in nearest-expiry order, splitting the last.
fn take(rules: &RuleSet, sale: &Sale) -> Vec<Taken> {
    let mut lots: Vec<(usize, &Lot)> = redeemable(rules, sale).collect();
    lots.sort_by(nearest_expiry);
    let mut left = sale.redeem;
    let mut out = Vec::new();
    for (i, lot) in lots {
        if left.is_zero() {
            break;
        }
        let amount = left.min(lot.amount);
        left = left.minus(amount).unwrap_or(Amount::ZERO);
        out.push(Taken { lot: i, portion: Portion { amount, expire: lot.expire } });
    }
    debug_assert!(left.is_zero(), "R <= the active balance was checked");
    out
}

/// Step 3: the accrued lot's dates.
fn accrued_lot(p: &PurchaseRules, amount: Amount, today: NaiveDate) -> Lot {
    // Day counts are at most DAYS_MAX, so these dates exist.
    let active_from = today.checked_add_days(Days::new(p.activation_delay_days as u64)).unwrap_or(NaiveDate::MAX);
    let expire = (p.lifetime_days > 0)
        .then(|| active_from.checked_add_days(Days::new(p.lifetime_days as u64 - 1)).unwrap_or(NaiveDate::MAX));
    Lot { amount, bonus_type: p.accrual_type, active_from, expire, frozen: false, receipt: None }
}
