use super::*;
use crate::event::EventFacts;
use crate::period::parse_date;
use crate::plan::Rule;
use proptest::prelude::*;
use uuid::Uuid;

const USD: Currency = Currency::USD;
const DAY: i64 = crate::time::MILLIS_PER_DAY;

fn usd(minor: i64) -> Money {
    Money::new(minor, USD)
}

fn day(text: &str) -> Timestamp {
    parse_date(text).expect("a date")
}

/// Builds one customer's events with ids in creation order.
struct History {
    customer: String,
    events: Vec<StoredEvent>,
}

impl History {
    fn new(customer: &str) -> History {
        History {
            customer: customer.into(),
            events: Vec::new(),
        }
    }

    fn push(
        &mut self,
        kind: EventKind,
        at: Timestamp,
        amount: Option<i64>,
        invoice: Option<&str>,
        milestone: Option<&str>,
    ) -> &mut History {
        let n = self.events.len() as u128 + 1;
        let customer_hash: u128 = self.customer.bytes().map(u128::from).sum();
        self.events.push(StoredEvent {
            id: EventId::from_uuid(Uuid::from_u128((customer_hash << 32) + n)),
            facts: EventFacts {
                kind,
                customer_external_id: self.customer.clone(),
                click_id: None,
                amount: amount.map(usd),
                occurred_at: at,
                invoice_id: invoice.map(str::to_string),
                milestone: milestone.map(str::to_string),
            },
            metadata: Default::default(),
        });
        self
    }

    fn lead(&mut self, at: Timestamp) -> &mut History {
        self.push(EventKind::Lead, at, None, None, None)
    }
    fn sale(&mut self, at: Timestamp, minor: i64, invoice: &str) -> &mut History {
        self.push(EventKind::Sale, at, Some(minor), Some(invoice), None)
    }
    fn renewal(&mut self, at: Timestamp, minor: i64, invoice: &str) -> &mut History {
        self.push(EventKind::Renewal, at, Some(minor), Some(invoice), None)
    }
    fn refund(&mut self, at: Timestamp, minor: i64, invoice: &str) -> &mut History {
        self.push(EventKind::Refund, at, Some(minor), Some(invoice), None)
    }
    fn milestone(&mut self, at: Timestamp, name: &str, minor: Option<i64>) -> &mut History {
        self.push(EventKind::Milestone, at, minor, None, Some(name))
    }
    fn with_metadata(&mut self, key: &str, value: &str) -> &mut History {
        if let Some(last) = self.events.last_mut() {
            std::sync::Arc::make_mut(&mut last.metadata).insert(key.into(), value.into());
        }
        self
    }
}

fn plan(json: &str) -> Plan {
    let plan: Plan = serde_json::from_str(json).expect("plan json");
    plan.validate().expect("valid plan");
    plan
}

fn facts(events: &[StoredEvent], as_of: Timestamp) -> CustomerFacts<'_> {
    CustomerFacts {
        events,
        touched_at: None,
        earn_until: None,
        share_bp: 10_000,
        partner: PartnerFacts::default(),
        as_of,
        paused: &[],
    }
}

/// Level 1 for one customer: (rule id, amount minor) in derivation order.
fn owed(plan: &Plan, events: &[StoredEvent], as_of: Timestamp) -> Vec<(String, i64)> {
    let engine = Engine::new(plan);
    let mut lines = Vec::new();
    engine.customer(&facts(events, as_of), &mut lines);
    engine.settle_periods(&mut lines);
    engine.apply_budget(&mut lines);
    lines
        .iter()
        .map(|line| {
            (
                plan.rules[line.rule as usize].id.clone(),
                line.amount.amount_minor,
            )
        })
        .collect()
}

fn flat(id: &str, trigger: &str, minor: i64) -> String {
    format!(
        r#"{{"id":"{id}","trigger":{trigger},"reward":{{"type":"flat","amount":{{"amount_minor":{minor},"currency":"USD"}}}}}}"#
    )
}

fn percent(id: &str, trigger: &str, rate: u32, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","trigger":{trigger},"reward":{{"type":"percent","rate_bp":{rate}}}{extra}}}"#
    )
}

