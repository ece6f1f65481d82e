//! Writing a [`Batch`] inside the operation's transaction. Every check of
//! a card change runs against its row locked here, so a refused batch is
//! rolled back whole with the rest of the transaction.

use super::errors;
use super::sql::Statements;
use crate::store::{name_key, Batch, StoreError};
use postgres::types::Json;
use postgres::Transaction;

fn bad_change(number: &str, why: &str) -> StoreError {
    StoreError::engine(format!("writing card {number}"), std::io::Error::other(why.to_string()))
}

fn len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn apply(tx: &mut Transaction<'_>, st: &Statements, batch: &Batch) -> Result<(), StoreError> {
    let m = |what: &'static str| move |e| errors::map(what, e);
    for w in &batch.contacts {
        let r = &w.record;
        // The phone index is the unique `mobile` column: it moves with the
        // record, so `old_mobile` is not needed here.
        tx.execute(&st.upsert_contact, &[&r.code, &r.mobile, &name_key(&r.name), &Json(r)])
            .map_err(m("writing a contact"))?;
    }
    for r in &batch.receipts {
        tx.execute(&st.upsert_receipt, &[&r.id, &r.card, &Json(r)]).map_err(m("writing a receipt"))?;
    }
    for (code, numbers) in &batch.contact_cards {
        tx.execute(&st.upsert_contact_cards, &[code, numbers]).map_err(m("writing a contact's cards"))?;
    }
    for (number, change) in &batch.cards {
        let stored: Option<i64> =
            tx.query_opt(&st.card_len, &[number]).map_err(m("reading a card"))?.map(|row| row.get(0));
        let added = len(change.history.len());
        let stored_len = stored.unwrap_or(0);
        let lots = change.lots.as_ref().map(Json);
        match (&change.record, stored) {
            (None, None) => return Err(bad_change(number, "lots for a card that does not exist")),
            (None, Some(_)) => {
                if added != 0 {
                    return Err(bad_change(number, "history out of sequence"));
                }
                if let Some(lots) = &lots {
                    tx.execute(&st.update_lots, &[number, lots]).map_err(m("writing lots"))?;
                }
            }
            (Some(rec), stored) => {
                let history_len = i64::try_from(rec.history_len).unwrap_or(i64::MAX);
                if history_len != stored_len + added {
                    return Err(bad_change(number, "history out of sequence"));
                }
                let params: [&(dyn postgres::types::ToSql + Sync); 6] =
                    [number, &rec.status.code(), &rec.contact, &history_len, &Json(rec), &lots];
                let st = if stored.is_some() { &st.update_card } else { &st.insert_card };
                tx.execute(st, &params).map_err(m("writing a card"))?;
            }
        }
        for (i, entry) in change.history.iter().enumerate() {
            let seq = stored_len + len(i);
            tx.execute(&st.insert_history, &[number, &seq, &Json(entry)]).map_err(m("writing history"))?;
        }
    }
    Ok(())
}
