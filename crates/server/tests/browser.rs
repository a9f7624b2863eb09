//! The web UI in a real headless Chromium, driven through chromedriver: an admin signs in
//! and creates a link through the form, then the partner signs in to the portal and sees it.
//! Screenshots of both pages go to `/tmp/tributary-admin.png` and `/tmp/tributary-portal.png`.
//!
//! Needs `chromedriver` and `/usr/bin/chromium` (Debian: `apt-get install chromium
//! chromium-driver`). Without them the test fails: a silent pass would hide a broken UI.

mod support;

use fantoccini::{Client, Locator};
use std::sync::Arc;
use support::browser::{Chromedriver, PAGE_TIMEOUT, connect};
use tempfile::TempDir;
use tributary_app::App;
use tributary_app::admin::{self, NewPartner, NewProgram};
use tributary_app::clock::SystemClock;
use tributary_core::{PartnerId, ProgramId};
use tributary_store::sqlite::SqliteStore;

const WINDOW_WIDTH: u32 = support::browser::WINDOW_WIDTH;
const WINDOW_HEIGHT: u32 = support::browser::WINDOW_HEIGHT;

const OWNER_EMAIL: &str = "owner@example.com";
const PARTNER_EMAIL: &str = "paula@partners.example";
const PASSWORD: &str = "correct horse battery";
const LINK_CODE: &str = "browser-test-link";

struct Seeded {
    base: String,
    program_id: ProgramId,
    partner_id: PartnerId,
    _dir: TempDir,
}

/// The real server on port 0 over a fresh SQLite file, with a program and an enrolled
/// partner who can sign in.
async fn start_server() -> Seeded {
    let dir = tempfile::tempdir().expect("a temp dir for the database");
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let store = SqliteStore::open(&url)
        .await
        .expect("the SQLite store opens");
    let app = App::start(Arc::new(store), Arc::new(SystemClock))
        .await
        .expect("the app starts");
    let (workspace, _) = admin::create_workspace(&app, "Acme", OWNER_EMAIL, PASSWORD)
        .await
        .expect("the workspace is created");
    let program = admin::create_program(
        &app,
        workspace.id,
        NewProgram {
            name: "Acme referrals".into(),
            destination_url: "https://acme.example/pricing".into(),
            currency: Some("USD".into()),
            window_days: Some(30),
            hold_days: Some(30),
            min_payout_minor: Some(5_000),
            lead_flat_minor: Some(500),
            sale_percent_bp: Some(2_000),
            plan: None,
            attribution: None,
        },
    )
    .await
    .expect("the program is created");
    let partner = admin::create_partner(
        &app,
        workspace.id,
        NewPartner {
            name: "Paula Partner".into(),
            email: PARTNER_EMAIL.into(),
            archetype: Some("influencer".into()),
            payout_email: None,
            password: Some(PASSWORD.into()),
        },
    )
    .await
    .expect("the partner is created");
    admin::enroll(&app, workspace.id, program.id, partner.id)
        .await
        .expect("the partner is enrolled");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port for the server");
    let base = format!(
        "http://{}",
        listener.local_addr().expect("the listener has an address")
    );
    tokio::spawn(tributary_server::serve(
        listener,
        app,
        std::future::pending(),
    ));
    Seeded {
        base,
        program_id: program.id,
        partner_id: partner.id,
        _dir: dir,
    }
}

type Outcome = Result<(), Box<dyn std::error::Error>>;

