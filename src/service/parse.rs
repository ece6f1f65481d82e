//! Wire strings into domain values, and the checks of a call that need no
//! store, each with its SPEC key.

use super::admin::{BonusInput, ContactInput};
use super::{Failure, CUSTOM_FIELDS_MAX, FIELD_CHARS_MAX, R};
use crate::domain::{parse_date, Amount, BonusType, CardNumber, CardType, Category, ContactCode, Lot, MobileNumber};
use crate::rules::RuleSet;
use crate::ErrorKey;
use chrono::NaiveDate;

/// `RequiredParameterNotSpecified` naming every missing (or empty) one.
pub(super) fn required(pairs: &[(&str, Option<&str>)]) -> R<()> {
    let missing: Vec<&str> =
        pairs.iter().filter(|(_, v)| v.is_none_or(|s| s.trim().is_empty())).map(|(n, _)| *n).collect();
    missing_parameters(&missing)
}

pub(super) fn missing_parameters(missing: &[&str]) -> R<()> {
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        ErrorKey::RequiredParameterNotSpecified,
        format!("required parameter not specified: {}", missing.join(", ")),
    ))
}

/// An empty string counts as a missing parameter (SPEC §4).
pub(super) fn present(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.trim().is_empty())
}

pub(super) fn short(s: &str) -> String {
    crate::domain::truncate_for_message(s)
}

pub fn parse_number(rules: &RuleSet, s: &str) -> R<CardNumber> {
    CardNumber::parse(s, rules.card_format()).map_err(|e| Failure::new(ErrorKey::InvalidCardNumber, e.to_string()))
}

pub fn parse_mobile(rules: &RuleSet, s: &str) -> R<MobileNumber> {
    MobileNumber::parse(s, rules.region()).map_err(|e| Failure::new(ErrorKey::InvalidMobileNumber, e.to_string()))
}

pub fn parse_code(s: &str) -> R<ContactCode> {
    ContactCode::parse(s).map_err(|e| Failure::new(ErrorKey::InvalidContactCode, e.to_string()))
}

/// A card category code; empty or absent → `None` (keep).
pub fn parse_category(c: Option<&str>) -> R<Option<Category>> {
    optional_code(c, Category::from_code, ErrorKey::InvalidCategoryCode, "category code")
}

/// A card type code; empty or absent → `None` (keep).
pub fn parse_card_type(c: Option<&str>) -> R<Option<CardType>> {
    optional_code(c, CardType::from_code, ErrorKey::InvalidTypeCode, "card type code")
}

/// An optional code: empty or absent → `None`; unknown → `key`.
fn optional_code<C>(c: Option<&str>, from_code: fn(&str) -> Option<C>, key: ErrorKey, what: &str) -> R<Option<C>> {
    present(c)
        .map(|c| from_code(c.trim()).ok_or_else(|| Failure::new(key, format!("{what} {} is unknown", short(c)))))
        .transpose()
}

/// Parses a lot in SPEC's order: amount, type, dates.
pub fn parse_lot(input: &BonusInput, today: NaiveDate) -> R<Lot> {
    let amount = match present(input.amount.as_deref()) {
        None => return Err(Failure::new(ErrorKey::InvalidAmount, "Amount is required")),
        Some(a) => Amount::parse(a).map_err(|e| Failure::new(ErrorKey::InvalidAmount, e.to_string()))?,
    };
    if amount == Amount::ZERO {
        return Err(Failure::new(ErrorKey::InvalidAmount, "amount must be greater than zero"));
    }
    let bonus_type = match present(input.type_code.as_deref()) {
        None => BonusType::Monetary,
        Some(t) => BonusType::from_code(t.trim()).ok_or_else(|| {
            Failure::new(ErrorKey::InvalidTypeCode, format!("bonus type code {} is unknown", short(t)))
        })?,
    };
    let date = |s: Option<&str>| -> R<Option<NaiveDate>> {
        present(s).map(|d| parse_date(d).map_err(|e| Failure::new(ErrorKey::InvalidDate, e.to_string()))).transpose()
    };
    let given_from = date(input.active_from.as_deref())?;
    let active_from = given_from.unwrap_or(today);
    let expire = date(input.expire_date.as_deref())?;
    // Only a stated ActiveFrom can contradict ExpireDate: a lot loaded after
    // it expired (ActiveFrom defaulting to today) is valid and shows burned.
    if let (Some(e), Some(_)) = (expire, given_from) {
        if e < active_from {
            return Err(Failure::new(
                ErrorKey::InvalidDate,
                format!("ExpireDate {e} is before ActiveFrom {active_from}"),
            ));
        }
    }
    Ok(Lot { amount, bonus_type, active_from, expire, frozen: input.frozen, receipt: None })
}

fn check_field_value(v: &str) -> R<()> {
    if v.chars().count() > FIELD_CHARS_MAX {
        return Err(Failure::new(
            ErrorKey::MalformedRequest,
            format!("a contact field may be at most {FIELD_CHARS_MAX} characters"),
        ));
    }
    Ok(())
}

/// A contact create-or-update that passed every check needing no store.
#[derive(Debug, Clone)]
pub(super) struct CheckedContact {
    pub code: ContactCode,
    pub mobile: Option<MobileNumber>,
    pub input: ContactInput,
}

/// The checks of a contact write that need no store: first the body's shape
/// (field lengths, custom field names: `MalformedRequest`, HTTP 400, which
/// comes before a method's own checks as every 400 does), then in SPEC order
/// the code and the mobile.
pub(super) fn check_contact(rules: &RuleSet, code: &str, input: ContactInput) -> R<CheckedContact> {
    check_contact_shape(&input)?;
    let code = parse_code(code)?;
    let mobile = present(input.mobile.as_deref()).map(|m| parse_mobile(rules, m)).transpose()?;
    Ok(CheckedContact { code, mobile, input })
}

fn check_contact_shape(input: &ContactInput) -> R<()> {
    for v in [&input.name, &input.email, &input.birth_date, &input.gender, &input.city].into_iter().flatten() {
        check_field_value(v)?;
    }
    if let Some(fields) = &input.fields {
        if fields.len() > CUSTOM_FIELDS_MAX {
            return Err(Failure::new(ErrorKey::MalformedRequest, format!("at most {CUSTOM_FIELDS_MAX} custom fields")));
        }
        for (k, v) in fields {
            if k.trim().is_empty() || k.chars().count() > 64 {
                return Err(Failure::new(ErrorKey::MalformedRequest, "custom field names must be 1-64 characters"));
            }
            check_field_value(v)?;
        }
    }
    Ok(())
}