fn rules(rules: &[String]) -> Plan {
    plan(&format!(r#"{{"rules":[{}]}}"#, rules.join(",")))
}

#[test]
fn each_trigger_fires_on_its_events_only() {
    let plan = rules(&[
        flat("lead", r#""lead""#, 100),
        flat("first", r#""first_sale""#, 1_000),
        flat("sale", r#""sale""#, 10),
        flat("any", r#""any_sale""#, 1),
        flat("renewal", r#""renewal""#, 5),
        flat("fee", r#""refund""#, -300),
        flat("onboarded", r#"{"milestone":"onboarded"}"#, 200),
        flat("webinar", r#"{"custom":"webinar"}"#, 50),
    ]);
    let mut history = History::new("c1");
    history
        .lead(day("2026-01-01"))
        .lead(day("2026-01-02"))
        .milestone(day("2026-01-03"), "onboarded", None)
        .sale(day("2026-01-05"), 10_000, "in_1")
        .sale(day("2026-01-06"), 5_000, "in_2")
        .renewal(day("2026-02-05"), 10_000, "in_3")
        .refund(day("2026-02-06"), 1_000, "in_3")
        .milestone(day("2026-02-07"), "webinar", None)
        .milestone(day("2026-02-08"), "not-in-plan", None);
    let got = owed(&plan, &history.events, day("2026-03-01"));
    let expected: Vec<(String, i64)> = [
        ("lead", 100), // the first lead only
        ("onboarded", 200),
        ("first", 1_000),
        ("sale", 10),
        ("any", 1),
        ("sale", 10),
        ("any", 1),
        ("any", 1),
        ("renewal", 5),
        ("fee", -300),
        ("webinar", 50),
    ]
    .iter()
    .map(|(id, minor)| (id.to_string(), *minor))
    .collect();
    assert_eq!(got, expected);
}

#[test]
fn percentages_apply_to_the_net_of_refunds_and_a_full_refund_zeroes_a_flat_reward() {
    let plan = rules(&[
        percent("pct", r#""any_sale""#, 2_000, ""),
        flat("flat", r#""sale""#, 500),
    ]);
    let mut history = History::new("c1");
    history
        .sale(day("2026-01-05"), 10_001, "in_1")
        .sale(day("2026-01-06"), 3_000, "in_2")
        .refund(day("2026-01-07"), 2_500, "in_1")
        .refund(day("2026-01-08"), 3_000, "in_2");
    let got = owed(&plan, &history.events, day("2026-03-01"));
    // 7,501 × 20% = 1,500.2 → 1,500; in_2 refunded in full.
    assert_eq!(
        got,
        vec![
            ("pct".into(), 1_500),
            ("flat".into(), 500),
            ("pct".into(), 0),
            ("flat".into(), 0)
        ]
    );
}

#[test]
fn the_clawback_window_lets_late_refunds_go() {
    let plan = plan(&format!(
        r#"{{"rules":[{}],"safeguards":{{"clawback_days":30}}}}"#,
        percent("pct", r#""sale""#, 1_000, "")
    ));
    let mut history = History::new("c1");
    history
        .sale(day("2026-01-01"), 10_000, "in_1")
        .refund(day("2026-01-31"), 1_000, "in_1")
        .refund(day("2026-02-01"), 2_000, "in_1");
    // The first refund is within 30 days, the second is not.
    assert_eq!(
        owed(&plan, &history.events, day("2026-03-01")),
        vec![("pct".into(), 900)]
    );
}

#[test]
fn conditions_test_metadata_and_first_purchase() {
    let plan = rules(&[
        percent(
            "pro-new",
            r#""any_sale""#,
            3_000,
            r#","when":{"all":[{"product":["pro"]},{"first_purchase":true}]}"#,
        ),
        percent(
            "pro-later",
            r#""any_sale""#,
            1_000,
            r#","when":{"all":[{"product":["pro"]},{"first_purchase":false}]}"#,
        ),
    ]);
    let mut history = History::new("c1");
    history
        .sale(day("2026-01-01"), 10_000, "in_1")
        .with_metadata("product", "pro")
        .renewal(day("2026-02-01"), 10_000, "in_2")
        .with_metadata("product", "pro")
        .renewal(day("2026-03-01"), 10_000, "in_3")
        .with_metadata("product", "solo");
    assert_eq!(
        owed(&plan, &history.events, day("2026-04-01")),
        vec![("pro-new".into(), 3_000), ("pro-later".into(), 1_000)]
    );
}

#[test]
fn recurring_rules_stop_after_their_months() {
    let plan = rules(&[percent(
        "recurring",
        r#""any_sale""#,
        1_000,
        r#","recurring":{"months":3}"#,
    )]);
    let mut history = History::new("c1");
    for month in 1..=6 {
        let at = day(&format!("2026-{month:02}-15"));
        if month == 1 {
            history.sale(at, 10_000, "in_1");
        } else {
            history.renewal(at, 10_000, &format!("in_{month}"));
        }
    }
    // Months 0, 1 and 2 after the first purchase pay; months 3, 4 and 5 do not.
    assert_eq!(owed(&plan, &history.events, day("2026-12-01")).len(), 3);
    let lifetime = rules(&[percent(
        "lifetime",
        r#""any_sale""#,
        1_000,
        r#","recurring":"lifetime""#,
    )]);
    assert_eq!(owed(&lifetime, &history.events, day("2026-12-01")).len(), 6);
}

#[test]
fn retention_is_owed_once_its_days_have_passed_and_only_if_still_active() {
    let plan = rules(&[flat("retained", r#"{"retained":{"days":90}}"#, 5_000)]);
    let mut kept = History::new("kept");
    kept.sale(day("2026-01-01"), 10_000, "in_1")
        .renewal(day("2026-02-01"), 10_000, "in_2");
    assert!(owed(&plan, &kept.events, day("2026-03-31")).is_empty());
    assert_eq!(
        owed(&plan, &kept.events, day("2026-04-01")),
        vec![("retained".into(), 5_000)]
    );
    let mut churned = History::new("gone");
    churned
        .sale(day("2026-01-01"), 10_000, "in_1")
        .milestone(day("2026-03-01"), "churned", None);
    assert!(owed(&plan, &churned.events, day("2026-06-01")).is_empty());
    let mut refunded = History::new("refunded");
    refunded
        .sale(day("2026-01-01"), 10_000, "in_1")
        .refund(day("2026-01-10"), 10_000, "in_1");
    assert!(owed(&plan, &refunded.events, day("2026-06-01")).is_empty());
}

#[test]
fn expansion_pays_a_share_of_the_delta() {
    let plan = plan(
        r#"{"rules":[{"id":"exp","trigger":{"milestone":"expanded"},"reward":{"type":"percent_of_expansion","rate_bp":1500}}]}"#,
    );
    let mut history = History::new("c1");
    history.sale(day("2026-01-01"), 10_000, "in_1").milestone(
        day("2026-02-01"),
        "expanded",
        Some(4_001),
    );
    // 4,001 × 15% = 600.15 → 600.
    assert_eq!(
        owed(&plan, &history.events, day("2026-03-01")),
        vec![("exp".into(), 600)]
    );
}

#[test]
fn caps_per_commission_and_per_customer() {
    let plan = rules(&[percent(
        "capped",
        r#""any_sale""#,
        5_000,
        r#","caps":{"per_commission":{"amount_minor":4000,"currency":"USD"},"per_customer":{"amount_minor":10000,"currency":"USD"}}"#,
    )]);
    let mut history = History::new("c1");
    for (n, at) in ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]
        .into_iter()
        .enumerate()
    {
        history.sale(day(at), 10_000, &format!("in_{n}"));
    }
    // 5,000 each, capped to 4,000; the customer cap of 10,000 leaves 2,000 and then 0.
    assert_eq!(
        owed(&plan, &history.events, day("2026-05-01")),
        vec![
            ("capped".into(), 4_000),
            ("capped".into(), 4_000),
            ("capped".into(), 2_000),
            ("capped".into(), 0)
        ]
    );
}

#[test]
fn best_stacking_pays_the_largest_reward_and_the_first_on_a_tie() {
    let plan = plan(&format!(
        r#"{{"stacking":"best","rules":[{},{},{}]}}"#,
        flat("flat", r#""sale""#, 1_500),
        percent("pct", r#""sale""#, 1_000, ""),
        flat("same", r#""sale""#, 1_500),
    ));
    let mut history = History::new("c1");
    history
        .sale(day("2026-01-01"), 10_000, "in_1")
        .sale(day("2026-01-02"), 20_000, "in_2");
    let engine = Engine::new(&plan);
    let mut lines = Vec::new();
    engine.customer(&facts(&history.events, day("2026-02-01")), &mut lines);
    let paid: Vec<(u16, i64, Option<u16>)> = lines
        .iter()
        .map(|line| (line.rule, line.amount.amount_minor, line.detail.lost_to))
        .collect();
    assert_eq!(
        paid,
        vec![
            (0, 1_500, None),
            (1, 0, Some(0)),
            (2, 0, Some(0)),
            (0, 0, Some(1)),
            (1, 2_000, None),
            (2, 0, Some(1))
        ]
    );
}

#[test]
fn events_before_the_credited_touch_earn_nothing_and_shares_scale_rewards() {
    let plan = rules(&[percent("pct", r#""any_sale""#, 1_000, "")]);
    let mut history = History::new("c1");
    history
        .sale(day("2026-01-01"), 10_000, "in_1")
        .renewal(day("2026-02-01"), 10_005, "in_2");
    let engine = Engine::new(&plan);
    let mut lines = Vec::new();
    engine.customer(
        &CustomerFacts {
            touched_at: Some(day("2026-01-15")),
            share_bp: 4_000,
            ..facts(&history.events, day("2026-03-01"))
        },
        &mut lines,
    );
    // 10,005 × 10% = 1,000.5 → 1,001 (rounded); × 40% = 400.4 → 400.
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].amount, usd(400));
}

/// A partner's customers, one sale each on consecutive days of a month.
fn partner_sales(amounts: &[i64]) -> Vec<History> {
    amounts
        .iter()
        .enumerate()
        .map(|(n, minor)| {
            let mut history = History::new(&format!("cust-{n:03}"));
            history.sale(
                day("2026-05-01").plus_millis(n as i64 * DAY / 4),
                *minor,
                &format!("in_{n}"),
            );
            history
        })
        .collect()
}

fn partner_lines(plan: &Plan, customers: &[History], as_of: Timestamp) -> Vec<Line> {
    let engine = Engine::new(plan);
    let mut lines = Vec::new();
    for customer in customers {
        engine.customer(&facts(&customer.events, as_of), &mut lines);
    }
    engine.settle_periods(&mut lines);
    engine.apply_budget(&mut lines);
    lines
}

fn tiered(measure: &str, mode: &str, tiers: &str) -> Plan {
    plan(&format!(
        r#"{{"rules":[{{"id":"tiers","trigger":"sale","reward":{{"type":"tiered","measure":"{measure}","period":"month","mode":"{mode}","tiers":{tiers}}}}}]}}"#
    ))
}

#[test]
fn marginal_revenue_tiers_pay_each_slice_at_its_rate() {
    let plan = tiered(
        "revenue",
        "marginal",
        r#"[{"from":0,"rate_bp":1000},{"from":100000,"rate_bp":2000}]"#,
    );
    // 60,000 then 60,000: the second straddles the boundary at 100,000.
    let lines = partner_lines(&plan, &partner_sales(&[60_000, 60_000]), day("2026-06-01"));
    assert_eq!(lines[0].amount, usd(6_000));
    // 40,000 at 10% + 20,000 at 20%.
    assert_eq!(lines[1].amount, usd(8_000));
    assert_eq!(lines[1].detail.tier.map(|tier| tier.index), Some(1));
}

#[test]
fn whole_volume_tiers_top_up_the_period_when_a_tier_is_reached() {
    let plan = tiered(
        "customers",
        "whole_volume",
        r#"[{"from":0,"rate_bp":1000},{"from":3,"rate_bp":1500,"name":"gold"}]"#,
    );
    let lines = partner_lines(
        &plan,
        &partner_sales(&[10_000, 10_000, 10_000, 10_000]),
        day("2026-06-01"),
    );
    let amounts: Vec<i64> = lines.iter().map(|line| line.amount.amount_minor).collect();
    // Two at 10%; the third reaches tier 2: 15% of itself plus 5% of the two before.
    assert_eq!(amounts, vec![1_000, 1_000, 2_500, 1_500]);
    assert_eq!(amounts.iter().sum::<i64>(), 6_000);
    // The boundary belongs to the upper tier: exactly 3 customers is tier 2.
    assert_eq!(
        lines[2].detail.tier.map(|tier| (tier.index, tier.volume)),
        Some((1, 3))
    );
}

#[test]
fn tier_periods_start_afresh_each_month() {
    let plan = tiered(
        "conversions",
        "marginal",
        r#"[{"from":0,"amount":{"amount_minor":100,"currency":"USD"}},{"from":2,"amount":{"amount_minor":300,"currency":"USD"}}]"#,
    );
    let mut customers = partner_sales(&[1_000, 1_000]);
    let mut june = History::new("june");
    june.sale(day("2026-06-02"), 1_000, "in_june");
    customers.push(june);
    let amounts: Vec<i64> = partner_lines(&plan, &customers, day("2026-07-01"))
        .iter()
        .map(|line| line.amount.amount_minor)
        .collect();
    assert_eq!(amounts, vec![100, 300, 100]);
}

#[test]
fn caps_per_partner_period_and_the_budget_pay_first_come() {
    let plan = plan(&format!(
        r#"{{"rules":[{}],"budget":{{"period":"month","amount":{{"amount_minor":2500,"currency":"USD"}}}}}}"#,
        percent(
            "pct",
            r#""sale""#,
            1_000,
            r#","caps":{"per_partner_period":{"period":"month","amount":{"amount_minor":3000,"currency":"USD"}}}"#
        )
    ));
    let lines = partner_lines(
        &plan,
        &partner_sales(&[10_000, 10_000, 10_000, 10_000]),
        day("2026-06-01"),
    );
    let amounts: Vec<(i64, Option<Limit>)> = lines
        .iter()
        .map(|line| (line.amount.amount_minor, line.detail.capped_by))
        .collect();
    assert_eq!(
        amounts,
        vec![
            (1_000, None),
            (1_000, None),
            (500, Some(Limit::Budget)),
            (0, Some(Limit::PerPartnerPeriod))
        ]
    );
}

#[test]
fn bonuses_are_judged_after_their_period_with_evidence() {
    let plan = plan(&format!(
        r#"{{"rules":[{}],"bonuses":[
            {{"id":"retained","period":"quarter","when":{{"retained_customers":{{"min":2,"days":90}}}},"reward":{{"type":"flat","amount":{{"amount_minor":10000,"currency":"USD"}}}}}},
            {{"id":"revenue","period":"quarter","when":{{"revenue":{{"min":{{"amount_minor":25000,"currency":"USD"}}}}}},"reward":{{"type":"percent_of_period_revenue","rate_bp":200}}}}]}}"#,
        percent("pct", r#""sale""#, 1_000, "")
    ));
    let mut customers = partner_sales(&[10_000, 10_000, 10_000]);
    customers[2].milestone(day("2026-06-01"), "churned", None);
    let engine = Engine::new(&plan);
    let summaries: Vec<CustomerSummary> = customers
        .iter()
        .map(|c| engine.customer(&facts(&c.events, day("2026-12-01")), &mut Vec::new()))
        .collect();
    // Q2 ends on 1 July; the retention bonus waits 90 more days.
    let early = engine.bonuses(&summaries, day("2026-07-01"));
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].amount, usd(600));
    let late = engine.bonuses(&summaries, day("2026-09-29"));
    assert_eq!(late.len(), 2);
    assert_eq!(late[0].amount, usd(10_000));
    assert_eq!(late[0].customers, vec!["cust-000", "cust-001"]);
    // With only one customer retained, no bonus.
    customers[1].milestone(day("2026-06-01"), "churned", None);
    let summaries: Vec<CustomerSummary> = customers
        .iter()
        .map(|c| engine.customer(&facts(&c.events, day("2026-12-01")), &mut Vec::new()))
        .collect();
    assert_eq!(engine.bonuses(&summaries, day("2026-12-01")).len(), 1);
}

#[test]
fn approval_waits_for_engagement_and_voids_after_the_wait() {
    let gated = plan(
        r#"{"rules":[],"safeguards":{"approve_after":{"milestone":"activated"},"engagement_wait_days":30}}"#,
    );
    let mut history = History::new("c1");
    history.sale(day("2026-01-01"), 10_000, "in_1");
    assert!(matches!(
        approval(
            &gated,
            &history.events,
            day("2026-01-01"),
            day("2026-01-10")
        ),
        Approval::WaitUntil(_)
    ));
    assert!(matches!(
        approval(
            &gated,
            &history.events,
            day("2026-01-01"),
            day("2026-01-31")
        ),
        Approval::Void(_)
    ));
    // Engagement after the deadline does not count, whenever the question is asked.
    history.milestone(day("2026-02-05"), "activated", None);
    assert!(matches!(
        approval(
            &gated,
            &history.events,
            day("2026-01-01"),
            day("2026-02-10")
        ),
        Approval::Void(_)
    ));
    history.milestone(day("2026-01-20"), "activated", None);
    assert_eq!(
        approval(
            &gated,
            &history.events,
            day("2026-01-01"),
            day("2026-01-21")
        ),
        Approval::Ready
    );
    let active = plan(r#"{"rules":[],"safeguards":{"approve_after":{"active_days":30}}}"#);
    assert_eq!(
        approval(
            &active,
            &history.events,
            day("2026-01-01"),
            day("2026-01-10")
        ),
        Approval::WaitUntil(day("2026-01-31"))
    );
    assert_eq!(
        approval(
            &active,
            &history.events,
            day("2026-01-01"),
            day("2026-01-31")
        ),
        Approval::Ready
    );
    history.refund(day("2026-01-15"), 10_000, "in_1");
    assert!(matches!(
        approval(
            &active,
            &history.events,
            day("2026-01-01"),
            day("2026-01-31")
        ),
        Approval::Void(_)
    ));
}

proptest! {
    /// However a period's sales fall, tiered increments add up to the period's exact total
    /// rounded once: rounding never creates or loses a minor unit across the split.
    #[test]
    fn tiered_increments_sum_to_the_period_total(
        amounts in proptest::collection::vec(1i64..1_000_000, 1..40),
        mut rates in proptest::collection::vec(1u32..5_000, 1..4),
        whole in any::<bool>(),
        by_revenue in any::<bool>(),
    ) {
        rates.sort();
        let mut tiers = Vec::new();
        for (n, rate) in rates.iter().enumerate() {
            let from = if by_revenue { n as i64 * 700_000 } else { n as i64 * 3 };
            tiers.push(format!(r#"{{"from":{from},"rate_bp":{rate}}}"#));
        }
        let plan = tiered(
            if by_revenue { "revenue" } else { "customers" },
            if whole { "whole_volume" } else { "marginal" },
            &format!("[{}]", tiers.join(",")),
        );
        let lines = partner_lines(&plan, &partner_sales(&amounts), day("2026-06-01"));
        let paid: i64 = lines.iter().map(|line| line.amount.amount_minor).sum();
        let total: i64 = amounts.iter().sum();
        let tier_of = |volume: i64| {
            (0..rates.len()).rev().find(|&n| {
                let from = if by_revenue { n as i64 * 700_000 } else { n as i64 * 3 };
                from <= volume
            }).unwrap_or(0)
        };
        let exact: i128 = if whole {
            let volume = if by_revenue { total } else { amounts.len() as i64 };
            i128::from(total) * i128::from(rates[tier_of(volume)])
        } else if by_revenue {
            (0..rates.len()).map(|n| {
                let low = n as i64 * 700_000;
                let high = if n + 1 < rates.len() { (n as i64 + 1) * 700_000 } else { i64::MAX };
                i128::from((total.min(high) - low).max(0)) * i128::from(rates[n])
            }).sum()
        } else {
            amounts.iter().enumerate().map(|(n, minor)| {
                i128::from(*minor) * i128::from(rates[tier_of(n as i64 + 1)])
            }).sum()
        };
        prop_assert_eq!(paid, round_half_up(exact, 10_000));
        prop_assert!(lines.iter().all(|line| line.amount.amount_minor >= 0));
    }

    /// Caps and budgets never pay more than their limit and never make a line negative.
    #[test]
    fn limits_hold(
        amounts in proptest::collection::vec(1i64..100_000, 1..30),
        cap in 0i64..200_000,
        budget in 0i64..200_000,
    ) {
        let plan = plan(&format!(
            r#"{{"rules":[{}],"budget":{{"period":"month","amount":{{"amount_minor":{budget},"currency":"USD"}}}}}}"#,
            percent("pct", r#""sale""#, 3_000,
                &format!(r#","caps":{{"per_partner_period":{{"period":"month","amount":{{"amount_minor":{cap},"currency":"USD"}}}}}}"#))
        ));
        let lines = partner_lines(&plan, &partner_sales(&amounts), day("2026-06-01"));
        let paid: i64 = lines.iter().map(|line| line.amount.amount_minor).sum();
        let uncapped: i64 = amounts.iter().map(|minor| BasisPoints::new(3_000).map(|r| r.apply(*minor)).unwrap_or(0)).sum();
        prop_assert_eq!(paid, uncapped.min(cap).min(budget));
        prop_assert!(lines.iter().all(|line| line.amount.amount_minor >= 0));
    }

    /// The order events are given in does not change what is owed.
    #[test]
    fn input_order_does_not_matter(rotation in 0usize..9, reverse in any::<bool>()) {
        let plan = rules(&[
            percent("pct", r#""any_sale""#, 1_234, r#","recurring":{"months":2}"#),
            flat("first", r#""first_sale""#, 999),
            flat("retained", r#"{"retained":{"days":30}}"#, 777),
        ]);
        let mut history = History::new("c1");
        history
            .lead(day("2026-01-01"))
            .sale(day("2026-01-02"), 10_001, "in_1")
            .renewal(day("2026-02-02"), 10_001, "in_2")
            .renewal(day("2026-03-02"), 10_001, "in_3")
            .refund(day("2026-03-03"), 5_000, "in_2")
            .milestone(day("2026-03-04"), "activated", None)
            .renewal(day("2026-04-02"), 10_001, "in_4")
            .sale(day("2026-04-03"), 500, "in_5")
            .refund(day("2026-04-04"), 500, "in_5");
        let mut sorted = owed(&plan, &history.events, day("2026-06-01"));
        let mut shuffled = history.events.clone();
        shuffled.rotate_left(rotation);
        if reverse {
            shuffled.reverse();
        }
        let mut other = owed(&plan, &shuffled, day("2026-06-01"));
        sorted.sort();
        other.sort();
        prop_assert_eq!(sorted, other);
    }
}

#[test]
fn a_rule_built_in_code_matches_its_json() {
    let rule = Rule::new("lead", Trigger::Lead, Reward::Flat { amount: usd(100) });
    let json = serde_json::to_string(&rule).expect("serializes");
    assert_eq!(
        json,
        r#"{"id":"lead","trigger":"lead","reward":{"type":"flat","amount":{"amount_minor":100,"currency":"USD"}}}"#
    );
}

#[test]
fn events_inside_a_pause_earn_nothing_and_still_count_as_history() {
    let plan = rules(&[
        percent("sales", r#""any_sale""#, 1_000, ""),
        flat("first", r#""first_sale""#, 700),
    ]);
    let mut history = History::new("c");
    history
        .sale(day("2026-01-10"), 10_000, "in_1")
        .renewal(day("2026-02-10"), 10_000, "in_2")
        .renewal(day("2026-03-10"), 10_000, "in_3");
    let pauses = [Pause {
        from: day("2026-02-01"),
        until: Some(day("2026-03-01")),
    }];
    let engine = Engine::new(&plan);
    let mut lines = Vec::new();
    engine.customer(
        &CustomerFacts {
            paused: &pauses,
            ..facts(&history.events, day("2026-04-01"))
        },
        &mut lines,
    );
    let paid: Vec<(String, i64, Timestamp)> = lines
        .iter()
        .map(|line| {
            (
                plan.rules[line.rule as usize].id.clone(),
                line.amount.amount_minor,
                line.at,
            )
        })
        .collect();
    // January's sale earns both rules; February's renewal, inside the pause, nothing;
    // March's renewal earns again, and is still not a first sale.
    assert_eq!(
        paid,
        vec![
            ("sales".to_string(), 1_000, day("2026-01-10")),
            ("first".to_string(), 700, day("2026-01-10")),
            ("sales".to_string(), 1_000, day("2026-03-10")),
        ]
    );
    let open = [Pause {
        from: day("2026-02-01"),
        until: None,
    }];
    assert!(Pause::any(&open, day("2030-01-01")));
    assert!(!Pause::any(&open, day("2026-01-31")));
}
