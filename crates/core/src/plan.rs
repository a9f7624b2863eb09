//! Commission plans as data: rules of (trigger, reward). The skeleton knows a flat amount per
//! lead or sale and a percentage of each sale or renewal; the plans issue extends the same
//! shape with conditions, tiers, bonuses and safeguards.

use crate::event::EventKind;
use crate::{BasisPoints, Currency, Money};
use serde::{Deserialize, Serialize};

pub const MAX_RULES: usize = 20;
pub const MAX_RULE_ID_LEN: usize = 64;
pub const MAX_FLAT_MINOR: i64 = 100_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The customer's first lead.
    Lead,
    /// A sale or a renewal.
    AnySale,
    /// A first sale only (not a renewal).
    Sale,
    /// A renewal only.
    Renewal,
}

impl Trigger {
    pub fn matches(self, kind: EventKind) -> bool {
        match self {
            Trigger::Lead => kind == EventKind::Lead,
            Trigger::AnySale => kind.is_revenue(),
            Trigger::Sale => kind == EventKind::Sale,
            Trigger::Renewal => kind == EventKind::Renewal,
        }
    }

    pub fn is_revenue(self) -> bool {
        !matches!(self, Trigger::Lead)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reward {
    /// A fixed amount per triggering event.
    Flat { amount: Money },
    /// A share of the event's amount net of refunds, rounded once (see `money::round_half_up`).
    Percent { rate_bp: BasisPoints },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub trigger: Trigger,
    pub reward: Reward,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("a plan has at most {MAX_RULES} rules")]
    TooManyRules,
    #[error("rule id {0:?} must be 1 to {MAX_RULE_ID_LEN} characters of a-z, 0-9, '-' or '_'")]
    BadRuleId(String),
    #[error("rule id {0:?} appears twice")]
    DuplicateRuleId(String),
    #[error("rule {0:?}: a flat amount must be between 0 and {MAX_FLAT_MINOR} minor units")]
    FlatOutOfRange(String),
    #[error("rule {0:?}: a percentage needs an event with an amount (a sale or renewal)")]
    PercentWithoutAmount(String),
}

impl Plan {
    /// The skeleton's plan: a flat amount per lead and/or a percentage of every sale and renewal.
    pub fn simple(lead_flat: Option<Money>, sale_rate: Option<BasisPoints>) -> Plan {
        let mut rules = Vec::new();
        if let Some(amount) = lead_flat.filter(|amount| amount.amount_minor > 0) {
            rules.push(Rule {
                id: "lead-flat".into(),
                trigger: Trigger::Lead,
                reward: Reward::Flat { amount },
            });
        }
        if let Some(rate_bp) = sale_rate.filter(|rate| rate.get() > 0) {
            rules.push(Rule {
                id: "sale-percent".into(),
                trigger: Trigger::AnySale,
                reward: Reward::Percent { rate_bp },
            });
        }
        Plan { rules }
    }

    pub fn validate(&self) -> Result<(), PlanError> {
        if self.rules.len() > MAX_RULES {
            return Err(PlanError::TooManyRules);
        }
        for (index, rule) in self.rules.iter().enumerate() {
            let id_ok = !rule.id.is_empty()
                && rule.id.len() <= MAX_RULE_ID_LEN
                && rule.id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !id_ok {
                return Err(PlanError::BadRuleId(rule.id.clone()));
            }
            if self.rules[..index].iter().any(|other| other.id == rule.id) {
                return Err(PlanError::DuplicateRuleId(rule.id.clone()));
            }
            match rule.reward {
                Reward::Flat { amount } if !(0..=MAX_FLAT_MINOR).contains(&amount.amount_minor) => {
                    return Err(PlanError::FlatOutOfRange(rule.id.clone()));
                }
                Reward::Percent { .. } if !rule.trigger.is_revenue() => {
                    return Err(PlanError::PercentWithoutAmount(rule.id.clone()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Currencies the plan pays flat rewards in (percentages pay in the event's currency).
    pub fn flat_currencies(&self) -> Vec<Currency> {
        let mut out: Vec<Currency> = self
            .rules
            .iter()
            .filter_map(|rule| match rule.reward {
                Reward::Flat { amount } => Some(amount.currency),
                Reward::Percent { .. } => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
