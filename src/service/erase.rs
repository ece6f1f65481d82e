//! Personal-data erasure (issue 13, the customer's right to it): a
//! contact keeps its code, its cards and their lots and history; its name,
//! e-mail, birth date, gender, city, custom fields and mobile number go,
//! and the number is free for another contact at once.
//!
//! One batch, so all or nothing and durable before the answer: the
//! emptied contact (the phone index entry goes with the number) and one
//! history entry on each of its cards. History entries name no personal
//! data (their texts are made of codes, card numbers and amounts), so they
//! are kept as they are.

use super::admin_read::contact_not_found;
use super::parse::parse_code;
use super::{access, record_history, Caller, CardService, R};
use crate::rules::Method;
use crate::store::{ContactRecord, ContactWrite};

/// The history text of an erasure.
pub const ERASED_REASON: &str = "personal data of the contact erased";

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    /// False when there was nothing personal left to erase.
    pub changed: bool,
    /// The contact's cards, each of which got a history entry when `changed`.
    pub cards: Vec<String>,
}

/// The contact with nothing personal: only its code stays.
fn emptied(code: &str) -> ContactRecord {
    ContactRecord { code: code.to_string(), ..Default::default() }
}

impl CardService {
    /// Erases a contact's personal data (`CannotFindContactCode` when unknown).
    pub fn erase_contact(&self, caller: &Caller, code: &str) -> R<Erased> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        let code = parse_code(code)?;
        self.write(|r, out| {
            let old = r.contact(code.as_str())?.ok_or_else(|| contact_not_found(code.as_str()))?;
            let cards = r.contact_cards(code.as_str())?;
            let record = emptied(code.as_str());
            if old == record {
                return Ok(Erased { changed: false, cards });
            }
            out.put_contact(ContactWrite { record, old_mobile: old.mobile.clone() });
            for number in &cards {
                let Some(mut card) = r.card(number)? else { continue };
                let stay = (Some(card.status), Some(card.status));
                record_history(out, &mut card, caller, Method::Admin, stay, ERASED_REASON.to_string());
                out.put_card(card);
            }
            debug_assert!(out.contacts.iter().all(|w| w.record.mobile.is_none() && w.record.name.is_empty()));
            Ok(Erased { changed: true, cards })
        })
    }
}
