//! Stripe deliveries in any order end in the same ledger (issue 5): one customer's life in
//! Stripe events (checkout with the partner's click, first invoice, a renewal, an upgrade, two
//! partial refunds of the first invoice reported cumulatively, the cancellation) delivered in
//! 1,000 random orders, each order to its own copy of the customer (ids suffixed), on SQLite.
//! Every copy must end with the same net commission per (source, rule) as the copy delivered
//! in Stripe's order. `TRIBUTARY_ORDERINGS` sets the count.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::collections::BTreeMap;
use std::sync::Arc;
use tributary_app::admin::{self, NewLink, NewPartner, NewProgram};
use tributary_app::clicks::{self, Visit};
use tributary_app::clock::ManualClock;
use tributary_app::{App, billing};
use tributary_core::billing::stripe::sign;
use tributary_core::commission::Source;
use tributary_core::*;
use tributary_store::testing::{Backend, TestDatabase};
use tributary_store::{CommissionFilter, Page};

const SECRET: &str = "whsec_orderings_test_secret";
/// 2026-01-01T00:00:00Z: the click; the events happen from 10:00 that day on.
const START: i64 = 1_767_225_600_000;

const FIXTURES: [&str; 5] = [
    include_str!("../../core/src/billing/stripe/fixtures/checkout_subscription.json"),
    include_str!("../../core/src/billing/stripe/fixtures/invoice_paid_first.json"),
    include_str!("../../core/src/billing/stripe/fixtures/invoice_paid_cycle.json"),
    include_str!("../../core/src/billing/stripe/fixtures/subscription_updated.json"),
    include_str!("../../core/src/billing/stripe/fixtures/subscription_deleted.json"),
];
const REFUND: &str = include_str!("../../core/src/billing/stripe/fixtures/charge_refunded.json");

