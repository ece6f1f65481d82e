//! The ids a cash desk gives a sale and a return (SPEC §8.1): 1–64 printable
//! characters without `/`, as a contact code.

use super::contact_code::is_code_text;
use super::{truncate, FormatError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A receipt's id, unique in the whole system and kept for good.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReceiptId(String);

/// A return's id, unique on its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReturnId(String);

impl ReceiptId {
    pub fn parse(input: &str) -> Result<ReceiptId, FormatError> {
        if is_code_text(input) {
            Ok(ReceiptId(input.to_string()))
        } else {
            Err(FormatError::ReceiptId(truncate(input)))
        }
    }

    /// An id read back from the store, which only ever holds parsed ids.
    pub fn from_stored(s: String) -> ReceiptId {
        ReceiptId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ReturnId {
    pub fn parse(input: &str) -> Result<ReturnId, FormatError> {
        if is_code_text(input) {
            Ok(ReturnId(input.to_string()))
        } else {
            Err(FormatError::ReturnId(truncate(input)))
        }
    }

    pub fn from_stored(s: String) -> ReturnId {
        ReturnId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReceiptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ReturnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_are_printable_without_a_slash() {
        assert_eq!(ReceiptId::parse("store-7-till-2-20260301-0042").unwrap().as_str(), "store-7-till-2-20260301-0042");
        assert!(ReceiptId::parse("R 1").is_ok());
        assert!(ReturnId::parse(&"x".repeat(64)).is_ok());
        for bad in ["", "a/b", "a\nb", " R-1", "R-1 ", "a\u{0}b"] {
            assert_eq!(ReceiptId::parse(bad), Err(FormatError::ReceiptId(truncate(bad))), "{bad:?}");
            assert_eq!(ReturnId::parse(bad), Err(FormatError::ReturnId(truncate(bad))), "{bad:?}");
        }
        assert!(ReceiptId::parse(&"x".repeat(65)).is_err());
    }

    proptest! {
        #[test]
        fn valid_ids_round_trip(s in "[A-Za-z0-9_.-]{1,64}") {
            let r = ReceiptId::parse(&s).unwrap();
            prop_assert_eq!(ReceiptId::parse(r.as_str()).unwrap(), r);
        }
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = ReceiptId::parse(&s);
            let _ = ReturnId::parse(&s);
        }
    }
}
