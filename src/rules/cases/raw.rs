//! The expectations file of `rules test`, as serde reads it. Spans are kept
//! so a failing case is named by its line.

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesFile {
    #[serde(default)]
    pub case: Vec<Spanned<RawCase>>,
    #[serde(default)]
    pub matrix: Vec<Spanned<RawMatrix>>,
    #[serde(default)]
    pub receipt: Vec<Spanned<RawReceipt>>,
}

/// The card and caller of a lifecycle case (shared by cases and matrices).
#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    #[serde(default)]
    pub name: Option<String>,
    pub method: String,
    pub status: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub bound: bool,
    #[serde(default)]
    pub registered: bool,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub block_reason: Option<String>,
    #[serde(default)]
    pub blocker: Option<String>,
    /// "OK", "AccessDenied" or an error key.
    #[serde(default)]
    pub expect: String,
    /// With "OK": the status after, or "stay".
    #[serde(default)]
    pub to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatrix {
    #[serde(default)]
    pub name: Option<String>,
    pub method: String,
    pub status: String,
    #[serde(default)]
    pub bound: bool,
    #[serde(default)]
    pub registered: bool,
    #[serde(default)]
    pub blocker: Option<String>,
    /// The columns: one role each.
    pub roles: Vec<String>,
    /// The key a `-` cell means.
    pub no: String,
    pub rows: Vec<Spanned<RawRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRow {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub block_reason: Option<String>,
    /// One cell per role: `yes` (OK), `-` (the matrix's `no`) or a key.
    pub expect: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReceipt {
    #[serde(default)]
    pub name: Option<String>,
    pub today: String,
    #[serde(default = "active")]
    pub status: String,
    #[serde(default = "bonus")]
    pub card_type: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub lots: Vec<RawLot>,
    pub lines: Vec<RawLine>,
    #[serde(default)]
    pub redeem: Option<toml::Value>,
    /// "OK" (default) or the key it is refused with.
    #[serde(default = "ok")]
    pub expect: String,
    pub accrued: Option<toml::Value>,
    pub max_redeem: Option<toml::Value>,
    pub eligible_total: Option<toml::Value>,
    pub active_from: Option<String>,
    /// "never" for a lot that does not expire.
    pub expire: Option<String>,
    pub line_redeemed: Option<Vec<toml::Value>>,
    pub line_accrued: Option<Vec<toml::Value>>,
    #[serde(default)]
    pub returns: Vec<RawReturn>,
    pub cancel: Option<RawTotals>,
}

fn active() -> String {
    "active".into()
}
fn bonus() -> String {
    "0".into()
}
fn ok() -> String {
    "OK".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLot {
    pub amount: toml::Value,
    #[serde(default)]
    pub bonus_type: Option<String>,
    #[serde(default)]
    pub active_from: Option<String>,
    #[serde(default)]
    pub expire: Option<String>,
    #[serde(default)]
    pub frozen: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLine {
    pub position: u32,
    pub amount: toml::Value,
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReturn {
    pub lines: Vec<RawLine>,
    pub reversed: Option<toml::Value>,
    pub restored: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTotals {
    pub reversed: Option<toml::Value>,
    pub restored: Option<toml::Value>,
}
