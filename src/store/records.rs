//! What the store keeps, and the [`Batch`] of writes one operation makes.
//! Plain data: every engine stores these, none adds meaning to them.

pub use crate::domain::Lot;
use crate::domain::{Amount, CardType, Category, Status};
use chrono::NaiveDate;
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
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// One change per card number, in first-touch order.
    pub cards: Vec<(String, CardChange)>,
    pub contacts: Vec<ContactWrite>,
    /// Contact code → the full list of its card numbers.
    pub contact_cards: Vec<(String, Vec<String>)>,
    /// Receipts written whole (the last write of an id wins).
    pub receipts: Vec<ReceiptRecord>,
    /// Card number → its place in `cards`, so a batch of thousands of cards
    /// (an import) finds each in O(1), not by a scan per write. Rebuilt
    /// when `cards` was changed directly (its length then differs).
    card_index: std::collections::HashMap<String, usize>,
}

/// Two batches are equal when they write the same; the index is a cache.
impl PartialEq for Batch {
    fn eq(&self, other: &Batch) -> bool {
        self.cards == other.cards
            && self.contacts == other.contacts
            && self.contact_cards == other.contact_cards
            && self.receipts == other.receipts
    }
}

impl Eq for Batch {}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.cards.is_empty() && self.contacts.is_empty() && self.contact_cards.is_empty() && self.receipts.is_empty()
    }

    /// The change of card `number`, created empty on first use.
    pub fn card_change(&mut self, number: &str) -> &mut CardChange {
        if self.card_index.len() != self.cards.len() {
            self.card_index = self.cards.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
        }
        let i = match self.card_index.get(number) {
            Some(&i) => i,
            None => {
                self.cards.push((number.to_string(), CardChange::default()));
                self.card_index.insert(number.to_string(), self.cards.len() - 1);
                self.cards.len() - 1
            }
        };
        debug_assert_eq!(self.cards[i].0, number, "the card index points at its card");
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

    pub fn put_receipt(&mut self, receipt: ReceiptRecord) {
        self.receipts.retain(|r| r.id != receipt.id);
        self.receipts.push(receipt);
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

/// Where a receipt stands (SPEC §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReceiptState {
    Confirmed,
    PartiallyReturned,
    Returned,
    Cancelled,
}

impl ReceiptState {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            ReceiptState::Confirmed => "confirmed",
            ReceiptState::PartiallyReturned => "partially_returned",
            ReceiptState::Returned => "returned",
            ReceiptState::Cancelled => "cancelled",
        }
    }
}

/// One line of a receipt with what the sale and its reversals did to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptLine {
    pub position: u32,
    pub amount: Amount,
    pub category: Option<String>,
    /// Bonuses this line was paid with.
    pub redeemed: Amount,
    /// Bonuses this line earned.
    pub accrued: Amount,
    /// Money returned so far.
    pub returned: Amount,
    /// Accrual taken back so far.
    pub reversed: Amount,
    /// Redemption given back so far.
    pub restored: Amount,
}

/// A part of a lot that Confirm redeemed (what was given back of the
/// portions is the receipt's `restored`, from the last portion backwards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemedPortion {
    pub amount: Amount,
    /// The ExpireDate of the lot it was taken from.
    pub expire: Option<NaiveDate>,
}

/// What one reversal (a Return or the Cancel) did, as its answer says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reversal {
    pub time: String,
    pub user: String,
    /// The card reversed (the replacement card when the receipt's card was
    /// replaced meanwhile).
    pub number: String,
    pub reversed: Amount,
    pub restored: Amount,
    pub unrecovered: Amount,
    /// The card's active balance right after it.
    pub active_balance: Amount,
}

/// A Return by its id: the lines brought back and what it did per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRecord {
    pub id: String,
    /// (Position, Amount) as requested.
    pub lines: Vec<(u32, Amount)>,
    /// (Position, reversed, restored) per requested line.
    pub done: Vec<(u32, Amount, Amount)>,
    pub reversal: Reversal,
}

/// A sale as kept: everything Receipt shows, and what a replayed Confirm,
/// Cancel or Return answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRecord {
    pub id: String,
    /// The card the sale was made on.
    pub card: String,
    pub state: ReceiptState,
    pub time: String,
    pub user: String,
    /// R: what was redeemed.
    pub redeemed: Amount,
    pub accrued: Amount,
    /// The accrued lot's dates (`None` when nothing was accrued).
    pub accrued_from: Option<NaiveDate>,
    pub accrued_expire: Option<NaiveDate>,
    /// The card's active balance right after the Confirm.
    pub active_balance: Amount,
    pub lines: Vec<ReceiptLine>,
    /// In the order taken.
    pub portions: Vec<RedeemedPortion>,
    /// Totals so far over every reversal.
    pub reversed: Amount,
    pub restored: Amount,
    pub unrecovered: Amount,
    pub returns: Vec<ReturnRecord>,
    pub cancel: Option<Reversal>,
}

