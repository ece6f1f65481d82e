//! The administrator's reads, searches and erasure on the wire (issue 13):
//! their query parameters and their answers' field names.
//!
//! A search's cursor (`Next` in an answer, `after` in the next request) is
//! the store's cursor in URL-safe base64, so a client passes it back as it
//! is, without escaping, whatever the names it orders by.

use super::wire::{amount_json, ok_json};
use crate::rules::RuleSet;
use crate::service::{parse_limit, CardDetails, CardSearch, ContactDetails, ContactSearch, Erased, Failure, LotState};
use crate::store::{CardRecord, ContactRecord, Page};
use crate::ErrorKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// What a contact search may be by.
pub const CONTACT_CRITERIA: [&str; 3] = ["phone", "code", "name"];
/// What a card search may be by.
pub const CARD_CRITERIA: [&str; 2] = ["status", "contact"];

/// The search parameters of a request, each `None` when absent or empty
/// (an empty value counts as missing, SPEC §4).
#[derive(Debug, Default)]
pub struct SearchParams {
    values: Vec<(String, String)>,
}

impl SearchParams {
    pub fn parse(query: &str) -> SearchParams {
        SearchParams {
            values: form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
        }
    }

    /// A parameter by name, matched case-insensitively; empty counts as absent.
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    pub fn limit(&self) -> Result<usize, Failure> {
        parse_limit(self.get("limit"))
    }

    /// The store's cursor from `after`.
    pub fn after(&self) -> Result<Option<String>, Failure> {
        let Some(text) = self.get("after") else { return Ok(None) };
        let bad =
            || Failure::new(ErrorKey::MalformedRequest, "after is not a cursor this server gave (`Next` of an answer)");
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| bad())?;
        // Any text is a position in the order (the page starts after it);
        // bytes that are not UTF-8 become U+FFFD rather than a refusal the
        // document could not describe.
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Whether `name` is in the query at all, empty or not.
    fn named(&self, name: &str) -> bool {
        self.values.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// The request's shape, checked before anything it asks for (HTTP 400
    /// first, as for bodies): only the search's own parameters (a misspelt
    /// one must not widen the search silently), at most one criterion
    /// named (even empty: `phone=&code=C` is two), a cursor, a limit.
    pub fn shape(&self, criteria: &[&str]) -> Result<(Option<String>, usize), Failure> {
        let known = || criteria.iter().chain(&["limit", "after"]);
        if let Some((k, _)) = self.values.iter().find(|(k, _)| !known().any(|n| n.eq_ignore_ascii_case(k))) {
            let names: Vec<&str> = known().copied().collect();
            return Err(Failure::new(
                ErrorKey::MalformedRequest,
                format!(
                    "unknown parameter `{}`; this search takes {}",
                    crate::domain::truncate_for_message(k),
                    names.join(", ")
                ),
            ));
        }
        if criteria.iter().filter(|n| self.named(n)).count() > 1 {
            let list = criteria.join(", ");
            return Err(Failure::new(
                ErrorKey::MalformedRequest,
                format!("search by one of {list}, not several at once"),
            ));
        }
        Ok((self.after()?, self.limit()?))
    }

    /// The one criterion among `names` that is given ([`Self::shape`] has
    /// made sure there is at most one).
    fn one_of<'a>(&'a self, names: &[&'a str]) -> Result<(&'a str, &'a str), Failure> {
        let given: Vec<(&str, &str)> = names.iter().filter_map(|n| self.get(n).map(|v| (*n, v))).collect();
        let list = names.join(", ");
        match given.as_slice() {
            [one] => Ok(*one),
            [] => Err(Failure::new(
                ErrorKey::RequiredParameterNotSpecified,
                format!("required parameter not specified: one of {list}"),
            )),
            _ => Err(Failure::new(ErrorKey::MalformedRequest, format!("search by one of {list}, not several at once"))),
        }
    }

    pub fn contact_search(&self) -> Result<ContactSearch<'_>, Failure> {
        Ok(match self.one_of(&CONTACT_CRITERIA)? {
            ("phone", v) => ContactSearch::Phone(v),
            ("code", v) => ContactSearch::CodePrefix(v),
            (_, v) => ContactSearch::NamePrefix(v),
        })
    }

