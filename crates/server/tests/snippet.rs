//! The site snippet in a real headless Chromium (docs/SNIPPET.md). A local "business site"
//! on another port (another origin) includes `/t.js` with the program's public key. A visitor
//! comes through a partner's tracking link, another through `?via=` with a partner's link
//! code, a third through the site's own `?aff=`, a fourth with no partner at all; each reports
//! a lead with `tributary.lead()`. The first three are attributed to the right partner
//! through the right channel, the last is not recorded.

mod support;

use axum::response::Html;
use fantoccini::Client;
use serde_json::{Value, json};
use support::TestApp;
use support::browser::{Chromedriver, connect};
use tributary_app::admin::{self, NewLink, NewPartner, NewProgram};
use tributary_core::{PartnerId, ProgramId};

/// A page of the business's site for any path, loading the snippet from Tributary.
async fn business_site(tributary: &str, key: ProgramId) -> String {
    let page = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Shop</title>\
         <script src=\"{tributary}/t.js\" data-key=\"{key}\" data-param=\"aff\" data-days=\"45\" async></script>\
         </head><body><h1>Shop</h1></body></html>"
    );
    let router = axum::Router::new().fallback(move || {
        let page = page.clone();
        async move { Html(page) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the site");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// Once the snippet has loaded, reports a lead for `email` and answers
/// `[status, answer, clickId(), document.cookie]`.
async fn lead(browser: &Client, email: &str) -> Value {
    browser
        .execute_async(
            "var email = arguments[0], done = arguments[arguments.length - 1];
             (function ready() {
               if (!window.tributary || !window.tributary.lead) { return setTimeout(ready, 20); }
               window.tributary.lead({email: email}, function (status, answer) {
                 done([status, answer, window.tributary.clickId(), document.cookie]);
               });
             })();",
            vec![json!(email)],
        )
        .await
        .expect("the lead script runs")
}

async fn partner(t: &TestApp, program: ProgramId, n: usize) -> PartnerId {
    let partner = admin::create_partner(
        &t.app,
        t.workspace_id,
        NewPartner {
            name: format!("Partner {n}"),
            email: format!("p{n}@partners.example"),
            archetype: None,
            payout_email: None,
            password: None,
        },
    )
    .await
    .expect("partner");
    admin::enroll(&t.app, t.workspace_id, program, partner.id)
        .await
        .expect("enroll");
    admin::create_link(
        &t.app,
        t.workspace_id,
        NewLink {
            program_id: program,
            partner_id: partner.id,
            code: Some(format!("partner-{n}")),
            destination_url: None,
        },
    )
    .await
    .expect("link");
    partner.id
}

/// The conversion path of the customer with this external id.
async fn path_of(t: &TestApp, external_id: &str) -> Option<Value> {
    let (_, customers) = t.get("/api/v1/customers?limit=100").await;
    let id = customers["data"]
        .as_array()
        .expect("customers")
        .iter()
        .find(|c| c["external_id"] == external_id)?["id"]
        .as_str()?
        .to_string();
    Some(
        t.get(&format!("/api/v1/customers/{id}/attribution"))
            .await
            .1,
    )
}

#[tokio::test]
async fn the_snippet_attributes_link_and_via_visitors_in_a_real_browser() {
    let t = TestApp::start().await;
    // The site needs the program's key, so the program comes first; the partner's link
    // (below) sends visitors to the site.
    let program = admin::create_program(
        &t.app,
        t.workspace_id,
        NewProgram {
            name: "Shop partners".into(),
            destination_url: "https://shop.example/".into(),
            currency: None,
            window_days: Some(30),
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
    let site = business_site(&t.base, program.id).await;
    let first = partner(&t, program.id, 1).await;
    let second = partner(&t, program.id, 2).await;
    // Partner 1's tracking link lands on the business's site.
    admin::create_link(
        &t.app,
        t.workspace_id,
        NewLink {
            program_id: program.id,
            partner_id: first,
            code: Some("shop-landing".into()),
            destination_url: Some(format!("{site}/landing")),
        },
    )
    .await
    .expect("landing link");

    let driver = Chromedriver::start();
    let browser = connect(&driver).await;

    // 1. Through the tracking link: the snippet keeps the tclid and the lead carries it.
    browser
        .goto(&format!("{}/r/shop-landing", t.base))
        .await
        .expect("follow the link");
    let url = browser.current_url().await.expect("url");
    assert!(url.as_str().starts_with(&site), "landed on the site: {url}");
    let tclid = url
        .query_pairs()
        .find(|(name, _)| name == "tclid")
        .map(|(_, value)| value.to_string())
        .expect("a tclid in the landing URL");
    let answer = lead(&browser, "Ada@Example.com").await;
    assert_eq!(answer[0], 200, "{answer}");
    assert_eq!(answer[1]["status"], "recorded", "{answer}");
    assert_eq!(
        answer[2],
        tclid.as_str(),
        "the click id is exposed for checkout"
    );
    assert!(
        answer[3]
            .as_str()
            .is_some_and(|cookie| cookie.contains(&format!("trb_ids={tclid}"))),
        "a first-party cookie keeps the click id: {answer}"
    );
    let path = path_of(&t, "ada@example.com")
        .await
        .expect("Ada is a customer");
    assert_eq!(path["credits"][0]["partner_id"], json!(first), "{path}");
    assert_eq!(path["touches"][0]["channel"], "link");
    // Reported twice, recorded once; and the same click cannot bring a second customer.
    let again = lead(&browser, "ada@example.com").await;
    assert_eq!(again[1]["status"], "already recorded", "{again}");
    let other = lead(&browser, "eve@example.com").await;
    assert_eq!(other[1]["status"], "already recorded", "{other}");
    assert!(path_of(&t, "eve@example.com").await.is_none());

    // 2. A new visitor through `?via=` with partner 2's link code: a referral visit.
    browser.delete_all_cookies().await.expect("cookies");
    browser
        .goto(&format!("{site}/pricing?via=partner-2"))
        .await
        .expect("the site");
    let answer = lead(&browser, "grace@example.com").await;
    assert_eq!(answer[0], 200, "{answer}");
    assert_eq!(answer[1]["status"], "recorded", "{answer}");
    let path = path_of(&t, "grace@example.com")
        .await
        .expect("Grace is a customer");
    assert_eq!(path["credits"][0]["partner_id"], json!(second), "{path}");
    assert_eq!(path["touches"][0]["channel"], "referral");
    assert_eq!(path["touches"][0]["detail"], "partner-2");

    // 3. The site's own parameter (`data-param="aff"`) works the same way.
    browser.delete_all_cookies().await.expect("cookies");
    browser
        .goto(&format!("{site}/?aff=partner-1"))
        .await
        .expect("the site");
    let answer = lead(&browser, "linus@example.com").await;
    assert_eq!(answer[1]["status"], "recorded", "{answer}");
    let path = path_of(&t, "linus@example.com")
        .await
        .expect("Linus is a customer");
    assert_eq!(path["credits"][0]["partner_id"], json!(first), "{path}");
    assert_eq!(path["touches"][0]["channel"], "referral");

    // 4. A visitor no partner sent: no click id, so nothing is reported or recorded.
    browser.delete_all_cookies().await.expect("cookies");
    browser
        .goto(&format!("{site}/pricing"))
        .await
        .expect("the site");
    let answer = lead(&browser, "hopper@example.com").await;
    assert_eq!(answer[0], 0, "{answer}");
    assert!(answer[2].is_null());
    assert!(path_of(&t, "hopper@example.com").await.is_none());

    browser.close().await.expect("close the browser");
}

#[test]
fn the_snippet_is_under_3_kb_gzipped() {
    let output = std::process::Command::new("gzip")
        .args([
            "-9",
            "-c",
            concat!(env!("CARGO_MANIFEST_DIR"), "/static/t.js"),
        ])
        .output()
        .expect("gzip runs");
    assert!(output.status.success());
    assert!(
        output.stdout.len() < 3 * 1024,
        "t.js is {} bytes gzipped",
        output.stdout.len()
    );
}

#[tokio::test]
async fn leads_without_a_click_of_the_program_are_refused() {
    let t = TestApp::start().await;
    let program = admin::create_program(
        &t.app,
        t.workspace_id,
        NewProgram {
            name: "P".into(),
            destination_url: "https://shop.example/".into(),
            currency: None,
            window_days: None,
            hold_days: None,
            min_payout_minor: None,
            lead_flat_minor: None,
            sale_percent_bp: None,
            plan: None,
            attribution: None,
        },
    )
    .await
    .expect("program");
    let post = |path: &'static str, body: Value| {
        let client = t.client.clone();
        let url = t.url(path);
        async move {
            let response = client
                .post(url)
                .header("Content-Type", "text/plain")
                .body(body.to_string())
                .send()
                .await
                .expect("POST");
            assert_eq!(
                response.headers()["access-control-allow-origin"],
                "*",
                "every answer allows any origin"
            );
            support::split(response).await
        }
    };
    let key = program.id.to_string();
    let (status, error) = post(
        "/t/lead",
        json!({"key": key, "email": "a@b.example", "click_id": "forged-click-id-0000000000"}),
    )
    .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["field"], "click_id");
    let (status, _) = post("/t/visit", json!({"key": key, "via": "no-such-code"})).await;
    assert_eq!(status, 404);
    let (status, _) = post("/t/visit", json!({"key": "not-a-key", "via": "x"})).await;
    assert_eq!(status, 422);
    let (status, _) = post("/t/lead", json!({"key": key})).await;
    assert_eq!(status, 422);
    let (_, customers) = t.get("/api/v1/customers").await;
    assert_eq!(customers["data"].as_array().map(Vec::len), Some(0));
}
