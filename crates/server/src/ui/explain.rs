//! "Why this amount?": a commission's stored explanation as display text, shared by the
//! admin commission page and the partner portal.

use super::page::{Fact, money, short_id, when};
use tributary_core::commission::{ExplainedEvent, Explanation};
use tributary_core::plan::{Reward, Rule, Trigger};
use tributary_store::CommissionRecord;

pub struct EventLine {
    pub kind: &'static str,
    pub amount: String,
    pub occurred_at: String,
    pub invoice_id: String,
}

impl From<&ExplainedEvent> for EventLine {
    fn from(event: &ExplainedEvent) -> Self {
        EventLine {
            kind: event.kind.as_str(),
            amount: event
                .amount
                .map(|amount| amount.to_string())
                .unwrap_or_default(),
            occurred_at: when(event.occurred_at),
            invoice_id: event.invoice_id.clone().unwrap_or_default(),
        }
    }
}

pub struct ExplanationView {
    pub summary: String,
    pub event: EventLine,
    pub adjustments: Vec<EventLine>,
    pub rule: String,
    pub base: String,
    pub arithmetic: String,
    pub rounding: String,
    pub owed: String,
    pub previously_posted: String,
    pub posted: String,
    pub attribution: Vec<Fact>,
}

pub fn rule_text(rule: &Rule) -> String {
    let trigger = match rule.trigger {
        Trigger::Lead => "the customer's first lead",
        Trigger::AnySale => "every sale and renewal",
        Trigger::Sale => "the first sale",
        Trigger::Renewal => "every renewal",
    };
    let reward = match rule.reward {
        Reward::Flat { amount } => format!("{amount} flat"),
        Reward::Percent { rate_bp } => percent(rate_bp.get()),
    };
    format!("{reward} for {trigger} (rule {})", rule.id)
}

/// Basis points as a percentage: 1250 → `12.50%`.
pub fn percent(basis_points: u32) -> String {
    format!("{}.{:02}%", basis_points / 100, basis_points % 100)
}

impl From<&Explanation> for ExplanationView {
    fn from(explanation: &Explanation) -> Self {
        let credit = &explanation.attribution;
        let mut attribution = vec![
            Fact::new("Model", credit.model.replace('_', " ")),
            Fact::new("Share", percent(credit.share_bp)),
            Fact::new("Role", credit.role.clone()),
            Fact::new("Reason", credit.reason.clone()),
            Fact::new("Window", format!("{} days", credit.window_days)),
        ];
        if let Some(link_id) = credit.link_id {
            attribution.push(Fact::new("Link", short_id(link_id)));
        }
        if let Some(touched_at) = credit.touched_at {
            attribution.push(Fact::new("Clicked", when(touched_at)));
        }
        ExplanationView {
            summary: explanation.summary.clone(),
            event: EventLine::from(&explanation.event),
            adjustments: explanation
                .adjustments
                .iter()
                .map(EventLine::from)
                .collect(),
            rule: rule_text(&explanation.rule),
            base: explanation
                .base
                .map(|base| base.to_string())
                .unwrap_or_else(|| "none (a flat reward does not depend on an amount)".into()),
            arithmetic: explanation.arithmetic.clone(),
            rounding: explanation.rounding.clone(),
            owed: explanation.owed.to_string(),
            previously_posted: money(
                explanation.previously_posted_minor,
                explanation.owed.currency,
            ),
            posted: explanation.posted.to_string(),
            attribution,
        }
    }
}

/// One commission in a listing.
pub struct CommissionRow {
    pub id: String,
    pub created_at: String,
    pub kind: &'static str,
    pub amount: String,
    pub state: &'static str,
    pub hold_until: String,
    pub summary: String,
    pub partner: String,
    pub program: String,
}

impl CommissionRow {
    pub fn new(commission: &CommissionRecord, partner: String, program: String) -> Self {
        CommissionRow {
            id: commission.id.to_string(),
            created_at: when(commission.created_at),
            kind: commission.kind.as_str(),
            amount: commission.amount.to_string(),
            state: commission.state.as_str(),
            hold_until: when(commission.hold_until),
            summary: commission.explanation.summary.clone(),
            partner,
            program,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn basis_points_read_as_percentages() {
        assert_eq!(percent(1_250), "12.50%");
        assert_eq!(percent(10_000), "100.00%");
        assert_eq!(percent(5), "0.05%");
    }
}
