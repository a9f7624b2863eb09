//! The plan engine through the real posting path, on SQLite and PostgreSQL:
//! - replay equivalence: a hundred days of random history under plans with tiers, recurring
//!   windows, caps, milestones, retention, a chargeback fee, a bonus, a partner override and
//!   a group plan, posted live through ingestion and jobs; replaying the current plans over
//!   the same stored events gives the same amount for every (event, rule);
//! - a whole-volume tier reached mid-month tops up the earlier sales with one posting;
//! - minimum engagement: a commission waits for `activated` and is voided with the reason
//!   when it never comes, and later facts do not earn it again.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tributary_app::admin::{self, NewLink, NewPartner, NewProgram};
use tributary_app::clicks::{self, Visit};
use tributary_app::clock::ManualClock;
use tributary_app::replay::{ReplayRequest, replay};
use tributary_app::{App, ingest, jobs, plans};
use tributary_core::commission::{CommissionState, Source};
use tributary_core::plan::Plan;
use tributary_core::*;
use tributary_store::testing::{Backend, TestDatabase};
use tributary_store::{CommissionFilter, Link, Page, PlanScope};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0";
const CRAWLER: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

fn plan(json: serde_json::Value) -> Plan {
    let plan: Plan = serde_json::from_value(json).expect("a plan");
    plan.validate().expect("valid");
    plan
}

fn usd(minor: i64) -> serde_json::Value {
    json!({"amount_minor": minor, "currency": "USD"})
}

fn default_plan() -> Plan {
    plan(json!({
        "rules": [
            {"id": "lead", "trigger": "lead", "reward": {"type": "flat", "amount": usd(100)}},
            {"id": "first", "trigger": "first_sale", "when": {"amount_minor": {"min": 1000}},
             "reward": {"type": "flat", "amount": usd(1000)}},
            {"id": "recurring", "trigger": "any_sale", "reward": {"type": "percent", "rate_bp": 1000},
             "recurring": {"months": 3}, "caps": {"per_customer": usd(5000)}},
            {"id": "volume", "trigger": "sale", "reward": {"type": "tiered", "measure": "customers",
             "period": "month", "mode": "whole_volume",
             "tiers": [{"from": 0, "rate_bp": 300}, {"from": 3, "rate_bp": 600, "name": "gold"}]}},
            {"id": "activated", "trigger": {"milestone": "activated"}, "reward": {"type": "flat", "amount": usd(700)}},
            {"id": "retained", "trigger": {"retained": {"days": 30}}, "reward": {"type": "flat", "amount": usd(1500)}},
            {"id": "chargeback-fee", "trigger": "chargeback", "reward": {"type": "flat", "amount": usd(-500)}},
            {"id": "renewal-capped", "trigger": "renewal", "reward": {"type": "percent", "rate_bp": 500},
             "caps": {"per_partner_period": {"period": "month", "amount": usd(2000)}}},
            {"id": "ppc", "trigger": "click", "reward": {"type": "flat", "amount": usd(3)},
             "caps": {"per_partner_period": {"period": "month", "amount": usd(200)}}}
        ],
        "bonuses": [{"id": "quarter-new", "period": "quarter", "when": {"new_customers": {"min": 2}},
                     "reward": {"type": "flat", "amount": usd(5000)}}],
        "safeguards": {"clawback_days": 45}
    }))
}

fn override_plan() -> Plan {
    plan(json!({
        "rules": [
            {"id": "sales", "trigger": "any_sale", "reward": {"type": "percent", "rate_bp": 2500}},
            {"id": "revenue-tiers", "trigger": "any_sale", "reward": {"type": "tiered", "measure": "revenue",
             "period": "month", "mode": "marginal",
             "tiers": [{"from": 0, "rate_bp": 100}, {"from": 20000, "rate_bp": 400}]}}
        ]
    }))
}

fn group_plan() -> Plan {
    plan(json!({
        "stacking": "best",
        "rules": [
            {"id": "flat-sale", "trigger": "any_sale", "reward": {"type": "flat", "amount": usd(800)}},
            {"id": "pct-sale", "trigger": "any_sale", "reward": {"type": "percent", "rate_bp": 1500}},
            {"id": "lead", "trigger": "lead", "reward": {"type": "flat", "amount": usd(50)}}
        ]
    }))
}

