//! The plan engine (ADR 0005): what facts owe under a plan, in three levels.
//!
//! 1. **Per customer** ([`Engine::customer`]): each event is tested against the rules indexed
//!    by its kind; triggers, conditions, recurring windows, flat and percentage rewards,
//!    attribution share, caps per commission and per customer, and `stacking: best` are
//!    decided from that customer's facts alone.
//! 2. **Per partner and period** ([`Engine::settle_periods`]): tiered rewards and caps per
//!    partner per period need the partner's other customers; their lines are ordered by
//!    time and paid as increments of a cumulative amount, so the period's total is rounded
//!    once and never gains or loses a minor unit, however its events are split.
//! 3. **Per program and period** ([`Engine::apply_budget`]): the budget, first come first paid.
//!
//! Bonuses ([`Engine::bonuses`]) are judged per partner at period end from the customers'
//! summaries. Evaluation allocates per customer, not per event or rule, and explanations are
//! only built for the lines that are posted ([`crate::commission::explain`]).

use crate::commission::StoredEvent;
use crate::condition::Context;
use crate::event::EventKind;
use crate::money::round_half_up;
use crate::period::whole_months;
use crate::plan::{
    BonusReward, BonusTarget, CHURNED, Engagement, Measure, Plan, Recurring, Reward, Stacking,
    TierMode, Tiered, Trigger,
};
use crate::{BasisPoints, Currency, EventId, Money, Timestamp};
use std::cmp::Ordering;

/// Why a line's amount is less than its rule's reward, or what set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Detail {
    /// Minor units of refunds and chargebacks taken off the base.
    pub refunded_minor: i64,
    /// The sale was refunded in full, so a flat sale reward is not owed.
    pub refunded_in_full: bool,
    /// `stacking: best` paid this rule index instead.
    pub lost_to: Option<u16>,
    /// The amount before caps and budget.
    pub uncapped_minor: i64,
    pub capped_by: Option<Limit>,
    /// For tiered rules: the tier reached with this event and the period volume then.
    pub tier: Option<TierReached>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    PerCommission,
    PerCustomer,
    PerPartnerPeriod,
    Budget,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::PerCommission => "the rule's cap per commission",
            Limit::PerCustomer => "the rule's cap per customer",
            Limit::PerPartnerPeriod => "the rule's cap per partner per period",
            Limit::Budget => "the program's budget for the period",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierReached {
    pub index: u8,
    /// The period's volume including this event (minor units or a count).
    pub volume: i64,
    pub period_start: Timestamp,
}

/// What the facts owe for one (source event, rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub source_event_id: EventId,
    /// Index of the rule in the plan.
    pub rule: u16,
    /// Index of the source event in the customer's events as given.
    pub event: u32,
    /// The time the line counts at (for periods and budgets): its source event's time.
    pub at: Timestamp,
    /// The amount the rule applied to, net of refunds (for percentages and revenue tiers).
    pub base: Option<Money>,
    /// Whether the source event is the customer's first purchase (counts for `customers`).
    pub new_customer: bool,
    pub share_bp: u32,
    pub amount: Money,
    pub detail: Detail,
}

/// What the partner's side contributes to conditions.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartnerFacts<'a> {
    pub group: Option<&'a str>,
    pub tier: Option<&'a str>,
    /// The partner's role in the customer's attribution.
    pub role: Option<&'a str>,
}

/// One customer's facts, as the engine needs them.
#[derive(Debug, Clone, Copy)]
pub struct CustomerFacts<'a> {
    pub events: &'a [StoredEvent],
    /// Events before this instant (the credited touch) earn nothing.
    pub touched_at: Option<Timestamp>,
    /// Events at or after this instant earn nothing here (another plan version covers them);
    /// they still count as history (first purchase, refunds, retention).
    pub earn_until: Option<Timestamp>,
    /// The credited partner's share in basis points of 10,000.
    pub share_bp: u32,
    pub partner: PartnerFacts<'a>,
    /// Time-based triggers (retention) are owed once this instant has passed them.
    pub as_of: Timestamp,
    /// Spans in which the partner earned nothing (suspended, terminated, terms not
    /// accepted in time): events inside them earn nothing, and still count as history.
    pub paused: &'a [Pause],
}

