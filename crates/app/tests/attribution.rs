//! Attribution through the real ingestion path, on SQLite and PostgreSQL (issue 5):
//! - a program's model splits a customer between partners, each credited partner earns on
//!   their own share, renewals follow the shares, and a rule can pay assists differently;
//! - precedence: a coupon beats clicks, an approved deal beats both;
//! - an admin's re-attribution reverses and posts commissions and is audited; asking again
//!   changes nothing;
//! - replay of the current plans agrees with the ledger for customers shared by partners.

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tributary_app::admin::{self, NewLink, NewPartner, NewProgram};
use tributary_app::attribution::{self, NewCoupon, NewDeal, Reattribution, ShareInput};
use tributary_app::clicks::{self, Visit};
use tributary_app::clock::ManualClock;
use tributary_app::replay::{ReplayRequest, replay};
use tributary_app::{App, AppError, ingest};
use tributary_core::multitouch::{Model, Settings};
use tributary_core::plan::Plan;
use tributary_core::*;
use tributary_store::testing::{Backend, TestDatabase};
use tributary_store::{CommissionFilter, CommissionRecord, Link, Page};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3_600_000;
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0";

fn plan() -> Plan {
    let plan: Plan = serde_json::from_value(json!({
        "rules": [
            {"id": "sales", "trigger": "any_sale", "reward": {"type": "percent", "rate_bp": 1000}},
            {"id": "assist-bonus", "trigger": "first_sale", "when": {"credit_role": ["assist", "originator"]},
             "reward": {"type": "flat", "amount": {"amount_minor": 200, "currency": "USD"}}}
        ]
    }))
    .expect("a plan");
    plan.validate().expect("valid");
    plan
}

struct World {
    _db: TestDatabase,
    app: App,
    clock: Arc<ManualClock>,
    ws: WorkspaceId,
    program_id: ProgramId,
    links: Vec<Link>,
}

async fn world(backend: Backend, model: Model) -> World {
    world_with(backend, model, plan()).await
}

