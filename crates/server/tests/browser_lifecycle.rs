//! The partner lifecycle in a real headless Chromium (issue 6): a visitor applies on the
//! program's public page; an admin approves the application from the review queue; the
//! partner follows the welcome link from their email, chooses a password and lands in the
//! portal, accepts the program's terms, downloads a co-branded banner and sees the
//! onboarding checklist advance. Screenshots go to `/tmp/tributary-join.png`,
//! `/tmp/tributary-queue.png` and `/tmp/tributary-checklist.png`.
//!
//! Needs `chromedriver` and `/usr/bin/chromium` (Debian: `apt-get install chromium
//! chromium-driver`). Without them the test fails.

mod support;

use fantoccini::{Client, Locator};
use std::sync::Arc;
use support::browser::{Chromedriver, PAGE_TIMEOUT, connect};
use tempfile::TempDir;
use tributary_app::App;
use tributary_app::admin::{self, NewProgram};
use tributary_app::clock::SystemClock;
use tributary_app::lifecycle::content::{self, NewContent, Upload};
use tributary_app::lifecycle::{program, terms};
use tributary_core::{ProgramId, WorkspaceId};
use tributary_store::Page;
use tributary_store::sqlite::SqliteStore;

const OWNER_EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "correct horse battery";
const APPLICANT_EMAIL: &str = "rosa@creators.example";

struct Seeded {
    base: String,
    app: App,
    ws: WorkspaceId,
    program_id: ProgramId,
    banner_id: uuid::Uuid,
    _dir: TempDir,
}

