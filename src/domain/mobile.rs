use super::{truncate, FormatError, INPUT_CHARS_MAX};
use phonenumber::country::Id;
use phonenumber::Mode;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The numbering plan mobile numbers are read in (an ISO 3166 region, `RU`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(Id);

impl PhoneRegion {
    pub fn parse(s: &str) -> Option<PhoneRegion> {
        Id::from_str(&s.to_ascii_uppercase()).ok().map(PhoneRegion)
    }
}

impl Default for PhoneRegion {
    fn default() -> Self {
        PhoneRegion(Id::RU)
    }
}

/// A mobile number normalised to E.164 (`+79123456789`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MobileNumber(String);

impl MobileNumber {
    /// Spaces, `-`, `(`, `)` and `.` are ignored and one leading `+` is allowed;
    /// anything else (letters, a second `+`, an extension) is refused. The rest
    /// must be a valid number of the region's plan, written nationally (with or
    /// without the trunk prefix) or internationally.
    pub fn parse(input: &str, region: PhoneRegion) -> Result<MobileNumber, FormatError> {
        let bad = || FormatError::MobileNumber(truncate(input));
        if input.len() > INPUT_CHARS_MAX {
            return Err(bad());
        }
        let t = input.trim();
        let (plus, rest) = match t.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, t),
        };
        let mut digits = String::with_capacity(rest.len() + 1);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(bad()),
            }
        }
        if digits.len() < 3 || digits.len() > 17 {
            return Err(bad());
        }
        let text = if plus { format!("+{digits}") } else { digits };
        let parsed = phonenumber::parse(Some(region.0), &text).map_err(|_| bad())?;
        if !phonenumber::is_valid(&parsed) {
            return Err(bad());
        }
        // INVARIANT: the number belongs to the configured region's plan.
        if parsed.country().id() != Some(region.0) {
            return Err(bad());
        }
        Ok(MobileNumber(parsed.format().mode(Mode::E164).to_string()))
    }

    pub fn from_stored(s: String) -> MobileNumber {
        MobileNumber(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<String, FormatError> {
        MobileNumber::parse(s, PhoneRegion::default()).map(|m| m.0)
    }

    #[test]
    fn the_spec_notations_are_one_number() {
        for s in [
            "89123456789",
            "79123456789",
            "+79123456789",
            "+7 (912) 345-67-89",
            "9123456789",
            "8.912.345.67.89",
            " 8 912 345 67 89 ",
        ] {
            assert_eq!(p(s).as_deref(), Ok("+79123456789"), "{s}");
        }
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for s in [
            "",
            "+",
            "123",
            "abc",
            "+7912345678a",
            "8912345678",
            "891234567890",
            "++79123456789",
            "+1 212 555 0100",
            "+7 912 345 67 89 ext 1",
            "7912345678\u{0}9",
        ] {
            assert!(p(s).is_err(), "{s:?} should be refused");
        }
    }

    proptest! {
        /// Every accepted notation of a Russian mobile normalises to one value.
        #[test]
        fn notations_normalise_to_one_value(sub in "9[0-9]{9}", style in 0usize..6) {
            let (a, b, c, d) = (&sub[0..3], &sub[3..6], &sub[6..8], &sub[8..10]);
            let text = match style {
                0 => format!("8{sub}"),
                1 => format!("7{sub}"),
                2 => format!("+7{sub}"),
                3 => format!("+7 ({a}) {b}-{c}-{d}"),
                4 => sub.clone(),
                _ => format!("8-{a}-{b}.{c}.{d}"),
            };
            let canonical = format!("+7{sub}");
            match p(&text) {
                Ok(v) => {
                    prop_assert_eq!(&v, &canonical);
                    prop_assert_eq!(p(&v).unwrap(), v);
                }
                Err(_) => prop_assert!(p(&canonical).is_err(), "{} refused but {} accepted", text, canonical),
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = p(&s);
        }
    }
}