/// A contact search (SPEC issue 13): the store answers from an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactQuery {
    /// Codes starting with this (exactly, case-sensitive).
    CodePrefix(String),
    /// Names whose [`name_key`] starts with this prefix's key.
    NamePrefix(String),
}

/// A card search, from an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardQuery {
    Status(Status),
}

/// One page of search results; `next` is the cursor for the page after
/// (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The form a name is searched by: lower-case (Unicode, so Cyrillic
/// too), surrounding space trimmed, inner runs of space one space. Engines
/// index this, computed here, so every engine finds the same contacts.
pub fn name_key(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    words.join(" ").to_lowercase().chars().filter(|c| !c.is_control()).collect()
}

/// The cursor of a contact in a search's order: its code for a code
/// search; name key, `\u{0}`, code for a name search.
pub fn contact_cursor(query: &ContactQuery, c: &ContactRecord) -> String {
    match query {
        ContactQuery::CodePrefix(_) => c.code.clone(),
        ContactQuery::NamePrefix(_) => format!("{}\u{0}{}", name_key(&c.name), c.code),
    }
}

/// The tables a whole store is listed by ([`super::Store::scan`]), in the
/// order `cashdesk store copy` writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Contacts,
    /// Contact code → its card numbers (the card↔contact binding).
    ContactCards,
    /// Cards with their lots and whole history.
    Cards,
    Receipts,
}

impl Table {
    pub const ALL: [Table; 4] = [Table::Contacts, Table::ContactCards, Table::Cards, Table::Receipts];

    /// The name people read in messages and progress bars.
    pub fn name(self) -> &'static str {
        match self {
            Table::Contacts => "contacts",
            Table::ContactCards => "bindings",
            Table::Cards => "cards",
            Table::Receipts => "receipts",
        }
    }
}

/// A card with everything stored under its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullCard {
    pub record: CardRecord,
    pub lots: Vec<Lot>,
    /// Oldest first; as long as the record's `history_len`.
    pub history: Vec<HistoryEntry>,
}

/// One record of a [`Table`] as [`super::Store::scan`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Contact(ContactRecord),
    ContactCards { code: String, numbers: Vec<String> },
    Card(Box<FullCard>),
    Receipt(Box<ReceiptRecord>),
}

impl Stored {
    /// The record's key in its table: code, number or receipt id (the
    /// scan's cursor).
    pub fn key(&self) -> &str {
        match self {
            Stored::Contact(c) => &c.code,
            Stored::ContactCards { code, .. } => code,
            Stored::Card(c) => &c.record.number,
            Stored::Receipt(r) => &r.id,
        }
    }

    /// Adds the record to `batch` as written into an empty store: a contact
    /// with no earlier mobile (its phone index entry follows its mobile), a
    /// card created with its lots and whole history.
    pub fn put_into(self, batch: &mut Batch) {
        match self {
            Stored::Contact(record) => batch.put_contact(ContactWrite { record, old_mobile: None }),
            Stored::ContactCards { code, numbers } => batch.put_contact_cards(&code, numbers),
            Stored::Card(card) => {
                let FullCard { record, lots, history } = *card;
                let number = record.number.clone();
                batch.put_lots(&number, lots);
                batch.card_change(&number).history = history;
                batch.put_card(record);
            }
            Stored::Receipt(r) => batch.put_receipt(*r),
        }
    }
}

/// The page of `items` (in key order, at most [`scan_fetch`]`(limit)` of
/// them) a scan answers: the first `limit` (at least one), and the cursor
/// of the last when more follow.
pub fn scan_page(mut items: Vec<Stored>, limit: usize) -> Page<Stored> {
    let limit = limit.max(1);
    debug_assert!(items.windows(2).all(|w| w[0].key() < w[1].key()), "a scan lists keys in order");
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|s| s.key().to_string())
    } else {
        None
    };
    Page { items, next }
}

/// How many records a scan reads to answer a page of `limit`: one more,
/// to tell whether a page follows.
pub fn scan_fetch(limit: usize) -> usize {
    limit.max(1).saturating_add(1)
}
