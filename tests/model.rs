//! Model-based test of the card service: random sequences of every operation
//! (contacts, cards, bonus lots, Issue, BindTo, Active, Block, UnBlock,
//! Balance, and replacement flows), by random roles, over small pools of card
//! numbers, phones, contact codes and reason codes, each run against the
//! service and against a small reference model written here from SPEC.md §3,
//! §5 and §7.
//!
//! The model does not read the rule files and does not call the library's
//! rules module: its tables are typed from SPEC's tables, its checks run in
//! SPEC's order. After every step the outcome (OK or the exact error key), the
//! cards, the contacts and the bonus lots must agree with the model, and a set
//! of invariants is checked on the service's own state.

use cashdesk_card::domain::Status;
use cashdesk_card::rules::{RuleHandle, RuleSet};
use cashdesk_card::service::{
    BonusInput, Caller, CardService, ContactInput, LineInput, Lookup, ReturnInput, SaleInput,
};
use cashdesk_card::store::{CardRecord, ContactRecord, Lot, MemStore, RunTwice, SledStore, Store};
use cashdesk_card::ErrorKey;
use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[path = "model/purchase.rs"]
mod purchase;

// ------------------------------------------------------------------ the pools

/// What SPEC §3 makes of a value a caller sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    /// Left out or empty: a missing parameter.
    Missing,
    /// Not in the format.
    Bad,
    /// Valid; the normalised value.
    Val(&'static str),
}

/// The roles of SPEC §1; the first six in the order of SPEC's tables' columns.
const ROLES: [&str; 7] =
    ["client", "call_center", "marketer", "senior_employee", "director", "administrator", "cashier"];
const ADMIN: &str = "administrator";

/// The cards the pool can create.
const CARDS: [&str; 4] = ["100001", "100002", "100003", "100004"];

/// Card numbers as callers write them.
const NUMBERS: [(&str, Arg); 7] = [
    ("100001", Arg::Val("100001")),
    ("100002", Arg::Val("100002")),
    ("100003", Arg::Val("100003")),
    ("100004", Arg::Val("100004")),
    // Surrounding whitespace is trimmed (§3).
    (" 100002 ", Arg::Val("100002")),
    ("12ab", Arg::Bad),
    ("", Arg::Missing),
];

/// Mobile numbers as callers write them, normalised as §3 says.
const PHONES: [(&str, Arg); 8] = [
    ("+79123456701", Arg::Val("+79123456701")),
    ("8 (912) 345-67-01", Arg::Val("+79123456701")),
    ("+79123456702", Arg::Val("+79123456702")),
    ("9123456703", Arg::Val("+79123456703")),
    // Valid, but no contact is ever given it.
    ("+7 912 345 67 99", Arg::Val("+79123456799")),
    ("12345", Arg::Bad),
    ("+7912345670a", Arg::Bad),
    ("", Arg::Missing),
];

/// The phones a contact write may send (no unknown one: it must stay unknown).
const CONTACT_PHONES: [&str; 6] = ["+79123456701", "8 (912) 345-67-01", "+79123456702", "9123456703", "12345", ""];

/// Contact codes (§2: 1–64 printable characters, no `/`).
const CODES: [(&str, Arg); 4] =
    [("C1", Arg::Val("C1")), ("C2", Arg::Val("C2")), ("C3", Arg::Val("C3")), ("a/b", Arg::Bad)];
const CONTACTS: [&str; 3] = ["C1", "C2", "C3"];

/// Names a contact write may send; `None` keeps the stored one.
const NAMES: [Option<&str>; 3] = [None, Some("Ivan Petrov"), Some("")];

/// Category and type codes of the admin card write (§1); `None` keeps.
const CATEGORIES: [Option<&str>; 5] = [None, Some(""), Some("0"), Some("1"), Some("5")];
const CARD_TYPES: [Option<&str>; 5] = [None, Some("0"), Some("1"), Some("2"), Some("7")];

/// Lot amounts and their value in hundredths. A lot adds bonuses: the amount
/// is a positive exact decimal [model's reading of §2 and §7].
const AMOUNTS: [(&str, Option<i64>); 7] =
    [("10", Some(1000)), ("0.25", Some(25)), ("3.10", Some(310)), ("0", None), ("-5", None), ("abc", None), ("", None)];
const BONUS_TYPES: [&str; 3] = ["0", "1", "7"];
/// (ActiveFrom, ExpireDate) of a lot: active, burned, not yet active, with
/// and without expiry; the last two are not dates. No pair expires before it
/// becomes active (SPEC does not say what that is).
const DATES: [(Option<&str>, Option<&str>); 10] = [
    (None, None),
    (None, Some("2031-12-31")),
    (Some("2024-01-15"), None),
    (Some("2024-01-15"), Some("2024-06-30")),
    (Some("2024-01-15"), Some("2030-06-30")),
    (Some("2024-01-15"), Some("2031-12-31")),
    (Some("2099-01-01"), None),
    (Some("2099-01-01"), Some("2099-12-31")),
    (Some("2024-02-30"), None),
    (None, Some("31.12.2031")),
];

/// Reason codes as callers send them; `9` is no reason at all, and `4` is no
/// unblock reason.
const REASONS: [Option<&str>; 8] = [None, Some(""), Some("0"), Some("1"), Some("2"), Some("3"), Some("4"), Some("9")];

/// Values for the source's `/balance/by/{value}`: (value, as a card number, as a contact code).
const VALUES: [(&str, Arg, Arg); 7] = [
    ("100001", Arg::Val("100001"), Arg::Val("100001")),
    ("100004", Arg::Val("100004"), Arg::Val("100004")),
    ("100009", Arg::Val("100009"), Arg::Val("100009")),
    ("12ab", Arg::Bad, Arg::Val("12ab")),
    ("C1", Arg::Bad, Arg::Val("C1")),
    ("C2", Arg::Bad, Arg::Val("C2")),
    ("a/b", Arg::Bad, Arg::Bad),
];

fn lookup<T: Copy>(table: &[(&str, T)], s: &str) -> T {
    table.iter().find(|(k, _)| *k == s).map(|(_, v)| *v).unwrap_or_else(|| panic!("`{s}` is not in the pool"))
}

/// A parameter as the model sees it: left out, or looked up in its pool.
fn arg(table: &[(&str, Arg)], s: Option<&str>) -> Arg {
    match s {
        None => Arg::Missing,
        Some(s) => lookup(table, s),
    }
}

// ----------------------------------------------------- SPEC's tables, typed in

const Y: bool = true;
const N: bool = false;

/// §5.5: who may block with which reason. Rows: reasons 0–4; columns: client,
/// call_center, marketer, senior_employee, director, administrator. The
/// cashier has no column: it may use no reason.
const MAY_BLOCK: [[bool; 6]; 5] = [
    [Y, Y, Y, Y, Y, Y], // 0 lost
    [N, N, N, Y, Y, Y], // 1 undesirable list
    [N, N, N, N, Y, Y], // 2 blacklist
    [N, Y, Y, N, N, Y], // 3 refusal
    [N, Y, Y, Y, Y, Y], // 4 replacement
];

