//! Throughput of the pure engine: attribution + commission derivation + ledger postings for
//! one event of a customer, as ingestion runs it.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tributary_core::attribution::{Binding, Touch, attribute, bound_credits};
use tributary_core::commission::{StoredEvent, deltas, owed_for_customer};
use tributary_core::event::{EventFacts, EventKind};
use tributary_core::ledger::Transaction;
use tributary_core::multitouch::Settings;
use tributary_core::plan::Plan;
use tributary_core::{
    BasisPoints, Currency, EventId, LinkId, Money, PartnerId, PlanVersionId, ProgramId, Timestamp,
};
use uuid::Uuid;

fn engine(c: &mut Criterion) {
    let plan = Plan::simple(
        Some(Money::new(500, Currency::USD)),
        BasisPoints::new(2_000).ok(),
    );
    let settings = Settings::default().with_window(30);
    let touches = vec![Touch {
        id: "click".into(),
        channel: tributary_core::multitouch::Channel::Link,
        link_id: Some(LinkId::from_uuid(Uuid::from_u128(1))),
        partner_id: PartnerId::from_uuid(Uuid::from_u128(2)),
        program_id: ProgramId::from_uuid(Uuid::from_u128(3)),
        at: Timestamp::from_millis(1_000),
        is_bot: false,
        detail: None,
    }];
    let events: Vec<StoredEvent> = (0..3u128)
        .map(|n| StoredEvent {
            id: EventId::from_uuid(Uuid::from_u128(100 + n)),
            facts: EventFacts {
                kind: if n == 0 {
                    EventKind::Lead
                } else {
                    EventKind::Sale
                },
                customer_external_id: "cus_1".into(),
                click_id: None,
                amount: (n > 0).then(|| Money::new(4_999 * n as i64, Currency::USD)),
                occurred_at: Timestamp::from_millis(2_000 + n as i64),
                invoice_id: Some(format!("in_{n}")),
                milestone: None,
            },
            metadata: Default::default(),
        })
        .collect();
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("attribute+derive+post one event", |b| {
        b.iter(|| {
            let shares = attribute(
                &settings,
                black_box(&touches),
                Timestamp::from_millis(5_000),
            )
            .expect("credited");
            let binding = Binding::of_shares(
                touches[0].program_id,
                &shares,
                Timestamp::from_millis(5_000),
            )
            .expect("bound");
            let credit = bound_credits(&binding, &[], "last_touch", 30).remove(0);
            let owed = owed_for_customer(
                &plan,
                PlanVersionId::from_uuid(Uuid::from_u128(9)),
                &credit,
                black_box(&events),
                Default::default(),
                Timestamp::from_millis(10_000),
            );
            let postings = deltas(owed, &[]);
            for delta in &postings {
                if let tributary_core::commission::Posting::Earn { amount } = delta.posting {
                    black_box(Transaction::earned(credit.partner_id, amount).ok());
                }
            }
            postings.len()
        })
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