/// A span in which a partner does not earn in a program; open-ended when `until` is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pause {
    pub from: Timestamp,
    pub until: Option<Timestamp>,
}

impl Pause {
    pub fn contains(&self, at: Timestamp) -> bool {
        at >= self.from && self.until.is_none_or(|until| at < until)
    }

    /// Whether `at` falls in any of `pauses`.
    pub fn any(pauses: &[Pause], at: Timestamp) -> bool {
        pauses.iter().any(|pause| pause.contains(at))
    }
}

/// A customer as bonuses see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSummary {
    pub customer_external_id: String,
    /// The first purchase's time and event.
    pub first_purchase: Option<(Timestamp, EventId)>,
    /// When the customer stopped being active: a `churned` milestone, or refunds taking back
    /// everything they bought.
    pub inactive_at: Option<Timestamp>,
    /// Net revenue per purchase (eligible events only), in time order.
    pub revenue: Vec<(Timestamp, Money)>,
}

impl CustomerSummary {
    pub fn active_at(&self, at: Timestamp) -> bool {
        self.inactive_at.is_none_or(|inactive| inactive > at)
    }
}

/// A bonus a partner has earned for a period, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BonusAward {
    pub bonus: u16,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub amount: Money,
    /// The customers that met the target (by external id), sorted.
    pub customers: Vec<String>,
    /// The partner's net revenue in the period, in the bonus's currency.
    pub revenue: Money,
    pub arithmetic: String,
}

/// A period group: (rule index, currency, period start).
type GroupKey = (u16, Currency, Timestamp);

/// A plan prepared for evaluation: rules indexed by the event kind that can fire them.
#[derive(Debug, Clone)]
pub struct Engine<'p> {
    pub plan: &'p Plan,
    by_kind: [Vec<u16>; EventKind::ALL.len()],
    needs_context: bool,
    clawback_millis: Option<i64>,
}

fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL
        .iter()
        .position(|other| *other == kind)
        .unwrap_or(0)
}

/// Per-event facts derived from the customer's whole history.
#[derive(Debug, Clone, Copy, Default)]
struct Derived {
    net_minor: i64,
    refunded_minor: i64,
}