/// The customer's events for copy `n`, in Stripe's order, with every id made unique to it.
fn events_of(n: usize, click_id: &str) -> Vec<Vec<u8>> {
    let mut texts: Vec<String> = FIXTURES.iter().map(|text| text.to_string()).collect();
    // Two partial refunds of the first invoice: Stripe reports the running total.
    let half: serde_json::Value = serde_json::from_str(REFUND).expect("refund JSON");
    let mut first = half.clone();
    first["id"] = "evt_1QchargeRefund0007a".into();
    first["data"]["object"]["amount_refunded"] = 2_975.into();
    let mut second = half;
    second["created"] = 1_767_990_000.into();
    texts.insert(2, first.to_string());
    texts.insert(3, second.to_string());
    texts
        .into_iter()
        .map(|text| {
            let mut event: serde_json::Value = serde_json::from_str(
                &text
                    .replace("cus_Alpha", &format!("cus_Alpha{n}"))
                    .replace("_First", &format!("_First{n}"))
                    .replace("_Second", &format!("_Second{n}"))
                    .replace("sub_Alpha", &format!("sub_Alpha{n}"))
                    .replace("evt_1Q", &format!("evt_{n}_1Q")),
            )
            .expect("event JSON");
            if event["type"] == "checkout.session.completed" {
                event["data"]["object"]["client_reference_id"] = click_id.into();
            }
            serde_json::to_vec(&event).expect("JSON")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_orderings_of_the_same_stripe_events_end_in_the_same_ledger() {
    let orderings: usize = std::env::var("TRIBUTARY_ORDERINGS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1_000);
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .expect("a test database");
    let store = db.open().await.expect("open");
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START)));
    let app = App::start(store, clock.clone()).await.expect("app");
    let (workspace, _) = admin::create_workspace(&app, "W", "o@w.example", "owner-password")
        .await
        .expect("workspace");
    let ws = workspace.id;
    let program = admin::create_program(
        &app,
        ws,
        NewProgram {
            name: "SaaS".into(),
            destination_url: "https://saas.example/".into(),
            currency: Some("EUR".into()),
            window_days: Some(30),
            hold_days: Some(30),
            min_payout_minor: Some(1_000),
            lead_flat_minor: None,
            sale_percent_bp: Some(2_000),
            plan: None,
            attribution: None,
        },
    )
    .await
    .expect("program");
    let partner = admin::create_partner(
        &app,
        ws,
        NewPartner {
            name: "Ada".into(),
            email: "ada@partners.example".into(),
            archetype: None,
            payout_email: None,
            password: None,
        },
    )
    .await
    .expect("partner");
    admin::enroll(&app, ws, program.id, partner.id)
        .await
        .expect("enroll");
    let link = admin::create_link(
        &app,
        ws,
        NewLink {
            program_id: program.id,
            partner_id: partner.id,
            code: Some("ada".into()),
            destination_url: None,
        },
    )
    .await
    .expect("link");
    billing::set_secret(&app, ws, billing::Provider::Stripe, SECRET)
        .await
        .expect("secret");
    let clicks: Vec<String> = (0..=orderings)
        .map(|_| {
            clicks::click(
                &app,
                &link,
                Visit {
                    ip: "192.0.2.9",
                    user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
                    referrer: None,
                },
            )
            .click_id
        })
        .collect();
    app.clicks.flush().await;
    // Delivered on February 20, after all of it happened.
    clock.set(Timestamp::from_millis(START + 50 * 86_400_000));
    let signed_at = app.now().millis() / 1_000;

    let mut rng = StdRng::seed_from_u64(5);
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for (n, click_id) in clicks.iter().enumerate() {
        let mut events = events_of(n, click_id);
        // Copy 0 in Stripe's order, the others shuffled.
        if n > 0 {
            events.shuffle(&mut rng);
        }
        for body in events {
            let header = sign(SECRET, signed_at, &body);
            let received =
                billing::receive(&app, ws, billing::Provider::Stripe, Some(&header), &body)
                    .await
                    .expect("delivered");
            *statuses.entry(received.status).or_default() += 1;
        }
    }
    // The orderings exercised parking and the refund totals.
    assert!(
        statuses.get("parked").copied().unwrap_or(0) > 0,
        "{statuses:?}"
    );
    assert!(
        statuses.get("ignored").copied().unwrap_or(0) > 0,
        "{statuses:?}"
    );

    // Net per copy, per (source, rule), with the copy's suffix taken off.
    let mut tx = app.store.read().await.expect("read");
    let mut events_by_id: BTreeMap<EventId, (usize, String, String)> = BTreeMap::new();
    let mut offset = 0;
    loop {
        let page = tx
            .events(ws, Page::new(Some(Page::MAX_LIMIT), Some(offset)))
            .await
            .expect("events");
        for event in &page {
            let customer = &event.facts.customer_external_id;
            let copy: usize = customer
                .trim_start_matches("cus_Alpha")
                .parse()
                .expect("a copy number");
            let invoice = event
                .facts
                .invoice_id
                .clone()
                .unwrap_or_default()
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .to_string();
            events_by_id.insert(event.id, (copy, event.facts.kind.as_str().into(), invoice));
        }
        if page.len() < Page::MAX_LIMIT as usize {
            break;
        }
        offset += Page::MAX_LIMIT;
    }
    let mut nets: Vec<BTreeMap<(String, String, String), i64>> =
        vec![BTreeMap::new(); orderings + 1];
    let mut offset = 0;
    loop {
        let page = tx
            .commissions(
                ws,
                &CommissionFilter::default(),
                Page::new(Some(Page::MAX_LIMIT), Some(offset)),
            )
            .await
            .expect("commissions");
        for commission in &page {
            let Source::Event(event) = commission.source else {
                panic!("a keyed commission under a plan without clicks or bonuses");
            };
            let (copy, kind, invoice) = events_by_id[&event].clone();
            *nets[copy]
                .entry((kind, invoice, commission.rule_id.clone()))
                .or_default() += commission.amount.amount_minor;
        }
        if page.len() < Page::MAX_LIMIT as usize {
            break;
        }
        offset += Page::MAX_LIMIT;
    }
    let baseline = nets[0].clone();
    // 20 % of the first invoice's 100.00 less the 50.00 refunded, and of the 100.00 renewal.
    assert_eq!(
        baseline.values().sum::<i64>(),
        1_000 + 2_000,
        "{baseline:?}"
    );
    for (copy, net) in nets.iter().enumerate() {
        let mut net = net.clone();
        net.retain(|_, amount| *amount != 0);
        let mut expected = baseline.clone();
        expected.retain(|_, amount| *amount != 0);
        assert_eq!(net, expected, "ordering {copy} ended differently");
    }
}
