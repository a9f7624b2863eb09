//! The demo: ninety days of a partner program under the example commission plan
//! (`tributary_core::plan::EXAMPLE_JSON`: tiers, recurring rules, milestones, retention, a
//! quarterly bonus), generated through the same application services a real install uses
//! (the redirect's click path, event ingestion, the outbox jobs, payouts), driven by a manual
//! clock that walks from 90 days ago to now.

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::sync::Arc;
use tributary_app::admin::{self, NewLink, NewPartner, NewProgram};
use tributary_app::attribution::{self, NewCoupon, NewDeal};
use tributary_app::clicks::{self, Visit};
use tributary_app::clock::ManualClock;
use tributary_app::plans::{self, SegmentInput};
use tributary_app::{App, auth, ingest, jobs, payouts};
use tributary_core::{Timestamp, WorkspaceId};
use tributary_store::{Link, Store};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "tributary-demo";
pub const PARTNER_PASSWORD: &str = "partner-demo";
const DAYS: u32 = 90;
const SEED: u64 = 20_261_125;

const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
const CRAWLER: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// Name, archetype (also the partner's group) and tier. The tier is what partners see with
/// its perks; momentum follows it, so the platinum and gold partners also bring enough new
/// customers a month to reach the plan's `volume` tiers of those names.
const PARTNERS: [(&str, &str, &str); 20] = [
    ("Northwind Resellers", "reseller", "platinum"),
    ("Blue Harbor IT", "reseller", "gold"),
    ("Summit Solutions", "reseller", "gold"),
    ("Keystone Systems", "reseller", "gold"),
    ("Maya Codes", "influencer", "silver"),
    ("The Data Diaries", "influencer", "silver"),
    ("Growth Hacks Weekly", "influencer", "silver"),
    ("Dev with Dan", "influencer", "silver"),
    ("Priya Raman Consulting", "consultant", "silver"),
    ("Lattice Advisory", "consultant", "silver"),
    ("Foster & Finch", "consultant", "silver"),
    ("Clearpath Analytics", "consultant", "silver"),
    ("Zapflow", "platform_integration", "platinum"),
    ("Shopline Apps", "platform_integration", "silver"),
    ("StackBridge", "platform_integration", "silver"),
    ("Happy Customer Co", "customer_advocate", "silver"),
    ("Riverbend Bakery", "customer_advocate", "silver"),
    ("Orbit Fitness", "customer_advocate", "silver"),
    ("Juniper Labs", "other", "silver"),
    ("Atlas Media", "other", "silver"),
];

/// What customers buy: product and monthly price in minor units (`pro` in two sizes).
/// `pro` and `team` earn `pro-recurring` (in its countries), `solo` earns `solo-recurring`.
const PRODUCTS: [(&str, i64); 4] = [
    ("solo", 2_900),
    ("pro", 4_900),
    ("pro", 9_900),
    ("team", 19_900),
];
/// Customers' countries with weights out of 100: mostly those `pro-recurring` pays for.
const COUNTRIES: [(&str, u32); 7] = [
    ("US", 40),
    ("DE", 15),
    ("GB", 15),
    ("FR", 10),
    ("CA", 10),
    ("NL", 5),
    ("BR", 5),
];
/// Days between a customer's invoices.
const BILLING_CYCLE_DAYS: u32 = 30;

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

/// One of a partner's links and how it performs.
struct DemoLink {
    link: Link,
    /// Most clicks a day.
    reach: u32,
    /// Percent of human clicks that become leads.
    quality: u32,
    /// Customers who buy at the very start of the history (see `build`).
    launch_customers: u32,
}

struct Customer {
    id: String,
    product: &'static str,
    country: &'static str,
    plan_minor: i64,
    invoice: u32,
    next_invoice_day: u32,
    activate_day: Option<u32>,
    churn_day: Option<u32>,
    churned: bool,
}

impl Customer {
    fn new(id: String, first_invoice_day: u32, rng: &mut StdRng) -> Customer {
        let (product, plan_minor) = PRODUCTS[rng.gen_range(0..PRODUCTS.len())];
        Customer {
            id,
            product,
            country: pick_country(rng),
            plan_minor,
            invoice: 0,
            next_invoice_day: first_invoice_day,
            activate_day: None,
            churn_day: None,
            churned: false,
        }
    }