impl<'p> Engine<'p> {
    pub fn new(plan: &'p Plan) -> Engine<'p> {
        let mut by_kind: [Vec<u16>; EventKind::ALL.len()] = Default::default();
        for (index, rule) in plan.rules.iter().enumerate() {
            for kind in EventKind::ALL {
                let fires = match &rule.trigger {
                    Trigger::Milestone(_) | Trigger::Custom(_) => kind == EventKind::Milestone,
                    trigger => trigger.fires_on(kind, None),
                };
                if fires {
                    by_kind[kind_index(kind)].push(index as u16);
                }
            }
        }
        Engine {
            plan,
            by_kind,
            needs_context: plan.rules.iter().any(|rule| rule.when.is_some()),
            clawback_millis: plan
                .safeguards
                .clawback_days
                .map(|days| i64::from(days) * crate::time::MILLIS_PER_DAY),
        }
    }

    /// Orders a customer's events by (time, id): the order every derivation uses.
    pub fn order(events: &[StoredEvent]) -> Vec<u32> {
        let mut order: Vec<u32> = (0..events.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&events[a as usize], &events[b as usize]);
            a.facts
                .occurred_at
                .cmp(&b.facts.occurred_at)
                .then(a.id.cmp(&b.id))
        });
        order
    }

    /// Level 1: appends to `out` the lines one customer's facts owe, and returns the customer's
    /// summary for bonuses. Lines of rules settled per period carry a provisional amount
    /// (0 for tiers) until [`Engine::settle_periods`].
    pub fn customer(&self, facts: &CustomerFacts<'_>, out: &mut Vec<Line>) -> CustomerSummary {
        let events = facts.events;
        let order = Self::order(events);
        let derived = self.derive(events, &order);
        let first = order
            .iter()
            .copied()
            .find(|&i| events[i as usize].facts.kind.is_revenue());
        let first_at = first.map(|i| events[i as usize].facts.occurred_at);
        let inactive_at = inactive_at(events, &order);
        let eligible = |event: &StoredEvent| {
            facts
                .touched_at
                .is_none_or(|touched| event.facts.occurred_at >= touched)
                && facts
                    .earn_until
                    .is_none_or(|until| event.facts.occurred_at < until)
                && !Pause::any(facts.paused, event.facts.occurred_at)
        };
        let mut summary = CustomerSummary {
            customer_external_id: events
                .first()
                .map(|event| event.facts.customer_external_id.clone())
                .unwrap_or_default(),
            first_purchase: first
                .map(|i| (events[i as usize].facts.occurred_at, events[i as usize].id)),
            inactive_at,
            revenue: Vec::new(),
        };
        let rules = &self.plan.rules;
        let mut per_customer_paid = [0i64; crate::plan::MAX_RULES];
        let mut lead_seen = false;
        for &index in &order {
            let event = &events[index as usize];
            let kind = event.facts.kind;
            if !eligible(event) {
                continue;
            }
            if kind == EventKind::Lead {
                if lead_seen {
                    continue;
                }
                lead_seen = true;
            }
            let is_first = Some(index) == first;
            let net = derived[index as usize];
            if kind.is_revenue()
                && let Some(amount) = event.facts.amount
            {
                summary.revenue.push((
                    event.facts.occurred_at,
                    Money::new(net.net_minor, amount.currency),
                ));
            }
            let candidates = &self.by_kind[kind_index(kind)];
            if candidates.is_empty() {
                continue;
            }
            let months = first_at.map(|at| whole_months(at, event.facts.occurred_at));
            let context = self.needs_context.then(|| Context {
                amount: event.facts.amount,
                metadata: &event.metadata,
                first_purchase: kind.is_revenue().then_some(is_first),
                months_since_first_purchase: if kind.is_revenue() { months } else { None },
                partner_group: facts.partner.group,
                partner_tier: facts.partner.tier,
                credit_role: facts.partner.role,
            });
            let start = out.len();
            for &rule_index in candidates {
                let rule = &rules[rule_index as usize];
                let at = event.facts.occurred_at;
                let fires = match &rule.trigger {
                    Trigger::FirstSale => is_first,
                    Trigger::Retained { days } => {
                        // Counted at the first purchase (its period, its place in a budget).
                        let retained_at = event.facts.occurred_at.plus_days(*days);
                        is_first
                            && facts.as_of >= retained_at
                            && inactive_at.is_none_or(|inactive| inactive > retained_at)
                    }
                    trigger => trigger.fires_on(kind, event.facts.milestone.as_deref()),
                };
                if !fires {
                    continue;
                }
                if let (Some(condition), Some(context)) = (&rule.when, &context)
                    && !condition.matches(context)
                {
                    continue;
                }
                if let Some(Recurring::Months(limit)) = rule.recurring
                    && months.is_none_or(|months| months >= limit)
                {
                    continue;
                }
                let base = match (&rule.trigger, event.facts.amount) {
                    (Trigger::Refund | Trigger::Chargeback, _) => None,
                    (_, Some(amount)) if kind.is_revenue() => {
                        Some(Money::new(net.net_minor, amount.currency))
                    }
                    (_, amount) => amount,
                };
                let mut detail = Detail {
                    refunded_minor: net.refunded_minor,
                    ..Detail::default()
                };
                let gross = match &rule.reward {
                    Reward::Flat { amount } => {
                        if kind.is_revenue() && base.is_some_and(|base| base.amount_minor <= 0) {
                            detail.refunded_in_full = true;
                            Money::zero(amount.currency)
                        } else {
                            *amount
                        }
                    }
                    Reward::Percent { rate_bp } | Reward::PercentOfExpansion { rate_bp } => {
                        match base {
                            Some(base) => base.percent(*rate_bp),
                            None => continue,
                        }
                    }
                    Reward::Tiered(tiered) => Money::zero(tier_currency(tiered, base)),
                };
                let amount = share(gross, facts.share_bp);
                detail.uncapped_minor = amount.amount_minor;
                out.push(Line {
                    source_event_id: event.id,
                    rule: rule_index,
                    event: index,
                    at,
                    base,
                    new_customer: is_first,
                    share_bp: facts.share_bp,
                    amount,
                    detail,
                });
            }
            let lines = &mut out[start..];
            if lines.is_empty() {
                continue;
            }
            if self.plan.stacking == Stacking::Best {
                best_only(self.plan, lines);
            }
            for line in lines.iter_mut() {
                let rule = &rules[line.rule as usize];
                if let Some(cap) = rule.caps.per_commission
                    && cap.currency == line.amount.currency
                    && line.amount.amount_minor > cap.amount_minor
                {
                    line.amount.amount_minor = cap.amount_minor;
                    line.detail.capped_by = Some(Limit::PerCommission);
                }
                if let Some(cap) = rule.caps.per_customer
                    && cap.currency == line.amount.currency
                {
                    let paid = &mut per_customer_paid[line.rule as usize];
                    let room = (cap.amount_minor - *paid).max(0);
                    if line.amount.amount_minor > room {
                        line.amount.amount_minor = room;
                        line.detail.capped_by = Some(Limit::PerCustomer);
                    }
                    *paid += line.amount.amount_minor;
                }
            }
        }
        summary
    }

    /// Net amount and refunds per event: refunds and chargebacks reduce the sales with the
    /// same invoice and currency, oldest sale first, when they come within the plan's
    /// clawback window of the sale.
    fn derive(&self, events: &[StoredEvent], order: &[u32]) -> Vec<Derived> {
        let mut derived: Vec<Derived> = events
            .iter()
            .map(|event| Derived {
                net_minor: event.facts.amount.map_or(0, |amount| amount.amount_minor),
                refunded_minor: 0,
            })
            .collect();
        let mut refunds: Vec<(u32, i64)> = order
            .iter()
            .copied()
            .filter(|&i| {
                let facts = &events[i as usize].facts;
                facts.kind.is_reversal() && facts.invoice_id.is_some() && facts.amount.is_some()
            })
            .map(|i| {
                let amount = events[i as usize]
                    .facts
                    .amount
                    .map_or(0, |a| a.amount_minor);
                (i, amount.max(0))
            })
            .collect();
        if refunds.is_empty() {
            return derived;
        }
        for &sale in order {
            let facts = &events[sale as usize].facts;
            let (Some(invoice), Some(amount)) = (&facts.invoice_id, facts.amount) else {
                continue;
            };
            if !facts.kind.is_revenue() {
                continue;
            }
            let mut net = amount.amount_minor;
            for (refund, remaining) in refunds.iter_mut() {
                let refund_facts = &events[*refund as usize].facts;
                let same = refund_facts.invoice_id.as_deref() == Some(invoice.as_str())
                    && refund_facts.amount.map(|a| a.currency) == Some(amount.currency);
                let in_window = self.clawback_millis.is_none_or(|window| {
                    refund_facts.occurred_at.millis() - facts.occurred_at.millis() <= window
                });
                if !same || !in_window || *remaining == 0 || net <= 0 {
                    continue;
                }
                let taken = (*remaining).min(net);
                *remaining -= taken;
                net -= taken;
            }
            derived[sale as usize] = Derived {
                net_minor: net,
                refunded_minor: amount.amount_minor - net,
            };
        }
        derived
    }

    /// Level 2: settles the lines of rules that depend on the partner's period (tiers, caps
    /// per partner per period). `lines` are one partner's lines, from any customers, in any
    /// order; lines of other rules are left alone.
    pub fn settle_periods(&self, lines: &mut [Line]) {
        let rules = &self.plan.rules;
        let mut period_lines: Vec<usize> = (0..lines.len())
            .filter(|&i| rules[lines[i].rule as usize].needs_period())
            .collect();
        if period_lines.is_empty() {
            return;
        }
        // Group by (rule, currency, period), then time and event id within a group.
        let key = |line: &Line| {
            let rule = &rules[line.rule as usize];
            let period = self.plan.settlement_period(rule);
            (line.rule, line.amount.currency, period.start(line.at))
        };
        // Each line's group key, computed once (calendar arithmetic is not free).
        let mut keyed: Vec<(GroupKey, Timestamp, EventId, usize)> = period_lines
            .iter()
            .map(|&i| (key(&lines[i]), lines[i].at, lines[i].source_event_id, i))
            .collect();
        keyed.sort_unstable();
        period_lines = keyed.iter().map(|entry| entry.3).collect();
        let mut start = 0;
        while start < period_lines.len() {
            let group_key = keyed[start].0;
            let mut end = start + 1;
            while end < period_lines.len() && keyed[end].0 == group_key {
                end += 1;
            }
            let group = &period_lines[start..end];
            let rule = &rules[group_key.0 as usize];
            if let Reward::Tiered(tiered) = &rule.reward {
                settle_tiers(tiered, group_key.2, lines, group);
            }
            if let Some(cap) = rule.caps.per_partner_period
                && cap.amount.currency == group_key.1
            {
                clamp_running(
                    lines,
                    group,
                    cap.amount.amount_minor,
                    Limit::PerPartnerPeriod,
                );
            }
            start = end;
        }
    }

    /// Level 3: the program's budget per period, across partners and rules: lines are paid
    /// in time order (then event id, then rule order) until the period's budget is spent.
    /// Negative lines (fees) pass through.
    pub fn apply_budget(&self, lines: &mut [Line]) {
        let Some(budget) = self.plan.budget else {
            return;
        };
        let mut keyed: Vec<(Timestamp, Timestamp, EventId, u16, usize)> = (0..lines.len())
            .filter(|&i| lines[i].amount.currency == budget.amount.currency)
            .map(|i| {
                let line = &lines[i];
                (
                    budget.period.start(line.at),
                    line.at,
                    line.source_event_id,
                    line.rule,
                    i,
                )
            })
            .collect();
        keyed.sort_unstable();
        let order: Vec<usize> = keyed.iter().map(|entry| entry.4).collect();
        let mut start = 0;
        while start < order.len() {
            let period = keyed[start].0;
            let mut end = start + 1;
            while end < order.len() && keyed[end].0 == period {
                end += 1;
            }
            clamp_running(
                lines,
                &order[start..end],
                budget.amount.amount_minor,
                Limit::Budget,
            );
            start = end;
        }
    }

    /// Bonuses one partner has earned, judged from their customers' summaries. A bonus for
    /// a period is judged once the period is over (and, for retention, once `days` have
    /// passed after it), as of `as_of`.
    pub fn bonuses(&self, customers: &[CustomerSummary], as_of: Timestamp) -> Vec<BonusAward> {
        let mut awards = Vec::new();
        for (index, bonus) in self.plan.bonuses.iter().enumerate() {
            let currency = match (bonus.when, bonus.reward) {
                (_, BonusReward::Flat { amount }) => Some(amount.currency),
                (BonusTarget::Revenue { min }, _) => Some(min.currency),
                _ => None,
            };
            // Every period in which a customer was acquired or revenue was earned.
            let mut periods: Vec<Timestamp> = customers
                .iter()
                .flat_map(|customer| {
                    customer
                        .first_purchase
                        .map(|(at, _)| at)
                        .into_iter()
                        .chain(customer.revenue.iter().map(|(at, _)| *at))
                })
                .map(|at| bonus.period.start(at))
                .collect();
            periods.sort();
            periods.dedup();
            for start in periods {
                let end = bonus.period.end(start);
                let wait_days = match bonus.when {
                    BonusTarget::RetainedCustomers { days, .. } => days,
                    _ => 0,
                };
                if as_of < end.plus_days(wait_days) {
                    continue;
                }
                let acquired: Vec<&CustomerSummary> = customers
                    .iter()
                    .filter(|c| {
                        c.first_purchase
                            .is_some_and(|(at, _)| at >= start && at < end)
                    })
                    .collect();
                let currency = currency.or_else(|| {
                    customers
                        .iter()
                        .flat_map(|c| c.revenue.iter())
                        .find(|(at, _)| *at >= start && *at < end)
                        .map(|(_, money)| money.currency)
                });
                let Some(currency) = currency else { continue };
                let revenue_minor: i64 = customers
                    .iter()
                    .flat_map(|c| c.revenue.iter())
                    .filter(|(at, money)| *at >= start && *at < end && money.currency == currency)
                    .map(|(_, money)| money.amount_minor)
                    .sum();
                let revenue = Money::new(revenue_minor, currency);
                let (met, mut qualifying, target) = match bonus.when {
                    BonusTarget::RetainedCustomers { min, days } => {
                        let retained: Vec<String> = acquired
                            .iter()
                            .filter(|c| {
                                c.first_purchase
                                    .is_some_and(|(at, _)| c.active_at(at.plus_days(days)))
                            })
                            .map(|c| c.customer_external_id.clone())
                            .collect();
                        (
                            retained.len() >= min as usize,
                            retained,
                            format!(
                                "at least {min} customers acquired in the period and active {days} days later"
                            ),
                        )
                    }
                    BonusTarget::NewCustomers { min } => (
                        acquired.len() >= min as usize,
                        acquired
                            .iter()
                            .map(|c| c.customer_external_id.clone())
                            .collect(),
                        format!("at least {min} customers acquired in the period"),
                    ),
                    BonusTarget::Revenue { min } => (
                        revenue_minor >= min.amount_minor,
                        Vec::new(),
                        format!("at least {min} of net revenue in the period"),
                    ),
                };
                if !met {
                    continue;
                }
                qualifying.sort();
                let (amount, arithmetic) = match bonus.reward {
                    BonusReward::Flat { amount } => (
                        amount,
                        format!(
                            "{target}: met ({} customers, {revenue}); flat {amount}",
                            qualifying.len()
                        ),
                    ),
                    BonusReward::PercentOfPeriodRevenue { rate_bp } => {
                        let amount = revenue.percent(rate_bp);
                        (
                            amount,
                            format!(
                                "{target}: met ({} customers); {} × {} bp ÷ 10,000 = {}",
                                qualifying.len(),
                                revenue_minor,
                                rate_bp.get(),
                                amount.amount_minor
                            ),
                        )
                    }
                };
                awards.push(BonusAward {
                    bonus: index as u16,
                    period_start: start,
                    period_end: end,
                    amount,
                    customers: qualifying,
                    revenue,
                    arithmetic,
                });
            }
        }
        awards
    }
}