/// §5.6: who may lift which block reason.
const MAY_LIFT: [[bool; 6]; 5] = [
    [Y, Y, Y, Y, Y, Y], // 0 lost
    [N, N, N, Y, Y, Y], // 1 undesirable list
    [N, N, N, N, Y, Y], // 2 blacklist
    [N, Y, Y, N, N, Y], // 3 refusal
    [N, N, N, N, N, N], // 4 replacement
];

/// §5.6: who may use which unblock reason.
const MAY_USE_UNBLOCK: [[bool; 6]; 4] = [
    [Y, Y, Y, Y, Y, Y], // 0 found
    [N, N, N, Y, Y, Y], // 1 leaves undesirable list
    [N, N, N, N, Y, Y], // 2 leaves blacklist
    [N, Y, Y, N, N, Y], // 3 restored
];

/// §5.6 step 10: the block reason each unblock reason answers (found↔lost,
/// 1↔1, 2↔2, restored↔refusal).
const ANSWERS: [usize; 4] = [0, 1, 2, 3];

const BLOCK_CODES: [&str; 5] = ["0", "1", "2", "3", "4"];
const UNBLOCK_CODES: [&str; 4] = ["0", "1", "2", "3"];
/// The replacement block reason (§1, §5.3).
const REPLACEMENT: usize = 4;

fn may(table: &[[bool; 6]], reason: usize, role: &str) -> bool {
    ROLES[..6].iter().position(|r| *r == role).is_some_and(|c| table[reason][c])
}

