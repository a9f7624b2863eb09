//! The partner lifecycle through the app's services, on SQLite and PostgreSQL (issue 6):
//! - a visitor's application is scored, decided by the program's rules or queued, and a
//!   queued one approved in bulk creates the partner and enrolls them in their group, with
//!   a welcome email (sent through a local fake mail relay) holding a one-time link;
//! - a rejection is emailed with its reason, and the cool-down refuses a second try until
//!   it ends; a pilot refuses applications; capacity holds an approval back;
//! - a CSV of 10,000 invitations with 100 bad rows invites 9,900 and reports the 100 by line;
//! - application → vetting → approval → terms → checklist: an applicant approved by a rule
//!   completes each onboarding step by the fact that proves it (profile, payout, tax form,
//!   terms accepted, link, click, training, first referral through ingestion), new terms
//!   undo the terms step until accepted, and the funnel's median time to a first referral;
//!   assets co-branded at download and templates filled with the partner's link.

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tributary_app::admin::{self, NewProgram};
use tributary_app::clock::ManualClock;
use tributary_app::lifecycle::{applications, invitations, program};
use tributary_app::smtp::SmtpConfig;
use tributary_app::{App, AppError, jobs};
use tributary_core::lifecycle::{Decision, ProgramLifecycle, StageName};
use tributary_core::*;
use tributary_store::testing::{Backend, TestDatabase};
use tributary_store::{Email, Page};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400_000;

struct World {
    _db: TestDatabase,
    app: App,
    clock: Arc<ManualClock>,
    ws: WorkspaceId,
    program_id: ProgramId,
}

fn lifecycle() -> ProgramLifecycle {
    serde_json::from_value(json!({
        "headline": "Grow with us",
        "questions": [
            {"id": "audience_size", "label": "Audience size", "kind": "number", "required": true}
        ],
        "groups": [
            {"key": "creators", "name": "Creators", "archetype": "influencer"},
            {"key": "agencies", "name": "Agencies", "archetype": "reseller"}
        ],
        "scorecard": [
            {"label": "Audience", "weight": 70, "measure": "number_steps", "question": "audience_size",
             "steps": [{"at_least": 1000, "points": 50}, {"at_least": 10000, "points": 100}]},
            {"label": "Website", "weight": 30, "measure": "website"}
        ],
        "rules": [
            {"decision": "approve", "reason": "A strong audience.", "when": [{"score_at_least": 90}]},
            {"decision": "reject", "reason": "Audience too small for now.", "when": [{"score_below": 20}]}
        ],
        "reapply_cooldown_days": 30,
        "stage": {"name": "limited", "capacity": 2}
    }))
    .expect("lifecycle")
}

async fn world(backend: Backend) -> World {
    let db = TestDatabase::create(backend)
        .await
        .expect("a test database");
    let store = db.open().await.expect("open");
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START)));
    let app = App::start(store, clock.clone()).await.expect("app");
    app.mail
        .set_public_url(Some("https://partners.example".into()));
    let (workspace, _) = admin::create_workspace(&app, "W", "o@w.example", "owner-password")
        .await
        .expect("workspace");
    let program = admin::create_program(
        &app,
        workspace.id,
        NewProgram {
            name: "Creators Club".into(),
            destination_url: "https://w.example/".into(),
            currency: None,
            window_days: None,
            hold_days: None,
            min_payout_minor: None,
            lead_flat_minor: Some(500),
            sale_percent_bp: None,
            plan: None,
            attribution: None,
        },
    )
    .await
    .expect("program");
    program::configure(
        &app,
        workspace.id,
        program.id,
        "creators",
        lifecycle(),
        "user:test",
    )
    .await
    .expect("configure");
    World {
        _db: db,
        app,
        clock,
        ws: workspace.id,
        program_id: program.id,
    }
}