/// Whether a held commission may be approved yet under the plan's minimum engagement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// Approve now.
    Ready,
    /// Ask again at this instant.
    WaitUntil(Timestamp),
    /// Void the commission: the customer never engaged.
    Void(String),
}

/// Decides approval for a commission whose hold has passed at `now`, from the customer's
/// events. `earned_at` is the commission's event time.
pub fn approval(
    plan: &Plan,
    events: &[StoredEvent],
    earned_at: Timestamp,
    now: Timestamp,
) -> Approval {
    let Some(engagement) = plan.safeguards.approve_after else {
        return Approval::Ready;
    };
    let wait = plan
        .safeguards
        .engagement_wait_days
        .unwrap_or(crate::plan::DEFAULT_ENGAGEMENT_WAIT_DAYS);
    let deadline = earned_at.plus_days(wait);
    match engagement {
        Engagement::Milestone(milestone) => {
            // Engagement counts only until the deadline, so the answer after it does not
            // depend on when the approval job happens to run (replay asks after the fact).
            let reached = events.iter().any(|event| {
                event.facts.kind == EventKind::Milestone
                    && event.facts.milestone.as_deref() == Some(milestone.as_str())
                    && event.facts.occurred_at <= now.min(deadline)
            });
            if reached {
                Approval::Ready
            } else if now >= deadline {
                Approval::Void(format!(
                    "the customer did not reach `{}` within {wait} days",
                    milestone.as_str()
                ))
            } else {
                Approval::WaitUntil(deadline.min(now.plus_days(1)))
            }
        }
        Engagement::ActiveDays(days) => {
            let order = Engine::order(events);
            let inactive = inactive_at(events, &order);
            let needed = earned_at.plus_days(days);
            match inactive {
                Some(at) if at <= needed => Approval::Void(format!(
                    "the customer stopped being active before {days} days had passed"
                )),
                _ if now >= needed => Approval::Ready,
                _ => Approval::WaitUntil(needed),
            }
        }
    }
}