async fn start_server() -> Seeded {
    let dir = tempfile::tempdir().expect("a temp dir");
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let store = SqliteStore::open(&url).await.expect("the store opens");
    let app = App::start(Arc::new(store), Arc::new(SystemClock))
        .await
        .expect("the app starts");
    let (workspace, _) = admin::create_workspace(&app, "Acme", OWNER_EMAIL, PASSWORD)
        .await
        .expect("workspace");
    let ws = workspace.id;
    let created = admin::create_program(
        &app,
        ws,
        NewProgram {
            name: "Acme Creators".into(),
            destination_url: "https://acme.example/".into(),
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
    let lifecycle = serde_json::from_value(serde_json::json!({
        "headline": "Create with Acme",
        "value_proposition": "**20%** of every plan.",
        "questions": [{"id": "audience_size", "label": "Monthly audience", "kind": "number", "required": true}],
        "groups": [{"key": "creators", "name": "Creators", "archetype": "influencer"}]
    }))
    .expect("lifecycle");
    program::configure(&app, ws, created.id, "acme", lifecycle, "user:seed")
        .await
        .expect("configure");
    terms::publish(
        &app,
        ws,
        created.id,
        terms::NewTerms {
            body_markdown: "# Acme terms\n\nNo brand bidding.".into(),
            payout_schedule: "Monthly".into(),
            termination_policy: "keep".into(),
            grace_days: Some(14),
        },
        "user:seed",
    )
    .await
    .expect("terms");
    let banner = content::create(
        &app,
        ws,
        created.id,
        NewContent {
            kind: "asset".into(),
            title: "Banner".into(),
            file: Some(Upload {
                file_name: "banner.svg".into(),
                content_type: "image/svg+xml".into(),
                bytes: b"<svg xmlns=\"http://www.w3.org/2000/svg\"><text>{{partner_name}} recommends {{program_name}}</text></svg>".to_vec(),
            }),
            ..Default::default()
        },
        "user:seed",
    )
    .await
    .expect("banner");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    app.mail.set_public_url(Some(base.clone()));
    tokio::spawn(tributary_server::serve(
        listener,
        app.clone(),
        std::future::pending(),
    ));
    Seeded {
        base,
        app,
        ws,
        program_id: created.id,
        banner_id: banner.id,
        _dir: dir,
    }
}

type Outcome = Result<(), Box<dyn std::error::Error>>;

async fn fill(browser: &Client, id: &str, text: &str) -> Outcome {
    browser.find(Locator::Id(id)).await?.send_keys(text).await?;
    Ok(())
}

async fn screenshot(browser: &Client, path: &str) -> Outcome {
    std::fs::write(path, browser.screenshot().await?)?;
    Ok(())
}

/// The text of the welcome link the approval emailed (held: no relay in the test).
async fn welcome_link(seeded: &Seeded) -> Result<String, Box<dyn std::error::Error>> {
    tributary_app::jobs::run_due(&seeded.app).await?;
    let mut tx = seeded.app.store.read().await?;
    let emails = tx
        .emails(seeded.ws, Some(APPLICANT_EMAIL), Page::default())
        .await?;
    let welcome = emails
        .iter()
        .find(|email| email.kind == "application.approved")
        .ok_or("no welcome email")?;
    let link = welcome
        .body
        .lines()
        .find(|line| line.contains("/portal/welcome/"))
        .ok_or("no link in the welcome email")?;
    Ok(link.trim().to_string())
}

async fn flow(browser: &Client, seeded: &Seeded) -> Outcome {
    let base = seeded.base.as_str();
    let program = seeded.program_id;

    // A visitor applies on the public page.
    browser.goto(&format!("{base}/join/acme")).await?;
    fill(browser, "name", "Rosa Creates").await?;
    fill(browser, "email", APPLICANT_EMAIL).await?;
    fill(browser, "website", "https://rosa.example").await?;
    browser
        .find(Locator::Id("group"))
        .await?
        .select_by_value("creators")
        .await?;
    fill(browser, "q-audience_size", "2500").await?;
    screenshot(browser, "/tmp/tributary-join.png").await?;
    browser
        .find(Locator::Css("#apply button[type=submit]"))
        .await?
        .click()
        .await?;
    let thanks = browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css("section.card h1"))
        .await?;
    assert_eq!(thanks.text().await?, "Thank you for applying");

    // The admin approves it from the review queue.
    browser.delete_all_cookies().await?;
    browser.goto(&format!("{base}/admin/login")).await?;
    fill(browser, "email", OWNER_EMAIL).await?;
    fill(browser, "password", PASSWORD).await?;
    browser
        .find(Locator::Css("form.stacked button[type=submit]"))
        .await?
        .click()
        .await?;
    browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css("nav a.active[href='/admin']"))
        .await?;
    browser.goto(&format!("{base}/admin/applications")).await?;
    browser
        .find(Locator::Css(&format!(
            "input[type=checkbox][aria-label='Select {APPLICANT_EMAIL}']"
        )))
        .await?
        .click()
        .await?;
    browser
        .find(Locator::Css("#queue input[name=reason]"))
        .await?
        .send_keys("Welcome, Rosa")
        .await?;
    screenshot(browser, "/tmp/tributary-queue.png").await?;
    browser
        .find(Locator::Css("#queue button[value=approve]"))
        .await?
        .click()
        .await?;
    let results = browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Id("decision-results"))
        .await?;
    assert!(
        results
            .text()
            .await?
            .contains(&format!("{APPLICANT_EMAIL}: approved")),
        "the queue reports the approval"
    );

    // The partner follows the welcome link, chooses a password and lands in the portal.
    let link = welcome_link(seeded).await?;
    assert!(
        link.starts_with(base),
        "the link points at this server: {link}"
    );
    browser.delete_all_cookies().await?;
    browser.goto(&link).await?;
    fill(browser, "password", "rosa's own password").await?;
    browser
        .find(Locator::Css("form.stacked button[type=submit]"))
        .await?
        .click()
        .await?;
    browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Id("action-needed"))
        .await?;
    assert_eq!(browser.current_url().await?.path(), "/portal");

    // The checklist: the terms are not accepted yet.
    browser.goto(&format!("{base}/portal/programs")).await?;
    let step = browser
        .find(Locator::Id(&format!("step-{program}-terms_accepted")))
        .await?;
    assert!(
        !step.text().await?.contains("done"),
        "terms not accepted yet: {}",
        step.text().await?
    );

    // She reads and accepts the terms.
    browser
        .goto(&format!("{base}/portal/terms/{program}"))
        .await?;
    let body = browser
        .find(Locator::Id("terms-body"))
        .await?
        .text()
        .await?;
    assert!(body.contains("No brand bidding."), "{body}");
    browser
        .find(Locator::Id("accept-terms"))
        .await?
        .click()
        .await?;
    browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Id("terms-accepted"))
        .await?;

    // She downloads the co-branded banner, with her session, from the library.
    browser.goto(&format!("{base}/portal/library")).await?;
    let download = browser
        .find(Locator::Id(&format!("download-{}", seeded.banner_id)))
        .await?;
    let href = download.attr("href").await?.ok_or("no href")?;
    let svg = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], {credentials: 'same-origin'})
               .then(r => r.text().then(t => done(r.status + ' ' + t)))
               .catch(e => done('error ' + e));",
            vec![serde_json::json!(href)],
        )
        .await?;
    let svg = svg.as_str().unwrap_or_default().to_string();
    assert!(
        svg.starts_with("200 ") && svg.contains("Rosa Creates recommends Acme Creators"),
        "the banner is co-branded: {svg}"
    );

    // The checklist advanced: terms accepted, a profile step still to do.
    browser.goto(&format!("{base}/portal/programs")).await?;
    let step = browser
        .find(Locator::Id(&format!("step-{program}-terms_accepted")))
        .await?;
    assert!(
        step.text().await?.contains("done"),
        "the terms step is done: {}",
        step.text().await?
    );
    let profile = browser
        .find(Locator::Id(&format!("step-{program}-profile_complete")))
        .await?;
    assert!(!profile.text().await?.contains("done"));
    screenshot(browser, "/tmp/tributary-checklist.png").await?;
    let mut tx = seeded.app.store.read().await?;
    let banner = tx
        .content(seeded.ws, seeded.banner_id)
        .await?
        .ok_or("the banner")?;
    assert_eq!(banner.downloads, 1, "the download is counted");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_applies_is_approved_accepts_terms_and_gets_a_co_branded_banner() {
    let driver = Chromedriver::start();
    let seeded = start_server().await;
    let browser = connect(&driver).await;
    let outcome = flow(&browser, &seeded).await;
    let closed = browser.close().await;
    if let Err(error) = outcome {
        panic!("the browser flow failed: {error}");
    }
    closed.expect("the browser session closes");
}