    pub fn card_search(&self) -> Result<CardSearch<'_>, Failure> {
        Ok(match self.one_of(&CARD_CRITERIA)? {
            ("status", v) => CardSearch::Status(v),
            (_, v) => CardSearch::Contact(v),
        })
    }
}

fn cursor(next: &Option<String>) -> Option<String> {
    next.as_ref().map(|c| URL_SAFE_NO_PAD.encode(c.as_bytes()))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContactBody<'a> {
    code: &'a str,
    /// Empty when the contact has none (or it was erased).
    mobile_number: &'a str,
    name: &'a str,
    email: &'a str,
    birth_date: &'a str,
    gender: &'a str,
    city: &'a str,
    fields: &'a BTreeMap<String, String>,
}

fn contact_body(c: &ContactRecord) -> ContactBody<'_> {
    ContactBody {
        code: &c.code,
        mobile_number: c.mobile.as_deref().unwrap_or(""),
        name: &c.name,
        email: &c.email,
        birth_date: &c.birth_date,
        gender: &c.gender,
        city: &c.city,
        fields: &c.fields,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CardLine<'a> {
    number: &'a str,
    status_code: &'a str,
    status_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContactWithCards<'a> {
    #[serde(flatten)]
    contact: ContactBody<'a>,
    cards: Vec<CardLine<'a>>,
}

pub fn contact_json(rules: &RuleSet, d: &ContactDetails) -> Vec<u8> {
    let cards = d
        .cards
        .iter()
        .map(|c| CardLine {
            number: &c.number,
            status_code: rules.status_code(c.status),
            status_name: rules.status_name(c.status),
        })
        .collect();
    ok_json(ContactWithCards { contact: contact_body(&d.contact), cards })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BlockBody<'a> {
    reason_code: &'a str,
    reason_name: &'a str,
    user: &'a str,
    role: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LotBody<'a> {
    amount: Box<RawValue>,
    type_code: &'a str,
    type_name: &'a str,
    active_from: String,
    expire_date: Option<String>,
    frozen: bool,
    /// The lot's state today (SPEC §5.1 codes `0`–`3`).
    status_code: &'a str,
    status_name: &'a str,
    /// The receipt whose sale accrued the lot, if any.
    receipt_id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CardBody<'a> {
    number: &'a str,
    status_code: &'a str,
    status_name: &'a str,
    category_code: &'a str,
    category_name: &'a str,
    type_code: &'a str,
    type_name: &'a str,
    /// The bound contact's code, `null` when unbound.
    contact_code: Option<&'a str>,
}

