//! The card lifecycle of SPEC §5.2–5.6: Issue, Active, BindTo, Block and
//! UnBlock, each a decision of the rules applied to a card read through the
//! transaction's handle.

use super::lookup::{blocked_for_replacement, card_by_number, contact_by_mobile, identified_card, registered};
use super::parse::{missing_parameters, parse_mobile, parse_number, present, required, short};
use super::{access, record_history, Caller, CardService, Done, Failure, Tx, R};
use crate::domain::{Amount, Status};
use crate::rules::{BlockFacts, Decision, Facts, Method, Outcome, RoleId, RuleSet};
use crate::store::{Batch, BlockRecord, CardRecord, ContactRecord, StoreRead};
use crate::ErrorKey;

impl CardService {
    /// Issue: New → Issued (SPEC §5.2).
    pub fn issue(&self, caller: &Caller, number: Option<&str>) -> R<Done> {
        self.simple_transition(caller, Method::Issue, number, ErrorKey::CardNumberCannotFind)
    }

    /// Active: Issued → Active once bound and registered (SPEC §5.4).
    pub fn active(&self, caller: &Caller, number: Option<&str>) -> R<Done> {
        self.simple_transition(caller, Method::Active, number, ErrorKey::CannotFindCardNumber)
    }

    fn simple_transition(&self, caller: &Caller, method: Method, number: Option<&str>, not_found: ErrorKey) -> R<Done> {
        let rules = self.rules.current();
        let role = access(&rules, caller, method)?;
        required(&[("Number", number)])?;
        let number = parse_number(&rules, number.unwrap_or(""))?;
        self.write(|r, out| {
            let mut card = card_by_number(r, &number, not_found)?;
            let contact = r.bound_contact(&card)?;
            let facts = Facts {
                method,
                status: card.status,
                bound: card.contact.is_some(),
                registered: registered(&rules, contact.as_ref()),
                role,
                reason: None,
                block: None,
            };
            let d = rules.decide(&facts);
            apply_status(&rules, caller, &facts, &d, &mut card, String::new(), out)
        })
    }

    /// BindTo: binds the card to the contact with this mobile (SPEC §5.3).
    pub fn bind_to(&self, caller: &Caller, number: Option<&str>, mobile: Option<&str>) -> R<Done> {
        let rules = self.rules.current();
        let role = access(&rules, caller, Method::BindTo)?;
        required(&[("Number", number), ("MobileNumber", mobile)])?;
        let number = parse_number(&rules, number.unwrap_or(""))?;
        let mobile = parse_mobile(&rules, mobile.unwrap_or(""))?;
        self.write(|r, out| {
            let mut card = card_by_number(r, &number, ErrorKey::CannotFindCardNumber)?;
            let contact = contact_by_mobile(r, &mobile)?;
            let registered = registered(&rules, Some(&contact));
            let facts = Facts {
                method: Method::BindTo,
                status: card.status,
                bound: card.contact.is_some(),
                registered,
                role,
                reason: None,
                block: None,
            };
            let d = rules.decide(&facts);
            if let Outcome::Refuse(key) = d.outcome {
                return Err(Failure::new(key, rules.explain(&facts, &d, card.number.as_str())).into());
            }
            if card.contact.as_ref().is_some_and(|other| *other != contact.code) {
                return Err(Failure::new(
                    ErrorKey::CardNumberBindToAnotherContact,
                    format!("card {number} is bound to another contact"),
                )
                .into());
            }
            let replaced = replaced_cards(r, &rules, &contact, &card)?;
            if card.contact.is_some() {
                // Already bound to this contact: OK, no change.
                return Ok(Done { changed: false, status: card.status });
            }
            let to = bound_status(&rules, &d, role, registered, card.status);
            bind(r, &rules, caller, &mut card, &contact, to, replaced, out)
        })
    }

    /// Block (SPEC §5.5).
    pub fn block(&self, caller: &Caller, number: Option<&str>, mobile: Option<&str>, reason: Option<&str>) -> R<Done> {
        self.block_or_unblock(caller, Method::Block, number, mobile, reason)
    }

    /// UnBlock (SPEC §5.6).
    pub fn unblock(
        &self,
        caller: &Caller,
        number: Option<&str>,
        mobile: Option<&str>,
        reason: Option<&str>,
    ) -> R<Done> {
        self.block_or_unblock(caller, Method::UnBlock, number, mobile, reason)
    }

