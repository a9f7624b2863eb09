//! Recruiting over HTTP, pages and forms as a browser submits them (issue 6):
//! - an admin publishes a program's page and form; a visitor applies; a bot that fills the
//!   honeypot is thanked and nothing is stored; a flood from one address is slowed down;
//! - the admin approves from the review queue in bulk; the welcome email's link lets the
//!   partner choose a password and lands them signed in on the portal;
//! - a CSV upload invites the good rows and lists the bad ones by line; an invitation link
//!   enrolls the invitee;
//! - a pilot's page takes no applications.

mod support;

use reqwest::{Client, StatusCode};
use serde_json::json;
use support::{TestApp, admin_client, cookie_client, csrf_token, location, page};
use tributary_app::admin::{self, NewProgram};
use tributary_core::ProgramId;
use tributary_store::Page;

async fn program(t: &TestApp) -> ProgramId {
    admin::create_program(
        &t.app,
        t.workspace_id,
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
    .expect("program")
    .id
}

fn settings() -> String {
    json!({
        "headline": "Grow with Creators Club",
        "value_proposition": "**20% recurring** on every plan. <script>alert(1)</script>",
        "questions": [
            {"id": "audience_size", "label": "Audience size", "kind": "number", "required": true},
            {"id": "channel", "label": "Main channel", "kind": "choice", "choices": ["YouTube", "Blog"]}
        ],
        "groups": [
            {"key": "creators", "name": "Creators", "archetype": "influencer",
             "value_proposition": "Made for *video*."}
        ],
        "scorecard": [
            {"label": "Audience", "weight": 100, "measure": "number_steps", "question": "audience_size",
             "steps": [{"at_least": 100000, "points": 100}]}
        ],
        "rules": [
            {"decision": "approve", "reason": "A large audience.", "when": [{"score_at_least": 100}]}
        ]
    })
    .to_string()
}

/// Publishes the program's page through the admin form.
async fn publish(t: &TestApp, admin: &Client, program_id: ProgramId) {
    let path = format!("/admin/programs/{program_id}/recruitment");
    let (status, html) = page(t, admin, &path).await;
    assert_eq!(status, StatusCode::OK);
    let answer = admin
        .post(t.url(&path))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("slug", "creators"),
            ("document", "{not json"),
        ])
        .send()
        .await
        .expect("save");
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html_back = answer.text().await.expect("body");
    assert!(html_back.contains("not valid JSON"), "the reason is shown");
    assert!(html_back.contains("{not json"), "the input is kept");
    let answer = admin
        .post(t.url(&path))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("slug", "creators"),
            ("document", settings().as_str()),
        ])
        .send()
        .await
        .expect("save");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
}

async fn apply(t: &TestApp, visitor: &Client, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let (status, html) = page(t, visitor, "/join/creators").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_token(&html);
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    let answer = visitor
        .post(t.url("/join/creators"))
        .form(&form)
        .send()
        .await
        .expect("apply");
    let status = answer.status();
    (status, answer.text().await.expect("body"))
}

