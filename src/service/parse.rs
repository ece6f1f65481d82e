//! Wire strings into domain values, and the checks of a call that need no
//! store, each with its SPEC key.

use super::admin::{BonusInput, ContactInput};
use super::{Failure, CUSTOM_FIELDS_MAX, FIELD_CHARS_MAX, R};
use crate::domain::{parse_date, BonusType, CardNumber, CardType, Category, ContactCode, Lot, MobileNumber, Money};
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
    // As money (SPEC §8.1): > 0, at most 2 fraction digits, at most
    // 1,000,000,000 — refused, never rounded.
    let amount = match present(input.amount.as_deref()) {
        None => return Err(Failure::new(ErrorKey::InvalidAmount, "Amount is required")),
        Some(a) => Money::parse(a).map_err(|e| Failure::new(ErrorKey::InvalidAmount, e.to_string()))?.amount(),
    };
    let bonus_type = match present(input.type_code.as_deref()) {
        None => BonusType::Monetary,
        Some(t) => BonusType::from_code(t.trim()).ok_or_else(|| {
            Failure::new(ErrorKey::InvalidTypeCode, format!("bonus type code {} is unknown", short(t)))
        })?,
    };
    let date =
        |name: &str, s: Option<&str>| -> R<Option<NaiveDate>> { present(s).map(|d| lot_date(name, d)).transpose() };
    let given_from = date("ActiveFrom", input.active_from.as_deref())?;
    let active_from = given_from.unwrap_or(today);
    let expire = date("ExpireDate", input.expire_date.as_deref())?;
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

/// The first and last day a lot's date may name: anything outside is a
/// typo (`0000-01-01`, `20226-01-01` cut short), not a plan.
const LOT_DATE_MIN: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid");
const LOT_DATE_MAX: NaiveDate = NaiveDate::from_ymd_opt(2999, 12, 31).expect("valid");

fn invalid_date(e: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorKey::InvalidDate, e.to_string())
}

/// `ActiveFrom` or `ExpireDate`: `YYYY-MM-DD` from 1900-01-01 to 2999-12-31.
fn lot_date(name: &str, text: &str) -> R<NaiveDate> {
    let d = parse_date(text).map_err(invalid_date)?;
    if !(LOT_DATE_MIN..=LOT_DATE_MAX).contains(&d) {
        return Err(invalid_date(format!("{name} {d} is outside {LOT_DATE_MIN} to {LOT_DATE_MAX}")));
    }
    Ok(d)
}

/// `BirthDate`: a real `YYYY-MM-DD` date from 1900-01-01 to today.
fn check_birth_date(text: &str, today: NaiveDate) -> R<()> {
    let d = parse_date(text).map_err(invalid_date)?;
    if d < LOT_DATE_MIN {
        return Err(invalid_date(format!("BirthDate {d} is before {LOT_DATE_MIN}")));
    }
    if d > today {
        return Err(invalid_date(format!("BirthDate {d} is in the future")));
    }
    Ok(())
}

/// `Email`: an address a well-kept parser (RFC 5322's addr-spec) accepts.
fn check_email(text: &str) -> R<()> {
    if email_address::EmailAddress::is_valid(text) {
        return Ok(());
    }
    Err(Failure::new(ErrorKey::InvalidEmail, format!("Email `{}` is not an e-mail address", short(text))))
}

/// `InvalidField` naming `given`, with the closest of `known` as a hint.
pub fn invalid_field<'a>(what: &str, given: &str, known: impl Iterator<Item = &'a str> + Clone) -> Failure {
    let list: Vec<&str> = known.clone().collect();
    let hint = match crate::domain::did_you_mean(given, known) {
        Some(s) => format!("; did you mean `{s}`?"),
        None if list.is_empty() => String::new(),
        None => format!("; expected one of {}", list.join(", ")),
    };
    Failure::new(ErrorKey::InvalidField, format!("{what} `{}` is unknown{hint}", short(given)))
}

/// `Gender`: one of registration.toml's `genders`, when it lists them.
fn check_gender(rules: &RuleSet, text: &str) -> R<()> {
    match rules.genders() {
        Some(g) if !g.iter().any(|x| x == text.trim()) => {
            Err(invalid_field("Gender", text, g.iter().map(String::as_str)))
        }
        _ => Ok(()),
    }
}

/// Custom fields under the names registration.toml's `extra_fields`
/// declares (matched case-insensitively, as every field name; kept in the
/// declared spelling). An undeclared name is `InvalidField`.
fn declared_fields(
    rules: &RuleSet,
    fields: std::collections::BTreeMap<String, String>,
) -> R<std::collections::BTreeMap<String, String>> {
    let declared = rules.extra_fields();
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in fields {
        let Some(name) = declared.iter().find(|d| d.eq_ignore_ascii_case(k.trim())) else {
            let f = invalid_field("custom field", &k, declared.iter().map(String::as_str));
            return Err(Failure::new(f.key, format!("{}; declare it in registration.toml extra_fields", f.message)));
        };
        out.insert(name.clone(), v);
    }
    Ok(out)
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
/// the code and the mobile, then (issue 13) Email, BirthDate, Gender and
/// custom fields declared. An empty value clears the field and is not checked.
pub(super) fn check_contact(
    rules: &RuleSet,
    code: &str,
    mut input: ContactInput,
    today: NaiveDate,
) -> R<CheckedContact> {
    check_contact_shape(&input)?;
    let code = parse_code(code)?;
    let mobile = present(input.mobile.as_deref()).map(|m| parse_mobile(rules, m)).transpose()?;
    if let Some(e) = present(input.email.as_deref()) {
        check_email(e)?;
    }
    if let Some(d) = present(input.birth_date.as_deref()) {
        check_birth_date(d, today)?;
    }
    if let Some(g) = present(input.gender.as_deref()) {
        check_gender(rules, g)?;
    }
    if let Some(fields) = input.fields.take() {
        input.fields = Some(declared_fields(rules, fields)?);
    }
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