fn form(email: &str, audience: &str, website: &str) -> BTreeMap<String, String> {
    [
        ("name", "Applicant"),
        ("email", email),
        ("group", "creators"),
        ("audience_size", audience),
        ("website", website),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn emails_to(app: &App, ws: WorkspaceId, to: &str) -> Vec<Email> {
    let mut tx = app.store.read().await.expect("read");
    tx.emails(ws, Some(to), Page::default())
        .await
        .expect("emails")
}

/// A mail relay that accepts everything and keeps each message's recipient and text.
async fn fake_relay() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake ready\r\n").await;
                let (mut to, mut data, mut in_data) = (String::new(), String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            if let Ok(mut all) = store.lock() {
                                all.push((to.clone(), std::mem::take(&mut data)));
                            }
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            data.push('\n');
                        }
                        continue;
                    }
                    let reply: &[u8] = if line.starts_with("RCPT TO:") {
                        to = line
                            .trim_start_matches("RCPT TO:")
                            .trim_matches(['<', '>'])
                            .to_string();
                        b"250 ok\r\n"
                    } else if line == "DATA" {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if line == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (address, received)
}

async fn applications_are_vetted_queued_decided_and_emailed(backend: Backend) {
    let w = world(backend).await;
    let (relay, received) = fake_relay().await;
    w.app.mail.set_relay(Some(SmtpConfig {
        relay,
        from: "partners@w.example".into(),
        hello_name: "tributary.test".into(),
    }));

    // 70×100 + 30×100 = 100: approved by the rule at once.
    let strong = applications::apply(
        &w.app,
        "creators",
        &form("star@x.io", "50000", "https://star.io"),
        Some("203.0.113.9"),
    )
    .await
    .expect("apply");
    assert_eq!(strong.status, "approved");
    assert_eq!(strong.decided_by.as_deref(), Some("rule"));
    assert_eq!(strong.score.total, Some(100));
    assert_ne!(
        strong.ip_hash.as_deref(),
        Some("203.0.113.9"),
        "the IP is hashed"
    );
    let partner_id = strong.partner_id.expect("a partner");
    let mut tx = w.app.store.read().await.expect("read");
    let enrollment = tx
        .enrollment(w.program_id, partner_id)
        .await
        .expect("read")
        .expect("enrolled");
    assert_eq!(
        (
            enrollment.status.as_str(),
            enrollment.partner_group.as_deref()
        ),
        ("approved", Some("creators"))
    );
    let partner = tx
        .partner(w.ws, partner_id)
        .await
        .expect("read")
        .expect("partner");
    assert_eq!(partner.archetype, "influencer");
    assert_eq!(partner.password_hash, None);
    drop(tx);

    // 70×50 + 30×0 = 35: neither rule; queued, with a receipt.
    let middling = applications::apply(&w.app, "creators", &form("mid@x.io", "2000", ""), None)
        .await
        .expect("apply");
    assert_eq!(
        (middling.status.as_str(), middling.score.total),
        ("pending", Some(35))
    );
    // 0: rejected by the rule, with its reason.
    let weak = applications::apply(&w.app, "creators", &form("weak@x.io", "10", ""), None)
        .await
        .expect("apply");
    assert_eq!(weak.status, "rejected");

    // A second application while the first is queued, and inside the cool-down, is refused.
    let again = applications::apply(&w.app, "creators", &form("mid@x.io", "2000", ""), None).await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
    let too_soon =
        applications::apply(&w.app, "creators", &form("weak@x.io", "20000", ""), None).await;
    assert!(
        matches!(&too_soon, Err(AppError::Conflict(message)) if message.contains("2026-01-31")),
        "{too_soon:?}"
    );
    // A bad answer names its field and stores nothing.
    let bad = applications::apply(&w.app, "creators", &form("new@x.io", "lots", ""), None).await;
    assert!(
        matches!(&bad, Err(AppError::Invalid { field: Some(f), .. }) if f == "audience_size"),
        "{bad:?}"
    );

    // The queue holds the middling one; approving it fills the limited stage's 2 places.
    let queue = applications::list(
        &w.app,
        w.ws,
        Some(w.program_id),
        Some("pending"),
        Page::default(),
    )
    .await
    .expect("queue");
    assert_eq!(
        queue.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![middling.id]
    );
    let another = applications::apply(&w.app, "creators", &form("late@x.io", "2000", ""), None)
        .await
        .expect("apply");
    let decided = applications::decide(
        &w.app,
        w.ws,
        &[middling.id, another.id, weak.id],
        Decision::Approve,
        "Good fit",
        "user:admin",
    )
    .await
    .expect("bulk");
    assert!(decided[0].outcome.is_ok(), "{:?}", decided[0].outcome);
    let full = decided[1].outcome.as_ref().expect_err("no room");
    assert!(full.contains("capacity of 2"), "{full}");
    assert_eq!(
        decided[2].outcome.as_ref().expect_err("decided"),
        "already rejected"
    );
    let queue = applications::list(
        &w.app,
        w.ws,
        Some(w.program_id),
        Some("pending"),
        Page::default(),
    )
    .await
    .expect("queue");
    assert_eq!(
        queue.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![another.id],
        "the full one waits"
    );

    // Every email goes out through the relay once the jobs run.
    jobs::run_due(&w.app).await.expect("jobs");
    let welcome = emails_to(&w.app, w.ws, "star@x.io").await;
    assert_eq!(welcome.len(), 1);
    assert_eq!(
        (welcome[0].kind.as_str(), welcome[0].status.as_str()),
        ("application.approved", "sent")
    );
    let link = welcome[0]
        .body
        .lines()
        .find(|line| line.starts_with("https://partners.example/portal/welcome/"))
        .expect("a set-password link")
        .to_string();
    let rejection = emails_to(&w.app, w.ws, "weak@x.io").await;
    assert!(rejection.iter().any(
        |e| e.kind == "application.rejected" && e.body.contains("Audience too small for now.")
    ));
    let relayed = received.lock().expect("lock").clone();
    assert!(
        relayed
            .iter()
            .any(|(to, text)| to == "star@x.io" && text.contains(&link)),
        "{relayed:?}"
    );

    // The welcome link sets a password once.
    let token = link.rsplit('/').next().expect("token");
    let partner = invitations::set_password(&w.app, token, "a long password")
        .await
        .expect("set");
    assert_eq!(partner.id, partner_id);
    let twice = invitations::set_password(&w.app, token, "another password").await;
    assert!(matches!(twice, Err(AppError::NotFound(_))), "{twice:?}");

    // After the cool-down the rejected applicant may try again.
    w.clock.advance_millis(31 * DAY);
    applications::apply(&w.app, "creators", &form("weak@x.io", "2000", ""), None)
        .await
        .expect("after the cool-down");

    // Decisions are audited.
    let mut tx = w.app.store.read().await.expect("read");
    let audit = tx
        .audit_entries(w.ws, &format!("application:{}", middling.id))
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].action.as_str(), audit[0].actor.as_str()),
        ("application.approved", "user:admin")
    );
}

