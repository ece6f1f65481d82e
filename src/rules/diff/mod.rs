//! `rules diff`: what behaves differently between two rule sets. The
//! lifecycle's decision space is finite (methods × statuses × bound ×
//! registered × roles × reasons × block reasons × who blocked), so every
//! decision is enumerated under both sets and the differences are grouped
//! for a person to read; access, names, messages, registration, formats,
//! options and purchase settings are compared field by field; and a few
//! sample receipts are computed under both.

mod receipts;
mod render;
mod settings;
mod space;

use super::RuleSet;
use serde::Serialize;

/// Every difference between two rule sets.
#[derive(Debug, Clone, Serialize)]
pub struct RuleDiff {
    /// How many lifecycle decisions were compared (the whole space).
    pub cases_compared: usize,
    /// Groups of lifecycle decisions whose outcome changed.
    pub decisions: Vec<DecisionChange>,
    /// Groups of refusals whose outcome stayed but whose `Value` text changed.
    pub messages: Vec<MessageChange>,
    /// Role × method: may call or not (HTTP 403).
    pub access: Vec<AccessChange>,
    /// Names, registration fields, formats, options, purchase settings.
    pub settings: Vec<SettingChange>,
    /// Sample receipts whose figures change.
    pub receipts: Vec<ReceiptChange>,
}

impl RuleDiff {
    /// Nothing behaves or reads differently.
    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
            && self.messages.is_empty()
            && self.access.is_empty()
            && self.settings.is_empty()
            && self.receipts.is_empty()
    }
}

/// One group of changed decisions: same method, role and reasons, same old
/// and new outcome, over a set of cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionChange {
    pub method: String,
    pub role: String,
    /// Block: the block reason sent; UnBlock: the unblock reason sent
    /// (code and name, or "an unknown code").
    pub reason: Option<String>,
    /// UnBlock: the reason the card was blocked with.
    pub block_reason: Option<String>,
    /// UnBlock: who blocked the card ("any role" when it does not matter).
    pub blockers: Option<String>,
    pub old: String,
    pub new: String,
    /// The cards, e.g. "issued bound; active".
    pub cards: String,
    pub cases: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageChange {
    pub method: String,
    pub old: String,
    pub new: String,
    pub cases: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessChange {
    pub role: String,
    pub method: String,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    /// File and setting, e.g. `purchases.toml [accrual.percent] "0"`.
    pub what: String,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptChange {
    /// e.g. `card type 0, active, Redeem 100.00`.
    pub receipt: String,
    pub figure: String,
    pub old: String,
    pub new: String,
}

/// What the sample receipts of a diff are, in words.
pub fn samples(old: &RuleSet, new: &RuleSet) -> String {
    receipts::describe(old, new)
}

/// Compares two checked rule sets.
pub fn diff(old: &RuleSet, new: &RuleSet) -> RuleDiff {
    let (cases_compared, decisions, messages) = space::compare(old, new);
    RuleDiff {
        cases_compared,
        decisions,
        messages,
        access: space::access(old, new),
        settings: settings::compare(old, new),
        receipts: receipts::compare(old, new),
    }
}
