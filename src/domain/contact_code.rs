use super::{truncate, FormatError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest contact code, in characters (SPEC §2).
pub const CONTACT_CODE_CHARS_MAX: usize = 64;

/// A contact's unique code: 1-64 printable characters, no `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContactCode(String);

impl ContactCode {
    /// Accepts the code as given (no trimming: surrounding spaces are not
    /// printable-only content and are refused, so a code means one thing).
    pub fn parse(input: &str) -> Result<ContactCode, FormatError> {
        if !is_code_text(input) {
            return Err(FormatError::ContactCode(truncate(input)));
        }
        Ok(ContactCode(input.to_string()))
    }

    pub fn from_stored(s: String) -> ContactCode {
        ContactCode(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1-64 printable characters, no `/`, no surrounding spaces: the text of a
/// contact code, and of a receipt or return id (SPEC §2, §8.1).
pub(crate) fn is_code_text(input: &str) -> bool {
    let n = input.chars().count();
    let printable = input.chars().all(|c| !c.is_control() && !c.is_whitespace() || c == ' ');
    n > 0
        && n <= CONTACT_CODE_CHARS_MAX
        && printable
        && !input.contains('/')
        && !input.starts_with(' ')
        && !input.ends_with(' ')
}

impl fmt::Display for ContactCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_printable_and_refuses_the_rest() {
        assert!(ContactCode::parse("C-0001").is_ok());
        assert!(ContactCode::parse("Иванов И.И.").is_ok());
        assert!(ContactCode::parse("").is_err());
        assert!(ContactCode::parse("a/b").is_err());
        assert!(ContactCode::parse("a\nb").is_err());
        assert!(ContactCode::parse("a\0b").is_err());
        assert!(ContactCode::parse(" a").is_err());
        assert!(ContactCode::parse(&"x".repeat(64)).is_ok());
        assert!(ContactCode::parse(&"x".repeat(65)).is_err());
    }

    proptest! {
        #[test]
        fn valid_codes_round_trip(s in "[A-Za-z0-9_.-]{1,64}") {
            let c = ContactCode::parse(&s).unwrap();
            prop_assert_eq!(ContactCode::parse(c.as_str()).unwrap(), c);
        }
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = ContactCode::parse(&s);
        }
    }
}
