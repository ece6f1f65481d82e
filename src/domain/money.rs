//! Money on a receipt (SPEC §8.1): a line's `Amount` and the `Redeem` asked
//! for. Exact decimals with at most two fraction digits, parsed once.

use super::{truncate, Amount};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest amount of money a line or a redemption may name (SPEC §8.1).
pub const MONEY_MAX: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// Why a money value did not parse; the HTTP layer answers `InvalidAmount`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount `{0}` is not a decimal number")]
    NotANumber(String),
    #[error("amount `{0}` must be greater than 0")]
    NotPositive(String),
    #[error("amount `{0}` must not be negative")]
    Negative(String),
    #[error("amount `{0}` has more than 2 digits after the decimal point")]
    TooPrecise(String),
    #[error("amount `{0}` is more than 1,000,000,000")]
    TooLarge(String),
}

/// A receipt line's amount: a decimal > 0 with at most 2 fraction digits, at
/// most 1,000,000,000. Written as a JSON number or a numeric string; the
/// digits are judged by value, so `10.500` is `10.5`, while `0.001` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Amount", into = "Amount")]
pub struct Money(Amount);

impl Money {
    pub fn parse(input: &str) -> Result<Money, MoneyError> {
        let d = money_decimal(input)?;
        if d.is_zero() {
            return Err(MoneyError::NotPositive(truncate(input)));
        }
        Ok(Money(Amount::new(d)))
    }

    /// Parses a `Redeem`: as [`Money`], but 0 is allowed (no redemption).
    pub fn parse_redeem(input: &str) -> Result<Amount, MoneyError> {
        money_decimal(input).map(Amount::new)
    }

    /// The amount as a plain decimal amount.
    pub fn amount(self) -> Amount {
        self.0
    }

    pub fn value(self) -> Decimal {
        self.0.value()
    }

    /// The amount in hundredths (exact: at most 2 fraction digits).
    pub fn cents(self) -> i128 {
        let v = self.0.value() * Decimal::ONE_HUNDRED;
        debug_assert!(v.fract().is_zero(), "money has at most 2 fraction digits");
        v.mantissa() / 10i128.pow(v.scale())
    }
}

/// The shared part: a number, not negative, 2 fraction digits, ≤ MONEY_MAX.
fn money_decimal(input: &str) -> Result<Decimal, MoneyError> {
    let t = input.trim();
    if t.is_empty() || t.len() > 64 {
        return Err(MoneyError::NotANumber(truncate(input)));
    }
    let parsed = if t.contains(['e', 'E']) { Decimal::from_scientific(t) } else { Decimal::from_str(t) };
    let d = parsed.map_err(|_| MoneyError::NotANumber(truncate(input)))?.normalize();
    // The decimal type rounds digits past its 28th without a word: judge
    // the fraction by the text, so `1.0000000000000000000000000000001` is
    // refused, not read as 1.
    if written_fraction_digits(t) > 2 {
        return Err(MoneyError::TooPrecise(truncate(input)));
    }
    if d.is_sign_negative() && !d.is_zero() {
        return Err(MoneyError::Negative(truncate(input)));
    }
    if d.scale() > 2 {
        return Err(MoneyError::TooPrecise(truncate(input)));
    }
    if d > MONEY_MAX {
        return Err(MoneyError::TooLarge(truncate(input)));
    }
    // `-0` normalises to 0 with a sign bit; store a plain 0.
    Ok(if d.is_zero() { Decimal::ZERO } else { d })
}

/// Fraction digits of a number as written (`1.50` → 1, `1.5e-3` → 4,
/// `125e-1` → 1), trailing zeros not counted.
fn written_fraction_digits(t: &str) -> i64 {
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (t, 0),
    };
    let digits = |s: &str| s.bytes().filter(u8::is_ascii_digit).count() as i64;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let frac = frac.trim_end_matches('0');
    let significant_tail =
        if frac.is_empty() { -(digits(int) - digits(int.trim_end_matches('0'))) } else { digits(frac) };
    significant_tail.saturating_sub(exponent)
}

impl TryFrom<Amount> for Money {
    type Error = MoneyError;
    fn try_from(a: Amount) -> Result<Money, MoneyError> {
        Money::parse(&a.to_string())
    }
}

impl From<Money> for Amount {
    fn from(m: Money) -> Amount {
        m.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn digits_past_the_decimal_types_precision_are_not_rounded_away() {
        assert_eq!(written_fraction_digits("1.0000000000000000000000000000001"), 31);
        assert_eq!(written_fraction_digits("1.50"), 1);
        assert_eq!(written_fraction_digits("1.5e-3"), 4);
        assert_eq!(written_fraction_digits("125e-1"), 1);
        assert_eq!(written_fraction_digits("1200e-2"), 0);
        assert_eq!(written_fraction_digits("7"), 0);
        assert!(matches!(Money::parse("1.0000000000000000000000000000001"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("0.001"), Err(MoneyError::TooPrecise(_))));
        assert_eq!(Money::parse("10.500").unwrap().to_string(), "10.5");
    }

    #[test]
    fn money_is_positive_with_two_fraction_digits_at_most_a_billion() {
        assert_eq!(Money::parse("600.00").unwrap().to_string(), "600");
        assert_eq!(Money::parse(" 0.01 ").unwrap().cents(), 1);
        assert_eq!(Money::parse("10.500").unwrap().to_string(), "10.5");
        assert_eq!(Money::parse("1e2").unwrap().cents(), 10_000);
        assert_eq!(Money::parse("1000000000").unwrap().cents(), 100_000_000_000);
        assert!(matches!(Money::parse("1000000000.01"), Err(MoneyError::TooLarge(_))));
        assert!(matches!(Money::parse("0"), Err(MoneyError::NotPositive(_))));
        assert!(matches!(Money::parse("0.00"), Err(MoneyError::NotPositive(_))));
        assert!(matches!(Money::parse("-1"), Err(MoneyError::Negative(_))));
        assert!(matches!(Money::parse("0.001"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("1e-3"), Err(MoneyError::TooPrecise(_))));
        for bad in ["", "abc", "NaN", "1,5", "0x10", "--1"] {
            assert!(matches!(Money::parse(bad), Err(MoneyError::NotANumber(_))), "{bad}");
        }
    }

    #[test]
    fn redeem_may_be_zero_but_not_negative() {
        assert_eq!(Money::parse_redeem("0").unwrap(), Amount::ZERO);
        assert_eq!(Money::parse_redeem("-0").unwrap().to_string(), "0");
        assert_eq!(Money::parse_redeem("250").unwrap().to_string(), "250");
        assert!(Money::parse_redeem("-0.01").is_err());
        assert!(Money::parse_redeem("0.005").is_err());
    }

    #[test]
    fn money_round_trips_through_serde() {
        let m = Money::parse("12.3").unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"12.3\"");
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert!(serde_json::from_str::<Money>("\"0\"").is_err());
    }

    proptest! {
        #[test]
        fn cents_round_trip(cents in 1i64..=100_000_000_000) {
            let m = Money::parse(&Decimal::new(cents, 2).to_string()).unwrap();
            prop_assert_eq!(m.cents(), cents as i128);
            prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), m);
        }
        #[test]
        fn never_panics(s in "\\PC{0,70}") {
            let _ = Money::parse(&s);
            let _ = Money::parse_redeem(&s);
        }
    }
}