// ------------------------------------------------------------------- the model

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    New,
    Issued,
    Active,
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct MBlock {
    reason: usize,
    role: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct MLot {
    cents: i64,
    type_code: &'static str,
    active_from: NaiveDate,
    expire: Option<NaiveDate>,
    frozen: bool,
    /// The receipt that accrued it (§8.3).
    receipt: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct MCard {
    status: St,
    category: &'static str,
    card_type: &'static str,
    contact: Option<&'static str>,
    block: Option<MBlock>,
    lots: Vec<MLot>,
}

impl MCard {
    fn replaced(&self) -> bool {
        self.status == St::Blocked && self.block.as_ref().is_some_and(|b| b.reason == REPLACEMENT)
    }

    fn cents(&self) -> i64 {
        self.lots.iter().map(|l| l.cents).sum()
    }
}

impl Model {
    fn total_cents(&self) -> i64 {
        self.cards.values().map(MCard::cents).sum()
    }
}

#[derive(Debug, Clone)]
struct MContact {
    mobile: Option<&'static str>,
    name: &'static str,
}

/// What a successful call did, as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Effect {
    /// The card the call is about (for Done, history and balance checks).
    card: Option<&'static str>,
    /// False for an allowed no-op.
    changed: bool,
    /// BindTo moved the lots of a replaced card.
    moved: bool,
}

type M = Result<Effect, ErrorKey>;

#[derive(Debug, Default)]
struct Model {
    cards: BTreeMap<&'static str, MCard>,
    contacts: BTreeMap<&'static str, MContact>,
    receipts: BTreeMap<&'static str, purchase::MReceipt>,
}

impl Model {
    /// §5.4: registration is sufficient when the contact's Name is non-empty.
    fn registered(&self, code: Option<&str>) -> bool {
        code.and_then(|c| self.contacts.get(c)).is_some_and(|c| !c.name.is_empty())
    }

    fn by_mobile(&self, mobile: &str) -> Option<&'static str> {
        self.contacts.iter().find(|(_, c)| c.mobile == Some(mobile)).map(|(code, _)| *code)
    }

    /// §5.1: the contact's one card that is not blocked for replacement.
    fn current_card(&self, code: &str) -> Option<&'static str> {
        self.cards.iter().find(|(_, c)| c.contact == Some(code) && !c.replaced()).map(|(n, _)| *n)
    }

    /// §5.1: what a balance of card `n` shows as of `today`.
    fn shown(&self, n: &'static str, today: NaiveDate) -> Shown {
        let card = &self.cards[n];
        let contact = card.contact.map_or((String::new(), String::new(), String::new()), |code| {
            let c = &self.contacts[code];
            (code.to_string(), c.mobile.unwrap_or("").to_string(), c.name.to_string())
        });
        let mut bonuses = Vec::new();
        for t in ["0", "1"] {
            let mut sums = [0i64; 4];
            // The earliest ExpireDate among active lots, and the sum expiring then.
            let mut nearest: Option<(NaiveDate, i64)> = None;
            for lot in card.lots.iter().filter(|l| l.type_code == t) {
                let state = if lot.expire.is_some_and(|e| e < today) {
                    2
                } else if lot.frozen || card.status == St::Blocked {
                    3
                } else if lot.active_from > today {
                    1
                } else {
                    0
                };
                sums[state] += lot.cents;
                if let (0, Some(e)) = (state, lot.expire) {
                    nearest = match nearest {
                        Some((d, sum)) if d == e => Some((d, sum + lot.cents)),
                        Some((d, sum)) if d < e => Some((d, sum)),
                        _ => Some((e, lot.cents)),
                    };
                }
            }
            for (state, sum) in ["0", "1", "2", "3"].into_iter().zip(sums) {
                bonuses.push((t, state, sum, None));
            }
            if let Some((d, sum)) = nearest {
                bonuses.push((t, "4", sum, Some(d)));
            }
        }
        Shown { number: n.to_string(), contact, bonuses }
    }

    fn admin(role: &str) -> Result<(), ErrorKey> {
        if role == ADMIN {
            Ok(())
        } else {
            Err(ErrorKey::AccessDenied)
        }
    }

    fn apply(&mut self, op: &Op, today: NaiveDate) -> M {
        match *op {
            Op::UpsertContact { role, code, mobile, name } => self.upsert_contact(role, code, mobile, name),
            Op::UpsertCard { role, number, category, card_type } => self.upsert_card(role, number, category, card_type),
            Op::AddBonus { role, number, amount, type_code, active_from, expire, frozen } => {
                self.add_bonus(role, number, amount, type_code, active_from, expire, frozen, today)
            }
            Op::Issue { number, .. } => self.issue(number),
            Op::BindTo { number, mobile, .. } => self.bind_to(number, mobile),
            Op::Active { number, .. } => self.active(number),
            Op::Block { role, number, mobile, reason } => self.block(false, role, number, mobile, reason),
            Op::UnBlock { role, number, mobile, reason } => self.block(true, role, number, mobile, reason),
            Op::Balance { by, .. } => self.balance(by),
            Op::Confirm { role, receipt, number, mobile, sale, redeem } => {
                self.confirm(role, receipt, number, mobile, sale, redeem, today)
            }
            Op::Cancel { role, receipt } => self.cancel(role, receipt, today),
            Op::Return { role, receipt, return_id, ret } => self.return_goods(role, receipt, return_id, ret, today),
        }
    }

    /// §7 PUT contacts: code, mobile, mobile taken; a field left out keeps its value.
    fn upsert_contact(&mut self, role: &str, code: &str, mobile: Option<&str>, name: Option<&'static str>) -> M {
        Self::admin(role)?;
        let Arg::Val(code) = lookup(&CODES, code) else { return Err(ErrorKey::InvalidContactCode) };
        let mobile = match arg(&PHONES, mobile) {
            Arg::Missing => None,
            Arg::Bad => return Err(ErrorKey::InvalidMobileNumber),
            Arg::Val(m) => Some(m),
        };
        if let Some(m) = mobile {
            if self.by_mobile(m).is_some_and(|holder| holder != code) {
                return Err(ErrorKey::MobileNumberTaken);
            }
        }
        let c = self.contacts.entry(code).or_insert(MContact { mobile: None, name: "" });
        if mobile.is_some() {
            c.mobile = mobile;
        }
        if let Some(n) = name {
            c.name = n;
        }
        Ok(Effect::default())
    }

    /// §7 PUT cards: number, category, type; creates a New card (plastic,
    /// bonus unless given [model's reading]) or changes category and type.
    fn upsert_card(
        &mut self,
        role: &str,
        number: &str,
        category: Option<&'static str>,
        card_type: Option<&'static str>,
    ) -> M {
        Self::admin(role)?;
        let Arg::Val(n) = lookup(&NUMBERS, number) else { return Err(ErrorKey::InvalidCardNumber) };
        let category = match category.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) if ["0", "1"].contains(&c) => Some(c),
            Some(_) => return Err(ErrorKey::InvalidCategoryCode),
        };
        let card_type = match card_type.filter(|c| !c.is_empty()) {
            None => None,
            Some(t) if ["0", "1", "2"].contains(&t) => Some(t),
            Some(_) => return Err(ErrorKey::InvalidTypeCode),
        };
        let created = !self.cards.contains_key(n);
        let card = self.cards.entry(n).or_insert(MCard {
            status: St::New,
            category: "0",
            card_type: "0",
            contact: None,
            block: None,
            lots: Vec::new(),
        });
        let before = (card.category, card.card_type);
        card.category = category.unwrap_or(card.category);
        card.card_type = card_type.unwrap_or(card.card_type);
        Ok(Effect { card: Some(n), changed: created || before != (card.category, card.card_type), moved: false })
    }

    /// §7 POST bonuses: number, card exists, amount, type, dates.
    #[allow(clippy::too_many_arguments)]
    fn add_bonus(
        &mut self,
        role: &str,
        number: &str,
        amount: &str,
        type_code: &'static str,
        active_from: Option<&str>,
        expire: Option<&str>,
        frozen: bool,
        today: NaiveDate,
    ) -> M {
        Self::admin(role)?;
        let Arg::Val(n) = lookup(&NUMBERS, number) else { return Err(ErrorKey::InvalidCardNumber) };
        if !self.cards.contains_key(n) {
            return Err(ErrorKey::CannotFindCardNumber);
        }
        let cents = lookup(&AMOUNTS, amount).ok_or(ErrorKey::InvalidAmount)?;
        if !["0", "1"].contains(&type_code) {
            return Err(ErrorKey::InvalidTypeCode);
        }
        let date = |s: Option<&str>| match s {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Some).map_err(|_| ErrorKey::InvalidDate),
        };
        let active_from = date(active_from)?.unwrap_or(today);
        let expire = date(expire)?;
        let lot = MLot { cents, type_code, active_from, expire, frozen, receipt: None };
        self.cards.get_mut(n).expect("checked").lots.push(lot);
        Ok(Effect { card: Some(n), changed: true, moved: false })
    }

    /// §5.2 Issue: New → Issued; Issued stays.
    fn issue(&mut self, number: Option<&str>) -> M {
        let n = match arg(&NUMBERS, number) {
            Arg::Missing => return Err(ErrorKey::RequiredParameterNotSpecified),
            Arg::Bad => return Err(ErrorKey::InvalidCardNumber),
            Arg::Val(n) => n,
        };
        let card = self.cards.get_mut(n).ok_or(ErrorKey::CardNumberCannotFind)?;
        match card.status {
            St::New => card.status = St::Issued,
            St::Issued => return Ok(Effect { card: Some(n), changed: false, moved: false }),
            St::Active | St::Blocked => return Err(ErrorKey::StatusError),
        }
        Ok(Effect { card: Some(n), changed: true, moved: false })
    }

    /// §5.3 BindTo.
    fn bind_to(&mut self, number: Option<&str>, mobile: Option<&str>) -> M {
        let (n, m) = (arg(&NUMBERS, number), arg(&PHONES, mobile));
        if n == Arg::Missing || m == Arg::Missing {
            return Err(ErrorKey::RequiredParameterNotSpecified);
        }
        let Arg::Val(n) = n else { return Err(ErrorKey::InvalidCardNumber) };
        let Arg::Val(m) = m else { return Err(ErrorKey::InvalidMobileNumber) };
        let card = self.cards.get(n).ok_or(ErrorKey::CannotFindCardNumber)?;
        let code = self.by_mobile(m).ok_or(ErrorKey::CannotFindMobile)?;
        if matches!(card.status, St::New | St::Blocked) {
            return Err(ErrorKey::StatusError);
        }
        if card.contact.is_some_and(|c| c != code) {
            return Err(ErrorKey::CardNumberBindToAnotherContact);
        }
        if self.cards.iter().any(|(k, c)| *k != n && c.contact == Some(code) && !c.replaced()) {
            return Err(ErrorKey::ContactBindToAnotherCardNumber);
        }
        if card.contact == Some(code) {
            return Ok(Effect { card: Some(n), changed: false, moved: false });
        }
        // The lots of the contact's cards blocked for replacement follow it.
        let mut moved = Vec::new();
        for (_, c) in self.cards.iter_mut().filter(|(_, c)| c.contact == Some(code) && c.replaced()) {
            moved.append(&mut c.lots);
        }
        let card = self.cards.get_mut(n).expect("checked");
        card.contact = Some(code);
        let moved_any = !moved.is_empty();
        card.lots.extend(moved);
        Ok(Effect { card: Some(n), changed: true, moved: moved_any })
    }

    /// §5.4 Active: Issued → Active when bound and registered; Active stays.
    fn active(&mut self, number: Option<&str>) -> M {
        let n = match arg(&NUMBERS, number) {
            Arg::Missing => return Err(ErrorKey::RequiredParameterNotSpecified),
            Arg::Bad => return Err(ErrorKey::InvalidCardNumber),
            Arg::Val(n) => n,
        };
        let card = self.cards.get(n).ok_or(ErrorKey::CannotFindCardNumber)?;
        match card.status {
            St::Active => Ok(Effect { card: Some(n), changed: false, moved: false }),
            St::Issued if card.contact.is_some() && self.registered(card.contact) => {
                self.cards.get_mut(n).expect("checked").status = St::Active;
                Ok(Effect { card: Some(n), changed: true, moved: false })
            }
            _ => Err(ErrorKey::StatusError),
        }
    }

    /// §5.5 Block and §5.6 UnBlock, step by step.
    fn block(
        &mut self,
        unblock: bool,
        role: &'static str,
        number: Option<&str>,
        mobile: Option<&str>,
        reason: Option<&str>,
    ) -> M {
        let reason_key = if unblock { ErrorKey::UnBlockReasonError } else { ErrorKey::BlockReasonError };
        let (n, m) = (arg(&NUMBERS, number), arg(&PHONES, mobile));
        let reason = reason.filter(|r| !r.is_empty());
        // 1.
        if (n == Arg::Missing && m == Arg::Missing) || reason.is_none() {
            return Err(ErrorKey::RequiredParameterNotSpecified);
        }
        // 2.
        if n == Arg::Bad {
            return Err(ErrorKey::InvalidCardNumber);
        }
        if m == Arg::Bad {
            return Err(ErrorKey::InvalidMobileNumber);
        }
        // 3.
        let codes: &[&str] = if unblock { &UNBLOCK_CODES } else { &BLOCK_CODES };
        let r = codes.iter().position(|c| Some(*c) == reason).ok_or(reason_key)?;
        // 4.
        let mut target = match n {
            Arg::Val(n) if self.cards.contains_key(n) => Some(n),
            Arg::Val(_) => return Err(ErrorKey::CannotFindCardNumber),
            _ => None,
        };
        if let Arg::Val(m) = m {
            let code = self.by_mobile(m).ok_or(ErrorKey::CannotFindMobile)?;
            match target {
                Some(n) if self.cards[n].contact != Some(code) => return Err(ErrorKey::CardNumberBindToAnotherContact),
                Some(_) => {}
                None => target = Some(self.current_card(code).ok_or(ErrorKey::CannotFindCardNumber)?),
            }
        }
        let n = target.expect("a number or a phone named the card");
        let registered = self.registered(self.cards[n].contact);
        let card = self.cards.get_mut(n).expect("found");
        if !unblock {
            // 5.
            if !may(&MAY_BLOCK, r, role) {
                return Err(reason_key);
            }
            // 6.
            match card.status {
                St::New | St::Blocked => return Err(ErrorKey::StatusError),
                St::Issued if card.contact.is_none() => return Err(ErrorKey::StatusError),
                _ => {}
            }
            // 7.
            card.status = St::Blocked;
            card.block = Some(MBlock { reason: r, role });
        } else {
            // 5.
            if card.status != St::Blocked {
                return Err(ErrorKey::StatusError);
            }
            let b = card.block.clone().expect("a blocked card keeps its block");
            // 6. a replaced card stays blocked.
            if b.reason == REPLACEMENT {
                return Err(reason_key);
            }
            // 7. the administrator's block.
            if b.role == ADMIN && role != ADMIN {
                return Err(reason_key);
            }
            // 8.–10.
            if !may(&MAY_LIFT, b.reason, role) || !may(&MAY_USE_UNBLOCK, r, role) {
                return Err(reason_key);
            }
            if role != ADMIN && ANSWERS[r] != b.reason {
                return Err(reason_key);
            }
            // 11.
            card.status = if card.contact.is_some() && registered { St::Active } else { St::Issued };
            card.block = None;
        }
        Ok(Effect { card: Some(n), changed: true, moved: false })
    }

    /// §5.1: which card a balance request names. An empty value is a
    /// missing parameter (§4), whichever way it looks up.
    fn balance(&self, by: By) -> M {
        let found = |n: &'static str| Ok(Effect { card: Some(n), changed: false, moved: false });
        if let By::Number("") | By::Phone("") | By::Code("") | By::Value("") = by {
            return Err(ErrorKey::RequiredParameterNotSpecified);
        }
        match by {
            By::Number(s) => match lookup(&NUMBERS, s) {
                Arg::Val(n) if self.cards.contains_key(n) => found(n),
                Arg::Val(_) => Err(ErrorKey::CannotFindCardNumber),
                _ => Err(ErrorKey::InvalidCardNumber),
            },
            By::Phone(s) => match lookup(&PHONES, s) {
                Arg::Val(m) => self
                    .by_mobile(m)
                    .and_then(|c| self.current_card(c))
                    .map_or(Err(ErrorKey::CannotFindMobileNumber), found),
                _ => Err(ErrorKey::InvalidMobileNumber),
            },
            By::Code(s) => match lookup(&CODES, s) {
                Arg::Val(c) => self.current_card(c).map_or(Err(ErrorKey::CannotFindContactCode), found),
                _ => Err(ErrorKey::InvalidContactCode),
            },
            By::Value(s) => {
                let (_, as_number, as_code) = *VALUES.iter().find(|v| v.0 == s).expect("pool");
                if let Arg::Val(n) = as_number {
                    if let Some((k, _)) = self.cards.get_key_value(n) {
                        return found(k);
                    }
                }
                if let Arg::Val(c) = as_code {
                    if let Some(n) = self.current_card(c) {
                        return found(n);
                    }
                }
                Err(match (as_number, as_code) {
                    (Arg::Val(_), _) => ErrorKey::CannotFindCardNumber,
                    (_, Arg::Val(_)) => ErrorKey::CannotFindContactCode,
                    _ => ErrorKey::InvalidCardNumber,
                })
            }
        }
    }
}

