//! Persistent state: cards, contacts, their indexes, bonus lots and history.
//!
//! The store knows nothing of rules or HTTP. It offers point reads and one
//! atomic `commit` of a [`Batch`]; the card service decides what goes into a
//! batch. `sync` makes everything committed so far durable, and concurrent
//! callers share one flush (group commit).

mod sled_store;
pub use sled_store::{SledStore, SyncStats};

pub use crate::domain::Lot;
use crate::domain::{CardType, Category, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored record `{key}` is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("the store is closed")]
    Closed,
    /// A commit failed half way; its batch is completed when the store is
    /// next opened, and until then no commit is accepted.
    #[error("an earlier commit failed half way ({0}); reopen the store to complete it")]
    Unfinished(String),
}

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

/// Everything one operation writes, applied atomically by [`Store::commit`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub cards: Vec<CardRecord>,
    pub contacts: Vec<ContactWrite>,
    /// Contact code → the full list of its card numbers.
    pub contact_cards: Vec<(String, Vec<String>)>,
    /// Card number → the full list of its lots.
    pub lots: Vec<(String, Vec<Lot>)>,
    /// Card number, sequence, entry.
    pub history: Vec<(String, u64, HistoryEntry)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
            && self.contacts.is_empty()
            && self.contact_cards.is_empty()
            && self.lots.is_empty()
            && self.history.is_empty()
    }
}

/// The seam where a second storage engine plugs in.
pub trait Store: Send + Sync {
    fn card(&self, number: &str) -> Result<Option<CardRecord>, StoreError>;
    fn contact(&self, code: &str) -> Result<Option<ContactRecord>, StoreError>;
    fn contact_by_mobile(&self, e164: &str) -> Result<Option<ContactRecord>, StoreError>;
    /// The numbers of the cards bound to a contact (empty when none).
    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError>;
    fn lots(&self, number: &str) -> Result<Vec<Lot>, StoreError>;
    /// A card's history, oldest first.
    fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError>;
    /// Applies every write in the batch, all or nothing: after a crash either
    /// the whole batch is there or none of it. Not yet durable (see `sync`).
    /// Readers running concurrently may see some of its writes before others.
    fn commit(&self, batch: &Batch) -> Result<(), StoreError>;
    /// Returns once everything committed before the call is on disk.
    /// Concurrent callers share one flush.
    fn sync(&self) -> Result<(), StoreError>;
    /// One state change, read-decide-write, returning once it is durable.
    ///
    /// `op` runs exactly once, alone: every batch committed before it is
    /// visible to the reads it makes through this store, and no other
    /// `transact` or `commit` writes between those reads and the batch it
    /// returns (`None`: nothing to write, e.g. a refused call). That batch
    /// is committed all or nothing, and this returns once it — and
    /// everything committed before it — is on disk. A panic in `op` comes
    /// back out of this call, with nothing of its batch written.
    ///
    /// `op` may run on another caller's thread (which is why it must be
    /// `Send`), and it must not call `commit`, `sync` or `transact` itself.
    fn transact(&self, op: &mut (dyn FnMut() -> Option<Batch> + Send)) -> Result<(), StoreError>;
    /// How many cards are stored.
    fn card_count(&self) -> usize;
}

mod mem;
pub use mem::MemStore;
