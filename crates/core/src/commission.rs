//! Commissions: what a customer's events owe their partner under a plan, the difference from
//! what is already posted, and how that difference is posted. "Post deltas, converge always"
//! (DESIGN.md §1.8): every event for a customer re-derives what is owed from all of that
//! customer's facts, so late, duplicate-free and out-of-order delivery all end in the same
//! ledger, and a refund claws back exactly what rounding gave.

use crate::attribution::Credit;
use crate::event::{EventFacts, EventKind};
use crate::plan::{Plan, Reward, Rule};
use crate::{EventId, Money, PlanVersionId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// A stored event with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub id: EventId,
    pub facts: EventFacts,
}

/// An event as shown in an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainedEvent {
    pub id: EventId,
    pub kind: EventKind,
    pub amount: Option<Money>,
    pub occurred_at: Timestamp,
    pub invoice_id: Option<String>,
}

impl From<&StoredEvent> for ExplainedEvent {
    fn from(event: &StoredEvent) -> Self {
        ExplainedEvent {
            id: event.id,
            kind: event.facts.kind,
            amount: event.facts.amount,
            occurred_at: event.facts.occurred_at,
            invoice_id: event.facts.invoice_id.clone(),
        }
    }
}

/// Why an amount is what it is: the events, the credit, the rule, the arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub summary: String,
    pub event: ExplainedEvent,
    /// Refunds and chargebacks that reduced the base.
    pub adjustments: Vec<ExplainedEvent>,
    pub attribution: Credit,
    pub plan_version_id: PlanVersionId,
    pub rule: Rule,
    /// The amount the rule applied to, net of adjustments.
    pub base: Option<Money>,
    pub arithmetic: String,
    pub rounding: String,
    /// What the facts owe in total for this event and rule.
    pub owed: Money,
    /// What had been posted for this event and rule before this posting.
    pub previously_posted_minor: i64,
    /// This posting: `owed - previously_posted`.
    pub posted: Money,
}

/// What the facts owe for one (source event, rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub source_event_id: EventId,
    pub rule_id: String,
    pub amount: Money,
    pub explanation: Explanation,
}

const ROUNDING_RULE: &str =
    "rounded once to the nearest minor unit, halves away from zero (money::round_half_up)";

/// Everything `credit`'s partner is owed for one customer's events under `plan`.
///
/// Events before the credited touch earn nothing. Only the customer's first lead earns lead
/// rewards. Refunds and chargebacks reduce the sales with the same `invoice_id` (and currency),
/// oldest sale first; a percentage applies to what is left, a flat sale reward is owed while
/// anything is left.
pub fn owed_for_customer(
    plan: &Plan,
    plan_version_id: PlanVersionId,
    credit: &Credit,
    events: &[StoredEvent],
) -> Vec<Owed> {
    let mut ordered: Vec<&StoredEvent> = events.iter().collect();
    ordered.sort_by(|a, b| {
        a.facts
            .occurred_at
            .cmp(&b.facts.occurred_at)
            .then(a.id.cmp(&b.id))
    });

    // Refund totals per (invoice, currency), allocated to sales below.
    let mut refund_pool: BTreeMap<(String, crate::Currency), (i64, Vec<&StoredEvent>)> =
        BTreeMap::new();
    for event in ordered
        .iter()
        .filter(|event| event.facts.kind.is_reversal())
    {
        if let (Some(invoice), Some(amount)) = (&event.facts.invoice_id, event.facts.amount) {
            let entry = refund_pool
                .entry((invoice.clone(), amount.currency))
                .or_insert((0, Vec::new()));
            entry.0 = entry.0.saturating_add(amount.amount_minor);
            entry.1.push(event);
        }
    }

    let eligible = |event: &StoredEvent| {
        credit
            .touched_at
            .is_none_or(|touched| event.facts.occurred_at >= touched)
    };
    let mut owed = Vec::new();
    let mut lead_seen = false;
    for event in ordered {
        if !eligible(event) {
            continue;
        }
        let kind = event.facts.kind;
        if kind == EventKind::Lead {
            if lead_seen {
                continue;
            }
            lead_seen = true;
        }
        if !(kind == EventKind::Lead || kind.is_revenue()) {
            continue;
        }
        // Net base for revenue events: the sale minus the refunds allocated to it.
        let mut adjustments = Vec::new();
        let base = event.facts.amount.map(|amount| {
            let mut net = amount.amount_minor;
            if let Some(invoice) = &event.facts.invoice_id
                && let Some((remaining, refunds)) =
                    refund_pool.get_mut(&(invoice.clone(), amount.currency))
            {
                let taken = (*remaining).clamp(0, net);
                *remaining -= taken;
                net -= taken;
                if taken > 0 {
                    adjustments = refunds
                        .iter()
                        .map(|refund| ExplainedEvent::from(*refund))
                        .collect();
                }
            }
            Money::new(net, amount.currency)
        });
        for rule in plan.rules.iter().filter(|rule| rule.trigger.matches(kind)) {
            let (amount, arithmetic) = match (rule.reward, base) {
                (Reward::Flat { amount }, Some(base)) if base.amount_minor <= 0 => (
                    Money::zero(amount.currency),
                    format!("flat {amount} per sale, but the sale was refunded in full: 0"),
                ),
                (Reward::Flat { amount }, _) => {
                    (amount, format!("flat {amount} per {}", kind.as_str()))
                }
                (Reward::Percent { rate_bp }, Some(base)) => {
                    let amount = base.percent(rate_bp);
                    (
                        amount,
                        format!(
                            "{} × {} bp ÷ 10,000 = {} (exact: {}/10,000 minor units)",
                            base.amount_minor,
                            rate_bp.get(),
                            amount.amount_minor,
                            i128::from(base.amount_minor) * i128::from(rate_bp.get())
                        ),
                    )
                }
                // A percentage of an event without an amount: validation forbids it; owe nothing.
                (Reward::Percent { .. }, None) => continue,
            };
            let summary = format!(
                "{} for {} {} of customer {} ({} credit via {}), rule {}",
                amount,
                kind.as_str(),
                event.facts.invoice_id.as_deref().unwrap_or(""),
                event.facts.customer_external_id,
                credit.share_bp / 100,
                credit.model,
                rule.id
            )
            .replace("  ", " ");
            owed.push(Owed {
                source_event_id: event.id,
                rule_id: rule.id.clone(),
                amount,
                explanation: Explanation {
                    summary,
                    event: ExplainedEvent::from(event),
                    adjustments: adjustments.clone(),
                    attribution: credit.clone(),
                    plan_version_id,
                    rule: rule.clone(),
                    base,
                    arithmetic,
                    rounding: ROUNDING_RULE.into(),
                    owed: amount,
                    previously_posted_minor: 0,
                    posted: amount,
                },
            });
        }
    }
    owed
}

/// A commission already posted for a (source event, rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub source_event_id: EventId,
    pub rule_id: String,
    pub amount: Money,
    pub state: CommissionState,
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
    pub source_event_id: EventId,
    pub rule_id: String,
    pub posting: Posting,
    pub explanation: Explanation,
}

/// Compares what is owed with what is posted and says what to post. Amounts in the postings
/// are signed (negative for clawbacks) and sum, per key, to `owed - posted`.
pub fn deltas(owed: Vec<Owed>, posted: &[Posted]) -> Vec<Delta> {
    let mut out = Vec::new();
    for item in owed {
        let for_key: Vec<&Posted> = posted
            .iter()
            .filter(|p| p.source_event_id == item.source_event_id && p.rule_id == item.rule_id)
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
                source_event_id: item.source_event_id,
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