// ---------------------------------------------------------------- operations

#[derive(Debug, Clone, Copy)]
enum By {
    Number(&'static str),
    Phone(&'static str),
    Code(&'static str),
    Value(&'static str),
}

#[derive(Debug, Clone)]
enum Op {
    UpsertContact {
        role: &'static str,
        code: &'static str,
        mobile: Option<&'static str>,
        name: Option<&'static str>,
    },
    UpsertCard {
        role: &'static str,
        number: &'static str,
        category: Option<&'static str>,
        card_type: Option<&'static str>,
    },
    AddBonus {
        role: &'static str,
        number: &'static str,
        amount: &'static str,
        type_code: &'static str,
        active_from: Option<&'static str>,
        expire: Option<&'static str>,
        frozen: bool,
    },
    Issue {
        role: &'static str,
        number: Option<&'static str>,
    },
    BindTo {
        role: &'static str,
        number: Option<&'static str>,
        mobile: Option<&'static str>,
    },
    Active {
        role: &'static str,
        number: Option<&'static str>,
    },
    Block {
        role: &'static str,
        number: Option<&'static str>,
        mobile: Option<&'static str>,
        reason: Option<&'static str>,
    },
    UnBlock {
        role: &'static str,
        number: Option<&'static str>,
        mobile: Option<&'static str>,
        reason: Option<&'static str>,
    },
    Balance {
        role: &'static str,
        by: By,
    },
    Confirm {
        role: &'static str,
        receipt: &'static str,
        number: Option<&'static str>,
        mobile: Option<&'static str>,
        /// Index into `purchase::SALES`.
        sale: usize,
        redeem: &'static str,
    },
    Cancel {
        role: &'static str,
        receipt: &'static str,
    },
    Return {
        role: &'static str,
        receipt: &'static str,
        return_id: &'static str,
        /// Index into `purchase::RETURNS`.
        ret: usize,
    },
}

impl Op {
    fn role(&self) -> &'static str {
        match *self {
            Op::UpsertContact { role, .. }
            | Op::UpsertCard { role, .. }
            | Op::AddBonus { role, .. }
            | Op::Issue { role, .. }
            | Op::BindTo { role, .. }
            | Op::Active { role, .. }
            | Op::Block { role, .. }
            | Op::UnBlock { role, .. }
            | Op::Balance { role, .. }
            | Op::Confirm { role, .. }
            | Op::Cancel { role, .. }
            | Op::Return { role, .. } => role,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Op::UpsertContact { .. } => "upsert_contact",
            Op::UpsertCard { .. } => "upsert_card",
            Op::AddBonus { .. } => "add_bonus",
            Op::Issue { .. } => "issue",
            Op::BindTo { .. } => "bind_to",
            Op::Active { .. } => "active",
            Op::Block { .. } => "block",
            Op::UnBlock { .. } => "unblock",
            Op::Balance { .. } => "balance",
            Op::Confirm { .. } => "confirm",
            Op::Cancel { .. } => "cancel",
            Op::Return { .. } => "return",
        }
    }
}

fn role() -> impl Strategy<Value = &'static str> {
    select(&ROLES[..])
}

/// The admin API is mostly called by the administrator, sometimes by others.
fn admin_mostly() -> impl Strategy<Value = &'static str> {
    prop_oneof![5 => Just(ADMIN), 1 => role()]
}

fn keys(table: &'static [(&'static str, Arg)]) -> impl Strategy<Value = &'static str> {
    select(table.iter().map(|(k, _)| *k).collect::<Vec<_>>())
}