fn card_body<'a>(rules: &'a RuleSet, c: &'a CardRecord) -> CardBody<'a> {
    CardBody {
        number: &c.number,
        status_code: rules.status_code(c.status),
        status_name: rules.status_name(c.status),
        category_code: c.category.code(),
        category_name: rules.category_name(c.category),
        type_code: c.card_type.code(),
        type_name: rules.card_type_name(c.card_type),
        contact_code: c.contact.as_deref(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CardWithLots<'a> {
    #[serde(flatten)]
    card: CardBody<'a>,
    /// Set while the card is Blocked.
    block: Option<BlockBody<'a>>,
    lots: Vec<LotBody<'a>>,
}

fn lot_body<'a>(rules: &'a RuleSet, l: &'a LotState) -> LotBody<'a> {
    let date = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    LotBody {
        amount: amount_json(l.lot.amount),
        type_code: l.lot.bonus_type.code(),
        type_name: rules.bonus_type_name(l.lot.bonus_type),
        active_from: date(l.lot.active_from),
        expire_date: l.lot.expire.map(date),
        frozen: l.lot.frozen,
        status_code: l.state.code(),
        status_name: rules.bonus_state_name(l.state),
        receipt_id: l.lot.receipt.as_deref(),
    }
}

pub fn card_json(rules: &RuleSet, d: &CardDetails) -> Vec<u8> {
    let block = d.card.block.as_ref().map(|b| BlockBody {
        reason_code: &b.reason,
        // A reason the rules no longer name keeps its code; its name is empty.
        reason_name: rules.block_reason(&b.reason).map_or("", |r| rules.block_reason_name(r)),
        user: &b.user,
        role: &b.role,
    });
    let lots = d.lots.iter().map(|l| lot_body(rules, l)).collect();
    ok_json(CardWithLots { card: card_body(rules, &d.card), block, lots })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContactPage<'a> {
    contacts: Vec<ContactBody<'a>>,
    /// The `after` of the next page; `null` on the last one.
    next: Option<String>,
}

pub fn contact_page_json(page: &Page<ContactRecord>) -> Vec<u8> {
    ok_json(ContactPage { contacts: page.items.iter().map(contact_body).collect(), next: cursor(&page.next) })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CardPage<'a> {
    cards: Vec<CardBody<'a>>,
    next: Option<String>,
}

pub fn card_page_json(rules: &RuleSet, page: &Page<CardRecord>) -> Vec<u8> {
    ok_json(CardPage { cards: page.items.iter().map(|c| card_body(rules, c)).collect(), next: cursor(&page.next) })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErasedBody<'a> {
    code: &'a str,
    /// False when nothing personal was left to erase.
    erased: bool,
    /// The contact's cards (each got a history entry when `Erased`).
    cards: &'a [String],
}

pub fn erased_json(code: &str, e: &Erased) -> Vec<u8> {
    ok_json(ErasedBody { code, erased: e.changed, cards: &e.cards })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_through_base64_whatever_it_holds() {
        let store_cursor = "иванов пётр\u{0}C-1".to_string();
        let wire = cursor(&Some(store_cursor.clone())).unwrap();
        assert!(wire.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{wire}");
        let params = SearchParams::parse(&format!("After={wire}"));
        assert_eq!(params.after().unwrap(), Some(store_cursor));
        assert_eq!(SearchParams::parse("after=%%%").after().unwrap_err().key, ErrorKey::MalformedRequest);
        assert_eq!(SearchParams::parse("after=").after().unwrap(), None);
    }

    #[test]
    fn a_search_takes_exactly_one_criterion() {
        assert_eq!(SearchParams::parse("name=%D0%98").contact_search().unwrap(), ContactSearch::NamePrefix("И"));
        let none = SearchParams::parse("limit=5&code=").contact_search().unwrap_err();
        assert_eq!(none.key, ErrorKey::RequiredParameterNotSpecified);
        let two = SearchParams::parse("status=1&contact=C").card_search().unwrap_err();
        assert_eq!(two.key, ErrorKey::MalformedRequest);
    }

    #[test]
    fn the_shape_refuses_unknown_parameters_and_two_criteria_even_empty_ones() {
        let shape = |q: &str| SearchParams::parse(q).shape(&CONTACT_CRITERIA).map_err(|f| (f.key, f.message));
        assert_eq!(shape("Name=x&LIMIT=5").unwrap(), (None, 5));
        let (key, why) = shape("nmae=x").unwrap_err();
        assert_eq!(key, ErrorKey::MalformedRequest);
        assert!(why.contains("unknown parameter `nmae`"), "{why}");
        assert_eq!(shape("phone=&code=C").unwrap_err().0, ErrorKey::MalformedRequest);
        assert_eq!(shape("code=C&limit=501").unwrap_err().0, ErrorKey::MalformedRequest);
        // One criterion, even empty, is the method's key (SPEC §4), not a 400.
        assert!(shape("phone=").is_ok());
    }
}
