//! Serde structs that mirror the TOML files exactly. Nothing here is checked
//! beyond TOML types; `compile` turns them into a `RuleSet`. Spans are kept
//! (`toml::Spanned`) so a semantic error can point at file, line and column.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub type S = Spanned<String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusesFile {
    pub status: Vec<RawStatus>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatus {
    pub id: S,
    pub code: S,
    pub name: S,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesFile {
    pub role: Vec<RawRole>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    pub name: S,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub article: Option<S>,
    #[serde(default)]
    pub methods: Vec<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockReasonsFile {
    pub block_reason: Vec<RawBlockReason>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlockReason {
    pub code: S,
    pub name: S,
    #[serde(default)]
    pub block_roles: Vec<S>,
    #[serde(default)]
    pub lift_roles: Vec<S>,
    #[serde(default, rename = "final")]
    pub is_final: Option<Spanned<bool>>,
    #[serde(default)]
    pub replacement: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnblockReasonsFile {
    pub unblock_reason: Vec<RawUnblockReason>,
    #[serde(default)]
    pub pairing: RawRoleList,
    #[serde(default)]
    pub reserved_blocks: RawRoleList,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUnblockReason {
    pub code: S,
    pub name: S,
    #[serde(default)]
    pub roles: Vec<S>,
    #[serde(default)]
    pub answers: Vec<S>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRoleList {
    #[serde(default, alias = "exempt_roles")]
    pub roles: Vec<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationFile {
    pub required_fields: Vec<S>,
    #[serde(default)]
    pub extra_fields: Vec<S>,
    /// The values `Gender` may take; absent: any text.
    #[serde(default)]
    pub genders: Option<Vec<S>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatsFile {
    pub card_number: RawCardNumber,
    pub mobile_number: RawMobile,
    pub time: RawTime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCardNumber {
    pub digits_min: Spanned<i64>,
    pub digits_max: Spanned<i64>,
    #[serde(default)]
    pub check_digit: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMobile {
    pub region: S,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTime {
    pub zone: S,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsFile {
    pub balance: RawBalanceOptions,
    pub bind: RawBindOptions,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBalanceOptions {
    pub freeze_while_blocked: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBindOptions {
    pub auto_activate: bool,
    pub move_lots_on_replacement: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamesFile {
    pub card_categories: BTreeMap<String, S>,
    pub card_types: BTreeMap<String, S>,
    pub bonus_states: BTreeMap<String, S>,
    pub bonus_types: BTreeMap<String, S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionsFile {
    pub transition: Vec<RawTransition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTransition {
    pub method: S,
    pub from: Spanned<Vec<S>>,
    #[serde(default)]
    pub bound: Option<bool>,
    #[serde(default)]
    pub registered: Option<bool>,
    #[serde(default)]
    pub to: Option<S>,
    #[serde(default)]
    pub stay: Option<Spanned<bool>>,
    #[serde(default)]
    pub error: Option<S>,
    #[serde(default)]
    pub message: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesFile {
    pub block_reason_role: S,
    pub unknown_block_reason: S,
    pub unknown_unblock_reason: S,
    pub final_block: S,
    pub reserved_block: S,
    pub lift_role: S,
    pub unblock_reason_role: S,
    pub pairing: S,
    pub purchase_status: S,
    pub redeem_status: S,
    pub redeem_limit: S,
    pub not_enough_bonuses: S,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchasesFile {
    pub accrual: RawAccrual,
    pub redemption: RawRedemption,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccrual {
    pub statuses: Spanned<Vec<S>>,
    pub bonus_type: S,
    pub activation_delay_days: Spanned<i64>,
    pub lifetime_days: Spanned<i64>,
    #[serde(default)]
    pub excluded_categories: Vec<S>,
    /// Card type code → percent (an integer or a decimal number).
    #[serde(default)]
    pub percent: Option<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedemption {
    pub statuses: Spanned<Vec<S>>,
    pub bonus_type: S,
    pub max_share_percent: Spanned<toml::Value>,
}
