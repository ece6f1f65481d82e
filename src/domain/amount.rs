use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An exact decimal amount of bonuses. Never a float: `0.1 + 0.2` is `0.3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(#[serde(with = "rust_decimal::serde::str")] Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount `{0}` is not a decimal number")]
    NotANumber(String),
    #[error("amount `{0}` must not be negative")]
    Negative(String),
}

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// Parses a decimal written as JSON writes numbers (`12`, `0.30`, `1e2`),
    /// exactly. Negative amounts are refused: a lot adds bonuses.
    pub fn parse(input: &str) -> Result<Amount, AmountError> {
        let t = input.trim();
        if t.is_empty() || t.len() > 64 {
            return Err(AmountError::NotANumber(super::truncate(input)));
        }
        let d = if t.contains(['e', 'E']) { Decimal::from_scientific(t) } else { Decimal::from_str(t) }
            .map_err(|_| AmountError::NotANumber(super::truncate(input)))?;
        if d.is_sign_negative() && !d.is_zero() {
            return Err(AmountError::Negative(super::truncate(input)));
        }
        Ok(Amount(d.normalize()))
    }

    pub fn new(d: Decimal) -> Amount {
        Amount(d)
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    /// Saturating sum: bonus totals are far below Decimal's 28 digits, and a
    /// balance must never panic. Not `std::ops::Add`: `+` would hide the saturation.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, other: Amount) -> Amount {
        Amount(self.0.checked_add(other.0).unwrap_or(Decimal::MAX))
    }
}

impl fmt::Display for Amount {
    /// Shortest exact form: `0.3`, `12`, never `1E+1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.normalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimals_are_exact() {
        let s = Amount::parse("0.1").unwrap().add(Amount::parse("0.2").unwrap());
        assert_eq!(s, Amount::parse("0.3").unwrap());
        assert_eq!(s.to_string(), "0.3");
        assert_eq!(Amount::parse("1e2").unwrap().to_string(), "100");
        assert_eq!(Amount::parse("10.500").unwrap().to_string(), "10.5");
        assert!(Amount::parse("-1").is_err());
        assert!(Amount::parse("abc").is_err());
        assert!(Amount::parse("NaN").is_err());
        assert!(Amount::parse("").is_err());
    }

    proptest! {
        #[test]
        fn display_round_trips(units in 0u64..1_000_000_000, scale in 0u32..6) {
            let a = Amount::new(Decimal::new(units as i64, scale));
            prop_assert_eq!(Amount::parse(&a.to_string()).unwrap().value(), a.value());
        }
        #[test]
        fn never_panics(s in "\\PC{0,70}") {
            let _ = Amount::parse(&s);
        }
    }
}
