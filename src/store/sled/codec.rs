//! How records are written as bytes in the sled engine.
//!
//! Records are postcard behind a one-byte tag ([`RECORD_TAG`]); postcard,
//! not JSON, because a balance decodes a record per read and JSON decoding
//! was a tenth of the server's CPU under load. A card's lots are postcard
//! too, in a compact form without text ([`encode_lots`]).
//!
//! A card's value holds what a balance reads in one key — the card record,
//! its lots and a copy of its contact's value — and its newest history
//! entries, so a state change writes one key (docs/storage.md has the
//! measurements):
//!
//! ```text
//! CARD_TAG, record_len: u32 LE, record, lots_len: u32 LE, lots,
//! contact_len: u32 LE, contact (the contacts tree's value; empty for none),
//! then per tail entry, oldest first: entry_len: u32 LE, entry
//! ```
//!
//! A history chunk is `CHUNK_TAG`, then per entry `entry_len: u32 LE, entry`.
//! Anything that does not decode is [`StoreError::Corrupt`], never a panic.

use super::layout::TreeId;
use crate::domain::{Amount, BonusType};
use crate::store::{CardRecord, ContactRecord, HistoryEntry, Lot, StoreError};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const RECORD_TAG: u8 = 0x01;
/// 0x02 tagged the value before it carried a contact copy (never
/// released); a new tag makes such a value `Corrupt` rather than misread.
pub const CARD_TAG: u8 = 0x04;
pub const CHUNK_TAG: u8 = 0x03;

fn corrupt(tree: TreeId, key: &[u8], reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { key: super::layout::key_name(tree, key), reason: reason.into() }
}

pub fn encoding_error(e: postcard::Error) -> StoreError {
    StoreError::engine("encoding a record", e)
}

/// A record behind [`RECORD_TAG`].
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(128);
    out.push(RECORD_TAG);
    postcard::to_extend(value, out).map_err(encoding_error)
}

pub fn decode<T: DeserializeOwned>(tree: TreeId, key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&RECORD_TAG, rest)) => postcard_exact(rest).map_err(|r| corrupt(tree, key, r)),
        _ => Err(corrupt(tree, key, "unknown record tag")),
    }
}

pub fn to_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_extend(value, Vec::with_capacity(128)).map_err(encoding_error)
}

fn push_part(out: &mut Vec<u8>, part: &[u8]) -> Result<(), StoreError> {
    let len = u32::try_from(part.len())
        .map_err(|_| StoreError::engine("encoding a record", std::io::Error::other("a part over 4 GiB")))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(part);
    Ok(())
}

/// Splits length-prefixed parts; `None` if the bytes do not divide up.
fn split_parts(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (part, rest) = next_part(bytes)?;
        out.push(part);
        bytes = rest;
    }
    Some(out)
}

/// A card's value: the encoded record and lots, its contact's value (or
/// nothing), and the tail's entries.
pub fn encode_card(record: &[u8], lots: &[u8], contact: &[u8], tail: &[&[u8]]) -> Result<Vec<u8>, StoreError> {
    let mut out = card_head(record, lots, contact, tail.iter().map(|e| 4 + e.len()).sum())?;
    for entry in tail {
        push_part(&mut out, entry)?;
    }
    Ok(out)
}

/// The tag and the three fixed parts, with room for `tail_len` more bytes.
fn card_head(record: &[u8], lots: &[u8], contact: &[u8], tail_len: usize) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(13 + record.len() + lots.len() + contact.len() + tail_len);
    out.push(CARD_TAG);
    push_part(&mut out, record)?;
    push_part(&mut out, lots)?;
    push_part(&mut out, contact)?;
    Ok(out)
}

/// A card's value cut at its fixed parts, nothing decoded; `tail` is the
/// tail's entries as stored (each length-prefixed).
struct CardParts<'a> {
    record: &'a [u8],
    lots: &'a [u8],
    contact: &'a [u8],
    tail: &'a [u8],
}

