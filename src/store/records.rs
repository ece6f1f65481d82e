//! What the store keeps, and the [`Batch`] of writes one operation makes.
//! Plain data: every engine stores these, none adds meaning to them.

pub use crate::domain::Lot;
use crate::domain::{CardType, Category, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A card as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRecord {
    pub number: String,
    pub status: Status,
    pub category: Category,
    pub card_type: CardType,
    /// Code of the bound contact, if any. INVARIANT: at most one contact.
    pub contact: Option<String>,
    /// Set while the card is Blocked.
    pub block: Option<BlockRecord>,
    /// Number of history entries written so far; the next entry's sequence.
    pub history_len: u64,
}

/// Who blocked a card and why, kept while it is blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// The block reason's code as the rules named it when the card was blocked.
    pub reason: String,
    pub user: String,
    pub role: String,
}

/// A contact as stored. `mobile` is E.164.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactRecord {
    pub code: String,
    pub mobile: Option<String>,
    pub name: String,
    pub email: String,
    pub birth_date: String,
    pub gender: String,
    pub city: String,
    /// Any other registration field, by name.
    pub fields: BTreeMap<String, String>,
}

impl ContactRecord {
    /// The value of a registration field by its contract name (`Name`,
    /// `Email`, … or a custom field); empty when unset.
    pub fn field(&self, name: &str) -> &str {
        match name {
            "Name" => &self.name,
            "Email" => &self.email,
            "BirthDate" => &self.birth_date,
            "Gender" => &self.gender,
            "City" => &self.city,
            "MobileNumber" => self.mobile.as_deref().unwrap_or(""),
            "Code" => &self.code,
            other => self.fields.get(other).map(String::as_str).unwrap_or(""),
        }
    }
}

/// One change of a card, as kept in its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// RFC 3339, UTC.
    pub time: String,
    pub user: String,
    pub role: String,
    pub method: String,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub reason: String,
}

/// A contact write; `old_mobile` is the number the contact had before, so
/// the phone index entry can be moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactWrite {
    pub record: ContactRecord,
    pub old_mobile: Option<String>,
}

/// What one operation writes to one card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardChange {
    /// The card's new record; `None` keeps the stored one (the card must
    /// exist then).
    pub record: Option<CardRecord>,
    /// The card's full new list of lots; `None` keeps the stored list.
    pub lots: Option<Vec<Lot>>,
    /// Entries appended to the card's history, oldest first.
    /// INVARIANT: when non-empty, `record` is set and its `history_len` is
    /// the stored length plus `history.len()`.
    pub history: Vec<HistoryEntry>,
}

/// Everything one operation writes, applied all or nothing by
/// [`super::Store::transact`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// One change per card number, in first-touch order.
    pub cards: Vec<(String, CardChange)>,
    pub contacts: Vec<ContactWrite>,
    /// Contact code → the full list of its card numbers.
    pub contact_cards: Vec<(String, Vec<String>)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.cards.is_empty() && self.contacts.is_empty() && self.contact_cards.is_empty()
    }

    /// The change of card `number`, created empty on first use.
    pub fn card_change(&mut self, number: &str) -> &mut CardChange {
        let i = match self.cards.iter().position(|(n, _)| n == number) {
            Some(i) => i,
            None => {
                self.cards.push((number.to_string(), CardChange::default()));
                self.cards.len() - 1
            }
        };
        &mut self.cards[i].1
    }

    /// Writes the card's record (the last write of a number wins).
    pub fn put_card(&mut self, record: CardRecord) {
        let number = record.number.clone();
        self.card_change(&number).record = Some(record);
    }

    /// Replaces the card's lots with `lots`.
    pub fn put_lots(&mut self, number: &str, lots: Vec<Lot>) {
        self.card_change(number).lots = Some(lots);
    }

    /// Appends an entry to the card's history; the caller advances the
    /// record's `history_len` and puts the record.
    pub fn push_history(&mut self, number: &str, entry: HistoryEntry) {
        self.card_change(number).history.push(entry);
    }

    pub fn put_contact(&mut self, write: ContactWrite) {
        self.contacts.push(write);
    }

    pub fn put_contact_cards(&mut self, code: &str, numbers: Vec<String>) {
        self.contact_cards.push((code.to_string(), numbers));
    }

    /// Checks the invariant of [`CardChange::history`] that needs no store:
    /// history comes with a record. Engines check the rest.
    pub fn history_has_records(&self) -> bool {
        self.cards.iter().all(|(n, c)| {
            c.history.is_empty()
                || c.record.as_ref().is_some_and(|r| &r.number == n && r.history_len >= c.history.len() as u64)
        })
    }
}
