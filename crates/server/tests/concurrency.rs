//! Ingestion under concurrency: requests committed together (group commit) keep their own
//! outcomes, and one idempotency key stores one event however many requests race with it.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, TestApp};

async fn racing_requests_with_one_key_store_one_event(backend: Backend) {
    let t = TestApp::start_on(backend).await;
    let body = json!({"type": "lead", "customer_id": "race"});
    let mut requests = Vec::new();
    for _ in 0..64 {
        let client = t.client.clone();
        let url = t.url("/api/v1/events");
        let key = t.key.clone();
        let body = body.clone();
        requests.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(key)
                .header("Idempotency-Key", "same-key")
                .json(&body)
                .send()
                .await
                .expect("post");
            (response.status(), response.text().await.expect("body"))
        }));
    }
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.expect("task"));
    }
    let created = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    let replayed = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    assert_eq!((created, replayed), (1, 63));
    assert!(
        answers.iter().all(|(_, text)| text == &answers[0].1),
        "every answer is the first answer"
    );
    let (_, events) = t.get("/api/v1/events").await;
    assert_eq!(events["data"].as_array().map(Vec::len), Some(1));
}

async fn a_failing_request_does_not_spoil_its_group(backend: Backend) {
    let t = TestApp::start_on(backend).await;
    let mut requests = Vec::new();
    for n in 0..48 {
        let client = t.client.clone();
        let url = t.url("/api/v1/events");
        let key = t.key.clone();
        // Every third request reuses one key with its own body: one wins, the rest conflict.
        let (idempotency_key, body) = if n % 3 == 0 {
            (
                "contested".to_string(),
                json!({"type": "lead", "customer_id": format!("contested-{n}")}),
            )
        } else {
            (
                format!("own-{n}"),
                json!({"type": "lead", "customer_id": format!("own-{n}")}),
            )
        };
        requests.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(key)
                .header("Idempotency-Key", idempotency_key)
                .json(&body)
                .send()
                .await
                .expect("post");
            response.status()
        }));
    }
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.expect("task"));
    }
    let count = |wanted: StatusCode| statuses.iter().filter(|status| **status == wanted).count();
    assert_eq!(count(StatusCode::CREATED), 32 + 1);
    assert_eq!(count(StatusCode::CONFLICT), 15);
    let (_, events) = t.get("/api/v1/events?limit=100").await;
    assert_eq!(events["data"].as_array().map(Vec::len), Some(33));
    let (_, customers) = t.get("/api/v1/customers?limit=100").await;
    assert_eq!(
        customers["data"].as_array().map(Vec::len),
        Some(33),
        "conflicting requests left no customer behind"
    );
}

on_both_backends!(
    racing_requests_with_one_key_store_one_event,
    a_failing_request_does_not_spoil_its_group
);