/// Fills a login form and waits for the page it leads to.
async fn sign_in(browser: &Client, base: &str, area: &str, email: &str) -> Outcome {
    browser.goto(&format!("{base}/{area}/login")).await?;
    browser
        .find(Locator::Id("email"))
        .await?
        .send_keys(email)
        .await?;
    browser
        .find(Locator::Id("password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    browser
        .find(Locator::Css("form.stacked button[type=submit]"))
        .await?
        .click()
        .await?;
    // The landing page marks its own menu entry as the current one.
    browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css(&format!("nav a.active[href='/{area}']")))
        .await?;
    assert_eq!(browser.current_url().await?.path(), format!("/{area}"));
    Ok(())
}

async fn screenshot(browser: &Client, path: &str) -> Outcome {
    let png = browser.screenshot().await?;
    std::fs::write(path, png)?;
    Ok(())
}

async fn flow(browser: &Client, seeded: &Seeded) -> Outcome {
    let base = seeded.base.as_str();
    browser.set_window_size(WINDOW_WIDTH, WINDOW_HEIGHT).await?;

    // The admin signs in and creates a link through the form.
    sign_in(browser, base, "admin", OWNER_EMAIL).await?;
    browser.goto(&format!("{base}/admin/links")).await?;
    browser
        .find(Locator::Id("link-program"))
        .await?
        .select_by_value(&seeded.program_id.to_string())
        .await?;
    browser
        .find(Locator::Id("link-partner"))
        .await?
        .select_by_value(&seeded.partner_id.to_string())
        .await?;
    browser
        .find(Locator::Id("link-code"))
        .await?
        .send_keys(LINK_CODE)
        .await?;
    browser
        .find(Locator::Css(
            "form[action='/admin/links'] button[type=submit]",
        ))
        .await?
        .click()
        .await?;
    let cell = browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::XPath(&format!(
            "//table//code[normalize-space(text())='{LINK_CODE}']"
        )))
        .await?;
    assert_eq!(cell.text().await?, LINK_CODE);
    assert_eq!(browser.current_url().await?.path(), "/admin/links");
    screenshot(browser, "/tmp/tributary-admin.png").await?;

    // The plan editor comes prefilled with the current plan; "Check and preview" says it in
    // words, and a simulation of that plan over history shows its comparison.
    let program = seeded.program_id;
    browser
        .goto(&format!("{base}/admin/programs/{program}/plans"))
        .await?;
    browser
        .find(Locator::Css("button[formaction$='/plans/preview']"))
        .await?
        .click()
        .await?;
    let preview = browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Id("plan-preview"))
        .await?;
    assert!(
        preview
            .text()
            .await?
            .contains("20.00% for every sale and renewal"),
        "the preview says the plan in words"
    );
    browser
        .goto(&format!("{base}/admin/programs/{program}/simulate"))
        .await?;
    browser
        .find(Locator::Css(&format!(
            "form[action='/admin/programs/{program}/simulate'] button:not([formaction])"
        )))
        .await?
        .click()
        .await?;
    let totals = browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Id("simulation-totals"))
        .await?;
    let text = totals.text().await?;
    assert!(
        text.to_lowercase().contains("total cost 0.00 usd 0.00 usd"),
        "the totals table: {text:?}"
    );
    screenshot(browser, "/tmp/tributary-simulate.png").await?;

    // A fresh session: the partner signs in and sees the new link with its full URL.
    browser.delete_all_cookies().await?;
    sign_in(browser, base, "portal", PARTNER_EMAIL).await?;
    let source = browser.source().await?;
    assert!(
        source.contains(LINK_CODE),
        "the portal lists the new link: {source}"
    );
    assert!(
        source.contains(&format!("{base}/r/{LINK_CODE}")),
        "the portal shows the full tracking URL: {source}"
    );
    screenshot(browser, "/tmp/tributary-portal.png").await?;

    // The partner's cookie does not open the admin area.
    browser.goto(&format!("{base}/admin/links")).await?;
    assert_eq!(browser.current_url().await?.path(), "/admin/login");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_link_and_the_partner_sees_it_in_the_portal() {
    let driver = Chromedriver::start();
    let seeded = start_server().await;
    let browser = connect(&driver).await;
    let outcome = flow(&browser, &seeded).await;
    // Close the browser session before judging, so a failure leaves no Chromium behind.
    let closed = browser.close().await;
    if let Err(error) = outcome {
        panic!("the browser flow failed: {error}");
    }
    closed.expect("the browser session closes");
}
