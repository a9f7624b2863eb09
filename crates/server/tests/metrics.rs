//! `/metrics` counts every request, including redirects, which run outside the shared
//! middleware for speed and count themselves.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::Ordering;
use support::{BROWSER_UA, TestApp, id};

fn requests(t: &TestApp) -> u64 {
    t.app.metrics.http_requests.load(Ordering::Relaxed)
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
}

#[tokio::test]
async fn redirects_api_calls_and_unknown_paths_are_all_counted() {
    let t = TestApp::start().await;
    let (_, program) = t
        .post(
            "/api/v1/programs",
            &json!({"name": "P", "destination_url": "https://shop.example/"}),
        )
        .await;
    let (_, partner) = t
        .post(
            "/api/v1/partners",
            &json!({"name": "Cy", "email": "cy@partners.example"}),
        )
        .await;
    t.post(
        "/api/v1/enrollments",
        &json!({"program_id": id(&program), "partner_id": id(&partner)}),
    )
    .await;
    let (status, _) = t
        .post(
            "/api/v1/links",
            &json!({"program_id": id(&program), "partner_id": id(&partner), "code": "counted"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let before = requests(&t);
    for path in [
        "/r/counted",
        "/r/counted",
        "/r/no-such-link",
        "/no-such-page",
    ] {
        t.client
            .get(t.url(path))
            .header("User-Agent", BROWSER_UA)
            .send()
            .await
            .expect("GET");
    }
    let (status, _) = t.get("/api/v1/links").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(requests(&t) - before, 5);

    let text = t
        .client
        .get(t.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("body");
    // The scrape itself is counted after its body is rendered.
    assert_eq!(
        metric(&text, "tributary_http_requests_total "),
        Some(before + 5)
    );
    assert_eq!(metric(&text, "tributary_clicks_total "), Some(2));
}
