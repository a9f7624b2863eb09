//! The plans API on both engines: a program created with a whole plan, versions per scope,
//! validation errors that name the part at fault, a partner's segment, the tier explained on
//! a commission, perks visible only to their partner, and simulation as JSON and CSV.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{BROWSER_UA, TestApp, id};

fn usd(minor: i64) -> Value {
    json!({"amount_minor": minor, "currency": "USD"})
}

async fn click(t: &TestApp, code: &str) -> String {
    let response = t
        .client
        .get(t.url(&format!("/r/{code}")))
        .header("User-Agent", BROWSER_UA)
        .send()
        .await
        .expect("redirect");
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    location
        .rsplit("tclid=")
        .next()
        .expect("click id")
        .to_string()
}

async fn put(t: &TestApp, key: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = t
        .client
        .put(t.url(path))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("PUT");
    support::split(response).await
}

async fn plans_are_versioned_validated_explained_and_simulated(backend: support::Backend) {
    let t = TestApp::start_on(backend).await;
    let plan = json!({
        "rules": [
            {"id": "volume", "trigger": "sale", "reward": {"type": "tiered", "measure": "customers",
             "period": "month", "mode": "whole_volume",
             "tiers": [{"from": 0, "rate_bp": 1000}, {"from": 2, "rate_bp": 2000, "name": "gold"}]}}
        ],
        "perks": [{"tier": "gold", "perks": ["Dedicated support"]}]
    });
    let (status, program) = t
        .post(
            "/api/v1/programs",
            &json!({"name": "Tiers", "destination_url": "https://shop.example/", "hold_days": 0, "plan": plan}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{program}");
    let program_id = id(&program);
    let mut partners = Vec::new();
    for name in ["ada", "bob"] {
        let (_, partner) = t
            .post(
                "/api/v1/partners",
                &json!({"name": name, "email": format!("{name}@p.example")}),
            )
            .await;
        let partner_id = id(&partner);
        t.post(
            "/api/v1/enrollments",
            &json!({"program_id": program_id, "partner_id": partner_id}),
        )
        .await;
        t.post(
            "/api/v1/links",
            &json!({"program_id": program_id, "partner_id": partner_id, "code": format!("{name}-link")}),
        )
        .await;
        partners.push(partner_id);
    }

    // A broken plan is refused with the path of its fault; nothing is stored.
    let (status, error) = t
        .post(
            &format!("/api/v1/programs/{program_id}/plans"),
            &json!({"plan": {"rules": [{"id": "x", "trigger": "lead", "reward": {"type": "percent", "rate_bp": 100}}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "plan.rules[0].reward");
    let (status, error) = t
        .post(
            &format!("/api/v1/programs/{program_id}/plans/validate"),
            &json!({"plan": {"rules": [], "stackng": "best"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("unknown field `stackng`"),
        "{error}"
    );
    let (status, preview) = t
        .post(
            &format!("/api/v1/programs/{program_id}/plans/validate"),
            &json!({"plan": plan}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(
        preview["rules"][0]
            .as_str()
            .unwrap_or("")
            .starts_with("tiered by new customers per month"),
        "{preview}"
    );

    // Bob gets his own plan from now on; Ada is gold.
    let (status, version) = t
        .post(
            &format!("/api/v1/programs/{program_id}/plans"),
            &json!({"scope": "partner", "partner_id": partners[1],
                    "plan": {"rules": [{"id": "flat", "trigger": "sale", "reward": {"type": "flat", "amount": usd(700)}}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    assert_eq!(version["version"], 2);
    assert_eq!(version["scope"], "partner");
    let (status, past) = t
        .post(
            &format!("/api/v1/programs/{program_id}/plans"),
            &json!({"scope": "partner", "partner_id": partners[1], "effective_from": "2020-01-01T00:00:00Z",
                    "plan": {"rules": []}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{past}");
    assert_eq!(past["error"]["field"], "effective_from");
    let (status, enrollment) = put(
        &t,
        &t.key,
        &format!(
            "/api/v1/programs/{program_id}/partners/{}/segment",
            partners[0]
        ),
        &json!({"group": "resellers", "tier": "gold"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{enrollment}");
    assert_eq!(enrollment["tier"], "gold");
    let (_, versions) = t.get(&format!("/api/v1/programs/{program_id}/plans")).await;
    assert_eq!(versions["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(versions["data"][0]["current_default"], true);

    // Two customers each: Ada's second reaches tier 2 and tops up her first.
    for (n, (partner, code)) in [
        (0, "ada-link"),
        (0, "ada-link"),
        (1, "bob-link"),
        (1, "bob-link"),
    ]
    .iter()
    .enumerate()
    {
        let click_id = click(&t, code).await;
        let customer = format!("cus_{partner}_{n}");
        t.event(
            &format!("lead-{n}"),
            &json!({"type": "lead", "customer_id": customer, "click_id": click_id}),
        )
        .await;
        let (status, _, answer) = t
            .event(
                &format!("sale-{n}"),
                &json!({"type": "sale", "customer_id": customer, "amount_minor": 10_000, "currency": "USD", "invoice_id": format!("in_{n}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        t.run_jobs().await;
    }
    let (_, ada) = t
        .get(&format!("/api/v1/commissions?partner_id={}", partners[0]))
        .await;
    let amounts: Vec<i64> = ada["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["amount_minor"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(amounts.iter().sum::<i64>(), 4_000, "{ada}");
    let top_up = ada["data"]
        .as_array()
        .and_then(|list| list.iter().find(|c| c["amount_minor"] == 3_000))
        .expect("the commission that reached tier 2");
    let (_, detail) = t.get(&format!("/api/v1/commissions/{}", id(top_up))).await;
    assert_eq!(detail["explanation"]["tier"]["number"], 2, "{detail}");
    assert_eq!(detail["explanation"]["tier"]["name"], "gold");
    let (_, bob) = t
        .get(&format!("/api/v1/commissions?partner_id={}", partners[1]))
        .await;
    assert!(
        bob["data"]
            .as_array()
            .expect("a list")
            .iter()
            .all(|c| c["amount_minor"] == 700),
        "Bob's own plan pays 7.00 flat: {bob}"
    );

    // Perks: Ada's key sees hers; Bob's key cannot see Ada's.
    let (ada_key, _) = tributary_app::auth::create_api_key(
        &t.app,
        t.workspace_id,
        Some(partners[0].parse().expect("id")),
        "ada",
    )
    .await
    .expect("key");
    let (bob_key, _) = tributary_app::auth::create_api_key(
        &t.app,
        t.workspace_id,
        Some(partners[1].parse().expect("id")),
        "bob",
    )
    .await
    .expect("key");
    let (status, perks) = t
        .get_as(&ada_key, &format!("/api/v1/partners/{}/perks", partners[0]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(perks["data"][0]["perks"], json!(["Dedicated support"]));
    let (status, _) = t
        .get_as(&bob_key, &format!("/api/v1/partners/{}/perks", partners[0]))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .post_as(
            &ada_key,
            &format!("/api/v1/programs/{program_id}/simulate"),
            &json!({"from": "2026-01-01", "to": "2026-01-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Simulation: a flat 50.00 per sale for everyone.
    let body = json!({"from": "2026-01-01", "to": "2026-01-31",
                      "plan": {"rules": [{"id": "flat", "trigger": "sale", "reward": {"type": "flat", "amount": usd(5000)}}]}});
    let (status, report) = t
        .post(&format!("/api/v1/programs/{program_id}/simulate"), &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["current"]["total_minor"], 5_400, "{report}");
    assert_eq!(report["proposed"]["total_minor"], 20_000, "{report}");
    assert_eq!(report["acquired"], 4);
    let csv = t
        .client
        .post(t.url(&format!(
            "/api/v1/programs/{program_id}/simulate?format=csv"
        )))
        .bearer_auth(&t.key)
        .json(&body)
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.expect("body");
    assert!(
        csv.contains(&format!(
            "{},ada,other,gold,USD,4000,10000,6000",
            partners[0]
        )),
        "{csv}"
    );
    let (status, error) = t
        .post(
            &format!("/api/v1/programs/{program_id}/simulate"),
            &json!({"from": "2026-02-01", "to": "2026-01-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "to");
}

on_both_backends!(plans_are_versioned_validated_explained_and_simulated);
