//! Stripe webhooks over real HTTP (docs/BILLING.md), with the payloads of
//! `crates/core/src/billing/stripe/fixtures` signed as Stripe signs them: a checkout carrying
//! a real click binds the customer, the first invoice is the sale net of tax, a refund that
//! arrives before its invoice waits for it, a dispute claws back, a redelivery does nothing,
//! and bad or stale signatures are refused with nothing stored.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{BROWSER_UA, Backend, START_MILLIS, TestApp, id};
use tributary_core::Timestamp;
use tributary_core::billing::stripe::sign;

const SECRET: &str = "whsec_test_secret_for_tributary";

fn fixture(name: &str) -> Value {
    let text = match name {
        "checkout" => {
            include_str!("../../core/src/billing/stripe/fixtures/checkout_subscription.json")
        }
        "invoice" => include_str!("../../core/src/billing/stripe/fixtures/invoice_paid_first.json"),
        "refund" => include_str!("../../core/src/billing/stripe/fixtures/charge_refunded.json"),
        "dispute" => include_str!("../../core/src/billing/stripe/fixtures/dispute_created.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).expect("fixture JSON")
}

/// Posts `event` to the workspace's endpoint, signed at the clock's time (or `signed_at`).
async fn deliver(
    t: &TestApp,
    event: &Value,
    secret: &str,
    signed_at: Option<i64>,
) -> (StatusCode, Value) {
    let body = serde_json::to_vec(event).expect("JSON");
    let at = signed_at.unwrap_or_else(|| t.app.now().millis() / 1_000);
    let response = t
        .client
        .post(t.url(&format!("/webhooks/stripe/{}", t.workspace_id)))
        .header("Stripe-Signature", sign(secret, at, &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST webhook");
    support::split(response).await
}

/// The partner's commissions, net, in minor units of EUR.
async fn net_commissions(t: &TestApp) -> i64 {
    let (status, body) = t.get("/api/v1/commissions?limit=200").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]
        .as_array()
        .expect("commissions")
        .iter()
        .filter(|c| c["currency"] == "EUR")
        .map(|c| c["amount_minor"].as_i64().expect("amount"))
        .sum()
}

async fn event_count(t: &TestApp) -> usize {
    let (_, events) = t.get("/api/v1/events?limit=200").await;
    events["data"].as_array().map_or(0, Vec::len)
}

/// A program paying 20 % of sales in `currency`, a partner with the link `code`, and a
/// visitor's click on it; returns the click id.
async fn partner_with_a_click(t: &TestApp, currency: &str, name: &str, code: &str) -> String {
    let (status, program) = t
        .post(
            "/api/v1/programs",
            &json!({"name": "SaaS", "destination_url": "https://saas.example/", "currency": currency,
                    "window_days": 30, "hold_days": 30, "min_payout_minor": 500, "sale_percent_bp": 2000}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{program}");
    let (_, partner) = t
        .post(
            "/api/v1/partners",
            &json!({"name": name, "email": format!("{code}@partners.example")}),
        )
        .await;
    t.post(
        "/api/v1/enrollments",
        &json!({"program_id": id(&program), "partner_id": id(&partner)}),
    )
    .await;
    let (status, link) = t
        .post(
            "/api/v1/links",
            &json!({"program_id": id(&program), "partner_id": id(&partner), "code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let response = t
        .client
        .get(t.url(&format!("/r/{code}")))
        .header("User-Agent", BROWSER_UA)
        .send()
        .await
        .expect("redirect");
    let location = response.headers()["location"].to_str().expect("location");
    let click_id = location.rsplit("tclid=").next().expect("click").to_string();
    t.app.clicks.flush().await;
    click_id
}

/// `PUT /api/v1/billing/{provider}`; the status.
async fn set_secret(t: &TestApp, provider: &str, secret: &str) -> StatusCode {
    t.client
        .put(t.url(&format!("/api/v1/billing/{provider}")))
        .bearer_auth(&t.key)
        .json(&json!({"signing_secret": secret}))
        .send()
        .await
        .expect("PUT")
        .status()
}

async fn stripe_events_become_commissions_once_in_any_order(backend: Backend) {
    let t = TestApp::start_on(backend).await;
    let click_id = partner_with_a_click(&t, "EUR", "Ada", "ada").await;

    // Without a secret, the endpoint does not exist for this workspace.
    let (status, _) = deliver(&t, &fixture("invoice"), SECRET, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        set_secret(&t, "stripe", "not-a-secret").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        set_secret(&t, "stripe", SECRET).await,
        StatusCode::NO_CONTENT
    );

    // Everything is delivered on January 10, after it happened, and out of order.
    t.clock
        .set(Timestamp::from_millis(START_MILLIS + 9 * 86_400_000));
    let (status, refund) = deliver(&t, &fixture("refund"), SECRET, None).await;
    assert_eq!(status, StatusCode::OK, "{refund}");
    assert_eq!(refund["status"], "parked", "{refund}");
    let mut checkout = fixture("checkout");
    checkout["data"]["object"]["client_reference_id"] = json!(click_id);
    let (status, answer) = deliver(&t, &checkout, SECRET, None).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("processed")),
        "{answer}"
    );
    assert_eq!(
        net_commissions(&t).await,
        0,
        "a lead earns nothing under this plan"
    );
    let (status, answer) = deliver(&t, &fixture("invoice"), SECRET, None).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("processed")),
        "{answer}"
    );
    // 20 % of the 100.00 EUR sale (119.00 with tax), less 20 % of the 50.00 the parked
    // refund of 59.50 took off it once its invoice was known.
    assert_eq!(net_commissions(&t).await, 2_000 - 1_000);
    let (_, events) = t.get("/api/v1/events?limit=200").await;
    let kinds: Vec<&str> = events["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    for kind in ["lead", "sale", "refund"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }

    // A redelivery is recognised and changes nothing.
    let (status, again) = deliver(&t, &fixture("invoice"), SECRET, None).await;
    assert_eq!(
        (status, again["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    assert_eq!(event_count(&t).await, 3);

    // Bad and stale signatures are refused before anything is read or stored.
    let (status, error) = deliver(&t, &fixture("dispute"), "whsec_some_other_secret", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "Stripe-Signature", "{error}");
    let stale = t.app.now().millis() / 1_000 - 301;
    let (status, _) = deliver(&t, &fixture("dispute"), SECRET, Some(stale)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let response = t
        .client
        .post(t.url(&format!("/webhooks/stripe/{}", t.workspace_id)))
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(event_count(&t).await, 3);

    // A checkout carrying a click of another workspace's link (a visitor controls
    // client_reference_id) is recorded without the click instead of failing for ever.
    let (other, _) = tributary_app::admin::create_workspace(
        &t.app,
        "Other",
        "o@other.example",
        "other-password-1",
    )
    .await
    .expect("another workspace");
    let other_program = tributary_app::admin::create_program(
        &t.app,
        other.id,
        tributary_app::admin::NewProgram {
            name: "Other".into(),
            destination_url: "https://other.example/".into(),
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
    let other_partner = tributary_app::admin::create_partner(
        &t.app,
        other.id,
        tributary_app::admin::NewPartner {
            name: "Eve".into(),
            email: "eve@other.example".into(),
            archetype: None,
            payout_email: None,
            password: None,
        },
    )
    .await
    .expect("partner");
    tributary_app::admin::enroll(&t.app, other.id, other_program.id, other_partner.id)
        .await
        .expect("enroll");
    let other_link = tributary_app::admin::create_link(
        &t.app,
        other.id,
        tributary_app::admin::NewLink {
            program_id: other_program.id,
            partner_id: other_partner.id,
            code: Some("eve-link".into()),
            destination_url: None,
        },
    )
    .await
    .expect("link");
    let foreign = tributary_app::clicks::click(
        &t.app,
        &other_link,
        tributary_app::clicks::Visit {
            ip: "198.51.100.4",
            user_agent: BROWSER_UA,
            referrer: None,
        },
    )
    .click_id;
    let mut stranger = fixture("checkout");
    stranger["id"] = json!("evt_1QcheckoutForeignClick");
    stranger["data"]["object"]["customer"] = json!("cus_Stranger");
    stranger["data"]["object"]["client_reference_id"] = json!(foreign);
    let (status, answer) = deliver(&t, &stranger, SECRET, None).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("processed")),
        "{answer}"
    );
    assert!(
        answer["note"]
            .as_str()
            .is_some_and(|note| note.contains("left out")),
        "{answer}"
    );
    let (_, events) = t.get("/api/v1/events?limit=200").await;
    assert_eq!(event_count(&t).await, 4, "{events}");

    // The dispute of the whole charge takes the rest back.
    let (status, answer) = deliver(&t, &fixture("dispute"), SECRET, None).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("processed")),
        "{answer}"
    );
    assert_eq!(net_commissions(&t).await, 0);
    assert_eq!(event_count(&t).await, 5);
    // An unknown workspace has no endpoint.
    let response = t
        .client
        .post(t.url("/webhooks/stripe/not-a-workspace"))
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

fn paddle_fixture(name: &str) -> Value {
    let text = match name {
        "web" => include_str!("../../core/src/billing/paddle/fixtures/transaction_web.json"),
        "renewal" => {
            include_str!("../../core/src/billing/paddle/fixtures/transaction_renewal.json")
        }
        "refund" => include_str!("../../core/src/billing/paddle/fixtures/adjustment_refund.json"),
        "canceled" => {
            include_str!("../../core/src/billing/paddle/fixtures/subscription_canceled.json")
        }
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).expect("fixture JSON")
}

async fn deliver_paddle(t: &TestApp, event: &Value, secret: &str) -> (StatusCode, Value) {
    let body = serde_json::to_vec(event).expect("JSON");
    let at = t.app.now().millis() / 1_000;
    let response = t
        .client
        .post(t.url(&format!("/webhooks/paddle/{}", t.workspace_id)))
        .header(
            "Paddle-Signature",
            tributary_core::billing::paddle::sign(secret, at, &body),
        )
        .body(body)
        .send()
        .await
        .expect("POST webhook");
    support::split(response).await
}

async fn paddle_transactions_and_adjustments_become_commissions(backend: Backend) {
    const PADDLE_SECRET: &str = "pdl_ntfset_01hv_test_secret_key";
    let t = TestApp::start_on(backend).await;
    let click_id = partner_with_a_click(&t, "USD", "Bo", "bo-link").await;
    assert_eq!(
        set_secret(&t, "paddle", PADDLE_SECRET).await,
        StatusCode::NO_CONTENT
    );
    t.clock
        .set(Timestamp::from_millis(START_MILLIS + 70 * 86_400_000));
    let usd_net = |body: Value| -> i64 {
        body["data"]
            .as_array()
            .expect("commissions")
            .iter()
            .filter(|c| c["currency"] == "USD")
            .map(|c| c["amount_minor"].as_i64().expect("amount"))
            .sum()
    };

    // The refund of 45.00 (53.55 with tax) arrives before its transaction.
    let (status, answer) = deliver_paddle(&t, &paddle_fixture("refund"), PADDLE_SECRET).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("processed")),
        "{answer}"
    );
    let mut web = paddle_fixture("web");
    web["data"]["custom_data"]["tributary_click_id"] = json!(click_id);
    let (status, answer) = deliver_paddle(&t, &web, PADDLE_SECRET).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("processed")),
        "{answer}"
    );
    // 20 % of the 90.00 sale (100.00 less a 10.00 discount, tax aside), less the refund's 45.00.
    let (_, commissions) = t.get("/api/v1/commissions?limit=200").await;
    assert_eq!(usd_net(commissions), 900);
    let (status, _) = deliver_paddle(&t, &paddle_fixture("renewal"), PADDLE_SECRET).await;
    assert_eq!(status, StatusCode::OK);
    let (_, commissions) = t.get("/api/v1/commissions?limit=200").await;
    assert_eq!(usd_net(commissions), 900 + 2_000);
    // The same adjustment in another event (created, then updated) is recorded once.
    let mut created = paddle_fixture("refund");
    created["event_id"] = json!("evt_01hyrefund_created_event");
    created["event_type"] = json!("adjustment.created");
    let (status, answer) = deliver_paddle(&t, &created, PADDLE_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, commissions) = t.get("/api/v1/commissions?limit=200").await;
    assert_eq!(usd_net(commissions), 900 + 2_000);
    let (status, answer) = deliver_paddle(&t, &paddle_fixture("canceled"), PADDLE_SECRET).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("processed")),
        "{answer}"
    );
    // A Stripe-style signature on the Paddle endpoint is refused.
    let body = serde_json::to_vec(&paddle_fixture("renewal")).expect("JSON");
    let response = t
        .client
        .post(t.url(&format!("/webhooks/paddle/{}", t.workspace_id)))
        .header(
            "Paddle-Signature",
            sign(PADDLE_SECRET, t.app.now().millis() / 1_000, &body),
        )
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

fn chargebee_fixture(name: &str) -> Value {
    let text = match name {
        "first" => include_str!("../../core/src/billing/chargebee/fixtures/payment_first.json"),
        "renewal" => include_str!("../../core/src/billing/chargebee/fixtures/payment_renewal.json"),
        "refund" => include_str!("../../core/src/billing/chargebee/fixtures/payment_refunded.json"),
        "cancelled" => {
            include_str!("../../core/src/billing/chargebee/fixtures/subscription_cancelled.json")
        }
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).expect("fixture JSON")
}

async fn chargebee_payments_and_credit_notes_become_commissions(backend: Backend) {
    const CREDENTIALS: &str = "chargebee:a-long-webhook-password";
    let t = TestApp::start_on(backend).await;
    let click_id = partner_with_a_click(&t, "GBP", "Cy", "cy-link").await;
    assert_eq!(
        set_secret(&t, "chargebee", CREDENTIALS).await,
        StatusCode::NO_CONTENT
    );
    t.clock
        .set(Timestamp::from_millis(START_MILLIS + 70 * 86_400_000));
    let deliver = |event: Value, credentials: &'static str| {
        let t = &t;
        async move {
            let response = t
                .client
                .post(t.url(&format!("/webhooks/chargebee/{}", t.workspace_id)))
                .header(
                    "Authorization",
                    tributary_core::billing::chargebee::authorization(credentials),
                )
                .json(&event)
                .send()
                .await
                .expect("POST webhook");
            support::split(response).await
        }
    };
    let gbp_net = |body: Value| -> i64 {
        body["data"]
            .as_array()
            .expect("commissions")
            .iter()
            .filter(|c| c["currency"] == "GBP")
            .map(|c| c["amount_minor"].as_i64().expect("amount"))
            .sum()
    };
    // The credit note of a 25.00 refund (29.75 with VAT) arrives first.
    let (status, answer) = deliver(chargebee_fixture("refund"), CREDENTIALS).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("processed")),
        "{answer}"
    );
    let mut first = chargebee_fixture("first");
    first["content"]["customer"]["meta_data"]["tributary_click_id"] = json!(click_id);
    let (status, answer) = deliver(first.clone(), CREDENTIALS).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("processed")),
        "{answer}"
    );
    let (_, commissions) = t.get("/api/v1/commissions?limit=200").await;
    assert_eq!(gbp_net(commissions), 2_000 - 500);
    let (status, answer) = deliver(first, CREDENTIALS).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    let (status, _) = deliver(chargebee_fixture("renewal"), CREDENTIALS).await;
    assert_eq!(status, StatusCode::OK);
    let (_, commissions) = t.get("/api/v1/commissions?limit=200").await;
    assert_eq!(gbp_net(commissions), 2_000 - 500 + 2_000);
    let (status, error) = deliver(
        chargebee_fixture("cancelled"),
        "chargebee:wrong-password-here",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "Authorization", "{error}");
    let (status, answer) = deliver(chargebee_fixture("cancelled"), CREDENTIALS).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("processed")),
        "{answer}"
    );
}

on_both_backends!(
    stripe_events_become_commissions_once_in_any_order,
    paddle_transactions_and_adjustments_become_commissions,
    chargebee_payments_and_credit_notes_become_commissions
);