    fn metadata(&self) -> serde_json::Value {
        json!({"product": self.product, "country": self.country})
    }
}

fn pick_country(rng: &mut StdRng) -> &'static str {
    let mut roll = rng.gen_range(0..100);
    for (country, weight) in COUNTRIES {
        if roll < weight {
            return country;
        }
        roll -= weight;
    }
    "US"
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
            lead_flat_minor: None,
            sale_percent_bp: None,
            plan: Some(tributary_core::plan::example()),
            // Credit is shared: 40 % to the first touch, 40 % to the last, 20 % between.
            attribution: Some(tributary_core::multitouch::Settings {
                model: tributary_core::multitouch::Model::POSITION_BASED,
                ..Default::default()
            }),
        },
    )
    .await?;
    recruiting(&app, ws, program.id).await?;

    let mut links = Vec::new();
    for (index, (name, archetype, tier)) in PARTNERS.iter().enumerate() {
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
        plans::set_segment(
            &app,
            ws,
            program.id,
            partner.id,
            SegmentInput {
                group: Some((*archetype).into()),
                tier: Some((*tier).into()),
            },
        )
        .await?;
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
        let (momentum, launch_customers) = match *tier {
            "platinum" => (3, 4),
            "gold" => (2, 3),
            _ => (1, 0),
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
            links.push(DemoLink {
                link,
                reach: reach * momentum,
                quality,
                launch_customers: if variant == 0 { launch_customers } else { 0 },
            });
        }
    }

    let mut customers: Vec<Customer> = Vec::new();
    let mut sequence = 0u64;
    // Launch day: the platinum and gold partners bring customers who buy at the very first
    // instant, the only purchases whose 90-day retention (`retained-90`) comes due inside the
    // 90 days (on the last day, at exactly `now`). They also give those partners customers
    // early in a quarter for the `quarter-retained` bonus.
    for demo_link in &links {
        for _ in 0..demo_link.launch_customers {
            let click_id = click(&app, &demo_link.link, false, &mut rng);
            sequence += 1;
            let mut customer = Customer::new(format!("cus_{sequence:05}"), 0, &mut rng);
            post(
                &app,
                ws,
                &format!("lead-{sequence}"),
                json!({"type": "lead", "customer_id": customer.id, "click_id": click_id}),
            )
            .await?;
            bill(&app, ws, &mut customer, 0, &mut rng).await?;
            customers.push(customer);
        }
    }
    // A coupon code of the second partner's, and a deal the first registered and the
    // business approved: touches that outrank clicks (docs/ATTRIBUTION.md).
    let coupon_partner = links.get(2).map(|l| l.link.partner_id);
    if let Some(partner_id) = coupon_partner {
        attribution::create_coupon(
            &app,
            ws,
            NewCoupon {
                code: "SPRING20".into(),
                program_id: program.id,
                partner_id,
            },
        )
        .await?;
    }
    if let Some(first) = links.first() {
        let deal = attribution::register_deal(
            &app,
            ws,
            first.link.partner_id,
            NewDeal {
                program_id: program.id,
                customer_id: "globex@example.com".into(),
                company: "Globex".into(),
                contact_name: "Hank Scorpio".into(),
                contact_email: "globex@example.com".into(),
                notes: "Evaluating the enterprise plan".into(),
            },
        )
        .await?;
        attribution::decide_deal(&app, ws, "demo", deal.id, true, "known prospect").await?;
    }
    let mut paid_batch_done = false;
    let mut open_batch_done = false;
    // The latest human click of the day on another partner's link: some visitors saw two
    // partners before signing up, and both share the credit.
    let mut earlier: Option<(usize, String)> = None;
    for day in 0..DAYS {
        for (link_index, demo_link) in links.iter().enumerate() {
            let clicks_today = rng.gen_range(0..=demo_link.reach);
            for _ in 0..clicks_today {
                clock.advance_millis(rng.gen_range(1_000..60_000));
                let bot = rng.gen_ratio(1, 12);
                let click_id = click(&app, &demo_link.link, bot, &mut rng);
                // Some visitors sign up; the share depends on the partner's audience.
                if bot || !rng.gen_ratio(demo_link.quality, 100) {
                    if !bot {
                        earlier = Some((link_index, click_id));
                    }
                    continue;
                }
                sequence += 1;
                let customer_id = format!("cus_{sequence:05}");
                let mut lead =
                    json!({"type": "lead", "customer_id": customer_id, "click_id": click_id});
                match earlier.take() {
                    Some((other, earlier_click)) if other != link_index && rng.gen_ratio(1, 4) => {
                        lead["click_ids"] = json!([earlier_click]);
                    }
                    _ => {}
                }
                if coupon_partner.is_some() && rng.gen_ratio(1, 20) {
                    lead["coupon"] = json!("spring20");
                }
                post(&app, ws, &format!("lead-{sequence}"), lead).await?;
                if rng.gen_ratio(2, 5) {
                    let first_invoice_day = day + rng.gen_range(0..5);
                    customers.push(Customer::new(customer_id, first_invoice_day, &mut rng));
                }
            }
        }
        // The prospect of the approved deal signs up through another partner's link: the
        // deal outranks the click.
        if day == 30
            && let Some(other) = links.get(1)
        {
            let click_id = click(&app, &other.link, false, &mut rng);
            post(
                &app,
                ws,
                "lead-globex",
                json!({"type": "lead", "customer_id": "globex@example.com", "click_id": click_id}),
            )
            .await?;
            customers.push(Customer::new(
                "globex@example.com".into(),
                day + 2,
                &mut rng,
            ));
        }
        // Billing (first sales and monthly renewals), then the milestones of the day.
        for customer in customers
            .iter_mut()
            .filter(|c| !c.churned && c.next_invoice_day == day)
        {
            bill(&app, ws, customer, day, &mut rng).await?;
        }
        for customer in customers.iter_mut().filter(|c| !c.churned) {
            if customer.activate_day == Some(day) {
                post(&app, ws, &format!("{}-activated", customer.id), json!({"type": "milestone", "milestone": "activated", "customer_id": customer.id})).await?;
            }
            if customer.churn_day == Some(day) {
                post(&app, ws, &format!("{}-churned", customer.id), json!({"type": "milestone", "milestone": "churned", "customer_id": customer.id})).await?;
                customer.churned = true;
            }
        }
        let next_day = Timestamp::from_millis(now.minus_days(DAYS - day - 1).millis());
        anyhow::ensure!(
            app.now() < next_day,
            "day {day} of the demo ran past midnight; fewer clicks a day are needed"
        );
        clock.set(next_day);
        // Every day, so holds end, tiers settle, retention comes due and bonuses are judged
        // when they would in a running install.
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
    today(&app, ws, program.id).await?;

    let (api_key, _) = auth::create_api_key(&app, ws, None, "demo").await?;
    Ok(Logins {
        admin_email: ADMIN_EMAIL.into(),
        partner_email: "partner01@example.com".into(),
        api_key,
        link_code: links
            .first()
            .map(|demo_link| demo_link.link.code.clone())
            .unwrap_or_default(),
    })
}

