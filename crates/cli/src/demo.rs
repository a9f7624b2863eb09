//! The demo: ninety days of a partner program, generated through the same application
//! services a real install uses (the redirect's click path, event ingestion, the approval
//! job, payouts), driven by a manual clock that walks from 90 days ago to now.

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::sync::Arc;
use tributary_app::admin::{self, NewLink, NewPartner, NewProgram};
use tributary_app::clicks::{self, Visit};
use tributary_app::clock::ManualClock;
use tributary_app::{App, auth, ingest, jobs, payouts};
use tributary_core::Timestamp;
use tributary_store::Store;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "tributary-demo";
pub const PARTNER_PASSWORD: &str = "partner-demo";
const DAYS: u32 = 90;
const SEED: u64 = 20_261_125;

const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
const CRAWLER: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

const PARTNERS: [(&str, &str); 20] = [
    ("Northwind Resellers", "reseller"),
    ("Blue Harbor IT", "reseller"),
    ("Summit Solutions", "reseller"),
    ("Keystone Systems", "reseller"),
    ("Maya Codes", "influencer"),
    ("The Data Diaries", "influencer"),
    ("Growth Hacks Weekly", "influencer"),
    ("Dev with Dan", "influencer"),
    ("Priya Raman Consulting", "consultant"),
    ("Lattice Advisory", "consultant"),
    ("Foster & Finch", "consultant"),
    ("Clearpath Analytics", "consultant"),
    ("Zapflow", "platform_integration"),
    ("Shopline Apps", "platform_integration"),
    ("StackBridge", "platform_integration"),
    ("Happy Customer Co", "customer_advocate"),
    ("Riverbend Bakery", "customer_advocate"),
    ("Orbit Fitness", "customer_advocate"),
    ("Juniper Labs", "other"),
    ("Atlas Media", "other"),
];

pub struct Logins {
    pub admin_email: String,
    pub partner_email: String,
    pub api_key: String,
    pub link_code: String,
}

/// Removes an old demo database so every run starts from the same state.
pub fn reset_file(url: &str) -> Result<()> {
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(());
    };
    let path = path.split('?').next().unwrap_or(path);
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        if std::path::Path::new(&file).exists() {
            std::fs::remove_file(&file)
                .with_context(|| format!("removing old demo file {file}"))?;
        }
    }
    Ok(())
}

/// A demo never writes into a database that holds anything (SQLite files are recreated
/// above; a PostgreSQL database must be new).
pub async fn require_empty(store: &dyn Store, shown_url: &str) -> Result<()> {
    store.migrate().await?;
    if store.read().await?.first_workspace().await?.is_some() {
        anyhow::bail!(
            "{shown_url} already holds a workspace; the demo needs an empty database (createdb a new one)"
        );
    }
    Ok(())
}

struct Customer {
    id: String,
    invoice: u32,
    plan_minor: i64,
    next_renewal_day: u32,
    churned: bool,
}

