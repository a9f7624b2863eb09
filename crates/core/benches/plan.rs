//! Throughput of the plan engine over stored events, as replay runs it: the example plan's
//! rules (conditions, recurring, caps, tiers, milestones, retention; its click rule is paid
//! per day, not per event), customers of 12
//! events each (a lead, a sale, nine renewals, a refund, milestones), all three levels.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;
use tributary_core::commission::StoredEvent;
use tributary_core::engine::{CustomerFacts, Engine, PartnerFacts};
use tributary_core::event::{EventFacts, EventKind};
use tributary_core::plan::Plan;
use tributary_core::time::MILLIS_PER_DAY;
use tributary_core::{Currency, EventId, Money, Timestamp};
use uuid::Uuid;

fn customer(n: u64) -> Vec<StoredEvent> {
    let start = 1_767_225_600_000 + (n as i64 % 28) * MILLIS_PER_DAY;
    let products = ["pro", "solo", "team", "pro"];
    let countries = ["DE", "US", "GB", "FR"];
    let mut metadata = BTreeMap::new();
    metadata.insert("product".to_string(), products[n as usize % 4].to_string());
    metadata.insert(
        "country".to_string(),
        countries[(n / 4) as usize % 4].to_string(),
    );
    let mut events = Vec::with_capacity(12);
    let mut push = |k: u64,
                    kind: EventKind,
                    day: i64,
                    amount: Option<i64>,
                    milestone: Option<&str>,
                    invoice: Option<String>| {
        events.push(StoredEvent {
            id: EventId::from_uuid(Uuid::from_u64_pair(n, k)),
            facts: EventFacts {
                kind,
                customer_external_id: format!("cus_{n}"),
                click_id: None,
                amount: amount.map(|minor| Money::new(minor, Currency::USD)),
                occurred_at: Timestamp::from_millis(start + day * MILLIS_PER_DAY),
                invoice_id: invoice,
                milestone: milestone.map(str::to_string),
            },
            metadata: std::sync::Arc::new(metadata.clone()),
        });
    };
    push(0, EventKind::Lead, 0, None, None, None);
    push(
        1,
        EventKind::Sale,
        1,
        Some(4_900),
        None,
        Some(format!("in_{n}_0")),
    );
    push(2, EventKind::Milestone, 3, None, Some("activated"), None);
    for month in 1..10u64 {
        push(
            2 + month,
            EventKind::Renewal,
            1 + 30 * month as i64,
            Some(4_900),
            None,
            Some(format!("in_{n}_{month}")),
        );
    }
    push(
        12,
        EventKind::Refund,
        95,
        Some(4_900),
        None,
        Some(format!("in_{n}_3")),
    );
    events
}

fn plan_engine(c: &mut Criterion) {
    let plan: Plan =
        serde_json::from_str(tributary_core::plan::EXAMPLE_JSON).expect("the example plan reads");
    plan.validate().expect("the bench plan is valid");
    assert_eq!(plan.rules.len(), 11);
    let customers: Vec<Vec<StoredEvent>> = (0..1_000).map(customer).collect();
    let events: usize = customers.iter().map(Vec::len).sum();
    let as_of = Timestamp::from_millis(1_800_000_000_000);
    let engine = Engine::new(&plan);
    let mut group = c.benchmark_group("plan");
    group.throughput(Throughput::Elements(events as u64));
    group.bench_function("example plan, 1,000 customers, all levels", |b| {
        let mut lines = Vec::with_capacity(events * 2);
        b.iter(|| {
            lines.clear();
            for events in &customers {
                black_box(engine.customer(
                    &CustomerFacts {
                        events: black_box(events),
                        touched_at: None,
                        earn_until: None,
                        share_bp: 10_000,
                        partner: PartnerFacts::default(),
                        as_of,
                        paused: &[],
                    },
                    &mut lines,
                ));
            }
            engine.settle_periods(&mut lines);
            engine.apply_budget(&mut lines);
            lines
                .iter()
                .map(|line| line.amount.amount_minor)
                .sum::<i64>()
        })
    });
    group.finish();
}

criterion_group!(benches, plan_engine);
criterion_main!(benches);