async fn a_pilot_is_by_invitation_and_invitations_enroll(backend: Backend) {
    let w = world(backend).await;
    program::move_stage(
        &w.app,
        w.ws,
        w.program_id,
        StageName::Pilot,
        Some(5),
        "first partners by hand",
        "user:admin",
    )
    .await
    .expect("pilot");
    let refused = applications::apply(&w.app, "creators", &form("a@x.io", "50000", ""), None).await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    let mut tx = w.app.store.read().await.expect("read");
    let moved = tx
        .audit_entries(w.ws, &format!("program:{}", w.program_id))
        .await
        .expect("audit");
    assert!(
        moved
            .iter()
            .any(|e| e.action == "program.stage_moved" && e.reason == "first partners by hand")
    );
    drop(tx);

    let invitation = invitations::invite(
        &w.app,
        w.ws,
        w.program_id,
        &invitations::NewInvitation {
            email: "Guest@X.io".into(),
            name: Some("Guest".into()),
            group: Some("agencies".into()),
        },
        "user:admin",
    )
    .await
    .expect("invite");
    assert_eq!(invitation.email, "guest@x.io");
    let again = invitations::invite(
        &w.app,
        w.ws,
        w.program_id,
        &invitations::NewInvitation {
            email: "guest@x.io".into(),
            ..Default::default()
        },
        "user:admin",
    )
    .await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
    jobs::run_due(&w.app).await.expect("jobs");
    // No relay configured: the email is held, readable, not lost.
    let held = emails_to(&w.app, w.ws, "guest@x.io").await;
    assert_eq!(
        (held[0].kind.as_str(), held[0].status.as_str()),
        ("invitation", "held")
    );
    let link = held[0]
        .body
        .lines()
        .find(|line| line.starts_with("https://partners.example/invite/"))
        .expect("an invitation link");
    let token = link.rsplit('/').next().expect("token");
    let partner = invitations::accept(&w.app, token, "", "guest password")
        .await
        .expect("accept");
    assert_eq!(partner.name, "Guest");
    assert_eq!(partner.archetype, "reseller");
    let mut tx = w.app.store.read().await.expect("read");
    let enrollment = tx
        .enrollment(w.program_id, partner.id)
        .await
        .expect("read")
        .expect("enrolled");
    assert_eq!(
        (
            enrollment.status.as_str(),
            enrollment.partner_group.as_deref()
        ),
        ("approved", Some("agencies"))
    );
    drop(tx);
    let reused = invitations::accept(&w.app, token, "", "guest password").await;
    assert!(matches!(reused, Err(AppError::NotFound(_))), "{reused:?}");

    // An invitation left to expire can be sent again; a live one cannot.
    let later = invitations::NewInvitation {
        email: "late@x.io".into(),
        ..Default::default()
    };
    invitations::invite(&w.app, w.ws, w.program_id, &later, "user:admin")
        .await
        .expect("invite");
    let live = invitations::invite(&w.app, w.ws, w.program_id, &later, "user:admin").await;
    assert!(matches!(live, Err(AppError::Conflict(_))), "{live:?}");
    w.clock.advance_millis(31 * DAY);
    invitations::invite(&w.app, w.ws, w.program_id, &later, "user:admin")
        .await
        .expect("renewed after expiry");
}