/// Mostly a card of the pool, sometimes any number of the pool.
fn number() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => card(), 1 => keys(&NUMBERS)]
}

/// Mostly a phone a contact may have, sometimes any phone of the pool.
fn phone() -> impl Strategy<Value = &'static str> {
    prop_oneof![5 => select(&CONTACT_PHONES[..4]), 1 => keys(&PHONES)]
}

/// Mostly a known reason code, sometimes any of the pool.
fn reason(known: &'static [&'static str]) -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![5 => select(known).prop_map(Some), 1 => select(&REASONS[..])]
}

/// Mostly a valid value, sometimes any of the pool.
fn mostly<T: Clone + std::fmt::Debug + 'static>(valid: Vec<T>, all: Vec<T>) -> impl Strategy<Value = T> {
    prop_oneof![4 => select(valid), 1 => select(all)]
}

/// A valid card number of the pool, for the composite flows.
fn card() -> impl Strategy<Value = &'static str> {
    select(&CARDS[..])
}

fn maybe<S: Strategy>(s: S) -> impl Strategy<Value = Option<S::Value>> {
    proptest::option::weighted(0.85, s)
}

/// One step: one call, or a short flow of calls (onboarding a customer, or
/// replacing a card).
/// A customer gets a card: create both, issue, bind, activate.
fn onboard() -> impl Strategy<Value = Vec<Op>> {
    (card(), select(&CONTACTS[..]), select(&CONTACT_PHONES[..4]), select(&NAMES[..])).prop_map(
        |(number, code, mobile, name)| {
            vec![
                Op::UpsertCard { role: ADMIN, number, category: None, card_type: None },
                Op::UpsertContact { role: ADMIN, code, mobile: Some(mobile), name },
                Op::Issue { role: "cashier", number: Some(number) },
                Op::BindTo { role: "cashier", number: Some(number), mobile: Some(mobile) },
                Op::Active { role: "cashier", number: Some(number) },
            ]
        },
    )
}

fn step() -> impl Strategy<Value = Vec<Op>> {
    let upsert_contact = (admin_mostly(), keys(&CODES), maybe(select(&CONTACT_PHONES[..])), select(&NAMES[..]))
        .prop_map(|(role, code, mobile, name)| vec![Op::UpsertContact { role, code, mobile, name }]);
    let upsert_card = (admin_mostly(), number(), select(&CATEGORIES[..]), select(&CARD_TYPES[..]))
        .prop_map(|(role, number, category, card_type)| vec![Op::UpsertCard { role, number, category, card_type }]);
    let add_bonus = (
        admin_mostly(),
        number(),
        mostly(AMOUNTS[..3].iter().map(|a| a.0).collect(), AMOUNTS.iter().map(|a| a.0).collect()),
        mostly(BONUS_TYPES[..2].to_vec(), BONUS_TYPES.to_vec()),
        mostly(DATES[..8].to_vec(), DATES.to_vec()),
        any::<bool>(),
    )
        .prop_map(|(role, number, amount, type_code, (active_from, expire), frozen)| {
            vec![Op::AddBonus { role, number, amount, type_code, active_from, expire, frozen }]
        });
    let issue = (role(), maybe(number())).prop_map(|(role, number)| vec![Op::Issue { role, number }]);
    let bind = (role(), maybe(number()), maybe(phone()))
        .prop_map(|(role, number, mobile)| vec![Op::BindTo { role, number, mobile }]);
    let active = (role(), maybe(number())).prop_map(|(role, number)| vec![Op::Active { role, number }]);
    // By number, by phone, or by both.
    let target = prop_oneof![
        4 => number().prop_map(|n| (Some(n), None)),
        3 => phone().prop_map(|m| (None, Some(m))),
        3 => (number(), phone()).prop_map(|(n, m)| (Some(n), Some(m))),
        1 => Just((None, None)),
    ];
    let block = (role(), target.clone(), reason(&BLOCK_CODES))
        .prop_map(|(role, (number, mobile), reason)| vec![Op::Block { role, number, mobile, reason }]);
    let unblock = (role(), target.clone(), reason(&UNBLOCK_CODES))
        .prop_map(|(role, (number, mobile), reason)| vec![Op::UnBlock { role, number, mobile, reason }]);
    // A block and an attempt to lift it, often by the same role and often
    // with the unblock reason that answers the block reason.
    let block_unblock = (
        role(),
        role(),
        any::<bool>(),
        prop_oneof![3 => card().prop_map(|n| (Some(n), None)), 1 => target],
        select(&BLOCK_CODES[..]),
        reason(&UNBLOCK_CODES),
        0..3,
    )
        .prop_map(|(by, other, same_role, (number, mobile), block, unblock, answer)| {
            let lifter = if same_role { by } else { other };
            let unblock = if answer > 0 && block != "4" { Some(block) } else { unblock };
            vec![
                Op::Block { role: by, number, mobile, reason: Some(block) },
                Op::UnBlock { role: lifter, number, mobile, reason: unblock },
            ]
        });
    let balance = (
        role(),
        prop_oneof![
            number().prop_map(By::Number),
            phone().prop_map(By::Phone),
            keys(&CODES).prop_map(By::Code),
            select(VALUES.iter().map(|v| v.0).collect::<Vec<_>>()).prop_map(By::Value),
        ],
    )
        .prop_map(|(role, by)| vec![Op::Balance { role, by }]);
    // Replacement: the old card earns a lot, is blocked with reason 4 (by
    // number or by phone), then a new card is bound to the same contact.
    let replace = (role(), card(), card(), select(&CONTACT_PHONES[..4]), any::<bool>()).prop_map(
        |(role, old, new, mobile, by_phone)| {
            let (number, phone) = if by_phone { (None, Some(mobile)) } else { (Some(old), None) };
            vec![
                Op::AddBonus {
                    role: ADMIN,
                    number: old,
                    amount: "10",
                    type_code: "0",
                    active_from: None,
                    expire: None,
                    frozen: false,
                },
                Op::UpsertCard { role: ADMIN, number: new, category: None, card_type: None },
                Op::Issue { role, number: Some(new) },
                Op::Block { role, number, mobile: phone, reason: Some("4") },
                Op::BindTo { role, number: Some(new), mobile: Some(mobile) },
                Op::Active { role, number: Some(new) },
            ]
        },
    );
    prop_oneof![
        3 => upsert_contact,
        3 => upsert_card,
        3 => add_bonus,
        3 => issue,
        4 => bind,
        3 => active,
        5 => block,
        5 => unblock,
        6 => block_unblock,
        2 => balance,
        3 => onboard(),
        5 => replace,
        8 => purchase::steps(),
    ]
}