struct World {
    _db: TestDatabase,
    app: App,
    clock: Arc<ManualClock>,
    ws: WorkspaceId,
    program_id: ProgramId,
    links: Vec<Link>,
}

async fn world(backend: Backend, first_plan: Plan, partners: usize) -> World {
    let db = TestDatabase::create(backend)
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
            name: "P".into(),
            destination_url: "https://w.example/".into(),
            currency: None,
            window_days: Some(30),
            hold_days: Some(7),
            min_payout_minor: Some(1_000),
            lead_flat_minor: None,
            sale_percent_bp: None,
            plan: Some(first_plan),
            attribution: None,
        },
    )
    .await
    .expect("program");
    let mut links = Vec::new();
    for n in 0..partners {
        let partner = admin::create_partner(
            &app,
            ws,
            NewPartner {
                name: format!("Partner {n}"),
                email: format!("p{n}@w.example"),
                archetype: Some(["reseller", "influencer", "consultant"][n % 3].into()),
                payout_email: None,
                password: None,
            },
        )
        .await
        .expect("partner");
        admin::enroll(&app, ws, program.id, partner.id)
            .await
            .expect("enroll");
        links.push(
            admin::create_link(
                &app,
                ws,
                NewLink {
                    program_id: program.id,
                    partner_id: partner.id,
                    code: Some(format!("partner-{n}")),
                    destination_url: None,
                },
            )
            .await
            .expect("link"),
        );
    }
    World {
        _db: db,
        app,
        clock,
        ws,
        program_id: program.id,
        links,
    }
}

impl World {
    async fn post(&self, key: &str, body: serde_json::Value) {
        let request = ingest::parse_event(&body, self.app.now()).expect("valid event");
        ingest::ingest(&self.app, self.ws, key, request)
            .await
            .expect("ingested");
    }

    fn click(&self, partner: usize) -> String {
        clicks::click(
            &self.app,
            &self.links[partner],
            Visit {
                ip: "192.0.2.1",
                user_agent: BROWSER,
                referrer: None,
            },
        )
        .click_id
    }

    /// Clicks without a lead: `humans` from a browser, `bots` from a crawler.
    fn browse(&self, partner: usize, humans: usize, bots: usize) {
        for n in 0..humans + bots {
            clicks::click(
                &self.app,
                &self.links[partner],
                Visit {
                    ip: "192.0.2.7",
                    user_agent: if n < humans { BROWSER } else { CRAWLER },
                    referrer: None,
                },
            );
        }
    }

    /// A partner's click commissions of January and February 2026, oldest first.
    async fn click_commissions(&self, partner: usize) -> Vec<tributary_store::CommissionRecord> {
        let mut tx = self.app.store.read().await.expect("read");
        tx.keyed_commissions(
            self.program_id,
            self.links[partner].partner_id,
            "clicks:2026-01-01",
            "clicks:2026-03-01",
        )
        .await
        .expect("keyed commissions")
    }

    /// Runs the jobs due, once the clicks so far are in the daily counts.
    async fn run_jobs(&self) {
        self.app.clicks.flush().await;
        jobs::run_due(&self.app).await.expect("jobs");
    }

    /// Replays the current plans over all history up to `to`, with the amount of every
    /// (source, rule) that is not zero.
    async fn replay_current(
        &self,
        to: Timestamp,
    ) -> (
        tributary_app::replay::ReplayReport,
        BTreeMap<(Source, String), i64>,
    ) {
        let report = replay(
            self.app.store.as_ref(),
            &ReplayRequest {
                workspace_id: self.ws,
                program_id: self.program_id,
                proposed: None,
                from: Timestamp::from_millis(0),
                to,
                keep_keys: true,
            },
        )
        .await
        .expect("replay");
        let mut replayed = report.current.keys.clone();
        replayed.retain(|_, amount| *amount != 0);
        (report, replayed)
    }