/// A visit to the link through the redirect's click path; its click id.
fn click(app: &App, link: &Link, bot: bool, rng: &mut StdRng) -> String {
    let redirect = clicks::click(
        app,
        link,
        Visit {
            ip: &format!("198.51.100.{}", rng.gen_range(1..255)),
            user_agent: if bot { CRAWLER } else { BROWSER },
            referrer: Some("https://news.example/"),
        },
    );
    redirect.click_id
}

/// Posts the customer's invoice due `day` (the first sale or a monthly renewal) and decides
/// what follows: activation a few days after the first, sometimes money back, an upgrade at
/// a renewal (the `expanded` milestone), a churn before the next invoice.
async fn bill(
    app: &App,
    workspace_id: WorkspaceId,
    customer: &mut Customer,
    day: u32,
    rng: &mut StdRng,
) -> Result<()> {
    customer.invoice += 1;
    let invoice_id = format!("in_{}_{}", customer.id, customer.invoice);
    let first = customer.invoice == 1;
    let kind = if first { "sale" } else { "renewal" };
    post(app, workspace_id, &format!("{invoice_id}-paid"), json!({"type": kind, "customer_id": customer.id, "amount_minor": customer.plan_minor, "currency": "USD", "invoice_id": invoice_id, "metadata": customer.metadata()})).await?;
    if rng.gen_ratio(1, 15) {
        // Mostly refunds, in full or in half; now and then a chargeback (with its fee).
        let (kind, amount) = if rng.gen_ratio(1, 4) {
            ("chargeback", customer.plan_minor)
        } else if rng.gen_bool(0.5) {
            ("refund", customer.plan_minor)
        } else {
            ("refund", customer.plan_minor / 2)
        };
        post(app, workspace_id, &format!("{invoice_id}-{kind}"), json!({"type": kind, "customer_id": customer.id, "amount_minor": amount, "currency": "USD", "invoice_id": invoice_id})).await?;
    }
    if first {
        if rng.gen_ratio(17, 20) {
            customer.activate_day = Some(day + rng.gen_range(1..=6));
        }
    } else if customer.product != "solo" && rng.gen_ratio(1, 6) {
        let expansion_minor = if customer.product == "team" {
            10_000
        } else {
            5_000
        };
        post(app, workspace_id, &format!("{invoice_id}-expanded"), json!({"type": "milestone", "milestone": "expanded", "customer_id": customer.id, "amount_minor": expansion_minor, "currency": "USD", "metadata": customer.metadata()})).await?;
        customer.plan_minor += expansion_minor;
    }
    // Customers who never activate leave far more often.
    let churn_odds = if customer.activate_day.is_some() {
        12
    } else {
        3
    };
    if rng.gen_ratio(1, churn_odds) {
        customer.churn_day = Some(day + rng.gen_range(3..BILLING_CYCLE_DAYS - 2));
    }
    customer.next_invoice_day = day + BILLING_CYCLE_DAYS;
    Ok(())
}

