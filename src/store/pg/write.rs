//! Writing a [`Batch`] at the end of the operation's transaction, a few
//! statements per batch however many rows it has: each table's rows go as
//! arrays, one per column, unpacked by `unnest` (an import's batch of 1000
//! rows, or a copy's, is then a handful of statements, not thousands). The
//! statements are planned here and sent together with the COMMIT (see
//! `PgStore::run_tx`). Every check of a card change runs against its row
//! locked in this transaction: by the operation's read of it, or else by
//! [`lock_cards`]; a refused batch is rolled back whole with the rest of the
//! transaction.

use super::errors;
use super::sql::{Run, Statements};
use crate::store::{name_key, Batch, CardChange, CardRecord, Lot, StoreError};
use std::collections::{HashMap, HashSet};
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::Statement;

fn bad_change(number: &str, why: &str) -> StoreError {
    StoreError::engine(format!("writing card {number}"), std::io::Error::other(why.to_string()))
}

fn len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

type Owned<'a> = Box<dyn ToSql + Sync + 'a>;

/// One planned statement with its parameters.
pub(super) struct Write<'a> {
    pub st: &'a Statement,
    pub params: Vec<Owned<'a>>,
    pub what: &'static str,
}

fn write<'a>(st: &'a Statement, params: Vec<Owned<'a>>, what: &'static str) -> Write<'a> {
    Write { st, params, what }
}

/// A parameter the planned statement owns.
fn p<'a, T: ToSql + Sync + 'a>(t: T) -> Owned<'a> {
    Box::new(t)
}

/// The last of the items sharing a key, in the order those last ones come:
/// one statement may not write a row twice, and the last write wins.
fn last_per_key<T>(items: &[T], key: impl Fn(&T) -> &str) -> Vec<&T> {
    let mut seen = HashSet::new();
    let mut out: Vec<&T> = items.iter().rev().filter(|t| seen.insert(key(t).to_string())).collect();
    out.reverse();
    out
}

/// Locks the batch's cards that `stored` does not know (the operation did
/// not read them) and adds the history lengths of those that exist.
pub(super) fn lock_cards(
    tx: &mut dyn Run,
    st: &Statements,
    batch: &Batch,
    stored: &mut HashMap<String, i64>,
) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    let numbers: Vec<&str> =
        batch.cards.iter().map(|(n, _)| n.as_str()).filter(|n| !stored.contains_key(*n) && seen.insert(*n)).collect();
    if numbers.is_empty() {
        return Ok(());
    }
    let rows = tx.query(&st.lock_cards, &[&numbers]).map_err(|e| errors::map("reading cards", e))?;
    for r in rows {
        stored.insert(r.get::<_, String>(0), r.get::<_, i64>(1));
    }
    Ok(())
}

/// The statements that write `batch`, in order. `stored`: the history
/// length of every stored card the batch changes, each locked.
pub(super) fn plan<'a>(
    st: &'a Statements,
    batch: &'a Batch,
    mut stored: HashMap<String, i64>,
) -> Result<Vec<Write<'a>>, StoreError> {
    let mut out = Vec::new();
    contacts(st, batch, &mut out);
    receipts(st, batch, &mut out);
    contact_cards(st, batch, &mut out);
    // A card changed twice in one batch: the second change builds on the
    // first, so each run of distinct numbers is written before the next.
    let mut start = 0;
    let mut numbers = HashSet::new();
    for (i, (number, _)) in batch.cards.iter().enumerate() {
        if !numbers.insert(number.as_str()) {
            cards(st, &batch.cards[start..i], &mut stored, &mut out)?;
            start = i;
            numbers = HashSet::from([number.as_str()]);
        }
    }
    cards(st, &batch.cards[start..], &mut stored, &mut out)?;
    Ok(out)
}

