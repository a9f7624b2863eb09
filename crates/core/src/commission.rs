//! Commissions: what a customer's events owe their partner under a plan, the difference from
//! what is already posted, and how that difference is posted. "Post deltas, converge always"
//! (DESIGN.md §1.8): every event for a customer re-derives what is owed from all of that
//! customer's facts, so late, duplicate-free and out-of-order delivery all end in the same
//! ledger, and a refund claws back exactly what rounding gave.

use crate::attribution::Credit;
use crate::engine::{CustomerFacts, Engine, Line, PartnerFacts};
use crate::event::{EventFacts, EventKind};
use crate::plan::{Measure, Plan, Reward, Rule, TierMode};
use crate::{EventId, Money, PlanVersionId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommissionState {
    /// Earned, inside the hold period.
    Pending,
    /// Hold passed; part of the partner's payable balance.
    Approved,
    /// In a payout batch that has not been confirmed.
    InPayout,
    /// Paid out.
    Paid,
    /// Cancelled before approval together with its clawback; nets to zero.
    Reversed,
}

impl CommissionState {
    pub const ALL: [CommissionState; 5] = [
        CommissionState::Pending,
        CommissionState::Approved,
        CommissionState::InPayout,
        CommissionState::Paid,
        CommissionState::Reversed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommissionState::Pending => "pending",
            CommissionState::Approved => "approved",
            CommissionState::InPayout => "in_payout",
            CommissionState::Paid => "paid",
            CommissionState::Reversed => "reversed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

/// What a commission is owed for: one customer's event, or a key no single event owns
/// (ADR 0006): `clicks:2026-05-03` for a partner's human clicks that day, `bonus:<id>:<period>`
/// for a bonus. With the rule and the plan version it makes a commission's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Event(EventId),
    Key(String),
}

impl Source {
    /// The source event, for commissions that have one.
    pub fn event(&self) -> Option<EventId> {
        match self {
            Source::Event(id) => Some(*id),
            Source::Key(_) => None,
        }
    }

    /// The source key, for commissions no single event owns.
    pub fn key(&self) -> Option<&str> {
        match self {
            Source::Event(_) => None,
            Source::Key(key) => Some(key),
        }
    }
}

/// A stored event with its id and the string values of its metadata (product, plan,
/// country, campaign, ...), which conditions test. The metadata is shared: replay hands the
/// same map to every event that carried the same metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub id: EventId,
    pub facts: EventFacts,
    #[serde(default, skip_serializing_if = "metadata_is_empty")]
    pub metadata: Arc<BTreeMap<String, String>>,
}

fn metadata_is_empty(metadata: &Arc<BTreeMap<String, String>>) -> bool {
    metadata.is_empty()
}

/// An event as shown in an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainedEvent {
    pub id: EventId,
    pub kind: EventKind,
    pub amount: Option<Money>,
    pub occurred_at: Timestamp,
    pub invoice_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
}

impl From<&StoredEvent> for ExplainedEvent {
    fn from(event: &StoredEvent) -> Self {
        ExplainedEvent {
            id: event.id,
            kind: event.facts.kind,
            amount: event.facts.amount,
            occurred_at: event.facts.occurred_at,
            invoice_id: event.facts.invoice_id.clone(),
            milestone: event.facts.milestone.clone(),
        }
    }
}

/// The tier a tiered rule reached, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainedTier {
    /// 1-based, as people count.
    pub number: u32,
    pub name: Option<String>,
    pub from: i64,
    pub measure: Measure,
    pub mode: TierMode,
    /// `2026-05` or `2026-Q2`.
    pub period: String,
    /// The partner's volume in the period including this event.
    pub volume: i64,
}

/// A partner's clicks on one UTC day, as a click reward saw them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainedClicks {
    /// `2026-05-03` (UTC).
    pub day: String,
    /// Clicks on the partner's links in the program that day, bots included.
    pub clicks: i64,
    /// Clicks the bot filter flagged; they are not paid.
    pub bot_clicks: i64,
    /// What the reward pays for: `clicks - bot_clicks`.
    pub human_clicks: i64,
}

