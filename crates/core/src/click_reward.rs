//! Pay per click (ADR 0006): what a plan's `click` rules owe a partner for the human clicks
//! on their links, per UTC day. A click has no customer, so these commissions hang on a
//! source key, `clicks:<day>`, rather than an event; the day's count is re-read and the
//! difference posted, so clicks that reach the log late are paid the day after.

use crate::commission::{ExplainedClicks, Explanation, Owed, Source};
use crate::condition::Context;
use crate::engine::{Limit, PartnerFacts};
use crate::period::{Date, date_of_day, parse_date};
use crate::plan::{Plan, Reward, Rule, Stacking};
use crate::{Money, PlanVersionId, Timestamp};
use std::collections::BTreeMap;

/// One partner's clicks in one program on one UTC day, from the daily counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayClicks {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// Every click, bots included.
    pub clicks: i64,
    /// Clicks the bot filter flagged.
    pub bot_clicks: i64,
}

impl DayClicks {
    /// What a click reward pays for.
    pub fn human(&self) -> i64 {
        (self.clicks - self.bot_clicks).max(0)
    }
}

const KEY_PREFIX: &str = "clicks:";

/// The source key of a day's click commissions: `clicks:2026-05-03`. Keys sort by day.
pub fn click_key(day: i64) -> String {
    format!("{KEY_PREFIX}{}", date_of_day(day))
}

/// The day of a click key, if it is one.
pub fn day_of_click_key(key: &str) -> Option<i64> {
    let date = key.strip_prefix(KEY_PREFIX)?;
    parse_date(date).map(|start| start.epoch_day())
}

/// The instant a day starts.
pub fn day_start(day: i64) -> Timestamp {
    Timestamp::from_millis(day * crate::time::MILLIS_PER_DAY)
}

/// What the plan's click rules owe for `days` (one entry per day, any order). Caps per
/// partner per period are applied in day order from the first day given: pass every day of
/// each period the caller settles, from the period's start.
pub fn owed_for_clicks(
    plan: &Plan,
    plan_version_id: PlanVersionId,
    partner: PartnerFacts<'_>,
    days: &[DayClicks],
) -> Vec<Owed> {
    let context = Context {
        amount: None,
        metadata: &BTreeMap::new(),
        first_purchase: None,
        months_since_first_purchase: None,
        partner_group: partner.group,
        partner_tier: partner.tier,
        credit_role: None,
    };
    let rules: Vec<&Rule> = plan
        .rules
        .iter()
        .filter(|rule| rule.pays_clicks())
        .filter(|rule| rule.when.as_ref().is_none_or(|when| when.matches(&context)))
        .collect();
    let mut ordered: Vec<DayClicks> = days.iter().copied().filter(|d| d.human() > 0).collect();
    ordered.sort_by_key(|d| d.day);
    // Paid so far per (rule, period start), for caps per partner per period.
    let mut paid: BTreeMap<(usize, Timestamp), i64> = BTreeMap::new();
    let mut out = Vec::new();
    for day in &ordered {
        let human = day.human();
        let uncapped: Vec<Option<Money>> = rules
            .iter()
            .map(|rule| match rule.reward {
                Reward::Flat { amount } => Some(Money::new(
                    amount.amount_minor.saturating_mul(human),
                    amount.currency,
                )),
                _ => None,
            })
            .collect();
        // `stacking: best`: the click rule paying most for the day (the first on a tie).
        let best = (plan.stacking == Stacking::Best)
            .then(|| {
                uncapped
                    .iter()
                    .enumerate()
                    .filter_map(|(index, amount)| amount.map(|a| (index, a.amount_minor)))
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                    .map(|(index, _)| index)
            })
            .flatten();
        for (index, rule) in rules.iter().enumerate() {
            let Some(full) = uncapped[index] else {
                continue;
            };
            let mut notes = Vec::new();
            let mut amount = full;
            let mut capped_by = None;
            if let Some(winner) = best.filter(|winner| *winner != index) {
                notes.push(format!(
                    "stacking is `best`: rule {} paid more for this day's clicks, so this rule pays 0",
                    rules[winner].id
                ));
                amount = Money::zero(full.currency);
            }
            if let Some(cap) = rule.caps.per_commission
                && amount.amount_minor > cap.amount_minor
            {
                amount = Money::new(cap.amount_minor, amount.currency);
                capped_by = Some(Limit::PerCommission);
            }
            if let Some(cap) = rule.caps.per_partner_period {
                let start = cap.period.start(day_start(day.day));
                let so_far = paid.entry((index, start)).or_insert(0);
                let room = (cap.amount.amount_minor - *so_far).max(0);
                if amount.amount_minor > room {
                    amount = Money::new(room, amount.currency);
                    capped_by = Some(Limit::PerPartnerPeriod);
                }
                *so_far += amount.amount_minor;
            }
            out.push(explain_day(
                rule,
                plan_version_id,
                day,
                full,
                amount,
                capped_by,
                notes,
            ));
        }
    }
    out
}