/// A case: a few customers onboarded (or not), then up to `max_steps` steps.
fn ops(max_steps: usize) -> impl Strategy<Value = Vec<Op>> {
    (prop::collection::vec(onboard(), 0..=4), prop::collection::vec(step(), 1..=max_steps))
        .prop_map(|(setup, steps)| setup.into_iter().chain(steps).flatten().collect())
}

// ------------------------------------------------------------ the service side

/// What the service answered, reduced to what the model predicts.
#[derive(Debug)]
struct Answer {
    /// Done's flag, where the call returns one.
    changed: Option<bool>,
    status: Option<Status>,
    balance: Option<Shown>,
}

/// What a balance shows: card number, contact (code, mobile, name) and
/// `Bonuses` as (type code, state code, hundredths, ExpireDate).
#[derive(Debug, PartialEq, Eq)]
struct Shown {
    number: String,
    contact: (String, String, String),
    bonuses: Vec<(&'static str, &'static str, i64, Option<NaiveDate>)>,
}

fn cents(d: Decimal) -> i64 {
    (d * Decimal::from(100)).to_i64().expect("amount fits")
}

fn exec(svc: &CardService, op: &Op) -> Result<Answer, ErrorKey> {
    let caller = Caller::new(format!("{}-user", op.role()), op.role());
    let done =
        |d: cashdesk_card::service::Done| Answer { changed: Some(d.changed), status: Some(d.status), balance: None };
    let plain = Answer { changed: None, status: None, balance: None };
    let r = match *op {
        Op::UpsertContact { code, mobile, name, .. } => {
            let input =
                ContactInput { mobile: mobile.map(Into::into), name: name.map(Into::into), ..Default::default() };
            svc.upsert_contact(&caller, code, input).map(|_| plain)
        }
        Op::UpsertCard { number, category, card_type, .. } => {
            svc.upsert_card(&caller, number, category, card_type).map(done)
        }
        Op::AddBonus { number, amount, type_code, active_from, expire, frozen, .. } => {
            let input = BonusInput {
                amount: Some(amount.into()),
                type_code: Some(type_code.into()),
                active_from: active_from.map(Into::into),
                expire_date: expire.map(Into::into),
                frozen,
            };
            svc.add_bonus(&caller, number, input).map(|_| plain)
        }
        Op::Issue { number, .. } => svc.issue(&caller, number).map(done),
        Op::BindTo { number, mobile, .. } => svc.bind_to(&caller, number, mobile).map(done),
        Op::Active { number, .. } => svc.active(&caller, number).map(done),
        Op::Block { number, mobile, reason, .. } => svc.block(&caller, number, mobile, reason).map(done),
        Op::UnBlock { number, mobile, reason, .. } => svc.unblock(&caller, number, mobile, reason).map(done),
        Op::Confirm { receipt, number, mobile, sale, redeem, .. } => {
            let lines = purchase::SALES[sale]
                .iter()
                .map(|(p, a, c)| LineInput {
                    position: Some(p.to_string()),
                    amount: Some(a.to_string()),
                    category: c.map(Into::into),
                })
                .collect();
            let input = SaleInput {
                receipt_id: Some(receipt.into()),
                number: number.map(Into::into),
                mobile: mobile.map(Into::into),
                lines: Some(lines),
                redeem: Some(redeem.into()),
            };
            svc.confirm(&caller, &input, svc.today()).map(|a| purchase_answer(svc, &a.number, a.replayed))
        }
        Op::Cancel { receipt, .. } => {
            svc.cancel(&caller, Some(receipt), svc.today()).map(|a| purchase_answer(svc, &a.number, a.replayed))
        }
        Op::Return { receipt, return_id, ret, .. } => {
            let lines = purchase::RETURNS[ret]
                .iter()
                .map(|(p, a)| LineInput { position: Some(p.to_string()), amount: Some(a.to_string()), category: None })
                .collect();
            let input =
                ReturnInput { receipt_id: Some(receipt.into()), return_id: Some(return_id.into()), lines: Some(lines) };
            svc.return_goods(&caller, &input, svc.today()).map(|a| purchase_answer(svc, &a.number, a.replayed))
        }
        Op::Balance { by, .. } => {
            let lookup = match by {
                By::Number(s) => Lookup::Number(s),
                By::Phone(s) => Lookup::Phone(s),
                By::Code(s) => Lookup::Code(s),
                By::Value(s) => Lookup::Value(s),
            };
            svc.balance(&caller, lookup, svc.today()).map(|b| {
                let bonuses = b
                    .bonuses
                    .iter()
                    .map(|l| {
                        let state = ["0", "1", "2", "3", "4"][l.state.index()];
                        (["0", "1"][l.bonus_type.index()], state, cents(l.amount.value()), l.expire)
                    })
                    .collect();
                let shown = Shown { number: b.number, contact: (b.code, b.mobile, b.name), bonuses };
                Answer { changed: None, status: Some(b.status), balance: Some(shown) }
            })
        }
    };
    r.map_err(|f| f.key)
}

/// A purchase answer as the generic checks read it: a replay changed
/// nothing; the status is the card's as the service now holds it.
fn purchase_answer(svc: &CardService, number: &str, replayed: bool) -> Answer {
    let status = svc.card(number).unwrap().map(|c| c.status);
    Answer { changed: Some(!replayed), status, balance: None }
}

/// Everything the service holds about the pool.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    /// Per pool card: the record, its lots, its history length.
    cards: Vec<(&'static str, Option<CardRecord>, Vec<Lot>, usize)>,
    contacts: Vec<Option<ContactRecord>>,
    /// Per valid phone of the pool: the code of the contact the index names.
    phones: Vec<Option<String>>,
}