async fn world_with(backend: Backend, model: Model, plan: Plan) -> World {
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
            plan: Some(plan),
            attribution: Some(Settings {
                model,
                ..Settings::default()
            }),
        },
    )
    .await
    .expect("program");
    let mut links = Vec::new();
    for n in 0..3 {
        let partner = admin::create_partner(
            &app,
            ws,
            NewPartner {
                name: format!("Partner {n}"),
                email: format!("p{n}@w.example"),
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
    fn partner(&self, n: usize) -> PartnerId {
        self.links[n].partner_id
    }

    fn click(&self, partner: usize) -> String {
        let id = clicks::click(
            &self.app,
            &self.links[partner],
            Visit {
                ip: "192.0.2.1",
                user_agent: BROWSER,
                referrer: None,
            },
        )
        .click_id;
        self.clock.advance_millis(HOUR);
        id
    }

    async fn post(&self, key: &str, body: serde_json::Value) -> serde_json::Value {
        let request = ingest::parse_event(&body, self.app.now()).expect("valid event");
        let answer = ingest::ingest(&self.app, self.ws, key, request)
            .await
            .expect("ingested");
        self.clock.advance_millis(HOUR);
        serde_json::from_str(&answer.response_json).expect("json")
    }

    async fn commissions(&self) -> Vec<CommissionRecord> {
        self.app
            .store
            .read()
            .await
            .expect("read")
            .commissions(
                self.ws,
                &CommissionFilter::default(),
                Page::new(Some(Page::MAX_LIMIT), None),
            )
            .await
            .expect("commissions")
    }

    /// Net commission per partner (every state but those reversed away nets to this).
    async fn net_by_partner(&self) -> BTreeMap<PartnerId, i64> {
        let mut out = BTreeMap::new();
        for commission in self.commissions().await {
            *out.entry(commission.partner_id).or_default() += commission.amount.amount_minor;
        }
        out.retain(|_, amount| *amount != 0);
        out
    }

    async fn customer_id(&self, external_id: &str) -> CustomerId {
        self.app
            .store
            .read()
            .await
            .expect("read")
            .customer_by_external_id(self.ws, external_id)
            .await
            .expect("customer")
            .expect("known")
            .id
    }
}

async fn a_linear_model_shares_every_sale_and_renewals_follow(backend: Backend) {
    let w = world(backend, Model::Linear).await;
    // Partner 0 twice, then partner 1: 2/3 and 1/3 under a linear model.
    let first = w.click(0);
    let second = w.click(0);
    let last = w.click(1);
    let lead = w
        .post(
            "lead-1",
            json!({"type": "lead", "customer_id": "cus_1", "click_id": last, "click_ids": [first, second]}),
        )
        .await;
    assert_eq!(lead["attribution"]["partner_id"], json!(w.partner(0)));
    let credits = lead["credits"].as_array().expect("credits");
    assert_eq!(credits.len(), 2);
    assert_eq!(credits[0]["share_bp"], 6_667);
    assert_eq!(credits[0]["role"], "originator");
    assert_eq!(credits[1]["share_bp"], 3_333);
    assert_eq!(credits[1]["role"], "closer");

    // A sale of 300.00: 10 % split 2/3 : 1/3, and the originator's first-sale bonus (a flat
    // reward is paid in proportion to the share too: 2.00 × 66.67 %).
    let sale = w
        .post(
            "sale-1",
            json!({"type": "sale", "customer_id": "cus_1", "amount_minor": 30_000, "currency": "USD", "invoice_id": "in_1"}),
        )
        .await;
    assert_eq!(sale["commissions"].as_array().map(Vec::len), Some(3));
    let net = w.net_by_partner().await;
    assert_eq!(net.get(&w.partner(0)), Some(&(2_000 + 133)));
    assert_eq!(net.get(&w.partner(1)), Some(&1_000));

    // A renewal with a click of partner 2 in it changes nothing about who is credited.
    let later = w.click(2);
    w.post(
        "renewal-1",
        json!({"type": "renewal", "customer_id": "cus_1", "amount_minor": 9_000, "currency": "USD", "invoice_id": "in_2", "click_id": later}),
    )
    .await;
    let net = w.net_by_partner().await;
    assert_eq!(net.get(&w.partner(0)), Some(&(2_000 + 133 + 600)));
    assert_eq!(net.get(&w.partner(1)), Some(&(1_000 + 300)));
    assert_eq!(net.get(&w.partner(2)), None);

    // Replay of the current plans pays each share as the ledger did.
    let report = replay(
        w.app.store.as_ref(),
        &ReplayRequest {
            workspace_id: w.ws,
            program_id: w.program_id,
            proposed: None,
            from: Timestamp::from_millis(0),
            to: w.app.now(),
            keep_keys: false,
        },
    )
    .await
    .expect("replay");
    assert_eq!(report.current.total_minor, net.values().sum::<i64>());
    assert_eq!(report.acquired, 1, "a shared customer is acquired once");
}

async fn a_coupon_beats_clicks_and_an_approved_deal_beats_both(backend: Backend) {
    let w = world(backend, Model::LastTouch).await;
    attribution::create_coupon(
        &w.app,
        w.ws,
        NewCoupon {
            code: "spring-20".into(),
            program_id: w.program_id,
            partner_id: w.partner(1),
        },
    )
    .await
    .expect("coupon");
    // A coupon code is taken once, whatever its case.
    let again = attribution::create_coupon(
        &w.app,
        w.ws,
        NewCoupon {
            code: "SPRING-20".into(),
            program_id: w.program_id,
            partner_id: w.partner(2),
        },
    )
    .await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");

    // Partner 0's click came last, but partner 1's coupon outranks clicks.
    let click = w.click(0);
    let sale = w
        .post(
            "sale-coupon",
            json!({"type": "sale", "customer_id": "cus_c", "amount_minor": 10_000, "currency": "USD",
                   "invoice_id": "in_c", "click_id": click, "coupon": "Spring-20"}),
        )
        .await;
    assert_eq!(sale["attribution"]["partner_id"], json!(w.partner(1)));
    assert_eq!(sale["credits"].as_array().map(Vec::len), Some(1));

    // Partner 2 registers a deal; another partner cannot register the same customer.
    let deal = attribution::register_deal(
        &w.app,
        w.ws,
        w.partner(2),
        NewDeal {
            program_id: w.program_id,
            customer_id: "cus_d".into(),
            company: "Globex".into(),
            contact_name: "Hank".into(),
            contact_email: "hank@globex.example".into(),
            notes: String::new(),
        },
    )
    .await
    .expect("deal");
    let taken = attribution::register_deal(
        &w.app,
        w.ws,
        w.partner(0),
        NewDeal {
            program_id: w.program_id,
            customer_id: "cus_d".into(),
            company: "Globex".into(),
            contact_name: "Hank".into(),
            contact_email: "hank@globex.example".into(),
            notes: String::new(),
        },
    )
    .await;
    assert!(matches!(taken, Err(AppError::Conflict(_))), "{taken:?}");
    let decided = attribution::decide_deal(&w.app, w.ws, "user:test", deal.id, true, "")
        .await
        .expect("approved");
    assert_eq!(decided.status, "approved");
    let twice = attribution::decide_deal(&w.app, w.ws, "user:test", deal.id, false, "no").await;
    assert!(matches!(twice, Err(AppError::Conflict(_))), "{twice:?}");

    // The customer then comes through partner 0's link with partner 1's coupon: the deal wins.
    let click = w.click(0);
    let sale = w
        .post(
            "sale-deal",
            json!({"type": "sale", "customer_id": "cus_d", "amount_minor": 10_000, "currency": "USD",
                   "invoice_id": "in_d", "click_id": click, "coupon": "SPRING-20"}),
        )
        .await;
    assert_eq!(sale["attribution"]["partner_id"], json!(w.partner(2)));
    let net = w.net_by_partner().await;
    assert_eq!(net.get(&w.partner(0)), None);
    assert_eq!(net.get(&w.partner(1)), Some(&1_000));
    assert_eq!(net.get(&w.partner(2)), Some(&1_000));
}

async fn a_reattribution_reverses_and_posts_and_is_audited(backend: Backend) {
    let w = world(backend, Model::LastTouch).await;
    let click = w.click(0);
    w.post(
        "sale-r",
        json!({"type": "sale", "customer_id": "cus_r", "amount_minor": 50_000, "currency": "USD",
               "invoice_id": "in_r", "click_id": click}),
    )
    .await;
    assert_eq!(
        w.net_by_partner().await,
        BTreeMap::from([(w.partner(0), 5_000)])
    );
    let customer = w.customer_id("cus_r").await;
    let ask = |shares: Vec<ShareInput>, reason: &str| Reattribution {
        program_id: None,
        shares,
        reason: reason.into(),
    };
    // Shares must add up to 10,000.
    let bad = attribution::reattribute(
        &w.app,
        w.ws,
        "user:test",
        customer,
        ask(
            vec![ShareInput {
                partner_id: w.partner(1),
                share_bp: 9_000,
                role: None,
            }],
            "reseller closed it",
        ),
    )
    .await;
    assert!(matches!(bad, Err(AppError::Invalid { .. })), "{bad:?}");

    let split = || {
        vec![
            ShareInput {
                partner_id: w.partner(1),
                share_bp: 7_500,
                role: None,
            },
            ShareInput {
                partner_id: w.partner(2),
                share_bp: 2_500,
                role: None,
            },
        ]
    };
    let done = attribution::reattribute(
        &w.app,
        w.ws,
        "user:test",
        customer,
        ask(split(), "the reseller closed it"),
    )
    .await
    .expect("re-attributed");
    assert!(done.changed);
    // Partner 0 is reversed; partners 1 and 2 earn their shares; partner 2 as an assist
    // also gets a quarter of the first-sale bonus.
    assert_eq!(
        w.net_by_partner().await,
        BTreeMap::from([(w.partner(1), 3_750), (w.partner(2), 1_250 + 50)])
    );
    let reversed = w
        .commissions()
        .await
        .into_iter()
        .filter(|c| c.partner_id == w.partner(0))
        .count();
    assert_eq!(
        reversed, 2,
        "the original and its reversal stay in the ledger"
    );

    // The same shares again change nothing and log nothing.
    let again =
        attribution::reattribute(&w.app, w.ws, "user:test", customer, ask(split(), "again"))
            .await
            .expect("same shares");
    assert!(!again.changed);
    let audit = w
        .app
        .store
        .read()
        .await
        .expect("read")
        .audit_entries(w.ws, &format!("customer:{customer}"))
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].reason, "the reseller closed it");
    assert_eq!(audit[0].action, "customer.reattributed");
    let detail: serde_json::Value = serde_json::from_str(&audit[0].detail_json).expect("json");
    assert_eq!(detail["before"][0]["partner_id"], json!(w.partner(0)));
    assert_eq!(detail["after"][1]["share_bp"], 2_500);

    // Later renewals follow the new shares.
    w.post(
        "renewal-r",
        json!({"type": "renewal", "customer_id": "cus_r", "amount_minor": 10_000, "currency": "USD",
               "invoice_id": "in_r2"}),
    )
    .await;
    assert_eq!(
        w.net_by_partner().await,
        BTreeMap::from([(w.partner(1), 3_750 + 750), (w.partner(2), 1_300 + 250)])
    );
}

