//! Migration: cards that arrive by import in their real state (issue 13),
//! checked against the invariants the lifecycle keeps, so an imported store
//! is one the API could have built:
//!
//! - a bound card's contact exists;
//! - a New card is bound to no contact;
//! - a Blocked card has a known block reason (and only a Blocked card has one);
//! - an Active card is bound to a contact whose registration is sufficient;
//! - a contact has at most one current card (one not blocked for replacement).
//!
//! The state columns give a NEW card its state. On a card that exists they
//! must say what is stored (so a file can be imported again after an
//! interruption); changing an existing card's state is the lifecycle API's job.

use super::lookup::blocked_for_replacement;
use super::parse::{invalid_field, parse_code, present, short};
use super::{record_history, Caller, CardRow, Failure, Tx, R};
use crate::domain::{ContactCode, Status};
use crate::rules::{Method, RuleSet};
use crate::store::{Batch, BlockRecord, CardRecord, StoreRead};
use crate::ErrorKey;
use std::collections::HashMap;

/// The state cells of a cards row, parsed (what needs no store).
#[derive(Debug, Clone)]
pub(super) struct CardState {
    status: Option<Status>,
    contact: Option<ContactCode>,
    /// The block reason's code as the rules spell it.
    reason: Option<String>,
    user: Option<String>,
    role: Option<String>,
    /// Who blocked, when the row does not say: the importing caller.
    caller: Caller,
}

/// A status cell: the wire code (`0`..`3`) or the rule files' name.
fn parse_status(cell: &str) -> R<Status> {
    let t = cell.trim();
    Status::ALL.into_iter().find(|s| s.code() == t).or_else(|| Status::from_ident(t)).ok_or_else(|| {
        Failure::new(
            ErrorKey::InvalidField,
            format!("Status {} is unknown; expected 0 (new), 1 (issued), 2 (active) or 3 (blocked)", short(t)),
        )
    })
}

fn state_error(message: String) -> Failure {
    Failure::new(ErrorKey::StatusError, message)
}

impl CardState {
    /// Parses the state cells in the order of their keys: `Status`
    /// (InvalidField), `ContactCode` (InvalidContactCode), `BlockReasonCode`
    /// (BlockReasonError), `BlockedByRole` (InvalidField).
    pub(super) fn parse(rules: &RuleSet, caller: &Caller, row: &CardRow) -> R<CardState> {
        let status = present(row.status.as_deref()).map(parse_status).transpose()?;
        let contact = present(row.contact.as_deref()).map(parse_code).transpose()?;
        let reason = match present(row.block_reason.as_deref()).map(str::trim) {
            None => None,
            Some(code) => match rules.block_reason(code) {
                Some(id) => Some(rules.block_reason_code(id).to_string()),
                None => {
                    return Err(Failure::new(
                        ErrorKey::BlockReasonError,
                        format!("block reason code {} is unknown", short(code)),
                    ))
                }
            },
        };
        let role = match present(row.blocked_by_role.as_deref()).map(str::trim) {
            None => None,
            Some(name) if rules.role(name).is_some() => Some(name.to_string()),
            Some(name) => {
                return Err(invalid_field("BlockedByRole", name, rules.role_names()));
            }
        };
        let user = present(row.blocked_by_user.as_deref()).map(|u| u.trim().to_string());
        Ok(CardState { status, contact, reason, user, role, caller: caller.clone() })
    }

    fn has_block_cells(&self) -> bool {
        self.reason.is_some() || self.user.is_some() || self.role.is_some()
    }

