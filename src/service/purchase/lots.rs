//! Applying a receipt's figures to a card's lots, and the card's active
//! balance of the redemption type.

use crate::domain::{Amount, BonusState, Lot, Status};
use crate::rules::RuleSet;
use chrono::NaiveDate;

/// Subtracts `amount` from each listed lot (indexes into `lots`) and drops
/// the lots that are left empty.
pub fn subtract(lots: &mut Vec<Lot>, taken: impl IntoIterator<Item = (usize, Amount)>) {
    for (i, amount) in taken {
        let lot = &mut lots[i];
        debug_assert!(amount <= lot.amount, "never more than a lot holds");
        lot.amount = lot.amount.minus(amount).unwrap_or(Amount::ZERO);
    }
    lots.retain(|l| !l.amount.is_zero());
}

/// The card's active bonuses of the redemption type as of `today` (§8.1).
pub fn active_balance(rules: &RuleSet, status: Status, lots: &[Lot], today: NaiveDate) -> Amount {
    let t = rules.purchases().redemption_type();
    let blocked = status == Status::Blocked;
    let freeze = rules.options().freeze_while_blocked;
    lots.iter()
        .filter(|l| l.bonus_type == t && l.state(blocked, freeze, today) == BonusState::Active)
        .fold(Amount::ZERO, |sum, l| sum.plus(l.amount))
}
