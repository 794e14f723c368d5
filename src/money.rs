//! Amounts of money as the owner writes them: `"2000 EUR"`, `"1200.50 EUR"`.
//!
//! An amount is a whole number of cents (`i64`) and an ISO 4217-style code of
//! three capital letters; no floating point anywhere, so sums are exact. The
//! budget (`budget = "2000 EUR"` in the config) and payments (`handoff paid
//! ENGAGEMENT 1200 EUR`, or the `paid 1200 EUR` reply command) use this one
//! reader, and the journal stores a payment as its [`Display`](fmt::Display)
//! form ("1200.00 EUR"), which reads back exactly.
//!
//! Pure: it imports no other module of Handoff.

use std::fmt;

/// An exact amount in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Money {
    /// Hundredths of the currency unit; never negative.
    pub cents: i64,
    /// Three capital letters, e.g. "EUR".
    pub currency: String,
}

/// Why an amount does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an amount; expected a number and a currency such as \"1200.50 EUR\"")]
    Malformed(String),
    #[error("`{0}` has no currency; expected a number and a currency such as \"1200.50 EUR\"")]
    NoCurrency(String),
    #[error("`{0}` is too large")]
    TooLarge(String),
}

impl Money {
    /// Reads "1200 EUR", "1200.5 EUR", "EUR 1200.50" or "1_200 EUR" (the
    /// currency must be given).
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        Self::parse_or(text, None)
    }

    /// Like [`Money::parse`], but a bare number takes `default_currency`
    /// (a payment without a currency is in the budget's).
    pub fn parse_or(text: &str, default_currency: Option<&str>) -> Result<Money, MoneyError> {
        let malformed = || MoneyError::Malformed(text.to_string());
        let words: Vec<&str> = text.split_whitespace().collect();
        let (number, currency) = match words.as_slice() {
            [n] => (
                *n,
                default_currency.ok_or_else(|| MoneyError::NoCurrency(text.to_string()))?,
            ),
            [a, b] if is_currency(b) => (*a, *b),
            [a, b] if is_currency(a) => (*b, *a),
            _ => return Err(malformed()),
        };
        if !is_currency(currency) {
            return Err(malformed());
        }
        let number = number.replace('_', "");
        let (whole, frac) = match number.split_once('.') {
            Some((w, f)) => (w, f),
            None => (number.as_str(), ""),
        };
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (number.contains('.') && frac.is_empty())
        {
            return Err(malformed());
        }
        let too_large = || MoneyError::TooLarge(text.to_string());
        let units: i64 = whole.parse().map_err(|_| too_large())?;
        let frac_cents: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| malformed())? * 10,
            _ => frac.parse().map_err(|_| malformed())?,
        };
        let cents = units
            .checked_mul(100)
            .and_then(|c| c.checked_add(frac_cents))
            .ok_or_else(too_large)?;
        Ok(Money {
            cents,
            currency: currency.to_string(),
        })
    }

    /// `part` as a whole percentage of `self` (rounded down); 0 for a zero
    /// budget. Computed in i128 so large sums cannot overflow.
    pub fn percent_of(part: i64, whole: i64) -> i64 {
        if whole <= 0 {
            return 0;
        }
        let p = i128::from(part) * 100 / i128::from(whole);
        i64::try_from(p).unwrap_or(i64::MAX)
    }

    /// The number alone, two decimals: "1200.00".
    pub fn number(cents: i64) -> String {
        format!("{}.{:02}", cents / 100, (cents % 100).abs())
    }
}

fn is_currency(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", Money::number(self.cents), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(cents: i64) -> Money {
        Money {
            cents,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn amounts_read_exactly() {
        assert_eq!(Money::parse("2000 EUR"), Ok(eur(200_000)));
        assert_eq!(Money::parse("1200.5 EUR"), Ok(eur(120_050)));
        assert_eq!(Money::parse("0.07 EUR"), Ok(eur(7)));
        assert_eq!(Money::parse("EUR 1_200.50"), Ok(eur(120_050)));
        assert_eq!(Money::parse("  19.99   EUR "), Ok(eur(1999)));
        assert_eq!(Money::parse_or("300", Some("EUR")), Ok(eur(30_000)));
    }

    #[test]
    fn bad_amounts_say_what_is_expected() {
        for bad in [
            "",
            "EUR",
            "12,50 EUR",
            "1.234 EUR",
            "-5 EUR",
            "5 eur",
            "5 EURO",
            "1. EUR",
            ".5 EUR",
            "5 EUR extra",
            "1e3 EUR",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            Money::parse("300"),
            Err(MoneyError::NoCurrency("300".into()))
        );
        assert!(matches!(
            Money::parse("99999999999999999999 EUR"),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(
            Money::parse("92233720368547759 EUR"),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn display_reads_back() {
        for m in [eur(0), eur(5), eur(120_050), eur(200_000)] {
            assert_eq!(Money::parse(&m.to_string()), Ok(m.clone()));
        }
        assert_eq!(eur(120_000).to_string(), "1200.00 EUR");
    }

    #[test]
    fn percentages_round_down() {
        assert_eq!(Money::percent_of(159_999, 200_000), 79);
        assert_eq!(Money::percent_of(160_000, 200_000), 80);
        assert_eq!(Money::percent_of(1, 0), 0);
        assert_eq!(Money::percent_of(i64::MAX, 1), i64::MAX);
    }
}