    /// Net posted per (source, rule): an event, a day's clicks or a bonus period.
    async fn ledger_keys(&self) -> BTreeMap<(Source, String), i64> {
        let mut tx = self.app.store.read().await.expect("read");
        let mut out: BTreeMap<(Source, String), i64> = BTreeMap::new();
        let mut offset = 0;
        loop {
            let page = tx
                .commissions(
                    self.ws,
                    &CommissionFilter::default(),
                    Page::new(Some(Page::MAX_LIMIT), Some(offset)),
                )
                .await
                .expect("commissions");
            for c in &page {
                *out.entry((c.source.clone(), c.rule_id.clone()))
                    .or_default() += c.amount.amount_minor;
            }
            if page.len() < Page::MAX_LIMIT as usize {
                break;
            }
            offset += Page::MAX_LIMIT;
        }
        out.retain(|_, amount| *amount != 0);
        out
    }
}

async fn replay_of_the_current_plans_reproduces_the_ledger(backend: Backend) {
    let world = world(backend, default_plan(), 3).await;
    let partner_ids: Vec<PartnerId> = world.links.iter().map(|link| link.partner_id).collect();
    {
        // Partner 1 is a reseller with a group plan from day 20; partner 0 gets its own plan
        // from day 40 (both effective in the future when added, as the app requires).
        let mut tx = world.app.store.write().await.expect("write");
        tx.set_enrollment_segment(world.program_id, partner_ids[1], Some("resellers"), None)
            .await
            .expect("segment");
        let now = world.app.now();
        plans::add_version(
            tx.as_mut(),
            world.program_id,
            group_plan(),
            PlanScope::Group("resellers".into()),
            now.plus_days(20),
            now,
        )
        .await
        .expect("group plan");
        plans::add_version(
            tx.as_mut(),
            world.program_id,
            override_plan(),
            PlanScope::Partner(partner_ids[0]),
            now.plus_days(40),
            now,
        )
        .await
        .expect("override");
        tx.commit().await.expect("commit");
    }
    let mut rng = StdRng::seed_from_u64(7);
    struct Customer {
        id: String,
        price: i64,
        invoices: u32,
        next_renewal: u32,
        churned: bool,
    }
    let mut customers: Vec<Customer> = Vec::new();
    let mut n = 0;
    for day in 0..100u32 {
        for partner in 0..3 {
            if rng.gen_ratio(2, 5) {
                n += 1;
                let id = format!("cus_{n}");
                let click = world.click(partner);
                world
                    .post(
                        &format!("lead-{n}"),
                        json!({"type": "lead", "customer_id": id, "click_id": click}),
                    )
                    .await;
                if rng.gen_ratio(3, 4) {
                    let price = [900i64, 2_900, 9_900][rng.gen_range(0..3)];
                    world
                        .post(
                            &format!("sale-{n}"),
                            json!({"type": "sale", "customer_id": id, "amount_minor": price,
                            "currency": "USD", "invoice_id": format!("{id}-0")}),
                        )
                        .await;
                    customers.push(Customer {
                        id,
                        price,
                        invoices: 1,
                        next_renewal: day + 30,
                        churned: false,
                    });
                }
            }
        }
        for c in customers.iter_mut().filter(|c| !c.churned) {
            let roll = rng.gen_range(0..1000);
            let key = format!("{}-{day}", c.id);
            if c.next_renewal == day {
                let invoice = format!("{}-{}", c.id, c.invoices);
                c.invoices += 1;
                c.next_renewal = day + 30;
                world
                    .post(
                        &format!("renew-{key}"),
                        json!({"type": "renewal", "customer_id": c.id,
                        "amount_minor": c.price, "currency": "USD", "invoice_id": invoice}),
                    )
                    .await;
            } else if roll < 10 {
                let invoice = format!("{}-{}", c.id, rng.gen_range(0..c.invoices));
                world
                    .post(&format!("refund-{key}"), json!({"type": "refund", "customer_id": c.id,
                        "amount_minor": rng.gen_range(1..=c.price), "currency": "USD", "invoice_id": invoice}))
                    .await;
            } else if roll < 14 {
                let invoice = format!("{}-{}", c.id, c.invoices - 1);
                world
                    .post(
                        &format!("cb-{key}"),
                        json!({"type": "chargeback", "customer_id": c.id,
                        "amount_minor": c.price, "currency": "USD", "invoice_id": invoice}),
                    )
                    .await;
            } else if roll < 40 {
                world
                    .post(
                        &format!("act-{key}"),
                        json!({"type": "milestone", "milestone": "activated", "customer_id": c.id}),
                    )
                    .await;
            } else if roll < 50 {
                c.churned = true;
                world
                    .post(
                        &format!("churn-{key}"),
                        json!({"type": "milestone", "milestone": "churned", "customer_id": c.id}),
                    )
                    .await;
            }
        }
        for partner in 0..3 {
            world.browse(partner, rng.gen_range(0..8), rng.gen_range(0..3));
        }
        world.clock.advance_days(1);
        world.run_jobs().await;
    }
    // Let every hold, retention and bonus come due.
    world.clock.advance_days(120);
    world.run_jobs().await;

    let ledger = world.ledger_keys().await;
    let (report, replayed) = world.replay_current(world.app.now()).await;
    // The history exercised what it should.
    let rules: std::collections::BTreeSet<&str> = ledger
        .keys()
        .map(|(_, rule)| rule.split(':').next().unwrap_or(""))
        .collect();
    for expected in [
        "lead",
        "first",
        "recurring",
        "volume",
        "activated",
        "retained",
        "chargeback-fee",
        "renewal-capped",
        "ppc",
        "quarter-new",
        "sales",
        "revenue-tiers",
        "pct-sale",
        "flat-sale",
    ] {
        assert!(
            rules.contains(expected),
            "no {expected} commission in {rules:?}"
        );
    }
    let differing: Vec<_> = ledger
        .iter()
        .filter(|(key, amount)| replayed.get(*key) != Some(*amount))
        .map(|(key, amount)| (key.clone(), *amount, replayed.get(key).copied()))
        .chain(
            replayed
                .iter()
                .filter(|(key, _)| !ledger.contains_key(*key))
                .map(|(key, amount)| (key.clone(), 0, Some(*amount))),
        )
        .collect();
    if let Some(((event, _), _, _)) = differing.iter().find(|(_, ledger, _)| *ledger < 0) {
        let mut tx = world.app.store.read().await.expect("read");
        let rows = tx
            .commissions(world.ws, &CommissionFilter::default(), Page::first(5000))
            .await
            .expect("rows");
        for c in rows.iter().filter(|c| c.source == *event) {
            eprintln!(
                "DEBUG {} v={} {:?} {} {:?} created={} caused={:?} | {} | {}",
                c.rule_id,
                c.plan_version_id,
                c.kind,
                c.amount,
                c.state,
                c.created_at.millis(),
                c.caused_by_event_id,
                c.explanation.summary,
                c.explanation.arithmetic
            );
        }
    }
    assert!(
        differing.is_empty(),
        "{} of {} keys differ (key, ledger, replay): {:?}",
        differing.len(),
        ledger.len(),
        &differing[..differing.len().min(10)]
    );
    assert_eq!(report.current.total_minor, ledger.values().sum::<i64>());
    // Deterministic: the same inputs give the same report, byte for byte.
    let again = replay(
        world.app.store.as_ref(),
        &ReplayRequest {
            workspace_id: world.ws,
            program_id: world.program_id,
            proposed: Some(override_plan()),
            from: Timestamp::from_millis(0),
            to: world.app.now(),
            keep_keys: false,
        },
    )
    .await
    .expect("replay again");
    let third = replay(
        world.app.store.as_ref(),
        &ReplayRequest {
            workspace_id: world.ws,
            program_id: world.program_id,
            proposed: Some(override_plan()),
            from: Timestamp::from_millis(0),
            to: world.app.now(),
            keep_keys: false,
        },
    )
    .await
    .expect("replay a third time");
    assert_eq!(again.text(), third.text());
    assert_eq!(again.csv(), third.csv());
}

