//! Finding cards and contacts through a read handle, with the SPEC key for
//! each way of not finding them.

use super::parse::parse_number;
use super::{Failure, Tx};
use crate::domain::{CardNumber, ContactCode, MobileNumber, Status};
use crate::rules::RuleSet;
use crate::store::{CardRecord, ContactRecord, Lot, StoreRead};
use crate::ErrorKey;

/// How a balance request names the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    Number(&'a str),
    Phone(&'a str),
    Code(&'a str),
    /// The source's `/balance/by/{value}`: a card number, else a contact code.
    Value(&'a str),
}

impl Lookup<'_> {
    /// An empty value (`/balance/by/number/`) is a missing parameter (SPEC
    /// §4), said as such rather than looked up as something else.
    pub(super) fn require_value(&self) -> Result<(), Failure> {
        let (value, what) = match *self {
            Lookup::Number(v) => (v, "the card number"),
            Lookup::Phone(v) => (v, "the mobile number"),
            Lookup::Code(v) => (v, "the contact code"),
            Lookup::Value(v) => (v, "the card number or contact code"),
        };
        if !value.is_empty() {
            return Ok(());
        }
        Err(Failure::new(ErrorKey::RequiredParameterNotSpecified, format!("{what} is missing from the path")))
    }
}

/// "No such card", the same words wherever a number finds nothing.
pub(crate) fn card_not_found(key: ErrorKey, number: impl std::fmt::Display) -> Failure {
    Failure::new(key, format!("no card with number {number}"))
}

pub(super) fn blocked_for_replacement(rules: &RuleSet, card: &CardRecord) -> bool {
    card.status == Status::Blocked && card.block.as_ref().is_some_and(|b| rules.is_replacement(&b.reason))
}

/// Whether the contact's registration is sufficient (SPEC §5.4).
pub(super) fn registered(rules: &RuleSet, contact: Option<&ContactRecord>) -> bool {
    contact.is_some_and(|c| rules.required_fields().iter().all(|f| !c.field(f).trim().is_empty()))
}

/// The contact's current card: its one card not blocked for replacement.
pub(super) fn current_card(r: &dyn StoreRead, rules: &RuleSet, code: &str) -> Tx<Option<CardRecord>> {
    for n in r.contact_cards(code)? {
        if let Some(card) = r.card(&n)? {
            if !blocked_for_replacement(rules, &card) {
                return Ok(Some(card));
            }
        }
    }
    Ok(None)
}

pub(super) fn card_by_number(r: &dyn StoreRead, number: &CardNumber, not_found: ErrorKey) -> Tx<CardRecord> {
    Ok(r.card(number.as_str())?.ok_or_else(|| card_not_found(not_found, number))?)
}

pub(super) fn contact_by_mobile(r: &dyn StoreRead, mobile: &MobileNumber) -> Tx<ContactRecord> {
    Ok(r.contact_by_mobile(mobile.as_str())?
        .ok_or_else(|| Failure::new(ErrorKey::CannotFindMobile, format!("no contact with mobile number {mobile}")))?)
}

/// The card a Block-style call names (SPEC §5.5 step 4): by number, or the
/// current card of the contact with this mobile; when both are given they
/// must belong together.
pub(super) fn identified_card(
    r: &dyn StoreRead,
    rules: &RuleSet,
    number: Option<&CardNumber>,
    mobile: Option<&MobileNumber>,
) -> Tx<CardRecord> {
    let card = number.map(|n| card_by_number(r, n, ErrorKey::CannotFindCardNumber)).transpose()?;
    let Some(m) = mobile else {
        return Ok(card.ok_or_else(|| Failure::new(ErrorKey::CannotFindCardNumber, "no card found"))?);
    };
    let contact = contact_by_mobile(r, m)?;
    match card {
        Some(c) if c.contact.as_deref() != Some(contact.code.as_str()) => Err(Failure::new(
            ErrorKey::CardNumberBindToAnotherContact,
            format!("card {} is not bound to the contact with mobile number {m}", c.number),
        )
        .into()),
        Some(c) => Ok(c),
        None => Ok(current_card(r, rules, &contact.code)?.ok_or_else(|| {
            Failure::new(ErrorKey::CannotFindCardNumber, format!("the contact with mobile number {m} has no card"))
        })?),
    }
}

/// As [`identified_card`], with the card's lots: by number alone, one
/// read of both (Calculate and Confirm need the lots).
pub(super) fn identified_card_and_lots(
    r: &dyn StoreRead,
    rules: &RuleSet,
    number: Option<&CardNumber>,
    mobile: Option<&MobileNumber>,
) -> Tx<(CardRecord, Vec<Lot>)> {
    if let (Some(n), None) = (number, mobile) {
        let found = r.card_and_lots(n.as_str())?;
        return Ok(found.ok_or_else(|| card_not_found(ErrorKey::CannotFindCardNumber, n))?);
    }
    let card = identified_card(r, rules, number, mobile)?;
    let lots = r.lots(&card.number)?;
    Ok((card, lots))
}

/// The card a balance request names (SPEC §5.1).
pub(super) fn balance_card(r: &dyn StoreRead, rules: &RuleSet, lookup: Lookup<'_>) -> Tx<CardRecord> {
    match lookup {
        Lookup::Number(n) => card_by_number(r, &parse_number(rules, n)?, ErrorKey::CannotFindCardNumber),
        Lookup::Phone(p) => {
            let mobile = super::parse::parse_mobile(rules, p)?;
            let not_found =
                || Failure::new(ErrorKey::CannotFindMobileNumber, format!("no card found for mobile number {mobile}"));
            let contact = r.contact_by_mobile(mobile.as_str())?.ok_or_else(not_found)?;
            Ok(current_card(r, rules, &contact.code)?.ok_or_else(not_found)?)
        }
        Lookup::Code(c) => {
            let code = super::parse::parse_code(c)?;
            let not_found =
                || Failure::new(ErrorKey::CannotFindContactCode, format!("no card found for contact code {code}"));
            let contact = r.contact(code.as_str())?.ok_or_else(not_found)?;
            Ok(current_card(r, rules, &contact.code)?.ok_or_else(not_found)?)
        }
        Lookup::Value(v) => card_by_value(r, rules, v),
    }
}

/// [decided] A valid, existing card number wins; else a contact code.
fn card_by_value(r: &dyn StoreRead, rules: &RuleSet, v: &str) -> Tx<CardRecord> {
    let as_number = CardNumber::parse(v, rules.card_format()).ok();
    if let Some(n) = &as_number {
        if let Some(card) = r.card(n.as_str())? {
            return Ok(card);
        }
    }
    let as_code = ContactCode::parse(v).ok();
    if as_number.is_none() && as_code.is_none() {
        return Err(parse_number(rules, v)
            .err()
            .unwrap_or_else(|| Failure::new(ErrorKey::InvalidCardNumber, "invalid card number"))
            .into());
    }
    if let Some(code) = &as_code {
        if let Some(contact) = r.contact(code.as_str())? {
            if let Some(card) = current_card(r, rules, &contact.code)? {
                return Ok(card);
            }
        }
    }
    Err(match as_number {
        Some(n) => card_not_found(ErrorKey::CannotFindCardNumber, n),
        None => Failure::new(ErrorKey::CannotFindContactCode, format!("no card found for contact code {v}")),
    }
    .into())
}
