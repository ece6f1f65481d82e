//! Bulk versions of the admin writes (SPEC §7), for `cashdesk import`.
//!
//! Each call validates every row with the same checks and error keys as the
//! admin method it mirrors and applies the good rows in ONE transaction,
//! durable once. Bad rows are returned with their line; they change nothing,
//! and the good rows of the call are kept. Like every operation, each call's
//! transaction may run more than once: it starts from the rows refused
//! while parsing each time, and returns the rows it refused as its answer.
//!
//! Within a call, rows see the rows before them: the same contact or card may
//! appear twice, and a mobile number taken by an earlier row is taken.

use super::admin::{change_card, lot_added, merge_contact, mobile_taken, new_card};
use super::lookup::card_not_found;
use super::migrate::{imported, Bindings, CardState};
use super::parse::{check_contact, parse_card_type, parse_category, parse_lot, parse_number};
use super::{access, BonusInput, Caller, CardService, ContactInput, Failure, Tx, R};
use crate::rules::Method;
use crate::store::{Batch, CardRecord, ContactRecord, ContactWrite, Lot, StoreRead};
use crate::ErrorKey;
use std::collections::HashMap;

/// One contact to create or update: `PUT /api/admin/contacts/{code}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactRow {
    pub code: String,
    pub input: ContactInput,
}

/// One card to create or change: `PUT /api/admin/cards/{number}`.
/// `None` (or empty) keeps the stored value; a new card defaults to plastic,
/// bonus, New, unbound. The state columns (issue 13) give a new card its
/// real state; on an existing card they must match what is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardRow {
    pub number: String,
    pub category: Option<String>,
    pub card_type: Option<String>,
    /// `Status`: a status code (`0`..`3`) or name (`new`, … `blocked`).
    pub status: Option<String>,
    /// `ContactCode`: the contact the card is bound to.
    pub contact: Option<String>,
    /// `BlockReasonCode`, `BlockedByUser`, `BlockedByRole`: the block of a
    /// Blocked card (user and role default to the importing caller's).
    pub block_reason: Option<String>,
    pub blocked_by_user: Option<String>,
    pub blocked_by_role: Option<String>,
}

/// One bonus lot to add: `POST /api/admin/cards/{number}/bonuses`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BonusRow {
    pub number: String,
    pub input: BonusInput,
    /// `ReceiptId`: the receipt whose sale accrued the lot (a restored backup).
    pub receipt: Option<String>,
}

/// Bad rows of a bulk call: (line, why), in the order of the rows.
pub type BadRows = Vec<(u64, Failure)>;

/// Records changed so far by one bulk call, in first-touch order, so the
/// batch writes each record once, with its final value.
struct Overlay<T> {
    index: HashMap<String, usize>,
    items: Vec<T>,
}

impl<T> Overlay<T> {
    fn new() -> Overlay<T> {
        Overlay { index: HashMap::new(), items: Vec::new() }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        self.index.get(key).map(|&i| &mut self.items[i])
    }

    fn get(&self, key: &str) -> Option<&T> {
        self.index.get(key).map(|&i| &self.items[i])
    }

    fn insert(&mut self, key: String, item: T) -> &mut T {
        let i = self.items.len();
        self.index.insert(key, i);
        self.items.push(item);
        &mut self.items[i]
    }
}

/// A contact as it stands within the call, and the mobile number it had in
/// the store (so the phone index entry can be moved).
struct PendingContact {
    record: ContactRecord,
    stored_mobile: Option<String>,
}

/// A card as it stands within the call; `lots` is loaded on first use.
struct PendingCard {
    card: CardRecord,
    lots: Option<Vec<Lot>>,
}

impl CardService {
    /// Refuses a caller who may not use the admin operations (and so may not
    /// import): `AccessDenied`, as the admin endpoints answer.
    pub fn check_admin(&self, caller: &Caller) -> R<()> {
        self.check_access(caller, Method::Admin)
    }

