//! Exact money: integer minor units with an ISO-4217 currency, rates in basis points, and
//! the one rounding rule used when a rate is applied.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency code {0:?}; use an ISO-4217 code such as USD or EUR")]
    UnknownCurrency(String),
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount overflows the supported range")]
    Overflow,
    #[error("basis points must be between 0 and {max}, got {0}", max = BasisPoints::MAX)]
    BasisPointsOutOfRange(u32),
}

/// ISO-4217 currencies Tributary accepts, with their minor-unit exponent.
/// The list covers the currencies that payment rails commonly pay out in.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("RON", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// A validated ISO-4217 currency code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");

    /// Parses an upper-case ISO-4217 code from the supported list.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        // The table is sorted (tested): replay parses a currency per stored event.
        CURRENCIES
            .binary_search_by(|(known, _)| (*known).cmp(code))
            .map(|index| {
                let bytes = CURRENCIES[index].0.as_bytes();
                Currency([bytes[0], bytes[1], bytes[2]])
            })
            .map_err(|_| MoneyError::UnknownCurrency(code.to_string()))
    }

    pub fn code(&self) -> &str {
        // The bytes come from the static table of ASCII codes.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY).
    pub fn exponent(&self) -> u8 {
        CURRENCIES
            .binary_search_by(|(known, _)| known.as_bytes().cmp(&self.0[..]))
            .map_or(2, |index| CURRENCIES[index].1)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

/// An amount of money in integer minor units (cents for USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Money {
            amount_minor,
            currency,
        }
    }

    /// The amount as a decimal number without its currency: `12.34`, `-0.05`, `1500`.
    pub fn decimal(&self) -> String {
        let exponent = u32::from(self.currency.exponent());
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let magnitude = self.amount_minor.unsigned_abs();
        if exponent == 0 {
            return format!("{sign}{magnitude}");
        }
        let scale = 10u64.pow(exponent);
        format!(
            "{sign}{}.{:0width$}",
            magnitude / scale,
            magnitude % scale,
            width = exponent as usize
        )
    }

    /// The sum of `amounts`, all in one currency; `None` for none.
    pub fn total(amounts: impl IntoIterator<Item = Money>) -> Result<Option<Money>, MoneyError> {
        let mut total: Option<Money> = None;
        for amount in amounts {
            total = Some(match total {
                None => amount,
                Some(sum) => sum.checked_add(amount)?,
            });
        }
        Ok(total)
    }

    pub fn zero(currency: Currency) -> Self {
        Money::new(0, currency)
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount_minor = self
            .amount_minor
            .checked_add(other.amount_minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount_minor = self
            .amount_minor
            .checked_sub(other.amount_minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency))
    }

    pub fn negate(self) -> Money {
        Money::new(-self.amount_minor, self.currency)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    /// Splits this amount into parts in proportion to `weights` (basis points, or any
    /// integer weights), so that the parts add up to exactly the whole: each part is its
    /// exact share rounded toward zero, and the minor units left over go one each to the
    /// parts with the largest remainders, the earlier part first on a tie (largest-remainder
    /// allocation). A negative amount splits as the negation of its positive, so a reversal
    /// splits into exactly the negated parts. `None` when there is no weight to split by
    /// (or, for `i64::MIN` minor units alone, when a part would not fit).
    pub fn allocate(self, weights: &[u32]) -> Option<Vec<Money>> {
        let total_weight: u128 = weights.iter().map(|&weight| u128::from(weight)).sum();
        if total_weight == 0 {
            return None;
        }
        let magnitude = u128::from(self.amount_minor.unsigned_abs());
        let mut parts = Vec::with_capacity(weights.len());
        let mut remainders = Vec::with_capacity(weights.len());
        for &weight in weights {
            let exact = magnitude * u128::from(weight);
            parts.push(exact / total_weight);
            remainders.push(exact % total_weight);
        }
        let assigned: u128 = parts.iter().sum();
        let mut order: Vec<usize> = (0..weights.len()).collect();
        // Largest remainder first; the earlier part on a tie (a stable sort keeps index order).
        order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]));
        for &index in order.iter().take((magnitude - assigned) as usize) {
            parts[index] += 1;
        }
        let sign: i64 = if self.amount_minor < 0 { -1 } else { 1 };
        parts
            .into_iter()
            .map(|part| {
                i64::try_from(part)
                    .ok()
                    .map(|part| Money::new(sign * part, self.currency))
            })
            .collect()
    }

    /// This amount shared evenly among `count` (an average, as in cost per customer),
    /// rounded once by [`round_half_up`]; `None` for no one to share among.
    pub fn per(self, count: u64) -> Option<Money> {
        (count > 0).then(|| {
            Money::new(
                round_half_up(i128::from(self.amount_minor), i128::from(count)),
                self.currency,
            )
        })
    }

    /// `rate` of this amount, rounded once by [`round_half_up`]: see [`BasisPoints::apply`].
    pub fn percent(self, rate: BasisPoints) -> Money {
        Money::new(rate.apply(self.amount_minor), self.currency)
    }
}

