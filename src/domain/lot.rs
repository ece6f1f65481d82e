//! A lot of bonuses on a card, and its state on a given day (SPEC §5.1).
//! Pure: no store, no clock; "today" is an argument.

use super::{Amount, BonusState, BonusType};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One lot of bonuses on a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    pub amount: Amount,
    pub bonus_type: BonusType,
    pub active_from: NaiveDate,
    pub expire: Option<NaiveDate>,
    pub frozen: bool,
    /// The receipt whose sale accrued this lot (SPEC §8.3); `None` for lots
    /// added by the admin API or an import. It stays with the lot when the
    /// lot moves to a replacement card.
    pub receipt: Option<String>,
}

impl Lot {
    /// The lot's state today. A lot is valid through its ExpireDate; a
    /// blocked card's lots are frozen when the rules say so.
    pub fn state(&self, card_blocked: bool, freeze_while_blocked: bool, today: NaiveDate) -> BonusState {
        if self.expire.is_some_and(|e| e < today) {
            BonusState::Burned
        } else if self.frozen || (card_blocked && freeze_while_blocked) {
            BonusState::Frozen
        } else if self.active_from > today {
            BonusState::Inactive
        } else {
            BonusState::Active
        }
    }
}
