//! The admin searches on the sled engine: range scans of an index (a tree,
//! the contacts tree for a code prefix, or the in-memory status index),
//! from the cursor on, bounded by the page size — never a scan of all
//! records.

use super::layout::TreeId;
use super::trees::Trees;
use super::view::View;
use crate::store::{CardRecord, ContactQuery, ContactRecord, Page, StoreError, StoreRead};
use std::ops::Bound;

/// Keys of `tree` starting with `prefix`, after `after` (or from the
/// prefix), in order: at most `limit + 1`, to tell whether a page follows.
fn keys(
    trees: &Trees,
    tree: TreeId,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let start = match after {
        Some(a) if a >= prefix => Bound::Excluded(a.to_vec()),
        _ => Bound::Included(prefix.to_vec()),
    };
    let mut out = Vec::new();
    for item in trees.tree(tree).range::<Vec<u8>, _>((start, Bound::Unbounded)) {
        let (key, _) = item.map_err(|e| trees.error(e, "searching"))?;
        if !key.starts_with(prefix) || out.len() > limit {
            break;
        }
        out.push(key.to_vec());
    }
    Ok(out)
}

/// Turns found keys into a page: the first `limit` items and the cursor of
/// the last when more follow.
fn page<T>(
    keys: Vec<Vec<u8>>,
    limit: usize,
    mut load: impl FnMut(&[u8]) -> Result<Option<T>, StoreError>,
    cursor: impl Fn(&[u8]) -> String,
) -> Result<Page<T>, StoreError> {
    let more = keys.len() > limit;
    let mut items = Vec::with_capacity(limit.min(keys.len()));
    for key in keys.iter().take(limit) {
        // An index entry whose record is gone would be damage; skip none
        // silently.
        let item = load(key)?.ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            reason: "an index entry names a record that does not exist".into(),
        })?;
        items.push(item);
    }
    let next = if more { keys.get(limit - 1).map(|k| cursor(k)) } else { None };
    Ok(Page { items, next })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn contacts(
    trees: &Trees,
    query: &ContactQuery,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<ContactRecord>, StoreError> {
    let view = View { trees, staged: None, cards_read: None };
    let after = after.map(str::as_bytes);
    match query {
        ContactQuery::CodePrefix(p) => {
            let found = keys(trees, TreeId::Contacts, p.as_bytes(), after, limit)?;
            page(found, limit, |k| view.contact(&text(k)), text)
        }
        ContactQuery::NamePrefix(p) => {
            let prefix = crate::store::name_key(p);
            let found = keys(trees, TreeId::ContactNames, prefix.as_bytes(), after, limit)?;
            let code = |k: &[u8]| k.iter().position(|b| *b == 0).map(|i| text(&k[i + 1..])).unwrap_or_default();
            page(found, limit, |k| view.contact(&code(k)), text)
        }
    }
}

/// The page of cards whose numbers the status index found (at most
/// `limit + 1`, in order).
pub fn cards(trees: &Trees, numbers: Vec<String>, limit: usize) -> Result<Page<CardRecord>, StoreError> {
    let view = View { trees, staged: None, cards_read: None };
    let keys = numbers.into_iter().map(String::into_bytes).collect();
    page(keys, limit, |k| view.card(&text(k)), text)
}
