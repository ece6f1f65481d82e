//! An in-memory [`Store`]: the second engine the trait exists for, and the
//! store of tests and of the demo. Nothing is durable; `sync` is a no-op.

use super::{Batch, CardRecord, ContactRecord, HistoryEntry, Lot, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// Everything the store holds, behind one mutex so a batch is applied
/// atomically: a reader sees all of a commit or none of it.
#[derive(Debug, Default)]
struct Tables {
    cards: BTreeMap<String, CardRecord>,
    contacts: BTreeMap<String, ContactRecord>,
    /// E.164 mobile → contact code.
    phones: BTreeMap<String, String>,
    contact_cards: BTreeMap<String, Vec<String>>,
    lots: BTreeMap<String, Vec<Lot>>,
    /// (card number, sequence) → entry; the key order is history order.
    history: BTreeMap<(String, u64), HistoryEntry>,
}

/// A [`Store`] kept in memory (`Mutex` of `BTreeMap`s).
#[derive(Debug, Default)]
pub struct MemStore {
    tables: Mutex<Tables>,
    /// Held through a whole [`Store::transact`], so its reads and its
    /// commit are not interleaved with another one's.
    writer: Mutex<()>,
}

impl MemStore {
    pub fn new() -> MemStore {
        MemStore::default()
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // Commits apply in memory without any fallible step, so a panic
        // elsewhere cannot leave half a batch behind; a poisoned lock is safe.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many contacts are stored (for tests and tools).
    pub fn contact_count(&self) -> usize {
        self.tables().contacts.len()
    }
}

impl Store for MemStore {
    fn card(&self, number: &str) -> Result<Option<CardRecord>, StoreError> {
        Ok(self.tables().cards.get(number).cloned())
    }

    fn contact(&self, code: &str) -> Result<Option<ContactRecord>, StoreError> {
        Ok(self.tables().contacts.get(code).cloned())
    }

    fn contact_by_mobile(&self, e164: &str) -> Result<Option<ContactRecord>, StoreError> {
        let t = self.tables();
        Ok(t.phones.get(e164).and_then(|code| t.contacts.get(code)).cloned())
    }

    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.tables().contact_cards.get(code).cloned().unwrap_or_default())
    }

    fn lots(&self, number: &str) -> Result<Vec<Lot>, StoreError> {
        Ok(self.tables().lots.get(number).cloned().unwrap_or_default())
    }

    fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let t = self.tables();
        let from = (number.to_string(), 0);
        let to = (number.to_string(), u64::MAX);
        Ok(t.history.range(from..=to).map(|(_, e)| e.clone()).collect())
    }

    fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut t = self.tables();
        for card in &batch.cards {
            t.cards.insert(card.number.clone(), card.clone());
        }
        for w in &batch.contacts {
            let code = &w.record.code;
            let new = w.record.mobile.as_deref();
            // Move the phone index entry: drop the old number only while it
            // still names this contact (another contact of the same batch may
            // have taken it already), then point the new number here.
            if let Some(old) = w.old_mobile.as_deref().filter(|old| Some(*old) != new) {
                if t.phones.get(old) == Some(code) {
                    t.phones.remove(old);
                }
            }
            if let Some(new) = new {
                t.phones.insert(new.to_string(), code.clone());
            }
            t.contacts.insert(code.clone(), w.record.clone());
        }
        for (code, numbers) in &batch.contact_cards {
            t.contact_cards.insert(code.clone(), numbers.clone());
        }
        for (number, lots) in &batch.lots {
            t.lots.insert(number.clone(), lots.clone());
        }
        for (number, seq, entry) in &batch.history {
            t.history.insert((number.clone(), *seq), entry.clone());
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn transact(&self, op: &mut (dyn FnMut() -> Option<Batch> + Send)) -> Result<(), StoreError> {
        // `op` reads through `tables()`, a different mutex, so holding
        // `writer` here cannot deadlock. A panic in `op` poisons `writer`
        // having written nothing, so the poison is safe to ignore.
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        match op() {
            Some(batch) => self.commit(&batch),
            None => Ok(()),
        }
    }

    fn card_count(&self) -> usize {
        self.tables().cards.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CardType, Category, Status};
    use crate::store::ContactWrite;

    fn contact(code: &str, mobile: Option<&str>) -> ContactRecord {
        ContactRecord { code: code.into(), mobile: mobile.map(Into::into), ..Default::default() }
    }

    fn write(code: &str, mobile: Option<&str>, old: Option<&str>) -> ContactWrite {
        ContactWrite { record: contact(code, mobile), old_mobile: old.map(Into::into) }
    }

    #[test]
    fn phone_index_moves_with_the_contact() {
        let s = MemStore::new();
        s.commit(&Batch { contacts: vec![write("a", Some("+79160000001"), None)], ..Default::default() }).unwrap();
        assert_eq!(s.contact_by_mobile("+79160000001").unwrap().unwrap().code, "a");
        s.commit(&Batch {
            contacts: vec![write("a", Some("+79160000002"), Some("+79160000001"))],
            ..Default::default()
        })
        .unwrap();
        assert!(s.contact_by_mobile("+79160000001").unwrap().is_none());
        assert_eq!(s.contact_by_mobile("+79160000002").unwrap().unwrap().code, "a");
    }

    #[test]
    fn a_number_taken_in_the_same_batch_survives_the_old_holders_move() {
        let s = MemStore::new();
        s.commit(&Batch { contacts: vec![write("a", Some("+79160000001"), None)], ..Default::default() }).unwrap();
        // b takes a's old number first; a's move must not drop b's entry.
        s.commit(&Batch {
            contacts: vec![
                write("b", Some("+79160000001"), None),
                write("a", Some("+79160000002"), Some("+79160000001")),
            ],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.contact_by_mobile("+79160000001").unwrap().unwrap().code, "b");
        assert_eq!(s.contact_by_mobile("+79160000002").unwrap().unwrap().code, "a");
        assert_eq!(s.contact_count(), 2);
    }

    #[test]
    fn history_is_per_card_in_sequence_order() {
        let s = MemStore::new();
        let entry = |r: &str| HistoryEntry {
            time: String::new(),
            user: "u".into(),
            role: "administrator".into(),
            method: "Admin".into(),
            from: None,
            to: Some(Status::New),
            reason: r.into(),
        };
        let card = CardRecord {
            number: "123456".into(),
            status: Status::New,
            category: Category::Plastic,
            card_type: CardType::Bonus,
            contact: None,
            block: None,
            history_len: 2,
        };
        s.commit(&Batch {
            cards: vec![card],
            history: vec![
                ("123456".into(), 1, entry("second")),
                ("1234567".into(), 0, entry("other card")),
                ("123456".into(), 0, entry("first")),
            ],
            ..Default::default()
        })
        .unwrap();
        let h: Vec<String> = s.history("123456").unwrap().into_iter().map(|e| e.reason).collect();
        assert_eq!(h, ["first", "second"]);
        assert_eq!(s.card_count(), 1);
        assert!(s.history("999999").unwrap().is_empty());
    }
}
