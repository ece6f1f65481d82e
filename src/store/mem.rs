//! An in-memory [`Store`]: the store of tests, tools and the model-based
//! test. Nothing is durable; a change is applied under one mutex, so a
//! reader sees all of it or none.

use super::{
    contact_cursor, name_key, scan_fetch, scan_page, Batch, CardQuery, CardRecord, ContactQuery, ContactRecord,
    FullCard, HistoryEntry, Lot, Operation, Page, ReceiptRecord, Sink, SnapshotItem, SnapshotPart, Store, StoreError,
    StoreRead, Stored, Table,
};
use crate::domain::Status;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

/// Everything the store holds.
#[derive(Debug, Default)]
struct Tables {
    cards: BTreeMap<String, CardRecord>,
    contacts: BTreeMap<String, ContactRecord>,
    /// E.164 mobile → contact code.
    phones: BTreeMap<String, String>,
    contact_cards: BTreeMap<String, Vec<String>>,
    lots: BTreeMap<String, Vec<Lot>>,
    history: BTreeMap<String, Vec<HistoryEntry>>,
    receipts: BTreeMap<String, ReceiptRecord>,
    /// (name key, code): the name index.
    names: BTreeSet<(String, String)>,
    /// (status, number): the status index.
    statuses: BTreeSet<(Status, String)>,
}

impl Tables {
    /// Refuses a batch that breaks a card change's invariant, before any
    /// of it is applied.
    fn check(&self, batch: &Batch) -> Result<(), StoreError> {
        for (number, change) in &batch.cards {
            let stored = self.cards.get(number);
            let Some(record) = change.record.as_ref().or(stored) else {
                return Err(bad_change(number, "lots for a card that does not exist"));
            };
            if record.history_len != stored.map_or(0, |c| c.history_len) + change.history.len() as u64 {
                return Err(bad_change(number, "history out of sequence"));
            }
        }
        Ok(())
    }

    /// Applies a batch that passed [`Tables::check`].
    fn apply(&mut self, batch: &Batch) {
        for w in &batch.contacts {
            let code = &w.record.code;
            let new = w.record.mobile.as_deref();
            // Drop the old number only while it still names this contact
            // (another contact of the same batch may have taken it).
            if let Some(old) = w.old_mobile.as_deref().filter(|old| Some(*old) != new) {
                if self.phones.get(old) == Some(code) {
                    self.phones.remove(old);
                }
            }
            if let Some(new) = new {
                self.phones.insert(new.to_string(), code.clone());
            }
            if let Some(old) = self.contacts.insert(code.clone(), w.record.clone()) {
                self.names.remove(&(name_key(&old.name), old.code));
            }
            self.names.insert((name_key(&w.record.name), code.clone()));
        }
        for r in &batch.receipts {
            self.receipts.insert(r.id.clone(), r.clone());
        }
        for (code, numbers) in &batch.contact_cards {
            self.contact_cards.insert(code.clone(), numbers.clone());
        }
        for (number, change) in &batch.cards {
            self.history.entry(number.clone()).or_default().extend(change.history.iter().cloned());
            if let Some(lots) = &change.lots {
                self.lots.insert(number.clone(), lots.clone());
            }
            if let Some(record) = &change.record {
                if let Some(old) = self.cards.insert(number.clone(), record.clone()) {
                    self.statuses.remove(&(old.status, old.number));
                }
                self.statuses.insert((record.status, number.clone()));
            }
        }
    }
}

fn bad_change(number: &str, why: &str) -> StoreError {
    StoreError::engine(format!("writing card {number}"), std::io::Error::other(why.to_string()))
}

/// A [`Store`] kept in memory.
#[derive(Debug, Default)]
pub struct MemStore {
    tables: Mutex<Tables>,
    /// Held through a whole [`Store::transact`], so its reads and its
    /// write are not interleaved with another one's.
    writer: Mutex<()>,
}

impl MemStore {
    pub fn new() -> MemStore {
        MemStore::default()
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // Applying a checked batch has no fallible step, so a panic
        // elsewhere cannot leave half a batch behind; a poisoned lock is safe.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many contacts are stored (for tests and tools).
    pub fn contact_count(&self) -> usize {
        self.tables().contacts.len()
    }
}

impl StoreRead for MemStore {
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
        Ok(self.tables().history.get(number).cloned().unwrap_or_default())
    }
    fn receipt(&self, id: &str) -> Result<Option<ReceiptRecord>, StoreError> {
        Ok(self.tables().receipts.get(id).cloned())
    }
}