async fn post(
    app: &App,
    workspace_id: WorkspaceId,
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

/// The program's public page and application form (`/join/acme`), its groups (one per
/// archetype), scorecard and rules, and the partner library.
async fn recruiting(
    app: &App,
    ws: WorkspaceId,
    program_id: tributary_core::ProgramId,
) -> Result<()> {
    let lifecycle: tributary_core::lifecycle::ProgramLifecycle = serde_json::from_value(json!({
        "headline": "Grow with Acme Analytics",
        "value_proposition": "Earn **20% of every plan** your customers buy, for their first year, plus tier bonuses. Resellers, creators, consultants and integrations welcome.",
        "questions": [
            {"id": "audience_size", "label": "How many people do you reach each month?", "kind": "number", "required": true},
            {"id": "channel", "label": "Your main channel", "kind": "choice", "choices": ["Blog", "YouTube", "Newsletter", "Clients", "Marketplace"], "required": true},
            {"id": "plan", "label": "How will you promote Acme?", "kind": "text"}
        ],
        "groups": [
            {"key": "reseller", "name": "Resellers", "archetype": "reseller", "value_proposition": "Margins on every seat you sell."},
            {"key": "influencer", "name": "Creators", "archetype": "influencer", "value_proposition": "Recurring commission for your audience's sign-ups."},
            {"key": "consultant", "name": "Consultants", "archetype": "consultant", "value_proposition": "Referral fees for the clients you advise."},
            {"key": "platform_integration", "name": "Integrations", "archetype": "platform_integration", "value_proposition": "Revenue share for apps built on Acme."}
        ],
        "scorecard": [
            {"label": "Audience", "weight": 60, "measure": "number_steps", "question": "audience_size",
             "steps": [{"at_least": 1000, "points": 40}, {"at_least": 10000, "points": 80}, {"at_least": 50000, "points": 100}]},
            {"label": "Website", "weight": 20, "measure": "website"},
            {"label": "Core markets", "weight": 20, "measure": "country_in", "countries": ["US", "CA", "GB", "DE", "FR"]}
        ],
        "rules": [
            {"decision": "reject", "reason": "Disposable email addresses are not accepted.", "when": [{"email_domain_in": ["mailinator.com"]}]},
            {"decision": "approve", "reason": "A strong fit: large audience in our core markets.", "when": [{"score_at_least": 85}]},
            {"decision": "reject", "reason": "We look for partners reaching at least 1,000 people a month.", "when": [{"score_below": 20}]}
        ],
        "stage": {"name": "open", "gates": []}
    }))?;
    tributary_app::lifecycle::program::configure(app, ws, program_id, "acme", lifecycle, "demo")
        .await?;
    use tributary_app::lifecycle::content::{self, NewContent, Upload};
    let banner = r##"<svg xmlns="http://www.w3.org/2000/svg" width="600" height="120"><rect width="600" height="120" fill="#0b6e4f"/><text x="20" y="55" font-size="28" fill="#fff" font-family="sans-serif">Acme Analytics, recommended by {{partner_name}}</text><text x="20" y="95" font-size="18" fill="#d8f3dc" font-family="sans-serif">{{link}}</text></svg>"##;
    let items = [
        NewContent {
            kind: "asset".into(),
            title: "Co-branded banner (600×120)".into(),
            body: "Carries your name and your link.".into(),
            file: Some(Upload {
                file_name: "acme-banner.svg".into(),
                content_type: "image/svg+xml".into(),
                bytes: banner.as_bytes().to_vec(),
            }),
            ..Default::default()
        },
        NewContent {
            kind: "template".into(),
            title: "Launch post".into(),
            body: "I switched our reporting to Acme Analytics and it paid for itself in a month. Try it: {{link}}".into(),
            channel: Some("social".into()),
            persona: Some("creator".into()),
            ..Default::default()
        },
        NewContent {
            kind: "template".into(),
            title: "Client introduction email".into(),
            body: "Hello,\n\nAs promised, here is the analytics tool I mentioned: {{link}}\n\nBest,\n{{partner_name}}".into(),
            channel: Some("email".into()),
            persona: Some("consultant".into()),
            ..Default::default()
        },
        NewContent {
            kind: "training".into(),
            title: "Acme in five minutes".into(),
            body: "# Acme in five minutes\n\n* Dashboards for product teams\n* Priced per seat\n* 14-day trial\n\nWhen you are done, mark this module finished.".into(),
            ..Default::default()
        },
    ];
    for item in items {
        content::create(app, ws, program_id, item, "demo").await?;
    }
    Ok(())
}

/// What the last day adds: applications waiting for review, terms every partner is asked to
/// accept, and an announcement.
async fn today(app: &App, ws: WorkspaceId, program_id: tributary_core::ProgramId) -> Result<()> {
    for (name, email, audience, country) in [
        ("Orbit Media", "hello@orbit.example", "8000", "US"),
        ("Kai Learns Data", "kai@creator.example", "3500", "GB"),
        ("Tiny List", "tiny@list.example", "150", "BR"),
    ] {
        let fields = [
            ("name", name),
            ("email", email),
            ("group", "influencer"),
            ("audience_size", audience),
            ("channel", "Newsletter"),
            ("country", country),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        tributary_app::lifecycle::applications::apply(app, "acme", &fields, None).await?;
    }
    tributary_app::lifecycle::terms::publish(
        app,
        ws,
        program_id,
        tributary_app::lifecycle::terms::NewTerms {
            body_markdown: "# Acme partner terms\n\n1. Promote Acme honestly; no bidding on our brand.\n2. Commissions are held 14 days, then approved.\n3. Either side may end the partnership at any time.".into(),
            payout_schedule: "Monthly, once your approved balance reaches $50".into(),
            termination_policy: "keep".into(),
            grace_days: Some(14),
        },
        "demo",
    )
    .await?;
    tributary_app::lifecycle::content::create(
        app,
        ws,
        program_id,
        tributary_app::lifecycle::content::NewContent {
            kind: "announcement".into(),
            title: "New: co-branded banners".into(),
            body: "Download a banner with your name and link from the Library.".into(),
            ..Default::default()
        },
        "demo",
    )
    .await?;
    jobs::run_due(app).await?;
    Ok(())
}