async fn a_whole_volume_tier_tops_up_the_month_when_reached(backend: Backend) {
    let plan = plan(json!({"rules": [
        {"id": "volume", "trigger": "sale", "reward": {"type": "tiered", "measure": "customers",
         "period": "month", "mode": "whole_volume",
         "tiers": [{"from": 0, "rate_bp": 1000}, {"from": 3, "rate_bp": 2000, "name": "gold"}]}}
    ]}));
    let world = world(backend, plan, 1).await;
    for n in 0..3 {
        let click = world.click(0);
        let id = format!("c{n}");
        world
            .post(
                &format!("l{n}"),
                json!({"type": "lead", "customer_id": id, "click_id": click}),
            )
            .await;
        world
            .post(
                &format!("s{n}"),
                json!({"type": "sale", "customer_id": id, "amount_minor": 10_000,
                "currency": "USD", "invoice_id": format!("in{n}")}),
            )
            .await;
        world.run_jobs().await;
    }
    let mut tx = world.app.store.read().await.expect("read");
    let mut rows = tx
        .commissions(world.ws, &CommissionFilter::default(), Page::first(50))
        .await
        .expect("commissions");
    rows.sort_by_key(|c| c.created_at);
    let amounts: Vec<i64> = rows.iter().map(|c| c.amount.amount_minor).collect();
    // 10% on the first two; the third reaches tier 2: 20% of itself + 10% more on the two.
    assert_eq!(amounts.iter().sum::<i64>(), 6_000);
    assert!(amounts.contains(&4_000), "{amounts:?}");
    let top_up = rows
        .iter()
        .find(|c| c.amount.amount_minor == 4_000)
        .expect("the top-up");
    let tier = top_up.explanation.tier.as_ref().expect("a tier explained");
    assert_eq!(
        (tier.number, tier.volume, tier.name.as_deref()),
        (2, 3, Some("gold"))
    );
    assert!(
        top_up.explanation.arithmetic.contains("whole volume"),
        "{}",
        top_up.explanation.arithmetic
    );
}

