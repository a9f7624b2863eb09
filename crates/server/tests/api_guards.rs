//! Partner isolation over the API and bad input at the edge: every partner-facing route tried
//! with another partner's key, and malformed events refused with a field-level error and
//! nothing written.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{BROWSER_UA, Backend, TestApp, id};

struct World {
    t: TestApp,
    program: String,
    a: String,
    b: String,
    key_a: String,
    key_b: String,
    link_a: String,
    commission_a: String,
}

async fn world(backend: Backend) -> World {
    let t = TestApp::start_on(backend).await;
    let (_, program) = t.post("/api/v1/programs", &json!({"name": "P", "destination_url": "https://shop.example/", "lead_flat_minor": 300})).await;
    let program = id(&program);
    let mut partners = Vec::new();
    for (name, email, code) in [
        ("A", "a@partners.example", "link-a"),
        ("B", "b@partners.example", "link-b"),
    ] {
        let (_, partner) = t
            .post("/api/v1/partners", &json!({"name": name, "email": email}))
            .await;
        t.post(
            "/api/v1/enrollments",
            &json!({"program_id": program, "partner_id": id(&partner)}),
        )
        .await;
        let (_, link) = t
            .post(
                "/api/v1/links",
                &json!({"program_id": program, "partner_id": id(&partner), "code": code}),
            )
            .await;
        partners.push((id(&partner), id(&link)));
    }
    let response = t
        .client
        .get(t.url("/r/link-a"))
        .header("User-Agent", BROWSER_UA)
        .send()
        .await
        .expect("redirect");
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let click_id = location
        .rsplit("tclid=")
        .next()
        .expect("click id")
        .to_string();
    let (_, _, lead) = t
        .event(
            "lead-a",
            &json!({"type": "lead", "customer_id": "ca", "click_id": click_id}),
        )
        .await;
    let commission_a = lead["commissions"][0]["id"]
        .as_str()
        .expect("commission")
        .to_string();
    let workspace = t.workspace_id;
    let a_id = partners[0].0.parse().expect("partner id");
    let b_id = partners[1].0.parse().expect("partner id");
    let (key_a, _) = tributary_app::auth::create_api_key(&t.app, workspace, Some(a_id), "a")
        .await
        .expect("key");
    let (key_b, _) = tributary_app::auth::create_api_key(&t.app, workspace, Some(b_id), "b")
        .await
        .expect("key");
    World {
        program,
        a: partners[0].0.clone(),
        b: partners[1].0.clone(),
        link_a: partners[0].1.clone(),
        key_a,
        key_b,
        commission_a,
        t,
    }
}

