//! "Why this amount?": a commission's stored explanation as display text, shared by the
//! admin commission page and the partner portal.

use super::page::{Fact, money, short_id, when};
use tributary_core::commission::{ExplainedEvent, Explanation};
use tributary_core::plan::{Measure, Recurring, Reward, Rule, TierMode};
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
    /// The event earned on; none for clicks and bonuses.
    pub event: Option<EventLine>,
    /// The day's click counts a click reward paid for.
    pub clicks: Vec<Fact>,
    pub adjustments: Vec<EventLine>,
    pub rule: String,
    pub base: String,
    pub arithmetic: String,
    pub rounding: String,
    pub owed: String,
    pub previously_posted: String,
    pub posted: String,
    pub attribution: Vec<Fact>,
    /// The tier reached, a cap that applied, stacking and other notes.
    pub details: Vec<Fact>,
}

pub fn rule_text(rule: &Rule) -> String {
    let trigger = rule.trigger.describe();
    let reward = match &rule.reward {
        Reward::Flat { amount } => format!("{amount} flat"),
        Reward::Percent { rate_bp } => percent(rate_bp.get()),
        Reward::PercentOfExpansion { rate_bp } => {
            format!("{} of the expansion", percent(rate_bp.get()))
        }
        Reward::Tiered(tiered) => {
            let tiers: Vec<String> = tiered
                .tiers
                .iter()
                .map(|tier| {
                    let pays = match (tier.rate_bp, tier.amount) {
                        (Some(rate), _) => percent(rate.get()),
                        (None, Some(amount)) => amount.to_string(),
                        (None, None) => "nothing".into(),
                    };
                    format!("{pays} from {}", tier.from)
                })
                .collect();
            format!(
                "tiered by {} per {} ({}): {}",
                match tiered.measure {
                    Measure::Customers => "new customers",
                    Measure::Revenue => "revenue",
                    Measure::Conversions => "conversions",
                },
                tiered.period.as_str(),
                match tiered.mode {
                    TierMode::Marginal => "marginal",
                    TierMode::WholeVolume => "whole volume",
                },
                tiers.join(", ")
            )
        }
    };
    let mut text = format!("{reward} for {trigger}");
    if rule.when.is_some() {
        text.push_str(", when its conditions hold");
    }
    if let Some(Recurring::Months(months)) = rule.recurring {
        text.push_str(&format!(", for {months} months after the first purchase"));
    }
    format!("{text} (rule {})", rule.id)
}

fn details(explanation: &Explanation) -> Vec<Fact> {
    let mut out = Vec::new();
    if let Some(tier) = &explanation.tier {
        let name = tier
            .name
            .as_ref()
            .map(|name| format!(" ({name})"))
            .unwrap_or_default();
        out.push(Fact::new(
            "Tier reached",
            format!(
                "tier {}{name}, from {}, with a volume of {} in {}",
                tier.number, tier.from, tier.volume, tier.period
            ),
        ));
    }
    if let Some(limit) = &explanation.limited_by {
        out.push(Fact::new("Limited by", limit.clone()));
    }
    for note in &explanation.notes {
        out.push(Fact::new("Note", note.clone()));
    }
    out
}

/// Basis points as a percentage: 1250 → `12.50%`.
pub fn percent(basis_points: u32) -> String {
    format!("{}.{:02}%", basis_points / 100, basis_points % 100)
}

impl From<&Explanation> for ExplanationView {
    fn from(explanation: &Explanation) -> Self {
        let mut attribution = Vec::new();
        if let Some(credit) = &explanation.attribution {
            attribution.extend([
                Fact::new("Model", credit.model.replace('_', " ")),
                Fact::new("Share", percent(credit.share_bp)),
                Fact::new("Role", credit.role.clone()),
                Fact::new("Reason", credit.reason.clone()),
                Fact::new("Window", format!("{} days", credit.window_days)),
            ]);
            if let Some(link_id) = credit.link_id {
                attribution.push(Fact::new("Link", short_id(link_id)));
            }
            if let Some(touched_at) = credit.touched_at {
                attribution.push(Fact::new("Clicked", when(touched_at)));
            }
        }
        let clicks = explanation
            .clicks
            .as_ref()
            .map(|clicks| {
                vec![
                    Fact::new("Day (UTC)", clicks.day.clone()),
                    Fact::new("Clicks", clicks.clicks.to_string()),
                    Fact::new("Bot clicks (not paid)", clicks.bot_clicks.to_string()),
                    Fact::new("Human clicks paid", clicks.human_clicks.to_string()),
                ]
            })
            .unwrap_or_default();
        ExplanationView {
            summary: explanation.summary.clone(),
            event: explanation.event.as_ref().map(EventLine::from),
            clicks,
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
            details: details(explanation),
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