/// Builds the demo workspace ending at `now`.
pub async fn build(store: Arc<dyn Store>, now: Timestamp) -> Result<Logins> {
    let clock = Arc::new(ManualClock::new(now.minus_days(DAYS)));
    let app = App::start(store, clock.clone()).await?;
    let mut rng = StdRng::seed_from_u64(SEED);

    let (workspace, _) =
        admin::create_workspace(&app, "Acme Analytics", ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let ws = workspace.id;
    let program = admin::create_program(
        &app,
        ws,
        NewProgram {
            name: "Acme Partners".into(),
            destination_url: "https://acme.example/signup".into(),
            currency: Some("USD".into()),
            window_days: Some(30),
            hold_days: Some(14),
            min_payout_minor: Some(5_000),
            lead_flat_minor: Some(500),
            sale_percent_bp: Some(2_000),
            plan: None,
        },
    )
    .await?;

    let mut links = Vec::new();
    for (index, (name, archetype)) in PARTNERS.iter().enumerate() {
        let email = format!("partner{:02}@example.com", index + 1);
        let partner = admin::create_partner(
            &app,
            ws,
            NewPartner {
                name: (*name).into(),
                email: email.clone(),
                archetype: Some((*archetype).into()),
                payout_email: Some(format!("payouts+{:02}@example.com", index + 1)),
                // Hashing is the slow part of setup; three demo logins are enough.
                password: (index < 3).then(|| PARTNER_PASSWORD.into()),
            },
        )
        .await?;
        admin::enroll(&app, ws, program.id, partner.id).await?;
        // Reach differs by archetype: influencers send lots of traffic, consultants little.
        let reach = match *archetype {
            "influencer" => 40,
            "platform_integration" => 25,
            "reseller" => 12,
            "consultant" => 6,
            _ => 8,
        };
        let quality = match *archetype {
            "consultant" => 8,
            "reseller" => 6,
            "influencer" => 2,
            _ => 4,
        };
        for variant in 0..if index % 3 == 0 { 2 } else { 1 } {
            let link = admin::create_link(
                &app,
                ws,
                NewLink {
                    program_id: program.id,
                    partner_id: partner.id,
                    code: Some(format!("{}-{}", slug(name), variant + 1)),
                    destination_url: None,
                },
            )
            .await?;
            links.push((link, reach, quality));
        }
    }

    let mut customers: Vec<Customer> = Vec::new();
    let mut sequence = 0u64;
    let mut paid_batch_done = false;
    let mut open_batch_done = false;
    for day in 0..DAYS {
        for (link, reach, quality) in &links {
            let clicks_today = rng.gen_range(0..=*reach);
            for _ in 0..clicks_today {
                clock.advance_millis(rng.gen_range(1_000..60_000));
                let bot = rng.gen_ratio(1, 12);
                let redirect = clicks::click(
                    &app,
                    link,
                    Visit {
                        ip: &format!("198.51.100.{}", rng.gen_range(1..255)),
                        user_agent: if bot { CRAWLER } else { BROWSER },
                        referrer: Some("https://news.example/"),
                    },
                );
                // Some visitors sign up; the share depends on the partner's audience.
                if bot || !rng.gen_ratio(*quality, 100) {
                    continue;
                }
                sequence += 1;
                let customer_id = format!("cus_{sequence:05}");
                post(&app, ws, &format!("lead-{sequence}"), json!({"type": "lead", "customer_id": customer_id, "click_id": redirect.click_id})).await?;
                if rng.gen_ratio(2, 5) {
                    let plan_minor = [2_900i64, 4_900, 9_900, 19_900][rng.gen_range(0..4)];
                    customers.push(Customer {
                        id: customer_id,
                        invoice: 0,
                        plan_minor,
                        next_renewal_day: day + rng.gen_range(0..5),
                        churned: false,
                    });
                }
            }
        }
        // Billing: first sales and monthly renewals; a few refunds and churns.
        for customer in customers
            .iter_mut()
            .filter(|c| !c.churned && c.next_renewal_day == day)
        {
            customer.invoice += 1;
            let invoice_id = format!("in_{}_{}", customer.id, customer.invoice);
            let kind = if customer.invoice == 1 {
                "sale"
            } else {
                "renewal"
            };
            post(&app, ws, &format!("{invoice_id}-paid"), json!({"type": kind, "customer_id": customer.id, "amount_minor": customer.plan_minor, "currency": "USD", "invoice_id": invoice_id})).await?;
            if rng.gen_ratio(1, 15) {
                let amount = if rng.gen_bool(0.5) {
                    customer.plan_minor
                } else {
                    customer.plan_minor / 2
                };
                post(&app, ws, &format!("{invoice_id}-refund"), json!({"type": "refund", "customer_id": customer.id, "amount_minor": amount, "currency": "USD", "invoice_id": invoice_id})).await?;
            }
            if rng.gen_ratio(1, 10) {
                customer.churned = true;
            }
            customer.next_renewal_day = day + 30;
        }
        clock.set(Timestamp::from_millis(
            now.minus_days(DAYS - day - 1).millis(),
        ));
        jobs::run_due(&app).await?;
        if day == 50 && !paid_batch_done {
            if let Some(batch) = payouts::create_batch(&app, ws, program.id).await? {
                payouts::mark_paid(&app, ws, batch.id, "PAYPAL-DEMO-0001").await?;
            }
            paid_batch_done = true;
        }
        if day == 80 && !open_batch_done {
            payouts::create_batch(&app, ws, program.id).await?;
            open_batch_done = true;
        }
    }
    app.clicks.flush().await;

    let (api_key, _) = auth::create_api_key(&app, ws, None, "demo").await?;
    Ok(Logins {
        admin_email: ADMIN_EMAIL.into(),
        partner_email: "partner01@example.com".into(),
        api_key,
        link_code: links
            .first()
            .map(|(link, _, _)| link.code.clone())
            .unwrap_or_default(),
    })
}

async fn post(
    app: &App,
    workspace_id: tributary_core::WorkspaceId,
    key: &str,
    body: serde_json::Value,
) -> Result<()> {
    let request = ingest::parse_event(&body, app.now())?;
    ingest::ingest(app, workspace_id, key, request).await?;
    Ok(())
}

fn slug(name: &str) -> String {
    name.to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join("-")
}