async fn engagement_gates_approval_and_voids_with_the_reason(backend: Backend) {
    let plan = plan(json!({
        "rules": [{"id": "sale", "trigger": "sale", "reward": {"type": "percent", "rate_bp": 2000}}],
        "safeguards": {"hold_days": 5, "approve_after": {"milestone": "activated"}, "engagement_wait_days": 20}
    }));
    let world = world(backend, plan, 1).await;
    for (n, id) in ["engaged", "idle"].iter().enumerate() {
        let click = world.click(0);
        world
            .post(
                &format!("l{n}"),
                json!({"type": "lead", "customer_id": id, "click_id": click}),
            )
            .await;
        world
            .post(
                &format!("s{n}"),
                json!({"type": "sale", "customer_id": id, "amount_minor": 10_000,
                "currency": "USD", "invoice_id": format!("in{n}")}),
            )
            .await;
    }
    world.clock.advance_days(6);
    world.run_jobs().await;
    let state_of = |rows: &[tributary_store::CommissionRecord], customer: CustomerId| {
        rows.iter()
            .filter(|c| c.customer_id == Some(customer) && c.amount.amount_minor > 0)
            .map(|c| c.state)
            .next()
    };
    let customer = |id: &'static str| {
        let app = world.app.clone();
        let ws = world.ws;
        async move {
            app.store
                .read()
                .await
                .expect("read")
                .customer_by_external_id(ws, id)
                .await
                .expect("query")
                .expect("customer")
                .id
        }
    };
    let engaged = customer("engaged").await;
    let idle = customer("idle").await;
    let rows = |app: App, ws| async move {
        app.store
            .read()
            .await
            .expect("read")
            .commissions(ws, &CommissionFilter::default(), Page::first(50))
            .await
            .expect("commissions")
    };
    // Hold over, but nobody has activated: both wait.
    let now = rows(world.app.clone(), world.ws).await;
    assert_eq!(state_of(&now, engaged), Some(CommissionState::Pending));
    world
        .post(
            "act",
            json!({"type": "milestone", "milestone": "activated", "customer_id": "engaged"}),
        )
        .await;
    world.clock.advance_days(1);
    world.run_jobs().await;
    let now = rows(world.app.clone(), world.ws).await;
    assert_eq!(state_of(&now, engaged), Some(CommissionState::Approved));
    assert_eq!(state_of(&now, idle), Some(CommissionState::Pending));
    // The wait runs out for the idle one: voided, with the reason.
    world.clock.advance_days(20);
    world.run_jobs().await;
    let now = rows(world.app.clone(), world.ws).await;
    assert_eq!(state_of(&now, idle), Some(CommissionState::Reversed));
    let void = now
        .iter()
        .find(|c| c.customer_id == Some(idle) && c.amount.amount_minor < 0)
        .expect("the voiding clawback");
    assert!(
        void.explanation
            .summary
            .contains("did not reach `activated` within 20 days"),
        "{}",
        void.explanation.summary
    );
    // A later fact for the same customer does not earn the voided commission again.
    world
        .post(
            "late-act",
            json!({"type": "milestone", "milestone": "activated", "customer_id": "idle"}),
        )
        .await;
    world.run_jobs().await;
    let after = rows(world.app.clone(), world.ws).await;
    let idle_net: i64 = after
        .iter()
        .filter(|c| c.customer_id == Some(idle))
        .map(|c| c.amount.amount_minor)
        .sum();
    assert_eq!(idle_net, 0);
    assert_eq!(after.len(), now.len());
    // Replay knows the void too: the late activation came after the deadline.
    let ledger = world.ledger_keys().await;
    let (_, replayed) = world.replay_current(world.app.now()).await;
    assert_eq!(
        ledger.len(),
        1,
        "only the engaged customer's sale: {ledger:?}"
    );
    assert_eq!(replayed, ledger);
}