/// Why an amount is what it is: the events, the credit, the rule, the arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub summary: String,
    /// The event the commission is a share of; none for clicks and bonuses.
    #[serde(default)]
    pub event: Option<ExplainedEvent>,
    /// Refunds and chargebacks that reduced the base.
    #[serde(default)]
    pub adjustments: Vec<ExplainedEvent>,
    /// The credit for the customer's event; none for clicks and bonuses.
    #[serde(default)]
    pub attribution: Option<Credit>,
    /// The day's clicks a click reward paid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicks: Option<ExplainedClicks>,
    pub plan_version_id: PlanVersionId,
    pub rule: Rule,
    /// The amount the rule applied to, net of adjustments.
    pub base: Option<Money>,
    pub arithmetic: String,
    pub rounding: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<ExplainedTier>,
    /// A cap or budget that reduced the amount, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limited_by: Option<String>,
    /// Anything else that shaped the amount (stacking, a full refund, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What the facts owe in total for this event and rule.
    pub owed: Money,
    /// What had been posted for this event and rule before this posting.
    pub previously_posted_minor: i64,
    /// This posting: `owed - previously_posted`.
    pub posted: Money,
}

/// What the facts owe for one (source, rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub source: Source,
    pub rule_id: String,
    pub amount: Money,
    pub explanation: Explanation,
}

const ROUNDING_RULE: &str =
    "rounded once to the nearest minor unit, halves away from zero (money::round_half_up)";
const TIER_ROUNDING_RULE: &str = "the period's running total is rounded once to the nearest minor unit (halves away from zero) after each event, and each event is paid the increase, so the period's commissions add up to its exact total rounded once";

/// Everything `credit`'s partner is owed for one customer's events under `plan`, for the
/// rules settled per customer (level 1 of the engine; see `engine`). Tiered rules and caps
/// per partner per period are settled per period and are not in this list.
pub fn owed_for_customer(
    plan: &Plan,
    plan_version_id: PlanVersionId,
    credit: &Credit,
    events: &[StoredEvent],
    partner: PartnerFacts<'_>,
    as_of: Timestamp,
) -> Vec<Owed> {
    let engine = Engine::new(plan);
    let mut lines = Vec::new();
    engine.customer(
        &CustomerFacts {
            events,
            touched_at: credit.touched_at,
            earn_until: None,
            share_bp: credit.share_bp,
            partner,
            as_of,
            paused: &[],
        },
        &mut lines,
    );
    lines
        .iter()
        .filter(|line| !plan.settled_per_period(&plan.rules[line.rule as usize]))
        .map(|line| explain(plan, plan_version_id, credit, events, line))
        .collect()
}