    fn block_or_unblock(
        &self,
        caller: &Caller,
        method: Method,
        number: Option<&str>,
        mobile: Option<&str>,
        reason: Option<&str>,
    ) -> R<Done> {
        let rules = self.rules.current();
        let role = access(&rules, caller, method)?;
        let (reason_param, reason_key, what) = match method {
            Method::Block => ("BlockReasonCode", ErrorKey::BlockReasonError, "block"),
            _ => ("UnBlockReasonCode", ErrorKey::UnBlockReasonError, "unblock"),
        };
        let (number, mobile) = (present(number), present(mobile));
        let mut missing = Vec::new();
        if number.is_none() && mobile.is_none() {
            missing.push("Number or ContactMobileNumber");
        }
        if present(reason).is_none() {
            missing.push(reason_param);
        }
        missing_parameters(&missing)?;
        let number = number.map(|n| parse_number(&rules, n)).transpose()?;
        let mobile = mobile.map(|m| parse_mobile(&rules, m)).transpose()?;
        let reason_code = reason.unwrap_or("").trim();
        let reason_id = match method {
            Method::Block => rules.block_reason(reason_code),
            _ => rules.unblock_reason(reason_code),
        };
        let Some(reason_id) = reason_id else {
            return Err(Failure::new(reason_key, format!("{what} reason code {} is unknown", short(reason_code))));
        };
        let reason_text = match method {
            Method::Block => format!("{} {}", rules.block_reason_code(reason_id), rules.block_reason_name(reason_id)),
            _ => format!("{} {}", rules.unblock_reason_code(reason_id), rules.unblock_reason_name(reason_id)),
        };
        self.write(|r, out| {
            let mut card = identified_card(r, &rules, number.as_ref(), mobile.as_ref())?;
            let contact = r.bound_contact(&card)?;
            let block = card
                .block
                .as_ref()
                .map(|b| BlockFacts { reason: rules.block_reason(&b.reason), blocker: rules.role(&b.role) });
            let facts = Facts {
                method,
                status: card.status,
                bound: card.contact.is_some(),
                registered: registered(&rules, contact.as_ref()),
                role,
                reason: Some(reason_id),
                block,
            };
            let d = rules.decide(&facts);
            if method == Method::Block && d.outcome == Outcome::To(Status::Blocked) {
                card.block = Some(BlockRecord {
                    reason: rules.block_reason_code(reason_id).to_string(),
                    user: caller.user.clone(),
                    role: caller.role.clone(),
                });
            }
            apply_status(&rules, caller, &facts, &d, &mut card, reason_text.clone(), out)
        })
    }
}

/// Turns a decision into a write in `out` (or a refusal).
fn apply_status(
    rules: &RuleSet,
    caller: &Caller,
    facts: &Facts,
    d: &Decision,
    card: &mut CardRecord,
    reason: String,
    out: &mut Batch,
) -> Tx<Done> {
    match d.outcome {
        Outcome::Refuse(key) => Err(Failure::new(key, rules.explain(facts, d, &card.number)).into()),
        Outcome::Stay => Ok(Done { changed: false, status: card.status }),
        Outcome::To(to) => {
            let from = card.status;
            card.status = to;
            if facts.method != Method::Block && to != Status::Blocked {
                card.block = None;
            }
            record_history(out, card, caller, facts.method, (Some(from), Some(to)), reason);
            out.put_card(card.clone());
            Ok(Done { changed: from != to, status: to })
        }
    }
}

/// The contact's other cards, which must all be blocked for replacement
/// (`ContactBindToAnotherCardNumber` otherwise): their bonuses follow.
fn replaced_cards(
    r: &dyn StoreRead,
    rules: &RuleSet,
    contact: &ContactRecord,
    card: &CardRecord,
) -> Tx<Vec<CardRecord>> {
    let mut replaced = Vec::new();
    for n in r.contact_cards(&contact.code)? {
        if n == card.number {
            continue;
        }
        let Some(c) = r.card(&n)? else { continue };
        if !blocked_for_replacement(rules, &c) {
            return Err(Failure::new(
                ErrorKey::ContactBindToAnotherCardNumber,
                format!("the contact already has card {n}; block it for replacement before binding a new card"),
            )
            .into());
        }
        replaced.push(c);
    }
    Ok(replaced)
}

/// The status a card binds into: the decision's, then Active when the
/// rules activate on binding and allow it.
fn bound_status(rules: &RuleSet, d: &Decision, role: RoleId, registered: bool, status: Status) -> Status {
    let to = match d.outcome {
        Outcome::To(s) => s,
        _ => status,
    };
    if !rules.options().auto_activate {
        return to;
    }
    let f = Facts { method: Method::Active, status: to, bound: true, registered, role, reason: None, block: None };
    match rules.decide(&f).outcome {
        Outcome::To(s) => s,
        _ => to,
    }
}

/// Binds the card and, when the rules say so, moves the replaced cards'
/// lots to it, each move in both cards' history.
#[allow(clippy::too_many_arguments)]
fn bind(
    r: &dyn StoreRead,
    rules: &RuleSet,
    caller: &Caller,
    card: &mut CardRecord,
    contact: &ContactRecord,
    to: Status,
    replaced: Vec<CardRecord>,
    batch: &mut Batch,
) -> Tx<Done> {
    let from = card.status;
    card.contact = Some(contact.code.clone());
    card.status = to;
    let reason = format!("bound to contact {}", contact.code);
    record_history(batch, card, caller, Method::BindTo, (Some(from), Some(to)), reason);
    if rules.options().move_lots_on_replacement {
        let mut lots = r.lots(&card.number)?;
        for mut old in replaced {
            let moved = r.lots(&old.number)?;
            if moved.is_empty() {
                continue;
            }
            let total = moved.iter().fold(Amount::ZERO, |a, l| a.plus(l.amount));
            lots.extend(moved);
            batch.put_lots(&old.number, Vec::new());
            let stay = (Some(old.status), Some(old.status));
            let text = format!("{total} bonuses moved to replacement card {}", card.number);
            record_history(batch, &mut old, caller, Method::BindTo, stay, text);
            let text = format!("{total} bonuses moved from replaced card {}", old.number);
            record_history(batch, card, caller, Method::BindTo, (Some(to), Some(to)), text);
            batch.put_card(old);
        }
        batch.put_lots(&card.number, lots);
    }
    let mut cards = r.contact_cards(&contact.code)?;
    cards.push(card.number.clone());
    batch.put_contact_cards(&contact.code, cards);
    batch.put_card(card.clone());
    Ok(Done { changed: true, status: to })
}