impl fmt::Display for Money {
    /// `12.34 USD`, `-0.05 EUR`, `1500 JPY`: exact, from the integer minor units.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.decimal(), self.currency)
    }
}

/// A rate in basis points: 1 bp = 0.01 %, 10,000 bp = 100 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct BasisPoints(u32);

impl BasisPoints {
    /// Rates above 100 % are allowed (a 150 % first-month bonus), but bounded.
    pub const MAX: u32 = 100_000;
    pub const WHOLE: u32 = 10_000;

    pub fn new(value: u32) -> Result<Self, MoneyError> {
        if value > Self::MAX {
            return Err(MoneyError::BasisPointsOutOfRange(value));
        }
        Ok(BasisPoints(value))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Applies the rate to `amount_minor`, rounding once with [`round_half_up`].
    pub fn apply(self, amount_minor: i64) -> i64 {
        round_half_up(i128::from(amount_minor) * i128::from(self.0), 10_000)
    }
}

impl TryFrom<u32> for BasisPoints {
    type Error = MoneyError;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        BasisPoints::new(value)
    }
}

impl From<BasisPoints> for u32 {
    fn from(value: BasisPoints) -> Self {
        value.0
    }
}

/// The rounding rule: `numerator / denominator` rounded to the nearest minor unit, halves
/// away from zero (so 0.5 → 1 and -0.5 → -1). Symmetric, so a reversal of a commission
/// rounds to exactly the negated commission. `denominator` must be positive.
pub fn round_half_up(numerator: i128, denominator: i128) -> i64 {
    debug_assert!(denominator > 0);
    let magnitude = (numerator.abs() * 2 + denominator) / (denominator * 2);
    let signed = if numerator < 0 { -magnitude } else { magnitude };
    // Callers pass products of an i64 and a bounded rate; the quotient fits in i64.
    i64::try_from(signed).unwrap_or(if signed < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_currency_table_is_sorted_for_binary_search() {
        assert!(CURRENCIES.windows(2).all(|pair| pair[0].0 < pair[1].0));
        for (code, exponent) in CURRENCIES {
            let currency = Currency::parse(code).expect("listed");
            assert_eq!((currency.code(), currency.exponent()), (*code, *exponent));
        }
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("usd").is_err());
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_average_rounds_once_and_needs_someone_to_share_among() {
        let usd = |minor| Money::new(minor, Currency::USD);
        assert_eq!(usd(1_000).per(3), Some(usd(333)));
        assert_eq!(usd(1_001).per(2), Some(usd(501)));
        assert_eq!(usd(-1_001).per(2), Some(usd(-501)));
        assert_eq!(usd(1_000).per(0), None);
    }

    #[test]
    fn allocation_follows_the_largest_remainders() {
        let usd = |minor| Money::new(minor, Currency::USD);
        // 100 split three ways: 33.33 each, one unit left, to the first of the tied parts.
        assert_eq!(
            usd(100).allocate(&[1, 1, 1]),
            Some(vec![usd(34), usd(33), usd(33)])
        );
        // 40/20/40 of 1001: 400.4, 200.2, 400.4: the one unit left goes to the first 400.
        assert_eq!(
            usd(1001).allocate(&[4_000, 2_000, 4_000]),
            Some(vec![usd(401), usd(200), usd(400)])
        );
        assert_eq!(
            usd(-100).allocate(&[1, 1, 1]),
            Some(vec![usd(-34), usd(-33), usd(-33)])
        );
        assert_eq!(usd(5).allocate(&[0, 0]), None);
        assert_eq!(usd(5).allocate(&[]), None);
        assert_eq!(usd(5).allocate(&[0, 3]), Some(vec![usd(0), usd(5)]));
    }

    proptest! {
        #[test]
        fn allocation_never_creates_or_loses_a_minor_unit(
            total in -10_000_000_000i64..10_000_000_000,
            weights in proptest::collection::vec(0u32..=10_000, 1..12),
        ) {
            let whole = Money::new(total, Currency::USD);
            let Some(parts) = whole.allocate(&weights) else {
                prop_assert!(weights.iter().all(|&w| w == 0));
                return Ok(());
            };
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(parts.iter().map(|p| p.amount_minor).sum::<i64>(), total);
            // Each part is within one minor unit of its exact share.
            let weight_sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
            for (part, &weight) in parts.iter().zip(&weights) {
                let exact_times_sum = i128::from(total) * i128::from(weight);
                let part_times_sum = i128::from(part.amount_minor) * weight_sum;
                prop_assert!((exact_times_sum - part_times_sum).abs() < weight_sum);
            }
            // A reversal splits into exactly the negated parts.
            let negated: Vec<Money> = whole.negate().allocate(&weights).unwrap_or_default();
            prop_assert_eq!(negated, parts.iter().map(|p| p.negate()).collect::<Vec<_>>());
        }
    }
    #[test]
    fn parses_known_currencies_and_rejects_others() {
        assert_eq!(Currency::parse("USD").map(|c| c.exponent()), Ok(2));
        assert_eq!(Currency::parse("JPY").map(|c| c.exponent()), Ok(0));
        assert!(Currency::parse("usd").is_err());
        assert!(Currency::parse("XYZ").is_err());
    }

    #[test]
    fn totals_one_currency_and_refuse_a_mix() {
        let usd = |minor| Money::new(minor, Currency::USD);
        assert_eq!(Money::total([]), Ok(None));
        assert_eq!(
            Money::total([usd(1_000), usd(-250), usd(1)]),
            Ok(Some(usd(751)))
        );
        assert!(Money::total([usd(1), Money::new(1, Currency::EUR)]).is_err());
        assert_eq!(usd(-5).decimal(), "-0.05");
    }

    #[test]
    fn displays_exact_amounts() {
        assert_eq!(Money::new(1234, Currency::USD).to_string(), "12.34 USD");
        assert_eq!(Money::new(-5, Currency::EUR).to_string(), "-0.05 EUR");
        let yen = Currency::parse("JPY").expect("JPY is supported");
        assert_eq!(Money::new(1500, yen).to_string(), "1500 JPY");
    }

    #[test]
    fn rounds_halves_away_from_zero() {
        let ten_percent = BasisPoints::new(1_000).expect("valid rate");
        assert_eq!(ten_percent.apply(12_345), 1_235); // 1234.5 → 1235
        assert_eq!(ten_percent.apply(12_344), 1_234); // 1234.4 → 1234
        assert_eq!(ten_percent.apply(-12_345), -1_235);
        assert_eq!(round_half_up(5, 10), 1);
        assert_eq!(round_half_up(4, 10), 0);
    }

    proptest! {
        #[test]
        fn rounding_is_within_half_a_unit(amount in -1_000_000_000i64..1_000_000_000, bp in 0u32..=100_000) {
            let rate = BasisPoints::new(bp).expect("in range");
            let exact = i128::from(amount) * i128::from(bp);
            let rounded = i128::from(rate.apply(amount)) * 10_000;
            prop_assert!((rounded - exact).abs() <= 5_000);
        }

        #[test]
        fn rounding_is_symmetric(amount in -1_000_000_000i64..1_000_000_000, bp in 0u32..=100_000) {
            let rate = BasisPoints::new(bp).expect("in range");
            prop_assert_eq!(rate.apply(-amount), -rate.apply(amount));
        }
    }
}
