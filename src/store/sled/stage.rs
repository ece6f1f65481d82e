//! Turning one operation's [`Batch`] into ops in the group being built.
//!
//! The order of the ops is the order a concurrent reader may see them
//! appear in (a group is atomic across a crash, not isolated from readers):
//! what others point to is written first — a contact before the phone entry
//! naming it, history chunks before the card that no longer carries them,
//! the card record last.
//!
//! A card's value carries a copy of its contact's value (a balance is one
//! read), so a contact's write is copied into each of its cards in the same
//! group ([`recopy_contact`]), and a card's write takes its contact's value
//! as the group will leave it ([`contact_copy`]).

use super::codec::{encode, encode_card, encode_chunk, encode_lots, to_bytes, with_contact, StoredCard};
use super::intent::Op;
use super::layout::{history_key, name_index_key, TreeId, HISTORY_TAIL_MAX};
use super::staged::Staged;
use super::status_index::StatusChange;
use super::trees::Trees;
use super::view::{CardsRead, View};
use crate::store::{Batch, CardChange, CardRecord, ContactWrite, StoreError, StoreRead};

/// Stages every write of `batch`, reading the stored values it builds on
/// through the group's staged writes, then the card values the job already
/// read (`read`), then `trees`.
pub fn stage_batch(trees: &Trees, staged: &mut Staged, batch: &Batch, read: &CardsRead) -> Result<(), StoreError> {
    for w in &batch.contacts {
        for op in name_index_ops(&View { trees, staged: Some(staged), cards_read: None }, w)? {
            staged.stage(op);
        }
        staged.stage(Op::put(TreeId::Contacts, w.record.code.as_bytes(), encode(&w.record)?));
    }
    for r in &batch.receipts {
        staged.stage(Op::put(TreeId::Receipts, r.id.as_bytes(), encode(r)?));
    }
    for w in &batch.contacts {
        for op in phone_ops(&View { trees, staged: Some(staged), cards_read: None }, w)? {
            staged.stage(op);
        }
    }
    for (code, numbers) in &batch.contact_cards {
        staged.stage(Op::put(TreeId::ContactCards, code.as_bytes(), encode(numbers)?));
    }
    let batch_cards: std::collections::HashSet<&str> = if batch.contacts.is_empty() {
        Default::default()
    } else {
        batch.cards.iter().map(|(n, _)| n.as_str()).collect()
    };
    for w in &batch.contacts {
        let view = View { trees, staged: Some(staged), cards_read: Some(read) };
        let ops = recopy_contact(&view, &w.record.code, |n| batch_cards.contains(n))?;
        ops.into_iter().for_each(|op| staged.stage(op));
    }
    for (number, change) in &batch.cards {
        let (ops, status) = card_ops(&View { trees, staged: Some(staged), cards_read: Some(read) }, number, change)?;
        if let Some(status) = status {
            staged.note_status(status);
        }
        ops.into_iter().for_each(|op| staged.stage(op));
    }
    Ok(())
}

/// The name index ops of one contact write: the old name's key goes when
/// the name changes, the new one is put (before the contact, which is what
/// a search reads after the key).
fn name_index_ops(view: &View<'_>, w: &ContactWrite) -> Result<Vec<Op>, StoreError> {
    let code = &w.record.code;
    let new = name_index_key(&w.record.name, code);
    let mut ops = Vec::new();
    if let Some(old) = view.contact(code)? {
        let old = name_index_key(&old.name, code);
        if old == new {
            return Ok(ops);
        }
        ops.push(Op::remove(TreeId::ContactNames, old));
    }
    ops.push(Op::put(TreeId::ContactNames, new, Vec::new()));
    Ok(ops)
}

/// The phone index ops of one contact write: its old mobile is unhooked
/// only if the index still names this contact (another contact may have
/// taken the number since), then its new mobile points at it.
fn phone_ops(view: &View<'_>, w: &ContactWrite) -> Result<Vec<Op>, StoreError> {
    let code = w.record.code.as_bytes();
    let new = w.record.mobile.as_deref();
    let mut ops = Vec::new();
    if let Some(old) = w.old_mobile.as_deref().filter(|old| Some(*old) != new) {
        if view.read(TreeId::Phones, old.as_bytes(), |v| Ok(v == Some(code)))? {
            ops.push(Op::remove(TreeId::Phones, old.as_bytes()));
        }
    }
    if let Some(new) = new {
        ops.push(Op::put(TreeId::Phones, new.as_bytes(), code.to_vec()));
    }
    Ok(ops)
}