fn card_parts<'a>(number: &str, value: &'a [u8]) -> Result<CardParts<'a>, StoreError> {
    let bad = |r: &str| corrupt(TreeId::Cards, number.as_bytes(), r);
    let rest = match value.split_first() {
        Some((&CARD_TAG, rest)) => rest,
        _ => return Err(bad("unknown card tag")),
    };
    let missing = || bad("card value without record, lots or contact");
    let (record, rest) = next_part(rest).ok_or_else(missing)?;
    let (lots, rest) = next_part(rest).ok_or_else(missing)?;
    let (contact, tail) = next_part(rest).ok_or_else(missing)?;
    Ok(CardParts { record, lots, contact, tail })
}

/// A card's value taken apart, its parts still encoded.
pub struct StoredCard<'a> {
    pub record: CardRecord,
    pub lots: &'a [u8],
    /// The contact's value as the contacts tree holds it; empty for none.
    pub contact: &'a [u8],
    /// The tail's entries, oldest first.
    pub tail: Vec<&'a [u8]>,
    /// Sequence number of the tail's first entry.
    pub tail_start: u64,
}

/// `value` (a card's) with `contact` as its contact copy, the other parts
/// as they are: a contact's write re-copies it into each of its cards.
pub fn with_contact(number: &str, value: &[u8], contact: &[u8]) -> Result<Vec<u8>, StoreError> {
    let p = card_parts(number, value)?;
    split_parts(p.tail).ok_or_else(|| corrupt(TreeId::Cards, number.as_bytes(), "malformed card value"))?;
    let mut out = card_head(p.record, p.lots, contact, p.tail.len())?;
    out.extend_from_slice(p.tail);
    Ok(out)
}

/// The contact copy in a card's `value`, without decoding the rest.
pub fn contact_part<'v>(number: &str, value: &'v [u8]) -> Result<&'v [u8], StoreError> {
    Ok(card_parts(number, value)?.contact)
}

/// A contact copy decoded, when it is contact `code`'s: `None` when the
/// copy is empty (no such contact when it was taken) or another's.
pub fn decode_contact_copy(code: &str, copy: &[u8]) -> Result<Option<ContactRecord>, StoreError> {
    if copy.is_empty() {
        return Ok(None);
    }
    let contact: ContactRecord = decode(TreeId::Contacts, code.as_bytes(), copy)?;
    Ok(Some(contact).filter(|c| c.code == code))
}

