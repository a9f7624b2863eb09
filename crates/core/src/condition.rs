//! Rule conditions (ADR 0005): a small expression tree of `all` / `any` groups over leaves
//! that test the event (amount, currency, product, plan, country, metadata), the customer
//! (first purchase or recurring, months since the first purchase) and the partner (group,
//! tier). A leaf whose fact is missing is false: a rule for product "pro" never pays for an
//! event that does not say its product.
//!
//! As JSON, externally tagged: `{"all": [{"product": ["pro", "team"]},
//! {"amount_minor": {"min": 1000}}]}`.

use crate::Currency;
use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Groups nest at most this deep.
pub const MAX_DEPTH: usize = 8;
/// Leaves in one condition at most.
pub const MAX_LEAVES: usize = 64;
/// Values in one leaf's list, and characters in one value, at most.
pub const MAX_VALUES: usize = 100;
pub const MAX_VALUE_LEN: usize = 64;

/// The metadata keys the event's product, plan and customer country are read from.
pub const PRODUCT_KEY: &str = "product";
pub const PLAN_KEY: &str = "plan";
pub const COUNTRY_KEY: &str = "country";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// Every member holds.
    All(Vec<Condition>),
    /// At least one member holds.
    Any(Vec<Condition>),
    /// The event's `product` metadata is one of these.
    Product(Vec<String>),
    /// The event's `plan` metadata (the customer's subscription plan) is one of these.
    Plan(Vec<String>),
    /// The customer's country (`country` metadata, ISO 3166-1 alpha-2) is one of these.
    Country(Vec<String>),
    /// The event's currency is one of these.
    Currency(Vec<Currency>),
    /// The event's amount, in minor units, is within the range (both ends included).
    AmountMinor(Range),
    /// True: the event is the customer's first purchase; false: a later one.
    FirstPurchase(bool),
    /// Whole months from the customer's first purchase to this event, within the range.
    MonthsSinceFirstPurchase(Range),
    /// The partner's group is one of these.
    PartnerGroup(Vec<String>),
    /// The partner's tier is one of these.
    PartnerTier(Vec<String>),
    /// The partner's role in the customer's attribution (`originator`, `assist`, `closer`)
    /// is one of these: assists can be rewarded differently.
    CreditRole(Vec<String>),
    /// The event's metadata `key` is one of `values`.
    Metadata { key: String, values: Vec<String> },
}

/// An inclusive range; a missing end is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

impl Range {
    pub fn contains(&self, value: i64) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }
}

/// What a condition is tested against, built once per event.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub amount: Option<Money>,
    pub metadata: &'a BTreeMap<String, String>,
    /// Whether this event is the customer's first purchase; `None` for events that are not
    /// purchases (a lead, a milestone).
    pub first_purchase: Option<bool>,
    pub months_since_first_purchase: Option<u32>,
    pub partner_group: Option<&'a str>,
    pub partner_tier: Option<&'a str>,
    /// The credited partner's role for this customer; `None` where there is no customer
    /// (clicks).
    pub credit_role: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("{path}: an `all` or `any` group needs at least one member")]
    EmptyGroup { path: String },
    #[error("{path}: the list of values is empty")]
    NoValues { path: String },
    #[error("{path}: at most {MAX_VALUES} values of 1 to {MAX_VALUE_LEN} characters")]
    BadValues { path: String },
    #[error("{path}: not a country code (two capital letters, e.g. DE)")]
    BadCountry { path: String },
    #[error("{path}: a role is `originator`, `assist` or `closer`")]
    BadRole { path: String },
    #[error("{path}: the range's min is above its max, or it has neither")]
    BadRange { path: String },
    #[error("groups nest at most {MAX_DEPTH} deep and hold at most {MAX_LEAVES} tests in all")]
    TooLarge,
}

impl Condition {
    /// Whether the condition holds for `context`.
    pub fn matches(&self, context: &Context<'_>) -> bool {
        let metadata = |key: &str| context.metadata.get(key).map(String::as_str);
        match self {
            Condition::All(members) => members.iter().all(|member| member.matches(context)),
            Condition::Any(members) => members.iter().any(|member| member.matches(context)),
            Condition::Product(values) => one_of(values, metadata(PRODUCT_KEY)),
            Condition::Plan(values) => one_of(values, metadata(PLAN_KEY)),
            Condition::Country(values) => one_of(values, metadata(COUNTRY_KEY)),
            Condition::Currency(values) => context
                .amount
                .is_some_and(|amount| values.contains(&amount.currency)),
            Condition::AmountMinor(range) => context
                .amount
                .is_some_and(|amount| range.contains(amount.amount_minor)),
            Condition::FirstPurchase(wanted) => context.first_purchase == Some(*wanted),
            Condition::MonthsSinceFirstPurchase(range) => context
                .months_since_first_purchase
                .is_some_and(|months| range.contains(i64::from(months))),
            Condition::PartnerGroup(values) => one_of(values, context.partner_group),
            Condition::PartnerTier(values) => one_of(values, context.partner_tier),
            Condition::CreditRole(values) => one_of(values, context.credit_role),
            Condition::Metadata { key, values } => one_of(values, metadata(key)),
        }
    }

