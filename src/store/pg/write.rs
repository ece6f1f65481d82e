//! Writing a [`Batch`] inside the operation's transaction, a few statements
//! per batch however many rows it has: each table's rows go as arrays, one
//! per column, unpacked by `unnest` (an import's batch of 1000 rows, or a
//! copy's, is then a handful of round trips, not thousands). Every check of
//! a card change runs against its row locked here, so a refused batch is
//! rolled back whole with the rest of the transaction.

use super::errors;
use super::sql::Statements;
use crate::store::{name_key, Batch, CardChange, CardRecord, Lot, StoreError};
use postgres::types::{Json, ToSql};
use postgres::Transaction;
use std::collections::{HashMap, HashSet};

fn bad_change(number: &str, why: &str) -> StoreError {
    StoreError::engine(format!("writing card {number}"), std::io::Error::other(why.to_string()))
}

fn len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

type Param<'a> = &'a (dyn ToSql + Sync);

/// The last of the items sharing a key, in the order those last ones come:
/// one statement may not write a row twice, and the last write wins.
fn last_per_key<T>(items: &[T], key: impl Fn(&T) -> &str) -> Vec<&T> {
    let mut seen = HashSet::new();
    let mut out: Vec<&T> = items.iter().rev().filter(|t| seen.insert(key(t).to_string())).collect();
    out.reverse();
    out
}

pub(super) fn apply(tx: &mut Transaction<'_>, st: &Statements, batch: &Batch) -> Result<(), StoreError> {
    contacts(tx, st, batch)?;
    receipts(tx, st, batch)?;
    contact_cards(tx, st, batch)?;
    // A card changed twice in one batch: the second change builds on the
    // first, so each run of distinct numbers is written before the next.
    let mut start = 0;
    let mut numbers = HashSet::new();
    for (i, (number, _)) in batch.cards.iter().enumerate() {
        if !numbers.insert(number.as_str()) {
            cards(tx, st, &batch.cards[start..i])?;
            start = i;
            numbers = HashSet::from([number.as_str()]);
        }
    }
    cards(tx, st, &batch.cards[start..])
}

fn run(tx: &mut Transaction<'_>, st: &postgres::Statement, params: &[Param<'_>], what: &str) -> Result<(), StoreError> {
    tx.execute(st, params).map(drop).map_err(|e| errors::map(what, e))
}

fn contacts(tx: &mut Transaction<'_>, st: &Statements, batch: &Batch) -> Result<(), StoreError> {
    // The phone index is the unique `mobile` column: it moves with the
    // record, so `old_mobile` is not needed here.
    let writes = last_per_key(&batch.contacts, |w| &w.record.code);
    if writes.is_empty() {
        return Ok(());
    }
    let codes: Vec<&str> = writes.iter().map(|w| w.record.code.as_str()).collect();
    let mobiles: Vec<Option<&str>> = writes.iter().map(|w| w.record.mobile.as_deref()).collect();
    let keys: Vec<String> = writes.iter().map(|w| name_key(&w.record.name)).collect();
    let recs: Vec<Json<_>> = writes.iter().map(|w| Json(&w.record)).collect();
    run(tx, &st.upsert_contacts, &[&codes, &mobiles, &keys, &recs], "writing contacts")
}

fn receipts(tx: &mut Transaction<'_>, st: &Statements, batch: &Batch) -> Result<(), StoreError> {
    let receipts = last_per_key(&batch.receipts, |r| &r.id);
    if receipts.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = receipts.iter().map(|r| r.id.as_str()).collect();
    let cards: Vec<&str> = receipts.iter().map(|r| r.card.as_str()).collect();
    let recs: Vec<Json<_>> = receipts.iter().map(Json).collect();
    run(tx, &st.upsert_receipts, &[&ids, &cards, &recs], "writing receipts")
}

fn contact_cards(tx: &mut Transaction<'_>, st: &Statements, batch: &Batch) -> Result<(), StoreError> {
    let lists = last_per_key(&batch.contact_cards, |(code, _)| code);
    if lists.is_empty() {
        return Ok(());
    }
    let codes: Vec<&str> = lists.iter().map(|(code, _)| code.as_str()).collect();
    let numbers: Vec<Json<&Vec<String>>> = lists.iter().map(|(_, n)| Json(n)).collect();
    run(tx, &st.upsert_contact_cards, &[&codes, &numbers], "writing contacts' cards")
}