fn explain_day(
    rule: &Rule,
    plan_version_id: PlanVersionId,
    day: &DayClicks,
    full: Money,
    amount: Money,
    capped_by: Option<Limit>,
    notes: Vec<String>,
) -> Owed {
    let date: Date = date_of_day(day.day);
    let human = day.human();
    let per_click = match rule.reward {
        Reward::Flat { amount } => amount,
        _ => Money::zero(amount.currency),
    };
    let plural = |n: i64, noun: &str| {
        if n == 1 {
            format!("1 {noun}")
        } else {
            format!("{n} {noun}s")
        }
    };
    let bots = if day.bot_clicks > 0 {
        format!(" ({} not paid)", plural(day.bot_clicks, "bot click"))
    } else {
        String::new()
    };
    Owed {
        source: Source::Key(click_key(day.day)),
        rule_id: rule.id.clone(),
        amount,
        explanation: Explanation {
            summary: format!(
                "{amount} for {} on {date}{bots}, rule {}",
                plural(human, "human click"),
                rule.id
            ),
            event: None,
            adjustments: Vec::new(),
            attribution: None,
            clicks: Some(ExplainedClicks {
                day: date.to_string(),
                clicks: day.clicks,
                bot_clicks: day.bot_clicks,
                human_clicks: human,
            }),
            plan_version_id,
            rule: rule.clone(),
            base: None,
            arithmetic: format!(
                "flat {per_click} per human click × {} = {full}",
                plural(human, "click")
            ),
            rounding: "none: a whole number of clicks times a flat amount is exact".into(),
            tier: None,
            limited_by: capped_by
                .map(|limit| format!("{}: {full} reduced to {amount}", limit.as_str())),
            notes,
            owed: amount,
            previously_posted_minor: 0,
            posted: amount,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;
    use crate::period::{Period, day_of_date};
    use crate::plan::{Caps, PeriodAmount, Trigger};

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    fn day(year: i64, month: u32, day: u32) -> i64 {
        day_of_date(Date { year, month, day })
    }

    fn clicks(on: i64, clicks: i64, bot_clicks: i64) -> DayClicks {
        DayClicks {
            day: on,
            clicks,
            bot_clicks,
        }
    }

    fn ppc(cents: i64) -> Rule {
        Rule::new("ppc", Trigger::Click, Reward::Flat { amount: usd(cents) })
    }

    fn version() -> PlanVersionId {
        PlanVersionId(uuid::Uuid::nil())
    }

    #[test]
    fn pays_human_clicks_per_day_and_keys_by_day() {
        let plan = Plan::of_rules(vec![ppc(5)]);
        let owed = owed_for_clicks(
            &plan,
            version(),
            PartnerFacts::default(),
            &[
                clicks(day(2026, 5, 3), 12, 2),
                clicks(day(2026, 5, 4), 3, 3),
            ],
        );
        assert_eq!(owed.len(), 1, "a day of only bots owes nothing: {owed:?}");
        assert_eq!(owed[0].amount, usd(50));
        assert_eq!(owed[0].source, Source::Key("clicks:2026-05-03".into()));
        let seen = owed[0]
            .explanation
            .clicks
            .as_ref()
            .expect("clicks explained");
        assert_eq!(
            (seen.clicks, seen.bot_clicks, seen.human_clicks),
            (12, 2, 10)
        );
        assert!(
            owed[0]
                .explanation
                .summary
                .contains("2 bot clicks not paid")
        );
        assert_eq!(day_of_click_key("clicks:2026-05-03"), Some(day(2026, 5, 3)));
        assert_eq!(day_of_click_key("bonus:x:2026-05"), None);
    }

    #[test]
    fn a_monthly_cap_stops_paying_in_day_order_and_restarts_next_month() {
        let mut rule = ppc(10);
        rule.caps = Caps {
            per_partner_period: Some(PeriodAmount {
                period: Period::Month,
                amount: usd(250),
            }),
            ..Caps::default()
        };
        let plan = Plan::of_rules(vec![rule]);
        // Given out of order: the cap follows the days, not the input.
        let owed = owed_for_clicks(
            &plan,
            version(),
            PartnerFacts::default(),
            &[
                clicks(day(2026, 5, 2), 20, 0),
                clicks(day(2026, 5, 1), 10, 0),
                clicks(day(2026, 5, 3), 5, 0),
                clicks(day(2026, 6, 1), 4, 0),
            ],
        );
        let amounts: Vec<(String, i64)> = owed
            .iter()
            .map(|o| {
                (
                    o.source.key().unwrap_or("").to_string(),
                    o.amount.amount_minor,
                )
            })
            .collect();
        assert_eq!(
            amounts,
            vec![
                ("clicks:2026-05-01".to_string(), 100),
                ("clicks:2026-05-02".to_string(), 150),
                ("clicks:2026-05-03".to_string(), 0),
                ("clicks:2026-06-01".to_string(), 40),
            ]
        );
        assert!(
            owed[1]
                .explanation
                .limited_by
                .as_deref()
                .is_some_and(|why| why.contains("per partner per period"))
        );
    }

    #[test]
    fn conditions_on_the_partner_and_best_stacking() {
        let mut gold = Rule::new("gold", Trigger::Click, Reward::Flat { amount: usd(8) });
        gold.when = Some(crate::condition::Condition::PartnerTier(vec![
            "gold".into(),
        ]));
        let mut plan = Plan::of_rules(vec![ppc(5), gold]);
        let on = [clicks(day(2026, 5, 3), 10, 0)];
        let silver = owed_for_clicks(&plan, version(), PartnerFacts::default(), &on);
        assert_eq!(silver.len(), 1);
        let gold_facts = PartnerFacts {
            group: None,
            tier: Some("gold"),
            role: None,
        };
        let stacked: i64 = owed_for_clicks(&plan, version(), gold_facts, &on)
            .iter()
            .map(|o| o.amount.amount_minor)
            .sum();
        assert_eq!(stacked, 130);
        plan.stacking = Stacking::Best;
        let best = owed_for_clicks(&plan, version(), gold_facts, &on);
        let paid: Vec<(&str, i64)> = best
            .iter()
            .map(|o| (o.rule_id.as_str(), o.amount.amount_minor))
            .collect();
        assert_eq!(paid, vec![("ppc", 0), ("gold", 80)]);
    }
}