/// Builds the explanation of one line of the engine for `events` (the customer's events the
/// line was derived from).
pub fn explain(
    plan: &Plan,
    plan_version_id: PlanVersionId,
    credit: &Credit,
    events: &[StoredEvent],
    line: &Line,
) -> Owed {
    let rule = &plan.rules[line.rule as usize];
    let event = &events[line.event as usize];
    let kind = event.facts.kind;
    let amount = line.amount;
    let mut notes = Vec::new();
    let adjustments: Vec<ExplainedEvent> = if line.detail.refunded_minor > 0 {
        events
            .iter()
            .filter(|other| {
                other.facts.kind.is_reversal()
                    && other.facts.invoice_id.is_some()
                    && other.facts.invoice_id == event.facts.invoice_id
            })
            .map(ExplainedEvent::from)
            .collect()
    } else {
        Vec::new()
    };
    let share_text = if line.share_bp == 10_000 {
        String::new()
    } else {
        format!(", × {} bp credit share ÷ 10,000", line.share_bp)
    };
    let mut tier = None;
    let mut rounding = ROUNDING_RULE.to_string();
    let arithmetic = match &rule.reward {
        Reward::Flat { amount: flat } if line.detail.refunded_in_full => {
            format!("flat {flat} per sale, but the sale was refunded in full: 0")
        }
        Reward::Flat { amount: flat } => {
            format!("flat {flat} per {}{share_text}", trigger_noun(rule, kind))
        }
        Reward::Percent { rate_bp } | Reward::PercentOfExpansion { rate_bp } => {
            let base_minor = line.base.map_or(0, |base| base.amount_minor);
            format!(
                "{} × {} bp ÷ 10,000 = {} (exact: {}/10,000 minor units){share_text}",
                base_minor,
                rate_bp.get(),
                line.detail.uncapped_minor,
                i128::from(base_minor) * i128::from(rate_bp.get())
            )
        }
        Reward::Tiered(tiered) => {
            rounding = TIER_ROUNDING_RULE.into();
            match line.detail.tier {
                Some(reached) => {
                    let definition = &tiered.tiers[usize::from(reached.index)];
                    let pays = match (definition.rate_bp, definition.amount) {
                        (Some(rate), _) => format!("{} bp", rate.get()),
                        (None, Some(flat)) => format!("{flat} per event"),
                        (None, None) => "nothing".into(),
                    };
                    let period = tiered.period.label(reached.period_start);
                    tier = Some(ExplainedTier {
                        number: u32::from(reached.index) + 1,
                        name: definition.name.clone(),
                        from: definition.from,
                        measure: tiered.measure,
                        mode: tiered.mode,
                        period: period.clone(),
                        volume: reached.volume,
                    });
                    let how = match tiered.mode {
                        TierMode::Marginal => {
                            "marginal: each tier's rate on its own slice of the volume"
                        }
                        TierMode::WholeVolume => {
                            "whole volume: the reached tier's rate on the whole period, earlier events topped up by this one"
                        }
                    };
                    format!(
                        "tier {} (from {} {}) reached with {} {} in {period}, paying {pays} ({how}); this event's increase of the period total: {}{share_text}",
                        reached.index + 1,
                        definition.from,
                        measure_noun(tiered.measure),
                        reached.volume,
                        measure_noun(tiered.measure),
                        line.detail.uncapped_minor
                    )
                }
                None => "tiers are settled per partner and period".into(),
            }
        }
    };
    if line.detail.refunded_in_full && matches!(rule.reward, Reward::Percent { .. }) {
        notes.push("the sale was refunded in full".into());
    }
    if let Some(winner) = line.detail.lost_to {
        notes.push(format!(
            "stacking is `best`: rule {} paid more for this event, so this rule pays 0",
            plan.rules[usize::from(winner)].id
        ));
    }
    let limited_by = line.detail.capped_by.map(|limit| {
        format!(
            "{}: {} reduced to {}",
            limit.as_str(),
            Money::new(line.detail.uncapped_minor, amount.currency),
            amount
        )
    });
    let summary = format!(
        "{} for {} {} of customer {} ({} credit via {}), rule {}",
        amount,
        kind.as_str(),
        event.facts.invoice_id.as_deref().unwrap_or(""),
        event.facts.customer_external_id,
        format_share(line.share_bp),
        credit.model,
        rule.id
    )
    .replace("  ", " ");
    Owed {
        source: Source::Event(line.source_event_id),
        rule_id: rule.id.clone(),
        amount,
        explanation: Explanation {
            summary,
            event: Some(ExplainedEvent::from(event)),
            adjustments,
            attribution: Some(credit.clone()),
            clicks: None,
            plan_version_id,
            rule: rule.clone(),
            base: line.base,
            arithmetic,
            rounding,
            tier,
            limited_by,
            notes,
            owed: amount,
            previously_posted_minor: 0,
            posted: amount,
        },
    }
}

fn format_share(share_bp: u32) -> String {
    if share_bp.is_multiple_of(100) {
        format!("{}%", share_bp / 100)
    } else {
        format!("{}.{:02}%", share_bp / 100, share_bp % 100)
    }
}

fn trigger_noun(rule: &Rule, kind: EventKind) -> String {
    match &rule.trigger {
        crate::plan::Trigger::Milestone(name) | crate::plan::Trigger::Custom(name) => {
            format!("`{name}`")
        }
        crate::plan::Trigger::Retained { days } => format!("customer retained {days} days"),
        crate::plan::Trigger::FirstSale => "first purchase".into(),
        _ => kind.as_str().into(),
    }
}

fn measure_noun(measure: Measure) -> &'static str {
    match measure {
        Measure::Customers => "new customers",
        Measure::Revenue => "minor units of revenue",
        Measure::Conversions => "conversions",
    }
}

