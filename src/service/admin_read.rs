//! The administrator's reads (issue 13): one contact with its cards, one
//! card with its block and its lots' states, and the searches with cursor
//! paging. Every read is answered from committed state through the store's
//! point reads and indexes, never a scan of all records.

use super::lookup::card_not_found;
use super::parse::{parse_code, parse_mobile, parse_number};
use super::{access, Caller, CardService, Failure, R};
use crate::domain::{BonusState, Status};
use crate::rules::{Method, RuleSet};
use crate::store::{name_key, CardQuery, CardRecord, ContactQuery, ContactRecord, Lot, Page};
use crate::ErrorKey;
use chrono::NaiveDate;

/// Most items one search page holds.
pub const SEARCH_LIMIT_MAX: usize = 500;
/// Items a search page holds when the caller names no limit.
pub const SEARCH_LIMIT_DEFAULT: usize = 50;

/// A contact with its cards, as `GET /api/admin/contacts/{code}` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDetails {
    pub contact: ContactRecord,
    /// The cards bound to the contact, in binding order.
    pub cards: Vec<CardRecord>,
}

/// A lot with its state on the day asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotState {
    pub lot: Lot,
    pub state: BonusState,
}

/// A card as `GET /api/admin/cards/{number}` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    pub card: CardRecord,
    pub lots: Vec<LotState>,
}

/// What a contact search looks for; values as they came on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactSearch<'a> {
    /// The contact with this mobile number, in any notation.
    Phone(&'a str),
    CodePrefix(&'a str),
    /// Case-insensitive, Cyrillic included, spaces collapsed.
    NamePrefix(&'a str),
}

/// What a card search looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardSearch<'a> {
    /// A status code (`0`–`3` as the rules name them) or its name in the
    /// rule files (`new`, `issued`, `active`, `blocked`).
    Status(&'a str),
    /// The cards bound to this contact code.
    Contact(&'a str),
}

fn malformed(message: impl Into<String>) -> Failure {
    Failure::new(ErrorKey::MalformedRequest, message)
}

/// A page size from the wire: absent → the default; else 1..=max.
pub fn parse_limit(limit: Option<&str>) -> R<usize> {
    let Some(text) = limit.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(SEARCH_LIMIT_DEFAULT) };
    match text.parse::<usize>() {
        Ok(n) if (1..=SEARCH_LIMIT_MAX).contains(&n) => Ok(n),
        _ => Err(malformed(format!("limit must be a whole number from 1 to {SEARCH_LIMIT_MAX}"))),
    }
}

/// The status a card search names: the rules' code or the rule-file name.
fn parse_status(rules: &RuleSet, s: &str) -> R<Status> {
    let s = s.trim();
    Status::ALL.into_iter().find(|st| rules.status_code(*st) == s).or_else(|| Status::from_ident(s)).ok_or_else(|| {
        let codes: Vec<&str> = Status::ALL.iter().map(|st| rules.status_code(*st)).collect();
        malformed(format!(
            "status {} is unknown; use one of {} (or new, issued, active, blocked)",
            super::parse::short(s),
            codes.join(", ")
        ))
    })
}

impl CardService {
    /// A contact's fields and cards (`CannotFindContactCode` when unknown).
    pub fn contact_details(&self, caller: &Caller, code: &str) -> R<ContactDetails> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        let code = parse_code(code)?;
        let contact = self.store.contact(code.as_str())?.ok_or_else(|| contact_not_found(code.as_str()))?;
        let mut cards = Vec::new();
        for n in self.store.contact_cards(code.as_str())? {
            // The contact's list and the card are written in one batch: a
            // listed card that is missing would be damage, not a race.
            if let Some(card) = self.store.card(&n)? {
                cards.push(card);
            }
        }
        Ok(ContactDetails { contact, cards })
    }

    /// A card with its lots' states as of `today` (`CannotFindCardNumber`
    /// when unknown).
    pub fn card_details(&self, caller: &Caller, number: &str, today: NaiveDate) -> R<CardDetails> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        let number = parse_number(&rules, number)?;
        let card =
            self.store.card(number.as_str())?.ok_or_else(|| card_not_found(ErrorKey::CannotFindCardNumber, &number))?;
        let blocked = card.status == Status::Blocked;
        let freeze = rules.options().freeze_while_blocked;
        let lots = self
            .store
            .lots(number.as_str())?
            .into_iter()
            .map(|lot| LotState { state: lot.state(blocked, freeze, today), lot })
            .collect();
        Ok(CardDetails { card, lots })
    }

    /// One page of contacts matching `search`, after the cursor `after`.
    pub fn search_contacts(
        &self,
        caller: &Caller,
        search: ContactSearch<'_>,
        after: Option<&str>,
        limit: usize,
    ) -> R<Page<ContactRecord>> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        debug_assert!((1..=SEARCH_LIMIT_MAX).contains(&limit), "the wire checks the limit");
        let query = match search {
            ContactSearch::Phone(p) => {
                // A mobile number is unique: the page is that contact or nothing.
                let mobile = parse_mobile(&rules, p)?;
                let found = self.store.contact_by_mobile(mobile.as_str())?;
                let items = found.filter(|c| after.is_none_or(|a| c.code.as_str() > a)).into_iter().collect();
                return Ok(Page { items, next: None });
            }
            ContactSearch::CodePrefix(p) => ContactQuery::CodePrefix(p.to_string()),
            ContactSearch::NamePrefix(p) => {
                if name_key(p).is_empty() {
                    return Err(Failure::new(
                        ErrorKey::RequiredParameterNotSpecified,
                        "required parameter not specified: name",
                    ));
                }
                ContactQuery::NamePrefix(p.to_string())
            }
        };
        Ok(self.store.find_contacts(&query, after, limit)?)
    }

    /// One page of cards matching `search`, in number order, after `after`.
    pub fn search_cards(
        &self,
        caller: &Caller,
        search: CardSearch<'_>,
        after: Option<&str>,
        limit: usize,
    ) -> R<Page<CardRecord>> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Admin)?;
        debug_assert!((1..=SEARCH_LIMIT_MAX).contains(&limit), "the wire checks the limit");
        match search {
            CardSearch::Status(s) => {
                let status = parse_status(&rules, s)?;
                Ok(self.store.find_cards(&CardQuery::Status(status), after, limit)?)
            }
            CardSearch::Contact(code) => {
                let code = parse_code(code)?;
                // A contact has a handful of cards: its list is the index.
                let mut numbers = self.store.contact_cards(code.as_str())?;
                numbers.sort();
                numbers.retain(|n| after.is_none_or(|a| n.as_str() > a));
                let more = numbers.len() > limit;
                numbers.truncate(limit);
                let mut items = Vec::with_capacity(numbers.len());
                for n in &numbers {
                    if let Some(card) = self.store.card(n)? {
                        items.push(card);
                    }
                }
                let next = if more { numbers.last().cloned() } else { None };
                Ok(Page { items, next })
            }
        }
    }
}

pub(super) fn contact_not_found(code: &str) -> Failure {
    Failure::new(ErrorKey::CannotFindContactCode, format!("no contact with code {code}"))
}