    /// Gives the new `card` this state, refusing one the lifecycle could not
    /// have made; `bindings` learns the binding. `lookup` finds the cards
    /// this call created (the store does not have them yet).
    pub(super) fn place(
        &self,
        r: &dyn StoreRead,
        rules: &RuleSet,
        card: &mut CardRecord,
        bindings: &mut Bindings,
        lookup: impl Fn(&str) -> Tx<Option<CardRecord>>,
    ) -> Tx<()> {
        let status = self.status.unwrap_or(Status::New);
        if status == Status::New && self.contact.is_some() {
            return Err(
                state_error("a New card cannot be bound to a contact; give Status 1 (issued) or later".into()).into()
            );
        }
        if status != Status::Blocked && self.has_block_cells() {
            return Err(state_error(format!(
                "BlockReasonCode, BlockedByUser and BlockedByRole belong to a Blocked card; this one's Status is {}",
                status.code()
            ))
            .into());
        }
        let reason = match (&self.reason, status) {
            (Some(r), Status::Blocked) => r.clone(),
            (None, Status::Blocked) => {
                return Err(Failure::new(ErrorKey::BlockReasonError, "a Blocked card needs its BlockReasonCode").into())
            }
            _ => String::new(),
        };
        let contact = match &self.contact {
            None => None,
            Some(code) => Some(r.contact(code.as_str())?.ok_or_else(|| {
                Failure::new(
                    ErrorKey::CannotFindContactCode,
                    format!("no contact with code {code}; import the contacts file first"),
                )
            })?),
        };
        if status == Status::Active {
            let Some(c) = &contact else {
                return Err(state_error("an Active card must be bound to a contact (ContactCode)".into()).into());
            };
            let missing: Vec<&str> =
                rules.required_fields().iter().map(String::as_str).filter(|f| c.field(f).trim().is_empty()).collect();
            if !missing.is_empty() {
                let verb = if missing.len() == 1 { "is" } else { "are" };
                return Err(state_error(format!(
                    "contact {}'s registration is not sufficient for an Active card: {} {verb} empty",
                    c.code,
                    missing.join(", ")
                ))
                .into());
            }
        }
        card.status = status;
        card.contact = contact.as_ref().map(|c| c.code.clone());
        if status == Status::Blocked {
            let user = self.user.clone().unwrap_or_else(|| self.caller.user.clone());
            let role = self.role.clone().unwrap_or_else(|| self.caller.role.clone());
            card.block = Some(BlockRecord { reason, user, role });
        }
        let Some(code) = card.contact.clone() else { return Ok(()) };
        if !blocked_for_replacement(rules, card) {
            // INVARIANT: a contact has at most one card not blocked for replacement.
            for n in bindings.cards_of(r, &code)?.clone() {
                let other = match lookup(&n)? {
                    Some(c) => Some(c),
                    None => r.card(&n)?,
                };
                if other.is_some_and(|o| !blocked_for_replacement(rules, &o)) {
                    return Err(Failure::new(
                        ErrorKey::ContactBindToAnotherCardNumber,
                        format!("contact {code} already has current card {n}; only one card per contact may be other than blocked for replacement"),
                    )
                    .into());
                }
            }
        }
        bindings.cards_of(r, &code)?;
        bindings.bind(&code, &card.number);
        Ok(())
    }

    /// On an existing card the state cells must say what is stored.
    pub(super) fn matches(&self, card: &CardRecord) -> R<()> {
        let block = card.block.as_ref();
        let differs = self.status.is_some_and(|s| s != card.status)
            || self.contact.as_ref().is_some_and(|c| card.contact.as_deref() != Some(c.as_str()))
            || self.reason.as_ref().is_some_and(|r| block.map(|b| &b.reason) != Some(r))
            || self.user.as_ref().is_some_and(|u| block.map(|b| &b.user) != Some(u))
            || self.role.as_ref().is_some_and(|r| block.map(|b| &b.role) != Some(r));
        if !differs {
            return Ok(());
        }
        let bound = card.contact.as_deref().map(|c| format!(", bound to {c}")).unwrap_or_default();
        Err(state_error(format!(
            "card {} exists with status {}{bound}; an import gives only new cards their state (change an existing card through the API)",
            card.number,
            card.status.code()
        )))
    }
}

/// The contacts' card lists this call reads and extends, each loaded on
/// first use.
#[derive(Default)]
pub(super) struct Bindings {
    /// Each list, and whether it gained a card in this call.
    lists: HashMap<String, (Vec<String>, bool)>,
    /// The contacts whose list gained a card, in first-gain order (so the
    /// batch is the same on every run of the transaction).
    gained: Vec<String>,
}

impl Bindings {
    fn cards_of(&mut self, r: &dyn StoreRead, code: &str) -> Tx<&Vec<String>> {
        if !self.lists.contains_key(code) {
            let stored = r.contact_cards(code)?;
            self.lists.insert(code.to_string(), (stored, false));
        }
        Ok(&self.lists[code].0)
    }

    /// Adds a card to a contact's list (loaded by [`Bindings::cards_of`]).
    fn bind(&mut self, code: &str, number: &str) {
        let (list, gained) = self.lists.entry(code.to_string()).or_default();
        debug_assert!(!list.iter().any(|n| n == number), "a card is bound to a contact once");
        list.push(number.to_string());
        if !*gained {
            *gained = true;
            self.gained.push(code.to_string());
        }
    }

    /// Writes every list that gained a card.
    pub(super) fn write(mut self, out: &mut Batch) {
        for code in self.gained {
            if let Some((list, _)) = self.lists.remove(&code) {
                out.put_contact_cards(&code, list);
            }
        }
    }
}

/// The new card's one history entry: `imported`, with what it arrived as.
pub(super) fn imported(caller: &Caller, out: &mut Batch, card: &mut CardRecord) {
    let mut reason = format!(
        "imported: category {}, type {}, status {}",
        card.category.code(),
        card.card_type.code(),
        card.status.code()
    );
    if let Some(c) = &card.contact {
        reason.push_str(&format!(", contact {c}"));
    }
    if let Some(b) = &card.block {
        reason.push_str(&format!(", blocked with reason {} by {} ({})", b.reason, b.user, b.role));
    }
    record_history(out, card, caller, Method::Admin, (None, Some(card.status)), reason);
}