impl Snapshot {
    fn take(store: &dyn Store) -> Snapshot {
        let cards = CARDS
            .iter()
            .map(|n| (*n, store.card(n).unwrap(), store.lots(n).unwrap(), store.history(n).unwrap().len()))
            .collect();
        let contacts = CONTACTS.iter().map(|c| store.contact(c).unwrap()).collect();
        let phones = PHONES
            .iter()
            .filter_map(|(_, a)| match a {
                Arg::Val(m) => Some(store.contact_by_mobile(m).unwrap().map(|c| c.code)),
                _ => None,
            })
            .collect();
        Snapshot { cards, contacts, phones }
    }

    fn card(&self, n: &str) -> Option<&CardRecord> {
        self.cards.iter().find(|c| c.0 == n).and_then(|c| c.1.as_ref())
    }

    fn history_len(&self, n: &str) -> usize {
        self.cards.iter().find(|c| c.0 == n).map_or(0, |c| c.3)
    }

    fn total_cents(&self) -> i64 {
        self.cards.iter().flat_map(|c| &c.2).map(|l| cents(l.amount.value())).sum()
    }
}

fn status_of(s: St) -> Status {
    match s {
        St::New => Status::New,
        St::Issued => Status::Issued,
        St::Active => Status::Active,
        St::Blocked => Status::Blocked,
    }
}

fn lots_of(lots: &[Lot]) -> Vec<MLot> {
    let mut v: Vec<MLot> = lots
        .iter()
        .map(|l| MLot {
            cents: cents(l.amount.value()),
            type_code: ["0", "1"][l.bonus_type.index()],
            active_from: l.active_from,
            expire: l.expire,
            frozen: l.frozen,
            receipt: l.receipt.as_deref().map(|r| lookup(&purchase::RECEIPTS, r)).map(|a| match a {
                Arg::Val(r) => r,
                _ => "<not a pool receipt>",
            }),
        })
        .collect();
    v.sort();
    v
}

/// The service's cards, contacts and lots equal the model's.
fn agrees(model: &Model, s: &Snapshot) -> Result<(), String> {
    for (n, rec, lots, _) in &s.cards {
        let m = model.cards.get(n);
        let Some(rec) = rec else {
            if m.is_some() {
                return Err(format!("card {n}: the model has it, the service does not"));
            }
            if !lots.is_empty() {
                return Err(format!("card {n} does not exist but has lots"));
            }
            continue;
        };
        let m = m.ok_or(format!("card {n}: the service has it, the model does not"))?;
        let want_block = m
            .block
            .as_ref()
            .map(|b| (BLOCK_CODES[b.reason].to_string(), b.role.to_string(), format!("{}-user", b.role)));
        let got_block = rec.block.as_ref().map(|b| (b.reason.clone(), b.role.clone(), b.user.clone()));
        let want = (status_of(m.status), m.contact.map(String::from), want_block, m.category, m.card_type);
        let got = (rec.status, rec.contact.clone(), got_block, rec.category.code(), rec.card_type.code());
        if want != got {
            return Err(format!("card {n}: model (status, contact, block, category, type) {want:?}, service {got:?}"));
        }
        let (want_sum, got_sum) = (m.cents(), lots_of(lots).iter().map(|l| l.cents).sum::<i64>());
        if want_sum != got_sum {
            return Err(format!("card {n}: lots sum to {want_sum} hundredths in the model, {got_sum} in the service"));
        }
        let mut want_lots = m.lots.clone();
        want_lots.sort();
        if want_lots != lots_of(lots) {
            return Err(format!("card {n}: lots {want_lots:?} in the model, {:?} in the service", lots_of(lots)));
        }
    }
    for (code, rec) in CONTACTS.iter().zip(&s.contacts) {
        let want = model.contacts.get(code).map(|c| (c.mobile.map(String::from), c.name.to_string()));
        let got = rec.as_ref().map(|r| (r.mobile.clone(), r.name.clone()));
        if want != got {
            return Err(format!("contact {code}: model (mobile, name) {want:?}, service {got:?}"));
        }
    }
    let valid_phones = PHONES.iter().filter_map(|(_, a)| if let Arg::Val(m) = a { Some(*m) } else { None });
    for (m, got) in valid_phones.zip(&s.phones) {
        let want = model.by_mobile(m).map(String::from);
        if want.as_ref() != got.as_ref() {
            return Err(format!("phone {m}: the model's holder is {want:?}, the service's index says {got:?}"));
        }
    }
    Ok(())
}

fn blocked_for_replacement(c: &CardRecord) -> bool {
    c.status == Status::Blocked && c.block.as_ref().is_some_and(|b| b.reason == "4")
}

/// The invariants, on the service's own state before and after one call.
fn invariants(
    op: &Op,
    outcome: &Result<Answer, ErrorKey>,
    added: i64,
    before: &Snapshot,
    after: &Snapshot,
) -> Result<(), String> {
    if outcome.is_err() && before != after {
        return Err("a refused call changed the store (card record, lots, history, contacts or phone index)".into());
    }
    for n in CARDS {
        let (Some(b), a) = (before.card(n), after.card(n)) else { continue };
        let a = a.ok_or(format!("card {n} disappeared"))?;
        if b.status != Status::New && a.status == Status::New {
            return Err(format!("card {n} returned to New"));
        }
        if blocked_for_replacement(b) && (!blocked_for_replacement(a) || a.contact != b.contact) {
            return Err(format!("card {n} was blocked for replacement and no longer is: {a:?}"));
        }
        if b.status == Status::Blocked
            && a.status != Status::Blocked
            && b.block.as_ref().is_some_and(|k| k.role == ADMIN)
            && op.role() != ADMIN
        {
            return Err(format!("a {} lifted an administrator's block on card {n}", op.role()));
        }
        if a.status != Status::Blocked && a.block.is_some() {
            return Err(format!("card {n} is {:?} but keeps a block record", a.status));
        }
    }
    for code in CONTACTS {
        let current: Vec<&str> = after
            .cards
            .iter()
            .filter_map(|(n, c, _, _)| c.as_ref().map(|c| (*n, c)))
            .filter(|(_, c)| c.contact.as_deref() == Some(code) && !blocked_for_replacement(c))
            .map(|(n, _)| n)
            .collect();
        if current.len() > 1 {
            return Err(format!("contact {code} has more than one current card: {current:?}"));
        }
    }
    let adds = matches!(op, Op::AddBonus { .. } | Op::Confirm { .. } | Op::Cancel { .. } | Op::Return { .. });
    let added = if outcome.is_ok() && adds { added } else { 0 };
    if after.total_cents() != before.total_cents() + added {
        return Err(format!(
            "the bonuses of all cards went from {} to {} hundredths on a {}",
            before.total_cents(),
            after.total_cents(),
            op.kind()
        ));
    }
    Ok(())
}

/// Tally of (operation, outcome) over a run, to show what was reached.
type Tally = Mutex<BTreeMap<(String, String), usize>>;