fn ids(listing: &Value) -> Vec<String> {
    listing["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|row| row["partner_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn a_partner_key_never_reads_another_partners_data(backend: Backend) {
    let w = world(backend).await;
    let t = &w.t;

    // A sees its own things.
    assert_eq!(
        t.get_as(&w.key_a, &format!("/api/v1/partners/{}", w.a))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        t.get_as(&w.key_a, &format!("/api/v1/commissions/{}", w.commission_a))
            .await
            .0,
        StatusCode::OK
    );
    let (_, balance) = t
        .get_as(&w.key_a, &format!("/api/v1/partners/{}/balance", w.a))
        .await;
    assert_eq!(balance["balances"][0]["pending_minor"], 300);

    // B asking for A's objects by id gets 404, never data.
    for path in [
        format!("/api/v1/partners/{}", w.a),
        format!("/api/v1/partners/{}/balance", w.a),
        format!("/api/v1/links/{}", w.link_a),
        format!("/api/v1/commissions/{}", w.commission_a),
        format!("/api/v1/commissions?partner_id={}", w.a),
    ] {
        let (status, body) = t.get_as(&w.key_b, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(
            !body.to_string().contains(&w.commission_a),
            "{path} leaked A's commission"
        );
    }

    // B's listings contain only B, whatever filter B passes.
    for path in [
        "/api/v1/links",
        &format!("/api/v1/links?partner_id={}", w.a),
        "/api/v1/commissions",
        "/api/v1/enrollments",
        "/api/v1/customers",
    ] {
        let (status, body) = t.get_as(&w.key_b, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            ids(&body)
                .iter()
                .all(|partner| partner == &w.b || partner.is_empty()),
            "{path}: {body}"
        );
        assert!(
            !body.to_string().contains(&w.a),
            "{path} mentions partner A: {body}"
        );
    }

    // Workspace-wide data and every write need a workspace key.
    for path in ["/api/v1/partners", "/api/v1/events", "/api/v1/payouts"] {
        assert_eq!(
            t.get_as(&w.key_b, path).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let (status, _) = t
        .post_as(
            &w.key_b,
            "/api/v1/links",
            &json!({"program_id": w.program, "partner_id": w.b}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .post_as(
            &w.key_b,
            "/api/v1/payouts",
            &json!({"program_id": w.program}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // No key, or a made-up key: 401 in the one error shape.
    let (status, body) = t.get_as("trb_not-a-real-key", "/api/v1/links").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
}

async fn bad_input_is_refused_by_field_and_writes_nothing(backend: Backend) {
    let t = TestApp::start_on(backend).await;

    let page = t
        .client
        .get(t.url("/r/no-such-code"))
        .send()
        .await
        .expect("redirect");
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.text()
            .await
            .expect("page")
            .contains("This link does not exist")
    );

    let raw = t
        .client
        .post(t.url("/api/v1/events"))
        .bearer_auth(&t.key)
        .header("Idempotency-Key", "bad-json")
        .header("Content-Type", "application/json")
        .body("{\"type\": \"sale\", ")
        .send()
        .await
        .expect("post");
    assert_eq!(raw.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = raw.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_request");

    let cases = [
        (
            json!({"type": "sale", "customer_id": "c", "amount_minor": -5, "currency": "USD", "invoice_id": "i"}),
            "amount_minor",
        ),
        (
            json!({"type": "sale", "customer_id": "c", "amount_minor": 12.5, "currency": "USD", "invoice_id": "i"}),
            "amount_minor",
        ),
        (
            json!({"type": "sale", "customer_id": "c", "amount_minor": "100", "currency": "USD", "invoice_id": "i"}),
            "amount_minor",
        ),
        (
            json!({"type": "sale", "customer_id": "c", "amount_minor": 100, "currency": "XYZ", "invoice_id": "i"}),
            "currency",
        ),
        (
            json!({"type": "sale", "customer_id": "c", "currency": "USD", "invoice_id": "i"}),
            "amount_minor",
        ),
        (
            json!({"type": "sale", "amount_minor": 100, "currency": "USD"}),
            "customer_id",
        ),
        (json!({"type": "lead", "customer_id": ""}), "customer_id"),
        (json!({"type": "purchase", "customer_id": "c"}), "type"),
        (
            json!({"type": "refund", "customer_id": "c", "amount_minor": 100, "currency": "USD"}),
            "invoice_id",
        ),
        (
            json!({"type": "lead", "customer_id": "c", "click_id": "forged-click"}),
            "click_id",
        ),
        (
            json!({"type": "lead", "customer_id": "c", "occurred_at": "yesterday"}),
            "occurred_at",
        ),
        (
            json!({"type": "lead", "customer_id": "c", "amount": 5}),
            "amount",
        ),
    ];
    for (index, (body, field)) in cases.iter().enumerate() {
        let (status, text, value) = t.event(&format!("bad-{index}"), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {text}");
        assert_eq!(value["error"]["field"], *field, "{body} → {text}");
        assert!(
            !value["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
    }
    let missing_key = t
        .client
        .post(t.url("/api/v1/events"))
        .bearer_auth(&t.key)
        .json(&json!({"type": "lead", "customer_id": "c"}))
        .send()
        .await
        .expect("post");
    let status = missing_key.status();
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a missing Idempotency-Key is refused"
    );

    // Nothing was written: no event, no customer.
    let (_, events) = t.get("/api/v1/events").await;
    assert_eq!(events["data"].as_array().map(Vec::len), Some(0));
    let (_, customers) = t.get("/api/v1/customers").await;
    assert_eq!(customers["data"].as_array().map(Vec::len), Some(0));

    // A query string that does not parse, and a body over the limit: the same error shape.
    let (status, body) = t.get("/api/v1/links?limit=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_request");
    let huge =
        json!({"type": "lead", "customer_id": "c", "metadata": {"blob": "x".repeat(300 * 1024)}});
    let (status, _, body) = t.event("huge", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "invalid_request");
    let (status, _, body) = t
        .event(
            "with-key-field",
            &json!({"type": "lead", "customer_id": "c", "idempotency_key": "k"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the key belongs in the header"
    );
    assert_eq!(body["error"]["field"], "idempotency_key");

    // Bad set-up input is refused by field too.
    let (status, body) = t
        .post(
            "/api/v1/programs",
            &json!({"name": "P", "destination_url": "javascript:alert(1)"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "destination_url");
    let (status, body) = t
        .post(
            "/api/v1/partners",
            &json!({"name": "X", "email": "not-an-email"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "email");
}

on_both_backends!(
    bad_input_is_refused_by_field_and_writes_nothing,
    a_partner_key_never_reads_another_partners_data
);
