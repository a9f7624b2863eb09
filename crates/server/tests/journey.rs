//! The walking skeleton's journey over real HTTP on a temp SQLite file: program, partner and
//! link through the API; a click through the redirect; lead and sales with idempotency keys;
//! the hold passing on an injected clock; approval; refunds before and after payout; batches,
//! the PayPal CSV, marking paid; every balance asserted to the cent.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{BROWSER_UA, Backend, TestApp, id};

async fn balance(t: &TestApp, partner_id: &str) -> (i64, i64, i64, i64) {
    let (status, body) = t
        .get(&format!("/api/v1/partners/{partner_id}/balance"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let usd = body["balances"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["currency"] == "USD"))
        .cloned()
        .unwrap_or(Value::Null);
    let get = |field: &str| usd[field].as_i64().unwrap_or(0);
    (
        get("pending_minor"),
        get("approved_minor"),
        get("in_payout_minor"),
        get("paid_minor"),
    )
}

fn commission_amounts(response: &Value) -> Vec<(i64, String)> {
    response["commissions"]
        .as_array()
        .expect("commissions array")
        .iter()
        .map(|c| {
            (
                c["amount_minor"].as_i64().expect("amount"),
                c["state"].as_str().expect("state").to_string(),
            )
        })
        .collect()
}

async fn one_click_to_a_paid_commission(backend: Backend) {
    let t = TestApp::start_on(backend).await;

    // Set-up through the API.
    let (status, program) = t
        .post(
            "/api/v1/programs",
            &json!({"name": "Resellers", "destination_url": "https://shop.example/start?src=partners", "currency": "USD",
                    "window_days": 30, "hold_days": 30, "min_payout_minor": 500, "lead_flat_minor": 500, "sale_percent_bp": 1000}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{program}");
    let (status, partner) = t
        .post("/api/v1/partners", &json!({"name": "Ada Reseller", "email": "ada@partners.example", "archetype": "reseller", "payout_email": "ada-pay@partners.example"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{partner}");
    let partner_id = id(&partner);
    let (status, _) = t
        .post(
            "/api/v1/enrollments",
            &json!({"program_id": id(&program), "partner_id": partner_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, link) = t
        .post(
            "/api/v1/links",
            &json!({"program_id": id(&program), "partner_id": partner_id, "code": "ada"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");

    // A visitor follows the link.
    let response = t
        .client
        .get(t.url("/r/ada"))
        .header("User-Agent", BROWSER_UA)
        .send()
        .await
        .expect("redirect");
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(
        location.starts_with("https://shop.example/start?src=partners&tclid="),
        "{location}"
    );
    let click_id = location
        .rsplit("tclid=")
        .next()
        .expect("click id")
        .to_string();
    let cookie = response.headers()["set-cookie"].to_str().expect("cookie");
    assert!(
        cookie.starts_with(&format!("tclid={click_id};")) && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    t.app.clicks.flush().await;
    let (_, links) = t.get("/api/v1/links").await;
    assert_eq!(links["data"][0]["clicks"], 1);
    assert_eq!(links["data"][0]["bot_clicks"], 0);

    // The lead carries the click id; the flat lead reward is pending.
    let lead = json!({"type": "lead", "customer_id": "cus_1", "click_id": click_id});
    let (status, first_text, first) = t.event("lead-1", &lead).await;
    assert_eq!(status, StatusCode::CREATED, "{first_text}");
    assert_eq!(first["attribution"]["partner_id"], partner_id.as_str());
    assert_eq!(
        commission_amounts(&first),
        vec![(500, "pending".to_string())]
    );
    // Same key, same body: the first answer again, nothing new written.
    let (status, replay_text, _) = t.event("lead-1", &lead).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replay_text, first_text);
    // Same key, another body: refused.
    let (status, _, conflict) = t
        .event("lead-1", &json!({"type": "lead", "customer_id": "cus_2"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(conflict["error"]["code"], "conflict");

    // Sales need only the customer id: the customer is bound to the partner.
    t.clock.advance_days(1);
    let (status, _, sale1) = t.event("sale-1", &json!({"type": "sale", "customer_id": "cus_1", "amount_minor": 12_345, "currency": "USD", "invoice_id": "in_1"})).await;
    assert_eq!(status, StatusCode::CREATED);
    // 10 % of 123.45 is 12.345: half away from zero gives 12.35.
    assert_eq!(
        commission_amounts(&sale1),
        vec![(1_235, "pending".to_string())]
    );
    let (_, _, sale2) = t.event("sale-2", &json!({"type": "sale", "customer_id": "cus_1", "amount_minor": 10_000, "currency": "USD", "invoice_id": "in_2"})).await;
    assert_eq!(
        commission_amounts(&sale2),
        vec![(1_000, "pending".to_string())]
    );
    assert_eq!(balance(&t, &partner_id).await, (2_735, 0, 0, 0));

    // The explanation names the event, the attribution, the rule and the arithmetic.
    let commission_id = sale1["commissions"][0]["id"].as_str().expect("id");
    let (status, explained) = t.get(&format!("/api/v1/commissions/{commission_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let explanation = &explained["explanation"];
    assert_eq!(explanation["event"]["invoice_id"], "in_1");
    assert_eq!(explanation["attribution"]["model"], "last_touch");
    assert_eq!(explanation["attribution"]["click_id"], click_id.as_str());
    assert_eq!(explanation["rule"]["id"], "sale-percent");
    assert!(
        explanation["arithmetic"]
            .as_str()
            .expect("arithmetic")
            .starts_with("12345 × 1000 bp ÷ 10,000 = 1235")
    );
    assert!(
        explanation["rounding"]
            .as_str()
            .expect("rounding")
            .contains("halves away from zero")
    );

    // Nothing is approved inside the hold; after it, the job approves everything.
    assert_eq!(t.run_jobs().await, 0);
    t.clock.advance_days(30);
    assert_eq!(t.run_jobs().await, 3);
    assert_eq!(balance(&t, &partner_id).await, (0, 2_735, 0, 0));

    // Half of in_2 refunded after approval: the 10.00 commission drops to 5.00.
    let (_, _, refund) = t.event("refund-2", &json!({"type": "refund", "customer_id": "cus_1", "amount_minor": 5_000, "currency": "USD", "invoice_id": "in_2"})).await;
    assert_eq!(
        commission_amounts(&refund),
        vec![(-500, "approved".to_string())]
    );
    assert_eq!(balance(&t, &partner_id).await, (0, 2_235, 0, 0));

    // Batch, export, pay.
    let (status, batch) = t
        .post("/api/v1/payouts", &json!({"program_id": id(&program)}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{batch}");
    assert_eq!(batch["total_minor"], 2_235);
    assert_eq!(balance(&t, &partner_id).await, (0, 0, 2_235, 0));
    let csv = t
        .client
        .get(t.url(&format!("/api/v1/payouts/{}/paypal.csv", id(&batch))))
        .bearer_auth(&t.key)
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.expect("csv text");
    let fields: Vec<&str> = csv.trim_end().split(',').collect();
    assert_eq!(
        fields[..4],
        [
            "ada-pay@partners.example",
            "22.35",
            "USD",
            partner_id.as_str()
        ]
    );
    assert_eq!(csv.lines().count(), 1);
    let (status, paid) = t
        .post(
            &format!("/api/v1/payouts/{}/mark-paid", id(&batch)),
            &json!({"reference": "PP-BATCH-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(paid["state"], "paid");
    let (status, _) = t
        .post(
            &format!("/api/v1/payouts/{}/mark-paid", id(&batch)),
            &json!({"reference": "PP-BATCH-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(balance(&t, &partner_id).await, (0, 0, 0, 2_235));

    // A full refund after payout claws back from payable: the balance goes negative...
    let (_, _, refund) = t.event("refund-1", &json!({"type": "refund", "customer_id": "cus_1", "amount_minor": 12_345, "currency": "USD", "invoice_id": "in_1"})).await;
    assert_eq!(
        commission_amounts(&refund),
        vec![(-1_235, "approved".to_string())]
    );
    assert_eq!(balance(&t, &partner_id).await, (0, -1_235, 0, 2_235));
    let (status, _) = t
        .post("/api/v1/payouts", &json!({"program_id": id(&program)}))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a negative balance is not paid out"
    );

    // ...and the next payout nets it.
    let (_, _, sale3) = t.event("sale-3", &json!({"type": "sale", "customer_id": "cus_1", "amount_minor": 20_000, "currency": "USD", "invoice_id": "in_3"})).await;
    assert_eq!(
        commission_amounts(&sale3),
        vec![(2_000, "pending".to_string())]
    );
    t.clock.advance_days(31);
    assert_eq!(t.run_jobs().await, 1);
    assert_eq!(balance(&t, &partner_id).await, (0, 765, 0, 2_235));
    let (status, batch2) = t
        .post("/api/v1/payouts", &json!({"program_id": id(&program)}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(batch2["total_minor"], 765);
    let (status, _) = t
        .post(
            &format!("/api/v1/payouts/{}/mark-paid", id(&batch2)),
            &json!({"reference": "PP-BATCH-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(balance(&t, &partner_id).await, (0, 0, 0, 3_000));

    // Paid 30.00 = lead 5.00 + in_1 0.00 + in_2 5.00 + in_3 20.00.
    let (_, paid_list) = t
        .get(&format!(
            "/api/v1/commissions?partner_id={partner_id}&state=paid&limit=100"
        ))
        .await;
    let paid_sum: i64 = paid_list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| c["amount_minor"].as_i64().expect("amount"))
        .sum();
    assert_eq!(paid_sum, 3_000);

    // The ledger balances: zero per currency, and no single transaction is unbalanced.
    let mut tx = t.app.store.read().await.expect("read");
    let totals = tx.ledger_totals(t.workspace_id).await.expect("totals");
    assert!(totals.iter().all(|(_, sum)| *sum == 0), "{totals:?}");
    assert!(
        tx.unbalanced_transactions(t.workspace_id)
            .await
            .expect("check")
            .is_empty()
    );
}

async fn a_refund_before_approval_reverses_the_commission(backend: Backend) {
    let t = TestApp::start_on(backend).await;
    let (_, program) = t
        .post("/api/v1/programs", &json!({"name": "P", "destination_url": "https://shop.example/", "hold_days": 14, "sale_percent_bp": 2500}))
        .await;
    let (_, partner) = t
        .post(
            "/api/v1/partners",
            &json!({"name": "Bo", "email": "bo@partners.example"}),
        )
        .await;
    t.post(
        "/api/v1/enrollments",
        &json!({"program_id": id(&program), "partner_id": id(&partner)}),
    )
    .await;
    t.post(
        "/api/v1/links",
        &json!({"program_id": id(&program), "partner_id": id(&partner), "code": "bo-link"}),
    )
    .await;
    let response = t
        .client
        .get(t.url("/r/bo-link"))
        .header("User-Agent", BROWSER_UA)
        .send()
        .await
        .expect("redirect");
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let click_id = location.rsplit("tclid=").next().expect("click id");

    // A sale straight from the click; the click row itself never needs to be written first.
    let (status, _, sale) = t.event("s1", &json!({"type": "sale", "customer_id": "c9", "click_id": click_id, "amount_minor": 999, "currency": "USD", "invoice_id": "i9"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        commission_amounts(&sale),
        vec![(250, "pending".to_string())]
    ); // 249.75 → 250
    let (_, _, refund) = t.event("r1", &json!({"type": "refund", "customer_id": "c9", "amount_minor": 999, "currency": "USD", "invoice_id": "i9"})).await;
    assert_eq!(
        commission_amounts(&refund),
        vec![(-250, "reversed".to_string())]
    );
    assert_eq!(balance(&t, &id(&partner)).await, (0, 0, 0, 0));
    t.clock.advance_days(15);
    assert_eq!(
        t.run_jobs().await,
        1,
        "the approval job runs and finds nothing to approve"
    );
    assert_eq!(balance(&t, &id(&partner)).await, (0, 0, 0, 0));
    let (_, reversed) = t.get("/api/v1/commissions?state=reversed").await;
    assert_eq!(reversed["data"].as_array().map(Vec::len), Some(2));
}

on_both_backends!(
    one_click_to_a_paid_commission,
    a_refund_before_approval_reverses_the_commission
);
