//! Purchases under the rules (SPEC §8): the checked settings of
//! `purchases.toml`, the computation of a receipt, and the arithmetic of
//! taking a sale back. All pure: no store, no clock — today is an argument.
//!
//! # API (for the purchase service)
//!
//! Settings, read from the loaded set:
//! ```text
//! RuleSet::purchases(&self) -> &PurchaseRules
//! PurchaseRules::earns(&self, Status) -> bool            // accrual.statuses
//! PurchaseRules::may_redeem(&self, Status) -> bool       // redemption.statuses
//! PurchaseRules::accrual_type / redemption_type(&self) -> BonusType
//! PurchaseRules::activation_delay_days / lifetime_days(&self) -> u32
//! PurchaseRules::is_excluded(&self, category: &str) -> bool
//! PurchaseRules::percent(&self, CardType) -> Amount      // 0 when the type is not listed
//! PurchaseRules::max_share_percent(&self) -> Amount
//! ```
//! Calculate and Confirm (§8.3, §8.4 steps 4–6):
//! ```text
//! compute(rules: &RuleSet, sale: &Sale) -> Result<Computation, Refusal>
//!   Sale { status, card_type, lots: &[Lot], lines: &[SaleLine], redeem: Amount, today }
//!   SaleLine { position: Position, amount: Money, category: Option<String> }
//!   Refusal { key: ErrorKey, message: String, rule: RuleId }  // StatusError, RedeemLimitExceeded, NotEnoughBonuses
//!   Computation { eligible_total, redeem_limit, max_redeem, active_balance, redeemed, accrued,
//!                 accrued_lot: Option<Lot> /* receipt: None — the caller tags it */,
//!                 lines: Vec<LineOutcome> /* request order */, taken: Vec<Taken> /* order taken */ }
//!   LineOutcome { position, amount: Money, eligible, redeemed, accrued, decided_by: RuleId }
//!   Taken { lot: usize /* index into sale.lots */, portion: Portion { amount, expire } }
//! ```
//! Cancel and Return (§8.4 "Reversal"):
//! ```text
//! line_return(amount: Money, redeemed, accrued, returned_before, returned_after: Amount) -> LineReturn { accrual, redemption }
//! take_back_accrual(rules, lots: &[Lot], receipt: &str, amount: Amount, today) -> TakeBack { from: Vec<(usize, Amount)>, unrecovered }
//! give_back_redemption(rules, portions: &[Portion], given_before: Amount, amount: Amount, today) -> Vec<GiveBack { portion, amount, lot }>
//! ```
//! Applying a `Computation`: subtract each `Taken` from `lots[lot]`, then
//! add `accrued_lot` tagged with the receipt. Applying a `TakeBack`:
//! subtract each amount from its lot. Applying `GiveBack`s: add each `lot`.

mod check;
mod compute;
mod reversal;

pub(in crate::rules) use check::check;
pub use compute::{compute, Computation, LineOutcome, Portion, Refusal, Sale, SaleLine, Taken};
pub use reversal::{give_back_redemption, line_return, take_back_accrual, GiveBack, LineReturn, TakeBack};

use super::RuleId;
use crate::domain::{Amount, BonusType, CardType, Status};
use rust_decimal::Decimal;

/// Longest day count purchases.toml may name (100 years): every date it
/// produces stays far inside the calendar.
pub const DAYS_MAX: i64 = 36_500;

/// The checked settings of `purchases.toml`, with the row behind each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRules {
    /// Bitmask over statuses.
    pub(crate) accrual_statuses: u8,
    pub(crate) accrual_statuses_rule: RuleId,
    pub(crate) accrual_type: BonusType,
    pub(crate) activation_delay_days: u32,
    pub(crate) lifetime_days: u32,
    pub(crate) dates_rule: RuleId,
    pub(crate) excluded: Vec<(String, RuleId)>,
    /// Per card type: the percent in hundredths (5% = 500) and its row, or
    /// the `[accrual.percent]` table when the type is not listed.
    pub(crate) percent: [(u32, RuleId); 3],
    pub(crate) redemption_statuses: u8,
    pub(crate) redemption_statuses_rule: RuleId,
    pub(crate) redemption_type: BonusType,
    /// In hundredths, as `percent`.
    pub(crate) max_share: u32,
    pub(crate) max_share_rule: RuleId,
    /// Not a row: the card's active balance decides NotEnoughBonuses.
    pub(crate) balance_rule: RuleId,
}

