//! Conduct and terms through the real ingestion path, on SQLite and PostgreSQL (issue 6):
//! - terminating a partner under terms that forfeit: their pending commission is reversed in
//!   the ledger with the reason, approved money stays theirs, their link wins no new
//!   customer, their customer's renewal pays them nothing, and a later refund does not take
//!   the forfeited money twice; under terms that keep, pending money is approved as usual;
//! - a suspension pays nothing for what happens while it lasts, and earning resumes on
//!   reinstatement; every decision is audited and emailed;
//! - a partner past the grace period of new terms earns nothing until they accept.

use serde_json::json;
use std::sync::Arc;
use tributary_app::admin::{self, NewLink, NewPartner, NewProgram};
use tributary_app::clicks::{self, Visit};
use tributary_app::clock::ManualClock;
use tributary_app::lifecycle::standing;
use tributary_app::lifecycle::terms::{self, NewTerms};
use tributary_app::{App, AppError, ingest, jobs};
use tributary_core::ledger::PartnerBalance;
use tributary_core::*;
use tributary_store::testing::{Backend, TestDatabase};
use tributary_store::{CommissionFilter, Link, Page};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400_000;
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0";

struct World {
    _db: TestDatabase,
    app: App,
    clock: Arc<ManualClock>,
    ws: WorkspaceId,
    program_id: ProgramId,
    links: Vec<Link>,
}