async fn a_csv_of_ten_thousand_invites_the_good_and_reports_the_bad(backend: Backend) {
    let w = world(backend).await;
    let mut csv = String::from("name,email,group\n");
    let mut bad_lines = Vec::new();
    for n in 0..10_000 {
        let line = n + 2;
        // Every 100th row is bad, in one of four ways.
        let row = match (n % 100 == 99, (n / 100) % 4) {
            (false, _) => format!("Person {n},person{n}@example.com,creators\n"),
            (true, 0) => format!("Person {n},not-an-email,creators\n"),
            (true, 1) => format!("Person {n},person{n}@example.com,pirates\n"),
            (true, 2) => format!("Person {n},person0@example.com,\n"),
            (true, _) => format!("Per\"son {n},person{n}@example.com,creators\n"),
        };
        if n % 100 == 99 {
            bad_lines.push(line);
        }
        csv.push_str(&row);
    }
    let report = invitations::import_csv(&w.app, w.ws, w.program_id, &csv, "user:admin")
        .await
        .expect("import");
    assert_eq!(report.invited, 9_900);
    assert_eq!(report.errors.len(), 100);
    assert_eq!(
        report.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        bad_lines
    );
    assert!(report.errors.iter().all(|e| !e.message.is_empty()));
    let mut tx = w.app.store.read().await.expect("read");
    let newest = tx
        .invitations(w.ws, w.program_id, Page::new(Some(200), None))
        .await
        .expect("invitations");
    assert_eq!(newest.len(), 200);
    assert!(newest.iter().all(|i| i.status == "sent"));
}