/// A card's row as the insert and update statements take it, column by column.
#[derive(Default)]
struct CardRows<'a> {
    numbers: Vec<&'a str>,
    statuses: Vec<&'static str>,
    contacts: Vec<Option<&'a str>>,
    lens: Vec<i64>,
    recs: Vec<Json<&'a CardRecord>>,
    lots: Vec<Option<Json<&'a Vec<Lot>>>>,
}

impl<'a> CardRows<'a> {
    fn push(&mut self, number: &'a str, rec: &'a CardRecord, lots: Option<&'a Vec<Lot>>) {
        self.numbers.push(number);
        self.statuses.push(rec.status.code());
        self.contacts.push(rec.contact.as_deref());
        self.lens.push(i64::try_from(rec.history_len).unwrap_or(i64::MAX));
        self.recs.push(Json(rec));
        self.lots.push(lots.map(Json));
    }

    fn write(&self, tx: &mut Transaction<'_>, st: &postgres::Statement) -> Result<(), StoreError> {
        if self.numbers.is_empty() {
            return Ok(());
        }
        let params: [Param<'_>; 6] =
            [&self.numbers, &self.statuses, &self.contacts, &self.lens, &self.recs, &self.lots];
        run(tx, st, &params, "writing cards")
    }
}

/// The history lengths of the stored cards among `changes`, their rows
/// locked until the transaction ends.
fn lock_cards(
    tx: &mut Transaction<'_>,
    st: &Statements,
    changes: &[(String, CardChange)],
) -> Result<HashMap<String, i64>, StoreError> {
    let numbers: Vec<&str> = changes.iter().map(|(n, _)| n.as_str()).collect();
    let rows = tx.query(&st.lock_cards, &[&numbers]).map_err(|e| errors::map("reading cards", e))?;
    Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1))).collect())
}

/// Writes card changes with distinct numbers.
fn cards(tx: &mut Transaction<'_>, st: &Statements, changes: &[(String, CardChange)]) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let stored = lock_cards(tx, st, changes)?;
    let (mut inserts, mut updates) = (CardRows::default(), CardRows::default());
    let (mut lot_numbers, mut lot_lists) = (Vec::new(), Vec::new());
    let (mut h_numbers, mut h_seqs, mut h_entries) = (Vec::new(), Vec::new(), Vec::new());
    for (number, change) in changes {
        let stored_len = stored.get(number).copied();
        let added = len(change.history.len());
        match (&change.record, stored_len) {
            (None, None) => return Err(bad_change(number, "lots for a card that does not exist")),
            (None, Some(_)) => {
                if added != 0 {
                    return Err(bad_change(number, "history out of sequence"));
                }
                if let Some(lots) = &change.lots {
                    lot_numbers.push(number.as_str());
                    lot_lists.push(Json(lots));
                }
            }
            (Some(rec), stored_len) => {
                let history_len = i64::try_from(rec.history_len).unwrap_or(i64::MAX);
                if history_len != stored_len.unwrap_or(0) + added {
                    return Err(bad_change(number, "history out of sequence"));
                }
                let rows = if stored_len.is_some() { &mut updates } else { &mut inserts };
                rows.push(number, rec, change.lots.as_ref());
            }
        }
        for (i, entry) in change.history.iter().enumerate() {
            h_numbers.push(number.as_str());
            h_seqs.push(stored_len.unwrap_or(0) + len(i));
            h_entries.push(Json(entry));
        }
    }
    inserts.write(tx, &st.insert_cards)?;
    updates.write(tx, &st.update_cards)?;
    if !lot_numbers.is_empty() {
        run(tx, &st.update_lots, &[&lot_numbers, &lot_lists], "writing lots")?;
    }
    if !h_numbers.is_empty() {
        run(tx, &st.insert_history, &[&h_numbers, &h_seqs, &h_entries], "writing history")?;
    }
    Ok(())
}