impl PurchaseRules {
    /// Settings that earn and redeem nothing; a placeholder while a set that
    /// does not check is still being checked.
    pub(crate) fn none() -> PurchaseRules {
        PurchaseRules {
            accrual_statuses: 0,
            accrual_statuses_rule: RuleId(0),
            accrual_type: BonusType::Monetary,
            activation_delay_days: 0,
            lifetime_days: 0,
            dates_rule: RuleId(0),
            excluded: Vec::new(),
            percent: [(0, RuleId(0)); 3],
            redemption_statuses: 0,
            redemption_statuses_rule: RuleId(0),
            redemption_type: BonusType::Monetary,
            max_share: 0,
            max_share_rule: RuleId(0),
            balance_rule: RuleId(0),
        }
    }

    /// May a purchase on a card in this status earn (and so happen at all)?
    pub fn earns(&self, s: Status) -> bool {
        self.accrual_statuses & (1 << s.index()) != 0
    }

    /// May a card in this status pay with bonuses?
    pub fn may_redeem(&self, s: Status) -> bool {
        self.redemption_statuses & (1 << s.index()) != 0
    }

    pub fn accrual_statuses(&self) -> Vec<Status> {
        Status::ALL.into_iter().filter(|s| self.earns(*s)).collect()
    }

    pub fn redemption_statuses(&self) -> Vec<Status> {
        Status::ALL.into_iter().filter(|s| self.may_redeem(*s)).collect()
    }

    pub fn accrual_type(&self) -> BonusType {
        self.accrual_type
    }

    pub fn redemption_type(&self) -> BonusType {
        self.redemption_type
    }

    pub fn activation_delay_days(&self) -> u32 {
        self.activation_delay_days
    }

    /// 0: accrued lots never expire.
    pub fn lifetime_days(&self) -> u32 {
        self.lifetime_days
    }

    pub fn excluded_categories(&self) -> impl Iterator<Item = &str> {
        self.excluded.iter().map(|(c, _)| c.as_str())
    }

    /// Categories are compared exactly: they are the retailer's codes.
    pub fn is_excluded(&self, category: &str) -> bool {
        self.excluded.iter().any(|(c, _)| c == category)
    }

    /// The percent a card type earns (0 when purchases.toml lists none).
    pub fn percent(&self, t: CardType) -> Amount {
        hundredths(self.percent[t.index()].0)
    }

    pub fn max_share_percent(&self) -> Amount {
        hundredths(self.max_share)
    }

    /// The row of max_share_percent.
    pub fn max_share_rule(&self) -> RuleId {
        self.max_share_rule
    }

    /// The row of the accrued lot's day counts.
    pub fn dates_rule(&self) -> RuleId {
        self.dates_rule
    }

    /// The row of the statuses that earn (and so may buy at all).
    pub fn accrual_statuses_rule(&self) -> RuleId {
        self.accrual_statuses_rule
    }

    /// The row of the statuses that may redeem.
    pub fn redemption_statuses_rule(&self) -> RuleId {
        self.redemption_statuses_rule
    }

    /// The row that decides a line: its excluded category, or the card type's percent.
    pub(crate) fn line_rule(&self, t: CardType, category: Option<&str>) -> (bool, RuleId) {
        match category.and_then(|c| self.excluded.iter().find(|(x, _)| x == c)) {
            Some((_, rule)) => (false, *rule),
            None => (true, self.percent[t.index()].1),
        }
    }
}

fn hundredths(h: u32) -> Amount {
    Amount::new(Decimal::new(h as i64, 2).normalize())
}

/// An amount in hundredths, cut toward zero (amounts on receipts have at
/// most 2 fraction digits; lots added by hand may have more).
pub(crate) fn cents(a: Amount) -> i128 {
    let v = (a.value() * Decimal::ONE_HUNDRED).trunc();
    v.mantissa() / 10i128.pow(v.scale())
}

pub(crate) fn from_cents(c: i128) -> Amount {
    debug_assert!(c >= 0, "bonus amounts are never negative");
    Amount::new(Decimal::from_i128_with_scale(c, 2).normalize())
}
