//! Commission plans as data (ADR 0005): rules of trigger, condition and reward, with recurring
//! windows and caps; performance bonuses evaluated at period end; safeguards (hold, minimum
//! engagement, clawback window); a program budget; perks by tier. `engine` evaluates them.
//!
//! As JSON:
//! ```json
//! {"stacking": "stack",
//!  "rules": [{"id": "sales", "trigger": "any_sale", "when": {"product": ["pro"]},
//!             "reward": {"type": "percent", "rate_bp": 2000},
//!             "recurring": {"months": 12}, "caps": {"per_customer": {...money}}}],
//!  "bonuses": [...], "safeguards": {"hold_days": 30}, "budget": null, "perks": []}
//! ```

use crate::condition::{Condition, ConditionError};
use crate::event::EventKind;
use crate::period::Period;
use crate::{BasisPoints, Currency, Money};
use serde::{Deserialize, Serialize};

pub const MAX_RULES: usize = 20;
pub const MAX_BONUSES: usize = 10;
pub const MAX_TIERS: usize = 20;
pub const MAX_PERKS: usize = 50;
pub const MAX_ID_LEN: usize = 64;
pub const MAX_FLAT_MINOR: i64 = 100_000_000;
pub const MAX_DAYS: u32 = 3_650;
pub const MAX_MONTHS: u32 = 120;

/// Milestones with a meaning Tributary knows; any other name is a custom event.
pub const MILESTONES: [&str; 5] = ["onboarded", "activated", "expanded", "renewed", "churned"];
/// The milestone that ends a customer's activity (for `retained` and `active_days`).
pub const CHURNED: &str = "churned";
pub const EXPANDED: &str = "expanded";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A verified human click on one of the partner's links (pay per click): paid per
    /// partner and UTC day from the day's counts, bots excluded (ADR 0006). Flat rewards only.
    Click,
    /// The customer's first lead.
    Lead,
    /// The customer's first purchase (sale or renewal), once.
    FirstSale,
    /// Every sale that is not a renewal.
    Sale,
    /// A sale or a renewal.
    AnySale,
    /// A renewal only (a recurring payment).
    Renewal,
    /// A refund: a flat reward here is a fee (negative) or a consolation (positive). Refunds
    /// always reduce the sales they refund; this trigger is for amounts beyond that.
    Refund,
    /// A chargeback, likewise.
    Chargeback,
    /// A customer milestone: `onboarded`, `activated`, `expanded` (its amount is the
    /// expansion), `renewed`, `churned`.
    Milestone(String),
    /// The customer is still active `days` after their first purchase: no `churned` milestone
    /// and not refunded in full by then. Owed once the time has passed.
    Retained { days: u32 },
    /// A custom event: a milestone with a name of the business's choosing.
    Custom(String),
}

impl Trigger {
    /// Whether an event of `kind` with `milestone` can fire this trigger (first-ness and
    /// retention are decided by the engine).
    pub fn fires_on(&self, kind: EventKind, milestone: Option<&str>) -> bool {
        match self {
            Trigger::Click => false,
            Trigger::Lead => kind == EventKind::Lead,
            Trigger::FirstSale | Trigger::AnySale | Trigger::Retained { .. } => kind.is_revenue(),
            Trigger::Sale => kind == EventKind::Sale,
            Trigger::Renewal => kind == EventKind::Renewal,
            Trigger::Refund => kind == EventKind::Refund,
            Trigger::Chargeback => kind == EventKind::Chargeback,
            Trigger::Milestone(name) | Trigger::Custom(name) => {
                kind == EventKind::Milestone && milestone == Some(name.as_str())
            }
        }
    }

    /// Whether the triggering event carries an amount a percentage can apply to.
    pub fn has_amount(&self) -> bool {
        match self {
            Trigger::FirstSale
            | Trigger::Sale
            | Trigger::AnySale
            | Trigger::Renewal
            | Trigger::Retained { .. } => true,
            Trigger::Milestone(name) => name == EXPANDED,
            Trigger::Click
            | Trigger::Lead
            | Trigger::Refund
            | Trigger::Chargeback
            | Trigger::Custom(_) => false,
        }
    }

