//! The card operations of SPEC.md §5 and §7: parse the input, load the card,
//! ask the rules, write state and history in one atomic batch, wait until it
//! is durable. The only module that combines rules and store.
//!
//! Checks run in SPEC.md's order; the first that fails answers. A refused call
//! changes nothing.

mod balance;
mod bulk;

pub use balance::{Balance, BonusLine};
pub use bulk::{BonusRow, CardRow, ContactRow};

use crate::domain::{parse_date, Amount, BonusType, CardNumber, CardType, Category, ContactCode, MobileNumber, Status};
use crate::rules::{BlockFacts, Decision, Facts, Method, Outcome, RuleHandle, RuleSet};
use crate::store::{Batch, BlockRecord, CardRecord, ContactRecord, ContactWrite, HistoryEntry, Lot, Store, StoreError};
use crate::ErrorKey;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Longest value of a contact field, in characters.
pub const FIELD_CHARS_MAX: usize = 1024;
/// Most custom fields a contact may carry.
pub const CUSTOM_FIELDS_MAX: usize = 64;

/// Who is calling: the rules get the role, the history gets both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: String,
    pub role: String,
}

impl Caller {
    pub fn new(user: impl Into<String>, role: impl Into<String>) -> Caller {
        Caller { user: user.into(), role: role.into() }
    }
}

/// A refused call: one of SPEC's keys and a sentence for `Value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub key: ErrorKey,
    pub message: String,
}

impl Failure {
    pub fn new(key: ErrorKey, message: impl Into<String>) -> Failure {
        Failure { key, message: message.into() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for Failure {}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        tracing::error!(error = %e, "store failure");
        Failure::new(ErrorKey::InternalError, "internal error")
    }
}

/// What a state-changing call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// False when the call was an allowed no-op (already in that state).
    pub changed: bool,
    /// The card's status afterwards.
    pub status: Status,
}

/// How a balance request names the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    Number(&'a str),
    Phone(&'a str),
    Code(&'a str),
    /// The source's `/balance/by/{value}`: a card number, else a contact code.
    Value(&'a str),
}

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

type R<T> = Result<T, Failure>;

fn required(pairs: &[(&str, Option<&str>)]) -> R<()> {
    let missing: Vec<&str> =
        pairs.iter().filter(|(_, v)| v.is_none_or(|s| s.trim().is_empty())).map(|(n, _)| *n).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(
            ErrorKey::RequiredParameterNotSpecified,
            format!("required parameter not specified: {}", missing.join(", ")),
        ))
    }
}

fn present(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.trim().is_empty())
}

/// The card service. Cheap to share behind an `Arc`.
pub struct CardService {
    store: Arc<dyn Store>,
    rules: Arc<RuleHandle>,
}