    /// Whether every leaf tests the partner (group or tier), so the condition can be decided
    /// without an event (click rules).
    pub fn tests_only_partner(&self) -> bool {
        match self {
            Condition::All(members) | Condition::Any(members) => {
                members.iter().all(Condition::tests_only_partner)
            }
            Condition::PartnerGroup(_) | Condition::PartnerTier(_) => true,
            _ => false,
        }
    }

    /// Checks the condition's shape; errors name the offending part by its path
    /// (`when.all[1].product`).
    pub fn validate(&self, path: &str) -> Result<(), ConditionError> {
        let mut leaves = 0;
        self.validate_at(path, 1, &mut leaves)
    }

    fn validate_at(
        &self,
        path: &str,
        depth: usize,
        leaves: &mut usize,
    ) -> Result<(), ConditionError> {
        if depth > MAX_DEPTH {
            return Err(ConditionError::TooLarge);
        }
        let values = |name: &str, values: &[String]| {
            let path = format!("{path}.{name}");
            if values.is_empty() {
                return Err(ConditionError::NoValues { path });
            }
            if values.len() > MAX_VALUES
                || values
                    .iter()
                    .any(|value| value.is_empty() || value.chars().count() > MAX_VALUE_LEN)
            {
                return Err(ConditionError::BadValues { path });
            }
            Ok(())
        };
        let range = |name: &str, range: &Range| match (range.min, range.max) {
            (None, None) => Err(ConditionError::BadRange {
                path: format!("{path}.{name}"),
            }),
            (Some(min), Some(max)) if min > max => Err(ConditionError::BadRange {
                path: format!("{path}.{name}"),
            }),
            _ => Ok(()),
        };
        match self {
            Condition::All(members) | Condition::Any(members) => {
                let name = if matches!(self, Condition::All(_)) {
                    "all"
                } else {
                    "any"
                };
                if members.is_empty() {
                    return Err(ConditionError::EmptyGroup {
                        path: format!("{path}.{name}"),
                    });
                }
                for (index, member) in members.iter().enumerate() {
                    member.validate_at(&format!("{path}.{name}[{index}]"), depth + 1, leaves)?;
                }
                return Ok(());
            }
            Condition::Product(list) => values("product", list)?,
            Condition::Plan(list) => values("plan", list)?,
            Condition::Country(list) => {
                values("country", list)?;
                if list
                    .iter()
                    .any(|code| code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()))
                {
                    return Err(ConditionError::BadCountry {
                        path: format!("{path}.country"),
                    });
                }
            }
            Condition::Currency(list) => {
                if list.is_empty() {
                    return Err(ConditionError::NoValues {
                        path: format!("{path}.currency"),
                    });
                }
            }
            Condition::AmountMinor(bounds) => range("amount_minor", bounds)?,
            Condition::FirstPurchase(_) => {}
            Condition::MonthsSinceFirstPurchase(bounds) => {
                range("months_since_first_purchase", bounds)?
            }
            Condition::PartnerGroup(list) => values("partner_group", list)?,
            Condition::PartnerTier(list) => values("partner_tier", list)?,
            Condition::CreditRole(list) => {
                values("credit_role", list)?;
                if list
                    .iter()
                    .any(|role| !["originator", "assist", "closer"].contains(&role.as_str()))
                {
                    return Err(ConditionError::BadRole {
                        path: format!("{path}.credit_role"),
                    });
                }
            }
            Condition::Metadata { key, values: list } => {
                values("metadata.key", std::slice::from_ref(key))?;
                values("metadata.values", list)?;
            }
        }
        *leaves += 1;
        if *leaves > MAX_LEAVES {
            return Err(ConditionError::TooLarge);
        }
        Ok(())
    }
}

