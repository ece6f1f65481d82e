use super::{truncate, FormatError, INPUT_CHARS_MAX};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which check digit a card number carries (the last digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CheckDigit {
    #[default]
    None,
    Luhn,
    Ean13,
}

/// The card-number format of a rule set (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFormat {
    pub digits_min: usize,
    pub digits_max: usize,
    pub check_digit: CheckDigit,
}

impl Default for CardFormat {
    fn default() -> Self {
        CardFormat { digits_min: 6, digits_max: 20, check_digit: CheckDigit::None }
    }
}

impl CardFormat {
    fn describe(&self) -> String {
        let check = match self.check_digit {
            CheckDigit::None => "",
            CheckDigit::Luhn => " with a valid Luhn check digit",
            CheckDigit::Ean13 => " with a valid EAN-13 check digit",
        };
        format!("{}-{} digits{}", self.digits_min, self.digits_max, check)
    }
}

/// A card number: digits only, length and check digit per the rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CardNumber(String);

impl CardNumber {
    /// Trims surrounding whitespace, then accepts only ASCII digits in the
    /// format's length range with a valid check digit.
    pub fn parse(input: &str, format: &CardFormat) -> Result<CardNumber, FormatError> {
        let bad = || FormatError::CardNumber(truncate(input), format.describe());
        if input.len() > INPUT_CHARS_MAX {
            return Err(bad());
        }
        let t = input.trim();
        if t.len() < format.digits_min || t.len() > format.digits_max || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let ok = match format.check_digit {
            CheckDigit::None => true,
            CheckDigit::Luhn => luhn_valid(t),
            CheckDigit::Ean13 => t.len() == 13 && ean13_valid(t),
        };
        if !ok {
            return Err(bad());
        }
        Ok(CardNumber(t.to_string()))
    }

    /// Wraps a number read back from the store, which only ever holds parsed ones.
    pub fn from_stored(s: String) -> CardNumber {
        CardNumber(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

fn ean13_valid(digits: &str) -> bool {
    let b = digits.as_bytes();
    let mut sum = 0u32;
    for (i, &c) in b[..12].iter().enumerate() {
        let d = u32::from(c - b'0');
        sum += if i % 2 == 0 { d } else { d * 3 };
    }
    (10 - sum % 10) % 10 == u32::from(b[12] - b'0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_accepts_digits_in_range() {
        let f = CardFormat::default();
        assert_eq!(CardNumber::parse("  123456 ", &f).unwrap().as_str(), "123456");
        assert!(CardNumber::parse("12345", &f).is_err());
        assert!(CardNumber::parse(&"1".repeat(21), &f).is_err());
        assert!(CardNumber::parse("12345a", &f).is_err());
        assert!(CardNumber::parse("12 3456", &f).is_err());
        assert!(CardNumber::parse("", &f).is_err());
        assert!(CardNumber::parse("١٢٣٤٥٦", &f).is_err(), "non-ASCII digits are refused");
    }

    #[test]
    fn check_digits_are_verified() {
        let luhn = CardFormat { check_digit: CheckDigit::Luhn, ..CardFormat::default() };
        assert!(CardNumber::parse("79927398713", &luhn).is_ok());
        assert!(CardNumber::parse("79927398714", &luhn).is_err());
        let ean = CardFormat { check_digit: CheckDigit::Ean13, ..CardFormat::default() };
        assert!(CardNumber::parse("4006381333931", &ean).is_ok());
        assert!(CardNumber::parse("4006381333932", &ean).is_err());
        assert!(CardNumber::parse("400638133393", &ean).is_err());
    }

    proptest! {
        #[test]
        fn any_digit_string_in_range_round_trips(s in "[0-9]{6,20}", pad in " {0,3}") {
            let f = CardFormat::default();
            let n = CardNumber::parse(&format!("{pad}{s}{pad}"), &f).unwrap();
            prop_assert_eq!(n.as_str(), s.as_str());
            prop_assert_eq!(CardNumber::parse(n.as_str(), &f).unwrap(), n);
        }

        #[test]
        fn luhn_accepts_exactly_one_check_digit(body in "[0-9]{5,19}") {
            let f = CardFormat { check_digit: CheckDigit::Luhn, ..CardFormat::default() };
            let valid: Vec<_> = (0..10).filter(|d| CardNumber::parse(&format!("{body}{d}"), &f).is_ok()).collect();
            prop_assert_eq!(valid.len(), 1);
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = CardNumber::parse(&s, &CardFormat::default());
        }
    }
}