    /// One import call's state change: `f` writes the batch and adds the
    /// rows it refuses to a copy of the ones refused while parsing; the bad
    /// rows come back in line order.
    fn write_rows(
        &self,
        parse_bad: BadRows,
        mut f: impl FnMut(&dyn StoreRead, &mut Batch, &mut BadRows) -> Tx<()> + Send,
    ) -> R<BadRows> {
        let mut bad = self.write(|r, out| {
            let mut bad = parse_bad.clone();
            f(r, out, &mut bad)?;
            Ok(bad)
        })?;
        bad.sort_by_key(|(line, _)| *line);
        Ok(bad)
    }

    /// Creates or updates many contacts in one transaction, each row as
    /// [`CardService::upsert_contact`] would. `Err` only when the whole call
    /// failed (access, store); then nothing of it was committed.
    pub fn import_contacts(&self, caller: &Caller, rows: Vec<(u64, ContactRow)>) -> R<BadRows> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        let today = self.today();
        let mut bad = Vec::new();
        let mut checked = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            match check_contact(&rules, &row.code, row.input, today) {
                Ok(c) => checked.push((line, c)),
                Err(f) => bad.push((line, f)),
            }
        }
        self.write_rows(bad, |r, out, bad| {
            let mut contacts: Overlay<PendingContact> = Overlay::new();
            // Mobile → its holder within this call; `None`: released by a row.
            let mut phones: HashMap<String, Option<String>> = HashMap::new();
            for (line, c) in &checked {
                let (line, c) = (*line, c.clone());
                let code = c.code.as_str().to_string();
                if let Some(m) = &c.mobile {
                    let holder = match phones.get(m.as_str()) {
                        Some(h) => h.clone(),
                        None => r.contact_by_mobile(m.as_str())?.map(|h| h.code),
                    };
                    if holder.is_some_and(|h| h != code) {
                        bad.push((line, mobile_taken(m)));
                        continue;
                    }
                }
                let old = match contacts.get_mut(&code) {
                    Some(p) => Some(p.record.clone()),
                    None => r.contact(&code)?,
                };
                let old_mobile = old.as_ref().and_then(|o| o.mobile.clone());
                let rec = match merge_contact(old, c) {
                    Ok(r) => r,
                    Err(f) => {
                        bad.push((line, f));
                        continue;
                    }
                };
                if rec.mobile != old_mobile {
                    if let Some(om) = old_mobile.clone() {
                        phones.insert(om, None);
                    }
                    if let Some(nm) = rec.mobile.clone() {
                        phones.insert(nm, Some(code.clone()));
                    }
                }
                match contacts.get_mut(&code) {
                    Some(p) => p.record = rec,
                    None => {
                        contacts.insert(code, PendingContact { record: rec, stored_mobile: old_mobile });
                    }
                }
            }
            for p in contacts.items {
                out.put_contact(ContactWrite { record: p.record, old_mobile: p.stored_mobile });
            }
            Ok(())
        })
    }

    /// Creates or changes many cards in one transaction, each row as
    /// [`CardService::upsert_card`] would, with a history entry per creation
    /// or change. A row may give a new card its state (migration, issue 13):
    /// status, bound contact, block; see [`super::migrate`] for the checks.
    pub fn import_cards(&self, caller: &Caller, rows: Vec<(u64, CardRow)>) -> R<BadRows> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        let mut bad = Vec::new();
        let mut checked = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            let parsed = parse_number(&rules, &row.number).and_then(|n| {
                let category = parse_category(row.category.as_deref())?;
                let card_type = parse_card_type(row.card_type.as_deref())?;
                let state = CardState::parse(&rules, caller, &row)?;
                Ok((n, category, card_type, state))
            });
            match parsed {
                Ok(p) => checked.push((line, p)),
                Err(f) => bad.push((line, f)),
            }
        }
        self.write_rows(bad, |r, out, bad| {
            // Each card with its history length in the store (None: created
            // by this call); a card is written only if this call changed it.
            let mut cards: Overlay<(CardRecord, Option<u64>)> = Overlay::new();
            let mut bindings = Bindings::default();
            for (line, (number, category, card_type, state)) in &checked {
                let (category, card_type) = (*category, *card_type);
                let (card, _) = match cards.get_mut(number.as_str()) {
                    Some(c) => c,
                    None => match r.card(number.as_str())? {
                        Some(c) => {
                            let len = c.history_len;
                            cards.insert(number.as_str().to_string(), (c, Some(len)))
                        }
                        None => {
                            let mut card = new_card(number);
                            card.category = category.unwrap_or(card.category);
                            card.card_type = card_type.unwrap_or(card.card_type);
                            let lookup = |n: &str| Ok(cards.get(n).map(|(c, _)| c.clone()));
                            match state.place(r, &rules, &mut card, &mut bindings, lookup) {
                                Ok(()) => {
                                    imported(caller, out, &mut card);
                                    cards.insert(number.as_str().to_string(), (card, None));
                                }
                                Err(super::Abort::Refused(f)) => bad.push((*line, f)),
                                Err(super::Abort::Store(e)) => return Err(e.into()),
                            }
                            continue;
                        }
                    },
                };
                if let Err(f) = state.matches(card) {
                    bad.push((*line, f));
                    continue;
                }
                change_card(caller, out, card, false, category, card_type);
            }
            for (card, stored_len) in cards.items {
                if stored_len != Some(card.history_len) {
                    out.put_card(card);
                }
            }
            bindings.write(out);
            Ok(())
        })
    }

    /// Adds many bonus lots in one transaction, each row as
    /// [`CardService::add_bonus`] would (the card must exist: created earlier,
    /// e.g. by an import of a cards file), with a history entry per lot.
    pub fn import_bonuses(&self, caller: &Caller, rows: Vec<(u64, BonusRow)>) -> R<BadRows> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        let today = self.today();
        let mut bad = Vec::new();
        let mut checked = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            match parse_number(&rules, &row.number) {
                // The lot's own errors come after CannotFindCardNumber, which
                // needs the store: keep the result until the card is looked up.
                Ok(n) => checked.push((line, n, parse_lot(&row.input, today).and_then(|l| with_receipt(l, &row)))),
                Err(f) => bad.push((line, f)),
            }
        }
        self.write_rows(bad, |r, out, bad| {
            let mut cards: Overlay<PendingCard> = Overlay::new();
            for (line, number, lot) in &checked {
                let line = *line;
                let pending = match cards.get_mut(number.as_str()) {
                    Some(p) => p,
                    None => match r.card(number.as_str())? {
                        Some(card) => cards.insert(number.as_str().to_string(), PendingCard { card, lots: None }),
                        None => {
                            bad.push((line, card_not_found(ErrorKey::CannotFindCardNumber, number)));
                            continue;
                        }
                    },
                };
                let lot = match lot {
                    Ok(l) => l.clone(),
                    Err(f) => {
                        bad.push((line, f.clone()));
                        continue;
                    }
                };
                let lots = match &mut pending.lots {
                    Some(l) => l,
                    None => pending.lots.insert(r.lots(number.as_str())?),
                };
                lot_added(caller, out, &mut pending.card, &lot);
                lots.push(lot);
            }
            for p in cards.items {
                if let Some(lots) = p.lots {
                    out.put_lots(&p.card.number, lots);
                    out.put_card(p.card);
                }
            }
            Ok(())
        })
    }
}

/// The lot with the receipt a `ReceiptId` cell names (a restored backup's
/// accrued lot), checked as a receipt id.
fn with_receipt(mut lot: Lot, row: &BonusRow) -> R<Lot> {
    if let Some(id) = row.receipt.as_deref().filter(|r| !r.trim().is_empty()) {
        let id =
            crate::domain::ReceiptId::parse(id).map_err(|e| Failure::new(ErrorKey::InvalidReceiptId, e.to_string()))?;
        lot.receipt = Some(id.as_str().to_string());
    }
    Ok(lot)
}
