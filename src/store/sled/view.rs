//! Reading the sled engine's records, through a group's staged writes when
//! there is one: the handle an operation reads through on the leader, and
//! (without staged writes) the store's own reads.

use super::codec::{contact_part, decode, decode_chunk, decode_contact_copy, StoredCard};
use super::layout::{history_prefix, history_seq, TreeId};
use super::staged::Staged;
use super::trees::Trees;
use crate::store::{CardRecord, CardView, ContactRecord, HistoryEntry, Lot, ReceiptRecord, StoreError, StoreRead};
use std::cell::RefCell;
use std::collections::BTreeMap;

pub struct View<'a> {
    pub trees: &'a Trees,
    /// The group being built, whose writes this view sees first.
    pub staged: Option<&'a Staged>,
    /// Card values this job has read from sled, kept so that staging its
    /// batch does not read them again (see [`CardsRead`]).
    pub cards_read: Option<&'a CardsRead>,
}

/// The `cards` values one job on the leader read from sled (not from the
/// group's staged writes). Valid for the whole job: sled is written only
/// between jobs, by the same leader, so a value read during the job is
/// still sled's when the job's batch is staged.
pub type CardsRead = RefCell<Vec<(Vec<u8>, Option<sled::IVec>)>>;

impl View<'_> {
    /// Hands the current value of `key` to `f`: the group's staged write of
    /// it if there is one, else sled's.
    pub fn read<T>(
        &self,
        tree: TreeId,
        key: &[u8],
        f: impl FnOnce(Option<&[u8]>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match (self.staged.and_then(|s| s.get(tree, key)), self.cards_read) {
            (Some(value), _) => f(value),
            (None, Some(memo)) if tree == TreeId::Cards => f(self.sled_card(memo, key)?.as_deref()),
            (None, _) => f(self.trees.get(tree, key)?.as_deref()),
        }
    }

    /// A card's value from sled, read once per job.
    fn sled_card(&self, memo: &CardsRead, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        if let Some((_, value)) = memo.borrow().iter().find(|(k, _)| k == key) {
            return Ok(value.clone());
        }
        let value = self.trees.get(TreeId::Cards, key)?;
        memo.borrow_mut().push((key.to_vec(), value.clone()));
        Ok(value)
    }

    fn record<T: serde::de::DeserializeOwned>(&self, tree: TreeId, key: &str) -> Result<Option<T>, StoreError> {
        self.read(tree, key.as_bytes(), |b| b.map(|b| decode(tree, key.as_bytes(), b)).transpose())
    }

    /// The history tree's chunks for the card, by first sequence number,
    /// the group's staged chunks included.
    fn chunks(&self, number: &str) -> Result<BTreeMap<u64, Vec<HistoryEntry>>, StoreError> {
        let prefix = history_prefix(number);
        let mut raw: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for item in self.trees.tree(TreeId::History).scan_prefix(&prefix) {
            let (k, v) = item.map_err(|e| self.trees.error(e, "reading history"))?;
            raw.insert(k.to_vec(), Some(v.to_vec()));
        }
        if let Some(staged) = self.staged {
            for (k, v) in staged.with_prefix(TreeId::History, &prefix) {
                raw.insert(k.to_vec(), v.map(<[u8]>::to_vec));
            }
        }
        let mut chunks = BTreeMap::new();
        for (key, value) in raw {
            if let Some(value) = value {
                chunks.insert(history_seq(&prefix, &key)?, decode_chunk(&key, &value)?);
            }
        }
        Ok(chunks)
    }
}

impl StoreRead for View<'_> {
    fn card(&self, number: &str) -> Result<Option<CardRecord>, StoreError> {
        self.read(TreeId::Cards, number.as_bytes(), |b| b.map(|b| Ok(StoredCard::parse(number, b)?.record)).transpose())
    }

    fn contact(&self, code: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.record(TreeId::Contacts, code)
    }

    fn contact_by_mobile(&self, e164: &str) -> Result<Option<ContactRecord>, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { key: format!("phones/{e164}"), reason };
        let code = self.read(TreeId::Phones, e164.as_bytes(), |v| {
            v.map(|c| String::from_utf8(c.to_vec()).map_err(|e| corrupt(e.to_string()))).transpose()
        })?;
        let Some(code) = code else { return Ok(None) };
        // A group writes the contact before its index entry, and a crash
        // never leaves half a group, so an entry that points nowhere means
        // the data was damaged.
        match self.contact(&code)? {
            Some(contact) => Ok(Some(contact)),
            None => Err(corrupt(format!("points to contact `{code}`, which does not exist"))),
        }
    }

    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.record(TreeId::ContactCards, code)?.unwrap_or_default())
    }

    fn lots(&self, number: &str) -> Result<Vec<Lot>, StoreError> {
        Ok(self.card_and_lots(number)?.map(|(_, lots)| lots).unwrap_or_default())
    }

    /// The card's record and lots, in one read.
    fn card_and_lots(&self, number: &str) -> Result<Option<(CardRecord, Vec<Lot>)>, StoreError> {
        self.read(TreeId::Cards, number.as_bytes(), |b| {
            b.map(|b| {
                let stored = StoredCard::parse(number, b)?;
                let lots = stored.lots()?;
                Ok((stored.record, lots))
            })
            .transpose()
        })
    }

    /// The chunks older than the card's tail, then the tail. The card is
    /// read first: a group writes the chunk a tail sheds before the card
    /// without it, so every entry older than the tail read is in a chunk.
    fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let tail = self.read(TreeId::Cards, number.as_bytes(), |b| {
            b.map(|b| {
                let stored = StoredCard::parse(number, b)?;
                Ok((stored.tail_start, stored.tail_entries()?))
            })
            .transpose()
        })?;
        let Some((tail_start, tail)) = tail else { return Ok(Vec::new()) };
        let mut out = Vec::with_capacity(tail_start as usize + tail.len());
        for (start, chunk) in self.chunks(number)? {
            debug_assert_eq!(start as usize, out.len(), "history chunks are consecutive");
            out.extend(chunk.into_iter().take((tail_start.saturating_sub(start)) as usize));
            if out.len() as u64 >= tail_start {
                break;
            }
        }
        out.truncate(tail_start as usize);
        out.extend(tail);
        Ok(out)
    }

    fn receipt(&self, id: &str) -> Result<Option<ReceiptRecord>, StoreError> {
        self.record(TreeId::Receipts, id)
    }

    /// From the copy in the card's value (no read of the contact), when it
    /// is the contact `card` names; else from the contacts tree.
    fn bound_contact(&self, card: &CardRecord) -> Result<Option<ContactRecord>, StoreError> {
        let Some(code) = card.contact.as_deref() else { return Ok(None) };
        let number = card.number.as_str();
        let copy = self.read(TreeId::Cards, number.as_bytes(), |b| match b {
            Some(b) => decode_contact_copy(code, contact_part(number, b)?),
            None => Ok(None),
        })?;
        match copy {
            Some(contact) => Ok(Some(contact)),
            None => self.contact(code),
        }
    }

    /// One read: the card's value carries a copy of its contact.
    fn card_view(&self, number: &str) -> Result<Option<CardView>, StoreError> {
        self.read(TreeId::Cards, number.as_bytes(), |b| {
            b.map(|b| {
                let stored = StoredCard::parse(number, b)?;
                let (lots, contact) = (stored.lots()?, stored.contact()?);
                Ok(CardView { card: stored.record, contact, lots })
            })
            .transpose()
        })
    }
}