async fn a_budget_pays_first_come_across_partners_and_replay_agrees(backend: Backend) {
    let plan = plan(json!({
        "rules": [
            {"id": "sale", "trigger": "sale", "reward": {"type": "percent", "rate_bp": 2000}},
            {"id": "lead", "trigger": "lead", "reward": {"type": "flat", "amount": usd(100)}}
        ],
        "budget": {"period": "month", "amount": usd(5000)}
    }));
    let world = world(backend, plan, 2).await;
    // 25 customers in January, alternating partners, each a lead (1.00) and a sale (20.00):
    // 525.00 would be owed; the month's budget pays the first 50.00, in time order.
    let mut n = 0;
    for round in 0..25 {
        let partner = round % 2;
        let click = world.click(partner);
        let id = format!("c{n}");
        n += 1;
        world
            .post(
                &format!("l{n}"),
                json!({"type": "lead", "customer_id": id, "click_id": click}),
            )
            .await;
        world
            .post(
                &format!("s{n}"),
                json!({"type": "sale", "customer_id": id, "amount_minor": 10_000,
                "currency": "USD", "invoice_id": format!("in{n}")}),
            )
            .await;
        world.clock.advance_millis(3_600_000);
        world.run_jobs().await;
    }
    // A refund frees budget in the month: the next in line is paid.
    world
        .post(
            "refund",
            json!({"type": "refund", "customer_id": "c0", "amount_minor": 10_000,
            "currency": "USD", "invoice_id": "in1"}),
        )
        .await;
    world.run_jobs().await;
    let ledger = world.ledger_keys().await;
    let total: i64 = ledger.values().sum();
    assert_eq!(total, 5_000, "the month's budget, exactly: {ledger:?}");
    let report = replay(
        world.app.store.as_ref(),
        &ReplayRequest {
            workspace_id: world.ws,
            program_id: world.program_id,
            proposed: None,
            from: Timestamp::from_millis(0),
            to: world.app.now().plus_days(1),
            keep_keys: true,
        },
    )
    .await
    .expect("replay");
    let mut replayed = report.current.keys.clone();
    replayed.retain(|_, amount| *amount != 0);
    assert_eq!(replayed, ledger);
    // The explanation of a commission cut by the budget says so.
    let mut tx = world.app.store.read().await.expect("read");
    let rows = tx
        .commissions(world.ws, &CommissionFilter::default(), Page::first(200))
        .await
        .expect("rows");
    assert!(
        rows.iter().any(|c| c
            .explanation
            .limited_by
            .as_deref()
            .is_some_and(|text| text.starts_with("the program's budget for the period"))),
        "no commission says the budget limited it"
    );
}

