//! Listing a whole table in key order, page by page
//! ([`crate::store::Store::scan`]): a range read of the table's primary key
//! from the cursor on; a page of cards brings its cards' history in one
//! more query.

use super::conn::Conn;
use super::errors;
use super::search::before_nul;
use super::sql::{json, Statements};
use crate::store::{scan_fetch, scan_page, FullCard, HistoryEntry, Page, StoreError, Stored, Table};
use std::collections::HashMap;

pub(super) fn scan(
    c: &mut Conn,
    st: &Statements,
    table: Table,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Stored>, StoreError> {
    let after = before_nul(after.unwrap_or(""));
    let n = i64::try_from(scan_fetch(limit)).unwrap_or(i64::MAX);
    let m = |e| errors::map("listing the store", e);
    let items = match table {
        Table::Contacts => {
            let rows = c.query(&st.scan_contacts, &[&after, &n]).map_err(m)?;
            rows.iter().map(|r| Ok(Stored::Contact(json(r, 1, r.get(0))?))).collect::<Result<_, StoreError>>()?
        }
        Table::ContactCards => {
            let rows = c.query(&st.scan_contact_cards, &[&after, &n]).map_err(m)?;
            rows.iter()
                .map(|r| {
                    let code: String = r.get(0);
                    match r.try_get(1) {
                        Ok(numbers) => Ok(Stored::ContactCards { code, numbers }),
                        Err(e) => Err(StoreError::Corrupt { key: code, reason: e.to_string() }),
                    }
                })
                .collect::<Result<_, StoreError>>()?
        }
        Table::Receipts => {
            let rows = c.query(&st.scan_receipts, &[&after, &n]).map_err(m)?;
            rows.iter()
                .map(|r| Ok(Stored::Receipt(Box::new(json(r, 1, r.get(0))?))))
                .collect::<Result<_, StoreError>>()?
        }
        Table::Cards => cards(c, st, after, n)?,
    };
    Ok(scan_page(items, limit))
}

fn cards(c: &mut Conn, st: &Statements, after: &str, n: i64) -> Result<Vec<Stored>, StoreError> {
    let m = |e| errors::map("listing the store", e);
    let rows = c.query(&st.scan_cards, &[&after, &n]).map_err(m)?;
    let numbers: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let mut history: HashMap<String, Vec<HistoryEntry>> = HashMap::new();
    for r in c.query(&st.scan_history, &[&numbers]).map_err(m)? {
        let number: String = r.get(0);
        let entry = json(&r, 1, &number)?;
        history.entry(number).or_default().push(entry);
    }
    rows.iter()
        .map(|r| {
            let number: &str = r.get(0);
            Ok(Stored::Card(Box::new(FullCard {
                record: json(r, 1, number)?,
                lots: json(r, 2, number)?,
                history: history.remove(number).unwrap_or_default(),
            })))
        })
        .collect()
}