/// The first `limit` of `items` (in cursor order) after `after`.
fn page<T>(items: impl Iterator<Item = (String, T)>, after: Option<&str>, limit: usize) -> Page<T> {
    let mut out: Vec<(String, T)> =
        items.filter(|(k, _)| after.is_none_or(|a| k.as_str() > a)).take(limit + 1).collect();
    let next = if out.len() > limit {
        out.truncate(limit);
        out.last().map(|(k, _)| k.clone())
    } else {
        None
    };
    Page { items: out.into_iter().map(|(_, v)| v).collect(), next }
}

impl Store for MemStore {
    fn transact(&self, op: &mut Operation<'_>) -> Result<(), StoreError> {
        // `op` reads through `tables()`, a different mutex, so holding
        // `writer` cannot deadlock. A panic in `op` poisons `writer` having
        // written nothing, so the poison is safe to ignore.
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(batch) = op(self)? else { return Ok(()) };
        let mut t = self.tables();
        t.check(&batch)?;
        t.apply(&batch);
        Ok(())
    }

    fn card_count(&self) -> Result<u64, StoreError> {
        Ok(self.tables().cards.len() as u64)
    }

    fn find_contacts(
        &self,
        query: &ContactQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ContactRecord>, StoreError> {
        let t = self.tables();
        let found: Vec<&ContactRecord> = match query {
            ContactQuery::CodePrefix(p) => {
                t.contacts.range(p.clone()..).take_while(|(k, _)| k.starts_with(p.as_str())).map(|(_, c)| c).collect()
            }
            ContactQuery::NamePrefix(p) => {
                let key = name_key(p);
                t.names
                    .range((key.clone(), String::new())..)
                    .take_while(|(n, _)| n.starts_with(&key))
                    .filter_map(|(_, code)| t.contacts.get(code))
                    .collect()
            }
        };
        Ok(page(found.into_iter().map(|c| (contact_cursor(query, c), c.clone())), after, limit))
    }

    fn find_cards(&self, query: &CardQuery, after: Option<&str>, limit: usize) -> Result<Page<CardRecord>, StoreError> {
        let t = self.tables();
        let CardQuery::Status(status) = *query;
        let found = t
            .statuses
            .range((status, String::new())..)
            .take_while(|(s, _)| *s == status)
            .filter_map(|(_, n)| t.cards.get(n))
            .map(|c| (c.number.clone(), c.clone()));
        Ok(page(found, after, limit))
    }

    /// A copy taken under the tables' lock: the state between two changes.
    fn snapshot(&self, part: SnapshotPart, sink: &mut Sink<'_>) -> Result<(), StoreError> {
        let items: Vec<SnapshotItem> = {
            let t = self.tables();
            match part {
                SnapshotPart::Contacts => t.contacts.values().cloned().map(SnapshotItem::Contact).collect(),
                SnapshotPart::Cards => t
                    .cards
                    .values()
                    .map(|c| SnapshotItem::Card(c.clone(), t.lots.get(&c.number).cloned().unwrap_or_default()))
                    .collect(),
                SnapshotPart::Receipts => {
                    t.receipts.values().map(|r| SnapshotItem::Receipt(Box::new(r.clone()))).collect()
                }
            }
        };
        items.into_iter().try_for_each(sink)
    }

    fn scan(&self, table: Table, after: Option<&str>, limit: usize) -> Result<Page<Stored>, StoreError> {
        let t = self.tables();
        let from = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.to_string()));
        let range = (from, Bound::Unbounded);
        let n = scan_fetch(limit);
        let items: Vec<Stored> = match table {
            Table::Contacts => t.contacts.range(range).take(n).map(|(_, c)| Stored::Contact(c.clone())).collect(),
            Table::ContactCards => t
                .contact_cards
                .range(range)
                .take(n)
                .map(|(code, numbers)| Stored::ContactCards { code: code.clone(), numbers: numbers.clone() })
                .collect(),
            Table::Cards => t
                .cards
                .range(range)
                .take(n)
                .map(|(number, record)| {
                    Stored::Card(Box::new(FullCard {
                        record: record.clone(),
                        lots: t.lots.get(number).cloned().unwrap_or_default(),
                        history: t.history.get(number).cloned().unwrap_or_default(),
                    }))
                })
                .collect(),
            Table::Receipts => {
                t.receipts.range(range).take(n).map(|(_, r)| Stored::Receipt(Box::new(r.clone()))).collect()
            }
        };
        Ok(scan_page(items, limit))
    }
}