/// When a customer stopped being active: a `churned` milestone, or the moment refunds took
/// back everything bought until then (in the first purchase's currency).
fn inactive_at(events: &[StoredEvent], order: &[u32]) -> Option<Timestamp> {
    let mut bought = 0i64;
    let mut currency: Option<Currency> = None;
    for &i in order {
        let facts = &events[i as usize].facts;
        if facts.kind == EventKind::Milestone && facts.milestone.as_deref() == Some(CHURNED) {
            return Some(facts.occurred_at);
        }
        let Some(amount) = facts.amount else { continue };
        if facts.kind.is_revenue() {
            let currency = *currency.get_or_insert(amount.currency);
            if amount.currency == currency {
                bought = bought.saturating_add(amount.amount_minor);
            }
        } else if facts.kind.is_reversal() && Some(amount.currency) == currency {
            bought = bought.saturating_sub(amount.amount_minor);
            if bought <= 0 {
                return Some(facts.occurred_at);
            }
        }
    }
    None
}

fn tier_currency(tiered: &Tiered, base: Option<Money>) -> Currency {
    base.map(|base| base.currency)
        .or_else(|| {
            tiered
                .tiers
                .iter()
                .find_map(|tier| tier.amount.map(|a| a.currency))
        })
        .unwrap_or(Currency::USD)
}

