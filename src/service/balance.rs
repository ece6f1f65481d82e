//! Balances derived from bonus lots as of a given day (SPEC §5.1).

use super::lookup::{balance_card, card_not_found, Lookup};
use super::parse::parse_number;
use super::{access, Caller, CardService, R};
use crate::domain::{Amount, BonusState, BonusType, Status};
use crate::rules::{Method, RuleSet};
use crate::store::{CardRecord, CardView, ContactRecord, Lot};
use crate::ErrorKey;
use chrono::NaiveDate;

impl CardService {
    /// The balance as of `today` (SPEC §5.1). Answered from committed state,
    /// outside any transaction: by number it is one read of the card (with
    /// its lots) and one of its contact.
    pub fn balance(&self, caller: &Caller, lookup: Lookup<'_>, today: NaiveDate) -> R<Balance> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Balance)?;
        lookup.require_value()?;
        let number = match lookup {
            Lookup::Number(n) => parse_number(&rules, n)?.as_str().to_string(),
            other => balance_card(&*self.store, &rules, other)?.number,
        };
        let view: CardView =
            self.store.card_view(&number)?.ok_or_else(|| card_not_found(ErrorKey::CannotFindCardNumber, &number))?;
        Ok(compute(&rules, &view.card, view.contact.as_ref(), &view.lots, today))
    }
}

/// One entry of `Bonuses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BonusLine {
    pub amount: Amount,
    pub state: BonusState,
    pub state_name: String,
    /// Set on the nearest-expiry entry only.
    pub expire: Option<NaiveDate>,
    pub bonus_type: BonusType,
    pub type_name: String,
}

/// A card's balance with the names the rules give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub number: String,
    pub mobile: String,
    pub code: String,
    pub name: String,
    pub status: Status,
    pub status_code: String,
    pub status_name: String,
    pub category_code: String,
    pub category_name: String,
    pub type_code: String,
    pub type_name: String,
    pub bonuses: Vec<BonusLine>,
}

pub fn compute(
    rules: &RuleSet,
    card: &CardRecord,
    contact: Option<&ContactRecord>,
    lots: &[Lot],
    today: NaiveDate,
) -> Balance {
    let blocked = card.status == Status::Blocked;
    let freeze = rules.options().freeze_while_blocked;
    let mut sums = [[Amount::ZERO; 4]; 2];
    // Per type: the earliest expiry among active lots, and the sum expiring then.
    let mut nearest: [Option<(NaiveDate, Amount)>; 2] = [None, None];
    for lot in lots {
        let state = lot.state(blocked, freeze, today);
        let t = lot.bonus_type.index();
        sums[t][state.index()] = sums[t][state.index()].plus(lot.amount);
        if state == BonusState::Active {
            if let Some(e) = lot.expire {
                nearest[t] = match nearest[t] {
                    Some((d, _)) if e > d => nearest[t],
                    Some((d, a)) if e == d => Some((d, a.plus(lot.amount))),
                    _ => Some((e, lot.amount)),
                };
            }
        }
    }
    let mut bonuses = Vec::with_capacity(10);
    for bt in BonusType::ALL {
        let t = bt.index();
        for st in [BonusState::Active, BonusState::Inactive, BonusState::Burned, BonusState::Frozen] {
            bonuses.push(BonusLine {
                amount: sums[t][st.index()],
                state: st,
                state_name: rules.bonus_state_name(st).to_string(),
                expire: None,
                bonus_type: bt,
                type_name: rules.bonus_type_name(bt).to_string(),
            });
        }
        if let Some((d, a)) = nearest[t] {
            bonuses.push(BonusLine {
                amount: a,
                state: BonusState::NearestExpiry,
                state_name: rules.bonus_state_name(BonusState::NearestExpiry).to_string(),
                expire: Some(d),
                bonus_type: bt,
                type_name: rules.bonus_type_name(bt).to_string(),
            });
        }
    }
    Balance {
        number: card.number.clone(),
        mobile: contact.and_then(|c| c.mobile.clone()).unwrap_or_default(),
        code: contact.map(|c| c.code.clone()).unwrap_or_default(),
        name: contact.map(|c| c.name.clone()).unwrap_or_default(),
        status: card.status,
        status_code: rules.status_code(card.status).to_string(),
        status_name: rules.status_name(card.status).to_string(),
        category_code: card.category.code().to_string(),
        category_name: rules.category_name(card.category).to_string(),
        type_code: card.card_type.code().to_string(),
        type_name: rules.card_type_name(card.card_type).to_string(),
        bonuses,
    }
}
