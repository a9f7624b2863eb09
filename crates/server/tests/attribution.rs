//! Attribution over real HTTP (docs/ATTRIBUTION.md): a program's model and precedence set
//! through the API, a customer shared by two partners' clicks, the conversion path as the
//! business and as each partner sees it, an audited re-attribution, coupons and deals, and
//! what partner keys may not do.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{BROWSER_UA, Backend, TestApp, id};

async fn put(t: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = t
        .client
        .put(t.url(path))
        .bearer_auth(&t.key)
        .json(body)
        .send()
        .await
        .expect("PUT");
    support::split(response).await
}

/// A partner enrolled in `program` with a link, and a key scoped to them.
async fn partner(t: &TestApp, program: &str, n: usize) -> (String, Value, String) {
    let (status, partner) = t
        .post(
            "/api/v1/partners",
            &json!({"name": format!("Partner {n}"), "email": format!("p{n}@test.example")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{partner}");
    let partner_id = id(&partner);
    let (status, _) = t
        .post(
            "/api/v1/enrollments",
            &json!({"program_id": program, "partner_id": partner_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, link) = t
        .post(
            "/api/v1/links",
            &json!({"program_id": program, "partner_id": partner_id, "code": format!("p-{n}")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let (key, _) = tributary_app::auth::create_api_key(
        &t.app,
        t.workspace_id,
        Some(partner_id.parse().expect("id")),
        "partner",
    )
    .await
    .expect("partner key");
    (partner_id, link, key)
}

/// A click through the partner's tracking link, as a browser makes it.
async fn click(t: &TestApp, link: &Value) -> String {
    let response = t
        .client
        .get(t.url(&format!("/r/{}", link["code"].as_str().expect("code"))))
        .header("User-Agent", BROWSER_UA)
        .send()
        .await
        .expect("click");
    assert!(response.status().is_redirection());
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    t.clock.advance_millis(3_600_000);
    location
        .split("tclid=")
        .nth(1)
        .expect("a tclid")
        .split('&')
        .next()
        .expect("id")
        .to_string()
}

async fn shared_customers_are_visible_and_reattributed_with_a_reason(backend: Backend) {
    let t = TestApp::start_on(backend).await;
    let (status, program) = t
        .post(
            "/api/v1/programs",
            &json!({"name": "P", "destination_url": "https://shop.example/", "sale_percent_bp": 1000,
                    "attribution": {"model": {"type": "linear"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{program}");
    assert_eq!(program["attribution"]["model"]["type"], "linear");
    assert_eq!(
        program["attribution"]["precedence"],
        json!(["manual", "deal", "coupon"])
    );
    let program_id = id(&program);

    // Settings are validated, the error names the field.
    let path = format!("/api/v1/programs/{program_id}/attribution");
    let (status, error) = put(
        &t,
        &path,
        &json!({"model": {"type": "position_based", "first_bp": 6000, "last_bp": 6000}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "attribution.first_bp");
    let (status, error) = put(&t, &path, &json!({"precedence": ["coupon", "coupon"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, updated) = put(
        &t,
        &path,
        &json!({"model": {"type": "linear"}, "precedence": ["manual", "coupon"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["attribution"]["precedence"],
        json!(["manual", "coupon"])
    );

    let (first_id, first_link, first_key) = partner(&t, &program_id, 1).await;
    let (second_id, second_link, second_key) = partner(&t, &program_id, 2).await;
    let (_, _, stranger_key) = partner(&t, &program_id, 3).await;

    // Partner 1's click, then partner 2's: the lead carries both, half each.
    let earlier = click(&t, &first_link).await;
    let later = click(&t, &second_link).await;
    let (status, _, lead) = t
        .event(
            "lead-1",
            &json!({"type": "lead", "customer_id": "cus_1", "click_id": later, "click_ids": [earlier]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{lead}");
    assert_eq!(lead["credits"].as_array().map(Vec::len), Some(2), "{lead}");
    let customer = lead["customer"]["id"]
        .as_str()
        .expect("customer")
        .to_string();

    // The business sees both touches and both credits.
    let path = format!("/api/v1/customers/{customer}/attribution");
    let (status, seen) = t.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["touches"].as_array().map(Vec::len), Some(2));
    assert_eq!(seen["credits"][0]["share_bp"], 5_000);
    assert_eq!(seen["credits"][0]["partner_id"], first_id.as_str());
    assert_eq!(seen["credits"][0]["role"], "originator");
    assert_eq!(seen["touches"][0]["channel"], "link");
    // Each partner sees only their own touch and share; a partner with neither, nothing.
    let (status, own) = t.get_as(&second_key, &path).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["touches"].as_array().map(Vec::len), Some(1));
    assert_eq!(own["touches"][0]["partner_id"], second_id.as_str());
    assert_eq!(own["credits"].as_array().map(Vec::len), Some(1));
    assert_eq!(own["credits"][0]["role"], "closer");
    let (status, _) = t.get_as(&stranger_key, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Partners see shared customers in their list.
    let (status, listed) = t.get_as(&second_key, "/api/v1/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["data"][0]["external_id"], "cus_1");

    // An earlier click id that is not ours (a cookie's stale entry) is left out, not fatal.
    let third = click(&t, &first_link).await;
    let (status, _, other) = t
        .event(
            "lead-2",
            &json!({"type": "lead", "customer_id": "cus_2", "click_id": third,
                    "click_ids": ["AQGiF17ddnIUtdLtkhiS6yMBm3baqAABM4PHv52HE9EW6XI8g62_Cg"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    assert_eq!(
        other["credits"].as_array().map(Vec::len),
        Some(1),
        "{other}"
    );

    // A sale pays both halves.
    let (status, _, sale) = t
        .event(
            "sale-1",
            &json!({"type": "sale", "customer_id": "cus_1", "amount_minor": 20_000, "currency": "USD", "invoice_id": "in_1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sale}");
    let amounts: Vec<i64> = sale["commissions"]
        .as_array()
        .expect("commissions")
        .iter()
        .map(|c| c["amount_minor"].as_i64().expect("amount"))
        .collect();
    assert_eq!(amounts, vec![1_000, 1_000]);

    // Re-attribution: only the business, only with a reason, and it is audited.
    let body = json!({"shares": [{"partner_id": second_id, "share_bp": 10000}], "reason": "partner 2 ran the demo"});
    let (status, _) = t.post_as(&second_key, &path, &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, error) = t
        .post(
            &path,
            &json!({"shares": [{"partner_id": second_id, "share_bp": 10000}], "reason": " "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "reason");
    let (status, moved) = t.post(&path, &body).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["changed"], true);
    assert_eq!(moved["credits"].as_array().map(Vec::len), Some(1));
    let net: i64 = moved["commissions"]
        .as_array()
        .expect("commissions")
        .iter()
        .map(|c| c["amount_minor"].as_i64().expect("amount"))
        .sum();
    assert_eq!(
        net, 0,
        "partner 1's half reversed, partner 2's half added: {moved}"
    );
    let (status, first_view) = t.get_as(&first_key, &path).await;
    assert_eq!(status, StatusCode::OK, "partner 1 still sees their touch");
    assert_eq!(first_view["credits"].as_array().map(Vec::len), Some(0));
    // The admin's reason stays with the business.
    let (_, second_view) = t.get_as(&second_key, &path).await;
    assert!(
        second_view["touches"]
            .as_array()
            .expect("touches")
            .iter()
            .all(|touch| touch["detail"].is_null()),
        "{second_view}"
    );
    let (_, again) = t.post(&path, &body).await;
    assert_eq!(again["changed"], false);

    // Coupons: the business ties a code to a partner; partners cannot.
    let coupon = json!({"code": "demo10", "program_id": program_id, "partner_id": first_id});
    let (status, _) = t.post_as(&first_key, "/api/v1/coupons", &coupon).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = t.post("/api/v1/coupons", &coupon).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["code"], "DEMO10");
    let (status, taken) = t.post("/api/v1/coupons", &coupon).await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");
    let (_, mine) = t.get_as(&second_key, "/api/v1/coupons").await;
    assert_eq!(mine["data"].as_array().map(Vec::len), Some(0));

    // Deals: a partner registers for itself; the business approves.
    let deal = json!({"program_id": program_id, "customer_id": "cus_9", "company": "Globex",
                      "contact_name": "Hank", "contact_email": "hank@globex.example"});
    let (status, registered) = t.post_as(&first_key, "/api/v1/deals", &deal).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["status"], "pending");
    assert_eq!(registered["partner_id"], first_id.as_str());
    let (status, _) = t.post_as(&second_key, "/api/v1/deals", &deal).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, theirs) = t.get_as(&second_key, "/api/v1/deals").await;
    assert_eq!(theirs["data"].as_array().map(Vec::len), Some(0));
    let approve = format!("/api/v1/deals/{}/approve", id(&registered));
    let (status, _) = t.post_as(&first_key, &approve, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, approved) = t.post(&approve, &json!({"reason": "known prospect"})).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    let reject = format!("/api/v1/deals/{}/reject", id(&registered));
    let (status, _) = t.post(&reject, &json!({"reason": "too late"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

on_both_backends!(shared_customers_are_visible_and_reattributed_with_a_reason);