impl CardService {
    pub fn new(store: Arc<dyn Store>, rules: Arc<RuleHandle>) -> CardService {
        CardService { store, rules }
    }

    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.current()
    }

    pub fn rule_handle(&self) -> &Arc<RuleHandle> {
        &self.rules
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// "Today" in the rules' time zone.
    pub fn today(&self) -> NaiveDate {
        self.rules.current().zone().today()
    }

    /// May this caller call this method at all? (AccessDenied otherwise.)
    /// The HTTP layer asks before reading a body, so a 403 comes before 413/400.
    pub fn check_access(&self, caller: &Caller, method: Method) -> R<()> {
        self.access(&self.rules.current(), caller, method).map(|_| ())
    }

    fn access(&self, rules: &RuleSet, caller: &Caller, method: Method) -> R<crate::rules::RoleId> {
        match rules.role(&caller.role) {
            Some(r) if rules.may_call(r, method) => Ok(r),
            Some(_) => Err(Failure::new(
                ErrorKey::AccessDenied,
                format!("the role `{}` may not call {}", caller.role, method.name()),
            )),
            None => {
                Err(Failure::new(ErrorKey::AccessDenied, format!("the role `{}` is not in the rules", caller.role)))
            }
        }
    }

    fn registered(&self, rules: &RuleSet, contact: Option<&ContactRecord>) -> bool {
        contact.is_some_and(|c| rules.required_fields().iter().all(|f| !c.field(f).trim().is_empty()))
    }

    fn bound_contact(&self, card: &CardRecord) -> R<Option<ContactRecord>> {
        match &card.contact {
            Some(code) => Ok(self.store.contact(code)?),
            None => Ok(None),
        }
    }

    /// The contact's current card: its one card not blocked for replacement.
    fn current_card(&self, rules: &RuleSet, code: &str) -> R<Option<CardRecord>> {
        for n in self.store.contact_cards(code)? {
            if let Some(card) = self.store.card(&n)? {
                if !blocked_for_replacement(rules, &card) {
                    return Ok(Some(card));
                }
            }
        }
        Ok(None)
    }

    /// Appends one entry to the card's history in the batch and advances the
    /// card's sequence; every history write goes through here.
    fn record_history(
        batch: &mut Batch,
        card: &mut CardRecord,
        caller: &Caller,
        method: Method,
        from: Option<Status>,
        to: Option<Status>,
        reason: String,
    ) {
        let entry = HistoryEntry {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            user: caller.user.clone(),
            role: caller.role.clone(),
            method: method.name().to_string(),
            from,
            to,
            reason,
        };
        batch.history.push((card.number.clone(), card.history_len, entry));
        card.history_len += 1;
    }

    /// Runs one state change: `f` reads the store, puts what it writes in
    /// the batch it is given, and returns the answer. It runs alone against
    /// every earlier change ([`Store::transact`]), so what it read is what
    /// it overwrites; its batch is committed all or nothing, or not at all
    /// when `f` refuses (returns `Err`). The answer is given only once the
    /// change, and the state it was decided on, is durable. `f` may run on
    /// another caller's thread; concurrent changes share one flush.
    fn write<T: Send>(&self, f: impl FnOnce(&mut Batch) -> R<T> + Send) -> R<T> {
        let mut f = Some(f);
        let mut answer: Option<R<T>> = None;
        self.store.transact(&mut || {
            let f = f.take()?;
            let mut batch = Batch::default();
            let result = f(&mut batch);
            let write = result.is_ok() && !batch.is_empty();
            answer = Some(result);
            write.then_some(batch)
        })?;
        answer.unwrap_or_else(|| Err(Failure::new(ErrorKey::InternalError, "the change was never run")))
    }

    // ---------------------------------------------------------------- balance

    /// The balance as of `today` (SPEC §5.1).
    pub fn balance(&self, caller: &Caller, lookup: Lookup<'_>, today: NaiveDate) -> R<Balance> {
        let rules = self.rules.current();
        self.access(&rules, caller, Method::Balance)?;
        let card = self.find_for_balance(&rules, lookup)?;
        let contact = self.bound_contact(&card)?;
        let lots = self.store.lots(&card.number)?;
        Ok(balance::compute(&rules, &card, contact.as_ref(), &lots, today))
    }

    fn find_for_balance(&self, rules: &RuleSet, lookup: Lookup<'_>) -> R<CardRecord> {
        match lookup {
            Lookup::Number(n) => {
                let number = parse_number(rules, n)?;
                self.store.card(number.as_str())?.ok_or_else(|| card_not_found(ErrorKey::CannotFindCardNumber, &number))
            }
            Lookup::Phone(p) => {
                let mobile = parse_mobile(rules, p)?;
                let not_found = || {
                    Failure::new(ErrorKey::CannotFindMobileNumber, format!("no card found for mobile number {mobile}"))
                };
                let contact = self.store.contact_by_mobile(mobile.as_str())?.ok_or_else(not_found)?;
                self.current_card(rules, &contact.code)?.ok_or_else(not_found)
            }
            Lookup::Code(c) => {
                let code = parse_code(c)?;
                let not_found =
                    || Failure::new(ErrorKey::CannotFindContactCode, format!("no card found for contact code {code}"));
                let contact = self.store.contact(code.as_str())?.ok_or_else(not_found)?;
                self.current_card(rules, &contact.code)?.ok_or_else(not_found)
            }
            Lookup::Value(v) => {
                // [decided] a valid, existing card number wins; else a contact code.
                let as_number = CardNumber::parse(v, rules.card_format()).ok();
                if let Some(n) = &as_number {
                    if let Some(card) = self.store.card(n.as_str())? {
                        return Ok(card);
                    }
                }
                let as_code = ContactCode::parse(v).ok();
                if as_number.is_none() && as_code.is_none() {
                    return Err(parse_number(rules, v)
                        .err()
                        .unwrap_or_else(|| Failure::new(ErrorKey::InvalidCardNumber, "invalid card number")));
                }
                if let Some(code) = &as_code {
                    if let Some(contact) = self.store.contact(code.as_str())? {
                        if let Some(card) = self.current_card(rules, &contact.code)? {
                            return Ok(card);
                        }
                    }
                }
                Err(match as_number {
                    Some(n) => card_not_found(ErrorKey::CannotFindCardNumber, n),
                    None => {
                        Failure::new(ErrorKey::CannotFindContactCode, format!("no card found for contact code {v}"))
                    }
                })
            }
        }
    }

    // ------------------------------------------------------------- lifecycle

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
        let role = self.access(&rules, caller, method)?;
        required(&[("Number", number)])?;
        let number = parse_number(&rules, number.unwrap_or(""))?;
        self.write(|out| {
            let mut card = self.store.card(number.as_str())?.ok_or_else(|| card_not_found(not_found, &number))?;
            let contact = self.bound_contact(&card)?;
            let facts = Facts {
                method,
                status: card.status,
                bound: card.contact.is_some(),
                registered: self.registered(&rules, contact.as_ref()),
                role,
                reason: None,
                block: None,
            };
            let d = rules.decide(&facts);
            self.apply_status(&rules, caller, &facts, &d, &mut card, String::new(), out)
        })
    }

    /// Turns a decision into a write in `out` (or a refusal).
    #[allow(clippy::too_many_arguments)]
    fn apply_status(
        &self,
        rules: &RuleSet,
        caller: &Caller,
        facts: &Facts,
        d: &Decision,
        card: &mut CardRecord,
        reason: String,
        out: &mut Batch,
    ) -> R<Done> {
        match d.outcome {
            Outcome::Refuse(key) => Err(Failure::new(key, rules.explain(facts, d, &card.number))),
            Outcome::Stay => Ok(Done { changed: false, status: card.status }),
            Outcome::To(to) => {
                let from = card.status;
                card.status = to;
                match facts.method {
                    Method::Block => {}
                    _ if to != Status::Blocked => card.block = None,
                    _ => {}
                }
                Self::record_history(out, card, caller, facts.method, Some(from), Some(to), reason);
                out.cards.push(card.clone());
                Ok(Done { changed: from != to, status: to })
            }
        }
    }

    /// BindTo: binds the card to the contact with this mobile (SPEC §5.3).
    pub fn bind_to(&self, caller: &Caller, number: Option<&str>, mobile: Option<&str>) -> R<Done> {
        let rules = self.rules.current();
        let role = self.access(&rules, caller, Method::BindTo)?;
        required(&[("Number", number), ("MobileNumber", mobile)])?;
        let number = parse_number(&rules, number.unwrap_or(""))?;
        let mobile = parse_mobile(&rules, mobile.unwrap_or(""))?;
        self.write(|out| {
            let mut card = self
                .store
                .card(number.as_str())?
                .ok_or_else(|| card_not_found(ErrorKey::CannotFindCardNumber, &number))?;
            let contact = self.store.contact_by_mobile(mobile.as_str())?.ok_or_else(|| {
                Failure::new(ErrorKey::CannotFindMobile, format!("no contact with mobile number {mobile}"))
            })?;
            let registered = self.registered(&rules, Some(&contact));
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
                return Err(Failure::new(key, rules.explain(&facts, &d, card.number.as_str())));
            }
            if let Some(other) = &card.contact {
                if *other != contact.code {
                    return Err(Failure::new(
                        ErrorKey::CardNumberBindToAnotherContact,
                        format!("card {number} is bound to another contact"),
                    ));
                }
            }
            let mut cards = self.store.contact_cards(&contact.code)?;
            let mut replaced = Vec::new();
            for n in &cards {
                if *n == card.number {
                    continue;
                }
                let Some(c) = self.store.card(n)? else { continue };
                if blocked_for_replacement(&rules, &c) {
                    replaced.push(c);
                } else {
                    return Err(Failure::new(
                        ErrorKey::ContactBindToAnotherCardNumber,
                        format!("the contact already has card {n}; block it for replacement before binding a new card"),
                    ));
                }
            }
            if card.contact.is_some() {
                // Already bound to this contact: OK, no change.
                Ok(Done { changed: false, status: card.status })
            } else {
                self.bind(&rules, caller, role, &d, &mut card, &contact, &mut cards, replaced, registered, out)
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn bind(
        &self,
        rules: &RuleSet,
        caller: &Caller,
        role: crate::rules::RoleId,
        d: &Decision,
        card: &mut CardRecord,
        contact: &ContactRecord,
        cards: &mut Vec<String>,
        replaced: Vec<CardRecord>,
        registered: bool,
        batch: &mut Batch,
    ) -> R<Done> {
        let from = card.status;
        let mut to = match d.outcome {
            Outcome::To(s) => s,
            _ => card.status,
        };
        if rules.options().auto_activate {
            let f =
                Facts { method: Method::Active, status: to, bound: true, registered, role, reason: None, block: None };
            if let Outcome::To(s) = rules.decide(&f).outcome {
                to = s;
            }
        }
        card.contact = Some(contact.code.clone());
        card.status = to;
        Self::record_history(
            batch,
            card,
            caller,
            Method::BindTo,
            Some(from),
            Some(to),
            format!("bound to contact {}", contact.code),
        );
        if rules.options().move_lots_on_replacement {
            let mut lots = self.store.lots(&card.number)?;
            for mut old in replaced {
                let moved = self.store.lots(&old.number)?;
                if moved.is_empty() {
                    continue;
                }
                let total = moved.iter().fold(Amount::ZERO, |a, l| a.plus(l.amount));
                lots.extend(moved);
                batch.lots.push((old.number.clone(), Vec::new()));
                let old_status = Some(old.status);
                Self::record_history(
                    batch,
                    &mut old,
                    caller,
                    Method::BindTo,
                    old_status,
                    old_status,
                    format!("bonus lots ({total}) moved to replacement card {}", card.number),
                );
                Self::record_history(
                    batch,
                    card,
                    caller,
                    Method::BindTo,
                    Some(to),
                    Some(to),
                    format!("bonus lots ({total}) moved from replaced card {}", old.number),
                );
                batch.cards.push(old);
            }
            batch.lots.push((card.number.clone(), lots));
        }
        cards.push(card.number.clone());
        batch.contact_cards.push((contact.code.clone(), cards.clone()));
        batch.cards.push(card.clone());
        Ok(Done { changed: true, status: to })
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
        let role = self.access(&rules, caller, method)?;
        let (reason_param, reason_key) = match method {
            Method::Block => ("BlockReasonCode", ErrorKey::BlockReasonError),
            _ => ("UnBlockReasonCode", ErrorKey::UnBlockReasonError),
        };
        let (number, mobile) = (present(number), present(mobile));
        let mut missing = Vec::new();
        if number.is_none() && mobile.is_none() {
            missing.push("Number or ContactMobileNumber");
        }
        if present(reason).is_none() {
            missing.push(reason_param);
        }
        if !missing.is_empty() {
            return Err(Failure::new(
                ErrorKey::RequiredParameterNotSpecified,
                format!("required parameter not specified: {}", missing.join(", ")),
            ));
        }
        let number = number.map(|n| parse_number(&rules, n)).transpose()?;
        let mobile = mobile.map(|m| parse_mobile(&rules, m)).transpose()?;
        let reason_code = reason.unwrap_or("").trim();
        let reason_id = match method {
            Method::Block => rules.block_reason(reason_code),
            _ => rules.unblock_reason(reason_code),
        };
        if reason_id.is_none() {
            let what = if method == Method::Block { "block" } else { "unblock" };
            return Err(Failure::new(
                reason_key,
                format!("{what} reason code {} is unknown", crate::domain::truncate_for_message(reason_code)),
            ));
        }
        let reason_text = match (method, reason_id) {
            (Method::Block, Some(r)) => format!("{} {}", rules.block_reason_code(r), rules.block_reason_name(r)),
            (_, Some(r)) => format!("{} {}", rules.unblock_reason_code(r), rules.unblock_reason_name(r)),
            _ => String::new(),
        };
        self.write(|out| {
            let mut card = match &number {
                Some(n) => Some(
                    self.store.card(n.as_str())?.ok_or_else(|| card_not_found(ErrorKey::CannotFindCardNumber, n))?,
                ),
                None => None,
            };
            if let Some(m) = &mobile {
                let contact = self.store.contact_by_mobile(m.as_str())?.ok_or_else(|| {
                    Failure::new(ErrorKey::CannotFindMobile, format!("no contact with mobile number {m}"))
                })?;
                match &card {
                    Some(c) if c.contact.as_deref() != Some(contact.code.as_str()) => {
                        return Err(Failure::new(
                            ErrorKey::CardNumberBindToAnotherContact,
                            format!("card {} is not bound to the contact with mobile number {m}", c.number),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        card = Some(self.current_card(&rules, &contact.code)?.ok_or_else(|| {
                            Failure::new(
                                ErrorKey::CannotFindCardNumber,
                                format!("the contact with mobile number {m} has no card"),
                            )
                        })?);
                    }
                }
            }
            let Some(mut card) = card else {
                return Err(Failure::new(ErrorKey::CannotFindCardNumber, "no card found"));
            };
            let contact = self.bound_contact(&card)?;
            let block = card
                .block
                .as_ref()
                .map(|b| BlockFacts { reason: rules.block_reason(&b.reason), blocker: rules.role(&b.role) });
            let facts = Facts {
                method,
                status: card.status,
                bound: card.contact.is_some(),
                registered: self.registered(&rules, contact.as_ref()),
                role,
                reason: reason_id,
                block,
            };
            let d = rules.decide(&facts);
            if method == Method::Block {
                if let (Outcome::To(Status::Blocked), Some(r)) = (d.outcome, reason_id) {
                    card.block = Some(BlockRecord {
                        reason: rules.block_reason_code(r).to_string(),
                        user: caller.user.clone(),
                        role: caller.role.clone(),
                    });
                }
            }
            self.apply_status(&rules, caller, &facts, &d, &mut card, reason_text, out)
        })
    }

    // ----------------------------------------------------------------- admin

    /// Creates or updates a contact (SPEC §7). Fields left out keep their value.
    pub fn upsert_contact(&self, caller: &Caller, code: &str, input: ContactInput) -> R<ContactRecord> {
        let rules = self.rules.current();
        self.access(&rules, caller, Method::Admin)?;
        let checked = check_contact(&rules, code, input)?;
        self.write(|out| {
            let old = self.store.contact(checked.code.as_str())?;
            if let Some(m) = &checked.mobile {
                if let Some(holder) = self.store.contact_by_mobile(m.as_str())? {
                    if holder.code != checked.code.as_str() {
                        return Err(mobile_taken(m));
                    }
                }
            }
            let old_mobile = old.as_ref().and_then(|o| o.mobile.clone());
            let rec = merge_contact(old, checked)?;
            out.contacts.push(ContactWrite { record: rec.clone(), old_mobile });
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
        self.access(&rules, caller, Method::Admin)?;
        let number = parse_number(&rules, number)?;
        let category = parse_category(category)?;
        let card_type = parse_card_type(card_type)?;
        self.write(|out| {
            let (mut card, created) = match self.store.card(number.as_str())? {
                Some(c) => (c, false),
                None => (new_card(&number), true),
            };
            let changed = Self::change_card(caller, out, &mut card, created, category, card_type);
            if changed {
                out.cards.push(card.clone());
            }
            Ok(Done { changed, status: card.status })
        })
    }

    /// Adds a bonus lot to a card.
    pub fn add_bonus(&self, caller: &Caller, number: &str, input: BonusInput) -> R<Lot> {
        let rules = self.rules.current();
        self.access(&rules, caller, Method::Admin)?;
        let number = parse_number(&rules, number)?;
        let today = self.today();
        self.write(|out| {
            // Existence first: SPEC lists CannotFindCardNumber before the lot's own errors.
            let Some(mut card) = self.store.card(number.as_str())? else {
                return Err(card_not_found(ErrorKey::CannotFindCardNumber, &number));
            };
            let lot = parse_lot(&input, today)?;
            let mut lots = self.store.lots(number.as_str())?;
            lots.push(lot.clone());
            Self::lot_added(caller, out, &mut card, &lot);
            out.cards.push(card);
            out.lots.push((number.as_str().to_string(), lots));
            Ok(lot)
        })
    }

    /// Sets category and type (`None` keeps), and records the change in the
    /// card's history. True when the card was created or changed.
    fn change_card(
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
            Self::record_history(batch, card, caller, Method::Admin, from, Some(card.status), reason);
        }
        changed
    }

    /// Records a lot added to the card in its history.
    fn lot_added(caller: &Caller, batch: &mut Batch, card: &mut CardRecord, lot: &Lot) {
        let reason = format!(
            "bonus lot added: {} of type {}{}",
            lot.amount,
            lot.bonus_type.code(),
            lot.expire.map(|e| format!(", expires {e}")).unwrap_or_default()
        );
        Self::record_history(batch, card, caller, Method::Admin, Some(card.status), Some(card.status), reason);
    }

    /// A card's history, oldest first.
    pub fn history(&self, caller: &Caller, number: &str) -> R<Vec<HistoryEntry>> {
        let rules = self.rules.current();
        self.access(&rules, caller, Method::Admin)?;
        let number = parse_number(&rules, number)?;
        if self.store.card(number.as_str())?.is_none() {
            return Err(card_not_found(ErrorKey::CannotFindCardNumber, &number));
        }
        Ok(self.store.history(number.as_str())?)
    }

    /// The bonus lots of a card (for tests and tools).
    pub fn lots(&self, number: &str) -> R<Vec<Lot>> {
        Ok(self.store.lots(number)?)
    }

    /// A card as stored (for tests and tools).
    pub fn card(&self, number: &str) -> R<Option<CardRecord>> {
        Ok(self.store.card(number)?)
    }
}

/// "No such card", the same words wherever a number finds nothing.
pub(crate) fn card_not_found(key: ErrorKey, number: impl std::fmt::Display) -> Failure {
    Failure::new(key, format!("no card with number {number}"))
}

fn blocked_for_replacement(rules: &RuleSet, card: &CardRecord) -> bool {
    card.status == Status::Blocked && card.block.as_ref().is_some_and(|b| rules.is_replacement(&b.reason))
}

fn short(s: &str) -> String {
    crate::domain::truncate_for_message(s)
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
struct CheckedContact {
    code: ContactCode,
    mobile: Option<MobileNumber>,
    input: ContactInput,
}

/// The checks of a contact write that need no store, in SPEC order: code,
/// mobile, then field lengths and custom field names.
fn check_contact(rules: &RuleSet, code: &str, input: ContactInput) -> R<CheckedContact> {
    let code = parse_code(code)?;
    let mobile = present(input.mobile.as_deref()).map(|m| parse_mobile(rules, m)).transpose()?;
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
    Ok(CheckedContact { code, mobile, input })
}

/// The contact after the write: `old` (if any) with the given fields set.
/// The caller has checked that the mobile number is not another contact's.
fn merge_contact(old: Option<ContactRecord>, c: CheckedContact) -> R<ContactRecord> {
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
    if let Some(fields) = input.fields {
        for (k, v) in fields {
            if v.is_empty() {
                rec.fields.remove(&k);
            } else {
                rec.fields.insert(k, v);
            }
        }
    }
    if rec.fields.len() > CUSTOM_FIELDS_MAX {
        return Err(Failure::new(ErrorKey::MalformedRequest, format!("at most {CUSTOM_FIELDS_MAX} custom fields")));
    }
    Ok(rec)
}

fn mobile_taken(m: &MobileNumber) -> Failure {
    Failure::new(ErrorKey::MobileNumberTaken, format!("mobile number {m} belongs to another contact"))
}

/// A New card as created by the admin API: plastic, bonus, unbound.
fn new_card(number: &CardNumber) -> CardRecord {
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

/// A card category code; empty or absent → `None` (keep).
pub fn parse_category(c: Option<&str>) -> R<Option<Category>> {
    optional_code(c, Category::from_code, ErrorKey::InvalidCategoryCode, "category code")
}

/// A card type code; empty or absent → `None` (keep).
pub fn parse_card_type(c: Option<&str>) -> R<Option<CardType>> {
    optional_code(c, CardType::from_code, ErrorKey::InvalidTypeCode, "card type code")
}

/// An optional code: empty or absent → `None`; unknown → `key`.
fn optional_code<T>(c: Option<&str>, from_code: fn(&str) -> Option<T>, key: ErrorKey, what: &str) -> R<Option<T>> {
    present(c)
        .map(|c| from_code(c.trim()).ok_or_else(|| Failure::new(key, format!("{what} {} is unknown", short(c)))))
        .transpose()
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
