//! `tributary generate`: a large synthetic history for replay and benchmarks. One workspace,
//! one program under the example plan (`tributary_core::plan::EXAMPLE_JSON`), partners of
//! every archetype, and customers bound to them with about ten events each over the last
//! year: a lead, a first sale, monthly renewals, an activation, some expansions, refunds,
//! chargebacks and churn; and a link per partner with a few human and bot clicks every day
//! (for the example plan's pay per click). Events and clicks are written straight into the
//! store in large batches (no ingestion, no commissions): replay derives what they owe.

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use tributary_app::admin::{self, NewLink, NewPartner, NewProgram};
use tributary_app::clock::ManualClock;
use tributary_app::{App, new_uuid};
use tributary_core::attribution::Binding;
use tributary_core::commission::StoredEvent;
use tributary_core::event::{EventFacts, EventKind};
use tributary_core::time::MILLIS_PER_DAY;
use tributary_core::*;
use tributary_store::{Click, Customer, EventRecord, Link, Store};

pub use tributary_core::lifecycle::ARCHETYPES;
const EVENTS_PER_TRANSACTION: usize = 50_000;
const PRODUCTS: [&str; 3] = ["pro", "solo", "team"];
const COUNTRIES: [&str; 5] = ["US", "DE", "FR", "GB", "BR"];

pub struct Generated {
    pub program_id: ProgramId,
    pub events: u64,
    pub customers: u64,
    pub admin_password: String,
}

/// Writes about `events` events ending at `now`, from `seed`.
pub async fn generate(
    store: Arc<dyn Store>,
    events: u64,
    partners: u32,
    seed: u64,
    now: Timestamp,
) -> Result<Generated> {
    store.migrate().await?;
    if store.read().await?.first_workspace().await?.is_some() {
        anyhow::bail!("generate writes a new workspace into an empty database");
    }
    let start = now.minus_days(365);
    let clock = Arc::new(ManualClock::new(start));
    let app = App::start(store.clone(), clock).await?;
    let admin_password = format!("generated-{seed}");
    let (workspace, _) = admin::create_workspace(
        &app,
        "Generated",
        "admin@generated.example",
        &admin_password,
    )
    .await?;
    let ws = workspace.id;
    let program = admin::create_program(
        &app,
        ws,
        NewProgram {
            name: "Generated Partners".into(),
            destination_url: "https://generated.example/".into(),
            currency: Some("USD".into()),
            window_days: Some(30),
            hold_days: Some(14),
            min_payout_minor: Some(5_000),
            lead_flat_minor: None,
            sale_percent_bp: None,
            plan: Some(tributary_core::plan::example()),
            attribution: None,
        },
    )
    .await?;
    let mut partner_ids = Vec::new();
    let mut links = Vec::new();
    for n in 0..partners {
        let partner = admin::create_partner(
            &app,
            ws,
            NewPartner {
                name: format!("Partner {n:05}"),
                email: format!("partner{n:05}@generated.example"),
                archetype: Some(ARCHETYPES[n as usize % ARCHETYPES.len()].into()),
                payout_email: None,
                password: None,
            },
        )
        .await?;
        admin::enroll(&app, ws, program.id, partner.id).await?;
        partner_ids.push(partner.id);
        links.push(
            admin::create_link(
                &app,
                ws,
                NewLink {
                    program_id: program.id,
                    partner_id: partner.id,
                    code: Some(format!("gen-{n:05}")),
                    destination_url: None,
                },
            )
            .await?,
        );
    }

    let mut rng = StdRng::seed_from_u64(seed);
    let mut written = 0u64;
    let mut customers = 0u64;
    let mut tx = store.write().await?;
    let mut in_tx = 0usize;
    while written < events {
        customers += 1;
        let partner_id = partner_ids[rng.gen_range(0..partner_ids.len())];
        let external_id = format!("gen_{customers:08}");
        let touched = start.plus_millis(rng.gen_range(0..330 * MILLIS_PER_DAY));
        let customer = Customer {
            id: CustomerId(new_uuid()),
            workspace_id: ws,
            external_id: external_id.clone(),
            binding: None,
            created_at: touched,
        };
        tx.insert_customer(&customer).await?;
        tx.bind_customer(
            customer.id,
            &Binding {
                partner_id,
                program_id: program.id,
                link_id: None,
                click_id: None,
                touched_at: Some(touched),
                bound_at: touched,
            },
        )
        .await?;
        let metadata = format!(
            r#"{{"metadata":{{"product":"{}","country":"{}"}}}}"#,
            PRODUCTS[rng.gen_range(0..PRODUCTS.len())],
            COUNTRIES[rng.gen_range(0..COUNTRIES.len())]
        );
        let history = history(&mut rng, &external_id, touched, now);
        for event in history {
            let record = EventRecord {
                id: event.id,
                workspace_id: ws,
                idempotency_key: format!("gen-{}", event.id),
                request_hash: String::new(),
                customer_id: customer.id,
                facts: event.facts,
                metadata_json: Some(metadata.clone()),
                partner_id: Some(partner_id),
                link_id: None,
                response_json: "{}".into(),
                received_at: now,
            };
            tx.insert_event(&record).await?;
            written += 1;
            in_tx += 1;
        }
        if in_tx >= EVENTS_PER_TRANSACTION {
            tx.commit().await?;
            tx = store.write().await?;
            in_tx = 0;
        }
    }
    tx.commit().await.context("the last batch")?;
    let clicks = write_clicks(store.as_ref(), &mut rng, &links, start).await?;
    tracing::info!(clicks, "generated clicks");
    Ok(Generated {
        program_id: program.id,
        events: written,
        customers,
        admin_password,
    })
}