#[tokio::test]
async fn a_visitor_applies_an_admin_approves_and_the_partner_signs_in() {
    let t = TestApp::start().await;
    let program_id = program(&t).await;
    let admin = admin_client(&t).await;
    publish(&t, &admin, program_id).await;

    // The public page renders the pitch as Markdown, and the script as text.
    let visitor = cookie_client();
    let (status, html) = page(&t, &visitor, "/join/creators").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<strong>20% recurring</strong>"), "{html}");
    assert!(!html.contains("<script>alert"), "raw HTML is not rendered");
    assert!(html.contains("Made for <em>video</em>."));
    assert!(
        html.contains("name=\"fax_number\""),
        "the honeypot is on the form"
    );

    // A bad answer comes back beside its field, with the rest of the input kept.
    let (status, html) = apply(
        &t,
        &visitor,
        &[
            ("name", "Ada"),
            ("email", "ada@x.io"),
            ("group", "creators"),
            ("audience_size", "many"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("is not a whole number"), "{html}");
    assert!(html.contains("value=\"ada@x.io\""));

    // Without the form's token the post is refused.
    let forged = cookie_client()
        .post(t.url("/join/creators"))
        .form(&[
            ("name", "X"),
            ("email", "x@x.io"),
            ("group", "creators"),
            ("audience_size", "5"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // A bot filling the honeypot is thanked; nothing is stored.
    let (status, html) = apply(
        &t,
        &visitor,
        &[
            ("name", "Bot"),
            ("email", "bot@x.io"),
            ("group", "creators"),
            ("audience_size", "5"),
            ("fax_number", "555"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Thank you for applying"));

    let (status, html) = apply(
        &t,
        &visitor,
        &[
            ("name", "Ada"),
            ("email", "ada@x.io"),
            ("group", "creators"),
            ("audience_size", "1500"),
            ("channel", "Blog"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("we will email you our decision")
            || html.contains("will email you our decision")
    );
    let mut tx = t.app.store.read().await.expect("read");
    let stored = tx
        .applications(t.workspace_id, Some(program_id), None, Page::default())
        .await
        .expect("applications");
    drop(tx);
    assert_eq!(stored.len(), 1, "the bot's application was not stored");
    assert_eq!(stored[0].applicant.email, "ada@x.io");

    // The queue shows it; approving it in bulk enrolls Ada.
    let (status, html) = page(&t, &admin, "/admin/applications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("ada@x.io"));
    let id = stored[0].id.to_string();
    let answer = admin
        .post(t.url("/admin/applications/decisions"))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("id", id.as_str()),
            ("reason", "Welcome aboard"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .expect("decide");
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.expect("body");
    assert!(html.contains("ada@x.io: approved"), "{html}");

    // The welcome email holds a one-time link; it sets the password and signs Ada in.
    t.run_jobs().await;
    let (status, emails) = page(&t, &admin, "/admin/emails").await;
    assert_eq!(status, StatusCode::OK);
    assert!(emails.contains("Welcome to Creators Club"));
    let mut tx = t.app.store.read().await.expect("read");
    let welcome = tx
        .emails(t.workspace_id, Some("ada@x.io"), Page::default())
        .await
        .expect("emails")
        .into_iter()
        .find(|email| email.kind == "application.approved")
        .expect("a welcome email");
    drop(tx);
    assert_eq!(welcome.status, "held", "no relay in this test");
    let link = welcome
        .body
        .lines()
        .find(|line| line.contains("/portal/welcome/"))
        .expect("a link");
    let path = &link[link.find("/portal/welcome/").expect("path")..];
    let token = path.trim_start_matches("/portal/welcome/");
    assert!(
        !emails.contains(token),
        "the outbox page never shows a one-time token"
    );
    let ada = cookie_client();
    let (status, html) = page(&t, &ada, path).await;
    assert_eq!(status, StatusCode::OK);
    let answer = ada
        .post(t.url(path))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("password", "ada's long password"),
        ])
        .send()
        .await
        .expect("set password");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), "/portal");
    let (status, _) = page(&t, &ada, "/portal").await;
    assert_eq!(status, StatusCode::OK, "signed in");
    // The link works once.
    let again = cookie_client();
    let (_, html) = page(&t, &again, path).await;
    let answer = again
        .post(t.url(path))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("password", "another password"),
        ])
        .send()
        .await
        .expect("reuse");
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_flood_from_one_address_is_slowed_down() {
    let t = TestApp::start().await;
    let program_id = program(&t).await;
    let admin = admin_client(&t).await;
    publish(&t, &admin, program_id).await;
    let visitor = cookie_client();
    let limit = tributary_app::lifecycle::applications::APPLICATIONS_PER_IP_PER_HOUR as usize;
    for n in 0..limit {
        let email = format!("person{n}@x.io");
        let (status, _) = apply(
            &t,
            &visitor,
            &[
                ("name", "P"),
                ("email", email.as_str()),
                ("group", "creators"),
                ("audience_size", "5"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, html) = apply(
        &t,
        &visitor,
        &[
            ("name", "P"),
            ("email", "one-more@x.io"),
            ("group", "creators"),
            ("audience_size", "5"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(html.contains("try again in an hour"));
    // After the hour the address may apply again.
    t.clock.advance_millis(3_600_000);
    let (status, _) = apply(
        &t,
        &visitor,
        &[
            ("name", "P"),
            ("email", "one-more@x.io"),
            ("group", "creators"),
            ("audience_size", "5"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_csv_upload_invites_and_an_invitation_enrolls() {
    let t = TestApp::start().await;
    let program_id = program(&t).await;
    let admin = admin_client(&t).await;
    publish(&t, &admin, program_id).await;
    let path = format!("/admin/programs/{program_id}/recruitment");
    let (_, html) = page(&t, &admin, &path).await;
    let csrf = csrf_token(&html);
    let csv = "email,name,group\nlin@x.io,Lin,creators\nnot-an-email,Bad,\nmo@x.io,Mo,pirates\n";
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
                .file_name("partners.csv")
                .mime_str("text/csv")
                .expect("mime"),
        );
    let answer = admin
        .post(t.url(&format!("/admin/programs/{program_id}/invitations/import")))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.expect("body");
    assert!(html.contains("1 invited, 2 rows not invited."), "{html}");
    assert!(html.contains("the email is not an address"));
    assert!(
        html.contains("the program has no group &#34;pirates&#34;") || html.contains("pirates")
    );

    // Lin follows the invitation, chooses a password and is enrolled in the group.
    t.run_jobs().await;
    let mut tx = t.app.store.read().await.expect("read");
    let invitation = tx
        .emails(t.workspace_id, Some("lin@x.io"), Page::default())
        .await
        .expect("emails")
        .remove(0);
    drop(tx);
    let link = invitation
        .body
        .lines()
        .find(|l| l.contains("/invite/"))
        .expect("a link");
    let path = &link[link.find("/invite/").expect("path")..];
    let lin = cookie_client();
    let (status, html) = page(&t, &lin, path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("lin@x.io"));
    let answer = lin
        .post(t.url(path))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("name", "Lin"),
            ("password", "lin's long password"),
        ])
        .send()
        .await
        .expect("accept");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (status, _) = page(&t, &lin, "/portal").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = page(&t, &cookie_client(), path).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an accepted invitation is closed"
    );

    // A pilot's page takes no applications.
    let (_, html) = page(
        &t,
        &admin,
        &format!("/admin/programs/{program_id}/recruitment"),
    )
    .await;
    let answer = admin
        .post(t.url(&format!("/admin/programs/{program_id}/stage")))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("stage", "pilot"),
            ("capacity", "10"),
            ("reason", "by hand first"),
        ])
        .send()
        .await
        .expect("stage");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (status, html) = page(&t, &cookie_client(), "/join/creators").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("by invitation only"));
    assert!(!html.contains("id=\"apply\""));
}

#[tokio::test]
async fn an_admin_publishes_terms_fills_the_library_and_suspends_a_partner() {
    let t = TestApp::start().await;
    let program_id = program(&t).await;
    let admin = admin_client(&t).await;
    publish(&t, &admin, program_id).await;
    let partner = admin::create_partner(
        &t.app,
        t.workspace_id,
        admin::NewPartner {
            name: "Pat".into(),
            email: "pat@x.io".into(),
            archetype: None,
            payout_email: None,
            password: None,
        },
    )
    .await
    .expect("partner");
    admin::enroll(&t.app, t.workspace_id, program_id, partner.id)
        .await
        .expect("enroll");

    // Terms: a refused form keeps nothing; a good one publishes version 1.
    let path = format!("/admin/programs/{program_id}/terms");
    let (status, html) = page(&t, &admin, &path).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_token(&html);
    let refused = admin
        .post(t.url(&path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("body_markdown", "# T"),
            ("payout_schedule", "Monthly"),
            ("termination_policy", "burn"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let published = admin
        .post(t.url(&path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("body_markdown", "# Our terms\n\nNo **spam**."),
            ("payout_schedule", "Monthly"),
            ("termination_policy", "forfeit"),
            ("grace_days", "7"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(published.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&t, &admin, &path).await;
    assert!(
        html.contains("Version 1") && html.contains("<strong>spam</strong>"),
        "{html}"
    );
    assert!(html.contains("forfeited"));

    // The library: an SVG asset uploaded as a file.
    let path = format!("/admin/programs/{program_id}/content");
    let (status, html) = page(&t, &admin, &path).await;
    assert_eq!(status, StatusCode::OK);
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf_token(&html))
        .text("kind", "asset")
        .text("title", "Banner")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"<svg><text>{{partner_name}}</text></svg>".to_vec())
                .file_name("banner.svg")
                .mime_str("image/svg+xml")
                .expect("mime"),
        );
    let answer = admin
        .post(t.url(&path))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&t, &admin, &path).await;
    assert!(html.contains("banner.svg"));

    // The funnel counts Pat, stuck at the first step.
    let (status, html) = page(
        &t,
        &admin,
        &format!("/admin/programs/{program_id}/onboarding"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("1 active partners"), "{html}");

    // Suspending from the partner's page needs a reason; with one, it is shown and audited.
    let path = format!("/admin/partners/{}", partner.id);
    let (status, html) = page(&t, &admin, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("version 1 due"), "{html}");
    let csrf = csrf_token(&html);
    let program = program_id.to_string();
    let no_reason = admin
        .post(t.url(&format!("{path}/standing")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("program_id", program.as_str()),
            ("action", "suspend"),
            ("reason", ""),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(no_reason.status(), StatusCode::BAD_REQUEST);
    let suspended = admin
        .post(t.url(&format!("{path}/standing")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("program_id", program.as_str()),
            ("action", "suspend"),
            ("reason", "Brand bidding"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(suspended.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&t, &admin, &path).await;
    assert!(html.contains("suspended") && html.contains("Brand bidding"));
    assert!(html.contains("enrollment.suspended"));
    // Another workspace's partner id is not found.
    let (status, _) = page(
        &t,
        &admin,
        &format!("/admin/partners/{}", uuid::Uuid::now_v7()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_lifecycle_api_configures_decides_invites_and_ends_partnerships() {
    let t = TestApp::start().await;
    let program_id = program(&t).await;
    let settings: serde_json::Value = serde_json::from_str(&settings()).expect("json");
    let path = format!("/api/v1/programs/{program_id}/lifecycle");
    let (status, body) = t.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let bad = t
        .client
        .put(t.url(&path))
        .bearer_auth(&t.key)
        .json(&json!({"slug": "creators", "lifecycle": {"groups": [{"key": "Bad Key", "name": "X", "archetype": "reseller"}]}}))
        .send()
        .await
        .expect("put");
    let (status, body) = support::split(bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "groups[0].key");
    let ok = t
        .client
        .put(t.url(&path))
        .bearer_auth(&t.key)
        .json(&json!({"slug": "creators", "lifecycle": settings}))
        .send()
        .await
        .expect("put");
    let (status, body) = support::split(ok).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["public_path"], "/join/creators");

    // Applications come in through the public page; the API decides them.
    let visitor = cookie_client();
    apply(
        &t,
        &visitor,
        &[
            ("name", "Bo"),
            ("email", "bo@x.io"),
            ("group", "creators"),
            ("audience_size", "10"),
        ],
    )
    .await;
    let (status, listing) = t.get("/api/v1/applications?status=pending").await;
    assert_eq!(status, StatusCode::OK);
    let id = listing["data"][0]["id"]
        .as_str()
        .expect("an application")
        .to_string();
    let (status, body) = t
        .post(
            "/api/v1/applications/decisions",
            &json!({"ids": [id, id], "decision": "approve", "reason": "ok"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"][0]["decided"], true);
    assert_eq!(
        body["data"][1]["decided"], false,
        "the same application twice"
    );
    let partner_id = body["data"][0]["application"]["partner_id"]
        .as_str()
        .expect("partner")
        .to_string();

    // A CSV body of invitations.
    let import = t
        .client
        .post(t.url(&format!("/api/v1/programs/{program_id}/invitations/import")))
        .bearer_auth(&t.key)
        .header("content-type", "text/csv")
        .body("email\nzed@x.io\nnope\n")
        .send()
        .await
        .expect("import");
    let (status, body) = support::split(import).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["invited"], 1);
    assert_eq!(body["errors"][0]["line"], 3);

    // Terms, then a termination under them.
    let (status, body) = t
        .post(
            &format!("/api/v1/programs/{program_id}/terms"),
            &json!({"body_markdown": "# T", "payout_schedule": "Monthly", "termination_policy": "forfeit"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["version"], 1);
    let (status, body) = t
        .post(
            &format!("/api/v1/partners/{partner_id}/standing"),
            &json!({"program_id": program_id, "action": "terminate", "reason": "closed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["termination"]["policy"], "forfeit");
    let (status, body) = t
        .post(
            &format!("/api/v1/partners/{partner_id}/standing"),
            &json!({"program_id": program_id, "action": "suspend", "reason": "again"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = t.get("/api/v1/emails?to=bo@x.io").await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = body["data"]
        .as_array()
        .expect("emails")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"enrollment.terminated") && kinds.contains(&"application.approved"),
        "{kinds:?}"
    );
    let (status, body) = t
        .get(&format!("/api/v1/programs/{program_id}/onboarding"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["partners"], 0,
        "a terminated partner is not onboarding"
    );

    // A partner key may not touch any of it.
    let (partner_key, _) = tributary_app::auth::create_api_key(
        &t.app,
        t.workspace_id,
        Some(partner_id.parse().expect("id")),
        "partner",
    )
    .await
    .expect("key");
    let (status, _) = t.get_as(&partner_key, "/api/v1/applications").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.get_as(&partner_key, "/api/v1/emails").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_leaderboard_and_the_public_recognition_page_show_only_opted_in_names() {
    let t = TestApp::start().await;
    let program_id = program(&t).await;
    let admin = admin_client(&t).await;
    publish(&t, &admin, program_id).await;
    let mut links = Vec::new();
    for (n, name) in ["Quiet Quinn", "Loud Lee"].iter().enumerate() {
        let partner = admin::create_partner(
            &t.app,
            t.workspace_id,
            admin::NewPartner {
                name: name.to_string(),
                email: format!("p{n}@x.io"),
                archetype: None,
                payout_email: None,
                password: Some("partner-password".into()),
            },
        )
        .await
        .expect("partner");
        admin::enroll(&t.app, t.workspace_id, program_id, partner.id)
            .await
            .expect("enroll");
        links.push(
            admin::create_link(
                &t.app,
                t.workspace_id,
                admin::NewLink {
                    program_id,
                    partner_id: partner.id,
                    code: Some(format!("lead-{n}")),
                    destination_url: None,
                },
            )
            .await
            .expect("link"),
        );
    }
    for (n, link) in links.iter().enumerate() {
        let click = tributary_app::clicks::click(
            &t.app,
            link,
            tributary_app::clicks::Visit {
                ip: "192.0.2.9",
                user_agent: support::BROWSER_UA,
                referrer: None,
            },
        )
        .click_id;
        let (status, _, body) = t
            .event(
                &format!("sale-{n}"),
                &json!({"type": "sale", "customer_id": format!("c{n}"), "click_id": click,
                        "amount_minor": 10_000 * (n as i64 + 1), "currency": "USD", "invoice_id": format!("in{n}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Lee opts in under a display name; Quinn does not.
    tributary_app::lifecycle::profile::save(
        &t.app,
        t.workspace_id,
        links[1].partner_id,
        tributary_app::lifecycle::profile::ProfileInput {
            display_name: "Lee the Loud".into(),
            show_on_leaderboard: true,
            ..Default::default()
        },
    )
    .await
    .expect("opt in");

    let quinn = cookie_client();
    let (_, html) = page(&t, &quinn, "/portal/login").await;
    let answer = quinn
        .post(t.url("/portal/login"))
        .form(&[
            ("email", "p0@x.io"),
            ("password", "partner-password"),
            ("csrf_token", csrf_token(&html).as_str()),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (status, html) = page(&t, &quinn, "/portal/leaderboard").await;
    assert_eq!(status, StatusCode::OK);
    let lee = html.find("Lee the Loud").expect("Lee opted in");
    let you = html.find("<strong>You</strong>").expect("Quinn's own row");
    assert!(lee < you, "Lee (200.00) ranks above Quinn (100.00)");
    assert_eq!(
        html.matches("Quiet Quinn").count(),
        1,
        "Quinn's name is only in the header, as the one signed in"
    );

    // The public page names Lee only.
    let (status, html) = page(&t, &cookie_client(), "/recognition/creators").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Lee the Loud"));
    assert!(!html.contains("Quiet Quinn"));
    let (status, _) = page(&t, &cookie_client(), "/recognition/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