async fn the_checklist_advances_by_the_facts_and_assets_are_co_branded(backend: Backend) {
    use tributary_app::lifecycle::content::{self, NewContent, Upload};
    use tributary_app::lifecycle::onboarding;
    use tributary_app::lifecycle::profile::{self, ProfileInput};
    let w = world(backend).await;
    let strong = applications::apply(
        &w.app,
        "creators",
        &form("ada@x.io", "50000", "https://ada.io"),
        None,
    )
    .await
    .expect("apply");
    let partner_id = strong.partner_id.expect("approved");
    let partner = || async {
        let mut tx = w.app.store.read().await.expect("read");
        tx.partner(w.ws, partner_id)
            .await
            .expect("read")
            .expect("partner")
    };
    let done = |steps: &[onboarding::Step]| -> Vec<&'static str> {
        steps
            .iter()
            .filter(|s| s.done_at.is_some())
            .map(|s| s.key)
            .collect()
    };
    let lists = onboarding::partner_checklists(&w.app, w.ws, &partner().await)
        .await
        .expect("checklist");
    assert_eq!(lists.len(), 1);
    // No terms published and no training yet: those two steps are done by default.
    assert_eq!(
        done(&lists[0].1),
        vec!["terms_accepted", "training_completed"]
    );

    // A training module for creators only, an SVG banner, a template, an announcement.
    let module = content::create(
        &w.app,
        w.ws,
        w.program_id,
        NewContent {
            kind: "training".into(),
            title: "Pitching".into(),
            body: "# Pitch\n\nSay why.".into(),
            partner_group: Some("creators".into()),
            ..Default::default()
        },
        "user:admin",
    )
    .await
    .expect("module");
    let banner = content::create(
        &w.app,
        w.ws,
        w.program_id,
        NewContent {
            kind: "asset".into(),
            title: "Banner".into(),
            body: String::new(),
            file: Some(Upload {
                file_name: "banner.svg".into(),
                content_type: "image/svg+xml".into(),
                bytes: b"<svg><text>{{partner_name}} via {{link}}</text></svg>".to_vec(),
            }),
            ..Default::default()
        },
        "user:admin",
    )
    .await
    .expect("banner");
    content::create(
        &w.app,
        w.ws,
        w.program_id,
        NewContent {
            kind: "template".into(),
            title: "Launch tweet".into(),
            body: "I use {{program_name}}: {{link}}".into(),
            channel: Some("social".into()),
            ..Default::default()
        },
        "user:admin",
    )
    .await
    .expect("template");
    let wrong_group = content::create(
        &w.app,
        w.ws,
        w.program_id,
        NewContent {
            kind: "resource".into(),
            title: "X".into(),
            partner_group: Some("pirates".into()),
            ..Default::default()
        },
        "user:admin",
    )
    .await;
    assert!(matches!(wrong_group, Err(AppError::Invalid { .. })));
    content::create(
        &w.app,
        w.ws,
        w.program_id,
        NewContent {
            kind: "announcement".into(),
            title: "Double commissions in May".into(),
            body: "All May sales pay double.".into(),
            ..Default::default()
        },
        "user:admin",
    )
    .await
    .expect("announcement");
    jobs::run_due(&w.app).await.expect("jobs");
    let mail = emails_to(&w.app, w.ws, "ada@x.io").await;
    assert!(
        mail.iter()
            .any(|e| e.kind == "announcement" && e.body.contains("All May sales pay double."))
    );

    // The partner gets a link: the banner carries their name and link, escaped.
    let link = admin::create_link(
        &w.app,
        w.ws,
        admin::NewLink {
            program_id: w.program_id,
            partner_id,
            code: Some("ada-link".into()),
            destination_url: None,
        },
    )
    .await
    .expect("link");
    let download = content::download(&w.app, w.ws, &partner().await, banner.id)
        .await
        .expect("download");
    let svg = String::from_utf8(download.bytes).expect("utf8");
    assert_eq!(
        svg,
        "<svg><text>Applicant via https://partners.example/r/ada-link</text></svg>"
    );
    let templates = content::templates(&w.app, w.ws, &partner().await)
        .await
        .expect("templates");
    assert_eq!(
        templates[0].text,
        "I use Creators Club: https://partners.example/r/ada-link"
    );
    let mut tx = w.app.store.read().await.expect("read");
    assert_eq!(
        tx.content(w.ws, banner.id)
            .await
            .expect("read")
            .expect("banner")
            .downloads,
        1
    );
    drop(tx);

    // Facts complete steps: a profile, payout details, a tax form, the link, a click, a
    // referral, the training.
    profile::save(
        &w.app,
        w.ws,
        partner_id,
        ProfileInput {
            website: "https://ada.io".into(),
            country: "fr".into(),
            payout_email: "pay@ada.io".into(),
            tax_form_status: "submitted".into(),
            ..Default::default()
        },
    )
    .await
    .expect("profile");
    let click_id = tributary_app::clicks::click(
        &w.app,
        &link,
        tributary_app::clicks::Visit {
            ip: "192.0.2.4",
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
            referrer: None,
        },
    )
    .click_id;
    w.app.clicks.flush().await;
    content::complete_training(&w.app, w.ws, partner_id, module.id)
        .await
        .expect("complete");
    let lists = onboarding::partner_checklists(&w.app, w.ws, &partner().await)
        .await
        .expect("checklist");
    assert_eq!(
        done(&lists[0].1),
        vec![
            "profile_complete",
            "payout_details",
            "tax_form",
            "terms_accepted",
            "first_link",
            "first_click",
            "training_completed"
        ]
    );
    // The funnel: one partner, stuck at their first referral.
    let funnel = onboarding::funnel(&w.app, w.ws, w.program_id)
        .await
        .expect("funnel");
    assert_eq!(funnel.partners, 1);
    let stuck: Vec<(&str, usize)> = funnel
        .steps
        .iter()
        .filter(|s| s.stuck > 0)
        .map(|s| (s.key, s.stuck))
        .collect();
    assert_eq!(stuck, vec![("first_referral", 1)]);
    assert_eq!(funnel.median_hours_to_first_referral, None);

    // New terms undo the terms step until the partner accepts them.
    tributary_app::lifecycle::terms::publish(
        &w.app,
        w.ws,
        w.program_id,
        tributary_app::lifecycle::terms::NewTerms {
            body_markdown: "# Terms".into(),
            payout_schedule: "Monthly".into(),
            termination_policy: "keep".into(),
            grace_days: None,
        },
        "user:admin",
    )
    .await
    .expect("terms");
    let lists = onboarding::partner_checklists(&w.app, w.ws, &partner().await)
        .await
        .expect("checklist");
    assert!(!done(&lists[0].1).contains(&"terms_accepted"));
    tributary_app::lifecycle::terms::accept(&w.app, w.ws, w.program_id, partner_id, 1, None)
        .await
        .expect("accept");
    // 30 hours after joining, the partner's click brings a lead: their first referral.
    w.clock.advance_millis(30 * 3_600_000);
    let request = tributary_app::ingest::parse_event(
        &json!({"type": "lead", "customer_id": "cus_first", "click_id": click_id}),
        w.app.now(),
    )
    .expect("event");
    tributary_app::ingest::ingest(&w.app, w.ws, "lead-first", request)
        .await
        .expect("ingest");
    let lists = onboarding::partner_checklists(&w.app, w.ws, &partner().await)
        .await
        .expect("checklist");
    assert_eq!(
        lists[0].1.iter().filter(|s| s.done_at.is_none()).count(),
        0,
        "every step done"
    );
    let funnel = onboarding::funnel(&w.app, w.ws, w.program_id)
        .await
        .expect("funnel");
    assert!(funnel.steps.iter().all(|s| s.stuck == 0 && s.done == 1));
    assert_eq!(funnel.median_hours_to_first_referral, Some(30));
    // Another partner's download of a creators-only module is "not found".
    let other = admin::create_partner(
        &w.app,
        w.ws,
        admin::NewPartner {
            name: "Other".into(),
            email: "other@x.io".into(),
            archetype: None,
            payout_email: None,
            password: None,
        },
    )
    .await
    .expect("partner");
    let refused = content::download(&w.app, w.ws, &other, banner.id).await;
    assert!(matches!(refused, Err(AppError::NotFound(_))), "{refused:?}");
    let refused = content::complete_training(&w.app, w.ws, other.id, module.id).await;
    assert!(matches!(refused, Err(AppError::NotFound(_))), "{refused:?}");
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
    applications_are_vetted_queued_decided_and_emailed,
    a_pilot_is_by_invitation_and_invitations_enroll,
    a_csv_of_ten_thousand_invites_the_good_and_reports_the_bad,
    the_checklist_advances_by_the_facts_and_assets_are_co_branded,
);
