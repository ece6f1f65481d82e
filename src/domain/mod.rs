//! Newtypes that parse: once a value has one of these types it is valid, so
//! nothing downstream checks it again. The domain knows nothing of HTTP, sled or
//! the rule files; the formats it needs (digits, check digit, phone region) are
//! passed in as plain values.

mod amount;
mod card_number;
mod contact_code;
mod lot;
mod mobile;
mod money;
mod position;
mod receipt_id;

pub use amount::{Amount, AmountError};
pub use card_number::{CardFormat, CardNumber, CheckDigit};
pub use contact_code::ContactCode;
pub use lot::Lot;
pub use mobile::{MobileNumber, PhoneRegion};
pub use money::{Money, MoneyError, MONEY_MAX};
pub use position::{Position, POSITION_MAX};
pub use receipt_id::{ReceiptId, ReturnId};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Why a value did not parse; the HTTP layer maps each to its SPEC key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("card number `{0}` is not {1}")]
    CardNumber(String, String),
    #[error("mobile number `{0}` is not a valid number of the region's plan")]
    MobileNumber(String),
    #[error("contact code `{0}` must be 1-64 printable characters without `/`")]
    ContactCode(String),
    #[error("`{0}` is not a date in the form YYYY-MM-DD")]
    Date(String),
    #[error("receipt id `{0}` must be 1-64 printable characters without `/`")]
    ReceiptId(String),
    #[error("return id `{0}` must be 1-64 printable characters without `/`")]
    ReturnId(String),
    #[error("position `{0}` must be a whole number from 1 to 100000")]
    Position(String),
}

/// Longest value the parsers look at; anything longer is refused before work.
pub const INPUT_CHARS_MAX: usize = 256;

/// Card status. The four statuses and their codes are fixed by the API
/// contract; their display names and the moves between them come from the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Status {
    New,
    Issued,
    Active,
    Blocked,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::New, Status::Issued, Status::Active, Status::Blocked];

    /// The wire code (`"0"`..`"3"`).
    pub fn code(self) -> &'static str {
        match self {
            Status::New => "0",
            Status::Issued => "1",
            Status::Active => "2",
            Status::Blocked => "3",
        }
    }

    /// The identifier used in rule files (`new`, `issued`, `active`, `blocked`).
    pub fn ident(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Issued => "issued",
            Status::Active => "active",
            Status::Blocked => "blocked",
        }
    }

    pub fn from_ident(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.ident().eq_ignore_ascii_case(s))
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Card category (`0` plastic, `1` virtual).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Category {
    Plastic,
    Virtual,
}

impl Category {
    pub const ALL: [Category; 2] = [Category::Plastic, Category::Virtual];
    pub fn code(self) -> &'static str {
        match self {
            Category::Plastic => "0",
            Category::Virtual => "1",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s)
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Card type (`0` bonus, `1` discount, `2` bonus/discount).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CardType {
    Bonus,
    Discount,
    BonusDiscount,
}

impl CardType {
    pub const ALL: [CardType; 3] = [CardType::Bonus, CardType::Discount, CardType::BonusDiscount];
    pub fn code(self) -> &'static str {
        match self {
            CardType::Bonus => "0",
            CardType::Discount => "1",
            CardType::BonusDiscount => "2",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s)
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Bonus type (`0` monetary, `1` status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BonusType {
    Monetary,
    Status,
}

impl BonusType {
    pub const ALL: [BonusType; 2] = [BonusType::Monetary, BonusType::Status];
    pub fn code(self) -> &'static str {
        match self {
            BonusType::Monetary => "0",
            BonusType::Status => "1",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s)
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Bonus state in a balance (`0` active .. `4` nearest expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BonusState {
    Active,
    Inactive,
    Burned,
    Frozen,
    NearestExpiry,
}

impl BonusState {
    pub const ALL: [BonusState; 5] =
        [BonusState::Active, BonusState::Inactive, BonusState::Burned, BonusState::Frozen, BonusState::NearestExpiry];
    pub fn code(self) -> &'static str {
        match self {
            BonusState::Active => "0",
            BonusState::Inactive => "1",
            BonusState::Burned => "2",
            BonusState::Frozen => "3",
            BonusState::NearestExpiry => "4",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Parses `YYYY-MM-DD` strictly (no time, no other layout).
pub fn parse_date(s: &str) -> Result<NaiveDate, FormatError> {
    let t = s.trim();
    let shape_ok = t.len() == 10
        && t.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !shape_ok {
        return Err(FormatError::Date(truncate(s)));
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| FormatError::Date(truncate(s)))
}

#[cfg(test)]
mod date_tests {
    use super::parse_date;

    #[test]
    fn only_plain_four_digit_years_are_dates() {
        assert!(parse_date("2026-02-13").is_ok());
        assert!(parse_date(" 2026-02-13 ").is_ok());
        for bad in ["-024-02-13", "+024-02-13", "2026-2-13", "2026-02-30", "20260213", "2026/02/13", "2026-02-1x", ""] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}

/// The candidate closest to a misspelt name (Jaro-Winkler, letter case
/// aside), if any is close enough to suggest.
pub fn did_you_mean<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let given = given.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&given, &c.to_lowercase());
        if score > 0.75 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Cuts user input for inclusion in a message, so a 5,000-character value does
/// not come back 5,000 characters long.
pub fn truncate_for_message(s: &str) -> String {
    truncate(s)
}

pub(crate) fn truncate(s: &str) -> String {
    const SHOWN: usize = 40;
    if s.chars().count() <= SHOWN {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(SHOWN).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strictly_yyyy_mm_dd() {
        assert_eq!(parse_date(" 2024-02-29 ").unwrap().to_string(), "2024-02-29");
        // Found by fuzzing: chrono's %Y takes a signed year; a sign is not a digit.
        for s in ["-024-02-13", "+024-02-13", "2023-02-29", "2024-2-029", "2024/02/29", "２０２４-02-29"] {
            assert!(parse_date(s).is_err(), "{s:?} should be refused");
        }
    }
}
