//! Rule files → a checked [`RuleSet`] → pure decisions that carry their reason.
//!
//! This module does no I/O at decision time and knows nothing of sled or warp.
//! Loading happens in two stages (like ripgrep's low/high args, or Cedar's
//! text → AST): [`raw`] mirrors the TOML exactly, [`compile`] checks everything
//! and builds the `RuleSet`. A set that loads cannot make evaluation fail:
//! every (method, status, guard) combination has exactly one transition row,
//! every role and reason is an index into a bitmask.
//!
//! The *order* of the checks is the API contract's (SPEC.md §5) and lives in
//! [`RuleSet::decide`]; *what* each check allows is data.

pub mod cases;
mod compile;
mod ctx;
pub mod diff;
mod graph;
mod lint;
pub mod purchases;
mod raw;
mod shipped;
pub mod svg;
mod transitions;

pub use compile::{RuleErrors, RuleProblem};
pub use graph::GraphFormat;

use crate::domain::{BonusState, BonusType, CardFormat, CardType, Category, PhoneRegion, Status};
use crate::ErrorKey;
use arc_swap::ArcSwap;
use std::path::Path;
use std::sync::Arc;

/// Most roles, block reasons or unblock reasons a set may have (bitmask width).
pub const ROLES_MAX: usize = 64;
pub const REASONS_MAX: usize = 64;
/// Most transition rows a set may have.
pub const TRANSITIONS_MAX: usize = 1024;

/// The names of the rule files, in the order they are read.
pub const RULE_FILES: [&str; 11] = [
    "statuses.toml",
    "roles.toml",
    "block_reasons.toml",
    "unblock_reasons.toml",
    "registration.toml",
    "formats.toml",
    "options.toml",
    "names.toml",
    "transitions.toml",
    "messages.toml",
    "purchases.toml",
];

/// A file a rule directory may hold beside the rule files: the retailer's
/// expectations for `cashdesk rules test`.
pub const TESTS_FILE: &str = "tests.toml";

/// A method of the API, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Balance,
    Issue,
    BindTo,
    Active,
    Block,
    UnBlock,
    /// The /api/admin endpoints.
    Admin,
    /// The purchase methods (SPEC §8.4).
    Calculate,
    Confirm,
    Cancel,
    Return,
    Receipt,
}

impl Method {
    pub const ALL: [Method; 12] = [
        Method::Balance,
        Method::Issue,
        Method::BindTo,
        Method::Active,
        Method::Block,
        Method::UnBlock,
        Method::Admin,
        Method::Calculate,
        Method::Confirm,
        Method::Cancel,
        Method::Return,
        Method::Receipt,
    ];
    /// The methods that move a card between statuses and so have transitions.
    pub const WITH_TRANSITIONS: [Method; 5] =
        [Method::Issue, Method::BindTo, Method::Active, Method::Block, Method::UnBlock];
    /// The purchase methods; purchases.toml decides what they compute.
    pub const PURCHASES: [Method; 5] =
        [Method::Calculate, Method::Confirm, Method::Cancel, Method::Return, Method::Receipt];

    pub fn name(self) -> &'static str {
        match self {
            Method::Balance => "Balance",
            Method::Issue => "Issue",
            Method::BindTo => "BindTo",
            Method::Active => "Active",
            Method::Block => "Block",
            Method::UnBlock => "UnBlock",
            Method::Admin => "Admin",
            Method::Calculate => "Calculate",
            Method::Confirm => "Confirm",
            Method::Cancel => "Cancel",
            Method::Return => "Return",
            Method::Receipt => "Receipt",
        }
    }

    pub fn from_name(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name().eq_ignore_ascii_case(s))
    }

    fn transition_index(self) -> Option<usize> {
        Method::WITH_TRANSITIONS.iter().position(|m| *m == self)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A role of the loaded rule set (an index; names may change on reload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoleId(u8);

/// A block or unblock reason of the loaded rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReasonId(u8);

/// Which row of which file decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RuleId(u16);

/// Where a rule row stands, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// A one-line summary of the row.
    pub summary: String,
}

impl std::fmt::Display for RuleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What the rules know about the block on a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockFacts {
    /// `None` when the stored reason code is not in the current rule set.
    pub reason: Option<ReasonId>,
    /// `None` when the stored role is not in the current rule set.
    pub blocker: Option<RoleId>,
}

/// Everything a decision depends on. No strings: plain indexes and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub method: Method,
    pub status: Status,
    pub bound: bool,
    pub registered: bool,
    pub role: RoleId,
    /// Block: the block reason sent; UnBlock: the unblock reason sent.
    /// `None` when the code is unknown.
    pub reason: Option<ReasonId>,
    /// The card's current block (UnBlock).
    pub block: Option<BlockFacts>,
}