async fn world(backend: Backend) -> World {
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
    // 10% of every sale, held 7 days.
    let program = admin::create_program(
        &app,
        ws,
        NewProgram {
            name: "P".into(),
            destination_url: "https://w.example/".into(),
            currency: None,
            window_days: Some(30),
            hold_days: Some(7),
            min_payout_minor: Some(0),
            lead_flat_minor: None,
            sale_percent_bp: Some(1_000),
            plan: None,
            attribution: None,
        },
    )
    .await
    .expect("program");
    let mut links = Vec::new();
    for n in 0..2 {
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
    app.clicks.flush().await;
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

    fn click(&self, n: usize) -> String {
        let id = clicks::click(
            &self.app,
            &self.links[n],
            Visit {
                ip: "192.0.2.1",
                user_agent: BROWSER,
                referrer: None,
            },
        )
        .click_id;
        self.clock.advance_millis(60_000);
        id
    }

    async fn post(&self, key: &str, body: serde_json::Value) -> serde_json::Value {
        let request = ingest::parse_event(&body, self.app.now()).expect("valid event");
        let answer = ingest::ingest(&self.app, self.ws, key, request)
            .await
            .expect("ingested");
        self.clock.advance_millis(60_000);
        serde_json::from_str(&answer.response_json).expect("json")
    }

    async fn sale(&self, key: &str, customer: &str, click: Option<&str>, kind: &str, minor: i64) {
        let mut body = json!({"type": kind, "customer_id": customer, "amount_minor": minor,
                              "currency": "USD", "invoice_id": key});
        if let Some(click) = click {
            body["click_id"] = json!(click);
        }
        self.post(key, body).await;
    }

    async fn balance(&self, n: usize) -> PartnerBalance {
        self.app
            .store
            .read()
            .await
            .expect("read")
            .partner_balances(self.ws, self.partner(n))
            .await
            .expect("balances")
            .into_iter()
            .next()
            .unwrap_or(PartnerBalance::zero(Currency::USD))
    }

    async fn unbalanced(&self) -> usize {
        let mut tx = self.app.store.read().await.expect("read");
        tx.unbalanced_transactions(self.ws)
            .await
            .expect("check")
            .len()
    }

    async fn audit(&self, n: usize) -> Vec<String> {
        let mut tx = self.app.store.read().await.expect("read");
        tx.audit_entries(self.ws, &format!("partner:{}", self.partner(n)))
            .await
            .expect("audit")
            .into_iter()
            .map(|entry| format!("{} {}", entry.action, entry.reason))
            .collect()
    }
}

async fn terms(w: &World, policy: &str, grace_days: u32) {
    terms::publish(
        &w.app,
        w.ws,
        w.program_id,
        NewTerms {
            body_markdown: "# Terms\n\nBe honest.".into(),
            payout_schedule: "Monthly, net 30".into(),
            termination_policy: policy.into(),
            grace_days: Some(grace_days),
        },
        "user:admin",
    )
    .await
    .expect("publish");
}

async fn accept_current(w: &World, n: usize) {
    let status = terms::status(&w.app, w.ws, w.program_id, w.partner(n))
        .await
        .expect("status");
    let version = status.current.expect("terms").version;
    terms::accept(
        &w.app,
        w.ws,
        w.program_id,
        w.partner(n),
        version,
        Some("198.51.100.7"),
    )
    .await
    .expect("accept");
}

async fn a_termination_forfeits_pending_money_and_stops_the_links(backend: Backend) {
    let w = world(backend).await;
    terms(&w, "forfeit", 14).await;
    accept_current(&w, 0).await;
    accept_current(&w, 1).await;
    // An approved sale (past its 7-day hold) and a pending one.
    let click = w.click(0);
    w.sale("in_1", "cus_1", Some(&click), "sale", 10_000).await;
    w.clock.advance_millis(8 * DAY);
    jobs::run_due(&w.app).await.expect("jobs");
    let click = w.click(0);
    w.sale("in_2", "cus_2", Some(&click), "sale", 20_000).await;
    let before = w.balance(0).await;
    assert_eq!(
        (before.approved_minor, before.pending_minor),
        (1_000, 2_000)
    );

    let ended = standing::terminate(
        &w.app,
        w.ws,
        w.program_id,
        w.partner(0),
        "fake reviews",
        "user:admin",
    )
    .await
    .expect("terminate");
    assert_eq!(
        (
            ended.policy.as_str(),
            ended.forfeited_keys,
            ended.forfeited_minor
        ),
        ("forfeit", 1, 2_000)
    );
    let after = w.balance(0).await;
    assert_eq!(
        (after.approved_minor, after.pending_minor),
        (1_000, 0),
        "approved money stays"
    );
    assert_eq!(w.unbalanced().await, 0);
    let mut tx = w.app.store.read().await.expect("read");
    let enrollment = tx
        .enrollment(w.program_id, w.partner(0))
        .await
        .expect("read")
        .expect("enrolled");
    assert_eq!(
        (
            enrollment.status.as_str(),
            enrollment.status_reason.as_deref()
        ),
        ("terminated", Some("fake reviews"))
    );
    let reversal = tx
        .commissions(
            w.ws,
            &CommissionFilter {
                partner_id: Some(w.partner(0)),
                ..Default::default()
            },
            Page::default(),
        )
        .await
        .expect("commissions")
        .into_iter()
        .find(|c| c.explanation.summary.starts_with("forfeited"))
        .expect("a forfeit posting");
    assert_eq!(reversal.amount.amount_minor, -2_000);
    assert!(reversal.explanation.summary.contains("fake reviews"));
    drop(tx);

    // The link still redirects but wins no new customer; partner 1's later click does.
    let old_click = w.click(0);
    let answer = w
        .post(
            "lead_3",
            json!({"type": "lead", "customer_id": "cus_3", "click_id": old_click}),
        )
        .await;
    assert_eq!(answer["credits"], json!([]), "{answer}");
    assert!(
        answer["unattributed_reason"]
            .as_str()
            .is_some_and(|why| why.contains("not earning")),
        "{answer}"
    );
    let click_1 = w.click(1);
    w.sale("in_4", "cus_4", Some(&click_1), "sale", 5_000).await;
    assert_eq!(w.balance(1).await.pending_minor, 500);

    // The terminated partner's customer renews: nothing for them. A refund of the forfeited
    // sale takes nothing twice.
    w.sale("in_5", "cus_2", None, "renewal", 20_000).await;
    w.post(
        "refund_2",
        json!({"type": "refund", "customer_id": "cus_2", "amount_minor": 20_000,
                              "currency": "USD", "invoice_id": "in_2"}),
    )
    .await;
    let last = w.balance(0).await;
    assert_eq!((last.approved_minor, last.pending_minor), (1_000, 0));
    assert_eq!(w.unbalanced().await, 0);
    // A sale of before the termination, reported late, posts pending money; under terms
    // that forfeit, its approval forfeits it instead.
    w.post(
        "late_1",
        json!({"type": "sale", "customer_id": "cus_1", "amount_minor": 30_000,
        "currency": "USD", "invoice_id": "in_late", "occurred_at": "2026-01-05T00:00:00Z"}),
    )
    .await;
    assert_eq!(w.balance(0).await.pending_minor, 3_000, "posted pending");
    w.clock.advance_millis(8 * DAY);
    jobs::run_due(&w.app).await.expect("jobs");
    let late = w.balance(0).await;
    assert_eq!(
        (late.approved_minor, late.pending_minor),
        (1_000, 0),
        "forfeited, not approved"
    );
    assert_eq!(w.unbalanced().await, 0);
    // Replay of the current plans agrees with the ledger: what was forfeited costs nothing.
    let report = tributary_app::replay::replay(
        w.app.store.as_ref(),
        &tributary_app::replay::ReplayRequest {
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
    let (zero, one) = (w.balance(0).await, w.balance(1).await);
    let ledger_net =
        zero.approved_minor + zero.pending_minor + one.approved_minor + one.pending_minor;
    assert_eq!(report.current.total_minor, ledger_net);
    // Terminating twice is refused; the decision is audited and emailed.
    let again = standing::terminate(
        &w.app,
        w.ws,
        w.program_id,
        w.partner(0),
        "again",
        "user:admin",
    )
    .await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
    assert!(
        w.audit(0)
            .await
            .contains(&"enrollment.terminated fake reviews".to_string())
    );
    let mut tx = w.app.store.read().await.expect("read");
    let emails = tx
        .emails(w.ws, Some("p0@w.example"), Page::default())
        .await
        .expect("emails");
    assert!(
        emails
            .iter()
            .any(|e| e.kind == "enrollment.terminated" && e.body.contains("fake reviews"))
    );
}

async fn terms_that_keep_leave_pending_money_to_be_approved(backend: Backend) {
    let w = world(backend).await;
    terms(&w, "keep", 14).await;
    accept_current(&w, 0).await;
    let click = w.click(0);
    w.sale("in_1", "cus_1", Some(&click), "sale", 10_000).await;
    let ended = standing::terminate(
        &w.app,
        w.ws,
        w.program_id,
        w.partner(0),
        "program closed",
        "user:admin",
    )
    .await
    .expect("terminate");
    assert_eq!((ended.policy.as_str(), ended.forfeited_minor), ("keep", 0));
    w.clock.advance_millis(8 * DAY);
    jobs::run_due(&w.app).await.expect("jobs");
    let balance = w.balance(0).await;
    assert_eq!((balance.approved_minor, balance.pending_minor), (1_000, 0));
}

async fn a_suspension_pays_nothing_while_it_lasts(backend: Backend) {
    let w = world(backend).await;
    let click = w.click(0);
    w.sale("in_1", "cus_1", Some(&click), "sale", 10_000).await;
    standing::suspend(
        &w.app,
        w.ws,
        w.program_id,
        w.partner(0),
        "traffic under review",
        "user:admin",
    )
    .await
    .expect("suspend");
    w.sale("in_2", "cus_1", None, "renewal", 10_000).await;
    assert_eq!(
        w.balance(0).await.pending_minor,
        1_000,
        "the renewal during the suspension earns nothing"
    );
    let twice = standing::suspend(
        &w.app,
        w.ws,
        w.program_id,
        w.partner(0),
        "again",
        "user:admin",
    )
    .await;
    assert!(matches!(twice, Err(AppError::Conflict(_))));
    // An invitation does not slip a suspended partner back in.
    let invited = tributary_app::lifecycle::invitations::invite(
        &w.app,
        w.ws,
        w.program_id,
        &tributary_app::lifecycle::invitations::NewInvitation {
            email: "p0@w.example".into(),
            ..Default::default()
        },
        "user:admin",
    )
    .await;
    assert!(
        matches!(&invited, Err(AppError::Conflict(m)) if m.contains("suspended")),
        "{invited:?}"
    );
    let no_reason =
        standing::reinstate(&w.app, w.ws, w.program_id, w.partner(0), " ", "user:admin").await;
    assert!(matches!(no_reason, Err(AppError::Invalid { .. })));
    standing::reinstate(
        &w.app,
        w.ws,
        w.program_id,
        w.partner(0),
        "traffic is fine",
        "user:admin",
    )
    .await
    .expect("reinstate");
    w.sale("in_3", "cus_1", None, "renewal", 10_000).await;
    // The renewal after reinstatement earns; the one during the suspension still does not.
    assert_eq!(w.balance(0).await.pending_minor, 2_000);
    assert_eq!(
        w.audit(0).await,
        vec![
            "enrollment.suspended traffic under review".to_string(),
            "enrollment.reinstated traffic is fine".to_string()
        ]
    );
    assert_eq!(w.unbalanced().await, 0);
}

async fn new_terms_not_accepted_in_time_pause_earning_until_accepted(backend: Backend) {
    let w = world(backend).await;
    let click = w.click(0);
    w.sale("in_1", "cus_1", Some(&click), "sale", 10_000).await;
    terms(&w, "keep", 14).await;
    let status = terms::status(&w.app, w.ws, w.program_id, w.partner(0))
        .await
        .expect("status");
    assert!(status.needs_acceptance() && !status.overdue);
    // Inside the grace period a renewal earns.
    w.clock.advance_millis(10 * DAY);
    w.sale("in_2", "cus_1", None, "renewal", 10_000).await;
    assert_eq!(w.balance(0).await.pending_minor, 2_000);
    // Past it, nothing, until the partner accepts.
    w.clock.advance_millis(5 * DAY);
    let status = terms::status(&w.app, w.ws, w.program_id, w.partner(0))
        .await
        .expect("status");
    assert!(status.overdue);
    w.sale("in_3", "cus_1", None, "renewal", 10_000).await;
    let balance = w.balance(0).await;
    assert_eq!(balance.pending_minor + balance.approved_minor, 2_000);
    // Accepting an old version is refused; the current one is recorded with a hashed IP.
    let stale = terms::accept(&w.app, w.ws, w.program_id, w.partner(0), 7, None).await;
    assert!(matches!(stale, Err(AppError::Conflict(_))), "{stale:?}");
    accept_current(&w, 0).await;
    let mut tx = w.app.store.read().await.expect("read");
    let acceptance = tx
        .terms_acceptances(w.program_id, Some(w.partner(0)))
        .await
        .expect("read")
        .remove(0);
    assert!(
        acceptance
            .ip_hash
            .as_deref()
            .is_some_and(|hash| hash != "198.51.100.7")
    );
    drop(tx);
    w.sale("in_4", "cus_1", None, "renewal", 10_000).await;
    let balance = w.balance(0).await;
    assert_eq!(balance.pending_minor + balance.approved_minor, 3_000);
    assert_eq!(w.unbalanced().await, 0);
}

async fn tiers_follow_measured_performance_and_the_leaderboard_shows_opted_in_names(
    backend: Backend,
) {
    use tributary_app::lifecycle::{profile, program, tiers};
    let w = world(backend).await;
    let lifecycle = serde_json::from_value(json!({
        "tiers": {"tiers": [
            {"name": "silver"},
            {"name": "gold", "revenue_minor": 15000, "retained_customers": 1}
        ], "window_days": 90, "review_every_days": 7},
        "stage": {"name": "open", "gates": [
            {"metric": "active_partners", "at_least": 1},
            {"metric": "roi_percent", "at_least": 300, "window_days": 60},
            {"metric": "new_customers", "at_least": 5}
        ]}
    }))
    .expect("lifecycle");
    program::configure(&w.app, w.ws, w.program_id, "tiers", lifecycle, "user:admin")
        .await
        .expect("configure");
    let click = w.click(0);
    w.sale("in_1", "cus_1", Some(&click), "sale", 20_000).await;
    jobs::run_due(&w.app).await.expect("review");
    let tier = |n: usize| {
        let w = &w;
        async move {
            let mut tx = w.app.store.read().await.expect("read");
            tx.enrollment(w.program_id, w.partner(n))
                .await
                .expect("read")
                .expect("enrolled")
                .tier
        }
    };
    assert_eq!(tier(0).await.as_deref(), Some("gold"));
    assert_eq!(tier(1).await.as_deref(), Some("silver"));
    assert!(
        w.audit(0).await.contains(&"tier.promoted ".to_string()),
        "{:?}",
        w.audit(0).await
    );
    let mut tx = w.app.store.read().await.expect("read");
    let mail = tx
        .emails(w.ws, Some("p0@w.example"), Page::default())
        .await
        .expect("emails");
    assert!(
        mail.iter()
            .any(|e| e.kind == "tier.promoted" && e.subject.contains("gold"))
    );

    // The leaderboard ranks by net revenue; a name shows only once the partner opts in.
    let program = tx
        .program(w.ws, w.program_id)
        .await
        .expect("read")
        .expect("program");
    let (from, to) = tiers::quarter_of(w.app.now());
    let board = tiers::leaderboard(tx.as_mut(), &program, from, to)
        .await
        .expect("board");
    assert_eq!(board.len(), 1);
    assert_eq!(
        (
            board[0].rank,
            board[0].partner_id,
            board[0].revenue.amount_minor
        ),
        (1, w.partner(0), 20_000)
    );
    assert_eq!(board[0].shown_as, None);
    drop(tx);
    profile::save(
        &w.app,
        w.ws,
        w.partner(0),
        profile::ProfileInput {
            display_name: "Top Seller".into(),
            show_on_leaderboard: true,
            ..Default::default()
        },
    )
    .await
    .expect("opt in");
    let mut tx = w.app.store.read().await.expect("read");
    let board = tiers::leaderboard(tx.as_mut(), &program, from, to)
        .await
        .expect("board");
    assert_eq!(board[0].shown_as.as_deref(), Some("Top Seller"));
    drop(tx);

    // The stage's gates: one active partner, revenue 20,000 on 2,000 of commission (1000%),
    // one new customer of five.
    let gates = tiers::gate_progress(&w.app, w.ws, w.program_id)
        .await
        .expect("gates");
    let seen: Vec<(Option<i64>, bool)> = gates.iter().map(|g| (g.measured, g.met)).collect();
    assert_eq!(
        seen,
        vec![(Some(1), true), (Some(1000), true), (Some(1), false)]
    );

    // A quarter later the sale is out of the window: the next review demotes.
    w.clock.advance_millis(100 * DAY);
    jobs::run_due(&w.app).await.expect("reviews");
    assert_eq!(tier(0).await.as_deref(), Some("silver"));
    assert!(w.audit(0).await.contains(&"tier.demoted ".to_string()));
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
    a_termination_forfeits_pending_money_and_stops_the_links,
    terms_that_keep_leave_pending_money_to_be_approved,
    a_suspension_pays_nothing_while_it_lasts,
    new_terms_not_accepted_in_time_pause_earning_until_accepted,
    tiers_follow_measured_performance_and_the_leaderboard_shows_opted_in_names,
);