/// The contact's staged value copied into each of its cards that the batch
/// does not write itself (those take it in [`card_ops`]).
fn recopy_contact(view: &View<'_>, code: &str, in_batch: impl Fn(&str) -> bool) -> Result<Vec<Op>, StoreError> {
    let contact = contact_value(view, code)?;
    let mut ops = Vec::new();
    for number in view.contact_cards(code)? {
        if in_batch(&number) {
            continue;
        }
        let value =
            view.read(TreeId::Cards, number.as_bytes(), |v| v.map(|v| with_contact(&number, v, &contact)).transpose())?;
        if let Some(value) = value {
            ops.push(Op::put(TreeId::Cards, number.into_bytes(), value));
        }
    }
    Ok(ops)
}

/// The contact copy a card's new value carries: none when unbound; the
/// stored card's copy when it stays bound to a contact the group has not
/// written (no read); else the contact's value as the group leaves it.
fn contact_copy(view: &View<'_>, record: &CardRecord, stored: Option<&StoredCard<'_>>) -> Result<Vec<u8>, StoreError> {
    let Some(code) = record.contact.as_deref() else { return Ok(Vec::new()) };
    let written = view.staged.is_some_and(|s| s.get(TreeId::Contacts, code.as_bytes()).is_some());
    if let Some(stored) = stored.filter(|s| !written && s.record.contact.as_deref() == Some(code)) {
        return Ok(stored.contact.to_vec());
    }
    contact_value(view, code)
}

/// A contact's value as the group leaves it (empty when there is none):
/// what a card's copy holds.
fn contact_value(view: &View<'_>, code: &str) -> Result<Vec<u8>, StoreError> {
    view.read(TreeId::Contacts, code.as_bytes(), |v| Ok(v.map(<[u8]>::to_vec).unwrap_or_default()))
}

fn out_of_sequence(number: &str, stored: u64, change: &CardChange, new_len: u64) -> StoreError {
    StoreError::engine(
        format!("writing card {number}"),
        std::io::Error::other(format!(
            "history out of sequence: {stored} stored + {} new != {new_len}",
            change.history.len()
        )),
    )
}

/// The ops of one card's change: the new value of its key (record, lots,
/// newest history entries) after any full chunk its tail sheds; and its
/// status change, if any, for the in-memory status index.
fn card_ops(view: &View<'_>, number: &str, change: &CardChange) -> Result<(Vec<Op>, Option<StatusChange>), StoreError> {
    view.read(TreeId::Cards, number.as_bytes(), |stored| {
        let stored = stored.map(|b| StoredCard::parse(number, b)).transpose()?;
        let record = match (&change.record, &stored) {
            (Some(r), _) => r,
            (None, Some(s)) => &s.record,
            (None, None) => {
                return Err(StoreError::engine(
                    format!("writing card {number}"),
                    std::io::Error::other("lots for a card that does not exist"),
                ))
            }
        };
        let stored_len = stored.as_ref().map_or(0, |s| s.record.history_len);
        if record.history_len != stored_len + change.history.len() as u64 {
            return Err(out_of_sequence(number, stored_len, change, record.history_len));
        }
        let record_bytes = to_bytes(record)?;
        let lots_bytes = match (&change.lots, &stored) {
            (Some(lots), _) => encode_lots(lots)?,
            (None, Some(s)) => s.lots.to_vec(),
            (None, None) => encode_lots(&[])?,
        };
        let new_entries = change.history.iter().map(to_bytes).collect::<Result<Vec<_>, _>>()?;
        let (mut start, mut tail) = stored.as_ref().map_or((0, Vec::new()), |s| (s.tail_start, s.tail.clone()));
        debug_assert_eq!(start % HISTORY_TAIL_MAX as u64, 0, "chunks start at multiples of the tail size");
        tail.extend(new_entries.iter().map(Vec::as_slice));
        let mut ops = Vec::new();
        while tail.len() > HISTORY_TAIL_MAX {
            let rest = tail.split_off(HISTORY_TAIL_MAX);
            ops.push(Op::put(TreeId::History, history_key(number, start), encode_chunk(&tail)?));
            start += HISTORY_TAIL_MAX as u64;
            tail = rest;
        }
        debug_assert_eq!(start + tail.len() as u64, record.history_len, "tail ends at the history length");
        let old = stored.as_ref().map(|s| s.record.status);
        let status =
            (old != Some(record.status)).then(|| StatusChange { number: number.into(), old, new: record.status });
        let contact = contact_copy(view, record, stored.as_ref())?;
        ops.push(Op::put(TreeId::Cards, number.as_bytes(), encode_card(&record_bytes, &lots_bytes, &contact, &tail)?));
        Ok((ops, status))
    })
}