fn run_case(ops: &[Op], store: Arc<dyn Store>, tally: &Tally) -> Result<(), TestCaseError> {
    let svc = CardService::new(store.clone(), Arc::new(RuleHandle::new(RuleSet::shipped())));
    let mut model = Model::default();
    let mut before = Snapshot::take(store.as_ref());
    for (i, op) in ops.iter().enumerate() {
        let today = svc.today();
        let model_before = model.total_cents();
        let want = model.apply(op, today);
        let got = exec(&svc, op);
        let after = Snapshot::take(store.as_ref());
        let ctx = format!("step {i}: {op:?}");
        prop_assert_eq!(
            got.as_ref().err(),
            want.as_ref().err(),
            "{}: the outcome differs (left: service, right: model)",
            ctx
        );
        let label = match &got {
            Ok(a) if a.changed == Some(false) => "OK (no change)".to_string(),
            Ok(_) if want.as_ref().is_ok_and(|e| e.moved) => "OK (lots moved)".to_string(),
            Ok(_) => "OK".to_string(),
            Err(k) => format!("{k:?}"),
        };
        *tally.lock().unwrap().entry((op.kind().to_string(), label)).or_default() += 1;
        if let Err(e) = agrees(&model, &after) {
            return Err(TestCaseError::fail(format!("{ctx}: {e}")));
        }
        // What the call adds to all cards' bonuses: a lot's amount, or for a
        // purchase what the model's sale or reversal moved.
        let added = match op {
            Op::AddBonus { amount, .. } => lookup(&AMOUNTS, amount).unwrap_or(0),
            Op::Confirm { .. } | Op::Cancel { .. } | Op::Return { .. } => model.total_cents() - model_before,
            _ => 0,
        };
        if let Err(e) = invariants(op, &got, added, &before, &after) {
            return Err(TestCaseError::fail(format!("{ctx}: {e}")));
        }
        if let (Ok(answer), Ok(effect)) = (&got, &want) {
            let n = effect.card;
            if let Some(changed) = answer.changed {
                prop_assert_eq!(changed, effect.changed, "{}: Done.changed", ctx);
                let n = n.expect("a Done names a card");
                prop_assert_eq!(answer.status, Some(status_of(model.cards[n].status)), "{}: Done.status", ctx);
            }
            if let Some(shown) = &answer.balance {
                let want = model.shown(n.expect("a balance names a card"), today);
                prop_assert_eq!(shown, &want, "{}: the balance (left: service, right: model)", ctx);
            }
            // Every change of a card is in its history, by the caller; a no-op is not.
            let touched: Vec<&str> =
                CARDS.iter().copied().filter(|c| before.history_len(c) != after.history_len(c)).collect();
            match (n, effect.changed) {
                (Some(n), true) => {
                    prop_assert!(touched.contains(&n), "{}: the change of card {} is not in its history", ctx, n);
                    // Moved lots are in the history of the replaced card too (§5.3).
                    let others = touched.len() - 1;
                    prop_assert!(
                        if effect.moved { others >= 1 } else { others == 0 },
                        "{}: history grew for {:?}",
                        ctx,
                        touched
                    );
                    let last = store.history(n).unwrap().pop().expect("history");
                    prop_assert_eq!(&last.role, op.role(), "{}: history role", ctx);
                    prop_assert_eq!(last.to, Some(status_of(model.cards[n].status)), "{}: history ToStatus", ctx);
                }
                _ => prop_assert!(touched.is_empty(), "{}: no card changed, yet history grew for {:?}", ctx, touched),
            }
        }
        before = after;
    }
    Ok(())
}

/// Runs `cases` random cases (`MODEL_CASES` in the environment overrides it,
/// for a longer hunt) and prints what the calls answered.
fn run(cases: u32, max_steps: usize, store: impl Fn() -> Arc<dyn Store>) -> BTreeMap<(String, String), usize> {
    let cases = std::env::var("MODEL_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let tally = Tally::default();
    let mut runner = TestRunner::new(config);
    let started = std::time::Instant::now();
    if let Err(e) = runner.run(&ops(max_steps), |ops| run_case(&ops, store(), &tally)) {
        panic!("{e}");
    }
    let tally = tally.into_inner().unwrap();
    let calls: usize = tally.values().sum();
    eprintln!("{cases} cases, {calls} calls in {:.1?}; (operation, outcome) → count:", started.elapsed());
    for ((op, outcome), count) in &tally {
        eprintln!("  {op:15} {outcome:32} {count}");
    }
    tally
}

fn reached(tally: &BTreeMap<(String, String), usize>, op: &str, outcome: &str) -> bool {
    tally.get(&(op.to_string(), outcome.to_string())).is_some_and(|n| *n > 0)
}

#[test]
fn random_call_sequences_on_the_memory_store_agree_with_the_reference_model() {
    let tally = run(64, 60, || Arc::new(MemStore::new()));
    // The run reached the interesting places, not only the early refusals.
    for (op, outcome) in [
        ("upsert_contact", "OK"),
        ("upsert_contact", "MobileNumberTaken"),
        ("upsert_card", "OK"),
        ("add_bonus", "OK"),
        ("add_bonus", "InvalidAmount"),
        ("issue", "OK"),
        ("bind_to", "OK"),
        ("bind_to", "OK (lots moved)"),
        ("bind_to", "ContactBindToAnotherCardNumber"),
        ("active", "OK"),
        ("active", "StatusError"),
        ("block", "OK"),
        ("block", "BlockReasonError"),
        ("unblock", "OK"),
        ("unblock", "UnBlockReasonError"),
        ("balance", "OK"),
        ("confirm", "OK"),
        ("confirm", "OK (no change)"),
        ("confirm", "ReceiptIdConflict"),
        ("confirm", "RedeemLimitExceeded"),
        ("confirm", "StatusError"),
        ("cancel", "OK"),
        ("return", "OK"),
        ("return", "ReturnExceedsPurchase"),
    ] {
        assert!(reached(&tally, op, outcome), "no {op} call answered {outcome}");
    }
}

#[test]
fn random_call_sequences_on_the_sled_store_agree_with_the_reference_model() {
    run(8, 40, || Arc::new(SledStore::temporary().unwrap()));
}

/// The same on PostgreSQL, each case on a fresh database (CI sets
/// `CASHDESK_TEST_PG` and `CASHDESK_REQUIRE_PG=1`, so there it cannot skip).
#[test]
fn random_call_sequences_on_postgresql_agree_with_the_reference_model() {
    use cashdesk_card::store::pg::testing::TestDatabase;
    if TestDatabase::create(false).is_none() {
        return; // said why on standard error
    }
    run(8, 40, || Arc::new(TestDatabase::create(false).expect("the server answered above").store()));
    run(2, 40, || Arc::new(RunTwice(TestDatabase::create(true).expect("the server answered above").store())));
}

/// Re-run safety (an engine may run an operation again after a conflict):
/// with every operation run twice, the service still agrees with the model.
#[test]
fn random_call_sequences_with_every_operation_run_twice_agree_with_the_reference_model() {
    run(32, 60, || Arc::new(RunTwice(MemStore::new())));
    run(4, 40, || Arc::new(RunTwice(SledStore::temporary().unwrap())));
}