fn one_of(values: &[String], fact: Option<&str>) -> bool {
    fact.is_some_and(|fact| values.iter().any(|value| value == fact))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn context<'a>(metadata: &'a BTreeMap<String, String>, amount: Option<i64>) -> Context<'a> {
        Context {
            amount: amount.map(|minor| Money::new(minor, Currency::USD)),
            metadata,
            first_purchase: Some(true),
            months_since_first_purchase: Some(0),
            partner_group: Some("resellers"),
            partner_tier: None,
            credit_role: Some("assist"),
        }
    }

    fn metadata(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn credit_role_matches_the_partners_role_and_names_only_roles() {
        let empty = BTreeMap::new();
        let assist = context(&empty, Some(100));
        let wanted = Condition::CreditRole(vec!["assist".into(), "originator".into()]);
        assert!(wanted.matches(&assist));
        let closer = Context {
            credit_role: Some("closer"),
            ..assist
        };
        assert!(!wanted.matches(&closer));
        assert!(!wanted.matches(&Context {
            credit_role: None,
            ..assist
        }));
        assert!(wanted.validate("when").is_ok());
        let error = Condition::CreditRole(vec!["helper".into()])
            .validate("when")
            .expect_err("not a role");
        assert!(error.to_string().contains("credit_role"), "{error}");
    }

    #[test]
    fn reads_the_documented_json() {
        let json = r#"{"all": [{"amount_minor": {"min": 1000}},
                       {"any": [{"product": ["pro", "team"]}, {"country": ["DE", "AT"]}]}]}"#;
        let condition: Condition = serde_json::from_str(json).expect("parses");
        assert_eq!(condition.validate("when"), Ok(()));
        let pro = metadata(&[("product", "pro")]);
        let austria = metadata(&[("product", "solo"), ("country", "AT")]);
        let neither = metadata(&[("product", "solo"), ("country", "FR")]);
        assert!(condition.matches(&context(&pro, Some(1000))));
        assert!(condition.matches(&context(&austria, Some(5000))));
        assert!(!condition.matches(&context(&neither, Some(5000))));
        assert!(!condition.matches(&context(&pro, Some(999))));
        // No amount at all (a lead): the amount test is false, so the rule does not pay.
        assert!(!condition.matches(&context(&pro, None)));
        let round_trip: Condition =
            serde_json::from_str(&serde_json::to_string(&condition).expect("serializes"))
                .expect("parses again");
        assert_eq!(round_trip, condition);
    }

    #[test]
    fn unknown_fields_and_bad_shapes_are_refused_with_their_path() {
        assert!(serde_json::from_str::<Condition>(r#"{"prodcut": ["pro"]}"#).is_err());
        assert!(serde_json::from_str::<Condition>(r#"{"amount_minor": {"minimum": 1}}"#).is_err());
        let check = |json: &str| {
            serde_json::from_str::<Condition>(json)
                .expect("parses")
                .validate("when")
                .map_err(|error| error.to_string())
        };
        assert_eq!(
            check(r#"{"all": []}"#),
            Err("when.all: an `all` or `any` group needs at least one member".into())
        );
        assert_eq!(
            check(r#"{"any": [{"product": ["pro"]}, {"country": ["de"]}]}"#),
            Err("when.any[1].country: not a country code (two capital letters, e.g. DE)".into())
        );
        assert_eq!(
            check(r#"{"amount_minor": {"min": 10, "max": 5}}"#),
            Err("when.amount_minor: the range's min is above its max, or it has neither".into())
        );
        assert!(check(r#"{"amount_minor": {}}"#).is_err());
        assert!(check(r#"{"metadata": {"key": "", "values": ["x"]}}"#).is_err());
        let deep = (0..MAX_DEPTH).fold(r#"{"product": ["pro"]}"#.to_string(), |inner, _| {
            format!(r#"{{"all": [{inner}]}}"#)
        });
        assert_eq!(check(&deep), Err(ConditionError::TooLarge.to_string()));
    }

    #[test]
    fn missing_facts_are_false() {
        let empty = BTreeMap::new();
        let mut facts = context(&empty, Some(100));
        facts.first_purchase = None;
        facts.months_since_first_purchase = None;
        for condition in [
            Condition::Product(vec!["pro".into()]),
            Condition::Country(vec!["DE".into()]),
            Condition::FirstPurchase(true),
            Condition::FirstPurchase(false),
            Condition::MonthsSinceFirstPurchase(Range {
                min: Some(0),
                max: None,
            }),
            Condition::PartnerTier(vec!["gold".into()]),
            Condition::Metadata {
                key: "campaign".into(),
                values: vec!["spring".into()],
            },
        ] {
            assert!(!condition.matches(&facts), "{condition:?}");
        }
        assert!(Condition::PartnerGroup(vec!["resellers".into()]).matches(&facts));
        assert!(Condition::Currency(vec![Currency::USD]).matches(&facts));
    }

    proptest! {
        #[test]
        fn a_group_of_one_is_its_member_and_any_is_not_all_of_negations(
            amount in -10_000i64..10_000, min in -10_000i64..10_000, width in 0i64..10_000,
        ) {
            let empty = BTreeMap::new();
            let facts = context(&empty, Some(amount));
            let leaf = Condition::AmountMinor(Range { min: Some(min), max: Some(min + width) });
            let expected = amount >= min && amount <= min + width;
            prop_assert_eq!(leaf.matches(&facts), expected);
            prop_assert_eq!(Condition::All(vec![leaf.clone()]).matches(&facts), expected);
            prop_assert_eq!(Condition::Any(vec![leaf.clone()]).matches(&facts), expected);
            let below = Condition::AmountMinor(Range { min: None, max: Some(min - 1) });
            let above = Condition::AmountMinor(Range { min: Some(min + width + 1), max: None });
            // Exactly one of below, inside and above holds.
            let either = Condition::Any(vec![below.clone(), leaf.clone(), above.clone()]);
            prop_assert!(either.matches(&facts));
            prop_assert!(!Condition::All(vec![below, leaf, above]).matches(&facts));
        }
    }
}