/// A shared customer who never reaches the engagement milestone: each partner's commission
/// is voided and reversed in their own ledger (not one partner's clawback for both).
async fn a_void_reverses_each_partners_share_in_their_own_ledger(backend: Backend) {
    let plan: Plan = serde_json::from_value(json!({
        "rules": [{"id": "sales", "trigger": "any_sale", "reward": {"type": "percent", "rate_bp": 1000}}],
        "safeguards": {"hold_days": 5, "approve_after": {"milestone": "activated"}, "engagement_wait_days": 20}
    }))
    .expect("a plan");
    let w = world_with(backend, Model::Linear, plan).await;
    let first = w.click(0);
    let last = w.click(1);
    w.post(
        "sale-v",
        json!({"type": "sale", "customer_id": "cus_v", "amount_minor": 10_000, "currency": "USD",
               "invoice_id": "in_v", "click_id": last, "click_ids": [first]}),
    )
    .await;
    assert_eq!(
        w.net_by_partner().await,
        BTreeMap::from([(w.partner(0), 500), (w.partner(1), 500)])
    );
    w.clock.advance_days(30);
    tributary_app::jobs::run_due(&w.app).await.expect("jobs");
    assert_eq!(w.net_by_partner().await, BTreeMap::new());
    let mut tx = w.app.store.read().await.expect("read");
    for n in 0..2 {
        let balances = tx
            .partner_balances(w.ws, w.partner(n))
            .await
            .expect("balances");
        assert!(
            balances
                .iter()
                .all(|b| b.pending_minor == 0 && b.approved_minor == 0),
            "partner {n}: {balances:?}"
        );
    }
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
    a_linear_model_shares_every_sale_and_renewals_follow,
    a_coupon_beats_clicks_and_an_approved_deal_beats_both,
    a_reattribution_reverses_and_posts_and_is_audited,
    a_void_reverses_each_partners_share_in_their_own_ledger,
);
