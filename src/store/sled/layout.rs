//! The sled engine's layout: which trees hold what, under which keys.
//!
//! | tree            | key                                        | value |
//! |-----------------|--------------------------------------------|-------|
//! | `cards`         | card number                                | the card record, its lots, a copy of its contact and its newest history entries ([`super::codec`]) |
//! | `contacts`      | contact code                               | [`ContactRecord`](crate::store::ContactRecord) |
//! | `phones`        | E.164 mobile                               | contact code (UTF-8) |
//! | `contact_cards` | contact code                               | the contact's card numbers |
//! | `history`       | number ++ `0x00` ++ seq (u64 big-endian)   | a chunk of older history entries from `seq` on |
//! | `receipts`      | receipt id                                 | [`ReceiptRecord`](crate::store::ReceiptRecord) |
//! | `contact_names` | name key ++ `0x00` ++ contact code         | empty: the name index |
//! | `intents`       | the one intent key                         | the redo intent of the last group ([`super::intent`]) |
//!
//! The history key puts the sequence big-endian after a `0x00` separator, so
//! sled's byte order is the order of writing (256 after 255) and a prefix scan
//! of `number ++ 0x00` never picks up a longer number that merely starts with
//! the same digits. The card status index is not a tree: it is kept in
//! memory ([`super::status_index`]). docs/storage.md explains the choices.

use crate::store::StoreError;

/// The trees a group's writes touch, by the one-byte code each carries in
/// an encoded intent (never renumber: it is on disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TreeId {
    Cards = 1,
    Contacts = 2,
    Phones = 3,
    ContactCards = 4,
    History = 5,
    Receipts = 6,
    ContactNames = 7,
}

impl TreeId {
    pub const COUNT: usize = 7;
    pub const ALL: [TreeId; TreeId::COUNT] = [
        TreeId::Cards,
        TreeId::Contacts,
        TreeId::Phones,
        TreeId::ContactCards,
        TreeId::History,
        TreeId::Receipts,
        TreeId::ContactNames,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TreeId::Cards => "cards",
            TreeId::Contacts => "contacts",
            TreeId::Phones => "phones",
            TreeId::ContactCards => "contact_cards",
            TreeId::History => "history",
            TreeId::Receipts => "receipts",
            TreeId::ContactNames => "contact_names",
        }
    }

    pub fn from_code(code: u8) -> Option<TreeId> {
        TreeId::ALL.into_iter().find(|t| *t as u8 == code)
    }

    /// Position in [`TreeId::ALL`] (and in per-tree arrays).
    pub fn index(self) -> usize {
        self as usize - 1
    }
}

pub const INTENTS_TREE: &str = "intents";

/// Entries a card's record carries at most (its *tail*); when it would hold
/// more, the oldest this many move to the history tree as one chunk.
pub const HISTORY_TAIL_MAX: usize = 8;

/// History key: number ++ 0x00 ++ seq as big-endian u64.
pub fn history_key(number: &str, seq: u64) -> Vec<u8> {
    let mut key = history_prefix(number);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

pub fn history_prefix(number: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(number.len() + 9);
    key.extend_from_slice(number.as_bytes());
    key.push(0);
    key
}

/// The sequence number in a history key under `prefix`.
pub fn history_seq(prefix: &[u8], key: &[u8]) -> Result<u64, StoreError> {
    match key.get(prefix.len()..).map(<[u8; 8]>::try_from) {
        Some(Ok(seq)) => Ok(u64::from_be_bytes(seq)),
        _ => Err(StoreError::Corrupt {
            key: format!("history/{}", String::from_utf8_lossy(key)),
            reason: format!("key is {} bytes, expected {}", key.len(), prefix.len() + 8),
        }),
    }
}

/// A key as a person reads it in an error message.
pub fn key_name(tree: TreeId, key: &[u8]) -> String {
    format!("{}/{}", tree.name(), String::from_utf8_lossy(key))
}

/// Name index key: the name key, `0x00`, the code. As a string it is also
/// the search cursor ([`crate::store::contact_cursor`]).
pub fn name_index_key(name: &str, code: &str) -> Vec<u8> {
    let mut key = crate::store::name_key(name).into_bytes();
    key.push(0);
    key.extend_from_slice(code.as_bytes());
    key
}