async fn clicks_are_paid_per_day_without_bots_and_a_recount_posts_the_difference(backend: Backend) {
    let plan = plan(json!({"rules": [
        {"id": "ppc", "trigger": "click", "reward": {"type": "flat", "amount": usd(5)},
         "caps": {"per_partner_period": {"period": "month", "amount": usd(100)}}}
    ]}));
    let world = world(backend, plan, 2).await;
    let day = |n: i64| Timestamp::from_millis(START).plus_millis(n * 86_400_000);
    let key = |text: &str| Source::Key(format!("clicks:{text}"));
    // January 1: six people and three crawlers on partner 0's link, two people on partner 1's.
    world.browse(0, 6, 3);
    world.browse(1, 2, 0);
    world.clock.set(day(1).plus_millis(2 * 3_600_000));
    world.run_jobs().await;
    let by_partner = |partner: usize| world.click_commissions(partner);
    let first = by_partner(0).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].amount.amount_minor, 30, "six human clicks at 0.05");
    assert_eq!(first[0].customer_id, None);
    assert_eq!(first[0].source, key("2026-01-01"));
    let seen = first[0]
        .explanation
        .clicks
        .clone()
        .expect("the clicks are explained");
    assert_eq!((seen.clicks, seen.bot_clicks, seen.human_clicks), (9, 3, 6));
    assert_eq!(by_partner(1).await[0].amount.amount_minor, 10);

    // Four more clicks of January 1 reach the counts late (as through the event log).
    let link = &world.links[0];
    let late: Vec<tributary_store::Click> = (0..4)
        .map(|n| tributary_store::Click {
            id: format!("late-{n}"),
            workspace_id: world.ws,
            link_id: link.id,
            partner_id: link.partner_id,
            at: day(0).plus_millis(12 * 3_600_000),
            ip_hash: "h".into(),
            user_agent: BROWSER.into(),
            referrer: None,
            is_bot: false,
            subs: Default::default(),
        })
        .collect();
    world
        .app
        .store
        .append_clicks(&late)
        .await
        .expect("late clicks");
    // January 3: fifteen clicks, beyond the month's cap of 1.00 (0.50 paid so far).
    world.clock.set(day(2));
    world.browse(0, 15, 0);
    world.clock.set(day(3).plus_millis(2 * 3_600_000));
    world.run_jobs().await;
    let rows = by_partner(0).await;
    let january_1: Vec<i64> = rows
        .iter()
        .filter(|c| c.source == key("2026-01-01"))
        .map(|c| c.amount.amount_minor)
        .collect();
    assert_eq!(
        january_1,
        vec![30, 20],
        "the recount posts only the difference"
    );
    let january_3 = rows
        .iter()
        .find(|c| c.source == key("2026-01-03"))
        .expect("January 3 is paid");
    assert_eq!(
        january_3.amount.amount_minor, 50,
        "capped at what the month has left"
    );
    assert!(
        january_3
            .explanation
            .limited_by
            .as_deref()
            .is_some_and(|why| why.contains("per partner per period")),
        "{:?}",
        january_3.explanation
    );
    // More clicks in January pay nothing; February starts afresh.
    world.browse(0, 5, 0);
    world.clock.set(day(31));
    world.browse(0, 3, 0);
    world.clock.set(day(32).plus_millis(2 * 3_600_000));
    world.run_jobs().await;
    let rows = by_partner(0).await;
    let january: i64 = rows
        .iter()
        .filter(|c| {
            c.source
                .key()
                .is_some_and(|k| k.starts_with("clicks:2026-01"))
        })
        .map(|c| c.amount.amount_minor)
        .sum();
    assert_eq!(january, 100);
    let february: i64 = rows
        .iter()
        .filter(|c| c.source == key("2026-02-01"))
        .map(|c| c.amount.amount_minor)
        .sum();
    assert_eq!(february, 15);
    // The hold passed for January's first days: approved like any commission.
    assert!(
        rows.iter()
            .filter(|c| c.source == key("2026-01-01"))
            .all(|c| c.state == CommissionState::Approved),
        "{:?}",
        rows.iter()
            .map(|c| (c.source.clone(), c.state))
            .collect::<Vec<_>>()
    );

    // Replay reads the same daily counts and pays the same, key by key.
    let ledger = world.ledger_keys().await;
    let (report, replayed) = world.replay_current(day(32)).await;
    assert_eq!(replayed.len(), ledger.len());
    assert_eq!(replayed.values().sum::<i64>(), ledger.values().sum::<i64>());
    assert_eq!(report.current.total_minor, 100 + 15 + 10);
}

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(super::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(super::Backend::Postgres).await
                }
            }
        )+
    };
}

on_both_backends!(
    replay_of_the_current_plans_reproduces_the_ledger,
    a_whole_volume_tier_tops_up_the_month_when_reached,
    engagement_gates_approval_and_voids_with_the_reason,
    a_budget_pays_first_come_across_partners_and_replay_agrees,
    clicks_are_paid_per_day_without_bots_and_a_recount_posts_the_difference,
);
