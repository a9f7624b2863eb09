//! Tier 2 end to end, with real processes: an edge node publishes clicks and events to NATS
//! JetStream, a worker node consumes them into PostgreSQL, and the worker is killed
//! (SIGKILL) and restarted five times while the stream flows. Every click and event the
//! edge acknowledged must end up in PostgreSQL exactly once.
//!
//! Needs PostgreSQL (TRIBUTARY_TEST_POSTGRES_URL) and NATS with JetStream
//! (TRIBUTARY_TEST_NATS_URL, default nats://127.0.0.1:4222); `.ci/run` starts both.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tributary_store::testing::{Backend, TestDatabase};

const BIN: &str = env!("CARGO_BIN_EXE_tributary");
const CLICKS: usize = 100_000;
const EVENTS: usize = 10_000;
const RESTARTS: usize = 5;
const BROWSER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

fn nats_url() -> String {
    std::env::var("TRIBUTARY_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn run(database: &str, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .arg("--database")
        .arg(database)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run tributary");
    assert!(
        output.status.success(),
        "tributary {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A `tributary serve` child, killed when dropped (also when the test fails).
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(database: &str, role: &str, namespace: &str) -> Node {
        let port = free_port();
        let child = Command::new(BIN)
            .args(["--database", database, "serve", "--role", role])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--event-log",
                &nats_url(),
                "--event-log-namespace",
                namespace,
            ])
            // A killed worker's unacknowledged messages come back after this long.
            .env("TRIBUTARY_LOG_ACK_WAIT_MS", "1000")
            .env("TRIBUTARY_PG_POOL_SIZE", "8")
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn serve");
        Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn wait_healthy(&mut self, client: &reqwest::Client) {
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited early with {status}", self.base);
            }
            if let Ok(response) = client.get(format!("{}/healthz", self.base)).send().await
                && response.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} did not become healthy", self.base);
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn metric(client: &reqwest::Client, base: &str, name: &str) -> u64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

async fn post(client: &reqwest::Client, base: &str, key: &str, path: &str, body: Value) -> Value {
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = response.status();
    let value: Value = response.json().await.expect("json");
    assert!(status.is_success(), "{path}: {status} {value}");
    value
}

async fn pg_counts(database: &str) -> (i64, i64, i64, i64) {
    let (client, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let driver = tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT (SELECT COUNT(*) FROM clicks), (SELECT COUNT(DISTINCT id) FROM clicks),
                    (SELECT COUNT(*) FROM events), (SELECT COUNT(DISTINCT idempotency_key) FROM events)",
            &[],
        )
        .await
        .expect("counts");
    drop(client);
    let _ = driver.await;
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_five_times_loses_and_repeats_nothing() {
    let database = TestDatabase::create(Backend::Postgres)
        .await
        .expect("database");
    let url = database.url.clone();
    let namespace = format!("test-{}", std::process::id());
    run(&url, &["migrate"]);
    run(
        &url,
        &[
            "init",
            "--workspace",
            "Tier Two",
            "--email",
            "owner@tier2.example",
            "--password",
            "tier-two-password",
        ],
    );
    let key = run(&url, &["keys", "create", "--name", "test"])
        .trim()
        .to_string();
    assert!(key.starts_with("trb_"), "{key}");

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let mut edge = Node::start(&url, "edge", &namespace);
    edge.wait_healthy(&client).await;
    let mut worker = Node::start(&url, "worker", &namespace);
    worker.wait_healthy(&client).await;
    let edge_base = edge.base.clone();

    let program = post(&client, &edge_base, &key, "/api/v1/programs", json!({"name": "P", "destination_url": "https://shop.example/", "hold_days": 30, "lead_flat_minor": 100})).await;
    let partner = post(
        &client,
        &edge_base,
        &key,
        "/api/v1/partners",
        json!({"name": "Ada", "email": "ada@partners.example"}),
    )
    .await;
    post(
        &client,
        &edge_base,
        &key,
        "/api/v1/enrollments",
        json!({"program_id": program["id"], "partner_id": partner["id"]}),
    )
    .await;
    post(
        &client,
        &edge_base,
        &key,
        "/api/v1/links",
        json!({"program_id": program["id"], "partner_id": partner["id"], "code": "tier2"}),
    )
    .await;

    // The traffic: clicks from 32 tasks, events from 16, all against the edge.
    let clicks_done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for task in 0..32 {
        let (client, base, done) = (client.clone(), edge_base.clone(), clicks_done.clone());
        tasks.push(tokio::spawn(async move {
            let mut click_ids = Vec::new();
            for _ in (task..CLICKS).step_by(32) {
                let response = client
                    .get(format!("{base}/r/tier2"))
                    .header("User-Agent", BROWSER_UA)
                    .send()
                    .await
                    .expect("redirect");
                assert_eq!(response.status(), StatusCode::FOUND);
                let location = response.headers()["location"].to_str().expect("location");
                click_ids.push(location.rsplit("tclid=").next().expect("tclid").to_string());
                done.fetch_add(1, Ordering::Relaxed);
            }
            click_ids
        }));
    }
    let mut event_tasks = Vec::new();
    for task in 0..16 {
        let (client, base, key) = (client.clone(), edge_base.clone(), key.clone());
        event_tasks.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            for n in (task..EVENTS).step_by(16) {
                let idempotency_key = format!("lead-{n}");
                let response = client
                    .post(format!("{base}/api/v1/events"))
                    .bearer_auth(&key)
                    .header("Idempotency-Key", &idempotency_key)
                    .json(&json!({"type": "lead", "customer_id": format!("cus-{n}")}))
                    .send()
                    .await
                    .expect("event");
                assert_eq!(response.status(), StatusCode::ACCEPTED, "event {n}");
                accepted.push(idempotency_key);
            }
            accepted
        }));
    }

    // Kill the worker whenever another sixth of the clicks has been sent, and start it again.
    for restart in 1..=RESTARTS {
        let threshold = CLICKS * restart / (RESTARTS + 1);
        while clicks_done.load(Ordering::Relaxed) < threshold {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.kill();
        worker = Node::start(&url, "worker", &namespace);
        worker.wait_healthy(&client).await;
    }

    let mut click_ids = Vec::new();
    for task in tasks {
        click_ids.extend(task.await.expect("click task"));
    }
    let mut accepted = Vec::new();
    for task in event_tasks {
        accepted.extend(task.await.expect("event task"));
    }
    assert_eq!((click_ids.len(), accepted.len()), (CLICKS, EVENTS));

    // Every click the edge answered is published once its batch is acknowledged.
    let mut published = 0;
    for _ in 0..600 {
        published = metric(&client, &edge_base, "tributary_clicks_published_total ").await;
        if published as usize >= CLICKS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        published as usize, CLICKS,
        "clicks acknowledged by JetStream"
    );
    assert_eq!(
        metric(&client, &edge_base, "tributary_clicks_dropped_total ").await,
        0
    );

    // The worker catches up; nothing more, nothing less, nothing twice.
    let mut counts = (0, 0, 0, 0);
    for _ in 0..1200 {
        counts = pg_counts(&url).await;
        if counts.0 >= CLICKS as i64 && counts.2 >= EVENTS as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        counts,
        (CLICKS as i64, CLICKS as i64, EVENTS as i64, EVENTS as i64),
        "(clicks, distinct click ids, events, distinct idempotency keys) in PostgreSQL"
    );
    // And they are the ones acknowledged: every click id the visitors got, every key.
    let (pg, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let driver = tokio::spawn(connection);
    let stored_clicks: i64 = pg
        .query_one(
            "SELECT COUNT(*) FROM clicks WHERE id = ANY($1)",
            &[&click_ids],
        )
        .await
        .expect("click ids")
        .get(0);
    assert_eq!(stored_clicks as usize, CLICKS);
    let stored_keys: i64 = pg
        .query_one(
            "SELECT COUNT(*) FROM events WHERE idempotency_key = ANY($1)",
            &[&accepted],
        )
        .await
        .expect("keys")
        .get(0);
    assert_eq!(stored_keys as usize, EVENTS);
    drop(pg);
    let _ = driver.await;

    drop(worker);
    drop(edge);
    if let Ok(log) = tributary_app::event_log::NatsLog::connect(&nats_url(), &namespace).await {
        let _ = log.delete_streams().await;
    }
}
