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

    /// floor2 (SPEC §8.1): toward zero to 2 fraction digits. Every bonus
    /// amount a receipt computes passes through here.
    pub fn floor2(self) -> Amount {
        Amount(self.0.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero).normalize())
    }

    /// `self − other`, or `None` when that would be negative: a lot or a
    /// balance never goes below zero.
    pub fn minus(self, other: Amount) -> Option<Amount> {
        let d = self.0.checked_sub(other.0)?;
        (!d.is_sign_negative() || d.is_zero()).then(|| Amount(d.normalize().abs()))
    }

    /// The smaller of two amounts.
    pub fn min(self, other: Amount) -> Amount {
        if other.0 < self.0 {
            other
        } else {
            self
        }
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Saturating sum: bonus totals are far below Decimal's 28 digits, and a
    /// balance must never panic.
    pub fn plus(self, other: Amount) -> Amount {
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
        let s = Amount::parse("0.1").unwrap().plus(Amount::parse("0.2").unwrap());
        assert_eq!(s, Amount::parse("0.3").unwrap());
        assert_eq!(s.to_string(), "0.3");
        assert_eq!(Amount::parse("1e2").unwrap().to_string(), "100");
        assert_eq!(Amount::parse("10.500").unwrap().to_string(), "10.5");
        assert!(Amount::parse("-1").is_err());
        assert!(Amount::parse("abc").is_err());
        assert!(Amount::parse("NaN").is_err());
        assert!(Amount::parse("").is_err());
    }

    #[test]
    fn floor2_rounds_toward_zero() {
        let a = |s: &str| Amount::parse(s).unwrap();
        assert_eq!(a("22.509").floor2(), a("22.5"));
        assert_eq!(a("0.009").floor2(), Amount::ZERO);
        assert_eq!(a("11.25").floor2(), a("11.25"));
        assert_eq!(a("7").floor2().to_string(), "7");
        assert_eq!(a("5").minus(a("2.5")), Some(a("2.5")));
        assert_eq!(a("2.5").minus(a("2.5")), Some(Amount::ZERO));
        assert_eq!(a("2").minus(a("2.01")), None);
    }

    proptest! {
        #[test]
        fn floor2_never_exceeds_and_is_within_a_cent(units in 0u64..1_000_000_000_000, scale in 0u32..8) {
            let x = Amount::new(Decimal::new(units as i64, scale));
            let f = x.floor2();
            prop_assert!(f <= x);
            prop_assert!(x.value() - f.value() < Decimal::new(1, 2));
            prop_assert!(f.value().scale() <= 2);
        }
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