/// A commission already posted for a (source, rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub source: Source,
    pub rule_id: String,
    pub amount: Money,
    pub state: CommissionState,
    /// The explanation it was posted with, reused when the key is no longer owed at all.
    pub explanation: Explanation,
}

/// How one difference between owed and posted is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posting {
    /// More is owed: a new pending commission (expense → pending).
    Earn { amount: Money },
    /// Less is owed and the commission is still pending: claw back from pending. When the
    /// pending commissions for this key net to zero afterwards, they and this clawback are
    /// all marked reversed.
    ClawPending {
        amount: Money,
        reverses_all_pending: bool,
    },
    /// Less is owed and the commission was approved or paid: claw back from payable; the
    /// clawback is approved at once so the next payout nets it.
    ClawPayable { amount: Money },
}

/// A posting to make, with the explanation it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub source: Source,
    pub rule_id: String,
    pub posting: Posting,
    pub explanation: Explanation,
}

/// Compares what is owed with what is posted and says what to post. Amounts in the postings
/// are signed (negative for clawbacks) and sum, per key, to `owed - posted`. `posted` holds
/// the commissions of the keys the caller derived: a posted key missing from `owed` (a
/// condition or a stacking choice no longer picks it) is owed nothing and clawed back.
pub fn deltas(mut owed: Vec<Owed>, posted: &[Posted]) -> Vec<Delta> {
    let mut orphans: Vec<&Posted> = Vec::new();
    for p in posted {
        let known = owed
            .iter()
            .any(|o| o.source == p.source && o.rule_id == p.rule_id)
            || orphans
                .iter()
                .any(|o| o.source == p.source && o.rule_id == p.rule_id);
        if !known {
            orphans.push(p);
        }
    }
    for orphan in orphans {
        let latest = posted
            .iter()
            .rfind(|p| p.source == orphan.source && p.rule_id == orphan.rule_id)
            .unwrap_or(orphan);
        let currency = orphan.amount.currency;
        let mut explanation = latest.explanation.clone();
        let what = explanation
            .event
            .as_ref()
            .map_or("source", |event| event.kind.as_str());
        explanation.summary = format!(
            "no longer owed: rule {} no longer applies to this {what} (its conditions, first-ness or stacking changed with later facts)",
            orphan.rule_id,
        );
        explanation.arithmetic = "owed 0".into();
        explanation.limited_by = None;
        explanation.owed = Money::zero(currency);
        owed.push(Owed {
            source: orphan.source.clone(),
            rule_id: orphan.rule_id.clone(),
            amount: Money::zero(currency),
            explanation,
        });
    }
    let mut out = Vec::new();
    for item in owed {
        let for_key: Vec<&Posted> = posted
            .iter()
            .filter(|p| p.source == item.source && p.rule_id == item.rule_id)
            .collect();
        let posted_minor: i64 = for_key
            .iter()
            .filter(|p| p.amount.currency == item.amount.currency)
            .map(|p| p.amount.amount_minor)
            .sum();
        let difference = item.amount.amount_minor - posted_minor;
        if difference == 0 {
            continue;
        }
        let currency = item.amount.currency;
        let mut explanation = item.explanation;
        explanation.previously_posted_minor = posted_minor;
        explanation.posted = Money::new(difference, currency);
        let mut push = |posting| {
            out.push(Delta {
                source: item.source.clone(),
                rule_id: item.rule_id.clone(),
                posting,
                explanation: explanation.clone(),
            })
        };
        if difference > 0 {
            push(Posting::Earn {
                amount: Money::new(difference, currency),
            });
            continue;
        }
        let pending_minor: i64 = for_key
            .iter()
            .filter(|p| p.state == CommissionState::Pending && p.amount.currency == currency)
            .map(|p| p.amount.amount_minor)
            .sum();
        let claw = -difference;
        let from_pending = claw.min(pending_minor.max(0));
        let from_payable = claw - from_pending;
        if from_pending > 0 {
            push(Posting::ClawPending {
                amount: Money::new(-from_pending, currency),
                reverses_all_pending: from_pending == pending_minor,
            });
        }
        if from_payable > 0 {
            push(Posting::ClawPayable {
                amount: Money::new(-from_payable, currency),
            });
        }
    }
    out
}