/// Up to five human clicks and two bot clicks a day on every link, for the year from
/// `start`; returns how many were written.
async fn write_clicks(
    store: &dyn Store,
    rng: &mut StdRng,
    links: &[Link],
    start: Timestamp,
) -> Result<u64> {
    let mut batch: Vec<Click> = Vec::with_capacity(EVENTS_PER_TRANSACTION);
    let mut written = 0u64;
    for day in 0..365 {
        for link in links {
            let humans = rng.gen_range(0..=5);
            let bots = rng.gen_range(0..=2);
            for n in 0..humans + bots {
                written += 1;
                batch.push(Click {
                    id: format!("gen-click-{written}"),
                    workspace_id: link.workspace_id,
                    link_id: link.id,
                    partner_id: link.partner_id,
                    at: start.plus_millis(day * MILLIS_PER_DAY + rng.gen_range(0..MILLIS_PER_DAY)),
                    ip_hash: String::new(),
                    user_agent: if n < humans {
                        "Mozilla/5.0"
                    } else {
                        "Googlebot/2.1"
                    }
                    .into(),
                    referrer: None,
                    is_bot: n >= humans,
                    subs: Default::default(),
                });
            }
        }
        if batch.len() >= EVENTS_PER_TRANSACTION {
            store.append_clicks(&batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.append_clicks(&batch).await?;
    }
    Ok(written)
}

/// One customer's life from `touched` until `now`.
fn history(
    rng: &mut StdRng,
    customer: &str,
    touched: Timestamp,
    now: Timestamp,
) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    let mut push = |kind: EventKind,
                    at: Timestamp,
                    amount: Option<i64>,
                    invoice: Option<String>,
                    milestone: Option<&str>| {
        if at < now {
            out.push(StoredEvent {
                id: EventId(new_uuid()),
                facts: EventFacts {
                    kind,
                    customer_external_id: customer.to_string(),
                    click_id: None,
                    amount: amount.map(|minor| Money::new(minor, Currency::USD)),
                    occurred_at: at,
                    invoice_id: invoice,
                    milestone: milestone.map(str::to_string),
                },
                metadata: Default::default(),
            });
        }
    };
    let day = |n: i64| MILLIS_PER_DAY * n;
    push(EventKind::Lead, touched, None, None, None);
    let price = [2_900i64, 4_900, 9_900, 19_900][rng.gen_range(0..4)];
    let first = touched.plus_millis(rng.gen_range(0..day(5)));
    push(
        EventKind::Sale,
        first,
        Some(price),
        Some(format!("{customer}-0")),
        None,
    );
    if rng.gen_ratio(2, 3) {
        push(
            EventKind::Milestone,
            first.plus_millis(day(3)),
            None,
            None,
            Some("activated"),
        );
    }
    let months = rng.gen_range(3..12);
    for month in 1..=months {
        let at = first.plus_millis(day(30 * month));
        let invoice = format!("{customer}-{month}");
        push(
            EventKind::Renewal,
            at,
            Some(price),
            Some(invoice.clone()),
            None,
        );
        match rng.gen_range(0..100) {
            0..=2 => push(
                EventKind::Refund,
                at.plus_millis(day(2)),
                Some(price / 2),
                Some(invoice),
                None,
            ),
            3 => push(
                EventKind::Chargeback,
                at.plus_millis(day(10)),
                Some(price),
                Some(invoice),
                None,
            ),
            4..=6 => push(
                EventKind::Milestone,
                at.plus_millis(day(1)),
                Some(price / 2),
                None,
                Some("expanded"),
            ),
            _ => {}
        }
    }
    if rng.gen_ratio(1, 4) {
        push(
            EventKind::Milestone,
            first.plus_millis(day(30 * months + 15)),
            None,
            None,
            Some("churned"),
        );
    }
    out
}
