//! Listing a whole table of the sled engine in key order, page by page
//! ([`crate::store::Store::scan`]): a range read of the table's tree from
//! the cursor on, each value decoded as the point reads decode it.

use super::codec::{decode, StoredCard};
use super::layout::TreeId;
use super::trees::Trees;
use super::view::View;
use crate::store::{scan_fetch, scan_page, FullCard, Page, StoreError, StoreRead, Stored, Table};
use std::ops::Bound;

fn tree_of(table: Table) -> TreeId {
    match table {
        Table::Contacts => TreeId::Contacts,
        Table::ContactCards => TreeId::ContactCards,
        Table::Cards => TreeId::Cards,
        Table::Receipts => TreeId::Receipts,
    }
}

fn text(tree: TreeId, key: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(key.to_vec()).map_err(|_| StoreError::Corrupt {
        key: super::layout::key_name(tree, key),
        reason: "the key is not UTF-8".into(),
    })
}

/// One page of `table` after `after`.
pub fn scan(trees: &Trees, table: Table, after: Option<&str>, limit: usize) -> Result<Page<Stored>, StoreError> {
    let tree = tree_of(table);
    let from = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.as_bytes().to_vec()));
    let view = View { trees, staged: None, cards_read: None };
    let mut items = Vec::new();
    for item in trees.tree(tree).range::<Vec<u8>, _>((from, Bound::Unbounded)).take(scan_fetch(limit)) {
        let (key, value) = item.map_err(|e| trees.error(e, "listing the store"))?;
        let key_text = text(tree, &key)?;
        items.push(match table {
            Table::Contacts => Stored::Contact(decode(tree, &key, &value)?),
            Table::ContactCards => Stored::ContactCards { code: key_text, numbers: decode(tree, &key, &value)? },
            Table::Receipts => Stored::Receipt(Box::new(decode(tree, &key, &value)?)),
            Table::Cards => Stored::Card(Box::new(full_card(&view, &key_text, &value)?)),
        });
    }
    Ok(scan_page(items, limit))
}

/// A card's value with its history: the tail it carries, after the chunks
/// of the history tree when the tail does not start at the first entry.
fn full_card(view: &View<'_>, number: &str, value: &[u8]) -> Result<FullCard, StoreError> {
    let stored = StoredCard::parse(number, value)?;
    let lots = stored.lots()?;
    let history = if stored.tail_start == 0 { stored.tail_entries()? } else { view.history(number)? };
    Ok(FullCard { record: stored.record, lots, history })
}