/// What a decision says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The card moves to this status.
    To(Status),
    /// The call succeeds; the status stays.
    Stay,
    /// The call is refused with this key.
    Refuse(ErrorKey),
}

/// Which check decided (in SPEC.md's order for Block and UnBlock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Transition,
    UnknownReason,
    BlockReasonRole,
    FinalBlock,
    ReservedBlock,
    LiftRole,
    UnblockReasonRole,
    Pairing,
}

/// A decision and the rule behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub check: Check,
    pub rule: RuleId,
}

/// Behaviour switches (options.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub freeze_while_blocked: bool,
    pub auto_activate: bool,
    pub move_lots_on_replacement: bool,
}

/// The zone that decides "today".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Local,
    Named(chrono_tz::Tz),
}

impl Zone {
    pub fn today(self) -> chrono::NaiveDate {
        match self {
            Zone::Local => chrono::Local::now().date_naive(),
            Zone::Named(tz) => chrono::Utc::now().with_timezone(&tz).date_naive(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RoleDef {
    pub name: String,
    pub title: String,
    /// "a", "an" or "" before the title in a sentence.
    pub article: String,
    /// Bitmask over [`Method`].
    pub methods: u16,
    pub rule: RuleId,
}

#[derive(Debug, Clone)]
pub(crate) struct BlockReasonDef {
    pub code: String,
    pub name: String,
    pub block_roles: u64,
    pub lift_roles: u64,
    pub is_final: bool,
    pub replacement: bool,
    pub rule: RuleId,
}

#[derive(Debug, Clone)]
pub(crate) struct UnblockReasonDef {
    pub code: String,
    pub name: String,
    pub roles: u64,
    /// Bitmask over block reasons.
    pub answers: u64,
    pub rule: RuleId,
}

#[derive(Debug, Clone)]
pub(crate) struct TransitionDef {
    pub method: Method,
    /// Bitmask over statuses.
    pub from: u8,
    pub bound: Option<bool>,
    pub registered: Option<bool>,
    pub outcome: Outcome,
    pub message: String,
    pub rule: RuleId,
}

#[derive(Debug, Clone)]
pub(crate) struct Messages {
    pub block_reason_role: String,
    pub unknown_block_reason: String,
    pub unknown_unblock_reason: String,
    pub final_block: String,
    pub reserved_block: String,
    pub lift_role: String,
    pub unblock_reason_role: String,
    pub pairing: String,
    pub purchase_status: String,
    pub redeem_status: String,
    pub redeem_limit: String,
    pub not_enough_bonuses: String,
}

/// A checked rule set. Built only by loading; immutable afterwards.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) status_codes: [String; 4],
    pub(crate) status_names: [String; 4],
    pub(crate) roles: Vec<RoleDef>,
    pub(crate) block_reasons: Vec<BlockReasonDef>,
    pub(crate) unblock_reasons: Vec<UnblockReasonDef>,
    pub(crate) pairing_exempt: u64,
    pub(crate) reserved: u64,
    pub(crate) reserved_rule: RuleId,
    pub(crate) required_fields: Vec<String>,
    /// registration.toml `extra_fields`: the custom fields a contact may have.
    pub(crate) extra_fields: Vec<String>,
    /// registration.toml `genders`: the values `Gender` may take (`None`: any).
    pub(crate) genders: Option<Vec<String>>,
    pub(crate) card_format: CardFormat,
    pub(crate) region: PhoneRegion,
    pub(crate) zone: Zone,
    pub(crate) options: Options,
    pub(crate) category_names: [String; 2],
    pub(crate) card_type_names: [String; 3],
    pub(crate) bonus_state_names: [String; 5],
    pub(crate) bonus_type_names: [String; 2],
    pub(crate) transitions: Vec<TransitionDef>,
    /// Per transition method, per (status, bound, registered): the decision
    /// of the one row that matches (compile checked there is exactly one), and the block reasons' role masks
    /// in a dense array: the hot path reads two small arrays and nothing else.
    pub(crate) decisions: [[Decision; 16]; 5],
    pub(crate) block_masks: Vec<u64>,
    pub(crate) sources: Vec<RuleSource>,
    pub(crate) messages: Messages,
    pub(crate) purchases: purchases::PurchaseRules,
}

#[inline]
fn has(mask: u64, i: u8) -> bool {
    (mask >> i) & 1 == 1
}

#[inline]
fn cell(status: Status, bound: bool, registered: bool) -> usize {
    status.index() * 4 + (bound as usize) * 2 + registered as usize
}

impl RuleSet {
    /// Loads and checks the rule files in `dir`.
    pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleErrors> {
        compile::load_dir(dir)
    }

    /// Checks a rule set given as (file name, text) pairs.
    pub fn from_sources(files: &[(&str, &str)]) -> Result<RuleSet, RuleErrors> {
        compile::compile(files)
    }

    /// The rule set shipped in `rules/`, built into the binary.
    pub fn shipped() -> RuleSet {
        shipped::rule_set()
    }

    /// The shipped files, for `--demo` and for customers starting a new set.
    pub fn shipped_files() -> &'static [(&'static str, &'static str)] {
        shipped::FILES
    }

    /// Decides a call. Pure: no I/O, no allocation.
    ///
    /// The order of checks is SPEC.md §5's: for Block an unknown reason and the
    /// reason's roles come before the status; for UnBlock an unknown reason
    /// comes first, then the status, then final reason, reserved block, lift
    /// roles, unblock-reason roles, pairing.
    pub fn decide(&self, f: &Facts) -> Decision {
        let Some(t) = f.method.transition_index() else {
            // Balance, Admin and the purchase methods do not move a card;
            // access is `may_call`, purchases are `purchases::compute`.
            return Decision { outcome: Outcome::Stay, check: Check::Transition, rule: RuleId(0) };
        };
        let by_row = self.decisions[t][cell(f.status, f.bound, f.registered)];
        let role = f.role.0;
        match f.method {
            Method::Block => {
                let Some(r) = f.reason else {
                    return refuse(ErrorKey::BlockReasonError, Check::UnknownReason, by_row.rule);
                };
                match self.block_masks.get(r.0 as usize) {
                    Some(&mask) if has(mask, role) => by_row,
                    _ => refuse(
                        ErrorKey::BlockReasonError,
                        Check::BlockReasonRole,
                        self.block_reasons[r.0 as usize].rule,
                    ),
                }
            }
            Method::UnBlock => {
                // SPEC.md §5.6: an unknown reason code (step 3) answers before
                // the card's status (step 5), as for Block.
                let Some(u) = f.reason else {
                    return refuse(ErrorKey::UnBlockReasonError, Check::UnknownReason, by_row.rule);
                };
                if matches!(by_row.outcome, Outcome::Refuse(_)) {
                    return by_row;
                }
                let block = f.block.unwrap_or(BlockFacts { reason: None, blocker: None });
                let Some(b) = block.reason else {
                    // The card's block reason is no longer in the rules: nobody
                    // can know whether lifting it is allowed, so it is not.
                    return refuse(ErrorKey::UnBlockReasonError, Check::LiftRole, by_row.rule);
                };
                let breason = &self.block_reasons[b.0 as usize];
                if breason.is_final {
                    return refuse(ErrorKey::UnBlockReasonError, Check::FinalBlock, breason.rule);
                }
                if let Some(blocker) = block.blocker {
                    if has(self.reserved, blocker.0) && !has(self.reserved, role) {
                        return refuse(ErrorKey::UnBlockReasonError, Check::ReservedBlock, self.reserved_rule);
                    }
                }
                if !has(breason.lift_roles, role) {
                    return refuse(ErrorKey::UnBlockReasonError, Check::LiftRole, breason.rule);
                }
                let ureason = &self.unblock_reasons[u.0 as usize];
                if !has(ureason.roles, role) {
                    return refuse(ErrorKey::UnBlockReasonError, Check::UnblockReasonRole, ureason.rule);
                }
                if !has(self.pairing_exempt, role) && !has(ureason.answers, b.0) {
                    return refuse(ErrorKey::UnBlockReasonError, Check::Pairing, ureason.rule);
                }
                by_row
            }
            _ => by_row,
        }
    }

    /// The sentence for the response's `Value` when a decision refuses, in
    /// words a store employee understands. Empty for a decision that allows.
    pub fn explain(&self, f: &Facts, d: &Decision, number: &str) -> String {
        let Outcome::Refuse(_) = d.outcome else { return String::new() };
        let role = self.role_in_sentence(f.role);
        let block_reason = f.block.and_then(|b| b.reason);
        let (reason, block_reason_name) = match f.method {
            // `get`: explaining must not panic on facts a caller put together
            // by hand (e.g. a block reason id given with another method).
            Method::Block => {
                (f.reason.and_then(|r| self.block_reasons.get(r.0 as usize)).map(|r| r.name.as_str()), None)
            }
            _ => (
                f.reason.and_then(|r| self.unblock_reasons.get(r.0 as usize)).map(|r| r.name.as_str()),
                block_reason.and_then(|r| self.block_reasons.get(r.0 as usize)).map(|r| r.name.as_str()),
            ),
        };
        let blocker = f.block.and_then(|b| b.blocker).map(|r| self.role_in_sentence(r)).unwrap_or_default();
        let template = match d.check {
            Check::Transition => {
                let row = self.transitions.iter().find(|t| t.rule == d.rule);
                row.map(|t| t.message.as_str()).unwrap_or("")
            }
            Check::UnknownReason if f.method == Method::Block => &self.messages.unknown_block_reason,
            Check::UnknownReason => &self.messages.unknown_unblock_reason,
            Check::BlockReasonRole => &self.messages.block_reason_role,
            Check::FinalBlock => &self.messages.final_block,
            Check::ReservedBlock => &self.messages.reserved_block,
            Check::LiftRole => &self.messages.lift_role,
            Check::UnblockReasonRole => &self.messages.unblock_reason_role,
            Check::Pairing => &self.messages.pairing,
        };
        let reserved: Vec<String> = (0..self.roles.len())
            .filter(|i| has(self.reserved, *i as u8))
            .map(|i| self.role_in_sentence(RoleId(i as u8)))
            .collect();
        let mut out = template.to_string();
        for (k, v) in [
            ("{number}", number),
            ("{status}", self.status_name(f.status)),
            ("{method}", f.method.name()),
            ("{role}", &role),
            ("{reason}", reason.unwrap_or("?")),
            ("{block_reason}", block_reason_name.unwrap_or("a reason no longer in the rules")),
            ("{blocker}", &blocker),
            ("{reserved}", &reserved.join(" or ")),
        ] {
            if out.contains(k) {
                out = out.replace(k, v);
            }
        }
        if out.is_empty() {
            out = format!("{} refused for card {number}", f.method.name());
        }
        out
    }

    /// Where a rule stands (file:line) and what it says.
    pub fn source(&self, rule: RuleId) -> &RuleSource {
        &self.sources[rule.0 as usize]
    }

    pub fn role(&self, name: &str) -> Option<RoleId> {
        self.roles.iter().position(|r| r.name == name).map(|i| RoleId(i as u8))
    }

    pub fn role_name(&self, r: RoleId) -> &str {
        &self.roles[r.0 as usize].name
    }

    pub fn role_title(&self, r: RoleId) -> &str {
        &self.roles[r.0 as usize].title
    }

    /// The title with its article, as messages name a role: "an administrator".
    pub fn role_in_sentence(&self, r: RoleId) -> String {
        let role = &self.roles[r.0 as usize];
        if role.article.is_empty() {
            role.title.clone()
        } else {
            format!("{} {}", role.article, role.title)
        }
    }

    pub fn role_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.roles.iter().map(|r| r.name.as_str())
    }

    /// May this role call this method at all? (Else 403 AccessDenied.)
    pub fn may_call(&self, role: RoleId, method: Method) -> bool {
        self.roles[role.0 as usize].methods & method.bit() != 0
    }

    /// The roles.toml row of a role (its `methods` decide `may_call`).
    pub fn role_rule(&self, role: RoleId) -> RuleId {
        self.roles[role.0 as usize].rule
    }

    pub fn block_reason(&self, code: &str) -> Option<ReasonId> {
        self.block_reasons.iter().position(|r| r.code == code).map(|i| ReasonId(i as u8))
    }

    pub fn unblock_reason(&self, code: &str) -> Option<ReasonId> {
        self.unblock_reasons.iter().position(|r| r.code == code).map(|i| ReasonId(i as u8))
    }

    pub fn block_reason_code(&self, r: ReasonId) -> &str {
        &self.block_reasons[r.0 as usize].code
    }

    pub fn block_reason_name(&self, r: ReasonId) -> &str {
        &self.block_reasons[r.0 as usize].name
    }

    pub fn unblock_reason_code(&self, r: ReasonId) -> &str {
        &self.unblock_reasons[r.0 as usize].code
    }

    pub fn unblock_reason_name(&self, r: ReasonId) -> &str {
        &self.unblock_reasons[r.0 as usize].name
    }

    /// Is a card blocked with this reason code "blocked for replacement"?
    /// (Such a card is not its contact's current card.)
    pub fn is_replacement(&self, block_reason_code: &str) -> bool {
        self.block_reasons.iter().any(|r| r.replacement && r.code == block_reason_code)
    }

    /// The contact fields that must be non-empty for registration to be sufficient.
    pub fn required_fields(&self) -> &[String] {
        &self.required_fields
    }

    /// The custom contact fields registration.toml declares.
    pub fn extra_fields(&self) -> &[String] {
        &self.extra_fields
    }

    /// The values `Gender` may take, when registration.toml lists them.
    pub fn genders(&self) -> Option<&[String]> {
        self.genders.as_deref()
    }

    pub fn card_format(&self) -> &CardFormat {
        &self.card_format
    }

    pub fn region(&self) -> PhoneRegion {
        self.region
    }

    pub fn zone(&self) -> Zone {
        self.zone
    }

    pub fn options(&self) -> Options {
        self.options
    }

    pub fn status_code(&self, s: Status) -> &str {
        &self.status_codes[s.index()]
    }

    pub fn status_name(&self, s: Status) -> &str {
        &self.status_names[s.index()]
    }

    pub fn category_name(&self, c: Category) -> &str {
        &self.category_names[c.index()]
    }

    pub fn card_type_name(&self, t: CardType) -> &str {
        &self.card_type_names[t.index()]
    }

    pub fn bonus_state_name(&self, s: BonusState) -> &str {
        &self.bonus_state_names[s.index()]
    }

    pub fn bonus_type_name(&self, t: BonusType) -> &str {
        &self.bonus_type_names[t.index()]
    }

    /// The checked settings of purchases.toml.
    pub fn purchases(&self) -> &purchases::PurchaseRules {
        &self.purchases
    }

    /// How many transition rows the set has.
    pub fn transition_count(&self) -> usize {
        self.transitions.len()
    }

    /// The status machine as a diagram.
    pub fn graph(&self, format: GraphFormat) -> String {
        graph::render(self, format)
    }

    /// A one-line description of a decision, for `cashdesk rules explain`.
    pub fn describe(&self, d: &Decision) -> String {
        match d.outcome {
            Outcome::To(s) => format!("OK: the card becomes {} «{}»", s.ident(), self.status_name(s)),
            Outcome::Stay => "OK: the status stays as it is".to_string(),
            Outcome::Refuse(k) => k.as_key().to_string(),
        }
    }
}

#[inline]
fn refuse(key: ErrorKey, check: Check, rule: RuleId) -> Decision {
    Decision { outcome: Outcome::Refuse(key), check, rule }
}

/// The server's swap point for hot reload: readers take the current set
/// without locking; a reload swaps in a new set only if it checks.
pub struct RuleHandle {
    current: ArcSwap<RuleSet>,
}

impl RuleHandle {
    pub fn new(rules: RuleSet) -> RuleHandle {
        RuleHandle { current: ArcSwap::from_pointee(rules) }
    }

    /// The rule set in force now.
    pub fn current(&self) -> Arc<RuleSet> {
        self.current.load_full()
    }

    /// Loads and checks `dir`; swaps it in only when it checks. On error the
    /// old set stays in force and every problem is returned.
    pub fn reload(&self, dir: &Path) -> Result<(), RuleErrors> {
        let next = RuleSet::load_dir(dir)?;
        self.current.store(Arc::new(next));
        Ok(())
    }

    /// Swaps in an already checked set.
    pub fn replace(&self, rules: RuleSet) {
        self.current.store(Arc::new(rules));
    }
}