    /// Words for explanations: "every sale and renewal".
    pub fn describe(&self) -> String {
        match self {
            Trigger::Click => "every human click on the partner's links".into(),
            Trigger::Lead => "the customer's first lead".into(),
            Trigger::FirstSale => "the customer's first purchase".into(),
            Trigger::Sale => "every sale".into(),
            Trigger::AnySale => "every sale and renewal".into(),
            Trigger::Renewal => "every renewal".into(),
            Trigger::Refund => "every refund".into(),
            Trigger::Chargeback => "every chargeback".into(),
            Trigger::Milestone(name) => format!("the `{name}` milestone"),
            Trigger::Retained { days } => {
                format!("a customer still active {days} days after their first purchase")
            }
            Trigger::Custom(name) => format!("the custom event `{name}`"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reward {
    /// A fixed amount per triggering event.
    Flat { amount: Money },
    /// A share of the event's amount net of refunds, rounded once (see `money::round_half_up`).
    Percent { rate_bp: BasisPoints },
    /// A share of an `expanded` milestone's amount (the expansion delta).
    PercentOfExpansion { rate_bp: BasisPoints },
    /// A rate (or flat amount) that depends on the partner's volume in the period.
    Tiered(Tiered),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiered {
    pub measure: Measure,
    pub period: Period,
    pub mode: TierMode,
    pub tiers: Vec<Tier>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// New customers: customers whose first purchase falls in the period.
    Customers,
    /// Net revenue of the triggering events in the period, in minor units.
    Revenue,
    /// Triggering events in the period.
    Conversions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierMode {
    /// Each tier's rate on its own slice of the volume.
    Marginal,
    /// The reached tier's rate on the whole period; when a tier is reached, the earlier
    /// events of the period are topped up by the event that reached it.
    WholeVolume,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// The volume at which the tier starts (the first tier starts at 0).
    pub from: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_bp: Option<BasisPoints>,
    /// A flat amount per triggering event instead of a rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// A name partners see ("gold"); perks are given by tier name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// How long a rule keeps paying a customer's recurring purchases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Recurring {
    /// Purchases in the first N whole months after the first purchase.
    Months(u32),
    /// Every purchase, for the customer's lifetime (the default).
    Lifetime,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    /// At most this per commission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_commission: Option<Money>,
    /// At most this per customer over the rule's lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_customer: Option<Money>,
    /// At most this per partner per period, from this rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_partner_period: Option<PeriodAmount>,
}

impl Caps {
    pub fn is_empty(&self) -> bool {
        self == &Caps::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodAmount {
    pub period: Period,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub trigger: Trigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    pub reward: Reward,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring: Option<Recurring>,
    #[serde(default, skip_serializing_if = "Caps::is_empty")]
    pub caps: Caps,
}

impl Rule {
    pub fn new(id: &str, trigger: Trigger, reward: Reward) -> Rule {
        Rule {
            id: id.into(),
            trigger,
            when: None,
            reward,
            recurring: None,
            caps: Caps::default(),
        }
    }

    /// Tiered rules and per-partner-period caps depend on the partner's other customers, so
    /// they are settled per partner and period rather than per customer.
    pub fn needs_period(&self) -> bool {
        matches!(self.reward, Reward::Tiered(_)) || self.caps.per_partner_period.is_some()
    }

    /// Whether the rule pays per click (settled per partner and day, not per customer).
    pub fn pays_clicks(&self) -> bool {
        self.trigger == Trigger::Click
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stacking {
    /// Every matching rule pays (the default).
    #[default]
    Stack,
    /// Of the rules that match one event, only the largest reward pays; a tie goes to the
    /// rule listed first. Rules settled per period (tiers, period caps) always add.
    Best,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bonus {
    pub id: String,
    pub period: Period,
    pub when: BonusTarget,
    pub reward: BonusReward,
}

/// What a partner must reach in a period for a bonus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BonusTarget {
    /// At least `min` customers acquired in the period still active `days` after their first
    /// purchase. Evaluated once `days` have passed after the period's end.
    RetainedCustomers { min: u32, days: u32 },
    /// At least `min` customers acquired in the period.
    NewCustomers { min: u32 },
    /// At least this much net revenue in the period.
    Revenue { min: Money },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum BonusReward {
    Flat {
        amount: Money,
    },
    /// A share of the partner's net revenue in the period.
    PercentOfPeriodRevenue {
        rate_bp: BasisPoints,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Engagement {
    /// The customer has reached this milestone.
    Milestone(EngagementMilestone),
    /// The customer has stayed active (not churned, not refunded in full) this many days
    /// after the commission's event.
    ActiveDays(u32),
}

/// Only known milestones gate approval (a typo would hold money forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngagementMilestone {
    Onboarded,
    Activated,
}

impl EngagementMilestone {
    pub fn as_str(self) -> &'static str {
        match self {
            EngagementMilestone::Onboarded => "onboarded",
            EngagementMilestone::Activated => "activated",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Safeguards {
    /// Days a commission is held before approval; the program's hold when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_days: Option<u32>,
    /// Minimum engagement before approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve_after: Option<Engagement>,
    /// How long a held commission waits for engagement before it is voided (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement_wait_days: Option<u32>,
    /// Refunds and chargebacks more than this many days after their sale no longer claw
    /// back; absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clawback_days: Option<u32>,
}

pub const DEFAULT_ENGAGEMENT_WAIT_DAYS: u32 = 90;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierPerks {
    pub tier: String,
    pub perks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[serde(default)]
    pub stacking: Stacking,
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bonuses: Vec<Bonus>,
    #[serde(default)]
    pub safeguards: Safeguards,
    /// The program's spend limit per period, across partners and rules, first come first paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<PeriodAmount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perks: Vec<TierPerks>,
}

/// A plan that does not validate, with the path of the offending part (`rules[2].reward`).
/// A realistic plan, used by the demo, the generator and the engine's benchmark: eleven
/// rules (a lead reward, a first-purchase bonus, conditioned recurring percentages with a
/// cap, a whole-volume tier by new customers, an activation milestone, expansion, retention,
/// a chargeback fee, a loyalty rate after a year, a small pay per click capped per month),
/// a quarterly retention bonus, safeguards and perks by tier.
pub const EXAMPLE_JSON: &str = r#"{
  "stacking": "stack",
  "rules": [
    {"id": "lead", "trigger": "lead",
     "reward": {"type": "flat", "amount": {"amount_minor": 200, "currency": "USD"}}},
    {"id": "first-purchase", "trigger": "first_sale", "when": {"amount_minor": {"min": 1000}},
     "reward": {"type": "flat", "amount": {"amount_minor": 2500, "currency": "USD"}}},
    {"id": "pro-recurring", "trigger": "any_sale",
     "when": {"all": [{"product": ["pro", "team"]}, {"country": ["DE", "US", "FR", "GB"]}]},
     "reward": {"type": "percent", "rate_bp": 2000}, "recurring": {"months": 12},
     "caps": {"per_customer": {"amount_minor": 100000, "currency": "USD"}}},
    {"id": "solo-recurring", "trigger": "any_sale", "when": {"product": ["solo"]},
     "reward": {"type": "percent", "rate_bp": 1500}, "recurring": {"months": 6}},
    {"id": "volume", "trigger": "sale",
     "reward": {"type": "tiered", "measure": "customers", "period": "month", "mode": "whole_volume",
                "tiers": [{"from": 0, "rate_bp": 500, "name": "silver"},
                          {"from": 5, "rate_bp": 800, "name": "gold"},
                          {"from": 20, "rate_bp": 1000, "name": "platinum"}]}},
    {"id": "activated", "trigger": {"milestone": "activated"},
     "reward": {"type": "flat", "amount": {"amount_minor": 1500, "currency": "USD"}}},
    {"id": "expansion", "trigger": {"milestone": "expanded"},
     "reward": {"type": "percent_of_expansion", "rate_bp": 1000}},
    {"id": "retained-90", "trigger": {"retained": {"days": 90}},
     "reward": {"type": "flat", "amount": {"amount_minor": 3000, "currency": "USD"}}},
    {"id": "chargeback-fee", "trigger": "chargeback",
     "reward": {"type": "flat", "amount": {"amount_minor": -1500, "currency": "USD"}}},
    {"id": "loyalty", "trigger": "renewal", "when": {"months_since_first_purchase": {"min": 12}},
     "reward": {"type": "percent", "rate_bp": 500},
     "caps": {"per_commission": {"amount_minor": 2000, "currency": "USD"}}},
    {"id": "clicks", "trigger": "click",
     "reward": {"type": "flat", "amount": {"amount_minor": 2, "currency": "USD"}},
     "caps": {"per_partner_period": {"period": "month", "amount": {"amount_minor": 2500, "currency": "USD"}}}}
  ],
  "bonuses": [
    {"id": "quarter-retained", "period": "quarter",
     "when": {"retained_customers": {"min": 3, "days": 30}},
     "reward": {"type": "flat", "amount": {"amount_minor": 10000, "currency": "USD"}}}
  ],
  "safeguards": {"hold_days": 14, "clawback_days": 90},
  "perks": [
    {"tier": "gold", "perks": ["Co-marketing fund eligibility", "Early beta access"]},
    {"tier": "platinum", "perks": ["Co-marketing fund eligibility", "Early beta access", "Dedicated partner manager"]}
  ]
}"#;

/// [`EXAMPLE_JSON`], read.
pub fn example() -> Plan {
    // The constant is tested to read and validate (see the tests below).
    serde_json::from_str(EXAMPLE_JSON).unwrap_or_else(|_| Plan::simple(None, None))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PlanError {
    pub path: String,
    pub message: String,
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> PlanError {
    PlanError {
        path: path.into(),
        message: message.into(),
    }
}

impl From<ConditionError> for PlanError {
    fn from(error: ConditionError) -> Self {
        let text = error.to_string();
        match text.split_once(": ") {
            Some((path, message)) if !path.contains(' ') => invalid(path, message),
            _ => invalid("when", text),
        }
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn check_money(path: &str, amount: Money, allow_negative: bool) -> Result<(), PlanError> {
    let low = if allow_negative { -MAX_FLAT_MINOR } else { 0 };
    if (low..=MAX_FLAT_MINOR).contains(&amount.amount_minor) {
        Ok(())
    } else if allow_negative {
        Err(invalid(
            path,
            format!("must be between -{MAX_FLAT_MINOR} and {MAX_FLAT_MINOR} minor units"),
        ))
    } else {
        Err(invalid(
            path,
            format!("must be between 0 and {MAX_FLAT_MINOR} minor units"),
        ))
    }
}

fn check_days(path: &str, days: u32) -> Result<(), PlanError> {
    if (1..=MAX_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(invalid(path, format!("must be 1 to {MAX_DAYS} days")))
    }
}

impl Plan {
    /// The skeleton's plan: a flat amount per lead and/or a percentage of every sale and renewal.
    pub fn simple(lead_flat: Option<Money>, sale_rate: Option<BasisPoints>) -> Plan {
        let mut rules = Vec::new();
        if let Some(amount) = lead_flat.filter(|amount| amount.amount_minor > 0) {
            rules.push(Rule::new(
                "lead-flat",
                Trigger::Lead,
                Reward::Flat { amount },
            ));
        }
        if let Some(rate_bp) = sale_rate.filter(|rate| rate.get() > 0) {
            rules.push(Rule::new(
                "sale-percent",
                Trigger::AnySale,
                Reward::Percent { rate_bp },
            ));
        }
        Plan::of_rules(rules)
    }

    pub fn of_rules(rules: Vec<Rule>) -> Plan {
        Plan {
            stacking: Stacking::Stack,
            rules,
            bonuses: Vec::new(),
            safeguards: Safeguards::default(),
            budget: None,
            perks: Vec::new(),
        }
    }

    pub fn validate(&self) -> Result<(), PlanError> {
        if self.rules.len() > MAX_RULES {
            return Err(invalid(
                "rules",
                format!("a plan has at most {MAX_RULES} rules"),
            ));
        }
        for (index, rule) in self.rules.iter().enumerate() {
            let path = format!("rules[{index}]");
            if !valid_id(&rule.id) {
                return Err(invalid(
                    format!("{path}.id"),
                    format!("1 to {MAX_ID_LEN} characters of a-z, 0-9, '-' or '_'"),
                ));
            }
            if self.rules[..index].iter().any(|other| other.id == rule.id) {
                return Err(invalid(
                    format!("{path}.id"),
                    format!("rule id {:?} appears twice", rule.id),
                ));
            }
            validate_rule(&path, rule)?;
        }
        if self.bonuses.len() > MAX_BONUSES {
            return Err(invalid(
                "bonuses",
                format!("a plan has at most {MAX_BONUSES} bonuses"),
            ));
        }
        for (index, bonus) in self.bonuses.iter().enumerate() {
            let path = format!("bonuses[{index}]");
            if !valid_id(&bonus.id)
                || self.bonuses[..index]
                    .iter()
                    .any(|other| other.id == bonus.id)
                || self.rules.iter().any(|rule| rule.id == bonus.id)
            {
                return Err(invalid(
                    format!("{path}.id"),
                    "a unique id (among rules and bonuses) of a-z, 0-9, '-' or '_'",
                ));
            }
            match bonus.when {
                BonusTarget::RetainedCustomers { days, .. } => {
                    check_days(&format!("{path}.when.retained_customers.days"), days)?
                }
                BonusTarget::NewCustomers { .. } => {}
                BonusTarget::Revenue { min } => {
                    if min.amount_minor < 0 {
                        return Err(invalid(format!("{path}.when.revenue.min"), "below zero"));
                    }
                }
            }
            if let BonusReward::Flat { amount } = bonus.reward {
                check_money(&format!("{path}.reward.amount"), amount, false)?;
            }
        }
        let safeguards = &self.safeguards;
        if let Some(days) = safeguards.hold_days
            && days > MAX_DAYS
        {
            return Err(invalid(
                "safeguards.hold_days",
                format!("at most {MAX_DAYS} days"),
            ));
        }
        if let Some(Engagement::ActiveDays(days)) = safeguards.approve_after {
            check_days("safeguards.approve_after.active_days", days)?;
        }
        if let Some(days) = safeguards.engagement_wait_days {
            check_days("safeguards.engagement_wait_days", days)?;
        }
        if let Some(days) = safeguards.clawback_days
            && days > MAX_DAYS
        {
            return Err(invalid(
                "safeguards.clawback_days",
                format!("at most {MAX_DAYS} days"),
            ));
        }
        if let Some(budget) = self.budget {
            check_money("budget.amount", budget.amount, false)?;
            if let Some(index) = self.rules.iter().position(Rule::pays_clicks) {
                return Err(invalid(
                    format!("rules[{index}].trigger"),
                    "a plan with a budget cannot pay per click: the budget is shared first come, first paid by customers' events, and clicks are counted per day; cap the click rule per partner per period instead",
                ));
            }
            for (index, rule) in self.rules.iter().enumerate() {
                let own = match (&rule.reward, rule.caps.per_partner_period) {
                    (Reward::Tiered(tiered), _) => Some(tiered.period),
                    (_, Some(cap)) => Some(cap.period),
                    _ => None,
                };
                if own.is_some_and(|period| period != budget.period) {
                    return Err(invalid(
                        format!("rules[{index}]"),
                        format!(
                            "with a budget per {}, tiers and period caps are per {} too",
                            budget.period.as_str(),
                            budget.period.as_str()
                        ),
                    ));
                }
            }
        }
        if self.perks.len() > MAX_PERKS {
            return Err(invalid("perks", format!("at most {MAX_PERKS} tiers")));
        }
        for (index, entry) in self.perks.iter().enumerate() {
            if entry.tier.is_empty()
                || entry.tier.len() > MAX_ID_LEN
                || entry.perks.is_empty()
                || entry.perks.len() > MAX_PERKS
                || entry
                    .perks
                    .iter()
                    .any(|perk| perk.is_empty() || perk.chars().count() > 200)
            {
                return Err(invalid(
                    format!("perks[{index}]"),
                    "a tier name and 1 to 50 perks of 1 to 200 characters",
                ));
            }
        }
        Ok(())
    }

    /// Currencies the plan pays fixed amounts in (percentages pay in the event's currency).
    pub fn flat_currencies(&self) -> Vec<Currency> {
        let mut out: Vec<Currency> = Vec::new();
        for rule in &self.rules {
            match &rule.reward {
                Reward::Flat { amount } => out.push(amount.currency),
                Reward::Tiered(tiered) => out.extend(
                    tiered
                        .tiers
                        .iter()
                        .filter_map(|tier| tier.amount.map(|amount| amount.currency)),
                ),
                Reward::Percent { .. } | Reward::PercentOfExpansion { .. } => {}
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether a rule's commissions are settled per period rather than per customer: tiers
    /// and period caps always; every rule when the plan has a budget.
    pub fn settled_per_period(&self, rule: &Rule) -> bool {
        rule.needs_period() || self.budget.is_some()
    }

    /// The period a rule settled per period is settled over: the budget's when there is
    /// one (validation makes tiers and period caps agree with it), else its own.
    pub fn settlement_period(&self, rule: &Rule) -> Period {
        if let Some(budget) = self.budget {
            return budget.period;
        }
        match (&rule.reward, rule.caps.per_partner_period) {
            (Reward::Tiered(tiered), _) => tiered.period,
            (_, Some(cap)) => cap.period,
            _ => Period::Month,
        }
    }

    /// The perks of a tier by name.
    pub fn perks_of(&self, tier: &str) -> &[String] {
        self.perks
            .iter()
            .find(|entry| entry.tier == tier)
            .map(|entry| entry.perks.as_slice())
            .unwrap_or(&[])
    }
}

fn validate_rule(path: &str, rule: &Rule) -> Result<(), PlanError> {
    let trigger_path = format!("{path}.trigger");
    match &rule.trigger {
        Trigger::Milestone(name) if !MILESTONES.contains(&name.as_str()) => {
            return Err(invalid(
                trigger_path,
                format!(
                    "milestone {name:?} is not one of {}; use {{\"custom\": {name:?}}} for your own events",
                    MILESTONES.join(", ")
                ),
            ));
        }
        Trigger::Custom(name) if !valid_id(name) => {
            return Err(invalid(
                trigger_path,
                "a custom event name is 1 to 64 characters of a-z, 0-9, '-' or '_'",
            ));
        }
        Trigger::Retained { days } => check_days(&format!("{trigger_path}.retained.days"), *days)?,
        _ => {}
    }
    if let Some(condition) = &rule.when {
        condition.validate(&format!("{path}.when"))?;
    }
    if rule.pays_clicks() {
        validate_click_rule(path, rule)?;
    }
    let reward_path = format!("{path}.reward");
    let reversal = matches!(rule.trigger, Trigger::Refund | Trigger::Chargeback);
    match &rule.reward {
        Reward::Flat { amount } => {
            check_money(&format!("{reward_path}.amount"), *amount, reversal)?
        }
        Reward::Percent { .. } if !rule.trigger.has_amount() => {
            return Err(invalid(
                reward_path,
                "a percentage needs a trigger with an amount (a sale, renewal, retention or expansion)",
            ));
        }
        Reward::Percent { .. } => {}
        Reward::PercentOfExpansion { .. } => {
            if rule.trigger != Trigger::Milestone(EXPANDED.into()) {
                return Err(invalid(
                    reward_path,
                    "percent_of_expansion needs the trigger {\"milestone\": \"expanded\"}",
                ));
            }
        }
        Reward::Tiered(tiered) => validate_tiers(&reward_path, rule, tiered)?,
    }
    if rule.recurring.is_some()
        && !matches!(
            rule.trigger,
            Trigger::AnySale | Trigger::Renewal | Trigger::Sale
        )
    {
        return Err(invalid(
            format!("{path}.recurring"),
            "only sale, any_sale and renewal rules recur",
        ));
    }
    if let Some(Recurring::Months(months)) = rule.recurring
        && !(1..=MAX_MONTHS).contains(&months)
    {
        return Err(invalid(
            format!("{path}.recurring.months"),
            format!("1 to {MAX_MONTHS} months"),
        ));
    }
    let caps = &rule.caps;
    for (name, cap) in [
        ("per_commission", caps.per_commission),
        ("per_customer", caps.per_customer),
        (
            "per_partner_period",
            caps.per_partner_period.map(|cap| cap.amount),
        ),
    ] {
        if let Some(cap) = cap {
            check_money(&format!("{path}.caps.{name}"), cap, false)?;
        }
    }
    if reversal && !caps.is_empty() {
        return Err(invalid(
            format!("{path}.caps"),
            "refund and chargeback rules take no caps",
        ));
    }
    Ok(())
}

/// A click has no customer, amount or product: only a flat reward, the partner's group or
/// tier as a condition, and caps per commission (per day) or per partner per period.
fn validate_click_rule(path: &str, rule: &Rule) -> Result<(), PlanError> {
    if !matches!(rule.reward, Reward::Flat { .. }) {
        return Err(invalid(
            format!("{path}.reward"),
            "a click rule pays a flat amount per human click",
        ));
    }
    if rule
        .when
        .as_ref()
        .is_some_and(|condition| !condition.tests_only_partner())
    {
        return Err(invalid(
            format!("{path}.when"),
            "a click has no customer, amount or product: a click rule's condition tests only partner_group and partner_tier",
        ));
    }
    if rule.caps.per_customer.is_some() {
        return Err(invalid(
            format!("{path}.caps.per_customer"),
            "a click has no customer: cap a click rule per commission (one day) or per partner per period",
        ));
    }
    Ok(())
}

fn validate_tiers(path: &str, rule: &Rule, tiered: &Tiered) -> Result<(), PlanError> {
    if !matches!(
        rule.trigger,
        Trigger::Lead
            | Trigger::FirstSale
            | Trigger::Sale
            | Trigger::AnySale
            | Trigger::Renewal
            | Trigger::Milestone(_)
            | Trigger::Custom(_)
    ) {
        return Err(invalid(
            path,
            "tiers apply to lead, sale, renewal and milestone triggers",
        ));
    }
    if rule.caps.per_commission.is_some() || rule.caps.per_customer.is_some() {
        return Err(invalid(
            format!("{}.caps", path.trim_end_matches(".reward")),
            "a tiered rule takes only the cap per partner per period",
        ));
    }
    if tiered.tiers.is_empty() || tiered.tiers.len() > MAX_TIERS {
        return Err(invalid(
            format!("{path}.tiers"),
            format!("1 to {MAX_TIERS} tiers"),
        ));
    }
    if tiered.measure == Measure::Revenue && !rule.trigger.has_amount() {
        return Err(invalid(
            format!("{path}.measure"),
            "a revenue measure needs a trigger with an amount",
        ));
    }
    let mut previous: Option<i64> = None;
    let mut previous_pay: (u32, i64) = (0, 0);
    for (index, tier) in tiered.tiers.iter().enumerate() {
        let tier_path = format!("{path}.tiers[{index}]");
        match previous {
            None if tier.from != 0 => {
                return Err(invalid(
                    format!("{tier_path}.from"),
                    "the first tier starts at 0",
                ));
            }
            Some(before) if tier.from <= before => {
                return Err(invalid(
                    format!("{tier_path}.from"),
                    "tiers must start at strictly increasing volumes",
                ));
            }
            _ => {}
        }
        previous = Some(tier.from);
        match (tier.rate_bp, tier.amount) {
            (Some(_), None) if !rule.trigger.has_amount() => {
                return Err(invalid(
                    format!("{tier_path}.rate_bp"),
                    "a rate needs a trigger with an amount",
                ));
            }
            (Some(_), None) => {}
            (None, Some(amount)) => check_money(&format!("{tier_path}.amount"), amount, false)?,
            _ => {
                return Err(invalid(
                    tier_path,
                    "a tier has either rate_bp or amount, not both or neither",
                ));
            }
        }
        let pay = (
            tier.rate_bp.map_or(0, |rate| rate.get()),
            tier.amount.map_or(0, |amount| amount.amount_minor),
        );
        if pay.0 < previous_pay.0 || pay.1 < previous_pay.1 {
            return Err(invalid(
                tier_path,
                "a higher tier may not pay less than the one below it",
            ));
        }
        previous_pay = pay;
        if let Some(name) = &tier.name
            && (name.is_empty() || name.len() > MAX_ID_LEN)
        {
            return Err(invalid(format!("{tier_path}.name"), "1 to 64 characters"));
        }
    }
    if tiered.mode == TierMode::Marginal
        && tiered.measure == Measure::Revenue
        && tiered.tiers.iter().any(|tier| tier.amount.is_some())
    {
        return Err(invalid(
            format!("{path}.mode"),
            "marginal revenue tiers pay rates on their slices; use rate_bp",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str) -> Result<Plan, String> {
        let plan: Plan = serde_json::from_str(json).map_err(|error| format!("json: {error}"))?;
        plan.validate().map_err(|error| error.to_string())?;
        Ok(plan)
    }

    #[test]
    fn the_example_reads_validates_and_has_ten_rules() {
        let plan = check(EXAMPLE_JSON).expect("the example is valid");
        assert_eq!(plan.rules.len(), 11);
        assert_eq!(example(), plan);
    }

    #[test]
    fn the_skeletons_stored_plans_still_read() {
        let plan = check(
            r#"{"rules":[{"id":"lead-flat","trigger":"lead","reward":{"type":"flat","amount":{"amount_minor":500,"currency":"USD"}}},
                        {"id":"sale-percent","trigger":"any_sale","reward":{"type":"percent","rate_bp":2000}}]}"#,
        )
        .expect("valid");
        assert_eq!(
            plan,
            Plan::simple(
                Some(Money::new(500, Currency::USD)),
                BasisPoints::new(2000).ok()
            )
        );
    }

    #[test]
    fn a_full_plan_reads_and_round_trips() {
        let json = r#"{
          "stacking": "best",
          "rules": [
            {"id": "sales", "trigger": "any_sale", "when": {"product": ["pro"]},
             "reward": {"type": "tiered", "measure": "customers", "period": "month", "mode": "whole_volume",
                        "tiers": [{"from": 0, "rate_bp": 1000}, {"from": 10, "rate_bp": 1500, "name": "gold"}]},
             "recurring": {"months": 12},
             "caps": {"per_partner_period": {"period": "month", "amount": {"amount_minor": 500000, "currency": "USD"}}}},
            {"id": "activated", "trigger": {"milestone": "activated"},
             "reward": {"type": "flat", "amount": {"amount_minor": 2500, "currency": "USD"}}},
            {"id": "expansion", "trigger": {"milestone": "expanded"},
             "reward": {"type": "percent_of_expansion", "rate_bp": 1000}},
            {"id": "retained", "trigger": {"retained": {"days": 90}},
             "reward": {"type": "flat", "amount": {"amount_minor": 5000, "currency": "USD"}}},
            {"id": "webinar", "trigger": {"custom": "webinar_attended"},
             "reward": {"type": "flat", "amount": {"amount_minor": 100, "currency": "USD"}}},
            {"id": "chargeback-fee", "trigger": "chargeback",
             "reward": {"type": "flat", "amount": {"amount_minor": -1500, "currency": "USD"}}}
          ],
          "bonuses": [{"id": "q-retained", "period": "quarter",
                       "when": {"retained_customers": {"min": 10, "days": 90}},
                       "reward": {"type": "percent_of_period_revenue", "rate_bp": 200}}],
          "safeguards": {"hold_days": 30, "approve_after": {"milestone": "activated"}, "clawback_days": 90},
          "budget": {"period": "month", "amount": {"amount_minor": 1000000, "currency": "USD"}},
          "perks": [{"tier": "gold", "perks": ["Early beta access", "Dedicated support"]}]
        }"#;
        let plan = check(json).expect("valid");
        let again: Plan = serde_json::from_str(&serde_json::to_string(&plan).expect("serializes"))
            .expect("reads back");
        assert_eq!(again, plan);
        assert_eq!(plan.perks_of("gold").len(), 2);
        assert!(plan.rules[0].needs_period());
        assert!(!plan.rules[1].needs_period());
    }

    #[test]
    fn bad_plans_name_the_part_at_fault() {
        let money = r#"{"amount_minor": 100, "currency": "USD"}"#;
        let cases = [
            (
                r#"{"rules":[{"id":"a","trigger":"lead","reward":{"type":"percent","rate_bp":10}}]}"#.to_string(),
                "rules[0].reward: a percentage needs",
            ),
            (
                r#"{"rules":[{"id":"c","trigger":"click","reward":{"type":"percent","rate_bp":10}}]}"#.to_string(),
                "rules[0].reward: a click rule pays a flat amount",
            ),
            (
                r#"{"rules":[{"id":"c","trigger":"click","reward":{"type":"tiered","measure":"conversions","period":"month","mode":"marginal","tiers":[{"from":0,"rate_bp":10}]}}]}"#.to_string(),
                "rules[0].reward: a click rule pays a flat amount",
            ),
            (
                format!(r#"{{"rules":[{{"id":"c","trigger":"click","when":{{"product":["pro"]}},"reward":{{"type":"flat","amount":{money}}}}}]}}"#),
                "rules[0].when: a click has no customer",
            ),
            (
                format!(r#"{{"rules":[{{"id":"c","trigger":"click","caps":{{"per_customer":{money}}},"reward":{{"type":"flat","amount":{money}}}}}]}}"#),
                "rules[0].caps.per_customer: a click has no customer",
            ),
            (
                format!(r#"{{"rules":[{{"id":"c","trigger":"click","reward":{{"type":"flat","amount":{money}}}}}],"budget":{{"period":"month","amount":{money}}}}}"#),
                "rules[0].trigger: a plan with a budget cannot pay per click",
            ),
            (
                format!(r#"{{"rules":[{{"id":"a","trigger":{{"milestone":"activatd"}},"reward":{{"type":"flat","amount":{money}}}}}]}}"#),
                "rules[0].trigger: milestone \"activatd\"",
            ),
            (
                format!(r#"{{"rules":[{{"id":"a","trigger":"sale","when":{{"all":[]}},"reward":{{"type":"flat","amount":{money}}}}}]}}"#),
                "rules[0].when.all: an `all`",
            ),
            (
                r#"{"rules":[{"id":"a","trigger":"sale","reward":{"type":"tiered","measure":"revenue","period":"month","mode":"marginal","tiers":[{"from":0,"rate_bp":10},{"from":0,"rate_bp":20}]}}]}"#.to_string(),
                "rules[0].reward.tiers[1].from: tiers must start at strictly increasing",
            ),
            (
                r#"{"rules":[{"id":"a","trigger":"sale","reward":{"type":"tiered","measure":"revenue","period":"month","mode":"marginal","tiers":[{"from":5,"rate_bp":10}]}}]}"#.to_string(),
                "rules[0].reward.tiers[0].from: the first tier starts at 0",
            ),
            (
                r#"{"rules":[{"id":"a","trigger":"sale","reward":{"type":"flat","amount":{"amount_minor":-5,"currency":"USD"}}}]}"#.to_string(),
                "rules[0].reward.amount: must be between 0",
            ),
            (
                r#"{"rules":[{"id":"t","trigger":"sale","reward":{"type":"tiered","measure":"customers","period":"quarter","mode":"marginal","tiers":[{"from":0,"rate_bp":10}]}}],"budget":{"period":"month","amount":{"amount_minor":100,"currency":"USD"}}}"#.to_string(),
                "rules[0]: with a budget per month, tiers and period caps are per month too",
            ),
            (
                format!(r#"{{"rules":[{{"id":"a","trigger":"lead","recurring":{{"months":12}},"reward":{{"type":"flat","amount":{money}}}}}]}}"#),
                "rules[0].recurring: only sale",
            ),
            (
                format!(r#"{{"rules":[{{"id":"a","trigger":"sale","caps":{{"per_customer":{{"amount_minor":-1,"currency":"USD"}}}},"reward":{{"type":"flat","amount":{money}}}}}]}}"#),
                "rules[0].caps.per_customer: must be between 0",
            ),
            (
                r#"{"rules":[{"id":"a","trigger":"lead","reward":{"type":"percent_of_expansion","rate_bp":10}}]}"#.to_string(),
                "rules[0].reward: percent_of_expansion needs",
            ),
        ];
        for (json, expected) in cases {
            let error = check(&json).expect_err(&json);
            assert!(error.starts_with(expected), "{error} ≠ {expected}");
        }
        // Unknown fields are refused by the reader, not silently dropped.
        assert!(check(r#"{"rules":[],"bonus":[]}"#).is_err());
        assert!(
            check(r#"{"rules":[{"id":"a","trigger":"lead","reward":{"type":"flat","amont":1}}]}"#)
                .is_err()
        );
    }
}
