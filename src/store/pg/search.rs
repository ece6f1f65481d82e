//! The searches: contacts by code or name prefix, cards by status, each a
//! range scan of an index with a cursor, in the byte order (`COLLATE "C"`)
//! every engine uses.

use super::conn::Conn;
use super::errors;
use super::sql::{json, Statements};
use crate::store::{contact_cursor, name_key, CardQuery, CardRecord, ContactQuery, ContactRecord, Page, StoreError};

/// The least string greater than every string starting with `prefix`, if
/// any: the prefix with its last character raised by one.
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        while next <= 0x10FFFF {
            if let Some(c) = char::from_u32(next) {
                chars.push(c);
                return Some(chars.into_iter().collect());
            }
            next += 1;
        }
    }
    None
}

/// Text before a NUL: no stored key holds one, and for such keys `k > "a\0…"`
/// is the same as `k > "a"`.
pub(super) fn before_nul(s: &str) -> &str {
    s.split('\0').next().unwrap_or("")
}

fn limit_plus_one(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX - 1).saturating_add(1)
}

fn page<T>(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Page<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor)
    } else {
        None
    };
    Page { items, next }
}

pub(super) fn contacts(
    c: &mut Conn,
    st: &Statements,
    query: &ContactQuery,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<ContactRecord>, StoreError> {
    let n = limit_plus_one(limit);
    let m = |e| errors::map("searching contacts", e);
    let rows = match query {
        ContactQuery::CodePrefix(p) => {
            if p.contains('\0') {
                return Ok(Page { items: Vec::new(), next: None });
            }
            let after = before_nul(after.unwrap_or(""));
            match successor(p) {
                Some(hi) => c.query(&st.contacts_by_code, &[p, &hi, &after, &n]),
                None => c.query(&st.contacts_by_code_open, &[p, &after, &n]),
            }
            .map_err(m)?
        }
        ContactQuery::NamePrefix(p) => {
            let key = name_key(p);
            let (after_key, after_code) = match after {
                Some(a) => match a.split_once('\0') {
                    Some((k, code)) => (before_nul(k), before_nul(code)),
                    None => (a, ""),
                },
                None => ("", ""),
            };
            match successor(&key) {
                Some(hi) => c.query(&st.contacts_by_name, &[&key, &hi, &after_key, &after_code, &n]),
                None => c.query(&st.contacts_by_name_open, &[&key, &after_key, &after_code, &n]),
            }
            .map_err(m)?
        }
    };
    let items = rows.iter().map(|r| json(r, 0, "contact")).collect::<Result<Vec<ContactRecord>, _>>()?;
    Ok(page(items, limit, |c| contact_cursor(query, c)))
}

pub(super) fn cards(
    c: &mut Conn,
    st: &Statements,
    query: &CardQuery,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<CardRecord>, StoreError> {
    let CardQuery::Status(status) = *query;
    let after = before_nul(after.unwrap_or(""));
    let rows = c
        .query(&st.cards_by_status, &[&status.code(), &after, &limit_plus_one(limit)])
        .map_err(|e| errors::map("searching cards", e))?;
    let items = rows.iter().map(|r| json(r, 0, "card")).collect::<Result<Vec<CardRecord>, _>>()?;
    Ok(page(items, limit, |c| c.number.clone()))
}

#[cfg(test)]
mod tests {
    use super::successor;

    #[test]
    fn the_successor_bounds_every_extension() {
        assert_eq!(successor("ab").as_deref(), Some("ac"));
        assert_eq!(successor("").as_deref(), None);
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }
}