/// The first length-prefixed part of `bytes` and what follows it.
fn next_part(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

impl<'a> StoredCard<'a> {
    pub fn parse(number: &str, bytes: &'a [u8]) -> Result<StoredCard<'a>, StoreError> {
        let bad = |r: &str| corrupt(TreeId::Cards, number.as_bytes(), r);
        let CardParts { record, lots, contact, tail } = card_parts(number, bytes)?;
        let tail = split_parts(tail).ok_or_else(|| bad("malformed card value"))?;
        let record: CardRecord = postcard_exact(record).map_err(|r| bad(&r))?;
        let tail_start =
            record.history_len.checked_sub(tail.len() as u64).ok_or_else(|| bad("more tail entries than history"))?;
        Ok(StoredCard { record, lots, contact, tail, tail_start })
    }

    /// The contact copy, decoded; `None` when the card has none.
    pub fn contact(&self) -> Result<Option<ContactRecord>, StoreError> {
        let Some(code) = self.record.contact.as_deref() else { return Ok(None) };
        let contact = decode_contact_copy(code, self.contact)?;
        debug_assert!(self.contact.is_empty() || contact.is_some(), "a card carries its own contact's copy");
        Ok(contact)
    }

    pub fn lots(&self) -> Result<Vec<Lot>, StoreError> {
        decode_lots(self.lots).map_err(|r| corrupt(TreeId::Cards, self.record.number.as_bytes(), r))
    }

    pub fn tail_entries(&self) -> Result<Vec<HistoryEntry>, StoreError> {
        let key = self.record.number.as_bytes();
        self.tail.iter().map(|e| postcard_exact(e).map_err(|r| corrupt(TreeId::Cards, key, r))).collect()
    }
}

/// A lot as this engine stores it: the amount as rust_decimal's 16 bytes
/// and the dates as days of the common era, so that reading a card's lots
/// parses no text. (A Confirm decodes and encodes every lot of its card;
/// with decimal and date strings that was most of its cost on a card with
/// a few hundred lots.)
#[derive(Serialize, Deserialize)]
struct LotBytes<'a> {
    amount: [u8; 16],
    bonus_type: BonusType,
    active_from: i32,
    expire: Option<i32>,
    frozen: bool,
    #[serde(borrow)]
    receipt: Option<&'a str>,
}

/// A card's lots, as the card's value holds them.
pub fn encode_lots(lots: &[Lot]) -> Result<Vec<u8>, StoreError> {
    let compact: Vec<LotBytes<'_>> = lots
        .iter()
        .map(|l| LotBytes {
            amount: l.amount.value().serialize(),
            bonus_type: l.bonus_type,
            active_from: l.active_from.num_days_from_ce(),
            expire: l.expire.map(|d| d.num_days_from_ce()),
            frozen: l.frozen,
            receipt: l.receipt.as_deref(),
        })
        .collect();
    postcard::to_extend(&compact, Vec::with_capacity(4 + 40 * lots.len())).map_err(encoding_error)
}

fn decode_lots(bytes: &[u8]) -> Result<Vec<Lot>, String> {
    let day = |d: i32| NaiveDate::from_num_days_from_ce_opt(d).ok_or_else(|| format!("day {d} is not a date"));
    let compact: Vec<LotBytes<'_>> = postcard_exact(bytes)?;
    compact
        .into_iter()
        .map(|l| {
            Ok(Lot {
                amount: Amount::new(Decimal::deserialize(l.amount)),
                bonus_type: l.bonus_type,
                active_from: day(l.active_from)?,
                expire: l.expire.map(day).transpose()?,
                frozen: l.frozen,
                receipt: l.receipt.map(str::to_owned),
            })
        })
        .collect()
}

/// A value that takes up the whole of `bytes`.
fn postcard_exact<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((v, [])) => Ok(v),
        Ok(_) => Err("trailing bytes after the record".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A history chunk's value.
pub fn encode_chunk(entries: &[&[u8]]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(1 + entries.iter().map(|e| 4 + e.len()).sum::<usize>());
    out.push(CHUNK_TAG);
    for entry in entries {
        push_part(&mut out, entry)?;
    }
    Ok(out)
}

pub fn decode_chunk(key: &[u8], bytes: &[u8]) -> Result<Vec<HistoryEntry>, StoreError> {
    let bad = |r: &str| corrupt(TreeId::History, key, r);
    let rest = match bytes.split_first() {
        Some((&CHUNK_TAG, rest)) => rest,
        _ => return Err(bad("unknown chunk tag")),
    };
    let parts = split_parts(rest).ok_or_else(|| bad("malformed history chunk"))?;
    parts.into_iter().map(|e| postcard_exact(e).map_err(|r| bad(&r))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contact_copy_is_found_replaced_and_garbage_is_corrupt_not_a_panic() {
        let value = encode_card(b"rec", b"lots", b"contact", &[b"e1", b"e2"]).unwrap();
        assert_eq!(contact_part("1", &value).unwrap(), b"contact");
        let replaced = with_contact("1", &value, b"other").unwrap();
        assert_eq!(replaced, encode_card(b"rec", b"lots", b"other", &[b"e1", b"e2"]).unwrap());
        for cut in 0..value.len() {
            let short = &value[..cut];
            // Cut inside the first three parts: corrupt. Past them, a cut
            // tail entry still leaves the contact part readable.
            if cut < 1 + 4 + 3 + 4 + 4 + 4 + 7 {
                assert!(matches!(contact_part("1", short), Err(StoreError::Corrupt { .. })), "cut at {cut}");
            }
            let _ = with_contact("1", short, b"x");
        }
    }
}
