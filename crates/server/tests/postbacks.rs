//! Partner postbacks over real HTTP (docs/POSTBACKS.md), delivered to a local fake partner
//! server: macros filled and encoded, the sub-ids of the partner's click passed through, a
//! failing receiver retried until it answers, a host that resolves to loopback refused (the
//! fake server itself, before tests allow it), and the sub-id report of the link.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use support::{BROWSER_UA, Backend, TestApp, id};

/// A fake partner endpoint: records each request's path and query; answers 503 while
/// `failures` is above 0 (counting down), then 200.
struct Receiver {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<u32>>,
}

async fn receiver() -> Receiver {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let failures: Arc<Mutex<u32>> = Arc::default();
    let (log, left) = (seen.clone(), failures.clone());
    let router = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let (log, left) = (log.clone(), left.clone());
        async move {
            log.lock().expect("log").push(uri.to_string());
            let mut left = left.lock().expect("failures");
            if *left > 0 {
                *left -= 1;
                axum::http::StatusCode::SERVICE_UNAVAILABLE
            } else {
                axum::http::StatusCode::OK
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Receiver {
        base: format!("http://localhost:{port}"),
        seen,
        failures,
    }
}

async fn deliveries(t: &TestApp, key: &str) -> Vec<Value> {
    let (status, body) = t.get_as(key, "/api/v1/postback-deliveries").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().expect("deliveries").clone()
}

async fn postbacks_carry_the_conversion_and_are_retried(backend: Backend) {
    let t = TestApp::start_on(backend).await;
    let fake = receiver().await;
    let (_, program) = t
        .post(
            "/api/v1/programs",
            &json!({"name": "P", "destination_url": "https://shop.example/", "sale_percent_bp": 2000}),
        )
        .await;
    let program_id = id(&program);
    let (_, partner) = t
        .post(
            "/api/v1/partners",
            &json!({"name": "Affiliate", "email": "aff@partners.example"}),
        )
        .await;
    let partner_id = id(&partner);
    t.post(
        "/api/v1/enrollments",
        &json!({"program_id": program_id, "partner_id": partner_id}),
    )
    .await;
    let (_, link) = t
        .post(
            "/api/v1/links",
            &json!({"program_id": program_id, "partner_id": partner_id, "code": "aff-link"}),
        )
        .await;
    let (partner_key, _) = tributary_app::auth::create_api_key(
        &t.app,
        t.workspace_id,
        Some(partner_id.parse().expect("id")),
        "partner",
    )
    .await
    .expect("partner key");

    // The partner registers for itself; the template is checked.
    let template = format!(
        "{}/pb?cid={{click_id}}&s1={{sub1}}&s2={{sub2}}&amt={{amount}}&cur={{currency}}&oid={{order_id}}&ev={{event}}&com={{commission}}",
        fake.base
    );
    let (status, error) = t
        .post_as(
            &partner_key,
            "/api/v1/postbacks",
            &json!({"url": "https://{sub1}.example/x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "url");
    let (status, error) = t
        .post_as(
            &partner_key,
            "/api/v1/postbacks",
            &json!({"url": template, "events": ["signup"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, registered) = t
        .post_as(
            &partner_key,
            "/api/v1/postbacks",
            &json!({"url": template, "events": ["sale"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["partner_id"], partner_id.as_str());

    // A click with sub-ids, then a sale carrying it.
    let response = t
        .client
        .get(t.url("/r/aff-link?sub1=spring%20sale&sub2=a%26b"))
        .header("User-Agent", BROWSER_UA)
        .send()
        .await
        .expect("click");
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let click_id = location.split("tclid=").nth(1).expect("tclid").to_string();
    t.app.clicks.flush().await;

    // The receiver is on loopback: refused after resolving `localhost`, nothing sent, and
    // the partner is not told the address.
    let (status, _, _) = t
        .event(
            "sale-1",
            &json!({"type": "sale", "customer_id": "cus_1", "click_id": click_id,
                    "amount_minor": 12_345, "currency": "USD", "invoice_id": "in 1/A"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    t.run_jobs().await;
    let refused = deliveries(&t, &partner_key).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["status"], "failed");
    assert!(
        refused[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("loopback") && !e.contains("127.0.0.1")),
        "{refused:?}"
    );
    assert!(fake.seen.lock().expect("log").is_empty());

    // Allowed (tests only), a renewal's delivery fails twice, then gets through.
    t.app.postbacks.allow_private_addresses_for_tests();
    t.post_as(
        &partner_key,
        "/api/v1/postbacks",
        &json!({"url": template, "events": ["renewal"]}),
    )
    .await;
    *fake.failures.lock().expect("failures") = 2;
    t.event(
        "renewal-1",
        &json!({"type": "renewal", "customer_id": "cus_1", "amount_minor": 5_000,
                "currency": "USD", "invoice_id": "in_2"}),
    )
    .await;
    t.run_jobs().await;
    let pending = deliveries(&t, &partner_key).await;
    assert_eq!(pending[0]["status"], "pending", "{pending:?}");
    assert_eq!(pending[0]["attempts"], 1);
    assert_eq!(pending[0]["response_status"], 503);
    // Not due again before its wait.
    t.run_jobs().await;
    assert_eq!(fake.seen.lock().expect("log").len(), 1);
    t.clock.advance_millis(61_000);
    t.run_jobs().await;
    t.clock.advance_millis(301_000);
    t.run_jobs().await;
    let delivered = deliveries(&t, &partner_key).await;
    assert_eq!(delivered[0]["status"], "delivered", "{delivered:?}");
    assert_eq!(delivered[0]["attempts"], 3);
    let calls = fake.seen.lock().expect("log").clone();
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls[2],
        format!(
            "/pb?cid={click_id}&s1=spring%20sale&s2=a%26b&amt=50.00&cur=USD&oid=in_2&ev=renewal&com=10.00"
        )
    );
    // Another delivery of the same event is not made twice.
    t.run_jobs().await;
    assert_eq!(fake.seen.lock().expect("log").len(), 3);

    // The link's sub-id report: the click and the customer it brought.
    let link_id = id(&link);
    let (status, report) = t
        .get_as(&partner_key, &format!("/api/v1/links/{link_id}/subs?sub=1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report["data"],
        json!([{"value": "spring sale", "clicks": 1, "bot_clicks": 0, "customers": 1}])
    );
    let (status, _) = t.get(&format!("/api/v1/links/{link_id}/subs?sub=6")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A partner sees only its own postbacks and can disable them.
    let postback_id = id(&registered);
    let response = t
        .client
        .delete(t.url(&format!("/api/v1/postbacks/{postback_id}")))
        .bearer_auth(&partner_key)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, listed) = t.get_as(&partner_key, "/api/v1/postbacks").await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(2));
    assert!(listed["data"][0]["disabled_at"].is_string());
}

on_both_backends!(postbacks_carry_the_conversion_and_are_retried);