/// `amount × share ÷ 10,000`, rounded once.
fn share(amount: Money, share_bp: u32) -> Money {
    if share_bp == BasisPoints::WHOLE {
        return amount;
    }
    Money::new(
        round_half_up(
            i128::from(amount.amount_minor) * i128::from(share_bp),
            10_000,
        ),
        amount.currency,
    )
}

/// `stacking: best`: among one event's lines of rules settled per customer, only the largest
/// pays (the first listed on a tie); the others owe 0 and say which rule won.
fn best_only(plan: &Plan, lines: &mut [Line]) {
    let mut winner: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        if plan.rules[line.rule as usize].needs_period() {
            continue;
        }
        let better = match winner {
            None => true,
            Some(w) => {
                let current = &lines[w];
                current.amount.currency == line.amount.currency
                    && line.amount.amount_minor.cmp(&current.amount.amount_minor)
                        == Ordering::Greater
            }
        };
        if better {
            winner = Some(i);
        }
    }
    let Some(winner) = winner else { return };
    let winning_rule = lines[winner].rule;
    for (i, line) in lines.iter_mut().enumerate() {
        if i != winner && !plan.rules[line.rule as usize].needs_period() {
            line.amount.amount_minor = 0;
            line.detail.lost_to = Some(winning_rule);
        }
    }
}

