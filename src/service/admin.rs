//! The admin writes and reads of SPEC §7: contacts, cards, bonus lots and a
//! card's history.

use super::lookup::{card_by_number, card_not_found};
use super::parse::{check_contact, parse_card_type, parse_category, parse_lot, parse_number, CheckedContact};
use super::{access, record_history, Caller, CardService, Done, Failure, CUSTOM_FIELDS_MAX, R};
use crate::domain::{CardNumber, CardType, Category, MobileNumber, Status};
use crate::rules::Method;
use crate::store::{Batch, CardRecord, ContactRecord, ContactWrite, HistoryEntry, Lot};
use crate::ErrorKey;
use std::collections::BTreeMap;

/// A contact create-or-update; `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactInput {
    pub mobile: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub city: Option<String>,
    pub fields: Option<BTreeMap<String, String>>,
}

/// A bonus lot to add; strings as they came on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BonusInput {
    pub amount: Option<String>,
    pub type_code: Option<String>,
    pub active_from: Option<String>,
    pub expire_date: Option<String>,
    pub frozen: bool,
}

impl CardService {
    /// Creates or updates a contact (SPEC §7). Fields left out keep their value.
    pub fn upsert_contact(&self, caller: &Caller, code: &str, input: ContactInput) -> R<ContactRecord> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        let checked = check_contact(&rules, code, input, self.today())?;
        self.write(|r, out| {
            let old = r.contact(checked.code.as_str())?;
            if let Some(m) = &checked.mobile {
                if r.contact_by_mobile(m.as_str())?.is_some_and(|holder| holder.code != checked.code.as_str()) {
                    return Err(mobile_taken(m).into());
                }
            }
            let old_mobile = old.as_ref().and_then(|o| o.mobile.clone());
            let rec = merge_contact(old, checked.clone())?;
            out.put_contact(ContactWrite { record: rec.clone(), old_mobile });
            Ok(rec)
        })
    }

    /// Creates a New card, or changes category and type of an existing one.
    pub fn upsert_card(
        &self,
        caller: &Caller,
        number: &str,
        category: Option<&str>,
        card_type: Option<&str>,
    ) -> R<Done> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        let number = parse_number(&rules, number)?;
        let category = parse_category(category)?;
        let card_type = parse_card_type(card_type)?;
        self.write(|r, out| {
            let (mut card, created) = match r.card(number.as_str())? {
                Some(c) => (c, false),
                None => (new_card(&number), true),
            };
            let changed = change_card(caller, out, &mut card, created, category, card_type);
            if changed {
                out.put_card(card.clone());
            }
            Ok(Done { changed, status: card.status })
        })
    }

    /// Adds a bonus lot to a card.
    pub fn add_bonus(&self, caller: &Caller, number: &str, input: BonusInput) -> R<Lot> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        let number = parse_number(&rules, number)?;
        let today = self.today();
        self.write(|r, out| {
            // Existence first: SPEC lists CannotFindCardNumber before the lot's own errors.
            let mut card = card_by_number(r, &number, ErrorKey::CannotFindCardNumber)?;
            let lot = parse_lot(&input, today)?;
            let mut lots = r.lots(number.as_str())?;
            lots.push(lot.clone());
            lot_added(caller, out, &mut card, &lot);
            out.put_card(card);
            out.put_lots(number.as_str(), lots);
            Ok(lot)
        })
    }

    /// A card's history, oldest first.
    pub fn history(&self, caller: &Caller, number: &str) -> R<Vec<HistoryEntry>> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        let number = parse_number(&rules, number)?;
        if self.store.card(number.as_str())?.is_none() {
            return Err(card_not_found(ErrorKey::CannotFindCardNumber, &number));
        }
        Ok(self.store.history(number.as_str())?)
    }
}

/// The contact after the write: `old` (if any) with the given fields set.
/// The caller has checked that the mobile number is not another contact's.
pub(super) fn merge_contact(old: Option<ContactRecord>, c: CheckedContact) -> R<ContactRecord> {
    let CheckedContact { code, mobile, input } = c;
    let mut rec = old.unwrap_or_else(|| ContactRecord { code: code.as_str().to_string(), ..Default::default() });
    if let Some(m) = mobile {
        rec.mobile = Some(m.as_str().to_string());
    }
    let set = |slot: &mut String, v: Option<String>| {
        if let Some(v) = v {
            *slot = v;
        }
    };
    set(&mut rec.name, input.name);
    set(&mut rec.email, input.email);
    set(&mut rec.birth_date, input.birth_date);
    set(&mut rec.gender, input.gender);
    set(&mut rec.city, input.city);
    for (k, v) in input.fields.into_iter().flatten() {
        if v.is_empty() {
            rec.fields.remove(&k);
        } else {
            rec.fields.insert(k, v);
        }
    }
    if rec.fields.len() > CUSTOM_FIELDS_MAX {
        return Err(Failure::new(ErrorKey::MalformedRequest, format!("at most {CUSTOM_FIELDS_MAX} custom fields")));
    }
    Ok(rec)
}

pub(super) fn mobile_taken(m: &MobileNumber) -> Failure {
    Failure::new(ErrorKey::MobileNumberTaken, format!("mobile number {m} belongs to another contact"))
}

/// A New card as created by the admin API: plastic, bonus, unbound.
pub(super) fn new_card(number: &CardNumber) -> CardRecord {
    CardRecord {
        number: number.as_str().to_string(),
        status: Status::New,
        category: Category::Plastic,
        card_type: CardType::Bonus,
        contact: None,
        block: None,
        history_len: 0,
    }
}

/// Sets category and type (`None` keeps), and records the change in the
/// card's history. True when the card was created or changed.
pub(super) fn change_card(
    caller: &Caller,
    batch: &mut Batch,
    card: &mut CardRecord,
    created: bool,
    category: Option<Category>,
    card_type: Option<CardType>,
) -> bool {
    let before = (card.category, card.card_type);
    card.category = category.unwrap_or(card.category);
    card.card_type = card_type.unwrap_or(card.card_type);
    let changed = created || before != (card.category, card.card_type);
    if changed {
        let what = if created { "card created" } else { "category or type changed" };
        let reason = format!("{what}: category {}, type {}", card.category.code(), card.card_type.code());
        let from = if created { None } else { Some(card.status) };
        record_history(batch, card, caller, Method::Admin, (from, Some(card.status)), reason);
    }
    changed
}

/// Records a lot added to the card in its history.
pub(super) fn lot_added(caller: &Caller, batch: &mut Batch, card: &mut CardRecord, lot: &Lot) {
    let reason = format!(
        "bonus lot added: {} of type {}{}",
        lot.amount,
        lot.bonus_type.code(),
        lot.expire.map(|e| format!(", expires {e}")).unwrap_or_default()
    );
    let stay = (Some(card.status), Some(card.status));
    record_history(batch, card, caller, Method::Admin, stay, reason);
}