fn contacts<'a>(st: &'a Statements, batch: &'a Batch, out: &mut Vec<Write<'a>>) {
    // The phone index is the unique `mobile` column: it moves with the
    // record, so `old_mobile` is not needed here.
    let writes = last_per_key(&batch.contacts, |w| &w.record.code);
    if writes.is_empty() {
        return;
    }
    let codes: Vec<&str> = writes.iter().map(|w| w.record.code.as_str()).collect();
    let mobiles: Vec<Option<&str>> = writes.iter().map(|w| w.record.mobile.as_deref()).collect();
    let keys: Vec<String> = writes.iter().map(|w| name_key(&w.record.name)).collect();
    let recs: Vec<Json<_>> = writes.iter().map(|w| Json(&w.record)).collect();
    out.push(write(&st.upsert_contacts, vec![p(codes), p(mobiles), p(keys), p(recs)], "writing contacts"));
}

fn receipts<'a>(st: &'a Statements, batch: &'a Batch, out: &mut Vec<Write<'a>>) {
    let receipts = last_per_key(&batch.receipts, |r| &r.id);
    if receipts.is_empty() {
        return;
    }
    let ids: Vec<&str> = receipts.iter().map(|r| r.id.as_str()).collect();
    let cards: Vec<&str> = receipts.iter().map(|r| r.card.as_str()).collect();
    let recs: Vec<Json<_>> = receipts.iter().map(|r| Json(*r)).collect();
    out.push(write(&st.upsert_receipts, vec![p(ids), p(cards), p(recs)], "writing receipts"));
}

fn contact_cards<'a>(st: &'a Statements, batch: &'a Batch, out: &mut Vec<Write<'a>>) {
    let lists = last_per_key(&batch.contact_cards, |(code, _)| code);
    if lists.is_empty() {
        return;
    }
    let codes: Vec<&str> = lists.iter().map(|(code, _)| code.as_str()).collect();
    let numbers: Vec<Json<&Vec<String>>> = lists.iter().map(|(_, n)| Json(n)).collect();
    out.push(write(&st.upsert_contact_cards, vec![p(codes), p(numbers)], "writing contacts' cards"));
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

    fn params(self) -> Vec<Owned<'a>> {
        vec![p(self.numbers), p(self.statuses), p(self.contacts), p(self.lens), p(self.recs), p(self.lots)]
    }

    fn write(self, st: &'a Statement, out: &mut Vec<Write<'a>>) {
        if self.numbers.is_empty() {
            return;
        }
        out.push(write(st, self.params(), "writing cards"));
    }
}

/// Plans the writes of card changes with distinct numbers; `stored` then
/// holds the lengths they leave.
fn cards<'a>(
    st: &'a Statements,
    changes: &'a [(String, CardChange)],
    stored: &mut HashMap<String, i64>,
    out: &mut Vec<Write<'a>>,
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let (mut inserts, mut updates) = (CardRows::default(), CardRows::default());
    let (mut lot_numbers, mut lot_lists) = (Vec::new(), Vec::new());
    let (mut h_numbers, mut h_seqs, mut h_entries) = (Vec::new(), Vec::new(), Vec::new());
    for (number, change) in changes {
        let stored_len = stored.get(number.as_str()).copied();
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
                stored.insert(number.clone(), history_len);
            }
        }
        for (i, entry) in change.history.iter().enumerate() {
            h_numbers.push(number.as_str());
            h_seqs.push(stored_len.unwrap_or(0) + len(i));
            h_entries.push(Json(entry));
        }
    }
    inserts.write(&st.insert_cards, out);
    if !lot_numbers.is_empty() {
        out.push(write(&st.update_lots, vec![p(lot_numbers), p(lot_lists)], "writing lots"));
    }
    // The usual change of a stored card (Block, a sale): its row and its
    // new history entries in one statement.
    let no_history = h_numbers.is_empty();
    let history = vec![p(h_numbers), p(h_seqs), p(h_entries)];
    if updates.numbers.is_empty() || no_history {
        updates.write(&st.update_cards, out);
        if !no_history {
            out.push(write(&st.insert_history, history, "writing history"));
        }
    } else {
        let mut params = updates.params();
        params.extend(history);
        out.push(write(&st.update_cards_with_history, params, "writing cards and history"));
    }
    Ok(())
}
