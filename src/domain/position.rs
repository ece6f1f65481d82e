//! A receipt line's `Position` (SPEC §8.1): an integer 1–100000.

use super::{truncate, FormatError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest position a receipt line may have.
pub const POSITION_MAX: u32 = 100_000;

/// A line's position on its receipt. Sent as a JSON integer or a string of
/// digits (as codes may be); `1.5`, `0`, `-1`, `1e2` and an empty value are
/// refused. Leading zeros are digits too: `"007"` is position 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Position(u32);

impl Position {
    pub fn parse(input: &str) -> Result<Position, FormatError> {
        let t = input.trim();
        let refused = || FormatError::Position(truncate(input));
        if t.is_empty() || t.len() > 16 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refused());
        }
        let n: u32 = t.parse().map_err(|_| refused())?;
        Position::new(n).ok_or_else(refused)
    }

    pub fn new(n: u32) -> Option<Position> {
        (1..=POSITION_MAX).contains(&n).then_some(Position(n))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Position {
    type Error = FormatError;
    fn try_from(n: u32) -> Result<Position, FormatError> {
        Position::new(n).ok_or_else(|| FormatError::Position(n.to_string()))
    }
}

impl From<Position> for u32 {
    fn from(p: Position) -> u32 {
        p.0
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn positions_are_integers_from_1_to_100000() {
        assert_eq!(Position::parse("1").unwrap().get(), 1);
        assert_eq!(Position::parse(" 42 ").unwrap().get(), 42);
        assert_eq!(Position::parse("007").unwrap().get(), 7);
        assert_eq!(Position::parse("100000").unwrap().get(), 100_000);
        for bad in ["", "0", "00", "100001", "1.5", "1.0", "-1", "+1", "1e2", "x", "99999999999999999999"] {
            assert_eq!(Position::parse(bad), Err(FormatError::Position(truncate(bad))), "{bad:?}");
        }
    }

    #[test]
    fn positions_round_trip_through_serde_as_integers() {
        let p = Position::parse("3").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "3");
        assert_eq!(serde_json::from_str::<Position>("3").unwrap(), p);
        assert!(serde_json::from_str::<Position>("0").is_err());
    }

    proptest! {
        #[test]
        fn every_valid_position_round_trips(n in 1u32..=POSITION_MAX) {
            prop_assert_eq!(Position::parse(&n.to_string()).unwrap().get(), n);
        }
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = Position::parse(&s);
        }
    }
}