/// Pays the lines of one group as increments of a running total that may not exceed `limit`.
fn clamp_running(lines: &mut [Line], group: &[usize], limit: i64, reason: Limit) {
    let mut paid = 0i64;
    for &i in group {
        let line = &mut lines[i];
        if line.amount.amount_minor <= 0 {
            continue;
        }
        let room = (limit - paid).max(0);
        if line.amount.amount_minor > room {
            line.amount.amount_minor = room;
            line.detail.capped_by = Some(reason);
        }
        paid += line.amount.amount_minor;
    }
}

/// One tiered group (a rule, currency and period of one partner), in time order: each line is
/// paid the increment of the period's cumulative amount, in exact units (minor × 10,000)
/// rounded once at each step, so the lines add up to the period's total rounded once.
fn settle_tiers(tiered: &Tiered, period_start: Timestamp, lines: &mut [Line], group: &[usize]) {
    let tier_of = |volume: i64| {
        tiered
            .tiers
            .iter()
            .rposition(|tier| tier.from <= volume)
            .unwrap_or(0)
    };
    // Exact pay of one event at a tier, in minor × 10,000.
    let pay = |tier: usize, line: &Line| -> i128 {
        let tier = &tiered.tiers[tier];
        let raw = match (tier.rate_bp, tier.amount) {
            (Some(rate), _) => {
                i128::from(line.base.map_or(0, |base| base.amount_minor)) * i128::from(rate.get())
            }
            (None, Some(amount)) => i128::from(amount.amount_minor) * 10_000,
            (None, None) => 0,
        };
        raw * i128::from(line.share_bp) / 10_000
    };
    let mut volume = 0i64;
    let mut exact_before: i128 = 0;
    let mut paid_before: i64 = 0;
    // For whole-volume: the sum over earlier lines of each one's pay at every tier.
    let mut pay_sums = vec![0i128; tiered.tiers.len()];
    for &i in group {
        let line = lines[i];
        let contribution = match tiered.measure {
            Measure::Revenue => line.base.map_or(0, |base| base.amount_minor.max(0)),
            Measure::Customers => i64::from(line.new_customer),
            Measure::Conversions => 1,
        };
        let before = volume;
        volume = volume.saturating_add(contribution);
        let tier = tier_of(volume);
        let exact_total = match (tiered.mode, tiered.measure) {
            (TierMode::Marginal, Measure::Revenue) => {
                // Each slice of [before, volume) at its own tier's rate.
                let mut slice_total: i128 = 0;
                for (t, tier_def) in tiered.tiers.iter().enumerate() {
                    let low = tier_def.from.max(before);
                    let high = tiered
                        .tiers
                        .get(t + 1)
                        .map_or(volume, |next| next.from.min(volume));
                    if high > low {
                        let rate = tier_def.rate_bp.map_or(0, |rate| rate.get());
                        slice_total += i128::from(high - low) * i128::from(rate);
                    }
                }
                exact_before + slice_total * i128::from(line.share_bp) / 10_000
            }
            (TierMode::Marginal, _) => exact_before + pay(tier, &line),
            (TierMode::WholeVolume, _) => {
                for (t, sum) in pay_sums.iter_mut().enumerate() {
                    *sum += pay(t, &line);
                }
                pay_sums[tier]
            }
        };
        let paid_through = round_half_up(exact_total, 10_000);
        let amount = paid_through - paid_before;
        paid_before = paid_through;
        exact_before = exact_total;
        let line = &mut lines[i];
        line.amount.amount_minor = amount;
        line.detail.uncapped_minor = amount;
        line.detail.tier = Some(TierReached {
            index: tier as u8,
            volume,
            period_start,
        });
    }
}

#[cfg(test)]
mod tests;
